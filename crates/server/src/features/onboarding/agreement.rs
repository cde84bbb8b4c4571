//! The provider agreement (服务商协议) as versioned text: each version has an id, the date it
//! takes effect and its text. An applicant accepts the version in force that day, by id; the
//! acceptance records that id, the signing user and the clock's time (ALI-R art.13(6),
//! TC 3.1.4, JD art.9(5)).

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use yunshi_core::time::beijing_date;

use crate::kernel::agreement::{AgreementText, in_force};
use crate::kernel::problem::{ApiJson, Problem};
use crate::kernel::sha256::sha256_hex;
use crate::kernel::state::AppState;

/// The agreement text to accept.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "provider-agreement-2021-v1",
    "effective_from": "2021-01-01",
    "title": "云市场服务商协议 / Cloud Marketplace Provider Agreement",
    "text": "本协议由云市场运营方与服务商订立。…",
    "sha256": "5d1c…"
}))]
pub struct AgreementView {
    /// The version id to send when accepting.
    pub id: String,
    pub effective_from: String,
    pub title: String,
    pub text: String,
    /// SHA-256 of `text` (UTF-8).
    pub sha256: String,
}

impl AgreementView {
    pub fn of(a: &AgreementText) -> Self {
        Self {
            id: a.id.to_owned(),
            effective_from: a.effective_from.to_owned(),
            title: a.title.to_owned(),
            text: a.text.to_owned(),
            sha256: sha256_hex(a.text.as_bytes()),
        }
    }
}

/// The provider agreement in force today (by the server's clock): its id and text.
#[utoipa::path(
    get,
    path = "/api/v1/onboarding/agreement",
    tag = "onboarding",
    responses(
        (status = 200, description = "The agreement version in force", body = AgreementView),
        (status = 404, description = "No version is in force"),
    )
)]
pub async fn current_agreement(
    State(state): State<AppState>,
) -> Result<ApiJson<AgreementView>, Problem> {
    let today = beijing_date(state.clock.now());
    let a = in_force(today)
        .ok_or_else(|| Problem::not_found(format!("no provider agreement in force on {today}")))?;
    Ok(ApiJson(AgreementView::of(a)))
}
