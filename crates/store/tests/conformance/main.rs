//! One conformance suite, run against every backend: each story below is a `#[tokio::test]`
//! per backend (`sqlite::NAME`, `postgres::NAME`). SQLite runs in a temporary directory.
//! PostgreSQL runs when `YUNSHI_TEST_PG` names a server (e.g.
//! `postgres://root@127.0.0.1:5432`): every test gets a fresh database, dropped at the end.
//! Without it the PostgreSQL tests are skipped — unless `YUNSHI_REQUIRE_PG` is set (CI),
//! where a missing server fails them: the workspace's one rule, `yunshi_store::testing`.

// A test binary: failing loudly is its job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod aggregates;
mod backend;
mod files;
mod ledger_property;
mod sqlite_only;
mod stories;
