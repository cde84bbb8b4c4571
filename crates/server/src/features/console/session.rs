//! Console sessions, form tokens, the language cookie and one-shot flash messages.
//!
//! A session is the API's own login session (12 hours): its token lives in an HttpOnly,
//! SameSite=Lax cookie and is sent to the API as the bearer token. Forms carry a token keyed
//! from the session (a blake3 keyed hash), and a POST must also come from this site
//! (`Sec-Fetch-Site`, else `Origin` against `Host`) — so another site can neither forge a
//! form nor log a victim into its own account.

use std::collections::HashMap;

use axum::Form as AxumForm;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::api::Payload;
use super::blocks::{Block, Cell, Field, FieldKind, Form};
use super::i18n::Lang;
use super::{Console, Subnav, Visit};
use crate::kernel::throttle::ClientAddr;

pub const SESSION_COOKIE: &str = "yunshi_session";
pub const LANG_COOKIE: &str = "yunshi_lang";
pub const FLASH_COOKIE: &str = "yunshi_flash";

/// The request's cookies by name.
pub fn cookies(headers: &HeaderMap) -> HashMap<String, String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            Some((k.to_owned(), v.to_owned()))
        })
        .collect()
}

pub fn cookie(name: &str, value: &str, max_age_secs: i64) -> String {
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}")
}

pub fn expired_cookie(name: &str) -> String {
    cookie(name, "", 0)
}

/// The form token of a session (or of "no session", for the login and sign-up forms).
pub fn csrf_token(key: &[u8; 32], session: Option<&str>) -> String {
    let hash = blake3::keyed_hash(key, session.unwrap_or("anonymous").as_bytes());
    hash.to_hex()[..32].to_owned()
}

/// Whether a state-changing request came from this site with the right form token.
pub fn genuine(console: &Console, headers: &HeaderMap, session: Option<&str>, token: &str) -> bool {
    let same_site = match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some(site) => site == "same-origin" || site == "none",
        None => match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
            Some(origin) => {
                let host = headers
                    .get(header::HOST)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                origin.split_once("://").map(|(_, h)| h) == Some(host)
            }
            None => true,
        },
    };
    let expected = csrf_token(&console.csrf_key, session);
    same_site && constant_time_eq(expected.as_bytes(), token.as_bytes())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A message for the next page: the outcome of a form, with what was typed when it failed.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Flash {
    /// The form it belongs to.
    pub form: String,
    /// "ok" or "error".
    pub tone: String,
    pub text: String,
    /// The field the error is about.
    #[serde(default)]
    pub field: Option<String>,
    #[serde(default)]
    pub values: HashMap<String, String>,
}

impl Flash {
    pub fn encode(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_default();
        serde_urlencoded::to_string([("f", json)]).unwrap_or_default()
    }

    pub fn decode(raw: &str) -> Option<Flash> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw).ok()?;
        let (_, json) = pairs.into_iter().find(|(k, _)| k == "f")?;
        serde_json::from_str(&json).ok()
    }

    pub fn set_cookie(&self) -> Option<HeaderValue> {
        HeaderValue::from_str(&cookie(FLASH_COOKIE, &self.encode(), 120)).ok()
    }
}

/// Puts a flash onto its form: the error beside its field (or atop the form), the values
/// typed back in; a success becomes a banner at the top of the page.
pub fn apply_flash(blocks: &mut Vec<Block>, flash: &Flash, lang: Lang) {
    if flash.tone == "ok" {
        blocks.insert(
            0,
            Block::Banner {
                tone: "ok",
                text: flash.text.clone(),
            },
        );
        return;
    }
    let mut placed = false;
    for form in forms_mut(blocks) {
        if form.id != flash.form {
            continue;
        }
        for field in form.fields.iter_mut() {
            let shown = !field.is_hidden() && !matches!(field.kind, FieldKind::Password);
            if let (true, Some(v)) = (shown, flash.values.get(&field.name)) {
                field.value = v.clone();
            }
            if flash.field.as_deref() == Some(field.name.as_str()) {
                field.error = Some(flash.text.clone());
                placed = true;
            }
        }
        if !placed {
            form.error = Some(flash.text.clone());
            placed = true;
        }
    }
    if !placed {
        blocks.insert(
            0,
            Block::Banner {
                tone: "error",
                text: format!("{}: {}", lang.t("common.error"), flash.text),
            },
        );
    }
}

/// Every form on a page: those standing alone and those in table rows.
fn forms_mut(blocks: &mut [Block]) -> impl Iterator<Item = &mut Form> {
    blocks
        .iter_mut()
        .flat_map(|block| -> Box<dyn Iterator<Item = &mut Form>> {
            match block {
                Block::Form(form) => Box::new(std::iter::once(form)),
                Block::Table(table) => Box::new(
                    table
                        .rows
                        .iter_mut()
                        .flatten()
                        .filter_map(|cell| match cell {
                            Cell::Actions(forms) => Some(forms.iter_mut()),
                            _ => None,
                        })
                        .flatten(),
                ),
                _ => Box::new(std::iter::empty()),
            }
        })
}

/// What a failed form may carry back to show again: never a secret, and little enough that
/// the cookie stays well under browsers' 4 KB (long texts are dropped, the error is kept).
pub fn echoable(fields: &[(String, String)]) -> HashMap<String, String> {
    let mut kept = HashMap::new();
    let mut budget = 1_500usize;
    for (name, value) in fields {
        let secret = name.contains("password") || name.contains("token") || name == "csrf";
        let size = name.len() + value.len();
        if secret || name.starts_with('_') || size > budget {
            continue;
        }
        budget -= size;
        kept.insert(name.clone(), value.clone());
    }
    kept
}

/// A redirect carrying a flash.
pub fn redirect_with(to: &str, flash: Option<Flash>) -> Response {
    let mut res = Redirect::to(to).into_response();
    if let Some(v) = flash.and_then(|f| f.set_cookie()) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// Only local paths are followed after a form (no open redirect).
pub fn local_path(p: &str) -> String {
    // Browsers drop tabs and newlines from a URL ("/\t/evil" becomes "//evil"), and a control
    // character cannot stand in a Location header: neither is a path of ours.
    let plain = !p.chars().any(|c| c.is_control());
    if plain && p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') {
        p.to_owned()
    } else {
        "/".to_owned()
    }
}

// ---- pages and actions ----

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

fn login_blocks(lang: Lang, next: &str) -> Vec<Block> {
    vec![
        Block::Form(
            Form::post("login", "/login", lang.t("login.submit"))
                .field(Field::hidden("next", next))
                .field(Field::new("email", lang.t("login.email"), FieldKind::Email).required())
                .field(
                    Field::new("password", lang.t("login.password"), FieldKind::Password)
                        .required(),
                ),
        ),
        Block::Links(vec![(
            format!("{} {}", lang.t("login.no_account"), lang.t("nav.signup")),
            "/signup".into(),
        )]),
        Block::Heading(lang.t("login.token_title")),
        Block::Form(
            Form::post("token-login", "/login/token", lang.t("login.token_submit"))
                .field(Field::hidden("next", next))
                .field(Field::new("token", lang.t("login.token"), FieldKind::Password).required()),
        ),
    ]
}

pub async fn login_page(
    State(c): State<Console>,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<NextQuery>,
) -> Response {
    let visit = c.visit(&headers, &uri).await;
    let next = local_path(q.next.as_deref().unwrap_or("/"));
    let blocks = login_blocks(visit.lang, &next);
    c.page(&visit, visit.lang.t("login.title"), Subnav::None, blocks)
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    token: String,
}

fn refused(
    lang: Lang,
    form: &str,
    field: Option<&str>,
    text: String,
    values: &[(&str, &str)],
) -> Flash {
    let _ = lang;
    Flash {
        form: form.into(),
        tone: "error".into(),
        text,
        field: field.map(str::to_owned),
        values: values
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

fn csrf_refusal(lang: Lang, form: &str) -> Flash {
    refused(lang, form, None, lang.t("error.csrf"), &[])
}

/// Where a user goes after logging in, when no page asked for it.
async fn home(c: &Console, token: &str, lang: Lang) -> String {
    c.me(token, lang)
        .await
        .map_or("/", |m| m.landing())
        .to_owned()
}

fn signed_in(to: &str, token: &str) -> Response {
    let mut res = Redirect::to(to).into_response();
    let max_age = crate::kernel::auth::SESSION_LIFETIME.as_secs();
    if let Ok(v) = HeaderValue::from_str(&cookie(SESSION_COOKIE, token, max_age)) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

async fn start_session(c: &Console, lang: Lang, token: &str, next: &str) -> Response {
    let to = if next.is_empty() || next == "/" {
        home(c, token, lang).await
    } else {
        local_path(next)
    };
    signed_in(&to, token)
}

pub async fn login(
    State(c): State<Console>,
    client: ClientAddr,
    headers: HeaderMap,
    uri: Uri,
    AxumForm(f): AxumForm<LoginForm>,
) -> Response {
    let visit = c.visit(&headers, &uri).await;
    let lang = visit.lang;
    let back = format!(
        "/login?{}",
        serde_urlencoded::to_string([("next", &f.next)]).unwrap_or_default()
    );
    if !genuine(&c, &headers, None, &f.csrf) {
        return redirect_with(&back, Some(csrf_refusal(lang, "login")));
    }
    let values = [("email", f.email.as_str())];
    for (name, value) in [("email", &f.email), ("password", &f.password)] {
        if value.trim().is_empty() {
            let flash = refused(
                lang,
                "login",
                Some(name),
                lang.t("common.field_required"),
                &values,
            );
            return redirect_with(&back, Some(flash));
        }
    }
    let body = json!({"email": f.email.trim(), "password": f.password});
    let reply = c
        .api
        .call_from(
            client,
            Method::POST,
            "/api/v1/sessions",
            None,
            Payload::Json(body),
        )
        .await;
    match reply.into_result(lang) {
        Ok(session) => {
            let token = session["token"].as_str().unwrap_or_default().to_owned();
            start_session(&c, lang, &token, &f.next).await
        }
        Err(failure) => {
            let text = if failure.code == "invalid_credentials" {
                lang.t("login.failed")
            } else {
                failure.message
            };
            redirect_with(
                &back,
                Some(refused(lang, "login", Some("password"), text, &values)),
            )
        }
    }
}

pub async fn token_login(
    State(c): State<Console>,
    headers: HeaderMap,
    uri: Uri,
    AxumForm(f): AxumForm<LoginForm>,
) -> Response {
    let visit = c.visit(&headers, &uri).await;
    let lang = visit.lang;
    let back = "/login";
    if !genuine(&c, &headers, None, &f.csrf) {
        return redirect_with(back, Some(csrf_refusal(lang, "token-login")));
    }
    let token = f.token.trim();
    if c.me(token, lang).await.is_none() {
        let text = lang.t("login.token_failed");
        return redirect_with(
            back,
            Some(refused(lang, "token-login", Some("token"), text, &[])),
        );
    }
    start_session(&c, lang, token, &f.next).await
}

pub async fn logout(
    State(c): State<Console>,
    headers: HeaderMap,
    uri: Uri,
    AxumForm(f): AxumForm<LoginForm>,
) -> Response {
    let visit = c.visit(&headers, &uri).await;
    if !genuine(&c, &headers, visit.token.as_deref(), &f.csrf) {
        return redirect_with("/", Some(csrf_refusal(visit.lang, "")));
    }
    if let Some(token) = &visit.token {
        // A login session ends; an API token used to sign in stays valid for the API.
        let _ = c
            .api
            .call(
                Method::DELETE,
                "/api/v1/sessions/current",
                Some(token),
                Payload::None,
                None,
            )
            .await;
    }
    let flash = Flash {
        tone: "ok".into(),
        text: visit.lang.t("login.logged_out"),
        ..Flash::default()
    };
    let mut res = redirect_with("/login", Some(flash));
    if let Ok(v) = HeaderValue::from_str(&expired_cookie(SESSION_COOKIE)) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

pub async fn signup_page(State(c): State<Console>, headers: HeaderMap, uri: Uri) -> Response {
    let visit = c.visit(&headers, &uri).await;
    let lang = visit.lang;
    let kinds = vec![
        ("personal".to_owned(), lang.t("signup.personal")),
        ("enterprise".to_owned(), lang.t("signup.enterprise")),
    ];
    let form = account_fields(
        Form::post("signup", "/signup", lang.t("signup.submit")),
        lang,
    )
    .field(Field::new("kind", lang.t("signup.kind"), FieldKind::Select(kinds)).value("personal"));
    c.page(
        &visit,
        lang.t("signup.title"),
        Subnav::None,
        vec![Block::Form(form)],
    )
}

/// The fields of a new account: name, e-mail and password (sign-up, new staff).
pub fn account_fields(form: Form, lang: Lang) -> Form {
    let name = Field::new(
        "display_name",
        lang.t("signup.display_name"),
        FieldKind::Text,
    );
    let password = Field::new("password", lang.t("login.password"), FieldKind::Password)
        .required()
        .hint(lang.t("signup.password_hint"));
    form.field(name.required())
        .field(Field::new("email", lang.t("login.email"), FieldKind::Email).required())
        .field(password)
}

#[derive(Deserialize)]
pub struct SignupForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    kind: String,
}

pub async fn signup(
    State(c): State<Console>,
    client: ClientAddr,
    headers: HeaderMap,
    uri: Uri,
    AxumForm(f): AxumForm<SignupForm>,
) -> Response {
    let visit = c.visit(&headers, &uri).await;
    let lang = visit.lang;
    if !genuine(&c, &headers, None, &f.csrf) {
        return redirect_with("/signup", Some(csrf_refusal(lang, "signup")));
    }
    let values = [
        ("display_name", f.display_name.as_str()),
        ("email", f.email.as_str()),
        ("kind", f.kind.as_str()),
    ];
    for (name, value) in [
        ("display_name", &f.display_name),
        ("email", &f.email),
        ("password", &f.password),
    ] {
        if value.trim().is_empty() {
            let flash = refused(
                lang,
                "signup",
                Some(name),
                lang.t("common.field_required"),
                &values,
            );
            return redirect_with("/signup", Some(flash));
        }
    }
    let kind = if f.kind == "enterprise" {
        "enterprise"
    } else {
        "personal"
    };
    let body = json!({"email": f.email.trim(), "password": f.password,
                      "display_name": f.display_name.trim(), "kind": kind});
    let made = c
        .api
        .call(
            Method::POST,
            "/api/v1/members",
            None,
            Payload::Json(body),
            None,
        )
        .await
        .into_result(lang);
    if let Err(failure) = made {
        let field = ["password", "email", "display_name"]
            .into_iter()
            .find(|f| failure.detail.contains(f) || failure.code.contains(f));
        let flash = refused(lang, "signup", field, failure.message, &values);
        return redirect_with("/signup", Some(flash));
    }
    let body = json!({"email": f.email.trim(), "password": f.password});
    match c
        .api
        .call_from(
            client,
            Method::POST,
            "/api/v1/sessions",
            None,
            Payload::Json(body),
        )
        .await
        .into_result(lang)
    {
        Ok(session) => {
            let token = session["token"].as_str().unwrap_or_default().to_owned();
            start_session(&c, lang, &token, "/").await
        }
        Err(failure) => redirect_with(
            "/login",
            Some(refused(lang, "login", None, failure.message, &[])),
        ),
    }
}

#[derive(Deserialize)]
pub struct BackQuery {
    back: Option<String>,
}

/// Remembers the chosen language for a year and goes back to the page.
pub async fn switch_language(Path(tag): Path<String>, Query(q): Query<BackQuery>) -> Response {
    let lang = Lang::parse(&tag);
    let mut res = Redirect::to(&local_path(q.back.as_deref().unwrap_or("/"))).into_response();
    let value = format!(
        "{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000",
        lang.tag()
    );
    if let Ok(v) = HeaderValue::from_str(&value) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// The visitor of a POST whose form token and origin were checked; otherwise the redirect
/// back with the refusal.
pub fn checked(
    c: &Console,
    visit: &Visit,
    headers: &HeaderMap,
    token: &str,
    back: &str,
    form: &str,
) -> Result<(), Response> {
    if genuine(c, headers, visit.token.as_deref(), token) {
        Ok(())
    } else {
        Err(redirect_with(back, Some(csrf_refusal(visit.lang, form))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_token_is_bound_to_its_session() {
        let key = [7u8; 32];
        let a = csrf_token(&key, Some("session-a"));
        assert_eq!(a, csrf_token(&key, Some("session-a")));
        assert_ne!(a, csrf_token(&key, Some("session-b")));
        assert_ne!(a, csrf_token(&[8u8; 32], Some("session-a")));
    }

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(local_path("/orders?x=1"), "/orders?x=1");
        assert_eq!(local_path("//evil.example/"), "/");
        assert_eq!(local_path("https://evil.example/"), "/");
        assert_eq!(local_path("/\t/evil.example"), "/");
        assert_eq!(local_path("/x\r\nSet-Cookie: a=b"), "/");
    }

    #[test]
    fn a_failed_form_never_carries_a_password_back_and_stays_small() {
        let fields = vec![
            ("email".to_owned(), "a@b.cn".to_owned()),
            ("password".to_owned(), "secret-1234567".to_owned()),
            ("text".to_owned(), "长".repeat(2_000)),
        ];
        let kept = echoable(&fields);
        assert_eq!(kept.get("email").map(String::as_str), Some("a@b.cn"));
        assert!(!kept.contains_key("password"));
        assert!(!kept.contains_key("text"), "too long for the cookie");
    }

    #[test]
    fn a_flash_survives_its_cookie() {
        let f = Flash {
            form: "login".into(),
            tone: "error".into(),
            text: "邮箱或密码错误; a=b".into(),
            field: Some("password".into()),
            values: [("email".to_owned(), "x@y.cn".to_owned())].into(),
        };
        let back = Flash::decode(&f.encode()).expect("decodes");
        assert_eq!(back.text, f.text);
        assert_eq!(back.values["email"], "x@y.cn");
    }
}
