//! `yunshi`: the one binary of Yunshi.

mod bench;
mod rulebook_cmd;
mod serve;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(
    name = "yunshi",
    version,
    about = "云市 Yunshi — cloud-marketplace operations platform"
)]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Debug, Subcommand)]
enum Commands {
    /// Run the HTTP server.
    Serve(serve::ServeArgs),
    /// Create or update the database schema, then exit.
    Migrate(serve::MigrateArgs),
    /// Check or show rulebooks.
    #[command(subcommand)]
    Rulebook(rulebook_cmd::RulebookCommand),
    /// Measure throughput against raw-database baselines (see BENCHMARKS.md).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

fn main() -> anyhow::Result<()> {
    init_tracing();
    let cli = Cli::parse();
    match cli.command {
        Commands::Serve(args) => serve::serve(args),
        Commands::Migrate(args) => serve::migrate(args),
        Commands::Rulebook(cmd) => rulebook_cmd::run(cmd),
        Commands::Bench(cmd) => tokio::runtime::Runtime::new()?.block_on(bench::run(cmd)),
    }
}

/// Logs to stderr, filtered by `RUST_LOG` (default: `info`).
fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
