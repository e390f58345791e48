-- 0005: covering indexes for the overview counts (GET /api/v1/stats): the
-- period query reads only these columns, so it never touches the (large)
-- projection rows themselves. Measured with tests/src/bin/bench_review.rs.
CREATE INDEX observations_stats ON observations(deleted, created_at, wijk, category, severity, team);
CREATE INDEX notes_stats ON notes(deleted, created_at, wijk, category, severity, team);
