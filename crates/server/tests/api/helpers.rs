use std::net::SocketAddr;

use axum::Router;
use reqwest::header::CONTENT_TYPE;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use yunshi_server::{AppState, Config, ServeError, Server, SetupLink};

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";

pub struct TestServer {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub setup_link: Option<SetupLink>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), ServeError>>>,
    pub dir: tempfile::TempDir,
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

/// A scenario as two tests: `$sqlite` runs it on SQLite, `$pg` on a fresh PostgreSQL
/// database (see [`postgres_server`]; its name must say `postgres`). `Market` is the calling
/// module's: it has `start_with(None, rulebook, start)`, `postgres_with(rulebook, start)`
/// (`None` to skip) and `stop()`.
macro_rules! on_both {
    ($scenario:ident, $rulebook:expr, $start:expr, $sqlite:ident, $pg:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $sqlite() {
            let m = Market::start_with(None, $rulebook, $start).await;
            $scenario(&m).await;
            m.stop().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $pg() {
            let Some(m) = Market::postgres_with($rulebook, $start).await else {
                return;
            };
            $scenario(&m).await;
            m.stop().await;
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
        let settings = config.resolve().unwrap();
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
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// Triggers shutdown and waits for the server to finish; returns the temp dir so a
    /// test can start again on the same data.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
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

/// Asserts an RFC 9457 problem response with `status` and `code`; returns its body.
pub async fn assert_problem(res: reqwest::Response, status: u16, code: &str) -> serde_json::Value {
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
    let body: serde_json::Value = res.json().await.unwrap();
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
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<serde_json::Value>,
) -> reqwest::Response {
    let mut req = server.client.request(method, server.url(path));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.unwrap()
}

/// The JSON body of a response that must have `status` (the body is shown if not).
pub async fn json_of(res: reqwest::Response, status: u16) -> serde_json::Value {
    let got = res.status().as_u16();
    let url = res.url().path().to_owned();
    let body: serde_json::Value = res.json().await.unwrap_or(serde_json::Value::Null);
    assert_eq!(got, status, "{url}: {body}");
    body
}
