//! Placing, paying, releasing and renewing orders (SPEC §6).
//!
//! Escrow (担保交易): the buyer pays the operator; the money is held until the guarantee
//! window ends or the buyer accepts, then becomes the provider's less the platform fee
//! (ALI-R art.15(1), JD art.11(1)).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::aggregate::{Order, OrderStatus, Payment, Release, ReleaseTrigger};
use super::error::OrderError;
use super::fee::platform_fee;
use super::intent::{IntentStatus, close_intent};
use super::postings;
use super::terms::{PaymentTerms, PriceSnapshot, ServicePeriod};
use super::window::{self, RefundClass, WindowDates, window_over};
use crate::decision::{Context, Outcome};
use crate::ids::{MemberId, OrderId};
use crate::money::Fen;
use crate::rulebook::RefundWindow;
use crate::time::beijing_date;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaceOrder {
    pub buyer: MemberId,
    pub terms: PriceSnapshot,
    #[serde(default)]
    pub payment_terms: PaymentTerms,
}

/// A payment the gateway confirmed; the shell talks to the gateway, the core only checks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfirmedPayment {
    pub amount: Fen,
    pub gateway: String,
    pub gateway_reference: String,
}

/// Places an order on a frozen price snapshot. Free orders are complete at once; pay-later
/// orders are in use at once, with nothing in the ledger until paid.
pub fn place(cmd: PlaceOrder, ctx: &mut Context<'_>) -> Result<(Order, Outcome), OrderError> {
    let total = cmd.terms.total()?;
    let refund_class = RefundClass::of(ctx.rulebook, cmd.terms.category)?;
    let id = OrderId::from_uuid(ctx.ids.next_id());
    let mut order = Order {
        id,
        buyer: cmd.buyer,
        total,
        payment_terms: cmd.payment_terms,
        renews: None,
        continues_from: None,
        refund_class,
        status: OrderStatus::AwaitingPayment,
        placed_at: ctx.now,
        payment: None,
        purchased_on: None,
        window: None,
        service_period: None,
        escrow: Fen::ZERO,
        release: None,
        refunded_from_escrow: Fen::ZERO,
        refunded_after_release: Default::default(),
        refunds: Vec::new(),
        milestones: Vec::new(),
        accepted_at: None,
        warranty: None,
        rating: None,
        delivery: None,
        payment_intent: None,
        terms: cmd.terms,
    };
    if order.terms.is_free() {
        // No money, so no escrow and no window.
        order.status = OrderStatus::Free;
        order.purchased_on = Some(beijing_date(ctx.now));
    } else if order.payment_terms == PaymentTerms::PayLater {
        // Consumed from now: the window and the service period count from today.
        order.status = OrderStatus::InUseUnpaid;
        start_purchase(&mut order, ctx.now)?;
    }
    let outcome = Outcome::default().event(
        "order.placed",
        order.subject(),
        json!({
            "order_id": order.id,
            "buyer": order.buyer,
            "product": order.terms.product,
            "provider": order.terms.provider,
            "total": order.total,
            "payment_terms": order.payment_terms,
            "renews": order.renews,
        }),
    );
    Ok((order, outcome))
}

/// Fixes the purchase day, the window dates and the service period.
fn start_purchase(order: &mut Order, now: Timestamp) -> Result<(), OrderError> {
    let today = beijing_date(now);
    order.purchased_on = Some(today);
    order.window = WindowDates::of(order.refund_class.window, today)?;
    // A renewal continues the renewed period without a gap or overlap.
    let start = order.continues_from.map_or(today, |from| from.max(today));
    order.service_period = ServicePeriod::of(&order.terms, start)?;
    Ok(())
}

/// Whether `order` may be paid now: unpaid, and neither free nor cancelled.
pub(crate) fn payable(order: &Order) -> Result<(), OrderError> {
    match order.status {
        OrderStatus::AwaitingPayment | OrderStatus::InUseUnpaid => Ok(()),
        OrderStatus::Held | OrderStatus::Released | OrderStatus::Refunded => {
            Err(OrderError::AlreadyPaid)
        }
        status @ (OrderStatus::Free | OrderStatus::Cancelled) => {
            Err(OrderError::InvalidTransition {
                action: "pay",
                status,
            })
        }
    }
}

/// Records a confirmed payment: the money goes into escrow; the window's end is scheduled,
/// or — for categories without a window, and pay-later orders paid after theirs ended — the
/// escrow is released at once.
pub fn pay(
    order: &Order,
    payment: ConfirmedPayment,
    ctx: &mut Context<'_>,
) -> Result<(Order, Outcome), OrderError> {
    payable(order)?;
    if payment.amount != order.total {
        return Err(OrderError::AmountMismatch {
            expected: order.total,
            paid: payment.amount,
        });
    }
    let mut outcome = Outcome::default();
    // The payment commits its intent, so the intent's reconciliation has nothing to void.
    let open = order
        .payment_intent
        .as_ref()
        .filter(|i| i.status == IntentStatus::Open);
    let mut next = match open.and_then(|i| close_intent(order, i.id, IntentStatus::Succeeded)) {
        Some((closed, closing)) => {
            outcome.cancel = closing.cancel;
            closed
        }
        None => order.clone(),
    };
    if next.purchased_on.is_none() {
        start_purchase(&mut next, ctx.now)?;
    }
    next.payment = Some(Payment {
        at: ctx.now,
        amount: payment.amount,
        gateway: payment.gateway,
        gateway_reference: payment.gateway_reference,
    });
    next.escrow = payment.amount;
    next.status = OrderStatus::Held;
    outcome
        .transactions
        .push(postings::paid(ctx, next.id, payment.amount)?);
    outcome = outcome.event(
        "order.paid",
        next.subject(),
        json!({
            "order_id": next.id,
            "amount": payment.amount,
            "purchased_on": next.purchased_on,
            "window_last_day": next.window.map(|w| w.last_day),
            "service_period": next.service_period,
        }),
    );
    if next.refund_class.window == RefundWindow::NoWindow {
        release(&mut next, ReleaseTrigger::NoWindow, ctx, &mut outcome)?;
    } else if window_over(&next, ctx.now) {
        let trigger = if next.accepted_at.is_some() {
            ReleaseTrigger::BuyerAccepted
        } else {
            ReleaseTrigger::WindowEnded
        };
        release(&mut next, trigger, ctx, &mut outcome)?;
    } else if let Some(w) = next.window {
        outcome.schedule.push(window::deadline(&next, w));
    }
    Ok((next, outcome))
}

/// Cancels an order that was never paid.
pub fn cancel(order: &Order, ctx: &mut Context<'_>) -> Result<(Order, Outcome), OrderError> {
    if order.status != OrderStatus::AwaitingPayment {
        return Err(OrderError::InvalidTransition {
            action: "cancel",
            status: order.status,
        });
    }
    let mut next = order.clone();
    next.status = OrderStatus::Cancelled;
    let outcome = Outcome::default().event(
        "order.cancelled",
        next.subject(),
        json!({ "order_id": next.id, "at": ctx.now }),
    );
    Ok((next, outcome))
}

/// The buyer confirms receipt before a day-counted window ends: the escrow is released at
/// once (ALI-R art.15(1)). Service orders use final acceptance instead.
pub fn confirm_receipt(
    order: &Order,
    ctx: &mut Context<'_>,
) -> Result<(Order, Outcome), OrderError> {
    if order.is_supervised() {
        return Err(OrderError::ServiceNeedsAcceptance);
    }
    if order.status != OrderStatus::Held {
        return Err(OrderError::InvalidTransition {
            action: "confirm receipt of",
            status: order.status,
        });
    }
    if order.open_refund().is_some() {
        return Err(OrderError::RefundInProgress);
    }
    let mut next = order.clone();
    let mut outcome = Outcome::default();
    let trigger = if window_over(&next, ctx.now) {
        ReleaseTrigger::WindowEnded
    } else {
        next.accepted_at = Some(ctx.now);
        ReleaseTrigger::BuyerAccepted
    };
    release(&mut next, trigger, ctx, &mut outcome)?;
    Ok((next, outcome))
}

/// The window-end deadline fired. Releases the escrow, unless a refund requested inside the
/// window is still open: then the release waits for that refund to close. Firing on an order
/// with nothing held is a no-op, so a late or repeated firing is harmless.
pub fn guarantee_window_ended(
    order: &Order,
    ctx: &mut Context<'_>,
) -> Result<(Order, Outcome), OrderError> {
    if order.status != OrderStatus::Held {
        return Ok((order.clone(), Outcome::default()));
    }
    if let Some(w) = order.window
        && ctx.now < w.ends_at
        && order.accepted_at.is_none()
    {
        return Err(OrderError::NotYetDue { due_at: w.ends_at });
    }
    if !window_over(order, ctx.now) {
        return Ok((order.clone(), Outcome::default()));
    }
    if order.open_refund().is_some() {
        let outcome = Outcome::default().event(
            "order.release_deferred",
            order.subject(),
            json!({ "order_id": order.id, "reason": "refund_in_progress" }),
        );
        return Ok((order.clone(), outcome));
    }
    let mut next = order.clone();
    let mut outcome = Outcome::default();
    release(&mut next, ReleaseTrigger::WindowEnded, ctx, &mut outcome)?;
    Ok((next, outcome))
}

/// Releases what escrow holds, if the window is over and no refund is open: used after a
/// refund closes, so a release deferred by that refund happens in the same decision.
pub(crate) fn release_if_due(
    order: &mut Order,
    ctx: &mut Context<'_>,
    outcome: &mut Outcome,
) -> Result<(), OrderError> {
    if order.status == OrderStatus::Held
        && order.open_refund().is_none()
        && window_over(order, ctx.now)
    {
        let trigger = if order.accepted_at.is_some() {
            ReleaseTrigger::BuyerAccepted
        } else {
            ReleaseTrigger::WindowEnded
        };
        release(order, trigger, ctx, outcome)?;
    }
    Ok(())
}

/// Dr BuyerEscrow / Cr ProviderPayable + Cr PlatformFeeRevenue, the fee computed from the
/// fee terms in force at the release (the standing terms or a discount window) with the
/// rulebook's rounding, and kept on the order.
pub(crate) fn release(
    order: &mut Order,
    trigger: ReleaseTrigger,
    ctx: &mut Context<'_>,
    outcome: &mut Outcome,
) -> Result<(), OrderError> {
    let amount = order.escrow;
    let fee = platform_fee(
        &order.terms.fee_terms_at(ctx.now),
        amount,
        order.total,
        order.terms.quantity,
        ctx.rulebook.settlement.rounding,
    )?;
    let provider_share = amount.checked_sub(fee)?;
    if !amount.is_zero() {
        outcome.transactions.push(postings::released(
            ctx,
            order.id,
            order.terms.provider,
            provider_share,
            fee,
        )?);
    }
    order.escrow = Fen::ZERO;
    order.release = Some(Release {
        at: ctx.now,
        trigger,
        amount,
        provider_share,
        fee,
    });
    order.status = OrderStatus::Released;
    if order.window.is_some() {
        outcome.cancel.push(window::dedupe_key(order));
    }
    outcome.events.push(crate::decision::Event {
        kind: "order.escrow_released".to_string(),
        subject: order.subject(),
        payload: json!({
            "order_id": order.id,
            "provider": order.terms.provider,
            "trigger": trigger,
            "amount": amount,
            "provider_share": provider_share,
            "fee": fee,
        }),
    });
    Ok(())
}

/// Renews a subscription: a new order for the next period, bought on the listing's current
/// terms and paid like any order. Each paid period is its own order so that its escrow,
/// window, fee and refunds stand alone; `renews` links the chain and the period continues
/// the renewed one without a gap (SPEC §6: renewals go through the marketplace only).
pub fn renew(
    previous: &Order,
    terms: PriceSnapshot,
    ctx: &mut Context<'_>,
) -> Result<(Order, Outcome), OrderError> {
    if !previous.terms.is_subscription() {
        return Err(OrderError::NotASubscription);
    }
    if previous.payment.is_none() || previous.status == OrderStatus::Refunded {
        return Err(OrderError::InvalidTransition {
            action: "renew",
            status: previous.status,
        });
    }
    let mismatch = if terms.product != previous.terms.product {
        Some("product")
    } else if terms.provider != previous.terms.provider {
        Some("provider")
    } else if terms.pricing != previous.terms.pricing {
        Some("pricing")
    } else {
        None
    };
    if let Some(field) = mismatch {
        return Err(OrderError::RenewalMismatch(format!("{field} differs")));
    }
    let (mut order, _) = place(
        PlaceOrder {
            buyer: previous.buyer,
            terms,
            payment_terms: previous.payment_terms,
        },
        ctx,
    )?;
    order.renews = Some(previous.id);
    order.continues_from = previous.service_period.map(|p| p.end);
    if order.purchased_on.is_some() {
        // Pay-later: the period was fixed at placement; fix it again from the renewed end.
        start_purchase(&mut order, ctx.now)?;
    }
    let outcome = Outcome::default().event(
        "order.placed",
        order.subject(),
        json!({
            "order_id": order.id,
            "buyer": order.buyer,
            "product": order.terms.product,
            "provider": order.terms.provider,
            "total": order.total,
            "payment_terms": order.payment_terms,
            "renews": order.renews,
            "continues_from": order.continues_from,
        }),
    );
    Ok((order, outcome))
}
