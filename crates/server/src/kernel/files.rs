//! Uploaded files — onboarding materials and evidence: the types and size accepted, who may
//! cite a file, and how a stored file is served.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use uuid::Uuid;
use yunshi_store::StoredFile;

use crate::kernel::auth::Principal;
use crate::kernel::problem::{ErrorCode, Problem};
use crate::kernel::state::AppState;

/// The largest material accepted (the server's overall body limit applies first).
pub const MAX_MATERIAL_BYTES: usize = 10 * 1024 * 1024;

/// Material file types accepted, with the bytes each file of the type starts with.
pub const MATERIAL_TYPES: &[(&str, &[u8])] = &[
    ("application/pdf", b"%PDF-"),
    ("image/png", b"\x89PNG\r\n\x1a\n"),
    ("image/jpeg", b"\xff\xd8\xff"),
];

pub fn unsupported(detail: String) -> Problem {
    Problem::coded(
        ErrorCode::UnsupportedMediaType,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_material_type",
        detail,
    )
}

/// The allowed content type of an upload, checked against the file's first bytes.
pub fn material_type(headers: &HeaderMap, body: &[u8]) -> Result<&'static str, Problem> {
    let given = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let allowed: Vec<&str> = MATERIAL_TYPES.iter().map(|(t, _)| *t).collect();
    let Some((ct, magic)) = MATERIAL_TYPES.iter().find(|(t, _)| *t == given) else {
        return Err(unsupported(format!(
            "material files must be one of {allowed:?}, not {given:?}"
        )));
    };
    if !body.is_empty() && !body.starts_with(magic) {
        return Err(unsupported(format!("the file is not a valid {ct}")));
    }
    Ok(ct)
}

/// The largest request body the server accepts at all: a full material upload plus room for
/// headers of the multipart-free raw body.
pub const UPLOAD_CAP: usize = MAX_MATERIAL_BYTES + 64 * 1024;

/// The owner tag of a user's uploads.
pub fn owner_of(principal: &Principal) -> Option<String> {
    principal.user_id().map(|u| format!("user:{u}"))
}

fn not_found(id: Uuid) -> Problem {
    Problem::coded(
        ErrorCode::InvalidRequest,
        StatusCode::UNPROCESSABLE_ENTITY,
        "evidence_not_found",
        format!("no uploaded file {id} of yours"),
    )
}

/// Every id names a file the caller uploaded (operator staff may cite any stored file).
pub async fn check(state: &AppState, principal: &Principal, ids: &[Uuid]) -> Result<(), Problem> {
    let owner = owner_of(principal);
    for id in ids {
        let file = crate::kernel::sealing::file(state, *id)
            .await?
            .ok_or_else(|| not_found(*id))?;
        let own = owner.as_deref() == Some(file.owner.as_str());
        if !own && !principal.actor.is_operator() {
            return Err(not_found(*id));
        }
    }
    Ok(())
}

/// A stored file as an HTTP answer: its bytes, type and SHA-256, never cached.
pub fn file_response(file: StoredFile) -> Response {
    let mut res = (StatusCode::OK, file.content).into_response();
    let headers = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&file.content_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&file.sha256) {
        headers.insert("x-content-sha256", v);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    res
}

pub async fn stored(state: &AppState, raw: &str) -> Result<StoredFile, Problem> {
    let missing = || Problem::not_found(format!("no evidence file {raw:?}"));
    let id = Uuid::parse_str(raw).map_err(|_| missing())?;
    crate::kernel::sealing::file(state, id)
        .await?
        .ok_or_else(missing)
}

/// Serves `file` when `cited` lists it, else 404.
pub fn cited_file(
    file: StoredFile,
    mut cited: impl Iterator<Item = Uuid>,
) -> Result<Response, Problem> {
    if cited.any(|c| c == file.id) {
        Ok(file_response(file))
    } else {
        Err(Problem::not_found(format!(
            "no evidence file {} on this record",
            file.id
        )))
    }
}
