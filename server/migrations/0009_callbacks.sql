-- 0009: the "Terugbellen en terugkoppeling" work list. Like 0004,
-- nothing changes in how a commit writes the projection: the call-back task
-- of a note (`callback` in the row JSON) and the feedback due date are
-- VIRTUAL generated columns, stored only in the indexes. See docs/api.md
-- ("Call backs and feedback") and docs/data-model.md.

-- A call back is open when it was requested and not closed. Its due date and
-- assignee (a user id; NULL = the session's team) are written by the
-- request_callback / set_callback_due / assign_callback edits.
ALTER TABLE notes ADD COLUMN cb_open INTEGER GENERATED ALWAYS AS (
    iif(json_valid(row_json),
        coalesce(json_extract(row_json, '$.callback.requested'), 0) = 1
        AND json_extract(row_json, '$.callback.done_at') IS NULL, 0)) VIRTUAL;
ALTER TABLE notes ADD COLUMN cb_due_at INTEGER GENERATED ALWAYS AS (
    iif(json_valid(row_json), json_extract(row_json, '$.callback.due_at'), NULL)) VIRTUAL;
ALTER TABLE notes ADD COLUMN cb_assignee TEXT GENERATED ALWAYS AS (
    iif(json_valid(row_json), json_extract(row_json, '$.callback.assignee'), NULL)) VIRTUAL;
CREATE INDEX notes_callbacks ON notes(cb_open, cb_due_at);

-- Feedback is due 10 working days after the item was created: the same as
-- wijklog_shared::add_working_days(created_at, 10), i.e. 14 calendar days
-- from the start day, where a Saturday or Sunday start counts as the Friday
-- before ((day + 3) % 7 is 0 on Mondays, 5 and 6 on the weekend).
ALTER TABLE observations ADD COLUMN fb_due_at INTEGER GENERATED ALWAYS AS (
    created_at + (14 - max(((created_at / 86400000) + 3) % 7 - 4, 0)) * 86400000) VIRTUAL;
ALTER TABLE notes ADD COLUMN fb_due_at INTEGER GENERATED ALWAYS AS (
    created_at + (14 - max(((created_at / 86400000) + 3) % 7 - 4, 0)) * 86400000) VIRTUAL;
CREATE INDEX observations_feedback_due ON observations(fb_needed, fb_given_at, fb_due_at);
CREATE INDEX notes_feedback_due ON notes(fb_needed, fb_given_at, fb_due_at);
