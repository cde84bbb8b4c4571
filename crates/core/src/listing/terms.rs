//! The commercial terms of a listing version — pricing, price, the refund policy the provider
//! declares outside the window — and the refund class its category has under the rulebook.

use serde::{Deserialize, Serialize};

use super::error::ListingError;
use crate::catalog::{DeclaredRefundPolicy, Pricing, ProductCategory};
use crate::money::Fen;
use crate::rulebook::{MarketplaceRulebook, RefundWindow};

/// The highest price a listing may ask: ¥100,000,000.00. **[design assumption]** The
/// rulebooks set no ceiling; this one only refuses absurd amounts (typos, overflow probes)
/// and keeps every later sum over prices far inside `i64`.
pub const MAX_PRICE: Fen = Fen::new(10_000_000_000);

/// The lowest price of a paid listing: one fen.
pub const MIN_PAID_PRICE: Fen = Fen::new(1);

/// How the product is priced and what the provider promises about refunds outside the
/// guarantee window (SPEC §5; TC 5.4, JD art.17(4)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListingTerms {
    pub pricing: Pricing,
    /// Per order for one-off pricing, per month or per year for subscriptions; zero when free.
    pub price: Fen,
    pub refund_policy: DeclaredRefundPolicy,
}

impl ListingTerms {
    /// Free is exactly zero; paid is at least one fen and at most [`MAX_PRICE`].
    pub fn validate(&self, class: RefundClass) -> Result<(), ListingError> {
        let (min, max) = match self.pricing {
            Pricing::Free => (Fen::ZERO, Fen::ZERO),
            Pricing::OneOff | Pricing::Monthly | Pricing::Yearly => (MIN_PAID_PRICE, MAX_PRICE),
        };
        if self.price < min || self.price > max {
            return Err(ListingError::PriceOutOfRange {
                pricing: self.pricing,
                price: self.price,
                min,
                max,
            });
        }
        // A category the rulebook makes non-refundable (ALI-R art.21(1)3: API, tool) cannot
        // promise pro-rata refunds the refund rules would then refuse.
        if !class.refundable && self.refund_policy != DeclaredRefundPolicy::NoRefund {
            return Err(ListingError::RefundPolicyNotAllowed {
                policy: self.refund_policy,
            });
        }
        Ok(())
    }

    pub fn is_paid(&self) -> bool {
        self.pricing != Pricing::Free
    }
}

/// A category's refund class under a rulebook: its guarantee / review window and whether it
/// can be refunded at all (SPEC §5 table; ALI-R art.21, TC 2.8/5.1, JD art.17).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundClass {
    pub window: RefundWindow,
    pub refundable: bool,
}

impl RefundClass {
    /// The class the rulebook gives `category`; a category it does not list cannot be sold.
    pub fn of(
        rulebook: &MarketplaceRulebook,
        category: ProductCategory,
    ) -> Result<RefundClass, ListingError> {
        rulebook
            .refunds
            .category
            .iter()
            .find(|c| c.category == category)
            .map(|c| RefundClass {
                window: c.window,
                refundable: c.refundable,
            })
            .ok_or(ListingError::CategoryNotInRulebook(category))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::DomainRefusal;
    use crate::listing::testkit::book;

    fn terms(pricing: Pricing, price: i64) -> ListingTerms {
        ListingTerms {
            pricing,
            price: Fen::new(price),
            refund_policy: DeclaredRefundPolicy::NoRefund,
        }
    }

    #[test]
    fn api_and_tool_are_not_refundable_and_images_have_a_five_day_window() {
        let ali = book("ali");
        let api = RefundClass::of(&ali, ProductCategory::Api).unwrap();
        assert_eq!(
            (api.window, api.refundable),
            (RefundWindow::NoWindow, false)
        );
        let image = RefundClass::of(&ali, ProductCategory::Image).unwrap();
        assert_eq!(image.window, RefundWindow::DaysFromPurchase(5));
        assert!(image.refundable);
    }

    #[test]
    fn free_is_zero_paid_is_positive_and_absurd_prices_are_refused() {
        let class = RefundClass::of(&book("ali"), ProductCategory::Image).unwrap();
        assert!(terms(Pricing::Free, 0).validate(class).is_ok());
        assert!(terms(Pricing::OneOff, 100_000).validate(class).is_ok());
        assert!(
            terms(Pricing::Yearly, MAX_PRICE.fen())
                .validate(class)
                .is_ok()
        );
        for (pricing, price) in [
            (Pricing::Free, 1),
            (Pricing::OneOff, 0),
            (Pricing::Monthly, -100),
            (Pricing::OneOff, MAX_PRICE.fen() + 1),
            (Pricing::Yearly, i64::MAX),
        ] {
            let err = terms(pricing, price).validate(class).unwrap_err();
            assert_eq!(err.code(), "price_out_of_range", "{pricing:?} {price}");
        }
    }

    #[test]
    fn non_refundable_categories_cannot_declare_pro_rata_refunds() {
        let class = RefundClass::of(&book("ali"), ProductCategory::Tool).unwrap();
        let mut t = terms(Pricing::Yearly, 10_000);
        t.refund_policy = DeclaredRefundPolicy::ProRataUnusedTime;
        assert_eq!(
            t.validate(class).unwrap_err().code(),
            "refund_policy_not_allowed"
        );
    }
}
