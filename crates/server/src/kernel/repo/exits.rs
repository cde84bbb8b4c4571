//! Request and answer bodies of the exit API, and the two records it stores besides the
//! core's tenure: the public exit notice and the refund task of a partly delivered order.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use yunshi_core::ids::{MemberId, OrderId, ProviderId, UserId};
use yunshi_core::money::Fen;
use yunshi_core::provider::{ExitKind, ExitStep, Tenure};

/// What a public exit notice announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitNoticeKind {
    /// The store will close on `effective_at` (JD art.27: 30 days ahead).
    StoreClosing,
    /// The provider has left (ALI-A 7.1.4: the exit is announced).
    Exit,
}

/// A notice on the public list (`GET /api/v1/notices`), stored as `exit_notice`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitNotice {
    pub id: Uuid,
    pub provider: ProviderId,
    pub tenure: Option<Uuid>,
    pub kind: ExitNoticeKind,
    pub exit_kind: ExitKind,
    /// The names of the provider's stores.
    pub stores: Vec<String>,
    pub published_at: Timestamp,
    pub effective_at: Timestamp,
    /// The announcement the notice is about (a closing notice), to withdraw it with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn_at: Option<Timestamp>,
}

impl ExitNotice {
    pub fn status_label(&self) -> &'static str {
        if self.withdrawn_at.is_some() {
            "withdrawn"
        } else {
            "published"
        }
    }

    /// The stable code on the notice list: `exit.store_closing`, `exit.voluntary`, …
    pub fn code(&self) -> String {
        match self.kind {
            ExitNoticeKind::StoreClosing => "exit.store_closing".to_string(),
            ExitNoticeKind::Exit => format!("exit.{}", self.exit_kind.label()),
        }
    }

    fn stores_zh(&self) -> String {
        if self.stores.is_empty() {
            "服务商店铺".to_string()
        } else {
            self.stores.join("、")
        }
    }

    fn stores_en(&self) -> String {
        if self.stores.is_empty() {
            "the provider's stores".to_string()
        } else {
            self.stores.join(", ")
        }
    }

    pub fn title_zh(&self) -> String {
        let day = yunshi_core::time::beijing_date(self.effective_at);
        match self.kind {
            ExitNoticeKind::StoreClosing => {
                format!(
                    "关店公告：{} 将于 {day} 关闭（服务商主动退出）",
                    self.stores_zh()
                )
            }
            ExitNoticeKind::Exit => format!(
                "退出公告：{}（{}），{day} 起不再在云市场经营",
                self.exit_kind.title_zh(),
                self.stores_zh()
            ),
        }
    }

    pub fn title_en(&self) -> String {
        let day = yunshi_core::time::beijing_date(self.effective_at);
        match self.kind {
            ExitNoticeKind::StoreClosing => format!(
                "Store closing: {} closes on {day} (the provider leaves)",
                self.stores_en()
            ),
            ExitNoticeKind::Exit => format!(
                "Exit: {} ({}); no longer in the marketplace from {day}",
                self.exit_kind.title_en(),
                self.stores_en()
            ),
        }
    }
}

/// Where a partly delivered order's refund task stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Open,
    Resolved,
}

impl TaskStatus {
    pub fn label(self) -> &'static str {
        match self {
            TaskStatus::Open => "open",
            TaskStatus::Resolved => "resolved",
        }
    }
}

/// How customer service resolved a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TaskResolution {
    /// Refunded to the buyer (0.00: delivered in full, nothing refunded).
    #[schema(value_type = crate::kernel::amount::Money)]
    pub amount: Fen,
    pub note: String,
    #[schema(value_type = Option<String>)]
    pub by: Option<UserId>,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
}

/// ALI by delivery degree (ALI-R art.30(1)): a service order with confirmed milestones was
/// partly delivered when its provider left; customer service sets the refund. Stored as
/// `exit_refund_task` (owner = provider, status open/resolved).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193c0de-0000-7000-8000-0000000000e1", "provider": "0193c0de-0000-7000-8000-000000000001",
    "order": "0193c0de-0000-7000-8000-0000000000a1", "buyer": "0193c0de-0000-7000-8000-0000000000b1",
    "exit_kind": "voluntary", "created_at": "2026-07-10T02:00:00Z", "paid": "3000.00",
    "refundable": "3000.00", "milestones": 2, "confirmed_milestones": 1, "status": "open",
    "resolution": null
}))]
pub struct ExitRefundTask {
    #[schema(value_type = String)]
    pub id: Uuid,
    #[schema(value_type = String)]
    pub provider: ProviderId,
    #[schema(value_type = String)]
    pub order: OrderId,
    #[schema(value_type = String)]
    pub buyer: MemberId,
    #[schema(value_type = String)]
    pub exit_kind: ExitKind,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = crate::kernel::amount::Money)]
    pub paid: Fen,
    /// Paid and not yet refunded when the task was opened: the most it may refund.
    #[schema(value_type = crate::kernel::amount::Money)]
    pub refundable: Fen,
    pub milestones: usize,
    pub confirmed_milestones: usize,
    pub status: TaskStatus,
    pub resolution: Option<TaskResolution>,
}

/// What an exit did, in the batch that made it take effect.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ExitEffects {
    /// Orders refunded in full (unfinished or not started).
    #[schema(value_type = Vec<String>)]
    pub refunded_orders: Vec<OrderId>,
    /// Orders awaiting payment, cancelled.
    #[schema(value_type = Vec<String>)]
    pub cancelled_orders: Vec<OrderId>,
    /// Refund tasks opened for customer service (partly delivered services, ALI).
    #[schema(value_type = Vec<String>)]
    pub refund_tasks: Vec<Uuid>,
    /// Products delisted.
    pub delisted_products: usize,
    /// Stores hidden (exit) — closed on expulsion by the case's decision.
    pub hidden_stores: usize,
    /// The public exit notice.
    #[schema(value_type = Option<String>)]
    pub notice: Option<Uuid>,
}

/// The provider's tenure: its agreement term and any exit announced or done.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TenureView {
    #[schema(value_type = Object)]
    pub tenure: Tenure,
    /// `active`, `exit_pending` or `ended`.
    pub status: String,
    /// The last day the agreement is in force now (extension included); none without a term.
    #[schema(value_type = Option<String>, format = Date)]
    pub term_last_day: Option<Date>,
}

impl TenureView {
    pub fn of(t: &Tenure) -> Self {
        Self {
            tenure: t.clone(),
            status: t.status_label().to_string(),
            term_last_day: t.term.as_ref().map(|term| term.effective_last_day()),
        }
    }
}

/// The answer to an exit request, a termination notice or a deadline.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "provider_id": "0193c0de-0000-7000-8000-000000000001", "provider_status": "active",
    "step": {"step": "announced", "effective_at": "2026-07-30T16:00:00Z"},
    "tenure": null, "effects": null
}))]
pub struct ExitAnswer {
    #[schema(value_type = String)]
    pub provider_id: Uuid,
    pub provider_status: String,
    /// `announced` (with `effective_at`) or `takes_effect` (with `kind`).
    #[schema(value_type = Object)]
    pub step: ExitStep,
    pub tenure: Option<TenureView>,
    /// Present when the exit took effect now.
    pub effects: Option<ExitEffects>,
}

/// A provider's exit standing: tenure, re-entry, open refund tasks.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ExitStandingView {
    #[schema(value_type = String)]
    pub provider_id: Uuid,
    pub provider_status: String,
    /// The current tenure, or the last one that ended.
    pub tenure: Option<TenureView>,
    /// After a voluntary exit: the first day a new application is possible (SPEC §3).
    #[schema(value_type = Option<String>, format = Date)]
    pub reapply_from: Option<Date>,
    /// Expelled or banned: never again.
    pub reapply_never: bool,
    pub refund_tasks: Vec<ExitRefundTask>,
}

/// The provider's owner asks to leave.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[schema(example = json!({"reason": "业务调整，停止在云市场销售"}))]
pub struct ExitRequest {
    #[serde(default)]
    pub reason: String,
}

/// The operator ends the agreement with notice (ALI-A 7.2.3).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[schema(example = json!({"reason": "合作方向调整，依协议 7.2.3 提前 15 日通知终止"}))]
pub struct TerminationRequest {
    pub reason: String,
}

/// The provider's owner signs the next agreement term.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[schema(example = json!({"agreement_id": "provider-agreement-2021-v1"}))]
pub struct RenewalRequest {
    /// The id of the agreement version in force (`GET /api/v1/onboarding/agreement`).
    pub agreement_id: String,
}

/// Customer service sets the refund of a partly delivered order.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[schema(example = json!({"amount": "1200.00", "note": "已交付需求调研与部署，退还未交付部分"}))]
pub struct ResolutionRequest {
    /// 0.00 up to the task's `refundable`; 0.00 means delivered in full.
    #[schema(value_type = crate::kernel::amount::Money)]
    pub amount: Fen,
    pub note: String,
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskQuery {
    /// `open` (default) or `resolved`.
    pub status: Option<String>,
    /// Only this provider's tasks.
    #[param(value_type = Option<String>)]
    pub provider_id: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TaskPage {
    pub items: Vec<ExitRefundTask>,
}
