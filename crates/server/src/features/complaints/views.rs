//! Request and answer bodies of the complaint API.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use yunshi_core::complaint::{Complaint, ComplaintReason};
use yunshi_core::rulebook::RefundReason;

use crate::kernel::views::AwardBody;
use crate::kernel::views::DeadlineView;

/// The buyer complains about one of its paid orders.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "order_id": "01930000-0000-7000-8000-0000000000a1", "reason": "not_delivered",
    "text": "付款两天仍未收到镜像，客服不回复", "evidence": ["01930000-0000-7000-8000-0000000000f1"]
}))]
pub struct OpenComplaintRequest {
    #[schema(value_type = String)]
    pub order_id: Uuid,
    /// `not_delivered`, `service_quality`, `late_or_dragging`, `mismatch`, `unresponsive`,
    /// `attitude`, `security` or `other`.
    #[schema(value_type = String)]
    pub reason: ComplaintReason,
    pub text: String,
    /// Ids of uploaded files (screenshots, agreements, chat records).
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub evidence: Vec<Uuid>,
}

/// A message on the timeline, with evidence. The provider's first message is its response.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"text": "已联系客户，正在排查镜像启动问题", "evidence": []}))]
pub struct MessageRequest {
    pub text: String,
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub evidence: Vec<Uuid>,
}

/// The buyer's evidence that the provider has been unreachable since `since` (TC annex S10
/// 2: 72 hours without notice).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "since": "2026-06-28T01:00:00Z", "text": "自 6 月 28 日起电话、邮件均无人回复，见截图",
    "evidence": ["01930000-0000-7000-8000-0000000000f2"]
}))]
pub struct UnreachableReport {
    #[schema(value_type = String, format = DateTime)]
    pub since: Timestamp,
    pub text: String,
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub evidence: Vec<Uuid>,
}

/// The buyer withdraws its complaint.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"note": "问题已解决"}))]
pub struct WithdrawRequest {
    #[serde(default)]
    pub note: String,
}

/// An operator attempt to reach the provider (TC annex S10: unreachable providers).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"channel": "phone", "reached": false, "note": "两次拨打无人接听"}))]
pub struct ContactRequest {
    /// `phone`, `email`, `console_message`, …
    pub channel: String,
    /// Whether the provider answered.
    pub reached: bool,
    #[serde(default)]
    pub note: String,
}

/// Customer service decides a complaint.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "decision", deny_unknown_fields)]
#[schema(example = json!({
    "decision": "refund", "ground": "not_delivered_as_agreed", "award": {"kind": "full"},
    "note": "服务商未按约定交付"
}))]
pub enum DecisionRequest {
    /// Nothing to act on.
    Dismiss { note: String },
    /// Refund through the order's refund flow (a direct refund on a ground the rulebook
    /// allows), in the same write as the decision.
    Refund {
        #[schema(value_type = String)]
        ground: RefundReason,
        award: AwardBody,
        note: String,
    },
    /// Open a violation case with a table code of the rulebook in force on `act_on`
    /// (default: the day the complaint was opened).
    OpenCase {
        code: String,
        #[serde(default)]
        #[schema(value_type = Option<String>, format = Date)]
        act_on: Option<Date>,
        note: String,
    },
}

impl DecisionRequest {
    pub fn note(&self) -> &str {
        match self {
            DecisionRequest::Dismiss { note }
            | DecisionRequest::Refund { note, .. }
            | DecisionRequest::OpenCase { note, .. } => note,
        }
    }
}

/// A complaint with its status, the deadline the provider faces, and the cases it opened.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[schema(example = json!({
    "complaint": {"id": "01930000-0000-7000-8000-0000000000e1", "order": "01930000-0000-7000-8000-0000000000a1",
                  "provider": "01930000-0000-7000-8000-000000000001", "reason": "not_delivered",
                  "status": "awaiting_response", "response_due": "2026-07-01T01:30:00Z", "timeline": []},
    "status": "awaiting_response",
    "deadline": {"window": "response", "due_at": "2026-07-01T01:30:00Z"},
    "cases": []
}))]
pub struct ComplaintView {
    #[schema(value_type = Object)]
    pub complaint: Complaint,
    pub status: String,
    /// `response` (the provider's response window) or `unreachable` (after a failed
    /// operator contact).
    #[serde(default)]
    pub deadline: Option<DeadlineView>,
    /// Violation cases this complaint opened.
    #[schema(value_type = Vec<String>)]
    pub cases: Vec<Uuid>,
}

impl ComplaintView {
    pub fn of(c: &Complaint) -> Self {
        Self {
            complaint: c.clone(),
            status: c.status.label().to_string(),
            deadline: c.open_deadline().map(|(w, d)| DeadlineView {
                window: w.to_string(),
                due_at: d,
            }),
            cases: c.cases(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct ComplaintPage {
    pub items: Vec<ComplaintView>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub next_after: Option<Uuid>,
}
