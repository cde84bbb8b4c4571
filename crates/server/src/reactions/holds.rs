//! What holds a provider's settlement (SPEC §11): open complaints, open violation cases and
//! overdue invoices — read across the three for the settlement run and the holds view.

use crate::kernel::problem::Problem;
use crate::kernel::repo::COMPLAINT;
use crate::kernel::repo::INVOICE;
use crate::kernel::state::AppState;
use crate::kernel::views::CaseView;
use crate::kernel::views::{HeldComplaint, HoldsView};
use uuid::Uuid;
use yunshi_core::complaint::{Complaint, ComplaintStatus};
use yunshi_core::governance::Case;
use yunshi_core::ids::ProviderId;
use yunshi_core::invoice::InvoiceStatus;

/// What holds a provider's settlement now: its open complaints, open violation cases and
/// invoice breaches (ALI-A 2.3.5, 4.3.5) — the settlement run applies the same holds — and
/// the amount held back.
pub async fn provider_holds(state: &AppState, pid: ProviderId) -> Result<HoldsView, Problem> {
    let owner = pid.to_string();
    let mut open_complaints = Vec::new();
    for status in ComplaintStatus::OPEN {
        let open = crate::kernel::pipeline::all_aggregates(
            &state.store,
            COMPLAINT,
            Some(&owner),
            Some(status.label()),
        )
        .await?;
        for a in open {
            let c: Complaint = serde_json::from_value(a.state).map_err(|e| {
                Problem::internal(format!("stored complaint does not read back: {e}"))
            })?;
            open_complaints.push(HeldComplaint {
                complaint_id: c.id,
                order_id: c.order.uuid(),
                status: c.status.label().to_string(),
                opened_at: c.opened_at,
            });
        }
    }
    open_complaints.sort_by_key(|h| h.complaint_id);
    let mut open_cases = Vec::new();
    for a in crate::kernel::repo::all_owned(state, crate::kernel::repo::CASE, &owner).await? {
        let c: Case = serde_json::from_value(a.state)
            .map_err(|e| Problem::internal(format!("stored case does not read back: {e}")))?;
        if c.status.is_open() {
            open_cases.push(CaseView::of(&c));
        }
    }
    let invoice_breaches = crate::reactions::holds::provider_invoice_breaches(state, pid).await?;
    let held_amount = state
        .store
        .balance(&yunshi_core::ledger::Account::new(
            yunshi_core::ledger::AccountKind::SettlementPayable,
            owner.clone(),
        ))
        .await?
        .checked_neg()
        .map_err(Problem::internal)?;
    Ok(HoldsView {
        provider_id: pid.uuid(),
        on_hold: !open_complaints.is_empty()
            || !open_cases.is_empty()
            || !invoice_breaches.is_empty(),
        open_complaints,
        open_cases,
        invoice_breaches,
        held_amount,
        at: state.clock.now(),
    })
}

/// The open invoice requests of `provider` in breach of the issue deadline (ALI-R art.17(1)):
/// the settlement run treats each as a hold.
/// Every provider's invoice requests in breach: (provider, request), for the settlement run.
pub async fn invoice_breaches(state: &AppState) -> Result<Vec<(ProviderId, Uuid)>, Problem> {
    let overdue = crate::kernel::pipeline::all_aggregates(
        &state.store,
        INVOICE,
        None,
        Some(InvoiceStatus::Overdue.label()),
    )
    .await?;
    overdue
        .into_iter()
        .map(|a| {
            let provider = a.owner.parse::<ProviderId>().map_err(Problem::internal)?;
            Ok((provider, a.id))
        })
        .collect()
}

pub async fn provider_invoice_breaches(
    state: &AppState,
    provider: ProviderId,
) -> Result<Vec<Uuid>, Problem> {
    let overdue = crate::kernel::pipeline::all_aggregates(
        &state.store,
        INVOICE,
        Some(&provider.to_string()),
        Some(InvoiceStatus::Overdue.label()),
    )
    .await?;
    Ok(overdue.into_iter().map(|a| a.id).collect())
}
