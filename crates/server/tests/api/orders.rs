//! Orders over HTTP (issue 3 items 5–7): escrow, the sandbox gateway with Idempotency-Key,
//! service supervision, refunds with their races, ratings, tenancy and bad input. Each
//! scenario is two tests: `…_on_sqlite`, and `…_on_postgres` on a fresh PostgreSQL database
//! when `YUNSHI_TEST_PG` names a server. The server runs on a simulated clock the test holds
//! and moves; the bought products are written through the test-only `/test/products` route.

use jiff::Timestamp;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;
use yunshi_core::money::Fen;

use crate::helpers::{ADMIN_TOKEN, Market, START, assert_problem, json_of, ok, on_both};

// ---- the scenarios' steps ----

impl Market {
    /// POSTs `body` once per key, all at once; answers in key order: (status, body text).
    async fn concurrent_posts(
        &self,
        path: &str,
        token: &str,
        keys: Vec<String>,
        body: Value,
    ) -> Vec<(u16, String)> {
        let mut tasks = Vec::new();
        for key in keys {
            let req = self
                .request(Method::POST, path, Some(token), Some(&key))
                .json(&body);
            tasks.push(tokio::spawn(async move {
                let res = req.send().await.unwrap();
                (res.status().as_u16(), res.text().await.unwrap())
            }));
        }
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await.unwrap());
        }
        answers
    }

    /// The books after a step (see [`Market::books`]).
    async fn assert_books(&self) -> Value {
        self.books("a step of the scenario").await
    }

    async fn user(&self, email: &str, kind: Value) -> (Value, String) {
        let res = self
            .post(
                "/api/v1/admin/users",
                ADMIN_TOKEN,
                json!({"email": email, "display_name": "测试用户", "kind": kind}),
            )
            .await;
        let created = json_of(res, 201).await;
        let id = created["user"]["id"].as_str().unwrap().to_owned();
        let res = self
            .post(
                &format!("/api/v1/admin/users/{id}/tokens"),
                ADMIN_TOKEN,
                json!({"label": "test"}),
            )
            .await;
        let token = json_of(res, 201).await["token"]
            .as_str()
            .unwrap()
            .to_owned();
        (created, token)
    }

    /// A member (buyer) and its token.
    async fn buyer(&self, email: &str) -> String {
        self.user(email, json!({"type": "member", "member_kind": "personal"}))
            .await
            .1
    }

    /// A provider's owner: (provider id, token).
    async fn provider(&self, email: &str) -> (Uuid, String) {
        let provider = Uuid::now_v7();
        let (_, token) = self
            .user(
                email,
                json!({"type": "provider_staff", "provider_id": provider, "role": "owner"}),
            )
            .await;
        (provider, token)
    }

    async fn customer_service(&self, email: &str) -> String {
        self.user(
            email,
            json!({"type": "operator_staff", "roles": ["customer_service"]}),
        )
        .await
        .1
    }

    async fn product(
        &self,
        provider: Uuid,
        category: &str,
        pricing: &str,
        price: &str,
        refund_policy: &str,
    ) -> String {
        let res = self
            .call(
                Method::POST,
                "/test/products",
                None,
                None,
                Some(json!({
                    "provider": provider, "category": category, "pricing": pricing,
                    "price": price, "refund_policy": refund_policy
                })),
            )
            .await;
        ok(res).await["id"].as_str().unwrap().to_owned()
    }

    /// Places an order for `product`; returns its id.
    async fn place(&self, buyer: &str, product: &str) -> String {
        let res = self
            .post("/api/v1/orders", buyer, json!({"product_id": product}))
            .await;
        let order = json_of(res, 201).await;
        assert_eq!(order["order"]["status"], "awaiting_payment");
        order["order"]["id"].as_str().unwrap().to_owned()
    }

    async fn pay(&self, buyer: &str, order: &str) -> Value {
        let key = Uuid::now_v7().to_string();
        let res = self
            .post_key(
                &format!("/api/v1/orders/{order}/payments"),
                buyer,
                &key,
                json!({}),
            )
            .await;
        json_of(res, 200).await
    }
}

fn money(v: &Value) -> Fen {
    serde_json::from_value(v.clone()).unwrap()
}

// ---- scenarios ----

/// An image product bought on 7.1: a refund requested on the 5th day (7.5) is a full refund
/// inside the window; on the 6th day (7.6) the declared policy rules — "no refund" refuses
/// with `window_closed`, "pro rata unused time" refunds the unused days of the period.
async fn image_refunds_follow_the_window_then_the_declared_policy(m: &Market) {
    let (provider, seller) = m.provider("isv-image@example.com").await;
    let buyer = m.buyer("buyer-image@example.com").await;
    let no_refund = m
        .product(provider, "image", "one_off", "1000.00", "no_refund")
        .await;
    let pro_rata = m
        .product(
            provider,
            "image",
            "monthly",
            "310.00",
            "pro_rata_unused_time",
        )
        .await;
    m.assert_books().await;

    let first = m.place(&buyer, &no_refund).await;
    let second = m.place(&buyer, &no_refund).await;
    let third = m.place(&buyer, &pro_rata).await;
    m.assert_books().await;
    for order in [&first, &second, &third] {
        let paid = m.pay(&buyer, order).await;
        assert_eq!(paid["order"]["status"], "held");
        assert_eq!(paid["order"]["purchased_on"], "2026-07-01");
        assert_eq!(paid["order"]["window"]["last_day"], "2026-07-05");
        assert_eq!(paid["countdown"]["state"], "running");
        m.assert_books().await;
    }
    let books = m.assert_books().await;
    assert_eq!(books["held"], 231_000);
    assert_eq!(m.fired().await, 3, "each payment counts one sale");

    // The 5th day: inside the window, a full refund the provider accepts.
    m.advance_days(4);
    assert_eq!(m.fired().await, 0, "nothing is due on the 5th day");
    let view = m.order(&buyer, &first).await;
    assert_eq!(view["countdown"]["state"], "running");
    let res = m
        .post_key(
            &format!("/api/v1/orders/{first}/refunds"),
            &buyer,
            "refund-first",
            json!({"note": "不需要了"}),
        )
        .await;
    let requested = ok(res).await;
    let refund = &requested["order"]["refunds"][0];
    assert_eq!(refund["basis"], "inside_window");
    assert_eq!(refund["proposed"], "1000.00");
    m.assert_books().await;
    let res = m
        .post_key(
            &format!("/api/v1/orders/{first}/refunds/current/acceptance"),
            &seller,
            "accept-first",
            json!({}),
        )
        .await;
    let refunded = ok(res).await;
    assert_eq!(refunded["order"]["status"], "refunded");
    assert_eq!(refunded["refunded"], "1000.00");
    assert_eq!(refunded["order"]["escrow"], "0.00");
    m.assert_books().await;

    // The 6th day: the window has ended; its deadlines release the escrow.
    m.advance_days(1);
    assert_eq!(
        m.fired().await,
        3,
        "two window ends, and the full refund's sale uncounted"
    );
    assert_eq!(m.fired().await, 0, "a deadline fires once");
    let view = m.order(&buyer, &second).await;
    assert_eq!(view["order"]["status"], "released");
    assert_eq!(view["order"]["release"]["trigger"], "window_ended");
    assert_eq!(view["order"]["release"]["fee"], "100.00", "10% commission");
    assert_eq!(view["countdown"]["state"], "ended");
    let books = m.assert_books().await;
    assert_eq!(books["held"], 0);

    // Declared "no refund": refused once the window closed.
    let res = m
        .post_key(
            &format!("/api/v1/orders/{second}/refunds"),
            &buyer,
            "refund-second",
            json!({}),
        )
        .await;
    assert_problem(res, 409, "window_closed").await;

    // Declared pro rata: the unused days of the month (7.1–8.1), the request day used.
    let res = m
        .post_key(
            &format!("/api/v1/orders/{third}/refunds"),
            &buyer,
            "refund-third",
            json!({"note": "停用"}),
        )
        .await;
    let requested = ok(res).await;
    let refund = &requested["order"]["refunds"][0];
    assert_eq!(refund["basis"], "declared_policy");
    assert_eq!(refund["proposed"], "250.00", "25 of 31 days unused");
    let res = m
        .post_key(
            &format!("/api/v1/orders/{third}/refunds/current/acceptance"),
            &seller,
            "accept-third",
            json!({}),
        )
        .await;
    let refunded = ok(res).await;
    assert_eq!(refunded["refunded"], "250.00");
    assert_eq!(refunded["order"]["status"], "released");
    let books = m.assert_books().await;
    assert_eq!(books["orders"], 3);

    // A renewal of the subscription continues the period.
    let res = m
        .post(
            &format!("/api/v1/orders/{third}/renewals"),
            &buyer,
            json!({}),
        )
        .await;
    let renewal = json_of(res, 201).await;
    assert_eq!(renewal["order"]["renews"], third.as_str());
    assert_eq!(renewal["order"]["continues_from"], "2026-08-01");
    let renewal_id = renewal["order"]["id"].as_str().unwrap().to_owned();
    let paid = m.pay(&buyer, &renewal_id).await;
    assert_eq!(paid["order"]["service_period"]["start"], "2026-08-01");
    m.assert_books().await;
}
on_both!(
    image_refunds_follow_the_window_then_the_declared_policy,
    "ali-2020",
    START,
    image_refund_on_day_5_is_full_and_on_day_6_follows_the_declared_policy_on_sqlite,
    image_refund_on_day_5_is_full_and_on_day_6_follows_the_declared_policy_on_postgres
);

/// Service orders: milestones reported by the provider and confirmed by the buyer; final
/// acceptance releases the escrow and starts the warranty the provider registered.
async fn service_milestones_then_acceptance_start_the_warranty(m: &Market) {
    let (provider, seller) = m.provider("isv-service@example.com").await;
    let buyer = m.buyer("buyer-service@example.com").await;
    let service = m
        .product(provider, "service", "one_off", "3000.00", "no_refund")
        .await;
    let order = m.place(&buyer, &service).await;
    let paid = m.pay(&buyer, &order).await;
    assert_eq!(paid["countdown"]["state"], "until_acceptance");
    m.assert_books().await;
    assert_eq!(m.fired().await, 1, "the payment's sale count");

    let path = |p: &str| format!("/api/v1/orders/{order}/{p}");
    let res = m
        .call(
            Method::PUT,
            &path("warranty"),
            Some(&seller),
            None,
            Some(json!({"days": 90})),
        )
        .await;
    assert_eq!(ok(res).await["warranty_days"], 90);
    // The buyer does not report milestones; the provider does not accept.
    assert_problem(
        m.post(&path("milestones"), &buyer, json!({"title": "x"}))
            .await,
        403,
        "forbidden",
    )
    .await;
    for title in ["环境部署完成", "数据迁移完成"] {
        ok(
            m.post(&path("milestones"), &seller, json!({"title": title}))
                .await,
        )
        .await;
    }
    m.advance_days(10);
    assert_eq!(m.fired().await, 0, "a service window waits for acceptance");
    assert_problem(
        m.post(&path("acceptance"), &buyer, json!({})).await,
        409,
        "milestone_pending",
    )
    .await;
    ok(
        m.post(&path("milestones/0/confirmation"), &buyer, json!({}))
            .await,
    )
    .await;
    assert_problem(
        m.post(&path("milestones/0/confirmation"), &buyer, json!({}))
            .await,
        422,
        "unknown_milestone",
    )
    .await;
    ok(
        m.post(&path("milestones/1/confirmation"), &buyer, json!({}))
            .await,
    )
    .await;
    m.assert_books().await;
    assert_problem(
        m.post(&path("acceptance"), &seller, json!({})).await,
        403,
        "forbidden",
    )
    .await;
    let accepted = ok(m.post(&path("acceptance"), &buyer, json!({})).await).await;
    assert_eq!(accepted["order"]["status"], "released");
    assert_eq!(accepted["order"]["release"]["trigger"], "buyer_accepted");
    assert_eq!(accepted["order"]["release"]["provider_share"], "2700.00");
    assert_eq!(accepted["order"]["warranty"]["days"], 90);
    assert_eq!(accepted["order"]["warranty"]["last_day"], "2026-10-08");
    assert_eq!(accepted["countdown"]["state"], "ended");
    let books = m.assert_books().await;
    assert_eq!(books["held"], 0);
    // Milestones end with acceptance.
    assert_problem(
        m.post(&path("milestones"), &seller, json!({"title": "追加"}))
            .await,
        409,
        "invalid_transition",
    )
    .await;
}
on_both!(
    service_milestones_then_acceptance_start_the_warranty,
    "ali-2020",
    START,
    service_milestones_confirmed_then_acceptance_starts_the_warranty_on_sqlite,
    service_milestones_confirmed_then_acceptance_starts_the_warranty_on_postgres
);

/// 50 concurrent replays of one payment with one key: one payment, the same answer 50 times;
/// the key with another body is refused with 422. A gateway timeout leaves the order unpaid.
async fn fifty_replays_of_one_payment(m: &Market) {
    let (provider, _) = m.provider("isv-pay@example.com").await;
    let buyer = m.buyer("buyer-pay@example.com").await;
    let product = m
        .product(provider, "application", "one_off", "1000.00", "no_refund")
        .await;
    let order = m.place(&buyer, &product).await;
    let path = format!("/api/v1/orders/{order}/payments");

    // The gateway times out, then declines: nothing is paid, nothing stored.
    let res = m
        .post_key(&path, &buyer, "pay-1", json!({"sandbox": "timeout"}))
        .await;
    assert_problem(res, 504, "payment_timed_out").await;
    let res = m
        .post_key(&path, &buyer, "pay-1", json!({"sandbox": "fail"}))
        .await;
    assert_problem(res, 402, "payment_failed").await;
    assert_eq!(
        m.order(&buyer, &order).await["order"]["status"],
        "awaiting_payment"
    );
    let books = m.assert_books().await;
    assert_eq!(books["held"], 0);

    // The retry with the same key: 50 at once.
    let answers = m
        .concurrent_posts(
            &path,
            &buyer,
            vec!["pay-1".to_owned(); 50],
            json!({"sandbox": "succeed"}),
        )
        .await;
    let first = answers[0].clone();
    assert_eq!(first.0, 200, "{}", first.1);
    for answer in &answers {
        assert_eq!(answer, &first, "every replay gets the first answer");
    }
    let paid: Value = serde_json::from_str(&first.1).unwrap();
    assert_eq!(paid["order"]["status"], "held");
    assert!(
        paid["order"]["payment"]["gateway_reference"]
            .as_str()
            .unwrap()
            .starts_with("sandbox-")
    );
    let books = m.assert_books().await;
    assert_eq!(books["held"], 100_000, "one payment");

    // Same key, another request: 422. Another key: already paid.
    let res = m
        .post_key(&path, &buyer, "pay-1", json!({"sandbox": "fail"}))
        .await;
    assert_problem(res, 422, "idempotency_key_reused").await;
    let res = m.post_key(&path, &buyer, "pay-2", json!({})).await;
    assert_problem(res, 409, "already_paid").await;
    // No key: 400.
    let res = m
        .call(Method::POST, &path, Some(&buyer), None, Some(json!({})))
        .await;
    assert_problem(res, 400, "idempotency_key_required").await;
    m.assert_books().await;
}
on_both!(
    fifty_replays_of_one_payment,
    "ali-2020",
    START,
    fifty_concurrent_replays_of_one_payment_key_make_one_payment_on_sqlite,
    fifty_concurrent_replays_of_one_payment_key_make_one_payment_on_postgres
);

/// 50 concurrent refund requests with different keys: one opens, the rest are refused with
/// `refund_in_progress`; the total refunded never exceeds what was paid.
async fn fifty_racing_refund_requests(m: &Market) {
    let (provider, seller) = m.provider("isv-race@example.com").await;
    let buyer = m.buyer("buyer-race@example.com").await;
    let product = m
        .product(provider, "image", "one_off", "800.00", "no_refund")
        .await;
    let order = m.place(&buyer, &product).await;
    m.pay(&buyer, &order).await;
    let path = format!("/api/v1/orders/{order}/refunds");
    let answers: Vec<(u16, Value)> = m
        .concurrent_posts(
            &path,
            &buyer,
            (0..50).map(|i| format!("refund-{i}")).collect(),
            json!({"note": "race"}),
        )
        .await
        .into_iter()
        .map(|(s, b)| (s, serde_json::from_str(&b).unwrap()))
        .collect();
    let won: Vec<_> = answers.iter().filter(|(s, _)| *s == 200).collect();
    assert_eq!(won.len(), 1, "exactly one refund request opens");
    for (status, body) in answers.iter().filter(|(s, _)| *s != 200) {
        assert_eq!(*status, 409, "{body}");
        assert_eq!(body["code"], "refund_in_progress", "{body}");
    }
    let view = m.order(&buyer, &order).await;
    assert_eq!(view["order"]["refunds"].as_array().unwrap().len(), 1);

    // The provider's acceptance, replayed concurrently with one key: one refund.
    let accept = format!("/api/v1/orders/{order}/refunds/current/acceptance");
    let answers = m
        .concurrent_posts(
            &accept,
            &seller,
            vec!["accept-race".to_owned(); 10],
            json!({}),
        )
        .await;
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
    let refunded: Value = serde_json::from_str(&answers[0].1).unwrap();
    assert_eq!(refunded["refunded"], "800.00");
    assert!(money(&refunded["refunded"]) <= money(&refunded["order"]["total"]));
    // Nothing more can be refunded, by request or directly.
    let res = m.post_key(&path, &buyer, "refund-again", json!({})).await;
    assert_problem(res, 409, "already_refunded").await;
    let cs = m.customer_service("cs-race@yunshi.example").await;
    let res = m
        .post_key(
            &format!("/api/v1/orders/{order}/direct-refunds"),
            &cs,
            "direct-race",
            json!({"ground": "service_quality_loss", "award": {"kind": "full"}}),
        )
        .await;
    assert_problem(res, 409, "already_refunded").await;
    let books = m.assert_books().await;
    assert_eq!(books["held"], 0);
}
on_both!(
    fifty_racing_refund_requests,
    "ali-2020",
    START,
    fifty_concurrent_refund_requests_make_exactly_one_refund_on_sqlite,
    fifty_concurrent_refund_requests_make_exactly_one_refund_on_postgres
);

/// Decline → escalate → operator customer service decides a partial amount; only the
/// refund-arbitration capability may decide; API products cannot be refunded.
async fn arbitration_and_refusals(m: &Market) {
    let (provider, seller) = m.provider("isv-arb@example.com").await;
    let buyer = m.buyer("buyer-arb@example.com").await;
    let cs = m.customer_service("cs@yunshi.example").await;
    let (_, reviewer) = m
        .user(
            "reviewer@yunshi.example",
            json!({"type": "operator_staff", "roles": ["reviewer"]}),
        )
        .await;
    let image = m
        .product(provider, "image", "one_off", "1000.00", "no_refund")
        .await;
    let api = m
        .product(provider, "api", "one_off", "50.00", "no_refund")
        .await;
    let order = m.place(&buyer, &image).await;
    m.pay(&buyer, &order).await;
    let path = |p: &str| format!("/api/v1/orders/{order}/{p}");
    ok(
        m.post_key(&path("refunds"), &buyer, "r1", json!({"note": "功能不符"}))
            .await,
    )
    .await;
    ok(m.post(
        &path("refunds/current/decline"),
        &seller,
        json!({"note": "功能与描述一致"}),
    )
    .await)
    .await;
    let decision = |award: Value| json!({"decision": "refund", "award": award, "note": "部分交付"});
    // Not escalated yet.
    let res = m
        .post_key(
            &path("refunds/current/decision"),
            &cs,
            "d0",
            decision(json!({"kind": "full"})),
        )
        .await;
    assert_problem(res, 409, "refund_not_escalated").await;
    ok(
        m.post(&path("refunds/current/escalation"), &buyer, json!({}))
            .await,
    )
    .await;
    // Only customer service decides.
    let res = m
        .post_key(
            &path("refunds/current/decision"),
            &reviewer,
            "d1",
            decision(json!({"kind": "full"})),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    let res = m
        .post_key(
            &path("refunds/current/decision"),
            &seller,
            "d1",
            decision(json!({"kind": "full"})),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    // Negative and absurd amounts are refused, nothing written.
    let before = m.assert_books().await;
    let res = m
        .post_key(
            &path("refunds/current/decision"),
            &cs,
            "d2",
            decision(json!({"kind": "amount", "amount": "-5.00"})),
        )
        .await;
    assert_problem(res, 422, "invalid_order_terms").await;
    let res = m
        .post_key(
            &path("refunds/current/decision"),
            &cs,
            "d3",
            decision(json!({"kind": "amount", "amount": "1000000.00"})),
        )
        .await;
    assert_problem(res, 422, "refund_exceeds_paid").await;
    assert_eq!(m.assert_books().await, before);
    let decided = ok(m
        .post_key(
            &path("refunds/current/decision"),
            &cs,
            "d4",
            decision(json!({"kind": "amount", "amount": "300.00"})),
        )
        .await)
    .await;
    assert_eq!(decided["refunded"], "300.00");
    assert_eq!(decided["order"]["escrow"], "700.00");
    assert_eq!(decided["order"]["refunds"][0]["status"], "refunded");
    let books = m.assert_books().await;
    assert_eq!(books["held"], 70_000);

    // The operator refunds the rest directly; the total stays within what was paid.
    let direct = ok(m
        .post_key(
            &path("direct-refunds"),
            &cs,
            "d5",
            json!({"ground": "service_quality_loss", "award": {"kind": "full"}, "note": "质量问题"}),
        )
        .await)
    .await;
    assert_eq!(direct["refunded"], "1000.00");
    assert_eq!(direct["order"]["status"], "refunded");
    m.assert_books().await;

    // API products: no refund, with a clear error.
    let api_order = m.place(&buyer, &api).await;
    let paid = m.pay(&buyer, &api_order).await;
    assert_eq!(
        paid["order"]["status"], "released",
        "no window: settleable at once"
    );
    let res = m
        .post_key(
            &format!("/api/v1/orders/{api_order}/refunds"),
            &buyer,
            "r-api",
            json!({}),
        )
        .await;
    let problem = assert_problem(res, 409, "not_refundable").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("Api"),
        "{problem}"
    );
    m.assert_books().await;
}
on_both!(
    arbitration_and_refusals,
    "ali-2020",
    START,
    refund_escalated_to_customer_service_is_decided_partially_and_api_is_not_refundable_on_sqlite,
    refund_escalated_to_customer_service_is_decided_partially_and_api_is_not_refundable_on_postgres
);

/// Tenancy: buyer B cannot read or pay buyer A's order, provider B cannot see provider A's;
/// provider A sees its order.
async fn tenancy(m: &Market) {
    let (provider_a, seller_a) = m.provider("isv-a@example.com").await;
    let (_, seller_b) = m.provider("isv-b@example.com").await;
    let buyer_a = m.buyer("buyer-a@example.com").await;
    let buyer_b = m.buyer("buyer-b@example.com").await;
    let product = m
        .product(provider_a, "image", "one_off", "100.00", "no_refund")
        .await;
    let order = m.place(&buyer_a, &product).await;
    let path = format!("/api/v1/orders/{order}");
    assert_problem(m.get(&path, &buyer_b).await, 404, "not_found").await;
    assert_problem(m.get(&path, &seller_b).await, 404, "not_found").await;
    assert_problem(
        m.post_key(&format!("{path}/payments"), &buyer_b, "k", json!({}))
            .await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        m.get("/api/v1/orders/not-a-uuid", &buyer_a).await,
        404,
        "not_found",
    )
    .await;
    let seen = m.order(&seller_a, &order).await;
    assert_eq!(seen["order"]["id"], order.as_str());
    // The provider cannot pay on the buyer's behalf.
    assert_problem(
        m.post_key(&format!("{path}/payments"), &seller_a, "k", json!({}))
            .await,
        403,
        "forbidden",
    )
    .await;
    // Lists: each sees only its own.
    let mine = ok(m.get("/api/v1/orders", &buyer_a).await).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    let theirs = ok(m.get("/api/v1/orders", &buyer_b).await).await;
    assert_eq!(theirs["items"].as_array().unwrap().len(), 0);
    let sellers = ok(m.get("/api/v1/orders", &seller_a).await).await;
    assert_eq!(sellers["items"].as_array().unwrap().len(), 1);
    let others = ok(m.get("/api/v1/orders", &seller_b).await).await;
    assert_eq!(others["items"].as_array().unwrap().len(), 0);
    // No token: 401.
    let res = m.call(Method::GET, &path, None, None, None).await;
    assert_problem(res, 401, "unauthorized").await;
}
on_both!(
    tenancy,
    "ali-2020",
    START,
    buyer_a_cannot_read_buyer_b_order_on_sqlite,
    buyer_a_cannot_read_buyer_b_order_on_postgres
);

/// Bad input: malformed JSON, wrong types, unknown fields, bad quantities → 4xx problems,
/// never 500, and nothing written.
async fn bad_input(m: &Market) {
    let (provider, _) = m.provider("isv-bad@example.com").await;
    let buyer = m.buyer("buyer-bad@example.com").await;
    let product = m
        .product(provider, "image", "one_off", "100.00", "no_refund")
        .await;
    let before = m.assert_books().await;
    let raw = |body: &'static str| {
        m.request(Method::POST, "/api/v1/orders", Some(&buyer), None)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    assert_problem(
        raw("{\"product_id\": ").await.unwrap(),
        400,
        "invalid_request",
    )
    .await;
    assert_problem(
        m.post(
            "/api/v1/orders",
            &buyer,
            json!({"product_id": product, "colour": "red"}),
        )
        .await,
        422,
        "invalid_request",
    )
    .await;
    assert_problem(
        m.post(
            "/api/v1/orders",
            &buyer,
            json!({"product_id": product, "quantity": -1}),
        )
        .await,
        422,
        "invalid_request",
    )
    .await;
    assert_problem(
        m.post(
            "/api/v1/orders",
            &buyer,
            json!({"product_id": product, "quantity": 0}),
        )
        .await,
        422,
        "invalid_order_terms",
    )
    .await;
    assert_problem(
        m.post(
            "/api/v1/orders",
            &buyer,
            json!({"product_id": Uuid::now_v7()}),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(m.assert_books().await, before, "nothing written");

    let order = m.place(&buyer, &product).await;
    let pay = format!("/api/v1/orders/{order}/payments");
    assert_problem(
        m.post_key(&pay, &buyer, "p", json!({"sandbox": "maybe"}))
            .await,
        422,
        "invalid_request",
    )
    .await;
    assert_problem(
        m.post_key(&pay, &buyer, "p", json!({"amount": "-1.00"}))
            .await,
        422,
        "invalid_request",
    )
    .await;
    m.pay(&buyer, &order).await;
    let rate = format!("/api/v1/orders/{order}/rating");
    assert_problem(
        m.post(&rate, &buyer, json!({"score": 6, "text": "x"}))
            .await,
        422,
        "score_out_of_scale",
    )
    .await;
    assert_problem(
        m.post(&rate, &buyer, json!({"score": "five"})).await,
        422,
        "invalid_request",
    )
    .await;
    let refunds = format!("/api/v1/orders/{order}/refunds");
    assert_problem(
        m.post_key(&refunds, &buyer, "r", json!({"reason": "whatever"}))
            .await,
        422,
        "invalid_request",
    )
    .await;
    let view = m.order(&buyer, &order).await;
    assert!(view["order"]["rating"].is_null());
    assert_eq!(view["order"]["refunds"].as_array().unwrap().len(), 0);
    m.assert_books().await;
}
on_both!(
    bad_input,
    "ali-2020",
    START,
    bad_input_is_refused_with_4xx_and_nothing_is_written_on_sqlite,
    bad_input_is_refused_with_4xx_and_nothing_is_written_on_postgres
);

/// One rating per paid order; the product's average is kept current.
async fn ratings(m: &Market) {
    let (provider, _) = m.provider("isv-rate@example.com").await;
    let buyer = m.buyer("buyer-rate@example.com").await;
    let product = m
        .product(provider, "application", "one_off", "10.00", "no_refund")
        .await;
    let unpaid = m.place(&buyer, &product).await;
    assert_problem(
        m.post(
            &format!("/api/v1/orders/{unpaid}/rating"),
            &buyer,
            json!({"score": 5}),
        )
        .await,
        409,
        "not_paid",
    )
    .await;
    for score in [5, 4] {
        let order = m.place(&buyer, &product).await;
        m.pay(&buyer, &order).await;
        let path = format!("/api/v1/orders/{order}/rating");
        let rated = ok(m
            .post(&path, &buyer, json!({"score": score, "text": "好用"}))
            .await)
        .await;
        assert_eq!(rated["order"]["rating"]["text"], "好用");
        assert_problem(
            m.post(&path, &buyer, json!({"score": 1})).await,
            409,
            "already_rated",
        )
        .await;
    }
    let rating = ok(m
        .get(&format!("/api/v1/product-ratings/{product}"), &buyer)
        .await)
    .await;
    assert_eq!(rating["count"], 2);
    assert_eq!(rating["average"], "4.5");
    m.assert_books().await;
}
on_both!(
    ratings,
    "ali-2020",
    START,
    one_rating_per_paid_order_keeps_the_product_average_on_sqlite,
    one_rating_per_paid_order_keeps_the_product_average_on_postgres
);

/// Pay-later orders are in use at once with nothing in the ledger, and count once paid;
/// unpaid orders can be cancelled, and a cancelled order cannot be paid; a refund request
/// can be withdrawn, and the buyer accepts early to release the escrow.
async fn pay_later_cancel_withdraw_accept(m: &Market) {
    let (provider, _) = m.provider("isv-later@example.com").await;
    let buyer = m.buyer("buyer-later@example.com").await;
    let product = m
        .product(provider, "application", "one_off", "200.00", "no_refund")
        .await;
    let res = m
        .post(
            "/api/v1/orders",
            &buyer,
            json!({"product_id": product, "payment_terms": "pay_later"}),
        )
        .await;
    let later = json_of(res, 201).await;
    assert_eq!(later["order"]["status"], "in_use_unpaid");
    assert_eq!(later["order"]["purchased_on"], "2026-07-01");
    assert_eq!(m.assert_books().await["held"], 0, "nothing until paid");
    let later = later["order"]["id"].as_str().unwrap().to_owned();
    assert_eq!(m.pay(&buyer, &later).await["order"]["status"], "held");
    assert_eq!(m.assert_books().await["held"], 20_000);
    assert_eq!(m.fired().await, 1, "a pay-later order is a sale once paid");

    let unpaid = m.place(&buyer, &product).await;
    let cancelled = ok(m
        .post(
            &format!("/api/v1/orders/{unpaid}/cancellation"),
            &buyer,
            json!({}),
        )
        .await)
    .await;
    assert_eq!(cancelled["order"]["status"], "cancelled");
    let res = m
        .post_key(
            &format!("/api/v1/orders/{unpaid}/payments"),
            &buyer,
            "pc",
            json!({}),
        )
        .await;
    assert_problem(res, 409, "invalid_transition").await;

    let path = |p: &str| format!("/api/v1/orders/{later}/{p}");
    ok(m.post_key(&path("refunds"), &buyer, "w1", json!({})).await).await;
    assert_problem(
        m.post(&path("receipt"), &buyer, json!({})).await,
        409,
        "refund_in_progress",
    )
    .await;
    let withdrawn = ok(m
        .post(&path("refunds/current/withdrawal"), &buyer, json!({}))
        .await)
    .await;
    assert_eq!(withdrawn["order"]["refunds"][0]["status"], "withdrawn");
    let accepted = ok(m.post(&path("receipt"), &buyer, json!({})).await).await;
    assert_eq!(accepted["order"]["status"], "released");
    assert_eq!(accepted["order"]["release"]["trigger"], "buyer_accepted");
    assert_eq!(accepted["countdown"]["state"], "ended");
    assert_eq!(m.assert_books().await["held"], 0);
    // The accepted order's window deadline was cancelled: nothing fires later.
    m.advance_days(10);
    assert_eq!(m.fired().await, 0);
    m.assert_books().await;
}
on_both!(
    pay_later_cancel_withdraw_accept,
    "ali-2020",
    START,
    pay_later_orders_count_once_paid_and_early_acceptance_releases_escrow_on_sqlite,
    pay_later_orders_count_once_paid_and_early_acceptance_releases_escrow_on_postgres
);

/// Every order id `token` lists with `query`, page by page (`limit=2`): no page is longer
/// than the limit, and `next` is absent exactly on the last page.
async fn listed(m: &Market, token: &str, query: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/orders?limit=2{query}");
        if let Some(a) = &after {
            path.push_str(&format!("&after={a}"));
        }
        let page = ok(m.get(&path, token).await).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2, "{page}");
        ids.extend(
            items
                .iter()
                .map(|o| o["order"]["id"].as_str().unwrap().to_owned()),
        );
        match page["next"].as_str() {
            Some(next) => {
                assert_eq!(items.len(), 2, "a page before the last is full: {page}");
                assert_eq!(Some(next), ids.last().map(String::as_str));
                after = Some(next.to_owned());
            }
            None => return ids,
        }
    }
}

/// Provider listing: provider A's staff and the member that applied for A list exactly A's
/// orders (paid or not, page by page, by status through the provider index), never B's; a
/// buyer lists only its own; operator staff list all.
async fn provider_lists(m: &Market) {
    let (provider_b, seller_b) = m.provider("isv-list-b@example.com").await;
    let (_, applicant) = m
        .user(
            "applicant-list-a@example.com",
            json!({"type": "member", "member_kind": "enterprise"}),
        )
        .await;
    let app = json_of(
        m.post(
            "/api/v1/onboarding/applications",
            &applicant,
            json!({"store_name": "云帆列表测试店"}),
        )
        .await,
        201,
    )
    .await;
    let provider_a: Uuid = app["application"]["provider"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let (_, staff_a) = m
        .user(
            "staff-list-a@example.com",
            json!({"type": "provider_staff", "provider_id": provider_a, "role": "owner"}),
        )
        .await;
    let product_a = m
        .product(provider_a, "image", "one_off", "100.00", "no_refund")
        .await;
    let product_b = m
        .product(provider_b, "image", "one_off", "200.00", "no_refund")
        .await;
    let buyer_1 = m.buyer("list-buyer-1@example.com").await;
    let buyer_2 = m.buyer("list-buyer-2@example.com").await;
    let (mut of_a, mut of_b, mut of_1, mut of_2) = (vec![], vec![], vec![], vec![]);
    for i in 0..5 {
        let (buyer, mine) = if i % 2 == 0 {
            (&buyer_1, &mut of_1)
        } else {
            (&buyer_2, &mut of_2)
        };
        let a = m.place(buyer, &product_a).await;
        let b = m.place(buyer, &product_b).await;
        mine.extend([a.clone(), b.clone()]);
        of_a.push(a);
        of_b.push(b);
    }
    m.pay(&buyer_1, &of_a[0]).await;
    m.pay(&buyer_1, &of_a[2]).await;
    m.pay(&buyer_2, &of_b[1]).await;

    assert_eq!(listed(m, &staff_a, "").await, of_a, "A's staff");
    assert_eq!(listed(m, &applicant, "").await, of_a, "A's applicant");
    assert_eq!(
        listed(m, &applicant, "&as=provider").await,
        of_a,
        "A's applicant, explicitly"
    );
    assert_eq!(listed(m, &seller_b, "").await, of_b, "B's staff");
    assert_eq!(listed(m, &buyer_1, "").await, of_1, "buyer 1");
    assert_eq!(listed(m, &buyer_2, "").await, of_2, "buyer 2");
    assert!(
        listed(m, &applicant, "&as=buyer").await.is_empty(),
        "the applicant bought nothing"
    );
    // By status, through the index that follows each order's status.
    assert_eq!(
        listed(m, &staff_a, "&status=held").await,
        vec![of_a[0].clone(), of_a[2].clone()]
    );
    assert_eq!(
        listed(m, &staff_a, "&status=awaiting_payment").await,
        vec![of_a[1].clone(), of_a[3].clone(), of_a[4].clone()]
    );
    assert_eq!(
        listed(m, &seller_b, "&status=held").await,
        vec![of_b[1].clone()]
    );
    // Provider staff are no buyers.
    assert_problem(
        m.get("/api/v1/orders?as=buyer", &staff_a).await,
        403,
        "forbidden",
    )
    .await;
    // Operator staff list every order.
    let cs = m.customer_service("cs-list@example.com").await;
    let all = listed(m, &cs, "").await;
    assert_eq!(all.len(), 10);
    let mut expected: Vec<String> = of_a.iter().chain(&of_b).cloned().collect();
    expected.sort();
    assert_eq!(all, expected);
    m.assert_books().await;
}
on_both!(
    provider_lists,
    "ali-2020",
    START,
    a_provider_and_its_applicant_list_exactly_the_providers_orders_on_sqlite,
    a_provider_and_its_applicant_list_exactly_the_providers_orders_on_postgres
);

/// Sales: a paid order counts one sale of its product (counted by a deadline the payment
/// schedules, off the payment's critical path); an unpaid order or a replayed payment counts
/// nothing; a full refund uncounts it once. The catalogue shows the count and sorts by it.
async fn sales(m: &Market) {
    let (provider, seller) = m.provider("isv-sales@example.com").await;
    let buyer = m.buyer("buyer-sales@example.com").await;
    let quiet = m
        .product(provider, "image", "one_off", "100.00", "no_refund")
        .await;
    let popular = m
        .product(provider, "image", "one_off", "300.00", "no_refund")
        .await;
    let first = m.place(&buyer, &popular).await;
    let second = m.place(&buyer, &popular).await;
    let _unpaid = m.place(&buyer, &quiet).await;
    m.pay(&buyer, &first).await;
    let key = "pay-second-once";
    for _ in 0..2 {
        let res = m
            .post_key(
                &format!("/api/v1/orders/{second}/payments"),
                &buyer,
                key,
                json!({}),
            )
            .await;
        assert_eq!(ok(res).await["order"]["status"], "held");
    }
    assert_eq!(m.fired().await, 2, "one sale count per paid order");
    assert_eq!(m.fired().await, 0, "each counts once");

    let catalogue = |query: &'static str| async move {
        ok(m.call(
            Method::GET,
            &format!("/api/v1/catalogue{query}"),
            None,
            None,
            None,
        )
        .await)
        .await
    };
    let page = catalogue("?sort=sales").await;
    assert_eq!(page["items"][0]["product"], popular.as_str(), "{page}");
    assert_eq!(page["items"][0]["sales"], 2, "{page}");
    assert_eq!(page["items"][1]["product"], quiet.as_str(), "{page}");
    assert_eq!(page["items"][1]["sales"], 0, "{page}");
    let product = ok(m
        .call(
            Method::GET,
            &format!("/api/v1/catalogue/{popular}"),
            None,
            None,
            None,
        )
        .await)
    .await;
    assert_eq!(product["sales"], 2, "{product}");
    let own = ok(m.get(&format!("/api/v1/products/{popular}"), &seller).await).await;
    assert_eq!(own["sales"], 2, "{own}");

    // A full refund inside the window uncounts the sale, once.
    ok(m.post_key(
        &format!("/api/v1/orders/{first}/refunds"),
        &buyer,
        "refund-sales",
        json!({}),
    )
    .await)
    .await;
    let refunded = ok(m
        .post_key(
            &format!("/api/v1/orders/{first}/refunds/current/acceptance"),
            &seller,
            "accept-sales",
            json!({}),
        )
        .await)
    .await;
    assert_eq!(refunded["order"]["status"], "refunded");
    assert_eq!(m.fired().await, 1, "the refund's uncount");
    assert_eq!(m.fired().await, 0);
    let page = catalogue("?sort=sales").await;
    assert_eq!(page["items"][0]["product"], popular.as_str(), "{page}");
    assert_eq!(page["items"][0]["sales"], 1, "{page}");
    m.assert_books().await;
}
on_both!(
    sales,
    "ali-2020",
    START,
    a_paid_order_counts_one_sale_until_refunded_in_full_on_sqlite,
    a_paid_order_counts_one_sale_until_refunded_in_full_on_postgres
);

/// A dead-lettered SaaS `create` marks the order "delivery failed" (with the time), in the
/// batch that dead-letters the delivery; money is untouched (still held, nothing refunded);
/// a successful manual retry marks it delivered, keeping when it had failed.
async fn delivery_failure(m: &Market) {
    let (provider, seller) = m.provider("isv-saas-fail@example.com").await;
    let buyer = m.buyer("buyer-saas-fail@example.com").await;
    let receiver = crate::deliveries::Receiver::start(500).await;
    let res = m
        .call(
            Method::PUT,
            "/api/v1/webhooks/endpoint",
            Some(&seller),
            None,
            Some(json!({"url": receiver.url})),
        )
        .await;
    json_of(res, 200).await;
    let saas = m
        .product(provider, "saas", "monthly", "99.00", "no_refund")
        .await;
    let order = m.place(&buyer, &saas).await;
    let paid = m.pay(&buyer, &order).await;
    assert_eq!(paid["order"]["delivery"]["status"], "pending", "{paid}");
    let books = m.assert_books().await;

    // The first round sends attempt 1 and counts the sale; then one attempt per round.
    assert_eq!(m.fired().await, 2);
    let deliveries = ok(m.get("/api/v1/webhooks/deliveries", &seller).await).await;
    let delivery = deliveries["items"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/webhooks/deliveries/{delivery}");
    loop {
        let d = ok(m.get(&path, &seller).await).await;
        if d["status"] == "dead_lettered" {
            break;
        }
        let seen = m.order(&buyer, &order).await;
        assert_eq!(seen["order"]["delivery"]["status"], "pending", "{seen}");
        let next: Timestamp = d["next_attempt_at"].as_str().unwrap().parse().unwrap();
        m.advance(next.duration_since(m.now()));
        assert_eq!(m.fired().await, 1);
    }
    assert_eq!(receiver.hits().len(), 6);
    let failed_when = m.now();
    for token in [&buyer, &seller] {
        let seen = m.order(token, &order).await;
        let delivery = &seen["order"]["delivery"];
        assert_eq!(delivery["status"], "failed", "{seen}");
        let at: Timestamp = delivery["failed_at"].as_str().unwrap().parse().unwrap();
        assert_eq!(at, failed_when);
        assert_eq!(seen["order"]["status"], paid["order"]["status"], "{seen}");
        assert_eq!(seen["order"]["escrow"], paid["order"]["escrow"], "{seen}");
        assert_eq!(seen["refunded"], "0.00", "{seen}");
    }
    let after = m.assert_books().await;
    assert_eq!(after["held"], books["held"], "money untouched");
    assert_eq!(after["escrow_balance"], books["escrow_balance"]);

    // The provider repairs its endpoint and retries: delivered, the failure on record.
    receiver.answer(200);
    let res = m
        .call(
            Method::POST,
            &format!("{path}/retry"),
            Some(&seller),
            None,
            None,
        )
        .await;
    json_of(res, 202).await;
    assert_eq!(m.fired().await, 1);
    let seen = m.order(&buyer, &order).await;
    let delivery = &seen["order"]["delivery"];
    assert_eq!(delivery["status"], "delivered", "{seen}");
    assert!(delivery["delivered_at"].is_string(), "{seen}");
    let at: Timestamp = delivery["failed_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(at, failed_when);
    assert_eq!(m.assert_books().await["held"], books["held"]);
}
on_both!(
    delivery_failure,
    "ali-2020",
    START,
    a_dead_lettered_create_marks_the_order_delivery_failed_without_touching_money_on_sqlite,
    a_dead_lettered_create_marks_the_order_delivery_failed_without_touching_money_on_postgres
);

#[tokio::test]
async fn order_endpoints_are_in_the_openapi_document() {
    let m = Market::start().await;
    let doc = ok(m
        .call(Method::GET, "/api/v1/openapi.json", None, None, None)
        .await)
    .await;
    for path in [
        "/api/v1/orders",
        "/api/v1/orders/{id}",
        "/api/v1/orders/{id}/payments",
        "/api/v1/orders/{id}/refunds",
        "/api/v1/orders/{id}/refunds/current/decision",
        "/api/v1/orders/{id}/acceptance",
        "/api/v1/orders/{id}/rating",
        "/api/v1/product-ratings/{id}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} not documented");
    }
    assert!(doc["components"]["schemas"]["OrderView"]["example"].is_object());
    let params: Vec<&str> = doc["paths"]["/api/v1/orders"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(params.contains(&"as"), "{params:?}");
    let _ = m.now();
    m.stop().await;
}
