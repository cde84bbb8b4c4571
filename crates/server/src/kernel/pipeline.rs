//! The one write path: load an aggregate, let the core decide, write the decision as one
//! `WriteBatch` conditional on the version that was loaded, and on a lost race load and
//! decide again. Handlers only say how to decide: [`run`] and [`write`] for requests,
//! [`fire`] and its variants for deadlines, [`commit`] for kernel writes; what depends on no
//! loaded version is written by [`create`], [`record`] and [`schedule_once`], and a write
//! whose fallback after a lost race is not to decide the same again by [`commit_once`]. The
//! retry loop lives here alone, so every write gives up after the same [`MAX_ATTEMPTS`] lost
//! races; nothing outside this module calls the store's `commit`.

use std::future::Future;

use jiff::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;
use yunshi_core::decision::{IdSource, Outcome};
use yunshi_store::{
    AggregateQuery, AggregateWrite, Committed, Deadline, FiredDeadline, NewDeadline, NewEvent,
    Store, StoreError, StoredAggregate, WriteBatch,
};

use crate::kernel::deadlines::firing_time;
use crate::kernel::idempotency::mismatch;
use crate::kernel::problem::Problem;
use crate::kernel::state::AppState;

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

/// What one decision comes to.
#[derive(Debug)]
pub enum Decision<R> {
    /// Write the batch, then answer.
    Write(WriteBatch, R),
    /// Write the batch, then answer; a unique key it claims that was taken meanwhile is a
    /// lost race too, because the decision saw the key free.
    WriteKeys(WriteBatch, R),
    /// Nothing to write: answer now (a replayed request, a change that changes nothing).
    Answer(R),
    /// Write the batch (a step the decision needs committed first), then decide again; only
    /// a lost race counts against [`MAX_ATTEMPTS`].
    Step(WriteBatch),
}

/// How the retry loop ended.
enum Ended<R> {
    Answered(R),
    /// The batch's idempotency key was seen with the same request: its stored answer.
    Replayed(serde_json::Value),
    /// The store refused the batch (for a lost race: the last of [`MAX_ATTEMPTS`]).
    Refused(StoreError),
}

/// The one retry loop: decides, commits, and on a lost race decides again from a fresh load,
/// up to `max` lost races. Whatever the store refuses is handed back for the caller's
/// contract to answer.
async fn attempt<R, E, F, Fut>(store: &Store, max: u32, mut decide: F) -> Result<Ended<R>, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Decision<R>, E>>,
{
    let mut lost = 0;
    loop {
        let (batch, answer, keys_race) = match decide().await? {
            Decision::Answer(answer) => return Ok(Ended::Answered(answer)),
            Decision::Write(batch, answer) => (batch, Some(answer), false),
            Decision::WriteKeys(batch, answer) => (batch, Some(answer), true),
            Decision::Step(batch) => (batch, None, false),
        };
        let refused = match store.commit(batch).await {
            Ok(Committed::Applied { .. }) => match answer {
                Some(answer) => return Ok(Ended::Answered(answer)),
                None => continue,
            },
            Ok(Committed::Replayed { response }) => return Ok(Ended::Replayed(response)),
            Err(e) => e,
        };
        lost += 1;
        if !lost_race(&refused, keys_race) || lost >= max {
            return Ok(Ended::Refused(refused));
        }
    }
}

/// Whether the store refused a batch because what it was decided from changed meanwhile;
/// with `keys`, also because a unique key it claims was taken meanwhile.
pub fn lost_race(e: &StoreError, keys: bool) -> bool {
    match e {
        StoreError::VersionConflict { .. } => true,
        StoreError::DuplicateKey { .. } => keys,
        _ => false,
    }
}

/// Writes a batch decided from no loaded version — new aggregates under fresh ids, events,
/// claimed unique or idempotency keys: there is no race to lose and decide again, so the
/// store's answer (applied, a replay of the idempotency key, a key taken) is the caller's.
pub async fn create(store: &Store, batch: WriteBatch) -> Result<Committed, StoreError> {
    store.commit(batch).await
}

/// Appends the events of an act that changes no aggregate (a sign-in, a read of protected
/// material) to the audit trail.
pub async fn record(store: &Store, outcome: Outcome, at: Timestamp) -> Result<(), StoreError> {
    let mut batch = WriteBatch::default();
    add_outcome(&mut batch, outcome, at);
    create(store, batch).await.map(|_| ())
}

/// Stores deadlines that recur or are set up once (their dedupe keys); one already stored
/// is the same success.
pub async fn schedule_once(store: &Store, deadlines: Vec<NewDeadline>) -> Result<(), Problem> {
    let batch = WriteBatch {
        schedule: deadlines,
        ..WriteBatch::default()
    };
    match store.commit(batch).await {
        Ok(_) | Err(StoreError::DuplicateDeadline(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Commits a batch decided from loaded versions once, for a caller whose answer to a lost
/// race is not to decide the same again (a declined charge left to its reconciliation, a
/// bulk write whose items are then written alone): `false` when the race was lost (with
/// `keys`, also to a unique key taken meanwhile).
pub async fn commit_once(store: &Store, batch: WriteBatch, keys: bool) -> Result<bool, Problem> {
    match store.commit(batch).await {
        Ok(_) => Ok(true),
        Err(e) if lost_race(&e, keys) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// A stored answer read back as `R`.
fn read_answer<R: DeserializeOwned>(response: serde_json::Value) -> Result<R, Problem> {
    serde_json::from_value(response)
        .map_err(|e| Problem::internal(format!("stored answer does not read back: {e}")))
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
    let ended = attempt(store, MAX_ATTEMPTS, || {
        let decided = decide();
        async move {
            let (batch, answer) = decided.await?;
            Ok::<_, Problem>(Decision::Write(batch, answer))
        }
    })
    .await?;
    match ended {
        Ended::Answered(answer) => Ok(answer),
        Ended::Replayed(response) => read_answer(response),
        Ended::Refused(e) => Err(e.into()),
    }
}

/// [`run`] for decisions that may answer without writing or write a step first
/// ([`Decision`]). A reused idempotency key with another request is the 422 of
/// [`mismatch`], as the key's own check answers it.
pub async fn write<R, F, Fut>(store: &Store, decide: F) -> Result<R, Problem>
where
    R: DeserializeOwned,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Decision<R>, Problem>>,
{
    match attempt(store, MAX_ATTEMPTS, decide).await? {
        Ended::Answered(answer) => Ok(answer),
        Ended::Replayed(response) => read_answer(response),
        Ended::Refused(e) => Err(mismatch(&e).unwrap_or_else(|| e.into())),
    }
}

/// Commits the batch `decide` builds, deciding again after a lost race, with the store's
/// own errors: for kernel writes below the HTTP layer (the stored clock).
pub async fn commit<E, F, Fut>(store: &Store, mut decide: F) -> Result<(), E>
where
    E: From<StoreError>,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<WriteBatch, E>>,
{
    let ended = attempt(store, MAX_ATTEMPTS, || {
        let decided = decide();
        async move { Ok::<_, E>(Decision::Write(decided.await?, ())) }
    })
    .await?;
    match ended {
        Ended::Answered(()) | Ended::Replayed(_) => Ok(()),
        Ended::Refused(e) => Err(e.into()),
    }
}

/// Fires `deadline`: `decide` gets the firing instant ([`firing_time`], taken again at each
/// attempt) and returns what the deadline changes (an empty batch: nothing), which commits
/// with the deadline marked fired. Another worker having fired it first is success.
pub async fn fire<F, Fut>(state: &AppState, deadline: &Deadline, decide: F) -> Result<(), Problem>
where
    F: FnMut(Timestamp) -> Fut,
    Fut: Future<Output = Result<WriteBatch, Problem>>,
{
    fire_together(state, std::slice::from_ref(deadline), MAX_ATTEMPTS, decide).await
}

/// [`fire`] with the mark `fired` taken once, before work (a webhook call) that the decision
/// records as happening then, and with an answer given when this call's batch committed:
/// `None` when another worker fired the deadline first.
pub async fn fire_at<A, F, Fut>(
    state: &AppState,
    fired: FiredDeadline,
    decide: F,
) -> Result<Option<A>, Problem>
where
    F: FnMut(Timestamp) -> Fut,
    Fut: Future<Output = Result<(WriteBatch, A), Problem>>,
{
    firing(state, MAX_ATTEMPTS, || vec![fired], decide).await
}

/// Fires a deadline whose work is done (or moot) and nothing else.
pub async fn fire_only(state: &AppState, fired: FiredDeadline) -> Result<(), Problem> {
    fire_at(state, fired, |_| async { Ok((WriteBatch::default(), ())) })
        .await
        .map(|_| ())
}

/// Fires a recurring check's deadline with its next one; a next one already stored (the
/// check started again by hand, or by an approval) fires this one alone.
pub async fn fire_and_schedule(
    state: &AppState,
    fired: FiredDeadline,
    next: Option<NewDeadline>,
) -> Result<(), Problem> {
    let batch = WriteBatch {
        fire: vec![fired],
        schedule: next.into_iter().collect(),
        ..WriteBatch::default()
    };
    match state.store.commit(batch).await {
        Ok(_) | Err(StoreError::DeadlineNotPending(_)) => Ok(()),
        Err(StoreError::DuplicateDeadline(_)) => fire_only(state, fired).await,
        Err(e) => Err(e.into()),
    }
}

/// Fires many deadlines in one batch, decided at the latest of their firing times, giving
/// up after `max_lost` lost races (a hot aggregate that many workers update may need more
/// than [`MAX_ATTEMPTS`]). Of several, one fired meanwhile by another worker refuses the
/// batch: the caller then fires each alone.
pub async fn fire_together<F, Fut>(
    state: &AppState,
    deadlines: &[Deadline],
    max_lost: u32,
    mut decide: F,
) -> Result<(), Problem>
where
    F: FnMut(Timestamp) -> Fut,
    Fut: Future<Output = Result<WriteBatch, Problem>>,
{
    let marks = || {
        deadlines
            .iter()
            .map(|d| FiredDeadline {
                id: d.id,
                at: firing_time(state, d),
            })
            .collect()
    };
    firing(state, max_lost, marks, |now| with_nothing(decide(now)))
        .await
        .map(|_| ())
}

/// A decided batch with no answer.
async fn with_nothing(
    decided: impl Future<Output = Result<WriteBatch, Problem>>,
) -> Result<(WriteBatch, ()), Problem> {
    Ok((decided.await?, ()))
}

/// Fires many deadlines in one round trip, each with its own batch decided at its `at` (one
/// lost race undoes no other); returns those whose batch was refused, to fire again alone.
pub async fn fire_each<'d>(
    state: &AppState,
    firings: Vec<(&'d Deadline, Timestamp, WriteBatch)>,
) -> Result<Vec<&'d Deadline>, Problem> {
    let (deadlines, batches): (Vec<_>, Vec<_>) = firings
        .into_iter()
        .map(|(deadline, at, mut batch)| {
            batch.fire.push(FiredDeadline {
                id: deadline.id,
                at,
            });
            (deadline, batch)
        })
        .unzip();
    let results = state.store.commit_many(batches).await?;
    Ok(deadlines
        .into_iter()
        .zip(results)
        .filter(|(_, r)| !matches!(r, Ok(_) | Err(StoreError::DeadlineNotPending(_))))
        .map(|(deadline, _)| deadline)
        .collect())
}

/// What every deadline firing shares: the fired marks (`marks`, at each attempt), the
/// decision at the latest of them, the retry loop, and a lone deadline fired by another
/// worker meaning done.
async fn firing<A, M, F, Fut>(
    state: &AppState,
    max_lost: u32,
    mut marks: M,
    mut decide: F,
) -> Result<Option<A>, Problem>
where
    M: FnMut() -> Vec<FiredDeadline>,
    F: FnMut(Timestamp) -> Fut,
    Fut: Future<Output = Result<(WriteBatch, A), Problem>>,
{
    let mut lone = false;
    let ended = attempt(&state.store, max_lost, || {
        let fired = marks();
        lone = fired.len() == 1;
        let now = fired
            .iter()
            .map(|f| f.at)
            .max()
            .unwrap_or_else(|| state.clock.now());
        let decided = decide(now);
        async move {
            let (mut batch, answer) = decided.await?;
            batch.fire.extend(fired);
            Ok::<_, Problem>(Decision::Write(batch, Some(answer)))
        }
    })
    .await?;
    match ended {
        Ended::Answered(answer) => Ok(answer),
        // A firing claims no idempotency key: nothing of this call was applied.
        Ended::Replayed(_) => Ok(None),
        Ended::Refused(StoreError::DeadlineNotPending(_)) if lone => Ok(None),
        Ended::Refused(e) => Err(e.into()),
    }
}
