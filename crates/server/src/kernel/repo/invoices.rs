//! Invoice requests (aggregate `invoice_request`, owned by the provider), reached from an
//! order by the unique key `invoice.order`.

use crate::kernel::pipeline::{Loaded, add_outcome, aggregate_write};
use crate::kernel::problem::Problem;
use crate::kernel::repo::INVOICE;
use jiff::Timestamp;
use yunshi_core::decision::Outcome;
use yunshi_core::invoice::InvoiceRequest;
use yunshi_store::WriteBatch;

/// Unique-key scope: one invoice request per order (order id → request id).
pub const ORDER_SCOPE: &str = "invoice.order";

pub fn invoice_write(
    r: &InvoiceRequest,
    version: Option<i64>,
    now: Timestamp,
) -> Result<yunshi_store::AggregateWrite, Problem> {
    aggregate_write(
        INVOICE,
        r.id,
        version,
        r.provider.to_string(),
        r.status.label(),
        r,
        now,
    )
}

/// Writes a decided transition — the request and what the core decided — into `batch`.
pub fn write_decided(
    loaded: &Loaded<InvoiceRequest>,
    decided: (InvoiceRequest, Outcome),
    now: Timestamp,
    batch: &mut WriteBatch,
) -> Result<InvoiceRequest, Problem> {
    let (next, outcome) = decided;
    add_outcome(batch, outcome, now);
    if next != loaded.state {
        batch
            .aggregates
            .push(invoice_write(&next, Some(loaded.version), now)?);
    }
    Ok(next)
}
