//! Secrets and personal data at rest (issue 17): webhook signing secrets, receiving-account
//! numbers and uploaded files are stored sealed — envelope encryption with
//! XChaCha20-Poly1305: each value gets a random data key, the data key is encrypted
//! ("wrapped") under a key-encryption key (KEK) named by a key id, and the envelope carries
//! that id. Rotation: configure a new KEK first in the list (it seals from then on) and keep
//! the old ones after it (they still open what they sealed); a value is sealed under the
//! current KEK whenever it is written again, and [`Keyring::rewrap`] moves an envelope's data
//! key to the current KEK without touching the data. Values written before sealing existed
//! (plain text) still read, and are sealed the next time they are written.
//!
//! The keys come from configuration (`data_keys`: `KID:BASE64KEY[,KID:BASE64KEY…]`, the first
//! current); without one the server keeps a generated key in `data-keys` in the data
//! directory (0600) — production should supply it from a secret store instead.

use std::fmt;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};

/// Binary envelopes (files) start with this.
const MAGIC: &[u8; 4] = b"YS1\0";
/// Sealed text starts with this (then base64url of the binary envelope).
const TEXT_PREFIX: &str = "ys1:";
const NONCE: usize = 24;
const KEY: usize = 32;
/// A wrapped data key: the key and its 16-byte tag.
const WRAPPED: usize = KEY + 16;
/// The file a generated keyring is kept in, in the data directory.
pub const KEY_FILE: &str = "data-keys";

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("data_keys: {0}")]
    BadKeys(String),
    #[error("sealed with key {0:?}, which is not configured")]
    UnknownKey(String),
    #[error("a sealed value does not open (damaged, or sealed for another record)")]
    Damaged,
    #[error("cannot draw random bytes: {0}")]
    Random(String),
    #[error("{path}: {source}")]
    KeyFile {
        path: String,
        source: std::io::Error,
    },
}

/// An envelope's key id, wrap nonce, wrapped data key, and the rest (data nonce, body).
type Parts<'a> = (&'a str, &'a [u8], &'a [u8], &'a [u8]);

/// The key-encryption keys: the first seals, all open.
#[derive(Clone)]
pub struct Keyring {
    keys: Vec<(String, [u8; KEY])>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("Keyring").field("key_ids", &ids).finish()
    }
}

fn random<const N: usize>() -> Result<[u8; N], SealError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|e| SealError::Random(e.to_string()))?;
    Ok(out)
}

impl Keyring {
    /// `KID:BASE64KEY[,KID:BASE64KEY…]`, 32-byte keys, the first current.
    pub fn parse(spec: &str) -> Result<Keyring, SealError> {
        let mut keys = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (id, b64) = part
                .split_once(':')
                .ok_or_else(|| SealError::BadKeys("each key is KID:BASE64KEY".into()))?;
            let id = id.trim();
            if id.is_empty()
                || id.len() > 32
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(SealError::BadKeys(format!(
                    "key id {id:?}: 1–32 letters, digits, - or _"
                )));
            }
            let bytes = STANDARD
                .decode(b64.trim())
                .map_err(|_| SealError::BadKeys(format!("key {id:?} is not base64")))?;
            let key: [u8; KEY] = bytes
                .try_into()
                .map_err(|_| SealError::BadKeys(format!("key {id:?} is not 32 bytes")))?;
            if keys.iter().any(|(k, _)| k == id) {
                return Err(SealError::BadKeys(format!("key id {id:?} appears twice")));
            }
            keys.push((id.to_owned(), key));
        }
        if keys.is_empty() {
            return Err(SealError::BadKeys("no key".into()));
        }
        Ok(Keyring { keys })
    }

    /// A new random key named `id`, as a `data_keys` value.
    pub fn generate_spec(id: &str) -> Result<String, SealError> {
        Ok(format!("{id}:{}", STANDARD.encode(random::<KEY>()?)))
    }

    /// The keyring kept in `dir`, generated (0600) on first use. `Ok((ring, created))`.
    pub fn load_or_create(dir: &Path) -> Result<(Keyring, bool), SealError> {
        let path = dir.join(KEY_FILE);
        let io = |source| SealError::KeyFile {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(spec) => Ok((Keyring::parse(&spec)?, false)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let spec = Keyring::generate_spec("local-1")?;
                crate::kernel::private_files::write_private(&path, spec.as_bytes()).map_err(io)?;
                Ok((Keyring::parse(&spec)?, true))
            }
            Err(e) => Err(io(e)),
        }
    }

    /// The id of the key that seals.
    pub fn current_id(&self) -> &str {
        self.keys.first().map_or("", |(id, _)| id.as_str())
    }

    fn kek(&self, id: &str) -> Result<XChaCha20Poly1305, SealError> {
        self.keys
            .iter()
            .find(|(k, _)| k == id)
            .map(|(_, key)| XChaCha20Poly1305::new(key.into()))
            .ok_or_else(|| SealError::UnknownKey(id.to_owned()))
    }

    /// `plain` sealed under a new data key, bound to `context` (the record it belongs to:
    /// a sealed value moved to another record does not open).
    pub fn seal(&self, plain: &[u8], context: &[u8]) -> Result<Vec<u8>, SealError> {
        let kid = self.current_id();
        let dek: [u8; KEY] = random()?;
        let (wrap_nonce, data_nonce) = (random::<NONCE>()?, random::<NONCE>()?);
        let wrapped = self
            .kek(kid)?
            .encrypt(
                XNonce::from_slice(&wrap_nonce),
                Payload {
                    msg: &dek,
                    aad: kid.as_bytes(),
                },
            )
            .map_err(|_| SealError::Damaged)?;
        let body = XChaCha20Poly1305::new((&dek).into())
            .encrypt(
                XNonce::from_slice(&data_nonce),
                Payload {
                    msg: plain,
                    aad: context,
                },
            )
            .map_err(|_| SealError::Damaged)?;
        let mut out = Vec::with_capacity(5 + kid.len() + 2 * NONCE + WRAPPED + body.len());
        out.extend_from_slice(MAGIC);
        out.push(u8::try_from(kid.len()).map_err(|_| SealError::Damaged)?);
        out.extend_from_slice(kid.as_bytes());
        out.extend_from_slice(&wrap_nonce);
        out.extend_from_slice(&wrapped);
        out.extend_from_slice(&data_nonce);
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// The envelope's parts: key id, wrap nonce, wrapped key, the rest (data nonce, body).
    fn parts(sealed: &[u8]) -> Result<Parts<'_>, SealError> {
        let rest = sealed.strip_prefix(MAGIC).ok_or(SealError::Damaged)?;
        let (&len, rest) = rest.split_first().ok_or(SealError::Damaged)?;
        let len = usize::from(len);
        if rest.len() < len + NONCE + WRAPPED + NONCE {
            return Err(SealError::Damaged);
        }
        let (kid, rest) = rest.split_at(len);
        let kid = std::str::from_utf8(kid).map_err(|_| SealError::Damaged)?;
        let (wrap_nonce, rest) = rest.split_at(NONCE);
        let (wrapped, rest) = rest.split_at(WRAPPED);
        Ok((kid, wrap_nonce, wrapped, rest))
    }

    fn unwrap_key(&self, kid: &str, nonce: &[u8], wrapped: &[u8]) -> Result<[u8; KEY], SealError> {
        let dek = self
            .kek(kid)?
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: wrapped,
                    aad: kid.as_bytes(),
                },
            )
            .map_err(|_| SealError::Damaged)?;
        dek.try_into().map_err(|_| SealError::Damaged)
    }

    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, SealError> {
        let (kid, wrap_nonce, wrapped, rest) = Self::parts(sealed)?;
        let dek = self.unwrap_key(kid, wrap_nonce, wrapped)?;
        let (data_nonce, body) = rest.split_at(NONCE);
        XChaCha20Poly1305::new((&dek).into())
            .decrypt(
                XNonce::from_slice(data_nonce),
                Payload {
                    msg: body,
                    aad: context,
                },
            )
            .map_err(|_| SealError::Damaged)
    }

    /// Whether `bytes` is an envelope (not a value stored before sealing).
    pub fn is_sealed(bytes: &[u8]) -> bool {
        bytes.starts_with(MAGIC)
    }

    /// The envelope with its data key wrapped under the current KEK (the data untouched);
    /// `None` if it already is.
    pub fn rewrap(&self, sealed: &[u8]) -> Result<Option<Vec<u8>>, SealError> {
        let (kid, wrap_nonce, wrapped, rest) = Self::parts(sealed)?;
        let current = self.current_id();
        if kid == current {
            return Ok(None);
        }
        let dek = self.unwrap_key(kid, wrap_nonce, wrapped)?;
        let nonce: [u8; NONCE] = random()?;
        let rewrapped = self
            .kek(current)?
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &dek,
                    aad: current.as_bytes(),
                },
            )
            .map_err(|_| SealError::Damaged)?;
        let mut out = Vec::with_capacity(sealed.len());
        out.extend_from_slice(MAGIC);
        out.push(u8::try_from(current.len()).map_err(|_| SealError::Damaged)?);
        out.extend_from_slice(current.as_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&rewrapped);
        out.extend_from_slice(rest);
        Ok(Some(out))
    }

    /// `text` sealed as text (`ys1:…`), for JSON fields.
    pub fn seal_text(&self, text: &str, context: &str) -> Result<String, SealError> {
        if text.starts_with(TEXT_PREFIX) {
            return Ok(text.to_owned());
        }
        let sealed = self.seal(text.as_bytes(), context.as_bytes())?;
        Ok(format!("{TEXT_PREFIX}{}", URL_SAFE_NO_PAD.encode(sealed)))
    }

    /// The text behind `value`; a value stored before sealing is returned as it is.
    pub fn open_text(&self, value: &str, context: &str) -> Result<String, SealError> {
        let Some(b64) = value.strip_prefix(TEXT_PREFIX) else {
            return Ok(value.to_owned());
        };
        let sealed = URL_SAFE_NO_PAD
            .decode(b64)
            .map_err(|_| SealError::Damaged)?;
        String::from_utf8(self.open(&sealed, context.as_bytes())?).map_err(|_| SealError::Damaged)
    }

    /// Sealed text rewrapped under the current KEK, or plain text sealed; `None` if
    /// nothing changes.
    pub fn rewrap_text(&self, value: &str, context: &str) -> Result<Option<String>, SealError> {
        let Some(b64) = value.strip_prefix(TEXT_PREFIX) else {
            return self.seal_text(value, context).map(Some);
        };
        let sealed = URL_SAFE_NO_PAD
            .decode(b64)
            .map_err(|_| SealError::Damaged)?;
        Ok(self
            .rewrap(&sealed)?
            .map(|r| format!("{TEXT_PREFIX}{}", URL_SAFE_NO_PAD.encode(r))))
    }
}

fn file_context(id: uuid::Uuid) -> String {
    format!("file:{id}")
}

/// Stores `file` with its content sealed (size and SHA-256 stay those of the plain file).
pub async fn put_file(
    state: &crate::kernel::state::AppState,
    mut file: yunshi_store::StoredFile,
) -> Result<bool, crate::kernel::problem::Problem> {
    file.content = state
        .keys
        .seal(&file.content, file_context(file.id).as_bytes())
        .map_err(|e| crate::kernel::problem::Problem::internal(format!("sealing a file: {e}")))?;
    Ok(state.store.put_file(&file).await?)
}

/// A stored file with its content opened (a file stored before sealing as it is).
pub async fn file(
    state: &crate::kernel::state::AppState,
    id: uuid::Uuid,
) -> Result<Option<yunshi_store::StoredFile>, crate::kernel::problem::Problem> {
    let Some(mut file) = state.store.file(id).await? else {
        return Ok(None);
    };
    if Keyring::is_sealed(&file.content) {
        file.content = state
            .keys
            .open(&file.content, file_context(id).as_bytes())
            .map_err(|e| {
                crate::kernel::problem::Problem::internal(format!("file {id} does not open: {e}"))
            })?;
    }
    Ok(Some(file))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(spec: &str) -> Keyring {
        Keyring::parse(spec).unwrap()
    }

    #[test]
    fn sealed_values_open_only_with_their_key_and_record() {
        let k = ring(&Keyring::generate_spec("k1").unwrap());
        let sealed = k.seal(b"6222 0000 1234", b"payee:1").unwrap();
        assert!(!sealed.windows(4).any(|w| w == b"1234"));
        assert_eq!(k.open(&sealed, b"payee:1").unwrap(), b"6222 0000 1234");
        assert!(matches!(
            k.open(&sealed, b"payee:2"),
            Err(SealError::Damaged)
        ));
        let other = ring(&Keyring::generate_spec("k1").unwrap());
        assert!(other.open(&sealed, b"payee:1").is_err());
        let text = k.seal_text("whsec_abc", "ctx").unwrap();
        assert!(text.starts_with("ys1:") && !text.contains("whsec"));
        assert_eq!(k.open_text(&text, "ctx").unwrap(), "whsec_abc");
        assert_eq!(k.open_text("plain-legacy", "ctx").unwrap(), "plain-legacy");
    }

    #[test]
    fn key_rotation_keeps_old_records_readable_and_rewraps_them() {
        let old_spec = Keyring::generate_spec("old").unwrap();
        let old = ring(&old_spec);
        let sealed = old.seal(b"secret", b"c").unwrap();
        let text = old.seal_text("account", "t").unwrap();
        // A new KEK first, the old one kept: old records read, new ones use the new key.
        let both = ring(&format!(
            "{},{old_spec}",
            Keyring::generate_spec("new").unwrap()
        ));
        assert_eq!(both.current_id(), "new");
        assert_eq!(both.open(&sealed, b"c").unwrap(), b"secret");
        let rewrapped = both.rewrap(&sealed).unwrap().unwrap();
        assert_eq!(both.rewrap(&rewrapped).unwrap(), None);
        let text2 = both.rewrap_text(&text, "t").unwrap().unwrap();
        // Once rewrapped, the old KEK is no longer needed.
        let new_only = ring(&both_spec_first(&both));
        assert_eq!(new_only.open(&rewrapped, b"c").unwrap(), b"secret");
        assert_eq!(new_only.open_text(&text2, "t").unwrap(), "account");
        assert!(matches!(
            new_only.open(&sealed, b"c"),
            Err(SealError::UnknownKey(_))
        ));
    }

    fn both_spec_first(k: &Keyring) -> String {
        let (id, key) = &k.keys[0];
        format!("{id}:{}", STANDARD.encode(key))
    }

    #[test]
    fn bad_key_specs_are_refused() {
        assert!(Keyring::parse("").is_err());
        assert!(Keyring::parse("k1").is_err());
        assert!(Keyring::parse("k1:c2hvcnQ=").is_err());
        let one = Keyring::generate_spec("k1").unwrap();
        assert!(Keyring::parse(&format!("{one},{one}")).is_err());
    }
}
