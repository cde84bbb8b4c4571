//! The raw-database floor for a payment: what the store reads and writes for one paid order —
//! read the order row and the idempotency key, then in one transaction update the order row
//! and insert the idempotency record, the event, the ledger transaction with its two
//! postings and the window-end deadline — with prepared statements and nothing else (no
//! HTTP, no JSON decoding, no decision, no hash chain, no group commit).

use std::time::{Duration, Instant};

use anyhow::Result;
use uuid::Uuid;

/// A stored order about the size of a real one.
fn order_state(i: usize) -> String {
    format!(
        "{{\"order\":{{\"n\":{i},\"pad\":\"{}\"}}}}",
        "x".repeat(1_400)
    )
}

const SQLITE_SCHEMA: [&str; 2] = [
    include_str!("../../../store/migrations/sqlite/0001_foundation.sql"),
    include_str!("../../../store/migrations/sqlite/0002_aggregates.sql"),
];

const PG_SCHEMA: [&str; 2] = [
    include_str!("../../../store/migrations/postgres/0001_foundation.sql"),
    include_str!("../../../store/migrations/postgres/0002_aggregates.sql"),
];

/// `orders` payments, one SQL transaction each, on one connection (SQLite has one writer).
pub fn sqlite(path: &std::path::Path, orders: usize) -> Result<Duration> {
    let mut conn = rusqlite::Connection::open(path)?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")?;
    for sql in SQLITE_SCHEMA {
        conn.execute_batch(sql)?;
    }
    let ids: Vec<Uuid> = (0..orders).map(|_| Uuid::now_v7()).collect();
    {
        let tx = conn.transaction()?;
        for (i, id) in ids.iter().enumerate() {
            tx.execute(
                "INSERT INTO aggregates (kind, id, version, owner, status, state, updated_at)
                 VALUES ('order', ?1, 1, 'buyer', 'awaiting_payment', ?2, 0)",
                rusqlite::params![id.as_bytes(), order_state(i)],
            )?;
        }
        tx.commit()?;
    }
    let start = Instant::now();
    for (i, id) in ids.iter().enumerate() {
        let _state: String = conn
            .prepare_cached("SELECT state FROM aggregates WHERE kind = 'order' AND id = ?1")?
            .query_row([id.as_bytes()], |r| r.get(0))?;
        let key = format!("pay-{id}");
        let _seen = conn
            .prepare_cached(
                "SELECT response FROM idempotency_keys WHERE scope = 'buyer' AND key = ?1",
            )?
            .query_row([&key], |r| r.get::<_, String>(0))
            .ok();
        let tx = conn.transaction()?;
        let state = order_state(i);
        tx.prepare_cached(
            "UPDATE aggregates SET version = version + 1, status = 'held', state = ?2, updated_at = 1
             WHERE kind = 'order' AND id = ?1 AND version = 1",
        )?
        .execute(rusqlite::params![id.as_bytes(), state])?;
        tx.prepare_cached(
            "INSERT INTO idempotency_keys (scope, key, fingerprint, response, created_at)
             VALUES ('buyer', ?1, 'fp', ?2, 1)",
        )?
        .execute(rusqlite::params![key, state])?;
        tx.prepare_cached(
            "INSERT INTO events (id, kind, subject, at, payload, prev_hash, hash)
             VALUES (?1, 'order.paid', ?2, 1, '{}', ?3, ?3)",
        )?
        .execute(rusqlite::params![
            Uuid::now_v7().as_bytes(),
            key,
            [0u8; 32].as_slice()
        ])?;
        let ltx = Uuid::now_v7();
        tx.prepare_cached(
            "INSERT INTO ledger_transactions (id, kind, reference, reverses, at)
             VALUES (?1, 'order_paid', ?2, NULL, 1)",
        )?
        .execute(rusqlite::params![ltx.as_bytes(), key])?;
        for (idx, (kind, amount)) in [("operator_cash", 10_000), ("buyer_escrow", -10_000)]
            .into_iter()
            .enumerate()
        {
            tx.prepare_cached(
                "INSERT INTO ledger_postings (tx_id, idx, account_kind, owner, amount)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(rusqlite::params![
                ltx.as_bytes(),
                idx as i64,
                kind,
                key,
                amount
            ])?;
        }
        tx.prepare_cached(
            "INSERT INTO deadlines (id, kind, subject, due_at, payload, dedupe_key, state)
             VALUES (?1, 'order.window_end', ?2, 1, '{}', ?2, 'pending')",
        )?
        .execute(rusqlite::params![Uuid::now_v7().as_bytes(), key])?;
        tx.commit()?;
    }
    Ok(start.elapsed())
}

/// `orders` payments, one SQL transaction each, from `clients` connections at once.
pub async fn postgres(url: &str, orders: usize, clients: usize) -> Result<Duration> {
    let (setup, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    for sql in PG_SCHEMA {
        setup.batch_execute(sql).await?;
    }
    let ids: Vec<Uuid> = (0..orders).map(|_| Uuid::now_v7()).collect();
    let states: Vec<String> = (0..orders).map(order_state).collect();
    setup
        .execute(
            "INSERT INTO aggregates (kind, id, version, owner, status, state, updated_at)
             SELECT 'order', id, 1, 'buyer', 'awaiting_payment', state, 0
             FROM UNNEST($1::UUID[], $2::TEXT[]) AS t (id, state)",
            &[&ids, &states],
        )
        .await?;
    let lanes = clients.clamp(1, 16);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for lane in 0..lanes {
        let mine: Vec<(usize, Uuid)> = ids
            .iter()
            .copied()
            .enumerate()
            .filter(|(i, _)| i % lanes == lane)
            .collect();
        let url = url.to_owned();
        tasks.push(tokio::spawn(async move { postgres_lane(&url, mine).await }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(start.elapsed())
}

async fn postgres_lane(url: &str, orders: Vec<(usize, Uuid)>) -> Result<()> {
    let (mut client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    for (i, id) in orders {
        let key = format!("pay-{id}");
        client
            .query_one(
                "SELECT state FROM aggregates WHERE kind = 'order' AND id = $1",
                &[&id],
            )
            .await?;
        client
            .query_opt(
                "SELECT response FROM idempotency_keys WHERE scope = 'buyer' AND key = $1",
                &[&key],
            )
            .await?;
        let state = order_state(i);
        let tx = client.transaction().await?;
        tx.execute(
            "UPDATE aggregates SET version = version + 1, status = 'held', state = $2, updated_at = 1
             WHERE kind = 'order' AND id = $1 AND version = 1",
            &[&id, &state],
        )
        .await?;
        tx.execute(
            "INSERT INTO idempotency_keys (scope, key, fingerprint, response, created_at)
             VALUES ('buyer', $1, 'fp', $2, 1)",
            &[&key, &state],
        )
        .await?;
        tx.execute(
            "INSERT INTO events (seq, id, kind, subject, at, payload, prev_hash, hash)
             VALUES ($1, $2, 'order.paid', $3, 1, '{}', $4, $4)",
            &[
                &(i as i64 + 1),
                &Uuid::now_v7(),
                &key,
                &[0u8; 32].as_slice(),
            ],
        )
        .await?;
        let ltx = Uuid::now_v7();
        tx.execute(
            "INSERT INTO ledger_transactions (id, kind, reference, reverses, at)
             VALUES ($1, 'order_paid', $2, NULL, 1)",
            &[&ltx, &key],
        )
        .await?;
        tx.execute(
            "INSERT INTO ledger_postings (tx_id, idx, account_kind, owner, amount)
             VALUES ($1, 0, 'operator_cash', $2, 10000), ($1, 1, 'buyer_escrow', $2, -10000)",
            &[&ltx, &key],
        )
        .await?;
        tx.execute(
            "INSERT INTO deadlines (id, kind, subject, due_at, payload, dedupe_key, state)
             VALUES ($1, 'order.window_end', $2, 1, '{}', $2, 'pending')",
            &[&Uuid::now_v7(), &key],
        )
        .await?;
        tx.commit().await?;
    }
    Ok(())
}
