//! Invoices to buyers over HTTP (SPEC §11 "Invoices", §7 item 8; issue 5 item 9).
//!
//! The buyer of a paid order requests an invoice (`POST /api/v1/orders/{id}/invoice`, one per
//! order, `Idempotency-Key` honoured when sent). The issuer follows the order's sales mode:
//! the provider's staff for a self-sold order, the operator's finance (`manage_invoices`) for
//! a consignment one. Under ALI the provider has 7 days: [`DEADLINES`] records the breach on
//! the request when they pass (`overdue`, event `invoice.breach`), and the settlement run
//! reads the provider's breaches through [`provider_invoice_breaches`].
//!
//! A refund of the order reaches the request through [`on_order_refunded`], which
//! [`crate::reactions::order_written::write_order`] — the path of every order write — runs in the refund's own
//! batch: before issue the amount drops; after issue a task opens (return the invoice, or the
//! red-letter procedure), which the buyer and then the issuer complete here.
//!
//! Who sees what: the buyer its own requests, the provider's staff (or the member that
//! applied for it) the requests on its orders, operator staff with `manage_invoices` all;
//! anyone else gets 404.
//!
//! Aggregates: `invoice_request` (the core's [`InvoiceRequest`]; owner = provider id, status
//! = the request's), `buyer_invoice` (an index keyed by the request id, owner = the buyer
//! member id) and the unique key `invoice.order` (order id → request id).

pub mod views;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, OpenApi};
use uuid::Uuid;
use yunshi_core::account::Capability;
use yunshi_core::decision::Context;
use yunshi_core::ids::OrderId;
use yunshi_core::invoice::{
    Decided, ISSUE_DUE, InvoiceError, InvoiceRequest, Issuer, RequestInvoice,
};
use yunshi_store::{Deadline, StoreError, UniqueKey, WriteBatch};

use self::views::*;
use crate::kernel::auth::Principal;
use crate::kernel::deadlines::{Handler, HandlerFuture};
use crate::kernel::idempotency::IdempotencyKey;
use crate::kernel::parties::PartyList;
use crate::kernel::pipeline::{Loaded, add_outcome, aggregate_write, load};
use crate::kernel::problem::{ApiJson, ErrorCode, Problem, path_id};
use crate::kernel::repo::invoices::{ORDER_SCOPE, invoice_write, write_decided};
use crate::kernel::repo::providers::acts_for;
use crate::kernel::repo::providers::load_provider;
use crate::kernel::repo::{BUYER_INVOICE, INVOICE};
use crate::kernel::state::AppState;

const P404: &str = "No such invoice request, or not the caller's";

#[derive(OpenApi)]
#[openapi(
    paths(
        request_invoice, order_invoice, list_invoices, get_invoice, issue_invoice,
        mark_deducted, buyer_part, complete_task, invoice_evidence,
    ),
    components(schemas(
        RequestInvoiceBody, IssueBody, BuyerPartBody, CompleteTaskBody, InvoiceView, InvoicePage,
    )),
    tags((name = "invoices", description = "Invoices to buyers (发票, SPEC §11, §7.8)"))
)]
pub struct ApiDoc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/orders/{id}/invoice",
            post(request_invoice).get(order_invoice),
        )
        .route("/api/v1/invoices", get(list_invoices))
        .route("/api/v1/invoices/{id}", get(get_invoice))
        .route("/api/v1/invoices/{id}/issue", post(issue_invoice))
        .route("/api/v1/invoices/{id}/deduction", post(mark_deducted))
        .route(
            "/api/v1/invoices/{id}/tasks/{task}/buyer-part",
            post(buyer_part),
        )
        .route(
            "/api/v1/invoices/{id}/tasks/{task}/completion",
            post(complete_task),
        )
        .route(
            "/api/v1/invoices/{id}/evidence/{file}",
            get(invoice_evidence),
        )
}

/// The deadline kinds this module fires.
pub const DEADLINES: &[(&str, Handler)] = &[(ISSUE_DUE, fire_issue_due)];

/// The buyer index of an invoice request.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct BuyerIndex {
    invoice: Uuid,
    order: OrderId,
}

fn refused(e: InvoiceError) -> Problem {
    Problem::refusal(&e)
}

/// Runs an invoice rule at `now` under the rulebook in force.
fn decide<T>(
    state: &AppState,
    now: Timestamp,
    f: impl FnOnce(&mut Context<'_>) -> Result<T, InvoiceError>,
) -> Result<T, Problem> {
    crate::kernel::context::decide(state, now, f)?.map_err(refused)
}

/// On which side the caller stands on a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Buyer,
    Provider,
    /// Operator staff with `manage_invoices`.
    Finance,
}

impl Side {
    /// The issuer the caller would act as.
    fn issuer(self) -> Result<Issuer, Problem> {
        match self {
            Side::Provider => Ok(Issuer::Provider),
            Side::Finance => Ok(Issuer::Operator),
            Side::Buyer => Err(Problem::forbidden("only the issuer does this")),
        }
    }

    fn buyer(self) -> Result<(), Problem> {
        match self {
            Side::Buyer => Ok(()),
            _ => Err(Problem::forbidden("only the buyer does this")),
        }
    }
}

/// The side `principal` stands on for a request of `buyer` on `provider`'s order, if any.
async fn side_of(
    state: &AppState,
    principal: &Principal,
    r: &InvoiceRequest,
) -> Result<Option<Side>, Problem> {
    let actor = &principal.actor;
    if actor.acts_for_member(r.buyer) {
        return Ok(Some(Side::Buyer));
    }
    if actor.can(Capability::ManageInvoices) {
        return Ok(Some(Side::Finance));
    }
    let own = match load_provider(state, r.provider).await? {
        Some(p) => acts_for(actor, &p.state),
        None => false,
    };
    Ok(own.then_some(Side::Provider))
}

/// The request, if the caller may see it, with the caller's side; 404 otherwise.
async fn invoice_for(
    state: &AppState,
    principal: &Principal,
    raw: &str,
) -> Result<(Loaded<InvoiceRequest>, Side), Problem> {
    let id = path_id(raw, "invoice request")?;
    let missing = || Problem::not_found(format!("no invoice request {raw}"));
    let loaded: Loaded<InvoiceRequest> =
        load(&state.store, INVOICE, id).await?.ok_or_else(missing)?;
    let side = side_of(state, principal, &loaded.state)
        .await?
        .ok_or_else(missing)?;
    Ok((loaded, side))
}

/// Loads, checks the side, decides and commits, retrying a lost race.
async fn transition(
    state: &AppState,
    principal: &Principal,
    raw: &str,
    f: impl Fn(&InvoiceRequest, Side, &mut Context<'_>) -> Result<Decided, Problem>,
) -> Result<InvoiceView, Problem> {
    crate::kernel::pipeline::run(&state.store, || async {
        let (loaded, side) = invoice_for(state, principal, raw).await?;
        let now = state.clock.now();
        let decided =
            crate::kernel::context::decide(state, now, |ctx| f(&loaded.state, side, ctx))??
                .map_err(refused)?;
        let mut batch = WriteBatch::default();
        let next = write_decided(&loaded, decided, now, &mut batch)?;
        Ok((batch, InvoiceView::of(&next)))
    })
    .await
}

/// A refund task's number in the path.
fn task_no(raw: &str) -> Result<u32, Problem> {
    raw.parse()
        .map_err(|_| Problem::not_found(format!("no task {raw:?}")))
}

// ---- handlers ----

/// The buyer requests an invoice for its paid order: the title (抬头), the tax number for an
/// enterprise title, ordinary or special VAT, e-mail or post. The amount is what was paid
/// minus what was refunded so far. A self-sold order's provider issues (ALI: within 7 days, a
/// stored deadline), a consignment order's operator. One request per order. An
/// `Idempotency-Key`, when sent, makes a retry answer the first request.
#[utoipa::path(
    post, path = "/api/v1/orders/{id}/invoice", tag = "invoices", security(("bearer" = [])),
    params(("id" = String, Path, description = "Order id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Optional: one key per request")),
    request_body = RequestInvoiceBody,
    responses(
        (status = 201, description = "Requested", body = InvoiceView),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller sees the order but is not its buyer"),
        (status = 404, description = "No such order, or not the caller's"),
        (status = 409, description = "`order_not_paid`, `nothing_to_invoice`, `invoice_already_requested`"),
        (status = 422, description = "`field_required`, `text_too_long`, `tax_number_required`, `invalid_tax_number`, `special_vat_needs_enterprise`, `invalid_email`, `idempotency_key_reused`, unknown fields"),
    )
)]
pub async fn request_invoice(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    key: Option<IdempotencyKey>,
    ApiJson(req): ApiJson<RequestInvoiceBody>,
) -> Result<(StatusCode, ApiJson<InvoiceView>), Problem> {
    let what = json!({
        "method": "POST", "path": format!("/api/v1/orders/{id}/invoice"), "body": &req,
    });
    if let Some(key) = &key
        && let Some(answer) = key.replayed(&state, &principal, &what).await?
    {
        return Ok((StatusCode::CREATED, ApiJson(answer)));
    }
    let only = "only the buyer requests an invoice for its order";
    let order_id = path_id(&id, "order")?;
    let loaded = crate::kernel::parties::buyers_order(&state, &principal, order_id, only).await?;
    let order = &loaded.state.order;
    let taken = || {
        Problem::coded(
            ErrorCode::Conflict,
            StatusCode::CONFLICT,
            "invoice_already_requested",
            format!("an invoice was already requested for order {id}"),
        )
    };
    if state
        .store
        .unique_key(ORDER_SCOPE, &order.id.to_string())
        .await?
        .is_some()
    {
        return Err(taken());
    }
    let now = state.clock.now();
    let invoice_id = Uuid::now_v7();
    let cmd = RequestInvoice {
        title: req.title.clone(),
        title_kind: req.title_kind,
        tax_number: req.tax_number.clone(),
        invoice_type: req.invoice_type,
        delivery: req.delivery.clone(),
    };
    let (request, outcome) = decide(&state, now, |ctx| {
        InvoiceRequest::request(invoice_id, order, cmd, ctx)
    })?;
    let mut batch = WriteBatch::default();
    add_outcome(&mut batch, outcome, now);
    batch.aggregates.push(invoice_write(&request, None, now)?);
    batch.aggregates.push(aggregate_write(
        BUYER_INVOICE,
        invoice_id,
        None,
        request.buyer.to_string(),
        "index",
        &BuyerIndex {
            invoice: invoice_id,
            order: request.order,
        },
        now,
    )?);
    batch.unique_keys.push(UniqueKey {
        scope: ORDER_SCOPE.to_string(),
        key: order.id.to_string(),
        id: invoice_id,
    });
    let view = InvoiceView::of(&request);
    if let Some(key) = &key {
        batch.idempotency = Some(key.claim(&principal, &what, &view, now)?);
    }
    match crate::kernel::pipeline::create(&state.store, batch).await {
        Ok(yunshi_store::Committed::Applied { .. }) => {}
        Ok(yunshi_store::Committed::Replayed { response }) => {
            let answer = serde_json::from_value(response)
                .map_err(|e| Problem::internal(format!("stored answer does not read back: {e}")))?;
            return Ok((StatusCode::CREATED, ApiJson(answer)));
        }
        Err(StoreError::DuplicateKey { .. }) => return Err(taken()),
        Err(e) => {
            return Err(crate::kernel::idempotency::mismatch(&e).unwrap_or_else(|| e.into()));
        }
    }
    tracing::info!(invoice = %invoice_id, order = %request.order, issuer = request.issuer.label(), "invoice requested");
    Ok((StatusCode::CREATED, ApiJson(view)))
}

/// The invoice request of an order, for its parties.
#[utoipa::path(
    get, path = "/api/v1/orders/{id}/invoice", tag = "invoices", security(("bearer" = [])),
    params(("id" = String, Path, description = "Order id")),
    responses(
        (status = 200, description = "The order's invoice request", body = InvoiceView),
        (status = 401, description = "No valid bearer token"),
        (status = 404, description = "No invoice requested for the order, or not the caller's"),
    )
)]
pub async fn order_invoice(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<InvoiceView>, Problem> {
    let missing = || Problem::not_found(format!("no invoice requested for order {id}"));
    let order_id = path_id(&id, "order")?;
    let invoice = state
        .store
        .unique_key(ORDER_SCOPE, &order_id.to_string())
        .await?
        .ok_or_else(missing)?;
    // Not the caller's: the same 404 as no request, without the request's id.
    let (loaded, _) = invoice_for(&state, &principal, &invoice.to_string())
        .await
        .map_err(|e| {
            if e.status_code() == StatusCode::NOT_FOUND {
                missing()
            } else {
                e
            }
        })?;
    Ok(ApiJson(InvoiceView::of(&loaded.state)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InvoiceQuery {
    /// Operator finance: only this provider's. The member that applied for a provider: its
    /// own provider id, to list the requests on its orders (otherwise a member gets the
    /// requests it made). Provider staff always get their provider's.
    #[param(value_type = Option<String>)]
    pub provider: Option<Uuid>,
    /// Only requests in this status (`requested`, `overdue`, `issued`, `correcting`, `void`).
    pub status: Option<String>,
    pub limit: Option<u32>,
    #[param(value_type = Option<String>)]
    pub after: Option<Uuid>,
}

/// Invoice requests: the buyer's own, the provider's, or (operator finance) all.
#[utoipa::path(
    get, path = "/api/v1/invoices", tag = "invoices", security(("bearer" = [])),
    params(InvoiceQuery),
    responses(
        (status = 200, description = "One page of invoice requests, oldest first", body = InvoicePage),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "Operator staff without `manage_invoices`, or neither a member nor a provider"),
    )
)]
pub async fn list_invoices(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<InvoiceQuery>,
) -> Result<ApiJson<InvoicePage>, Problem> {
    if principal.actor.is_operator() {
        principal.require(Capability::ManageInvoices)?;
    }
    let list = PartyList {
        kind: INVOICE,
        index: BUYER_INVOICE,
        provider: q.provider,
        status: q.status.as_deref(),
        after: q.after,
        limit: q.limit,
    };
    let page =
        crate::kernel::parties::page(&state, &principal.actor, list, |r: &InvoiceRequest| {
            r.status.label()
        })
        .await?;
    let Some((items, next_after)) = page else {
        return Err(Problem::forbidden(
            "only buyers, providers and operator finance see invoice requests",
        ));
    };
    let items = items.iter().map(InvoiceView::of).collect();
    Ok(ApiJson(InvoicePage { items, next_after }))
}

/// One invoice request with its invoices, tasks and the issuer's deadline.
#[utoipa::path(
    get, path = "/api/v1/invoices/{id}", tag = "invoices", security(("bearer" = [])),
    params(("id" = String, Path, description = "Invoice request id")),
    responses(
        (status = 200, description = "The invoice request", body = InvoiceView),
        (status = 401, description = "No valid bearer token"),
        (status = 404, description = P404),
    )
)]
pub async fn get_invoice(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<InvoiceView>, Problem> {
    let (loaded, _) = invoice_for(&state, &principal, &id).await?;
    Ok(ApiJson(InvoiceView::of(&loaded.state)))
}

/// The issuer records the invoice it issued: number, amount (the amount due), postage. A
/// paper invoice above the rulebook's free-postage amount (ALI: 50.00) carries no postage.
/// Issuing after the deadline is accepted; the breach stays recorded.
#[utoipa::path(
    post, path = "/api/v1/invoices/{id}/issue", tag = "invoices", security(("bearer" = [])),
    params(("id" = String, Path, description = "Invoice request id")), request_body = IssueBody,
    responses(
        (status = 200, description = "Issued", body = InvoiceView),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "`not_the_issuer`; the buyer"),
        (status = 404, description = P404),
        (status = 409, description = "`invalid_transition` (already issued, void)"),
        (status = 422, description = "`field_required`, `invoice_amount_mismatch`, `postage_not_allowed`, `postage_on_electronic_invoice`, `negative_amount`, `duplicate_invoice_number`"),
    )
)]
pub async fn issue_invoice(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<IssueBody>,
) -> Result<ApiJson<InvoiceView>, Problem> {
    let by = principal.user_id();
    let view = transition(&state, &principal, &id, |r, side, ctx| {
        let issuer = side.issuer()?;
        Ok(r.issue(issuer, (&req).into(), by, ctx))
    })
    .await?;
    Ok(ApiJson(view))
}

/// The buyer states it used the invoice in force for tax deduction (抵扣): a later refund
/// then needs the red-letter information form.
#[utoipa::path(
    post, path = "/api/v1/invoices/{id}/deduction", tag = "invoices", security(("bearer" = [])),
    params(("id" = String, Path, description = "Invoice request id")),
    responses(
        (status = 200, description = "Recorded", body = InvoiceView),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "Not the buyer"),
        (status = 404, description = P404),
        (status = 409, description = "`invalid_transition` (not issued)"),
    )
)]
pub async fn mark_deducted(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<InvoiceView>, Problem> {
    let view = transition(&state, &principal, &id, |r, side, ctx| {
        side.buyer()?;
        Ok(r.mark_deducted(ctx))
    })
    .await?;
    Ok(ApiJson(view))
}

/// The buyer's part of a refund task: the invoice returned (`return_invoice`), or the
/// red-letter information form (红字信息表) uploaded as evidence (`red_letter`).
#[utoipa::path(
    post, path = "/api/v1/invoices/{id}/tasks/{task}/buyer-part", tag = "invoices", security(("bearer" = [])),
    params(("id" = String, Path, description = "Invoice request id"),
           ("task" = u32, Path, description = "Task number (1, 2, …)")),
    request_body = BuyerPartBody,
    responses(
        (status = 200, description = "Recorded; the issuer's turn", body = InvoiceView),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "Not the buyer"),
        (status = 404, description = P404),
        (status = 409, description = "`wrong_task_step`, `task_done`"),
        (status = 422, description = "`no_such_task`, `evidence_not_found`"),
    )
)]
pub async fn buyer_part(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, task)): Path<(String, String)>,
    ApiJson(req): ApiJson<BuyerPartBody>,
) -> Result<ApiJson<InvoiceView>, Problem> {
    let task = task_no(&task)?;
    if let BuyerPartBody::RedLetterForm { evidence } = req {
        crate::kernel::files::check(&state, &principal, &[evidence]).await?;
    }
    let view = transition(&state, &principal, &id, |r, side, ctx| {
        side.buyer()?;
        Ok(r.buyer_part(task, req.into(), ctx))
    })
    .await?;
    Ok(ApiJson(view))
}

/// The issuer completes a refund task after the buyer's part: the red-letter invoice's
/// number (`red_letter`), and the re-issued invoice's number when anything remains.
#[utoipa::path(
    post, path = "/api/v1/invoices/{id}/tasks/{task}/completion", tag = "invoices", security(("bearer" = [])),
    params(("id" = String, Path, description = "Invoice request id"),
           ("task" = u32, Path, description = "Task number (1, 2, …)")),
    request_body = CompleteTaskBody,
    responses(
        (status = 200, description = "Done: issued again, or void", body = InvoiceView),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "`not_the_issuer`; the buyer"),
        (status = 404, description = P404),
        (status = 409, description = "`buyer_part_missing`, `task_done`"),
        (status = 422, description = "`no_such_task`, `field_required`, `not_needed`, `duplicate_invoice_number`"),
    )
)]
pub async fn complete_task(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, task)): Path<(String, String)>,
    ApiJson(req): ApiJson<CompleteTaskBody>,
) -> Result<ApiJson<InvoiceView>, Problem> {
    let task = task_no(&task)?;
    let by = principal.user_id();
    let view = transition(&state, &principal, &id, |r, side, ctx| {
        let issuer = side.issuer()?;
        Ok(r.complete_task(issuer, task, (&req).into(), by, ctx))
    })
    .await?;
    Ok(ApiJson(view))
}

/// A red-letter information form on the request, for its parties (the issuer needs it).
#[utoipa::path(
    get, path = "/api/v1/invoices/{id}/evidence/{file}", tag = "invoices", security(("bearer" = [])),
    params(("id" = String, Path, description = "Invoice request id"), ("file" = String, Path, description = "Evidence file id")),
    responses(
        (status = 200, description = "The file", content_type = "application/octet-stream"),
        (status = 404, description = "No such request the caller may see, or the file is not on it"),
    )
)]
pub async fn invoice_evidence(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let (loaded, _) = invoice_for(&state, &principal, &id).await?;
    let file = crate::kernel::files::stored(&state, &file).await?;
    crate::kernel::files::cited_file(
        file,
        loaded.state.tasks.iter().filter_map(|t| t.red_letter_form),
    )
}

// ---- deadlines ----

fn fire_issue_due(state: AppState, d: Deadline) -> HandlerFuture {
    Box::pin(fire_issue(state, d))
}

/// The issue deadline: the breach recorded on a request still not issued, and the deadline
/// marked fired, in one batch.
async fn fire_issue(state: AppState, d: Deadline) -> Result<(), Problem> {
    let id = d
        .subject
        .strip_prefix("invoice:")
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| {
            Problem::internal(format!("deadline {} has subject {:?}", d.id, d.subject))
        })?;
    crate::kernel::pipeline::fire(&state, &d, |now| {
        let state = &state;
        async move {
            let mut batch = WriteBatch::default();
            if let Some(loaded) = load::<InvoiceRequest>(&state.store, INVOICE, id).await? {
                let decided = decide(state, now, |ctx| loaded.state.issue_due_passes(ctx))?;
                write_decided(&loaded, decided, now, &mut batch)?;
            }
            Ok(batch)
        }
    })
    .await
}
