//! A SaaS `create` delivery dead-lettered or repaired (ALI-R art.16, SPEC §7): the deadline
//! that reports it to the product's visibility standing, in the delivery's own batch.

use crate::kernel::context::rulebook_at;
use crate::kernel::repo::deliveries::DELIVERY;
use crate::kernel::repo::deliveries::Delivery;
use crate::kernel::state::AppState;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;
use yunshi_core::ids::ProviderId;
use yunshi_core::rulebook::SaasDeliveryFailure;
use yunshi_store::NewDeadline;

/// Deadline kind: a `create` delivery was dead-lettered; record the failure.
pub const FAILED: &str = "visibility.saas_failed";

/// Deadline kind: a failed `create` delivery was delivered after all; undo what is pending.
pub const REPAIRED: &str = "visibility.saas_repaired";

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct DeliveryPayload {
    pub delivery_id: Uuid,
    pub provider_id: ProviderId,
}

/// The SaaS delivery-failure rule of the rulebook in force at `at`, if it has one.
pub fn saas_rule_in_force(state: &AppState, at: Timestamp) -> Option<SaasDeliveryFailure> {
    rulebook_at(state, at)
        .ok()?
        .visibility
        .saas_delivery_failure
        .clone()
}

pub fn delivery_deadline(kind: &str, suffix: &str, d: &Delivery, at: Timestamp) -> NewDeadline {
    NewDeadline {
        id: Uuid::now_v7(),
        kind: kind.into(),
        subject: format!("{DELIVERY}:{}", d.id),
        due_at: at,
        payload: json!(DeliveryPayload {
            delivery_id: d.id,
            provider_id: ProviderId(d.provider_id),
        }),
        dedupe_key: Some(format!("saas_failure:{}:{suffix}", d.id)),
    }
}

/// The deadline that records the failure of the dead-lettered `create` delivery `d` (at once).
pub fn failed_deadline(d: &Delivery, at: Timestamp) -> NewDeadline {
    delivery_deadline(FAILED, "reported", d, at)
}

/// The deadline that records the repair of `d`, delivered after its failure (at once).
pub fn repaired_deadline(d: &Delivery, at: Timestamp) -> NewDeadline {
    delivery_deadline(REPAIRED, "repaired", d, at)
}
