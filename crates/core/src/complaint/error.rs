//! Why a complaint command was refused. Codes are stable: the API and clients match on them.

use crate::decision::{DomainRefusal, RefusalClass};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComplaintError {
    #[error("only a paid order can be complained about")]
    OrderNotPaid,
    #[error("{0} is required")]
    Required(&'static str),
    #[error("{field} has at most {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("at most {0} evidence files")]
    TooMuchEvidence(usize),
    #[error("cannot {action} a complaint that is {status}")]
    InvalidTransition {
        action: &'static str,
        status: &'static str,
    },
    #[error("the deadline is not due yet")]
    NotDue,
    #[error("the time the provider became unreachable cannot be in the future")]
    SinceInFuture,
    #[error("date out of range")]
    DateOutOfRange,
}

impl DomainRefusal for ComplaintError {
    fn code(&self) -> &'static str {
        match self {
            ComplaintError::OrderNotPaid => "order_not_paid",
            ComplaintError::Required(_) => "field_required",
            ComplaintError::TooLong { .. } => "text_too_long",
            ComplaintError::TooMuchEvidence(_) => "too_much_evidence",
            ComplaintError::InvalidTransition { .. } => "invalid_transition",
            ComplaintError::NotDue => "not_due",
            ComplaintError::SinceInFuture => "since_in_future",
            ComplaintError::DateOutOfRange => "date_out_of_range",
        }
    }

    fn class(&self) -> RefusalClass {
        match self {
            ComplaintError::Required(_)
            | ComplaintError::TooLong { .. }
            | ComplaintError::TooMuchEvidence(_)
            | ComplaintError::DateOutOfRange
            | ComplaintError::SinceInFuture => RefusalClass::Invalid,
            ComplaintError::OrderNotPaid
            | ComplaintError::InvalidTransition { .. }
            | ComplaintError::NotDue => RefusalClass::Conflict,
        }
    }
}
