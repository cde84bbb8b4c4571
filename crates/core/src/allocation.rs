//! Splitting an amount into parts that always add up to the whole (largest remainder).
//!
//! Used for amortising a subscription over settlement periods by days, splitting a
//! refund across order lines, and sharing fees by weight.

use jiff::civil::Date;

use crate::money::{Fen, MoneyError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllocationError {
    #[error("nothing to allocate over: no parts, or all weights are zero")]
    NoWeight,
    #[error("period {index} ends before it starts")]
    ReversedPeriod { index: usize },
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// Splits `total` in proportion to `weights` by the largest-remainder method: every part
/// gets the floor of its exact share, then the fen left over go one each to the parts with
/// the largest remainders (earlier parts first on ties). The parts sum to `total` exactly,
/// and each part is within one fen of its exact share. A negative total is split as its
/// magnitude and negated, so a reversal mirrors its original.
pub fn allocate(total: Fen, weights: &[u64]) -> Result<Vec<Fen>, AllocationError> {
    let weight_sum: u128 = weights.iter().map(|&w| u128::from(w)).sum();
    if weight_sum == 0 {
        return Err(AllocationError::NoWeight);
    }
    let magnitude = u128::from(total.fen().unsigned_abs());
    let mut parts = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    let mut given: u128 = 0;
    for (index, &w) in weights.iter().enumerate() {
        let exact = magnitude * u128::from(w);
        let floor = exact / weight_sum;
        given += floor;
        parts.push(floor);
        remainders.push((exact % weight_sum, index));
    }
    // Largest remainder first; ties keep the earlier part first.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let leftover = magnitude - given; // < number of parts
    for &(_, index) in remainders.iter().take(leftover as usize) {
        parts[index] += 1;
    }
    parts
        .into_iter()
        .map(|p| {
            // Signed in i128 first: a part of i64::MIN's magnitude only fits once negated.
            let p = i128::try_from(p).map_err(|_| MoneyError::Overflow)?;
            let signed = if total.is_negative() { -p } else { p };
            Ok(Fen::new(
                i64::try_from(signed).map_err(|_| MoneyError::Overflow)?,
            ))
        })
        .collect()
}

/// Splits `total` over periods by their number of days. Each period is `[start, end)`:
/// a month from 2026-03-15 to 2026-04-15 has 31 days.
pub fn allocate_by_days(total: Fen, periods: &[(Date, Date)]) -> Result<Vec<Fen>, AllocationError> {
    let mut weights = Vec::with_capacity(periods.len());
    for (index, &(start, end)) in periods.iter().enumerate() {
        if end < start {
            return Err(AllocationError::ReversedPeriod { index });
        }
        let days = (end - start).get_days();
        weights.push(u64::try_from(days).map_err(|_| AllocationError::ReversedPeriod { index })?);
    }
    allocate(total, &weights)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    #[test]
    fn one_hundred_yuan_in_three_equal_parts_sums_exactly() {
        let parts = allocate(Fen::new(10_000), &[1, 1, 1]).unwrap();
        assert_eq!(
            parts,
            vec![Fen::new(3_334), Fen::new(3_333), Fen::new(3_333)]
        );
    }

    #[test]
    fn yearly_subscription_amortised_by_days_sums_to_the_order() {
        // 1,200.00 bought 15 March 2026 for a year, cut at month starts.
        let mut cuts = vec![date(2026, 3, 15)];
        for m in 4..=12 {
            cuts.push(date(2026, m, 1));
        }
        for m in 1..=3 {
            cuts.push(date(2027, m, 1));
        }
        cuts.push(date(2027, 3, 15));
        let periods: Vec<_> = cuts.windows(2).map(|w| (w[0], w[1])).collect();
        assert_eq!(periods.len(), 13);
        let parts = allocate_by_days(Fen::new(120_000), &periods).unwrap();
        assert_eq!(
            Fen::checked_sum(parts.iter().copied()),
            Ok(Fen::new(120_000))
        );
        // 17 of 365 days fall in March 2026.
        assert_eq!(parts[0], Fen::new(5_589));
    }

    #[test]
    fn negative_totals_mirror_positive_ones() {
        let pos = allocate(Fen::new(100), &[1, 2, 3]).unwrap();
        let neg = allocate(Fen::new(-100), &[1, 2, 3]).unwrap();
        let mirrored: Vec<_> = pos.iter().map(|p| Fen::new(-p.fen())).collect();
        assert_eq!(neg, mirrored);
    }

    #[test]
    fn the_most_negative_amount_still_allocates() {
        let parts = allocate(Fen::new(i64::MIN), &[1]).unwrap();
        assert_eq!(parts, vec![Fen::new(i64::MIN)]);
    }

    #[test]
    fn zero_weights_and_reversed_periods_are_errors() {
        assert_eq!(allocate(Fen::new(1), &[]), Err(AllocationError::NoWeight));
        assert_eq!(
            allocate(Fen::new(1), &[0, 0]),
            Err(AllocationError::NoWeight)
        );
        assert_eq!(
            allocate_by_days(Fen::new(1), &[(date(2026, 2, 1), date(2026, 1, 1))]),
            Err(AllocationError::ReversedPeriod { index: 0 })
        );
    }

    proptest! {
        #[test]
        fn largest_remainder_parts_always_sum_to_the_whole(
            total in any::<i64>(),
            weights in proptest::collection::vec(0u64..1_000_000, 1..40),
        ) {
            prop_assume!(weights.iter().any(|&w| w > 0));
            let parts = allocate(Fen::new(total), &weights).unwrap();
            prop_assert_eq!(parts.len(), weights.len());
            let sum: i128 = parts.iter().map(|p| i128::from(p.fen())).sum();
            prop_assert_eq!(sum, i128::from(total));
            // Every part is within one fen of its exact share and a zero weight gets nothing.
            let wsum: i128 = weights.iter().map(|&w| i128::from(w)).sum();
            for (p, &w) in parts.iter().zip(&weights) {
                let exact_times_wsum = i128::from(total) * i128::from(w);
                let diff = i128::from(p.fen()) * wsum - exact_times_wsum;
                prop_assert!(diff.abs() < wsum);
                if w == 0 { prop_assert_eq!(p.fen(), 0); }
            }
        }

        #[test]
        fn allocation_by_days_sums_to_the_whole(
            total in -1_000_000_000i64..1_000_000_000,
            lengths in proptest::collection::vec(1i64..400, 1..24),
        ) {
            let mut start = date(2024, 1, 1);
            let mut periods = Vec::new();
            for len in lengths {
                let end = start.checked_add(jiff::Span::new().days(len)).unwrap();
                periods.push((start, end));
                start = end;
            }
            let parts = allocate_by_days(Fen::new(total), &periods).unwrap();
            prop_assert_eq!(Fen::checked_sum(parts), Ok(Fen::new(total)));
        }
    }
}
