//! Settlement over HTTP (SPEC §11, issue 5): the run of a period (by its stored deadline at
//! the cut-off, or on demand by finance), statements with their order lines as JSON, CSV
//! and XLSX, payouts and the receiving account, fee agreements, and reconciliation.
//!
//! Aggregates: [`STATEMENT`] (owner = provider, status = the period's first day),
//! [`PAYOUT`] (owner = provider, status = payout status), [`PAYEE`] and [`FEE_AGREEMENT`]
//! (id = the provider's id).

mod export;
mod payouts;
pub(crate) mod reconcile;
pub mod run;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use yunshi_core::account::Capability;
use yunshi_core::ids::ProviderId;
use yunshi_core::provider::Provider;
use yunshi_core::settlement::{
    FeeAgreement, ItemKind, OrderLine, Payout, Period, SettlementInvoiceKind, Statement,
    order_lines,
};
use yunshi_store::{AggregateWrite, Deadline, FiredDeadline, ItemQuery, WriteBatch};

use crate::kernel::auth::Principal;
use crate::kernel::context::rulebook_at;
use crate::kernel::deadlines::{Handler, HandlerFuture, firing_time};
use crate::kernel::pipeline::{aggregate_write, load};
use crate::kernel::problem::{ApiJson, Problem, path_id};
use crate::kernel::repo::providers::acts_for;
use crate::kernel::repo::providers::load_provider;
use crate::kernel::state::AppState;

use crate::kernel::repo::read_all;
use crate::kernel::repo::settlement::load_fee_agreement;
use crate::kernel::repo::{FEE_AGREEMENT, PAYOUT, STATEMENT};
pub use run::{RunSummary, RunTiming, ensure_scheduled, run_period};

/// Deadline kind: a period's cut-off, when its settlement runs.
pub const RUN_DEADLINE: &str = "settlement.run";

pub const DEADLINES: &[(&str, Handler)] = &[(RUN_DEADLINE, fire_run)];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/admin/settlement/runs", post(start_run))
        .route(
            "/api/v1/admin/settlement/periods/{period}",
            get(reconcile::period_report),
        )
        .route(
            "/api/v1/admin/reconciliation/orders/{id}",
            get(reconcile::order_chain),
        )
        .route(
            "/api/v1/admin/reconciliation/payouts/{id}",
            get(reconcile::payout_orders),
        )
        .route("/api/v1/providers/{id}/statements", get(statements))
        .route("/api/v1/statements/{id}", get(statement))
        .route("/api/v1/statements/{id}/csv", get(export::csv))
        .route("/api/v1/statements/{id}/xlsx", get(export::xlsx))
        .route(
            "/api/v1/statements/{id}/invoices/{kind}",
            post(issue_invoice),
        )
        .route("/api/v1/providers/{id}/payouts", get(provider_payouts))
        .route(
            "/api/v1/admin/payouts/{id}/answer",
            post(payouts::answer_payout),
        )
        .route(
            "/api/v1/providers/{id}/payee-account",
            get(payouts::payee_account).post(payouts::request_payee_change),
        )
        .route(
            "/api/v1/admin/providers/{id}/payee-account/decision",
            post(payouts::decide_payee_change),
        )
        .route(
            "/api/v1/providers/{id}/fee-agreement",
            get(fee_agreement).put(set_fee_agreement),
        )
}

#[derive(OpenApi)]
#[openapi(
    paths(
        start_run, statements, statement, provider_payouts, fee_agreement, set_fee_agreement,
        issue_invoice,
        export::csv, export::xlsx, payouts::answer_payout, payouts::payee_account,
        payouts::request_payee_change, payouts::decide_payee_change, reconcile::period_report,
        reconcile::order_chain, reconcile::payout_orders,
    ),
    components(schemas(RunRequest, IssueInvoiceRequest, RunSummary, RunTiming, payouts::PayoutAnswerRequest, payouts::PayeeDecisionRequest)),
    tags((name = "settlement", description = "Settlement runs, statements (对账单), payouts, fee agreements and reconciliation (SPEC §11)"))
)]
pub struct ApiDoc;

pub(crate) fn statement_write(s: &Statement, now: Timestamp) -> Result<AggregateWrite, Problem> {
    aggregate_write(
        STATEMENT,
        s.id,
        None,
        s.provider.to_string(),
        s.period.label(),
        s,
        now,
    )
}

pub(crate) fn payout_write(
    p: &Payout,
    version: Option<i64>,
    now: Timestamp,
) -> Result<AggregateWrite, Problem> {
    aggregate_write(
        PAYOUT,
        p.id,
        version,
        p.provider.to_string(),
        p.status.as_str(),
        p,
        now,
    )
}

/// The provider a caller may see: its own staff and operator staff; 404 for anyone else.
pub(crate) async fn visible_provider(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<(ProviderId, Provider), Problem> {
    let missing = || Problem::not_found(format!("no provider {id:?}"));
    let pid = id.parse::<ProviderId>().map_err(|_| missing())?;
    let provider = load_provider(state, pid).await?.ok_or_else(missing)?;
    if !principal.actor.is_operator() && !acts_for(&principal.actor, &provider.state) {
        return Err(missing());
    }
    Ok((pid, provider.state))
}

/// The cut-off of the period named in the deadline: that period is settled (even when the
/// deadline fires late, after later cut-offs — their own deadlines settle those), then the
/// deadline is marked fired and the next period's run scheduled.
fn fire_run(state: AppState, d: Deadline) -> HandlerFuture {
    Box::pin(async move {
        let now = firing_time(&state, &d);
        let rulebook = rulebook_at(&state, now)?;
        let period = match d.payload.get("period").and_then(|p| p.as_str()) {
            Some(label) => run::period_of(label, rulebook)?,
            None => {
                Period::last_ended(&rulebook.settlement, now).map_err(|e| Problem::refusal(&e))?
            }
        };
        run_period(&state, period).await?;
        let fired = FiredDeadline { id: d.id, at: now };
        let next = run::next_run_deadline(period, rulebook)?;
        crate::kernel::pipeline::fire_and_schedule(&state, fired, Some(next)).await
    })
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// First day of the period to settle (`2026-03-01`); the last ended period if absent.
    #[serde(default)]
    pub period: Option<String>,
}

/// Runs (or finishes) the settlement of a period that has ended: one statement per provider,
/// payouts sent. Running it again writes only what is missing. Finance staff.
#[utoipa::path(
    post, path = "/api/v1/admin/settlement/runs", tag = "settlement", security(("bearer" = [])),
    request_body = RunRequest,
    responses(
        (status = 200, description = "What the run wrote", body = RunSummary),
        (status = 403, description = "Not finance staff"),
        (status = 409, description = "`period_not_ended`"),
        (status = 422, description = "Not the first day of a period"),
    )
)]
pub async fn start_run(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<RunRequest>,
) -> Result<ApiJson<RunSummary>, Problem> {
    principal.require(Capability::ManageSettlement)?;
    let now = state.clock.now();
    let rulebook = rulebook_at(&state, now)?;
    let period = match &req.period {
        Some(label) => run::period_of(label, rulebook)?,
        None => Period::last_ended(&rulebook.settlement, now).map_err(|e| Problem::refusal(&e))?,
    };
    Ok(ApiJson(run_period(&state, period).await?))
}

/// A statement with its order lines, computed again from the settlement items.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatementView {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub statement: Statement,
    #[schema(value_type = Vec<Object>)]
    pub lines: Vec<OrderLine>,
}

pub(crate) async fn statement_lines(
    state: &AppState,
    s: &Statement,
) -> Result<Vec<OrderLine>, Problem> {
    let rulebook = rulebook_at(state, s.issued_at)?;
    let p = s.provider.to_string();
    let items = state
        .store
        .settlement_items(&ItemQuery {
            providers: Some((p.clone(), p)),
            order: None,
            period: Some((
                s.period.opens_at().map_err(|e| Problem::refusal(&e))?,
                s.period.cutoff().map_err(|e| Problem::refusal(&e))?,
            )),
        })
        .await?;
    debug_assert!(
        items
            .iter()
            .all(|i| matches!(i.kind, ItemKind::Release | ItemKind::Refund))
    );
    order_lines(&items, s.period, &rulebook.settlement).map_err(|e| Problem::refusal(&e))
}

/// Loads statement `id` if the caller may see it: the provider's staff and finance staff.
pub(crate) async fn visible_statement(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<Statement, Problem> {
    let missing = || Problem::not_found(format!("no statement {id:?}"));
    let uuid = path_id(id, "statement")?;
    let s = load::<Statement>(&state.store, STATEMENT, uuid)
        .await?
        .ok_or_else(missing)?
        .state;
    // Its staff and the member account that applied for it, as for the statement list.
    let own = crate::kernel::repo::providers::own_provider_id(state, &principal.actor).await?
        == Some(s.provider);
    if !own && principal.require(Capability::ManageSettlement).is_err() {
        return Err(missing());
    }
    Ok(s)
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct StatementQuery {
    /// Only the statement of the period starting that day.
    pub period: Option<String>,
}

/// A provider's statements, newest period first, without lines. Its staff and finance.
#[utoipa::path(
    get, path = "/api/v1/providers/{id}/statements", tag = "settlement", security(("bearer" = [])),
    params(("id" = String, Path, description = "Provider id"), StatementQuery),
    responses(
        (status = 200, description = "The statements", body = Vec<Object>),
        (status = 404, description = "No such provider the caller may see"),
    )
)]
pub async fn statements(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Query(q): Query<StatementQuery>,
) -> Result<ApiJson<Vec<Statement>>, Problem> {
    let (pid, _) = visible_provider(&state, &principal, &id).await?;
    let owner = pid.to_string();
    let mut out: Vec<Statement> =
        read_all(&state, STATEMENT, Some(&owner), q.period.as_deref()).await?;
    out.sort_by_key(|s| std::cmp::Reverse(s.period));
    Ok(ApiJson(out))
}

/// One statement with every order line (order, product, amount, fee, net) and its
/// adjustments (brought forward, debt, penalties, deposit top-up, held, payout).
#[utoipa::path(
    get, path = "/api/v1/statements/{id}", tag = "settlement", security(("bearer" = [])),
    params(("id" = String, Path, description = "Statement id")),
    responses(
        (status = 200, description = "The statement", body = StatementView),
        (status = 404, description = "No such statement the caller may see"),
    )
)]
pub async fn statement(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<StatementView>, Problem> {
    let s = visible_statement(&state, &principal, &id).await?;
    let lines = statement_lines(&state, &s).await?;
    Ok(ApiJson(StatementView {
        statement: s,
        lines,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueInvoiceRequest {
    /// The invoice number (发票号码).
    pub number: String,
}

/// Records an invoice the statement calls for as issued: `platform_fee` (the operator
/// invoices the provider for the platform fee; finance staff) or `consignment` (the provider
/// invoices the operator for its consignment sales; the provider's staff).
#[utoipa::path(
    post, path = "/api/v1/statements/{id}/invoices/{kind}", tag = "settlement", security(("bearer" = [])),
    params(("id" = String, Path, description = "Statement id"),
           ("kind" = String, Path, description = "`platform_fee` or `consignment`")),
    request_body = IssueInvoiceRequest,
    responses(
        (status = 200, description = "The statement", body = Object),
        (status = 403, description = "Not the issuer"),
        (status = 404, description = "No such statement the caller may see"),
        (status = 409, description = "`no_invoice_due`, `invoice_issued`"),
    )
)]
pub async fn issue_invoice(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, kind)): Path<(String, String)>,
    ApiJson(req): ApiJson<IssueInvoiceRequest>,
) -> Result<ApiJson<Statement>, Problem> {
    let statement = visible_statement(&state, &principal, &id).await?;
    let kind = SettlementInvoiceKind::parse(&kind)
        .ok_or_else(|| Problem::not_found(format!("no invoice kind {kind:?}")))?;
    if kind.issued_by_provider() {
        if principal.actor.provider_id() != Some(statement.provider) {
            return Err(Problem::forbidden("the provider issues this invoice"));
        }
    } else {
        principal.require(Capability::ManageInvoices)?;
    }
    let next = crate::kernel::pipeline::run(&state.store, || async {
        let loaded = load::<Statement>(&state.store, STATEMENT, statement.id)
            .await?
            .ok_or_else(|| Problem::not_found(format!("no statement {id:?}")))?;
        let now = state.clock.now();
        let next = loaded
            .state
            .issue_invoice(kind, &req.number, now)
            .map_err(|e| Problem::refusal(&e))?;
        let mut batch = WriteBatch::default();
        let mut write = statement_write(&next, now)?;
        write.expected_version = Some(loaded.version);
        batch.aggregates.push(write);
        crate::kernel::pipeline::add_outcome(
            &mut batch,
            yunshi_core::decision::Outcome::default().event(
                "settlement.invoice_issued",
                next.subject(),
                serde_json::json!({ "kind": kind, "number": req.number.trim() }),
            ),
            now,
        );
        Ok((batch, next))
    })
    .await?;
    Ok(ApiJson(next))
}

/// A provider's payouts. Its staff and finance.
#[utoipa::path(
    get, path = "/api/v1/providers/{id}/payouts", tag = "settlement", security(("bearer" = [])),
    params(("id" = String, Path, description = "Provider id")),
    responses(
        (status = 200, description = "The payouts", body = Vec<Object>),
        (status = 404, description = "No such provider the caller may see"),
    )
)]
pub async fn provider_payouts(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<Vec<Payout>>, Problem> {
    let (pid, _) = visible_provider(&state, &principal, &id).await?;
    let payouts: Vec<Payout> = read_all(&state, PAYOUT, Some(&pid.to_string()), None).await?;
    Ok(ApiJson(
        payouts
            .iter()
            .map(|p| payouts::masked_payout(&state, p))
            .collect::<Result<_, _>>()?,
    ))
}

/// The provider's fee agreement: standing commission, per-product terms (commission or base
/// price), discounts and fee holidays. Its staff and operator staff.
#[utoipa::path(
    get, path = "/api/v1/providers/{id}/fee-agreement", tag = "settlement", security(("bearer" = [])),
    params(("id" = String, Path, description = "Provider id")),
    responses(
        (status = 200, description = "The agreement", body = Object),
        (status = 404, description = "No such provider the caller may see"),
    )
)]
pub async fn fee_agreement(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<FeeAgreement>, Problem> {
    let (pid, _) = visible_provider(&state, &principal, &id).await?;
    Ok(ApiJson(load_fee_agreement(&state, pid).await?.0))
}

/// Sets the provider's fee agreement; it applies to orders placed from now on, and their fee
/// is fixed when they are released. Finance staff.
#[utoipa::path(
    put, path = "/api/v1/providers/{id}/fee-agreement", tag = "settlement", security(("bearer" = [])),
    params(("id" = String, Path, description = "Provider id")),
    request_body = Object,
    responses(
        (status = 200, description = "The agreement", body = Object),
        (status = 403, description = "Not finance staff"),
        (status = 422, description = "`invalid_fee_terms`"),
    )
)]
pub async fn set_fee_agreement(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(agreement): ApiJson<FeeAgreement>,
) -> Result<ApiJson<FeeAgreement>, Problem> {
    principal.require(Capability::ManageSettlement)?;
    let (pid, _) = visible_provider(&state, &principal, &id).await?;
    let now = state.clock.now();
    let rulebook = rulebook_at(&state, now)?;
    let agreement = agreement
        .checked(&rulebook.settlement, pid)
        .map_err(|e| Problem::refusal(&e))?;
    crate::kernel::pipeline::run(&state.store, || async {
        let (_, version) = load_fee_agreement(&state, pid).await?;
        let mut batch = WriteBatch::default();
        batch.aggregates.push(aggregate_write(
            FEE_AGREEMENT,
            pid.uuid(),
            version,
            pid.to_string(),
            "agreed",
            &agreement,
            now,
        )?);
        crate::kernel::pipeline::add_outcome(
            &mut batch,
            yunshi_core::decision::Outcome::default().event(
                "settlement.fee_agreement_set",
                format!("provider:{pid}"),
                serde_json::to_value(&agreement).map_err(Problem::internal)?,
            ),
            now,
        );
        Ok((batch, agreement.clone()))
    })
    .await
    .map(ApiJson)
}
