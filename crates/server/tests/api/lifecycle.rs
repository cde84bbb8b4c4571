use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use tokio::sync::Notify;

use crate::helpers::TestServer;

#[tokio::test]
async fn shutdown_lets_an_in_flight_request_finish_then_stops_accepting() {
    // The handler says when it has started, so shutdown surely comes while it runs.
    let started = Arc::new(Notify::new());
    let signal = started.clone();
    let extra = Router::new().route(
        "/test/slow",
        get(move || async move {
            signal.notify_one();
            tokio::time::sleep(Duration::from_millis(500)).await;
            "finished"
        }),
    );
    let mut server = TestServer::start_with(|_| {}, extra).await;
    let client = server.client.clone();
    let url = server.url("/test/slow");
    let in_flight = tokio::spawn(async move { client.get(url).send().await });
    tokio::time::timeout(Duration::from_secs(10), started.notified())
        .await
        .expect("the slow request reaches its handler");
    server.begin_shutdown();

    let res = in_flight
        .await
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "finished");

    let addr = server.addr;
    tokio::time::timeout(Duration::from_secs(5), server.finished())
        .await
        .expect("server stops")
        .expect("clean stop");
    let refused = reqwest::Client::new()
        .get(format!("http://{addr}/healthz"))
        .send()
        .await;
    assert!(refused.is_err(), "no longer accepting");
}

#[tokio::test]
async fn a_port_in_use_is_a_start_up_error() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::helpers::test_config(&dir);
    config.listen = server.addr.to_string();
    let err = match yunshi_server::Server::bind(config.resolve().unwrap()).await {
        Ok(_) => panic!("bound a port already in use"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains(&server.addr.to_string()), "{err}");
    server.stop().await;
}
