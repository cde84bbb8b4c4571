//! The guarantee window (担保期 / 复议期): while it runs the buyer's money stays in escrow and
//! a refund is full; when it ends the money becomes the provider's (ALI-R art.15(1), 21(1);
//! TC 2.8, 5.1; JD art.11(1), 17(1)).

use jiff::civil::Date;
use jiff::{SignedDuration, Span, Timestamp};
use serde::{Deserialize, Serialize};

use super::aggregate::{Order, OrderStatus};
use super::error::OrderError;
use crate::catalog::ProductCategory;
use crate::decision::DeadlineRequest;
use crate::rulebook::{MarketplaceRulebook, RefundWindow};
use crate::time::start_of_day;

/// Deadline kind the shell fires when a day-counted window ends.
pub const GUARANTEE_WINDOW_END: &str = "order.guarantee_window_end";

/// The category's refund class, frozen from the rulebook in force when the order was placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundClass {
    pub window: RefundWindow,
    pub refundable: bool,
}

impl RefundClass {
    pub fn of(
        rulebook: &MarketplaceRulebook,
        category: ProductCategory,
    ) -> Result<Self, OrderError> {
        rulebook
            .refunds
            .category
            .iter()
            .find(|c| c.category == category)
            .map(|c| RefundClass {
                window: c.window,
                refundable: c.refundable,
            })
            .ok_or(OrderError::RulebookGap(category))
    }
}

/// A day-counted window, fixed at purchase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowDates {
    /// The last day inside the window: purchase day + N − 1 (bought 7.1, N = 5 → 7.5).
    pub last_day: Date,
    /// Beijing 24:00 of the last day (SPEC §5).
    pub ends_at: Timestamp,
}

impl WindowDates {
    /// The dates of a day-counted window, or `None` for windows that are not counted in days.
    pub fn of(window: RefundWindow, purchased: Date) -> Result<Option<Self>, OrderError> {
        let Some(last_day) = window.last_day(purchased) else {
            return Ok(None);
        };
        let ends_at = start_of_day(last_day.checked_add(Span::new().days(1))?)?;
        Ok(Some(WindowDates { last_day, ends_at }))
    }
}

/// Whether the guarantee window is over at `now`: a day-counted window at its end, a
/// service window at final acceptance, and an early acceptance ends any window
/// (ALI-R art.15(1): "担保期结束或用户确认").
pub fn window_over(order: &Order, now: Timestamp) -> bool {
    if order.accepted_at.is_some() {
        return true;
    }
    match order.refund_class.window {
        RefundWindow::DaysFromPurchase(_) => order.window.is_some_and(|w| now >= w.ends_at),
        RefundWindow::UntilAcceptance => false,
        RefundWindow::NoWindow => true,
    }
}

/// When the window ended, for messages: the day-counted end, else the acceptance.
pub(crate) fn window_ended_at(order: &Order) -> Option<Timestamp> {
    match (order.accepted_at, order.window) {
        (Some(accepted), Some(w)) => Some(accepted.min(w.ends_at)),
        (Some(accepted), None) => Some(accepted),
        (None, Some(w)) => Some(w.ends_at),
        (None, None) => order.payment.as_ref().map(|p| p.at),
    }
}

pub(crate) fn dedupe_key(order: &Order) -> String {
    format!("order:{}:guarantee_window_end", order.id)
}

pub(crate) fn deadline(order: &Order, w: WindowDates) -> DeadlineRequest {
    DeadlineRequest {
        kind: GUARANTEE_WINDOW_END.to_string(),
        subject: order.subject(),
        due_at: w.ends_at,
        payload: serde_json::json!({ "order_id": order.id, "last_day": w.last_day }),
        dedupe_key: dedupe_key(order),
    }
}

/// What the buyer sees about the window at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum GuaranteeCountdown {
    /// Not paid yet: the window starts with the purchase.
    NotStarted,
    /// A day-counted window is running.
    Running {
        last_day: Date,
        ends_at: Timestamp,
        remaining: SignedDuration,
    },
    /// A service order: the window lasts until the buyer accepts the service.
    UntilAcceptance,
    /// The window is over.
    Ended { ended_at: Timestamp },
    /// No window: free, not refundable (API, tool), or cancelled.
    NoWindow,
}

/// The buyer-visible countdown of an order's guarantee window.
pub fn countdown(order: &Order, now: Timestamp) -> GuaranteeCountdown {
    if order.terms.is_free()
        || !order.refund_class.refundable
        || order.status == OrderStatus::Cancelled
    {
        return GuaranteeCountdown::NoWindow;
    }
    if order.payment.is_none() && order.window.is_none() {
        return match order.refund_class.window {
            RefundWindow::UntilAcceptance if order.accepted_at.is_none() => {
                GuaranteeCountdown::UntilAcceptance
            }
            _ => GuaranteeCountdown::NotStarted,
        };
    }
    if window_over(order, now) {
        return match window_ended_at(order) {
            Some(ended_at) => GuaranteeCountdown::Ended { ended_at },
            None => GuaranteeCountdown::NoWindow,
        };
    }
    match order.window {
        Some(w) => GuaranteeCountdown::Running {
            last_day: w.last_day,
            ends_at: w.ends_at,
            remaining: now.duration_until(w.ends_at),
        },
        None => GuaranteeCountdown::UntilAcceptance,
    }
}
