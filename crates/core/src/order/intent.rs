//! The payment intent (支付意图): recorded on the order, in its own commit, before the payment
//! gateway is asked to charge. It makes a charge belong to one attempt: a second payment
//! racing with another key finds the intent open and is refused without charging; the
//! gateway de-duplicates on a key derived from order and intent, never on the client's key;
//! and an intent left open (the process died between the charge and its commit, or the
//! gateway never answered) is voided at the gateway by a stored deadline.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::aggregate::Order;
use super::error::OrderError;
use super::lifecycle::payable;
use crate::decision::{Context, DeadlineRequest, Outcome};
use crate::money::Fen;

/// The deadline kind that voids an intent still open after [`RECONCILE_AFTER`].
pub const PAYMENT_INTENT_RECONCILE: &str = "payment_intent_reconcile";

/// How long an intent may stay open before its charge is voided **[design assumption]**:
/// far longer than a gateway takes to answer, short enough that a buyer charged by a
/// crashed attempt gets the money back within the hour.
pub const RECONCILE_AFTER: SignedDuration = SignedDuration::from_mins(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntentStatus {
    /// The gateway may have charged; the payment is not committed yet.
    Open,
    Succeeded,
    Declined,
    /// Left open too long: voided at the gateway.
    Voided,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentIntent {
    pub id: Uuid,
    pub at: Timestamp,
    pub amount: Fen,
    /// Which request owns it: a digest of the buyer and the client's `Idempotency-Key`, so a
    /// retry of that request resumes the intent and any other request is refused.
    pub attempt: String,
    pub status: IntentStatus,
}

impl PaymentIntent {
    /// The key the gateway de-duplicates on: the same for every retry of this intent, and
    /// never shared with another order or intent.
    pub fn gateway_key(&self, order: &Order) -> String {
        format!("yunshi:{}:{}", order.id, self.id)
    }
}

/// What to do about a payment request.
#[derive(Debug)]
pub enum PaymentStart {
    /// A new intent to commit before the gateway is called.
    Begin(Box<Order>, Outcome),
    /// The request's own open intent: charge again under the same gateway key.
    Resume(PaymentIntent),
}

fn reconcile_key(order: &Order, intent: Uuid) -> String {
    format!("{}:payment_intent:{intent}", order.subject())
}

/// A buyer's request (`attempt`) to pay `order`: begin an intent, resume its own, or be
/// refused while another request's intent is open.
pub fn begin_payment(
    order: &Order,
    attempt: &str,
    ctx: &mut Context<'_>,
) -> Result<PaymentStart, OrderError> {
    payable(order)?;
    if let Some(open) = order
        .payment_intent
        .as_ref()
        .filter(|i| i.status == IntentStatus::Open)
    {
        return if open.attempt == attempt {
            Ok(PaymentStart::Resume(open.clone()))
        } else {
            Err(OrderError::PaymentInProgress { since: open.at })
        };
    }
    let intent = PaymentIntent {
        id: ctx.ids.next_id(),
        at: ctx.now,
        amount: order.total,
        attempt: attempt.to_string(),
        status: IntentStatus::Open,
    };
    let due_at = ctx
        .now
        .checked_add(RECONCILE_AFTER)
        .map_err(|e| OrderError::DateOutOfRange(e.to_string()))?;
    let mut next = order.clone();
    let mut outcome = Outcome::default().event(
        "order.payment_intent_opened",
        order.subject(),
        json!({ "order_id": order.id, "intent": intent.id, "amount": intent.amount }),
    );
    outcome.schedule.push(DeadlineRequest {
        kind: PAYMENT_INTENT_RECONCILE.to_string(),
        subject: order.subject(),
        due_at,
        payload: json!({ "order_id": order.id, "intent": intent.id }),
        dedupe_key: reconcile_key(order, intent.id),
    });
    next.payment_intent = Some(intent);
    Ok(PaymentStart::Begin(Box::new(next), outcome))
}

/// Closes the open intent `intent` as `status` (the payment committed, the gateway declined,
/// or the charge was voided), cancelling its reconciliation. `None` if it is not open.
pub fn close_intent(order: &Order, intent: Uuid, status: IntentStatus) -> Option<(Order, Outcome)> {
    let open = order
        .payment_intent
        .as_ref()
        .filter(|i| i.id == intent && i.status == IntentStatus::Open)?;
    let mut next = order.clone();
    next.payment_intent = Some(PaymentIntent {
        status,
        ..open.clone()
    });
    let mut outcome = Outcome::default();
    if status == IntentStatus::Voided {
        outcome = outcome.event(
            "order.payment_intent_voided",
            order.subject(),
            json!({ "order_id": order.id, "intent": intent }),
        );
    }
    outcome.cancel.push(reconcile_key(order, intent));
    Some((next, outcome))
}
