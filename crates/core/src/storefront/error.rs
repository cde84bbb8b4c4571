//! Why a store command was refused. Codes are stable: the API and the clients match on them.

use crate::decision::{DomainRefusal, RefusalClass};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("cannot {action} while the store is {from}")]
    InvalidTransition {
        action: &'static str,
        from: &'static str,
    },
    #[error("the provider is not active")]
    ProviderNotActive,
    #[error("the rulebook in force has no {0} measure")]
    MeasureNotInRulebook(&'static str),
    #[error("a measure must end after it starts")]
    EndNotInFuture,
    #[error("a store needs a name")]
    NameRequired,
    #[error("a reason is required")]
    ReasonRequired,
    #[error("a transfer of this store is already awaiting the operator")]
    TransferPending,
    #[error("no transfer of this store was requested")]
    TransferNotRequested,
    #[error("a store cannot be transferred to the provider that holds it")]
    TransferToSelf,
    #[error("the operator consented to a transfer to another provider")]
    TransferReceiverMismatch,
    #[error("the deadline is not due yet")]
    NotDue,
    #[error("date out of range")]
    DateOutOfRange,
}

impl DomainRefusal for StoreError {
    fn code(&self) -> &'static str {
        match self {
            StoreError::InvalidTransition { .. } => "invalid_transition",
            StoreError::ProviderNotActive => "provider_not_active",
            StoreError::MeasureNotInRulebook(_) => "measure_not_in_rulebook",
            StoreError::EndNotInFuture => "invalid_until",
            StoreError::NameRequired => "invalid_name",
            StoreError::ReasonRequired => "reason_required",
            StoreError::TransferPending => "transfer_pending",
            StoreError::TransferNotRequested => "transfer_not_requested",
            StoreError::TransferToSelf => "invalid_transfer",
            StoreError::TransferReceiverMismatch => "transfer_receiver_mismatch",
            StoreError::NotDue => "not_due",
            StoreError::DateOutOfRange => "date_out_of_range",
        }
    }

    fn class(&self) -> RefusalClass {
        match self {
            StoreError::EndNotInFuture
            | StoreError::NameRequired
            | StoreError::ReasonRequired
            | StoreError::TransferToSelf
            | StoreError::TransferReceiverMismatch
            | StoreError::DateOutOfRange => RefusalClass::Invalid,
            StoreError::InvalidTransition { .. }
            | StoreError::ProviderNotActive
            | StoreError::MeasureNotInRulebook(_)
            | StoreError::TransferPending
            | StoreError::TransferNotRequested
            | StoreError::NotDue => RefusalClass::Conflict,
        }
    }
}
