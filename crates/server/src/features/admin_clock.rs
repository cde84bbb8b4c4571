//! Clock control for operator administrators: `GET /api/v1/admin/clock` shows the clock,
//! `POST /api/v1/admin/clock` advances a simulated one to an instant or by a duration,
//! firing every deadline that falls due on the way ([`deadlines::advance_to`]).

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use jiff::{SignedDuration, Span, SpanRelativeTo, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use yunshi_core::account::OperatorRole;
use yunshi_core::time::BEIJING;

use crate::kernel::auth::Principal;
use crate::kernel::config::ClockMode;
use crate::kernel::deadlines::{self, AdvanceError, ClockTarget, FailedDeadline};
use crate::kernel::problem::{ApiJson, ErrorCode, Problem};
use crate::kernel::state::AppState;

/// The server runs on the system clock, which only time moves.
pub const CLOCK_NOT_SIMULATED: &str = "clock_not_simulated";
/// The target lies before the simulated clock's current time.
pub const CLOCK_BACKWARDS: &str = "clock_backwards";
/// Not exactly one of `to` and `by`, or one that does not parse.
pub const INVALID_CLOCK_TARGET: &str = "invalid_clock_target";

/// This module's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(show_clock, advance_clock),
    components(schemas(AdminClock, AdvanceRequest, ClockAdvanced, FailedDeadlineView)),
    tags((name = "clock", description = "Operator control of the simulated clock: advancing \
        it fires every deadline that falls due on the way."))
)]
pub struct ApiDoc;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/admin/clock", get(show_clock).post(advance_clock))
}

/// The clock as an operator administrator sees it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "mode": "simulated",
    "now": "2026-10-08T01:00:00Z",
    "beijing": "2026-10-08T09:00:00+08:00",
    "next_deadline_due": "2026-10-09T01:00:00Z",
    "advancing": false
}))]
pub struct AdminClock {
    pub mode: ClockMode,
    /// The current instant, RFC 3339 in UTC.
    pub now: String,
    /// The same instant in Beijing time.
    pub beijing: String,
    /// When the earliest pending deadline falls due, if any.
    pub next_deadline_due: Option<String>,
    /// Whether an advance is firing deadlines right now.
    pub advancing: bool,
}

/// Where to move the simulated clock: exactly one of `to` and `by`.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"by": "3d"}))]
pub struct AdvanceRequest {
    /// An RFC 3339 instant not before the clock's current time.
    #[schema(example = "2026-10-08T09:00:00+08:00")]
    pub to: Option<String>,
    /// A non-negative duration: `3d`, `36h`, `90m`, `1d 12h` or ISO 8601 `P3DT4H` (a day is
    /// 24 hours; months and years are refused).
    #[schema(example = "P3DT4H")]
    pub by: Option<String>,
}

/// A deadline whose handler failed during the advance: still pending.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FailedDeadlineView {
    pub id: String,
    pub kind: String,
    pub due_at: String,
    pub detail: String,
}

/// What an advance did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "from": "2026-10-05T01:00:00Z",
    "now": "2026-10-08T01:00:00Z",
    "beijing": "2026-10-08T09:00:00+08:00",
    "fired": {"order.guarantee_window_end": 12, "order.sale_count": 12},
    "fired_total": 24,
    "unknown_kind": 0,
    "failed": []
}))]
pub struct ClockAdvanced {
    /// Where the clock stood before.
    pub from: String,
    /// Where it stands now (the target).
    pub now: String,
    /// The same instant in Beijing time.
    pub beijing: String,
    /// Deadlines fired, counted by kind.
    pub fired: BTreeMap<String, u32>,
    pub fired_total: u32,
    /// Due deadlines of a kind nothing handles: left pending.
    pub unknown_kind: u32,
    /// Due deadlines whose handler failed: left pending for the next advance.
    pub failed: Vec<FailedDeadlineView>,
}

fn target_problem(detail: impl Into<String>) -> Problem {
    Problem::coded(
        ErrorCode::InvalidRequest,
        StatusCode::UNPROCESSABLE_ENTITY,
        INVALID_CLOCK_TARGET,
        detail,
    )
}

/// A duration such as `3d`, `36h`, `90m`, `1d 12h` or `P3DT4H`; days are 24 hours.
pub fn parse_duration(raw: &str) -> Result<SignedDuration, String> {
    let raw = raw.trim();
    let span: Span = raw
        .parse()
        .map_err(|e| format!("{raw:?} is not a duration such as 3d, 36h, 90m or P3DT4H: {e}"))?;
    let duration = span
        .to_duration(SpanRelativeTo::days_are_24_hours())
        .map_err(|e| format!("{raw:?} is not a fixed length of time (use days or hours): {e}"))?;
    if duration.is_negative() {
        return Err(format!("{raw:?} is negative; the clock only moves forward"));
    }
    Ok(duration)
}

/// Where `req` asks the clock to go; `now` only to check a `by` stays in range.
pub fn target_of(req: &AdvanceRequest, now: Timestamp) -> Result<ClockTarget, Problem> {
    match (&req.to, &req.by) {
        (Some(to), None) => to
            .trim()
            .parse::<Timestamp>()
            .map(ClockTarget::At)
            .map_err(|e| {
                target_problem(format!(
                    "`to` {to:?} is not an RFC 3339 instant such as 2026-10-08T09:00:00+08:00: {e}"
                ))
            }),
        (None, Some(by)) => {
            let by = parse_duration(by).map_err(target_problem)?;
            now.checked_add(by)
                .map_err(|e| target_problem(format!("the clock cannot go that far: {e}")))?;
            Ok(ClockTarget::By(by))
        }
        _ => Err(target_problem("give exactly one of `to` and `by`")),
    }
}

fn not_simulated() -> Problem {
    Problem::coded(
        ErrorCode::Conflict,
        StatusCode::CONFLICT,
        CLOCK_NOT_SIMULATED,
        "the server runs on the system clock, which cannot be moved; start it with \
         --clock simulated to control time",
    )
}

/// The clock: mode, current time, the next deadline due, whether an advance is running.
#[utoipa::path(
    get,
    path = "/api/v1/admin/clock",
    tag = "clock",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The clock", body = AdminClock),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller is not an operator administrator"),
    )
)]
pub async fn show_clock(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<ApiJson<AdminClock>, Problem> {
    principal.require_role(OperatorRole::Admin)?;
    let now = state.clock.now();
    let next = state.store.next_deadline_due().await?;
    let advancing = state.clock_control.is_advancing();
    Ok(ApiJson(AdminClock {
        mode: state.clock_mode,
        now: now.to_string(),
        beijing: now.display_with_offset(BEIJING).to_string(),
        next_deadline_due: next.map(|t| t.to_string()),
        advancing,
    }))
}

/// Advances the simulated clock to `to`, or by `by`. Every deadline that falls due up to
/// the target fires once, in due order, with the clock at its due time (deadlines those
/// firings schedule before the target fire too); then the clock stands at the target.
/// Advances are serialised: a second call waits for the first. The advance runs to the end
/// even if the caller goes away; one that outlasts the request timeout is answered 504 while
/// it goes on (`GET` shows `advancing` until it has finished).
#[utoipa::path(
    post,
    path = "/api/v1/admin/clock",
    tag = "clock",
    security(("bearer" = [])),
    request_body = AdvanceRequest,
    responses(
        (status = 200, description = "Advanced; what fired", body = ClockAdvanced),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller is not an operator administrator"),
        (status = 409, description = "`clock_not_simulated`: the server runs on the system clock", body = Problem, content_type = "application/problem+json",
            example = json!({"type": "urn:yunshi:problem:clock_not_simulated", "title": "Conflict with the current state", "title_zh": "与当前状态冲突", "status": 409, "code": "clock_not_simulated", "detail": "the server runs on the system clock, which cannot be moved; start it with --clock simulated to control time", "instance": "/api/v1/admin/clock"})),
        (status = 422, description = "`clock_backwards`: the target is before now; `invalid_clock_target`: not exactly one of `to` and `by`, or unparseable", body = Problem, content_type = "application/problem+json",
            example = json!({"type": "urn:yunshi:problem:clock_backwards", "title": "Invalid request", "title_zh": "请求无效", "status": 422, "code": "clock_backwards", "detail": "the simulated clock cannot go back: it is 2026-10-08T01:00:00Z, asked for 2026-10-01T01:00:00Z", "instance": "/api/v1/admin/clock"})),
    )
)]
pub async fn advance_clock(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<AdvanceRequest>,
) -> Result<ApiJson<ClockAdvanced>, Problem> {
    principal.require_role(OperatorRole::Admin)?;
    if state.clock_mode != ClockMode::Simulated || state.clock.simulated().is_none() {
        return Err(not_simulated());
    }
    let target = target_of(&req, state.clock.now())?;
    if let ClockTarget::At(at) = target
        && at < state.clock.now()
    {
        // Checked again under the advance lock; this is the quick answer.
        return Err(backwards(state.clock.now(), at));
    }
    // In a task of its own: a caller that goes away (or a request timeout) does not stop
    // an advance half-way.
    let task_state = state.clone();
    let advanced = tokio::spawn(async move { deadlines::advance(&task_state, target).await })
        .await
        .map_err(Problem::internal)?
        .map_err(|e| match e {
            AdvanceError::NotSimulated => not_simulated(),
            AdvanceError::Backwards { now, target } => backwards(now, target),
            AdvanceError::OutOfRange => target_problem("the clock cannot go that far"),
            AdvanceError::Store(e) => Problem::from(e),
        })?;
    let now = advanced.to;
    Ok(ApiJson(ClockAdvanced {
        from: advanced.from.to_string(),
        now: now.to_string(),
        beijing: now.display_with_offset(BEIJING).to_string(),
        fired: advanced.fired,
        fired_total: advanced.fired_total,
        unknown_kind: advanced.unknown_kind,
        failed: advanced.failed.into_iter().map(failed_view).collect(),
    }))
}

fn backwards(now: Timestamp, target: Timestamp) -> Problem {
    Problem::coded(
        ErrorCode::InvalidRequest,
        StatusCode::UNPROCESSABLE_ENTITY,
        CLOCK_BACKWARDS,
        format!("the simulated clock cannot go back: it is {now}, asked for {target}"),
    )
}

fn failed_view(f: FailedDeadline) -> FailedDeadlineView {
    FailedDeadlineView {
        id: f.id.to_string(),
        kind: f.kind,
        due_at: f.due_at.to_string(),
        detail: f.detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_days_hours_minutes_or_iso_8601() {
        let h = SignedDuration::from_hours;
        assert_eq!(parse_duration("3d").unwrap(), h(72));
        assert_eq!(parse_duration("36h").unwrap(), h(36));
        assert_eq!(
            parse_duration("90m").unwrap(),
            SignedDuration::from_mins(90)
        );
        assert_eq!(parse_duration("P3DT4H").unwrap(), h(76));
        assert_eq!(parse_duration("1d 12h").unwrap(), h(36));
        assert!(parse_duration("1 month").is_err());
        assert!(parse_duration("-3d").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn a_target_is_exactly_one_of_to_and_by() {
        let now: Timestamp = "2026-10-01T01:00:00Z".parse().unwrap();
        let to = AdvanceRequest {
            to: Some("2026-10-08T09:00:00+08:00".into()),
            by: None,
        };
        assert_eq!(
            target_of(&to, now).unwrap(),
            ClockTarget::At("2026-10-08T01:00:00Z".parse().unwrap())
        );
        let by = AdvanceRequest {
            to: None,
            by: Some("3d".into()),
        };
        assert_eq!(
            target_of(&by, now).unwrap(),
            ClockTarget::By(SignedDuration::from_hours(72))
        );
        let both = AdvanceRequest {
            to: to.to.clone(),
            by: by.by.clone(),
        };
        assert_eq!(
            target_of(&both, now).unwrap_err().stable_code,
            INVALID_CLOCK_TARGET
        );
        let neither = AdvanceRequest::default();
        assert_eq!(
            target_of(&neither, now).unwrap_err().stable_code,
            INVALID_CLOCK_TARGET
        );
    }
}
