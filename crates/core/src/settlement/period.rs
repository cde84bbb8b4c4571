//! Settlement periods (结算账期, ALI-A 4.3.1): Beijing civil dates `[start, end)` laid out by
//! the rulebook — weeks from Monday, months or quarters from `period_start_day`. A period is
//! settled at its cut-off, 00:00 Beijing on `end`.

use jiff::civil::{Date, Weekday};
use jiff::{Span, Timestamp};
use serde::{Deserialize, Serialize};

use super::error::SettlementError;
use crate::rulebook::{Settlement, SettlementPeriod};
use crate::time::{beijing_date, start_of_day};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Period {
    pub start: Date,
    /// Exclusive: the first day of the next period.
    pub end: Date,
}

fn dates<T>(r: Result<T, jiff::Error>) -> Result<T, SettlementError> {
    r.map_err(|_| SettlementError::DateOutOfRange)
}

impl Period {
    /// The period the Beijing day `day` falls in.
    pub fn containing(rule: &Settlement, day: Date) -> Result<Period, SettlementError> {
        let months = |n: i64| Span::new().months(n);
        let start_day = i8::try_from(rule.period_start_day.clamp(1, 28)).unwrap_or(1);
        let (start, length) = match rule.period {
            SettlementPeriod::Weekly => {
                let back = i64::from(day.weekday().to_monday_zero_offset());
                (
                    dates(day.checked_sub(Span::new().days(back)))?,
                    Span::new().days(7),
                )
            }
            SettlementPeriod::Monthly => {
                let this = dates(Date::new(day.year(), day.month(), start_day))?;
                let start = if day >= this {
                    this
                } else {
                    dates(this.checked_sub(months(1)))?
                };
                (start, months(1))
            }
            SettlementPeriod::Quarterly => {
                let first_month = day.month() - (day.month() - 1) % 3;
                let this = dates(Date::new(day.year(), first_month, start_day))?;
                let start = if day >= this {
                    this
                } else {
                    dates(this.checked_sub(months(3)))?
                };
                (start, months(3))
            }
        };
        debug_assert!(
            rule.period != SettlementPeriod::Weekly || start.weekday() == Weekday::Monday
        );
        Ok(Period {
            start,
            end: dates(start.checked_add(length))?,
        })
    }

    /// The period containing the instant `at`.
    pub fn of_instant(rule: &Settlement, at: Timestamp) -> Result<Period, SettlementError> {
        Self::containing(rule, beijing_date(at))
    }

    /// The last period whose cut-off is at or before `now`: the one a run now settles.
    pub fn last_ended(rule: &Settlement, now: Timestamp) -> Result<Period, SettlementError> {
        Self::of_instant(rule, now)?.previous(rule)
    }

    pub fn next(self, rule: &Settlement) -> Result<Period, SettlementError> {
        Self::containing(rule, self.end)
    }

    pub fn previous(self, rule: &Settlement) -> Result<Period, SettlementError> {
        Self::containing(rule, dates(self.start.yesterday())?)
    }

    /// 00:00 Beijing on the first day: what happened before belongs to earlier periods.
    pub fn opens_at(self) -> Result<Timestamp, SettlementError> {
        dates(start_of_day(self.start))
    }

    /// 00:00 Beijing on `end`: the cut-off at which this period is settled.
    pub fn cutoff(self) -> Result<Timestamp, SettlementError> {
        dates(start_of_day(self.end))
    }

    /// `2026-03-01`: the period's name in keys, files and URLs.
    pub fn label(self) -> String {
        self.start.to_string()
    }

    /// The periods that `[from, until)` touches, each clipped to it: the buckets a service
    /// period is amortised over by day.
    pub fn buckets(
        rule: &Settlement,
        from: Date,
        until: Date,
    ) -> Result<Vec<(Date, Date)>, SettlementError> {
        let mut out = Vec::new();
        let mut day = from;
        while day < until {
            let p = Self::containing(rule, day)?;
            let end = p.end.min(until);
            out.push((day, end));
            day = end;
        }
        Ok(out)
    }
}
