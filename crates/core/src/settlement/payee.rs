//! The provider's receiving account (收款账户): a bank or Alipay account in the provider's
//! own name, required for settlement and changed only with the operator's approval
//! (ALI-A 3.2.4, 4.3.4).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::error::SettlementError;
use crate::ids::ProviderId;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "channel")]
pub enum PayeeChannel {
    Bank {
        bank: String,
        branch: String,
        account_number: String,
    },
    Alipay {
        account: String,
    },
}

/// (Not `deny_unknown_fields`: serde cannot combine it with the flattened channel.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayeeAccount {
    /// The account holder: the provider's registered name.
    pub holder: String,
    #[serde(flatten)]
    pub channel: PayeeChannel,
}

impl PayeeAccount {
    /// Trimmed, complete, and in the provider's own name.
    pub fn checked(self, provider_name: &str) -> Result<PayeeAccount, SettlementError> {
        let t = |s: String, what| {
            let s = s.trim().to_string();
            if s.is_empty() {
                Err(SettlementError::Required(what))
            } else {
                Ok(s)
            }
        };
        let holder = t(self.holder, "holder")?;
        if holder != provider_name.trim() {
            return Err(SettlementError::HolderMismatch {
                expected: provider_name.trim().to_string(),
            });
        }
        let channel = match self.channel {
            PayeeChannel::Bank {
                bank,
                branch,
                account_number,
            } => PayeeChannel::Bank {
                bank: t(bank, "bank")?,
                branch: t(branch, "branch")?,
                account_number: t(account_number, "account_number")?,
            },
            PayeeChannel::Alipay { account } => PayeeChannel::Alipay {
                account: t(account, "account")?,
            },
        };
        Ok(PayeeAccount { holder, channel })
    }

    /// The number payouts go to.
    pub fn number(&self) -> &str {
        match &self.channel {
            PayeeChannel::Bank { account_number, .. } => account_number,
            PayeeChannel::Alipay { account } => account,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayeeChange {
    pub account: PayeeAccount,
    pub requested_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "decision")]
pub enum PayeeDecision {
    Approved,
    Rejected { reason: String },
}

/// A decided change, for the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecidedChange {
    pub change: PayeeChange,
    pub decision: PayeeDecision,
    pub decided_at: Timestamp,
    pub decided_by: String,
}

/// The provider's receiving account and the change waiting for approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayeeRegistration {
    pub provider: ProviderId,
    /// What payouts go to; none until the first request is approved.
    pub approved: Option<PayeeAccount>,
    pub pending: Option<PayeeChange>,
    pub history: Vec<DecidedChange>,
}

impl PayeeRegistration {
    pub fn new(provider: ProviderId) -> Self {
        Self {
            provider,
            approved: None,
            pending: None,
            history: Vec::new(),
        }
    }

    /// For the aggregate's status column: `pending` while a change waits.
    pub fn status(&self) -> &'static str {
        match (&self.pending, &self.approved) {
            (Some(_), _) => "pending",
            (None, Some(_)) => "approved",
            (None, None) => "none",
        }
    }

    /// The provider asks to pay to `account` from now on (a later request replaces a
    /// waiting one). Payouts keep going to the approved account until the operator approves.
    pub fn request(
        &self,
        account: PayeeAccount,
        provider_name: &str,
        now: Timestamp,
    ) -> Result<PayeeRegistration, SettlementError> {
        let mut next = self.clone();
        next.pending = Some(PayeeChange {
            account: account.checked(provider_name)?,
            requested_at: now,
        });
        Ok(next)
    }

    /// Finance decides the waiting change to the account numbered `reviewed` — the one it
    /// looked at: a change the provider replaced meanwhile is not decided blind.
    pub fn decide(
        &self,
        decision: PayeeDecision,
        reviewed: &str,
        by: &str,
        now: Timestamp,
    ) -> Result<PayeeRegistration, SettlementError> {
        let mut next = self.clone();
        let change = next
            .pending
            .take()
            .ok_or(SettlementError::NoPendingChange)?;
        if change.account.number() != reviewed.trim() {
            return Err(SettlementError::ChangeReplaced);
        }
        if let PayeeDecision::Rejected { reason } = &decision
            && reason.trim().is_empty()
        {
            return Err(SettlementError::Required("reason"));
        }
        if decision == PayeeDecision::Approved {
            next.approved = Some(change.account.clone());
        }
        next.history.push(DecidedChange {
            change,
            decision,
            decided_at: now,
            decided_by: by.to_string(),
        });
        Ok(next)
    }
}
