//! The order aggregate: its state and the money it holds. Commands live in `lifecycle`,
//! `service`, `refund` and `rating`.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::delivery::SaasDelivery;
use super::error::OrderError;
use super::intent::PaymentIntent;
use super::rating::Rating;
use super::refund::Refund;
use super::service::{Milestone, Warranty};
use super::terms::{PaymentTerms, PriceSnapshot, ServicePeriod};
use super::window::{RefundClass, WindowDates};
use crate::ids::{MemberId, OrderId};
use crate::money::Fen;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Placed, waiting for the gateway to confirm the payment.
    AwaitingPayment,
    /// Pay-later: in use, not paid yet. Nothing is in the ledger (ALI-A 4.3.3).
    InUseUnpaid,
    /// Free: no payment, no escrow.
    Free,
    /// Paid; the money is held in escrow while the guarantee window runs.
    Held,
    /// Escrow released: the money is the provider's and the platform's, settleable.
    Released,
    /// Everything paid went back to the buyer.
    Refunded,
    /// Cancelled before payment.
    Cancelled,
}

/// A payment the gateway confirmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub at: Timestamp,
    pub amount: Fen,
    /// The gateway's name and its reference for the payment.
    pub gateway: String,
    pub gateway_reference: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseTrigger {
    /// The day-counted window ended.
    WindowEnded,
    /// The buyer confirmed receipt, or accepted the service.
    BuyerAccepted,
    /// The category has no window (API, tool): settleable once paid.
    NoWindow,
    /// The provider left with a service partly delivered: after the refund customer service
    /// set, the rest is the provider's (ALI-R art.30(1), by delivery degree).
    ProviderExit,
}

/// The release of escrow, with the fee as charged, so refunds reverse exactly these lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub at: Timestamp,
    pub trigger: ReleaseTrigger,
    /// Escrow released: provider share + fee.
    pub amount: Fen,
    pub provider_share: Fen,
    pub fee: Fen,
}

/// Money refunded after release, by the release line it came back from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RefundedShares {
    pub provider: Fen,
    pub fee: Fen,
}

impl RefundedShares {
    pub fn total(&self) -> Result<Fen, OrderError> {
        Ok(self.provider.checked_add(self.fee)?)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: OrderId,
    pub buyer: MemberId,
    pub terms: PriceSnapshot,
    /// Unit price × quantity: what the buyer owes.
    pub total: Fen,
    pub payment_terms: PaymentTerms,
    /// The order whose subscription this one continues.
    pub renews: Option<OrderId>,
    /// For a renewal: the day the renewed period ends, where this one's period starts.
    pub continues_from: Option<Date>,
    pub refund_class: RefundClass,
    pub status: OrderStatus,
    pub placed_at: Timestamp,
    pub payment: Option<Payment>,
    /// The Beijing date the window and the service period count from: the day of payment,
    /// or of placement for pay-later orders (consumed from then on).
    pub purchased_on: Option<Date>,
    pub window: Option<WindowDates>,
    pub service_period: Option<ServicePeriod>,
    /// Held in escrow now: paid − released − refunded from escrow.
    pub escrow: Fen,
    pub release: Option<Release>,
    pub refunded_from_escrow: Fen,
    pub refunded_after_release: RefundedShares,
    pub refunds: Vec<Refund>,
    pub milestones: Vec<Milestone>,
    /// Receipt confirmed or service accepted by the buyer.
    pub accepted_at: Option<Timestamp>,
    pub warranty: Option<Warranty>,
    pub rating: Option<Rating>,
    /// SaaS only: where the webhook delivery of the instance stands ("delivery failed" once
    /// the `create` is dead-lettered). Absent for other categories and before payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<SaasDelivery>,
    /// The latest payment attempt, recorded before the gateway was asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_intent: Option<PaymentIntent>,
}

impl Order {
    /// `order:<id>`: the subject of its events and deadlines.
    pub fn subject(&self) -> String {
        format!("order:{}", self.id)
    }

    pub fn paid_amount(&self) -> Fen {
        self.payment.as_ref().map_or(Fen::ZERO, |p| p.amount)
    }

    pub fn refunded_total(&self) -> Result<Fen, OrderError> {
        Ok(self
            .refunded_from_escrow
            .checked_add(self.refunded_after_release.total()?)?)
    }

    /// Paid and not yet refunded: the most any further refund can be.
    pub fn refundable_remaining(&self) -> Result<Fen, OrderError> {
        Ok(self.paid_amount().checked_sub(self.refunded_total()?)?)
    }

    pub fn open_refund(&self) -> Option<&Refund> {
        self.refunds.iter().find(|r| r.status.is_open())
    }

    /// Counts toward settlement: paid and released (SPEC §11; pay-later only once paid,
    /// ALI-A 4.3.3).
    pub fn is_settleable(&self) -> bool {
        self.release.is_some()
    }

    /// A service order: its window lasts until the buyer accepts (ALI-R art.15(2)).
    pub fn is_supervised(&self) -> bool {
        self.refund_class.window == crate::rulebook::RefundWindow::UntilAcceptance
    }
}
