//! The application state every handler and deadline handler reaches.

use std::ops::Deref;
use std::sync::Arc;

use axum::body::Bytes;
use metrics_exporter_prometheus::PrometheusHandle;
use yunshi_core::calendar::WorkingCalendar;
use yunshi_core::money::Fen;
use yunshi_core::time::Clock;
use yunshi_store::Store;

use crate::kernel::config::{ClockMode, Settings};
use crate::kernel::deadlines::Registry;
use crate::kernel::gateway::{PaymentGateway, SandboxGateway};
use crate::kernel::throttle::LoginThrottle;
use crate::kernel::{amount, clock, metrics, principal_cache, rulebooks, sealing};

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<AppInner>);

pub struct AppInner {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub clock_mode: ClockMode,
    /// Serialises advances of a simulated clock.
    pub clock_control: clock::ClockControl,
    pub calendar: Arc<WorkingCalendar>,
    pub rulebooks: rulebooks::Rulebooks,
    pub metrics: PrometheusHandle,
    /// Recently authenticated tokens (see `principal_cache` for how fresh they are).
    pub principals: principal_cache::PrincipalCache,
    /// Failed logins per e-mail and per client address (`kernel::throttle`).
    pub login_throttle: LoginThrottle,
    /// The OpenAPI document, rendered once.
    pub openapi: Bytes,
    /// The largest amount one money field of a request may carry (`max_amount`).
    pub max_amount: Fen,
    /// The console's cookies are `Secure` and `__Host-` prefixed (`secure_cookies`).
    pub secure_cookies: bool,
    /// Where payments are charged (the built-in sandbox unless a deployment plugs one in).
    pub gateway: Arc<dyn PaymentGateway>,
    /// The keys that seal secrets and personal data at rest ([`sealing`]).
    pub keys: Arc<sealing::Keyring>,
    /// This process's identity, fresh at every start (a UUIDv7's hex digits): `/healthz`
    /// says it, so a supervisor can tell its own child from whatever else answers the port.
    pub instance: String,
    /// The deadline handlers by kind, as `lib.rs` assembles them from the features.
    pub deadlines: Arc<Registry>,
}

impl Deref for AppState {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

impl axum::extract::FromRef<AppState> for amount::MaxAmount {
    fn from_ref(state: &AppState) -> Self {
        amount::MaxAmount(state.max_amount)
    }
}

impl AppState {
    /// The state of a server running `settings` on `store`, sealing with `keys`, serving
    /// `openapi` and firing deadlines with `deadlines`.
    pub fn new(
        store: Store,
        settings: &Settings,
        keys: Arc<sealing::Keyring>,
        openapi: Bytes,
        deadlines: Registry,
    ) -> Self {
        let sandbox = || -> Arc<dyn PaymentGateway> { Arc::new(SandboxGateway) };
        Self(Arc::new(AppInner {
            store,
            clock: settings.clock.clone(),
            clock_mode: settings.clock_mode,
            clock_control: clock::ClockControl::default(),
            calendar: Arc::new(settings.calendar.clone()),
            rulebooks: settings.rulebooks.clone(),
            metrics: metrics::prometheus(),
            principals: principal_cache::PrincipalCache::default(),
            login_throttle: LoginThrottle::default(),
            openapi,
            max_amount: settings.max_amount,
            secure_cookies: settings.secure_cookies,
            gateway: settings.gateway.clone().unwrap_or_else(sandbox),
            keys,
            instance: uuid::Uuid::now_v7().simple().to_string(),
            deadlines: Arc::new(deadlines),
        }))
    }
}
