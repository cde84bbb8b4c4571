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

/// Whether a stored event is the one a check verified as `hash` (hex): its stored hash is
/// that, and is still what its content and stored predecessor hash to.
pub(crate) fn is_marked(e: &StoredEvent, hash: &str) -> bool {
    let Ok(prev) = blake3::Hash::from_hex(&e.prev_hash) else {
        return false;
    };
    let again = event_hash(
        prev.as_bytes(),
        e.seq,
        e.id,
        &e.kind,
        &e.subject,
        e.at.as_microsecond(),
        &e.payload.to_string(),
    );
    e.hash == hash && hex(&again) == hash
}

/// Walks stored events in order and finds the first that does not chain.
pub(crate) struct ChainChecker {
    prev: Hash,
    expected_seq: i64,
    events: u64,
    broken_at: Option<i64>,
    /// The head the backend recorded, read before the walk: the walk must reach it, and
    /// with its hash (events cut off the end show here). Events appended since are walked
    /// too; they lie beyond it.
    recorded: Option<(i64, Hash)>,
}

impl Default for ChainChecker {
    fn default() -> Self {
        Self {
            prev: GENESIS,
            expected_seq: 1,
            events: 0,
            broken_at: None,
            recorded: None,
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
            recorded: None,
        }
    }

    /// The head the backend recorded, read before the first event is pushed. A head behind
    /// where the check starts means events already verified were cut off.
    pub(crate) fn expect_head(&mut self, recorded: (i64, Hash)) {
        let start = self.expected_seq - 1;
        if recorded.0 < start && self.broken_at.is_none() {
            self.broken_at = Some(recorded.0 + 1);
        }
        self.recorded = Some(recorded);
    }

    /// Records a break at `seq`, before anything found later.
    pub(crate) fn break_at(&mut self, seq: i64) {
        self.broken_at = Some(self.broken_at.map_or(seq, |at| at.min(seq)));
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
        let off_head = self
            .recorded
            .is_some_and(|(seq, hash)| seq == e.seq && hash != want);
        if e.seq != self.expected_seq
            || e.prev_hash != hex(&self.prev)
            || e.hash != hex(&want)
            || off_head
        {
            self.broken_at = Some(e.seq);
        }
        self.prev = want;
        self.expected_seq = e.seq + 1;
    }

    /// The result: the first break, or where the walk stopped short of the recorded head.
    pub(crate) fn finish(self) -> ChainCheck {
        let last_seq = self.expected_seq - 1;
        let short = self
            .recorded
            .is_some_and(|(seq, _)| seq > last_seq)
            .then_some(last_seq + 1);
        ChainCheck {
            events: self.events,
            broken_at: self.broken_at.or(short),
            head_seq: last_seq,
            head: hex(&self.prev),
        }
    }
}
