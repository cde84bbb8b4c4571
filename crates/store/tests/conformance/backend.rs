//! Fresh databases for tests.

use tempfile::TempDir;
use yunshi_store::Store;

/// A migrated store on a fresh database, and what it takes to throw it away.
pub struct TestDb {
    pub store: Store,
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(#[allow(dead_code)] TempDir),
    Pg { admin_url: String, name: String },
}

pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("yunshi.db").display());
    let store = Store::open(&url).await.unwrap();
    store.migrate().await.unwrap();
    TestDb {
        store,
        url,
        cleanup: Cleanup::Dir(dir),
    }
}

/// The PostgreSQL server this test runs on, by the workspace's one rule
/// ([`yunshi_store::testing`]): `None` (after saying SKIPPED) when none is configured and
/// none is required; a failure when one is required, or when the test's name lacks
/// `postgres`. Call it from the test's own thread.
fn postgres_server() -> Option<String> {
    yunshi_store::testing::postgres_server().unwrap_or_else(|e| panic!("{e}"))
}

/// A migrated store on a fresh PostgreSQL database, or `None` per [`postgres_server`].
pub async fn postgres() -> Option<TestDb> {
    let base = postgres_server()?;
    let name = format!("yunshi_t_{}", uuid::Uuid::now_v7().simple());
    let admin_url = format!("{base}/postgres");
    let (client, conn) = tokio_postgres::connect(&admin_url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {base} unreachable: {e}"));
    tokio::spawn(conn);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let url = format!("{base}/{name}");
    let store = Store::open(&url).await.unwrap();
    store.migrate().await.unwrap();
    Some(TestDb {
        store,
        url,
        cleanup: Cleanup::Pg { admin_url, name },
    })
}

impl TestDb {
    pub async fn finish(self) {
        self.store.close().await;
        if let Cleanup::Pg { admin_url, name } = self.cleanup {
            let (client, conn) = tokio_postgres::connect(&admin_url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            client
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await
                .unwrap();
        }
    }

    /// Runs raw SQL behind the store's back (tampering tests).
    pub async fn raw_execute(&self, sql: &str) -> Result<(), String> {
        if self.url.starts_with("postgres") {
            let (client, conn) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
                .await
                .map_err(|e| e.to_string())?;
            tokio::spawn(conn);
            client.batch_execute(sql).await.map_err(|e| {
                e.as_db_error()
                    .map_or_else(|| e.to_string(), |d| d.message().to_string())
            })
        } else {
            let path = self.url.trim_start_matches("sqlite://").to_string();
            let sql = sql.to_string();
            tokio::task::spawn_blocking(move || {
                let conn = rusqlite::Connection::open(path).map_err(|e| e.to_string())?;
                conn.busy_timeout(std::time::Duration::from_secs(5))
                    .map_err(|e| e.to_string())?;
                conn.execute_batch(&sql).map_err(|e| e.to_string())
            })
            .await
            .unwrap()
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.url.starts_with("postgres")
    }
}

/// Declares each story once per backend: `sqlite::NAME` and `postgres::NAME`.
#[macro_export]
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::backend::sqlite().await;
                    super::$name(&db).await;
                    db.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = $crate::backend::postgres().await else { return };
                    super::$name(&db).await;
                    db.finish().await;
                }
            )*
        }
    };
}
