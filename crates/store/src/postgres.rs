//! The PostgreSQL backend (also the shape for Postgres-compatible distributed SQL).
//!
//! Each commit is one transaction at READ COMMITTED; correctness comes from constraints and
//! conditional updates (a deadline fires only `WHERE state = 'pending'`, a reversal is
//! unique per original, an idempotency key is a primary key), and the event chain is ordered
//! by locking its single head row. Serialization failures and deadlocks are retried.

use std::time::Duration;

use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use jiff::{SignedDuration, Timestamp};
use tokio_postgres::error::SqlState;
use tokio_postgres::{NoTls, Row};
use uuid::Uuid;
use yunshi_core::Fen;
use yunshi_core::ledger::{Account, AccountKind, LedgerTransaction, Posting};
use yunshi_core::settlement::SettlementItem;

use crate::chain::{Hash, event_hash, hex};
use crate::model::*;
use crate::{StoreError, from_micros, to_micros};

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "foundation",
        include_str!("../migrations/postgres/0001_foundation.sql"),
    ),
    (
        2,
        "aggregates",
        include_str!("../migrations/postgres/0002_aggregates.sql"),
    ),
    (
        3,
        "api_tokens_by_principal",
        include_str!("../migrations/postgres/0003_api_tokens_by_principal.sql"),
    ),
    (
        4,
        "files",
        include_str!("../migrations/postgres/0004_files.sql"),
    ),
    (
        5,
        "settlement_items",
        include_str!("../migrations/postgres/0005_settlement_items.sql"),
    ),
    (
        6,
        "audit_of_changes",
        include_str!("../migrations/postgres/0006_audit_of_changes.sql"),
    ),
];

const RETRIES: u32 = 8;

pub(crate) struct PgStore {
    pool: Pool,
}

fn pg_err(e: tokio_postgres::Error) -> StoreError {
    let retryable = matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
    );
    let msg = match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => e.to_string(),
    };
    if retryable {
        StoreError::Busy(msg)
    } else {
        StoreError::Database(msg)
    }
}

fn pool_err(e: deadpool_postgres::PoolError) -> StoreError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => pg_err(e),
        other => StoreError::Database(other.to_string()),
    }
}

/// The UUID in a unique-violation detail such as `Key (reverses)=(0193…) already exists.`
fn uuid_in_detail(e: &tokio_postgres::Error) -> Option<Uuid> {
    let detail = e.as_db_error()?.detail()?;
    let start = detail.find(")=(")? + 3;
    let end = start + detail[start..].find(')')?;
    detail[start..end].parse().ok()
}

fn constraint(e: &tokio_postgres::Error) -> Option<(&SqlState, &str)> {
    let db = e.as_db_error()?;
    Some((db.code(), db.constraint()?))
}

impl PgStore {
    pub(crate) async fn open(url: &str) -> Result<Self, StoreError> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Database(format!("database URL: {e}")))?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(16)
            .wait_timeout(Some(Duration::from_secs(30)))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Database(e.to_string()))?;
        let store = Self { pool };
        store.ping().await?;
        Ok(store)
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(pool_err)
    }

    pub(crate) async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        // Two processes creating this table at once can collide in the catalog; the loser
        // retries and finds it there.
        let create = "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";
        if client.batch_execute(create).await.is_err() {
            tokio::time::sleep(Duration::from_millis(50)).await;
            client.batch_execute(create).await.map_err(pg_err)?;
        }
        for &(version, name, sql) in MIGRATIONS {
            let tx = client.transaction().await.map_err(pg_err)?;
            // Claiming the version first makes a concurrent migrator wait here, then skip.
            let claimed = tx
                .execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)
                     ON CONFLICT (version) DO NOTHING",
                    &[&version, &name, &to_micros(Timestamp::now())],
                )
                .await
                .map_err(pg_err)?;
            if claimed == 1 {
                tx.batch_execute(sql).await.map_err(|e| {
                    StoreError::Database(format!("migration {version} {name}: {}", pg_err(e)))
                })?;
            }
            tx.commit().await.map_err(pg_err)?;
        }
        Ok(())
    }

    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        let client = self.client().await?;
        client.simple_query("SELECT 1").await.map_err(pg_err)?;
        Ok(())
    }

    pub(crate) async fn commit(&self, batch: WriteBatch) -> Result<Committed, StoreError> {
        let mut attempt = 0;
        loop {
            let mut client = self.client().await?;
            let result = async {
                let tx = client.transaction().await.map_err(pg_err)?;
                let outcome = apply_batch(&tx, &batch).await;
                match outcome {
                    Ok(done) => {
                        tx.commit().await.map_err(pg_err)?;
                        Ok(done)
                    }
                    Err(e) => {
                        let _ = tx.rollback().await;
                        Err(e)
                    }
                }
            }
            .await;
            match result {
                Err(StoreError::Busy(_)) if attempt < RETRIES => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(2 << attempt)).await;
                }
                other => return other,
            }
        }
    }

    /// All batches in one transaction, each in its own savepoint.
    pub(crate) async fn commit_many(
        &self,
        batches: Vec<WriteBatch>,
    ) -> Result<Vec<Result<Committed, StoreError>>, StoreError> {
        let mut attempt = 0;
        loop {
            let mut client = self.client().await?;
            let result = async {
                let mut tx = client.transaction().await.map_err(pg_err)?;
                let mut results = Vec::with_capacity(batches.len());
                for batch in &batches {
                    let sp = tx.savepoint("batch").await.map_err(pg_err)?;
                    match apply_batch(&sp, batch).await {
                        Ok(done) => {
                            sp.commit().await.map_err(pg_err)?;
                            results.push(Ok(done));
                        }
                        Err(e @ StoreError::Busy(_)) => return Err(e),
                        Err(e) => {
                            sp.rollback().await.map_err(pg_err)?;
                            results.push(Err(e));
                        }
                    }
                }
                tx.commit().await.map_err(pg_err)?;
                Ok(results)
            }
            .await;
            match result {
                Err(StoreError::Busy(_)) if attempt < RETRIES => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(2 << attempt)).await;
                }
                other => return other,
            }
        }
    }

    pub(crate) async fn balance(&self, account: &Account) -> Result<Fen, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT COALESCE(SUM(amount), 0)::TEXT FROM ledger_postings
                 WHERE account_kind = $1 AND owner = $2",
                &[&account.kind.as_str(), &account.owner],
            )
            .await
            .map_err(pg_err)?;
        crate::fen_of_total(total(&row, 0)?)
    }

    /// Totals per account kind, exact: `SUM` of `BIGINT` is `NUMERIC` in PostgreSQL, read as
    /// text into 128 bits rather than cast back to a `BIGINT` that could overflow.
    pub(crate) async fn totals_by_kind(&self) -> Result<Vec<(AccountKind, i128)>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT account_kind, SUM(amount)::TEXT FROM ledger_postings
                 GROUP BY account_kind ORDER BY account_kind",
                &[],
            )
            .await
            .map_err(pg_err)?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get(0).map_err(pg_err)?;
                let kind = crate::account_kind(&kind)?;
                Ok((kind, total(r, 1)?))
            })
            .collect()
    }

    pub(crate) async fn settlement_items(
        &self,
        q: &ItemQuery,
    ) -> Result<Vec<SettlementItem>, StoreError> {
        let (filter, args) = crate::item_filter(q, true);
        let sql = format!(
            "SELECT {} FROM settlement_items{filter}",
            crate::ITEM_COLUMNS
        );
        let params: Vec<Box<dyn tokio_postgres::types::ToSql + Sync + Send>> = args
            .into_iter()
            .map(|a| -> Box<dyn tokio_postgres::types::ToSql + Sync + Send> {
                match a {
                    crate::ItemArg::Text(t) => Box::new(t),
                    crate::ItemArg::Id(id) => Box::new(id),
                    crate::ItemArg::Int(i) => Box::new(i),
                }
            })
            .collect();
        let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
            .iter()
            .map(|p| p.as_ref() as &(dyn tokio_postgres::types::ToSql + Sync))
            .collect();
        let client = self.client().await?;
        let rows = client.query(&sql, &refs).await.map_err(pg_err)?;
        rows.iter()
            .map(|r| {
                crate::ItemRow {
                    id: r.get(0),
                    provider: r.get(1),
                    order: r.get(2),
                    product: r.get(3),
                    kind: r.get(4),
                    at: r.get(5),
                    amount: r.get(6),
                    fee: r.get(7),
                    service: (r.get(8), r.get(9)),
                    consignment: r.get(10),
                }
                .into_item()
            })
            .collect()
    }

    pub(crate) async fn item_totals(&self) -> Result<Vec<(String, ItemTotals)>, StoreError> {
        self.totals_where("TRUE", &[]).await
    }

    pub(crate) async fn item_totals_of(
        &self,
        providers: Vec<String>,
    ) -> Result<Vec<(String, ItemTotals)>, StoreError> {
        self.totals_where("provider = ANY($1)", &[&providers]).await
    }

    /// Settlement item totals per provider, of the items `filter` keeps.
    async fn totals_where(
        &self,
        filter: &str,
        args: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<(String, ItemTotals)>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT provider, SUM(amount)::TEXT, SUM(fee)::TEXT FROM settlement_items
                     WHERE {filter} GROUP BY provider ORDER BY provider"
                ),
                args,
            )
            .await
            .map_err(pg_err)?;
        rows.iter()
            .map(|r| {
                let totals = ItemTotals {
                    amount: crate::fen_of_total(total(r, 1)?)?,
                    fee: crate::fen_of_total(total(r, 2)?)?,
                };
                Ok((r.try_get(0).map_err(pg_err)?, totals))
            })
            .collect()
    }

    pub(crate) async fn owner_balances(
        &self,
        kind: AccountKind,
    ) -> Result<Vec<(String, Fen)>, StoreError> {
        self.balances_of(kind, None).await
    }

    pub(crate) async fn owner_balances_of(
        &self,
        kind: AccountKind,
        owners: Vec<String>,
    ) -> Result<Vec<(String, Fen)>, StoreError> {
        self.balances_of(kind, Some(owners)).await
    }

    /// The balance of every account of `kind` by owner, of every owner or of `owners`.
    async fn balances_of(
        &self,
        kind: AccountKind,
        owners: Option<Vec<String>>,
    ) -> Result<Vec<(String, Fen)>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT owner, SUM(amount)::TEXT FROM ledger_postings
                 WHERE account_kind = $1 AND ($2::TEXT[] IS NULL OR owner = ANY($2))
                 GROUP BY owner ORDER BY owner",
                &[&kind.as_str(), &owners],
            )
            .await
            .map_err(pg_err)?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get(0).map_err(pg_err)?,
                    crate::fen_of_total(total(r, 1)?)?,
                ))
            })
            .collect()
    }

    pub(crate) async fn unbalanced_transaction(&self) -> Result<Option<Uuid>, StoreError> {
        let client = self.client().await?;
        Ok(client
            .query_opt(
                "SELECT tx_id FROM ledger_postings GROUP BY tx_id HAVING SUM(amount) <> 0 LIMIT 1",
                &[],
            )
            .await
            .map_err(pg_err)?
            .map(|r| r.get(0)))
    }

    pub(crate) async fn ledger_transaction(
        &self,
        id: Uuid,
    ) -> Result<Option<LedgerTransaction>, StoreError> {
        let client = self.client().await?;
        let Some(head) = client
            .query_opt(
                "SELECT kind, reference, reverses, at FROM ledger_transactions WHERE id = $1",
                &[&id],
            )
            .await
            .map_err(pg_err)?
        else {
            return Ok(None);
        };
        let rows = client
            .query(
                "SELECT account_kind, owner, amount FROM ledger_postings WHERE tx_id = $1 ORDER BY idx",
                &[&id],
            )
            .await
            .map_err(pg_err)?;
        let postings = rows
            .iter()
            .map(|r| {
                let kind: String = r.get(0);
                let kind = crate::account_kind(&kind)?;
                Ok(Posting {
                    account: Account::new(kind, r.get::<_, String>(1)),
                    amount: Fen::new(r.get(2)),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        LedgerTransaction::restore(
            id,
            head.get(0),
            head.get(1),
            head.get(2),
            from_micros(head.get(3))?,
            postings,
        )
        .map(Some)
        .map_err(|e| StoreError::Corrupt(format!("transaction {id}: {e}")))
    }

    pub(crate) async fn events_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT seq, id, kind, subject, at, payload, prev_hash, hash FROM events
                 WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&after, &i64::from(limit)],
            )
            .await
            .map_err(pg_err)?;
        rows.iter()
            .map(|r| {
                let seq: i64 = r.get(0);
                let payload: String = r.get(5);
                let prev: Vec<u8> = r.get(6);
                let hash: Vec<u8> = r.get(7);
                Ok(StoredEvent {
                    seq,
                    id: r.get(1),
                    kind: r.get(2),
                    subject: r.get(3),
                    at: from_micros(r.get(4))?,
                    payload: serde_json::from_str(&payload)
                        .map_err(|e| StoreError::Corrupt(format!("event {seq} payload: {e}")))?,
                    prev_hash: hex(&to_hash(&prev)?),
                    hash: hex(&to_hash(&hash)?),
                })
            })
            .collect()
    }

    pub(crate) async fn changes_after(&self, seq: i64) -> Result<Changes, StoreError> {
        let client = self.client().await?;
        let accounts = client
            .query(
                "SELECT DISTINCT p.account_kind, p.owner
                 FROM ledger_transactions t JOIN ledger_postings p ON p.tx_id = t.id
                 WHERE t.chain_seq >= $1",
                &[&seq],
            )
            .await
            .map_err(pg_err)?
            .iter()
            .map(|r| {
                let kind: String = r.get(0);
                let kind = crate::account_kind(&kind)?;
                Ok((kind, r.get::<_, String>(1)))
            })
            .collect::<Result<_, StoreError>>()?;
        let aggregates = client
            .query(
                "SELECT kind, id FROM aggregates WHERE chain_seq >= $1",
                &[&seq],
            )
            .await
            .map_err(pg_err)?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let item_providers = client
            .query(
                "SELECT DISTINCT provider FROM settlement_items WHERE chain_seq >= $1",
                &[&seq],
            )
            .await
            .map_err(pg_err)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        Ok(Changes {
            accounts,
            aggregates,
            item_providers,
        })
    }

    pub(crate) async fn chain_head(&self) -> Result<(i64, Hash), StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one("SELECT seq, hash FROM event_chain_head", &[])
            .await
            .map_err(pg_err)?;
        Ok((row.get(0), to_hash(&row.get::<_, Vec<u8>>(1))?))
    }

    pub(crate) async fn deadline(&self, id: Uuid) -> Result<Option<Deadline>, StoreError> {
        let client = self.client().await?;
        client
            .query_opt(
                &format!("SELECT {DEADLINE_COLUMNS} FROM deadlines WHERE id = $1"),
                &[&id],
            )
            .await
            .map_err(pg_err)?
            .map(|r| parse_deadline(&r))
            .transpose()
    }

    pub(crate) async fn claim_due_deadlines(
        &self,
        now: Timestamp,
        worker: &str,
        lease: SignedDuration,
        limit: u32,
    ) -> Result<Vec<Deadline>, StoreError> {
        let until = to_micros(
            now.checked_add(lease)
                .map_err(|e| StoreError::Database(e.to_string()))?,
        );
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "UPDATE deadlines SET claimed_by = $1, claim_until = $2
                     WHERE id IN (SELECT id FROM deadlines
                                  WHERE state = 'pending' AND due_at <= $3
                                    AND (claim_until IS NULL OR claim_until <= $3)
                                  ORDER BY due_at, id LIMIT $4
                                  FOR UPDATE SKIP LOCKED)
                     RETURNING {DEADLINE_COLUMNS}"
                ),
                &[&worker, &until, &to_micros(now), &i64::from(limit)],
            )
            .await
            .map_err(pg_err)?;
        let mut claimed = rows
            .iter()
            .map(parse_deadline)
            .collect::<Result<Vec<_>, _>>()?;
        claimed.sort_by(|a, b| a.due_at.cmp(&b.due_at).then(a.id.cmp(&b.id)));
        Ok(claimed)
    }

    pub(crate) async fn due_deadlines(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<Deadline>, StoreError> {
        let client = self.client().await?;
        client
            .query(
                &format!(
                    "SELECT {DEADLINE_COLUMNS} FROM deadlines
                     WHERE state = 'pending' AND due_at <= $1
                       AND (claim_until IS NULL OR claim_until <= $1)
                     ORDER BY due_at, id LIMIT $2"
                ),
                &[&to_micros(now), &i64::from(limit)],
            )
            .await
            .map_err(pg_err)?
            .iter()
            .map(parse_deadline)
            .collect()
    }

    pub(crate) async fn next_deadline_due(&self) -> Result<Option<Timestamp>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT MIN(due_at) FROM deadlines WHERE state = 'pending'",
                &[],
            )
            .await
            .map_err(pg_err)?;
        row.get::<_, Option<i64>>(0).map(from_micros).transpose()
    }

    pub(crate) async fn aggregate(
        &self,
        kind: &str,
        id: Uuid,
    ) -> Result<Option<StoredAggregate>, StoreError> {
        let client = self.client().await?;
        client
            .query_opt(
                &format!("SELECT {AGGREGATE_COLUMNS} FROM aggregates WHERE kind = $1 AND id = $2"),
                &[&kind, &id],
            )
            .await
            .map_err(pg_err)?
            .map(|r| parse_aggregate(&r))
            .transpose()
    }

    pub(crate) async fn aggregates_by_ids(
        &self,
        kind: &str,
        ids: Vec<Uuid>,
    ) -> Result<Vec<StoredAggregate>, StoreError> {
        let client = self.client().await?;
        client
            .query(
                &format!(
                    "SELECT {AGGREGATE_COLUMNS} FROM aggregates
                     WHERE kind = $1 AND id = ANY($2) ORDER BY id"
                ),
                &[&kind, &ids],
            )
            .await
            .map_err(pg_err)?
            .iter()
            .map(parse_aggregate)
            .collect()
    }

    pub(crate) async fn aggregates_owned_by(
        &self,
        kind: &str,
        owners: Vec<String>,
    ) -> Result<Vec<StoredAggregate>, StoreError> {
        let client = self.client().await?;
        client
            .query(
                &format!(
                    "SELECT {AGGREGATE_COLUMNS} FROM aggregates
                     WHERE kind = $1 AND owner = ANY($2) ORDER BY owner, id"
                ),
                &[&kind, &owners],
            )
            .await
            .map_err(pg_err)?
            .iter()
            .map(parse_aggregate)
            .collect()
    }

    pub(crate) async fn aggregates(
        &self,
        q: &AggregateQuery,
    ) -> Result<Vec<StoredAggregate>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {AGGREGATE_COLUMNS} FROM aggregates
                     WHERE kind = $1 AND ($2::TEXT IS NULL OR owner = $2)
                       AND ($3::TEXT IS NULL OR status = $3) AND ($4::UUID IS NULL OR id > $4)
                     ORDER BY id LIMIT $5"
                ),
                &[&q.kind, &q.owner, &q.status, &q.after, &i64::from(q.limit)],
            )
            .await
            .map_err(pg_err)?;
        rows.iter().map(parse_aggregate).collect()
    }

    pub(crate) async fn unique_key(
        &self,
        scope: &str,
        key: &str,
    ) -> Result<Option<Uuid>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT id FROM unique_keys WHERE scope = $1 AND key = $2",
                &[&scope, &key],
            )
            .await
            .map_err(pg_err)?;
        Ok(row.map(|r| r.get(0)))
    }

    pub(crate) async fn idempotency_record(
        &self,
        scope: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let client = self.client().await?;
        client
            .query_opt(
                "SELECT fingerprint, response, created_at FROM idempotency_keys
                 WHERE scope = $1 AND key = $2",
                &[&scope, &key],
            )
            .await
            .map_err(pg_err)?
            .map(|r| {
                let response: String = r.get(1);
                Ok(IdempotencyRecord {
                    scope: scope.to_string(),
                    key: key.to_string(),
                    fingerprint: r.get(0),
                    response: serde_json::from_str(&response)
                        .map_err(|e| StoreError::Corrupt(format!("idempotency response: {e}")))?,
                    created_at: from_micros(r.get(2))?,
                })
            })
            .transpose()
    }

    pub(crate) async fn put_api_token(&self, t: &ApiToken) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO api_tokens (hash, principal, role, label, created_at, expires_at, revoked_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (hash) DO UPDATE SET principal = excluded.principal, role = excluded.role,
                   label = excluded.label, expires_at = excluded.expires_at, revoked_at = excluded.revoked_at",
                &[
                    &t.hash,
                    &t.principal,
                    &t.role,
                    &t.label,
                    &to_micros(t.created_at),
                    &t.expires_at.map(to_micros),
                    &t.revoked_at.map(to_micros),
                ],
            )
            .await
            .map_err(pg_err)?;
        Ok(())
    }

    pub(crate) async fn put_file(&self, f: &StoredFile) -> Result<bool, StoreError> {
        let size = i64::try_from(f.size_bytes)
            .map_err(|_| StoreError::Corrupt(format!("file {} is too large", f.id)))?;
        let client = self.client().await?;
        let n = client
            .execute(
                "INSERT INTO files (id, owner, content_type, sha256, size_bytes, content, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
                &[
                    &f.id,
                    &f.owner,
                    &f.content_type,
                    &f.sha256,
                    &size,
                    &f.content,
                    &to_micros(f.created_at),
                ],
            )
            .await
            .map_err(pg_err)?;
        Ok(n > 0)
    }

    pub(crate) async fn file(&self, id: Uuid) -> Result<Option<StoredFile>, StoreError> {
        let client = self.client().await?;
        client
            .query_opt(
                "SELECT owner, content_type, sha256, size_bytes, content, created_at
                 FROM files WHERE id = $1",
                &[&id],
            )
            .await
            .map_err(pg_err)?
            .map(|r| {
                let size: i64 = r.get(3);
                Ok(StoredFile {
                    id,
                    owner: r.get(0),
                    content_type: r.get(1),
                    sha256: r.get(2),
                    size_bytes: u64::try_from(size)
                        .map_err(|_| StoreError::Corrupt(format!("file {id} size {size}")))?,
                    content: r.get(4),
                    created_at: from_micros(r.get(5))?,
                })
            })
            .transpose()
    }

    pub(crate) async fn api_token(&self, hash: &str) -> Result<Option<ApiToken>, StoreError> {
        let client = self.client().await?;
        client
            .query_opt(
                "SELECT hash, principal, role, label, created_at, expires_at, revoked_at
                 FROM api_tokens WHERE hash = $1",
                &[&hash],
            )
            .await
            .map_err(pg_err)?
            .map(|r| {
                Ok(ApiToken {
                    hash: r.get(0),
                    principal: r.get(1),
                    role: r.get(2),
                    label: r.get(3),
                    created_at: from_micros(r.get(4))?,
                    expires_at: r.get::<_, Option<i64>>(5).map(from_micros).transpose()?,
                    revoked_at: r.get::<_, Option<i64>>(6).map(from_micros).transpose()?,
                })
            })
            .transpose()
    }

    pub(crate) async fn api_tokens_of(&self, principal: &str) -> Result<Vec<ApiToken>, StoreError> {
        let client = self.client().await?;
        client
            .query(
                "SELECT hash, principal, role, label, created_at, expires_at, revoked_at
                 FROM api_tokens WHERE principal = $1 ORDER BY created_at, hash",
                &[&principal],
            )
            .await
            .map_err(pg_err)?
            .iter()
            .map(|r| {
                Ok(ApiToken {
                    hash: r.get(0),
                    principal: r.get(1),
                    role: r.get(2),
                    label: r.get(3),
                    created_at: from_micros(r.get(4))?,
                    expires_at: r.get::<_, Option<i64>>(5).map(from_micros).transpose()?,
                    revoked_at: r.get::<_, Option<i64>>(6).map(from_micros).transpose()?,
                })
            })
            .collect()
    }

    pub(crate) async fn revoke_api_token(
        &self,
        hash: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let n = client
            .execute(
                "UPDATE api_tokens SET revoked_at = $2 WHERE hash = $1 AND revoked_at IS NULL",
                &[&hash, &to_micros(at)],
            )
            .await
            .map_err(pg_err)?;
        Ok(n > 0)
    }

    pub(crate) async fn has_active_token_with_role(
        &self,
        role: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM api_tokens WHERE role = $1 AND revoked_at IS NULL
                   AND (expires_at IS NULL OR expires_at > $2))",
                &[&role, &to_micros(now)],
            )
            .await
            .map_err(pg_err)?;
        Ok(row.get(0))
    }

    pub(crate) async fn close(&self) {
        self.pool.close();
    }
}

const DEADLINE_COLUMNS: &str = "id, kind, subject, due_at, payload, dedupe_key, state, fired_at";

fn parse_deadline(r: &Row) -> Result<Deadline, StoreError> {
    let payload: String = r.get(4);
    let state: String = r.get(6);
    Ok(Deadline {
        id: r.get(0),
        kind: r.get(1),
        subject: r.get(2),
        due_at: from_micros(r.get(3))?,
        payload: serde_json::from_str(&payload)
            .map_err(|e| StoreError::Corrupt(format!("deadline payload: {e}")))?,
        dedupe_key: r.get(5),
        state: DeadlineState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("deadline state {state:?}")))?,
        fired_at: r.get::<_, Option<i64>>(7).map(from_micros).transpose()?,
    })
}

fn to_hash(b: &[u8]) -> Result<Hash, StoreError> {
    b.try_into()
        .map_err(|_| StoreError::Corrupt(format!("hash of {} bytes", b.len())))
}

async fn insert_items<C: GenericClient>(
    tx: &C,
    items: &[SettlementItem],
    stamp: i64,
) -> Result<(), StoreError> {
    let ids: Vec<Uuid> = items.iter().map(|i| i.id).collect();
    let providers: Vec<String> = items.iter().map(|i| i.provider.to_string()).collect();
    let orders: Vec<Uuid> = items.iter().map(|i| i.order.uuid()).collect();
    let products: Vec<Uuid> = items.iter().map(|i| i.product.uuid()).collect();
    let kinds: Vec<&str> = items.iter().map(|i| i.kind.as_str()).collect();
    let ats: Vec<i64> = items.iter().map(|i| to_micros(i.at)).collect();
    let amounts: Vec<i64> = items.iter().map(|i| i.amount.fen()).collect();
    let fees: Vec<i64> = items.iter().map(|i| i.fee.fen()).collect();
    let starts: Vec<Option<String>> = items
        .iter()
        .map(|i| i.service.map(|s| s.start.to_string()))
        .collect();
    let consigned: Vec<bool> = items.iter().map(|i| i.consignment).collect();
    let ends: Vec<Option<String>> = items
        .iter()
        .map(|i| i.service.map(|s| s.end.to_string()))
        .collect();
    tx.execute(
        "INSERT INTO settlement_items (id, provider, order_id, product, kind, at, amount, fee,
                                       service_start, service_end, consignment, chain_seq)
         SELECT *, $12::BIGINT FROM UNNEST($1::UUID[], $2::TEXT[], $3::UUID[], $4::UUID[],
                              $5::TEXT[], $6::BIGINT[], $7::BIGINT[], $8::BIGINT[], $9::TEXT[],
                              $10::TEXT[], $11::BOOLEAN[])",
        &[
            &ids, &providers, &orders, &products, &kinds, &ats, &amounts, &fees, &starts, &ends,
            &consigned, &stamp,
        ],
    )
    .await
    .map_err(pg_err)?;
    Ok(())
}

async fn apply_batch<C: GenericClient>(
    tx: &C,
    batch: &WriteBatch,
) -> Result<Committed, StoreError> {
    if let Some(claim) = &batch.idempotency {
        let inserted = tx
            .execute(
                "INSERT INTO idempotency_keys (scope, key, fingerprint, response, created_at)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (scope, key) DO NOTHING",
                &[
                    &claim.scope,
                    &claim.key,
                    &claim.fingerprint,
                    &claim.response.to_string(),
                    &to_micros(claim.at),
                ],
            )
            .await
            .map_err(pg_err)?;
        if inserted == 0 {
            let row = tx
                .query_one(
                    "SELECT fingerprint, response FROM idempotency_keys WHERE scope = $1 AND key = $2",
                    &[&claim.scope, &claim.key],
                )
                .await
                .map_err(pg_err)?;
            let fingerprint: String = row.get(0);
            if fingerprint != claim.fingerprint {
                return Err(StoreError::IdempotencyMismatch {
                    key: claim.key.clone(),
                });
            }
            let response: String = row.get(1);
            let response = serde_json::from_str(&response)
                .map_err(|e| StoreError::Corrupt(format!("idempotency response: {e}")))?;
            return Ok(Committed::Replayed { response });
        }
    }

    for fired in &batch.fire {
        let n = tx
            .execute(
                "UPDATE deadlines SET state = 'fired', fired_at = $2, claimed_by = NULL, claim_until = NULL
                 WHERE id = $1 AND state = 'pending' AND due_at <= $2",
                &[&fired.id, &to_micros(fired.at)],
            )
            .await
            .map_err(pg_err)?;
        if n == 0 {
            return Err(StoreError::DeadlineNotPending(fired.id));
        }
    }
    for id in &batch.cancel {
        let n = tx
            .execute(
                "UPDATE deadlines SET state = 'cancelled', claimed_by = NULL, claim_until = NULL
                 WHERE id = $1 AND state = 'pending'",
                &[id],
            )
            .await
            .map_err(pg_err)?;
        if n == 0 {
            return Err(StoreError::DeadlineNotPending(*id));
        }
    }
    for key in &batch.cancel_keys {
        tx.execute(
            "UPDATE deadlines SET state = 'cancelled', claimed_by = NULL, claim_until = NULL
             WHERE dedupe_key = $1 AND state = 'pending'",
            &[key],
        )
        .await
        .map_err(pg_err)?;
    }
    for d in &batch.schedule {
        tx.execute(
            "INSERT INTO deadlines (id, kind, subject, due_at, payload, dedupe_key, state)
             VALUES ($1, $2, $3, $4, $5, $6, 'pending')",
            &[
                &d.id,
                &d.kind,
                &d.subject,
                &to_micros(d.due_at),
                &d.payload.to_string(),
                &d.dedupe_key,
            ],
        )
        .await
        .map_err(|e| match constraint(&e) {
            Some((code, _)) if *code == SqlState::UNIQUE_VIOLATION => {
                StoreError::DuplicateDeadline(
                    d.dedupe_key.clone().unwrap_or_else(|| d.id.to_string()),
                )
            }
            _ => pg_err(e),
        })?;
    }

    // The chain's head, locked before anything the audit of changes looks for is written:
    // each such write carries it, and no mark an audit sees before this commits is beyond it.
    let writes = !(batch.aggregates.is_empty()
        && batch.transactions.is_empty()
        && batch.settlement_items.is_empty()
        && batch.events.is_empty());
    let (mut seq, mut prev): (i64, Hash) = if writes {
        let head = tx
            .query_one("SELECT seq, hash FROM event_chain_head FOR UPDATE", &[])
            .await
            .map_err(pg_err)?;
        (head.get(0), to_hash(&head.get::<_, Vec<u8>>(1))?)
    } else {
        (0, crate::chain::GENESIS)
    };
    let stamp = seq;

    write_aggregates(tx, &batch.aggregates, stamp).await?;
    if batch.unique_keys.len() >= BULK {
        insert_unique_keys(tx, &batch.unique_keys).await?;
    } else {
        for k in &batch.unique_keys {
            insert_unique_key(tx, k).await?;
        }
    }

    if !batch.transactions.is_empty() {
        insert_transactions(tx, &batch.transactions, stamp).await?;
    }
    if !batch.settlement_items.is_empty() {
        insert_items(tx, &batch.settlement_items, stamp).await?;
    }

    let mut event_seqs = Vec::with_capacity(batch.events.len());
    if !batch.events.is_empty() {
        let n = batch.events.len();
        let (
            mut seqs,
            mut ids,
            mut kinds,
            mut subjects,
            mut ats,
            mut payloads,
            mut prevs,
            mut hashes,
        ) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for e in &batch.events {
            seq += 1;
            let payload = e.payload.to_string();
            let at = to_micros(e.at);
            let hash = event_hash(&prev, seq, e.id, &e.kind, &e.subject, at, &payload);
            seqs.push(seq);
            ids.push(e.id);
            kinds.push(e.kind.as_str());
            subjects.push(e.subject.as_str());
            ats.push(at);
            payloads.push(payload);
            prevs.push(prev.to_vec());
            hashes.push(hash.to_vec());
            prev = hash;
        }
        tx.execute(
            "INSERT INTO events (seq, id, kind, subject, at, payload, prev_hash, hash)
             SELECT * FROM UNNEST($1::BIGINT[], $2::UUID[], $3::TEXT[], $4::TEXT[], $5::BIGINT[],
                                  $6::TEXT[], $7::BYTEA[], $8::BYTEA[])",
            &[
                &seqs, &ids, &kinds, &subjects, &ats, &payloads, &prevs, &hashes,
            ],
        )
        .await
        .map_err(pg_err)?;
        tx.execute(
            "UPDATE event_chain_head SET seq = $1, hash = $2",
            &[&seq, &prev.to_vec()],
        )
        .await
        .map_err(pg_err)?;
        event_seqs = seqs;
    }
    Ok(Committed::Applied { event_seqs })
}

/// Inserts a new aggregate or updates it if still at the expected version.
/// From this many rows a batch writes aggregates and unique keys as `UNNEST` arrays: one
/// round trip for all instead of one each (a settlement run writes thousands).
const BULK: usize = 16;

/// The batch's aggregates: one statement for the new ones and one for the updates when there
/// are many and each aggregate appears once; otherwise one by one, in order (a later write
/// may expect the version an earlier one makes).
async fn write_aggregates<C: GenericClient>(
    tx: &C,
    all: &[AggregateWrite],
    stamp: i64,
) -> Result<(), StoreError> {
    let distinct: std::collections::HashSet<(&str, Uuid)> =
        all.iter().map(|a| (a.kind.as_str(), a.id)).collect();
    if all.len() < BULK || distinct.len() < all.len() {
        for a in all {
            write_aggregate(tx, a, stamp).await?;
        }
        return Ok(());
    }
    let (new, old): (Vec<&AggregateWrite>, Vec<&AggregateWrite>) =
        all.iter().partition(|a| a.expected_version.is_none());
    let columns = |rows: &[&AggregateWrite]| {
        (
            rows.iter().map(|a| a.kind.clone()).collect::<Vec<_>>(),
            rows.iter().map(|a| a.id).collect::<Vec<_>>(),
            rows.iter().map(|a| a.owner.clone()).collect::<Vec<_>>(),
            rows.iter().map(|a| a.status.clone()).collect::<Vec<_>>(),
            rows.iter().map(|a| a.state.to_string()).collect::<Vec<_>>(),
            rows.iter().map(|a| to_micros(a.at)).collect::<Vec<_>>(),
        )
    };
    if !new.is_empty() {
        let (kinds, ids, owners, statuses, states, ats) = columns(&new);
        let written = tx
            .query(
                "INSERT INTO aggregates (kind, id, version, owner, status, state, updated_at,
                                         chain_seq)
                 SELECT k, i, 1, o, s, st, t, $7
                 FROM UNNEST($1::TEXT[], $2::UUID[], $3::TEXT[], $4::TEXT[], $5::TEXT[],
                             $6::BIGINT[]) AS u(k, i, o, s, st, t)
                 ON CONFLICT (kind, id) DO NOTHING RETURNING kind, id",
                &[&kinds, &ids, &owners, &statuses, &states, &ats, &stamp],
            )
            .await
            .map_err(pg_err)?;
        first_unwritten(&new, &written)?;
    }
    if !old.is_empty() {
        let (kinds, ids, owners, statuses, states, ats) = columns(&old);
        let expected: Vec<i64> = old.iter().filter_map(|a| a.expected_version).collect();
        let written = tx
            .query(
                "UPDATE aggregates AS a SET version = a.version + 1, owner = u.o, status = u.s,
                   state = u.st, updated_at = u.t, chain_seq = $8
                 FROM UNNEST($1::TEXT[], $2::UUID[], $3::BIGINT[], $4::TEXT[], $5::TEXT[],
                             $6::TEXT[], $7::BIGINT[]) AS u(k, i, v, o, s, st, t)
                 WHERE a.kind = u.k AND a.id = u.i AND a.version = u.v
                 RETURNING a.kind, a.id",
                &[
                    &kinds, &ids, &expected, &owners, &statuses, &states, &ats, &stamp,
                ],
            )
            .await
            .map_err(pg_err)?;
        first_unwritten(&old, &written)?;
    }
    Ok(())
}

/// The version conflict of the first of `rows` the statement did not write, if any.
fn first_unwritten(rows: &[&AggregateWrite], written: &[Row]) -> Result<(), StoreError> {
    if written.len() == rows.len() {
        return Ok(());
    }
    let done: std::collections::HashSet<(String, Uuid)> =
        written.iter().map(|r| (r.get(0), r.get(1))).collect();
    match rows
        .iter()
        .find(|a| !done.contains(&(a.kind.clone(), a.id)))
    {
        Some(a) => Err(StoreError::VersionConflict {
            kind: a.kind.clone(),
            id: a.id,
            expected: a.expected_version,
        }),
        None => Ok(()),
    }
}

async fn insert_unique_key<C: GenericClient>(tx: &C, k: &UniqueKey) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO unique_keys (scope, key, id) VALUES ($1, $2, $3)",
        &[&k.scope, &k.key, &k.id],
    )
    .await
    .map_err(|e| match constraint(&e) {
        Some((code, _)) if *code == SqlState::UNIQUE_VIOLATION => StoreError::DuplicateKey {
            scope: k.scope.clone(),
            key: k.key.clone(),
        },
        _ => pg_err(e),
    })?;
    Ok(())
}

/// Many unique keys in one statement; the first already held is the batch's refusal.
async fn insert_unique_keys<C: GenericClient>(
    tx: &C,
    keys: &[UniqueKey],
) -> Result<(), StoreError> {
    let scopes: Vec<&str> = keys.iter().map(|k| k.scope.as_str()).collect();
    let names: Vec<&str> = keys.iter().map(|k| k.key.as_str()).collect();
    let ids: Vec<Uuid> = keys.iter().map(|k| k.id).collect();
    let written = tx
        .query(
            "INSERT INTO unique_keys (scope, key, id)
             SELECT * FROM UNNEST($1::TEXT[], $2::TEXT[], $3::UUID[])
             ON CONFLICT (scope, key) DO NOTHING RETURNING scope, key",
            &[&scopes, &names, &ids],
        )
        .await
        .map_err(pg_err)?;
    if written.len() == keys.len() {
        return Ok(());
    }
    let done: std::collections::HashSet<(String, String)> =
        written.iter().map(|r| (r.get(0), r.get(1))).collect();
    // A key twice in the batch is written once: then no key is missing, the first one stands.
    let held = keys
        .iter()
        .find(|k| !done.contains(&(k.scope.clone(), k.key.clone())))
        .or(keys.first());
    match held {
        Some(k) => Err(StoreError::DuplicateKey {
            scope: k.scope.clone(),
            key: k.key.clone(),
        }),
        None => Ok(()),
    }
}

async fn write_aggregate<C: GenericClient>(
    tx: &C,
    a: &AggregateWrite,
    stamp: i64,
) -> Result<(), StoreError> {
    let conflict = || StoreError::VersionConflict {
        kind: a.kind.clone(),
        id: a.id,
        expected: a.expected_version,
    };
    let state = a.state.to_string();
    let at = to_micros(a.at);
    let n = match a.expected_version {
        None => tx
            .execute(
                "INSERT INTO aggregates (kind, id, version, owner, status, state, updated_at,
                                         chain_seq)
                 VALUES ($1, $2, 1, $3, $4, $5, $6, $7) ON CONFLICT (kind, id) DO NOTHING",
                &[&a.kind, &a.id, &a.owner, &a.status, &state, &at, &stamp],
            )
            .await
            .map_err(pg_err)?,
        Some(expected) => tx
            .execute(
                "UPDATE aggregates SET version = version + 1, owner = $4, status = $5,
                   state = $6, updated_at = $7, chain_seq = $8
                 WHERE kind = $1 AND id = $2 AND version = $3",
                &[
                    &a.kind, &a.id, &expected, &a.owner, &a.status, &state, &at, &stamp,
                ],
            )
            .await
            .map_err(pg_err)?,
    };
    if n == 0 {
        return Err(conflict());
    }
    Ok(())
}

const AGGREGATE_COLUMNS: &str = "kind, id, version, owner, status, state, updated_at";

fn parse_aggregate(r: &Row) -> Result<StoredAggregate, StoreError> {
    let kind: String = r.get(0);
    let state: String = r.get(5);
    Ok(StoredAggregate {
        state: serde_json::from_str(&state)
            .map_err(|e| StoreError::Corrupt(format!("{kind} state: {e}")))?,
        kind,
        id: r.get(1),
        version: r.get(2),
        owner: r.get(3),
        status: r.get(4),
        updated_at: from_micros(r.get(6))?,
    })
}

/// The postings of a stored transaction, in order; empty if it does not exist.
async fn stored_postings<C: GenericClient>(tx: &C, id: Uuid) -> Result<Vec<Posting>, StoreError> {
    let rows = tx
        .query(
            "SELECT account_kind, owner, amount FROM ledger_postings WHERE tx_id = $1 ORDER BY idx",
            &[&id],
        )
        .await
        .map_err(pg_err)?;
    rows.iter()
        .map(|r| {
            let kind: String = r.get(0);
            let kind = crate::account_kind(&kind)?;
            Ok(Posting {
                account: Account::new(kind, r.get::<_, String>(1)),
                amount: Fen::new(r.get(2)),
            })
        })
        .collect()
}

/// Transactions and their postings as two multi-row inserts.
async fn insert_transactions<C: GenericClient>(
    tx: &C,
    txs: &[LedgerTransaction],
    stamp: i64,
) -> Result<(), StoreError> {
    for (i, t) in txs.iter().enumerate() {
        if let Some(original) = t.reverses() {
            // The original may stand earlier in this very batch.
            let lines = match txs[..i].iter().find(|o| o.id() == original) {
                Some(o) => o.postings().to_vec(),
                None => stored_postings(tx, original).await?,
            };
            if lines.is_empty() {
                return Err(StoreError::UnknownTransaction(original));
            }
            // A repeated reversal trips both unique keys; the repeat is the truer answer.
            if !stored_postings(tx, t.id()).await?.is_empty() {
                return Err(StoreError::DuplicateTransaction(t.id()));
            }
            crate::check_reversal(t, &lines)?;
        }
    }
    let ids: Vec<Uuid> = txs.iter().map(|t| t.id()).collect();
    let kinds: Vec<&str> = txs.iter().map(|t| t.kind()).collect();
    let refs: Vec<&str> = txs.iter().map(|t| t.reference()).collect();
    let reverses: Vec<Option<Uuid>> = txs.iter().map(|t| t.reverses()).collect();
    let ats: Vec<i64> = txs.iter().map(|t| to_micros(t.at())).collect();
    tx.execute(
        "INSERT INTO ledger_transactions (id, kind, reference, reverses, at, chain_seq)
         SELECT *, $6::BIGINT FROM UNNEST($1::UUID[], $2::TEXT[], $3::TEXT[], $4::UUID[],
                                          $5::BIGINT[])",
        &[&ids, &kinds, &refs, &reverses, &ats, &stamp],
    )
    .await
    .map_err(|e| match constraint(&e) {
        Some((code, name)) if *code == SqlState::UNIQUE_VIOLATION && name.contains("reverses") => {
            StoreError::AlreadyReversed(uuid_in_detail(&e).unwrap_or_default())
        }
        Some((code, _)) if *code == SqlState::UNIQUE_VIOLATION => {
            StoreError::DuplicateTransaction(uuid_in_detail(&e).unwrap_or_default())
        }
        _ => pg_err(e),
    })?;

    let n: usize = txs.iter().map(|t| t.postings().len()).sum();
    let (mut tx_ids, mut idxs, mut accounts, mut owners, mut amounts) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for t in txs {
        for (i, p) in t.postings().iter().enumerate() {
            tx_ids.push(t.id());
            idxs.push(
                i32::try_from(i).map_err(|_| StoreError::Database("too many postings".into()))?,
            );
            accounts.push(p.account.kind.as_str());
            owners.push(p.account.owner.as_str());
            amounts.push(p.amount.fen());
        }
    }
    tx.execute(
        "INSERT INTO ledger_postings (tx_id, idx, account_kind, owner, amount)
         SELECT * FROM UNNEST($1::UUID[], $2::INT[], $3::TEXT[], $4::TEXT[], $5::BIGINT[])",
        &[&tx_ids, &idxs, &accounts, &owners, &amounts],
    )
    .await
    .map_err(pg_err)?;
    Ok(())
}

/// Column `i`, a `SUM(..)::TEXT` of money, in 128 bits.
fn total(row: &tokio_postgres::Row, i: usize) -> Result<i128, StoreError> {
    let text: String = row.try_get(i).map_err(pg_err)?;
    text.parse()
        .map_err(|e| StoreError::Corrupt(format!("total {text:?}: {e}")))
}
