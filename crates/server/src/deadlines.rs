//! Stored deadlines and who fires them. Each feature module lists the deadline kinds it owns
//! with a handler; a handler loads what the deadline is about, lets the core decide, and
//! commits the decision in a batch that also marks the deadline fired — so a deadline fires
//! exactly once even when several workers or a retry race for it.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use yunshi_store::Deadline;

use crate::AppState;
use crate::problem::Problem;

pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<(), Problem>> + Send>>;

/// Fires one due deadline. `Deadline.id` must go into the batch's `fire` list; a
/// `DeadlineNotPending` answer means another worker fired it first, which is success.
pub type Handler = fn(AppState, Deadline) -> HandlerFuture;

/// Every module's handlers by deadline kind.
pub fn registry() -> HashMap<&'static str, Handler> {
    [
        crate::onboarding::DEADLINES,
        crate::orders::DEADLINES,
        crate::deliveries::DEADLINES,
    ]
    .into_iter()
    .flatten()
    .map(|&(kind, handler)| (kind, handler))
    .collect()
}
