//! Stored deadlines and who fires them. Each feature lists the deadline kinds it owns with a
//! handler (assembled in `lib.rs`); a handler loads what the deadline is about, lets the core decide, and
//! commits the decision in a batch that also marks the deadline fired — so a deadline fires
//! exactly once even when several workers or a retry race for it.
//!
//! [`fire_due`] claims due deadlines with a lease ([`Store::claim_due_deadlines`]) and hands
//! each, in due order, to the handler of its kind. In system-clock mode a [`Worker`] started
//! by `Server::run_until` (`lib.rs`) calls it every second; several server
//! processes on one PostgreSQL share the work because a claim is a lease that no other
//! worker takes until it runs out. In simulated-clock mode nothing fires by itself: an
//! operator advances the clock ([`advance_to`]) and every deadline due up to the target fires
//! then, in due order, with the clock at its due time (deadlines of one kind due at the same
//! instant on different subjects fire together, having no order among them).
//!
//! [`Store::claim_due_deadlines`]: yunshi_store::Store::claim_due_deadlines

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::LazyLock;
use std::time::Duration;

use futures_util::{StreamExt, stream};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;
use yunshi_core::time::{Clock, ClockError};
use yunshi_store::{Deadline, DeadlineState, NewEvent, StoreError};

use crate::kernel::problem::Problem;
use crate::kernel::state::AppState;

pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<(), Problem>> + Send>>;

/// Fires one due deadline. `Deadline.id` must go into the batch's `fire` list; a
/// `DeadlineNotPending` answer means another worker fired it first, which is success.
pub type Handler = fn(AppState, Deadline) -> HandlerFuture;

/// Fires many due deadlines of one kind together: for kinds due by the thousand whose
/// effects coalesce into one batch (a popular product's sales count) or commit together
/// (a day's window ends). Same contract as [`Handler`] for each deadline.
pub type BatchHandler = fn(AppState, Vec<Deadline>) -> HandlerFuture;

/// Every feature's deadline handlers by kind, assembled once in `lib.rs`
/// (`deadline_registry`) and held in the [`AppState`].
#[derive(Clone, Default)]
pub struct Registry {
    /// One handler per kind.
    pub handlers: HashMap<&'static str, Handler>,
    /// The kinds [`fire_due`] fires in bulk. (A clock advance fires in due order through
    /// `handlers`, which also covers these kinds.)
    pub batched: HashMap<&'static str, BatchHandler>,
}

/// How long a claim keeps other workers off a deadline. Longer than any handler should take
/// (a webhook attempt times out after seconds); a crashed worker's claims free up after it.
pub const LEASE: SignedDuration = SignedDuration::from_mins(5);

/// How often the background worker looks for due deadlines.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// How many deadlines the worker claims at a time.
pub const WORKER_BATCH: u32 = 100;

/// This process's worker name in claims: `yunshi-<pid>-<random>`.
static WORKER_NAME: LazyLock<String> =
    LazyLock::new(|| format!("yunshi-{}-{}", std::process::id(), uuid::Uuid::now_v7()));

/// The instant a handler fires `deadline` at: the clock's time, but never before the
/// deadline is due (the store refuses to fire a deadline that is not yet due). Under a
/// simulated clock that is being advanced past several deadlines this is their due time.
pub fn firing_time(state: &AppState, deadline: &Deadline) -> Timestamp {
    state.clock.now().max(deadline.due_at)
}

/// What one [`fire_due`] round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FireReport {
    /// Deadlines claimed (due, pending and not leased by another worker).
    pub claimed: u32,
    /// Fired by this round's handlers.
    pub fired: u32,
    /// Already fired or cancelled by someone else meanwhile (counted as success).
    pub already_done: u32,
    /// Of a kind no handler is registered for: logged and left pending.
    pub unknown_kind: u32,
    /// Their handler failed: logged and left pending; retried once the lease runs out.
    pub failed: u32,
}

/// Claims up to `limit` deadlines due at `now` and fires each, in due order, with the
/// handler registered for its kind.
pub async fn fire_due(state: &AppState, now: Timestamp, limit: u32) -> Result<FireReport, Problem> {
    fire_due_with(state, &state.deadlines.handlers, &WORKER_NAME, now, limit).await
}

/// [`fire_due`] with the given handlers, claiming as `worker`.
pub async fn fire_due_with(
    state: &AppState,
    handlers: &HashMap<&'static str, Handler>,
    worker: &str,
    now: Timestamp,
    limit: u32,
) -> Result<FireReport, Problem> {
    let claimed = state
        .store
        .claim_due_deadlines(now, worker, LEASE, limit)
        .await?;
    let mut report = FireReport {
        claimed: u32::try_from(claimed.len()).unwrap_or(u32::MAX),
        ..FireReport::default()
    };
    let batched = &state.deadlines.batched;
    let (bulk, claimed): (Vec<Deadline>, Vec<Deadline>) = claimed.into_iter().partition(|d| {
        handlers.contains_key(d.kind.as_str()) && batched.contains_key(d.kind.as_str())
    });
    let mut by_kind: HashMap<&'static str, Vec<Deadline>> = HashMap::new();
    for deadline in bulk {
        if let Some((&kind, _)) = batched.get_key_value(deadline.kind.as_str()) {
            by_kind.entry(kind).or_default().push(deadline);
        }
    }
    for (kind, deadlines) in by_kind {
        let n = u32::try_from(deadlines.len()).unwrap_or(u32::MAX);
        let Some(handler) = batched.get(kind) else {
            continue;
        };
        match handler(state.clone(), deadlines).await {
            Ok(()) => report.fired += n,
            Err(problem) => {
                tracing::warn!(
                    %kind,
                    count = n,
                    detail = %problem.detail,
                    "bulk deadline handler failed; retried when the lease runs out"
                );
                report.failed += n;
            }
        }
    }
    for deadline in claimed {
        let Some(handler) = handlers.get(deadline.kind.as_str()) else {
            tracing::error!(
                deadline = %deadline.id,
                kind = %deadline.kind,
                subject = %deadline.subject,
                "no handler for this deadline kind; left pending"
            );
            report.unknown_kind += 1;
            continue;
        };
        let (id, kind) = (deadline.id, deadline.kind.clone());
        match handler(state.clone(), deadline).await {
            Ok(()) => report.fired += 1,
            Err(problem) => {
                // A conflict may mean another worker fired it first: then it is done.
                match state.store.deadline(id).await {
                    Ok(Some(d)) if d.state != DeadlineState::Pending => {
                        tracing::debug!(deadline = %id, %kind, "fired by another worker");
                        report.already_done += 1;
                    }
                    _ => {
                        tracing::warn!(
                            deadline = %id,
                            %kind,
                            detail = %problem.detail,
                            "deadline handler failed; retried when the lease runs out"
                        );
                        report.failed += 1;
                    }
                }
            }
        }
    }
    Ok(report)
}

/// The background worker of system-clock mode.
pub struct Worker {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Worker {
    /// Starts firing due deadlines every [`POLL_INTERVAL`] (at once again while a round
    /// finds a full batch).
    pub fn start(state: AppState) -> Worker {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            tracing::info!(worker = %*WORKER_NAME, "deadline worker started");
            loop {
                let now = state.clock.now();
                // Stopping abandons the round: whatever a handler committed stays, the rest
                // stays pending (leased for `LEASE`, then any worker takes it).
                let round = tokio::select! {
                    r = fire_due(&state, now, WORKER_BATCH) => r,
                    _ = stopped.changed() => break,
                };
                let full = match round {
                    Ok(report) => {
                        if report.claimed > 0 {
                            tracing::debug!(?report, "deadlines fired");
                        }
                        report.claimed >= WORKER_BATCH
                    }
                    Err(problem) => {
                        tracing::warn!(detail = %problem.detail, "cannot claim deadlines");
                        false
                    }
                };
                if full {
                    continue;
                }
                tokio::select! {
                    _ = tokio::time::sleep(POLL_INTERVAL) => {}
                    _ = stopped.changed() => break,
                }
            }
            tracing::info!("deadline worker stopped");
        });
        Worker { stop, task }
    }

    /// Stops the worker, abandoning the round in progress, and waits until it has.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "deadline worker ended abnormally");
        }
    }
}

/// How many of the earliest due deadlines an advance reads at a time.
const GROUP: u32 = 256;

/// How many deadlines of one group fire at once.
const FIRING: usize = 32;

/// The earliest due deadlines not passed over that an advance may fire together: the first,
/// and after it those of the same kind due at the same instant on other subjects — no order
/// holds among them (order between kinds, and within a subject, is kept). Kinds whose
/// effects coalesce (`coalesces`) take every subject: their bulk handler fires them as one.
fn same_instant_group(
    due: Vec<Deadline>,
    skipped: &HashSet<Uuid>,
    coalesces: impl Fn(&str) -> bool,
) -> Vec<Deadline> {
    let mut group: Vec<Deadline> = Vec::new();
    let mut subjects = HashSet::new();
    for deadline in due.into_iter().filter(|d| !skipped.contains(&d.id)) {
        if let Some(first) = group.first()
            && (deadline.due_at != first.due_at
                || deadline.kind != first.kind
                || (subjects.contains(&deadline.subject) && !coalesces(&first.kind)))
        {
            break;
        }
        subjects.insert(deadline.subject.clone());
        group.push(deadline);
    }
    group
}

/// The event an advance of the simulated clock records.
pub const CLOCK_ADVANCED: &str = "clock.advanced";

/// What one advance of the simulated clock did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Advance {
    /// Where the clock stood before.
    pub from: Timestamp,
    /// Where it stands now: the target.
    pub to: Timestamp,
    /// Deadlines fired, by kind.
    pub fired: BTreeMap<String, u32>,
    /// All of them.
    pub fired_total: u32,
    /// Due deadlines of a kind no handler is registered for: left pending.
    pub unknown_kind: u32,
    /// Due deadlines whose handler failed: left pending, tried again by the next advance.
    pub failed: Vec<FailedDeadline>,
}

/// A deadline whose handler failed during an advance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedDeadline {
    pub id: Uuid,
    pub kind: String,
    pub due_at: Timestamp,
    pub detail: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AdvanceError {
    #[error("the server runs on the system clock, which cannot be moved")]
    NotSimulated,
    #[error("the simulated clock cannot go back: it is {now}, asked for {target}")]
    Backwards { now: Timestamp, target: Timestamp },
    #[error("the clock cannot go that far")]
    OutOfRange,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where an advance takes the simulated clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockTarget {
    /// To this instant.
    At(Timestamp),
    /// This far past wherever the clock stands when the advance starts (after any advance
    /// it waited for).
    By(SignedDuration),
}

impl From<ClockError> for AdvanceError {
    fn from(e: ClockError) -> Self {
        match e {
            ClockError::Backwards { now, target } => AdvanceError::Backwards { now, target },
            // `advance_to` only ever sets an instant it was given.
            ClockError::NegativeDuration | ClockError::OutOfRange => AdvanceError::OutOfRange,
        }
    }
}

/// Moves the simulated clock to `target`, firing on the way every deadline that falls due
/// up to it — once each, in due order, with the clock set to each one's due time while it
/// fires, so that deadlines a firing schedules before `target` fire in this call too. Those
/// of one kind due at the same instant on different subjects fire concurrently (a day's
/// window ends all fall at one midnight).
///
/// Advances are serialised ([`ClockControl`](crate::kernel::clock::ClockControl)). Before the clock
/// moves to an instant, that instant is stored ([`crate::kernel::clock::persist`]), so a restart
/// never finds the clock behind a time it has shown. A crash between firings loses nothing
/// and repeats nothing: each deadline fires in the same transaction as its effects, the ones
/// not yet fired stay pending, and their claims hold nothing beyond the stored instant, so
/// the next advance after a restart takes them up at their due times.
pub async fn advance_to(state: &AppState, target: Timestamp) -> Result<Advance, AdvanceError> {
    advance_with(state, &state.deadlines.handlers, ClockTarget::At(target)).await
}

/// [`advance_to`] an instant or by a duration.
pub async fn advance(state: &AppState, target: ClockTarget) -> Result<Advance, AdvanceError> {
    advance_with(state, &state.deadlines.handlers, target).await
}

/// [`advance`] with the given handlers.
pub async fn advance_with(
    state: &AppState,
    handlers: &HashMap<&'static str, Handler>,
    target: ClockTarget,
) -> Result<Advance, AdvanceError> {
    let Some(clock) = state.clock.simulated() else {
        return Err(AdvanceError::NotSimulated);
    };
    let _advancing = state.clock_control.lock().await;
    let from = clock.now();
    let target = match target {
        ClockTarget::At(at) => at,
        ClockTarget::By(by) if by.is_negative() => return Err(AdvanceError::OutOfRange),
        ClockTarget::By(by) => from.checked_add(by).map_err(|_| AdvanceError::OutOfRange)?,
    };
    if target < from {
        return Err(AdvanceError::Backwards { now: from, target });
    }
    let mut report = Advance {
        from,
        to: target,
        fired: BTreeMap::new(),
        fired_total: 0,
        unknown_kind: 0,
        failed: Vec::new(),
    };
    // Due deadlines this advance cannot fire (unknown kind, failed handler); passed over.
    let mut skipped: HashSet<Uuid> = HashSet::new();
    let batched = &state.deadlines.batched;
    loop {
        let now = clock.now();
        // The earliest due deadlines not passed over: among the `skipped + GROUP` earliest,
        // at least one is not. Read, not claimed: the advance lock already keeps other
        // advances off, and a lease here would hold nothing past the stored clock.
        let limit = u32::try_from(skipped.len())
            .unwrap_or(u32::MAX)
            .saturating_add(GROUP);
        let due = state.store.due_deadlines(target, limit).await?;
        let group = same_instant_group(due, &skipped, |kind| {
            batched.contains_key(kind) && handlers.contains_key(kind)
        });
        let Some(first) = group.first() else {
            break;
        };
        let (due_at, kind) = (first.due_at, first.kind.clone());
        let at = now.max(due_at);
        if at > now {
            crate::kernel::clock::persist(&state.store, at, None).await?;
            clock.set(at)?;
        }
        let fired: Vec<(Uuid, Result<(), Problem>)> =
            if let Some(bulk) = batched.get(kind.as_str()).filter(|_| group.len() > 1) {
                let ids: Vec<Uuid> = group.iter().map(|d| d.id).collect();
                match bulk(state.clone(), group).await {
                    Ok(()) => ids.into_iter().map(|id| (id, Ok(()))).collect(),
                    Err(p) => ids.into_iter().map(|id| (id, Err(p.clone()))).collect(),
                }
            } else if let Some(&handler) = handlers.get(kind.as_str()) {
                stream::iter(group)
                    .map(|deadline| {
                        let id = deadline.id;
                        let fire = handler(state.clone(), deadline);
                        async move { (id, fire.await) }
                    })
                    .buffer_unordered(FIRING)
                    .collect()
                    .await
            } else {
                for deadline in &group {
                    tracing::error!(
                        deadline = %deadline.id,
                        kind = %deadline.kind,
                        subject = %deadline.subject,
                        "no handler for this deadline kind; left pending"
                    );
                    report.unknown_kind += 1;
                    skipped.insert(deadline.id);
                }
                continue;
            };
        for (id, result) in fired {
            match result {
                Ok(()) => {
                    *report.fired.entry(kind.clone()).or_default() += 1;
                    report.fired_total += 1;
                }
                Err(problem) => match state.store.deadline(id).await {
                    // Fired or cancelled meanwhile by someone else: done, not by us.
                    Ok(Some(d)) if d.state != DeadlineState::Pending => {}
                    _ => {
                        tracing::warn!(
                            deadline = %id,
                            %kind,
                            detail = %problem.detail,
                            "deadline handler failed; left pending for the next advance"
                        );
                        skipped.insert(id);
                        report.failed.push(FailedDeadline {
                            id,
                            kind: kind.clone(),
                            due_at,
                            detail: problem.detail.to_string(),
                        });
                    }
                },
            }
        }
    }
    let event = NewEvent {
        id: Uuid::now_v7(),
        kind: CLOCK_ADVANCED.into(),
        subject: "clock".into(),
        at: target,
        payload: serde_json::json!({
            "from": from,
            "to": target,
            "fired": report.fired,
            "unknown_kind": report.unknown_kind,
            "failed": report.failed.len(),
        }),
    };
    crate::kernel::clock::persist(&state.store, target, Some(event)).await?;
    clock.set(target)?;
    Ok(report)
}
