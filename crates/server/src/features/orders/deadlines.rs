//! The order deadlines fired in bulk or one by one: the guarantee window's end, which releases
//! the escrow (or defers it while a refund is open), and the sale count a paid or fully
//! refunded order schedules for its product.

use super::*;

/// `order.guarantee_window_end`: releases the escrow (or defers it while a refund is open),
/// in the same batch that fires the deadline.
pub(super) fn fire_window_end(state: AppState, deadline: Deadline) -> HandlerFuture {
    Box::pin(async move { window_end(&state, &deadline).await })
}

/// The window-end handler, callable directly (tests, a deadline worker).
pub async fn window_end(state: &AppState, deadline: &Deadline) -> Result<(), Problem> {
    let id = window_end_order(deadline)?;
    crate::kernel::pipeline::fire(state, deadline, |now| async move {
        let loaded = crate::kernel::pipeline::load::<OrderRecord>(&state.store, ORDER, id).await?;
        window_end_batch(state, deadline, loaded, now).await
    })
    .await
}

/// `order.guarantee_window_end` in bulk ([`crate::kernel::deadlines::BatchHandler`]): a day's window
/// ends fall at one instant by the thousand, so their orders are read together and their
/// firings committed together, each in its own batch (one lost race undoes no other); a
/// firing that lost a race fires again alone.
pub(super) fn fire_window_ends(state: AppState, deadlines: Vec<Deadline>) -> HandlerFuture {
    Box::pin(async move { window_ends(&state, &deadlines).await })
}

async fn window_ends(state: &AppState, deadlines: &[Deadline]) -> Result<(), Problem> {
    let ids = deadlines
        .iter()
        .map(window_end_order)
        .collect::<Result<Vec<_>, _>>()?;
    let mut loaded: HashMap<Uuid, Loaded<OrderRecord>> =
        crate::kernel::pipeline::load_many(&state.store, ORDER, ids.clone())
            .await?
            .into_iter()
            .map(|l| (l.id, l))
            .collect();
    let mut firings = Vec::with_capacity(deadlines.len());
    for (deadline, id) in deadlines.iter().zip(&ids) {
        let now = crate::kernel::deadlines::firing_time(state, deadline);
        let batch = window_end_batch(state, deadline, loaded.remove(id), now).await?;
        firings.push((deadline, now, batch));
    }
    for deadline in crate::kernel::pipeline::fire_each(state, firings).await? {
        window_end(state, deadline).await?;
    }
    Ok(())
}

/// The order an order deadline names (its payload's `order_id`, else its subject).
pub(super) fn window_end_order(deadline: &Deadline) -> Result<Uuid, Problem> {
    deadline
        .payload
        .get("order_id")
        .and_then(|v| v.as_str())
        .and_then(|s| Uuid::parse_str(s).ok())
        .or_else(|| {
            deadline
                .subject
                .strip_prefix("order:")
                .and_then(|s| Uuid::parse_str(s).ok())
        })
        .ok_or_else(|| Problem::internal(format!("deadline {} names no order", deadline.id)))
}

/// What a window end firing at `now` writes: the order (as `loaded`) released from escrow
/// where it still held it.
async fn window_end_batch(
    state: &AppState,
    deadline: &Deadline,
    loaded: Option<Loaded<OrderRecord>>,
    now: Timestamp,
) -> Result<WriteBatch, Problem> {
    let mut batch = WriteBatch::default();
    if let Some(loaded) = loaded {
        let (next, mut outcome) = decide(state, now, |ctx| {
            order::guarantee_window_ended(&loaded.state.order, ctx)
        })?;
        // This deadline is fired by this batch, not cancelled.
        if let Some(key) = &deadline.dedupe_key {
            outcome.cancel.retain(|k| k != key);
        }
        if next != loaded.state.order {
            crate::reactions::order_written::write_changed(
                state, &mut batch, &loaded, next, outcome, now,
            )
            .await?;
        } else {
            add_outcome(&mut batch, outcome, now);
        }
    }
    Ok(batch)
}

/// How often applying a sale to a product's count is retried after losing a race (other
/// sale deadlines of a popular product firing on other workers).
const SALE_COUNT_ATTEMPTS: u32 = 32;

/// `order.sale_count`: applies one paid / refunded change to the product's sales count, in
/// the batch that fires the deadline (exactly once per order and change).
pub(super) fn fire_sale_count(state: AppState, deadline: Deadline) -> HandlerFuture {
    Box::pin(async move { count_sale(&state, &deadline).await })
}

/// The sale-count handler for one deadline.
pub async fn count_sale(state: &AppState, deadline: &Deadline) -> Result<(), Problem> {
    count_sales(state, std::slice::from_ref(deadline)).await
}

/// `order.sale_count` in bulk ([`crate::kernel::deadlines::BatchHandler`]): every claimed change,
/// grouped by product, applied with all the firings in one batch — one commit per round of
/// the deadline worker instead of one per paid order. If one of them was fired meanwhile by
/// another worker, each is applied alone instead.
pub(super) fn fire_sale_counts(state: AppState, deadlines: Vec<Deadline>) -> HandlerFuture {
    Box::pin(async move {
        match count_sales(&state, &deadlines).await {
            Err(_) if deadlines.len() > 1 => {
                for deadline in &deadlines {
                    count_sales(&state, std::slice::from_ref(deadline)).await?;
                }
                Ok(())
            }
            done => done,
        }
    })
}

/// Applies the sale changes of `deadlines` to their products' counts in the batch that fires
/// them all (exactly once per order and change).
async fn count_sales(state: &AppState, deadlines: &[Deadline]) -> Result<(), Problem> {
    let mut changes: std::collections::BTreeMap<Uuid, (ProviderId, Vec<order::SaleChange>)> =
        std::collections::BTreeMap::new();
    for deadline in deadlines {
        match serde_json::from_value::<SaleCount>(deadline.payload.clone()) {
            Ok(count) => changes
                .entry(count.product_id.0)
                .or_insert_with(|| (count.provider_id, Vec::new()))
                .1
                .push(count.change),
            Err(e) => {
                tracing::error!(deadline = %deadline.id, error = %e, "malformed sale count; dropped");
            }
        }
    }
    let changes = &changes;
    crate::kernel::pipeline::fire_together(state, deadlines, SALE_COUNT_ATTEMPTS, |at| async move {
        let mut aggregates = Vec::with_capacity(changes.len());
        for (&product, (provider, product_changes)) in changes {
            let current =
                crate::kernel::pipeline::load::<ProductSales>(&state.store, PRODUCT_SALES, product)
                    .await?;
            let mut next = current.as_ref().map(|l| l.state).unwrap_or_default();
            for &change in product_changes {
                next = next.with(change).map_err(|e| Problem::refusal(&e))?;
            }
            aggregates.push(aggregate_write(
                PRODUCT_SALES,
                product,
                current.as_ref().map(|l| l.version),
                provider.to_string(),
                "",
                &next,
                at,
            )?);
        }
        Ok(WriteBatch {
            aggregates,
            ..WriteBatch::default()
        })
    })
    .await
}
