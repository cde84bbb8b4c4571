//! Orders under escrow, the sandbox payment gateway, service milestones, refunds and ratings (SPEC §6, §7).

use axum::Router;
use utoipa::OpenApi;

use crate::AppState;
use crate::deadlines::Handler;

/// This module's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi()]
pub struct ApiDoc;

pub fn routes() -> Router<AppState> {
    Router::new()
}

/// The deadline kinds this module fires, and how.
pub const DEADLINES: &[(&str, Handler)] = &[];
