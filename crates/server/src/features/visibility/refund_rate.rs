//! The refund-rate check (TC 5.8; SPEC §7 item 7) over stored deadlines: the core decides
//! ([`yunshi_core::visibility::refund_rate`]); this module measures, commits and shows.
//!
//! - **A daily check** ([`CHECK_DEADLINE`], dedupe key `visibility:refund_rate_check:<date>`,
//!   00:00 Beijing) measures every provider over the rolling window. **Daily, not at the
//!   monthly check**: the rate is over a rolling 30-day window, so it changes every day; a
//!   monthly check would judge what are in effect back-to-back windows and let a breach sit
//!   for up to a month before eligibility is withdrawn. The check writes nothing for a
//!   provider whose standing does not change, so a day costs reads only.
//! - An operator administrator starts the checks (`POST
//!   /api/v1/admin/visibility/refund-rate-checks`, idempotent), and each check schedules the
//!   next day's — not at boot, for the reason the monthly check gives
//!   ([`super::performance`]).
//! - A failing check stores the provider's [`STANDING`] and its improvement deadline
//!   (`visibility.refund_rate_deadline`, due `improve_within_days` later), whose handler judges the
//!   rate again at that time.
//!
//! The rate reads the provider's orders through the `provider_order` index (owner = the
//! provider), loading the paid ones; the core keeps those paid in the window.
//!
//! Aggregate: [`STANDING`] (the core's `RefundRateStanding`), id = the provider's id,
//! owner = the provider, status = `eligible`, `improving` or `not_improved`.

use axum::extract::{Path, Query, State};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use yunshi_core::account::OperatorRole;
use yunshi_core::ids::ProviderId;
use yunshi_core::order::Order;
use yunshi_core::rulebook::RefundRateCheck;
use yunshi_core::time::{beijing_date, start_of_day};
use yunshi_core::visibility::refund_rate::{
    CHECK_DEADLINE, ImprovementPayload, RefundRate, RefundRateDecision, RefundRateStanding,
    check_key, window_start,
};
use yunshi_store::{Deadline, FiredDeadline, NewDeadline, WriteBatch};

use super::{fired_at, payload};
use crate::kernel::auth::Principal;
use crate::kernel::context::rulebook_at;
use crate::kernel::deadlines::HandlerFuture;
use crate::kernel::pipeline::{Decision, add_outcome, aggregate_write, load};
use crate::kernel::pipeline::{fire_and_schedule, fire_only};
use crate::kernel::problem::{ApiJson, Problem};
use crate::kernel::repo::all_of_kind;
use crate::kernel::repo::all_owned;
use crate::kernel::repo::orders::OrderRecord;
use crate::kernel::repo::orders::PROVIDER_ORDER;
use crate::kernel::repo::orders::load_order;
use crate::kernel::state::AppState;

/// Aggregate kind of a provider's refund-rate standing (id = the provider's id).
pub const STANDING: &str = "refund_rate_standing";

/// Order statuses that imply a payment (the others were never paid).
const PAID_STATUSES: &[&str] = &["held", "released", "refunded"];

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct CheckPayload {
    day: Date,
}

fn rule_at(state: &AppState, at: Timestamp) -> Option<RefundRateCheck> {
    rulebook_at(state, at).ok()?.refunds.rate_check.clone()
}

fn check_deadline(day: Date) -> Option<NewDeadline> {
    Some(NewDeadline {
        id: Uuid::now_v7(),
        kind: CHECK_DEADLINE.into(),
        subject: "visibility".into(),
        due_at: start_of_day(day).ok()?,
        payload: json!(CheckPayload { day }),
        dedupe_key: Some(check_key(day)),
    })
}

/// Schedules tomorrow's check (00:00 Beijing) if the rulebook in force has the refund-rate
/// check (already scheduled: nothing more happens); returns when it is due.
pub async fn ensure_next_check(
    state: &AppState,
    now: Timestamp,
) -> Result<Option<Timestamp>, Problem> {
    if rule_at(state, now).is_none() {
        return Ok(None);
    }
    let Some(deadline) = beijing_date(now).tomorrow().ok().and_then(check_deadline) else {
        return Ok(None);
    };
    super::schedule_once(state, deadline).await.map(Some)
}

/// When the next daily refund-rate check is due.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefundRateChecks {
    /// Absent when the rulebook in force has no refund-rate check (ALI, JD).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_check_at: Option<Timestamp>,
}

/// Starts the daily refund-rate checks (TC 5.8): schedules the check at 00:00 Beijing
/// tomorrow; each check schedules the next. Idempotent.
#[utoipa::path(
    post,
    path = "/api/v1/admin/visibility/refund-rate-checks",
    tag = "products",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Scheduled (or already scheduled)", body = RefundRateChecks),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller is not an operator administrator"),
    )
)]
pub async fn start_refund_rate_checks(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<ApiJson<RefundRateChecks>, Problem> {
    principal.require_role(OperatorRole::Admin)?;
    let next_check_at = ensure_next_check(&state, state.clock.now()).await?;
    Ok(ApiJson(RefundRateChecks { next_check_at }))
}

/// The provider's paid orders (any that may fall in a window).
async fn paid_orders(state: &AppState, provider: ProviderId) -> Result<Vec<Order>, Problem> {
    let mut orders = Vec::new();
    for row in all_owned(state, PROVIDER_ORDER, &provider.to_string()).await? {
        if !PAID_STATUSES.contains(&row.status.as_str()) {
            continue;
        }
        if let Some(loaded) = load_order(&state.store, row.id).await? {
            let OrderRecord { order, .. } = loaded.state;
            orders.push(order);
        }
    }
    Ok(orders)
}

async fn measure(
    state: &AppState,
    provider: ProviderId,
    rule: &RefundRateCheck,
    now: Timestamp,
) -> Result<RefundRate, Problem> {
    let orders = paid_orders(state, provider).await?;
    Ok(RefundRate::measure(&orders, rule, now))
}

pub(super) fn check_handler(state: AppState, deadline: Deadline) -> HandlerFuture {
    Box::pin(on_check(state, deadline))
}

pub(super) fn improvement_handler(state: AppState, deadline: Deadline) -> HandlerFuture {
    Box::pin(on_improvement_deadline(state, deadline))
}

async fn on_check(state: AppState, deadline: Deadline) -> Result<(), Problem> {
    let fired = fired_at(&state, &deadline);
    let Some(p) = payload::<CheckPayload>(&deadline) else {
        return fire_only(&state, fired).await;
    };
    let rule = rule_at(&state, fired.at);
    if let Some(rule) = &rule {
        for row in all_of_kind(&state, crate::kernel::repo::providers::PROVIDER, None).await? {
            let provider = ProviderId(row.id);
            settle(&state, fired.at, None, provider, |standing, rate| {
                standing.check(rate, rule, fired.at)
            })
            .await?;
        }
    }
    let next = rule
        .is_some()
        .then(|| p.day.tomorrow().ok().and_then(check_deadline))
        .flatten();
    fire_and_schedule(&state, fired, next).await
}

async fn on_improvement_deadline(state: AppState, deadline: Deadline) -> Result<(), Problem> {
    let fired = fired_at(&state, &deadline);
    let Some(p) = payload::<ImprovementPayload>(&deadline) else {
        return fire_only(&state, fired).await;
    };
    // The rule of the rulebook in force now judges; a rulebook without it ends the period
    // as moot (the deadline fires without effect).
    let Some(rule) = rule_at(&state, fired.at) else {
        return fire_only(&state, fired).await;
    };
    settle(
        &state,
        fired.at,
        Some(fired),
        p.provider,
        |standing, rate| standing.at_deadline(p.since, rate, &rule, fired.at),
    )
    .await
}

/// Loads the provider's standing, measures its rate at the decision time, lets `decide`
/// decide, and commits the standing with its events and deadlines (and the firing, if
/// any) at `now` conditional on the loaded version; a lost race decides again. `None` from `decide`:
/// nothing changes (the deadline, if any, fires alone).
async fn settle<F>(
    state: &AppState,
    now: Timestamp,
    fired: Option<FiredDeadline>,
    provider: ProviderId,
    decide: F,
) -> Result<(), Problem>
where
    F: Fn(&RefundRateStanding, RefundRate) -> Option<RefundRateDecision>,
{
    // The batch and what it applies; `None`: nothing changes.
    let decided = || async {
        let loaded = load::<RefundRateStanding>(&state.store, STANDING, provider.uuid()).await?;
        let (standing, version) = match loaded {
            Some(l) => (l.state, Some(l.version)),
            None => (RefundRateStanding::new(provider), None),
        };
        let Some(rule) = rule_at(state, now) else {
            return Ok((WriteBatch::default(), None));
        };
        let rate = measure(state, provider, &rule, now).await?;
        let Some(decision) = decide(&standing, rate) else {
            return Ok((WriteBatch::default(), None));
        };
        let mut batch = WriteBatch::default();
        batch.aggregates.push(aggregate_write(
            STANDING,
            provider.uuid(),
            version,
            provider.to_string(),
            decision.standing.status.as_str(),
            &decision.standing,
            now,
        )?);
        add_outcome(&mut batch, decision.outcome, now);
        Ok((
            batch,
            Some((decision.standing.status.as_str().to_owned(), rate)),
        ))
    };
    let applied = match fired {
        Some(fired) => crate::kernel::pipeline::fire_at(state, fired, |_| decided())
            .await?
            .flatten(),
        None => {
            crate::kernel::pipeline::write(&state.store, || async {
                Ok(match decided().await? {
                    (batch, Some(applied)) => Decision::Write(batch, Some(applied)),
                    (_, None) => Decision::Answer(None),
                })
            })
            .await?
        }
    };
    if let Some((status, rate)) = applied {
        tracing::info!(%provider, status = status.as_str(),
            paid = rate.paid, refunded = rate.refunded, "refund-rate rule applied");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Views

/// The rate over the window ending now.
#[derive(Debug, Serialize, ToSchema)]
pub struct CurrentRate {
    /// Orders paid in the window.
    pub paid: u64,
    /// Of them, refunded for a product reason.
    pub refunded: u64,
    /// refunded ÷ paid, rounded down to a ppm (e.g. "4%").
    pub rate: String,
    pub threshold: String,
    /// Strictly above the threshold (exactly the threshold is not).
    pub above_threshold: bool,
    /// The window `(from, now]`.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub window_from: Option<Timestamp>,
    pub window_days: u32,
}

/// Where a provider stands under the refund-rate check (TC 5.8).
#[derive(Debug, Serialize, ToSchema)]
pub struct RefundRateStandingView {
    #[schema(value_type = String)]
    pub provider: ProviderId,
    /// `eligible`, `improving` (the improvement deadline runs) or `not_improved`.
    pub status: String,
    /// Eligible for the operator's marketing campaigns.
    pub campaign_eligible: bool,
    /// The open improvement period: when eligibility was lost, when the rate is judged again.
    #[schema(value_type = Option<Object>)]
    pub improvement: Option<yunshi_core::visibility::refund_rate::Improvement>,
    /// The measurement that last changed the standing.
    #[schema(value_type = Option<Object>)]
    pub last_decisive: Option<yunshi_core::visibility::refund_rate::Measured>,
    pub missed_deadlines: u32,
    /// The rate now; absent when the rulebook in force has no such check.
    pub current: Option<CurrentRate>,
}

async fn standing_view(
    state: &AppState,
    standing: RefundRateStanding,
    with_current: bool,
) -> Result<RefundRateStandingView, Problem> {
    let now = state.clock.now();
    let current = match rule_at(state, now).filter(|_| with_current) {
        Some(rule) => {
            let rate = measure(state, standing.provider, &rule, now).await?;
            Some(CurrentRate {
                paid: rate.paid,
                refunded: rate.refunded,
                rate: rate.rate().to_string(),
                threshold: rule.threshold.to_string(),
                above_threshold: rate.above(rule.threshold),
                window_from: window_start(now, rule.window_days),
                window_days: rule.window_days,
            })
        }
        None => None,
    };
    Ok(RefundRateStandingView {
        provider: standing.provider,
        status: standing.status.as_str().to_owned(),
        campaign_eligible: standing.campaign_eligible,
        improvement: standing.improvement,
        last_decisive: standing.last_decisive,
        missed_deadlines: standing.missed_deadlines,
        current,
    })
}

/// The provider's refund-rate standing (TC 5.8): campaign eligibility, the improvement
/// deadline, and the rate over the window ending now. Its own staff and operator staff only.
#[utoipa::path(
    get,
    path = "/api/v1/providers/{id}/refund-rate-standing",
    tag = "products",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Provider id")),
    responses(
        (status = 200, description = "The standing", body = RefundRateStandingView),
        (status = 401, description = "No valid bearer token"),
        (status = 404, description = "No such provider the caller may see"),
    )
)]
pub async fn refund_rate_standing(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<RefundRateStandingView>, Problem> {
    let missing = || Problem::not_found(format!("no provider {id:?}"));
    let provider = id.parse::<ProviderId>().map_err(|_| missing())?;
    let own = crate::kernel::repo::providers::own_provider(&state, &principal).await?;
    if !crate::kernel::repo::providers::sees_provider(&principal, own, provider) {
        return Err(missing());
    }
    let standing = load::<RefundRateStanding>(&state.store, STANDING, provider.uuid())
        .await?
        .map(|l| l.state)
        .unwrap_or_else(|| RefundRateStanding::new(provider));
    Ok(ApiJson(standing_view(&state, standing, true).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StandingsQuery {
    /// `eligible`, `improving` or `not_improved`; all when absent.
    pub status: Option<String>,
}

/// Providers the refund-rate check has judged.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefundRateStandingPage {
    pub items: Vec<RefundRateStandingView>,
}

/// Every provider the refund-rate check (TC 5.8) has judged (a standing is stored once a
/// check first fails), optionally by status. Operator staff only.
#[utoipa::path(
    get,
    path = "/api/v1/admin/visibility/refund-rate-standings",
    tag = "products",
    security(("bearer" = [])),
    params(StandingsQuery),
    responses(
        (status = 200, description = "The standings", body = RefundRateStandingPage),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller is not operator staff"),
    )
)]
pub async fn refund_rate_standings(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<StandingsQuery>,
) -> Result<ApiJson<RefundRateStandingPage>, Problem> {
    if !principal.actor.is_operator() {
        return Err(Problem::forbidden(
            "only operator staff list refund-rate standings",
        ));
    }
    let mut items = Vec::new();
    for row in all_of_kind(&state, STANDING, q.status).await? {
        let standing: RefundRateStanding = serde_json::from_value(row.state).map_err(|e| {
            Problem::internal(format!(
                "stored {STANDING} {} does not read back: {e}",
                row.id
            ))
        })?;
        // The list shows what was decided; the provider's own view measures the rate now.
        items.push(standing_view(&state, standing, false).await?);
    }
    Ok(ApiJson(RefundRateStandingPage { items }))
}
