-- Settlement items: what of an order counts toward settlement, frozen when it happened (the
-- release of escrow with the fee charged, each refund after release with the fee returned).
-- Written with the order in the same transaction; statements are computed from them.
-- Clustered by provider and order: a settlement run reads providers in key ranges, and the
-- rows of a range lie together (a statement's lines come out in order, no sort).

CREATE TABLE settlement_items (
    id            BLOB    NOT NULL,
    provider      TEXT    NOT NULL,
    order_id      BLOB    NOT NULL,
    product       BLOB    NOT NULL,
    kind          TEXT    NOT NULL CHECK (kind IN ('release', 'refund')),
    at            INTEGER NOT NULL,
    amount        INTEGER NOT NULL,
    fee           INTEGER NOT NULL,
    service_start TEXT,
    service_end   TEXT,
    consignment   INTEGER NOT NULL DEFAULT 0 CHECK (consignment IN (0, 1)),
    PRIMARY KEY (provider, order_id, at, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX settlement_items_by_id ON settlement_items (id);
CREATE INDEX settlement_items_by_order ON settlement_items (order_id);

CREATE TRIGGER settlement_items_no_update BEFORE UPDATE ON settlement_items
BEGIN SELECT RAISE(ABORT, 'settlement items are append-only'); END;
CREATE TRIGGER settlement_items_no_delete BEFORE DELETE ON settlement_items
BEGIN SELECT RAISE(ABORT, 'settlement items are append-only'); END;
