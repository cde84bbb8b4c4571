//! Users: logins. Every user is one of three kinds — a member's login, a provider's staff
//! (owner or staff), or operator staff with a set of roles — and is active or disabled.
//! Credentials are the shell's business: the core never sees a password or its hash.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::decision::Outcome;
use crate::ids::{MemberId, ProviderId, UserId};

use super::{AccountError, Email, check_display_name};

/// A provider staff user's standing in its organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderRole {
    /// Manages the provider's account, staff and agreements.
    Owner,
    /// Works the stores, products and orders.
    Staff,
}

impl ProviderRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderRole::Owner => "owner",
            ProviderRole::Staff => "staff",
        }
    }
}

/// The operator's staff roles (SPEC §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperatorRole {
    /// Listing, onboarding and member-verification review.
    Reviewer,
    /// Risk and compliance: violations and penalties.
    Compliance,
    /// Complaints, refund arbitration.
    CustomerService,
    /// Settlement, deposits, invoices.
    Finance,
    /// Rulebooks and staff; may do everything the other roles may.
    Admin,
}

impl OperatorRole {
    pub const ALL: [OperatorRole; 5] = [
        OperatorRole::Reviewer,
        OperatorRole::Compliance,
        OperatorRole::CustomerService,
        OperatorRole::Finance,
        OperatorRole::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OperatorRole::Reviewer => "reviewer",
            OperatorRole::Compliance => "compliance",
            OperatorRole::CustomerService => "customer_service",
            OperatorRole::Finance => "finance",
            OperatorRole::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<OperatorRole> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Who a user is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum UserKind {
    /// The login of a member (a buyer, or the account behind a provider).
    Member { member_id: MemberId },
    /// Staff of a provider organisation.
    ProviderStaff {
        provider_id: ProviderId,
        role: ProviderRole,
    },
    /// Operator staff; `admin` implies every other role.
    OperatorStaff { roles: BTreeSet<OperatorRole> },
}

impl UserKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            UserKind::Member { .. } => "member",
            UserKind::ProviderStaff { .. } => "provider_staff",
            UserKind::OperatorStaff { .. } => "operator_staff",
        }
    }

    /// Who owns users of this kind, for isolation and listing: the member or provider id,
    /// `""` for operator staff.
    pub fn owner(&self) -> String {
        match self {
            UserKind::Member { member_id } => member_id.to_string(),
            UserKind::ProviderStaff { provider_id, .. } => provider_id.to_string(),
            UserKind::OperatorStaff { .. } => String::new(),
        }
    }

    fn validate(&self) -> Result<(), AccountError> {
        match self {
            UserKind::OperatorStaff { roles } if roles.is_empty() => {
                Err(AccountError::NoOperatorRoles)
            }
            _ => Ok(()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    Active,
    /// May not log in; its sessions and tokens stop working.
    Disabled,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Disabled => "disabled",
        }
    }
}

/// A login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub display_name: String,
    pub kind: UserKind,
    pub status: UserStatus,
    pub created_at: Timestamp,
}

impl User {
    /// A new, active user. `created_by` is the administrator who made it (`None`: the user
    /// registered itself, or the bootstrap administrator made it).
    pub fn create(
        id: UserId,
        email: Email,
        display_name: &str,
        kind: UserKind,
        created_by: Option<UserId>,
        now: Timestamp,
    ) -> Result<(User, Outcome), AccountError> {
        kind.validate()?;
        let user = User {
            id,
            email,
            display_name: check_display_name(display_name)?,
            kind,
            status: UserStatus::Active,
            created_at: now,
        };
        let mut payload = serde_json::json!({
            "user_id": id,
            "kind": user.kind,
            "created_by": created_by,
        });
        // The kind's ids and roles, never the e-mail or name: events are kept forever.
        if let Some(obj) = payload.as_object_mut() {
            obj.retain(|_, v| !v.is_null());
        }
        let outcome = Outcome::default().event("user.created", user.subject(), payload);
        Ok((user, outcome))
    }

    /// `user:<id>`: the subject of its events, and the principal its tokens act as.
    pub fn subject(&self) -> String {
        format!("user:{}", self.id)
    }

    pub fn is_active(&self) -> bool {
        self.status == UserStatus::Active
    }

    /// Whether the user is an operator administrator.
    pub fn is_operator_admin(&self) -> bool {
        matches!(&self.kind, UserKind::OperatorStaff { roles } if roles.contains(&OperatorRole::Admin))
    }

    /// Disables the user: it may not log in, and its sessions and tokens stop working.
    /// `by` is the administrator (`None`: the bootstrap administrator), who may not be the
    /// user itself (an administrator locking themselves out needs another to undo it).
    pub fn disable(&self, by: Option<UserId>) -> Result<(User, Outcome), AccountError> {
        if by == Some(self.id) {
            return Err(AccountError::CannotDisableSelf);
        }
        if !self.is_active() {
            return Err(AccountError::AlreadyDisabled);
        }
        let next = User {
            status: UserStatus::Disabled,
            ..self.clone()
        };
        Ok((next, self.credential_event("user.disabled", by)))
    }

    /// Enables a disabled user again.
    pub fn enable(&self, by: Option<UserId>) -> Result<(User, Outcome), AccountError> {
        if self.is_active() {
            return Err(AccountError::AlreadyActive);
        }
        let next = User {
            status: UserStatus::Active,
            ..self.clone()
        };
        Ok((next, self.credential_event("user.enabled", by)))
    }

    /// The event of an act on the user's access (`user.password_changed`, …): who did it,
    /// never a secret. `by`: `None` for the bootstrap administrator or the link's bearer.
    pub fn credential_event(&self, kind: &str, by: Option<UserId>) -> Outcome {
        let mut payload = serde_json::json!({ "user_id": self.id });
        if let (Some(by), Some(obj)) = (by, payload.as_object_mut()) {
            obj.insert("by".into(), serde_json::json!(by));
        }
        Outcome::default().event(kind, self.subject(), payload)
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    #[test]
    fn operator_staff_need_a_role() {
        let make = |roles: BTreeSet<OperatorRole>| {
            User::create(
                UserId(Uuid::from_u128(1)),
                Email::parse("ops@example.com").unwrap(),
                "Ops",
                UserKind::OperatorStaff { roles },
                None,
                Timestamp::UNIX_EPOCH,
            )
        };
        assert_eq!(
            make(BTreeSet::new()).unwrap_err(),
            AccountError::NoOperatorRoles
        );
        let (user, out) = make([OperatorRole::Finance].into()).unwrap();
        assert!(user.is_active());
        assert_eq!(user.kind.owner(), "");
        assert_eq!(out.events[0].kind, "user.created");
        assert_eq!(out.events[0].payload["kind"]["roles"][0], "finance");
        assert!(!out.events[0].payload.to_string().contains("ops@"));
    }

    #[test]
    fn a_user_is_disabled_and_enabled_once_each_and_never_by_itself() {
        let (user, _) = User::create(
            UserId(Uuid::from_u128(1)),
            Email::parse("ops@example.com").unwrap(),
            "Ops",
            UserKind::OperatorStaff {
                roles: [OperatorRole::Admin].into(),
            },
            None,
            Timestamp::UNIX_EPOCH,
        )
        .unwrap();
        assert!(user.is_operator_admin());
        let admin = Some(UserId(Uuid::from_u128(2)));
        assert_eq!(
            user.disable(Some(user.id)).unwrap_err(),
            AccountError::CannotDisableSelf
        );
        let (off, out) = user.disable(admin).unwrap();
        assert!(!off.is_active());
        assert_eq!(out.events[0].kind, "user.disabled");
        assert_eq!(out.events[0].payload["by"], serde_json::json!(admin));
        assert_eq!(
            off.disable(None).unwrap_err(),
            AccountError::AlreadyDisabled
        );
        let (on, out) = off.enable(None).unwrap();
        assert!(on.is_active());
        assert_eq!(out.events[0].kind, "user.enabled");
        assert!(out.events[0].payload.get("by").is_none());
        assert_eq!(on.enable(admin).unwrap_err(), AccountError::AlreadyActive);
    }

    #[test]
    fn kinds_serialise_with_a_type_tag() {
        let kind = UserKind::ProviderStaff {
            provider_id: ProviderId(Uuid::from_u128(7)),
            role: ProviderRole::Owner,
        };
        let json = serde_json::to_value(&kind).unwrap();
        assert_eq!(json["type"], "provider_staff");
        assert_eq!(json["role"], "owner");
        assert_eq!(serde_json::from_value::<UserKind>(json).unwrap(), kind);
        for role in OperatorRole::ALL {
            assert_eq!(OperatorRole::parse(role.as_str()), Some(role));
            assert_eq!(
                serde_json::to_value(role).unwrap(),
                serde_json::json!(role.as_str())
            );
        }
    }
}
