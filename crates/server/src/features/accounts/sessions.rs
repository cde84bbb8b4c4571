//! Login sessions and the caller's identity.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use yunshi_core::account::{Email, UserKind};
use yunshi_store::ApiToken;

use super::password;
use super::views::{LoginRequest, MeView, MemberView, SessionView, UserView};
use crate::kernel::auth::SESSION_LIFETIME;
use crate::kernel::auth::{
    Credential, Principal, ROLE_SESSION, hash_secret, new_secret, user_principal,
};
use crate::kernel::problem::{ApiJson, ErrorCode, Problem};
use crate::kernel::repo::accounts::EMAIL_SCOPE;
use crate::kernel::repo::accounts::load_member;
use crate::kernel::repo::accounts::load_user;
use crate::kernel::state::AppState;
use crate::kernel::throttle::ClientAddr;

fn invalid_credentials() -> Problem {
    Problem::coded(
        ErrorCode::Unauthorized,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "the e-mail address or the password is wrong",
    )
}

fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// Logs in with e-mail and password and opens a session of 12 hours of wall time (a
/// simulated clock moved ahead neither ends nor extends it). A wrong e-mail and a
/// wrong password get the same answer in about the same time. Failures are throttled per
/// e-mail and per client address (`too_many_attempts`, 429 with `Retry-After`); while an
/// e-mail must wait, even the right password is refused.
#[utoipa::path(
    post,
    path = "/api/v1/sessions",
    tag = "accounts",
    request_body = LoginRequest,
    responses(
        (status = 201, description = "The session token, shown once", body = SessionView),
        (status = 400, description = "Malformed JSON"),
        (status = 401, description = "`invalid_credentials`: wrong e-mail or password"),
        (status = 403, description = "`user_disabled`"),
        (status = 422, description = "A missing or unknown member"),
        (status = 429, description = "`too_many_attempts`: too many failed logins for this e-mail or from this address; wait `Retry-After` seconds",
            headers(("retry-after" = u32, description = "Seconds to wait"))),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    client: ClientAddr,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Response, Problem> {
    state
        .login_throttle
        .check(&req.email, client, state.clock.now())?;
    let record = match Email::parse(&req.email) {
        Ok(email) => match state.store.unique_key(EMAIL_SCOPE, email.as_str()).await? {
            Some(id) => load_user(&state.store, yunshi_core::ids::UserId(id)).await?,
            None => None,
        },
        Err(_) => None,
    };
    let stored_hash = record.as_ref().and_then(|r| r.state.password_hash.clone());
    let matches = password::verify_password(req.password, stored_hash).await?;
    let Some(record) = record.filter(|_| matches) else {
        state
            .login_throttle
            .failed(&req.email, client, state.clock.now());
        return Err(invalid_credentials());
    };
    state.login_throttle.succeeded(&req.email);
    let user = record.state.user;
    if !user.is_active() {
        return Err(Problem::refusal(
            &yunshi_core::account::AccountError::UserDisabled,
        ));
    }
    // A session lives on wall time (`expires_on_wall_time`), whatever the server's clock.
    let now = Timestamp::now();
    let expires_at = now.saturating_add(SESSION_LIFETIME).unwrap_or(now);
    let secret = new_secret().map_err(Problem::internal)?;
    state
        .store
        .put_api_token(&ApiToken {
            hash: hash_secret(&secret),
            principal: user_principal(user.id),
            role: ROLE_SESSION.into(),
            label: "login session".into(),
            created_at: now,
            expires_at: Some(expires_at),
            revoked_at: None,
        })
        .await?;
    tracing::info!(user = %user.id, "session opened");
    Ok(no_store(
        (
            StatusCode::CREATED,
            ApiJson(SessionView {
                token: secret,
                token_type: "Bearer",
                expires_at,
                user: (&user).into(),
            }),
        )
            .into_response(),
    ))
}

/// Logs out: revokes the session token the request carries.
#[utoipa::path(
    delete,
    path = "/api/v1/sessions/current",
    tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The session is closed; its token no longer works"),
        (status = 401, description = "No valid bearer token"),
        (status = 409, description = "`not_a_session`: the bearer is an API token (revoke it with `DELETE /api/v1/tokens/{id}`)"),
    )
)]
pub async fn logout(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<StatusCode, Problem> {
    if principal.credential != Credential::Session {
        return Err(Problem::coded(
            ErrorCode::Conflict,
            StatusCode::CONFLICT,
            "not_a_session",
            "the bearer token is not a login session; revoke API tokens with \
             DELETE /api/v1/tokens/{id}",
        ));
    }
    crate::kernel::auth::revoke_token(&state, &principal.token_hash, state.clock.now()).await?;
    tracing::info!(principal = %principal.principal, "session closed");
    Ok(StatusCode::NO_CONTENT)
}

/// The caller: credential, actor (user, kind, roles), user and member account.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = MeView),
        (status = 401, description = "No valid bearer token"),
    )
)]
pub async fn me(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<ApiJson<MeView>, Problem> {
    let user = match principal.user_id() {
        Some(id) => load_user(&state.store, id).await?.map(|r| r.state.user),
        None => None,
    };
    let member = match user.as_ref().map(|u| &u.kind) {
        Some(UserKind::Member { member_id }) => load_member(&state, *member_id)
            .await?
            .map(|m| MemberView::of(&m.state, true)),
        _ => None,
    };
    Ok(ApiJson(MeView {
        principal,
        user: user.as_ref().map(UserView::from),
        member,
    }))
}
