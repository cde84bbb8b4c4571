//! A product's sales count: how many of its orders were paid and not refunded in full.
//!
//! The rule: an order counts as one sale when it is paid (a pay-later order once it is paid,
//! a renewal like any order; a free order is never paid and never counts), and stops counting
//! when everything paid has been refunded. Each order contributes at most one `Paid` and at
//! most one `Refunded`, so a refund never double counts.
//!
//! The count is not written in the order's own batch: every payment of a popular product
//! would then contend on one row. Instead the order's batch schedules a [`SALE_COUNT`]
//! deadline, due at once, named after the order and the change (so it exists at most once);
//! firing it adds the change to the product's [`ProductSales`] in the same batch that marks
//! it fired, so each change is applied exactly once, off the payment's critical path. The
//! two changes commute (paid and refunded are counted apart), so the order they fire in does
//! not matter.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::aggregate::{Order, OrderStatus};
use super::error::OrderError;
use crate::decision::DeadlineRequest;
use crate::ids::{OrderId, ProductId, ProviderId};

/// Deadline kind: apply one [`SaleChange`] to a product's [`ProductSales`].
pub const SALE_COUNT: &str = "order.sale_count";

/// How an order's change moves its product's sales.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SaleChange {
    /// The order was paid: one more sale.
    Paid,
    /// Everything paid went back: the sale no longer counts.
    Refunded,
}

impl SaleChange {
    pub fn as_str(self) -> &'static str {
        match self {
            SaleChange::Paid => "paid",
            SaleChange::Refunded => "refunded",
        }
    }
}

/// The change to its product's sales that deciding `after` from `before` (`None`: a new
/// order) makes, if any.
pub fn sale_change(before: Option<&Order>, after: &Order) -> Option<SaleChange> {
    let was_paid = before.is_some_and(|b| b.payment.is_some());
    let was_refunded = before.is_some_and(|b| b.status == OrderStatus::Refunded);
    if after.payment.is_some() && !was_paid {
        Some(SaleChange::Paid)
    } else if after.status == OrderStatus::Refunded && !was_refunded && after.payment.is_some() {
        Some(SaleChange::Refunded)
    } else {
        None
    }
}

/// What a [`SALE_COUNT`] deadline carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleCount {
    pub order_id: OrderId,
    pub product_id: ProductId,
    pub provider_id: ProviderId,
    pub change: SaleChange,
}

/// The deadline that applies `change` of `order` to its product's sales, due at `now`.
pub fn sale_deadline(order: &Order, change: SaleChange, now: Timestamp) -> DeadlineRequest {
    let count = SaleCount {
        order_id: order.id,
        product_id: order.terms.product,
        provider_id: order.terms.provider,
        change,
    };
    DeadlineRequest {
        kind: SALE_COUNT.to_string(),
        subject: format!("product:{}", order.terms.product),
        due_at: now,
        payload: json!(count),
        dedupe_key: format!("order:{}:sale:{}", order.id, change.as_str()),
    }
}

/// A product's sales: orders paid and orders refunded in full, counted apart so that the
/// changes commute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ProductSales {
    pub paid: u64,
    pub refunded: u64,
}

impl ProductSales {
    pub fn with(self, change: SaleChange) -> Result<Self, OrderError> {
        let overflow = || OrderError::InvalidTerms("too many sales".to_string());
        Ok(match change {
            SaleChange::Paid => ProductSales {
                paid: self.paid.checked_add(1).ok_or_else(overflow)?,
                ..self
            },
            SaleChange::Refunded => ProductSales {
                refunded: self.refunded.checked_add(1).ok_or_else(overflow)?,
                ..self
            },
        })
    }

    /// Paid orders not refunded in full.
    pub fn count(&self) -> u64 {
        self.paid.saturating_sub(self.refunded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_commute_and_a_refund_never_goes_below_zero() {
        let s = ProductSales::default();
        let a = s
            .with(SaleChange::Paid)
            .unwrap()
            .with(SaleChange::Refunded)
            .unwrap();
        let b = s
            .with(SaleChange::Refunded)
            .unwrap()
            .with(SaleChange::Paid)
            .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.count(), 0);
        assert_eq!(s.with(SaleChange::Refunded).unwrap().count(), 0);
        assert_eq!(
            s.with(SaleChange::Paid)
                .unwrap()
                .with(SaleChange::Paid)
                .unwrap()
                .count(),
            2
        );
    }
}
