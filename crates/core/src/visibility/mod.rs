//! Automatic visibility rules (SPEC §5; issue 4 item 5): what the operator hides or delists
//! without anyone deciding it case by case, from facts the market records.
//!
//! - [`saas`]: SaaS delivery failure (TC 4.2) — the failing product hidden from search at
//!   once, all the provider's SaaS products hidden after N days and delisted after M days
//!   unless the delivery is repaired first; each step a stored deadline cancelled on repair.
//!
//! - [`performance`]: zero sales in consecutive months and an average rating below the
//!   minimum (ALI-R art.22(14), JD art.18(14)) — hidden or delisted at a monthly check.
//!
//! - [`refund_rate`]: product-reason refunds above 1% of paid orders (TC 5.8) — campaign
//!   eligibility lost, a 30-day improvement deadline.
//!
//! - [`deployment`]: fewer than 80% of sold instances on the operator's cloud in a year
//!   (ALI-R art.28(5), JD art.24(5)) — an expulsion-ground finding for compliance.
//!
//! The rules act on products through operator holds ([`crate::listing::OperatorHold`]) whose
//! key names the rule and whose reason says why, so the product view shows what hid it.

pub mod deployment;
pub mod performance;
pub mod refund_rate;
pub mod saas;

pub use saas::{
    ALL_DELISTED_HOLD, ALL_HIDDEN_HOLD, Failure, HoldChange, HoldPlan, HoldTarget, PRODUCT_HOLD,
    STEP_DEADLINE, SaasDecision, SaasFailureStanding, Step, StepPayload,
};
