-- 0003: photos (blobs). The bytes live outside SQLite, in
-- <data dir>/blobs/ab/cdef... (content-addressed by SHA-256); this table
-- records who uploaded what and when. `blob_refs` says which documents
-- reference which blob; it is kept in step with the projection tables by the
-- triggers below (a projection row's JSON has `photos: ["sha256:<hex>", ...]`),
-- so the document commit code does not need to know about blobs.
-- See docs/blobs.md.

CREATE TABLE blobs (
    sha256        TEXT PRIMARY KEY CHECK (length(sha256) = 64),  -- lowercase hex
    size          INTEGER NOT NULL,                               -- bytes
    mime          TEXT NOT NULL CHECK (mime IN ('image/jpeg', 'image/png', 'image/webp')),
    uploaded_by   TEXT NOT NULL,                                  -- user id of the first uploader
    uploaded_at   INTEGER NOT NULL,                               -- ms since the Unix epoch
    width         INTEGER NOT NULL,
    height        INTEGER NOT NULL,
    -- When the last reference to this blob disappeared (ms); NULL while it is
    -- referenced or was never referenced. Garbage collection waits a grace
    -- period after max(uploaded_at, orphaned_at).
    orphaned_at   INTEGER
) WITHOUT ROWID;

-- Which documents reference a blob: one row per (blob, document, item).
-- A reference may exist before the blob is uploaded (the observation syncs
-- first, the photo follows). Tombstoned items keep their references (they
-- can be restored).
CREATE TABLE blob_refs (
    blob     TEXT NOT NULL,                                       -- lowercase hex, no prefix
    doc_id   BLOB NOT NULL,
    item_id  TEXT NOT NULL,
    PRIMARY KEY (blob, doc_id, item_id)
) WITHOUT ROWID;
CREATE INDEX blob_refs_item ON blob_refs(doc_id, item_id);

-- A reference added: the blob is no longer an orphan.
CREATE TRIGGER blob_refs_ai AFTER INSERT ON blob_refs BEGIN
    UPDATE blobs SET orphaned_at = NULL WHERE sha256 = new.blob AND orphaned_at IS NOT NULL;
END;

-- The last reference removed: the grace period starts now.
CREATE TRIGGER blob_refs_ad AFTER DELETE ON blob_refs
WHEN NOT EXISTS (SELECT 1 FROM blob_refs WHERE blob = old.blob)
BEGIN
    UPDATE blobs SET orphaned_at = CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    WHERE sha256 = old.blob;
END;

-- Projection rows -> references. Only well-formed references count
-- ("sha256:" + 64 lowercase hex digits); anything else is ignored.
CREATE TRIGGER observations_blobs_ai AFTER INSERT ON observations BEGIN
    INSERT OR IGNORE INTO blob_refs (blob, doc_id, item_id)
    SELECT substr(j.value, 8), new.doc_id, new.item_id
    FROM json_each(CASE WHEN json_valid(new.row_json) THEN new.row_json ELSE '{}' END, '$.photos') j
    WHERE j.type = 'text' AND length(j.value) = 71 AND substr(j.value, 1, 7) = 'sha256:'
      AND substr(j.value, 8) NOT GLOB '*[^0-9a-f]*';
END;
CREATE TRIGGER observations_blobs_ad AFTER DELETE ON observations BEGIN
    DELETE FROM blob_refs WHERE doc_id = old.doc_id AND item_id = old.item_id;
END;
CREATE TRIGGER observations_blobs_au AFTER UPDATE OF row_json, doc_id, item_id ON observations BEGIN
    DELETE FROM blob_refs WHERE doc_id = old.doc_id AND item_id = old.item_id;
    INSERT OR IGNORE INTO blob_refs (blob, doc_id, item_id)
    SELECT substr(j.value, 8), new.doc_id, new.item_id
    FROM json_each(CASE WHEN json_valid(new.row_json) THEN new.row_json ELSE '{}' END, '$.photos') j
    WHERE j.type = 'text' AND length(j.value) = 71 AND substr(j.value, 1, 7) = 'sha256:'
      AND substr(j.value, 8) NOT GLOB '*[^0-9a-f]*';
END;

CREATE TRIGGER notes_blobs_ai AFTER INSERT ON notes BEGIN
    INSERT OR IGNORE INTO blob_refs (blob, doc_id, item_id)
    SELECT substr(j.value, 8), new.doc_id, new.item_id
    FROM json_each(CASE WHEN json_valid(new.row_json) THEN new.row_json ELSE '{}' END, '$.photos') j
    WHERE j.type = 'text' AND length(j.value) = 71 AND substr(j.value, 1, 7) = 'sha256:'
      AND substr(j.value, 8) NOT GLOB '*[^0-9a-f]*';
END;
CREATE TRIGGER notes_blobs_ad AFTER DELETE ON notes BEGIN
    DELETE FROM blob_refs WHERE doc_id = old.doc_id AND item_id = old.item_id;
END;
CREATE TRIGGER notes_blobs_au AFTER UPDATE OF row_json, doc_id, item_id ON notes BEGIN
    DELETE FROM blob_refs WHERE doc_id = old.doc_id AND item_id = old.item_id;
    INSERT OR IGNORE INTO blob_refs (blob, doc_id, item_id)
    SELECT substr(j.value, 8), new.doc_id, new.item_id
    FROM json_each(CASE WHEN json_valid(new.row_json) THEN new.row_json ELSE '{}' END, '$.photos') j
    WHERE j.type = 'text' AND length(j.value) = 71 AND substr(j.value, 1, 7) = 'sha256:'
      AND substr(j.value, 8) NOT GLOB '*[^0-9a-f]*';
END;

-- Projection rows that already exist (a database migrated from 0002) get
-- their references now.
INSERT OR IGNORE INTO blob_refs (blob, doc_id, item_id)
    SELECT substr(j.value, 8), t.doc_id, t.item_id
    FROM (SELECT doc_id, item_id, row_json FROM observations
          UNION ALL SELECT doc_id, item_id, row_json FROM notes) t,
         json_each(CASE WHEN json_valid(t.row_json) THEN t.row_json ELSE '{}' END, '$.photos') j
    WHERE j.type = 'text' AND length(j.value) = 71 AND substr(j.value, 1, 7) = 'sha256:'
      AND substr(j.value, 8) NOT GLOB '*[^0-9a-f]*';
