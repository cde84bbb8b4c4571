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

pub use crate::kernel::repo::exits as views;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use serde_json::json;
use utoipa::OpenApi;
use uuid::Uuid;
use yunshi_core::account::Capability;
use yunshi_core::decision::Outcome;
use yunshi_core::ids::ProviderId;
use yunshi_core::order::{self};
use yunshi_core::provider::{
    EXIT_TAKES_EFFECT, ExitError, ExitKind, ExitStep, Provider, ProviderStatus, TERM_ENDS, Tenure,
    reentry_allowed_from,
};
use yunshi_core::time::beijing_date;
use yunshi_store::{Deadline, StoreError, WriteBatch};

use self::views::*;
use crate::kernel::auth::Principal;
use crate::kernel::context::rulebook_at;
use crate::kernel::deadlines::{Handler, HandlerFuture};
use crate::kernel::idempotency::{IdempotencyKey, mismatch};
use crate::kernel::pipeline::Decision;
use crate::kernel::pipeline::{Loaded, add_outcome, load};
use crate::kernel::problem::path_id;
use crate::kernel::problem::{ApiJson, Problem};
use crate::kernel::repo::all_owned;
use crate::kernel::repo::orders::load_order;
use crate::kernel::repo::providers::acts_for;
use crate::kernel::repo::providers::load_provider;
use crate::kernel::repo::{EXIT_NOTICE, EXIT_TASK, TENURE};
use crate::kernel::state::AppState;
use crate::reactions::exit::{
    apply_exit, current_tenure, notice_write, read, refused, store_names, task_write, tenure_write,
};
use crate::reactions::order_written::write_changed;

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

// ---- loading ----

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
        (status = 401, description = "No valid bearer token"),
        (status = 404, description = "No such provider, or not the caller's"),
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
        (status = 400, description = "`idempotency_key_required`, or malformed JSON"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "Not the provider's owner"),
        (status = 404, description = "No such provider, or not the caller's"),
        (status = 409, description = "`provider_not_active`, `exit_pending` (with the date it takes effect)"),
        (status = 422, description = "`reason_too_long`, `idempotency_key_reused`"),
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
        let (next, step, outcome) = crate::kernel::context::decide(&state, now, |ctx| {
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
            crate::kernel::context::decide(state, now, |ctx| tenure.state.withdraw(kind, ctx))?
                .map_err(refused)?;
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
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "Not the provider's owner"),
        (status = 404, description = "No such provider, or not the caller's"),
        (status = 409, description = "`no_pending_exit`"),
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
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller lacks `handle_violations`"),
        (status = 404, description = "No such provider"),
        (status = 409, description = "`termination_not_in_rulebook`, `provider_not_active`, `exit_pending`"),
        (status = 422, description = "`reason_required`, `reason_too_long`"),
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
        let (next, step, outcome) = crate::kernel::context::decide(&state, now, |ctx| {
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
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller lacks `handle_violations`"),
        (status = 404, description = "No such provider"),
        (status = 409, description = "`no_pending_exit`"),
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
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "Not the provider's owner"),
        (status = 404, description = "No such provider, or not the caller's"),
        (status = 409, description = "`no_fixed_term`, `already_renewed`, `provider_not_active`, `agreement_outdated`"),
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
        let current = crate::kernel::agreement::in_force(beijing_date(now))
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
        let (next, outcome) = crate::kernel::context::decide(&state, now, |ctx| {
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
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller lacks `arbitrate_refunds`"),
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
        (status = 400, description = "`idempotency_key_required`, or malformed JSON"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller lacks `arbitrate_refunds`"),
        (status = 404, description = "No such task"),
        (status = 409, description = "`task_resolved`, `invalid_transition` (the order moved on)"),
        (status = 422, description = "`refund_exceeds_paid`, `reason_required`, `idempotency_key_reused`"),
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
        let decided = crate::kernel::context::decide(&state, now, |ctx| {
            if req.amount.is_zero() {
                order::release_on_exit(order, ctx)
            } else {
                order::refund_on_exit(order, Some(req.amount), note, ctx)
            }
        })?
        .map_err(|e| Problem::refusal(&e))?;
        let mut batch = WriteBatch::default();
        let (next, outcome) = decided;
        write_changed(&state, &mut batch, &loaded, next, outcome, now).await?;
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
                    let step = crate::kernel::context::decide(state, now, |ctx| {
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
                        crate::kernel::context::decide(state, now, |ctx| {
                            tenure.state.term_end_due(last_day, ctx)
                        })?
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
