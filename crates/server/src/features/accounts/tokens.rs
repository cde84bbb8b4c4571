//! API tokens for machine clients: created by their owner (or by an operator administrator
//! for a user), listed and revoked by their owner. A token acts exactly as its user does.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::Deserialize;
use utoipa::IntoParams;
use yunshi_store::ApiToken;

use super::views::{IssuedApiToken, NewToken, TokenPage, TokenView};
use crate::kernel::auth::{
    Credential, Principal, ROLE_SESSION, ROLE_SETUP, hash_secret, new_secret,
};
use crate::kernel::problem::{ApiJson, Problem};
use crate::kernel::state::AppState;

const MAX_LABEL_CHARS: usize = 100;
const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;
/// Characters of the token hash that make its public id (128 bits).
pub(super) const ID_LEN: usize = 32;

/// A token's public id: the first 32 hex digits of its hash (never the secret).
pub(super) fn token_id(t: &ApiToken) -> String {
    t.hash.chars().take(ID_LEN).collect()
}

fn view(t: &ApiToken) -> TokenView {
    TokenView {
        id: token_id(t),
        label: t.label.clone(),
        created_at: t.created_at,
        expires_at: t.expires_at,
    }
}

/// Checks a new token's label and expiry.
fn check_new_token(req: &NewToken, now: Timestamp) -> Result<String, Problem> {
    let label = req.label.trim();
    if label.is_empty()
        || label.chars().count() > MAX_LABEL_CHARS
        || label.chars().any(char::is_control)
    {
        return Err(Problem::with_status(
            crate::kernel::problem::ErrorCode::InvalidRequest,
            StatusCode::UNPROCESSABLE_ENTITY,
            "the label must be 1–100 characters without control characters",
        ));
    }
    if req.expires_at.is_some_and(|e| e <= now) {
        return Err(Problem::with_status(
            crate::kernel::problem::ErrorCode::InvalidRequest,
            StatusCode::UNPROCESSABLE_ENTITY,
            "expires_at must be in the future",
        ));
    }
    Ok(label.to_owned())
}

/// Stores a new API token for `principal` with `role`; the secret is in the answer only.
pub(super) async fn issue(
    state: &AppState,
    principal: &str,
    role: &str,
    req: &NewToken,
) -> Result<Response, Problem> {
    let now = state.clock.now();
    let label = check_new_token(req, now)?;
    let secret = new_secret().map_err(Problem::internal)?;
    let token = ApiToken {
        hash: hash_secret(&secret),
        principal: principal.to_owned(),
        role: role.to_owned(),
        label,
        created_at: now,
        expires_at: req.expires_at,
        revoked_at: None,
    };
    state.store.put_api_token(&token).await?;
    tracing::info!(principal, id = %token_id(&token), "API token created");
    let mut res = (
        StatusCode::CREATED,
        ApiJson(IssuedApiToken {
            token: secret,
            info: view(&token),
            principal: token.principal.clone(),
        }),
    )
        .into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// The caller's active API tokens (not sessions), oldest first.
async fn own_tokens(state: &AppState, principal: &Principal) -> Result<Vec<ApiToken>, Problem> {
    let now = state.clock.now();
    let mut tokens = state.store.api_tokens_of(&principal.principal).await?;
    tokens.retain(|t| t.role != ROLE_SESSION && t.role != ROLE_SETUP && t.is_active(now));
    Ok(tokens)
}

/// Creates an API token acting as the caller. Only from a login session (or as the
/// bootstrap administrator): an API token cannot mint more of itself.
#[utoipa::path(
    post,
    path = "/api/v1/tokens",
    tag = "accounts",
    security(("bearer" = [])),
    request_body = NewToken,
    responses(
        (status = 201, description = "The token; its secret is shown this once", body = IssuedApiToken),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller authenticated with an API token"),
        (status = 422, description = "Bad label or expiry, or an unknown member"),
    )
)]
pub async fn create_token(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<NewToken>,
) -> Result<Response, Problem> {
    let role = match principal.credential {
        Credential::Session => crate::kernel::auth::ROLE_API,
        Credential::AdminToken => crate::kernel::auth::ROLE_OPERATOR_ADMIN,
        Credential::ApiToken => {
            return Err(Problem::forbidden(
                "create API tokens from a login session, not with another API token",
            ));
        }
    };
    issue(&state, &principal.principal, role, &req).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TokenListQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub after: Option<String>,
}

/// The caller's active API tokens, oldest first (sessions are not listed).
#[utoipa::path(
    get,
    path = "/api/v1/tokens",
    tag = "accounts",
    security(("bearer" = [])),
    params(TokenListQuery),
    responses(
        (status = 200, description = "One page of the caller's tokens", body = TokenPage),
        (status = 400, description = "Bad `limit` or `after`"),
        (status = 401, description = "No valid bearer token"),
    )
)]
pub async fn list_tokens(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<TokenListQuery>,
) -> Result<ApiJson<TokenPage>, Problem> {
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(Problem::invalid_request("limit must be 1–200"));
    }
    let tokens = own_tokens(&state, &principal).await?;
    let start = match query.after.as_deref() {
        None => 0,
        Some(after) => tokens
            .iter()
            .position(|t| token_id(t) == after)
            .map(|i| i + 1)
            .ok_or_else(|| Problem::invalid_request("after is not a token id of this list"))?,
    };
    let limit = limit as usize;
    let page: Vec<TokenView> = tokens.iter().skip(start).take(limit).map(view).collect();
    let next_cursor = (tokens.len() > start + limit)
        .then(|| page.last().map(|t| t.id.clone()))
        .flatten();
    Ok(ApiJson(TokenPage {
        items: page,
        next_cursor,
    }))
}

/// Revokes one of the caller's API tokens.
#[utoipa::path(
    delete,
    path = "/api/v1/tokens/{id}",
    tag = "accounts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Token id from the list")),
    responses(
        (status = 204, description = "Revoked; it no longer works"),
        (status = 401, description = "No valid bearer token"),
        (status = 404, description = "No such active token of the caller's"),
    )
)]
pub async fn revoke_token(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let tokens = own_tokens(&state, &principal).await?;
    let token = tokens
        .iter()
        .find(|t| id.len() == ID_LEN && token_id(t) == id)
        .ok_or_else(|| Problem::not_found(format!("no token {id}")))?;
    if !crate::kernel::auth::revoke_token(&state, &token.hash, state.clock.now()).await? {
        return Err(Problem::not_found(format!("no token {id}")));
    }
    tracing::info!(principal = %principal.principal, %id, "API token revoked");
    Ok(StatusCode::NO_CONTENT)
}
