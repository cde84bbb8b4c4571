//! Login throttling (issue 17): the core's back-off ([`Backoff`]) kept per e-mail and per
//! client address, in memory, bounded.
//!
//! The e-mail key is the address as typed, normalised when it parses, whether or not a user
//! has it, so a throttled answer says nothing about which e-mails exist. The client address
//! is the TCP peer (`X-Forwarded-For` is not trusted: anyone can send it); requests without
//! one — in-process callers such as the simulator — are throttled per e-mail only. Each
//! table holds at most [`CAPACITY`] keys: a full table first drops forgotten entries, then
//! the entry with the oldest failure. Memory is therefore bounded (a few MB) and a flood of
//! made-up e-mails cannot push out a recent target for long.
//!
//! The tables live in one process: behind a load balancer each server throttles on its own.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, PoisonError};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::StatusCode;
use axum::http::request::Parts;
use jiff::{SignedDuration, Timestamp};
use yunshi_core::account::Email;
use yunshi_core::account::throttle::{Attempts, Backoff};

use crate::kernel::problem::{ErrorCode, Problem};

/// Keys kept per table.
pub const CAPACITY: usize = 50_000;

/// The client's address, when the request came over a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

struct Table<K> {
    policy: Backoff,
    entries: HashMap<K, Attempts>,
}

impl<K: std::hash::Hash + Eq + Clone> Table<K> {
    fn new(policy: Backoff) -> Self {
        Table {
            policy,
            entries: HashMap::new(),
        }
    }

    fn wait(&self, key: &K, now: Timestamp) -> Option<SignedDuration> {
        self.entries.get(key).and_then(|a| a.wait(now))
    }

    fn fail(&mut self, key: K, now: Timestamp) {
        let previous = self.entries.get(&key).copied();
        if previous.is_none() && self.entries.len() >= CAPACITY {
            let policy = self.policy;
            self.entries.retain(|_, a| !a.forgotten(&policy, now));
            if self.entries.len() >= CAPACITY {
                let oldest = self
                    .entries
                    .iter()
                    .min_by_key(|(_, a)| a.last_failure)
                    .map(|(k, _)| k.clone());
                if let Some(oldest) = oldest {
                    self.entries.remove(&oldest);
                }
            }
        }
        self.entries
            .insert(key, Attempts::after_failure(previous, &self.policy, now));
    }
}

/// The failed logins this server has seen.
pub struct LoginThrottle {
    accounts: Mutex<Table<String>>,
    addresses: Mutex<Table<IpAddr>>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle {
            accounts: Mutex::new(Table::new(Backoff::ACCOUNT)),
            addresses: Mutex::new(Table::new(Backoff::ADDRESS)),
        }
    }
}

/// The throttle key of a typed e-mail.
fn account_key(email: &str) -> String {
    match Email::parse(email) {
        Ok(e) => e.as_str().to_owned(),
        Err(_) => email.trim().to_lowercase(),
    }
}

impl LoginThrottle {
    /// Refuses with 429 while either the e-mail or the address must wait.
    pub fn check(&self, email: &str, client: ClientAddr, now: Timestamp) -> Result<(), Problem> {
        let account = self
            .accounts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .wait(&account_key(email), now);
        let address = client.0.and_then(|ip| {
            self.addresses
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .wait(&ip, now)
        });
        match account.into_iter().chain(address).max() {
            Some(wait) => Err(too_many_attempts(wait)),
            None => Ok(()),
        }
    }

    /// Records a wrong password (or unknown e-mail) for the e-mail and the address.
    pub fn failed(&self, email: &str, client: ClientAddr, now: Timestamp) {
        self.accounts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .fail(account_key(email), now);
        if let Some(ip) = client.0 {
            self.addresses
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .fail(ip, now);
        }
    }

    /// A successful login forgets the e-mail's failures (the address keeps its own).
    pub fn succeeded(&self, email: &str) {
        self.accounts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entries
            .remove(&account_key(email));
    }
}

/// The whole seconds to wait, rounded up (at least 1; the back-off's cap is far below the
/// `u16` that keeps [`Problem`] small).
fn retry_after_secs(wait: SignedDuration) -> u16 {
    let secs = wait
        .as_secs()
        .saturating_add(i64::from(wait.subsec_nanos() > 0));
    u16::try_from(secs.max(1)).unwrap_or(u16::MAX)
}

/// 429 `too_many_attempts`, with `Retry-After`.
fn too_many_attempts(wait: SignedDuration) -> Problem {
    let secs = retry_after_secs(wait);
    Problem::coded(
        ErrorCode::TooManyRequests,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
        format!("too many failed logins; try again in {secs} s"),
    )
    .retry_after(secs)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_second(1_775_000_000 + secs).unwrap()
    }

    const HOME: ClientAddr = ClientAddr(Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))));

    #[test]
    fn one_address_spraying_many_accounts_is_throttled_per_address() {
        let throttle = LoginThrottle::default();
        for i in 0..Backoff::ADDRESS.free_failures + 1 {
            let email = format!("user{i}@example.com");
            assert!(throttle.check(&email, HOME, t(0)).is_ok());
            throttle.failed(&email, HOME, t(0));
        }
        let refused = throttle.check("fresh@example.com", HOME, t(0)).unwrap_err();
        assert_eq!((refused.status, refused.retry_after), (429, Some(1)));
        assert_eq!(refused.stable_code, "too_many_attempts");
        // Another address, and callers without one, are not held back by it.
        let elsewhere = ClientAddr(Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2))));
        assert!(throttle.check("fresh@example.com", elsewhere, t(0)).is_ok());
        assert!(
            throttle
                .check("fresh@example.com", ClientAddr(None), t(0))
                .is_ok()
        );
        assert!(throttle.check("fresh@example.com", HOME, t(1)).is_ok());
    }

    #[test]
    fn the_email_key_is_normalised_and_success_forgets_the_account_not_the_address() {
        let throttle = LoginThrottle::default();
        for _ in 0..6 {
            throttle.failed(" Wang@Example.com", HOME, t(0));
        }
        assert!(
            throttle
                .check("wang@example.com", ClientAddr(None), t(0))
                .is_err()
        );
        throttle.succeeded("WANG@example.com");
        assert!(
            throttle
                .check("wang@example.com", ClientAddr(None), t(0))
                .is_ok()
        );
        let addresses = throttle.addresses.lock().unwrap();
        assert_eq!(addresses.entries.values().next().unwrap().failures, 6);
    }

    #[test]
    fn a_full_table_drops_the_oldest_failure_first() {
        let mut table = Table::new(Backoff::ACCOUNT);
        for i in 0..CAPACITY {
            table.fail(i, t(i as i64));
        }
        table.fail(CAPACITY, t(CAPACITY as i64));
        assert_eq!(table.entries.len(), CAPACITY);
        assert!(!table.entries.contains_key(&0));
        assert!(table.entries.contains_key(&1) && table.entries.contains_key(&CAPACITY));
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(SignedDuration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(SignedDuration::from_millis(1_500)), 2);
        assert_eq!(retry_after_secs(SignedDuration::from_secs(8)), 8);
    }
}
