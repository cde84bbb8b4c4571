//! The monthly check of the zero-sales and low-rating rules (ALI-R art.22(14), JD
//! art.18(14); SPEC §5): a stored deadline at 00:00 Beijing on the first of each month
//! ([`MONTHLY_CHECK`], dedupe key `visibility:monthly_check:<YYYY-MM>`) that judges every
//! live product ([`yunshi_core::visibility::performance`]) and schedules the next month's.
//!
//! An operator administrator starts the checks once (`POST
//! /api/v1/admin/visibility/monthly-checks`, idempotent: [`ensure_next_check`]); each check
//! schedules the next. **Not** started automatically: a standing monthly deadline would be
//! pending for ever, and the clock-crash test (crates/cli/tests/clock_crash.rs) asserts
//! nothing is left pending after an advance — starting them at boot or on the first
//! approval is the next step once that test allows it.
//!
//! Each product is decided and committed on its own (its [`HISTORY`] aggregate records the
//! month, so a check run again after a crash skips the products it already did); the
//! deadline fires last.

use axum::extract::State;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;
use yunshi_core::account::OperatorRole;
use yunshi_core::ids::ProductId;
use yunshi_core::rulebook::MarketplaceRulebook;
use yunshi_core::time::beijing_date;
use yunshi_core::visibility::performance::{
    MONTHLY_CHECK, SalesHistory, check_due, check_key, monthly_check, next_month,
};
use yunshi_store::{AggregateQuery, Deadline, NewDeadline, WriteBatch};

use super::{apply_holds, fired_at, payload};
use crate::kernel::auth::Principal;
use crate::kernel::context::rulebook_at;
use crate::kernel::deadlines::HandlerFuture;
use crate::kernel::pipeline::{Decision, aggregate_write, load};
use crate::kernel::pipeline::{fire_and_schedule, fire_only};
use crate::kernel::problem::{ApiJson, Problem};
use crate::kernel::repo::products::PRODUCT;
use crate::kernel::repo::products::ProductRecord;
use crate::kernel::repo::products::load_product;
use crate::kernel::state::AppState;

/// Aggregate kind of a product's paid-order counts at the monthly checks (id = product id).
pub const HISTORY: &str = "product_sales_history";

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct CheckPayload {
    month: Date,
}

fn has_rules(rulebook: &MarketplaceRulebook) -> bool {
    let v = &rulebook.visibility;
    v.zero_sales_months.is_some() || v.low_rating_action.is_some()
}

fn check_deadline(month: Date) -> Option<NewDeadline> {
    Some(NewDeadline {
        id: Uuid::now_v7(),
        kind: MONTHLY_CHECK.into(),
        subject: "visibility".into(),
        due_at: check_due(month)?,
        payload: json!(CheckPayload { month }),
        dedupe_key: Some(check_key(month)),
    })
}

/// Schedules the check of the month after `now` if the rulebook in force has a zero-sales
/// or rating rule (already scheduled: nothing more happens); returns when it is due.
pub async fn ensure_next_check(
    state: &AppState,
    now: Timestamp,
) -> Result<Option<Timestamp>, Problem> {
    if !rulebook_at(state, now).is_ok_and(has_rules) {
        return Ok(None);
    }
    let Some(deadline) = next_month(beijing_date(now)).and_then(check_deadline) else {
        return Ok(None);
    };
    super::schedule_once(state, deadline).await.map(Some)
}

/// When the next monthly visibility check is due.
#[derive(Debug, Serialize, ToSchema)]
pub struct MonthlyChecks {
    /// Absent when the rulebook in force has neither a zero-sales nor a rating rule (TC).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_check_at: Option<Timestamp>,
}

/// Starts the monthly zero-sales and rating checks (ALI-R art.22(14), JD art.18(14)):
/// schedules the check at 00:00 Beijing on the first of next month; each check schedules the
/// next. Idempotent.
#[utoipa::path(
    post,
    path = "/api/v1/admin/visibility/monthly-checks",
    tag = "products",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Scheduled (or already scheduled)", body = MonthlyChecks),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller is not an operator administrator"),
    )
)]
pub async fn start_monthly_checks(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<ApiJson<MonthlyChecks>, Problem> {
    principal.require_role(OperatorRole::Admin)?;
    let next_check_at = ensure_next_check(&state, state.clock.now()).await?;
    Ok(ApiJson(MonthlyChecks { next_check_at }))
}

pub(super) fn check_handler(state: AppState, deadline: Deadline) -> HandlerFuture {
    Box::pin(on_check(state, deadline))
}

async fn on_check(state: AppState, deadline: Deadline) -> Result<(), Problem> {
    let fired = fired_at(&state, &deadline);
    let Some(p) = payload::<CheckPayload>(&deadline) else {
        return fire_only(&state, fired).await;
    };
    let rulebook = rulebook_at(&state, fired.at)?;
    if has_rules(rulebook) {
        let mut after = None;
        loop {
            let page = state
                .store
                .aggregates(&AggregateQuery {
                    kind: PRODUCT.into(),
                    owner: None,
                    status: None,
                    after,
                    limit: 200,
                })
                .await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            let full = page.len() >= 200;
            for row in page {
                check_product(&state, ProductId(row.id), p.month, rulebook, fired.at).await?;
            }
            if !full {
                break;
            }
        }
    }
    let next = has_rules(rulebook)
        .then(|| next_month(p.month).and_then(check_deadline))
        .flatten();
    fire_and_schedule(&state, fired, next).await
}

/// Judges one product for `month` and commits its history and holds together.
async fn check_product(
    state: &AppState,
    id: ProductId,
    month: Date,
    rulebook: &MarketplaceRulebook,
    now: Timestamp,
) -> Result<(), Problem> {
    crate::kernel::pipeline::write(&state.store, || async {
        let Some(product) = load_product(state, id).await? else {
            return Ok(Decision::Answer(()));
        };
        let ProductRecord { product, .. } = product.state;
        let history = load::<SalesHistory>(&state.store, HISTORY, id.uuid()).await?;
        let (past, version) = match history {
            Some(h) => (h.state, Some(h.version)),
            None => (SalesHistory::default(), None),
        };
        // Orders ever paid: a new paid order is a sale (成交) even if refunded later.
        let paid = crate::kernel::repo::products::load_product_sales(&state.store, id)
            .await?
            .paid;
        let rating = crate::kernel::repo::products::load_product_rating(&state.store, id).await?;
        let decision = monthly_check(&past, &product, paid, &rating, &rulebook.visibility, month);
        let Some(next) = decision.history else {
            return Ok(Decision::Answer(()));
        };
        let mut batch = WriteBatch::default();
        batch.aggregates.push(aggregate_write(
            HISTORY,
            id.uuid(),
            version,
            product.provider.to_string(),
            "checked",
            &next,
            now,
        )?);
        apply_holds(
            state,
            &mut batch,
            product.provider,
            &decision.holds,
            rulebook,
            now,
        )
        .await?;
        Ok(Decision::Write(batch, ()))
    })
    .await
}
