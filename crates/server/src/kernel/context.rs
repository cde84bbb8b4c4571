//! Deciding: the marketplace rulebook in force, and the core's decision [`Context`] built
//! once for every handler, deadline handler and reaction.

use jiff::Timestamp;
use yunshi_core::decision::Context;
use yunshi_core::governance::Case;
use yunshi_core::rulebook::MarketplaceRulebook;
use yunshi_core::time::beijing_date;

use crate::kernel::pipeline::NewIds;
use crate::kernel::problem::Problem;
use crate::kernel::state::AppState;

/// The marketplace rulebook in force at `now`.
pub fn rulebook_at(state: &AppState, now: Timestamp) -> Result<&MarketplaceRulebook, Problem> {
    state
        .rulebooks
        .marketplace_at(beijing_date(now))
        .map_err(|e| Problem::internal(format!("no rulebook in force: {e}")))?
        .as_marketplace()
        .ok_or_else(|| Problem::internal("the marketplace rulebook is not a marketplace rulebook"))
}

/// Runs `f` with a decision context at `now`.
pub fn decide<T>(
    state: &AppState,
    now: Timestamp,
    f: impl FnOnce(&mut Context<'_>) -> T,
) -> Result<T, Problem> {
    Ok(with_ctx(state, now, rulebook_at(state, now)?, f))
}

/// The marketplace rulebook in force on `date` (the day of an act), if any.
pub fn rulebook_on(state: &AppState, date: jiff::civil::Date) -> Option<&MarketplaceRulebook> {
    state
        .rulebooks
        .marketplace_at(date)
        .ok()
        .and_then(|r| r.as_marketplace())
}

/// Runs `f` with a context under `rulebook`.
pub fn with_ctx<T>(
    state: &AppState,
    now: Timestamp,
    rulebook: &MarketplaceRulebook,
    f: impl FnOnce(&mut Context<'_>) -> T,
) -> T {
    let mut ids = NewIds;
    let mut ctx = Context {
        now,
        rulebook,
        calendar: &state.calendar,
        ids: &mut ids,
    };
    f(&mut ctx)
}

/// The rulebook version in force on the day of the act, as the case names it.
pub fn act_rulebook<'a>(
    state: &'a AppState,
    case: &Case,
) -> Result<&'a MarketplaceRulebook, Problem> {
    state
        .rulebooks
        .library()
        .get(&case.rulebook)
        .and_then(|r| r.as_marketplace())
        .ok_or_else(|| {
            Problem::internal(format!("case {} names rulebook {}", case.id, case.rulebook))
        })
}
