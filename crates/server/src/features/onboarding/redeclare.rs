//! After admission: a changed or expired material is reported, which stores a deadline for
//! its re-declaration within the rulebook's days (ALI-R art.22(1), TC 6.1.1, JD art.18(1));
//! uploading the new material settles it. If the deadline fires first, the provider's
//! record shows the material overdue (`provider.material_overdue`).

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jiff::civil::Date;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;
use yunshi_core::decision::Outcome;
use yunshi_core::provider::{MaterialChange, MaterialRef, Provider};
use yunshi_core::rulebook::Material;
use yunshi_store::StoredFile;

use super::Change;
use super::applications::MaterialQuery;
use crate::kernel::auth::Principal;
use crate::kernel::context::decide;
use crate::kernel::files::{MAX_MATERIAL_BYTES, material_type};
use crate::kernel::problem::{ApiJson, ErrorCode, Problem};
use crate::kernel::repo::providers::load_provider;
use crate::kernel::repo::providers::own_provider_id;
use crate::kernel::sha256::sha256_hex;
use crate::kernel::state::AppState;

/// A changed or expiring material.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "business_licence", "change": "expired", "effective_on": "2026-05-01"}))]
pub struct MaterialChangeReport {
    #[schema(value_type = String)]
    pub kind: Material,
    /// `changed` (变更) or `expired` (失效).
    #[schema(value_type = String)]
    pub change: MaterialChange,
    /// The Beijing date the change took effect or the material lapses.
    #[schema(value_type = String, format = Date)]
    pub effective_on: Date,
}

fn refused(e: yunshi_core::provider::ProviderError) -> Problem {
    Problem::refusal(&e)
}

/// Loads the caller's own provider, decides, commits; a lost race decides again.
async fn update_own_provider<F>(
    state: &AppState,
    principal: &Principal,
    decide_change: F,
) -> Result<Provider, Problem>
where
    F: Fn(&Provider, jiff::Timestamp) -> Result<(Provider, Outcome), Problem>,
{
    let not_found = || Problem::not_found("the caller has no provider");
    let id = own_provider_id(state, &principal.actor)
        .await?
        .ok_or_else(not_found)?;
    crate::kernel::pipeline::run(&state.store, || async {
        let loaded = load_provider(state, id).await?.ok_or_else(not_found)?;
        let now = state.clock.now();
        let (next, outcome) = decide_change(&loaded.state, now)?;
        let change = Change {
            provider: Some((Some(loaded.version), next.clone())),
            outcome,
            ..Change::default()
        };
        Ok((change.batch(now)?, next))
    })
    .await
}

/// The admitted provider reports a changed or expiring material; the new one is due by the
/// end of the rulebook's period (30 days, the start day not counted), stored as a deadline.
#[utoipa::path(
    post,
    path = "/api/v1/onboarding/provider/material-changes",
    tag = "onboarding",
    security(("bearer" = [])),
    request_body = MaterialChangeReport,
    responses(
        (status = 200, description = "The provider with the pending re-declaration and its due time", body = Object),
        (status = 401, description = "No valid bearer token"),
        (status = 404, description = "The caller has no provider"),
        (status = 409, description = "`invalid_transition` (not active), `material_change_already_reported`"),
        (status = 422, description = "`material_not_required`, `material_not_uploadable`, unknown members"),
    )
)]
pub async fn report_material_change(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<MaterialChangeReport>,
) -> Result<ApiJson<Provider>, Problem> {
    let provider = update_own_provider(&state, &principal, |p, now| {
        decide(&state, now, |ctx| {
            p.report_material_change(req.kind, req.change, req.effective_on, ctx)
        })?
        .map_err(refused)
    })
    .await?;
    Ok(ApiJson(provider))
}

/// The admitted provider uploads the new material (same rules as application uploads: PDF,
/// PNG or JPEG, at most 10 MiB); it replaces the one on file and settles a pending report of
/// its kind.
#[utoipa::path(
    post,
    path = "/api/v1/onboarding/provider/materials",
    tag = "onboarding",
    security(("bearer" = [])),
    params(MaterialQuery),
    request_body(content = Vec<u8>, description = "The file's bytes; `Content-Type` one of `application/pdf`, `image/png`, `image/jpeg`", content_type = "application/pdf"),
    responses(
        (status = 201, description = "The provider with the material on file", body = Object),
        (status = 401, description = "No valid bearer token"),
        (status = 404, description = "The caller has no provider"),
        (status = 409, description = "`invalid_transition` (not active)"),
        (status = 413, description = "`material_too_large`"),
        (status = 415, description = "`unsupported_material_type`"),
        (status = 422, description = "`invalid_material`, `material_not_required`, `material_not_uploadable`"),
    )
)]
pub async fn redeclare_material(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<MaterialQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    if body.len() > MAX_MATERIAL_BYTES {
        return Err(Problem::coded(
            ErrorCode::PayloadTooLarge,
            StatusCode::PAYLOAD_TOO_LARGE,
            "material_too_large",
            format!("a material file may have at most {MAX_MATERIAL_BYTES} bytes"),
        ));
    }
    let content_type = material_type(&headers, &body)?;
    let not_found = || Problem::not_found("the caller has no provider");
    let id = own_provider_id(&state, &principal.actor)
        .await?
        .ok_or_else(not_found)?;
    let loaded = load_provider(&state, id).await?.ok_or_else(not_found)?;
    let now = state.clock.now();
    let material = MaterialRef {
        kind: query.kind,
        file_id: Uuid::now_v7(),
        sha256: sha256_hex(&body),
        size_bytes: body.len() as u64,
        content_type: content_type.to_owned(),
        uploaded_at: now,
    };
    decide(&state, now, |ctx| {
        loaded.state.redeclare_material(material.clone(), ctx)
    })?
    .map_err(refused)?;
    crate::kernel::sealing::put_file(
        &state,
        StoredFile {
            id: material.file_id,
            owner: id.to_string(),
            content_type: material.content_type.clone(),
            sha256: material.sha256.clone(),
            size_bytes: material.size_bytes,
            content: body.to_vec(),
            created_at: now,
        },
    )
    .await?;
    let provider = update_own_provider(&state, &principal, |p, now| {
        decide(&state, now, |ctx| {
            p.redeclare_material(material.clone(), ctx)
        })?
        .map_err(refused)
    })
    .await?;
    Ok((StatusCode::CREATED, axum::Json(provider)).into_response())
}
