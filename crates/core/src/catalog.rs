//! Terms a product is sold on, shared by listings and orders: how it is priced, who sells
//! it, what the provider declares about refunds outside the guarantee window, and how the
//! platform fee is taken.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::money::Fen;
use crate::rate::Rate;

pub use crate::rulebook::ProductCategory;

/// How a product is priced (SPEC §5, §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pricing {
    /// Free: no payment, no escrow.
    Free,
    /// One payment for the product (a perpetual licence, an image, a service project).
    OneOff,
    /// A subscription paid per month of service.
    Monthly,
    /// A subscription paid per year of service.
    Yearly,
}

/// Who sells (ALI-A 1.9, TC 4.5, JD art.13).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SalesMode {
    /// 服务商自销: the provider is the seller and invoices the buyer.
    SelfSold,
    /// 自营/代销: the operator sells and invoices; the provider invoices the operator.
    Consignment,
}

/// What the provider publishes about refunds once the guarantee window has passed
/// (SPEC §7.2; TC 5.4, JD art.17(4)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclaredRefundPolicy {
    /// No refund outside the window.
    NoRefund,
    /// The unused part of the service period, pro rata by days.
    ProRataUnusedTime,
}

/// How the operator's platform fee is taken on a sale (ALI-A 4.2.1–4.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "model")]
pub enum FeeTerms {
    /// 佣金: a rate on the order amount.
    Commission { rate: Rate },
    /// 底价: the fee is the sale price minus the agreed base price.
    BasePrice { base_price: Fen },
}

/// A time-limited fee agreement — a discount or a fee holiday (ALI-A 4.1.3–4.1.4): from
/// `from` (inclusive) to `until` (exclusive) an order released in the window is charged
/// `terms` instead of the standing terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeWindow {
    pub from: Timestamp,
    pub until: Timestamp,
    pub terms: FeeTerms,
}

impl FeeWindow {
    pub fn covers(&self, at: Timestamp) -> bool {
        self.from <= at && at < self.until
    }
}
