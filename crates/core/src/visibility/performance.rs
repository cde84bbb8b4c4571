//! Zero sales in consecutive months and a low average rating (ALI-R art.22(14), JD
//! art.18(14); SPEC §5): judged at a monthly check at 00:00 Beijing on the first of each
//! month ([`MONTHLY_CHECK`], dedupe key [`check_key`]).
//!
//! - **Zero sales**: every check records the product's paid-order count while it is live; at
//!   the check of month M, a product that was already live at the check of M − N (N =
//!   `zero_sales_months`) and whose count has not moved since sold nothing in the N full
//!   months between → the hold [`ZERO_SALES_HOLD`]. A product listed mid-month is judged on
//!   full months only.
//! - **Low rating**: rated below `min_average_rating` once `min_ratings_for_average` ratings
//!   exist → the hold [`LOW_RATING_HOLD`]; lifted at a later check if the average recovers
//!   **[design assumption]**.
//!
//! The action is the rulebook's: `hide` → hidden and stopped (隐藏停售), `delist` → delisted
//! (下架), `hide_or_delist` → hidden and stopped **[design assumption]**: the automatic rule
//! takes the milder measure; the operator may delist by hand.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::saas::{HoldChange, HoldPlan, HoldTarget};
use crate::listing::{HoldKind, Product};
use crate::order::ProductRating;
use crate::rulebook::{Visibility, VisibilityAction};
use crate::time::start_of_day;

/// Deadline kind of the monthly check.
pub const MONTHLY_CHECK: &str = "visibility.monthly_check";
/// Hold key of the zero-sales rule.
pub const ZERO_SALES_HOLD: &str = "zero_sales";
/// Hold key of the low-rating rule.
pub const LOW_RATING_HOLD: &str = "low_rating";

/// The dedupe key of the check at the start of `month` (its first day).
pub fn check_key(month: Date) -> String {
    format!("visibility:monthly_check:{}", month.strftime("%Y-%m"))
}

/// The first day of the month after the one `date` is in.
pub fn next_month(date: Date) -> Option<Date> {
    date.first_of_month()
        .checked_add(jiff::Span::new().months(1))
        .ok()
}

/// When the check of `month` is due: 00:00 Beijing on its first day.
pub fn check_due(month: Date) -> Option<Timestamp> {
    start_of_day(month.first_of_month()).ok()
}

/// A product's paid-order count at one monthly check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesCheck {
    /// The first day of the month whose check this was.
    pub month: Date,
    pub paid: u64,
}

/// The product's counts at the last checks (a few more than the rule needs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesHistory {
    pub checks: Vec<SalesCheck>,
}

/// The rulebook's action as a hold kind (see the module docs).
pub fn hold_kind(action: VisibilityAction) -> HoldKind {
    match action {
        VisibilityAction::Delist => HoldKind::Delisted,
        VisibilityAction::Hide | VisibilityAction::HideOrDelist => HoldKind::HiddenAndStopped,
    }
}

/// What one product's monthly check decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthlyDecision {
    /// `None`: already checked this month (a repeated run); nothing to do.
    pub history: Option<SalesHistory>,
    pub holds: Vec<HoldPlan>,
}

/// The check of `month` (its first day) for `product`, whose paid-order count is now `paid`.
pub fn monthly_check(
    history: &SalesHistory,
    product: &Product,
    paid: u64,
    rating: &ProductRating,
    rules: &Visibility,
    month: Date,
) -> MonthlyDecision {
    let month = month.first_of_month();
    if history.checks.iter().any(|c| c.month == month) || product.live.is_none() {
        return MonthlyDecision {
            history: None,
            holds: Vec::new(),
        };
    }
    let target = HoldTarget::Product(product.id);
    let has = |key: &str| product.holds.iter().any(|h| h.key == key);
    let mut holds = Vec::new();
    if let (Some(months), Some(action)) = (rules.zero_sales_months, rules.zero_sales_action) {
        let since = month
            .checked_sub(jiff::Span::new().months(i64::from(months)))
            .ok();
        let zero = since.is_some_and(|since| {
            history
                .checks
                .iter()
                .any(|c| c.month == since && c.paid == paid)
        });
        if zero && !has(ZERO_SALES_HOLD) {
            holds.push(HoldPlan {
                target,
                change: HoldChange::Place {
                    key: ZERO_SALES_HOLD,
                    kind: hold_kind(action),
                    reason: format!(
                        "连续{months}个月零成交 — no sales for {months} consecutive months \
                         (to {month}; ALI-R art.22(14), JD art.18(14))"
                    ),
                },
            });
        }
    }
    if let Some(action) = rules.low_rating_action {
        let low = rating.below_minimum(rules);
        if low && !has(LOW_RATING_HOLD) {
            let avg = rating.average().map(|a| a.to_string()).unwrap_or_default();
            let min = rules
                .min_average_rating
                .map(|a| a.to_string())
                .unwrap_or_default();
            holds.push(HoldPlan {
                target,
                change: HoldChange::Place {
                    key: LOW_RATING_HOLD,
                    kind: hold_kind(action),
                    reason: format!(
                        "评价分值 {avg} 低于 {min} — average rating {avg} below {min} over {} \
                         ratings (ALI-R art.22(14))",
                        rating.count
                    ),
                },
            });
        } else if !low && has(LOW_RATING_HOLD) {
            holds.push(HoldPlan {
                target,
                change: HoldChange::Lift {
                    key: LOW_RATING_HOLD,
                },
            });
        }
    }
    let mut next = history.clone();
    next.checks.push(SalesCheck { month, paid });
    let keep = rules.zero_sales_months.map_or(1, |m| {
        usize::try_from(m).unwrap_or(usize::MAX).saturating_add(2)
    });
    if next.checks.len() > keep {
        let drop = next.checks.len() - keep;
        next.checks.drain(..drop);
    }
    MonthlyDecision {
        history: Some(next),
        holds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listing::testkit::World;
    use crate::rulebook::Score;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    /// Runs the checks of `months` with the paid counts given, as the shell would.
    fn run(w: &World, product: &Product, months: &[(&str, u64)]) -> (SalesHistory, Vec<HoldPlan>) {
        let mut history = SalesHistory::default();
        let mut last = Vec::new();
        for (month, paid) in months {
            let decided = monthly_check(
                &history,
                product,
                *paid,
                &ProductRating::default(),
                &w.rulebook.visibility,
                d(month),
            );
            history = decided.history.unwrap();
            last = decided.holds;
        }
        (history, last)
    }

    #[test]
    fn jd_zero_sales_in_three_full_months_delists() {
        let mut w = World::new("jd");
        let p = w.live_image();
        // Checked from 1 August: no sale through October → at the 1 November check.
        let (_, holds) = run(
            &w,
            &p,
            &[("2026-08-01", 0), ("2026-09-01", 0), ("2026-10-01", 0)],
        );
        assert!(holds.is_empty(), "only two full months so far: {holds:?}");
        let (history, holds) = run(
            &w,
            &p,
            &[
                ("2026-08-01", 0),
                ("2026-09-01", 0),
                ("2026-10-01", 0),
                ("2026-11-01", 0),
            ],
        );
        assert_eq!(holds.len(), 1);
        assert!(matches!(
            holds[0].change,
            HoldChange::Place {
                key: ZERO_SALES_HOLD,
                kind: HoldKind::Delisted,
                ..
            }
        ));
        // The same month again decides nothing.
        let again = monthly_check(
            &history,
            &p,
            0,
            &ProductRating::default(),
            &w.rulebook.visibility,
            d("2026-11-01"),
        );
        assert_eq!(again.history, None);
    }

    #[test]
    fn a_sale_in_the_three_months_keeps_the_product() {
        let mut w = World::new("jd");
        let p = w.live_image();
        let (_, holds) = run(
            &w,
            &p,
            &[
                ("2026-08-01", 0),
                ("2026-09-01", 1),
                ("2026-10-01", 1),
                ("2026-11-01", 1),
            ],
        );
        assert!(holds.is_empty(), "{holds:?}");
    }

    #[test]
    fn ali_rating_below_2_5_with_five_ratings_hides_and_stops() {
        let mut w = World::new("ali");
        let p = w.live_image();
        let two = Score::from_hundredths(200);
        let mut rating = ProductRating::default();
        for _ in 0..4 {
            rating = rating.with(two).unwrap();
        }
        let rules = &w.rulebook.visibility;
        let four = monthly_check(
            &SalesHistory::default(),
            &p,
            9,
            &rating,
            rules,
            d("2026-08-01"),
        );
        assert!(four.holds.is_empty(), "four ratings are not judged yet");
        let rating = rating.with(two).unwrap();
        let five = monthly_check(
            &SalesHistory::default(),
            &p,
            9,
            &rating,
            rules,
            d("2026-08-01"),
        );
        assert!(matches!(
            five.holds[0].change,
            HoldChange::Place {
                key: LOW_RATING_HOLD,
                kind: HoldKind::HiddenAndStopped,
                ..
            }
        ));
        // JD has no rating rule.
        let jd = World::new("jd");
        let none = monthly_check(
            &SalesHistory::default(),
            &p,
            9,
            &rating,
            &jd.rulebook.visibility,
            d("2026-08-01"),
        );
        assert!(none.holds.is_empty());
    }
}
