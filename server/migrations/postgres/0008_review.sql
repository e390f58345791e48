-- 0008: the review queries on PostgreSQL (item list, search, feedback and
-- call-back work lists, statistics, exports): the same filter and sort
-- columns as SQLite's 0004_review.sql, 0005_review_stats.sql and
-- 0009_callbacks.sql, and the same `item_partners` table. Nothing changes in
-- how a commit writes the projection: the columns are generated from the
-- row and its JSON (STORED: PostgreSQL has no virtual generated columns
-- before version 18), `item_partners` is kept in step by a trigger. See
-- docs/api.md ("Review") and docs/decisions/0023.

-- Item ids compare byte by byte, as on SQLite (BINARY), whatever the
-- database's locale: the list's keyset order and its cursor depend on it.
-- (The photo references' triggers of 0006 name the column: they are made
-- again, unchanged, around the change.)
DROP TRIGGER observations_blob_refs ON observations;
DROP TRIGGER notes_blob_refs ON notes;
ALTER TABLE observations ALTER COLUMN item_id SET DATA TYPE text COLLATE "C";
ALTER TABLE notes ALTER COLUMN item_id SET DATA TYPE text COLLATE "C";
CREATE TRIGGER observations_blob_refs
    AFTER INSERT OR DELETE OR UPDATE OF row_json, doc_id, item_id ON observations
    FOR EACH ROW EXECUTE FUNCTION wijklog_item_blob_refs();
CREATE TRIGGER notes_blob_refs
    AFTER INSERT OR DELETE OR UPDATE OF row_json, doc_id, item_id ON notes
    FOR EACH ROW EXECUTE FUNCTION wijklog_item_blob_refs();

-- A JSON number as ms (bigint, truncated and clamped); NULL for anything
-- else, so a stored row can never fail to insert because of one value.
CREATE FUNCTION wijklog_json_ms(v jsonb) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(v) = 'number' THEN
        trunc(least(greatest((v #>> '{}')::numeric, -9223372036854775808), 9223372036854775807))::bigint
    END
$$;

-- A JSON number as a float; NULL for anything else.
CREATE FUNCTION wijklog_json_float(v jsonb) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(v) = 'number' THEN (v #>> '{}')::double precision END
$$;

-- `sort_at` is created_at with NULL as 0 (the cursor compares plain
-- integers); `sev_rank` orders urgent > zorgelijk > aandacht > informatief
-- > anything else; feedback is due 10 working days after the item was
-- created (as wijklog_shared::add_working_days(created_at, 10); the same
-- integer arithmetic as SQLite's 0009, which truncates like PostgreSQL).
ALTER TABLE observations
    ADD COLUMN sort_at bigint GENERATED ALWAYS AS (coalesce(created_at, 0)) STORED,
    ADD COLUMN sev_rank bigint GENERATED ALWAYS AS (
        CASE severity WHEN 'urgent' THEN 4 WHEN 'zorgelijk' THEN 3 WHEN 'aandacht' THEN 2
                      WHEN 'informatief' THEN 1 ELSE 0 END) STORED,
    ADD COLUMN fb_needed boolean GENERATED ALWAYS AS (
        coalesce((row_json::jsonb #>> '{feedback,needed}') = 'true', false)) STORED,
    ADD COLUMN fb_given_at bigint GENERATED ALWAYS AS (
        wijklog_json_ms(row_json::jsonb #> '{feedback,given_at}')) STORED,
    ADD COLUMN lat double precision GENERATED ALWAYS AS (
        wijklog_json_float(row_json::jsonb #> '{location,lat}')) STORED,
    ADD COLUMN lon double precision GENERATED ALWAYS AS (
        wijklog_json_float(row_json::jsonb #> '{location,lon}')) STORED,
    ADD COLUMN fb_due_at bigint GENERATED ALWAYS AS (
        created_at + (14 - greatest(((created_at / 86400000) + 3) % 7 - 4, 0)) * 86400000) STORED;

ALTER TABLE notes
    ADD COLUMN sort_at bigint GENERATED ALWAYS AS (coalesce(created_at, 0)) STORED,
    ADD COLUMN sev_rank bigint GENERATED ALWAYS AS (
        CASE severity WHEN 'urgent' THEN 4 WHEN 'zorgelijk' THEN 3 WHEN 'aandacht' THEN 2
                      WHEN 'informatief' THEN 1 ELSE 0 END) STORED,
    ADD COLUMN fb_needed boolean GENERATED ALWAYS AS (
        coalesce((row_json::jsonb #>> '{feedback,needed}') = 'true', false)) STORED,
    ADD COLUMN fb_given_at bigint GENERATED ALWAYS AS (
        wijklog_json_ms(row_json::jsonb #> '{feedback,given_at}')) STORED,
    ADD COLUMN lat double precision GENERATED ALWAYS AS (
        wijklog_json_float(row_json::jsonb #> '{location,lat}')) STORED,
    ADD COLUMN lon double precision GENERATED ALWAYS AS (
        wijklog_json_float(row_json::jsonb #> '{location,lon}')) STORED,
    ADD COLUMN fb_due_at bigint GENERATED ALWAYS AS (
        created_at + (14 - greatest(((created_at / 86400000) + 3) % 7 - 4, 0)) * 86400000) STORED,
    -- A call back's due date (its open flag and assignee are from 0003).
    ADD COLUMN cb_due_at bigint GENERATED ALWAYS AS (
        wijklog_json_ms(row_json::jsonb #> '{callback,due_at}')) STORED;

-- The list's keyset orders (newest first; most severe first) over the
-- items not deleted, the common filters, the work lists and the overview.
CREATE INDEX observations_order ON observations(sort_at, doc_id, item_id) WHERE NOT deleted;
CREATE INDEX observations_severity_order ON observations(sev_rank, sort_at, doc_id, item_id) WHERE NOT deleted;
CREATE INDEX observations_author ON observations(created_by, created_at);
CREATE INDEX observations_feedback_due ON observations(fb_due_at) WHERE fb_needed AND fb_given_at IS NULL AND NOT deleted;
CREATE INDEX observations_stats ON observations(created_at, wijk, category, severity, team) WHERE NOT deleted;
CREATE INDEX notes_order ON notes(sort_at, doc_id, item_id) WHERE NOT deleted;
CREATE INDEX notes_severity_order ON notes(sev_rank, sort_at, doc_id, item_id) WHERE NOT deleted;
CREATE INDEX notes_author ON notes(created_by, created_at);
CREATE INDEX notes_feedback_due ON notes(fb_due_at) WHERE fb_needed AND fb_given_at IS NULL AND NOT deleted;
CREATE INDEX notes_stats ON notes(created_at, wijk, category, severity, team) WHERE NOT deleted;
CREATE INDEX notes_callbacks_due ON notes(cb_due_at) WHERE cb_open AND NOT deleted;

-- One row per (item, partner) of an item's `follow_up` map (entries that
-- are objects; status NULL when it is not a text).
CREATE TABLE item_partners (
    doc_id   bytea NOT NULL,
    item_id  text COLLATE "C" NOT NULL,
    partner  text NOT NULL,
    status   text,
    PRIMARY KEY (doc_id, item_id, partner)
);
CREATE INDEX item_partners_partner ON item_partners(partner, status);

-- The partners of one projection row.
CREATE FUNCTION wijklog_item_partners(row_json text)
RETURNS TABLE (partner text, status text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT j.key, CASE WHEN jsonb_typeof(j.value -> 'status') = 'string' THEN j.value ->> 'status' END
    FROM jsonb_each(CASE WHEN jsonb_typeof(row_json::jsonb -> 'follow_up') = 'object'
                         THEN row_json::jsonb -> 'follow_up' ELSE '{}'::jsonb END) j
    WHERE jsonb_typeof(j.value) = 'object'
$$;

CREATE FUNCTION item_partners_in_step() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM item_partners WHERE doc_id = OLD.doc_id AND item_id = OLD.item_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO item_partners (doc_id, item_id, partner, status)
        SELECT NEW.doc_id, NEW.item_id, p.partner, p.status FROM wijklog_item_partners(NEW.row_json) p
        ON CONFLICT (doc_id, item_id, partner) DO UPDATE SET status = excluded.status;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER observations_partners AFTER INSERT OR UPDATE OR DELETE ON observations
    FOR EACH ROW EXECUTE FUNCTION item_partners_in_step();
CREATE TRIGGER notes_partners AFTER INSERT OR UPDATE OR DELETE ON notes
    FOR EACH ROW EXECUTE FUNCTION item_partners_in_step();

-- Rows that exist already get their partners now.
INSERT INTO item_partners (doc_id, item_id, partner, status)
    SELECT t.doc_id, t.item_id, p.partner, p.status
    FROM (SELECT doc_id, item_id, row_json FROM observations
          UNION ALL SELECT doc_id, item_id, row_json FROM notes) t,
         wijklog_item_partners(t.row_json) p
    ON CONFLICT (doc_id, item_id, partner) DO UPDATE SET status = excluded.status;
