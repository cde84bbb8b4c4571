//! The reactions: every effect of a decision on aggregates other than the one decided,
//! applied in the same `WriteBatch` as the decision. A feature calls the reaction; a
//! reaction names only the kernel and the core, never a feature (`tests/api/layering.rs`).
//!
//! | reaction | when | what it changes |
//! |---|---|---|
//! | [`penalties`] | a violation case becomes final, or a measure is stacked on it | the violation record, the provider (expelled, banned), its stores (frozen, blocked, hidden, closed), its products (delisted), the deposit (deducted, extra required), and on expulsion [`exit`] |
//! | [`deposit`] | a deposit is deducted (violation, stacked measure) or a deposit decision closes or reopens stores | the deposit account and its top-up, the provider's stores |
//! | [`exit`] | a provider exits or is expelled; a provider is admitted | its unfinished orders (refunded, refund task, cancelled), its tenure, the public exit notice; a new tenure |
//! | [`order_written`] | an order is written with a refund | the order's invoice request (a task to reissue or deduct) |
//! | [`complaint_case`] | a complaint is escalated | a violation case opened in the complaint's batch |
//! | [`saas`] | a SaaS delivery is dead-lettered or repaired | the product's visibility standing deadline |
//! | [`holds`] | a settlement run, a provider's holds view | (reads) open complaints, open cases, overdue invoices that hold a settlement |

pub mod complaint_case;
pub mod deposit;
pub mod exit;
pub mod holds;
pub mod order_written;
pub mod penalties;
pub mod saas;
