//! A crash while a clock advance is firing deadlines neither loses nor repeats one.
//!
//! Runs the real `yunshi` binary in simulated-clock mode on SQLite (and on a fresh PostgreSQL
//! database when `YUNSHI_TEST_PG` names a server), pays hundreds of orders
//! through the API (each payment schedules the end of the order's guarantee window, which
//! releases its escrow), starts an advance that fires them, kills the process with SIGKILL
//! half-way, restarts it and advances again — then reads the database: every deadline fired
//! exactly once, at its due time, and every escrow was released exactly once.
//!
//! The cut-off is asserted, not hoped for: the advance's request gets no successful answer,
//! yet some of the deadlines it fired are committed (and not all of them).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use common::{ADMIN, Api, Db, Target, Yunshi, admit, data_dir, within};
const START: &str = "2026-10-12T09:00:00+08:00";
/// Orders paid per simulated day; four days of them.
const PER_DAY: usize = 150;
const DAYS: usize = 4;
const WINDOW_END: &str = "order.guarantee_window_end";
const SALE_COUNT: &str = "order.sale_count";
/// Beyond this the test hangs; the `nextest` profile kills what blocks the runtime.
const BUDGET: Duration = Duration::from_secs(15 * 60);

/// Places and pays `n` orders, eight clients at a time.
async fn pay_orders(api: &Api, buyers: &[String], product: &str, day: usize, n: usize) {
    let mut tasks = Vec::new();
    for c in 0..8 {
        let api = Api {
            client: api.client.clone(),
            base: api.base.clone(),
        };
        let (product, buyers) = (product.to_owned(), buyers.to_vec());
        tasks.push(tokio::spawn(async move {
            for i in (c..n).step_by(8) {
                let token = &buyers[i % buyers.len()];
                let placed = api
                    .post("/api/v1/orders", token, json!({"product_id": product}), 201)
                    .await;
                let id = placed["order"]["id"].as_str().unwrap();
                api.call(
                    Method::POST,
                    &format!("/api/v1/orders/{id}/payments"),
                    Some(token),
                    Some(&format!("pay-{day}-{i}")),
                    Some(json!({})),
                    200,
                )
                .await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// `yunshi clock …` against the server; its standard output.
fn yunshi_clock(base: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_yunshi"))
        .arg("clock")
        .args(args)
        .args(["--server", base, "--token", ADMIN])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "yunshi clock {args:?}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_during_an_advance_neither_loses_nor_repeats_a_deadline_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_dir(&dir);
    within(
        BUDGET,
        crash_during_an_advance(&data, &Target::Sqlite(data.clone())),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_during_an_advance_neither_loses_nor_repeats_a_deadline_on_postgres() {
    let Some(target) = Target::postgres().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    within(BUDGET, crash_during_an_advance(&data_dir(&dir), &target)).await;
}

async fn crash_during_an_advance(data: &Path, db: &Target) {
    let server = Yunshi::start(data, db, START).await;
    let api = Api {
        client: reqwest::Client::new(),
        base: server.base.clone(),
    };
    let product = admit(&api, "crash", "100.00").await.product;
    let mut buyers = Vec::new();
    for i in 0..8 {
        let kind = json!({"type": "member", "member_kind": "personal"});
        buyers.push(api.user(&format!("buyer{i}@crash.example"), kind).await);
    }
    // A day of payments, then a day on the clock (through the CLI), four times: the windows
    // end on four different days.
    for day in 0..DAYS {
        pay_orders(&api, &buyers, &product, day, PER_DAY).await;
        let out = yunshi_clock(&server.base, &["advance", "--by", "1d"]);
        assert!(out.contains(SALE_COUNT), "{out}");
    }
    let total = (PER_DAY * DAYS) as i64;
    let shown = yunshi_clock(&server.base, &["show"]);
    assert!(shown.contains("simulated"), "{shown}");
    {
        let conn = db.open().await;
        let pending = conn
            .count(&format!(
                "SELECT COUNT(*) FROM deadlines WHERE kind = '{WINDOW_END}' AND state = 'pending'"
            ))
            .await;
        assert_eq!(
            pending, total,
            "every paid order waits for its window to end"
        );
        assert_eq!(
            conn.count(&format!(
                "SELECT COUNT(*) FROM deadlines WHERE kind = '{SALE_COUNT}' AND state = 'fired'"
            ),)
                .await,
            total
        );
    }
    let before: Value = api
        .call(
            Method::GET,
            "/api/v1/admin/clock",
            Some(ADMIN),
            None,
            None,
            200,
        )
        .await;
    let before: jiff::Timestamp = before["now"].as_str().unwrap().parse().unwrap();
    let target = before + jiff::SignedDuration::from_hours(24 * 30);

    // The advance that fires them all, killed half-way.
    let advance = {
        let req = api
            .client
            .post(format!("{}/api/v1/admin/clock", api.base))
            .bearer_auth(ADMIN)
            .json(&json!({"to": target.to_string()}));
        tokio::spawn(async move { req.send().await })
    };
    let conn = db.open().await;
    let started = Instant::now();
    let fired_at_kill = loop {
        let fired = fired_window_ends(&conn).await;
        if fired >= total / 4 {
            break fired;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the advance fired only {fired} in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    server.kill();
    drop(conn);
    let answered = advance.await.unwrap();
    assert!(
        answered.is_err() || !answered.unwrap().status().is_success(),
        "the advance finished before the kill"
    );
    let conn = db.open().await;
    let fired_after_kill = fired_window_ends(&conn).await;
    assert!(fired_after_kill >= fired_at_kill);
    assert!(
        fired_after_kill < total,
        "the kill came too late: {fired_after_kill} of {total} already fired"
    );
    println!("killed after {fired_at_kill} window ends ({fired_after_kill} committed) of {total}");
    drop(conn);

    // Restart with the same --start: the clock continues where it stood, not at --start.
    let server = Yunshi::start(data, db, START).await;
    let api = Api {
        client: reqwest::Client::new(),
        base: server.base.clone(),
    };
    let shown: Value = api
        .call(
            Method::GET,
            "/api/v1/admin/clock",
            Some(ADMIN),
            None,
            None,
            200,
        )
        .await;
    let resumed: jiff::Timestamp = shown["now"].as_str().unwrap().parse().unwrap();
    assert!(
        resumed > before && resumed < target,
        "resumed at {resumed}, advanced from {before} to {target}"
    );
    // The same target again: what the crash left pending fires now.
    let out = yunshi_clock(&server.base, &["advance", "--to", &target.to_string()]);
    assert!(out.contains(WINDOW_END), "{out}");
    let again = yunshi_clock(&server.base, &["advance", "--by", "1d"]);
    assert!(again.contains("fired 0 deadline(s)"), "{again}");
    server.kill();

    // The books.
    let conn = db.open().await;
    assert_eq!(
        fired_window_ends(&conn).await,
        total,
        "every window end fired"
    );
    assert_eq!(
        conn.count(&format!(
            "SELECT COUNT(*) FROM deadlines WHERE state = 'pending' AND due_at <= {}",
            target.as_microsecond()
        ))
        .await,
        0,
        "nothing due left pending"
    );
    assert_eq!(
        conn.count(&format!(
            "SELECT COUNT(*) FROM deadlines WHERE kind = '{WINDOW_END}' AND fired_at <> due_at"
        ),)
            .await,
        0,
        "each window end fired at its due time"
    );
    assert_eq!(
        conn.count("SELECT COUNT(*) FROM ledger_transactions WHERE kind = 'escrow_released'")
            .await,
        total,
        "one release per order"
    );
    assert_eq!(
        conn.count("SELECT COUNT(DISTINCT reference) FROM ledger_transactions WHERE kind = 'escrow_released'"
        ).await,
        total,
        "no order released twice"
    );
    assert_eq!(
        conn.count("SELECT COUNT(*) FROM ledger_transactions WHERE kind = 'order_paid'")
            .await,
        total
    );
    assert_eq!(
        conn.count("SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM ledger_postings WHERE account_kind = 'buyer_escrow'"
        ).await,
        0,
        "every escrow released in full"
    );
    assert_eq!(
        conn.count("SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM ledger_postings")
            .await,
        0,
        "the trial balance is zero"
    );
    assert_eq!(
        conn.count("SELECT COUNT(*) FROM (SELECT tx_id FROM ledger_postings GROUP BY tx_id HAVING SUM(amount) <> 0) AS unbalanced"
        ).await,
        0,
        "every transaction balances"
    );
    assert_eq!(
        conn.count("SELECT COUNT(*) FROM events WHERE kind = 'order.escrow_released'")
            .await,
        total,
        "one release event per order"
    );
}

async fn fired_window_ends(db: &Db) -> i64 {
    db.count(&format!(
        "SELECT COUNT(*) FROM deadlines WHERE kind = '{WINDOW_END}' AND state = 'fired'"
    ))
    .await
}
