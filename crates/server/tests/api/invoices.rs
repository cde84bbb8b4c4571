//! Invoices (SPEC §11 "Invoices", §7 item 8; issue 5 item 9) over HTTP on the simulated
//! clock, on SQLite and (when `YUNSHI_TEST_PG` is set) PostgreSQL. A provider is admitted
//! through the onboarding API with one listed self-sold image at 1000.00; buyers buy it and
//! ask for invoices; the clock moves through `POST /api/v1/admin/clock`, which fires every
//! deadline that falls due; a refund reaches the invoice in the refund's own write.

use serde_json::{Value, json};

use crate::cases::{Admitted, admit, on_both};
use crate::complaints::{advance, buyer_with_order};
use crate::helpers::{Market, assert_problem, json_of, ok};
use crate::journey::{PDF, content};

struct Staff {
    reviewer: String,
    finance: String,
    service: String,
}

async fn staff(m: &Market) -> Staff {
    let op = |roles: &[&str]| json!({"type": "operator_staff", "roles": roles});
    Staff {
        reviewer: m.staff("reviewer@yunshi.example", op(&["reviewer"])).await,
        finance: m.staff("finance@yunshi.example", op(&["finance"])).await,
        service: m
            .staff("cs@yunshi.example", op(&["customer_service"]))
            .await,
    }
}

fn email_request() -> Value {
    json!({
        "title": "杭州云帆科技有限公司", "title_kind": "enterprise",
        "tax_number": "91330106MA2CXXXX1K", "invoice_type": "special_vat",
        "delivery": {"method": "email", "email": "finance@buyer.example"}
    })
}

async fn request(m: &Market, buyer: &str, order: &str, body: Value) -> Value {
    json_of(
        m.post(&format!("/api/v1/orders/{order}/invoice"), buyer, body)
            .await,
        201,
    )
    .await
}

fn iid(v: &Value) -> String {
    v["invoice"]["id"].as_str().unwrap().to_owned()
}

async fn invoice(m: &Market, token: &str, id: &str) -> Value {
    ok(m.get(&format!("/api/v1/invoices/{id}"), token).await).await
}

async fn issue(m: &Market, token: &str, id: &str, body: Value) -> reqwest::Response {
    m.post(&format!("/api/v1/invoices/{id}/issue"), token, body)
        .await
}

/// Customer service refunds `award` of the order directly (ALI-R art.21(3)7, "other").
async fn refund(m: &Market, cs: &str, order: &str, key: &str, award: Value) {
    ok(m.post_key(
        &format!("/api/v1/orders/{order}/direct-refunds"),
        cs,
        key,
        json!({"ground": "other", "award": award, "note": "部分未交付"}),
    )
    .await)
    .await;
}

async fn task_step(
    m: &Market,
    token: &str,
    id: &str,
    step: &str,
    body: Value,
) -> reqwest::Response {
    m.post(
        &format!("/api/v1/invoices/{id}/tasks/1/{step}"),
        token,
        body,
    )
    .await
}

// ---- ALI: the provider issues within 7 days, or the breach is recorded ----

async fn ali_invoice_not_issued_within_7_days_is_a_breach(m: &Market) {
    let s = staff(m).await;
    let p = admit(m, &s.reviewer, "owner@yunfan.example", "云帆科技").await;
    let other = admit(m, &s.reviewer, "owner@qita.example", "其他科技").await;
    let (buyer, order) = buyer_with_order(m, &p, "buyer@example.com").await;

    // Requested with an Idempotency-Key: a retry answers the same request.
    let path = format!("/api/v1/orders/{order}/invoice");
    let body = json!({
        "title": "王芳", "title_kind": "personal", "invoice_type": "ordinary",
        "delivery": {"method": "post", "recipient": "王芳", "phone": "13800000000",
                     "address": "浙江省杭州市西湖区文三路 1 号"}
    });
    let first = json_of(m.post_key(&path, &buyer, "inv-1", body.clone()).await, 201).await;
    let again = json_of(m.post_key(&path, &buyer, "inv-1", body.clone()).await, 201).await;
    assert_eq!(first, again, "a replay answers the same");
    assert_problem(
        m.post(&path, &buyer, body.clone()).await,
        409,
        "invoice_already_requested",
    )
    .await;
    let id = iid(&first);
    assert_eq!(first["status"], "requested", "{first}");
    assert_eq!(first["issuer"], "provider");
    assert_eq!(first["invoice"]["amount"], "1000.00");
    assert_eq!(first["deadline"]["window"], "issue");
    let due: jiff::Timestamp = first["deadline"]["due_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        due.duration_since(m.now()),
        jiff::SignedDuration::from_hours(24 * 7)
    );
    // Only the buyer requests; the provider sees the order but gets 403.
    assert_problem(m.post(&path, &p.isv, body).await, 403, "forbidden").await;

    // Tenancy: another provider, another buyer and non-finance staff see nothing.
    assert_problem(
        m.get(&format!("/api/v1/invoices/{id}"), &other.isv).await,
        404,
        "not_found",
    )
    .await;
    let theirs = ok(m.get("/api/v1/invoices", &other.isv).await).await;
    assert_eq!(theirs["items"], json!([]), "{theirs}");
    m.register("someone@example.com", "李雷", "personal").await;
    let stranger = m.login("someone@example.com").await;
    assert_problem(m.get(&path, &stranger).await, 404, "not_found").await;
    assert_problem(
        m.get(&format!("/api/v1/invoices/{id}"), &s.service).await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        m.get("/api/v1/invoices", &s.service).await,
        403,
        "forbidden",
    )
    .await;
    for token in [&buyer, &p.isv, &s.finance] {
        let page = ok(m.get("/api/v1/invoices", token).await).await;
        assert_eq!(page["items"][0]["invoice"]["id"], id.as_str(), "{page}");
    }
    let by_order = ok(m.get(&path, &p.isv).await).await;
    assert_eq!(iid(&by_order), id);

    // 6 days: nothing yet. 8 days: the breach is recorded, the request stays open.
    let breaches = format!("/test/invoice-breaches/{}", p.provider);
    assert_eq!(ok(m.public_get(&breaches).await).await, json!([]));
    advance(m, "6d").await;
    assert_eq!(invoice(m, &p.isv, &id).await["status"], "requested");
    advance(m, "2d").await;
    let late = invoice(m, &s.finance, &id).await;
    assert_eq!(late["status"], "overdue", "{late}");
    assert_eq!(late["in_breach"], true);
    assert!(late["invoice"]["breach"]["at"].is_string(), "{late}");
    // The settlement run holds the provider on it.
    assert_eq!(ok(m.public_get(&breaches).await).await, json!([id]));
    let overdue = ok(m.get("/api/v1/invoices?status=overdue", &s.finance).await).await;
    assert_eq!(overdue["items"].as_array().unwrap().len(), 1, "{overdue}");

    // The buyer (signed in again: sessions last 12 hours) does not issue; postage is refused
    // above 50.00; then the provider issues.
    let buyer = m.login("buyer@example.com").await;
    assert_problem(
        issue(m, &buyer, &id, json!({"number": "X1"})).await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        issue(
            m,
            &p.isv,
            &id,
            json!({"number": "04400001", "postage": "12.00"}),
        )
        .await,
        422,
        "postage_not_allowed",
    )
    .await;
    assert_problem(
        issue(
            m,
            &p.isv,
            &id,
            json!({"number": "04400001", "amount": "999.00"}),
        )
        .await,
        422,
        "invoice_amount_mismatch",
    )
    .await;
    let issued = ok(issue(
        m,
        &p.isv,
        &id,
        json!({"number": "04400001", "amount": "1000.00"}),
    )
    .await)
    .await;
    assert_eq!(issued["status"], "issued", "{issued}");
    assert_eq!(issued["in_breach"], false);
    assert_eq!(ok(m.public_get(&breaches).await).await, json!([]));
    assert!(
        issued["invoice"]["breach"].is_object(),
        "the breach stays on record"
    );
    assert_eq!(issued["invoice"]["invoices"][0]["number"], "04400001");
    assert_eq!(issued["invoice"]["invoices"][0]["issued_on"], "2026-07-09");
    assert_problem(
        issue(m, &p.isv, &id, json!({"number": "04400002"})).await,
        409,
        "invalid_transition",
    )
    .await;
    m.books("invoice breach").await;
}

on_both!(
    ali_invoice_not_issued_within_7_days_is_a_breach,
    "ali-2020",
    "2026-07-01T09:00:00+08:00",
    ali_invoice_not_issued_within_7_days_is_a_breach_on_sqlite,
    ali_invoice_not_issued_within_7_days_is_a_breach_on_postgres
);

// ---- refunds: same month and not deducted → return; otherwise → red letter ----

async fn refunds_of_invoiced_orders_open_return_or_red_letter_tasks(m: &Market) {
    let s = staff(m).await;
    let p = admit(m, &s.reviewer, "owner@yunfan.example", "云帆科技").await;

    // 1. Issued on 07-01, refunded 400.00 on 07-02: the buyer returns it, the provider
    //    re-issues for 600.00.
    let (buyer, order) = buyer_with_order(m, &p, "a@example.com").await;
    let id = iid(&request(m, &buyer, &order, email_request()).await);
    ok(issue(m, &p.isv, &id, json!({"number": "A1"})).await).await;
    advance(m, "1h").await;
    refund(
        m,
        &s.service,
        &order,
        "r-a",
        json!({"kind": "amount", "amount": "400.00"}),
    )
    .await;
    let v = invoice(m, &buyer, &id).await;
    assert_eq!(v["status"], "correcting", "{v}");
    assert_eq!(v["open_task"]["kind"], "return_invoice");
    assert_eq!(v["open_task"]["remaining"], "600.00");
    assert_eq!(v["invoice"]["amount"], "600.00");
    assert_problem(
        task_step(
            m,
            &p.isv,
            &id,
            "completion",
            json!({"reissued_number": "A2"}),
        )
        .await,
        409,
        "buyer_part_missing",
    )
    .await;
    assert_problem(
        task_step(m, &p.isv, &id, "buyer-part", json!({"part": "returned"})).await,
        403,
        "forbidden",
    )
    .await;
    let v = ok(task_step(m, &buyer, &id, "buyer-part", json!({"part": "returned"})).await).await;
    assert_eq!(v["open_task"]["status"], "awaiting_issuer", "{v}");
    let v = ok(task_step(
        m,
        &p.isv,
        &id,
        "completion",
        json!({"reissued_number": "A2"}),
    )
    .await)
    .await;
    assert_eq!(v["status"], "issued", "{v}");
    assert_eq!(v["invoice"]["invoices"][0]["state"], "returned");
    assert_eq!(v["invoice"]["invoices"][1]["number"], "A2");
    assert_eq!(v["invoice"]["invoices"][1]["amount"], "600.00");

    // 2. Used for tax deduction, refunded in full the same month: the red-letter form, a
    //    red-letter invoice, nothing re-issued.
    let (buyer, order) = buyer_with_order(m, &p, "b@example.com").await;
    let id = iid(&request(m, &buyer, &order, email_request()).await);
    ok(issue(m, &p.isv, &id, json!({"number": "B1"})).await).await;
    let v = ok(m
        .post(
            &format!("/api/v1/invoices/{id}/deduction"),
            &buyer,
            json!({}),
        )
        .await)
    .await;
    assert!(
        v["invoice"]["invoices"][0]["deducted_at"].is_string(),
        "{v}"
    );
    refund(m, &s.service, &order, "r-b", json!({"kind": "full"})).await;
    let v = invoice(m, &p.isv, &id).await;
    assert_eq!(v["open_task"]["kind"], "red_letter", "{v}");
    assert_eq!(v["open_task"]["remaining"], "0.00");
    assert_problem(
        task_step(m, &buyer, &id, "buyer-part", json!({"part": "returned"})).await,
        409,
        "wrong_task_step",
    )
    .await;
    let form = json_of(m.upload_evidence(&buyer, "application/pdf", PDF).await, 201).await;
    let form = form["id"].as_str().unwrap().to_owned();
    ok(task_step(
        m,
        &buyer,
        &id,
        "buyer-part",
        json!({"part": "red_letter_form", "evidence": form}),
    )
    .await)
    .await;
    // The issuer reads the form through the request.
    let res = m
        .get(&format!("/api/v1/invoices/{id}/evidence/{form}"), &p.isv)
        .await;
    assert_eq!(res.status(), 200);
    let v = ok(task_step(
        m,
        &p.isv,
        &id,
        "completion",
        json!({"red_letter_number": "R1"}),
    )
    .await)
    .await;
    assert_eq!(v["status"], "void", "{v}");
    assert_eq!(v["invoice"]["invoices"][1]["colour"], "red");
    assert_eq!(v["invoice"]["invoices"][1]["amount"], "-1000.00");

    // 3. Issued in July, refunded in August: red letter, then re-issued for the rest.
    let (buyer, order) = buyer_with_order(m, &p, "c@example.com").await;
    let id = iid(&request(m, &buyer, &order, email_request()).await);
    ok(issue(m, &p.isv, &id, json!({"number": "C1"})).await).await;
    advance(m, "31d").await;
    let buyer = m.login("c@example.com").await;
    refund(
        m,
        &s.service,
        &order,
        "r-c",
        json!({"kind": "amount", "amount": "250.00"}),
    )
    .await;
    let v = invoice(m, &buyer, &id).await;
    assert_eq!(v["open_task"]["kind"], "red_letter", "{v}");
    assert_eq!(v["open_task"]["remaining"], "750.00");
    let form = json_of(m.upload_evidence(&buyer, "application/pdf", PDF).await, 201).await;
    ok(task_step(
        m,
        &buyer,
        &id,
        "buyer-part",
        json!({"part": "red_letter_form", "evidence": form["id"]}),
    )
    .await)
    .await;
    assert_problem(
        task_step(
            m,
            &p.isv,
            &id,
            "completion",
            json!({"red_letter_number": "R2"}),
        )
        .await,
        422,
        "field_required",
    )
    .await;
    let v = ok(task_step(
        m,
        &p.isv,
        &id,
        "completion",
        json!({"red_letter_number": "R2", "reissued_number": "C2"}),
    )
    .await)
    .await;
    assert_eq!(v["status"], "issued", "{v}");
    assert_eq!(v["invoice"]["invoices"][2]["amount"], "750.00");
    m.books("invoice refund tasks").await;
}

on_both!(
    refunds_of_invoiced_orders_open_return_or_red_letter_tasks,
    "ali-2020",
    "2026-07-01T09:00:00+08:00",
    refunds_of_invoiced_orders_open_return_or_red_letter_tasks_on_sqlite,
    refunds_of_invoiced_orders_open_return_or_red_letter_tasks_on_postgres
);

// ---- consignment: the operator issues ----

/// A listed consignment image of the provider's.
async fn consignment_product(m: &Market, reviewer: &str, p: &Admitted) -> String {
    let created = json_of(
        m.post(
            "/api/v1/products",
            &p.isv,
            json!({
                "store": p.store, "category": "image", "sales_mode": "consignment",
                "pricing": "one_off", "price": "300.00", "refund_policy": "no_refund",
                "content": content("云安全加固镜像", "平台代销的安全加固方案。")
            }),
        )
        .await,
        201,
    )
    .await;
    let product = created["id"].as_str().unwrap().to_owned();
    ok(m.post(
        &format!("/api/v1/products/{product}/submit"),
        &p.isv,
        json!({}),
    )
    .await)
    .await;
    ok(m.post(
        &format!("/api/v1/review/listings/{product}/approve"),
        reviewer,
        json!({"acknowledged": []}),
    )
    .await)
    .await;
    product
}

async fn consignment_invoice_is_issued_by_the_operator(m: &Market) {
    let s = staff(m).await;
    let p = admit(m, &s.reviewer, "owner@yunfan.example", "云帆科技").await;
    let product = consignment_product(m, &s.reviewer, &p).await;
    m.register("buyer@example.com", "王芳", "personal").await;
    let buyer = m.login("buyer@example.com").await;
    let (order, _) = m.buy(&buyer, &product, "pay-consignment").await;
    let v = request(m, &buyer, &order, email_request()).await;
    let id = iid(&v);
    assert_eq!(v["issuer"], "operator", "{v}");
    assert!(
        v["deadline"].is_null(),
        "the 7 days bind the provider only: {v}"
    );
    assert_eq!(v["invoice"]["amount"], "300.00");
    // The provider sees it but does not issue; customer service without `manage_invoices`
    // does not either.
    assert_problem(
        issue(m, &p.isv, &id, json!({"number": "Y1"})).await,
        403,
        "not_the_issuer",
    )
    .await;
    assert_problem(
        issue(m, &s.service, &id, json!({"number": "Y1"})).await,
        404,
        "not_found",
    )
    .await;
    advance(m, "8d").await;
    let v = invoice(m, &s.finance, &id).await;
    assert_eq!(v["status"], "requested", "no breach for the operator: {v}");
    let v = ok(issue(m, &s.finance, &id, json!({"number": "Y1"})).await).await;
    assert_eq!(v["status"], "issued", "{v}");
    m.books("consignment invoice").await;
}

on_both!(
    consignment_invoice_is_issued_by_the_operator,
    "ali-2020",
    "2026-07-01T09:00:00+08:00",
    consignment_invoice_is_issued_by_the_operator_on_sqlite,
    consignment_invoice_is_issued_by_the_operator_on_postgres
);
