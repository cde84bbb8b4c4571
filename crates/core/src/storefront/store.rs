//! The store (店铺) aggregate, SPEC §4: opened for an admitted provider, then held by
//! measures that may overlap — a freeze, a block, a closure for unpaid deposit, hiding — until
//! it is closed for good. What the market shows is derived from them ([`super::visibility`]).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::StoreError;
use super::measure::{Block, Freeze};
use super::transfer::{TransferRecord, TransferRequest};
use crate::decision::{Context, Outcome};
use crate::ids::{ProviderId, StoreId};
use crate::provider::Provider;
use crate::rulebook::{ProductCategory, TopUpFailureStep};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Store {
    pub id: StoreId,
    /// The provider holding it now (it changes only by an approved transfer).
    pub provider: ProviderId,
    pub name: String,
    /// A provider may get a store per category (ALI-A 3.3.1); `None` for a general store.
    pub category: Option<ProductCategory>,
    pub opened_at: Timestamp,
    pub freeze: Option<Freeze>,
    pub block: Option<Block>,
    /// Closed since this instant until the deposit is topped up (ALI-R art.13(7)3,
    /// TC 3.1.5③, JD art.9(6)3).
    pub deposit_closure: Option<Timestamp>,
    /// Hidden because the provider is unreachable (ALI-A 3.8.4).
    pub hidden: Option<Hiding>,
    /// Closed for good (exit, expulsion, ban); nothing may change afterwards.
    pub closed: Option<Closure>,
    pub pending_transfer: Option<TransferRequest>,
    pub transfers: Vec<TransferRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hiding {
    pub since: Timestamp,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closure {
    pub at: Timestamp,
    pub reason: ClosureReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClosureReason {
    /// The provider left (ALI-R art.27).
    VoluntaryExit,
    /// The agreement ended without renewal (ALI-R art.26; ALI-A 7.1.4 hides the store).
    TermEnded,
    /// 清退 (ALI-R art.24(4)).
    Expulsion,
    /// 永久查封账户 (TC 8.3).
    AccountBan,
}

pub(crate) type Decided = Result<(Store, Outcome), StoreError>;

impl Store {
    /// Opens a store for an active provider (SPEC §4: an admitted provider gets a store).
    pub fn open(
        provider: &Provider,
        name: &str,
        category: Option<ProductCategory>,
        ctx: &mut Context<'_>,
    ) -> Decided {
        if !provider.is_active() {
            return Err(StoreError::ProviderNotActive);
        }
        let name = name.trim();
        if name.is_empty() {
            return Err(StoreError::NameRequired);
        }
        let store = Store {
            id: StoreId(ctx.ids.next_id()),
            provider: provider.id,
            name: name.to_string(),
            category,
            opened_at: ctx.now,
            freeze: None,
            block: None,
            deposit_closure: None,
            hidden: None,
            closed: None,
            pending_transfer: None,
            transfers: Vec::new(),
        };
        let outcome = Outcome::default().event(
            "store.opened",
            store.subject(),
            json!({ "provider": provider.id, "name": store.name, "category": category }),
        );
        Ok((store, outcome))
    }

    pub(crate) fn subject(&self) -> String {
        format!("store:{}", self.id)
    }

    pub(crate) fn refuse(&self, action: &'static str) -> StoreError {
        StoreError::InvalidTransition {
            action,
            from: self.standing_label(),
        }
    }

    pub(crate) fn require_not_closed(&self, action: &'static str) -> Result<(), StoreError> {
        match self.closed {
            Some(_) => Err(self.refuse(action)),
            None => Ok(()),
        }
    }

    fn with(
        &self,
        change: impl FnOnce(&mut Store),
        kind: &str,
        payload: serde_json::Value,
    ) -> (Store, Outcome) {
        let mut next = self.clone();
        change(&mut next);
        (
            next,
            Outcome::default().event(kind, self.subject(), payload),
        )
    }

    /// Not topped up in time: closed with all display rights until topped up, where the
    /// rulebook has that step (ALI-R art.13(7)3, JD art.9(6)3, TC 3.1.5③). The deposit
    /// slice decides *when*; this only applies it.
    pub fn close_for_deposit(&self, ctx: &mut Context<'_>) -> Decided {
        self.require_not_closed("close for deposit")?;
        let steps = &ctx.rulebook.deposit.on_not_topped_up;
        if !steps.contains(&TopUpFailureStep::CloseStoreUntilToppedUp) {
            return Err(StoreError::MeasureNotInRulebook("close-for-deposit"));
        }
        if self.deposit_closure.is_some() {
            return Err(self.refuse("close for deposit"));
        }
        let now = ctx.now;
        Ok(self.with(
            |s| s.deposit_closure = Some(now),
            "store.closed_for_deposit",
            json!({}),
        ))
    }

    /// The deposit is whole again: the closure ends (the other measures stay as they are).
    pub fn reopen_after_top_up(&self, _ctx: &mut Context<'_>) -> Decided {
        self.require_not_closed("reopen after top-up")?;
        if self.deposit_closure.is_none() {
            return Err(self.refuse("reopen after top-up"));
        }
        Ok(self.with(
            |s| s.deposit_closure = None,
            "store.reopened_after_top_up",
            json!({}),
        ))
    }

    /// The provider cannot be reached: the operator hides the store and its products where
    /// the rulebook allows it (ALI-A 3.8.4; TC annex S10 店铺屏蔽).
    pub fn hide(&self, reason: &str, ctx: &mut Context<'_>) -> Decided {
        self.require_not_closed("hide")?;
        let allowed = ctx
            .rulebook
            .support
            .unreachable
            .as_ref()
            .is_some_and(|u| u.operator_may_hide_store);
        if !allowed {
            return Err(StoreError::MeasureNotInRulebook("hide"));
        }
        if self.hidden.is_some() {
            return Err(self.refuse("hide"));
        }
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(StoreError::ReasonRequired);
        }
        let hiding = Hiding {
            since: ctx.now,
            reason: reason.to_string(),
        };
        let payload = json!({ "reason": reason });
        Ok(self.with(|s| s.hidden = Some(hiding), "store.hidden", payload))
    }

    pub fn unhide(&self, _ctx: &mut Context<'_>) -> Decided {
        self.require_not_closed("unhide")?;
        if self.hidden.is_none() {
            return Err(self.refuse("unhide"));
        }
        Ok(self.with(|s| s.hidden = None, "store.unhidden", json!({})))
    }

    /// Closed for good when the provider leaves or is expelled (ALI-R art.24(4), ALI-A 7.1.4).
    /// Pending lifts become moot, and so does a pending transfer.
    pub fn close(&self, reason: ClosureReason, ctx: &mut Context<'_>) -> Decided {
        self.require_not_closed("close")?;
        let mut cancel = Vec::new();
        if let Some(f) = &self.freeze {
            cancel.push(f.measure.dedupe_key(self.id));
        }
        if let Some(b) = &self.block {
            cancel.push(b.measure.dedupe_key(self.id));
        }
        let closure = Closure {
            at: ctx.now,
            reason,
        };
        let (next, mut outcome) = self.with(
            |s| {
                s.closed = Some(closure);
                s.freeze = None;
                s.block = None;
                s.pending_transfer = None;
            },
            "store.closed",
            json!({ "reason": reason }),
        );
        outcome.cancel = cancel;
        Ok((next, outcome))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::DomainRefusal;
    use crate::provider::testkit::{World, active_provider, submitted};

    #[test]
    fn a_store_opens_only_for_an_active_provider() {
        let mut w = World::new("ali", "2025-06-02T10:00:00+08:00");
        let (applicant, _) = submitted(&mut w);
        let err = Store::open(&applicant, "Acme", None, &mut w.ctx()).unwrap_err();
        assert_eq!(err.code(), "provider_not_active");
        let (p, _) = active_provider(&mut w);
        assert_eq!(
            Store::open(&p, " ", None, &mut w.ctx()).unwrap_err().code(),
            "invalid_name"
        );
        let (store, out) =
            Store::open(&p, "Acme 云", Some(ProductCategory::Image), &mut w.ctx()).unwrap();
        assert_eq!(store.provider, p.id);
        assert_eq!(out.events[0].kind, "store.opened");
        assert_eq!(store.status_label(w.now), "open");
    }

    #[test]
    fn closed_for_unpaid_deposit_until_topped_up() {
        for family in ["ali", "tc", "jd"] {
            let mut w = World::new(family, "2025-06-02T10:00:00+08:00");
            let (p, _) = active_provider(&mut w);
            let (store, _) = Store::open(&p, "Acme", None, &mut w.ctx()).unwrap();
            let (closed, _) = store.close_for_deposit(&mut w.ctx()).unwrap();
            let v = closed.visibility(w.now);
            assert!(
                !v.store_shown && !v.products_shown && !v.may_publish,
                "{family}"
            );
            assert_eq!(closed.status_label(w.now), "closed_for_deposit");
            assert_eq!(
                closed.close_for_deposit(&mut w.ctx()).unwrap_err().code(),
                "invalid_transition"
            );
            let (open, _) = closed.reopen_after_top_up(&mut w.ctx()).unwrap();
            assert!(open.visibility(w.now).store_shown);
        }
    }

    #[test]
    fn hiding_an_unreachable_providers_store_needs_the_rulebook_to_allow_it() {
        let mut ali = World::new("ali", "2025-06-02T10:00:00+08:00");
        let (p, _) = active_provider(&mut ali);
        let (store, _) = Store::open(&p, "Acme", None, &mut ali.ctx()).unwrap();
        let (hidden, _) = store
            .hide("unreachable for 3 days", &mut ali.ctx())
            .unwrap();
        assert!(!hidden.visibility(ali.now).store_shown);
        assert!(
            hidden
                .unhide(&mut ali.ctx())
                .unwrap()
                .0
                .visibility(ali.now)
                .store_shown
        );

        // JD's rulebook has no unreachable-provider measure.
        let mut jd = World::new("jd", "2025-06-02T10:00:00+08:00");
        let (p, _) = active_provider(&mut jd);
        let (store, _) = Store::open(&p, "Acme", None, &mut jd.ctx()).unwrap();
        assert_eq!(
            store.hide("gone", &mut jd.ctx()).unwrap_err().code(),
            "measure_not_in_rulebook"
        );
    }

    #[test]
    fn a_closed_store_stays_closed_and_shows_nothing() {
        let mut w = World::new("ali", "2025-06-02T10:00:00+08:00");
        let (p, _) = active_provider(&mut w);
        let (store, _) = Store::open(&p, "Acme", None, &mut w.ctx()).unwrap();
        let (closed, _) = store.close(ClosureReason::Expulsion, &mut w.ctx()).unwrap();
        let v = closed.visibility(w.now);
        assert!(!v.store_shown && !v.products_shown && !v.may_publish);
        assert_eq!(closed.status_label(w.now), "closed");
        for err in [
            closed
                .close(ClosureReason::VoluntaryExit, &mut w.ctx())
                .unwrap_err(),
            closed.close_for_deposit(&mut w.ctx()).unwrap_err(),
            closed.hide("x", &mut w.ctx()).unwrap_err(),
        ] {
            assert_eq!(err.code(), "invalid_transition");
        }
    }
}
