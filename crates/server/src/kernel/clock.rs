//! The machine's clock. The core never reads the system time; the server hands it this (or a
//! simulated clock) as the one source of "now".
//!
//! A simulated clock survives restarts: its instant is stored as the `clock` aggregate
//! ([`persist`]) before it moves there, and a server starting in simulated mode continues
//! from the stored instant ([`restore`]) unless `--start` is later.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use yunshi_core::time::{Clock, SimulatedClock};
use yunshi_store::{AggregateWrite, NewEvent, Store, StoreError, WriteBatch};

/// Reads the operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// The aggregate kind that stores the simulated clock's instant.
pub const CLOCK_AGGREGATE: &str = "clock";

/// The one `clock` aggregate's id.
pub const CLOCK_ID: Uuid = Uuid::from_u128(0x0000_0000_0000_7000_8000_00c1_0c00_0001);

/// What the `clock` aggregate holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredClock {
    /// The simulated instant the clock has reached (or is about to reach).
    pub now: Timestamp,
}

/// Serialises the moves of a simulated clock: one advance at a time per server.
#[derive(Debug, Default)]
pub struct ClockControl {
    advancing: tokio::sync::Mutex<()>,
}

impl ClockControl {
    /// Waits for any other advance to finish; the guard keeps the clock to its holder.
    pub async fn lock(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.advancing.lock().await
    }

    /// Whether an advance holds the clock right now.
    pub fn is_advancing(&self) -> bool {
        self.advancing.try_lock().is_err()
    }
}

/// The stored simulated instant and the aggregate's version, if one was stored.
pub async fn stored(store: &Store) -> Result<Option<(StoredClock, i64)>, StoreError> {
    let Some(aggregate) = store.aggregate(CLOCK_AGGREGATE, CLOCK_ID).await? else {
        return Ok(None);
    };
    let clock: StoredClock = serde_json::from_value(aggregate.state)
        .map_err(|e| StoreError::Corrupt(format!("the stored clock: {e}")))?;
    Ok(Some((clock, aggregate.version)))
}

/// Stores `at` as the simulated clock's instant unless a later one is stored already; with
/// `event`, records it in the same batch.
pub async fn persist(
    store: &Store,
    at: Timestamp,
    event: Option<NewEvent>,
) -> Result<(), StoreError> {
    crate::kernel::pipeline::commit(store, || async {
        let current = stored(store).await?;
        let now = match current {
            Some((c, _)) if c.now > at => c.now,
            _ => at,
        };
        let state = serde_json::to_value(StoredClock { now })
            .map_err(|e| StoreError::Corrupt(format!("the stored clock: {e}")))?;
        Ok(WriteBatch {
            aggregates: vec![AggregateWrite {
                kind: CLOCK_AGGREGATE.into(),
                id: CLOCK_ID,
                expected_version: current.map(|(_, v)| v),
                owner: String::new(),
                status: "simulated".into(),
                state,
                at: now,
            }],
            events: event.iter().cloned().collect(),
            ..WriteBatch::default()
        })
    })
    .await
}

/// At start-up: moves a simulated `clock` forward to the stored instant if that is later
/// than where it starts. Returns the instant the clock is at afterwards. A system clock is
/// left alone.
pub async fn restore(store: &Store, clock: &dyn Clock) -> Result<Timestamp, StoreError> {
    let Some(simulated) = clock.simulated() else {
        return Ok(clock.now());
    };
    if let Some((stored, _)) = stored(store).await?
        && stored.now > simulated.now()
    {
        tracing::info!(
            stored = %stored.now,
            start = %simulated.now(),
            "the simulated clock continues from its stored time"
        );
        // Only forward, so this cannot be refused.
        let _ = simulated.set(stored.now);
    }
    Ok(simulated.now())
}

/// The simulated clock of `clock`, if it is one.
pub fn simulated(clock: &dyn Clock) -> Option<&SimulatedClock> {
    clock.simulated()
}
