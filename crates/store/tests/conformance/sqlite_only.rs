//! SQLite-specific behaviour: several processes on one database file.

use uuid::Uuid;
use yunshi_core::Fen;
use yunshi_core::ledger::{Account, AccountKind, LedgerTransaction, Posting};
use yunshi_store::{Store, WriteBatch};

/// Two `Store`s on one file stand for two server processes: each has its own writer, so
/// they contend for SQLite's write lock and must wait or retry on `SQLITE_BUSY`, never fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_writers_on_one_file_retry_busy_and_lose_nothing() {
    let db = crate::backend::sqlite().await;
    let other = Store::open(&db.url).await.unwrap();
    let cash = Account::operator(AccountKind::OperatorCash);
    let at = "2026-03-01T00:00:00Z".parse().unwrap();
    let mut tasks = Vec::new();
    for i in 0..200i64 {
        let store = if i % 2 == 0 {
            db.store.clone()
        } else {
            other.clone()
        };
        let cash = cash.clone();
        tasks.push(tokio::spawn(async move {
            let tx = LedgerTransaction::new(
                Uuid::now_v7(),
                "order_paid",
                format!("o{i}"),
                at,
                vec![
                    Posting::debit(cash, Fen::new(1)),
                    Posting::credit(
                        Account::new(AccountKind::BuyerEscrow, format!("o{i}")),
                        Fen::new(1),
                    )
                    .unwrap(),
                ],
            )
            .unwrap();
            store
                .commit(WriteBatch {
                    transactions: vec![tx],
                    ..Default::default()
                })
                .await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(db.store.balance(&cash).await.unwrap(), Fen::new(200));
    assert_eq!(other.trial_balance().await.unwrap(), 0);
    other.close().await;
    db.finish().await;
}

/// Two processes appending events to one file keep one unbroken chain: each writer reads
/// the chain's head inside its own write transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_writers_appending_events_keep_one_chain() {
    let db = crate::backend::sqlite().await;
    let other = Store::open(&db.url).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..100 {
        let store = if i % 2 == 0 {
            db.store.clone()
        } else {
            other.clone()
        };
        tasks.push(tokio::spawn(async move {
            store
                .commit(WriteBatch {
                    events: vec![yunshi_store::NewEvent {
                        id: Uuid::now_v7(),
                        kind: "x".into(),
                        subject: format!("s{i}"),
                        at: "2026-03-01T00:00:00Z".parse().unwrap(),
                        payload: serde_json::json!({ "i": i }),
                    }],
                    ..Default::default()
                })
                .await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let check = other.verify_event_chain().await.unwrap();
    assert_eq!((check.events, check.broken_at), (100, None));
    other.close().await;
    db.finish().await;
}

/// What was committed survives the store being dropped without `close` (a crash of the
/// process's writer) and is there when the file is opened again.
#[tokio::test]
async fn committed_writes_survive_reopening_without_close() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("y.db").display().to_string();
    let store = Store::open(&url).await.unwrap();
    store.migrate().await.unwrap();
    let at = "2026-03-01T00:00:00Z".parse().unwrap();
    let tx = LedgerTransaction::new(
        Uuid::now_v7(),
        "deposit_paid",
        "p1",
        at,
        vec![
            Posting::debit(
                Account::operator(AccountKind::OperatorCash),
                Fen::new(1_000_000),
            ),
            Posting::credit(
                Account::new(AccountKind::DepositsHeld, "p1"),
                Fen::new(1_000_000),
            )
            .unwrap(),
        ],
    )
    .unwrap();
    store
        .commit(WriteBatch {
            transactions: vec![tx.clone()],
            ..Default::default()
        })
        .await
        .unwrap();
    drop(store);
    let again = Store::open(&url).await.unwrap();
    again.migrate().await.unwrap();
    assert_eq!(again.ledger_transaction(tx.id()).await.unwrap(), Some(tx));
    assert_eq!(
        again
            .balance(&Account::new(AccountKind::DepositsHeld, "p1"))
            .await
            .unwrap(),
        Fen::new(-1_000_000)
    );
    again.close().await;
}

#[tokio::test]
async fn unsupported_urls_are_refused_clearly() {
    for url in ["", "mysql://x/y", "sqlite://"] {
        let err = Store::open(url).await.err().unwrap();
        assert!(
            err.to_string().contains("unsupported database URL"),
            "{url}: {err}"
        );
    }
}
