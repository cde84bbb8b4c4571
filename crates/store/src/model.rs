//! What goes into and comes out of the store.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use yunshi_core::ledger::{AccountKind, LedgerTransaction};
use yunshi_core::settlement::SettlementItem;

/// One unit of work, written in one database transaction or not at all: the events that
/// describe what happened, the ledger transactions it moved, the deadlines it schedules,
/// fires or cancels, and the idempotency record that makes a retry return the first answer.
#[derive(Debug, Clone, Default)]
pub struct WriteBatch {
    pub idempotency: Option<IdempotencyClaim>,
    pub events: Vec<NewEvent>,
    pub transactions: Vec<LedgerTransaction>,
    pub schedule: Vec<NewDeadline>,
    /// Deadlines this batch fires. Each must still be pending, or the whole batch is refused:
    /// that is what makes a deadline fire exactly once.
    pub fire: Vec<FiredDeadline>,
    /// Pending deadlines this batch makes moot (a complaint answered in time); each must
    /// still be pending.
    pub cancel: Vec<Uuid>,
    /// Deadlines, by dedupe key, this batch makes moot if they are still pending (the core
    /// names deadlines by key; one already fired or cancelled is left as it is).
    pub cancel_keys: Vec<String>,
    /// New versions of aggregates, each conditional on the version it was decided from.
    pub aggregates: Vec<AggregateWrite>,
    /// Unique business keys this batch claims.
    pub unique_keys: Vec<UniqueKey>,
    /// What of an order became settleable or was refunded after release (append-only).
    pub settlement_items: Vec<SettlementItem>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FiredDeadline {
    pub id: Uuid,
    /// The clock's time when it fired.
    pub at: Timestamp,
}

/// "If `key` was seen in `scope`, answer what was answered then; if it was seen with other
/// parameters (`fingerprint`), refuse; else apply the batch and remember `response`."
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyClaim {
    pub scope: String,
    pub key: String,
    pub fingerprint: String,
    pub response: serde_json::Value,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    pub scope: String,
    pub key: String,
    pub fingerprint: String,
    pub response: serde_json::Value,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub id: Uuid,
    /// e.g. `provider.approved`, `order.paid`.
    pub kind: String,
    /// The business object, e.g. `order:0193…`.
    pub subject: String,
    pub at: Timestamp,
    pub payload: serde_json::Value,
}

/// An event as stored: numbered, and chained to the one before by hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEvent {
    pub seq: i64,
    pub id: Uuid,
    pub kind: String,
    pub subject: String,
    pub at: Timestamp,
    pub payload: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDeadline {
    pub id: Uuid,
    /// e.g. `guarantee_window_end`, `deposit_top_up_due`.
    pub kind: String,
    pub subject: String,
    pub due_at: Timestamp,
    pub payload: serde_json::Value,
    /// At most one deadline ever per key (e.g. `order:…:window_end`): scheduling the same
    /// thing twice is refused.
    pub dedupe_key: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineState {
    Pending,
    Fired,
    Cancelled,
}

impl DeadlineState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeadlineState::Pending => "pending",
            DeadlineState::Fired => "fired",
            DeadlineState::Cancelled => "cancelled",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Fired, Self::Cancelled]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    pub id: Uuid,
    pub kind: String,
    pub subject: String,
    pub due_at: Timestamp,
    pub payload: serde_json::Value,
    pub dedupe_key: Option<String>,
    pub state: DeadlineState,
    pub fired_at: Option<Timestamp>,
}

/// What a committed batch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Committed {
    /// Applied now; the sequence numbers of its events.
    Applied { event_seqs: Vec<i64> },
    /// The idempotency key was seen before with the same parameters: nothing was applied
    /// and this is the first answer.
    Replayed { response: serde_json::Value },
}

/// A bearer token for machine clients and operator bootstrap. Only its hash is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    /// Hex of the token's BLAKE3 hash.
    pub hash: String,
    /// Who it acts as, e.g. `operator-admin`, `setup`.
    pub principal: String,
    pub role: String,
    pub label: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl ApiToken {
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| now < e)
    }
}

/// The result of walking the event hash chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainCheck {
    pub events: u64,
    /// The first event whose hash does not follow from its predecessor, if any.
    pub broken_at: Option<i64>,
    /// The last event checked and its hash (hex): where a later check can resume.
    pub head_seq: i64,
    pub head: String,
}

/// What was written at or after a chain head: the accounts its ledger transactions posted
/// to, the aggregates it wrote and the providers of its settlement items. Each write carries
/// the chain's head when it was made, so a write that appended no event is here too.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    pub accounts: Vec<(AccountKind, String)>,
    /// Kind and id of each aggregate written.
    pub aggregates: Vec<(String, Uuid)>,
    pub item_providers: Vec<String>,
}

/// The new state of one aggregate. `expected_version` is the version the decision was made
/// from (`None`: the aggregate must not exist yet); the write succeeds only if it still is,
/// and stores version `expected + 1` (or 1). A lost race is `StoreError::VersionConflict`:
/// reload and decide again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregateWrite {
    /// e.g. `provider`, `order`.
    pub kind: String,
    pub id: Uuid,
    pub expected_version: Option<i64>,
    /// Who it belongs to, for isolation and listing (a provider id, a buyer id; "" if none).
    pub owner: String,
    /// Its lifecycle state, for listing by status.
    pub status: String,
    pub state: serde_json::Value,
    pub at: Timestamp,
}

/// An aggregate as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAggregate {
    pub kind: String,
    pub id: Uuid,
    pub version: i64,
    pub owner: String,
    pub status: String,
    pub state: serde_json::Value,
    pub updated_at: Timestamp,
}

/// A unique business key: at most one aggregate ever holds `key` in `scope`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqueKey {
    pub scope: String,
    pub key: String,
    pub id: Uuid,
}

/// Which aggregates of a kind to list, oldest id first, after a cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregateQuery {
    pub kind: String,
    pub owner: Option<String>,
    pub status: Option<String>,
    /// Only ids greater than this (keyset pagination).
    pub after: Option<Uuid>,
    pub limit: u32,
}

/// A durably stored upload (an onboarding material): its bytes and what identifies them.
/// Written once by [`crate::Store::put_file`], never changed.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredFile {
    pub id: Uuid,
    /// Who uploaded it, for isolation (e.g. a provider id).
    pub owner: String,
    /// MIME type, e.g. `application/pdf`.
    pub content_type: String,
    /// SHA-256 of `content`, 64 lowercase hex digits.
    pub sha256: String,
    pub size_bytes: u64,
    pub content: Vec<u8>,
    pub created_at: Timestamp,
}

impl std::fmt::Debug for StoredFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredFile")
            .field("id", &self.id)
            .field("owner", &self.owner)
            .field("content_type", &self.content_type)
            .field("sha256", &self.sha256)
            .field("size_bytes", &self.size_bytes)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// Which settlement items to read, ordered by provider, order and time.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ItemQuery {
    /// Providers from the first to the second, inclusive (by their id's text).
    pub providers: Option<(String, String)>,
    pub order: Option<Uuid>,
    /// The items a period's statement needs, `(opens, cutoff)`: before the cut-off, and
    /// either from the opening on or of an order whose service runs past the opening day.
    pub period: Option<(Timestamp, Timestamp)>,
}

/// Per provider: the gross and fee of all its settlement items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemTotals {
    pub amount: yunshi_core::Fen,
    pub fee: yunshi_core::Fen,
}
