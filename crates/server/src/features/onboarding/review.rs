//! The operator reviewer's side (capability `review_onboarding`): list applications by
//! status, take one for review, ask for more material, record the verification, approve or
//! reject with a reason.

use axum::extract::{Path, Query, State};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;
use yunshi_core::account::Capability;
use yunshi_core::provider::VerificationDecision;
use yunshi_store::AggregateQuery;

use super::applications::{Who, app_change, update_application, view};
use super::views::{
    ApplicationPage, ApplicationView, ApproveRequest, MoreMaterialRequest, ReasonRequest,
    VerificationRequest,
};
use super::{ApplicationRecord, Change};
use crate::kernel::auth::Principal;
use crate::kernel::context::decide;
use crate::kernel::problem::{ApiJson, Problem};
use crate::kernel::repo::providers::APPLICATION;
use crate::kernel::state::AppState;

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;

fn refused(e: yunshi_core::provider::ProviderError) -> Problem {
    Problem::refusal(&e)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApplicationQuery {
    /// Only applications in this status (e.g. `submitted`, `resubmitted`, `under_review`).
    pub status: Option<String>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// The `next_after` of the previous page.
    #[param(value_type = Option<String>)]
    pub after: Option<Uuid>,
}

/// Applications, oldest first, for reviewers; filter by status, page with `limit`/`after`.
#[utoipa::path(
    get,
    path = "/api/v1/admin/onboarding/applications",
    tag = "onboarding",
    security(("bearer" = [])),
    params(ApplicationQuery),
    responses(
        (status = 200, description = "One page of applications", body = ApplicationPage),
        (status = 400, description = "Bad query parameters"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller is not an onboarding reviewer"),
    )
)]
pub async fn list_applications(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<ApplicationQuery>,
) -> Result<ApiJson<ApplicationPage>, Problem> {
    principal.require(Capability::ReviewOnboarding)?;
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(Problem::invalid_request(format!(
            "limit must be 1 to {MAX_PAGE}"
        )));
    }
    let rows = state
        .store
        .aggregates(&AggregateQuery {
            kind: APPLICATION.into(),
            owner: None,
            status: q
                .status
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty()),
            after: q.after,
            limit: limit + 1,
        })
        .await?;
    let more = rows.len() > limit as usize;
    let mut items = Vec::with_capacity(rows.len());
    for row in rows.into_iter().take(limit as usize) {
        let record: ApplicationRecord = serde_json::from_value(row.state).map_err(|e| {
            Problem::internal(format!("stored application does not read back: {e}"))
        })?;
        items.push(view(&state, &record)?);
    }
    let next_after = if more {
        items.last().map(|a| a.application.id.uuid())
    } else {
        None
    };
    Ok(ApiJson(ApplicationPage { items, next_after }))
}

fn reviewer(principal: &Principal) -> Result<yunshi_core::ids::UserId, Problem> {
    principal.require(Capability::ReviewOnboarding)?;
    principal.user_id().ok_or_else(|| {
        Problem::forbidden("review needs a named reviewer (a user, not the bootstrap token)")
    })
}

/// Takes a submitted or resubmitted application for review.
#[utoipa::path(
    post,
    path = "/api/v1/admin/onboarding/applications/{id}/review",
    tag = "onboarding",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Application id")),
    responses(
        (status = 200, description = "The application, under review", body = ApplicationView),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller is not an onboarding reviewer"),
        (status = 404, description = "No such application"),
        (status = 409, description = "`invalid_transition`"),
    )
)]
pub async fn start_review(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<ApplicationView>, Problem> {
    let by = reviewer(&principal)?;
    let record = update_application(&state, &principal, &id, Who::Reviewer, |app, _, now| {
        let d = decide(&state, now, |ctx| {
            app.state.application.start_review(by, ctx)
        })?
        .map_err(refused)?;
        Ok(app_change(app, d))
    })
    .await?;
    Ok(ApiJson(view(&state, &record)?))
}

/// Asks the applicant for more material: the kinds to upload anew and a note saying what
/// else is wanted.
#[utoipa::path(
    post,
    path = "/api/v1/admin/onboarding/applications/{id}/more-material",
    tag = "onboarding",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Application id")),
    request_body = MoreMaterialRequest,
    responses(
        (status = 200, description = "The application, needing more material", body = ApplicationView),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller is not an onboarding reviewer"),
        (status = 404, description = "No such application"),
        (status = 409, description = "`invalid_transition` (not under review)"),
        (status = 422, description = "`reason_required` (empty note), `material_not_required`, `material_not_uploadable`, unknown members"),
    )
)]
pub async fn request_material(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<MoreMaterialRequest>,
) -> Result<ApiJson<ApplicationView>, Problem> {
    let by = reviewer(&principal)?;
    let record = update_application(&state, &principal, &id, Who::Reviewer, |app, _, now| {
        let d = decide(&state, now, |ctx| {
            app.state
                .application
                .request_more_material(req.kinds.clone(), &req.note, by, ctx)
        })?
        .map_err(refused)?;
        Ok(app_change(app, d))
    })
    .await?;
    Ok(ApiJson(view(&state, &record)?))
}

/// Approves an application under review. The conditions of the rulebook in force are
/// checked: every material, the provider's verification of the required kind, and where
/// required partner-programme membership (which the reviewer attests).
#[utoipa::path(
    post,
    path = "/api/v1/admin/onboarding/applications/{id}/approve",
    tag = "onboarding",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Application id")),
    request_body = ApproveRequest,
    responses(
        (status = 200, description = "The application, approved: the applicant may accept the agreement", body = ApplicationView),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller is not an onboarding reviewer"),
        (status = 404, description = "No such application"),
        (status = 409, description = "`invalid_transition`, `verification_missing`, `partner_membership_required`"),
        (status = 422, description = "`materials_missing`, `individuals_not_allowed`, unknown members"),
    )
)]
pub async fn approve(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ApproveRequest>,
) -> Result<ApiJson<ApplicationView>, Problem> {
    let by = reviewer(&principal)?;
    let record = update_application(
        &state,
        &principal,
        &id,
        Who::Reviewer,
        |app, provider, now| {
            let d = decide(&state, now, |ctx| {
                app.state
                    .application
                    .approve(&provider.state, req.partner_member, by, ctx)
            })?
            .map_err(refused)?;
            Ok(app_change(app, d))
        },
    )
    .await?;
    tracing::info!(application = %record.application.id, "onboarding application approved");
    Ok(ApiJson(view(&state, &record)?))
}

/// Rejects an application under review, with a reason. The member may apply again.
#[utoipa::path(
    post,
    path = "/api/v1/admin/onboarding/applications/{id}/reject",
    tag = "onboarding",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Application id")),
    request_body = ReasonRequest,
    responses(
        (status = 200, description = "The application, rejected", body = ApplicationView),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller is not an onboarding reviewer"),
        (status = 404, description = "No such application"),
        (status = 409, description = "`invalid_transition`"),
        (status = 422, description = "`reason_required`, unknown members"),
    )
)]
pub async fn reject(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ReasonRequest>,
) -> Result<ApiJson<ApplicationView>, Problem> {
    let by = reviewer(&principal)?;
    let record = update_application(&state, &principal, &id, Who::Reviewer, |app, _, now| {
        let d = decide(&state, now, |ctx| {
            app.state.application.reject(&req.reason, by, ctx)
        })?
        .map_err(refused)?;
        Ok(app_change(app, d))
    })
    .await?;
    Ok(ApiJson(view(&state, &record)?))
}

/// Records the reviewer's finding on the applicant's verification, of the kind the rulebook
/// in force requires (ALI: enterprise real name; TC: corporate bank account; JD: real name).
#[utoipa::path(
    post,
    path = "/api/v1/admin/onboarding/applications/{id}/verification",
    tag = "onboarding",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Application id")),
    request_body = VerificationRequest,
    responses(
        (status = 200, description = "The application (its provider's verification recorded)", body = ApplicationView),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller is not an onboarding reviewer"),
        (status = 404, description = "No such application"),
        (status = 409, description = "`invalid_transition` (the provider has left)"),
        (status = 422, description = "`reason_required`, unknown members"),
    )
)]
pub async fn record_verification(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<VerificationRequest>,
) -> Result<ApiJson<ApplicationView>, Problem> {
    let by = reviewer(&principal)?;
    let decision = match req {
        VerificationRequest::Verified => VerificationDecision::Verified,
        VerificationRequest::Refused { reason } => VerificationDecision::Refused { reason },
    };
    let record = update_application(
        &state,
        &principal,
        &id,
        Who::Reviewer,
        |_, provider, now| {
            let (next, outcome) = decide(&state, now, |ctx| {
                let kind = ctx.rulebook.onboarding.verification;
                provider
                    .state
                    .record_verification(kind, decision.clone(), by, ctx)
            })?
            .map_err(refused)?;
            Ok(Change {
                provider: Some((Some(provider.version), next)),
                outcome,
                ..Change::default()
            })
        },
    )
    .await?;
    Ok(ApiJson(view(&state, &record)?))
}
