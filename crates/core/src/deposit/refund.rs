//! The deposit's refund at the end of cooperation (SPEC §10; ALI-A 4.5.6, TC 3.1.5④): only
//! after the cooperation ended and every obligation with it — every buyer's purchase
//! expired, every service delivered, every dispute closed — against the deposit receipt
//! where the rulebook asks for it, and (ALI) only without a breach in the term. The operator
//! then owes it within `refund_working_days` working days (ALI 20, TC 15; JD sets none).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{DepositAccount, DepositDecision, DepositError, REFUND_DUE, ledger, money};
use crate::decision::{Context, DeadlineRequest, Outcome};
use crate::ledger::{Account, AccountKind, LedgerTransaction, Posting};
use crate::money::Fen;

/// What still binds a provider whose cooperation ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Obligations {
    /// Paid orders still in escrow or in service (purchases not expired, services not
    /// delivered).
    pub unfinished_orders: usize,
    pub open_complaints: usize,
    pub open_cases: usize,
}

impl Obligations {
    pub fn ended(&self) -> bool {
        self.unfinished_orders == 0 && self.open_complaints == 0 && self.open_cases == 0
    }

    fn describe(&self) -> String {
        format!(
            "{} unfinished orders, {} open complaints, {} open cases",
            self.unfinished_orders, self.open_complaints, self.open_cases
        )
    }
}

/// What the provider still owes when its deposit is refunded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Owed {
    /// `provider_debt`.
    pub debt: Fen,
    /// `penalties_receivable`.
    pub penalties: Fen,
}

/// The provider asked for its deposit back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRequest {
    pub requested_at: Timestamp,
    pub receipt_returned: bool,
    /// When the operator must have paid; none where the rulebook sets no term (JD).
    pub due_at: Option<Timestamp>,
    pub paid_at: Option<Timestamp>,
    pub paid_amount: Option<Fen>,
    /// Set when the due time passed unpaid: the operator's own breach, shown to staff.
    pub overdue_since: Option<Timestamp>,
}

impl DepositAccount {
    /// The provider asks for the deposit back. `breach_in_term`: any violation booked or
    /// deduction taken during the term.
    pub fn request_refund(
        &self,
        cooperation_ended: bool,
        obligations: &Obligations,
        receipt_returned: bool,
        breach_in_term: bool,
        held: Fen,
        ctx: &mut Context<'_>,
    ) -> Result<DepositDecision, DepositError> {
        if let Some(r) = &self.refund {
            return Err(DepositError::RefundAlreadyRequested(r.requested_at));
        }
        if !cooperation_ended {
            return Err(DepositError::CooperationNotEnded);
        }
        if !obligations.ended() {
            return Err(DepositError::ObligationsRemain(obligations.describe()));
        }
        let rules = &ctx.rulebook.deposit;
        if rules.refund_requires_receipt && !receipt_returned {
            return Err(DepositError::ReceiptRequired);
        }
        if rules.refund_requires_clean_record && (breach_in_term || !self.deductions.is_empty()) {
            return Err(DepositError::BreachDuringTerm);
        }
        if held.is_negative() || held.is_zero() {
            return Err(DepositError::NothingHeld);
        }
        let due_at = match rules.refund_working_days {
            Some(days) => Some(
                ctx.calendar
                    .working_days_deadline(ctx.now, days)
                    .map_err(|_| DepositError::DateOutOfRange)?,
            ),
            None => None,
        };
        let mut next = self.clone();
        next.refund = Some(RefundRequest {
            requested_at: ctx.now,
            receipt_returned,
            due_at,
            paid_at: None,
            paid_amount: None,
            overdue_since: None,
        });
        let mut outcome = Outcome::default().event(
            "deposit.refund_requested",
            self.subject(),
            json!({ "held": held, "due_at": due_at, "receipt_returned": receipt_returned }),
        );
        if let Some(due_at) = due_at {
            outcome.schedule.push(DeadlineRequest {
                kind: REFUND_DUE.into(),
                subject: self.subject(),
                due_at,
                payload: json!({ "provider": self.provider }),
                dedupe_key: self.refund_key(),
            });
        }
        Ok(DepositDecision::of(next, outcome))
    }

    fn refund_key(&self) -> String {
        format!("deposit:{}:refund_due", self.provider)
    }

    /// Finance pays the requested refund: what is held goes back without interest, less what
    /// the provider still owes — its debt (a settlement's negative result carried, or
    /// compensation beyond the deposit) and unpaid penalties are charged against it first
    /// (Dr deposits held / Cr provider debt, penalties receivable, operator cash).
    pub fn pay_refund(
        &self,
        held: Fen,
        owed: Owed,
        ctx: &mut Context<'_>,
    ) -> Result<DepositDecision, DepositError> {
        let Some(request) = self.refund.as_ref().filter(|r| r.paid_at.is_none()) else {
            return Err(DepositError::NoRefundDue);
        };
        if held.is_negative() || held.is_zero() {
            return Err(DepositError::NothingHeld);
        }
        let debt = owed.debt.max(Fen::ZERO).min(held);
        let rest = money(held.checked_sub(debt))?;
        let penalties = owed.penalties.max(Fen::ZERO).min(rest);
        let paid = money(rest.checked_sub(penalties))?;
        let mut postings = vec![Posting::debit(self.held_account(), held)];
        for (kind, owner, amount) in [
            (AccountKind::ProviderDebt, self.provider.to_string(), debt),
            (
                AccountKind::PenaltiesReceivable,
                self.provider.to_string(),
                penalties,
            ),
            (AccountKind::OperatorCash, String::new(), paid),
        ] {
            if amount.is_positive() {
                postings.push(money(Posting::credit(Account::new(kind, owner), amount))?);
            }
        }
        let tx = ledger(LedgerTransaction::new(
            ctx.ids.next_id(),
            "deposit_refund",
            self.provider.to_string(),
            ctx.now,
            postings,
        ))?;
        let mut next = self.clone();
        next.refund = Some(RefundRequest {
            paid_at: Some(ctx.now),
            paid_amount: Some(paid),
            ..request.clone()
        });
        let mut outcome = Outcome::default().event(
            "deposit.refunded",
            self.subject(),
            json!({
                "amount": paid, "debt_charged": debt, "penalties_charged": penalties,
                "late": request.overdue_since.is_some(),
            }),
        );
        outcome.transactions.push(tx);
        outcome.cancel.push(self.refund_key());
        Ok(DepositDecision::of(next, outcome))
    }

    /// The refund's due time passed: unpaid, it is overdue (recorded once).
    pub fn refund_overdue(&self, ctx: &mut Context<'_>) -> Option<DepositDecision> {
        let request = self
            .refund
            .as_ref()
            .filter(|r| r.paid_at.is_none() && r.overdue_since.is_none())?;
        let mut next = self.clone();
        next.refund = Some(RefundRequest {
            overdue_since: Some(ctx.now),
            ..request.clone()
        });
        let outcome = Outcome::default().event(
            "deposit.refund_overdue",
            self.subject(),
            json!({ "due_at": request.due_at }),
        );
        Some(DepositDecision::of(next, outcome))
    }
}
