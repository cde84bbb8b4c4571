//! Accounts, roles and isolation (SPEC §1, §14): members and their verification, users (the
//! logins of members, provider staff and operator staff), e-mail and password rules, and
//! authorisation as pure functions of an [`Actor`].
//!
//! Other modules authorise with [`Actor`]: `actor.require(Capability::…)` for operator
//! work (403 when refused), `actor.may_see(Owner::…)` for tenancy (404 when refused),
//! `actor.acts_for_provider(id)` / `actor.acts_for_member(id)` for acting as a tenant.

mod actor;
mod email;
mod error;
pub mod identity;
mod member;
mod password;
pub mod throttle;
mod user;

pub use actor::{
    Actor, Capability, Owner, can_arbitrate_refunds, can_handle_complaints, can_handle_violations,
    can_manage_deposits, can_manage_invoices, can_manage_rulebook, can_manage_settlement,
    can_manage_users, can_review_listings, can_review_onboarding, can_review_verification,
};
pub use email::{Email, MAX_EMAIL_LEN};
pub use error::AccountError;
pub use member::{
    IdDocument, Member, MemberKind, VerificationDecision, VerificationDetails, VerificationStatus,
    mask_tail,
};
pub use password::{CommonPasswords, MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS, check_password};
pub use user::{OperatorRole, ProviderRole, User, UserKind, UserStatus};

/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 100;

/// A display name: trimmed, 1–100 characters, no control characters.
pub fn check_display_name(name: &str) -> Result<String, AccountError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AccountError::InvalidDisplayName("it is empty"));
    }
    if name.chars().count() > MAX_DISPLAY_NAME_CHARS {
        return Err(AccountError::InvalidDisplayName(
            "it is longer than 100 characters",
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(AccountError::InvalidDisplayName(
            "it contains control characters",
        ));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::{DomainRefusal, RefusalClass};

    #[test]
    fn display_names_are_trimmed_and_bounded() {
        assert_eq!(check_display_name("  云市小店 ").unwrap(), "云市小店");
        assert!(check_display_name(" ").is_err());
        assert!(check_display_name(&"名".repeat(101)).is_err());
        assert!(check_display_name("a\u{0}b").is_err());
    }

    #[test]
    fn refusal_codes_are_stable_snake_case() {
        let all = [
            AccountError::InvalidEmail("x"),
            AccountError::WeakPassword("x"),
            AccountError::InvalidDisplayName("x"),
            AccountError::InvalidVerificationDetails("x"),
            AccountError::VerificationKindMismatch {
                member: "personal",
                given: "enterprise",
            },
            AccountError::ReasonRequired,
            AccountError::VerificationPending,
            AccountError::AlreadyVerified,
            AccountError::VerificationNotPending,
            AccountError::NoOperatorRoles,
            AccountError::UserDisabled,
            AccountError::AlreadyDisabled,
            AccountError::AlreadyActive,
            AccountError::CannotDisableSelf,
            AccountError::Forbidden(Capability::ManageUsers),
        ];
        for e in &all {
            let code = e.code();
            assert!(
                code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{code}"
            );
        }
        assert_eq!(
            AccountError::WeakPassword("x").class(),
            RefusalClass::Invalid
        );
        assert_eq!(
            AccountError::VerificationNotPending.class(),
            RefusalClass::Conflict
        );
        assert_eq!(
            AccountError::Forbidden(Capability::ManageUsers).class(),
            RefusalClass::Forbidden
        );
        assert_eq!(
            AccountError::Forbidden(Capability::ManageUsers).to_string(),
            "this needs the manage_users permission"
        );
    }
}
