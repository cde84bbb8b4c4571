-- Settlement items: what of an order counts toward settlement, frozen when it happened (the
-- release of escrow with the fee charged, each refund after release with the fee returned).
-- Written with the order in the same transaction; statements are computed from them.

CREATE TABLE settlement_items (
    id            UUID   PRIMARY KEY,
    provider      TEXT   COLLATE "C" NOT NULL,
    order_id      UUID   NOT NULL,
    product       UUID   NOT NULL,
    kind          TEXT   NOT NULL CHECK (kind IN ('release', 'refund')),
    at            BIGINT NOT NULL,
    amount        BIGINT NOT NULL,
    fee           BIGINT NOT NULL,
    service_start TEXT,
    service_end   TEXT,
    consignment   BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX settlement_items_by_provider ON settlement_items (provider, order_id, at);
CREATE INDEX settlement_items_by_order ON settlement_items (order_id);

CREATE TRIGGER settlement_items_append_only BEFORE UPDATE OR DELETE ON settlement_items
    FOR EACH ROW EXECUTE FUNCTION yunshi_append_only();
