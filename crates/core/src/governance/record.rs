//! A provider's violation record: points booked per rule year and deposit deductions, and
//! the plan of what a final decision does ([`plan_penalty`]).
//!
//! Points are booked to a rule year (ALI-R art.25: the fiscal year to 31 March 24:00; JD
//! art.21: the calendar year). A case handled across the boundary — act in one year, final
//! decision in the next — books in the new year where the rulebook says so
//! (`points.cross_year_case_books_in_new_year`), else in the year of the act. Reaching the
//! threshold (24) within one rule year expels (ALI-R art.28(4), JD art.24(4)).

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::{Case, CaseError};
use crate::calendar::RuleYear;
use crate::decision::{Context, Outcome};
use crate::ids::ProviderId;
use crate::ledger::{Account, AccountKind, LedgerTransaction, Posting};
use crate::money::Fen;
use crate::rulebook::{Action, DepositDeduction, MarketplaceRulebook, Points};
use crate::time::beijing_date;

/// Points booked for one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointsEntry {
    pub case: Uuid,
    pub code: String,
    pub points: u32,
    /// The rule year `[year_start, year_end)` the points count in.
    pub year_start: Date,
    pub year_end: Date,
    pub booked_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeductionEntry {
    pub case: Uuid,
    /// Taken from the deposit.
    pub from_deposit: Fen,
    /// Owed beyond what the deposit held.
    pub owed: Fen,
    pub at: Timestamp,
}

/// Per provider: what its decided cases booked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViolationRecord {
    pub provider: ProviderId,
    #[serde(default)]
    pub points: Vec<PointsEntry>,
    #[serde(default)]
    pub deductions: Vec<DeductionEntry>,
}

impl ViolationRecord {
    pub fn new(provider: ProviderId) -> Self {
        Self {
            provider,
            points: Vec::new(),
            deductions: Vec::new(),
        }
    }

    /// Points booked in the rule year starting `year_start`.
    pub fn points_in(&self, year_start: Date) -> u32 {
        self.points
            .iter()
            .filter(|p| p.year_start == year_start)
            .map(|p| p.points)
            .fold(0u32, u32::saturating_add)
    }

    /// Points in the rule year containing `day`.
    pub fn points_on(&self, points: &Points, day: Date) -> Result<(RuleYear, u32), CaseError> {
        let year =
            RuleYear::containing(day, points.year_start).map_err(|_| CaseError::DateOutOfRange)?;
        Ok((year, self.points_in(year.start)))
    }
}

/// The rule year a case's points are booked in: the year of the decision where a case
/// handled across the boundary books in the new year, else the year of the act.
pub fn points_year(points: &Points, act_on: Date, decided_on: Date) -> Result<RuleYear, CaseError> {
    let day = if points.cross_year_case_books_in_new_year {
        decided_on.max(act_on)
    } else {
        act_on
    };
    RuleYear::containing(day, points.year_start).map_err(|_| CaseError::DateOutOfRange)
}

/// Everything a final decision does, planned from the table row, the record and the
/// deposit held. The shell applies it in the same batch as the case's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PenaltyPlan {
    pub case: Uuid,
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<PointsEntry>,
    /// Points in that rule year after booking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub year_total: Option<u32>,
    /// The year's points reached the expulsion threshold.
    pub threshold_reached: bool,
    /// The store measure of the row (freeze / block for N days, or none).
    pub store_action: Action,
    /// The product measure of the row (TC: hide the information and delist the product).
    pub hide_and_delist: bool,
    /// Expelled (清退): by the row or by the points threshold.
    pub expel: bool,
    /// The account is banned for good (TC permanent ban, or expulsion that bans).
    pub ban: bool,
    /// Deducted from the deposit for the row.
    pub deposit_deducted: Fen,
    /// The rest of the deposit forfeited on expulsion.
    pub deposit_forfeited: Fen,
    /// The row's deduction beyond what the deposit held: owed by the provider.
    pub owed: Fen,
}

/// Plans the penalties of `case` (decided now) against `record` and the deposit `held`,
/// under `rulebook` — the version in force on the day of the act. Returns the new record,
/// the plan and the ledger transaction(s) and events.
pub fn plan_penalty(
    record: &ViolationRecord,
    case: &Case,
    held: Fen,
    rulebook: &MarketplaceRulebook,
    ctx: &mut Context<'_>,
) -> Result<(ViolationRecord, PenaltyPlan, Outcome), CaseError> {
    let row = &case.row;
    let mut next = record.clone();
    let mut outcome = Outcome::default();
    let decided_on = beijing_date(ctx.now);

    // Points and the threshold.
    let (mut points, mut year_total, mut threshold_reached) = (None, None, false);
    if let (Some(cfg), Some(p)) = (rulebook.points.as_ref(), row.points)
        && p > 0
    {
        let year = points_year(cfg, case.act_on, decided_on)?;
        let entry = PointsEntry {
            case: case.id,
            code: row.code.clone(),
            points: p,
            year_start: year.start,
            year_end: year.end,
            booked_at: ctx.now,
        };
        next.points.push(entry.clone());
        let total = next.points_in(year.start);
        threshold_reached = total >= cfg.expulsion_threshold;
        outcome = outcome.event(
            "provider.points_booked",
            format!("provider:{}", case.provider),
            json!({
                "case": case.id, "code": row.code, "points": p, "year": year.to_string(),
                "year_total": total, "threshold": cfg.expulsion_threshold,
            }),
        );
        points = Some(entry);
        year_total = Some(total);
    }

    let expel_by_row = matches!(row.action, Action::Expel | Action::PermanentBan);
    let expel = expel_by_row || threshold_reached;
    let ban = matches!(row.action, Action::PermanentBan)
        || (expel && rulebook.onboarding.expulsion_bans_account);

    // Deposit: the row's deduction from what is held, the rest owed; on expulsion the rest
    // of the deposit is forfeited where the rulebook says so.
    let held = if held.is_negative() { Fen::ZERO } else { held };
    let wanted = match row.deposit {
        DepositDeduction::NoDeduction => Fen::ZERO,
        DepositDeduction::Fixed(a) => a,
        DepositDeduction::All => held,
    };
    let deducted = wanted.min(held);
    let owed = wanted
        .checked_sub(deducted)
        .map_err(|_| CaseError::AmountOutOfRange)?;
    let remaining = held
        .checked_sub(deducted)
        .map_err(|_| CaseError::AmountOutOfRange)?;
    let forfeited = if expel && rulebook.penalties.expulsion_forfeits_deposit {
        remaining
    } else {
        Fen::ZERO
    };
    let owner = case.provider.to_string();
    let taken = deducted
        .checked_add(forfeited)
        .map_err(|_| CaseError::AmountOutOfRange)?;
    let fail = |_| CaseError::AmountOutOfRange;
    if !taken.is_zero() {
        let tx = LedgerTransaction::new(
            ctx.ids.next_id(),
            "violation_deposit_deduction",
            case.id.to_string(),
            ctx.now,
            vec![
                Posting::debit(
                    Account::new(AccountKind::DepositsHeld, owner.clone()),
                    taken,
                ),
                Posting::credit(Account::operator(AccountKind::PenaltyRevenue), taken)
                    .map_err(fail)?,
            ],
        )
        .map_err(|_| CaseError::AmountOutOfRange)?;
        outcome.transactions.push(tx);
    }
    if !owed.is_zero() {
        let tx = LedgerTransaction::new(
            ctx.ids.next_id(),
            "violation_penalty_owed",
            case.id.to_string(),
            ctx.now,
            vec![
                Posting::debit(
                    Account::new(AccountKind::PenaltiesReceivable, owner.clone()),
                    owed,
                ),
                Posting::credit(Account::operator(AccountKind::PenaltyRevenue), owed)
                    .map_err(fail)?,
            ],
        )
        .map_err(|_| CaseError::AmountOutOfRange)?;
        outcome.transactions.push(tx);
    }
    if !taken.is_zero() || !owed.is_zero() {
        next.deductions.push(DeductionEntry {
            case: case.id,
            from_deposit: taken,
            owed,
            at: ctx.now,
        });
        outcome = outcome.event(
            "provider.deposit_deducted",
            format!("provider:{}", case.provider),
            json!({
                "case": case.id, "deducted": deducted, "forfeited": forfeited, "owed": owed,
            }),
        );
    }

    let plan = PenaltyPlan {
        case: case.id,
        code: row.code.clone(),
        points,
        year_total,
        threshold_reached,
        store_action: if expel { Action::NoAction } else { row.action },
        hide_and_delist: matches!(row.action, Action::HideAndDelist),
        expel,
        ban,
        deposit_deducted: deducted,
        deposit_forfeited: forfeited,
        owed,
    };
    Ok((next, plan, outcome))
}
