-- 0003: open call backs of spreekuur notes, the same columns as SQLite's
-- 0009_callbacks.sql (cb_open, cb_assignee), read from the projection row.
-- The sync scope reads them: a session with an open call back for a worker
-- or for the team stays on the team's devices whatever its date (see
-- docs/sync-protocol.md, "Scope"). row_json is always written by the server
-- as JSON.

ALTER TABLE notes ADD COLUMN cb_open boolean GENERATED ALWAYS AS (
    coalesce((row_json::jsonb #>> '{callback,requested}') = 'true', false)
    AND (row_json::jsonb #>> '{callback,done_at}') IS NULL) STORED;
ALTER TABLE notes ADD COLUMN cb_assignee text GENERATED ALWAYS AS (
    row_json::jsonb #>> '{callback,assignee}') STORED;
CREATE INDEX notes_open_callbacks ON notes(cb_assignee) WHERE cb_open AND NOT deleted;
