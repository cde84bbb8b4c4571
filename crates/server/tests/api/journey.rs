//! Issue 3's acceptance walk, end to end over real HTTP on a simulated clock, on SQLite and
//! (when `YUNSHI_TEST_PG` names a server) PostgreSQL: operator staff → a member registers,
//! applies and is admitted as a provider → lists an image, a service and a SaaS product
//! (one flagged for "最优", fixed, approved) → a buyer finds and buys them → refunds inside and
//! outside the window → service milestones, acceptance, warranty → SaaS create delivered to a
//! real local receiver that checks the signature, and dead-lettered at a failing one. After
//! every step the trial balance is zero and the escrow account holds exactly what the held
//! orders hold.
//!
//! The deadlines fire through the test-only `/test/fire-due` route, and `/test/events` shows
//! `saas.delivery_failed` (see [`crate::test_routes`]).

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, KeyInit, Mac};
use jiff::Timestamp;
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::helpers::{
    ADMIN_TOKEN, Market, RULEBOOK, START, assert_problem, fen, json_of, ok, on_postgres,
};

pub(crate) const PASSWORD: &str = "云市场 Passw0rd";
pub(crate) const PDF: &[u8] = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n";
pub(crate) const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01";

// ---- a webhook receiver that checks the signature ----

/// One request the receiver got, and whether its signature was right.
#[derive(Clone)]
struct Hit {
    headers: HeaderMap,
    body: Bytes,
    signature_ok: bool,
}

#[derive(Clone)]
struct ReceiverState {
    /// The endpoint secret the provider got when it registered this receiver.
    secret: Arc<Mutex<Option<String>>>,
    /// A failing receiver answers 500 to everything.
    failing: bool,
    hits: Arc<Mutex<Vec<Hit>>>,
}

/// `sha256=<hex HMAC-SHA256 over "<timestamp>.<body>">`, as the docs of
/// `PUT /api/v1/webhooks/endpoint` describe it.
fn signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

async fn receive(
    State(s): State<ReceiverState>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let secret = s.secret.lock().unwrap().clone();
    let signature_ok = secret.is_some_and(|secret| {
        header("x-yunshi-signature") == signature(&secret, &header("x-yunshi-timestamp"), &body)
    });
    s.hits.lock().unwrap().push(Hit {
        headers: headers.clone(),
        body,
        signature_ok,
    });
    if s.failing {
        (StatusCode::INTERNAL_SERVER_ERROR, "boom")
    } else if signature_ok {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::UNAUTHORIZED, "bad signature")
    }
}

pub(crate) struct Receiver {
    pub(crate) url: String,
    state: ReceiverState,
}

impl Receiver {
    pub(crate) async fn start(failing: bool) -> Receiver {
        let state = ReceiverState {
            secret: Arc::default(),
            failing,
            hits: Arc::default(),
        };
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            url: format!("http://{addr}/hook"),
            state,
        }
    }

    pub(crate) fn know_secret(&self, secret: &str) {
        *self.state.secret.lock().unwrap() = Some(secret.to_owned());
    }

    fn hits(&self) -> Vec<Hit> {
        self.state.hits.lock().unwrap().clone()
    }
}

// ---- the walk's steps ----

impl Market {
    pub(crate) async fn upload(
        &self,
        app: &str,
        token: &str,
        kind: &str,
        ct: &str,
        bytes: Vec<u8>,
    ) -> Value {
        let path = format!("/api/v1/onboarding/applications/{app}/materials?kind={kind}");
        let res = self
            .request(Method::POST, &path, Some(token), None)
            .header("content-type", ct)
            .body(bytes)
            .send()
            .await
            .unwrap();
        json_of(res, 201).await
    }

    /// Uploads an evidence file (`POST /api/v1/evidence`): the raw answer.
    pub(crate) async fn upload_evidence(
        &self,
        token: &str,
        ct: &str,
        bytes: &'static [u8],
    ) -> reqwest::Response {
        self.request(Method::POST, "/api/v1/evidence", Some(token), None)
            .header("content-type", ct)
            .body(bytes)
            .send()
            .await
            .unwrap()
    }

    /// Operator staff created by the bootstrap admin, with an API token.
    pub(crate) async fn staff(&self, email: &str, kind: Value) -> String {
        let res = self
            .post(
                "/api/v1/admin/users",
                ADMIN_TOKEN,
                json!({"email": email, "display_name": "员工", "kind": kind}),
            )
            .await;
        let id = json_of(res, 201).await["user"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let res = self
            .post(
                &format!("/api/v1/admin/users/{id}/tokens"),
                ADMIN_TOKEN,
                json!({"label": "automation"}),
            )
            .await;
        json_of(res, 201).await["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub(crate) async fn register(&self, email: &str, name: &str, kind: &str) -> Value {
        let res = self
            .call(
                Method::POST,
                "/api/v1/members",
                None,
                None,
                Some(json!({
                    "email": email, "password": PASSWORD, "display_name": name, "kind": kind
                })),
            )
            .await;
        json_of(res, 201).await
    }

    /// Logs in (sessions last 12 hours of the simulated clock): the session token.
    pub(crate) async fn login(&self, email: &str) -> String {
        let res = self
            .call(
                Method::POST,
                "/api/v1/sessions",
                None,
                None,
                Some(json!({"email": email, "password": PASSWORD})),
            )
            .await;
        json_of(res, 201).await["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub(crate) async fn order(&self, token: &str, order: &str) -> Value {
        ok(self.get(&format!("/api/v1/orders/{order}"), token).await).await
    }

    /// Places an order and pays it with an Idempotency-Key; a replay with the same key
    /// answers the same and charges nothing. Returns (order id, paid view).
    pub(crate) async fn buy(&self, buyer: &str, product: &str, key: &str) -> (String, Value) {
        let placed = json_of(
            self.post("/api/v1/orders", buyer, json!({"product_id": product}))
                .await,
            201,
        )
        .await;
        assert_eq!(placed["order"]["status"], "awaiting_payment", "{placed}");
        let id = placed["order"]["id"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/orders/{id}/payments");
        let paid = ok(self.post_key(&path, buyer, key, json!({})).await).await;
        let replay = ok(self.post_key(&path, buyer, key, json!({})).await).await;
        assert_eq!(replay, paid, "a replay answers the same");
        (id, paid)
    }

    async fn delivery(&self, token: &str, id: &str) -> Value {
        ok(self
            .get(&format!("/api/v1/webhooks/deliveries/{id}"), token)
            .await)
        .await
    }

    /// The provider's deliveries for `order`.
    async fn deliveries_of(&self, token: &str, order: &str) -> Vec<Value> {
        let page = ok(self.get("/api/v1/webhooks/deliveries", token).await).await;
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["order_id"] == order)
            .cloned()
            .collect()
    }
}

pub(crate) fn status_of(app: &Value) -> &str {
    app["application"]["status"]["status"].as_str().unwrap()
}

/// A listing every built-in rulebook accepts, with `description` as given.
pub(crate) fn content(title: &str, description: &str) -> Value {
    json!({
        "title": title,
        "images": ["upload:cover"],
        "attributes": [{"name": "部署方式", "value": "镜像部署"}],
        "description": description,
        "terms": "购买即表示同意本产品服务协议。",
        "delisting_strategy": "下架后已购用户可继续使用至服务期满，数据可随时导出。",
        "open_source": [{"name": "restic", "licence": "BSD-2-Clause"}],
        "own_product_page": "https://www.example-isv.cn/backup-pro",
        "refund_terms": "担保期外不予退款。"
    })
}

// ---- the walk ----

async fn marketplace_journey(m: &Market) {
    m.books("start").await;

    // 1. The operator admin (bootstrap token) creates a reviewer and customer service.
    let reviewer = m
        .staff(
            "reviewer@yunshi.example",
            json!({"type": "operator_staff", "roles": ["reviewer"]}),
        )
        .await;
    let cs = m
        .staff(
            "cs@yunshi.example",
            json!({"type": "operator_staff", "roles": ["customer_service"]}),
        )
        .await;
    m.books("operator staff created").await;

    // 2. A member registers and logs in.
    const ISV: &str = "owner@yunfan.example";
    let member = m.register(ISV, "云帆科技", "enterprise").await;
    assert!(member["id"].is_string(), "{member}");
    let isv = m.login(ISV).await;
    m.books("member registered and logged in").await;

    // 3. Applies as a provider and uploads every required material.
    let res = m
        .post(
            "/api/v1/onboarding/applications",
            &isv,
            json!({"store_name": "云帆科技官方店"}),
        )
        .await;
    let app = json_of(res, 201).await;
    assert_eq!(status_of(&app), "draft");
    let app_id = app["application"]["id"].as_str().unwrap().to_owned();
    let provider = app["application"]["provider"].as_str().unwrap().to_owned();
    let missing: Vec<String> = serde_json::from_value(app["missing_materials"].clone()).unwrap();
    assert!(!missing.is_empty(), "{app}");
    let mut last = app;
    for kind in &missing {
        let (ct, bytes) = if kind == "legal_representative_id" {
            ("image/png", PNG)
        } else {
            ("application/pdf", PDF)
        };
        last = m.upload(&app_id, &isv, kind, ct, bytes.to_vec()).await;
    }
    assert_eq!(last["missing_materials"], json!([]), "{last}");
    m.books("applied with materials").await;
    let step = |s: &str| format!("/api/v1/onboarding/applications/{app_id}/{s}");
    let admin = |s: &str| format!("/api/v1/admin/onboarding/applications/{app_id}/{s}");
    let submitted = ok(m.post(&step("submit"), &isv, json!({})).await).await;
    assert_eq!(status_of(&submitted), "submitted");
    m.books("application submitted").await;

    // 4. The reviewer takes it up and asks for more material.
    let review = ok(m.post(&admin("review"), &reviewer, json!({})).await).await;
    assert_eq!(status_of(&review), "under_review");
    let more = ok(m
        .post(
            &admin("more-material"),
            &reviewer,
            json!({"kinds": ["business_licence"], "note": "营业执照副本不清晰，请重新上传"}),
        )
        .await)
    .await;
    assert_eq!(status_of(&more), "needs_more_material");
    m.books("reviewer asked for more material").await;

    // 5. The provider uploads a sharper licence and resubmits.
    m.upload(
        &app_id,
        &isv,
        "business_licence",
        "application/pdf",
        [PDF, b"% sharper scan\n"].concat(),
    )
    .await;
    let again = ok(m.post(&step("resubmit"), &isv, json!({})).await).await;
    assert_eq!(status_of(&again), "resubmitted");
    m.books("resubmitted").await;

    // 6. Verified and approved.
    ok(m.post(&admin("review"), &reviewer, json!({})).await).await;
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
    assert_eq!(status_of(&approved), "approved");
    m.books("application approved").await;

    // 7. The agreement in force is accepted.
    let agreement = ok(m.public_get("/api/v1/onboarding/agreement").await).await;
    let accepted = ok(m
        .post(
            &step("agreement"),
            &isv,
            json!({"agreement_id": agreement["id"]}),
        )
        .await)
    .await;
    assert_eq!(status_of(&accepted), "agreement_accepted");
    let deposit = accepted["deposit_outstanding"].as_str().unwrap().to_owned();
    assert!(fen(&deposit) > 0, "{accepted}");
    m.books("agreement accepted").await;

    // 8. The deposit, paid with an Idempotency-Key (a replay answers the same, posts
    //    nothing) → admitted, provider active, store open.
    let deposit_path = step("deposit-payments");
    let pay_deposit = || m.post_key(&deposit_path, &isv, "deposit-1", json!({"amount": deposit}));
    let paid = json_of(pay_deposit().await, 201).await;
    assert_eq!(status_of(&paid["application"]), "admitted", "{paid}");
    assert_eq!(paid["provider_status"], "active");
    assert_eq!(paid["store"]["state"]["state"], "open");
    let store = paid["store"]["store"]["id"].as_str().unwrap().to_owned();
    assert_eq!(json_of(pay_deposit().await, 201).await, paid);
    let books = m.books("deposit paid, store open").await;
    assert_eq!(
        books["deposits_held"].as_i64().unwrap().abs(),
        fen(&deposit)
    );
    let stores = ok(m.get("/api/v1/stores", &isv).await).await;
    assert_eq!(stores["items"][0]["store"]["id"], store.as_str());
    assert_eq!(stores["items"][0]["visibility"]["may_publish"], true);

    // GAP: the admitted applicant's member login acts for its provider in onboarding and the
    // catalogue (via the `provider.member` key), but orders (refund acceptance, milestones,
    // warranty) and webhooks check `Actor::acts_for_provider`, i.e. provider-staff users only,
    // and no public endpoint lets the provider add its own staff. The operator admin creates
    // the provider's owner account through the admin API, as automation would.
    let seller = m
        .staff(
            "ops@yunfan.example",
            json!({"type": "provider_staff", "provider_id": provider, "role": "owner"}),
        )
        .await;
    let probe = m
        .put(
            "/api/v1/webhooks/endpoint",
            &isv,
            json!({"url": "http://127.0.0.1:9/probe"}),
        )
        .await;
    if probe.status() != 200 {
        println!(
            "GAP: the applicant's member login cannot register the provider's webhook endpoint: {}",
            probe.status()
        );
    }
    m.books("provider staff account").await;

    // 9. The provider registers its SaaS delivery endpoint: a local receiver that checks the
    //    signature with the secret the provider got.
    let good = Receiver::start(false).await;
    let res = m
        .put(
            "/api/v1/webhooks/endpoint",
            &seller,
            json!({"url": good.url}),
        )
        .await;
    let registered = ok(res).await;
    good.know_secret(registered["secret"].as_str().unwrap());
    m.books("webhook endpoint registered").await;

    // 10. Lists an image product (one-off 1,000.00, "最优" in its description), a service
    //     product (3,000.00) and a SaaS product, in its store, with its own login.
    let create = |category: &str, pricing: &str, price: &str, listing: Value| {
        m.post(
            "/api/v1/products",
            &isv,
            json!({
                "store": store, "category": category, "sales_mode": "self_sold",
                "pricing": pricing, "price": price, "refund_policy": "no_refund",
                "content": listing
            }),
        )
    };
    let image_title = "云数据备份镜像 Backup Pro";
    let flagged = "本镜像是市场上最优的数据备份方案，支持增量备份。";
    let image = json_of(
        create("image", "one_off", "1000.00", content(image_title, flagged)).await,
        201,
    )
    .await;
    let image = image["id"].as_str().unwrap().to_owned();
    let service = json_of(
        create(
            "service",
            "one_off",
            "3000.00",
            content("数据库迁移实施服务", "专家上门完成数据库迁移与调优。"),
        )
        .await,
        201,
    )
    .await;
    let service = service["id"].as_str().unwrap().to_owned();
    let saas = json_of(
        create(
            "saas",
            "one_off",
            "500.00",
            content("云备份管理平台", "在线管理多台云服务器的备份策略。"),
        )
        .await,
        201,
    )
    .await;
    let saas = saas["id"].as_str().unwrap().to_owned();
    m.books("three products created").await;

    // 11. The automatic checks flag "最优"; submitted, the reviewer rejects citing it.
    let checks = ok(m
        .get(&format!("/api/v1/products/{image}/checks"), &isv)
        .await)
    .await;
    let findings = checks["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{checks}");
    assert_eq!(findings[0]["kind"], "absolute_claim");
    assert_eq!(findings[0]["matched"], "最优");
    for id in [&service, &saas] {
        let checks = ok(m.get(&format!("/api/v1/products/{id}/checks"), &isv).await).await;
        assert_eq!(checks["findings"], json!([]), "{checks}");
    }
    let submit = |id: String| {
        let isv = isv.clone();
        async move {
            ok(
                m.post(&format!("/api/v1/products/{id}/submit"), &isv, json!({}))
                    .await,
            )
            .await
        }
    };
    let submitted = submit(image.clone()).await;
    let finding = submitted["pending"]["submission"]["findings"][0].clone();
    assert_eq!(finding["term"], "最优", "{submitted}");
    submit(service.clone()).await;
    submit(saas.clone()).await;
    let queue = ok(m.get("/api/v1/review/listings", &reviewer).await).await;
    assert_eq!(queue["items"].as_array().unwrap().len(), 3, "{queue}");
    let rejected = ok(m
        .post(
            &format!("/api/v1/review/listings/{image}/reject"),
            &reviewer,
            json!({"findings": [finding["id"]], "note": "请删除绝对化用语"}),
        )
        .await)
    .await;
    assert_eq!(rejected["pending"]["status"], "rejected");
    m.books("listing checks flagged 最优, rejected").await;

    // 12. Fixed, resubmitted, approved — with the other two.
    let fixed = ok(m
        .put(
            &format!("/api/v1/products/{image}/draft"),
            &isv,
            json!({
                "pricing": "one_off", "price": "1000.00", "refund_policy": "no_refund",
                "content": content(image_title, "稳定可靠的数据备份方案，支持增量备份。")
            }),
        )
        .await)
    .await;
    assert_eq!(fixed["pending"]["number"], 2);
    let checks = ok(m
        .get(&format!("/api/v1/products/{image}/checks"), &isv)
        .await)
    .await;
    assert_eq!(checks["findings"], json!([]), "{checks}");
    submit(image.clone()).await;
    for id in [&image, &service, &saas] {
        let approved = ok(m
            .post(
                &format!("/api/v1/review/listings/{id}/approve"),
                &reviewer,
                json!({"acknowledged": []}),
            )
            .await)
        .await;
        assert_eq!(approved["status"], "listed", "{approved}");
    }
    m.books("fixed and approved").await;

    // 13. A buyer registers, logs in, searches the catalogue and finds them.
    const BUYER: &str = "wangfang@example.com";
    m.register(BUYER, "王芳", "personal").await;
    let buyer = m.login(BUYER).await;
    let ids = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["product"].as_str().unwrap().to_owned())
            .collect()
    };
    let mine = ok(m
        .public_get(&format!("/api/v1/catalogue?provider={provider}"))
        .await)
    .await;
    let mut found = ids(&mine);
    found.sort();
    let mut expected = vec![image.clone(), service.clone(), saas.clone()];
    expected.sort();
    assert_eq!(found, expected, "{mine}");
    // Full text, Chinese included: 数据备份 (image), 数据库迁移 (service), 备份管理 (SaaS).
    for (q, id) in [
        ("%E6%95%B0%E6%8D%AE%E5%A4%87%E4%BB%BD", &image),
        ("%E6%95%B0%E6%8D%AE%E5%BA%93%E8%BF%81%E7%A7%BB", &service),
        ("%E5%A4%87%E4%BB%BD%E7%AE%A1%E7%90%86", &saas),
    ] {
        let page = ok(m.get(&format!("/api/v1/catalogue?q={q}"), &buyer).await).await;
        assert!(ids(&page).contains(id), "q={q}: {page}");
    }
    let detail = ok(m.public_get(&format!("/api/v1/catalogue/{image}")).await).await;
    assert_eq!(detail["price"], "1000.00");
    assert_eq!(detail["refund_policy"], "no_refund");
    m.books("buyer found the products").await;

    // 14. Buys all three (two of the image), each paid with an Idempotency-Key.
    let (first, paid) = m.buy(&buyer, &image, "pay-image-1").await;
    assert_eq!(paid["order"]["status"], "held");
    assert_eq!(paid["order"]["purchased_on"], "2026-07-01");
    assert_eq!(paid["order"]["window"]["last_day"], "2026-07-05");
    m.books("bought image #1").await;
    let (second, _) = m.buy(&buyer, &image, "pay-image-2").await;
    m.books("bought image #2").await;
    let (service_order, paid) = m.buy(&buyer, &service, "pay-service").await;
    assert_eq!(paid["countdown"]["state"], "until_acceptance");
    m.books("bought the service").await;
    let (saas_order, paid) = m.buy(&buyer, &saas, "pay-saas-1").await;
    assert_eq!(paid["order"]["status"], "held");
    // GAP probe (see step 8): can the applicant's own login see its provider's order?
    let probe = m.get(&format!("/api/v1/orders/{first}"), &isv).await;
    if probe.status() != 200 {
        println!(
            "GAP: the applicant's member login cannot read its provider's order: {}",
            probe.status()
        );
    }
    let books = m.books("bought the SaaS product").await;
    assert_eq!(books["held"], fen("5500.00"));

    // 15. The SaaS create goes out at once (the deadline runner, here at the clock's time):
    //     delivered to the receiver, which found the signature right.
    let report = m.fire_due().await;
    assert_eq!(
        report["fired"], 5,
        "the SaaS create, and one sale count per paid order: {report}"
    );
    let hits = good.hits();
    assert_eq!(hits.len(), 1);
    assert!(
        hits[0].signature_ok,
        "the signature verifies with the secret"
    );
    assert_eq!(hits[0].headers["x-yunshi-event"], "create");
    let body: Value = serde_json::from_slice(&hits[0].body).unwrap();
    assert_eq!(body["order_id"], saas_order.as_str());
    assert_eq!(body["provider_id"], provider.as_str());
    let deliveries = m.deliveries_of(&seller, &saas_order).await;
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0]["status"], "delivered", "{deliveries:?}");
    assert_eq!(deliveries[0]["attempts"][0]["status_code"], 200);
    let delivered = m.order(&seller, &saas_order).await;
    assert_eq!(
        delivered["order"]["delivery"]["status"], "delivered",
        "{delivered}"
    );
    m.books("SaaS create delivered").await;
    // The catalogue counts the paid orders: image 2, service 1, SaaS 1.
    let by_sales = ok(m
        .call(
            Method::GET,
            "/api/v1/catalogue?sort=sales",
            None,
            None,
            None,
        )
        .await)
    .await;
    assert_eq!(
        by_sales["items"][0]["product"],
        image.as_str(),
        "{by_sales}"
    );
    assert_eq!(by_sales["items"][0]["sales"], 2, "{by_sales}");

    // 16. The 5th day (7.5): inside the window, the refund of image #1 is in full.
    m.advance_days(4);
    let buyer = m.login(BUYER).await;
    let report = m.fire_due().await;
    assert_eq!(
        report["fired"], 0,
        "nothing is due on the 5th day: {report}"
    );
    let requested = ok(m
        .post_key(
            &format!("/api/v1/orders/{first}/refunds"),
            &buyer,
            "refund-image-1",
            json!({"note": "不需要了"}),
        )
        .await)
    .await;
    let refund = &requested["order"]["refunds"][0];
    assert_eq!(refund["basis"], "inside_window", "{requested}");
    assert_eq!(refund["proposed"], "1000.00");
    m.books("refund requested on day 5").await;
    let refunded = ok(m
        .post_key(
            &format!("/api/v1/orders/{first}/refunds/current/acceptance"),
            &seller,
            "accept-image-1",
            json!({}),
        )
        .await)
    .await;
    assert_eq!(refunded["order"]["status"], "refunded");
    assert_eq!(refunded["refunded"], "1000.00");
    assert_eq!(refunded["order"]["escrow"], "0.00");
    let books = m.books("image #1 refunded in full").await;
    assert_eq!(books["held"], fen("4500.00"));

    // 17. The 6th day (7.6): the window has ended and its deadlines release the escrow; the
    //     declared policy ("no refund" outside the window) refuses image #2's refund.
    m.advance_days(1);
    let buyer = m.login(BUYER).await;
    let report = m.fire_due().await;
    assert!(report["fired"].as_u64().unwrap() >= 1, "{report}");
    let view = m.order(&buyer, &second).await;
    assert_eq!(view["order"]["status"], "released", "{view}");
    assert_eq!(view["order"]["release"]["trigger"], "window_ended");
    m.books("window ended on day 6").await;
    let res = m
        .post_key(
            &format!("/api/v1/orders/{second}/refunds"),
            &buyer,
            "refund-image-2",
            json!({"note": "不想要了"}),
        )
        .await;
    assert_problem(res, 409, "window_closed").await;
    let view = m.order(&buyer, &second).await;
    assert_eq!(view["refunded"], "0.00");
    m.books("image #2 refund follows the declared policy").await;

    // 18. Service: the provider registers its warranty and reports milestones, the buyer
    //     confirms each and accepts; the escrow is released and the warranty starts.
    let path = |p: &str| format!("/api/v1/orders/{service_order}/{p}");
    let warranty = ok(m.put(&path("warranty"), &seller, json!({"days": 90})).await).await;
    assert_eq!(warranty["warranty_days"], 90);
    for title in ["环境部署完成", "数据迁移完成"] {
        ok(
            m.post(&path("milestones"), &seller, json!({"title": title}))
                .await,
        )
        .await;
    }
    m.books("service milestones reported").await;
    for i in 0..2 {
        ok(m.post(
            &path(&format!("milestones/{i}/confirmation")),
            &buyer,
            json!({}),
        )
        .await)
        .await;
    }
    m.books("service milestones confirmed").await;
    let accepted = ok(m.post(&path("acceptance"), &buyer, json!({})).await).await;
    assert_eq!(accepted["order"]["status"], "released", "{accepted}");
    assert_eq!(accepted["order"]["release"]["trigger"], "buyer_accepted");
    assert_eq!(accepted["order"]["warranty"]["days"], 90);
    assert_eq!(accepted["order"]["warranty"]["last_day"], "2026-10-03");
    m.books("service accepted, warranty started").await;

    // 19. A second SaaS order, the endpoint now a receiver that always answers 500: after
    //     the retries (the clock moved to each attempt's time, the runner called) the
    //     delivery is dead-lettered and `saas.delivery_failed` recorded.
    let failing = Receiver::start(true).await;
    let registered = ok(m
        .put(
            "/api/v1/webhooks/endpoint",
            &seller,
            json!({"url": failing.url}),
        )
        .await)
    .await;
    failing.know_secret(registered["secret"].as_str().unwrap());
    let (saas_failed, paid) = m.buy(&buyer, &saas, "pay-saas-2").await;
    assert_eq!(paid["order"]["delivery"]["status"], "pending", "{paid}");
    m.books("bought the SaaS product again").await;
    let deliveries = m.deliveries_of(&seller, &saas_failed).await;
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    let delivery = deliveries[0]["id"].as_str().unwrap().to_owned();
    let mut attempts = 0;
    loop {
        let report = m.fire_due().await;
        // The first round also counts the order's sale.
        let expected = if attempts == 0 { 2 } else { 1 };
        assert_eq!(
            report["fired"],
            expected,
            "attempt {}: {report}",
            attempts + 1
        );
        attempts += 1;
        let d = m.delivery(&seller, &delivery).await;
        assert_eq!(d["attempts"].as_array().unwrap().len(), attempts, "{d}");
        assert_eq!(d["attempts"][attempts - 1]["status_code"], 500, "{d}");
        m.books(&format!("SaaS delivery attempt {attempts} failed"))
            .await;
        if d["status"] == "dead_lettered" {
            assert_eq!(d["failure_reported"], true, "{d}");
            break;
        }
        assert_eq!(d["status"], "pending", "{d}");
        assert!(attempts < 10, "never dead-lettered: {d}");
        let next: Timestamp = d["next_attempt_at"].as_str().unwrap().parse().unwrap();
        m.advance(next.duration_since(m.now()));
    }
    assert_eq!(attempts, 6);
    let hits = failing.hits();
    assert_eq!(hits.len(), 6);
    assert!(
        hits.iter().all(|h| h.signature_ok),
        "signed with the new secret"
    );
    assert_eq!(good.hits().len(), 1, "the old endpoint got nothing more");
    let all: Vec<Value> = ok(m.call(Method::GET, "/test/events", None, None, None).await)
        .await
        .as_array()
        .unwrap()
        .clone();
    let failed: Vec<&Value> = all
        .iter()
        .filter(|e| e["kind"] == "saas.delivery_failed")
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["subject"], format!("order:{saas_failed}"));
    assert_eq!(failed[0]["payload"]["delivery_id"], delivery.as_str());
    assert_eq!(failed[0]["payload"]["product_id"], saas.as_str());
    // The order itself is marked "delivery failed" (when: the last attempt), its money as
    // it was: still held in escrow, nothing refunded.
    let seen = m.order(&seller, &saas_failed).await;
    let delivery = &seen["order"]["delivery"];
    assert_eq!(delivery["status"], "failed", "{seen}");
    let failed_at: Timestamp = delivery["failed_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(failed_at, m.now(), "{seen}");
    assert_eq!(seen["order"]["status"], "held", "{seen}");
    assert_eq!(seen["order"]["escrow"], paid["order"]["escrow"], "{seen}");
    assert_eq!(seen["refunded"], "0.00", "{seen}");
    let as_buyer = m.order(&buyer, &saas_failed).await;
    assert_eq!(as_buyer["order"]["delivery"]["status"], "failed");
    m.books("SaaS delivery dead-lettered, saas.delivery_failed recorded")
        .await;

    // Customer service can read every order it would arbitrate.
    let _ = m.order(&cs, &saas_failed).await;
    m.books("end").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marketplace_journey_on_sqlite() {
    let market = Market::start().await;
    marketplace_journey(&market).await;
    market.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marketplace_journey_on_postgres() {
    on_postgres(|db| async move {
        let market = Market::start_with(Some(&db), RULEBOOK, START).await;
        marketplace_journey(&market).await;
        market.stop().await;
    })
    .await;
}
