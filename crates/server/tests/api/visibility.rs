//! Automatic visibility rules (SPEC §5; issue 4 item 5) over HTTP, the time moved by the
//! operator's clock API (`POST /api/v1/admin/clock`, which fires every deadline due on the
//! way), on SQLite and (when `YUNSHI_TEST_PG` is set) PostgreSQL.
//!
//! SaaS delivery failure under TC 2017 (TC 4.2): a provider with two SaaS products and an
//! image; a buyer's SaaS order whose `create` delivery is dead-lettered at a real local
//! receiver that answers 500. Then 0 / 7 / 30 days: that product hidden from search at once,
//! every SaaS product of the provider hidden on day 7, all of them delisted on day 30 — or a
//! repair on day 5 (the endpoint fixed, the delivery retried and delivered) that stops it.

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_TOKEN, Market, json_of, ok, on_both};
use crate::journey::{PDF, PNG, Receiver, content, status_of};

const START: &str = "2026-07-01T09:00:00+08:00";

/// A TC provider with two listed SaaS products and a listed image, a buyer's paid order of
/// the first SaaS product whose `create` goes to a receiver that always fails.
struct Setup {
    provider: String,
    /// The provider owner's API token.
    seller: String,
    /// The SaaS product whose delivery fails.
    failing: String,
    /// The provider's other SaaS product.
    other: String,
    /// A non-SaaS product of the same provider.
    image: String,
    order: String,
}

/// A provider admitted through onboarding with the given products listed: (provider, the
/// owner's API token, product ids in order).
async fn admit(m: &Market, products: &[(&str, &str)]) -> (String, String, Vec<String>) {
    let reviewer = m
        .staff(
            "reviewer@yunshi.example",
            json!({"type": "operator_staff", "roles": ["reviewer"]}),
        )
        .await;
    const ISV: &str = "owner@saas-isv.example";
    m.register(ISV, "云帆软件", "enterprise").await;
    let isv = m.login(ISV).await;
    let app = json_of(
        m.post(
            "/api/v1/onboarding/applications",
            &isv,
            json!({"store_name": "云帆软件官方店"}),
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
    ok(m.post(&admin("review"), &reviewer, json!({})).await).await;
    // Every rulebook requires a verification of some kind before approval.
    ok(m.post(
        &admin("verification"),
        &reviewer,
        json!({"decision": "verified"}),
    )
    .await)
    .await;
    let approved = ok(m
        .post(
            &admin("approve"),
            &reviewer,
            json!({"partner_member": true}),
        )
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
            "deposit-saas-isv",
            json!({"amount": deposit}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(paid["provider_status"], "active", "{paid}");
    let store = paid["store"]["store"]["id"].as_str().unwrap().to_owned();
    let mut listed = Vec::new();
    for (category, title) in products {
        let created = json_of(
            m.post(
                "/api/v1/products",
                &isv,
                json!({
                    "store": store, "category": category, "sales_mode": "self_sold",
                    "pricing": "one_off", "price": "500.00", "refund_policy": "no_refund",
                    "content": content(title, "在线管理多台云服务器。")
                }),
            )
            .await,
            201,
        )
        .await;
        let id = created["id"].as_str().unwrap().to_owned();
        ok(
            m.post(&format!("/api/v1/products/{id}/submit"), &isv, json!({}))
                .await,
        )
        .await;
        let approved = ok(m
            .post(
                &format!("/api/v1/review/listings/{id}/approve"),
                &reviewer,
                json!({"acknowledged": []}),
            )
            .await)
        .await;
        assert_eq!(approved["status"], "listed", "{approved}");
        listed.push(id);
    }
    let seller = m
        .staff(
            "ops@saas-isv.example",
            json!({"type": "provider_staff", "provider_id": provider, "role": "owner"}),
        )
        .await;
    (provider, seller, listed)
}

async fn setup(m: &Market) -> Setup {
    let (provider, seller, mut listed) = admit(
        m,
        &[
            ("saas", "云备份管理平台"),
            ("saas", "云监控告警平台"),
            ("image", "云数据备份镜像"),
        ],
    )
    .await;
    let failing_receiver = Receiver::start(true).await;
    let registered = ok(m
        .put(
            "/api/v1/webhooks/endpoint",
            &seller,
            json!({"url": failing_receiver.url}),
        )
        .await)
    .await;
    failing_receiver.know_secret(registered["secret"].as_str().unwrap());
    const BUYER: &str = "buyer@example.com";
    m.register(BUYER, "王芳", "personal").await;
    let buyer = m.login(BUYER).await;
    let (order, paid) = m.buy(&buyer, &listed[0], "pay-saas").await;
    assert_eq!(paid["order"]["delivery"]["status"], "pending", "{paid}");
    // The receiver keeps answering 500 after this handle is dropped (its task runs on).
    let image = listed.pop().unwrap();
    let other = listed.pop().unwrap();
    let failing = listed.pop().unwrap();
    Setup {
        provider,
        seller,
        failing,
        other,
        image,
        order,
    }
}

/// Moves the clock by `by` through the operator's clock API; every deadline due on the way
/// fires, and none may fail.
async fn advance(m: &Market, by: &str) -> Value {
    let advanced = ok(m
        .post("/api/v1/admin/clock", ADMIN_TOKEN, json!({"by": by}))
        .await)
    .await;
    assert_eq!(advanced["failed"], json!([]), "{advanced}");
    assert_eq!(advanced["unknown_kind"], 0, "{advanced}");
    advanced
}

async fn product(m: &Market, token: &str, id: &str) -> Value {
    ok(m.get(&format!("/api/v1/products/{id}"), token).await).await
}

async fn status(m: &Market, s: &Setup, id: &str) -> String {
    product(m, &s.seller, id).await["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The hold keys on a product, sorted.
async fn hold_keys(m: &Market, s: &Setup, id: &str) -> Vec<String> {
    let p = product(m, &s.seller, id).await;
    let mut keys: Vec<String> = p["holds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            assert!(
                !h["reason"].as_str().unwrap().is_empty(),
                "a hold says why: {p}"
            );
            h["key"].as_str().unwrap().to_owned()
        })
        .collect();
    keys.sort();
    keys
}

/// The provider's products the public catalogue search shows, sorted.
async fn searchable(m: &Market, s: &Setup) -> Vec<String> {
    let page = ok(m
        .public_get(&format!("/api/v1/catalogue?provider={}", s.provider))
        .await)
    .await;
    let mut ids: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["product"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

fn sorted(ids: &[&String]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| (*s).clone()).collect();
    v.sort();
    v
}

async fn events_of_kind(m: &Market, kind: &str) -> Vec<Value> {
    let all = ok(m
        .call(reqwest::Method::GET, "/test/events", None, None, None)
        .await)
    .await;
    all.as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .cloned()
        .collect()
}

async fn standing(m: &Market, s: &Setup) -> Value {
    ok(m.get(
        &format!("/api/v1/providers/{}/saas-delivery-standing", s.provider),
        &s.seller,
    )
    .await)
    .await
}

/// Day 0: the retries run out (1 + 5 attempts over 8 h 36 min), the `create` is
/// dead-lettered, and the failing product is hidden from search at once — the rest stays.
/// Returns when it failed.
async fn fails_and_hides_the_product_at_once(m: &Market, s: &Setup) -> Timestamp {
    assert_eq!(
        searchable(m, s).await,
        sorted(&[&s.failing, &s.other, &s.image])
    );
    let advanced = advance(m, "9h").await;
    assert_eq!(advanced["fired"]["webhook.attempt"], 6, "{advanced}");
    assert_eq!(advanced["fired"]["visibility.saas_failed"], 1, "{advanced}");
    let order = m.order(&s.seller, &s.order).await;
    assert_eq!(order["order"]["delivery"]["status"], "failed", "{order}");
    let failed_at: Timestamp = order["order"]["delivery"]["failed_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(status(m, s, &s.failing).await, "hidden_from_search");
    assert_eq!(hold_keys(m, s, &s.failing).await, ["saas_delivery_failure"]);
    assert_eq!(status(m, s, &s.other).await, "listed");
    assert_eq!(status(m, s, &s.image).await, "listed");
    assert_eq!(searchable(m, s).await, sorted(&[&s.other, &s.image]));
    // Still on sale by direct link (隐藏: not searchable).
    ok(m.public_get(&format!("/api/v1/catalogue/{}", s.failing))
        .await)
    .await;
    let st = standing(m, s).await;
    assert_eq!(st["status"], "failing", "{st}");
    assert_eq!(st["open"][0]["product"], s.failing.as_str(), "{st}");
    let hide_all_at: Timestamp = st["open"][0]["hide_all_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let delist_all_at: Timestamp = st["open"][0]["delist_all_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(hide_all_at.duration_since(failed_at).as_hours(), 7 * 24);
    assert_eq!(delist_all_at.duration_since(failed_at).as_hours(), 30 * 24);
    let recorded = events_of_kind(m, "visibility.saas_delivery_failure_recorded").await;
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0]["subject"], format!("provider:{}", s.provider));
    failed_at
}

/// TC 4.2: not repaired → day 7 every SaaS product of the provider hidden, day 30 all of
/// them delisted; the image is never touched.
async fn saas_delivery_failure_hides_at_once_hides_all_on_day_7_delists_all_on_day_30(m: &Market) {
    let s = setup(m).await;
    fails_and_hides_the_product_at_once(m, &s).await;

    // Day 6 (clock at +6 d 9 h, failure at +8 h 36 min): nothing more.
    advance(m, "6d").await;
    assert_eq!(status(m, &s, &s.other).await, "listed");
    assert_eq!(searchable(m, &s).await, sorted(&[&s.other, &s.image]));

    // Day 7: every SaaS product hidden, each saying why.
    let advanced = advance(m, "1d").await;
    assert_eq!(advanced["fired"]["visibility.saas_step"], 1, "{advanced}");
    assert_eq!(status(m, &s, &s.other).await, "hidden_from_search");
    assert_eq!(
        hold_keys(m, &s, &s.other).await,
        ["saas_delivery_failure:all_hidden"]
    );
    assert_eq!(
        hold_keys(m, &s, &s.failing).await,
        ["saas_delivery_failure", "saas_delivery_failure:all_hidden"]
    );
    assert_eq!(status(m, &s, &s.image).await, "listed");
    assert_eq!(searchable(m, &s).await, [s.image.as_str()]);
    assert_eq!(standing(m, &s).await["status"], "all_hidden");
    assert_eq!(
        events_of_kind(m, "visibility.saas_all_hidden").await.len(),
        1
    );

    // Day 29: not delisted yet.
    advance(m, "22d").await;
    assert_eq!(status(m, &s, &s.other).await, "hidden_from_search");
    assert!(
        events_of_kind(m, "visibility.saas_all_delisted")
            .await
            .is_empty()
    );

    // Day 30: all SaaS products delisted; the image stays listed.
    let advanced = advance(m, "1d").await;
    assert_eq!(advanced["fired"]["visibility.saas_step"], 1, "{advanced}");
    for id in [&s.failing, &s.other] {
        assert_eq!(status(m, &s, id).await, "delisted_by_operator", "{id}");
        assert!(
            hold_keys(m, &s, id)
                .await
                .contains(&"saas_delivery_failure:all_delisted".to_owned())
        );
        let res = m.public_get(&format!("/api/v1/catalogue/{id}")).await;
        assert_eq!(res.status(), 404, "a delisted product has no page");
    }
    assert_eq!(status(m, &s, &s.image).await, "listed");
    assert_eq!(searchable(m, &s).await, [s.image.as_str()]);
    let st = standing(m, &s).await;
    assert_eq!(st["status"], "delisted", "{st}");
    assert!(st["delisted_at"].is_string(), "{st}");
    assert_eq!(
        events_of_kind(m, "visibility.saas_all_delisted")
            .await
            .len(),
        1
    );
}

/// TC 4.2: repaired on day 5 (endpoint fixed, the delivery retried and delivered) → the
/// product is visible again at once, nothing more is hidden on day 7 and nothing delisted on
/// day 30.
async fn saas_delivery_repaired_on_day_5_stops_the_timeline(m: &Market) {
    let s = setup(m).await;
    fails_and_hides_the_product_at_once(m, &s).await;
    advance(m, "5d").await;
    assert_eq!(status(m, &s, &s.failing).await, "hidden_from_search");

    // Day 5: the provider fixes its endpoint and retries the dead-lettered delivery.
    let good = Receiver::start(false).await;
    let registered = ok(m
        .put(
            "/api/v1/webhooks/endpoint",
            &s.seller,
            json!({"url": good.url}),
        )
        .await)
    .await;
    good.know_secret(registered["secret"].as_str().unwrap());
    let page = ok(m.get("/api/v1/webhooks/deliveries", &s.seller).await).await;
    let delivery = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["order_id"] == s.order.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let retried = json_of(
        m.post(
            &format!("/api/v1/webhooks/deliveries/{delivery}/retry"),
            &s.seller,
            json!({}),
        )
        .await,
        202,
    )
    .await;
    assert_eq!(retried["status"], "pending", "{retried}");
    let advanced = advance(m, "1m").await;
    assert_eq!(
        advanced["fired"]["visibility.saas_repaired"], 1,
        "{advanced}"
    );
    let order = m.order(&s.seller, &s.order).await;
    assert_eq!(order["order"]["delivery"]["status"], "delivered", "{order}");
    assert_eq!(status(m, &s, &s.failing).await, "listed");
    assert_eq!(hold_keys(m, &s, &s.failing).await, Vec::<String>::new());
    assert_eq!(
        searchable(m, &s).await,
        sorted(&[&s.failing, &s.other, &s.image])
    );
    let repaired = events_of_kind(m, "visibility.saas_delivery_repaired").await;
    assert_eq!(repaired.len(), 1, "{repaired:?}");
    assert_eq!(
        repaired[0]["payload"]["steps_cancelled"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "{repaired:?}"
    );
    assert_eq!(standing(m, &s).await["status"], "clear");

    // Day 7 and day 30 pass: both steps were cancelled, nothing fires, nothing changes.
    let advanced = advance(m, "3d").await;
    assert!(
        advanced["fired"]["visibility.saas_step"].is_null(),
        "{advanced}"
    );
    for id in [&s.failing, &s.other, &s.image] {
        assert_eq!(status(m, &s, id).await, "listed", "{id} on day 8");
    }
    let advanced = advance(m, "25d").await;
    assert!(
        advanced["fired"]["visibility.saas_step"].is_null(),
        "{advanced}"
    );
    for id in [&s.failing, &s.other, &s.image] {
        assert_eq!(status(m, &s, id).await, "listed", "{id} on day 33");
    }
    assert_eq!(
        searchable(m, &s).await,
        sorted(&[&s.failing, &s.other, &s.image])
    );
    assert!(
        events_of_kind(m, "visibility.saas_all_hidden")
            .await
            .is_empty()
    );
    assert!(
        events_of_kind(m, "visibility.saas_all_delisted")
            .await
            .is_empty()
    );
}

/// JD art.18(14): zero sales in 3 consecutive (full) months → delisted at the monthly check;
/// a product sold in between stays. Listed on 1 July (mid-month, so July does not count):
/// judged on August–October at the check of 1 November 00:00 Beijing.
async fn zero_sales_for_3_consecutive_months_delists(m: &Market) {
    let (provider, seller, products) = admit(
        m,
        &[("image", "云数据备份镜像"), ("image", "云安全加固镜像")],
    )
    .await;
    let (idle, sold) = (&products[0], &products[1]);
    let started = ok(m
        .post(
            "/api/v1/admin/visibility/monthly-checks",
            ADMIN_TOKEN,
            json!({}),
        )
        .await)
    .await;
    let first: Timestamp = started["next_check_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        first,
        "2026-08-01T00:00:00+08:00".parse::<Timestamp>().unwrap()
    );
    // Idempotent.
    let again = ok(m
        .post(
            "/api/v1/admin/visibility/monthly-checks",
            ADMIN_TOKEN,
            json!({}),
        )
        .await)
    .await;
    assert_eq!(again, started);

    // A sale of the other product in September.
    let to = |at: &str| {
        let at: Timestamp = at.parse().unwrap();
        format!("{}s", at.duration_since(m.now()).as_secs())
    };
    let advanced = advance(m, &to("2026-09-15T10:00:00+08:00")).await;
    assert_eq!(
        advanced["fired"]["visibility.monthly_check"], 2,
        "{advanced}"
    );
    m.register("buyer@example.com", "王芳", "personal").await;
    let buyer = m.login("buyer@example.com").await;
    m.buy(&buyer, sold, "pay-sold").await;

    // 31 October: three full months have not passed since the first check.
    let advanced = advance(m, &to("2026-10-31T23:00:00+08:00")).await;
    assert_eq!(
        advanced["fired"]["visibility.monthly_check"], 1,
        "{advanced}"
    );
    for id in [idle, sold] {
        let p = product(m, &seller, id).await;
        assert_eq!(p["status"], "listed", "{p}");
    }

    // 1 November 00:00: August, September and October without a sale → delisted.
    let advanced = advance(m, "2h").await;
    assert_eq!(
        advanced["fired"]["visibility.monthly_check"], 1,
        "{advanced}"
    );
    let p = product(m, &seller, idle).await;
    assert_eq!(p["status"], "delisted_by_operator", "{p}");
    assert_eq!(p["holds"][0]["key"], "zero_sales", "{p}");
    assert!(
        p["holds"][0]["reason"].as_str().unwrap().contains('3'),
        "{p}"
    );
    let p = product(m, &seller, sold).await;
    assert_eq!(p["status"], "listed", "{p}");
    let page = ok(m
        .public_get(&format!("/api/v1/catalogue?provider={provider}"))
        .await)
    .await;
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["product"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [sold.as_str()], "{page}");
}

/// Moves the clock through the clock API to `at` (every deadline due on the way fires).
async fn advance_to(m: &Market, at: &str) -> Value {
    let at: Timestamp = at.parse().unwrap();
    let by = at.duration_since(m.now()).as_secs();
    advance(m, &format!("{by}s")).await
}

/// The buyer asks for a refund inside the window with `reason`; the provider accepts.
async fn refund(m: &Market, buyer: &str, seller: &str, order: &str, reason: &str) {
    let requested = ok(m
        .post_key(
            &format!("/api/v1/orders/{order}/refunds"),
            buyer,
            &format!("refund-{order}"),
            json!({"reason": reason, "note": "不满意"}),
        )
        .await)
    .await;
    assert_eq!(
        requested["order"]["refunds"][0]["basis"], "inside_window",
        "{requested}"
    );
    let refunded = ok(m
        .post_key(
            &format!("/api/v1/orders/{order}/refunds/current/acceptance"),
            seller,
            &format!("accept-{order}"),
            json!({}),
        )
        .await)
    .await;
    assert_eq!(refunded["order"]["status"], "refunded", "{refunded}");
}

async fn refund_rate_standing(m: &Market, token: &str, provider: &str) -> Value {
    ok(m.get(
        &format!("/api/v1/providers/{provider}/refund-rate-standing"),
        token,
    )
    .await)
    .await
}

/// TC 5.8 (SPEC §7 item 7): product-reason refunds above 1% of the orders paid in the
/// rolling 30-day window → campaign eligibility lost at the next daily check and 30 days to
/// improve; improved by then → eligible again. 1 of 100 is exactly 1%, not above; a refund
/// for another reason does not count; 2 of 100 is above.
async fn tc_refund_rate_above_1_percent_loses_campaign_eligibility_until_improved(m: &Market) {
    let (provider, seller, products) = admit(m, &[("image", "云数据备份镜像")]).await;
    let product = &products[0];
    const BUYER: &str = "buyer@example.com";
    m.register(BUYER, "王芳", "personal").await;
    let buyer = m.login(BUYER).await;
    let mut orders = Vec::new();
    for i in 0..100 {
        orders.push(m.buy(&buyer, product, &format!("pay-{i}")).await.0);
    }
    refund(m, &buyer, &seller, &orders[0], "not_as_expected").await;
    // Not a product reason (TC 5.8 names three): does not count.
    refund(m, &buyer, &seller, &orders[1], "other").await;

    let started = ok(m
        .post(
            "/api/v1/admin/visibility/refund-rate-checks",
            ADMIN_TOKEN,
            json!({}),
        )
        .await)
    .await;
    assert_eq!(
        started["next_check_at"]
            .as_str()
            .unwrap()
            .parse::<Timestamp>()
            .unwrap(),
        "2026-07-02T00:00:00+08:00".parse::<Timestamp>().unwrap(),
        "{started}"
    );
    let again = ok(m
        .post(
            "/api/v1/admin/visibility/refund-rate-checks",
            ADMIN_TOKEN,
            json!({}),
        )
        .await)
    .await;
    assert_eq!(again, started, "idempotent");

    // 2 July 00:00: 1 of 100 = exactly 1%, not above.
    let advanced = advance_to(m, "2026-07-02T00:30:00+08:00").await;
    assert_eq!(
        advanced["fired"]["visibility.refund_rate_check"], 1,
        "{advanced}"
    );
    let s = refund_rate_standing(m, &seller, &provider).await;
    assert_eq!(s["status"], "eligible", "{s}");
    assert_eq!(s["campaign_eligible"], true, "{s}");
    assert_eq!(s["current"]["paid"], 100, "{s}");
    assert_eq!(s["current"]["refunded"], 1, "{s}");
    assert_eq!(s["current"]["rate"], "1%", "{s}");
    assert_eq!(s["current"]["above_threshold"], false, "{s}");
    assert!(
        events_of_kind(m, "visibility.campaign_eligibility_lost")
            .await
            .is_empty()
    );

    // A second product-reason refund: 2 of 100 = 2% → lost at the next check.
    let buyer = m.login(BUYER).await;
    refund(m, &buyer, &seller, &orders[2], "not_received").await;
    let s = refund_rate_standing(m, &seller, &provider).await;
    assert_eq!(s["current"]["above_threshold"], true, "{s}");
    assert_eq!(
        s["campaign_eligible"], true,
        "judged at the check, not at once: {s}"
    );
    let advanced = advance_to(m, "2026-07-03T00:30:00+08:00").await;
    assert_eq!(
        advanced["fired"]["visibility.refund_rate_check"], 1,
        "{advanced}"
    );
    let s = refund_rate_standing(m, &seller, &provider).await;
    assert_eq!(s["status"], "improving", "{s}");
    assert_eq!(s["campaign_eligible"], false, "{s}");
    assert_eq!(
        s["improvement"]["due_at"]
            .as_str()
            .unwrap()
            .parse::<Timestamp>()
            .unwrap(),
        "2026-08-02T00:00:00+08:00".parse::<Timestamp>().unwrap(),
        "30 days to improve: {s}"
    );
    assert_eq!(s["last_decisive"]["refunded"], 2, "{s}");
    let lost = events_of_kind(m, "visibility.campaign_eligibility_lost").await;
    assert_eq!(lost.len(), 1, "{lost:?}");
    assert_eq!(
        lost[0]["subject"],
        format!("provider:{provider}"),
        "{lost:?}"
    );
    // Operators see it in the list; the provider does not.
    let list = ok(m
        .get(
            "/api/v1/admin/visibility/refund-rate-standings?status=improving",
            ADMIN_TOKEN,
        )
        .await)
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["items"][0]["provider"], provider.as_str(), "{list}");
    let res = m
        .get("/api/v1/admin/visibility/refund-rate-standings", &seller)
        .await;
    crate::helpers::assert_problem(res, 403, "forbidden").await;

    // Improvement: ten orders in July without a refund.
    let advanced = advance_to(m, "2026-07-20T10:00:00+08:00").await;
    assert_eq!(
        advanced["fired"]["visibility.refund_rate_check"], 17,
        "{advanced}"
    );
    let buyer = m.login(BUYER).await;
    for i in 0..10 {
        m.buy(&buyer, product, &format!("pay-later-{i}")).await;
    }
    // 2 August 00:00: the window (3 July, 2 August] holds 10 paid, none refunded → back.
    let advanced = advance_to(m, "2026-08-02T00:30:00+08:00").await;
    assert_eq!(
        advanced["fired"]["visibility.refund_rate_deadline"], 1,
        "{advanced}"
    );
    let s = refund_rate_standing(m, &seller, &provider).await;
    assert_eq!(s["status"], "eligible", "{s}");
    assert_eq!(s["campaign_eligible"], true, "{s}");
    assert_eq!(s["last_decisive"]["paid"], 10, "{s}");
    assert_eq!(s["last_decisive"]["refunded"], 0, "{s}");
    let back = events_of_kind(m, "visibility.campaign_eligibility_restored").await;
    assert_eq!(back.len(), 1, "{back:?}");
    assert!(
        events_of_kind(m, "visibility.refund_rate_not_improved")
            .await
            .is_empty()
    );
}

async fn declare(m: &Market, token: &str, product: &str, on: u64, total: u64) -> reqwest::Response {
    m.put(
        &format!("/api/v1/products/{product}/deployment-declaration"),
        token,
        json!({"on_operator_cloud": on, "total": total}),
    )
    .await
}

/// ALI-R art.28(5) (SPEC §9): fewer than 80% of sold instances on the operator's cloud in
/// the fiscal year → an expulsion-ground finding at 00:00 on 1 April, listed for compliance;
/// nobody is expelled automatically. 7 of 10 → finding; 8 of 10 → none.
async fn ali_deployment_below_80_percent_is_an_expulsion_ground_at_the_fiscal_year_end(m: &Market) {
    let gov = crate::cases::staff(m).await;
    let low = crate::cases::admit(m, &gov.reviewer, "owner@low-cloud.example", "低云软件").await;
    let high = crate::cases::admit(m, &gov.reviewer, "owner@high-cloud.example", "高云软件").await;
    let declared = ok(declare(m, &low.isv, &low.product, 7, 10).await).await;
    assert_eq!(
        declared["current_year"], "2026-04-01..2027-03-31",
        "{declared}"
    );
    assert_eq!(declared["years"][0]["on_operator_cloud"], 7, "{declared}");
    // A correction replaces the figures of the same year.
    ok(declare(m, &high.isv, &high.product, 5, 10).await).await;
    ok(declare(m, &high.isv, &high.product, 8, 10).await).await;
    // Refused: more on the cloud than sold; another provider's product; operator staff.
    crate::helpers::assert_problem(
        declare(m, &low.isv, &low.product, 11, 10).await,
        422,
        "deployment_more_on_cloud_than_sold",
    )
    .await;
    crate::helpers::assert_problem(
        declare(m, &low.isv, &high.product, 1, 1).await,
        404,
        "not_found",
    )
    .await;
    crate::helpers::assert_problem(
        declare(m, &gov.compliance, &low.product, 1, 1).await,
        403,
        "forbidden",
    )
    .await;

    let started = ok(m
        .post(
            "/api/v1/admin/visibility/deployment-checks",
            ADMIN_TOKEN,
            json!({}),
        )
        .await)
    .await;
    assert_eq!(
        started["next_check_at"]
            .as_str()
            .unwrap()
            .parse::<Timestamp>()
            .unwrap(),
        "2027-04-01T00:00:00+08:00".parse::<Timestamp>().unwrap(),
        "{started}"
    );
    let share = ok(m
        .get(
            &format!("/api/v1/providers/{}/deployment-share", low.provider),
            &low.isv,
        )
        .await)
    .await;
    assert_eq!(share["share"], "70%", "{share}");
    assert_eq!(share["threshold"], "80%", "{share}");
    assert_eq!(share["below_threshold"], true, "{share}");
    assert_eq!(
        share["years"],
        json!([]),
        "not judged before the year ends: {share}"
    );

    let advanced = advance_to(m, "2027-04-01T00:30:00+08:00").await;
    assert_eq!(
        advanced["fired"]["visibility.deployment_year_end"], 1,
        "{advanced}"
    );
    let findings = ok(m
        .get(
            "/api/v1/admin/visibility/deployment-findings",
            &gov.compliance,
        )
        .await)
    .await;
    let items = findings["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{findings}");
    assert_eq!(items[0]["provider"], low.provider.as_str(), "{findings}");
    let f = &items[0]["findings"][0];
    assert_eq!(f["year_start"], "2026-04-01", "{findings}");
    assert_eq!(
        (f["on_operator_cloud"].as_u64(), f["total"].as_u64()),
        (Some(7), Some(10))
    );
    assert_eq!(f["below_threshold"], true, "{findings}");
    let events = events_of_kind(m, "visibility.deployment_below_threshold").await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["subject"], format!("provider:{}", low.provider));
    // 8 of 10 meets it.
    let share = ok(m
        .get(
            &format!("/api/v1/providers/{}/deployment-share", high.provider),
            &high.isv,
        )
        .await)
    .await;
    assert_eq!(share["years"][0]["below_threshold"], false, "{share}");
    assert_eq!(share["years"][0]["share"], "80%", "{share}");
    // The new year starts empty; nobody was expelled (compliance decides).
    let share = ok(m
        .get(
            &format!("/api/v1/providers/{}/deployment-share", low.provider),
            &low.isv,
        )
        .await)
    .await;
    assert_eq!(share["current_year"], "2027-04-01..2028-03-31", "{share}");
    assert_eq!(share["total"], 0, "{share}");
    assert_eq!(share["years"][0]["below_threshold"], true, "{share}");
    let p = product(m, &low.isv, &low.product).await;
    assert_eq!(p["status"], "listed", "{p}");
    let res = m
        .get("/api/v1/admin/visibility/deployment-findings", &low.isv)
        .await;
    crate::helpers::assert_problem(res, 403, "forbidden").await;
}

on_both!(
    saas_delivery_failure_hides_at_once_hides_all_on_day_7_delists_all_on_day_30,
    "tc-2017",
    START,
    tc_saas_delivery_failure_0_7_30_day_timeline_on_sqlite,
    tc_saas_delivery_failure_0_7_30_day_timeline_on_postgres
);
on_both!(
    saas_delivery_repaired_on_day_5_stops_the_timeline,
    "tc-2017",
    START,
    tc_saas_delivery_repaired_on_day_5_stops_the_timeline_on_sqlite,
    tc_saas_delivery_repaired_on_day_5_stops_the_timeline_on_postgres
);
on_both!(
    zero_sales_for_3_consecutive_months_delists,
    "jd-2019",
    START,
    jd_zero_sales_for_3_consecutive_months_delists_on_sqlite,
    jd_zero_sales_for_3_consecutive_months_delists_on_postgres
);
on_both!(
    tc_refund_rate_above_1_percent_loses_campaign_eligibility_until_improved,
    "tc-2017",
    START,
    tc_refund_rate_above_1_percent_loses_campaign_eligibility_until_improved_on_sqlite,
    tc_refund_rate_above_1_percent_loses_campaign_eligibility_until_improved_on_postgres
);
on_both!(
    ali_deployment_below_80_percent_is_an_expulsion_ground_at_the_fiscal_year_end,
    "ali-2020",
    "2027-03-10T09:00:00+08:00",
    ali_deployment_7_of_10_is_a_finding_8_of_10_is_not_on_sqlite,
    ali_deployment_7_of_10_is_a_finding_8_of_10_is_not_on_postgres
);
