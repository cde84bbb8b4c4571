//! Beijing time and the clock. Every business rule is judged in Beijing time (UTC+8, no
//! daylight saving), and reads "now" from a [`Clock`] passed in — never from the system.

use std::sync::{Arc, Mutex, PoisonError};

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::Offset;
use jiff::{SignedDuration, Timestamp};

/// UTC+8.
pub const BEIJING: Offset = jiff::tz::offset(8);

/// The civil date in Beijing at an instant.
pub fn beijing_date(at: Timestamp) -> Date {
    BEIJING.to_datetime(at).date()
}

/// The civil date and time in Beijing at an instant.
pub fn beijing_datetime(at: Timestamp) -> DateTime {
    BEIJING.to_datetime(at)
}

/// The instant at a Beijing civil date and time. Total: UTC+8 has no gaps or folds.
pub fn beijing_instant(date: Date, time: Time) -> Result<Timestamp, jiff::Error> {
    BEIJING.to_timestamp(date.to_datetime(time))
}

/// Beijing midnight that starts `date` (the "24:00" of the day before).
pub fn start_of_day(date: Date) -> Result<Timestamp, jiff::Error> {
    beijing_instant(date, Time::midnight())
}

/// Where "now" comes from. The server passes a system clock; tests and the simulator pass a
/// [`SimulatedClock`] and move it explicitly.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;

    /// The simulated clock behind this one, if it is one (so that it can be moved).
    fn simulated(&self) -> Option<&SimulatedClock> {
        None
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    #[error("the simulated clock cannot go back: it is {now}, asked for {target}")]
    Backwards { now: Timestamp, target: Timestamp },
    #[error("cannot advance the clock by a negative duration")]
    NegativeDuration,
    #[error("time out of range")]
    OutOfRange,
}

/// A clock that stands still until told to move, and only moves forward. Clones share the
/// same time.
#[derive(Debug, Clone)]
pub struct SimulatedClock {
    now: Arc<Mutex<Timestamp>>,
}

impl SimulatedClock {
    pub fn starting_at(start: Timestamp) -> Self {
        Self {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// Moves the clock to `target`; moving backwards is refused.
    pub fn set(&self, target: Timestamp) -> Result<(), ClockError> {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        if target < *now {
            return Err(ClockError::Backwards { now: *now, target });
        }
        *now = target;
        Ok(())
    }

    pub fn advance(&self, by: SignedDuration) -> Result<Timestamp, ClockError> {
        if by.is_negative() {
            return Err(ClockError::NegativeDuration);
        }
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now = now.checked_add(by).map_err(|_| ClockError::OutOfRange)?;
        Ok(*now)
    }
}

impl Clock for SimulatedClock {
    fn now(&self) -> Timestamp {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn simulated(&self) -> Option<&SimulatedClock> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, time};

    #[test]
    fn beijing_day_starts_at_sixteen_utc_the_day_before() {
        let midnight = start_of_day(date(2026, 3, 31)).unwrap();
        assert_eq!(midnight.to_string(), "2026-03-30T16:00:00Z");
        let just_before: Timestamp = "2026-03-30T15:59:59Z".parse().unwrap();
        assert_eq!(beijing_date(just_before), date(2026, 3, 30));
        assert_eq!(beijing_date(midnight), date(2026, 3, 31));
        assert_eq!(
            beijing_instant(date(2026, 7, 1), time(9, 0, 0, 0))
                .unwrap()
                .to_string(),
            "2026-07-01T01:00:00Z"
        );
    }

    #[test]
    fn simulated_clock_moves_only_forward_and_clones_share_it() {
        let start: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let clock = SimulatedClock::starting_at(start);
        let shared = clock.clone();
        clock.advance(SignedDuration::from_hours(2)).unwrap();
        assert_eq!(shared.now(), start + SignedDuration::from_hours(2));
        assert!(matches!(
            clock.set(start),
            Err(ClockError::Backwards { .. })
        ));
        assert_eq!(
            clock.advance(SignedDuration::from_secs(-1)),
            Err(ClockError::NegativeDuration)
        );
        assert_eq!(shared.now(), start + SignedDuration::from_hours(2));
    }
}
