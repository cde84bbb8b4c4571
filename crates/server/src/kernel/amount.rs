//! Money on the API: the one schema every amount has, and the deployment's bound on an
//! amount taken from a request (applied by [`crate::kernel::problem::ApiJson`]).

use utoipa::ToSchema;
use yunshi_core::money::Fen;

/// An amount of CNY as a decimal string: digits, at most two decimals, an optional minus;
/// no separators, symbols, spaces or leading zeros ("1234.56", "1234.5", "1234", "-0.05").
/// In a request it is at most the deployment's `max_amount` (default 1000000000.00) in
/// magnitude, or the request is refused with 422 `amount_above_limit`.
#[derive(ToSchema)]
#[schema(pattern = r"^-?(0|[1-9][0-9]*)(\.[0-9]{1,2})?$", example = "1234.56")]
pub struct Money(pub String);

/// The largest amount one money field of a request may carry (configuration `max_amount`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxAmount(pub Fen);
