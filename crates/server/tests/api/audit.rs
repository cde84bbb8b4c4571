//! The invariant checker (issue 6 item 2) over HTTP: it passes on a marketplace that traded,
//! refunded and settled, and catches a deliberately broken invariant — an order whose escrow
//! lost one fen.

use reqwest::Method;
use serde_json::{Value, json};

use crate::cases::{admit, on_both};
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

async fn the_checker_passes_a_sound_market_and_catches_a_dropped_fen(m: &Market) {
    let reviewer = m
        .staff(
            "reviewer@yunshi.example",
            json!({"type": "operator_staff", "roles": ["reviewer"]}),
        )
        .await;
    let p = admit(m, &reviewer, "owner@yunfan.example", "云帆科技").await;
    m.register("buyer@example.com", "买家", "personal").await;
    let buyer = m.login("buyer@example.com").await;
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
    assert_eq!(report["checks"].as_array().unwrap().len(), 9);
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
}

on_both!(
    the_checker_passes_a_sound_market_and_catches_a_dropped_fen,
    "ali-2020",
    "2026-03-02T09:00:00+08:00",
    the_invariant_checker_catches_a_dropped_fen_on_sqlite,
    the_invariant_checker_catches_a_dropped_fen_on_postgres
);
