//! The deposit after admission (SPEC §10) as other decisions reach it: a violation's deduction
//! or a stacked measure opens a top-up, and a deposit decision closes or reopens the
//! provider's stores — in the batch of the decision that caused it.

use crate::kernel::context::rulebook_at;
use crate::kernel::pipeline::{add_outcome, aggregate_write, load};
use crate::kernel::problem::Problem;
use crate::kernel::repo::DEPOSIT_ACCOUNT;
use crate::kernel::repo::all_owned;
use crate::kernel::repo::providers::STORE;
use crate::kernel::repo::providers::store_write;
use crate::kernel::state::AppState;
use jiff::Timestamp;
use uuid::Uuid;
use yunshi_core::decision::Context;
use yunshi_core::deposit::{
    Deduction, DeductionCause, DepositAccount, DepositDecision, DepositError, Owed,
};
use yunshi_core::governance::{Case, StackedMeasure};
use yunshi_core::ids::ProviderId;
use yunshi_core::ledger::{Account, AccountKind};
use yunshi_core::money::Fen;
use yunshi_core::rulebook::{ExtraMeasure, MarketplaceRulebook};
use yunshi_core::storefront::Store;
use yunshi_store::WriteBatch;

pub fn refused(e: DepositError) -> Problem {
    Problem::refusal(&e)
}

/// The ledger balances a deposit decision reads: held for the provider (positive when the
/// operator holds it), and what the provider owes.
#[derive(Debug, Clone, Copy)]
pub struct Balances {
    pub held: Fen,
    pub owed: Owed,
}

pub async fn owed_to(state: &AppState, kind: AccountKind, pid: ProviderId) -> Result<Fen, Problem> {
    let b = state
        .store
        .balance(&Account::new(kind, pid.to_string()))
        .await?;
    b.checked_neg().map_err(Problem::internal)
}

pub async fn balances(state: &AppState, pid: ProviderId) -> Result<Balances, Problem> {
    let (debt, penalties) = (
        Account::new(AccountKind::ProviderDebt, pid.to_string()),
        Account::new(AccountKind::PenaltiesReceivable, pid.to_string()),
    );
    Ok(Balances {
        held: owed_to(state, AccountKind::DepositsHeld, pid).await?,
        owed: Owed {
            debt: state.store.balance(&debt).await?,
            penalties: state.store.balance(&penalties).await?,
        },
    })
}

pub async fn load_account(
    state: &AppState,
    pid: ProviderId,
) -> Result<(DepositAccount, Option<i64>), Problem> {
    Ok(
        match load::<DepositAccount>(&state.store, DEPOSIT_ACCOUNT, pid.uuid()).await? {
            Some(l) => (l.state, Some(l.version)),
            None => (DepositAccount::new(pid), None),
        },
    )
}

pub fn with_ctx<T>(
    state: &AppState,
    now: Timestamp,
    rulebook: &MarketplaceRulebook,
    f: impl FnOnce(&mut Context<'_>) -> T,
) -> T {
    crate::kernel::context::with_ctx(state, now, rulebook, f)
}

/// Writes `decision` into `batch`: the account (conditional on `version`), its ledger
/// transactions, events and deadlines, and the stores it closes or reopens
/// ([`DepositDecision::store_effect`] decides each).
pub async fn write_decision(
    state: &AppState,
    batch: &mut WriteBatch,
    decision: DepositDecision,
    version: Option<i64>,
    rulebook: &MarketplaceRulebook,
    now: Timestamp,
) -> Result<(), Problem> {
    let account = &decision.account;
    let owner = account.provider.to_string();
    batch.aggregates.push(aggregate_write(
        DEPOSIT_ACCOUNT,
        account.provider.uuid(),
        version,
        owner.clone(),
        account.status_label(),
        account,
        now,
    )?);
    if decision.close_stores || decision.reopen_stores {
        for stored in all_owned(state, STORE, &owner).await? {
            let store: Store = serde_json::from_value(stored.state)
                .map_err(|e| Problem::internal(format!("stored store does not read back: {e}")))?;
            let decided = with_ctx(state, now, rulebook, |ctx| {
                decision.store_effect(&store, ctx)
            })
            .map_err(|e| Problem::refusal(&e))?;
            if let Some((next, outcome)) = decided {
                batch
                    .aggregates
                    .push(store_write(&next, Some(stored.version), now)?);
                add_outcome(batch, outcome, now);
            }
        }
    }
    add_outcome(batch, decision.outcome, now);
    Ok(())
}

/// A case's final decision took `deducted` from the deposit (leaving `held_after`): recorded
/// in the same batch, which opens the top-up it demands.
pub async fn record_violation_deduction(
    state: &AppState,
    batch: &mut WriteBatch,
    case: &Case,
    deducted: Fen,
    held_after: Fen,
    now: Timestamp,
) -> Result<(), Problem> {
    let rulebook = rulebook_at(state, now)?;
    let (account, version) = load_account(state, case.provider).await?;
    let deduction = Deduction {
        id: Uuid::now_v7(),
        at: now,
        amount: deducted,
        cause: DeductionCause::Violation {
            case: case.id,
            code: case.row.code.clone(),
        },
        reference: case.id.to_string(),
    };
    let decision = with_ctx(state, now, rulebook, |ctx| {
        account.record_deduction(deduction, held_after, ctx)
    })
    .map_err(refused)?;
    write_decision(state, batch, decision, version, rulebook, now).await
}

/// A measure stacked on `case` that moves deposit money: an extra deposit required, or a
/// deduction; written in the stacking batch.
pub async fn stacked_in_batch(
    state: &AppState,
    batch: &mut WriteBatch,
    case: &Case,
    measure: &StackedMeasure,
    now: Timestamp,
) -> Result<(), Problem> {
    let Some(amount) = measure.amount else {
        return Ok(());
    };
    let rulebook = rulebook_at(state, now)?;
    let (account, version) = load_account(state, case.provider).await?;
    let held = balances(state, case.provider).await?.held;
    let decision = with_ctx(state, now, rulebook, |ctx| match measure.measure {
        ExtraMeasure::DepositDeduction => {
            account.deduct_penalty(case.id, &case.row.code, amount, held, ctx)
        }
        _ => account.require_extra(case.id, amount, held, ctx),
    })
    .map_err(refused)?;
    write_decision(state, batch, decision, version, rulebook, now).await
}
