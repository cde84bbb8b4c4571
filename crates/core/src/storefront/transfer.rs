//! Store transfer (店铺转让): "未经云市场书面同意，服务商不得转让其开设的店铺" — only with the
//! operator's consent; afterwards the transferring provider answers jointly for the
//! receiver's store conduct for two years from the transfer (ALI-A 3.3.3). The store changes
//! hands in exactly one place: [`Store::approve_transfer`].

use jiff::civil::Date;
use jiff::{Span, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::StoreError;
use super::store::{Decided, Store};
use crate::decision::{Context, Outcome};
use crate::ids::{ProviderId, UserId};
use crate::provider::Provider;
use crate::time::beijing_date;

/// A transfer waiting for the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferRequest {
    pub to: ProviderId,
    pub requested_by: UserId,
    pub requested_at: Timestamp,
}

/// A completed transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferRecord {
    pub from: ProviderId,
    pub to: ProviderId,
    pub at: Timestamp,
    pub approved_by: UserId,
    /// Last day (Beijing) of the transferor's joint liability; `None` where the rulebook sets
    /// no such liability (TC, JD are silent).
    pub joint_liability_until: Option<Date>,
}

impl TransferRecord {
    /// Whether `from` answers for the store's conduct on `day`.
    pub fn jointly_liable_on(&self, day: Date) -> bool {
        self.joint_liability_until
            .is_some_and(|last| beijing_date(self.at) <= day && day <= last)
    }
}

impl Store {
    /// Providers that answer jointly for the store's conduct on `day` (ALI-A 3.3.3).
    pub fn jointly_liable_on(&self, day: Date) -> Vec<ProviderId> {
        self.transfers
            .iter()
            .filter(|t| t.jointly_liable_on(day))
            .map(|t| t.from)
            .collect()
    }

    /// The holding provider asks to hand the store to `to`, an active provider.
    pub fn request_transfer(
        &self,
        to: &Provider,
        requested_by: UserId,
        ctx: &mut Context<'_>,
    ) -> Decided {
        self.require_not_closed("request a transfer")?;
        if self.pending_transfer.is_some() {
            return Err(StoreError::TransferPending);
        }
        if to.id == self.provider {
            return Err(StoreError::TransferToSelf);
        }
        if !to.is_active() {
            return Err(StoreError::ProviderNotActive);
        }
        let request = TransferRequest {
            to: to.id,
            requested_by,
            requested_at: ctx.now,
        };
        let mut next = self.clone();
        next.pending_transfer = Some(request);
        let outcome = Outcome::default().event(
            "store.transfer_requested",
            self.subject(),
            json!({ "from": self.provider, "to": to.id, "requested_by": requested_by }),
        );
        Ok((next, outcome))
    }

    /// The operator consents: the store passes to the receiver (still active), and the
    /// transferor's joint liability runs for the rulebook's years. "自转让之日起两年内": from the
    /// transfer day, the start day not counted, so it ends on the anniversary.
    pub fn approve_transfer(
        &self,
        receiver: &Provider,
        operator: UserId,
        ctx: &mut Context<'_>,
    ) -> Decided {
        self.require_not_closed("approve a transfer")?;
        let Some(request) = &self.pending_transfer else {
            return Err(StoreError::TransferNotRequested);
        };
        if receiver.id != request.to {
            return Err(StoreError::TransferReceiverMismatch);
        }
        if !receiver.is_active() {
            return Err(StoreError::ProviderNotActive);
        }
        let joint_liability_until = match ctx.rulebook.exit.store_transfer_liability_years {
            Some(years) => Some(
                beijing_date(ctx.now)
                    .checked_add(Span::new().years(i64::from(years)))
                    .map_err(|_| StoreError::DateOutOfRange)?,
            ),
            None => None,
        };
        let record = TransferRecord {
            from: self.provider,
            to: receiver.id,
            at: ctx.now,
            approved_by: operator,
            joint_liability_until,
        };
        let outcome = Outcome::default().event(
            "store.transferred",
            self.subject(),
            json!({ "transfer": record }),
        );
        let mut next = self.clone();
        next.provider = receiver.id;
        next.pending_transfer = None;
        next.transfers.push(record);
        Ok((next, outcome))
    }

    /// The operator refuses; the store stays where it is.
    pub fn reject_transfer(
        &self,
        reason: &str,
        operator: UserId,
        _ctx: &mut Context<'_>,
    ) -> Decided {
        let Some(request) = &self.pending_transfer else {
            return Err(StoreError::TransferNotRequested);
        };
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(StoreError::ReasonRequired);
        }
        let outcome = Outcome::default().event(
            "store.transfer_rejected",
            self.subject(),
            json!({ "to": request.to, "reason": reason, "operator": operator }),
        );
        let mut next = self.clone();
        next.pending_transfer = None;
        Ok((next, outcome))
    }

    /// The holding provider takes its request back before the operator decides.
    pub fn withdraw_transfer(&self, _ctx: &mut Context<'_>) -> Decided {
        let Some(request) = &self.pending_transfer else {
            return Err(StoreError::TransferNotRequested);
        };
        let outcome = Outcome::default().event(
            "store.transfer_withdrawn",
            self.subject(),
            json!({ "to": request.to }),
        );
        let mut next = self.clone();
        next.pending_transfer = None;
        Ok((next, outcome))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::DomainRefusal;
    use crate::provider::testkit::{World, active_provider, ts};

    fn two_providers_and_a_store(w: &mut World) -> (Provider, Provider, Store) {
        let (a, _) = active_provider(w);
        let (b, _) = active_provider(w);
        let (store, _) = Store::open(&a, "Acme", None, &mut w.ctx()).unwrap();
        (a, b, store)
    }

    #[test]
    fn transfer_needs_operator_consent_and_leaves_the_transferor_liable_for_two_years() {
        let mut w = World::new("ali", "2025-06-02T10:00:00+08:00");
        let (a, b, store) = two_providers_and_a_store(&mut w);
        let operator = w.user();
        assert_eq!(
            store
                .approve_transfer(&b, operator, &mut w.ctx())
                .unwrap_err()
                .code(),
            "transfer_not_requested"
        );
        let staff = w.user();
        let (pending, _) = store.request_transfer(&b, staff, &mut w.ctx()).unwrap();
        // Asking does not move the store.
        assert_eq!(pending.provider, a.id);
        assert_eq!(
            pending
                .approve_transfer(&a, operator, &mut w.ctx())
                .unwrap_err()
                .code(),
            "transfer_receiver_mismatch"
        );
        let (moved, out) = pending
            .approve_transfer(&b, operator, &mut w.ctx())
            .unwrap();
        assert_eq!(moved.provider, b.id);
        assert_eq!(out.events[0].kind, "store.transferred");
        let record = &moved.transfers[0];
        assert_eq!(
            record.joint_liability_until,
            Some("2027-06-02".parse().unwrap())
        );
        assert_eq!(
            moved.jointly_liable_on("2027-06-02".parse().unwrap()),
            [a.id]
        );
        assert!(
            moved
                .jointly_liable_on("2027-06-03".parse().unwrap())
                .is_empty()
        );
    }

    #[test]
    fn a_rejected_transfer_leaves_the_store_with_its_provider() {
        let mut w = World::new("ali", "2025-06-02T10:00:00+08:00");
        let (a, b, store) = two_providers_and_a_store(&mut w);
        let staff = w.user();
        let (pending, _) = store.request_transfer(&b, staff, &mut w.ctx()).unwrap();
        assert_eq!(
            pending
                .request_transfer(&b, staff, &mut w.ctx())
                .unwrap_err()
                .code(),
            "transfer_pending"
        );
        let operator = w.user();
        assert_eq!(
            pending
                .reject_transfer("", operator, &mut w.ctx())
                .unwrap_err()
                .code(),
            "reason_required"
        );
        let (kept, _) = pending
            .reject_transfer("receiver lacks the category", operator, &mut w.ctx())
            .unwrap();
        assert_eq!(kept.provider, a.id);
        assert!(kept.pending_transfer.is_none() && kept.transfers.is_empty());
    }

    #[test]
    fn a_store_goes_only_to_another_active_provider() {
        let mut w = World::new("tc", "2025-06-02T10:00:00+08:00");
        let (a, b, store) = two_providers_and_a_store(&mut w);
        let staff = w.user();
        assert_eq!(
            store
                .request_transfer(&a, staff, &mut w.ctx())
                .unwrap_err()
                .code(),
            "invalid_transfer"
        );
        let (gone, _) = b.exit(true, &mut w.ctx()).unwrap();
        assert_eq!(
            store
                .request_transfer(&gone, staff, &mut w.ctx())
                .unwrap_err()
                .code(),
            "provider_not_active"
        );
        // TC sets no joint liability period.
        let (pending, _) = store.request_transfer(&b, staff, &mut w.ctx()).unwrap();
        w.now = ts("2025-06-03T10:00:00+08:00");
        let operator = w.user();
        assert_eq!(
            pending
                .approve_transfer(&gone, operator, &mut w.ctx())
                .unwrap_err()
                .code(),
            "provider_not_active"
        );
        let (moved, _) = pending
            .approve_transfer(&b, operator, &mut w.ctx())
            .unwrap();
        assert_eq!(moved.transfers[0].joint_liability_until, None);
    }
}
