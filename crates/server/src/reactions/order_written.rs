//! An order written: the order and its index through the repository, and when the write
//! adds a refund payment, the order's invoice request follows in the same batch.

use crate::kernel::pipeline::{Loaded, add_outcome, load};
use crate::kernel::problem::Problem;
use crate::kernel::repo::INVOICE;
use crate::kernel::repo::invoices::{ORDER_SCOPE, write_decided};
use crate::kernel::repo::orders::{OrderRecord, write_record};
use crate::kernel::state::AppState;
use jiff::Timestamp;
use yunshi_core::decision::Outcome;
use yunshi_core::invoice::InvoiceRequest;
use yunshi_core::order::Order;
use yunshi_store::WriteBatch;

/// The order was refunded (`order` as it is now, with the refund payments): the order's
/// invoice request, if there is one, follows in `batch` — the amount drops before issue, a
/// return or red-letter task opens after it (TC 5.5.2). Refunds already applied are skipped,
/// so calling it twice for one refund changes nothing.
/// An order written with a refund changes its invoice request (a task to reissue or to
/// deduct, `yunshi_core::invoice`).
pub async fn on_order_refunded(
    state: &AppState,
    batch: &mut WriteBatch,
    order: &Order,
    at: Timestamp,
) -> Result<(), Problem> {
    let Some(id) = state
        .store
        .unique_key(ORDER_SCOPE, &order.id.to_string())
        .await?
    else {
        return Ok(());
    };
    let Some(loaded) = load::<InvoiceRequest>(&state.store, INVOICE, id).await? else {
        return Ok(());
    };
    let decided =
        crate::kernel::context::decide(state, at, |ctx| loaded.state.on_refunds(order, ctx))?
            .map_err(|e| Problem::refusal(&e))?;
    write_decided(&loaded, decided, at, batch)?;
    Ok(())
}

/// Adds the writes of `next`, decided from `before` (`None`: a new order) that was stored at
/// version `expected`, to `batch`: the order; its provider index when the status changed
/// (or the index is missing); and the sale-count deadline the change implies (paid, or
/// refunded in full — see [`order::sale_change`]); and, when it adds a refund payment, the
/// invoice's follow-up ([`on_order_refunded`]). Returns the record as written.
pub async fn write_order(
    state: &AppState,
    batch: &mut WriteBatch,
    before: Option<&OrderRecord>,
    next: OrderRecord,
    expected: Option<i64>,
    at: Timestamp,
) -> Result<OrderRecord, Problem> {
    let refunded = yunshi_core::invoice::adds_refund(before.map(|b| &b.order), &next.order);
    let record = write_record(batch, before, next, expected, at)?;
    if refunded {
        on_order_refunded(state, batch, &record.order, at).await?;
    }
    Ok(record)
}

/// Adds `next`, decided from the order record `loaded`, and the decision's `outcome` to
/// `batch`: [`write_order`] keeping the record's warranty, then the outcome.
pub async fn write_changed(
    state: &AppState,
    batch: &mut WriteBatch,
    loaded: &Loaded<OrderRecord>,
    next: Order,
    outcome: Outcome,
    at: Timestamp,
) -> Result<OrderRecord, Problem> {
    let record = OrderRecord {
        order: next,
        warranty_days: loaded.state.warranty_days,
        index_version: None,
    };
    let written = write_order(
        state,
        batch,
        Some(&loaded.state),
        record,
        Some(loaded.version),
        at,
    )
    .await?;
    add_outcome(batch, outcome, at);
    Ok(written)
}
