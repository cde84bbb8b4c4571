//! Stores (店铺), SPEC §4: the [`Store`] aggregate — opened for an admitted provider, held by
//! freezes, blocks, closure for unpaid deposit or hiding, closed for good on exit — with the
//! [`Visibility`] those measures leave at an instant, and transfer with operator consent.
//!
//! Every command is a pure function of state, command and [`crate::decision::Context`]; it
//! returns the new state and an [`crate::decision::Outcome`], or a [`StoreError`].

mod error;
mod exit;
mod measure;
mod store;
#[cfg(test)]
mod tests;
mod transfer;
mod visibility;

pub use error::StoreError;
pub use measure::{BLOCK_ENDS, Block, FREEZE_ENDS, Freeze, Measure, measure_end};
pub use store::{Closure, ClosureReason, Hiding, Store};
pub use transfer::{TransferRecord, TransferRequest};
pub use visibility::{StoreState, Visibility};
