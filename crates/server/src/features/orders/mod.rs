//! Orders under escrow, the sandbox payment gateway, service milestones, refunds and ratings
//! (SPEC §6, §7; issue 3 items 5–7).
//!
//! An order is the aggregate `order` (owner: the buyer's member id; status: the order's), its
//! state an [`OrderRecord`]: the core's [`Order`] plus the warranty the provider registered.
//! Every command is one `WriteBatch` conditional on the version it was decided from; a lost
//! race reloads and decides again, so 50 racing refund requests end with one refund. Money-
//! moving POSTs (pay, refund request, provider acceptance, operator decision, direct refund)
//! need an `Idempotency-Key`: the answer is stored with the effect, and a replay — even one
//! that lost the race — gets that answer.
//!
//! Prices are snapshotted from the `product` aggregate's live version, fee terms from the
//! provider's fee agreement (the settlement feature; the rulebook's default commission where it
//! says nothing); every order write also writes the settlement items its change created.
//! Ratings also update
//! the product's accumulator, the aggregate `product_rating` keyed by the product id (kept
//! apart from `product` so that catalogue writes and ratings never conflict).
//!
//! Every order write goes through [`write_order`], which also keeps:
//! - the provider index `provider_order` (id = the order's, owner = the provider, status =
//!   the order's, rewritten when the status changes), so a provider's staff — and the member
//!   that applied for it — list its orders with one keyset-paginated query;
//! - the product's sales: a payment, and a refund in full, schedule an `order.sale_count`
//!   deadline due at once whose firing updates `product_sales` (keyed by the product id).
//!   The payment never writes a per-product row, so popular products do not make payments
//!   race each other; the count follows within one deadline-runner round.
//!
//! A SaaS order carries its delivery state (`order.delivery`): pending when paid, delivered
//! when the provider's endpoint acknowledges the `create`, failed when the `create` is
//! dead-lettered (written by the deliveries feature in the dead-lettering batch).

mod deadlines;
pub mod views;

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::OpenApi;
use uuid::Uuid;
use yunshi_core::account::Capability;
use yunshi_core::decision::{Context, Outcome};
use yunshi_core::ids::{ProductId, ProviderId};
use yunshi_core::listing::Product;
use yunshi_core::order::{
    self, ConfirmedPayment, GUARANTEE_WINDOW_END, IntentStatus, Order, OrderError, PaymentStart,
    PlaceOrder, PriceSnapshot, ProductRating, ProductReviews, ProductSales, SaleCount,
};
use yunshi_store::{AggregateQuery, Deadline, Store, StoreError, UniqueKey, WriteBatch};

use self::deadlines::{
    fire_sale_count, fire_sale_counts, fire_window_end, fire_window_ends, window_end_order,
};
use self::views::*;
use crate::kernel::auth::Principal;
use crate::kernel::deadlines::{Handler, HandlerFuture};
use crate::kernel::gateway::{Charge, ChargeOutcome, VoidOutcome};
use crate::kernel::idempotency::{IdempotencyKey, mismatch};
use crate::kernel::pipeline::Decision;
use crate::kernel::pipeline::{Loaded, add_outcome, aggregate_write};
use crate::kernel::problem::{ApiJson, ErrorCode, Problem};
use crate::kernel::repo::orders::{ORDER, OrderRecord, PROVIDER_ORDER, write_record};
use crate::kernel::repo::products::{
    PRODUCT, PRODUCT_RATING, PRODUCT_REVIEWS, PRODUCT_SALES, load_product_rating,
};
use crate::kernel::state::AppState;
use crate::kernel::views::AwardBody;
use crate::reactions::order_written::write_order;

/// Unique-key scope: one rating per order.
pub const RATING_SCOPE: &str = "order.rating";

/// This module's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(
        place_order,
        list_orders,
        get_order,
        pay_order,
        cancel_order,
        confirm_receipt,
        renew_order,
        report_milestone,
        confirm_milestone,
        register_warranty,
        accept_service,
        request_refund,
        accept_refund,
        decline_refund,
        escalate_refund,
        withdraw_refund,
        decide_refund,
        refund_directly,
        rate_order,
        product_rating,
    ),
    components(schemas(
        PlaceOrderRequest,
        RenewRequest,
        PayRequest,
        OrderView,
        OrderPage,
        RefundRequestBody,
        NoteBody,
        AwardBody,
        DecisionBody,
        DirectRefundBody,
        MilestoneBody,
        WarrantyBody,
        RatingBody,
        ProductRatingView,
        crate::kernel::gateway::SandboxBehaviour,
    )),
    tags((name = "orders", description = "Orders under escrow, payments, service supervision, refunds and ratings (SPEC §6–§7)"))
)]
pub struct ApiDoc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/orders", post(place_order).get(list_orders))
        .route("/api/v1/orders/{id}", get(get_order))
        .route("/api/v1/orders/{id}/payments", post(pay_order))
        .route("/api/v1/orders/{id}/cancellation", post(cancel_order))
        .route("/api/v1/orders/{id}/receipt", post(confirm_receipt))
        .route("/api/v1/orders/{id}/renewals", post(renew_order))
        .route("/api/v1/orders/{id}/milestones", post(report_milestone))
        .route(
            "/api/v1/orders/{id}/milestones/{index}/confirmation",
            post(confirm_milestone),
        )
        .route(
            "/api/v1/orders/{id}/warranty",
            axum::routing::put(register_warranty),
        )
        .route("/api/v1/orders/{id}/acceptance", post(accept_service))
        .route("/api/v1/orders/{id}/refunds", post(request_refund))
        .route(
            "/api/v1/orders/{id}/refunds/current/acceptance",
            post(accept_refund),
        )
        .route(
            "/api/v1/orders/{id}/refunds/current/decline",
            post(decline_refund),
        )
        .route(
            "/api/v1/orders/{id}/refunds/current/escalation",
            post(escalate_refund),
        )
        .route(
            "/api/v1/orders/{id}/refunds/current/withdrawal",
            post(withdraw_refund),
        )
        .route(
            "/api/v1/orders/{id}/refunds/current/decision",
            post(decide_refund),
        )
        .route("/api/v1/orders/{id}/direct-refunds", post(refund_directly))
        .route("/api/v1/orders/{id}/rating", post(rate_order))
        .route("/api/v1/product-ratings/{id}", get(product_rating))
}

/// The deadline kinds this module fires, and how.
pub const DEADLINES: &[(&str, Handler)] = &[
    (GUARANTEE_WINDOW_END, fire_window_end),
    (order::SALE_COUNT, fire_sale_count),
    (order::PAYMENT_INTENT_RECONCILE, fire_intent_reconcile),
];

/// The kinds the deadline worker fires in bulk (see [`crate::kernel::deadlines::BatchHandler`]).
pub const BATCH_DEADLINES: &[(&str, crate::kernel::deadlines::BatchHandler)] = &[
    (order::SALE_COUNT, fire_sale_counts),
    (GUARANTEE_WINDOW_END, fire_window_ends),
];

/// Who may give a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Buyer,
    Provider,
    Operator(Capability),
}

/// The view of `record` at `now`.
pub fn view(record: &OrderRecord, now: Timestamp) -> OrderView {
    let order = &record.order;
    OrderView {
        countdown: serde_json::to_value(order::countdown(order, now)).unwrap_or_default(),
        refunded: order
            .refunded_total()
            .unwrap_or(yunshi_core::money::Fen::ZERO),
        warranty_days: record.warranty_days,
        order: order.clone(),
    }
}

/// The marketplace rulebook in force at `now`, in a decision context.
fn decide<T>(
    state: &AppState,
    now: Timestamp,
    f: impl FnOnce(&mut Context<'_>) -> Result<T, OrderError>,
) -> Result<T, Problem> {
    crate::kernel::context::decide(state, now, f)?.map_err(|e| Problem::refusal(&e))
}

fn path_id(raw: &str) -> Result<Uuid, Problem> {
    Uuid::parse_str(raw).map_err(|_| Problem::not_found(format!("no order {raw:?}")))
}

/// Loads the order `id` if the caller may see it (anything else is 404), and checks that
/// the caller may give a command as `who` (403).
async fn load_for(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    who: Option<Who>,
) -> Result<crate::kernel::pipeline::Loaded<OrderRecord>, Problem> {
    let loaded = crate::kernel::pipeline::load::<OrderRecord>(&state.store, ORDER, id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no order {id}")))?;
    let order = &loaded.state.order;
    let provider = order.terms.provider;
    let sees_directly = principal.actor.may_see_order(provider, order.buyer);
    // The member that applied for a provider acts for it like its staff; looked up only when
    // it can matter (the buyer's own commands skip the read).
    let own_provider = if sees_directly && who != Some(Who::Provider) {
        None
    } else {
        crate::kernel::repo::providers::own_provider_id(state, &principal.actor).await?
    };
    if !sees_directly && own_provider != Some(provider) {
        return Err(Problem::not_found(format!("no order {id}")));
    }
    let order = &loaded.state.order;
    match who {
        None => {}
        Some(Who::Buyer) if principal.actor.acts_for_member(order.buyer) => {}
        Some(Who::Buyer) => return Err(Problem::forbidden("only the buyer may do this")),
        Some(Who::Provider) if own_provider == Some(order.terms.provider) => {}
        Some(Who::Provider) => {
            return Err(Problem::forbidden(
                "only the provider of the product may do this",
            ));
        }
        Some(Who::Operator(capability)) => principal.require(capability)?,
    }
    Ok(loaded)
}

/// An `Idempotency-Key` with what the request asked, for the fingerprint.
struct Idem<'a> {
    key: &'a IdempotencyKey,
    what: serde_json::Value,
}

/// The stored answer for this key, if the key was used before: the same request gets its
/// answer again; another request with the key is refused with 422.
async fn replayed(
    store: &Store,
    principal: &Principal,
    idem: &Idem<'_>,
) -> Result<Option<OrderView>, Problem> {
    let Some(record) = store
        .idempotency_record(&principal.principal, &idem.key.0)
        .await?
    else {
        return Ok(None);
    };
    let claim = idem
        .key
        .claim(principal, &idem.what, &(), Timestamp::UNIX_EPOCH)?;
    if claim.fingerprint != record.fingerprint {
        return Err(mismatch(&StoreError::IdempotencyMismatch {
            key: idem.key.0.clone(),
        })
        .unwrap_or_else(|| Problem::conflict("idempotency key reused")));
    }
    serde_json::from_value(record.response)
        .map(Some)
        .map_err(|e| Problem::internal(format!("stored answer does not read back: {e}")))
}

type Decide<'a> = dyn Fn(&OrderRecord, &mut Context<'_>) -> Result<(OrderRecord, Outcome), OrderError>
    + Send
    + Sync
    + 'a;

fn same_order(
    f: impl Fn(&Order, &mut Context<'_>) -> Result<(Order, Outcome), OrderError> + Send + Sync,
) -> impl Fn(&OrderRecord, &mut Context<'_>) -> Result<(OrderRecord, Outcome), OrderError> + Send + Sync
{
    move |record, ctx| {
        let (order, outcome) = f(&record.order, ctx)?;
        Ok((
            OrderRecord {
                order,
                warranty_days: record.warranty_days,
                index_version: None,
            },
            outcome,
        ))
    }
}

/// Load, check, decide, commit — again from a fresh load after a lost race.
async fn order_command(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    who: Who,
    idem: Option<Idem<'_>>,
    f: &Decide<'_>,
) -> Result<OrderView, Problem> {
    crate::kernel::pipeline::write(&state.store, || async {
        let loaded = load_for(state, principal, id, Some(who)).await?;
        // Checked after the load: a replay that lost the race finds the winner's answer.
        if let Some(idem) = &idem
            && let Some(answer) = replayed(&state.store, principal, idem).await?
        {
            return Ok(Decision::Answer(answer));
        }
        let now = state.clock.now();
        let (next, outcome) = decide(state, now, |ctx| f(&loaded.state, ctx))?;
        let answer = view(&next, now);
        let mut batch = WriteBatch::default();
        write_order(
            state,
            &mut batch,
            Some(&loaded.state),
            next,
            Some(loaded.version),
            now,
        )
        .await?;
        add_outcome(&mut batch, outcome, now);
        if let Some(idem) = &idem {
            batch.idempotency = Some(idem.key.claim(principal, &idem.what, &answer, now)?);
        }
        Ok(Decision::Write(batch, answer))
    })
    .await
}

fn what(action: &str, id: Uuid, body: &impl Serialize) -> serde_json::Value {
    json!({ "method": "POST", "path": format!("/api/v1/orders/{id}/{action}"), "body": body })
}

/// The `product` aggregate as the catalogue stores it: the core's product, bare or inside a
/// record beside its sales and ratings (only `product` is read here).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum StoredProduct {
    Record { product: Box<Product> },
    Bare(Box<Product>),
}

impl StoredProduct {
    fn into_product(self) -> Product {
        match self {
            StoredProduct::Record { product } | StoredProduct::Bare(product) => *product,
        }
    }
}

/// The live terms of product `id`, if it is on sale, with the fee terms the provider's
/// agreement gives it now.
async fn snapshot(state: &AppState, id: Uuid, quantity: u32) -> Result<PriceSnapshot, Problem> {
    let store = &state.store;
    let product = crate::kernel::pipeline::load::<StoredProduct>(store, PRODUCT, id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no product {id}")))?
        .state
        .into_product();
    let live = product
        .live
        .as_ref()
        .filter(|_| product.is_on_sale())
        .ok_or_else(|| {
            Problem::coded(
                ErrorCode::Conflict,
                StatusCode::CONFLICT,
                "product_not_on_sale",
                format!("product {id} is not on sale"),
            )
        })?;
    let (agreement, _) =
        crate::kernel::repo::settlement::load_fee_agreement(state, product.provider).await?;
    let now = state.clock.now();
    let rulebook = crate::kernel::context::rulebook_at(state, now)?;
    Ok(PriceSnapshot {
        product: product.id,
        provider: product.provider,
        category: product.category,
        pricing: live.terms.pricing,
        unit_price: live.terms.price,
        quantity,
        validity_days: None,
        sales_mode: product.sales_mode,
        refund_policy: live.terms.refund_policy,
        fee_terms: agreement.terms_for(product.id, &rulebook.settlement),
        fee_windows: agreement.windows_for(product.id, now),
    })
}

const P400: &str = "Malformed JSON";
const P404: &str = "No such order, or not the caller's";

/// Places an order for a product on sale: the price, category, refund policy and fee terms
/// are frozen from the product's live version.
#[utoipa::path(
    post, path = "/api/v1/orders", tag = "orders", security(("bearer" = [])),
    request_body = PlaceOrderRequest,
    responses(
        (status = 201, description = "The order, awaiting payment", body = OrderView),
        (status = 400, description = P400),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller is not a member"),
        (status = 404, description = "No such product"),
        (status = 409, description = "`product_not_on_sale`"),
        (status = 422, description = "`invalid_order_terms` (quantity), unknown fields"),
    )
)]
pub async fn place_order(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<PlaceOrderRequest>,
) -> Result<Response, Problem> {
    let buyer = principal
        .actor
        .member_id()
        .ok_or_else(|| Problem::forbidden("only members place orders"))?;
    let terms = snapshot(&state, req.product_id, req.quantity).await?;
    let now = state.clock.now();
    let (order, outcome) = decide(&state, now, |ctx| {
        order::place(
            PlaceOrder {
                buyer,
                terms,
                payment_terms: req.payment_terms,
            },
            ctx,
        )
    })?;
    let record = OrderRecord {
        order,
        warranty_days: 0,
        index_version: None,
    };
    let mut batch = WriteBatch::default();
    let record = write_order(&state, &mut batch, None, record, None, now).await?;
    add_outcome(&mut batch, outcome, now);
    crate::kernel::pipeline::create(&state.store, batch).await?;
    Ok((StatusCode::CREATED, ApiJson(view(&record, now))).into_response())
}

/// The orders the caller may see, oldest first, keyset-paginated by id (`next`): a buyer's
/// own; a provider's — for its staff and the member that applied for it — through the
/// provider index (one bounded query, never a scan of other providers' orders); every order
/// for operator staff. A member that applied for a provider lists its provider's orders
/// unless it asks `as=buyer`.
#[utoipa::path(
    get, path = "/api/v1/orders", tag = "orders", security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "A page of orders", body = OrderPage),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "`as=buyer` by a non-member, or `as=provider` by a caller acting for no provider"),
    )
)]
pub async fn list_orders(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<ListQuery>,
) -> Result<ApiJson<OrderPage>, Problem> {
    let limit = q.limit.unwrap_or(20).clamp(1, 100);
    let provider =
        crate::kernel::repo::providers::own_provider_id(&state, &principal.actor).await?;
    let member = principal.actor.member_id();
    let (kind, owner) = match (q.acting_as, member, provider) {
        (Some(ListAs::Buyer), Some(m), _) | (None, Some(m), None) => (ORDER, Some(m.to_string())),
        (Some(ListAs::Buyer), None, _) => {
            return Err(Problem::forbidden("only members have orders as a buyer"));
        }
        (Some(ListAs::Provider) | None, _, Some(p)) => (PROVIDER_ORDER, Some(p.to_string())),
        (Some(ListAs::Provider), _, None) => {
            return Err(Problem::forbidden("the caller acts for no provider"));
        }
        (None, None, None) if principal.actor.is_operator() => (ORDER, None),
        (None, None, None) => return Ok(ApiJson(OrderPage::default())),
    };
    let rows = state
        .store
        .aggregates(&AggregateQuery {
            kind: kind.into(),
            owner,
            status: q.status.clone(),
            after: q.after,
            limit: limit + 1,
        })
        .await?;
    let more = rows.len() > limit as usize;
    let now = state.clock.now();
    let mut items = Vec::with_capacity(rows.len().min(limit as usize));
    let mut next = None;
    for row in rows.into_iter().take(limit as usize) {
        next = Some(row.id);
        let record: OrderRecord = if kind == PROVIDER_ORDER {
            match crate::kernel::pipeline::load::<OrderRecord>(&state.store, ORDER, row.id).await? {
                Some(loaded) => loaded.state,
                None => {
                    tracing::warn!(order = %row.id, "provider index names a missing order");
                    continue;
                }
            }
        } else {
            serde_json::from_value(row.state).map_err(Problem::internal)?
        };
        let order = &record.order;
        let visible = principal
            .actor
            .may_see_order(order.terms.provider, order.buyer)
            || provider == Some(order.terms.provider);
        if visible {
            items.push(view(&record, now));
        }
    }
    Ok(ApiJson(OrderPage {
        items,
        next: if more { next } else { None },
    }))
}

/// One order with its guarantee-window countdown.
#[utoipa::path(
    get, path = "/api/v1/orders/{id}", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path, description = "Order id")),
    responses(
        (status = 200, description = "The order", body = OrderView),
        (status = 401, description = "No valid bearer token"),
        (status = 404, description = P404),
    )
)]
pub async fn get_order(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<OrderView>, Problem> {
    let loaded = load_for(&state, &principal, path_id(&id)?, None).await?;
    Ok(ApiJson(view(&loaded.state, state.clock.now())))
}

/// Pays an order through the payment gateway (the built-in sandbox: `sandbox` says whether
/// it succeeds, fails or times out). The money goes into escrow and the window's end is
/// scheduled. Requires `Idempotency-Key`: replays get the first answer and charge nothing.
/// One charge per order: a payment intent is recorded before the gateway is asked, under a
/// gateway key derived from order and intent; a second request with another key while it is
/// open is refused (`payment_in_progress`), and a charge never confirmed is voided after 30
/// minutes.
#[utoipa::path(
    post, path = "/api/v1/orders/{id}/payments", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path, description = "Order id"),
           ("Idempotency-Key" = String, Header, description = "One key per payment attempt")),
    request_body = PayRequest,
    responses(
        (status = 200, description = "The paid order (the same answer for every replay)", body = OrderView),
        (status = 400, description = "Malformed JSON or no `Idempotency-Key` (`idempotency_key_required`)"),
        (status = 402, description = "`payment_failed`: the gateway declined; the order stays unpaid"),
        (status = 403, description = "Not the buyer"),
        (status = 404, description = P404),
        (status = 409, description = "`already_paid`, `payment_in_progress` (another request's payment of this order is under way: nothing was charged), `invalid_transition`"),
        (status = 422, description = "`idempotency_key_reused` (same key, other request), unknown fields"),
        (status = 504, description = "`payment_timed_out`: no answer from the gateway; the order stays unpaid, retry with the same key (an unconfirmed charge is voided after 30 minutes)"),
    )
)]
pub async fn pay_order(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    key: IdempotencyKey,
    ApiJson(req): ApiJson<PayRequest>,
) -> Result<ApiJson<OrderView>, Problem> {
    let id = path_id(&id)?;
    let idem = Idem {
        key: &key,
        what: what("payments", id, &req),
    };
    // This request, as the payment intent knows it: the buyer's key, bound to the buyer.
    let attempt_of =
        blake3::hash(format!("{}\n{}", principal.principal, key.0).as_bytes()).to_hex();
    let attempt_of = &attempt_of[..32];
    let answer = crate::kernel::pipeline::write(&state.store, || async {
        let loaded = load_for(&state, &principal, id, Some(Who::Buyer)).await?;
        if let Some(answer) = replayed(&state.store, &principal, &idem).await? {
            return Ok(Decision::Answer(answer));
        }
        let order = &loaded.state.order;
        let now = state.clock.now();
        let intent = match decide(&state, now, |ctx| {
            order::begin_payment(order, attempt_of, ctx)
        })? {
            PaymentStart::Resume(intent) => intent,
            PaymentStart::Begin(next, outcome) => {
                // The intent is committed before the gateway is asked: of two payments
                // racing with different keys one loses here and then finds it open.
                let mut batch = WriteBatch::default();
                intent_change(&mut batch, &loaded, *next, outcome, now)?;
                return Ok(Decision::Step(batch));
            }
        };
        let charge = Charge {
            order: order.id,
            amount: intent.amount,
            key: intent.gateway_key(order),
            sandbox: req.sandbox,
        };
        let reference = match state.gateway.charge(&charge).await {
            ChargeOutcome::Succeeded { reference } => reference,
            ChargeOutcome::Failed { reason } => {
                // Declined: the intent closes so that another attempt may begin.
                if let Some((next, outcome)) =
                    order::close_intent(order, intent.id, IntentStatus::Declined)
                {
                    let mut batch = WriteBatch::default();
                    intent_change(&mut batch, &loaded, next, outcome, now)?;
                    // A changed order keeps the intent open; its reconciliation closes it.
                    crate::kernel::pipeline::commit_once(&state.store, batch, false).await?;
                }
                return Err(Problem::coded(
                    ErrorCode::Conflict,
                    StatusCode::PAYMENT_REQUIRED,
                    "payment_failed",
                    format!("the payment gateway declined: {reason}"),
                ));
            }
            ChargeOutcome::TimedOut => {
                return Err(Problem::coded(
                    ErrorCode::Timeout,
                    StatusCode::GATEWAY_TIMEOUT,
                    "payment_timed_out",
                    "the payment gateway did not answer in time; the order is unpaid — retry with the same Idempotency-Key",
                ));
            }
        };
        let now = state.clock.now();
        let payment = ConfirmedPayment {
            amount: intent.amount,
            gateway: state.gateway.name().to_owned(),
            gateway_reference: reference,
        };
        let (mut next, outcome) = decide(&state, now, |ctx| order::pay(order, payment, ctx))?;
        // A paid SaaS order is delivered by webhook to the provider, in the same batch
        // (issue 3 item 8); the order shows the delivery pending until the provider's
        // endpoint acknowledges it, or "failed" once it is dead-lettered (SPEC §5).
        let saas = next.terms.category == yunshi_core::catalog::ProductCategory::Saas;
        if saas && let Some(pending) = order::delivery_requested(&next) {
            next = pending;
        }
        let record = OrderRecord {
            order: next,
            warranty_days: loaded.state.warranty_days,
            index_version: None,
        };
        let answer = view(&record, now);
        let mut batch = WriteBatch {
            idempotency: Some(key.claim(&principal, &idem.what, &answer, now)?),
            ..WriteBatch::default()
        };
        let record = write_order(
            &state,
            &mut batch,
            Some(&loaded.state),
            record,
            Some(loaded.version),
            now,
        )
        .await?;
        add_outcome(&mut batch, outcome, now);
        let terms = &record.order.terms;
        if saas {
            crate::kernel::repo::deliveries::add_delivery(
                &mut batch,
                terms.provider,
                crate::kernel::repo::deliveries::DeliveryKind::Create,
                record.order.id,
                serde_json::json!({ "product_id": terms.product, "buyer": record.order.buyer }),
                now,
            )?;
        }
        // A lost race reloads and charges again under the same intent: one charge.
        Ok(Decision::Write(batch, answer))
    })
    .await?;
    Ok(ApiJson(answer))
}

/// Adds to `batch` the loaded order with its payment intent opened or closed (`next`),
/// conditional on the loaded version; no money moves.
fn intent_change(
    batch: &mut WriteBatch,
    loaded: &Loaded<OrderRecord>,
    next: Order,
    outcome: Outcome,
    now: Timestamp,
) -> Result<(), Problem> {
    let record = OrderRecord {
        order: next,
        ..loaded.state.clone()
    };
    write_record(
        batch,
        Some(&loaded.state),
        record,
        Some(loaded.version),
        now,
    )?;
    add_outcome(batch, outcome, now);
    Ok(())
}

fn fire_intent_reconcile(state: AppState, deadline: Deadline) -> HandlerFuture {
    Box::pin(async move { reconcile_intent(&state, &deadline).await })
}

/// `order.payment_intent_reconcile`: an intent still open half an hour after it began had
/// its charge lost between the gateway and the books (the process died, or the gateway never
/// answered): the charge is voided at the gateway under the intent's key and the intent
/// closed, so the buyer is not charged for an unpaid order and may pay again. A gateway that
/// cannot void now leaves the deadline pending, to be fired again.
async fn reconcile_intent(state: &AppState, deadline: &Deadline) -> Result<(), Problem> {
    let id = window_end_order(deadline)?;
    let intent = deadline
        .payload
        .get("intent")
        .and_then(|v| v.as_str())
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| Problem::internal(format!("deadline {} names no intent", deadline.id)))?;
    crate::kernel::pipeline::fire(state, deadline, |now| async move {
        let mut batch = WriteBatch::default();
        let loaded = crate::kernel::pipeline::load::<OrderRecord>(&state.store, ORDER, id).await?;
        if let Some(loaded) = &loaded
            && let Some((next, mut outcome)) =
                order::close_intent(&loaded.state.order, intent, IntentStatus::Voided)
        {
            let order = &loaded.state.order;
            let key = order
                .payment_intent
                .as_ref()
                .map(|open| open.gateway_key(order))
                .ok_or_else(|| Problem::internal("an intent closed without being there"))?;
            if let VoidOutcome::Failed { reason } = state.gateway.void(order.id, &key).await {
                return Err(Problem::unavailable(format!(
                    "the payment gateway could not void the charge of order {id} yet: {reason}"
                )));
            }
            // This deadline is fired by this batch, not cancelled.
            outcome.cancel.clear();
            intent_change(&mut batch, loaded, next, outcome, now)?;
        }
        Ok(batch)
    })
    .await
}

macro_rules! simple_command {
    ($(#[$meta:meta])* $name:ident, $who:expr, |$rec:ident, $ctx:ident| $body:expr) => {
        $(#[$meta])*
        pub async fn $name(
            State(state): State<AppState>,
            principal: Principal,
            Path(id): Path<String>,
        ) -> Result<ApiJson<OrderView>, Problem> {
            let id = path_id(&id)?;
            let f = |$rec: &OrderRecord, $ctx: &mut Context<'_>| $body;
            order_command(&state, &principal, id, $who, None, &f).await.map(ApiJson)
        }
    };
}

simple_command!(
    /// Cancels an order that was never paid (buyer).
    #[utoipa::path(
        post, path = "/api/v1/orders/{id}/cancellation", tag = "orders", security(("bearer" = [])),
        params(("id" = String, Path, description = "Order id")),
        responses(
            (status = 200, description = "The cancelled order", body = OrderView),
            (status = 403, description = "Not the buyer"),
            (status = 404, description = P404),
            (status = 409, description = "`invalid_transition`"),
        )
    )]
    cancel_order, Who::Buyer, |r, ctx| same_order(order::cancel)(r, ctx)
);

simple_command!(
    /// The buyer confirms receipt (accepts early): the escrow is released at once.
    #[utoipa::path(
        post, path = "/api/v1/orders/{id}/receipt", tag = "orders", security(("bearer" = [])),
        params(("id" = String, Path, description = "Order id")),
        responses(
            (status = 200, description = "The released order", body = OrderView),
            (status = 403, description = "Not the buyer"),
            (status = 404, description = P404),
            (status = 409, description = "`service_needs_acceptance`, `refund_in_progress`, `invalid_transition`"),
        )
    )]
    confirm_receipt, Who::Buyer, |r, ctx| same_order(order::confirm_receipt)(r, ctx)
);

simple_command!(
    /// The buyer escalates a refund the provider declined (or did not answer) to the operator.
    #[utoipa::path(
        post, path = "/api/v1/orders/{id}/refunds/current/escalation", tag = "orders", security(("bearer" = [])),
        params(("id" = String, Path, description = "Order id")),
        responses(
            (status = 200, description = "The order with the escalated refund", body = OrderView),
            (status = 403, description = "Not the buyer"),
            (status = 404, description = P404),
            (status = 409, description = "`no_open_refund`, `invalid_transition`"),
        )
    )]
    escalate_refund, Who::Buyer, |r, ctx| same_order(order::escalate_refund)(r, ctx)
);

simple_command!(
    /// The buyer withdraws the open refund request.
    #[utoipa::path(
        post, path = "/api/v1/orders/{id}/refunds/current/withdrawal", tag = "orders", security(("bearer" = [])),
        params(("id" = String, Path, description = "Order id")),
        responses(
            (status = 200, description = "The order", body = OrderView),
            (status = 403, description = "Not the buyer"),
            (status = 404, description = P404),
            (status = 409, description = "`no_open_refund`"),
        )
    )]
    withdraw_refund, Who::Buyer, |r, ctx| same_order(order::withdraw_refund)(r, ctx)
);

simple_command!(
    /// Final acceptance of a service order (buyer): every milestone must be confirmed; the
    /// escrow is released and the warranty the provider registered starts.
    #[utoipa::path(
        post, path = "/api/v1/orders/{id}/acceptance", tag = "orders", security(("bearer" = [])),
        params(("id" = String, Path, description = "Order id")),
        responses(
            (status = 200, description = "The accepted order with its warranty", body = OrderView),
            (status = 403, description = "Not the buyer"),
            (status = 404, description = P404),
            (status = 409, description = "`not_a_service_order`, `milestone_pending`, `refund_in_progress`, `invalid_transition`"),
        )
    )]
    accept_service, Who::Buyer, |r, ctx| {
        let (order, outcome) = order::accept_service(&r.order, r.warranty_days, ctx)?;
        Ok((OrderRecord { order, warranty_days: r.warranty_days, index_version: None }, outcome))
    }
);

/// The provider reports a milestone of a service order.
#[utoipa::path(
    post, path = "/api/v1/orders/{id}/milestones", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path, description = "Order id")),
    request_body = MilestoneBody,
    responses(
        (status = 200, description = "The order with the milestone", body = OrderView),
        (status = 403, description = "Not the provider"),
        (status = 404, description = P404),
        (status = 409, description = "`not_a_service_order`, `invalid_transition`"),
        (status = 422, description = "`invalid_order_terms` (title length)"),
    )
)]
pub async fn report_milestone(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<MilestoneBody>,
) -> Result<ApiJson<OrderView>, Problem> {
    let id = path_id(&id)?;
    let f = same_order(|o, ctx| order::report_milestone(o, &req.title, ctx));
    order_command(&state, &principal, id, Who::Provider, None, &f)
        .await
        .map(ApiJson)
}

/// The buyer confirms milestone `index` (from 0).
#[utoipa::path(
    post, path = "/api/v1/orders/{id}/milestones/{index}/confirmation", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path, description = "Order id"), ("index" = usize, Path, description = "Milestone index, from 0")),
    responses(
        (status = 200, description = "The order", body = OrderView),
        (status = 403, description = "Not the buyer"),
        (status = 404, description = P404),
        (status = 409, description = "`not_a_service_order`, `invalid_transition`"),
        (status = 422, description = "`unknown_milestone`"),
    )
)]
pub async fn confirm_milestone(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, index)): Path<(String, usize)>,
) -> Result<ApiJson<OrderView>, Problem> {
    let id = path_id(&id)?;
    let f = same_order(move |o, ctx| order::confirm_milestone(o, index, ctx));
    order_command(&state, &principal, id, Who::Buyer, None, &f)
        .await
        .map(ApiJson)
}

/// The provider registers the warranty period of a service order before acceptance.
#[utoipa::path(
    put, path = "/api/v1/orders/{id}/warranty", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path, description = "Order id")),
    request_body = WarrantyBody,
    responses(
        (status = 200, description = "The order", body = OrderView),
        (status = 403, description = "Not the provider"),
        (status = 404, description = P404),
        (status = 409, description = "`not_a_service_order`, `invalid_transition` (already accepted)"),
        (status = 422, description = "`invalid_order_terms` (more than 3660 days)"),
    )
)]
pub async fn register_warranty(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<WarrantyBody>,
) -> Result<ApiJson<OrderView>, Problem> {
    let id = path_id(&id)?;
    let f = move |r: &OrderRecord, _: &mut Context<'_>| {
        if !r.order.is_supervised() {
            return Err(OrderError::NotAServiceOrder);
        }
        if r.order.accepted_at.is_some() {
            return Err(OrderError::InvalidTransition {
                action: "register a warranty on",
                status: r.order.status,
            });
        }
        if req.days > order::MAX_WARRANTY_DAYS {
            return Err(OrderError::InvalidTerms(format!(
                "a warranty lasts at most {} days",
                order::MAX_WARRANTY_DAYS
            )));
        }
        let outcome = Outcome::default().event(
            "order.warranty_registered",
            r.order.subject(),
            json!({ "order_id": r.order.id, "days": req.days }),
        );
        Ok((
            OrderRecord {
                order: r.order.clone(),
                warranty_days: req.days,
                index_version: None,
            },
            outcome,
        ))
    };
    order_command(&state, &principal, id, Who::Provider, None, &f)
        .await
        .map(ApiJson)
}

/// Renews a subscription: a new order for the next period at the listing's current terms,
/// continuing the renewed period; pay it like any order.
#[utoipa::path(
    post, path = "/api/v1/orders/{id}/renewals", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path, description = "The order renewed")),
    request_body = RenewRequest,
    responses(
        (status = 201, description = "The renewal order, awaiting payment", body = OrderView),
        (status = 403, description = "Not the buyer"),
        (status = 404, description = P404),
        (status = 409, description = "`not_a_subscription`, `product_not_on_sale`, `invalid_transition`"),
        (status = 422, description = "`renewal_mismatch`, `invalid_order_terms`"),
    )
)]
pub async fn renew_order(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<RenewRequest>,
) -> Result<Response, Problem> {
    let id = path_id(&id)?;
    let previous = load_for(&state, &principal, id, Some(Who::Buyer)).await?;
    let terms = snapshot(&state, previous.state.order.terms.product.0, req.quantity).await?;
    let now = state.clock.now();
    let (order, outcome) = decide(&state, now, |ctx| {
        order::renew(&previous.state.order, terms, ctx)
    })?;
    let record = OrderRecord {
        order,
        warranty_days: 0,
        index_version: None,
    };
    let mut batch = WriteBatch::default();
    let record = write_order(&state, &mut batch, None, record, None, now).await?;
    add_outcome(&mut batch, outcome, now);
    crate::kernel::pipeline::create(&state.store, batch).await?;
    Ok((StatusCode::CREATED, ApiJson(view(&record, now))).into_response())
}

/// The buyer requests a refund: in full inside the window; outside it, per the product's
/// declared policy. Exactly one request can be open on an order; requests that race get
/// `refund_in_progress`. Requires `Idempotency-Key`.
#[utoipa::path(
    post, path = "/api/v1/orders/{id}/refunds", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path, description = "Order id"),
           ("Idempotency-Key" = String, Header, description = "One key per refund request")),
    request_body = RefundRequestBody,
    responses(
        (status = 200, description = "The order with the open refund request", body = OrderView),
        (status = 400, description = "Malformed JSON or no `Idempotency-Key`"),
        (status = 403, description = "Not the buyer"),
        (status = 404, description = P404),
        (status = 409, description = "`refund_in_progress`, `not_refundable` (API, tool), `window_closed`, `nothing_unused`, `already_refunded`, `not_paid`"),
        (status = 422, description = "`refund_reason_required`, `refund_reason_not_allowed`, `idempotency_key_reused`, unknown fields"),
    )
)]
pub async fn request_refund(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    key: IdempotencyKey,
    ApiJson(req): ApiJson<RefundRequestBody>,
) -> Result<ApiJson<OrderView>, Problem> {
    let id = path_id(&id)?;
    let idem = Idem {
        key: &key,
        what: what("refunds", id, &req),
    };
    let f = same_order(move |o, ctx| order::request_refund(o, req.clone().into(), ctx));
    order_command(&state, &principal, id, Who::Buyer, Some(idem), &f)
        .await
        .map(ApiJson)
}

/// The provider accepts the open refund request: the proposed amount goes back to the
/// buyer (from escrow, or reversing the release lines with the fee share). Requires
/// `Idempotency-Key`.
#[utoipa::path(
    post, path = "/api/v1/orders/{id}/refunds/current/acceptance", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path, description = "Order id"),
           ("Idempotency-Key" = String, Header, description = "One key per acceptance")),
    responses(
        (status = 200, description = "The refunded order", body = OrderView),
        (status = 400, description = "No `Idempotency-Key`"),
        (status = 403, description = "Not the provider"),
        (status = 404, description = P404),
        (status = 409, description = "`no_open_refund`, `invalid_transition`"),
        (status = 422, description = "`refund_exceeds_paid`, `idempotency_key_reused`"),
    )
)]
pub async fn accept_refund(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    key: IdempotencyKey,
) -> Result<ApiJson<OrderView>, Problem> {
    let id = path_id(&id)?;
    let idem = Idem {
        key: &key,
        what: what("refunds/current/acceptance", id, &()),
    };
    let f = same_order(order::accept_refund);
    order_command(&state, &principal, id, Who::Provider, Some(idem), &f)
        .await
        .map(ApiJson)
}

/// The provider declines the open refund request; the buyer may escalate.
#[utoipa::path(
    post, path = "/api/v1/orders/{id}/refunds/current/decline", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path, description = "Order id")),
    request_body = NoteBody,
    responses(
        (status = 200, description = "The order", body = OrderView),
        (status = 403, description = "Not the provider"),
        (status = 404, description = P404),
        (status = 409, description = "`no_open_refund`, `invalid_transition`"),
    )
)]
pub async fn decline_refund(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<NoteBody>,
) -> Result<ApiJson<OrderView>, Problem> {
    let id = path_id(&id)?;
    let f = same_order(move |o, ctx| order::decline_refund(o, &req.note, ctx));
    order_command(&state, &principal, id, Who::Provider, None, &f)
        .await
        .map(ApiJson)
}

/// Operator customer service (capability `arbitrate_refunds`) decides an escalated refund:
/// full, a partial amount, pro rata by unused days, or rejection. Requires `Idempotency-Key`.
#[utoipa::path(
    post, path = "/api/v1/orders/{id}/refunds/current/decision", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path, description = "Order id"),
           ("Idempotency-Key" = String, Header, description = "One key per decision")),
    request_body = DecisionBody,
    responses(
        (status = 200, description = "The order", body = OrderView),
        (status = 403, description = "Not customer service; `operator_refund_not_allowed`"),
        (status = 404, description = P404),
        (status = 409, description = "`refund_not_escalated`, `no_open_refund`, `nothing_unused`"),
        (status = 422, description = "`refund_exceeds_paid`, `invalid_order_terms` (negative amount), `idempotency_key_reused`"),
    )
)]
pub async fn decide_refund(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    key: IdempotencyKey,
    ApiJson(req): ApiJson<DecisionBody>,
) -> Result<ApiJson<OrderView>, Problem> {
    let id = path_id(&id)?;
    let idem = Idem {
        key: &key,
        what: what("refunds/current/decision", id, &req),
    };
    let f = same_order(move |o, ctx| order::decide_refund(o, req.clone().into(), ctx));
    order_command(
        &state,
        &principal,
        id,
        Who::Operator(Capability::ArbitrateRefunds),
        Some(idem),
        &f,
    )
    .await
    .map(ApiJson)
}

/// Operator customer service refunds directly, on a ground the rulebook allows. Requires
/// `Idempotency-Key`.
#[utoipa::path(
    post, path = "/api/v1/orders/{id}/direct-refunds", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path, description = "Order id"),
           ("Idempotency-Key" = String, Header, description = "One key per refund")),
    request_body = DirectRefundBody,
    responses(
        (status = 200, description = "The refunded order", body = OrderView),
        (status = 403, description = "Not customer service"),
        (status = 404, description = P404),
        (status = 409, description = "`refund_in_progress`, `not_refundable`, `already_refunded`, `not_paid`"),
        (status = 422, description = "`refund_ground_not_allowed`, `ground_requires_full_refund`, `refund_exceeds_paid`, `idempotency_key_reused`"),
    )
)]
pub async fn refund_directly(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    key: IdempotencyKey,
    ApiJson(req): ApiJson<DirectRefundBody>,
) -> Result<ApiJson<OrderView>, Problem> {
    let id = path_id(&id)?;
    let idem = Idem {
        key: &key,
        what: what("direct-refunds", id, &req),
    };
    let f = same_order(move |o, ctx| order::refund_directly(o, req.clone().into(), ctx));
    order_command(
        &state,
        &principal,
        id,
        Who::Operator(Capability::ArbitrateRefunds),
        Some(idem),
        &f,
    )
    .await
    .map(ApiJson)
}

/// The buyer rates a paid order once (1–5 with a review); the product's average is updated
/// in the same write.
#[utoipa::path(
    post, path = "/api/v1/orders/{id}/rating", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path, description = "Order id")),
    request_body = RatingBody,
    responses(
        (status = 200, description = "The rated order", body = OrderView),
        (status = 403, description = "Not the buyer"),
        (status = 404, description = P404),
        (status = 409, description = "`already_rated`, `not_paid`"),
        (status = 422, description = "`score_out_of_scale`, `invalid_rating`"),
    )
)]
pub async fn rate_order(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<RatingBody>,
) -> Result<ApiJson<OrderView>, Problem> {
    let id = path_id(&id)?;
    let answer = crate::kernel::pipeline::write(&state.store, || async {
        let loaded = load_for(&state, &principal, id, Some(Who::Buyer)).await?;
        let product = loaded.state.order.terms.product;
        let acc =
            crate::kernel::pipeline::load::<ProductRating>(&state.store, PRODUCT_RATING, product.0)
                .await?;
        let now = state.clock.now();
        let (next, outcome) = decide(&state, now, |ctx| {
            order::rate(&loaded.state.order, req.clone().into(), ctx)
        })?;
        let rating = next
            .rating
            .clone()
            .ok_or_else(|| Problem::internal("a rated order without its rating"))?;
        let score = rating.score;
        let reviews = crate::kernel::pipeline::load::<ProductReviews>(
            &state.store,
            PRODUCT_REVIEWS,
            product.0,
        )
        .await?;
        let updated = acc
            .as_ref()
            .map(|a| a.state)
            .unwrap_or_default()
            .with(score)
            .map_err(|e| Problem::refusal(&e))?;
        let record = OrderRecord {
            order: next,
            warranty_days: loaded.state.warranty_days,
            index_version: None,
        };
        let answer = view(&record, now);
        let provider = record.order.terms.provider.to_string();
        let recent = reviews
            .as_ref()
            .map(|r| r.state.clone())
            .unwrap_or_default()
            .with(&rating);
        let mut aggregates = vec![aggregate_write(
            PRODUCT_RATING,
            product.0,
            acc.as_ref().map(|a| a.version),
            provider.clone(),
            "",
            &updated,
            now,
        )?];
        // A score without text changes no review: no write, no needless race.
        if !rating.text.is_empty() {
            aggregates.push(aggregate_write(
                PRODUCT_REVIEWS,
                product.0,
                reviews.as_ref().map(|r| r.version),
                provider,
                "",
                &recent,
                now,
            )?);
        }
        let mut batch = WriteBatch {
            aggregates,
            unique_keys: vec![UniqueKey {
                scope: RATING_SCOPE.into(),
                key: id.to_string(),
                id,
            }],
            ..WriteBatch::default()
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
        add_outcome(&mut batch, outcome, now);
        Ok(Decision::Write(batch, answer))
    })
    .await?;
    Ok(ApiJson(answer))
}

/// A product's rating: count and exact average (public).
#[utoipa::path(
    get, path = "/api/v1/product-ratings/{id}", tag = "orders",
    params(("id" = String, Path, description = "Product id")),
    responses(
        (status = 200, description = "The product's rating", body = ProductRatingView),
        (status = 404, description = "Malformed id"),
    )
)]
pub async fn product_rating(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<ApiJson<ProductRatingView>, Problem> {
    let id = Uuid::parse_str(&id).map_err(|_| Problem::not_found(format!("no product {id:?}")))?;
    let acc = load_product_rating(&state.store, ProductId(id)).await?;
    Ok(ApiJson(ProductRatingView {
        product_id: id,
        count: acc.count,
        average: acc.average(),
    }))
}
