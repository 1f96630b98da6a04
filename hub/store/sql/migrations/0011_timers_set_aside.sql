-- A timer whose notice cannot be computed (say its working days reach a year the
-- calendar does not know) is set aside on its own with the error, instead of
-- rolling back the tick's whole batch; it is retried when its cause can have
-- changed (a calendar import, a new event of its case).
-- status: pending | fired | cancelled | set_aside
ALTER TABLE timers
    ADD COLUMN error        text,
    ADD COLUMN set_aside_at timestamptz;
CREATE INDEX timers_set_aside ON timers (set_aside_at) WHERE status = 'set_aside';
