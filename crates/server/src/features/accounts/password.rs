//! Password hashing: Argon2id (RFC 9106) with the `argon2` crate's defaults — 19 MiB,
//! 2 passes, 1 lane, the OWASP baseline — stored as a PHC string, so parameters can be
//! raised later without invalidating stored hashes.
//!
//! Hashing runs on a small fixed pool of dedicated threads ([`pool_size`]), each owning one
//! Argon2 memory buffer it reuses for every hash. Hashing on the blocking pool allocated
//! 19 MiB per hash on whichever of its (growing) threads ran it; glibc kept those in one
//! arena per thread and never gave them back, so 1,000 failed logins grew the server by
//! 1.3 GB. Here the memory is `pool_size` × 19 MiB, allocated once. A bounded queue in front
//! of the pool makes a burst wait instead of piling up.

use std::sync::{LazyLock, Mutex, OnceLock, PoisonError};

use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::{mpsc, oneshot};
use yunshi_core::account::CommonPasswords;

use crate::kernel::problem::Problem;

/// The common passwords refused when a password is chosen (`common-passwords.txt`).
pub static COMMON_PASSWORDS: LazyLock<CommonPasswords> =
    LazyLock::new(|| CommonPasswords::parse(include_str!("../../../common-passwords.txt")));

/// Hashes waiting for a thread, beyond which callers wait to enqueue.
const QUEUE: usize = 64;

/// The hashing threads: one per CPU, at most 4 (each holds a 19 MiB buffer).
pub fn pool_size() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().min(4))
}

type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

struct Pool {
    jobs: Option<mpsc::Sender<Job>>,
}

static POOL: LazyLock<Pool> = LazyLock::new(start_pool);

fn start_pool() -> Pool {
    let (tx, rx) = mpsc::channel::<Job>(QUEUE);
    let rx = std::sync::Arc::new(Mutex::new(rx));
    let mut started = 0;
    for i in 0..pool_size() {
        let rx = rx.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("argon2-{i}"))
            .spawn(move || {
                let mut blocks = vec![Block::default(); Params::DEFAULT.block_count()];
                loop {
                    // The lock is held only while waiting: one idle thread takes the next job.
                    let job = rx
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .blocking_recv();
                    match job {
                        Some(job) => job(&mut blocks),
                        None => return,
                    }
                }
            });
        match spawned {
            Ok(_) => started += 1,
            Err(e) => tracing::error!(error = %e, "cannot start a password hashing thread"),
        }
    }
    Pool {
        jobs: (started > 0).then_some(tx),
    }
}

/// Runs `f` on a hashing thread with that thread's Argon2 buffer.
async fn on_pool<T: Send + 'static>(
    f: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
) -> Result<T, Problem> {
    let jobs = POOL
        .jobs
        .as_ref()
        .ok_or_else(|| Problem::internal("no password hashing thread could be started"))?;
    let (tx, rx) = oneshot::channel();
    let job: Job = Box::new(move |blocks| {
        let _ = tx.send(f(blocks));
    });
    jobs.send(job)
        .await
        .map_err(|_| Problem::internal("the password hashing threads stopped"))?;
    rx.await
        .map_err(|_| Problem::internal("a password hashing job failed"))
}

/// The Argon2 output of `password` with `argon2`'s parameters, in `blocks` (grown once if a
/// stored hash asks for more memory than the default).
fn argon2_into(
    argon2: &Argon2<'_>,
    params: &Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
    blocks: &mut Vec<Block>,
) -> Result<(), String> {
    let needed = params.block_count();
    if blocks.len() < needed {
        blocks.resize(needed, Block::default());
    }
    argon2
        .hash_password_into_with_memory(password, salt, out, &mut blocks[..needed])
        .map_err(|e| format!("argon2: {e}"))
}

fn hash_now(password: &[u8], blocks: &mut Vec<Block>) -> Result<String, String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| format!("random salt: {e}"))?;
    let params = Params::DEFAULT;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon2_into(&argon2, &params, password, &salt, &mut out, blocks)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| format!("salt: {e}"))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: (&params).try_into().map_err(|e| format!("params: {e}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| format!("output: {e}"))?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `phc`, recomputed in `blocks`.
fn verify_now(password: &[u8], phc: &str, blocks: &mut Vec<Block>) -> Result<bool, String> {
    let parsed = PasswordHash::new(phc).map_err(|e| format!("stored hash: {e}"))?;
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(|e| format!("algorithm: {e}"))?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(|e| format!("version: {e}"))?
        .unwrap_or_default();
    let params = Params::try_from(&parsed).map_err(|e| format!("params: {e}"))?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err("the stored hash has no salt or output".into());
    };
    let mut salt_bytes = [0u8; 64];
    let salt = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|e| format!("salt: {e}"))?;
    let mut out = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version, params.clone());
    argon2_into(&argon2, &params, password, salt, &mut out, blocks)?;
    // `Output`'s equality is constant-time.
    Ok(Output::new(&out).map_err(|e| format!("output: {e}"))? == expected)
}

/// A hash of a random password, verified against when the e-mail is unknown so that an
/// unknown e-mail costs as much time as a wrong password.
static DECOY: OnceLock<Option<String>> = OnceLock::new();

/// The PHC string of `password` (Argon2id, random 16-byte salt).
pub async fn hash_password(password: String) -> Result<String, Problem> {
    on_pool(move |blocks| hash_now(password.as_bytes(), blocks))
        .await?
        .map_err(Problem::internal)
}

/// Whether `password` matches the stored hash. With no hash (unknown e-mail, or a user
/// without a password) it still spends one verification, then answers false.
pub async fn verify_password(password: String, stored: Option<String>) -> Result<bool, Problem> {
    on_pool(move |blocks| {
        let real = stored.is_some();
        let phc = match stored {
            Some(h) => Some(h),
            None => DECOY
                .get_or_init(|| hash_now(b"decoy password that matches nothing", blocks).ok())
                .clone(),
        };
        let Some(phc) = phc else { return false };
        match verify_now(password.as_bytes(), &phc, blocks) {
            Ok(matches) => real && matches,
            Err(e) => {
                tracing::error!(error = %e, "a stored password hash does not verify");
                false
            }
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use argon2::PasswordVerifier;

    use super::*;

    #[tokio::test]
    async fn hashes_are_salted_argon2id_and_verify() {
        let a = hash_password("correct horse 1".into()).await.unwrap();
        let b = hash_password("correct horse 1".into()).await.unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
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

    #[tokio::test]
    async fn pool_hashes_are_what_the_argon2_crate_verifies_and_the_other_way_round() {
        use argon2::PasswordHasher;
        let ours = hash_password("Tr0ub4dor&3".into()).await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"Tr0ub4dor&3", &parsed)
                .is_ok()
        );
        // A hash made elsewhere with other parameters (more memory) verifies on the pool.
        let params = Params::new(32 * 1024, 3, 1, None).unwrap();
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"Tr0ub4dor&3", &SaltString::encode_b64(&[7; 16]).unwrap())
            .unwrap()
            .to_string();
        assert!(
            verify_password("Tr0ub4dor&3".into(), Some(theirs.clone()))
                .await
                .unwrap()
        );
        assert!(!verify_password("x".into(), Some(theirs)).await.unwrap());
    }

    #[test]
    fn the_common_password_list_is_compiled_in() {
        assert!(COMMON_PASSWORDS.len() > 3000);
        for listed in [
            "password123",
            "Password12",
            "qwerty",
            "123456789",
            "woaini1314",
        ] {
            assert!(COMMON_PASSWORDS.contains(listed), "{listed}");
        }
        // The passwords of the demo, the simulator and the tests are not on it.
        for fine in [
            "云市场 Passw0rd",
            "yunshi-demo-2026",
            "a-long-password-1",
            "Provider-0wner!",
            "Review-2026-ok",
            "another Passw0rd",
        ] {
            assert!(!COMMON_PASSWORDS.contains(fine), "{fine}");
        }
    }
}
