//! A settlement run killed with SIGKILL half-way and run again writes exactly one statement
//! per provider and at most one payout per statement; the ledger stays balanced and the
//! period's reconciliation holds.
//!
//! The real `yunshi` binary, on SQLite and (when `YUNSHI_TEST_PG` names a server) a fresh
//! PostgreSQL database: `yunshi bench settlement --seed-only` seeds March's orders of a few
//! thousand providers, a server on a simulated clock in April starts the March run, the
//! test watches the statements appear and kills the process as soon as the first chunk is
//! written, restarts it and runs the period again.
//!
//! The cut-off is asserted, not hoped for: the first run's request gets no answer, yet
//! statements it wrote are in the database (committed, never acknowledged), and the second
//! run reports exactly those as already settled.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::{ADMIN, Target, Yunshi, data_dir, within};

const START: &str = "2026-04-01T02:00:00+08:00";
const PROVIDERS: i64 = 3_000;
const ORDERS: i64 = 60_000;
const STATEMENTS: &str = "SELECT COUNT(*) FROM aggregates WHERE kind = 'statement'";
/// Beyond this the test hangs; the `nextest` profile kills what blocks the runtime.
const BUDGET: Duration = Duration::from_secs(15 * 60);

fn seed(url: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_yunshi"))
        .args(["bench", "settlement", "--seed-only", url])
        .args([
            "--providers",
            &PROVIDERS.to_string(),
            "--orders",
            &ORDERS.to_string(),
        ])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "seeding: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn run(base: &str) -> reqwest::Result<reqwest::Response> {
    reqwest::Client::new()
        .post(format!("{base}/api/v1/admin/settlement/runs"))
        .bearer_auth(ADMIN)
        .json(&json!({"period": "2026-03-01"}))
        .send()
        .await
}

async fn killed_mid_run_and_run_again(data: &Path, db: &Target) {
    std::fs::create_dir_all(data).unwrap();
    let url = match db {
        Target::Sqlite(dir) => dir.join("yunshi.db").display().to_string(),
        Target::Postgres { url } => url.clone(),
    };
    seed(&url);

    let server = Yunshi::start(data, db, START).await;
    let base = server.base.clone();
    let first = tokio::spawn(async move { run(&base).await });
    let look = db.open().await;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if look.count(STATEMENTS).await > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the run wrote no statement");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.kill();
    assert!(first.await.unwrap().is_err(), "the first run was cut off");
    let written = look.count(STATEMENTS).await;
    assert!(
        written > 0 && written < PROVIDERS,
        "killed half-way: {written} of {PROVIDERS} statements"
    );

    let server = Yunshi::start(data, db, START).await;
    let res = run(&server.base).await.unwrap();
    assert_eq!(res.status(), 200);
    let summary: Value = res.json().await.unwrap();
    assert_eq!(summary["already_settled"], written, "{summary}");
    assert_eq!(summary["statements"], PROVIDERS - written, "{summary}");

    // Exactly one statement per provider, at most one payout per statement, all paid.
    assert_eq!(look.count(STATEMENTS).await, PROVIDERS);
    let twice = "SELECT COUNT(*) FROM (SELECT owner FROM aggregates WHERE kind = 'statement'
                 GROUP BY owner HAVING COUNT(*) > 1) AS t";
    assert_eq!(look.count(twice).await, 0);
    let payouts = "SELECT COUNT(*) FROM aggregates WHERE kind = 'payout'";
    assert_eq!(look.count(payouts).await, PROVIDERS);
    let unpaid = "SELECT COUNT(*) FROM aggregates WHERE kind = 'payout' AND status <> 'paid'";
    assert_eq!(
        look.count(unpaid).await,
        0,
        "instructed payouts were sent after the restart"
    );
    let trial = "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM ledger_postings";
    assert_eq!(look.count(trial).await, 0, "the trial balance is zero");

    let report: Value = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/admin/settlement/periods/2026-03-01",
            server.base
        ))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["balanced"], true, "{report}");
    assert_eq!(report["statements"], PROVIDERS);
    let audit = Command::new(env!("CARGO_BIN_EXE_yunshi"))
        .args(["audit", "--server", &server.base, "--token", ADMIN])
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&audit.stdout);
    assert!(audit.status.success(), "yunshi audit: {printed}");
    assert!(
        printed.contains("ok     settlement_accounts_equal_statements"),
        "{printed}"
    );
    server.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settlement_run_killed_half_way_and_run_again_settles_each_provider_once_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_dir(&dir);
    within(
        BUDGET,
        killed_mid_run_and_run_again(&data, &Target::Sqlite(data.clone())),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settlement_run_killed_half_way_and_run_again_settles_each_provider_once_on_postgres() {
    let Some(target) = Target::postgres().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    within(
        BUDGET,
        killed_mid_run_and_run_again(&data_dir(&dir), &target),
    )
    .await;
}
