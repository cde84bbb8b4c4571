//! Yunshi's storage. One [`Store`] with two backends behind it — embedded SQLite (the
//! default) and PostgreSQL — that pass the same conformance suite (`tests/conformance`).
//!
//! Every state change goes through [`Store::commit`]: one [`WriteBatch`] becomes one
//! database transaction (events, ledger postings, deadlines, idempotency record), applied
//! whole or not at all. Ledger transactions arrive already balanced (the core refuses
//! unbalanced ones); the store adds what only it can check: that a transaction is new, that a
//! reversal reverses an existing transaction once, that a fired deadline was still pending,
//! and that an idempotency key is not reused with other parameters.

mod chain;
mod faults;
pub mod model;
mod postgres;
mod sqlite;
#[cfg(feature = "test-support")]
pub mod testing;

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use uuid::Uuid;
use yunshi_core::Fen;
use yunshi_core::ledger::{Account, AccountKind, LedgerTransaction};

pub use faults::{Fault, FaultPlan};
pub use model::*;
use yunshi_core::settlement::{ItemKind, SettlementItem};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("idempotency key {key:?} was already used with different parameters")]
    IdempotencyMismatch { key: String },
    #[error("ledger transaction {0} already exists")]
    DuplicateTransaction(Uuid),
    #[error("ledger transaction {0} does not exist")]
    UnknownTransaction(Uuid),
    #[error("ledger transaction {0} was already reversed")]
    AlreadyReversed(Uuid),
    #[error("ledger transaction {0} claims to reverse another but does not negate its lines")]
    NotAMirror(Uuid),
    #[error(
        "deadline {0} is not pending and due (already fired or cancelled, not yet due, or unknown)"
    )]
    DeadlineNotPending(Uuid),
    #[error("a deadline with key {0:?} already exists")]
    DuplicateDeadline(String),
    #[error("{kind} {id} changed since it was read (expected version {expected:?})")]
    VersionConflict {
        kind: String,
        id: Uuid,
        expected: Option<i64>,
    },
    #[error("{scope} {key:?} is already taken")]
    DuplicateKey { scope: String, key: String },
    #[error("unsupported database URL {0:?}: use a file path, sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("the store is shut down")]
    Closed,
    #[error("the database stayed busy: {0}")]
    Busy(String),
    #[error("database error: {0}")]
    Database(String),
    #[error("a total of {0} fen is beyond what one amount can hold")]
    TotalOutOfRange(i128),
}

/// A money total (summed in 128 bits) as one amount, or the typed error when it cannot be one.
pub(crate) fn fen_of_total(total: i128) -> Result<Fen, StoreError> {
    i64::try_from(total)
        .map(Fen::new)
        .map_err(|_| StoreError::TotalOutOfRange(total))
}

impl StoreError {
    /// True for conflicts caused by the caller's request, as opposed to the database failing.
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            StoreError::IdempotencyMismatch { .. }
                | StoreError::DuplicateTransaction(_)
                | StoreError::UnknownTransaction(_)
                | StoreError::AlreadyReversed(_)
                | StoreError::NotAMirror(_)
                | StoreError::DeadlineNotPending(_)
                | StoreError::DuplicateDeadline(_)
                | StoreError::VersionConflict { .. }
                | StoreError::DuplicateKey { .. }
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Sqlite,
    Postgres,
}

impl BackendKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Sqlite => "sqlite",
            BackendKind::Postgres => "postgres",
        }
    }
}

enum Backend {
    Sqlite(sqlite::SqliteStore),
    Postgres(postgres::PgStore),
}

/// A handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    backend: Arc<Backend>,
    /// Injected failures (simulation only).
    faults: Option<Arc<faults::Faults>>,
}

macro_rules! dispatch {
    ($self:ident, $b:ident => $call:expr) => {
        match &*$self.backend {
            Backend::Sqlite($b) => $call,
            Backend::Postgres($b) => $call,
        }
    };
}

impl Store {
    /// Opens the database at `url`: `postgres://…` or `postgresql://…` for PostgreSQL;
    /// `sqlite://PATH`, `sqlite:PATH` or a plain path for SQLite (the file is created).
    /// Does not migrate; call [`Store::migrate`].
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres(postgres::PgStore::open(url).await?)
        } else {
            let path = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .unwrap_or(url);
            if path.is_empty() || path.contains("://") {
                return Err(StoreError::UnsupportedUrl(url.to_string()));
            }
            Backend::Sqlite(sqlite::SqliteStore::open(path)?)
        };
        Ok(Store {
            backend: Arc::new(backend),
            faults: None,
        })
    }

    pub fn kind(&self) -> BackendKind {
        match &*self.backend {
            Backend::Sqlite(_) => BackendKind::Sqlite,
            Backend::Postgres(_) => BackendKind::Postgres,
        }
    }

    /// Brings the schema up to date. Safe to run concurrently and repeatedly.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        dispatch!(self, b => b.migrate().await)
    }

    /// A round trip to the database.
    pub async fn ping(&self) -> Result<(), StoreError> {
        dispatch!(self, b => b.ping().await)
    }

    /// This store with every commit first asking `plan` whether to fail.
    pub fn with_faults(self, plan: Arc<dyn FaultPlan>) -> Store {
        Store {
            faults: Some(Arc::new(faults::Faults::new(plan))),
            ..self
        }
    }

    /// Whether an injected crash has stopped this store's writes.
    pub fn crashed(&self) -> bool {
        self.faults.as_ref().is_some_and(|f| f.crashed())
    }

    /// Writes one batch atomically. See [`WriteBatch`].
    pub async fn commit(&self, batch: WriteBatch) -> Result<Committed, StoreError> {
        if let Some(faults) = &self.faults {
            if faults.crashed() {
                return Err(StoreError::Closed);
            }
            match faults.plan.next_commit() {
                None => {}
                Some(Fault::Busy) => {
                    return Err(StoreError::Busy("injected: database is locked".into()));
                }
                Some(Fault::Serialization) => {
                    return Err(StoreError::VersionConflict {
                        kind: "injected serialization failure".into(),
                        id: Uuid::nil(),
                        expected: None,
                    });
                }
                Some(Fault::ConnectionDropped) => {
                    return Err(StoreError::Database("injected: connection dropped".into()));
                }
                Some(Fault::CrashBeforeCommit) => {
                    faults.crash();
                    return Err(StoreError::Closed);
                }
                Some(Fault::CrashAfterCommit) => {
                    // Durable, but the answer is lost with the process.
                    let _lost = dispatch!(self, b => b.commit(batch).await);
                    faults.crash();
                    return Err(StoreError::Closed);
                }
            }
        }
        dispatch!(self, b => b.commit(batch).await)
    }

    /// Writes many batches, each atomic on its own, as few database transactions as the
    /// backend can; results come back in order. The bulk path of imports and benchmarks.
    pub async fn commit_many(
        &self,
        batches: Vec<WriteBatch>,
    ) -> Result<Vec<Result<Committed, StoreError>>, StoreError> {
        dispatch!(self, b => b.commit_many(batches).await)
    }

    pub async fn balance(&self, account: &Account) -> Result<Fen, StoreError> {
        dispatch!(self, b => b.balance(account).await)
    }

    /// Totals per account kind, over all owners.
    pub async fn balances_by_kind(&self) -> Result<Vec<(AccountKind, Fen)>, StoreError> {
        dispatch!(self, b => b.totals_by_kind().await)?
            .into_iter()
            .map(|(kind, total)| Ok((kind, fen_of_total(total)?)))
            .collect()
    }

    /// The sum of all postings: zero in a sound ledger.
    pub async fn trial_balance(&self) -> Result<i128, StoreError> {
        // Summed per account kind by the backend, then in i128 here: no overflow on the way.
        let per_kind = dispatch!(self, b => b.totals_by_kind().await)?;
        Ok(per_kind.iter().map(|(_, total)| total).sum())
    }

    /// A transaction whose postings do not sum to zero, if any: the suspect named when the
    /// trial balance is off.
    pub async fn unbalanced_transaction(&self) -> Result<Option<Uuid>, StoreError> {
        dispatch!(self, b => b.unbalanced_transaction().await)
    }

    pub async fn ledger_transaction(
        &self,
        id: Uuid,
    ) -> Result<Option<LedgerTransaction>, StoreError> {
        dispatch!(self, b => b.ledger_transaction(id).await)
    }

    /// Events with `seq > after`, oldest first.
    pub async fn events_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        dispatch!(self, b => b.events_after(after, limit).await)
    }

    /// Recomputes every event hash from the first and reports the first break, if any.
    pub async fn verify_event_chain(&self) -> Result<ChainCheck, StoreError> {
        self.verify_event_chain_after(None, |_| {}).await
    }

    /// [`Self::verify_event_chain`] from a head verified before (`from`: the `head_seq` and
    /// `head` of an earlier check) instead of from the first event, showing each event read
    /// to `seen`. A `from` that is not the chain's hash at that event breaks at that event.
    pub async fn verify_event_chain_after(
        &self,
        from: Option<(i64, &str)>,
        mut seen: impl FnMut(&StoredEvent),
    ) -> Result<ChainCheck, StoreError> {
        let (mut check, mut after) = match from {
            Some((seq, head)) => (chain::ChainChecker::after(seq, head), seq),
            None => (chain::ChainChecker::default(), 0),
        };
        // The recorded head first: events cut off the end show, and events appended while
        // the walk runs do not read as a break.
        check.expect_head(dispatch!(self, b => b.chain_head().await)?);
        // The marked event itself must still be there, hashing to the mark: a mark at a
        // cut-off or rewritten event breaks there.
        if let Some((seq, hash)) = from.filter(|(seq, _)| *seq > 0) {
            let marked = self.events_after(seq - 1, 1).await?;
            if !marked
                .first()
                .is_some_and(|e| e.seq == seq && chain::is_marked(e, hash))
            {
                check.break_at(seq);
            }
        }
        loop {
            let page = self.events_after(after, 1_000).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for event in &page {
                check.push(event);
                seen(event);
            }
        }
        Ok(check.finish())
    }

    /// What was written at or after chain head `seq` (an earlier audit's mark): the audit of
    /// changes reads it beside the events, so a write without an event is not missed.
    pub async fn changes_after(&self, seq: i64) -> Result<Changes, StoreError> {
        dispatch!(self, b => b.changes_after(seq).await)
    }

    pub async fn deadline(&self, id: Uuid) -> Result<Option<Deadline>, StoreError> {
        dispatch!(self, b => b.deadline(id).await)
    }

    /// Pending deadlines due at or before `now`, earliest first, that no other worker holds:
    /// each is leased to `worker` until `now + lease`. Firing one is a [`WriteBatch`] with
    /// its id in `fire`; a lease that runs out lets another worker claim it again.
    pub async fn claim_due_deadlines(
        &self,
        now: Timestamp,
        worker: &str,
        lease: SignedDuration,
        limit: u32,
    ) -> Result<Vec<Deadline>, StoreError> {
        dispatch!(self, b => b.claim_due_deadlines(now, worker, lease, limit).await)
    }

    /// Pending deadlines due at or before `now` that no worker's lease holds, earliest first,
    /// read without claiming them: for the simulated clock's advance, which fires under its
    /// own lock and needs no lease (a claim there would only rewrite rows on every step).
    pub async fn due_deadlines(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<Deadline>, StoreError> {
        dispatch!(self, b => b.due_deadlines(now, limit).await)
    }

    /// The earliest pending deadline's due time, if any.
    pub async fn next_deadline_due(&self) -> Result<Option<Timestamp>, StoreError> {
        dispatch!(self, b => b.next_deadline_due().await)
    }

    pub async fn aggregate(
        &self,
        kind: &str,
        id: Uuid,
    ) -> Result<Option<StoredAggregate>, StoreError> {
        dispatch!(self, b => b.aggregate(kind, id).await)
    }

    /// Aggregates of a kind, filtered by owner and/or status, in id order (UUIDv7: creation
    /// order), one page after the cursor.
    pub async fn aggregates(
        &self,
        query: &AggregateQuery,
    ) -> Result<Vec<StoredAggregate>, StoreError> {
        dispatch!(self, b => b.aggregates(query).await)
    }

    /// The aggregate that holds a unique key, if any.
    pub async fn unique_key(&self, scope: &str, key: &str) -> Result<Option<Uuid>, StoreError> {
        dispatch!(self, b => b.unique_key(scope, key).await)
    }

    pub async fn idempotency_record(
        &self,
        scope: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        dispatch!(self, b => b.idempotency_record(scope, key).await)
    }

    pub async fn put_api_token(&self, token: &ApiToken) -> Result<(), StoreError> {
        dispatch!(self, b => b.put_api_token(token).await)
    }

    pub async fn api_token(&self, hash: &str) -> Result<Option<ApiToken>, StoreError> {
        dispatch!(self, b => b.api_token(hash).await)
    }

    /// Every token acting as `principal` (active, expired and revoked), oldest first.
    pub async fn api_tokens_of(&self, principal: &str) -> Result<Vec<ApiToken>, StoreError> {
        dispatch!(self, b => b.api_tokens_of(principal).await)
    }

    /// Stores an upload durably. Files never change: `false` if one with this id exists
    /// already (it is left as it was).
    pub async fn put_file(&self, file: &StoredFile) -> Result<bool, StoreError> {
        dispatch!(self, b => b.put_file(file).await)
    }

    /// The stored file `id`, with its bytes.
    pub async fn file(&self, id: Uuid) -> Result<Option<StoredFile>, StoreError> {
        dispatch!(self, b => b.file(id).await)
    }

    /// Revokes a token; false if it did not exist or was already revoked.
    pub async fn revoke_api_token(&self, hash: &str, at: Timestamp) -> Result<bool, StoreError> {
        dispatch!(self, b => b.revoke_api_token(hash, at).await)
    }

    /// Whether any unrevoked, unexpired token has the given role.
    pub async fn has_active_token_with_role(
        &self,
        role: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        dispatch!(self, b => b.has_active_token_with_role(role, now).await)
    }

    /// Settlement items, by provider, order and time (see [`ItemQuery`]).
    pub async fn settlement_items(&self, q: &ItemQuery) -> Result<Vec<SettlementItem>, StoreError> {
        dispatch!(self, b => b.settlement_items(q).await)
    }

    /// Per provider: the sums of all its settlement items.
    pub async fn item_totals(&self) -> Result<Vec<(String, ItemTotals)>, StoreError> {
        dispatch!(self, b => b.item_totals().await)
    }

    /// [`Self::item_totals`] of these providers only (those with no items absent).
    pub async fn item_totals_of(
        &self,
        providers: Vec<String>,
    ) -> Result<Vec<(String, ItemTotals)>, StoreError> {
        dispatch!(self, b => b.item_totals_of(providers).await)
    }

    /// [`Self::owner_balances`] of these owners only (owners with no postings absent).
    pub async fn owner_balances_of(
        &self,
        kind: AccountKind,
        owners: Vec<String>,
    ) -> Result<Vec<(String, Fen)>, StoreError> {
        dispatch!(self, b => b.owner_balances_of(kind, owners).await)
    }

    /// The aggregates of `kind` with these ids (those that do not exist absent), read
    /// together: the audit's look at what changed since its last run.
    pub async fn aggregates_by_ids(
        &self,
        kind: &str,
        ids: Vec<Uuid>,
    ) -> Result<Vec<StoredAggregate>, StoreError> {
        dispatch!(self, b => b.aggregates_by_ids(kind, ids).await)
    }

    /// Every aggregate of `kind` owned by one of `owners`.
    pub async fn aggregates_owned_by(
        &self,
        kind: &str,
        owners: Vec<String>,
    ) -> Result<Vec<StoredAggregate>, StoreError> {
        dispatch!(self, b => b.aggregates_owned_by(kind, owners).await)
    }

    /// The balance of every account of `kind`, by owner (owners with no postings absent).
    pub async fn owner_balances(
        &self,
        kind: AccountKind,
    ) -> Result<Vec<(String, Fen)>, StoreError> {
        dispatch!(self, b => b.owner_balances(kind).await)
    }

    /// Finishes queued writes and stops the writer. Later calls fail with `Closed`.
    pub async fn close(&self) {
        dispatch!(self, b => b.close().await)
    }
}

/// A reversal must negate its original line by line.
pub(crate) fn check_reversal(
    reversal: &LedgerTransaction,
    original: &[yunshi_core::ledger::Posting],
) -> Result<(), StoreError> {
    let mirrors = reversal.postings().len() == original.len()
        && reversal.postings().iter().zip(original).all(|(r, o)| {
            r.account == o.account && i128::from(r.amount.fen()) == -i128::from(o.amount.fen())
        });
    if mirrors {
        Ok(())
    } else {
        Err(StoreError::NotAMirror(reversal.id()))
    }
}

/// Microseconds since the Unix epoch: how instants are stored (BIGINT on both backends).
/// A stored account kind read back.
pub(crate) fn account_kind(stored: &str) -> Result<AccountKind, StoreError> {
    stored
        .parse()
        .map_err(|e| StoreError::Corrupt(format!("{e}")))
}

pub(crate) fn to_micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

pub(crate) fn from_micros(us: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_microsecond(us).map_err(|e| StoreError::Corrupt(format!("timestamp {us}: {e}")))
}

/// The columns of a settlement item, in table order.
pub(crate) const ITEM_COLUMNS: &str = "id, provider, order_id, product, kind, at, amount, fee, service_start, service_end, consignment";

/// A settlement item as both backends read it.
pub(crate) struct ItemRow {
    pub id: Uuid,
    pub provider: String,
    pub order: Uuid,
    pub product: Uuid,
    pub kind: String,
    pub at: i64,
    pub amount: i64,
    pub fee: i64,
    pub service: (Option<String>, Option<String>),
    pub consignment: bool,
}

impl ItemRow {
    pub(crate) fn into_item(self) -> Result<SettlementItem, StoreError> {
        use yunshi_core::ids::{OrderId, ProductId, ProviderId};
        let corrupt =
            |what: &str| StoreError::Corrupt(format!("settlement item {}: {what}", self.id));
        let date = |s: &str| {
            s.parse::<jiff::civil::Date>()
                .map_err(|_| corrupt("service date"))
        };
        let service = match &self.service {
            (Some(start), Some(end)) => Some(yunshi_core::order::ServicePeriod {
                start: date(start)?,
                end: date(end)?,
            }),
            _ => None,
        };
        Ok(SettlementItem {
            id: self.id,
            order: OrderId(self.order),
            provider: self
                .provider
                .parse::<ProviderId>()
                .map_err(|_| corrupt("provider"))?,
            product: ProductId(self.product),
            kind: ItemKind::parse(&self.kind).ok_or_else(|| corrupt("kind"))?,
            at: from_micros(self.at)?,
            amount: Fen::new(self.amount),
            fee: Fen::new(self.fee),
            service,
            consignment: self.consignment,
        })
    }
}

/// The `WHERE … ORDER BY` of an [`ItemQuery`] with numbered (`$1`, PostgreSQL) or bare (`?`,
/// SQLite) placeholders, and its arguments in order.
pub(crate) fn item_filter(q: &ItemQuery, numbered: bool) -> (String, Vec<ItemArg>) {
    let mut sql = String::from(" WHERE TRUE");
    let mut args = Vec::new();
    let mut arg = |sql: &mut String, a: ItemArg| {
        args.push(a);
        if numbered {
            sql.push_str(&format!("${}", args.len()));
        } else {
            sql.push('?');
        }
    };
    if let Some((from, to)) = &q.providers {
        sql.push_str(" AND provider >= ");
        arg(&mut sql, ItemArg::Text(from.clone()));
        sql.push_str(" AND provider <= ");
        arg(&mut sql, ItemArg::Text(to.clone()));
    }
    if let Some(order) = q.order {
        sql.push_str(" AND order_id = ");
        arg(&mut sql, ItemArg::Id(order));
    }
    if let Some((opens, cutoff)) = q.period {
        sql.push_str(" AND at < ");
        arg(&mut sql, ItemArg::Int(to_micros(cutoff)));
        sql.push_str(" AND (at >= ");
        arg(&mut sql, ItemArg::Int(to_micros(opens)));
        sql.push_str(" OR service_end > ");
        let day = yunshi_core::time::beijing_date(opens).to_string();
        arg(&mut sql, ItemArg::Text(day));
        sql.push(')');
    }
    sql.push_str(" ORDER BY provider, order_id, at");
    (sql, args)
}

pub(crate) enum ItemArg {
    Text(String),
    Id(Uuid),
    Int(i64),
}
