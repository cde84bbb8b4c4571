//! Whether a PostgreSQL test runs: the one rule that every test crate of the workspace
//! (this crate's conformance suite, the server's API tests, the CLI's tests) follows.
//!
//! - `YUNSHI_TEST_PG` names a server (`postgres://USER@HOST:PORT`) → the test runs on it,
//!   on a fresh database of its own;
//! - it does not, and `YUNSHI_REQUIRE_PG` is set (CI sets it, through `scripts/test`) → the
//!   test fails, saying that PostgreSQL is required;
//! - neither → the test says SKIPPED and passes. The test runner does not run it at all
//!   then: `.config/nextest.toml` filters out every test with `postgres` in its name, so
//!   the runner counts the PostgreSQL tests as skipped, by name.
//!
//! So every test that needs PostgreSQL has `postgres` in its name, and no other test does;
//! [`postgres_server`] checks the first half for every test that asks it.
//!
//! Built only with the `test-support` feature, which only dev-dependencies turn on: it is
//! never part of a release build.

/// The variable naming the PostgreSQL server the tests use.
pub const SERVER_VAR: &str = "YUNSHI_TEST_PG";
/// The variable that makes a missing PostgreSQL server a failure instead of a skip.
pub const REQUIRE_VAR: &str = "YUNSHI_REQUIRE_PG";

/// Why a PostgreSQL test must fail instead of running or skipping.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotRunnable {
    #[error(
        "PostgreSQL is required ({REQUIRE_VAR} is set) but {SERVER_VAR} names no server: \
         set {SERVER_VAR}=postgres://USER@HOST:PORT, or unset {REQUIRE_VAR} to skip the \
         PostgreSQL tests"
    )]
    Required,
    #[error(
        "test {0:?} needs PostgreSQL but has no `postgres` in its name, so the test runner \
         cannot skip it by name when there is no PostgreSQL: rename it"
    )]
    Misnamed(String),
}

/// The PostgreSQL server the calling test runs on (a base URL without a database name,
/// such as `postgres://root@127.0.0.1:5432`), `None` when the test is to be skipped (after
/// saying SKIPPED), or why the test must fail instead. Call it from the test's own thread
/// (the body of a `#[test]` or `#[tokio::test]`, not a spawned task) so that the test's name
/// is checked.
pub fn postgres_server() -> Result<Option<String>, NotRunnable> {
    let thread = std::thread::current();
    let test = thread.name();
    let decision = decide(
        std::env::var(SERVER_VAR).ok().as_deref(),
        std::env::var_os(REQUIRE_VAR).is_some_and(|v| !v.is_empty()),
        test,
    );
    if let Ok(None) = decision {
        eprintln!(
            "SKIPPED: {} needs PostgreSQL and {SERVER_VAR} is not set",
            test.unwrap_or("this test")
        );
    }
    decision
}

/// The rule itself, on the variables' values and the test's name (its thread's name, when
/// the test harness named the thread after the test).
fn decide(
    server: Option<&str>,
    required: bool,
    test: Option<&str>,
) -> Result<Option<String>, NotRunnable> {
    if let Some(name) = test
        && names_a_test(name)
        && !name.contains("postgres")
    {
        return Err(NotRunnable::Misnamed(name.to_owned()));
    }
    match server.map(str::trim).filter(|s| !s.is_empty()) {
        Some(url) => Ok(Some(server_base(url))),
        None if required => Err(NotRunnable::Required),
        None => Ok(None),
    }
}

/// Whether a thread's name is a test's: the test harness names each test's thread after the
/// test; the main thread and a runtime's worker threads say nothing about the test.
fn names_a_test(thread: &str) -> bool {
    thread != "main" && !thread.starts_with("tokio-")
}

/// `url` without a database name or trailing slash: the server the tests create their
/// databases on.
fn server_base(url: &str) -> String {
    let url = url.trim_end_matches('/');
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('/') {
            Some((authority, _database)) => format!("{scheme}://{authority}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PG: &str = "postgres://root@127.0.0.1:5432";

    #[test]
    fn a_named_server_runs_the_test_whatever_else_is_set() {
        for required in [false, true] {
            assert_eq!(
                decide(Some(PG), required, Some("stories::pg_on_postgres")),
                Ok(Some(PG.to_owned()))
            );
        }
    }

    #[test]
    fn no_server_skips_unless_required_then_fails() {
        for server in [None, Some(""), Some("  ")] {
            assert_eq!(decide(server, false, Some("x_on_postgres")), Ok(None));
            assert_eq!(
                decide(server, true, Some("x_on_postgres")),
                Err(NotRunnable::Required)
            );
        }
        let message = NotRunnable::Required.to_string();
        assert!(message.contains("PostgreSQL is required"), "{message}");
    }

    #[test]
    fn a_test_needing_the_server_without_its_name_saying_so_fails_even_when_it_would_run() {
        for server in [None, Some(PG)] {
            assert_eq!(
                decide(server, false, Some("orders::refunds_on_pg")),
                Err(NotRunnable::Misnamed("orders::refunds_on_pg".into()))
            );
        }
        // Threads that are not the test's own say nothing about its name.
        for thread in [None, Some("main"), Some("tokio-runtime-worker")] {
            assert_eq!(decide(Some(PG), false, thread), Ok(Some(PG.to_owned())));
        }
    }

    /// `--ignore-default-filter` runs the PostgreSQL tests under `YUNSHI_REQUIRE_PG`, where
    /// they fail without a server; a plain run leaves them out by name, and fails here.
    #[test]
    fn a_required_server_is_named() {
        let server = std::env::var(SERVER_VAR).ok();
        let required = std::env::var_os(REQUIRE_VAR).is_some_and(|v| !v.is_empty());
        if let Err(e) = decide(server.as_deref(), required, None) {
            panic!("{e}");
        }
    }

    #[test]
    fn the_server_base_drops_a_database_name_and_trailing_slashes() {
        for url in [
            PG,
            "postgres://root@127.0.0.1:5432/",
            "postgres://root@127.0.0.1:5432/other",
            " postgres://root@127.0.0.1:5432/other/ ",
        ] {
            assert_eq!(decide(Some(url), false, None), Ok(Some(PG.to_owned())));
        }
    }
}
