//! What a final decision does, applied in the same `WriteBatch` as the decision: points
//! booked to the rule year, the threshold checked, the store frozen or blocked (lifted by the
//! stores' stored deadlines), the deposit deducted, and on expulsion the provider expelled
//! (or banned), every store closed, every product delisted and the deposit forfeited where
//! the rulebook says so. Unfinished orders are refunded on expulsion through the exits
//! module's shared exit code, in the same batch (SPEC §13; `case.applied.exit`).

use jiff::Timestamp;
use serde_json::json;
use yunshi_core::governance::{Case, StackedMeasure, ViolationRecord, plan_penalty};
use yunshi_core::ids::ProviderId;
use yunshi_core::ledger::{Account, AccountKind};
use yunshi_core::listing::HoldKind;
use yunshi_core::money::Fen;
use yunshi_core::provider::Provider;
use yunshi_core::rulebook::{ExtraMeasure, MarketplaceRulebook};
use yunshi_core::storefront::Store;
use yunshi_store::{StoredAggregate, WriteBatch};

use crate::kernel::context::act_rulebook;
use crate::kernel::context::with_ctx;
use crate::kernel::pipeline::{add_outcome, aggregate_write, load};
use crate::kernel::problem::Problem;
use crate::kernel::repo::RECORD;
use crate::kernel::repo::all_owned;
use crate::kernel::repo::products::PRODUCT;
use crate::kernel::repo::products::ProductRecord;
use crate::kernel::repo::products::product_write;
use crate::kernel::repo::providers::PROVIDER;
use crate::kernel::repo::providers::STORE;
use crate::kernel::repo::providers::load_provider;
use crate::kernel::repo::providers::store_write;
use crate::kernel::state::AppState;
use yunshi_core::governance::{ProductsReached, penalty_effects, products_reached};

/// Delists the stored product `stored` under hold `key` (by the operator, for `reason`),
/// in `batch`.
pub(crate) fn delist_in_batch(
    state: &AppState,
    rb: &MarketplaceRulebook,
    stored: &StoredAggregate,
    key: &str,
    reason: &str,
    now: Timestamp,
    batch: &mut WriteBatch,
) -> Result<(), Problem> {
    let mut record: ProductRecord = read(stored)?;
    let (next, outcome) = with_ctx(state, now, rb, |ctx| {
        record
            .product
            .place_hold(ctx, key, HoldKind::Delisted, reason, None)
    })
    .map_err(|e| Problem::refusal(&e))?;
    record.product = next;
    batch
        .aggregates
        .push(product_write(&record, Some(stored.version), now)?);
    add_outcome(batch, outcome, now);
    Ok(())
}

fn read<T: serde::de::DeserializeOwned>(a: &StoredAggregate) -> Result<T, Problem> {
    serde_json::from_value(a.state.clone()).map_err(|e| {
        Problem::internal(format!(
            "stored {} {} does not read back: {e}",
            a.kind, a.id
        ))
    })
}

/// The deposit held for `provider` now (a positive amount).
pub(crate) async fn deposit_held(state: &AppState, provider: ProviderId) -> Result<Fen, Problem> {
    let b = state
        .store
        .balance(&Account::new(
            AccountKind::DepositsHeld,
            provider.to_string(),
        ))
        .await?;
    b.checked_abs().map_err(Problem::internal)
}

/// Penalties owed beyond the deposit.
pub(crate) async fn penalties_owed(state: &AppState, provider: ProviderId) -> Result<Fen, Problem> {
    let b = state
        .store
        .balance(&Account::new(
            AccountKind::PenaltiesReceivable,
            provider.to_string(),
        ))
        .await?;
    b.checked_abs().map_err(Problem::internal)
}

pub(crate) async fn load_record(
    state: &AppState,
    provider: ProviderId,
) -> Result<(ViolationRecord, Option<i64>), Problem> {
    Ok(
        match load::<ViolationRecord>(&state.store, RECORD, provider.uuid()).await? {
            Some(l) => (l.state, Some(l.version)),
            None => (ViolationRecord::new(provider), None),
        },
    )
}

/// Applies the final decision of `case` (already `decided`) into `batch`.
pub(crate) async fn apply_final(
    state: &AppState,
    case: &mut Case,
    now: Timestamp,
    batch: &mut WriteBatch,
) -> Result<(), Problem> {
    let rb = act_rulebook(state, case)?;
    let provider = case.provider;
    let owner = provider.to_string();
    let (record, record_version) = load_record(state, provider).await?;
    let held = deposit_held(state, provider).await?;
    let (record, plan, outcome) = with_ctx(state, now, rb, |ctx| {
        plan_penalty(&record, case, held, rb, ctx)
    })
    .map_err(|e| Problem::refusal(&e))?;
    add_outcome(batch, outcome, now);
    batch.aggregates.push(aggregate_write(
        RECORD,
        provider.uuid(),
        record_version,
        owner.clone(),
        "record",
        &record,
        now,
    )?);
    // A deduction short of expulsion demands a top-up (SPEC §10); an expelled provider's
    // deposit is forfeited instead.
    if !plan.expel && !plan.deposit_deducted.is_zero() {
        let held_after = held
            .checked_sub(plan.deposit_deducted)
            .map_err(Problem::internal)?;
        crate::reactions::deposit::record_violation_deduction(
            state,
            batch,
            case,
            plan.deposit_deducted,
            held_after,
            now,
        )
        .await?;
    }
    // The provider, its stores and the products the plan reaches, as the core decides.
    let provider_row = match plan.expel || plan.ban {
        true => load_provider(state, provider).await?,
        false => None,
    };
    let stores = all_owned(state, STORE, &owner).await?;
    let store_states = stores.iter().map(read).collect::<Result<Vec<Store>, _>>()?;
    let products = match products_reached(&plan) {
        ProductsReached::All => all_owned(state, PRODUCT, &owner).await?,
        ProductsReached::CaseProduct => match case.product {
            Some(product) => vec![
                state
                    .store
                    .aggregate(PRODUCT, product.uuid())
                    .await?
                    .ok_or_else(|| {
                        Problem::internal(format!("case {} names no product", case.id))
                    })?,
            ],
            None => Vec::new(),
        },
        ProductsReached::None => Vec::new(),
    };
    let records = products
        .iter()
        .map(read)
        .collect::<Result<Vec<ProductRecord>, _>>()?;
    let product_states: Vec<_> = records.iter().map(|r| r.product.clone()).collect();
    let effects = with_ctx(state, now, rb, |ctx| {
        penalty_effects(
            case,
            &plan,
            provider_row.as_ref().map(|p| &p.state),
            &store_states,
            &product_states,
            ctx,
        )
    })
    .map_err(|e| Problem::refusal(&e))?;
    if let (Some((next, outcome)), Some(p)) = (effects.provider, &provider_row) {
        write_provider(batch, &next, p.version, now)?;
        add_outcome(batch, outcome, now);
    }
    for (i, next, outcome) in effects.stores {
        batch
            .aggregates
            .push(store_write(&next, Some(stores[i].version), now)?);
        add_outcome(batch, outcome, now);
    }
    for (i, next, outcome) in effects.products {
        let record = ProductRecord {
            product: next,
            ..records[i].clone()
        };
        batch
            .aggregates
            .push(product_write(&record, Some(products[i].version), now)?);
        add_outcome(batch, outcome, now);
    }
    // Unfinished orders refunded per the rulebook (ALI partly delivered services: a refund
    // task), the tenure ended, the exit announced (SPEC §13).
    let exit_effects = match plan.expel {
        true => {
            Some(crate::reactions::exit::expulsion_effects(state, provider, rb, now, batch).await?)
        }
        false => None,
    };
    add_outcome(batch, effects.outcome, now);
    let pending = effects.pending_tasks;
    case.applied = Some(json!({ "plan": plan, "pending_tasks": pending, "exit": exit_effects }));
    Ok(())
}

fn write_provider(
    batch: &mut WriteBatch,
    p: &Provider,
    version: i64,
    now: Timestamp,
) -> Result<(), Problem> {
    batch.aggregates.push(aggregate_write(
        PROVIDER,
        p.id.uuid(),
        Some(version),
        p.id.to_string(),
        p.status.label(),
        p,
        now,
    )?);
    Ok(())
}

/// What a measure stacked on `case` does now, in the batch that stacks it: the money measures
/// through the deposit (an extra deposit required, a deduction), hiding every store (TC 屏蔽),
/// delisting the case's product (TC 删除). The others — display demotion, category and
/// publishing restriction, account ban — are recorded on the case and not yet enforced; a
/// public notice needs nothing more, the decided case is on the public notice list already.
/// Applies `decide` to each of the provider's stores not closed for good, in `batch`: the
/// store write and its outcome for each it changes (`None`: leave it). Returns how many
/// changed.
pub(crate) async fn each_store_in_batch(
    state: &AppState,
    owner: &str,
    rb: &MarketplaceRulebook,
    now: Timestamp,
    batch: &mut WriteBatch,
    decide: impl Fn(
        &Store,
        &mut yunshi_core::decision::Context<'_>,
    ) -> Option<
        Result<(Store, yunshi_core::decision::Outcome), yunshi_core::storefront::StoreError>,
    >,
) -> Result<usize, Problem> {
    let mut changed = 0;
    for stored in all_owned(state, STORE, owner).await? {
        let store: Store = read(&stored)?;
        if store.closed.is_some() {
            continue;
        }
        let Some(decided) = with_ctx(state, now, rb, |ctx| decide(&store, ctx)) else {
            continue;
        };
        let (next, outcome) = decided.map_err(|e| Problem::refusal(&e))?;
        batch
            .aggregates
            .push(store_write(&next, Some(stored.version), now)?);
        add_outcome(batch, outcome, now);
        changed += 1;
    }
    Ok(changed)
}

pub(crate) async fn apply_stacked(
    state: &AppState,
    case: &Case,
    measure: &StackedMeasure,
    now: Timestamp,
    batch: &mut WriteBatch,
) -> Result<(), Problem> {
    let owner = case.provider.to_string();
    let rb = crate::kernel::context::rulebook_at(state, now)?;
    match measure.measure {
        ExtraMeasure::ExtraDeposit | ExtraMeasure::DepositDeduction => {
            crate::reactions::deposit::stacked_in_batch(state, batch, case, measure, now).await
        }
        ExtraMeasure::Hide => {
            let reason = format!("屏蔽 hidden: {} — {}", case.row.code, measure.reason);
            each_store_in_batch(state, &owner, rb, now, batch, |store, ctx| {
                (store.hidden.is_none()).then(|| store.hide(&reason, ctx))
            })
            .await
            .map(|_| ())
        }
        ExtraMeasure::Delete => {
            let Some(product) = case.product else {
                return Ok(());
            };
            let Some(stored) = state.store.aggregate(PRODUCT, product.uuid()).await? else {
                return Err(Problem::internal(format!(
                    "case {} names no product",
                    case.id
                )));
            };
            let key = format!("violation:{}:delete", case.id);
            let reason = format!("删除 deleted: {} — {}", case.row.code, measure.reason);
            delist_in_batch(state, rb, &stored, &key, &reason, now, batch)
        }
        ExtraMeasure::LowerDisplayRank
        | ExtraMeasure::PublicNotice
        | ExtraMeasure::CategoryRestriction
        | ExtraMeasure::PublishingRestriction
        | ExtraMeasure::AccountBan => Ok(()),
    }
}
