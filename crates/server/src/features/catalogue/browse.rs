//! The public catalogue (no login): search over live products with the core's reference
//! semantics, and one live product's page.

use std::collections::{HashMap, HashSet};

use axum::extract::{Path, Query, State};
use jiff::Timestamp;
use uuid::Uuid;
use yunshi_core::catalog::ProductCategory;
use yunshi_core::ids::{ProductId, ProviderId};
use yunshi_core::listing::{CatalogueQuery, SearchError, SortBy, search};
use yunshi_core::money::Fen;
use yunshi_core::order::{ProductRating, ProductReviews, ProductSales};

use crate::kernel::repo::products::PRODUCT_REVIEWS;
use yunshi_store::AggregateQuery;

use super::views::{
    CatalogueItem, CataloguePageView, CatalogueParams, CatalogueProductView, ReviewView,
};
use super::{load_store, no_product, path_id, store_visibility};
use crate::kernel::problem::{ApiJson, Problem};
use crate::kernel::repo::products::PRODUCT;
use crate::kernel::repo::products::PRODUCT_RATING;
use crate::kernel::repo::products::PRODUCT_SALES;
use crate::kernel::repo::products::ProductRecord;
use crate::kernel::repo::products::load_product;
use crate::kernel::repo::products::load_sales;
use crate::kernel::repo::providers::STORE;
use crate::kernel::state::AppState;

/// Rows read per store round trip while loading the live catalogue.
const LOAD_BATCH: u32 = 500;

fn invalid(message: impl Into<String>) -> Problem {
    Problem::refusal(&SearchError::InvalidQuery(message.into()))
}

fn parse_enum<T: serde::de::DeserializeOwned>(what: &str, raw: &str) -> Result<T, Problem> {
    serde_json::from_value(serde_json::Value::String(raw.trim().to_owned()))
        .map_err(|_| invalid(format!("{what}={raw:?} is not one of the allowed values")))
}

fn parse_u32(what: &str, raw: &str) -> Result<u32, Problem> {
    raw.trim()
        .parse()
        .map_err(|_| invalid(format!("{what}={raw:?} is not a positive whole number")))
}

fn parse_price(what: &str, raw: &str) -> Result<Fen, Problem> {
    raw.parse()
        .map_err(|_| invalid(format!("{what}={raw:?} is not a CNY amount like 1000.00")))
}

fn query_of(p: CatalogueParams) -> Result<CatalogueQuery, Problem> {
    let mut q = CatalogueQuery::default();
    let present = |s: &Option<String>| {
        s.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    if let Some(text) = p.q {
        q.text = text;
    }
    if let Some(c) = present(&p.category) {
        q.category = Some(parse_enum::<ProductCategory>("category", &c)?);
    }
    if let Some(m) = present(&p.min_price) {
        q.min_price = Some(parse_price("min_price", &m)?);
    }
    if let Some(m) = present(&p.max_price) {
        q.max_price = Some(parse_price("max_price", &m)?);
    }
    if let Some(pr) = present(&p.provider) {
        q.provider = Some(ProviderId(
            uuid::Uuid::parse_str(&pr).map_err(|_| invalid("provider is not a provider id"))?,
        ));
    }
    if let Some(s) = present(&p.sort) {
        q.sort = parse_enum::<SortBy>("sort", &s)?;
    }
    if let Some(page) = present(&p.page) {
        q.page = parse_u32("page", &page)?;
    }
    if let Some(size) = present(&p.page_size) {
        q.page_size = parse_u32("page_size", &size)?;
    }
    q.validate().map_err(|e| Problem::refusal(&e))?;
    Ok(q)
}

/// Every product whose status is `listed`, read from the store in batches.
async fn listed_products(state: &AppState) -> Result<Vec<ProductRecord>, Problem> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let rows = state
            .store
            .aggregates(&AggregateQuery {
                kind: PRODUCT.into(),
                owner: None,
                status: Some("listed".into()),
                after,
                limit: LOAD_BATCH,
            })
            .await?;
        let done = rows.len() < LOAD_BATCH as usize;
        for row in rows {
            after = Some(row.id);
            let record: ProductRecord = serde_json::from_value(row.state).map_err(|e| {
                Problem::internal(format!("stored product {} does not read back: {e}", row.id))
            })?;
            out.push(record);
        }
        if done {
            return Ok(out);
        }
    }
}

/// The stores whose measures hide their products at `now` (frozen, blocked, hidden,
/// closed), read from the store in batches.
async fn hidden_stores(state: &AppState, now: Timestamp) -> Result<HashSet<Uuid>, Problem> {
    let mut out = HashSet::new();
    let mut after = None;
    loop {
        let rows = state
            .store
            .aggregates(&AggregateQuery {
                kind: STORE.into(),
                owner: None,
                status: None,
                after,
                limit: LOAD_BATCH,
            })
            .await?;
        let done = rows.len() < LOAD_BATCH as usize;
        for row in rows {
            after = Some(row.id);
            if !store_visibility(&row, now).products_shown {
                out.insert(row.id);
            }
        }
        if done {
            return Ok(out);
        }
    }
}

/// Every aggregate of `kind` read as `T`, by id, in batches (one that does not read back is
/// logged and left out).
async fn all_of<T: serde::de::DeserializeOwned>(
    state: &AppState,
    kind: &str,
) -> Result<HashMap<Uuid, T>, Problem> {
    let mut out = HashMap::new();
    let mut after = None;
    loop {
        let rows = state
            .store
            .aggregates(&AggregateQuery {
                kind: kind.into(),
                owner: None,
                status: None,
                after,
                limit: LOAD_BATCH,
            })
            .await?;
        let done = rows.len() < LOAD_BATCH as usize;
        for row in rows {
            after = Some(row.id);
            match serde_json::from_value::<T>(row.state) {
                Ok(r) => {
                    out.insert(row.id, r);
                }
                Err(e) => {
                    tracing::warn!(id = %row.id, kind, error = %e, "stored aggregate does not read back")
                }
            }
        }
        if done {
            return Ok(out);
        }
    }
}

/// Every product's ratings (orders' `product_rating` aggregates), by product id.
async fn all_ratings(state: &AppState) -> Result<HashMap<Uuid, ProductRating>, Problem> {
    all_of(state, PRODUCT_RATING).await
}

/// Every product's sales (orders' `product_sales` aggregates), by product id.
async fn all_sales(state: &AppState) -> Result<HashMap<Uuid, ProductSales>, Problem> {
    all_of(state, PRODUCT_SALES).await
}

/// Searches the live catalogue: every word of `q` must appear in the title or the
/// description (case- and width-folded substrings, so Chinese needs no tokenizer); filters by
/// category, price range and provider; sorts by relevance (words in the title, then sales),
/// sales, rating (unrated last) or price; ties by product id. Sales and ratings are what
/// orders have reported on the product (zero until then). Products of a store whose measures
/// hide them (frozen, blocked, hidden, closed) are left out.
#[utoipa::path(
    get,
    path = "/api/v1/catalogue",
    tag = "catalogue",
    params(CatalogueParams),
    responses(
        (status = 200, description = "One page of matches", body = CataloguePageView),
        (status = 400, description = "An unknown query parameter"),
        (status = 422, description = "`invalid_query`: a bad category, price, provider, sort, page or page size"),
    )
)]
pub async fn search_catalogue(
    State(state): State<AppState>,
    Query(params): Query<CatalogueParams>,
) -> Result<ApiJson<CataloguePageView>, Problem> {
    let query = query_of(params)?;
    let hidden = hidden_stores(&state, state.clock.now()).await?;
    let mut records = listed_products(&state).await?;
    records.retain(|r| !hidden.contains(&r.product.store.uuid()));
    let ratings = all_ratings(&state).await?;
    let sales = all_sales(&state).await?;
    for r in &mut records {
        r.sales = sales
            .get(&r.product.id.uuid())
            .map_or(0, ProductSales::count);
    }
    let by_id: HashMap<ProductId, &ProductRecord> =
        records.iter().map(|r| (r.product.id, r)).collect();
    let entries = records.iter().filter_map(|r| {
        let rating = ratings.get(&r.product.id.uuid()).and_then(|x| x.average());
        r.product.catalogue_entry(r.sales, rating)
    });
    let page = search(entries, &query).map_err(|e| Problem::refusal(&e))?;
    let items = page
        .items
        .into_iter()
        .filter_map(|e| {
            let r = by_id.get(&e.product)?;
            let live = r.product.live.as_ref()?;
            Some(CatalogueItem {
                product: e.product,
                title: e.title,
                description: e.description,
                category: e.category,
                pricing: live.terms.pricing,
                price: e.price,
                provider: e.provider,
                store: r.product.store,
                sales: e.sales,
                rating: e.rating,
            })
        })
        .collect();
    Ok(ApiJson(CataloguePageView {
        items,
        total: page.total,
        page: page.page,
        page_size: page.page_size,
    }))
}

/// A live product's page: its approved version (never a pending update), price, refund
/// terms, provider, sales and rating. Products not on sale are 404.
#[utoipa::path(
    get,
    path = "/api/v1/catalogue/{id}",
    tag = "catalogue",
    params(("id" = String, Path, description = "Product id")),
    responses(
        (status = 200, description = "The product page", body = CatalogueProductView),
        (status = 404, description = "No such product on sale"),
    )
)]
pub async fn catalogue_product(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<ApiJson<CatalogueProductView>, Problem> {
    let id = ProductId(path_id(&id, "product")?);
    let loaded = load_product(&state, id)
        .await?
        .ok_or_else(|| no_product(id))?;
    let r = loaded.state;
    let p = &r.product;
    let live = p
        .live
        .as_ref()
        .filter(|_| p.is_on_sale())
        .ok_or_else(|| no_product(id))?;
    if let Some(row) = load_store(&state, p.store).await?
        && !store_visibility(&row, state.clock.now()).products_shown
    {
        return Err(no_product(id));
    }
    let rating = crate::kernel::repo::products::load_product_rating(&state.store, id).await?;
    let reviews =
        crate::kernel::pipeline::load::<ProductReviews>(&state.store, PRODUCT_REVIEWS, id.uuid())
            .await?
            .map(|r| r.state.recent)
            .unwrap_or_default()
            .into_iter()
            .map(|r| ReviewView {
                score: r.score,
                text: r.text,
                at: r.at,
            })
            .collect();
    let sales = load_sales(&state, id).await?;
    Ok(ApiJson(CatalogueProductView {
        product: p.id,
        version: live.number,
        category: p.category,
        sales_mode: p.sales_mode,
        pricing: live.terms.pricing,
        price: live.terms.price,
        refund_policy: live.terms.refund_policy,
        refund_class: live.submission().map(|s| s.refund_class),
        content: live.content.clone(),
        provider: p.provider,
        store: p.store,
        status: p.status().as_str().to_owned(),
        sales,
        rating: rating.average(),
        rating_count: rating.count,
        reviews,
    }))
}
