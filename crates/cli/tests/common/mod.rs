//! What the crash tests share: a `yunshi serve` child process on SQLite or a fresh
//! PostgreSQL database, and a read-only look at that database behind the server's back.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The bootstrap administrator's token of every crash-test server.
pub const ADMIN: &str = "crash-test-admin-token-0123456789abcdef";

/// A `yunshi serve` child process.
pub struct Yunshi {
    child: Child,
    pub base: String,
}

impl Yunshi {
    pub async fn start(data: &Path, db: &Target, start: &str) -> Yunshi {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(data.with_extension("log"))
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
        let child = cmd.stdout(Stdio::null()).stderr(log).spawn().unwrap();
        let server = Yunshi {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(res) = client.get(format!("{}/healthz", server.base)).send().await
                && res.status() == 200
            {
                return server;
            }
            assert!(Instant::now() < deadline, "yunshi did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: no shutdown, no flushing, nothing.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Yunshi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The database the server runs on, read directly by the test.
pub enum Target {
    Sqlite(PathBuf),
    Postgres { url: String },
}

impl Target {
    /// A fresh PostgreSQL database on the `YUNSHI_TEST_PG` server, if it is set.
    pub async fn postgres() -> Option<Target> {
        let base = std::env::var("YUNSHI_TEST_PG").ok()?;
        let base = base.trim().trim_end_matches('/').to_owned();
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
