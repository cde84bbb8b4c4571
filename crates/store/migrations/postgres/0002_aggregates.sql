-- Aggregates: the current state of each domain object (provider, store, product, order, …)
-- as a JSON document with a version for optimistic concurrency. History is in `events`.

CREATE TABLE aggregates (
    kind       TEXT   NOT NULL,
    id         UUID   NOT NULL,
    version    BIGINT NOT NULL CHECK (version >= 1),
    owner      TEXT   NOT NULL,
    status     TEXT   NOT NULL,
    state      TEXT   NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX aggregates_by_owner ON aggregates (kind, owner, id);
CREATE INDEX aggregates_by_status ON aggregates (kind, status, id);

-- Unique business keys (an e-mail, one rating per order) naming the aggregate that holds them.
CREATE TABLE unique_keys (
    scope TEXT NOT NULL,
    key   TEXT NOT NULL,
    id    UUID NOT NULL,
    PRIMARY KEY (scope, key)
);
