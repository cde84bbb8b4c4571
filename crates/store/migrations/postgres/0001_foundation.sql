-- Foundation: the audit trail, the ledger, deadlines, idempotency keys, API tokens.
-- Instants are BIGINT microseconds since the Unix epoch; ids are UUIDv7. Plain BIGINT keys
-- and no sequences or advisory locks, so the schema also runs on distributed
-- Postgres-compatible SQL.

CREATE TABLE events (
    seq       BIGINT PRIMARY KEY,
    id        UUID   NOT NULL UNIQUE,
    kind      TEXT   NOT NULL,
    subject   TEXT   NOT NULL,
    at        BIGINT NOT NULL,
    payload   TEXT   NOT NULL,
    prev_hash BYTEA  NOT NULL,
    hash      BYTEA  NOT NULL
);
CREATE INDEX events_by_subject ON events (subject, seq);

-- One row: the chain's head. Appending events locks it, which orders the chain.
CREATE TABLE event_chain_head (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    seq       BIGINT  NOT NULL,
    hash      BYTEA   NOT NULL
);
INSERT INTO event_chain_head (singleton, seq, hash)
VALUES (TRUE, 0, '\x0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE ledger_transactions (
    id        UUID   PRIMARY KEY,
    kind      TEXT   NOT NULL,
    reference TEXT   NOT NULL,
    reverses  UUID   UNIQUE REFERENCES ledger_transactions (id),
    at        BIGINT NOT NULL
);
CREATE INDEX ledger_transactions_by_reference ON ledger_transactions (reference);

CREATE TABLE ledger_postings (
    tx_id        UUID    NOT NULL,
    idx          INTEGER NOT NULL,
    account_kind TEXT    NOT NULL,
    owner        TEXT    NOT NULL,
    amount       BIGINT  NOT NULL CHECK (amount <> 0),
    PRIMARY KEY (tx_id, idx)
);
CREATE INDEX ledger_postings_by_account ON ledger_postings (account_kind, owner) INCLUDE (amount);

-- Postings and events are append-only: corrections are reversals and new events.
CREATE FUNCTION yunshi_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER ledger_postings_append_only BEFORE UPDATE OR DELETE ON ledger_postings
    FOR EACH ROW EXECUTE FUNCTION yunshi_append_only();
CREATE TRIGGER ledger_transactions_append_only BEFORE UPDATE OR DELETE ON ledger_transactions
    FOR EACH ROW EXECUTE FUNCTION yunshi_append_only();
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION yunshi_append_only();

CREATE TABLE deadlines (
    id          UUID   PRIMARY KEY,
    kind        TEXT   NOT NULL,
    subject     TEXT   NOT NULL,
    due_at      BIGINT NOT NULL,
    payload     TEXT   NOT NULL,
    dedupe_key  TEXT   UNIQUE,
    state       TEXT   NOT NULL CHECK (state IN ('pending', 'fired', 'cancelled')),
    claimed_by  TEXT,
    claim_until BIGINT,
    fired_at    BIGINT
);
CREATE INDEX deadlines_pending_by_due ON deadlines (due_at, id) WHERE state = 'pending';

CREATE TABLE idempotency_keys (
    scope       TEXT   NOT NULL,
    key         TEXT   NOT NULL,
    fingerprint TEXT   NOT NULL,
    response    TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);

CREATE TABLE api_tokens (
    hash       TEXT   PRIMARY KEY,
    principal  TEXT   NOT NULL,
    role       TEXT   NOT NULL,
    label      TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT
);
