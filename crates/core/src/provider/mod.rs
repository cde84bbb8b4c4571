//! Provider onboarding (入驻), SPEC §3: the [`Application`] lifecycle from draft to
//! admission, and the [`Provider`] aggregate that outlives applications — its standing
//! (active, exited, expelled, banned), verification, materials on file, re-entry rules and
//! the duty to re-declare changed material.
//!
//! Every command is a pure function of state, command and [`crate::decision::Context`]; it
//! returns the new state and an [`crate::decision::Outcome`], or a [`ProviderError`].

mod application;
mod error;
mod exit;
mod material;
mod redeclare;
mod reentry;
mod state;
#[cfg(test)]
pub(crate) mod testkit;
#[cfg(test)]
mod tests;

pub use application::{AgreementAcceptance, Applicant, Application, ApplicationStatus};
pub use error::ProviderError;
pub use exit::{
    AgreementTerm, ConsoleAction, EXIT_TAKES_EFFECT, ExitError, ExitKind, ExitRecord, ExitStep,
    MAX_EXIT_REASON, PendingExit, TERM_ENDS, Tenure, console_allows, term_for,
};
pub use material::{
    EntityKind, MaterialRef, check_kind, check_uploadable, is_flow_step, required_uploads,
};
pub use redeclare::{
    MaterialChange, MaterialRequest, PendingRedeclaration, REDECLARATION_DEADLINE,
    redeclaration_due,
};
pub use reentry::{check_may_apply, reentry_allowed_from};
pub use state::{Provider, ProviderStatus, VerificationDecision, VerificationStatus};
