//! Fault injection at the storage boundary, for the simulator and fault tests: a plan
//! decides before each commit whether the database fails the way real ones do. A crash
//! leaves the store refusing every later write, as a dead process would, until the service
//! layer is restarted on a fresh [`Store`](crate::Store).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// One failure of the database, as the service layer would meet it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// The database stayed locked (SQLite `SQLITE_BUSY`); nothing was written.
    Busy,
    /// The transaction lost a race (PostgreSQL `40001`); nothing was written.
    Serialization,
    /// The connection dropped before the commit; nothing was written.
    ConnectionDropped,
    /// The process died before the commit reached the database.
    CrashBeforeCommit,
    /// The process died after the commit was durable but before anyone heard of it.
    CrashAfterCommit,
}

impl Fault {
    pub const ALL: [Fault; 5] = [
        Fault::Busy,
        Fault::Serialization,
        Fault::ConnectionDropped,
        Fault::CrashBeforeCommit,
        Fault::CrashAfterCommit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Fault::Busy => "busy",
            Fault::Serialization => "serialization",
            Fault::ConnectionDropped => "connection_dropped",
            Fault::CrashBeforeCommit => "crash_before_commit",
            Fault::CrashAfterCommit => "crash_after_commit",
        }
    }

    /// Whether the service layer must be restarted after this fault.
    pub fn is_crash(self) -> bool {
        matches!(self, Fault::CrashBeforeCommit | Fault::CrashAfterCommit)
    }
}

/// Decides, for each commit, whether it fails.
pub trait FaultPlan: Send + Sync {
    fn next_commit(&self) -> Option<Fault>;
}

/// A plan and whether it has crashed the store.
pub(crate) struct Faults {
    pub(crate) plan: Arc<dyn FaultPlan>,
    crashed: AtomicBool,
}

impl Faults {
    pub(crate) fn new(plan: Arc<dyn FaultPlan>) -> Self {
        Faults {
            plan,
            crashed: AtomicBool::new(false),
        }
    }

    pub(crate) fn crash(&self) {
        self.crashed.store(true, Ordering::SeqCst);
    }

    pub(crate) fn crashed(&self) -> bool {
        self.crashed.load(Ordering::SeqCst)
    }
}
