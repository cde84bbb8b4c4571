//! Payouts: what a statement pays to the provider's approved account through the payout
//! gateway. Instructed in the statement's own write (Dr settlement payable / Cr payouts in
//! transit); the gateway's answer then settles it (Dr in transit / Cr operator cash) or
//! returns it (Dr in transit / Cr settlement payable), so a failed payout is paid by the
//! next run. At most one payout per statement.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::SettlementError;
use super::payee::PayeeAccount;
use super::period::Period;
use crate::decision::{Context, Event, Outcome};
use crate::ids::ProviderId;
use crate::ledger::{Account, AccountKind, LedgerTransaction, Posting};
use crate::money::Fen;

pub const PAYOUT_INSTRUCTED: &str = "payout_instructed";
pub const PAYOUT_PAID: &str = "payout_paid";
pub const PAYOUT_RETURNED: &str = "payout_returned";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayoutStatus {
    /// Written with its statement; not yet accepted by the gateway.
    Instructed,
    /// Accepted by the gateway, no final answer yet.
    Pending,
    Paid,
    /// The gateway refused it; the money went back to settlement payable.
    Failed,
}

impl PayoutStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PayoutStatus::Instructed => "instructed",
            PayoutStatus::Pending => "pending",
            PayoutStatus::Paid => "paid",
            PayoutStatus::Failed => "failed",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, PayoutStatus::Paid | PayoutStatus::Failed)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payout {
    pub id: Uuid,
    pub provider: ProviderId,
    pub statement: Uuid,
    pub period: Period,
    pub amount: Fen,
    pub account: PayeeAccount,
    pub status: PayoutStatus,
    pub instructed_at: Timestamp,
    pub gateway_reference: Option<String>,
    pub failure: Option<String>,
    pub settled_at: Option<Timestamp>,
}

/// What the payout gateway answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "result")]
pub enum GatewayAnswer {
    Accepted { reference: String },
    Paid { reference: String },
    Failed { reason: String },
}

fn in_transit(id: Uuid) -> Account {
    Account::new(AccountKind::PayoutsInTransit, id.to_string())
}

impl Payout {
    /// `payout:<id>`: the subject of its events.
    pub fn subject(&self) -> String {
        format!("payout:{}", self.id)
    }

    /// A payout of `amount` for `statement`, with its instruction transaction.
    pub fn instruct(
        provider: ProviderId,
        statement: Uuid,
        period: Period,
        amount: Fen,
        account: PayeeAccount,
        ctx: &mut Context<'_>,
    ) -> Result<(Payout, Vec<LedgerTransaction>), SettlementError> {
        if !amount.is_positive() {
            return Err(SettlementError::NegativePayout { amount });
        }
        let id = ctx.ids.next_id();
        let tx = LedgerTransaction::new(
            ctx.ids.next_id(),
            PAYOUT_INSTRUCTED,
            format!("payout:{id}"),
            ctx.now,
            vec![
                Posting::debit(
                    Account::new(AccountKind::SettlementPayable, provider.to_string()),
                    amount,
                ),
                Posting::credit(in_transit(id), amount)?,
            ],
        )?;
        let payout = Payout {
            id,
            provider,
            statement,
            period,
            amount,
            account,
            status: PayoutStatus::Instructed,
            instructed_at: ctx.now,
            gateway_reference: None,
            failure: None,
            settled_at: None,
        };
        Ok((payout, vec![tx]))
    }

    /// Applies the gateway's answer. An answer to a payout already paid or failed changes
    /// nothing (gateways repeat callbacks).
    pub fn answer(
        &self,
        answer: GatewayAnswer,
        ctx: &mut Context<'_>,
    ) -> Result<(Payout, Outcome), SettlementError> {
        let mut next = self.clone();
        let mut outcome = Outcome::default();
        if self.status.is_final() {
            return Ok((next, outcome));
        }
        let (kind, to) = match &answer {
            GatewayAnswer::Accepted { reference } => {
                next.status = PayoutStatus::Pending;
                next.gateway_reference = Some(reference.clone());
                (None, None)
            }
            GatewayAnswer::Paid { reference } => {
                next.status = PayoutStatus::Paid;
                next.gateway_reference = Some(reference.clone());
                next.settled_at = Some(ctx.now);
                (
                    Some(PAYOUT_PAID),
                    Some(Account::operator(AccountKind::OperatorCash)),
                )
            }
            GatewayAnswer::Failed { reason } => {
                next.status = PayoutStatus::Failed;
                next.failure = Some(reason.clone());
                next.settled_at = Some(ctx.now);
                let back = Account::new(AccountKind::SettlementPayable, self.provider.to_string());
                (Some(PAYOUT_RETURNED), Some(back))
            }
        };
        if let (Some(kind), Some(to)) = (kind, to) {
            outcome.transactions.push(LedgerTransaction::new(
                ctx.ids.next_id(),
                kind,
                self.subject(),
                ctx.now,
                vec![
                    Posting::debit(in_transit(self.id), self.amount),
                    Posting::credit(to, self.amount)?,
                ],
            )?);
        }
        outcome.events.push(Event {
            kind: format!("payout.{}", next.status.as_str()),
            subject: self.subject(),
            payload: serde_json::json!({
                "payout": self.id, "provider": self.provider, "amount": self.amount,
                "answer": answer,
            }),
        });
        Ok((next, outcome))
    }
}
