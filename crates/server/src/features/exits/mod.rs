//! Exit and re-entry over HTTP (SPEC §13, §3; issue 4 item 6).
//!
//! - The provider's owner leaves: at once (ALI, TC) or, where the rulebook asks for a public
//!   closing notice (JD art.27: 30 days), announced on the notice list and in force when its
//!   stored deadline fires. Withdrawable until then.
//! - Compliance ends the agreement with the rulebook's notice (ALI-A 7.2.3: 15 days).
//! - The agreement term ends with the rulebook's year (ALI-A 7.1: the fiscal year); unsigned,
//!   it is extended once by a month, then the provider exits. The owner renews by signing the
//!   next term.
//! - Expulsion is decided by a violation case; [`expulsion_effects`] gives it the same order
//!   refunds, tenure end and announcement.
//!
//! Whatever the kind, the exit takes effect in **one batch**: the provider's standing, the
//! tenure, every store hidden, every product delisted, every unfinished order refunded per the
//! rulebook (in full, or — ALI, by delivery degree — an explicit refund task for customer
//! service where a service was partly delivered), orders awaiting payment cancelled, and the
//! public exit notice. A deadline that fires again finds the tenure ended and does nothing;
//! the store refuses to fire a deadline twice anyway.
//!
//! Aggregates: `provider_tenure` (the core's [`Tenure`]; id = the admitted application's id,
//! owner = provider), `exit_notice` ([`ExitNotice`]) and `exit_refund_task`
//! ([`ExitRefundTask`]).

pub mod views;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use jiff::Timestamp;
use serde_json::json;
use utoipa::OpenApi;
use uuid::Uuid;
use yunshi_core::account::Capability;
use yunshi_core::decision::{Context, Outcome};
use yunshi_core::ids::ProviderId;
use yunshi_core::order::{self, ExitTreatment};
use yunshi_core::provider::{
    ConsoleAction, EXIT_TAKES_EFFECT, ExitError, ExitKind, ExitStep, Provider, ProviderStatus,
    TERM_ENDS, Tenure, console_allows, reentry_allowed_from,
};
use yunshi_core::rulebook::MarketplaceRulebook;
use yunshi_core::storefront::Store;
use yunshi_core::time::beijing_date;
use yunshi_store::{AggregateQuery, AggregateWrite, Deadline, StoreError, WriteBatch};

use self::views::*;
use crate::AppState;
use crate::features::cases::apply::{all_owned, with_ctx};
use crate::features::catalogue::PRODUCT;
use crate::features::onboarding::{
    PROVIDER, STORE, acts_for, load_provider, rulebook_at, store_write,
};
use crate::features::orders::{OrderRecord, PROVIDER_ORDER, load_order, write_order};
use crate::kernel::auth::Principal;
use crate::kernel::deadlines::{Handler, HandlerFuture};
use crate::kernel::idempotency::{IdempotencyKey, mismatch};
use crate::kernel::pipeline::{Decision, Loaded, add_outcome, aggregate_write, load};
use crate::kernel::problem::path_id;
use crate::kernel::problem::{ApiJson, Problem};

/// Aggregate kind of a provider's tenure (the core's [`Tenure`]).
pub const TENURE: &str = "provider_tenure";
/// Aggregate kind of public exit notices.
pub const EXIT_NOTICE: &str = "exit_notice";
/// Aggregate kind of refund tasks of partly delivered orders.
pub const EXIT_TASK: &str = "exit_refund_task";

#[derive(OpenApi)]
#[openapi(
    paths(
        exit_standing, request_exit, withdraw_exit, give_termination_notice,
        withdraw_termination, renew_agreement, list_tasks, resolve_task,
    ),
    components(schemas(
        ExitRequest, TerminationRequest, RenewalRequest, ResolutionRequest, ExitAnswer,
        ExitEffects, TenureView, ExitStandingView, ExitRefundTask, TaskResolution, TaskStatus,
        TaskPage,
    )),
    tags((name = "exits", description = "Exit and re-entry (退出, SPEC §13, §3)"))
)]
pub struct ApiDoc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/providers/{id}/exit",
            get(exit_standing).post(request_exit),
        )
        .route(
            "/api/v1/providers/{id}/exit/withdrawal",
            post(withdraw_exit),
        )
        .route(
            "/api/v1/providers/{id}/agreement-renewals",
            post(renew_agreement),
        )
        .route(
            "/api/v1/admin/providers/{id}/termination",
            post(give_termination_notice),
        )
        .route(
            "/api/v1/admin/providers/{id}/termination/withdrawal",
            post(withdraw_termination),
        )
        .route("/api/v1/admin/exit-refund-tasks", get(list_tasks))
        .route(
            "/api/v1/admin/exit-refund-tasks/{id}/resolution",
            post(resolve_task),
        )
}

/// The deadline kinds this module fires.
pub const DEADLINES: &[(&str, Handler)] = &[
    (EXIT_TAKES_EFFECT, fire_exit_takes_effect),
    (TERM_ENDS, fire_term_ends),
];

fn refused(e: ExitError) -> Problem {
    Problem::refusal(&e)
}

fn read<T: serde::de::DeserializeOwned>(a: &yunshi_store::StoredAggregate) -> Result<T, Problem> {
    serde_json::from_value(a.state.clone()).map_err(|e| {
        Problem::internal(format!(
            "stored {} {} does not read back: {e}",
            a.kind, a.id
        ))
    })
}

fn tenure_write(
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

fn provider_write(p: &Provider, version: i64, now: Timestamp) -> Result<AggregateWrite, Problem> {
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

fn notice_write(
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

fn task_write(
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

/// Runs `f` with a context under the rulebook in force at `now`.
fn decide_now<T>(
    state: &AppState,
    now: Timestamp,
    f: impl FnOnce(&mut Context<'_>) -> T,
) -> Result<T, Problem> {
    let rulebook = rulebook_at(state, now)?;
    Ok(with_ctx(state, now, rulebook, f))
}

// ---- loading ----

/// The provider's open tenure (not ended), if any; with `ended`, the latest one at all.
pub(crate) async fn current_tenure(
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
pub(crate) fn begin_tenure(
    state: &AppState,
    provider: &Provider,
    application: &yunshi_core::provider::Application,
    now: Timestamp,
) -> Result<(AggregateWrite, Outcome), Problem> {
    let (agreement, signer) = application
        .agreement
        .as_ref()
        .map_or(("", None), |a| (a.version.as_str(), Some(a.signer)));
    let (tenure, outcome) = decide_now(state, now, |ctx| {
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

/// The provider, if the caller may see it (404 otherwise), and whether the caller is its
/// owner (the owner's staff account or the member account that applied).
async fn provider_for(
    state: &AppState,
    principal: &Principal,
    raw: &str,
) -> Result<(Loaded<Provider>, bool), Problem> {
    let pid = ProviderId(path_id(raw, "provider")?);
    let missing = || Problem::not_found(format!("no provider {raw}"));
    let provider = load_provider(state, pid).await?.ok_or_else(missing)?;
    let actor = &principal.actor;
    if !actor.is_operator() && !acts_for(actor, &provider.state) {
        return Err(missing());
    }
    let owner = actor.manages_provider(pid) || actor.acts_for_member(provider.state.member);
    Ok((provider, owner))
}

fn require_owner(owner: bool) -> Result<(), Problem> {
    if owner {
        Ok(())
    } else {
        Err(Problem::forbidden(
            "only the provider's owner acts on its exit and agreement",
        ))
    }
}

// ---- applying an exit ----

/// Settles the provider's unfinished orders into `batch` (SPEC §13): refunded in full, a
/// refund task (ALI, partly delivered services), or cancelled (awaiting payment).
async fn settle_orders(
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
        let decided = match order::exit_treatment(order, rule) {
            ExitTreatment::Keep => None,
            ExitTreatment::Cancel => {
                effects.cancelled_orders.push(order.id);
                Some(with_ctx(state, now, rb, |ctx| order::cancel(order, ctx)))
            }
            ExitTreatment::RefundInFull => {
                effects.refunded_orders.push(order.id);
                Some(with_ctx(state, now, rb, |ctx| {
                    order::refund_on_exit(order, None, &note, ctx)
                }))
            }
            ExitTreatment::Assess {
                confirmed_milestones,
            } => {
                let task = ExitRefundTask {
                    id: Uuid::now_v7(),
                    provider,
                    order: order.id,
                    buyer: order.buyer,
                    exit_kind: kind,
                    created_at: now,
                    paid: order.paid_amount(),
                    refundable: order
                        .refundable_remaining()
                        .map_err(|e| Problem::refusal(&e))?,
                    milestones: order.milestones.len(),
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
                None
            }
        };
        if let Some(decided) = decided {
            let (next, outcome) = decided.map_err(|e| Problem::refusal(&e))?;
            let record = OrderRecord {
                order: next,
                warranty_days: loaded.state.warranty_days,
                index_version: None,
            };
            write_order(
                state,
                batch,
                Some(&loaded.state),
                record,
                Some(loaded.version),
                now,
            )
            .await?;
            add_outcome(batch, outcome, now);
        }
    }
    Ok(())
}

/// Publishes the exit announcement (ALI-A 7.1.4) into `batch`.
async fn announce(
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

async fn store_names(state: &AppState, provider: ProviderId) -> Result<Vec<String>, Problem> {
    let mut names = Vec::new();
    for a in all_owned(state, STORE, &provider.to_string()).await? {
        let s: Store = read(&a)?;
        names.push(s.name);
    }
    Ok(names)
}

/// Ends the tenure in `batch` (or records an ended one where there was none).
fn end_tenure(
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
    let (ended, outcome) = decide_now(state, now, |ctx| base.record_exit(kind, reason, ctx))?;
    batch.aggregates.push(tenure_write(&ended, version, now)?);
    add_outcome(batch, outcome, now);
    Ok(ended.id)
}

/// Applies an exit of `kind` (not expulsion) in `batch`: the provider's standing, the tenure,
/// stores hidden, products delisted, orders settled, the exit announced.
async fn apply_exit(
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
    for stored in all_owned(state, STORE, &owner).await? {
        let store: Store = read(&stored)?;
        if store.closed.is_some() {
            continue;
        }
        let (next, outcome) = with_ctx(state, now, rb, |ctx| store.hide_on_exit(&why, ctx))
            .map_err(|e| Problem::refusal(&e))?;
        batch
            .aggregates
            .push(store_write(&next, Some(stored.version), now)?);
        add_outcome(batch, outcome, now);
        effects.hidden_stores += 1;
    }
    let key = format!("exit:{tenure_id}");
    for stored in all_owned(state, PRODUCT, &owner).await? {
        crate::features::cases::apply::delist_in_batch(state, rb, &stored, &key, &why, now, batch)?;
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
pub(crate) async fn expulsion_effects(
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

// ---- the public notice list ----

/// Exit notices after `after`, oldest first, at most `limit`, for `GET /api/v1/notices`.
pub(crate) async fn published_notices(
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

// ---- handlers ----

/// Answers an idempotent request from the record of its key, if it was used: the stored
/// answer for the same request, 422 for another.
async fn replayed(
    state: &AppState,
    principal: &Principal,
    key: &IdempotencyKey,
    fingerprint: &str,
) -> Result<Option<serde_json::Value>, Problem> {
    let Some(seen) = state
        .store
        .idempotency_record(&principal.principal, &key.0)
        .await?
    else {
        return Ok(None);
    };
    if seen.fingerprint != fingerprint {
        return Err(
            mismatch(&StoreError::IdempotencyMismatch { key: key.0.clone() })
                .unwrap_or_else(|| Problem::conflict("idempotency key reused")),
        );
    }
    Ok(Some(seen.response))
}

/// Commits what `decide` returns with the key's claim; the first answer again on a replay.
async fn run_keyed<F, Fut, A>(
    state: &AppState,
    principal: &Principal,
    key: &IdempotencyKey,
    what: &serde_json::Value,
    mut decide: F,
) -> Result<serde_json::Value, Problem>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(WriteBatch, A), Problem>>,
    A: serde::Serialize,
{
    let fingerprint = key
        .claim(principal, what, &json!(null), state.clock.now())?
        .fingerprint;
    let fingerprint = &fingerprint;
    crate::kernel::pipeline::write(&state.store, || {
        let decided = decide();
        async move {
            if let Some(answer) = replayed(state, principal, key, fingerprint).await? {
                return Ok(Decision::Answer(answer));
            }
            let (mut batch, answer) = match decided.await {
                Ok(v) => v,
                Err(problem) => {
                    // A request with this very key changed the state meanwhile: its answer.
                    if let Some(answer) = replayed(state, principal, key, fingerprint).await? {
                        return Ok(Decision::Answer(answer));
                    }
                    return Err(problem);
                }
            };
            let now = state.clock.now();
            batch.idempotency = Some(key.claim(principal, what, &answer, now)?);
            let answer = serde_json::to_value(&answer).map_err(Problem::internal)?;
            Ok(Decision::Write(batch, answer))
        }
    })
    .await
}

/// The provider's exit standing: the tenure (term, announced exit, how it ended), when it may
/// apply again, and its refund tasks. Operator staff, or the provider itself — a provider
/// that left keeps this read access.
#[utoipa::path(
    get, path = "/api/v1/providers/{id}/exit", tag = "exits", security(("bearer" = [])),
    params(("id" = String, Path, description = "Provider id")),
    responses(
        (status = 200, description = "The exit standing now", body = ExitStandingView),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such provider, or not the caller's", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn exit_standing(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<ExitStandingView>, Problem> {
    let (provider, _) = provider_for(&state, &principal, &id).await?;
    let pid = provider.state.id;
    let now = state.clock.now();
    let rulebook = rulebook_at(&state, now)?;
    let tenure = current_tenure(&state, pid, true).await?;
    let (reapply_from, reapply_never) = match &provider.state.status {
        ProviderStatus::Exited {
            voluntary: true,
            at,
        } => (
            Some(
                reentry_allowed_from(&rulebook.onboarding, beijing_date(*at))
                    .map_err(|e| Problem::refusal(&e))?,
            ),
            false,
        ),
        ProviderStatus::Expelled { .. } => (None, !rulebook.onboarding.reentry_after_expulsion),
        ProviderStatus::Banned { .. } => (None, true),
        _ => (None, false),
    };
    let mut refund_tasks = Vec::new();
    for a in all_owned(&state, EXIT_TASK, &pid.to_string()).await? {
        refund_tasks.push(read::<ExitRefundTask>(&a)?);
    }
    Ok(ApiJson(ExitStandingView {
        provider_id: pid.uuid(),
        provider_status: provider.state.status.label().to_string(),
        tenure: tenure.as_ref().map(|t| TenureView::of(&t.state)),
        reapply_from,
        reapply_never,
        refund_tasks,
    }))
}

/// The provider's owner asks to leave the marketplace (ALI-R art.27, TC 8.2, JD art.23).
/// Where the rulebook asks for a public closing notice (JD art.27: 30 days) the notice is
/// published and the exit takes effect when it runs out; elsewhere it takes effect now:
/// unfinished orders refunded per the rulebook, products delisted, store hidden, console
/// limited, the exit announced. Requires `Idempotency-Key` (money moves back to buyers).
#[utoipa::path(
    post, path = "/api/v1/providers/{id}/exit", tag = "exits", security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Provider id"),
        ("Idempotency-Key" = String, Header, description = "Required: 1–200 characters"),
    ),
    request_body = ExitRequest,
    responses(
        (status = 200, description = "Announced (`step.step` = `announced`) or in force (`takes_effect`, with `effects`)", body = ExitAnswer),
        (status = 400, description = "`idempotency_key_required`, or malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the provider's owner", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such provider, or not the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`provider_not_active`, `exit_pending` (with the date it takes effect)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`reason_too_long`, `idempotency_key_reused`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn request_exit(
    State(state): State<AppState>,
    principal: Principal,
    key: IdempotencyKey,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ExitRequest>,
) -> Result<ApiJson<serde_json::Value>, Problem> {
    let what =
        json!({"method": "POST", "path": format!("/api/v1/providers/{id}/exit"), "body": req});
    let answer = run_keyed(&state, &principal, &key, &what, || async {
        let (provider, owner) = provider_for(&state, &principal, &id).await?;
        require_owner(owner)?;
        let now = state.clock.now();
        let tenure = current_tenure(&state, provider.state.id, false).await?;
        let base = tenure.as_ref().map_or_else(
            || Tenure::untermed(Uuid::now_v7(), provider.state.id, now),
            |t| t.state.clone(),
        );
        let (next, step, outcome) = decide_now(&state, now, |ctx| {
            base.request_voluntary_exit(&provider.state, principal.user_id(), &req.reason, ctx)
        })?
        .map_err(refused)?;
        let mut batch = WriteBatch::default();
        let mut effects = None;
        let mut status = provider.state.status.label().to_string();
        match step {
            ExitStep::Announced { effective_at } => {
                add_outcome(&mut batch, outcome, now);
                batch.aggregates.push(tenure_write(
                    &next,
                    tenure.as_ref().map(|t| t.version),
                    now,
                )?);
                let notice = ExitNotice {
                    id: Uuid::now_v7(),
                    provider: provider.state.id,
                    tenure: Some(next.id),
                    kind: ExitNoticeKind::StoreClosing,
                    exit_kind: ExitKind::Voluntary,
                    stores: store_names(&state, provider.state.id).await?,
                    published_at: now,
                    effective_at,
                    pending: next.pending.as_ref().map(|p| p.id),
                    withdrawn_at: None,
                };
                batch.aggregates.push(notice_write(&notice, None, now)?);
            }
            ExitStep::TakesEffect { kind } => {
                let (left, done) = apply_exit(
                    &state,
                    &provider,
                    tenure.as_ref(),
                    kind,
                    &req.reason,
                    now,
                    &mut batch,
                )
                .await?;
                status = left.status.label().to_string();
                effects = Some(done);
            }
            ExitStep::Extended { .. } | ExitStep::Nothing => {}
        }
        let after = current_after(&batch, &next);
        Ok((
            batch,
            ExitAnswer {
                provider_id: provider.state.id.uuid(),
                provider_status: status,
                step,
                tenure: Some(TenureView::of(&after)),
                effects,
            },
        ))
    })
    .await?;
    Ok(ApiJson(answer))
}

/// The tenure as the batch leaves it (the last tenure written, else `fallback`).
fn current_after(batch: &WriteBatch, fallback: &Tenure) -> Tenure {
    batch
        .aggregates
        .iter()
        .rev()
        .find(|w| w.kind == TENURE)
        .and_then(|w| serde_json::from_value(w.state.clone()).ok())
        .unwrap_or_else(|| fallback.clone())
}

/// Withdraws an announcement: `kind` says whose.
async fn withdraw(
    state: &AppState,
    principal: &Principal,
    id: &str,
    kind: ExitKind,
) -> Result<TenureView, Problem> {
    crate::kernel::pipeline::run(&state.store, || async {
        let (provider, owner) = provider_for(state, principal, id).await?;
        if kind == ExitKind::Voluntary {
            require_owner(owner)?;
        } else {
            principal.require(Capability::HandleViolations)?;
        }
        let now = state.clock.now();
        let none = || {
            refused(ExitError::NoPendingExit {
                what: "公告",
                what_en: "announcement",
            })
        };
        let tenure = current_tenure(state, provider.state.id, false)
            .await?
            .ok_or_else(none)?;
        let (next, outcome) =
            decide_now(state, now, |ctx| tenure.state.withdraw(kind, ctx))?.map_err(refused)?;
        let mut batch = WriteBatch::default();
        add_outcome(&mut batch, outcome, now);
        batch
            .aggregates
            .push(tenure_write(&next, Some(tenure.version), now)?);
        // The closing notice comes off the public list.
        let pending = tenure.state.pending.as_ref().map(|p| p.id);
        for a in all_owned(state, EXIT_NOTICE, &provider.state.id.to_string()).await? {
            let mut n: ExitNotice = read(&a)?;
            if n.pending.is_some() && n.pending == pending && n.withdrawn_at.is_none() {
                n.withdrawn_at = Some(now);
                batch
                    .aggregates
                    .push(notice_write(&n, Some(a.version), now)?);
            }
        }
        Ok((batch, TenureView::of(&next)))
    })
    .await
}

/// The provider's owner withdraws its announced exit before it takes effect (JD's closing
/// notice); the notice comes off the public list.
#[utoipa::path(
    post, path = "/api/v1/providers/{id}/exit/withdrawal", tag = "exits", security(("bearer" = [])),
    params(("id" = String, Path, description = "Provider id")),
    responses(
        (status = 200, description = "Withdrawn: the tenure goes on", body = TenureView),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the provider's owner", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such provider, or not the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`no_pending_exit`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn withdraw_exit(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<TenureView>, Problem> {
    Ok(ApiJson(
        withdraw(&state, &principal, &id, ExitKind::Voluntary).await?,
    ))
}

/// Compliance ends the provider's agreement with the rulebook's notice (ALI-A 7.2.3: 15
/// days); the exit takes effect when the notice runs out (a stored deadline), as a
/// non-voluntary exit (re-entry does not wait).
#[utoipa::path(
    post, path = "/api/v1/admin/providers/{id}/termination", tag = "exits", security(("bearer" = [])),
    params(("id" = String, Path, description = "Provider id")),
    request_body = TerminationRequest,
    responses(
        (status = 200, description = "Noticed: `step.effective_at` is when it takes effect", body = ExitAnswer),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller lacks `handle_violations`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such provider", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`termination_not_in_rulebook`, `provider_not_active`, `exit_pending`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`reason_required`, `reason_too_long`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn give_termination_notice(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<TerminationRequest>,
) -> Result<ApiJson<ExitAnswer>, Problem> {
    principal.require(Capability::HandleViolations)?;
    let answer = crate::kernel::pipeline::run(&state.store, || async {
        let (provider, _) = provider_for(&state, &principal, &id).await?;
        let now = state.clock.now();
        let tenure = current_tenure(&state, provider.state.id, false).await?;
        let base = tenure.as_ref().map_or_else(
            || Tenure::untermed(Uuid::now_v7(), provider.state.id, now),
            |t| t.state.clone(),
        );
        let (next, step, outcome) = decide_now(&state, now, |ctx| {
            base.give_termination_notice(&provider.state, principal.user_id(), &req.reason, ctx)
        })?
        .map_err(refused)?;
        let mut batch = WriteBatch::default();
        add_outcome(&mut batch, outcome, now);
        batch.aggregates.push(tenure_write(
            &next,
            tenure.as_ref().map(|t| t.version),
            now,
        )?);
        Ok((
            batch,
            ExitAnswer {
                provider_id: provider.state.id.uuid(),
                provider_status: provider.state.status.label().to_string(),
                step,
                tenure: Some(TenureView::of(&next)),
                effects: None,
            },
        ))
    })
    .await?;
    Ok(ApiJson(answer))
}

/// Compliance withdraws its termination notice before it takes effect.
#[utoipa::path(
    post, path = "/api/v1/admin/providers/{id}/termination/withdrawal", tag = "exits", security(("bearer" = [])),
    params(("id" = String, Path, description = "Provider id")),
    responses(
        (status = 200, description = "Withdrawn: the tenure goes on", body = TenureView),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller lacks `handle_violations`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such provider", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`no_pending_exit`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn withdraw_termination(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<TenureView>, Problem> {
    principal.require(Capability::HandleViolations)?;
    Ok(ApiJson(
        withdraw(&state, &principal, &id, ExitKind::Termination).await?,
    ))
}

/// The provider's owner signs the next agreement term (ALI-A 7.1: renewal in the term's last
/// month or during the one-month extension), with the agreement version in force. The term
/// end deadline moves to the new term's end.
#[utoipa::path(
    post, path = "/api/v1/providers/{id}/agreement-renewals", tag = "exits", security(("bearer" = [])),
    params(("id" = String, Path, description = "Provider id")),
    request_body = RenewalRequest,
    responses(
        (status = 200, description = "Renewed: the new term", body = TenureView),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the provider's owner", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such provider, or not the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`no_fixed_term`, `already_renewed`, `provider_not_active`, `agreement_outdated`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn renew_agreement(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<RenewalRequest>,
) -> Result<ApiJson<TenureView>, Problem> {
    let view = crate::kernel::pipeline::run(&state.store, || async {
        let (provider, owner) = provider_for(&state, &principal, &id).await?;
        require_owner(owner)?;
        let now = state.clock.now();
        let current = crate::features::onboarding::agreement::in_force(beijing_date(now))
            .ok_or_else(|| Problem::conflict("no provider agreement is in force"))?;
        if req.agreement_id.trim() != current.id {
            return Err(Problem::coded(
                crate::kernel::problem::ErrorCode::Conflict,
                axum::http::StatusCode::CONFLICT,
                "agreement_outdated",
                format!(
                    "协议版本已更新，请阅读后签署 {:?} / the agreement in force is {:?}; read it at /api/v1/onboarding/agreement",
                    current.id, current.id
                ),
            ));
        }
        let tenure = current_tenure(&state, provider.state.id, false)
            .await?
            .ok_or_else(|| refused(ExitError::NoFixedTerm))?;
        let (next, outcome) = decide_now(&state, now, |ctx| {
            tenure
                .state
                .renew(&provider.state, current.id, principal.user_id(), ctx)
        })?
        .map_err(refused)?;
        let mut batch = WriteBatch::default();
        add_outcome(&mut batch, outcome, now);
        batch
            .aggregates
            .push(tenure_write(&next, Some(tenure.version), now)?);
        Ok((batch, TenureView::of(&next)))
    })
    .await?;
    Ok(ApiJson(view))
}

/// Refund tasks of partly delivered orders (ALI by delivery degree), for customer service.
#[utoipa::path(
    get, path = "/api/v1/admin/exit-refund-tasks", tag = "exits", security(("bearer" = [])),
    params(TaskQuery),
    responses(
        (status = 200, description = "The tasks, oldest first", body = TaskPage),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller lacks `arbitrate_refunds`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_tasks(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<TaskQuery>,
) -> Result<ApiJson<TaskPage>, Problem> {
    principal.require(Capability::ArbitrateRefunds)?;
    let status = match q.status.as_deref() {
        None | Some("open") => TaskStatus::Open,
        Some("resolved") => TaskStatus::Resolved,
        Some(other) => {
            return Err(Problem::invalid_request(format!(
                "status is open or resolved, not {other:?}"
            )));
        }
    };
    let owner = q.provider_id.map(|p| p.to_string());
    let mut items = Vec::new();
    for a in &crate::kernel::pipeline::all_aggregates(
        &state.store,
        EXIT_TASK,
        owner.as_deref(),
        Some(status.label()),
    )
    .await?
    {
        items.push(read::<ExitRefundTask>(a)?);
    }
    Ok(ApiJson(TaskPage { items }))
}

/// Customer service sets the refund of a partly delivered order: `amount` goes back to the
/// buyer (0.00: delivered in full), the rest of the escrow is released to the provider, and
/// the task is resolved — in one batch. Requires `Idempotency-Key`.
#[utoipa::path(
    post, path = "/api/v1/admin/exit-refund-tasks/{id}/resolution", tag = "exits", security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Task id"),
        ("Idempotency-Key" = String, Header, description = "Required: 1–200 characters"),
    ),
    request_body = ResolutionRequest,
    responses(
        (status = 200, description = "Resolved", body = ExitRefundTask),
        (status = 400, description = "`idempotency_key_required`, or malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller lacks `arbitrate_refunds`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such task", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`task_resolved`, `invalid_transition` (the order moved on)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`refund_exceeds_paid`, `reason_required`, `idempotency_key_reused`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn resolve_task(
    State(state): State<AppState>,
    principal: Principal,
    key: IdempotencyKey,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ResolutionRequest>,
) -> Result<ApiJson<serde_json::Value>, Problem> {
    principal.require(Capability::ArbitrateRefunds)?;
    let what = json!({"method": "POST", "path": format!("/api/v1/admin/exit-refund-tasks/{id}/resolution"), "body": req});
    let answer = run_keyed(&state, &principal, &key, &what, || async {
        let tid = path_id(&id, "task")?;
        let task = load::<ExitRefundTask>(&state.store, EXIT_TASK, tid)
            .await?
            .ok_or_else(|| Problem::not_found(format!("no refund task {id}")))?;
        if task.state.status != TaskStatus::Open {
            return Err(Problem::coded(
                crate::kernel::problem::ErrorCode::Conflict,
                axum::http::StatusCode::CONFLICT,
                "task_resolved",
                "任务已处理 / the task is already resolved",
            ));
        }
        let note = req.note.trim();
        if note.is_empty() {
            return Err(refused(ExitError::ReasonRequired));
        }
        if req.amount.is_negative() {
            return Err(Problem::refusal(&order::OrderError::RefundExceedsPaid {
                requested: req.amount,
                remaining: task.state.refundable,
            }));
        }
        let loaded = load_order(&state.store, task.state.order.uuid())
            .await?
            .ok_or_else(|| Problem::internal(format!("task {tid} names no order")))?;
        let now = state.clock.now();
        let order = &loaded.state.order;
        let decided = decide_now(&state, now, |ctx| {
            if req.amount.is_zero() {
                order::release_on_exit(order, ctx)
            } else {
                order::refund_on_exit(order, Some(req.amount), note, ctx)
            }
        })?
        .map_err(|e| Problem::refusal(&e))?;
        let mut batch = WriteBatch::default();
        let record = OrderRecord {
            order: decided.0,
            warranty_days: loaded.state.warranty_days,
            index_version: None,
        };
        write_order(
            &state,
            &mut batch,
            Some(&loaded.state),
            record,
            Some(loaded.version),
            now,
        )
        .await?;
        add_outcome(&mut batch, decided.1, now);
        let mut next = task.state.clone();
        next.status = TaskStatus::Resolved;
        next.resolution = Some(TaskResolution {
            amount: req.amount,
            note: note.to_string(),
            by: principal.user_id(),
            at: now,
        });
        batch
            .aggregates
            .push(task_write(&next, Some(task.version), now)?);
        add_outcome(
            &mut batch,
            Outcome::default().event(
                "exit.refund_task_resolved",
                format!("order:{}", next.order),
                json!({ "task": next.id, "amount": req.amount }),
            ),
            now,
        );
        Ok((batch, next))
    })
    .await?;
    Ok(ApiJson(answer))
}

// ---- deadlines ----

fn subject_provider(d: &Deadline) -> Result<ProviderId, Problem> {
    d.subject
        .strip_prefix("provider:")
        .and_then(|s| Uuid::parse_str(s).ok())
        .map(ProviderId)
        .ok_or_else(|| Problem::internal(format!("deadline {} has subject {:?}", d.id, d.subject)))
}

fn payload_uuid(d: &Deadline, key: &str) -> Result<Uuid, Problem> {
    d.payload
        .get(key)
        .and_then(|v| v.as_str())
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| Problem::internal(format!("deadline {} has no {key}", d.id)))
}

/// Loads what a tenure deadline is about: the tenure and its provider, if both still stand.
async fn tenure_and_provider(
    state: &AppState,
    d: &Deadline,
) -> Result<Option<(Loaded<Tenure>, Loaded<Provider>)>, Problem> {
    let pid = subject_provider(d)?;
    let tid = payload_uuid(d, "tenure")?;
    let Some(tenure) = load::<Tenure>(&state.store, TENURE, tid).await? else {
        return Ok(None);
    };
    let Some(provider) = load_provider(state, pid).await? else {
        return Ok(None);
    };
    Ok(Some((tenure, provider)))
}

/// `provider.exit_takes_effect`: the closing notice (JD) or the termination notice ran out.
fn fire_exit_takes_effect(state: AppState, d: Deadline) -> HandlerFuture {
    Box::pin(async move {
        let pending = payload_uuid(&d, "pending")?;
        crate::kernel::pipeline::fire(&state, &d, |now| {
            let (state, d) = (&state, &d);
            async move {
                let mut batch = WriteBatch::default();
                if let Some((tenure, provider)) = tenure_and_provider(state, d).await? {
                    let step = decide_now(state, now, |ctx| {
                        tenure.state.announced_exit_due(pending, ctx)
                    })?
                    .map_err(refused)?;
                    if let ExitStep::TakesEffect { kind } = step
                        && provider.state.is_active()
                    {
                        let reason = tenure
                            .state
                            .pending
                            .as_ref()
                            .map(|p| p.reason.clone())
                            .unwrap_or_default();
                        apply_exit(
                            state,
                            &provider,
                            Some(&tenure),
                            kind,
                            &reason,
                            now,
                            &mut batch,
                        )
                        .await?;
                    }
                }
                Ok(batch)
            }
        })
        .await
    })
}

/// `provider.term_ends`: the agreement term (or its extension) ended unsigned.
fn fire_term_ends(state: AppState, d: Deadline) -> HandlerFuture {
    Box::pin(async move {
        let last_day: jiff::civil::Date = d
            .payload
            .get("last_day")
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| Problem::internal(format!("deadline {} has no last_day", d.id)))?;
        crate::kernel::pipeline::fire(&state, &d, |now| {
            let (state, d) = (&state, &d);
            async move {
                let mut batch = WriteBatch::default();
                if let Some((tenure, provider)) = tenure_and_provider(state, d).await?
                    && provider.state.is_active()
                {
                    let (next, step, outcome) =
                        decide_now(state, now, |ctx| tenure.state.term_end_due(last_day, ctx))?
                            .map_err(refused)?;
                    match step {
                        ExitStep::Extended { .. } => {
                            add_outcome(&mut batch, outcome, now);
                            batch
                                .aggregates
                                .push(tenure_write(&next, Some(tenure.version), now)?);
                        }
                        ExitStep::TakesEffect { kind } => {
                            apply_exit(state, &provider, Some(&tenure), kind, "", now, &mut batch)
                                .await?;
                        }
                        ExitStep::Announced { .. } | ExitStep::Nothing => {}
                    }
                }
                Ok(batch)
            }
        })
        .await
    })
}
