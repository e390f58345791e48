-- 0001: documents, their automerge changes and snapshots, actor bindings,
-- and the review projections (observations, notes) with full-text search.

CREATE TABLE documents (
    id          BLOB PRIMARY KEY CHECK (length(id) = 16),  -- uuid, 16 raw bytes
    kind        TEXT NOT NULL CHECK (kind IN ('walk', 'spreekuur', 'catalog')),
    owner       TEXT NOT NULL,                              -- user id that created it
    team        TEXT,                                       -- from the creator's token; NULL for catalog
    created_at  INTEGER NOT NULL                            -- ms since the Unix epoch
) WITHOUT ROWID;
CREATE INDEX documents_kind_team ON documents(kind, team);

-- Every automerge change ever received. Rows are never deleted and never
-- change, except that compaction may move a change's bytes into a snapshot
-- that provably contains it (bytes set to NULL); who sent it and when stays.
CREATE TABLE changes (
    seq          INTEGER PRIMARY KEY,                       -- arrival order
    doc_id       BLOB NOT NULL REFERENCES documents(id),
    hash         BLOB NOT NULL CHECK (length(hash) = 32),
    bytes        BLOB,                                      -- NULL once covered by a snapshot
    user_id      TEXT NOT NULL,
    actor        BLOB NOT NULL,
    received_at  INTEGER NOT NULL,
    UNIQUE (doc_id, hash)
);

CREATE TRIGGER changes_no_delete BEFORE DELETE ON changes
BEGIN
    SELECT RAISE(ABORT, 'changes are append-only');
END;

CREATE TRIGGER changes_no_update BEFORE UPDATE ON changes
WHEN NEW.seq IS NOT OLD.seq OR NEW.doc_id IS NOT OLD.doc_id OR NEW.hash IS NOT OLD.hash
  OR NEW.user_id IS NOT OLD.user_id OR NEW.actor IS NOT OLD.actor
  OR NEW.received_at IS NOT OLD.received_at OR NEW.bytes IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'changes are append-only (only compaction may clear bytes)');
END;

-- The latest compacted state of a document (automerge save()).
CREATE TABLE snapshots (
    doc_id      BLOB PRIMARY KEY REFERENCES documents(id),
    bytes       BLOB NOT NULL,
    heads       TEXT NOT NULL,                              -- JSON array of hex hashes
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;

-- An automerge actor id, once seen, belongs to one user.
CREATE TABLE actors (
    actor_id    BLOB PRIMARY KEY,
    user_id     TEXT NOT NULL,
    first_seen  INTEGER NOT NULL
) WITHOUT ROWID;

-- Projections: one row per observation (walks) or note (spreekuur), exactly
-- the JSON row produced by wijklog-shared's projection, plus indexed columns.
CREATE TABLE observations (
    doc_id      BLOB NOT NULL REFERENCES documents(id),
    item_id     TEXT NOT NULL,
    team        TEXT,
    wijk        TEXT,
    category    TEXT,
    severity    TEXT,
    created_at  INTEGER,
    created_by  TEXT,
    deleted     INTEGER NOT NULL DEFAULT 0,
    text        TEXT NOT NULL DEFAULT '',
    place       TEXT,
    row_json    TEXT NOT NULL,
    UNIQUE (doc_id, item_id)
);
CREATE INDEX observations_wijk ON observations(wijk, created_at);
CREATE INDEX observations_team ON observations(team, created_at);
CREATE INDEX observations_category ON observations(category, created_at);

CREATE TABLE notes (
    doc_id      BLOB NOT NULL REFERENCES documents(id),
    item_id     TEXT NOT NULL,
    team        TEXT,
    wijk        TEXT,
    category    TEXT,
    severity    TEXT,
    created_at  INTEGER,
    created_by  TEXT,
    deleted     INTEGER NOT NULL DEFAULT 0,
    text        TEXT NOT NULL DEFAULT '',
    place       TEXT,
    row_json    TEXT NOT NULL,
    UNIQUE (doc_id, item_id)
);
CREATE INDEX notes_wijk ON notes(wijk, created_at);
CREATE INDEX notes_team ON notes(team, created_at);
CREATE INDEX notes_category ON notes(category, created_at);

-- Full-text search over text and place, external-content tables kept in
-- step by triggers (the pattern from the SQLite FTS5 documentation).
CREATE VIRTUAL TABLE observations_fts USING fts5(
    text, place, content='observations', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER observations_ai AFTER INSERT ON observations BEGIN
    INSERT INTO observations_fts(rowid, text, place) VALUES (new.rowid, new.text, new.place);
END;
CREATE TRIGGER observations_ad AFTER DELETE ON observations BEGIN
    INSERT INTO observations_fts(observations_fts, rowid, text, place) VALUES ('delete', old.rowid, old.text, old.place);
END;
CREATE TRIGGER observations_au AFTER UPDATE ON observations BEGIN
    INSERT INTO observations_fts(observations_fts, rowid, text, place) VALUES ('delete', old.rowid, old.text, old.place);
    INSERT INTO observations_fts(rowid, text, place) VALUES (new.rowid, new.text, new.place);
END;

CREATE VIRTUAL TABLE notes_fts USING fts5(
    text, place, content='notes', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER notes_ai AFTER INSERT ON notes BEGIN
    INSERT INTO notes_fts(rowid, text, place) VALUES (new.rowid, new.text, new.place);
END;
CREATE TRIGGER notes_ad AFTER DELETE ON notes BEGIN
    INSERT INTO notes_fts(notes_fts, rowid, text, place) VALUES ('delete', old.rowid, old.text, old.place);
END;
CREATE TRIGGER notes_au AFTER UPDATE ON notes BEGIN
    INSERT INTO notes_fts(notes_fts, rowid, text, place) VALUES ('delete', old.rowid, old.text, old.place);
    INSERT INTO notes_fts(rowid, text, place) VALUES (new.rowid, new.text, new.place);
END;
