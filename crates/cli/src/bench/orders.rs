//! `yunshi bench orders`: paid orders per second through the whole server — auth, handler,
//! decision, idempotency claim, ledger, events, deadline, commit — over HTTP from a load
//! generator with its own keep-alive connections, and in process through the router; each
//! beside a raw-database baseline that writes the same rows per payment with nothing else.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use hyper::{Method, StatusCode};
use serde_json::json;
use tokio::sync::oneshot;
use yunshi_core::ledger::AccountKind;
use yunshi_server::kernel::config::{ClockMode, Config};
use yunshi_server::{AppState, Server};

use super::market::{self, Market};
use super::wire::{Call, Conn, Target};
use super::{PgDb, median, raw};

#[derive(Debug, clap::Args)]
pub struct OrdersBenchArgs {
    /// Orders paid per run.
    #[arg(long, default_value_t = 20_000)]
    pub orders: usize,
    /// Concurrent clients (HTTP connections).
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Runs per measurement; the median run (by throughput) is reported.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// PostgreSQL server to measure on as well (a fresh database per run).
    #[arg(long, env = "YUNSHI_BENCH_PG")]
    pub postgres: Option<String>,
}

/// One measured phase.
#[derive(Clone, Copy)]
struct Phase {
    per_sec: f64,
    p50: Duration,
    p99: Duration,
}

/// One run: placing the orders, paying them, refunding a quarter, releasing the rest.
struct Run {
    place: Phase,
    pay: Phase,
    refund: Phase,
    /// Window-end releases per second when the clock passes the windows.
    releases: f64,
    baseline: f64,
}

/// The simulated clock the benchmark's market lives on.
const START: &str = "2027-03-01T09:00:00+08:00";

/// Payments in the raw baseline's sample.
const RAW_SAMPLE: usize = 3_000;

const ADMIN: &str = "bench-admin-token-0123456789abcdef";

/// A server on `database_url` (None: SQLite in `dir`), running until the sender drops.
async fn start(dir: &std::path::Path, database_url: Option<String>) -> Result<Running> {
    let config = Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.to_path_buf(),
        database_url,
        admin_token: Some(ADMIN.into()),
        clock: ClockMode::Simulated,
        start: Some(START.into()),
        ..Config::default()
    };
    let server = Server::bind(config.resolve()?).await?;
    let addr = server.local_addr();
    let router = server.router();
    let state = server.state().clone();
    let (stop, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(server.run_until(async {
        let _ = rx.await;
    }));
    Ok(Running {
        addr,
        router,
        state,
        stop,
        task,
    })
}

struct Running {
    addr: std::net::SocketAddr,
    router: axum::Router,
    state: AppState,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), yunshi_server::ServeError>>,
}

impl Running {
    async fn stop(self) -> Result<()> {
        let _ = self.stop.send(());
        self.task.await??;
        Ok(())
    }
}

fn phase(count: usize, took: Duration, mut latencies: Vec<Duration>) -> Phase {
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Phase {
        per_sec: count as f64 / took.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
    }
}

/// Runs `work(i, conn)` for i in 0..count on `clients` concurrent clients; returns the
/// results in order, the wall time and every call's latency.
async fn drive<T, F, Fut>(
    target: &Target,
    clients: usize,
    count: usize,
    work: F,
) -> Result<(Vec<T>, Duration, Vec<Duration>)>
where
    T: Send + 'static,
    F: Fn(usize, Conn) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(T, Conn)>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let work = Arc::new(work);
    let mut conns = Vec::with_capacity(clients);
    for _ in 0..clients {
        conns.push(target.connect().await?);
    }
    let start = Instant::now();
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|mut conn| {
            let (next, work) = (Arc::clone(&next), Arc::clone(&work));
            tokio::spawn(async move {
                let mut done = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        return Ok::<_, anyhow::Error>(done);
                    }
                    let t = Instant::now();
                    let (out, c) = work(i, conn).await?;
                    conn = c;
                    done.push((i, out, t.elapsed()));
                }
            })
        })
        .collect();
    let mut all = Vec::with_capacity(count);
    for task in tasks {
        all.extend(task.await??);
    }
    let took = start.elapsed();
    all.sort_by_key(|(i, _, _)| *i);
    let latencies = all.iter().map(|(_, _, l)| *l).collect();
    Ok((
        all.into_iter().map(|(_, o, _)| o).collect(),
        took,
        latencies,
    ))
}

/// The measured phases of one run.
struct Measured {
    place: Phase,
    pay: Phase,
    refund: Phase,
    releases: f64,
}

/// Places `orders` orders, pays them all (each payment with its own key), refunds the first
/// quarter inside the window (the buyer asks, the seller accepts), then moves the clock past
/// the window so the rest are released.
async fn measure(target: &Target, market: &Market, args: &OrdersBenchArgs) -> Result<Measured> {
    let product = market.product.clone();
    let buyers = Arc::new(market.buyers.clone());
    let place_buyers = Arc::clone(&buyers);
    let (ids, took, latencies) =
        drive(target, args.connections, args.orders, move |i, mut conn| {
            let (product, buyers) = (product.clone(), Arc::clone(&place_buyers));
            async move {
                let token = &buyers[i % buyers.len()];
                let body = json!({"product_id": product});
                let placed = conn
                    .expect(
                        Call::json(Method::POST, "/api/v1/orders", Some(token), &body),
                        StatusCode::CREATED,
                    )
                    .await?;
                let id = placed
                    .pointer("/order/id")
                    .and_then(|v| v.as_str())
                    .context("placed order has no id")?
                    .to_owned();
                Ok((id, conn))
            }
        })
        .await?;
    let place = phase(args.orders, took, latencies);
    eprintln!("placed {} orders in {took:.2?}", args.orders);
    let ids = Arc::new(ids);
    let pay_ids = Arc::clone(&ids);
    let pay_buyers = Arc::clone(&buyers);
    let (_, took, latencies) = drive(target, args.connections, args.orders, move |i, mut conn| {
        let (ids, buyers) = (Arc::clone(&pay_ids), Arc::clone(&pay_buyers));
        async move {
            let path = format!("/api/v1/orders/{}/payments", ids[i]);
            let key = format!("pay-{}", ids[i]);
            let mut call = Call::json(
                Method::POST,
                &path,
                Some(&buyers[i % buyers.len()]),
                &json!({}),
            );
            call.key = Some(&key);
            conn.expect(call, StatusCode::OK).await?;
            Ok(((), conn))
        }
    })
    .await?;
    eprintln!("paid {} orders in {took:.2?}", args.orders);
    let pay = phase(args.orders, took, latencies);

    let refunds = refunded(args.orders);
    let seller = Arc::new(market.seller.clone());
    let (_, took, latencies) = drive(target, args.connections, refunds, move |i, mut conn| {
        let (ids, buyers, seller) = (Arc::clone(&ids), Arc::clone(&buyers), Arc::clone(&seller));
        async move {
            let asked = format!("/api/v1/orders/{}/refunds", ids[i]);
            let key = format!("refund-{}", ids[i]);
            let note = json!({"note": "不需要了"});
            let mut call = Call::json(Method::POST, &asked, Some(&buyers[i % buyers.len()]), &note);
            call.key = Some(&key);
            conn.expect(call, StatusCode::OK).await?;
            let accept = format!("/api/v1/orders/{}/refunds/current/acceptance", ids[i]);
            let key = format!("accept-{}", ids[i]);
            let mut call = Call::json(Method::POST, &accept, Some(&seller), &json!({}));
            call.key = Some(&key);
            conn.expect(call, StatusCode::OK).await?;
            Ok(((), conn))
        }
    })
    .await?;
    eprintln!("refunded {refunds} orders in {took:.2?}");
    let refund = phase(refunds, took, latencies);

    let mut conn = target.connect().await?;
    let began = Instant::now();
    let moved = conn
        .expect(
            Call::json(
                Method::POST,
                "/api/v1/admin/clock",
                Some(ADMIN),
                &json!({"by": "10d"}),
            ),
            StatusCode::OK,
        )
        .await?;
    let took = began.elapsed();
    let released = moved
        .pointer("/fired/order.guarantee_window_end")
        .and_then(serde_json::Value::as_u64)
        .context("no window-end releases fired")?;
    anyhow::ensure!(
        released as usize == args.orders - refunds,
        "{released} releases fired, {} expected: {moved}",
        args.orders - refunds
    );
    eprintln!(
        "released {released} orders in {took:.2?} ({} deadlines)",
        moved["fired_total"]
    );
    Ok(Measured {
        place,
        pay,
        refund,
        releases: released as f64 / took.as_secs_f64(),
    })
}

/// Orders refunded in a run: the first quarter.
fn refunded(orders: usize) -> usize {
    orders / 4
}

/// The books after the run: trial balance zero, nothing left in escrow, the refunds owed to
/// the buyers.
async fn check_books(state: &AppState, orders: usize) -> Result<()> {
    anyhow::ensure!(
        state.store.trial_balance().await? == 0,
        "trial balance is not zero"
    );
    let balances = state.store.balances_by_kind().await?;
    let of = |kind: AccountKind| {
        balances
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(0, |(_, f)| f.fen().abs())
    };
    anyhow::ensure!(of(AccountKind::BuyerEscrow) == 0, "escrow is not empty");
    let owed = 10_000 * refunded(orders) as i64;
    anyhow::ensure!(
        of(AccountKind::RefundsPayable) == owed,
        "refunds payable {}, the refunds {owed}",
        of(AccountKind::RefundsPayable)
    );
    Ok(())
}

/// One run on a fresh database: set up, measure, check, and the raw baseline.
async fn run_once(args: &OrdersBenchArgs, http: bool, pg: Option<&str>) -> Result<Run> {
    let dir = super::tempfile_dir()?;
    let db = match pg {
        Some(base) => Some(PgDb::create(base).await?),
        None => None,
    };
    let server = start(&dir, db.as_ref().map(|d| d.url.clone())).await?;
    let setup = Target::InProcess(server.router.clone());
    let market = market::set_up(&mut setup.connect().await?, ADMIN, args.connections).await?;
    let target = if http {
        Target::Http(server.addr)
    } else {
        setup
    };
    let m = measure(&target, &market, args).await?;
    check_books(&server.state, args.orders).await?;
    server.stop().await?;
    // The floor commits once per payment (an fsync each on SQLite): a sample is enough.
    let sample = args.orders.min(RAW_SAMPLE);
    let raw_start = std::time::Instant::now();
    let baseline = match &db {
        Some(db) => {
            let raw_db = PgDb::create(db.base()).await?;
            let r = raw::postgres(&raw_db.url, sample, args.connections).await?;
            raw_db.drop_db().await?;
            r
        }
        None => raw::sqlite(&dir.join("raw.db"), sample)?,
    };
    eprintln!("raw baseline in {:.2?}", raw_start.elapsed());
    if let Some(db) = db {
        db.drop_db().await?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Run {
        place: m.place,
        pay: m.pay,
        refund: m.refund,
        releases: m.releases,
        baseline: sample as f64 / baseline.as_secs_f64(),
    })
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

pub async fn orders(args: OrdersBenchArgs) -> Result<()> {
    anyhow::ensure!(
        args.runs > 0 && args.orders > 0 && args.connections > 0,
        "counts must be positive"
    );
    let mut backends = vec![("SQLite", None)];
    if let Some(pg) = &args.postgres {
        backends.push(("PostgreSQL", Some(pg.as_str())));
    }
    println!(
        "paid orders — {} orders per run, {} clients, median run of {}, {} cores",
        args.orders,
        args.connections,
        args.runs,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!();
    println!(
        "| backend | path | place orders/s (p50/p99 ms) | paid orders/s | pay p50 ms | pay p99 ms | raw baseline payments/s | ratio |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    let mut after_sale = Vec::new();
    for (name, pg) in backends {
        for http in [false, true] {
            let mut runs = Vec::with_capacity(args.runs);
            for _ in 0..args.runs {
                runs.push(run_once(&args, http, pg).await?);
            }
            let mid = median(runs.iter().map(|r| r.pay.per_sec).collect());
            let run = runs
                .iter()
                .find(|r| r.pay.per_sec == mid)
                .context("median run")?;
            let baseline = median(runs.iter().map(|r| r.baseline).collect());
            let path = if http { "HTTP" } else { "in process (router)" };
            println!(
                "| {name} | {path} | {:.0} ({}/{}) | {:.0} | {} | {} | {baseline:.0} | {:.2} |",
                run.place.per_sec,
                ms(run.place.p50),
                ms(run.place.p99),
                run.pay.per_sec,
                ms(run.pay.p50),
                ms(run.pay.p99),
                run.pay.per_sec / baseline,
            );
            // A refund is two of the baseline's transactions (request, acceptance); a
            // release one.
            let refunds = median(runs.iter().map(|r| r.refund.per_sec).collect());
            let refund = runs
                .iter()
                .find(|r| r.refund.per_sec == refunds)
                .context("median run")?;
            let releases = median(runs.iter().map(|r| r.releases).collect());
            after_sale.push(format!(
                "| {name} | {path} | {refunds:.0} ({}/{}) | {:.0} | {:.2} | {releases:.0} | {baseline:.0} | {:.2} |",
                ms(refund.refund.p50),
                ms(refund.refund.p99),
                baseline / 2.0,
                refunds / (baseline / 2.0),
                releases / baseline,
            ));
        }
    }
    println!();
    println!(
        "| backend | path | refunds/s (p50/p99 ms) | raw floor refunds/s | ratio | window-end releases/s | raw floor/s | ratio |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    for row in after_sale {
        println!("{row}");
    }
    println!();
    println!(
        "peak memory of the benchmark process: {} MiB",
        crate::simulate::peak_rss_mib().map_or("?".into(), |m| m.to_string())
    );
    Ok(())
}
