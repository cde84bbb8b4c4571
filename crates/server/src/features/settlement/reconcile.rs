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

use std::collections::{BTreeMap, BTreeSet, HashMap};

use axum::extract::{Path, State};
use serde::Serialize;
use utoipa::ToSchema;
use yunshi_core::account::Capability;
use yunshi_core::ledger::AccountKind;
use yunshi_core::money::Fen;
use yunshi_core::order::Order;
use yunshi_core::settlement::{
    AdjustmentKind, OrderLine, Payout, PayoutStatus, SettlementItem, Statement, order_lines,
};
use yunshi_store::ItemQuery;

use super::run::{balances, period_of};
use super::{read_all, statement_lines};
use crate::AppState;
use crate::kernel::auth::Principal;
use crate::kernel::context::rulebook_at;
use crate::kernel::pipeline::{all_aggregates, load};
use crate::kernel::problem::{ApiJson, Problem, path_id};
use crate::kernel::repo::PAYOUT;
use crate::kernel::repo::STATEMENT;

fn sum(a: Fen, b: Fen) -> Result<Fen, Problem> {
    a.checked_add(b).map_err(Problem::internal)
}

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

/// What a statement moved through `settlement_payable` (credit positive).
fn settlement_movement(s: &Statement) -> Result<Fen, Problem> {
    let mut m = sum(s.net, s.debt_carried)?;
    for a in &s.adjustments {
        if matches!(
            a.kind,
            AdjustmentKind::DebtCollected
                | AdjustmentKind::PenaltyCollected
                | AdjustmentKind::DepositTopUp
                | AdjustmentKind::Payout
        ) {
            m = sum(m, a.amount)?;
        }
    }
    Ok(m)
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

/// One provider's settlement accounts in the ledger beside what its items and statements say.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Proof {
    pub payable_ledger: Fen,
    pub payable_expected: Fen,
    pub settlement_ledger: Fen,
    pub settlement_expected: Fen,
}

impl Proof {
    pub(crate) fn balanced(&self) -> bool {
        self.payable_ledger == self.payable_expected
            && self.settlement_ledger == self.settlement_expected
    }
}

/// Every statement by provider, and the ledger proof of every provider with items,
/// statements or settlement accounts.
pub(crate) struct Books {
    pub statements: BTreeMap<String, Vec<Statement>>,
    pub proofs: BTreeMap<String, Proof>,
    pub transit_ledger: Fen,
    pub transit_expected: Fen,
}

/// [`Books`] of every provider, or (`only`) of these providers; payouts in transit are always
/// over all providers.
pub(crate) async fn books(
    state: &AppState,
    only: Option<&BTreeSet<String>>,
) -> Result<Books, Problem> {
    let in_scope = |provider: &String| only.is_none_or(|ps| ps.contains(provider));
    let listed = |ps: &BTreeSet<String>| ps.iter().cloned().collect::<Vec<_>>();
    let stored = match only {
        None => all_aggregates(&state.store, STATEMENT, None, None).await?,
        Some(ps) => {
            state
                .store
                .aggregates_owned_by(STATEMENT, listed(ps))
                .await?
        }
    };
    let mut statements: BTreeMap<String, Vec<Statement>> = BTreeMap::new();
    for a in stored {
        let s: Statement = serde_json::from_value(a.state)
            .map_err(|e| Problem::internal(format!("stored statement does not read back: {e}")))?;
        statements
            .entry(s.provider.to_string())
            .or_default()
            .push(s);
    }
    let mut returned: HashMap<String, Fen> = HashMap::new();
    let mut transit_expected = Fen::ZERO;
    for status in [
        PayoutStatus::Failed,
        PayoutStatus::Instructed,
        PayoutStatus::Pending,
    ] {
        for p in read_all::<Payout>(state, PAYOUT, None, Some(status.as_str())).await? {
            if status != PayoutStatus::Failed {
                transit_expected = sum(transit_expected, p.amount)?;
            } else if in_scope(&p.provider.to_string()) {
                let e = returned.entry(p.provider.to_string()).or_default();
                *e = sum(*e, p.amount)?;
            }
        }
    }
    let totals = match only {
        None => state.store.item_totals().await?,
        Some(ps) => state.store.item_totals_of(listed(ps)).await?,
    };
    let mut items: HashMap<String, Fen> = HashMap::new();
    for (p, t) in totals {
        items.insert(p, t.amount.checked_sub(t.fee).map_err(Problem::internal)?);
    }
    let payable = balances(state, AccountKind::ProviderPayable, only).await?;
    let settled = balances(state, AccountKind::SettlementPayable, only).await?;
    let transit_ledger: Fen = balances(state, AccountKind::PayoutsInTransit, None)
        .await?
        .values()
        .try_fold(Fen::ZERO, |a, b| sum(a, *b))?;
    // Owners of settlement accounts with no items or statements are proven too: money
    // posted to a provider's accounts without a record of why must show.
    let providers: std::collections::BTreeSet<&String> = items
        .keys()
        .chain(statements.keys())
        .chain(payable.keys())
        .chain(settled.keys())
        .collect();
    let mut proofs = BTreeMap::new();
    for provider in providers {
        let mut settled_net = Fen::ZERO;
        let mut movement = returned.get(provider).copied().unwrap_or(Fen::ZERO);
        for st in statements.get(provider).into_iter().flatten() {
            settled_net = sum(settled_net, st.net)?;
            movement = sum(movement, settlement_movement(st)?)?;
        }
        let item_net = items.get(provider).copied().unwrap_or(Fen::ZERO);
        let proof = Proof {
            payable_ledger: payable.get(provider).copied().unwrap_or(Fen::ZERO),
            payable_expected: item_net
                .checked_sub(settled_net)
                .map_err(Problem::internal)?,
            settlement_ledger: settled.get(provider).copied().unwrap_or(Fen::ZERO),
            settlement_expected: movement,
        };
        proofs.insert(provider.clone(), proof);
    }
    Ok(Books {
        statements,
        proofs,
        transit_ledger,
        transit_expected,
    })
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
