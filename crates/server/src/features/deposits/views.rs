//! Request and answer bodies of the deposit API.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use yunshi_core::deposit::{
    Deduction, DepositAccount, RefundRequest, SettlementClaim, SurchargeDemand, TopUpDemand,
};
use yunshi_core::money::Fen;

/// A payment into the deposit.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[schema(example = json!({"amount": "3000.00"}))]
pub struct TopUpRequest {
    /// At most what is missing.
    #[schema(value_type = crate::kernel::amount::Money)]
    pub amount: Fen,
}

/// Compensation the operator paid a buyer on the provider's behalf, taken from the deposit.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[schema(example = json!({"amount": "800.00", "reason": "代服务商赔付买家 compensation paid to the buyer", "reference": "01930000-0000-7000-8000-0000000000aa"}))]
pub struct CompensationRequest {
    #[schema(value_type = crate::kernel::amount::Money)]
    pub amount: Fen,
    pub reason: String,
    /// The id of the paid order of this provider whose buyer was compensated; the amount is
    /// at most what that buyer paid.
    pub reference: String,
}

/// The provider asks for its deposit back after the cooperation ended.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[schema(example = json!({"receipt_returned": true}))]
pub struct RefundRequestBody {
    /// The deposit receipt was handed back (ALI-A 4.5.6, TC 3.1.5④).
    #[serde(default)]
    pub receipt_returned: bool,
}

/// A provider's deposit (SPEC §10): what is held and required, what is missing and by when,
/// the deductions, any claim on the next settlement, store closure and refund.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[schema(example = json!({
    "provider_id": "01930000-0000-7000-8000-000000000001", "status": "top_up_due",
    "held": "7000.00", "required": "10000.00", "base_required": "10000.00", "surcharge": "0.00",
    "shortfall": "3000.00", "provider_debt": "0.00", "deductions_in_window": 1,
    "deductions": [], "top_ups": [], "surcharge_demand": null, "settlement_claim": null,
    "closed_for_shortfall": null, "refund": null, "at": "2026-07-10T02:00:00Z"
}))]
pub struct DepositAccountView {
    #[schema(value_type = String)]
    pub provider_id: Uuid,
    /// `whole`, `top_up_due`, `claimed_from_settlement`, `closed_for_shortfall`,
    /// `refund_requested` or `refunded`.
    pub status: String,
    #[schema(value_type = crate::kernel::amount::Money)]
    pub held: Fen,
    /// The rulebook's amount plus any surcharge in force.
    #[schema(value_type = crate::kernel::amount::Money)]
    pub required: Fen,
    #[schema(value_type = crate::kernel::amount::Money)]
    pub base_required: Fen,
    #[schema(value_type = crate::kernel::amount::Money)]
    pub surcharge: Fen,
    #[schema(value_type = crate::kernel::amount::Money)]
    pub shortfall: Fen,
    /// Compensation beyond the deposit, owed by the provider.
    #[schema(value_type = crate::kernel::amount::Money)]
    pub provider_debt: Fen,
    /// Deductions within the rulebook's surcharge window (12 months).
    pub deductions_in_window: usize,
    #[schema(value_type = Vec<Object>)]
    pub deductions: Vec<Deduction>,
    /// Every top-up demand with its due time and what became of it.
    #[schema(value_type = Vec<Object>)]
    pub top_ups: Vec<TopUpDemand>,
    #[schema(value_type = Option<Object>)]
    pub surcharge_demand: Option<SurchargeDemand>,
    /// A missed top-up to take from the next settlement, and when.
    #[schema(value_type = Option<Object>)]
    pub settlement_claim: Option<SettlementClaim>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_for_shortfall: Option<Timestamp>,
    #[schema(value_type = Option<Object>)]
    pub refund: Option<RefundRequest>,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
}

/// The figures a [`DepositAccountView`] is built from, read in one place.
pub struct Figures {
    pub held: Fen,
    pub required: Fen,
    pub base_required: Fen,
    pub shortfall: Fen,
    pub provider_debt: Fen,
    pub deductions_in_window: usize,
}

impl DepositAccountView {
    pub fn of(account: &DepositAccount, f: Figures, at: Timestamp) -> Self {
        Self {
            provider_id: account.provider.uuid(),
            status: account.status_label().to_string(),
            held: f.held,
            required: f.required,
            base_required: f.base_required,
            surcharge: account.surcharge_at(at),
            shortfall: f.shortfall,
            provider_debt: f.provider_debt,
            deductions_in_window: f.deductions_in_window,
            deductions: account.deductions.clone(),
            top_ups: account.top_ups.clone(),
            surcharge_demand: account.surcharge.clone(),
            settlement_claim: account.settlement_claim.clone(),
            closed_for_shortfall: account.closed_for_shortfall,
            refund: account.refund.clone(),
            at,
        }
    }
}

/// One row of the operator's deposits overview.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct DepositRow {
    #[schema(value_type = String)]
    pub provider_id: Uuid,
    pub status: String,
    /// The earliest open top-up's due time.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub top_up_due_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub settlement_claim_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub refund_due_at: Option<Timestamp>,
}

/// A page of the deposits overview.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct DepositPage {
    pub items: Vec<DepositRow>,
    /// Pass as `after` for the next page; absent on the last.
    #[schema(value_type = Option<String>)]
    pub next: Option<Uuid>,
}
