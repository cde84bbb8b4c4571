//! Yunshi's HTTP server: the REST API with its OpenAPI description, health, readiness and
//! metrics endpoints, bearer-token authentication and the first-administrator bootstrap.
//!
//! The server is an imperative shell: it loads state from the [`Store`], reads "now" from the
//! one [`Clock`](yunshi_core::time::Clock), calls the pure core and persists what the core decides.
//!
//! [`Server::bind`] does everything that can fail at start-up (listen, open and migrate the
//! database, bootstrap the administrator); [`Server::run_until`] serves until the shutdown
//! future completes, lets in-flight requests finish, then closes the store.

pub mod docs;
pub mod features;
pub mod kernel;
pub mod reactions;

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, StatusCode};
use axum::routing::get;
use jiff::Timestamp;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use yunshi_store::{Store, StoreError};

use crate::features::{
    accounts, admin_clock, audit, cases, catalogue, complaints, console, deliveries, deposits,
    evidence, exits, invoices, onboarding, orders, settlement, setup, system, visibility,
};
use crate::kernel::deadlines::{self, Registry};
use crate::kernel::{auth, clock, config, metrics, private_files, problem, sealing};

pub use crate::kernel::auth::{Bootstrap, Principal};
pub use crate::kernel::clock::SystemClock;
pub use crate::kernel::config::{ClockMode, Config, ConfigError, ConfigOverrides, Settings};
pub use crate::kernel::problem::{ApiJson, ErrorCode, Problem};
pub use crate::kernel::state::AppState;

/// Every feature's deadline handlers by kind: the one place they are assembled.
pub fn deadline_registry() -> Registry {
    let handlers = [
        onboarding::DEADLINES,
        orders::DEADLINES,
        deliveries::DEADLINES,
        cases::DEADLINES,
        complaints::DEADLINES,
        deposits::DEADLINES,
        settlement::DEADLINES,
        exits::DEADLINES,
        visibility::DEADLINES,
        invoices::DEADLINES,
    ]
    .into_iter()
    .flatten()
    .map(|&(kind, handler)| (kind, handler))
    .collect();
    Registry {
        handlers,
        batched: orders::BATCH_DEADLINES.iter().copied().collect(),
    }
}

/// Every route of the API, without middleware or state: the one place they are assembled.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(system::healthz))
        .route("/readyz", get(system::readyz))
        .route("/metrics", get(system::metrics))
        .route("/api/v1/openapi.json", get(docs::openapi_json))
        .route("/api/docs", get(docs::docs_page))
        .route("/api/docs/assets/{file}", get(docs::docs_asset))
        .route("/api/v1/clock", get(system::clock))
        .route("/api/v1/whoami", get(system::whoami))
        .route("/api/v1/rulebook", get(system::rulebook))
        .route("/api/v1/rulebook/versions", get(system::rulebook_versions))
        .route("/api/v1/setup", axum::routing::post(setup::submit_json))
        .route("/setup", get(setup::page).post(setup::submit_form))
        .merge(accounts::routes())
        .merge(onboarding::routes())
        .merge(catalogue::routes())
        .merge(visibility::routes())
        .merge(orders::routes())
        .merge(deliveries::routes())
        .merge(cases::routes())
        .merge(complaints::routes())
        .merge(deposits::routes())
        .merge(settlement::routes())
        .merge(evidence::routes())
        .merge(exits::routes())
        .merge(invoices::routes())
        .merge(admin_clock::routes())
}

/// Limits applied to every request.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub request_timeout: std::time::Duration,
    pub body_limit: usize,
}

/// The routes with the middleware stack: request ids, tracing, metrics, problem documents
/// for every error, body limit, panic catching and timeout (outermost first). The audit is
/// added here, with a budget of its own: it reads the whole database.
pub fn app(routes: Router<AppState>, state: AppState, limits: Limits) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let timeout = |budget| TimeoutLayer::with_status_code(StatusCode::GATEWAY_TIMEOUT, budget);
    let api = routes
        .layer(timeout(limits.request_timeout))
        .merge(audit::routes().layer(timeout(limits.request_timeout.max(audit::BUDGET))))
        .with_state(state.clone());
    // The console calls the API in process; its error answers are normalised the same way.
    let console = console::router(
        api.clone()
            .layer(axum::middleware::from_fn(problem::normalize)),
        state,
    )
    .layer(timeout(limits.request_timeout));
    api.merge(console)
        .fallback(not_found)
        .layer(CatchPanicLayer::custom(problem::panic_response))
        .layer(DefaultBodyLimit::max(limits.body_limit))
        // The outer cap lets material uploads through; each route's DefaultBodyLimit (the
        // general one above, or the upload routes' own) decides what its handler reads.
        .layer(RequestBodyLimitLayer::new(
            limits.body_limit.max(crate::kernel::files::UPLOAD_CAP),
        ))
        .layer(axum::middleware::from_fn(problem::normalize))
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let request_id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            tracing::info_span!(
                "request",
                method = %req.method(),
                path = %req.uri().path(),
                request_id,
            )
        }))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

async fn not_found(req: Request) -> Problem {
    Problem::not_found(format!(
        "no route for {} {}",
        req.method(),
        req.uri().path()
    ))
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot open the database {url}: {source}")]
    Open { url: String, source: StoreError },
    #[error("database migration failed: {0}")]
    Migrate(StoreError),
    #[error("cannot read the stored simulated clock: {0}")]
    Clock(StoreError),
    #[error("administrator bootstrap failed: {0}")]
    Bootstrap(#[from] auth::BootstrapError),
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
    #[error("data keys: {0}")]
    Keys(#[from] sealing::SealError),
}

/// The one-time link that opens `/setup`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupLink {
    pub url: String,
    pub expires_at: Timestamp,
}

/// A server that has bound its port, opened and migrated its database and bootstrapped its
/// administrator, ready to [`run`](Server::run_until).
pub struct Server {
    listener: TcpListener,
    router: Router,
    store: Store,
    /// For the deadline worker.
    state: AppState,
    local_addr: SocketAddr,
    bootstrap: Bootstrap,
    setup_link: Option<SetupLink>,
}

impl Server {
    pub async fn bind(settings: Settings) -> Result<Server, ServeError> {
        Self::bind_with(settings, Router::new()).await
    }

    /// Like [`Server::bind`], with `extra` routes served beside the API's (and behind the same
    /// middleware).
    pub async fn bind_with(
        settings: Settings,
        extra: Router<AppState>,
    ) -> Result<Server, ServeError> {
        for year in &settings.provisional_years {
            tracing::warn!(
                year,
                "the working-day calendar for {year} is provisional (statutory holidays only, \
                 no adjusted working days); load the official one with --calendar when published"
            );
        }
        private_files::create_private_dir(&settings.data_dir).map_err(|source| {
            ServeError::DataDir {
                path: settings.data_dir.clone(),
                source,
            }
        })?;
        let keys = match &settings.keys {
            Some(keys) => keys.clone(),
            None => {
                let (keys, created) = sealing::Keyring::load_or_create(&settings.data_dir)?;
                let file = settings.data_dir.join(sealing::KEY_FILE);
                if created {
                    tracing::warn!(
                        file = %file.display(),
                        "no data_keys configured: generated a data key into the data directory \
                         (0600); in production supply data_keys from a secret store, and keep \
                         this file with the database: what it sealed does not open without it"
                    );
                } else {
                    tracing::info!(file = %file.display(), "data keys read from the data directory");
                }
                Arc::new(keys)
            }
        };
        let listener =
            TcpListener::bind(settings.listen)
                .await
                .map_err(|source| ServeError::Bind {
                    addr: settings.listen,
                    source,
                })?;
        let local_addr = listener.local_addr()?;
        let redacted = config::redact_url(&settings.database_url);
        let store = Store::open(&settings.database_url)
            .await
            .map_err(|source| ServeError::Open {
                url: redacted.clone(),
                source,
            })?;
        let store = match &settings.faults {
            Some(plan) => store.with_faults(plan.clone()),
            None => store,
        };
        match Self::prepare(&store, &settings, local_addr).await {
            Ok((bootstrap, setup_link)) => {
                tracing::info!(
                    database = %redacted,
                    backend = store.kind().as_str(),
                    rulebook = %settings.rulebooks.marketplace,
                    partner_rulebook = settings.rulebooks.partner.as_deref().unwrap_or("-"),
                    clock = settings.clock_mode.as_str(),
                    "database ready"
                );
                let state = AppState::new(
                    store.clone(),
                    &settings,
                    keys,
                    Bytes::from(docs::openapi_bytes()),
                    deadline_registry(),
                );
                if let Err(e) = settlement::ensure_scheduled(&state).await {
                    tracing::warn!(error = %e.detail, "could not schedule the settlement run");
                }
                let limits = Limits {
                    request_timeout: settings.request_timeout,
                    body_limit: settings.body_limit,
                };
                Ok(Server {
                    listener,
                    router: app(routes().merge(extra), state.clone(), limits),
                    store,
                    state,
                    local_addr,
                    bootstrap,
                    setup_link,
                })
            }
            Err(e) => {
                store.close().await;
                Err(e)
            }
        }
    }

    async fn prepare(
        store: &Store,
        settings: &Settings,
        local_addr: SocketAddr,
    ) -> Result<(Bootstrap, Option<SetupLink>), ServeError> {
        store.migrate().await.map_err(ServeError::Migrate)?;
        // A simulated clock continues from where it stood before a restart.
        let now = clock::restore(store, settings.clock.as_ref())
            .await
            .map_err(ServeError::Clock)?;
        let bootstrap = auth::bootstrap(store, now, settings.admin_token.as_deref()).await?;
        let setup_link = match &bootstrap {
            Bootstrap::SetupSecret { secret, expires_at } => Some(SetupLink {
                url: format!("http://{}/setup?token={secret}", reachable(local_addr)),
                expires_at: *expires_at,
            }),
            _ => None,
        };
        Ok((bootstrap, setup_link))
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The router with all routes and middleware, to call in process (benchmarks).
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// The state the handlers share (store, clock, rulebooks).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// This process's instance id, as `/healthz` reports it.
    pub fn instance(&self) -> &str {
        &self.state.instance
    }

    pub fn bootstrap(&self) -> &Bootstrap {
        &self.bootstrap
    }

    /// The one-time setup link, when no administrator exists yet.
    pub fn setup_link(&self) -> Option<&SetupLink> {
        self.setup_link.as_ref()
    }

    /// Serves until `shutdown` completes; then stops accepting, lets in-flight requests
    /// finish, and closes the store (flushing queued writes).
    pub async fn run_until<F>(self, shutdown: F) -> Result<(), ServeError>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        tracing::info!(addr = %self.local_addr, instance = %self.state.instance, "listening");
        // Deadlines fire by themselves only on the system clock; a simulated one is advanced.
        let worker = (self.state.clock_mode == ClockMode::System)
            .then(|| deadlines::Worker::start(self.state.clone()));
        // The peer address is what login throttling keys client addresses on.
        let served = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: finishing in-flight requests");
        })
        .await;
        if let Some(worker) = worker {
            worker.stop().await;
        }
        self.store.close().await;
        tracing::info!("stopped");
        served.map_err(ServeError::Io)
    }
}

/// An address a browser on this machine can reach: a wildcard bind becomes loopback.
pub fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), addr.port())
        }
        _ => addr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_binds_are_linked_as_loopback() {
        assert_eq!(
            reachable("0.0.0.0:8080".parse().unwrap()).to_string(),
            "127.0.0.1:8080"
        );
        assert_eq!(
            reachable("[::]:80".parse().unwrap()).to_string(),
            "[::1]:80"
        );
        assert_eq!(
            reachable("10.0.0.5:80".parse().unwrap()).to_string(),
            "10.0.0.5:80"
        );
    }
}
