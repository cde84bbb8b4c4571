//! What the crash tests share: a `yunshi serve` child process on SQLite or a fresh
//! PostgreSQL database, and a read-only look at that database behind the server's back.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

/// The bootstrap administrator's token of every crash-test server.
pub const ADMIN: &str = "crash-test-admin-token-0123456789abcdef";

/// A `yunshi serve` child process.
pub struct Yunshi {
    child: Child,
    pub base: String,
    /// The instance id the child printed at start, which its `/healthz` answers with.
    pub instance: String,
}

/// How long a server may take to start (migrations on a slow machine included).
const START_TIMEOUT: Duration = Duration::from_secs(60);

impl Yunshi {
    /// Spawns `yunshi serve` on a free port and waits until `/healthz` answers with the
    /// instance id the child printed: the answer comes from this child, not from another
    /// process on the port (a server from an earlier cycle that was never killed, say).
    pub async fn start(data: &Path, db: &Target, start: &str) -> Yunshi {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log_path = data.with_extension("log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_yunshi"));
        cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(data)
            .args(["--clock", "simulated", "--start", start])
            .env("YUNSHI_ADMIN_TOKEN", ADMIN)
            .env("RUST_LOG", "warn")
            .env_remove("YUNSHI_CONFIG")
            .env_remove("YUNSHI_DATABASE_URL");
        if let Target::Postgres { url, .. } = db {
            cmd.env("YUNSHI_DATABASE_URL", url);
        }
        let mut child = cmd.stdout(Stdio::piped()).stderr(log).spawn().unwrap();
        // The child's standard output, line by line (read to the end, so it never blocks).
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let mut server = Yunshi {
            child,
            base: format!("http://127.0.0.1:{port}"),
            instance: String::new(),
        };
        let deadline = Instant::now() + START_TIMEOUT;
        let exited = |server: &mut Yunshi| {
            if let Some(status) = server.child.try_wait().unwrap() {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                panic!("yunshi exited at start ({status}):\n{}", tail(&log));
            }
        };
        // 1. The id it printed ("yunshi listening on … · instance <id>").
        while server.instance.is_empty() {
            match rx.try_recv() {
                Ok(line) => {
                    if let Some(id) = line.split(" · instance ").nth(1) {
                        server.instance = id.trim().to_owned();
                    }
                }
                Err(std::sync::mpsc::TryRecvError::Empty) => {
                    exited(&mut server);
                    assert!(
                        Instant::now() < deadline,
                        "yunshi printed no instance id in {START_TIMEOUT:?}"
                    );
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                    exited(&mut server);
                    panic!("yunshi closed its standard output without an instance id");
                }
            }
        }
        assert_eq!(
            server.instance.len(),
            32,
            "an instance id: {:?}",
            server.instance
        );
        // 2. `/healthz` answering with that id.
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        loop {
            if let Some(answered) = server.health(&client).await {
                assert_eq!(
                    answered, server.instance,
                    "{} answers /healthz as another process than the child just started",
                    server.base
                );
                return server;
            }
            exited(&mut server);
            assert!(
                Instant::now() < deadline,
                "yunshi did not answer /healthz in {START_TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The instance id `/healthz` answers with, if it answers 200.
    pub async fn health(&self, client: &reqwest::Client) -> Option<String> {
        let res = client
            .get(format!("{}/healthz", self.base))
            .send()
            .await
            .ok()?;
        if res.status() != 200 {
            return None;
        }
        let body: Value = res.json().await.ok()?;
        body["instance"].as_str().map(str::to_owned)
    }

    /// Asserts that `/healthz` still answers as this child.
    pub async fn assert_answers(&self) {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let answered = self.health(&client).await;
        assert_eq!(
            answered.as_deref(),
            Some(self.instance.as_str()),
            "{} does not answer as this test's server",
            self.base
        );
    }

    /// SIGKILL: no shutdown, no flushing, nothing. Returns once the child is gone.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

/// The end of a server log, for a failure message.
fn tail(log: &str) -> &str {
    let mut start = log.len().saturating_sub(4_000);
    while !log.is_char_boundary(start) {
        start += 1;
    }
    &log[start..]
}

/// Runs `test` and fails it if it has not finished within `limit`: a hang (a kill that
/// never came, a server that never answers) is a failure, not a stuck suite. Dropping the
/// test on timeout drops its [`Yunshi`] children, which kills them.
pub async fn within<F: std::future::Future>(limit: Duration, test: F) -> F::Output {
    match tokio::time::timeout(limit, test).await {
        Ok(out) => out,
        Err(_) => panic!("the test did not finish within {limit:?}: it hangs"),
    }
}

impl Drop for Yunshi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The PostgreSQL server this test runs on (a base URL, no database name), by the
/// workspace's one rule (`yunshi_store::testing`): `None`, after saying SKIPPED, when
/// `YUNSHI_TEST_PG` is not set; a failure when `YUNSHI_REQUIRE_PG` is set instead, or when
/// the test's name lacks `postgres` (the runner skips PostgreSQL tests by that name).
pub fn postgres_server() -> Option<String> {
    yunshi_store::testing::postgres_server().unwrap_or_else(|e| panic!("{e}"))
}

/// The database the server runs on, read directly by the test.
pub enum Target {
    Sqlite(PathBuf),
    Postgres { url: String },
}

impl Target {
    /// A fresh PostgreSQL database on the `YUNSHI_TEST_PG` server, or `None` (after a
    /// SKIPPED line) per [`postgres_server`]. Call it from the test's own thread.
    pub async fn postgres() -> Option<Target> {
        let base = postgres_server()?;
        let name = format!(
            "yunshi_crash_{}",
            &uuid::Uuid::now_v7().simple().to_string()[16..]
        );
        connect(&format!("{base}/postgres"))
            .await
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        Some(Target::Postgres {
            url: format!("{base}/{name}"),
        })
    }

    pub async fn open(&self) -> Db {
        match self {
            Target::Sqlite(data) => {
                let conn = rusqlite::Connection::open_with_flags(
                    data.join("yunshi.db"),
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
                )
                .unwrap();
                conn.busy_timeout(Duration::from_secs(5)).unwrap();
                Db::Sqlite(conn)
            }
            Target::Postgres { url } => Db::Postgres(connect(url).await),
        }
    }
}

pub async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// A read-only look at the server's database, behind its back.
pub enum Db {
    Sqlite(rusqlite::Connection),
    Postgres(tokio_postgres::Client),
}

impl Db {
    /// The single BIGINT `sql` answers (the same SQL on both stores).
    pub async fn count(&self, sql: &str) -> i64 {
        match self {
            Db::Sqlite(conn) => conn.query_row(sql, [], |r| r.get(0)).unwrap(),
            Db::Postgres(client) => client.query_one(sql, &[]).await.unwrap().get(0),
        }
    }

    /// The (TEXT, BIGINT) rows `sql` answers, as a map (the same SQL on both stores).
    pub async fn counts(&self, sql: &str) -> std::collections::HashMap<String, i64> {
        match self {
            Db::Sqlite(conn) => {
                let mut stmt = conn.prepare(sql).unwrap();
                stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap()
            }
            Db::Postgres(client) => client
                .query(sql, &[])
                .await
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect(),
        }
    }
}

pub fn data_dir(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("data")
}

const PDF: &[u8] = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01";

/// The public API of a crash-test server, as a test client.
pub struct Api {
    pub client: reqwest::Client,
    pub base: String,
}

impl Api {
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        key: Option<&str>,
        body: Option<Value>,
        expect: u16,
    ) -> Value {
        let mut req = self
            .client
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(key) = key {
            req = req.header("idempotency-key", key);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        assert_eq!(status, expect, "{method} {path}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    pub async fn post(&self, path: &str, token: &str, body: Value, expect: u16) -> Value {
        self.call(Method::POST, path, Some(token), None, Some(body), expect)
            .await
    }

    pub async fn get(&self, path: &str, token: &str) -> Value {
        self.call(Method::GET, path, Some(token), None, None, 200)
            .await
    }

    pub async fn upload(&self, path: &str, token: &str, content_type: &str, bytes: &'static [u8]) {
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(bytes)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "{path}: {}", res.text().await.unwrap());
    }

    /// A user made by the administrator, and an API token for it.
    pub async fn user(&self, email: &str, kind: Value) -> String {
        let made = self
            .post(
                "/api/v1/admin/users",
                ADMIN,
                json!({"email": email, "display_name": email, "kind": kind}),
                201,
            )
            .await;
        let id = made["user"]["id"].as_str().unwrap();
        let token = self
            .post(
                &format!("/api/v1/admin/users/{id}/tokens"),
                ADMIN,
                json!({"label": "crash test"}),
                201,
            )
            .await;
        token["token"].as_str().unwrap().to_owned()
    }
}

/// What [`admit`] made.
pub struct Admitted {
    pub product: String,
    /// The provider's owner (staff), who accepts refunds.
    pub seller: String,
}

/// A provider admitted through onboarding (materials, review, agreement, deposit) with its
/// owner's staff login and one approved one-off image product at `price`, all through the
/// public API; `name` keeps the emails apart.
pub async fn admit(api: &Api, name: &str, price: &str) -> Admitted {
    let reviewer = api
        .user(
            &format!("reviewer@{name}.example"),
            json!({"type": "operator_staff", "roles": ["reviewer"]}),
        )
        .await;
    let isv = api
        .user(
            &format!("owner@{name}-isv.example"),
            json!({"type": "member", "member_kind": "enterprise"}),
        )
        .await;
    let app = api
        .post(
            "/api/v1/onboarding/applications",
            &isv,
            json!({"store_name": format!("{name}官方店")}),
            201,
        )
        .await;
    let app_id = app["application"]["id"].as_str().unwrap().to_owned();
    let provider = app["application"]["provider"].as_str().unwrap().to_owned();
    let missing: Vec<String> = serde_json::from_value(app["missing_materials"].clone()).unwrap();
    for kind in &missing {
        let (content_type, bytes) = if kind == "legal_representative_id" {
            ("image/png", PNG)
        } else {
            ("application/pdf", PDF)
        };
        let path = format!("/api/v1/onboarding/applications/{app_id}/materials?kind={kind}");
        api.upload(&path, &isv, content_type, bytes).await;
    }
    let step = |s: &str| format!("/api/v1/onboarding/applications/{app_id}/{s}");
    let review = |s: &str| format!("/api/v1/admin/onboarding/applications/{app_id}/{s}");
    api.post(&step("submit"), &isv, json!({}), 200).await;
    api.post(&review("review"), &reviewer, json!({}), 200).await;
    let verified = json!({"decision": "verified"});
    api.post(&review("verification"), &reviewer, verified, 200)
        .await;
    let approve = json!({"partner_member": true});
    api.post(&review("approve"), &reviewer, approve, 200).await;
    let agreement = api
        .call(
            Method::GET,
            "/api/v1/onboarding/agreement",
            None,
            None,
            None,
            200,
        )
        .await;
    let accept = json!({"agreement_id": agreement["id"]});
    let accepted = api.post(&step("agreement"), &isv, accept, 200).await;
    let deposit = accepted["deposit_outstanding"].as_str().unwrap().to_owned();
    let paid = api
        .call(
            Method::POST,
            &step("deposit-payments"),
            Some(&isv),
            Some("deposit"),
            Some(json!({"amount": deposit})),
            201,
        )
        .await;
    let store = paid["store"]["store"]["id"].as_str().unwrap().to_owned();
    // Refund acceptance checks provider staff: the operator creates the provider's owner.
    let seller = api
        .user(
            &format!("ops@{name}-isv.example"),
            json!({"type": "provider_staff", "provider_id": provider, "role": "owner"}),
        )
        .await;
    let listing = json!({
        "title": format!("{name}数据备份镜像"),
        "images": ["upload:cover"],
        "attributes": [{"name": "部署方式", "value": "镜像部署"}],
        "description": "稳定可靠的数据备份方案，支持增量备份。",
        "terms": "购买即表示同意本产品服务协议。",
        "delisting_strategy": "下架后已购用户可继续使用至服务期满，数据可随时导出。",
        "open_source": [],
        "own_product_page": format!("https://www.{name}-isv.example/backup"),
        "refund_terms": "担保期内全额退款，担保期外不予退款。"
    });
    let product = api
        .post(
            "/api/v1/products",
            &isv,
            json!({
                "store": store, "category": "image", "sales_mode": "self_sold",
                "pricing": "one_off", "price": price, "refund_policy": "no_refund",
                "content": listing
            }),
            201,
        )
        .await;
    let product = product["id"].as_str().unwrap().to_owned();
    api.post(
        &format!("/api/v1/products/{product}/submit"),
        &isv,
        json!({}),
        200,
    )
    .await;
    api.post(
        &format!("/api/v1/review/listings/{product}/approve"),
        &reviewer,
        json!({"acknowledged": []}),
        200,
    )
    .await;
    Admitted { product, seller }
}
