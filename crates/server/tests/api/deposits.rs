//! Deposits after admission (SPEC §10; issue 4 item 4) over HTTP on the simulated clock, on
//! SQLite and (when `YUNSHI_TEST_PG` is set) PostgreSQL: a violation's deduction demands a
//! top-up in 3 working days; missed, it is taken from the provider's earnings at the next
//! settlement cut-off; not enough, the store closes until topped up; the third deduction in
//! 12 months requires 10,000.00 more.

use serde_json::{Value, json};

use crate::cases::{Admitted, admit, at, decide_now, on_both, staff, standing, store_state};
use crate::helpers::{Market, assert_problem, fen, json_of, ok};

async fn deposit(m: &Market, token: &str, p: &Admitted) -> Value {
    ok(
        m.get(&format!("/api/v1/providers/{}/deposit", p.provider), token)
            .await,
    )
    .await
}

async fn ali_missed_top_up_is_taken_from_the_next_settlement_then_closes_the_store(m: &Market) {
    let g = staff(m).await;
    let finance = m
        .staff(
            "finance@yunshi.example",
            json!({"type": "operator_staff", "roles": ["finance"]}),
        )
        .await;
    let p = admit(m, &g.reviewer, "owner@yunfan.example", "云帆科技").await;
    // A sale whose guarantee window ends before the cut-off: 1,000.00 earned, minus the fee.
    m.register("buyer@example.com", "买家", "personal").await;
    let buyer = m.login("buyer@example.com").await;
    let (order, _) = m.buy(&buyer, &p.product, "pay-1").await;

    // Wednesday 1 July 2026: ALI-H1 (6 points, 3,000.00 from the deposit).
    decide_now(m, &g, &p, "ALI-H1", "2026-07-01").await;
    let d = deposit(m, &p.isv, &p).await;
    assert_eq!(d["held"], "7000.00", "{d}");
    assert_eq!(d["shortfall"], "3000.00");
    assert_eq!(d["status"], "top_up_due");
    // Thursday 2, Friday 3, Monday 6 July: due at the end of Monday.
    assert_eq!(d["top_ups"][0]["due_at"], "2026-07-06T16:00:00Z", "{d}");
    let due = ok(m.get("/api/v1/admin/deposits", &finance).await).await;
    assert_eq!(due["items"][0]["provider_id"], p.provider.as_str(), "{due}");

    // Not topped up: claimed from the July settlement (cut-off 1 August 00:00).
    at(m, "2026-07-07T00:00:01+08:00").await;
    let d = deposit(m, &p.isv, &p).await;
    assert_eq!(d["status"], "claimed_from_settlement", "{d}");
    assert_eq!(d["top_ups"][0]["status"], "missed");
    assert_eq!(d["settlement_claim"]["at"], "2026-07-31T16:00:00Z", "{d}");
    assert_eq!(store_state(&standing(m, &p.isv, &p).await), "open");

    // The cut-off takes what the provider earned (its order, released), not enough: closed.
    at(m, "2026-08-01T00:00:01+08:00").await;
    let buyer = m.login("buyer@example.com").await; // sessions last 12 hours
    let sold = m.order(&buyer, &order).await;
    assert_eq!(sold["order"]["status"], "released", "{sold}");
    let d = deposit(m, &p.isv, &p).await;
    assert_eq!(d["status"], "closed_for_shortfall", "{d}");
    let taken = fen(d["held"].as_str().unwrap()) - 700_000;
    assert!(taken > 0 && taken <= 100_000, "took the earnings: {d}");
    assert_eq!(fen(d["shortfall"].as_str().unwrap()), 300_000 - taken);
    let s = standing(m, &p.isv, &p).await;
    assert_eq!(store_state(&s), "closed_for_deposit", "{s}");
    assert_eq!(s["stores"][0]["visibility"]["store_shown"], false);
    m.books("deposit taken from the settlement").await;

    // Topping up more than is missing is refused; the rest reopens the store.
    let top_ups = format!("/api/v1/providers/{}/deposit/top-ups", p.provider);
    let res = m
        .post_key(&top_ups, &p.isv, "top-up-x", json!({"amount": "3000.01"}))
        .await;
    assert_problem(res, 422, "top_up_exceeds_shortfall").await;
    let rest = d["shortfall"].as_str().unwrap();
    let paid = json_of(
        m.post_key(&top_ups, &p.isv, "top-up-1", json!({"amount": rest}))
            .await,
        201,
    )
    .await;
    assert_eq!(paid["status"], "whole", "{paid}");
    assert_eq!(paid["held"], "10000.00");
    let replay = json_of(
        m.post_key(&top_ups, &p.isv, "top-up-1", json!({"amount": rest}))
            .await,
        201,
    )
    .await;
    assert_eq!(replay, paid, "a replay pays nothing again");
    assert_eq!(store_state(&standing(m, &p.isv, &p).await), "open");
    m.books("topped up").await;

    // Two more deductions within 12 months: the third requires 10,000.00 extra.
    at(m, "2026-08-03T10:00:00+08:00").await;
    decide_now(m, &g, &p, "ALI-H4", "2026-08-03").await;
    let d = deposit(m, &p.isv, &p).await;
    assert_eq!(d["required"], "10000.00", "two deductions: {d}");
    decide_now(m, &g, &p, "ALI-H1", "2026-08-03").await;
    let d = deposit(m, &p.isv, &p).await;
    assert_eq!(d["deductions_in_window"], 3, "{d}");
    assert_eq!(d["surcharge"], "10000.00", "{d}");
    assert_eq!(d["required"], "20000.00");
    assert_eq!(d["held"], "4000.00");
    assert_eq!(d["shortfall"], "16000.00");
    assert_eq!(d["status"], "top_up_due");
    let s = standing(m, &p.isv, &p).await;
    assert_eq!(s["deposit"]["required"], "20000.00", "{s}");
    m.books("surcharge").await;
}

async fn tc_missed_top_up_closes_the_store_at_once_and_compensation_is_a_deduction(m: &Market) {
    let g = staff(m).await;
    let finance = m
        .staff(
            "finance@yunshi.example",
            json!({"type": "operator_staff", "roles": ["finance"]}),
        )
        .await;
    let p = admit(m, &g.reviewer, "owner@yunfan.example", "云帆科技").await;
    let path = format!(
        "/api/v1/admin/providers/{}/deposit/compensations",
        p.provider
    );
    m.register("buyer@example.com", "买家", "personal").await;
    let buyer = m.login("buyer@example.com").await;
    let (order, _) = m.buy(&buyer, &p.product, "buy-1").await;
    let body = json!({"amount": "800.00", "reason": "代服务商赔付买家", "reference": order});
    let res = m.post_key(&path, &p.isv, "comp-0", body.clone()).await;
    assert_problem(res, 403, "forbidden").await;
    let d = json_of(m.post_key(&path, &finance, "comp-1", body).await, 201).await;
    assert_eq!(d["deductions"][0]["amount"], "800.00", "{d}");
    assert_eq!(d["deductions"][0]["cause"], "compensation");
    // Wednesday 1 July + 7 working days: Friday 10 July, due at its end.
    assert_eq!(d["top_ups"][0]["due_at"], "2026-07-10T16:00:00Z", "{d}");
    at(m, "2026-07-10T23:59:00+08:00").await;
    assert_eq!(store_state(&standing(m, &p.isv, &p).await), "open");
    at(m, "2026-07-11T00:00:01+08:00").await;
    let d = deposit(m, &p.isv, &p).await;
    assert_eq!(
        d["status"], "closed_for_shortfall",
        "TC closes at once: {d}"
    );
    assert!(d["settlement_claim"].is_null());
    assert_eq!(
        store_state(&standing(m, &p.isv, &p).await),
        "closed_for_deposit"
    );
    let paid = json_of(
        m.post_key(
            &format!("/api/v1/providers/{}/deposit/top-ups", p.provider),
            &p.isv,
            "top-up-1",
            json!({"amount": "800.00"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(paid["status"], "whole", "{paid}");
    assert_eq!(store_state(&standing(m, &p.isv, &p).await), "open");
    // Not yet exited: no refund.
    let res = m
        .post(
            &format!("/api/v1/providers/{}/deposit/refund-request", p.provider),
            &p.isv,
            json!({"receipt_returned": true}),
        )
        .await;
    assert_problem(res, 409, "cooperation_not_ended").await;
    m.books("TC deposit").await;
}

/// TC: the deposit comes back only after the exit, once the open complaint is closed, against
/// the returned receipt, within 15 working days; unpaid past that it is overdue.
async fn tc_deposit_refund_after_exit_once_obligations_end(m: &Market) {
    let g = staff(m).await;
    let finance = m
        .staff(
            "finance@yunshi.example",
            json!({"type": "operator_staff", "roles": ["finance"]}),
        )
        .await;
    let cs = m
        .staff(
            "cs@yunshi.example",
            json!({"type": "operator_staff", "roles": ["customer_service"]}),
        )
        .await;
    let p = admit(m, &g.reviewer, "owner@yunfan.example", "云帆科技").await;
    m.register("buyer@example.com", "买家", "personal").await;
    let buyer = m.login("buyer@example.com").await;
    let (order, _) = m.buy(&buyer, &p.product, "pay-1").await;
    let complaint = json_of(
        m.post(
            "/api/v1/complaints",
            &buyer,
            json!({"order_id": order, "reason": "mismatch", "text": "镜像与描述不符"}),
        )
        .await,
        201,
    )
    .await;
    let complaint = complaint["complaint"]["id"].as_str().unwrap().to_owned();
    let refund_request = format!("/api/v1/providers/{}/deposit/refund-request", p.provider);
    let with_receipt = json!({"receipt_returned": true});

    // TC exits at once; the unfinished order is refunded in full.
    let exit = format!("/api/v1/providers/{}/exit", p.provider);
    ok(
        m.post_key(&exit, &p.isv, "exit-1", json!({"reason": "业务调整"}))
            .await,
    )
    .await;
    let refunded = m.order(&buyer, &order).await;
    assert_eq!(refunded["order"]["status"], "refunded", "{refunded}");
    let res = m.post(&refund_request, &p.isv, with_receipt.clone()).await;
    let problem = assert_problem(res, 409, "obligations_remain").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("1 open complaints"),
        "{problem}"
    );
    ok(m.post_key(
        &format!("/api/v1/admin/complaints/{complaint}/decision"),
        &cs,
        "decide-1",
        json!({"decision": "dismiss", "note": "订单已随退出全额退款"}),
    )
    .await)
    .await;
    let res = m
        .post(&refund_request, &p.isv, json!({"receipt_returned": false}))
        .await;
    assert_problem(res, 422, "receipt_required").await;
    let asked = ok(m.post(&refund_request, &p.isv, with_receipt).await).await;
    assert_eq!(asked["status"], "refund_requested", "{asked}");
    // Wednesday 1 July + 15 working days: Wednesday 22 July, due at its end.
    assert_eq!(asked["refund"]["due_at"], "2026-07-22T16:00:00Z", "{asked}");
    let listed = ok(m
        .get("/api/v1/admin/deposits?status=refund_requested", &finance)
        .await)
    .await;
    assert_eq!(
        listed["items"][0]["provider_id"],
        p.provider.as_str(),
        "{listed}"
    );

    at(m, "2026-07-23T00:00:01+08:00").await;
    let d = deposit(m, &finance, &p).await;
    assert!(!d["refund"]["overdue_since"].is_null(), "{d}");
    let pay = format!("/api/v1/admin/providers/{}/deposit/refund", p.provider);
    let paid = json_of(m.post_key(&pay, &finance, "refund-1", json!({})).await, 201).await;
    assert_eq!(paid["status"], "refunded", "{paid}");
    assert_eq!(paid["held"], "0.00");
    assert_eq!(paid["refund"]["paid_amount"], "10000.00");
    let again = json_of(m.post_key(&pay, &finance, "refund-1", json!({})).await, 201).await;
    assert_eq!(again, paid, "a replay refunds nothing again");
    let res = m.post_key(&pay, &finance, "refund-2", json!({})).await;
    assert_problem(res, 409, "no_refund_due").await;
    m.books("deposit refunded").await;
}

on_both!(
    ali_missed_top_up_is_taken_from_the_next_settlement_then_closes_the_store,
    "ali-2020",
    "2026-07-01T09:00:00+08:00",
    ali_missed_top_up_taken_from_next_settlement_then_store_closed_on_sqlite,
    ali_missed_top_up_taken_from_next_settlement_then_store_closed_on_postgres
);
on_both!(
    tc_missed_top_up_closes_the_store_at_once_and_compensation_is_a_deduction,
    "tc-2017",
    "2026-07-01T09:00:00+08:00",
    tc_missed_top_up_closes_the_store_at_once_on_sqlite,
    tc_missed_top_up_closes_the_store_at_once_on_postgres
);
on_both!(
    tc_deposit_refund_after_exit_once_obligations_end,
    "tc-2017",
    "2026-07-01T09:00:00+08:00",
    tc_deposit_refund_after_exit_once_obligations_end_on_sqlite,
    tc_deposit_refund_after_exit_once_obligations_end_on_postgres
);
