//! What happens to a buyer's order when its provider leaves the marketplace (SPEC §13;
//! ALI-R art.30(1), TC 8.4.1, JD art.26(1)): unfinished or unstarted projects are refunded —
//! in full (TC, JD) or by delivery degree (ALI).
//!
//! "Unfinished" is an order whose escrow is still held: inside its guarantee window, or a
//! service not yet accepted. A released order was delivered and accepted (after-sales stay
//! between provider and buyer, ALI-R art.30(3)); a pay-later order in use owes nothing yet,
//! so there is nothing to refund; an order awaiting payment is cancelled.
//!
//! By delivery degree: a held order inside its day-counted window is refunded in full — the
//! buyer could ask for exactly that inside the window (ALI-R art.21(1)) — and so is a service
//! order with no milestone confirmed. A service order with confirmed milestones was partly
//! delivered: customer service sets the amount ([`ExitTreatment::Assess`]); the rest of the
//! escrow is then the provider's ([`ReleaseTrigger::ProviderExit`]).

use serde::{Deserialize, Serialize};

use super::aggregate::{Order, OrderStatus, ReleaseTrigger};
use super::error::OrderError;
use super::lifecycle::release;
use super::refund::{
    Decider, Refund, RefundOrigin, RefundStatus, check_note, pay_refund, refund_event,
};
use super::refund_policy::RefundBasis;
use super::window;
use crate::decision::{Context, Outcome};
use crate::ids::RefundId;
use crate::money::Fen;
use crate::rulebook::ExitRefund;

/// How an order is settled when its provider exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "treatment")]
pub enum ExitTreatment {
    /// Unfinished or not started: everything paid and not yet refunded goes back.
    RefundInFull,
    /// Partly delivered (ALI, by delivery degree): customer service sets the amount.
    Assess { confirmed_milestones: usize },
    /// Placed and never paid: cancelled.
    Cancel,
    /// Finished, free, pay-later in use, refunded or cancelled: nothing to do.
    Keep,
}

/// The treatment of `order` under the rulebook's exit refund rule.
pub fn exit_treatment(order: &Order, rule: ExitRefund) -> ExitTreatment {
    match order.status {
        OrderStatus::AwaitingPayment => ExitTreatment::Cancel,
        OrderStatus::Held => {
            let confirmed = order
                .milestones
                .iter()
                .filter(|m| m.confirmed_at.is_some())
                .count();
            if rule == ExitRefund::ByDeliveryDegree && order.is_supervised() && confirmed > 0 {
                ExitTreatment::Assess {
                    confirmed_milestones: confirmed,
                }
            } else {
                ExitTreatment::RefundInFull
            }
        }
        OrderStatus::InUseUnpaid
        | OrderStatus::Free
        | OrderStatus::Released
        | OrderStatus::Refunded
        | OrderStatus::Cancelled => ExitTreatment::Keep,
    }
}

/// What an exit does to one of the provider's orders, decided and applied.
#[derive(Debug, Clone, PartialEq)]
pub enum ExitSettlement {
    /// Finished, free, pay-later in use, refunded or cancelled: nothing to do.
    Keep,
    /// Placed and never paid: the order cancelled.
    Cancelled(Order, Outcome),
    /// Unfinished or not started: the order refunded in full.
    Refunded(Order, Outcome),
    /// Partly delivered: customer service sets the amount from these figures (a refund task).
    Assess {
        confirmed_milestones: usize,
        milestones: usize,
        paid: Fen,
        refundable: Fen,
    },
}

/// `order` settled on its provider's exit under the rulebook's rule (SPEC §13): the
/// [`exit_treatment`] applied — cancelled, refunded in full with `note`, or the figures of
/// the assessment customer service makes.
pub fn settle_on_exit(
    order: &Order,
    rule: ExitRefund,
    note: &str,
    ctx: &mut Context<'_>,
) -> Result<ExitSettlement, OrderError> {
    Ok(match exit_treatment(order, rule) {
        ExitTreatment::Keep => ExitSettlement::Keep,
        ExitTreatment::Cancel => {
            let (next, outcome) = super::lifecycle::cancel(order, ctx)?;
            ExitSettlement::Cancelled(next, outcome)
        }
        ExitTreatment::RefundInFull => {
            let (next, outcome) = refund_on_exit(order, None, note, ctx)?;
            ExitSettlement::Refunded(next, outcome)
        }
        ExitTreatment::Assess {
            confirmed_milestones,
        } => ExitSettlement::Assess {
            confirmed_milestones,
            milestones: order.milestones.len(),
            paid: order.paid_amount(),
            refundable: order.refundable_remaining()?,
        },
    })
}

/// Refunds `amount` (`None`: everything not yet refunded) because the provider left. An open
/// buyer request is settled by this refund rather than left hanging. What escrow still holds
/// afterwards is released to the provider: it is the delivered part.
pub fn refund_on_exit(
    order: &Order,
    amount: Option<Fen>,
    note: &str,
    ctx: &mut Context<'_>,
) -> Result<(Order, Outcome), OrderError> {
    if !matches!(order.status, OrderStatus::Held | OrderStatus::Released) {
        return Err(match order.status {
            OrderStatus::Refunded => OrderError::AlreadyRefunded,
            OrderStatus::AwaitingPayment | OrderStatus::InUseUnpaid | OrderStatus::Free => {
                OrderError::NotPaid
            }
            status => OrderError::InvalidTransition {
                action: "refund on exit",
                status,
            },
        });
    }
    let remaining = order.refundable_remaining()?;
    let amount = amount.unwrap_or(remaining);
    if amount.fen() <= 0 || amount > remaining {
        return Err(OrderError::RefundExceedsPaid {
            requested: amount,
            remaining,
        });
    }
    let note = check_note(note)?;
    let mut next = order.clone();
    let index = match next.refunds.iter().position(|r| r.status.is_open()) {
        Some(i) => {
            let r = &mut next.refunds[i];
            r.basis = RefundBasis::ProviderExit;
            r.proposed = amount;
            r.operator_note = Some(note);
            i
        }
        None => {
            next.refunds.push(Refund {
                id: RefundId::from_uuid(ctx.ids.next_id()),
                origin: RefundOrigin::Operator,
                reason: None,
                note: String::new(),
                basis: RefundBasis::ProviderExit,
                proposed: amount,
                requested_at: ctx.now,
                status: RefundStatus::Escalated,
                provider_note: None,
                declined_at: None,
                escalated_at: Some(ctx.now),
                operator_note: Some(note),
                closed_at: None,
                payment: None,
            });
            next.refunds.len() - 1
        }
    };
    let mut outcome = Outcome::default();
    pay_refund(
        &mut next,
        index,
        amount,
        Decider::Operator,
        ctx,
        &mut outcome,
    )?;
    if let Some(refund) = next.refunds.get(index) {
        outcome.events.push(refund_event(
            "order.refunded_on_provider_exit",
            &next,
            refund,
        ));
    }
    release_rest(&mut next, ctx, &mut outcome)?;
    Ok((next, outcome))
}

/// Customer service found the project delivered in full: no refund, the escrow is the
/// provider's.
pub fn release_on_exit(
    order: &Order,
    ctx: &mut Context<'_>,
) -> Result<(Order, Outcome), OrderError> {
    if order.status != OrderStatus::Held {
        return Err(OrderError::InvalidTransition {
            action: "release on exit",
            status: order.status,
        });
    }
    if order.open_refund().is_some() {
        return Err(OrderError::RefundInProgress);
    }
    let mut next = order.clone();
    let mut outcome = Outcome::default();
    release_rest(&mut next, ctx, &mut outcome)?;
    Ok((next, outcome))
}

fn release_rest(
    order: &mut Order,
    ctx: &mut Context<'_>,
    outcome: &mut Outcome,
) -> Result<(), OrderError> {
    if order.status == OrderStatus::Held && order.escrow.fen() > 0 {
        if order.window.is_some() {
            outcome.cancel.push(window::dedupe_key(order));
        }
        release(order, ReleaseTrigger::ProviderExit, ctx, outcome)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Pricing, ProductCategory};
    use crate::order::fixture::*;
    use crate::order::*;

    fn service(h: &mut Harness) -> Order {
        h.buy(terms(
            ProductCategory::Service,
            Pricing::OneOff,
            yuan(3_000),
        ))
    }

    fn image(h: &mut Harness) -> Order {
        h.buy(terms(ProductCategory::Image, Pricing::OneOff, yuan(1_000)))
    }

    #[test]
    fn unfinished_orders_are_refunded_in_full_under_tc_and_jd() {
        for family in ["tc", "jd"] {
            let mut h = Harness::new(family, beijing(2026, 7, 1, 10));
            let rule = h.rulebook.exit.unfinished_projects_refund;
            assert_eq!(rule, ExitRefund::Full, "{family}");
            let order = service(&mut h);
            let order = h
                .run(|ctx| report_milestone(&order, "需求调研完成", ctx))
                .unwrap();
            let order = h.run(|ctx| confirm_milestone(&order, 0, ctx)).unwrap();
            // Even a started project goes back in full where the rule says so.
            assert_eq!(exit_treatment(&order, rule), ExitTreatment::RefundInFull);
            let order = h
                .run(|ctx| refund_on_exit(&order, None, "服务商退出", ctx))
                .unwrap();
            assert_eq!(order.status, OrderStatus::Refunded, "{family}");
            assert_eq!(order.refunded_total().unwrap(), yuan(3_000));
            assert_eq!(order.refunds[0].basis, RefundBasis::ProviderExit);
            assert_eq!(h.natural(&escrow_account(order.id)), Fen::ZERO);
            assert!(h.event_kinds().contains(&"order.refunded_on_provider_exit"));
        }
    }

    #[test]
    fn by_delivery_degree_a_service_with_confirmed_milestones_is_assessed_not_refunded() {
        let mut h = Harness::new("ali", beijing(2026, 7, 1, 10));
        let rule = h.rulebook.exit.unfinished_projects_refund;
        assert_eq!(rule, ExitRefund::ByDeliveryDegree);
        let order = service(&mut h);
        // Not started: nothing confirmed, a reported milestone does not count.
        let order = h
            .run(|ctx| report_milestone(&order, "环境部署完成", ctx))
            .unwrap();
        assert_eq!(exit_treatment(&order, rule), ExitTreatment::RefundInFull);
        let order = h.run(|ctx| confirm_milestone(&order, 0, ctx)).unwrap();
        assert_eq!(
            exit_treatment(&order, rule),
            ExitTreatment::Assess {
                confirmed_milestones: 1
            }
        );
        // Customer service sets 1,200 of 3,000: refunded, the rest released to the provider.
        let order = h
            .run(|ctx| refund_on_exit(&order, Some(yuan(1_200)), "按交付程度退款", ctx))
            .unwrap();
        assert_eq!(order.status, OrderStatus::Released);
        assert_eq!(order.refunded_total().unwrap(), yuan(1_200));
        let release = order.release.unwrap();
        assert_eq!(release.trigger, ReleaseTrigger::ProviderExit);
        assert_eq!(release.amount, yuan(1_800));
        assert_eq!(h.natural(&escrow_account(order.id)), Fen::ZERO);
        assert_eq!(h.natural(&payable_account(provider())), yuan(1_440));
    }

    #[test]
    fn by_delivery_degree_an_order_inside_its_window_is_refunded_in_full() {
        let mut h = Harness::new("ali", beijing(2026, 7, 1, 10));
        let order = image(&mut h);
        assert_eq!(
            exit_treatment(&order, ExitRefund::ByDeliveryDegree),
            ExitTreatment::RefundInFull
        );
        let order = h.run(|ctx| refund_on_exit(&order, None, "", ctx)).unwrap();
        assert_eq!(order.status, OrderStatus::Refunded);
        assert!(h.deadlines.is_empty(), "the window deadline is moot");
    }

    #[test]
    fn an_exit_settles_each_order_by_its_treatment() {
        let mut h = Harness::new("ali", beijing(2026, 7, 1, 10));
        let rule = h.rulebook.exit.unfinished_projects_refund;
        let placed = h.place(
            terms(ProductCategory::Image, Pricing::OneOff, yuan(1_000)),
            PaymentTerms::Prepaid,
        );
        let held = image(&mut h);
        let started = service(&mut h);
        let started = h
            .run(|ctx| report_milestone(&started, "环境部署完成", ctx))
            .unwrap();
        let started = h.run(|ctx| confirm_milestone(&started, 0, ctx)).unwrap();
        let done = image(&mut h);
        let done = h.run(|ctx| confirm_receipt(&done, ctx)).unwrap();
        let mut settle = |o: &Order| {
            h.run(|ctx| {
                Ok((
                    settle_on_exit(o, rule, "服务商退出", ctx)?,
                    Outcome::default(),
                ))
            })
            .unwrap()
        };
        match settle(&placed) {
            ExitSettlement::Cancelled(o, _) => assert_eq!(o.status, OrderStatus::Cancelled),
            other => panic!("awaiting payment is cancelled, got {other:?}"),
        }
        match settle(&held) {
            ExitSettlement::Refunded(o, outcome) => {
                assert_eq!(o.status, OrderStatus::Refunded);
                assert_eq!(o.refunded_total().unwrap(), yuan(1_000));
                assert!(!outcome.transactions.is_empty(), "the refund is posted");
            }
            other => panic!("a held order is refunded in full, got {other:?}"),
        }
        assert_eq!(
            settle(&started),
            ExitSettlement::Assess {
                confirmed_milestones: 1,
                milestones: started.milestones.len(),
                paid: yuan(3_000),
                refundable: yuan(3_000),
            }
        );
        assert_eq!(settle(&done), ExitSettlement::Keep);
    }

    #[test]
    fn finished_unpaid_and_awaiting_orders_are_kept_or_cancelled() {
        let mut h = Harness::new("jd", beijing(2026, 7, 1, 10));
        let placed = h.place(
            terms(ProductCategory::Image, Pricing::OneOff, yuan(1_000)),
            PaymentTerms::Prepaid,
        );
        assert_eq!(
            exit_treatment(&placed, ExitRefund::Full),
            ExitTreatment::Cancel
        );
        let order = image(&mut h);
        let order = h.run(|ctx| confirm_receipt(&order, ctx)).unwrap();
        assert_eq!(order.status, OrderStatus::Released);
        assert_eq!(
            exit_treatment(&order, ExitRefund::Full),
            ExitTreatment::Keep
        );
    }

    #[test]
    fn an_open_buyer_request_is_settled_by_the_exit_refund() {
        let mut h = Harness::new("jd", beijing(2026, 7, 1, 10));
        let order = image(&mut h);
        let order = h
            .run(|ctx| {
                request_refund(
                    &order,
                    RequestRefund {
                        reason: None,
                        note: "不想要了".into(),
                    },
                    ctx,
                )
            })
            .unwrap();
        let order = h
            .run(|ctx| refund_on_exit(&order, None, "服务商退出", ctx))
            .unwrap();
        assert_eq!(order.refunds.len(), 1);
        assert_eq!(order.refunds[0].status, RefundStatus::Refunded);
        assert_eq!(order.status, OrderStatus::Refunded);
    }

    #[test]
    fn a_delivered_service_is_released_without_refund_and_an_exit_refund_never_exceeds_paid() {
        let mut h = Harness::new("ali", beijing(2026, 7, 1, 10));
        let order = service(&mut h);
        let err = h
            .run(|ctx| refund_on_exit(&order, Some(yuan(3_001)), "", ctx))
            .unwrap_err();
        assert_eq!(
            crate::decision::DomainRefusal::code(&err),
            "refund_exceeds_paid"
        );
        let order = h.run(|ctx| release_on_exit(&order, ctx)).unwrap();
        assert_eq!(order.status, OrderStatus::Released);
        assert_eq!(h.natural(&payable_account(provider())), yuan(2_400));
    }
}
