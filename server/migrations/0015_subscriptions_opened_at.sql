-- 0015: the job that deletes lapsed subscriptions (sync.lapsed_subscriptions_secs)
-- looks them up by opened_at; without an index every run read the whole
-- table (a row per device and document it opened).
CREATE INDEX device_subscriptions_opened ON device_subscriptions(opened_at);
