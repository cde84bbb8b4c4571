//! Typed identifiers. Every id is a UUIDv7 (time-ordered, made by the shell and passed in);
//! the type says what it names, so a product id cannot be passed where an order id belongs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! define_id {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }
            pub const fn uuid(self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    )*};
}

define_id!(
    /// A member account (会员): any verified cloud account; buyers are members.
    MemberId,
    /// A provider organisation (服务商).
    ProviderId,
    /// A provider's onboarding application (入驻申请).
    ApplicationId,
    /// A store (店铺).
    StoreId,
    /// A product (商品).
    ProductId,
    /// One reviewed version of a product's listing.
    ListingVersionId,
    /// An order (订单).
    OrderId,
    /// A refund request (退款).
    RefundId,
    /// A staff user: of a provider or of the operator.
    UserId,
);

impl OrderId {
    /// The order's number as people read and quote it: the last ten hex digits of its id,
    /// upper case (the head of a UUIDv7 is its time, the same for orders placed together).
    pub fn number(&self) -> String {
        order_number(&self.0.to_string())
    }
}

/// [`OrderId::number`] of an id as text.
pub fn order_number(id: &str) -> String {
    let tail: String = id.chars().rev().filter(|c| *c != '-').take(10).collect();
    tail.chars().rev().collect::<String>().to_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_number_is_the_tail_of_its_id_in_upper_case() {
        let id = OrderId(Uuid::from_u128(0x0193_0000_0000_7000_8000_00ab_cdef_0123));
        assert_eq!(id.number(), "ABCDEF0123");
        assert_eq!(order_number(&id.to_string()), id.number());
    }

    #[test]
    fn ids_round_trip_through_text_and_json() {
        let id = OrderId(Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0001));
        assert_eq!(id.to_string().parse::<OrderId>().unwrap(), id);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
    }
}
