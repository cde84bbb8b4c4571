//! Complaints and support SLAs, named after the rules (SPEC §8).

use jiff::{SignedDuration, Timestamp};
use uuid::Uuid;

use super::*;
use crate::calendar::WorkingCalendar;
use crate::catalog::{DeclaredRefundPolicy, FeeTerms, Pricing, ProductCategory, SalesMode};
use crate::decision::{Context, SequentialIds};
use crate::order::{ConfirmedPayment, PaymentTerms, PlaceOrder, PriceSnapshot, pay, place};
use crate::rulebook::{Library, MarketplaceRulebook};

fn book(id: &str) -> MarketplaceRulebook {
    Library::builtin()
        .unwrap()
        .get(id)
        .unwrap()
        .as_marketplace()
        .unwrap()
        .clone()
}

struct W {
    rb: MarketplaceRulebook,
    cal: WorkingCalendar,
    ids: SequentialIds,
}

const T0: &str = "2026-07-01T01:00:00Z"; // 09:00 Beijing, a Wednesday

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn plus(t: Timestamp, mins: i64) -> Timestamp {
    t.checked_add(SignedDuration::from_mins(mins)).unwrap()
}

impl W {
    fn new(id: &str) -> W {
        W {
            rb: book(id),
            cal: WorkingCalendar::builtin().unwrap(),
            ids: SequentialIds::new(9),
        }
    }

    fn ctx(&mut self, now: Timestamp) -> Context<'_> {
        Context {
            now,
            rulebook: &self.rb,
            calendar: &self.cal,
            ids: &mut self.ids,
        }
    }

    fn order(&mut self, paid: bool) -> Order {
        let terms = PriceSnapshot {
            product: ProductId::from_uuid(Uuid::from_u128(0xC0)),
            provider: ProviderId::from_uuid(Uuid::from_u128(0xB0)),
            category: ProductCategory::Image,
            pricing: Pricing::OneOff,
            unit_price: crate::money::Fen::from_yuan(1000).unwrap(),
            quantity: 1,
            validity_days: None,
            sales_mode: SalesMode::SelfSold,
            refund_policy: DeclaredRefundPolicy::NoRefund,
            fee_terms: FeeTerms::Commission {
                rate: "10%".parse().unwrap(),
            },
            fee_windows: Vec::new(),
        };
        let cmd = PlaceOrder {
            buyer: MemberId::from_uuid(Uuid::from_u128(0xA0)),
            terms,
            payment_terms: PaymentTerms::Prepaid,
        };
        let (order, _) = place(cmd, &mut self.ctx(at(T0))).unwrap();
        if !paid {
            return order;
        }
        let payment = ConfirmedPayment {
            amount: order.total,
            gateway: "sandbox".into(),
            gateway_reference: "p1".into(),
        };
        pay(&order, payment, &mut self.ctx(at(T0))).unwrap().0
    }

    fn open(&mut self) -> (Complaint, Outcome) {
        let order = self.order(true);
        let cmd = OpenComplaint {
            reason: ComplaintReason::NotDelivered,
            text: "镜像无法启动".into(),
            evidence: vec![Uuid::from_u128(0xF1), Uuid::from_u128(0xF1)],
        };
        Complaint::open(Uuid::from_u128(0xE0), &order, cmd, &mut self.ctx(at(T0))).unwrap()
    }
}

#[test]
fn ali_provider_must_respond_within_30_minutes_a_stored_deadline() {
    let mut w = W::new("ali-2020");
    let (c, outcome) = w.open();
    assert_eq!(c.status, ComplaintStatus::AwaitingResponse);
    assert_eq!(c.response_due, Some(plus(at(T0), 30)));
    assert_eq!(c.evidence.len(), 1, "evidence ids are deduplicated");
    assert_eq!(outcome.schedule.len(), 1);
    assert_eq!(outcome.schedule[0].kind, RESPONSE_DUE);
    assert_eq!(outcome.schedule[0].due_at, plus(at(T0), 30));
    assert_eq!(c.open_deadline(), Some(("response", plus(at(T0), 30))));
}

#[test]
fn tc_sets_no_complaint_response_window() {
    let mut w = W::new("tc-2017");
    let (c, outcome) = w.open();
    assert_eq!(c.response_due, None);
    assert!(outcome.schedule.is_empty());
}

#[test]
fn only_paid_orders_can_be_complained_about() {
    let mut w = W::new("ali-2020");
    let order = w.order(false);
    let cmd = OpenComplaint {
        reason: ComplaintReason::Other,
        text: "x".into(),
        evidence: vec![],
    };
    let err = Complaint::open(Uuid::from_u128(1), &order, cmd, &mut w.ctx(at(T0))).unwrap_err();
    assert_eq!(err, ComplaintError::OrderNotPaid);
}

#[test]
fn a_response_in_time_cancels_the_deadline_and_nothing_is_breached() {
    let mut w = W::new("ali-2020");
    let (c, _) = w.open();
    let (c, outcome, open) = c
        .message(
            Party::Provider,
            "正在处理",
            vec![],
            None,
            &mut w.ctx(plus(at(T0), 29)),
        )
        .unwrap();
    assert!(open.is_none());
    assert_eq!(c.status, ComplaintStatus::InProgress);
    assert_eq!(outcome.cancel, vec![c.response_key()]);
    // The deadline, had it still fired, does nothing.
    let (after, outcome, open) = c
        .response_due_passes(Uuid::from_u128(2), &mut w.ctx(plus(at(T0), 30)))
        .unwrap();
    assert_eq!(after, c);
    assert!(open.is_none() && outcome.events.is_empty());
}

#[test]
fn no_response_within_30_minutes_breaches_and_opens_ali_s2() {
    let mut w = W::new("ali-2020");
    let (c, _) = w.open();
    let case = Uuid::from_u128(0xCA5E);
    assert_eq!(
        c.response_due_passes(case, &mut w.ctx(plus(at(T0), 29))),
        Err(ComplaintError::NotDue)
    );
    let (c, outcome, open) = c
        .response_due_passes(case, &mut w.ctx(plus(at(T0), 30)))
        .unwrap();
    let open = open.expect("a case to open");
    assert_eq!(open.code, "ALI-S2");
    assert_eq!(open.source, CaseSource::Complaint);
    assert_eq!(open.act_on, beijing_date(plus(at(T0), 30)));
    assert_eq!(c.breaches[0].case, Some(case));
    assert_eq!(c.breaches[0].kind, BreachKind::NoResponse);
    assert_eq!(outcome.events[0].kind, "complaint.response_breached");
    assert_eq!(c.cases(), vec![case]);
    // A late response is still a response: the complaint goes on, the breach stays.
    let (c, _, _) = c
        .message(
            Party::Provider,
            "抱歉回复晚了",
            vec![],
            None,
            &mut w.ctx(plus(at(T0), 45)),
        )
        .unwrap();
    assert_eq!(c.status, ComplaintStatus::InProgress);
    assert_eq!(c.breaches.len(), 1);
}

#[test]
fn jd_maps_the_breach_to_jd_s2() {
    let mut w = W::new("jd-2019");
    let (c, _) = w.open();
    let (_, _, open) = c
        .response_due_passes(Uuid::from_u128(3), &mut w.ctx(plus(at(T0), 31)))
        .unwrap();
    assert_eq!(open.unwrap().code, "JD-S2");
}

#[test]
fn a_decision_closes_the_complaint_and_cancels_the_pending_window() {
    let mut w = W::new("ali-2020");
    let (c, _) = w.open();
    let (d, outcome, open) = c
        .decide(
            Resolution::Dismiss,
            "无证据",
            None,
            Uuid::from_u128(4),
            &mut w.ctx(at(T0)),
        )
        .unwrap();
    assert!(open.is_none());
    assert_eq!(d.status, ComplaintStatus::Dismissed);
    assert!(outcome.cancel.contains(&c.response_key()));
    assert!(
        matches!(
            d.message(Party::Buyer, "x", vec![], None, &mut w.ctx(at(T0))),
            Err(ComplaintError::InvalidTransition { .. })
        ),
        "a closed complaint takes no messages"
    );
    let case = Uuid::from_u128(5);
    let resolution = Resolution::OpenCase {
        code: "ALI-S4".into(),
        act_on: beijing_date(at(T0)),
    };
    let (d, _, open) = c
        .decide(resolution, "拒不履行承诺", None, case, &mut w.ctx(at(T0)))
        .unwrap();
    assert_eq!(d.status, ComplaintStatus::CaseOpened);
    assert_eq!(open.unwrap().reference, Some(c.reference()));
    assert_eq!(d.cases(), vec![case]);
}

#[test]
fn tc_three_failed_operator_contacts_make_the_provider_unreachable() {
    let mut w = W::new("tc-2017");
    let (c, _) = w.open();
    let case = Uuid::from_u128(6);
    let (c, outcome, open) = c
        .record_contact("phone", false, "无人接听", None, case, &mut w.ctx(at(T0)))
        .unwrap();
    assert!(open.is_none());
    assert_eq!(outcome.schedule[0].kind, UNREACHABLE_DUE);
    assert_eq!(outcome.schedule[0].due_at, plus(at(T0), 48 * 60));
    let (c, _, open) = c
        .record_contact("email", false, "", None, case, &mut w.ctx(plus(at(T0), 60)))
        .unwrap();
    assert!(open.is_none());
    let (c, outcome, open) = c
        .record_contact(
            "phone",
            false,
            "",
            None,
            case,
            &mut w.ctx(plus(at(T0), 120)),
        )
        .unwrap();
    assert_eq!(open.unwrap().code, "TC-S10");
    assert_eq!(c.breaches[0].kind, BreachKind::FailedContacts);
    assert_eq!(outcome.cancel.len(), 1, "the 48 h watch is moot");
    assert!(c.unreachable_watch.is_none());
}

#[test]
fn tc_unreachable_48_hours_after_the_operator_contact() {
    let mut w = W::new("tc-2017");
    let (c, _) = w.open();
    let case = Uuid::from_u128(7);
    let (c, outcome, _) = c
        .record_contact("phone", false, "", None, case, &mut w.ctx(at(T0)))
        .unwrap();
    let key = outcome.schedule[0].dedupe_key.clone();
    assert_eq!(
        c.unreachable_due_passes(&key, case, &mut w.ctx(plus(at(T0), 47 * 60))),
        Err(ComplaintError::NotDue)
    );
    let (after, _, open) = c
        .unreachable_due_passes(&key, case, &mut w.ctx(plus(at(T0), 48 * 60)))
        .unwrap();
    assert_eq!(open.unwrap().code, "TC-S10");
    assert_eq!(after.breaches[0].kind, BreachKind::UnreachableAfterContact);
    // Had the provider answered in between, nothing would breach.
    let (answered, outcome, _) = c
        .message(
            Party::Provider,
            "已联系客户",
            vec![],
            None,
            &mut w.ctx(plus(at(T0), 60)),
        )
        .unwrap();
    assert_eq!(outcome.cancel.len(), 2, "the response window and the watch");
    let (same, _, open) = answered
        .unreachable_due_passes(&key, case, &mut w.ctx(plus(at(T0), 48 * 60)))
        .unwrap();
    assert!(open.is_none());
    assert!(same.breaches.is_empty());
}

#[test]
fn ali_has_no_unreachable_violation_so_contacts_only_record() {
    let mut w = W::new("ali-2020");
    let (mut c, _) = w.open();
    for i in 0..4 {
        let (next, outcome, open) = c
            .record_contact(
                "phone",
                false,
                "",
                None,
                Uuid::from_u128(8),
                &mut w.ctx(plus(at(T0), i)),
            )
            .unwrap();
        assert!(open.is_none() && outcome.schedule.is_empty());
        c = next;
    }
    assert_eq!(c.contacts.len(), 4);
}

#[test]
fn the_buyer_may_withdraw_an_open_complaint_only() {
    let mut w = W::new("ali-2020");
    let (c, _) = w.open();
    let (c, outcome, _) = c.withdraw("已解决", &mut w.ctx(at(T0))).unwrap();
    assert_eq!(c.status, ComplaintStatus::Withdrawn);
    assert!(!c.status.is_open());
    assert_eq!(outcome.cancel.len(), 1);
    assert!(c.withdraw("", &mut w.ctx(at(T0))).is_err());
}

#[test]
fn tc_unreachable_72_hours_by_the_buyers_evidence() {
    let mut w = W::new("tc-2017");
    let (c, _) = w.open();
    let case = Uuid::from_u128(9);
    let now = plus(at(T0), 60);
    assert_eq!(
        c.buyer_reports_unreachable(plus(now, 1), "x", vec![], case, &mut w.ctx(now)),
        Err(ComplaintError::SinceInFuture)
    );
    // 72 hours have passed since: unreachable at once.
    let since = plus(now, -72 * 60);
    let (at_once, _, open) = c
        .buyer_reports_unreachable(since, "三天无人回复", vec![], case, &mut w.ctx(now))
        .unwrap();
    assert_eq!(open.unwrap().code, "TC-S10");
    assert_eq!(
        at_once.breaches[0].kind,
        BreachKind::UnreachableByBuyerEvidence
    );
    // Not yet: a deadline at since + 72 h re-checks.
    let since = plus(now, -10 * 60);
    let (waiting, outcome, open) = c
        .buyer_reports_unreachable(since, "十小时无人回复", vec![], case, &mut w.ctx(now))
        .unwrap();
    assert!(open.is_none());
    let key = outcome.schedule[0].dedupe_key.clone();
    assert_eq!(outcome.schedule[0].due_at, plus(since, 72 * 60));
    let (_, _, open) = waiting
        .unreachable_due_passes(&key, case, &mut w.ctx(plus(since, 72 * 60)))
        .unwrap();
    assert_eq!(open.unwrap().code, "TC-S10");
    // A provider that writes in between is reachable.
    let (answered, _, _) = waiting
        .message(
            Party::Provider,
            "已联系",
            vec![],
            None,
            &mut w.ctx(plus(now, 5)),
        )
        .unwrap();
    let (_, _, open) = answered
        .unreachable_due_passes(&key, case, &mut w.ctx(plus(since, 72 * 60)))
        .unwrap();
    assert!(open.is_none());
}

#[test]
fn ali_sets_no_buyer_evidence_hours_so_the_report_only_records() {
    let mut w = W::new("ali-2020");
    let (c, _) = w.open();
    let now = plus(at(T0), 60);
    let (c, outcome, open) = c
        .buyer_reports_unreachable(
            plus(now, -100 * 60),
            "x",
            vec![],
            Uuid::from_u128(1),
            &mut w.ctx(now),
        )
        .unwrap();
    assert!(open.is_none() && outcome.schedule.is_empty());
    assert_eq!(
        c.timeline.last().unwrap().kind,
        EntryKind::UnreachableEvidence
    );
}
