//! Settlement (SPEC §11, issue 5): periods from the rulebook; settlement items frozen when an
//! order is released or refunded after release; order lines amortised by day over service
//! periods; the statement (对账单) with its deductions, holds and carried debt; payouts to
//! the provider's approved receiving account; the fee agreement.

mod error;
mod fees;
mod item;
mod lines;
mod payee;
mod payout;
mod period;
mod statement;
#[cfg(test)]
mod tests;

pub use error::SettlementError;
pub use fees::{AgreedWindow, FeeAgreement};
pub use item::{ItemKind, SettlementItem, items_of_change};
pub use lines::{LineKind, OrderLine, Recognised, order_lines, recognised};
pub use payee::{
    DecidedChange, PayeeAccount, PayeeChange, PayeeChannel, PayeeDecision, PayeeRegistration,
};
pub use payout::{
    GatewayAnswer, PAYOUT_INSTRUCTED, PAYOUT_PAID, PAYOUT_RETURNED, Payout, PayoutStatus,
};
pub use period::Period;
pub use statement::{
    Adjustment, AdjustmentKind, DEBT_CARRIED, DEBT_COLLECTED, DEPOSIT_TAKEN, Hold,
    PENALTY_COLLECTED, SETTLED, Settled, SettlementInvoice, SettlementInvoiceKind, Statement,
    StatementInputs, settle,
};
