//! The invariant checker (issue 6 item 2) over HTTP: it passes on a marketplace that traded,
//! refunded and settled, and catches a deliberately broken invariant — an order whose escrow
//! lost one fen.

use reqwest::Method;
use serde_json::{Value, json};

use crate::cases::{Admitted, admit, on_both};
use crate::complaints::advance;
use crate::helpers::{ADMIN_TOKEN, assert_problem};
use crate::journey::{Market, ok};

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
    assert_eq!(report["checks"].as_array().unwrap().len(), 9);
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
