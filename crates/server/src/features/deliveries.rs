//! SaaS delivery webhooks (issue 3 item 8, SPEC §5): a provider registers one endpoint and
//! receives a signing secret; [`enqueue`] records a delivery of an instance event (create,
//! renew, expire, release) and schedules its first attempt as a stored deadline
//! (`webhook.attempt`). Each attempt POSTs the signed JSON body; a 2xx marks it delivered,
//! anything else schedules the next attempt after [`BACKOFF`], and after the last one the
//! delivery is dead-lettered — for a `create` with the event `saas.delivery_failed` (about
//! the order), which the governance rules consume, and the order itself marked "delivery
//! failed" (`order.delivery`, in the same batch, conditional on the order's version; a later
//! successful manual retry marks it delivered). Where the rulebook in force has the SaaS
//! delivery-failure rule (TC 4.2), the same batches schedule that rule's deadlines: the
//! failure's and, on the later delivery, the repair's (the visibility feature). Every attempt is logged on the delivery and
//! the provider sees its own deliveries.
//!
//! Aggregates: `webhook_endpoint` (id = the provider's id; it holds the secret sealed under
//! the data keys, [`crate::kernel::sealing`]) and `webhook_delivery` (owner = the provider).
//!
//! Delivery is at least once: the POST happens before the attempt is committed, so a crash
//! or a lost race in between repeats it. Receivers dedupe by `X-Yunshi-Delivery`.
//!
//! The HTTP client is reqwest with rustls, verifying endpoints' certificates against the
//! system's trust store. Destinations follow the egress policy ([`crate::kernel::egress`]): never
//! loopback, private, link-local, metadata and other internal addresses or names, checked at
//! registration and again after resolution at every attempt. The sandbox — a simulated
//! clock, and plain `http://` in debug builds — may reach loopback (127.0.0.1, `::1`,
//! `localhost`), where tests and the simulator run their receivers. The log keeps the status
//! line of an answer, never its body.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hmac::{Hmac, KeyInit, Mac};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;
use yunshi_core::account::Owner;
use yunshi_core::ids::{OrderId, ProviderId};
use yunshi_store::{AggregateQuery, Deadline, FiredDeadline, WriteBatch};

use crate::kernel::auth::{Principal, new_secret};
use crate::kernel::deadlines::{Handler, HandlerFuture, firing_time};
use crate::kernel::egress::{GuardedResolver, Refused};
use crate::kernel::pipeline::{Loaded, aggregate_write, fire_only, load};
use crate::kernel::problem::{ApiJson, ErrorCode, Problem};
use crate::kernel::repo::deliveries::AttemptPayload;
use crate::kernel::repo::deliveries::{
    ATTEMPT, Attempt, BACKOFF, DELIVERY, Delivery, DeliveryKind, DeliveryStatus, ENDPOINT,
    add_delivery, attempt_deadline, delivery_write, event,
};
use crate::kernel::state::AppState;

/// Event recorded when a `create` delivery is dead-lettered (subject `order:<id>`).
pub const DELIVERY_FAILED: &str = "saas.delivery_failed";
/// Event recorded when a delivery whose failure was reported is delivered after all.
pub const DELIVERY_REPAIRED: &str = "saas.delivery_repaired";

/// How long one attempt may take, connection to last byte.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest status line kept in the log (the body is never read: an endpoint's answer
/// must not carry what it can reach back to the provider).
pub const STATUS_LINE_CHARS: usize = 64;
const MAX_URL_LEN: usize = 2048;
const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;

/// The signature scheme, as documented to providers.
const SIGNING_DOC: &str = "Every delivery is an HTTP `POST` of a JSON body \
(`Content-Type: application/json`) with these headers:\n\n\
* `X-Yunshi-Delivery`: the delivery id (a UUID). Deliveries are *at least once*: the same id \
can arrive more than once; process it once.\n\
* `X-Yunshi-Event`: `create`, `renew`, `expire` or `release`.\n\
* `X-Yunshi-Timestamp`: the attempt's time in Unix seconds.\n\
* `X-Yunshi-Signature`: `sha256=<hex>`, the lower-case hex HMAC-SHA256, keyed with the \
endpoint's secret (the whole `whsec_…` string as ASCII bytes), of `<timestamp>.<body>` — the \
`X-Yunshi-Timestamp` value, a full stop, and the raw request body bytes.\n\n\
Verify by recomputing the HMAC over the raw body and comparing in constant time; reject \
timestamps far from your clock to stop replays. Answer any 2xx to acknowledge. Any other \
status, a timeout (10 s) or a connection error is retried after 1 min, 5 min, 30 min, 2 h \
and 6 h; after the sixth failed attempt the delivery is dead-lettered (a failed `create` \
marks the order's SaaS delivery as failed) and can be retried by hand. Redirects are not \
followed. The body is `{\"id\", \"event\", \"created_at\", \"provider_id\", \"order_id\", \
\"data\"}`.";

/// A registered endpoint as stored (with its secret; never shown after registration).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct EndpointRecord {
    provider_id: Uuid,
    url: String,
    /// Sealed ([`crate::kernel::sealing`], bound to the provider); plain in records from before.
    secret: String,
    registered_at: Timestamp,
}

/// What a webhook secret is sealed for: its provider's endpoint.
fn secret_context(provider: Uuid) -> String {
    format!("{ENDPOINT}:{provider}:secret")
}

/// This module's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(put_endpoint, get_endpoint, list_deliveries, get_delivery, retry_delivery),
    components(schemas(
        EndpointRequest,
        EndpointView,
        RegisteredEndpoint,
        Delivery,
        DeliveryPage,
        Attempt,
        DeliveryKind,
        DeliveryStatus
    )),
    tags((name = "webhooks", description = "SaaS delivery webhooks: the provider's endpoint, \
        signed deliveries with retries, the delivery log."))
)]
pub struct ApiDoc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/webhooks/endpoint",
            get(get_endpoint).put(put_endpoint),
        )
        .route("/api/v1/webhooks/deliveries", get(list_deliveries))
        .route("/api/v1/webhooks/deliveries/{id}", get(get_delivery))
        .route(
            "/api/v1/webhooks/deliveries/{id}/retry",
            post(retry_delivery),
        )
}

/// The deadline kinds this module fires, and how.
pub const DEADLINES: &[(&str, Handler)] = &[(ATTEMPT, attempt_handler)];

// ---------------------------------------------------------------------------------------
// Signing and URLs

/// `sha256=<hex>`: HMAC-SHA256 keyed with `secret` over `<timestamp>.<body>`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length, so this cannot fail; an empty MAC would never verify.
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + bytes.len() * 2);
    out.push_str("sha256=");
    for b in bytes.iter() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Why an endpoint URL is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlRefusal {
    /// Not an `https://` URL with a host and nothing else (`invalid_request`).
    Invalid(String),
    /// A destination the egress policy forbids ([`crate::kernel::egress`]), with its host.
    Destination(Refused, String),
}

impl UrlRefusal {
    pub fn into_problem(self) -> Problem {
        match self {
            UrlRefusal::Invalid(detail) => invalid(detail),
            UrlRefusal::Destination(why, host) => Problem::coded(
                ErrorCode::InvalidRequest,
                StatusCode::UNPROCESSABLE_ENTITY,
                why.code(),
                format!(
                    "webhooks are not sent to {}: {host} is refused",
                    why.describe()
                ),
            ),
        }
    }
}

impl std::fmt::Display for UrlRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UrlRefusal::Invalid(detail) => f.write_str(detail),
            UrlRefusal::Destination(why, host) => {
                write!(f, "{host} is {}: refused", why.describe())
            }
        }
    }
}

/// Whether `url` may reach loopback: in the sandbox (a simulated clock), and for plain
/// `http://` in debug builds — where tests and the simulator run their receivers.
fn loopback_allowed(url: &reqwest::Url, sandbox: bool) -> bool {
    sandbox || (cfg!(debug_assertions) && url.scheme() == "http")
}

/// Checks an endpoint URL: `https://` with a host, no credentials or fragment, and a
/// destination the egress policy allows ([`crate::kernel::egress`]); `http://` only to a loopback
/// host in a sandbox (a simulated clock) or a debug build.
pub fn check_endpoint_url(raw: &str, sandbox: bool) -> Result<String, UrlRefusal> {
    let bad = |s: String| UrlRefusal::Invalid(s);
    let raw = raw.trim();
    if raw.len() > MAX_URL_LEN {
        return Err(bad(format!(
            "the URL is longer than {MAX_URL_LEN} characters"
        )));
    }
    let url = reqwest::Url::parse(raw).map_err(|e| bad(format!("not a URL: {e}")))?;
    let host = url
        .host()
        .filter(|h| !matches!(h, url::Host::Domain("")))
        .ok_or_else(|| bad("the URL has no host".into()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("the URL must not carry credentials".into()));
    }
    if url.fragment().is_some() {
        return Err(bad("the URL must not have a fragment".into()));
    }
    let loopback = crate::kernel::egress::check_host(&host, false) == Some(Refused::Loopback);
    match url.scheme() {
        "https" => {}
        "http" if loopback && (sandbox || cfg!(debug_assertions)) => {}
        "http" => return Err(bad("the endpoint must use https://".into())),
        other => {
            return Err(bad(format!(
                "the scheme {other:?} is not supported; use https://"
            )));
        }
    }
    if let Some(why) = crate::kernel::egress::check_host(&host, loopback_allowed(&url, sandbox)) {
        return Err(UrlRefusal::Destination(why, host.to_string()));
    }
    Ok(url.to_string())
}

fn invalid(detail: impl Into<String>) -> Problem {
    Problem::with_status(
        ErrorCode::InvalidRequest,
        StatusCode::UNPROCESSABLE_ENTITY,
        detail,
    )
}

// ---------------------------------------------------------------------------------------
// Enqueueing

/// Records a delivery of `kind` about `order` to `provider`'s endpoint and schedules its
/// first attempt at once; returns the delivery id. See [`add_delivery`] to commit it in the
/// same batch as the order change it reports.
pub async fn enqueue(
    state: &AppState,
    provider: ProviderId,
    kind: DeliveryKind,
    order: OrderId,
    data: serde_json::Value,
) -> Result<Uuid, Problem> {
    let now = state.clock.now();
    let mut batch = WriteBatch::default();
    let id = add_delivery(&mut batch, provider, kind, order, data, now)?;
    crate::kernel::pipeline::create(&state.store, batch).await?;
    tracing::info!(delivery = %id, %provider, %order, event = kind.as_str(), "delivery enqueued");
    Ok(id)
}

// ---------------------------------------------------------------------------------------
// Attempts

fn attempt_handler(state: AppState, deadline: Deadline) -> HandlerFuture {
    Box::pin(run_attempt(state, deadline))
}

fn is_current(d: &Delivery, number: u32) -> bool {
    d.status == DeliveryStatus::Pending && d.attempts.len() + 1 == number as usize
}

async fn run_attempt(state: AppState, deadline: Deadline) -> Result<(), Problem> {
    let at = firing_time(&state, &deadline);
    let fired = FiredDeadline {
        id: deadline.id,
        at,
    };
    let payload: AttemptPayload = match serde_json::from_value(deadline.payload.clone()) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(deadline = %deadline.id, error = %e, "malformed webhook attempt; dropped");
            return fire_only(&state, fired).await;
        }
    };
    let Some(loaded) = load::<Delivery>(&state.store, DELIVERY, payload.delivery_id).await? else {
        return fire_only(&state, fired).await;
    };
    if !is_current(&loaded.state, payload.attempt) {
        return fire_only(&state, fired).await;
    }
    let endpoint = load::<EndpointRecord>(&state.store, ENDPOINT, loaded.state.provider_id)
        .await?
        .map(|l| l.state);
    let secret = match &endpoint {
        Some(e) => state
            .keys
            .open_text(&e.secret, &secret_context(e.provider_id))
            .map_err(|e| Problem::internal(format!("the webhook secret does not open: {e}")))?,
        None => String::new(),
    };
    let sandbox = state.clock_mode == crate::kernel::config::ClockMode::Simulated;
    let attempt = send(
        endpoint.as_ref(),
        &secret,
        &loaded.state,
        payload.attempt,
        at,
        sandbox,
    )
    .await;
    tracing::info!(
        delivery = %loaded.state.id,
        attempt = attempt.number,
        status = ?attempt.status_code,
        error = attempt.error.as_deref().unwrap_or(""),
        "webhook attempt"
    );
    // A `create` also marks its order delivered or "delivery failed", in the same batch.
    let order_of = |d: &Delivery| (d.event == DeliveryKind::Create).then_some(d.order_id);
    let order = match order_of(&loaded.state) {
        Some(id) => crate::kernel::repo::orders::load_order(&state.store, id).await?,
        None => None,
    };
    // TC 4.2: a failed `create`, and its repair, feed the SaaS delivery-failure rule when
    // the rulebook in force has it (the visibility feature).
    let rule = crate::reactions::saas::saas_rule_in_force(&state, at).is_some();
    // The first attempt records on what was loaded before sending; a lost race reloads.
    let mut first = Some((loaded, order));
    crate::kernel::pipeline::fire_at(&state, fired, |_| {
        let (state, payload, attempt) = (&state, &payload, &attempt);
        let loaded = first.take();
        async move {
            let (current, order) = match loaded {
                Some(loaded) => loaded,
                None => {
                    match load::<Delivery>(&state.store, DELIVERY, payload.delivery_id).await? {
                        Some(again) if is_current(&again.state, payload.attempt) => {
                            let order = match order_of(&again.state) {
                                Some(id) => {
                                    crate::kernel::repo::orders::load_order(&state.store, id)
                                        .await?
                                }
                                None => None,
                            };
                            (again, order)
                        }
                        _ => return Ok((WriteBatch::default(), ())),
                    }
                }
            };
            Ok((
                record(&current, attempt.clone(), at, order.as_ref(), rule)?,
                (),
            ))
        }
    })
    .await
    .map(|_| ())
}

/// The batch that logs `attempt` on the delivery and decides what follows. For a `create`,
/// `order` is the order it provisions (if stored): delivered marks it delivered, and
/// dead-lettering marks it "delivery failed" — conditional on the order's loaded version.
/// With `visibility_rule` (the rulebook in force has the SaaS delivery-failure rule) the
/// failure of a `create`, and its later delivery, also schedule the rule's deadlines
/// ([`crate::reactions::saas::failed_deadline`], [`crate::reactions::saas::repaired_deadline`]).
fn record(
    loaded: &Loaded<Delivery>,
    attempt: Attempt,
    at: Timestamp,
    order: Option<&Loaded<crate::kernel::repo::orders::OrderRecord>>,
    visibility_rule: bool,
) -> Result<WriteBatch, Problem> {
    let mut d = loaded.state.clone();
    let subject = format!("{DELIVERY}:{}", d.id);
    let order_subject = format!("order:{}", d.order_id);
    let mut batch = WriteBatch::default();
    let succeeded = attempt.succeeded();
    d.attempts.push(attempt);
    let done = u32::try_from(d.attempts.len()).unwrap_or(u32::MAX);
    let facts = json!({
        "delivery_id": d.id, "event": d.event.as_str(), "order_id": d.order_id,
        "provider_id": d.provider_id, "attempts": done,
        "product_id": d.body["data"].get("product_id"),
    });
    if succeeded {
        d.status = DeliveryStatus::Delivered;
        d.next_attempt_at = None;
        batch
            .events
            .push(event("saas.delivery_delivered", subject, at, facts.clone()));
        if d.failure_reported {
            batch
                .events
                .push(event(DELIVERY_REPAIRED, order_subject, at, facts));
            if visibility_rule && d.event == DeliveryKind::Create {
                batch
                    .schedule
                    .push(crate::reactions::saas::repaired_deadline(&d, at));
            }
        }
        if d.event == DeliveryKind::Create
            && let Some(order) = order
        {
            crate::kernel::repo::orders::mark_delivery(&mut batch, order, true, at)?;
        }
    } else if done < d.max_attempts {
        let wait = BACKOFF
            .get(d.attempts.len().saturating_sub(1))
            .or(BACKOFF.last())
            .copied()
            .unwrap_or(SignedDuration::from_mins(1));
        let due = at
            .checked_add(wait)
            .map_err(|e| Problem::internal(format!("next attempt time: {e}")))?;
        d.next_attempt_at = Some(due);
        batch.schedule.push(attempt_deadline(d.id, done + 1, due));
    } else {
        d.status = DeliveryStatus::DeadLettered;
        d.next_attempt_at = None;
        batch.events.push(event(
            "saas.delivery_dead_lettered",
            subject,
            at,
            facts.clone(),
        ));
        if d.event == DeliveryKind::Create && !d.failure_reported {
            d.failure_reported = true;
            batch
                .events
                .push(event(DELIVERY_FAILED, order_subject, at, facts));
            if visibility_rule {
                batch
                    .schedule
                    .push(crate::reactions::saas::failed_deadline(&d, at));
            }
        }
        if d.event == DeliveryKind::Create
            && let Some(order) = order
        {
            crate::kernel::repo::orders::mark_delivery(&mut batch, order, false, at)?;
        }
    }
    batch
        .aggregates
        .push(delivery_write(&d, Some(loaded.version), at)?);
    Ok(batch)
}

/// The webhook client: no proxy (the resolver must see the endpoint's own name), no
/// redirects, and names resolved by a [`GuardedResolver`] (loopback only in the sandbox).
fn client(loopback_allowed: bool) -> Result<&'static reqwest::Client, String> {
    static STRICT: OnceLock<reqwest::Client> = OnceLock::new();
    static SANDBOX: OnceLock<reqwest::Client> = OnceLock::new();
    let cell = if loopback_allowed { &SANDBOX } else { &STRICT };
    if let Some(c) = cell.get() {
        return Ok(c);
    }
    let built = build_client(GuardedResolver::system(loopback_allowed))?;
    Ok(cell.get_or_init(|| built))
}

fn build_client(resolver: GuardedResolver) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(ATTEMPT_TIMEOUT)
        .connect_timeout(ATTEMPT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(resolver)
        .user_agent(concat!("Yunshi-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// `text` without control characters, at most `max` characters: safe to log and show.
fn sanitised(text: &str, max: usize) -> String {
    text.chars().filter(|c| !c.is_control()).take(max).collect()
}

/// Posts one attempt and reports what happened; never fails (failures are the report).
/// The URL is checked again against the egress policy in force (`sandbox`: a simulated
/// clock); names are resolved by the guarded resolver, so what is connected to was checked.
async fn send(
    endpoint: Option<&EndpointRecord>,
    secret: &str,
    d: &Delivery,
    number: u32,
    at: Timestamp,
    sandbox: bool,
) -> Attempt {
    send_with(endpoint, secret, d, number, at, sandbox, None).await
}

async fn send_with(
    endpoint: Option<&EndpointRecord>,
    secret: &str,
    d: &Delivery,
    number: u32,
    at: Timestamp,
    sandbox: bool,
    test_client: Option<&reqwest::Client>,
) -> Attempt {
    let mut attempt = Attempt {
        number,
        at,
        url: endpoint.map(|e| e.url.clone()),
        status_code: None,
        response_excerpt: None,
        error: None,
        duration_ms: 0,
    };
    let Some(endpoint) = endpoint else {
        attempt.error = Some("the provider has registered no webhook endpoint".into());
        return attempt;
    };
    let url = match check_endpoint_url(&endpoint.url, sandbox) {
        Ok(u) => u,
        Err(e) => {
            attempt.error = Some(format!("not sent: {e}"));
            return attempt;
        }
    };
    let loopback = reqwest::Url::parse(&url).is_ok_and(|u| loopback_allowed(&u, sandbox));
    let client = match test_client.map_or_else(|| client(loopback), Ok) {
        Ok(c) => c,
        Err(e) => {
            attempt.error = Some(e);
            return attempt;
        }
    };
    let body = match serde_json::to_vec(&d.body) {
        Ok(b) => b,
        Err(e) => {
            attempt.error = Some(format!("the body does not serialise: {e}"));
            return attempt;
        }
    };
    let timestamp = at.as_second();
    let started = Instant::now();
    let sent = client
        .post(&url)
        .header(header::CONTENT_TYPE, "application/json")
        .header("X-Yunshi-Delivery", d.id.to_string())
        .header("X-Yunshi-Event", d.event.as_str())
        .header("X-Yunshi-Timestamp", timestamp.to_string())
        .header("X-Yunshi-Signature", signature(secret, timestamp, &body))
        .body(body)
        .send()
        .await;
    match sent {
        Ok(res) => {
            let status = res.status();
            attempt.status_code = Some(status.as_u16());
            let line = format!(
                "{} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            );
            attempt.response_excerpt = Some(sanitised(line.trim_end(), STATUS_LINE_CHARS));
        }
        Err(e) => attempt.error = Some(sanitised(&describe(&e), 512)),
    }
    attempt.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    attempt
}

/// A transport error with its causes, e.g. "error sending request: connection refused".
fn describe(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "timed out".to_owned()
    } else {
        e.to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

// ---------------------------------------------------------------------------------------
// HTTP API

/// The provider the caller acts for (its staff, or the member that applied for it), or 403.
async fn provider_of(state: &AppState, principal: &Principal) -> Result<ProviderId, Problem> {
    crate::kernel::repo::providers::own_provider_id(state, &principal.actor)
        .await?
        .ok_or_else(|| Problem::forbidden("webhook endpoints belong to providers"))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://isv.example/yunshi/hooks"}))]
pub struct EndpointRequest {
    /// An `https://` URL with a host.
    pub url: String,
}

/// A registered endpoint (without its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointView {
    #[schema(example = "https://isv.example/yunshi/hooks")]
    pub url: String,
    #[schema(value_type = String, format = DateTime)]
    pub registered_at: Timestamp,
}

/// A newly registered endpoint and its signing secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegisteredEndpoint {
    #[schema(example = "https://isv.example/yunshi/hooks")]
    pub url: String,
    /// The HMAC key of `X-Yunshi-Signature`. Store it; it is not shown again.
    #[schema(example = "whsec_4f1c…")]
    pub secret: String,
    #[schema(value_type = String, format = DateTime)]
    pub registered_at: Timestamp,
}

/// Registers (or replaces) the caller's provider's SaaS delivery endpoint and issues a new
/// signing secret, shown this once; the old secret stops signing at once.
#[utoipa::path(
    put,
    path = "/api/v1/webhooks/endpoint",
    tag = "webhooks",
    security(("bearer" = [])),
    description = SIGNING_DOC,
    request_body = EndpointRequest,
    responses(
        (status = 200, description = "Registered; the secret is shown this once", body = RegisteredEndpoint),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller is not provider staff"),
        (status = 422, description = "`invalid_request`: not an https:// URL with a host; `webhook_destination_loopback`, `_private`, `_link_local`, `_multicast`, `_unspecified`, `_broadcast`, `_documentation`, `_reserved`, `_metadata`, `_internal_name`: a destination the egress policy refuses"),
    )
)]
pub async fn put_endpoint(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<EndpointRequest>,
) -> Result<Response, Problem> {
    let provider = provider_of(&state, &principal).await?;
    let sandbox = state.clock_mode == crate::kernel::config::ClockMode::Simulated;
    let url = check_endpoint_url(&req.url, sandbox).map_err(UrlRefusal::into_problem)?;
    let secret = format!("whsec_{}", new_secret().map_err(Problem::internal)?);
    let now = state.clock.now();
    let record = EndpointRecord {
        provider_id: provider.uuid(),
        url,
        secret: state
            .keys
            .seal_text(&secret, &secret_context(provider.uuid()))
            .map_err(|e| Problem::internal(format!("sealing the webhook secret: {e}")))?,
        registered_at: now,
    };
    let by = principal.principal.as_str();
    let answer = crate::kernel::pipeline::run(&state.store, || {
        let (state, record) = (&state, &record);
        async move {
            let existing = load::<EndpointRecord>(&state.store, ENDPOINT, provider.uuid()).await?;
            let batch = WriteBatch {
                aggregates: vec![aggregate_write(
                    ENDPOINT,
                    provider.uuid(),
                    existing.map(|e| e.version),
                    provider.to_string(),
                    "active",
                    record,
                    now,
                )?],
                events: vec![event(
                    "saas.webhook_endpoint_registered",
                    format!("provider:{provider}"),
                    now,
                    json!({"provider_id": provider, "url": record.url, "by": by}),
                )],
                ..WriteBatch::default()
            };
            Ok((batch, ()))
        }
    })
    .await;
    answer?;
    tracing::info!(%provider, url = %record.url, "webhook endpoint registered");
    let mut res = ApiJson(RegisteredEndpoint {
        url: record.url,
        secret,
        registered_at: now,
    })
    .into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// The caller's provider's endpoint (never its secret).
#[utoipa::path(
    get,
    path = "/api/v1/webhooks/endpoint",
    tag = "webhooks",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The endpoint", body = EndpointView),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller is not provider staff"),
        (status = 404, description = "No endpoint registered"),
    )
)]
pub async fn get_endpoint(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<ApiJson<EndpointView>, Problem> {
    let provider = provider_of(&state, &principal).await?;
    let record = load::<EndpointRecord>(&state.store, ENDPOINT, provider.uuid())
        .await?
        .ok_or_else(|| Problem::not_found("no webhook endpoint is registered"))?
        .state;
    Ok(ApiJson(EndpointView {
        url: record.url,
        registered_at: record.registered_at,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeliveryListQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<String>)]
    pub after: Option<Uuid>,
    /// Only deliveries in this state.
    #[param(value_type = Option<DeliveryStatus>)]
    pub status: Option<DeliveryStatus>,
}

/// One page of deliveries, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryPage {
    pub items: Vec<Delivery>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub next_cursor: Option<Uuid>,
}

/// The caller's provider's deliveries with their attempt logs, oldest first (operator staff
/// see every provider's).
#[utoipa::path(
    get,
    path = "/api/v1/webhooks/deliveries",
    tag = "webhooks",
    security(("bearer" = [])),
    params(DeliveryListQuery),
    responses(
        (status = 200, description = "One page of deliveries", body = DeliveryPage),
        (status = 400, description = "Bad `limit`, `after` or `status`"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller is a member"),
    )
)]
pub async fn list_deliveries(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<DeliveryListQuery>,
) -> Result<ApiJson<DeliveryPage>, Problem> {
    let owner =
        match crate::kernel::repo::providers::own_provider_id(&state, &principal.actor).await? {
            Some(p) => Some(p.to_string()),
            None if principal.actor.is_operator() => None,
            None => return Err(Problem::forbidden("deliveries belong to providers")),
        };
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(Problem::invalid_request("limit must be 1–200"));
    }
    let rows = state
        .store
        .aggregates(&AggregateQuery {
            kind: DELIVERY.into(),
            owner,
            status: query.status.map(|s| s.as_str().to_owned()),
            after: query.after,
            limit: limit + 1,
        })
        .await?;
    let more = rows.len() > limit as usize;
    let items = rows
        .into_iter()
        .take(limit as usize)
        .map(|row| {
            serde_json::from_value::<Delivery>(row.state)
                .map_err(|e| Problem::internal(format!("stored delivery {}: {e}", row.id)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let next_cursor = more.then(|| items.last().map(|d| d.id)).flatten();
    Ok(ApiJson(DeliveryPage { items, next_cursor }))
}

/// A delivery the caller may see, or 404.
async fn visible(
    state: &AppState,
    principal: &Principal,
    raw: &str,
) -> Result<Loaded<Delivery>, Problem> {
    let missing = || Problem::not_found(format!("no delivery {raw:?}"));
    let id = Uuid::parse_str(raw).map_err(|_| missing())?;
    let loaded = load::<Delivery>(&state.store, DELIVERY, id)
        .await?
        .ok_or_else(missing)?;
    let provider = ProviderId(loaded.state.provider_id);
    let own = crate::kernel::repo::providers::own_provider_id(state, &principal.actor).await?;
    if !(principal.actor.may_see(Owner::Provider(provider)) || own == Some(provider)) {
        return Err(missing());
    }
    Ok(loaded)
}

/// One delivery with every attempt: time, status code, response excerpt, error.
#[utoipa::path(
    get,
    path = "/api/v1/webhooks/deliveries/{id}",
    tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Delivery id")),
    responses(
        (status = 200, description = "The delivery", body = Delivery),
        (status = 401, description = "No valid bearer token"),
        (status = 404, description = "No such delivery of the caller's provider"),
    )
)]
pub async fn get_delivery(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<Delivery>, Problem> {
    Ok(ApiJson(visible(&state, &principal, &id).await?.state))
}

/// Sends a dead-lettered delivery again: one more attempt, at once. If it fails the
/// delivery is dead-lettered again.
#[utoipa::path(
    post,
    path = "/api/v1/webhooks/deliveries/{id}/retry",
    tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Delivery id")),
    responses(
        (status = 202, description = "An attempt is scheduled now", body = Delivery),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "Neither the provider's staff nor operator staff"),
        (status = 404, description = "No such delivery of the caller's provider"),
        (status = 409, description = "`delivery_not_dead_lettered`: it is pending or delivered"),
    )
)]
pub async fn retry_delivery(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let first = visible(&state, &principal, &id).await?;
    let delivery_id = first.state.id;
    let provider = ProviderId(first.state.provider_id);
    let own = crate::kernel::repo::providers::own_provider_id(&state, &principal.actor).await?;
    if !(own == Some(provider) || principal.actor.is_operator()) {
        return Err(Problem::forbidden("only the provider's staff can retry"));
    }
    let now = state.clock.now();
    let answer: Delivery = crate::kernel::pipeline::run(&state.store, || {
        let state = &state;
        let by = principal.principal.clone();
        async move {
            let loaded = load::<Delivery>(&state.store, DELIVERY, delivery_id)
                .await?
                .ok_or_else(|| Problem::not_found(format!("no delivery {delivery_id}")))?;
            let mut d = loaded.state;
            if d.status != DeliveryStatus::DeadLettered {
                return Err(Problem::coded(
                    ErrorCode::Conflict,
                    StatusCode::CONFLICT,
                    "delivery_not_dead_lettered",
                    format!(
                        "only a dead-lettered delivery can be retried; this one is {}",
                        d.status.as_str()
                    ),
                ));
            }
            let next = u32::try_from(d.attempts.len()).unwrap_or(u32::MAX) + 1;
            d.status = DeliveryStatus::Pending;
            d.max_attempts = next;
            d.next_attempt_at = Some(now);
            let batch = WriteBatch {
                aggregates: vec![delivery_write(&d, Some(loaded.version), now)?],
                schedule: vec![attempt_deadline(d.id, next, now)],
                events: vec![event(
                    "saas.delivery_retry_requested",
                    format!("{DELIVERY}:{}", d.id),
                    now,
                    json!({"delivery_id": d.id, "attempt": next, "by": by}),
                )],
                ..WriteBatch::default()
            };
            Ok((batch, d))
        }
    })
    .await?;
    Ok((StatusCode::ACCEPTED, ApiJson(answer)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_over_timestamp_dot_body() {
        // Computed independently: printf '1700000000.{}' | openssl dgst -sha256 -hmac key
        let sig = signature("key", 1_700_000_000, b"{}");
        assert_eq!(
            sig,
            "sha256=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
        );
        assert_ne!(sig, signature("key", 1_700_000_001, b"{}"));
        assert_ne!(sig, signature("other", 1_700_000_000, b"{}"));
    }

    #[test]
    fn endpoint_urls_must_be_https_with_a_host() {
        let check = |url: &str| check_endpoint_url(url, false);
        assert!(check("https://isv.example/hooks").is_ok());
        assert!(check("ftp://isv.example/hooks").is_err());
        assert!(check("https://").is_err());
        assert!(check("http://").is_err());
        assert!(check("isv.example/hooks").is_err());
        assert!(check("http://isv.example/hooks").is_err());
        assert!(check("https://u:p@isv.example/").is_err());
        assert!(check("https://isv.example/#x").is_err());
        assert_eq!(
            check("http://127.0.0.1:9/h").is_ok(),
            cfg!(debug_assertions)
        );
        assert_eq!(
            check("http://localhost:9/h").is_ok(),
            cfg!(debug_assertions)
        );
        // A sandbox (simulated clock) takes plain http to loopback, and only to loopback.
        assert!(check_endpoint_url("http://127.0.0.1:9/h", true).is_ok());
        assert!(check_endpoint_url("https://127.0.0.1:9/h", true).is_ok());
        assert!(check_endpoint_url("http://isv.example/hooks", true).is_err());
        assert!(check_endpoint_url("https://10.0.0.1/h", true).is_err());
    }

    #[test]
    fn webhook_egress_refuses_internal_destinations() {
        use crate::kernel::egress::Refused::*;
        let refused = |url: &str| match check_endpoint_url(url, false) {
            Err(UrlRefusal::Destination(why, _)) => Some(why),
            _ => None,
        };
        assert_eq!(refused("https://169.254.169.254/latest"), Some(LinkLocal));
        assert_eq!(refused("https://10.0.0.1/h"), Some(Private));
        assert_eq!(refused("https://127.0.0.1:5432/"), Some(Loopback));
        assert_eq!(refused("https://[::1]:6379/"), Some(Loopback));
        assert_eq!(refused("https://2130706433/"), Some(Loopback));
        assert_eq!(refused("https://0x7f000001/"), Some(Loopback));
        assert_eq!(refused("https://0177.0.0.1/"), Some(Loopback));
        assert_eq!(refused("https://127.1/"), Some(Loopback));
        assert_eq!(
            refused("https://[::ffff:169.254.169.254]/"),
            Some(LinkLocal)
        );
        assert_eq!(refused("https://100.100.100.200/"), Some(Private));
        assert_eq!(refused("https://metadata.google.internal/"), Some(Metadata));
        assert_eq!(refused("https://metadata.tencentyun.com/"), Some(Metadata));
        assert_eq!(refused("https://localhost/"), Some(Loopback));
        assert_eq!(refused("https://[fd12::1]/"), Some(Private));
        assert_eq!(refused("https://[fe80::1]/"), Some(LinkLocal));
        assert_eq!(refused("https://224.0.0.1/"), Some(Multicast));
        assert_eq!(refused("https://0.0.0.0/"), Some(Unspecified));
        assert_eq!(refused("https://255.255.255.255/"), Some(Broadcast));
        assert_eq!(refused("https://192.0.2.1/"), Some(Documentation));
        assert!(check_endpoint_url("https://isv.example.com/h", false).is_ok());
        assert!(check_endpoint_url("https://8.8.8.8/h", false).is_ok());
        // Outside the sandbox, https to loopback is refused even in a debug build.
        assert!(check_endpoint_url("https://127.0.0.1:9/h", false).is_err());
    }

    #[tokio::test]
    async fn webhook_egress_checks_resolved_addresses_at_connect_time() {
        // A receiver on loopback, and a name that resolves to it (DNS rebinding).
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let hit = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let seen = hit.clone();
        tokio::spawn(async move {
            if listener.accept().await.is_ok() {
                seen.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        });
        let resolver = GuardedResolver::with_lookup(false, |_| {
            Box::pin(async { Ok(vec!["127.0.0.1".parse().unwrap()]) })
        });
        let client = build_client(resolver).unwrap();
        let endpoint = EndpointRecord {
            provider_id: Uuid::from_u128(2),
            url: format!("https://rebind.isv.example:{port}/hook"),
            secret: "whsec_x".into(),
            registered_at: Timestamp::UNIX_EPOCH,
        };
        let d = sample_delivery();
        let attempt = send_with(
            Some(&endpoint),
            "whsec_x",
            &d,
            1,
            Timestamp::UNIX_EPOCH,
            false,
            Some(&client),
        )
        .await;
        let error = attempt.error.unwrap_or_default();
        assert!(error.contains("loopback"), "{error}");
        assert_eq!(attempt.status_code, None);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!hit.load(std::sync::atomic::Ordering::SeqCst), "connected");
        // A stored endpoint the policy now refuses is not sent to at all.
        let stored = EndpointRecord {
            url: "https://169.254.169.254/latest/meta-data".into(),
            ..endpoint
        };
        let attempt = send(Some(&stored), "x", &d, 1, Timestamp::UNIX_EPOCH, false).await;
        assert!(attempt.error.unwrap_or_default().starts_with("not sent"));
    }

    #[test]
    fn webhook_log_keeps_a_sanitised_status_line_only() {
        assert_eq!(
            sanitised("500 Internal\r\nX: y\u{7}", 64),
            "500 InternalX: y"
        );
        assert_eq!(sanitised(&"a".repeat(500), STATUS_LINE_CHARS).len(), 64);
    }

    fn sample_delivery() -> Delivery {
        Delivery {
            id: Uuid::from_u128(1),
            provider_id: Uuid::from_u128(2),
            order_id: Uuid::from_u128(3),
            event: DeliveryKind::Create,
            status: DeliveryStatus::Pending,
            body: json!({}),
            created_at: Timestamp::UNIX_EPOCH,
            next_attempt_at: None,
            max_attempts: 6,
            attempts: Vec::new(),
            failure_reported: false,
        }
    }

    #[tokio::test]
    async fn a_failed_attempt_says_why() {
        let delivery = sample_delivery();
        let none = send(None, "", &delivery, 1, Timestamp::UNIX_EPOCH, true).await;
        assert!(none.error.unwrap().contains("no webhook endpoint"));
        // Nothing listens on port 9 here; and this build has no TLS (see the module docs).
        let endpoint = EndpointRecord {
            provider_id: delivery.provider_id,
            url: "https://127.0.0.1:9/hook".into(),
            secret: "whsec_x".into(),
            registered_at: Timestamp::UNIX_EPOCH,
        };
        let failed = send(
            Some(&endpoint),
            "whsec_x",
            &delivery,
            1,
            Timestamp::UNIX_EPOCH,
            true,
        )
        .await;
        assert_eq!(failed.status_code, None);
        assert!(failed.error.as_ref().is_some_and(|e| !e.is_empty()));
        assert!(!failed.succeeded());
    }

    #[test]
    fn backoff_gives_six_attempts() {
        assert_eq!(BACKOFF.len() + 1, 6);
    }
}
