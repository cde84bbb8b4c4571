//! Why an order command is refused. Every variant has a stable code the API shows in its
//! problem+json body, and a class that picks the HTTP status.

use jiff::Timestamp;

use super::aggregate::OrderStatus;
use crate::catalog::ProductCategory;
use crate::decision::{DomainRefusal, RefusalClass};
use crate::ledger::LedgerError;
use crate::money::{Fen, MoneyError};
use crate::rulebook::{RefundReason, Score};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    #[error("invalid order terms: {0}")]
    InvalidTerms(String),
    #[error("cannot {action} an order that is {status:?}")]
    InvalidTransition {
        action: &'static str,
        status: OrderStatus,
    },
    #[error("the payment of {paid} does not match the order total {expected}")]
    AmountMismatch { expected: Fen, paid: Fen },
    #[error("the order is already paid")]
    AlreadyPaid,
    #[error("another payment of this order is in progress since {since}; retry it, or wait")]
    PaymentInProgress { since: Timestamp },
    #[error("the order has not been paid")]
    NotPaid,
    #[error("{category:?} products cannot be refunded")]
    NotRefundable { category: ProductCategory },
    #[error(
        "the guarantee window ended at {ended_at}; outside it the product's declared terms allow no refund"
    )]
    WindowClosed { ended_at: Timestamp },
    #[error("no unused service time is left to refund")]
    NothingUnused,
    #[error("the refund of {requested} exceeds the {remaining} paid and not yet refunded")]
    RefundExceedsPaid { requested: Fen, remaining: Fen },
    #[error("everything paid has already been refunded")]
    AlreadyRefunded,
    #[error("a refund request is already open on this order")]
    RefundInProgress,
    #[error("no refund request is open on this order")]
    NoOpenRefund,
    #[error("the refund request is not escalated to the operator")]
    NotEscalated,
    #[error("a refund reason from the marketplace's list is required outside the window")]
    ReasonRequired,
    #[error("{0:?} is not a refund reason this marketplace offers")]
    ReasonNotAllowed(RefundReason),
    #[error("{0:?} is not a ground on which the operator may refund")]
    GroundNotAllowed(RefundReason),
    #[error("the ground {0:?} calls for a full refund")]
    GroundRequiresFullRefund(RefundReason),
    #[error("this marketplace's rulebook does not let the operator refund inside the window")]
    OperatorRefundNotAllowed,
    #[error("the guarantee window ends at {due_at}; it has not ended yet")]
    NotYetDue { due_at: Timestamp },
    #[error("only service orders have milestones and final acceptance")]
    NotAServiceOrder,
    #[error("service orders are accepted through final acceptance, not receipt")]
    ServiceNeedsAcceptance,
    #[error("milestone {0} was reported and is not confirmed yet")]
    MilestonePending(usize),
    #[error("no milestone {0} awaits confirmation")]
    UnknownMilestone(usize),
    #[error("only subscriptions are renewed")]
    NotASubscription,
    #[error("a renewal must be of the same product, provider and pricing: {0}")]
    RenewalMismatch(String),
    #[error("the order is already rated")]
    AlreadyRated,
    #[error("score {score} is outside the rating scale {min}–{max}")]
    ScoreOutOfScale {
        score: Score,
        min: Score,
        max: Score,
    },
    #[error("invalid rating: {0}")]
    InvalidRating(String),
    #[error("the rulebook in force has no refund class for {0:?}")]
    RulebookGap(ProductCategory),
    #[error("date out of range: {0}")]
    DateOutOfRange(String),
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl From<crate::allocation::AllocationError> for OrderError {
    fn from(e: crate::allocation::AllocationError) -> Self {
        match e {
            crate::allocation::AllocationError::Money(m) => OrderError::Money(m),
            other => OrderError::DateOutOfRange(other.to_string()),
        }
    }
}

impl From<jiff::Error> for OrderError {
    fn from(e: jiff::Error) -> Self {
        OrderError::DateOutOfRange(e.to_string())
    }
}

impl DomainRefusal for OrderError {
    fn code(&self) -> &'static str {
        match self {
            OrderError::InvalidTerms(_) => "invalid_order_terms",
            OrderError::InvalidTransition { .. } => "invalid_transition",
            OrderError::AmountMismatch { .. } => "amount_mismatch",
            OrderError::AlreadyPaid => "already_paid",
            OrderError::PaymentInProgress { .. } => "payment_in_progress",
            OrderError::NotPaid => "not_paid",
            OrderError::NotRefundable { .. } => "not_refundable",
            OrderError::WindowClosed { .. } => "window_closed",
            OrderError::NothingUnused => "nothing_unused",
            OrderError::RefundExceedsPaid { .. } => "refund_exceeds_paid",
            OrderError::AlreadyRefunded => "already_refunded",
            OrderError::RefundInProgress => "refund_in_progress",
            OrderError::NoOpenRefund => "no_open_refund",
            OrderError::NotEscalated => "refund_not_escalated",
            OrderError::ReasonRequired => "refund_reason_required",
            OrderError::ReasonNotAllowed(_) => "refund_reason_not_allowed",
            OrderError::GroundNotAllowed(_) => "refund_ground_not_allowed",
            OrderError::GroundRequiresFullRefund(_) => "ground_requires_full_refund",
            OrderError::OperatorRefundNotAllowed => "operator_refund_not_allowed",
            OrderError::NotYetDue { .. } => "not_yet_due",
            OrderError::NotAServiceOrder => "not_a_service_order",
            OrderError::ServiceNeedsAcceptance => "service_needs_acceptance",
            OrderError::MilestonePending(_) => "milestone_pending",
            OrderError::UnknownMilestone(_) => "unknown_milestone",
            OrderError::NotASubscription => "not_a_subscription",
            OrderError::RenewalMismatch(_) => "renewal_mismatch",
            OrderError::AlreadyRated => "already_rated",
            OrderError::ScoreOutOfScale { .. } => "score_out_of_scale",
            OrderError::InvalidRating(_) => "invalid_rating",
            OrderError::RulebookGap(_) => "rulebook_incomplete",
            OrderError::DateOutOfRange(_) => "date_out_of_range",
            OrderError::Money(_) => "amount_overflow",
            OrderError::Ledger(_) => "ledger_unbalanced",
        }
    }

    fn class(&self) -> RefusalClass {
        match self {
            OrderError::InvalidTerms(_)
            | OrderError::AmountMismatch { .. }
            | OrderError::RefundExceedsPaid { .. }
            | OrderError::ReasonRequired
            | OrderError::ReasonNotAllowed(_)
            | OrderError::GroundNotAllowed(_)
            | OrderError::GroundRequiresFullRefund(_)
            | OrderError::UnknownMilestone(_)
            | OrderError::RenewalMismatch(_)
            | OrderError::ScoreOutOfScale { .. }
            | OrderError::InvalidRating(_)
            | OrderError::DateOutOfRange(_)
            | OrderError::Money(_)
            | OrderError::Ledger(_) => RefusalClass::Invalid,
            OrderError::OperatorRefundNotAllowed => RefusalClass::Forbidden,
            OrderError::InvalidTransition { .. }
            | OrderError::AlreadyPaid
            | OrderError::PaymentInProgress { .. }
            | OrderError::NotPaid
            | OrderError::NotRefundable { .. }
            | OrderError::WindowClosed { .. }
            | OrderError::NothingUnused
            | OrderError::AlreadyRefunded
            | OrderError::RefundInProgress
            | OrderError::NoOpenRefund
            | OrderError::NotEscalated
            | OrderError::NotYetDue { .. }
            | OrderError::NotAServiceOrder
            | OrderError::ServiceNeedsAcceptance
            | OrderError::MilestonePending(_)
            | OrderError::NotASubscription
            | OrderError::AlreadyRated
            | OrderError::RulebookGap(_) => RefusalClass::Conflict,
        }
    }
}
