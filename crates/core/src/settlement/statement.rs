//! The statement (对账单) of one provider for one period and the ledger transactions that
//! settle it (SPEC §11):
//!
//! payout = order lines (sales − fees − refunds after settlement) + what earlier statements
//! held back − debt carried − penalties owed − the deposit top-up claimed; a negative result
//! becomes the provider's debt, carried to the next statement **[design assumption]**; a
//! provider in breach or in an open dispute is paid nothing and the amount is held until a
//! run after the hold ends (ALI-A 2.3.5, 4.3.5).
//!
//! Ledger: the period's net moves from `provider_payable` to `settlement_payable` (what was
//! settled and is owed); a negative balance there moves to `provider_debt`; deductions take
//! from `settlement_payable` into `provider_debt`, `penalties_receivable` and
//! `deposits_held`; the payout moves what is left to `payouts_in_transit` until the gateway
//! answers.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::SettlementError;
use super::lines::{LineKind, OrderLine};
use super::payee::PayeeAccount;
use super::payout::Payout;
use super::period::Period;
use crate::decision::{Context, Outcome};
use crate::ids::ProviderId;
use crate::ledger::{Account, AccountKind, LedgerTransaction, Posting};
use crate::money::Fen;

/// Transaction kinds, stable: reconciliation reads them.
pub const SETTLED: &str = "settlement_settled";
pub const DEBT_CARRIED: &str = "settlement_debt_carried";
pub const DEBT_COLLECTED: &str = "settlement_debt_collected";
pub const PENALTY_COLLECTED: &str = "settlement_penalty_collected";
pub const DEPOSIT_TAKEN: &str = "deposit_settlement_offset";

/// Why a provider's payout is held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Hold {
    OpenComplaint {
        id: Uuid,
    },
    OpenCase {
        id: Uuid,
    },
    /// A duty breached and not yet cured (an invoice not issued in time).
    Breach {
        id: Uuid,
        what: String,
    },
    /// No approved receiving account to pay to.
    NoPayeeAccount,
}

/// What the run knows about one provider when it settles a period.
#[derive(Debug, Clone)]
pub struct StatementInputs {
    pub provider: ProviderId,
    pub period: Period,
    pub lines: Vec<OrderLine>,
    /// `settlement_payable` now: held by earlier statements or returned by a failed payout.
    pub brought_forward: Fen,
    /// `provider_debt` now: carried from earlier statements or compensation the deposit did
    /// not cover.
    pub debt: Fen,
    /// `penalties_receivable` now.
    pub penalties_owed: Fen,
    /// A missed deposit top-up claimed from this settlement (ALI-R art.13(7)3, JD art.9).
    pub deposit_claim: Fen,
    /// Holds from disputes, cases and breaches (empty when the rulebook does not hold).
    pub holds: Vec<Hold>,
    pub payee: Option<PayeeAccount>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentKind {
    /// Held by an earlier statement (or a payout returned) and settled now.
    BroughtForward,
    DebtCollected,
    PenaltyCollected,
    /// The missed deposit top-up, taken from this settlement.
    DepositTopUp,
    /// The negative result, carried to the next statement as debt.
    DebtCarried,
    /// Not paid because of a hold; brought forward by the next run.
    Held,
    Payout,
}

/// A statement line that is not an order: what was brought forward, deducted, carried, held
/// or paid. Signed as it moves the provider's money: deductions and the payout negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adjustment {
    pub kind: AdjustmentKind,
    pub amount: Fen,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    pub id: Uuid,
    pub provider: ProviderId,
    pub period: Period,
    pub issued_at: Timestamp,
    /// Order lines (computed again from the settlement items when read).
    pub order_lines: u64,
    /// Positive order lines: sales and amortised parts.
    pub sales: Fen,
    /// Negative order lines: refunds after settlement (clawbacks).
    pub refunds: Fen,
    /// The platform fee of all lines (negative where more was returned than charged).
    pub fee: Fen,
    /// sales + refunds − fee.
    pub net: Fen,
    pub adjustments: Vec<Adjustment>,
    pub holds: Vec<Hold>,
    /// Carried to the next statement as debt.
    pub debt_carried: Fen,
    /// Left in `settlement_payable` because of a hold.
    pub held: Fen,
    pub payout: Fen,
    pub payout_id: Option<Uuid>,
    /// The invoices this statement calls for between operator and provider (SPEC §11).
    #[serde(default)]
    pub invoices: Vec<SettlementInvoice>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SettlementInvoiceKind {
    /// The operator invoices the provider for the platform fee (ALI-A 4.4.2, TC 4.5.4, JD
    /// art.13(3)).
    PlatformFee,
    /// The provider invoices the operator for its share of consignment sales: the net
    /// settlement after platform fees (TC 4.5.3, special VAT invoice) or the supply price
    /// (JD art.13(2)) — both the provider's share of those lines.
    Consignment,
}

impl SettlementInvoiceKind {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "platform_fee" => Some(Self::PlatformFee),
            "consignment" => Some(Self::Consignment),
            _ => None,
        }
    }

    /// Whether the provider (rather than the operator) issues it.
    pub fn issued_by_provider(self) -> bool {
        self == Self::Consignment
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementInvoice {
    pub kind: SettlementInvoiceKind,
    pub amount: Fen,
    /// The invoice number once issued.
    pub number: Option<String>,
    pub issued_at: Option<Timestamp>,
}

impl Statement {
    /// `statement:<id>`: the subject of its events.
    pub fn subject(&self) -> String {
        format!("statement:{}", self.id)
    }

    /// Unique key of a provider's statement of a period: there is only ever one.
    pub fn key(provider: ProviderId, period: Period) -> String {
        format!("{provider}/{}", period.label())
    }

    pub fn adjustment(&self, kind: AdjustmentKind) -> Fen {
        self.adjustments
            .iter()
            .filter(|a| a.kind == kind)
            .map(|a| a.amount)
            .fold(Fen::ZERO, |a, b| Fen::new(a.fen().saturating_add(b.fen())))
    }

    pub fn is_empty(&self) -> bool {
        self.order_lines == 0 && self.adjustments.is_empty()
    }

    /// Records the issue of the statement's invoice of `kind` under `number`.
    pub fn issue_invoice(
        &self,
        kind: SettlementInvoiceKind,
        number: &str,
        now: Timestamp,
    ) -> Result<Statement, SettlementError> {
        let number = number.trim();
        if number.is_empty() || number.chars().count() > 64 {
            return Err(SettlementError::Required("number (1–64 characters)"));
        }
        let mut next = self.clone();
        let invoice = next
            .invoices
            .iter_mut()
            .find(|i| i.kind == kind)
            .ok_or(SettlementError::NoInvoiceDue)?;
        if invoice.number.is_some() {
            return Err(SettlementError::InvoiceIssued);
        }
        invoice.number = Some(number.to_string());
        invoice.issued_at = Some(now);
        Ok(next)
    }
}

/// The invoices a statement calls for under the rulebook's invoicing duties.
fn invoices_due(
    rule: &crate::rulebook::Invoices,
    fee: Fen,
    lines: &[OrderLine],
) -> Result<Vec<SettlementInvoice>, SettlementError> {
    let due = |kind, amount| SettlementInvoice {
        kind,
        amount,
        number: None,
        issued_at: None,
    };
    let mut out = Vec::new();
    if rule.operator_invoices_platform_fee && fee.is_positive() {
        out.push(due(SettlementInvoiceKind::PlatformFee, fee));
    }
    if rule.consignment_provider_invoices.is_some() {
        let share = Fen::checked_sum(lines.iter().filter(|l| l.consignment).map(|l| l.net))?;
        if share.is_positive() {
            out.push(due(SettlementInvoiceKind::Consignment, share));
        }
    }
    Ok(out)
}

/// A statement with the transactions and payout that settle it.
#[derive(Debug, Clone)]
pub struct Settled {
    pub statement: Statement,
    pub payout: Option<Payout>,
    pub outcome: Outcome,
}

fn account(kind: AccountKind, provider: ProviderId) -> Account {
    Account::new(kind, provider.to_string())
}

/// Dr `from` / Cr `to` for `amount` (> 0).
fn transfer(
    ctx: &mut Context<'_>,
    kind: &str,
    reference: &str,
    from: Account,
    to: Account,
    amount: Fen,
) -> Result<LedgerTransaction, SettlementError> {
    Ok(LedgerTransaction::new(
        ctx.ids.next_id(),
        kind,
        reference.to_string(),
        ctx.now,
        vec![Posting::debit(from, amount), Posting::credit(to, amount)?],
    )?)
}

/// Settles one provider's period.
pub fn settle(inputs: StatementInputs, ctx: &mut Context<'_>) -> Result<Settled, SettlementError> {
    let p = inputs.provider;
    let id = ctx.ids.next_id();
    let reference = format!("statement:{id}");
    let mut outcome = Outcome::default();
    let mut adjustments = Vec::new();
    let mut sales = Fen::ZERO;
    let mut refunds = Fen::ZERO;
    let mut fee = Fen::ZERO;
    for l in &inputs.lines {
        match l.kind {
            LineKind::Refund => refunds = refunds.checked_add(l.amount)?,
            LineKind::Sale | LineKind::Amortisation => sales = sales.checked_add(l.amount)?,
        }
        fee = fee.checked_add(l.fee)?;
    }
    let net = sales.checked_add(refunds)?.checked_sub(fee)?;
    let settlement = account(AccountKind::SettlementPayable, p);
    let payable = account(AccountKind::ProviderPayable, p);
    if net.is_positive() {
        let tx = transfer(ctx, SETTLED, &reference, payable, settlement.clone(), net)?;
        outcome.transactions.push(tx);
    } else if net.is_negative() {
        let tx = transfer(
            ctx,
            SETTLED,
            &reference,
            settlement.clone(),
            payable,
            net.checked_neg()?,
        )?;
        outcome.transactions.push(tx);
    }
    if !inputs.brought_forward.is_zero() {
        adjustments.push(Adjustment {
            kind: AdjustmentKind::BroughtForward,
            amount: inputs.brought_forward,
        });
    }
    let mut available = inputs.brought_forward.checked_add(net)?;
    let mut debt_carried = Fen::ZERO;
    if available.is_negative() {
        debt_carried = available.checked_neg()?;
        let debt = account(AccountKind::ProviderDebt, p);
        outcome.transactions.push(transfer(
            ctx,
            DEBT_CARRIED,
            &reference,
            debt,
            settlement.clone(),
            debt_carried,
        )?);
        adjustments.push(Adjustment {
            kind: AdjustmentKind::DebtCarried,
            amount: debt_carried,
        });
        available = Fen::ZERO;
    }
    let deductions = [
        (
            AdjustmentKind::DebtCollected,
            DEBT_COLLECTED,
            AccountKind::ProviderDebt,
            inputs.debt,
        ),
        (
            AdjustmentKind::PenaltyCollected,
            PENALTY_COLLECTED,
            AccountKind::PenaltiesReceivable,
            inputs.penalties_owed,
        ),
        (
            AdjustmentKind::DepositTopUp,
            DEPOSIT_TAKEN,
            AccountKind::DepositsHeld,
            inputs.deposit_claim,
        ),
    ];
    for (kind, tx_kind, into, owed) in deductions {
        let taken = owed.max(Fen::ZERO).min(available);
        if taken.is_zero() {
            continue;
        }
        let tx = transfer(
            ctx,
            tx_kind,
            &reference,
            settlement.clone(),
            account(into, p),
            taken,
        )?;
        outcome.transactions.push(tx);
        available = available.checked_sub(taken)?;
        adjustments.push(Adjustment {
            kind,
            amount: taken.checked_neg()?,
        });
    }
    let mut holds = inputs.holds;
    if inputs.payee.is_none() && available.is_positive() {
        holds.push(Hold::NoPayeeAccount);
    }
    let (mut held, mut payout_amount, mut payout) = (Fen::ZERO, Fen::ZERO, None);
    if !available.is_positive() {
    } else if let (true, Some(payee)) = (holds.is_empty(), inputs.payee) {
        let instructed = Payout::instruct(p, id, inputs.period, available, payee, ctx)?;
        outcome.transactions.extend(instructed.1);
        payout_amount = available;
        payout = Some(instructed.0);
        adjustments.push(Adjustment {
            kind: AdjustmentKind::Payout,
            amount: available.checked_neg()?,
        });
    } else {
        held = available;
        adjustments.push(Adjustment {
            kind: AdjustmentKind::Held,
            amount: available.checked_neg()?,
        });
    }
    let invoices = invoices_due(&ctx.rulebook.invoices, fee, &inputs.lines)?;
    let statement = Statement {
        id,
        provider: p,
        period: inputs.period,
        issued_at: ctx.now,
        order_lines: u64::try_from(inputs.lines.len()).unwrap_or(u64::MAX),
        sales,
        refunds,
        fee,
        net,
        adjustments,
        holds,
        debt_carried,
        held,
        payout: payout_amount,
        payout_id: payout.as_ref().map(|p: &Payout| p.id),
        invoices,
    };
    if !statement.is_empty() {
        outcome.events.push(crate::decision::Event {
            kind: "settlement.statement_issued".into(),
            subject: statement.subject(),
            payload: serde_json::json!({
                "provider": p, "period": inputs.period.label(), "net": net,
                "debt_carried": debt_carried, "held": held, "payout": payout_amount,
            }),
        });
    }
    Ok(Settled {
        statement,
        payout,
        outcome,
    })
}
