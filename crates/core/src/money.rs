//! Money in integer fen (分). No floats, no silent wrap: every arithmetic step is checked.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An amount of CNY in fen (1 yuan = 100 fen). Negative amounts are allowed: they are
/// credits, refunds or debts depending on where they stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Fen(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("amount overflow")]
    Overflow,
    #[error("division by zero")]
    DivisionByZero,
    #[error("not a CNY amount: {0:?} (expected e.g. 1234.56 or ¥1,234.56)")]
    Parse(String),
}

impl Fen {
    pub const ZERO: Fen = Fen(0);

    pub const fn new(fen: i64) -> Self {
        Fen(fen)
    }

    /// Whole yuan, checked.
    pub fn from_yuan(yuan: i64) -> Result<Self, MoneyError> {
        yuan.checked_mul(100).map(Fen).ok_or(MoneyError::Overflow)
    }

    pub const fn fen(self) -> i64 {
        self.0
    }

    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    pub const fn is_positive(self) -> bool {
        self.0 > 0
    }

    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    pub fn checked_add(self, other: Fen) -> Result<Fen, MoneyError> {
        self.0
            .checked_add(other.0)
            .map(Fen)
            .ok_or(MoneyError::Overflow)
    }

    pub fn checked_sub(self, other: Fen) -> Result<Fen, MoneyError> {
        self.0
            .checked_sub(other.0)
            .map(Fen)
            .ok_or(MoneyError::Overflow)
    }

    pub fn checked_mul(self, factor: i64) -> Result<Fen, MoneyError> {
        self.0
            .checked_mul(factor)
            .map(Fen)
            .ok_or(MoneyError::Overflow)
    }

    pub fn checked_neg(self) -> Result<Fen, MoneyError> {
        self.0.checked_neg().map(Fen).ok_or(MoneyError::Overflow)
    }

    pub fn checked_abs(self) -> Result<Fen, MoneyError> {
        self.0.checked_abs().map(Fen).ok_or(MoneyError::Overflow)
    }

    /// Sum of many amounts; overflow anywhere is an error.
    pub fn checked_sum<I: IntoIterator<Item = Fen>>(items: I) -> Result<Fen, MoneyError> {
        items
            .into_iter()
            .try_fold(Fen::ZERO, |acc, x| acc.checked_add(x))
    }

    /// "¥1,234.56" — for people.
    pub fn to_cny_display(self) -> String {
        let plain = self.to_string();
        let (sign, digits) = match plain.strip_prefix('-') {
            Some(rest) => ("-", rest),
            None => ("", plain.as_str()),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, "00"));
        let mut grouped = String::with_capacity(int.len() + int.len() / 3);
        for (i, ch) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(ch);
        }
        format!("{sign}¥{grouped}.{frac}")
    }
}

/// "1234.56" — the canonical, machine-readable form.
impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

/// Accepts "1234.56", "1234.5", "1234", "-12.30", "¥1,234.56", "￥1234", "1,234.56 元".
/// Rejects more than two decimals (no silent rounding of money), misplaced group separators,
/// empty input and overflow.
impl FromStr for Fen {
    type Err = MoneyError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let bad = || MoneyError::Parse(input.to_string());
        let mut s = input.trim();
        let negative = if let Some(rest) = s.strip_prefix('-') {
            s = rest.trim_start();
            true
        } else {
            false
        };
        s = s
            .strip_prefix('¥')
            .or_else(|| s.strip_prefix('￥'))
            .unwrap_or(s)
            .trim_start();
        s = s.strip_suffix('元').unwrap_or(s).trim_end();
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, f),
            None => (s, ""),
        };
        if int.is_empty() || frac.len() > 2 || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let int_digits: String = if int.contains(',') {
            let groups: Vec<&str> = int.split(',').collect();
            let first_ok = (1..=3).contains(&groups[0].len());
            let rest_ok = groups[1..].iter().all(|g| g.len() == 3);
            if !first_ok || !rest_ok {
                return Err(bad());
            }
            groups.concat()
        } else {
            int.to_string()
        };
        if !int_digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        // In i128 so that i64::MIN, whose magnitude i64 cannot hold, still parses.
        let yuan: i128 = int_digits.parse().map_err(|_| MoneyError::Overflow)?;
        let frac_fen: i128 = match frac.len() {
            0 => 0,
            1 => i128::from(frac.as_bytes()[0] - b'0') * 10,
            _ => frac.parse().map_err(|_| bad())?,
        };
        let magnitude = yuan
            .checked_mul(100)
            .and_then(|v| v.checked_add(frac_fen))
            .ok_or(MoneyError::Overflow)?;
        let signed = if negative { -magnitude } else { magnitude };
        i64::try_from(signed)
            .map(Fen)
            .map_err(|_| MoneyError::Overflow)
    }
}

/// Money travels as a decimal string ("1234.56") in JSON and TOML, never as a float.
impl Serialize for Fen {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Fen {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_plain_and_display_forms() {
        assert_eq!("1234.56".parse::<Fen>(), Ok(Fen(123_456)));
        assert_eq!("¥1,234.56".parse::<Fen>(), Ok(Fen(123_456)));
        assert_eq!("￥1234".parse::<Fen>(), Ok(Fen(123_400)));
        assert_eq!("12.3".parse::<Fen>(), Ok(Fen(1_230)));
        assert_eq!("-0.05".parse::<Fen>(), Ok(Fen(-5)));
        assert_eq!("1,000,000.00 元".parse::<Fen>(), Ok(Fen(100_000_000)));
    }

    #[test]
    fn rejects_ambiguous_or_lossy_amounts() {
        for bad in [
            "", "¥", "1.234", "12,34.00", "1,2345", ".5", "1.2.3", "abc", "1e3", "--1", "1.-1",
        ] {
            assert!(bad.parse::<Fen>().is_err(), "{bad:?} should be rejected");
        }
        assert_eq!(
            "99999999999999999999".parse::<Fen>(),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn formats_canonical_and_for_people() {
        assert_eq!(Fen(123_456).to_string(), "1234.56");
        assert_eq!(Fen(-5).to_string(), "-0.05");
        assert_eq!(Fen(123_456_789).to_cny_display(), "¥1,234,567.89");
        assert_eq!(Fen(-100).to_cny_display(), "-¥1.00");
        assert_eq!(Fen(i64::MIN).to_string(), "-92233720368547758.08");
        assert_eq!("-92233720368547758.08".parse::<Fen>(), Ok(Fen(i64::MIN)));
        assert_eq!(
            "92233720368547758.08".parse::<Fen>(),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn arithmetic_overflow_is_an_error_not_a_wrap() {
        assert_eq!(Fen(i64::MAX).checked_add(Fen(1)), Err(MoneyError::Overflow));
        assert_eq!(Fen(i64::MIN).checked_sub(Fen(1)), Err(MoneyError::Overflow));
        assert_eq!(Fen(i64::MAX).checked_mul(2), Err(MoneyError::Overflow));
        assert_eq!(Fen(i64::MIN).checked_neg(), Err(MoneyError::Overflow));
        assert_eq!(
            Fen::checked_sum([Fen(i64::MAX), Fen(1)]),
            Err(MoneyError::Overflow)
        );
    }

    proptest! {
        #[test]
        fn display_then_parse_round_trips(fen in -(i64::MAX / 2)..(i64::MAX / 2)) {
            let f = Fen(fen);
            prop_assert_eq!(f.to_string().parse::<Fen>(), Ok(f));
            prop_assert_eq!(f.to_cny_display().parse::<Fen>(), Ok(f));
        }

        #[test]
        fn checked_add_matches_wide_arithmetic(a: i64, b: i64) {
            let wide = i128::from(a) + i128::from(b);
            match Fen(a).checked_add(Fen(b)) {
                Ok(sum) => prop_assert_eq!(i128::from(sum.fen()), wide),
                Err(_) => prop_assert!(wide > i128::from(i64::MAX) || wide < i128::from(i64::MIN)),
            }
        }
    }
}
