//! `yunshi bench ledger`: ledger postings per second, in process and persisted on SQLite and
//! PostgreSQL, each beside a raw-insert baseline of the same rows measured in the same run.
//! Prints the BENCHMARKS.md table.

use std::time::{Duration, Instant};

use anyhow::Result;
use jiff::Timestamp;
use uuid::Uuid;
use yunshi_core::Fen;
use yunshi_core::ledger::{Account, AccountKind, Balances, LedgerTransaction, Posting};
use yunshi_store::{Store, WriteBatch};

use super::{PgDb, median, tempfile_dir};

#[derive(Debug, clap::Args)]
pub struct LedgerBenchArgs {
    /// Ledger transactions per run (two postings each).
    #[arg(long, default_value_t = 200_000)]
    pub transactions: usize,
    /// Transactions per write batch (one database transaction).
    #[arg(long, default_value_t = 1_000)]
    pub batch: usize,
    /// Runs per measurement; the median is reported.
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// PostgreSQL server to measure on (a fresh database is created and dropped per run);
    /// omit to skip PostgreSQL.
    #[arg(long, env = "YUNSHI_BENCH_PG")]
    pub postgres: Option<String>,
}

/// The workload: `n` order payments, each a balanced two-posting transaction.
fn workload(n: usize) -> Result<Vec<LedgerTransaction>> {
    let at: Timestamp = "2026-03-01T02:00:00Z".parse()?;
    let cash = Account::operator(AccountKind::OperatorCash);
    (0..n)
        .map(|i| {
            let fen = Fen::new(100 + (i as i64 % 100_000));
            let order = Account::new(AccountKind::BuyerEscrow, format!("order-{i}"));
            Ok(LedgerTransaction::new(
                Uuid::now_v7(),
                "order_paid",
                format!("order-{i}"),
                at,
                vec![
                    Posting::debit(cash.clone(), fen),
                    Posting::credit(order, fen)?,
                ],
            )?)
        })
        .collect()
}

fn postings(txs: &[LedgerTransaction]) -> usize {
    txs.iter().map(|t| t.postings().len()).sum()
}

fn rate(rows: usize, took: Duration) -> f64 {
    rows as f64 / took.as_secs_f64()
}

struct Row {
    what: String,
    ours: f64,
    baseline: Option<f64>,
}

pub async fn ledger(args: LedgerBenchArgs) -> Result<()> {
    anyhow::ensure!(
        args.runs > 0 && args.batch > 0 && args.transactions > 0,
        "counts must be positive"
    );
    let mut rows = Vec::new();

    // In process: validate (balance check) and apply to in-memory balances.
    let mut in_process = Vec::new();
    for _ in 0..args.runs {
        let txs = workload(args.transactions)?;
        let n = postings(&txs);
        let start = Instant::now();
        let mut book = Balances::default();
        for t in &txs {
            let checked = LedgerTransaction::restore(
                t.id(),
                t.kind().to_string(),
                t.reference().to_string(),
                t.reverses(),
                t.at(),
                t.postings().to_vec(),
            )?;
            book.apply(&checked)?;
        }
        anyhow::ensure!(
            book.trial_balance() == 0,
            "in-process trial balance is not zero"
        );
        in_process.push(rate(n, start.elapsed()));
    }
    rows.push(Row {
        what: "in process (check + apply to balances)".into(),
        ours: median(in_process),
        baseline: None,
    });

    let dir = tempfile_dir()?;
    let (mut ours, mut raw) = (Vec::new(), Vec::new());
    for run in 0..args.runs {
        let txs = workload(args.transactions)?;
        let n = postings(&txs);
        let path = dir.join(format!("ours-{run}.db"));
        ours.push(rate(
            n,
            persist_with_store(&path.display().to_string(), &txs, args.batch, 2).await?,
        ));
        let path = dir.join(format!("raw-{run}.db"));
        raw.push(rate(n, raw_sqlite(&path, &txs, args.batch)?));
    }
    rows.push(Row {
        what: format!("SQLite persisted, {} tx per commit", args.batch),
        ours: median(ours),
        baseline: Some(median(raw)),
    });

    // Group commit: many committers, one ledger transaction each, against the same rows
    // committed one SQL transaction each on a plain connection.
    let single = args.transactions.min(20_000);
    let (mut ours, mut raw) = (Vec::new(), Vec::new());
    for run in 0..args.runs {
        let txs = workload(single)?;
        let n = postings(&txs);
        let path = dir.join(format!("group-{run}.db"));
        ours.push(rate(
            n,
            persist_with_store(&path.display().to_string(), &txs, 1, 64).await?,
        ));
        let path = dir.join(format!("group-raw-{run}.db"));
        raw.push(rate(n, raw_sqlite(&path, &txs, 1)?));
    }
    rows.push(Row {
        what: "SQLite persisted, 1 tx per commit, 64 concurrent committers (group commit)".into(),
        ours: median(ours),
        baseline: Some(median(raw)),
    });
    let _ = std::fs::remove_dir_all(&dir);

    if let Some(base) = &args.postgres {
        let (mut ours, mut raw) = (Vec::new(), Vec::new());
        for _ in 0..args.runs {
            let txs = workload(args.transactions)?;
            let n = postings(&txs);
            let db = PgDb::create(base).await?;
            ours.push(rate(
                n,
                persist_with_store(&db.url, &txs, args.batch, 2).await?,
            ));
            db.drop_db().await?;
            let db = PgDb::create(base).await?;
            raw.push(rate(n, raw_postgres(&db.url, &txs, args.batch).await?));
            db.drop_db().await?;
        }
        rows.push(Row {
            what: format!("PostgreSQL persisted, {} tx per commit", args.batch),
            ours: median(ours),
            baseline: Some(median(raw)),
        });
    }

    println!(
        "ledger postings/s — {} transactions × 2 postings, median of {} runs, {} cores",
        args.transactions,
        args.runs,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!();
    println!("| measurement | yunshi postings/s | raw-insert baseline postings/s | ratio |");
    println!("|---|---:|---:|---:|");
    for r in rows {
        let (base, ratio) = match r.baseline {
            Some(b) => (format!("{b:.0}"), format!("{:.2}", r.ours / b)),
            None => ("—".into(), "—".into()),
        };
        println!("| {} | {:.0} | {base} | {ratio} |", r.what, r.ours);
    }
    Ok(())
}

/// Through the store: migrate a fresh database, then one `WriteBatch` of `batch`
/// transactions per commit, `committers` commits in flight at once.
async fn persist_with_store(
    url: &str,
    txs: &[LedgerTransaction],
    batch: usize,
    committers: usize,
) -> Result<Duration> {
    let store = Store::open(url).await?;
    store.migrate().await?;
    let batches: Vec<WriteBatch> = txs
        .chunks(batch)
        .map(|chunk| WriteBatch {
            transactions: chunk.to_vec(),
            ..Default::default()
        })
        .collect();
    let start = Instant::now();
    let mut pending = futures_util::stream::FuturesOrdered::new();
    let mut iter = batches.into_iter();
    use futures_util::StreamExt;
    loop {
        while pending.len() < committers {
            match iter.next() {
                Some(b) => {
                    let store = store.clone();
                    pending.push_back(async move { store.commit(b).await });
                }
                None => break,
            }
        }
        match pending.next().await {
            Some(result) => {
                result?;
            }
            None => break,
        }
    }
    let took = start.elapsed();
    anyhow::ensure!(
        store.trial_balance().await? == 0,
        "stored trial balance is not zero"
    );
    store.close().await;
    Ok(took)
}

/// The floor: the same rows into the same schema with cached prepared statements, one
/// database transaction per batch, nothing else.
fn raw_sqlite(path: &std::path::Path, txs: &[LedgerTransaction], batch: usize) -> Result<Duration> {
    let mut conn = rusqlite::Connection::open(path)?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")?;
    conn.execute_batch(include_str!(
        "../../../store/migrations/sqlite/0001_foundation.sql"
    ))?;
    let start = Instant::now();
    for chunk in txs.chunks(batch) {
        let tx = conn.transaction()?;
        {
            let mut head = tx.prepare_cached(
                "INSERT INTO ledger_transactions (id, kind, reference, reverses, at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let mut line = tx.prepare_cached(
                "INSERT INTO ledger_postings (tx_id, idx, account_kind, owner, amount) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for t in chunk {
                head.execute(rusqlite::params![
                    t.id().as_bytes(),
                    t.kind(),
                    t.reference(),
                    Option::<Vec<u8>>::None,
                    t.at().as_microsecond()
                ])?;
                for (i, p) in t.postings().iter().enumerate() {
                    line.execute(rusqlite::params![
                        t.id().as_bytes(),
                        i as i64,
                        p.account.kind.as_str(),
                        p.account.owner,
                        p.amount.fen()
                    ])?;
                }
            }
        }
        tx.commit()?;
    }
    Ok(start.elapsed())
}

/// The floor on PostgreSQL: the same rows as two UNNEST inserts per batch, on two
/// connections at once (the same concurrency the store's run gets).
async fn raw_postgres(url: &str, txs: &[LedgerTransaction], batch: usize) -> Result<Duration> {
    let (setup, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    setup
        .batch_execute(include_str!(
            "../../../store/migrations/postgres/0001_foundation.sql"
        ))
        .await?;
    let chunks: Vec<&[LedgerTransaction]> = txs.chunks(batch).collect();
    let (even, odd): (Vec<_>, Vec<_>) = chunks.iter().enumerate().partition(|(i, _)| i % 2 == 0);
    let start = Instant::now();
    let (a, b) = tokio::join!(
        raw_postgres_lane(url, even.into_iter().map(|(_, c)| *c).collect()),
        raw_postgres_lane(url, odd.into_iter().map(|(_, c)| *c).collect()),
    );
    a?;
    b?;
    Ok(start.elapsed())
}

async fn raw_postgres_lane(url: &str, chunks: Vec<&[LedgerTransaction]>) -> Result<()> {
    let (mut client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    for chunk in chunks {
        let tx = client.transaction().await?;
        let ids: Vec<Uuid> = chunk.iter().map(|t| t.id()).collect();
        let kinds: Vec<&str> = chunk.iter().map(|t| t.kind()).collect();
        let refs: Vec<&str> = chunk.iter().map(|t| t.reference()).collect();
        let reverses: Vec<Option<Uuid>> = vec![None; chunk.len()];
        let ats: Vec<i64> = chunk.iter().map(|t| t.at().as_microsecond()).collect();
        tx.execute(
            "INSERT INTO ledger_transactions (id, kind, reference, reverses, at)
             SELECT * FROM UNNEST($1::UUID[], $2::TEXT[], $3::TEXT[], $4::UUID[], $5::BIGINT[])",
            &[&ids, &kinds, &refs, &reverses, &ats],
        )
        .await?;
        let (mut tx_ids, mut idxs, mut accounts, mut owners, mut amounts) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for t in chunk {
            for (i, p) in t.postings().iter().enumerate() {
                tx_ids.push(t.id());
                idxs.push(i as i32);
                accounts.push(p.account.kind.as_str());
                owners.push(p.account.owner.as_str());
                amounts.push(p.amount.fen());
            }
        }
        tx.execute(
            "INSERT INTO ledger_postings (tx_id, idx, account_kind, owner, amount)
             SELECT * FROM UNNEST($1::UUID[], $2::INT[], $3::TEXT[], $4::TEXT[], $5::BIGINT[])",
            &[&tx_ids, &idxs, &accounts, &owners, &amounts],
        )
        .await?;
        tx.commit().await?;
    }
    Ok(())
}
