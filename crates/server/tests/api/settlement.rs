//! Settlement, statements, payouts and reconciliation (SPEC §11; issue 5) over HTTP on the
//! simulated clock, on SQLite and (when `YUNSHI_TEST_PG` is set) PostgreSQL, with the numbers
//! checked to the fen. Providers are admitted through the onboarding API; the clock moves
//! through `POST /api/v1/admin/clock`, which fires every deadline on the way — the
//! settlement run of each period at its cut-off among them.

use serde_json::{Value, json};

use crate::cases::{Admitted, admit, on_both};
use crate::helpers::{ADMIN_TOKEN, Market, assert_problem, json_of, ok};
use crate::journey::content;

struct Desk {
    reviewer: String,
    finance: String,
    service: String,
}

async fn desk(m: &Market) -> Desk {
    let op = |roles: &[&str]| json!({"type": "operator_staff", "roles": roles});
    Desk {
        reviewer: m.staff("reviewer@yunshi.example", op(&["reviewer"])).await,
        finance: m.staff("finance@yunshi.example", op(&["finance"])).await,
        service: m
            .staff("cs@yunshi.example", op(&["customer_service"]))
            .await,
    }
}

/// Lists a product of the provider's store and returns its id.
async fn list(m: &Market, d: &Desk, p: &Admitted, body: Value) -> String {
    let mut body = body;
    body["store"] = json!(p.store);
    body["sales_mode"] = json!("self_sold");
    body["refund_policy"] = json!("no_refund");
    body["content"] = content("企业级数据同步工具", "稳定可靠的数据同步方案。");
    let created = json_of(m.post("/api/v1/products", &p.isv, body).await, 201).await;
    let id = created["id"].as_str().unwrap().to_owned();
    ok(
        m.post(&format!("/api/v1/products/{id}/submit"), &p.isv, json!({}))
            .await,
    )
    .await;
    let listed = ok(m
        .post(
            &format!("/api/v1/review/listings/{id}/approve"),
            &d.reviewer,
            json!({"acknowledged": []}),
        )
        .await)
    .await;
    assert_eq!(listed["status"], "listed", "{listed}");
    id
}

async fn image(m: &Market, d: &Desk, p: &Admitted, price: &str) -> String {
    list(
        m,
        d,
        p,
        json!({"category": "image", "pricing": "one_off", "price": price}),
    )
    .await
}

/// The provider registers (or changes to) a bank account in its own name; finance approves.
async fn payee(m: &Market, d: &Desk, p: &Admitted, holder: &str, number: &str) {
    let path = format!("/api/v1/providers/{}/payee-account", p.provider);
    let body = json!({"holder": holder, "channel": "bank", "bank": "招商银行",
                      "branch": "杭州分行", "account_number": number});
    let asked = json_of(m.post(&path, &p.isv, body).await, 202).await;
    let masked = format!("••••{}", &number[number.len() - 4..]);
    assert_ne!(
        asked["approved"]["account_number"], masked,
        "not used before approval: {asked}"
    );
    // Masked to its own staff too; the full number only to finance, asked for.
    assert_eq!(asked["pending"]["account"]["account_number"], masked);
    let full = ok(m.get(&format!("{path}?reveal=true"), &d.finance).await).await;
    assert_eq!(full["pending"]["account"]["account_number"], number);
    let decided = ok(m
        .post(
            &format!(
                "/api/v1/admin/providers/{}/payee-account/decision",
                p.provider
            ),
            &d.finance,
            json!({"approve": true, "account": number}),
        )
        .await)
    .await;
    assert_eq!(decided["approved"]["account_number"], masked, "{decided}");
}

/// A buyer's paid order whose receipt is confirmed: released, settleable.
async fn sell(m: &Market, buyer: &str, product: &str, key: &str) -> String {
    let (order, _) = m.buy(buyer, product, key).await;
    let released = ok(m
        .post(&format!("/api/v1/orders/{order}/receipt"), buyer, json!({}))
        .await)
    .await;
    assert_eq!(released["order"]["status"], "released", "{released}");
    order
}

async fn clock_to(m: &Market, to: &str) -> Value {
    let moved = ok(m
        .post("/api/v1/admin/clock", ADMIN_TOKEN, json!({"to": to}))
        .await)
    .await;
    assert_eq!(moved["failed"], json!([]), "no deadline failed: {moved}");
    moved
}

/// The provider's statement of the period starting `period`.
async fn statement(m: &Market, token: &str, p: &Admitted, period: &str) -> Value {
    let list = ok(m
        .get(
            &format!(
                "/api/v1/providers/{}/statements?period={period}",
                p.provider
            ),
            token,
        )
        .await)
    .await;
    let list = list.as_array().unwrap();
    assert_eq!(
        list.len(),
        1,
        "one statement per provider and period: {list:?}"
    );
    let id = list[0]["id"].as_str().unwrap();
    ok(m.get(&format!("/api/v1/statements/{id}"), token).await).await
}

fn adjustment(s: &Value, kind: &str) -> Option<String> {
    s["adjustments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == kind)
        .map(|a| a["amount"].as_str().unwrap().to_owned())
}

/// Signs the next agreement term (ALI terms end on 31 March, extended by a month).
async fn renew(m: &Market, p: &Admitted) {
    let agreement = ok(m.public_get("/api/v1/onboarding/agreement").await).await;
    ok(m.post(
        &format!("/api/v1/providers/{}/agreement-renewals", p.provider),
        &p.isv,
        json!({"agreement_id": agreement["id"]}),
    )
    .await)
    .await;
}

async fn buyer(m: &Market, email: &str) -> String {
    m.register(email, "买家", "personal").await;
    m.login(email).await
}

async fn period_report(m: &Market, d: &Desk, period: &str) -> Value {
    let r = ok(m
        .get(
            &format!("/api/v1/admin/settlement/periods/{period}"),
            &d.finance,
        )
        .await)
    .await;
    assert_eq!(
        r["balanced"], true,
        "ledger balances equal statement totals: {r}"
    );
    r
}

// ---- March: commission 10%, base price, payout, files, reconciliation ----

async fn march_statement_pays_commission_and_base_price_orders(m: &Market) {
    let d = desk(m).await;
    let p = admit(m, &d.reviewer, "owner@yunfan.example", "云帆科技").await;
    let q = admit(m, &d.reviewer, "owner@shuzhi.example", "数智科技").await;
    payee(m, &d, &p, "云帆科技", "6225880100001234").await;
    payee(m, &d, &q, "数智科技", "6225880100005678").await;
    // The account must be in the provider's own name.
    let res = m
        .post(
            &format!("/api/v1/providers/{}/payee-account", p.provider),
            &p.isv,
            json!({"holder": "别人", "channel": "alipay", "account": "x@example.com"}),
        )
        .await;
    assert_problem(res, 422, "payee_holder_mismatch").await;

    // Base price 800.00 for q's 1,000.00 product, agreed by finance.
    let base = image(m, &d, &q, "1000.00").await;
    let agreement = format!("/api/v1/providers/{}/fee-agreement", q.provider);
    let res = m
        .put(
            &agreement,
            &q.isv,
            json!({"products": {base.as_str(): {"model": "base_price", "base_price": "800.00"}}}),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    ok(m.put(
        &agreement,
        &d.finance,
        json!({"products": {base.as_str(): {"model": "base_price", "base_price": "800.00"}}}),
    )
    .await)
    .await;

    let hundred = image(m, &d, &p, "100.00").await;
    let b = buyer(m, "buyer@example.com").await;
    let mut orders = Vec::new();
    for n in 0..3 {
        orders.push(sell(m, &b, &hundred, &format!("pay-{n}")).await);
    }
    sell(m, &b, &base, "pay-base").await;
    m.books("March sales").await;

    // Not yet: March has not ended.
    let res = m
        .post(
            "/api/v1/admin/settlement/runs",
            &d.finance,
            json!({"period": "2026-03-01"}),
        )
        .await;
    assert_problem(res, 409, "period_not_ended").await;

    // The cut-off: the run fires by its deadline.
    clock_to(m, "2026-04-01T00:00:00+08:00").await;
    let s = statement(m, &p.isv, &p, "2026-03-01").await;
    assert_eq!(s["sales"], "300.00", "{s}");
    assert_eq!(s["fee"], "30.00");
    assert_eq!(s["net"], "270.00");
    assert_eq!(s["payout"], "270.00");
    assert_eq!(s["lines"].as_array().unwrap().len(), 3);
    assert_eq!(s["lines"][0]["amount"], "100.00");
    assert_eq!(s["lines"][0]["fee"], "10.00");
    let base_s = statement(m, &q.isv, &q, "2026-03-01").await;
    assert_eq!(base_s["fee"], "200.00", "sale price − base price: {base_s}");
    assert_eq!(base_s["payout"], "800.00");

    // The payout went to the approved account and was paid (sandbox).
    let payouts = ok(m
        .get(&format!("/api/v1/providers/{}/payouts", p.provider), &p.isv)
        .await)
    .await;
    assert_eq!(payouts.as_array().unwrap().len(), 1, "{payouts}");
    assert_eq!(payouts[0]["amount"], "270.00");
    assert_eq!(payouts[0]["status"], "paid");
    assert_eq!(payouts[0]["account"]["account_number"], "••••1234"); // masked

    // A second run of the same period writes nothing.
    let again = ok(m
        .post(
            "/api/v1/admin/settlement/runs",
            &d.finance,
            json!({"period": "2026-03-01"}),
        )
        .await)
    .await;
    assert_eq!(again["statements"], 0, "{again}");
    assert_eq!(again["already_settled"], 2);

    // The operator invoices the platform fee (ALI-A 4.4.2): finance records it as issued.
    let id = s["id"].as_str().unwrap();
    assert_eq!(s["invoices"][0]["kind"], "platform_fee", "{s}");
    assert_eq!(s["invoices"][0]["amount"], "30.00");
    let fee_invoice = format!("/api/v1/statements/{id}/invoices/platform_fee");
    let res = m
        .post(&fee_invoice, &p.isv, json!({"number": "No.1"}))
        .await;
    assert_problem(res, 403, "forbidden").await;
    let issued = ok(m
        .post(&fee_invoice, &d.finance, json!({"number": "No.33012345"}))
        .await)
    .await;
    assert_eq!(issued["invoices"][0]["number"], "No.33012345", "{issued}");
    let res = m
        .post(&fee_invoice, &d.finance, json!({"number": "No.2"}))
        .await;
    assert_problem(res, 409, "invoice_issued").await;

    // Statement files.
    let csv = m.get(&format!("/api/v1/statements/{id}/csv"), &p.isv).await;
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = csv.text().await.unwrap();
    assert_eq!(csv.matches("订单 order").count(), 3, "{csv}");
    let number = yunshi_core::ids::order_number(&orders[0]);
    assert!(
        csv.contains(&format!(",{number},")),
        "the order by its number: {csv}"
    );
    assert!(!csv.contains(&orders[0]), "no order UUID: {csv}");
    assert!(csv.contains("打款 payout,,,,,,-270.00"), "{csv}");
    let xlsx = m
        .get(&format!("/api/v1/statements/{id}/xlsx"), &p.isv)
        .await;
    assert_eq!(xlsx.status(), 200);
    let bytes = xlsx.bytes().await.unwrap();
    statement_xlsx_sums_to_its_totals(&bytes, &s, &number);
    // Another provider's staff cannot see it.
    let res = m.get(&format!("/api/v1/statements/{id}"), &q.isv).await;
    assert_problem(res, 404, "not_found").await;

    // Reconciliation: the order's chain, the payout's orders, the period's proof.
    let chain = ok(m
        .get(
            &format!("/api/v1/admin/reconciliation/orders/{}", orders[0]),
            &d.finance,
        )
        .await)
    .await;
    assert_eq!(chain["order"]["payment"]["amount"], "100.00", "{chain}");
    assert_eq!(chain["order"]["release"]["fee"], "10.00");
    assert_eq!(chain["settlement_items"][0]["kind"], "release");
    assert_eq!(chain["statement_lines"][0]["period"], "2026-03-01");
    assert_eq!(chain["statement_lines"][0]["line"]["net"], "90.00");
    assert_eq!(chain["statement_lines"][0]["payout_status"], "paid");
    let payout = payouts[0]["id"].as_str().unwrap();
    let behind = ok(m
        .get(
            &format!("/api/v1/admin/reconciliation/payouts/{payout}"),
            &d.finance,
        )
        .await)
    .await;
    assert_eq!(behind["lines"].as_array().unwrap().len(), 3, "{behind}");
    let r = period_report(m, &d, "2026-03-01").await;
    assert_eq!(r["statements"], 2);
    assert_eq!(r["paid_out"], "1070.00");
    assert_eq!(r["fee"], "230.00");
    m.books("March settled").await;
}

on_both!(
    march_statement_pays_commission_and_base_price_orders,
    "ali-2020",
    "2026-03-02T09:00:00+08:00",
    march_statement_pays_commission_and_base_price_orders_on_sqlite,
    march_statement_pays_commission_and_base_price_orders_on_postgres
);

// ---- April: clawback carried as debt; a complaint holds; a missed top-up is taken ----

async fn clawback_debt_hold_and_missed_top_up(m: &Market) {
    let d = desk(m).await;
    let a = admit(m, &d.reviewer, "owner@yunfan.example", "云帆科技").await;
    let h = admit(m, &d.reviewer, "owner@shuzhi.example", "数智科技").await;
    let t = admit(m, &d.reviewer, "owner@tianyi.example", "天翼软件").await;
    let r = admit(m, &d.reviewer, "owner@ruiyun.example", "瑞云网络").await;
    for (p, name, n) in [
        (&a, "云帆科技", "1"),
        (&h, "数智科技", "2"),
        (&t, "天翼软件", "3"),
    ] {
        payee(m, &d, p, name, &format!("622588010000{n}111")).await;
    }
    // r's bank refuses payments to its account (the sandbox fails numbers ending 0000).
    payee(m, &d, &r, "瑞云网络", "6225880100000000").await;
    let b = buyer(m, "buyer@example.com").await;
    // March: a's order of 1,000.00 is settled, 900.00 paid.
    let big = sell(m, &b, &a.product, "a-1").await;
    sell(m, &b, &r.product, "r-1").await;
    clock_to(m, "2026-04-01T00:00:00+08:00").await;
    for p in [&a, &h, &t, &r] {
        renew(m, p).await;
    }
    // r's payout failed and went back to settlement payable; r asks for another account,
    // which is used only once finance approves it.
    let payouts = ok(m
        .get(&format!("/api/v1/providers/{}/payouts", r.provider), &r.isv)
        .await)
    .await;
    assert_eq!(payouts[0]["status"], "failed", "{payouts}");
    assert_eq!(payouts[0]["amount"], "900.00");
    payee(m, &d, &r, "瑞云网络", "6225880100002222").await;
    let b = m.login("buyer@example.com").await;
    let s = statement(m, &a.isv, &a, "2026-03-01").await;
    assert_eq!(s["payout"], "900.00", "{s}");

    // April: refunded in full by arbitration; a earns 500.00.
    let five = image(m, &d, &a, "500.00").await;
    sell(m, &b, &five, "a-2").await;
    let refunded = ok(m
        .post_key(
            &format!("/api/v1/orders/{big}/direct-refunds"),
            &d.service,
            "refund-big",
            json!({"ground": "service_quality_loss", "award": {"kind": "full"}, "note": "仲裁退款"}),
        )
        .await)
    .await;
    assert_eq!(refunded["order"]["status"], "refunded", "{refunded}");

    // April: h has an open complaint (answered, not closed); h earns 100.00.
    let hundred = image(m, &d, &h, "100.00").await;
    let h_order = sell(m, &b, &hundred, "h-1").await;
    let opened = json_of(
        m.post(
            "/api/v1/complaints",
            &b,
            json!({"order_id": h_order, "reason": "not_delivered", "text": "镜像无法启动"}),
        )
        .await,
        201,
    )
    .await;
    let complaint = opened["complaint"]["id"].as_str().unwrap().to_owned();
    ok(m.post(
        &format!("/api/v1/complaints/{complaint}/messages"),
        &h.isv,
        json!({"text": "已安排工程师处理"}),
    )
    .await)
    .await;

    // April: t's deposit pays 300.00 compensation on its behalf for the buyer of t-1; the
    // top-up is missed.
    let t1 = sell(m, &b, &t.product, "t-1").await;
    json_of(
        m.post_key(
            &format!(
                "/api/v1/admin/providers/{}/deposit/compensations",
                t.provider
            ),
            &d.finance,
            "comp-1",
            json!({"amount": "300.00", "reason": "代服务商赔付买家", "reference": t1}),
        )
        .await,
        201,
    )
    .await;
    clock_to(m, "2026-04-20T09:00:00+08:00").await;
    let dep = ok(m
        .get(&format!("/api/v1/providers/{}/deposit", t.provider), &t.isv)
        .await)
    .await;
    assert_eq!(dep["status"], "claimed_from_settlement", "{dep}");

    clock_to(m, "2026-05-01T00:00:00+08:00").await;
    // a: 500.00 − 50.00 earned, 1,000.00 − 100.00 clawed back → nothing paid, 450.00 carried.
    let s = statement(m, &a.isv, &a, "2026-04-01").await;
    assert_eq!(s["sales"], "500.00", "{s}");
    assert_eq!(s["refunds"], "-1000.00");
    assert_eq!(
        s["fee"], "-50.00",
        "the refunded order's fee share returned"
    );
    assert_eq!(s["net"], "-450.00");
    assert_eq!(s["payout"], "0.00");
    assert_eq!(s["debt_carried"], "450.00");
    let kinds: Vec<&str> = s["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"refund") && kinds.contains(&"sale"),
        "{kinds:?}"
    );
    // h: held by the open complaint.
    let s = statement(m, &h.isv, &h, "2026-04-01").await;
    assert_eq!(s["payout"], "0.00", "{s}");
    assert_eq!(s["held"], "90.00");
    assert_eq!(s["holds"][0]["kind"], "open_complaint");
    let held = ok(m
        .get(&format!("/api/v1/providers/{}/holds", h.provider), &h.isv)
        .await)
    .await;
    assert_eq!(held["on_hold"], true, "{held}");
    assert_eq!(
        held["held_amount"], "90.00",
        "the held amount is listed: {held}"
    );
    // t: 900.00 earned, 300.00 taken for the deposit as its own line.
    let s = statement(m, &t.isv, &t, "2026-04-01").await;
    assert_eq!(
        adjustment(&s, "deposit_top_up").as_deref(),
        Some("-300.00"),
        "{s}"
    );
    assert_eq!(s["payout"], "600.00");
    let dep = ok(m
        .get(&format!("/api/v1/providers/{}/deposit", t.provider), &t.isv)
        .await)
    .await;
    assert_eq!(dep["status"], "whole", "{dep}");
    // r: the failed March payout is paid again, to the approved account.
    let s = statement(m, &r.isv, &r, "2026-04-01").await;
    assert_eq!(
        adjustment(&s, "brought_forward").as_deref(),
        Some("900.00"),
        "{s}"
    );
    assert_eq!(s["payout"], "900.00");
    let payouts = ok(m
        .get(&format!("/api/v1/providers/{}/payouts", r.provider), &r.isv)
        .await)
    .await;
    let paid: Vec<&Value> = payouts
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"] == "paid")
        .collect();
    assert_eq!(paid.len(), 1, "{payouts}");
    assert_eq!(paid[0]["account"]["account_number"], "••••2222"); // masked
    period_report(m, &d, "2026-04-01").await;
    m.books("April settled").await;

    // May: the complaint is dismissed; a earns 1,000.00 and pays its debt first.
    let b = m.login("buyer@example.com").await;
    ok(m.post_key(
        &format!("/api/v1/admin/complaints/{complaint}/decision"),
        &d.service,
        "dismiss-1",
        json!({"decision": "dismiss", "note": "已修复"}),
    )
    .await)
    .await;
    let thousand = image(m, &d, &a, "1000.00").await;
    sell(m, &b, &thousand, "a-3").await;
    clock_to(m, "2026-06-01T00:00:00+08:00").await;
    let s = statement(m, &a.isv, &a, "2026-05-01").await;
    assert_eq!(
        adjustment(&s, "debt_collected").as_deref(),
        Some("-450.00"),
        "{s}"
    );
    assert_eq!(s["payout"], "450.00");
    // h: released in the run after the complaint closed.
    let s = statement(m, &h.isv, &h, "2026-05-01").await;
    assert_eq!(
        adjustment(&s, "brought_forward").as_deref(),
        Some("90.00"),
        "{s}"
    );
    assert_eq!(s["payout"], "90.00");
    let held = ok(m
        .get(&format!("/api/v1/providers/{}/holds", h.provider), &h.isv)
        .await)
    .await;
    assert_eq!(
        (&held["on_hold"], &held["held_amount"]),
        (&json!(false), &json!("0.00")),
        "{held}"
    );
    period_report(m, &d, "2026-05-01").await;
    let audit = ok(m.get("/api/v1/admin/audit", ADMIN_TOKEN).await).await;
    assert_eq!(audit["ok"], true, "every invariant holds: {audit}");
    m.books("May settled").await;
}

on_both!(
    clawback_debt_hold_and_missed_top_up,
    "ali-2020",
    "2026-03-02T09:00:00+08:00",
    clawback_is_carried_as_debt_a_complaint_holds_and_a_missed_top_up_is_its_own_line_on_sqlite,
    clawback_is_carried_as_debt_a_complaint_holds_and_a_missed_top_up_is_its_own_line_on_postgres
);

// ---- A yearly subscription amortised over its year ----

async fn yearly_subscription_statements_sum_to_the_order(m: &Market) {
    let d = desk(m).await;
    let p = admit(m, &d.reviewer, "owner@yunfan.example", "云帆科技").await;
    payee(m, &d, &p, "云帆科技", "6225880100001234").await;
    let yearly = list(
        m,
        &d,
        &p,
        json!({"category": "application", "pricing": "yearly", "price": "1200.00"}),
    )
    .await;
    clock_to(m, "2027-03-15T10:00:00+08:00").await;
    let b = buyer(m, "buyer@example.com").await;
    sell(m, &b, &yearly, "y-1").await;
    let mut month = jiff::civil::date(2027, 3, 1);
    let (mut sum, mut net, mut statements) = (0i64, 0i64, 0);
    while month <= jiff::civil::date(2028, 3, 1) {
        let next = month.checked_add(jiff::Span::new().months(1)).unwrap();
        clock_to(m, &format!("{next}T00:00:00+08:00")).await;
        if next == jiff::civil::date(2027, 4, 1) {
            renew(m, &p).await;
        }
        let s = statement(m, &p.isv, &p, &month.to_string()).await;
        let lines = s["lines"].as_array().unwrap();
        assert_eq!(lines.len(), 1, "{s}");
        sum += crate::helpers::fen(lines[0]["amount"].as_str().unwrap());
        net += crate::helpers::fen(s["payout"].as_str().unwrap());
        statements += 1;
        month = next;
    }
    // A year from 15 March touches 13 calendar months (17 days of March, 14 of the next).
    assert_eq!(statements, 13);
    assert_eq!(sum, 120_000, "the parts sum to 1,200.00 exactly");
    assert_eq!(
        net, 108_000,
        "1,200.00 minus the 10% fee, paid out over the year"
    );
    period_report(m, &d, "2028-03-01").await;
    m.books("year amortised").await;
}

on_both!(
    yearly_subscription_statements_sum_to_the_order,
    "ali-2020",
    "2027-03-01T09:00:00+08:00",
    yearly_subscription_is_amortised_by_day_over_its_statements_on_sqlite,
    yearly_subscription_is_amortised_by_day_over_its_statements_on_postgres
);

// ---- A run deadline that fires late settles its own period, then the next ----

async fn a_late_run_settles_its_own_period_then_the_next(m: &Market) {
    let d = desk(m).await;
    let p = admit(m, &d.reviewer, "owner@yunfan.example", "云帆科技").await;
    payee(m, &d, &p, "云帆科技", "6225880100001234").await;
    let hundred = image(m, &d, &p, "100.00").await;
    let two = image(m, &d, &p, "200.00").await;
    let b = buyer(m, "buyer@example.com").await;
    sell(m, &b, &hundred, "m-1").await;
    // The deadline worker was down from here on: nothing fires on the way.
    m.advance(jiff::SignedDuration::from_hours(24 * 39)); // 10 April
    let b = m.login("buyer@example.com").await;
    sell(m, &b, &two, "a-1").await;
    m.advance(jiff::SignedDuration::from_hours(24 * 22)); // 2 May
    m.fire_due().await;
    m.fire_due().await; // the April run, scheduled by the March one, is due already
    let march = statement(m, &p.isv, &p, "2026-03-01").await;
    assert_eq!(
        march["payout"], "90.00",
        "March by its own deadline: {march}"
    );
    let april = statement(m, &p.isv, &p, "2026-04-01").await;
    assert_eq!(april["payout"], "180.00", "{april}");
    period_report(m, &d, "2026-04-01").await;
}

on_both!(
    a_late_run_settles_its_own_period_then_the_next,
    "ali-2020",
    "2026-03-02T09:00:00+08:00",
    a_late_settlement_deadline_settles_its_own_period_on_sqlite,
    a_late_settlement_deadline_settles_its_own_period_on_postgres
);

/// Issue 17: what the database files hold of a webhook secret, a bank account number, a
/// member's identity number and corporate bank account, and an uploaded document is
/// ciphertext; bank accounts are masked to everyone but finance asking, and that read is in
/// the audit trail; identity numbers are masked to everyone but the member and reviewers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_and_personal_data_are_not_in_the_database_files_in_the_clear() {
    const NUMBER: &str = "6214830171234567";
    const CORPORATE: &str = "6228480059731846";
    const ID_NUMBER: &str = "PX73915826Q";
    const DOC: &[u8] = b"%PDF-1.4\nID-CARD-MARKER-330106199001011234\n%%EOF\n";
    let m = Market::start_with(None, "ali-2020", "2026-03-01T09:00:00+08:00").await;
    let d = desk(&m).await;
    let p = admit(&m, &d.reviewer, "owner@atrest.example", "静存科技有限公司").await;
    payee(&m, &d, &p, "静存科技有限公司", NUMBER).await;
    let registered = json_of(
        m.put(
            "/api/v1/webhooks/endpoint",
            &p.isv,
            json!({"url": "https://isv.atrest.example/hooks"}),
        )
        .await,
        200,
    )
    .await;
    let secret = registered["secret"].as_str().unwrap().to_owned();
    let doc = json_of(m.upload_evidence(&p.isv, "application/pdf", DOC).await, 201).await;
    // The uploader reads its own document back, byte for byte.
    let back = m
        .get(
            &format!("/api/v1/evidence/{}", doc["id"].as_str().unwrap()),
            &p.isv,
        )
        .await;
    assert_eq!(back.bytes().await.unwrap().as_ref(), DOC);
    // Other operator roles see the number masked, and cannot reveal it.
    let path = format!("/api/v1/providers/{}/payee-account", p.provider);
    let seen = ok(m.get(&path, &d.service).await).await;
    assert_eq!(seen["approved"]["account_number"], "••••4567");
    assert_eq!(
        m.get(&format!("{path}?reveal=true"), &d.service)
            .await
            .status(),
        403
    );

    // Members' verification: an enterprise's corporate bank account, a person's passport.
    let mut members = Vec::new();
    for (email, kind, details) in [
        (
            "corp@atrest.example",
            "enterprise",
            json!({
                "type": "enterprise", "company_name": "静存数据有限公司",
                "credit_code": "91350100M000100Y43", "legal_representative": "李静",
                "corporate_bank_account": CORPORATE,
            }),
        ),
        (
            "person@atrest.example",
            "personal",
            json!({
                "type": "personal", "real_name": "王静",
                "id_document": "passport", "id_number": ID_NUMBER,
            }),
        ),
    ] {
        let id = m.register(email, "静存会员", kind).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let own = m.login(email).await;
        let submitted = ok(m
            .post(&format!("/api/v1/members/{id}/verification"), &own, details)
            .await)
        .await;
        assert_eq!(
            submitted["verification"]["status"], "pending",
            "{submitted}"
        );
        members.push((id, own));
    }
    // The enterprise is verified (its details are written again), the person stays pending.
    let (corp, corp_session) = &members[0];
    let decided = ok(m
        .post(
            &format!("/api/v1/admin/members/{corp}/verification"),
            &d.reviewer,
            json!({"decision": "verified"}),
        )
        .await)
    .await;
    assert_eq!(decided["verification"]["status"], "verified", "{decided}");
    let (person, person_session) = &members[1];
    for (id, own, field, full) in [
        (corp, corp_session, "corporate_bank_account", CORPORATE),
        (person, person_session, "id_number", ID_NUMBER),
    ] {
        let path = format!("/api/v1/members/{id}");
        let masked = format!("••••{}", &full[full.len() - 4..]);
        for (who, shown) in [(own, full), (&d.reviewer, full), (&d.service, &masked)] {
            let seen = ok(m.get(&path, who).await).await;
            assert_eq!(seen["verification"]["details"][field], *shown, "{seen}");
        }
    }

    let dir = m.data_dir();
    let db = dir.join("yunshi.db");
    // The main file and its WAL: every page written, checkpointed or not.
    let mut bytes = std::fs::read(&db).unwrap();
    for extra in ["yunshi.db-wal", "yunshi.db-shm"] {
        if let Ok(more) = std::fs::read(dir.join(extra)) {
            bytes.extend(more);
        }
    }
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(
        !contains(secret.as_bytes()),
        "the webhook secret is in the clear"
    );
    assert!(
        !contains(NUMBER.as_bytes()),
        "the account number is in the clear"
    );
    assert!(!contains(b"ID-CARD-MARKER"), "the document is in the clear");
    assert!(
        !contains(CORPORATE.as_bytes()),
        "the corporate bank account is in the clear"
    );
    assert!(
        !contains(ID_NUMBER.as_bytes()),
        "the identity number is in the clear"
    );
    assert!(
        contains(b"settlement.payee_account_revealed"),
        "the reveal is not recorded"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700, "the data directory");
        assert_eq!(mode(&db), 0o600, "the database file");
        assert_eq!(
            mode(&dir.join("data-keys")),
            0o600,
            "the generated key file"
        );
        if dir.join("yunshi.db-wal").exists() {
            assert_eq!(mode(&dir.join("yunshi.db-wal")), 0o600, "the WAL");
        }
    }
    m.stop().await;
}

/// The XLSX statement as a spreadsheet reads it: amounts are number cells, the order lines'
/// columns sum to the statement's totals, orders by number and products by title.
fn statement_xlsx_sums_to_its_totals(bytes: &[u8], statement: &Value, number: &str) {
    use calamine::{Data, Reader, Xlsx};
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let sheet = book.worksheet_range_at(0).unwrap().unwrap();
    let rows: Vec<&[Data]> = sheet.rows().collect();
    let is = |r: &[Data], what: &str| r.first() == Some(&Data::String(what.into()));
    let lines: Vec<&[Data]> = rows
        .iter()
        .copied()
        .filter(|r| is(r, "订单 order"))
        .collect();
    assert_eq!(lines.len(), 3, "{rows:?}");
    assert!(
        lines.iter().any(|r| r[1] == Data::String(number.into())),
        "{rows:?}"
    );
    for r in &lines {
        let Data::String(product) = &r[2] else {
            panic!("{r:?}")
        };
        assert!(
            uuid::Uuid::parse_str(product).is_err(),
            "a product title: {r:?}"
        );
    }
    let fen = |d: &Data| match d {
        Data::Float(v) => (v * 100.0).round() as i64,
        other => panic!("an amount is a number cell, not {other:?}"),
    };
    let wire = |field: &str| {
        let f: f64 = statement[field].as_str().unwrap().parse().unwrap();
        (f * 100.0).round() as i64
    };
    let sum = |c: usize| lines.iter().map(|r| fen(&r[c])).sum::<i64>();
    let total = rows.iter().find(|r| is(r, "合计 total")).unwrap();
    assert_eq!(sum(4), fen(&total[4]));
    assert_eq!(sum(4), wire("sales"), "no refunds this period");
    assert_eq!(sum(5), wire("fee"));
    assert_eq!(sum(6), wire("net"));
    let payout = rows.iter().find(|r| is(r, "打款 payout")).unwrap();
    assert_eq!(fen(&payout[6]), -27_000);
}
