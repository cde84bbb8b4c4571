//! Request and answer bodies of the violation-case API.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use yunshi_core::governance::CaseSource;
use yunshi_core::money::Fen;
use yunshi_core::rulebook::ExtraMeasure;

use crate::kernel::views::CaseView;
use crate::kernel::views::StoreView;

/// Compliance opens a case (SPEC §9).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[schema(example = json!({
    "provider_id": "01930000-0000-7000-8000-000000000001",
    "code": "ALI-B1", "act_on": "2026-07-01", "source": "spot_check",
    "summary": "商品标题中使用“阿里云”字样", "reference": "spot-check-2026-07"
}))]
pub struct OpenCaseRequest {
    #[schema(value_type = String)]
    pub provider_id: Uuid,
    /// A code of the violation table in force on `act_on`, e.g. `ALI-B1`, `TC-S4`.
    pub code: String,
    /// The Beijing date of the act: it picks the rulebook version that judges it.
    #[schema(value_type = String, format = Date)]
    pub act_on: Date,
    /// `complaint`, `spot_check` or `detector`.
    #[schema(value_type = String)]
    pub source: CaseSource,
    pub summary: String,
    #[serde(default)]
    pub reference: Option<String>,
    /// The offending product, where the act concerns one (TC: hide and delist it).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub product_id: Option<Uuid>,
}

/// The provider's written reply, with proof (ids of uploaded files).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[schema(example = json!({"text": "该标题已于当日修改", "evidence": []}))]
pub struct ReplyRequest {
    pub text: String,
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub evidence: Vec<Uuid>,
}

/// Compliance's finding: established or not, with the reason.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[schema(example = json!({"established": true, "reason": "截图与商品快照一致"}))]
pub struct FindingRequest {
    pub established: bool,
    pub reason: String,
}

/// The provider objects to the penalty, with grounds.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[schema(example = json!({"grounds": "首次违规且已立即整改，请求减轻处罚", "evidence": []}))]
pub struct ObjectionRequest {
    pub grounds: String,
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub evidence: Vec<Uuid>,
}

/// Compliance decides the objection: upheld revokes the penalty, rejected makes it final.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[schema(example = json!({"objection_upheld": false, "note": "理由不成立，维持原处罚"}))]
pub struct ObjectionDecisionRequest {
    pub objection_upheld: bool,
    pub note: String,
}

/// A further measure stacked on a decided case (annex note 2).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[schema(example = json!({"measure": "extra_deposit", "amount": "10000.00", "reason": "情节严重，影响恶劣"}))]
pub struct StackRequest {
    /// One of the rulebook's `penalties.extra_measures`.
    #[schema(value_type = String)]
    pub measure: ExtraMeasure,
    /// Required for `extra_deposit` and `deposit_deduction`; refused for the others.
    #[serde(default)]
    #[schema(value_type = Option<crate::kernel::amount::Money>)]
    pub amount: Option<Fen>,
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct CasePage {
    pub items: Vec<CaseView>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub next_after: Option<Uuid>,
}

/// One notice on the public list: a published decision (违规公示), or an exit notice — a
/// store's closing notice (JD art.27) or an exit announcement (ALI-A 7.1.4).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[schema(example = json!({
    "kind": "violation_decision", "id": "01930000-0000-7000-8000-0000000000c1",
    "case_id": "01930000-0000-7000-8000-0000000000c1", "provider_id": "01930000-0000-7000-8000-000000000001",
    "code": "TC-S4", "title_zh": "虚假交易", "title_en": "fake transactions", "act_on": "2026-07-01",
    "published_at": "2026-07-10T02:00:00Z", "penalty": {"store_action": {"block_and_restrict_days": 15}}
}))]
pub struct NoticeView {
    /// `violation_decision`, `store_closing` or `exit`.
    #[serde(default = "decision_kind")]
    pub kind: String,
    /// The notice's id (for a decision, its case's).
    #[schema(value_type = String)]
    pub id: Uuid,
    /// The decided case (decisions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub case_id: Option<Uuid>,
    #[schema(value_type = String)]
    pub provider_id: Uuid,
    pub code: String,
    pub title_zh: String,
    pub title_en: String,
    #[schema(value_type = String, format = Date)]
    pub act_on: Date,
    #[schema(value_type = String, format = DateTime)]
    pub published_at: Timestamp,
    /// What was applied: points, store measure, deposit deduction, expulsion (decisions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub penalty: Option<serde_json::Value>,
    /// When the exit takes (or took) effect (exit notices).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub effective_at: Option<Timestamp>,
}

fn decision_kind() -> String {
    "violation_decision".to_string()
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct NoticePage {
    pub items: Vec<NoticeView>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub next_after: Option<Uuid>,
}

/// Points in the current rule year.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct PointsView {
    #[schema(value_type = String, format = Date)]
    pub year_start: Date,
    /// The last day of the rule year.
    #[schema(value_type = String, format = Date)]
    pub year_end: Date,
    pub points: u32,
    pub expulsion_threshold: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct DepositView {
    /// Held now for the provider.
    #[schema(value_type = crate::kernel::amount::Money)]
    pub held: Fen,
    /// Required by the rulebook in force.
    #[schema(value_type = crate::kernel::amount::Money)]
    pub required: Fen,
    /// Penalties owed beyond what the deposit held.
    #[schema(value_type = crate::kernel::amount::Money)]
    pub penalties_owed: Fen,
}

/// A provider's standing (SPEC §9, §10): points this year, open cases with their deadlines,
/// stores with freezes and blocks, deposit.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[schema(example = json!({
    "provider_id": "01930000-0000-7000-8000-000000000001", "provider_status": "active",
    "points": {"year_start": "2026-04-01", "year_end": "2027-03-31", "points": 12, "expulsion_threshold": 24},
    "open_cases": [], "stores": [], "deposit": {"held": "5000.00", "required": "10000.00", "penalties_owed": "0.00"},
    "at": "2026-07-10T02:00:00Z"
}))]
pub struct StandingView {
    #[schema(value_type = String)]
    pub provider_id: Uuid,
    pub provider_status: String,
    /// Absent where the marketplace has no points (TC).
    #[serde(default)]
    pub points: Option<PointsView>,
    pub open_cases: Vec<CaseView>,
    pub stores: Vec<StoreView>,
    pub deposit: DepositView,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
}
