//! The platform fee taken when escrow is released (ALI-A 4.2.1–4.2.2).

use super::error::OrderError;
use crate::catalog::FeeTerms;
use crate::money::Fen;
use crate::rate::{Rounding, div_round};

/// The fee on `released` out of an order of `total` for `quantity` units.
///
/// Commission: the rate on the released amount. Base price: the margin over the agreed base
/// price of every unit, pro rata when part of the order was refunded before release. Never
/// negative, never more than what is released.
pub fn platform_fee(
    terms: &FeeTerms,
    released: Fen,
    total: Fen,
    quantity: u32,
    rounding: Rounding,
) -> Result<Fen, OrderError> {
    if released.fen() <= 0 || total.fen() <= 0 {
        return Ok(Fen::ZERO);
    }
    let fee = match *terms {
        FeeTerms::Commission { rate } => rate.apply(released, rounding)?,
        FeeTerms::BasePrice { base_price } => {
            let base = base_price.checked_mul(i64::from(quantity))?;
            let margin = total.checked_sub(base)?;
            let scaled = div_round(
                i128::from(margin.fen()) * i128::from(released.fen()),
                i128::from(total.fen()),
                rounding,
            );
            Fen::new(i64::try_from(scaled).map_err(|_| crate::money::MoneyError::Overflow)?)
        }
    };
    Ok(fee.clamp(Fen::ZERO, released))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commission_is_the_rate_on_what_is_released() {
        let terms = FeeTerms::Commission {
            rate: "20%".parse().unwrap(),
        };
        let fee = platform_fee(
            &terms,
            Fen::new(100_000),
            Fen::new(100_000),
            1,
            Rounding::HalfUp,
        );
        assert_eq!(fee, Ok(Fen::new(20_000)));
    }

    #[test]
    fn nothing_released_or_nothing_paid_carries_no_fee() {
        let terms = FeeTerms::Commission {
            rate: "20%".parse().unwrap(),
        };
        let fee = |released: i64, total: i64| {
            platform_fee(
                &terms,
                Fen::new(released),
                Fen::new(total),
                1,
                Rounding::HalfUp,
            )
        };
        // A free order (nothing paid) releases no fee even if asked about an amount.
        assert_eq!(fee(100_000, 0), Ok(Fen::ZERO));
        assert_eq!(fee(0, 100_000), Ok(Fen::ZERO));
        assert_eq!(fee(-100, 100_000), Ok(Fen::ZERO));
        assert_eq!(fee(100_000, -100), Ok(Fen::ZERO));
        // One fen released of a paid order: 20% rounds half up to nothing.
        assert_eq!(fee(1, 100_000), Ok(Fen::ZERO));
        assert_eq!(fee(3, 100_000), Ok(Fen::new(1)));
    }

    #[test]
    fn base_price_fee_is_the_margin_and_shrinks_with_an_earlier_refund() {
        // Sold at 1,000.00 per unit, base price 700.00, two units: fee 600.00.
        let terms = FeeTerms::BasePrice {
            base_price: Fen::new(70_000),
        };
        let total = Fen::new(200_000);
        let whole = platform_fee(&terms, total, total, 2, Rounding::HalfUp);
        assert_eq!(whole, Ok(Fen::new(60_000)));
        // Half refunded before release: half the margin.
        let half = platform_fee(&terms, Fen::new(100_000), total, 2, Rounding::HalfUp);
        assert_eq!(half, Ok(Fen::new(30_000)));
    }
}
