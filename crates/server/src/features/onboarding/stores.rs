//! Stores (SPEC §4): the provider's own stores with their standing and visibility at the
//! time of asking, and transfers with operator consent (ALI-A 3.3.3). Freezes, blocks and
//! closures are imposed by governance; their lifting deadlines fire here
//! ([`super::DEADLINES`]).

use axum::extract::{Path, Query, State};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;
use yunshi_core::account::Capability;
use yunshi_core::ids::ProviderId;
use yunshi_core::provider::Provider;
use yunshi_core::storefront::Store;
use yunshi_store::AggregateQuery;

use super::views::{ReasonRequest, StorePage, TransferRequestBody};
use super::{Change, path_id};
use crate::kernel::auth::Principal;
use crate::kernel::context::decide;
use crate::kernel::pipeline::Loaded;
use crate::kernel::problem::{ApiJson, Problem};
use crate::kernel::repo::providers::STORE;
use crate::kernel::repo::providers::acts_for;
use crate::kernel::repo::providers::load_provider;
use crate::kernel::repo::providers::load_store;
use crate::kernel::repo::providers::own_provider_id;
use crate::kernel::repo::providers::sees;
use crate::kernel::state::AppState;
use crate::kernel::views::StoreView;

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;

fn refused(e: yunshi_core::storefront::StoreError) -> Problem {
    Problem::refusal(&e)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StoreQuery {
    /// Operator staff: only this provider's stores. Others always get their own.
    #[param(value_type = Option<String>)]
    pub provider: Option<Uuid>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// The `next_after` of the previous page.
    #[param(value_type = Option<String>)]
    pub after: Option<Uuid>,
}

/// The caller's stores (a provider's staff or its applicant member), or for operator staff
/// every store (optionally one provider's); paginated, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/stores",
    tag = "stores",
    security(("bearer" = [])),
    params(StoreQuery),
    responses(
        (status = 200, description = "One page of stores, with standing and visibility now", body = StorePage),
        (status = 400, description = "Bad query parameters"),
        (status = 401, description = "No valid bearer token"),
    )
)]
pub async fn list_stores(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<StoreQuery>,
) -> Result<ApiJson<StorePage>, Problem> {
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(Problem::invalid_request(format!(
            "limit must be 1 to {MAX_PAGE}"
        )));
    }
    let owner = if principal.actor.is_operator() {
        q.provider.map(|p| p.to_string())
    } else {
        match own_provider_id(&state, &principal.actor).await? {
            Some(p) => Some(p.to_string()),
            None => {
                return Ok(ApiJson(StorePage {
                    items: Vec::new(),
                    next_after: None,
                }));
            }
        }
    };
    let rows = state
        .store
        .aggregates(&AggregateQuery {
            kind: STORE.into(),
            owner,
            status: None,
            after: q.after,
            limit: limit + 1,
        })
        .await?;
    let more = rows.len() > limit as usize;
    let now = state.clock.now();
    let mut items = Vec::with_capacity(rows.len());
    for row in rows.into_iter().take(limit as usize) {
        let store: Store = serde_json::from_value(row.state)
            .map_err(|e| Problem::internal(format!("stored store does not read back: {e}")))?;
        items.push(StoreView::of(&store, now));
    }
    let next_after = if more {
        items.last().map(|s| s.store.id.uuid())
    } else {
        None
    };
    Ok(ApiJson(StorePage { items, next_after }))
}

/// The store and its provider, if the caller may see them; else 404.
async fn visible_store(
    state: &AppState,
    principal: &Principal,
    raw_id: &str,
) -> Result<(Loaded<Store>, Loaded<Provider>), Problem> {
    let id = path_id(raw_id, "store")?;
    let not_found = || Problem::not_found(format!("no store {id}"));
    let store = load_store(state, id).await?.ok_or_else(not_found)?;
    let provider = load_provider(state, store.state.provider)
        .await?
        .ok_or_else(|| Problem::internal(format!("store {id} has no provider")))?;
    if !sees(&principal.actor, &provider.state) {
        return Err(not_found());
    }
    Ok((store, provider))
}

/// A store with its standing and visibility now: its provider's, or any for operator staff.
#[utoipa::path(
    get,
    path = "/api/v1/stores/{id}",
    tag = "stores",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Store id")),
    responses(
        (status = 200, description = "The store", body = StoreView),
        (status = 401, description = "No valid bearer token"),
        (status = 404, description = "No such store the caller may see"),
    )
)]
pub async fn get_store(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<StoreView>, Problem> {
    let (store, _) = visible_store(&state, &principal, &id).await?;
    Ok(ApiJson(StoreView::of(&store.state, state.clock.now())))
}

/// Loads the store, checks the caller, decides with the provider it names (if any), commits.
async fn update_store<F>(
    state: &AppState,
    principal: &Principal,
    raw_id: &str,
    receiver: impl Fn(&Store) -> Option<ProviderId>,
    as_holder: bool,
    decide_change: F,
) -> Result<Store, Problem>
where
    F: Fn(
        &Store,
        Option<&Provider>,
        jiff::Timestamp,
    ) -> Result<(Store, yunshi_core::decision::Outcome), Problem>,
{
    crate::kernel::pipeline::run(&state.store, || async {
        let (store, holder) = visible_store(state, principal, raw_id).await?;
        if as_holder && !acts_for(&principal.actor, &holder.state) {
            return Err(Problem::forbidden(
                "only the store's provider asks for its transfer",
            ));
        }
        if as_holder {
            // A provider that left may not change its store (SPEC §13).
            yunshi_core::provider::console_allows(
                &holder.state,
                yunshi_core::provider::ConsoleAction::ChangeStore,
            )
            .map_err(|e| Problem::refusal(&e))?;
        }
        let other = match receiver(&store.state) {
            Some(p) => Some(
                load_provider(state, p)
                    .await?
                    .ok_or_else(|| Problem::not_found(format!("no provider {p}")))?
                    .state,
            ),
            None => None,
        };
        let now = state.clock.now();
        let (next, outcome) = decide_change(&store.state, other.as_ref(), now)?;
        let change = Change {
            stores: vec![(Some(store.version), next.clone())],
            outcome,
            ..Change::default()
        };
        Ok((change.batch(now)?, next))
    })
    .await
}

/// The store's provider asks to transfer it to another active provider; the operator must
/// consent (ALI-A 3.3.3).
#[utoipa::path(
    post,
    path = "/api/v1/stores/{id}/transfer",
    tag = "stores",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Store id")),
    request_body = TransferRequestBody,
    responses(
        (status = 200, description = "The store with the transfer pending", body = StoreView),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "Not the store's provider; `console_access_limited`: the provider has left the marketplace"),
        (status = 404, description = "No such store the caller may see, or no such receiving provider"),
        (status = 409, description = "`transfer_pending`, `provider_not_active`, `invalid_transition`"),
        (status = 422, description = "`invalid_transfer` (to itself), unknown members"),
    )
)]
pub async fn request_transfer(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<TransferRequestBody>,
) -> Result<ApiJson<StoreView>, Problem> {
    let by = principal
        .user_id()
        .ok_or_else(|| Problem::forbidden("only a user asks for a transfer"))?;
    let to = ProviderId(req.to_provider);
    let store = update_store(
        &state,
        &principal,
        &id,
        |_| Some(to),
        true,
        |s, to, now| {
            let to = to.ok_or_else(|| Problem::not_found("no receiving provider"))?;
            decide(&state, now, |ctx| s.request_transfer(to, by, ctx))?.map_err(refused)
        },
    )
    .await?;
    Ok(ApiJson(StoreView::of(&store, state.clock.now())))
}

fn consenting_operator(principal: &Principal) -> Result<yunshi_core::ids::UserId, Problem> {
    principal.require(Capability::ReviewOnboarding)?;
    principal
        .user_id()
        .ok_or_else(|| Problem::forbidden("consent needs a named operator user"))
}

/// The operator consents: the store passes to the receiving provider; under rulebooks that
/// say so the transferor answers jointly for its conduct for two years.
#[utoipa::path(
    post,
    path = "/api/v1/admin/stores/{id}/transfer/approve",
    tag = "stores",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Store id")),
    responses(
        (status = 200, description = "The store, now the receiver's", body = StoreView),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller lacks `review_onboarding`"),
        (status = 404, description = "No such store"),
        (status = 409, description = "`transfer_not_requested`, `provider_not_active`, `invalid_transition`"),
    )
)]
pub async fn approve_transfer(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<StoreView>, Problem> {
    let by = consenting_operator(&principal)?;
    let store = update_store(
        &state,
        &principal,
        &id,
        |s| s.pending_transfer.as_ref().map(|t| t.to),
        false,
        |s, to, now| {
            let Some(to) = to else {
                return Err(refused(
                    yunshi_core::storefront::StoreError::TransferNotRequested,
                ));
            };
            decide(&state, now, |ctx| s.approve_transfer(to, by, ctx))?.map_err(refused)
        },
    )
    .await?;
    tracing::info!(store = %store.id, provider = %store.provider, "store transferred");
    Ok(ApiJson(StoreView::of(&store, state.clock.now())))
}

/// The operator refuses the transfer, with a reason; the store stays with its provider.
#[utoipa::path(
    post,
    path = "/api/v1/admin/stores/{id}/transfer/reject",
    tag = "stores",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Store id")),
    request_body = ReasonRequest,
    responses(
        (status = 200, description = "The store, transfer refused", body = StoreView),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller lacks `review_onboarding`"),
        (status = 404, description = "No such store"),
        (status = 409, description = "`transfer_not_requested`"),
        (status = 422, description = "`reason_required`, unknown members"),
    )
)]
pub async fn reject_transfer(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ReasonRequest>,
) -> Result<ApiJson<StoreView>, Problem> {
    let by = consenting_operator(&principal)?;
    let store = update_store(
        &state,
        &principal,
        &id,
        |_| None,
        false,
        |s, _, now| {
            decide(&state, now, |ctx| s.reject_transfer(&req.reason, by, ctx))?.map_err(refused)
        },
    )
    .await?;
    Ok(ApiJson(StoreView::of(&store, state.clock.now())))
}
