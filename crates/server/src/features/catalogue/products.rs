//! Provider staff: create a product, edit its draft, see the automatic checks, submit,
//! withdraw, delist and relist; read their own products.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use yunshi_core::ids::{ProductId, ProviderId, StoreId};
use yunshi_core::listing::{ListingDraft, NewProduct, Product, run_checks};
use yunshi_store::{AggregateQuery, WriteBatch};

use super::views::{
    ChecksView, DraftRequest, NewProductRequest, PageQuery, ProductPage, ProductView,
};
use super::{
    Acting, check_provider_access, no_product, operator_domains, path_id, provider_standing,
    refused, require_may_publish, update_product, view,
};
use crate::kernel::auth::Principal;
use crate::kernel::context::rulebook_at;
use crate::kernel::pipeline::add_outcome;
use crate::kernel::problem::{ApiJson, ErrorCode, Problem};
use crate::kernel::repo::products::PRODUCT;
use crate::kernel::repo::products::ProductRecord;
use crate::kernel::repo::products::load_product;
use crate::kernel::repo::products::product_write;
use crate::kernel::repo::providers::STORE;
use crate::kernel::repo::providers::own_provider;
use crate::kernel::repo::providers::sees_provider;
use crate::kernel::state::AppState;

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;

fn product_id(raw: &str) -> Result<ProductId, Problem> {
    Ok(ProductId(path_id(raw, "product")?))
}

/// The store must be one of the provider's (a store of another provider, or none, is
/// refused without telling which).
async fn check_store(
    state: &AppState,
    provider: ProviderId,
    store: StoreId,
) -> Result<(), Problem> {
    let owned = match state.store.aggregate(STORE, store.uuid()).await? {
        None => false,
        Some(row) => {
            row.owner == provider.to_string()
                || row.state.get("provider").and_then(|p| p.as_str())
                    == Some(provider.to_string().as_str())
        }
    };
    if owned {
        Ok(())
    } else {
        Err(Problem::coded(
            ErrorCode::InvalidRequest,
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_store",
            format!("no store {store} of this provider"),
        ))
    }
}

/// Creates a product with its first draft in one of the provider's stores. Shape, price
/// range and the category's refund class are checked now; completeness on submit.
#[utoipa::path(
    post,
    path = "/api/v1/products",
    tag = "products",
    security(("bearer" = [])),
    request_body = NewProductRequest,
    responses(
        (status = 201, description = "The product with its draft", body = ProductView,
            headers(("location" = String, description = "`/api/v1/products/{id}`"))),
        (status = 400, description = "Malformed JSON"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "Only provider staff create products; `console_access_limited`: the provider has left the marketplace"),
        (status = 409, description = "`store_restricted`: the store is closed, hidden or blocked"),
        (status = 422, description = "`price_out_of_range`, `invalid_listing`, `refund_policy_not_allowed`, `category_not_in_rulebook`, `unknown_store`, or a wrong, unknown or malformed member (e.g. price \"abc\")"),
    )
)]
pub async fn create_product(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<NewProductRequest>,
) -> Result<Response, Problem> {
    let Some(provider) = own_provider(&state, &principal).await? else {
        return Err(Problem::forbidden("only provider staff create products"));
    };
    crate::reactions::exit::require_may_publish_as(&state, Some(provider)).await?;
    check_store(&state, provider, req.store).await?;
    let now = state.clock.now();
    require_may_publish(&state, req.store, now).await?;
    let rulebook = rulebook_at(&state, now)?;
    let new = NewProduct {
        provider,
        store: req.store,
        category: req.category,
        sales_mode: req.sales_mode,
        terms: yunshi_core::listing::ListingTerms {
            pricing: req.pricing,
            price: req.price,
            refund_policy: req.refund_policy,
        },
        content: req.content,
    };
    let (product, outcome) =
        crate::kernel::context::with_ctx(&state, now, rulebook, |ctx| Product::create(ctx, new))
            .map_err(refused)?;
    let record = ProductRecord { product, sales: 0 };
    let mut batch = WriteBatch {
        aggregates: vec![product_write(&record, None, now)?],
        ..WriteBatch::default()
    };
    add_outcome(&mut batch, outcome, now);
    crate::kernel::pipeline::create(&state.store, batch).await?;
    tracing::info!(product = %record.product.id, %provider, "product created");
    let mut res = (
        StatusCode::CREATED,
        ApiJson(ProductView::of(&record, Default::default())),
    )
        .into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/products/{}", record.product.id))
    {
        res.headers_mut().insert(header::LOCATION, location);
    }
    Ok(res)
}

/// The caller's products, oldest first: provider staff see their provider's, operator staff
/// every provider's.
#[utoipa::path(
    get,
    path = "/api/v1/products",
    tag = "products",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "One page of products", body = ProductPage),
        (status = 400, description = "Bad `limit` or `after`"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "Members have no products"),
    )
)]
pub async fn list_products(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<PageQuery>,
) -> Result<ApiJson<ProductPage>, Problem> {
    let owner = match own_provider(&state, &principal).await? {
        Some(p) => Some(p.to_string()),
        None if principal.actor.is_operator() => None,
        None => return Err(Problem::forbidden("members have no products")),
    };
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
            kind: PRODUCT.into(),
            owner,
            status: None,
            after,
            limit: limit + 1,
        })
        .await?;
    let more = rows.len() > limit as usize;
    let mut items = Vec::with_capacity(limit as usize);
    for row in rows.into_iter().take(limit as usize) {
        let record: ProductRecord = serde_json::from_value(row.state).map_err(|e| {
            Problem::internal(format!("stored product {} does not read back: {e}", row.id))
        })?;
        items.push(view(&state, &record).await?);
    }
    let next_cursor = more
        .then(|| items.last().map(|p| p.id.to_string()))
        .flatten();
    Ok(ApiJson(ProductPage { items, next_cursor }))
}

/// One product with its live and pending versions (findings and review records included).
#[utoipa::path(
    get,
    path = "/api/v1/products/{id}",
    tag = "products",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Product id")),
    responses(
        (status = 200, description = "The product", body = ProductView),
        (status = 401, description = "No valid bearer token"),
        (status = 404, description = "No such product the caller may see"),
    )
)]
pub async fn get_product(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<ProductView>, Problem> {
    let id = product_id(&id)?;
    let loaded = load_product(&state, id)
        .await?
        .ok_or_else(|| no_product(id))?;
    let own = own_provider(&state, &principal).await?;
    if !sees_provider(&principal, own, loaded.state.product.provider) {
        return Err(no_product(id));
    }
    Ok(ApiJson(view(&state, &loaded.state).await?))
}

/// Replaces the draft's terms and content. A rejected version, or a live product with
/// nothing pending, gets a new version; the live one stays live until the new one is
/// approved.
#[utoipa::path(
    put,
    path = "/api/v1/products/{id}/draft",
    tag = "products",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Product id")),
    request_body = DraftRequest,
    responses(
        (status = 200, description = "The product with the edited draft", body = ProductView),
        (status = 400, description = "Malformed JSON"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "Not the provider's staff; `console_access_limited`: the provider has left the marketplace"),
        (status = 404, description = "No such product the caller may see"),
        (status = 409, description = "`invalid_transition`: the version is under review (withdraw it first)"),
        (status = 422, description = "`price_out_of_range`, `invalid_listing`, `refund_policy_not_allowed`, or a malformed member"),
    )
)]
pub async fn edit_draft(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<DraftRequest>,
) -> Result<ApiJson<ProductView>, Problem> {
    let id = product_id(&id)?;
    let own = own_provider(&state, &principal).await?;
    crate::reactions::exit::require_may_publish_as(&state, own).await?;
    let draft = ListingDraft {
        terms: req.terms(),
        content: req.content,
    };
    let record = update_product(&state, &principal, id, Acting::Provider(own), |p, ctx| {
        p.edit(ctx, draft.clone())
    })
    .await?;
    Ok(ApiJson(view(&state, &record).await?))
}

/// The automatic checks over the pending version (or the live one when nothing is pending)
/// as they run on submit: external links, absolute claims, brand names, off-platform
/// contacts, built-in purchase or registration — each with its field, offsets and a message
/// in Chinese and English; plus the required fields still empty and the deposit standing.
#[utoipa::path(
    get,
    path = "/api/v1/products/{id}/checks",
    tag = "products",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Product id")),
    responses(
        (status = 200, description = "The findings", body = ChecksView),
        (status = 401, description = "No valid bearer token"),
        (status = 404, description = "No such product the caller may see"),
    )
)]
pub async fn checks(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<ChecksView>, Problem> {
    let id = product_id(&id)?;
    let loaded = load_product(&state, id)
        .await?
        .ok_or_else(|| no_product(id))?;
    let product = &loaded.state.product;
    let own = own_provider(&state, &principal).await?;
    if !sees_provider(&principal, own, product.provider) {
        return Err(no_product(id));
    }
    let version = product
        .pending
        .as_ref()
        .or(product.live.as_ref())
        .ok_or_else(|| no_product(id))?;
    let rulebook = rulebook_at(&state, state.clock.now())?;
    let findings = run_checks(
        &version.content,
        &rulebook.listing,
        &operator_domains(rulebook),
    );
    let missing_fields = version
        .content
        .missing_fields(&rulebook.listing.required_fields);
    let standing = provider_standing(&state, product.provider).await?;
    Ok(ApiJson(ChecksView {
        version: version.id,
        number: version.number,
        rulebook: rulebook.rulebook.id.clone(),
        findings,
        missing_fields,
        deposit_fully_paid: standing.deposit_fully_paid,
    }))
}

/// Submits the draft for review: complete per the rulebook, priced in range, and for a paid
/// product the provider's deposit fully paid. The automatic checks run and their findings
/// are kept on the version for the reviewer.
#[utoipa::path(
    post,
    path = "/api/v1/products/{id}/submit",
    tag = "products",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Product id")),
    responses(
        (status = 200, description = "The product, its pending version submitted with its findings", body = ProductView),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "Not the provider's staff; `console_access_limited`: the provider has left the marketplace"),
        (status = 404, description = "No such product the caller may see"),
        (status = 409, description = "`deposit_missing` (paid product, deposit not fully paid), `store_restricted` (store closed, hidden or blocked) or `invalid_transition` (nothing to submit)"),
        (status = 422, description = "`missing_field`, `price_out_of_range`, `invalid_listing`"),
    )
)]
pub async fn submit(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<ProductView>, Problem> {
    let id = product_id(&id)?;
    let loaded = load_product(&state, id)
        .await?
        .ok_or_else(|| no_product(id))?;
    let own = own_provider(&state, &principal).await?;
    check_provider_access(&principal, own, loaded.state.product.provider, id)?;
    crate::reactions::exit::require_may_publish_as(&state, own).await?;
    require_may_publish(&state, loaded.state.product.store, state.clock.now()).await?;
    let standing = provider_standing(&state, loaded.state.product.provider).await?;
    let record = update_product(&state, &principal, id, Acting::Provider(own), |p, ctx| {
        let domains = operator_domains(ctx.rulebook);
        p.submit(ctx, standing, &domains)
    })
    .await?;
    Ok(ApiJson(view(&state, &record).await?))
}

/// Takes the submitted version back into draft before the reviewer decides.
#[utoipa::path(
    post,
    path = "/api/v1/products/{id}/withdraw",
    tag = "products",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Product id")),
    responses(
        (status = 200, description = "The product, its pending version back in draft", body = ProductView),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "Not the provider's staff"),
        (status = 404, description = "No such product the caller may see"),
        (status = 409, description = "`invalid_transition`: nothing under review"),
    )
)]
pub async fn withdraw(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<ProductView>, Problem> {
    let id = product_id(&id)?;
    let own = own_provider(&state, &principal).await?;
    let record = update_product(&state, &principal, id, Acting::Provider(own), |p, ctx| {
        p.withdraw(ctx)
    })
    .await?;
    Ok(ApiJson(view(&state, &record).await?))
}

/// Takes the live product off the shelf (下架); buyers keep what they bought.
#[utoipa::path(
    post,
    path = "/api/v1/products/{id}/delist",
    tag = "products",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Product id")),
    responses(
        (status = 200, description = "The product, `delisted_by_provider`", body = ProductView),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "Not the provider's staff"),
        (status = 404, description = "No such product the caller may see"),
        (status = 409, description = "`invalid_transition`: never listed or already delisted"),
    )
)]
pub async fn delist(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<ProductView>, Problem> {
    let id = product_id(&id)?;
    let own = own_provider(&state, &principal).await?;
    let record = update_product(&state, &principal, id, Acting::Provider(own), |p, ctx| {
        p.delist(ctx)
    })
    .await?;
    Ok(ApiJson(view(&state, &record).await?))
}

/// Puts a delisted product back on the shelf at its live terms; a paid one needs the full
/// deposit. Operator holds stay in force.
#[utoipa::path(
    post,
    path = "/api/v1/products/{id}/relist",
    tag = "products",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Product id")),
    responses(
        (status = 200, description = "The product back on the shelf", body = ProductView),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "Not the provider's staff; `console_access_limited`: the provider has left the marketplace"),
        (status = 404, description = "No such product the caller may see"),
        (status = 409, description = "`deposit_missing` or `invalid_transition` (not delisted by the provider)"),
    )
)]
pub async fn relist(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<ProductView>, Problem> {
    let id = product_id(&id)?;
    let loaded = load_product(&state, id)
        .await?
        .ok_or_else(|| no_product(id))?;
    let own = own_provider(&state, &principal).await?;
    check_provider_access(&principal, own, loaded.state.product.provider, id)?;
    crate::reactions::exit::require_may_publish_as(&state, own).await?;
    let standing = provider_standing(&state, loaded.state.product.provider).await?;
    let record = update_product(&state, &principal, id, Acting::Provider(own), |p, ctx| {
        p.relist(ctx, standing)
    })
    .await?;
    Ok(ApiJson(view(&state, &record).await?))
}

/// Drops an unsubmitted or rejected update of a live product; the live version stays.
#[utoipa::path(
    delete,
    path = "/api/v1/products/{id}/draft",
    tag = "products",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Product id")),
    responses(
        (status = 200, description = "The product with nothing pending", body = ProductView),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "Not the provider's staff"),
        (status = 404, description = "No such product the caller may see"),
        (status = 409, description = "`invalid_transition`: never listed, nothing pending, or under review"),
    )
)]
pub async fn discard_draft(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<ProductView>, Problem> {
    let id = product_id(&id)?;
    let own = own_provider(&state, &principal).await?;
    let record = update_product(&state, &principal, id, Acting::Provider(own), |p, ctx| {
        p.discard_pending(ctx)
    })
    .await?;
    Ok(ApiJson(view(&state, &record).await?))
}
