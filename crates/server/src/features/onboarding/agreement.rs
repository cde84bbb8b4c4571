//! The provider agreement (服务商协议) as versioned text: each version has an id, the date it
//! takes effect and its text. An applicant accepts the version in force that day, by id; the
//! acceptance records that id, the signing user and the clock's time (ALI-R art.13(6),
//! TC 3.1.4, JD art.9(5)).

use axum::extract::State;
use jiff::civil::Date;
use serde::Serialize;
use utoipa::ToSchema;
use yunshi_core::time::beijing_date;

use crate::AppState;
use crate::kernel::problem::{ApiJson, Problem};
use crate::kernel::sha256::sha256_hex;

/// One version of the agreement text.
pub struct AgreementText {
    pub id: &'static str,
    pub effective_from: &'static str,
    pub title: &'static str,
    pub text: &'static str,
}

/// Every version, oldest first.
pub const AGREEMENTS: &[AgreementText] = &[AgreementText {
    id: "provider-agreement-2021-v1",
    effective_from: "2021-01-01",
    title: "云市场服务商协议 / Cloud Marketplace Provider Agreement",
    text: "本协议由云市场运营方与服务商订立。\n\
           1. 服务商保证其提交的营业执照、法定代表人身份证明、联系方式及服务信息真实、有效；\
           资料变更或失效的，应于变更（或失效）之日起三十日内重新报备。\n\
           2. 服务商按规则缴纳保证金；保证金不足时按规则补足。\n\
           3. 服务商仅可在为用户提供服务所必需的范围内使用用户数据，不得导出或留存。\n\
           4. 未经云市场书面同意，服务商不得转让其开设的店铺。\n\
           5. 本协议受运营方公布的服务商管理规则约束，规则以行为发生时有效的版本为准。\n\n\
           This agreement is made between the marketplace operator and the provider. The \
           provider warrants its materials are true and reports changes within 30 days, pays \
           the deposit, uses buyer data only to serve the buyer, transfers a store only with \
           the operator's written consent, and is bound by the provider rules in force.",
}];

/// The version in force on `day`.
pub fn in_force(day: Date) -> Option<&'static AgreementText> {
    AGREEMENTS.iter().rev().find(|a| {
        a.effective_from
            .parse::<Date>()
            .is_ok_and(|from| from <= day)
    })
}

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
