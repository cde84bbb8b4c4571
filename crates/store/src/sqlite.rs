//! The embedded SQLite backend.
//!
//! One writer thread owns the only write connection. Writes queue on a channel; the writer
//! takes everything queued, opens one `BEGIN IMMEDIATE` transaction, applies each request
//! inside its own savepoint (so one refused request does not undo its neighbours), commits
//! once and answers everybody: group commit, one fsync-equivalent for many requests. Reads
//! run on a small pool of connections in `spawn_blocking`; WAL lets them proceed while the
//! writer writes.

use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use rusqlite::{Connection, ErrorCode, OptionalExtension, Transaction, params};
use tokio::sync::oneshot;
use uuid::Uuid;
use yunshi_core::Fen;
use yunshi_core::ledger::{Account, AccountKind, LedgerTransaction, Posting};
use yunshi_core::settlement::SettlementItem;

use crate::chain::{GENESIS, Hash, event_hash, hex};
use crate::model::*;
use crate::{StoreError, from_micros, to_micros};

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "foundation",
        include_str!("../migrations/sqlite/0001_foundation.sql"),
    ),
    (
        2,
        "aggregates",
        include_str!("../migrations/sqlite/0002_aggregates.sql"),
    ),
    (
        3,
        "api_tokens_by_principal",
        include_str!("../migrations/sqlite/0003_api_tokens_by_principal.sql"),
    ),
    (
        4,
        "files",
        include_str!("../migrations/sqlite/0004_files.sql"),
    ),
    (
        5,
        "settlement_items",
        include_str!("../migrations/sqlite/0005_settlement_items.sql"),
    ),
    (
        6,
        "audit_of_changes",
        include_str!("../migrations/sqlite/0006_audit_of_changes.sql"),
    ),
];

/// How many queued requests one group commit takes at most.
const GROUP_LIMIT: usize = 512;
/// How often a transaction that meets another process's lock is retried.
const BUSY_RETRIES: u32 = 8;

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

enum Job {
    Migrate(Reply<()>),
    Commit(Vec<WriteBatch>, Reply<Vec<Result<Committed, StoreError>>>),
    Claim {
        now: Timestamp,
        worker: String,
        lease: SignedDuration,
        limit: u32,
        reply: Reply<Vec<Deadline>>,
    },
    PutToken(ApiToken, Reply<()>),
    PutFile(Box<StoredFile>, Reply<bool>),
    RevokeToken(String, Timestamp, Reply<bool>),
}

pub(crate) struct SqliteStore {
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    readers: Arc<ReaderPool>,
}

fn db_err(e: rusqlite::Error) -> StoreError {
    if is_busy(&e) {
        StoreError::Busy(e.to_string())
    } else {
        StoreError::Database(e.to_string())
    }
}

fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(db_err)?;
    conn.busy_timeout(Duration::from_secs(5)).map_err(db_err)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA cache_size = -65536;
         PRAGMA temp_store = MEMORY;",
    )
    .map_err(db_err)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// `query_row` through the connection's statement cache: the hot reads (tokens,
/// idempotency keys, aggregates) are parsed once per connection, not per request.
fn cached_row<T>(
    c: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    c.prepare_cached(sql)?.query_row(params, f)
}

/// Sets `path`'s mode (owner only).
fn private(path: &Path, mode: u32) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| StoreError::Database(format!("securing {}: {e}", path.display())))?;
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

/// The database file exists 0600 before SQLite opens it (SQLite gives its -wal and -shm
/// the main file's mode), and files left by an older version are tightened to 0600.
fn private_database_files(path: &Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .map_err(|e| StoreError::Database(format!("creating {}: {e}", path.display())))?;
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let file = std::path::PathBuf::from(name);
        if file.exists() {
            private(&file, 0o600)?;
        }
    }
    Ok(())
}

impl SqliteStore {
    pub(crate) fn open(path: &str) -> Result<Self, StoreError> {
        let path = Path::new(path).to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let created = !dir.exists();
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Database(format!("creating {}: {e}", dir.display())))?;
            if created {
                private(dir, 0o700)?;
            }
        }
        private_database_files(&path)?;
        let conn = open_connection(&path)?;
        let (tx, rx) = mpsc::channel();
        let writer = std::thread::Builder::new()
            .name("yunshi-sqlite-writer".into())
            .spawn(move || Writer { conn }.run(rx))
            .map_err(|e| StoreError::Database(format!("starting the writer: {e}")))?;
        Ok(Self {
            jobs: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
            readers: Arc::new(ReaderPool {
                path,
                idle: Mutex::new(Vec::new()),
                permits: Arc::new(tokio::sync::Semaphore::new(READERS)),
            }),
        })
    }

    async fn send<T>(&self, make: impl FnOnce(Reply<T>) -> Job) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        {
            let jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
            let sender = jobs.as_ref().ok_or(StoreError::Closed)?;
            sender.send(make(reply)).map_err(|_| StoreError::Closed)?;
        }
        answer.await.map_err(|_| StoreError::Closed)?
    }

    pub(crate) async fn migrate(&self) -> Result<(), StoreError> {
        self.send(Job::Migrate).await
    }

    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        if self
            .jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none()
        {
            return Err(StoreError::Closed);
        }
        self.read(|c| cached_row(c, "SELECT 1", [], |_| Ok(())).map_err(db_err))
            .await
    }

    pub(crate) async fn commit(&self, batch: WriteBatch) -> Result<Committed, StoreError> {
        let mut results = self.send(|r| Job::Commit(vec![batch], r)).await?;
        results.pop().unwrap_or(Err(StoreError::Closed))
    }

    pub(crate) async fn commit_many(
        &self,
        batches: Vec<WriteBatch>,
    ) -> Result<Vec<Result<Committed, StoreError>>, StoreError> {
        self.send(|r| Job::Commit(batches, r)).await
    }

    pub(crate) async fn claim_due_deadlines(
        &self,
        now: Timestamp,
        worker: &str,
        lease: SignedDuration,
        limit: u32,
    ) -> Result<Vec<Deadline>, StoreError> {
        let worker = worker.to_string();
        self.send(|reply| Job::Claim {
            now,
            worker,
            lease,
            limit,
            reply,
        })
        .await
    }

    pub(crate) async fn put_api_token(&self, token: &ApiToken) -> Result<(), StoreError> {
        let token = token.clone();
        self.send(|r| Job::PutToken(token, r)).await
    }

    pub(crate) async fn put_file(&self, file: &StoredFile) -> Result<bool, StoreError> {
        let file = Box::new(file.clone());
        self.send(|r| Job::PutFile(file, r)).await
    }

    pub(crate) async fn file(&self, id: Uuid) -> Result<Option<StoredFile>, StoreError> {
        self.read(move |c| {
            cached_row(
                c,
                "SELECT owner, content_type, sha256, size_bytes, content, created_at
                 FROM files WHERE id = ?1",
                params![id.as_bytes().as_slice()],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, Vec<u8>>(4)?,
                        r.get::<_, i64>(5)?,
                    ))
                },
            )
            .optional()
            .map_err(db_err)?
            .map(|(owner, content_type, sha256, size, content, created)| {
                Ok(StoredFile {
                    id,
                    owner,
                    content_type,
                    sha256,
                    size_bytes: u64::try_from(size)
                        .map_err(|_| StoreError::Corrupt(format!("file {id} size {size}")))?,
                    content,
                    created_at: from_micros(created)?,
                })
            })
            .transpose()
        })
        .await
    }

    pub(crate) async fn revoke_api_token(
        &self,
        hash: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let hash = hash.to_string();
        self.send(|r| Job::RevokeToken(hash, at, r)).await
    }

    pub(crate) async fn close(&self) {
        let sender = self
            .jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(sender); // the writer drains what is queued, then stops
        let handle = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let pool = Arc::clone(&self.readers);
        // Waiting here, not in a blocking thread: at most READERS reads run at once, each on
        // a connection that stays open (no open/close churn under load).
        let _permit = Arc::clone(&pool.permits)
            .acquire_owned()
            .await
            .map_err(|e| StoreError::Database(format!("reader pool closed: {e}")))?;
        tokio::task::spawn_blocking(move || {
            let conn = pool.take()?;
            let result = f(&conn);
            pool.give_back(conn);
            result
        })
        .await
        .map_err(|e| StoreError::Database(format!("reader task failed: {e}")))?
    }

    pub(crate) async fn balance(&self, account: &Account) -> Result<Fen, StoreError> {
        let (kind, owner) = (account.kind.as_str(), account.owner.clone());
        self.read(move |c| {
            let (hi, lo) = c
                .prepare_cached(
                    "SELECT COALESCE(SUM(amount >> 32), 0), COALESCE(SUM(amount & 4294967295), 0)
                     FROM ledger_postings WHERE account_kind = ?1 AND owner = ?2",
                )
                .and_then(|mut s| s.query_row(params![kind, owner], |r| Ok((r.get(0)?, r.get(1)?))))
                .map_err(db_err)?;
            crate::fen_of_total(wide(hi, lo))
        })
        .await
    }

    pub(crate) async fn totals_by_kind(&self) -> Result<Vec<(AccountKind, i128)>, StoreError> {
        self.read(|c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT account_kind, SUM(amount >> 32), SUM(amount & 4294967295)
                     FROM ledger_postings GROUP BY account_kind ORDER BY account_kind",
                )
                .map_err(db_err)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((r.get::<_, String>(0)?, wide(r.get(1)?, r.get(2)?)))
                })
                .map_err(db_err)?;
            rows.map(|row| {
                let (kind, total) = row.map_err(db_err)?;
                let kind = crate::account_kind(&kind)?;
                Ok((kind, total))
            })
            .collect()
        })
        .await
    }

    pub(crate) async fn settlement_items(
        &self,
        q: &ItemQuery,
    ) -> Result<Vec<SettlementItem>, StoreError> {
        let (filter, args) = crate::item_filter(q, false);
        self.read(move |c| {
            let sql = format!(
                "SELECT {} FROM settlement_items{filter}",
                crate::ITEM_COLUMNS
            );
            let values: Vec<rusqlite::types::Value> = args
                .into_iter()
                .map(|a| match a {
                    crate::ItemArg::Text(t) => t.into(),
                    crate::ItemArg::Id(id) => id.as_bytes().to_vec().into(),
                    crate::ItemArg::Int(i) => i.into(),
                })
                .collect();
            let mut stmt = c.prepare_cached(&sql).map_err(db_err)?;
            let rows = stmt
                .query_map(rusqlite::params_from_iter(values), |r| {
                    Ok((
                        r.get::<_, Vec<u8>>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Vec<u8>>(2)?,
                        r.get::<_, Vec<u8>>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, i64>(5)?,
                        r.get::<_, i64>(6)?,
                        r.get::<_, i64>(7)?,
                        r.get::<_, Option<String>>(8)?,
                        r.get::<_, Option<String>>(9)?,
                        r.get::<_, bool>(10)?,
                    ))
                })
                .map_err(db_err)?;
            rows.map(|row| {
                let (id, provider, order, product, kind, at, amount, fee, start, end, consignment) =
                    row.map_err(db_err)?;
                crate::ItemRow {
                    id: uuid_from_blob(&id)?,
                    provider,
                    order: uuid_from_blob(&order)?,
                    product: uuid_from_blob(&product)?,
                    kind,
                    at,
                    amount,
                    fee,
                    service: (start, end),
                    consignment,
                }
                .into_item()
            })
            .collect()
        })
        .await
    }

    pub(crate) async fn item_totals(&self) -> Result<Vec<(String, ItemTotals)>, StoreError> {
        self.read(|c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT provider, SUM(amount >> 32), SUM(amount & 4294967295),
                            SUM(fee >> 32), SUM(fee & 4294967295)
                     FROM settlement_items GROUP BY provider ORDER BY provider",
                )
                .map_err(db_err)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        wide(r.get(1)?, r.get(2)?),
                        wide(r.get(3)?, r.get(4)?),
                    ))
                })
                .map_err(db_err)?;
            rows.map(|row| {
                let (provider, amount, fee) = row.map_err(db_err)?;
                let totals = ItemTotals {
                    amount: crate::fen_of_total(amount)?,
                    fee: crate::fen_of_total(fee)?,
                };
                Ok((provider, totals))
            })
            .collect()
        })
        .await
    }

    pub(crate) async fn item_totals_of(
        &self,
        providers: Vec<String>,
    ) -> Result<Vec<(String, ItemTotals)>, StoreError> {
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT COUNT(*),
                            COALESCE(SUM(amount >> 32), 0), COALESCE(SUM(amount & 4294967295), 0),
                            COALESCE(SUM(fee >> 32), 0), COALESCE(SUM(fee & 4294967295), 0)
                     FROM settlement_items WHERE provider = ?1",
                )
                .map_err(db_err)?;
            let mut out = Vec::new();
            for provider in providers {
                let (n, amount, fee) = stmt
                    .query_row([&provider], |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            wide(r.get(1)?, r.get(2)?),
                            wide(r.get(3)?, r.get(4)?),
                        ))
                    })
                    .map_err(db_err)?;
                if n > 0 {
                    let totals = ItemTotals {
                        amount: crate::fen_of_total(amount)?,
                        fee: crate::fen_of_total(fee)?,
                    };
                    out.push((provider, totals));
                }
            }
            Ok(out)
        })
        .await
    }

    pub(crate) async fn owner_balances_of(
        &self,
        kind: AccountKind,
        owners: Vec<String>,
    ) -> Result<Vec<(String, Fen)>, StoreError> {
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT COUNT(*),
                            COALESCE(SUM(amount >> 32), 0), COALESCE(SUM(amount & 4294967295), 0)
                     FROM ledger_postings WHERE account_kind = ?1 AND owner = ?2",
                )
                .map_err(db_err)?;
            let mut out = Vec::new();
            for owner in owners {
                let (n, total) = stmt
                    .query_row(params![kind.as_str(), owner], |r| {
                        Ok((r.get::<_, i64>(0)?, wide(r.get(1)?, r.get(2)?)))
                    })
                    .map_err(db_err)?;
                if n > 0 {
                    out.push((owner, crate::fen_of_total(total)?));
                }
            }
            Ok(out)
        })
        .await
    }

    pub(crate) async fn changes_after(&self, seq: i64) -> Result<Changes, StoreError> {
        self.read(move |c| {
            let accounts = c
                .prepare_cached(
                    "SELECT DISTINCT p.account_kind, p.owner
                     FROM ledger_transactions t JOIN ledger_postings p ON p.tx_id = t.id
                     WHERE t.chain_seq >= ?1",
                )
                .map_err(db_err)?
                .query_map([seq], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })
                .map_err(db_err)?
                .map(|row| {
                    let (kind, owner) = row.map_err(db_err)?;
                    let kind = crate::account_kind(&kind)?;
                    Ok((kind, owner))
                })
                .collect::<Result<_, StoreError>>()?;
            let aggregates = c
                .prepare_cached("SELECT kind, id FROM aggregates WHERE chain_seq >= ?1")
                .map_err(db_err)?
                .query_map([seq], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
                })
                .map_err(db_err)?
                .map(|row| {
                    let (kind, id) = row.map_err(db_err)?;
                    Ok((kind, uuid_from_blob(&id)?))
                })
                .collect::<Result<_, StoreError>>()?;
            let item_providers = c
                .prepare_cached(
                    "SELECT DISTINCT provider FROM settlement_items WHERE chain_seq >= ?1",
                )
                .map_err(db_err)?
                .query_map([seq], |r| r.get::<_, String>(0))
                .map_err(db_err)?
                .collect::<Result<_, _>>()
                .map_err(db_err)?;
            Ok(Changes {
                accounts,
                aggregates,
                item_providers,
            })
        })
        .await
    }

    pub(crate) async fn owner_balances(
        &self,
        kind: AccountKind,
    ) -> Result<Vec<(String, Fen)>, StoreError> {
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT owner, SUM(amount >> 32), SUM(amount & 4294967295) FROM ledger_postings
                     WHERE account_kind = ?1 GROUP BY owner ORDER BY owner",
                )
                .map_err(db_err)?;
            let rows = stmt
                .query_map(params![kind.as_str()], |r| {
                    Ok((r.get::<_, String>(0)?, wide(r.get(1)?, r.get(2)?)))
                })
                .map_err(db_err)?;
            rows.map(|row| {
                let (owner, total) = row.map_err(db_err)?;
                Ok((owner, crate::fen_of_total(total)?))
            })
            .collect()
        })
        .await
    }

    pub(crate) async fn unbalanced_transaction(&self) -> Result<Option<Uuid>, StoreError> {
        self.read(|c| {
            // TOTAL sums in floating point and never overflows: it only names a suspect for a
            // trial balance already found off, which is summed exactly.
            c.query_row(
                "SELECT tx_id FROM ledger_postings GROUP BY tx_id HAVING TOTAL(amount) <> 0 LIMIT 1",
                [],
                |r| r.get::<_, Vec<u8>>(0),
            )
            .optional()
            .map_err(db_err)?
            .map(|id| uuid_from_blob(&id))
            .transpose()
        })
        .await
    }

    pub(crate) async fn ledger_transaction(
        &self,
        id: Uuid,
    ) -> Result<Option<LedgerTransaction>, StoreError> {
        self.read(move |c| {
            let head = c
                .query_row(
                    "SELECT kind, reference, reverses, at FROM ledger_transactions WHERE id = ?1",
                    params![id.as_bytes()],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, Option<Vec<u8>>>(2)?,
                            r.get::<_, i64>(3)?,
                        ))
                    },
                )
                .optional()
                .map_err(db_err)?;
            let Some((kind, reference, reverses, at)) = head else {
                return Ok(None);
            };
            let mut stmt = c
                .prepare_cached(
                    "SELECT account_kind, owner, amount FROM ledger_postings
                     WHERE tx_id = ?1 ORDER BY idx",
                )
                .map_err(db_err)?;
            let postings = stmt
                .query_map(params![id.as_bytes()], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                })
                .map_err(db_err)?
                .map(|row| {
                    let (kind, owner, amount) = row.map_err(db_err)?;
                    let kind = crate::account_kind(&kind)?;
                    Ok(Posting {
                        account: Account::new(kind, owner),
                        amount: Fen::new(amount),
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            let reverses = reverses.map(|b| uuid_from_blob(&b)).transpose()?;
            LedgerTransaction::restore(id, kind, reference, reverses, from_micros(at)?, postings)
                .map(Some)
                .map_err(|e| StoreError::Corrupt(format!("transaction {id}: {e}")))
        })
        .await
    }

    pub(crate) async fn events_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT seq, id, kind, subject, at, payload, prev_hash, hash FROM events
                     WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                )
                .map_err(db_err)?;
            let rows = stmt
                .query_map(params![after, limit], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, Vec<u8>>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, i64>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, Vec<u8>>(6)?,
                        r.get::<_, Vec<u8>>(7)?,
                    ))
                })
                .map_err(db_err)?;
            rows.map(|row| {
                let (seq, id, kind, subject, at, payload, prev, hash) = row.map_err(db_err)?;
                Ok(StoredEvent {
                    seq,
                    id: uuid_from_blob(&id)?,
                    kind,
                    subject,
                    at: from_micros(at)?,
                    payload: serde_json::from_str(&payload)
                        .map_err(|e| StoreError::Corrupt(format!("event {seq} payload: {e}")))?,
                    prev_hash: hex(&hash_from_blob(&prev)?),
                    hash: hex(&hash_from_blob(&hash)?),
                })
            })
            .collect()
        })
        .await
    }

    /// The chain's head as the last write recorded it.
    pub(crate) async fn chain_head(&self) -> Result<(i64, Hash), StoreError> {
        self.read(|c| Writer::read_head(c).map_err(db_err)).await
    }

    pub(crate) async fn deadline(&self, id: Uuid) -> Result<Option<Deadline>, StoreError> {
        self.read(move |c| {
            cached_row(
                c,
                &format!("SELECT {DEADLINE_COLUMNS} FROM deadlines WHERE id = ?1"),
                params![id.as_bytes()],
                deadline_row,
            )
            .optional()
            .map_err(db_err)?
            .map(parse_deadline)
            .transpose()
        })
        .await
    }

    pub(crate) async fn due_deadlines(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<Deadline>, StoreError> {
        let now = to_micros(now);
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {DEADLINE_COLUMNS} FROM deadlines
                 WHERE state = 'pending' AND due_at <= ?1
                   AND (claim_until IS NULL OR claim_until <= ?1)
                 ORDER BY due_at, id LIMIT ?2"
            ))
            .map_err(db_err)?
            .query_map(params![now, limit], deadline_row)
            .map_err(db_err)?
            .map(|r| r.map_err(db_err).and_then(parse_deadline))
            .collect()
        })
        .await
    }

    pub(crate) async fn next_deadline_due(&self) -> Result<Option<Timestamp>, StoreError> {
        self.read(|c| {
            cached_row(
                c,
                "SELECT MIN(due_at) FROM deadlines WHERE state = 'pending'",
                [],
                |r| r.get::<_, Option<i64>>(0),
            )
            .map_err(db_err)?
            .map(from_micros)
            .transpose()
        })
        .await
    }

    pub(crate) async fn aggregate(
        &self,
        kind: &str,
        id: Uuid,
    ) -> Result<Option<StoredAggregate>, StoreError> {
        let kind = kind.to_string();
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {AGGREGATE_COLUMNS} FROM aggregates WHERE kind = ?1 AND id = ?2"
            ))
            .and_then(|mut s| {
                s.query_row(params![kind, id.as_bytes()], aggregate_row)
                    .optional()
            })
            .map_err(db_err)?
            .map(parse_aggregate)
            .transpose()
        })
        .await
    }

    pub(crate) async fn aggregates_by_ids(
        &self,
        kind: &str,
        ids: Vec<Uuid>,
    ) -> Result<Vec<StoredAggregate>, StoreError> {
        let kind = kind.to_string();
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {AGGREGATE_COLUMNS} FROM aggregates WHERE kind = ?1 AND id = ?2"
                ))
                .map_err(db_err)?;
            let mut out = Vec::new();
            for id in ids {
                if let Some(row) = stmt
                    .query_row(params![kind, id.as_bytes()], aggregate_row)
                    .optional()
                    .map_err(db_err)?
                {
                    out.push(parse_aggregate(row)?);
                }
            }
            Ok(out)
        })
        .await
    }

    pub(crate) async fn aggregates_owned_by(
        &self,
        kind: &str,
        owners: Vec<String>,
    ) -> Result<Vec<StoredAggregate>, StoreError> {
        let kind = kind.to_string();
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {AGGREGATE_COLUMNS} FROM aggregates {BY_OWNER}
                     WHERE kind = ?1 AND owner = ?2 ORDER BY id"
                ))
                .map_err(db_err)?;
            let mut out = Vec::new();
            for owner in owners {
                let rows = stmt
                    .query_map(params![kind, owner], aggregate_row)
                    .map_err(db_err)?;
                for row in rows {
                    out.push(parse_aggregate(row.map_err(db_err)?)?);
                }
            }
            Ok(out)
        })
        .await
    }

    pub(crate) async fn aggregates(
        &self,
        q: &AggregateQuery,
    ) -> Result<Vec<StoredAggregate>, StoreError> {
        let (sql, args) = aggregates_sql(q);
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&sql).map_err(db_err)?;
            let rows = stmt
                .query_map(rusqlite::params_from_iter(args), aggregate_row)
                .map_err(db_err)?;
            rows.map(|r| r.map_err(db_err).and_then(parse_aggregate))
                .collect()
        })
        .await
    }

    pub(crate) async fn unique_key(
        &self,
        scope: &str,
        key: &str,
    ) -> Result<Option<Uuid>, StoreError> {
        let (scope, key) = (scope.to_string(), key.to_string());
        self.read(move |c| {
            c.prepare_cached("SELECT id FROM unique_keys WHERE scope = ?1 AND key = ?2")
                .and_then(|mut s| {
                    s.query_row(params![scope, key], |r| r.get::<_, Vec<u8>>(0))
                        .optional()
                })
                .map_err(db_err)?
                .map(|b| uuid_from_blob(&b))
                .transpose()
        })
        .await
    }

    pub(crate) async fn idempotency_record(
        &self,
        scope: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let (scope, key) = (scope.to_string(), key.to_string());
        self.read(move |c| {
            let row = cached_row(
                c,
                "SELECT fingerprint, response, created_at FROM idempotency_keys
                     WHERE scope = ?1 AND key = ?2",
                params![scope, key],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                },
            )
            .optional()
            .map_err(db_err)?;
            row.map(|(fingerprint, response, at)| {
                Ok(IdempotencyRecord {
                    scope,
                    key,
                    fingerprint,
                    response: serde_json::from_str(&response)
                        .map_err(|e| StoreError::Corrupt(format!("idempotency response: {e}")))?,
                    created_at: from_micros(at)?,
                })
            })
            .transpose()
        })
        .await
    }

    pub(crate) async fn api_token(&self, hash: &str) -> Result<Option<ApiToken>, StoreError> {
        let hash = hash.to_string();
        self.read(move |c| {
            cached_row(
                c,
                "SELECT hash, principal, role, label, created_at, expires_at, revoked_at
                 FROM api_tokens WHERE hash = ?1",
                params![hash],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, i64>(4)?,
                        r.get::<_, Option<i64>>(5)?,
                        r.get::<_, Option<i64>>(6)?,
                    ))
                },
            )
            .optional()
            .map_err(db_err)?
            .map(
                |(hash, principal, role, label, created, expires, revoked)| {
                    Ok(ApiToken {
                        hash,
                        principal,
                        role,
                        label,
                        created_at: from_micros(created)?,
                        expires_at: expires.map(from_micros).transpose()?,
                        revoked_at: revoked.map(from_micros).transpose()?,
                    })
                },
            )
            .transpose()
        })
        .await
    }

    pub(crate) async fn api_tokens_of(&self, principal: &str) -> Result<Vec<ApiToken>, StoreError> {
        let principal = principal.to_string();
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT hash, principal, role, label, created_at, expires_at, revoked_at
                     FROM api_tokens WHERE principal = ?1 ORDER BY created_at, hash",
                )
                .map_err(db_err)?;
            let rows = stmt
                .query_map(params![principal], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, i64>(4)?,
                        r.get::<_, Option<i64>>(5)?,
                        r.get::<_, Option<i64>>(6)?,
                    ))
                })
                .map_err(db_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db_err)?;
            rows.into_iter()
                .map(
                    |(hash, principal, role, label, created, expires, revoked)| {
                        Ok(ApiToken {
                            hash,
                            principal,
                            role,
                            label,
                            created_at: from_micros(created)?,
                            expires_at: expires.map(from_micros).transpose()?,
                            revoked_at: revoked.map(from_micros).transpose()?,
                        })
                    },
                )
                .collect()
        })
        .await
    }

    pub(crate) async fn has_active_token_with_role(
        &self,
        role: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let role = role.to_string();
        self.read(move |c| {
            cached_row(
                c,
                "SELECT EXISTS (SELECT 1 FROM api_tokens WHERE role = ?1 AND revoked_at IS NULL
                   AND (expires_at IS NULL OR expires_at > ?2))",
                params![role, to_micros(now)],
                |r| r.get::<_, bool>(0),
            )
            .map_err(db_err)
        })
        .await
    }
}

/// Reads at once: a few more than cores, since a read may wait on the disk.
const READERS: usize = 4;

struct ReaderPool {
    path: std::path::PathBuf,
    idle: Mutex<Vec<Connection>>,
    permits: Arc<tokio::sync::Semaphore>,
}

impl ReaderPool {
    fn take(&self) -> Result<Connection, StoreError> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match idle {
            Some(conn) => Ok(conn),
            None => {
                let conn = open_connection(&self.path)?;
                conn.execute_batch("PRAGMA query_only = ON;")
                    .map_err(db_err)?;
                Ok(conn)
            }
        }
    }

    fn give_back(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < READERS {
            idle.push(conn);
        }
    }
}

const DEADLINE_COLUMNS: &str = "id, kind, subject, due_at, payload, dedupe_key, state, fired_at";

type DeadlineRow = (
    Vec<u8>,
    String,
    String,
    i64,
    String,
    Option<String>,
    String,
    Option<i64>,
);

fn deadline_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeadlineRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
    ))
}

fn parse_deadline(row: DeadlineRow) -> Result<Deadline, StoreError> {
    let (id, kind, subject, due_at, payload, dedupe_key, state, fired_at) = row;
    Ok(Deadline {
        id: uuid_from_blob(&id)?,
        kind,
        subject,
        due_at: from_micros(due_at)?,
        payload: serde_json::from_str(&payload)
            .map_err(|e| StoreError::Corrupt(format!("deadline payload: {e}")))?,
        dedupe_key,
        state: DeadlineState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("deadline state {state:?}")))?,
        fired_at: fired_at.map(from_micros).transpose()?,
    })
}

fn uuid_from_blob(b: &[u8]) -> Result<Uuid, StoreError> {
    Uuid::from_slice(b).map_err(|e| StoreError::Corrupt(format!("uuid: {e}")))
}

fn hash_from_blob(b: &[u8]) -> Result<Hash, StoreError> {
    b.try_into()
        .map_err(|_| StoreError::Corrupt(format!("hash of {} bytes", b.len())))
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// What a constraint failure means for the request that caused it.
fn constraint_error(
    e: rusqlite::Error,
    tx: Option<&LedgerTransaction>,
    dedupe: Option<&str>,
) -> StoreError {
    if e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) {
        let msg = e.to_string();
        if let Some(tx) = tx {
            if msg.contains("ledger_transactions.reverses") {
                return StoreError::AlreadyReversed(tx.reverses().unwrap_or_default());
            }
            if msg.contains("ledger_transactions.id") {
                return StoreError::DuplicateTransaction(tx.id());
            }
        }
        if let Some(key) = dedupe
            && msg.contains("deadlines.")
        {
            return StoreError::DuplicateDeadline(key.to_string());
        }
    }
    db_err(e)
}

struct Writer {
    conn: Connection,
}

impl Writer {
    fn run(mut self, jobs: mpsc::Receiver<Job>) {
        while let Ok(first) = jobs.recv() {
            let mut group = vec![first];
            while group.len() < GROUP_LIMIT {
                match jobs.try_recv() {
                    Ok(job) => group.push(job),
                    Err(_) => break,
                }
            }
            let (migrations, rest): (Vec<_>, Vec<_>) = group
                .into_iter()
                .partition(|j| matches!(j, Job::Migrate(_)));
            for job in migrations {
                if let Job::Migrate(reply) = job {
                    let _ = reply.send(self.migrate());
                }
            }
            if !rest.is_empty() {
                self.run_group(rest);
            }
        }
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        self.conn
            .execute_batch(
                "CREATE TABLE IF NOT EXISTS schema_migrations (
                   version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
            )
            .map_err(db_err)?;
        for &(version, name, sql) in MIGRATIONS {
            let tx = self
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(db_err)?;
            let applied: bool = tx
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?1)",
                    [version],
                    |r| r.get(0),
                )
                .map_err(db_err)?;
            if !applied {
                tx.execute_batch(sql).map_err(|e| {
                    StoreError::Database(format!("migration {version} {name}: {e}"))
                })?;
                tx.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
                    params![version, name, to_micros(Timestamp::now())],
                )
                .map_err(db_err)?;
            }
            tx.commit().map_err(db_err)?;
        }
        Ok(())
    }

    /// The recorded chain head, read inside the write transaction: another process may have
    /// appended events since this one last wrote.
    fn read_head(conn: &Connection) -> Result<(i64, Hash), rusqlite::Error> {
        let row = conn
            .prepare_cached("SELECT seq, hash FROM event_chain_head")?
            .query_row([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))
            .optional()?;
        match row {
            Some((seq, hash)) => {
                let hash = hash.as_slice().try_into().map_err(|_| {
                    rusqlite::Error::InvalidColumnType(
                        1,
                        "hash".into(),
                        rusqlite::types::Type::Blob,
                    )
                })?;
                Ok((seq, hash))
            }
            None => Ok((0, GENESIS)),
        }
    }

    /// Runs a group of requests in one transaction, retrying the whole group while another
    /// process holds the database lock.
    fn run_group(&mut self, group: Vec<Job>) {
        let mut attempt = 0;
        let outcome = loop {
            match self.try_group(&group) {
                Err(e) if is_busy(&e) && attempt < BUSY_RETRIES => {
                    attempt += 1;
                    std::thread::sleep(Duration::from_millis(5 << attempt));
                }
                other => break other,
            }
        };
        match outcome {
            Ok(results) => {
                for (job, result) in group.into_iter().zip(results) {
                    job.answer(result);
                }
            }
            Err(e) => {
                let msg = e.to_string();
                for job in group {
                    job.fail(StoreError::Database(msg.clone()));
                }
            }
        }
    }

    fn try_group(&mut self, group: &[Job]) -> Result<Vec<JobResult>, rusqlite::Error> {
        let mut tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let start = Self::read_head(&tx)?;
        let mut head = start;
        let mut results = Vec::with_capacity(group.len());
        for job in group {
            results.push(run_job(&mut tx, &mut head, job)?);
        }
        if head != start {
            tx.prepare_cached("UPDATE event_chain_head SET seq = ?1, hash = ?2")?
                .execute(params![head.0, &head.1[..]])?;
        }
        tx.commit()?;
        Ok(results)
    }
}

enum JobResult {
    Commit(Vec<Result<Committed, StoreError>>),
    Claim(Result<Vec<Deadline>, StoreError>),
    Unit(Result<(), StoreError>),
    Bool(Result<bool, StoreError>),
    Failed(StoreError),
}

impl Job {
    fn answer(self, result: JobResult) {
        match (self, result) {
            (Job::Commit(_, reply), JobResult::Commit(r)) => {
                let _ = reply.send(Ok(r));
            }
            (Job::Claim { reply, .. }, JobResult::Claim(r)) => {
                let _ = reply.send(r);
            }
            (Job::PutToken(_, reply), JobResult::Unit(r)) => {
                let _ = reply.send(r);
            }
            (Job::PutFile(_, reply), JobResult::Bool(r)) => {
                let _ = reply.send(r);
            }
            (Job::RevokeToken(_, _, reply), JobResult::Bool(r)) => {
                let _ = reply.send(r);
            }
            (job, JobResult::Failed(e)) => job.fail(e),
            (job, _) => job.fail(StoreError::Database(
                "writer answered the wrong request".into(),
            )),
        }
    }

    fn fail(self, e: StoreError) {
        match self {
            Job::Migrate(r) | Job::PutToken(_, r) => {
                let _ = r.send(Err(e));
            }
            Job::Commit(_, r) => {
                let _ = r.send(Err(e));
            }
            Job::Claim { reply, .. } => {
                let _ = reply.send(Err(e));
            }
            Job::RevokeToken(_, _, r) | Job::PutFile(_, r) => {
                let _ = r.send(Err(e));
            }
        }
    }
}

/// Runs one request inside the group transaction. A request-level failure (a conflict, bad
/// data) is rolled back to its savepoint and returned as that request's result; an error
/// that fails the whole transaction (busy, I/O) is returned as `Err`.
fn run_job(
    tx: &mut Transaction<'_>,
    head: &mut (i64, Hash),
    job: &Job,
) -> Result<JobResult, rusqlite::Error> {
    Ok(match job {
        Job::Migrate(_) => JobResult::Failed(StoreError::Database("migration in a group".into())),
        Job::Commit(batches, _) => {
            let mut results = Vec::with_capacity(batches.len());
            for batch in batches {
                results.push(in_savepoint(tx, head, |sp, head| {
                    apply_batch(sp, head, batch)
                })?);
            }
            JobResult::Commit(results)
        }
        Job::Claim {
            now,
            worker,
            lease,
            limit,
            ..
        } => JobResult::Claim(in_savepoint(tx, head, |sp, _| {
            claim(sp, *now, worker, *lease, *limit)
        })?),
        Job::PutToken(token, _) => JobResult::Unit(in_savepoint(tx, head, |sp, _| {
            sp.execute(
                "INSERT INTO api_tokens (hash, principal, role, label, created_at, expires_at, revoked_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (hash) DO UPDATE SET principal = excluded.principal, role = excluded.role,
                   label = excluded.label, expires_at = excluded.expires_at, revoked_at = excluded.revoked_at",
                params![
                    token.hash,
                    token.principal,
                    token.role,
                    token.label,
                    to_micros(token.created_at),
                    token.expires_at.map(to_micros),
                    token.revoked_at.map(to_micros)
                ],
            )
            .map_err(db_err)?;
            Ok(())
        })?),
        Job::PutFile(file, _) => JobResult::Bool(in_savepoint(tx, head, |sp, _| {
            let size = i64::try_from(file.size_bytes)
                .map_err(|_| StoreError::Corrupt(format!("file {} is too large", file.id)))?;
            let n = sp
                .execute(
                    "INSERT INTO files (id, owner, content_type, sha256, size_bytes, content, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (id) DO NOTHING",
                    params![
                        file.id.as_bytes().as_slice(),
                        file.owner,
                        file.content_type,
                        file.sha256,
                        size,
                        file.content,
                        to_micros(file.created_at)
                    ],
                )
                .map_err(db_err)?;
            Ok(n > 0)
        })?),
        Job::RevokeToken(hash, at, _) => JobResult::Bool(in_savepoint(tx, head, |sp, _| {
            let n = sp
                .execute(
                    "UPDATE api_tokens SET revoked_at = ?2 WHERE hash = ?1 AND revoked_at IS NULL",
                    params![hash, to_micros(*at)],
                )
                .map_err(db_err)?;
            Ok(n > 0)
        })?),
    })
}

/// Runs `f` in a savepoint: its writes stay only if it succeeds. Busy errors escape so the
/// whole group is retried.
fn in_savepoint<T>(
    tx: &mut Transaction<'_>,
    head: &mut (i64, Hash),
    f: impl FnOnce(&Connection, &mut (i64, Hash)) -> Result<T, StoreError>,
) -> Result<Result<T, StoreError>, rusqlite::Error> {
    let before = *head;
    let sp = tx.savepoint()?;
    let result = f(&sp, head);
    match result {
        Ok(v) => {
            sp.commit()?;
            Ok(Ok(v))
        }
        Err(StoreError::Busy(msg)) => {
            *head = before;
            drop(sp);
            Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                Some(msg),
            ))
        }
        Err(e) => {
            *head = before;
            drop(sp); // rolls back to the savepoint
            if tx.is_autocommit() {
                // SQLite already rolled back the whole transaction (disk full, I/O error):
                // nothing of the group may be reported as written.
                return Err(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ABORT),
                    Some(format!("transaction rolled back: {e}")),
                ));
            }
            Ok(Err(e))
        }
    }
}

fn apply_batch(
    tx: &Connection,
    head: &mut (i64, Hash),
    batch: &WriteBatch,
) -> Result<Committed, StoreError> {
    if let Some(claim) = &batch.idempotency {
        let seen = tx
            .prepare_cached(
                "SELECT fingerprint, response FROM idempotency_keys WHERE scope = ?1 AND key = ?2",
            )
            .and_then(|mut s| {
                s.query_row(params![claim.scope, claim.key], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })
                .optional()
            })
            .map_err(db_err)?;
        if let Some((fingerprint, response)) = seen {
            if fingerprint != claim.fingerprint {
                return Err(StoreError::IdempotencyMismatch {
                    key: claim.key.clone(),
                });
            }
            let response = serde_json::from_str(&response)
                .map_err(|e| StoreError::Corrupt(format!("idempotency response: {e}")))?;
            return Ok(Committed::Replayed { response });
        }
        tx.prepare_cached(
            "INSERT INTO idempotency_keys (scope, key, fingerprint, response, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .and_then(|mut s| {
            s.execute(params![
                claim.scope,
                claim.key,
                claim.fingerprint,
                claim.response.to_string(),
                to_micros(claim.at)
            ])
        })
        .map_err(db_err)?;
    }

    for fired in &batch.fire {
        let n = tx
            .prepare_cached(
                "UPDATE deadlines SET state = 'fired', fired_at = ?2, claimed_by = NULL, claim_until = NULL
                 WHERE id = ?1 AND state = 'pending' AND due_at <= ?2",
            )
            .and_then(|mut s| s.execute(params![fired.id.as_bytes(), to_micros(fired.at)]))
            .map_err(db_err)?;
        if n == 0 {
            return Err(StoreError::DeadlineNotPending(fired.id));
        }
    }
    for id in &batch.cancel {
        let n = tx
            .prepare_cached(
                "UPDATE deadlines SET state = 'cancelled', claimed_by = NULL, claim_until = NULL
                 WHERE id = ?1 AND state = 'pending'",
            )
            .and_then(|mut s| s.execute(params![id.as_bytes()]))
            .map_err(db_err)?;
        if n == 0 {
            return Err(StoreError::DeadlineNotPending(*id));
        }
    }
    for key in &batch.cancel_keys {
        tx.prepare_cached(
            "UPDATE deadlines SET state = 'cancelled', claimed_by = NULL, claim_until = NULL
             WHERE dedupe_key = ?1 AND state = 'pending'",
        )
        .and_then(|mut s| s.execute(params![key]))
        .map_err(db_err)?;
    }
    for d in &batch.schedule {
        tx.prepare_cached(
            "INSERT INTO deadlines (id, kind, subject, due_at, payload, dedupe_key, state)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending')",
        )
        .and_then(|mut s| {
            s.execute(params![
                d.id.as_bytes(),
                d.kind,
                d.subject,
                to_micros(d.due_at),
                d.payload.to_string(),
                d.dedupe_key
            ])
        })
        .map_err(|e| {
            let key = d.dedupe_key.clone().unwrap_or_else(|| d.id.to_string());
            constraint_error(e, None, Some(&key))
        })?;
    }

    // The head before this batch's events: any mark an audit could have seen before this
    // write commits is at most this, so the audit of changes after that mark finds it.
    let stamp = head.0;
    for a in &batch.aggregates {
        write_aggregate(tx, a, stamp)?;
    }
    for k in &batch.unique_keys {
        tx.prepare_cached("INSERT INTO unique_keys (scope, key, id) VALUES (?1, ?2, ?3)")
            .and_then(|mut s| s.execute(params![k.scope, k.key, k.id.as_bytes()]))
            .map_err(|e| {
                if e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) {
                    StoreError::DuplicateKey {
                        scope: k.scope.clone(),
                        key: k.key.clone(),
                    }
                } else {
                    db_err(e)
                }
            })?;
    }

    for i in &batch.settlement_items {
        tx.prepare_cached(
            "INSERT INTO settlement_items (id, provider, order_id, product, kind, at, amount, fee,
                                           service_start, service_end, consignment, chain_seq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )
        .and_then(|mut s| {
            s.execute(params![
                i.id.as_bytes(),
                i.provider.to_string(),
                i.order.uuid().as_bytes(),
                i.product.uuid().as_bytes(),
                i.kind.as_str(),
                to_micros(i.at),
                i.amount.fen(),
                i.fee.fen(),
                i.service.map(|s| s.start.to_string()),
                i.service.map(|s| s.end.to_string()),
                i.consignment,
                stamp,
            ])
        })
        .map_err(db_err)?;
    }

    for t in &batch.transactions {
        if let Some(original) = t.reverses() {
            let lines = stored_postings(tx, original)?;
            if lines.is_empty() {
                return Err(StoreError::UnknownTransaction(original));
            }
            // A repeated reversal trips both unique keys; the repeat is the truer answer.
            if !stored_postings(tx, t.id())?.is_empty() {
                return Err(StoreError::DuplicateTransaction(t.id()));
            }
            crate::check_reversal(t, &lines)?;
        }
        tx.prepare_cached(
            "INSERT INTO ledger_transactions (id, kind, reference, reverses, at, chain_seq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .and_then(|mut s| {
            s.execute(params![
                t.id().as_bytes(),
                t.kind(),
                t.reference(),
                t.reverses().map(|r| r.into_bytes()),
                to_micros(t.at()),
                stamp
            ])
        })
        .map_err(|e| constraint_error(e, Some(t), None))?;
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO ledger_postings (tx_id, idx, account_kind, owner, amount)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(db_err)?;
        for (idx, p) in t.postings().iter().enumerate() {
            insert
                .execute(params![
                    t.id().as_bytes(),
                    idx as i64,
                    p.account.kind.as_str(),
                    p.account.owner,
                    p.amount.fen()
                ])
                .map_err(db_err)?;
        }
    }

    let mut event_seqs = Vec::with_capacity(batch.events.len());
    for e in &batch.events {
        let (prev_seq, prev_hash) = *head;
        let seq = prev_seq + 1;
        let payload = e.payload.to_string();
        let at = to_micros(e.at);
        let hash = event_hash(&prev_hash, seq, e.id, &e.kind, &e.subject, at, &payload);
        tx.prepare_cached(
            "INSERT INTO events (seq, id, kind, subject, at, payload, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .and_then(|mut s| {
            s.execute(params![
                seq,
                e.id.as_bytes(),
                e.kind,
                e.subject,
                at,
                payload,
                &prev_hash[..],
                &hash[..]
            ])
        })
        .map_err(db_err)?;
        *head = (seq, hash);
        event_seqs.push(seq);
    }
    Ok(Committed::Applied { event_seqs })
}

/// The postings of a stored transaction, in order; empty if it does not exist.
fn stored_postings(tx: &Connection, id: Uuid) -> Result<Vec<Posting>, StoreError> {
    let mut stmt = tx
        .prepare_cached(
            "SELECT account_kind, owner, amount FROM ledger_postings WHERE tx_id = ?1 ORDER BY idx",
        )
        .map_err(db_err)?;
    let rows = stmt
        .query_map(params![id.as_bytes()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })
        .map_err(db_err)?;
    rows.map(|row| {
        let (kind, owner, amount) = row.map_err(db_err)?;
        let kind = crate::account_kind(&kind)?;
        Ok(Posting {
            account: Account::new(kind, owner),
            amount: Fen::new(amount),
        })
    })
    .collect()
}

/// Inserts a new aggregate or updates it if still at the expected version.
fn write_aggregate(tx: &Connection, a: &AggregateWrite, stamp: i64) -> Result<(), StoreError> {
    let conflict = || StoreError::VersionConflict {
        kind: a.kind.clone(),
        id: a.id,
        expected: a.expected_version,
    };
    let state = a.state.to_string();
    let at = to_micros(a.at);
    match a.expected_version {
        None => {
            tx.prepare_cached(
                "INSERT INTO aggregates (kind, id, version, owner, status, state, updated_at,
                                         chain_seq)
                 VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6, ?7)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    a.kind,
                    a.id.as_bytes(),
                    a.owner,
                    a.status,
                    state,
                    at,
                    stamp
                ])
            })
            .map_err(|e| {
                if e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) {
                    conflict()
                } else {
                    db_err(e)
                }
            })?;
        }
        Some(expected) => {
            let n = tx
                .prepare_cached(
                    "UPDATE aggregates SET version = version + 1, owner = ?4, status = ?5,
                       state = ?6, updated_at = ?7, chain_seq = ?8
                     WHERE kind = ?1 AND id = ?2 AND version = ?3",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        a.kind,
                        a.id.as_bytes(),
                        expected,
                        a.owner,
                        a.status,
                        state,
                        at,
                        stamp
                    ])
                })
                .map_err(db_err)?;
            if n == 0 {
                return Err(conflict());
            }
        }
    }
    Ok(())
}

const AGGREGATE_COLUMNS: &str = "kind, id, version, owner, status, state, updated_at";

/// The listing of `q` and its arguments.
fn aggregates_sql(q: &AggregateQuery) -> (String, Vec<rusqlite::types::Value>) {
    let index = match (&q.owner, &q.status) {
        (Some(_), _) => BY_OWNER,
        (None, Some(_)) => BY_STATUS,
        (None, None) => "",
    };
    let mut sql = format!("SELECT {AGGREGATE_COLUMNS} FROM aggregates {index} WHERE kind = ?");
    let mut args: Vec<rusqlite::types::Value> = vec![q.kind.clone().into()];
    if let Some(owner) = &q.owner {
        sql.push_str(" AND owner = ?");
        args.push(owner.clone().into());
    }
    if let Some(status) = &q.status {
        sql.push_str(" AND status = ?");
        args.push(status.clone().into());
    }
    if let Some(after) = q.after {
        sql.push_str(" AND id > ?");
        args.push(after.as_bytes().to_vec().into());
    }
    sql.push_str(" ORDER BY id LIMIT ?");
    args.push(i64::from(q.limit).into());
    (sql, args)
}

/// Without statistics SQLite's planner takes the primary key (kind, id) for a list in id
/// order and filters every aggregate of the kind by owner or status: a provider's
/// statements read all statements. Listings by owner or status name their index.
const BY_OWNER: &str = "INDEXED BY aggregates_by_owner";
const BY_STATUS: &str = "INDEXED BY aggregates_by_status";

type AggregateRow = (String, Vec<u8>, i64, String, String, String, i64);

fn aggregate_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AggregateRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

fn parse_aggregate(
    (kind, id, version, owner, status, state, updated_at): AggregateRow,
) -> Result<StoredAggregate, StoreError> {
    Ok(StoredAggregate {
        state: serde_json::from_str(&state)
            .map_err(|e| StoreError::Corrupt(format!("{kind} state: {e}")))?,
        kind,
        id: uuid_from_blob(&id)?,
        version,
        owner,
        status,
        updated_at: from_micros(updated_at)?,
    })
}

fn claim(
    tx: &Connection,
    now: Timestamp,
    worker: &str,
    lease: SignedDuration,
    limit: u32,
) -> Result<Vec<Deadline>, StoreError> {
    let now_us = to_micros(now);
    let until = to_micros(
        now.checked_add(lease)
            .map_err(|e| StoreError::Database(e.to_string()))?,
    );
    let mut stmt = tx
        .prepare_cached(&format!(
            "UPDATE deadlines SET claimed_by = ?1, claim_until = ?2
             WHERE id IN (SELECT id FROM deadlines
                          WHERE state = 'pending' AND due_at <= ?3
                            AND (claim_until IS NULL OR claim_until <= ?3)
                          ORDER BY due_at, id LIMIT ?4)
             RETURNING {DEADLINE_COLUMNS}"
        ))
        .map_err(db_err)?;
    let mut claimed = stmt
        .query_map(params![worker, until, now_us, limit], deadline_row)
        .map_err(db_err)?
        .map(|r| r.map_err(db_err).and_then(parse_deadline))
        .collect::<Result<Vec<_>, _>>()?;
    claimed.sort_by(|a, b| a.due_at.cmp(&b.due_at).then(a.id.cmp(&b.id)));
    Ok(claimed)
}

/// SQLite's `SUM` of 64-bit integers fails on overflow, so totals of money are summed in two
/// halves that cannot overflow (`amount >> 32`, arithmetic, and `amount & 0xFFFFFFFF`, each
/// summed over up to two billion rows) and put together here, exactly, in 128 bits.
fn wide(hi: i64, lo: i64) -> i128 {
    (i128::from(hi) << 32) + i128::from(lo)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The plan SQLite picks for `sql` on an empty, migrated database (no statistics).
    fn plan(sql: &str, args: Vec<rusqlite::types::Value>) -> String {
        let c = Connection::open_in_memory().unwrap();
        for (_, _, migration) in MIGRATIONS {
            c.execute_batch(migration).unwrap();
        }
        let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(3))
            .unwrap();
        rows.map(Result::unwrap).collect::<Vec<_>>().join("; ")
    }

    fn query(owner: Option<&str>, status: Option<&str>) -> AggregateQuery {
        AggregateQuery {
            kind: "statement".into(),
            owner: owner.map(str::to_owned),
            status: status.map(str::to_owned),
            after: Some(Uuid::nil()),
            limit: 200,
        }
    }

    #[test]
    fn listings_by_owner_or_status_seek_their_index_not_every_aggregate_of_the_kind() {
        let (sql, args) = aggregates_sql(&query(Some("p1"), None));
        assert!(plan(&sql, args).contains("aggregates_by_owner (kind=? AND owner=?"));
        let (sql, args) = aggregates_sql(&query(Some("p1"), Some("paid")));
        assert!(plan(&sql, args).contains("aggregates_by_owner (kind=? AND owner=?"));
        let (sql, args) = aggregates_sql(&query(None, Some("paid")));
        assert!(plan(&sql, args).contains("aggregates_by_status (kind=? AND status=?"));
        let owned = format!(
            "SELECT {AGGREGATE_COLUMNS} FROM aggregates {BY_OWNER}
             WHERE kind = ?1 AND owner = ?2 ORDER BY id"
        );
        let args = vec!["statement".to_owned().into(), "p1".to_owned().into()];
        assert!(plan(&owned, args).contains("aggregates_by_owner (kind=? AND owner=?)"));
    }
}
