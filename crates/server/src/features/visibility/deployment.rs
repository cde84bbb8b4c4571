//! The yearly operator-cloud deployment check (ALI-R art.28(5), JD art.24(5); SPEC §9) over
//! a stored deadline: the core decides ([`yunshi_core::visibility::deployment`]); this
//! module stores the provider's declarations, runs the year-end check and shows the results.
//!
//! - `PUT /api/v1/products/{id}/deployment-declaration`: the provider's own staff declare,
//!   for the current deployment year, the product's sold instances on the operator's cloud
//!   and in all. Stored in its own aggregate [`DECLARATION`] (id = the product's id, owner =
//!   the provider) beside the product, so declarations and catalogue writes never conflict.
//! - The year-end check ([`YEAR_END_CHECK`], dedupe key `visibility:deployment_check:<start>`,
//!   00:00 Beijing on the first day of the next year) sums each provider's declarations for
//!   the year and records the result on its [`STANDING`]; below the threshold, the event
//!   `visibility.deployment_below_threshold`. Providers without declarations are not judged
//!   (no sold instances: not below). Each provider commits on its own (a year is judged once,
//!   so a check run again after a crash skips those done); the deadline fires last and
//!   schedules the next year's.
//! - An operator administrator starts the checks (`POST
//!   /api/v1/admin/visibility/deployment-checks`, idempotent) — not at boot, for the reason
//!   the monthly check gives ([`super::performance`]).
//! - Compliance lists the findings (`GET /api/v1/admin/visibility/deployment-findings`);
//!   expelling stays its decision (a violation case), never automatic.
//!
//! Aggregates: [`DECLARATION`] (the core's `DeploymentDeclaration`, status `declared`) and
//! [`STANDING`] (the core's `DeploymentStanding`, id = the provider's id, status `finding`
//! once a year was below, else `met`).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;
use yunshi_core::account::OperatorRole;
use yunshi_core::calendar::{RuleYear, YearStart};
use yunshi_core::ids::{ProductId, ProviderId};
use yunshi_core::rate::Rate;
use yunshi_core::rulebook::MarketplaceRulebook;
use yunshi_core::time::beijing_date;
use yunshi_core::visibility::deployment::{
    DeploymentDeclaration, DeploymentStanding, Instances, YEAR_END_CHECK, YearResult, check_due,
    check_key, year_of, year_total,
};
use yunshi_store::{Deadline, NewDeadline, WriteBatch};

use super::{fired_at, payload};
use crate::kernel::auth::Principal;
use crate::kernel::context::rulebook_at;
use crate::kernel::deadlines::HandlerFuture;
use crate::kernel::pipeline::{Decision, add_outcome, aggregate_write, load};
use crate::kernel::pipeline::{fire_and_schedule, fire_only};
use crate::kernel::problem::{ApiJson, Problem};
use crate::kernel::repo::all_of_kind;
use crate::kernel::repo::all_owned;
use crate::kernel::repo::products::load_product;
use crate::kernel::state::AppState;

/// Aggregate kind of a product's deployment declaration (id = the product's id).
pub const DECLARATION: &str = "deployment_declaration";
/// Aggregate kind of a provider's yearly deployment results (id = the provider's id).
pub const STANDING: &str = "deployment_standing";

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct CheckPayload {
    /// The first day of the year the check judges.
    year_start: Date,
}

/// The rule in force: the minimum share and where its year starts (both or neither — the
/// rulebook validation requires them together).
fn rule(rulebook: &MarketplaceRulebook) -> Option<(Rate, YearStart)> {
    let e = &rulebook.expulsion;
    Some((e.min_operator_cloud_deployment?, e.deployment_year_start?))
}

fn check_deadline(year: RuleYear) -> Option<NewDeadline> {
    Some(NewDeadline {
        id: Uuid::now_v7(),
        kind: YEAR_END_CHECK.into(),
        subject: "visibility".into(),
        due_at: check_due(year)?,
        payload: json!(CheckPayload {
            year_start: year.start
        }),
        dedupe_key: Some(check_key(year.start)),
    })
}

/// Schedules the check at the end of the deployment year containing `now` if the rulebook
/// in force has the rule (already scheduled: nothing more happens); returns when it is due.
pub async fn ensure_next_check(
    state: &AppState,
    now: Timestamp,
) -> Result<Option<Timestamp>, Problem> {
    let Some((_, start)) = rulebook_at(state, now).ok().and_then(rule) else {
        return Ok(None);
    };
    let Some(deadline) = year_of(beijing_date(now), start)
        .ok()
        .and_then(check_deadline)
    else {
        return Ok(None);
    };
    super::schedule_once(state, deadline).await.map(Some)
}

/// When the next year-end deployment check is due.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeploymentChecks {
    /// Absent when the rulebook in force has no deployment rule (TC).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_check_at: Option<Timestamp>,
}

/// Starts the yearly operator-cloud deployment checks (ALI-R art.28(5), JD art.24(5)):
/// schedules the check at 00:00 Beijing after the current deployment year (ALI: 1 April,
/// JD: 1 January); each check schedules the next. Idempotent.
#[utoipa::path(
    post,
    path = "/api/v1/admin/visibility/deployment-checks",
    tag = "products",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Scheduled (or already scheduled)", body = DeploymentChecks),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller is not an operator administrator"),
    )
)]
pub async fn start_deployment_checks(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<ApiJson<DeploymentChecks>, Problem> {
    principal.require_role(OperatorRole::Admin)?;
    let next_check_at = ensure_next_check(&state, state.clock.now()).await?;
    Ok(ApiJson(DeploymentChecks { next_check_at }))
}

pub(super) fn year_end_handler(state: AppState, deadline: Deadline) -> HandlerFuture {
    Box::pin(on_year_end(state, deadline))
}

fn read<T: serde::de::DeserializeOwned>(
    row: yunshi_store::StoredAggregate,
    kind: &str,
) -> Result<T, Problem> {
    serde_json::from_value(row.state)
        .map_err(|e| Problem::internal(format!("stored {kind} {} does not read back: {e}", row.id)))
}

async fn on_year_end(state: AppState, deadline: Deadline) -> Result<(), Problem> {
    let fired = fired_at(&state, &deadline);
    let Some(p) = payload::<CheckPayload>(&deadline) else {
        return fire_only(&state, fired).await;
    };
    let rulebook = rulebook_at(&state, fired.at)?;
    let Some((threshold, start)) = rule(rulebook) else {
        return fire_only(&state, fired).await;
    };
    let Ok(year) = year_of(p.year_start, start) else {
        return fire_only(&state, fired).await;
    };
    let mut by_provider: BTreeMap<ProviderId, Vec<DeploymentDeclaration>> = BTreeMap::new();
    for row in all_of_kind(&state, DECLARATION, None).await? {
        let d: DeploymentDeclaration = read(row, DECLARATION)?;
        by_provider.entry(d.provider).or_default().push(d);
    }
    for (provider, declarations) in &by_provider {
        // One provider's unreadable sum must not stop the check for the others.
        match year_total(declarations, year.start) {
            Ok(instances) => judge(&state, *provider, year, instances, threshold, fired.at).await?,
            Err(e) => tracing::error!(%provider, error = %e,
                "deployment declarations do not sum; provider not judged"),
        }
    }
    let next = year_of(year.end, start).ok().and_then(check_deadline);
    fire_and_schedule(&state, fired, next).await
}

/// Judges one provider's year and commits its standing and event together.
async fn judge(
    state: &AppState,
    provider: ProviderId,
    year: RuleYear,
    instances: Instances,
    threshold: Rate,
    now: Timestamp,
) -> Result<(), Problem> {
    crate::kernel::pipeline::write(&state.store, || async {
        let loaded = load::<DeploymentStanding>(&state.store, STANDING, provider.uuid()).await?;
        let (standing, version) = match loaded {
            Some(l) => (l.state, Some(l.version)),
            None => (DeploymentStanding::new(provider), None),
        };
        let Some(decision) = standing.judge(year, instances, threshold, now) else {
            return Ok(Decision::Answer(()));
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
        add_outcome(&mut batch, decision.outcome, now);
        Ok(Decision::Write(batch, ()))
    })
    .await
}

// ---------------------------------------------------------------------------------------
// Declarations

/// Sold instances of a product in the current deployment year.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclarationBody {
    /// Sold instances running on the operator's cloud.
    pub on_operator_cloud: u64,
    /// All sold instances.
    pub total: u64,
}

/// A product's declarations, year by year.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeclarationView {
    #[schema(value_type = String)]
    pub product: ProductId,
    #[schema(value_type = String)]
    pub provider: ProviderId,
    /// The deployment year a declaration now is for (`start..last day`).
    pub current_year: Option<String>,
    /// `{year_start, on_operator_cloud, total, declared_at}` per year.
    #[schema(value_type = Vec<Object>)]
    pub years: Vec<yunshi_core::visibility::deployment::YearFigures>,
}

fn current_year(state: &AppState, now: Timestamp) -> Option<RuleYear> {
    let (_, start) = rulebook_at(state, now).ok().and_then(rule)?;
    year_of(beijing_date(now), start).ok()
}

fn declaration_view(state: &AppState, d: DeploymentDeclaration) -> DeclarationView {
    DeclarationView {
        product: d.product,
        provider: d.provider,
        current_year: current_year(state, state.clock.now()).map(|y| y.to_string()),
        years: d.years,
    }
}

/// The product `raw` if the caller may see it (else 404), and whether the caller acts for
/// its provider.
async fn product_for(
    state: &AppState,
    principal: &Principal,
    raw: &str,
) -> Result<(ProductId, ProviderId, bool), Problem> {
    let missing = || Problem::not_found(format!("no product {raw:?}"));
    let id = raw.parse::<ProductId>().map_err(|_| missing())?;
    let product = load_product(state, id).await?.ok_or_else(missing)?;
    let provider = product.state.product.provider;
    let own = crate::kernel::repo::providers::own_provider(state, principal).await?;
    if !crate::kernel::repo::providers::sees_provider(principal, own, provider) {
        return Err(missing());
    }
    Ok((id, provider, own == Some(provider)))
}

/// Declares the product's sold instances for the current deployment year: how many run on
/// the operator's cloud and how many there are in all (ALI-R art.28(5), JD art.24(5)). A
/// second declaration in the same year replaces the first. The provider's own staff only.
#[utoipa::path(
    put,
    path = "/api/v1/products/{id}/deployment-declaration",
    tag = "products",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Product id")),
    request_body = DeclarationBody,
    responses(
        (status = 200, description = "Declared", body = DeclarationView),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller does not act for the product's provider"),
        (status = 404, description = "No such product the caller may see"),
        (status = 409, description = "`deployment_check_not_in_force`: the rulebook in force has no deployment rule (TC)"),
        (status = 422, description = "`deployment_more_on_cloud_than_sold`"),
    )
)]
pub async fn declare(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DeclarationBody>,
) -> Result<ApiJson<DeclarationView>, Problem> {
    let (product, provider, own) = product_for(&state, &principal, &id).await?;
    if !own {
        return Err(Problem::forbidden(
            "只有服务商本身可以申报部署数据 — only the provider's own staff declare deployments",
        ));
    }
    let instances = Instances {
        on_operator_cloud: body.on_operator_cloud,
        total: body.total,
    };
    let next = crate::kernel::pipeline::run(&state.store, || async {
        let now = state.clock.now();
        let start = rulebook_at(&state, now)?.expulsion.deployment_year_start;
        let loaded =
            load::<DeploymentDeclaration>(&state.store, DECLARATION, product.uuid()).await?;
        let (current, version) = match loaded {
            Some(l) => (l.state, Some(l.version)),
            None => (DeploymentDeclaration::new(product, provider), None),
        };
        let (next, outcome) = current
            .declare(instances, start, now)
            .map_err(|e| Problem::refusal(&e))?;
        let mut batch = WriteBatch::default();
        batch.aggregates.push(aggregate_write(
            DECLARATION,
            product.uuid(),
            version,
            provider.to_string(),
            "declared",
            &next,
            now,
        )?);
        add_outcome(&mut batch, outcome, now);
        Ok((batch, next))
    })
    .await?;
    Ok(ApiJson(declaration_view(&state, next)))
}

/// The product's deployment declarations. Its provider's staff and operator staff only.
#[utoipa::path(
    get,
    path = "/api/v1/products/{id}/deployment-declaration",
    tag = "products",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Product id")),
    responses(
        (status = 200, description = "The declarations (none yet: empty `years`)", body = DeclarationView),
        (status = 401, description = "No valid bearer token"),
        (status = 404, description = "No such product the caller may see"),
    )
)]
pub async fn declaration(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<DeclarationView>, Problem> {
    let (product, provider, _) = product_for(&state, &principal, &id).await?;
    let d = load::<DeploymentDeclaration>(&state.store, DECLARATION, product.uuid())
        .await?
        .map(|l| l.state)
        .unwrap_or_else(|| DeploymentDeclaration::new(product, provider));
    Ok(ApiJson(declaration_view(&state, d)))
}

// ---------------------------------------------------------------------------------------
// Views

/// A provider's operator-cloud deployment share: the current year so far and past results.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeploymentShareView {
    #[schema(value_type = String)]
    pub provider: ProviderId,
    /// The current deployment year (`start..last day`); absent without the rule (TC).
    pub current_year: Option<String>,
    /// The minimum share (80%); absent without the rule.
    pub threshold: Option<String>,
    /// Declared for the current year so far, over all the provider's products.
    pub on_operator_cloud: u64,
    pub total: u64,
    /// on ÷ total rounded down to a ppm; absent without sold instances.
    pub share: Option<String>,
    /// Below the threshold on the current declarations (judged at the year's end).
    pub below_threshold: bool,
    /// When the current year is judged.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub judged_at: Option<Timestamp>,
    /// Past years' results; `below_threshold` ones are expulsion-ground findings.
    #[schema(value_type = Vec<Object>)]
    pub years: Vec<YearResult>,
}

/// The provider's operator-cloud deployment share (ALI-R art.28(5), JD art.24(5)): the
/// current year's declarations summed, the threshold, and each past year's result. Its own
/// staff and operator staff only.
#[utoipa::path(
    get,
    path = "/api/v1/providers/{id}/deployment-share",
    tag = "products",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Provider id")),
    responses(
        (status = 200, description = "The share", body = DeploymentShareView),
        (status = 401, description = "No valid bearer token"),
        (status = 404, description = "No such provider the caller may see"),
    )
)]
pub async fn deployment_share(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<DeploymentShareView>, Problem> {
    let missing = || Problem::not_found(format!("no provider {id:?}"));
    let provider = id.parse::<ProviderId>().map_err(|_| missing())?;
    let own = crate::kernel::repo::providers::own_provider(&state, &principal).await?;
    if !crate::kernel::repo::providers::sees_provider(&principal, own, provider) {
        return Err(missing());
    }
    let now = state.clock.now();
    let threshold = rulebook_at(&state, now).ok().and_then(rule).map(|(t, _)| t);
    let year = current_year(&state, now);
    let mut declarations = Vec::new();
    for row in all_owned(&state, DECLARATION, &provider.to_string()).await? {
        declarations.push(read::<DeploymentDeclaration>(row, DECLARATION)?);
    }
    let instances = match year {
        Some(y) => year_total(&declarations, y.start).map_err(|e| Problem::refusal(&e))?,
        None => Instances::default(),
    };
    let standing = load::<DeploymentStanding>(&state.store, STANDING, provider.uuid())
        .await?
        .map(|l| l.state)
        .unwrap_or_else(|| DeploymentStanding::new(provider));
    Ok(ApiJson(DeploymentShareView {
        provider,
        current_year: year.map(|y| y.to_string()),
        threshold: threshold.map(|t| t.to_string()),
        on_operator_cloud: instances.on_operator_cloud,
        total: instances.total,
        share: instances.share().map(|s| s.to_string()),
        below_threshold: threshold.is_some_and(|t| instances.below(t)),
        judged_at: year.and_then(check_due),
        years: standing.years,
    }))
}

/// A provider with at least one year below the threshold.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeploymentFinding {
    #[schema(value_type = String)]
    pub provider: ProviderId,
    /// The years below the threshold (an expulsion ground each; compliance decides).
    #[schema(value_type = Vec<Object>)]
    pub findings: Vec<YearResult>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeploymentFindingPage {
    pub items: Vec<DeploymentFinding>,
}

/// Providers whose operator-cloud deployment share was below the threshold in a year
/// (ALI-R art.28(5), JD art.24(5)): expulsion grounds for compliance to decide on (a
/// violation case). Operator staff only.
#[utoipa::path(
    get,
    path = "/api/v1/admin/visibility/deployment-findings",
    tag = "products",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The findings", body = DeploymentFindingPage),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller is not operator staff"),
    )
)]
pub async fn deployment_findings(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<ApiJson<DeploymentFindingPage>, Problem> {
    if !principal.actor.is_operator() {
        return Err(Problem::forbidden(
            "only operator staff list deployment findings",
        ));
    }
    let mut items = Vec::new();
    for row in all_of_kind(&state, STANDING, Some("finding".into())).await? {
        let standing: DeploymentStanding = read(row, STANDING)?;
        items.push(DeploymentFinding {
            provider: standing.provider,
            findings: standing.findings().copied().collect(),
        });
    }
    Ok(ApiJson(DeploymentFindingPage { items }))
}
