//! Time-limited penalty measures on a store: the freeze (ALI 店铺冻结 / JD 服务冻结, ALI-R
//! art.24(2), JD art.20(2)) and TC's block with publishing restriction (店铺屏蔽、限制发布产品,
//! TC annex). Each ends by a stored deadline; the shell fires it and calls
//! [`Store::lift_measure`], which is harmless to call twice.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::StoreError;
use super::store::{ClosureReason, Decided, Store};
use crate::decision::{Context, DeadlineRequest, Outcome};
use crate::ids::StoreId;
use crate::rulebook::{Action, ExtraMeasure, FreezeScope, MarketplaceRulebook};

/// Deadline kinds the shell stores.
pub const FREEZE_ENDS: &str = "store.freeze_ends";
pub const BLOCK_ENDS: &str = "store.block_ends";

/// One imposed period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measure {
    pub id: Uuid,
    pub from: Timestamp,
    pub until: Timestamp,
    /// The violation case (or other ground) it comes from.
    pub case: String,
}

impl Measure {
    pub fn in_force_at(&self, at: Timestamp) -> bool {
        self.from <= at && at < self.until
    }

    pub fn dedupe_key(&self, store: StoreId) -> String {
        format!("store:{store}:measure:{}", self.id)
    }
}

/// A freeze and what it hides, fixed by the rulebook in force when imposed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Freeze {
    pub measure: Measure,
    pub scope: FreezeScope,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    pub measure: Measure,
}

/// "为时N天" / "冻结N天": N whole days from the moment imposed.
pub fn measure_end(from: Timestamp, days: u32) -> Result<Timestamp, StoreError> {
    from.checked_add(SignedDuration::from_hours(i64::from(days) * 24))
        .map_err(|_| StoreError::DateOutOfRange)
}

/// Whether the rulebook knows TC's block: a table row blocks, or publishing restriction is
/// among its measures (TC 7.2).
fn rulebook_blocks(rulebook: &MarketplaceRulebook) -> bool {
    rulebook
        .violation
        .iter()
        .any(|r| matches!(r.action, Action::BlockAndRestrict(_)))
        || rulebook
            .penalties
            .extra_measures
            .contains(&ExtraMeasure::PublishingRestriction)
}

impl Store {
    /// A new measure running to `until`, or to the end of the one in force if that is later:
    /// overlapping penalties never shorten each other. The old deadline is replaced.
    fn new_measure(
        &self,
        current: Option<&Measure>,
        until: Timestamp,
        case: &str,
        ctx: &mut Context<'_>,
    ) -> Result<(Measure, Vec<String>), StoreError> {
        if until <= ctx.now {
            return Err(StoreError::EndNotInFuture);
        }
        let case = case.trim();
        if case.is_empty() {
            return Err(StoreError::ReasonRequired);
        }
        let mut cancel = Vec::new();
        let mut end = until;
        if let Some(old) = current {
            cancel.push(old.dedupe_key(self.id));
            if old.in_force_at(ctx.now) {
                end = end.max(old.until);
            }
        }
        let measure = Measure {
            id: ctx.ids.next_id(),
            from: ctx.now,
            until: end,
            case: case.to_string(),
        };
        Ok((measure, cancel))
    }

    fn measure_outcome(
        &self,
        kind: &str,
        deadline: &str,
        measure: &Measure,
        cancel: Vec<String>,
    ) -> Outcome {
        let mut outcome =
            Outcome::default().event(kind, self.subject(), json!({ "measure": measure }));
        outcome.schedule.push(DeadlineRequest {
            kind: deadline.to_string(),
            subject: self.subject(),
            due_at: measure.until,
            payload: json!({ "measure": measure.id }),
            dedupe_key: measure.dedupe_key(self.id),
        });
        outcome.cancel = cancel;
        outcome
    }

    /// Freezes until `until`. What is hidden is the rulebook's `freeze_scope` (ALI: store and
    /// products; JD: products only); a rulebook without one (TC) has no freeze.
    pub fn freeze(&self, until: Timestamp, case: &str, ctx: &mut Context<'_>) -> Decided {
        self.require_not_closed("freeze")?;
        let Some(scope) = ctx.rulebook.penalties.freeze_scope else {
            return Err(StoreError::MeasureNotInRulebook("freeze"));
        };
        let current = self.freeze.as_ref().map(|f| &f.measure);
        let (measure, cancel) = self.new_measure(current, until, case, ctx)?;
        let outcome = self.measure_outcome("store.frozen", FREEZE_ENDS, &measure, cancel);
        let mut next = self.clone();
        next.freeze = Some(Freeze { measure, scope });
        Ok((next, outcome))
    }

    /// Blocks the store and restricts publishing until `until` (TC annex: 店铺屏蔽、限制发布产品).
    pub fn block(&self, until: Timestamp, case: &str, ctx: &mut Context<'_>) -> Decided {
        self.require_not_closed("block")?;
        if !rulebook_blocks(ctx.rulebook) {
            return Err(StoreError::MeasureNotInRulebook("block"));
        }
        let current = self.block.as_ref().map(|b| &b.measure);
        let (measure, cancel) = self.new_measure(current, until, case, ctx)?;
        let outcome = self.measure_outcome("store.blocked", BLOCK_ENDS, &measure, cancel);
        let mut next = self.clone();
        next.block = Some(Block { measure });
        Ok((next, outcome))
    }

    /// Applies a violation-table action (SPEC §9) to the store: freeze or block for its days
    /// from now, close on expulsion or ban. Actions on single products (hide and delist) and
    /// "none" leave the store as it is.
    pub fn apply_action(&self, action: Action, case: &str, ctx: &mut Context<'_>) -> Decided {
        match action {
            Action::Freeze(days) => self.freeze(measure_end(ctx.now, days)?, case, ctx),
            Action::BlockAndRestrict(days) => self.block(measure_end(ctx.now, days)?, case, ctx),
            Action::Expel => self.close(ClosureReason::Expulsion, ctx),
            Action::PermanentBan => self.close(ClosureReason::AccountBan, ctx),
            Action::NoAction | Action::HideAndDelist => Ok((self.clone(), Outcome::default())),
        }
    }

    /// The stored deadline of measure `id` fired. Lifts it; if it is no longer there (lifted
    /// already, replaced by a longer one, or the store closed) nothing changes and nothing is
    /// emitted, so a repeated firing is harmless.
    pub fn lift_measure(&self, id: Uuid, ctx: &mut Context<'_>) -> Decided {
        let freeze = self.freeze.as_ref().map(|f| &f.measure);
        let block = self.block.as_ref().map(|b| &b.measure);
        let (measure, is_freeze) = match (freeze, block) {
            (Some(m), _) if m.id == id => (m, true),
            (_, Some(m)) if m.id == id => (m, false),
            _ => return Ok((self.clone(), Outcome::default())),
        };
        if ctx.now < measure.until {
            return Err(StoreError::NotDue);
        }
        let payload = json!({ "measure": id, "case": measure.case });
        let mut next = self.clone();
        let kind = if is_freeze {
            next.freeze = None;
            "store.freeze_lifted"
        } else {
            next.block = None;
            "store.block_lifted"
        };
        Ok((
            next,
            Outcome::default().event(kind, self.subject(), payload),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::DomainRefusal;
    use crate::provider::testkit::{World, active_provider, ts};

    fn store(w: &mut World) -> Store {
        let (p, _) = active_provider(w);
        Store::open(&p, "Acme", None, &mut w.ctx()).unwrap().0
    }

    #[test]
    fn ali_store_freeze_hides_the_store_and_its_products() {
        let mut w = World::new("ali", "2025-06-02T10:00:00+08:00");
        let s = store(&mut w);
        let (s, _) = s
            .apply_action(Action::Freeze(15), "ALI-B1 case 7", &mut w.ctx())
            .unwrap();
        let v = s.visibility(w.now);
        assert!(!v.store_shown && !v.products_shown);
        // A freeze restricts display only (ALI-R art.24(2)); publishing is not taken away.
        assert!(v.may_publish);
        assert_eq!(s.status_label(w.now), "frozen");
    }

    #[test]
    fn jd_service_freeze_hides_products_not_the_store() {
        let mut w = World::new("jd", "2025-06-02T10:00:00+08:00");
        let s = store(&mut w);
        let (s, out) = s
            .apply_action(Action::Freeze(7), "JD-B2 case 1", &mut w.ctx())
            .unwrap();
        assert_eq!(out.schedule[0].due_at, ts("2025-06-09T10:00:00+08:00"));
        let v = s.visibility(w.now);
        assert!(
            v.store_shown,
            "服务冻结 does not freeze the store (JD art.20(2))"
        );
        assert!(!v.products_shown);
        assert_eq!(s.freeze.as_ref().unwrap().scope, FreezeScope::ProductsOnly);
        // Past its end the freeze no longer counts, even before the deadline is handled.
        assert!(s.visibility(ts("2025-06-09T10:00:00+08:00")).products_shown);
    }

    #[test]
    fn freeze_lifts_when_its_deadline_fires_and_lifting_twice_is_harmless() {
        let mut w = World::new("ali", "2025-06-02T10:00:00+08:00");
        let s = store(&mut w);
        let (s, out) = s
            .apply_action(Action::Freeze(7), "ALI-B2 case 3", &mut w.ctx())
            .unwrap();
        let deadline = out.schedule[0].clone();
        assert_eq!(deadline.kind, FREEZE_ENDS);
        let id: Uuid = serde_json::from_value(deadline.payload["measure"].clone()).unwrap();
        w.now = ts("2025-06-05T10:00:00+08:00");
        assert_eq!(
            s.lift_measure(id, &mut w.ctx()).unwrap_err().code(),
            "not_due"
        );
        w.now = deadline.due_at;
        let (lifted, out) = s.lift_measure(id, &mut w.ctx()).unwrap();
        assert_eq!(out.events[0].kind, "store.freeze_lifted");
        assert!(lifted.freeze.is_none() && lifted.visibility(w.now).store_shown);
        let (again, out) = lifted.lift_measure(id, &mut w.ctx()).unwrap();
        assert_eq!((again, out), (lifted, Outcome::default()));
    }

    #[test]
    fn tc_has_no_freeze_but_blocks_and_restricts_publishing() {
        let mut w = World::new("tc", "2025-06-02T10:00:00+08:00");
        let s = store(&mut w);
        assert_eq!(
            s.apply_action(Action::Freeze(7), "x", &mut w.ctx())
                .unwrap_err()
                .code(),
            "measure_not_in_rulebook"
        );
        let (s, out) = s
            .apply_action(Action::BlockAndRestrict(15), "TC-S1 case 2", &mut w.ctx())
            .unwrap();
        assert_eq!(out.schedule[0].kind, BLOCK_ENDS);
        let v = s.visibility(w.now);
        assert!(!v.store_shown && !v.products_shown && !v.may_publish);
        assert_eq!(s.status_label(w.now), "blocked");
        let id = s.block.as_ref().unwrap().measure.id;
        w.now = ts("2025-06-17T10:00:00+08:00");
        let (s, _) = s.lift_measure(id, &mut w.ctx()).unwrap();
        assert!(s.visibility(w.now).may_publish);

        // ALI has no block.
        let mut ali = World::new("ali", "2025-06-02T10:00:00+08:00");
        let s = store(&mut ali);
        assert_eq!(
            s.block(ts("2025-07-01T00:00:00+08:00"), "x", &mut ali.ctx())
                .unwrap_err()
                .code(),
            "measure_not_in_rulebook"
        );
    }

    #[test]
    fn a_second_freeze_never_shortens_the_first_and_replaces_its_deadline() {
        let mut w = World::new("ali", "2025-06-02T10:00:00+08:00");
        let s = store(&mut w);
        let (s, first) = s
            .apply_action(Action::Freeze(15), "case 1", &mut w.ctx())
            .unwrap();
        let first_end = s.freeze.as_ref().unwrap().measure.until;
        let first_id = s.freeze.as_ref().unwrap().measure.id;
        w.now = ts("2025-06-03T10:00:00+08:00");
        let (s, second) = s
            .apply_action(Action::Freeze(7), "case 2", &mut w.ctx())
            .unwrap();
        assert_eq!(s.freeze.as_ref().unwrap().measure.until, first_end);
        assert_eq!(second.cancel, [first.schedule[0].dedupe_key.clone()]);
        // The replaced measure's deadline, if it fires anyway, changes nothing.
        w.now = first_end;
        let (same, out) = s.lift_measure(first_id, &mut w.ctx()).unwrap();
        assert_eq!((&same, out), (&s, Outcome::default()));
    }

    #[test]
    fn expulsion_closes_the_store_and_cancels_pending_lifts() {
        let mut w = World::new("jd", "2025-06-02T10:00:00+08:00");
        let s = store(&mut w);
        let (s, frozen) = s
            .apply_action(Action::Freeze(7), "case", &mut w.ctx())
            .unwrap();
        let (s, out) = s.apply_action(Action::Expel, "case", &mut w.ctx()).unwrap();
        assert_eq!(out.cancel, [frozen.schedule[0].dedupe_key.clone()]);
        assert_eq!(s.status_label(w.now), "closed");
    }

    #[test]
    fn a_measure_must_end_in_the_future_and_name_its_case() {
        let mut w = World::new("ali", "2025-06-02T10:00:00+08:00");
        let s = store(&mut w);
        assert_eq!(
            s.freeze(w.now, "case", &mut w.ctx()).unwrap_err().code(),
            "invalid_until"
        );
        assert_eq!(
            s.freeze(ts("2025-07-01T00:00:00+08:00"), " ", &mut w.ctx())
                .unwrap_err()
                .code(),
            "reason_required"
        );
    }
}
