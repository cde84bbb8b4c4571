//! Request and response bodies of the order API.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use yunshi_core::order::{
    ArbitrationDecision, DirectRefund, Order, PaymentTerms, RateOrder, RequestRefund,
};
use yunshi_core::rulebook::{RefundReason, Score};

use crate::kernel::gateway::SandboxBehaviour;
use crate::kernel::views::AwardBody;

/// Places an order for a product on sale, at its live version's terms.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"product_id": "0193a5c4-7d1e-7c3a-9b1e-2f4d5a6b7c8d", "quantity": 1}))]
pub struct PlaceOrderRequest {
    #[schema(value_type = String)]
    pub product_id: Uuid,
    /// Units (months or years for a subscription), 1–1200; default 1.
    #[serde(default = "one")]
    pub quantity: u32,
    /// `prepaid` (default) or `pay_later`.
    #[serde(default)]
    #[schema(value_type = String, example = "prepaid")]
    pub payment_terms: PaymentTerms,
}

fn one() -> u32 {
    1
}

/// Renews a subscription for the next period, at the listing's current terms.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"quantity": 1}))]
pub struct RenewRequest {
    #[serde(default = "one")]
    pub quantity: u32,
}

/// Pays an order through the gateway. With the built-in sandbox gateway, `sandbox` says
/// what the gateway does: `succeed` (default), `fail` or `timeout`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"sandbox": "succeed"}))]
pub struct PayRequest {
    #[serde(default)]
    pub sandbox: SandboxBehaviour,
}

/// An order as its buyer, its provider or the operator sees it, with the guarantee-window
/// countdown at the time of the answer. Only the buyer's member id is shown (SPEC §14).
/// A SaaS order shows its instance delivery in `order.delivery`: `{"status": "pending"}`
/// once paid, `"delivered"` (with `delivered_at`) when the provider acknowledged the
/// `create` webhook, `"failed"` (with `failed_at`) when it was dead-lettered.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "order": {
        "id": "0193a5c4-8a2b-7f00-8c1d-3e4f5a6b7c8d", "buyer": "0193a5c4-0000-7000-8000-000000000001",
        "terms": {"product": "0193a5c4-7d1e-7c3a-9b1e-2f4d5a6b7c8d", "provider": "0193a5c4-0000-7000-8000-000000000002",
                  "category": "image", "pricing": "one_off", "unit_price": "1000.00", "quantity": 1,
                  "sales_mode": "self_sold", "refund_policy": "no_refund",
                  "fee_terms": {"model": "commission", "rate": "10%"}},
        "total": "1000.00", "status": "held", "escrow": "1000.00",
        "purchased_on": "2026-07-01", "window": {"last_day": "2026-07-05", "ends_at": "2026-07-05T16:00:00Z"}
    },
    "countdown": {"state": "running", "last_day": "2026-07-05", "ends_at": "2026-07-05T16:00:00Z", "remaining": "PT103H"},
    "refunded": "0.00",
    "warranty_days": 0
}))]
pub struct OrderView {
    #[schema(value_type = Object)]
    pub order: Order,
    /// The guarantee window: `not_started`, `running` (with `remaining`), `until_acceptance`,
    /// `ended` or `no_window`.
    #[schema(value_type = Object)]
    pub countdown: serde_json::Value,
    /// Everything refunded so far.
    #[schema(value_type = crate::kernel::amount::Money, example = "0.00")]
    pub refunded: yunshi_core::money::Fen,
    /// The warranty the provider registered for a service order, in days.
    pub warranty_days: u32,
}

/// A page of orders.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct OrderPage {
    pub items: Vec<OrderView>,
    /// Pass as `after` for the next page; absent on the last one.
    #[schema(value_type = Option<String>)]
    pub next: Option<Uuid>,
}

#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// The last id of the previous page.
    #[param(value_type = Option<String>)]
    pub after: Option<Uuid>,
    /// Page size, 1–100 (default 20).
    pub limit: Option<u32>,
    /// Only orders in this status (e.g. `held`).
    pub status: Option<String>,
    /// Whose orders a member that also acts for a provider lists: `provider` (the default
    /// for whoever acts for a provider) or `buyer` (its own purchases).
    #[serde(rename = "as")]
    #[param(value_type = Option<String>)]
    pub acting_as: Option<ListAs>,
}

/// Which side of its orders the caller lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ListAs {
    Buyer,
    Provider,
}

/// A buyer's refund request (reason required outside the window where the rulebook lists
/// reasons).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "not_as_expected", "note": "镜像无法启动"}))]
pub struct RefundRequestBody {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub reason: Option<RefundReason>,
    #[serde(default)]
    pub note: String,
}

impl From<RefundRequestBody> for RequestRefund {
    fn from(b: RefundRequestBody) -> Self {
        RequestRefund {
            reason: b.reason,
            note: b.note,
        }
    }
}

/// A note (the provider's reason for declining).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"note": "the image was delivered and works as described"}))]
pub struct NoteBody {
    #[serde(default)]
    pub note: String,
}

/// Operator customer service decides an escalated refund.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "decision", deny_unknown_fields)]
#[schema(example = json!({"decision": "refund", "award": {"kind": "amount", "amount": "300.00"}, "note": "partly delivered"}))]
pub enum DecisionBody {
    Refund {
        award: AwardBody,
        #[serde(default)]
        note: String,
    },
    Reject {
        #[serde(default)]
        note: String,
    },
}

impl From<DecisionBody> for ArbitrationDecision {
    fn from(d: DecisionBody) -> Self {
        match d {
            DecisionBody::Refund { award, note } => ArbitrationDecision::Refund {
                award: award.into(),
                note,
            },
            DecisionBody::Reject { note } => ArbitrationDecision::Reject { note },
        }
    }
}

/// Operator customer service refunds directly on a ground the rulebook allows.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"ground": "service_quality_loss", "award": {"kind": "full"}, "note": "outage caused by the provider"}))]
pub struct DirectRefundBody {
    #[schema(value_type = String)]
    pub ground: RefundReason,
    pub award: AwardBody,
    #[serde(default)]
    pub note: String,
}

impl From<DirectRefundBody> for DirectRefund {
    fn from(b: DirectRefundBody) -> Self {
        DirectRefund {
            ground: b.ground,
            award: b.award.into(),
            note: b.note,
        }
    }
}

/// A milestone the provider reports.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"title": "环境部署完成"}))]
pub struct MilestoneBody {
    pub title: String,
}

/// The warranty period (质保期) the provider registers for a service order, in days.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"days": 90}))]
pub struct WarrantyBody {
    pub days: u32,
}

/// One rating per paid order: a score on the rulebook's scale (1–5) and a review.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"score": 5, "text": "部署顺利，响应很快"}))]
pub struct RatingBody {
    #[schema(value_type = f64, example = 5)]
    pub score: Score,
    #[serde(default)]
    pub text: String,
}

impl From<RatingBody> for RateOrder {
    fn from(b: RatingBody) -> Self {
        RateOrder {
            score: b.score,
            text: b.text,
        }
    }
}

/// A product's rating accumulator (aggregate `product_rating`, keyed by the product id).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"product_id": "0193a5c4-7d1e-7c3a-9b1e-2f4d5a6b7c8d", "count": 3, "average": "4.33"}))]
pub struct ProductRatingView {
    #[schema(value_type = String)]
    pub product_id: Uuid,
    pub count: u64,
    /// The mean score, two decimals; absent without ratings.
    #[schema(value_type = Option<String>)]
    pub average: Option<Score>,
}
