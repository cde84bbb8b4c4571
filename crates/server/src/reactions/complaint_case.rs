//! A complaint escalated: the violation case it opens, in the complaint's batch.

use crate::kernel::pipeline::add_outcome;
use crate::kernel::problem::Problem;
use crate::kernel::repo::cases::case_write;
use crate::kernel::state::AppState;
use jiff::Timestamp;
use uuid::Uuid;
use yunshi_core::governance::{Case, CaseError, OpenCase};
use yunshi_store::WriteBatch;

/// Opens case `id` inside the caller's `batch` (a complaint's breach or decision): the table
/// row of the rulebook in force on `cmd.act_on`, the reply window of the rulebook in force
/// at `now`, the case aggregate and its events and deadline — all committed with the
/// caller's own writes.
pub fn open_in_batch(
    state: &AppState,
    id: Uuid,
    cmd: OpenCase,
    now: Timestamp,
    batch: &mut WriteBatch,
) -> Result<Case, Problem> {
    let act_rb = crate::kernel::context::rulebook_on(state, cmd.act_on)
        .ok_or_else(|| Problem::refusal(&CaseError::NoRulebookOn(cmd.act_on)))?;
    let (case, outcome) =
        crate::kernel::context::decide(state, now, |ctx| Case::open(id, cmd, act_rb, ctx))?
            .map_err(|e| Problem::refusal(&e))?;
    add_outcome(batch, outcome, now);
    batch.aggregates.push(case_write(&case, None, now)?);
    tracing::info!(case = %case.id, provider = %case.provider, code = %case.row.code, "violation case opened from a complaint");
    Ok(case)
}
