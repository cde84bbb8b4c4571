//! Member accounts and users (aggregates `member` and `user`; a user's e-mail is the unique
//! key `user.email`). A member's identity numbers are sealed at rest and opened when loaded.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use yunshi_core::account::{Member, User, VerificationDetails, VerificationStatus};
use yunshi_core::ids::{MemberId, UserId};
use yunshi_store::{AggregateWrite, Store};

use crate::kernel::pipeline::{Loaded, load};
use crate::kernel::problem::Problem;
use crate::kernel::sealing::Keyring;
use crate::kernel::state::AppState;

/// Aggregate kind of members.
pub const MEMBER: &str = "member";

/// Aggregate kind of users.
pub const USER: &str = "user";

/// Unique-key scope of login e-mails.
pub const EMAIL_SCOPE: &str = "user.email";

/// A user as stored: the core's user and, beside it, its credential (never in a response).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserRecord {
    #[serde(flatten)]
    pub user: User,
    /// Argon2id PHC string; `None`: the user cannot log in (API tokens only).
    #[serde(default)]
    pub password_hash: Option<String>,
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
        state: opened,
        ..loaded
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

pub fn state_json<T: Serialize>(kind: &str, state: &T) -> Result<serde_json::Value, Problem> {
    serde_json::to_value(state)
        .map_err(|e| Problem::internal(format!("{kind} state does not serialise: {e}")))
}

/// The write of `member`, its identity numbers sealed.
pub fn member_write(
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

pub fn user_write(
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
