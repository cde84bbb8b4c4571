//! Operator user administration (role `admin`): users of every kind, and API tokens for
//! them, so that automation can set up a marketplace.

use std::collections::BTreeSet;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;
use yunshi_core::account::{
    AccountError, Capability, Email, Member, OperatorRole, User, UserKind, check_password,
};
use yunshi_core::ids::{MemberId, ProviderId, UserId};
use yunshi_store::{StoreError, UniqueKey, WriteBatch};

use super::members::new_member_batch;
use super::views::{CreatedUser, MemberView, NewToken, NewUser, NewUserKind, UserView};
use super::{password, path_id, refused, write_failed};
use crate::kernel::auth::{Principal, ROLE_API, user_principal};
use crate::kernel::pipeline::add_outcome;
use crate::kernel::problem::{ApiJson, Problem};
use crate::kernel::repo::accounts::EMAIL_SCOPE;
use crate::kernel::repo::accounts::UserRecord;
use crate::kernel::repo::accounts::load_user;
use crate::kernel::repo::accounts::user_write;
use crate::kernel::state::AppState;

/// Creates a user: operator staff with roles, provider staff of a provider, or a member
/// (a new member account with this user as its login). The password is optional.
#[utoipa::path(
    post,
    path = "/api/v1/admin/users",
    tag = "accounts",
    security(("bearer" = [])),
    request_body = NewUser,
    responses(
        (status = 201, description = "The user (and member account)", body = CreatedUser),
        (status = 400, description = "Malformed JSON"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller is not an operator administrator"),
        (status = 409, description = "`email_taken`"),
        (status = 422, description = "`invalid_email`, `weak_password`, `no_operator_roles`, `invalid_display_name`, or a wrong or unknown member"),
    )
)]
pub async fn create_user(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<NewUser>,
) -> Result<Response, Problem> {
    principal.require(Capability::ManageUsers)?;
    let email = Email::parse(&req.email).map_err(refused)?;
    if let Some(password) = &req.password {
        check_password(password, &email, &password::COMMON_PASSWORDS).map_err(refused)?;
    }
    let now = state.clock.now();
    let user_id = UserId(Uuid::now_v7());
    let created_by = principal.user_id();
    let (kind, new_member) = match req.kind {
        NewUserKind::OperatorStaff { roles } => {
            let roles: BTreeSet<OperatorRole> = roles.into_iter().map(Into::into).collect();
            (UserKind::OperatorStaff { roles }, None)
        }
        NewUserKind::ProviderStaff { provider_id, role } => (
            UserKind::ProviderStaff {
                provider_id: ProviderId(provider_id),
                role: role.into(),
            },
            None,
        ),
        NewUserKind::Member { member_kind } => {
            let member_id = MemberId(Uuid::now_v7());
            let member = Member::register(
                member_id,
                member_kind.into(),
                &req.display_name,
                email.clone(),
                now,
            )
            .map_err(refused)?;
            (UserKind::Member { member_id }, Some(member))
        }
    };
    let (user, user_outcome) =
        User::create(user_id, email, &req.display_name, kind, created_by, now).map_err(refused)?;
    if state
        .store
        .unique_key(EMAIL_SCOPE, user.email.as_str())
        .await?
        .is_some()
    {
        return Err(write_failed(StoreError::DuplicateKey {
            scope: EMAIL_SCOPE.into(),
            key: String::new(),
        }));
    }
    let password_hash = match req.password {
        Some(p) => Some(password::hash_password(p).await?),
        None => None,
    };
    let record = UserRecord {
        user,
        password_hash,
    };
    let batch = match &new_member {
        Some((member, member_outcome)) => new_member_batch(
            &state.keys,
            member,
            member_outcome.clone(),
            &record,
            user_outcome,
            now,
        )?,
        None => {
            let mut batch = WriteBatch {
                aggregates: vec![user_write(&record, None, now)?],
                unique_keys: vec![UniqueKey {
                    scope: EMAIL_SCOPE.into(),
                    key: record.user.email.to_string(),
                    id: record.user.id.uuid(),
                }],
                ..WriteBatch::default()
            };
            add_outcome(&mut batch, user_outcome, now);
            batch
        }
    };
    crate::kernel::pipeline::create(&state.store, batch)
        .await
        .map_err(write_failed)?;
    if record.user.is_operator_admin() {
        admin_user_now_exists(&state).await?;
    }
    tracing::info!(
        user = %record.user.id,
        kind = record.user.kind.as_str(),
        by = %principal.principal,
        "user created"
    );
    Ok((
        StatusCode::CREATED,
        ApiJson(CreatedUser {
            user: UserView::from(&record.user),
            member: new_member.map(|(m, _)| MemberView::of(&m, true)),
        }),
    )
        .into_response())
}

/// An active operator administrator user now exists: bootstrap administrator tokens start
/// their grace (see `crate::kernel::auth`), and this server forgets their cached authentications.
pub(super) async fn admin_user_now_exists(state: &AppState) -> Result<(), Problem> {
    for hash in crate::kernel::auth::start_bootstrap_grace(&state.store).await? {
        state.principals.evict(&hash);
    }
    Ok(())
}

/// Creates an API token acting as the user `id`; the secret is shown this once.
#[utoipa::path(
    post,
    path = "/api/v1/admin/users/{id}/tokens",
    tag = "accounts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    request_body = NewToken,
    responses(
        (status = 201, description = "The token", body = super::views::IssuedApiToken),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller is not an operator administrator"),
        (status = 404, description = "No such user"),
        (status = 409, description = "`user_disabled`"),
        (status = 422, description = "Bad label or expiry, or an unknown member"),
    )
)]
pub async fn create_user_token(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<NewToken>,
) -> Result<Response, Problem> {
    principal.require(Capability::ManageUsers)?;
    let id = UserId(path_id(&id, "user")?);
    let user = load_user(&state.store, id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no user {id}")))?
        .state
        .user;
    if !user.is_active() {
        return Err(Problem::coded(
            crate::kernel::problem::ErrorCode::Conflict,
            StatusCode::CONFLICT,
            "user_disabled",
            AccountError::UserDisabled.to_string(),
        ));
    }
    tracing::info!(user = %id, by = %principal.principal, "API token issued by an administrator");
    super::tokens::issue(&state, &user_principal(id), ROLE_API, &req).await
}
