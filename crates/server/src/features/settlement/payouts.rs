//! Payouts through the payout gateway, and the provider's receiving account.
//!
//! The built-in sandbox gateway answers by the receiving account's number, as bank
//! sandboxes do: a number ending in `0000` fails ("account closed"), one ending in `9999`
//! stays pending until an answer is posted to `/api/v1/admin/payouts/{id}/answer`, any other
//! is paid at once. Its reference is derived from the payout id, so sending a payout twice
//! is one payment.
//!
//! Account numbers are stored sealed ([`crate::kernel::sealing`], bound to the provider): in the
//! receiving account and in every payout copied from it. API answers show them masked
//! (`••••1234`); finance asks for the full numbers (`?reveal=true`) to review a change, and
//! each such read is an event (`settlement.payee_account_revealed`).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use serde::Deserialize;
use utoipa::ToSchema;
use yunshi_core::account::{Capability, VerificationDetails, VerificationStatus};
use yunshi_core::ids::ProviderId;
use yunshi_core::settlement::{
    GatewayAnswer, PayeeAccount, PayeeChannel, PayeeDecision, PayeeRegistration, Payout,
    PayoutStatus, SettlementError,
};

use super::run::open_payouts;
use super::{payout_write, visible_provider};
use crate::kernel::auth::Principal;
use crate::kernel::context::rulebook_at;
use crate::kernel::context::with_ctx;
use crate::kernel::pipeline::Decision;
use crate::kernel::pipeline::{add_outcome, aggregate_write, load};
use crate::kernel::problem::{ApiJson, Problem, path_id};
use crate::kernel::repo::PAYEE;
use crate::kernel::repo::PAYOUT;
use crate::kernel::state::AppState;

fn refused(e: SettlementError) -> Problem {
    Problem::refusal(&e)
}

/// What a provider's account numbers are sealed for.
fn payee_context(provider: ProviderId) -> String {
    format!("{PAYEE}:{provider}:number")
}

/// `account` with its number passed through `f` (sealing, opening or masking).
fn map_number(
    account: &PayeeAccount,
    f: &impl Fn(&str) -> Result<String, Problem>,
) -> Result<PayeeAccount, Problem> {
    let channel = match &account.channel {
        PayeeChannel::Bank {
            bank,
            branch,
            account_number,
        } => PayeeChannel::Bank {
            bank: bank.clone(),
            branch: branch.clone(),
            account_number: f(account_number)?,
        },
        PayeeChannel::Alipay { account } => PayeeChannel::Alipay {
            account: f(account)?,
        },
    };
    Ok(PayeeAccount {
        holder: account.holder.clone(),
        channel,
    })
}

/// Every account number of `reg` passed through `f`.
fn map_registration(
    reg: &PayeeRegistration,
    f: impl Fn(&str) -> Result<String, Problem>,
) -> Result<PayeeRegistration, Problem> {
    let mut next = reg.clone();
    next.approved = reg
        .approved
        .as_ref()
        .map(|a| map_number(a, &f))
        .transpose()?;
    if let Some(p) = next.pending.as_mut() {
        p.account = map_number(&p.account, &f)?;
    }
    for h in &mut next.history {
        h.change.account = map_number(&h.change.account, &f)?;
    }
    Ok(next)
}

fn open_number(state: &AppState, provider: ProviderId, number: &str) -> Result<String, Problem> {
    state
        .keys
        .open_text(number, &payee_context(provider))
        .map_err(|e| Problem::internal(format!("an account number does not open: {e}")))
}

/// `••••` and the last four characters of the (opened) number.
pub fn mask(state: &AppState, provider: ProviderId, number: &str) -> Result<String, Problem> {
    Ok(yunshi_core::account::mask_tail(&open_number(
        state, provider, number,
    )?))
}

/// A payout as answered by the API: its account number masked.
pub fn masked_payout(state: &AppState, payout: &Payout) -> Result<Payout, Problem> {
    let mut shown = payout.clone();
    shown.account = map_number(&payout.account, &|n| mask(state, payout.provider, n))?;
    Ok(shown)
}

/// The sandbox payout gateway's answer to `payout`, whose account number it opens.
fn sandbox_answer_sealed(state: &AppState, payout: &Payout) -> GatewayAnswer {
    match open_number(state, payout.provider, payout.account.number()) {
        Ok(number) => {
            let mut opened = payout.clone();
            opened.account = match map_number(&payout.account, &|_| Ok(number.clone())) {
                Ok(a) => a,
                Err(_) => payout.account.clone(),
            };
            sandbox_answer(&opened)
        }
        Err(e) => GatewayAnswer::Failed {
            reason: format!("the account number does not open: {}", e.detail),
        },
    }
}

/// The sandbox payout gateway's answer to `payout`.
pub fn sandbox_answer(payout: &Payout) -> GatewayAnswer {
    let digest = blake3::hash(payout.id.as_bytes());
    let reference = format!("sandbox-payout-{}", &digest.to_hex()[..20]);
    let number = payout.account.number();
    if number.ends_with("0000") {
        GatewayAnswer::Failed {
            reason: "account closed (sandbox)".into(),
        }
    } else if number.ends_with("9999") {
        GatewayAnswer::Accepted { reference }
    } else {
        GatewayAnswer::Paid { reference }
    }
}

/// Applies `answer` to payout `id` (reloading on a lost race).
async fn apply_answer(
    state: &AppState,
    id: uuid::Uuid,
    answer: impl Fn(&Payout) -> GatewayAnswer,
) -> Result<Payout, Problem> {
    crate::kernel::pipeline::write(&state.store, || async {
        let loaded = load::<Payout>(&state.store, PAYOUT, id)
            .await?
            .ok_or_else(|| Problem::not_found(format!("no payout {id}")))?;
        let now = state.clock.now();
        let rulebook = rulebook_at(state, now)?;
        let (next, outcome) = with_ctx(state, now, rulebook, |ctx| {
            loaded.state.answer(answer(&loaded.state), ctx)
        })
        .map_err(refused)?;
        if next == loaded.state {
            return Ok(Decision::Answer(next));
        }
        let mut batch = yunshi_store::WriteBatch::default();
        batch
            .aggregates
            .push(payout_write(&next, Some(loaded.version), now)?);
        add_outcome(&mut batch, outcome, now);
        Ok(Decision::Write(batch, next))
    })
    .await
}

/// How many payouts go to the gateway in one batch (批量代付) and one write.
const PAYOUT_BATCH: usize = 500;

/// Sends every payout still `instructed` to the gateway, a batch at a time; the answers of a
/// batch are written together (each conditional on the payout's version — one that changed
/// meanwhile is answered again on its own).
pub async fn send_instructed(state: &AppState) -> Result<(), Problem> {
    let instructed = open_payouts(state, PayoutStatus::Instructed.as_str()).await?;
    for chunk in instructed.chunks(PAYOUT_BATCH) {
        let now = state.clock.now();
        let rulebook = rulebook_at(state, now)?;
        let mut batch = yunshi_store::WriteBatch::default();
        for a in chunk {
            let payout: Payout = serde_json::from_value(a.state.clone())
                .map_err(|e| Problem::internal(format!("stored payout does not read back: {e}")))?;
            let (next, outcome) = with_ctx(state, now, rulebook, |ctx| {
                payout.answer(sandbox_answer_sealed(state, &payout), ctx)
            })
            .map_err(refused)?;
            batch
                .aggregates
                .push(payout_write(&next, Some(a.version), now)?);
            add_outcome(&mut batch, outcome, now);
        }
        if !crate::kernel::pipeline::commit_once(&state.store, batch, false).await? {
            for a in chunk {
                apply_answer(state, a.id, |p| sandbox_answer_sealed(state, p)).await?;
            }
        }
    }
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "result", deny_unknown_fields)]
pub enum PayoutAnswerRequest {
    Paid { reference: String },
    Failed { reason: String },
}

/// The gateway's final answer to a pending payout (its callback): paid, or failed — then the
/// amount returns to settlement payable and the next run pays it again. Finance staff.
#[utoipa::path(
    post, path = "/api/v1/admin/payouts/{id}/answer", tag = "settlement", security(("bearer" = [])),
    params(("id" = String, Path, description = "Payout id")),
    request_body = PayoutAnswerRequest,
    responses(
        (status = 200, description = "The payout", body = serde_json::Value),
        (status = 403, description = "Not finance staff"),
        (status = 404, description = "No such payout"),
        (status = 409, description = "`payout_not_pending`"),
    )
)]
pub async fn answer_payout(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<PayoutAnswerRequest>,
) -> Result<ApiJson<Payout>, Problem> {
    principal.require(Capability::ManageSettlement)?;
    let id = path_id(&id, "payout")?;
    let payout = load::<Payout>(&state.store, PAYOUT, id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no payout {id}")))?
        .state;
    if payout.status != PayoutStatus::Pending {
        return Err(refused(SettlementError::PayoutNotPending {
            status: payout.status.as_str(),
        }));
    }
    let answer = match req {
        PayoutAnswerRequest::Paid { reference } => GatewayAnswer::Paid { reference },
        PayoutAnswerRequest::Failed { reason } => GatewayAnswer::Failed { reason },
    };
    let answered = apply_answer(&state, id, |_| answer.clone()).await?;
    Ok(ApiJson(masked_payout(&state, &answered)?))
}

/// The provider's name as verified: what a receiving account must be held in.
async fn legal_name(
    state: &AppState,
    member: yunshi_core::ids::MemberId,
) -> Result<String, Problem> {
    let m = crate::kernel::repo::accounts::load_member(state, member)
        .await?
        .ok_or_else(|| Problem::internal("the provider's member is missing"))?
        .state;
    Ok(match &m.verification {
        VerificationStatus::Verified { details, .. } => match details {
            VerificationDetails::Enterprise { company_name, .. } => company_name.clone(),
            VerificationDetails::Personal { real_name, .. } => real_name.clone(),
        },
        _ => m.display_name,
    })
}

/// The receiving account with its numbers opened.
async fn load_payee(
    state: &AppState,
    pid: ProviderId,
) -> Result<(PayeeRegistration, Option<i64>), Problem> {
    Ok(
        match load::<PayeeRegistration>(&state.store, PAYEE, pid.uuid()).await? {
            Some(l) => (
                map_registration(&l.state, |n| open_number(state, pid, n))?,
                Some(l.version),
            ),
            None => (PayeeRegistration::new(pid), None),
        },
    )
}

/// The write of `reg` (its numbers sealed) and its event, conditional on `version`.
fn payee_batch(
    state: &AppState,
    reg: &PayeeRegistration,
    version: Option<i64>,
    event: &str,
    now: Timestamp,
) -> Result<yunshi_store::WriteBatch, Problem> {
    let context = payee_context(reg.provider);
    let sealed = map_registration(reg, |n| {
        state
            .keys
            .seal_text(n, &context)
            .map_err(|e| Problem::internal(format!("sealing an account number: {e}")))
    })?;
    let mut batch = yunshi_store::WriteBatch::default();
    batch.aggregates.push(aggregate_write(
        PAYEE,
        reg.provider.uuid(),
        version,
        reg.provider.to_string(),
        reg.status(),
        &sealed,
        now,
    )?);
    add_outcome(
        &mut batch,
        yunshi_core::decision::Outcome::default().event(
            event,
            format!("provider:{}", reg.provider),
            serde_json::json!({ "provider": reg.provider, "status": reg.status() }),
        ),
        now,
    );
    Ok(batch)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RevealQuery {
    /// Finance only: the full account numbers (to review a change), recorded as an event.
    #[serde(default)]
    pub reveal: bool,
}

/// `reg` as answered: numbers masked, unless `reveal`.
fn shown(
    state: &AppState,
    reg: &PayeeRegistration,
    reveal: bool,
) -> Result<PayeeRegistration, Problem> {
    if reveal {
        return Ok(reg.clone());
    }
    map_registration(reg, |n| mask(state, reg.provider, n))
}

/// The receiving account: the approved one and a change waiting for approval, account
/// numbers masked (`••••1234`). The provider's staff and operator staff; finance may ask
/// for the full numbers with `reveal=true`, and that read is recorded
/// (`settlement.payee_account_revealed`).
#[utoipa::path(
    get, path = "/api/v1/providers/{id}/payee-account", tag = "settlement", security(("bearer" = [])),
    params(("id" = String, Path, description = "Provider id"), RevealQuery),
    responses(
        (status = 200, description = "The receiving account", body = serde_json::Value),
        (status = 403, description = "`reveal=true` by someone other than finance staff"),
        (status = 404, description = "No such provider the caller may see"),
    )
)]
pub async fn payee_account(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Query(q): Query<RevealQuery>,
) -> Result<ApiJson<PayeeRegistration>, Problem> {
    let (pid, _) = visible_provider(&state, &principal, &id).await?;
    if q.reveal {
        principal.require(Capability::ManageSettlement)?;
    }
    let reg = load_payee(&state, pid).await?.0;
    if q.reveal {
        let now = state.clock.now();
        let revealed = yunshi_core::decision::Outcome::default().event(
            "settlement.payee_account_revealed",
            format!("provider:{pid}"),
            serde_json::json!({ "provider": pid, "by": principal.principal }),
        );
        crate::kernel::pipeline::record(&state.store, revealed, now).await?;
    }
    Ok(ApiJson(shown(&state, &reg, q.reveal)?))
}

/// The provider asks to be paid to a bank or Alipay account in its own name (ALI-A 3.2.4);
/// payouts keep going to the approved account until finance approves the change.
#[utoipa::path(
    post, path = "/api/v1/providers/{id}/payee-account", tag = "settlement", security(("bearer" = [])),
    params(("id" = String, Path, description = "Provider id")),
    request_body = serde_json::Value,
    responses(
        (status = 202, description = "The change, waiting for approval", body = serde_json::Value),
        (status = 403, description = "Not the provider's staff"),
        (status = 422, description = "`payee_holder_mismatch`, `required`"),
    )
)]
pub async fn request_payee_change(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(account): ApiJson<PayeeAccount>,
) -> Result<(StatusCode, ApiJson<PayeeRegistration>), Problem> {
    let (pid, provider) = visible_provider(&state, &principal, &id).await?;
    if principal.actor.provider_id() != Some(pid) {
        return Err(Problem::forbidden(
            "only the provider's staff change its receiving account",
        ));
    }
    let name = legal_name(&state, provider.member).await?;
    let next = crate::kernel::pipeline::run(&state.store, || async {
        let now = state.clock.now();
        let (reg, version) = load_payee(&state, pid).await?;
        let next = reg.request(account.clone(), &name, now).map_err(refused)?;
        let batch = payee_batch(
            &state,
            &next,
            version,
            "settlement.payee_change_requested",
            now,
        )?;
        Ok((batch, next))
    })
    .await?;
    Ok((StatusCode::ACCEPTED, ApiJson(shown(&state, &next, false)?)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayeeDecisionRequest {
    pub approve: bool,
    /// The number of the account reviewed (bank account number or Alipay account): the
    /// decision is refused if the provider replaced the change meanwhile.
    pub account: String,
    #[serde(default)]
    pub reason: String,
}

/// Finance approves or rejects the waiting change of a provider's receiving account.
#[utoipa::path(
    post, path = "/api/v1/admin/providers/{id}/payee-account/decision", tag = "settlement", security(("bearer" = [])),
    params(("id" = String, Path, description = "Provider id")),
    request_body = PayeeDecisionRequest,
    responses(
        (status = 200, description = "The receiving account", body = serde_json::Value),
        (status = 403, description = "Not finance staff"),
        (status = 409, description = "`no_pending_change`, `payee_change_replaced`"),
    )
)]
pub async fn decide_payee_change(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<PayeeDecisionRequest>,
) -> Result<ApiJson<PayeeRegistration>, Problem> {
    principal.require(Capability::ManageSettlement)?;
    let (pid, _) = visible_provider(&state, &principal, &id).await?;
    let decision = if req.approve {
        PayeeDecision::Approved
    } else {
        PayeeDecision::Rejected {
            reason: req.reason.clone(),
        }
    };
    let next = crate::kernel::pipeline::run(&state.store, || async {
        let now = state.clock.now();
        let (reg, version) = load_payee(&state, pid).await?;
        let next = reg
            .decide(decision.clone(), &req.account, &principal.principal, now)
            .map_err(refused)?;
        let batch = payee_batch(
            &state,
            &next,
            version,
            "settlement.payee_change_decided",
            now,
        )?;
        Ok((batch, next))
    })
    .await?;
    Ok(ApiJson(shown(&state, &next, false)?))
}
