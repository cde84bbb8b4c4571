//! The deposit rules of SPEC §10, each named after the rule.

use jiff::Timestamp;
use uuid::Uuid;

use super::*;
use crate::decision::DomainRefusal;
use crate::provider::testkit::{World, ts};

fn provider() -> ProviderId {
    ProviderId(Uuid::from_u64_pair(1, 1))
}

fn yuan(y: i64) -> Fen {
    Fen::from_yuan(y).unwrap()
}

fn deduction(at: Timestamp, amount: Fen) -> Deduction {
    Deduction {
        id: Uuid::now_v7(),
        at,
        amount,
        cause: DeductionCause::Violation {
            case: Uuid::now_v7(),
            code: "ALI-B1".into(),
        },
        reference: "case".into(),
    }
}

/// `w.now`'s deduction of `amount` from a whole deposit.
fn deducted(w: &mut World, account: &DepositAccount, amount: Fen) -> DepositDecision {
    let required = w.rulebook.deposit.required_amount;
    let held_after = required.checked_sub(amount).unwrap();
    let d = deduction(w.now, amount);
    account
        .record_deduction(d, held_after, &mut w.ctx())
        .unwrap()
}

#[test]
fn top_up_is_due_three_working_days_after_the_deduction_notice_under_ali() {
    // Monday 2025-09-29: Tuesday 30 September works, then the National Day holiday (1–8
    // October); Thursday 9 and Friday 10 October are the second and third working days.
    let mut w = World::new("ali", "2025-09-29T15:00:00+08:00");
    let d = deducted(&mut w, &DepositAccount::new(provider()), yuan(2_000));
    let demand = &d.account.top_ups[0];
    assert_eq!(demand.due_at, ts("2025-10-11T00:00:00+08:00"));
    assert_eq!(demand.remind_at, ts("2025-10-10T00:00:00+08:00"));
    assert_eq!(demand.status, TopUpStatus::Open);
    let kinds: Vec<&str> = d.outcome.schedule.iter().map(|s| s.kind.as_str()).collect();
    assert_eq!(kinds, [TOP_UP_REMINDER, TOP_UP_DUE]);
}

#[test]
fn tc_top_up_term_is_seven_working_days_and_a_miss_closes_the_store_at_once() {
    let mut w = World::new("tc", "2025-06-02T10:00:00+08:00"); // a Monday
    let d = deducted(&mut w, &DepositAccount::new(provider()), yuan(5_000));
    let demand = d.account.top_ups[0].clone();
    assert_eq!(demand.due_at, ts("2025-06-12T00:00:00+08:00"));
    w.now = demand.due_at;
    let held = w
        .rulebook
        .deposit
        .required_amount
        .checked_sub(yuan(5_000))
        .unwrap();
    let missed = d
        .account
        .top_up_missed(demand.deduction, held, &mut w.ctx())
        .unwrap()
        .unwrap();
    assert!(
        missed.close_stores,
        "TC closes the store with no settlement step"
    );
    assert!(missed.account.settlement_claim.is_none());
    assert_eq!(missed.account.status_label(), "closed_for_shortfall");
}

#[test]
fn ali_missed_top_up_is_claimed_from_the_next_settlement_then_closes_the_store_if_short() {
    let mut w = World::new("ali", "2025-06-16T10:00:00+08:00");
    let required = w.rulebook.deposit.required_amount;
    let d = deducted(&mut w, &DepositAccount::new(provider()), yuan(3_000));
    let held = required.checked_sub(yuan(3_000)).unwrap();
    let demand = d.account.top_ups[0].clone();
    w.now = demand.due_at;
    let missed = d
        .account
        .top_up_missed(demand.deduction, held, &mut w.ctx())
        .unwrap()
        .unwrap();
    assert!(!missed.close_stores, "ALI takes from the settlement first");
    let claim = missed.account.settlement_claim.clone().unwrap();
    assert_eq!(
        claim.at,
        ts("2025-07-01T00:00:00+08:00"),
        "the June cut-off"
    );
    let due = |cutoff| {
        missed
            .account
            .claim_due(held, cutoff, &w.rulebook, claim.at)
            .unwrap()
    };
    assert_eq!(
        due(ts("2025-06-01T00:00:00+08:00")),
        Fen::ZERO,
        "May's settlement"
    );
    assert_eq!(due(claim.at), yuan(3_000), "June's settlement takes it");

    // The June statement could take 1,200.00: 1,800.00 still short → closed.
    w.now = claim.at;
    let (offset, taken) = missed
        .account
        .taken_from_settlement(held, yuan(1_200), &mut w.ctx())
        .unwrap()
        .unwrap();
    assert_eq!(taken.taken, yuan(1_200));
    assert_eq!(taken.still_short, yuan(1_800));
    assert!(offset.close_stores);
    assert!(offset.account.settlement_claim.is_none());

    // Topping up the rest reopens the store and meets the demand.
    let held = held.checked_add(yuan(1_200)).unwrap();
    let whole = offset
        .account
        .top_up(yuan(1_800), held, &mut w.ctx())
        .unwrap();
    assert!(whole.reopen_stores);
    assert_eq!(whole.account.status_label(), "whole");
}

#[test]
fn enough_earnings_at_the_cut_off_restore_the_deposit_without_closing_the_store() {
    let mut w = World::new("jd", "2025-06-16T10:00:00+08:00");
    let required = w.rulebook.deposit.required_amount;
    let d = deducted(&mut w, &DepositAccount::new(provider()), yuan(1_000));
    let held = required.checked_sub(yuan(1_000)).unwrap();
    let demand = d.account.top_ups[0].clone();
    w.now = demand.due_at;
    let missed = d
        .account
        .top_up_missed(demand.deduction, held, &mut w.ctx())
        .unwrap()
        .unwrap();
    w.now = missed.account.settlement_claim.as_ref().unwrap().at;
    let (offset, taken) = missed
        .account
        .taken_from_settlement(held, yuan(1_000), &mut w.ctx())
        .unwrap()
        .unwrap();
    assert_eq!(taken.taken, yuan(1_000));
    assert!(taken.still_short.is_zero());
    assert!(!offset.close_stores);
}

#[test]
fn a_top_up_in_time_meets_the_demand_and_cancels_its_deadlines() {
    let mut w = World::new("ali", "2025-06-16T10:00:00+08:00");
    let required = w.rulebook.deposit.required_amount;
    let d = deducted(&mut w, &DepositAccount::new(provider()), yuan(500));
    let held = required.checked_sub(yuan(500)).unwrap();
    let paid = d.account.top_up(yuan(500), held, &mut w.ctx()).unwrap();
    assert_eq!(paid.outcome.cancel.len(), 2);
    assert!(matches!(
        paid.account.top_ups[0].status,
        TopUpStatus::Met { .. }
    ));
    let deduction = paid.account.top_ups[0].deduction;
    w.now = paid.account.top_ups[0].due_at;
    assert!(
        paid.account
            .top_up_missed(deduction, required, &mut w.ctx())
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_top_up_above_the_shortfall_is_refused() {
    let mut w = World::new("ali", "2025-06-16T10:00:00+08:00");
    let required = w.rulebook.deposit.required_amount;
    let d = deducted(&mut w, &DepositAccount::new(provider()), yuan(500));
    let held = required.checked_sub(yuan(500)).unwrap();
    let err = d.account.top_up(yuan(501), held, &mut w.ctx()).unwrap_err();
    assert_eq!(err.code(), "top_up_exceeds_shortfall");
    let err = d.account.top_up(Fen::ZERO, held, &mut w.ctx()).unwrap_err();
    assert_eq!(err.code(), "invalid_amount");
}

#[test]
fn more_than_two_deductions_within_twelve_months_require_ten_thousand_extra() {
    let mut w = World::new("ali", "2025-01-10T10:00:00+08:00");
    let required = w.rulebook.deposit.required_amount;
    let mut account = DepositAccount::new(provider());
    for at in ["2025-01-10T10:00:00+08:00", "2025-06-10T10:00:00+08:00"] {
        w.now = ts(at);
        account = deducted(&mut w, &account, yuan(100)).account;
        assert!(account.surcharge.is_none());
    }
    w.now = ts("2025-12-20T10:00:00+08:00");
    let third = deducted(&mut w, &account, yuan(100));
    let s = third.account.surcharge.clone().unwrap();
    assert_eq!(s.amount, yuan(10_000));
    assert_eq!(s.until, ts("2026-12-20T10:00:00+08:00"));
    assert_eq!(
        third.account.required_at(&w.rulebook, w.now).unwrap(),
        required.checked_add(yuan(10_000)).unwrap()
    );
    assert!(
        third
            .outcome
            .events
            .iter()
            .any(|e| e.kind == "deposit.surcharge_required")
    );
}

#[test]
fn deductions_older_than_twelve_months_do_not_count_toward_the_surcharge() {
    let mut w = World::new("jd", "2025-01-10T10:00:00+08:00");
    let mut account = DepositAccount::new(provider());
    for at in [
        "2025-01-10T10:00:00+08:00",
        "2025-06-10T10:00:00+08:00",
        "2026-01-11T10:00:00+08:00",
    ] {
        w.now = ts(at);
        account = deducted(&mut w, &account, yuan(100)).account;
    }
    assert!(
        account.surcharge.is_none(),
        "the first left the window on 10 January"
    );
}

#[test]
fn tc_has_no_surcharge() {
    let mut w = World::new("tc", "2025-01-10T10:00:00+08:00");
    let mut account = DepositAccount::new(provider());
    for day in 10..14 {
        w.now = ts(&format!("2025-02-{day}T10:00:00+08:00"));
        account = deducted(&mut w, &account, yuan(100)).account;
    }
    assert!(account.surcharge.is_none());
}

fn cited(paid: Fen) -> CitedOrder {
    CitedOrder {
        order: OrderId::from_uuid(Uuid::from_u128(42)),
        provider: provider(),
        paid,
    }
}

#[test]
fn compensation_is_bounded_by_the_cited_orders_payment() {
    let mut w = World::new("ali", "2025-06-16T10:00:00+08:00");
    let account = DepositAccount::new(provider());
    let compensate = |amount, cited, w: &mut World| {
        account.compensate(amount, "赔付", "ref", cited, yuan(500), &mut w.ctx())
    };
    let err = compensate(Fen::new(100_001), Some(cited(yuan(1000))), &mut w).unwrap_err();
    assert_eq!(err.code(), "compensation_above_obligation");
    assert!(compensate(yuan(1000), Some(cited(yuan(1000))), &mut w).is_ok());
    let err = compensate(yuan(1), None, &mut w).unwrap_err();
    assert_eq!(err.code(), "compensation_without_order");
    let someone_elses = CitedOrder {
        provider: ProviderId::from_uuid(Uuid::from_u128(99)),
        ..cited(yuan(1000))
    };
    let err = compensate(yuan(1), Some(someone_elses), &mut w).unwrap_err();
    assert_eq!(err.code(), "compensation_without_order");
}

#[test]
fn compensation_beyond_the_deposit_is_booked_as_provider_debt() {
    let mut w = World::new("ali", "2025-06-16T10:00:00+08:00");
    let d = DepositAccount::new(provider())
        .compensate(
            yuan(800),
            "赔付 paid the buyer",
            "order-1",
            Some(cited(yuan(1000))),
            yuan(500),
            &mut w.ctx(),
        )
        .unwrap();
    let tx = d.outcome.transactions.last().unwrap();
    assert_eq!(tx.kind(), "deposit_compensation");
    let debt = tx
        .postings()
        .iter()
        .find(|p| p.account.kind == AccountKind::ProviderDebt)
        .unwrap();
    assert_eq!(debt.amount, yuan(300));
    assert_eq!(d.account.deductions[0].amount, yuan(500));
    assert_eq!(
        d.account.top_ups.len(),
        1,
        "the deposit is short: a top-up is due"
    );
}

#[test]
fn deposit_refund_waits_for_the_end_of_cooperation_and_every_obligation() {
    let mut w = World::new("tc", "2025-06-16T10:00:00+08:00");
    let held = w.rulebook.deposit.required_amount;
    let a = DepositAccount::new(provider());
    let none = Obligations::default();
    let err = a
        .request_refund(false, &none, true, false, held, &mut w.ctx())
        .unwrap_err();
    assert_eq!(err.code(), "cooperation_not_ended");
    let open = Obligations {
        unfinished_orders: 1,
        ..Obligations::default()
    };
    let err = a
        .request_refund(true, &open, true, false, held, &mut w.ctx())
        .unwrap_err();
    assert_eq!(err.code(), "obligations_remain");
    let err = a
        .request_refund(true, &none, false, false, held, &mut w.ctx())
        .unwrap_err();
    assert_eq!(err.code(), "receipt_required", "TC 3.1.5④");
    let ok = a
        .request_refund(true, &none, true, false, held, &mut w.ctx())
        .unwrap();
    let due = ok.account.refund.as_ref().unwrap().due_at.unwrap();
    // Monday 16 June + 15 working days (Dragon Boat falls on 31 May 2025, before).
    assert_eq!(due, ts("2025-07-08T00:00:00+08:00"));
    let paid = ok
        .account
        .pay_refund(held, Owed::default(), &mut w.ctx())
        .unwrap();
    let tx = &paid.outcome.transactions[0];
    assert_eq!(tx.kind(), "deposit_refund");
    assert_eq!(paid.account.status_label(), "refunded");
    assert_eq!(
        paid.account
            .pay_refund(held, Owed::default(), &mut w.ctx())
            .unwrap_err()
            .code(),
        "no_refund_due"
    );
}

#[test]
fn ali_refunds_the_deposit_only_without_a_breach_in_the_term() {
    let mut w = World::new("ali", "2025-06-16T10:00:00+08:00");
    let held = w.rulebook.deposit.required_amount;
    let err = DepositAccount::new(provider())
        .request_refund(
            true,
            &Obligations::default(),
            true,
            true,
            held,
            &mut w.ctx(),
        )
        .unwrap_err();
    assert_eq!(err.code(), "breach_during_term");
    // A clean JD provider needs no receipt.
    let mut w = World::new("jd", "2025-06-16T10:00:00+08:00");
    let ok = DepositAccount::new(provider())
        .request_refund(
            true,
            &Obligations::default(),
            false,
            false,
            held,
            &mut w.ctx(),
        )
        .unwrap();
    assert_eq!(
        ok.account.refund.unwrap().due_at,
        None,
        "JD sets no refund term"
    );
}

#[test]
fn an_unpaid_refund_past_its_due_time_is_overdue_once() {
    let mut w = World::new("tc", "2025-06-16T10:00:00+08:00");
    let held = w.rulebook.deposit.required_amount;
    let asked = DepositAccount::new(provider())
        .request_refund(
            true,
            &Obligations::default(),
            true,
            false,
            held,
            &mut w.ctx(),
        )
        .unwrap();
    w.now = asked.account.refund.as_ref().unwrap().due_at.unwrap();
    let overdue = asked.account.refund_overdue(&mut w.ctx()).unwrap();
    assert!(
        overdue
            .account
            .refund
            .as_ref()
            .unwrap()
            .overdue_since
            .is_some()
    );
    assert!(overdue.account.refund_overdue(&mut w.ctx()).is_none());
}

#[test]
fn an_extra_deposit_a_case_requires_raises_the_requirement_for_a_year_and_demands_a_top_up() {
    let mut w = World::new("ali", "2025-06-16T10:00:00+08:00");
    let required = w.rulebook.deposit.required_amount;
    let case = Uuid::now_v7();
    let d = DepositAccount::new(provider())
        .require_extra(case, yuan(10_000), required, &mut w.ctx())
        .unwrap();
    let later = ts("2026-06-15T10:00:00+08:00");
    assert_eq!(
        d.account.required_at(&w.rulebook, later).unwrap(),
        required.checked_add(yuan(10_000)).unwrap()
    );
    assert_eq!(
        d.account
            .required_at(&w.rulebook, ts("2026-06-16T10:00:00+08:00"))
            .unwrap(),
        required,
        "ends after 12 months"
    );
    assert_eq!(d.account.top_ups[0].deduction, case);
    assert_eq!(d.account.status_label(), "top_up_due");
}

#[test]
fn a_penalty_deduction_takes_what_is_held_and_books_the_rest_owed() {
    let mut w = World::new("tc", "2025-06-16T10:00:00+08:00");
    let d = DepositAccount::new(provider())
        .deduct_penalty(
            Uuid::now_v7(),
            "TC-S4",
            yuan(3_000),
            yuan(2_000),
            &mut w.ctx(),
        )
        .unwrap();
    let tx = d.outcome.transactions.last().unwrap();
    assert_eq!(tx.kind(), "violation_deposit_deduction");
    let owed = tx
        .postings()
        .iter()
        .find(|p| p.account.kind == AccountKind::PenaltiesReceivable)
        .unwrap();
    assert_eq!(owed.amount, yuan(1_000));
    assert_eq!(d.account.deductions[0].amount, yuan(2_000));
    assert_eq!(d.account.top_ups.len(), 1);
}

#[test]
fn a_provider_with_debt_that_exits_is_charged_against_the_deposit() {
    let mut w = World::new("ali", "2025-06-16T10:00:00+08:00");
    let held = w.rulebook.deposit.required_amount;
    let mut a = DepositAccount::new(provider());
    a.refund = Some(RefundRequest {
        requested_at: w.now,
        receipt_returned: true,
        due_at: None,
        paid_at: None,
        paid_amount: None,
        overdue_since: None,
    });
    let owed = Owed {
        debt: yuan(450),
        penalties: yuan(1_000),
    };
    let paid = a.pay_refund(held, owed, &mut w.ctx()).unwrap();
    let back = held.checked_sub(yuan(1_450)).unwrap();
    assert_eq!(paid.account.refund.unwrap().paid_amount, Some(back));
    let moved = |kind| -> i64 {
        paid.outcome.transactions[0]
            .postings()
            .iter()
            .filter(|p| p.account.kind == kind)
            .map(|p| p.amount.fen())
            .sum()
    };
    assert_eq!(
        moved(AccountKind::ProviderDebt),
        -45_000,
        "the debt is settled"
    );
    assert_eq!(moved(AccountKind::PenaltiesReceivable), -100_000);
    assert_eq!(moved(AccountKind::OperatorCash), -back.fen());
}

#[test]
fn a_shortfall_closes_the_stores_not_closed_for_good_and_the_top_up_reopens_them() {
    use crate::provider::testkit::active_provider;
    use crate::storefront::{ClosureReason, Store};
    let mut w = World::new("tc", "2025-06-02T10:00:00+08:00");
    let (p, _) = active_provider(&mut w);
    let (open, _) = Store::open(&p, "Acme", None, &mut w.ctx()).unwrap();
    let (gone, _) = Store::open(&p, "Old", None, &mut w.ctx()).unwrap();
    let (gone, _) = gone.close(ClosureReason::Expulsion, &mut w.ctx()).unwrap();
    let required = w.rulebook.deposit.required_amount;
    let d = deducted(&mut w, &DepositAccount::new(p.id), yuan(5_000));
    let demand = d.account.top_ups[0].clone();
    w.now = demand.due_at;
    let held = required.checked_sub(yuan(5_000)).unwrap();
    let missed = d
        .account
        .top_up_missed(demand.deduction, held, &mut w.ctx())
        .unwrap()
        .unwrap();

    let (closed, outcome) = missed
        .store_effect(&open, &mut w.ctx())
        .unwrap()
        .expect("an open store closes for the shortfall");
    assert_eq!(closed.deposit_closure, Some(w.now));
    assert_eq!(outcome.events[0].kind, "store.closed_for_deposit");
    assert!(
        missed
            .store_effect(&closed, &mut w.ctx())
            .unwrap()
            .is_none(),
        "already closed for it"
    );
    assert!(
        missed.store_effect(&gone, &mut w.ctx()).unwrap().is_none(),
        "a store closed for good stays so"
    );

    let whole = missed
        .account
        .top_up(yuan(5_000), held, &mut w.ctx())
        .unwrap();
    let (reopened, _) = whole
        .store_effect(&closed, &mut w.ctx())
        .unwrap()
        .expect("the store closed for the shortfall reopens");
    assert_eq!(reopened.deposit_closure, None);
    assert!(
        whole.store_effect(&open, &mut w.ctx()).unwrap().is_none(),
        "a store never closed for it is left alone"
    );
}
