-- Foundation: the audit trail, the ledger, deadlines, idempotency keys, API tokens.
-- Instants are INTEGER microseconds since the Unix epoch; ids are 16-byte UUIDv7 BLOBs.

CREATE TABLE events (
    seq       INTEGER PRIMARY KEY,
    id        BLOB    NOT NULL UNIQUE,
    kind      TEXT    NOT NULL,
    subject   TEXT    NOT NULL,
    at        INTEGER NOT NULL,
    payload   TEXT    NOT NULL,
    prev_hash BLOB    NOT NULL,
    hash      BLOB    NOT NULL
);
CREATE INDEX events_by_subject ON events (subject, seq);

CREATE TABLE ledger_transactions (
    id        BLOB    PRIMARY KEY,
    kind      TEXT    NOT NULL,
    reference TEXT    NOT NULL,
    reverses  BLOB    UNIQUE REFERENCES ledger_transactions (id),
    at        INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX ledger_transactions_by_reference ON ledger_transactions (reference);

CREATE TABLE ledger_postings (
    tx_id        BLOB    NOT NULL,
    idx          INTEGER NOT NULL,
    account_kind TEXT    NOT NULL,
    owner        TEXT    NOT NULL,
    amount       INTEGER NOT NULL CHECK (amount <> 0),
    PRIMARY KEY (tx_id, idx)
) WITHOUT ROWID;
CREATE INDEX ledger_postings_by_account ON ledger_postings (account_kind, owner, amount);

-- Postings and events are append-only: corrections are reversals and new events.
CREATE TRIGGER ledger_postings_no_update BEFORE UPDATE ON ledger_postings
BEGIN SELECT RAISE(ABORT, 'ledger postings are append-only'); END;
CREATE TRIGGER ledger_postings_no_delete BEFORE DELETE ON ledger_postings
BEGIN SELECT RAISE(ABORT, 'ledger postings are append-only'); END;
CREATE TRIGGER ledger_transactions_no_update BEFORE UPDATE ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'ledger transactions are append-only'); END;
CREATE TRIGGER ledger_transactions_no_delete BEFORE DELETE ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'ledger transactions are append-only'); END;
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

CREATE TABLE deadlines (
    id          BLOB    PRIMARY KEY,
    kind        TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    due_at      INTEGER NOT NULL,
    payload     TEXT    NOT NULL,
    dedupe_key  TEXT    UNIQUE,
    state       TEXT    NOT NULL CHECK (state IN ('pending', 'fired', 'cancelled')),
    claimed_by  TEXT,
    claim_until INTEGER,
    fired_at    INTEGER
) WITHOUT ROWID;
CREATE INDEX deadlines_pending_by_due ON deadlines (due_at, id) WHERE state = 'pending';

CREATE TABLE idempotency_keys (
    scope       TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    response    TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;

CREATE TABLE api_tokens (
    hash       TEXT    PRIMARY KEY,
    principal  TEXT    NOT NULL,
    role       TEXT    NOT NULL,
    label      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER
) WITHOUT ROWID;
