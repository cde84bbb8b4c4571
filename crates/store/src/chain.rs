//! The event hash chain: each event's hash covers its predecessor's hash and its own
//! content, so any edit, insertion or deletion in the audit trail shows up on verification.

use uuid::Uuid;

use crate::model::{ChainCheck, StoredEvent};

pub(crate) type Hash = [u8; 32];

/// The `prev_hash` of the first event.
pub(crate) const GENESIS: Hash = [0; 32];

/// BLAKE3 over the predecessor's hash and the event's fields, each length-prefixed so that
/// no two different events can produce the same input.
pub(crate) fn event_hash(
    prev: &Hash,
    seq: i64,
    id: Uuid,
    kind: &str,
    subject: &str,
    at_micros: i64,
    payload: &str,
) -> Hash {
    let mut h = blake3::Hasher::new();
    h.update(prev);
    h.update(&seq.to_le_bytes());
    h.update(id.as_bytes());
    for field in [kind, subject] {
        h.update(&(field.len() as u64).to_le_bytes());
        h.update(field.as_bytes());
    }
    h.update(&at_micros.to_le_bytes());
    h.update(&(payload.len() as u64).to_le_bytes());
    h.update(payload.as_bytes());
    *h.finalize().as_bytes()
}

pub(crate) fn hex(hash: &Hash) -> String {
    blake3::Hash::from_bytes(*hash).to_hex().to_string()
}

/// Walks stored events in order and finds the first that does not chain.
pub(crate) struct ChainChecker {
    prev: Hash,
    expected_seq: i64,
    events: u64,
    broken_at: Option<i64>,
}

impl Default for ChainChecker {
    fn default() -> Self {
        Self {
            prev: GENESIS,
            expected_seq: 1,
            events: 0,
            broken_at: None,
        }
    }
}

impl ChainChecker {
    /// A check that resumes after event `seq`, whose hash (hex) was verified as `head`. An
    /// unreadable `head` stands for no hash at all: the next event breaks.
    pub(crate) fn after(seq: i64, head: &str) -> Self {
        let mut prev = GENESIS;
        let readable = head.len() == 64
            && prev.iter_mut().enumerate().all(|(i, byte)| {
                head.get(2 * i..2 * i + 2)
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                    .map(|b| *byte = b)
                    .is_some()
            });
        let next = seq.saturating_add(1);
        Self {
            prev,
            expected_seq: next,
            events: 0,
            broken_at: (!readable).then_some(next),
        }
    }

    pub(crate) fn push(&mut self, e: &StoredEvent) {
        self.events += 1;
        if self.broken_at.is_some() {
            return;
        }
        let payload = e.payload.to_string();
        let want = event_hash(
            &self.prev,
            e.seq,
            e.id,
            &e.kind,
            &e.subject,
            e.at.as_microsecond(),
            &payload,
        );
        if e.seq != self.expected_seq || e.prev_hash != hex(&self.prev) || e.hash != hex(&want) {
            self.broken_at = Some(e.seq);
        }
        self.prev = want;
        self.expected_seq = e.seq + 1;
    }

    /// The result; `recorded_head` is the (seq, hash) the backend recorded as the chain's
    /// end, if it keeps one.
    pub(crate) fn finish(self, recorded_head: Option<(i64, Hash)>) -> ChainCheck {
        let last_seq = self.expected_seq - 1;
        let broken_at = match (self.broken_at, recorded_head) {
            (Some(at), _) => Some(at),
            (None, Some((seq, hash))) if seq != last_seq || hash != self.prev => {
                Some(last_seq.min(seq) + 1)
            }
            _ => None,
        };
        ChainCheck {
            events: self.events,
            broken_at,
            head_seq: last_seq,
            head: hex(&self.prev),
        }
    }
}
