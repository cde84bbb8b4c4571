//! Password hashing: Argon2id (RFC 9106) with the `argon2` crate's defaults — 19 MiB,
//! 2 passes, 1 lane, the OWASP baseline — stored as a PHC string, so parameters can be
//! raised later without invalidating stored hashes. Hashing runs on the blocking pool, at
//! most one per CPU at a time, so a burst of logins cannot starve the async workers or
//! exhaust memory.

use std::sync::{LazyLock, OnceLock};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use tokio::sync::Semaphore;

use crate::problem::Problem;

static HASHING: LazyLock<Semaphore> =
    LazyLock::new(|| Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())));

/// A hash of a random password, verified against when the e-mail is unknown so that an
/// unknown e-mail costs as much time as a wrong password.
static DECOY: OnceLock<Option<String>> = OnceLock::new();

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, Problem> {
    let _permit = HASHING
        .acquire()
        .await
        .map_err(|e| Problem::internal(format!("password hashing pool closed: {e}")))?;
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Problem::internal(format!("password hashing task failed: {e}")))
}

fn hash_now(password: &[u8]) -> Result<String, String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| format!("random salt: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| format!("salt: {e}"))?;
    Argon2::default()
        .hash_password(password, &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("argon2: {e}"))
}

/// The PHC string of `password` (Argon2id, random 16-byte salt).
pub async fn hash_password(password: String) -> Result<String, Problem> {
    blocking(move || hash_now(password.as_bytes()))
        .await?
        .map_err(Problem::internal)
}

/// Whether `password` matches the stored hash. With no hash (unknown e-mail, or a user
/// without a password) it still spends one verification, then answers false.
pub async fn verify_password(password: String, stored: Option<String>) -> Result<bool, Problem> {
    blocking(move || {
        let decoy = || {
            DECOY
                .get_or_init(|| hash_now(b"decoy password that matches nothing").ok())
                .clone()
        };
        let (phc, real) = match stored {
            Some(h) => (Some(h), true),
            None => (decoy(), false),
        };
        let Some(phc) = phc else { return false };
        let matches = match PasswordHash::new(&phc) {
            Ok(parsed) => Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok(),
            Err(e) => {
                tracing::error!(error = %e, "a stored password hash does not parse");
                false
            }
        };
        real && matches
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_salted_argon2id_and_verify() {
        let a = hash_password("correct horse 1".into()).await.unwrap();
        let b = hash_password("correct horse 1".into()).await.unwrap();
        assert!(a.starts_with("$argon2id$v=19$"), "{a}");
        assert_ne!(a, b, "a fresh salt every time");
        assert!(
            verify_password("correct horse 1".into(), Some(a.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify_password("correct horse 2".into(), Some(a))
                .await
                .unwrap()
        );
        assert!(!verify_password("anything".into(), None).await.unwrap());
        assert!(
            !verify_password("anything".into(), Some("not a hash".into()))
                .await
                .unwrap()
        );
    }
}
