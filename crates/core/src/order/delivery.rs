//! The SaaS delivery of an order's instance (SPEC §5, issue 3 item 8): the provider's system
//! is told to create the instance by webhook; when that `create` delivery is dead-lettered the
//! order is marked "delivery failed" — the fact the governance rules consume. A later
//! successful (manual) retry marks it delivered again; the failure stays on record.
//! Nothing here touches money: escrow, refunds and the window are as they were.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::aggregate::Order;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// The `create` delivery is on its way (attempts scheduled).
    Pending,
    /// The provider's endpoint acknowledged the `create`.
    Delivered,
    /// Every attempt of the `create` failed: "delivery failed".
    Failed,
}

/// Where the SaaS delivery of an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaasDelivery {
    pub status: DeliveryStatus,
    /// When the `create` was dead-lettered (kept after a later successful retry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<Timestamp>,
}

fn with(order: &Order, delivery: SaasDelivery) -> Option<Order> {
    if order.delivery == Some(delivery) {
        return None;
    }
    let mut next = order.clone();
    next.delivery = Some(delivery);
    Some(next)
}

/// The `create` delivery was enqueued (the order was paid). `None`: nothing changes.
pub fn delivery_requested(order: &Order) -> Option<Order> {
    if order.delivery.is_some() {
        return None;
    }
    with(
        order,
        SaasDelivery {
            status: DeliveryStatus::Pending,
            failed_at: None,
            delivered_at: None,
        },
    )
}

/// The `create` delivery was dead-lettered at `at`: the order's delivery failed. `None`:
/// it was already marked failed.
pub fn delivery_failed(order: &Order, at: Timestamp) -> Option<Order> {
    if order
        .delivery
        .is_some_and(|d| d.status == DeliveryStatus::Failed)
    {
        return None;
    }
    with(
        order,
        SaasDelivery {
            status: DeliveryStatus::Failed,
            failed_at: Some(at),
            delivered_at: None,
        },
    )
}

/// The provider acknowledged the `create` at `at` (first time, or on a retry after it
/// failed). `None`: it was already marked delivered.
pub fn delivery_succeeded(order: &Order, at: Timestamp) -> Option<Order> {
    let previous = order.delivery;
    if previous.is_some_and(|d| d.status == DeliveryStatus::Delivered) {
        return None;
    }
    with(
        order,
        SaasDelivery {
            status: DeliveryStatus::Delivered,
            failed_at: previous.and_then(|d| d.failed_at),
            delivered_at: Some(at),
        },
    )
}
