//! How the benchmark's clients reach the server: one keep-alive HTTP/1.1 connection of
//! their own (a load-generator connection), or the server's router called in process (the
//! same handlers, middleware and store, without sockets and HTTP parsing).

use anyhow::{Context, Result};
use axum::Router;
use axum::body::Body;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tower::ServiceExt;

/// Where requests go.
#[derive(Clone)]
pub enum Target {
    Http(std::net::SocketAddr),
    InProcess(Router),
}

impl Target {
    /// A client of its own: a new connection for `Http`.
    pub async fn connect(&self) -> Result<Conn> {
        Ok(match self {
            Target::Http(addr) => {
                let stream = tokio::net::TcpStream::connect(addr)
                    .await
                    .with_context(|| format!("connecting to {addr}"))?;
                stream.set_nodelay(true)?;
                let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .context("HTTP handshake")?;
                tokio::spawn(conn);
                Conn::Http(sender)
            }
            Target::InProcess(router) => Conn::InProcess(router.clone()),
        })
    }
}

/// One client.
pub enum Conn {
    Http(SendRequest<Full<Bytes>>),
    InProcess(Router),
}

/// A request: method, path, bearer token, optional `Idempotency-Key`, optional body and its
/// content type.
pub struct Call<'a> {
    pub method: Method,
    pub path: &'a str,
    pub token: Option<&'a str>,
    pub key: Option<&'a str>,
    pub body: Option<(Bytes, &'a str)>,
}

impl<'a> Call<'a> {
    pub fn json(method: Method, path: &'a str, token: Option<&'a str>, body: &Value) -> Self {
        Call {
            method,
            path,
            token,
            key: None,
            body: Some((Bytes::from(body.to_string()), "application/json")),
        }
    }
}

impl Conn {
    /// Sends `call`, returning the status and body.
    pub async fn send(&mut self, call: Call<'_>) -> Result<(StatusCode, Bytes)> {
        let mut req = Request::builder().method(call.method).uri(call.path);
        if let Conn::Http(_) = self {
            req = req.header(hyper::header::HOST, "bench");
        }
        if let Some(token) = call.token {
            req = req.header(hyper::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(key) = call.key {
            req = req.header("idempotency-key", key);
        }
        let bytes = match call.body {
            Some((bytes, content_type)) => {
                req = req.header(hyper::header::CONTENT_TYPE, content_type);
                bytes
            }
            None => Bytes::new(),
        };
        match self {
            Conn::Http(sender) => {
                sender.ready().await.context("connection lost")?;
                let res = sender.send_request(req.body(Full::new(bytes))?).await?;
                let status = res.status();
                Ok((status, res.into_body().collect().await?.to_bytes()))
            }
            Conn::InProcess(router) => {
                let res = router.clone().oneshot(req.body(Body::from(bytes))?).await?;
                let status = res.status();
                Ok((status, res.into_body().collect().await?.to_bytes()))
            }
        }
    }

    /// Sends `call` and reads the JSON answer, which must come with `expect`.
    pub async fn expect(&mut self, call: Call<'_>, expect: StatusCode) -> Result<Value> {
        let what = format!("{} {}", call.method, call.path);
        let (status, body) = self.send(call).await?;
        anyhow::ensure!(
            status == expect,
            "{what}: expected {expect}, got {status}: {}",
            String::from_utf8_lossy(&body)
        );
        serde_json::from_slice(&body).with_context(|| format!("{what}: reading the answer"))
    }
}
