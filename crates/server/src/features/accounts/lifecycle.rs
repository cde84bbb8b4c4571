//! Cutting off a person or a key (issue 17): an operator administrator disables and enables
//! users, issues one-time password-reset tokens, lists and revokes any user's sessions and
//! API tokens; a user changes its own password and lists and revokes its own sessions.
//! Every act is an event in the audit trail (never a secret in it).
//!
//! A disabled user's sessions are revoked and its API tokens refused (kept, so enabling it
//! restores its automation); a changed or reset password ends the user's other sessions.
//! This server forgets its cached authentications of the user at once; other server
//! processes within [`crate::kernel::principal_cache::TTL`].

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::SignedDuration;
use uuid::Uuid;
use yunshi_core::account::{AccountError, Capability, User, check_password};
use yunshi_core::decision::Outcome;
use yunshi_core::ids::UserId;
use yunshi_store::{ApiToken, WriteBatch};

use super::password::{self, COMMON_PASSWORDS};
use super::tokens::{ID_LEN, token_id};
use super::views::{
    CredentialList, CredentialView, IssuedPasswordReset, PasswordChange, PasswordReset, UserView,
};
use super::{path_id, refused};
use crate::kernel::auth::{
    Credential, Principal, ROLE_API, ROLE_SESSION, hash_secret, new_secret, token_active,
    user_principal,
};
use crate::kernel::pipeline::add_outcome;
use crate::kernel::problem::{ApiJson, ErrorCode, Problem};
use crate::kernel::repo::accounts::UserRecord;
use crate::kernel::repo::accounts::load_user;
use crate::kernel::repo::accounts::user_write;
use crate::kernel::state::AppState;
use crate::kernel::throttle::ClientAddr;

/// The token role of a password-reset token (good only for `POST /api/v1/password-resets`).
pub const ROLE_PASSWORD_RESET: &str = "password_reset";
/// How long a password-reset token works: long enough to hand it over, short enough that a
/// forgotten one soon stops being a way in.
pub const RESET_LIFETIME: SignedDuration = SignedDuration::from_hours(24);

/// Reset tokens act as no one: their principal is not `user:…`, so they authenticate nothing.
fn reset_principal(user: UserId) -> String {
    format!("password-reset:{user}")
}

fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// Loads the user, decides, and commits the new version; a lost race decides again.
async fn update_user(
    state: &AppState,
    id: UserId,
    decide: impl Fn(&UserRecord) -> Result<(UserRecord, Outcome), Problem>,
) -> Result<UserRecord, Problem> {
    crate::kernel::pipeline::run(&state.store, || async {
        let loaded = load_user(&state.store, id)
            .await?
            .ok_or_else(|| Problem::not_found(format!("no user {id}")))?;
        let now = state.clock.now();
        let (next, outcome) = decide(&loaded.state)?;
        let mut batch = WriteBatch {
            aggregates: vec![user_write(&next, Some(loaded.version), now)?],
            ..WriteBatch::default()
        };
        add_outcome(&mut batch, outcome, now);
        Ok((batch, next))
    })
    .await
}

/// Commits the events of an act on credentials (no aggregate changes).
async fn record(state: &AppState, outcome: Outcome) -> Result<(), Problem> {
    crate::kernel::pipeline::record(&state.store, outcome, state.clock.now()).await?;
    Ok(())
}

/// Revokes every session of `user` but `keep`, and forgets its cached authentications.
async fn revoke_sessions(
    state: &AppState,
    user: UserId,
    keep: Option<&str>,
) -> Result<usize, Problem> {
    let now = state.clock.now();
    let principal = user_principal(user);
    let mut revoked = 0;
    for t in state.store.api_tokens_of(&principal).await? {
        if t.role == ROLE_SESSION
            && token_active(&t, now)
            && Some(t.hash.as_str()) != keep
            && state.store.revoke_api_token(&t.hash, now).await?
        {
            revoked += 1;
        }
    }
    state.principals.evict_principal(&principal);
    Ok(revoked)
}

/// The active sessions and API tokens of `principal`, oldest first.
async fn credentials_of(state: &AppState, principal: &str) -> Result<Vec<ApiToken>, Problem> {
    let now = state.clock.now();
    let mut tokens = state.store.api_tokens_of(principal).await?;
    tokens.retain(|t| (t.role == ROLE_SESSION || t.role == ROLE_API) && token_active(t, now));
    Ok(tokens)
}

fn credential_view(t: &ApiToken, current: &str) -> CredentialView {
    CredentialView {
        id: token_id(t),
        kind: if t.role == ROLE_SESSION {
            "session"
        } else {
            "api"
        },
        label: t.label.clone(),
        created_at: t.created_at,
        expires_at: t.expires_at,
        current: t.hash == current,
    }
}

fn find<'a>(tokens: &'a [ApiToken], id: &str) -> Result<&'a ApiToken, Problem> {
    tokens
        .iter()
        .find(|t| id.len() == ID_LEN && token_id(t) == id)
        .ok_or_else(|| Problem::not_found(format!("no active session or token {id}")))
}

/// Revokes `token` of `user` and records who did.
async fn revoke_one(
    state: &AppState,
    user: UserId,
    token: &ApiToken,
    by: Option<UserId>,
) -> Result<(), Problem> {
    if !crate::kernel::auth::revoke_token(state, &token.hash, state.clock.now()).await? {
        return Err(Problem::not_found(
            "the session or token was already revoked",
        ));
    }
    let kind = if token.role == ROLE_SESSION {
        "user.session_revoked"
    } else {
        "user.token_revoked"
    };
    let mut payload = serde_json::json!({"user_id": user, "token_id": token_id(token)});
    if let (Some(by), Some(obj)) = (by, payload.as_object_mut()) {
        obj.insert("by".into(), serde_json::json!(by));
    }
    record(
        state,
        Outcome::default().event(kind, user_principal(user), payload),
    )
    .await
}

/// The user record after a decision about its user (its status), the password kept.
fn with_hash_kept(
    r: &UserRecord,
    decided: Result<(User, Outcome), AccountError>,
) -> Result<(UserRecord, Outcome), Problem> {
    let (user, outcome) = decided.map_err(refused)?;
    let record = UserRecord {
        user,
        password_hash: r.password_hash.clone(),
    };
    Ok((record, outcome))
}

/// Disables a user: its sessions are revoked and its API tokens refused until it is enabled.
#[utoipa::path(
    post,
    path = "/api/v1/admin/users/{id}/disable",
    tag = "accounts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "The user, disabled", body = UserView),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller is not an operator administrator"),
        (status = 404, description = "No such user"),
        (status = 409, description = "`already_disabled`, or `cannot_disable_self`"),
    )
)]
pub async fn disable_user(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<UserView>, Problem> {
    principal.require(Capability::ManageUsers)?;
    let id = UserId(path_id(&id, "user")?);
    let by = principal.user_id();
    let record = update_user(&state, id, |r| with_hash_kept(r, r.user.disable(by))).await?;
    let sessions = revoke_sessions(&state, id, None).await?;
    tracing::info!(user = %id, by = %principal.principal, sessions, "user disabled");
    Ok(ApiJson(UserView::from(&record.user)))
}

/// Enables a disabled user; its API tokens work again (its sessions were ended).
#[utoipa::path(
    post,
    path = "/api/v1/admin/users/{id}/enable",
    tag = "accounts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "The user, active", body = UserView),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller is not an operator administrator"),
        (status = 404, description = "No such user"),
        (status = 409, description = "`already_active`"),
    )
)]
pub async fn enable_user(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<UserView>, Problem> {
    principal.require(Capability::ManageUsers)?;
    let id = UserId(path_id(&id, "user")?);
    let by = principal.user_id();
    let record = update_user(&state, id, |r| with_hash_kept(r, r.user.enable(by))).await?;
    if record.user.is_operator_admin() {
        super::admin::admin_user_now_exists(&state).await?;
    }
    tracing::info!(user = %id, by = %principal.principal, "user enabled");
    Ok(ApiJson(UserView::from(&record.user)))
}

/// A user's active sessions and API tokens.
#[utoipa::path(
    get,
    path = "/api/v1/admin/users/{id}/tokens",
    tag = "accounts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "The user's sessions and API tokens, oldest first", body = CredentialList),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller is not an operator administrator"),
        (status = 404, description = "No such user"),
    )
)]
pub async fn list_user_credentials(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<CredentialList>, Problem> {
    principal.require(Capability::ManageUsers)?;
    let id = UserId(path_id(&id, "user")?);
    load_user(&state.store, id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no user {id}")))?;
    let tokens = credentials_of(&state, &user_principal(id)).await?;
    Ok(ApiJson(CredentialList {
        items: tokens
            .iter()
            .map(|t| credential_view(t, &principal.token_hash))
            .collect(),
    }))
}

/// Revokes one of a user's sessions or API tokens.
#[utoipa::path(
    delete,
    path = "/api/v1/admin/users/{id}/tokens/{token_id}",
    tag = "accounts",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "User id"),
        ("token_id" = String, Path, description = "Session or token id from the list"),
    ),
    responses(
        (status = 204, description = "Revoked; it no longer works"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller is not an operator administrator"),
        (status = 404, description = "No such user, or no such active session or token of it"),
    )
)]
pub async fn revoke_user_credential(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, token)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    principal.require(Capability::ManageUsers)?;
    let id = UserId(path_id(&id, "user")?);
    let tokens = credentials_of(&state, &user_principal(id)).await?;
    let found = find(&tokens, &token)?;
    revoke_one(&state, id, found, principal.user_id()).await?;
    tracing::info!(user = %id, by = %principal.principal, token, "credential revoked by an administrator");
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's active login sessions (API tokens are at `GET /api/v1/tokens`).
#[utoipa::path(
    get,
    path = "/api/v1/sessions",
    tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's sessions, oldest first; `current` marks this one", body = CredentialList),
        (status = 401, description = "No valid bearer token"),
    )
)]
pub async fn list_sessions(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<ApiJson<CredentialList>, Problem> {
    let tokens = credentials_of(&state, &principal.principal).await?;
    Ok(ApiJson(CredentialList {
        items: tokens
            .iter()
            .filter(|t| t.role == ROLE_SESSION)
            .map(|t| credential_view(t, &principal.token_hash))
            .collect(),
    }))
}

/// Ends one of the caller's sessions (another browser, a lost laptop).
#[utoipa::path(
    delete,
    path = "/api/v1/sessions/{id}",
    tag = "accounts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Session id from the list")),
    responses(
        (status = 204, description = "Ended; its token no longer works"),
        (status = 401, description = "No valid bearer token"),
        (status = 404, description = "No such active session of the caller's"),
    )
)]
pub async fn revoke_session(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let user = principal
        .user_id()
        .ok_or_else(|| Problem::not_found(format!("no session {id}")))?;
    let mut tokens = credentials_of(&state, &principal.principal).await?;
    tokens.retain(|t| t.role == ROLE_SESSION);
    let found = find(&tokens, &id)?;
    revoke_one(&state, user, found, Some(user)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The user changes its password, proving it knows the current one. Its other sessions end;
/// wrong current passwords count as failed logins (throttled the same way).
#[utoipa::path(
    post,
    path = "/api/v1/me/password",
    tag = "accounts",
    security(("bearer" = [])),
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed; the user's other sessions are ended"),
        (status = 400, description = "Malformed JSON"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "`wrong_password`, or not a user's login session"),
        (status = 422, description = "`weak_password`, or an unknown member"),
        (status = 429, description = "`too_many_attempts`",
            headers(("retry-after" = u32, description = "Seconds to wait"))),
    )
)]
pub async fn change_password(
    State(state): State<AppState>,
    principal: Principal,
    client: ClientAddr,
    ApiJson(req): ApiJson<PasswordChange>,
) -> Result<StatusCode, Problem> {
    let id = match (principal.credential, principal.user_id()) {
        (Credential::Session, Some(id)) => id,
        _ => {
            return Err(Problem::forbidden(
                "change a password from the user's login session",
            ));
        }
    };
    let loaded = load_user(&state.store, id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no user {id}")))?;
    let email = loaded.state.user.email.clone();
    state
        .login_throttle
        .check(email.as_str(), client, state.clock.now())?;
    let stored = loaded.state.password_hash.clone();
    if !password::verify_password(req.current_password, stored).await? {
        state
            .login_throttle
            .failed(email.as_str(), client, state.clock.now());
        return Err(Problem::coded(
            ErrorCode::Forbidden,
            StatusCode::FORBIDDEN,
            "wrong_password",
            "the current password is wrong",
        ));
    }
    check_password(&req.new_password, &email, &COMMON_PASSWORDS).map_err(refused)?;
    let hash = password::hash_password(req.new_password).await?;
    update_user(&state, id, |r| {
        Ok((
            UserRecord {
                user: r.user.clone(),
                password_hash: Some(hash.clone()),
            },
            r.user.credential_event("user.password_changed", Some(id)),
        ))
    })
    .await?;
    let sessions = revoke_sessions(&state, id, Some(&principal.token_hash)).await?;
    tracing::info!(user = %id, sessions, "password changed");
    Ok(StatusCode::NO_CONTENT)
}

/// Issues a one-time password-reset token for the user (earlier ones stop working), good
/// for 24 hours; the operator hands it over, the user sets a new password with it.
#[utoipa::path(
    post,
    path = "/api/v1/admin/users/{id}/password-reset",
    tag = "accounts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 201, description = "The reset token, shown once", body = IssuedPasswordReset),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller is not an operator administrator"),
        (status = 404, description = "No such user"),
    )
)]
pub async fn issue_password_reset(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    principal.require(Capability::ManageUsers)?;
    let id = UserId(path_id(&id, "user")?);
    let user = load_user(&state.store, id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no user {id}")))?
        .state
        .user;
    let now = state.clock.now();
    let holder = reset_principal(id);
    for earlier in state.store.api_tokens_of(&holder).await? {
        if earlier.is_active(now) {
            state.store.revoke_api_token(&earlier.hash, now).await?;
        }
    }
    let secret = new_secret().map_err(Problem::internal)?;
    let expires_at = now.saturating_add(RESET_LIFETIME).unwrap_or(now);
    state
        .store
        .put_api_token(&ApiToken {
            hash: hash_secret(&secret),
            principal: holder,
            role: ROLE_PASSWORD_RESET.into(),
            label: "password reset".into(),
            created_at: now,
            expires_at: Some(expires_at),
            revoked_at: None,
        })
        .await?;
    record(
        &state,
        user.credential_event("user.password_reset_issued", principal.user_id()),
    )
    .await?;
    tracing::info!(user = %id, by = %principal.principal, "password reset issued");
    Ok(no_store(
        (
            StatusCode::CREATED,
            ApiJson(IssuedPasswordReset {
                token: secret,
                user_id: id.uuid(),
                expires_at,
            }),
        )
            .into_response(),
    ))
}

fn reset_refused() -> Problem {
    Problem::coded(
        ErrorCode::Forbidden,
        StatusCode::FORBIDDEN,
        "reset_token_invalid",
        "this password-reset token is unknown, expired or already used",
    )
}

/// Sets a new password with a reset token, once; every session of the user ends. A disabled
/// user stays disabled.
#[utoipa::path(
    post,
    path = "/api/v1/password-resets",
    tag = "accounts",
    request_body = PasswordReset,
    responses(
        (status = 204, description = "The new password is set; log in with it"),
        (status = 400, description = "Malformed JSON"),
        (status = 403, description = "`reset_token_invalid`: unknown, expired or used"),
        (status = 422, description = "`weak_password`, or an unknown member"),
    )
)]
pub async fn reset_password(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<PasswordReset>,
) -> Result<StatusCode, Problem> {
    let now = state.clock.now();
    let hash = hash_secret(req.token.trim());
    let token = match state.store.api_token(&hash).await? {
        Some(t) if t.role == ROLE_PASSWORD_RESET && t.is_active(now) => t,
        _ => return Err(reset_refused()),
    };
    let id = token
        .principal
        .strip_prefix("password-reset:")
        .and_then(|s| Uuid::parse_str(s).ok())
        .map(UserId)
        .ok_or_else(reset_refused)?;
    let user = load_user(&state.store, id)
        .await?
        .ok_or_else(reset_refused)?
        .state
        .user;
    // Checked before the token is used up, so a refused password can be retried.
    check_password(&req.new_password, &user.email, &COMMON_PASSWORDS).map_err(refused)?;
    let new_hash = password::hash_password(req.new_password).await?;
    if !state.store.revoke_api_token(&hash, now).await? {
        return Err(reset_refused());
    }
    update_user(&state, id, |r| {
        Ok((
            UserRecord {
                user: r.user.clone(),
                password_hash: Some(new_hash.clone()),
            },
            r.user.credential_event("user.password_reset", None),
        ))
    })
    .await?;
    let sessions = revoke_sessions(&state, id, None).await?;
    tracing::info!(user = %id, sessions, "password reset");
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_tokens_act_as_no_user() {
        let id = UserId(Uuid::from_u128(5));
        assert!(!reset_principal(id).starts_with(crate::kernel::auth::USER_PRINCIPAL_PREFIX));
    }
}
