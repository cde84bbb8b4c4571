//! Accounts over HTTP (issue 3 item 1): member self-registration, login sessions, the
//! caller's identity, API tokens, operator user administration and member verification.
//!
//! Members and users are aggregates (`member`, `user`); a user's e-mail is the unique key
//! `user.email`. Every change is one `WriteBatch` (aggregates, events, unique keys),
//! conditional on the version it was decided from; a lost race reloads and decides again
//! ([`crate::kernel::pipeline`]). Sessions and API tokens are rows of the token table, only
//! their hashes stored.

pub mod admin;
pub mod lifecycle;
pub mod members;
mod password;
pub mod sessions;
pub mod tokens;
pub mod views;

use axum::Router;
use axum::routing::{delete, get, post};
use yunshi_core::account::AccountError;
use yunshi_store::StoreError;

use crate::kernel::problem::path_id;
use crate::kernel::problem::{ErrorCode, Problem};
use crate::kernel::state::AppState;

use crate::kernel::repo::accounts::EMAIL_SCOPE;
pub use admin::{create_user, create_user_token};
pub use members::{decide_verification, get_member, register_member, submit_verification};
pub use sessions::{login, logout, me};
pub use tokens::{create_token, list_tokens, revoke_token};

/// The account routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/members", post(register_member))
        .route("/api/v1/members/{id}", get(get_member))
        .route(
            "/api/v1/members/{id}/verification",
            post(submit_verification),
        )
        .route(
            "/api/v1/admin/members/{id}/verification",
            post(decide_verification),
        )
        .route(
            "/api/v1/sessions",
            post(login).get(lifecycle::list_sessions),
        )
        .route("/api/v1/sessions/current", delete(logout))
        .route("/api/v1/sessions/{id}", delete(lifecycle::revoke_session))
        .route("/api/v1/me", get(me))
        .route("/api/v1/me/password", post(lifecycle::change_password))
        .route("/api/v1/password-resets", post(lifecycle::reset_password))
        .route("/api/v1/tokens", post(create_token).get(list_tokens))
        .route("/api/v1/tokens/{id}", delete(revoke_token))
        .route("/api/v1/admin/users", post(create_user))
        .route(
            "/api/v1/admin/users/{id}/tokens",
            post(create_user_token).get(lifecycle::list_user_credentials),
        )
        .route(
            "/api/v1/admin/users/{id}/tokens/{token_id}",
            delete(lifecycle::revoke_user_credential),
        )
        .route(
            "/api/v1/admin/users/{id}/disable",
            post(lifecycle::disable_user),
        )
        .route(
            "/api/v1/admin/users/{id}/enable",
            post(lifecycle::enable_user),
        )
        .route(
            "/api/v1/admin/users/{id}/password-reset",
            post(lifecycle::issue_password_reset),
        )
}

/// An account rule's refusal as a problem document.
fn refused(e: AccountError) -> Problem {
    Problem::refusal(&e)
}

/// A store error of a write that claimed `user.email`: a taken e-mail is 409 `email_taken`.
fn write_failed(e: StoreError) -> Problem {
    match e {
        StoreError::DuplicateKey { ref scope, .. } if scope == EMAIL_SCOPE => Problem::coded(
            ErrorCode::Conflict,
            axum::http::StatusCode::CONFLICT,
            "email_taken",
            "a user with this e-mail address already exists",
        ),
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::views::*;

    #[test]
    fn tagged_requests_reject_unknown_members() {
        let ok: Result<VerificationSubmission, _> = serde_json::from_value(json!({
            "type": "personal", "real_name": "王芳", "id_document": "resident_id",
            "id_number": "11010519491231002X"
        }));
        assert!(ok.is_ok(), "{ok:?}");
        let extra: Result<VerificationSubmission, _> = serde_json::from_value(json!({
            "type": "personal", "real_name": "王芳", "id_document": "resident_id",
            "id_number": "11010519491231002X", "nickname": "x"
        }));
        assert!(extra.is_err());
        let extra: Result<VerificationDecisionRequest, _> =
            serde_json::from_value(json!({"decision": "verified", "note": "x"}));
        assert!(extra.is_err());
        let ok: Result<VerificationDecisionRequest, _> =
            serde_json::from_value(json!({"decision": "verified"}));
        assert!(ok.is_ok());
        let extra: Result<NewUserKind, _> =
            serde_json::from_value(json!({"type": "operator_staff", "roles": [], "x": 1}));
        assert!(extra.is_err());
    }

    #[test]
    fn stored_users_read_back_with_their_password_hash() {
        use yunshi_core::account::{Email, User, UserKind};
        let (user, _) = User::create(
            yunshi_core::ids::UserId(uuid::Uuid::from_u128(1)),
            Email::parse("a@example.com").unwrap(),
            "A",
            UserKind::OperatorStaff {
                roles: [yunshi_core::account::OperatorRole::Admin].into(),
            },
            None,
            jiff::Timestamp::UNIX_EPOCH,
        )
        .unwrap();
        let record = crate::kernel::repo::accounts::UserRecord {
            user,
            password_hash: Some("$argon2id$x".into()),
        };
        let json = serde_json::to_value(&record).unwrap();
        assert_eq!(json["kind"]["type"], "operator_staff");
        let back: crate::kernel::repo::accounts::UserRecord = serde_json::from_value(json).unwrap();
        assert_eq!(back.user, record.user);
        assert_eq!(back.password_hash, record.password_hash);
    }
}
