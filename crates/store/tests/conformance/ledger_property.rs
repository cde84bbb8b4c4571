//! Property: any sequence of ledger operations, committed through the store one batch each
//! (repeats and second reversals refused), leaves the stored ledger equal to the in-memory
//! one, with a zero trial balance and not a fen created or lost.

use jiff::Timestamp;
use proptest::prelude::*;
use uuid::Uuid;
use yunshi_core::Fen;
use yunshi_core::ledger::{Account, AccountKind, Balances, LedgerTransaction, Posting};
use yunshi_store::{StoreError, WriteBatch};

#[derive(Debug, Clone)]
enum Op {
    Pay { order: u8, fen: i64 },
    Release { order: u8, fee_bp: u16 },
    Reverse { which: usize },
    Duplicate { which: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..6, 1i64..5_000_000).prop_map(|(order, fen)| Op::Pay { order, fen }),
        (0u8..6, 0u16..=3_000).prop_map(|(order, fee_bp)| Op::Release { order, fee_bp }),
        (0usize..50).prop_map(|which| Op::Reverse { which }),
        (0usize..50).prop_map(|which| Op::Duplicate { which }),
    ]
}

fn at() -> Timestamp {
    "2026-03-01T02:00:00Z".parse().unwrap()
}

async fn run(ops: Vec<Op>, db: &crate::backend::TestDb) {
    let cash = Account::operator(AccountKind::OperatorCash);
    let escrow = |o: u8| Account::new(AccountKind::BuyerEscrow, format!("o{o}"));
    let payable = Account::new(AccountKind::ProviderPayable, "p1");
    let fees = Account::operator(AccountKind::PlatformFeeRevenue);
    let mut book = Balances::default();
    let mut done: Vec<LedgerTransaction> = Vec::new();
    let mut reversed = std::collections::HashSet::new();
    for op in ops {
        let tx = match op {
            Op::Pay { order, fen } => LedgerTransaction::new(
                Uuid::now_v7(),
                "order_paid",
                format!("o{order}"),
                at(),
                vec![
                    Posting::debit(cash.clone(), Fen::new(fen)),
                    Posting::credit(escrow(order), Fen::new(fen)).unwrap(),
                ],
            )
            .unwrap(),
            Op::Release { order, fee_bp } => {
                let held = -book.balance(&escrow(order)).fen();
                if held <= 0 {
                    continue;
                }
                let fee = held * i64::from(fee_bp) / 10_000;
                let mut postings = vec![Posting::debit(escrow(order), Fen::new(held))];
                postings.push(Posting::credit(payable.clone(), Fen::new(held - fee)).unwrap());
                if fee > 0 {
                    postings.push(Posting::credit(fees.clone(), Fen::new(fee)).unwrap());
                }
                LedgerTransaction::new(
                    Uuid::now_v7(),
                    "escrow_released",
                    format!("o{order}"),
                    at(),
                    postings,
                )
                .unwrap()
            }
            Op::Reverse { which } => {
                if done.is_empty() {
                    continue;
                }
                // A reversal can itself be reversed, once, like any transaction.
                let original = &done[which % done.len()];
                let undo = original.reversal(Uuid::now_v7(), at()).unwrap();
                let result = db
                    .store
                    .commit(WriteBatch {
                        transactions: vec![undo.clone()],
                        ..Default::default()
                    })
                    .await;
                if reversed.insert(original.id()) {
                    result.unwrap();
                    book.apply(&undo).unwrap();
                    done.push(undo);
                } else {
                    assert!(matches!(result, Err(StoreError::AlreadyReversed(_))));
                }
                continue;
            }
            Op::Duplicate { which } => {
                if done.is_empty() {
                    continue;
                }
                let again = done[which % done.len()].clone();
                let result = db
                    .store
                    .commit(WriteBatch {
                        transactions: vec![again],
                        ..Default::default()
                    })
                    .await;
                assert!(matches!(result, Err(StoreError::DuplicateTransaction(_))));
                continue;
            }
        };
        db.store
            .commit(WriteBatch {
                transactions: vec![tx.clone()],
                ..Default::default()
            })
            .await
            .unwrap();
        book.apply(&tx).unwrap();
        done.push(tx);
    }
    assert_eq!(db.store.trial_balance().await.unwrap(), 0);
    for account in [cash.clone(), payable.clone(), fees.clone()]
        .into_iter()
        .chain((0..6).map(escrow))
    {
        assert_eq!(
            db.store.balance(&account).await.unwrap(),
            book.balance(&account),
            "{account}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn stored_ledger_matches_memory_and_never_creates_or_loses_a_fen_sqlite(ops in proptest::collection::vec(op(), 1..60)) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let db = crate::backend::sqlite().await;
            run(ops, &db).await;
            db.finish().await;
        });
    }

    #[test]
    fn stored_ledger_matches_memory_and_never_creates_or_loses_a_fen_postgres(ops in proptest::collection::vec(op(), 1..60)) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let Some(db) = crate::backend::postgres().await else { return };
            run(ops, &db).await;
            db.finish().await;
        });
    }
}
