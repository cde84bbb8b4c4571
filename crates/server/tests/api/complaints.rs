//! Complaints and support SLAs (SPEC §8; issue 4 item 2) over HTTP on the simulated clock,
//! on SQLite and (when `YUNSHI_TEST_PG` is set) PostgreSQL. A provider is admitted through
//! the onboarding API with one listed image; a buyer buys it and complains; the clock moves
//! through `POST /api/v1/admin/clock`, which fires every deadline that falls due.

use serde_json::{Value, json};

use crate::cases::{Admitted, admit};
use crate::helpers::{ADMIN_TOKEN, Market, assert_problem, json_of, ok, on_both};

struct Staff {
    reviewer: String,
    compliance: String,
    service: String,
}

async fn staff(m: &Market) -> Staff {
    let op = |roles: &[&str]| json!({"type": "operator_staff", "roles": roles});
    Staff {
        reviewer: m.staff("reviewer@yunshi.example", op(&["reviewer"])).await,
        compliance: m
            .staff("compliance@yunshi.example", op(&["compliance"]))
            .await,
        service: m
            .staff("cs@yunshi.example", op(&["customer_service"]))
            .await,
    }
}

/// Advances the simulated clock through the admin API (every due deadline fires).
pub(crate) async fn advance(m: &Market, by: &str) -> Value {
    ok(
        m.post("/api/v1/admin/clock", ADMIN_TOKEN, json!({"by": by}))
            .await,
    )
    .await
}

async fn complain(m: &Market, buyer: &str, order: &str) -> Value {
    let opened = json_of(
        m.post(
            "/api/v1/complaints",
            buyer,
            json!({"order_id": order, "reason": "not_delivered", "text": "镜像无法启动，客服不回复"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(opened["status"], "awaiting_response", "{opened}");
    opened
}

fn cid(v: &Value) -> String {
    v["complaint"]["id"].as_str().unwrap().to_owned()
}

async fn complaint(m: &Market, token: &str, id: &str) -> Value {
    ok(m.get(&format!("/api/v1/complaints/{id}"), token).await).await
}

async fn holds(m: &Market, token: &str, p: &Admitted) -> Value {
    ok(
        m.get(&format!("/api/v1/providers/{}/holds", p.provider), token)
            .await,
    )
    .await
}

/// A buyer with a paid order of the provider's image: (buyer token, order id).
pub(crate) async fn buyer_with_order(m: &Market, p: &Admitted, email: &str) -> (String, String) {
    m.register(email, "王芳", "personal").await;
    let buyer = m.login(email).await;
    let (order, _) = m.buy(&buyer, &p.product, &format!("pay-{email}")).await;
    (buyer, order)
}

// ---- ALI: complaint not answered within 30 minutes → ALI-S2 case with 3 points ----

async fn complaint_not_answered_within_30_minutes_opens_ali_s2_with_3_points(m: &Market) {
    let s = staff(m).await;
    let p = admit(m, &s.reviewer, "owner@yunfan.example", "云帆科技").await;
    let (buyer, order) = buyer_with_order(m, &p, "buyer@example.com").await;
    let opened = complain(m, &buyer, &order).await;
    let id = cid(&opened);
    assert_eq!(opened["deadline"]["window"], "response", "{opened}");
    let due: jiff::Timestamp = opened["deadline"]["due_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        due.duration_since(m.now()),
        jiff::SignedDuration::from_mins(30)
    );
    let h = holds(m, &p.isv, &p).await;
    assert_eq!(
        h["on_hold"], true,
        "an open complaint holds settlement: {h}"
    );
    assert_eq!(h["open_complaints"][0]["complaint_id"], id.as_str());

    // 29 minutes: nothing yet.
    advance(m, "29m").await;
    let c = complaint(m, &p.isv, &id).await;
    assert_eq!(c["status"], "awaiting_response", "{c}");
    assert_eq!(c["cases"], json!([]));

    // 31 minutes: the breach is recorded and ALI-S2 opened, in the same batch.
    advance(m, "2m").await;
    let c = complaint(m, &s.service, &id).await;
    assert_eq!(c["complaint"]["breaches"][0]["kind"], "no_response", "{c}");
    assert_eq!(c["complaint"]["breaches"][0]["violation"], "ALI-S2");
    let case = c["cases"][0].as_str().expect("a case").to_owned();
    let opened_case = ok(m.get(&format!("/api/v1/cases/{case}"), &p.isv).await).await;
    assert_eq!(
        opened_case["case"]["row"]["code"], "ALI-S2",
        "{opened_case}"
    );
    assert_eq!(opened_case["case"]["row"]["points"], 3);
    assert_eq!(opened_case["case"]["source"], "complaint");
    assert_eq!(
        opened_case["case"]["reference"],
        format!("complaint:{id}").as_str()
    );
    assert_eq!(opened_case["status"], "awaiting_reply");
    let h = holds(m, &s.compliance, &p).await;
    assert_eq!(h["open_cases"][0]["case"]["id"], case.as_str(), "{h}");

    // The provider answers late: the complaint goes on, the breach stays.
    let late = ok(m
        .post(
            &format!("/api/v1/complaints/{id}/messages"),
            &p.isv,
            json!({"text": "抱歉，已安排工程师处理"}),
        )
        .await)
    .await;
    assert_eq!(late["status"], "in_progress", "{late}");
    assert_eq!(late["complaint"]["breaches"].as_array().unwrap().len(), 1);

    // The provider never replies to the case: established, penalty noticed, no objection —
    // decided with 3 points in the fiscal year.
    advance(m, "10d").await;
    let decided = ok(m.get(&format!("/api/v1/cases/{case}"), &p.isv).await).await;
    assert_eq!(decided["status"], "decided", "{decided}");
    let standing = ok(m
        .get(
            &format!("/api/v1/providers/{}/standing", p.provider),
            &p.isv,
        )
        .await)
    .await;
    assert_eq!(standing["points"]["points"], 3, "{standing}");
    // The deadline fired once: one case only.
    let cases = ok(m.get("/api/v1/cases", &p.isv).await).await;
    assert_eq!(cases["items"].as_array().unwrap().len(), 1, "{cases}");
    m.books("complaint breach").await;
}

// ---- a response in time stops the window; customer service decides ----

async fn a_response_within_30_minutes_opens_no_case_and_a_decision_lifts_the_hold(m: &Market) {
    let s = staff(m).await;
    let p = admit(m, &s.reviewer, "owner@yunfan.example", "云帆科技").await;
    let (buyer, order) = buyer_with_order(m, &p, "buyer@example.com").await;
    let id = cid(&complain(m, &buyer, &order).await);
    advance(m, "10m").await;
    let answered = ok(m
        .post(
            &format!("/api/v1/complaints/{id}/messages"),
            &p.isv,
            json!({"text": "您好，正在排查"}),
        )
        .await)
    .await;
    assert_eq!(answered["status"], "in_progress", "{answered}");
    assert!(answered["deadline"].is_null(), "{answered}");
    advance(m, "1h").await;
    let c = complaint(m, &buyer, &id).await;
    assert_eq!(c["complaint"]["breaches"], json!([]), "{c}");
    assert_eq!(c["cases"], json!([]));
    let kinds: Vec<&str> = c["complaint"]["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["opened", "response"]);
    // Both sides add to the timeline.
    ok(m.post(
        &format!("/api/v1/complaints/{id}/messages"),
        &buyer,
        json!({"text": "仍无法启动"}),
    )
    .await)
    .await;
    let h = holds(m, &s.service, &p).await;
    assert_eq!(h["on_hold"], true, "{h}");
    let decided = ok(m
        .post_key(
            &format!("/api/v1/admin/complaints/{id}/decision"),
            &s.service,
            "dismiss-1",
            json!({"decision": "dismiss", "note": "服务商已在时限内响应并处理"}),
        )
        .await)
    .await;
    assert_eq!(decided["status"], "dismissed", "{decided}");
    let h = holds(m, &p.isv, &p).await;
    assert_eq!(
        h["on_hold"], false,
        "a closed complaint no longer holds: {h}"
    );
    let res = m
        .post(
            &format!("/api/v1/complaints/{id}/messages"),
            &buyer,
            json!({"text": "再补充"}),
        )
        .await;
    assert_problem(res, 409, "invalid_transition").await;
}

// ---- customer service refunds through the refund flow, or opens a case ----

async fn customer_service_refunds_through_the_refund_flow_or_opens_a_case(m: &Market) {
    let s = staff(m).await;
    let p = admit(m, &s.reviewer, "owner@yunfan.example", "云帆科技").await;
    let (buyer, order) = buyer_with_order(m, &p, "buyer@example.com").await;
    let id = cid(&complain(m, &buyer, &order).await);
    let path = format!("/api/v1/admin/complaints/{id}/decision");
    let body = json!({
        "decision": "refund", "ground": "service_quality_loss", "award": {"kind": "full"},
        "note": "服务质量问题造成损失"
    });
    let res = m.post(&path, &s.service, body.clone()).await;
    assert_problem(res, 400, "idempotency_key_required").await;
    let res = m
        .post_key(&path, &s.compliance, "refund-1", body.clone())
        .await;
    assert_problem(res, 403, "forbidden").await;
    let refunded = ok(m
        .post_key(&path, &s.service, "refund-1", body.clone())
        .await)
    .await;
    assert_eq!(refunded["status"], "refunded", "{refunded}");
    let replay = ok(m.post_key(&path, &s.service, "refund-1", body).await).await;
    assert_eq!(
        replay, refunded,
        "a replay answers the same and refunds nothing"
    );
    let o = m.order(&buyer, &order).await;
    assert_eq!(o["order"]["status"], "refunded", "{o}");
    assert_eq!(o["refunded"], "1000.00");
    m.books("complaint refund").await;

    // A second order, a second complaint: customer service opens a violation case.
    let (order2, _) = m.buy(&buyer, &p.product, "pay-2").await;
    let id2 = cid(&complain(m, &buyer, &order2).await);
    let decided = ok(m
        .post_key(
            &format!("/api/v1/admin/complaints/{id2}/decision"),
            &s.service,
            "case-1",
            json!({"decision": "open_case", "code": "ALI-S4", "note": "拒不履行已确认的服务承诺"}),
        )
        .await)
    .await;
    assert_eq!(decided["status"], "case_opened", "{decided}");
    let case = decided["cases"][0].as_str().unwrap();
    let c = ok(m.get(&format!("/api/v1/cases/{case}"), &s.compliance).await).await;
    assert_eq!(c["case"]["row"]["code"], "ALI-S4", "{c}");
    assert_eq!(c["case"]["source"], "complaint");
    // The response window of a decided complaint is cancelled: no ALI-S2 follows.
    advance(m, "1h").await;
    let c = complaint(m, &buyer, &id2).await;
    assert_eq!(c["complaint"]["breaches"], json!([]), "{c}");
}

// ---- who may do what ----

async fn only_the_buyer_complains_and_others_get_404(m: &Market) {
    let s = staff(m).await;
    let p = admit(m, &s.reviewer, "owner@yunfan.example", "云帆科技").await;
    let (buyer, order) = buyer_with_order(m, &p, "buyer@example.com").await;
    m.register("other@example.com", "李雷", "personal").await;
    let other = m.login("other@example.com").await;
    let body = json!({"order_id": order, "reason": "other", "text": "冒名投诉"});
    assert_problem(
        m.post("/api/v1/complaints", &other, body.clone()).await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        m.post("/api/v1/complaints", &p.isv, body).await,
        403,
        "forbidden",
    )
    .await;
    let res = m
        .post(
            "/api/v1/complaints",
            &buyer,
            json!({"order_id": order, "reason": "other", "text": "  "}),
        )
        .await;
    assert_problem(res, 422, "field_required").await;
    let res = m
        .post(
            "/api/v1/complaints",
            &buyer,
            json!({"order_id": order, "reason": "other", "text": "见附件",
                   "evidence": ["01930000-0000-7000-8000-00000000dead"]}),
        )
        .await;
    assert_problem(res, 422, "evidence_not_found").await;
    let id = cid(&complain(m, &buyer, &order).await);
    let path = format!("/api/v1/complaints/{id}");
    assert_problem(m.get(&path, &other).await, 404, "not_found").await;
    let msg = json!({"text": "我来插一句"});
    assert_problem(
        m.post(&format!("{path}/messages"), &other, msg.clone())
            .await,
        404,
        "not_found",
    )
    .await;
    // Operator staff see it; only customer service writes on it.
    ok(m.get(&path, &s.compliance).await).await;
    assert_problem(
        m.post(&format!("{path}/messages"), &s.compliance, msg)
            .await,
        403,
        "forbidden",
    )
    .await;
    let contact = json!({"channel": "phone", "reached": true});
    let res = m
        .post(
            &format!("/api/v1/admin/complaints/{id}/contact-attempts"),
            &s.compliance,
            contact,
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    // Only the buyer withdraws.
    let res = m
        .post(&format!("{path}/withdrawal"), &p.isv, json!({}))
        .await;
    assert_problem(res, 403, "forbidden").await;
    // Lists: the buyer its own, the provider its own, another member none.
    let mine = ok(m.get("/api/v1/complaints", &buyer).await).await;
    assert_eq!(mine["items"][0]["complaint"]["id"], id.as_str(), "{mine}");
    let theirs = ok(m.get("/api/v1/complaints", &p.isv).await).await;
    assert_eq!(theirs["items"].as_array().unwrap().len(), 1, "{theirs}");
    let none = ok(m.get("/api/v1/complaints", &other).await).await;
    assert_eq!(none["items"], json!([]), "{none}");
    assert_problem(
        m.get(&format!("/api/v1/providers/{}/holds", p.provider), &other)
            .await,
        404,
        "not_found",
    )
    .await;
    let withdrawn = ok(m
        .post(
            &format!("{path}/withdrawal"),
            &buyer,
            json!({"note": "已解决"}),
        )
        .await)
    .await;
    assert_eq!(withdrawn["status"], "withdrawn", "{withdrawn}");
    // Withdrawn before the window ended: no breach follows.
    advance(m, "1h").await;
    assert_eq!(complaint(m, &buyer, &id).await["cases"], json!([]));
}

// ---- TC: unreachable provider (annex S10) ----

async fn tc_unreachable_provider_opens_tc_s10(m: &Market) {
    let s = staff(m).await;
    let p = admit(m, &s.reviewer, "owner@yunfan.example", "云帆科技").await;
    let (buyer, order) = buyer_with_order(m, &p, "buyer@example.com").await;
    // TC sets no 30-minute window.
    let first = complain(m, &buyer, &order).await;
    assert!(first["deadline"].is_null(), "{first}");
    let first = cid(&first);
    let contact = |id: &str| format!("/api/v1/admin/complaints/{id}/contact-attempts");
    // Three failed operator contacts in a row → TC-S10 at once.
    for n in 1..=3 {
        let c = ok(m
            .post(
                &contact(&first),
                &s.service,
                json!({"channel": "phone", "reached": false}),
            )
            .await)
        .await;
        assert_eq!(
            c["cases"].as_array().unwrap().len(),
            usize::from(n == 3),
            "{c}"
        );
    }
    let c = complaint(m, &s.service, &first).await;
    assert_eq!(
        c["complaint"]["breaches"][0]["kind"], "failed_contacts",
        "{c}"
    );
    let case = c["cases"][0].as_str().unwrap();
    let opened = ok(m.get(&format!("/api/v1/cases/{case}"), &p.isv).await).await;
    assert_eq!(opened["case"]["row"]["code"], "TC-S10", "{opened}");

    // 48 hours after a failed contact without an answer → TC-S10.
    let (order2, _) = m.buy(&buyer, &p.product, "pay-2").await;
    let second = cid(&complain(m, &buyer, &order2).await);
    let c = ok(m
        .post(
            &contact(&second),
            &s.service,
            json!({"channel": "email", "reached": false}),
        )
        .await)
    .await;
    assert_eq!(c["deadline"]["window"], "unreachable", "{c}");
    advance(m, "47h").await;
    assert_eq!(complaint(m, &s.service, &second).await["cases"], json!([]));
    advance(m, "2h").await;
    let c = complaint(m, &s.service, &second).await;
    assert_eq!(
        c["complaint"]["breaches"][0]["kind"], "unreachable_after_contact",
        "{c}"
    );
    assert_eq!(c["cases"].as_array().unwrap().len(), 1);

    // A provider that answers in between is not unreachable.
    let buyer = m.login("buyer@example.com").await;
    let (order3, _) = m.buy(&buyer, &p.product, "pay-3").await;
    let third = cid(&complain(m, &buyer, &order3).await);
    ok(m.post(
        &contact(&third),
        &s.service,
        json!({"channel": "phone", "reached": false}),
    )
    .await)
    .await;
    ok(m.post(
        &format!("/api/v1/complaints/{third}/messages"),
        &p.isv,
        json!({"text": "已回电客户"}),
    )
    .await)
    .await;
    advance(m, "49h").await;
    assert_eq!(complaint(m, &s.service, &third).await["cases"], json!([]));

    // 72 hours by the buyer's evidence: passed already → at once; not yet → when due.
    let buyer = m.login("buyer@example.com").await;
    let report = |since: jiff::Timestamp| json!({"since": since.to_string(), "text": "电话邮件均无人回复，见截图"});
    let (order4, _) = m.buy(&buyer, &p.product, "pay-4").await;
    let fourth = cid(&complain(m, &buyer, &order4).await);
    let path = format!("/api/v1/complaints/{fourth}/unreachable-evidence");
    let future = m.now() + jiff::SignedDuration::from_hours(1);
    assert_problem(
        m.post(&path, &buyer, report(future)).await,
        422,
        "since_in_future",
    )
    .await;
    assert_problem(
        m.post(&path, &p.isv, report(m.now())).await,
        403,
        "forbidden",
    )
    .await;
    let long_ago = m.now() - jiff::SignedDuration::from_hours(73);
    let c = ok(m.post(&path, &buyer, report(long_ago)).await).await;
    assert_eq!(
        c["complaint"]["breaches"][0]["kind"], "unreachable_by_buyer_evidence",
        "{c}"
    );
    assert_eq!(c["cases"].as_array().unwrap().len(), 1);
    let (order5, _) = m.buy(&buyer, &p.product, "pay-5").await;
    let fifth = cid(&complain(m, &buyer, &order5).await);
    let recent = m.now() - jiff::SignedDuration::from_hours(10);
    let c = ok(m
        .post(
            &format!("/api/v1/complaints/{fifth}/unreachable-evidence"),
            &buyer,
            report(recent),
        )
        .await)
    .await;
    assert_eq!(c["cases"], json!([]), "{c}");
    assert_eq!(c["deadline"]["window"], "unreachable");
    advance(m, "63h").await;
    let c = complaint(m, &s.service, &fifth).await;
    assert_eq!(c["cases"].as_array().unwrap().len(), 1, "{c}");
}

on_both!(
    complaint_not_answered_within_30_minutes_opens_ali_s2_with_3_points,
    "ali-2020",
    "2026-07-01T09:00:00+08:00",
    complaint_not_answered_within_30_minutes_opens_ali_s2_with_3_points_on_sqlite,
    complaint_not_answered_within_30_minutes_opens_ali_s2_with_3_points_on_postgres
);
on_both!(
    a_response_within_30_minutes_opens_no_case_and_a_decision_lifts_the_hold,
    "ali-2020",
    "2026-07-01T09:00:00+08:00",
    response_in_time_opens_no_case_and_decision_lifts_hold_on_sqlite,
    response_in_time_opens_no_case_and_decision_lifts_hold_on_postgres
);
on_both!(
    customer_service_refunds_through_the_refund_flow_or_opens_a_case,
    "ali-2020",
    "2026-07-01T09:00:00+08:00",
    complaint_refund_or_case_decisions_on_sqlite,
    complaint_refund_or_case_decisions_on_postgres
);
on_both!(
    only_the_buyer_complains_and_others_get_404,
    "ali-2020",
    "2026-07-01T09:00:00+08:00",
    complaint_roles_and_isolation_on_sqlite,
    complaint_roles_and_isolation_on_postgres
);
on_both!(
    tc_unreachable_provider_opens_tc_s10,
    "tc-2017",
    "2026-07-01T09:00:00+08:00",
    tc_unreachable_48_hours_or_3_failed_contacts_open_tc_s10_on_sqlite,
    tc_unreachable_48_hours_or_3_failed_contacts_open_tc_s10_on_postgres
);

#[tokio::test]
async fn complaint_endpoints_are_documented_with_examples() {
    let server = crate::helpers::TestServer::start().await;
    let doc: Value = server
        .get("/api/v1/openapi.json")
        .await
        .json()
        .await
        .unwrap();
    for path in [
        "/api/v1/complaints",
        "/api/v1/complaints/{id}",
        "/api/v1/complaints/{id}/messages",
        "/api/v1/complaints/{id}/withdrawal",
        "/api/v1/complaints/{id}/unreachable-evidence",
        "/api/v1/admin/complaints/{id}/decision",
        "/api/v1/admin/complaints/{id}/contact-attempts",
        "/api/v1/providers/{id}/holds",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} not documented");
    }
    let schemas = &doc["components"]["schemas"];
    for schema in [
        "OpenComplaintRequest",
        "DecisionRequest",
        "ComplaintView",
        "HoldsView",
    ] {
        assert!(
            schemas[schema]["example"].is_object(),
            "{schema} has no example: {}",
            schemas[schema]
        );
    }
    server.stop().await;
}
