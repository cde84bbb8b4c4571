//! The features: HTTP handlers, views and deadline handlers, one folder or file per feature.
//! A feature imports the kernel, the reactions and the core, never another feature
//! (`tests/layering.rs`); routes and deadline handlers are assembled in `lib.rs`.

pub mod accounts;
pub mod admin_clock;
pub mod audit;
pub mod cases;
pub mod catalogue;
pub mod complaints;
pub mod console;
pub mod deliveries;
pub mod deposits;
pub mod evidence;
pub mod exits;
pub mod invoices;
pub mod onboarding;
pub mod orders;
pub mod settlement;
pub mod setup;
pub mod system;
pub mod visibility;
