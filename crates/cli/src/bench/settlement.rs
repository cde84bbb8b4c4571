//! `yunshi bench settlement`: a settlement run over many providers and orders, beside the raw
//! aggregate query that sums the same settlement items per provider, in the same run.
//!
//! The market is seeded straight into the store — providers with approved receiving
//! accounts, one settlement item per order released in March, and per provider the ledger
//! transaction of those releases — then the March run settles it in process: statements,
//! ledger transactions, payouts through the sandbox gateway.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use jiff::Timestamp;
use serde_json::json;
use uuid::Uuid;
use yunshi_core::Fen;
use yunshi_core::ids::{OrderId, ProductId, ProviderId};
use yunshi_core::ledger::{Account, AccountKind, LedgerTransaction, Posting};
use yunshi_core::settlement::{
    ItemKind, PayeeAccount, PayeeChannel, PayeeRegistration, Period, SettlementItem,
};
use yunshi_server::kernel::config::Config;
use yunshi_server::{ClockMode, Server};
use yunshi_store::{AggregateWrite, Store, WriteBatch};

use super::{PgDb, median, tempfile_dir};

/// After March: the run settles March.
const NOW: &str = "2026-04-01T02:00:00+08:00";
const MARCH: &str = "2026-03-01";

#[derive(Debug, clap::Args)]
pub struct SettlementBenchArgs {
    /// Orders (one settlement item each), spread over March.
    #[arg(long, default_value_t = 1_000_000)]
    pub orders: usize,
    #[arg(long, default_value_t = 10_000)]
    pub providers: usize,
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Also on PostgreSQL: a server URL (`postgres://user@host:port`); a fresh database per run.
    #[arg(long)]
    pub postgres: Option<String>,
    /// Only seed the database at this URL or SQLite path (migrated first) and exit: the
    /// market the crash test settles.
    #[arg(long)]
    pub seed_only: Option<String>,
}

fn march() -> Result<Period> {
    let day: jiff::civil::Date = MARCH.parse()?;
    Ok(Period {
        start: day,
        end: day.checked_add(jiff::Span::new().months(1))?,
    })
}

fn aggregate(
    kind: &str,
    id: Uuid,
    owner: &str,
    status: &str,
    state: serde_json::Value,
) -> AggregateWrite {
    AggregateWrite {
        kind: kind.into(),
        id,
        expected_version: None,
        owner: owner.into(),
        status: status.into(),
        state,
        at: Timestamp::UNIX_EPOCH,
    }
}

/// Seeds `providers` providers and `orders` orders released in March.
pub async fn seed(store: &Store, providers: usize, orders: usize) -> Result<()> {
    ensure!(
        providers > 0 && orders >= providers,
        "need orders ≥ providers > 0"
    );
    let period = march()?;
    let opens = period.opens_at()?;
    let month = period.cutoff()?.duration_since(opens);
    let per = orders / providers;
    let mut batches = Vec::new();
    for i in 0..providers {
        let p = ProviderId(Uuid::now_v7());
        let product = ProductId(Uuid::now_v7());
        let owner = p.to_string();
        let mut batch = WriteBatch::default();
        batch.aggregates.push(aggregate(
            "provider",
            p.uuid(),
            &owner,
            "active",
            json!({"seeded": "settlement benchmark"}),
        ));
        let mut payee = PayeeRegistration::new(p);
        payee.approved = Some(PayeeAccount {
            holder: format!("服务商{i}"),
            channel: PayeeChannel::Bank {
                bank: "招商银行".into(),
                branch: "杭州分行".into(),
                account_number: format!("62258801{i:08}1"),
            },
        });
        batch.aggregates.push(aggregate(
            "payee_account",
            p.uuid(),
            &owner,
            "approved",
            serde_json::to_value(&payee)?,
        ));
        let n = if i + 1 == providers {
            orders - per * (providers - 1)
        } else {
            per
        };
        let (mut total, mut fees) = (0i64, 0i64);
        for k in 0..n {
            let amount = 1_000 + ((i * 7_919 + k * 104_729) % 99_000) as i64;
            let fee = amount / 10;
            total += amount;
            fees += fee;
            let span = i64::try_from(month.as_micros())? * (2 * k as i64 + 1) / (2 * n as i64);
            let at = opens.checked_add(jiff::SignedDuration::from_micros(span))?;
            batch.settlement_items.push(SettlementItem {
                id: Uuid::now_v7(),
                order: OrderId(Uuid::now_v7()),
                provider: p,
                product,
                kind: ItemKind::Release,
                at,
                amount: Fen::new(amount),
                fee: Fen::new(fee),
                service: None,
                consignment: false,
            });
        }
        batch.transactions.push(LedgerTransaction::new(
            Uuid::now_v7(),
            "escrow_released",
            format!("seed:{p}"),
            opens,
            vec![
                Posting::debit(
                    Account::operator(AccountKind::OperatorCash),
                    Fen::new(total),
                ),
                Posting::credit(
                    Account::new(AccountKind::ProviderPayable, owner),
                    Fen::new(total - fees),
                )?,
                Posting::credit(
                    Account::operator(AccountKind::PlatformFeeRevenue),
                    Fen::new(fees),
                )?,
            ],
        )?);
        batches.push(batch);
        if batches.len() == 100 || i + 1 == providers {
            for r in store.commit_many(std::mem::take(&mut batches)).await? {
                r?;
            }
        }
    }
    Ok(())
}

struct Measured {
    run: Duration,
    raw: Duration,
    statements: u64,
    timing: yunshi_server::features::settlement::RunTiming,
}

async fn once(args: &SettlementBenchArgs, database_url: Option<String>) -> Result<Measured> {
    let dir = tempfile_dir()?;
    let config = Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.clone(),
        database_url: database_url.clone(),
        clock: ClockMode::Simulated,
        start: Some(NOW.into()),
        ..Config::default()
    };
    let server = Server::bind(config.resolve()?).await?;
    let state = server.state().clone();
    seed(&state.store, args.providers, args.orders).await?;
    let period = march()?;
    let raw = match &database_url {
        None => raw_sqlite(&dir.join("yunshi.db"), period)?,
        Some(url) => raw_postgres(url, period).await?,
    };
    let started = Instant::now();
    let summary = yunshi_server::features::settlement::run_period(&state, period)
        .await
        .map_err(|p| anyhow::anyhow!("run failed: {}", p.detail))?;
    let run = started.elapsed();
    ensure!(
        summary.statements as usize == args.providers,
        "one statement per provider: {summary:?}"
    );
    ensure!(state.store.trial_balance().await? == 0, "trial balance");
    state.store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Measured {
        run,
        raw,
        statements: summary.statements,
        timing: summary.timing,
    })
}

/// The floor: the settlement items summed per provider, in one SQL statement.
const RAW: &str = "SELECT provider, COUNT(*), SUM(amount), SUM(fee) FROM settlement_items
                   WHERE at >= $1 AND at < $2 GROUP BY provider";

fn raw_sqlite(path: &std::path::Path, period: Period) -> Result<Duration> {
    let conn = rusqlite::Connection::open(path).with_context(|| format!("{}", path.display()))?;
    let (opens, cutoff) = (
        period.opens_at()?.as_microsecond(),
        period.cutoff()?.as_microsecond(),
    );
    let started = Instant::now();
    let mut stmt = conn.prepare(&RAW.replace('$', "?"))?;
    let rows = stmt.query_map([opens, cutoff], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    let n = rows.count();
    let took = started.elapsed();
    ensure!(n > 0, "the baseline saw nothing");
    Ok(took)
}

async fn raw_postgres(url: &str, period: Period) -> Result<Duration> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    let (opens, cutoff) = (
        period.opens_at()?.as_microsecond(),
        period.cutoff()?.as_microsecond(),
    );
    let started = Instant::now();
    let rows = client.query(RAW, &[&opens, &cutoff]).await?;
    let took = started.elapsed();
    ensure!(!rows.is_empty(), "the baseline saw nothing");
    Ok(took)
}

fn row(name: &str, runs: &[Measured], orders: usize) {
    let run = median(runs.iter().map(|m| m.run.as_secs_f64()).collect());
    let raw = median(runs.iter().map(|m| m.raw.as_secs_f64()).collect());
    let ms = |f: fn(&Measured) -> u64| median(runs.iter().map(|m| f(m) as f64).collect());
    println!(
        "| {name} | {run:.2} s | {:.0} | {raw:.3} s | {:.0}× | {} / {} / {} / {} / {} |",
        orders as f64 / run,
        run / raw,
        ms(|m| m.timing.snapshot_ms),
        ms(|m| m.timing.read_items_ms),
        ms(|m| m.timing.decide_ms),
        ms(|m| m.timing.commit_ms),
        ms(|m| m.timing.payouts_ms),
    );
    let _ = runs.iter().map(|m| m.statements).sum::<u64>();
}

pub async fn settlement(args: SettlementBenchArgs) -> Result<()> {
    if let Some(url) = &args.seed_only {
        let store = Store::open(url).await?;
        store.migrate().await?;
        seed(&store, args.providers, args.orders).await?;
        store.close().await;
        return Ok(());
    }
    ensure!(args.runs > 0, "--runs must be positive");
    let mut sqlite = Vec::new();
    for _ in 0..args.runs {
        sqlite.push(once(&args, None).await?);
    }
    let mut pg = Vec::new();
    if let Some(base) = &args.postgres {
        for _ in 0..args.runs {
            let db = PgDb::create(base).await?;
            pg.push(once(&args, Some(db.url.clone())).await?);
            db.drop_db().await?;
        }
    }
    println!(
        "Settling {} orders of {} providers (March), median of {} runs:\n",
        args.orders, args.providers, args.runs
    );
    println!(
        "| backend | yunshi run | orders/s | raw aggregate query | ratio | snapshot / read items / decide / commit / payouts (ms) |"
    );
    println!("|---|---:|---:|---:|---:|---|");
    row("SQLite", &sqlite, args.orders);
    if !pg.is_empty() {
        row("PostgreSQL", &pg, args.orders);
    }
    Ok(())
}
