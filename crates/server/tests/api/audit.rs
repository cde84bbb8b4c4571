//! The invariant checker (issue 6 item 2) over HTTP: it passes on a marketplace that traded,
//! refunded and settled, and catches a deliberately broken invariant — an order whose escrow
//! lost one fen. Each of its checks has a fixture that breaks exactly that invariant behind
//! the API, without an event, and is seen failing alone, naming the culprit, in the full
//! audit and in the audit of changes after a sound mark (issue 18 item 1).

use axum::Json;
use axum::extract::{Path, State};
use jiff::{SignedDuration, Timestamp};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;
use yunshi_core::ledger::{Account, AccountKind, LedgerTransaction, Posting};
use yunshi_core::money::Fen;
use yunshi_server::AppState;
use yunshi_store::{AggregateWrite, NewDeadline, WriteBatch};

use crate::cases::{Admitted, admit, on_both};
use crate::complaints::advance;
use crate::helpers::{ADMIN_TOKEN, Market, assert_problem, ok};

async fn audit(m: &Market) -> Value {
    ok(m.get("/api/v1/admin/audit", ADMIN_TOKEN).await).await
}

fn failed(report: &Value) -> Vec<String> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect()
}

/// An admitted provider with a listed product, and a signed-in buyer.
async fn provider_and_buyer(m: &Market) -> (Admitted, String) {
    let reviewer = m
        .staff(
            "reviewer@yunshi.example",
            json!({"type": "operator_staff", "roles": ["reviewer"]}),
        )
        .await;
    let p = admit(m, &reviewer, "owner@yunfan.example", "云帆科技").await;
    m.register("buyer@example.com", "买家", "personal").await;
    let buyer = m.login("buyer@example.com").await;
    (p, buyer)
}

async fn the_checker_passes_a_sound_market_and_catches_a_dropped_fen(m: &Market) {
    let (p, buyer) = provider_and_buyer(m).await;
    let (held, _) = m.buy(&buyer, &p.product, "pay-1").await;
    let (released, _) = m.buy(&buyer, &p.product, "pay-2").await;
    ok(m.post(
        &format!("/api/v1/orders/{released}/receipt"),
        &buyer,
        json!({}),
    )
    .await)
    .await;
    ok(m.post(
        "/api/v1/admin/clock",
        ADMIN_TOKEN,
        json!({"to": "2026-04-01T00:00:00+08:00"}),
    )
    .await)
    .await;

    let report = audit(m).await;
    assert_eq!(report["ok"], true, "a sound market passes: {report}");
    assert_eq!(report["scope"], "full");
    assert_eq!(report["checks"].as_array().unwrap().len(), 10);
    let mark = since(&report);
    let res = m.get("/api/v1/admin/audit", &p.isv).await;
    assert_problem(res, 403, "forbidden").await;

    // Break it: the refund-that-dropped-a-fen, as a test-only write behind the API's back.
    let res = m
        .call(
            Method::POST,
            &format!("/test/drop-a-fen/{held}"),
            None,
            None,
            None,
        )
        .await;
    assert_eq!(res.status(), 204);
    let report = audit(m).await;
    assert_eq!(report["ok"], false, "{report}");
    // The order's window ended with the clock: released, it should hold nothing, and its
    // escrow account should match what it says — both fail, naming the order.
    assert_eq!(
        failed(&report),
        vec![
            "escrow_equals_held_orders".to_owned(),
            "every_order_in_a_legal_state".to_owned()
        ]
    );
    for check in report["checks"].as_array().unwrap() {
        if check["ok"] == false {
            let detail = check["detail"].as_str().unwrap();
            assert!(detail.contains(&held), "names the order: {detail}");
        }
    }

    // The audit of what changed after the sound report reads only the broken order, and
    // catches it the same way.
    let changes = ok(m.get(&mark, ADMIN_TOKEN).await).await;
    assert_eq!(changes["scope"], "changes");
    assert_eq!(failed(&changes), failed(&report), "{changes}");
    let escrow = &changes["checks"][2];
    assert_eq!(escrow["name"], "escrow_equals_held_orders");
    assert!(
        escrow["detail"].as_str().unwrap().contains(&held),
        "{changes}"
    );
    assert!(changes["chain_head_seq"].as_i64() > report_seq(&mark));
    // Nothing changed after the broken write: nothing to find there.
    let after_it = ok(m.get(&since(&changes), ADMIN_TOKEN).await).await;
    assert_eq!(after_it["ok"], true, "{after_it}");
    assert_eq!(
        after_it["checks"][2]["detail"],
        "0 changed orders hold 0 fen"
    );
    // A mark that is not the chain's hash at that event breaks the chain there.
    let forged = ok(m
        .get(
            &format!(
                "/api/v1/admin/audit?after_event={}&after_hash={}",
                report_seq(&mark).unwrap(),
                "0".repeat(64)
            ),
            ADMIN_TOKEN,
        )
        .await)
    .await;
    assert!(
        failed(&forged).contains(&"event_chain_verifies".to_owned()),
        "{forged}"
    );
    let res = m
        .get("/api/v1/admin/audit?after_event=1", ADMIN_TOKEN)
        .await;
    assert_problem(res, 400, "invalid_request").await;
    let res = m
        .get(
            "/api/v1/admin/audit?after_event=-1&after_hash=00",
            ADMIN_TOKEN,
        )
        .await;
    assert_problem(res, 400, "invalid_request").await;
}

/// The audit of what changes after this report.
fn since(report: &Value) -> String {
    format!(
        "/api/v1/admin/audit?after_event={}&after_hash={}",
        report["chain_head_seq"],
        report["chain_head"].as_str().unwrap()
    )
}

/// The `after_event` of a path made by [`since`].
fn report_seq(path: &str) -> Option<i64> {
    let rest = path.split("after_event=").nth(1)?;
    rest.split('&').next()?.parse().ok()
}

on_both!(
    the_checker_passes_a_sound_market_and_catches_a_dropped_fen,
    "ali-2020",
    "2026-03-02T09:00:00+08:00",
    the_invariant_checker_catches_a_dropped_fen_on_sqlite,
    the_invariant_checker_catches_a_dropped_fen_on_postgres
);

/// A day's window ends fall at one instant and fire together (one read, one commit of a
/// batch each): every order is released once, by its own window, and the books hold.
async fn a_days_window_ends_fire_together_each_exactly_once(m: &Market) {
    let (p, buyer) = provider_and_buyer(m).await;
    let mut orders = Vec::new();
    for n in 0..3 {
        let (order, _) = m.buy(&buyer, &p.product, &format!("pay-{n}")).await;
        orders.push(order);
    }
    let advanced = advance(m, "10d").await;
    assert_eq!(
        advanced["fired"]["order.guarantee_window_end"], 3,
        "{advanced}"
    );
    let buyer = m.login("buyer@example.com").await;
    for order in &orders {
        let view = m.order(&buyer, order).await;
        assert_eq!(view["order"]["status"], "released", "{view}");
        assert_eq!(view["order"]["release"]["trigger"], "window_ended");
        assert_eq!(view["order"]["escrow"], "0.00");
    }
    let again = advance(m, "10d").await;
    assert!(
        again["fired"].get("order.guarantee_window_end").is_none(),
        "each fired once: {again}"
    );
    let report = audit(m).await;
    assert_eq!(report["ok"], true, "{report}");
}

on_both!(
    a_days_window_ends_fire_together_each_exactly_once,
    "ali-2020",
    "2026-03-02T09:00:00+08:00",
    window_ends_due_together_fire_once_each_on_sqlite,
    window_ends_due_together_fire_once_each_on_postgres
);

// ---- one failing fixture per check ----

/// Where a fixture breaks the books: a held order, a released one, their provider.
#[derive(Deserialize)]
pub(crate) struct Targets {
    held: Uuid,
    released: Uuid,
    provider: Uuid,
}

/// A ledger transaction moving `fen` from the operator's cash to `to` (credit), or the
/// other way round when `fen` is negative.
fn cash_to(to: Account, fen: i64) -> LedgerTransaction {
    let cash = Account::operator(AccountKind::OperatorCash);
    LedgerTransaction::new(
        Uuid::now_v7(),
        "test.tampered",
        "test",
        Timestamp::UNIX_EPOCH,
        vec![
            Posting::debit(cash, Fen::new(fen)),
            Posting::debit(to, Fen::new(-fen)),
        ],
    )
    .unwrap()
}

/// The order aggregate `id` rewritten by `edit` (its stored status too), as a bug would.
async fn rewrite_order(
    state: &AppState,
    id: Uuid,
    edit: impl FnOnce(&mut Value),
) -> AggregateWrite {
    let stored = state.store.aggregate("order", id).await.unwrap().unwrap();
    let mut doc = stored.state.clone();
    edit(&mut doc["order"]);
    AggregateWrite {
        kind: "order".into(),
        id,
        expected_version: Some(stored.version),
        owner: stored.owner,
        status: doc["order"]["status"].as_str().unwrap().to_owned(),
        state: doc,
        at: stored.updated_at,
    }
}

/// Test-only: breaks one invariant (`fixture`) through the store, appending no event, and
/// answers the culprit the audit must name.
pub(crate) async fn tamper(
    State(state): State<AppState>,
    Path(fixture): Path<String>,
    Json(t): Json<Targets>,
) -> Json<Value> {
    let mut batch = WriteBatch::default();
    let escrow = |order: Uuid| Account::new(AccountKind::BuyerEscrow, order.to_string());
    let refunds = |order: Uuid| Account::new(AccountKind::RefundsPayable, order.to_string());
    let culprit = match fixture.as_str() {
        "escrow_posted_to_an_order" => {
            batch.transactions.push(cash_to(escrow(t.held), 1));
            t.held.to_string()
        }
        "escrow_posted_to_no_order" => {
            let nobody = Uuid::now_v7();
            batch.transactions.push(cash_to(escrow(nobody), 1));
            nobody.to_string()
        }
        "refund_owed_without_a_refund" => {
            batch.transactions.push(cash_to(refunds(t.held), 1));
            t.held.to_string()
        }
        "released_order_marked_refunded" => {
            let write = rewrite_order(&state, t.released, |o| o["status"] = json!("refunded"));
            batch.aggregates.push(write.await);
            t.released.to_string()
        }
        "refund_above_its_payment" => {
            // 1,000.00 paid; 1,000.01 refunded from escrow and owed to the buyer, so the
            // refunds-payable account agrees and only the bound by the payment breaks.
            let write = rewrite_order(&state, t.released, |o| {
                o["refunded_from_escrow"] = json!("1000.01")
            });
            batch.aggregates.push(write.await);
            batch
                .transactions
                .push(cash_to(refunds(t.released), 100_001));
            t.released.to_string()
        }
        "deposit_overdrawn" => {
            let deposit = Account::new(AccountKind::DepositsHeld, t.provider.to_string());
            let held = state.store.balance(&deposit).await.unwrap();
            // A credit balance is negative: take all of it and one fen more.
            batch.transactions.push(cash_to(deposit, held.fen() - 1));
            t.provider.to_string()
        }
        "payable_without_a_settlement_item" => {
            let payable = Account::new(AccountKind::ProviderPayable, t.provider.to_string());
            batch.transactions.push(cash_to(payable, 1));
            t.provider.to_string()
        }
        "points_over_the_threshold_unenforced" => {
            // ALI-R art.24(4): 24 points in a rule year (1 April to 31 March) expel.
            let record = json!({
                "provider": t.provider,
                "points": [{
                    "case": Uuid::now_v7(), "code": "ALI-S1", "points": 24,
                    "year_start": "2025-04-01", "year_end": "2026-04-01",
                    "booked_at": "2026-03-02T01:00:00Z",
                }],
                "deductions": [],
            });
            batch.aggregates.push(AggregateWrite {
                kind: "violation_record".into(),
                id: t.provider,
                expected_version: None,
                owner: t.provider.to_string(),
                status: "record".into(),
                state: record,
                at: state.clock.now(),
            });
            t.provider.to_string()
        }
        "deadline_forgotten" => {
            batch.schedule.push(NewDeadline {
                id: Uuid::now_v7(),
                kind: "test.forgotten".into(),
                subject: format!("order:{}", t.held),
                due_at: state.clock.now() - SignedDuration::from_hours(24),
                payload: json!({}),
                dedupe_key: None,
            });
            "test.forgotten".to_owned()
        }
        other => panic!("no fixture {other}"),
    };
    state.store.commit(batch).await.unwrap();
    Json(json!({ "culprit": culprit }))
}

/// Every fixture, the check it breaks, and its test on each backend.
macro_rules! fixtures {
    ($($scenario:ident: $fixture:literal breaks $check:literal, $sqlite:ident, $pg:ident;)*) => {
        /// Every fixture and the one check it breaks.
        const FIXTURES: &[(&str, &str)] = &[$(($fixture, $check)),*];
        $(
            async fn $scenario(m: &Market) {
                broken(m, $fixture, $check).await;
            }
            on_both!($scenario, "ali-2020", "2026-03-02T09:00:00+08:00", $sqlite, $pg);
        )*
    };
}

fixtures! {
    unbalanced: "unbalanced_transaction" breaks "trial_balance_is_zero",
        an_unbalanced_transaction_fails_the_trial_balance_on_sqlite,
        an_unbalanced_transaction_fails_the_trial_balance_on_postgres;
    rewritten: "event_rewritten" breaks "event_chain_verifies",
        a_rewritten_event_breaks_the_chain_on_sqlite,
        a_rewritten_event_breaks_the_chain_on_postgres;
    escrow_to_order: "escrow_posted_to_an_order" breaks "escrow_equals_held_orders",
        escrow_posted_without_an_event_is_caught_on_sqlite,
        escrow_posted_without_an_event_is_caught_on_postgres;
    escrow_to_nobody: "escrow_posted_to_no_order" breaks "escrow_equals_held_orders",
        escrow_in_an_account_of_no_order_is_caught_on_sqlite,
        escrow_in_an_account_of_no_order_is_caught_on_postgres;
    owed_without_refund: "refund_owed_without_a_refund" breaks "refunds_payable_equals_refunds_owed",
        refunds_payable_without_a_refund_is_caught_on_sqlite,
        refunds_payable_without_a_refund_is_caught_on_postgres;
    marked_refunded: "released_order_marked_refunded" breaks "every_order_in_a_legal_state",
        a_refunded_order_that_gave_nothing_back_is_illegal_on_sqlite,
        a_refunded_order_that_gave_nothing_back_is_illegal_on_postgres;
    over_refunded: "refund_above_its_payment" breaks "no_refund_above_its_payment",
        a_refund_above_its_payment_is_caught_on_sqlite,
        a_refund_above_its_payment_is_caught_on_postgres;
    overdrawn: "deposit_overdrawn" breaks "no_deposit_overdrawn",
        an_overdrawn_deposit_is_caught_on_sqlite,
        an_overdrawn_deposit_is_caught_on_postgres;
    payable_unexplained: "payable_without_a_settlement_item" breaks "settlement_accounts_equal_statements",
        provider_payable_without_an_item_is_caught_on_sqlite,
        provider_payable_without_an_item_is_caught_on_postgres;
    unexpelled: "points_over_the_threshold_unenforced" breaks "no_active_provider_at_or_above_the_points_threshold",
        an_active_provider_at_the_threshold_is_caught_on_sqlite,
        an_active_provider_at_the_threshold_is_caught_on_postgres;
    forgotten: "deadline_forgotten" breaks "no_deadline_left_pending_past_due",
        a_deadline_left_pending_past_due_is_caught_on_sqlite,
        a_deadline_left_pending_past_due_is_caught_on_postgres;
}

/// A sound market with a held and a released order of 1,000.00 each, audited; then one
/// fixture breaks it behind the API, and exactly its check fails, naming the culprit — in
/// the full audit and in the audit of what changed after the sound report.
async fn broken(m: &Market, fixture: &str, check: &str) {
    let (p, buyer) = provider_and_buyer(m).await;
    let (held, paid) = m.buy(&buyer, &p.product, "pay-1").await;
    assert_eq!(paid["order"]["payment"]["amount"], "1000.00", "{paid}");
    let (released, _) = m.buy(&buyer, &p.product, "pay-2").await;
    let path = format!("/api/v1/orders/{released}/receipt");
    ok(m.post(&path, &buyer, json!({})).await).await;
    let sound = audit(m).await;
    assert_eq!(sound["ok"], true, "a sound market passes: {sound}");
    let mark = since(&sound);

    let culprit = match fixture {
        "unbalanced_transaction" => {
            let tx = Uuid::now_v7();
            let hex = tx.simple();
            m.raw_sql(
                &format!(
                    "INSERT INTO ledger_transactions (id, kind, reference, at)
                       VALUES (X'{hex}', 'test.tampered', 'test', 0);
                     INSERT INTO ledger_postings (tx_id, idx, account_kind, owner, amount)
                       VALUES (X'{hex}', 0, 'operator_cash', '', 1);"
                ),
                &format!(
                    "INSERT INTO ledger_transactions (id, kind, reference, at)
                       VALUES ('{tx}', 'test.tampered', 'test', 0);
                     INSERT INTO ledger_postings (tx_id, idx, account_kind, owner, amount)
                       VALUES ('{tx}', 0, 'operator_cash', '', 1);"
                ),
            )
            .await;
            format!("transaction {tx}")
        }
        "event_rewritten" => {
            let seq = sound["chain_head_seq"].as_i64().unwrap();
            let rewrite = format!("UPDATE events SET payload = '{{\"n\":2}}' WHERE seq = {seq};");
            m.raw_sql(
                &format!("DROP TRIGGER events_no_update; {rewrite}"),
                &format!("ALTER TABLE events DISABLE TRIGGER events_append_only; {rewrite}"),
            )
            .await;
            format!("the chain breaks at event {seq}")
        }
        _ => {
            let targets = json!({"held": held, "released": released, "provider": p.provider});
            let res = m
                .call(
                    Method::POST,
                    &format!("/test/tamper/{fixture}"),
                    None,
                    None,
                    Some(targets),
                )
                .await;
            assert_eq!(res.status(), 200);
            let body: Value = res.json().await.unwrap();
            body["culprit"].as_str().unwrap().to_owned()
        }
    };

    let full = audit(m).await;
    let changes = ok(m.get(&mark, ADMIN_TOKEN).await).await;
    for report in [&full, &changes] {
        assert_eq!(report["ok"], false, "{report}");
        assert_eq!(
            failed(report),
            vec![check.to_owned()],
            "{fixture}: {report}"
        );
        let named = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == check)
            .unwrap();
        let detail = named["detail"].as_str().unwrap();
        assert!(
            detail.contains(&culprit),
            "{fixture} names {culprit}: {detail}"
        );
    }
}

/// Every check the audit reports has a fixture above that breaks it: a check added without
/// one fails here.
async fn every_audit_check_has_a_failing_fixture(m: &Market) {
    let report = audit(m).await;
    let reported: std::collections::BTreeSet<String> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    let fixtures: std::collections::BTreeSet<String> = FIXTURES
        .iter()
        .map(|(_, check)| (*check).to_owned())
        .collect();
    let missing: Vec<_> = reported.difference(&fixtures).collect();
    assert!(
        missing.is_empty(),
        "checks without a failing fixture: {missing:?}"
    );
    let stale: Vec<_> = fixtures.difference(&reported).collect();
    assert!(
        stale.is_empty(),
        "fixtures of checks the audit no longer has: {stale:?}"
    );
}

on_both!(
    every_audit_check_has_a_failing_fixture,
    "ali-2020",
    "2026-03-02T09:00:00+08:00",
    every_audit_check_has_a_failing_fixture_on_sqlite,
    every_audit_check_has_a_failing_fixture_on_postgres
);
