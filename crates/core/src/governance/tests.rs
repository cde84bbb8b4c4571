//! The case lifecycle and penalty planning, named after the rules (SPEC §9).

use jiff::Timestamp;
use jiff::civil::{Date, date};
use proptest::prelude::*;
use uuid::Uuid;

use super::record::points_year;
use super::*;
use crate::calendar::WorkingCalendar;
use crate::decision::{Context, DomainRefusal, Outcome, SequentialIds};
use crate::ids::ProviderId;
use crate::money::Fen;
use crate::rulebook::{Action, Library, MarketplaceRulebook};

fn book(id: &str) -> MarketplaceRulebook {
    Library::builtin()
        .unwrap()
        .get(id)
        .unwrap()
        .as_marketplace()
        .unwrap()
        .clone()
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

struct W {
    rb: MarketplaceRulebook,
    cal: WorkingCalendar,
    ids: SequentialIds,
}

impl W {
    fn new(id: &str) -> W {
        W {
            rb: book(id),
            cal: WorkingCalendar::builtin().unwrap(),
            ids: SequentialIds::new(7),
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
    fn open(&mut self, code: &str, act_on: Date, now: Timestamp) -> (Case, Outcome) {
        let rb = self.rb.clone();
        let cmd = OpenCase {
            provider: ProviderId(Uuid::from_u128(1)),
            code: code.into(),
            act_on,
            source: CaseSource::SpotCheck,
            summary: "抽查发现".into(),
            reference: None,
            product: None,
            by: None,
        };
        Case::open(Uuid::from_u128(99), cmd, &rb, &mut self.ctx(now)).unwrap()
    }
}

#[test]
fn a_case_opens_with_a_reply_window_of_three_working_days_as_a_stored_deadline() {
    let mut w = W::new("ali-2020");
    // Opened Monday 2026-07-06 10:00 Beijing: due at the end of Thursday 07-09.
    let (case, out) = w.open("ALI-B1", date(2026, 7, 6), at("2026-07-06T10:00:00+08:00"));
    assert_eq!(case.status, CaseStatus::AwaitingReply);
    assert_eq!(case.reply_due, at("2026-07-10T00:00:00+08:00"));
    assert_eq!(out.schedule.len(), 1);
    assert_eq!(out.schedule[0].kind, REPLY_WINDOW_ENDS);
    assert_eq!(out.events[0].kind, "case.opened");
    assert_eq!(out.events[1].kind, "case.notice_sent");
}

#[test]
fn no_reply_across_the_national_day_holiday_is_established_after_the_third_working_day() {
    let mut w = W::new("ali-2020");
    // Notice on Wednesday 2026-09-30: 1–7 October are holidays, 8 and 9 October working
    // days and Saturday 10 October an adjusted working day (调休): the third, so the window
    // ends at Beijing midnight after it.
    let now = at("2026-09-30T10:00:00+08:00");
    let (case, _) = w.open("ALI-S4", date(2026, 9, 29), now);
    assert_eq!(case.reply_due, at("2026-10-11T00:00:00+08:00"));
    // One second before: not due.
    let before = case
        .reply_due
        .checked_sub(jiff::SignedDuration::from_secs(1))
        .unwrap();
    assert_eq!(
        case.reply_window_ends(&mut w.ctx(before)),
        Err(CaseError::NotDue)
    );
    let (next, out) = case.reply_window_ends(&mut w.ctx(case.reply_due)).unwrap();
    assert_eq!(next.status, CaseStatus::PenaltyNoticed);
    assert!(next.finding.as_ref().unwrap().automatic);
    assert_eq!(out.schedule[0].kind, OBJECTION_WINDOW_ENDS);
}

#[test]
fn a_reply_without_proof_establishes_the_violation() {
    let mut w = W::new("ali-2020");
    let now = at("2026-07-06T10:00:00+08:00");
    let (case, _) = w.open("ALI-S2", date(2026, 7, 6), now);
    let (next, out) = case.reply("我们不认可", vec![], &mut w.ctx(now)).unwrap();
    assert_eq!(next.status, CaseStatus::PenaltyNoticed);
    assert!(out.cancel.contains(&case.reply_key()));
}

#[test]
fn a_reply_with_proof_waits_for_the_finding_and_a_dismissal_ends_the_case() {
    let mut w = W::new("ali-2020");
    let now = at("2026-07-06T10:00:00+08:00");
    let (case, _) = w.open("ALI-S2", date(2026, 7, 6), now);
    let (replied, _) = case
        .reply("已回复买家", vec![Uuid::from_u128(5)], &mut w.ctx(now))
        .unwrap();
    assert_eq!(replied.status, CaseStatus::Replied);
    let (dismissed, _) = replied
        .find(false, "证据充分", None, &mut w.ctx(now))
        .unwrap();
    assert_eq!(dismissed.status, CaseStatus::Dismissed);
    // The reply window firing later changes nothing.
    let (same, out) = dismissed
        .reply_window_ends(&mut w.ctx(case.reply_due))
        .unwrap();
    assert_eq!(same, dismissed);
    assert!(out.events.is_empty());
}

#[test]
fn a_reply_after_the_window_is_refused() {
    let mut w = W::new("ali-2020");
    let (case, _) = w.open("ALI-S2", date(2026, 7, 6), at("2026-07-06T10:00:00+08:00"));
    let err = case
        .reply("迟到", vec![], &mut w.ctx(case.reply_due))
        .unwrap_err();
    assert_eq!(err, CaseError::WindowClosed("reply"));
}

#[test]
fn an_objection_is_decided_by_compliance_and_silence_accepts_the_penalty() {
    let mut w = W::new("tc-2017");
    let now = at("2026-07-06T10:00:00+08:00");
    let (case, _) = w.open("TC-S4", date(2026, 7, 6), now);
    let (noticed, _) = case.find(true, "事实清楚", None, &mut w.ctx(now)).unwrap();
    assert_eq!(noticed.status, CaseStatus::PenaltyNoticed);
    let (objected, out) = noticed.object("处罚过重", vec![], &mut w.ctx(now)).unwrap();
    assert!(out.cancel.contains(&noticed.objection_key()));
    let (decided, _) = objected
        .decide_objection(false, "维持处罚", None, &mut w.ctx(now))
        .unwrap();
    assert_eq!(decided.status, CaseStatus::Decided);
    assert!(decided.published_at.is_some());
    let due = noticed
        .penalty_notice
        .as_ref()
        .unwrap()
        .objection_due
        .unwrap();
    let (silent, _) = noticed.objection_window_ends(&mut w.ctx(due)).unwrap();
    assert_eq!(silent.status, CaseStatus::Decided);
    assert_eq!(silent.decision.as_ref().unwrap().basis, "no_objection");
}

#[test]
fn the_rulebook_in_force_on_the_day_of_the_act_must_have_the_code() {
    let mut w = W::new("ali-2020");
    let rb = w.rb.clone();
    let cmd = OpenCase {
        provider: ProviderId(Uuid::from_u128(1)),
        code: "TC-S1".into(),
        act_on: date(2026, 7, 1),
        source: CaseSource::Complaint,
        summary: "x".into(),
        reference: None,
        product: None,
        by: None,
    };
    let err = Case::open(
        Uuid::nil(),
        cmd,
        &rb,
        &mut w.ctx(at("2026-07-06T10:00:00+08:00")),
    );
    assert!(matches!(err, Err(CaseError::UnknownViolation { .. })));
}

fn decided(w: &mut W, code: &str, act_on: Date, now: Timestamp) -> Case {
    let (case, _) = w.open(code, act_on, now);
    let (c, _) = case.find(true, "事实清楚", None, &mut w.ctx(now)).unwrap();
    let (c, _) = c.accept(&mut w.ctx(now)).unwrap();
    c
}

#[test]
fn ali_two_twelve_point_violations_in_one_fiscal_year_expel_and_forfeit_the_deposit() {
    let mut w = W::new("ali-2020");
    let rb = w.rb.clone();
    let held = Fen::from_yuan(10_000).unwrap();
    let now = at("2026-07-06T10:00:00+08:00");
    let c1 = decided(&mut w, "ALI-B1", date(2026, 7, 1), now);
    let record = ViolationRecord::new(c1.provider);
    let (record, plan, out) = plan_penalty(&record, &c1, held, &rb, &mut w.ctx(now)).unwrap();
    assert_eq!(plan.year_total, Some(12));
    assert!(!plan.expel);
    assert_eq!(plan.store_action, Action::Freeze(15));
    assert_eq!(plan.deposit_deducted, Fen::from_yuan(5000).unwrap());
    assert_eq!(out.transactions.len(), 1);
    let later = at("2027-01-10T10:00:00+08:00");
    let mut c2 = decided(&mut w, "ALI-B5", date(2027, 1, 8), later);
    c2.id = Uuid::from_u128(100);
    let left = Fen::from_yuan(5000).unwrap();
    let (_, plan, _) = plan_penalty(&record, &c2, left, &rb, &mut w.ctx(later)).unwrap();
    assert_eq!(plan.year_total, Some(24));
    assert!(plan.threshold_reached && plan.expel && !plan.ban);
    assert_eq!(plan.deposit_deducted, Fen::from_yuan(3000).unwrap());
    assert_eq!(plan.deposit_forfeited, Fen::from_yuan(2000).unwrap());
}

#[test]
fn ali_points_reset_at_31_march_24_00_and_jd_at_31_december() {
    let ali = book("ali-2020").points.unwrap();
    let jd = book("jd-2019").points.unwrap();
    let y = |p, d: Date| points_year(p, d, d).unwrap().start;
    assert_eq!(y(&ali, date(2027, 3, 20)), date(2026, 4, 1));
    assert_eq!(y(&ali, date(2027, 3, 31)), date(2026, 4, 1));
    assert_eq!(y(&ali, date(2027, 4, 1)), date(2027, 4, 1));
    assert_eq!(y(&jd, date(2026, 12, 31)), date(2026, 1, 1));
    assert_eq!(y(&jd, date(2027, 1, 1)), date(2027, 1, 1));
    // ALI-R art.25: a case handled across the boundary books in the new year.
    assert_eq!(
        points_year(&ali, date(2027, 3, 30), date(2027, 4, 2))
            .unwrap()
            .start,
        date(2027, 4, 1)
    );
}

#[test]
fn tc_off_platform_trade_bans_and_deducts_5000_without_forfeiting_the_rest() {
    let mut w = W::new("tc-2017");
    let rb = w.rb.clone();
    let now = at("2026-07-06T10:00:00+08:00");
    let c = decided(&mut w, "TC-S1", date(2026, 7, 1), now);
    let held = Fen::from_yuan(10_000).unwrap();
    let (_, plan, out) = plan_penalty(
        &ViolationRecord::new(c.provider),
        &c,
        held,
        &rb,
        &mut w.ctx(now),
    )
    .unwrap();
    assert!(plan.expel && plan.ban);
    assert_eq!(plan.deposit_deducted, Fen::from_yuan(5000).unwrap());
    assert_eq!(plan.deposit_forfeited, Fen::ZERO);
    assert!(plan.points.is_none());
    assert_eq!(out.transactions.len(), 1);
}

#[test]
fn a_deduction_larger_than_the_deposit_leaves_the_rest_owed() {
    let mut w = W::new("tc-2017");
    let rb = w.rb.clone();
    let now = at("2026-07-06T10:00:00+08:00");
    let c = decided(&mut w, "TC-S1", date(2026, 7, 1), now);
    let held = Fen::from_yuan(2000).unwrap();
    let (_, plan, out) = plan_penalty(
        &ViolationRecord::new(c.provider),
        &c,
        held,
        &rb,
        &mut w.ctx(now),
    )
    .unwrap();
    assert_eq!(plan.deposit_deducted, held);
    assert_eq!(plan.owed, Fen::from_yuan(3000).unwrap());
    assert_eq!(out.transactions.len(), 2);
}

#[test]
fn stacking_needs_a_decided_case_and_a_measure_of_the_rulebook() {
    let mut w = W::new("ali-2020");
    let now = at("2026-07-06T10:00:00+08:00");
    let c = decided(&mut w, "ALI-S2", date(2026, 7, 1), now);
    let ok = c.stack(
        crate::rulebook::ExtraMeasure::LowerDisplayRank,
        None,
        "情节严重",
        None,
        &mut w.ctx(now),
    );
    assert_eq!(ok.unwrap().0.stacked.len(), 1);
    let err = c.stack(
        crate::rulebook::ExtraMeasure::AccountBan,
        None,
        "x",
        None,
        &mut w.ctx(now),
    );
    assert_eq!(err.unwrap_err(), CaseError::MeasureNotAllowed);
}

#[test]
fn stacked_money_measures_need_a_positive_amount_and_others_none() {
    use crate::rulebook::ExtraMeasure::{ExtraDeposit, LowerDisplayRank};
    let mut w = W::new("ali-2020");
    let now = at("2026-07-06T10:00:00+08:00");
    let c = decided(&mut w, "ALI-S2", date(2026, 7, 1), now);
    let yuan = |y| Some(Fen::from_yuan(y).unwrap());
    let code = |r: Result<(Case, Outcome), CaseError>| r.unwrap_err().code();
    assert_eq!(
        code(c.stack(ExtraDeposit, None, "再犯", None, &mut w.ctx(now))),
        "field_required"
    );
    assert_eq!(
        code(c.stack(ExtraDeposit, yuan(0), "再犯", None, &mut w.ctx(now))),
        "amount_out_of_range"
    );
    assert_eq!(
        code(c.stack(LowerDisplayRank, yuan(1), "再犯", None, &mut w.ctx(now))),
        "amount_not_expected"
    );
    let (next, _) = c
        .stack(ExtraDeposit, yuan(10_000), "再犯", None, &mut w.ctx(now))
        .unwrap();
    assert_eq!(next.stacked[0].amount, yuan(10_000));
}

proptest! {
    /// Whatever the deposit held, what a penalty takes and leaves owed adds up to the row's
    /// deduction (plus the forfeited rest), never more than held leaves the deposit.
    #[test]
    fn deposit_taken_never_exceeds_held_and_deduction_plus_owed_is_the_row(
        held in 0i64..3_000_000,
        code in prop_oneof![Just("ALI-B1"), Just("ALI-B2"), Just("ALI-H1"), Just("ALI-S2")],
    ) {
        let mut w = W::new("ali-2020");
        let rb = w.rb.clone();
        let now = at("2026-07-06T10:00:00+08:00");
        let c = decided(&mut w, code, date(2026, 7, 1), now);
        let held = Fen::new(held);
        let (_, plan, out) =
            plan_penalty(&ViolationRecord::new(c.provider), &c, held, &rb, &mut w.ctx(now)).unwrap();
        let taken = plan.deposit_deducted.checked_add(plan.deposit_forfeited).unwrap();
        prop_assert!(taken <= held);
        let wanted = match c.row.deposit {
            crate::rulebook::DepositDeduction::NoDeduction => Fen::ZERO,
            crate::rulebook::DepositDeduction::Fixed(a) => a,
            crate::rulebook::DepositDeduction::All => held,
        };
        prop_assert_eq!(plan.deposit_deducted.checked_add(plan.owed).unwrap(), wanted);
        for tx in &out.transactions {
            let sum: i64 = tx.postings().iter().map(|p| p.amount.fen()).sum();
            prop_assert_eq!(sum, 0);
        }
    }
}

#[test]
fn ali_a_first_twelve_point_violation_deducts_the_row_and_forfeits_nothing_until_expulsion() {
    let mut w = W::new("ali-2020");
    let rb = w.rb.clone();
    let now = at("2026-07-06T10:00:00+08:00");
    let c = decided(&mut w, "ALI-B1", date(2026, 7, 1), now);
    let held = Fen::new(1_000_000);
    let (record, plan, out) = plan_penalty(
        &ViolationRecord::new(c.provider),
        &c,
        held,
        &rb,
        &mut w.ctx(now),
    )
    .unwrap();
    // 10,000.00 held, the row takes 5,000.00; not expelled, so the rest stays and
    // nothing is owed or banned.
    assert_eq!(plan.deposit_deducted, Fen::new(500_000));
    assert_eq!(plan.deposit_forfeited, Fen::ZERO);
    assert_eq!(plan.owed, Fen::ZERO);
    assert!(!plan.expel && !plan.ban && !plan.threshold_reached);
    assert_eq!(
        record.deductions,
        vec![super::record::DeductionEntry {
            case: c.id,
            from_deposit: Fen::new(500_000),
            owed: Fen::ZERO,
            at: now,
        }]
    );
    let kinds: Vec<&str> = out.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        vec!["provider.points_booked", "provider.deposit_deducted"]
    );
    // The fiscal year from 1 April holds the 12 points; the next one starts at zero.
    let points = rb.points.clone().unwrap();
    let (year, total) = record.points_on(&points, date(2027, 3, 31)).unwrap();
    assert_eq!(
        (year.start, year.end, total),
        (date(2026, 4, 1), date(2027, 4, 1), 12)
    );
    let (year, total) = record.points_on(&points, date(2027, 4, 1)).unwrap();
    assert_eq!((year.start, total), (date(2027, 4, 1), 0));
}

#[test]
fn a_row_of_zero_points_books_no_points_and_a_row_without_deduction_moves_no_money() {
    let mut w = W::new("ali-2020");
    let rb = w.rb.clone();
    let now = at("2026-07-06T10:00:00+08:00");
    let mut c = decided(&mut w, "ALI-B1", date(2026, 7, 1), now);
    c.row.points = Some(0);
    c.row.deposit = crate::rulebook::DepositDeduction::NoDeduction;
    let (record, plan, out) = plan_penalty(
        &ViolationRecord::new(c.provider),
        &c,
        Fen::new(1_000_000),
        &rb,
        &mut w.ctx(now),
    )
    .unwrap();
    assert_eq!((plan.points, plan.year_total), (None, None));
    assert_eq!(plan.deposit_deducted, Fen::ZERO);
    assert_eq!(record, ViolationRecord::new(c.provider));
    assert!(out.events.is_empty());
    assert!(out.transactions.is_empty());
}

#[test]
fn tc_an_expelling_row_bans_the_account_where_expulsion_bans() {
    // TC 8.3: expulsion closes the account for good. TC's table words its expulsions as
    // permanent bans; a row that expels (as a later version may word it) bans all the same.
    let mut w = W::new("tc-2017");
    let rb = w.rb.clone();
    let now = at("2026-07-06T10:00:00+08:00");
    let mut c = decided(&mut w, "TC-S4", date(2026, 7, 1), now);
    c.row.action = Action::Expel;
    let (_, plan, _) = plan_penalty(
        &ViolationRecord::new(c.provider),
        &c,
        Fen::new(1_000_000),
        &rb,
        &mut w.ctx(now),
    )
    .unwrap();
    assert!(plan.expel && plan.ban);
    assert_eq!(plan.store_action, Action::NoAction);
    // TC does not forfeit the deposit on expulsion and this row deducts nothing.
    assert_eq!(plan.deposit_forfeited, Fen::ZERO);
    assert_eq!(plan.deposit_deducted, Fen::ZERO);
}

#[test]
fn a_stacked_money_measure_of_a_negative_amount_is_out_of_range() {
    use crate::rulebook::ExtraMeasure::ExtraDeposit;
    let mut w = W::new("ali-2020");
    let now = at("2026-07-06T10:00:00+08:00");
    let c = decided(&mut w, "ALI-S2", date(2026, 7, 1), now);
    let refused = c.stack(
        ExtraDeposit,
        Some(Fen::new(-1)),
        "再犯",
        None,
        &mut w.ctx(now),
    );
    assert_eq!(
        refused.map(|(c, _)| c.stacked),
        Err(CaseError::AmountOutOfRange)
    );
    // One fen is the least an extra deposit can be.
    let (next, _) = c
        .stack(
            ExtraDeposit,
            Some(Fen::new(1)),
            "再犯",
            None,
            &mut w.ctx(now),
        )
        .unwrap();
    assert_eq!(next.stacked[0].amount, Some(Fen::new(1)));
}
