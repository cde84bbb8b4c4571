//! The machine's clock. The core never reads the system time; the server hands it this (or a
//! simulated clock) as the one source of "now".

use jiff::Timestamp;
use yunshi_core::time::Clock;

/// Reads the operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}
