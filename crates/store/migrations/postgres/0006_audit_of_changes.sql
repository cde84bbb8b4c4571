-- The audit of changes (issue 18): each ledger transaction, settlement item and aggregate
-- write carries the chain's head when it was written (read under the head's lock), so that a
-- write that appended no event is still found after the mark an audit verified.
ALTER TABLE ledger_transactions ADD COLUMN chain_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE settlement_items ADD COLUMN chain_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE aggregates ADD COLUMN chain_seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX ledger_transactions_by_chain_seq ON ledger_transactions (chain_seq);
CREATE INDEX settlement_items_by_chain_seq ON settlement_items (chain_seq);
CREATE INDEX aggregates_by_chain_seq ON aggregates (chain_seq);
