//! Provider onboarding, materials, agreements, deposits and stores over HTTP (SPEC §3, §4;
//! issue 3 items 2 and 3).
//!
//! Aggregates: `provider` (one per member, held by the unique key `provider.member`),
//! `provider_application` (the core's [`Application`] with the store name asked for) and
//! `store`; each is owned (`owner` column) by the provider id. Uploaded materials are stored
//! durably as files ([`yunshi_store::Store::put_file`]) and referenced by id and SHA-256.
//!
//! Who may do what: the member who applied (and, once it has them, the provider's staff) acts
//! for the provider; operator staff see everything and act by capability
//! ([`Capability::ReviewOnboarding`] for review, verification and store transfers); anyone
//! else gets 404 for the provider's objects.

pub mod agreement;
pub mod applications;
pub mod redeclare;
pub mod review;
pub mod stores;
pub mod views;

use axum::Router;
use axum::routing::{get, post};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;
use uuid::Uuid;
use yunshi_core::decision::Outcome;
use yunshi_core::ids::ProviderId;
use yunshi_core::provider::{Application, Provider, REDECLARATION_DEADLINE};
use yunshi_core::storefront::{BLOCK_ENDS, FREEZE_ENDS, Store};
use yunshi_store::{Deadline, WriteBatch};

use crate::kernel::context::decide;
use crate::kernel::deadlines::{Handler, HandlerFuture};
use crate::kernel::pipeline::{Loaded, add_outcome, aggregate_write, load};
use crate::kernel::problem::Problem;
pub(crate) use crate::kernel::problem::path_id;
use crate::kernel::repo::providers::{
    APPLICATION, PROVIDER, load_provider, load_store, store_write,
};
use crate::kernel::state::AppState;

/// This module's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(
        applications::start_application,
        applications::get_application,
        applications::upload_material,
        applications::get_file,
        applications::submit,
        applications::resubmit,
        applications::withdraw,
        applications::accept_agreement,
        applications::pay_deposit,
        applications::own_provider,
        agreement::current_agreement,
        redeclare::report_material_change,
        redeclare::redeclare_material,
        review::list_applications,
        review::start_review,
        review::request_material,
        review::approve,
        review::reject,
        review::record_verification,
        stores::list_stores,
        stores::get_store,
        stores::request_transfer,
        stores::approve_transfer,
        stores::reject_transfer,
    ),
    components(schemas(
        views::StartApplication,
        views::ApplicationView,
        views::ApplicationPage,
        views::ProviderView,
        crate::kernel::views::StoreView,
        views::StorePage,
        views::AcceptAgreement,
        views::DepositPayment,
        views::DepositPaymentView,
        views::PaymentReceipt,
        views::MoreMaterialRequest,
        views::ApproveRequest,
        views::ReasonRequest,
        views::VerificationRequest,
        views::TransferRequestBody,
        agreement::AgreementView,
        redeclare::MaterialChangeReport,
    )),
    tags(
        (name = "onboarding", description = "Provider onboarding (入驻): application, materials, review, agreement, deposit (SPEC §3)"),
        (name = "stores", description = "Stores (店铺): standing, visibility and transfers with operator consent (SPEC §4)"),
    )
)]
pub struct ApiDoc;

/// Material uploads may be larger than the API's general body limit: up to
/// `MAX_MATERIAL_BYTES`, and one byte more so the handler can name what is wrong.
fn upload_limit() -> axum::extract::DefaultBodyLimit {
    axum::extract::DefaultBodyLimit::max(crate::kernel::files::MAX_MATERIAL_BYTES + 1)
}

pub fn routes() -> Router<AppState> {
    use applications as a;
    Router::new()
        .route(
            "/api/v1/onboarding/applications",
            post(a::start_application),
        )
        .route(
            "/api/v1/onboarding/applications/{id}",
            get(a::get_application),
        )
        .route(
            "/api/v1/onboarding/applications/{id}/materials",
            post(a::upload_material).layer(upload_limit()),
        )
        .route(
            "/api/v1/onboarding/applications/{id}/submit",
            post(a::submit),
        )
        .route(
            "/api/v1/onboarding/applications/{id}/resubmit",
            post(a::resubmit),
        )
        .route(
            "/api/v1/onboarding/applications/{id}/withdraw",
            post(a::withdraw),
        )
        .route(
            "/api/v1/onboarding/applications/{id}/agreement",
            post(a::accept_agreement),
        )
        .route(
            "/api/v1/onboarding/applications/{id}/deposit-payments",
            post(a::pay_deposit),
        )
        .route("/api/v1/onboarding/files/{id}", get(a::get_file))
        .route("/api/v1/onboarding/provider", get(a::own_provider))
        .route(
            "/api/v1/onboarding/provider/material-changes",
            post(redeclare::report_material_change),
        )
        .route(
            "/api/v1/onboarding/provider/materials",
            post(redeclare::redeclare_material).layer(upload_limit()),
        )
        .route(
            "/api/v1/onboarding/agreement",
            get(agreement::current_agreement),
        )
        .route(
            "/api/v1/admin/onboarding/applications",
            get(review::list_applications),
        )
        .route(
            "/api/v1/admin/onboarding/applications/{id}/review",
            post(review::start_review),
        )
        .route(
            "/api/v1/admin/onboarding/applications/{id}/more-material",
            post(review::request_material),
        )
        .route(
            "/api/v1/admin/onboarding/applications/{id}/approve",
            post(review::approve),
        )
        .route(
            "/api/v1/admin/onboarding/applications/{id}/reject",
            post(review::reject),
        )
        .route(
            "/api/v1/admin/onboarding/applications/{id}/verification",
            post(review::record_verification),
        )
        .route("/api/v1/stores", get(stores::list_stores))
        .route("/api/v1/stores/{id}", get(stores::get_store))
        .route(
            "/api/v1/stores/{id}/transfer",
            post(stores::request_transfer),
        )
        .route(
            "/api/v1/admin/stores/{id}/transfer/approve",
            post(stores::approve_transfer),
        )
        .route(
            "/api/v1/admin/stores/{id}/transfer/reject",
            post(stores::reject_transfer),
        )
}

/// The deadline kinds this module fires, and how.
pub const DEADLINES: &[(&str, Handler)] = &[
    (REDECLARATION_DEADLINE, fire_redeclaration_due),
    (FREEZE_ENDS, fire_measure_ends),
    (BLOCK_ENDS, fire_measure_ends),
];

/// An application as stored: the core's application and the name its store will open under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationRecord {
    #[serde(flatten)]
    pub application: Application,
    pub store_name: String,
}

// ---- loading ----

pub async fn load_application(
    state: &AppState,
    id: Uuid,
) -> Result<Option<Loaded<ApplicationRecord>>, Problem> {
    load(&state.store, APPLICATION, id).await
}

// ---- deciding ----

/// What a decision changes: new versions of loaded aggregates (`Some(version)`) or new ones
/// (`None`), and the core's outcome.
#[derive(Default)]
pub(crate) struct Change {
    pub application: Option<(Option<i64>, ApplicationRecord)>,
    pub provider: Option<(Option<i64>, Provider)>,
    pub stores: Vec<(Option<i64>, Store)>,
    pub outcome: Outcome,
    /// Other modules' aggregates written with the change (the exits module's tenure).
    pub extra: Vec<yunshi_store::AggregateWrite>,
}

impl Change {
    pub(crate) fn batch(self, now: Timestamp) -> Result<WriteBatch, Problem> {
        let mut batch = WriteBatch::default();
        if let Some((version, p)) = &self.provider {
            batch.aggregates.push(aggregate_write(
                PROVIDER,
                p.id.uuid(),
                *version,
                p.id.to_string(),
                p.status.label(),
                p,
                now,
            )?);
        }
        if let Some((version, a)) = &self.application {
            batch.aggregates.push(aggregate_write(
                APPLICATION,
                a.application.id.uuid(),
                *version,
                a.application.provider.to_string(),
                a.application.status.label(),
                a,
                now,
            )?);
        }
        for (version, s) in &self.stores {
            batch.aggregates.push(store_write(s, *version, now)?);
        }
        batch.aggregates.extend(self.extra);
        add_outcome(&mut batch, self.outcome, now);
        Ok(batch)
    }
}

// ---- deadlines ----

fn subject_id(d: &Deadline, prefix: &str) -> Result<Uuid, Problem> {
    d.subject
        .strip_prefix(prefix)
        .and_then(|id| Uuid::parse_str(id).ok())
        .ok_or_else(|| Problem::internal(format!("deadline {} has subject {:?}", d.id, d.subject)))
}

fn payload_id(d: &Deadline, key: &str) -> Result<Uuid, Problem> {
    d.payload
        .get(key)
        .and_then(|v| v.as_str())
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| Problem::internal(format!("deadline {} has no {key} in its payload", d.id)))
}

/// `provider.material_redeclaration_due`: the changed material was not re-declared in time.
fn fire_redeclaration_due(state: AppState, d: Deadline) -> HandlerFuture {
    Box::pin(async move {
        let provider = ProviderId(subject_id(&d, "provider:")?);
        let redeclaration = payload_id(&d, "redeclaration")?;
        crate::kernel::pipeline::fire(&state, &d, |now| {
            let state = &state;
            async move {
                let Some(loaded) = load_provider(state, provider).await? else {
                    return Ok(WriteBatch::default());
                };
                let (next, outcome) = decide(state, now, |ctx| {
                    loaded.state.material_redeclaration_due(redeclaration, ctx)
                })?
                .map_err(|e| Problem::refusal(&e))?;
                let change = Change {
                    provider: (next != loaded.state).then_some((Some(loaded.version), next)),
                    outcome,
                    ..Change::default()
                };
                change.batch(now)
            }
        })
        .await
    })
}

/// `store.freeze_ends` / `store.block_ends`: the measure's period is over.
fn fire_measure_ends(state: AppState, d: Deadline) -> HandlerFuture {
    Box::pin(async move {
        let store = subject_id(&d, "store:")?;
        let measure = payload_id(&d, "measure")?;
        crate::kernel::pipeline::fire(&state, &d, |now| {
            let (state, d) = (&state, &d);
            async move {
                let Some(loaded) = load_store(state, store).await? else {
                    return Ok(WriteBatch::default());
                };
                // Instants are stored to the microsecond, while a measure's end may carry
                // nanoseconds: decide the lift no earlier than the stored due time rounded up.
                let lift_at = now.max(
                    d.due_at
                        .checked_add(jiff::SignedDuration::from_micros(1))
                        .unwrap_or(d.due_at),
                );
                let (next, outcome) = decide(state, lift_at, |ctx| {
                    loaded.state.lift_measure(measure, ctx)
                })?
                .map_err(|e| Problem::refusal(&e))?;
                let mut change = Change {
                    outcome,
                    ..Change::default()
                };
                if next != loaded.state {
                    change.stores.push((Some(loaded.version), next));
                }
                change.batch(now)
            }
        })
        .await
    })
}
