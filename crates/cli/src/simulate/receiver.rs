//! The providers' SaaS delivery endpoints: a local HTTP receiver that takes every delivery
//! at `/ok` and refuses every one at `/down` (the providers whose instances fail to open).

use anyhow::Result;
use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;

/// The receiver's base URL; it serves until the process ends.
pub async fn start() -> Result<String> {
    let app = Router::new()
        .route("/ok", post(|| async { StatusCode::OK }))
        .route("/down", post(|| async { StatusCode::SERVICE_UNAVAILABLE }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(format!("http://{addr}"))
}
