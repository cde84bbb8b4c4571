//! The listing reviewer (capability `review_listings`): the queue of submitted versions,
//! approval acknowledging each finding, rejection with the rulebook's reasons. An update of a
//! live product is reviewed while the live version stays in the catalogue.

use axum::extract::{Path, Query, State};
use yunshi_core::account::Capability;
use yunshi_core::ids::{ProductId, UserId};
use yunshi_core::listing::{Approve, FindingAck, Reject, VersionStatus};
use yunshi_store::AggregateQuery;

use super::views::{ApproveRequest, PageQuery, ProductView, RejectRequest, ReviewItem, ReviewPage};
use super::{Acting, LISTING_REVIEW, path_id, provider_standing, update_product, view};
use crate::kernel::auth::Principal;
use crate::kernel::problem::{ApiJson, ErrorCode, Problem};
use crate::kernel::repo::products::load_product;
use crate::kernel::state::AppState;

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;

/// The reviewer's user: decisions are recorded against a user, so the bootstrap
/// administrator (no user) is refused.
fn reviewer(principal: &Principal) -> Result<UserId, Problem> {
    principal.require(Capability::ReviewListings)?;
    principal.user_id().ok_or_else(|| {
        Problem::coded(
            ErrorCode::Forbidden,
            axum::http::StatusCode::FORBIDDEN,
            "user_required",
            "review decisions are recorded against a user; use a reviewer user's token",
        )
    })
}

/// Versions waiting for review, oldest product first.
#[utoipa::path(
    get,
    path = "/api/v1/review/listings",
    tag = "listing review",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "One page of the queue", body = ReviewPage),
        (status = 400, description = "Bad `limit` or `after`"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "Not a listing reviewer"),
    )
)]
pub async fn queue(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<PageQuery>,
) -> Result<ApiJson<ReviewPage>, Problem> {
    principal.require(Capability::ReviewListings)?;
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(Problem::invalid_request("limit must be 1–200"));
    }
    let after = match query.after.as_deref() {
        None | Some("") => None,
        Some(a) => Some(
            uuid::Uuid::parse_str(a)
                .map_err(|_| Problem::invalid_request("after is not a product id"))?,
        ),
    };
    let rows = state
        .store
        .aggregates(&AggregateQuery {
            kind: LISTING_REVIEW.into(),
            owner: None,
            status: Some("submitted".into()),
            after,
            limit: limit + 1,
        })
        .await?;
    let more = rows.len() > limit as usize;
    let mut items = Vec::new();
    let mut last = None;
    for row in rows.into_iter().take(limit as usize) {
        last = Some(row.id);
        let Some(loaded) = load_product(&state, ProductId(row.id)).await? else {
            continue;
        };
        let p = loaded.state.product;
        let Some(version) = p
            .pending
            .clone()
            .filter(|v| matches!(v.status, VersionStatus::Submitted { .. }))
        else {
            continue;
        };
        items.push(ReviewItem {
            product: p.id,
            provider: p.provider,
            category: p.category,
            status: p.status().as_str().to_owned(),
            update_of_live: p.live.is_some(),
            version,
        });
    }
    let next_cursor = more.then(|| last.map(|id| id.to_string())).flatten();
    Ok(ApiJson(ReviewPage { items, next_cursor }))
}

/// Approves the submitted version: it goes live (replacing any live version). Every finding
/// must be acknowledged by id; a paid product still needs the full deposit.
#[utoipa::path(
    post,
    path = "/api/v1/review/listings/{id}/approve",
    tag = "listing review",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Product id")),
    request_body = ApproveRequest,
    responses(
        (status = 200, description = "The product, the version live", body = ProductView),
        (status = 400, description = "Malformed JSON"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "Not a listing reviewer (`forbidden`), or no user (`user_required`)"),
        (status = 404, description = "No such product"),
        (status = 409, description = "`invalid_transition` (nothing under review) or `deposit_missing`"),
        (status = 422, description = "`findings_not_acknowledged`, `unknown_finding`, or a malformed member"),
    )
)]
pub async fn approve(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ApproveRequest>,
) -> Result<ApiJson<ProductView>, Problem> {
    let by = reviewer(&principal)?;
    let id = ProductId(path_id(&id, "product")?);
    let loaded = load_product(&state, id)
        .await?
        .ok_or_else(|| super::no_product(id))?;
    let standing = provider_standing(&state, loaded.state.product.provider).await?;
    let approve = Approve {
        reviewer: by,
        acknowledged: req
            .acknowledged
            .into_iter()
            .map(|a| FindingAck {
                finding: a.finding,
                note: a.note,
            })
            .collect(),
    };
    let record = update_product(&state, &principal, id, Acting::Reviewer, |p, ctx| {
        p.approve(ctx, approve.clone(), standing)
    })
    .await?;
    tracing::info!(product = %id, reviewer = %by, "listing approved");
    Ok(ApiJson(view(&state, &record).await?))
}

/// Rejects the submitted version with prohibited-content reasons of the rulebook in force,
/// cited findings and/or a note. A live version stays live.
#[utoipa::path(
    post,
    path = "/api/v1/review/listings/{id}/reject",
    tag = "listing review",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Product id")),
    request_body = RejectRequest,
    responses(
        (status = 200, description = "The product, its pending version rejected", body = ProductView),
        (status = 400, description = "Malformed JSON"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "Not a listing reviewer (`forbidden`), or no user (`user_required`)"),
        (status = 404, description = "No such product"),
        (status = 409, description = "`invalid_transition`: nothing under review"),
        (status = 422, description = "`reason_not_in_rulebook`, `unknown_finding`, `rejection_reason_required`, or a malformed member"),
    )
)]
pub async fn reject(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<RejectRequest>,
) -> Result<ApiJson<ProductView>, Problem> {
    let by = reviewer(&principal)?;
    let id = ProductId(path_id(&id, "product")?);
    let reject = Reject {
        reviewer: by,
        reasons: req.reasons,
        findings: req.findings,
        note: req.note,
    };
    let record = update_product(&state, &principal, id, Acting::Reviewer, |p, ctx| {
        p.reject(ctx, reject.clone())
    })
    .await?;
    tracing::info!(product = %id, reviewer = %by, "listing rejected");
    Ok(ApiJson(view(&state, &record).await?))
}
