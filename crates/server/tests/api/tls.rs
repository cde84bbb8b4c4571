//! SaaS delivery webhooks speak TLS to `https://` endpoints (reqwest with rustls).

use reqwest::Method;
use tokio::io::AsyncReadExt;

use crate::deliveries::{enqueue_via, fire, provider_staff, register, simulated, test_routes};
use crate::helpers::{TestServer, call, json_of};

#[tokio::test]
async fn an_https_endpoint_is_reached_over_tls() {
    let server = TestServer::start_with(simulated, test_routes()).await;
    // A bare TCP listener: it reads what the client says first, then hangs up.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let first_bytes = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut head = [0u8; 3];
        socket.read_exact(&mut head).await.unwrap();
        head
    });
    let (provider, token) = provider_staff(&server, "tls@isv.example").await;
    register(&server, &token, &format!("https://127.0.0.1:{port}/hook")).await;
    let order = uuid::Uuid::now_v7().to_string();
    let id = enqueue_via(&server, &provider, "create", &order).await;
    fire(&server, "2026-04-01T01:00:00Z").await;

    // A TLS record header: content type handshake (0x16), protocol version 3.x — not an
    // HTTP request line, and not "no TLS support".
    let head = tokio::time::timeout(std::time::Duration::from_secs(10), first_bytes)
        .await
        .expect("the webhook client never connected to the https:// endpoint")
        .unwrap();
    assert_eq!(head[0], 0x16, "{head:?}");
    assert_eq!(head[1], 0x03, "{head:?}");

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
    assert_ne!(delivery["status"], "delivered", "{delivery}");
    let error = delivery["attempts"][0]["error"]
        .as_str()
        .unwrap_or_default();
    assert!(!error.contains("no TLS support"), "{delivery}");
    server.stop().await;
}
