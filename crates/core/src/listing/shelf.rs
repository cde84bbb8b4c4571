//! On the shelf or off it: what buyers see of a product, the provider's delisting and
//! relisting, and the operator's holds (SPEC §5 visibility rules; §9 penalties; TC 4.2).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::error::ListingError;
use super::product::{Product, ProviderStanding, require_deposit};
use super::search::CatalogueEntry;
use crate::decision::{Context, Outcome};
use crate::ids::UserId;
use crate::rulebook::Score;

/// An operator measure on a product (SPEC §5 visibility rules, §9 penalties).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorHold {
    /// Names the cause, e.g. `saas_delivery_failure`, `low_rating`, `violation:ALI-B1`.
    pub key: String,
    pub kind: HoldKind,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<UserId>,
    pub at: Timestamp,
}

/// Weakest first: the strongest hold decides the product's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldKind {
    /// Out of search, still on sale by direct link (TC 4.2: 隐藏搜索).
    HiddenFromSearch,
    /// Hidden and stopped from sale (ALI-R art.22(14): 隐藏停售).
    HiddenAndStopped,
    /// Delisted by the operator (强制下架).
    Delisted,
}

/// What buyers get to see of a product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductStatus {
    /// No version approved yet.
    Unlisted,
    Listed,
    HiddenFromSearch,
    Hidden,
    DelistedByProvider,
    DelistedByOperator,
}

impl ProductStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ProductStatus::Unlisted => "unlisted",
            ProductStatus::Listed => "listed",
            ProductStatus::HiddenFromSearch => "hidden_from_search",
            ProductStatus::Hidden => "hidden",
            ProductStatus::DelistedByProvider => "delisted_by_provider",
            ProductStatus::DelistedByOperator => "delisted_by_operator",
        }
    }
}

impl Product {
    pub fn status(&self) -> ProductStatus {
        let strongest = self.holds.iter().map(|h| h.kind).max();
        if self.live.is_none() {
            ProductStatus::Unlisted
        } else if strongest == Some(HoldKind::Delisted) {
            ProductStatus::DelistedByOperator
        } else if self.delisted_by_provider {
            ProductStatus::DelistedByProvider
        } else if strongest == Some(HoldKind::HiddenAndStopped) {
            ProductStatus::Hidden
        } else if strongest == Some(HoldKind::HiddenFromSearch) {
            ProductStatus::HiddenFromSearch
        } else {
            ProductStatus::Listed
        }
    }

    /// Shown in catalogue search.
    pub fn is_searchable(&self) -> bool {
        self.status() == ProductStatus::Listed
    }

    /// New orders may be placed (at the live version's terms).
    pub fn is_on_sale(&self) -> bool {
        matches!(
            self.status(),
            ProductStatus::Listed | ProductStatus::HiddenFromSearch
        )
    }

    /// The product's row in catalogue search, while it is searchable.
    pub fn catalogue_entry(&self, sales: u64, rating: Option<Score>) -> Option<CatalogueEntry> {
        let live = self.live.as_ref().filter(|_| self.is_searchable())?;
        Some(CatalogueEntry {
            product: self.id,
            title: live.content.title.clone(),
            description: live.content.description.clone(),
            category: self.category,
            price: live.terms.price,
            provider: self.provider,
            sales,
            rating,
        })
    }

    /// The provider takes the live product off the shelf (下架); buyers keep what they bought
    /// per the delisting strategy.
    pub fn delist(&self, ctx: &mut Context<'_>) -> Result<(Product, Outcome), ListingError> {
        if self.live.is_none() || self.delisted_by_provider {
            return Err(self.refuse("delist", "product", self.status().as_str()));
        }
        let mut next = self.clone();
        next.delisted_by_provider = true;
        let outcome = Outcome::default().event(
            "product.delisted",
            self.subject(),
            json!({ "by": "provider", "at": ctx.now }),
        );
        Ok((next, outcome))
    }

    /// The provider puts its delisted product back on the shelf, at the live version's terms;
    /// a paid one needs the full deposit again (ALI-A 4.5.1). Operator holds stay in force.
    pub fn relist(
        &self,
        ctx: &mut Context<'_>,
        standing: ProviderStanding,
    ) -> Result<(Product, Outcome), ListingError> {
        let Some(live) = self.live.as_ref().filter(|_| self.delisted_by_provider) else {
            return Err(self.refuse("relist", "product", self.status().as_str()));
        };
        require_deposit(ctx.rulebook, &live.terms, standing)?;
        let mut next = self.clone();
        next.delisted_by_provider = false;
        let outcome = Outcome::default().event(
            "product.relisted",
            self.subject(),
            json!({ "by": "provider", "status": next.status(), "at": ctx.now }),
        );
        Ok((next, outcome))
    }

    /// The operator hides or delists the product under `key`; the same key again replaces
    /// that hold. Used by the visibility rules and penalties (SPEC §5, §9).
    pub fn place_hold(
        &self,
        ctx: &mut Context<'_>,
        key: &str,
        kind: HoldKind,
        reason: &str,
        by: Option<UserId>,
    ) -> Result<(Product, Outcome), ListingError> {
        let (key, reason) = (key.trim(), reason.trim());
        if key.is_empty() || reason.is_empty() {
            return Err(ListingError::HoldReasonRequired);
        }
        let hold = OperatorHold {
            key: key.to_string(),
            kind,
            reason: reason.to_string(),
            by,
            at: ctx.now,
        };
        let mut next = self.clone();
        next.holds.retain(|h| h.key != key);
        next.holds.push(hold.clone());
        let outcome = Outcome::default().event(
            "product.hold_placed",
            self.subject(),
            json!({ "hold": hold, "status": next.status() }),
        );
        Ok((next, outcome))
    }

    /// The operator lifts the hold under `key`; other holds stay.
    pub fn lift_hold(
        &self,
        ctx: &mut Context<'_>,
        key: &str,
        by: Option<UserId>,
    ) -> Result<(Product, Outcome), ListingError> {
        let key = key.trim();
        if !self.holds.iter().any(|h| h.key == key) {
            return Err(ListingError::HoldNotFound(key.to_string()));
        }
        let mut next = self.clone();
        next.holds.retain(|h| h.key != key);
        let outcome = Outcome::default().event(
            "product.hold_lifted",
            self.subject(),
            json!({ "key": key, "by": by, "status": next.status(), "at": ctx.now }),
        );
        Ok((next, outcome))
    }
}
