//! What a rule decides, in one shape for every lifecycle: the new state is returned by the
//! rule itself; beside it, an [`Outcome`] lists the events to record, the ledger
//! transactions to post and the deadlines to schedule or cancel. The shell writes all of it
//! in one database transaction.

use jiff::Timestamp;
use uuid::Uuid;

use crate::calendar::WorkingCalendar;
use crate::ledger::LedgerTransaction;
use crate::rulebook::MarketplaceRulebook;

/// Where new ids come from. The server uses UUIDv7; tests and the simulator use a seeded,
/// deterministic source, so the same inputs decide the same outcome byte for byte.
pub trait IdSource {
    fn next_id(&mut self) -> Uuid;
}

/// Ids 1, 2, 3, … with a fixed prefix: deterministic, for tests and simulations.
#[derive(Debug, Clone)]
pub struct SequentialIds {
    prefix: u64,
    next: u64,
}

impl SequentialIds {
    pub fn new(prefix: u64) -> Self {
        Self { prefix, next: 1 }
    }
}

impl IdSource for SequentialIds {
    fn next_id(&mut self) -> Uuid {
        let id = Uuid::from_u64_pair(self.prefix, self.next);
        self.next += 1;
        id
    }
}

/// Everything a rule may read besides the state and the command.
pub struct Context<'a> {
    pub now: Timestamp,
    pub rulebook: &'a MarketplaceRulebook,
    pub calendar: &'a WorkingCalendar,
    pub ids: &'a mut dyn IdSource,
}

/// Something that happened, for the audit trail and the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// e.g. `provider.application_submitted`.
    pub kind: String,
    /// e.g. `provider:0193…`.
    pub subject: String,
    pub payload: serde_json::Value,
}

/// A deadline to store: when it falls due, the shell fires it exactly once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineRequest {
    pub kind: String,
    pub subject: String,
    pub due_at: Timestamp,
    pub payload: serde_json::Value,
    /// Unique forever, e.g. `order:0193…:guarantee_window_end`.
    pub dedupe_key: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    pub events: Vec<Event>,
    pub transactions: Vec<LedgerTransaction>,
    pub schedule: Vec<DeadlineRequest>,
    /// Dedupe keys of pending deadlines this decision makes moot.
    pub cancel: Vec<String>,
}

impl Outcome {
    pub fn event(
        mut self,
        kind: &str,
        subject: impl Into<String>,
        payload: serde_json::Value,
    ) -> Self {
        self.events.push(Event {
            kind: kind.to_string(),
            subject: subject.into(),
            payload,
        });
        self
    }
}

/// How a refusal reads over HTTP: every domain error has a stable code and a class.
pub trait DomainRefusal: std::error::Error {
    /// Stable, snake_case, e.g. `window_closed`, `not_refundable`, `deposit_missing`.
    fn code(&self) -> &'static str;
    fn class(&self) -> RefusalClass;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalClass {
    /// The request is malformed or its values impossible (HTTP 422).
    Invalid,
    /// The request is valid but the state forbids it now (HTTP 409).
    Conflict,
    /// The actor may not do this (HTTP 403).
    Forbidden,
}
