//! The store when its provider exits (ALI-A 7.1.4: on expiry the operator hides the store;
//! SPEC §13). Expulsion closes it instead ([`Store::close`]).

use serde_json::json;

use super::StoreError;
use super::store::{Hiding, Store};
use crate::decision::{Context, Outcome};

impl Store {
    /// Hides the store for good because its provider left: not shown, its products not
    /// shown, nothing published; a pending transfer is moot. Unlike [`Store::hide`] (an
    /// unreachable provider) this needs no rulebook permission — every rulebook ends
    /// cooperation this way — and a store already hidden stays hidden under the exit reason.
    pub fn hide_on_exit(
        &self,
        reason: &str,
        ctx: &mut Context<'_>,
    ) -> Result<(Store, Outcome), StoreError> {
        self.require_not_closed("hide on exit")?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(StoreError::ReasonRequired);
        }
        let mut next = self.clone();
        next.hidden = Some(Hiding {
            since: self.hidden.as_ref().map_or(ctx.now, |h| h.since),
            reason: reason.to_string(),
        });
        next.pending_transfer = None;
        let outcome = Outcome::default().event(
            "store.hidden_on_exit",
            self.subject(),
            json!({ "reason": reason }),
        );
        Ok((next, outcome))
    }
}

#[cfg(test)]
mod tests {
    use crate::decision::DomainRefusal;
    use crate::provider::testkit::{World, active_provider};
    use crate::storefront::{ClosureReason, Store};

    #[test]
    fn on_exit_the_store_is_hidden_with_its_products_and_publishes_nothing() {
        let mut w = World::new("jd", "2026-07-01T10:00:00+08:00");
        let (p, _) = active_provider(&mut w);
        let (store, _) = Store::open(&p, "云帆官方店", None, &mut w.ctx()).unwrap();
        // JD has no "hide an unreachable provider" measure, but an exit still hides.
        assert_eq!(
            store.hide("失联", &mut w.ctx()).unwrap_err().code(),
            "measure_not_in_rulebook"
        );
        let (hidden, out) = store.hide_on_exit("服务商退出", &mut w.ctx()).unwrap();
        assert_eq!(out.events[0].kind, "store.hidden_on_exit");
        let v = hidden.visibility(w.now);
        assert!(!v.store_shown && !v.products_shown && !v.may_publish);
        assert_eq!(hidden.status_label(w.now), "hidden");
        let (closed, _) = store.close(ClosureReason::Expulsion, &mut w.ctx()).unwrap();
        assert_eq!(
            closed.hide_on_exit("x", &mut w.ctx()).unwrap_err().code(),
            "invalid_transition"
        );
    }
}
