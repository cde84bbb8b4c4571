//! Why a listing command is refused, with stable codes for problem+json.

use crate::catalog::{DeclaredRefundPolicy, Pricing, ProductCategory};
use crate::decision::{DomainRefusal, RefusalClass};
use crate::money::Fen;
use crate::rulebook::{ListingField, ProhibitedContent};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListingError {
    #[error("invalid {field:?}: {reason}")]
    InvalidListing { field: ListingField, reason: String },
    #[error("required listing fields are empty: {0:?}")]
    MissingFields(Vec<ListingField>),
    #[error("paid products can be listed only once the provider's deposit is fully paid")]
    DepositMissing,
    #[error("cannot {action} while the {subject} is {state}")]
    InvalidTransition {
        action: &'static str,
        subject: &'static str,
        state: &'static str,
    },
    #[error("a {pricing:?} price must be between {min} and {max}; got {price}")]
    PriceOutOfRange {
        pricing: Pricing,
        price: Fen,
        min: Fen,
        max: Fen,
    },
    #[error("the rulebook in force makes {0:?} products unsellable (no refund class)")]
    CategoryNotInRulebook(ProductCategory),
    #[error(
        "this category is not refundable, so the declared policy must be no_refund, not {policy:?}"
    )]
    RefundPolicyNotAllowed { policy: DeclaredRefundPolicy },
    #[error("every automatic-check finding must be acknowledged before approval; open: {0:?}")]
    FindingsNotAcknowledged(Vec<u32>),
    #[error("the version under review has no finding {0}")]
    UnknownFinding(u32),
    #[error("{0:?} is not a prohibited-content reason of the rulebook in force")]
    ReasonNotInRulebook(ProhibitedContent),
    #[error("a rejection needs a prohibited-content reason, a cited finding or a note")]
    RejectionReasonRequired,
    #[error("a hold needs a key and a reason")]
    HoldReasonRequired,
    #[error("no operator hold {0:?} is on this product")]
    HoldNotFound(String),
}

impl ListingError {
    pub(crate) fn invalid(field: ListingField, reason: impl Into<String>) -> Self {
        ListingError::InvalidListing {
            field,
            reason: reason.into(),
        }
    }
}

impl DomainRefusal for ListingError {
    fn code(&self) -> &'static str {
        match self {
            ListingError::InvalidListing { .. } => "invalid_listing",
            ListingError::MissingFields(_) => "missing_field",
            ListingError::DepositMissing => "deposit_missing",
            ListingError::InvalidTransition { .. } => "invalid_transition",
            ListingError::PriceOutOfRange { .. } => "price_out_of_range",
            ListingError::CategoryNotInRulebook(_) => "category_not_in_rulebook",
            ListingError::RefundPolicyNotAllowed { .. } => "refund_policy_not_allowed",
            ListingError::FindingsNotAcknowledged(_) => "findings_not_acknowledged",
            ListingError::UnknownFinding(_) => "unknown_finding",
            ListingError::ReasonNotInRulebook(_) => "reason_not_in_rulebook",
            ListingError::RejectionReasonRequired => "rejection_reason_required",
            ListingError::HoldReasonRequired => "hold_reason_required",
            ListingError::HoldNotFound(_) => "hold_not_found",
        }
    }

    fn class(&self) -> RefusalClass {
        match self {
            ListingError::DepositMissing
            | ListingError::InvalidTransition { .. }
            | ListingError::HoldNotFound(_) => RefusalClass::Conflict,
            ListingError::InvalidListing { .. }
            | ListingError::MissingFields(_)
            | ListingError::PriceOutOfRange { .. }
            | ListingError::CategoryNotInRulebook(_)
            | ListingError::RefundPolicyNotAllowed { .. }
            | ListingError::FindingsNotAcknowledged(_)
            | ListingError::UnknownFinding(_)
            | ListingError::ReasonNotInRulebook(_)
            | ListingError::RejectionReasonRequired
            | ListingError::HoldReasonRequired => RefusalClass::Invalid,
        }
    }
}
