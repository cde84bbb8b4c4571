//! Invoices, named after the rules (SPEC §11 "Invoices", §7 item 8).

use jiff::{SignedDuration, Timestamp};
use uuid::Uuid;

use super::*;
use crate::catalog::{Pricing, ProductCategory};
use crate::decision::DomainRefusal;
use crate::order::fixture::{Harness, terms, yuan};
use crate::order::{
    Decider, PaymentTerms, Refund, RefundBasis, RefundOrigin, RefundPayment, RefundStatus,
};

/// 09:00 Beijing on 2026-07-01.
const T0: &str = "2026-07-01T01:00:00Z";

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn days(t: Timestamp, n: i64) -> Timestamp {
    t.checked_add(SignedDuration::from_hours(24 * n)).unwrap()
}

/// The order harness under a rulebook family, for orders and decision contexts.
struct W {
    h: Harness,
}

impl W {
    fn new(family: &str) -> W {
        W {
            h: Harness::new(family, at(T0)),
        }
    }

    fn ctx(&mut self, now: Timestamp) -> Context<'_> {
        Context {
            now,
            rulebook: &self.h.rulebook,
            calendar: &self.h.calendar,
            ids: &mut self.h.ids,
        }
    }

    /// A one-off image at `price` sold in `mode`, paid at T0 if `paid`.
    fn order(&mut self, price: Fen, mode: SalesMode, paid: bool) -> Order {
        let mut t = terms(ProductCategory::Image, Pricing::OneOff, price);
        t.sales_mode = mode;
        let order = self.h.place(t, PaymentTerms::Prepaid);
        if paid {
            self.h.pay(&order).unwrap()
        } else {
            order
        }
    }

    /// A paid self-sold order at 1000.00 whose invoice `number` was issued at `when`.
    fn issued(&mut self, number: &str, when: Timestamp) -> (Order, InvoiceRequest) {
        let order = self.order(yuan(1000), SalesMode::SelfSold, true);
        let (req, _) = self.request(&order, email());
        let (req, _) = self.provider_issues(&req, number, Fen::ZERO, when).unwrap();
        (order, req)
    }

    /// The provider issues invoice `number` with `postage` at `when`.
    fn provider_issues(
        &mut self,
        req: &InvoiceRequest,
        number: &str,
        postage: Fen,
        when: Timestamp,
    ) -> Decided {
        req.issue(
            Issuer::Provider,
            issue(number, postage),
            None,
            &mut self.ctx(when),
        )
    }

    /// The provider completes task 1 with `cmd` at `when`.
    fn provider_completes(
        &mut self,
        req: &InvoiceRequest,
        cmd: CompleteTask,
        when: Timestamp,
    ) -> Decided {
        req.complete_task(Issuer::Provider, 1, cmd, None, &mut self.ctx(when))
    }

    fn request(&mut self, order: &Order, delivery: Delivery) -> (InvoiceRequest, Outcome) {
        let cmd = RequestInvoice {
            title: "杭州云帆科技有限公司".into(),
            title_kind: TitleKind::Enterprise,
            tax_number: Some("91330106MA2CXXXX1K".into()),
            invoice_type: InvoiceType::SpecialVat,
            delivery,
        };
        InvoiceRequest::request(Uuid::from_u128(0x1E), order, cmd, &mut self.ctx(at(T0))).unwrap()
    }
}

fn email() -> Delivery {
    Delivery::Email {
        email: "finance@yunfan.example".into(),
    }
}

fn post() -> Delivery {
    Delivery::Post {
        recipient: "王芳".into(),
        phone: "13800000000".into(),
        address: "浙江省杭州市西湖区文三路 1 号".into(),
    }
}

/// The order after a refund of `amount` paid at `when` (out of escrow).
fn refunded(order: &Order, n: u128, amount: Fen, when: Timestamp) -> Order {
    let mut next = order.clone();
    next.refunds.push(Refund {
        id: RefundId::from_uuid(Uuid::from_u128(0xF00 + n)),
        origin: RefundOrigin::Operator,
        reason: None,
        note: String::new(),
        basis: RefundBasis::Arbitration,
        proposed: amount,
        requested_at: when,
        status: RefundStatus::Refunded,
        provider_note: None,
        declined_at: None,
        escalated_at: None,
        operator_note: None,
        closed_at: Some(when),
        payment: Some(RefundPayment {
            at: when,
            amount,
            decided_by: Decider::Operator,
            from_escrow: true,
            provider_part: Fen::ZERO,
            fee_part: Fen::ZERO,
        }),
    });
    next.refunded_from_escrow = next.refunded_from_escrow.checked_add(amount).unwrap();
    next
}

fn issue(number: &str, postage: Fen) -> IssueInvoice {
    IssueInvoice {
        number: number.into(),
        amount: None,
        postage,
    }
}

#[test]
fn ali_provider_must_issue_within_7_days_or_breach_is_recorded() {
    let mut w = W::new("ali");
    let order = w.order(yuan(1000), SalesMode::SelfSold, true);
    let (req, outcome) = w.request(&order, email());
    assert_eq!(req.issuer, Issuer::Provider);
    assert_eq!(req.amount, yuan(1000));
    assert_eq!(req.issue_due, Some(days(at(T0), 7)));
    assert_eq!(outcome.schedule.len(), 1);
    assert_eq!(outcome.schedule[0].kind, ISSUE_DUE);
    assert_eq!(outcome.schedule[0].dedupe_key, req.issue_key());
    assert_eq!(outcome.schedule[0].due_at, days(at(T0), 7));

    // Early firing is refused; on time it records the breach.
    let early = req
        .issue_due_passes(&mut w.ctx(days(at(T0), 6)))
        .unwrap_err();
    assert_eq!(early, InvoiceError::NotDue);
    let (late, outcome) = req.issue_due_passes(&mut w.ctx(days(at(T0), 7))).unwrap();
    assert_eq!(late.status, InvoiceStatus::Overdue);
    assert!(late.in_breach());
    assert_eq!(late.breach.unwrap().due, days(at(T0), 7));
    assert_eq!(outcome.events[0].kind, "invoice.breach");

    // Still open for issue; the breach stays on record.
    let (issued, outcome) = w
        .provider_issues(&late, "04400001", Fen::ZERO, days(at(T0), 8))
        .unwrap();
    assert_eq!(issued.status, InvoiceStatus::Issued);
    assert!(issued.breach.is_some());
    assert!(!issued.in_breach());
    assert_eq!(outcome.events[0].payload["late"], true);
    assert!(outcome.cancel.is_empty(), "the deadline already fired");
}

#[test]
fn issuing_in_time_cancels_the_deadline_and_a_late_firing_is_harmless() {
    let mut w = W::new("ali");
    let order = w.order(yuan(1000), SalesMode::SelfSold, true);
    let (req, _) = w.request(&order, email());
    let (issued, outcome) = w
        .provider_issues(&req, "04400001", Fen::ZERO, days(at(T0), 2))
        .unwrap();
    assert_eq!(outcome.cancel, vec![req.issue_key()]);
    let current = issued.current().unwrap();
    assert_eq!(current.amount, yuan(1000));
    assert_eq!(current.issued_on, jiff::civil::date(2026, 7, 3));
    let (same, outcome) = issued
        .issue_due_passes(&mut w.ctx(days(at(T0), 7)))
        .unwrap();
    assert_eq!(same, issued);
    assert!(outcome.events.is_empty());
}

#[test]
fn tc_and_jd_set_no_days_to_issue() {
    for id in ["tc", "jd"] {
        let mut w = W::new(id);
        let order = w.order(yuan(1000), SalesMode::SelfSold, true);
        let (req, outcome) = w.request(&order, email());
        assert_eq!(req.issuer, Issuer::Provider, "{id}");
        assert_eq!(req.issue_due, None, "{id}");
        assert!(outcome.schedule.is_empty(), "{id}");
    }
}

#[test]
fn consignment_invoice_is_issued_by_the_operator() {
    let mut w = W::new("ali");
    let order = w.order(yuan(1000), SalesMode::Consignment, true);
    let (req, outcome) = w.request(&order, email());
    assert_eq!(req.issuer, Issuer::Operator);
    assert_eq!(req.issue_due, None, "the 7 days bind the provider");
    assert!(outcome.schedule.is_empty());
    let err = w.provider_issues(&req, "1", Fen::ZERO, at(T0)).unwrap_err();
    assert_eq!(err.code(), "not_the_issuer");
    assert_eq!(err.class(), crate::decision::RefusalClass::Forbidden);
    let (issued, _) = req
        .issue(
            Issuer::Operator,
            issue("1", Fen::ZERO),
            None,
            &mut w.ctx(at(T0)),
        )
        .unwrap();
    assert_eq!(issued.status, InvoiceStatus::Issued);
}

#[test]
fn postage_cannot_be_charged_above_50() {
    let mut w = W::new("ali");
    let order = w.order("50.01".parse().unwrap(), SalesMode::SelfSold, true);
    let (req, _) = w.request(&order, post());
    let err = w.provider_issues(&req, "1", yuan(10), at(T0)).unwrap_err();
    assert_eq!(err.code(), "postage_not_allowed");
    assert_eq!(err.class(), crate::decision::RefusalClass::Invalid);
    // Free postage is fine.
    assert!(w.provider_issues(&req, "1", Fen::ZERO, at(T0)).is_ok());

    // At 50.00 exactly the buyer may be charged.
    let order = w.order(yuan(50), SalesMode::SelfSold, true);
    let (req, _) = w.request(&order, post());
    let (issued, _) = w.provider_issues(&req, "2", yuan(10), at(T0)).unwrap();
    assert_eq!(issued.current().unwrap().postage, yuan(10));

    // No postage on an electronic invoice.
    let (req, _) = w.request(&order, email());
    let err = w.provider_issues(&req, "3", yuan(10), at(T0)).unwrap_err();
    assert_eq!(err.code(), "postage_on_electronic_invoice");
}

#[test]
fn the_amount_is_what_was_paid_minus_refunds_so_far() {
    let mut w = W::new("ali");
    let order = w.order(yuan(1000), SalesMode::SelfSold, true);
    let order = refunded(&order, 1, yuan(300), at(T0));
    let (req, _) = w.request(&order, email());
    assert_eq!(req.amount, yuan(700));
    assert_eq!(req.handled_refunds.len(), 1);
    let wrong = IssueInvoice {
        number: "1".into(),
        amount: Some(yuan(1000)),
        postage: Fen::ZERO,
    };
    let err = req
        .issue(Issuer::Provider, wrong, None, &mut w.ctx(at(T0)))
        .unwrap_err();
    assert_eq!(err.code(), "invoice_amount_mismatch");
    // The refund already counted is not applied again.
    let (same, outcome) = req.on_refunds(&order, &mut w.ctx(at(T0))).unwrap();
    assert_eq!(same, req);
    assert!(outcome.events.is_empty());
}

#[test]
fn a_refund_before_issue_lowers_the_amount_and_a_full_one_voids_the_request() {
    let mut w = W::new("ali");
    let order = w.order(yuan(1000), SalesMode::SelfSold, true);
    let (req, _) = w.request(&order, email());
    let part = refunded(&order, 1, yuan(400), days(at(T0), 1));
    let (req, outcome) = req.on_refunds(&part, &mut w.ctx(days(at(T0), 1))).unwrap();
    assert_eq!(req.amount, yuan(600));
    assert_eq!(req.status, InvoiceStatus::Requested);
    assert!(outcome.cancel.is_empty());
    let full = refunded(&part, 2, yuan(600), days(at(T0), 2));
    let (req, outcome) = req.on_refunds(&full, &mut w.ctx(days(at(T0), 2))).unwrap();
    assert_eq!(req.status, InvoiceStatus::Void);
    assert_eq!(outcome.cancel, vec![req.issue_key()]);
}

#[test]
fn same_month_undeducted_invoice_is_returned_on_refund() {
    let mut w = W::new("tc");
    let (order, req) = w.issued("A1", days(at(T0), 1));
    let now = days(at(T0), 10); // 2026-07-11, same month
    let order = refunded(&order, 1, yuan(400), now);
    let (req, outcome) = req.on_refunds(&order, &mut w.ctx(now)).unwrap();
    assert_eq!(req.status, InvoiceStatus::Correcting);
    let task = req.open_task().unwrap().clone();
    assert_eq!(task.kind, TaskKind::ReturnInvoice);
    assert_eq!(task.status, TaskStatus::AwaitingBuyer);
    assert_eq!(task.remaining, yuan(600));
    assert_eq!(task.invoice, "A1");
    assert!(
        outcome
            .events
            .iter()
            .any(|e| e.kind == "invoice.task_opened")
    );

    // The issuer waits for the invoice to come back.
    let err = w
        .provider_completes(&req, CompleteTask::default(), now)
        .unwrap_err();
    assert_eq!(err.code(), "buyer_part_missing");
    let err = req
        .buyer_part(
            1,
            BuyerPart::RedLetterForm(Uuid::from_u128(0xF1)),
            &mut w.ctx(now),
        )
        .unwrap_err();
    assert_eq!(err.code(), "wrong_task_step");
    let (req, _) = req
        .buyer_part(1, BuyerPart::Returned, &mut w.ctx(now))
        .unwrap();
    assert_eq!(req.tasks[0].status, TaskStatus::AwaitingIssuer);
    // No red-letter invoice for a returned one; the re-issue is required.
    let red = CompleteTask {
        red_letter_number: Some("R1".into()),
        reissued_number: Some("A2".into()),
    };
    let err = w.provider_completes(&req, red, now).unwrap_err();
    assert_eq!(err.code(), "not_needed");
    let err = w
        .provider_completes(&req, CompleteTask::default(), now)
        .unwrap_err();
    assert_eq!(err.code(), "field_required");
    let done = CompleteTask {
        red_letter_number: None,
        reissued_number: Some("A2".into()),
    };
    let (req, _) = w.provider_completes(&req, done, now).unwrap();
    assert_eq!(req.status, InvoiceStatus::Issued);
    assert_eq!(req.invoices[0].state, IssuedState::Returned);
    let current = req.current().unwrap();
    assert_eq!((current.number.as_str(), current.amount), ("A2", yuan(600)));
}

#[test]
fn invoice_used_for_deduction_needs_red_letter_form() {
    let mut w = W::new("tc");
    let (order, req) = w.issued("A1", at(T0));
    let (req, outcome) = req.mark_deducted(&mut w.ctx(days(at(T0), 1))).unwrap();
    assert_eq!(outcome.events[0].kind, "invoice.deducted");
    let now = days(at(T0), 2); // same month, but deducted
    let order = refunded(&order, 1, yuan(1000), now);
    let (req, _) = req.on_refunds(&order, &mut w.ctx(now)).unwrap();
    let task = req.open_task().unwrap().clone();
    assert_eq!(task.kind, TaskKind::RedLetter);
    assert_eq!(task.remaining, Fen::ZERO);
    let err = req
        .buyer_part(1, BuyerPart::Returned, &mut w.ctx(now))
        .unwrap_err();
    assert_eq!(err.code(), "wrong_task_step");
    let form = Uuid::from_u128(0xF1);
    let (req, _) = req
        .buyer_part(1, BuyerPart::RedLetterForm(form), &mut w.ctx(now))
        .unwrap();
    assert_eq!(req.tasks[0].red_letter_form, Some(form));
    let err = w
        .provider_completes(&req, CompleteTask::default(), now)
        .unwrap_err();
    assert_eq!(err, InvoiceError::Required("red_letter_number"));
    // Refunded in full: nothing to re-issue.
    let extra = CompleteTask {
        red_letter_number: Some("R1".into()),
        reissued_number: Some("A2".into()),
    };
    let err = w.provider_completes(&req, extra, now).unwrap_err();
    assert_eq!(err, InvoiceError::NotNeeded("reissued_number"));
    let done = CompleteTask {
        red_letter_number: Some("R1".into()),
        reissued_number: None,
    };
    let (req, _) = w.provider_completes(&req, done, now).unwrap();
    assert_eq!(req.status, InvoiceStatus::Void);
    assert_eq!(req.invoices[0].state, IssuedState::RedLettered);
    assert_eq!(req.invoices[1].colour, Colour::Red);
    assert_eq!(req.invoices[1].amount, yuan(-1000));
    assert_eq!(req.invoices[1].cancels.as_deref(), Some("A1"));
    assert!(req.current().is_none());
    let err = w
        .provider_completes(&req, CompleteTask::default(), now)
        .unwrap_err();
    assert_eq!(err.code(), "task_done");
}

#[test]
fn refund_in_a_later_month_needs_red_letter_form_under_every_rulebook() {
    // TC 5.5.2 states it; ALI and JD follow the same procedure ([design assumption]).
    for id in ["tc", "ali", "jd"] {
        let mut w = W::new(id);
        let (order, req) = w.issued("A1", at(T0));
        let now = days(at(T0), 31); // 2026-08-01
        let order = refunded(&order, 1, yuan(250), now);
        let (req, _) = req.on_refunds(&order, &mut w.ctx(now)).unwrap();
        let task = req.open_task().unwrap();
        assert_eq!(task.kind, TaskKind::RedLetter, "{id}");
        assert_eq!(task.remaining, yuan(750), "{id}");
        // A further refund while the task is open is taken on by it.
        let order = refunded(&order, 2, yuan(50), now);
        let (req, outcome) = req.on_refunds(&order, &mut w.ctx(now)).unwrap();
        assert_eq!(req.tasks.len(), 1, "{id}");
        assert_eq!(req.tasks[0].remaining, yuan(700), "{id}");
        assert_eq!(req.tasks[0].refunds.len(), 2, "{id}");
        assert_eq!(outcome.events[0].kind, "invoice.amount_adjusted");
    }
}

#[test]
fn the_buyer_states_deduction_only_on_an_issued_invoice() {
    let mut w = W::new("ali");
    let order = w.order(yuan(1000), SalesMode::SelfSold, true);
    let (req, _) = w.request(&order, email());
    let err = req.mark_deducted(&mut w.ctx(at(T0))).unwrap_err();
    assert_eq!(err.code(), "invalid_transition");
}

#[test]
fn only_paid_orders_with_something_left_are_invoiced() {
    let mut w = W::new("ali");
    let unpaid = w.order(yuan(1000), SalesMode::SelfSold, false);
    let cmd = |kind, tax: Option<&str>, ty| RequestInvoice {
        title: "王芳".into(),
        title_kind: kind,
        tax_number: tax.map(str::to_string),
        invoice_type: ty,
        delivery: email(),
    };
    let id = Uuid::from_u128(1);
    let err = InvoiceRequest::request(
        id,
        &unpaid,
        cmd(TitleKind::Personal, None, InvoiceType::Ordinary),
        &mut w.ctx(at(T0)),
    )
    .unwrap_err();
    assert_eq!(err.code(), "order_not_paid");
    let paid = w.order(yuan(1000), SalesMode::SelfSold, true);
    let all_back = refunded(&paid, 1, yuan(1000), at(T0));
    let err = InvoiceRequest::request(
        id,
        &all_back,
        cmd(TitleKind::Personal, None, InvoiceType::Ordinary),
        &mut w.ctx(at(T0)),
    )
    .unwrap_err();
    assert_eq!(err.code(), "nothing_to_invoice");
    let cases = [
        (
            TitleKind::Enterprise,
            None,
            InvoiceType::Ordinary,
            "tax_number_required",
        ),
        (
            TitleKind::Enterprise,
            Some("12-34"),
            InvoiceType::Ordinary,
            "invalid_tax_number",
        ),
        (
            TitleKind::Personal,
            None,
            InvoiceType::SpecialVat,
            "special_vat_needs_enterprise",
        ),
    ];
    for (kind, tax, ty, code) in cases {
        let err =
            InvoiceRequest::request(id, &paid, cmd(kind, tax, ty), &mut w.ctx(at(T0))).unwrap_err();
        assert_eq!(err.code(), code);
    }
    let mut bad = cmd(TitleKind::Personal, None, InvoiceType::Ordinary);
    bad.delivery = Delivery::Email {
        email: "no-at-sign".into(),
    };
    let err = InvoiceRequest::request(id, &paid, bad, &mut w.ctx(at(T0))).unwrap_err();
    assert_eq!(err.code(), "invalid_email");
}

#[test]
fn only_a_write_that_adds_a_refund_payment_concerns_the_invoice() {
    let mut w = W::new("ali");
    let order = w.order(yuan(1000), SalesMode::SelfSold, true);
    assert!(!adds_refund(None, &order));
    let after = refunded(&order, 1, yuan(100), at(T0));
    assert!(adds_refund(Some(&order), &after));
    assert!(!adds_refund(Some(&after), &after));
    assert!(
        !adds_refund(None, &after),
        "a new order has no refund to follow"
    );
}

#[test]
fn invoice_numbers_are_not_reused_on_a_request() {
    let mut w = W::new("tc");
    let (order, req) = w.issued("A1", at(T0));
    let now = days(at(T0), 40);
    let order = refunded(&order, 1, yuan(100), now);
    let (req, _) = req.on_refunds(&order, &mut w.ctx(now)).unwrap();
    let (req, _) = req
        .buyer_part(
            1,
            BuyerPart::RedLetterForm(Uuid::from_u128(2)),
            &mut w.ctx(now),
        )
        .unwrap();
    let dup = CompleteTask {
        red_letter_number: Some("R1".into()),
        reissued_number: Some("A1".into()),
    };
    let err = w.provider_completes(&req, dup, now).unwrap_err();
    assert_eq!(err.code(), "duplicate_invoice_number");
}
