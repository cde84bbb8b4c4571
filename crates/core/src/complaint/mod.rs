//! Complaints and support SLAs (投诉, SPEC §8): a buyer complains about one of its paid
//! orders; the provider must respond within the rulebook's window (ALI-R art.22(16),
//! JD art.18(16): 30 minutes), a stored deadline that the response cancels. When the window
//! runs out the breach is recorded and the violation the rulebook maps it to (ALI-S2, JD-S2)
//! is opened as a case — the shell opens it in the same batch from the [`OpenCase`] these
//! functions return. Both sides (and customer service) add messages and evidence to the
//! timeline; customer service decides: dismiss, refund (through the order's refund flow) or
//! open a violation case. TC's "unreachable provider" (annex S10) is a case source too:
//! failed operator contact attempts — a stored deadline `operator_contact_hours` after the
//! first failed attempt, or `failed_operator_contacts` failed attempts in a row — breach,
//! unless the provider answers (a message, or a contact that reached it) in between.
//!
//! The response window is counted in calendar minutes: the rulebooks say "30 分钟内响应"
//! without tying it to support hours (contrast ALI annex S3's "5×8 工作时间内超过2小时").

pub mod error;

#[cfg(test)]
mod tests;

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

pub use self::error::ComplaintError;
use crate::decision::{Context, DeadlineRequest, Outcome};
use crate::governance::{CaseSource, OpenCase};
use crate::ids::{MemberId, OrderId, ProductId, ProviderId, UserId};
use crate::order::{Order, RefundAward};
use crate::rulebook::RefundReason;
use crate::time::beijing_date;

/// Deadline kind: the provider's response window ended.
pub const RESPONSE_DUE: &str = "complaint.response_due";
/// Deadline kind: the provider stayed unreachable after the operator's contact attempt.
pub const UNREACHABLE_DUE: &str = "complaint.unreachable_due";
/// Longest complaint text or message, in characters.
pub const MAX_TEXT: usize = 2000;
/// Most evidence files on one complaint entry.
pub const MAX_EVIDENCE: usize = 20;

/// What the buyer complains about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComplaintReason {
    /// Not delivered, or not as agreed.
    NotDelivered,
    /// Poor service quality, or a loss caused by it.
    ServiceQuality,
    /// Late or dragging service.
    LateOrDragging,
    /// Functions or service not as described.
    Mismatch,
    /// Support channels do not answer.
    Unresponsive,
    /// Rude, insulting or threatening staff.
    Attitude,
    /// Security or privacy: backdoors, changed security settings, data misuse.
    Security,
    Other,
}

/// Who wrote a timeline entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    Buyer,
    Provider,
    /// Operator customer service.
    Operator,
    /// The rules themselves (a deadline).
    System,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComplaintStatus {
    /// Opened; the provider has not responded yet.
    AwaitingResponse,
    /// The provider responded; the parties talk, customer service may decide.
    InProgress,
    /// Customer service found nothing to act on.
    Dismissed,
    /// Customer service refunded the buyer through the refund flow.
    Refunded,
    /// Customer service opened a violation case.
    CaseOpened,
    /// The buyer withdrew the complaint.
    Withdrawn,
}

impl ComplaintStatus {
    pub fn label(self) -> &'static str {
        match self {
            ComplaintStatus::AwaitingResponse => "awaiting_response",
            ComplaintStatus::InProgress => "in_progress",
            ComplaintStatus::Dismissed => "dismissed",
            ComplaintStatus::Refunded => "refunded",
            ComplaintStatus::CaseOpened => "case_opened",
            ComplaintStatus::Withdrawn => "withdrawn",
        }
    }

    /// Still open: the provider is on hold (ALI-A 2.3.5).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            ComplaintStatus::AwaitingResponse | ComplaintStatus::InProgress
        )
    }

    /// The statuses in which a complaint is open.
    pub const OPEN: [ComplaintStatus; 2] = [
        ComplaintStatus::AwaitingResponse,
        ComplaintStatus::InProgress,
    ];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Opened,
    /// The provider's first message: its response.
    Response,
    Message,
    Breach,
    ContactAttempt,
    /// The buyer's evidence that the provider has been unreachable since a time.
    UnreachableEvidence,
    Decision,
    Withdrawn,
}

/// One entry of the complaint's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub at: Timestamp,
    pub party: Party,
    pub kind: EntryKind,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub evidence: Vec<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<UserId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreachKind {
    /// No response inside the response window (ALI-S2, JD-S2).
    NoResponse,
    /// Unreachable for the rulebook's hours after the operator's contact attempt (TC S10 1).
    UnreachableAfterContact,
    /// The operator's contact attempts failed the rulebook's number of times (TC S10 3).
    FailedContacts,
    /// Unreachable for the rulebook's hours by the buyer's evidence (TC S10 2).
    UnreachableByBuyerEvidence,
}

/// A breach of a support rule, and the case it opened (absent when the rulebook maps the
/// breach to no violation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breach {
    pub at: Timestamp,
    pub kind: BreachKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub violation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<Uuid>,
}

/// An operator attempt to reach the provider about the complaint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactAttempt {
    pub at: Timestamp,
    /// `phone`, `email`, `console_message`, …
    pub channel: String,
    /// The provider answered.
    pub reached: bool,
    #[serde(default)]
    pub note: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<UserId>,
}

/// The pending "unreachable after contact" deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnreachableWatch {
    pub key: String,
    pub due: Timestamp,
}

/// What customer service decides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Resolution {
    /// Nothing to act on.
    Dismiss,
    /// Refund the buyer (the shell runs the order's direct refund in the same batch).
    Refund {
        ground: RefundReason,
        award: RefundAward,
    },
    /// Open a violation case with this table code, for an act on `act_on`.
    OpenCase { code: String, act_on: Date },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComplaintDecision {
    pub at: Timestamp,
    pub resolution: Resolution,
    pub note: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<UserId>,
    /// The case it opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<Uuid>,
}

/// The buyer's complaint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenComplaint {
    pub reason: ComplaintReason,
    pub text: String,
    pub evidence: Vec<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Complaint {
    pub id: Uuid,
    pub order: OrderId,
    pub buyer: MemberId,
    pub provider: ProviderId,
    pub product: ProductId,
    /// The rulebook in force when it was opened (its id).
    pub rulebook: String,
    pub reason: ComplaintReason,
    pub text: String,
    #[serde(default)]
    pub evidence: Vec<Uuid>,
    pub opened_at: Timestamp,
    pub status: ComplaintStatus,
    /// End of the response window; absent where the rulebook sets none (TC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_due: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responded_at: Option<Timestamp>,
    #[serde(default)]
    pub breaches: Vec<Breach>,
    #[serde(default)]
    pub contacts: Vec<ContactAttempt>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreachable_watch: Option<UnreachableWatch>,
    /// The pending "unreachable by the buyer's evidence" deadline, and since when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_watch: Option<(UnreachableWatch, Timestamp)>,
    #[serde(default)]
    pub timeline: Vec<TimelineEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<ComplaintDecision>,
}

/// A decision about a complaint: its next state, what to record, and the case to open in
/// the same batch (with the id the shell passed in), if any.
pub type Decided = Result<(Complaint, Outcome, Option<OpenCase>), ComplaintError>;

fn text(s: &str, what: &'static str, required: bool) -> Result<String, ComplaintError> {
    let s = s.trim();
    if required && s.is_empty() {
        return Err(ComplaintError::Required(what));
    }
    if s.chars().count() > MAX_TEXT {
        return Err(ComplaintError::TooLong {
            field: what,
            max: MAX_TEXT,
        });
    }
    Ok(s.to_string())
}

fn evidence(mut files: Vec<Uuid>) -> Result<Vec<Uuid>, ComplaintError> {
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(*f));
    if files.len() > MAX_EVIDENCE {
        return Err(ComplaintError::TooMuchEvidence(MAX_EVIDENCE));
    }
    Ok(files)
}

/// A breach being recorded: what, the violation it maps to, when the act was (its Beijing
/// day judges it), the case summary, the id of the case to open, and now.
struct BreachAt {
    kind: BreachKind,
    code: Option<String>,
    act_at: Timestamp,
    summary: String,
    case_id: Uuid,
    now: Timestamp,
}

fn minutes(n: u32) -> SignedDuration {
    SignedDuration::from_mins(i64::from(n))
}

impl Complaint {
    pub fn subject(&self) -> String {
        format!("complaint:{}", self.id)
    }

    pub fn response_key(&self) -> String {
        format!("complaint:{}:response", self.id)
    }

    /// A reference to this complaint from a case.
    pub fn reference(&self) -> String {
        format!("complaint:{}", self.id)
    }

    fn refuse(&self, action: &'static str) -> ComplaintError {
        ComplaintError::InvalidTransition {
            action,
            status: self.status.label(),
        }
    }

    fn ensure_open(&self, action: &'static str) -> Result<(), ComplaintError> {
        if self.status.is_open() {
            Ok(())
        } else {
            Err(self.refuse(action))
        }
    }

    /// The deadline the provider faces now, if any: (what, when).
    pub fn open_deadline(&self) -> Option<(&'static str, Timestamp)> {
        if self.status == ComplaintStatus::AwaitingResponse
            && let Some(due) = self.response_due
        {
            return Some(("response", due));
        }
        self.unreachable_watch
            .as_ref()
            .or(self.buyer_watch.as_ref().map(|(w, _)| w))
            .filter(|_| self.status.is_open())
            .map(|w| ("unreachable", w.due))
    }

    /// The cases breaches of this complaint opened, and the one its decision opened.
    pub fn cases(&self) -> Vec<Uuid> {
        self.breaches
            .iter()
            .filter_map(|b| b.case)
            .chain(self.decision.as_ref().and_then(|d| d.case))
            .collect()
    }

    /// The buyer opens a complaint on its paid `order` (the shell checks that the order is
    /// the caller's). The response window starts: a stored deadline.
    pub fn open(
        id: Uuid,
        order: &Order,
        cmd: OpenComplaint,
        ctx: &mut Context<'_>,
    ) -> Result<(Complaint, Outcome), ComplaintError> {
        if order.payment.is_none() {
            return Err(ComplaintError::OrderNotPaid);
        }
        let body = text(&cmd.text, "text", true)?;
        let files = evidence(cmd.evidence)?;
        let response_due = match ctx.rulebook.support.complaint_response_minutes {
            Some(m) => Some(
                ctx.now
                    .checked_add(minutes(m))
                    .map_err(|_| ComplaintError::DateOutOfRange)?,
            ),
            None => None,
        };
        let complaint = Complaint {
            id,
            order: order.id,
            buyer: order.buyer,
            provider: order.terms.provider,
            product: order.terms.product,
            rulebook: ctx.rulebook.rulebook.id.clone(),
            reason: cmd.reason,
            text: body.clone(),
            evidence: files.clone(),
            opened_at: ctx.now,
            status: ComplaintStatus::AwaitingResponse,
            response_due,
            responded_at: None,
            breaches: Vec::new(),
            contacts: Vec::new(),
            unreachable_watch: None,
            buyer_watch: None,
            timeline: vec![TimelineEntry {
                at: ctx.now,
                party: Party::Buyer,
                kind: EntryKind::Opened,
                text: body,
                evidence: files,
                by: None,
            }],
            decision: None,
        };
        let mut outcome = Outcome::default().event(
            "complaint.opened",
            complaint.subject(),
            json!({
                "order": complaint.order, "provider": complaint.provider,
                "buyer": complaint.buyer, "reason": complaint.reason,
                "rulebook": complaint.rulebook, "response_due": response_due,
            }),
        );
        if let Some(due) = response_due {
            outcome.schedule.push(DeadlineRequest {
                kind: RESPONSE_DUE.to_string(),
                subject: complaint.subject(),
                due_at: due,
                payload: json!({ "complaint": complaint.id }),
                dedupe_key: complaint.response_key(),
            });
        }
        Ok((complaint, outcome))
    }

    /// A message with evidence on the timeline. The provider's first message is its
    /// response: it cancels the response window (late if the window already ran out — the
    /// breach stays recorded). Any provider message shows it is reachable.
    pub fn message(
        &self,
        party: Party,
        body: &str,
        files: Vec<Uuid>,
        by: Option<UserId>,
        ctx: &mut Context<'_>,
    ) -> Decided {
        self.ensure_open("add a message to")?;
        let body = text(body, "text", true)?;
        let files = evidence(files)?;
        let mut next = self.clone();
        let mut outcome = Outcome::default();
        let mut kind = EntryKind::Message;
        if party == Party::Provider {
            if let Some(watch) = next.unreachable_watch.take() {
                outcome.cancel.push(watch.key);
            }
            if let Some((watch, _)) = next.buyer_watch.take() {
                outcome.cancel.push(watch.key);
            }
            if self.status == ComplaintStatus::AwaitingResponse {
                kind = EntryKind::Response;
                next.status = ComplaintStatus::InProgress;
                next.responded_at = Some(ctx.now);
                let late = self.response_due.is_some_and(|due| ctx.now >= due);
                outcome.cancel.push(self.response_key());
                outcome = outcome.event(
                    "complaint.responded",
                    self.subject(),
                    json!({ "late": late, "provider": self.provider }),
                );
            }
        }
        outcome = outcome.event(
            "complaint.message_added",
            self.subject(),
            json!({ "party": party, "evidence": files.len(), "by": by }),
        );
        next.timeline.push(TimelineEntry {
            at: ctx.now,
            party,
            kind,
            text: body,
            evidence: files,
            by,
        });
        Ok((next, outcome, None))
    }

    /// Records a breach and, where the rulebook maps it to a violation, the case to open
    /// (`case_id`) for an act on `act_at`'s Beijing day.
    fn breach(&mut self, b: BreachAt, outcome: Outcome) -> (Outcome, Option<OpenCase>) {
        let BreachAt {
            kind,
            code,
            act_at,
            summary,
            case_id,
            now,
        } = b;
        let case = code.as_ref().map(|_| case_id);
        self.breaches.push(Breach {
            at: now,
            kind,
            violation: code.clone(),
            case,
        });
        self.timeline.push(TimelineEntry {
            at: now,
            party: Party::System,
            kind: EntryKind::Breach,
            text: summary.clone(),
            evidence: Vec::new(),
            by: None,
        });
        let event = match kind {
            BreachKind::NoResponse => "complaint.response_breached",
            BreachKind::UnreachableAfterContact
            | BreachKind::FailedContacts
            | BreachKind::UnreachableByBuyerEvidence => "complaint.provider_unreachable",
        };
        let outcome = outcome.event(
            event,
            self.subject(),
            json!({
                "kind": kind, "provider": self.provider, "violation": code, "case": case,
            }),
        );
        let open = code.map(|code| OpenCase {
            provider: self.provider,
            code,
            act_on: beijing_date(act_at),
            source: CaseSource::Complaint,
            summary,
            reference: Some(self.reference()),
            product: Some(self.product),
            by: None,
        });
        (outcome, open)
    }

    /// The response window ran out: without a response the breach is recorded and the
    /// rulebook's violation (ALI-S2) opened as case `case_id`. Harmless when the provider
    /// responded or the complaint closed meanwhile.
    pub fn response_due_passes(&self, case_id: Uuid, ctx: &mut Context<'_>) -> Decided {
        if self.status != ComplaintStatus::AwaitingResponse {
            return Ok((self.clone(), Outcome::default(), None));
        }
        let Some(due) = self.response_due else {
            return Ok((self.clone(), Outcome::default(), None));
        };
        if ctx.now < due {
            return Err(ComplaintError::NotDue);
        }
        let window = due.duration_since(self.opened_at).as_mins();
        let summary = format!(
            "投诉 {} 未在 {window} 分钟内响应 (complaint not answered within {window} minutes)",
            self.id
        );
        let mut next = self.clone();
        let code = ctx.rulebook.support.complaint_breach_violation.clone();
        let (outcome, open) = next.breach(
            BreachAt {
                kind: BreachKind::NoResponse,
                code,
                act_at: due,
                summary,
                case_id,
                now: ctx.now,
            },
            Outcome::default(),
        );
        Ok((next, outcome, open))
    }

    /// Failed operator contacts since the provider last answered (a message, or a contact
    /// that reached it).
    fn failed_streak(&self) -> u32 {
        let answered = self
            .timeline
            .iter()
            .filter(|e| e.party == Party::Provider)
            .map(|e| e.at)
            .chain(self.contacts.iter().filter(|c| c.reached).map(|c| c.at))
            .max();
        let n = self
            .contacts
            .iter()
            .filter(|c| !c.reached && answered.is_none_or(|a| c.at > a))
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    fn unreachable_breached(&self) -> bool {
        self.breaches.iter().any(|b| {
            matches!(
                b.kind,
                BreachKind::UnreachableAfterContact
                    | BreachKind::FailedContacts
                    | BreachKind::UnreachableByBuyerEvidence
            )
        })
    }

    /// Customer service records an attempt to reach the provider (TC annex S10). A failed
    /// attempt starts the "unreachable after contact" deadline if none runs; the rulebook's
    /// number of failed attempts in a row breaches at once (case `case_id`).
    pub fn record_contact(
        &self,
        channel: &str,
        reached: bool,
        note: &str,
        by: Option<UserId>,
        case_id: Uuid,
        ctx: &mut Context<'_>,
    ) -> Decided {
        self.ensure_open("record a contact attempt on")?;
        let channel = text(channel, "channel", true)?;
        let note = text(note, "note", false)?;
        let mut next = self.clone();
        next.contacts.push(ContactAttempt {
            at: ctx.now,
            channel: channel.clone(),
            reached,
            note: note.clone(),
            by,
        });
        next.timeline.push(TimelineEntry {
            at: ctx.now,
            party: Party::Operator,
            kind: EntryKind::ContactAttempt,
            text: format!(
                "{channel}: {}{}",
                if reached { "reached" } else { "not reached" },
                if note.is_empty() {
                    String::new()
                } else {
                    format!(" — {note}")
                }
            ),
            evidence: Vec::new(),
            by,
        });
        let mut outcome = Outcome::default().event(
            "complaint.contact_attempted",
            self.subject(),
            json!({ "channel": channel, "reached": reached, "by": by }),
        );
        if reached {
            if let Some(watch) = next.unreachable_watch.take() {
                outcome.cancel.push(watch.key);
            }
            return Ok((next, outcome, None));
        }
        let Some(rules) = ctx.rulebook.support.unreachable.clone() else {
            return Ok((next, outcome, None));
        };
        if rules.violation.is_none() || next.unreachable_breached() {
            return Ok((next, outcome, None));
        }
        let streak = next.failed_streak();
        if let Some(limit) = rules.failed_operator_contacts
            && streak >= limit
        {
            if let Some(watch) = next.unreachable_watch.take() {
                outcome.cancel.push(watch.key);
            }
            let summary = format!(
                "投诉 {}：运营方连续 {streak} 次联系服务商未果 ({streak} failed contact attempts)",
                self.id
            );
            let (outcome, open) = next.breach(
                BreachAt {
                    kind: BreachKind::FailedContacts,
                    code: rules.violation,
                    act_at: ctx.now,
                    summary,
                    case_id,
                    now: ctx.now,
                },
                outcome,
            );
            return Ok((next, outcome, open));
        }
        if next.unreachable_watch.is_none()
            && let Some(hours) = rules.operator_contact_hours
        {
            let due = ctx
                .now
                .checked_add(SignedDuration::from_hours(i64::from(hours)))
                .map_err(|_| ComplaintError::DateOutOfRange)?;
            let key = format!("complaint:{}:unreachable:{}", self.id, next.contacts.len());
            outcome.schedule.push(DeadlineRequest {
                kind: UNREACHABLE_DUE.to_string(),
                subject: self.subject(),
                due_at: due,
                payload: json!({ "complaint": self.id, "key": key }),
                dedupe_key: key.clone(),
            });
            next.unreachable_watch = Some(UnreachableWatch { key, due });
        }
        Ok((next, outcome, None))
    }

    /// The provider has written on the complaint after `since`.
    fn provider_wrote_since(&self, since: Timestamp) -> bool {
        self.timeline
            .iter()
            .any(|e| e.party == Party::Provider && e.at > since)
    }

    /// The buyer proves the provider has been unreachable since `since` (TC annex S10 2:
    /// 72 hours without notice). Once the rulebook's hours have passed since then — at once,
    /// or when a stored deadline re-checks — without the provider writing on the complaint,
    /// the provider is unreachable: breach, case `case_id`.
    pub fn buyer_reports_unreachable(
        &self,
        since: Timestamp,
        body: &str,
        files: Vec<Uuid>,
        case_id: Uuid,
        ctx: &mut Context<'_>,
    ) -> Decided {
        self.ensure_open("report an unreachable provider on")?;
        if since > ctx.now {
            return Err(ComplaintError::SinceInFuture);
        }
        let body = text(body, "text", true)?;
        let files = evidence(files)?;
        let mut next = self.clone();
        next.timeline.push(TimelineEntry {
            at: ctx.now,
            party: Party::Buyer,
            kind: EntryKind::UnreachableEvidence,
            text: body,
            evidence: files,
            by: None,
        });
        let mut outcome = Outcome::default().event(
            "complaint.unreachable_reported",
            self.subject(),
            json!({ "since": since, "provider": self.provider }),
        );
        let rules = ctx.rulebook.support.unreachable.as_ref();
        let (Some(hours), Some(code)) = (
            rules.and_then(|u| u.buyer_evidence_hours),
            rules.and_then(|u| u.violation.clone()),
        ) else {
            return Ok((next, outcome, None));
        };
        if next.unreachable_breached() || next.provider_wrote_since(since) {
            return Ok((next, outcome, None));
        }
        let due = since
            .checked_add(SignedDuration::from_hours(i64::from(hours)))
            .map_err(|_| ComplaintError::DateOutOfRange)?;
        if let Some((old, _)) = next.buyer_watch.take() {
            outcome.cancel.push(old.key);
        }
        if ctx.now >= due {
            let summary = format!(
                "投诉 {}：买家举证服务商自 {since} 起 {hours} 小时失去联系 (unreachable {hours} h by the buyer's evidence)",
                self.id
            );
            let (outcome, open) = next.breach(
                BreachAt {
                    kind: BreachKind::UnreachableByBuyerEvidence,
                    code: Some(code),
                    act_at: due,
                    summary,
                    case_id,
                    now: ctx.now,
                },
                outcome,
            );
            return Ok((next, outcome, open));
        }
        let key = format!(
            "complaint:{}:buyer_unreachable:{}",
            self.id,
            next.timeline.len()
        );
        outcome.schedule.push(DeadlineRequest {
            kind: UNREACHABLE_DUE.to_string(),
            subject: self.subject(),
            due_at: due,
            payload: json!({ "complaint": self.id, "key": key }),
            dedupe_key: key.clone(),
        });
        next.buyer_watch = Some((UnreachableWatch { key, due }, since));
        Ok((next, outcome, None))
    }

    /// An "unreachable" deadline `key` fired: after the operator's failed contact (TC S10 1)
    /// or at the end of the hours the buyer's evidence counts (TC S10 2), the provider has
    /// not answered — breach, case `case_id`. Harmless when the provider answered, the
    /// complaint closed, or the deadline is not the current one.
    pub fn unreachable_due_passes(
        &self,
        key: &str,
        case_id: Uuid,
        ctx: &mut Context<'_>,
    ) -> Decided {
        let noop = || Ok((self.clone(), Outcome::default(), None));
        if !self.status.is_open() {
            return noop();
        }
        let mut next = self.clone();
        let (kind, due, what) = match (&self.unreachable_watch, &self.buyer_watch) {
            (Some(w), _) if w.key == key => {
                next.unreachable_watch = None;
                (
                    BreachKind::UnreachableAfterContact,
                    w.due,
                    "运营方联系后服务商失去联系 (provider unreachable after the operator's contact)",
                )
            }
            (_, Some((w, since))) if w.key == key => {
                if self.provider_wrote_since(*since) {
                    return noop();
                }
                next.buyer_watch = None;
                (
                    BreachKind::UnreachableByBuyerEvidence,
                    w.due,
                    "买家举证服务商失去联系 (provider unreachable by the buyer's evidence)",
                )
            }
            _ => return noop(),
        };
        if ctx.now < due {
            return Err(ComplaintError::NotDue);
        }
        if next.unreachable_breached() {
            return Ok((next, Outcome::default(), None));
        }
        let code = ctx
            .rulebook
            .support
            .unreachable
            .as_ref()
            .and_then(|u| u.violation.clone());
        let summary = format!("投诉 {}：{what}", self.id);
        let (outcome, open) = next.breach(
            BreachAt {
                kind,
                code,
                act_at: due,
                summary,
                case_id,
                now: ctx.now,
            },
            Outcome::default(),
        );
        Ok((next, outcome, open))
    }

    /// Closes the complaint: cancels what is pending.
    fn close(&self, next: &mut Complaint, status: ComplaintStatus, outcome: &mut Outcome) {
        if self.status == ComplaintStatus::AwaitingResponse {
            outcome.cancel.push(self.response_key());
        }
        if let Some(watch) = next.unreachable_watch.take() {
            outcome.cancel.push(watch.key);
        }
        if let Some((watch, _)) = next.buyer_watch.take() {
            outcome.cancel.push(watch.key);
        }
        next.status = status;
    }

    /// Customer service decides (the shell checks the capability). A refund is made by the
    /// shell through the order's refund flow in the same batch; a case is opened as
    /// `case_id`.
    pub fn decide(
        &self,
        resolution: Resolution,
        note: &str,
        by: Option<UserId>,
        case_id: Uuid,
        ctx: &mut Context<'_>,
    ) -> Decided {
        self.ensure_open("decide")?;
        let note = text(note, "note", true)?;
        let mut next = self.clone();
        let mut outcome = Outcome::default();
        let (status, open) = match &resolution {
            Resolution::Dismiss => (ComplaintStatus::Dismissed, None),
            Resolution::Refund { .. } => (ComplaintStatus::Refunded, None),
            Resolution::OpenCase { code, act_on } => {
                let code = text(code, "code", true)?;
                let open = OpenCase {
                    provider: self.provider,
                    code,
                    act_on: *act_on,
                    source: CaseSource::Complaint,
                    summary: format!("投诉 {}：{note}", self.id),
                    reference: Some(self.reference()),
                    product: Some(self.product),
                    by,
                };
                (ComplaintStatus::CaseOpened, Some(open))
            }
        };
        self.close(&mut next, status, &mut outcome);
        let case = open.as_ref().map(|_| case_id);
        next.decision = Some(ComplaintDecision {
            at: ctx.now,
            resolution: resolution.clone(),
            note: note.clone(),
            by,
            case,
        });
        next.timeline.push(TimelineEntry {
            at: ctx.now,
            party: Party::Operator,
            kind: EntryKind::Decision,
            text: note,
            evidence: Vec::new(),
            by,
        });
        let outcome = outcome.event(
            "complaint.decided",
            self.subject(),
            json!({
                "status": status.label(), "resolution": resolution, "by": by,
                "provider": self.provider, "case": case,
            }),
        );
        Ok((next, outcome, open))
    }

    /// The buyer withdraws the complaint.
    pub fn withdraw(&self, note: &str, ctx: &mut Context<'_>) -> Decided {
        self.ensure_open("withdraw")?;
        let note = text(note, "note", false)?;
        let mut next = self.clone();
        let mut outcome = Outcome::default();
        self.close(&mut next, ComplaintStatus::Withdrawn, &mut outcome);
        next.timeline.push(TimelineEntry {
            at: ctx.now,
            party: Party::Buyer,
            kind: EntryKind::Withdrawn,
            text: note,
            evidence: Vec::new(),
            by: None,
        });
        let outcome = outcome.event(
            "complaint.withdrawn",
            self.subject(),
            json!({ "provider": self.provider }),
        );
        Ok((next, outcome, None))
    }
}
