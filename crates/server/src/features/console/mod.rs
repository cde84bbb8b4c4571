//! The web console (issue 7): server-rendered pages in zh-CN and en for buyers (catalogue,
//! checkout, orders), providers (onboarding, products, orders, refunds, complaints,
//! standing, deposit, statements, invoices, deliveries) and operator staff (dashboard,
//! review queues, complaint and case desks, deposits, settlement, notices, rulebook, staff,
//! the simulated clock).
//!
//! Pages read the REST API in process as the signed-in user ([`api`]); forms post to one
//! action gateway ([`gateway`]) that turns the fields into that API call, so the console
//! holds no business rule of its own. Sessions are the API's login sessions, kept in an
//! HttpOnly cookie; every form carries a token bound to the session, and cross-site posts
//! are refused ([`session`]).

// A page handler's early exit is the response to send (a redirect, a refusal page); boxing
// it would buy nothing on this path.
#![allow(clippy::result_large_err)]

pub mod api;
pub mod blocks;
mod buyer;
mod gateway;
pub mod i18n;
mod operator;
mod provider;
mod public;
mod secure_cookies;
mod session;

use askama::Template;
use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde_json::Value;
use uuid::Uuid;
use yunshi_core::account::OperatorRole;

use self::api::{Api, Failure};
use self::blocks::{Block, Cell, Form};
use self::i18n::Lang;
use crate::kernel::state::AppState;

/// What the console's handlers share.
#[derive(Clone)]
pub struct Console {
    pub api: Api,
    pub app: AppState,
    /// Keys the per-session form tokens; new at every start (open forms then need a reload).
    csrf_key: [u8; 32],
}

/// The console's routes, calling `api` (the API router with its state) in process.
pub fn router(api: Router, app: AppState) -> Router {
    let mut csrf_key = [0u8; 32];
    if getrandom::fill(&mut csrf_key).is_err() {
        // Without randomness the key is still unique per process and never sent out.
        csrf_key = *blake3::hash(Uuid::now_v7().as_bytes()).as_bytes();
    }
    let secure = app.secure_cookies;
    let console = Console {
        api: Api::new(api),
        app,
        csrf_key,
    };
    Router::new()
        .route("/", get(public::catalogue))
        .route("/products/{id}", get(public::product))
        .route("/login", get(session::login_page).post(session::login))
        .route("/login/token", post(session::token_login))
        .route("/logout", post(session::logout))
        .route("/signup", get(session::signup_page).post(session::signup))
        .route("/lang/{tag}", get(session::switch_language))
        .route(
            "/console/act",
            // Material uploads come through here: the API's upload limit, not the general one.
            post(gateway::act).layer(axum::extract::DefaultBodyLimit::max(
                crate::kernel::files::UPLOAD_CAP,
            )),
        )
        .route("/console/file", get(gateway::file))
        .route("/assets/console/{file}", get(asset))
        .merge(buyer::routes())
        .merge(provider::routes())
        .merge(operator::routes())
        .with_state(console)
        .layer(axum::middleware::from_fn_with_state(
            secure,
            secure_cookies::apply,
        ))
}

/// What a page handler answers: the page, or its early exit (a redirect to the login, a
/// refusal page) — both responses, so handlers can use `?`.
pub type Page = Result<Response, Response>;

/// Who is looking at a page.
pub struct Visit {
    pub lang: Lang,
    pub token: Option<String>,
    pub me: Option<Me>,
    pub csrf: String,
    /// The path and query, for "back" links.
    pub path: String,
    pub flash: Option<session::Flash>,
    /// Reads of this page that failed ([`Console::read_soft`]): each is shown as an error
    /// banner at the top of the page, never as an empty list.
    failed: std::sync::Mutex<Vec<Failure>>,
}

/// The signed-in user as the API describes it.
pub struct Me {
    pub name: String,
    pub role: Role,
}

pub enum Role {
    Operator { roles: Vec<String> },
    Provider { provider: Uuid },
    Member { provider: Option<Uuid> },
}

impl Me {
    /// The provider the user acts for: its staff's, or the one its member account applied as.
    pub fn provider(&self) -> Option<Uuid> {
        match &self.role {
            Role::Provider { provider } => Some(*provider),
            Role::Member { provider } => *provider,
            Role::Operator { .. } => None,
        }
    }

    pub fn is_operator(&self) -> bool {
        matches!(self.role, Role::Operator { .. })
    }

    pub fn is_member(&self) -> bool {
        matches!(self.role, Role::Member { .. })
    }

    /// Where the user starts when no page asked for one: operator staff at their own work
    /// (the first desk of their role; the administrator at the dashboard), a provider's
    /// people at the provider centre, anyone else at the catalogue.
    pub fn landing(&self) -> &'static str {
        match &self.role {
            Role::Operator { roles } if roles.iter().any(|r| r == OperatorRole::Admin.as_str()) => {
                "/operator"
            }
            Role::Operator { .. } => operator::DESKS
                .iter()
                .find(|(_, path, role)| role.is_some() && self.works_at(path))
                .map_or("/operator", |(_, path, _)| *path),
            Role::Provider { .. } | Role::Member { provider: Some(_) } => "/provider",
            Role::Member { provider: None } => "/",
        }
    }

    /// Whether this operator staff member works at the desk on `path`
    /// ([`operator::DESKS`]): every desk for the administrator, the role's own desks and
    /// the shared ones for the others.
    pub fn works_at(&self, path: &str) -> bool {
        let Role::Operator { roles } = &self.role else {
            return false;
        };
        let has = |r: OperatorRole| roles.iter().any(|x| x == r.as_str());
        match operator::DESKS.iter().find(|(_, h, _)| *h == path) {
            Some((_, _, Some(role))) => has(*role) || has(OperatorRole::Admin),
            Some((_, _, None)) | None => true,
        }
    }
}

impl Visit {
    /// An error banner for each failed read of the page, the same failure once.
    fn failure_banners(&self) -> Vec<Block> {
        let Ok(failed) = self.failed.lock() else {
            return Vec::new();
        };
        let mut texts: Vec<String> = Vec::new();
        for f in failed.iter() {
            if !texts.contains(&f.message) {
                texts.push(f.message.clone());
            }
        }
        texts
            .into_iter()
            .map(|text| Block::Banner {
                tone: "error",
                text,
            })
            .collect()
    }
}

impl Console {
    /// Reads the visitor from the request: language, session, flash message.
    pub async fn visit(&self, headers: &HeaderMap, uri: &Uri) -> Visit {
        let cookies = session::cookies(headers);
        let lang = cookies
            .get(session::LANG_COOKIE)
            .map(|l| Lang::parse(l))
            .unwrap_or_default();
        let token = cookies.get(session::SESSION_COOKIE).cloned();
        let me = match &token {
            Some(t) => self.me(t, lang).await,
            None => None,
        };
        let csrf = session::csrf_token(&self.csrf_key, token.as_deref().filter(|_| me.is_some()));
        let flash = cookies
            .get(session::FLASH_COOKIE)
            .and_then(|f| session::Flash::decode(f));
        Visit {
            lang,
            token: token.filter(|_| me.is_some()),
            me,
            csrf,
            path: uri
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_else(|| "/".into()),
            flash,
            failed: std::sync::Mutex::default(),
        }
    }

    async fn me(&self, token: &str, lang: Lang) -> Option<Me> {
        let me = self.api.get("/api/v1/me", Some(token), lang).await.ok()?;
        let user = &me["user"];
        let name = user["display_name"]
            .as_str()
            .or(me["principal"].as_str())
            .unwrap_or("admin")
            .to_owned();
        let kind = &user["kind"];
        let role = match kind["type"].as_str() {
            Some("provider_staff") => Role::Provider {
                provider: uuid_at(kind, "/provider_id")?,
            },
            Some("member") => {
                let own = self
                    .api
                    .get("/api/v1/onboarding/provider", Some(token), lang)
                    .await
                    .ok();
                Role::Member {
                    provider: own
                        .and_then(|p| uuid_at(&p, "/provider/id").or_else(|| uuid_at(&p, "/id"))),
                }
            }
            Some("operator_staff") => Role::Operator {
                roles: kind["roles"]
                    .as_array()
                    .map(|r| {
                        r.iter()
                            .filter_map(|x| x.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
            },
            // The administrator's bootstrap token has no user: it is the operator.
            _ if me["actor"]["kind"]["type"] == "operator_staff"
                || me["role"].as_str().is_some_and(|r| r.contains("admin")) =>
            {
                Role::Operator {
                    roles: vec!["admin".into()],
                }
            }
            _ => return None,
        };
        Some(Me { name, role })
    }

    /// Renders `blocks` as a page with the navigation that fits the visitor.
    pub fn page(
        &self,
        visit: &Visit,
        title: String,
        subnav: Subnav,
        blocks_in: Vec<Block>,
    ) -> Response {
        let lang = visit.lang;
        let mut blocks = visit.failure_banners();
        blocks.extend(blocks_in);
        let mut clear_flash = false;
        if let Some(flash) = &visit.flash {
            clear_flash = true;
            session::apply_flash(&mut blocks, flash, lang);
        }
        let here = visit.path.split('?').next().unwrap_or("/");
        let mut nav = vec![(lang.t("nav.catalogue"), "/".to_owned())];
        if let Some(me) = &visit.me {
            if me.is_member() {
                nav.push((lang.t("nav.my_orders"), "/orders".into()));
            }
            if me.provider().is_some() || matches!(me.role, Role::Member { .. }) {
                nav.push((lang.t("nav.provider"), "/provider".into()));
            }
            if me.is_operator() {
                nav.push((lang.t("nav.operator"), "/operator".into()));
            }
        }
        let nav = nav
            .into_iter()
            .map(|(l, h)| {
                let current = section(&h) == section(here);
                (l, h, current)
            })
            .collect();
        let subnav = subnav
            .links(lang, visit.me.as_ref())
            .into_iter()
            .map(|(l, h)| {
                let current = h == here;
                (l, h, current)
            })
            .collect();
        let page = PageTemplate {
            lang,
            title,
            nav,
            subnav,
            user: visit.me.as_ref().map(|m| m.name.clone()),
            csrf: visit.csrf.clone(),
            path: visit.path.clone(),
            now: self.app.clock.now().to_string(),
            blocks,
        };
        let mut res = match page.render() {
            Ok(html) => Html(html).into_response(),
            Err(e) => {
                tracing::error!(error = %e, "console page did not render");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        };
        let headers = res.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                 form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        );
        let expired = HeaderValue::from_str(&session::expired_cookie(session::FLASH_COOKIE));
        if let (true, Ok(v)) = (clear_flash, expired) {
            headers.append(header::SET_COOKIE, v);
        }
        res
    }

    /// A page saying what went wrong (a failed read, a missing record).
    pub fn problem_page(&self, visit: &Visit, failure: &Failure) -> Response {
        let title = match failure.status {
            StatusCode::NOT_FOUND => visit.lang.t("error.not_found"),
            StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED => visit.lang.t("error.forbidden"),
            _ => visit.lang.t("common.error"),
        };
        let status = if failure.status.is_server_error() {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            failure.status
        };
        let mut res = self.page(
            visit,
            title,
            Subnav::None,
            vec![Block::Banner {
                tone: "error",
                text: failure.message.clone(),
            }],
        );
        *res.status_mut() = status;
        res
    }

    /// The visitor must be signed in: otherwise to the login page, back here after.
    pub fn require(&self, visit: &Visit) -> Result<(), Response> {
        if visit.me.is_some() {
            return Ok(());
        }
        let next = serde_urlencoded::to_string([("next", visit.path.as_str())]).unwrap_or_default();
        Err(Redirect::to(&format!("/login?{next}")).into_response())
    }

    /// GET as the visitor; a failure becomes the page that says so.
    pub async fn page_data(&self, visit: &Visit, path: &str) -> Result<Value, Response> {
        self.read(visit, path)
            .await
            .map_err(|f| self.problem_page(visit, &f))
    }

    /// GET as the visitor for a part of a page: a record that does not exist (404) is
    /// `null`; any other failure is `null` too, but logged and shown as an error banner on
    /// the page, so that a refused read never looks like an empty list.
    pub async fn read_soft(&self, visit: &Visit, path: &str) -> Value {
        match self.read(visit, path).await {
            Ok(v) => v,
            Err(f) if f.status == StatusCode::NOT_FOUND => Value::Null,
            Err(f) => {
                tracing::warn!(path, status = %f.status, code = %f.code, detail = %f.detail,
                    "a console page's read failed");
                if let Ok(mut failed) = visit.failed.lock() {
                    failed.push(f);
                }
                Value::Null
            }
        }
    }

    /// The records a list answers (`path` ends in a query) in any of `statuses`, gathered
    /// in one `{"items": [...]}`: a desk's open work, however much closed work lies before it.
    pub async fn in_statuses(&self, visit: &Visit, path: &str, statuses: &[&str]) -> Value {
        let mut all = Vec::new();
        for status in statuses {
            let page = self
                .read_soft(visit, &format!("{path}&status={status}"))
                .await;
            all.extend(items(&page).cloned());
        }
        serde_json::json!({ "items": all })
    }

    /// GET as the visitor.
    pub async fn read(&self, visit: &Visit, path: &str) -> Result<Value, Failure> {
        self.api.get(path, visit.token.as_deref(), visit.lang).await
    }
}

/// The first path segment: the console section a link belongs to.
fn section(path: &str) -> &str {
    match path.trim_start_matches('/').split('/').next() {
        Some("products") | Some("") | None => "",
        Some(s) => s,
    }
}

/// Which second-level navigation a page shows.
pub enum Subnav {
    None,
    Provider,
    Operator,
}

impl Subnav {
    /// The links of the section; an operator desk only for the roles that work at it.
    fn links(&self, lang: Lang, me: Option<&Me>) -> Vec<(String, String)> {
        let keys: &[(&str, &str)] = match self {
            Subnav::None => &[],
            Subnav::Provider => &[
                ("provider.title", "/provider"),
                ("provider.products", "/provider/products"),
                ("provider.orders", "/provider/orders"),
                ("provider.complaints", "/provider/complaints"),
                ("provider.standing", "/provider/standing"),
                ("provider.deposit", "/provider/deposit"),
                ("provider.statements", "/provider/statements"),
                ("provider.invoices", "/provider/invoices"),
                ("provider.webhooks", "/provider/webhooks"),
            ],
            Subnav::Operator => {
                return operator::DESKS
                    .iter()
                    .filter(|(_, h, _)| me.is_some_and(|m| m.works_at(h)))
                    .map(|(k, h, _)| (lang.t(k), (*h).to_owned()))
                    .collect();
            }
        };
        keys.iter()
            .map(|(k, h)| (lang.t(k), (*h).to_owned()))
            .collect()
    }
}

/// Everything the page template needs.
#[derive(Template)]
#[template(path = "console/page.html")]
struct PageTemplate {
    lang: Lang,
    title: String,
    /// (label, href, current).
    nav: Vec<(String, String, bool)>,
    subnav: Vec<(String, String, bool)>,
    user: Option<String>,
    csrf: String,
    path: String,
    /// The server's "now" (simulated or not), for the countdowns.
    now: String,
    blocks: Vec<Block>,
}

/// The console's static files, compiled in (no CDN, no request to another host).
async fn asset(Path(file): Path<String>) -> Response {
    let (body, content_type): (&'static [u8], &str) = match file.as_str() {
        "console.css" => (
            include_bytes!("../../../assets/console/console.css"),
            "text/css; charset=utf-8",
        ),
        "console.js" => (
            include_bytes!("../../../assets/console/console.js"),
            "text/javascript; charset=utf-8",
        ),
        "htmx.min.js" => (
            include_bytes!("../../../assets/console/htmx.min.js"),
            "text/javascript; charset=utf-8",
        ),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// The `items` of a page the API answered.
pub fn items(v: &Value) -> impl Iterator<Item = &Value> {
    v["items"].as_array().into_iter().flatten()
}

/// Complaints not yet decided.
pub const OPEN_COMPLAINTS: &[&str] = &["awaiting_response", "in_progress"];
/// Violation cases not yet final.
pub const OPEN_CASES: &[&str] = &["awaiting_reply", "replied", "penalty_noticed", "objected"];

/// The items still open first (nothing at `decided`), newest first within each group: how a
/// desk wants its queue.
pub fn open_first<'a>(v: &'a Value, decided: &str) -> Vec<&'a Value> {
    let mut all: Vec<&Value> = items(v).collect();
    all.reverse();
    all.sort_by_key(|i| i.pointer(decided).is_some_and(|d| !d.is_null()));
    all
}

/// A table block; `empty` is what it says without rows.
pub fn table(
    id: &str,
    caption: String,
    columns: Vec<String>,
    rows: Vec<Vec<Cell>>,
    empty: String,
) -> Block {
    Block::Table(blocks::Table {
        id: id.into(),
        caption,
        columns,
        rows,
        empty,
    })
}

/// A violation case's rule: its code and title in the page's language.
pub fn case_rule(lang: Lang, v: &Value) -> String {
    let (zh, en) = (text(v, "/case/row/title_zh"), text(v, "/case/row/title_en"));
    format!("{} {}", text(v, "/case/row/code"), lang.pick(&zh, &en))
}

/// The uuid at a JSON pointer.
pub fn uuid_at(v: &Value, pointer: &str) -> Option<Uuid> {
    v.pointer(pointer)?.as_str()?.parse().ok()
}

/// The string at a JSON pointer ("" when absent; numbers and booleans as text).
pub fn text(v: &Value, pointer: &str) -> String {
    match v.pointer(pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// A cell with the text at a pointer.
pub fn cell(v: &Value, pointer: &str) -> Cell {
    Cell::Text(text(v, pointer))
}

/// A yuan amount as shown ("¥1,234.50") from the API's decimal string.
pub fn yuan(amount: &str) -> String {
    if amount.is_empty() {
        return String::new();
    }
    let (neg, digits) = match amount.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, amount),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, "00"));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{}¥{grouped}.{frac}", if neg { "-" } else { "" })
}

/// An instant shown in Beijing time, to the minute.
pub fn when(instant: &str) -> String {
    match instant.parse::<jiff::Timestamp>() {
        Ok(t) => yunshi_core::time::beijing_datetime(t)
            .strftime("%Y-%m-%d %H:%M")
            .to_string(),
        Err(_) => instant.to_owned(),
    }
}

/// A new idempotency key for a form that moves money (a resubmission replays it).
pub fn idempotency_key() -> String {
    Uuid::now_v7().to_string()
}

/// A form that posts one API call through the gateway and comes back to `back`.
pub fn action(id: &str, api_path: &str, back: &str, submit: String) -> Form {
    Form::post(id, "/console/act", submit)
        .field(blocks::Field::hidden("_to", api_path))
        .field(blocks::Field::hidden("_back", back))
        .field(blocks::Field::hidden("_form", id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_lands_on_its_own_work() {
        let staff = |roles: &[&str]| Me {
            name: String::new(),
            role: Role::Operator {
                roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            },
        };
        assert_eq!(
            staff(&["customer_service"]).landing(),
            "/operator/complaints"
        );
        assert_eq!(staff(&["finance"]).landing(), "/operator/settlement");
        assert_eq!(staff(&["compliance"]).landing(), "/operator/cases");
        assert_eq!(staff(&["reviewer"]).landing(), "/operator/onboarding");
        assert_eq!(staff(&["admin", "finance"]).landing(), "/operator");
        let provider = Me {
            name: String::new(),
            role: Role::Provider {
                provider: Uuid::nil(),
            },
        };
        assert_eq!(provider.landing(), "/provider");
    }

    #[test]
    fn yuan_groups_thousands_and_keeps_the_fen() {
        assert_eq!(yuan("1234567.50"), "¥1,234,567.50");
        assert_eq!(yuan("-12.05"), "-¥12.05");
        assert_eq!(yuan("999"), "¥999.00");
    }
}
