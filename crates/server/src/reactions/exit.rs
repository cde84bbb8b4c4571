//! A provider leaves (SPEC §13): its unfinished orders refunded in full, turned into a refund
//! task (ALI, partly delivered services) or cancelled; its tenure ended; the exit announced
//! — for a voluntary exit, a termination, a term's end or an expulsion alike. A provider
//! admitted begins a tenure; one that has left may only read in its console.

use crate::kernel::context::rulebook_at;
use crate::kernel::context::with_ctx;
use crate::kernel::pipeline::{Loaded, add_outcome, aggregate_write};
use crate::kernel::problem::Problem;
use crate::kernel::repo::all_owned;
use crate::kernel::repo::exits::*;
use crate::kernel::repo::orders::PROVIDER_ORDER;
use crate::kernel::repo::orders::load_order;
use crate::kernel::repo::products::PRODUCT;
use crate::kernel::repo::providers::PROVIDER;
use crate::kernel::repo::providers::STORE;
use crate::kernel::repo::providers::load_provider;
use crate::kernel::repo::{EXIT_NOTICE, EXIT_TASK, TENURE};
use crate::kernel::state::AppState;
use crate::reactions::order_written::write_changed;
use jiff::Timestamp;
use serde_json::json;
use uuid::Uuid;
use yunshi_core::decision::Outcome;
use yunshi_core::ids::ProviderId;
use yunshi_core::order::{self, ExitSettlement};
use yunshi_core::provider::{ConsoleAction, ExitError, ExitKind, Provider, Tenure, console_allows};
use yunshi_core::rulebook::MarketplaceRulebook;
use yunshi_core::storefront::Store;
use yunshi_store::{AggregateQuery, AggregateWrite, WriteBatch};

pub fn refused(e: ExitError) -> Problem {
    Problem::refusal(&e)
}

pub fn read<T: serde::de::DeserializeOwned>(
    a: &yunshi_store::StoredAggregate,
) -> Result<T, Problem> {
    serde_json::from_value(a.state.clone()).map_err(|e| {
        Problem::internal(format!(
            "stored {} {} does not read back: {e}",
            a.kind, a.id
        ))
    })
}

pub fn tenure_write(
    t: &Tenure,
    version: Option<i64>,
    now: Timestamp,
) -> Result<AggregateWrite, Problem> {
    aggregate_write(
        TENURE,
        t.id,
        version,
        t.provider.to_string(),
        t.status_label(),
        t,
        now,
    )
}

pub fn provider_write(
    p: &Provider,
    version: i64,
    now: Timestamp,
) -> Result<AggregateWrite, Problem> {
    aggregate_write(
        PROVIDER,
        p.id.uuid(),
        Some(version),
        p.id.to_string(),
        p.status.label(),
        p,
        now,
    )
}

pub fn notice_write(
    n: &ExitNotice,
    version: Option<i64>,
    now: Timestamp,
) -> Result<AggregateWrite, Problem> {
    aggregate_write(
        EXIT_NOTICE,
        n.id,
        version,
        n.provider.to_string(),
        n.status_label(),
        n,
        now,
    )
}

pub fn task_write(
    t: &ExitRefundTask,
    version: Option<i64>,
    now: Timestamp,
) -> Result<AggregateWrite, Problem> {
    aggregate_write(
        EXIT_TASK,
        t.id,
        version,
        t.provider.to_string(),
        t.status.label(),
        t,
        now,
    )
}

/// The provider's open tenure (not ended), if any; with `ended`, the latest one at all.
pub async fn current_tenure(
    state: &AppState,
    provider: ProviderId,
    ended: bool,
) -> Result<Option<Loaded<Tenure>>, Problem> {
    let mut best: Option<Loaded<Tenure>> = None;
    for a in all_owned(state, TENURE, &provider.to_string()).await? {
        let t: Tenure = read(&a)?;
        if !ended && !t.is_open() {
            continue;
        }
        if best.as_ref().is_none_or(|b| b.state.began_at <= t.began_at) {
            best = Some(Loaded {
                id: a.id,
                version: a.version,
                owner: a.owner,
                state: t,
            });
        }
    }
    Ok(best)
}

/// The tenure of a provider admitted now (called by onboarding in the admitting batch): its
/// agreement term and the term's end deadline. Keyed by the application, so a re-admission
/// after an exit gets a fresh one.
pub fn begin_tenure(
    state: &AppState,
    provider: &Provider,
    application: &yunshi_core::provider::Application,
    now: Timestamp,
) -> Result<(AggregateWrite, Outcome), Problem> {
    let (agreement, signer) = application
        .agreement
        .as_ref()
        .map_or(("", None), |a| (a.version.as_str(), Some(a.signer)));
    let (tenure, outcome) = crate::kernel::context::decide(state, now, |ctx| {
        Tenure::begin(application.id.uuid(), provider.id, agreement, signer, ctx)
    })?
    .map_err(refused)?;
    Ok((tenure_write(&tenure, None, now)?, outcome))
}

/// Refuses with 403 `console_access_limited` when the provider has left the marketplace and
/// `action` is more than reading (ALI-A 7.1.4). Called by the catalogue and store handlers.
pub async fn require_console(
    state: &AppState,
    provider: ProviderId,
    action: ConsoleAction,
) -> Result<(), Problem> {
    match load_provider(state, provider).await? {
        Some(p) => console_allows(&p.state, action).map_err(refused),
        None => Ok(()),
    }
}

/// [`require_console`] for publishing, when the caller acts for a provider.
pub async fn require_may_publish_as(
    state: &AppState,
    own: Option<ProviderId>,
) -> Result<(), Problem> {
    match own {
        Some(p) => require_console(state, p, ConsoleAction::Publish).await,
        None => Ok(()),
    }
}

/// Settles the provider's unfinished orders into `batch` (SPEC §13): refunded in full, a
/// refund task (ALI, partly delivered services), or cancelled (awaiting payment).
pub async fn settle_orders(
    state: &AppState,
    provider: ProviderId,
    kind: ExitKind,
    rb: &MarketplaceRulebook,
    now: Timestamp,
    batch: &mut WriteBatch,
    effects: &mut ExitEffects,
) -> Result<(), Problem> {
    let rule = rb.exit.unfinished_projects_refund;
    let note = format!(
        "{}：未完成项目退款 / {}: unfinished project refunded",
        kind.title_zh(),
        kind.title_en()
    );
    for index in all_owned(state, PROVIDER_ORDER, &provider.to_string()).await? {
        if !matches!(index.status.as_str(), "held" | "awaiting_payment") {
            continue;
        }
        let Some(loaded) = load_order(&state.store, index.id).await? else {
            continue;
        };
        let order = &loaded.state.order;
        let settled = with_ctx(state, now, rb, |ctx| {
            order::settle_on_exit(order, rule, &note, ctx)
        })
        .map_err(|e| Problem::refusal(&e))?;
        let (next, outcome) = match settled {
            ExitSettlement::Keep => continue,
            ExitSettlement::Cancelled(next, outcome) => {
                effects.cancelled_orders.push(order.id);
                (next, outcome)
            }
            ExitSettlement::Refunded(next, outcome) => {
                effects.refunded_orders.push(order.id);
                (next, outcome)
            }
            ExitSettlement::Assess {
                confirmed_milestones,
                milestones,
                paid,
                refundable,
            } => {
                let task = ExitRefundTask {
                    id: Uuid::now_v7(),
                    provider,
                    order: order.id,
                    buyer: order.buyer,
                    exit_kind: kind,
                    created_at: now,
                    paid,
                    refundable,
                    milestones,
                    confirmed_milestones,
                    status: TaskStatus::Open,
                    resolution: None,
                };
                batch.aggregates.push(task_write(&task, None, now)?);
                add_outcome(
                    batch,
                    Outcome::default().event(
                        "exit.refund_task_opened",
                        order.subject(),
                        json!({ "task": task.id, "order_id": order.id, "exit_kind": kind }),
                    ),
                    now,
                );
                effects.refund_tasks.push(task.id);
                continue;
            }
        };
        write_changed(state, batch, &loaded, next, outcome, now).await?;
    }
    Ok(())
}

/// Publishes the exit announcement (ALI-A 7.1.4) into `batch`.
pub async fn announce(
    state: &AppState,
    provider: ProviderId,
    tenure: Option<Uuid>,
    kind: ExitKind,
    now: Timestamp,
    batch: &mut WriteBatch,
) -> Result<Uuid, Problem> {
    let notice = ExitNotice {
        id: Uuid::now_v7(),
        provider,
        tenure,
        kind: ExitNoticeKind::Exit,
        exit_kind: kind,
        stores: store_names(state, provider).await?,
        published_at: now,
        effective_at: now,
        pending: None,
        withdrawn_at: None,
    };
    batch.aggregates.push(notice_write(&notice, None, now)?);
    Ok(notice.id)
}

pub async fn store_names(state: &AppState, provider: ProviderId) -> Result<Vec<String>, Problem> {
    let mut names = Vec::new();
    for a in all_owned(state, STORE, &provider.to_string()).await? {
        let s: Store = read(&a)?;
        names.push(s.name);
    }
    Ok(names)
}

/// Ends the tenure in `batch` (or records an ended one where there was none).
pub fn end_tenure(
    state: &AppState,
    provider: ProviderId,
    tenure: Option<&Loaded<Tenure>>,
    kind: ExitKind,
    reason: &str,
    now: Timestamp,
    batch: &mut WriteBatch,
) -> Result<Uuid, Problem> {
    let (base, version) = match tenure {
        Some(t) => (t.state.clone(), Some(t.version)),
        None => (Tenure::untermed(Uuid::now_v7(), provider, now), None),
    };
    let (ended, outcome) =
        crate::kernel::context::decide(state, now, |ctx| base.record_exit(kind, reason, ctx))?;
    batch.aggregates.push(tenure_write(&ended, version, now)?);
    add_outcome(batch, outcome, now);
    Ok(ended.id)
}

/// Applies an exit of `kind` (not expulsion) in `batch`: the provider's standing, the tenure,
/// stores hidden, products delisted, orders settled, the exit announced.
pub async fn apply_exit(
    state: &AppState,
    provider: &Loaded<Provider>,
    tenure: Option<&Loaded<Tenure>>,
    kind: ExitKind,
    reason: &str,
    now: Timestamp,
    batch: &mut WriteBatch,
) -> Result<(Provider, ExitEffects), Problem> {
    let rb = rulebook_at(state, now)?;
    let pid = provider.state.id;
    let owner = pid.to_string();
    let (left, outcome) = with_ctx(state, now, rb, |ctx| provider.state.leave_by(kind, ctx))
        .map_err(|e| Problem::refusal(&e))?;
    batch
        .aggregates
        .push(provider_write(&left, provider.version, now)?);
    add_outcome(batch, outcome, now);
    let tenure_id = end_tenure(state, pid, tenure, kind, reason, now, batch)?;
    let mut effects = ExitEffects::default();

    // Stores hidden, products delisted (ALI-A 7.1.4).
    let why = format!("{} / {}", kind.title_zh(), kind.title_en());
    effects.hidden_stores += crate::reactions::penalties::each_store_in_batch(
        state,
        &owner,
        rb,
        now,
        batch,
        |store, ctx| Some(store.hide_on_exit(&why, ctx)),
    )
    .await?;
    let key = format!("exit:{tenure_id}");
    for stored in all_owned(state, PRODUCT, &owner).await? {
        crate::reactions::penalties::delist_in_batch(state, rb, &stored, &key, &why, now, batch)?;
        effects.delisted_products += 1;
    }
    settle_orders(state, pid, kind, rb, now, batch, &mut effects).await?;
    effects.notice = Some(announce(state, pid, Some(tenure_id), kind, now, batch).await?);
    tracing::info!(provider = %pid, kind = kind.label(), refunded = effects.refunded_orders.len(), tasks = effects.refund_tasks.len(), "provider exit took effect");
    Ok((left, effects))
}

/// What an expulsion adds to the case's decision batch (the case already expelled the
/// provider, closed its stores and delisted its products): unfinished orders settled per the
/// rulebook, the tenure ended, the exit announced. Returns the summary for the case record.
pub async fn expulsion_effects(
    state: &AppState,
    provider: ProviderId,
    rb: &MarketplaceRulebook,
    now: Timestamp,
    batch: &mut WriteBatch,
) -> Result<ExitEffects, Problem> {
    let mut effects = ExitEffects::default();
    settle_orders(
        state,
        provider,
        ExitKind::Expulsion,
        rb,
        now,
        batch,
        &mut effects,
    )
    .await?;
    let tenure = current_tenure(state, provider, false).await?;
    let tenure_id = end_tenure(
        state,
        provider,
        tenure.as_ref(),
        ExitKind::Expulsion,
        "清退 expelled",
        now,
        batch,
    )?;
    effects.notice = Some(
        announce(
            state,
            provider,
            Some(tenure_id),
            ExitKind::Expulsion,
            now,
            batch,
        )
        .await?,
    );
    Ok(effects)
}

/// Exit notices after `after`, oldest first, at most `limit`, for `GET /api/v1/notices`.
pub async fn published_notices(
    state: &AppState,
    after: Option<Uuid>,
    limit: u32,
) -> Result<Vec<ExitNotice>, Problem> {
    let page = state
        .store
        .aggregates(&AggregateQuery {
            kind: EXIT_NOTICE.into(),
            owner: None,
            status: Some("published".into()),
            after,
            limit,
        })
        .await?;
    page.iter().map(read).collect()
}
