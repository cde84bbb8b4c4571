//! Errors over HTTP: RFC 9457 `application/problem+json`, with a stable machine-readable
//! `code` and the title in English and Chinese.
//!
//! Handlers return [`Problem`]. The [`normalize`] middleware then fills in `instance` (the
//! request path) and `request_id`, and turns every other error response — a 405 from the
//! router, a 413 from the body limit, a rejection from an extractor, a timeout — into a
//! problem document too, so a client never sees an error in any other shape.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, PoisonError};

use axum::body::{Body, Bytes};
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRef, FromRequest, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;
use yunshi_core::decision::{DomainRefusal, RefusalClass};
use yunshi_core::money::input_limit;

use crate::kernel::amount::MaxAmount;
use yunshi_store::StoreError;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// Stable error codes. Clients branch on these, never on titles or details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    Timeout,
    TooManyRequests,
    Unavailable,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::Conflict => "conflict",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::Timeout => "timeout",
            ErrorCode::TooManyRequests => "too_many_requests",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
        }
    }

    /// The problem `type`: `urn:yunshi:problem:<code>`.
    pub fn type_uri(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "urn:yunshi:problem:invalid_request",
            ErrorCode::Unauthorized => "urn:yunshi:problem:unauthorized",
            ErrorCode::Forbidden => "urn:yunshi:problem:forbidden",
            ErrorCode::NotFound => "urn:yunshi:problem:not_found",
            ErrorCode::MethodNotAllowed => "urn:yunshi:problem:method_not_allowed",
            ErrorCode::Conflict => "urn:yunshi:problem:conflict",
            ErrorCode::PayloadTooLarge => "urn:yunshi:problem:payload_too_large",
            ErrorCode::UnsupportedMediaType => "urn:yunshi:problem:unsupported_media_type",
            ErrorCode::Timeout => "urn:yunshi:problem:timeout",
            ErrorCode::TooManyRequests => "urn:yunshi:problem:too_many_requests",
            ErrorCode::Unavailable => "urn:yunshi:problem:unavailable",
            ErrorCode::Internal => "urn:yunshi:problem:internal",
        }
    }

    /// The status a problem with this code has unless stated otherwise.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::InvalidRequest => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::Timeout => StatusCode::GATEWAY_TIMEOUT,
            ErrorCode::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "Invalid request",
            ErrorCode::Unauthorized => "Authentication required",
            ErrorCode::Forbidden => "Not allowed",
            ErrorCode::NotFound => "Not found",
            ErrorCode::MethodNotAllowed => "Method not allowed",
            ErrorCode::Conflict => "Conflict with the current state",
            ErrorCode::PayloadTooLarge => "Request body too large",
            ErrorCode::UnsupportedMediaType => "Unsupported media type",
            ErrorCode::Timeout => "Request timed out",
            ErrorCode::TooManyRequests => "Too many requests",
            ErrorCode::Unavailable => "Service unavailable",
            ErrorCode::Internal => "Internal server error",
        }
    }

    pub fn title_zh(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "请求无效",
            ErrorCode::Unauthorized => "需要身份验证",
            ErrorCode::Forbidden => "无权执行此操作",
            ErrorCode::NotFound => "未找到",
            ErrorCode::MethodNotAllowed => "不支持该请求方法",
            ErrorCode::Conflict => "与当前状态冲突",
            ErrorCode::PayloadTooLarge => "请求体过大",
            ErrorCode::UnsupportedMediaType => "不支持的媒体类型",
            ErrorCode::Timeout => "请求超时",
            ErrorCode::TooManyRequests => "请求过于频繁",
            ErrorCode::Unavailable => "服务暂不可用",
            ErrorCode::Internal => "服务器内部错误",
        }
    }

    /// The code for an error status produced outside our handlers.
    pub fn for_status(status: StatusCode) -> ErrorCode {
        match status {
            StatusCode::UNAUTHORIZED => ErrorCode::Unauthorized,
            StatusCode::FORBIDDEN => ErrorCode::Forbidden,
            StatusCode::NOT_FOUND => ErrorCode::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
            StatusCode::CONFLICT => ErrorCode::Conflict,
            StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
            StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => ErrorCode::Timeout,
            StatusCode::SERVICE_UNAVAILABLE => ErrorCode::Unavailable,
            StatusCode::TOO_MANY_REQUESTS => ErrorCode::TooManyRequests,
            s if s.is_client_error() => ErrorCode::InvalidRequest,
            _ => ErrorCode::Internal,
        }
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:yunshi:problem:not_found",
    "title": "Not found",
    "title_zh": "未找到",
    "status": 404,
    "detail": "no route for GET /api/v1/nope",
    "instance": "/api/v1/nope",
    "code": "not_found",
    "request_id": "0193c0de-…"
}))]
pub struct Problem {
    /// `urn:yunshi:problem:<code>`.
    #[serde(rename = "type")]
    pub type_uri: &'static str,
    /// Short summary in English.
    pub title: &'static str,
    /// Short summary in Chinese (zh-CN).
    pub title_zh: &'static str,
    pub status: u16,
    /// What went wrong with this request, in English.
    #[schema(value_type = String)]
    pub detail: Box<str>,
    /// The request path.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub instance: Option<Box<str>>,
    /// Stable machine-readable code: a generic one (see `ErrorCode`) or, for a refusal by a
    /// business rule, the rule's own (`invalid_credentials`, `email_taken`, …).
    #[serde(rename = "code")]
    #[schema(value_type = String, example = "not_found")]
    pub stable_code: &'static str,
    /// The generic class of the problem (what `code` is when the refusal has none of its
    /// own).
    #[serde(skip)]
    #[schema(ignore)]
    pub code: ErrorCode,
    /// The `x-request-id` of the request, for support.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub request_id: Option<Box<str>>,
    /// Seconds to wait before trying again (429), also sent as `Retry-After`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u16>,
}

impl Problem {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::with_status(code, code.status(), detail)
    }

    pub fn with_status(code: ErrorCode, status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            type_uri: code.type_uri(),
            title: code.title(),
            title_zh: code.title_zh(),
            status: status.as_u16(),
            detail: detail.into().into_boxed_str(),
            instance: None,
            stable_code: code.as_str(),
            code,
            request_id: None,
            retry_after: None,
        }
    }

    /// The same problem, telling the client to wait `secs` seconds (`Retry-After`).
    pub fn retry_after(mut self, secs: u16) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// A problem of class `class` (its status and titles) with a more specific stable
    /// `code`, e.g. `invalid_credentials` (401) or `email_taken` (409).
    pub fn coded(
        class: ErrorCode,
        status: StatusCode,
        code: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        let mut p = Self::with_status(class, status, detail);
        if code != class.as_str() {
            p.type_uri = type_uri_of(code);
            p.stable_code = code;
        }
        p
    }

    /// A business rule's refusal: its own code; 422 if the request is invalid, 409 if the
    /// state forbids it now, 403 if the actor may not.
    pub fn refusal(refusal: &dyn DomainRefusal) -> Self {
        let (class, status) = match refusal.class() {
            RefusalClass::Invalid => (ErrorCode::InvalidRequest, StatusCode::UNPROCESSABLE_ENTITY),
            RefusalClass::Conflict => (ErrorCode::Conflict, StatusCode::CONFLICT),
            RefusalClass::Forbidden => (ErrorCode::Forbidden, StatusCode::FORBIDDEN),
        };
        Self::coded(class, status, refusal.code(), refusal.to_string())
    }

    pub fn invalid_request(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, detail)
    }
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, detail)
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, detail)
    }
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, detail)
    }
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, detail)
    }
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unavailable, detail)
    }
    /// A server-side failure. The cause is logged here and never shown to the client.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            ErrorCode::Internal,
            "the server failed to handle this request",
        )
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn render(&self, headers: &mut HeaderMap) -> Body {
        let body = serde_json::to_vec(self).unwrap_or_else(|_| b"{}".to_vec());
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        headers.remove(header::CONTENT_LENGTH);
        if let Some(v) = self
            .retry_after
            .and_then(|s| HeaderValue::from_str(&s.to_string()).ok())
        {
            headers.insert(header::RETRY_AFTER, v);
        }
        if self.code == ErrorCode::Unauthorized {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"yunshi\""),
            );
        }
        Body::from(body)
    }
}

/// `urn:yunshi:problem:<code>` for a code of a business rule, made once per code. Codes
/// are `&'static str`s of the program, so there are finitely many.
fn type_uri_of(code: &'static str) -> &'static str {
    static URIS: LazyLock<Mutex<HashMap<&'static str, &'static str>>> =
        LazyLock::new(Default::default);
    let mut uris = URIS.lock().unwrap_or_else(PoisonError::into_inner);
    uris.entry(code)
        .or_insert_with(|| Box::leak(format!("urn:yunshi:problem:{code}").into_boxed_str()))
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        if e.is_conflict() {
            Problem::conflict(e.to_string())
        } else {
            match e {
                StoreError::Closed | StoreError::Database(_) => {
                    tracing::error!(error = %e, "database unavailable");
                    Problem::unavailable("the database is unavailable; try again later")
                }
                StoreError::Busy(_) => {
                    tracing::warn!(error = %e, "database stayed busy after retries");
                    Problem::unavailable("the database is busy; try again shortly")
                }
                other => Problem::internal(other),
            }
        }
    }
}

/// Marks an error response that is deliberately not a problem document — an HTML page for a
/// browser that asked for one — so [`normalize`] leaves it alone.
#[derive(Debug, Clone, Copy)]
pub struct HtmlErrorPage;

/// Carries the problem to [`normalize`], which renders it with the request's details.
#[derive(Clone)]
struct PendingProblem(Problem);

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut res = Response::new(Body::empty());
        *res.status_mut() = self.status_code();
        *res.body_mut() = self.render(res.headers_mut());
        res.extensions_mut().insert(PendingProblem(self));
        res
    }
}

/// Middleware: every error response leaves as a complete problem document.
pub async fn normalize(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let method = req.method().clone();
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error())
        || res.extensions().get::<HtmlErrorPage>().is_some()
    {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let mut problem = match parts.extensions.remove::<PendingProblem>() {
        Some(PendingProblem(p)) => p,
        None => {
            let code = ErrorCode::for_status(status);
            let is_text = parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("text/plain"));
            // Rejections from axum's extractors explain the client's mistake in plain text;
            // anything else (and any server-side error) gets a fixed detail.
            let text = if status.is_client_error() && is_text {
                axum::body::to_bytes(body, 4096)
                    .await
                    .ok()
                    .and_then(|b| String::from_utf8(b.to_vec()).ok())
                    .filter(|s| !s.trim().is_empty())
            } else {
                None
            };
            let detail = text.unwrap_or_else(|| match code {
                ErrorCode::NotFound => format!("no route for {method} {path}"),
                ErrorCode::MethodNotAllowed => format!("{method} is not allowed on {path}"),
                ErrorCode::Timeout => "the request took too long".to_owned(),
                ErrorCode::PayloadTooLarge => "the request body is too large".to_owned(),
                ErrorCode::Internal => "the server failed to handle this request".to_owned(),
                _ => code.title().to_owned(),
            });
            Problem::with_status(code, status, detail)
        }
    };
    problem.instance = Some(path.into_boxed_str());
    problem.request_id = request_id.map(String::into_boxed_str);
    let body = problem.render(&mut parts.headers);
    Response::from_parts(parts, body)
}

/// The answer to a panic in a handler: a bare 500, the panic message only in the log.
pub fn panic_response(err: Box<dyn Any + Send + 'static>) -> Response {
    let message = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("<non-string panic payload>");
    tracing::error!(panic = message, "handler panicked");
    Problem::new(
        ErrorCode::Internal,
        "the server failed to handle this request",
    )
    .into_response()
}

/// `axum::Json` whose rejections are problem documents: malformed JSON is 400, JSON of the
/// wrong shape 422, a missing `Content-Type: application/json` 415. Every amount of money in
/// the body is bounded by the deployment's [`MaxAmount`]: one beyond it is refused whole
/// (422 `amount_above_limit`, naming the limit) before any handler sees it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
    MaxAmount: FromRef<S>,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(Problem::new(
                ErrorCode::UnsupportedMediaType,
                "Expected request with `Content-Type: application/json`",
            ));
        }
        let MaxAmount(limit) = MaxAmount::from_ref(state);
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            let status = rejection.status();
            Problem::with_status(ErrorCode::for_status(status), status, rejection.body_text())
        })?;
        if let Some(c) = control_character(&bytes) {
            return Err(Problem::coded(
                ErrorCode::InvalidRequest,
                StatusCode::UNPROCESSABLE_ENTITY,
                "control_character",
                format!(
                    "text may not contain control characters (found U+{c:04X}); tab, line feed and carriage return are allowed"
                ),
            ));
        }
        let (read, breach) = input_limit::within(limit, || axum::Json::<T>::from_bytes(&bytes));
        match (read, breach) {
            (Ok(axum::Json(value)), _) => Ok(ApiJson(value)),
            (Err(rejection), Some(_)) => Err(Problem::coded(
                ErrorCode::InvalidRequest,
                StatusCode::UNPROCESSABLE_ENTITY,
                "amount_above_limit",
                rejection.body_text(),
            )),
            (Err(rejection), None) => Err(json_rejection(rejection)),
        }
    }
}

/// The first control character a JSON text's strings carry, other than tab, line feed and
/// carriage return: NUL, ESC and their kind (C0, DEL, C1) end strings in C, rewrite terminals
/// and hide text in logs and exports. JSON can only carry them escaped (`\u001b`), so the
/// escapes are what is read; `\\u001b` is a backslash and text, not one.
fn control_character(json: &[u8]) -> Option<u32> {
    let mut i = 0;
    while i < json.len() {
        if json[i] != b'\\' {
            i += 1;
            continue;
        }
        if json.get(i + 1) == Some(&b'u') {
            let code = json
                .get(i + 2..i + 6)
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u32::from_str_radix(hex, 16).ok());
            if let Some(c) = code
                && (c < 0x20 || (0x7F..=0x9F).contains(&c))
                && !matches!(c, 0x09 | 0x0A | 0x0D)
            {
                return Some(c);
            }
        }
        i += 2;
    }
    None
}

/// `application/json` or any `application/*+json`, parameters (charset) aside.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|sub| sub.ends_with("+json"))
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

fn json_rejection(rejection: JsonRejection) -> Problem {
    let status = rejection.status();
    let detail = rejection.body_text();
    match rejection {
        JsonRejection::JsonSyntaxError(_) => {
            Problem::with_status(ErrorCode::InvalidRequest, StatusCode::BAD_REQUEST, detail)
        }
        JsonRejection::JsonDataError(_) => Problem::with_status(
            ErrorCode::InvalidRequest,
            StatusCode::UNPROCESSABLE_ENTITY,
            detail,
        ),
        JsonRejection::MissingJsonContentType(_) => {
            Problem::new(ErrorCode::UnsupportedMediaType, detail)
        }
        _ => Problem::with_status(ErrorCode::for_status(status), status, detail),
    }
}

/// The id in a path, or 404 (a malformed id names nothing).
pub fn path_id(raw: &str, what: &str) -> Result<uuid::Uuid, Problem> {
    uuid::Uuid::parse_str(raw).map_err(|_| Problem::not_found(format!("no {what} {raw:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_other_than_tab_and_line_breaks_are_found_in_json_strings() {
        let found = |json: &str| control_character(json.as_bytes());
        assert_eq!(found(r#"{"title": "a\u0000b"}"#), Some(0));
        assert_eq!(found(r#"{"title": "\u001B[31mred"}"#), Some(0x1B));
        assert_eq!(found(r#"{"title": "del\u007f"}"#), Some(0x7F));
        assert_eq!(found(r#"{"title": "c1\u0085"}"#), Some(0x85));
        assert_eq!(found(r#"{"text": "line\nnext\tcol\r\u000a"}"#), None);
        assert_eq!(
            found(r#"{"text": "a backslash then u0000: \\u0000"}"#),
            None
        );
        assert_eq!(found(r#"{"text": "云市 \u4e91"}"#), None);
    }

    #[test]
    fn problem_serializes_with_rfc9457_members_and_code() {
        let p = Problem::not_found("no such thing");
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["type"], "urn:yunshi:problem:not_found");
        assert_eq!(v["title"], "Not found");
        assert_eq!(v["title_zh"], "未找到");
        assert_eq!(v["status"], 404);
        assert_eq!(v["detail"], "no such thing");
        assert_eq!(v["code"], "not_found");
    }

    #[test]
    fn every_code_has_distinct_titles_and_a_status_mapping_back() {
        use ErrorCode::*;
        for code in [
            InvalidRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            MethodNotAllowed,
            Conflict,
            PayloadTooLarge,
            UnsupportedMediaType,
            Timeout,
            Unavailable,
            Internal,
        ] {
            assert_eq!(ErrorCode::for_status(code.status()), code);
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                serde_json::json!(code.as_str())
            );
            assert!(!code.title_zh().is_ascii());
            assert_eq!(
                code.type_uri(),
                format!("urn:yunshi:problem:{}", code.as_str())
            );
        }
    }

    #[test]
    fn store_failures_are_503_and_conflicts_409() {
        assert_eq!(Problem::from(StoreError::Closed).status, 503);
        assert_eq!(
            Problem::from(StoreError::DuplicateDeadline("k".into())).status,
            409
        );
        let corrupt = Problem::from(StoreError::Corrupt("secret detail".into()));
        assert_eq!(corrupt.status, 500);
        assert!(!corrupt.detail.contains("secret"));
    }

    #[derive(Debug, thiserror::Error)]
    #[error("the window closed on 2026-04-06")]
    struct WindowClosed;

    impl DomainRefusal for WindowClosed {
        fn code(&self) -> &'static str {
            "window_closed"
        }
        fn class(&self) -> RefusalClass {
            RefusalClass::Conflict
        }
    }

    #[test]
    fn refusals_keep_their_own_code_with_their_class_status() {
        let v = serde_json::to_value(Problem::refusal(&WindowClosed)).unwrap();
        assert_eq!(v["code"], "window_closed");
        assert_eq!(v["type"], "urn:yunshi:problem:window_closed");
        assert_eq!(v["status"], 409);
        assert_eq!(v["title"], ErrorCode::Conflict.title());
        assert_eq!(v["detail"], "the window closed on 2026-04-06");
        let p = Problem::coded(
            ErrorCode::Unauthorized,
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "wrong e-mail or password",
        );
        assert_eq!(p.code, ErrorCode::Unauthorized);
        assert_eq!(p.stable_code, "invalid_credentials");
        assert_eq!(p.type_uri, "urn:yunshi:problem:invalid_credentials");
    }
}
