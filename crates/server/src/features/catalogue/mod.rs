//! Products, listing review with automatic checks, and catalogue search (SPEC §5; issue 3
//! item 4).
//!
//! - [`products`]: provider staff create and edit products, see the automatic checks, submit,
//!   withdraw, delist and relist; list their own.
//! - [`review`]: the listing reviewer's queue, approval (acknowledging each finding) and
//!   rejection with the rulebook's reasons.
//! - [`browse`]: the public catalogue — search over live products and one product's page.
//!
//! Storage: a product is the aggregate `product` ([`ProductRecord`]: the core's [`Product`]
//! plus its sales, filled when read), owner = provider id, status = the product's
//! [`ProductStatus`](yunshi_core::listing::ProductStatus) (`listed` is what search loads). The
//! review queue is the index aggregate `listing_review` (one per product, status `submitted`
//! while a version waits for a reviewer, else `closed`), written in the same batch as the
//! product. The provider's deposit standing is read from the `provider` aggregate (written by
//! onboarding): an active provider has paid its deposit in full; no aggregate = no deposit.
//! Ratings are read from orders' `product_rating` aggregate (the core's `ProductRating`),
//! sales from orders' `product_sales` aggregate (the core's `ProductSales`), and
//! the `store` aggregate's measures (frozen, blocked, hidden, closed) hide a store's products
//! from the catalogue and stop it publishing.

pub mod browse;
pub mod products;
pub mod review;
pub mod views;

use axum::Router;
use axum::routing::{get, post};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;
use yunshi_core::decision::{Context, Outcome};
use yunshi_core::ids::{ProductId, ProviderId, StoreId};
use yunshi_core::listing::{
    ListingError, OperatorDomains, Product, ProviderStanding, VersionStatus,
};
use yunshi_core::provider::Provider;
use yunshi_core::rulebook::MarketplaceRulebook;
use yunshi_core::storefront::{Store, Visibility};
use yunshi_store::WriteBatch;

use crate::kernel::auth::Principal;
use crate::kernel::context::rulebook_at;
use crate::kernel::deadlines::Handler;
use crate::kernel::pipeline::{add_outcome, aggregate_write};
use crate::kernel::problem::Problem;
pub(crate) use crate::kernel::problem::path_id;
use crate::kernel::repo::products::{ProductRecord, load_product, load_sales, product_write};
use crate::kernel::repo::providers::{PROVIDER, STORE, sees_provider};
use crate::kernel::state::AppState;

/// Aggregate kind of the review-queue index (one per product).
pub const LISTING_REVIEW: &str = "listing_review";

/// The operator's own domains per rulebook family: links and e-mail addresses on them are
/// not flagged as external by the automatic checks. **[design assumption]** The rulebooks
/// carry no such list; this constant is the deployment's (a configuration setting later).
pub const OPERATOR_DOMAINS: &[(&str, &[&str])] = &[
    (
        "ali",
        &[
            "aliyun.com",
            "alibabacloud.com",
            "aliyuncs.com",
            "alicdn.com",
        ],
    ),
    (
        "tc",
        &["cloud.tencent.com", "tencentcloud.com", "qcloud.com"],
    ),
    ("jd", &["jdcloud.com", "jdcloud-openapi.com"]),
];

/// The operator domains for the rulebook family in force.
pub fn operator_domains(rulebook: &MarketplaceRulebook) -> OperatorDomains {
    let family = rulebook.rulebook.family.as_str();
    OperatorDomains::new(
        OPERATOR_DOMAINS
            .iter()
            .filter(|(f, _)| *f == family)
            .flat_map(|(_, d)| d.iter().copied()),
    )
}

/// This module's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(
        products::create_product,
        products::list_products,
        products::get_product,
        products::edit_draft,
        products::discard_draft,
        products::checks,
        products::submit,
        products::withdraw,
        products::delist,
        products::relist,
        review::queue,
        review::approve,
        review::reject,
        browse::search_catalogue,
        browse::catalogue_product,
    ),
    components(schemas(
        views::NewProductRequest,
        views::DraftRequest,
        views::ProductView,
        views::ProductPage,
        views::ChecksView,
        views::ApproveRequest,
        views::AckRequest,
        views::RejectRequest,
        views::ReviewItem,
        views::ReviewPage,
        views::CatalogueItem,
        views::CataloguePageView,
        views::CatalogueProductView,
        views::ReviewView,
    )),
    tags(
        (name = "products", description = "Provider products, automatic checks, submission, shelf"),
        (name = "listing review", description = "The listing reviewer's queue and decisions"),
        (name = "catalogue", description = "The public catalogue: search and product pages"),
    )
)]
pub struct ApiDoc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/products",
            post(products::create_product).get(products::list_products),
        )
        .route("/api/v1/products/{id}", get(products::get_product))
        .route(
            "/api/v1/products/{id}/draft",
            axum::routing::put(products::edit_draft).delete(products::discard_draft),
        )
        .route("/api/v1/products/{id}/checks", get(products::checks))
        .route("/api/v1/products/{id}/submit", post(products::submit))
        .route("/api/v1/products/{id}/withdraw", post(products::withdraw))
        .route("/api/v1/products/{id}/delist", post(products::delist))
        .route("/api/v1/products/{id}/relist", post(products::relist))
        .route("/api/v1/review/listings", get(review::queue))
        .route(
            "/api/v1/review/listings/{id}/approve",
            post(review::approve),
        )
        .route("/api/v1/review/listings/{id}/reject", post(review::reject))
        .route("/api/v1/catalogue", get(browse::search_catalogue))
        .route("/api/v1/catalogue/{id}", get(browse::catalogue_product))
}

/// The deadline kinds this module fires, and how.
pub const DEADLINES: &[(&str, Handler)] = &[];

/// The review-queue index of a product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewIndex {
    pub product: ProductId,
    pub provider: ProviderId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<Timestamp>,
}

/// The product as its provider sees it, with its ratings.
pub(crate) async fn view(
    state: &AppState,
    record: &ProductRecord,
) -> Result<views::ProductView, Problem> {
    let rating =
        crate::kernel::repo::products::load_product_rating(&state.store, record.product.id).await?;
    let record = ProductRecord {
        sales: load_sales(state, record.product.id).await?,
        ..record.clone()
    };
    Ok(views::ProductView::of(&record, rating))
}

pub(crate) fn no_product(id: impl std::fmt::Display) -> Problem {
    Problem::not_found(format!("no product {id}"))
}

pub(crate) fn refused(e: ListingError) -> Problem {
    Problem::refusal(&e)
}

/// Whether the provider's deposit is fully paid (ALI-A 4.5.1): the provider aggregate is
/// active — admission happens when the deposit is fully paid. No provider aggregate (or one
/// not active) counts as no deposit.
pub async fn provider_standing(
    state: &AppState,
    provider: ProviderId,
) -> Result<ProviderStanding, Problem> {
    let Some(row) = state.store.aggregate(PROVIDER, provider.uuid()).await? else {
        return Ok(ProviderStanding {
            deposit_fully_paid: false,
        });
    };
    let active = row.status == "active"
        || serde_json::from_value::<Provider>(row.state).is_ok_and(|p| p.is_active());
    Ok(ProviderStanding {
        deposit_fully_paid: active,
    })
}

/// The store `id` as stored by onboarding, if there is one and it reads as a store.
pub async fn load_store(
    state: &AppState,
    id: StoreId,
) -> Result<Option<yunshi_store::StoredAggregate>, Problem> {
    Ok(state.store.aggregate(STORE, id.uuid()).await?)
}

/// What the store's measures allow at `now` (SPEC §4): a store that does not read as one
/// restricts nothing (onboarding owns its shape).
pub fn store_visibility(row: &yunshi_store::StoredAggregate, now: Timestamp) -> Visibility {
    match serde_json::from_value::<Store>(row.state.clone()) {
        Ok(store) => store.visibility(now),
        Err(e) => {
            tracing::warn!(store = %row.id, error = %e, "stored store does not read back");
            Visibility {
                store_shown: true,
                products_shown: true,
                may_publish: true,
            }
        }
    }
}

/// Refuses with 409 `store_restricted` when the store's measures forbid publishing (closed,
/// closed for deposit, hidden, blocked).
pub async fn require_may_publish(
    state: &AppState,
    store: StoreId,
    now: Timestamp,
) -> Result<(), Problem> {
    if let Some(row) = load_store(state, store).await?
        && !store_visibility(&row, now).may_publish
    {
        return Err(Problem::coded(
            crate::kernel::problem::ErrorCode::Conflict,
            axum::http::StatusCode::CONFLICT,
            "store_restricted",
            format!(
                "the store {store} is {} and may not publish products",
                row.status
            ),
        ));
    }
    Ok(())
}

/// Who is changing a product.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Acting {
    /// Whoever acts for the provider (given: the provider the caller acts for): another
    /// tenant's product is 404, operator staff are 403.
    Provider(Option<ProviderId>),
    /// A listing reviewer (capability checked by the caller).
    Reviewer,
}

/// Tenancy for a provider's product: 404 unless the caller may see it, 403 unless it acts
/// for the provider.
pub(crate) fn check_provider_access(
    principal: &Principal,
    own: Option<ProviderId>,
    provider: ProviderId,
    id: ProductId,
) -> Result<(), Problem> {
    if !sees_provider(principal, own, provider) {
        return Err(no_product(id));
    }
    if own != Some(provider) {
        return Err(Problem::forbidden(
            "only the provider's own staff change its products",
        ));
    }
    Ok(())
}

/// Adds the review-queue index write to `batch` if the product's pending version entered or
/// left review.
pub(crate) async fn index_write(
    state: &AppState,
    batch: &mut WriteBatch,
    product: &Product,
    at: Timestamp,
) -> Result<(), Problem> {
    let submitted_at = match &product.pending {
        Some(v) => match &v.status {
            VersionStatus::Submitted { submission } => Some(submission.at),
            _ => None,
        },
        None => None,
    };
    let status = if submitted_at.is_some() {
        "submitted"
    } else {
        "closed"
    };
    let existing = state
        .store
        .aggregate(LISTING_REVIEW, product.id.uuid())
        .await?;
    let expected = match &existing {
        None if submitted_at.is_none() => return Ok(()),
        None => None,
        Some(row) if row.status == status && status == "closed" => return Ok(()),
        Some(row) => Some(row.version),
    };
    let index = ReviewIndex {
        product: product.id,
        provider: product.provider,
        submitted_at,
    };
    batch.aggregates.push(aggregate_write(
        LISTING_REVIEW,
        product.id.uuid(),
        expected,
        product.provider.to_string(),
        status,
        &index,
        at,
    )?);
    Ok(())
}

/// Loads the product, checks who may change it, lets the core decide with the rulebook in
/// force, and commits the product (and its review index) conditional on the loaded version;
/// a lost race decides again.
pub(crate) async fn update_product<F>(
    state: &AppState,
    principal: &Principal,
    id: ProductId,
    acting: Acting,
    decide: F,
) -> Result<ProductRecord, Problem>
where
    F: Fn(&Product, &mut Context<'_>) -> Result<(Product, Outcome), ListingError>,
{
    crate::kernel::pipeline::run(&state.store, || async {
        let loaded = load_product(state, id)
            .await?
            .ok_or_else(|| no_product(id))?;
        if let Acting::Provider(own) = acting {
            check_provider_access(principal, own, loaded.state.product.provider, id)?;
        }
        let now = state.clock.now();
        let rulebook = rulebook_at(state, now)?;
        let (next, outcome) = crate::kernel::context::with_ctx(state, now, rulebook, |ctx| {
            decide(&loaded.state.product, ctx)
        })
        .map_err(refused)?;
        let record = ProductRecord {
            product: next,
            ..loaded.state.clone()
        };
        let mut batch = WriteBatch {
            aggregates: vec![product_write(&record, Some(loaded.version), now)?],
            ..WriteBatch::default()
        };
        index_write(state, &mut batch, &record.product, now).await?;
        add_outcome(&mut batch, outcome, now);
        Ok((batch, record))
    })
    .await
}
