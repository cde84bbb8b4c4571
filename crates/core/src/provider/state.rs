//! The provider (服务商) aggregate: one per member account, across every application and
//! tenure, so that exits and expulsions are remembered for re-entry (SPEC §3, §13).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::material::{EntityKind, MaterialRef};
use super::redeclare::{MaterialRequest, PendingRedeclaration};
use super::{Application, ApplicationStatus, ProviderError};
use crate::decision::{Context, Outcome};
use crate::ids::{ApplicationId, MemberId, ProviderId, UserId};
use crate::rulebook::{Onboarding, Verification};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provider {
    pub id: ProviderId,
    pub member: MemberId,
    pub entity: EntityKind,
    pub status: ProviderStatus,
    pub verification: VerificationStatus,
    /// Materials on file since admission, one per kind; re-declarations replace them.
    pub materials: Vec<MaterialRef>,
    /// Reported changes or expiries waiting to be re-declared (ALI-R art.22(1)).
    pub pending_redeclarations: Vec<PendingRedeclaration>,
    /// The operator's open requests for more material after admission (ALI-A 3.2.1).
    pub material_requests: Vec<MaterialRequest>,
    pub registered_at: Timestamp,
}

/// Where the provider stands in the marketplace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ProviderStatus {
    /// Not admitted; `application` is the latest one, open or closed.
    Applying {
        application: Option<ApplicationId>,
    },
    Active {
        since: Timestamp,
    },
    /// Left the marketplace: voluntarily (ALI-R art.27) or at the end of the term without
    /// renewal (ALI-R art.26); only the voluntary kind waits before re-entry (art.29).
    Exited {
        voluntary: bool,
        at: Timestamp,
    },
    /// 清退: never again (ALI-R art.29, TC 8.3, JD art.25).
    Expelled {
        at: Timestamp,
    },
    /// 永久查封账户 (TC 7.2, 8.3): implies expulsion (SPEC §3).
    Banned {
        at: Timestamp,
    },
}

impl ProviderStatus {
    /// For the store's status column and for messages.
    pub fn label(&self) -> &'static str {
        match self {
            ProviderStatus::Applying { .. } => "applying",
            ProviderStatus::Active { .. } => "active",
            ProviderStatus::Exited { .. } => "exited",
            ProviderStatus::Expelled { .. } => "expelled",
            ProviderStatus::Banned { .. } => "banned",
        }
    }
}

/// The operator's finding on the member's verification (SPEC §3: ALI enterprise real name,
/// TC corporate bank account, JD real name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum VerificationStatus {
    Unverified,
    Verified {
        kind: Verification,
        at: Timestamp,
        by: UserId,
    },
    Refused {
        kind: Verification,
        at: Timestamp,
        by: UserId,
        reason: String,
    },
}

/// What the reviewer found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum VerificationDecision {
    Verified,
    Refused { reason: String },
}

impl Provider {
    pub(crate) fn new(
        id: ProviderId,
        member: MemberId,
        entity: EntityKind,
        application: ApplicationId,
        at: Timestamp,
    ) -> Self {
        Self {
            id,
            member,
            entity,
            status: ProviderStatus::Applying {
                application: Some(application),
            },
            verification: VerificationStatus::Unverified,
            materials: Vec::new(),
            pending_redeclarations: Vec::new(),
            material_requests: Vec::new(),
            registered_at: at,
        }
    }

    pub(crate) fn subject(&self) -> String {
        format!("provider:{}", self.id)
    }

    pub fn is_active(&self) -> bool {
        matches!(self.status, ProviderStatus::Active { .. })
    }

    /// Verified by the kind the rulebook in force requires; a verification of another kind
    /// (an older rulebook's) does not count.
    pub fn is_verified_for(&self, onboarding: &Onboarding) -> bool {
        matches!(self.verification, VerificationStatus::Verified { kind, .. } if kind == onboarding.verification)
    }

    fn refuse(&self, action: &'static str) -> ProviderError {
        ProviderError::InvalidTransition {
            action,
            from: self.status.label(),
        }
    }

    /// The reviewer records the verification, while applying or after admission.
    pub fn record_verification(
        &self,
        kind: Verification,
        decision: VerificationDecision,
        reviewer: UserId,
        ctx: &mut Context<'_>,
    ) -> Result<(Provider, Outcome), ProviderError> {
        if !matches!(
            self.status,
            ProviderStatus::Applying { .. } | ProviderStatus::Active { .. }
        ) {
            return Err(self.refuse("record verification"));
        }
        let required = ctx.rulebook.onboarding.verification;
        if kind != required {
            return Err(ProviderError::VerificationKindMismatch {
                required,
                given: kind,
            });
        }
        let mut next = self.clone();
        next.verification = match decision {
            VerificationDecision::Verified => VerificationStatus::Verified {
                kind,
                at: ctx.now,
                by: reviewer,
            },
            VerificationDecision::Refused { reason } => {
                let reason = reason.trim().to_string();
                if reason.is_empty() {
                    return Err(ProviderError::ReasonRequired);
                }
                VerificationStatus::Refused {
                    kind,
                    at: ctx.now,
                    by: reviewer,
                    reason,
                }
            }
        };
        let outcome = Outcome::default().event(
            "provider.verification_recorded",
            self.subject(),
            json!({ "verification": next.verification }),
        );
        Ok((next, outcome))
    }

    /// The application whose deposit is fully paid makes the provider active; the shell then
    /// opens its store ([`crate::storefront::Store::open`]).
    pub fn activate(
        &self,
        application: &Application,
        ctx: &mut Context<'_>,
    ) -> Result<(Provider, Outcome), ProviderError> {
        if application.provider != self.id
            || self.status
                != (ProviderStatus::Applying {
                    application: Some(application.id),
                })
        {
            return Err(match self.status {
                ProviderStatus::Active { .. } => ProviderError::AlreadyAdmitted,
                ProviderStatus::Applying { .. } => ProviderError::ApplicationMismatch,
                _ => self.refuse("activate"),
            });
        }
        match application.status {
            ApplicationStatus::Admitted { .. } => {}
            ApplicationStatus::AgreementAccepted { .. } => {
                return Err(ProviderError::DepositNotPaid {
                    outstanding: application.outstanding_deposit(ctx.rulebook)?,
                });
            }
            _ => {
                return Err(ProviderError::InvalidTransition {
                    action: "activate",
                    from: application.status.label(),
                });
            }
        }
        let mut next = self.clone();
        next.status = ProviderStatus::Active { since: ctx.now };
        next.materials = application.materials.clone();
        let outcome = Outcome::default().event(
            "provider.activated",
            self.subject(),
            json!({ "application": application.id }),
        );
        Ok((next, outcome))
    }

    /// Leaves the marketplace: voluntarily (ALI-R art.27, TC 8.2, JD art.23) or at the end of
    /// the term (art.26). Pending re-declarations become moot.
    pub fn exit(
        &self,
        voluntary: bool,
        ctx: &mut Context<'_>,
    ) -> Result<(Provider, Outcome), ProviderError> {
        if !self.is_active() {
            return Err(self.refuse("exit"));
        }
        let (mut next, outcome) = self.leave();
        next.status = ProviderStatus::Exited {
            voluntary,
            at: ctx.now,
        };
        Ok((
            next,
            outcome.event(
                "provider.exited",
                self.subject(),
                json!({ "voluntary": voluntary }),
            ),
        ))
    }

    /// 清退 (ALI-R art.28, TC 8.3, JD art.24). Where the rulebook bans the account with it
    /// (TC 8.3: 清退…永久查封账户), the provider ends banned.
    pub fn expel(&self, ctx: &mut Context<'_>) -> Result<(Provider, Outcome), ProviderError> {
        if !self.is_active() {
            return Err(self.refuse("expel"));
        }
        let (mut next, outcome) = self.leave();
        let banned = ctx.rulebook.onboarding.expulsion_bans_account;
        next.status = if banned {
            ProviderStatus::Banned { at: ctx.now }
        } else {
            ProviderStatus::Expelled { at: ctx.now }
        };
        Ok((
            next,
            outcome.event(
                "provider.expelled",
                self.subject(),
                json!({ "account_banned": banned }),
            ),
        ))
    }

    /// Permanent account ban (TC 7.2 查封账户): from any standing, and it implies expulsion.
    pub fn ban(&self, ctx: &mut Context<'_>) -> Result<(Provider, Outcome), ProviderError> {
        if matches!(self.status, ProviderStatus::Banned { .. }) {
            return Err(self.refuse("ban"));
        }
        let (mut next, outcome) = self.leave();
        next.status = ProviderStatus::Banned { at: ctx.now };
        Ok((
            next,
            outcome.event("provider.banned", self.subject(), json!({})),
        ))
    }

    /// Drops what only an admitted provider owes and cancels its deadlines.
    fn leave(&self) -> (Provider, Outcome) {
        let mut next = self.clone();
        let mut outcome = Outcome::default();
        for pending in next.pending_redeclarations.drain(..) {
            if !pending.overdue {
                outcome.cancel.push(pending.dedupe_key(self.id));
            }
        }
        next.material_requests.clear();
        (next, outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::DomainRefusal;
    use crate::provider::testkit::{World, active_provider};

    #[test]
    fn verification_must_be_of_the_kind_the_rulebook_requires() {
        let mut w = World::new("tc", "2025-06-02T10:00:00+08:00");
        let (p, _) = active_provider(&mut w);
        let err = p
            .record_verification(
                Verification::EnterpriseRealName,
                VerificationDecision::Verified,
                w.user(),
                &mut w.ctx(),
            )
            .unwrap_err();
        assert_eq!(err.code(), "verification_kind_mismatch");
        let blank = VerificationDecision::Refused {
            reason: "  ".into(),
        };
        let err = p
            .record_verification(
                Verification::CorporateBankAccount,
                blank,
                w.user(),
                &mut w.ctx(),
            )
            .unwrap_err();
        assert_eq!(err.code(), "reason_required");
        assert!(p.is_verified_for(&w.rulebook.onboarding));
        let refused = VerificationDecision::Refused {
            reason: "bank account holder differs from the licence".into(),
        };
        let (p, _) = p
            .record_verification(
                Verification::CorporateBankAccount,
                refused,
                w.user(),
                &mut w.ctx(),
            )
            .unwrap();
        assert!(!p.is_verified_for(&w.rulebook.onboarding));
    }

    #[test]
    fn tc_expulsion_bans_the_account_and_ali_expulsion_does_not() {
        let mut tc = World::new("tc", "2025-06-02T10:00:00+08:00");
        let (p, _) = active_provider(&mut tc);
        let (p, out) = p.expel(&mut tc.ctx()).unwrap();
        assert!(matches!(p.status, ProviderStatus::Banned { .. }));
        assert_eq!(out.events[0].kind, "provider.expelled");

        let mut ali = World::new("ali", "2025-06-02T10:00:00+08:00");
        let (p, _) = active_provider(&mut ali);
        let (p, _) = p.expel(&mut ali.ctx()).unwrap();
        assert!(matches!(p.status, ProviderStatus::Expelled { .. }));
        assert_eq!(p.ban(&mut ali.ctx()).unwrap().0.status.label(), "banned");
    }

    #[test]
    fn only_an_active_provider_exits() {
        let mut w = World::new("ali", "2025-06-02T10:00:00+08:00");
        let (p, _) = active_provider(&mut w);
        let (p, _) = p.exit(true, &mut w.ctx()).unwrap();
        assert_eq!(
            p.exit(true, &mut w.ctx()).unwrap_err().code(),
            "invalid_transition"
        );
        assert_eq!(
            p.expel(&mut w.ctx()).unwrap_err().code(),
            "invalid_transition"
        );
    }
}
