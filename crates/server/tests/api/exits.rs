//! Exit and re-entry (SPEC §13, §3; issue 4 item 6) over HTTP on the simulated clock, on
//! SQLite and (when `YUNSHI_TEST_PG` is set) PostgreSQL: JD's 30-day closing notice, ALI's
//! termination with 15 days' notice, ALI's term expiry with its one-month extension and a
//! renewal, ALI's refund by delivery degree (a refund task for a partly delivered service),
//! TC's full refunds, the console limited after exit and re-entry refused with its date.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::cases::admit;
use crate::helpers::{Market, assert_problem, fen, json_of, ok, on_both};
use crate::journey::content;

struct Staff {
    reviewer: String,
    compliance: String,
    service: String,
}

async fn staff(m: &Market) -> Staff {
    let mk = |email: &'static str, role: &'static str| async move {
        m.staff(email, json!({"type": "operator_staff", "roles": [role]}))
            .await
    };
    Staff {
        reviewer: mk("reviewer@yunshi.example", "reviewer").await,
        compliance: mk("compliance@yunshi.example", "compliance").await,
        service: mk("cs@yunshi.example", "customer_service").await,
    }
}

/// Advances the clock to `to` and fires what is due.
async fn at(m: &Market, to: &str) {
    let to: Timestamp = to.parse().unwrap();
    let by = to.duration_since(m.now());
    assert!(by >= SignedDuration::ZERO, "the clock is already past {to}");
    m.advance(by);
    m.fire_due().await;
}

async fn exit_standing(m: &Market, token: &str, provider: &str) -> Value {
    ok(m.get(&format!("/api/v1/providers/{provider}/exit"), token)
        .await)
    .await
}

async fn store_state(m: &Market, token: &str, store: &str) -> String {
    let s = ok(m.get(&format!("/api/v1/stores/{store}"), token).await).await;
    s["state"]["state"].as_str().unwrap().to_owned()
}

async fn product_status(m: &Market, token: &str, product: &str) -> String {
    let p = ok(m.get(&format!("/api/v1/products/{product}"), token).await).await;
    p["status"].as_str().unwrap().to_owned()
}

async fn notices(m: &Market) -> Vec<Value> {
    let page = ok(m.public_get("/api/v1/notices").await).await;
    page["items"].as_array().unwrap().clone()
}

async fn request_exit(m: &Market, token: &str, provider: &str, key: &str) -> reqwest::Response {
    m.post_key(
        &format!("/api/v1/providers/{provider}/exit"),
        token,
        key,
        json!({"reason": "业务调整"}),
    )
    .await
}

/// After the exit the console reads but does not publish or change the store.
async fn console_is_limited(m: &Market, isv: &str, provider: &str, store: &str, order: &str) {
    let res = m
        .post(
            "/api/v1/products",
            isv,
            json!({
                "store": store, "category": "image", "sales_mode": "self_sold",
                "pricing": "one_off", "price": "10.00", "refund_policy": "no_refund",
                "content": content("新镜像", "退出后不应能发布。")
            }),
        )
        .await;
    let body = assert_problem(res, 403, "console_access_limited").await;
    assert!(
        body["detail"].as_str().unwrap().contains("控制台"),
        "{body}"
    );
    let res = m
        .post(
            &format!("/api/v1/stores/{store}/transfer"),
            isv,
            json!({"to_provider": provider}),
        )
        .await;
    assert_problem(res, 403, "console_access_limited").await;
    // Reading orders, the deposit and its standing stays open.
    m.order(isv, order).await;
    ok(
        m.get(&format!("/api/v1/providers/{provider}/standing"), isv)
            .await,
    )
    .await;
    exit_standing(m, isv, provider).await;
}

// ---- JD: voluntary exit after a 30-day public closing notice ----

async fn jd_voluntary_exit_after_30_day_closing_notice(m: &Market) {
    let s = staff(m).await;
    let p = admit(m, &s.reviewer, "owner@jingyun.example", "京云科技").await;
    m.register("buyer@example.com", "王芳", "personal").await;

    // 1 July: the owner asks to leave; JD publishes the closing notice first.
    let res = request_exit(m, &p.isv, &p.provider, "exit-1").await;
    let first = ok(res).await;
    assert_eq!(first["step"]["step"], "announced", "{first}");
    assert_eq!(first["step"]["effective_at"], "2026-07-30T16:00:00Z");
    assert_eq!(first["provider_status"], "active");
    assert_eq!(first["tenure"]["status"], "exit_pending");
    let replay = ok(request_exit(m, &p.isv, &p.provider, "exit-1").await).await;
    assert_eq!(replay, first, "a replay answers the same");
    assert_eq!(notices(m).await.len(), 1);
    // Withdrawn before it takes effect, the notice comes off the list; asked again.
    let withdrawal = format!("/api/v1/providers/{}/exit/withdrawal", p.provider);
    let back = ok(m.post(&withdrawal, &p.isv, json!({})).await).await;
    assert_eq!(back["status"], "active", "{back}");
    assert_eq!(notices(m).await, Vec::<Value>::new());
    assert_problem(
        m.post(&withdrawal, &p.isv, json!({})).await,
        409,
        "no_pending_exit",
    )
    .await;
    let asked = ok(request_exit(m, &p.isv, &p.provider, "exit-1b").await).await;
    assert_eq!(asked["step"], first["step"], "{asked}");
    let again = request_exit(m, &p.isv, &p.provider, "exit-2").await;
    let body = assert_problem(again, 409, "exit_pending").await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("2026-07-30T16:00:00Z"),
        "{body}"
    );
    let list = notices(m).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["kind"], "store_closing");
    assert_eq!(list[0]["code"], "exit.store_closing");
    assert_eq!(list[0]["provider_id"], p.provider.as_str());
    assert_eq!(list[0]["effective_at"], "2026-07-30T16:00:00Z");
    assert!(
        list[0]["title_zh"].as_str().unwrap().contains("2026-07-31"),
        "{list:?}"
    );
    // A staff member who is not the owner may not ask.
    let clerk = m
        .staff(
            "clerk@jingyun.example",
            json!({"type": "provider_staff", "provider_id": p.provider, "role": "staff"}),
        )
        .await;
    assert_problem(
        request_exit(m, &clerk, &p.provider, "exit-3").await,
        403,
        "forbidden",
    )
    .await;

    // The store keeps selling during the notice: a buyer pays on 29 July.
    at(m, "2026-07-29T10:00:00+08:00").await;
    let buyer = m.login("buyer@example.com").await;
    let (order, paid) = m.buy(&buyer, &p.product, "pay-1").await;
    assert_eq!(paid["order"]["status"], "held", "{paid}");
    m.books("paid during the closing notice").await;

    // Day 29 (30 July, 23:59): still in the marketplace.
    at(m, "2026-07-30T23:59:00+08:00").await;
    let st = exit_standing(m, &s.compliance, &p.provider).await;
    assert_eq!(st["provider_status"], "active", "{st}");
    let buyer = m.login("buyer@example.com").await; // sessions last 12 hours
    assert_eq!(m.order(&buyer, &order).await["order"]["status"], "held");

    // Day 30 (31 July, 00:00): the exit takes effect, all in one batch.
    at(m, "2026-07-31T00:00:00+08:00").await;
    let st = exit_standing(m, &s.compliance, &p.provider).await;
    assert_eq!(st["provider_status"], "exited", "{st}");
    assert_eq!(st["tenure"]["status"], "ended");
    assert_eq!(st["tenure"]["tenure"]["exit"]["kind"], "voluntary");
    assert_eq!(st["reapply_from"], "2027-07-31");
    let buyer = m.login("buyer@example.com").await;
    let o = m.order(&buyer, &order).await;
    assert_eq!(o["order"]["status"], "refunded", "in full: {o}");
    assert_eq!(o["refunded"], "1000.00");
    assert_eq!(o["order"]["refunds"][0]["basis"], "provider_exit");
    assert_eq!(
        product_status(m, &p.isv, &p.product).await,
        "delisted_by_operator"
    );
    assert_eq!(store_state(m, &p.isv, &p.store).await, "hidden");
    let list = notices(m).await;
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[1]["kind"], "exit");
    assert_eq!(list[1]["code"], "exit.voluntary");
    m.books("exited").await;
    // Fired once: advancing further changes nothing.
    at(m, "2026-08-02T00:00:00+08:00").await;
    assert_eq!(notices(m).await.len(), 2);

    console_is_limited(m, &p.isv, &p.provider, &p.store, &order).await;
    // Re-applying inside the year is refused with the date it ends, in both languages.
    let member = m.login(&p.email).await;
    let res = m
        .post(
            "/api/v1/onboarding/applications",
            &member,
            json!({"store_name": "京云科技二店"}),
        )
        .await;
    let body = assert_problem(res, 409, "reentry_too_soon").await;
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("2027-07-31"), "{body}");
    assert!(detail.contains("重新申请"), "{body}");
    assert!(
        detail.contains("new application is possible from 2027-07-31"),
        "{body}"
    );
}

// ---- ALI: the operator terminates with 15 days' notice ----

async fn ali_termination_takes_effect_after_15_days_notice(m: &Market) {
    let s = staff(m).await;
    let p = admit(m, &s.reviewer, "owner@yunfan.example", "云帆科技").await;
    let path = format!("/api/v1/admin/providers/{}/termination", p.provider);
    // Only compliance gives notice, with a reason.
    assert_problem(
        m.post(&path, &p.isv, json!({"reason": "x"})).await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        m.post(&path, &s.compliance, json!({"reason": " "})).await,
        422,
        "reason_required",
    )
    .await;
    let noticed = ok(m
        .post(
            &path,
            &s.compliance,
            json!({"reason": "合作调整（协议 7.2.3）"}),
        )
        .await)
    .await;
    assert_eq!(
        noticed["step"]["effective_at"], "2026-07-15T16:00:00Z",
        "{noticed}"
    );
    // Withdrawn the same day, given again the next.
    let withdrawn = ok(m
        .post(&format!("{path}/withdrawal"), &s.compliance, json!({}))
        .await)
    .await;
    assert_eq!(withdrawn["status"], "active", "{withdrawn}");
    at(m, "2026-07-02T10:00:00+08:00").await;
    let noticed = ok(m
        .post(
            &path,
            &s.compliance,
            json!({"reason": "合作调整（协议 7.2.3）"}),
        )
        .await)
    .await;
    assert_eq!(
        noticed["step"]["effective_at"], "2026-07-16T16:00:00Z",
        "{noticed}"
    );
    // The provider's own exit request meanwhile is refused: an exit is already announced.
    assert_problem(
        request_exit(m, &p.isv, &p.provider, "exit-1").await,
        409,
        "exit_pending",
    )
    .await;

    // The withdrawn notice's day passes: nothing happens.
    at(m, "2026-07-16T00:00:00+08:00").await;
    assert_eq!(
        exit_standing(m, &s.compliance, &p.provider).await["provider_status"],
        "active"
    );
    at(m, "2026-07-16T23:59:00+08:00").await;
    assert_eq!(
        exit_standing(m, &s.compliance, &p.provider).await["provider_status"],
        "active"
    );
    at(m, "2026-07-17T00:00:00+08:00").await;
    let st = exit_standing(m, &s.compliance, &p.provider).await;
    assert_eq!(st["provider_status"], "exited", "{st}");
    assert_eq!(st["tenure"]["tenure"]["exit"]["kind"], "termination");
    assert_eq!(
        st["reapply_from"],
        Value::Null,
        "not a voluntary exit: no wait"
    );
    assert_eq!(
        product_status(m, &p.isv, &p.product).await,
        "delisted_by_operator"
    );
    assert_eq!(store_state(m, &p.isv, &p.store).await, "hidden");
    let list = notices(m).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["code"], "exit.termination");
    m.books("terminated").await;
}

// ---- ALI: the term ends with the fiscal year, is extended once by a month, then ends ----

async fn ali_term_expiry_extends_once_by_a_month_then_exits(m: &Market) {
    let s = staff(m).await;
    let p = admit(m, &s.reviewer, "owner@yunfan.example", "云帆科技").await;
    let q = admit(m, &s.reviewer, "owner@xinghe.example", "星河软件").await;
    let st = exit_standing(m, &p.isv, &p.provider).await;
    assert_eq!(st["tenure"]["term_last_day"], "2027-03-31", "{st}");

    // 1 April: nobody signed anew; both keep performing: extended to 30 April.
    at(m, "2027-04-01T00:00:00+08:00").await;
    for x in [&p, &q] {
        let st = exit_standing(m, &s.compliance, &x.provider).await;
        assert_eq!(st["provider_status"], "active", "{st}");
        assert_eq!(st["tenure"]["term_last_day"], "2027-04-30", "{st}");
    }
    // The second provider signs the next term during the extension.
    let agreement = ok(m.public_get("/api/v1/onboarding/agreement").await).await;
    let renewals = format!("/api/v1/providers/{}/agreement-renewals", q.provider);
    at(m, "2027-04-10T10:00:00+08:00").await;
    assert_problem(
        m.post(&renewals, &q.isv, json!({"agreement_id": "old-version"}))
            .await,
        409,
        "agreement_outdated",
    )
    .await;
    let renewed = ok(m
        .post(&renewals, &q.isv, json!({"agreement_id": agreement["id"]}))
        .await)
    .await;
    assert_eq!(renewed["term_last_day"], "2028-03-31", "{renewed}");
    assert_eq!(renewed["tenure"]["term"]["first_day"], "2027-04-01");

    at(m, "2027-04-30T23:59:00+08:00").await;
    assert_eq!(
        exit_standing(m, &s.compliance, &p.provider).await["provider_status"],
        "active"
    );
    at(m, "2027-05-01T00:00:00+08:00").await;
    let st = exit_standing(m, &s.compliance, &p.provider).await;
    assert_eq!(st["provider_status"], "exited", "{st}");
    assert_eq!(st["tenure"]["tenure"]["exit"]["kind"], "term_expiry");
    assert_eq!(store_state(m, &p.isv, &p.store).await, "hidden");
    let st = exit_standing(m, &s.compliance, &q.provider).await;
    assert_eq!(st["provider_status"], "active", "renewed: {st}");
    let list = notices(m).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["code"], "exit.term_expiry");
    // A term that ended leaves re-entry open at once.
    let member = m.login(&p.email).await;
    json_of(
        m.post(
            "/api/v1/onboarding/applications",
            &member,
            json!({"store_name": "云帆科技新店"}),
        )
        .await,
        201,
    )
    .await;
    m.books("term ended").await;
}

// ---- ALI: by delivery degree, a partly delivered service becomes a refund task ----

async fn ali_exit_refunds_by_delivery_degree_with_a_task_for_a_started_service(m: &Market) {
    let s = staff(m).await;
    let p = admit(m, &s.reviewer, "owner@yunfan.example", "云帆科技").await;
    // A service product, listed.
    let created = json_of(
        m.post(
            "/api/v1/products",
            &p.isv,
            json!({
                "store": p.store, "category": "service", "sales_mode": "self_sold",
                "pricing": "one_off", "price": "3000.00", "refund_policy": "no_refund",
                "content": content("数据库迁移实施服务", "专家上门完成数据库迁移与调优。")
            }),
        )
        .await,
        201,
    )
    .await;
    let service = created["id"].as_str().unwrap().to_owned();
    ok(m.post(
        &format!("/api/v1/products/{service}/submit"),
        &p.isv,
        json!({}),
    )
    .await)
    .await;
    ok(m.post(
        &format!("/api/v1/review/listings/{service}/approve"),
        &s.reviewer,
        json!({"acknowledged": []}),
    )
    .await)
    .await;
    m.register("buyer@example.com", "王芳", "personal").await;
    let buyer = m.login("buyer@example.com").await;
    let (image_order, _) = m.buy(&buyer, &p.product, "pay-image").await;
    let (started, _) = m.buy(&buyer, &service, "pay-started").await;
    let (untouched, _) = m.buy(&buyer, &service, "pay-untouched").await;
    // One milestone confirmed on the first service order; one only reported on the second.
    let ms = |o: &str| format!("/api/v1/orders/{o}/milestones");
    ok(
        m.post(&ms(&started), &p.isv, json!({"title": "需求调研完成"}))
            .await,
    )
    .await;
    ok(m.post(
        &format!("{}/0/confirmation", ms(&started)),
        &buyer,
        json!({}),
    )
    .await)
    .await;
    ok(
        m.post(&ms(&untouched), &p.isv, json!({"title": "环境部署完成"}))
            .await,
    )
    .await;
    m.books("three orders").await;

    // ALI: the voluntary exit takes effect at once.
    let done = ok(request_exit(m, &p.isv, &p.provider, "exit-1").await).await;
    assert_eq!(done["step"]["step"], "takes_effect", "{done}");
    assert_eq!(done["provider_status"], "exited");
    let effects = &done["effects"];
    let refunded: Vec<&str> = effects["refunded_orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(refunded.contains(&image_order.as_str()), "{done}");
    assert!(
        refunded.contains(&untouched.as_str()),
        "not started: {done}"
    );
    assert_eq!(refunded.len(), 2, "{done}");
    assert_eq!(
        effects["refund_tasks"].as_array().unwrap().len(),
        1,
        "{done}"
    );
    assert_eq!(
        m.order(&buyer, &image_order).await["order"]["status"],
        "refunded"
    );
    assert_eq!(
        m.order(&buyer, &untouched).await["order"]["status"],
        "refunded"
    );
    let o = m.order(&buyer, &started).await;
    assert_eq!(o["order"]["status"], "held", "not refunded in full: {o}");
    m.books("exited with a refund task").await;

    // Customer service finds the task and sets the amount.
    assert_problem(
        m.get("/api/v1/admin/exit-refund-tasks", &p.isv).await,
        403,
        "forbidden",
    )
    .await;
    let tasks = ok(m.get("/api/v1/admin/exit-refund-tasks", &s.service).await).await;
    let items = tasks["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{tasks}");
    assert_eq!(items[0]["order"], started.as_str());
    assert_eq!(items[0]["confirmed_milestones"], 1);
    assert_eq!(items[0]["refundable"], "3000.00");
    let task = items[0]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/admin/exit-refund-tasks/{task}/resolution");
    assert_problem(
        m.post_key(
            &path,
            &s.service,
            "res-0",
            json!({"amount": "3000.01", "note": "超额"}),
        )
        .await,
        422,
        "refund_exceeds_paid",
    )
    .await;
    let body = json!({"amount": "1200.00", "note": "已完成需求调研，退还未交付部分"});
    let resolved = ok(m.post_key(&path, &s.service, "res-1", body.clone()).await).await;
    assert_eq!(resolved["status"], "resolved", "{resolved}");
    let replay = ok(m.post_key(&path, &s.service, "res-1", body).await).await;
    assert_eq!(replay, resolved);
    let o = m.order(&buyer, &started).await;
    assert_eq!(o["refunded"], "1200.00", "{o}");
    assert_eq!(
        o["order"]["status"], "released",
        "the delivered part is the provider's"
    );
    assert_eq!(
        fen(o["order"]["release"]["amount"].as_str().unwrap()),
        180_000
    );
    let open = ok(m.get("/api/v1/admin/exit-refund-tasks", &s.service).await).await;
    assert_eq!(open["items"], json!([]));
    let st = exit_standing(m, &p.isv, &p.provider).await;
    assert_eq!(st["refund_tasks"][0]["status"], "resolved", "{st}");
    assert_eq!(st["reapply_from"], "2027-07-01", "ALI waits a year");
    m.books("refund task resolved").await;
}

// ---- TC: exit refunds unfinished orders in full; re-entry is open at once ----

async fn tc_exit_refunds_in_full_and_reentry_is_open(m: &Market) {
    let s = staff(m).await;
    let p = admit(m, &s.reviewer, "owner@tengyun.example", "腾云科技").await;
    m.register("buyer@example.com", "王芳", "personal").await;
    let buyer = m.login("buyer@example.com").await;
    let (order, _) = m.buy(&buyer, &p.product, "pay-1").await;
    // An order placed and never paid is cancelled.
    let placed = json_of(
        m.post("/api/v1/orders", &buyer, json!({"product_id": p.product}))
            .await,
        201,
    )
    .await;
    let unpaid = placed["order"]["id"].as_str().unwrap().to_owned();
    let done = ok(request_exit(m, &p.isv, &p.provider, "exit-1").await).await;
    assert_eq!(done["step"]["step"], "takes_effect", "{done}");
    assert_eq!(
        done["effects"]["cancelled_orders"][0],
        unpaid.as_str(),
        "{done}"
    );
    let o = m.order(&buyer, &order).await;
    assert_eq!(o["order"]["status"], "refunded", "{o}");
    assert_eq!(o["refunded"], "1000.00");
    assert_eq!(
        m.order(&buyer, &unpaid).await["order"]["status"],
        "cancelled"
    );
    assert_eq!(
        product_status(m, &p.isv, &p.product).await,
        "delisted_by_operator"
    );
    assert_eq!(store_state(m, &p.isv, &p.store).await, "hidden");
    assert_eq!(notices(m).await[0]["code"], "exit.voluntary");
    console_is_limited(m, &p.isv, &p.provider, &p.store, &order).await;
    // TC sets no waiting period (TC 8.3).
    let member = m.login(&p.email).await;
    json_of(
        m.post(
            "/api/v1/onboarding/applications",
            &member,
            json!({"store_name": "腾云科技新店"}),
        )
        .await,
        201,
    )
    .await;
    m.books("tc exit").await;
}

on_both!(
    jd_voluntary_exit_after_30_day_closing_notice,
    "jd-2019",
    "2026-07-01T09:00:00+08:00",
    jd_voluntary_exit_after_30_day_closing_notice_on_sqlite,
    jd_voluntary_exit_after_30_day_closing_notice_on_postgres
);
on_both!(
    ali_termination_takes_effect_after_15_days_notice,
    "ali-2020",
    "2026-07-01T09:00:00+08:00",
    ali_termination_after_15_days_notice_on_sqlite,
    ali_termination_after_15_days_notice_on_postgres
);
on_both!(
    ali_term_expiry_extends_once_by_a_month_then_exits,
    "ali-2020",
    "2027-03-01T09:00:00+08:00",
    ali_term_expiry_with_one_month_extension_on_sqlite,
    ali_term_expiry_with_one_month_extension_on_postgres
);
on_both!(
    ali_exit_refunds_by_delivery_degree_with_a_task_for_a_started_service,
    "ali-2020",
    "2026-07-01T09:00:00+08:00",
    ali_exit_by_delivery_degree_refund_task_on_sqlite,
    ali_exit_by_delivery_degree_refund_task_on_postgres
);
on_both!(
    tc_exit_refunds_in_full_and_reentry_is_open,
    "tc-2017",
    "2026-07-01T09:00:00+08:00",
    tc_exit_refunds_in_full_on_sqlite,
    tc_exit_refunds_in_full_on_postgres
);
