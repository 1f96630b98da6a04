-- The dispatcher's bookkeeping: when a row was claimed (the start of an attempt
-- that a crash cut short, recorded when its lease is reaped).
ALTER TABLE messages ADD COLUMN claimed_at timestamptz;
