//! Evidence files for complaints and violation cases (SPEC §8, §9): screenshots, agreements,
//! chat records. Anyone signed in uploads a file (`POST /api/v1/evidence`, the raw body, PDF
//! or image, up to the material size limit); it belongs to its uploader, who alone may cite
//! it in a complaint message or a case reply or objection. Once cited, every party of that
//! complaint or case may read it through the complaint's or the case's own path; before, only
//! its uploader and operator staff.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;
use yunshi_store::StoredFile;

use crate::kernel::auth::Principal;
use crate::kernel::files::MAX_MATERIAL_BYTES;
use crate::kernel::files::material_type;
use crate::kernel::files::{file_response, owner_of, stored};
use crate::kernel::problem::{ErrorCode, Problem};
use crate::kernel::sha256::sha256_hex;
use crate::kernel::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/evidence",
            post(upload).layer(axum::extract::DefaultBodyLimit::max(MAX_MATERIAL_BYTES + 1)),
        )
        .route("/api/v1/evidence/{id}", get(download))
}

#[derive(OpenApi)]
#[openapi(
    paths(upload, download),
    components(schemas(EvidenceFile)),
    tags((name = "evidence", description = "Evidence files for complaints and cases (证据)"))
)]
pub struct ApiDoc;

/// An uploaded evidence file.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "01930000-0000-7000-8000-0000000000f1", "content_type": "image/png",
    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "size_bytes": 48213
}))]
pub struct EvidenceFile {
    #[schema(value_type = String)]
    pub id: Uuid,
    pub content_type: String,
    pub sha256: String,
    pub size_bytes: u64,
}

/// Uploads an evidence file: the raw body with its `Content-Type` (PDF, PNG or JPEG, checked
/// against the bytes), at most 10 MiB. Cite its `id` in a complaint message, a case reply or
/// an objection.
#[utoipa::path(
    post, path = "/api/v1/evidence", tag = "evidence", security(("bearer" = [])),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file's bytes"),
    responses(
        (status = 201, description = "Stored", body = EvidenceFile),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "Not a signed-in user (a bootstrap token)"),
        (status = 413, description = "`material_too_large`"),
        (status = 415, description = "Not a PDF or image, or the bytes are not what the type says"),
    )
)]
pub async fn upload(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let owner = owner_of(&principal)
        .ok_or_else(|| Problem::forbidden("evidence is uploaded by a signed-in user"))?;
    if body.len() > MAX_MATERIAL_BYTES {
        return Err(Problem::coded(
            ErrorCode::PayloadTooLarge,
            StatusCode::PAYLOAD_TOO_LARGE,
            "material_too_large",
            format!(
                "an evidence file may have at most {MAX_MATERIAL_BYTES} bytes; this one has {}",
                body.len()
            ),
        ));
    }
    let content_type = material_type(&headers, &body)?;
    let file = StoredFile {
        id: Uuid::now_v7(),
        owner,
        content_type: content_type.to_owned(),
        sha256: sha256_hex(&body),
        size_bytes: body.len() as u64,
        content: body.to_vec(),
        created_at: state.clock.now(),
    };
    let view = EvidenceFile {
        id: file.id,
        content_type: file.content_type.clone(),
        sha256: file.sha256.clone(),
        size_bytes: file.size_bytes,
    };
    crate::kernel::sealing::put_file(&state, file).await?;
    let mut res = (StatusCode::CREATED, axum::Json(&view)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/evidence/{}", view.id)) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

/// An evidence file, for its uploader and operator staff.
#[utoipa::path(
    get, path = "/api/v1/evidence/{id}", tag = "evidence", security(("bearer" = [])),
    params(("id" = String, Path, description = "Evidence file id")),
    responses(
        (status = 200, description = "The file, with its SHA-256 in `x-content-sha256`", content_type = "application/octet-stream"),
        (status = 404, description = "No such file the caller may see"),
    )
)]
pub async fn download(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let file = stored(&state, &id).await?;
    let own = owner_of(&principal).as_deref() == Some(file.owner.as_str());
    if !own && !principal.actor.is_operator() {
        return Err(Problem::not_found(format!("no evidence file {id:?}")));
    }
    Ok(file_response(file))
}
