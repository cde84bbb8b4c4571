//! Property: whatever the operator does to a store, and whenever the deadline worker fires,
//! every measure has exactly one pending deadline, a closed store stays closed, and products
//! are never shown where the store is not.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::decision::Outcome;
use crate::provider::testkit::{World, active_provider};
use crate::rulebook::Action;

#[derive(Debug, Clone)]
enum Op {
    Freeze(u32),
    Block(u32),
    Expel,
    CloseForDeposit,
    TopUp,
    Hide,
    Unhide,
    Later(i64),
    FireDue,
    FireAgain,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1u32..30).prop_map(Op::Freeze),
        (1u32..30).prop_map(Op::Block),
        Just(Op::Expel),
        Just(Op::CloseForDeposit),
        Just(Op::TopUp),
        Just(Op::Hide),
        Just(Op::Unhide),
        (1i64..20 * 24).prop_map(Op::Later),
        Just(Op::FireDue),
        Just(Op::FireAgain),
    ]
}

proptest! {
    #[test]
    fn every_measure_has_one_pending_deadline_and_closure_is_final(
        family in prop_oneof![Just("ali"), Just("tc"), Just("jd")],
        ops in proptest::collection::vec(op(), 1..50),
    ) {
        let mut w = World::new(family, "2025-06-02T10:00:00+08:00");
        let (p, _) = active_provider(&mut w);
        let (mut store, _) = Store::open(&p, "Acme", None, &mut w.ctx()).unwrap();
        // Pending deadlines as the shell would hold them: dedupe key → (measure, due).
        let mut pending: BTreeMap<String, (Uuid, Timestamp)> = BTreeMap::new();
        let mut fired: Vec<Uuid> = Vec::new();
        for op in ops {
            let was_closed = store.closed.is_some();
            let result = match op {
                Op::Freeze(days) => store.apply_action(Action::Freeze(days), "case", &mut w.ctx()),
                Op::Block(days) => store.apply_action(Action::BlockAndRestrict(days), "case", &mut w.ctx()),
                Op::Expel => store.apply_action(Action::Expel, "case", &mut w.ctx()),
                Op::CloseForDeposit => store.close_for_deposit(&mut w.ctx()),
                Op::TopUp => store.reopen_after_top_up(&mut w.ctx()),
                Op::Hide => store.hide("unreachable", &mut w.ctx()),
                Op::Unhide => store.unhide(&mut w.ctx()),
                Op::Later(hours) => {
                    w.now = w.now.checked_add(SignedDuration::from_hours(hours)).unwrap();
                    continue;
                }
                Op::FireDue => {
                    let due: Vec<(String, Uuid)> = pending
                        .iter()
                        .filter(|(_, (_, at))| *at <= w.now)
                        .map(|(k, (id, _))| (k.clone(), *id))
                        .collect();
                    for (key, id) in due {
                        let (next, out) = store.lift_measure(id, &mut w.ctx()).unwrap();
                        prop_assert_eq!(out.events.len(), 1);
                        pending.remove(&key);
                        fired.push(id);
                        store = next;
                    }
                    Ok((store.clone(), Outcome::default()))
                }
                Op::FireAgain => {
                    for id in &fired {
                        let (next, out) = store.lift_measure(*id, &mut w.ctx()).unwrap();
                        prop_assert_eq!(&next, &store);
                        prop_assert!(out.events.is_empty());
                    }
                    continue;
                }
            };
            if let Ok((next, out)) = result {
                for key in &out.cancel {
                    prop_assert!(pending.remove(key).is_some(), "cancelled an unknown deadline");
                }
                for d in &out.schedule {
                    let id: Uuid = serde_json::from_value(d.payload["measure"].clone()).unwrap();
                    prop_assert!(pending.insert(d.dedupe_key.clone(), (id, d.due_at)).is_none());
                }
                store = next;
            }
            if was_closed {
                prop_assert!(store.closed.is_some());
            }
            let mut live: Vec<String> = store.freeze.iter().map(|f| f.measure.dedupe_key(store.id))
                .chain(store.block.iter().map(|b| b.measure.dedupe_key(store.id)))
                .collect();
            live.sort();
            let keys: Vec<String> = pending.keys().cloned().collect();
            prop_assert_eq!(keys, live);
            let v = store.visibility(w.now);
            prop_assert!(!v.products_shown || v.store_shown);
            if store.closed.is_some() {
                prop_assert_eq!(v, Visibility { store_shown: false, products_shown: false, may_publish: false });
            }
            if store.state(w.now) == StoreState::Open {
                prop_assert_eq!(v, Visibility { store_shown: true, products_shown: true, may_publish: true });
            }
        }
    }
}
