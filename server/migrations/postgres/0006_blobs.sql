-- 0006: photos (blobs), shared by every node: the same rows and rules as
-- SQLite's 0003_blobs.sql, and the bytes themselves in the database (bytea;
-- ADR 0022), so a photo uploaded through one node is read through any
-- other and pg_dump backs it up with its row. See docs/blobs.md.

CREATE TABLE blobs (
    sha256        text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),  -- lowercase hex
    size          bigint NOT NULL CHECK (size >= 0),                     -- bytes
    mime          text NOT NULL CHECK (mime IN ('image/jpeg', 'image/png', 'image/webp')),
    uploaded_by   text NOT NULL,                                         -- user id of the first uploader
    uploaded_at   bigint NOT NULL,                                       -- ms since the Unix epoch
    width         integer NOT NULL,
    height        integer NOT NULL,
    -- When the last reference disappeared (ms); NULL while referenced or
    -- never referenced. Garbage collection waits a grace period after
    -- max(uploaded_at, orphaned_at).
    orphaned_at   bigint,
    -- The photo: at most blobs.max_bytes (10 MiB by default), stored out of
    -- line by TOAST and not compressed (JPEG, PNG and WebP are already).
    bytes         bytea NOT NULL CHECK (length(bytes) = size)
);
ALTER TABLE blobs ALTER COLUMN bytes SET STORAGE EXTERNAL;

-- Cached thumbnails (derived data; they go with their photo).
CREATE TABLE blob_thumbs (
    sha256   text NOT NULL REFERENCES blobs(sha256) ON DELETE CASCADE,
    px       integer NOT NULL CHECK (px > 0),
    bytes    bytea NOT NULL,
    PRIMARY KEY (sha256, px)
);

-- Which documents reference a blob: one row per (blob, document, item). A
-- reference may exist before the blob is uploaded (the observation syncs
-- first, the photo follows). Tombstoned items keep their references.
CREATE TABLE blob_refs (
    blob     text NOT NULL,                                              -- lowercase hex, no prefix
    doc_id   bytea NOT NULL,
    item_id  text NOT NULL,
    PRIMARY KEY (blob, doc_id, item_id)
);
CREATE INDEX blob_refs_item ON blob_refs(doc_id, item_id);

-- The well-formed photo references of a projection row ("sha256:" + 64
-- lowercase hex digits, each once); anything else in `photos` is ignored.
-- row_json is always written by the server as JSON.
CREATE FUNCTION wijklog_photo_refs(row_json text) RETURNS SETOF text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT DISTINCT substr(e #>> '{}', 8)
    FROM jsonb_array_elements(
        CASE WHEN jsonb_typeof(row_json::jsonb -> 'photos') = 'array'
             THEN row_json::jsonb -> 'photos' ELSE '[]'::jsonb END) AS e
    WHERE jsonb_typeof(e) = 'string' AND (e #>> '{}') ~ '^sha256:[0-9a-f]{64}$'
$$;

-- Projection rows -> references, in the commit's own transaction.
CREATE FUNCTION wijklog_item_blob_refs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        DELETE FROM blob_refs WHERE doc_id = OLD.doc_id AND item_id = OLD.item_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO blob_refs (blob, doc_id, item_id)
        SELECT r, NEW.doc_id, NEW.item_id FROM wijklog_photo_refs(NEW.row_json) AS r
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER observations_blob_refs
    AFTER INSERT OR DELETE OR UPDATE OF row_json, doc_id, item_id ON observations
    FOR EACH ROW EXECUTE FUNCTION wijklog_item_blob_refs();
CREATE TRIGGER notes_blob_refs
    AFTER INSERT OR DELETE OR UPDATE OF row_json, doc_id, item_id ON notes
    FOR EACH ROW EXECUTE FUNCTION wijklog_item_blob_refs();

-- A reference added: the blob is no longer an orphan. The last one
-- removed: the grace period starts now.
CREATE FUNCTION wijklog_blob_orphans() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE blobs SET orphaned_at = NULL
        WHERE sha256 = NEW.blob AND orphaned_at IS NOT NULL;
    ELSIF NOT EXISTS (SELECT 1 FROM blob_refs WHERE blob = OLD.blob) THEN
        UPDATE blobs SET orphaned_at = (extract(epoch FROM clock_timestamp()) * 1000)::bigint
        WHERE sha256 = OLD.blob;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER blob_refs_orphans AFTER INSERT OR DELETE ON blob_refs
    FOR EACH ROW EXECUTE FUNCTION wijklog_blob_orphans();

-- Projection rows that already exist get their references now.
INSERT INTO blob_refs (blob, doc_id, item_id)
    SELECT r, t.doc_id, t.item_id
    FROM (SELECT doc_id, item_id, row_json FROM observations
          UNION ALL SELECT doc_id, item_id, row_json FROM notes) AS t,
         wijklog_photo_refs(t.row_json) AS r
    ON CONFLICT DO NOTHING;
