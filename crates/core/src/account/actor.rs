//! Authorisation as pure functions: who is acting ([`Actor`]), what each operator role may
//! do ([`Capability`]), and whose objects an actor may see (isolation, SPEC §1 and §14).
//!
//! The shell resolves every request to an `Actor` and asks these functions; it answers 403
//! when an actor lacks a capability and 404 when an object is outside the actor's tenancy
//! (so that the existence of another tenant's object is never revealed).

use serde::{Deserialize, Serialize};

use crate::ids::{MemberId, ProviderId, UserId};

use super::{AccountError, OperatorRole, ProviderRole, User, UserKind};

/// Who is acting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The user; `None` for the bootstrap administrator (a token from `YUNSHI_ADMIN_TOKEN`
    /// or `/setup`, which belongs to no user).
    pub user_id: Option<UserId>,
    pub kind: UserKind,
}

impl Actor {
    /// The actor a user's session or token acts as; a disabled user cannot act.
    pub fn for_user(user: &User) -> Result<Actor, AccountError> {
        if !user.is_active() {
            return Err(AccountError::UserDisabled);
        }
        Ok(Actor {
            user_id: Some(user.id),
            kind: user.kind.clone(),
        })
    }

    /// The bootstrap administrator: operator staff with the `admin` role and no user.
    pub fn bootstrap_admin() -> Actor {
        Actor {
            user_id: None,
            kind: UserKind::OperatorStaff {
                roles: [OperatorRole::Admin].into(),
            },
        }
    }

    /// The member this actor is the login of.
    pub fn member_id(&self) -> Option<MemberId> {
        match self.kind {
            UserKind::Member { member_id } => Some(member_id),
            _ => None,
        }
    }

    /// The provider this actor is staff of.
    pub fn provider_id(&self) -> Option<ProviderId> {
        match self.kind {
            UserKind::ProviderStaff { provider_id, .. } => Some(provider_id),
            _ => None,
        }
    }

    pub fn provider_role(&self) -> Option<ProviderRole> {
        match self.kind {
            UserKind::ProviderStaff { role, .. } => Some(role),
            _ => None,
        }
    }

    pub fn is_operator(&self) -> bool {
        matches!(self.kind, UserKind::OperatorStaff { .. })
    }

    /// Whether the actor is operator staff with `role`; `admin` has every role.
    pub fn has_operator_role(&self, role: OperatorRole) -> bool {
        match &self.kind {
            UserKind::OperatorStaff { roles } => {
                roles.contains(&role) || roles.contains(&OperatorRole::Admin)
            }
            _ => false,
        }
    }

    pub fn is_operator_admin(&self) -> bool {
        self.has_operator_role(OperatorRole::Admin)
    }

    /// Whether the actor holds `capability`.
    pub fn can(&self, capability: Capability) -> bool {
        capability
            .roles()
            .iter()
            .any(|&role| self.has_operator_role(role))
    }

    /// `Ok` if the actor holds `capability`, else a `forbidden` refusal.
    pub fn require(&self, capability: Capability) -> Result<(), AccountError> {
        if self.can(capability) {
            Ok(())
        } else {
            Err(AccountError::Forbidden(capability))
        }
    }

    /// Whether an object owned by `owner` is within this actor's view. Operator staff see
    /// every tenant's objects (what they may *do* is by role, and identity details need
    /// [`Capability::ViewMemberIdentity`]); provider staff see their provider's objects;
    /// a member sees its own. Anything else is, to the actor, not there.
    pub fn may_see(&self, owner: Owner) -> bool {
        match (&self.kind, owner) {
            (UserKind::OperatorStaff { .. }, _) => true,
            (UserKind::ProviderStaff { provider_id, .. }, Owner::Provider(p)) => *provider_id == p,
            (UserKind::Member { member_id }, Owner::Member(m)) => *member_id == m,
            _ => false,
        }
    }

    /// Whether the actor may act *as* the provider (its stores, products, orders): its own
    /// staff only. Operator staff act on providers through their roles, not as them.
    pub fn acts_for_provider(&self, provider: ProviderId) -> bool {
        self.provider_id() == Some(provider)
    }

    /// Whether the actor may act *as* the member (buy, request refunds, submit its
    /// verification): the member's own login only.
    pub fn acts_for_member(&self, member: MemberId) -> bool {
        self.member_id() == Some(member)
    }

    /// Whether the actor may manage a provider's own account and staff: its owner.
    pub fn manages_provider(&self, provider: ProviderId) -> bool {
        matches!(
            self.kind,
            UserKind::ProviderStaff { provider_id, role: ProviderRole::Owner } if provider_id == provider
        )
    }

    /// Whether an order between `provider` and `buyer` is within view: the buyer, the
    /// provider's staff, operator staff.
    pub fn may_see_order(&self, provider: ProviderId, buyer: MemberId) -> bool {
        self.may_see(Owner::Member(buyer)) || self.may_see(Owner::Provider(provider))
    }

    /// Whether the buyer's contact details on an order are within view (SPEC §14,
    /// ALI-A 5.2.2–5.2.4): the buyer and operator staff always; the provider's staff only
    /// while `serving` — the order is in service — and never after.
    pub fn may_see_buyer_contact(
        &self,
        provider: ProviderId,
        buyer: MemberId,
        serving: bool,
    ) -> bool {
        self.is_operator()
            || self.acts_for_member(buyer)
            || (serving && self.acts_for_provider(provider))
    }
}

/// Who an object belongs to, for isolation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner {
    Member(MemberId),
    Provider(ProviderId),
    /// The operator's own objects (rulebooks, staff): operator staff only.
    Operator,
}

/// What operator work an actor may do. Each capability belongs to one or more roles;
/// `admin` has them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// Provider onboarding review (SPEC §3): reviewer.
    ReviewOnboarding,
    /// Product listing review (SPEC §5): reviewer.
    ReviewListings,
    /// Member real-name / enterprise verification review: reviewer.
    ReviewVerification,
    /// Violations and penalties (SPEC §9): compliance.
    HandleViolations,
    /// Complaints and tickets (SPEC §8): customer service.
    HandleComplaints,
    /// Refund arbitration and direct refunds (SPEC §7): customer service.
    ArbitrateRefunds,
    /// Settlement and fees (SPEC §11): finance.
    ManageSettlement,
    /// Deposits (SPEC §10): finance.
    ManageDeposits,
    /// Invoices: finance.
    ManageInvoices,
    /// Rulebooks: admin.
    ManageRulebook,
    /// Users of every kind and their tokens: admin.
    ManageUsers,
    /// Unmasked identity numbers of members (SPEC §14): reviewer, compliance.
    ViewMemberIdentity,
}

impl Capability {
    pub const ALL: [Capability; 12] = [
        Capability::ReviewOnboarding,
        Capability::ReviewListings,
        Capability::ReviewVerification,
        Capability::HandleViolations,
        Capability::HandleComplaints,
        Capability::ArbitrateRefunds,
        Capability::ManageSettlement,
        Capability::ManageDeposits,
        Capability::ManageInvoices,
        Capability::ManageRulebook,
        Capability::ManageUsers,
        Capability::ViewMemberIdentity,
    ];

    /// The roles that hold this capability (besides `admin`, which holds all).
    pub fn roles(self) -> &'static [OperatorRole] {
        use OperatorRole::*;
        match self {
            Capability::ReviewOnboarding
            | Capability::ReviewListings
            | Capability::ReviewVerification => &[Reviewer],
            Capability::HandleViolations => &[Compliance],
            Capability::HandleComplaints | Capability::ArbitrateRefunds => &[CustomerService],
            Capability::ManageSettlement
            | Capability::ManageDeposits
            | Capability::ManageInvoices => &[Finance],
            Capability::ManageRulebook | Capability::ManageUsers => &[Admin],
            Capability::ViewMemberIdentity => &[Reviewer, Compliance],
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Capability::ReviewOnboarding => "review_onboarding",
            Capability::ReviewListings => "review_listings",
            Capability::ReviewVerification => "review_verification",
            Capability::HandleViolations => "handle_violations",
            Capability::HandleComplaints => "handle_complaints",
            Capability::ArbitrateRefunds => "arbitrate_refunds",
            Capability::ManageSettlement => "manage_settlement",
            Capability::ManageDeposits => "manage_deposits",
            Capability::ManageInvoices => "manage_invoices",
            Capability::ManageRulebook => "manage_rulebook",
            Capability::ManageUsers => "manage_users",
            Capability::ViewMemberIdentity => "view_member_identity",
        }
    }
}

/// Provider onboarding review (SPEC §3).
pub fn can_review_onboarding(actor: &Actor) -> bool {
    actor.can(Capability::ReviewOnboarding)
}

/// Product listing review (SPEC §5).
pub fn can_review_listings(actor: &Actor) -> bool {
    actor.can(Capability::ReviewListings)
}

/// Member verification review.
pub fn can_review_verification(actor: &Actor) -> bool {
    actor.can(Capability::ReviewVerification)
}

/// Violations and penalties (SPEC §9).
pub fn can_handle_violations(actor: &Actor) -> bool {
    actor.can(Capability::HandleViolations)
}

/// Complaints and tickets (SPEC §8).
pub fn can_handle_complaints(actor: &Actor) -> bool {
    actor.can(Capability::HandleComplaints)
}

/// Refund arbitration (SPEC §7).
pub fn can_arbitrate_refunds(actor: &Actor) -> bool {
    actor.can(Capability::ArbitrateRefunds)
}

/// Settlement and fees (SPEC §11).
pub fn can_manage_settlement(actor: &Actor) -> bool {
    actor.can(Capability::ManageSettlement)
}

/// Deposits (SPEC §10).
pub fn can_manage_deposits(actor: &Actor) -> bool {
    actor.can(Capability::ManageDeposits)
}

/// Invoices.
pub fn can_manage_invoices(actor: &Actor) -> bool {
    actor.can(Capability::ManageInvoices)
}

/// Rulebooks.
pub fn can_manage_rulebook(actor: &Actor) -> bool {
    actor.can(Capability::ManageRulebook)
}

/// Users and tokens of others.
pub fn can_manage_users(actor: &Actor) -> bool {
    actor.can(Capability::ManageUsers)
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;
    use uuid::Uuid;

    use super::*;
    use crate::account::{Email, UserStatus};

    fn operator(roles: &[OperatorRole]) -> Actor {
        Actor {
            user_id: Some(UserId(Uuid::from_u128(1))),
            kind: UserKind::OperatorStaff {
                roles: roles.iter().copied().collect(),
            },
        }
    }

    fn provider_staff(p: u128, role: ProviderRole) -> Actor {
        Actor {
            user_id: Some(UserId(Uuid::from_u128(2))),
            kind: UserKind::ProviderStaff {
                provider_id: ProviderId(Uuid::from_u128(p)),
                role,
            },
        }
    }

    fn member(m: u128) -> Actor {
        Actor {
            user_id: Some(UserId(Uuid::from_u128(3))),
            kind: UserKind::Member {
                member_id: MemberId(Uuid::from_u128(m)),
            },
        }
    }

    #[test]
    fn each_operator_role_holds_only_its_own_capabilities() {
        let expect: [(OperatorRole, &[Capability]); 4] = [
            (
                OperatorRole::Reviewer,
                &[
                    Capability::ReviewOnboarding,
                    Capability::ReviewListings,
                    Capability::ReviewVerification,
                    Capability::ViewMemberIdentity,
                ],
            ),
            (
                OperatorRole::Compliance,
                &[Capability::HandleViolations, Capability::ViewMemberIdentity],
            ),
            (
                OperatorRole::CustomerService,
                &[Capability::HandleComplaints, Capability::ArbitrateRefunds],
            ),
            (
                OperatorRole::Finance,
                &[
                    Capability::ManageSettlement,
                    Capability::ManageDeposits,
                    Capability::ManageInvoices,
                ],
            ),
        ];
        for (role, granted) in expect {
            let actor = operator(&[role]);
            for cap in Capability::ALL {
                assert_eq!(actor.can(cap), granted.contains(&cap), "{role:?} {cap:?}");
            }
        }
        assert!(!can_review_verification(&operator(&[
            OperatorRole::Finance
        ])));
        assert!(can_review_verification(&operator(&[
            OperatorRole::Reviewer
        ])));
        assert!(can_handle_complaints(&operator(&[
            OperatorRole::Finance,
            OperatorRole::CustomerService
        ])));
    }

    #[test]
    fn admin_has_every_capability_and_the_bootstrap_admin_is_one() {
        for actor in [operator(&[OperatorRole::Admin]), Actor::bootstrap_admin()] {
            for cap in Capability::ALL {
                assert!(actor.can(cap), "{cap:?}");
            }
            for role in OperatorRole::ALL {
                assert!(actor.has_operator_role(role));
            }
        }
        assert_eq!(Actor::bootstrap_admin().user_id, None);
    }

    #[test]
    fn providers_and_members_hold_no_operator_capability() {
        for actor in [
            provider_staff(1, ProviderRole::Owner),
            provider_staff(1, ProviderRole::Staff),
            member(1),
        ] {
            for cap in Capability::ALL {
                assert!(!actor.can(cap));
                assert_eq!(actor.require(cap), Err(AccountError::Forbidden(cap)));
            }
        }
    }

    #[test]
    fn a_provider_sees_only_its_own_objects() {
        let a = provider_staff(1, ProviderRole::Staff);
        let p1 = ProviderId(Uuid::from_u128(1));
        let p2 = ProviderId(Uuid::from_u128(2));
        let m = MemberId(Uuid::from_u128(1));
        assert!(a.may_see(Owner::Provider(p1)));
        assert!(!a.may_see(Owner::Provider(p2)));
        assert!(
            !a.may_see(Owner::Member(m)),
            "ids of other kinds never match"
        );
        assert!(!a.may_see(Owner::Operator));
        assert!(a.acts_for_provider(p1) && !a.acts_for_provider(p2));
        assert!(!a.manages_provider(p1));
        assert!(provider_staff(1, ProviderRole::Owner).manages_provider(p1));
        assert!(!provider_staff(1, ProviderRole::Owner).manages_provider(p2));
    }

    #[test]
    fn a_member_sees_only_its_own_objects() {
        let a = member(1);
        let m1 = MemberId(Uuid::from_u128(1));
        let m2 = MemberId(Uuid::from_u128(2));
        assert!(a.may_see(Owner::Member(m1)));
        assert!(!a.may_see(Owner::Member(m2)));
        assert!(!a.may_see(Owner::Provider(ProviderId(Uuid::from_u128(1)))));
        assert!(a.acts_for_member(m1) && !a.acts_for_member(m2));
    }

    #[test]
    fn operator_staff_see_every_tenant_but_act_for_none() {
        let a = operator(&[OperatorRole::Finance]);
        let p = ProviderId(Uuid::from_u128(1));
        let m = MemberId(Uuid::from_u128(1));
        assert!(a.may_see(Owner::Provider(p)));
        assert!(a.may_see(Owner::Member(m)));
        assert!(a.may_see(Owner::Operator));
        assert!(!a.acts_for_provider(p) && !a.acts_for_member(m));
        assert!(!Actor::bootstrap_admin().acts_for_member(m));
    }

    #[test]
    fn buyer_contact_is_visible_to_the_provider_only_while_serving() {
        let p = ProviderId(Uuid::from_u128(1));
        let buyer = MemberId(Uuid::from_u128(5));
        let staff = provider_staff(1, ProviderRole::Staff);
        assert!(staff.may_see_order(p, buyer));
        assert!(staff.may_see_buyer_contact(p, buyer, true));
        assert!(!staff.may_see_buyer_contact(p, buyer, false));
        let other = provider_staff(2, ProviderRole::Owner);
        assert!(!other.may_see_order(p, buyer));
        assert!(!other.may_see_buyer_contact(p, buyer, true));
        assert!(member(5).may_see_order(p, buyer));
        assert!(member(5).may_see_buyer_contact(p, buyer, false));
        assert!(!member(6).may_see_order(p, buyer));
        assert!(operator(&[OperatorRole::CustomerService]).may_see_buyer_contact(p, buyer, false));
    }

    #[test]
    fn a_disabled_user_cannot_act() {
        let (mut user, _) = User::create(
            UserId(Uuid::from_u128(1)),
            Email::parse("a@example.com").unwrap(),
            "A",
            UserKind::Member {
                member_id: MemberId(Uuid::from_u128(1)),
            },
            None,
            Timestamp::UNIX_EPOCH,
        )
        .unwrap();
        let actor = Actor::for_user(&user).unwrap();
        assert_eq!(actor.member_id(), Some(MemberId(Uuid::from_u128(1))));
        user.status = UserStatus::Disabled;
        assert_eq!(Actor::for_user(&user), Err(AccountError::UserDisabled));
    }
}
