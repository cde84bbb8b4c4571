//! `Idempotency-Key` for money-moving requests: the first request with a key is applied and
//! its answer stored in the same database transaction; a replay with the same body gets that
//! answer again and moves nothing; the same key with another body is refused (422).

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use jiff::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;
use yunshi_store::{IdempotencyClaim, StoreError};

use crate::kernel::auth::Principal;
use crate::kernel::problem::{ErrorCode, Problem};
use crate::kernel::state::AppState;

pub const HEADER: &str = "idempotency-key";

/// The key a client sent, required on every money-moving POST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(pub String);

impl FromRequestParts<AppState> for IdempotencyKey {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Problem> {
        let value = parts
            .headers
            .get(HEADER)
            .ok_or_else(|| {
                Problem::coded(
                    ErrorCode::InvalidRequest,
                    axum::http::StatusCode::BAD_REQUEST,
                    "idempotency_key_required",
                    "this request moves money: send an Idempotency-Key header",
                )
            })?
            .to_str()
            .map_err(|_| Problem::invalid_request("the Idempotency-Key header is not valid text"))?
            .trim();
        if value.is_empty() || value.len() > 200 {
            return Err(Problem::invalid_request(
                "the Idempotency-Key must be 1 to 200 characters",
            ));
        }
        Ok(Self(value.to_string()))
    }
}

/// Where a key is optional: absent header → `None`; a malformed one is still refused.
impl OptionalFromRequestParts<AppState> for IdempotencyKey {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Problem> {
        if parts.headers.contains_key(HEADER) {
            <Self as FromRequestParts<AppState>>::from_request_parts(parts, state)
                .await
                .map(Some)
        } else {
            Ok(None)
        }
    }
}

impl IdempotencyKey {
    /// The claim to put in the request's `WriteBatch`: scoped to the caller, fingerprinted by
    /// what the request asks (`what`: method, path and the parsed body), carrying `answer`.
    pub fn claim<A: Serialize, W: Serialize>(
        &self,
        caller: &Principal,
        what: &W,
        answer: &A,
        at: Timestamp,
    ) -> Result<IdempotencyClaim, Problem> {
        let what =
            serde_json::to_vec(what).map_err(|e| Problem::internal(format!("fingerprint: {e}")))?;
        Ok(IdempotencyClaim {
            scope: caller.principal.clone(),
            key: self.0.clone(),
            fingerprint: blake3::hash(&what).to_hex().to_string(),
            response: serde_json::to_value(answer)
                .map_err(|e| Problem::internal(format!("answer: {e}")))?,
            at,
        })
    }

    /// The stored answer for this key, if the key was used before: the same request gets
    /// its answer again; another request with the key is refused with 422.
    pub async fn replayed<T: DeserializeOwned, W: Serialize>(
        &self,
        state: &AppState,
        caller: &Principal,
        what: &W,
    ) -> Result<Option<T>, Problem> {
        let Some(record) = state
            .store
            .idempotency_record(&caller.principal, &self.0)
            .await?
        else {
            return Ok(None);
        };
        let claim = self.claim(caller, what, &(), Timestamp::UNIX_EPOCH)?;
        if claim.fingerprint != record.fingerprint {
            return Err(mismatch(&StoreError::IdempotencyMismatch {
                key: self.0.clone(),
            })
            .unwrap_or_else(|| Problem::conflict("idempotency key reused")));
        }
        serde_json::from_value(record.response)
            .map(Some)
            .map_err(|e| Problem::internal(format!("stored answer does not read back: {e}")))
    }
}

/// A replayed key with a different request.
pub fn mismatch(e: &StoreError) -> Option<Problem> {
    match e {
        StoreError::IdempotencyMismatch { key } => Some(Problem::coded(
            ErrorCode::InvalidRequest,
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            format!("Idempotency-Key {key:?} was used before with a different request"),
        )),
        _ => None,
    }
}
