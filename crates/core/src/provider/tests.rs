//! The onboarding flow of SPEC §3 against the builtin rulebooks.

use proptest::prelude::*;

use super::testkit::{World, active_provider, material_at, submitted};
use super::*;
use crate::decision::DomainRefusal;
use crate::ledger::{Account, AccountKind, Balances};
use crate::money::Fen;
use crate::rulebook::{Material, Verification};

const NOW: &str = "2025-06-02T10:00:00+08:00";

fn reviewing(w: &mut World) -> (Provider, Application) {
    let (p, app) = submitted(w);
    let reviewer = w.user();
    let app = app.start_review(reviewer, &mut w.ctx()).unwrap().0;
    (p, app)
}

fn verified(w: &mut World, p: &Provider) -> Provider {
    let kind = w.rulebook.onboarding.verification;
    let reviewer = w.user();
    p.record_verification(kind, VerificationDecision::Verified, reviewer, &mut w.ctx())
        .unwrap()
        .0
}

#[test]
fn a_draft_cannot_be_submitted_without_the_rulebook_materials() {
    let mut w = World::new("tc", NOW);
    let member = w.member();
    let (_, app, out) = Application::start(
        Applicant::New {
            member,
            entity: EntityKind::Enterprise,
        },
        false,
        &mut w.ctx(),
    )
    .unwrap();
    assert_eq!(out.events[0].kind, "provider.application_started");
    let app = app
        .attach_material(material_at(Material::BusinessLicence, w.now), &mut w.ctx())
        .unwrap()
        .0;
    let err = app.submit(&mut w.ctx()).unwrap_err();
    assert_eq!(err.code(), "materials_missing");
    assert_eq!(
        err,
        ProviderError::MaterialsMissing {
            missing: vec![
                Material::LegalRepresentativeId,
                Material::BankAccountCertificate,
                Material::ContactDetails,
                Material::ContactQq,
            ]
        }
    );
}

#[test]
fn ali_and_tc_admit_enterprises_only_and_jd_admits_individuals_with_their_id() {
    for family in ["ali", "tc"] {
        let mut w = World::new(family, NOW);
        let member = w.member();
        let err = Application::start(
            Applicant::New {
                member,
                entity: EntityKind::Individual,
            },
            false,
            &mut w.ctx(),
        )
        .unwrap_err();
        assert_eq!(err.code(), "individuals_not_allowed", "{family}");
    }
    let mut w = World::new("jd", NOW);
    let member = w.member();
    let (_, app, _) = Application::start(
        Applicant::New {
            member,
            entity: EntityKind::Individual,
        },
        false,
        &mut w.ctx(),
    )
    .unwrap();
    assert_eq!(
        app.missing_materials(&w.rulebook),
        [
            Material::PersonalId,
            Material::ContactDetails,
            Material::ServiceInfo
        ]
    );
}

#[test]
fn needs_more_material_then_resubmitted_goes_back_to_review() {
    let mut w = World::new("ali", NOW);
    let (_, app) = reviewing(&mut w);
    let reviewer = w.user();
    let (app, out) = app
        .request_more_material(
            vec![Material::BusinessLicence],
            "the licence scan is illegible",
            reviewer,
            &mut w.ctx(),
        )
        .unwrap();
    assert_eq!(app.status.label(), "needs_more_material");
    assert_eq!(
        out.events[0].kind,
        "provider.application_more_material_requested"
    );
    // The named material must be uploaded again after the request.
    assert_eq!(
        app.resubmit(&mut w.ctx()).unwrap_err(),
        ProviderError::MaterialsMissing {
            missing: vec![Material::BusinessLicence]
        }
    );
    w.now = "2025-06-03T09:00:00+08:00".parse().unwrap();
    let app = app
        .attach_material(material_at(Material::BusinessLicence, w.now), &mut w.ctx())
        .unwrap()
        .0;
    let (app, _) = app.resubmit(&mut w.ctx()).unwrap();
    assert_eq!(app.status.label(), "resubmitted");
    let (app, _) = app.start_review(reviewer, &mut w.ctx()).unwrap();
    assert!(matches!(app.status, ApplicationStatus::UnderReview { .. }));
    // And round again.
    let (app, _) = app
        .request_more_material(vec![], "add the warranty period", reviewer, &mut w.ctx())
        .unwrap();
    assert_eq!(
        app.resubmit(&mut w.ctx()).unwrap().0.status.label(),
        "resubmitted"
    );
}

#[test]
fn reviewer_decisions_need_the_application_under_review_and_a_reason() {
    let mut w = World::new("ali", NOW);
    let (p, app) = submitted(&mut w);
    let reviewer = w.user();
    assert_eq!(
        app.reject("fake licence", reviewer, &mut w.ctx())
            .unwrap_err()
            .code(),
        "invalid_transition"
    );
    assert_eq!(
        app.approve(&p, true, reviewer, &mut w.ctx())
            .unwrap_err()
            .code(),
        "invalid_transition"
    );
    let app = app.start_review(reviewer, &mut w.ctx()).unwrap().0;
    assert_eq!(
        app.reject("  ", reviewer, &mut w.ctx()).unwrap_err().code(),
        "reason_required"
    );
    assert_eq!(
        app.request_more_material(vec![], "", reviewer, &mut w.ctx())
            .unwrap_err()
            .code(),
        "reason_required"
    );
}

#[test]
fn rejection_records_the_reason_and_the_provider_may_apply_again() {
    let mut w = World::new("ali", NOW);
    let (p, app) = reviewing(&mut w);
    let reviewer = w.user();
    let (rejected, out) = app
        .reject(
            "licence does not match the verified entity",
            reviewer,
            &mut w.ctx(),
        )
        .unwrap();
    assert!(matches!(
        &rejected.status,
        ApplicationStatus::Rejected { reason, .. } if reason == "licence does not match the verified entity"
    ));
    assert_eq!(out.events[0].kind, "provider.application_rejected");
    // While the first is open a second is refused; once rejected, a new one may start.
    let open = Application::start(
        Applicant::Returning {
            provider: &p,
            latest: Some(&app),
        },
        false,
        &mut w.ctx(),
    );
    assert_eq!(open.unwrap_err().code(), "application_open");
    let (p, second, _) = Application::start(
        Applicant::Returning {
            provider: &p,
            latest: Some(&rejected),
        },
        false,
        &mut w.ctx(),
    )
    .unwrap();
    assert_ne!(second.id, rejected.id);
    assert_eq!(
        p.status,
        ProviderStatus::Applying {
            application: Some(second.id)
        }
    );
}

#[test]
fn approval_needs_verification_of_the_rulebook_kind_and_ali_partner_membership() {
    let mut w = World::new("ali", NOW);
    let (p, app) = reviewing(&mut w);
    let reviewer = w.user();
    assert_eq!(
        app.approve(&p, true, reviewer, &mut w.ctx()).unwrap_err(),
        ProviderError::VerificationMissing {
            required: Verification::EnterpriseRealName
        }
    );
    let p = verified(&mut w, &p);
    assert_eq!(
        app.approve(&p, false, reviewer, &mut w.ctx())
            .unwrap_err()
            .code(),
        "partner_membership_required"
    );
    assert_eq!(
        app.approve(&p, true, reviewer, &mut w.ctx())
            .unwrap()
            .0
            .status
            .label(),
        "approved"
    );

    // TC does not require partner membership.
    let mut tc = World::new("tc", NOW);
    let (p, app) = reviewing(&mut tc);
    let p = verified(&mut tc, &p);
    let reviewer = tc.user();
    assert!(app.approve(&p, false, reviewer, &mut tc.ctx()).is_ok());
}

#[test]
fn agreement_acceptance_records_version_signer_and_time() {
    let mut w = World::new("jd", NOW);
    let (p, app) = reviewing(&mut w);
    let p = verified(&mut w, &p);
    let reviewer = w.user();
    let app = app.approve(&p, false, reviewer, &mut w.ctx()).unwrap().0;
    let signer = w.user();
    assert_eq!(
        app.accept_agreement(" ", signer, &mut w.ctx())
            .unwrap_err()
            .code(),
        "invalid_agreement"
    );
    let (app, _) = app
        .accept_agreement("jd-2019-v3", signer, &mut w.ctx())
        .unwrap();
    assert_eq!(
        app.agreement,
        Some(AgreementAcceptance {
            version: "jd-2019-v3".into(),
            signer,
            at: w.now
        })
    );
    assert_eq!(
        app.accept_agreement("jd-2019-v3", signer, &mut w.ctx())
            .unwrap_err()
            .code(),
        "invalid_transition"
    );
}

fn agreed(w: &mut World) -> (Provider, Application) {
    let (p, app) = reviewing(w);
    let p = verified(w, &p);
    let reviewer = w.user();
    let app = app.approve(&p, true, reviewer, &mut w.ctx()).unwrap().0;
    let signer = w.user();
    let app = app.accept_agreement("v1", signer, &mut w.ctx()).unwrap().0;
    (p, app)
}

#[test]
fn deposit_paid_posts_a_balanced_transaction_to_deposits_held() {
    let mut w = World::new("ali", NOW);
    let (p, app) = agreed(&mut w);
    let required = w.rulebook.deposit.required_amount;
    assert_eq!(required, Fen::from_yuan(10_000).unwrap());
    let mut book = Balances::default();

    // In two parts: 4,000.00 then the rest.
    let first = Fen::from_yuan(4_000).unwrap();
    let (app, out) = app.pay_deposit(first, &mut w.ctx()).unwrap();
    assert_eq!(app.status.label(), "agreement_accepted");
    let tx = &out.transactions[0];
    assert_eq!(tx.kind(), "deposit_paid");
    book.apply(tx).unwrap();
    assert_eq!(
        p.activate(&app, &mut w.ctx()).unwrap_err(),
        ProviderError::DepositNotPaid {
            outstanding: Fen::from_yuan(6_000).unwrap()
        }
    );

    let rest = app.outstanding_deposit(&w.rulebook).unwrap();
    let (app, out) = app.pay_deposit(rest, &mut w.ctx()).unwrap();
    book.apply(&out.transactions[0]).unwrap();
    assert_eq!(app.status.label(), "admitted");
    assert!(
        out.events
            .iter()
            .any(|e| e.kind == "provider.application_admitted")
    );

    let held = Account::new(AccountKind::DepositsHeld, p.id.to_string());
    assert_eq!(book.balance(&held), required.checked_neg().unwrap());
    assert_eq!(
        book.balance(&Account::operator(AccountKind::OperatorCash)),
        required
    );
    assert_eq!(book.trial_balance(), 0);

    let (p, out) = p.activate(&app, &mut w.ctx()).unwrap();
    assert!(p.is_active());
    assert_eq!(out.events[0].kind, "provider.activated");
    assert_eq!(p.materials, app.materials);
}

#[test]
fn a_deposit_payment_must_be_positive_and_not_above_what_is_outstanding() {
    let mut w = World::new("tc", NOW);
    let (_, app) = agreed(&mut w);
    assert_eq!(
        app.pay_deposit(Fen::ZERO, &mut w.ctx()).unwrap_err().code(),
        "invalid_amount"
    );
    assert_eq!(
        app.pay_deposit(Fen::new(-1), &mut w.ctx())
            .unwrap_err()
            .code(),
        "invalid_amount"
    );
    let too_much = w
        .rulebook
        .deposit
        .required_amount
        .checked_add(Fen::new(1))
        .unwrap();
    assert_eq!(
        app.pay_deposit(too_much, &mut w.ctx()).unwrap_err().code(),
        "deposit_exceeds_outstanding"
    );
}

#[test]
fn withdrawal_is_refused_once_deposit_money_came_in() {
    let mut w = World::new("jd", NOW);
    let (_, app) = agreed(&mut w);
    let (paid_part, _) = app.pay_deposit(Fen::new(100), &mut w.ctx()).unwrap();
    assert_eq!(
        paid_part.withdraw(&mut w.ctx()).unwrap_err().code(),
        "invalid_transition"
    );
    assert_eq!(
        app.withdraw(&mut w.ctx()).unwrap().0.status.label(),
        "withdrawn"
    );
}

#[test]
fn the_whole_flow_admits_a_provider_under_each_marketplace() {
    for family in ["ali", "tc", "jd"] {
        let mut w = World::new(family, NOW);
        let (p, app) = active_provider(&mut w);
        assert!(p.is_active(), "{family}");
        assert_eq!(app.status.label(), "admitted", "{family}");
        assert_eq!(app.deposit_paid, w.rulebook.deposit.required_amount);
    }
}

// ---------------------------------------------------------------------------------------------
// Property: any sequence of commands leaves the application in a legal state.

#[derive(Debug, Clone)]
enum Op {
    Attach(usize),
    AttachAll,
    Remove(usize),
    Submit,
    StartReview,
    RequestMore(Option<usize>),
    Resubmit,
    Verify,
    Approve(bool),
    Reject(bool),
    Accept,
    Pay(i64),
    PayRest,
    Withdraw,
    Activate,
    Later(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0usize..10).prop_map(Op::Attach),
        Just(Op::AttachAll),
        (0usize..10).prop_map(Op::Remove),
        Just(Op::Submit),
        Just(Op::StartReview),
        proptest::option::of(0usize..10).prop_map(Op::RequestMore),
        Just(Op::Resubmit),
        Just(Op::Verify),
        any::<bool>().prop_map(Op::Approve),
        any::<bool>().prop_map(Op::Reject),
        Just(Op::Accept),
        (-100i64..1_200_000).prop_map(Op::Pay),
        Just(Op::PayRest),
        Just(Op::Withdraw),
        Just(Op::Activate),
        (1i64..100_000).prop_map(Op::Later),
    ]
}

/// Status changes a single command may make.
fn legal(from: &str, to: &str) -> bool {
    from == to
        || matches!(
            (from, to),
            ("draft", "submitted")
                | ("submitted" | "resubmitted", "under_review")
                | (
                    "under_review",
                    "needs_more_material" | "approved" | "rejected"
                )
                | ("needs_more_material", "resubmitted")
                | ("approved", "agreement_accepted" | "admitted")
                | ("agreement_accepted", "admitted")
                | (
                    "draft"
                        | "submitted"
                        | "under_review"
                        | "needs_more_material"
                        | "resubmitted"
                        | "approved"
                        | "agreement_accepted",
                    "withdrawn"
                )
        )
}

proptest! {
    #[test]
    fn any_sequence_of_commands_leaves_the_application_in_a_legal_state(
        family in prop_oneof![Just("ali"), Just("tc"), Just("jd")],
        individual in any::<bool>(),
        ops in proptest::collection::vec(op(), 1..60),
    ) {
        let mut w = World::new(family, NOW);
        let member = w.member();
        let entity = if individual && w.rulebook.onboarding.individuals_allowed {
            EntityKind::Individual
        } else {
            EntityKind::Enterprise
        };
        let (mut p, mut app, _) = Application::start(
            Applicant::New { member, entity }, individual, &mut w.ctx()).unwrap();
        let kinds = w.rulebook.onboarding.materials.clone();
        let required = w.rulebook.deposit.required_amount;
        let mut book = Balances::default();
        let user = w.user();
        for op in ops {
            let before = app.status.label();
            let now = w.now;
            let result = match op {
                Op::Attach(i) => app.attach_material(material_at(kinds[i % kinds.len()], now), &mut w.ctx()),
                Op::AttachAll => {
                    let mut a = app.clone();
                    for k in app.missing_materials(&w.rulebook) {
                        if let Ok((n, _)) = a.attach_material(material_at(k, now), &mut w.ctx()) { a = n; }
                    }
                    Ok((a, crate::decision::Outcome::default()))
                }
                Op::Remove(i) => app.remove_material(kinds[i % kinds.len()], &mut w.ctx()),
                Op::Submit => app.submit(&mut w.ctx()),
                Op::StartReview => app.start_review(user, &mut w.ctx()),
                Op::RequestMore(k) => {
                    let named: Vec<Material> = k.map(|i| kinds[i % kinds.len()]).into_iter().collect();
                    app.request_more_material(named, "more please", user, &mut w.ctx())
                }
                Op::Resubmit => app.resubmit(&mut w.ctx()),
                Op::Verify => {
                    let kind = w.rulebook.onboarding.verification;
                    p = p.record_verification(kind, VerificationDecision::Verified, user, &mut w.ctx()).unwrap().0;
                    continue;
                }
                Op::Approve(partner) => app.approve(&p, partner, user, &mut w.ctx()),
                Op::Reject(blank) => app.reject(if blank { "" } else { "no" }, user, &mut w.ctx()),
                Op::Accept => app.accept_agreement("v1", user, &mut w.ctx()),
                Op::Pay(fen) => app.pay_deposit(Fen::new(fen), &mut w.ctx()),
                Op::PayRest => {
                    let rest = app.outstanding_deposit(&w.rulebook).unwrap();
                    app.pay_deposit(rest, &mut w.ctx())
                }
                Op::Withdraw => app.withdraw(&mut w.ctx()),
                Op::Activate => {
                    if let Ok((next, _)) = p.activate(&app, &mut w.ctx()) {
                        prop_assert_eq!(app.status.label(), "admitted");
                        p = next;
                    }
                    continue;
                }
                Op::Later(minutes) => {
                    w.now = w.now.checked_add(jiff::SignedDuration::from_mins(minutes)).unwrap();
                    continue;
                }
            };
            if let Ok((next, outcome)) = result {
                for tx in &outcome.transactions {
                    book.apply(tx).unwrap();
                }
                app = next;
            }
            let after = app.status.label();
            prop_assert!(legal(before, after), "{} -> {}", before, after);
            // The deposit: never above the requirement, and exactly what the ledger holds.
            prop_assert!(!app.deposit_paid.is_negative() && app.deposit_paid <= required);
            let held = book.balance(&Account::new(AccountKind::DepositsHeld, p.id.to_string()));
            prop_assert_eq!(held.checked_neg().unwrap(), app.deposit_paid);
            prop_assert_eq!(book.trial_balance(), 0);
            match &app.status {
                ApplicationStatus::Draft | ApplicationStatus::NeedsMoreMaterial { .. } => {}
                ApplicationStatus::Rejected { reason, .. } => prop_assert!(!reason.is_empty()),
                ApplicationStatus::Withdrawn { .. } => prop_assert!(app.deposit_paid.is_zero()),
                _ => prop_assert!(app.missing_materials(&w.rulebook).is_empty()),
            }
            let agreed = matches!(app.status,
                ApplicationStatus::AgreementAccepted { .. } | ApplicationStatus::Admitted { .. });
            if agreed { prop_assert!(app.agreement.is_some()); }
            if matches!(app.status, ApplicationStatus::Admitted { .. }) {
                prop_assert_eq!(app.deposit_paid, required);
            }
            if p.is_active() {
                prop_assert_eq!(after, "admitted");
            }
        }
    }
}
