//! Orders under escrow, service supervision, refunds and ratings (SPEC §6–§7, §11).
//!
//! An [`Order`] is placed on a frozen [`PriceSnapshot`], paid through a gateway the shell talks
//! to, and held in escrow (Dr OperatorCash / Cr BuyerEscrow) while the guarantee window of its
//! category runs. The window's end — a stored deadline — or the buyer's acceptance releases it
//! (Dr BuyerEscrow / Cr ProviderPayable + Cr PlatformFeeRevenue). Refunds come out of escrow
//! before release and reverse the release lines after it. Every command is a pure function
//! `(&Order, command, &mut Context) -> Result<(Order, Outcome), OrderError>`.
//!
//! - `lifecycle`: place, pay, cancel, confirm receipt, window end, renew.
//! - `service`: milestones and final acceptance with the warranty.
//! - `refund` / `refund_policy`: the request workflow, and how much a refund may be.
//! - `rating`: one rating per paid order and a product's exact average.
//! - `sales`: what counts as a product's sale, counted off the payment's critical path.
//! - `delivery`: the SaaS delivery state ("delivery failed" after a dead-lettered create).
//! - `window`: the guarantee window and the buyer's countdown.
//! - `fee`, `postings`: the platform fee and the ledger transactions.

mod aggregate;
mod delivery;
mod error;
mod exit;
mod fee;
mod intent;
mod lifecycle;
mod postings;
mod rating;
mod refund;
mod refund_policy;
mod sales;
mod service;
mod terms;
mod window;

#[cfg(test)]
pub(crate) mod fixture;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use aggregate::{Order, OrderStatus, Payment, RefundedShares, Release, ReleaseTrigger};
pub use delivery::{
    DeliveryStatus, SaasDelivery, delivery_failed, delivery_requested, delivery_succeeded,
};
pub use error::OrderError;
pub use exit::{
    ExitSettlement, ExitTreatment, exit_treatment, refund_on_exit, release_on_exit, settle_on_exit,
};
pub use fee::platform_fee;
pub use intent::{
    IntentStatus, PAYMENT_INTENT_RECONCILE, PaymentIntent, PaymentStart, RECONCILE_AFTER,
    begin_payment, close_intent,
};
pub use lifecycle::{
    ConfirmedPayment, PlaceOrder, cancel, confirm_receipt, guarantee_window_ended, pay, place,
    renew,
};
pub use postings::{
    ESCROW_RELEASED, ORDER_PAID, REFUND_AFTER_RELEASE, REFUND_FROM_ESCROW, cash_account,
    escrow_account, fee_account, payable_account, refunds_payable_account,
};
pub use rating::{
    MAX_REVIEW_CHARS, ProductRating, ProductReviews, RECENT_REVIEWS, RateOrder, Rating, rate,
};
pub use refund::{
    ArbitrationDecision, Decider, DirectRefund, MAX_REFUND_NOTE, Refund, RefundOrigin,
    RefundPayment, RefundStatus, RequestRefund, accept_refund, decide_refund, decline_refund,
    escalate_refund, refund_directly, request_refund, withdraw_refund,
};
pub use refund_policy::{RefundAward, RefundBasis, unused_share};
pub use sales::{ProductSales, SALE_COUNT, SaleChange, SaleCount, sale_change, sale_deadline};
pub use service::{
    MAX_MILESTONE_TITLE, MAX_WARRANTY_DAYS, Milestone, Warranty, accept_service, confirm_milestone,
    report_milestone,
};
pub use terms::{MAX_QUANTITY, MAX_VALIDITY_DAYS, PaymentTerms, PriceSnapshot, ServicePeriod};
pub use window::{
    GUARANTEE_WINDOW_END, GuaranteeCountdown, RefundClass, WindowDates, countdown, window_over,
};
