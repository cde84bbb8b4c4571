//! Recently authenticated bearer tokens, so that a busy client's requests do not each read
//! its token and user from the database.
//!
//! An entry lives [`TTL`] of wall time. Revoking a token or disabling a user through this
//! server evicts its entries at once ([`crate::kernel::auth::revoke_token`],
//! [`PrincipalCache::evict_principal`]); a revocation, a disabled user or a changed password
//! written by another server process sharing the database takes effect here within [`TTL`]
//! (2 seconds): that is the bound on how long a cut-off person's tokens may still work. The token's own expiry is checked on
//! every hit against the server's clock (which may be simulated).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use jiff::Timestamp;

use crate::kernel::auth::Principal;

/// How long a cached authentication is trusted without a database read.
pub const TTL: Duration = Duration::from_secs(2);

/// Beyond this many entries the cache starts over (bounds memory under token churn).
const CAPACITY: usize = 50_000;

struct Entry {
    principal: Principal,
    /// The token's own expiry.
    expires_at: Option<Timestamp>,
    cached_at: Instant,
}

#[derive(Default)]
pub struct PrincipalCache {
    entries: Mutex<HashMap<String, Entry>>,
}

impl PrincipalCache {
    /// The principal for `token_hash`, if cached recently and the token has not expired.
    pub fn get(&self, token_hash: &str, now: Timestamp) -> Option<Principal> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = entries.get(token_hash)?;
        let fresh = entry.cached_at.elapsed() < TTL && entry.expires_at.is_none_or(|e| now < e);
        fresh.then(|| entry.principal.clone())
    }

    pub fn put(&self, principal: &Principal, expires_at: Option<Timestamp>) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(
            principal.token_hash.clone(),
            Entry {
                principal: principal.clone(),
                expires_at,
                cached_at: Instant::now(),
            },
        );
    }

    /// Forgets `token_hash` (revoked).
    pub fn evict(&self, token_hash: &str) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(token_hash);
    }

    /// Forgets every token acting as `principal` (a user disabled, its sessions revoked).
    pub fn evict_principal(&self, principal: &str) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, e| e.principal.principal != principal);
    }

    /// Forgets everything: a user's standing changed (disabled, banned, roles).
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}
