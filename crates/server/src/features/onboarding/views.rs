//! What the onboarding and store endpoints accept and answer. Requests reject unknown
//! members; responses carry the core's state as stored.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use yunshi_core::Fen;
use yunshi_core::provider::{Application, Provider};
use yunshi_core::rulebook::{MarketplaceRulebook, Material};

use super::ApplicationRecord;
use crate::kernel::views::StoreView;

// ---- requests ----

/// Starts an application. The applicant kind (enterprise or individual) is the member's.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"store_name": "云帆科技官方店", "consignment": false}))]
pub struct StartApplication {
    /// The name the store opens under on admission; default: the member's display name.
    #[serde(default)]
    pub store_name: Option<String>,
    /// Declares consignment sales (JD: needs the consignment agreement).
    #[serde(default)]
    pub consignment: bool,
}

/// Accepts the agreement version in force (`GET /api/v1/onboarding/agreement`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"agreement_id": "provider-agreement-2021-v1"}))]
pub struct AcceptAgreement {
    pub agreement_id: String,
}

/// A deposit payment through the sandbox gateway (it always succeeds).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"amount": "10000.00"}))]
pub struct DepositPayment {
    /// CNY, e.g. `"10000.00"`; at most what is outstanding.
    #[schema(value_type = crate::kernel::amount::Money)]
    pub amount: Fen,
}

/// The reviewer asks for more material.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kinds": ["business_licence"], "note": "营业执照副本不清晰，请重新上传"}))]
pub struct MoreMaterialRequest {
    /// Material kinds to upload anew (may be empty when the note says it all).
    #[schema(value_type = Vec<String>)]
    pub kinds: Vec<Material>,
    pub note: String,
}

/// The reviewer approves.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"partner_member": true}))]
pub struct ApproveRequest {
    /// The reviewer checked the partner-programme registry and the applicant is a member
    /// (needed where the rulebook requires it, ALI-R art.13(3)).
    #[serde(default)]
    pub partner_member: bool,
}

/// A reason (rejections).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "营业执照与认证主体不一致"}))]
pub struct ReasonRequest {
    pub reason: String,
}

/// The reviewer's verification finding, of the kind the rulebook in force requires.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "decision", rename_all = "snake_case", deny_unknown_fields)]
#[schema(example = json!({"decision": "verified"}))]
pub enum VerificationRequest {
    Verified,
    Refused { reason: String },
}

/// A store transfer request: the receiving provider.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"to_provider": "0193c0de-7a5e-7000-8000-000000000002"}))]
pub struct TransferRequestBody {
    #[schema(value_type = String)]
    pub to_provider: Uuid,
}

// ---- responses ----

/// An application with what it still lacks.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "application": {
        "id": "0193c0de-7a5e-7000-8000-000000000010",
        "provider": "0193c0de-7a5e-7000-8000-000000000001",
        "member": "0193c0de-7a5e-7000-8000-000000000003",
        "entity": "enterprise", "consignment": false,
        "materials": [{"kind": "business_licence", "file_id": "0193c0de-7a5e-7000-8000-0000000000f1",
            "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "size_bytes": 48213, "content_type": "application/pdf",
            "uploaded_at": "2026-04-01T02:00:00Z"}],
        "status": {"status": "draft"},
        "agreement": null, "deposit_paid": "0.00",
        "created_at": "2026-04-01T02:00:00Z"
    },
    "store_name": "云帆科技官方店",
    "missing_materials": ["legal_representative_id", "contact_details", "service_info"],
    "deposit_required": "10000.00",
    "deposit_outstanding": "10000.00"
}))]
pub struct ApplicationView {
    /// The application as the core keeps it; `status.status` is one of draft, submitted,
    /// under_review, needs_more_material, resubmitted, approved, rejected,
    /// agreement_accepted, admitted, withdrawn.
    #[schema(value_type = Object)]
    pub application: Application,
    pub store_name: String,
    /// Uploads the rulebook in force still requires.
    #[schema(value_type = Vec<String>)]
    pub missing_materials: Vec<Material>,
    #[schema(value_type = crate::kernel::amount::Money)]
    pub deposit_required: Fen,
    #[schema(value_type = crate::kernel::amount::Money)]
    pub deposit_outstanding: Fen,
}

impl ApplicationView {
    pub fn of(record: &ApplicationRecord, rulebook: &MarketplaceRulebook) -> Self {
        let a = &record.application;
        Self {
            application: a.clone(),
            store_name: record.store_name.clone(),
            missing_materials: a.missing_materials(rulebook),
            deposit_required: rulebook.deposit.required_amount,
            deposit_outstanding: a.outstanding_deposit(rulebook).unwrap_or(Fen::ZERO),
        }
    }
}

/// One page of applications.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationPage {
    pub items: Vec<ApplicationView>,
    /// Pass as `after` for the next page; absent on the last.
    #[schema(value_type = Option<String>)]
    pub next_after: Option<Uuid>,
}

/// One page of stores.
#[derive(Debug, Serialize, ToSchema)]
pub struct StorePage {
    pub items: Vec<StoreView>,
    #[schema(value_type = Option<String>)]
    pub next_after: Option<Uuid>,
}

/// The provider with its latest application and its stores.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderView {
    /// `status.status`: applying, active, exited, expelled or banned.
    #[schema(value_type = Object)]
    pub provider: Provider,
    pub application: Option<ApplicationView>,
    pub stores: Vec<StoreView>,
}

/// The answer to a deposit payment (a replay with the same Idempotency-Key gets it again).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "payment": {"transaction": "0193c0de-7a5e-7000-8000-000000000030", "amount": "10000.00",
        "gateway": "sandbox", "status": "succeeded"},
    "application": {"application": {"status": {"status": "admitted"}}, "store_name": "云帆科技官方店",
        "missing_materials": [], "deposit_required": "10000.00", "deposit_outstanding": "0.00"},
    "provider_status": "active",
    "store": {"store": {"name": "云帆科技官方店"}, "state": {"state": "open"}}
}))]
pub struct DepositPaymentView {
    pub payment: PaymentReceipt,
    pub application: ApplicationView,
    /// `active` once the deposit is whole.
    pub provider_status: String,
    /// The store opened by this payment, if it completed the deposit.
    pub store: Option<StoreView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PaymentReceipt {
    /// The ledger transaction (Dr operator cash, Cr deposits held for the provider).
    #[schema(value_type = String)]
    pub transaction: Uuid,
    #[schema(value_type = crate::kernel::amount::Money)]
    pub amount: Fen,
    pub gateway: String,
    pub status: String,
}
