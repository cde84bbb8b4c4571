//! Request and answer bodies of the invoice API.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use yunshi_core::invoice::{
    BuyerPart, CompleteTask, Delivery, InvoiceRequest, InvoiceType, IssueInvoice, TitleKind,
};
use yunshi_core::money::Fen;

use crate::kernel::views::DeadlineView;

/// The buyer asks for an invoice for its paid order.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "title": "杭州云帆科技有限公司", "title_kind": "enterprise",
    "tax_number": "91330106MA2CXXXX1K", "invoice_type": "special_vat",
    "delivery": {"method": "email", "email": "finance@yunfan.example"}
}))]
pub struct RequestInvoiceBody {
    /// The invoice title (抬头): a person's or an enterprise's name.
    pub title: String,
    /// `personal` or `enterprise`.
    #[schema(value_type = String)]
    pub title_kind: TitleKind,
    /// The taxpayer number (纳税人识别号), required for an enterprise title.
    #[serde(default)]
    pub tax_number: Option<String>,
    /// `ordinary` (普通发票) or `special_vat` (增值税专用发票, enterprise titles only).
    #[schema(value_type = String)]
    pub invoice_type: InvoiceType,
    /// `{"method": "email", "email": …}` for an electronic invoice, or
    /// `{"method": "post", "recipient": …, "phone": …, "address": …}` for a paper one.
    #[schema(value_type = Object)]
    pub delivery: Delivery,
}

/// The issuer records the invoice it issued.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"number": "044001900111-00012345", "amount": "1000.00", "postage": "0.00"}))]
pub struct IssueBody {
    /// The invoice number (发票代码-号码).
    pub number: String,
    /// The invoiced amount; must be the amount due when given.
    #[serde(default)]
    #[schema(value_type = Option<crate::kernel::amount::Money>)]
    pub amount: Option<Fen>,
    /// Postage charged to the buyer for a paper invoice; not allowed above the rulebook's
    /// free-postage amount (ALI: 50.00).
    #[serde(default)]
    #[schema(value_type = Option<crate::kernel::amount::Money>)]
    pub postage: Option<Fen>,
}

impl From<&IssueBody> for IssueInvoice {
    fn from(b: &IssueBody) -> Self {
        IssueInvoice {
            number: b.number.clone(),
            amount: b.amount,
            postage: b.postage.unwrap_or(Fen::ZERO),
        }
    }
}

/// The buyer's part of a refund task: `{"part": "returned"}` (the invoice was sent back) or
/// `{"part": "red_letter_form", "evidence": …}` (the uploaded 红字信息表).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "part", deny_unknown_fields)]
#[schema(example = json!({"part": "red_letter_form", "evidence": "01930000-0000-7000-8000-0000000000f1"}))]
pub enum BuyerPartBody {
    Returned,
    RedLetterForm {
        #[schema(value_type = String)]
        evidence: Uuid,
    },
}

impl From<BuyerPartBody> for BuyerPart {
    fn from(b: BuyerPartBody) -> Self {
        match b {
            BuyerPartBody::Returned => BuyerPart::Returned,
            BuyerPartBody::RedLetterForm { evidence } => BuyerPart::RedLetterForm(evidence),
        }
    }
}

/// The issuer completes a refund task: the red-letter invoice's number (`red_letter` tasks)
/// and the re-issued invoice's number (when anything remains to invoice).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"red_letter_number": "044001900111-00012399", "reissued_number": "044001900111-00012400"}))]
pub struct CompleteTaskBody {
    #[serde(default)]
    pub red_letter_number: Option<String>,
    #[serde(default)]
    pub reissued_number: Option<String>,
}

impl From<&CompleteTaskBody> for CompleteTask {
    fn from(b: &CompleteTaskBody) -> Self {
        CompleteTask {
            red_letter_number: b.red_letter_number.clone(),
            reissued_number: b.reissued_number.clone(),
        }
    }
}

/// An invoice request with its status, the issuer's deadline, and the open refund task.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[schema(example = json!({
    "invoice": {"id": "01930000-0000-7000-8000-0000000000d1", "order": "01930000-0000-7000-8000-0000000000a1",
                "issuer": "provider", "amount": "1000.00", "status": "requested",
                "issue_due": "2026-07-08T01:00:00Z", "invoices": [], "tasks": []},
    "status": "requested", "issuer": "provider", "in_breach": false,
    "deadline": {"window": "issue", "due_at": "2026-07-08T01:00:00Z"}, "open_task": null
}))]
pub struct InvoiceView {
    #[schema(value_type = Object)]
    pub invoice: InvoiceRequest,
    /// `requested`, `overdue`, `issued`, `correcting` or `void`.
    pub status: String,
    /// `provider` (self-sold) or `operator` (consignment).
    pub issuer: String,
    /// Open, and the issuer missed its deadline.
    pub in_breach: bool,
    /// The issuer's deadline while it runs (`issue`).
    #[serde(default)]
    pub deadline: Option<DeadlineView>,
    /// The refund task not yet done.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub open_task: Option<yunshi_core::invoice::InvoiceTask>,
}

impl InvoiceView {
    pub fn of(r: &InvoiceRequest) -> Self {
        Self {
            invoice: r.clone(),
            status: r.status.label().to_string(),
            issuer: r.issuer.label().to_string(),
            in_breach: r.in_breach(),
            deadline: r
                .issue_due
                .filter(|_| r.status == yunshi_core::invoice::InvoiceStatus::Requested)
                .map(|due_at| DeadlineView {
                    window: "issue".to_string(),
                    due_at,
                }),
            open_task: r.open_task().cloned(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct InvoicePage {
    pub items: Vec<InvoiceView>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub next_after: Option<Uuid>,
}
