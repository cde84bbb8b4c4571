//! Why an onboarding or provider command was refused. Codes are stable: the API and the
//! clients match on them.

use jiff::civil::Date;

use crate::decision::{DomainRefusal, RefusalClass};
use crate::ledger::LedgerError;
use crate::money::{Fen, MoneyError};
use crate::rulebook::{Material, Verification};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    #[error("cannot {action} while {from}")]
    InvalidTransition {
        action: &'static str,
        from: &'static str,
    },
    #[error("required materials are missing: {missing:?}")]
    MaterialsMissing { missing: Vec<Material> },
    #[error("the rulebook in force does not ask for {0:?}")]
    MaterialNotInRulebook(Material),
    #[error("{0:?} is a step of the flow (agreement, deposit), not an upload")]
    MaterialNotUploadable(Material),
    #[error("invalid material reference: {0}")]
    InvalidMaterial(&'static str),
    #[error("the rulebook in force admits enterprises only")]
    IndividualsNotAllowed,
    #[error(
        "主动退出后冷静期未满，自 {allowed_from} 起方可重新申请入驻 / after a voluntary exit a new application is possible from {allowed_from}"
    )]
    ReentryTooSoon { allowed_from: Date },
    #[error("an expelled provider may never apply again")]
    ReentryForbidden,
    #[error("the member account is permanently banned")]
    AccountBanned,
    #[error("the provider already has an open application")]
    ApplicationOpen,
    #[error("the provider is already admitted")]
    AlreadyAdmitted,
    #[error("the application belongs to another provider")]
    ApplicationMismatch,
    #[error("the provider has not passed {required:?} verification")]
    VerificationMissing { required: Verification },
    #[error("the rulebook in force verifies by {required:?}, not {given:?}")]
    VerificationKindMismatch {
        required: Verification,
        given: Verification,
    },
    #[error("the rulebook in force admits partner-programme members only")]
    PartnerMembershipRequired,
    #[error("a reason is required")]
    ReasonRequired,
    #[error("the agreement version and signer are required")]
    InvalidAgreement,
    #[error("a payment must be a positive amount")]
    InvalidAmount,
    #[error("the payment exceeds the outstanding deposit of {outstanding}")]
    DepositExceedsOutstanding { outstanding: Fen },
    #[error("the deposit is not fully paid: {outstanding} outstanding")]
    DepositNotPaid { outstanding: Fen },
    #[error("a change of {0:?} is already reported and awaits re-declaration")]
    MaterialChangeAlreadyReported(Material),
    #[error("no open material request with that id")]
    MaterialRequestNotFound,
    #[error("the deadline is not due yet")]
    NotDue,
    #[error("date out of range")]
    DateOutOfRange,
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl DomainRefusal for ProviderError {
    fn code(&self) -> &'static str {
        match self {
            ProviderError::InvalidTransition { .. } => "invalid_transition",
            ProviderError::MaterialsMissing { .. } => "materials_missing",
            ProviderError::MaterialNotInRulebook(_) => "material_not_required",
            ProviderError::MaterialNotUploadable(_) => "material_not_uploadable",
            ProviderError::InvalidMaterial(_) => "invalid_material",
            ProviderError::IndividualsNotAllowed => "individuals_not_allowed",
            ProviderError::ReentryTooSoon { .. } => "reentry_too_soon",
            ProviderError::ReentryForbidden => "reentry_forbidden",
            ProviderError::AccountBanned => "account_banned",
            ProviderError::ApplicationOpen => "application_open",
            ProviderError::AlreadyAdmitted => "already_admitted",
            ProviderError::ApplicationMismatch => "application_mismatch",
            ProviderError::VerificationMissing { .. } => "verification_missing",
            ProviderError::VerificationKindMismatch { .. } => "verification_kind_mismatch",
            ProviderError::PartnerMembershipRequired => "partner_membership_required",
            ProviderError::ReasonRequired => "reason_required",
            ProviderError::InvalidAgreement => "invalid_agreement",
            ProviderError::InvalidAmount => "invalid_amount",
            ProviderError::DepositExceedsOutstanding { .. } => "deposit_exceeds_outstanding",
            ProviderError::DepositNotPaid { .. } => "deposit_not_paid",
            ProviderError::MaterialChangeAlreadyReported(_) => "material_change_already_reported",
            ProviderError::MaterialRequestNotFound => "material_request_not_found",
            ProviderError::NotDue => "not_due",
            ProviderError::DateOutOfRange => "date_out_of_range",
            ProviderError::Money(_) => "amount_out_of_range",
            ProviderError::Ledger(_) => "ledger_refused",
        }
    }

    fn class(&self) -> RefusalClass {
        match self {
            ProviderError::MaterialsMissing { .. }
            | ProviderError::MaterialNotInRulebook(_)
            | ProviderError::MaterialNotUploadable(_)
            | ProviderError::InvalidMaterial(_)
            | ProviderError::IndividualsNotAllowed
            | ProviderError::ApplicationMismatch
            | ProviderError::VerificationKindMismatch { .. }
            | ProviderError::ReasonRequired
            | ProviderError::InvalidAgreement
            | ProviderError::InvalidAmount
            | ProviderError::DepositExceedsOutstanding { .. }
            | ProviderError::MaterialRequestNotFound
            | ProviderError::DateOutOfRange
            | ProviderError::Money(_)
            | ProviderError::Ledger(_) => RefusalClass::Invalid,
            ProviderError::ReentryForbidden | ProviderError::AccountBanned => {
                RefusalClass::Forbidden
            }
            ProviderError::InvalidTransition { .. }
            | ProviderError::ReentryTooSoon { .. }
            | ProviderError::ApplicationOpen
            | ProviderError::AlreadyAdmitted
            | ProviderError::VerificationMissing { .. }
            | ProviderError::PartnerMembershipRequired
            | ProviderError::DepositNotPaid { .. }
            | ProviderError::MaterialChangeAlreadyReported(_)
            | ProviderError::NotDue => RefusalClass::Conflict,
        }
    }
}
