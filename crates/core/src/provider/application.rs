//! The onboarding application (入驻申请), SPEC §3: draft → submitted → under review →
//! (needs more material ↔ resubmitted) → approved → agreement accepted → deposit paid →
//! admitted; or rejected with a reason, or withdrawn by the applicant.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::material::{self, EntityKind, MaterialRef};
use super::reentry::check_may_apply;
use super::{Provider, ProviderError, ProviderStatus};
use crate::decision::{Context, Outcome};
use crate::ids::{ApplicationId, MemberId, ProviderId, UserId};
use crate::ledger::{Account, AccountKind, LedgerTransaction, Posting};
use crate::money::Fen;
use crate::rulebook::{MarketplaceRulebook, Material};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    pub id: ApplicationId,
    pub provider: ProviderId,
    pub member: MemberId,
    pub entity: EntityKind,
    /// Declares consignment sales, which need the consignment agreement (JD art.9(5)).
    pub consignment: bool,
    /// Uploaded materials, one per kind (a new upload replaces the old).
    pub materials: Vec<MaterialRef>,
    pub status: ApplicationStatus,
    pub agreement: Option<AgreementAcceptance>,
    /// Deposit received so far; payments may come in parts until the rulebook's amount.
    pub deposit_paid: Fen,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ApplicationStatus {
    Draft,
    Submitted {
        at: Timestamp,
    },
    UnderReview {
        since: Timestamp,
        reviewer: UserId,
    },
    /// The reviewer wants more: named kinds must be uploaded anew, `note` says what else.
    NeedsMoreMaterial {
        at: Timestamp,
        by: UserId,
        kinds: Vec<Material>,
        note: String,
        /// Kinds attached since the request.
        renewed: Vec<Material>,
    },
    Resubmitted {
        at: Timestamp,
    },
    Approved {
        at: Timestamp,
        by: UserId,
    },
    Rejected {
        at: Timestamp,
        by: UserId,
        reason: String,
    },
    /// Agreement signed; the deposit is due.
    AgreementAccepted {
        at: Timestamp,
    },
    /// Deposit fully paid: the provider becomes active.
    Admitted {
        at: Timestamp,
    },
    Withdrawn {
        at: Timestamp,
    },
}

impl ApplicationStatus {
    pub fn label(&self) -> &'static str {
        match self {
            ApplicationStatus::Draft => "draft",
            ApplicationStatus::Submitted { .. } => "submitted",
            ApplicationStatus::UnderReview { .. } => "under_review",
            ApplicationStatus::NeedsMoreMaterial { .. } => "needs_more_material",
            ApplicationStatus::Resubmitted { .. } => "resubmitted",
            ApplicationStatus::Approved { .. } => "approved",
            ApplicationStatus::Rejected { .. } => "rejected",
            ApplicationStatus::AgreementAccepted { .. } => "agreement_accepted",
            ApplicationStatus::Admitted { .. } => "admitted",
            ApplicationStatus::Withdrawn { .. } => "withdrawn",
        }
    }

    /// Ended without admission: a new application may follow.
    pub fn ended_without_admission(&self) -> bool {
        matches!(
            self,
            ApplicationStatus::Rejected { .. } | ApplicationStatus::Withdrawn { .. }
        )
    }

    /// The applicant may change materials only while the application is in their hands.
    fn editable(&self) -> bool {
        matches!(
            self,
            ApplicationStatus::Draft | ApplicationStatus::NeedsMoreMaterial { .. }
        )
    }
}

/// The provider agreement as accepted (ALI-R art.13(6), TC 3.1.4, JD art.9(5)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreementAcceptance {
    /// Which text was accepted, as the shell versions it.
    pub version: String,
    pub signer: UserId,
    pub at: Timestamp,
}

/// Who is applying.
#[derive(Debug, Clone, Copy)]
pub enum Applicant<'a> {
    /// A member applying for the first time: a provider is created for it.
    New {
        member: MemberId,
        entity: EntityKind,
    },
    /// A provider applying again (after a rejection, a withdrawal or an exit); `latest` is
    /// the application its status points to, if any.
    Returning {
        provider: &'a Provider,
        latest: Option<&'a Application>,
    },
}

type Decided = Result<(Application, Outcome), ProviderError>;

impl Application {
    /// Opens a draft. Checks who may apply under the rulebook in force: individuals only
    /// where allowed (JD art.7), re-entry rules for returning providers (ALI-R art.29).
    pub fn start(
        applicant: Applicant<'_>,
        consignment: bool,
        ctx: &mut Context<'_>,
    ) -> Result<(Provider, Application, Outcome), ProviderError> {
        let onboarding = &ctx.rulebook.onboarding;
        let id = ApplicationId(ctx.ids.next_id());
        let (mut provider, entity) = match applicant {
            Applicant::New { member, entity } => {
                let provider_id = ProviderId(ctx.ids.next_id());
                let p = Provider::new(provider_id, member, entity, id, ctx.now);
                (p, entity)
            }
            Applicant::Returning { provider, latest } => {
                check_may_apply(provider, latest, onboarding, ctx.now)?;
                (provider.clone(), provider.entity)
            }
        };
        if entity == EntityKind::Individual && !onboarding.individuals_allowed {
            return Err(ProviderError::IndividualsNotAllowed);
        }
        provider.status = ProviderStatus::Applying {
            application: Some(id),
        };
        let application = Application {
            id,
            provider: provider.id,
            member: provider.member,
            entity,
            consignment,
            materials: Vec::new(),
            status: ApplicationStatus::Draft,
            agreement: None,
            deposit_paid: Fen::ZERO,
            created_at: ctx.now,
        };
        let outcome = Outcome::default().event(
            "provider.application_started",
            provider.subject(),
            json!({ "application": id, "entity": entity, "consignment": consignment }),
        );
        Ok((provider, application, outcome))
    }

    fn subject(&self) -> String {
        format!("provider:{}", self.provider)
    }

    fn refuse(&self, action: &'static str) -> ProviderError {
        ProviderError::InvalidTransition {
            action,
            from: self.status.label(),
        }
    }

    fn next(
        &self,
        status: ApplicationStatus,
        kind: &str,
        mut payload: serde_json::Value,
    ) -> (Application, Outcome) {
        let mut next = self.clone();
        next.status = status;
        if let Some(map) = payload.as_object_mut() {
            map.insert("application".into(), json!(self.id));
        }
        (
            next,
            Outcome::default().event(kind, self.subject(), payload),
        )
    }

    /// The uploads this application still lacks under the rulebook in force.
    pub fn missing_materials(&self, rulebook: &MarketplaceRulebook) -> Vec<Material> {
        let required =
            material::required_uploads(&rulebook.onboarding, self.entity, self.consignment);
        material::missing(&self.materials, &required)
    }

    /// What remains to pay of the rulebook's deposit (never negative).
    pub fn outstanding_deposit(
        &self,
        rulebook: &MarketplaceRulebook,
    ) -> Result<Fen, ProviderError> {
        let left = rulebook
            .deposit
            .required_amount
            .checked_sub(self.deposit_paid)?;
        Ok(if left.is_negative() { Fen::ZERO } else { left })
    }

    pub fn attach_material(&self, material: MaterialRef, ctx: &mut Context<'_>) -> Decided {
        if !self.status.editable() {
            return Err(self.refuse("attach material"));
        }
        material::check_uploadable(&ctx.rulebook.onboarding, &material)?;
        let mut next = self.clone();
        let payload = json!({ "application": self.id, "material": material });
        if let ApplicationStatus::NeedsMoreMaterial { renewed, .. } = &mut next.status
            && !renewed.contains(&material.kind)
        {
            renewed.push(material.kind);
        }
        material::put(&mut next.materials, material);
        Ok((
            next,
            Outcome::default().event(
                "provider.application_material_attached",
                self.subject(),
                payload,
            ),
        ))
    }

    pub fn remove_material(&self, kind: Material, _ctx: &mut Context<'_>) -> Decided {
        if !self.status.editable() {
            return Err(self.refuse("remove material"));
        }
        let mut next = self.clone();
        next.materials.retain(|m| m.kind != kind);
        if let ApplicationStatus::NeedsMoreMaterial { renewed, .. } = &mut next.status {
            renewed.retain(|k| *k != kind);
        }
        Ok((
            next,
            Outcome::default().event(
                "provider.application_material_removed",
                self.subject(),
                json!({ "application": self.id, "kind": kind }),
            ),
        ))
    }

    /// Draft → submitted, once every upload the rulebook requires is attached.
    pub fn submit(&self, ctx: &mut Context<'_>) -> Decided {
        if self.status != ApplicationStatus::Draft {
            return Err(self.refuse("submit"));
        }
        let missing = self.missing_materials(ctx.rulebook);
        if !missing.is_empty() {
            return Err(ProviderError::MaterialsMissing { missing });
        }
        Ok(self.next(
            ApplicationStatus::Submitted { at: ctx.now },
            "provider.application_submitted",
            json!({}),
        ))
    }

    /// A reviewer takes a submitted or resubmitted application.
    pub fn start_review(&self, reviewer: UserId, ctx: &mut Context<'_>) -> Decided {
        if !matches!(
            self.status,
            ApplicationStatus::Submitted { .. } | ApplicationStatus::Resubmitted { .. }
        ) {
            return Err(self.refuse("start review"));
        }
        Ok(self.next(
            ApplicationStatus::UnderReview {
                since: ctx.now,
                reviewer,
            },
            "provider.application_review_started",
            json!({ "reviewer": reviewer }),
        ))
    }

    fn under_review(&self, action: &'static str) -> Result<(), ProviderError> {
        match self.status {
            ApplicationStatus::UnderReview { .. } => Ok(()),
            _ => Err(self.refuse(action)),
        }
    }

    /// The reviewer asks for more (SPEC §3; ALI-A 3.2.1). A note is required so the applicant
    /// knows what to do.
    pub fn request_more_material(
        &self,
        kinds: Vec<Material>,
        note: &str,
        reviewer: UserId,
        ctx: &mut Context<'_>,
    ) -> Decided {
        self.under_review("request more material")?;
        let note = note.trim();
        if note.is_empty() {
            return Err(ProviderError::ReasonRequired);
        }
        for kind in &kinds {
            material::check_kind(&ctx.rulebook.onboarding, *kind)?;
        }
        let payload = json!({ "kinds": kinds, "note": note, "reviewer": reviewer });
        Ok(self.next(
            ApplicationStatus::NeedsMoreMaterial {
                at: ctx.now,
                by: reviewer,
                kinds,
                note: note.to_string(),
                renewed: Vec::new(),
            },
            "provider.application_more_material_requested",
            payload,
        ))
    }

    /// Back to the reviewer, once every required upload is there and each kind the reviewer
    /// named was uploaded anew after the request.
    pub fn resubmit(&self, ctx: &mut Context<'_>) -> Decided {
        let ApplicationStatus::NeedsMoreMaterial { kinds, renewed, .. } = &self.status else {
            return Err(self.refuse("resubmit"));
        };
        let mut missing = self.missing_materials(ctx.rulebook);
        for kind in kinds {
            if !renewed.contains(kind) && !missing.contains(kind) {
                missing.push(*kind);
            }
        }
        if !missing.is_empty() {
            return Err(ProviderError::MaterialsMissing { missing });
        }
        Ok(self.next(
            ApplicationStatus::Resubmitted { at: ctx.now },
            "provider.application_resubmitted",
            json!({}),
        ))
    }

    /// Admission in principle. Checks the conditions of the rulebook in force at the decision
    /// (ALI-R art.13, TC 3.1, JD art.9): materials, verification by the required kind,
    /// partner-programme membership where required (ALI-R art.13(3); the shell knows the
    /// partner registry and passes the answer).
    pub fn approve(
        &self,
        provider: &Provider,
        partner_member: bool,
        reviewer: UserId,
        ctx: &mut Context<'_>,
    ) -> Decided {
        self.under_review("approve")?;
        let onboarding = &ctx.rulebook.onboarding;
        if provider.id != self.provider {
            return Err(ProviderError::ApplicationMismatch);
        }
        if self.entity == EntityKind::Individual && !onboarding.individuals_allowed {
            return Err(ProviderError::IndividualsNotAllowed);
        }
        let missing = self.missing_materials(ctx.rulebook);
        if !missing.is_empty() {
            return Err(ProviderError::MaterialsMissing { missing });
        }
        if !provider.is_verified_for(onboarding) {
            return Err(ProviderError::VerificationMissing {
                required: onboarding.verification,
            });
        }
        if onboarding.partner_membership_required && !partner_member {
            return Err(ProviderError::PartnerMembershipRequired);
        }
        Ok(self.next(
            ApplicationStatus::Approved {
                at: ctx.now,
                by: reviewer,
            },
            "provider.application_approved",
            json!({ "reviewer": reviewer }),
        ))
    }

    pub fn reject(&self, reason: &str, reviewer: UserId, ctx: &mut Context<'_>) -> Decided {
        self.under_review("reject")?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(ProviderError::ReasonRequired);
        }
        Ok(self.next(
            ApplicationStatus::Rejected {
                at: ctx.now,
                by: reviewer,
                reason: reason.to_string(),
            },
            "provider.application_rejected",
            json!({ "reviewer": reviewer, "reason": reason }),
        ))
    }

    /// The applicant accepts the agreement text `version`. Where the rulebook asks for no
    /// deposit the application is admitted at once.
    pub fn accept_agreement(
        &self,
        version: &str,
        signer: UserId,
        ctx: &mut Context<'_>,
    ) -> Decided {
        if !matches!(self.status, ApplicationStatus::Approved { .. }) {
            return Err(self.refuse("accept the agreement"));
        }
        let version = version.trim();
        if version.is_empty() {
            return Err(ProviderError::InvalidAgreement);
        }
        let agreement = AgreementAcceptance {
            version: version.to_string(),
            signer,
            at: ctx.now,
        };
        let (mut next, mut outcome) = self.next(
            ApplicationStatus::AgreementAccepted { at: ctx.now },
            "provider.agreement_accepted",
            json!({ "agreement": agreement }),
        );
        next.agreement = Some(agreement);
        if next.outstanding_deposit(ctx.rulebook)?.is_zero() {
            next.status = ApplicationStatus::Admitted { at: ctx.now };
            outcome = outcome.event(
                "provider.application_admitted",
                self.subject(),
                json!({ "application": self.id }),
            );
        }
        Ok((next, outcome))
    }

    /// A deposit payment (ALI-R art.13(7), TC 3.1.5, JD art.9(6)): Dr operator cash,
    /// Cr deposits held for the provider. Parts are accepted up to the rulebook's amount;
    /// the payment that completes it admits the application.
    pub fn pay_deposit(&self, amount: Fen, ctx: &mut Context<'_>) -> Decided {
        if !matches!(self.status, ApplicationStatus::AgreementAccepted { .. }) {
            return Err(self.refuse("pay the deposit"));
        }
        if amount.is_zero() || amount.is_negative() {
            return Err(ProviderError::InvalidAmount);
        }
        let outstanding = self.outstanding_deposit(ctx.rulebook)?;
        if amount > outstanding {
            return Err(ProviderError::DepositExceedsOutstanding { outstanding });
        }
        let owner = self.provider.to_string();
        let tx = LedgerTransaction::new(
            ctx.ids.next_id(),
            "deposit_paid",
            owner.clone(),
            ctx.now,
            vec![
                Posting::debit(Account::operator(AccountKind::OperatorCash), amount),
                Posting::credit(Account::new(AccountKind::DepositsHeld, owner), amount)?,
            ],
        )?;
        let mut next = self.clone();
        next.deposit_paid = self.deposit_paid.checked_add(amount)?;
        let left = next.outstanding_deposit(ctx.rulebook)?;
        let mut outcome = Outcome::default().event(
            "provider.deposit_payment_received",
            self.subject(),
            json!({
                "application": self.id,
                "amount": amount,
                "paid": next.deposit_paid,
                "outstanding": left,
                "transaction": tx.id(),
            }),
        );
        outcome.transactions.push(tx);
        if left.is_zero() {
            next.status = ApplicationStatus::Admitted { at: ctx.now };
            outcome = outcome.event(
                "provider.application_admitted",
                self.subject(),
                json!({ "application": self.id, "deposit": next.deposit_paid }),
            );
        }
        Ok((next, outcome))
    }

    /// The applicant gives up. Not once deposit money came in: returning it is the deposit
    /// refund's business (SPEC §10), not a silent withdrawal.
    pub fn withdraw(&self, ctx: &mut Context<'_>) -> Decided {
        let open = !self.status.ended_without_admission()
            && !matches!(self.status, ApplicationStatus::Admitted { .. });
        if !open || !self.deposit_paid.is_zero() {
            return Err(self.refuse("withdraw"));
        }
        Ok(self.next(
            ApplicationStatus::Withdrawn { at: ctx.now },
            "provider.application_withdrawn",
            json!({}),
        ))
    }
}
