//! Bearer tokens: who a request acts as, and how the first operator administrator comes to
//! exist.
//!
//! Only a token's BLAKE3 hash is stored. `YUNSHI_ADMIN_TOKEN` makes a chosen secret an
//! operator administrator at every start (for automation); without it, a start that finds no
//! active administrator issues a one-time setup secret, good for 24 hours, that `/setup`
//! exchanges for an administrator token.

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use utoipa::ToSchema;
use yunshi_store::{ApiToken, Store, StoreError};

use crate::AppState;
use crate::problem::Problem;

/// Operator administrator: may do anything.
pub const ROLE_OPERATOR_ADMIN: &str = "operator_admin";
/// A one-time setup secret; good only for `/setup`, never as an API credential.
pub const ROLE_SETUP: &str = "setup";
/// The principal `YUNSHI_ADMIN_TOKEN` acts as.
pub const BOOTSTRAP_PRINCIPAL: &str = "bootstrap-admin";
/// The principal of administrator tokens issued through `/setup`.
pub const SETUP_ADMIN_PRINCIPAL: &str = "operator-admin";
/// How long a setup secret stays valid.
pub const SETUP_TOKEN_LIFETIME: SignedDuration = SignedDuration::from_hours(24);

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

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Principal {
    /// Who the token acts as.
    #[schema(example = "bootstrap-admin")]
    pub principal: String,
    /// The role granted, e.g. `operator_admin`.
    #[schema(example = "operator_admin")]
    pub role: String,
}

impl Principal {
    /// Refuses with 403 unless the caller has `role` (an operator administrator has every
    /// role).
    pub fn require(&self, role: &str) -> Result<(), Problem> {
        if self.role == role || self.role == ROLE_OPERATOR_ADMIN {
            Ok(())
        } else {
            Err(Problem::forbidden(format!("this needs the {role} role")))
        }
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

async fn authenticate(secret: &str, state: &AppState) -> Result<Principal, Problem> {
    let token = state.store.api_token(&hash_secret(secret)).await?;
    match token {
        Some(t) if t.role != ROLE_SETUP && t.is_active(state.clock.now()) => Ok(Principal {
            principal: t.principal,
            role: t.role,
        }),
        _ => Err(Problem::unauthorized(
            "the bearer token is unknown, expired or revoked",
        )),
    }
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

/// Makes sure there is a way in for an operator administrator.
pub async fn bootstrap(
    store: &Store,
    now: Timestamp,
    admin_token: Option<&str>,
) -> Result<Bootstrap, BootstrapError> {
    if let Some(secret) = admin_token {
        store
            .put_api_token(&ApiToken {
                hash: hash_secret(secret),
                principal: BOOTSTRAP_PRINCIPAL.to_owned(),
                role: ROLE_OPERATOR_ADMIN.to_owned(),
                label: "YUNSHI_ADMIN_TOKEN".to_owned(),
                created_at: now,
                expires_at: None,
                revoked_at: None,
            })
            .await?;
        return Ok(Bootstrap::AdminToken);
    }
    if store
        .has_active_token_with_role(ROLE_OPERATOR_ADMIN, now)
        .await?
    {
        return Ok(Bootstrap::AdminExists);
    }
    let secret = new_secret()?;
    let expires_at = now.saturating_add(SETUP_TOKEN_LIFETIME).unwrap_or(now);
    store
        .put_api_token(&ApiToken {
            hash: hash_secret(&secret),
            principal: "setup".to_owned(),
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
    Ok(IssuedToken {
        token: secret,
        principal: SETUP_ADMIN_PRINCIPAL.to_owned(),
        role: ROLE_OPERATOR_ADMIN.to_owned(),
    })
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

    #[test]
    fn admin_has_every_role() {
        let admin = Principal {
            principal: "a".into(),
            role: ROLE_OPERATOR_ADMIN.into(),
        };
        assert!(admin.require("finance").is_ok());
        let clerk = Principal {
            principal: "c".into(),
            role: "finance".into(),
        };
        assert!(clerk.require("finance").is_ok());
        assert_eq!(clerk.require(ROLE_OPERATOR_ADMIN).unwrap_err().status, 403);
    }
}
