//! A violation case (违规处理, SPEC §9): opened by compliance staff with a table code from the
//! rulebook in force on the day of the act, then notice → reply window → finding → penalty
//! notice → objection window → final decision → publication. Each step is an event; each
//! window is a stored deadline, cancelled when it becomes moot.
//!
//! The marketplace rulebooks only say "once the finding is confirmed"; the steps and their
//! windows are the rulebook's `[procedure]` (PA-22 5.4–5.5 applied as a **[design
//! assumption]**, SPEC §9): no reply, or a reply without proof, means established; the finding
//! is final; only the penalty can be objected to.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::CaseError;
use crate::decision::{Context, DeadlineRequest, Outcome};
use crate::ids::{ProductId, ProviderId, UserId};
use crate::money::Fen;
use crate::rulebook::{ExtraMeasure, MarketplaceRulebook, Publication, ViolationRow};
use crate::time::beijing_date;

/// Deadline kind: the reply window ended.
pub const REPLY_WINDOW_ENDS: &str = "case.reply_window_ends";
/// Deadline kind: the objection window ended.
pub const OBJECTION_WINDOW_ENDS: &str = "case.objection_window_ends";

/// Where the suspicion came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseSource {
    /// A buyer complaint (SPEC §8).
    Complaint,
    /// An operator spot check.
    SpotCheck,
    /// An automatic detector.
    Detector,
}

/// Compliance staff open a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenCase {
    pub provider: ProviderId,
    /// The violation-table code, e.g. `ALI-B1`, `TC-S4`.
    pub code: String,
    /// The (Beijing) day of the act: it picks the rulebook version that judges it.
    pub act_on: Date,
    pub source: CaseSource,
    /// What was found, for the notice.
    pub summary: String,
    /// A reference to the source (complaint id, check id), if any.
    pub reference: Option<String>,
    /// The offending product, where the act concerns one (TC "hide the information and
    /// delist the product").
    pub product: Option<ProductId>,
    pub by: Option<UserId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Notice sent; the provider may reply until `reply_due`.
    AwaitingReply,
    /// The provider replied with proof; compliance makes the finding.
    Replied,
    /// Established; the penalty notice is out and may be objected to until `objection_due`.
    PenaltyNoticed,
    /// The provider objected to the penalty; compliance decides.
    Objected,
    /// Final decision taken; penalties applied.
    Decided,
    /// Not established.
    Dismissed,
    /// The objection succeeded: no penalty.
    PenaltyRevoked,
}

impl CaseStatus {
    pub fn label(self) -> &'static str {
        match self {
            CaseStatus::AwaitingReply => "awaiting_reply",
            CaseStatus::Replied => "replied",
            CaseStatus::PenaltyNoticed => "penalty_noticed",
            CaseStatus::Objected => "objected",
            CaseStatus::Decided => "decided",
            CaseStatus::Dismissed => "dismissed",
            CaseStatus::PenaltyRevoked => "penalty_revoked",
        }
    }

    /// Still in progress.
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            CaseStatus::Decided | CaseStatus::Dismissed | CaseStatus::PenaltyRevoked
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    pub text: String,
    /// Uploaded file ids offered as proof.
    pub evidence: Vec<Uuid>,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub established: bool,
    pub reason: String,
    /// Made by the rules (no reply / no proof) rather than by a person.
    pub automatic: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<UserId>,
    pub at: Timestamp,
}

/// The penalty notice (违规处理通知书): the table row's measures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PenaltyNotice {
    pub at: Timestamp,
    /// End of the objection window; `None` when the rulebook has no objection step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objection_due: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Objection {
    pub grounds: String,
    pub evidence: Vec<Uuid>,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub at: Timestamp,
    /// `accepted` (the provider accepted), `no_objection` (window ran out), `objection_rejected`,
    /// `direct` (no objection step).
    pub basis: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A measure the operator stacks on a decided case, by severity (annex note 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackedMeasure {
    pub measure: ExtraMeasure,
    /// For the measures that move money: the extra deposit required, or the deduction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Fen>,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<UserId>,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    pub id: Uuid,
    pub provider: ProviderId,
    /// The rulebook version in force on the day of the act (its id, e.g. `ali-2020`).
    pub rulebook: String,
    /// The table row as that rulebook words it.
    pub row: ViolationRow,
    pub act_on: Date,
    pub source: CaseSource,
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<ProductId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opened_by: Option<UserId>,
    pub opened_at: Timestamp,
    pub status: CaseStatus,
    pub reply_due: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<Reply>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding: Option<Finding>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub penalty_notice: Option<PenaltyNotice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objection: Option<Objection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    /// What the final decision did (the shell's applied [`super::PenaltyPlan`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied: Option<serde_json::Value>,
    #[serde(default)]
    pub stacked: Vec<StackedMeasure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<Timestamp>,
}

type Decided = Result<(Case, Outcome), CaseError>;

fn required(s: &str, what: &'static str) -> Result<String, CaseError> {
    let s = s.trim();
    if s.is_empty() {
        Err(CaseError::Required(what))
    } else {
        Ok(s.to_string())
    }
}

impl Case {
    pub fn subject(&self) -> String {
        format!("case:{}", self.id)
    }

    pub fn reply_key(&self) -> String {
        format!("case:{}:reply_window", self.id)
    }

    pub fn objection_key(&self) -> String {
        format!("case:{}:objection_window", self.id)
    }

    fn refuse(&self, action: &'static str) -> CaseError {
        CaseError::InvalidTransition {
            action,
            status: self.status.label(),
        }
    }

    /// The deadline the provider faces now, if any: (what, when).
    pub fn open_deadline(&self) -> Option<(&'static str, Timestamp)> {
        match self.status {
            CaseStatus::AwaitingReply => Some(("reply", self.reply_due)),
            CaseStatus::PenaltyNoticed => self
                .penalty_notice
                .as_ref()
                .and_then(|n| n.objection_due)
                .map(|d| ("objection", d)),
            _ => None,
        }
    }

    /// Opens a case and sends the notice. `act_rulebook` is the rulebook in force on the day
    /// of the act (it holds the table row); the reply window is the procedure in force now.
    pub fn open(
        id: Uuid,
        cmd: OpenCase,
        act_rulebook: &MarketplaceRulebook,
        ctx: &mut Context<'_>,
    ) -> Decided {
        if cmd.act_on > beijing_date(ctx.now) {
            return Err(CaseError::ActInFuture);
        }
        let summary = required(&cmd.summary, "summary")?;
        let code = cmd.code.trim();
        let row = act_rulebook
            .violation
            .iter()
            .find(|r| r.code == code)
            .ok_or_else(|| CaseError::UnknownViolation {
                code: code.to_string(),
                on: cmd.act_on,
            })?
            .clone();
        let reply_due = ctx
            .calendar
            .working_days_deadline(ctx.now, ctx.rulebook.procedure.reply_working_days)
            .map_err(|_| CaseError::DateOutOfRange)?;
        let case = Case {
            id,
            provider: cmd.provider,
            rulebook: act_rulebook.rulebook.id.clone(),
            row,
            act_on: cmd.act_on,
            source: cmd.source,
            summary,
            reference: cmd.reference.filter(|r| !r.trim().is_empty()),
            product: cmd.product,
            opened_by: cmd.by,
            opened_at: ctx.now,
            status: CaseStatus::AwaitingReply,
            reply_due,
            reply: None,
            finding: None,
            penalty_notice: None,
            objection: None,
            decision: None,
            applied: None,
            stacked: Vec::new(),
            published_at: None,
        };
        let mut outcome = Outcome::default()
            .event(
                "case.opened",
                case.subject(),
                json!({
                    "provider": case.provider, "code": case.row.code, "rulebook": case.rulebook,
                    "act_on": case.act_on, "source": case.source, "by": case.opened_by,
                }),
            )
            .event(
                "case.notice_sent",
                case.subject(),
                json!({
                    "provider": case.provider,
                    "channels": ctx.rulebook.procedure.notice_channels,
                    "reply_due": reply_due,
                }),
            );
        outcome.schedule.push(DeadlineRequest {
            kind: REPLY_WINDOW_ENDS.to_string(),
            subject: case.subject(),
            due_at: reply_due,
            payload: json!({ "case": case.id }),
            dedupe_key: case.reply_key(),
        });
        Ok((case, outcome))
    }

    /// The provider replies in writing. Without proof (no evidence file) the violation is
    /// established at once (PA-22 5.4.1: an objection without enough proof).
    pub fn reply(&self, text: &str, evidence: Vec<Uuid>, ctx: &mut Context<'_>) -> Decided {
        if self.status != CaseStatus::AwaitingReply {
            return Err(self.refuse("reply to"));
        }
        if ctx.now >= self.reply_due {
            return Err(CaseError::WindowClosed("reply"));
        }
        let text = required(text, "text")?;
        let mut next = self.clone();
        let no_proof = evidence.is_empty();
        next.reply = Some(Reply {
            text,
            evidence,
            at: ctx.now,
        });
        next.status = CaseStatus::Replied;
        let mut outcome = Outcome::default().event(
            "case.replied",
            self.subject(),
            json!({ "evidence": next.reply.as_ref().map(|r| r.evidence.len()) }),
        );
        outcome.cancel.push(self.reply_key());
        if no_proof {
            let more = next.establish("reply without proof", true, None, ctx)?;
            outcome = merge(outcome, more);
        }
        Ok((next, outcome))
    }

    /// The reply window ended: without a reply the violation is established. Harmless when
    /// the case has moved on.
    pub fn reply_window_ends(&self, ctx: &mut Context<'_>) -> Decided {
        if self.status != CaseStatus::AwaitingReply {
            return Ok((self.clone(), Outcome::default()));
        }
        if ctx.now < self.reply_due {
            return Err(CaseError::NotDue);
        }
        let mut next = self.clone();
        let outcome = next.establish("no reply within the reply window", true, None, ctx)?;
        Ok((next, outcome))
    }

    /// Compliance makes the finding: after a reply, or straight away where the facts are clear
    /// and the rulebook allows it. The finding is final.
    pub fn find(
        &self,
        established: bool,
        reason: &str,
        by: Option<UserId>,
        ctx: &mut Context<'_>,
    ) -> Decided {
        let reason = required(reason, "reason")?;
        let mut outcome = Outcome::default();
        match self.status {
            CaseStatus::Replied => {}
            CaseStatus::AwaitingReply => {
                if !ctx.rulebook.procedure.direct_finding_when_facts_clear {
                    return Err(CaseError::DirectFindingNotAllowed);
                }
                outcome.cancel.push(self.reply_key());
            }
            _ => return Err(self.refuse("make a finding on")),
        }
        let mut next = self.clone();
        if established {
            let more = next.establish(&reason, false, by, ctx)?;
            return Ok((next, merge(outcome, more)));
        }
        next.finding = Some(Finding {
            established: false,
            reason,
            automatic: false,
            by,
            at: ctx.now,
        });
        next.status = CaseStatus::Dismissed;
        Ok((
            next,
            outcome.event("case.dismissed", self.subject(), json!({ "by": by })),
        ))
    }

    /// Established: the finding, then the penalty notice with its objection window (or the
    /// final decision at once where the rulebook has no objection step).
    fn establish(
        &mut self,
        reason: &str,
        automatic: bool,
        by: Option<UserId>,
        ctx: &mut Context<'_>,
    ) -> Result<Outcome, CaseError> {
        self.finding = Some(Finding {
            established: true,
            reason: reason.to_string(),
            automatic,
            by,
            at: ctx.now,
        });
        let objection_due = match ctx.rulebook.procedure.objection_working_days {
            Some(days) => Some(
                ctx.calendar
                    .working_days_deadline(ctx.now, days)
                    .map_err(|_| CaseError::DateOutOfRange)?,
            ),
            None => None,
        };
        self.penalty_notice = Some(PenaltyNotice {
            at: ctx.now,
            objection_due,
        });
        let mut outcome = Outcome::default()
            .event(
                "case.established",
                self.subject(),
                json!({ "reason": reason, "automatic": automatic, "by": by }),
            )
            .event(
                "case.penalty_noticed",
                self.subject(),
                json!({
                    "code": self.row.code, "points": self.row.points, "action": self.row.action,
                    "deposit": self.row.deposit, "objection_due": objection_due,
                }),
            );
        match objection_due {
            Some(due) => {
                self.status = CaseStatus::PenaltyNoticed;
                outcome.schedule.push(DeadlineRequest {
                    kind: OBJECTION_WINDOW_ENDS.to_string(),
                    subject: self.subject(),
                    due_at: due,
                    payload: json!({ "case": self.id }),
                    dedupe_key: self.objection_key(),
                });
            }
            None => outcome = merge(outcome, self.finalise("direct", None, None, ctx)),
        }
        Ok(outcome)
    }

    /// The provider objects to the penalty, with grounds, inside the window.
    pub fn object(&self, grounds: &str, evidence: Vec<Uuid>, ctx: &mut Context<'_>) -> Decided {
        if self.status != CaseStatus::PenaltyNoticed {
            return Err(self.refuse("object to"));
        }
        if let Some(due) = self.penalty_notice.as_ref().and_then(|n| n.objection_due)
            && ctx.now >= due
        {
            return Err(CaseError::WindowClosed("objection"));
        }
        let grounds = required(grounds, "grounds")?;
        let mut next = self.clone();
        next.objection = Some(Objection {
            grounds,
            evidence,
            at: ctx.now,
        });
        next.status = CaseStatus::Objected;
        let mut outcome = Outcome::default().event("case.objected", self.subject(), json!({}));
        outcome.cancel.push(self.objection_key());
        Ok((next, outcome))
    }

    /// The provider accepts the penalty without waiting for the window to end.
    pub fn accept(&self, ctx: &mut Context<'_>) -> Decided {
        if self.status != CaseStatus::PenaltyNoticed {
            return Err(self.refuse("accept the penalty of"));
        }
        let mut next = self.clone();
        let mut outcome = next.finalise("accepted", None, None, ctx);
        outcome.cancel.push(self.objection_key());
        Ok((next, outcome))
    }

    /// The objection window ended without an objection: the penalty is accepted.
    pub fn objection_window_ends(&self, ctx: &mut Context<'_>) -> Decided {
        if self.status != CaseStatus::PenaltyNoticed {
            return Ok((self.clone(), Outcome::default()));
        }
        if let Some(due) = self.penalty_notice.as_ref().and_then(|n| n.objection_due)
            && ctx.now < due
        {
            return Err(CaseError::NotDue);
        }
        let mut next = self.clone();
        let outcome = next.finalise("no_objection", None, None, ctx);
        Ok((next, outcome))
    }

    /// Compliance decides on the objection: rejected → the penalty stands (final); upheld →
    /// the penalty is revoked.
    pub fn decide_objection(
        &self,
        objection_upheld: bool,
        note: &str,
        by: Option<UserId>,
        ctx: &mut Context<'_>,
    ) -> Decided {
        if self.status != CaseStatus::Objected {
            return Err(self.refuse("decide on the objection of"));
        }
        let note = required(note, "note")?;
        let mut next = self.clone();
        if objection_upheld {
            next.status = CaseStatus::PenaltyRevoked;
            next.decision = Some(Decision {
                at: ctx.now,
                basis: "objection_upheld".into(),
                by,
                note: Some(note),
            });
            let outcome =
                Outcome::default().event("case.penalty_revoked", self.subject(), json!({"by": by}));
            return Ok((next, outcome));
        }
        let outcome = next.finalise("objection_rejected", by, Some(note), ctx);
        Ok((next, outcome))
    }

    /// The final decision; published unless the rulebook never publishes (a discretionary
    /// publication is published by default — **[design assumption]**).
    fn finalise(
        &mut self,
        basis: &str,
        by: Option<UserId>,
        note: Option<String>,
        ctx: &mut Context<'_>,
    ) -> Outcome {
        self.status = CaseStatus::Decided;
        self.decision = Some(Decision {
            at: ctx.now,
            basis: basis.to_string(),
            by,
            note,
        });
        let mut outcome = Outcome::default().event(
            "case.decided",
            self.subject(),
            json!({ "basis": basis, "by": by, "code": self.row.code, "provider": self.provider }),
        );
        if ctx.rulebook.procedure.publication != Publication::Never {
            self.published_at = Some(ctx.now);
            outcome = outcome.event("case.published", self.subject(), json!({}));
        }
        outcome
    }

    /// The operator stacks a further measure on a decided case, with a reason.
    pub fn stack(
        &self,
        measure: ExtraMeasure,
        amount: Option<Fen>,
        reason: &str,
        by: Option<UserId>,
        ctx: &mut Context<'_>,
    ) -> Decided {
        if self.status != CaseStatus::Decided {
            return Err(self.refuse("stack a measure on"));
        }
        let p = &ctx.rulebook.penalties;
        if !p.operator_may_stack || !p.extra_measures.contains(&measure) {
            return Err(CaseError::MeasureNotAllowed);
        }
        let reason = required(reason, "reason")?;
        let moves_money = matches!(
            measure,
            ExtraMeasure::ExtraDeposit | ExtraMeasure::DepositDeduction
        );
        let amount = match amount {
            Some(a) if !moves_money => return Err(CaseError::AmountNotExpected(a)),
            Some(a) if a.is_negative() || a.is_zero() => {
                return Err(CaseError::AmountOutOfRange);
            }
            None if moves_money => return Err(CaseError::Required("amount")),
            other => other,
        };
        if measure == ExtraMeasure::Delete && self.product.is_none() {
            return Err(CaseError::Required("the case's product_id"));
        }
        let stacked = StackedMeasure {
            measure,
            amount,
            reason,
            by,
            at: ctx.now,
        };
        let mut next = self.clone();
        next.stacked.push(stacked.clone());
        Ok((
            next,
            Outcome::default().event(
                "case.measure_stacked",
                self.subject(),
                json!({ "measure": stacked }),
            ),
        ))
    }
}

/// `a` then `b`.
pub fn merge(mut a: Outcome, b: Outcome) -> Outcome {
    a.events.extend(b.events);
    a.transactions.extend(b.transactions);
    a.schedule.extend(b.schedule);
    a.cancel.extend(b.cancel);
    a
}
