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
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use yunshi_core::account::{AccountError, Member, User, VerificationDetails, VerificationStatus};
use yunshi_core::decision::Outcome;
use yunshi_core::ids::{MemberId, UserId};
use yunshi_store::{AggregateWrite, NewEvent, Store, StoreError, WriteBatch};

use crate::AppState;
use crate::kernel::problem::path_id;
use crate::kernel::problem::{ErrorCode, Problem};
use crate::kernel::sealing::Keyring;

pub use admin::{create_user, create_user_token};
pub use members::{decide_verification, get_member, register_member, submit_verification};
pub use sessions::{login, logout, me};
pub use tokens::{create_token, list_tokens, revoke_token};

/// Aggregate kind of members.
pub const MEMBER: &str = "member";
/// Aggregate kind of users.
pub const USER: &str = "user";
/// Unique-key scope of login e-mails.
pub const EMAIL_SCOPE: &str = "user.email";

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

/// A user as stored: the core's user and, beside it, its credential (never in a response).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserRecord {
    #[serde(flatten)]
    pub user: User,
    /// Argon2id PHC string; `None`: the user cannot log in (API tokens only).
    #[serde(default)]
    pub password_hash: Option<String>,
}

/// An aggregate as loaded, with the version a decision about it is conditional on.
#[derive(Debug, Clone)]
pub struct Loaded<T> {
    pub version: i64,
    pub state: T,
}

async fn load<T: serde::de::DeserializeOwned>(
    store: &Store,
    kind: &str,
    id: Uuid,
) -> Result<Option<Loaded<T>>, Problem> {
    let Some(stored) = store.aggregate(kind, id).await? else {
        return Ok(None);
    };
    let state = serde_json::from_value(stored.state)
        .map_err(|e| Problem::internal(format!("stored {kind} {id} does not read back: {e}")))?;
    Ok(Some(Loaded {
        version: stored.version,
        state,
    }))
}

/// The user `id`, if there is one.
pub async fn load_user(store: &Store, id: UserId) -> Result<Option<Loaded<UserRecord>>, Problem> {
    load(store, USER, id.uuid()).await
}

/// The member `id`, if there is one, its identity numbers opened.
pub async fn load_member(
    state: &AppState,
    id: MemberId,
) -> Result<Option<Loaded<Member>>, Problem> {
    let Some(loaded) = load::<Member>(&state.store, MEMBER, id.uuid()).await? else {
        return Ok(None);
    };
    let opened = map_identity(&loaded.state, |context, value| {
        state
            .keys
            .open_text(value, &context)
            .map_err(|e| Problem::internal(format!("member {id}: {context} does not open: {e}")))
    })?;
    Ok(Some(Loaded {
        version: loaded.version,
        state: opened,
    }))
}

/// What a member's identity field is sealed for: `member:<id>:<field>`.
fn identity_context(id: MemberId, field: &str) -> String {
    format!("{MEMBER}:{id}:{field}")
}

/// `member` with its identity numbers (a person's `id_number`, an enterprise's
/// `corporate_bank_account`) passed through `f(context, value)`: sealed when written, opened
/// when read (SPEC §14; values stored before sealing read as they are).
fn map_identity(
    member: &Member,
    f: impl Fn(String, &str) -> Result<String, Problem>,
) -> Result<Member, Problem> {
    let mut next = member.clone();
    let details = match &mut next.verification {
        VerificationStatus::Unverified => return Ok(next),
        VerificationStatus::Pending { details, .. }
        | VerificationStatus::Verified { details, .. }
        | VerificationStatus::Rejected { details, .. } => details,
    };
    match details {
        VerificationDetails::Personal { id_number, .. } => {
            *id_number = f(identity_context(member.id, "id_number"), id_number)?;
        }
        VerificationDetails::Enterprise {
            corporate_bank_account: Some(account),
            ..
        } => {
            *account = f(
                identity_context(member.id, "corporate_bank_account"),
                account,
            )?;
        }
        VerificationDetails::Enterprise { .. } => {}
    }
    Ok(next)
}

fn state_json<T: Serialize>(kind: &str, state: &T) -> Result<serde_json::Value, Problem> {
    serde_json::to_value(state)
        .map_err(|e| Problem::internal(format!("{kind} state does not serialise: {e}")))
}

/// The write of `member`, its identity numbers sealed.
fn member_write(
    keys: &Keyring,
    member: &Member,
    expected: Option<i64>,
    at: Timestamp,
) -> Result<AggregateWrite, Problem> {
    let sealed = map_identity(member, |context, value| {
        keys.seal_text(value, &context)
            .map_err(|e| Problem::internal(format!("sealing {context}: {e}")))
    })?;
    Ok(AggregateWrite {
        kind: MEMBER.into(),
        id: member.id.uuid(),
        expected_version: expected,
        owner: member.id.to_string(),
        status: member.verification.as_str().into(),
        state: state_json(MEMBER, &sealed)?,
        at,
    })
}

fn user_write(
    record: &UserRecord,
    expected: Option<i64>,
    at: Timestamp,
) -> Result<AggregateWrite, Problem> {
    Ok(AggregateWrite {
        kind: USER.into(),
        id: record.user.id.uuid(),
        expected_version: expected,
        owner: record.user.kind.owner(),
        status: record.user.status.as_str().into(),
        state: state_json(USER, record)?,
        at,
    })
}

fn add_events(batch: &mut WriteBatch, outcome: Outcome, at: Timestamp) {
    batch
        .events
        .extend(outcome.events.into_iter().map(|e| NewEvent {
            id: Uuid::now_v7(),
            kind: e.kind,
            subject: e.subject,
            at,
            payload: e.payload,
        }));
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
        let record = super::UserRecord {
            user,
            password_hash: Some("$argon2id$x".into()),
        };
        let json = serde_json::to_value(&record).unwrap();
        assert_eq!(json["kind"]["type"], "operator_staff");
        let back: super::UserRecord = serde_json::from_value(json).unwrap();
        assert_eq!(back.user, record.user);
        assert_eq!(back.password_hash, record.password_hash);
    }
}
