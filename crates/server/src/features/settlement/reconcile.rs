//! Reconciliation (issue 5 item 8): the chain of one order from payment to payout, the
//! orders behind one payout, and the proof for a period that the ledger holds exactly what
//! the statements say:
//!
//! - `provider_payable` of each provider = its settlement items' net (releases − refunds
//!   after release, less fees) − the net of all its statements;
//! - `settlement_payable` = what its statements left there (held, debt moved out,
//!   deductions and payouts taken) + payouts the gateway returned;
//! - `payouts_in_transit` = payouts instructed or pending;
//! - the trial balance is zero.

use axum::extract::{Path, State};
use serde::Serialize;
use utoipa::ToSchema;
use yunshi_core::account::Capability;
use yunshi_core::money::Fen;
use yunshi_core::order::Order;
use yunshi_core::settlement::{OrderLine, Payout, SettlementItem, Statement, order_lines};
use yunshi_store::ItemQuery;

use super::run::period_of;
use super::statement_lines;
use crate::kernel::auth::Principal;
use crate::kernel::books::{books, sum};
use crate::kernel::context::rulebook_at;
use crate::kernel::pipeline::load;
use crate::kernel::problem::{ApiJson, Problem, path_id};
use crate::kernel::repo::PAYOUT;
use crate::kernel::repo::STATEMENT;
use crate::kernel::repo::read_all;
use crate::kernel::state::AppState;

#[derive(Debug, Default, Serialize, ToSchema)]
pub struct ProviderProof {
    pub provider: String,
    #[schema(value_type = crate::kernel::amount::Money)]
    pub net: Fen,
    #[schema(value_type = crate::kernel::amount::Money)]
    pub payout: Fen,
    #[schema(value_type = crate::kernel::amount::Money)]
    pub held: Fen,
    #[schema(value_type = crate::kernel::amount::Money)]
    pub debt_carried: Fen,
    /// `provider_payable` in the ledger and as the items and statements say.
    #[schema(value_type = crate::kernel::amount::Money)]
    pub payable_ledger: Fen,
    #[schema(value_type = crate::kernel::amount::Money)]
    pub payable_expected: Fen,
    #[schema(value_type = crate::kernel::amount::Money)]
    pub settlement_ledger: Fen,
    #[schema(value_type = crate::kernel::amount::Money)]
    pub settlement_expected: Fen,
    pub balanced: bool,
}

#[derive(Debug, Default, Serialize, ToSchema)]
pub struct PeriodReport {
    pub period: String,
    pub statements: u64,
    #[schema(value_type = crate::kernel::amount::Money)]
    pub sales: Fen,
    #[schema(value_type = crate::kernel::amount::Money)]
    pub refunds: Fen,
    #[schema(value_type = crate::kernel::amount::Money)]
    pub fee: Fen,
    #[schema(value_type = crate::kernel::amount::Money)]
    pub net: Fen,
    #[schema(value_type = crate::kernel::amount::Money)]
    pub paid_out: Fen,
    #[schema(value_type = crate::kernel::amount::Money)]
    pub held: Fen,
    #[schema(value_type = crate::kernel::amount::Money)]
    pub debt_carried: Fen,
    #[schema(value_type = crate::kernel::amount::Money)]
    pub payouts_in_transit_ledger: Fen,
    #[schema(value_type = crate::kernel::amount::Money)]
    pub payouts_in_transit_expected: Fen,
    pub trial_balance: String,
    /// Every check holds.
    pub balanced: bool,
    pub providers: Vec<ProviderProof>,
}

/// Totals of a period's statements by provider, and the proof that the ledger balances equal
/// them. Finance staff.
#[utoipa::path(
    get, path = "/api/v1/admin/settlement/periods/{period}", tag = "settlement", security(("bearer" = [])),
    params(("period" = String, Path, description = "First day of the period, e.g. 2026-03-01")),
    responses(
        (status = 200, description = "Totals and the ledger proof", body = PeriodReport),
        (status = 403, description = "Not finance staff"),
        (status = 422, description = "Not the first day of a period"),
    )
)]
pub async fn period_report(
    State(state): State<AppState>,
    principal: Principal,
    Path(period): Path<String>,
) -> Result<ApiJson<PeriodReport>, Problem> {
    principal.require(Capability::ManageSettlement)?;
    let rulebook = rulebook_at(&state, state.clock.now())?;
    let period = period_of(&period, rulebook)?;
    let books = books(&state, None).await?;
    let trial = state.store.trial_balance().await?;
    let mut report = PeriodReport {
        period: period.label(),
        payouts_in_transit_ledger: books.transit_ledger,
        payouts_in_transit_expected: books.transit_expected,
        trial_balance: trial.to_string(),
        ..PeriodReport::default()
    };
    let mut balanced = trial == 0 && books.transit_ledger == books.transit_expected;
    for (provider, statements) in &books.statements {
        let Some(s) = statements.iter().find(|s| s.period == period) else {
            continue;
        };
        report.statements += 1;
        report.sales = sum(report.sales, s.sales)?;
        report.refunds = sum(report.refunds, s.refunds)?;
        report.fee = sum(report.fee, s.fee)?;
        report.net = sum(report.net, s.net)?;
        report.paid_out = sum(report.paid_out, s.payout)?;
        report.held = sum(report.held, s.held)?;
        report.debt_carried = sum(report.debt_carried, s.debt_carried)?;
        let proof = books.proofs.get(provider).copied().unwrap_or_default();
        balanced &= proof.balanced();
        report.providers.push(ProviderProof {
            provider: provider.clone(),
            net: s.net,
            payout: s.payout,
            held: s.held,
            debt_carried: s.debt_carried,
            payable_ledger: proof.payable_ledger,
            payable_expected: proof.payable_expected,
            settlement_ledger: proof.settlement_ledger,
            settlement_expected: proof.settlement_expected,
            balanced: proof.balanced(),
        });
    }
    report.balanced = balanced;
    Ok(ApiJson(report))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatementLine {
    #[schema(value_type = String)]
    pub statement_id: uuid::Uuid,
    pub period: String,
    #[schema(value_type = Object)]
    pub line: OrderLine,
    #[schema(value_type = Option<String>)]
    pub payout_id: Option<uuid::Uuid>,
    pub payout_status: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderChain {
    /// Payment, escrow, release with its fee, refunds with their shares.
    #[schema(value_type = Object)]
    pub order: Order,
    #[schema(value_type = Vec<Object>)]
    pub settlement_items: Vec<SettlementItem>,
    pub statement_lines: Vec<StatementLine>,
}

async fn payout_status(
    state: &AppState,
    id: Option<uuid::Uuid>,
) -> Result<Option<String>, Problem> {
    let Some(id) = id else { return Ok(None) };
    Ok(load::<Payout>(&state.store, PAYOUT, id)
        .await?
        .map(|p| p.state.status.as_str().to_string()))
}

/// One order from payment to payout: the order (payment, escrow, release and fee, refunds),
/// its settlement items, and every statement line and payout that carried it. Finance staff.
#[utoipa::path(
    get, path = "/api/v1/admin/reconciliation/orders/{id}", tag = "settlement", security(("bearer" = [])),
    params(("id" = String, Path, description = "Order id")),
    responses(
        (status = 200, description = "The chain", body = OrderChain),
        (status = 403, description = "Not finance staff"),
        (status = 404, description = "No such order"),
    )
)]
pub async fn order_chain(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<OrderChain>, Problem> {
    principal.require(Capability::ManageSettlement)?;
    let uuid = path_id(&id, "order")?;
    #[derive(serde::Deserialize)]
    struct Record {
        order: Order,
    }
    let order = load::<Record>(&state.store, crate::kernel::repo::orders::ORDER, uuid)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no order {id:?}")))?
        .state
        .order;
    let items = state
        .store
        .settlement_items(&ItemQuery {
            order: Some(uuid),
            ..ItemQuery::default()
        })
        .await?;
    let mut lines = Vec::new();
    let owner = order.terms.provider.to_string();
    for s in read_all::<Statement>(&state, STATEMENT, Some(&owner), None).await? {
        let rulebook = rulebook_at(&state, s.issued_at)?;
        for line in
            order_lines(&items, s.period, &rulebook.settlement).map_err(|e| Problem::refusal(&e))?
        {
            lines.push(StatementLine {
                statement_id: s.id,
                period: s.period.label(),
                line,
                payout_id: s.payout_id,
                payout_status: payout_status(&state, s.payout_id).await?,
            });
        }
    }
    lines.sort_by(|a, b| a.period.cmp(&b.period));
    Ok(ApiJson(OrderChain {
        order,
        settlement_items: items,
        statement_lines: lines,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PayoutOrders {
    #[schema(value_type = Object)]
    pub payout: Payout,
    #[schema(value_type = Object)]
    pub statement: Statement,
    #[schema(value_type = Vec<Object>)]
    pub lines: Vec<OrderLine>,
}

/// The orders behind one payout: its statement and every order line. Finance staff.
#[utoipa::path(
    get, path = "/api/v1/admin/reconciliation/payouts/{id}", tag = "settlement", security(("bearer" = [])),
    params(("id" = String, Path, description = "Payout id")),
    responses(
        (status = 200, description = "The payout's orders", body = PayoutOrders),
        (status = 403, description = "Not finance staff"),
        (status = 404, description = "No such payout"),
    )
)]
pub async fn payout_orders(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<PayoutOrders>, Problem> {
    principal.require(Capability::ManageSettlement)?;
    let uuid = path_id(&id, "payout")?;
    let payout = load::<Payout>(&state.store, PAYOUT, uuid)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no payout {id:?}")))?
        .state;
    let statement = load::<Statement>(&state.store, STATEMENT, payout.statement)
        .await?
        .ok_or_else(|| Problem::internal("a payout's statement is missing"))?
        .state;
    let lines = statement_lines(&state, &statement).await?;
    Ok(ApiJson(PayoutOrders {
        payout: super::payouts::masked_payout(&state, &payout)?,
        statement,
        lines,
    }))
}
