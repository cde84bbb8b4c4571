//! The kernel: what every feature stands on and nothing above it — the application state,
//! the one write pipeline, aggregate repositories, the deadline runner, idempotency,
//! authentication and problem documents. A kernel module never names a feature or a reaction
//! (`tests/layering.rs`).

pub mod agreement;
pub mod amount;
pub mod auth;
pub mod books;
pub mod clock;
pub mod config;
pub mod context;
pub mod deadlines;
pub mod egress;
pub mod files;
pub mod gateway;
pub mod idempotency;
pub mod metrics;
pub mod parties;
pub mod pipeline;
pub mod principal_cache;
pub mod private_files;
pub mod problem;
pub mod repo;
pub mod rulebooks;
pub mod sealing;
pub mod sha256;
pub mod state;
pub mod throttle;
pub mod views;
