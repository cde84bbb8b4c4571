//! `yunshi bench …`: throughput against raw-database baselines measured in the same run;
//! each prints its BENCHMARKS.md table.

mod ledger;
mod market;
mod orders;
mod raw;
mod settlement;
mod wire;

use anyhow::{Context, Result};
use uuid::Uuid;

pub use ledger::LedgerBenchArgs;
pub use orders::OrdersBenchArgs;
pub use settlement::SettlementBenchArgs;

#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// Ledger postings per second.
    Ledger(LedgerBenchArgs),
    /// Paid orders per second through the server, in process and over HTTP.
    Orders(OrdersBenchArgs),
    /// A settlement run over many providers' orders.
    Settlement(SettlementBenchArgs),
}

pub async fn run(cmd: BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::Ledger(args) => ledger::ledger(args).await,
        BenchCommand::Orders(args) => orders::orders(args).await,
        BenchCommand::Settlement(args) => settlement::settlement(args).await,
    }
}

pub(crate) fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

pub(crate) fn tempfile_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("yunshi-bench-{}", Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// A throw-away PostgreSQL database.
pub(crate) struct PgDb {
    base: String,
    admin: String,
    name: String,
    pub url: String,
}

impl PgDb {
    pub async fn create(base: &str) -> Result<Self> {
        let base = base.trim_end_matches('/');
        let name = format!("yunshi_bench_{}", Uuid::now_v7().simple());
        let admin = format!("{base}/postgres");
        let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
            .await
            .with_context(|| format!("connecting to {admin}"))?;
        tokio::spawn(conn);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await?;
        Ok(Self {
            url: format!("{base}/{name}"),
            base: base.to_owned(),
            admin,
            name,
        })
    }

    /// The server the database is on.
    pub fn base(&self) -> &str {
        &self.base
    }

    pub async fn drop_db(self) -> Result<()> {
        let (client, conn) = tokio_postgres::connect(&self.admin, tokio_postgres::NoTls).await?;
        tokio::spawn(conn);
        client
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .await?;
        Ok(())
    }
}
