use axum::Router;
use yunshi_server::ClockMode;

use crate::helpers::TestServer;

#[tokio::test]
async fn simulated_clock_reports_its_start_time() {
    let server = TestServer::start_with(
        |c| {
            c.clock = ClockMode::Simulated;
            c.start = Some("2026-04-01T09:00:00+08:00".into());
        },
        Router::new(),
    )
    .await;
    let res = server.get("/api/v1/clock").await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["mode"], "simulated");
    assert_eq!(body["now"], "2026-04-01T01:00:00Z");
    assert_eq!(body["beijing"], "2026-04-01T09:00:00+08:00");
    // It stands still.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let again: serde_json::Value = server.get("/api/v1/clock").await.json().await.unwrap();
    assert_eq!(again["now"], "2026-04-01T01:00:00Z");
    server.stop().await;
}

#[tokio::test]
async fn system_clock_reports_the_machines_time() {
    let server = TestServer::start().await;
    let body: serde_json::Value = server.get("/api/v1/clock").await.json().await.unwrap();
    assert_eq!(body["mode"], "system");
    let now: jiff::Timestamp = body["now"].as_str().unwrap().parse().unwrap();
    let drift = jiff::Timestamp::now().duration_since(now).abs();
    assert!(drift < jiff::SignedDuration::from_secs(60), "{drift:?}");
    server.stop().await;
}

#[tokio::test]
async fn rulebooks_in_force_follow_the_clock_and_the_date_asked() {
    let server = TestServer::start_with(
        |c| {
            c.clock = ClockMode::Simulated;
            c.start = Some("2026-04-01T09:00:00+08:00".into());
            c.rulebook = "ali".into();
            c.partner_rulebook = Some("partner".into());
        },
        Router::new(),
    )
    .await;
    let body: serde_json::Value = server.get("/api/v1/rulebook").await.json().await.unwrap();
    assert_eq!(body["date"], "2026-04-01");
    assert_eq!(body["marketplace"]["rulebook"]["id"], "ali-2020");
    assert_eq!(body["partner"]["rulebook"]["id"], "partner-fy22");

    let before: serde_json::Value = server
        .get("/api/v1/rulebook?at=2020-06-01")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(before["partner"]["rulebook"]["id"], "partner-2017");

    crate::helpers::assert_problem(
        server.get("/api/v1/rulebook?at=2019-01-01").await,
        404,
        "not_found",
    )
    .await;
    crate::helpers::assert_problem(
        server.get("/api/v1/rulebook?at=soon").await,
        400,
        "invalid_request",
    )
    .await;
    server.stop().await;
}
