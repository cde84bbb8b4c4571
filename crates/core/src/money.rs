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
    #[error("not a CNY amount: {0:?} (expected digits with at most two decimals, e.g. 1234.56)")]
    Parse(String),
    #[error("{amount} is beyond this marketplace's limit of {limit} per amount")]
    AboveLimit { amount: Fen, limit: Fen },
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

impl Fen {
    /// Reads an amount as people write it: "1234.56", "1234.5", "1234", "-12.30",
    /// "¥1,234.56", "￥1234", "1,234.56 元". Rejects more than two decimals (no silent
    /// rounding of money), misplaced group separators, empty input and overflow. For forms
    /// people type; the API takes only the canonical grammar of [`Fen::from_str`].
    pub fn parse_for_people(input: &str) -> Result<Fen, MoneyError> {
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
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        if frac.is_empty() && s.contains('.') {
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
        if int_digits.is_empty() {
            return Err(bad());
        }
        // Leading zeros are a typing habit, not an ambiguity, for people.
        let int_digits = match int_digits.trim_start_matches('0') {
            "" => "0",
            digits => digits,
        };
        let sign = if negative { "-" } else { "" };
        let point = if frac.is_empty() { "" } else { "." };
        format!("{sign}{int_digits}{point}{frac}")
            .parse()
            .map_err(|e| match e {
                MoneyError::Overflow => MoneyError::Overflow,
                _ => bad(),
            })
    }
}

/// The one grammar money has on the wire and in data files: `-?(0|[1-9][0-9]*)(\.[0-9]{1,2})?`
/// — "1234.56", "1234.5", "1234", "-0.05". No separators, symbols, spaces, exponent, leading
/// zeros or a bare trailing point, so an amount has exactly one reading.
impl FromStr for Fen {
    type Err = MoneyError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let bad = || MoneyError::Parse(input.to_string());
        let unsigned = input.strip_prefix('-').unwrap_or(input);
        let negative = unsigned.len() != input.len();
        let (int, frac) = match unsigned.split_once('.') {
            Some((i, f)) if !f.is_empty() && f.len() <= 2 => (i, f),
            Some(_) => return Err(bad()),
            None => (unsigned, ""),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(int) || (int.len() > 1 && int.starts_with('0')) {
            return Err(bad());
        }
        if !frac.is_empty() && !digits(frac) {
            return Err(bad());
        }
        // In i128 so that i64::MIN, whose magnitude i64 cannot hold, still parses.
        let yuan: i128 = int.parse().map_err(|_| MoneyError::Overflow)?;
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
        let fen: Fen = s.parse().map_err(serde::de::Error::custom)?;
        input_limit::check(fen).map_err(serde::de::Error::custom)
    }
}

/// The deployment's maximum for one amount taken from outside (a request body), applied
/// while such input is deserialised. A scoped thread-local because serde gives a
/// `Deserialize` impl no context, and every request type carrying `Fen` must be bounded
/// without each handler remembering to check; stored data and rulebooks, read outside a
/// scope, are not limited.
pub mod input_limit {
    use std::cell::Cell;

    use super::{Fen, MoneyError};

    thread_local! {
        static LIMIT: Cell<Option<Fen>> = const { Cell::new(None) };
        static BREACH: Cell<Option<(Fen, Fen)>> = const { Cell::new(None) };
    }

    /// Runs `read` (a synchronous deserialisation) with every `Fen` it reads bounded by
    /// `limit` in magnitude. Returns its result and the first amount found beyond the limit.
    pub fn within<T>(limit: Fen, read: impl FnOnce() -> T) -> (T, Option<MoneyError>) {
        let outer = LIMIT.replace(Some(limit));
        let outer_breach = BREACH.take();
        let value = read();
        let breach = BREACH.replace(outer_breach);
        LIMIT.set(outer);
        let error = breach.map(|(amount, limit)| MoneyError::AboveLimit { amount, limit });
        (value, error)
    }

    pub(super) fn check(fen: Fen) -> Result<Fen, MoneyError> {
        let Some(limit) = LIMIT.get() else {
            return Ok(fen);
        };
        if fen.0.unsigned_abs() <= limit.0.unsigned_abs() {
            return Ok(fen);
        }
        if BREACH.get().is_none() {
            BREACH.set(Some((fen, limit)));
        }
        Err(MoneyError::AboveLimit { amount: fen, limit })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_wire_grammar_is_digits_with_at_most_two_decimals() {
        assert_eq!("1234.56".parse::<Fen>(), Ok(Fen(123_456)));
        assert_eq!("12.3".parse::<Fen>(), Ok(Fen(1_230)));
        assert_eq!("1234".parse::<Fen>(), Ok(Fen(123_400)));
        assert_eq!("-0.05".parse::<Fen>(), Ok(Fen(-5)));
        assert_eq!("0".parse::<Fen>(), Ok(Fen(0)));
        for bad in [
            "", "-", "1,000.00", "¥1.00", "￥1", " 1.00", "1.00 ", "1.", "00001.00", "01", "1 元",
            "1.234", ".5", "1.2.3", "abc", "1e3", "--1", "1.-1", "+1", "1.\u{0}", "١٢٣",
        ] {
            assert!(bad.parse::<Fen>().is_err(), "{bad:?} should be rejected");
        }
        assert_eq!(
            "99999999999999999999".parse::<Fen>(),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn people_may_write_symbols_separators_and_spaces() {
        let p = Fen::parse_for_people;
        assert_eq!(p("¥1,234.56"), Ok(Fen(123_456)));
        assert_eq!(p("￥1234"), Ok(Fen(123_400)));
        assert_eq!(p(" 1,000,000.00 元"), Ok(Fen(100_000_000)));
        assert_eq!(p("-¥0.05"), Ok(Fen(-5)));
        assert_eq!(p("00001.00"), Ok(Fen(100)));
        for bad in [
            "", "¥", "1.234", "12,34.00", "1,2345", ".5", "1.", "1e3", "--1",
        ] {
            assert!(p(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn amounts_read_within_a_limit_are_bounded_by_it() {
        let limit = Fen(100_000_000_000);
        let read = |json: &str| serde_json::from_str::<Vec<Fen>>(json);
        let (ok, breach) = input_limit::within(limit, || read(r#"["1000000000.00", "-5"]"#));
        assert_eq!(ok.ok(), Some(vec![limit, Fen(-500)]));
        assert_eq!(breach, None);
        let (err, breach) = input_limit::within(limit, || read(r#"["1000000000.01"]"#));
        assert!(err.is_err());
        assert_eq!(
            breach,
            Some(MoneyError::AboveLimit {
                amount: Fen(100_000_000_001),
                limit
            })
        );
        // Outside a scope (stored data, rulebooks) nothing is limited.
        assert_eq!(
            read(r#"["92233720368547758.07"]"#).ok(),
            Some(vec![Fen(i64::MAX)])
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

    #[test]
    fn zero_is_neither_positive_nor_negative_and_the_sign_predicates_split_at_it() {
        assert!(Fen(0).is_zero());
        assert!(!Fen(0).is_positive());
        assert!(!Fen(0).is_negative());
        assert!(Fen(1).is_positive());
        assert!(!Fen(1).is_negative());
        assert!(!Fen(1).is_zero());
        assert!(Fen(-1).is_negative());
        assert!(!Fen(-1).is_positive());
        assert!(!Fen(-1).is_zero());
    }

    #[test]
    fn the_magnitude_of_an_amount_is_checked_like_every_other_step() {
        assert_eq!(Fen(-1_234).checked_abs(), Ok(Fen(1_234)));
        assert_eq!(Fen(1_234).checked_abs(), Ok(Fen(1_234)));
        assert_eq!(Fen(i64::MIN).checked_abs(), Err(MoneyError::Overflow));
        assert_eq!(Fen(-5).checked_neg(), Ok(Fen(5)));
        assert_eq!(Fen(700).checked_mul(3), Ok(Fen(2_100)));
        assert_eq!(Fen(700).checked_sub(Fen(1_000)), Ok(Fen(-300)));
        assert_eq!(Fen::checked_sum([Fen(100), Fen(-30), Fen(5)]), Ok(Fen(75)));
        assert_eq!(Fen::from_yuan(12), Ok(Fen(1_200)));
        assert_eq!(Fen::from_yuan(i64::MAX), Err(MoneyError::Overflow));
    }

    proptest! {
        #[test]
        fn display_then_parse_round_trips(fen in -(i64::MAX / 2)..(i64::MAX / 2)) {
            let f = Fen(fen);
            prop_assert_eq!(f.to_string().parse::<Fen>(), Ok(f));
            prop_assert_eq!(Fen::parse_for_people(&f.to_cny_display()), Ok(f));
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
