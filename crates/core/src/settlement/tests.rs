//! The settlement rules of SPEC §11, each named after the rule.

use jiff::Timestamp;
use jiff::civil::{Date, date};
use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::catalog::{FeeTerms, FeeWindow};
use crate::ids::{OrderId, ProductId, ProviderId};
use crate::ledger::AccountKind;
use crate::money::Fen;
use crate::order::ServicePeriod;
use crate::provider::testkit::{World, ts};
use crate::rulebook::{Settlement, SettlementPeriod};

fn yuan(y: i64) -> Fen {
    Fen::from_yuan(y).unwrap()
}

fn provider() -> ProviderId {
    ProviderId(Uuid::from_u64_pair(1, 1))
}

fn rule() -> Settlement {
    World::new("ali", "2026-03-01T00:00:00+08:00")
        .rulebook
        .settlement
}

fn month(y: i16, m: i8) -> Period {
    Period::containing(&rule(), date(y, m, 1)).unwrap()
}

fn release(order: u64, at: &str, amount: Fen, fee: Fen) -> SettlementItem {
    SettlementItem {
        id: Uuid::from_u64_pair(10, order),
        order: OrderId(Uuid::from_u64_pair(10, order)),
        provider: provider(),
        product: ProductId(Uuid::from_u64_pair(20, 1)),
        kind: ItemKind::Release,
        at: ts(at),
        amount,
        fee,
        service: None,
        consignment: false,
    }
}

fn refund(of: &SettlementItem, n: u64, at: &str, amount: Fen, fee: Fen) -> SettlementItem {
    SettlementItem {
        id: Uuid::from_u64_pair(30, n),
        kind: ItemKind::Refund,
        at: ts(at),
        amount: amount.checked_neg().unwrap(),
        fee: fee.checked_neg().unwrap(),
        ..of.clone()
    }
}

fn payee() -> PayeeAccount {
    PayeeAccount {
        holder: "云栈科技有限公司".into(),
        channel: PayeeChannel::Bank {
            bank: "招商银行".into(),
            branch: "杭州分行".into(),
            account_number: "6225880112345678".into(),
        },
    }
}

fn inputs(period: Period, items: &[SettlementItem]) -> StatementInputs {
    StatementInputs {
        provider: provider(),
        period,
        lines: order_lines(items, period, &rule()).unwrap(),
        brought_forward: Fen::ZERO,
        debt: Fen::ZERO,
        penalties_owed: Fen::ZERO,
        deposit_claim: Fen::ZERO,
        holds: Vec::new(),
        payee: Some(payee()),
    }
}

fn settle_at(inputs: StatementInputs, at: &str) -> Settled {
    let mut w = World::new("ali", at);
    settle(inputs, &mut w.ctx()).unwrap()
}

/// The signed movement of `kind:<provider>` in a settlement's transactions (debit +).
fn moved(s: &Settled, kind: AccountKind) -> i64 {
    s.outcome
        .transactions
        .iter()
        .flat_map(|t| t.postings())
        .filter(|p| p.account.kind == kind)
        .map(|p| p.amount.fen())
        .sum()
}

#[test]
fn monthly_periods_are_calendar_months_cut_off_at_beijing_midnight() {
    let p = Period::of_instant(&rule(), ts("2026-03-31T23:59:59+08:00")).unwrap();
    assert_eq!((p.start, p.end), (date(2026, 3, 1), date(2026, 4, 1)));
    assert_eq!(p.cutoff().unwrap(), ts("2026-04-01T00:00:00+08:00"));
    let april = Period::of_instant(&rule(), ts("2026-04-01T00:00:00+08:00")).unwrap();
    assert_eq!(april, p.next(&rule()).unwrap());
    assert_eq!(april.previous(&rule()).unwrap(), p);
    assert_eq!(
        Period::last_ended(&rule(), ts("2026-04-01T00:00:00+08:00")).unwrap(),
        p
    );
}

#[test]
fn settlement_periods_follow_the_rulebook_period_and_start_day() {
    let day = date(2025, 2, 14); // a Friday
    let end = |period, start_day| {
        let r = Settlement {
            period,
            period_start_day: start_day,
            ..rule()
        };
        Period::containing(&r, day).unwrap().end
    };
    assert_eq!(end(SettlementPeriod::Monthly, 1), date(2025, 3, 1));
    assert_eq!(end(SettlementPeriod::Weekly, 1), date(2025, 2, 17));
    assert_eq!(end(SettlementPeriod::Quarterly, 1), date(2025, 4, 1));
    assert_eq!(end(SettlementPeriod::Monthly, 15), date(2025, 2, 15));
    assert_eq!(end(SettlementPeriod::Monthly, 20), date(2025, 2, 20));
}

#[test]
fn commission_orders_accepted_in_march_are_paid_by_the_march_statement() {
    // Three one-off orders of 100.00 at 10%, accepted in March.
    let items: Vec<_> = (1..=3)
        .map(|n| release(n, "2026-03-10T12:00:00+08:00", yuan(100), yuan(10)))
        .collect();
    let s = settle_at(inputs(month(2026, 3), &items), "2026-04-01T00:00:00+08:00");
    let st = &s.statement;
    assert_eq!(st.order_lines, 3);
    assert_eq!(st.sales, yuan(300));
    assert_eq!(st.fee, yuan(30));
    assert_eq!(st.net, yuan(270));
    assert_eq!(st.payout, yuan(270));
    assert_eq!(s.payout.as_ref().unwrap().amount, yuan(270));
    // Nothing of it belongs to February or April.
    assert!(
        order_lines(&items, month(2026, 2), &rule())
            .unwrap()
            .is_empty()
    );
    assert!(
        order_lines(&items, month(2026, 4), &rule())
            .unwrap()
            .is_empty()
    );
    // Ledger: the net moved from payable to settled, then to the payout in transit.
    assert_eq!(moved(&s, AccountKind::ProviderPayable), 27_000);
    assert_eq!(moved(&s, AccountKind::SettlementPayable), 0);
    assert_eq!(moved(&s, AccountKind::PayoutsInTransit), -27_000);
}

#[test]
fn base_price_fee_is_the_margin_over_the_base_price() {
    let terms = FeeTerms::BasePrice {
        base_price: yuan(800),
    };
    let fee = crate::order::platform_fee(&terms, yuan(1_000), yuan(1_000), 1, rule().rounding);
    assert_eq!(fee, Ok(yuan(200)));
    let items = [release(
        1,
        "2026-03-10T12:00:00+08:00",
        yuan(1_000),
        yuan(200),
    )];
    let s = settle_at(inputs(month(2026, 3), &items), "2026-04-01T00:00:00+08:00");
    assert_eq!(
        (s.statement.fee, s.statement.payout),
        (yuan(200), yuan(800))
    );
}

fn yearly(at: &str, amount: Fen, fee: Fen, start: Date) -> SettlementItem {
    SettlementItem {
        service: Some(ServicePeriod {
            start,
            end: start.checked_add(jiff::Span::new().years(1)).unwrap(),
        }),
        ..release(9, at, amount, fee)
    }
}

fn statements_until(
    rule: &Settlement,
    items: &[SettlementItem],
    first: Period,
    last: Date,
) -> Vec<OrderLine> {
    let mut lines = Vec::new();
    let mut p = first;
    while p.start <= last {
        lines.extend(order_lines(items, p, rule).unwrap());
        p = p.next(rule).unwrap();
    }
    lines
}

#[test]
fn yearly_subscription_is_amortised_by_day_and_its_statements_sum_to_the_order() {
    // 1,200.00 a year from 15 March 2027, 10% commission.
    let item = yearly(
        "2027-03-15T10:00:00+08:00",
        yuan(1_200),
        yuan(120),
        date(2027, 3, 15),
    );
    let items = [item];
    let r = rule();
    let lines = statements_until(&r, &items, month(2027, 3), date(2028, 4, 1));
    // Calendar months: March 2027 (17 of 366 days) … March 2028 (14 days): 13 statements.
    assert_eq!(lines.len(), 13);
    assert_eq!(lines[0].amount, Fen::new(5_574)); // 120,000 × 17 / 366 = 5,573.77 → 5,574
    assert!(lines[1..].iter().all(|l| l.kind == LineKind::Amortisation));
    let sum = |f: fn(&OrderLine) -> Fen| Fen::checked_sum(lines.iter().map(f)).unwrap();
    assert_eq!(sum(|l| l.amount), yuan(1_200));
    assert_eq!(sum(|l| l.fee), yuan(120));
    assert_eq!(sum(|l| l.net), yuan(1_080), "exactly 1,200.00 minus fees");

    // Periods starting on the 15th: the year is exactly 12 statements.
    let r15 = Settlement {
        period_start_day: 15,
        ..rule()
    };
    let first = Period::containing(&r15, date(2027, 3, 15)).unwrap();
    let lines = statements_until(&r15, &items, first, date(2028, 3, 14));
    assert_eq!(lines.len(), 12);
    assert_eq!(
        Fen::checked_sum(lines.iter().map(|l| l.net)).unwrap(),
        yuan(1_080)
    );
}

#[test]
fn without_amortisation_a_subscription_settles_when_released() {
    let item = yearly(
        "2027-03-15T10:00:00+08:00",
        yuan(1_200),
        yuan(120),
        date(2027, 3, 15),
    );
    let r = Settlement {
        amortise_over_service_period: false,
        ..rule()
    };
    let lines = order_lines(&[item], month(2027, 3), &r).unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].amount, yuan(1_200));
}

#[test]
fn refund_after_settlement_is_clawed_back_with_its_fee_and_a_negative_result_is_carried_as_debt() {
    let sold = release(1, "2026-03-05T10:00:00+08:00", yuan(1_000), yuan(100));
    let march = settle_at(
        inputs(month(2026, 3), std::slice::from_ref(&sold)),
        "2026-04-01T00:00:00+08:00",
    );
    assert_eq!(march.statement.payout, yuan(900));

    // April: refunded in full by arbitration (ALI returns the fee share), 500.00 earned.
    let items = [
        sold.clone(),
        refund(
            &sold,
            1,
            "2026-04-10T10:00:00+08:00",
            yuan(1_000),
            yuan(100),
        ),
        release(2, "2026-04-12T10:00:00+08:00", yuan(500), yuan(50)),
    ];
    let april = settle_at(inputs(month(2026, 4), &items), "2026-05-01T00:00:00+08:00");
    let st = &april.statement;
    assert_eq!(st.sales, yuan(500));
    assert_eq!(st.refunds, yuan(-1_000));
    assert_eq!(st.fee, yuan(-50), "50.00 charged, 100.00 returned");
    assert_eq!(st.net, yuan(-450));
    assert_eq!(st.payout, Fen::ZERO);
    assert_eq!(st.debt_carried, yuan(450));
    assert!(april.payout.is_none());
    assert_eq!(moved(&april, AccountKind::ProviderDebt), 45_000);
    assert_eq!(moved(&april, AccountKind::SettlementPayable), 0);

    // May: the debt is taken first.
    let may_items = [release(
        3,
        "2026-05-03T10:00:00+08:00",
        yuan(1_000),
        yuan(100),
    )];
    let mut may = inputs(month(2026, 5), &may_items);
    may.debt = yuan(450);
    let may = settle_at(may, "2026-06-01T00:00:00+08:00");
    assert_eq!(
        may.statement.adjustment(AdjustmentKind::DebtCollected),
        yuan(-450)
    );
    assert_eq!(may.statement.payout, yuan(450));
}

#[test]
fn without_fee_return_the_clawback_is_the_whole_refund() {
    let sold = release(1, "2026-03-05T10:00:00+08:00", yuan(1_000), yuan(100));
    let items = [
        sold.clone(),
        refund(
            &sold,
            1,
            "2026-04-10T10:00:00+08:00",
            yuan(1_000),
            Fen::ZERO,
        ),
    ];
    let lines = order_lines(&items, month(2026, 4), &rule()).unwrap();
    assert_eq!(
        (lines[0].amount, lines[0].fee, lines[0].net),
        (yuan(-1_000), Fen::ZERO, yuan(-1_000))
    );
}

#[test]
fn open_complaint_holds_the_payout_until_a_run_after_it_closes() {
    let items = [release(1, "2026-04-05T10:00:00+08:00", yuan(500), yuan(50))];
    let mut april = inputs(month(2026, 4), &items);
    april.holds = vec![Hold::OpenComplaint {
        id: Uuid::from_u64_pair(4, 4),
    }];
    let april = settle_at(april, "2026-05-01T00:00:00+08:00");
    assert_eq!(april.statement.payout, Fen::ZERO);
    assert_eq!(april.statement.held, yuan(450));
    assert!(april.payout.is_none());
    assert_eq!(
        moved(&april, AccountKind::SettlementPayable),
        -45_000,
        "held as settled"
    );

    let mut may = inputs(month(2026, 5), &[]);
    may.brought_forward = yuan(450);
    let may = settle_at(may, "2026-06-01T00:00:00+08:00");
    assert_eq!(
        may.statement.adjustment(AdjustmentKind::BroughtForward),
        yuan(450)
    );
    assert_eq!(may.statement.payout, yuan(450));
}

#[test]
fn a_provider_without_an_approved_account_is_held() {
    let items = [release(1, "2026-04-05T10:00:00+08:00", yuan(100), yuan(10))];
    let mut i = inputs(month(2026, 4), &items);
    i.payee = None;
    let s = settle_at(i, "2026-05-01T00:00:00+08:00");
    assert_eq!(s.statement.holds, vec![Hold::NoPayeeAccount]);
    assert_eq!(s.statement.held, yuan(90));
}

#[test]
fn missed_deposit_top_up_is_taken_from_the_next_statement_as_its_own_line() {
    let items = [release(
        1,
        "2026-04-05T10:00:00+08:00",
        yuan(5_000),
        yuan(500),
    )];
    let mut i = inputs(month(2026, 4), &items);
    i.deposit_claim = yuan(3_000);
    i.penalties_owed = yuan(200);
    let s = settle_at(i, "2026-05-01T00:00:00+08:00");
    assert_eq!(
        s.statement.adjustment(AdjustmentKind::PenaltyCollected),
        yuan(-200)
    );
    assert_eq!(
        s.statement.adjustment(AdjustmentKind::DepositTopUp),
        yuan(-3_000)
    );
    assert_eq!(s.statement.payout, yuan(1_300));
    assert_eq!(moved(&s, AccountKind::DepositsHeld), -300_000);
    assert_eq!(moved(&s, AccountKind::PenaltiesReceivable), -20_000);
    let taken = s
        .outcome
        .transactions
        .iter()
        .find(|t| t.kind() == DEPOSIT_TAKEN)
        .unwrap();
    assert_eq!(taken.reference(), s.statement.subject());

    // Not enough earned: the deposit takes what there is, nothing goes negative.
    let small = [release(
        2,
        "2026-04-05T10:00:00+08:00",
        yuan(1_000),
        yuan(100),
    )];
    let mut i = inputs(month(2026, 4), &small);
    i.deposit_claim = yuan(3_000);
    let s = settle_at(i, "2026-05-01T00:00:00+08:00");
    assert_eq!(
        s.statement.adjustment(AdjustmentKind::DepositTopUp),
        yuan(-900)
    );
    assert_eq!(
        (s.statement.payout, s.statement.debt_carried),
        (Fen::ZERO, Fen::ZERO)
    );
}

#[test]
fn failed_payout_returns_to_settlement_payable_and_a_repeated_answer_changes_nothing() {
    let items = [release(1, "2026-04-05T10:00:00+08:00", yuan(100), yuan(10))];
    let s = settle_at(inputs(month(2026, 4), &items), "2026-05-01T00:00:00+08:00");
    let payout = s.payout.unwrap();
    let mut w = World::new("ali", "2026-05-01T01:00:00+08:00");
    let (failed, outcome) = payout
        .answer(
            GatewayAnswer::Failed {
                reason: "account closed".into(),
            },
            &mut w.ctx(),
        )
        .unwrap();
    assert_eq!(failed.status, PayoutStatus::Failed);
    let back: i64 = outcome.transactions[0]
        .postings()
        .iter()
        .filter(|p| p.account.kind == AccountKind::SettlementPayable)
        .map(|p| p.amount.fen())
        .sum();
    assert_eq!(back, -9_000, "credited back: the next run pays it");
    let (again, outcome) = failed
        .answer(
            GatewayAnswer::Paid {
                reference: "x".into(),
            },
            &mut w.ctx(),
        )
        .unwrap();
    assert_eq!(again.status, PayoutStatus::Failed);
    assert!(outcome.transactions.is_empty());
}

#[test]
fn receiving_account_must_be_in_the_providers_name_and_a_change_needs_approval() {
    let now = ts("2026-04-01T10:00:00+08:00");
    let reg = PayeeRegistration::new(provider());
    let mut other = payee();
    other.holder = "别人的公司".into();
    assert!(matches!(
        reg.request(other, "云栈科技有限公司", now),
        Err(SettlementError::HolderMismatch { .. })
    ));
    let asked = reg.request(payee(), "云栈科技有限公司", now).unwrap();
    assert_eq!(asked.approved, None, "not used before approval");
    assert_eq!(asked.status(), "pending");
    assert_eq!(
        asked.decide(
            PayeeDecision::Approved,
            "6225880199999999",
            "finance-1",
            now
        ),
        Err(SettlementError::ChangeReplaced),
        "finance approves the account it reviewed, not another"
    );
    let ok = asked
        .decide(
            PayeeDecision::Approved,
            "6225880112345678",
            "finance-1",
            now,
        )
        .unwrap();
    assert_eq!(ok.approved, Some(payee()));
    // A change waits; payouts keep going to the approved account meanwhile.
    let alipay = PayeeAccount {
        holder: "云栈科技有限公司".into(),
        channel: PayeeChannel::Alipay {
            account: "pay@yunzhan.example".into(),
        },
    };
    let change = ok.request(alipay, "云栈科技有限公司", now).unwrap();
    assert_eq!(change.approved, Some(payee()));
    let rejected = change
        .decide(
            PayeeDecision::Rejected {
                reason: "licence name differs".into(),
            },
            "pay@yunzhan.example",
            "finance-1",
            now,
        )
        .unwrap();
    assert_eq!(rejected.approved, Some(payee()));
    assert_eq!(rejected.history.len(), 2);
    assert_eq!(
        rejected.decide(PayeeDecision::Approved, "x", "f", now),
        Err(SettlementError::NoPendingChange)
    );
}

#[test]
fn fee_windows_replace_the_standing_terms_for_orders_released_inside_them() {
    let r = rule();
    let product = ProductId(Uuid::from_u64_pair(20, 1));
    let holiday = FeeWindow {
        from: ts("2026-03-01T00:00:00+08:00"),
        until: ts("2026-04-01T00:00:00+08:00"),
        terms: FeeTerms::Commission {
            rate: "0%".parse().unwrap(),
        },
    };
    let agreement = FeeAgreement {
        standing: Some(FeeTerms::Commission {
            rate: "8%".parse().unwrap(),
        }),
        products: [(
            product,
            FeeTerms::BasePrice {
                base_price: yuan(800),
            },
        )]
        .into(),
        windows: vec![AgreedWindow {
            product: None,
            window: holiday.clone(),
            note: "新店免佣".into(),
        }],
    }
    .checked(&r, provider())
    .unwrap();
    assert_eq!(
        agreement.terms_for(product, &r),
        FeeTerms::BasePrice {
            base_price: yuan(800)
        }
    );
    let other = ProductId(Uuid::from_u64_pair(20, 2));
    assert_eq!(
        agreement.terms_for(other, &r),
        FeeTerms::Commission {
            rate: "8%".parse().unwrap()
        }
    );
    assert_eq!(
        FeeAgreement::default().terms_for(other, &r),
        FeeTerms::Commission {
            rate: r.default_commission
        }
    );
    let windows = agreement.windows_for(other, ts("2026-03-10T00:00:00+08:00"));
    assert_eq!(windows, vec![holiday]);
    assert!(
        agreement
            .windows_for(other, ts("2026-04-01T00:00:00+08:00"))
            .is_empty()
    );

    let mut terms = crate::order::fixture::terms(
        crate::catalog::ProductCategory::Saas,
        crate::catalog::Pricing::OneOff,
        yuan(100),
    );
    terms.fee_terms = agreement.terms_for(other, &r);
    terms.fee_windows = windows;
    assert_eq!(
        terms.fee_terms_at(ts("2026-03-31T23:00:00+08:00")),
        FeeTerms::Commission {
            rate: "0%".parse().unwrap()
        },
        "released in the holiday"
    );
    assert_eq!(
        terms.fee_terms_at(ts("2026-04-01T00:00:00+08:00")),
        FeeTerms::Commission {
            rate: "8%".parse().unwrap()
        }
    );
}

#[test]
fn fee_agreement_refuses_models_the_rulebook_does_not_allow() {
    let r = Settlement {
        fee_models: vec![crate::rulebook::FeeModel::Commission],
        ..rule()
    };
    let product = ProductId(Uuid::from_u64_pair(20, 1));
    let bad = FeeAgreement {
        products: [(
            product,
            FeeTerms::BasePrice {
                base_price: yuan(1),
            },
        )]
        .into(),
        ..FeeAgreement::default()
    };
    assert!(matches!(
        bad.checked(&r, provider()),
        Err(SettlementError::InvalidFeeTerms(_))
    ));
}

proptest! {
    /// Whatever the order, its service period and its refunds, the lines of all periods sum
    /// to its net exactly, and no period's line is off by more than the day-share rounding.
    #[test]
    fn order_lines_of_all_periods_sum_to_the_order_net(
        amount in 1i64..10_000_000,
        fee_pm in 0i64..300,
        start_offset in 0i64..400,
        months in 0i64..30,
        refunds in proptest::collection::vec((0i64..900, 1i64..1000), 0..4),
    ) {
        let r = rule();
        let start = date(2026, 1, 1).checked_add(jiff::Span::new().days(start_offset)).unwrap();
        let fee = amount * fee_pm / 1000;
        let released: Timestamp = crate::time::start_of_day(start).unwrap();
        let mut sold = release(1, "2026-01-01T00:00:00+08:00", Fen::new(amount), Fen::new(fee));
        sold.at = released;
        if months > 0 {
            sold.service = Some(ServicePeriod {
                start,
                end: start.checked_add(jiff::Span::new().months(months)).unwrap(),
            });
        }
        let mut items = vec![sold.clone()];
        let (mut left, mut fee_left) = (amount, fee);
        for (n, (day, per_mille)) in refunds.into_iter().enumerate() {
            let back = (left * per_mille / 1000).min(left);
            let fee_back = (fee_left * per_mille / 1000).min(fee_left);
            if back == 0 { continue; }
            left -= back;
            fee_left -= fee_back;
            let mut r = refund(&sold, n as u64, "2026-01-01T00:00:00+08:00", Fen::new(back), Fen::new(fee_back));
            r.at = released.checked_add(jiff::SignedDuration::from_hours(24 * day + 1)).unwrap();
            items.push(r);
        }
        items.sort_by_key(|i| i.at);
        let lines = statements_until(&r, &items, Period::containing(&r, start).unwrap(), date(2031, 1, 1));
        let total: i64 = lines.iter().map(|l| l.amount.fen()).sum();
        let fees: i64 = lines.iter().map(|l| l.fee.fen()).sum();
        prop_assert_eq!(total, left);
        prop_assert_eq!(fees, fee_left);
    }
}

#[test]
fn statements_call_for_the_platform_fee_invoice_and_tc_consignment_invoices() {
    let mut consigned = release(2, "2026-04-06T10:00:00+08:00", yuan(1_000), yuan(100));
    consigned.consignment = true;
    let items = [
        release(1, "2026-04-05T10:00:00+08:00", yuan(500), yuan(50)),
        consigned,
    ];
    // ALI: the operator invoices the platform fee; the sources are silent on consignment.
    let ali = settle_at(inputs(month(2026, 4), &items), "2026-05-01T00:00:00+08:00");
    let kinds: Vec<_> = ali
        .statement
        .invoices
        .iter()
        .map(|i| (i.kind, i.amount))
        .collect();
    assert_eq!(kinds, vec![(SettlementInvoiceKind::PlatformFee, yuan(150))]);
    // TC 4.5.3: the provider invoices the operator for the net of its consignment sales.
    let mut w = World::new("tc", "2026-05-01T00:00:00+08:00");
    let tc = settle(inputs(month(2026, 4), &items), &mut w.ctx()).unwrap();
    let kinds: Vec<_> = tc
        .statement
        .invoices
        .iter()
        .map(|i| (i.kind, i.amount))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (SettlementInvoiceKind::PlatformFee, yuan(150)),
            (SettlementInvoiceKind::Consignment, yuan(900)),
        ]
    );
    let now = ts("2026-05-03T10:00:00+08:00");
    let issued = tc
        .statement
        .issue_invoice(SettlementInvoiceKind::Consignment, "No.44031234", now)
        .unwrap();
    assert_eq!(issued.invoices[1].number.as_deref(), Some("No.44031234"));
    assert_eq!(
        issued.issue_invoice(SettlementInvoiceKind::Consignment, "No.2", now),
        Err(SettlementError::InvoiceIssued)
    );
    assert_eq!(
        ali.statement
            .issue_invoice(SettlementInvoiceKind::Consignment, "No.3", now),
        Err(SettlementError::NoInvoiceDue)
    );
}

#[test]
fn an_empty_period_issues_nothing_and_a_balance_brought_forward_alone_is_a_statement() {
    let events =
        |s: &Settled| -> Vec<String> { s.outcome.events.iter().map(|e| e.kind.clone()).collect() };
    // Nothing sold, nothing held: an empty statement, no event, no transaction.
    let nothing = settle_at(inputs(month(2026, 4), &[]), "2026-05-01T00:00:00+08:00");
    assert!(nothing.statement.is_empty());
    assert_eq!(events(&nothing), Vec::<String>::new());
    assert!(nothing.outcome.transactions.is_empty());
    // Without a receiving account but with nothing to pay, nothing is held either.
    let mut no_payee = inputs(month(2026, 4), &[]);
    no_payee.payee = None;
    let no_payee = settle_at(no_payee, "2026-05-01T00:00:00+08:00");
    assert_eq!(no_payee.statement.holds, Vec::<Hold>::new());
    assert_eq!(no_payee.statement.held, Fen::ZERO);
    assert!(no_payee.statement.is_empty());
    // 50.00 held by an earlier statement and no order: brought forward and paid out.
    let mut carried = inputs(month(2026, 4), &[]);
    carried.brought_forward = yuan(50);
    let carried = settle_at(carried, "2026-05-01T00:00:00+08:00");
    assert!(!carried.statement.is_empty());
    assert_eq!(events(&carried), vec!["settlement.statement_issued"]);
    assert_eq!(
        carried.statement.adjustments,
        vec![
            Adjustment {
                kind: AdjustmentKind::BroughtForward,
                amount: Fen::new(5_000),
            },
            Adjustment {
                kind: AdjustmentKind::Payout,
                amount: Fen::new(-5_000),
            },
        ]
    );
    assert_eq!(carried.statement.payout, Fen::new(5_000));
    // One order line and nothing else is a statement too.
    let sold = [release(1, "2026-04-05T10:00:00+08:00", yuan(100), yuan(10))];
    let sold = settle_at(inputs(month(2026, 4), &sold), "2026-05-01T00:00:00+08:00");
    assert!(!sold.statement.is_empty());
    assert_eq!(sold.statement.order_lines, 1);
}

#[test]
fn a_period_whose_fee_was_returned_calls_for_no_platform_fee_invoice() {
    // Sold in March (fee 100.00); refunded in full in April, the fee share returned.
    let sold = release(1, "2026-03-05T10:00:00+08:00", yuan(1_000), yuan(100));
    let items = [
        sold.clone(),
        refund(
            &sold,
            1,
            "2026-04-10T10:00:00+08:00",
            yuan(1_000),
            yuan(100),
        ),
    ];
    let april = settle_at(inputs(month(2026, 4), &items), "2026-05-01T00:00:00+08:00");
    assert_eq!(april.statement.fee, Fen::new(-10_000));
    assert_eq!(april.statement.invoices, Vec::<SettlementInvoice>::new());
}

#[test]
fn invoice_kinds_read_back_from_their_stored_names() {
    assert_eq!(
        SettlementInvoiceKind::parse("platform_fee"),
        Some(SettlementInvoiceKind::PlatformFee)
    );
    assert_eq!(
        SettlementInvoiceKind::parse("consignment"),
        Some(SettlementInvoiceKind::Consignment)
    );
    assert_eq!(SettlementInvoiceKind::parse("fee"), None);
    assert!(SettlementInvoiceKind::Consignment.issued_by_provider());
    assert!(!SettlementInvoiceKind::PlatformFee.issued_by_provider());
}

#[test]
fn an_order_released_at_the_cut_off_instant_belongs_to_the_next_period() {
    // 1,200.00 a year from 15 March 2027, released at Beijing midnight 1 April: the March
    // statement (cut off at that instant) has no line; April's is a sale of March's and
    // April's days: 5,574 + 9,836 fen (largest remainder of 120,000 over 17 + 30 of 366
    // days; the seven remainders go to March and the 31-day months).
    let item = yearly(
        "2027-04-01T00:00:00+08:00",
        yuan(1_200),
        yuan(120),
        date(2027, 3, 15),
    );
    let items = [item];
    assert_eq!(
        order_lines(&items, month(2027, 3), &rule()).unwrap(),
        Vec::<OrderLine>::new()
    );
    let april = order_lines(&items, month(2027, 4), &rule()).unwrap();
    assert_eq!(april.len(), 1);
    assert_eq!(april[0].kind, LineKind::Sale);
    assert_eq!(april[0].amount, Fen::new(15_410));
    // The same instant without amortisation: April's sale of the whole order.
    let flat = Settlement {
        amortise_over_service_period: false,
        ..rule()
    };
    assert_eq!(
        order_lines(&items, month(2027, 3), &flat).unwrap(),
        Vec::<OrderLine>::new()
    );
    let april = order_lines(&items, month(2027, 4), &flat).unwrap();
    assert_eq!(
        (april[0].kind, april[0].amount, april[0].fee),
        (LineKind::Sale, yuan(1_200), yuan(120))
    );
    // And an order with no service period released at that instant: April's too.
    let one_off = [release(5, "2027-04-01T00:00:00+08:00", yuan(300), yuan(30))];
    assert_eq!(
        order_lines(&one_off, month(2027, 3), &rule()).unwrap(),
        Vec::<OrderLine>::new()
    );
    let april = order_lines(&one_off, month(2027, 4), &rule()).unwrap();
    assert_eq!(
        (april.len(), april[0].kind, april[0].net),
        (1, LineKind::Sale, yuan(270))
    );
}

#[test]
fn a_service_period_of_no_days_settles_whole_when_released() {
    let mut item = release(4, "2027-03-15T10:00:00+08:00", yuan(1_200), yuan(120));
    item.service = Some(ServicePeriod {
        start: date(2027, 3, 15),
        end: date(2027, 3, 15),
    });
    let lines = order_lines(&[item], month(2027, 3), &rule()).unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(
        (lines[0].amount, lines[0].fee, lines[0].net),
        (yuan(1_200), yuan(120), yuan(1_080))
    );
}
