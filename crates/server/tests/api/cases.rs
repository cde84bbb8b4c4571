//! Violation cases and penalties (SPEC §9; issue 4 item 3) over HTTP on the simulated clock,
//! on SQLite and (when `YUNSHI_TEST_PG` is set) PostgreSQL. Each scenario admits a provider
//! through the onboarding API (with one listed product), then compliance staff open cases and
//! the deadlines fire through the test-only `/test/fire-due` route of the marketplace harness.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::helpers::{Market, assert_problem, fen, json_of, ok};
use crate::journey::{PDF, PNG, content, status_of};

/// A provider admitted through the API, with one listed product.
pub(crate) struct Admitted {
    pub(crate) email: String,
    pub(crate) provider: String,
    /// An API token of the provider's owner (sessions last 12 simulated hours; the
    /// scenarios span months).
    pub(crate) isv: String,
    pub(crate) store: String,
    pub(crate) product: String,
}

pub(crate) struct Gov {
    pub(crate) compliance: String,
    pub(crate) reviewer: String,
}

pub(crate) async fn staff(m: &Market) -> Gov {
    let compliance = m
        .staff(
            "compliance@yunshi.example",
            json!({"type": "operator_staff", "roles": ["compliance"]}),
        )
        .await;
    let reviewer = m
        .staff(
            "reviewer@yunshi.example",
            json!({"type": "operator_staff", "roles": ["reviewer"]}),
        )
        .await;
    Gov {
        compliance,
        reviewer,
    }
}

/// A provider admitted through the API (onboarding reviewed by `reviewer`) with one listed
/// image; shared with tests/api/complaints.rs.
pub(crate) async fn admit(m: &Market, reviewer: &str, email: &str, name: &str) -> Admitted {
    m.register(email, name, "enterprise").await;
    let isv = m.login(email).await;
    let app = json_of(
        m.post(
            "/api/v1/onboarding/applications",
            &isv,
            json!({"store_name": format!("{name}官方店")}),
        )
        .await,
        201,
    )
    .await;
    let app_id = app["application"]["id"].as_str().unwrap().to_owned();
    let provider = app["application"]["provider"].as_str().unwrap().to_owned();
    let missing: Vec<String> = serde_json::from_value(app["missing_materials"].clone()).unwrap();
    for kind in &missing {
        let (ct, bytes) = if kind == "legal_representative_id" {
            ("image/png", PNG)
        } else {
            ("application/pdf", PDF)
        };
        m.upload(&app_id, &isv, kind, ct, bytes.to_vec()).await;
    }
    let step = |s: &str| format!("/api/v1/onboarding/applications/{app_id}/{s}");
    let admin = |s: &str| format!("/api/v1/admin/onboarding/applications/{app_id}/{s}");
    ok(m.post(&step("submit"), &isv, json!({})).await).await;
    ok(m.post(&admin("review"), reviewer, json!({})).await).await;
    // Every rulebook requires a verification of some kind before approval.
    ok(m.post(
        &admin("verification"),
        reviewer,
        json!({"decision": "verified"}),
    )
    .await)
    .await;
    let approved = ok(m
        .post(&admin("approve"), reviewer, json!({"partner_member": true}))
        .await)
    .await;
    assert_eq!(status_of(&approved), "approved", "{approved}");
    let agreement = ok(m.public_get("/api/v1/onboarding/agreement").await).await;
    let accepted = ok(m
        .post(
            &step("agreement"),
            &isv,
            json!({"agreement_id": agreement["id"]}),
        )
        .await)
    .await;
    let deposit = accepted["deposit_outstanding"].as_str().unwrap().to_owned();
    let paid = json_of(
        m.post_key(
            &step("deposit-payments"),
            &isv,
            &format!("deposit-{email}"),
            json!({"amount": deposit}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(paid["provider_status"], "active", "{paid}");
    let store = paid["store"]["store"]["id"].as_str().unwrap().to_owned();
    let created = json_of(
        m.post(
            "/api/v1/products",
            &isv,
            json!({
                "store": store, "category": "image", "sales_mode": "self_sold",
                "pricing": "one_off", "price": "1000.00", "refund_policy": "no_refund",
                "content": content("云数据备份镜像", "稳定可靠的数据备份方案。")
            }),
        )
        .await,
        201,
    )
    .await;
    let product = created["id"].as_str().unwrap().to_owned();
    ok(m.post(
        &format!("/api/v1/products/{product}/submit"),
        &isv,
        json!({}),
    )
    .await)
    .await;
    let listed = ok(m
        .post(
            &format!("/api/v1/review/listings/{product}/approve"),
            reviewer,
            json!({"acknowledged": []}),
        )
        .await)
    .await;
    assert_eq!(listed["status"], "listed", "{listed}");
    let isv = m
        .staff(
            &format!("ops.{email}"),
            json!({"type": "provider_staff", "provider_id": provider, "role": "owner"}),
        )
        .await;
    Admitted {
        email: email.to_owned(),
        provider,
        isv,
        store,
        product,
    }
}

pub(crate) async fn open_case(
    m: &Market,
    g: &Gov,
    p: &Admitted,
    code: &str,
    act_on: &str,
) -> Value {
    let opened = json_of(
        m.post(
            "/api/v1/admin/cases",
            &g.compliance,
            json!({
                "provider_id": p.provider, "code": code, "act_on": act_on,
                "source": "spot_check", "summary": format!("抽查发现 {code}"),
            }),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(opened["status"], "awaiting_reply", "{opened}");
    assert_eq!(opened["deadline"]["window"], "reply");
    opened
}

pub(crate) fn id(v: &Value) -> String {
    v["case"]["id"].as_str().unwrap().to_owned()
}

/// Opened, established directly by compliance, accepted by the provider: decided now.
pub(crate) async fn decide_now(
    m: &Market,
    g: &Gov,
    p: &Admitted,
    code: &str,
    act_on: &str,
) -> Value {
    let case = id(&open_case(m, g, p, code, act_on).await);
    let found = ok(m
        .post(
            &format!("/api/v1/admin/cases/{case}/finding"),
            &g.compliance,
            json!({"established": true, "reason": "事实清楚，证据确凿"}),
        )
        .await)
    .await;
    assert_eq!(found["status"], "penalty_noticed", "{found}");
    assert_eq!(found["deadline"]["window"], "objection");
    let decided = ok(m
        .post(&format!("/api/v1/cases/{case}/accept"), &p.isv, json!({}))
        .await)
    .await;
    assert_eq!(decided["status"], "decided", "{decided}");
    decided
}

/// A case about `p`'s product, opened by a detector, established and accepted: decided now.
/// Returns its id.
async fn decide_on_product(
    m: &Market,
    g: &Gov,
    p: &Admitted,
    code: &str,
    act_on: &str,
    summary: &str,
) -> String {
    let opened = json_of(
        m.post(
            "/api/v1/admin/cases",
            &g.compliance,
            json!({
                "provider_id": p.provider, "code": code, "act_on": act_on,
                "source": "detector", "summary": summary, "product_id": p.product,
            }),
        )
        .await,
        201,
    )
    .await;
    let case = id(&opened);
    ok(m.post(
        &format!("/api/v1/admin/cases/{case}/finding"),
        &g.compliance,
        json!({"established": true, "reason": "检测命中"}),
    )
    .await)
    .await;
    let decided = ok(m
        .post(&format!("/api/v1/cases/{case}/accept"), &p.isv, json!({}))
        .await)
    .await;
    assert_eq!(decided["status"], "decided", "{decided}");
    case
}

pub(crate) async fn standing(m: &Market, token: &str, p: &Admitted) -> Value {
    ok(
        m.get(&format!("/api/v1/providers/{}/standing", p.provider), token)
            .await,
    )
    .await
}

pub(crate) fn store_state(standing: &Value) -> String {
    standing["stores"][0]["state"]["state"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Advances the clock to `to` and fires what is due.
pub(crate) async fn at(m: &Market, to: &str) {
    let to: Timestamp = to.parse().unwrap();
    let by = to.duration_since(m.now());
    assert!(by >= SignedDuration::ZERO, "the clock is already past {to}");
    m.advance(by);
    m.fire_due().await;
}

async fn reapply_refused(m: &Market, p: &Admitted, code: &str) {
    let member = m.login(&p.email).await;
    let res = m
        .post(
            "/api/v1/onboarding/applications",
            &member,
            json!({"store_name": "再来一次"}),
        )
        .await;
    assert_problem(res, 403, code).await;
}

// ---- ALI: two 12-point violations in one fiscal year ----

async fn ali_two_twelve_point_violations_in_one_fiscal_year_expel(m: &Market) {
    let g = staff(m).await;
    let p = admit(m, &g.reviewer, "owner@yunfan.example", "云帆科技").await;
    let required = fen(standing(m, &g.compliance, &p).await["deposit"]["held"]
        .as_str()
        .unwrap());
    m.register("buyer@example.com", "王芳", "personal").await;

    // 1. ALI-B1 (12 points, freeze 15 d, 5,000): decided on the day.
    let first = decide_now(m, &g, &p, "ALI-B1", "2026-07-01").await;
    assert_eq!(
        first["case"]["applied"]["plan"]["year_total"], 12,
        "{first}"
    );
    let s = standing(m, &p.isv, &p).await;
    assert_eq!(s["points"]["points"], 12, "{s}");
    assert_eq!(s["points"]["year_start"], "2026-04-01");
    assert_eq!(s["points"]["year_end"], "2027-03-31");
    assert_eq!(store_state(&s), "frozen", "{s}");
    assert_eq!(
        fen(s["deposit"]["held"].as_str().unwrap()),
        required - 500_000
    );
    m.books("first violation").await;

    // 2. ALI-S1 (12 points) months later, same fiscal year; the provider stays silent: the
    //    reply window and then the objection window run out, and the decision expels.
    at(m, "2026-09-01T10:00:00+08:00").await;
    let s = standing(m, &p.isv, &p).await;
    assert_eq!(store_state(&s), "open", "the freeze was lifted: {s}");
    let second = id(&open_case(m, &g, &p, "ALI-S1", "2026-08-28").await);
    at(m, "2026-09-05T00:00:00+08:00").await; // Tue 1 + 3 working days → end of Fri 4
    let c = ok(m.get(&format!("/api/v1/cases/{second}"), &p.isv).await).await;
    assert_eq!(c["status"], "penalty_noticed", "{c}");
    assert_eq!(c["case"]["finding"]["automatic"], true);
    // A buyer's order still held (inside its window) when the decision falls: unfinished.
    at(m, "2026-09-08T10:00:00+08:00").await;
    let buyer = m.login("buyer@example.com").await;
    let (order, _) = m.buy(&buyer, &p.product, "pay-1").await;
    at(m, "2026-09-10T00:00:00+08:00").await;
    let c = ok(m.get(&format!("/api/v1/cases/{second}"), &p.isv).await).await;
    assert_eq!(c["status"], "decided", "{c}");
    let plan = &c["case"]["applied"]["plan"];
    assert_eq!(plan["year_total"], 24, "{c}");
    assert_eq!(plan["threshold_reached"], true);
    assert_eq!(plan["expel"], true);

    // Expelled: deposit fully forfeited, store closed, product delisted, the held order
    // refunded in the decision's batch (an image inside its window: ALI's refund by delivery
    // degree gives it all back, SPEC §13), re-application refused forever.
    let s = standing(m, &g.compliance, &p).await;
    assert_eq!(s["provider_status"], "expelled", "{s}");
    assert_eq!(s["deposit"]["held"], "0.00", "{s}");
    assert_eq!(store_state(&s), "closed", "{s}");
    let product = ok(m
        .get(&format!("/api/v1/products/{}", p.product), &p.isv)
        .await)
    .await;
    assert_eq!(product["status"], "delisted_by_operator", "{product}");
    let exit = &c["case"]["applied"]["exit"];
    assert_eq!(exit["refunded_orders"], json!([order]), "{c}");
    assert_eq!(exit["refund_tasks"], json!([]), "{c}");
    let refunded = m.order(&p.isv, &order).await;
    assert_eq!(refunded["order"]["status"], "refunded", "{refunded}");
    assert_eq!(refunded["refunded"], "1000.00");
    assert_eq!(refunded["order"]["refunds"][0]["basis"], "provider_exit");
    reapply_refused(m, &p, "reentry_forbidden").await;
    // Two decisions and the exit announcement.
    let notices = ok(m.public_get("/api/v1/notices").await).await;
    let items = notices["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{notices}");
    assert_eq!(items[2]["code"], "exit.expulsion", "{notices}");
    m.books("expelled").await;
    let _ = &p.store;
}

// ---- ALI: the fiscal year resets at 31 March 24:00 ----

async fn ali_points_reset_at_31_march_24_00(m: &Market) {
    let g = staff(m).await;
    let p = admit(m, &g.reviewer, "owner@yunfan.example", "云帆科技").await;
    decide_now(m, &g, &p, "ALI-B1", "2027-03-20").await;
    at(m, "2027-04-02T10:00:00+08:00").await;
    let s = standing(m, &p.isv, &p).await;
    assert_eq!(s["points"]["points"], 0, "a new fiscal year: {s}");
    assert_eq!(s["points"]["year_start"], "2027-04-01");
    let second = decide_now(m, &g, &p, "ALI-S1", "2027-04-02").await;
    assert_eq!(second["case"]["applied"]["plan"]["year_total"], 12);
    assert_eq!(second["case"]["applied"]["plan"]["expel"], false);
    let s = standing(m, &p.isv, &p).await;
    assert_eq!(s["provider_status"], "active", "{s}");
    assert_eq!(s["points"]["points"], 12);
}

/// ALI-R art.25: a case handled across the boundary — act on 30 March, decided in April —
/// books its points in the new fiscal year, where they add up with April's.
async fn ali_case_handled_across_31_march_books_in_the_new_fiscal_year(m: &Market) {
    let g = staff(m).await;
    let p = admit(m, &g.reviewer, "owner@yunfan.example", "云帆科技").await;
    let first = id(&open_case(m, &g, &p, "ALI-B1", "2027-03-30").await);
    at(m, "2027-04-03T00:00:00+08:00").await; // 31 Mar, 1 and 2 Apr: three working days
    at(m, "2027-04-15T10:00:00+08:00").await; // the objection window ran out meanwhile
    let c = ok(m.get(&format!("/api/v1/cases/{first}"), &p.isv).await).await;
    assert_eq!(c["status"], "decided", "{c}");
    let points = &c["case"]["applied"]["plan"]["points"];
    assert_eq!(points["year_start"], "2027-04-01", "{c}");
    let second = decide_now(m, &g, &p, "ALI-S1", "2027-04-15").await;
    assert_eq!(
        second["case"]["applied"]["plan"]["year_total"], 24,
        "{second}"
    );
    assert_eq!(second["case"]["applied"]["plan"]["expel"], true);
    let s = standing(m, &g.compliance, &p).await;
    assert_eq!(s["provider_status"], "expelled", "{s}");
}

// ---- JD: points reset at 31 December ----

async fn jd_points_reset_at_31_december(m: &Market) {
    let g = staff(m).await;
    let p = admit(m, &g.reviewer, "owner@yunfan.example", "云帆科技").await;
    decide_now(m, &g, &p, "JD-B1", "2026-12-20").await;
    let s = standing(m, &p.isv, &p).await;
    assert_eq!(s["points"]["year_start"], "2026-01-01", "{s}");
    assert_eq!(s["points"]["points"], 12);
    // JD's freeze hides products only, not the store.
    at(m, "2027-01-02T10:00:00+08:00").await;
    let second = decide_now(m, &g, &p, "JD-S1", "2027-01-02").await;
    assert_eq!(
        second["case"]["applied"]["plan"]["year_total"], 12,
        "{second}"
    );
    let s = standing(m, &p.isv, &p).await;
    assert_eq!(s["provider_status"], "active", "{s}");
    assert_eq!(s["points"]["year_start"], "2027-01-01");
    // A second 12 points in the same calendar year reach 24: expelled, products delisted.
    at(m, "2027-02-20T10:00:00+08:00").await;
    let third = decide_now(m, &g, &p, "JD-H2", "2027-02-19").await;
    assert_eq!(
        third["case"]["applied"]["plan"]["year_total"], 24,
        "{third}"
    );
    let s = standing(m, &g.compliance, &p).await;
    assert_eq!(s["provider_status"], "expelled", "{s}");
    assert_eq!(s["deposit"]["held"], "0.00", "JD forfeits the deposit: {s}");
    let product = ok(m
        .get(&format!("/api/v1/products/{}", p.product), &p.isv)
        .await)
    .await;
    assert_eq!(product["status"], "delisted_by_operator", "{product}");
}

// ---- TC ----

async fn tc_off_platform_trade_expels_deducts_5000_and_bans_for_good(m: &Market) {
    let g = staff(m).await;
    let p = admit(m, &g.reviewer, "owner@yunfan.example", "云帆科技").await;
    let before = fen(standing(m, &g.compliance, &p).await["deposit"]["held"]
        .as_str()
        .unwrap());
    let decided = decide_now(m, &g, &p, "TC-S1", "2026-07-01").await;
    let plan = &decided["case"]["applied"]["plan"];
    assert_eq!(plan["expel"], true, "{decided}");
    assert_eq!(plan["ban"], true);
    assert_eq!(plan["deposit_deducted"], "5000.00");
    let s = standing(m, &g.compliance, &p).await;
    assert_eq!(s["provider_status"], "banned", "{s}");
    assert_eq!(
        fen(s["deposit"]["held"].as_str().unwrap()),
        before - 500_000
    );
    assert_eq!(store_state(&s), "closed");
    assert!(s["points"].is_null(), "TC has no points: {s}");
    reapply_refused(m, &p, "account_banned").await;
    m.books("TC expelled").await;
}

async fn tc_fake_transactions_block_for_15_days_lifted_on_day_16(m: &Market) {
    let g = staff(m).await;
    let p = admit(m, &g.reviewer, "owner@yunfan.example", "云帆科技").await;
    at(m, "2026-07-06T10:00:00+08:00").await;
    decide_now(m, &g, &p, "TC-S4", "2026-07-03").await;
    let s = standing(m, &p.isv, &p).await;
    assert_eq!(store_state(&s), "blocked", "{s}");
    assert_eq!(s["stores"][0]["visibility"]["may_publish"], false);
    // Day 15 (07-20) still blocked; day 16 (07-21, 10:00) lifted by its stored deadline.
    at(m, "2026-07-21T09:59:00+08:00").await;
    assert_eq!(store_state(&standing(m, &p.isv, &p).await), "blocked");
    at(m, "2026-07-21T10:01:00+08:00").await;
    let s = standing(m, &p.isv, &p).await;
    assert_eq!(store_state(&s), "open", "{s}");
    assert_eq!(s["stores"][0]["visibility"]["may_publish"], true);
    assert_eq!(s["provider_status"], "active");

    // TC-G1 (spam ads) on the product: the information hidden and the product delisted;
    // the store stays open.
    decide_on_product(m, &g, &p, "TC-G1", "2026-07-21", "商品详情含垃圾广告").await;
    let product = ok(m
        .get(&format!("/api/v1/products/{}", p.product), &p.isv)
        .await)
    .await;
    assert_eq!(product["status"], "delisted_by_operator", "{product}");
    assert_eq!(store_state(&standing(m, &p.isv, &p).await), "open");
}

// ---- the reply window across the National Day holiday ----

async fn no_reply_in_3_working_days_across_national_day_is_established_on_10_october(m: &Market) {
    let g = staff(m).await;
    let p = admit(m, &g.reviewer, "owner@yunfan.example", "云帆科技").await;
    // Notice on Wednesday 30 September: 1–7 October are holidays, 8 and 9 October are
    // working days and Saturday 10 October is an adjusted working day (调休): the third.
    let case = id(&open_case(m, &g, &p, "ALI-S4", "2026-09-29").await);
    let c = ok(m.get(&format!("/api/v1/cases/{case}"), &p.isv).await).await;
    assert_eq!(c["deadline"]["due_at"], "2026-10-10T16:00:00Z", "{c}");
    at(m, "2026-10-10T23:59:00+08:00").await;
    let c = ok(m.get(&format!("/api/v1/cases/{case}"), &p.isv).await).await;
    assert_eq!(c["status"], "awaiting_reply", "still on 10 October: {c}");
    at(m, "2026-10-11T00:00:00+08:00").await;
    let c = ok(m.get(&format!("/api/v1/cases/{case}"), &p.isv).await).await;
    assert_eq!(c["status"], "penalty_noticed", "{c}");
    assert_eq!(c["case"]["finding"]["established"], true);
    assert_eq!(c["case"]["finding"]["at"], "2026-10-10T16:00:00Z");
    // A reply now is too late.
    let late = m
        .post(
            &format!("/api/v1/cases/{case}/reply"),
            &p.isv,
            json!({"text": "迟到的回复"}),
        )
        .await;
    assert_problem(late, 409, "invalid_transition").await;
}

// ---- who may do what ----

async fn only_compliance_decides_and_only_the_provider_replies_on_its_own_cases(m: &Market) {
    let g = staff(m).await;
    let p = admit(m, &g.reviewer, "owner@yunfan.example", "云帆科技").await;
    let other = admit(m, &g.reviewer, "owner@other.example", "别家科技").await;
    let case = id(&open_case(m, &g, &p, "ALI-S2", "2026-07-01").await);
    // Another provider: 404 for the case and the standing.
    let res = m.get(&format!("/api/v1/cases/{case}"), &other.isv).await;
    assert_problem(res, 404, "not_found").await;
    let res = m
        .get(
            &format!("/api/v1/providers/{}/standing", p.provider),
            &other.isv,
        )
        .await;
    assert_problem(res, 404, "not_found").await;
    let res = m
        .post(
            &format!("/api/v1/cases/{case}/reply"),
            &other.isv,
            json!({"text": "x"}),
        )
        .await;
    assert_problem(res, 404, "not_found").await;
    // The provider cannot open cases or make findings; the reviewer cannot either.
    for token in [&p.isv, &g.reviewer] {
        let res = m
            .post(
                &format!("/api/v1/admin/cases/{case}/finding"),
                token,
                json!({"established": false, "reason": "x"}),
            )
            .await;
        assert_eq!(res.status(), 403);
    }
    // Compliance does not reply for the provider.
    let res = m
        .post(
            &format!("/api/v1/cases/{case}/reply"),
            &g.compliance,
            json!({"text": "x"}),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    // A code the rulebook in force on the day of the act does not have.
    let res = m
        .post(
            "/api/v1/admin/cases",
            &g.compliance,
            json!({"provider_id": p.provider, "code": "TC-S1", "act_on": "2026-07-01",
                   "source": "complaint", "summary": "x"}),
        )
        .await;
    assert_problem(res, 422, "unknown_violation_code").await;
    // A reply without proof establishes at once; dismissal path after a proven reply is
    // covered in the core. Stacking a measure the rulebook lacks is refused.
    let replied = ok(m
        .post(
            &format!("/api/v1/cases/{case}/reply"),
            &p.isv,
            json!({"text": "我们已在 30 分钟内回复"}),
        )
        .await)
    .await;
    assert_eq!(replied["status"], "penalty_noticed", "{replied}");
    let res = m
        .post(
            &format!("/api/v1/cases/{case}/objection"),
            &p.isv,
            json!({"grounds": "首次违规，请求减轻"}),
        )
        .await;
    assert_eq!(ok(res).await["status"], "objected");
    let decided = ok(m
        .post(
            &format!("/api/v1/admin/cases/{case}/objection-decision"),
            &g.compliance,
            json!({"objection_upheld": false, "note": "维持原处罚"}),
        )
        .await)
    .await;
    assert_eq!(decided["status"], "decided");
    let measures = format!("/api/v1/admin/cases/{case}/measures");
    let res = m
        .post_key(
            &measures,
            &g.compliance,
            "m-0",
            json!({"measure": "account_ban", "reason": "x"}),
        )
        .await;
    assert_problem(res, 422, "measure_not_allowed").await;
    let stacked = ok(m
        .post_key(
            &measures,
            &g.compliance,
            "m-1",
            json!({"measure": "lower_display_rank", "reason": "屡次怠于响应投诉"}),
        )
        .await)
    .await;
    assert_eq!(
        stacked["case"]["stacked"][0]["measure"],
        "lower_display_rank"
    );
    // An extra deposit (ALI-R art.24(5)): required at once, a top-up falls due.
    let res = m
        .post_key(
            &measures,
            &g.compliance,
            "m-2",
            json!({"measure": "extra_deposit", "reason": "再犯"}),
        )
        .await;
    assert_problem(res, 422, "field_required").await;
    let extra = json!({"measure": "extra_deposit", "amount": "10000.00", "reason": "再犯"});
    let stacked = ok(m
        .post_key(&measures, &g.compliance, "m-3", extra.clone())
        .await)
    .await;
    assert_eq!(stacked["case"]["stacked"][1]["amount"], "10000.00");
    let again = ok(m.post_key(&measures, &g.compliance, "m-3", extra).await).await;
    assert_eq!(again, stacked, "a replay stacks nothing again");
    let deposit = ok(m
        .get(&format!("/api/v1/providers/{}/deposit", p.provider), &p.isv)
        .await)
    .await;
    assert_eq!(deposit["required"], "20000.00", "{deposit}");
    assert_eq!(deposit["status"], "top_up_due");
    // Evidence must be an uploaded file.
    let second = id(&open_case(m, &g, &p, "ALI-U1", "2026-07-01").await);
    let res = m
        .post(
            &format!("/api/v1/cases/{second}/reply"),
            &p.isv,
            json!({"text": "见附件", "evidence": ["01930000-0000-7000-8000-00000000dead"]}),
        )
        .await;
    assert_problem(res, 422, "evidence_not_found").await;
    // An objection upheld revokes the penalty: nothing is booked or published.
    ok(m.post(
        &format!("/api/v1/admin/cases/{second}/finding"),
        &g.compliance,
        json!({"established": true, "reason": "订单数据异常"}),
    )
    .await)
    .await;
    ok(m.post(
        &format!("/api/v1/cases/{second}/objection"),
        &p.isv,
        json!({"grounds": "订单均为真实采购，附合同"}),
    )
    .await)
    .await;
    let revoked = ok(m
        .post(
            &format!("/api/v1/admin/cases/{second}/objection-decision"),
            &g.compliance,
            json!({"objection_upheld": true, "note": "异议成立"}),
        )
        .await)
    .await;
    assert_eq!(revoked["status"], "penalty_revoked", "{revoked}");
    assert!(revoked["case"]["applied"].is_null());
    let s = standing(m, &p.isv, &p).await;
    assert_eq!(s["points"]["points"], 3, "only ALI-S2's 3 points: {s}");
    assert_eq!(s["open_cases"], json!([]));
    // The public notice list needs no token.
    let notices = ok(m.public_get("/api/v1/notices").await).await;
    assert_eq!(notices["items"][0]["code"], "ALI-S2", "{notices}");
    assert_eq!(notices["items"].as_array().unwrap().len(), 1, "{notices}");
}

/// TC 7.2 measures stacked on a decided case act at once: a deposit deduction (a top-up falls
/// due), the store hidden, the case's product deleted from sale.
async fn tc_stacked_measures_deduct_hide_and_delete(m: &Market) {
    let g = staff(m).await;
    let p = admit(m, &g.reviewer, "owner@yunfan.example", "云帆科技").await;
    let case = decide_on_product(m, &g, &p, "TC-S4", "2026-07-01", "刷单返现").await;
    let measures = format!("/api/v1/admin/cases/{case}/measures");
    let stack = |key: &'static str, body: Value| {
        let (measures, token) = (measures.clone(), g.compliance.clone());
        async move { ok(m.post_key(&measures, &token, key, body).await).await }
    };
    stack(
        "s-1",
        json!({"measure": "deposit_deduction", "amount": "2000.00", "reason": "情节严重"}),
    )
    .await;
    let deposit = ok(m
        .get(&format!("/api/v1/providers/{}/deposit", p.provider), &p.isv)
        .await)
    .await;
    assert_eq!(deposit["held"], "8000.00", "{deposit}");
    assert_eq!(deposit["deductions"][0]["amount"], "2000.00");
    assert_eq!(deposit["status"], "top_up_due");
    stack("s-2", json!({"measure": "hide", "reason": "情节严重"})).await;
    assert_eq!(store_state(&standing(m, &p.isv, &p).await), "hidden");
    stack("s-3", json!({"measure": "delete", "reason": "情节严重"})).await;
    let product = ok(m
        .get(&format!("/api/v1/products/{}", p.product), &p.isv)
        .await)
    .await;
    assert_eq!(product["status"], "delisted_by_operator", "{product}");
    m.books("TC stacked measures").await;
}

// Re-exported: the scenario files built on cases.rs import it from here.
pub(crate) use crate::helpers::on_both;

on_both!(
    ali_two_twelve_point_violations_in_one_fiscal_year_expel,
    "ali-2020",
    "2026-07-01T09:00:00+08:00",
    ali_two_12_point_violations_in_one_fiscal_year_expel_on_sqlite,
    ali_two_12_point_violations_in_one_fiscal_year_expel_on_postgres
);
on_both!(
    ali_points_reset_at_31_march_24_00,
    "ali-2020",
    "2027-03-20T09:00:00+08:00",
    ali_acts_on_20_march_and_2_april_do_not_expel_on_sqlite,
    ali_acts_on_20_march_and_2_april_do_not_expel_on_postgres
);
on_both!(
    ali_case_handled_across_31_march_books_in_the_new_fiscal_year,
    "ali-2020",
    "2027-03-30T09:00:00+08:00",
    ali_case_across_31_march_books_in_new_year_on_sqlite,
    ali_case_across_31_march_books_in_new_year_on_postgres
);
on_both!(
    jd_points_reset_at_31_december,
    "jd-2019",
    "2026-12-20T09:00:00+08:00",
    jd_points_reset_at_31_december_on_sqlite,
    jd_points_reset_at_31_december_on_postgres
);
on_both!(
    tc_off_platform_trade_expels_deducts_5000_and_bans_for_good,
    "tc-2017",
    "2026-07-01T09:00:00+08:00",
    tc_off_platform_trade_expels_deducts_5000_and_bans_on_sqlite,
    tc_off_platform_trade_expels_deducts_5000_and_bans_on_postgres
);
on_both!(
    tc_fake_transactions_block_for_15_days_lifted_on_day_16,
    "tc-2017",
    "2026-07-01T09:00:00+08:00",
    tc_fake_transactions_block_15_days_lifted_on_day_16_on_sqlite,
    tc_fake_transactions_block_15_days_lifted_on_day_16_on_postgres
);
on_both!(
    no_reply_in_3_working_days_across_national_day_is_established_on_10_october,
    "ali-2020",
    "2026-09-30T10:00:00+08:00",
    no_reply_across_national_day_established_after_10_october_on_sqlite,
    no_reply_across_national_day_established_after_10_october_on_postgres
);
on_both!(
    only_compliance_decides_and_only_the_provider_replies_on_its_own_cases,
    "ali-2020",
    "2026-07-01T09:00:00+08:00",
    case_roles_on_sqlite,
    case_roles_on_postgres
);
on_both!(
    tc_stacked_measures_deduct_hide_and_delete,
    "tc-2017",
    "2026-07-01T09:00:00+08:00",
    tc_stacked_measures_deduct_hide_and_delete_on_sqlite,
    tc_stacked_measures_deduct_hide_and_delete_on_postgres
);
