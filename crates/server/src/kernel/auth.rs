//! Bearer tokens: who a request acts as, and how the first operator administrator comes to
//! exist.
//!
//! Only a token's BLAKE3 hash is stored. A token acts as a *principal*: `user:<id>` for the
//! sessions and API tokens of a user (the [`Actor`] is then that user's kind and roles, read
//! fresh on every request, so a disabled user or a changed role takes effect at once), or
//! the bootstrap administrator's principals, which act as operator staff with the `admin`
//! role and no user.
//!
//! `YUNSHI_ADMIN_TOKEN` makes a chosen secret an operator administrator (for automation);
//! without it, a start that finds no administrator issues a one-time setup secret, good for
//! 24 hours, that `/setup` exchanges for an administrator token.
//!
//! **The bootstrap token is bound to the configured secret.** Each start revokes every
//! `YUNSHI_ADMIN_TOKEN` token but the one of the secret configured now (all of them when
//! none is), so a changed or removed secret stops working (configuring it again makes it
//! work again: the configuration is what decides). **It expires once a real administrator exists:** when an active
//! operator-staff user with the `admin` role exists (created, enabled, or found at start),
//! every bootstrap administrator token — `YUNSHI_ADMIN_TOKEN` and those issued by `/setup` —
//! that has no expiry gets one, [`BOOTSTRAP_GRACE`] later, to finish the automation that
//! set the administrator up. That grace runs on the wall clock, not the server's (possibly
//! simulated) clock: it is a security window for people, not a business deadline, and a
//! simulated year must neither end it at once nor hold it open.

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use yunshi_core::account::{Actor, Capability, OperatorRole, ProviderRole, UserKind};
use yunshi_core::ids::UserId;
use yunshi_store::{AggregateQuery, ApiToken, Store, StoreError};

use crate::kernel::problem::Problem;
use crate::kernel::state::AppState;
use std::collections::BTreeSet;

/// Operator administrator: may do anything.
pub const ROLE_OPERATOR_ADMIN: &str = "operator_admin";
/// The principal of one-time setup secrets.
pub const SETUP_PRINCIPAL: &str = "setup";
/// A one-time setup secret; good only for `/setup`, never as an API credential.
pub const ROLE_SETUP: &str = "setup";
/// The principal `YUNSHI_ADMIN_TOKEN` acts as.
pub const BOOTSTRAP_PRINCIPAL: &str = "bootstrap-admin";
/// The principal of administrator tokens issued through `/setup`.
pub const SETUP_ADMIN_PRINCIPAL: &str = "operator-admin";
/// How long bootstrap administrator tokens keep working once a real administrator exists
/// (wall time).
pub const BOOTSTRAP_GRACE: SignedDuration = SignedDuration::from_hours(24);
/// The principals of bootstrap administrator tokens.
pub const BOOTSTRAP_PRINCIPALS: [&str; 2] = [BOOTSTRAP_PRINCIPAL, SETUP_ADMIN_PRINCIPAL];
/// How long a setup secret stays valid.
pub const SETUP_TOKEN_LIFETIME: SignedDuration = SignedDuration::from_hours(24);
/// The token role of a login session.
pub const ROLE_SESSION: &str = "session";

/// How long a login session lasts (absolute, not sliding).
pub const SESSION_LIFETIME: SignedDuration = SignedDuration::from_hours(12);
/// The token role of a user's API token.
pub const ROLE_API: &str = "api";
/// Principals of user tokens are `user:<uuid>`.
pub const USER_PRINCIPAL_PREFIX: &str = "user:";

/// The principal the tokens of `user` act as.
pub fn user_principal(user: UserId) -> String {
    format!("{USER_PRINCIPAL_PREFIX}{user}")
}

/// Hex of the BLAKE3 hash of a secret: the key a token is stored under.
pub fn hash_secret(secret: &str) -> String {
    blake3::hash(secret.as_bytes()).to_hex().to_string()
}

#[derive(Debug, thiserror::Error)]
#[error("the system random source failed: {0}")]
pub struct RandomError(getrandom::Error);

/// A new secret: 32 bytes from the operating system's random source, hex-encoded.
pub fn new_secret() -> Result<String, RandomError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(RandomError)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// What kind of credential authenticated the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Credential {
    /// A login session (`POST /api/v1/sessions`), 12 hours of wall time.
    Session,
    /// A user's API token.
    ApiToken,
    /// A bootstrap administrator token (`YUNSHI_ADMIN_TOKEN`, `/setup`).
    AdminToken,
}

// Handlers authorise with `principal.actor` and the core's rules (`yunshi_core::account`):
// `principal.require(Capability::…)` for operator work (403), `actor.may_see(Owner::…)` for
// tenancy (answer 404 when false), `actor.acts_for_provider/member(id)` to act as a tenant.
/// The authenticated caller: who the bearer token acts as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Principal {
    /// Who the token acts as: `user:<id>`, or `bootstrap-admin` / `operator-admin`.
    #[schema(example = "bootstrap-admin")]
    pub principal: String,
    /// A summary of the actor: `member`, `provider_owner`, `provider_staff`,
    /// `operator_staff` or `operator_admin`.
    #[schema(example = "operator_admin")]
    pub role: String,
    pub credential: Credential,
    /// The user, kind and roles the request acts as.
    #[schema(value_type = ActorView)]
    pub actor: Actor,
    /// The BLAKE3 hash of the bearer token (for logout); never shown.
    #[serde(skip)]
    #[schema(ignore)]
    pub token_hash: String,
}

impl Principal {
    /// Refuses with 403 unless the actor holds `capability`.
    pub fn require(&self, capability: Capability) -> Result<(), Problem> {
        self.actor
            .require(capability)
            .map_err(|e| Problem::refusal(&e))
    }

    /// Refuses with 403 unless the actor is operator staff with `role` (`admin` has all).
    pub fn require_role(&self, role: OperatorRole) -> Result<(), Problem> {
        if self.actor.has_operator_role(role) {
            Ok(())
        } else {
            Err(Problem::forbidden(format!(
                "this needs the operator {} role",
                role.as_str()
            )))
        }
    }

    /// The user the request acts as; `None` for the bootstrap administrator.
    pub fn user_id(&self) -> Option<UserId> {
        self.actor.user_id
    }
}

/// The `role` summary of an actor.
pub fn role_summary(actor: &Actor) -> &'static str {
    match &actor.kind {
        UserKind::Member { .. } => "member",
        UserKind::ProviderStaff {
            role: ProviderRole::Owner,
            ..
        } => "provider_owner",
        UserKind::ProviderStaff { .. } => "provider_staff",
        UserKind::OperatorStaff { .. } if actor.is_operator_admin() => ROLE_OPERATOR_ADMIN,
        UserKind::OperatorStaff { .. } => "operator_staff",
    }
}

fn bearer(parts: &Parts) -> Result<Option<&str>, Problem> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| Problem::unauthorized("the Authorization header is not valid text"))?;
    let (scheme, secret) = value.trim().split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") || secret.trim().is_empty() {
        return Err(Problem::unauthorized("use `Authorization: Bearer <token>`"));
    }
    Ok(Some(secret.trim()))
}

fn refused() -> Problem {
    Problem::unauthorized("the bearer token is unknown, expired or revoked")
}

/// Whether `token` expires on wall time: login sessions and bootstrap administrator tokens
/// are security windows for people, not business deadlines, so a simulated clock moved a
/// month ahead neither ends them at once nor holds them open.
pub fn expires_on_wall_time(token: &ApiToken) -> bool {
    token.role == ROLE_SESSION || BOOTSTRAP_PRINCIPALS.contains(&token.principal.as_str())
}

/// Whether `token` works at `now` (the server's clock), or on wall time where it expires on
/// it ([`expires_on_wall_time`]).
pub fn token_active(token: &ApiToken, now: Timestamp) -> bool {
    if expires_on_wall_time(token) {
        token.is_active(Timestamp::now())
    } else {
        token.is_active(now)
    }
}

async fn authenticate(secret: &str, state: &AppState) -> Result<Principal, Problem> {
    let token_hash = hash_secret(secret);
    let now = state.clock.now();
    if let Some(principal) = state.principals.get(&token_hash, now) {
        return Ok(principal);
    }
    let token = match state.store.api_token(&token_hash).await? {
        Some(t) if t.role != ROLE_SETUP && token_active(&t, now) => t,
        _ => return Err(refused()),
    };
    let (actor, credential) = match token.principal.strip_prefix(USER_PRINCIPAL_PREFIX) {
        Some(id) => {
            let id = Uuid::parse_str(id).map_err(|_| refused())?;
            let user = crate::kernel::repo::accounts::load_user(&state.store, UserId(id))
                .await?
                .ok_or_else(refused)?;
            let actor = Actor::for_user(&user.state.user)
                .map_err(|_| Problem::unauthorized("the user account is disabled"))?;
            let credential = match token.role.as_str() {
                ROLE_SESSION => Credential::Session,
                ROLE_API => Credential::ApiToken,
                _ => return Err(refused()),
            };
            (actor, credential)
        }
        None if token.role == ROLE_OPERATOR_ADMIN => {
            (Actor::bootstrap_admin(), Credential::AdminToken)
        }
        None => return Err(refused()),
    };
    // A wall-clock expiry is left to the cache's short TTL.
    let cached_expiry = if expires_on_wall_time(&token) {
        None
    } else {
        token.expires_at
    };
    let principal = Principal {
        principal: token.principal,
        role: role_summary(&actor).to_owned(),
        credential,
        actor,
        token_hash,
    };
    state.principals.put(&principal, cached_expiry);
    Ok(principal)
}

/// Revokes the token with `hash` and forgets its cached authentication; false when there was
/// no active token to revoke.
pub async fn revoke_token(state: &AppState, hash: &str, now: Timestamp) -> Result<bool, Problem> {
    let revoked = state.store.revoke_api_token(hash, now).await?;
    state.principals.evict(hash);
    Ok(revoked)
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        match bearer(parts)? {
            Some(secret) => authenticate(secret, state).await,
            None => Err(Problem::unauthorized("this needs a bearer token")),
        }
    }
}

impl OptionalFromRequestParts<AppState> for Principal {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Problem> {
        match bearer(parts)? {
            Some(secret) => authenticate(secret, state).await.map(Some),
            None => Ok(None),
        }
    }
}

/// What the start-up found or did about the first administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bootstrap {
    /// `YUNSHI_ADMIN_TOKEN` was given and is now an active administrator token.
    AdminToken,
    /// An administrator already exists; nothing to do.
    AdminExists,
    /// No administrator exists: this one-time secret opens `/setup` until `expires_at`.
    SetupSecret {
        secret: String,
        expires_at: Timestamp,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// Appends one event to the audit trail (an act on credentials, which are no aggregate).
pub async fn record_event(
    store: &Store,
    kind: &str,
    subject: &str,
    payload: serde_json::Value,
    at: Timestamp,
) -> Result<(), StoreError> {
    let event = yunshi_core::decision::Outcome::default().event(kind, subject, payload);
    crate::kernel::pipeline::record(store, event, at).await
}

/// Whether an active operator administrator user exists (operator staff are few: their
/// users are read a page at a time).
pub async fn admin_user_exists(store: &Store) -> Result<bool, StoreError> {
    let mut after = None;
    loop {
        let page = store
            .aggregates(&AggregateQuery {
                kind: crate::kernel::repo::accounts::USER.into(),
                owner: Some(String::new()),
                status: Some(yunshi_core::account::UserStatus::Active.as_str().into()),
                after,
                limit: 500,
            })
            .await?;
        for stored in &page {
            if let Ok(record) = serde_json::from_value::<crate::kernel::repo::accounts::UserRecord>(
                stored.state.clone(),
            ) && record.user.is_operator_admin()
                && record.user.is_active()
            {
                return Ok(true);
            }
        }
        match page.last() {
            Some(last) if page.len() == 500 => after = Some(last.id),
            _ => return Ok(false),
        }
    }
}

/// The expiry a bootstrap administrator token gets when a real administrator exists at
/// wall time `wall_now`: its own if it has one (a restart never extends it), else the grace.
pub fn bootstrap_expiry(current: Option<Timestamp>, wall_now: Timestamp) -> Option<Timestamp> {
    current.or_else(|| wall_now.checked_add(BOOTSTRAP_GRACE).ok())
}

/// A real administrator exists: starts the grace of every bootstrap administrator token
/// that has no expiry yet. Returns the hashes of the tokens changed.
pub async fn start_bootstrap_grace(store: &Store) -> Result<Vec<String>, StoreError> {
    let wall_now = Timestamp::now();
    let mut changed = Vec::new();
    for principal in BOOTSTRAP_PRINCIPALS {
        for token in store.api_tokens_of(principal).await? {
            let expires_at = bootstrap_expiry(token.expires_at, wall_now);
            if token.revoked_at.is_none() && expires_at != token.expires_at {
                store
                    .put_api_token(&ApiToken {
                        expires_at,
                        ..token.clone()
                    })
                    .await?;
                changed.push(token.hash);
            }
        }
    }
    if !changed.is_empty() {
        tracing::warn!(
            tokens = changed.len(),
            "an operator administrator user exists: bootstrap administrator tokens expire in 24 hours"
        );
    }
    Ok(changed)
}

/// Makes sure there is a way in for an operator administrator, and that only the configured
/// bootstrap secret is one.
pub async fn bootstrap(
    store: &Store,
    now: Timestamp,
    admin_token: Option<&str>,
) -> Result<Bootstrap, BootstrapError> {
    let configured = admin_token.map(hash_secret);
    for earlier in store.api_tokens_of(BOOTSTRAP_PRINCIPAL).await? {
        if earlier.revoked_at.is_none() && Some(&earlier.hash) != configured.as_ref() {
            store.revoke_api_token(&earlier.hash, now).await?;
            record_event(
                store,
                "admin_token.revoked",
                BOOTSTRAP_PRINCIPAL,
                serde_json::json!({"reason": "the configured secret changed or was removed"}),
                now,
            )
            .await?;
            tracing::warn!("the previous YUNSHI_ADMIN_TOKEN no longer works");
        }
    }
    let admin_exists = admin_user_exists(store).await?;
    if let Some(hash) = configured {
        // The configured secret works, but keeps its expiry: a restart never extends the grace.
        let known = store.api_token(&hash).await?;
        store
            .put_api_token(&ApiToken {
                hash,
                principal: BOOTSTRAP_PRINCIPAL.to_owned(),
                role: ROLE_OPERATOR_ADMIN.to_owned(),
                label: "YUNSHI_ADMIN_TOKEN".to_owned(),
                created_at: known.as_ref().map_or(now, |k| k.created_at),
                expires_at: known.and_then(|k| k.expires_at),
                revoked_at: None,
            })
            .await?;
        if admin_exists {
            start_bootstrap_grace(store).await?;
        }
        return Ok(Bootstrap::AdminToken);
    }
    if admin_exists {
        start_bootstrap_grace(store).await?;
        return Ok(Bootstrap::AdminExists);
    }
    if store
        .has_active_token_with_role(ROLE_OPERATOR_ADMIN, now)
        .await?
    {
        return Ok(Bootstrap::AdminExists);
    }
    // Only the newest setup link works: links printed by earlier starts are revoked.
    for earlier in store.api_tokens_of(SETUP_PRINCIPAL).await? {
        if earlier.revoked_at.is_none() {
            store.revoke_api_token(&earlier.hash, now).await?;
        }
    }
    let secret = new_secret()?;
    let expires_at = now.saturating_add(SETUP_TOKEN_LIFETIME).unwrap_or(now);
    store
        .put_api_token(&ApiToken {
            hash: hash_secret(&secret),
            principal: SETUP_PRINCIPAL.to_owned(),
            role: ROLE_SETUP.to_owned(),
            label: "one-time setup link".to_owned(),
            created_at: now,
            expires_at: Some(expires_at),
            revoked_at: None,
        })
        .await?;
    Ok(Bootstrap::SetupSecret { secret, expires_at })
}

/// An administrator token issued through `/setup`; the secret is shown this once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IssuedToken {
    /// The bearer secret. Store it now: it cannot be shown again.
    pub token: String,
    pub principal: String,
    pub role: String,
}

/// Exchanges a setup secret for a new administrator token. The setup secret is revoked
/// first, atomically, so of two concurrent uses only one wins.
pub async fn redeem_setup_secret(state: &AppState, secret: &str) -> Result<IssuedToken, Problem> {
    let now = state.clock.now();
    let hash = hash_secret(secret.trim());
    let token = state.store.api_token(&hash).await?;
    let token = match token {
        Some(t) if t.role == ROLE_SETUP => t,
        _ => return Err(Problem::forbidden("this setup link is not valid")),
    };
    if token.revoked_at.is_some() {
        return Err(Problem::forbidden("this setup link was already used"));
    }
    if !token.is_active(now) {
        return Err(Problem::forbidden(
            "this setup link has expired; restart the server for a new one",
        ));
    }
    if !state.store.revoke_api_token(&hash, now).await? {
        return Err(Problem::forbidden("this setup link was already used"));
    }
    let secret = new_secret().map_err(Problem::internal)?;
    state
        .store
        .put_api_token(&ApiToken {
            hash: hash_secret(&secret),
            principal: SETUP_ADMIN_PRINCIPAL.to_owned(),
            role: ROLE_OPERATOR_ADMIN.to_owned(),
            label: "created with the setup link".to_owned(),
            created_at: now,
            expires_at: None,
            revoked_at: None,
        })
        .await?;
    tracing::info!(
        principal = SETUP_ADMIN_PRINCIPAL,
        "operator administrator token issued via /setup"
    );
    // A link printed before an administrator user was made: the new token gets the grace.
    if admin_user_exists(&state.store).await? {
        for hash in start_bootstrap_grace(&state.store).await? {
            state.principals.evict(&hash);
        }
    }
    Ok(IssuedToken {
        token: secret,
        principal: SETUP_ADMIN_PRINCIPAL.to_owned(),
        role: ROLE_OPERATOR_ADMIN.to_owned(),
    })
}

/// Who a user is.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum UserKindView {
    Member {
        #[schema(value_type = String)]
        member_id: Uuid,
    },
    ProviderStaff {
        #[schema(value_type = String)]
        provider_id: Uuid,
        role: ProviderRoleDto,
    },
    OperatorStaff {
        roles: BTreeSet<OperatorRoleDto>,
    },
}

impl From<&UserKind> for UserKindView {
    fn from(k: &UserKind) -> Self {
        match k {
            UserKind::Member { member_id } => UserKindView::Member {
                member_id: member_id.uuid(),
            },
            UserKind::ProviderStaff { provider_id, role } => UserKindView::ProviderStaff {
                provider_id: provider_id.uuid(),
                role: (*role).into(),
            },
            UserKind::OperatorStaff { roles } => UserKindView::OperatorStaff {
                roles: roles.iter().map(|&r| r.into()).collect(),
            },
        }
    }
}

/// Who is acting (the shape of `yunshi_core::account::Actor`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActorView {
    /// The user; null for the bootstrap administrator.
    #[schema(value_type = Option<String>)]
    pub user_id: Option<Uuid>,
    pub kind: UserKindView,
}

/// An operator staff role; `admin` implies all the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OperatorRoleDto {
    /// Onboarding, listing and member-verification review.
    Reviewer,
    /// Violations and penalties.
    Compliance,
    /// Complaints and refund arbitration.
    CustomerService,
    /// Settlement, deposits, invoices.
    Finance,
    /// Rulebooks and users; every other role too.
    Admin,
}

impl From<OperatorRoleDto> for OperatorRole {
    fn from(r: OperatorRoleDto) -> Self {
        match r {
            OperatorRoleDto::Reviewer => OperatorRole::Reviewer,
            OperatorRoleDto::Compliance => OperatorRole::Compliance,
            OperatorRoleDto::CustomerService => OperatorRole::CustomerService,
            OperatorRoleDto::Finance => OperatorRole::Finance,
            OperatorRoleDto::Admin => OperatorRole::Admin,
        }
    }
}

impl From<OperatorRole> for OperatorRoleDto {
    fn from(r: OperatorRole) -> Self {
        match r {
            OperatorRole::Reviewer => OperatorRoleDto::Reviewer,
            OperatorRole::Compliance => OperatorRoleDto::Compliance,
            OperatorRole::CustomerService => OperatorRoleDto::CustomerService,
            OperatorRole::Finance => OperatorRoleDto::Finance,
            OperatorRole::Admin => OperatorRoleDto::Admin,
        }
    }
}

/// A provider staff user's standing: `owner` manages the provider's account and staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProviderRoleDto {
    Owner,
    Staff,
}

impl From<ProviderRoleDto> for ProviderRole {
    fn from(r: ProviderRoleDto) -> Self {
        match r {
            ProviderRoleDto::Owner => ProviderRole::Owner,
            ProviderRoleDto::Staff => ProviderRole::Staff,
        }
    }
}

impl From<ProviderRole> for ProviderRoleDto {
    fn from(r: ProviderRole) -> Self {
        match r {
            ProviderRole::Owner => ProviderRoleDto::Owner,
            ProviderRole::Staff => ProviderRoleDto::Staff,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_random_hex_and_hash_to_blake3_hex() {
        let a = new_secret().unwrap();
        let b = new_secret().unwrap();
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert_eq!(
            hash_secret("abc"),
            "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"
        );
    }

    fn principal(actor: Actor) -> Principal {
        Principal {
            principal: "p".into(),
            role: role_summary(&actor).into(),
            credential: Credential::Session,
            actor,
            token_hash: String::new(),
        }
    }

    #[test]
    fn admin_has_every_role() {
        let admin = principal(Actor::bootstrap_admin());
        assert_eq!(admin.role, ROLE_OPERATOR_ADMIN);
        assert!(admin.require_role(OperatorRole::Finance).is_ok());
        assert!(admin.require(Capability::ManageSettlement).is_ok());
        let clerk = principal(Actor {
            user_id: None,
            kind: UserKind::OperatorStaff {
                roles: [OperatorRole::Finance].into(),
            },
        });
        assert_eq!(clerk.role, "operator_staff");
        assert!(clerk.require_role(OperatorRole::Finance).is_ok());
        assert!(clerk.require(Capability::ManageDeposits).is_ok());
        assert_eq!(
            clerk.require_role(OperatorRole::Admin).unwrap_err().status,
            403
        );
        let refused = clerk.require(Capability::ReviewVerification).unwrap_err();
        assert_eq!(refused.status, 403);
        assert_eq!(refused.stable_code, "forbidden");
    }

    #[test]
    fn bootstrap_tokens_get_the_grace_once_and_a_restart_never_extends_it() {
        let now: Timestamp = "2026-04-01T00:00:00Z".parse().unwrap();
        assert_eq!(
            bootstrap_expiry(None, now),
            Some("2026-04-02T00:00:00Z".parse().unwrap())
        );
        let set: Timestamp = "2026-04-01T06:00:00Z".parse().unwrap();
        assert_eq!(bootstrap_expiry(Some(set), now), Some(set));
        let wall_expired = ApiToken {
            hash: String::new(),
            principal: BOOTSTRAP_PRINCIPAL.into(),
            role: ROLE_OPERATOR_ADMIN.into(),
            label: String::new(),
            created_at: Timestamp::UNIX_EPOCH,
            expires_at: Some(Timestamp::UNIX_EPOCH + SignedDuration::from_hours(1)),
            revoked_at: None,
        };
        // Judged by the wall clock, whatever the server's (simulated) clock says.
        assert!(!token_active(&wall_expired, Timestamp::UNIX_EPOCH));
        let user_token = ApiToken {
            principal: "user:x".into(),
            ..wall_expired
        };
        assert!(token_active(&user_token, Timestamp::UNIX_EPOCH));
    }

    #[test]
    fn a_login_session_expires_on_wall_time_whatever_the_servers_clock() {
        let session = |expires_at: Timestamp| ApiToken {
            hash: String::new(),
            principal: "user:x".into(),
            role: ROLE_SESSION.into(),
            label: String::new(),
            created_at: Timestamp::UNIX_EPOCH,
            expires_at: Some(expires_at),
            revoked_at: None,
        };
        let wall = Timestamp::now();
        let far_future: Timestamp = "2099-01-01T00:00:00Z".parse().unwrap();
        let ended = session(wall - SignedDuration::from_mins(1));
        assert!(!token_active(&ended, Timestamp::UNIX_EPOCH));
        let open = session(wall + SignedDuration::from_hours(1));
        assert!(token_active(&open, far_future));
        let api_token = ApiToken {
            role: ROLE_API.into(),
            ..open
        };
        assert!(!token_active(&api_token, far_future), "server's clock");
    }

    #[test]
    fn the_token_hash_is_never_serialised() {
        let mut p = principal(Actor::bootstrap_admin());
        p.token_hash = "deadbeef".into();
        let json = serde_json::to_string(&p).unwrap();
        assert!(!json.contains("deadbeef"), "{json}");
        assert!(json.contains("\"credential\":\"session\""), "{json}");
    }
}
