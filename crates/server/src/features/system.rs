//! Operational endpoints and the first API resources: health, readiness, metrics, the clock,
//! the rulebooks in force and the caller's identity.

use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::Response;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use yunshi_core::time::{BEIJING, beijing_date};

use crate::kernel::auth::Principal;
use crate::kernel::config::ClockMode;
use crate::kernel::problem::{ApiJson, Problem};
use crate::kernel::state::AppState;

/// How long `/readyz` waits for the database.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
    /// This process's id, new at every start: tells a restarted server from the one before
    /// it, and a supervisor's own child from another process on the port.
    #[schema(example = "019af3c2d5e07c1a9b3e4f5a6b7c8d9e")]
    pub instance: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    #[schema(example = "ready")]
    pub status: &'static str,
    /// `sqlite` or `postgres`.
    #[schema(example = "sqlite")]
    pub database: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClockReading {
    /// The current instant, RFC 3339 in UTC.
    #[schema(example = "2026-04-01T01:00:00Z")]
    pub now: String,
    /// The same instant as Beijing civil time (UTC+8), which every business rule uses.
    #[schema(example = "2026-04-01T09:00:00+08:00")]
    pub beijing: String,
    pub mode: ClockMode,
}

/// Liveness: the process is up and answering.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses((status = 200, description = "Alive", body = Health))
)]
pub async fn healthz(State(state): State<AppState>) -> ApiJson<Health> {
    ApiJson(Health {
        status: "ok",
        instance: state.instance.clone(),
    })
}

/// Readiness: the database answers.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Ready to serve", body = Readiness),
        (status = 503, description = "The database is unreachable"),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Result<ApiJson<Readiness>, Problem> {
    match tokio::time::timeout(READY_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => Ok(ApiJson(Readiness {
            status: "ready",
            database: state.store.kind().as_str(),
        })),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check: database ping failed");
            Err(Problem::unavailable("the database is unreachable"))
        }
        Err(_) => {
            tracing::warn!("readiness check: database ping timed out");
            Err(Problem::unavailable("the database did not answer in time"))
        }
    }
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "Metrics", body = String, content_type = "text/plain; version=0.0.4"))
)]
pub async fn metrics(State(state): State<AppState>) -> Response {
    crate::kernel::metrics::render(&state.metrics)
}

/// The server's clock: what "now" is for every rule, and whether it is simulated.
#[utoipa::path(
    get,
    path = "/api/v1/clock",
    tag = "system",
    responses((status = 200, description = "The current time", body = ClockReading))
)]
pub async fn clock(State(state): State<AppState>) -> ApiJson<ClockReading> {
    let now = state.clock.now();
    ApiJson(ClockReading {
        now: now.to_string(),
        beijing: now.display_with_offset(BEIJING).to_string(),
        mode: state.clock_mode,
    })
}

/// Who the bearer token acts as.
#[utoipa::path(
    get,
    path = "/api/v1/whoami",
    tag = "system",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The authenticated principal", body = Principal),
        (status = 401, description = "No valid bearer token"),
    )
)]
pub async fn whoami(principal: Principal) -> ApiJson<Principal> {
    ApiJson(principal)
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct RulebookQuery {
    /// The Beijing date whose rulebooks to show (`YYYY-MM-DD`); default: today by the clock.
    pub at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RulebooksInForce {
    /// The Beijing date asked about.
    #[schema(example = "2026-04-01")]
    pub date: String,
    /// The marketplace rulebook in force on that date, in the shape of its file.
    #[schema(value_type = Object)]
    pub marketplace: serde_json::Value,
    /// The partner-programme rulebook in force on that date, if the deployment runs one.
    #[schema(value_type = Option<Object>)]
    pub partner: Option<serde_json::Value>,
}

/// The rulebooks this deployment judges acts of a date by.
#[utoipa::path(
    get,
    path = "/api/v1/rulebook",
    tag = "system",
    params(RulebookQuery),
    responses(
        (status = 200, description = "The rulebooks in force", body = RulebooksInForce),
        (status = 400, description = "`at` is not a date"),
        (status = 404, description = "No version is in force on that date"),
    )
)]
pub async fn rulebook(
    State(state): State<AppState>,
    Query(query): Query<RulebookQuery>,
) -> Result<ApiJson<RulebooksInForce>, Problem> {
    let date: Date = match query.at.as_deref().map(str::trim) {
        None | Some("") => beijing_date(state.clock.now()),
        Some(at) => at
            .parse()
            .map_err(|e| Problem::invalid_request(format!("at={at:?} is not a date: {e}")))?,
    };
    let to_json =
        |r: &yunshi_core::rulebook::Rulebook| serde_json::to_value(r).map_err(Problem::internal);
    let marketplace = state
        .rulebooks
        .marketplace_at(date)
        .map_err(|e| Problem::not_found(e.to_string()))?;
    let partner = match state.rulebooks.partner_at(date) {
        None => None,
        Some(r) => Some(to_json(r.map_err(|e| Problem::not_found(e.to_string()))?)?),
    };
    Ok(ApiJson(RulebooksInForce {
        date: date.to_string(),
        marketplace: to_json(marketplace)?,
        partner,
    }))
}

/// One version of a rulebook family this deployment runs.
#[derive(Debug, Serialize, ToSchema)]
pub struct RulebookVersion {
    #[schema(example = "ali-2020")]
    pub id: String,
    /// `marketplace` or `partner`.
    pub kind: &'static str,
    pub family: String,
    pub version: String,
    pub name_zh: String,
    pub name_en: String,
    #[schema(example = "2020-04-01")]
    pub effective_from: String,
    /// Whether this version judges acts of today (Beijing date on the server's clock).
    pub in_force: bool,
}

/// Every version of the rulebook families this deployment runs (the marketplace's and, if
/// any, the partner programme's), oldest first: the history behind the version in force.
#[utoipa::path(
    get,
    path = "/api/v1/rulebook/versions",
    tag = "system",
    responses(
        (status = 200, description = "The versions, oldest first", body = Vec<RulebookVersion>),
    )
)]
pub async fn rulebook_versions(State(state): State<AppState>) -> ApiJson<Vec<RulebookVersion>> {
    let today = beijing_date(state.clock.now());
    let mut out = Vec::new();
    let in_force = [
        state.rulebooks.marketplace_at(today).ok(),
        state.rulebooks.partner_at(today).and_then(Result::ok),
    ];
    for current in in_force.into_iter().flatten() {
        let kind = match current {
            yunshi_core::rulebook::Rulebook::Marketplace(_) => "marketplace",
            yunshi_core::rulebook::Rulebook::Partner(_) => "partner",
        };
        for r in state.rulebooks.library().versions(current.family()) {
            let id = r.identity();
            out.push(RulebookVersion {
                id: id.id.clone(),
                kind,
                family: id.family.clone(),
                version: id.version.clone(),
                name_zh: id.name_zh.clone(),
                name_en: id.name_en.clone(),
                effective_from: id.effective_from.to_string(),
                in_force: id.id == current.identity().id,
            });
        }
    }
    ApiJson(out)
}
