-- Durable uploads (onboarding materials): the bytes with what identifies them. A file never
-- changes once written; what refers to it records its SHA-256, so what a reviewer saw is
-- provable.

CREATE TABLE files (
    id           UUID   PRIMARY KEY,
    owner        TEXT   NOT NULL,
    content_type TEXT   NOT NULL,
    sha256       TEXT   NOT NULL,
    size_bytes   BIGINT NOT NULL CHECK (size_bytes >= 0),
    content      BYTEA  NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX files_by_owner ON files (owner, id);
CREATE FUNCTION yunshi_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is immutable', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER files_immutable BEFORE UPDATE ON files
    FOR EACH ROW EXECUTE FUNCTION yunshi_immutable();
