//! Why a deposit command was refused. Codes are stable: the API and clients match on them.

use jiff::Timestamp;

use crate::decision::{DomainRefusal, RefusalClass};
use crate::money::Fen;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DepositError {
    #[error("the amount must be positive")]
    InvalidAmount,
    #[error("{0} is required")]
    Required(&'static str),
    #[error("the top-up of {amount} is more than the {shortfall} missing")]
    TopUpExceedsShortfall { amount: Fen, shortfall: Fen },
    #[error("the deposit is refunded only after the cooperation ended")]
    CooperationNotEnded,
    #[error("obligations remain: {0}")]
    ObligationsRemain(String),
    #[error("the rulebook requires the deposit receipt to be returned first")]
    ReceiptRequired,
    #[error("the rulebook refunds the deposit only without a breach in the term")]
    BreachDuringTerm,
    #[error("the refund was already requested at {0}")]
    RefundAlreadyRequested(Timestamp),
    #[error("no refund was requested, or it was paid")]
    NoRefundDue,
    #[error("nothing is held to refund")]
    NothingHeld,
    #[error("date out of range")]
    DateOutOfRange,
    #[error("amount out of range")]
    AmountOutOfRange,
    #[error("a compensation cites a paid order of this provider by its id; {0:?} is none")]
    CompensationWithoutOrder(String),
    #[error("the compensation of {amount} is more than the {paid} the cited order's buyer paid")]
    CompensationAboveObligation { amount: Fen, paid: Fen },
}

impl DomainRefusal for DepositError {
    fn code(&self) -> &'static str {
        match self {
            DepositError::InvalidAmount => "invalid_amount",
            DepositError::Required(_) => "field_required",
            DepositError::TopUpExceedsShortfall { .. } => "top_up_exceeds_shortfall",
            DepositError::CooperationNotEnded => "cooperation_not_ended",
            DepositError::ObligationsRemain(_) => "obligations_remain",
            DepositError::ReceiptRequired => "receipt_required",
            DepositError::BreachDuringTerm => "breach_during_term",
            DepositError::RefundAlreadyRequested(_) => "refund_already_requested",
            DepositError::NoRefundDue => "no_refund_due",
            DepositError::NothingHeld => "nothing_held",
            DepositError::DateOutOfRange => "date_out_of_range",
            DepositError::AmountOutOfRange => "amount_out_of_range",
            DepositError::CompensationWithoutOrder(_) => "compensation_without_order",
            DepositError::CompensationAboveObligation { .. } => "compensation_above_obligation",
        }
    }

    fn class(&self) -> RefusalClass {
        match self {
            DepositError::InvalidAmount
            | DepositError::Required(_)
            | DepositError::TopUpExceedsShortfall { .. }
            | DepositError::ReceiptRequired
            | DepositError::DateOutOfRange
            | DepositError::AmountOutOfRange
            | DepositError::CompensationWithoutOrder(_)
            | DepositError::CompensationAboveObligation { .. } => RefusalClass::Invalid,
            DepositError::CooperationNotEnded
            | DepositError::ObligationsRemain(_)
            | DepositError::BreachDuringTerm
            | DepositError::RefundAlreadyRequested(_)
            | DepositError::NoRefundDue
            | DepositError::NothingHeld => RefusalClass::Conflict,
        }
    }
}
