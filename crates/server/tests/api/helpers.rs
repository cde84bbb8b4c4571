//! The one test harness: [`TestServer`] binds, runs and stops a server (on SQLite in a
//! temporary directory, or on a PostgreSQL database from [`on_postgres`]) and builds the
//! requests to it; [`Market`] is a [`TestServer`] on a simulated clock the test holds, with
//! the marketplace's test-only routes ([`crate::test_routes`]).

use std::future::Future;
use std::net::SocketAddr;
use std::ops::Deref;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use jiff::{SignedDuration, Timestamp};
use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;
use yunshi_core::money::Fen;
use yunshi_core::time::{Clock, SimulatedClock};
use yunshi_server::kernel::gateway::PaymentGateway;
use yunshi_server::{AppState, ClockMode, Config, ServeError, Server, Settings, SetupLink};

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";

/// The marketplace's default rulebook and start: purchases on 2026-07-01 (Beijing), so an
/// image's 5-day window runs 7.1–7.5 (the day of purchase counts).
pub const RULEBOOK: &str = "ali-2020";
pub const START: &str = "2026-07-01T09:00:00+08:00";

pub struct TestServer {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub setup_link: Option<SetupLink>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), ServeError>>>,
    pub dir: tempfile::TempDir,
    /// The server's clock, when it is a simulated one (clones share its time).
    clock: Option<SimulatedClock>,
    /// The PostgreSQL database the server runs on, if it does.
    database_url: Option<String>,
}

/// A configuration on a fresh SQLite database in a temporary directory, port chosen by the OS.
pub fn test_config(dir: &tempfile::TempDir) -> Config {
    Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.path().join("data"),
        ..Config::default()
    }
}

/// The PostgreSQL server this test runs on (a base URL, no database name), by the
/// workspace's one rule (`yunshi_store::testing`): `None`, after saying SKIPPED, when
/// `YUNSHI_TEST_PG` is not set; a failure when `YUNSHI_REQUIRE_PG` is set instead, or when
/// the test's name lacks `postgres` (the runner skips PostgreSQL tests by that name). Call it
/// from the test's own thread: the test body, not a spawned task.
pub fn postgres_server() -> Option<String> {
    yunshi_store::testing::postgres_server().unwrap_or_else(|e| panic!("{e}"))
}

/// A connection to the PostgreSQL database at `url`.
pub async fn pg_connect(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// A fresh PostgreSQL database on the [`postgres_server`]. Clones name the same database.
#[derive(Clone)]
pub struct PgDb {
    base: String,
    name: String,
}

impl PgDb {
    /// `None` (after a SKIPPED line) per [`postgres_server`]. Call it from the test's own
    /// thread.
    async fn create() -> Option<PgDb> {
        let base = postgres_server()?;
        let name = format!("yunshi_test_{}", &Uuid::now_v7().simple().to_string()[16..]);
        let db = PgDb { base, name };
        db.admin(&format!("CREATE DATABASE {}", db.name)).await;
        Some(db)
    }

    pub fn url(&self) -> String {
        format!("{}/{}", self.base, self.name)
    }

    /// Drops the database, connections and all (again: nothing).
    pub async fn drop_database(&self) {
        self.admin(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .await;
    }

    async fn admin(&self, sql: &str) {
        pg_connect(&format!("{}/postgres", self.base))
            .await
            .batch_execute(sql)
            .await
            .unwrap();
    }
}

/// Runs `test` on a fresh PostgreSQL database, or skips it per [`postgres_server`]. The test
/// runs in its own task, so that the database is dropped even when it fails. Call it from the
/// test's own thread.
pub async fn on_postgres<F, Fut>(test: F)
where
    F: FnOnce(PgDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(db) = PgDb::create().await else {
        return;
    };
    let outcome = tokio::spawn(test(db.clone())).await;
    db.drop_database().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// A scenario as two tests: `$sqlite` runs it on a [`Market`] on SQLite, `$pg` on one on a
/// fresh PostgreSQL database (see [`on_postgres`]; its name must say `postgres`).
macro_rules! on_both {
    ($scenario:ident, $rulebook:expr, $start:expr, $sqlite:ident, $pg:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $sqlite() {
            let m = crate::helpers::Market::start_with(None, $rulebook, $start).await;
            $scenario(&m).await;
            m.stop().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $pg() {
            crate::helpers::on_postgres(|db| async move {
                let m = crate::helpers::Market::start_with(Some(&db), $rulebook, $start).await;
                $scenario(&m).await;
                m.stop().await;
            })
            .await;
        }
    };
}
pub(crate) use on_both;

impl TestServer {
    /// A server whose bootstrap admin token is [`ADMIN_TOKEN`].
    pub async fn start() -> TestServer {
        Self::start_with(|c| c.admin_token = Some(ADMIN_TOKEN.into()), Router::new()).await
    }

    pub async fn start_with(
        configure: impl FnOnce(&mut Config),
        extra: Router<AppState>,
    ) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let mut config = test_config(&dir);
        configure(&mut config);
        Self::start_in(dir, config, extra).await
    }

    pub async fn start_in(
        dir: tempfile::TempDir,
        config: Config,
        extra: Router<AppState>,
    ) -> TestServer {
        Self::start_tuned(dir, config, |_| {}, extra).await
    }

    /// [`TestServer::start`] on `db`, with `extra` routes.
    pub async fn start_on(db: &PgDb, extra: Router<AppState>) -> TestServer {
        let on_db = |c: &mut Config| {
            c.database_url = Some(db.url());
            c.admin_token = Some(ADMIN_TOKEN.into());
        };
        Self::start_with(on_db, extra).await
    }

    /// A server whose bootstrap admin token is [`ADMIN_TOKEN`], in system-clock mode (its
    /// worker fires what is due by itself) but on a simulated clock the test moves, starting
    /// at `at`.
    pub async fn start_at(at: &str) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let mut config = test_config(&dir);
        config.admin_token = Some(ADMIN_TOKEN.into());
        let clock = SimulatedClock::starting_at(at.parse().unwrap());
        Self::start_tuned(dir, config, |s| s.clock = Arc::new(clock), Router::new()).await
    }

    /// The one place a test server is started: `config` resolved, then `tune`d (a clock or a
    /// payment gateway of the test's own), `extra` routes beside the API.
    pub async fn start_tuned(
        dir: tempfile::TempDir,
        config: Config,
        tune: impl FnOnce(&mut Settings),
        extra: Router<AppState>,
    ) -> TestServer {
        let database_url = config.database_url.clone();
        let mut settings = config.resolve().unwrap();
        tune(&mut settings);
        let clock = settings.clock.simulated().cloned();
        let server = Server::bind_with(settings, extra).await.unwrap();
        let addr = server.local_addr();
        let setup_link = server.setup_link().cloned();
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(server.run_until(async {
            let _ = rx.await;
        }));
        TestServer {
            addr,
            client: reqwest::Client::new(),
            setup_link,
            shutdown: Some(tx),
            task: Some(task),
            dir,
            clock,
            database_url,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A request to `path`, with a bearer token and an Idempotency-Key when given.
    pub fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        key: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let mut req = self.client.request(method, self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(key) = key {
            req = req.header("Idempotency-Key", key);
        }
        req
    }

    /// Sends a [`TestServer::request`], with a JSON body when given.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        key: Option<&str>,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut req = self.request(method, path, token, key);
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().await.unwrap()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.call(Method::GET, path, None, None, None).await
    }

    /// The server's simulated clock (the test's to move).
    pub fn clock(&self) -> &SimulatedClock {
        self.clock
            .as_ref()
            .expect("the server's clock is not simulated")
    }

    pub fn now(&self) -> Timestamp {
        self.clock().now()
    }

    pub fn advance(&self, by: SignedDuration) {
        self.clock().advance(by).unwrap();
    }

    pub fn advance_days(&self, days: i64) {
        self.advance(SignedDuration::from_hours(24 * days));
    }

    /// The server's data directory (its SQLite database, its generated data key).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs SQL behind the server's back: `sqlite` on its SQLite database, or `postgres` on
    /// its PostgreSQL one.
    pub async fn raw_sql(&self, sqlite: &str, postgres: &str) {
        match &self.database_url {
            Some(url) => pg_connect(url).await.batch_execute(postgres).await.unwrap(),
            None => {
                let db = rusqlite::Connection::open(self.data_dir().join("yunshi.db")).unwrap();
                db.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
                db.execute_batch(sqlite).unwrap();
            }
        }
    }

    /// Triggers shutdown and waits for the server to finish; returns the temp dir so a
    /// test can start again on the same data.
    pub async fn stop(mut self) -> tempfile::TempDir {
        self.begin_shutdown();
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        std::mem::replace(&mut self.dir, dir)
    }

    /// Asks for shutdown without waiting.
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    pub async fn finished(mut self) -> Result<(), ServeError> {
        self.task.take().unwrap().await.unwrap()
    }
}

/// A marketplace: a [`TestServer`] whose bootstrap admin token is [`ADMIN_TOKEN`], on a
/// simulated clock the test holds and moves (nothing fires by itself: `/test/fire-due` runs
/// the deadlines), with the test-only routes of [`crate::test_routes::routes`].
pub struct Market {
    server: TestServer,
}

impl Deref for Market {
    type Target = TestServer;

    fn deref(&self) -> &TestServer {
        &self.server
    }
}

impl Market {
    /// On SQLite, under [`RULEBOOK`] from [`START`].
    pub async fn start() -> Market {
        Self::start_with(None, RULEBOOK, START).await
    }

    /// Under `rulebook`, the clock starting at `start`; on `db`, or on SQLite.
    pub async fn start_with(db: Option<&PgDb>, rulebook: &str, start: &str) -> Market {
        Self::start_charging(db, rulebook, start, None).await
    }

    /// [`Market::start_with`] charging payments through `gateway`.
    pub async fn start_charging(
        db: Option<&PgDb>,
        rulebook: &str,
        start: &str,
        gateway: Option<Arc<dyn PaymentGateway>>,
    ) -> Market {
        let dir = tempfile::tempdir().unwrap();
        let mut config = test_config(&dir);
        config.admin_token = Some(ADMIN_TOKEN.into());
        config.clock = ClockMode::Simulated;
        config.start = Some(start.into());
        config.rulebook = rulebook.into();
        config.database_url = db.map(PgDb::url);
        let tune = |s: &mut Settings| s.gateway = gateway;
        let server = TestServer::start_tuned(dir, config, tune, crate::test_routes::routes()).await;
        Market { server }
    }

    pub async fn stop(self) {
        self.server.stop().await;
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> reqwest::Response {
        self.call(Method::POST, path, Some(token), None, Some(body))
            .await
    }

    pub async fn post_key(
        &self,
        path: &str,
        token: &str,
        key: &str,
        body: Value,
    ) -> reqwest::Response {
        self.call(Method::POST, path, Some(token), Some(key), Some(body))
            .await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> reqwest::Response {
        self.call(Method::PUT, path, Some(token), None, Some(body))
            .await
    }

    pub async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.call(Method::GET, path, Some(token), None, None).await
    }

    pub async fn public_get(&self, path: &str) -> reqwest::Response {
        self.server.get(path).await
    }

    /// Runs the deadline runner at the simulated clock's time: its report.
    pub async fn fire_due(&self) -> Value {
        ok(self
            .call(Method::POST, "/test/fire-due", None, None, None)
            .await)
        .await
    }

    /// How many deadlines [`Market::fire_due`] fired.
    pub async fn fired(&self) -> u64 {
        self.fire_due().await["fired"].as_u64().unwrap()
    }

    /// After every step: the trial balance is zero and the escrow account holds exactly what
    /// the held orders hold. Returns the books.
    pub async fn books(&self, step: &str) -> Value {
        let books = ok(self
            .call(Method::GET, "/test/books", None, None, None)
            .await)
        .await;
        assert_eq!(books["trial_balance"], "0", "after {step}: {books}");
        assert_eq!(
            -books["escrow_balance"].as_i64().unwrap(),
            books["held"].as_i64().unwrap(),
            "after {step}: escrow equals the sum of held orders: {books}"
        );
        println!("step ok: {step} — books {books}");
        books
    }
}

/// Asserts an RFC 9457 problem response with `status` and `code`; returns its body.
pub async fn assert_problem(res: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(res.status().as_u16(), status, "status");
    let content_type = res
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let request_id = res
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["type"], format!("urn:yunshi:problem:{code}"), "{body}");
    for member in ["title", "title_zh", "detail", "instance"] {
        assert!(
            body[member].as_str().is_some_and(|s| !s.is_empty()),
            "{member} missing in {body}"
        );
    }
    assert!(
        body["instance"].as_str().unwrap().starts_with('/'),
        "{body}"
    );
    assert_eq!(body["request_id"].as_str(), request_id.as_deref(), "{body}");
    body
}

/// A request to the test server, with an optional bearer token and JSON body.
pub async fn call(
    server: &TestServer,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> reqwest::Response {
    server.call(method, path, token, None, body).await
}

/// The JSON body of a response that must have `status` (the body is shown if not).
pub async fn json_of(res: reqwest::Response, status: u16) -> Value {
    let got = res.status().as_u16();
    let url = res.url().path().to_owned();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert_eq!(got, status, "{url}: {body}");
    body
}

/// The JSON body of a 200 answer.
pub async fn ok(res: reqwest::Response) -> Value {
    json_of(res, 200).await
}

/// An amount such as `"1000.00"` in fen.
pub fn fen(amount: &str) -> i64 {
    amount.parse::<Fen>().unwrap().fen()
}
