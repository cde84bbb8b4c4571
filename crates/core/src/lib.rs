//! Yunshi's pure domain core. No I/O, no async, no clock reads: every rule is a function of
//! state, command, rulebook, calendar and the current time passed in as a value.

pub mod account;
pub mod allocation;
pub mod calendar;
pub mod catalog;
pub mod complaint;
pub mod decision;
pub mod deposit;
pub mod governance;
pub mod ids;
pub mod invoice;
pub mod ledger;
pub mod listing;
pub mod money;
pub mod order;
pub mod provider;
pub mod rate;
pub mod rulebook;
pub mod settlement;
pub mod source;
pub mod storefront;
pub mod time;
pub mod visibility;

pub use money::{Fen, MoneyError};
pub use rate::{Rate, Rounding};
