//! Violation cases and penalties over HTTP (SPEC §9; issue 4 item 3).
//!
//! Compliance staff (`handle_violations`) open cases, make findings, decide objections and
//! stack measures; the provider (its staff or the member that applied) replies and objects
//! on its own cases only — anyone else gets 404 for them. Decided cases are published on the
//! public notice list. Each window is a stored deadline fired by [`DEADLINES`]; a final
//! decision applies its penalties in the same batch ([`crate::reactions::penalties::apply_final`]).
//!
//! Aggregates: `violation_case` (the core's [`Case`]; owner = provider id, status = the
//! case status) and `violation_record` (the core's [`ViolationRecord`], one per provider,
//! keyed by the provider id).

pub mod views;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::json;
use utoipa::{IntoParams, OpenApi};
use uuid::Uuid;
use yunshi_core::account::Capability;
use yunshi_core::decision::{Context, Outcome};
use yunshi_core::governance::{
    Case, CaseError, CaseStatus, OBJECTION_WINDOW_ENDS, OpenCase, REPLY_WINDOW_ENDS,
};
use yunshi_core::ids::ProviderId;
use yunshi_core::storefront::Store;
use yunshi_core::time::beijing_date;
use yunshi_store::{AggregateQuery, Deadline, WriteBatch};

use self::views::*;
use crate::kernel::auth::Principal;
use crate::kernel::context::rulebook_at;
use crate::kernel::deadlines::{Handler, HandlerFuture};
use crate::kernel::idempotency::IdempotencyKey;
use crate::kernel::pipeline::{Loaded, add_outcome, load};
use crate::kernel::problem::path_id;
use crate::kernel::problem::{ApiJson, Problem};
use crate::kernel::repo::CASE;
use crate::kernel::repo::all_owned;
use crate::kernel::repo::cases::case_write;
use crate::kernel::repo::providers::STORE;
use crate::kernel::repo::providers::acts_for;
use crate::kernel::repo::providers::load_provider;
use crate::kernel::repo::providers::own_provider_id;
use crate::kernel::state::AppState;
use crate::kernel::views::StoreView;
use crate::kernel::views::{CaseView, DeadlineView};
use crate::reactions::penalties::{
    apply_final, apply_stacked, deposit_held, load_record, penalties_owed,
};

#[derive(OpenApi)]
#[openapi(
    paths(
        case_evidence,
        open_case, list_cases, get_case, reply, object, accept, finding, decide_objection,
        stack_measure, notices, standing,
    ),
    components(schemas(
        OpenCaseRequest, ReplyRequest, FindingRequest, ObjectionRequest,
        ObjectionDecisionRequest, StackRequest, DeadlineView, CaseView, CasePage, NoticeView,
        NoticePage, PointsView, DepositView, StandingView,
    )),
    tags((name = "cases", description = "Violation cases and penalties (违规处理, SPEC §9)"))
)]
pub struct ApiDoc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/cases/{id}/evidence/{file}", get(case_evidence))
        .route("/api/v1/admin/cases", post(open_case))
        .route("/api/v1/cases", get(list_cases))
        .route("/api/v1/cases/{id}", get(get_case))
        .route("/api/v1/cases/{id}/reply", post(reply))
        .route("/api/v1/cases/{id}/objection", post(object))
        .route("/api/v1/cases/{id}/accept", post(accept))
        .route("/api/v1/admin/cases/{id}/finding", post(finding))
        .route(
            "/api/v1/admin/cases/{id}/objection-decision",
            post(decide_objection),
        )
        .route("/api/v1/admin/cases/{id}/measures", post(stack_measure))
        .route("/api/v1/notices", get(notices))
        .route("/api/v1/providers/{id}/standing", get(standing))
}

/// The deadline kinds this module fires.
pub const DEADLINES: &[(&str, Handler)] = &[
    (REPLY_WINDOW_ENDS, fire_reply_window),
    (OBJECTION_WINDOW_ENDS, fire_objection_window),
];

fn refused(e: CaseError) -> Problem {
    Problem::refusal(&e)
}

async fn load_case(state: &AppState, id: Uuid) -> Result<Option<Loaded<Case>>, Problem> {
    load(&state.store, CASE, id).await
}

/// Who acts on a case.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Compliance,
    Provider,
}

/// The case, if the caller may see it (operator staff, or the provider it concerns); 404
/// otherwise. For `side`, the caller must also act on that side (403).
pub(crate) async fn case_for(
    state: &AppState,
    principal: &Principal,
    raw: &str,
    side: Option<Side>,
) -> Result<Loaded<Case>, Problem> {
    let id = path_id(raw, "case")?;
    let missing = || Problem::not_found(format!("no case {raw}"));
    let loaded = load_case(state, id).await?.ok_or_else(missing)?;
    let actor = &principal.actor;
    let own = match load_provider(state, loaded.state.provider).await? {
        Some(p) => acts_for(actor, &p.state),
        None => false,
    };
    if !actor.is_operator() && !own {
        return Err(missing());
    }
    match side {
        Some(Side::Compliance) => principal.require(Capability::HandleViolations)?,
        Some(Side::Provider) if !own => {
            return Err(Problem::forbidden(
                "only the provider the case concerns replies or objects",
            ));
        }
        _ => {}
    }
    Ok(loaded)
}

/// Decides a transition of `loaded` at `now` with the rulebook in force now, applying the
/// penalties if it became final; returns the batch and the new case.
async fn decide_case(
    state: &AppState,
    loaded: &Loaded<Case>,
    now: Timestamp,
    f: impl FnOnce(&Case, &mut Context<'_>) -> Result<(Case, Outcome), CaseError>,
) -> Result<(WriteBatch, Case), Problem> {
    let (mut next, outcome) =
        crate::kernel::context::decide(state, now, |ctx| f(&loaded.state, ctx))?
            .map_err(refused)?;
    let mut batch = WriteBatch::default();
    add_outcome(&mut batch, outcome, now);
    if next.status == CaseStatus::Decided && loaded.state.status != CaseStatus::Decided {
        apply_final(state, &mut next, now, &mut batch).await?;
    }
    if next != loaded.state {
        batch
            .aggregates
            .push(case_write(&next, Some(loaded.version), now)?);
    }
    Ok((batch, next))
}

/// Loads, checks and decides a transition, retrying a lost race.
async fn transition(
    state: &AppState,
    principal: &Principal,
    raw: &str,
    side: Side,
    f: impl Fn(&Case, &mut Context<'_>) -> Result<(Case, Outcome), CaseError>,
) -> Result<CaseView, Problem> {
    crate::kernel::pipeline::run(&state.store, || async {
        let loaded = case_for(state, principal, raw, Some(side)).await?;
        let now = state.clock.now();
        let (batch, next) = decide_case(state, &loaded, now, &f).await?;
        Ok((batch, CaseView::of(&next)))
    })
    .await
}

// ---- handlers ----

/// Compliance opens a case: the table row is the one of the rulebook in force on the day
/// of the act; the notice goes out and the reply window (a stored deadline) starts.
#[utoipa::path(
    post, path = "/api/v1/admin/cases", tag = "cases", security(("bearer" = [])),
    request_body = OpenCaseRequest,
    responses(
        (status = 201, description = "Opened; notice sent, reply window running", body = CaseView),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller lacks `handle_violations`"),
        (status = 422, description = "`unknown_violation_code`, `no_rulebook_in_force`, `act_in_future`, `field_required`, `unknown_provider`, `unknown_product`"),
    )
)]
pub async fn open_case(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<OpenCaseRequest>,
) -> Result<(StatusCode, ApiJson<CaseView>), Problem> {
    principal.require(Capability::HandleViolations)?;
    let provider = ProviderId(req.provider_id);
    if load_provider(&state, provider).await?.is_none() {
        return Err(Problem::coded(
            crate::kernel::problem::ErrorCode::InvalidRequest,
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_provider",
            format!("no provider {}", req.provider_id),
        ));
    }
    if let Some(product) = req.product_id {
        let owned = state
            .store
            .aggregate(crate::kernel::repo::products::PRODUCT, product)
            .await?
            .is_some_and(|a| a.owner == provider.to_string());
        if !owned {
            return Err(Problem::coded(
                crate::kernel::problem::ErrorCode::InvalidRequest,
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_product",
                format!("provider {provider} has no product {product}"),
            ));
        }
    }
    let act_rb = crate::kernel::context::rulebook_on(&state, req.act_on)
        .ok_or_else(|| refused(CaseError::NoRulebookOn(req.act_on)))?;
    let now = state.clock.now();
    let id = Uuid::now_v7();
    let cmd = OpenCase {
        provider,
        code: req.code.clone(),
        act_on: req.act_on,
        source: req.source,
        summary: req.summary.clone(),
        reference: req.reference.clone(),
        product: req.product_id.map(yunshi_core::ids::ProductId),
        by: principal.user_id(),
    };
    let (case, outcome) =
        crate::kernel::context::decide(&state, now, |ctx| Case::open(id, cmd, act_rb, ctx))?
            .map_err(refused)?;
    let mut batch = WriteBatch::default();
    add_outcome(&mut batch, outcome, now);
    batch.aggregates.push(case_write(&case, None, now)?);
    crate::kernel::pipeline::create(&state.store, batch).await?;
    tracing::info!(case = %case.id, provider = %case.provider, code = %case.row.code, "violation case opened");
    Ok((StatusCode::CREATED, ApiJson(CaseView::of(&case))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseQuery {
    /// Operator staff: only this provider's cases. Providers always get their own.
    #[param(value_type = Option<String>)]
    pub provider: Option<Uuid>,
    /// Only cases in this status (`awaiting_reply`, `decided`, …).
    pub status: Option<String>,
    pub limit: Option<u32>,
    #[param(value_type = Option<String>)]
    pub after: Option<Uuid>,
}

/// Cases: operator staff see all (optionally one provider's), a provider its own.
#[utoipa::path(
    get, path = "/api/v1/cases", tag = "cases", security(("bearer" = [])), params(CaseQuery),
    responses(
        (status = 200, description = "One page of cases, oldest first", body = CasePage),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "Neither operator staff nor a provider"),
    )
)]
pub async fn list_cases(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<CaseQuery>,
) -> Result<ApiJson<CasePage>, Problem> {
    let owner = if principal.actor.is_operator() {
        q.provider.map(|p| p.to_string())
    } else {
        match own_provider_id(&state, &principal.actor).await? {
            Some(p) => Some(p.to_string()),
            None => {
                return Err(Problem::forbidden(
                    "only operator staff and providers see cases",
                ));
            }
        }
    };
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let page = state
        .store
        .aggregates(&AggregateQuery {
            kind: CASE.into(),
            owner,
            status: q.status.clone(),
            after: q.after,
            limit,
        })
        .await?;
    let next_after = (page.len() == limit as usize)
        .then(|| page.last().map(|a| a.id))
        .flatten();
    let items = page
        .iter()
        .map(|a| {
            serde_json::from_value::<Case>(a.state.clone())
                .map(|c| CaseView::of(&c))
                .map_err(|e| {
                    Problem::internal(format!("stored case {} does not read back: {e}", a.id))
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ApiJson(CasePage { items, next_after }))
}

/// One case, with the deadline the provider faces.
#[utoipa::path(
    get, path = "/api/v1/cases/{id}", tag = "cases", security(("bearer" = [])),
    params(("id" = String, Path, description = "Case id")),
    responses(
        (status = 200, description = "The case", body = CaseView),
        (status = 401, description = "No valid bearer token"),
        (status = 404, description = "No such case, or not the caller's"),
    )
)]
pub async fn get_case(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<CaseView>, Problem> {
    let loaded = case_for(&state, &principal, &id, None).await?;
    Ok(ApiJson(CaseView::of(&loaded.state)))
}

/// The provider replies in writing with proof (file ids) inside the reply window. A reply
/// without proof establishes the violation at once.
#[utoipa::path(
    post, path = "/api/v1/cases/{id}/reply", tag = "cases", security(("bearer" = [])),
    params(("id" = String, Path, description = "Case id")), request_body = ReplyRequest,
    responses(
        (status = 200, description = "Replied (or established, without proof)", body = CaseView),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "Not the provider the case concerns"),
        (status = 404, description = "No such case, or not the caller's"),
        (status = 409, description = "`invalid_transition`, `window_closed`"),
        (status = 422, description = "`field_required`, `evidence_not_found`"),
    )
)]
pub async fn reply(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ReplyRequest>,
) -> Result<ApiJson<CaseView>, Problem> {
    crate::kernel::files::check(&state, &principal, &req.evidence).await?;
    let view = transition(&state, &principal, &id, Side::Provider, |c, ctx| {
        c.reply(&req.text, req.evidence.clone(), ctx)
    })
    .await?;
    Ok(ApiJson(view))
}

/// The provider objects to the penalty, with grounds, inside the objection window.
#[utoipa::path(
    post, path = "/api/v1/cases/{id}/objection", tag = "cases", security(("bearer" = [])),
    params(("id" = String, Path, description = "Case id")), request_body = ObjectionRequest,
    responses(
        (status = 200, description = "Objected; compliance decides", body = CaseView),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "Not the provider the case concerns"),
        (status = 404, description = "No such case, or not the caller's"),
        (status = 409, description = "`invalid_transition`, `window_closed`"),
        (status = 422, description = "`field_required`, `evidence_not_found`"),
    )
)]
pub async fn object(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ObjectionRequest>,
) -> Result<ApiJson<CaseView>, Problem> {
    crate::kernel::files::check(&state, &principal, &req.evidence).await?;
    let view = transition(&state, &principal, &id, Side::Provider, |c, ctx| {
        c.object(&req.grounds, req.evidence.clone(), ctx)
    })
    .await?;
    Ok(ApiJson(view))
}

/// The provider accepts the penalty: final at once, penalties applied.
#[utoipa::path(
    post, path = "/api/v1/cases/{id}/accept", tag = "cases", security(("bearer" = [])),
    params(("id" = String, Path, description = "Case id")),
    responses(
        (status = 200, description = "Decided; penalties applied", body = CaseView),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "Not the provider the case concerns"),
        (status = 404, description = "No such case, or not the caller's"),
        (status = 409, description = "`invalid_transition`"),
    )
)]
pub async fn accept(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<CaseView>, Problem> {
    let view = transition(&state, &principal, &id, Side::Provider, |c, ctx| {
        c.accept(ctx)
    })
    .await?;
    Ok(ApiJson(view))
}

/// Compliance's finding (final): after a reply, or directly where the facts are clear.
#[utoipa::path(
    post, path = "/api/v1/admin/cases/{id}/finding", tag = "cases", security(("bearer" = [])),
    params(("id" = String, Path, description = "Case id")), request_body = FindingRequest,
    responses(
        (status = 200, description = "Established (penalty notice out) or dismissed", body = CaseView),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller lacks `handle_violations`"),
        (status = 404, description = "No such case"),
        (status = 409, description = "`invalid_transition`, `direct_finding_not_allowed`"),
        (status = 422, description = "`field_required`"),
    )
)]
pub async fn finding(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<FindingRequest>,
) -> Result<ApiJson<CaseView>, Problem> {
    let by = principal.user_id();
    let view = transition(&state, &principal, &id, Side::Compliance, |c, ctx| {
        c.find(req.established, &req.reason, by, ctx)
    })
    .await?;
    Ok(ApiJson(view))
}

/// Compliance decides the objection: upheld revokes the penalty; rejected makes it final.
#[utoipa::path(
    post, path = "/api/v1/admin/cases/{id}/objection-decision", tag = "cases", security(("bearer" = [])),
    params(("id" = String, Path, description = "Case id")), request_body = ObjectionDecisionRequest,
    responses(
        (status = 200, description = "Decided (penalties applied) or revoked", body = CaseView),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller lacks `handle_violations`"),
        (status = 404, description = "No such case"),
        (status = 409, description = "`invalid_transition`"),
        (status = 422, description = "`field_required`"),
    )
)]
pub async fn decide_objection(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ObjectionDecisionRequest>,
) -> Result<ApiJson<CaseView>, Problem> {
    let by = principal.user_id();
    let view = transition(&state, &principal, &id, Side::Compliance, |c, ctx| {
        c.decide_objection(req.objection_upheld, &req.note, by, ctx)
    })
    .await?;
    Ok(ApiJson(view))
}

/// Compliance stacks a further measure on a decided case, with a reason (annex note 2),
/// recorded on the case and applied in the same write: an extra deposit required (a top-up
/// falls due), a deposit deduction, the stores hidden, the case's product deleted (delisted).
/// Display demotion and category or publishing restrictions are recorded only, for now.
/// Requires `Idempotency-Key` (deductions move money).
#[utoipa::path(
    post, path = "/api/v1/admin/cases/{id}/measures", tag = "cases", security(("bearer" = [])),
    params(("id" = String, Path, description = "Case id"),
           ("Idempotency-Key" = String, Header, description = "One key per measure")),
    request_body = StackRequest,
    responses(
        (status = 200, description = "Measure recorded and applied", body = CaseView),
        (status = 400, description = "No `Idempotency-Key`"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller lacks `handle_violations`"),
        (status = 404, description = "No such case"),
        (status = 409, description = "`invalid_transition`"),
        (status = 422, description = "`measure_not_allowed`, `field_required`, `amount_out_of_range`, `amount_not_expected`, `idempotency_key_reused`"),
    )
)]
pub async fn stack_measure(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    key: IdempotencyKey,
    ApiJson(req): ApiJson<StackRequest>,
) -> Result<ApiJson<CaseView>, Problem> {
    let by = principal.user_id();
    let what = json!({
        "method": "POST", "path": format!("/api/v1/admin/cases/{id}/measures"), "body": &req,
    });
    if let Some(answer) = key.replayed(&state, &principal, &what).await? {
        return Ok(ApiJson(answer));
    }
    let view = crate::kernel::pipeline::run(&state.store, || async {
        let loaded = case_for(&state, &principal, &id, Some(Side::Compliance)).await?;
        let now = state.clock.now();
        let (mut batch, next) = decide_case(&state, &loaded, now, |c, ctx| {
            c.stack(req.measure, req.amount, &req.reason, by, ctx)
        })
        .await?;
        if let Some(measure) = next.stacked.last() {
            apply_stacked(&state, &next, measure, now, &mut batch).await?;
        }
        let answer = CaseView::of(&next);
        batch.idempotency = Some(key.claim(&principal, &what, &answer, now)?);
        Ok((batch, answer))
    })
    .await?;
    Ok(ApiJson(view))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NoticeQuery {
    pub limit: Option<u32>,
    #[param(value_type = Option<String>)]
    pub after: Option<Uuid>,
}

/// The public notice list (no authentication): published decisions, stores' closing notices
/// and exit announcements (SPEC §13).
#[utoipa::path(
    get, path = "/api/v1/notices", tag = "cases", params(NoticeQuery),
    responses((status = 200, description = "Published decisions and exit notices (store closings, exits), oldest first", body = NoticePage))
)]
pub async fn notices(
    State(state): State<AppState>,
    Query(q): Query<NoticeQuery>,
) -> Result<ApiJson<NoticePage>, Problem> {
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let page = state
        .store
        .aggregates(&AggregateQuery {
            kind: CASE.into(),
            owner: None,
            status: Some(CaseStatus::Decided.label().into()),
            after: q.after,
            limit,
        })
        .await?;
    let next_after = (page.len() == limit as usize)
        .then(|| page.last().map(|a| a.id))
        .flatten();
    let mut items = Vec::new();
    for a in &page {
        let c: Case = serde_json::from_value(a.state.clone()).map_err(|e| {
            Problem::internal(format!("stored case {} does not read back: {e}", a.id))
        })?;
        let Some(published_at) = c.published_at else {
            continue;
        };
        let plan = c.applied.as_ref().and_then(|v| v.get("plan")).cloned();
        let penalty = serde_json::json!({
            "points": c.row.points,
            "store_action": c.row.action,
            "deposit": c.row.deposit,
            "expelled": plan.as_ref().and_then(|p| p.get("expel")).cloned(),
            "stacked": c.stacked,
        });
        items.push(NoticeView {
            kind: "violation_decision".into(),
            id: c.id,
            case_id: Some(c.id),
            provider_id: c.provider.uuid(),
            code: c.row.code.clone(),
            title_zh: c.row.title_zh.clone(),
            title_en: c.row.title_en.clone(),
            act_on: c.act_on,
            published_at,
            penalty: Some(penalty),
            effective_at: None,
        });
    }
    // Exit notices share the list, merged by id (both UUIDv7, so in creation order). A full
    // page of either source bounds what is known to come next.
    let exits = crate::reactions::exit::published_notices(&state, q.after, limit).await?;
    let exits_bound = (exits.len() == limit as usize)
        .then(|| exits.last().map(|n| n.id))
        .flatten();
    let bound = [next_after, exits_bound].into_iter().flatten().min();
    for n in exits {
        items.push(NoticeView {
            kind: match n.kind {
                crate::kernel::repo::exits::ExitNoticeKind::StoreClosing => "store_closing".into(),
                crate::kernel::repo::exits::ExitNoticeKind::Exit => "exit".into(),
            },
            id: n.id,
            case_id: None,
            provider_id: n.provider.uuid(),
            code: n.code(),
            title_zh: n.title_zh(),
            title_en: n.title_en(),
            act_on: beijing_date(n.published_at),
            published_at: n.published_at,
            penalty: None,
            effective_at: Some(n.effective_at),
        });
    }
    items.sort_by_key(|i| i.id);
    if let Some(b) = bound {
        items.retain(|i| i.id <= b);
    }
    let truncated = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next_after = if truncated {
        items.last().map(|i| i.id)
    } else {
        bound
    };
    Ok(ApiJson(NoticePage { items, next_after }))
}

/// A provider's standing: points in the current rule year, open cases with deadlines,
/// stores (freezes, blocks, closure) and deposit. Operator staff, or the provider itself.
#[utoipa::path(
    get, path = "/api/v1/providers/{id}/standing", tag = "cases", security(("bearer" = [])),
    params(("id" = String, Path, description = "Provider id")),
    responses(
        (status = 200, description = "The standing now", body = StandingView),
        (status = 401, description = "No valid bearer token"),
        (status = 404, description = "No such provider, or not the caller's"),
    )
)]
pub async fn standing(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<StandingView>, Problem> {
    let pid = ProviderId(path_id(&id, "provider")?);
    let missing = || Problem::not_found(format!("no provider {id}"));
    let provider = load_provider(&state, pid).await?.ok_or_else(missing)?;
    if !principal.actor.is_operator() && !acts_for(&principal.actor, &provider.state) {
        return Err(missing());
    }
    let now = state.clock.now();
    let rulebook = rulebook_at(&state, now)?;
    let (record, _) = load_record(&state, pid).await?;
    let points = match &rulebook.points {
        Some(cfg) => {
            let (year, points) = record.points_on(cfg, beijing_date(now)).map_err(refused)?;
            Some(PointsView {
                year_start: year.start,
                year_end: year.end.yesterday().unwrap_or(year.end),
                points,
                expulsion_threshold: cfg.expulsion_threshold,
            })
        }
        None => None,
    };
    let owner = pid.to_string();
    let mut open_cases = Vec::new();
    for a in all_owned(&state, CASE, &owner).await? {
        let c: Case = serde_json::from_value(a.state)
            .map_err(|e| Problem::internal(format!("stored case does not read back: {e}")))?;
        if c.status.is_open() {
            open_cases.push(CaseView::of(&c));
        }
    }
    let mut stores = Vec::new();
    for a in all_owned(&state, STORE, &owner).await? {
        let s: Store = serde_json::from_value(a.state)
            .map_err(|e| Problem::internal(format!("stored store does not read back: {e}")))?;
        stores.push(StoreView::of(&s, now));
    }
    Ok(ApiJson(StandingView {
        provider_id: pid.uuid(),
        provider_status: provider.state.status.label().to_string(),
        points,
        open_cases,
        stores,
        deposit: DepositView {
            held: deposit_held(&state, pid).await?,
            required: crate::reactions::deposit::load_account(&state, pid)
                .await?
                .0
                .required_at(rulebook, now)
                .map_err(|e| Problem::refusal(&e))?,
            penalties_owed: penalties_owed(&state, pid).await?,
        },
        at: now,
    }))
}

// ---- deadlines ----

fn fire_reply_window(state: AppState, d: Deadline) -> HandlerFuture {
    Box::pin(fire_window(state, d, |c, ctx| c.reply_window_ends(ctx)))
}

fn fire_objection_window(state: AppState, d: Deadline) -> HandlerFuture {
    Box::pin(fire_window(state, d, |c, ctx| c.objection_window_ends(ctx)))
}

/// A case transition a deadline makes.
type Step = fn(&Case, &mut Context<'_>) -> Result<(Case, Outcome), CaseError>;

async fn fire_window(state: AppState, d: Deadline, f: Step) -> Result<(), Problem> {
    let id = d
        .subject
        .strip_prefix("case:")
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| {
            Problem::internal(format!("deadline {} has subject {:?}", d.id, d.subject))
        })?;
    crate::kernel::pipeline::fire(&state, &d, |now| {
        let state = &state;
        async move {
            Ok(match load_case(state, id).await? {
                Some(loaded) => decide_case(state, &loaded, now, f).await?.0,
                None => WriteBatch::default(),
            })
        }
    })
    .await
}

/// An evidence file cited in a case's reply or objection, for the provider it concerns and
/// operator staff.
#[utoipa::path(
    get, path = "/api/v1/cases/{id}/evidence/{file}", tag = "evidence", security(("bearer" = [])),
    params(("id" = String, Path, description = "Case id"), ("file" = String, Path, description = "Evidence file id")),
    responses(
        (status = 200, description = "The file", content_type = "application/octet-stream"),
        (status = 404, description = "No such case the caller may see, or the file is not cited on it"),
    )
)]
pub async fn case_evidence(
    State(state): State<AppState>,
    principal: Principal,
    axum::extract::Path((id, file)): axum::extract::Path<(String, String)>,
) -> Result<axum::response::Response, Problem> {
    let case = case_for(&state, &principal, &id, None).await?.state;
    let file = crate::kernel::files::stored(&state, &file).await?;
    let reply = case.reply.iter().flat_map(|r| r.evidence.iter().copied());
    let objection = case
        .objection
        .iter()
        .flat_map(|o| o.evidence.iter().copied());
    crate::kernel::files::cited_file(file, reply.chain(objection))
}
