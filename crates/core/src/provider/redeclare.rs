//! Materials after admission. A change or expiry of onboarding material must be reported
//! "自变更(或失效)之日起三十日内" (ALI-R art.22(1), TC 6.1.1, JD art.18(1)): the provider says
//! which material changed and when, and a stored deadline waits for the re-declaration. The
//! operator may also ask for more material at any time (ALI-A 3.2.1).

use jiff::civil::Date;
use jiff::{Span, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::material::{self, MaterialRef};
use super::{Provider, ProviderError};
use crate::decision::{Context, DeadlineRequest, Outcome};
use crate::ids::{ProviderId, UserId};
use crate::rulebook::{Material, Onboarding};
use crate::time::start_of_day;

/// The deadline kind the shell stores; when it fires, call
/// [`Provider::material_redeclaration_due`].
pub const REDECLARATION_DEADLINE: &str = "provider.material_redeclaration_due";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaterialChange {
    /// 变更: e.g. a new legal representative.
    Changed,
    /// 失效: e.g. the licence expires.
    Expired,
}

/// A reported change waiting for the new material.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRedeclaration {
    pub id: Uuid,
    pub kind: Material,
    pub change: MaterialChange,
    /// The day the change took effect or the material lapses; the period runs from it.
    pub effective_on: Date,
    pub reported_at: Timestamp,
    pub due_at: Timestamp,
    /// The deadline fired before the re-declaration: still owed, no longer cancellable.
    pub overdue: bool,
}

impl PendingRedeclaration {
    pub fn dedupe_key(&self, provider: ProviderId) -> String {
        format!("provider:{provider}:material_redeclaration:{}", self.id)
    }
}

/// The end of the reporting period: "自…之日起三十日内" counts from the day after the change
/// (the start day is not counted) and ends at Beijing 24:00 of the 30th day.
pub fn redeclaration_due(
    onboarding: &Onboarding,
    effective_on: Date,
) -> Result<Timestamp, ProviderError> {
    let days = i64::from(onboarding.material_change_report_days) + 1;
    let after = effective_on
        .checked_add(Span::new().days(days))
        .map_err(|_| ProviderError::DateOutOfRange)?;
    start_of_day(after).map_err(|_| ProviderError::DateOutOfRange)
}

/// The operator's request for more material after admission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaterialRequest {
    pub id: Uuid,
    pub kinds: Vec<Material>,
    pub note: String,
    pub requested_at: Timestamp,
    pub by: UserId,
}

type Decided = Result<(Provider, Outcome), ProviderError>;

impl Provider {
    fn require_active(&self, action: &'static str) -> Result<(), ProviderError> {
        if self.is_active() {
            Ok(())
        } else {
            Err(ProviderError::InvalidTransition {
                action,
                from: self.status.label(),
            })
        }
    }

    /// The provider (or the operator, having noticed) reports that a material changed or
    /// lapses on `effective_on`; a deadline is stored for the re-declaration. One report per
    /// kind at a time: the earlier deadline stands.
    pub fn report_material_change(
        &self,
        kind: Material,
        change: MaterialChange,
        effective_on: Date,
        ctx: &mut Context<'_>,
    ) -> Decided {
        self.require_active("report a material change")?;
        material::check_kind(&ctx.rulebook.onboarding, kind)?;
        if self.pending_redeclarations.iter().any(|p| p.kind == kind) {
            return Err(ProviderError::MaterialChangeAlreadyReported(kind));
        }
        let pending = PendingRedeclaration {
            id: ctx.ids.next_id(),
            kind,
            change,
            effective_on,
            reported_at: ctx.now,
            due_at: redeclaration_due(&ctx.rulebook.onboarding, effective_on)?,
            overdue: false,
        };
        let mut outcome = Outcome::default().event(
            "provider.material_change_reported",
            self.subject(),
            json!({ "redeclaration": pending }),
        );
        outcome.schedule.push(DeadlineRequest {
            kind: REDECLARATION_DEADLINE.to_string(),
            subject: self.subject(),
            due_at: pending.due_at,
            payload: json!({ "redeclaration": pending.id, "kind": kind }),
            dedupe_key: pending.dedupe_key(self.id),
        });
        let mut next = self.clone();
        next.pending_redeclarations.push(pending);
        Ok((next, outcome))
    }

    /// The new material replaces the one on file and settles a pending report of its kind
    /// (cancelling the deadline unless it already fired).
    pub fn redeclare_material(&self, material: MaterialRef, ctx: &mut Context<'_>) -> Decided {
        self.require_active("re-declare material")?;
        material::check_uploadable(&ctx.rulebook.onboarding, &material)?;
        let mut next = self.clone();
        let mut outcome = Outcome::default();
        let kind = material.kind;
        if let Some(i) = next
            .pending_redeclarations
            .iter()
            .position(|p| p.kind == kind)
        {
            let settled = next.pending_redeclarations.remove(i);
            if !settled.overdue {
                outcome.cancel.push(settled.dedupe_key(self.id));
            }
        }
        let payload = json!({ "material": material });
        material::put(&mut next.materials, material);
        Ok((
            next,
            outcome.event("provider.material_redeclared", self.subject(), payload),
        ))
    }

    /// The stored deadline fired. Harmless if the material was re-declared meanwhile or the
    /// deadline already fired: nothing changes and nothing is emitted.
    pub fn material_redeclaration_due(
        &self,
        redeclaration: Uuid,
        ctx: &mut Context<'_>,
    ) -> Decided {
        let Some(i) = self
            .pending_redeclarations
            .iter()
            .position(|p| p.id == redeclaration && !p.overdue)
        else {
            return Ok((self.clone(), Outcome::default()));
        };
        let pending = &self.pending_redeclarations[i];
        if ctx.now < pending.due_at {
            return Err(ProviderError::NotDue);
        }
        let payload = json!({
            "redeclaration": pending.id,
            "kind": pending.kind,
            "effective_on": pending.effective_on,
            "due_at": pending.due_at,
        });
        let mut next = self.clone();
        if let Some(p) = next.pending_redeclarations.get_mut(i) {
            p.overdue = true;
        }
        Ok((
            next,
            Outcome::default().event("provider.material_overdue", self.subject(), payload),
        ))
    }

    /// The operator asks an admitted provider for more material (ALI-A 3.2.1). The sources
    /// give no period to answer in, so no deadline is stored.
    pub fn request_material(
        &self,
        kinds: Vec<Material>,
        note: &str,
        by: UserId,
        ctx: &mut Context<'_>,
    ) -> Decided {
        self.require_active("request material")?;
        let note = note.trim();
        if note.is_empty() {
            return Err(ProviderError::ReasonRequired);
        }
        for kind in &kinds {
            material::check_kind(&ctx.rulebook.onboarding, *kind)?;
        }
        let request = MaterialRequest {
            id: ctx.ids.next_id(),
            kinds,
            note: note.to_string(),
            requested_at: ctx.now,
            by,
        };
        let outcome = Outcome::default().event(
            "provider.material_requested",
            self.subject(),
            json!({ "request": request }),
        );
        let mut next = self.clone();
        next.material_requests.push(request);
        Ok((next, outcome))
    }

    /// The provider answers a request; every kind it named must be among `materials`.
    pub fn supply_material(
        &self,
        request: Uuid,
        materials: Vec<MaterialRef>,
        ctx: &mut Context<'_>,
    ) -> Decided {
        self.require_active("supply material")?;
        let Some(i) = self.material_requests.iter().position(|r| r.id == request) else {
            return Err(ProviderError::MaterialRequestNotFound);
        };
        for m in &materials {
            material::check_uploadable(&ctx.rulebook.onboarding, m)?;
        }
        let missing = material::missing(&materials, &self.material_requests[i].kinds);
        if !missing.is_empty() {
            return Err(ProviderError::MaterialsMissing { missing });
        }
        let mut next = self.clone();
        next.material_requests.remove(i);
        let payload = json!({ "request": request, "materials": materials });
        for m in materials {
            material::put(&mut next.materials, m);
        }
        Ok((
            next,
            Outcome::default().event("provider.material_supplied", self.subject(), payload),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::DomainRefusal;
    use crate::provider::testkit::{World, active_provider, material_at, ts};

    #[test]
    fn a_changed_material_must_be_redeclared_by_the_end_of_the_thirtieth_day() {
        let mut w = World::new("ali", "2025-06-02T10:00:00+08:00");
        let (p, _) = active_provider(&mut w);
        let changed_on: Date = "2025-06-01".parse().unwrap();
        let (p, out) = p
            .report_material_change(
                Material::BusinessLicence,
                MaterialChange::Changed,
                changed_on,
                &mut w.ctx(),
            )
            .unwrap();
        let deadline = &out.schedule[0];
        assert_eq!(deadline.kind, REDECLARATION_DEADLINE);
        // 2025-06-01 + 30 days = 2025-07-01, due at its Beijing 24:00.
        assert_eq!(deadline.due_at, ts("2025-07-02T00:00:00+08:00"));
        assert_eq!(
            p.report_material_change(
                Material::BusinessLicence,
                MaterialChange::Expired,
                changed_on,
                &mut w.ctx()
            )
            .unwrap_err()
            .code(),
            "material_change_already_reported"
        );
        w.now = ts("2025-06-20T10:00:00+08:00");
        let (p, out) = p
            .redeclare_material(material_at(Material::BusinessLicence, w.now), &mut w.ctx())
            .unwrap();
        assert_eq!(out.cancel, std::slice::from_ref(&deadline.dedupe_key));
        assert!(p.pending_redeclarations.is_empty());
        assert_eq!(
            p.materials
                .iter()
                .find(|m| m.kind == Material::BusinessLicence)
                .unwrap()
                .uploaded_at,
            w.now
        );
    }

    #[test]
    fn an_overdue_redeclaration_yields_material_overdue_once() {
        let mut w = World::new("tc", "2025-06-02T10:00:00+08:00");
        let (p, _) = active_provider(&mut w);
        let (p, out) = p
            .report_material_change(
                Material::BankAccountCertificate,
                MaterialChange::Expired,
                "2025-06-10".parse().unwrap(),
                &mut w.ctx(),
            )
            .unwrap();
        let id = p.pending_redeclarations[0].id;
        w.now = ts("2025-07-01T10:00:00+08:00");
        assert_eq!(
            p.material_redeclaration_due(id, &mut w.ctx())
                .unwrap_err()
                .code(),
            "not_due"
        );
        w.now = out.schedule[0].due_at;
        let (p, fired) = p.material_redeclaration_due(id, &mut w.ctx()).unwrap();
        assert_eq!(fired.events[0].kind, "provider.material_overdue");
        let (same, again) = p.material_redeclaration_due(id, &mut w.ctx()).unwrap();
        assert_eq!((same, again), (p.clone(), Outcome::default()));
        // Re-declared late: settled, and nothing to cancel since the deadline fired.
        let (p, out) = p
            .redeclare_material(
                material_at(Material::BankAccountCertificate, w.now),
                &mut w.ctx(),
            )
            .unwrap();
        assert!(out.cancel.is_empty() && p.pending_redeclarations.is_empty());
    }

    #[test]
    fn exit_cancels_pending_redeclaration_deadlines() {
        let mut w = World::new("jd", "2025-06-02T10:00:00+08:00");
        let (p, _) = active_provider(&mut w);
        let (p, out) = p
            .report_material_change(
                Material::ContactDetails,
                MaterialChange::Changed,
                "2025-06-02".parse().unwrap(),
                &mut w.ctx(),
            )
            .unwrap();
        let (_, exit) = p.exit(true, &mut w.ctx()).unwrap();
        assert_eq!(exit.cancel, [out.schedule[0].dedupe_key.clone()]);
    }

    #[test]
    fn operator_may_ask_an_admitted_provider_for_more_material() {
        let mut w = World::new("ali", "2025-06-02T10:00:00+08:00");
        let (p, _) = active_provider(&mut w);
        let (p, _) = p
            .request_material(
                vec![Material::ServiceInfo],
                "warranty period unclear",
                w.user(),
                &mut w.ctx(),
            )
            .unwrap();
        let request = p.material_requests[0].id;
        assert_eq!(
            p.supply_material(request, vec![], &mut w.ctx())
                .unwrap_err()
                .code(),
            "materials_missing"
        );
        let (p, out) = p
            .supply_material(
                request,
                vec![material_at(Material::ServiceInfo, w.now)],
                &mut w.ctx(),
            )
            .unwrap();
        assert!(p.material_requests.is_empty());
        assert_eq!(out.events[0].kind, "provider.material_supplied");
        assert_eq!(
            p.supply_material(request, vec![], &mut w.ctx())
                .unwrap_err()
                .code(),
            "material_request_not_found"
        );
    }
}
