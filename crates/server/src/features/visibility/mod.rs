//! Automatic visibility rules over stored deadlines (SPEC §5; issue 4 item 5). The core
//! decides ([`yunshi_core::visibility`]); this module loads, applies the decided holds to the
//! products in the same batch, and commits.
//!
//! SaaS delivery failure (TC 4.2):
//!
//! - When a SaaS `create` delivery is dead-lettered, the deliveries feature schedules, in the
//!   batch that dead-letters it, the deadline [`FAILED`] due at once (dedupe key
//!   `saas_failure:<delivery>:reported`) — only while the rulebook in force has the rule. Its
//!   handler records the failure in the provider's [`STANDING`] aggregate, hides the product
//!   from search (hold `saas_delivery_failure`) and schedules the two steps
//!   (`visibility.saas_step`, keys `saas_failure:<delivery>:hide_all` / `:delist_all`).
//! - When a delivery whose failure was reported is delivered after all (a manual retry to a
//!   repaired endpoint), the batch that records it schedules [`REPAIRED`] due at once; its
//!   handler cancels the steps still pending and lifts the holds (see the core for which).
//! - The step handlers put `saas_delivery_failure:all_hidden` / `:all_delisted` on every SaaS
//!   product of the provider.
//!
//! Every change is an event (`visibility.*` on `provider:<id>`, `product.hold_*` on each
//! product); the product view lists its holds with the rule's key and reason, and
//! `GET /api/v1/providers/{id}/saas-delivery-standing` shows the provider its open failures
//! and when each step falls due.
//!
//! Zero sales and low ratings: [`performance`], a monthly check. The TC refund rate:
//! [`refund_rate`], a daily check and an improvement deadline. The ALI/JD operator-cloud
//! deployment share: [`deployment`], the provider's declarations and a year-end check.
//!
//! Aggregate: [`STANDING`] (the core's `SaasFailureStanding`), id = the provider's id,
//! owner = the provider, status = `clear`, `failing`, `all_hidden` or `delisted`.

pub mod deployment;
pub mod performance;
pub mod refund_rate;

use axum::extract::{Path, State};
use jiff::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;
use yunshi_core::catalog::ProductCategory;
use yunshi_core::decision::Context;
use yunshi_core::ids::{OrderId, ProductId, ProviderId};
use yunshi_core::rulebook::{MarketplaceRulebook, SaasDeliveryFailure};
use yunshi_core::visibility::{
    HoldChange, HoldPlan, HoldTarget, SaasDecision, SaasFailureStanding, StepPayload,
};
use yunshi_store::{Deadline, FiredDeadline, NewDeadline, WriteBatch};

use crate::kernel::auth::Principal;
use crate::kernel::context::rulebook_at;
use crate::kernel::deadlines::{Handler, HandlerFuture, firing_time};
use crate::kernel::pipeline::{NewIds, add_outcome, aggregate_write, fire_only, load};
use crate::kernel::problem::{ApiJson, Problem};
use crate::kernel::repo::all_owned;
use crate::kernel::repo::deliveries::DELIVERY;
use crate::kernel::repo::deliveries::Delivery;
use crate::kernel::repo::deliveries::DeliveryStatus;
use crate::kernel::repo::products::PRODUCT;
use crate::kernel::repo::products::ProductRecord;
use crate::kernel::repo::products::load_product;
use crate::kernel::repo::products::product_write;
use crate::kernel::state::AppState;
use crate::reactions::saas::{DeliveryPayload, FAILED, REPAIRED, saas_rule_in_force};
use axum::routing::{get, post};

/// Aggregate kind of a provider's SaaS delivery-failure standing (id = the provider's id).
pub const STANDING: &str = "saas_failure_standing";
/// This feature's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        saas_delivery_standing,
        performance::start_monthly_checks,
        refund_rate::start_refund_rate_checks,
        refund_rate::refund_rate_standing,
        refund_rate::refund_rate_standings,
        deployment::start_deployment_checks,
        deployment::declare,
        deployment::declaration,
        deployment::deployment_share,
        deployment::deployment_findings,
    ),
    components(schemas(
        SaasDeliveryStandingView,
        performance::MonthlyChecks,
        refund_rate::RefundRateChecks,
        refund_rate::CurrentRate,
        refund_rate::RefundRateStandingView,
        refund_rate::RefundRateStandingPage,
        deployment::DeploymentChecks,
        deployment::DeclarationBody,
        deployment::DeclarationView,
        deployment::DeploymentShareView,
        deployment::DeploymentFinding,
        deployment::DeploymentFindingPage,
    ))
)]
pub struct ApiDoc;

/// The visibility routes.
pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route(
            "/api/v1/providers/{id}/saas-delivery-standing",
            get(saas_delivery_standing),
        )
        .route(
            "/api/v1/admin/visibility/monthly-checks",
            post(performance::start_monthly_checks),
        )
        .route(
            "/api/v1/admin/visibility/refund-rate-checks",
            post(refund_rate::start_refund_rate_checks),
        )
        .route(
            "/api/v1/providers/{id}/refund-rate-standing",
            get(refund_rate::refund_rate_standing),
        )
        .route(
            "/api/v1/admin/visibility/refund-rate-standings",
            get(refund_rate::refund_rate_standings),
        )
        .route(
            "/api/v1/admin/visibility/deployment-checks",
            post(deployment::start_deployment_checks),
        )
        .route(
            "/api/v1/products/{id}/deployment-declaration",
            axum::routing::put(deployment::declare).get(deployment::declaration),
        )
        .route(
            "/api/v1/providers/{id}/deployment-share",
            get(deployment::deployment_share),
        )
        .route(
            "/api/v1/admin/visibility/deployment-findings",
            get(deployment::deployment_findings),
        )
}

/// The deadline kinds this module fires, and how.
pub const DEADLINES: &[(&str, Handler)] = &[
    (FAILED, failed_handler),
    (REPAIRED, repaired_handler),
    (
        yunshi_core::visibility::performance::MONTHLY_CHECK,
        performance::check_handler,
    ),
    (yunshi_core::visibility::STEP_DEADLINE, step_handler),
    (
        yunshi_core::visibility::refund_rate::CHECK_DEADLINE,
        refund_rate::check_handler,
    ),
    (
        yunshi_core::visibility::refund_rate::IMPROVEMENT_DEADLINE,
        refund_rate::improvement_handler,
    ),
    (
        yunshi_core::visibility::deployment::YEAR_END_CHECK,
        deployment::year_end_handler,
    ),
];

fn failed_handler(state: AppState, deadline: Deadline) -> HandlerFuture {
    Box::pin(on_failed(state, deadline))
}

fn repaired_handler(state: AppState, deadline: Deadline) -> HandlerFuture {
    Box::pin(on_repaired(state, deadline))
}

fn step_handler(state: AppState, deadline: Deadline) -> HandlerFuture {
    Box::pin(on_step(state, deadline))
}

fn payload<T: serde::de::DeserializeOwned>(deadline: &Deadline) -> Option<T> {
    match serde_json::from_value(deadline.payload.clone()) {
        Ok(p) => Some(p),
        Err(e) => {
            tracing::error!(deadline = %deadline.id, kind = %deadline.kind, error = %e,
                "malformed visibility deadline; fired without effect");
            None
        }
    }
}

fn fired_at(state: &AppState, deadline: &Deadline) -> FiredDeadline {
    FiredDeadline {
        id: deadline.id,
        at: firing_time(state, deadline),
    }
}

async fn on_failed(state: AppState, deadline: Deadline) -> Result<(), Problem> {
    let fired = fired_at(&state, &deadline);
    let Some(p) = payload::<DeliveryPayload>(&deadline) else {
        return fire_only(&state, fired).await;
    };
    let Some(loaded) = load::<Delivery>(&state.store, DELIVERY, p.delivery_id).await? else {
        return fire_only(&state, fired).await;
    };
    let d = loaded.state;
    // Delivered before this ran: nothing to hide (its repair deadline finds nothing either).
    if d.status == DeliveryStatus::Delivered {
        return fire_only(&state, fired).await;
    }
    let product = d.body["data"]["product_id"]
        .as_str()
        .and_then(|s| s.parse::<ProductId>().ok());
    let order = OrderId(d.order_id);
    // The failure happened when the delivery was dead-lettered: this deadline's due time.
    let failed_at = deadline.due_at;
    settle(&state, fired, p.provider_id, |standing, rulebook| {
        let rule = rulebook.visibility.saas_delivery_failure.as_ref()?;
        standing.record_failure(d.id, order, product, failed_at, rule)
    })
    .await
}

async fn on_repaired(state: AppState, deadline: Deadline) -> Result<(), Problem> {
    let fired = fired_at(&state, &deadline);
    let Some(p) = payload::<DeliveryPayload>(&deadline) else {
        return fire_only(&state, fired).await;
    };
    settle(&state, fired, p.provider_id, |standing, _| {
        standing.repair(p.delivery_id, fired.at)
    })
    .await
}

async fn on_step(state: AppState, deadline: Deadline) -> Result<(), Problem> {
    let fired = fired_at(&state, &deadline);
    let Some(p) = payload::<StepPayload>(&deadline) else {
        return fire_only(&state, fired).await;
    };
    settle(&state, fired, p.provider, |standing, rulebook| {
        let rule = rulebook.visibility.saas_delivery_failure.as_ref()?;
        standing.escalate(p.delivery, p.step, rule, fired.at)
    })
    .await
}

/// Loads the provider's standing, lets `decide` decide with the rulebook in force, and
/// commits the standing, the products' holds, the events and deadlines and the firing in
/// one batch conditional on every loaded version; a lost race decides again. `None` from
/// `decide`: the deadline fires without effect.
async fn settle<F>(
    state: &AppState,
    fired: FiredDeadline,
    provider: ProviderId,
    decide: F,
) -> Result<(), Problem>
where
    F: Fn(&SaasFailureStanding, &MarketplaceRulebook) -> Option<SaasDecision>,
{
    let now = fired.at;
    let applied = crate::kernel::pipeline::fire_at(state, fired, |_| async {
        let loaded = load::<SaasFailureStanding>(&state.store, STANDING, provider.uuid()).await?;
        let (standing, version) = match loaded {
            Some(l) => (l.state, Some(l.version)),
            None => (SaasFailureStanding::new(provider), None),
        };
        let rulebook = rulebook_at(state, now)?;
        let Some(decision) = decide(&standing, rulebook) else {
            return Ok((WriteBatch::default(), None));
        };
        let mut batch = WriteBatch::default();
        batch.aggregates.push(aggregate_write(
            STANDING,
            provider.uuid(),
            version,
            provider.to_string(),
            decision.standing.status_label(),
            &decision.standing,
            now,
        )?);
        let changed =
            apply_holds(state, &mut batch, provider, &decision.holds, rulebook, now).await?;
        add_outcome(&mut batch, decision.outcome, now);
        Ok((batch, Some((decision.standing.status_label(), changed))))
    })
    .await?;
    if let Some(Some((status, changed))) = applied {
        tracing::info!(%provider, status, products = changed,
            "SaaS delivery-failure rule applied");
    }
    Ok(())
}

/// Stores a recurring check's next deadline; already stored (its dedupe key taken) is the
/// same success. Returns when it is due.
async fn schedule_once(state: &AppState, deadline: NewDeadline) -> Result<Timestamp, Problem> {
    let due = deadline.due_at;
    crate::kernel::pipeline::schedule_once(&state.store, vec![deadline]).await?;
    Ok(due)
}

/// Applies `plans` to the provider's products: one conditional write per product changed,
/// with the core's `product.hold_*` events. Returns how many products changed.
async fn apply_holds(
    state: &AppState,
    batch: &mut WriteBatch,
    provider: ProviderId,
    plans: &[HoldPlan],
    rulebook: &MarketplaceRulebook,
    now: Timestamp,
) -> Result<usize, Problem> {
    if plans.is_empty() {
        return Ok(0);
    }
    let mut products: Vec<(i64, ProductRecord)> = Vec::new();
    if plans.iter().any(|p| p.target == HoldTarget::AllSaas) {
        for row in all_owned(state, PRODUCT, &provider.to_string()).await? {
            let record: ProductRecord = serde_json::from_value(row.state).map_err(|e| {
                Problem::internal(format!("stored product {} does not read back: {e}", row.id))
            })?;
            if record.product.category == ProductCategory::Saas {
                products.push((row.version, record));
            }
        }
    }
    for plan in plans {
        if let HoldTarget::Product(id) = plan.target
            && !products.iter().any(|(_, r)| r.product.id == id)
            && let Some(loaded) = load_product(state, id).await?
            && loaded.state.product.provider == provider
        {
            products.push((loaded.version, loaded.state));
        }
    }
    let mut ids = NewIds;
    let mut ctx = Context {
        now,
        rulebook,
        calendar: &state.calendar,
        ids: &mut ids,
    };
    let mut changed = 0;
    for (version, mut record) in products {
        let mut touched = false;
        let this = record.product.id;
        let concerned = plans.iter().filter(|p| match p.target {
            HoldTarget::AllSaas => true,
            HoldTarget::Product(id) => id == this,
        });
        for plan in concerned {
            let decided = match &plan.change {
                HoldChange::Place { key, kind, reason } => Some(
                    record
                        .product
                        .place_hold(&mut ctx, key, *kind, reason, None),
                ),
                HoldChange::Lift { key } => record
                    .product
                    .holds
                    .iter()
                    .any(|h| h.key == *key)
                    .then(|| record.product.lift_hold(&mut ctx, key, None)),
            };
            if let Some(decided) = decided {
                let (next, outcome) = decided.map_err(|e| Problem::refusal(&e))?;
                record.product = next;
                add_outcome(batch, outcome, now);
                touched = true;
            }
        }
        if touched {
            batch
                .aggregates
                .push(product_write(&record, Some(version), now)?);
            changed += 1;
        }
    }
    Ok(changed)
}

// ---------------------------------------------------------------------------------------
// The provider's view

/// Where a provider stands under the SaaS delivery-failure rule (TC 4.2).
#[derive(Debug, Serialize, ToSchema)]
pub struct SaasDeliveryStandingView {
    #[schema(value_type = String)]
    pub provider: ProviderId,
    /// `clear`, `failing` (a product hidden), `all_hidden` (every SaaS product hidden) or
    /// `delisted` (every SaaS product delisted).
    pub status: String,
    /// Unrepaired failures: the delivery, the order, the product, when it failed, when all
    /// SaaS products are (or were) hidden and delisted unless it is repaired first.
    #[schema(value_type = Vec<Object>)]
    pub open: Vec<yunshi_core::visibility::Failure>,
    /// When every SaaS product was delisted under the rule, if it was.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delisted_at: Option<Timestamp>,
    /// The rule in force: days to the provider-wide hide and to the delisting.
    #[schema(value_type = Option<Object>)]
    pub rule: Option<SaasDeliveryFailure>,
}

/// The provider's standing under the SaaS delivery-failure rule (TC 4.2): its unrepaired
/// failures and when each step falls due. Its own staff and operator staff only.
#[utoipa::path(
    get,
    path = "/api/v1/providers/{id}/saas-delivery-standing",
    tag = "products",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Provider id")),
    responses(
        (status = 200, description = "The standing", body = SaasDeliveryStandingView),
        (status = 401, description = "No valid bearer token"),
        (status = 404, description = "No such provider the caller may see"),
    )
)]
pub async fn saas_delivery_standing(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<SaasDeliveryStandingView>, Problem> {
    let missing = || Problem::not_found(format!("no provider {id:?}"));
    let provider = id.parse::<ProviderId>().map_err(|_| missing())?;
    let own = crate::kernel::repo::providers::own_provider(&state, &principal).await?;
    if !crate::kernel::repo::providers::sees_provider(&principal, own, provider) {
        return Err(missing());
    }
    let standing = load::<SaasFailureStanding>(&state.store, STANDING, provider.uuid())
        .await?
        .map(|l| l.state)
        .unwrap_or_else(|| SaasFailureStanding::new(provider));
    let now = state.clock.now();
    Ok(ApiJson(SaasDeliveryStandingView {
        provider,
        status: standing.status_label().to_owned(),
        open: standing.open,
        delisted_at: standing.delisted_at,
        rule: saas_rule_in_force(&state, now),
    }))
}
