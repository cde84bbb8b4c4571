//! The rules of SPEC §6–§7, each a test, on the builtin rulebooks.

use jiff::SignedDuration;
use jiff::civil::date;

use super::fixture::*;
use super::*;
use crate::catalog::{DeclaredRefundPolicy, FeeTerms, Pricing, ProductCategory};
use crate::decision::{DomainRefusal, Outcome, RefusalClass};
use crate::money::Fen;
use crate::rulebook::{RefundReason, Score};

fn image(policy: DeclaredRefundPolicy) -> PriceSnapshot {
    let mut t = terms(ProductCategory::Image, Pricing::OneOff, yuan(1_000));
    t.refund_policy = policy;
    t
}

/// A one-off image licence valid a year, refunded pro rata outside the window.
fn licence() -> PriceSnapshot {
    let mut t = image(DeclaredRefundPolicy::ProRataUnusedTime);
    t.validity_days = Some(365);
    t
}

/// A buyer's request without a reason (五天无理由退款).
fn request(h: &mut Harness, order: &Order) -> Result<Order, OrderError> {
    let cmd = RequestRefund {
        reason: None,
        note: String::new(),
    };
    h.run(|ctx| request_refund(order, cmd, ctx))
}

fn code(r: Result<Order, OrderError>) -> &'static str {
    match r {
        Ok(o) => panic!("expected a refusal, got {:?}", o.status),
        Err(e) => e.code(),
    }
}

#[test]
fn guarantee_window_counts_the_purchase_day() {
    let mut h = Harness::new("ali", beijing(2026, 7, 1, 10));
    let order = h.buy(image(DeclaredRefundPolicy::NoRefund));
    let w = order.window.unwrap();
    // Bought 7.1 → window 7.1–7.5, ending at Beijing 24:00 of 7.5.
    assert_eq!(w.last_day, date(2026, 7, 5));
    assert_eq!(w.ends_at.to_string(), "2026-07-05T16:00:00Z");
    assert_eq!(h.deadlines.len(), 1);
    let d = &h.deadlines[0];
    assert_eq!(d.due_at, w.ends_at);
    assert_eq!(
        d.dedupe_key,
        format!("order:{}:guarantee_window_end", order.id)
    );
    assert_eq!(d.kind, GUARANTEE_WINDOW_END);

    // One minute before the end the buyer sees one minute left.
    let late = w.ends_at - SignedDuration::from_mins(1);
    assert_eq!(
        countdown(&order, late),
        GuaranteeCountdown::Running {
            last_day: date(2026, 7, 5),
            ends_at: w.ends_at,
            remaining: SignedDuration::from_mins(1),
        }
    );
    // Fired early (a clock skew), the deadline is refused; on time it releases.
    h.now = late;
    let early = h.run(|ctx| guarantee_window_ended(&order, ctx));
    assert_eq!(code(early), "not_yet_due");
    let order = h.advance_to(w.ends_at, &order);
    assert_eq!(order.status, OrderStatus::Released);
    assert_eq!(
        countdown(&order, w.ends_at),
        GuaranteeCountdown::Ended {
            ended_at: w.ends_at
        }
    );
}

#[test]
fn escrow_is_released_with_the_fee_recorded_on_the_order() {
    let mut h = Harness::new("ali", beijing(2026, 7, 1, 10));
    let order = h.buy(image(DeclaredRefundPolicy::NoRefund));
    assert_eq!(h.natural(&escrow_account(order.id)), yuan(1_000));
    assert_eq!(h.natural(&cash_account()), yuan(1_000));
    assert!(!order.is_settleable());

    let order = h.advance_to(order.window.unwrap().ends_at, &order);
    let release = order.release.unwrap();
    assert_eq!(release.trigger, ReleaseTrigger::WindowEnded);
    assert_eq!(
        (release.provider_share, release.fee),
        (yuan(800), yuan(200))
    );
    assert_eq!(h.natural(&escrow_account(order.id)), Fen::ZERO);
    assert_eq!(h.natural(&payable_account(provider())), yuan(800));
    assert_eq!(h.natural(&fee_account()), yuan(200));
    assert!(order.is_settleable());
    assert_eq!(h.book.trial_balance(), 0);
}

#[test]
fn base_price_fee_is_the_margin_over_the_base_price() {
    let mut h = Harness::new("ali", beijing(2026, 7, 1, 10));
    let mut t = image(DeclaredRefundPolicy::NoRefund);
    t.quantity = 2;
    t.fee_terms = FeeTerms::BasePrice {
        base_price: yuan(700),
    };
    let order = h.buy(t);
    let order = h.run(|ctx| confirm_receipt(&order, ctx)).unwrap();
    let release = order.release.unwrap();
    assert_eq!(release.trigger, ReleaseTrigger::BuyerAccepted);
    assert_eq!(
        (release.provider_share, release.fee),
        (yuan(1_400), yuan(600))
    );
}

#[test]
fn buyer_accepting_early_releases_and_closes_the_window() {
    let mut h = Harness::new("ali", beijing(2026, 7, 1, 10));
    let order = h.buy(image(DeclaredRefundPolicy::NoRefund));
    h.now = beijing(2026, 7, 2, 9);
    let order = h.run(|ctx| confirm_receipt(&order, ctx)).unwrap();
    assert_eq!(order.status, OrderStatus::Released);
    assert!(
        h.deadlines.is_empty(),
        "the window-end deadline is cancelled"
    );
    // The window is over: a refund now follows the declared terms (no refund).
    assert_eq!(code(request(&mut h, &order)), "window_closed");
}

#[test]
fn refund_on_fifth_day_is_full() {
    let mut h = Harness::new("ali", beijing(2026, 7, 1, 10));
    let order = h.buy(image(DeclaredRefundPolicy::NoRefund));
    h.now = beijing(2026, 7, 5, 23);
    let order = request(&mut h, &order).unwrap();
    let refund = order.open_refund().unwrap();
    assert_eq!(
        (refund.basis, refund.proposed),
        (RefundBasis::InsideWindow, yuan(1_000))
    );
    // The provider accepts the next morning: still a full refund, out of escrow.
    h.now = beijing(2026, 7, 6, 9);
    let order = h.run(|ctx| accept_refund(&order, ctx)).unwrap();
    assert_eq!(order.status, OrderStatus::Refunded);
    assert_eq!(order.refunded_from_escrow, yuan(1_000));
    assert_eq!(h.natural(&escrow_account(order.id)), Fen::ZERO);
    assert_eq!(h.natural(&refunds_payable_account(order.id)), yuan(1_000));
    assert_eq!(h.natural(&fee_account()), Fen::ZERO);
    assert!(h.deadlines.is_empty(), "nothing left to release");
}

#[test]
fn refund_on_sixth_day_follows_declared_policy() {
    // Declared "no refund": refused with window_closed.
    let mut h = Harness::new("ali", beijing(2026, 7, 1, 10));
    let order = h.buy(image(DeclaredRefundPolicy::NoRefund));
    let order = h.advance_to(beijing(2026, 7, 6, 10), &order);
    assert_eq!(code(request(&mut h, &order)), "window_closed");

    // Declared pro rata: the unused 359 of 365 days, the sixth day counted as used.
    let mut h = Harness::new("ali", beijing(2026, 7, 1, 10));
    let order = h.buy(licence());
    let order = h.advance_to(beijing(2026, 7, 6, 10), &order);
    assert_eq!(order.status, OrderStatus::Released);
    let order = request(&mut h, &order).unwrap();
    let refund = order.open_refund().unwrap();
    assert_eq!(refund.basis, RefundBasis::DeclaredPolicy);
    assert_eq!(refund.proposed, Fen::new(98_356));
    let order = h.run(|ctx| accept_refund(&order, ctx)).unwrap();
    assert_eq!(order.status, OrderStatus::Released);
    assert_eq!(order.refunded_total(), Ok(Fen::new(98_356)));
    assert_eq!(h.book.trial_balance(), 0);
}

#[test]
fn api_and_tool_products_are_not_refundable() {
    for family in ["ali", "tc", "jd"] {
        for category in [ProductCategory::Api, ProductCategory::Tool] {
            let mut h = Harness::new(family, beijing(2026, 7, 1, 10));
            let order = h.buy(terms(category, Pricing::OneOff, yuan(100)));
            // No window: settleable as soon as it is paid.
            assert_eq!(order.status, OrderStatus::Released, "{family} {category:?}");
            assert_eq!(order.release.unwrap().trigger, ReleaseTrigger::NoWindow);
            assert!(h.deadlines.is_empty());
            assert_eq!(countdown(&order, h.now), GuaranteeCountdown::NoWindow);
            let err = request(&mut h, &order).unwrap_err();
            assert_eq!(err.code(), "not_refundable", "{family} {category:?}");
            assert_eq!(err.class(), RefusalClass::Conflict);
            let direct = h.run(|ctx| {
                refund_directly(
                    &order,
                    DirectRefund {
                        ground: RefundReason::ServiceQualityLoss,
                        award: RefundAward::Full,
                        note: String::new(),
                    },
                    ctx,
                )
            });
            assert_eq!(code(direct), "not_refundable");
        }
    }
}

#[test]
fn refund_after_release_returns_fee_share_pro_rata_under_ali() {
    let mut h = Harness::new("ali", beijing(2026, 7, 1, 10));
    let order = h.buy(licence());
    let order = h.advance_to(beijing(2026, 7, 6, 10), &order);
    // 333.33 of 1,000.00 comes back: 20% of it from the fee, by largest remainder.
    let order = h
        .run(|ctx| {
            refund_directly(
                &order,
                DirectRefund {
                    ground: RefundReason::ExitWithoutAftercarePlan,
                    award: RefundAward::Amount {
                        amount: Fen::new(33_333),
                    },
                    note: "partly delivered".to_string(),
                },
                ctx,
            )
        })
        .unwrap();
    let paid = order.refunds[0].payment.unwrap();
    assert!(!paid.from_escrow);
    assert_eq!(
        (paid.provider_part, paid.fee_part),
        (Fen::new(26_666), Fen::new(6_667))
    );
    assert_eq!(h.natural(&fee_account()), Fen::new(20_000 - 6_667));
    assert_eq!(
        h.natural(&payable_account(provider())),
        Fen::new(80_000 - 26_666)
    );
    // Refunding the rest returns exactly the fee charged, no fen more or less.
    let order = h
        .run(|ctx| {
            refund_directly(
                &order,
                DirectRefund {
                    ground: RefundReason::ServiceQualityLoss,
                    award: RefundAward::Full,
                    note: String::new(),
                },
                ctx,
            )
        })
        .unwrap();
    assert_eq!(order.status, OrderStatus::Refunded);
    assert_eq!(order.refunded_after_release.fee, yuan(200));
    assert_eq!(order.refunded_after_release.provider, yuan(800));
    assert_eq!(h.natural(&fee_account()), Fen::ZERO);
    assert_eq!(h.natural(&payable_account(provider())), Fen::ZERO);
    assert_eq!(h.natural(&refunds_payable_account(order.id)), yuan(1_000));
}

#[test]
fn refund_after_release_comes_from_the_provider_alone_where_the_fee_is_kept() {
    // TC and JD keep the fee unless their rulebook says otherwise (SPEC §7.5).
    let mut h = Harness::new("tc", beijing(2026, 7, 1, 10));
    let order = h.buy(licence());
    let order = h.advance_to(beijing(2026, 7, 6, 10), &order);
    let order = request(&mut h, &order).unwrap();
    let order = h.run(|ctx| accept_refund(&order, ctx)).unwrap();
    let paid = order.refunds[0].payment.unwrap();
    assert_eq!(
        (paid.provider_part, paid.fee_part),
        (Fen::new(98_356), Fen::ZERO)
    );
    assert_eq!(h.natural(&fee_account()), yuan(200));
}

#[test]
fn refunds_never_exceed_the_amount_paid() {
    let mut h = Harness::new("ali", beijing(2026, 7, 1, 10));
    let order = h.buy(licence());
    let order = h.advance_to(beijing(2026, 7, 6, 10), &order);
    let direct = |amount: Fen| DirectRefund {
        ground: RefundReason::Other,
        award: RefundAward::Amount { amount },
        note: String::new(),
    };
    let too_much = h.run(|ctx| refund_directly(&order, direct(Fen::new(100_001)), ctx));
    assert_eq!(code(too_much), "refund_exceeds_paid");
    let order = h
        .run(|ctx| refund_directly(&order, direct(yuan(600)), ctx))
        .unwrap();
    let too_much = h.run(|ctx| refund_directly(&order, direct(Fen::new(40_001)), ctx));
    assert_eq!(code(too_much), "refund_exceeds_paid");
    // Pro rata of the whole price would be 983.56; only the 400.00 left can come back.
    let order = request(&mut h, &order).unwrap();
    assert_eq!(order.open_refund().unwrap().proposed, yuan(400));
    let order = h.run(|ctx| accept_refund(&order, ctx)).unwrap();
    assert_eq!(order.refunded_total(), Ok(yuan(1_000)));
    assert_eq!(code(request(&mut h, &order)), "already_refunded");
}

#[test]
fn a_second_request_while_one_is_open_is_a_conflict() {
    let mut h = Harness::new("ali", beijing(2026, 7, 1, 10));
    let order = h.buy(image(DeclaredRefundPolicy::NoRefund));
    let opened = request(&mut h, &order).unwrap();
    let second = request(&mut h, &opened);
    assert_eq!(code(second), "refund_in_progress");
    // So is the operator refunding around it, or the buyer accepting delivery.
    let direct = h.run(|ctx| {
        refund_directly(
            &opened,
            DirectRefund {
                ground: RefundReason::Other,
                award: RefundAward::Full,
                note: String::new(),
            },
            ctx,
        )
    });
    assert_eq!(code(direct), "refund_in_progress");
    assert_eq!(
        code(h.run(|ctx| confirm_receipt(&opened, ctx))),
        "refund_in_progress"
    );
    // Withdrawn, a new request may be made.
    let withdrawn = h.run(|ctx| withdraw_refund(&opened, ctx)).unwrap();
    assert!(request(&mut h, &withdrawn).is_ok());
}

#[test]
fn provider_declines_buyer_escalates_operator_refunds_in_full() {
    let mut h = Harness::new("jd", beijing(2026, 7, 1, 10));
    let order = h.buy(image(DeclaredRefundPolicy::NoRefund));
    h.now = beijing(2026, 7, 3, 10);
    let order = request(&mut h, &order).unwrap();
    assert_eq!(
        code(h.run(|ctx| decide_refund(
            &order,
            ArbitrationDecision::Reject {
                note: String::new()
            },
            ctx
        ))),
        "refund_not_escalated"
    );
    let order = h
        .run(|ctx| decline_refund(&order, "works as described", ctx))
        .unwrap();
    assert_eq!(
        code(h.run(|ctx| accept_refund(&order, ctx))),
        "invalid_transition"
    );
    let order = h.run(|ctx| escalate_refund(&order, ctx)).unwrap();
    // The operator decides after the window ended: the request was made inside it.
    let order = h.advance_to(beijing(2026, 7, 8, 10), &order);
    assert_eq!(
        order.status,
        OrderStatus::Held,
        "release waits for the refund"
    );
    let order = h
        .run(|ctx| {
            decide_refund(
                &order,
                ArbitrationDecision::Refund {
                    award: RefundAward::Full,
                    note: "not as described".to_string(),
                },
                ctx,
            )
        })
        .unwrap();
    assert_eq!(order.status, OrderStatus::Refunded);
    let refund = &order.refunds[0];
    assert_eq!(refund.status, RefundStatus::Refunded);
    assert_eq!(refund.payment.unwrap().decided_by, Decider::Operator);
    assert_eq!(h.natural(&refunds_payable_account(order.id)), yuan(1_000));
}

#[test]
fn window_end_with_an_open_refund_defers_the_release_until_it_closes() {
    let mut h = Harness::new("ali", beijing(2026, 7, 1, 10));
    let order = h.buy(image(DeclaredRefundPolicy::NoRefund));
    h.now = beijing(2026, 7, 5, 10);
    let order = request(&mut h, &order).unwrap();
    let order = h.run(|ctx| decline_refund(&order, "", ctx)).unwrap();
    let order = h.run(|ctx| escalate_refund(&order, ctx)).unwrap();
    let order = h.advance_to(beijing(2026, 7, 6, 10), &order);
    assert_eq!(order.status, OrderStatus::Held);
    assert!(h.event_kinds().contains(&"order.release_deferred"));
    // The operator awards half; the other half is released in the same decision.
    let order = h
        .run(|ctx| {
            decide_refund(
                &order,
                ArbitrationDecision::Refund {
                    award: RefundAward::Amount { amount: yuan(500) },
                    note: String::new(),
                },
                ctx,
            )
        })
        .unwrap();
    assert_eq!(order.status, OrderStatus::Released);
    let release = order.release.unwrap();
    assert_eq!((release.amount, release.fee), (yuan(500), yuan(100)));
    assert_eq!(h.natural(&escrow_account(order.id)), Fen::ZERO);
    assert_eq!(h.natural(&payable_account(provider())), yuan(400));
}

#[test]
fn jd_outside_the_window_asks_for_one_of_its_nine_reasons() {
    let mut h = Harness::new("jd", beijing(2026, 7, 1, 10));
    let order = h.buy(licence());
    let order = h.advance_to(beijing(2026, 7, 10, 10), &order);
    assert_eq!(code(request(&mut h, &order)), "refund_reason_required");
    let with = |reason| RequestRefund {
        reason: Some(reason),
        note: String::new(),
    };
    let not_listed =
        h.run(|ctx| request_refund(&order, with(RefundReason::ServiceQualityLoss), ctx));
    assert_eq!(code(not_listed), "refund_reason_not_allowed");
    let order = h
        .run(|ctx| request_refund(&order, with(RefundReason::ProgramQuality), ctx))
        .unwrap();
    assert_eq!(
        order.open_refund().unwrap().reason,
        Some(RefundReason::ProgramQuality)
    );
    // Inside the window no reason is needed (五天无理由退款).
    let mut h = Harness::new("jd", beijing(2026, 7, 1, 10));
    let order = h.buy(licence());
    assert!(request(&mut h, &order).is_ok());
}

#[test]
fn operator_grounds_follow_the_rulebook() {
    let direct = |ground, award| DirectRefund {
        ground,
        award,
        note: String::new(),
    };
    let half = RefundAward::Amount { amount: yuan(500) };
    // ALI-R art.21(3)3: a mismatch calls for a full refund.
    let mut h = Harness::new("ali", beijing(2026, 7, 1, 10));
    let order = h.buy(licence());
    let partial = h.run(|ctx| refund_directly(&order, direct(RefundReason::Mismatch, half), ctx));
    assert_eq!(code(partial), "ground_requires_full_refund");
    let unlisted =
        h.run(|ctx| refund_directly(&order, direct(RefundReason::UnhappyWithAttitude, half), ctx));
    assert_eq!(code(unlisted), "refund_ground_not_allowed");
    // ALI-R art.21(3)5: by degree of delivery, partial allowed.
    assert!(
        h.run(|ctx| refund_directly(
            &order,
            direct(RefundReason::ExitWithoutAftercarePlan, half),
            ctx
        ))
        .is_ok()
    );
    // TC 5.2(1): late service lets the operator refund directly, in part.
    let mut h = Harness::new("tc", beijing(2026, 7, 1, 10));
    let order = h.buy(licence());
    assert!(
        h.run(|ctx| refund_directly(&order, direct(RefundReason::LateOrDragging, half), ctx))
            .is_ok()
    );
}

#[test]
fn service_acceptance_starts_the_warranty() {
    let mut h = Harness::new("ali", beijing(2026, 7, 1, 10));
    let order = h.buy(terms(
        ProductCategory::Service,
        Pricing::OneOff,
        yuan(3_000),
    ));
    assert_eq!(order.status, OrderStatus::Held);
    assert!(h.deadlines.is_empty(), "held until acceptance, not a date");
    assert_eq!(
        countdown(&order, h.now),
        GuaranteeCountdown::UntilAcceptance
    );
    assert_eq!(
        code(h.run(|ctx| confirm_receipt(&order, ctx))),
        "service_needs_acceptance"
    );
    let order = h
        .run(|ctx| report_milestone(&order, "环境部署完成", ctx))
        .unwrap();
    assert_eq!(
        code(h.run(|ctx| accept_service(&order, 90, ctx))),
        "milestone_pending"
    );
    h.now = beijing(2026, 7, 20, 15);
    let order = h.run(|ctx| confirm_milestone(&order, 0, ctx)).unwrap();
    assert_eq!(
        code(h.run(|ctx| confirm_milestone(&order, 0, ctx))),
        "unknown_milestone"
    );
    let order = h.run(|ctx| accept_service(&order, 90, ctx)).unwrap();
    assert_eq!(order.status, OrderStatus::Released);
    assert_eq!(
        order.release.unwrap().trigger,
        ReleaseTrigger::BuyerAccepted
    );
    let warranty = order.warranty.unwrap();
    // The acceptance day is day 1 of 90.
    assert_eq!(warranty.last_day, date(2026, 10, 17));
    assert_eq!(warranty.ends_at.to_string(), "2026-10-17T16:00:00Z");
    assert_eq!(h.natural(&payable_account(provider())), yuan(2_400));
    // Accepted, the service is outside its window: declared terms (no refund) apply.
    assert_eq!(code(request(&mut h, &order)), "window_closed");
}

#[test]
fn a_service_refund_before_acceptance_is_full() {
    let mut h = Harness::new("tc", beijing(2026, 7, 1, 10));
    let order = h.buy(terms(
        ProductCategory::Service,
        Pricing::OneOff,
        yuan(3_000),
    ));
    h.now = beijing(2026, 9, 1, 10);
    let order = request(&mut h, &order).unwrap();
    assert_eq!(
        order.open_refund().unwrap().basis,
        RefundBasis::InsideWindow
    );
    assert_eq!(
        code(h.run(|ctx| accept_service(&order, 0, ctx))),
        "refund_in_progress"
    );
    let order = h.run(|ctx| accept_refund(&order, ctx)).unwrap();
    assert_eq!(order.status, OrderStatus::Refunded);
}

#[test]
fn pay_later_order_counts_only_once_paid() {
    let mut h = Harness::new("ali", beijing(2026, 7, 1, 10));
    let order = h.place(
        terms(ProductCategory::Application, Pricing::Monthly, yuan(300)),
        PaymentTerms::PayLater,
    );
    assert_eq!(order.status, OrderStatus::InUseUnpaid);
    assert_eq!(
        order.service_period,
        Some(ServicePeriod {
            start: date(2026, 7, 1),
            end: date(2026, 8, 1)
        })
    );
    assert!(!order.is_settleable());
    assert_eq!(h.book.iter().count(), 0, "nothing in the ledger");
    assert_eq!(code(request(&mut h, &order)), "not_paid");
    assert_eq!(code(h.run(|ctx| cancel(&order, ctx))), "invalid_transition");

    // Paid on 7.20, long after the window counted from 7.1: settleable at once.
    h.now = beijing(2026, 7, 20, 10);
    let order = h.pay(&order).unwrap();
    assert_eq!(order.status, OrderStatus::Released);
    assert!(order.is_settleable());
    assert_eq!(h.natural(&cash_account()), yuan(300));
    assert_eq!(h.natural(&payable_account(provider())), yuan(240));
    assert!(h.deadlines.is_empty());
}

#[test]
fn pay_later_paid_inside_the_window_is_held_until_it_ends() {
    let mut h = Harness::new("ali", beijing(2026, 7, 1, 10));
    let order = h.place(
        terms(ProductCategory::Application, Pricing::Monthly, yuan(300)),
        PaymentTerms::PayLater,
    );
    h.now = beijing(2026, 7, 3, 10);
    let order = h.pay(&order).unwrap();
    assert_eq!(order.status, OrderStatus::Held);
    assert_eq!(h.deadlines[0].due_at, beijing(2026, 7, 6, 0));
}

#[test]
fn payment_must_equal_the_snapshot_total() {
    let mut h = Harness::new("ali", beijing(2026, 7, 1, 10));
    let order = h.place(image(DeclaredRefundPolicy::NoRefund), PaymentTerms::Prepaid);
    let short = ConfirmedPayment {
        amount: Fen::new(99_999),
        gateway: "sandbox".to_string(),
        gateway_reference: "x".to_string(),
    };
    let err = h.run(|ctx| pay(&order, short, ctx)).unwrap_err();
    assert_eq!(
        (err.code(), err.class()),
        ("amount_mismatch", RefusalClass::Invalid)
    );
    assert_eq!(code(request(&mut h, &order)), "not_paid");
    let paid = h.pay(&order).unwrap();
    assert_eq!(code(h.pay(&paid)), "already_paid");
    let cancelled = h.run(|ctx| cancel(&order, ctx)).unwrap();
    assert_eq!(code(h.pay(&cancelled)), "invalid_transition");
}

#[test]
fn invalid_snapshots_are_refused() {
    let mut h = Harness::new("ali", beijing(2026, 7, 1, 10));
    let mut zero = image(DeclaredRefundPolicy::NoRefund);
    zero.quantity = 0;
    let mut priced_free = terms(ProductCategory::Saas, Pricing::Free, yuan(1));
    priced_free.quantity = 1;
    let mut base_above_price = image(DeclaredRefundPolicy::NoRefund);
    base_above_price.fee_terms = FeeTerms::BasePrice {
        base_price: yuan(2_000),
    };
    let mut validity_on_subscription = terms(ProductCategory::Saas, Pricing::Monthly, yuan(10));
    validity_on_subscription.validity_days = Some(30);
    for t in [
        zero,
        priced_free,
        base_above_price,
        validity_on_subscription,
    ] {
        let r = h.run(|ctx| {
            place(
                PlaceOrder {
                    buyer: buyer(),
                    terms: t,
                    payment_terms: PaymentTerms::Prepaid,
                },
                ctx,
            )
        });
        assert_eq!(code(r), "invalid_order_terms");
    }
}

#[test]
fn free_orders_have_no_payment_and_no_escrow() {
    let mut h = Harness::new("ali", beijing(2026, 7, 1, 10));
    let order = h.place(
        terms(ProductCategory::Saas, Pricing::Free, Fen::ZERO),
        PaymentTerms::Prepaid,
    );
    assert_eq!(order.status, OrderStatus::Free);
    assert_eq!(order.total, Fen::ZERO);
    assert_eq!(h.book.iter().count(), 0);
    assert!(h.deadlines.is_empty());
    assert_eq!(countdown(&order, h.now), GuaranteeCountdown::NoWindow);
    assert_eq!(code(h.pay(&order)), "invalid_transition");
    assert_eq!(code(request(&mut h, &order)), "not_paid");
    let rated = h.run(|ctx| {
        rate(
            &order,
            RateOrder {
                score: Score::from_hundredths(500),
                text: String::new(),
            },
            ctx,
        )
    });
    assert_eq!(code(rated), "not_paid");
}

#[test]
fn subscription_periods_run_from_payment_and_renewals_continue_them() {
    let mut h = Harness::new("ali", beijing(2026, 7, 1, 10));
    let mut t = terms(ProductCategory::Saas, Pricing::Yearly, yuan(1_200));
    t.refund_policy = DeclaredRefundPolicy::ProRataUnusedTime;
    let first = h.buy(t.clone());
    assert_eq!(
        first.service_period,
        Some(ServicePeriod {
            start: date(2026, 7, 1),
            end: date(2027, 7, 1)
        })
    );
    // Renewed early, on 2027-06-15: the new year starts where the old one ends.
    h.now = beijing(2027, 6, 15, 10);
    let renewal = h.run(|ctx| renew(&first, t.clone(), ctx)).unwrap();
    assert_eq!(renewal.renews, Some(first.id));
    assert_ne!(renewal.id, first.id);
    let renewal = h.pay(&renewal).unwrap();
    assert_eq!(
        renewal.service_period,
        Some(ServicePeriod {
            start: date(2027, 7, 1),
            end: date(2028, 7, 1)
        })
    );
    // Its own escrow and window.
    assert_eq!(h.natural(&escrow_account(renewal.id)), yuan(1_200));
    assert_eq!(renewal.window.unwrap().last_day, date(2027, 6, 19));

    let mut other = t.clone();
    other.pricing = Pricing::Monthly;
    assert_eq!(
        code(h.run(|ctx| renew(&first, other, ctx))),
        "renewal_mismatch"
    );
    let one_off = h.buy(licence());
    assert_eq!(
        code(h.run(|ctx| renew(&one_off, licence(), ctx))),
        "not_a_subscription"
    );
}

#[test]
fn one_rating_per_paid_order_within_the_scale() {
    let mut h = Harness::new("ali", beijing(2026, 7, 1, 10));
    let order = h.buy(image(DeclaredRefundPolicy::NoRefund));
    let score = |h: u32| RateOrder {
        score: Score::from_hundredths(h),
        text: "不错".to_string(),
    };
    for bad in [0, 50, 600] {
        let r = h.run(|ctx| rate(&order, score(bad), ctx));
        assert_eq!(code(r), "score_out_of_scale");
    }
    let rated = h.run(|ctx| rate(&order, score(400), ctx)).unwrap();
    assert_eq!(rated.rating.as_ref().unwrap().text, "不错");
    assert_eq!(
        code(h.run(|ctx| rate(&rated, score(500), ctx))),
        "already_rated"
    );
    let unpaid = h.place(image(DeclaredRefundPolicy::NoRefund), PaymentTerms::Prepaid);
    assert_eq!(
        code(h.run(|ctx| rate(&unpaid, score(500), ctx))),
        "not_paid"
    );
}

#[test]
fn product_rating_average_is_exact_hundredths() {
    let s = |h| Score::from_hundredths(h);
    let mut r = ProductRating::default();
    assert_eq!(r.average(), None);
    for score in [500, 400, 400] {
        r = r.with(s(score)).unwrap();
    }
    // 13 / 3 = 4.333… → 4.33.
    assert_eq!((r.count, r.sum), (3, 1_300));
    assert_eq!(r.average(), Some(s(433)));
    // 4.125 rounds half up to 4.13.
    let r = [500, 500, 400, 250, 500, 400, 400, 350]
        .into_iter()
        .fold(ProductRating::default(), |r, x| r.with(s(x)).unwrap());
    assert_eq!(r.average(), Some(s(413)));
}

#[test]
fn ali_hides_products_averaging_below_two_and_a_half_once_five_ratings_exist() {
    let ali = rulebook("ali");
    let s = |h| Score::from_hundredths(h);
    let four = [200, 200, 300, 200]
        .into_iter()
        .fold(ProductRating::default(), |r, x| r.with(s(x)).unwrap());
    assert!(!four.below_minimum(&ali.visibility), "too few to judge");
    let five = four.with(s(300)).unwrap();
    assert_eq!(five.average(), Some(s(240)));
    assert!(five.below_minimum(&ali.visibility));
    assert!(
        !five.below_minimum(&rulebook("jd").visibility),
        "no such rule"
    );
}

#[test]
fn refusals_have_stable_codes_and_classes() {
    let cases: [(OrderError, &str, RefusalClass); 6] = [
        (
            OrderError::WindowClosed {
                ended_at: beijing(2026, 7, 6, 0),
            },
            "window_closed",
            RefusalClass::Conflict,
        ),
        (
            OrderError::NotRefundable {
                category: ProductCategory::Api,
            },
            "not_refundable",
            RefusalClass::Conflict,
        ),
        (
            OrderError::RefundExceedsPaid {
                requested: yuan(2),
                remaining: yuan(1),
            },
            "refund_exceeds_paid",
            RefusalClass::Invalid,
        ),
        (
            OrderError::RefundInProgress,
            "refund_in_progress",
            RefusalClass::Conflict,
        ),
        (
            OrderError::AlreadyRated,
            "already_rated",
            RefusalClass::Conflict,
        ),
        (
            OrderError::OperatorRefundNotAllowed,
            "operator_refund_not_allowed",
            RefusalClass::Forbidden,
        ),
    ];
    for (err, code, class) in cases {
        assert_eq!((err.code(), err.class()), (code, class), "{err}");
    }
}

#[test]
fn orders_round_trip_through_json() {
    let mut h = Harness::new("ali", beijing(2026, 7, 1, 10));
    let order = h.buy(licence());
    let order = request(&mut h, &order).unwrap();
    let json = serde_json::to_string(&order).unwrap();
    let back: Order = serde_json::from_str(&json).unwrap();
    assert_eq!(back, order);
}

#[test]
fn a_paid_order_counts_one_sale_and_a_full_refund_uncounts_it_once() {
    let mut h = Harness::new("ali", beijing(2026, 7, 1, 10));
    let placed = h.place(image(DeclaredRefundPolicy::NoRefund), PaymentTerms::Prepaid);
    assert_eq!(sale_change(None, &placed), None, "placing is no sale");
    let paid = h.pay(&placed).unwrap();
    assert_eq!(sale_change(Some(&placed), &paid), Some(SaleChange::Paid));
    assert_eq!(sale_change(Some(&paid), &paid), None, "counted once");
    let requested = request(&mut h, &paid).unwrap();
    assert_eq!(sale_change(Some(&paid), &requested), None);
    let refunded = h.run(|ctx| accept_refund(&requested, ctx)).unwrap();
    assert_eq!(refunded.status, OrderStatus::Refunded);
    assert_eq!(
        sale_change(Some(&requested), &refunded),
        Some(SaleChange::Refunded)
    );
    assert_eq!(sale_change(Some(&refunded), &refunded), None);
    let d = sale_deadline(&refunded, SaleChange::Refunded, h.now);
    assert_eq!(d.kind, SALE_COUNT);
    assert_eq!(d.due_at, h.now, "counted at once");
    assert_eq!(d.dedupe_key, format!("order:{}:sale:refunded", refunded.id));
    let sales = ProductSales::default()
        .with(SaleChange::Paid)
        .unwrap()
        .with(SaleChange::Refunded)
        .unwrap();
    assert_eq!(sales.count(), 0);
}

#[test]
fn a_dead_lettered_create_marks_delivery_failed_and_leaves_money_alone() {
    let mut h = Harness::new("ali", beijing(2026, 7, 1, 10));
    let paid = h.buy(image(DeclaredRefundPolicy::NoRefund));
    let pending = delivery_requested(&paid).unwrap();
    assert_eq!(
        pending.delivery.map(|d| d.status),
        Some(DeliveryStatus::Pending)
    );
    let at = beijing(2026, 7, 1, 19);
    let failed = delivery_failed(&pending, at).unwrap();
    let delivery = failed.delivery.unwrap();
    assert_eq!(
        (delivery.status, delivery.failed_at),
        (DeliveryStatus::Failed, Some(at))
    );
    assert!(delivery_failed(&failed, at).is_none(), "already failed");
    // Nothing but the delivery changed: status, escrow, payment as they were.
    let mut same = failed.clone();
    same.delivery = pending.delivery;
    assert_eq!(same, pending);
    let later = beijing(2026, 7, 2, 9);
    let delivered = delivery_succeeded(&failed, later).unwrap();
    let delivery = delivered.delivery.unwrap();
    assert_eq!(delivery.status, DeliveryStatus::Delivered);
    assert_eq!(delivery.failed_at, Some(at), "the failure stays on record");
    assert_eq!(delivery.delivered_at, Some(later));
    assert!(delivery_succeeded(&delivered, later).is_none());
}

/// Begins (or resumes) a payment as the shell would: a new intent is committed with its outcome.
fn begin(
    h: &mut Harness,
    order: &Order,
    attempt: &str,
) -> Result<(Order, Option<PaymentIntent>), OrderError> {
    h.run(|ctx| match begin_payment(order, attempt, ctx)? {
        PaymentStart::Begin(next, outcome) => Ok(((*next, None), outcome)),
        PaymentStart::Resume(intent) => Ok(((order.clone(), Some(intent)), Outcome::default())),
    })
}

#[test]
fn a_payment_intent_is_recorded_before_the_charge_and_refuses_a_second_attempt() {
    let mut h = Harness::new("ali", beijing(2026, 7, 1, 10));
    let order = h.place(image(DeclaredRefundPolicy::NoRefund), PaymentTerms::Prepaid);
    let (opened, resumed) = begin(&mut h, &order, "attempt-a").unwrap();
    assert!(resumed.is_none());
    let intent = opened.payment_intent.clone().unwrap();
    assert_eq!(intent.status, IntentStatus::Open);
    assert_eq!(intent.amount, order.total);
    assert_eq!(
        intent.gateway_key(&opened),
        format!("yunshi:{}:{}", order.id, intent.id),
        "the gateway key is the order's and the intent's, not the client's"
    );
    // Its reconciliation is due 30 minutes later.
    let d = h
        .deadlines
        .iter()
        .find(|d| d.kind == PAYMENT_INTENT_RECONCILE)
        .unwrap();
    assert_eq!(
        d.due_at,
        beijing(2026, 7, 1, 10) + SignedDuration::from_mins(30)
    );
    // The same request resumes its own intent; another is refused, charging nothing.
    let (_, same) = begin(&mut h, &opened, "attempt-a").unwrap();
    assert_eq!(same.map(|i| i.id), Some(intent.id));
    let other = begin(&mut h, &opened, "attempt-b").map(|(o, _)| o);
    assert_eq!(code(other), "payment_in_progress");
}

#[test]
fn paying_closes_the_intent_and_cancels_its_reconciliation() {
    let mut h = Harness::new("ali", beijing(2026, 7, 1, 10));
    let order = h.place(image(DeclaredRefundPolicy::NoRefund), PaymentTerms::Prepaid);
    let (opened, _) = begin(&mut h, &order, "attempt-a").unwrap();
    let paid = h.pay(&opened).unwrap();
    assert_eq!(
        paid.payment_intent.map(|i| i.status),
        Some(IntentStatus::Succeeded)
    );
    assert!(
        h.deadlines
            .iter()
            .all(|d| d.kind != PAYMENT_INTENT_RECONCILE),
        "nothing left to void: {:?}",
        h.deadlines
    );
}

#[test]
fn a_declined_or_voided_intent_lets_a_new_attempt_begin() {
    let mut h = Harness::new("ali", beijing(2026, 7, 1, 10));
    let order = h.place(image(DeclaredRefundPolicy::NoRefund), PaymentTerms::Prepaid);
    let (opened, _) = begin(&mut h, &order, "attempt-a").unwrap();
    let first = opened.payment_intent.clone().unwrap();
    let (declined, _) = close_intent(&opened, first.id, IntentStatus::Declined).unwrap();
    assert!(
        close_intent(&declined, first.id, IntentStatus::Voided).is_none(),
        "closed once"
    );
    let (again, _) = begin(&mut h, &declined, "attempt-b").unwrap();
    let second = again.payment_intent.unwrap();
    assert_ne!(second.id, first.id);
    assert_eq!(second.status, IntentStatus::Open);
}

/// Runs `rule` and keeps its outcome beside the order, for the deadlines it cancels.
fn with_outcome(
    h: &mut Harness,
    rule: impl FnOnce(&mut crate::decision::Context<'_>) -> Result<(Order, Outcome), OrderError>,
) -> Result<(Order, Outcome), OrderError> {
    h.run(|ctx| rule(ctx).map(|(order, outcome)| ((order, outcome.clone()), outcome)))
}

#[test]
fn an_operator_award_is_a_positive_amount_up_to_exactly_what_remains() {
    let mut h = Harness::new("ali", beijing(2026, 7, 1, 10));
    let order = h.buy(licence());
    let order = h.advance_to(beijing(2026, 7, 6, 10), &order);
    let direct = |amount: Fen| DirectRefund {
        ground: RefundReason::Other,
        award: RefundAward::Amount { amount },
        note: String::new(),
    };
    let zero = h.run(|ctx| refund_directly(&order, direct(Fen::ZERO), ctx));
    assert_eq!(code(zero), "invalid_order_terms");
    let negative = h.run(|ctx| refund_directly(&order, direct(Fen::new(-1)), ctx));
    assert_eq!(code(negative), "invalid_order_terms");
    // Exactly the 1,000.00 left may be awarded: 800.00 from the provider, the 200.00 fee
    // returned; after release there is no window deadline left to cancel.
    let (order, outcome) = with_outcome(&mut h, |ctx| {
        refund_directly(&order, direct(yuan(1_000)), ctx)
    })
    .unwrap();
    assert_eq!(order.status, OrderStatus::Refunded);
    let paid = order.refunds[0].payment.unwrap();
    assert_eq!(paid.amount, Fen::new(100_000));
    assert_eq!(
        (paid.provider_part, paid.fee_part),
        (Fen::new(80_000), Fen::new(20_000))
    );
    assert_eq!(outcome.cancel, Vec::<String>::new());
}

#[test]
fn a_full_refund_inside_the_window_cancels_the_window_deadline() {
    let mut h = Harness::new("ali", beijing(2026, 7, 1, 10));
    let order = h.buy(image(DeclaredRefundPolicy::NoRefund));
    let order = request(&mut h, &order).unwrap();
    let (order, outcome) = with_outcome(&mut h, |ctx| accept_refund(&order, ctx)).unwrap();
    assert_eq!(
        outcome.cancel,
        vec![format!("order:{}:guarantee_window_end", order.id)]
    );
}

#[test]
fn paying_a_refund_refuses_nothing_and_more_than_remains_whoever_calls_it() {
    let mut h = Harness::new("ali", beijing(2026, 7, 1, 10));
    let order = h.buy(image(DeclaredRefundPolicy::NoRefund));
    let order = request(&mut h, &order).unwrap();
    let mut pay = |amount: i64| {
        h.run(|ctx| {
            let mut next = order.clone();
            let mut outcome = Outcome::default();
            super::refund::pay_refund(
                &mut next,
                0,
                Fen::new(amount),
                Decider::Provider,
                ctx,
                &mut outcome,
            )
            .map(|()| (next, outcome))
        })
    };
    assert_eq!(code(pay(100_001)), "refund_exceeds_paid");
    assert_eq!(code(pay(0)), "refund_exceeds_paid");
    assert_eq!(code(pay(-1)), "refund_exceeds_paid");
    assert_eq!(
        pay(100_000).map(|o| o.refunded_from_escrow),
        Ok(yuan(1_000))
    );
}

#[test]
fn where_the_rulebook_forbids_it_the_operator_awards_no_full_refund_on_an_in_window_request() {
    // Every builtin rulebook lets the operator refund in full inside the window; one that
    // does not leaves it a stated amount.
    let mut h = Harness::new("ali", beijing(2026, 7, 1, 10));
    h.rulebook.refunds.operator_may_refund_in_window = false;
    let order = h.buy(image(DeclaredRefundPolicy::NoRefund));
    let order = request(&mut h, &order).unwrap();
    let order = h.run(|ctx| escalate_refund(&order, ctx)).unwrap();
    let full = ArbitrationDecision::Refund {
        award: RefundAward::Full,
        note: String::new(),
    };
    let refused = h.run(|ctx| decide_refund(&order, full, ctx));
    assert_eq!(code(refused), "operator_refund_not_allowed");
    let part = ArbitrationDecision::Refund {
        award: RefundAward::Amount { amount: yuan(400) },
        note: String::new(),
    };
    let order = h.run(|ctx| decide_refund(&order, part, ctx)).unwrap();
    assert_eq!(order.refunds[0].payment.unwrap().amount, Fen::new(40_000));
}
