//! Providers, their onboarding applications and their stores (aggregates `provider`,
//! `provider_application`, `store`; each owned by the provider id), and who acts for them.

use jiff::Timestamp;
use uuid::Uuid;
use yunshi_core::account::Actor;
use yunshi_core::ids::ProviderId;
use yunshi_core::provider::Provider;
use yunshi_core::storefront::Store;

use crate::kernel::auth::Principal;
use crate::kernel::pipeline::{Loaded, aggregate_write, load};
use crate::kernel::problem::Problem;
use crate::kernel::state::AppState;

/// Aggregate kind of providers.
pub const PROVIDER: &str = "provider";

/// Aggregate kind of onboarding applications.
pub const APPLICATION: &str = "provider_application";

/// Aggregate kind of stores.
pub const STORE: &str = "store";

/// Unique-key scope: one provider per member account.
pub const PROVIDER_OF_MEMBER: &str = "provider.member";

pub async fn load_provider(
    state: &AppState,
    id: ProviderId,
) -> Result<Option<Loaded<Provider>>, Problem> {
    load(&state.store, PROVIDER, id.uuid()).await
}

pub async fn load_store(state: &AppState, id: Uuid) -> Result<Option<Loaded<Store>>, Problem> {
    load(&state.store, STORE, id).await
}

/// The provider a member applied as, if any.
pub async fn provider_of_member(
    state: &AppState,
    member: yunshi_core::ids::MemberId,
) -> Result<Option<ProviderId>, Problem> {
    Ok(state
        .store
        .unique_key(PROVIDER_OF_MEMBER, &member.to_string())
        .await?
        .map(ProviderId))
}

/// The provider the actor acts for: its staff's provider, or the one its member applied as.
pub async fn own_provider_id(
    state: &AppState,
    actor: &Actor,
) -> Result<Option<ProviderId>, Problem> {
    if let Some(p) = actor.provider_id() {
        return Ok(Some(p));
    }
    match actor.member_id() {
        Some(m) => provider_of_member(state, m).await,
        None => Ok(None),
    }
}

/// Whether the actor acts for `provider`: its staff, or the member account that applied.
pub fn acts_for(actor: &Actor, provider: &Provider) -> bool {
    actor.acts_for_provider(provider.id) || actor.acts_for_member(provider.member)
}

/// Whether the provider's objects are within the actor's view.
pub fn sees(actor: &Actor, provider: &Provider) -> bool {
    actor.is_operator() || acts_for(actor, provider)
}

pub fn store_write(
    s: &Store,
    version: Option<i64>,
    now: Timestamp,
) -> Result<yunshi_store::AggregateWrite, Problem> {
    aggregate_write(
        STORE,
        s.id.uuid(),
        version,
        s.provider.to_string(),
        s.status_label(now),
        s,
        now,
    )
}

/// The provider the caller acts for: its staff's provider, or the one its member account
/// applied as (the applicant acts for its provider, as in onboarding).
pub async fn own_provider(
    state: &AppState,
    principal: &Principal,
) -> Result<Option<ProviderId>, Problem> {
    own_provider_id(state, &principal.actor).await
}

/// Whether a provider's products are within the caller's view: operator staff, and whoever
/// acts for the provider.
pub fn sees_provider(principal: &Principal, own: Option<ProviderId>, provider: ProviderId) -> bool {
    principal.actor.is_operator() || own == Some(provider)
}
