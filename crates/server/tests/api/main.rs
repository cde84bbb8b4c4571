//! The server over real HTTP, on a real database (SQLite in a temporary directory; PostgreSQL
//! when `YUNSHI_TEST_PG` names one).

// Test code: a failed unwrap is a failed test. (clippy.toml's allow-*-in-tests covers only
// `#[test]` functions, not the helpers they share.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;

mod accounts;
mod audit;
mod auth;
mod cases;
mod catalogue;
mod clock;
mod complaints;
mod console;
mod deadlines;
mod deliveries;
mod deposits;
mod docs;
mod evidence;
mod exits;
mod health;
mod invoices;
mod journey;
mod layering;
mod lifecycle;
mod money;
mod onboarding;
mod orders;
mod payments;
mod postgres;
mod problems;
mod settlement;
mod test_routes;
mod tls;
mod visibility;
