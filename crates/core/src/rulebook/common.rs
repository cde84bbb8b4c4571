//! Pieces shared by marketplace and partner rulebooks: source citations, the violation
//! procedure, deduction order, rating scores.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A source document a rulebook transcribes (SPEC's table of seeds).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SourceDocument {
    /// The short name citations use: "ALI-R", "ALI-A", "TC", "JD", "PA-17", "PA-22".
    pub short: String,
    /// Title in Chinese, as the document gives it.
    pub title_zh: String,
    /// Title in English.
    pub title_en: String,
    /// Seed file it was read from (`../shared/seeds/…`) and which part.
    pub file: String,
    /// Anything a reader should know (in force from, signed on, missing annexes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// How a suspected violation becomes a penalty: notice → written reply → finding (final) →
/// penalty notice → objection to the penalty → decision, published at the operator's
/// discretion (PA-22 5.4–5.5; PA-17 6.4 has no objection step). Marketplace rulebooks use the
/// same steps as a **[design assumption]** (SPEC §9): their sources only say "once confirmed".
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Procedure {
    /// Channels the suspicion notice may go by (PA-22 5.4.1: phone, email, fax; 5.4.3 adds the
    /// console message).
    pub notice_channels: Vec<NoticeChannel>,
    /// Working days to reply in writing with proof, from receiving the notice (PA-22 5.4.1,
    /// PA-17 6.4.1: 3). No reply, or no proof, means the violation is established.
    pub reply_working_days: u32,
    /// Where the facts are clear the operator may go straight to a finding (PA-22 5.4.3).
    pub direct_finding_when_facts_clear: bool,
    /// The liability finding is final and cannot be objected to (PA-22 5.4.3, PA-17 6.4.1).
    pub finding_is_final: bool,
    /// Working days to object to the *penalty* notice, with grounds (PA-22 5.5.2: 3); absent
    /// when there is no objection step (PA-17).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objection_working_days: Option<u32>,
    /// Whether the formal decision is published (PA-22 5.5.3: 视情况予以公示).
    pub publication: Publication,
    /// Incentive payments may be suspended, after notice, while a case is investigated
    /// (PA-22 5.4.2).
    pub incentives_suspended_during_investigation: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeChannel {
    Phone,
    Email,
    Fax,
    /// Message in the console (站内信 / 伙伴控制台).
    ConsoleMessage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Publication {
    /// Published at the operator's discretion (视情况予以公示).
    Discretionary,
    /// Always announced (e.g. "面向全体合作伙伴通报").
    Always,
    /// Never published.
    Never,
}

/// Where money owed for a penalty or a loss is taken from, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeductionSource {
    /// The deposit held (保证金).
    Deposit,
    /// The provider's next settlements (ALI-A 4.3.6, 4.5.3).
    NextSettlements,
    /// Service fees / rebates not yet paid and prepayments not yet settled (PA-22 5.4.4, 5.6;
    /// PA-17 6.3, 6.4.2).
    UnpaidFeesAndPrepayments,
    /// The rest is owed and claimed (追偿 / 补缴).
    Owed,
}

/// A rating score such as 2.5, kept in hundredths so comparisons are exact. Written in TOML as
/// a number (`2.5`) or a string (`"2.5"`), at most two decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Score(u32);

impl Score {
    pub const fn from_hundredths(h: u32) -> Self {
        Score(h)
    }

    pub const fn hundredths(self) -> u32 {
        self.0
    }

    fn parse(s: &str) -> Result<Self, String> {
        let bad = || format!("expected a score like 2.5, got {s:?}");
        let (int, frac) = s.trim().split_once('.').unwrap_or((s.trim(), ""));
        if int.is_empty()
            || frac.len() > 2
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let whole: u32 = int.parse().map_err(|_| bad())?;
        let frac_h: u32 = match frac.len() {
            0 => 0,
            1 => frac.parse::<u32>().map_err(|_| bad())? * 10,
            _ => frac.parse().map_err(|_| bad())?,
        };
        whole
            .checked_mul(100)
            .and_then(|w| w.checked_add(frac_h))
            .map(Score)
            .ok_or_else(bad)
    }
}

impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, frac) = (self.0 / 100, self.0 % 100);
        match frac {
            0 => write!(f, "{whole}"),
            f10 if f10 % 10 == 0 => write!(f, "{whole}.{}", f10 / 10),
            _ => write!(f, "{whole}.{frac:02}"),
        }
    }
}

impl Serialize for Score {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Score {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Score;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a score like 2.5 (at most two decimals)")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Score, E> {
                u32::try_from(v)
                    .ok()
                    .and_then(|v| v.checked_mul(100))
                    .map(Score)
                    .ok_or_else(|| E::custom(format!("score out of range: {v}")))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Score, E> {
                i64::try_from(v)
                    .map_err(|_| E::custom(format!("score out of range: {v}")))
                    .and_then(|v| self.visit_i64(v))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Score, E> {
                // Through the decimal text, so 2.5 is exactly 250 and 2.555 is refused.
                Score::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Score, E> {
                Score::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// The scale buyers rate on: 1–5 (SPEC §6, **[design assumption]**).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RatingScale {
    /// Lowest score a buyer can give.
    pub min: Score,
    /// Highest score a buyer can give.
    pub max: Score,
}

/// `jiff::civil::Date` read from a TOML date (`2020-04-01`) and written as ISO text.
pub(crate) mod date {
    use jiff::civil::Date;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::source::TomlDate;

    pub fn serialize<S: Serializer>(date: &Date, s: S) -> Result<S::Ok, S::Error> {
        date.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        TomlDate::deserialize(d).map(|t| t.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_are_exact_hundredths() {
        assert_eq!(Score::parse("2.5"), Ok(Score(250)));
        assert_eq!(Score::parse("2.50"), Ok(Score(250)));
        assert_eq!(Score::parse("5"), Ok(Score(500)));
        assert!(Score::parse("2.555").is_err());
        assert!(Score::parse("-1").is_err());
        assert!(Score::parse("").is_err());
        assert_eq!(Score(250).to_string(), "2.5");
        assert_eq!(Score(205).to_string(), "2.05");
        assert_eq!(Score(500).to_string(), "5");
    }
}
