//! Violation cases (aggregate `violation_case`, owned by the provider).

use crate::kernel::pipeline::aggregate_write;
use crate::kernel::problem::Problem;
use crate::kernel::repo::CASE;
use jiff::Timestamp;
use yunshi_core::governance::Case;

pub fn case_write(
    case: &Case,
    version: Option<i64>,
    now: Timestamp,
) -> Result<yunshi_store::AggregateWrite, Problem> {
    aggregate_write(
        CASE,
        case.id,
        version,
        case.provider.to_string(),
        case.status.label(),
        case,
        now,
    )
}
