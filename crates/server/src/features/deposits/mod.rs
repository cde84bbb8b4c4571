//! Deposits after admission (SPEC §10; issue 4 item 4). The core decides
//! ([`yunshi_core::deposit`]); this module reads the balances the decision needs, writes the
//! account, its ledger transactions and deadlines, and closes or reopens the provider's
//! stores — one batch, conditional on the account's version, retried on a lost race.
//!
//! - A violation's deposit deduction records itself here from the case's final decision
//!   ([`record_violation_deduction`], same batch); compensation paid on the provider's
//!   behalf is an operator command.
//! - Deadlines: the reminder and end of each top-up term, and the refund's due time. A
//!   missed top-up claimed from the next settlement is taken by the settlement run, as its
//!   own statement line (the settlement feature).
//!
//! Aggregate: [`DEPOSIT_ACCOUNT`] (the core's `DepositAccount`), id = the provider's id, owner = the
//! provider, status = [`DepositAccount::status_label`].

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
use yunshi_core::decision::Context;
use yunshi_core::deposit::{
    CitedOrder, DepositAccount, DepositDecision, DepositError, Obligations, REFUND_DUE, TOP_UP_DUE,
    TOP_UP_REMINDER, TopUpStatus,
};
use yunshi_core::ids::ProviderId;
use yunshi_core::ledger::{Account, AccountKind};
use yunshi_core::money::Fen;
use yunshi_core::provider::ProviderStatus;
use yunshi_store::{AggregateQuery, Deadline, WriteBatch};

use self::views::*;
use crate::kernel::auth::Principal;
use crate::kernel::context::rulebook_at;
use crate::kernel::deadlines::{Handler, HandlerFuture};
use crate::kernel::idempotency::IdempotencyKey;
use crate::kernel::problem::{ApiJson, Problem};
use crate::kernel::repo::DEPOSIT_ACCOUNT;
use crate::kernel::repo::all_owned;
use crate::kernel::repo::orders::PROVIDER_ORDER;
use crate::kernel::repo::providers::acts_for;
use crate::kernel::repo::providers::load_provider;
use crate::kernel::state::AppState;
use crate::reactions::deposit::{
    Balances, balances, load_account, refused, with_ctx, write_decision,
};
use crate::reactions::penalties::load_record;

/// Order statuses that are unfinished obligations (SPEC §13: purchases not expired,
/// services not delivered).
const UNFINISHED: [&str; 3] = ["held", "in_use_unpaid", "awaiting_payment"];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/providers/{id}/deposit", get(deposit))
        .route("/api/v1/providers/{id}/deposit/top-ups", post(top_up))
        .route(
            "/api/v1/providers/{id}/deposit/refund-request",
            post(request_refund),
        )
        .route(
            "/api/v1/admin/providers/{id}/deposit/compensations",
            post(compensate),
        )
        .route(
            "/api/v1/admin/providers/{id}/deposit/refund",
            post(pay_refund),
        )
        .route("/api/v1/admin/deposits", get(overview))
}

#[derive(OpenApi)]
#[openapi(
    paths(deposit, top_up, request_refund, compensate, pay_refund, overview),
    components(schemas(
        TopUpRequest, CompensationRequest, RefundRequestBody, DepositAccountView, DepositRow,
        DepositPage,
    )),
    tags((name = "deposits", description = "Deposits after admission: deductions, top-ups, surcharge, refund (保证金, SPEC §10)"))
)]
pub struct ApiDoc;

/// The deadline kinds this module fires.
pub const DEADLINES: &[(&str, Handler)] = &[
    (TOP_UP_REMINDER, fire_reminder),
    (TOP_UP_DUE, fire_top_up_due),
    (REFUND_DUE, fire_refund_due),
];

// ---- the view ----

async fn view_of(
    state: &AppState,
    account: &DepositAccount,
    now: Timestamp,
) -> Result<DepositAccountView, Problem> {
    let rulebook = rulebook_at(state, now)?;
    let pid = account.provider;
    let held = balances(state, pid).await?.held;
    let debt = state
        .store
        .balance(&Account::new(AccountKind::ProviderDebt, pid.to_string()))
        .await?;
    let window = rulebook
        .deposit
        .surcharge
        .as_ref()
        .map_or(12, |s| s.window_months);
    let figures = Figures {
        held,
        required: account.required_at(rulebook, now).map_err(refused)?,
        base_required: rulebook.deposit.required_amount,
        shortfall: account.shortfall(held, rulebook, now).map_err(refused)?,
        provider_debt: debt,
        deductions_in_window: account.deductions_within(window, now).map_err(refused)?,
    };
    Ok(DepositAccountView::of(account, figures, now))
}

/// The provider a caller may see: its own staff and operator staff; 404 for anyone else.
async fn visible_provider(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<(ProviderId, ProviderStatus), Problem> {
    let missing = || Problem::not_found(format!("no provider {id:?}"));
    let pid = id.parse::<ProviderId>().map_err(|_| missing())?;
    let provider = load_provider(state, pid).await?.ok_or_else(missing)?;
    if !principal.actor.is_operator() && !acts_for(&principal.actor, &provider.state) {
        return Err(missing());
    }
    Ok((pid, provider.state.status))
}

/// A provider's deposit (SPEC §10): held and required (with any surcharge), what is missing
/// and by when, deductions, a claim on the next settlement, store closure and refund. Its
/// own staff and operator staff.
#[utoipa::path(
    get, path = "/api/v1/providers/{id}/deposit", tag = "deposits", security(("bearer" = [])),
    params(("id" = String, Path, description = "Provider id")),
    responses(
        (status = 200, description = "The deposit", body = DepositAccountView),
        (status = 401, description = "No valid bearer token"),
        (status = 404, description = "No such provider the caller may see"),
    )
)]
pub async fn deposit(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<DepositAccountView>, Problem> {
    let (pid, _) = visible_provider(&state, &principal, &id).await?;
    let (account, _) = load_account(&state, pid).await?;
    Ok(ApiJson(view_of(&state, &account, state.clock.now()).await?))
}

/// Loads the account and balances, lets `decide` decide, and commits the decision with the
/// request's idempotency claim; a lost race decides again. Replays answer as the first did.
async fn command<F>(
    state: &AppState,
    principal: &Principal,
    key: Option<&IdempotencyKey>,
    what: serde_json::Value,
    pid: ProviderId,
    decide: F,
) -> Result<DepositAccountView, Problem>
where
    F: Fn(&DepositAccount, Balances, &mut Context<'_>) -> Result<DepositDecision, DepositError>,
{
    if let Some(key) = key
        && let Some(answer) = key.replayed(state, principal, &what).await?
    {
        return Ok(answer);
    }
    crate::kernel::pipeline::run(&state.store, || async {
        let now = state.clock.now();
        let rulebook = rulebook_at(state, now)?;
        let (account, version) = load_account(state, pid).await?;
        let b = balances(state, pid).await?;
        let decision =
            with_ctx(state, now, rulebook, |ctx| decide(&account, b, ctx)).map_err(refused)?;
        let next = decision.account.clone();
        let mut batch = WriteBatch::default();
        write_decision(state, &mut batch, decision, version, rulebook, now).await?;
        let mut answer = view_of(state, &next, now).await?;
        // The view reads the ledger before this batch lands: show the balances after it.
        let moved = batch
            .transactions
            .iter()
            .flat_map(|t| t.postings())
            .filter(|p| p.account == Account::new(AccountKind::DepositsHeld, pid.to_string()))
            .try_fold(Fen::ZERO, |acc, p| acc.checked_sub(p.amount))
            .map_err(Problem::internal)?;
        answer.held = answer.held.checked_add(moved).map_err(Problem::internal)?;
        answer.shortfall = next
            .shortfall(answer.held, rulebook, now)
            .map_err(refused)?;
        if let Some(key) = key {
            batch.idempotency = Some(key.claim(principal, &what, &answer, now)?);
        }
        Ok((batch, answer))
    })
    .await
}

/// The provider pays into its deposit (sandbox gateway: Dr operator cash / Cr deposits
/// held), at most what is missing. Whole again: open top-ups are met, a claim on the next
/// settlement is dropped and stores closed for the shortfall reopen — in the same write.
/// Requires `Idempotency-Key`.
#[utoipa::path(
    post, path = "/api/v1/providers/{id}/deposit/top-ups", tag = "deposits", security(("bearer" = [])),
    params(("id" = String, Path, description = "Provider id"),
           ("Idempotency-Key" = String, Header, description = "One key per payment")),
    request_body = TopUpRequest,
    responses(
        (status = 201, description = "Paid; the deposit after it", body = DepositAccountView),
        (status = 400, description = "No `Idempotency-Key`"),
        (status = 403, description = "Operator staff cannot pay for a provider"),
        (status = 404, description = "No such provider the caller may see"),
        (status = 422, description = "`invalid_amount`, `top_up_exceeds_shortfall`, `idempotency_key_reused`"),
    )
)]
pub async fn top_up(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    key: IdempotencyKey,
    ApiJson(req): ApiJson<TopUpRequest>,
) -> Result<(StatusCode, ApiJson<DepositAccountView>), Problem> {
    let (pid, _) = visible_provider(&state, &principal, &id).await?;
    if principal.actor.is_operator() {
        return Err(Problem::forbidden(
            "the provider pays its deposit; operator staff cannot",
        ));
    }
    let what = json!({ "method": "POST", "path": format!("/api/v1/providers/{id}/deposit/top-ups"), "body": &req });
    let view = command(&state, &principal, Some(&key), what, pid, |a, b, ctx| {
        a.top_up(req.amount, b.held, ctx)
    })
    .await?;
    Ok((StatusCode::CREATED, ApiJson(view)))
}

/// Finance (`manage_deposits`) records compensation the operator paid a buyer on the
/// provider's behalf (ALI-A 4.5.3, TC 3.1.5②): taken from the deposit, any excess booked as
/// the provider's debt; a deduction, so a top-up falls due. Requires `Idempotency-Key`.
#[utoipa::path(
    post, path = "/api/v1/admin/providers/{id}/deposit/compensations", tag = "deposits", security(("bearer" = [])),
    params(("id" = String, Path, description = "Provider id"),
           ("Idempotency-Key" = String, Header, description = "One key per compensation")),
    request_body = CompensationRequest,
    responses(
        (status = 201, description = "Booked; the deposit after it", body = DepositAccountView),
        (status = 400, description = "No `Idempotency-Key`"),
        (status = 403, description = "The caller lacks `manage_deposits`"),
        (status = 404, description = "No such provider"),
        (status = 422, description = "`invalid_amount`, `field_required`, `compensation_without_order` (the reference must be the id of a paid order of this provider), `compensation_above_obligation` (more than that order's buyer paid), `amount_above_limit`, `idempotency_key_reused`"),
    )
)]
pub async fn compensate(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    key: IdempotencyKey,
    ApiJson(req): ApiJson<CompensationRequest>,
) -> Result<(StatusCode, ApiJson<DepositAccountView>), Problem> {
    principal.require(Capability::ManageDeposits)?;
    let (pid, _) = visible_provider(&state, &principal, &id).await?;
    let cited = cited_order(&state, &req.reference).await?;
    let what = json!({ "method": "POST", "path": format!("/api/v1/admin/providers/{id}/deposit/compensations"), "body": &req });
    let view = command(&state, &principal, Some(&key), what, pid, |a, b, ctx| {
        a.compensate(req.amount, &req.reason, &req.reference, cited, b.held, ctx)
    })
    .await?;
    Ok((StatusCode::CREATED, ApiJson(view)))
}

/// The paid order `reference` names, if it names one: whose it is and what its buyer paid.
async fn cited_order(state: &AppState, reference: &str) -> Result<Option<CitedOrder>, Problem> {
    let Ok(id) = Uuid::parse_str(reference.trim()) else {
        return Ok(None);
    };
    let Some(loaded) = crate::kernel::repo::orders::load_order(&state.store, id).await? else {
        return Ok(None);
    };
    let order = &loaded.state.order;
    Ok(order.payment.as_ref().map(|payment| CitedOrder {
        order: order.id,
        provider: order.terms.provider,
        paid: payment.amount,
    }))
}

/// What still binds the provider: unfinished orders, open complaints and open cases.
async fn obligations(state: &AppState, pid: ProviderId) -> Result<Obligations, Problem> {
    let unfinished = all_owned(state, PROVIDER_ORDER, &pid.to_string())
        .await?
        .iter()
        .filter(|o| UNFINISHED.contains(&o.status.as_str()))
        .count();
    let holds = crate::reactions::holds::provider_holds(state, pid).await?;
    Ok(Obligations {
        unfinished_orders: unfinished,
        open_complaints: holds.open_complaints.len(),
        open_cases: holds.open_cases.len(),
    })
}

/// The provider asks for its deposit back (SPEC §10): only after the cooperation ended
/// (exit or term expiry, not expulsion with forfeiture), once every order is finished and
/// every complaint and case closed, against the returned receipt where the rulebook asks
/// for it, and (ALI) only without a breach in the term. The operator then owes it within the
/// rulebook's working days (ALI 20, TC 15); an unpaid refund past that is marked overdue.
#[utoipa::path(
    post, path = "/api/v1/providers/{id}/deposit/refund-request", tag = "deposits", security(("bearer" = [])),
    params(("id" = String, Path, description = "Provider id")),
    request_body = RefundRequestBody,
    responses(
        (status = 200, description = "Requested; the refund's due time", body = DepositAccountView),
        (status = 403, description = "Only the provider asks"),
        (status = 404, description = "No such provider the caller may see"),
        (status = 409, description = "`cooperation_not_ended`, `obligations_remain`, `breach_during_term`, `refund_already_requested`, `nothing_held`"),
        (status = 422, description = "`receipt_required`"),
    )
)]
pub async fn request_refund(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<RefundRequestBody>,
) -> Result<ApiJson<DepositAccountView>, Problem> {
    let (pid, status) = visible_provider(&state, &principal, &id).await?;
    if principal.actor.is_operator() {
        return Err(Problem::forbidden("the provider asks for its deposit back"));
    }
    let ended = matches!(
        status,
        ProviderStatus::Exited { .. } | ProviderStatus::Expelled { .. }
    );
    let duties = obligations(&state, pid).await?;
    let (record, _) = load_record(&state, pid).await?;
    let breach = !record.points.is_empty() || !record.deductions.is_empty();
    let what = json!({});
    let view = command(&state, &principal, None, what, pid, |a, b, ctx| {
        a.request_refund(ended, &duties, req.receipt_returned, breach, b.held, ctx)
    })
    .await?;
    Ok(ApiJson(view))
}

/// Finance (`manage_deposits`) pays the requested refund: everything held goes back to the
/// provider without interest (Dr deposits held / Cr operator cash). Requires
/// `Idempotency-Key`.
#[utoipa::path(
    post, path = "/api/v1/admin/providers/{id}/deposit/refund", tag = "deposits", security(("bearer" = [])),
    params(("id" = String, Path, description = "Provider id"),
           ("Idempotency-Key" = String, Header, description = "One key per refund")),
    responses(
        (status = 201, description = "Refunded", body = DepositAccountView),
        (status = 400, description = "No `Idempotency-Key`"),
        (status = 403, description = "The caller lacks `manage_deposits`"),
        (status = 404, description = "No such provider"),
        (status = 409, description = "`no_refund_due`, `nothing_held`"),
        (status = 422, description = "`idempotency_key_reused`"),
    )
)]
pub async fn pay_refund(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    key: IdempotencyKey,
) -> Result<(StatusCode, ApiJson<DepositAccountView>), Problem> {
    principal.require(Capability::ManageDeposits)?;
    let (pid, _) = visible_provider(&state, &principal, &id).await?;
    let what =
        json!({ "method": "POST", "path": format!("/api/v1/admin/providers/{id}/deposit/refund") });
    let view = command(&state, &principal, Some(&key), what, pid, |a, b, ctx| {
        a.pay_refund(b.held, b.owed, ctx)
    })
    .await?;
    Ok((StatusCode::CREATED, ApiJson(view)))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct OverviewQuery {
    /// `top_up_due`, `claimed_from_settlement`, `closed_for_shortfall`, `refund_requested`,
    /// `refunded` or `whole`; default `top_up_due`.
    pub status: Option<String>,
    /// The last `provider_id` of the previous page.
    #[param(value_type = Option<String>)]
    pub after: Option<Uuid>,
    /// 1–200, default 50.
    pub limit: Option<u32>,
}

/// The operators' deposits overview (`manage_deposits`): providers by deposit status, with
/// the due times staff act on.
#[utoipa::path(
    get, path = "/api/v1/admin/deposits", tag = "deposits", security(("bearer" = [])),
    params(OverviewQuery),
    responses(
        (status = 200, description = "A page of deposit accounts", body = DepositPage),
        (status = 403, description = "The caller lacks `manage_deposits`"),
    )
)]
pub async fn overview(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<OverviewQuery>,
) -> Result<ApiJson<DepositPage>, Problem> {
    principal.require(Capability::ManageDeposits)?;
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let page = state
        .store
        .aggregates(&AggregateQuery {
            kind: DEPOSIT_ACCOUNT.into(),
            owner: None,
            status: Some(q.status.unwrap_or_else(|| "top_up_due".into())),
            after: q.after,
            limit,
        })
        .await?;
    let next = (page.len() >= limit as usize)
        .then(|| page.last().map(|a| a.id))
        .flatten();
    let mut items = Vec::with_capacity(page.len());
    for a in page {
        let account: DepositAccount = serde_json::from_value(a.state).map_err(|e| {
            Problem::internal(format!("stored deposit account does not read back: {e}"))
        })?;
        items.push(DepositRow {
            provider_id: account.provider.uuid(),
            status: account.status_label().to_string(),
            top_up_due_at: account
                .top_ups
                .iter()
                .filter(|t| t.status == TopUpStatus::Open)
                .map(|t| t.due_at)
                .min(),
            settlement_claim_at: account.settlement_claim.as_ref().map(|c| c.at),
            refund_due_at: account.refund.as_ref().and_then(|r| r.due_at),
        });
    }
    Ok(ApiJson(DepositPage { items, next }))
}

// ---- deadlines ----

#[derive(Debug, Deserialize)]
struct DeadlinePayload {
    provider: ProviderId,
    #[serde(default)]
    deduction: Option<Uuid>,
}

/// A deadline's step: `None` fires it without effect.
type Step = fn(
    &DepositAccount,
    Option<Uuid>,
    Balances,
    &mut Context<'_>,
) -> Result<Option<DepositDecision>, DepositError>;

fn fire_reminder(state: AppState, d: Deadline) -> HandlerFuture {
    Box::pin(fire(state, d, |a, deduction, b, ctx| {
        let Some(deduction) = deduction else {
            return Ok(None);
        };
        a.remind(deduction, b.held, ctx)
    }))
}

fn fire_top_up_due(state: AppState, d: Deadline) -> HandlerFuture {
    Box::pin(fire(state, d, |a, deduction, b, ctx| match deduction {
        Some(deduction) => a.top_up_missed(deduction, b.held, ctx),
        None => Ok(None),
    }))
}

fn fire_refund_due(state: AppState, d: Deadline) -> HandlerFuture {
    Box::pin(fire(state, d, |a, _, _, ctx| Ok(a.refund_overdue(ctx))))
}

async fn fire(state: AppState, d: Deadline, step: Step) -> Result<(), Problem> {
    let Ok(p) = serde_json::from_value::<DeadlinePayload>(d.payload.clone()) else {
        tracing::error!(deadline = %d.id, kind = %d.kind, "malformed deposit deadline; fired without effect");
        return fire_only(&state, &d).await;
    };
    crate::kernel::pipeline::fire(&state, &d, |now| {
        let (state, p) = (&state, &p);
        async move {
            let rulebook = rulebook_at(state, now)?;
            let (account, version) = load_account(state, p.provider).await?;
            let b = balances(state, p.provider).await?;
            let decided = with_ctx(state, now, rulebook, |ctx| {
                step(&account, p.deduction, b, ctx)
            })
            .map_err(refused)?;
            let mut batch = WriteBatch::default();
            if let Some(decision) = decided {
                write_decision(state, &mut batch, decision, version, rulebook, now).await?;
            }
            Ok(batch)
        }
    })
    .await
}

async fn fire_only(state: &AppState, d: &Deadline) -> Result<(), Problem> {
    crate::kernel::pipeline::fire(state, d, |_| async { Ok(WriteBatch::default()) }).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn unfinished_order_statuses_are_order_statuses() {
        for s in super::UNFINISHED {
            let parsed: Result<yunshi_core::order::OrderStatus, _> =
                serde_json::from_value(serde_json::json!(s));
            assert!(parsed.is_ok(), "{s}");
        }
    }
}
