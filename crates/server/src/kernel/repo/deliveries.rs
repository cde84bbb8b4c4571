//! The webhook outbox: a provider's endpoint (`webhook_endpoint`) and the deliveries to it
//! (`webhook_delivery`), each written with its first attempt's deadline in the batch of the
//! change it reports.

use crate::kernel::pipeline::aggregate_write;
use crate::kernel::problem::Problem;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;
use yunshi_core::ids::{OrderId, ProviderId};
use yunshi_store::{NewDeadline, NewEvent, WriteBatch};

/// Aggregate kind of a provider's endpoint; its id is the provider's id.
pub const ENDPOINT: &str = "webhook_endpoint";

/// Aggregate kind of a delivery.
pub const DELIVERY: &str = "webhook_delivery";

/// Deadline kind of one delivery attempt.
pub const ATTEMPT: &str = "webhook.attempt";

/// Waits before the 2nd, 3rd, … attempt; after the last the delivery is dead-lettered
/// (so `BACKOFF.len() + 1` attempts in all).
pub const BACKOFF: [SignedDuration; 5] = [
    SignedDuration::from_mins(1),
    SignedDuration::from_mins(5),
    SignedDuration::from_mins(30),
    SignedDuration::from_hours(2),
    SignedDuration::from_hours(6),
];

/// What a delivery tells the provider's system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryKind {
    /// Provision a new instance for a paid order.
    Create,
    /// The subscription was renewed.
    Renew,
    /// The subscription expired.
    Expire,
    /// Release (tear down) the instance.
    Release,
}

impl DeliveryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryKind::Create => "create",
            DeliveryKind::Renew => "renew",
            DeliveryKind::Expire => "expire",
            DeliveryKind::Release => "release",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// An attempt is scheduled.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Every attempt failed; only a manual retry sends it again.
    DeadLettered,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::DeadLettered => "dead_lettered",
        }
    }
}

/// One attempt as logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Attempt {
    /// 1 for the first attempt.
    pub number: u32,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// The URL posted to (none if no endpoint was registered).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The HTTP status answered, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    /// The status line answered, e.g. `500 Internal Server Error` (never the body).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_excerpt: Option<String>,
    /// Why no HTTP answer came (timeout, connection refused, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub duration_ms: u64,
}

impl Attempt {
    pub fn succeeded(&self) -> bool {
        self.status_code.is_some_and(|s| (200..300).contains(&s))
    }
}

/// A delivery with its attempt log, as stored and as shown to its provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193c0de-0000-7000-8000-000000000101",
    "provider_id": "0193c0de-0000-7000-8000-000000000001",
    "order_id": "0193c0de-0000-7000-8000-000000000201",
    "event": "create",
    "status": "pending",
    "body": {"id": "0193c0de-0000-7000-8000-000000000101", "event": "create",
             "created_at": "2026-04-01T01:00:00Z",
             "provider_id": "0193c0de-0000-7000-8000-000000000001",
             "order_id": "0193c0de-0000-7000-8000-000000000201",
             "data": {"product_id": "0193c0de-0000-7000-8000-000000000301", "plan": "monthly"}},
    "created_at": "2026-04-01T01:00:00Z",
    "next_attempt_at": "2026-04-01T01:01:00Z",
    "max_attempts": 6,
    "attempts": [{"number": 1, "at": "2026-04-01T01:00:00Z",
                  "url": "https://isv.example/yunshi/hooks", "status_code": 500,
                  "response_excerpt": "500 Internal Server Error", "duration_ms": 35}]
}))]
pub struct Delivery {
    #[schema(value_type = String)]
    pub id: Uuid,
    #[schema(value_type = String)]
    pub provider_id: Uuid,
    #[schema(value_type = String)]
    pub order_id: Uuid,
    pub event: DeliveryKind,
    pub status: DeliveryStatus,
    /// The JSON body every attempt posts.
    pub body: serde_json::Value,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// When the next attempt is due, while pending.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_attempt_at: Option<Timestamp>,
    /// After this many failed attempts it is dead-lettered (a manual retry adds one).
    pub max_attempts: u32,
    pub attempts: Vec<Attempt>,
    /// Whether `saas.delivery_failed` was recorded for it.
    #[serde(default)]
    pub failure_reported: bool,
}

pub fn attempt_deadline(delivery: Uuid, number: u32, due_at: Timestamp) -> NewDeadline {
    NewDeadline {
        id: Uuid::now_v7(),
        kind: ATTEMPT.into(),
        subject: format!("{DELIVERY}:{delivery}"),
        due_at,
        payload: json!(AttemptPayload {
            delivery_id: delivery,
            attempt: number
        }),
        dedupe_key: Some(format!("{DELIVERY}:{delivery}:attempt:{number}")),
    }
}

pub fn event(kind: &str, subject: String, at: Timestamp, payload: serde_json::Value) -> NewEvent {
    NewEvent {
        id: Uuid::now_v7(),
        kind: kind.into(),
        subject,
        at,
        payload,
    }
}

pub fn delivery_write(
    d: &Delivery,
    expected: Option<i64>,
    at: Timestamp,
) -> Result<yunshi_store::AggregateWrite, Problem> {
    aggregate_write(
        DELIVERY,
        d.id,
        expected,
        d.provider_id.to_string(),
        d.status.as_str(),
        d,
        at,
    )
}

/// Adds a new delivery of `kind` about `order` to `batch` (its aggregate, an event and its
/// first attempt, due at `now`), so that it commits with the change it reports; returns the
/// delivery id. `data` is the instance payload the provider needs (product, plan, period,
/// buyer's instance parameters); a `product_id` member is copied into `saas.delivery_failed`.
pub fn add_delivery(
    batch: &mut WriteBatch,
    provider: ProviderId,
    kind: DeliveryKind,
    order: OrderId,
    data: serde_json::Value,
    now: Timestamp,
) -> Result<Uuid, Problem> {
    let id = Uuid::now_v7();
    let body = json!({
        "id": id,
        "event": kind.as_str(),
        "created_at": now,
        "provider_id": provider,
        "order_id": order,
        "data": data,
    });
    let delivery = Delivery {
        id,
        provider_id: provider.uuid(),
        order_id: order.uuid(),
        event: kind,
        status: DeliveryStatus::Pending,
        body,
        created_at: now,
        next_attempt_at: Some(now),
        max_attempts: u32::try_from(BACKOFF.len()).unwrap_or(0) + 1,
        attempts: Vec::new(),
        failure_reported: false,
    };
    batch.aggregates.push(delivery_write(&delivery, None, now)?);
    batch.events.push(event(
        "saas.delivery_enqueued",
        format!("{DELIVERY}:{id}"),
        now,
        json!({"delivery_id": id, "event": kind.as_str(), "order_id": order, "provider_id": provider}),
    ));
    batch.schedule.push(attempt_deadline(id, 1, now));
    Ok(id)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttemptPayload {
    pub delivery_id: Uuid,
    pub attempt: u32,
}
