//! Governance (SPEC §9): violation cases from notice to published decision, and the
//! provider's violation record (points per rule year) from which penalties are planned.
//!
//! - [`case`]: the case lifecycle — opened with a table code from the rulebook in force on
//!   the day of the act → notice and reply window (working days, a stored deadline) →
//!   finding (no reply or no proof: established) → penalty notice and objection window →
//!   final decision → publication.
//! - [`record`]: points booked per rule year, and [`record::plan_penalty`], the pure plan of
//!   everything a final decision does (points, threshold expulsion, store measure, deposit
//!   deduction or forfeiture, ban), which the shell applies in one batch.

pub mod case;
pub mod effects;
pub mod error;
pub mod record;

pub use case::{
    Case, CaseSource, CaseStatus, Finding, OBJECTION_WINDOW_ENDS, Objection, OpenCase,
    PenaltyNotice, REPLY_WINDOW_ENDS, Reply, StackedMeasure,
};
pub use effects::{
    EffectError, PenaltyEffects, ProductsReached, penalty_effects, products_reached,
};
pub use error::CaseError;
pub use record::{PenaltyPlan, PointsEntry, ViolationRecord, plan_penalty};

#[cfg(test)]
mod tests;
