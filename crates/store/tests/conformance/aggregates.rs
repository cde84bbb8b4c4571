//! Aggregates with optimistic concurrency and unique keys, on every backend.

use jiff::Timestamp;
use serde_json::json;
use uuid::Uuid;
use yunshi_core::Fen;
use yunshi_core::ledger::{Account, AccountKind, LedgerTransaction, Posting};
use yunshi_store::*;

use crate::backend::TestDb;

crate::conformance!(
    aggregate_versions_advance_and_stale_writes_are_refused,
    exactly_one_of_racing_writers_from_one_version_wins,
    a_version_conflict_writes_nothing_else,
    aggregates_list_by_owner_and_status_in_pages,
    unique_keys_are_held_once,
    a_large_batch_with_one_stale_write_or_one_held_key_writes_nothing,
    reads_by_ids_and_by_owners_return_exactly_those,
);

fn t0() -> Timestamp {
    "2026-03-01T02:00:00Z".parse().unwrap()
}

fn write(id: Uuid, expected: Option<i64>, owner: &str, status: &str, n: i64) -> AggregateWrite {
    AggregateWrite {
        kind: "order".into(),
        id,
        expected_version: expected,
        owner: owner.into(),
        status: status.into(),
        state: json!({ "n": n, "名": "订单" }),
        at: t0(),
    }
}

fn batch(a: AggregateWrite) -> WriteBatch {
    WriteBatch {
        aggregates: vec![a],
        ..Default::default()
    }
}

async fn aggregate_versions_advance_and_stale_writes_are_refused(db: &TestDb) {
    let id = Uuid::now_v7();
    db.store
        .commit(batch(write(id, None, "b1", "placed", 0)))
        .await
        .unwrap();
    let again = db
        .store
        .commit(batch(write(id, None, "b1", "placed", 0)))
        .await
        .unwrap_err();
    assert!(
        matches!(again, StoreError::VersionConflict { expected: None, .. }),
        "{again}"
    );
    db.store
        .commit(batch(write(id, Some(1), "b1", "paid", 1)))
        .await
        .unwrap();
    let stale = db
        .store
        .commit(batch(write(id, Some(1), "b1", "refunded", 2)))
        .await
        .unwrap_err();
    assert!(
        matches!(
            stale,
            StoreError::VersionConflict {
                expected: Some(1),
                ..
            }
        ),
        "{stale}"
    );
    let stored = db.store.aggregate("order", id).await.unwrap().unwrap();
    assert_eq!((stored.version, stored.status.as_str()), (2, "paid"));
    assert_eq!(stored.state, json!({ "n": 1, "名": "订单" }));
    assert_eq!(
        db.store.aggregate("order", Uuid::now_v7()).await.unwrap(),
        None
    );
    assert_eq!(db.store.aggregate("product", id).await.unwrap(), None);
}

async fn exactly_one_of_racing_writers_from_one_version_wins(db: &TestDb) {
    let id = Uuid::now_v7();
    db.store
        .commit(batch(write(id, None, "b1", "paid", 0)))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let store = db.store.clone();
            tokio::spawn(async move {
                store
                    .commit(batch(write(id, Some(1), "b1", "refunding", i)))
                    .await
            })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => won += 1,
            Err(StoreError::VersionConflict { .. }) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(won, 1);
    assert_eq!(
        db.store
            .aggregate("order", id)
            .await
            .unwrap()
            .unwrap()
            .version,
        2
    );
}

async fn a_version_conflict_writes_nothing_else(db: &TestDb) {
    let id = Uuid::now_v7();
    db.store
        .commit(batch(write(id, None, "b1", "paid", 0)))
        .await
        .unwrap();
    let refund = LedgerTransaction::new(
        Uuid::now_v7(),
        "refund",
        id.to_string(),
        t0(),
        vec![
            Posting::debit(
                Account::new(AccountKind::BuyerEscrow, id.to_string()),
                Fen::new(100),
            ),
            Posting::credit(
                Account::new(AccountKind::RefundsPayable, id.to_string()),
                Fen::new(100),
            )
            .unwrap(),
        ],
    )
    .unwrap();
    let err = db
        .store
        .commit(WriteBatch {
            aggregates: vec![write(id, Some(7), "b1", "refunded", 1)],
            transactions: vec![refund],
            events: vec![NewEvent {
                id: Uuid::now_v7(),
                kind: "order.refunded".into(),
                subject: format!("order:{id}"),
                at: t0(),
                payload: json!({}),
            }],
            unique_keys: vec![UniqueKey {
                scope: "refund".into(),
                key: id.to_string(),
                id,
            }],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::VersionConflict { .. }));
    assert_eq!(db.store.trial_balance().await.unwrap(), 0);
    assert_eq!(
        db.store
            .balance(&Account::new(AccountKind::RefundsPayable, id.to_string()))
            .await
            .unwrap(),
        Fen::ZERO
    );
    assert!(db.store.events_after(0, 10).await.unwrap().is_empty());
    assert_eq!(
        db.store
            .unique_key("refund", &id.to_string())
            .await
            .unwrap(),
        None
    );
}

async fn aggregates_list_by_owner_and_status_in_pages(db: &TestDb) {
    let mut ids = Vec::new();
    for i in 0..7 {
        let id = Uuid::now_v7();
        let owner = if i % 2 == 0 { "p1" } else { "p2" };
        let status = if i < 4 { "live" } else { "draft" };
        db.store
            .commit(batch(write(id, None, owner, status, i)))
            .await
            .unwrap();
        ids.push(id);
    }
    let query = |owner: Option<&str>, status: Option<&str>, after: Option<Uuid>, limit: u32| {
        AggregateQuery {
            kind: "order".into(),
            owner: owner.map(str::to_string),
            status: status.map(str::to_string),
            after,
            limit,
        }
    };
    let p1 = db
        .store
        .aggregates(&query(Some("p1"), None, None, 100))
        .await
        .unwrap();
    assert_eq!(
        p1.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![ids[0], ids[2], ids[4], ids[6]]
    );
    let live_p2 = db
        .store
        .aggregates(&query(Some("p2"), Some("live"), None, 100))
        .await
        .unwrap();
    assert_eq!(
        live_p2.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![ids[1], ids[3]]
    );
    let first = db
        .store
        .aggregates(&query(None, None, None, 3))
        .await
        .unwrap();
    let second = db
        .store
        .aggregates(&query(None, None, Some(first[2].id), 3))
        .await
        .unwrap();
    let third = db
        .store
        .aggregates(&query(None, None, Some(second[2].id), 3))
        .await
        .unwrap();
    let all: Vec<_> = first
        .iter()
        .chain(&second)
        .chain(&third)
        .map(|a| a.id)
        .collect();
    assert_eq!(all, ids);
    assert!(
        db.store
            .aggregates(&query(Some("nobody"), None, None, 10))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn unique_keys_are_held_once(db: &TestDb) {
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let claim = |id| WriteBatch {
        unique_keys: vec![UniqueKey {
            scope: "member_email".into(),
            key: "buyer@example.com".into(),
            id,
        }],
        ..Default::default()
    };
    db.store.commit(claim(a)).await.unwrap();
    let err = db.store.commit(claim(b)).await.unwrap_err();
    assert!(matches!(err, StoreError::DuplicateKey { .. }), "{err}");
    assert_eq!(
        db.store
            .unique_key("member_email", "buyer@example.com")
            .await
            .unwrap(),
        Some(a)
    );
    assert_eq!(
        db.store
            .unique_key("member_email", "other@example.com")
            .await
            .unwrap(),
        None
    );
}

/// Large batches take the backends' bulk paths (PostgreSQL: `UNNEST` statements): one stale
/// version, one existing aggregate or one held unique key among many refuses the whole batch
/// and names the culprit.
async fn a_large_batch_with_one_stale_write_or_one_held_key_writes_nothing(db: &TestDb) {
    let ids: Vec<Uuid> = (0..40).map(|_| Uuid::now_v7()).collect();
    let first = WriteBatch {
        aggregates: ids
            .iter()
            .map(|id| write(*id, None, "b1", "placed", 0))
            .collect(),
        unique_keys: ids
            .iter()
            .map(|id| UniqueKey {
                scope: "statement".into(),
                key: id.to_string(),
                id: *id,
            })
            .collect(),
        ..Default::default()
    };
    db.store.commit(first).await.unwrap();
    // All move to version 2 except one still written from version 0 (a lost race).
    let mut updates: Vec<AggregateWrite> = ids
        .iter()
        .map(|id| write(*id, Some(1), "b1", "paid", 1))
        .collect();
    updates[17].expected_version = Some(2);
    let err = db
        .store
        .commit(WriteBatch {
            aggregates: updates.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::VersionConflict { id, expected: Some(2), .. } if *id == ids[17]),
        "{err}"
    );
    let untouched = db.store.aggregate("order", ids[3]).await.unwrap().unwrap();
    assert_eq!(
        (untouched.version, untouched.status.as_str()),
        (1, "placed")
    );
    updates[17].expected_version = Some(1);
    db.store
        .commit(WriteBatch {
            aggregates: updates,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        db.store
            .aggregate("order", ids[39])
            .await
            .unwrap()
            .unwrap()
            .version,
        2
    );

    // New aggregates with one that exists, and new keys with one that is held.
    let fresh: Vec<Uuid> = (0..20).map(|_| Uuid::now_v7()).collect();
    let mut news: Vec<AggregateWrite> = fresh
        .iter()
        .map(|id| write(*id, None, "b2", "placed", 0))
        .collect();
    news.push(write(ids[5], None, "b2", "placed", 0));
    let err = db
        .store
        .commit(WriteBatch {
            aggregates: news,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::VersionConflict { id, expected: None, .. } if *id == ids[5]),
        "{err}"
    );
    assert!(
        db.store
            .aggregate("order", fresh[0])
            .await
            .unwrap()
            .is_none()
    );
    let mut keys: Vec<UniqueKey> = fresh
        .iter()
        .map(|id| UniqueKey {
            scope: "statement".into(),
            key: id.to_string(),
            id: *id,
        })
        .collect();
    keys.push(UniqueKey {
        scope: "statement".into(),
        key: ids[9].to_string(),
        id: fresh[0],
    });
    let err = db
        .store
        .commit(WriteBatch {
            unique_keys: keys,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::DuplicateKey { key, .. } if *key == ids[9].to_string()),
        "{err}"
    );
    assert_eq!(
        db.store
            .unique_key("statement", &fresh[0].to_string())
            .await
            .unwrap(),
        None
    );
}

/// The audit's reads of what changed: aggregates by id and by owner, and the balances of
/// named owners, return those and nothing else (absent ones absent).
async fn reads_by_ids_and_by_owners_return_exactly_those(db: &TestDb) {
    let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
    for (n, (id, owner)) in ids.iter().zip(["b1", "b2", "b1"]).enumerate() {
        db.store
            .commit(batch(write(*id, None, owner, "placed", n as i64)))
            .await
            .unwrap();
    }
    let missing = Uuid::now_v7();
    let mut got: Vec<Uuid> = db
        .store
        .aggregates_by_ids("order", vec![ids[2], missing, ids[0]])
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    got.sort();
    assert_eq!(got, vec![ids[0], ids[2]]);
    let owned = db
        .store
        .aggregates_owned_by("order", vec!["b2".into(), "nobody".into()])
        .await
        .unwrap();
    assert_eq!(owned.iter().map(|a| a.id).collect::<Vec<_>>(), vec![ids[1]]);

    let cash = Account::operator(AccountKind::OperatorCash);
    for (owner, fen) in [("o1", 100), ("o2", 250), ("o1", 5)] {
        let escrow = Account::new(AccountKind::BuyerEscrow, owner);
        let tx = LedgerTransaction::new(
            Uuid::now_v7(),
            "order_paid",
            owner,
            t0(),
            vec![
                Posting::debit(cash.clone(), Fen::new(fen)),
                Posting::credit(escrow, Fen::new(fen)).unwrap(),
            ],
        )
        .unwrap();
        db.store
            .commit(WriteBatch {
                transactions: vec![tx],
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let all = db
        .store
        .owner_balances(AccountKind::BuyerEscrow)
        .await
        .unwrap();
    let some = db
        .store
        .owner_balances_of(AccountKind::BuyerEscrow, vec!["o1".into(), "o3".into()])
        .await
        .unwrap();
    assert_eq!(some, vec![("o1".to_owned(), Fen::new(-105))]);
    assert!(all.contains(&some[0]), "{all:?}");
    assert!(
        db.store
            .item_totals_of(vec!["o1".into()])
            .await
            .unwrap()
            .is_empty(),
        "no settlement items, no totals"
    );
}
