//! A test harness: the builtin rulebooks, a clock moved by hand, an in-memory ledger the
//! outcomes are posted to, and the deadlines the shell would store and fire.

use jiff::Timestamp;
use jiff::civil::{Time, date};
use uuid::Uuid;

use super::*;
use crate::calendar::WorkingCalendar;
use crate::catalog::{DeclaredRefundPolicy, FeeTerms, Pricing, ProductCategory, SalesMode};
use crate::decision::{Context, DeadlineRequest, Event, Outcome, SequentialIds};
use crate::ids::{MemberId, ProductId, ProviderId};
use crate::ledger::Balances;
use crate::money::Fen;
use crate::rulebook::{Library, MarketplaceRulebook};
use crate::time::beijing_instant;

pub fn beijing(y: i16, m: i8, d: i8, h: i8) -> Timestamp {
    beijing_instant(date(y, m, d), Time::new(h, 0, 0, 0).unwrap()).unwrap()
}

/// The builtin library, parsed once for all tests.
fn library() -> &'static Library {
    static LIBRARY: std::sync::OnceLock<Library> = std::sync::OnceLock::new();
    LIBRARY.get_or_init(|| Library::builtin().unwrap())
}

pub fn rulebook(family: &str) -> MarketplaceRulebook {
    library()
        .in_force(family, date(2026, 7, 1))
        .unwrap()
        .as_marketplace()
        .unwrap()
        .clone()
}

pub fn provider() -> ProviderId {
    ProviderId::from_uuid(Uuid::from_u128(0xB0))
}

pub fn buyer() -> MemberId {
    MemberId::from_uuid(Uuid::from_u128(0xA0))
}

pub fn yuan(y: i64) -> Fen {
    Fen::from_yuan(y).unwrap()
}

/// A product at `price` per unit, 20% commission, one unit.
pub fn terms(category: ProductCategory, pricing: Pricing, price: Fen) -> PriceSnapshot {
    PriceSnapshot {
        product: ProductId::from_uuid(Uuid::from_u128(0xC0)),
        provider: provider(),
        category,
        pricing,
        unit_price: price,
        quantity: 1,
        validity_days: None,
        sales_mode: SalesMode::SelfSold,
        refund_policy: DeclaredRefundPolicy::NoRefund,
        fee_terms: FeeTerms::Commission {
            rate: "20%".parse().unwrap(),
        },
        fee_windows: Vec::new(),
    }
}

pub struct Harness {
    pub rulebook: MarketplaceRulebook,
    pub calendar: WorkingCalendar,
    pub ids: SequentialIds,
    pub now: Timestamp,
    pub book: Balances,
    pub deadlines: Vec<DeadlineRequest>,
    pub events: Vec<Event>,
}

impl Harness {
    pub fn new(family: &str, now: Timestamp) -> Self {
        Harness {
            rulebook: rulebook(family),
            calendar: WorkingCalendar::default(),
            ids: SequentialIds::new(7),
            now,
            book: Balances::default(),
            deadlines: Vec::new(),
            events: Vec::new(),
        }
    }

    /// Runs a rule at `self.now` and applies its outcome as the shell would.
    pub fn run<T>(
        &mut self,
        rule: impl FnOnce(&mut Context<'_>) -> Result<(T, Outcome), OrderError>,
    ) -> Result<T, OrderError> {
        let mut ctx = Context {
            now: self.now,
            rulebook: &self.rulebook,
            calendar: &self.calendar,
            ids: &mut self.ids,
        };
        let (state, outcome) = rule(&mut ctx)?;
        for tx in &outcome.transactions {
            let sum: i128 = tx
                .postings()
                .iter()
                .map(|p| i128::from(p.amount.fen()))
                .sum();
            assert_eq!(sum, 0, "unbalanced {tx:?}");
            self.book.apply(tx).unwrap();
        }
        self.deadlines
            .retain(|d| !outcome.cancel.contains(&d.dedupe_key));
        self.deadlines.extend(outcome.schedule);
        self.events.extend(outcome.events);
        Ok(state)
    }

    pub fn place(&mut self, terms: PriceSnapshot, payment_terms: PaymentTerms) -> Order {
        self.run(|ctx| {
            place(
                PlaceOrder {
                    buyer: buyer(),
                    terms,
                    payment_terms,
                },
                ctx,
            )
        })
        .unwrap()
    }

    pub fn pay(&mut self, order: &Order) -> Result<Order, OrderError> {
        let payment = ConfirmedPayment {
            amount: order.total,
            gateway: "sandbox".to_string(),
            gateway_reference: format!("pay-{}", order.id),
        };
        self.run(|ctx| pay(order, payment, ctx))
    }

    /// Places and pays.
    pub fn buy(&mut self, terms: PriceSnapshot) -> Order {
        let order = self.place(terms, PaymentTerms::Prepaid);
        self.pay(&order).unwrap()
    }

    /// Moves the clock and fires every deadline of `order` that fell due, exactly once.
    pub fn advance_to(&mut self, now: Timestamp, order: &Order) -> Order {
        self.now = now;
        let due: Vec<_> = self
            .deadlines
            .iter()
            .filter(|d| d.due_at <= now && d.subject == order.subject())
            .cloned()
            .collect();
        self.deadlines
            .retain(|d| !(d.due_at <= now && d.subject == order.subject()));
        let mut order = order.clone();
        for _ in due {
            order = self.run(|ctx| guarantee_window_ended(&order, ctx)).unwrap();
        }
        order
    }

    /// A balance with the sign people expect: credits positive for liabilities and revenue.
    pub fn natural(&self, account: &crate::ledger::Account) -> Fen {
        let b = self.book.balance(account);
        if account.kind.is_debit_normal() {
            b
        } else {
            Fen::new(-b.fen())
        }
    }

    pub fn event_kinds(&self) -> Vec<&str> {
        self.events.iter().map(|e| e.kind.as_str()).collect()
    }
}
