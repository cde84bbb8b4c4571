-- Durable uploads (onboarding materials): the bytes with what identifies them. A file never
-- changes once written; what refers to it records its SHA-256, so what a reviewer saw is
-- provable.

CREATE TABLE files (
    id           BLOB    NOT NULL PRIMARY KEY,
    owner        TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    sha256       TEXT    NOT NULL,
    size_bytes   INTEGER NOT NULL CHECK (size_bytes >= 0),
    content      BLOB    NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX files_by_owner ON files (owner, id);
CREATE TRIGGER files_no_update BEFORE UPDATE ON files
BEGIN SELECT RAISE(ABORT, 'files are immutable'); END;
