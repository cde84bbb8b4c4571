//! Members: self-registration, reading a member, submitting verification details, and the
//! operator reviewer's decision.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use uuid::Uuid;
use yunshi_core::account::{
    Actor, Capability, Email, Member, MemberKind, Owner, User, UserKind, VerificationDecision,
    VerificationDetails, check_password,
};
use yunshi_core::decision::Outcome;
use yunshi_core::ids::{MemberId, UserId};
use yunshi_store::{StoreError, UniqueKey, WriteBatch};

use super::views::{
    MemberView, RegisterMember, VerificationDecisionRequest, VerificationSubmission,
};
use super::{password, path_id, refused, write_failed};
use crate::kernel::auth::Principal;
use crate::kernel::pipeline::add_outcome;
use crate::kernel::problem::{ApiJson, Problem};
use crate::kernel::repo::accounts::EMAIL_SCOPE;
use crate::kernel::repo::accounts::UserRecord;
use crate::kernel::repo::accounts::load_member;
use crate::kernel::repo::accounts::member_write;
use crate::kernel::repo::accounts::user_write;
use crate::kernel::sealing::Keyring;
use crate::kernel::state::AppState;

/// Whether `actor` sees the member's identity numbers unmasked: the member itself and
/// operator staff whose role needs them (SPEC §14).
fn full_view(actor: &Actor, member: MemberId) -> bool {
    actor.acts_for_member(member) || actor.can(Capability::ViewMemberIdentity)
}

/// The batch that creates a member and its login user, claiming the e-mail.
pub(super) fn new_member_batch(
    keys: &Keyring,
    member: &Member,
    member_outcome: Outcome,
    record: &UserRecord,
    user_outcome: Outcome,
    now: Timestamp,
) -> Result<WriteBatch, Problem> {
    let mut batch = WriteBatch {
        aggregates: vec![
            member_write(keys, member, None, now)?,
            user_write(record, None, now)?,
        ],
        unique_keys: vec![UniqueKey {
            scope: EMAIL_SCOPE.into(),
            key: record.user.email.to_string(),
            id: record.user.id.uuid(),
        }],
        ..WriteBatch::default()
    };
    add_outcome(&mut batch, member_outcome, now);
    add_outcome(&mut batch, user_outcome, now);
    Ok(batch)
}

/// Registers a member account with its login.
///
/// Sign-up does not tell whether an e-mail is registered: for a taken e-mail the answer is
/// the same 201 with a member that is not stored, after the same work (the password is
/// hashed and one event is written either way), and the account that has the e-mail is
/// untouched. Logging in with the new password then fails as any wrong password does
/// (throttled). When e-mail sending exists, the owner should be told instead.
#[utoipa::path(
    post,
    path = "/api/v1/members",
    tag = "accounts",
    request_body = RegisterMember,
    responses(
        (status = 201, description = "The new member (unverified); log in with `POST /api/v1/sessions`. Also the answer for an e-mail already registered, when nothing is created", body = MemberView,
            headers(("location" = String, description = "`/api/v1/members/{id}`"))),
        (status = 400, description = "Malformed JSON"),
        (status = 422, description = "`invalid_email`, `weak_password`, `invalid_display_name`, or a wrong or unknown member"),
    )
)]
pub async fn register_member(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RegisterMember>,
) -> Result<Response, Problem> {
    let email = Email::parse(&req.email).map_err(refused)?;
    check_password(&req.password, &email, &password::COMMON_PASSWORDS).map_err(refused)?;
    let now = state.clock.now();
    let member_id = MemberId(Uuid::now_v7());
    let kind: MemberKind = req.kind.into();
    let (member, member_outcome) =
        Member::register(member_id, kind, &req.display_name, email.clone(), now)
            .map_err(refused)?;
    let (user, user_outcome) = User::create(
        UserId(Uuid::now_v7()),
        email,
        &req.display_name,
        UserKind::Member { member_id },
        None,
        now,
    )
    .map_err(refused)?;
    let taken = state
        .store
        .unique_key(EMAIL_SCOPE, user.email.as_str())
        .await?;
    // Hashed whether or not the e-mail is taken: both answers cost the same.
    let record = UserRecord {
        user,
        password_hash: Some(password::hash_password(req.password).await?),
    };
    match taken {
        Some(holder) => signup_for_taken_email(&state, holder, now).await?,
        None => {
            let batch = new_member_batch(
                &state.keys,
                &member,
                member_outcome,
                &record,
                user_outcome,
                now,
            )?;
            match crate::kernel::pipeline::create(&state.store, batch).await {
                Ok(_) => {
                    tracing::info!(member = %member.id, user = %record.user.id, "member registered")
                }
                // Taken between the check and the write.
                Err(StoreError::DuplicateKey { ref scope, .. }) if scope == EMAIL_SCOPE => {
                    if let Some(holder) = state
                        .store
                        .unique_key(EMAIL_SCOPE, record.user.email.as_str())
                        .await?
                    {
                        signup_for_taken_email(&state, holder, now).await?;
                    }
                }
                Err(e) => return Err(write_failed(e)),
            }
        }
    }
    let mut res = (StatusCode::CREATED, ApiJson(MemberView::of(&member, true))).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/members/{}", member.id)) {
        res.headers_mut().insert(header::LOCATION, location);
    }
    Ok(res)
}

/// A sign-up with the e-mail of user `holder`: nothing is created; the attempt is an event
/// on that user (the write also keeps the answer's timing like a real registration's).
async fn signup_for_taken_email(
    state: &AppState,
    holder: Uuid,
    now: Timestamp,
) -> Result<(), Problem> {
    let attempt = Outcome::default().event(
        "user.signup_with_taken_email",
        format!("user:{holder}"),
        serde_json::json!({ "user_id": holder }),
    );
    crate::kernel::pipeline::record(&state.store, attempt, now).await?;
    tracing::info!(user = %holder, "sign-up with a registered e-mail: answered as new, nothing created");
    Ok(())
}

/// The member, if the caller may see it; else 404.
fn visible_member(principal: &Principal, raw_id: &str) -> Result<MemberId, Problem> {
    let id = MemberId(path_id(raw_id, "member")?);
    if !principal.actor.may_see(Owner::Member(id)) {
        return Err(Problem::not_found(format!("no member {id}")));
    }
    Ok(id)
}

/// A member account. Members see their own; operator staff see all (identity numbers
/// masked unless their role needs them); anyone else gets 404.
#[utoipa::path(
    get,
    path = "/api/v1/members/{id}",
    tag = "accounts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Member id")),
    responses(
        (status = 200, description = "The member", body = MemberView),
        (status = 401, description = "No valid bearer token"),
        (status = 404, description = "No such member the caller may see"),
    )
)]
pub async fn get_member(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<MemberView>, Problem> {
    let id = visible_member(&principal, &id)?;
    let member = load_member(&state, id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no member {id}")))?;
    Ok(ApiJson(MemberView::of(
        &member.state,
        full_view(&principal.actor, id),
    )))
}

/// Loads the member, decides, and commits the new version; a lost race decides again.
async fn update_member(
    state: &AppState,
    id: MemberId,
    decide: impl Fn(&Member, Timestamp) -> Result<(Member, Outcome), Problem>,
) -> Result<Member, Problem> {
    crate::kernel::pipeline::run(&state.store, || async {
        let loaded = load_member(state, id)
            .await?
            .ok_or_else(|| Problem::not_found(format!("no member {id}")))?;
        let now = state.clock.now();
        let (next, outcome) = decide(&loaded.state, now)?;
        let mut batch = WriteBatch {
            aggregates: vec![member_write(&state.keys, &next, Some(loaded.version), now)?],
            ..WriteBatch::default()
        };
        add_outcome(&mut batch, outcome, now);
        Ok((batch, next))
    })
    .await
}

/// The member submits its real-name (personal) or enterprise details for review. Allowed
/// when unverified or after a rejection.
#[utoipa::path(
    post,
    path = "/api/v1/members/{id}/verification",
    tag = "accounts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Member id")),
    request_body = VerificationSubmission,
    responses(
        (status = 200, description = "The member, verification pending", body = MemberView),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "Only the member itself submits (operator staff see but do not submit)"),
        (status = 404, description = "No such member the caller may see"),
        (status = 409, description = "`verification_pending` or `already_verified`"),
        (status = 422, description = "`invalid_verification_details`, `verification_kind_mismatch`, or an unknown member"),
    )
)]
pub async fn submit_verification(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<VerificationSubmission>,
) -> Result<ApiJson<MemberView>, Problem> {
    let id = visible_member(&principal, &id)?;
    if !principal.actor.acts_for_member(id) {
        return Err(Problem::forbidden(
            "only the member itself submits its verification",
        ));
    }
    let details: VerificationDetails = req.into();
    let member = update_member(&state, id, |m, now| {
        m.submit_verification(details.clone(), now).map_err(refused)
    })
    .await?;
    Ok(ApiJson(MemberView::of(&member, true)))
}

/// An operator reviewer (role `reviewer` or `admin`) verifies or rejects (with a reason) a
/// pending verification.
#[utoipa::path(
    post,
    path = "/api/v1/admin/members/{id}/verification",
    tag = "accounts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Member id")),
    request_body = VerificationDecisionRequest,
    responses(
        (status = 200, description = "The member with the decision", body = MemberView),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller is not a reviewer"),
        (status = 404, description = "No such member"),
        (status = 409, description = "`verification_not_pending`"),
        (status = 422, description = "`reason_required`, or an unknown member"),
    )
)]
pub async fn decide_verification(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<VerificationDecisionRequest>,
) -> Result<ApiJson<MemberView>, Problem> {
    principal.require(Capability::ReviewVerification)?;
    let id = MemberId(path_id(&id, "member")?);
    let decision: VerificationDecision = req.into();
    let reviewer = principal.user_id();
    let member = update_member(&state, id, |m, now| {
        m.decide_verification(decision.clone(), reviewer, now)
            .map_err(refused)
    })
    .await?;
    tracing::info!(member = %id, status = member.verification.as_str(), "verification decided");
    Ok(ApiJson(MemberView::of(&member, true)))
}
