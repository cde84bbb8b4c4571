//! The settlement books proven against the ledger, provider by provider: what the items and
//! statements say each provider is owed and holds, beside its ledger accounts. Read by the
//! audit and by the settlement reports.

use crate::kernel::pipeline::all_aggregates;
use crate::kernel::problem::Problem;
use crate::kernel::repo::PAYOUT;
use crate::kernel::repo::STATEMENT;
use crate::kernel::repo::read_all;
use crate::kernel::state::AppState;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use yunshi_core::ledger::AccountKind;
use yunshi_core::money::Fen;
use yunshi_core::settlement::{AdjustmentKind, Payout, PayoutStatus, Statement};

pub fn sum(a: Fen, b: Fen) -> Result<Fen, Problem> {
    a.checked_add(b).map_err(Problem::internal)
}

/// What a statement moved through `settlement_payable` (credit positive).
pub fn settlement_movement(s: &Statement) -> Result<Fen, Problem> {
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

/// One provider's settlement accounts in the ledger beside what its items and statements say.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Proof {
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
pub struct Books {
    pub statements: BTreeMap<String, Vec<Statement>>,
    pub proofs: BTreeMap<String, Proof>,
    pub transit_ledger: Fen,
    pub transit_expected: Fen,
}

/// [`Books`] of every provider, or (`only`) of these providers; payouts in transit are always
/// over all providers.
pub async fn books(state: &AppState, only: Option<&BTreeSet<String>>) -> Result<Books, Problem> {
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

/// Balances of `kind` by owner, as positive amounts in the account's natural direction.
pub async fn balances(
    state: &AppState,
    kind: AccountKind,
    only: Option<&BTreeSet<String>>,
) -> Result<HashMap<String, Fen>, Problem> {
    let flip = !kind.is_debit_normal();
    let mut out = HashMap::new();
    let owners = match only {
        None => state.store.owner_balances(kind).await?,
        Some(owners) => {
            let owners = owners.iter().cloned().collect();
            state.store.owner_balances_of(kind, owners).await?
        }
    };
    for (owner, b) in owners {
        let b = if flip {
            b.checked_neg().map_err(Problem::internal)?
        } else {
            b
        };
        out.insert(owner, b);
    }
    Ok(out)
}
