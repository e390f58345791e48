-- 0006: a device's session can end without the device being revoked.
-- `signed_out_at` is set when an admin resets the user's password or changes
-- their roles or team: the device must log in again (its refresh tokens and
-- access tokens are refused), but unlike `revoked_at` it is not told to wipe,
-- so work that was not sent yet is kept and sent after the new login.
ALTER TABLE devices ADD COLUMN signed_out_at INTEGER;
