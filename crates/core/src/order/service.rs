//! Service supervision (服务监管): the provider reports milestones, the buyer confirms them,
//! and final acceptance ends the guarantee window, releases escrow and starts the warranty
//! the provider registered (ALI-R art.15(1)3–4, 15(2)–(3); SPEC §6).

use jiff::civil::Date;
use jiff::{Span, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::aggregate::{Order, OrderStatus};
use super::error::OrderError;
use super::lifecycle::release_if_due;
use crate::decision::{Context, Outcome};
use crate::time::{beijing_date, start_of_day};

/// Longest milestone title, in characters.
pub const MAX_MILESTONE_TITLE: usize = 200;
/// Longest warranty, in days (10 years).
pub const MAX_WARRANTY_DAYS: u32 = 3_660;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Milestone {
    pub title: String,
    pub reported_at: Timestamp,
    pub confirmed_at: Option<Timestamp>,
}

/// The warranty (质保期) that starts with final acceptance (ALI-R art.15(3)1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warranty {
    pub days: u32,
    /// The acceptance day counts as day 1, as the guarantee window counts the purchase day.
    pub last_day: Date,
    /// Beijing 24:00 of the last day.
    pub ends_at: Timestamp,
}

fn supervised_and_open(order: &Order, action: &'static str) -> Result<(), OrderError> {
    if !order.is_supervised() {
        return Err(OrderError::NotAServiceOrder);
    }
    match order.status {
        OrderStatus::Held | OrderStatus::InUseUnpaid if order.accepted_at.is_none() => Ok(()),
        status => Err(OrderError::InvalidTransition { action, status }),
    }
}

/// The provider reports a milestone reached; the buyer confirms it in the system, so the
/// record matches the work done offline (ALI-R art.15(1)4).
pub fn report_milestone(
    order: &Order,
    title: &str,
    ctx: &mut Context<'_>,
) -> Result<(Order, Outcome), OrderError> {
    supervised_and_open(order, "report a milestone on")?;
    let title = title.trim();
    if title.is_empty() || title.chars().count() > MAX_MILESTONE_TITLE {
        return Err(OrderError::InvalidTerms(format!(
            "a milestone title has 1 to {MAX_MILESTONE_TITLE} characters"
        )));
    }
    let mut next = order.clone();
    next.milestones.push(Milestone {
        title: title.to_string(),
        reported_at: ctx.now,
        confirmed_at: None,
    });
    let index = next.milestones.len() - 1;
    let outcome = Outcome::default().event(
        "order.milestone_reported",
        next.subject(),
        json!({ "order_id": next.id, "index": index, "title": title }),
    );
    Ok((next, outcome))
}

/// The buyer confirms a reported milestone.
pub fn confirm_milestone(
    order: &Order,
    index: usize,
    ctx: &mut Context<'_>,
) -> Result<(Order, Outcome), OrderError> {
    supervised_and_open(order, "confirm a milestone on")?;
    let mut next = order.clone();
    let milestone = next
        .milestones
        .get_mut(index)
        .filter(|m| m.confirmed_at.is_none())
        .ok_or(OrderError::UnknownMilestone(index))?;
    milestone.confirmed_at = Some(ctx.now);
    let outcome = Outcome::default().event(
        "order.milestone_confirmed",
        next.subject(),
        json!({ "order_id": next.id, "index": index }),
    );
    Ok((next, outcome))
}

/// Final acceptance: every reported milestone confirmed, no refund open. Ends the guarantee
/// window, releases escrow (a pay-later order releases once paid) and starts the warranty of
/// `warranty_days` (0: none).
pub fn accept_service(
    order: &Order,
    warranty_days: u32,
    ctx: &mut Context<'_>,
) -> Result<(Order, Outcome), OrderError> {
    supervised_and_open(order, "accept")?;
    if let Some(pending) = order
        .milestones
        .iter()
        .position(|m| m.confirmed_at.is_none())
    {
        return Err(OrderError::MilestonePending(pending));
    }
    if order.open_refund().is_some() {
        return Err(OrderError::RefundInProgress);
    }
    if warranty_days > MAX_WARRANTY_DAYS {
        return Err(OrderError::InvalidTerms(format!(
            "a warranty lasts at most {MAX_WARRANTY_DAYS} days"
        )));
    }
    let mut next = order.clone();
    next.accepted_at = Some(ctx.now);
    next.warranty = warranty(ctx.now, warranty_days)?;
    let mut outcome = Outcome::default().event(
        "order.service_accepted",
        next.subject(),
        json!({
            "order_id": next.id,
            "warranty_days": warranty_days,
            "warranty_ends_at": next.warranty.map(|w| w.ends_at),
        }),
    );
    release_if_due(&mut next, ctx, &mut outcome)?;
    Ok((next, outcome))
}

fn warranty(accepted: Timestamp, days: u32) -> Result<Option<Warranty>, OrderError> {
    let Some(extra) = days.checked_sub(1) else {
        return Ok(None);
    };
    let last_day = beijing_date(accepted).checked_add(Span::new().days(i64::from(extra)))?;
    let ends_at = start_of_day(last_day.checked_add(Span::new().days(1))?)?;
    Ok(Some(Warranty {
        days,
        last_day,
        ends_at,
    }))
}
