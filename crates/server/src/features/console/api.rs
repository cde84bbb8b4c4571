//! The console is a client of the public REST API, called in process through the same
//! router (no socket): every page reads what the API answers the signed-in user, and every
//! form is an API call with that user's session token. So the console can never do what the
//! API would refuse, and each rule, idempotency key and audit trail applies once.

use std::net::SocketAddr;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use serde_json::Value;
use tower::ServiceExt;

use super::i18n::Lang;
use crate::kernel::throttle::ClientAddr;

/// What the API answered.
pub struct Reply {
    pub status: StatusCode,
    pub json: Value,
    pub bytes: Bytes,
    pub content_type: Option<HeaderValue>,
    pub disposition: Option<HeaderValue>,
}

/// A refusal or failure, ready to show.
#[derive(Debug, Clone)]
pub struct Failure {
    pub status: StatusCode,
    pub code: String,
    /// The problem's title in the page's language, then its detail.
    pub message: String,
    pub detail: String,
}

impl Reply {
    pub fn ok(&self) -> bool {
        self.status.is_success()
    }

    /// The answer as JSON, or the problem it carried.
    pub fn into_result(self, lang: Lang) -> Result<Value, Failure> {
        if self.ok() {
            return Ok(self.json);
        }
        let title = lang.pick(
            self.json["title_zh"].as_str().unwrap_or(""),
            self.json["title"].as_str().unwrap_or("error"),
        );
        let detail = self.json["detail"].as_str().unwrap_or("").to_owned();
        Err(Failure {
            status: self.status,
            code: self.json["code"].as_str().unwrap_or("error").to_owned(),
            message: if detail.is_empty() {
                title.to_owned()
            } else {
                format!("{title}: {detail}")
            },
            detail,
        })
    }
}

/// A request body.
pub enum Payload {
    None,
    Json(Value),
    /// Raw bytes with their content type (material uploads).
    Raw(Bytes, String),
}

/// Calls the API router in process.
#[derive(Clone)]
pub struct Api {
    router: Router,
}

impl Api {
    pub fn new(router: Router) -> Api {
        Api { router }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        payload: Payload,
        idempotency_key: Option<&str>,
    ) -> Reply {
        self.send(
            ClientAddr(None),
            method,
            path,
            token,
            payload,
            idempotency_key,
        )
        .await
    }

    /// [`Api::call`] on behalf of the browser at `client`, so the API throttles failed
    /// logins by the browser's address rather than the console's.
    pub async fn call_from(
        &self,
        client: ClientAddr,
        method: Method,
        path: &str,
        token: Option<&str>,
        payload: Payload,
    ) -> Reply {
        self.send(client, method, path, token, payload, None).await
    }

    async fn send(
        &self,
        client: ClientAddr,
        method: Method,
        path: &str,
        token: Option<&str>,
        payload: Payload,
        idempotency_key: Option<&str>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(ip) = client.0 {
            req = req.extension(ConnectInfo(SocketAddr::new(ip, 0)));
        }
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        if let Some(k) = idempotency_key {
            req = req.header("idempotency-key", k);
        }
        let body = match payload {
            Payload::None => Body::empty(),
            Payload::Json(v) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(v.to_string())
            }
            Payload::Raw(bytes, content_type) => {
                req = req.header(header::CONTENT_TYPE, content_type);
                Body::from(bytes)
            }
        };
        let Ok(req) = req.body(body) else {
            return failed(StatusCode::BAD_REQUEST, "invalid_request", "bad request");
        };
        let Ok(res) = self.router.clone().oneshot(req).await;
        let status = res.status();
        let content_type = res.headers().get(header::CONTENT_TYPE).cloned();
        let disposition = res.headers().get(header::CONTENT_DISPOSITION).cloned();
        let bytes = match axum::body::to_bytes(res.into_body(), usize::MAX).await {
            Ok(b) => b,
            Err(_) => return failed(StatusCode::BAD_GATEWAY, "unavailable", "no answer"),
        };
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            json,
            bytes,
            content_type,
            disposition,
        }
    }

    /// GET `path` as the user; the JSON or the problem.
    pub async fn get(&self, path: &str, token: Option<&str>, lang: Lang) -> Result<Value, Failure> {
        self.call(Method::GET, path, token, Payload::None, None)
            .await
            .into_result(lang)
    }
}

fn failed(status: StatusCode, code: &str, detail: &str) -> Reply {
    Reply {
        status,
        json: serde_json::json!({"code": code, "title": detail, "detail": detail}),
        bytes: Bytes::new(),
        content_type: None,
        disposition: None,
    }
}
