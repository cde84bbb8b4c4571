//! The applicant's side: start an application, upload materials, submit and resubmit,
//! accept the agreement, pay the deposit (which, when whole, activates the provider and
//! opens its store in the same batch), and read its own provider.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use uuid::Uuid;
use yunshi_core::account::MemberKind;
use yunshi_core::decision::Outcome;
use yunshi_core::provider::{
    Applicant, Application, ApplicationStatus, EntityKind, MaterialRef, Provider, ProviderStatus,
};
use yunshi_core::rulebook::Material;
use yunshi_core::storefront::Store;
use yunshi_core::time::beijing_date;
use yunshi_store::{AggregateQuery, StoreError, StoredFile, UniqueKey};

use super::views::{
    AcceptAgreement, ApplicationView, DepositPayment, DepositPaymentView, PaymentReceipt,
    ProviderView, StartApplication,
};
use super::{ApplicationRecord, Change, load_application, path_id};
use crate::kernel::auth::Principal;
use crate::kernel::context::decide;
use crate::kernel::context::rulebook_at;
use crate::kernel::files::{MAX_MATERIAL_BYTES, material_type};
use crate::kernel::idempotency::{IdempotencyKey, mismatch};
use crate::kernel::pipeline::{Decision, Loaded};
use crate::kernel::problem::{ApiJson, ErrorCode, Problem};
use crate::kernel::repo::providers::PROVIDER_OF_MEMBER;
use crate::kernel::repo::providers::STORE;
use crate::kernel::repo::providers::acts_for;
use crate::kernel::repo::providers::load_provider;
use crate::kernel::repo::providers::own_provider_id;
use crate::kernel::repo::providers::sees;
use crate::kernel::sha256::sha256_hex;
use crate::kernel::state::AppState;
use crate::kernel::views::StoreView;

fn refused(e: yunshi_core::provider::ProviderError) -> Problem {
    Problem::refusal(&e)
}

fn store_refused(e: yunshi_core::storefront::StoreError) -> Problem {
    Problem::refusal(&e)
}

/// The application and its provider, if the caller may see them; else 404.
pub(crate) async fn load_visible(
    state: &AppState,
    principal: &Principal,
    raw_id: &str,
) -> Result<(Loaded<ApplicationRecord>, Loaded<Provider>), Problem> {
    let id = path_id(raw_id, "application")?;
    let not_found = || Problem::not_found(format!("no application {id}"));
    let app = load_application(state, id).await?.ok_or_else(not_found)?;
    let provider = load_provider(state, app.state.application.provider)
        .await?
        .ok_or_else(|| Problem::internal(format!("application {id} has no provider")))?;
    if !sees(&principal.actor, &provider.state) {
        return Err(not_found());
    }
    Ok((app, provider))
}

fn require_applicant(principal: &Principal, provider: &Provider) -> Result<(), Problem> {
    if acts_for(&principal.actor, provider) {
        Ok(())
    } else {
        Err(Problem::forbidden(
            "only the applicant acts on its application",
        ))
    }
}

/// Whose turn a change is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Who {
    Applicant,
    /// Operator staff; the capability was checked before loading.
    Reviewer,
}

/// Loads the application and its provider, checks the caller, decides, and commits the
/// change conditional on the loaded versions; a lost race decides again.
pub(crate) async fn update_application<F>(
    state: &AppState,
    principal: &Principal,
    raw_id: &str,
    who: Who,
    decide_change: F,
) -> Result<ApplicationRecord, Problem>
where
    F: Fn(&Loaded<ApplicationRecord>, &Loaded<Provider>, Timestamp) -> Result<Change, Problem>,
{
    crate::kernel::pipeline::run(&state.store, || async {
        let (app, provider) = load_visible(state, principal, raw_id).await?;
        if who == Who::Applicant {
            require_applicant(principal, &provider.state)?;
        }
        let now = state.clock.now();
        let change = decide_change(&app, &provider, now)?;
        let result = change
            .application
            .as_ref()
            .map_or_else(|| app.state.clone(), |(_, a)| a.clone());
        Ok((change.batch(now)?, result))
    })
    .await
}

/// A change of the application alone.
pub(crate) fn app_change(
    app: &Loaded<ApplicationRecord>,
    decided: (Application, Outcome),
) -> Change {
    let (application, outcome) = decided;
    Change {
        application: Some((
            Some(app.version),
            ApplicationRecord {
                application,
                store_name: app.state.store_name.clone(),
            },
        )),
        outcome,
        ..Change::default()
    }
}

pub(crate) fn view(
    state: &AppState,
    record: &ApplicationRecord,
) -> Result<ApplicationView, Problem> {
    let rulebook = rulebook_at(state, state.clock.now())?;
    Ok(ApplicationView::of(record, rulebook))
}

fn created(body: impl serde::Serialize, location: &str) -> Response {
    let mut res = (StatusCode::CREATED, axum::Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// A member starts an application (入驻申请). The first one creates the member's provider;
/// later ones follow the re-entry rules (one open application at a time; after a voluntary
/// exit only once the rulebook's wait is over; never after expulsion).
#[utoipa::path(
    post,
    path = "/api/v1/onboarding/applications",
    tag = "onboarding",
    security(("bearer" = [])),
    request_body = StartApplication,
    responses(
        (status = 201, description = "The new draft application", body = ApplicationView,
            headers(("location" = String, description = "`/api/v1/onboarding/applications/{id}`"))),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The caller is not a member; or `reentry_forbidden` / `account_banned`"),
        (status = 409, description = "`application_open`, `already_admitted`, `reentry_too_soon`"),
        (status = 422, description = "`individuals_not_allowed`, a bad store name, or an unknown member"),
    )
)]
pub async fn start_application(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<StartApplication>,
) -> Result<Response, Problem> {
    let Some(member_id) = principal.actor.member_id() else {
        return Err(Problem::forbidden(
            "only a member account applies to become a provider",
        ));
    };
    let member = crate::kernel::repo::accounts::load_member(&state, member_id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no member {member_id}")))?;
    let store_name = match req.store_name.as_deref() {
        Some(name) => name,
        None => member.state.display_name.as_str(),
    };
    let store_name = yunshi_core::account::check_display_name(store_name).map_err(|e| {
        Problem::with_status(
            ErrorCode::InvalidRequest,
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("store_name: {e}"),
        )
    })?;
    let entity = match member.state.kind {
        MemberKind::Enterprise => EntityKind::Enterprise,
        MemberKind::Personal => EntityKind::Individual,
    };
    let record = crate::kernel::pipeline::write(&state.store, || async {
        let now = state.clock.now();
        let existing =
            match crate::kernel::repo::providers::provider_of_member(&state, member_id).await? {
                Some(p) => Some(
                    load_provider(&state, p)
                        .await?
                        .ok_or_else(|| Problem::internal(format!("provider {p} is missing")))?,
                ),
                None => None,
            };
        let latest = match existing.as_ref().map(|p| &p.state.status) {
            Some(ProviderStatus::Applying {
                application: Some(a),
            }) => load_application(&state, a.uuid()).await?,
            _ => None,
        };
        let applicant = match &existing {
            Some(p) => Applicant::Returning {
                provider: &p.state,
                latest: latest.as_ref().map(|l| &l.state.application),
            },
            None => Applicant::New {
                member: member_id,
                entity,
            },
        };
        let (provider, application, outcome) = decide(&state, now, |ctx| {
            Application::start(applicant, req.consignment, ctx)
        })?
        .map_err(refused)?;
        let record = ApplicationRecord {
            application,
            store_name: store_name.clone(),
        };
        let change = Change {
            application: Some((None, record.clone())),
            provider: Some((existing.as_ref().map(|p| p.version), provider.clone())),
            outcome,
            ..Change::default()
        };
        let mut batch = change.batch(now)?;
        if existing.is_none() {
            batch.unique_keys.push(UniqueKey {
                scope: PROVIDER_OF_MEMBER.into(),
                key: member_id.to_string(),
                id: provider.id.uuid(),
            });
        }
        Ok(Decision::WriteKeys(batch, record))
    })
    .await?;
    tracing::info!(application = %record.application.id, provider = %record.application.provider, "onboarding application started");
    let location = format!("/api/v1/onboarding/applications/{}", record.application.id);
    Ok(created(view(&state, &record)?, &location))
}

/// An application: the applicant's own, or any for operator staff; else 404.
#[utoipa::path(
    get,
    path = "/api/v1/onboarding/applications/{id}",
    tag = "onboarding",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Application id")),
    responses(
        (status = 200, description = "The application", body = ApplicationView),
        (status = 401, description = "No valid bearer token"),
        (status = 404, description = "No such application the caller may see"),
    )
)]
pub async fn get_application(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<ApplicationView>, Problem> {
    let (app, _) = load_visible(&state, &principal, &id).await?;
    Ok(ApiJson(view(&state, &app.state)?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MaterialQuery {
    /// The material kind: business_licence, legal_representative_id, personal_id,
    /// bank_account_certificate, contact_details, contact_qq, service_info,
    /// consignment_agreement (as the rulebook in force lists them).
    #[param(value_type = String, example = "business_licence")]
    pub kind: Material,
}

/// Uploads one material file: the raw bytes as the body, its type as `Content-Type`
/// (`application/pdf`, `image/png` or `image/jpeg`), its kind as `?kind=`. At most 10 MiB.
/// The file is stored durably with its SHA-256; a new upload of a kind replaces the old one
/// on the application. Only while the application is a draft or needs more material.
#[utoipa::path(
    post,
    path = "/api/v1/onboarding/applications/{id}/materials",
    tag = "onboarding",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Application id"), MaterialQuery),
    request_body(content = Vec<u8>, description = "The file's bytes; `Content-Type` one of `application/pdf`, `image/png`, `image/jpeg`", content_type = "application/pdf"),
    responses(
        (status = 201, description = "The application with the material attached", body = ApplicationView),
        (status = 400, description = "Missing or unknown `kind`"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "Not the applicant"),
        (status = 404, description = "No such application the caller may see"),
        (status = 409, description = "`invalid_transition`: not editable now"),
        (status = 413, description = "`material_too_large` (over 10 MiB) or `payload_too_large` (over the server's body limit)"),
        (status = 415, description = "`unsupported_material_type`: not PDF, PNG or JPEG, or the bytes are not of the declared type"),
        (status = 422, description = "`invalid_material` (empty file), `material_not_required`, `material_not_uploadable`"),
    )
)]
pub async fn upload_material(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Query(query): Query<MaterialQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    if body.len() > MAX_MATERIAL_BYTES {
        return Err(Problem::coded(
            ErrorCode::PayloadTooLarge,
            StatusCode::PAYLOAD_TOO_LARGE,
            "material_too_large",
            format!(
                "a material file may have at most {MAX_MATERIAL_BYTES} bytes; this one has {}",
                body.len()
            ),
        ));
    }
    let content_type = material_type(&headers, &body)?;
    let (app, provider) = load_visible(&state, &principal, &id).await?;
    require_applicant(&principal, &provider.state)?;
    let now = state.clock.now();
    let material = MaterialRef {
        kind: query.kind,
        file_id: Uuid::now_v7(),
        sha256: sha256_hex(&body),
        size_bytes: body.len() as u64,
        content_type: content_type.to_owned(),
        uploaded_at: now,
    };
    // Decide once before storing the bytes, so a refused upload leaves no file behind.
    decide(&state, now, |ctx| {
        app.state.application.attach_material(material.clone(), ctx)
    })?
    .map_err(refused)?;
    crate::kernel::sealing::put_file(
        &state,
        StoredFile {
            id: material.file_id,
            owner: provider.state.id.to_string(),
            content_type: material.content_type.clone(),
            sha256: material.sha256.clone(),
            size_bytes: material.size_bytes,
            content: body.to_vec(),
            created_at: now,
        },
    )
    .await?;
    let record = update_application(&state, &principal, &id, Who::Applicant, |app, _, now| {
        let decided = decide(&state, now, |ctx| {
            app.state.application.attach_material(material.clone(), ctx)
        })?
        .map_err(refused)?;
        Ok(app_change(app, decided))
    })
    .await?;
    tracing::info!(application = %record.application.id, kind = ?material.kind, bytes = material.size_bytes, "material uploaded");
    let location = format!("/api/v1/onboarding/files/{}", material.file_id);
    Ok(created(view(&state, &record)?, &location))
}

/// A stored material file, byte for byte, for the applicant and the reviewing operator roles
/// (onboarding and verification review); each read is recorded (`onboarding.material_read`).
#[utoipa::path(
    get,
    path = "/api/v1/onboarding/files/{id}",
    tag = "onboarding",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "File id (a material's `file_id`)")),
    responses(
        (status = 200, description = "The file, with its SHA-256 in `x-content-sha256`", content_type = "application/octet-stream"),
        (status = 401, description = "No valid bearer token"),
        (status = 404, description = "No such file the caller may see"),
    )
)]
pub async fn get_file(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let file_id = path_id(&id, "file")?;
    let not_found = || Problem::not_found(format!("no file {file_id}"));
    let file = crate::kernel::sealing::file(&state, file_id)
        .await?
        .ok_or_else(not_found)?;
    let provider = match Uuid::parse_str(&file.owner) {
        Ok(p) => load_provider(&state, yunshi_core::ids::ProviderId(p)).await?,
        Err(_) => None,
    };
    // Identity documents: the applicant's side and the reviewing roles only, each read
    // recorded.
    let Some(provider) = provider.filter(|p| {
        acts_for(&principal.actor, &p.state)
            || principal
                .actor
                .can(yunshi_core::account::Capability::ReviewOnboarding)
            || principal
                .actor
                .can(yunshi_core::account::Capability::ReviewVerification)
    }) else {
        return Err(not_found());
    };
    let now = state.clock.now();
    let read = yunshi_core::decision::Outcome::default().event(
        "onboarding.material_read",
        format!("provider:{}", provider.state.id),
        serde_json::json!({"file_id": file_id, "by": principal.principal}),
    );
    crate::kernel::pipeline::record(&state.store, read, now).await?;
    Ok(crate::kernel::files::file_response(file))
}

macro_rules! applicant_step {
    ($(#[$doc:meta])* $name:ident, $path:literal, $method:ident, $codes:literal) => {
        $(#[$doc])*
        #[utoipa::path(
            post,
            path = $path,
            tag = "onboarding",
            security(("bearer" = [])),
            params(("id" = String, Path, description = "Application id")),
            responses(
                (status = 200, description = "The application", body = ApplicationView),
                (status = 401, description = "No valid bearer token"),
                (status = 403, description = "Not the applicant"),
                (status = 404, description = "No such application the caller may see"),
                (status = 409, description = $codes),
                (status = 422, description = "`materials_missing` (submit, resubmit): its detail names them"),
            )
        )]
        pub async fn $name(
            State(state): State<AppState>,
            principal: Principal,
            Path(id): Path<String>,
        ) -> Result<ApiJson<ApplicationView>, Problem> {
            let record = update_application(&state, &principal, &id, Who::Applicant, |app, _, now| {
                let decided = decide(&state, now, |ctx| app.state.application.$method(ctx))?
                    .map_err(refused)?;
                Ok(app_change(app, decided))
            })
            .await?;
            Ok(ApiJson(view(&state, &record)?))
        }
    };
}

applicant_step!(
    /// Draft → submitted, once every upload the rulebook requires is attached
    /// (`materials_missing`, 422, otherwise — its detail names them).
    submit,
    "/api/v1/onboarding/applications/{id}/submit",
    submit,
    "`invalid_transition`"
);
applicant_step!(
    /// Needs more material → resubmitted, once each kind the reviewer named was uploaded
    /// anew.
    resubmit,
    "/api/v1/onboarding/applications/{id}/resubmit",
    resubmit,
    "`invalid_transition`"
);
applicant_step!(
    /// The applicant gives up (not once deposit money came in).
    withdraw,
    "/api/v1/onboarding/applications/{id}/withdraw",
    withdraw,
    "`invalid_transition`"
);

/// The applicant accepts the agreement version in force: the signer is the calling user, the
/// time the clock's. Where the rulebook asks no deposit, the provider is admitted at once.
#[utoipa::path(
    post,
    path = "/api/v1/onboarding/applications/{id}/agreement",
    tag = "onboarding",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Application id")),
    request_body = AcceptAgreement,
    responses(
        (status = 200, description = "The application, agreement accepted", body = ApplicationView),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "Not the applicant"),
        (status = 404, description = "No such application the caller may see"),
        (status = 409, description = "`invalid_transition` (not approved), `agreement_outdated` (not the version in force)"),
        (status = 422, description = "Unknown or wrongly typed members"),
    )
)]
pub async fn accept_agreement(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<AcceptAgreement>,
) -> Result<ApiJson<ApplicationView>, Problem> {
    let signer = principal
        .user_id()
        .ok_or_else(|| Problem::forbidden("only a user signs the agreement"))?;
    let record = update_application(
        &state,
        &principal,
        &id,
        Who::Applicant,
        |app, provider, now| {
            let current = crate::kernel::agreement::in_force(beijing_date(now))
                .ok_or_else(|| Problem::conflict("no provider agreement is in force"))?;
            if req.agreement_id.trim() != current.id {
                return Err(Problem::coded(
                    ErrorCode::Conflict,
                    StatusCode::CONFLICT,
                    "agreement_outdated",
                    format!(
                        "the agreement in force is {:?}; read it at /api/v1/onboarding/agreement",
                        current.id
                    ),
                ));
            }
            let decided = decide(&state, now, |ctx| {
                app.state
                    .application
                    .accept_agreement(current.id, signer, ctx)
            })?
            .map_err(refused)?;
            let mut change = app_change(app, decided);
            // No deposit asked: admitted now, and so activated with its store.
            admit_if_complete(&state, &mut change, provider, now)?;
            Ok(change)
        },
    )
    .await?;
    Ok(ApiJson(view(&state, &record)?))
}

/// If the change admits the application, activate the provider and open its store in the
/// same change.
fn admit_if_complete(
    state: &AppState,
    change: &mut Change,
    provider: &Loaded<Provider>,
    now: Timestamp,
) -> Result<Option<Store>, Problem> {
    let Some((_, record)) = &change.application else {
        return Ok(None);
    };
    if !matches!(
        record.application.status,
        ApplicationStatus::Admitted { .. }
    ) {
        return Ok(None);
    }
    let (active, store, outcomes) = decide(state, now, |ctx| {
        let (active, o1) = provider
            .state
            .activate(&record.application, ctx)
            .map_err(refused)?;
        let (store, o2) =
            Store::open(&active, &record.store_name, None, ctx).map_err(store_refused)?;
        Ok::<_, Problem>((active, store, [o1, o2]))
    })??;
    // The agreement term starts with admission (SPEC §13; ALI-A 7.1).
    let (tenure, o3) =
        crate::reactions::exit::begin_tenure(state, &active, &record.application, now)?;
    change.extra.push(tenure);
    for o in outcomes.into_iter().chain([o3]) {
        change.outcome.events.extend(o.events);
        change.outcome.transactions.extend(o.transactions);
        change.outcome.schedule.extend(o.schedule);
        change.outcome.cancel.extend(o.cancel);
    }
    change.provider = Some((Some(provider.version), active));
    change.stores.push((None, store.clone()));
    Ok(Some(store))
}

/// Pays (part of) the deposit through the sandbox gateway, which succeeds: the ledger posts
/// Dr operator cash / Cr deposits held for the provider. The payment that makes the deposit
/// whole admits the application, activates the provider and opens its store, all in the same
/// database transaction. Requires `Idempotency-Key`: a replay with the same body returns the
/// first answer and moves no money again; the same key with another body is refused (422).
#[utoipa::path(
    post,
    path = "/api/v1/onboarding/applications/{id}/deposit-payments",
    tag = "onboarding",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Application id"),
        ("Idempotency-Key" = String, Header, description = "Required: 1–200 characters, unique per payment"),
    ),
    request_body = DepositPayment,
    responses(
        (status = 201, description = "The payment received (and, when whole, the provider active and its store open)", body = DepositPaymentView),
        (status = 400, description = "`idempotency_key_required`, or malformed JSON"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "Not the applicant"),
        (status = 404, description = "No such application the caller may see"),
        (status = 409, description = "`invalid_transition` (agreement not accepted, or already admitted)"),
        (status = 422, description = "`invalid_amount`, `deposit_exceeds_outstanding`, `idempotency_key_reused`, unknown members"),
    )
)]
pub async fn pay_deposit(
    State(state): State<AppState>,
    principal: Principal,
    key: IdempotencyKey,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<DepositPayment>,
) -> Result<Response, Problem> {
    let what = json!({
        "method": "POST",
        "path": format!("/api/v1/onboarding/applications/{id}/deposit-payments"),
        "body": req,
    });
    let fingerprint = key
        .claim(&principal, &what, &json!(null), state.clock.now())?
        .fingerprint;
    let paid = crate::kernel::pipeline::write(&state.store, || async {
        if let Some(res) = replayed(&state, &principal, &key, &fingerprint).await? {
            return Ok(Decision::Answer(Paid::Before(res)));
        }
        let decided = decide_payment(&state, &principal, &id, &req).await;
        let (change, answer) = match decided {
            Ok(v) => v,
            Err(problem) => {
                // Decided from a state that a request with this very key changed meanwhile
                // (the loads are not one snapshot): answer as that request did.
                if let Some(res) = replayed(&state, &principal, &key, &fingerprint).await? {
                    return Ok(Decision::Answer(Paid::Before(res)));
                }
                return Err(problem);
            }
        };
        let now = state.clock.now();
        let mut batch = change.batch(now)?;
        batch.idempotency = Some(key.claim(&principal, &what, &answer, now)?);
        Ok(Decision::Write(batch, Paid::Now(Box::new(answer))))
    })
    .await?;
    Ok(match paid {
        Paid::Now(answer) => {
            tracing::info!(application = %answer.application.application.id, amount = %req.amount, admitted = answer.store.is_some(), "deposit payment received");
            (StatusCode::CREATED, axum::Json(answer)).into_response()
        }
        Paid::Before(res) => res,
    })
}

/// A deposit payment's answer: this request's, or the first answer to its key.
enum Paid {
    Now(Box<DepositPaymentView>),
    Before(Response),
}

/// A stored answer (the key's first request committed meanwhile) is given as it was stored.
impl<'de> Deserialize<'de> for Paid {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let response = serde_json::Value::deserialize(d)?;
        Ok(Paid::Before(
            (StatusCode::CREATED, axum::Json(response)).into_response(),
        ))
    }
}

/// The first answer to this key, if it was used: the same answer for the same request, 422
/// for another.
async fn replayed(
    state: &AppState,
    principal: &Principal,
    key: &IdempotencyKey,
    fingerprint: &str,
) -> Result<Option<Response>, Problem> {
    let Some(seen) = state
        .store
        .idempotency_record(&principal.principal, &key.0)
        .await?
    else {
        return Ok(None);
    };
    if seen.fingerprint != fingerprint {
        return Err(
            mismatch(&StoreError::IdempotencyMismatch { key: key.0.clone() })
                .unwrap_or_else(|| Problem::conflict("idempotency key reused")),
        );
    }
    Ok(Some(
        (StatusCode::CREATED, axum::Json(seen.response)).into_response(),
    ))
}

/// Loads, checks the caller and decides a deposit payment: the change and the answer.
async fn decide_payment(
    state: &AppState,
    principal: &Principal,
    id: &str,
    req: &DepositPayment,
) -> Result<(Change, DepositPaymentView), Problem> {
    let (app, provider) = load_visible(state, principal, id).await?;
    require_applicant(principal, &provider.state)?;
    let now = state.clock.now();
    let (paid, outcome) = decide(state, now, |ctx| {
        app.state.application.pay_deposit(req.amount, ctx)
    })?
    .map_err(refused)?;
    let transaction = outcome
        .transactions
        .first()
        .map(|t| t.id())
        .ok_or_else(|| Problem::internal("a deposit payment without a ledger transaction"))?;
    let mut change = app_change(&app, (paid, outcome));
    let store = admit_if_complete(state, &mut change, &provider, now)?;
    let record = change
        .application
        .as_ref()
        .map(|(_, r)| r.clone())
        .ok_or_else(|| Problem::internal("the payment changed no application"))?;
    let answer = DepositPaymentView {
        payment: PaymentReceipt {
            transaction,
            amount: req.amount,
            gateway: "sandbox".into(),
            status: "succeeded".into(),
        },
        application: ApplicationView::of(&record, rulebook_at(state, now)?),
        provider_status: change
            .provider
            .as_ref()
            .map_or(provider.state.status.label(), |(_, p)| p.status.label())
            .to_owned(),
        store: store.as_ref().map(|s| StoreView::of(s, now)),
    };
    Ok((change, answer))
}

/// The caller's own provider (the member's, or the provider staff's), with its latest
/// application and its stores.
#[utoipa::path(
    get,
    path = "/api/v1/onboarding/provider",
    tag = "onboarding",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's provider", body = ProviderView),
        (status = 401, description = "No valid bearer token"),
        (status = 404, description = "The caller has no provider (never applied)"),
    )
)]
pub async fn own_provider(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<ApiJson<ProviderView>, Problem> {
    let not_found = || Problem::not_found("the caller has no provider");
    let id = own_provider_id(&state, &principal.actor)
        .await?
        .ok_or_else(not_found)?;
    let provider = load_provider(&state, id).await?.ok_or_else(not_found)?;
    let now = state.clock.now();
    let application = match provider.state.status {
        ProviderStatus::Applying {
            application: Some(a),
        } => load_application(&state, a.uuid()).await?,
        _ => {
            // After admission: the admitted application is the provider's newest.
            let mut apps = state
                .store
                .aggregates(&AggregateQuery {
                    kind: crate::kernel::repo::providers::APPLICATION.into(),
                    owner: Some(id.to_string()),
                    status: None,
                    after: None,
                    limit: 200,
                })
                .await?;
            match apps.pop() {
                Some(a) => load_application(&state, a.id).await?,
                None => None,
            }
        }
    };
    let stores = state
        .store
        .aggregates(&AggregateQuery {
            kind: STORE.into(),
            owner: Some(id.to_string()),
            status: None,
            after: None,
            limit: 200,
        })
        .await?
        .into_iter()
        .map(|s| {
            serde_json::from_value::<Store>(s.state)
                .map(|s| StoreView::of(&s, now))
                .map_err(|e| Problem::internal(format!("stored store does not read back: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ApiJson(ProviderView {
        provider: provider.state,
        application: application.map(|a| view(&state, &a.state)).transpose()?,
        stores,
    }))
}
