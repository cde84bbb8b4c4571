//! Login back-off: after a number of free failures, each further failure closes the door
//! for twice as long as the last (1 s, 2 s, 4 s, … up to a cap). While it is closed no
//! password is checked, the right one included. A quiet spell forgets the failures.
//!
//! Only failures count: a client that logs in often and correctly is never slowed down.
//! The shell keeps one [`Attempts`] per e-mail and one per client address, each with its
//! own [`Backoff`].

use jiff::{SignedDuration, Timestamp};

/// A back-off schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Failures allowed before the first wait.
    pub free_failures: u32,
    /// The first wait.
    pub base: SignedDuration,
    /// The longest wait.
    pub cap: SignedDuration,
    /// After this long without a failure, the failures are forgotten.
    pub forget_after: SignedDuration,
}

impl Backoff {
    /// Per account: five tries for typos, then 1 s doubling to 15 minutes, forgotten after
    /// a quiet day. Thirty wrong passwords take over an hour and a half.
    pub const ACCOUNT: Backoff = Backoff {
        free_failures: 5,
        base: SignedDuration::from_secs(1),
        cap: SignedDuration::from_mins(15),
        forget_after: SignedDuration::from_hours(24),
    };

    /// Per client address: generous, since many people may share one (an office, a
    /// proxy), and password spraying across accounts is what it stops.
    pub const ADDRESS: Backoff = Backoff {
        free_failures: 100,
        base: SignedDuration::from_secs(1),
        cap: SignedDuration::from_mins(15),
        forget_after: SignedDuration::from_hours(1),
    };

    /// The wait after the `failures`-th consecutive failure (zero while free).
    pub fn wait_after(&self, failures: u32) -> SignedDuration {
        let Some(over) = failures.checked_sub(self.free_failures + 1) else {
            return SignedDuration::ZERO;
        };
        // 2^over seconds, saturating well before the cap's range could overflow.
        let factor = 1i32.checked_shl(over.min(30)).unwrap_or(i32::MAX);
        self.base
            .checked_mul(factor)
            .map_or(self.cap, |w| w.min(self.cap))
    }
}

/// The failures of one key (an e-mail or a client address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempts {
    pub failures: u32,
    pub last_failure: Timestamp,
    /// No password is checked before this instant.
    pub closed_until: Timestamp,
}

impl Attempts {
    /// How long the caller must still wait at `now`, if the door is closed.
    pub fn wait(&self, now: Timestamp) -> Option<SignedDuration> {
        (now < self.closed_until).then(|| self.closed_until.duration_since(now))
    }

    /// Whether the failures are old enough to forget at `now`.
    pub fn forgotten(&self, policy: &Backoff, now: Timestamp) -> bool {
        now.duration_since(self.last_failure) >= policy.forget_after
    }

    /// The attempts after one more failure at `now` (`previous`: the record so far).
    pub fn after_failure(previous: Option<Attempts>, policy: &Backoff, now: Timestamp) -> Attempts {
        let failures = match previous {
            Some(p) if !p.forgotten(policy, now) => p.failures.saturating_add(1),
            _ => 1,
        };
        Attempts {
            failures,
            last_failure: now,
            closed_until: now
                .checked_add(policy.wait_after(failures))
                .unwrap_or(Timestamp::MAX),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_second(1_775_000_000 + secs).unwrap()
    }

    #[test]
    fn the_wait_doubles_after_the_free_failures_up_to_the_cap() {
        let p = Backoff::ACCOUNT;
        let waits: Vec<i64> = (0..=12).map(|n| p.wait_after(n).as_secs()).collect();
        assert_eq!(waits, [0, 0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64]);
        assert_eq!(p.wait_after(16), SignedDuration::from_mins(15));
        assert_eq!(p.wait_after(u32::MAX), SignedDuration::from_mins(15));
        assert_eq!(Backoff::ADDRESS.wait_after(100), SignedDuration::ZERO);
        assert_eq!(Backoff::ADDRESS.wait_after(101).as_secs(), 1);
    }

    #[test]
    fn thirty_failures_as_fast_as_allowed_take_over_an_hour() {
        let p = Backoff::ACCOUNT;
        let (mut now, mut attempts) = (t(0), None::<Attempts>);
        for _ in 0..30 {
            if let Some(wait) = attempts.and_then(|a| a.wait(now)) {
                now = now.checked_add(wait).unwrap();
            }
            attempts = Some(Attempts::after_failure(attempts, &p, now));
        }
        assert!(now.duration_since(t(0)) > SignedDuration::from_hours(1));
    }

    #[test]
    fn the_door_is_closed_until_the_wait_ends_and_a_quiet_day_forgets() {
        let p = Backoff::ACCOUNT;
        let mut a = None;
        for _ in 0..6 {
            a = Some(Attempts::after_failure(a, &p, t(0)));
        }
        let a = a.unwrap();
        assert_eq!(a.wait(t(0)), Some(SignedDuration::from_secs(1)));
        assert_eq!(a.wait(t(1)), None);
        let b = Attempts::after_failure(Some(a), &p, t(1));
        assert_eq!(
            (b.failures, b.wait(t(1)).map(|w| w.as_secs())),
            (7, Some(2))
        );
        let later = Attempts::after_failure(Some(b), &p, t(86_400 + 1));
        assert_eq!((later.failures, later.wait(t(86_401))), (1, None));
    }
}
