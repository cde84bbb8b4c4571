//! What the product, review and catalogue endpoints accept and answer. Requests reject
//! unknown members; money travels as decimal strings ("1000.00").

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use yunshi_core::catalog::{DeclaredRefundPolicy, Pricing, ProductCategory, SalesMode};
use yunshi_core::ids::{ListingVersionId, ProductId, ProviderId, StoreId};
use yunshi_core::listing::{
    Finding, ListingContent, ListingTerms, ListingVersion, OperatorHold, RefundClass,
};
use yunshi_core::money::Fen;
use yunshi_core::order::ProductRating;
use yunshi_core::rulebook::{ListingField, ProhibitedContent, Score};

use crate::kernel::repo::products::ProductRecord;

/// A new product with its first draft (provider staff).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "store": "0193c0de-0000-7000-8000-000000000002",
    "category": "image",
    "sales_mode": "self_sold",
    "pricing": "one_off",
    "price": "1000.00",
    "refund_policy": "no_refund",
    "content": {
        "title": "云数据备份工具 Backup Pro",
        "images": ["upload:cover"],
        "attributes": [{"name": "部署方式", "value": "镜像部署"}],
        "description": "定时备份云服务器上的数据库与文件，支持增量备份与一键恢复。",
        "terms": "购买即表示同意本产品服务协议。",
        "delisting_strategy": "下架后已购用户可继续使用至服务期满，数据可随时导出。",
        "open_source": [{"name": "restic", "licence": "BSD-2-Clause"}],
        "own_product_page": "https://www.example-isv.cn/backup-pro",
        "refund_terms": "担保期外不予退款。"
    }
}))]
pub struct NewProductRequest {
    /// One of the provider's stores.
    #[schema(value_type = String)]
    pub store: StoreId,
    /// `application`, `image`, `service`, `api`, `tool` or `saas`.
    #[schema(value_type = String, example = "image")]
    pub category: ProductCategory,
    /// `self_sold` or `consignment`.
    #[schema(value_type = String, example = "self_sold")]
    pub sales_mode: SalesMode,
    /// `free`, `one_off`, `monthly` or `yearly`.
    #[schema(value_type = String, example = "one_off")]
    pub pricing: Pricing,
    /// CNY as a decimal string; "0.00" when free, at most "100000000.00".
    #[schema(value_type = crate::kernel::amount::Money, example = "1000.00")]
    pub price: Fen,
    /// Refunds outside the guarantee window: `no_refund` or `pro_rata_unused_time`.
    #[schema(value_type = String, example = "no_refund")]
    pub refund_policy: DeclaredRefundPolicy,
    /// The listing: title, images, attributes, description, terms, delisting strategy,
    /// open-source components, own product page, refund terms.
    #[schema(value_type = Object)]
    pub content: ListingContent,
}

/// The whole draft: terms and content (replaces the pending version's).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "pricing": "one_off",
    "price": "1000.00",
    "refund_policy": "no_refund",
    "content": {
        "title": "云数据备份工具 Backup Pro",
        "images": ["upload:cover"],
        "attributes": [{"name": "部署方式", "value": "镜像部署"}],
        "description": "稳定可靠的备份方案，支持增量备份与一键恢复。",
        "terms": "购买即表示同意本产品服务协议。",
        "delisting_strategy": "下架后已购用户可继续使用至服务期满。",
        "open_source": [],
        "own_product_page": "https://www.example-isv.cn/backup-pro",
        "refund_terms": "担保期外不予退款。"
    }
}))]
pub struct DraftRequest {
    #[schema(value_type = String, example = "one_off")]
    pub pricing: Pricing,
    #[schema(value_type = crate::kernel::amount::Money, example = "1000.00")]
    pub price: Fen,
    #[schema(value_type = String, example = "no_refund")]
    pub refund_policy: DeclaredRefundPolicy,
    #[schema(value_type = Object)]
    pub content: ListingContent,
}

impl DraftRequest {
    pub fn terms(&self) -> ListingTerms {
        ListingTerms {
            pricing: self.pricing,
            price: self.price,
            refund_policy: self.refund_policy,
        }
    }
}

/// A product as its provider (and operator staff) see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193c0de-0000-7000-8000-0000000000a1",
    "provider": "0193c0de-0000-7000-8000-000000000001",
    "store": "0193c0de-0000-7000-8000-000000000002",
    "category": "image",
    "sales_mode": "self_sold",
    "status": "unlisted",
    "created_at": "2026-04-01T02:00:00Z",
    "live": null,
    "pending": {
        "id": "0193c0de-0000-7000-8000-0000000000b1", "number": 1, "status": "draft",
        "terms": {"pricing": "one_off", "price": "1000.00", "refund_policy": "no_refund"},
        "content": {"title": "云数据备份工具 Backup Pro", "description": "…"},
        "edited_at": "2026-04-01T02:00:00Z"
    },
    "delisted_by_provider": false,
    "holds": [],
    "sales": 0,
    "rating": null,
    "rating_count": 0
}))]
pub struct ProductView {
    #[schema(value_type = String)]
    pub id: ProductId,
    #[schema(value_type = String)]
    pub provider: ProviderId,
    #[schema(value_type = String)]
    pub store: StoreId,
    #[schema(value_type = String)]
    pub category: ProductCategory,
    #[schema(value_type = String)]
    pub sales_mode: SalesMode,
    /// `unlisted`, `listed`, `hidden_from_search`, `hidden`, `delisted_by_provider`,
    /// `delisted_by_operator`.
    pub status: String,
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    /// The approved version buyers see.
    #[schema(value_type = Option<Object>)]
    pub live: Option<ListingVersion>,
    /// The version being edited, under review, or rejected (with the findings and reasons).
    #[schema(value_type = Option<Object>)]
    pub pending: Option<ListingVersion>,
    pub delisted_by_provider: bool,
    #[schema(value_type = Vec<Object>)]
    pub holds: Vec<OperatorHold>,
    /// Paid orders (0 until orders report them).
    pub sales: u64,
    /// Average rating, e.g. "4.5"; null while unrated.
    #[schema(value_type = Option<String>)]
    pub rating: Option<Score>,
    pub rating_count: u64,
}

impl ProductView {
    pub fn of(r: &ProductRecord, rating: ProductRating) -> Self {
        let p = &r.product;
        ProductView {
            id: p.id,
            provider: p.provider,
            store: p.store,
            category: p.category,
            sales_mode: p.sales_mode,
            status: p.status().as_str().to_owned(),
            created_at: p.created_at,
            live: p.live.clone(),
            pending: p.pending.clone(),
            delisted_by_provider: p.delisted_by_provider,
            holds: p.holds.clone(),
            sales: r.sales,
            rating: rating.average(),
            rating_count: rating.count,
        }
    }
}

/// One page of products, oldest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProductPage {
    pub items: Vec<ProductView>,
    /// Pass as `after` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// `limit`/`after` keyset pagination.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub after: Option<String>,
}

/// The automatic checks over the product's pending version (or its live one when nothing is
/// pending), as they would run on submit now.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "version": "0193c0de-0000-7000-8000-0000000000b1",
    "number": 1,
    "rulebook": "ali-2020",
    "findings": [{
        "id": 1, "kind": "absolute_claim",
        "path": {"field": "description"},
        "matched": "最优", "start": 0, "end": 2, "severity": "warning", "term": "最优",
        "message": {"zh_cn": "描述中含有绝对化用语“最优”", "en": "absolute claim \"最优\" in the description"}
    }],
    "missing_fields": [],
    "deposit_fully_paid": true
}))]
pub struct ChecksView {
    #[schema(value_type = String)]
    pub version: ListingVersionId,
    pub number: u32,
    /// The rulebook the checks ran under.
    pub rulebook: String,
    /// Each finding: kind, field path, matched text with char offsets, severity and a
    /// message in Chinese and English.
    #[schema(value_type = Vec<Object>)]
    pub findings: Vec<Finding>,
    /// Required fields still empty (submission is refused until they are filled).
    #[schema(value_type = Vec<String>)]
    pub missing_fields: Vec<ListingField>,
    /// Whether the provider's deposit is fully paid (paid products need it).
    pub deposit_fully_paid: bool,
}

/// The reviewer's approval: every finding of the submission acknowledged by id.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"acknowledged": [{"finding": 1, "note": "说明性用语，非绝对化宣传"}]}))]
pub struct ApproveRequest {
    #[serde(default)]
    pub acknowledged: Vec<AckRequest>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AckRequest {
    pub finding: u32,
    #[serde(default)]
    pub note: Option<String>,
}

/// The reviewer's rejection: reasons from the rulebook's prohibited-content list, cited
/// findings, and/or a note (at least one).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reasons": ["infringement"], "findings": [1], "note": "请删除“最优”等绝对化用语"}))]
pub struct RejectRequest {
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub reasons: Vec<ProhibitedContent>,
    #[serde(default)]
    pub findings: Vec<u32>,
    #[serde(default)]
    pub note: Option<String>,
}

/// A version waiting for review.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewItem {
    #[schema(value_type = String)]
    pub product: ProductId,
    #[schema(value_type = String)]
    pub provider: ProviderId,
    #[schema(value_type = String)]
    pub category: ProductCategory,
    /// The product's status now (an update of a `listed` product keeps its live version).
    pub status: String,
    /// Whether this is an update of a live product.
    pub update_of_live: bool,
    /// The submitted version, its findings under `findings`.
    #[schema(value_type = Object)]
    pub version: ListingVersion,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"items": [], "next_cursor": null}))]
pub struct ReviewPage {
    pub items: Vec<ReviewItem>,
    pub next_cursor: Option<String>,
}

/// The catalogue query. Prices are decimal strings.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CatalogueParams {
    /// Words that must each appear in the title or the description (Chinese substrings work).
    pub q: Option<String>,
    /// `application`, `image`, `service`, `api`, `tool`, `saas`.
    pub category: Option<String>,
    /// Lowest price, e.g. "100.00".
    pub min_price: Option<String>,
    /// Highest price, e.g. "5000".
    pub max_price: Option<String>,
    /// Provider id.
    pub provider: Option<String>,
    /// `relevance` (default), `sales`, `rating`, `price_asc`, `price_desc`.
    pub sort: Option<String>,
    /// 1-based page (default 1, at most 1000).
    pub page: Option<String>,
    /// 1–100 (default 20).
    pub page_size: Option<String>,
}

/// A live product in search results.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CatalogueItem {
    #[schema(value_type = String)]
    pub product: ProductId,
    pub title: String,
    pub description: String,
    #[schema(value_type = String)]
    pub category: ProductCategory,
    #[schema(value_type = String)]
    pub pricing: Pricing,
    #[schema(value_type = crate::kernel::amount::Money, example = "1000.00")]
    pub price: Fen,
    #[schema(value_type = String)]
    pub provider: ProviderId,
    #[schema(value_type = String)]
    pub store: StoreId,
    pub sales: u64,
    #[schema(value_type = Option<String>)]
    pub rating: Option<Score>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "items": [{
        "product": "0193c0de-0000-7000-8000-0000000000a1",
        "title": "云数据备份工具 Backup Pro",
        "description": "定时备份云服务器上的数据库与文件。",
        "category": "image", "pricing": "one_off", "price": "1000.00",
        "provider": "0193c0de-0000-7000-8000-000000000001",
        "store": "0193c0de-0000-7000-8000-000000000002",
        "sales": 0, "rating": null
    }],
    "total": 1, "page": 1, "page_size": 20
}))]
pub struct CataloguePageView {
    pub items: Vec<CatalogueItem>,
    /// Matches over all pages.
    pub total: usize,
    pub page: u32,
    pub page_size: u32,
}

/// A product's page: the live version, its price and refund terms, the provider, sales and
/// rating.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "product": "0193c0de-0000-7000-8000-0000000000a1",
    "version": 1,
    "category": "image", "sales_mode": "self_sold",
    "pricing": "one_off", "price": "1000.00", "refund_policy": "no_refund",
    "refund_class": {"window": {"days_from_purchase": 5}, "refundable": true},
    "content": {"title": "云数据备份工具 Backup Pro", "description": "…", "refund_terms": "担保期外不予退款。"},
    "provider": "0193c0de-0000-7000-8000-000000000001",
    "store": "0193c0de-0000-7000-8000-000000000002",
    "status": "listed", "sales": 0, "rating": null, "rating_count": 0
}))]
pub struct CatalogueProductView {
    #[schema(value_type = String)]
    pub product: ProductId,
    /// The live version's number.
    pub version: u32,
    #[schema(value_type = String)]
    pub category: ProductCategory,
    #[schema(value_type = String)]
    pub sales_mode: SalesMode,
    #[schema(value_type = String)]
    pub pricing: Pricing,
    #[schema(value_type = crate::kernel::amount::Money, example = "1000.00")]
    pub price: Fen,
    /// Refunds outside the guarantee window.
    #[schema(value_type = String)]
    pub refund_policy: DeclaredRefundPolicy,
    /// The guarantee window and whether the category is refundable, as approved.
    #[schema(value_type = Option<Object>)]
    pub refund_class: Option<RefundClass>,
    #[schema(value_type = Object)]
    pub content: ListingContent,
    #[schema(value_type = String)]
    pub provider: ProviderId,
    #[schema(value_type = String)]
    pub store: StoreId,
    pub status: String,
    pub sales: u64,
    #[schema(value_type = Option<String>)]
    pub rating: Option<Score>,
    pub rating_count: u64,
    /// The latest reviews with text, newest first (at most ten; the buyer is not named).
    pub reviews: Vec<ReviewView>,
}

/// A buyer's review on a product's page.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewView {
    #[schema(value_type = String, example = "5.00")]
    pub score: yunshi_core::rulebook::Score,
    pub text: String,
    #[schema(value_type = String, format = DateTime)]
    pub at: jiff::Timestamp,
}
