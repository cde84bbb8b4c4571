//! What an order was bought on, frozen at placement, and the service period it covers.

use jiff::Span;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::error::OrderError;
use crate::catalog::{
    DeclaredRefundPolicy, FeeTerms, FeeWindow, Pricing, ProductCategory, SalesMode,
};
use crate::ids::{ProductId, ProviderId};
use crate::money::Fen;

/// Most units (copies, months or years) one order may carry: keeps service periods far from
/// the end of the calendar.
pub const MAX_QUANTITY: u32 = 1_200;
/// Longest validity of a one-off licence, in days (100 years).
pub const MAX_VALIDITY_DAYS: u32 = 36_600;

/// The listing's terms as the buyer saw them when ordering. Later edits of the listing never
/// reach an order: refunds, fees and windows are judged on this snapshot (SPEC §6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceSnapshot {
    pub product: ProductId,
    pub provider: ProviderId,
    pub category: ProductCategory,
    pub pricing: Pricing,
    /// Price of one unit: one copy (one-off), one month or one year (subscriptions); zero
    /// when free.
    pub unit_price: Fen,
    /// Copies for one-off products; months or years of service for subscriptions.
    pub quantity: u32,
    /// Days a one-off licence stays valid when it is not perpetual. It gives the order a
    /// service period, so "unused time" can be measured outside the window (SPEC §7.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validity_days: Option<u32>,
    pub sales_mode: SalesMode,
    /// The provider's published terms outside the window (TC 5.4, JD art.17(4)).
    pub refund_policy: DeclaredRefundPolicy,
    /// How the platform fee is taken (ALI-A 4.2.1–4.2.2).
    pub fee_terms: FeeTerms,
    /// Discounts and fee holidays agreed when the order was placed, most specific first: the
    /// first covering the release replaces `fee_terms` (ALI-A 4.1.3–4.1.4).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fee_windows: Vec<FeeWindow>,
}

impl PriceSnapshot {
    /// Checks the snapshot and returns what the buyer owes.
    pub fn total(&self) -> Result<Fen, OrderError> {
        let bad = |m: &str| Err(OrderError::InvalidTerms(m.to_string()));
        if self.quantity == 0 || self.quantity > MAX_QUANTITY {
            return bad("quantity must be between 1 and 1200");
        }
        match self.pricing {
            Pricing::Free if !self.unit_price.is_zero() => {
                return bad("a free product has no price");
            }
            Pricing::Free => {}
            _ if self.unit_price.fen() <= 0 => return bad("a paid product needs a positive price"),
            _ => {}
        }
        match self.validity_days {
            Some(_) if self.pricing != Pricing::OneOff => {
                return bad("only one-off products carry a validity; subscriptions have periods");
            }
            Some(days) if days == 0 || days > MAX_VALIDITY_DAYS => {
                return bad("validity must be between 1 and 36600 days");
            }
            _ => {}
        }
        if let FeeTerms::BasePrice { base_price } = self.fee_terms
            && (base_price.is_negative() || base_price > self.unit_price)
            && self.pricing != Pricing::Free
        {
            return bad("the base price must lie between zero and the unit price");
        }
        Ok(self.unit_price.checked_mul(i64::from(self.quantity))?)
    }

    /// The fee terms an order released at `at` is charged: frozen at that moment.
    pub fn fee_terms_at(&self, at: jiff::Timestamp) -> FeeTerms {
        self.fee_windows
            .iter()
            .find(|w| w.covers(at))
            .map_or(self.fee_terms, |w| w.terms)
    }

    pub fn is_free(&self) -> bool {
        self.pricing == Pricing::Free
    }

    pub fn is_subscription(&self) -> bool {
        matches!(self.pricing, Pricing::Monthly | Pricing::Yearly)
    }
}

/// Who pays when: up front, or after use (先消费后付款, ALI-A 4.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentTerms {
    #[default]
    Prepaid,
    /// Consumed first; nothing is escrowed or settleable until the buyer actually pays.
    PayLater,
}

/// The service an order covers, as Beijing civil dates `[start, end)`: a year bought on
/// 2026-07-01 runs to 2027-07-01 exclusive (the convention of `allocate_by_days`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServicePeriod {
    pub start: Date,
    pub end: Date,
}

impl ServicePeriod {
    /// The period a snapshot buys from `start`: months or years for subscriptions, the
    /// validity for limited one-off licences, none for perpetual or free products.
    pub fn of(terms: &PriceSnapshot, start: Date) -> Result<Option<ServicePeriod>, OrderError> {
        let length = match (terms.pricing, terms.validity_days) {
            (Pricing::Monthly, _) => Span::new().months(i64::from(terms.quantity)),
            (Pricing::Yearly, _) => Span::new().years(i64::from(terms.quantity)),
            (Pricing::OneOff, Some(days)) => Span::new().days(i64::from(days)),
            (Pricing::OneOff, None) | (Pricing::Free, _) => return Ok(None),
        };
        let end = start.checked_add(length)?;
        Ok(Some(ServicePeriod { start, end }))
    }

    pub fn days(&self) -> i64 {
        i64::from((self.end - self.start).get_days())
    }
}
