//! Rates (commission, late fee, refund-rate thresholds) and the rounding a rulebook names.
//!
//! A rate is kept in parts per million so that percentages with up to four decimals
//! ("0.1%", "12.5%", "0.0125%") and basis points are exact.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::money::{Fen, MoneyError};

const PPM_PER_UNIT: i128 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Rate {
    ppm: u32,
}

/// How a fraction of a fen is resolved. Rulebooks name one; `HalfUp` is the Chinese
/// accounting default (四舍五入).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// Half away from zero (四舍五入).
    #[default]
    HalfUp,
    /// Half to even (banker's rounding).
    HalfEven,
    /// Toward zero (truncate).
    Down,
    /// Away from zero.
    Up,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateError {
    #[error("not a rate: {0:?} (expected e.g. 10%, 0.1%, 25bp)")]
    Parse(String),
    #[error("rate above 100%: {0:?}")]
    AboveWhole(String),
}

impl Rate {
    pub const ZERO: Rate = Rate { ppm: 0 };
    pub const WHOLE: Rate = Rate { ppm: 1_000_000 };

    pub fn from_ppm(ppm: u32) -> Result<Self, RateError> {
        if i128::from(ppm) > PPM_PER_UNIT {
            return Err(RateError::AboveWhole(format!("{ppm}ppm")));
        }
        Ok(Rate { ppm })
    }

    pub fn from_basis_points(bp: u32) -> Result<Self, RateError> {
        bp.checked_mul(100)
            .ok_or_else(|| RateError::AboveWhole(format!("{bp}bp")))
            .and_then(Self::from_ppm)
    }

    pub const fn ppm(self) -> u32 {
        self.ppm
    }

    /// `amount × rate`, rounded as told. Exact in i128; overflow of the result is an error.
    pub fn apply(self, amount: Fen, rounding: Rounding) -> Result<Fen, MoneyError> {
        let product = i128::from(amount.fen()) * i128::from(self.ppm);
        let result = div_round(product, PPM_PER_UNIT, rounding);
        i64::try_from(result)
            .map(Fen::new)
            .map_err(|_| MoneyError::Overflow)
    }
}

/// `numerator / denominator` (denominator > 0) rounded as told.
pub(crate) fn div_round(numerator: i128, denominator: i128, rounding: Rounding) -> i128 {
    let quotient = numerator / denominator;
    let remainder = numerator % denominator;
    if remainder == 0 {
        return quotient;
    }
    let away = if numerator < 0 { -1 } else { 1 };
    let twice = 2 * remainder.abs();
    let round_away = match rounding {
        Rounding::Down => false,
        Rounding::Up => true,
        Rounding::HalfUp => twice >= denominator,
        Rounding::HalfEven => twice > denominator || (twice == denominator && quotient % 2 != 0),
    };
    if round_away {
        quotient + away
    } else {
        quotient
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // ppm → percent with up to four decimals, trailing zeros trimmed.
        let whole = self.ppm / 10_000;
        let frac = self.ppm % 10_000;
        if frac == 0 {
            write!(f, "{whole}%")
        } else {
            let digits = format!("{frac:04}");
            write!(f, "{whole}.{}%", digits.trim_end_matches('0'))
        }
    }
}

/// "10%", "0.1%", "12.5 %", "25bp", "25 bp".
impl FromStr for Rate {
    type Err = RateError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let bad = || RateError::Parse(input.to_string());
        let s = input.trim();
        if let Some(bp) = s.strip_suffix("bp") {
            let bp: u32 = bp.trim().parse().map_err(|_| bad())?;
            return Rate::from_basis_points(bp);
        }
        let pct = s.strip_suffix('%').ok_or_else(bad)?.trim();
        let (int, frac) = pct.split_once('.').unwrap_or((pct, ""));
        let digits_only = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() || frac.len() > 4 || !digits_only(int) || !digits_only(frac) {
            return Err(bad());
        }
        let int: u64 = int.parse().map_err(|_| bad())?;
        let frac_ppm: u64 = if frac.is_empty() {
            0
        } else {
            let padded = format!("{frac:0<4}");
            padded.parse().map_err(|_| bad())?
        };
        let ppm = int
            .checked_mul(10_000)
            .and_then(|v| v.checked_add(frac_ppm))
            .ok_or_else(|| RateError::AboveWhole(input.to_string()))?;
        if u128::from(ppm) > PPM_PER_UNIT as u128 {
            return Err(RateError::AboveWhole(input.to_string()));
        }
        u32::try_from(ppm)
            .map(|ppm| Rate { ppm })
            .map_err(|_| RateError::AboveWhole(input.to_string()))
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rate(s: &str) -> Rate {
        s.parse().unwrap()
    }

    #[test]
    fn parses_percent_and_basis_points() {
        assert_eq!(rate("10%").ppm(), 100_000);
        assert_eq!(rate("0.1%").ppm(), 1_000);
        assert_eq!(rate("12.5 %").ppm(), 125_000);
        assert_eq!(rate("25bp").ppm(), 2_500);
        assert_eq!(rate("100%"), Rate::WHOLE);
        assert!("101%".parse::<Rate>().is_err());
        assert!("0.00001%".parse::<Rate>().is_err());
        assert!("-1%".parse::<Rate>().is_err());
        assert!("10".parse::<Rate>().is_err());
        assert_eq!(rate("0.1%").to_string(), "0.1%");
        assert_eq!(rate("30%").to_string(), "30%");
    }

    #[test]
    fn commission_of_ten_percent_on_one_hundred_yuan_is_ten_yuan() {
        let fee = rate("10%").apply(Fen::new(10_000), Rounding::HalfUp);
        assert_eq!(fee, Ok(Fen::new(1_000)));
    }

    #[test]
    fn rounding_modes_differ_only_on_fractions() {
        // 0.5 fen exactly: 5 fen × 10%.
        let half = |r| rate("10%").apply(Fen::new(5), r);
        assert_eq!(half(Rounding::HalfUp), Ok(Fen::new(1)));
        assert_eq!(half(Rounding::HalfEven), Ok(Fen::new(0)));
        assert_eq!(half(Rounding::Down), Ok(Fen::new(0)));
        assert_eq!(half(Rounding::Up), Ok(Fen::new(1)));
        // 1.5 fen: 15 fen × 10% → half-even goes to 2.
        assert_eq!(
            rate("10%").apply(Fen::new(15), Rounding::HalfEven),
            Ok(Fen::new(2))
        );
        // Negative amounts round symmetrically (refund reversals mirror charges).
        assert_eq!(
            rate("10%").apply(Fen::new(-5), Rounding::HalfUp),
            Ok(Fen::new(-1))
        );
    }

    proptest! {
        #[test]
        fn applying_a_rate_stays_within_one_fen_of_exact(
            amount in -1_000_000_000_000i64..1_000_000_000_000,
            ppm in 0u32..=1_000_000,
        ) {
            let r = Rate::from_ppm(ppm).unwrap_or(Rate::ZERO);
            for mode in [Rounding::HalfUp, Rounding::HalfEven, Rounding::Down, Rounding::Up] {
                let got = r.apply(Fen::new(amount), mode).map(Fen::fen).unwrap_or(i64::MAX);
                let exact_times_million = i128::from(amount) * i128::from(ppm);
                let diff = i128::from(got) * PPM_PER_UNIT - exact_times_million;
                prop_assert!(diff.abs() < PPM_PER_UNIT, "mode {mode:?} off by more than a fen");
            }
        }
    }
}
