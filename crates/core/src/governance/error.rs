//! Why a violation-case command was refused. Codes are stable: the API and clients match on
//! them.

use crate::decision::{DomainRefusal, RefusalClass};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseError {
    #[error("the rulebook in force on {on} has no violation {code}")]
    UnknownViolation { code: String, on: jiff::civil::Date },
    #[error("no marketplace rulebook was in force on {0}")]
    NoRulebookOn(jiff::civil::Date),
    #[error("the act cannot be dated after today")]
    ActInFuture,
    #[error("{0} is required")]
    Required(&'static str),
    #[error("cannot {action} a case that is {status}")]
    InvalidTransition {
        action: &'static str,
        status: &'static str,
    },
    #[error("the {0} window closed")]
    WindowClosed(&'static str),
    #[error("the rulebook in force does not let the operator go straight to a finding")]
    DirectFindingNotAllowed,
    #[error("the rulebook in force does not let the operator stack measures, or not this one")]
    MeasureNotAllowed,
    #[error("the deadline is not due yet")]
    NotDue,
    #[error("date out of range")]
    DateOutOfRange,
    #[error("amount out of range")]
    AmountOutOfRange,
    #[error("this measure takes no amount (got {0})")]
    AmountNotExpected(crate::money::Fen),
}

impl DomainRefusal for CaseError {
    fn code(&self) -> &'static str {
        match self {
            CaseError::UnknownViolation { .. } => "unknown_violation_code",
            CaseError::NoRulebookOn(_) => "no_rulebook_in_force",
            CaseError::ActInFuture => "act_in_future",
            CaseError::Required(_) => "field_required",
            CaseError::InvalidTransition { .. } => "invalid_transition",
            CaseError::WindowClosed(_) => "window_closed",
            CaseError::DirectFindingNotAllowed => "direct_finding_not_allowed",
            CaseError::MeasureNotAllowed => "measure_not_allowed",
            CaseError::NotDue => "not_due",
            CaseError::DateOutOfRange => "date_out_of_range",
            CaseError::AmountOutOfRange => "amount_out_of_range",
            CaseError::AmountNotExpected(_) => "amount_not_expected",
        }
    }

    fn class(&self) -> RefusalClass {
        match self {
            CaseError::UnknownViolation { .. }
            | CaseError::NoRulebookOn(_)
            | CaseError::ActInFuture
            | CaseError::Required(_)
            | CaseError::MeasureNotAllowed
            | CaseError::DateOutOfRange
            | CaseError::AmountOutOfRange
            | CaseError::AmountNotExpected(_) => RefusalClass::Invalid,
            CaseError::InvalidTransition { .. }
            | CaseError::WindowClosed(_)
            | CaseError::DirectFindingNotAllowed
            | CaseError::NotDue => RefusalClass::Conflict,
        }
    }
}
