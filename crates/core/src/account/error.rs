//! Why an account command was refused. Codes are stable: the API and its clients match on
//! them.

use crate::decision::{DomainRefusal, RefusalClass};

use super::actor::Capability;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error("not a valid e-mail address: {0}")]
    InvalidEmail(&'static str),
    #[error("the password is too weak: {0}")]
    WeakPassword(&'static str),
    #[error("invalid display name: {0}")]
    InvalidDisplayName(&'static str),
    #[error("invalid verification details: {0}")]
    InvalidVerificationDetails(&'static str),
    #[error("a {member} member verifies with {member} details, not {given} ones")]
    VerificationKindMismatch {
        member: &'static str,
        given: &'static str,
    },
    #[error("a rejection needs a reason")]
    ReasonRequired,
    #[error("the verification was submitted and awaits review")]
    VerificationPending,
    #[error("the member is already verified")]
    AlreadyVerified,
    #[error("there is no submitted verification to decide")]
    VerificationNotPending,
    #[error("operator staff need at least one role")]
    NoOperatorRoles,
    #[error("the user account is disabled")]
    UserDisabled,
    #[error("the user account is already disabled")]
    AlreadyDisabled,
    #[error("the user account is already active")]
    AlreadyActive,
    #[error("an administrator cannot disable their own account")]
    CannotDisableSelf,
    #[error("this needs the {} permission", .0.as_str())]
    Forbidden(Capability),
}

impl DomainRefusal for AccountError {
    fn code(&self) -> &'static str {
        match self {
            AccountError::InvalidEmail(_) => "invalid_email",
            AccountError::WeakPassword(_) => "weak_password",
            AccountError::InvalidDisplayName(_) => "invalid_display_name",
            AccountError::InvalidVerificationDetails(_) => "invalid_verification_details",
            AccountError::VerificationKindMismatch { .. } => "verification_kind_mismatch",
            AccountError::ReasonRequired => "reason_required",
            AccountError::VerificationPending => "verification_pending",
            AccountError::AlreadyVerified => "already_verified",
            AccountError::VerificationNotPending => "verification_not_pending",
            AccountError::NoOperatorRoles => "no_operator_roles",
            AccountError::UserDisabled => "user_disabled",
            AccountError::AlreadyDisabled => "already_disabled",
            AccountError::AlreadyActive => "already_active",
            AccountError::CannotDisableSelf => "cannot_disable_self",
            AccountError::Forbidden(_) => "forbidden",
        }
    }

    fn class(&self) -> RefusalClass {
        match self {
            AccountError::InvalidEmail(_)
            | AccountError::WeakPassword(_)
            | AccountError::InvalidDisplayName(_)
            | AccountError::InvalidVerificationDetails(_)
            | AccountError::VerificationKindMismatch { .. }
            | AccountError::ReasonRequired
            | AccountError::NoOperatorRoles => RefusalClass::Invalid,
            AccountError::VerificationPending
            | AccountError::AlreadyVerified
            | AccountError::VerificationNotPending
            | AccountError::AlreadyDisabled
            | AccountError::AlreadyActive
            | AccountError::CannotDisableSelf => RefusalClass::Conflict,
            AccountError::UserDisabled | AccountError::Forbidden(_) => RefusalClass::Forbidden,
        }
    }
}
