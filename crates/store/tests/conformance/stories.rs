//! The stories every backend must tell the same way.

use std::collections::HashSet;

use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use uuid::Uuid;
use yunshi_core::Fen;
use yunshi_core::ledger::{Account, AccountKind, Balances, LedgerTransaction, Posting};
use yunshi_store::*;

use crate::backend::TestDb;

crate::conformance!(
    migrating_twice_changes_nothing,
    balanced_transaction_is_stored_and_read_back,
    a_refused_batch_writes_nothing,
    reversal_by_reference_happens_at_most_once,
    idempotent_replay_returns_the_first_answer_and_moves_no_money,
    deadline_fires_exactly_once,
    cancelled_deadline_never_fires,
    claims_are_leased_and_never_shared,
    due_deadlines_are_read_earliest_first_without_a_lease,
    event_chain_verifies_and_detects_tampering,
    a_chain_check_resumes_from_a_verified_head,
    a_chain_cut_off_at_its_end_is_detected,
    a_chain_check_beside_concurrent_writes_finds_no_break,
    writes_without_an_event_are_found_after_the_mark,
    postings_and_events_are_append_only,
    concurrent_commits_all_land_and_balance,
    commit_many_isolates_a_bad_batch,
    api_tokens_are_stored_by_hash_and_revocable,
    api_tokens_are_listed_per_principal,
    a_reversal_may_follow_its_original_in_the_same_batch,
    a_reversal_must_negate_its_original_line_by_line,
    a_deadline_cannot_fire_before_it_is_due,
    deadlines_cancelled_by_key_only_while_pending,
);

fn t0() -> Timestamp {
    "2026-03-01T02:00:00Z".parse().unwrap()
}

fn cash() -> Account {
    Account::operator(AccountKind::OperatorCash)
}

fn escrow(order: &str) -> Account {
    Account::new(AccountKind::BuyerEscrow, order)
}

fn payment(order: &str, fen: i64) -> LedgerTransaction {
    LedgerTransaction::new(
        Uuid::now_v7(),
        "order_paid",
        order,
        t0(),
        vec![
            Posting::debit(cash(), Fen::new(fen)),
            Posting::credit(escrow(order), Fen::new(fen)).unwrap(),
        ],
    )
    .unwrap()
}

fn event(kind: &str, subject: &str) -> NewEvent {
    NewEvent {
        id: Uuid::now_v7(),
        kind: kind.into(),
        subject: subject.into(),
        at: t0(),
        payload: json!({"note": "测试", "n": 1}),
    }
}

fn deadline(kind: &str, due: Timestamp, key: Option<&str>) -> NewDeadline {
    NewDeadline {
        id: Uuid::now_v7(),
        kind: kind.into(),
        subject: "order:o1".into(),
        due_at: due,
        payload: json!({"order": "o1"}),
        dedupe_key: key.map(str::to_string),
    }
}

fn applied(c: Committed) -> Vec<i64> {
    match c {
        Committed::Applied { event_seqs } => event_seqs,
        Committed::Replayed { .. } => panic!("expected the batch to apply"),
    }
}

async fn migrating_twice_changes_nothing(db: &TestDb) {
    db.store.migrate().await.unwrap();
    db.store.migrate().await.unwrap();
    db.store.ping().await.unwrap();
    assert_eq!(db.store.trial_balance().await.unwrap(), 0);
}

async fn balanced_transaction_is_stored_and_read_back(db: &TestDb) {
    let tx = payment("o1", 12_345);
    let seqs = applied(
        db.store
            .commit(WriteBatch {
                events: vec![event("order.paid", "order:o1")],
                transactions: vec![tx.clone()],
                ..Default::default()
            })
            .await
            .unwrap(),
    );
    assert_eq!(seqs, vec![1]);
    assert_eq!(db.store.balance(&cash()).await.unwrap(), Fen::new(12_345));
    assert_eq!(
        db.store.balance(&escrow("o1")).await.unwrap(),
        Fen::new(-12_345)
    );
    assert_eq!(db.store.balance(&escrow("o2")).await.unwrap(), Fen::ZERO);
    assert_eq!(db.store.trial_balance().await.unwrap(), 0);
    assert_eq!(
        db.store.ledger_transaction(tx.id()).await.unwrap(),
        Some(tx)
    );
    assert_eq!(
        db.store.ledger_transaction(Uuid::now_v7()).await.unwrap(),
        None
    );
    let events = db.store.events_after(0, 10).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].payload, json!({"note": "测试", "n": 1}));
}

async fn a_refused_batch_writes_nothing(db: &TestDb) {
    let tx = payment("o1", 100);
    db.store
        .commit(WriteBatch {
            transactions: vec![tx.clone()],
            ..Default::default()
        })
        .await
        .unwrap();
    // Same transaction again, with an event and a deadline: all refused together.
    let err = db
        .store
        .commit(WriteBatch {
            events: vec![event("order.paid", "order:o1")],
            schedule: vec![deadline("x", t0(), Some("k"))],
            transactions: vec![payment("o2", 5), tx.clone()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::DuplicateTransaction(id) if id == tx.id()),
        "{err}"
    );
    assert!(db.store.events_after(0, 10).await.unwrap().is_empty());
    assert_eq!(db.store.balance(&escrow("o2")).await.unwrap(), Fen::ZERO);
    assert_eq!(db.store.next_deadline_due().await.unwrap(), None);
    assert_eq!(db.store.balance(&cash()).await.unwrap(), Fen::new(100));
}

async fn reversal_by_reference_happens_at_most_once(db: &TestDb) {
    let tx = payment("o1", 500);
    let commit = |t: LedgerTransaction| WriteBatch {
        transactions: vec![t],
        ..Default::default()
    };
    db.store.commit(commit(tx.clone())).await.unwrap();
    let undo = tx.reversal(Uuid::now_v7(), t0()).unwrap();
    db.store.commit(commit(undo)).await.unwrap();
    assert_eq!(db.store.balance(&cash()).await.unwrap(), Fen::ZERO);
    let again = tx.reversal(Uuid::now_v7(), t0()).unwrap();
    let err = db.store.commit(commit(again)).await.unwrap_err();
    assert!(
        matches!(err, StoreError::AlreadyReversed(id) if id == tx.id()),
        "{err}"
    );
    let orphan = payment("o9", 1).reversal(Uuid::now_v7(), t0()).unwrap();
    let err = db.store.commit(commit(orphan)).await.unwrap_err();
    assert!(matches!(err, StoreError::UnknownTransaction(_)), "{err}");
    assert_eq!(db.store.trial_balance().await.unwrap(), 0);
    assert_eq!(db.store.balance(&cash()).await.unwrap(), Fen::ZERO);
}

async fn idempotent_replay_returns_the_first_answer_and_moves_no_money(db: &TestDb) {
    let claim = |fp: &str, answer: serde_json::Value| IdempotencyClaim {
        scope: "buyer:b1".into(),
        key: "pay-o1".into(),
        fingerprint: fp.into(),
        response: answer,
        at: t0(),
    };
    let first = db
        .store
        .commit(WriteBatch {
            idempotency: Some(claim("fp-a", json!({"paid": "100.00"}))),
            transactions: vec![payment("o1", 10_000)],
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(matches!(first, Committed::Applied { .. }));
    let replay = db
        .store
        .commit(WriteBatch {
            idempotency: Some(claim("fp-a", json!({"paid": "other"}))),
            transactions: vec![payment("o1", 10_000)],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        replay,
        Committed::Replayed {
            response: json!({"paid": "100.00"})
        }
    );
    let err = db
        .store
        .commit(WriteBatch {
            idempotency: Some(claim("fp-b", json!({}))),
            transactions: vec![payment("o1", 1)],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::IdempotencyMismatch { .. }),
        "{err}"
    );
    assert_eq!(db.store.balance(&cash()).await.unwrap(), Fen::new(10_000));
    let record = db
        .store
        .idempotency_record("buyer:b1", "pay-o1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.fingerprint, "fp-a");
}

async fn deadline_fires_exactly_once(db: &TestDb) {
    let due = deadline("guarantee_window_end", t0(), Some("order:o1:window"));
    let later = deadline(
        "guarantee_window_end",
        t0() + SignedDuration::from_hours(24),
        None,
    );
    db.store
        .commit(WriteBatch {
            schedule: vec![later.clone(), due.clone()],
            ..Default::default()
        })
        .await
        .unwrap();
    let dup = db
        .store
        .commit(WriteBatch {
            schedule: vec![deadline(
                "guarantee_window_end",
                t0(),
                Some("order:o1:window"),
            )],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(dup, StoreError::DuplicateDeadline(_)), "{dup}");
    assert_eq!(db.store.next_deadline_due().await.unwrap(), Some(t0()));

    let claimed = db
        .store
        .claim_due_deadlines(t0(), "w1", SignedDuration::from_secs(30), 10)
        .await
        .unwrap();
    assert_eq!(
        claimed.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![due.id]
    );
    let fire = FiredDeadline {
        id: due.id,
        at: t0(),
    };
    db.store
        .commit(WriteBatch {
            fire: vec![fire],
            events: vec![event("order.window_ended", "order:o1")],
            ..Default::default()
        })
        .await
        .unwrap();
    let twice = db
        .store
        .commit(WriteBatch {
            fire: vec![fire],
            events: vec![event("order.window_ended", "order:o1")],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(twice, StoreError::DeadlineNotPending(id) if id == due.id));
    assert_eq!(db.store.events_after(0, 10).await.unwrap().len(), 1);
    let stored = db.store.deadline(due.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.state, stored.fired_at),
        (DeadlineState::Fired, Some(t0()))
    );
    // Fired deadlines are never claimed again; the later one only once due.
    let after = t0() + SignedDuration::from_hours(1);
    assert!(
        db.store
            .claim_due_deadlines(after, "w1", SignedDuration::from_secs(30), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        db.store.next_deadline_due().await.unwrap(),
        Some(later.due_at)
    );
}

async fn cancelled_deadline_never_fires(db: &TestDb) {
    let d = deadline("complaint_response_due", t0(), None);
    db.store
        .commit(WriteBatch {
            schedule: vec![d.clone()],
            ..Default::default()
        })
        .await
        .unwrap();
    db.store
        .commit(WriteBatch {
            cancel: vec![d.id],
            ..Default::default()
        })
        .await
        .unwrap();
    let err = db
        .store
        .commit(WriteBatch {
            fire: vec![FiredDeadline { id: d.id, at: t0() }],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::DeadlineNotPending(_)));
    assert!(
        db.store
            .claim_due_deadlines(t0(), "w", SignedDuration::from_secs(5), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        db.store.deadline(d.id).await.unwrap().unwrap().state,
        DeadlineState::Cancelled
    );
}

/// What the simulated clock's advance reads: the due deadlines no lease holds, earliest
/// first, none of them claimed by the reading.
async fn due_deadlines_are_read_earliest_first_without_a_lease(db: &TestDb) {
    let ds: Vec<_> = [30, 10, 20, -5]
        .into_iter()
        .map(|ago| deadline("x", t0() - SignedDuration::from_secs(ago), None))
        .collect();
    db.store
        .commit(WriteBatch {
            schedule: ds.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let lease = SignedDuration::from_secs(60);
    let leased = db
        .store
        .claim_due_deadlines(t0(), "w", lease, 1)
        .await
        .unwrap();
    assert_eq!(
        leased.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![ds[0].id]
    );
    let due = db.store.due_deadlines(t0(), 10).await.unwrap();
    assert_eq!(
        due.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![ds[2].id, ds[1].id],
        "due, unleased, earliest first; the future one is not due"
    );
    assert_eq!(db.store.due_deadlines(t0(), 1).await.unwrap().len(), 1);
    let claimed = db
        .store
        .claim_due_deadlines(t0(), "v", lease, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2, "reading them leased nothing");
}

async fn claims_are_leased_and_never_shared(db: &TestDb) {
    let ds: Vec<_> = (0..40)
        .map(|i| deadline("x", t0() - SignedDuration::from_secs(i), None))
        .collect();
    db.store
        .commit(WriteBatch {
            schedule: ds.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let lease = SignedDuration::from_secs(60);
    let (a, b) = tokio::join!(
        db.store.claim_due_deadlines(t0(), "a", lease, 25),
        db.store.claim_due_deadlines(t0(), "b", lease, 25),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let ids_a: HashSet<_> = a.iter().map(|d| d.id).collect();
    let ids_b: HashSet<_> = b.iter().map(|d| d.id).collect();
    assert!(ids_a.is_disjoint(&ids_b));
    assert_eq!(ids_a.len() + ids_b.len(), 40);
    // Earliest first within a claim.
    assert!(a.windows(2).all(|w| w[0].due_at <= w[1].due_at));
    // Nothing is claimable while leased; after the lease runs out, all of it is again.
    assert!(
        db.store
            .claim_due_deadlines(t0(), "c", lease, 100)
            .await
            .unwrap()
            .is_empty()
    );
    let expired = t0() + SignedDuration::from_secs(61);
    assert_eq!(
        db.store
            .claim_due_deadlines(expired, "c", lease, 100)
            .await
            .unwrap()
            .len(),
        40
    );
}

async fn event_chain_verifies_and_detects_tampering(db: &TestDb) {
    for i in 0..5 {
        db.store
            .commit(WriteBatch {
                events: vec![event("a", &format!("s{i}")), event("b", &format!("s{i}"))],
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let check = db.store.verify_event_chain().await.unwrap();
    assert_eq!((check.events, check.broken_at), (10, None));
    let events = db.store.events_after(0, 100).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=10).collect::<Vec<_>>()
    );
    assert!(events.windows(2).all(|w| w[1].prev_hash == w[0].hash));

    let tamper = if db.is_postgres() {
        "ALTER TABLE events DISABLE TRIGGER events_append_only;
         UPDATE events SET payload = '{\"n\":2}' WHERE seq = 4;"
    } else {
        "DROP TRIGGER events_no_update; UPDATE events SET payload = '{\"n\":2}' WHERE seq = 4;"
    };
    db.raw_execute(tamper).await.unwrap();
    let check = db.store.verify_event_chain().await.unwrap();
    assert_eq!(check.broken_at, Some(4));
}

/// A check from the head an earlier one verified reads only the events since, shows each
/// to the caller, and breaks where the given head is not the chain's.
async fn a_chain_check_resumes_from_a_verified_head(db: &TestDb) {
    let commit = |subject: String| async move {
        db.store
            .commit(WriteBatch {
                events: vec![event("a", &subject)],
                ..Default::default()
            })
            .await
            .unwrap();
    };
    for i in 0..3 {
        commit(format!("old:{i}")).await;
    }
    let first = db.store.verify_event_chain().await.unwrap();
    assert_eq!((first.head_seq, first.broken_at), (3, None));
    for i in 0..2 {
        commit(format!("new:{i}")).await;
    }
    let mut seen = Vec::new();
    let since = db
        .store
        .verify_event_chain_after(Some((first.head_seq, &first.head)), |e| {
            seen.push(e.subject.clone())
        })
        .await
        .unwrap();
    assert_eq!(seen, vec!["new:0", "new:1"]);
    assert_eq!(
        (since.events, since.broken_at, since.head_seq),
        (2, None, 5)
    );
    assert_eq!(
        since.head,
        db.store.verify_event_chain().await.unwrap().head
    );
    let unchanged = db
        .store
        .verify_event_chain_after(Some((since.head_seq, &since.head)), |_| {})
        .await
        .unwrap();
    assert_eq!((unchanged.events, unchanged.broken_at), (0, None));
    let forged = "0".repeat(64);
    let check = db
        .store
        .verify_event_chain_after(Some((first.head_seq, &forged)), |_| {})
        .await
        .unwrap();
    assert_eq!(check.broken_at, Some(3));
    let check = db
        .store
        .verify_event_chain_after(Some((first.head_seq, "not hex")), |_| {})
        .await
        .unwrap();
    assert_eq!(check.broken_at, Some(3));
}

/// Cutting events off the end leaves a chain that verifies on its own; the recorded head
/// shows the cut, from the start and from a mark past it.
async fn a_chain_cut_off_at_its_end_is_detected(db: &TestDb) {
    for i in 0..3 {
        db.store
            .commit(WriteBatch {
                events: vec![event("a", &format!("s{i}"))],
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let whole = db.store.verify_event_chain().await.unwrap();
    assert_eq!((whole.head_seq, whole.broken_at), (3, None));
    let cut = if db.is_postgres() {
        "ALTER TABLE events DISABLE TRIGGER events_append_only; DELETE FROM events WHERE seq = 3;"
    } else {
        "DROP TRIGGER events_no_delete; DELETE FROM events WHERE seq = 3;"
    };
    db.raw_execute(cut).await.unwrap();
    let check = db.store.verify_event_chain().await.unwrap();
    assert_eq!((check.events, check.broken_at), (2, Some(3)));
    let check = db
        .store
        .verify_event_chain_after(Some((whole.head_seq, &whole.head)), |_| {})
        .await
        .unwrap();
    assert_eq!((check.events, check.broken_at), (0, Some(3)));
}

/// Events appended while a check walks the chain lie beyond the head it read first: they
/// are walked, never taken for a cut.
async fn a_chain_check_beside_concurrent_writes_finds_no_break(db: &TestDb) {
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let store = db.store.clone();
            tokio::spawn(async move {
                for i in 0..25 {
                    store
                        .commit(WriteBatch {
                            events: vec![event("a", &format!("w{w}:{i}"))],
                            ..Default::default()
                        })
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for _ in 0..20 {
        let check = db.store.verify_event_chain().await.unwrap();
        assert_eq!(check.broken_at, None, "{check:?}");
    }
    for w in writers {
        w.await.unwrap();
    }
    let check = db.store.verify_event_chain().await.unwrap();
    assert_eq!((check.events, check.broken_at), (200, None));
}

/// Ledger transactions, settlement items and aggregate writes carry the chain's head when
/// they were written: after a mark, those written without any event are found too, and
/// those the marked check already saw are not.
async fn writes_without_an_event_are_found_after_the_mark(db: &TestDb) {
    let aggregate = |id: Uuid| AggregateWrite {
        kind: "order".into(),
        id,
        expected_version: None,
        owner: "p1".into(),
        status: "held".into(),
        state: json!({}),
        at: t0(),
    };
    let seen = Uuid::now_v7();
    db.store
        .commit(WriteBatch {
            aggregates: vec![aggregate(seen)],
            transactions: vec![payment("o-seen", 100)],
            events: vec![event("order.paid", "order:o-seen")],
            ..Default::default()
        })
        .await
        .unwrap();
    let mark = db.store.verify_event_chain().await.unwrap();
    assert_eq!(mark.head_seq, 1);
    let unnoticed = Uuid::now_v7();
    db.store
        .commit(WriteBatch {
            aggregates: vec![aggregate(unnoticed)],
            transactions: vec![payment("o-quiet", 1)],
            ..Default::default()
        })
        .await
        .unwrap();
    let changes = db.store.changes_after(mark.head_seq).await.unwrap();
    assert_eq!(changes.accounts.len(), 2, "{changes:?}");
    assert!(
        changes
            .accounts
            .contains(&(AccountKind::BuyerEscrow, "o-quiet".to_owned()))
    );
    assert!(
        changes
            .accounts
            .contains(&(AccountKind::OperatorCash, String::new()))
    );
    assert_eq!(changes.aggregates, vec![("order".to_owned(), unnoticed)]);
    assert!(changes.item_providers.is_empty());
    // From the start, both writes are changes.
    let all = db.store.changes_after(0).await.unwrap();
    assert_eq!(all.aggregates.len(), 2);
}

async fn postings_and_events_are_append_only(db: &TestDb) {
    db.store
        .commit(WriteBatch {
            events: vec![event("a", "s")],
            transactions: vec![payment("o1", 100)],
            ..Default::default()
        })
        .await
        .unwrap();
    for sql in [
        "UPDATE ledger_postings SET amount = amount * 2",
        "DELETE FROM ledger_postings",
        "DELETE FROM ledger_transactions",
        "UPDATE events SET kind = 'x'",
        "DELETE FROM events",
    ] {
        let err = db.raw_execute(sql).await.unwrap_err();
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(db.store.balance(&cash()).await.unwrap(), Fen::new(100));
}

async fn concurrent_commits_all_land_and_balance(db: &TestDb) {
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let store = db.store.clone();
            tokio::spawn(async move {
                store
                    .commit(WriteBatch {
                        events: vec![event("order.paid", &format!("order:{i}"))],
                        transactions: vec![payment(&format!("o{i}"), 100 + i)],
                        ..Default::default()
                    })
                    .await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let expected: i64 = (0..64).map(|i| 100 + i).sum();
    assert_eq!(db.store.balance(&cash()).await.unwrap(), Fen::new(expected));
    assert_eq!(db.store.trial_balance().await.unwrap(), 0);
    let check = db.store.verify_event_chain().await.unwrap();
    assert_eq!((check.events, check.broken_at), (64, None));
}

async fn commit_many_isolates_a_bad_batch(db: &TestDb) {
    let dup = payment("o1", 7);
    let batch = |t: LedgerTransaction| WriteBatch {
        events: vec![event("order.paid", t.reference())],
        transactions: vec![t],
        ..Default::default()
    };
    let results = db
        .store
        .commit_many(vec![
            batch(dup.clone()),
            batch(dup.clone()),
            batch(payment("o2", 11)),
        ])
        .await
        .unwrap();
    assert!(results[0].is_ok());
    assert!(matches!(
        results[1],
        Err(StoreError::DuplicateTransaction(_))
    ));
    assert!(results[2].is_ok());
    assert_eq!(db.store.balance(&cash()).await.unwrap(), Fen::new(18));
    let check = db.store.verify_event_chain().await.unwrap();
    assert_eq!((check.events, check.broken_at), (2, None));

    // The same ledger, recomputed in memory from what was read back, agrees.
    let mut book = Balances::default();
    for r in results.iter().flatten() {
        assert!(matches!(r, Committed::Applied { .. }));
    }
    for id in [dup.id()] {
        book.apply(&db.store.ledger_transaction(id).await.unwrap().unwrap())
            .unwrap();
    }
    assert_eq!(
        book.balance(&escrow("o1")),
        db.store.balance(&escrow("o1")).await.unwrap()
    );
}

async fn api_tokens_are_stored_by_hash_and_revocable(db: &TestDb) {
    let token = ApiToken {
        hash: "ab".repeat(32),
        principal: "bootstrap-admin".into(),
        role: "operator_admin".into(),
        label: "bootstrap".into(),
        created_at: t0(),
        expires_at: None,
        revoked_at: None,
    };
    assert!(
        !db.store
            .has_active_token_with_role("operator_admin", t0())
            .await
            .unwrap()
    );
    db.store.put_api_token(&token).await.unwrap();
    db.store.put_api_token(&token).await.unwrap();
    assert_eq!(
        db.store.api_token(&token.hash).await.unwrap(),
        Some(token.clone())
    );
    assert!(
        db.store
            .has_active_token_with_role("operator_admin", t0())
            .await
            .unwrap()
    );
    assert!(db.store.revoke_api_token(&token.hash, t0()).await.unwrap());
    assert!(!db.store.revoke_api_token(&token.hash, t0()).await.unwrap());
    assert!(
        !db.store
            .has_active_token_with_role("operator_admin", t0())
            .await
            .unwrap()
    );
    let stored = db.store.api_token(&token.hash).await.unwrap().unwrap();
    assert!(!stored.is_active(t0()));
}

async fn a_reversal_may_follow_its_original_in_the_same_batch(db: &TestDb) {
    let tx = payment("o1", 250);
    let undo = tx.reversal(Uuid::now_v7(), t0()).unwrap();
    db.store
        .commit(WriteBatch {
            transactions: vec![tx, undo],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(db.store.balance(&cash()).await.unwrap(), Fen::ZERO);
    assert_eq!(db.store.trial_balance().await.unwrap(), 0);
}

async fn a_reversal_must_negate_its_original_line_by_line(db: &TestDb) {
    let tx = payment("o1", 250);
    db.store
        .commit(WriteBatch {
            transactions: vec![tx.clone()],
            ..Default::default()
        })
        .await
        .unwrap();
    // Balanced, claims to reverse `tx`, but moves a different amount.
    let forged = LedgerTransaction::restore(
        Uuid::now_v7(),
        "reversal:order_paid".into(),
        "o1".into(),
        Some(tx.id()),
        t0(),
        vec![
            Posting::debit(escrow("o1"), Fen::new(100)),
            Posting::credit(cash(), Fen::new(100)).unwrap(),
        ],
    )
    .unwrap();
    let err = db
        .store
        .commit(WriteBatch {
            transactions: vec![forged],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotAMirror(_)), "{err}");
    assert_eq!(db.store.balance(&cash()).await.unwrap(), Fen::new(250));
}

async fn a_deadline_cannot_fire_before_it_is_due(db: &TestDb) {
    let d = deadline("guarantee_window_end", t0(), None);
    db.store
        .commit(WriteBatch {
            schedule: vec![d.clone()],
            ..Default::default()
        })
        .await
        .unwrap();
    let early = FiredDeadline {
        id: d.id,
        at: t0() - SignedDuration::from_secs(1),
    };
    let err = db
        .store
        .commit(WriteBatch {
            fire: vec![early],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::DeadlineNotPending(_)), "{err}");
    db.store
        .commit(WriteBatch {
            fire: vec![FiredDeadline { id: d.id, at: t0() }],
            ..Default::default()
        })
        .await
        .unwrap();
}

async fn deadlines_cancelled_by_key_only_while_pending(db: &TestDb) {
    let answered = deadline(
        "complaint_response_due",
        t0(),
        Some("complaint:c1:response"),
    );
    let fired = deadline(
        "complaint_response_due",
        t0(),
        Some("complaint:c2:response"),
    );
    db.store
        .commit(WriteBatch {
            schedule: vec![answered.clone(), fired.clone()],
            ..Default::default()
        })
        .await
        .unwrap();
    db.store
        .commit(WriteBatch {
            fire: vec![FiredDeadline {
                id: fired.id,
                at: t0(),
            }],
            ..Default::default()
        })
        .await
        .unwrap();
    db.store
        .commit(WriteBatch {
            cancel_keys: vec![
                "complaint:c1:response".into(),
                "complaint:c2:response".into(),
                "complaint:none:response".into(),
            ],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        db.store.deadline(answered.id).await.unwrap().unwrap().state,
        DeadlineState::Cancelled
    );
    assert_eq!(
        db.store.deadline(fired.id).await.unwrap().unwrap().state,
        DeadlineState::Fired
    );
}

async fn api_tokens_are_listed_per_principal(db: &TestDb) {
    let token = |n: u8, principal: &str, at: i64| ApiToken {
        hash: format!("{n:02x}").repeat(32),
        principal: principal.into(),
        role: "api".into(),
        label: format!("token {n}"),
        created_at: t0() + SignedDuration::from_secs(at),
        expires_at: None,
        revoked_at: None,
    };
    assert!(db.store.api_tokens_of("user:a").await.unwrap().is_empty());
    let (a2, b1, a1) = (
        token(1, "user:a", 20),
        token(2, "user:b", 5),
        token(3, "user:a", 10),
    );
    for t in [&a2, &b1, &a1] {
        db.store.put_api_token(t).await.unwrap();
    }
    assert!(db.store.revoke_api_token(&a2.hash, t0()).await.unwrap());
    let mine = db.store.api_tokens_of("user:a").await.unwrap();
    assert_eq!(mine.len(), 2, "only user:a's, revoked ones included");
    assert_eq!(mine[0], a1, "oldest first");
    assert_eq!(mine[1].hash, a2.hash);
    assert_eq!(mine[1].revoked_at, Some(t0()));
    assert_eq!(db.store.api_tokens_of("user:b").await.unwrap(), vec![b1]);
}
