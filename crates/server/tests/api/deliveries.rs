//! SaaS delivery webhooks against a real local HTTP receiver, on a simulated clock: the
//! test fires the attempt deadlines itself through a test-only route.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use hmac::{Hmac, KeyInit, Mac};
use jiff::Timestamp;
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;
use yunshi_core::ids::{OrderId, ProviderId};
use yunshi_server::features::deliveries::enqueue;
use yunshi_server::kernel::deadlines::fire_due;
use yunshi_server::kernel::repo::deliveries::DeliveryKind;
use yunshi_server::{AppState, ClockMode, Config};

use crate::helpers::{ADMIN_TOKEN, TestServer, assert_problem, call, json_of, on_postgres};

pub const START: &str = "2026-04-01T09:00:00+08:00";

/// One request the receiver got.
#[derive(Clone)]
pub struct Hit {
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A tiny webhook receiver on 127.0.0.1 that answers `status` and remembers every request.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    status: Arc<AtomicU16>,
    hits: Arc<Mutex<Vec<Hit>>>,
}

#[derive(Clone)]
struct ReceiverState {
    status: Arc<AtomicU16>,
    hits: Arc<Mutex<Vec<Hit>>>,
}

async fn receive(
    State(s): State<ReceiverState>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    s.hits.lock().unwrap().push(Hit { headers, body });
    let status = StatusCode::from_u16(s.status.load(Ordering::SeqCst)).unwrap();
    (status, if status.is_success() { "ok" } else { "boom" })
}

impl Receiver {
    pub async fn start(status: u16) -> Receiver {
        let state = ReceiverState {
            status: Arc::new(AtomicU16::new(status)),
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
            status: state.status,
            hits: state.hits,
        }
    }

    pub fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }
}

/// Test-only routes: enqueue a delivery, fire due deadlines at a given instant, read events.
pub fn test_routes() -> Router<AppState> {
    async fn enqueue_route(
        State(state): State<AppState>,
        axum::Json(req): axum::Json<Value>,
    ) -> axum::Json<Value> {
        let provider: ProviderId = req["provider_id"].as_str().unwrap().parse().unwrap();
        let order: OrderId = req["order_id"].as_str().unwrap().parse().unwrap();
        let kind: DeliveryKind = serde_json::from_value(req["event"].clone()).unwrap();
        let id = enqueue(&state, provider, kind, order, req["data"].clone())
            .await
            .unwrap();
        axum::Json(json!({ "id": id }))
    }
    async fn fire_route(
        State(state): State<AppState>,
        axum::Json(req): axum::Json<Value>,
    ) -> axum::Json<Value> {
        let now: Timestamp = req["now"].as_str().unwrap().parse().unwrap();
        let report = fire_due(&state, now, 100).await.unwrap();
        axum::Json(serde_json::to_value(report).unwrap())
    }
    async fn events_route(State(state): State<AppState>) -> axum::Json<Value> {
        let events = state.store.events_after(0, 10_000).await.unwrap();
        axum::Json(serde_json::to_value(events).unwrap())
    }
    Router::new()
        .route("/test/enqueue", post(enqueue_route))
        .route("/test/fire", post(fire_route))
        .route("/test/events", get(events_route))
}

pub fn simulated(c: &mut Config) {
    c.clock = ClockMode::Simulated;
    c.start = Some(START.into());
    c.admin_token = Some(ADMIN_TOKEN.into());
}

/// A provider-staff user of a new provider, and its API token.
pub async fn provider_staff(server: &TestServer, email: &str) -> (String, String) {
    let provider = uuid::Uuid::now_v7().to_string();
    let created = json_of(
        call(
            server,
            Method::POST,
            "/api/v1/admin/users",
            Some(ADMIN_TOKEN),
            Some(json!({
                "email": email, "display_name": "服务商",
                "kind": {"type": "provider_staff", "provider_id": provider, "role": "owner"}
            })),
        )
        .await,
        201,
    )
    .await;
    let user = created["user"]["id"].as_str().unwrap().to_owned();
    let issued = json_of(
        call(
            server,
            Method::POST,
            &format!("/api/v1/admin/users/{user}/tokens"),
            Some(ADMIN_TOKEN),
            Some(json!({"label": "webhooks"})),
        )
        .await,
        201,
    )
    .await;
    (provider, issued["token"].as_str().unwrap().to_owned())
}

pub async fn register(server: &TestServer, token: &str, url: &str) -> String {
    let res = call(
        server,
        Method::PUT,
        "/api/v1/webhooks/endpoint",
        Some(token),
        Some(json!({"url": url})),
    )
    .await;
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body = json_of(res, 200).await;
    assert_eq!(body["url"], url);
    let secret = body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    secret
}

pub async fn enqueue_via(server: &TestServer, provider: &str, event: &str, order: &str) -> String {
    let body = json_of(
        call(
            server,
            Method::POST,
            "/test/enqueue",
            None,
            Some(json!({
                "provider_id": provider, "order_id": order, "event": event,
                "data": {"product_id": "0193c0de-0000-7000-8000-000000000301", "plan": "monthly"}
            })),
        )
        .await,
        200,
    )
    .await;
    body["id"].as_str().unwrap().to_owned()
}

pub async fn fire(server: &TestServer, now: &str) -> Value {
    json_of(
        call(
            server,
            Method::POST,
            "/test/fire",
            None,
            Some(json!({"now": now})),
        )
        .await,
        200,
    )
    .await
}

pub async fn events(server: &TestServer) -> Vec<Value> {
    let body = json_of(
        call(server, Method::GET, "/test/events", None, None).await,
        200,
    )
    .await;
    body.as_array().unwrap().clone()
}

fn expected_signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
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

#[tokio::test]
async fn a_create_is_delivered_with_a_valid_signature() {
    let server = TestServer::start_with(simulated, test_routes()).await;
    let receiver = Receiver::start(200).await;
    let (provider, token) = provider_staff(&server, "a@isv.example").await;
    let secret = register(&server, &token, &receiver.url).await;
    let shown = json_of(
        call(
            &server,
            Method::GET,
            "/api/v1/webhooks/endpoint",
            Some(&token),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(shown["url"], receiver.url.as_str());
    assert!(shown.get("secret").is_none(), "{shown}");

    let order = uuid::Uuid::now_v7().to_string();
    let id = enqueue_via(&server, &provider, "create", &order).await;
    // Nothing fires by itself on the simulated clock.
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    assert!(receiver.hits().is_empty());

    let report = fire(&server, "2026-04-01T01:00:00Z").await;
    assert_eq!(report["fired"], 1, "{report}");
    let hits = receiver.hits();
    assert_eq!(hits.len(), 1);
    let hit = &hits[0];
    let header = |name: &str| hit.headers[name].to_str().unwrap().to_owned();
    assert_eq!(header("x-yunshi-delivery"), id);
    assert_eq!(header("x-yunshi-event"), "create");
    assert_eq!(header("content-type"), "application/json");
    let timestamp = header("x-yunshi-timestamp");
    assert_eq!(timestamp, "1775005200"); // the simulated clock: 2026-04-01T01:00:00Z
    assert_eq!(
        header("x-yunshi-signature"),
        expected_signature(&secret, &timestamp, &hit.body)
    );
    assert_ne!(
        header("x-yunshi-signature"),
        expected_signature("whsec_wrong", &timestamp, &hit.body)
    );
    let body: Value = serde_json::from_slice(&hit.body).unwrap();
    assert_eq!(body["id"], id.as_str());
    assert_eq!(body["event"], "create");
    assert_eq!(body["order_id"], order.as_str());
    assert_eq!(body["provider_id"], provider.as_str());
    assert_eq!(body["data"]["plan"], "monthly");

    let delivery = json_of(
        call(
            &server,
            Method::GET,
            &format!("/api/v1/webhooks/deliveries/{id}"),
            Some(&token),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(delivery["status"], "delivered", "{delivery}");
    assert_eq!(delivery["attempts"][0]["status_code"], 200);
    assert_eq!(delivery["attempts"][0]["response_excerpt"], "200 OK"); // never the body
    assert_eq!(delivery["attempts"][0]["url"], receiver.url.as_str());
    let page = json_of(
        call(
            &server,
            Method::GET,
            "/api/v1/webhooks/deliveries",
            Some(&token),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["id"], id.as_str());
    // Firing again finds nothing: it was delivered once.
    assert_eq!(fire(&server, "2026-04-02T01:00:00Z").await["claimed"], 0);
    assert_eq!(receiver.hits().len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn a_failing_receiver_dead_letters_a_create_and_reports_delivery_failed() {
    let server = TestServer::start_with(simulated, test_routes()).await;
    dead_letter_and_repair(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn deliveries_dead_letter_and_repair_on_postgres() {
    on_postgres(|db| async move {
        let on_db = |c: &mut Config| {
            simulated(c);
            c.database_url = Some(db.url());
        };
        let server = TestServer::start_with(on_db, test_routes()).await;
        dead_letter_and_repair(&server).await;
        server.stop().await;
    })
    .await;
}

/// Six failed attempts on the backoff schedule → dead-lettered and `saas.delivery_failed`;
/// a manual retry to the repaired receiver → delivered and `saas.delivery_repaired`.
async fn dead_letter_and_repair(server: &TestServer) {
    let receiver = Receiver::start(500).await;
    let (provider, token) = provider_staff(server, "b@isv.example").await;
    register(server, &token, &receiver.url).await;
    let order = uuid::Uuid::now_v7().to_string();
    let id = enqueue_via(server, &provider, "create", &order).await;
    let path = format!("/api/v1/webhooks/deliveries/{id}");

    let mut now: Timestamp = "2026-04-01T01:00:00Z".parse().unwrap();
    let mut waits = Vec::new();
    for attempt in 1..=6 {
        if attempt > 1 {
            // Not yet: one second before the attempt is due nothing fires.
            let early = now - jiff::SignedDuration::from_secs(1);
            assert_eq!(fire(server, &early.to_string()).await["claimed"], 0);
        }
        let report = fire(server, &now.to_string()).await;
        assert_eq!(report["fired"], 1, "attempt {attempt}: {report}");
        let delivery = json_of(
            call(server, Method::GET, &path, Some(&token), None).await,
            200,
        )
        .await;
        assert_eq!(delivery["attempts"].as_array().unwrap().len(), attempt);
        let last = &delivery["attempts"][attempt - 1];
        assert_eq!(last["status_code"], 500);
        assert_eq!(last["response_excerpt"], "500 Internal Server Error");
        if attempt < 6 {
            assert_eq!(delivery["status"], "pending");
            let next: Timestamp = delivery["next_attempt_at"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            waits.push(next.duration_since(now).as_secs() / 60);
            now = next;
        } else {
            assert_eq!(delivery["status"], "dead_lettered", "{delivery}");
            assert!(delivery.get("next_attempt_at").is_none());
        }
    }
    assert_eq!(waits, [1, 5, 30, 120, 360]);
    assert_eq!(receiver.hits().len(), 6);
    assert_eq!(fire(server, "2026-04-30T00:00:00Z").await["claimed"], 0);

    let all = events(server).await;
    let failed: Vec<&Value> = all
        .iter()
        .filter(|e| e["kind"] == "saas.delivery_failed")
        .collect();
    assert_eq!(failed.len(), 1, "{all:?}");
    assert_eq!(failed[0]["subject"], format!("order:{order}"));
    assert_eq!(failed[0]["payload"]["order_id"], order.as_str());
    assert_eq!(failed[0]["payload"]["provider_id"], provider.as_str());
    assert_eq!(failed[0]["payload"]["delivery_id"], id.as_str());
    assert_eq!(
        failed[0]["payload"]["product_id"],
        "0193c0de-0000-7000-8000-000000000301"
    );

    // The provider repairs its endpoint and retries by hand.
    receiver.answer(204);
    let retried = json_of(
        call(
            server,
            Method::POST,
            &format!("{path}/retry"),
            Some(&token),
            None,
        )
        .await,
        202,
    )
    .await;
    assert_eq!(retried["status"], "pending");
    assert_problem(
        call(
            server,
            Method::POST,
            &format!("{path}/retry"),
            Some(&token),
            None,
        )
        .await,
        409,
        "delivery_not_dead_lettered",
    )
    .await;
    assert_eq!(fire(server, "2026-04-01T10:00:00Z").await["fired"], 1);
    let delivery = json_of(
        call(server, Method::GET, &path, Some(&token), None).await,
        200,
    )
    .await;
    assert_eq!(delivery["status"], "delivered", "{delivery}");
    assert_eq!(delivery["attempts"][6]["status_code"], 204);
    let all = events(server).await;
    assert_eq!(
        all.iter()
            .filter(|e| e["kind"] == "saas.delivery_repaired")
            .count(),
        1
    );
    assert_eq!(
        all.iter()
            .filter(|e| e["kind"] == "saas.delivery_failed")
            .count(),
        1
    );

    // A renew that fails is dead-lettered without reporting a failed delivery.
    receiver.answer(503);
    let renew = enqueue_via(server, &provider, "renew", &order).await;
    let mut at: Timestamp = "2026-04-02T00:00:00Z".parse().unwrap();
    for _ in 0..6 {
        assert_eq!(fire(server, &at.to_string()).await["fired"], 1);
        at += jiff::SignedDuration::from_hours(7);
    }
    let delivery = json_of(
        call(
            server,
            Method::GET,
            &format!("/api/v1/webhooks/deliveries/{renew}"),
            Some(&token),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(delivery["status"], "dead_lettered");
    let dead = json_of(
        call(
            server,
            Method::GET,
            "/api/v1/webhooks/deliveries?status=dead_lettered",
            Some(&token),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(dead["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        events(server)
            .await
            .iter()
            .filter(|e| e["kind"] == "saas.delivery_failed")
            .count(),
        1
    );
}

#[tokio::test]
async fn another_provider_cannot_see_or_retry_deliveries() {
    let server = TestServer::start_with(simulated, test_routes()).await;
    let (provider_a, token_a) = provider_staff(&server, "a@isv.example").await;
    let (_provider_b, token_b) = provider_staff(&server, "b@isv.example").await;
    // A never registered an endpoint: the attempt fails and says why.
    let id = enqueue_via(
        &server,
        &provider_a,
        "create",
        &uuid::Uuid::now_v7().to_string(),
    )
    .await;
    assert_eq!(fire(&server, "2026-04-01T01:00:00Z").await["fired"], 1);
    let path = format!("/api/v1/webhooks/deliveries/{id}");
    let own = json_of(
        call(&server, Method::GET, &path, Some(&token_a), None).await,
        200,
    )
    .await;
    assert!(
        own["attempts"][0]["error"]
            .as_str()
            .unwrap()
            .contains("no webhook endpoint"),
        "{own}"
    );

    assert_problem(
        call(&server, Method::GET, &path, Some(&token_b), None).await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        call(
            &server,
            Method::POST,
            &format!("{path}/retry"),
            Some(&token_b),
            None,
        )
        .await,
        404,
        "not_found",
    )
    .await;
    let page = json_of(
        call(
            &server,
            Method::GET,
            "/api/v1/webhooks/deliveries",
            Some(&token_b),
            None,
        )
        .await,
        200,
    )
    .await;
    assert!(page["items"].as_array().unwrap().is_empty(), "{page}");
    assert_problem(
        call(
            &server,
            Method::GET,
            "/api/v1/webhooks/endpoint",
            Some(&token_b),
            None,
        )
        .await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        call(&server, Method::GET, &path, None, None).await,
        401,
        "unauthorized",
    )
    .await;
    assert_problem(
        call(
            &server,
            Method::GET,
            "/api/v1/webhooks/deliveries/nope",
            Some(&token_a),
            None,
        )
        .await,
        404,
        "not_found",
    )
    .await;
    // Operator staff see it.
    assert_eq!(
        call(&server, Method::GET, &path, Some(ADMIN_TOKEN), None)
            .await
            .status(),
        200
    );
    server.stop().await;
}

#[tokio::test]
async fn bad_endpoint_urls_are_refused() {
    let server = TestServer::start_with(simulated, test_routes()).await;
    let (_provider, token) = provider_staff(&server, "a@isv.example").await;
    for url in [
        "ftp://isv.example/hook",
        "https://",
        "http://",
        "isv.example/hook",
        "http://isv.example/hook",
        "https://user:pw@isv.example/hook",
        "",
    ] {
        let res = call(
            &server,
            Method::PUT,
            "/api/v1/webhooks/endpoint",
            Some(&token),
            Some(json!({"url": url})),
        )
        .await;
        assert_problem(res, 422, "invalid_request").await;
    }
    let res = call(
        &server,
        Method::PUT,
        "/api/v1/webhooks/endpoint",
        Some(&token),
        Some(json!({"url": "https://isv.example/h", "x": 1})),
    )
    .await;
    assert_problem(res, 422, "invalid_request").await;
    // Only provider staff have endpoints.
    let res = call(
        &server,
        Method::PUT,
        "/api/v1/webhooks/endpoint",
        Some(ADMIN_TOKEN),
        Some(json!({"url": "https://isv.example/h"})),
    )
    .await;
    assert_problem(res, 403, "forbidden").await;
    // A good one; registering again rotates the secret.
    let first = json_of(
        call(
            &server,
            Method::PUT,
            "/api/v1/webhooks/endpoint",
            Some(&token),
            Some(json!({"url": "https://isv.example/h"})),
        )
        .await,
        200,
    )
    .await;
    let second = json_of(
        call(
            &server,
            Method::PUT,
            "/api/v1/webhooks/endpoint",
            Some(&token),
            Some(json!({"url": "https://isv.example/h2"})),
        )
        .await,
        200,
    )
    .await;
    assert_ne!(first["secret"], second["secret"]);
    server.stop().await;
}

#[tokio::test]
async fn the_signature_scheme_is_documented() {
    let server = TestServer::start().await;
    let doc: Value = server
        .get("/api/v1/openapi.json")
        .await
        .json()
        .await
        .unwrap();
    let put = &doc["paths"]["/api/v1/webhooks/endpoint"]["put"];
    let text = put["description"].as_str().unwrap_or_default();
    for needle in [
        "X-Yunshi-Signature",
        "X-Yunshi-Timestamp",
        "X-Yunshi-Delivery",
        "HMAC-SHA256",
        "<timestamp>.<body>",
    ] {
        assert!(text.contains(needle), "{needle} missing in {put}");
    }
    for path in [
        "/api/v1/webhooks/deliveries",
        "/api/v1/webhooks/deliveries/{id}",
        "/api/v1/webhooks/deliveries/{id}/retry",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} not documented");
    }
    server.stop().await;
}

/// Issue 17: outside the sandbox (a system clock), webhooks never point into the network
/// the server runs in; each refusal names why.
#[tokio::test]
async fn webhook_destinations_inside_the_network_are_refused() {
    let server = TestServer::start().await;
    let (_provider, token) = provider_staff(&server, "ssrf@isv.example").await;
    for (url, code) in [
        ("https://169.254.169.254/latest/meta-data", "link_local"),
        ("https://10.0.0.1/hook", "private"),
        ("https://127.0.0.1:5432/", "loopback"),
        ("https://[::1]:6379/", "loopback"),
        ("https://2130706433/", "loopback"),
        ("https://[::ffff:10.0.0.1]/", "private"),
        ("https://100.100.100.200/latest/meta-data", "private"),
        (
            "https://metadata.google.internal/computeMetadata/v1/",
            "metadata",
        ),
        (
            "https://metadata.tencentyun.com/latest/meta-data",
            "metadata",
        ),
        ("https://localhost:8080/", "loopback"),
        ("https://redis/", "internal_name"),
        ("https://224.0.0.1/", "multicast"),
        ("https://0.0.0.0/", "unspecified"),
        ("https://255.255.255.255/", "broadcast"),
        ("https://198.18.0.1/", "documentation"),
    ] {
        let res = call(
            &server,
            Method::PUT,
            "/api/v1/webhooks/endpoint",
            Some(&token),
            Some(json!({"url": url})),
        )
        .await;
        assert_problem(res, 422, &format!("webhook_destination_{code}")).await;
    }
    let res = call(
        &server,
        Method::PUT,
        "/api/v1/webhooks/endpoint",
        Some(&token),
        Some(json!({"url": "https://isv.example.com/hook"})),
    )
    .await;
    assert_eq!(res.status(), 200);
    server.stop().await;
}
