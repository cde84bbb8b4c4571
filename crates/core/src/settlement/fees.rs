//! The fee agreement with a provider (ALI-A 4.1.3–4.2.2): a standing commission rate or base
//! price for the provider and per product, and time-limited discounts or fee holidays. An
//! order is placed with the terms and windows that apply to its product; the fee itself is
//! fixed when the order is released (see `PriceSnapshot::fee_terms_at`).

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::error::SettlementError;
use crate::catalog::{FeeTerms, FeeWindow};
use crate::ids::{ProductId, ProviderId};
use crate::rulebook::{FeeModel, Settlement};

/// A discount or holiday for the whole provider or one product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreedWindow {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<ProductId>,
    #[serde(flatten)]
    pub window: FeeWindow,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeAgreement {
    /// The provider's standing terms; the rulebook's default commission when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standing: Option<FeeTerms>,
    /// Per-product terms (a base price is always per product).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub products: BTreeMap<ProductId, FeeTerms>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub windows: Vec<AgreedWindow>,
}

fn model(terms: &FeeTerms) -> FeeModel {
    match terms {
        FeeTerms::Commission { .. } => FeeModel::Commission,
        FeeTerms::BasePrice { .. } => FeeModel::BasePrice,
    }
}

impl FeeAgreement {
    /// Checks the agreement against the rulebook's fee models.
    pub fn checked(
        self,
        rule: &Settlement,
        _provider: ProviderId,
    ) -> Result<Self, SettlementError> {
        let bad = |m: String| Err(SettlementError::InvalidFeeTerms(m));
        let allowed = |t: &FeeTerms| rule.fee_models.contains(&model(t));
        if let Some(t) = &self.standing {
            if !allowed(t) {
                return bad("this marketplace's rulebook does not allow that fee model".into());
            }
            if matches!(t, FeeTerms::BasePrice { .. }) {
                return bad(
                    "a base price is agreed per product, not for the whole provider".into(),
                );
            }
        }
        for (product, t) in &self.products {
            if !allowed(t) {
                return bad(format!("fee model of product {product} is not allowed"));
            }
            if let FeeTerms::BasePrice { base_price } = t
                && base_price.is_negative()
            {
                return bad(format!("the base price of product {product} is negative"));
            }
        }
        for w in &self.windows {
            if w.window.until <= w.window.from {
                return bad("a fee window must end after it starts".into());
            }
            if !allowed(&w.window.terms) {
                return bad("the fee model of a window is not allowed".into());
            }
            if matches!(w.window.terms, FeeTerms::BasePrice { .. }) && w.product.is_none() {
                return bad("a base-price window needs a product".into());
            }
        }
        Ok(self)
    }

    /// The standing terms for `product`: the product's, else the provider's, else the
    /// rulebook's default commission.
    pub fn terms_for(&self, product: ProductId, rule: &Settlement) -> FeeTerms {
        self.products
            .get(&product)
            .or(self.standing.as_ref())
            .copied()
            .unwrap_or(FeeTerms::Commission {
                rate: rule.default_commission,
            })
    }

    /// The windows an order of `product` placed at `now` carries: those not yet over, the
    /// product's own before the provider-wide ones.
    pub fn windows_for(&self, product: ProductId, now: Timestamp) -> Vec<FeeWindow> {
        let open = |w: &&AgreedWindow| w.window.until > now;
        let own = self
            .windows
            .iter()
            .filter(open)
            .filter(|w| w.product == Some(product));
        let general = self
            .windows
            .iter()
            .filter(open)
            .filter(|w| w.product.is_none());
        own.chain(general).map(|w| w.window.clone()).collect()
    }
}
