//! How much a refund may be (SPEC §7.1–§7.3): in full inside the window; outside it, what the
//! product's declared terms give (nothing, or the unused service time pro rata); or what the
//! operator awards after stepping in.

use jiff::Span;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::aggregate::{Order, OrderStatus};
use super::error::OrderError;
use super::terms::ServicePeriod;
use super::window::{window_ended_at, window_over};
use crate::allocation::allocate_by_days;
use crate::catalog::DeclaredRefundPolicy;
use crate::decision::Context;
use crate::money::Fen;
use crate::rulebook::{DisputeRefund, MarketplaceRulebook, RefundReason};
use crate::time::beijing_date;

/// What a refund's amount rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundBasis {
    /// Requested inside the guarantee window: full refund (五天无理由退款 / 不满意全额退款,
    /// ALI-R art.21(1), TC 5.1, JD art.17(1)).
    InsideWindow,
    /// Outside the window: the product's declared terms (TC 5.4, JD art.17(4)).
    DeclaredPolicy,
    /// Awarded by the operator on a dispute ground (ALI-R art.21(3), TC 5.2–5.3, JD art.17(3)).
    Arbitration,
    /// The provider left the marketplace: unfinished projects are refunded (ALI-R art.30(1),
    /// TC 8.4.1, JD art.26(1)).
    ProviderExit,
}

/// What the operator awards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum RefundAward {
    /// Everything paid and not yet refunded.
    Full,
    /// A stated amount.
    Amount { amount: Fen },
    /// The unused days of the service period, pro rata.
    ProRataUnusedDays,
}

/// The order can be refunded at all: paid, a refundable category, something left.
pub(crate) fn ensure_refundable(order: &Order) -> Result<Fen, OrderError> {
    match order.status {
        OrderStatus::Held | OrderStatus::Released => {}
        OrderStatus::Refunded => return Err(OrderError::AlreadyRefunded),
        OrderStatus::AwaitingPayment
        | OrderStatus::InUseUnpaid
        | OrderStatus::Free
        | OrderStatus::Cancelled => return Err(OrderError::NotPaid),
    }
    // ALI-R art.21(1)3, JD art.17(1)3: API and tool products cannot be refunded.
    if !order.refund_class.refundable {
        return Err(OrderError::NotRefundable {
            category: order.terms.category,
        });
    }
    let remaining = order.refundable_remaining()?;
    if remaining.fen() <= 0 {
        return Err(OrderError::AlreadyRefunded);
    }
    Ok(remaining)
}

/// The basis and amount of a buyer's request at `ctx.now`.
pub(crate) fn assess_request(
    order: &Order,
    reason: Option<RefundReason>,
    ctx: &Context<'_>,
) -> Result<(RefundBasis, Fen), OrderError> {
    let remaining = ensure_refundable(order)?;
    if !window_over(order, ctx.now) {
        return Ok((RefundBasis::InsideWindow, remaining));
    }
    let refunds = &ctx.rulebook.refunds;
    // JD art.17(2): outside the window the buyer picks one of the listed reasons.
    if !refunds.buyer_reasons.is_empty() {
        let reason = reason.ok_or(OrderError::ReasonRequired)?;
        if !refunds.buyer_reasons.contains(&reason) {
            return Err(OrderError::ReasonNotAllowed(reason));
        }
    }
    let closed = || OrderError::WindowClosed {
        ended_at: window_ended_at(order).unwrap_or(ctx.now),
    };
    if !refunds.outside_window.past_window_follows_provider_terms {
        return Err(closed());
    }
    match order.terms.refund_policy {
        DeclaredRefundPolicy::NoRefund => Err(closed()),
        DeclaredRefundPolicy::ProRataUnusedTime => {
            let amount = unused_amount(order, beijing_date(ctx.now), remaining)?;
            Ok((RefundBasis::DeclaredPolicy, amount))
        }
    }
}

/// The amount of an operator's award, judged on `day`.
pub(crate) fn award_amount(
    order: &Order,
    award: RefundAward,
    day: Date,
) -> Result<Fen, OrderError> {
    let remaining = ensure_refundable(order)?;
    match award {
        RefundAward::Full => Ok(remaining),
        RefundAward::Amount { amount } if amount.fen() <= 0 => Err(OrderError::InvalidTerms(
            "a refund amount must be positive".to_string(),
        )),
        RefundAward::Amount { amount } if amount > remaining => {
            Err(OrderError::RefundExceedsPaid {
                requested: amount,
                remaining,
            })
        }
        RefundAward::Amount { amount } => Ok(amount),
        RefundAward::ProRataUnusedDays => unused_amount(order, day, remaining),
    }
}

/// The operator may award on this ground, and a ground that calls for a full refund gets one
/// (ALI-R art.21(3)1–4, TC 5.3, JD art.17(3); TC 5.2's direct reasons leave the amount open).
pub(crate) fn check_ground(
    rulebook: &MarketplaceRulebook,
    ground: RefundReason,
    award: RefundAward,
) -> Result<(), OrderError> {
    let refunds = &rulebook.refunds;
    let dispute = refunds.dispute_grounds.iter().find(|g| g.ground == ground);
    let direct = refunds.operator_direct_reasons.contains(&ground);
    match dispute {
        None if !direct => Err(OrderError::GroundNotAllowed(ground)),
        Some(g) if g.refund == DisputeRefund::Full && award != RefundAward::Full && !direct => {
            Err(OrderError::GroundRequiresFullRefund(ground))
        }
        _ => Ok(()),
    }
}

/// The unused part of the service period on `day`, capped at what remains unrefunded.
fn unused_amount(order: &Order, day: Date, remaining: Fen) -> Result<Fen, OrderError> {
    let period = order.service_period.ok_or(OrderError::NothingUnused)?;
    let amount = unused_share(order.paid_amount(), period, day)?.min(remaining);
    if amount.fen() <= 0 {
        return Err(OrderError::NothingUnused);
    }
    Ok(amount)
}

/// `paid` × unused days ÷ period days, by largest remainder. The day of the request counts as
/// used, as the purchase day counts in the window.
pub fn unused_share(paid: Fen, period: ServicePeriod, day: Date) -> Result<Fen, OrderError> {
    if period.days() <= 0 {
        return Ok(Fen::ZERO);
    }
    let cut = day
        .checked_add(Span::new().days(1))?
        .clamp(period.start, period.end);
    let parts = allocate_by_days(paid, &[(period.start, cut), (cut, period.end)])?;
    Ok(parts.get(1).copied().unwrap_or(Fen::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn unused_share_counts_the_request_day_as_used() {
        let year = ServicePeriod {
            start: date(2026, 7, 1),
            end: date(2027, 7, 1),
        };
        // Requested on 7.6: six days used, 359 of 365 unused.
        let share = unused_share(Fen::new(100_000), year, date(2026, 7, 6)).unwrap();
        assert_eq!(share, Fen::new(98_356));
        // Before the period starts (a renewal): everything; after it ends: nothing.
        assert_eq!(
            unused_share(Fen::new(100_000), year, date(2026, 6, 1)),
            Ok(Fen::new(100_000))
        );
        assert_eq!(
            unused_share(Fen::new(100_000), year, date(2027, 6, 30)),
            Ok(Fen::ZERO)
        );
    }
}
