//! Test fixtures shared by the provider and storefront tests: the builtin rulebooks, a
//! context at a chosen instant, materials, and an admitted provider.

use std::sync::OnceLock;

use jiff::Timestamp;
use uuid::Uuid;

use super::{Applicant, Application, EntityKind, MaterialRef, Provider, VerificationDecision};
use crate::calendar::WorkingCalendar;
use crate::decision::{Context, SequentialIds};
use crate::ids::{MemberId, UserId};
use crate::rulebook::{Library, MarketplaceRulebook, Material};
use crate::time::beijing_date;

fn library() -> &'static Library {
    static LIB: OnceLock<Library> = OnceLock::new();
    LIB.get_or_init(|| Library::builtin().unwrap())
}

fn calendar() -> &'static WorkingCalendar {
    static CAL: OnceLock<WorkingCalendar> = OnceLock::new();
    CAL.get_or_init(|| WorkingCalendar::builtin().unwrap())
}

pub(crate) fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// The rulebook of `family` in force in mid-2025.
pub(crate) fn book(family: &str) -> MarketplaceRulebook {
    in_force(family, ts("2025-06-01T00:00:00+08:00"))
}

fn in_force(family: &str, at: Timestamp) -> MarketplaceRulebook {
    library()
        .in_force(family, beijing_date(at))
        .unwrap()
        .as_marketplace()
        .unwrap()
        .clone()
}

/// One marketplace at one instant; move `now` between commands.
pub(crate) struct World {
    pub rulebook: MarketplaceRulebook,
    pub ids: SequentialIds,
    pub now: Timestamp,
    users: u64,
}

impl World {
    pub(crate) fn new(family: &str, now: &str) -> Self {
        let now = ts(now);
        Self {
            rulebook: in_force(family, now),
            ids: SequentialIds::new(7),
            now,
            users: 0,
        }
    }

    pub(crate) fn ctx(&mut self) -> Context<'_> {
        Context {
            now: self.now,
            rulebook: &self.rulebook,
            calendar: calendar(),
            ids: &mut self.ids,
        }
    }

    /// A fresh staff user (reviewer, signer, operator).
    pub(crate) fn user(&mut self) -> UserId {
        self.users += 1;
        UserId(Uuid::from_u64_pair(99, self.users))
    }

    pub(crate) fn member(&mut self) -> MemberId {
        self.users += 1;
        MemberId(Uuid::from_u64_pair(98, self.users))
    }
}

pub(crate) fn material_at(kind: Material, at: Timestamp) -> MaterialRef {
    MaterialRef {
        kind,
        file_id: Uuid::from_u64_pair(5, kind as u64),
        sha256: "ab".repeat(32),
        size_bytes: 48_213,
        content_type: "application/pdf".into(),
        uploaded_at: at,
    }
}

pub(crate) fn material(kind: Material) -> MaterialRef {
    material_at(kind, ts("2025-06-01T09:00:00+08:00"))
}

/// A submitted enterprise application with every required upload.
pub(crate) fn submitted(w: &mut World) -> (Provider, Application) {
    let member = w.member();
    let (p, app, _) = Application::start(
        Applicant::New {
            member,
            entity: EntityKind::Enterprise,
        },
        false,
        &mut w.ctx(),
    )
    .unwrap();
    let mut app = app;
    for kind in app.missing_materials(&w.rulebook) {
        let now = w.now;
        app = app
            .attach_material(material_at(kind, now), &mut w.ctx())
            .unwrap()
            .0;
    }
    let app = app.submit(&mut w.ctx()).unwrap().0;
    (p, app)
}

/// An enterprise admitted through the whole flow, deposit paid in one payment.
pub(crate) fn active_provider(w: &mut World) -> (Provider, Application) {
    let (p, app) = submitted(w);
    let reviewer = w.user();
    let app = app.start_review(reviewer, &mut w.ctx()).unwrap().0;
    let kind = w.rulebook.onboarding.verification;
    let p = p
        .record_verification(kind, VerificationDecision::Verified, reviewer, &mut w.ctx())
        .unwrap()
        .0;
    let app = app.approve(&p, true, reviewer, &mut w.ctx()).unwrap().0;
    let signer = w.user();
    let app = app
        .accept_agreement("2021-v1", signer, &mut w.ctx())
        .unwrap()
        .0;
    let amount = w.rulebook.deposit.required_amount;
    let app = app.pay_deposit(amount, &mut w.ctx()).unwrap().0;
    let p = p.activate(&app, &mut w.ctx()).unwrap().0;
    (p, app)
}
