-- The audit of changes (issue 18): what was written after an event the audit verified.
--
-- The chain's head is recorded beside the events, so that events cut off its end show on
-- verification (as on PostgreSQL). It starts at the last event already stored.
CREATE TABLE event_chain_head (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    seq       INTEGER NOT NULL,
    hash      BLOB    NOT NULL
);
INSERT INTO event_chain_head (singleton, seq, hash)
SELECT 1, COALESCE(MAX(seq), 0),
       COALESCE((SELECT hash FROM events ORDER BY seq DESC LIMIT 1), zeroblob(32))
FROM events;

-- Each ledger transaction, settlement item and aggregate write carries the chain's head when
-- it was written, so that a write that appended no event is still found after the mark.
ALTER TABLE ledger_transactions ADD COLUMN chain_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE settlement_items ADD COLUMN chain_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE aggregates ADD COLUMN chain_seq INTEGER NOT NULL DEFAULT 0;
CREATE INDEX ledger_transactions_by_chain_seq ON ledger_transactions (chain_seq);
CREATE INDEX settlement_items_by_chain_seq ON settlement_items (chain_seq);
CREATE INDEX aggregates_by_chain_seq ON aggregates (chain_seq);
