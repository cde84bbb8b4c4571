//! The aggregates as the server stores them: one place per aggregate kind for its kind name,
//! its stored record, how it is loaded and how it is written.

pub mod accounts;
pub mod orders;
pub mod products;
pub mod providers;

use yunshi_store::StoredAggregate;

use crate::kernel::problem::Problem;
use crate::kernel::state::AppState;

/// Every aggregate of `kind` owned by `owner`.
pub async fn all_owned(
    state: &AppState,
    kind: &str,
    owner: &str,
) -> Result<Vec<StoredAggregate>, Problem> {
    crate::kernel::pipeline::all_aggregates(&state.store, kind, Some(owner), None).await
}

/// Every aggregate of `kind`, optionally with `status`.
pub async fn all_of_kind(
    state: &AppState,
    kind: &str,
    status: Option<String>,
) -> Result<Vec<StoredAggregate>, Problem> {
    crate::kernel::pipeline::all_aggregates(&state.store, kind, None, status.as_deref()).await
}
