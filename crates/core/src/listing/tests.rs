//! The product and review rules of SPEC §5, on the builtin rulebooks.

use super::testkit::{PAID, UNPAID, World, ali_domains, complete_content, draft, free, one_off};
use super::*;
use crate::catalog::{DeclaredRefundPolicy, ProductCategory};
use crate::decision::{DomainRefusal, Outcome, RefusalClass};
use crate::ids::UserId;
use crate::rulebook::{ListingField, ProhibitedContent, RefundWindow};

fn approve_all(reviewer: UserId, p: &Product) -> Approve {
    Approve {
        reviewer,
        acknowledged: p
            .pending
            .as_ref()
            .unwrap()
            .findings()
            .iter()
            .map(|f| FindingAck {
                finding: f.id,
                note: Some("checked with the provider".into()),
            })
            .collect(),
    }
}

/// Approves `p`, acknowledging every finding.
fn approve(
    w: &mut World,
    p: &Product,
    standing: ProviderStanding,
) -> Result<(Product, Outcome), ListingError> {
    let a = approve_all(w.reviewer, p);
    p.approve(&mut w.ctx(), a, standing)
}

#[test]
fn new_product_starts_unlisted_with_a_draft_version_one() {
    let mut w = World::new("ali");
    let p = w.create(
        ProductCategory::Image,
        draft(one_off(1_000), complete_content()),
    );
    assert_eq!(p.status(), ProductStatus::Unlisted);
    let v = p.pending.as_ref().unwrap();
    assert_eq!((v.number, v.status_name()), (1, "draft"));
    assert!(p.catalogue_entry(0, None).is_none());
}

#[test]
fn submission_refuses_missing_required_fields_listing_each() {
    let mut w = World::new("jd");
    let mut content = complete_content();
    content.terms.clear();
    content.open_source = None;
    content.own_product_page = " ".into();
    let p = w.create(ProductCategory::Application, draft(one_off(99), content));
    let err = p.submit(&mut w.ctx(), PAID, &ali_domains()).unwrap_err();
    assert_eq!(err.code(), "missing_field");
    assert_eq!(err.class(), RefusalClass::Invalid);
    assert_eq!(
        err,
        ListingError::MissingFields(vec![
            ListingField::Terms,
            ListingField::OpenSourceLicences,
            ListingField::OwnProductPage,
        ])
    );
}

#[test]
fn paid_product_needs_fully_paid_deposit() {
    let mut w = World::new("ali");
    let p = w.create(
        ProductCategory::Image,
        draft(one_off(1_000), complete_content()),
    );
    let err = p.submit(&mut w.ctx(), UNPAID, &ali_domains()).unwrap_err();
    assert_eq!(
        (err.code(), err.class()),
        ("deposit_missing", RefusalClass::Conflict)
    );
    // Submitted while paid up, the deposit is checked again when the reviewer approves.
    let p = w.submit(&p);
    let err = approve(&mut w, &p, UNPAID).unwrap_err();
    assert_eq!(err.code(), "deposit_missing");
}

#[test]
fn free_product_can_be_listed_without_deposit() {
    let mut w = World::new("tc");
    let p = w.create(ProductCategory::Tool, draft(free(), complete_content()));
    let (p, _) = p.submit(&mut w.ctx(), UNPAID, &ali_domains()).unwrap();
    let (p, _) = approve(&mut w, &p, UNPAID).unwrap();
    assert_eq!(p.status(), ProductStatus::Listed);
}

#[test]
fn approval_makes_the_version_live_and_searchable() {
    let mut w = World::new("ali");
    let p = w.create(
        ProductCategory::Image,
        draft(one_off(1_000), complete_content()),
    );
    let p = w.submit(&p);
    let (p, outcome) = approve(&mut w, &p, PAID).unwrap();
    assert_eq!(p.status(), ProductStatus::Listed);
    assert!(p.pending.is_none());
    let live = p.live.as_ref().unwrap();
    assert_eq!(live.status_name(), "approved");
    let class = live.submission().unwrap().refund_class;
    assert_eq!(class.window, RefundWindow::DaysFromPurchase(5));
    assert_eq!(outcome.events[0].kind, "product.version_approved");
    let entry = p.catalogue_entry(3, None).unwrap();
    assert_eq!((entry.price.fen(), entry.sales), (100_000, 3));
}

#[test]
fn update_to_live_product_keeps_previous_version_live_until_approved() {
    let mut w = World::new("ali");
    let p = w.live_image();
    let v1 = p.live.as_ref().unwrap().id;
    let (p, _) = p
        .edit(&mut w.ctx(), draft(one_off(1_200), complete_content()))
        .unwrap();
    let p = w.submit(&p);
    // Under review: version 1 is still what buyers see and buy.
    assert_eq!(p.live.as_ref().unwrap().id, v1);
    assert_eq!(p.catalogue_entry(0, None).unwrap().price.fen(), 100_000);
    assert_eq!(p.pending.as_ref().unwrap().number, 2);
    // Rejected: version 1 stays live.
    let reject = Reject {
        reviewer: w.reviewer,
        reasons: vec![],
        findings: vec![],
        note: Some("价格说明与属性不符".into()),
    };
    let (p, _) = p.reject(&mut w.ctx(), reject).unwrap();
    assert_eq!(p.live.as_ref().unwrap().id, v1);
    assert_eq!(p.status(), ProductStatus::Listed);
    // Edited again (a new version 3), submitted, approved: it replaces version 1.
    let (p, _) = p
        .edit(&mut w.ctx(), draft(one_off(1_200), complete_content()))
        .unwrap();
    assert_eq!(p.pending.as_ref().unwrap().number, 3);
    let p = w.submit(&p);
    let (p, outcome) = approve(&mut w, &p, PAID).unwrap();
    assert_eq!(p.live.as_ref().unwrap().number, 3);
    assert_eq!(p.catalogue_entry(0, None).unwrap().price.fen(), 120_000);
    assert_eq!(outcome.events[0].payload["replaces"], serde_json::json!(v1));
}

#[test]
fn a_submitted_version_cannot_be_edited_until_withdrawn() {
    let mut w = World::new("ali");
    let p = w.create(
        ProductCategory::Image,
        draft(one_off(10), complete_content()),
    );
    let p = w.submit(&p);
    let err = p
        .edit(&mut w.ctx(), draft(one_off(20), complete_content()))
        .unwrap_err();
    assert_eq!(err.code(), "invalid_transition");
    let (p, _) = p.withdraw(&mut w.ctx()).unwrap();
    let (p, _) = p
        .edit(&mut w.ctx(), draft(one_off(20), complete_content()))
        .unwrap();
    let v = p.pending.as_ref().unwrap();
    assert_eq!((v.number, v.terms.price.fen()), (1, 2_000));
}

#[test]
fn automatic_checks_flag_zui_you_and_reviewer_must_acknowledge_each_finding() {
    let mut w = World::new("ali");
    let mut content = complete_content();
    content.description = "国内最优的备份方案，详询微信：backup_2020".into();
    let p = w.create(ProductCategory::Image, draft(one_off(1_000), content));
    let p = w.submit(&p);
    let findings = p.pending.as_ref().unwrap().findings().to_vec();
    let kinds: Vec<_> = findings.iter().map(|f| f.kind).collect();
    assert_eq!(
        kinds,
        [FindingKind::AbsoluteClaim, FindingKind::OffPlatformContact]
    );
    let partial = Approve {
        reviewer: w.reviewer,
        acknowledged: vec![FindingAck {
            finding: 1,
            note: None,
        }],
    };
    let err = p.approve(&mut w.ctx(), partial, PAID).unwrap_err();
    assert_eq!(err, ListingError::FindingsNotAcknowledged(vec![2]));
    assert_eq!(err.code(), "findings_not_acknowledged");
    let stray = Approve {
        reviewer: w.reviewer,
        acknowledged: vec![FindingAck {
            finding: 9,
            note: None,
        }],
    };
    assert_eq!(
        p.approve(&mut w.ctx(), stray, PAID).unwrap_err().code(),
        "unknown_finding"
    );
    let (p, _) = approve(&mut w, &p, PAID).unwrap();
    let VersionStatus::Approved { approval, .. } = &p.live.as_ref().unwrap().status else {
        panic!("not approved");
    };
    let acked: Vec<_> = approval
        .acknowledgements
        .iter()
        .map(|a| a.finding)
        .collect();
    assert_eq!(acked, [1, 2]);
    assert!(approval.acknowledgements.iter().all(|a| a.by == w.reviewer));
}

#[test]
fn fixing_the_flagged_claim_gives_a_clean_submission() {
    let mut w = World::new("ali");
    let mut content = complete_content();
    content.description = "最优的备份方案".into();
    let p = w.create(
        ProductCategory::Image,
        draft(one_off(1_000), content.clone()),
    );
    let p = w.submit(&p);
    let reject = Reject {
        reviewer: w.reviewer,
        reasons: vec![],
        findings: vec![1],
        note: None,
    };
    let (p, _) = p.reject(&mut w.ctx(), reject).unwrap();
    assert_eq!(p.status(), ProductStatus::Unlisted);
    content.description = "可靠的备份方案".into();
    let (p, _) = p
        .edit(&mut w.ctx(), draft(one_off(1_000), content))
        .unwrap();
    let p = w.submit(&p);
    assert!(p.pending.as_ref().unwrap().findings().is_empty());
    let approve = Approve {
        reviewer: w.reviewer,
        acknowledged: vec![],
    };
    let (p, _) = p.approve(&mut w.ctx(), approve, PAID).unwrap();
    assert_eq!(p.status(), ProductStatus::Listed);
}

#[test]
fn rejection_reasons_come_from_the_rulebook_prohibited_content_list() {
    let mut w = World::new("ali");
    let p = w.create(
        ProductCategory::Image,
        draft(one_off(1_000), complete_content()),
    );
    let p = w.submit(&p);
    let reviewer = w.reviewer;
    let reject = |reasons: Vec<ProhibitedContent>, note: Option<&str>| Reject {
        reviewer,
        reasons,
        findings: vec![],
        note: note.map(str::to_string),
    };
    // Spam advertising is a TC reason (annex G1), not an ALI one.
    let err = p
        .reject(
            &mut w.ctx(),
            reject(vec![ProhibitedContent::SpamAdvertising], None),
        )
        .unwrap_err();
    assert_eq!(err.code(), "reason_not_in_rulebook");
    let err = p
        .reject(&mut w.ctx(), reject(vec![], Some("  ")))
        .unwrap_err();
    assert_eq!(err.code(), "rejection_reason_required");
    let (p, outcome) = p
        .reject(
            &mut w.ctx(),
            reject(vec![ProhibitedContent::Malware], Some("含后门程序")),
        )
        .unwrap();
    let v = p.pending.as_ref().unwrap();
    let VersionStatus::Rejected { rejection, .. } = &v.status else {
        panic!("not rejected");
    };
    assert_eq!(rejection.reasons, [ProhibitedContent::Malware]);
    assert_eq!(
        outcome.events[0].payload["rejection"]["reasons"][0],
        "malware"
    );
}

#[test]
fn provider_delists_and_relists_but_operator_holds_outrank_it() {
    let mut w = World::new("ali");
    let operator = Some(w.reviewer);
    let p = w.live_image();
    let (p, _) = p.delist(&mut w.ctx()).unwrap();
    assert_eq!(p.status(), ProductStatus::DelistedByProvider);
    assert!(!p.is_on_sale());
    assert_eq!(
        p.delist(&mut w.ctx()).unwrap_err().code(),
        "invalid_transition"
    );
    assert_eq!(
        p.relist(&mut w.ctx(), UNPAID).unwrap_err().code(),
        "deposit_missing"
    );
    let (p, _) = p.relist(&mut w.ctx(), PAID).unwrap();
    assert_eq!(p.status(), ProductStatus::Listed);

    let (p, _) = p
        .place_hold(
            &mut w.ctx(),
            "saas_delivery_failure",
            HoldKind::HiddenFromSearch,
            "发货失败",
            None,
        )
        .unwrap();
    assert_eq!(p.status(), ProductStatus::HiddenFromSearch);
    assert!(p.is_on_sale() && !p.is_searchable());
    let (p, _) = p
        .place_hold(
            &mut w.ctx(),
            "violation:ALI-B1",
            HoldKind::Delisted,
            "冒用品牌",
            operator,
        )
        .unwrap();
    assert_eq!(p.status(), ProductStatus::DelistedByOperator);
    // The provider cannot lift an operator delisting by relisting.
    assert_eq!(
        p.relist(&mut w.ctx(), PAID).unwrap_err().code(),
        "invalid_transition"
    );
    let (p, _) = p
        .lift_hold(&mut w.ctx(), "violation:ALI-B1", operator)
        .unwrap();
    assert_eq!(p.status(), ProductStatus::HiddenFromSearch);
    assert_eq!(
        p.lift_hold(&mut w.ctx(), "violation:ALI-B1", None)
            .unwrap_err()
            .code(),
        "hold_not_found"
    );
}

#[test]
fn api_products_cannot_promise_pro_rata_refunds() {
    let mut w = World::new("ali");
    let mut terms = one_off(100);
    terms.refund_policy = DeclaredRefundPolicy::ProRataUnusedTime;
    let new = NewProduct {
        provider: w.provider,
        store: w.store,
        category: ProductCategory::Api,
        sales_mode: crate::catalog::SalesMode::Consignment,
        terms,
        content: complete_content(),
    };
    let err = Product::create(&mut w.ctx(), new).unwrap_err();
    assert_eq!(err.code(), "refund_policy_not_allowed");
}

#[test]
fn absurd_prices_are_refused_when_typed() {
    let mut w = World::new("ali");
    let p = w.live_image();
    let mut terms = one_off(1);
    terms.price = crate::money::Fen::new(i64::MAX);
    let err = p
        .edit(&mut w.ctx(), draft(terms, complete_content()))
        .unwrap_err();
    assert_eq!(err.code(), "price_out_of_range");
    assert!(err.to_string().contains("100000000.00"), "{err}");
}

#[test]
fn discarding_an_update_keeps_the_live_version() {
    let mut w = World::new("ali");
    let p = w.live_image();
    let (p, _) = p
        .edit(&mut w.ctx(), draft(one_off(5), complete_content()))
        .unwrap();
    let (p, _) = p.discard_pending(&mut w.ctx()).unwrap();
    assert!(p.pending.is_none());
    assert_eq!(p.live.as_ref().unwrap().terms.price.fen(), 100_000);
}

#[test]
fn product_round_trips_through_json() {
    let mut w = World::new("ali");
    let mut content = complete_content();
    content.description = "唯一支持阿里云的方案".into();
    let p = w.create(ProductCategory::Image, draft(one_off(1_000), content));
    let p = w.submit(&p);
    let json = serde_json::to_string(&p).unwrap();
    let back: Product = serde_json::from_str(&json).unwrap();
    assert_eq!(back, p);
}
