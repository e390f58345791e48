-- 0007: the same index as SQLite's 0015_subscriptions_opened_at.sql: the
-- lapsed-subscriptions job looks its rows up by opened_at instead of
-- reading the whole table.
CREATE INDEX device_subscriptions_opened ON device_subscriptions(opened_at);
