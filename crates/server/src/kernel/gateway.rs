//! The payment gateway abstraction and the built-in sandbox gateway.
//!
//! A gateway is asked to charge an order's amount under a key derived from the order and
//! its payment intent (`PaymentIntent::gateway_key`), never the client's `Idempotency-Key`:
//! every retry of one intent is one charge at the gateway, and no two orders or intents can
//! share a key. A charge whose payment was never committed is voided under the same key.
//! The sandbox is told per request what to do: succeed, fail or time out.

use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use yunshi_core::ids::OrderId;
use yunshi_core::money::Fen;

/// What the shell asks a gateway to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    pub order: OrderId,
    pub amount: Fen,
    /// The gateway's de-duplication key: the order's and its payment intent's.
    pub key: String,
    /// What the sandbox gateway is told to do; a real gateway ignores it.
    pub sandbox: SandboxBehaviour,
}

/// What the gateway answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    Succeeded {
        reference: String,
    },
    Failed {
        reason: String,
    },
    /// No answer in time: the order stays unpaid; a retry with the same key is safe.
    TimedOut,
}

/// What the gateway answered to a void.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VoidOutcome {
    /// The charge under the key is voided, or there never was one.
    Voided,
    /// Not now: the void is asked again later.
    Failed { reason: String },
}

pub type ChargeFuture<'a> = Pin<Box<dyn Future<Output = ChargeOutcome> + Send + 'a>>;
pub type VoidFuture<'a> = Pin<Box<dyn Future<Output = VoidOutcome> + Send + 'a>>;

/// A payment gateway. Real gateways plug in beside the sandbox (`Settings::gateway`).
pub trait PaymentGateway: Send + Sync {
    /// The name recorded on the payment.
    fn name(&self) -> &'static str;
    fn charge(&self, charge: &Charge) -> ChargeFuture<'_>;
    /// Voids whatever was charged under `key` (idempotent).
    fn void(&self, order: OrderId, key: &str) -> VoidFuture<'_>;
}

/// What the sandbox gateway is told to do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SandboxBehaviour {
    #[default]
    Succeed,
    Fail,
    Timeout,
}

/// The built-in sandbox gateway.
#[derive(Debug, Clone, Copy, Default)]
pub struct SandboxGateway;

impl SandboxGateway {
    /// The reference of a charge: the same order and key always give the same reference.
    pub fn reference(charge: &Charge) -> String {
        let digest = blake3::hash(format!("{}\n{}", charge.order, charge.key).as_bytes());
        format!("sandbox-{}", &digest.to_hex()[..24])
    }
}

impl PaymentGateway for SandboxGateway {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    fn charge(&self, charge: &Charge) -> ChargeFuture<'_> {
        let outcome = match charge.sandbox {
            SandboxBehaviour::Succeed => ChargeOutcome::Succeeded {
                reference: Self::reference(charge),
            },
            SandboxBehaviour::Fail => ChargeOutcome::Failed {
                reason: "the sandbox gateway was told to decline this payment".into(),
            },
            SandboxBehaviour::Timeout => ChargeOutcome::TimedOut,
        };
        Box::pin(std::future::ready(outcome))
    }

    fn void(&self, _order: OrderId, _key: &str) -> VoidFuture<'_> {
        Box::pin(std::future::ready(VoidOutcome::Voided))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_references_follow_order_and_key() {
        let charge = Charge {
            order: OrderId::from_uuid(uuid::Uuid::from_u128(7)),
            amount: Fen::new(100),
            key: "k1".into(),
            sandbox: SandboxBehaviour::Succeed,
        };
        let again = SandboxGateway::reference(&charge);
        assert_eq!(SandboxGateway::reference(&charge), again);
        let other = Charge {
            key: "k2".into(),
            ..charge
        };
        assert_ne!(SandboxGateway::reference(&other), again);
    }
}
