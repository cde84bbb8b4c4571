//! Catalogue search: the reference semantics the database-backed search must agree with
//! (issue 3 item 4: full text over title and description, Chinese included; filters by
//! category, price, provider; sort by sales, rating, price).
//!
//! - Text: the query is folded ([`fold`]: case, full/half width) and split on whitespace into
//!   terms; every term must be a substring of the folded title or the folded description.
//!   Plain substrings need no Chinese tokenizer: "备份" finds "云数据备份工具".
//! - Filters: category equal, `min_price <= price <= max_price`, provider equal.
//! - Order, ties always broken by product id ascending:
//!   relevance = terms found in the title (desc), then sales (desc);
//!   sales (desc); rating (desc, unrated last); price (asc or desc).
//! - Pages are 1-based; `total` counts every match.

use serde::{Deserialize, Serialize};

use super::text::fold;
use crate::catalog::ProductCategory;
use crate::decision::{DomainRefusal, RefusalClass};
use crate::ids::{ProductId, ProviderId};
use crate::money::Fen;
use crate::rulebook::Score;

/// Limits of a query. **[design assumption]**: no rulebook sets them.
pub mod limits {
    pub const DEFAULT_PAGE_SIZE: u32 = 20;
    pub const MAX_PAGE_SIZE: u32 = 100;
    /// Deep paging is refused: narrow the query instead.
    pub const MAX_PAGE: u32 = 1_000;
    pub const MAX_QUERY_CHARS: usize = 100;
    pub const MAX_TERMS: usize = 10;
}

/// What search needs of a live product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogueEntry {
    pub product: ProductId,
    pub title: String,
    pub description: String,
    pub category: ProductCategory,
    pub price: Fen,
    pub provider: ProviderId,
    pub sales: u64,
    /// Mean of the product's ratings; `None` while it has none.
    pub rating: Option<Score>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortBy {
    #[default]
    Relevance,
    Sales,
    Rating,
    PriceAsc,
    PriceDesc,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CatalogueQuery {
    pub text: String,
    pub category: Option<ProductCategory>,
    pub min_price: Option<Fen>,
    pub max_price: Option<Fen>,
    pub provider: Option<ProviderId>,
    pub sort: SortBy,
    pub page: u32,
    pub page_size: u32,
}

impl Default for CatalogueQuery {
    fn default() -> Self {
        CatalogueQuery {
            text: String::new(),
            category: None,
            min_price: None,
            max_price: None,
            provider: None,
            sort: SortBy::Relevance,
            page: 1,
            page_size: limits::DEFAULT_PAGE_SIZE,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CataloguePage {
    pub items: Vec<CatalogueEntry>,
    /// Matches over all pages.
    pub total: usize,
    pub page: u32,
    pub page_size: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchError {
    #[error("invalid catalogue query: {0}")]
    InvalidQuery(String),
}

impl DomainRefusal for SearchError {
    fn code(&self) -> &'static str {
        "invalid_query"
    }
    fn class(&self) -> RefusalClass {
        RefusalClass::Invalid
    }
}

/// The query's terms, folded: what each title or description must contain.
pub fn query_terms(text: &str) -> Vec<String> {
    fold(text).split_whitespace().map(str::to_string).collect()
}

impl CatalogueQuery {
    pub fn validate(&self) -> Result<(), SearchError> {
        let bad = |m: String| Err(SearchError::InvalidQuery(m));
        if self.page == 0 || self.page > limits::MAX_PAGE {
            return bad(format!("page must be 1..={}", limits::MAX_PAGE));
        }
        if self.page_size == 0 || self.page_size > limits::MAX_PAGE_SIZE {
            return bad(format!("page_size must be 1..={}", limits::MAX_PAGE_SIZE));
        }
        if self.text.chars().count() > limits::MAX_QUERY_CHARS {
            return bad(format!(
                "text longer than {} characters",
                limits::MAX_QUERY_CHARS
            ));
        }
        if query_terms(&self.text).len() > limits::MAX_TERMS {
            return bad(format!("more than {} terms", limits::MAX_TERMS));
        }
        for price in [self.min_price, self.max_price].into_iter().flatten() {
            if price.is_negative() {
                return bad("prices cannot be negative".into());
            }
        }
        if let (Some(min), Some(max)) = (self.min_price, self.max_price)
            && min > max
        {
            return bad("min_price is above max_price".into());
        }
        Ok(())
    }
}

/// The page of `entries` that matches `query`, in its order.
pub fn search(
    entries: impl IntoIterator<Item = CatalogueEntry>,
    query: &CatalogueQuery,
) -> Result<CataloguePage, SearchError> {
    query.validate()?;
    let terms = query_terms(&query.text);
    let mut hits: Vec<(usize, CatalogueEntry)> = entries
        .into_iter()
        .filter(|e| passes_filters(e, query))
        .filter_map(|e| title_hits(&e, &terms).map(|n| (n, e)))
        .collect();
    hits.sort_by(|(an, a), (bn, b)| {
        let primary = match query.sort {
            SortBy::Relevance => bn.cmp(an).then(b.sales.cmp(&a.sales)),
            SortBy::Sales => b.sales.cmp(&a.sales),
            // `Some` ranks above `None`, so unrated products come last.
            SortBy::Rating => b.rating.cmp(&a.rating),
            SortBy::PriceAsc => a.price.cmp(&b.price),
            SortBy::PriceDesc => b.price.cmp(&a.price),
        };
        primary.then(a.product.cmp(&b.product))
    });
    let total = hits.len();
    let size = query.page_size as usize;
    let skip = (query.page as usize).saturating_sub(1).saturating_mul(size);
    let items = hits
        .into_iter()
        .skip(skip)
        .take(size)
        .map(|(_, e)| e)
        .collect();
    Ok(CataloguePage {
        items,
        total,
        page: query.page,
        page_size: query.page_size,
    })
}

fn passes_filters(e: &CatalogueEntry, q: &CatalogueQuery) -> bool {
    q.category.is_none_or(|c| c == e.category)
        && q.provider.is_none_or(|p| p == e.provider)
        && q.min_price.is_none_or(|m| e.price >= m)
        && q.max_price.is_none_or(|m| e.price <= m)
}

/// How many terms the title holds, if every term is in the title or the description.
fn title_hits(e: &CatalogueEntry, terms: &[String]) -> Option<usize> {
    if terms.is_empty() {
        return Some(0);
    }
    let (title, description) = (fold(&e.title), fold(&e.description));
    let mut in_title = 0;
    for term in terms {
        if title.contains(term.as_str()) {
            in_title += 1;
        } else if !description.contains(term.as_str()) {
            return None;
        }
    }
    Some(in_title)
}

#[cfg(test)]
mod tests;
