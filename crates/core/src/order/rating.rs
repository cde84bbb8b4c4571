//! Ratings: one per paid order, on the rulebook's scale (SPEC §6: 1–5), and a product's
//! running average kept exact in hundredths (SPEC §5 hides products rated below 2.5,
//! ALI-R art.22(14)). Ratings are never edited: providers may not alter reviews (SPEC §6).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::aggregate::Order;
use super::error::OrderError;
use crate::decision::{Context, Outcome};
use crate::rate::{Rounding, div_round};
use crate::rulebook::{Score, Visibility};

/// Longest review text, in characters.
pub const MAX_REVIEW_CHARS: usize = 2_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    pub score: Score,
    pub text: String,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateOrder {
    pub score: Score,
    #[serde(default)]
    pub text: String,
}

/// The buyer rates a paid order, once. The event carries the product and score so the shell
/// adds it to the product's [`ProductRating`] in the same write.
pub fn rate(
    order: &Order,
    cmd: RateOrder,
    ctx: &mut Context<'_>,
) -> Result<(Order, Outcome), OrderError> {
    if order.payment.is_none() {
        return Err(OrderError::NotPaid);
    }
    if order.rating.is_some() {
        return Err(OrderError::AlreadyRated);
    }
    let scale = ctx.rulebook.visibility.rating_scale;
    if cmd.score < scale.min || cmd.score > scale.max {
        return Err(OrderError::ScoreOutOfScale {
            score: cmd.score,
            min: scale.min,
            max: scale.max,
        });
    }
    let text = cmd.text.trim().to_string();
    if text.chars().count() > MAX_REVIEW_CHARS {
        return Err(OrderError::InvalidRating(format!(
            "a review has at most {MAX_REVIEW_CHARS} characters"
        )));
    }
    let mut next = order.clone();
    next.rating = Some(Rating {
        score: cmd.score,
        text,
        at: ctx.now,
    });
    let outcome = Outcome::default().event(
        "order.rated",
        next.subject(),
        json!({
            "order_id": next.id,
            "product": next.terms.product,
            "provider": next.terms.provider,
            "score": cmd.score,
        }),
    );
    Ok((next, outcome))
}

/// How many reviews a product's page shows.
pub const RECENT_REVIEWS: usize = 10;

/// A product's latest reviews with text, newest first, at most [`RECENT_REVIEWS`]: what its
/// page shows (kept beside the rating accumulator, written in the same batch; the buyer is
/// not named).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ProductReviews {
    pub recent: Vec<Rating>,
}

impl ProductReviews {
    /// With `rating` added; a rating without text is a score only and changes nothing here.
    pub fn with(mut self, rating: &Rating) -> Self {
        if !rating.text.is_empty() {
            self.recent.insert(0, rating.clone());
            self.recent.truncate(RECENT_REVIEWS);
        }
        self
    }
}

/// A product's ratings as count and sum of hundredths: adding one is exact, the average is
/// derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ProductRating {
    pub count: u64,
    /// Sum of the scores, in hundredths.
    pub sum: u64,
}

impl ProductRating {
    pub fn with(self, score: Score) -> Result<Self, OrderError> {
        let overflow = || OrderError::InvalidRating("too many ratings".to_string());
        Ok(ProductRating {
            count: self.count.checked_add(1).ok_or_else(overflow)?,
            sum: self
                .sum
                .checked_add(u64::from(score.hundredths()))
                .ok_or_else(overflow)?,
        })
    }

    /// The mean to the hundredth, half up (4.125 → 4.13); `None` before the first rating.
    pub fn average(&self) -> Option<Score> {
        if self.count == 0 {
            return None;
        }
        let mean = div_round(
            i128::from(self.sum),
            i128::from(self.count),
            Rounding::HalfUp,
        );
        u32::try_from(mean).ok().map(Score::from_hundredths)
    }

    /// Rated below the marketplace's minimum once enough ratings exist (ALI-R art.22(14);
    /// the minimum count is a SPEC §5 design assumption). Never true where there is no rule.
    pub fn below_minimum(&self, visibility: &Visibility) -> bool {
        let (Some(min), Some(needed)) = (
            visibility.min_average_rating,
            visibility.min_ratings_for_average,
        ) else {
            return false;
        };
        self.count >= u64::from(needed) && self.average().is_some_and(|avg| avg < min)
    }
}

#[cfg(test)]
mod reviews_tests {
    use super::*;

    fn review(n: i64, text: &str) -> Rating {
        Rating {
            score: Score::from_hundredths(500),
            text: text.into(),
            at: Timestamp::from_second(n).unwrap(),
        }
    }

    #[test]
    fn a_product_page_keeps_the_latest_ten_reviews_with_text_newest_first() {
        let mut r = ProductReviews::default();
        for n in 0..12 {
            r = r.with(&review(n, &format!("第{n}条")));
        }
        r = r.with(&review(99, ""));
        assert_eq!(r.recent.len(), RECENT_REVIEWS);
        assert_eq!(r.recent[0].text, "第11条");
        assert_eq!(r.recent[9].text, "第2条");
    }
}
