//! The provider's deposit (保证金, SPEC §10) after admission: deductions and the top-up each
//! demands, what a missed top-up costs, the surcharge after repeated deductions, and the
//! refund at the end of cooperation.
//!
//! The money is in the ledger (`deposits_held:<provider>`); the [`DepositAccount`] aggregate
//! remembers the duties around it. Every decision takes the balances it needs as values
//! (`held`, `payable`) read by the shell in the same attempt, and returns the ledger
//! transactions, events and deadlines to write with the new account in one batch.
//!
//! - A deduction (violation, or compensation paid on the provider's behalf) that leaves the
//!   deposit short opens a [`TopUpDemand`] due `top_up_working_days` working days after the
//!   notice (ALI/JD 3, TC 7), with a reminder on the eve of the last day.
//! - Missed, under ALI/JD (`deduct_from_next_settlement` first): the shortfall is claimed
//!   from the next settlement: the statement of the period it falls in takes it from what
//!   the provider is paid, as its own line; if that is not enough the store closes until
//!   topped up. Under TC the store closes at once (TC 3.1.5③).
//! - A top-up that makes the deposit whole meets every open demand, drops the claim and
//!   reopens the stores closed for the shortfall.
//! - More than `deductions_more_than` deductions within `window_months` require the
//!   surcharge (10,000.00) for `for_months` (ALI-R art.13(7)4, JD art.9(6)4) — applied
//!   automatically, a rulebook parameter: the sources say the operator "may" require it.

mod error;
mod refund;
#[cfg(test)]
mod tests;

pub use error::DepositError;
pub use refund::{Obligations, Owed, RefundRequest};

use jiff::{Span, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::decision::{Context, DeadlineRequest, Outcome};
use crate::ids::{OrderId, ProviderId};
use crate::ledger::{Account, AccountKind, LedgerTransaction, Posting};
use crate::money::Fen;
use crate::rulebook::{MarketplaceRulebook, TopUpFailureStep};
use crate::settlement::Period;
use crate::storefront::{Store, StoreError};
use crate::time::beijing_date;

/// Deadline kind: the reminder on the eve of a top-up's last day.
pub const TOP_UP_REMINDER: &str = "deposit.top_up_reminder";
/// Deadline kind: a top-up's last day ended.
pub const TOP_UP_DUE: &str = "deposit.top_up_due";
/// Deadline kind: the operator's refund is due.
pub const REFUND_DUE: &str = "deposit.refund_due";

/// Why the deposit was reduced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cause", rename_all = "snake_case")]
pub enum DeductionCause {
    /// A violation case's penalty (the table's deposit column).
    Violation { case: Uuid, code: String },
    /// A refund or compensation the operator paid a buyer on the provider's behalf
    /// (ALI-A 4.5.3, TC 3.1.5②).
    Compensation { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deduction {
    pub id: Uuid,
    pub at: Timestamp,
    /// Taken from the deposit.
    pub amount: Fen,
    #[serde(flatten)]
    pub cause: DeductionCause,
    /// The business object behind it (a case or an order id).
    pub reference: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TopUpStatus {
    Open,
    /// The deposit was whole again.
    Met {
        at: Timestamp,
    },
    /// Not topped up in time: what happened next.
    Missed {
        at: Timestamp,
        shortfall: Fen,
        /// ALI/JD: claimed from the next settlement.
        claimed_from_settlement: bool,
        /// TC: the store closed at once.
        store_closed: bool,
    },
}

/// The duty to restore the deposit after a deduction notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopUpDemand {
    /// The deduction whose notice started the term.
    pub deduction: Uuid,
    pub noticed_at: Timestamp,
    /// The end (Beijing 24:00) of the last working day.
    pub due_at: Timestamp,
    pub remind_at: Timestamp,
    #[serde(flatten)]
    pub status: TopUpStatus,
}

impl TopUpDemand {
    fn key(&self, provider: ProviderId, what: &str) -> String {
        format!("deposit:{provider}:top_up:{}:{what}", self.deduction)
    }
}

/// The extra deposit required after repeated deductions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurchargeDemand {
    pub amount: Fen,
    pub from: Timestamp,
    pub until: Timestamp,
    /// The deductions that counted.
    pub deductions: Vec<Uuid>,
}

/// An extra deposit a violation case required on top of the rulebook's (追加保证金, a measure
/// stacked on the case: ALI-R art.24(5), JD art.20(5)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtraRequirement {
    pub case: Uuid,
    pub amount: Fen,
    pub from: Timestamp,
    /// **[design assumption]**: the sources name no term; the surcharge's (12 months).
    pub until: Timestamp,
}

/// A missed top-up waiting for the settlement cut-off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementClaim {
    pub since: Timestamp,
    /// The cut-off of the period whose settlement pays it.
    pub at: Timestamp,
}

/// Per provider: the duties around its deposit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositAccount {
    pub provider: ProviderId,
    #[serde(default)]
    pub deductions: Vec<Deduction>,
    #[serde(default)]
    pub top_ups: Vec<TopUpDemand>,
    #[serde(default)]
    pub surcharge: Option<SurchargeDemand>,
    #[serde(default)]
    pub extra_requirements: Vec<ExtraRequirement>,
    #[serde(default)]
    pub settlement_claim: Option<SettlementClaim>,
    /// Since when the stores are closed for the shortfall (until topped up).
    #[serde(default)]
    pub closed_for_shortfall: Option<Timestamp>,
    #[serde(default)]
    pub refund: Option<RefundRequest>,
}

/// The order a compensation cites: whose it is and what its buyer paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CitedOrder {
    pub order: OrderId,
    pub provider: ProviderId,
    pub paid: Fen,
}

/// What a deposit decision changed, for the shell to write in one batch.
#[derive(Debug)]
pub struct DepositDecision {
    pub account: DepositAccount,
    pub outcome: Outcome,
    /// Close every store of the provider for the shortfall.
    pub close_stores: bool,
    /// Reopen the stores closed for the shortfall.
    pub reopen_stores: bool,
}

impl DepositDecision {
    fn of(account: DepositAccount, outcome: Outcome) -> Self {
        Self {
            account,
            outcome,
            close_stores: false,
            reopen_stores: false,
        }
    }
}

/// Where money taken from the deposit goes, and what the taking is.
struct Taking<'a> {
    /// The ledger transaction's kind.
    kind: &'static str,
    reference: &'a str,
    /// The provider's account for what the deposit does not cover.
    beyond_deposit: AccountKind,
    /// Credited with the whole amount.
    to: Account,
    cause: DeductionCause,
}

/// The amount a missed top-up takes at the cut-off, and what stays short.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Offset {
    pub taken: Fen,
    pub still_short: Fen,
}

fn money<T>(r: Result<T, crate::MoneyError>) -> Result<T, DepositError> {
    r.map_err(|_| DepositError::AmountOutOfRange)
}

fn ledger<T>(r: Result<T, crate::ledger::LedgerError>) -> Result<T, DepositError> {
    r.map_err(|_| DepositError::AmountOutOfRange)
}

fn add_months(at: Timestamp, months: u32) -> Result<Timestamp, DepositError> {
    let date = beijing_date(at)
        .checked_add(Span::new().months(i64::from(months)))
        .map_err(|_| DepositError::DateOutOfRange)?;
    let time = crate::time::beijing_datetime(at).time();
    crate::time::beijing_instant(date, time).map_err(|_| DepositError::DateOutOfRange)
}

impl DepositAccount {
    pub fn new(provider: ProviderId) -> Self {
        Self {
            provider,
            deductions: Vec::new(),
            top_ups: Vec::new(),
            surcharge: None,
            extra_requirements: Vec::new(),
            settlement_claim: None,
            closed_for_shortfall: None,
            refund: None,
        }
    }

    fn subject(&self) -> String {
        format!("provider:{}", self.provider)
    }

    fn held_account(&self) -> Account {
        Account::new(AccountKind::DepositsHeld, self.provider.to_string())
    }

    /// For the aggregate's status column.
    pub fn status_label(&self) -> &'static str {
        if self.refund.as_ref().is_some_and(|r| r.paid_at.is_some()) {
            "refunded"
        } else if self.refund.is_some() {
            "refund_requested"
        } else if self.closed_for_shortfall.is_some() {
            "closed_for_shortfall"
        } else if self.settlement_claim.is_some() {
            "claimed_from_settlement"
        } else if self.top_ups.iter().any(|t| t.status == TopUpStatus::Open) {
            "top_up_due"
        } else {
            "whole"
        }
    }

    /// The surcharge in force at `at`, if any.
    pub fn surcharge_at(&self, at: Timestamp) -> Fen {
        match &self.surcharge {
            Some(s) if s.from <= at && at < s.until => s.amount,
            _ => Fen::ZERO,
        }
    }

    /// The extra deposits cases require at `at`.
    pub fn extras_at(&self, at: Timestamp) -> Result<Fen, DepositError> {
        money(Fen::checked_sum(
            self.extra_requirements
                .iter()
                .filter(|e| e.from <= at && at < e.until)
                .map(|e| e.amount),
        ))
    }

    /// What is required held at `at`: the rulebook's amount, the surcharge in force and the
    /// extra deposits cases require.
    pub fn required_at(
        &self,
        rulebook: &MarketplaceRulebook,
        at: Timestamp,
    ) -> Result<Fen, DepositError> {
        let base = money(
            rulebook
                .deposit
                .required_amount
                .checked_add(self.surcharge_at(at)),
        )?;
        money(base.checked_add(self.extras_at(at)?))
    }

    /// What is missing from `held` at `at` (zero when whole).
    pub fn shortfall(
        &self,
        held: Fen,
        rulebook: &MarketplaceRulebook,
        at: Timestamp,
    ) -> Result<Fen, DepositError> {
        let required = self.required_at(rulebook, at)?;
        Ok(money(required.checked_sub(held))?.max(Fen::ZERO))
    }

    /// Deductions within the rolling window ending at `at`.
    pub fn deductions_within(&self, months: u32, at: Timestamp) -> Result<usize, DepositError> {
        let mut n = 0;
        for d in &self.deductions {
            if d.at <= at && at < add_months(d.at, months)? {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Records a deduction already booked in the ledger (by the case's penalty, or by
    /// [`DepositAccount::compensate`]) and opens the top-up it demands. `held_after` is what
    /// the deposit holds once it is taken.
    pub fn record_deduction(
        &self,
        deduction: Deduction,
        held_after: Fen,
        ctx: &mut Context<'_>,
    ) -> Result<DepositDecision, DepositError> {
        if deduction.amount.is_negative() || deduction.amount.is_zero() {
            return Err(DepositError::InvalidAmount);
        }
        let mut next = self.clone();
        let mut outcome = Outcome::default().event(
            "deposit.deducted",
            self.subject(),
            json!({
                "deduction": deduction.id, "amount": deduction.amount,
                "cause": deduction.cause, "reference": deduction.reference,
                "held": held_after,
            }),
        );
        next.deductions.push(deduction.clone());

        // The surcharge: counted over the rolling window, once while one is in force.
        if let Some(rule) = &ctx.rulebook.deposit.surcharge
            && next.surcharge_at(ctx.now).is_zero()
        {
            let counted: Vec<Uuid> = next
                .deductions
                .iter()
                .filter(|d| {
                    add_months(d.at, rule.window_months).is_ok_and(|end| ctx.now < end)
                        && d.at <= ctx.now
                })
                .map(|d| d.id)
                .collect();
            if counted.len() > rule.deductions_more_than as usize {
                let s = SurchargeDemand {
                    amount: rule.amount,
                    from: ctx.now,
                    until: add_months(ctx.now, rule.for_months)?,
                    deductions: counted,
                };
                outcome = outcome.event(
                    "deposit.surcharge_required",
                    self.subject(),
                    json!({ "amount": s.amount, "until": s.until, "deductions": s.deductions }),
                );
                next.surcharge = Some(s);
            }
        }

        next.demand_top_up(deduction.id, held_after, &mut outcome, ctx)?;
        Ok(DepositDecision::of(next, outcome))
    }

    /// Opens the top-up a notice (`notice`: a deduction or an extra requirement) demands
    /// when `held` falls short: due in the rulebook's working days, with a reminder.
    fn demand_top_up(
        &mut self,
        notice: Uuid,
        held: Fen,
        outcome: &mut Outcome,
        ctx: &mut Context<'_>,
    ) -> Result<(), DepositError> {
        let shortfall = self.shortfall(held, ctx.rulebook, ctx.now)?;
        if shortfall.is_zero() {
            return Ok(());
        }
        let days = ctx.rulebook.deposit.top_up_working_days;
        let due_at = ctx
            .calendar
            .working_days_deadline(ctx.now, days)
            .map_err(|_| DepositError::DateOutOfRange)?;
        // The reminder: at the start of the last working day (at once for a 1-day term).
        let remind_at = ctx
            .calendar
            .working_days_deadline(ctx.now, days.saturating_sub(1))
            .map_err(|_| DepositError::DateOutOfRange)?
            .max(ctx.now);
        let demand = TopUpDemand {
            deduction: notice,
            noticed_at: ctx.now,
            due_at,
            remind_at,
            status: TopUpStatus::Open,
        };
        let payload = json!({ "provider": self.provider, "deduction": notice });
        outcome.schedule.push(DeadlineRequest {
            kind: TOP_UP_REMINDER.into(),
            subject: self.subject(),
            due_at: remind_at,
            payload: payload.clone(),
            dedupe_key: demand.key(self.provider, "reminder"),
        });
        outcome.schedule.push(DeadlineRequest {
            kind: TOP_UP_DUE.into(),
            subject: self.subject(),
            due_at,
            payload,
            dedupe_key: demand.key(self.provider, "due"),
        });
        outcome.events.push(crate::decision::Event {
            kind: "deposit.top_up_demanded".into(),
            subject: self.subject(),
            payload: json!({
                "notice": notice, "shortfall": shortfall, "due_at": due_at, "working_days": days,
            }),
        });
        self.top_ups.push(demand);
        Ok(())
    }

    /// A case requires `amount` more deposit (a stacked measure): in force from now for the
    /// surcharge's term, and a top-up falls due as after a deduction notice.
    pub fn require_extra(
        &self,
        case: Uuid,
        amount: Fen,
        held: Fen,
        ctx: &mut Context<'_>,
    ) -> Result<DepositDecision, DepositError> {
        if amount.is_negative() || amount.is_zero() {
            return Err(DepositError::InvalidAmount);
        }
        let months = ctx
            .rulebook
            .deposit
            .surcharge
            .as_ref()
            .map_or(12, |s| s.for_months);
        let extra = ExtraRequirement {
            case,
            amount,
            from: ctx.now,
            until: add_months(ctx.now, months)?,
        };
        let mut next = self.clone();
        let mut outcome = Outcome::default().event(
            "deposit.extra_required",
            self.subject(),
            json!({ "case": case, "amount": amount, "until": extra.until }),
        );
        next.extra_requirements.push(extra);
        next.demand_top_up(case, held, &mut outcome, ctx)?;
        Ok(DepositDecision::of(next, outcome))
    }

    /// A case deducts `amount` from the deposit (a stacked measure, TC 7.2 扣除保证金): what
    /// the deposit holds goes to penalty revenue, the rest is owed; a top-up falls due.
    pub fn deduct_penalty(
        &self,
        case: Uuid,
        code: &str,
        amount: Fen,
        held: Fen,
        ctx: &mut Context<'_>,
    ) -> Result<DepositDecision, DepositError> {
        let cause = DeductionCause::Violation {
            case,
            code: code.to_string(),
        };
        let (decision, _) = self.take(
            amount,
            held,
            Taking {
                kind: "violation_deposit_deduction",
                reference: &case.to_string(),
                beyond_deposit: AccountKind::PenaltiesReceivable,
                to: Account::operator(AccountKind::PenaltyRevenue),
                cause,
            },
            ctx,
        )?;
        Ok(decision)
    }

    /// Takes `amount` from the deposit `held` to `taking.to`; what the deposit does not hold
    /// is booked to the provider's `beyond_deposit` account. A deduction (and the top-up it
    /// demands) when anything came from the deposit. Returns the decision and what is owed.
    fn take(
        &self,
        amount: Fen,
        held: Fen,
        taking: Taking<'_>,
        ctx: &mut Context<'_>,
    ) -> Result<(DepositDecision, Fen), DepositError> {
        if amount.is_negative() || amount.is_zero() {
            return Err(DepositError::InvalidAmount);
        }
        let held = held.max(Fen::ZERO);
        let from_deposit = amount.min(held);
        let owed = money(amount.checked_sub(from_deposit))?;
        let id = ctx.ids.next_id();
        let mut postings = Vec::new();
        if !from_deposit.is_zero() {
            postings.push(Posting::debit(self.held_account(), from_deposit));
        }
        if !owed.is_zero() {
            postings.push(Posting::debit(
                Account::new(taking.beyond_deposit, self.provider.to_string()),
                owed,
            ));
        }
        postings.push(money(Posting::credit(taking.to, amount))?);
        let tx = ledger(LedgerTransaction::new(
            id,
            taking.kind,
            taking.reference,
            ctx.now,
            postings,
        ))?;
        let mut decision = if from_deposit.is_zero() {
            DepositDecision::of(self.clone(), Outcome::default())
        } else {
            let deduction = Deduction {
                id,
                at: ctx.now,
                amount: from_deposit,
                cause: taking.cause,
                reference: taking.reference.to_string(),
            };
            self.record_deduction(deduction, money(held.checked_sub(from_deposit))?, ctx)?
        };
        decision.outcome.transactions.push(tx);
        Ok((decision, owed))
    }

    /// The operator paid a buyer `amount` on the provider's behalf: taken from the deposit
    /// (Dr deposits held / Cr operator cash), the part the deposit does not cover booked as
    /// the provider's debt (SPEC §10: "the rest is deducted from settlements, then claimed").
    /// It must cite a paid order of this provider (`cited`, looked up from `reference`) and
    /// is bounded by what that order's buyer paid **[design assumption]**: the obligation a
    /// compensation discharges is the buyer's payment; damages beyond it are not taken from
    /// a deposit by one finance clerk.
    pub fn compensate(
        &self,
        amount: Fen,
        reason: &str,
        reference: &str,
        cited: Option<CitedOrder>,
        held: Fen,
        ctx: &mut Context<'_>,
    ) -> Result<DepositDecision, DepositError> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(DepositError::Required("reason"));
        }
        let cited = cited
            .filter(|c| c.provider == self.provider)
            .ok_or_else(|| DepositError::CompensationWithoutOrder(reference.to_string()))?;
        if amount > cited.paid {
            return Err(DepositError::CompensationAboveObligation {
                amount,
                paid: cited.paid,
            });
        }
        let reference = cited.order.to_string();
        let reference = reference.as_str();
        let cause = DeductionCause::Compensation {
            reason: reason.to_string(),
        };
        let (mut decision, owed) = self.take(
            amount,
            held,
            Taking {
                kind: "deposit_compensation",
                reference,
                beyond_deposit: AccountKind::ProviderDebt,
                to: Account::operator(AccountKind::OperatorCash),
                cause,
            },
            ctx,
        )?;
        if !owed.is_zero() {
            decision.outcome = decision.outcome.event(
                "deposit.compensation_owed",
                self.subject(),
                json!({ "amount": owed, "reference": reference }),
            );
        }
        Ok(decision)
    }

    /// The eve of the last day: a reminder while the demand is open and the deposit short.
    pub fn remind(
        &self,
        deduction: Uuid,
        held: Fen,
        ctx: &mut Context<'_>,
    ) -> Result<Option<DepositDecision>, DepositError> {
        let Some(demand) = self.open_demand(deduction) else {
            return Ok(None);
        };
        let shortfall = self.shortfall(held, ctx.rulebook, ctx.now)?;
        if shortfall.is_zero() {
            return Ok(None);
        }
        let outcome = Outcome::default().event(
            "deposit.top_up_reminder",
            self.subject(),
            json!({ "deduction": deduction, "shortfall": shortfall, "due_at": demand.due_at }),
        );
        Ok(Some(DepositDecision::of(self.clone(), outcome)))
    }

    fn open_demand(&self, deduction: Uuid) -> Option<&TopUpDemand> {
        self.top_ups
            .iter()
            .find(|t| t.deduction == deduction && t.status == TopUpStatus::Open)
    }

    /// The top-up term of `deduction` ended. Whole: the demand is met. Short: the first
    /// step of the rulebook — a claim on the next settlement (ALI/JD) or the store closed
    /// (TC). `None`: nothing to do (met meanwhile, or already handled).
    pub fn top_up_missed(
        &self,
        deduction: Uuid,
        held: Fen,
        ctx: &mut Context<'_>,
    ) -> Result<Option<DepositDecision>, DepositError> {
        if self.open_demand(deduction).is_none() {
            return Ok(None);
        }
        let shortfall = self.shortfall(held, ctx.rulebook, ctx.now)?;
        let mut next = self.clone();
        let now = ctx.now;
        let status = if shortfall.is_zero() {
            TopUpStatus::Met { at: now }
        } else {
            let steps = &ctx.rulebook.deposit.on_not_topped_up;
            let claim = steps.first() == Some(&TopUpFailureStep::DeductFromNextSettlement);
            let close = !claim && steps.contains(&TopUpFailureStep::CloseStoreUntilToppedUp);
            TopUpStatus::Missed {
                at: now,
                shortfall,
                claimed_from_settlement: claim,
                store_closed: close,
            }
        };
        for t in &mut next.top_ups {
            if t.deduction == deduction {
                t.status = status.clone();
            }
        }
        let mut decision = DepositDecision::of(next, Outcome::default());
        match status {
            TopUpStatus::Met { .. } => {}
            TopUpStatus::Missed {
                claimed_from_settlement,
                store_closed,
                ..
            } => {
                decision.outcome = decision.outcome.event(
                    "deposit.top_up_missed",
                    self.subject(),
                    json!({
                        "deduction": deduction, "shortfall": shortfall,
                        "claimed_from_settlement": claimed_from_settlement,
                        "store_closed": store_closed,
                    }),
                );
                if claimed_from_settlement && decision.account.settlement_claim.is_none() {
                    let cutoff = Period::of_instant(&ctx.rulebook.settlement, now)
                        .and_then(|p| p.cutoff())
                        .map_err(|_| DepositError::DateOutOfRange)?;
                    decision.account.settlement_claim = Some(SettlementClaim {
                        since: now,
                        at: cutoff,
                    });
                }
                if store_closed {
                    decision.close_for_shortfall(now);
                }
            }
            TopUpStatus::Open => {}
        }
        Ok(Some(decision))
    }

    /// What the settlement of the period ending at `cutoff` is to take for a missed top-up:
    /// the shortfall, if a claim falls due by then.
    pub fn claim_due(
        &self,
        held: Fen,
        cutoff: Timestamp,
        rulebook: &MarketplaceRulebook,
        now: Timestamp,
    ) -> Result<Fen, DepositError> {
        match &self.settlement_claim {
            Some(claim) if claim.at <= cutoff => self.shortfall(held, rulebook, now),
            _ => Ok(Fen::ZERO),
        }
    }

    /// The statement took `taken` of the claim (its own ledger line, Dr settlement payable
    /// / Cr deposits held); `held` is the deposit before that. The claim is settled; what is
    /// still short closes the store until topped up, where the rulebook has that step.
    pub fn taken_from_settlement(
        &self,
        held: Fen,
        taken: Fen,
        ctx: &mut Context<'_>,
    ) -> Result<Option<(DepositDecision, Offset)>, DepositError> {
        if self.settlement_claim.is_none() {
            return Ok(None);
        }
        let shortfall = self.shortfall(held, ctx.rulebook, ctx.now)?;
        let still_short = money(shortfall.checked_sub(taken))?.max(Fen::ZERO);
        let mut next = self.clone();
        next.settlement_claim = None;
        let mut decision = DepositDecision::of(next, Outcome::default());
        decision.outcome = decision.outcome.event(
            "deposit.taken_from_settlement",
            self.subject(),
            json!({ "taken": taken, "still_short": still_short }),
        );
        let closes = ctx
            .rulebook
            .deposit
            .on_not_topped_up
            .contains(&TopUpFailureStep::CloseStoreUntilToppedUp);
        if !still_short.is_zero() && closes {
            decision.close_for_shortfall(ctx.now);
        }
        Ok(Some((decision, Offset { taken, still_short })))
    }

    /// The provider pays `amount` into the deposit (Dr operator cash / Cr deposits held),
    /// at most what is missing. Whole again: every open demand is met, the settlement claim
    /// dropped, the stores closed for the shortfall reopen.
    pub fn top_up(
        &self,
        amount: Fen,
        held: Fen,
        ctx: &mut Context<'_>,
    ) -> Result<DepositDecision, DepositError> {
        if amount.is_negative() || amount.is_zero() {
            return Err(DepositError::InvalidAmount);
        }
        let shortfall = self.shortfall(held, ctx.rulebook, ctx.now)?;
        if amount > shortfall {
            return Err(DepositError::TopUpExceedsShortfall { amount, shortfall });
        }
        let tx = ledger(LedgerTransaction::new(
            ctx.ids.next_id(),
            "deposit_top_up",
            self.provider.to_string(),
            ctx.now,
            vec![
                Posting::debit(Account::operator(AccountKind::OperatorCash), amount),
                money(Posting::credit(self.held_account(), amount))?,
            ],
        ))?;
        let held_after = money(held.checked_add(amount))?;
        let mut decision = DepositDecision::of(
            self.clone(),
            Outcome::default().event(
                "deposit.topped_up",
                self.subject(),
                json!({ "amount": amount, "held": held_after }),
            ),
        );
        decision.outcome.transactions.push(tx);
        if amount == shortfall {
            decision.made_whole(ctx.now);
        }
        Ok(decision)
    }
}

impl DepositDecision {
    /// What this decision does to one of the provider's stores: a store open or only held is
    /// closed for the shortfall (ALI-R art.13(7)3, JD art.9(6)3, TC 3.1.5③) unless it already
    /// is, or reopened when the deposit is whole again if it was closed for it; a store
    /// closed for good stays as it is. `None`: nothing changes.
    pub fn store_effect(
        &self,
        store: &Store,
        ctx: &mut Context<'_>,
    ) -> Result<Option<(Store, Outcome)>, StoreError> {
        if store.closed.is_some() {
            return Ok(None);
        }
        if self.close_stores && store.deposit_closure.is_none() {
            store.close_for_deposit(ctx).map(Some)
        } else if self.reopen_stores && store.deposit_closure.is_some() {
            store.reopen_after_top_up(ctx).map(Some)
        } else {
            Ok(None)
        }
    }

    fn close_for_shortfall(&mut self, now: Timestamp) {
        if self.account.closed_for_shortfall.is_none() {
            self.account.closed_for_shortfall = Some(now);
            self.close_stores = true;
        }
    }

    /// The deposit is whole: demands met, deadlines made moot, the stores reopen.
    fn made_whole(&mut self, now: Timestamp) {
        let provider = self.account.provider;
        for t in &mut self.account.top_ups {
            if t.status == TopUpStatus::Open {
                self.outcome.cancel.push(t.key(provider, "reminder"));
                self.outcome.cancel.push(t.key(provider, "due"));
                t.status = TopUpStatus::Met { at: now };
            }
        }
        self.account.settlement_claim = None;
        if self.account.closed_for_shortfall.take().is_some() {
            self.reopen_stores = true;
        }
    }
}
