//! Any sequence of order and refund commands keeps the money sound: every transaction
//! balances, the order's escrow is never negative and equals paid − released − refunded from
//! escrow, the ledger agrees with the order, the total refunded never exceeds what was paid,
//! and the fee returned never exceeds — and on a full refund equals — the fee charged.

use proptest::prelude::*;
use uuid::Uuid;

use super::fixture::*;
use super::*;
use crate::catalog::{DeclaredRefundPolicy, FeeTerms, Pricing, ProductCategory, SalesMode};
use crate::ids::ProductId;
use crate::money::Fen;
use crate::rate::Rate;
use crate::rulebook::{RefundReason, Score};

const FAMILIES: [&str; 3] = ["ali", "tc", "jd"];

const REASONS: [RefundReason; 8] = [
    RefundReason::ServiceQualityLoss,
    RefundReason::LateOrDragging,
    RefundReason::Mismatch,
    RefundReason::ExitWithoutAftercarePlan,
    RefundReason::ProgramQuality,
    RefundReason::UnhappyWithAttitude,
    RefundReason::BuyerStopsUnstartedService,
    RefundReason::Other,
];

#[derive(Debug, Clone)]
enum Award {
    Full,
    Amount(i64),
    ProRata,
}

impl Award {
    fn to_award(&self) -> RefundAward {
        match *self {
            Award::Full => RefundAward::Full,
            Award::Amount(a) => RefundAward::Amount {
                amount: Fen::new(a),
            },
            Award::ProRata => RefundAward::ProRataUnusedDays,
        }
    }
}

#[derive(Debug, Clone)]
enum Cmd {
    Advance(u16),
    Pay(bool),
    Cancel,
    ConfirmReceipt,
    Request(Option<usize>),
    Accept,
    Decline,
    Escalate,
    Withdraw,
    Decide(Option<Award>),
    Direct(usize, Award),
    Report,
    Confirm(usize),
    AcceptService(u32),
    Rate(u32),
}

fn award() -> impl Strategy<Value = Award> {
    prop_oneof![
        Just(Award::Full),
        (-10i64..2_000_000).prop_map(Award::Amount),
        Just(Award::ProRata),
    ]
}

fn cmd() -> impl Strategy<Value = Cmd> {
    prop_oneof![
        4 => (0u16..200).prop_map(Cmd::Advance),
        1 => any::<bool>().prop_map(Cmd::Pay),
        1 => Just(Cmd::Cancel),
        1 => Just(Cmd::ConfirmReceipt),
        4 => proptest::option::of(0..REASONS.len()).prop_map(Cmd::Request),
        3 => Just(Cmd::Accept),
        1 => Just(Cmd::Decline),
        2 => Just(Cmd::Escalate),
        1 => Just(Cmd::Withdraw),
        3 => proptest::option::weighted(0.8, award()).prop_map(Cmd::Decide),
        3 => (0..REASONS.len(), award()).prop_map(|(g, a)| Cmd::Direct(g, a)),
        1 => Just(Cmd::Report),
        1 => (0usize..3).prop_map(Cmd::Confirm),
        1 => (0u32..400).prop_map(Cmd::AcceptService),
        1 => (0u32..700).prop_map(Cmd::Rate),
    ]
}

#[derive(Debug, Clone)]
struct Setup {
    family: usize,
    category: usize,
    pricing: usize,
    validity: Option<u32>,
    quantity: u32,
    unit_price: i64,
    fee: Result<u32, i64>,
    pro_rata: bool,
    pay_later: bool,
    /// Most runs start paid, so refunds and releases get exercised.
    paid_first: bool,
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        0..FAMILIES.len(),
        0..ProductCategory::ALL.len(),
        0usize..3,
        proptest::option::of(1u32..800),
        1u32..4,
        1i64..5_000_000,
        prop_oneof![
            (0u32..=1_000_000).prop_map(Ok),
            (0i64..=1_000).prop_map(Err)
        ],
        any::<bool>(),
        any::<bool>(),
        proptest::bool::weighted(0.85),
    )
        .prop_map(
            |(
                family,
                category,
                pricing,
                validity,
                quantity,
                unit_price,
                fee,
                pro_rata,
                pay_later,
                paid_first,
            )| {
                Setup {
                    family,
                    category,
                    pricing,
                    validity,
                    quantity,
                    unit_price,
                    fee,
                    pro_rata,
                    pay_later,
                    paid_first,
                }
            },
        )
}

impl Setup {
    fn terms(&self) -> PriceSnapshot {
        let pricing = [Pricing::OneOff, Pricing::Monthly, Pricing::Yearly][self.pricing];
        let fee_terms = match self.fee {
            Ok(ppm) => FeeTerms::Commission {
                rate: Rate::from_ppm(ppm).unwrap(),
            },
            // Base price as a per-mille of the unit price.
            Err(per_mille) => FeeTerms::BasePrice {
                base_price: Fen::new(self.unit_price * per_mille / 1_000),
            },
        };
        PriceSnapshot {
            product: ProductId::from_uuid(Uuid::from_u128(0xC0)),
            provider: provider(),
            category: ProductCategory::ALL[self.category],
            pricing,
            unit_price: Fen::new(self.unit_price),
            quantity: self.quantity,
            validity_days: self.validity.filter(|_| pricing == Pricing::OneOff),
            sales_mode: SalesMode::Consignment,
            refund_policy: if self.pro_rata {
                DeclaredRefundPolicy::ProRataUnusedTime
            } else {
                DeclaredRefundPolicy::NoRefund
            },
            fee_terms,
            fee_windows: Vec::new(),
        }
    }
}

fn step(h: &mut Harness, order: &Order, cmd: &Cmd) -> Result<Order, OrderError> {
    let note = String::new;
    match cmd {
        Cmd::Advance(hours) => {
            let now = h.now + jiff::SignedDuration::from_hours(i64::from(*hours));
            Ok(h.advance_to(now, order))
        }
        Cmd::Pay(exact) => {
            let amount = if *exact {
                order.total
            } else {
                Fen::new(order.total.fen() + 1)
            };
            let payment = ConfirmedPayment {
                amount,
                gateway: "sandbox".to_string(),
                gateway_reference: "p".to_string(),
            };
            h.run(|ctx| pay(order, payment, ctx))
        }
        Cmd::Cancel => h.run(|ctx| cancel(order, ctx)),
        Cmd::ConfirmReceipt => h.run(|ctx| confirm_receipt(order, ctx)),
        Cmd::Request(reason) => {
            let cmd = RequestRefund {
                reason: reason.map(|i| REASONS[i]),
                note: note(),
            };
            h.run(|ctx| request_refund(order, cmd, ctx))
        }
        Cmd::Accept => h.run(|ctx| accept_refund(order, ctx)),
        Cmd::Decline => h.run(|ctx| decline_refund(order, "no", ctx)),
        Cmd::Escalate => h.run(|ctx| escalate_refund(order, ctx)),
        Cmd::Withdraw => h.run(|ctx| withdraw_refund(order, ctx)),
        Cmd::Decide(award) => {
            let decision = match award {
                Some(a) => ArbitrationDecision::Refund {
                    award: a.to_award(),
                    note: note(),
                },
                None => ArbitrationDecision::Reject { note: note() },
            };
            h.run(|ctx| decide_refund(order, decision, ctx))
        }
        Cmd::Direct(ground, award) => {
            let cmd = DirectRefund {
                ground: REASONS[*ground],
                award: award.to_award(),
                note: note(),
            };
            h.run(|ctx| refund_directly(order, cmd, ctx))
        }
        Cmd::Report => h.run(|ctx| report_milestone(order, "done", ctx)),
        Cmd::Confirm(i) => h.run(|ctx| confirm_milestone(order, *i, ctx)),
        Cmd::AcceptService(days) => h.run(|ctx| accept_service(order, *days, ctx)),
        Cmd::Rate(h100) => {
            let cmd = RateOrder {
                score: Score::from_hundredths(*h100),
                text: String::new(),
            };
            h.run(|ctx| rate(order, cmd, ctx))
        }
    }
}

fn check(h: &Harness, o: &Order) -> Result<(), TestCaseError> {
    let f = |x: Fen| x.fen();
    let paid = f(o.paid_amount());
    let released = o.release.map_or(0, |r| f(r.amount));
    let refunded = f(o.refunded_total().unwrap());
    prop_assert!(o.escrow.fen() >= 0, "negative escrow {:?}", o.escrow);
    prop_assert_eq!(f(o.escrow), paid - released - f(o.refunded_from_escrow));
    prop_assert!(refunded <= paid, "refunded {} of {}", refunded, paid);
    prop_assert!(o.refunds.iter().filter(|r| r.status.is_open()).count() <= 1);

    // The ledger says the same as the order.
    prop_assert_eq!(h.book.trial_balance(), 0);
    prop_assert_eq!(f(h.natural(&escrow_account(o.id))), f(o.escrow));
    prop_assert_eq!(f(h.natural(&cash_account())), paid);
    prop_assert_eq!(f(h.natural(&refunds_payable_account(o.id))), refunded);
    let paid_out: i64 = o
        .refunds
        .iter()
        .filter_map(|r| r.payment)
        .map(|p| {
            if !p.from_escrow {
                assert_eq!(f(p.provider_part) + f(p.fee_part), f(p.amount));
            }
            f(p.amount)
        })
        .sum();
    prop_assert_eq!(paid_out, refunded);

    let back = o.refunded_after_release;
    match o.release {
        Some(r) => {
            prop_assert_eq!(f(r.provider_share) + f(r.fee), f(r.amount));
            prop_assert!(r.fee.fen() >= 0 && r.provider_share.fen() >= 0);
            prop_assert!(back.fee.fen() >= 0 && back.fee <= r.fee);
            prop_assert!(back.provider.fen() >= 0);
            prop_assert!(f(back.total().unwrap()) <= f(r.amount));
            prop_assert_eq!(f(h.natural(&fee_account())), f(r.fee) - f(back.fee));
            prop_assert_eq!(
                f(h.natural(&payable_account(provider()))),
                f(r.provider_share) - f(back.provider)
            );
            if o.status == OrderStatus::Refunded && h.rulebook.refunds.fee_returned_pro_rata {
                // Everything released came back: the fee returned is the fee charged.
                prop_assert_eq!(back.fee, r.fee);
            }
        }
        None => {
            prop_assert_eq!(f(back.total().unwrap()), 0);
            prop_assert_eq!(f(h.natural(&fee_account())), 0);
        }
    }
    match o.status {
        OrderStatus::Held => prop_assert!(o.escrow.fen() > 0),
        OrderStatus::Refunded => prop_assert!(paid > 0 && refunded == paid),
        OrderStatus::Released => prop_assert!(o.release.is_some() && refunded < paid),
        _ => prop_assert!(paid == 0 && o.escrow.is_zero()),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_command_sequence_keeps_escrow_refunds_and_fees_sound(
        setup in setup(),
        cmds in proptest::collection::vec(cmd(), 1..40),
    ) {
        let mut h = Harness::new(FAMILIES[setup.family], beijing(2026, 7, 1, 10));
        let payment_terms = if setup.pay_later { PaymentTerms::PayLater } else { PaymentTerms::Prepaid };
        let mut order = h.place(setup.terms(), payment_terms);
        check(&h, &order)?;
        if setup.paid_first {
            order = h.pay(&order).unwrap();
            check(&h, &order)?;
        }
        for cmd in &cmds {
            if let Ok(next) = step(&mut h, &order, cmd) {
                order = next;
            }
            check(&h, &order)?;
        }
    }
}

proptest! {
    #[test]
    fn partial_refunds_after_release_return_exactly_the_fee_charged(
        price in 1i64..10_000_000,
        ppm in 0u32..=1_000_000,
        cuts in proptest::collection::vec(1u32..1_000, 0..8),
    ) {
        let mut h = Harness::new("ali", beijing(2026, 7, 1, 10));
        let mut t = terms(ProductCategory::Image, Pricing::OneOff, Fen::new(price));
        t.fee_terms = FeeTerms::Commission { rate: Rate::from_ppm(ppm).unwrap() };
        let order = h.buy(t);
        let mut order = h.run(|ctx| confirm_receipt(&order, ctx)).unwrap();
        let release = order.release.unwrap();
        // Refund in per-mille slices of what is left, then the rest in full.
        let mut steps: Vec<Option<u32>> = cuts.into_iter().map(Some).collect();
        steps.push(None);
        for per_mille in steps {
            let left = order.refundable_remaining().unwrap().fen();
            let award = match per_mille {
                Some(p) if left * i64::from(p) / 1_000 > 0 => RefundAward::Amount {
                    amount: Fen::new(left * i64::from(p) / 1_000),
                },
                Some(_) => continue,
                None => RefundAward::Full,
            };
            let cmd = DirectRefund {
                ground: RefundReason::Other,
                award,
                note: String::new(),
            };
            order = h.run(|ctx| refund_directly(&order, cmd, ctx)).unwrap();
            let paid = order.refunds.last().and_then(|r| r.payment).unwrap();
            // Each refund's fee part is within one fen of its exact pro-rata share.
            let exact = i128::from(paid.amount.fen()) * i128::from(release.fee.fen());
            let got = i128::from(paid.fee_part.fen()) * i128::from(release.amount.fen());
            prop_assert!((got - exact).abs() <= i128::from(release.amount.fen()));
            check(&h, &order)?;
        }
        prop_assert_eq!(order.status, OrderStatus::Refunded);
        prop_assert_eq!(order.refunded_after_release.fee, release.fee);
        prop_assert_eq!(h.natural(&fee_account()), Fen::ZERO);
        prop_assert_eq!(h.natural(&payable_account(provider())), Fen::ZERO);
    }
}
