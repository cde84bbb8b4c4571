//! The aggregates as the server stores them: one place per aggregate kind for its kind name,
//! its stored record, how it is loaded and how it is written.

pub mod accounts;
pub mod cases;
pub mod deliveries;
pub mod exits;
pub mod invoices;
pub mod orders;
pub mod products;
pub mod providers;
pub mod settlement;

use yunshi_store::StoredAggregate;

use crate::kernel::pipeline::all_aggregates;
use crate::kernel::problem::Problem;
use crate::kernel::state::AppState;

// The aggregate kinds one feature writes and others read (the shared kinds with a record of
// their own have a module above).

// Violation cases and each provider's violation record.
/// Aggregate kind of violation cases.
pub const CASE: &str = "violation_case";
/// Aggregate kind of a provider's violation record (points, deductions).
pub const RECORD: &str = "violation_record";

// Complaints, and the buyer's index of them.
/// Aggregate kind of complaints.
pub const COMPLAINT: &str = "complaint";
/// Aggregate kind of the buyer index of complaints.
pub const BUYER_COMPLAINT: &str = "buyer_complaint";

// Deposit accounts.
/// Aggregate kind of a provider's deposit account (id = the provider's id).
pub const DEPOSIT_ACCOUNT: &str = "deposit_account";

// Invoice requests, and the buyer's index of them.
/// Aggregate kind of invoice requests.
pub const INVOICE: &str = "invoice_request";
/// Aggregate kind of the buyer index of invoice requests.
pub const BUYER_INVOICE: &str = "buyer_invoice";

// Settlement.
/// Aggregate kind of monthly settlement statements.
pub const STATEMENT: &str = "statement";
/// Aggregate kind of payouts to a provider.
pub const PAYOUT: &str = "payout";
/// Aggregate kind of a provider's receiving account.
pub const PAYEE: &str = "payee_account";
/// Aggregate kind of a provider's fee agreement.
pub const FEE_AGREEMENT: &str = "fee_agreement";

// Exits.
/// Aggregate kind of a provider's tenure (the core's `Tenure`).
pub const TENURE: &str = "provider_tenure";
/// Aggregate kind of public exit notices.
pub const EXIT_NOTICE: &str = "exit_notice";
/// Aggregate kind of refund tasks of partly delivered orders.
pub const EXIT_TASK: &str = "exit_refund_task";

/// Every aggregate of `kind` owned by `owner`.
pub async fn all_owned(
    state: &AppState,
    kind: &str,
    owner: &str,
) -> Result<Vec<StoredAggregate>, Problem> {
    crate::kernel::pipeline::all_aggregates(&state.store, kind, Some(owner), None).await
}

/// Every aggregate of `kind`, optionally with `status`.
pub async fn all_of_kind(
    state: &AppState,
    kind: &str,
    status: Option<String>,
) -> Result<Vec<StoredAggregate>, Problem> {
    crate::kernel::pipeline::all_aggregates(&state.store, kind, None, status.as_deref()).await
}

/// Every aggregate of `kind` (owned by `owner`, with `status`, where given), read as `T`.
pub async fn read_all<T: serde::de::DeserializeOwned>(
    state: &AppState,
    kind: &str,
    owner: Option<&str>,
    status: Option<&str>,
) -> Result<Vec<T>, Problem> {
    all_aggregates(&state.store, kind, owner, status)
        .await?
        .into_iter()
        .map(|a| {
            serde_json::from_value(a.state)
                .map_err(|e| Problem::internal(format!("stored {kind} does not read back: {e}")))
        })
        .collect()
}
