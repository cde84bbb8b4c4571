//! Complaints and support SLAs over HTTP (SPEC §8; issue 4 item 2).
//!
//! A buyer opens a complaint on one of its own paid orders; the provider must respond within
//! the rulebook's window (a stored deadline its first message cancels). When the window runs
//! out, [`DEADLINES`] records the breach and opens the violation the rulebook maps it to
//! (ALI-S2, JD-S2) through [`crate::reactions::complaint_case::open_in_batch`], in the same batch. Buyer,
//! provider and customer service add messages and evidence to the timeline; customer service
//! (`handle_complaints`) decides — dismiss, refund through the order's direct-refund flow
//! (same batch), or open a violation case — and records contact attempts, from which TC's
//! "unreachable provider" rules open TC-S10 cases. While a complaint or case is open the
//! provider is on hold: [`provider_holds`], `GET /api/v1/providers/{id}/holds`.
//!
//! Who sees what: the buyer its own complaints, the provider (its staff, or the member that
//! applied) complaints about it, operator staff all; anyone else gets 404.
//!
//! Aggregates: `complaint` (the core's [`Complaint`]; owner = provider id, status = the
//! complaint's) and `buyer_complaint` (an index keyed by the complaint id, owner = the buyer
//! member id, written once) so a buyer lists its complaints with one keyset query.

pub mod views;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, OpenApi};
use uuid::Uuid;
use yunshi_core::account::Capability;
use yunshi_core::complaint::{
    Complaint, ComplaintError, Decided, OpenComplaint, Party, RESPONSE_DUE, Resolution,
    UNREACHABLE_DUE,
};
use yunshi_core::decision::Context;
use yunshi_core::ids::{OrderId, ProviderId};
use yunshi_core::order::{self, DirectRefund};
use yunshi_core::time::beijing_date;
use yunshi_store::{Deadline, WriteBatch};

use self::views::*;
use crate::kernel::auth::Principal;
use crate::kernel::deadlines::{Handler, HandlerFuture};
use crate::kernel::idempotency::IdempotencyKey;
use crate::kernel::parties::PartyList;
use crate::kernel::pipeline::{Loaded, add_outcome, aggregate_write, load};
use crate::kernel::problem::path_id;
use crate::kernel::problem::{ApiJson, Problem};
use crate::kernel::repo::providers::acts_for;
use crate::kernel::repo::providers::load_provider;
use crate::kernel::repo::{BUYER_COMPLAINT, COMPLAINT};
use crate::kernel::state::AppState;
use crate::kernel::views::{HeldComplaint, HoldsView};
use crate::reactions::holds::provider_holds;

const P404: &str = "No such complaint, or not the caller's";

#[derive(OpenApi)]
#[openapi(
    paths(
        complaint_evidence,
        open_complaint, list_complaints, get_complaint, add_message, withdraw, decide_complaint,
        record_contact, report_unreachable, holds,
    ),
    components(schemas(
        OpenComplaintRequest, MessageRequest, WithdrawRequest, ContactRequest, DecisionRequest,
        UnreachableReport,
        ComplaintView, ComplaintPage, HeldComplaint, HoldsView,
    )),
    tags((name = "complaints", description = "Complaints and support SLAs (投诉, SPEC §8)"))
)]
pub struct ApiDoc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/complaints/{id}/evidence/{file}",
            get(complaint_evidence),
        )
        .route(
            "/api/v1/complaints",
            post(open_complaint).get(list_complaints),
        )
        .route("/api/v1/complaints/{id}", get(get_complaint))
        .route("/api/v1/complaints/{id}/messages", post(add_message))
        .route("/api/v1/complaints/{id}/withdrawal", post(withdraw))
        .route(
            "/api/v1/complaints/{id}/unreachable-evidence",
            post(report_unreachable),
        )
        .route(
            "/api/v1/admin/complaints/{id}/decision",
            post(decide_complaint),
        )
        .route(
            "/api/v1/admin/complaints/{id}/contact-attempts",
            post(record_contact),
        )
        .route("/api/v1/providers/{id}/holds", get(holds))
}

/// The deadline kinds this module fires.
pub const DEADLINES: &[(&str, Handler)] = &[
    (RESPONSE_DUE, fire_response_due),
    (UNREACHABLE_DUE, fire_unreachable_due),
];

/// The buyer index of a complaint.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct BuyerIndex {
    complaint: Uuid,
    order: OrderId,
}

fn refused(e: ComplaintError) -> Problem {
    Problem::refusal(&e)
}

fn complaint_write(
    c: &Complaint,
    version: Option<i64>,
    now: Timestamp,
) -> Result<yunshi_store::AggregateWrite, Problem> {
    aggregate_write(
        COMPLAINT,
        c.id,
        version,
        c.provider.to_string(),
        c.status.label(),
        c,
        now,
    )
}

/// Runs a complaint rule at `now` under the rulebook in force.
fn decide<T>(
    state: &AppState,
    now: Timestamp,
    f: impl FnOnce(&mut Context<'_>) -> Result<T, ComplaintError>,
) -> Result<T, Problem> {
    crate::kernel::context::decide(state, now, f)?.map_err(refused)
}

/// On which side the caller stands on a complaint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Buyer,
    Provider,
    Operator,
}

/// The complaint, if the caller may see it (its buyer, the provider it concerns, operator
/// staff), with the caller's side; 404 otherwise.
pub(crate) async fn complaint_for(
    state: &AppState,
    principal: &Principal,
    raw: &str,
) -> Result<(Loaded<Complaint>, Side), Problem> {
    let id = path_id(raw, "complaint")?;
    let missing = || Problem::not_found(format!("no complaint {raw}"));
    let loaded: Loaded<Complaint> = load(&state.store, COMPLAINT, id)
        .await?
        .ok_or_else(missing)?;
    let actor = &principal.actor;
    if actor.acts_for_member(loaded.state.buyer) {
        return Ok((loaded, Side::Buyer));
    }
    let own = match load_provider(state, loaded.state.provider).await? {
        Some(p) => acts_for(actor, &p.state),
        None => false,
    };
    if own {
        Ok((loaded, Side::Provider))
    } else if actor.is_operator() {
        Ok((loaded, Side::Operator))
    } else {
        Err(missing())
    }
}

/// Writes a decided transition — the complaint, its events and deadlines, and the case it
/// opens — into `batch`.
fn write_decided(
    state: &AppState,
    loaded: &Loaded<Complaint>,
    decided: (
        Complaint,
        yunshi_core::decision::Outcome,
        Option<yunshi_core::governance::OpenCase>,
    ),
    case_id: Uuid,
    now: Timestamp,
    batch: &mut WriteBatch,
) -> Result<Complaint, Problem> {
    let (next, outcome, open) = decided;
    add_outcome(batch, outcome, now);
    if let Some(cmd) = open {
        crate::reactions::complaint_case::open_in_batch(state, case_id, cmd, now, batch)?;
    }
    if next != loaded.state {
        batch
            .aggregates
            .push(complaint_write(&next, Some(loaded.version), now)?);
    }
    Ok(next)
}

/// Loads, checks the side, decides and commits, retrying a lost race.
async fn transition(
    state: &AppState,
    principal: &Principal,
    raw: &str,
    allowed: impl Fn(Side) -> Result<(), Problem>,
    f: impl Fn(&Complaint, Side, Uuid, &mut Context<'_>) -> Decided,
) -> Result<ComplaintView, Problem> {
    crate::kernel::pipeline::run(&state.store, || async {
        let (loaded, side) = complaint_for(state, principal, raw).await?;
        allowed(side)?;
        let now = state.clock.now();
        let case_id = Uuid::now_v7();
        let decided = decide(state, now, |ctx| f(&loaded.state, side, case_id, ctx))?;
        let mut batch = WriteBatch::default();
        let next = write_decided(state, &loaded, decided, case_id, now, &mut batch)?;
        Ok((batch, ComplaintView::of(&next)))
    })
    .await
}

// ---- handlers ----

/// The buyer complains about one of its own paid orders. The provider's response window
/// (the rulebook's `support.complaint_response_minutes`: 30 for ALI and JD, none for TC)
/// starts as a stored deadline; the provider is on hold until the complaint closes.
#[utoipa::path(
    post, path = "/api/v1/complaints", tag = "complaints", security(("bearer" = [])),
    request_body = OpenComplaintRequest,
    responses(
        (status = 201, description = "Opened; the response window runs", body = ComplaintView),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller sees the order but is not its buyer"),
        (status = 404, description = "No such order, or not the caller's"),
        (status = 409, description = "`order_not_paid`"),
        (status = 422, description = "`field_required`, `text_too_long`, `too_much_evidence`, `evidence_not_found`, unknown fields"),
    )
)]
pub async fn open_complaint(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<OpenComplaintRequest>,
) -> Result<(StatusCode, ApiJson<ComplaintView>), Problem> {
    let only = "only the buyer complains about its order";
    let loaded =
        crate::kernel::parties::buyers_order(&state, &principal, req.order_id, only).await?;
    let order = &loaded.state.order;
    crate::kernel::files::check(&state, &principal, &req.evidence).await?;
    let now = state.clock.now();
    let id = Uuid::now_v7();
    let cmd = OpenComplaint {
        reason: req.reason,
        text: req.text.clone(),
        evidence: req.evidence.clone(),
    };
    let (complaint, outcome) = decide(&state, now, |ctx| Complaint::open(id, order, cmd, ctx))?;
    let mut batch = WriteBatch::default();
    add_outcome(&mut batch, outcome, now);
    batch
        .aggregates
        .push(complaint_write(&complaint, None, now)?);
    batch.aggregates.push(aggregate_write(
        BUYER_COMPLAINT,
        id,
        None,
        complaint.buyer.to_string(),
        "index",
        &BuyerIndex {
            complaint: id,
            order: complaint.order,
        },
        now,
    )?);
    crate::kernel::pipeline::create(&state.store, batch).await?;
    tracing::info!(complaint = %id, order = %complaint.order, provider = %complaint.provider, "complaint opened");
    Ok((StatusCode::CREATED, ApiJson(ComplaintView::of(&complaint))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ComplaintQuery {
    /// Operator staff: only this provider's. The member that applied for a provider: its
    /// own provider id, to list the complaints about it (otherwise a member gets the
    /// complaints it opened). Provider staff always get their provider's.
    #[param(value_type = Option<String>)]
    pub provider: Option<Uuid>,
    /// Only complaints in this status (`awaiting_response`, `in_progress`, `dismissed`,
    /// `refunded`, `case_opened`, `withdrawn`).
    pub status: Option<String>,
    pub limit: Option<u32>,
    #[param(value_type = Option<String>)]
    pub after: Option<Uuid>,
}

/// Complaints: the buyer's own, the provider's, or (operator staff) all.
#[utoipa::path(
    get, path = "/api/v1/complaints", tag = "complaints", security(("bearer" = [])),
    params(ComplaintQuery),
    responses(
        (status = 200, description = "One page of complaints, oldest first", body = ComplaintPage),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "Neither a member, a provider nor operator staff"),
    )
)]
pub async fn list_complaints(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<ComplaintQuery>,
) -> Result<ApiJson<ComplaintPage>, Problem> {
    let list = PartyList {
        kind: COMPLAINT,
        index: BUYER_COMPLAINT,
        provider: q.provider,
        status: q.status.as_deref(),
        after: q.after,
        limit: q.limit,
    };
    let page = crate::kernel::parties::page(&state, &principal.actor, list, |c: &Complaint| {
        c.status.label()
    })
    .await?;
    let Some((items, next_after)) = page else {
        return Err(Problem::forbidden(
            "only buyers, providers and operator staff see complaints",
        ));
    };
    let items = items.iter().map(ComplaintView::of).collect();
    Ok(ApiJson(ComplaintPage { items, next_after }))
}

/// One complaint with its timeline, breaches and the deadline the provider faces.
#[utoipa::path(
    get, path = "/api/v1/complaints/{id}", tag = "complaints", security(("bearer" = [])),
    params(("id" = String, Path, description = "Complaint id")),
    responses(
        (status = 200, description = "The complaint", body = ComplaintView),
        (status = 401, description = "No valid bearer token"),
        (status = 404, description = P404),
    )
)]
pub async fn get_complaint(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<ComplaintView>, Problem> {
    let (loaded, _) = complaint_for(&state, &principal, &id).await?;
    Ok(ApiJson(ComplaintView::of(&loaded.state)))
}

/// A message with evidence (ids of uploaded files) on the timeline: from the buyer, the
/// provider — whose first message is its response and stops the response window — or
/// customer service (`handle_complaints`).
#[utoipa::path(
    post, path = "/api/v1/complaints/{id}/messages", tag = "complaints", security(("bearer" = [])),
    params(("id" = String, Path, description = "Complaint id")), request_body = MessageRequest,
    responses(
        (status = 200, description = "The complaint with the message", body = ComplaintView),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "Operator staff without `handle_complaints`"),
        (status = 404, description = P404),
        (status = 409, description = "`invalid_transition` (closed)"),
        (status = 422, description = "`field_required`, `text_too_long`, `too_much_evidence`, `evidence_not_found`"),
    )
)]
pub async fn add_message(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<MessageRequest>,
) -> Result<ApiJson<ComplaintView>, Problem> {
    crate::kernel::files::check(&state, &principal, &req.evidence).await?;
    let by = principal.user_id();
    let view = transition(
        &state,
        &principal,
        &id,
        |side| match side {
            Side::Operator => principal.require(Capability::HandleComplaints),
            Side::Buyer | Side::Provider => Ok(()),
        },
        |c, side, _, ctx| {
            let party = match side {
                Side::Buyer => Party::Buyer,
                Side::Provider => Party::Provider,
                Side::Operator => Party::Operator,
            };
            c.message(party, &req.text, req.evidence.clone(), by, ctx)
        },
    )
    .await?;
    Ok(ApiJson(view))
}

/// The buyer withdraws its open complaint.
#[utoipa::path(
    post, path = "/api/v1/complaints/{id}/withdrawal", tag = "complaints", security(("bearer" = [])),
    params(("id" = String, Path, description = "Complaint id")), request_body = WithdrawRequest,
    responses(
        (status = 200, description = "Withdrawn", body = ComplaintView),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "Not the buyer"),
        (status = 404, description = P404),
        (status = 409, description = "`invalid_transition` (closed)"),
    )
)]
pub async fn withdraw(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<WithdrawRequest>,
) -> Result<ApiJson<ComplaintView>, Problem> {
    let view = transition(
        &state,
        &principal,
        &id,
        |side| match side {
            Side::Buyer => Ok(()),
            _ => Err(Problem::forbidden("only the buyer withdraws its complaint")),
        },
        |c, _, _, ctx| c.withdraw(&req.note, ctx),
    )
    .await?;
    Ok(ApiJson(view))
}

/// The buyer proves the provider has been unreachable since `since`, with evidence (TC
/// annex S10 2). Once the rulebook's hours (TC: 72) have passed since then without the
/// provider writing on the complaint, a TC-S10 case opens — at once, or when the stored
/// deadline at `since` + 72 h fires.
#[utoipa::path(
    post, path = "/api/v1/complaints/{id}/unreachable-evidence", tag = "complaints", security(("bearer" = [])),
    params(("id" = String, Path, description = "Complaint id")), request_body = UnreachableReport,
    responses(
        (status = 200, description = "Recorded (and a case opened, if the hours have passed)", body = ComplaintView),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "Not the buyer"),
        (status = 404, description = P404),
        (status = 409, description = "`invalid_transition` (closed)"),
        (status = 422, description = "`since_in_future`, `field_required`, `evidence_not_found`"),
    )
)]
pub async fn report_unreachable(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<UnreachableReport>,
) -> Result<ApiJson<ComplaintView>, Problem> {
    crate::kernel::files::check(&state, &principal, &req.evidence).await?;
    let view = transition(
        &state,
        &principal,
        &id,
        |side| match side {
            Side::Buyer => Ok(()),
            _ => Err(Problem::forbidden(
                "only the buyer reports with its evidence",
            )),
        },
        |c, _, case_id, ctx| {
            c.buyer_reports_unreachable(req.since, &req.text, req.evidence.clone(), case_id, ctx)
        },
    )
    .await?;
    Ok(ApiJson(view))
}

/// Customer service (`handle_complaints`) records an attempt to reach the provider. Under
/// TC (annex S10) a failed attempt starts the 48-hour "unreachable" deadline, and the third
/// failed attempt in a row opens a TC-S10 case at once; an answer (a contact that reached
/// the provider, or a provider message) stops both.
#[utoipa::path(
    post, path = "/api/v1/admin/complaints/{id}/contact-attempts", tag = "complaints", security(("bearer" = [])),
    params(("id" = String, Path, description = "Complaint id")), request_body = ContactRequest,
    responses(
        (status = 200, description = "Recorded (and a case opened, if the provider is now unreachable)", body = ComplaintView),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller lacks `handle_complaints`"),
        (status = 404, description = P404),
        (status = 409, description = "`invalid_transition` (closed)"),
        (status = 422, description = "`field_required`, `text_too_long`"),
    )
)]
pub async fn record_contact(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ContactRequest>,
) -> Result<ApiJson<ComplaintView>, Problem> {
    principal.require(Capability::HandleComplaints)?;
    let by = principal.user_id();
    let view = transition(
        &state,
        &principal,
        &id,
        |_| Ok(()),
        |c, _, case_id, ctx| {
            c.record_contact(&req.channel, req.reached, &req.note, by, case_id, ctx)
        },
    )
    .await?;
    Ok(ApiJson(view))
}

/// Customer service (`handle_complaints`) decides: dismiss; refund the buyer through the
/// order's direct-refund flow (a ground the rulebook allows; the refund and the decision
/// are one write); or open a violation case (source `complaint`). Closes the complaint.
/// Requires `Idempotency-Key` (a refund moves money).
#[utoipa::path(
    post, path = "/api/v1/admin/complaints/{id}/decision", tag = "complaints", security(("bearer" = [])),
    params(("id" = String, Path, description = "Complaint id"),
           ("Idempotency-Key" = String, Header, description = "One key per decision")),
    request_body = DecisionRequest,
    responses(
        (status = 200, description = "Decided (refunded, or the case opened, in the same write)", body = ComplaintView),
        (status = 400, description = "No `Idempotency-Key`"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller lacks `handle_complaints`"),
        (status = 404, description = P404),
        (status = 409, description = "`invalid_transition` (closed); refund refusals: `refund_in_progress`, `not_refundable`, `already_refunded`"),
        (status = 422, description = "`field_required`; `refund_ground_not_allowed`, `ground_requires_full_refund`, `refund_exceeds_paid`; `unknown_violation_code`, `act_in_future`; `idempotency_key_reused`"),
    )
)]
pub async fn decide_complaint(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    key: IdempotencyKey,
    ApiJson(req): ApiJson<DecisionRequest>,
) -> Result<ApiJson<ComplaintView>, Problem> {
    principal.require(Capability::HandleComplaints)?;
    let what = json!({
        "method": "POST", "path": format!("/api/v1/admin/complaints/{id}/decision"), "body": &req,
    });
    if let Some(answer) = key.replayed(&state, &principal, &what).await? {
        return Ok(ApiJson(answer));
    }
    let by = principal.user_id();
    let view = crate::kernel::pipeline::run(&state.store, || async {
        let (loaded, _) = complaint_for(&state, &principal, &id).await?;
        let c = &loaded.state;
        let now = state.clock.now();
        let case_id = Uuid::now_v7();
        let resolution = match &req {
            DecisionRequest::Dismiss { .. } => Resolution::Dismiss,
            DecisionRequest::Refund { ground, award, .. } => Resolution::Refund {
                ground: *ground,
                award: (*award).into(),
            },
            DecisionRequest::OpenCase { code, act_on, .. } => Resolution::OpenCase {
                code: code.clone(),
                act_on: act_on.unwrap_or_else(|| beijing_date(c.opened_at)),
            },
        };
        let decided = decide(&state, now, |ctx| {
            c.decide(resolution, req.note(), by, case_id, ctx)
        })?;
        let mut batch = WriteBatch::default();
        let next = write_decided(&state, &loaded, decided, case_id, now, &mut batch)?;
        if let DecisionRequest::Refund {
            ground,
            award,
            note,
        } = &req
        {
            refund_in_batch(&state, c, *ground, *award, note, now, &mut batch).await?;
        }
        let answer = ComplaintView::of(&next);
        batch.idempotency = Some(key.claim(&principal, &what, &answer, now)?);
        Ok((batch, answer))
    })
    .await?;
    Ok(ApiJson(view))
}

/// The order's direct refund (the existing refund flow: escrow or clawback, fee share),
/// written into the decision's batch, conditional on the order version it was decided from.
async fn refund_in_batch(
    state: &AppState,
    c: &Complaint,
    ground: yunshi_core::rulebook::RefundReason,
    award: crate::kernel::views::AwardBody,
    note: &str,
    now: Timestamp,
    batch: &mut WriteBatch,
) -> Result<(), Problem> {
    let loaded = crate::kernel::repo::orders::load_order(&state.store, c.order.uuid())
        .await?
        .ok_or_else(|| Problem::internal(format!("complaint {} names no order", c.id)))?;
    let cmd = DirectRefund {
        ground,
        award: award.into(),
        note: note.to_string(),
    };
    let (refunded, outcome) = crate::kernel::context::decide(state, now, |ctx| {
        order::refund_directly(&loaded.state.order, cmd, ctx)
    })?
    .map_err(|e| Problem::refusal(&e))?;
    crate::reactions::order_written::write_changed(state, batch, &loaded, refunded, outcome, now)
        .await?;
    Ok(())
}

/// Whether the provider is on hold: open complaints or open cases. Operator staff, or the
/// provider itself.
#[utoipa::path(
    get, path = "/api/v1/providers/{id}/holds", tag = "complaints", security(("bearer" = [])),
    params(("id" = String, Path, description = "Provider id")),
    responses(
        (status = 200, description = "What holds the provider's settlement now", body = HoldsView),
        (status = 401, description = "No valid bearer token"),
        (status = 404, description = "No such provider, or not the caller's"),
    )
)]
pub async fn holds(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<HoldsView>, Problem> {
    let pid = ProviderId(path_id(&id, "provider")?);
    let missing = || Problem::not_found(format!("no provider {id}"));
    let provider = load_provider(&state, pid).await?.ok_or_else(missing)?;
    if !principal.actor.is_operator() && !acts_for(&principal.actor, &provider.state) {
        return Err(missing());
    }
    Ok(ApiJson(provider_holds(&state, pid).await?))
}

// ---- deadlines ----

fn fire_response_due(state: AppState, d: Deadline) -> HandlerFuture {
    Box::pin(fire(state, d, |c, _, case_id, ctx| {
        c.response_due_passes(case_id, ctx)
    }))
}

fn fire_unreachable_due(state: AppState, d: Deadline) -> HandlerFuture {
    Box::pin(fire(state, d, |c, d, case_id, ctx| {
        let key = d.payload["key"].as_str().unwrap_or_default();
        c.unreachable_due_passes(key, case_id, ctx)
    }))
}

/// A complaint transition a deadline makes.
type Step = fn(&Complaint, &Deadline, Uuid, &mut Context<'_>) -> Decided;

/// Fires `d`: the complaint's transition (a breach opens its case in the same batch) and
/// the deadline marked fired, in one batch.
async fn fire(state: AppState, d: Deadline, f: Step) -> Result<(), Problem> {
    let id = d
        .subject
        .strip_prefix("complaint:")
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| {
            Problem::internal(format!("deadline {} has subject {:?}", d.id, d.subject))
        })?;
    crate::kernel::pipeline::fire(&state, &d, |now| {
        let (state, d) = (&state, &d);
        async move {
            let mut batch = WriteBatch::default();
            if let Some(loaded) = load::<Complaint>(&state.store, COMPLAINT, id).await? {
                let case_id = Uuid::now_v7();
                let decided = decide(state, now, |ctx| f(&loaded.state, d, case_id, ctx))?;
                write_decided(state, &loaded, decided, case_id, now, &mut batch)?;
            }
            Ok(batch)
        }
    })
    .await
}

/// An evidence file cited on a complaint's timeline, for every party of the complaint (its
/// buyer, the provider, operator staff).
#[utoipa::path(
    get, path = "/api/v1/complaints/{id}/evidence/{file}", tag = "evidence", security(("bearer" = [])),
    params(("id" = String, Path, description = "Complaint id"), ("file" = String, Path, description = "Evidence file id")),
    responses(
        (status = 200, description = "The file", content_type = "application/octet-stream"),
        (status = 404, description = "No such complaint the caller may see, or the file is not cited on it"),
    )
)]
pub async fn complaint_evidence(
    State(state): State<AppState>,
    principal: Principal,
    axum::extract::Path((id, file)): axum::extract::Path<(String, String)>,
) -> Result<axum::response::Response, Problem> {
    let complaint = complaint_for(&state, &principal, &id).await?.0.state;
    let file = crate::kernel::files::stored(&state, &file).await?;
    crate::kernel::files::cited_file(
        file,
        complaint
            .timeline
            .iter()
            .flat_map(|e| e.evidence.iter().copied()),
    )
}
