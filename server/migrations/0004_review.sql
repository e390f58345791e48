-- 0004: the coordinators' review queries. Nothing here changes
-- how the document commit writes the projection tables: the extra filter
-- columns are VIRTUAL generated columns computed from `row_json`, and the
-- follow-up partners of each item live in `item_partners`, kept in step with
-- the projection tables by triggers. See docs/api.md ("Review").

-- Filter and sort columns (computed on read, stored only in the indexes).
-- `sort_at` is created_at with NULL (an invalid timestamp) as 0, so that the
-- keyset cursor compares plain integers. `sev_rank` orders severities
-- urgent > zorgelijk > aandacht > informatief > anything else.
ALTER TABLE observations ADD COLUMN sort_at INTEGER GENERATED ALWAYS AS (coalesce(created_at, 0)) VIRTUAL;
ALTER TABLE observations ADD COLUMN sev_rank INTEGER GENERATED ALWAYS AS (
    CASE severity WHEN 'urgent' THEN 4 WHEN 'zorgelijk' THEN 3 WHEN 'aandacht' THEN 2
                  WHEN 'informatief' THEN 1 ELSE 0 END) VIRTUAL;
ALTER TABLE observations ADD COLUMN fb_needed INTEGER GENERATED ALWAYS AS (
    iif(json_valid(row_json), coalesce(json_extract(row_json, '$.feedback.needed'), 0), 0)) VIRTUAL;
ALTER TABLE observations ADD COLUMN fb_given_at INTEGER GENERATED ALWAYS AS (
    iif(json_valid(row_json), json_extract(row_json, '$.feedback.given_at'), NULL)) VIRTUAL;
ALTER TABLE observations ADD COLUMN lat REAL GENERATED ALWAYS AS (
    iif(json_valid(row_json), json_extract(row_json, '$.location.lat'), NULL)) VIRTUAL;
ALTER TABLE observations ADD COLUMN lon REAL GENERATED ALWAYS AS (
    iif(json_valid(row_json), json_extract(row_json, '$.location.lon'), NULL)) VIRTUAL;

ALTER TABLE notes ADD COLUMN sort_at INTEGER GENERATED ALWAYS AS (coalesce(created_at, 0)) VIRTUAL;
ALTER TABLE notes ADD COLUMN sev_rank INTEGER GENERATED ALWAYS AS (
    CASE severity WHEN 'urgent' THEN 4 WHEN 'zorgelijk' THEN 3 WHEN 'aandacht' THEN 2
                  WHEN 'informatief' THEN 1 ELSE 0 END) VIRTUAL;
ALTER TABLE notes ADD COLUMN fb_needed INTEGER GENERATED ALWAYS AS (
    iif(json_valid(row_json), coalesce(json_extract(row_json, '$.feedback.needed'), 0), 0)) VIRTUAL;
ALTER TABLE notes ADD COLUMN fb_given_at INTEGER GENERATED ALWAYS AS (
    iif(json_valid(row_json), json_extract(row_json, '$.feedback.given_at'), NULL)) VIRTUAL;
ALTER TABLE notes ADD COLUMN lat REAL GENERATED ALWAYS AS (
    iif(json_valid(row_json), json_extract(row_json, '$.location.lat'), NULL)) VIRTUAL;
ALTER TABLE notes ADD COLUMN lon REAL GENERATED ALWAYS AS (
    iif(json_valid(row_json), json_extract(row_json, '$.location.lon'), NULL)) VIRTUAL;

-- The list's keyset order (newest first) and the common filters.
CREATE INDEX observations_order ON observations(deleted, sort_at, doc_id, item_id);
CREATE INDEX observations_severity ON observations(severity, created_at);
CREATE INDEX observations_author ON observations(created_by, created_at);
CREATE INDEX observations_feedback ON observations(fb_needed, fb_given_at, sort_at);
CREATE INDEX notes_order ON notes(deleted, sort_at, doc_id, item_id);
CREATE INDEX notes_severity ON notes(severity, created_at);
CREATE INDEX notes_author ON notes(created_by, created_at);
CREATE INDEX notes_feedback ON notes(fb_needed, fb_given_at, sort_at);

-- One row per (item, partner) of an item's `follow_up` map.
CREATE TABLE item_partners (
    doc_id   BLOB NOT NULL,
    item_id  TEXT NOT NULL,
    partner  TEXT NOT NULL,
    status   TEXT,                 -- open | in_behandeling | afgerond | NULL (invalid)
    PRIMARY KEY (doc_id, item_id, partner)
) WITHOUT ROWID;
CREATE INDEX item_partners_partner ON item_partners(partner, status);

CREATE TRIGGER observations_partners_ai AFTER INSERT ON observations BEGIN
    INSERT OR REPLACE INTO item_partners (doc_id, item_id, partner, status)
    SELECT new.doc_id, new.item_id, j.key, json_extract(j.value, '$.status')
    FROM json_each(iif(json_valid(new.row_json), new.row_json, '{}'), '$.follow_up') j
    WHERE j.type = 'object';
END;
CREATE TRIGGER observations_partners_ad AFTER DELETE ON observations BEGIN
    DELETE FROM item_partners WHERE doc_id = old.doc_id AND item_id = old.item_id;
END;
CREATE TRIGGER observations_partners_au AFTER UPDATE OF row_json, doc_id, item_id ON observations BEGIN
    DELETE FROM item_partners WHERE doc_id = old.doc_id AND item_id = old.item_id;
    INSERT OR REPLACE INTO item_partners (doc_id, item_id, partner, status)
    SELECT new.doc_id, new.item_id, j.key, json_extract(j.value, '$.status')
    FROM json_each(iif(json_valid(new.row_json), new.row_json, '{}'), '$.follow_up') j
    WHERE j.type = 'object';
END;

CREATE TRIGGER notes_partners_ai AFTER INSERT ON notes BEGIN
    INSERT OR REPLACE INTO item_partners (doc_id, item_id, partner, status)
    SELECT new.doc_id, new.item_id, j.key, json_extract(j.value, '$.status')
    FROM json_each(iif(json_valid(new.row_json), new.row_json, '{}'), '$.follow_up') j
    WHERE j.type = 'object';
END;
CREATE TRIGGER notes_partners_ad AFTER DELETE ON notes BEGIN
    DELETE FROM item_partners WHERE doc_id = old.doc_id AND item_id = old.item_id;
END;
CREATE TRIGGER notes_partners_au AFTER UPDATE OF row_json, doc_id, item_id ON notes BEGIN
    DELETE FROM item_partners WHERE doc_id = old.doc_id AND item_id = old.item_id;
    INSERT OR REPLACE INTO item_partners (doc_id, item_id, partner, status)
    SELECT new.doc_id, new.item_id, j.key, json_extract(j.value, '$.status')
    FROM json_each(iif(json_valid(new.row_json), new.row_json, '{}'), '$.follow_up') j
    WHERE j.type = 'object';
END;

-- Rows that exist already (a database migrated from 0003) get their partners now.
INSERT OR REPLACE INTO item_partners (doc_id, item_id, partner, status)
    SELECT t.doc_id, t.item_id, j.key, json_extract(j.value, '$.status')
    FROM (SELECT doc_id, item_id, row_json FROM observations
          UNION ALL SELECT doc_id, item_id, row_json FROM notes) t,
         json_each(iif(json_valid(t.row_json), t.row_json, '{}'), '$.follow_up') j
    WHERE j.type = 'object';

-- The audit log is read filtered by actor, action and time.
CREATE INDEX audit_log_actor ON audit_log(actor, id);
CREATE INDEX audit_log_action ON audit_log(action, id);
CREATE INDEX audit_log_at ON audit_log(at);
