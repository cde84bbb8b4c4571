//! Exit (退出), SPEC §13: the agreement term and how cooperation ends — voluntary exit
//! (ALI-R art.27, TC 8.2, JD art.23; JD announces the store closure 30 days ahead, art.27),
//! the operator's termination with notice (ALI-A 7.2.3: 15 days), the term's expiry with its
//! one-time extension (ALI-A 7.1), and expulsion (decided by a violation case, SPEC §9).
//!
//! A [`Tenure`] is one admission of a provider: the agreement term signed with it, an exit
//! announced but not yet in force, and how it ended. Re-admission after an exit starts a new
//! tenure; the provider aggregate remembers the exits for re-entry ([`super::check_may_apply`]).
//! What an exit does to orders, products and stores is decided by their own modules
//! ([`crate::order::exit_treatment`], [`crate::storefront::Store::hide_on_exit`]); the shell
//! applies all of it in one batch.

use jiff::civil::Date;
use jiff::{Span, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::{Provider, ProviderStatus};
use crate::calendar::RuleYear;
use crate::decision::{Context, DeadlineRequest, DomainRefusal, Outcome, RefusalClass};
use crate::ids::{ProviderId, UserId};
use crate::time::{beijing_date, start_of_day};

/// Deadline kind: an announced exit (JD closing notice, operator termination) takes effect.
pub const EXIT_TAKES_EFFECT: &str = "provider.exit_takes_effect";
/// Deadline kind: the agreement term (or its extension) ends.
pub const TERM_ENDS: &str = "provider.term_ends";
/// Longest reason given for an exit or a termination, in characters.
pub const MAX_EXIT_REASON: usize = 2_000;

/// How cooperation ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitKind {
    /// The provider leaves (ALI-R art.27, TC 8.2, JD art.23): re-entry waits (art.29).
    Voluntary,
    /// The operator ends the agreement with notice (ALI-A 7.2.3).
    Termination,
    /// The term ended without renewal (ALI-R art.26, ALI-A 7.1).
    TermExpiry,
    /// 清退 (ALI-R art.28, TC 8.3, JD art.24): never again.
    Expulsion,
}

impl ExitKind {
    pub fn label(self) -> &'static str {
        match self {
            ExitKind::Voluntary => "voluntary",
            ExitKind::Termination => "termination",
            ExitKind::TermExpiry => "term_expiry",
            ExitKind::Expulsion => "expulsion",
        }
    }

    pub fn title_zh(self) -> &'static str {
        match self {
            ExitKind::Voluntary => "服务商主动退出",
            ExitKind::Termination => "运营方终止合作",
            ExitKind::TermExpiry => "协议期满未续签退出",
            ExitKind::Expulsion => "服务商被清退",
        }
    }

    pub fn title_en(self) -> &'static str {
        match self {
            ExitKind::Voluntary => "provider left voluntarily",
            ExitKind::Termination => "agreement terminated by the operator",
            ExitKind::TermExpiry => "agreement term ended without renewal",
            ExitKind::Expulsion => "provider expelled",
        }
    }
}

/// The agreement term (ALI-A 7.1): from signing to the end of the rulebook's year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreementTerm {
    /// The agreement version signed.
    pub agreement: String,
    pub signed_at: Timestamp,
    pub signed_by: Option<UserId>,
    pub first_day: Date,
    pub last_day: Date,
    /// Extended once to this day when neither side signed anew but both kept performing
    /// (ALI-A 7.1.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_to: Option<Date>,
}

impl AgreementTerm {
    /// The last day in force, extension included.
    pub fn effective_last_day(&self) -> Date {
        self.extended_to.unwrap_or(self.last_day)
    }

    /// Beijing 24:00 of the last day in force.
    pub fn ends_at(&self) -> Result<Timestamp, ExitError> {
        let next = self
            .effective_last_day()
            .checked_add(Span::new().days(1))
            .map_err(|_| ExitError::DateOutOfRange)?;
        start_of_day(next).map_err(|_| ExitError::DateOutOfRange)
    }
}

/// An exit announced and waiting for its day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingExit {
    pub id: Uuid,
    /// `voluntary` (JD's closing notice) or `termination`.
    pub kind: ExitKind,
    pub announced_at: Timestamp,
    pub by: Option<UserId>,
    pub reason: String,
    pub effective_at: Timestamp,
    /// Set when the announcement was withdrawn before it took effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn_at: Option<Timestamp>,
}

/// How the tenure ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitRecord {
    pub kind: ExitKind,
    pub at: Timestamp,
    pub reason: String,
}

/// One admission of a provider: its agreement term and how it ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenure {
    pub id: Uuid,
    pub provider: ProviderId,
    pub began_at: Timestamp,
    /// `None` where the rulebook sets no fixed term (TC, JD).
    pub term: Option<AgreementTerm>,
    #[serde(default)]
    pub previous_terms: Vec<AgreementTerm>,
    pub pending: Option<PendingExit>,
    /// Announcements withdrawn before they took effect.
    #[serde(default)]
    pub withdrawn: Vec<PendingExit>,
    pub exit: Option<ExitRecord>,
}

/// What a request or a deadline leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "step")]
pub enum ExitStep {
    /// Announced: the exit takes effect at `effective_at` (a stored deadline).
    Announced { effective_at: Timestamp },
    /// The exit takes effect now: the shell applies it ([`Tenure::record_exit`] and the rest).
    TakesEffect { kind: ExitKind },
    /// The term was extended once (ALI-A 7.1.3).
    Extended { to: Date },
    /// Moot (already ended, renewed, withdrawn): nothing to do.
    Nothing,
}

/// Why an exit command was refused. Codes are stable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExitError {
    #[error(
        "服务商状态为 {status}，不能{action} / cannot {action_en} while the provider is {status}"
    )]
    ProviderNotActive {
        status: &'static str,
        action: &'static str,
        action_en: &'static str,
    },
    #[error(
        "已公告退出，将于 {effective_at} 生效 / an exit is already announced, effective {effective_at}"
    )]
    ExitPending { effective_at: Timestamp },
    #[error("没有待生效的{what}可撤回 / no pending {what_en} to withdraw")]
    NoPendingExit {
        what: &'static str,
        what_en: &'static str,
    },
    #[error(
        "现行规则未规定运营方提前通知终止 / the rulebook in force sets no operator termination with notice"
    )]
    TerminationNotInRulebook,
    #[error(
        "现行规则未规定协议期限，无需续签 / the rulebook in force sets no agreement term to renew"
    )]
    NoFixedTerm,
    #[error("已续签至 {last_day} / already renewed to {last_day}")]
    AlreadyRenewed { last_day: Date },
    #[error("须填写原因 / a reason is required")]
    ReasonRequired,
    #[error("原因最多 {MAX_EXIT_REASON} 字 / a reason has at most {MAX_EXIT_REASON} characters")]
    ReasonTooLong,
    #[error("协议版本不能为空 / the agreement version is required")]
    InvalidAgreement,
    #[error("尚未到期 / not due yet")]
    NotDue,
    #[error(
        "服务商已退出（{status}）：控制台仅可查看订单、对账单和保证金 / the provider has left the marketplace ({status}): its console may only read orders, statements and the deposit"
    )]
    ConsoleAccessLimited { status: &'static str },
    #[error("日期超出范围 / date out of range")]
    DateOutOfRange,
}

impl DomainRefusal for ExitError {
    fn code(&self) -> &'static str {
        match self {
            ExitError::ProviderNotActive { .. } => "provider_not_active",
            ExitError::ExitPending { .. } => "exit_pending",
            ExitError::NoPendingExit { .. } => "no_pending_exit",
            ExitError::TerminationNotInRulebook => "termination_not_in_rulebook",
            ExitError::NoFixedTerm => "no_fixed_term",
            ExitError::AlreadyRenewed { .. } => "already_renewed",
            ExitError::ReasonRequired => "reason_required",
            ExitError::ReasonTooLong => "reason_too_long",
            ExitError::InvalidAgreement => "invalid_agreement",
            ExitError::NotDue => "not_due",
            ExitError::ConsoleAccessLimited { .. } => "console_access_limited",
            ExitError::DateOutOfRange => "date_out_of_range",
        }
    }

    fn class(&self) -> RefusalClass {
        match self {
            ExitError::ReasonRequired
            | ExitError::ReasonTooLong
            | ExitError::InvalidAgreement
            | ExitError::DateOutOfRange => RefusalClass::Invalid,
            ExitError::ConsoleAccessLimited { .. } => RefusalClass::Forbidden,
            ExitError::ProviderNotActive { .. }
            | ExitError::ExitPending { .. }
            | ExitError::NoPendingExit { .. }
            | ExitError::TerminationNotInRulebook
            | ExitError::NoFixedTerm
            | ExitError::AlreadyRenewed { .. }
            | ExitError::NotDue => RefusalClass::Conflict,
        }
    }
}

/// What a provider's console may still do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleAction {
    /// Orders, statements, the deposit, its own standing.
    Read,
    /// Create, edit, submit or relist products.
    Publish,
    /// Change a store (e.g. ask for its transfer).
    ChangeStore,
}

/// After an exit or expulsion the console is limited (ALI-A 7.1.4 removes console access):
/// the provider's staff may still read what they need to wind down and be paid — orders,
/// statements, the deposit — but may not publish or change a store.
pub fn console_allows(provider: &Provider, action: ConsoleAction) -> Result<(), ExitError> {
    let left = matches!(
        provider.status,
        ProviderStatus::Exited { .. }
            | ProviderStatus::Expelled { .. }
            | ProviderStatus::Banned { .. }
    );
    if left && action != ConsoleAction::Read {
        return Err(ExitError::ConsoleAccessLimited {
            status: provider.status.label(),
        });
    }
    Ok(())
}

/// The term of an agreement signed on `signed_on`: to the last day of the rulebook's year
/// containing it (ALI-A 7.1); `None` where the rulebook sets no term.
pub fn term_for(
    ctx: &Context<'_>,
    agreement: &str,
    signed_by: Option<UserId>,
    first_day: Date,
) -> Result<Option<AgreementTerm>, ExitError> {
    let Some(start) = ctx.rulebook.exit.agreement_term_year_start else {
        return Ok(None);
    };
    let year = RuleYear::containing(first_day, start).map_err(|_| ExitError::DateOutOfRange)?;
    let last_day = year
        .end
        .yesterday()
        .map_err(|_| ExitError::DateOutOfRange)?;
    Ok(Some(AgreementTerm {
        agreement: agreement.to_string(),
        signed_at: ctx.now,
        signed_by,
        first_day,
        last_day,
        extended_to: None,
    }))
}

fn check_reason(reason: &str, required: bool) -> Result<String, ExitError> {
    let reason = reason.trim();
    if required && reason.is_empty() {
        return Err(ExitError::ReasonRequired);
    }
    if reason.chars().count() > MAX_EXIT_REASON {
        return Err(ExitError::ReasonTooLong);
    }
    Ok(reason.to_string())
}

/// Start of the Beijing day `days` after today: the day an announcement takes effect. A
/// notice given on 1 July with 30 days takes effect on 31 July at 00:00 — 30 days later, not
/// 29 (JD art.27 "提前 30 日").
fn notice_ends(ctx: &Context<'_>, days: u32) -> Result<Timestamp, ExitError> {
    let day = beijing_date(ctx.now)
        .checked_add(Span::new().days(i64::from(days)))
        .map_err(|_| ExitError::DateOutOfRange)?;
    start_of_day(day).map_err(|_| ExitError::DateOutOfRange)
}

impl Tenure {
    /// The tenure of a provider admitted before tenures were recorded: no known term.
    pub fn untermed(id: Uuid, provider: ProviderId, began_at: Timestamp) -> Tenure {
        Tenure {
            id,
            provider,
            began_at,
            term: None,
            previous_terms: Vec::new(),
            pending: None,
            withdrawn: Vec::new(),
            exit: None,
        }
    }

    /// The tenure of a provider just admitted on an agreement signed by `signer`: the term
    /// and its end deadline.
    pub fn begin(
        id: Uuid,
        provider: ProviderId,
        agreement: &str,
        signer: Option<UserId>,
        ctx: &mut Context<'_>,
    ) -> Result<(Tenure, Outcome), ExitError> {
        let term = term_for(ctx, agreement, signer, beijing_date(ctx.now))?;
        let tenure = Tenure {
            term,
            ..Tenure::untermed(id, provider, ctx.now)
        };
        let mut outcome = Outcome::default().event(
            "provider.term_began",
            tenure.subject(),
            json!({ "tenure": id, "term": tenure.term }),
        );
        if let Some(d) = tenure.term_deadline()? {
            outcome.schedule.push(d);
        }
        Ok((tenure, outcome))
    }

    pub fn subject(&self) -> String {
        format!("provider:{}", self.provider)
    }

    /// For the stored status column.
    pub fn status_label(&self) -> &'static str {
        match (&self.exit, &self.pending) {
            (Some(_), _) => "ended",
            (None, Some(_)) => "exit_pending",
            (None, None) => "active",
        }
    }

    pub fn is_open(&self) -> bool {
        self.exit.is_none()
    }

    fn term_key(&self, last_day: Date) -> String {
        format!("tenure:{}:term_ends:{last_day}", self.id)
    }

    fn pending_key(&self, pending: &PendingExit) -> String {
        format!("tenure:{}:exit:{}", self.id, pending.id)
    }

    fn term_deadline(&self) -> Result<Option<DeadlineRequest>, ExitError> {
        let Some(term) = &self.term else {
            return Ok(None);
        };
        let last_day = term.effective_last_day();
        Ok(Some(DeadlineRequest {
            kind: TERM_ENDS.to_string(),
            subject: self.subject(),
            due_at: term.ends_at()?,
            payload: json!({ "tenure": self.id, "last_day": last_day }),
            dedupe_key: self.term_key(last_day),
        }))
    }

    fn require_open(
        &self,
        provider: &Provider,
        action: &'static str,
        action_en: &'static str,
    ) -> Result<(), ExitError> {
        if !provider.is_active() || self.exit.is_some() || provider.id != self.provider {
            return Err(ExitError::ProviderNotActive {
                status: provider.status.label(),
                action,
                action_en,
            });
        }
        if let Some(p) = &self.pending {
            return Err(ExitError::ExitPending {
                effective_at: p.effective_at,
            });
        }
        Ok(())
    }

    fn announce(
        &self,
        kind: ExitKind,
        days: u32,
        by: Option<UserId>,
        reason: String,
        ctx: &mut Context<'_>,
    ) -> Result<(Tenure, ExitStep, Outcome), ExitError> {
        let pending = PendingExit {
            id: ctx.ids.next_id(),
            kind,
            announced_at: ctx.now,
            by,
            reason,
            effective_at: notice_ends(ctx, days)?,
            withdrawn_at: None,
        };
        let effective_at = pending.effective_at;
        let mut outcome = Outcome::default().event(
            "provider.exit_announced",
            self.subject(),
            json!({ "tenure": self.id, "pending": pending }),
        );
        outcome.schedule.push(DeadlineRequest {
            kind: EXIT_TAKES_EFFECT.to_string(),
            subject: self.subject(),
            due_at: effective_at,
            payload: json!({ "tenure": self.id, "pending": pending.id }),
            dedupe_key: self.pending_key(&pending),
        });
        let mut next = self.clone();
        next.pending = Some(pending);
        Ok((next, ExitStep::Announced { effective_at }, outcome))
    }

    /// The provider asks to leave. Where the rulebook asks for a public closing notice (JD
    /// art.27: 30 days) the exit is announced and takes effect by deadline; elsewhere it takes
    /// effect at once (ALI-R art.27, TC 8.2).
    pub fn request_voluntary_exit(
        &self,
        provider: &Provider,
        by: Option<UserId>,
        reason: &str,
        ctx: &mut Context<'_>,
    ) -> Result<(Tenure, ExitStep, Outcome), ExitError> {
        self.require_open(provider, "退出", "exit")?;
        let reason = check_reason(reason, false)?;
        match ctx.rulebook.exit.voluntary_closure_notice_days {
            Some(days) => self.announce(ExitKind::Voluntary, days, by, reason, ctx),
            None => Ok((
                self.clone(),
                ExitStep::TakesEffect {
                    kind: ExitKind::Voluntary,
                },
                Outcome::default(),
            )),
        }
    }

    /// The operator ends the agreement with the rulebook's notice (ALI-A 7.2.3: 15 days).
    pub fn give_termination_notice(
        &self,
        provider: &Provider,
        by: Option<UserId>,
        reason: &str,
        ctx: &mut Context<'_>,
    ) -> Result<(Tenure, ExitStep, Outcome), ExitError> {
        let days = ctx
            .rulebook
            .exit
            .operator_termination_notice_days
            .ok_or(ExitError::TerminationNotInRulebook)?;
        self.require_open(provider, "终止合作", "terminate")?;
        let reason = check_reason(reason, true)?;
        self.announce(ExitKind::Termination, days, by, reason, ctx)
    }

    /// Withdraws the announcement of `kind` before it takes effect: the provider its
    /// voluntary exit, the operator its termination.
    pub fn withdraw(
        &self,
        kind: ExitKind,
        ctx: &mut Context<'_>,
    ) -> Result<(Tenure, Outcome), ExitError> {
        let none = || ExitError::NoPendingExit {
            what: if kind == ExitKind::Voluntary {
                "退出申请"
            } else {
                "终止通知"
            },
            what_en: if kind == ExitKind::Voluntary {
                "exit"
            } else {
                "termination"
            },
        };
        let pending = self
            .pending
            .as_ref()
            .filter(|p| p.kind == kind && self.exit.is_none())
            .ok_or_else(none)?;
        let mut withdrawn = pending.clone();
        withdrawn.withdrawn_at = Some(ctx.now);
        let mut outcome = Outcome::default().event(
            "provider.exit_withdrawn",
            self.subject(),
            json!({ "tenure": self.id, "pending": withdrawn.id, "kind": kind }),
        );
        outcome.cancel.push(self.pending_key(pending));
        let mut next = self.clone();
        next.pending = None;
        next.withdrawn.push(withdrawn);
        Ok((next, outcome))
    }

    /// The deadline of announcement `pending` fired.
    pub fn announced_exit_due(
        &self,
        pending: Uuid,
        ctx: &Context<'_>,
    ) -> Result<ExitStep, ExitError> {
        match &self.pending {
            Some(p) if p.id == pending && self.exit.is_none() => {
                if ctx.now < p.effective_at {
                    return Err(ExitError::NotDue);
                }
                Ok(ExitStep::TakesEffect { kind: p.kind })
            }
            _ => Ok(ExitStep::Nothing),
        }
    }

    /// The term's end deadline for `last_day` fired: extended once where the rulebook says so
    /// (ALI-A 7.1.3: both kept performing unsigned), else the tenure ends (ALI-R art.26).
    pub fn term_end_due(
        &self,
        last_day: Date,
        ctx: &mut Context<'_>,
    ) -> Result<(Tenure, ExitStep, Outcome), ExitError> {
        let nothing = || Ok((self.clone(), ExitStep::Nothing, Outcome::default()));
        let Some(term) = self.term.as_ref().filter(|_| self.exit.is_none()) else {
            return nothing();
        };
        if term.effective_last_day() != last_day {
            return nothing(); // renewed meanwhile
        }
        if ctx.now < term.ends_at()? {
            return Err(ExitError::NotDue);
        }
        let extension = ctx.rulebook.exit.unsigned_renewal_extension_months;
        match (extension, term.extended_to) {
            (Some(months), None) => {
                let to = term
                    .last_day
                    .checked_add(Span::new().months(i64::from(months)))
                    .map_err(|_| ExitError::DateOutOfRange)?;
                let mut next = self.clone();
                if let Some(t) = next.term.as_mut() {
                    t.extended_to = Some(to);
                }
                let mut outcome = Outcome::default().event(
                    "provider.term_extended",
                    self.subject(),
                    json!({ "tenure": self.id, "to": to }),
                );
                if let Some(d) = next.term_deadline()? {
                    outcome.schedule.push(d);
                }
                Ok((next, ExitStep::Extended { to }, outcome))
            }
            _ => Ok((
                self.clone(),
                ExitStep::TakesEffect {
                    kind: ExitKind::TermExpiry,
                },
                Outcome::default(),
            )),
        }
    }

    /// The provider signs the next term (ALI-A 7.1: renewal in the term's last month, or
    /// during the extension). The new term starts the day after the signed term's last day.
    pub fn renew(
        &self,
        provider: &Provider,
        agreement: &str,
        signer: Option<UserId>,
        ctx: &mut Context<'_>,
    ) -> Result<(Tenure, Outcome), ExitError> {
        let term = self.term.as_ref().ok_or(ExitError::NoFixedTerm)?;
        if !provider.is_active() || self.exit.is_some() {
            return Err(ExitError::ProviderNotActive {
                status: provider.status.label(),
                action: "续签",
                action_en: "renew",
            });
        }
        if term.first_day > beijing_date(ctx.now) {
            return Err(ExitError::AlreadyRenewed {
                last_day: term.last_day,
            });
        }
        let agreement = agreement.trim();
        if agreement.is_empty() {
            return Err(ExitError::InvalidAgreement);
        }
        let first_day = term
            .last_day
            .checked_add(Span::new().days(1))
            .map_err(|_| ExitError::DateOutOfRange)?;
        let new_term =
            term_for(ctx, agreement, signer, first_day)?.ok_or(ExitError::NoFixedTerm)?;
        let mut outcome = Outcome::default().event(
            "provider.term_renewed",
            self.subject(),
            json!({ "tenure": self.id, "term": new_term }),
        );
        outcome
            .cancel
            .push(self.term_key(term.effective_last_day()));
        let mut next = self.clone();
        next.previous_terms.push(term.clone());
        next.term = Some(new_term);
        if let Some(d) = next.term_deadline()? {
            outcome.schedule.push(d);
        }
        Ok((next, outcome))
    }

    /// The exit took effect (or the provider was expelled): the tenure ends, and its pending
    /// deadlines become moot.
    pub fn record_exit(
        &self,
        kind: ExitKind,
        reason: &str,
        ctx: &mut Context<'_>,
    ) -> (Tenure, Outcome) {
        let mut outcome = Outcome::default().event(
            "provider.tenure_ended",
            self.subject(),
            json!({ "tenure": self.id, "kind": kind }),
        );
        if let Some(term) = &self.term {
            outcome
                .cancel
                .push(self.term_key(term.effective_last_day()));
        }
        if let Some(p) = &self.pending {
            outcome.cancel.push(self.pending_key(p));
        }
        let mut next = self.clone();
        next.pending = None;
        next.exit = Some(ExitRecord {
            kind,
            at: ctx.now,
            reason: reason.trim().to_string(),
        });
        (next, outcome)
    }
}

impl Provider {
    /// Applies an exit of `kind` to the provider's standing: expulsion expels (or bans),
    /// anything else exits — voluntarily only for [`ExitKind::Voluntary`], which alone makes
    /// re-entry wait (ALI-R art.29).
    pub fn leave_by(
        &self,
        kind: ExitKind,
        ctx: &mut Context<'_>,
    ) -> Result<(Provider, Outcome), super::ProviderError> {
        match kind {
            ExitKind::Expulsion => self.expel(ctx),
            ExitKind::Voluntary => self.exit(true, ctx),
            ExitKind::Termination | ExitKind::TermExpiry => self.exit(false, ctx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::check_may_apply;
    use crate::provider::testkit::{World, active_provider, ts};

    fn tenure(w: &mut World, p: &Provider) -> (Tenure, Outcome) {
        let id = crate::decision::IdSource::next_id(&mut w.ids);
        Tenure::begin(id, p.id, "provider-agreement-2021-v1", None, &mut w.ctx()).unwrap()
    }

    #[test]
    fn jd_voluntary_exit_is_announced_30_days_ahead_and_takes_effect_on_day_30() {
        let mut w = World::new("jd", "2026-07-01T10:00:00+08:00");
        let (p, _) = active_provider(&mut w);
        let (t, out) = tenure(&mut w, &p);
        assert!(t.term.is_none(), "JD sets no agreement term");
        assert!(out.schedule.is_empty());
        let (t, step, out) = t
            .request_voluntary_exit(&p, None, "业务调整", &mut w.ctx())
            .unwrap();
        let effective_at = ts("2026-07-31T00:00:00+08:00");
        assert_eq!(step, ExitStep::Announced { effective_at });
        assert_eq!(out.schedule[0].kind, EXIT_TAKES_EFFECT);
        assert_eq!(out.schedule[0].due_at, effective_at);
        assert_eq!(t.status_label(), "exit_pending");
        let pending = t.pending.as_ref().unwrap().id;
        // A second request while the notice runs is refused with its date.
        let err = t
            .request_voluntary_exit(&p, None, "", &mut w.ctx())
            .unwrap_err();
        assert_eq!(err, ExitError::ExitPending { effective_at });
        w.now = ts("2026-07-30T23:59:59+08:00");
        assert_eq!(
            t.announced_exit_due(pending, &w.ctx()),
            Err(ExitError::NotDue)
        );
        w.now = effective_at;
        assert_eq!(
            t.announced_exit_due(pending, &w.ctx()),
            Ok(ExitStep::TakesEffect {
                kind: ExitKind::Voluntary
            })
        );
        let (t, out) = t.record_exit(ExitKind::Voluntary, "", &mut w.ctx());
        assert_eq!(out.cancel.len(), 1, "the fired deadline is moot");
        assert_eq!(t.status_label(), "ended");
        // Re-firing is harmless.
        assert_eq!(
            t.announced_exit_due(pending, &w.ctx()),
            Ok(ExitStep::Nothing)
        );
    }

    #[test]
    fn ali_and_tc_voluntary_exit_takes_effect_at_once() {
        for family in ["ali", "tc"] {
            let mut w = World::new(family, "2026-07-01T10:00:00+08:00");
            let (p, _) = active_provider(&mut w);
            let (t, _) = tenure(&mut w, &p);
            let (_, step, out) = t
                .request_voluntary_exit(&p, None, "", &mut w.ctx())
                .unwrap();
            assert_eq!(
                step,
                ExitStep::TakesEffect {
                    kind: ExitKind::Voluntary
                },
                "{family}"
            );
            assert!(out.schedule.is_empty());
        }
    }

    #[test]
    fn ali_operator_termination_takes_15_days_notice_and_others_have_none() {
        let mut w = World::new("ali", "2026-07-01T10:00:00+08:00");
        let (p, _) = active_provider(&mut w);
        let (t, _) = tenure(&mut w, &p);
        assert_eq!(
            t.give_termination_notice(&p, None, " ", &mut w.ctx())
                .unwrap_err()
                .code(),
            "reason_required"
        );
        let (t, step, _) = t
            .give_termination_notice(&p, None, "合作调整", &mut w.ctx())
            .unwrap();
        assert_eq!(
            step,
            ExitStep::Announced {
                effective_at: ts("2026-07-16T00:00:00+08:00")
            }
        );
        // The provider cannot withdraw the operator's notice; the operator can.
        assert_eq!(
            t.withdraw(ExitKind::Voluntary, &mut w.ctx())
                .unwrap_err()
                .code(),
            "no_pending_exit"
        );
        let (t, out) = t.withdraw(ExitKind::Termination, &mut w.ctx()).unwrap();
        assert!(t.pending.is_none());
        assert_eq!(out.cancel.len(), 1);
        assert_eq!(t.withdrawn.len(), 1);

        let mut jd = World::new("jd", "2026-07-01T10:00:00+08:00");
        let (p, _) = active_provider(&mut jd);
        let (t, _) = tenure(&mut jd, &p);
        assert_eq!(
            t.give_termination_notice(&p, None, "x", &mut jd.ctx())
                .unwrap_err()
                .code(),
            "termination_not_in_rulebook"
        );
    }

    #[test]
    fn ali_term_ends_with_the_fiscal_year_is_extended_once_by_a_month_then_expires() {
        let mut w = World::new("ali", "2026-07-01T10:00:00+08:00");
        let (p, _) = active_provider(&mut w);
        let (t, out) = tenure(&mut w, &p);
        let term = t.term.clone().unwrap();
        assert_eq!(term.last_day.to_string(), "2027-03-31");
        assert_eq!(out.schedule[0].kind, TERM_ENDS);
        assert_eq!(out.schedule[0].due_at, ts("2027-04-01T00:00:00+08:00"));
        let last_day = term.last_day;
        w.now = ts("2027-03-31T23:00:00+08:00");
        assert_eq!(
            t.term_end_due(last_day, &mut w.ctx()).unwrap_err(),
            ExitError::NotDue
        );
        w.now = ts("2027-04-01T00:00:00+08:00");
        let (t, step, out) = t.term_end_due(last_day, &mut w.ctx()).unwrap();
        let to: Date = "2027-04-30".parse().unwrap();
        assert_eq!(step, ExitStep::Extended { to });
        assert_eq!(out.schedule[0].due_at, ts("2027-05-01T00:00:00+08:00"));
        // The old deadline fired again: moot.
        assert_eq!(
            t.term_end_due(last_day, &mut w.ctx()).unwrap().1,
            ExitStep::Nothing
        );
        w.now = ts("2027-05-01T00:00:00+08:00");
        let (_, step, _) = t.term_end_due(to, &mut w.ctx()).unwrap();
        assert_eq!(
            step,
            ExitStep::TakesEffect {
                kind: ExitKind::TermExpiry
            }
        );
        // A term that simply ended leaves re-entry open (ALI-R art.29 waits after voluntary exits).
        let (left, _) = p.leave_by(ExitKind::TermExpiry, &mut w.ctx()).unwrap();
        assert_eq!(
            check_may_apply(&left, None, &w.rulebook.onboarding, w.now),
            Ok(())
        );
    }

    #[test]
    fn renewal_during_the_extension_signs_the_next_fiscal_year() {
        let mut w = World::new("ali", "2026-07-01T10:00:00+08:00");
        let (p, _) = active_provider(&mut w);
        let (t, _) = tenure(&mut w, &p);
        w.now = ts("2027-04-01T00:00:00+08:00");
        let (t, _, _) = t
            .term_end_due("2027-03-31".parse().unwrap(), &mut w.ctx())
            .unwrap();
        w.now = ts("2027-04-10T10:00:00+08:00");
        let (t, out) = t
            .renew(&p, "provider-agreement-2021-v1", None, &mut w.ctx())
            .unwrap();
        let term = t.term.as_ref().unwrap();
        assert_eq!(term.first_day.to_string(), "2027-04-01");
        assert_eq!(term.last_day.to_string(), "2028-03-31");
        assert_eq!(
            out.cancel,
            vec![format!("tenure:{}:term_ends:2027-04-30", t.id)]
        );
        assert_eq!(out.schedule[0].due_at, ts("2028-04-01T00:00:00+08:00"));
        // The extension's deadline fires anyway: moot.
        assert_eq!(
            t.term_end_due("2027-04-30".parse().unwrap(), &mut w.ctx())
                .unwrap()
                .1,
            ExitStep::Nothing
        );
        // Signed ahead already: refused.
        let mut early = World::new("ali", "2026-07-01T10:00:00+08:00");
        let (p2, _) = active_provider(&mut early);
        let (t2, _) = tenure(&mut early, &p2);
        let (t2, _) = t2.renew(&p2, "v1", None, &mut early.ctx()).unwrap();
        assert_eq!(
            t2.renew(&p2, "v1", None, &mut early.ctx())
                .unwrap_err()
                .code(),
            "already_renewed"
        );
    }

    #[test]
    fn an_exited_provider_may_read_but_not_publish_or_change_its_store() {
        let mut w = World::new("tc", "2026-07-01T10:00:00+08:00");
        let (p, _) = active_provider(&mut w);
        assert_eq!(console_allows(&p, ConsoleAction::Publish), Ok(()));
        let (left, _) = p.leave_by(ExitKind::Voluntary, &mut w.ctx()).unwrap();
        assert_eq!(console_allows(&left, ConsoleAction::Read), Ok(()));
        for action in [ConsoleAction::Publish, ConsoleAction::ChangeStore] {
            let err = console_allows(&left, action).unwrap_err();
            assert_eq!(err.code(), "console_access_limited");
            assert_eq!(err.class(), RefusalClass::Forbidden);
        }
        let (expelled, _) = p.leave_by(ExitKind::Expulsion, &mut w.ctx()).unwrap();
        assert!(console_allows(&expelled, ConsoleAction::Publish).is_err());
    }

    #[test]
    fn reentry_after_a_jd_voluntary_exit_is_refused_with_the_date_it_ends_in_both_languages() {
        let mut w = World::new("jd", "2026-07-31T00:00:00+08:00");
        let (p, _) = active_provider(&mut w);
        let (left, _) = p.leave_by(ExitKind::Voluntary, &mut w.ctx()).unwrap();
        w.now = ts("2027-07-30T12:00:00+08:00");
        let err = check_may_apply(&left, None, &w.rulebook.onboarding, w.now).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("2027-07-31"), "{text}");
        assert!(text.contains("重新申请"), "{text}");
        assert!(text.contains("new application"), "{text}");
        w.now = ts("2027-07-31T00:00:00+08:00");
        assert_eq!(
            check_may_apply(&left, None, &w.rulebook.onboarding, w.now),
            Ok(())
        );
    }
}
