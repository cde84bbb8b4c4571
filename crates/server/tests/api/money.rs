//! Money input is exact and bounded (issue 17 item 1): one grammar for amounts on the wire,
//! the deployment's `max_amount` on every money field of a request, a compensation bounded by
//! the order it cites — and whatever is refused, the books, the audit and the period proof
//! keep answering.

use serde_json::{Value, json};

use crate::cases::{admit, on_both, staff};
use crate::helpers::{ADMIN_TOKEN, assert_problem, json_of};
use crate::journey::{Market, ok};

async fn audit_passes(m: &Market, step: &str) {
    let report = ok(m.get("/api/v1/admin/audit", ADMIN_TOKEN).await).await;
    let failed: Vec<&Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .collect();
    assert!(failed.is_empty(), "after {step}: {failed:?}");
    m.books(step).await;
}

async fn a_compensation_beyond_the_limit_or_its_order_is_refused_and_the_books_keep_answering(
    m: &Market,
) {
    let g = staff(m).await;
    let finance = m
        .staff(
            "finance@yunshi.example",
            json!({"type": "operator_staff", "roles": ["finance"]}),
        )
        .await;
    let p = admit(m, &g.reviewer, "owner@yunfan.example", "云帆科技").await;
    m.register("buyer@example.com", "买家", "personal").await;
    let buyer = m.login("buyer@example.com").await;
    let (order, _) = m.buy(&buyer, &p.product, "buy-1").await;
    let path = format!(
        "/api/v1/admin/providers/{}/deposit/compensations",
        p.provider
    );
    let compensate = |key: &'static str, amount: &'static str| {
        let body = json!({"amount": amount, "reason": "代服务商赔付买家", "reference": order});
        m.post_key(&path, &finance, key, body)
    };

    // The figure from the attack: i64::MAX fen. Refused before any rule, naming the limit.
    let p1 = assert_problem(
        compensate("c-1", "92233720368547758.07").await,
        422,
        "amount_above_limit",
    )
    .await;
    let detail = p1["detail"].as_str().unwrap();
    assert!(
        detail.contains("1000000000.00") && detail.contains("amount"),
        "{detail}"
    );
    assert_problem(
        compensate("c-2", "-92233720368547758.08").await,
        422,
        "amount_above_limit",
    )
    .await;
    assert_problem(
        compensate("c-3", "1000000000.01").await,
        422,
        "amount_above_limit",
    )
    .await;
    // Within the deployment's limit, but more than the cited order's buyer paid (1000.00).
    assert_problem(
        compensate("c-4", "100000000.01").await,
        422,
        "compensation_above_obligation",
    )
    .await;
    assert_problem(
        compensate("c-5", "1000.01").await,
        422,
        "compensation_above_obligation",
    )
    .await;
    // Not an amount in the wire grammar.
    for (key, bad) in [
        ("c-6", "1,000.00"),
        ("c-7", "¥1.00"),
        ("c-8", " 1.00"),
        ("c-9", "1."),
        ("c-10", "00001.00"),
        ("c-11", "1e3"),
        ("c-12", "99999999999999999999"),
    ] {
        assert_problem(compensate(key, bad).await, 422, "invalid_request").await;
    }
    // A reference that is no paid order of this provider.
    let body = json!({"amount": "1.00", "reason": "赔付", "reference": "order-1"});
    let res = m.post_key(&path, &finance, "c-13", body).await;
    assert_problem(res, 422, "compensation_without_order").await;

    // The whole payment is the most it may take; the deposit still answers.
    let d = json_of(compensate("c-14", "1000.00").await, 201).await;
    assert_eq!(d["deductions"][0]["amount"], "1000.00", "{d}");
    let deposit = ok(m
        .get(
            &format!("/api/v1/providers/{}/deposit", p.provider),
            &finance,
        )
        .await)
    .await;
    assert_eq!(deposit["status"], "top_up_due", "{deposit}");
    audit_passes(m, "refused compensations").await;
    let proof = m
        .get("/api/v1/admin/settlement/periods/2026-07-01", &finance)
        .await;
    assert_eq!(proof.status(), 200, "the period proof answers");
}

on_both!(
    a_compensation_beyond_the_limit_or_its_order_is_refused_and_the_books_keep_answering,
    "ali-2020",
    "2026-07-01T09:00:00+08:00",
    a_compensation_beyond_the_limit_or_its_order_is_refused_on_sqlite,
    a_compensation_beyond_the_limit_or_its_order_is_refused_on_postgres
);
