//! Why a settlement decision was refused.

use crate::decision::{DomainRefusal, RefusalClass};
use crate::ledger::LedgerError;
use crate::money::{Fen, MoneyError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettlementError {
    #[error("a date falls outside the supported calendar")]
    DateOutOfRange,
    #[error("an amount is out of range")]
    AmountOutOfRange,
    #[error("the period ending {cutoff} has not ended yet")]
    PeriodNotEnded { cutoff: jiff::Timestamp },
    #[error("{0} is required")]
    Required(&'static str),
    #[error("the account holder must be the provider's registered name {expected:?}")]
    HolderMismatch { expected: String },
    #[error("{0}")]
    InvalidFeeTerms(String),
    #[error("no change of the receiving account is waiting for approval")]
    NoPendingChange,
    #[error("payout is already {status}")]
    PayoutSettled { status: &'static str },
    #[error("the payout of {amount} cannot be negative")]
    NegativePayout { amount: Fen },
    #[error("this statement calls for no such invoice")]
    NoInvoiceDue,
    #[error("this invoice was already issued")]
    InvoiceIssued,
    #[error("the waiting change is for another account than the one reviewed")]
    ChangeReplaced,
    #[error("the payout is {status}: only a pending payout takes the gateway's answer")]
    PayoutNotPending { status: &'static str },
}

impl From<MoneyError> for SettlementError {
    fn from(_: MoneyError) -> Self {
        SettlementError::AmountOutOfRange
    }
}

impl From<LedgerError> for SettlementError {
    fn from(_: LedgerError) -> Self {
        SettlementError::AmountOutOfRange
    }
}

impl From<crate::allocation::AllocationError> for SettlementError {
    fn from(_: crate::allocation::AllocationError) -> Self {
        SettlementError::AmountOutOfRange
    }
}

impl DomainRefusal for SettlementError {
    fn code(&self) -> &'static str {
        match self {
            SettlementError::DateOutOfRange => "date_out_of_range",
            SettlementError::AmountOutOfRange => "amount_out_of_range",
            SettlementError::PeriodNotEnded { .. } => "period_not_ended",
            SettlementError::Required(_) => "required",
            SettlementError::HolderMismatch { .. } => "payee_holder_mismatch",
            SettlementError::InvalidFeeTerms(_) => "invalid_fee_terms",
            SettlementError::NoPendingChange => "no_pending_change",
            SettlementError::PayoutSettled { .. } => "payout_settled",
            SettlementError::NegativePayout { .. } => "negative_payout",
            SettlementError::NoInvoiceDue => "no_invoice_due",
            SettlementError::InvoiceIssued => "invoice_issued",
            SettlementError::ChangeReplaced => "payee_change_replaced",
            SettlementError::PayoutNotPending { .. } => "payout_not_pending",
        }
    }

    fn class(&self) -> RefusalClass {
        match self {
            SettlementError::PeriodNotEnded { .. }
            | SettlementError::NoPendingChange
            | SettlementError::PayoutSettled { .. }
            | SettlementError::InvoiceIssued
            | SettlementError::NoInvoiceDue
            | SettlementError::ChangeReplaced
            | SettlementError::PayoutNotPending { .. } => RefusalClass::Conflict,
            _ => RefusalClass::Invalid,
        }
    }
}
