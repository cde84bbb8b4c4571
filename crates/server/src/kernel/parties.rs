//! The two sides of an order — its buyer and its provider — in what both own a part of
//! (complaints, invoice requests): the buyer's command on its own order, and listing. Those
//! aggregates are stored with owner = the provider, and a buyer index (an aggregate of
//! another kind with the same ids, owner = the buyer member) lets a buyer list its own with
//! one keyset query.

use serde::de::DeserializeOwned;
use uuid::Uuid;
use yunshi_core::account::Actor;
use yunshi_core::ids::ProviderId;
use yunshi_store::AggregateQuery;

use crate::kernel::auth::Principal;
use crate::kernel::pipeline::Loaded;
use crate::kernel::problem::Problem;
use crate::kernel::repo::orders::OrderRecord;
use crate::kernel::repo::providers::own_provider_id;
use crate::kernel::state::AppState;

/// The order `id` for a command only its buyer gives (`only`: the refusal's detail): 404 when
/// there is none or the caller may not see it, 403 when the caller sees it (operator staff,
/// its provider) but is not its buyer.
pub async fn buyers_order(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    only: &str,
) -> Result<Loaded<OrderRecord>, Problem> {
    let missing = || Problem::not_found(format!("no order {id}"));
    let loaded = crate::kernel::repo::orders::load_order(&state.store, id)
        .await?
        .ok_or_else(missing)?;
    let order = &loaded.state.order;
    let actor = &principal.actor;
    if actor.acts_for_member(order.buyer) {
        return Ok(loaded);
    }
    let sees =
        actor.is_operator() || own_provider_id(state, actor).await? == Some(order.terms.provider);
    Err(if sees {
        Problem::forbidden(only.to_string())
    } else {
        missing()
    })
}

/// What to list.
#[derive(Debug, Clone, Copy)]
pub struct PartyList<'a> {
    /// The aggregate kind (owner = the provider id).
    pub kind: &'a str,
    /// Its buyer index kind (same ids, owner = the buyer member id).
    pub index: &'a str,
    /// Operator staff: only this provider's; the member that applied for a provider: its
    /// own provider id, to list the provider's side.
    pub provider: Option<Uuid>,
    pub status: Option<&'a str>,
    pub after: Option<Uuid>,
    /// 1–200, 50 when absent.
    pub limit: Option<u32>,
}

fn read<T: DeserializeOwned>(kind: &str, v: serde_json::Value, id: Uuid) -> Result<T, Problem> {
    serde_json::from_value(v)
        .map_err(|e| Problem::internal(format!("stored {kind} {id} does not read back: {e}")))
}

/// One page for `actor`, oldest first, with the cursor of the next page: operator staff see
/// all (or `provider`'s), provider staff their provider's, the member that applied for
/// `provider` that provider's, any other member its own through the index (`status_of`
/// filters those by status). `None` when the actor is none of these.
pub async fn page<T: DeserializeOwned>(
    state: &AppState,
    actor: &Actor,
    list: PartyList<'_>,
    status_of: impl Fn(&T) -> &str,
) -> Result<Option<(Vec<T>, Option<Uuid>)>, Problem> {
    let limit = list.limit.unwrap_or(50).clamp(1, 200);
    let owner = if actor.is_operator() {
        Some(list.provider)
    } else if let Some(p) = actor.provider_id() {
        Some(Some(p.uuid()))
    } else if list.provider.is_some()
        && own_provider_id(state, actor).await?.map(ProviderId::uuid) == list.provider
    {
        Some(list.provider)
    } else {
        None
    };
    let query = |kind: &str, owner: Option<String>, status: Option<&str>| AggregateQuery {
        kind: kind.to_string(),
        owner,
        status: status.map(str::to_string),
        after: list.after,
        limit,
    };
    let next = |n: usize, last: Option<Uuid>| (n == limit as usize).then_some(last).flatten();
    let mut items = Vec::new();
    if let Some(owner) = owner {
        let owner = owner.map(|p| p.to_string());
        let page = state
            .store
            .aggregates(&query(list.kind, owner, list.status))
            .await?;
        let next_after = next(page.len(), page.last().map(|a| a.id));
        for a in page {
            items.push(read(list.kind, a.state, a.id)?);
        }
        return Ok(Some((items, next_after)));
    }
    let Some(member) = actor.member_id() else {
        return Ok(None);
    };
    let page = state
        .store
        .aggregates(&query(list.index, Some(member.to_string()), None))
        .await?;
    let next_after = next(page.len(), page.last().map(|a| a.id));
    for a in page {
        let Some(stored) = state.store.aggregate(list.kind, a.id).await? else {
            continue;
        };
        let item: T = read(list.kind, stored.state, a.id)?;
        if list.status.is_none_or(|s| s == status_of(&item)) {
            items.push(item);
        }
    }
    Ok(Some((items, next_after)))
}
