//! The one write path: load an aggregate, let the core decide, write the decision as one
//! `WriteBatch` conditional on the version that was loaded, and on a lost race load and
//! decide again. Handlers only say how to decide.

use std::future::Future;

use jiff::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;
use yunshi_core::decision::{IdSource, Outcome};
use yunshi_store::{
    AggregateQuery, AggregateWrite, Committed, NewDeadline, NewEvent, Store, StoreError,
    StoredAggregate, WriteBatch,
};

use crate::kernel::problem::Problem;

/// How many times a decision is retried after losing a race before giving up with 409.
pub const MAX_ATTEMPTS: u32 = 8;

/// UUIDv7 ids for everything the server creates.
#[derive(Debug, Default, Clone, Copy)]
pub struct NewIds;

impl IdSource for NewIds {
    fn next_id(&mut self) -> Uuid {
        Uuid::now_v7()
    }
}

/// An aggregate as loaded, with the version a decision about it is conditional on.
#[derive(Debug, Clone)]
pub struct Loaded<T> {
    pub id: Uuid,
    pub version: i64,
    pub owner: String,
    pub state: T,
}

/// Loads `kind`/`id` and reads its state as `T`; `None` if there is none.
pub async fn load<T: DeserializeOwned>(
    store: &Store,
    kind: &str,
    id: Uuid,
) -> Result<Option<Loaded<T>>, Problem> {
    store.aggregate(kind, id).await?.map(read_back).transpose()
}

/// Loads the aggregates of `kind` with these ids together (those that do not exist absent).
pub async fn load_many<T: DeserializeOwned>(
    store: &Store,
    kind: &str,
    ids: Vec<Uuid>,
) -> Result<Vec<Loaded<T>>, Problem> {
    store
        .aggregates_by_ids(kind, ids)
        .await?
        .into_iter()
        .map(read_back)
        .collect()
}

/// A stored aggregate's state read as `T`.
fn read_back<T: DeserializeOwned>(stored: StoredAggregate) -> Result<Loaded<T>, Problem> {
    let (kind, id) = (&stored.kind, stored.id);
    let state = serde_json::from_value(stored.state)
        .map_err(|e| Problem::internal(format!("stored {kind} {id} does not read back: {e}")))?;
    Ok(Loaded {
        id,
        version: stored.version,
        owner: stored.owner,
        state,
    })
}

/// Every aggregate of `kind` (owned by `owner`, with `status`, where given), in id order,
/// read page by page.
pub async fn all_aggregates(
    store: &Store,
    kind: &str,
    owner: Option<&str>,
    status: Option<&str>,
) -> Result<Vec<StoredAggregate>, Problem> {
    const PAGE: u32 = 200;
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .aggregates(&AggregateQuery {
                kind: kind.to_string(),
                owner: owner.map(str::to_string),
                status: status.map(str::to_string),
                after,
                limit: PAGE,
            })
            .await?;
        let full = page.len() >= PAGE as usize;
        after = page.last().map(|a| a.id);
        out.extend(page);
        if !full || after.is_none() {
            return Ok(out);
        }
    }
}

/// The write of a new state of an aggregate, conditional on `expected` (None: new).
pub fn aggregate_write<T: Serialize>(
    kind: &str,
    id: Uuid,
    expected: Option<i64>,
    owner: impl Into<String>,
    status: impl Into<String>,
    state: &T,
    at: Timestamp,
) -> Result<AggregateWrite, Problem> {
    Ok(AggregateWrite {
        kind: kind.to_string(),
        id,
        expected_version: expected,
        owner: owner.into(),
        status: status.into(),
        state: serde_json::to_value(state)
            .map_err(|e| Problem::internal(format!("{kind} state does not serialise: {e}")))?,
        at,
    })
}

/// Adds what the core decided (events, postings, deadlines) to `batch`.
pub fn add_outcome(batch: &mut WriteBatch, outcome: Outcome, at: Timestamp) {
    for e in outcome.events {
        batch.events.push(NewEvent {
            id: Uuid::now_v7(),
            kind: e.kind,
            subject: e.subject,
            at,
            payload: e.payload,
        });
    }
    batch.transactions.extend(outcome.transactions);
    for d in outcome.schedule {
        batch.schedule.push(NewDeadline {
            id: Uuid::now_v7(),
            kind: d.kind,
            subject: d.subject,
            due_at: d.due_at,
            payload: d.payload,
            dedupe_key: Some(d.dedupe_key),
        });
    }
    batch.cancel_keys.extend(outcome.cancel);
}

/// Runs `decide` (which loads what it needs and returns the batch to write plus the answer
/// to give) and commits the batch; a lost race (`VersionConflict`) runs it again from a fresh
/// load. An idempotent replay returns the answer stored with the first request.
pub async fn run<R, F, Fut>(store: &Store, mut decide: F) -> Result<R, Problem>
where
    R: DeserializeOwned,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(WriteBatch, R), Problem>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (batch, answer) = decide().await?;
        match store.commit(batch).await {
            Ok(Committed::Applied { .. }) => return Ok(answer),
            Ok(Committed::Replayed { response }) => {
                return serde_json::from_value(response).map_err(|e| {
                    Problem::internal(format!("stored answer does not read back: {e}"))
                });
            }
            Err(StoreError::VersionConflict { .. }) if attempt < MAX_ATTEMPTS => continue,
            Err(e) => return Err(e.into()),
        }
    }
}
