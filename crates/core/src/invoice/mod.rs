//! Invoices to buyers (发票, SPEC §11 "Invoices", §7 item 8).
//!
//! The buyer of a paid order requests an invoice: its title (抬头), the tax number for an
//! enterprise title, the type (ordinary, or special VAT — enterprise only) and where to send
//! it (e-mail, or a paper invoice by post). The amount is what the order paid minus what was
//! refunded so far. Who issues follows the order's sales mode (ALI-A 1.9, 4.4.1; TC 4.5.2–4.5.3;
//! JD art.13): self-sold → the provider (`invoices.self_sold_provider_invoices_buyer`),
//! consignment → the operator's finance staff. Where the rulebook sets
//! `invoices.issue_within_days` (ALI-R art.17(1): 7) and the provider issues, a stored deadline
//! falls that many calendar days after the request; if it fires before the invoice is issued
//! the breach is recorded on the request (status `overdue`, event `invoice.breach`) and the
//! request stays open for issue. Above `invoices.free_postage_above` (ALI: 50 元) a paper
//! invoice is posted free: an issuer setting postage is refused.
//!
//! Refunds (TC 5.5.2, SPEC §7 item 8): a refund before the invoice is issued lowers the amount
//! to issue (to nothing: the request is void). A refund of an order whose invoice was issued
//! opens a task on the request: if the invoice was issued in the same Beijing calendar month
//! as the refund and the buyer has not used it for tax deduction, the buyer returns it
//! (`return_invoice`); otherwise the buyer provides the red-letter information form (红字信息表)
//! and the issuer issues a red-letter invoice (`red_letter`). Either way the issuer then
//! re-issues for what remains, if anything, and completes the task.
//!
//! **[design assumption]** Only TC states this procedure (`invoices.red_letter_rules`); ALI
//! and JD are silent, and the same procedure applies there too, because it is how a VAT
//! invoice is corrected whoever sells. The flag is kept in the rulebook for the day a
//! marketplace states another one.
//!
//! The shell applies [`InvoiceRequest::on_refunds`] to the order's request, if it has one, in
//! the batch of every order write that adds a refund payment ([`adds_refund`]).

pub mod error;

#[cfg(test)]
mod tests;

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

pub use self::error::InvoiceError;
use crate::catalog::SalesMode;
use crate::decision::{Context, DeadlineRequest, Outcome};
use crate::ids::{MemberId, OrderId, ProductId, ProviderId, RefundId, UserId};
use crate::money::{Fen, MoneyError};
use crate::order::Order;
use crate::time::beijing_date;

/// Deadline kind: the provider's time to issue ran out (ALI-R art.17(1)).
pub const ISSUE_DUE: &str = "invoice.issue_due";
/// Longest title, address or invoice number, in characters.
pub const MAX_TEXT: usize = 200;

/// 普通发票 or 增值税专用发票.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceType {
    Ordinary,
    SpecialVat,
}

/// Whose name the invoice carries (抬头).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TitleKind {
    Personal,
    Enterprise,
}

/// Who issues the invoice to the buyer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Issuer {
    /// Self-sold: the provider (ALI-A 4.4.1, TC 4.5.2, JD art.13(1)).
    Provider,
    /// Consignment: the operator's finance (TC 4.5.3, JD art.13(2)).
    Operator,
}

impl Issuer {
    pub fn label(self) -> &'static str {
        match self {
            Issuer::Provider => "provider",
            Issuer::Operator => "operator",
        }
    }

    /// Who issues for an order sold in `mode` under a rulebook whose self-sold flag is
    /// `provider_invoices` (**[design assumption]**: where a rulebook ever says the provider
    /// does not invoice a self-sold order, the operator does).
    pub fn for_sale(mode: SalesMode, provider_invoices: bool) -> Issuer {
        match mode {
            SalesMode::SelfSold if provider_invoices => Issuer::Provider,
            SalesMode::SelfSold | SalesMode::Consignment => Issuer::Operator,
        }
    }
}

/// Where the invoice goes: an electronic invoice by e-mail, or a paper one by post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "method")]
pub enum Delivery {
    Email {
        email: String,
    },
    Post {
        recipient: String,
        phone: String,
        address: String,
    },
}

/// What the buyer asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestInvoice {
    pub title: String,
    pub title_kind: TitleKind,
    pub tax_number: Option<String>,
    pub invoice_type: InvoiceType,
    pub delivery: Delivery,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    /// Waiting for the issuer.
    Requested,
    /// The issuer missed the deadline: the breach is recorded; still waiting for the issuer.
    Overdue,
    /// A valid invoice covers what the buyer paid and kept.
    Issued,
    /// A refund opened a task: the invoice is being returned or red-lettered.
    Correcting,
    /// Nothing is left to invoice: refunded in full.
    Void,
}

impl InvoiceStatus {
    pub fn label(self) -> &'static str {
        match self {
            InvoiceStatus::Requested => "requested",
            InvoiceStatus::Overdue => "overdue",
            InvoiceStatus::Issued => "issued",
            InvoiceStatus::Correcting => "correcting",
            InvoiceStatus::Void => "void",
        }
    }

    /// Waiting for the first issue.
    pub fn awaits_issue(self) -> bool {
        matches!(self, InvoiceStatus::Requested | InvoiceStatus::Overdue)
    }
}

/// 蓝字 (an ordinary invoice) or 红字 (the red-letter invoice that cancels one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Colour {
    Blue,
    Red,
}

/// Where an issued invoice stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssuedState {
    /// In force.
    Valid,
    /// The buyer returned it (same month, not deducted): cancelled.
    Returned,
    /// A red-letter invoice cancelled it.
    RedLettered,
    /// A red-letter invoice itself.
    Reversal,
}

/// One invoice issued on the request: the first, a re-issue, or a red-letter one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedInvoice {
    pub number: String,
    pub colour: Colour,
    /// The Beijing date of issue.
    pub issued_on: Date,
    pub issued_at: Timestamp,
    /// Negative for a red-letter invoice.
    pub amount: Fen,
    /// Postage charged to the buyer (paper invoices at or below the free-postage amount).
    #[serde(default)]
    pub postage: Fen,
    pub state: IssuedState,
    /// The buyer stated it used the invoice for tax deduction (抵扣).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deducted_at: Option<Timestamp>,
    /// A red-letter invoice: the number of the invoice it cancels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancels: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<UserId>,
}

/// The issuer missed the deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueBreach {
    pub at: Timestamp,
    pub due: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// Same month, not deducted: the buyer returns the invoice (TC 5.5.2).
    ReturnInvoice,
    /// Otherwise: the buyer provides the red-letter information form, the issuer issues a
    /// red-letter invoice (TC 5.5.2).
    RedLetter,
}

impl TaskKind {
    pub fn label(self) -> &'static str {
        match self {
            TaskKind::ReturnInvoice => "return_invoice",
            TaskKind::RedLetter => "red_letter",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// The buyer returns the invoice, or uploads the red-letter information form.
    AwaitingBuyer,
    /// The issuer cancels (red-letter) and re-issues.
    AwaitingIssuer,
    Done,
}

/// The buyer's part of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuyerPart {
    /// The buyer sent the invoice back.
    Returned,
    /// The red-letter information form, an uploaded evidence file.
    RedLetterForm(Uuid),
}

/// The issuer's part of a task.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CompleteTask {
    /// The red-letter invoice's number (`red_letter` tasks).
    pub red_letter_number: Option<String>,
    /// The re-issued invoice's number, when anything remains to invoice.
    pub reissued_number: Option<String>,
}

/// What a refund of an invoiced order asks of the buyer and the issuer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceTask {
    /// 1, 2, … on the request.
    pub id: u32,
    pub kind: TaskKind,
    pub status: TaskStatus,
    pub created_at: Timestamp,
    /// The refunds it answers.
    pub refunds: Vec<RefundId>,
    /// The Beijing date of the (first) refund: its month decides the kind.
    pub refunded_on: Date,
    /// The invoice to return or cancel.
    pub invoice: String,
    /// What the re-issued invoice must be for (zero: nothing to re-issue).
    pub remaining: Fen,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub returned_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub red_letter_form: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub red_letter_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reissued_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Timestamp>,
}

/// The buyer's invoice request for one paid order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceRequest {
    pub id: Uuid,
    pub order: OrderId,
    pub buyer: MemberId,
    pub provider: ProviderId,
    pub product: ProductId,
    pub sales_mode: SalesMode,
    pub issuer: Issuer,
    /// The rulebook in force when it was requested (its id).
    pub rulebook: String,
    pub title: String,
    pub title_kind: TitleKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_number: Option<String>,
    pub invoice_type: InvoiceType,
    pub delivery: Delivery,
    /// What the order paid.
    pub paid: Fen,
    /// Refunded so far.
    pub refunded: Fen,
    /// What the invoice in force must be for: paid − refunded.
    pub amount: Fen,
    pub requested_at: Timestamp,
    /// The provider's deadline to issue, where the rulebook sets one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue_due: Option<Timestamp>,
    pub status: InvoiceStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breach: Option<IssueBreach>,
    #[serde(default)]
    pub invoices: Vec<IssuedInvoice>,
    #[serde(default)]
    pub tasks: Vec<InvoiceTask>,
    /// Refunds already applied to this request.
    #[serde(default)]
    pub handled_refunds: Vec<RefundId>,
}

/// What the issuer records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueInvoice {
    pub number: String,
    /// Must be the amount due, when given.
    pub amount: Option<Fen>,
    /// Charged to the buyer for posting a paper invoice.
    pub postage: Fen,
}

pub type Decided = Result<(InvoiceRequest, Outcome), InvoiceError>;

fn text(s: &str, what: &'static str) -> Result<String, InvoiceError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(InvoiceError::Required(what));
    }
    if s.chars().count() > MAX_TEXT {
        return Err(InvoiceError::TooLong {
            field: what,
            max: MAX_TEXT,
        });
    }
    Ok(s.to_string())
}

fn delivery(d: Delivery) -> Result<Delivery, InvoiceError> {
    Ok(match d {
        Delivery::Email { email } => {
            let email = text(&email, "email")?;
            let valid = email
                .split_once('@')
                .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'));
            if !valid || email.contains(char::is_whitespace) {
                return Err(InvoiceError::InvalidEmail);
            }
            Delivery::Email { email }
        }
        Delivery::Post {
            recipient,
            phone,
            address,
        } => Delivery::Post {
            recipient: text(&recipient, "recipient")?,
            phone: text(&phone, "phone")?,
            address: text(&address, "address")?,
        },
    })
}

/// A taxpayer number: the 18-character unified social credit code, or an older 15/17/20
/// character number — letters and digits.
fn tax_number(raw: Option<&str>, kind: TitleKind) -> Result<Option<String>, InvoiceError> {
    let raw = raw.map(str::trim).filter(|s| !s.is_empty());
    let Some(n) = raw else {
        return match kind {
            TitleKind::Enterprise => Err(InvoiceError::TaxNumberRequired),
            TitleKind::Personal => Ok(None),
        };
    };
    let n = n.to_ascii_uppercase();
    if !(15..=20).contains(&n.len()) || !n.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(InvoiceError::InvalidTaxNumber);
    }
    Ok(Some(n))
}

/// Whether `next` has a refund payment `before` had not: the order write that makes it must
/// let the order's invoice request follow ([`InvoiceRequest::on_refunds`]). Never for a new
/// order.
pub fn adds_refund(before: Option<&Order>, next: &Order) -> bool {
    let Some(before) = before else {
        return false;
    };
    next.refunds.iter().any(|r| {
        r.payment.is_some()
            && !before
                .refunds
                .iter()
                .any(|b| b.id == r.id && b.payment.is_some())
    })
}

/// Same Beijing calendar month.
fn same_month(a: Date, b: Date) -> bool {
    a.year() == b.year() && a.month() == b.month()
}

impl InvoiceRequest {
    pub fn subject(&self) -> String {
        format!("invoice:{}", self.id)
    }

    /// The dedupe key of the issue deadline: unique per request.
    pub fn issue_key(&self) -> String {
        format!("invoice:{}:issue_due", self.id)
    }

    fn refuse(&self, action: &'static str) -> InvoiceError {
        InvoiceError::InvalidTransition {
            action,
            status: self.status.label(),
        }
    }

    /// The invoice in force, if any.
    pub fn current(&self) -> Option<&IssuedInvoice> {
        self.invoices
            .iter()
            .rev()
            .find(|i| i.colour == Colour::Blue && i.state == IssuedState::Valid)
    }

    fn current_mut(&mut self) -> Option<&mut IssuedInvoice> {
        self.invoices
            .iter_mut()
            .rev()
            .find(|i| i.colour == Colour::Blue && i.state == IssuedState::Valid)
    }

    /// Open and in breach of the issue deadline: the settlement run holds these.
    pub fn in_breach(&self) -> bool {
        self.status == InvoiceStatus::Overdue
    }

    /// The task not yet done, if any.
    pub fn open_task(&self) -> Option<&InvoiceTask> {
        self.tasks.iter().find(|t| t.status != TaskStatus::Done)
    }

    fn check_issuer(&self, by: Issuer) -> Result<(), InvoiceError> {
        if by == self.issuer {
            Ok(())
        } else {
            Err(InvoiceError::NotTheIssuer(self.issuer.label()))
        }
    }

    fn number(&self, raw: &str, what: &'static str) -> Result<String, InvoiceError> {
        let n = text(raw, what)?;
        if self.invoices.iter().any(|i| i.number == n) {
            return Err(InvoiceError::DuplicateNumber(n));
        }
        Ok(n)
    }

    fn blue(
        &self,
        number: String,
        amount: Fen,
        postage: Fen,
        by: Option<UserId>,
        now: Timestamp,
    ) -> IssuedInvoice {
        IssuedInvoice {
            number,
            colour: Colour::Blue,
            issued_on: beijing_date(now),
            issued_at: now,
            amount,
            postage,
            state: IssuedState::Valid,
            deducted_at: None,
            cancels: None,
            by,
        }
    }

    /// The buyer requests an invoice for its paid `order` (the shell checks the order is the
    /// caller's). Where the provider issues and the rulebook sets days to issue, the deadline
    /// is stored.
    pub fn request(
        id: Uuid,
        order: &Order,
        cmd: RequestInvoice,
        ctx: &mut Context<'_>,
    ) -> Result<(InvoiceRequest, Outcome), InvoiceError> {
        if order.payment.is_none() {
            return Err(InvoiceError::OrderNotPaid);
        }
        let paid = order.paid_amount();
        let refunded = order
            .refunded_total()
            .map_err(|_| InvoiceError::Money(MoneyError::Overflow))?;
        let amount = paid.checked_sub(refunded)?;
        if amount <= Fen::ZERO {
            return Err(InvoiceError::NothingToInvoice);
        }
        let title = text(&cmd.title, "title")?;
        let tax_number = tax_number(cmd.tax_number.as_deref(), cmd.title_kind)?;
        if cmd.invoice_type == InvoiceType::SpecialVat && cmd.title_kind != TitleKind::Enterprise {
            return Err(InvoiceError::SpecialVatNeedsEnterprise);
        }
        let delivery = delivery(cmd.delivery)?;
        let rules = &ctx.rulebook.invoices;
        let issuer = Issuer::for_sale(
            order.terms.sales_mode,
            rules.self_sold_provider_invoices_buyer,
        );
        let issue_due = match (issuer, rules.issue_within_days) {
            (Issuer::Provider, Some(days)) => Some(
                ctx.now
                    .checked_add(SignedDuration::from_hours(24 * i64::from(days)))
                    .map_err(|_| InvoiceError::DateOutOfRange)?,
            ),
            _ => None,
        };
        let handled = order
            .refunds
            .iter()
            .filter(|r| r.payment.is_some())
            .map(|r| r.id)
            .collect();
        let req = InvoiceRequest {
            id,
            order: order.id,
            buyer: order.buyer,
            provider: order.terms.provider,
            product: order.terms.product,
            sales_mode: order.terms.sales_mode,
            issuer,
            rulebook: ctx.rulebook.rulebook.id.clone(),
            title,
            title_kind: cmd.title_kind,
            tax_number,
            invoice_type: cmd.invoice_type,
            delivery,
            paid,
            refunded,
            amount,
            requested_at: ctx.now,
            issue_due,
            status: InvoiceStatus::Requested,
            breach: None,
            invoices: Vec::new(),
            tasks: Vec::new(),
            handled_refunds: handled,
        };
        let mut outcome = Outcome::default().event(
            "invoice.requested",
            req.subject(),
            json!({
                "order": req.order, "provider": req.provider, "buyer": req.buyer,
                "issuer": req.issuer, "amount": req.amount, "invoice_type": req.invoice_type,
                "issue_due": issue_due, "rulebook": req.rulebook,
            }),
        );
        if let Some(due) = issue_due {
            outcome.schedule.push(DeadlineRequest {
                kind: ISSUE_DUE.to_string(),
                subject: req.subject(),
                due_at: due,
                payload: json!({ "invoice": req.id }),
                dedupe_key: req.issue_key(),
            });
        }
        Ok((req, outcome))
    }

    /// The issuer records the invoice it issued: number, amount (the amount due), postage.
    /// Late issues are accepted; the breach stays recorded.
    pub fn issue(
        &self,
        by: Issuer,
        cmd: IssueInvoice,
        user: Option<UserId>,
        ctx: &mut Context<'_>,
    ) -> Decided {
        self.check_issuer(by)?;
        if !self.status.awaits_issue() {
            return Err(self.refuse("issue"));
        }
        let number = self.number(&cmd.number, "number")?;
        if let Some(given) = cmd.amount
            && given != self.amount
        {
            return Err(InvoiceError::AmountMismatch {
                expected: self.amount,
                given,
            });
        }
        if cmd.postage.is_negative() {
            return Err(InvoiceError::NegativeAmount);
        }
        if !cmd.postage.is_zero() {
            if !matches!(self.delivery, Delivery::Post { .. }) {
                return Err(InvoiceError::PostageOnElectronic);
            }
            if let Some(threshold) = ctx.rulebook.invoices.free_postage_above
                && self.amount > threshold
            {
                return Err(InvoiceError::PostageNotAllowed { threshold });
            }
        }
        let mut next = self.clone();
        let invoice = self.blue(number, self.amount, cmd.postage, user, ctx.now);
        let late = self.status == InvoiceStatus::Overdue;
        let mut outcome = Outcome::default().event(
            "invoice.issued",
            self.subject(),
            json!({
                "number": invoice.number, "amount": invoice.amount, "issued_on": invoice.issued_on,
                "postage": invoice.postage, "issuer": self.issuer, "late": late,
                "provider": self.provider, "by": user,
            }),
        );
        if self.issue_due.is_some() && !late {
            outcome.cancel.push(self.issue_key());
        }
        next.invoices.push(invoice);
        next.status = InvoiceStatus::Issued;
        Ok((next, outcome))
    }

    /// The deadline to issue ran out: if still not issued, the breach is recorded and the
    /// request stays open for issue. Harmless once issued or void.
    pub fn issue_due_passes(&self, ctx: &mut Context<'_>) -> Decided {
        let (InvoiceStatus::Requested, Some(due)) = (self.status, self.issue_due) else {
            return Ok((self.clone(), Outcome::default()));
        };
        if ctx.now < due {
            return Err(InvoiceError::NotDue);
        }
        let mut next = self.clone();
        next.status = InvoiceStatus::Overdue;
        next.breach = Some(IssueBreach { at: ctx.now, due });
        let days = due.duration_since(self.requested_at).as_hours() / 24;
        let outcome = Outcome::default().event(
            "invoice.breach",
            self.subject(),
            json!({
                "provider": self.provider, "order": self.order, "due": due, "days": days,
                "summary": format!(
                    "发票申请 {} 未在 {days} 天内开具 (invoice not issued within {days} days)",
                    self.id
                ),
            }),
        );
        Ok((next, outcome))
    }

    /// The buyer states it used the invoice in force for tax deduction (抵扣): a later refund
    /// then needs the red-letter procedure.
    pub fn mark_deducted(&self, ctx: &mut Context<'_>) -> Decided {
        if self.status != InvoiceStatus::Issued {
            return Err(self.refuse("mark as deducted"));
        }
        let mut next = self.clone();
        let Some(current) = next.current_mut() else {
            return Err(self.refuse("mark as deducted"));
        };
        if current.deducted_at.is_some() {
            return Ok((self.clone(), Outcome::default()));
        }
        current.deducted_at = Some(ctx.now);
        let number = current.number.clone();
        let outcome = Outcome::default().event(
            "invoice.deducted",
            self.subject(),
            json!({ "number": number, "provider": self.provider }),
        );
        Ok((next, outcome))
    }

    /// The order was refunded (`order` as it is now): every refund payment not yet applied
    /// lowers the amount. Before issue the request simply asks for less (void when nothing
    /// is left); after issue a task opens — `return_invoice` when the invoice was issued in
    /// the refund's Beijing month and not deducted, `red_letter` otherwise (TC 5.5.2; ALI
    /// and JD: the same, a [design assumption], see the module doc); a task already open
    /// takes the further refund on.
    pub fn on_refunds(&self, order: &Order, ctx: &mut Context<'_>) -> Decided {
        let new: Vec<(RefundId, Timestamp)> = order
            .refunds
            .iter()
            .filter(|r| !self.handled_refunds.contains(&r.id))
            .filter_map(|r| r.payment.as_ref().map(|p| (r.id, p.at)))
            .collect();
        let Some(&(_, first_at)) = new.first() else {
            return Ok((self.clone(), Outcome::default()));
        };
        let refunded = order
            .refunded_total()
            .map_err(|_| InvoiceError::Money(MoneyError::Overflow))?;
        let amount = self.paid.checked_sub(refunded)?.max(Fen::ZERO);
        let ids: Vec<RefundId> = new.iter().map(|(id, _)| *id).collect();
        let mut next = self.clone();
        next.handled_refunds.extend(ids.iter().copied());
        next.refunded = refunded;
        next.amount = amount;
        let mut outcome = Outcome::default().event(
            "invoice.amount_adjusted",
            self.subject(),
            json!({
                "refunds": ids, "refunded": refunded, "amount": amount,
                "provider": self.provider,
            }),
        );
        match self.status {
            InvoiceStatus::Requested | InvoiceStatus::Overdue => {
                if amount.is_zero() {
                    next.status = InvoiceStatus::Void;
                    if self.status == InvoiceStatus::Requested && self.issue_due.is_some() {
                        outcome.cancel.push(self.issue_key());
                    }
                }
            }
            InvoiceStatus::Issued => {
                let Some(current) = self.current() else {
                    return Err(self.refuse("refund"));
                };
                let refunded_on = beijing_date(first_at);
                let kind = if same_month(current.issued_on, refunded_on)
                    && current.deducted_at.is_none()
                {
                    TaskKind::ReturnInvoice
                } else {
                    TaskKind::RedLetter
                };
                let task = InvoiceTask {
                    id: u32::try_from(self.tasks.len())
                        .unwrap_or(u32::MAX)
                        .saturating_add(1),
                    kind,
                    status: TaskStatus::AwaitingBuyer,
                    created_at: ctx.now,
                    refunds: ids,
                    refunded_on,
                    invoice: current.number.clone(),
                    remaining: amount,
                    returned_at: None,
                    red_letter_form: None,
                    red_letter_number: None,
                    reissued_number: None,
                    completed_at: None,
                };
                outcome = outcome.event(
                    "invoice.task_opened",
                    self.subject(),
                    json!({
                        "task": task.id, "kind": kind, "invoice": task.invoice,
                        "remaining": amount, "provider": self.provider, "issuer": self.issuer,
                    }),
                );
                next.tasks.push(task);
                next.status = InvoiceStatus::Correcting;
            }
            InvoiceStatus::Correcting => {
                if let Some(task) = next.tasks.iter_mut().find(|t| t.status != TaskStatus::Done) {
                    task.refunds.extend(ids);
                    task.remaining = amount;
                }
            }
            InvoiceStatus::Void => {}
        }
        Ok((next, outcome))
    }

    fn task_index(&self, task: u32) -> Result<usize, InvoiceError> {
        self.tasks
            .iter()
            .position(|t| t.id == task)
            .ok_or(InvoiceError::NoSuchTask(task))
    }

    /// The buyer's part of task `task`: the invoice returned (`return_invoice`) or the
    /// red-letter information form uploaded (`red_letter`).
    pub fn buyer_part(&self, task: u32, part: BuyerPart, ctx: &mut Context<'_>) -> Decided {
        let i = self.task_index(task)?;
        let t = &self.tasks[i];
        match t.status {
            TaskStatus::Done => return Err(InvoiceError::TaskDone(task)),
            TaskStatus::AwaitingIssuer | TaskStatus::AwaitingBuyer => {}
        }
        let mut next = self.clone();
        let nt = &mut next.tasks[i];
        match (t.kind, part) {
            (TaskKind::ReturnInvoice, BuyerPart::Returned) => nt.returned_at = Some(ctx.now),
            (TaskKind::RedLetter, BuyerPart::RedLetterForm(file)) => {
                nt.red_letter_form = Some(file);
            }
            (kind, part) => {
                return Err(InvoiceError::WrongTaskStep {
                    task,
                    kind: kind.label(),
                    expected: match part {
                        BuyerPart::Returned => "returned",
                        BuyerPart::RedLetterForm(_) => "red_letter_form",
                    },
                });
            }
        }
        nt.status = TaskStatus::AwaitingIssuer;
        let outcome = Outcome::default().event(
            "invoice.task_buyer_part",
            self.subject(),
            json!({ "task": task, "kind": t.kind, "form": nt.red_letter_form }),
        );
        Ok((next, outcome))
    }

    /// The issuer completes task `task` after the buyer's part: a returned invoice is
    /// cancelled, or the red-letter invoice (its number) cancels it; then, if anything
    /// remains, the re-issued invoice (its number) is for what remains.
    pub fn complete_task(
        &self,
        by: Issuer,
        task: u32,
        cmd: CompleteTask,
        user: Option<UserId>,
        ctx: &mut Context<'_>,
    ) -> Decided {
        self.check_issuer(by)?;
        let i = self.task_index(task)?;
        let t = self.tasks[i].clone();
        match t.status {
            TaskStatus::Done => return Err(InvoiceError::TaskDone(task)),
            TaskStatus::AwaitingBuyer => return Err(InvoiceError::BuyerPartMissing(task)),
            TaskStatus::AwaitingIssuer => {}
        }
        let mut next = self.clone();
        let original = next
            .invoices
            .iter()
            .position(|inv| inv.number == t.invoice)
            .ok_or_else(|| self.refuse("complete a task on"))?;
        let red = match (t.kind, cmd.red_letter_number.as_deref()) {
            (TaskKind::RedLetter, Some(n)) => Some(self.number(n, "red_letter_number")?),
            (TaskKind::RedLetter, None) => return Err(InvoiceError::Required("red_letter_number")),
            (TaskKind::ReturnInvoice, Some(_)) => {
                return Err(InvoiceError::NotNeeded("red_letter_number"));
            }
            (TaskKind::ReturnInvoice, None) => None,
        };
        let reissued = match (t.remaining.is_zero(), cmd.reissued_number.as_deref()) {
            (false, Some(n)) => {
                let n = self.number(n, "reissued_number")?;
                if red.as_deref() == Some(n.as_str()) {
                    return Err(InvoiceError::DuplicateNumber(n));
                }
                Some(n)
            }
            (false, None) => return Err(InvoiceError::Required("reissued_number")),
            (true, Some(_)) => return Err(InvoiceError::NotNeeded("reissued_number")),
            (true, None) => None,
        };
        let cancelled_amount = next.invoices[original].amount;
        next.invoices[original].state = match t.kind {
            TaskKind::ReturnInvoice => IssuedState::Returned,
            TaskKind::RedLetter => IssuedState::RedLettered,
        };
        if let Some(n) = &red {
            next.invoices.push(IssuedInvoice {
                number: n.clone(),
                colour: Colour::Red,
                issued_on: beijing_date(ctx.now),
                issued_at: ctx.now,
                amount: cancelled_amount.checked_neg()?,
                postage: Fen::ZERO,
                state: IssuedState::Reversal,
                deducted_at: None,
                cancels: Some(t.invoice.clone()),
                by: user,
            });
        }
        if let Some(n) = &reissued {
            let invoice = self.blue(n.clone(), t.remaining, Fen::ZERO, user, ctx.now);
            next.invoices.push(invoice);
        }
        let nt = &mut next.tasks[i];
        nt.status = TaskStatus::Done;
        nt.red_letter_number = red.clone();
        nt.reissued_number = reissued.clone();
        nt.completed_at = Some(ctx.now);
        next.status = if reissued.is_some() {
            InvoiceStatus::Issued
        } else {
            InvoiceStatus::Void
        };
        let outcome = Outcome::default().event(
            "invoice.task_completed",
            self.subject(),
            json!({
                "task": task, "kind": t.kind, "cancelled": t.invoice, "red_letter": red,
                "reissued": reissued, "amount": t.remaining, "by": user,
                "provider": self.provider,
            }),
        );
        Ok((next, outcome))
    }
}
