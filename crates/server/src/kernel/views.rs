//! API shapes more than one feature answers with: a store, a violation case with its open
//! deadline, a refund award.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use yunshi_core::governance::Case;
use yunshi_core::order::RefundAward;
use yunshi_core::storefront::{Store, StoreState, Visibility};

/// A store with its standing and what the market shows at the time of the answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "store": {"id": "0193c0de-7a5e-7000-8000-000000000020",
        "provider": "0193c0de-7a5e-7000-8000-000000000001", "name": "云帆科技官方店",
        "category": null, "opened_at": "2026-04-02T02:00:00Z", "freeze": null, "block": null,
        "deposit_closure": null, "hidden": null, "closed": null, "pending_transfer": null,
        "transfers": []},
    "state": {"state": "open"},
    "visibility": {"store_shown": true, "products_shown": true, "may_publish": true},
    "at": "2026-04-02T02:00:00Z"
}))]
pub struct StoreView {
    #[schema(value_type = Object)]
    pub store: Store,
    /// open, frozen, blocked, closed_for_deposit, hidden or closed.
    #[schema(value_type = Object)]
    pub state: StoreState,
    #[schema(value_type = Object)]
    pub visibility: Visibility,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
}

impl StoreView {
    pub fn of(store: &Store, at: Timestamp) -> Self {
        Self {
            store: store.clone(),
            state: store.state(at),
            visibility: store.visibility(at),
            at,
        }
    }
}

/// The deadline the provider faces now.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct DeadlineView {
    /// `reply` or `objection`.
    pub window: String,
    #[schema(value_type = String, format = DateTime)]
    pub due_at: Timestamp,
}

/// A case with its status and the open deadline, if any.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[schema(example = json!({
    "case": {"id": "01930000-0000-7000-8000-0000000000c1", "provider": "01930000-0000-7000-8000-000000000001",
             "rulebook": "ali-2020", "row": {"code": "ALI-B1", "points": 12}, "act_on": "2026-07-01",
             "status": "awaiting_reply", "reply_due": "2026-07-09T16:00:00Z"},
    "status": "awaiting_reply",
    "deadline": {"window": "reply", "due_at": "2026-07-09T16:00:00Z"}
}))]
pub struct CaseView {
    #[schema(value_type = Object)]
    pub case: Case,
    pub status: String,
    #[serde(default)]
    pub deadline: Option<DeadlineView>,
}

impl CaseView {
    pub fn of(case: &Case) -> Self {
        Self {
            case: case.clone(),
            status: case.status.label().to_string(),
            deadline: case.open_deadline().map(|(w, d)| DeadlineView {
                window: w.to_string(),
                due_at: d,
            }),
        }
    }
}

/// What the operator awards: `{"kind": "full"}`, `{"kind": "amount", "amount": "300.00"}`
/// or `{"kind": "pro_rata_unused_days"}`.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum AwardBody {
    Full,
    Amount {
        #[schema(value_type = crate::kernel::amount::Money, example = "300.00")]
        amount: yunshi_core::money::Fen,
    },
    ProRataUnusedDays,
}

impl From<AwardBody> for RefundAward {
    fn from(a: AwardBody) -> Self {
        match a {
            AwardBody::Full => RefundAward::Full,
            AwardBody::Amount { amount } => RefundAward::Amount { amount },
            AwardBody::ProRataUnusedDays => RefundAward::ProRataUnusedDays,
        }
    }
}

/// An open complaint that holds the provider's settlement.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct HeldComplaint {
    #[schema(value_type = String)]
    pub complaint_id: Uuid,
    #[schema(value_type = String)]
    pub order_id: Uuid,
    pub status: String,
    #[schema(value_type = String, format = DateTime)]
    pub opened_at: Timestamp,
}

/// What holds a provider's settlement (ALI-A 2.3.5, 4.3.5: while a dispute or violation is
/// open the operator may suspend settlement). The settlement run reads this.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[schema(example = json!({
    "provider_id": "01930000-0000-7000-8000-000000000001", "on_hold": true,
    "open_complaints": [{"complaint_id": "01930000-0000-7000-8000-0000000000e1",
        "order_id": "01930000-0000-7000-8000-0000000000a1", "status": "awaiting_response",
        "opened_at": "2026-07-01T01:00:00Z"}],
    "open_cases": [], "at": "2026-07-01T01:10:00Z"
}))]
pub struct HoldsView {
    #[schema(value_type = String)]
    pub provider_id: Uuid,
    /// Any open complaint, open violation case or invoice breach.
    pub on_hold: bool,
    pub open_complaints: Vec<HeldComplaint>,
    pub open_cases: Vec<CaseView>,
    /// Invoice requests not issued in time and still not issued.
    #[schema(value_type = Vec<String>)]
    pub invoice_breaches: Vec<Uuid>,
    /// What the settlement holds back now (`settlement_payable`): brought forward to the run
    /// after the hold ends.
    #[schema(value_type = crate::kernel::amount::Money)]
    pub held_amount: yunshi_core::money::Fen,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
}
