-- 0014: the wijkbericht ("u meldde, wij deden"): a summary for the residents
-- of one wijk over one period, written by the server from counts only
-- (docs/api.md, "Wijkberichten"). A coordinator edits the draft and
-- publishes it; the residents' wijk page shows the newest published one.
-- Nothing here is personal data: `facts_json` holds counts and catalog
-- labels, `text` what the coordinator approved; the user ids are staff's.
CREATE TABLE wijkberichten (
    id           INTEGER PRIMARY KEY,
    wijk         TEXT NOT NULL,
    period_from  TEXT NOT NULL,                              -- YYYY-MM-DD (Amsterdam), inclusive
    period_to    TEXT NOT NULL,                              -- YYYY-MM-DD (Amsterdam), inclusive
    facts_json   TEXT NOT NULL,                              -- the counts the draft was written from
    text         TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'concept' CHECK (status IN ('concept', 'gepubliceerd')),
    version      INTEGER NOT NULL DEFAULT 1,                 -- +1 on every change (optimistic locking)
    created_by   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_by   TEXT NOT NULL,
    updated_at   INTEGER NOT NULL,
    published_by TEXT,
    published_at INTEGER
);
CREATE INDEX wijkberichten_wijk ON wijkberichten (wijk, status, published_at);
CREATE INDEX wijkberichten_updated ON wijkberichten (updated_at);
