use crate::helpers::TestServer;

#[tokio::test]
async fn healthz_and_readyz_answer_on_a_fresh_sqlite_database() {
    let server = TestServer::start().await;
    assert!(
        server.dir.path().join("data").join("yunshi.db").exists(),
        "data dir and database created"
    );

    let res = server.get("/healthz").await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    let instance = body["instance"].as_str().unwrap().to_owned();
    assert_eq!(instance.len(), 32, "{body}");
    assert!(instance.chars().all(|c| c.is_ascii_hexdigit()), "{body}");
    let again: serde_json::Value = server.get("/healthz").await.json().await.unwrap();
    assert_eq!(again["instance"], instance, "the same process, the same id");

    let res = server.get("/readyz").await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["database"], "sqlite");
    server.stop().await;
}

#[tokio::test]
async fn every_start_answers_healthz_with_a_new_instance_id() {
    let first = TestServer::start().await;
    let instance = |server: &TestServer| {
        let url = server.url("/healthz");
        let client = server.client.clone();
        async move {
            let body: serde_json::Value =
                client.get(url).send().await.unwrap().json().await.unwrap();
            body["instance"].as_str().unwrap().to_owned()
        }
    };
    let before = instance(&first).await;
    // The same data directory, restarted: another process, another id.
    let dir = first.stop().await;
    let config = crate::helpers::test_config(&dir);
    let second = TestServer::start_in(dir, config, axum::Router::new()).await;
    let after = instance(&second).await;
    assert_ne!(before, after, "a restart is a new instance");
    second.stop().await;
}

#[tokio::test]
async fn requests_get_a_request_id_and_keep_the_callers() {
    let server = TestServer::start().await;
    let res = server.get("/healthz").await;
    let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 36, "a UUID: {id}");

    let res = server
        .client
        .get(server.url("/healthz"))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "trace-me-123");
    server.stop().await;
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status_with_a_latency_histogram() {
    let server = TestServer::start().await;
    assert_eq!(server.get("/healthz").await.status(), 200);
    assert_eq!(server.get("/no/such/route").await.status(), 404);

    let res = server.get("/metrics").await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"),
        "Prometheus text exposition"
    );
    let text = res.text().await.unwrap();
    let counted = |route: &str, status: &str| {
        text.lines().any(|l| {
            l.starts_with("yunshi_http_requests_total{")
                && l.contains(&format!("route=\"{route}\""))
                && l.contains(&format!("status=\"{status}\""))
                && l.contains("method=\"GET\"")
        })
    };
    assert!(counted("/healthz", "200"), "{text}");
    assert!(counted("unmatched", "404"), "{text}");
    assert!(
        !text.contains("/no/such/route"),
        "raw paths never become labels"
    );
    assert!(
        text.contains("# TYPE yunshi_http_request_duration_seconds histogram"),
        "{text}"
    );
    assert!(
        text.lines().any(
            |l| l.starts_with("yunshi_http_request_duration_seconds_bucket{")
                && l.contains("route=\"/healthz\"")
                && l.contains("le=\"0.005\"")
        ),
        "{text}"
    );
    server.stop().await;
}
