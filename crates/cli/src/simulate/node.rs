//! The service layer the simulation drives: the real server (router, handlers, store) in
//! this process, called without sockets; with `--faults`, a storage boundary that fails as
//! the seed says, and a restart from the database after each injected crash.

use std::cell::Cell;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};
use axum::Router;
use axum::body::Body;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::{Method, Request, StatusCode};
use serde_json::Value;
use tokio::sync::{RwLock, oneshot};
use tower::ServiceExt;
use yunshi_server::kernel::config::{ClockMode, Config};
use yunshi_server::{AppState, Server};
use yunshi_store::{Fault, FaultPlan};

use super::draw::{Draw, Topic};

tokio::task_local! {
    /// The fault planned for the first commit of the call running in this task.
    static PLANNED: Cell<Option<Fault>>;
}

/// Faults per kind (in [`Fault::ALL`] order).
type Tally = [AtomicU64; 5];

fn slot(fault: Fault) -> usize {
    Fault::ALL.iter().position(|f| *f == fault).unwrap_or(0)
}

/// Hands each commit the fault its call planned, once, and counts the faults it hands out:
/// a planned fault whose call never reaches a commit (refused before writing, or meeting a
/// store another call crashed) is planned but never injected.
struct TaskPlan {
    injected: Arc<Tally>,
}

impl FaultPlan for TaskPlan {
    fn next_commit(&self) -> Option<Fault> {
        let fault = PLANNED.try_with(Cell::take).ok().flatten()?;
        self.injected[slot(fault)].fetch_add(1, Ordering::Relaxed);
        Some(fault)
    }
}

/// The tag of calls that never meet an injected fault.
pub const UNFAULTED: u64 = 0;

/// The bootstrap administrator's token of every simulation.
pub const ADMIN: &str = "simulation-admin-token-0123456789abcdef";

/// What a node is started with.
#[derive(Clone)]
pub struct NodeConfig {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub rulebook: String,
    pub start: String,
    /// Faults per 1,000 writing calls.
    pub faults_per_mille: u64,
    pub draw: Draw,
}

struct Running {
    generation: u64,
    router: Router,
    state: AppState,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), yunshi_server::ServeError>>,
}

/// The running server, replaced on restart.
pub struct Node {
    config: NodeConfig,
    running: RwLock<Option<Running>>,
    pub restarts: AtomicU64,
    /// Faults planned, by kind.
    planned: Tally,
    /// Faults the storage boundary injected, by kind (shared by every generation's plan).
    injected: Arc<Tally>,
}

/// A call's answer.
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

async fn start(config: &NodeConfig, generation: u64, injected: &Arc<Tally>) -> Result<Running> {
    let settings = Config {
        listen: "127.0.0.1:0".into(),
        data_dir: config.data_dir.clone(),
        database_url: config.database_url.clone(),
        rulebook: config.rulebook.clone(),
        clock: ClockMode::Simulated,
        start: Some(config.start.clone()),
        admin_token: Some(ADMIN.into()),
        // A day's advance fires a month's settlement run at each cut-off: an operator's
        // batch job, not an interactive request.
        request_timeout_secs: 3_600,
        ..Config::default()
    };
    let mut settings = settings.resolve().context("simulation settings")?;
    if config.faults_per_mille > 0 {
        settings.faults = Some(Arc::new(TaskPlan {
            injected: Arc::clone(injected),
        }));
    }
    let server = Server::bind(settings).await.context("starting yunshi")?;
    let router = server.router();
    let state = server.state().clone();
    let (stop, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(server.run_until(async {
        let _ = rx.await;
    }));
    Ok(Running {
        generation,
        router,
        state,
        stop,
        task,
    })
}

impl Node {
    pub async fn start(config: NodeConfig) -> Result<Node> {
        let injected = Arc::new(Tally::default());
        let running = start(&config, 0, &injected).await?;
        Ok(Node {
            config,
            running: RwLock::new(Some(running)),
            restarts: AtomicU64::new(0),
            planned: Default::default(),
            injected,
        })
    }

    /// The state of the running server (for reading the books directly).
    pub async fn state(&self) -> Result<AppState> {
        let guard = self.running.read().await;
        Ok(guard.as_ref().context("the node is stopped")?.state.clone())
    }

    /// Faults planned so far, by kind.
    pub fn planned(&self) -> Vec<(Fault, u64)> {
        tally(&self.planned)
    }

    /// Faults injected so far (a commit met them), by kind.
    pub fn injected(&self) -> Vec<(Fault, u64)> {
        tally(&self.injected)
    }

    /// The fault the seed plans for the first attempt of the call tagged `tag`. Crashes
    /// after the commit only where a retry is safe: calls with an idempotency key.
    fn plan(&self, tag: u64, writes: bool, keyed: bool) -> Option<Fault> {
        let rate = self.config.faults_per_mille;
        if rate == 0
            || tag == UNFAULTED
            || !writes
            || !self.config.draw.chance(Topic::Fault, &[tag], rate)
        {
            return None;
        }
        let kinds = if keyed { 5 } else { 4 };
        let fault = Fault::ALL[self.config.draw.below(Topic::FaultKind, &[tag], kinds) as usize];
        self.planned[slot(fault)].fetch_add(1, Ordering::Relaxed);
        Some(fault)
    }

    /// Sends one request; retries what the service layer asks to be retried (503, a lost
    /// race) and restarts it after a crash. `tag` names the call for the fault plan.
    pub async fn call(
        &self,
        tag: u64,
        method: Method,
        path: &str,
        token: &str,
        key: Option<&str>,
        body: Option<(Bytes, &str)>,
    ) -> Result<Answer> {
        let writes = method != Method::GET;
        let mut fault = self.plan(tag, writes, key.is_some());
        for attempt in 0..50u32 {
            // The running server is held for the whole call, so a restart waits for calls in
            // flight: closing the store under one whose write landed would answer 503 for a
            // write that happened.
            let guard = self.running.read().await;
            let r = guard.as_ref().context("the node is stopped")?;
            let (store, generation) = (r.state.store.clone(), r.generation);
            let mut req = Request::builder()
                .method(method.clone())
                .uri(path)
                .header(hyper::header::AUTHORIZATION, format!("Bearer {token}"));
            if let Some(key) = key {
                req = req.header("idempotency-key", key);
            }
            let bytes = match &body {
                Some((bytes, content_type)) => {
                    req = req.header(hyper::header::CONTENT_TYPE, *content_type);
                    bytes.clone()
                }
                None => Bytes::new(),
            };
            let req = req.body(Body::from(bytes))?;
            let res = PLANNED
                .scope(Cell::new(fault.take()), r.router.clone().oneshot(req))
                .await?;
            let status = res.status();
            let raw = res.into_body().collect().await?.to_bytes();
            drop(guard);
            let body: Value = if raw.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&raw)
                    .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&raw).into_owned()))
            };
            let lost_race = status == StatusCode::CONFLICT && body["code"] == "conflict";
            if status == StatusCode::SERVICE_UNAVAILABLE || lost_race {
                if store.crashed() {
                    self.restart(generation).await?;
                } else if attempt > 3 {
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
                continue;
            }
            return Ok(Answer { status, body });
        }
        anyhow::bail!("{method} {path}: still unavailable after 50 attempts")
    }

    /// Stops the crashed server (if `generation` is still the one running) and starts a new
    /// one from the database.
    async fn restart(&self, generation: u64) -> Result<()> {
        let mut guard = self.running.write().await;
        if guard.as_ref().is_some_and(|r| r.generation != generation) {
            return Ok(());
        }
        if let Some(old) = guard.take() {
            let _ = old.stop.send(());
            old.task.await??;
        }
        *guard = Some(start(&self.config, generation + 1, &self.injected).await?);
        self.restarts.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    pub async fn stop(&self) -> Result<()> {
        if let Some(old) = self.running.write().await.take() {
            let _ = old.stop.send(());
            old.task.await??;
        }
        Ok(())
    }
}

fn tally(counts: &Tally) -> Vec<(Fault, u64)> {
    Fault::ALL
        .iter()
        .zip(counts)
        .map(|(f, n)| (*f, n.load(Ordering::Relaxed)))
        .collect()
}
