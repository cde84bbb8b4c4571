use std::time::Duration;

use axum::Router;
use axum::routing::get;

use crate::helpers::{TestServer, assert_problem};

#[tokio::test]
async fn unknown_route_is_404_problem() {
    let server = TestServer::start().await;
    let body = assert_problem(server.get("/api/v1/nope").await, 404, "not_found").await;
    assert_eq!(body["instance"], "/api/v1/nope");
    assert_eq!(body["title"], "Not found");
    assert_eq!(body["title_zh"], "未找到");
    server.stop().await;
}

#[tokio::test]
async fn wrong_method_is_405_problem_with_allow() {
    let server = TestServer::start().await;
    let res = server
        .client
        .delete(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    let allow = res.headers()["allow"].to_str().unwrap().to_owned();
    assert!(allow.contains("GET"), "{allow}");
    let body = assert_problem(res, 405, "method_not_allowed").await;
    assert_eq!(body["instance"], "/healthz");
    server.stop().await;
}

#[tokio::test]
async fn malformed_json_is_400_problem_not_500() {
    let server = TestServer::start().await;
    let res = server
        .client
        .post(server.url("/api/v1/setup"))
        .header("content-type", "application/json")
        .body("{\"token\": ")
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 400, "invalid_request").await;
    assert!(body["detail"].as_str().unwrap().contains("JSON"), "{body}");
    server.stop().await;
}

#[tokio::test]
async fn json_of_the_wrong_shape_is_422_and_missing_content_type_415() {
    let server = TestServer::start().await;
    let res = server
        .client
        .post(server.url("/api/v1/setup"))
        .header("content-type", "application/json")
        .body("{\"tokn\": 1}")
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 422, "invalid_request").await;
    assert!(body["detail"].as_str().unwrap().contains("token"), "{body}");

    let res = server
        .client
        .post(server.url("/api/v1/setup"))
        .body("{\"token\": \"x\"}")
        .send()
        .await
        .unwrap();
    assert_problem(res, 415, "unsupported_media_type").await;

    // A form post without fields is the client's mistake too.
    let res = server
        .client
        .post(server.url("/setup"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("nothing=here")
        .send()
        .await
        .unwrap();
    assert_problem(res, 422, "invalid_request").await;
    server.stop().await;
}

#[tokio::test]
async fn oversized_body_is_413_problem() {
    let server = TestServer::start_with(|c| c.body_limit_bytes = 4096, Router::new()).await;
    let big = format!("{{\"token\": \"{}\"}}", "x".repeat(10_000));
    let res = server
        .client
        .post(server.url("/api/v1/setup"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_problem(res, 413, "payload_too_large").await;
    server.stop().await;
}

#[tokio::test]
async fn a_panicking_handler_is_a_500_problem_without_details() {
    let extra = Router::new().route(
        "/test/panic",
        get(|| async {
            if true {
                panic!("secret internal state 42");
            }
        }),
    );
    let server = TestServer::start_with(|_| {}, extra).await;
    let body = assert_problem(server.get("/test/panic").await, 500, "internal").await;
    assert!(
        !body.to_string().contains("secret internal state"),
        "{body}"
    );
    // The server keeps serving.
    assert_eq!(server.get("/healthz").await.status(), 200);
    server.stop().await;
}

#[tokio::test]
async fn a_request_over_the_timeout_is_a_504_problem() {
    let extra = Router::new().route(
        "/test/slow",
        get(|| async { tokio::time::sleep(Duration::from_secs(5)).await }),
    );
    let server = TestServer::start_with(|c| c.request_timeout_secs = 1, extra).await;
    assert_problem(server.get("/test/slow").await, 504, "timeout").await;
    server.stop().await;
}

#[tokio::test]
async fn control_characters_in_request_text_are_refused_with_a_problem() {
    let server = TestServer::start().await;
    for text in [r"a\u0000b", r"\u001b[2Jcleared", r"del\u007f"] {
        let res = server
            .client
            .post(server.url("/api/v1/sessions"))
            .header("content-type", "application/json")
            .body(format!(
                "{{\"email\": \"a@example.com\", \"password\": \"{text}\"}}"
            ))
            .send()
            .await
            .unwrap();
        let body = assert_problem(res, 422, "control_character").await;
        assert!(body["detail"].as_str().unwrap().contains("U+00"), "{body}");
    }
    server.stop().await;
}

#[tokio::test]
async fn an_idempotency_key_that_is_not_text_is_a_400_problem_with_a_body() {
    let server = TestServer::start().await;
    let order = uuid::Uuid::now_v7();
    let res = server
        .client
        .post(server.url(&format!("/api/v1/orders/{order}/payments")))
        .bearer_auth(crate::helpers::ADMIN_TOKEN)
        .header(
            "idempotency-key",
            reqwest::header::HeaderValue::from_bytes(b"key-\xff").unwrap(),
        )
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 400, "invalid_request").await;
    assert!(
        body["detail"].as_str().unwrap().contains("Idempotency-Key"),
        "{body}"
    );
    server.stop().await;
}
