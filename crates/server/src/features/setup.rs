//! The one-time setup link: `GET /setup?token=…` shows a small bilingual page, `POST /setup`
//! (form) or `POST /api/v1/setup` (JSON) exchanges the setup secret for an operator
//! administrator token, shown once.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::kernel::auth::{IssuedToken, ROLE_SETUP, hash_secret, redeem_setup_secret};
use crate::kernel::problem::{ApiJson, HtmlErrorPage, Problem};
use crate::kernel::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
pub struct SetupQuery {
    /// The one-time secret from the link printed at start-up.
    pub token: Option<String>,
}

/// The setup secret, as a form field or a JSON member.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SetupRequest {
    /// The one-time secret from the link printed at start-up.
    pub token: String,
}

/// Shows the setup page if the link is still good.
#[utoipa::path(
    get,
    path = "/setup",
    tag = "setup",
    params(SetupQuery),
    responses(
        (status = 200, description = "The setup page (zh-CN and en)", content_type = "text/html"),
        (status = 400, description = "No token in the link"),
        (status = 403, description = "The link is invalid, expired or used"),
    )
)]
pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<SetupQuery>,
) -> Response {
    let Some(secret) = query.token.filter(|t| !t.trim().is_empty()) else {
        return refuse(
            &headers,
            Problem::invalid_request("open the setup link printed when the server started"),
        );
    };
    let token = match state.store.api_token(&hash_secret(secret.trim())).await {
        Ok(t) => t,
        Err(e) => return refuse(&headers, e.into()),
    };
    let usable = token.is_some_and(|t| t.role == ROLE_SETUP && t.is_active(state.clock.now()));
    if !usable {
        return refuse(
            &headers,
            Problem::forbidden("this setup link is not valid, has expired or was already used"),
        );
    }
    no_store(Html(setup_form(secret.trim())).into_response())
}

/// Exchanges the setup secret (form post from the setup page) for an administrator token.
#[utoipa::path(
    post,
    path = "/setup",
    tag = "setup",
    request_body(content = SetupRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The new administrator token, shown once", content_type = "text/html"),
        (status = 403, description = "The link is invalid, expired or was already used"),
    )
)]
pub async fn submit_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SetupRequest>,
) -> Response {
    match redeem_setup_secret(&state, &form.token).await {
        Ok(issued) => no_store(Html(issued_page(&issued)).into_response()),
        Err(problem) => refuse(&headers, problem),
    }
}

/// Exchanges the setup secret for an administrator token (for automation).
#[utoipa::path(
    post,
    path = "/api/v1/setup",
    tag = "setup",
    request_body = SetupRequest,
    responses(
        (status = 201, description = "The new administrator token, shown once", body = IssuedToken),
        (status = 400, description = "Malformed JSON"),
        (status = 403, description = "The setup secret is invalid, expired or was already used"),
    )
)]
pub async fn submit_json(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<SetupRequest>,
) -> Result<Response, Problem> {
    let issued = redeem_setup_secret(&state, &req.token).await?;
    Ok(no_store(
        (StatusCode::CREATED, ApiJson(issued)).into_response(),
    ))
}

fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// A browser gets a readable page; any other client the problem document.
fn refuse(headers: &HeaderMap, problem: Problem) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if !wants_html {
        return problem.into_response();
    }
    let body = page_html(
        "设置链接不可用 · Setup link unavailable",
        &format!(
            "<p lang=\"zh-CN\">{}。请使用服务启动时打印的链接；如已过期，请重启服务以获取新链接。</p>\
             <p lang=\"en\">{}. Use the link printed when the server started; if it has expired, \
             restart the server for a new one.</p>",
            escape(problem.title_zh),
            escape(&problem.detail),
        ),
    );
    let mut res = no_store((problem.status_code(), Html(body)).into_response());
    res.extensions_mut().insert(HtmlErrorPage);
    res
}

fn setup_form(secret: &str) -> String {
    page_html(
        "云市 · 初始设置 · Yunshi first-time setup",
        &format!(
            "<p lang=\"zh-CN\">此链接仅可使用一次：点击下方按钮，将创建一个<strong>运营管理员</strong> API 令牌，\
             并且只显示这一次。</p>\
             <p lang=\"en\">This link works once: the button below creates an <strong>operator \
             administrator</strong> API token and shows it this one time.</p>\
             <form method=\"post\" action=\"/setup\">\
             <input type=\"hidden\" name=\"token\" value=\"{}\">\
             <button type=\"submit\">创建管理员令牌 · Create administrator token</button>\
             </form>",
            escape(secret)
        ),
    )
}

fn issued_page(issued: &IssuedToken) -> String {
    page_html(
        "管理员令牌已创建 · Administrator token created",
        &format!(
            "<p lang=\"zh-CN\">请立即妥善保存此令牌，它不会再次显示。调用 API 时使用请求头 \
             <code>Authorization: Bearer &lt;令牌&gt;</code>。设置链接现已失效。</p>\
             <p lang=\"en\">Store this token now; it will not be shown again. Send it as \
             <code>Authorization: Bearer &lt;token&gt;</code>. The setup link no longer works.</p>\
             <pre id=\"token\">{}</pre>\
             <p>principal: <code>{}</code> · role: <code>{}</code></p>",
            escape(&issued.token),
            escape(&issued.principal),
            escape(&issued.role),
        ),
    )
}

fn page_html(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\">\
         <title>{title}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.6}}\
         pre{{background:#f4f4f4;padding:1rem;overflow-wrap:anywhere;white-space:pre-wrap}}\
         button{{font-size:1rem;padding:.5rem 1rem}}</style></head>\
         <body><h1>{title}</h1>{body}</body></html>\n"
    )
}

/// Escapes text for HTML element content and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_neutralises_markup() {
        assert_eq!(
            escape("\"><script>x</script>&'"),
            "&quot;&gt;&lt;script&gt;x&lt;/script&gt;&amp;&#39;"
        );
    }
}
