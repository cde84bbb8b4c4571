//! Orders (aggregate `order`, owned by the buyer member) and their provider index
//! (`provider_order`, owned by the provider), written together with the order's settlement
//! items and sale-count deadline.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use yunshi_core::decision::Outcome;
use yunshi_core::ids::ProductId;
use yunshi_core::order::{self, Order, OrderStatus};
use yunshi_store::{Store, WriteBatch};

use crate::kernel::pipeline::{add_outcome, aggregate_write};
use crate::kernel::problem::Problem;

/// Aggregate kind of orders.
pub const ORDER: &str = "order";

/// Aggregate kind of an order's provider index ([`ProviderOrderIndex`]), keyed by order id.
pub const PROVIDER_ORDER: &str = "provider_order";

/// An order as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderRecord {
    pub order: Order,
    /// The warranty (质保期) the provider registered, started by final acceptance.
    #[serde(default)]
    pub warranty_days: u32,
    /// The version of the order's provider index (`provider_order`), which is written
    /// whenever the order's status changes; set by [`write_order`] (absent for an order
    /// stored before the index existed: its next write creates it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_version: Option<i64>,
}

/// The provider index of an order: the aggregate `provider_order` with the order's id,
/// owner = the provider, status = the order's status, so that a provider's orders are one
/// keyset-paginated `AggregateQuery` (orders themselves are owned by their buyer).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProviderOrderIndex {
    pub order_id: yunshi_core::ids::OrderId,
    pub provider: yunshi_core::ids::ProviderId,
    pub product: ProductId,
}

/// The status column of an order.
pub fn status_str(status: OrderStatus) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

pub fn order_write(
    record: &OrderRecord,
    expected: Option<i64>,
    at: Timestamp,
) -> Result<yunshi_store::AggregateWrite, Problem> {
    aggregate_write(
        ORDER,
        record.order.id.uuid(),
        expected,
        record.order.buyer.to_string(),
        status_str(record.order.status),
        record,
        at,
    )
}

/// Adds the writes of `next`, decided from `before` (`None`: a new order) stored at version
/// `expected`, to `batch`: the order; its provider index when the status changed (or the
/// index is missing); its settlement items; and the sale-count deadline the change implies
/// (paid, or refunded in full — see [`order::sale_change`]). Returns the record as written.
/// A write that adds a refund also owes the invoice its follow-up: see
/// `reactions::order_refunded`.
pub fn write_record(
    batch: &mut WriteBatch,
    before: Option<&OrderRecord>,
    mut next: OrderRecord,
    expected: Option<i64>,
    at: Timestamp,
) -> Result<OrderRecord, Problem> {
    let index_expected = before.and_then(|b| b.index_version);
    next.index_version = index_expected;
    let status_changed = before.is_none_or(|b| b.order.status != next.order.status);
    if status_changed || index_expected.is_none() {
        let index = ProviderOrderIndex {
            order_id: next.order.id,
            provider: next.order.terms.provider,
            product: next.order.terms.product,
        };
        batch.aggregates.push(aggregate_write(
            PROVIDER_ORDER,
            next.order.id.uuid(),
            index_expected,
            next.order.terms.provider.to_string(),
            status_str(next.order.status),
            &index,
            at,
        )?);
        next.index_version = Some(index_expected.map_or(1, |v| v + 1));
    }
    batch.aggregates.push(order_write(&next, expected, at)?);
    batch.settlement_items.extend(
        yunshi_core::settlement::items_of_change(before.map(|b| &b.order), &next.order)
            .map_err(Problem::internal)?,
    );
    if let Some(change) = order::sale_change(before.map(|b| &b.order), &next.order) {
        let outcome = Outcome {
            schedule: vec![order::sale_deadline(&next.order, change, at)],
            ..Outcome::default()
        };
        add_outcome(batch, outcome, at);
    }
    Ok(next)
}

/// The order `id` as stored, if any.
pub async fn load_order(
    store: &Store,
    id: Uuid,
) -> Result<Option<crate::kernel::pipeline::Loaded<OrderRecord>>, Problem> {
    crate::kernel::pipeline::load::<OrderRecord>(store, ORDER, id).await
}

/// Adds to `batch` the order's new SaaS delivery state after its `create` delivery was
/// acknowledged (`delivered`) or dead-lettered, conditional on the loaded version; nothing
/// if it is already in that state. Money is untouched.
pub fn mark_delivery(
    batch: &mut WriteBatch,
    loaded: &crate::kernel::pipeline::Loaded<OrderRecord>,
    delivered: bool,
    at: Timestamp,
) -> Result<(), Problem> {
    let changed = if delivered {
        order::delivery_succeeded(&loaded.state.order, at)
    } else {
        order::delivery_failed(&loaded.state.order, at)
    };
    let Some(order) = changed else {
        return Ok(());
    };
    let record = OrderRecord {
        order,
        ..loaded.state.clone()
    };
    write_record(batch, Some(&loaded.state), record, Some(loaded.version), at)?;
    Ok(())
}
