//! The ledger transactions of an order: payment into escrow, release to the provider and the
//! platform fee, and refunds out of escrow or back against the release lines (SPEC §6, §7.5).

use crate::decision::Context;
use crate::ids::{OrderId, ProviderId};
use crate::ledger::{Account, AccountKind, LedgerTransaction, Posting};
use crate::money::Fen;

use super::error::OrderError;

/// Transaction kinds, stable: statements and the settlement read them.
pub const ORDER_PAID: &str = "order_paid";
pub const ESCROW_RELEASED: &str = "escrow_released";
pub const REFUND_FROM_ESCROW: &str = "refund_from_escrow";
pub const REFUND_AFTER_RELEASE: &str = "refund_after_release";

/// The buyer's money held for one order.
pub fn escrow_account(order: OrderId) -> Account {
    Account::new(AccountKind::BuyerEscrow, order.to_string())
}

/// What the operator owes one provider.
pub fn payable_account(provider: ProviderId) -> Account {
    Account::new(AccountKind::ProviderPayable, provider.to_string())
}

/// Refunds owed to the buyer of one order until the gateway pays them out.
pub fn refunds_payable_account(order: OrderId) -> Account {
    Account::new(AccountKind::RefundsPayable, order.to_string())
}

pub fn cash_account() -> Account {
    Account::operator(AccountKind::OperatorCash)
}

pub fn fee_account() -> Account {
    Account::operator(AccountKind::PlatformFeeRevenue)
}

/// A transaction from signed lines (debit +, credit −), zero lines dropped so that a zero fee
/// or a zero provider share leaves no empty posting.
fn transaction(
    ctx: &mut Context<'_>,
    kind: &str,
    order: OrderId,
    lines: Vec<(Account, Fen)>,
) -> Result<LedgerTransaction, OrderError> {
    let postings = lines
        .into_iter()
        .filter(|(_, amount)| !amount.is_zero())
        .map(|(account, amount)| Posting::debit(account, amount))
        .collect();
    Ok(LedgerTransaction::new(
        ctx.ids.next_id(),
        kind,
        order.to_string(),
        ctx.now,
        postings,
    )?)
}

/// Dr OperatorCash / Cr BuyerEscrow(order).
pub(crate) fn paid(
    ctx: &mut Context<'_>,
    order: OrderId,
    amount: Fen,
) -> Result<LedgerTransaction, OrderError> {
    transaction(
        ctx,
        ORDER_PAID,
        order,
        vec![
            (cash_account(), amount),
            (escrow_account(order), amount.checked_neg()?),
        ],
    )
}

/// Dr BuyerEscrow(order) / Cr ProviderPayable(provider) + Cr PlatformFeeRevenue.
pub(crate) fn released(
    ctx: &mut Context<'_>,
    order: OrderId,
    provider: ProviderId,
    provider_share: Fen,
    fee: Fen,
) -> Result<LedgerTransaction, OrderError> {
    let amount = provider_share.checked_add(fee)?;
    transaction(
        ctx,
        ESCROW_RELEASED,
        order,
        vec![
            (escrow_account(order), amount),
            (payable_account(provider), provider_share.checked_neg()?),
            (fee_account(), fee.checked_neg()?),
        ],
    )
}

/// Dr BuyerEscrow(order) / Cr RefundsPayable(order).
pub(crate) fn refund_from_escrow(
    ctx: &mut Context<'_>,
    order: OrderId,
    amount: Fen,
) -> Result<LedgerTransaction, OrderError> {
    transaction(
        ctx,
        REFUND_FROM_ESCROW,
        order,
        vec![
            (escrow_account(order), amount),
            (refunds_payable_account(order), amount.checked_neg()?),
        ],
    )
}

/// Dr ProviderPayable(provider) + Dr PlatformFeeRevenue / Cr RefundsPayable(order): the
/// release lines reversed in the refund's proportions (ALI-R art.21(5)).
pub(crate) fn refund_after_release(
    ctx: &mut Context<'_>,
    order: OrderId,
    provider: ProviderId,
    provider_part: Fen,
    fee_part: Fen,
) -> Result<LedgerTransaction, OrderError> {
    let amount = provider_part.checked_add(fee_part)?;
    transaction(
        ctx,
        REFUND_AFTER_RELEASE,
        order,
        vec![
            (payable_account(provider), provider_part),
            (fee_account(), fee_part),
            (refunds_payable_account(order), amount.checked_neg()?),
        ],
    )
}
