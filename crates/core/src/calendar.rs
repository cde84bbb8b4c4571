//! The working-day calendar (工作日): Monday–Friday, minus public holidays, plus adjusted
//! working weekends (调休), from per-year data files. Support-hours windows and rule years
//! (ALI's April–March fiscal year, JD's calendar year) live here too.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use jiff::civil::{Date, Time, Weekday};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Deserializer};

use crate::source::{KeyPath, SourceError, TomlDate, TomlSource};
use crate::time::{beijing_date, beijing_datetime, beijing_instant, start_of_day};

/// The calendar files shipped with Yunshi (see `calendars/README.md`).
const BUILTIN: &[(&str, &str)] = &[
    (
        "calendars/cn-2024.toml",
        include_str!("../../../calendars/cn-2024.toml"),
    ),
    (
        "calendars/cn-2025.toml",
        include_str!("../../../calendars/cn-2025.toml"),
    ),
    (
        "calendars/cn-2026.toml",
        include_str!("../../../calendars/cn-2026.toml"),
    ),
    (
        "calendars/cn-2027.toml",
        include_str!("../../../calendars/cn-2027.toml"),
    ),
    (
        "calendars/cn-2028.toml",
        include_str!("../../../calendars/cn-2028.toml"),
    ),
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("no working-day calendar is loaded for {year}; add one with --calendar")]
    YearNotLoaded { year: i16 },
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("date arithmetic out of range")]
    OutOfRange,
    #[error("a support-time budget cannot be negative")]
    NegativeDuration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum YearStatus {
    Official,
    /// Statutory days only; the State Council notice was not yet available.
    Provisional,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFile {
    year: i16,
    source: String,
    status: YearStatus,
    #[serde(default)]
    holiday: Vec<HolidayEntry>,
    working_days: Vec<TomlDate>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HolidayEntry {
    name: String,
    name_en: String,
    from: TomlDate,
    to: TomlDate,
}

/// One loaded year.
#[derive(Debug, Clone)]
pub struct CalendarYear {
    pub year: i16,
    pub source: String,
    pub status: YearStatus,
    /// Holiday day → name (zh-CN, en).
    holidays: BTreeMap<Date, (String, String)>,
    working_weekends: BTreeSet<Date>,
}

impl CalendarYear {
    /// Parses and validates one year file: dates inside the year, a holiday range in order,
    /// adjusted working days on weekends only and never on a holiday.
    pub fn parse(file: &str, text: &str) -> Result<Self, CalendarError> {
        let source = TomlSource::new(file, text);
        let raw: YearFile = source.deserialize()?;
        let in_year = |d: Date| d.year() == raw.year;
        let mut holidays = BTreeMap::new();
        for (i, h) in raw.holiday.iter().enumerate() {
            let at = KeyPath::root().key("holiday").index(i);
            let (from, to) = (h.from.0, h.to.0);
            if to < from {
                return Err(source
                    .error_at(&at.key("to"), "holiday ends before it starts")
                    .into());
            }
            if !in_year(from) || !in_year(to) {
                return Err(source
                    .error_at(&at.key("from"), format!("holiday outside {}", raw.year))
                    .into());
            }
            let mut day = from;
            while day <= to {
                holidays.insert(day, (h.name.clone(), h.name_en.clone()));
                day = day.tomorrow().map_err(|_| CalendarError::OutOfRange)?;
            }
        }
        let mut working_weekends = BTreeSet::new();
        for (i, &TomlDate(d)) in raw.working_days.iter().enumerate() {
            let at = KeyPath::root().key("working_days").index(i);
            if !in_year(d) {
                return Err(source
                    .error_at(&at, format!("{d} is outside {}", raw.year))
                    .into());
            }
            if !is_weekend(d) {
                return Err(source
                    .error_at(
                        &at,
                        format!("{d} is a weekday; adjusted working days are weekend days"),
                    )
                    .into());
            }
            if holidays.contains_key(&d) {
                return Err(source
                    .error_at(&at, format!("{d} is also listed as a holiday"))
                    .into());
            }
            working_weekends.insert(d);
        }
        Ok(Self {
            year: raw.year,
            source: raw.source,
            status: raw.status,
            holidays,
            working_weekends,
        })
    }

    /// The holiday's name (zh-CN, en) if `date` is a public holiday day.
    pub fn holiday(&self, date: Date) -> Option<(&str, &str)> {
        self.holidays
            .get(&date)
            .map(|(zh, en)| (zh.as_str(), en.as_str()))
    }
}

fn is_weekend(d: Date) -> bool {
    matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday)
}

/// Working days of the loaded years. Asking about any other year is an error.
#[derive(Debug, Clone, Default)]
pub struct WorkingCalendar {
    years: BTreeMap<i16, CalendarYear>,
}

impl WorkingCalendar {
    /// The calendars shipped with Yunshi.
    pub fn builtin() -> Result<Self, CalendarError> {
        let mut cal = Self::default();
        for (file, text) in BUILTIN {
            cal.load(CalendarYear::parse(file, text)?);
        }
        Ok(cal)
    }

    /// Adds a year, replacing a loaded one of the same year whole (operator overrides).
    pub fn load(&mut self, year: CalendarYear) {
        self.years.insert(year.year, year);
    }

    pub fn years(&self) -> impl Iterator<Item = &CalendarYear> {
        self.years.values()
    }

    pub fn year(&self, year: i16) -> Result<&CalendarYear, CalendarError> {
        self.years
            .get(&year)
            .ok_or(CalendarError::YearNotLoaded { year })
    }

    pub fn is_working_day(&self, date: Date) -> Result<bool, CalendarError> {
        let year = self.year(date.year())?;
        Ok(if is_weekend(date) {
            year.working_weekends.contains(&date)
        } else {
            !year.holidays.contains_key(&date)
        })
    }

    /// The `n`th working day after `date` (`date` itself does not count; `n = 0` is `date`).
    pub fn add_working_days(&self, date: Date, n: u32) -> Result<Date, CalendarError> {
        let mut day = date;
        let mut left = n;
        while left > 0 {
            day = day.tomorrow().map_err(|_| CalendarError::OutOfRange)?;
            if self.is_working_day(day)? {
                left -= 1;
            }
        }
        Ok(day)
    }

    /// `date` if it is a working day, else the next working day (holiday postponement).
    pub fn on_or_after(&self, date: Date) -> Result<Date, CalendarError> {
        let mut day = date;
        while !self.is_working_day(day)? {
            day = day.tomorrow().map_err(|_| CalendarError::OutOfRange)?;
        }
        Ok(day)
    }

    /// The deadline "within `n` working days" of a notice at `from`: the end (Beijing
    /// 24:00) of the `n`th working day after the notice's date.
    pub fn working_days_deadline(
        &self,
        from: Timestamp,
        n: u32,
    ) -> Result<Timestamp, CalendarError> {
        let last = self.add_working_days(beijing_date(from), n)?;
        let next = last.tomorrow().map_err(|_| CalendarError::OutOfRange)?;
        start_of_day(next).map_err(|_| CalendarError::OutOfRange)
    }
}

/// Which days a support-hours window is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SupportDays {
    /// Monday–Friday as the working-day calendar has them (holidays closed, 调休 open).
    WorkingDays,
    /// Monday–Friday by the weekday alone.
    MonFri,
    /// Every day of the week.
    MonSun,
}

/// A daily window such as Mon–Fri 09:00–18:00 (ALI, JD) or Mon–Sun 09:00–18:00 (TC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct SupportHours {
    pub days: SupportDays,
    #[serde(with = "hh_mm")]
    pub open: Time,
    #[serde(with = "hh_mm")]
    pub close: Time,
}

/// Times of day as written in rulebooks: "09:00".
mod hh_mm {
    use jiff::civil::Time;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Time, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{:02}:{:02}", t.hour(), t.minute()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Time, D::Error> {
        let s = String::deserialize(d)?;
        Time::strptime("%H:%M", &s)
            .map_err(|_| serde::de::Error::custom(format!("expected HH:MM, got {s:?}")))
    }
}

impl SupportHours {
    fn open_on(&self, cal: &WorkingCalendar, date: Date) -> Result<bool, CalendarError> {
        Ok(match self.days {
            SupportDays::WorkingDays => cal.is_working_day(date)?,
            SupportDays::MonFri => !is_weekend(date),
            SupportDays::MonSun => true,
        })
    }

    pub fn is_open(&self, cal: &WorkingCalendar, at: Timestamp) -> Result<bool, CalendarError> {
        let dt = beijing_datetime(at);
        Ok(self.open_on(cal, dt.date())? && dt.time() >= self.open && dt.time() < self.close)
    }

    /// The instant when `budget` of open support time has passed since `from` — "respond
    /// within 2 hours of support time". Closed time does not count.
    pub fn add_open_time(
        &self,
        cal: &WorkingCalendar,
        from: Timestamp,
        budget: SignedDuration,
    ) -> Result<Timestamp, CalendarError> {
        let oor = |_| CalendarError::OutOfRange;
        if budget.is_negative() {
            return Err(CalendarError::NegativeDuration);
        }
        let mut left = budget;
        let mut date = beijing_date(from);
        let mut cursor = from;
        // Bounded: a window that never opens would surface as YearNotLoaded at the data's end.
        loop {
            if self.open_on(cal, date)? {
                let open = beijing_instant(date, self.open).map_err(oor)?;
                let close = beijing_instant(date, self.close).map_err(oor)?;
                let start = cursor.max(open);
                if start < close {
                    let available = close.duration_since(start);
                    if left <= available {
                        return start.checked_add(left).map_err(oor);
                    }
                    left -= available;
                }
            }
            date = date.tomorrow().map_err(oor)?;
            cursor = start_of_day(date).map_err(oor)?;
        }
    }
}

/// Where a rule year starts: "04-01" for ALI's fiscal year, "01-01" for the calendar year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YearStart {
    pub month: i8,
    pub day: i8,
}

impl FromStr for YearStart {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("expected MM-DD, got {s:?}");
        let (m, d) = s.split_once('-').ok_or_else(bad)?;
        let (month, day) = (m.parse().map_err(|_| bad())?, d.parse().map_err(|_| bad())?);
        // 2023 is no leap year: 02-29 is refused, so every year has the day.
        Date::new(2023, month, day).map_err(|_| bad())?;
        Ok(Self { month, day })
    }
}

impl<'de> Deserialize<'de> for YearStart {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for YearStart {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Display for YearStart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}-{:02}", self.month, self.day)
    }
}

/// One rule year, `[start, end)`: the span in which points accumulate before they reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleYear {
    pub start: Date,
    pub end: Date,
}

impl RuleYear {
    pub fn containing(date: Date, start: YearStart) -> Result<Self, CalendarError> {
        let oor = |_| CalendarError::OutOfRange;
        let this = Date::new(date.year(), start.month, start.day).map_err(oor)?;
        let begin = if date >= this {
            this
        } else {
            this.checked_sub(jiff::Span::new().years(1)).map_err(oor)?
        };
        let end = begin.checked_add(jiff::Span::new().years(1)).map_err(oor)?;
        Ok(Self { start: begin, end })
    }

    pub fn contains(&self, date: Date) -> bool {
        self.start <= date && date < self.end
    }
}

impl fmt::Display for RuleYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let last = self.end.yesterday().unwrap_or(self.end);
        write!(f, "{}..{}", self.start, last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, time};

    fn cal() -> WorkingCalendar {
        WorkingCalendar::builtin().unwrap()
    }

    #[test]
    fn the_statutory_holidays_of_2028_are_built_in_until_its_notice() {
        let c = cal();
        // 除夕 to 初三: Tuesday 25 to Friday 28 January; back to work on Monday 31.
        for day in 25..=28 {
            assert!(!c.is_working_day(date(2028, 1, day)).unwrap(), "Jan {day}");
        }
        assert!(c.is_working_day(date(2028, 1, 24)).unwrap());
        assert_eq!(
            c.add_working_days(date(2028, 1, 24), 1).unwrap(),
            date(2028, 1, 31)
        );
        // Mid-Autumn falls on 3 October, inside National Day.
        assert!(!c.is_working_day(date(2028, 10, 3)).unwrap());
        assert!(c.is_working_day(date(2028, 10, 4)).unwrap());
        assert_eq!(c.year(2028).unwrap().status, YearStatus::Provisional);
    }

    #[test]
    fn spring_festival_2026_and_its_adjusted_working_saturdays() {
        let c = cal();
        for d in 15..=23 {
            assert!(
                !c.is_working_day(date(2026, 2, d)).unwrap(),
                "2026-02-{d} is a holiday"
            );
        }
        assert!(
            c.is_working_day(date(2026, 2, 14)).unwrap(),
            "Sat 14 Feb is 调休"
        );
        assert!(
            c.is_working_day(date(2026, 2, 28)).unwrap(),
            "Sat 28 Feb is 调休"
        );
        assert!(c.is_working_day(date(2026, 2, 24)).unwrap());
        assert!(
            !c.is_working_day(date(2026, 2, 7)).unwrap(),
            "an ordinary Saturday"
        );
        assert_eq!(
            c.year(2026).unwrap().holiday(date(2026, 2, 17)),
            Some(("春节", "Spring Festival"))
        );
    }

    #[test]
    fn national_day_2026_and_its_adjusted_working_weekends() {
        let c = cal();
        for d in 1..=7 {
            assert!(!c.is_working_day(date(2026, 10, d)).unwrap());
        }
        assert!(
            c.is_working_day(date(2026, 9, 20)).unwrap(),
            "Sun 20 Sep is 调休"
        );
        assert!(
            c.is_working_day(date(2026, 10, 10)).unwrap(),
            "Sat 10 Oct is 调休"
        );
        assert!(c.is_working_day(date(2026, 10, 8)).unwrap());
    }

    #[test]
    fn three_working_days_after_the_friday_before_spring_festival_2026() {
        // Fri 13 Feb → Sat 14 (调休) is day 1, then the holiday week, Tue 24 is day 2, Wed 25 day 3.
        assert_eq!(
            cal().add_working_days(date(2026, 2, 13), 3).unwrap(),
            date(2026, 2, 25)
        );
    }

    #[test]
    fn three_working_days_after_the_eve_of_national_day_2026() {
        // Fri 25 Sep is Mid-Autumn, so the last working day before the holiday week is Wed
        // 30 Sep: 8, 9, 10 (Sat 调休) October.
        assert_eq!(
            cal().add_working_days(date(2026, 9, 30), 3).unwrap(),
            date(2026, 10, 10)
        );
        assert_eq!(
            cal().add_working_days(date(2026, 9, 24), 1).unwrap(),
            date(2026, 9, 28)
        );
    }

    #[test]
    fn working_days_deadline_ends_at_beijing_midnight() {
        let notice = beijing_instant(date(2026, 2, 13), time(17, 30, 0, 0)).unwrap();
        let due = cal().working_days_deadline(notice, 3).unwrap();
        assert_eq!(due, "2026-02-25T16:00:00Z".parse::<Timestamp>().unwrap());
    }

    #[test]
    fn a_year_with_no_data_is_an_error_not_a_guess() {
        let c = cal();
        assert_eq!(
            c.is_working_day(date(2023, 6, 1)),
            Err(CalendarError::YearNotLoaded { year: 2023 })
        );
        assert_eq!(
            c.add_working_days(date(2028, 12, 28), 3),
            Err(CalendarError::YearNotLoaded { year: 2029 })
        );
    }

    #[test]
    fn rebate_days_falling_on_a_holiday_move_to_the_next_working_day() {
        let c = cal();
        // 10 Oct 2026 is a 调休 Saturday: a working day, kept.
        assert_eq!(
            c.on_or_after(date(2026, 10, 10)).unwrap(),
            date(2026, 10, 10)
        );
        // 15 Feb 2026 falls in Spring Festival: postponed to Tue 24 Feb.
        assert_eq!(c.on_or_after(date(2026, 2, 15)).unwrap(), date(2026, 2, 24));
        // 25 Apr 2026 is an ordinary Saturday: Monday 27.
        assert_eq!(c.on_or_after(date(2026, 4, 25)).unwrap(), date(2026, 4, 27));
    }

    #[test]
    fn a_negative_support_budget_is_refused() {
        let hours = SupportHours {
            days: SupportDays::MonSun,
            open: time(9, 0, 0, 0),
            close: time(18, 0, 0, 0),
        };
        let at = beijing_instant(date(2026, 3, 2), time(10, 0, 0, 0)).unwrap();
        assert_eq!(
            hours.add_open_time(&cal(), at, SignedDuration::from_secs(-1)),
            Err(CalendarError::NegativeDuration)
        );
    }

    #[test]
    fn operator_override_replaces_a_whole_year() {
        let mut c = cal();
        let text = "year = 2027\nsource = \"operator\"\nstatus = \"official\"\nworking_days = [2027-02-20]\n\n[[holiday]]\nname = \"春节\"\nname_en = \"Spring Festival\"\nfrom = 2027-02-05\nto = 2027-02-11\n";
        c.load(CalendarYear::parse("override.toml", text).unwrap());
        assert!(!c.is_working_day(date(2027, 2, 10)).unwrap());
        assert!(c.is_working_day(date(2027, 2, 20)).unwrap());
        // The replaced file's National Day is gone with it.
        assert!(c.is_working_day(date(2027, 10, 1)).unwrap());
    }

    #[test]
    fn calendar_files_are_validated_with_line_and_key() {
        let weekday =
            "year = 2026\nsource = \"x\"\nstatus = \"official\"\nworking_days = [2026-03-04]\n";
        let err = CalendarYear::parse("bad.toml", weekday)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("bad.toml:4: working_days[0]:"), "{err}");
        let typo = "year = 2026\nsource = \"x\"\nstatus = \"official\"\nworkdays = []\n";
        let err = CalendarYear::parse("bad.toml", typo)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("bad.toml:4") && err.contains("workdays"),
            "{err}"
        );
    }

    #[test]
    fn support_hours_count_only_open_time() {
        let c = cal();
        let five_by_eight = SupportHours {
            days: SupportDays::WorkingDays,
            open: time(9, 0, 0, 0),
            close: time(18, 0, 0, 0),
        };
        let seven_by_eight = SupportHours {
            days: SupportDays::MonSun,
            ..five_by_eight
        };
        // Friday 17:00 before Spring Festival 2026 + 2 h: 1 h Friday, 1 h on Sat 14 (调休).
        let fri = beijing_instant(date(2026, 2, 13), time(17, 0, 0, 0)).unwrap();
        let two_h = SignedDuration::from_hours(2);
        assert_eq!(
            five_by_eight.add_open_time(&c, fri, two_h).unwrap(),
            beijing_instant(date(2026, 2, 14), time(10, 0, 0, 0)).unwrap()
        );
        // Sat 14 Feb 17:30 + 2 h: 30 min that day, then nothing until Tue 24 Feb.
        let sat = beijing_instant(date(2026, 2, 14), time(17, 30, 0, 0)).unwrap();
        assert_eq!(
            five_by_eight.add_open_time(&c, sat, two_h).unwrap(),
            beijing_instant(date(2026, 2, 24), time(10, 30, 0, 0)).unwrap()
        );
        // Mon–Sun opens every day, holidays included.
        assert_eq!(
            seven_by_eight.add_open_time(&c, sat, two_h).unwrap(),
            beijing_instant(date(2026, 2, 15), time(10, 30, 0, 0)).unwrap()
        );
        assert!(
            !five_by_eight
                .is_open(
                    &c,
                    beijing_instant(date(2026, 2, 16), time(10, 0, 0, 0)).unwrap()
                )
                .unwrap()
        );
        assert!(
            seven_by_eight
                .is_open(
                    &c,
                    beijing_instant(date(2026, 2, 16), time(10, 0, 0, 0)).unwrap()
                )
                .unwrap()
        );
    }

    #[test]
    fn fiscal_year_runs_april_to_march_and_calendar_year_january_to_december() {
        let fiscal: YearStart = "04-01".parse().unwrap();
        let y = RuleYear::containing(date(2026, 3, 31), fiscal).unwrap();
        assert_eq!((y.start, y.end), (date(2025, 4, 1), date(2026, 4, 1)));
        let y = RuleYear::containing(date(2026, 4, 1), fiscal).unwrap();
        assert_eq!(y.to_string(), "2026-04-01..2027-03-31");
        let calendar: YearStart = "01-01".parse().unwrap();
        let y = RuleYear::containing(date(2026, 12, 31), calendar).unwrap();
        assert_eq!((y.start, y.end), (date(2026, 1, 1), date(2027, 1, 1)));
        assert!("02-29".parse::<YearStart>().is_err());
    }
}
