//! Refund requests and the money they move (SPEC §7).
//!
//! The buyer requests; the provider accepts or declines; on a decline the buyer escalates and
//! the operator's customer service decides (ALI-R art.21(1), TC 5.1, JD art.17(1)). The
//! operator may also refund on a dispute ground without a request (ALI-R art.21(3), TC 5.2–5.3,
//! JD art.17(3)). One request is open at a time: a second one is `refund_in_progress`, which
//! is what lets the shell make exactly one of many racing requests win.
//!
//! Before release a refund comes out of escrow; after it, it reverses the release lines — the
//! provider's share, and the platform fee pro rata where the rulebook returns it
//! (ALI-R art.21(5), TC 5.6.2, JD art.17(5)).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::aggregate::{Order, OrderStatus};
use super::error::OrderError;
use super::lifecycle::release_if_due;
use super::postings;
use super::refund_policy::{
    RefundAward, RefundBasis, assess_request, award_amount, check_ground, ensure_refundable,
};
use super::window;
use crate::allocation::allocate;
use crate::decision::{Context, Event, Outcome};
use crate::ids::RefundId;
use crate::money::{Fen, MoneyError};
use crate::rulebook::RefundReason;
use crate::time::beijing_date;

/// Longest note on a refund, in characters.
pub const MAX_REFUND_NOTE: usize = 2_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundOrigin {
    /// The buyer asked.
    Buyer,
    /// The operator refunded on a dispute ground without a request.
    Operator,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    /// Waiting for the provider.
    Requested,
    /// The provider disagreed; the buyer may escalate or withdraw.
    ProviderDeclined,
    /// Waiting for the operator's decision.
    Escalated,
    Refunded,
    /// The operator decided no refund.
    Rejected,
    Withdrawn,
}

impl RefundStatus {
    pub fn is_open(self) -> bool {
        matches!(
            self,
            RefundStatus::Requested | RefundStatus::ProviderDeclined | RefundStatus::Escalated
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decider {
    Provider,
    Operator,
}

/// The money a refund moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundPayment {
    pub at: Timestamp,
    pub amount: Fen,
    pub decided_by: Decider,
    /// Out of escrow (before release) rather than back from the release lines.
    pub from_escrow: bool,
    /// After release: from the provider's payable …
    pub provider_part: Fen,
    /// … and from the platform fee.
    pub fee_part: Fen,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub id: RefundId,
    pub origin: RefundOrigin,
    pub reason: Option<RefundReason>,
    pub note: String,
    pub basis: RefundBasis,
    /// What the rule gives at request time: the full remainder inside the window, the unused
    /// part under a pro-rata policy.
    pub proposed: Fen,
    pub requested_at: Timestamp,
    pub status: RefundStatus,
    pub provider_note: Option<String>,
    pub declined_at: Option<Timestamp>,
    pub escalated_at: Option<Timestamp>,
    pub operator_note: Option<String>,
    pub closed_at: Option<Timestamp>,
    pub payment: Option<RefundPayment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestRefund {
    #[serde(default)]
    pub reason: Option<RefundReason>,
    #[serde(default)]
    pub note: String,
}

/// The operator's decision on an escalated request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "decision")]
pub enum ArbitrationDecision {
    Refund {
        award: RefundAward,
        #[serde(default)]
        note: String,
    },
    Reject {
        #[serde(default)]
        note: String,
    },
}

/// The operator refunds on a dispute ground without a buyer request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectRefund {
    pub ground: RefundReason,
    pub award: RefundAward,
    #[serde(default)]
    pub note: String,
}

pub(super) fn check_note(note: &str) -> Result<String, OrderError> {
    let note = note.trim();
    if note.chars().count() > MAX_REFUND_NOTE {
        return Err(OrderError::InvalidTerms(format!(
            "a refund note has at most {MAX_REFUND_NOTE} characters"
        )));
    }
    Ok(note.to_string())
}

fn open_index(order: &Order) -> Result<usize, OrderError> {
    order
        .refunds
        .iter()
        .position(|r| r.status.is_open())
        .ok_or(OrderError::NoOpenRefund)
}

pub(super) fn refund_event(kind: &str, order: &Order, refund: &Refund) -> Event {
    Event {
        kind: kind.to_string(),
        subject: order.subject(),
        payload: json!({
            "order_id": order.id,
            "refund_id": refund.id,
            "status": refund.status,
            "basis": refund.basis,
            "reason": refund.reason,
            "proposed": refund.proposed,
            "payment": refund.payment,
        }),
    }
}

/// The buyer asks for a refund. Inside the window the proposal is the full remainder;
/// outside, the declared terms decide, and "no refund" is refused as `window_closed`.
pub fn request_refund(
    order: &Order,
    cmd: RequestRefund,
    ctx: &mut Context<'_>,
) -> Result<(Order, Outcome), OrderError> {
    if order.open_refund().is_some() {
        return Err(OrderError::RefundInProgress);
    }
    let note = check_note(&cmd.note)?;
    let (basis, proposed) = assess_request(order, cmd.reason, ctx)?;
    let mut next = order.clone();
    next.refunds.push(Refund {
        id: RefundId::from_uuid(ctx.ids.next_id()),
        origin: RefundOrigin::Buyer,
        reason: cmd.reason,
        note,
        basis,
        proposed,
        requested_at: ctx.now,
        status: RefundStatus::Requested,
        provider_note: None,
        declined_at: None,
        escalated_at: None,
        operator_note: None,
        closed_at: None,
        payment: None,
    });
    let mut outcome = Outcome::default();
    if let Some(refund) = next.refunds.last() {
        outcome
            .events
            .push(refund_event("order.refund_requested", &next, refund));
    }
    Ok((next, outcome))
}

/// The provider agrees: the proposed amount is refunded.
pub fn accept_refund(order: &Order, ctx: &mut Context<'_>) -> Result<(Order, Outcome), OrderError> {
    let index = open_index(order)?;
    let refund = &order.refunds[index];
    if refund.status != RefundStatus::Requested {
        return Err(OrderError::InvalidTransition {
            action: "accept a refund on",
            status: order.status,
        });
    }
    let amount = refund.proposed;
    let mut next = order.clone();
    let mut outcome = Outcome::default();
    pay_refund(
        &mut next,
        index,
        amount,
        Decider::Provider,
        ctx,
        &mut outcome,
    )?;
    Ok((next, outcome))
}

/// The provider disagrees; the buyer may now escalate.
pub fn decline_refund(
    order: &Order,
    note: &str,
    ctx: &mut Context<'_>,
) -> Result<(Order, Outcome), OrderError> {
    let index = open_index(order)?;
    if order.refunds[index].status != RefundStatus::Requested {
        return Err(OrderError::InvalidTransition {
            action: "decline a refund on",
            status: order.status,
        });
    }
    let note = check_note(note)?;
    let mut next = order.clone();
    let refund = &mut next.refunds[index];
    refund.status = RefundStatus::ProviderDeclined;
    refund.provider_note = Some(note);
    refund.declined_at = Some(ctx.now);
    let event = refund_event("order.refund_declined", &next, &next.refunds[index]);
    let mut outcome = Outcome::default();
    outcome.events.push(event);
    Ok((next, outcome))
}

/// The buyer takes the request to the operator — after a decline, or while the provider
/// has not answered.
pub fn escalate_refund(
    order: &Order,
    ctx: &mut Context<'_>,
) -> Result<(Order, Outcome), OrderError> {
    let index = open_index(order)?;
    if order.refunds[index].status == RefundStatus::Escalated {
        return Err(OrderError::InvalidTransition {
            action: "escalate a refund on",
            status: order.status,
        });
    }
    let mut next = order.clone();
    let refund = &mut next.refunds[index];
    refund.status = RefundStatus::Escalated;
    refund.escalated_at = Some(ctx.now);
    let event = refund_event("order.refund_escalated", &next, &next.refunds[index]);
    let mut outcome = Outcome::default();
    outcome.events.push(event);
    Ok((next, outcome))
}

/// The buyer withdraws the open request.
pub fn withdraw_refund(
    order: &Order,
    ctx: &mut Context<'_>,
) -> Result<(Order, Outcome), OrderError> {
    let index = open_index(order)?;
    let mut next = order.clone();
    let refund = &mut next.refunds[index];
    refund.status = RefundStatus::Withdrawn;
    refund.closed_at = Some(ctx.now);
    let event = refund_event("order.refund_withdrawn", &next, &next.refunds[index]);
    let mut outcome = Outcome::default();
    outcome.events.push(event);
    release_if_due(&mut next, ctx, &mut outcome)?;
    Ok((next, outcome))
}

/// The operator decides an escalated request: a refund (full, an amount, or the unused days
/// as of the request day) or a rejection.
pub fn decide_refund(
    order: &Order,
    decision: ArbitrationDecision,
    ctx: &mut Context<'_>,
) -> Result<(Order, Outcome), OrderError> {
    let index = open_index(order)?;
    let refund = &order.refunds[index];
    if refund.status != RefundStatus::Escalated {
        return Err(OrderError::NotEscalated);
    }
    let mut next = order.clone();
    let mut outcome = Outcome::default();
    match decision {
        ArbitrationDecision::Refund { award, note } => {
            if refund.basis == RefundBasis::InsideWindow
                && award == RefundAward::Full
                && !ctx.rulebook.refunds.operator_may_refund_in_window
            {
                return Err(OrderError::OperatorRefundNotAllowed);
            }
            let amount = award_amount(order, award, beijing_date(refund.requested_at))?;
            next.refunds[index].operator_note = Some(check_note(&note)?);
            pay_refund(
                &mut next,
                index,
                amount,
                Decider::Operator,
                ctx,
                &mut outcome,
            )?;
        }
        ArbitrationDecision::Reject { note } => {
            let refund = &mut next.refunds[index];
            refund.status = RefundStatus::Rejected;
            refund.operator_note = Some(check_note(&note)?);
            refund.closed_at = Some(ctx.now);
            let event = refund_event("order.refund_rejected", &next, &next.refunds[index]);
            outcome.events.push(event);
            release_if_due(&mut next, ctx, &mut outcome)?;
        }
    }
    Ok((next, outcome))
}

/// The operator refunds on a dispute ground the rulebook names, without a buyer request.
pub fn refund_directly(
    order: &Order,
    cmd: DirectRefund,
    ctx: &mut Context<'_>,
) -> Result<(Order, Outcome), OrderError> {
    if order.open_refund().is_some() {
        return Err(OrderError::RefundInProgress);
    }
    ensure_refundable(order)?;
    check_ground(ctx.rulebook, cmd.ground, cmd.award)?;
    let note = check_note(&cmd.note)?;
    let amount = award_amount(order, cmd.award, beijing_date(ctx.now))?;
    let mut next = order.clone();
    next.refunds.push(Refund {
        id: RefundId::from_uuid(ctx.ids.next_id()),
        origin: RefundOrigin::Operator,
        reason: Some(cmd.ground),
        note: String::new(),
        basis: RefundBasis::Arbitration,
        proposed: amount,
        requested_at: ctx.now,
        status: RefundStatus::Escalated,
        provider_note: None,
        declined_at: None,
        escalated_at: Some(ctx.now),
        operator_note: Some(note),
        closed_at: None,
        payment: None,
    });
    let index = next.refunds.len() - 1;
    let mut outcome = Outcome::default();
    pay_refund(
        &mut next,
        index,
        amount,
        Decider::Operator,
        ctx,
        &mut outcome,
    )?;
    Ok((next, outcome))
}

/// Moves the money of refund `index` and closes it; releases escrow afterwards if the window
/// is over (a release the refund had deferred).
pub(super) fn pay_refund(
    order: &mut Order,
    index: usize,
    amount: Fen,
    decided_by: Decider,
    ctx: &mut Context<'_>,
    outcome: &mut Outcome,
) -> Result<(), OrderError> {
    let remaining = order.refundable_remaining()?;
    if amount.fen() <= 0 || amount > remaining {
        return Err(OrderError::RefundExceedsPaid {
            requested: amount,
            remaining,
        });
    }
    let payment = match order.status {
        OrderStatus::Held => {
            outcome
                .transactions
                .push(postings::refund_from_escrow(ctx, order.id, amount)?);
            order.escrow = order.escrow.checked_sub(amount)?;
            order.refunded_from_escrow = order.refunded_from_escrow.checked_add(amount)?;
            RefundPayment {
                at: ctx.now,
                amount,
                decided_by,
                from_escrow: true,
                provider_part: Fen::ZERO,
                fee_part: Fen::ZERO,
            }
        }
        OrderStatus::Released => {
            let (provider_part, fee_part) =
                shares_after_release(order, amount, ctx.rulebook.refunds.fee_returned_pro_rata)?;
            outcome.transactions.push(postings::refund_after_release(
                ctx,
                order.id,
                order.terms.provider,
                provider_part,
                fee_part,
            )?);
            let shares = &mut order.refunded_after_release;
            shares.provider = shares.provider.checked_add(provider_part)?;
            shares.fee = shares.fee.checked_add(fee_part)?;
            RefundPayment {
                at: ctx.now,
                amount,
                decided_by,
                from_escrow: false,
                provider_part,
                fee_part,
            }
        }
        status => {
            return Err(OrderError::InvalidTransition {
                action: "refund",
                status,
            });
        }
    };
    let refund = &mut order.refunds[index];
    refund.status = RefundStatus::Refunded;
    refund.closed_at = Some(ctx.now);
    refund.payment = Some(payment);
    if order.refundable_remaining()?.is_zero() {
        order.status = OrderStatus::Refunded;
        if order.window.is_some() && order.release.is_none() {
            outcome.cancel.push(window::dedupe_key(order));
        }
    }
    outcome
        .events
        .push(refund_event("order.refunded", order, &order.refunds[index]));
    release_if_due(order, ctx, outcome)
}

/// Splits a refund after release between the provider's share and the platform fee.
///
/// The split is taken on the *cumulative* refunded amount by largest remainder and this
/// refund gets the difference, so partial refunds never drift: once everything is refunded
/// the fee returned is exactly the fee charged.
fn shares_after_release(
    order: &Order,
    amount: Fen,
    fee_returned: bool,
) -> Result<(Fen, Fen), OrderError> {
    let release = order.release.ok_or(OrderError::NotPaid)?;
    let already = order.refunded_after_release;
    let fee_left = release.fee.checked_sub(already.fee)?;
    if !fee_returned || fee_left.fen() <= 0 {
        return Ok((amount, Fen::ZERO));
    }
    let cumulative = already.total()?.checked_add(amount)?;
    let weight = |f: Fen| u64::try_from(f.fen()).map_err(|_| MoneyError::Overflow);
    let shares = allocate(
        cumulative,
        &[weight(release.provider_share)?, weight(release.fee)?],
    )?;
    let fee_cumulative = shares.get(1).copied().unwrap_or(Fen::ZERO);
    let fee_part = fee_cumulative
        .checked_sub(already.fee)?
        .clamp(Fen::ZERO, amount.min(fee_left));
    Ok((amount.checked_sub(fee_part)?, fee_part))
}
