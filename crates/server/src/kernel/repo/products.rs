//! Products (aggregate `product`, owned by the provider) and what orders keep beside them:
//! the sales count, the rating accumulator and the buyers' reviews, each keyed by product id.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use yunshi_core::ids::ProductId;
use yunshi_core::listing::Product;
use yunshi_core::order::{ProductRating, ProductSales};
use yunshi_store::Store;

use crate::kernel::pipeline::{Loaded, aggregate_write, load};
use crate::kernel::problem::Problem;
use crate::kernel::state::AppState;

/// Aggregate kind of products.
pub const PRODUCT: &str = "product";

/// Aggregate kind of a product's rating accumulator, keyed by the product id.
pub const PRODUCT_RATING: &str = "product_rating";

/// Aggregate kind of a product's sales count (the core's [`ProductSales`]), keyed by the
/// product id, written by the [`order::SALE_COUNT`] deadlines.
pub const PRODUCT_SALES: &str = "product_sales";

/// Aggregate kind of a product's latest reviews (the core's [`ProductReviews`]), keyed by
/// the product id, written with the rating.
pub const PRODUCT_REVIEWS: &str = "product_reviews";

/// A product as stored: the core's product, and beside it (filled when read) its sales.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductRecord {
    pub product: Product,
    /// Sales: the product's orders that were paid and not refunded in full — a paid order
    /// counts once (a pay-later order once paid, a renewal like any order, a free order
    /// never), and stops counting when everything paid went back; a refund never counts
    /// twice. See `yunshi_core::order::sale_change`.
    ///
    /// **Not stored here**: counting in the product aggregate would make every payment of a
    /// popular product contend on one row. Orders keep the count in their own aggregate
    /// [`PRODUCT_SALES`] (the core's `ProductSales`, keyed by product id), applied by a
    /// deadline each paid or fully refunded order schedules in its own batch and the deadline
    /// runner fires at once — so the count follows payments by one runner round. Readers
    /// fill this field from it ([`load_sales`]); on a record just loaded it is 0.
    #[serde(default, skip_serializing)]
    pub sales: u64,
}

/// The product `id`, if stored.
pub async fn load_product(
    state: &AppState,
    id: ProductId,
) -> Result<Option<Loaded<ProductRecord>>, Problem> {
    load(&state.store, PRODUCT, id.uuid()).await
}

/// The aggregate write of a product record (owner: the provider; status: what buyers see).
pub fn product_write(
    record: &ProductRecord,
    expected: Option<i64>,
    at: Timestamp,
) -> Result<yunshi_store::AggregateWrite, Problem> {
    aggregate_write(
        PRODUCT,
        record.product.id.uuid(),
        expected,
        record.product.provider.to_string(),
        record.product.status().as_str(),
        record,
        at,
    )
}

/// The product's sales (0 before its first paid order).
pub async fn load_sales(state: &AppState, id: ProductId) -> Result<u64, Problem> {
    Ok(load_product_sales(&state.store, id).await?.count())
}

/// The sales count of `product` (zero before its first paid order), for the catalogue.
pub async fn load_product_sales(
    store: &Store,
    product: ProductId,
) -> Result<ProductSales, Problem> {
    Ok(
        crate::kernel::pipeline::load::<ProductSales>(store, PRODUCT_SALES, product.0)
            .await?
            .map(|l| l.state)
            .unwrap_or_default(),
    )
}

/// The rating accumulator of `product` (zero if never rated), for the catalogue.
pub async fn load_product_rating(
    store: &Store,
    product: ProductId,
) -> Result<ProductRating, Problem> {
    Ok(
        crate::kernel::pipeline::load::<ProductRating>(store, PRODUCT_RATING, product.0)
            .await?
            .map(|l| l.state)
            .unwrap_or_default(),
    )
}
