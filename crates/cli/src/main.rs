//! `yunshi`: the one binary of Yunshi.

mod audit_cmd;
mod bench;
mod clock_cmd;
mod demo;
mod rulebook_cmd;
mod serve;
mod simulate;

use std::process::ExitCode;

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
    /// Show or advance the clock of a running server.
    #[command(subcommand)]
    Clock(clock_cmd::ClockCommand),
    /// Check every invariant of a running server's database (exit 1 if one is broken).
    Audit(clock_cmd::Connection),
    /// Simulate a marketplace's life, deterministically from a seed, through the real service
    /// layer, checking every invariant after each simulated day.
    Simulate(simulate::SimulateArgs),
    /// Measure throughput against raw-database baselines (see BENCHMARKS.md).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default = match &cli.command {
        // A simulation reports through its summary; the faults it injects are not news.
        Commands::Simulate(_) => "off",
        // Seeding the demo makes thousands of calls; what a newcomer needs is its announcement.
        Commands::Serve(args) if args.is_demo() => "warn",
        _ => "info",
    };
    init_tracing(default);
    let result = match cli.command {
        Commands::Serve(args) => serve::serve(args),
        Commands::Migrate(args) => serve::migrate(args),
        Commands::Rulebook(cmd) => rulebook_cmd::run(cmd),
        Commands::Clock(cmd) => clock_cmd::run(cmd),
        Commands::Audit(conn) => audit_cmd::run(conn),
        Commands::Simulate(args) => simulate::run(args),
        Commands::Bench(cmd) => tokio::runtime::Runtime::new()
            .map_err(anyhow::Error::from)
            .and_then(|rt| rt.block_on(bench::run(cmd))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The message and its causes, for people; no backtrace.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr, filtered by `RUST_LOG` (default: `default`).
fn init_tracing(default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
