-- The working-day calendar's years live in PostgreSQL, so `cuiban calendar import`
-- and the admin API reach every hub process sharing the database (NOTIFY
-- cuiban_calendar tells them at once). Seeded from the bundled year files at start.
CREATE TABLE calendar_years (
    year         integer     PRIMARY KEY,
    source       text        NOT NULL DEFAULT '',
    file         text        NOT NULL,              -- the year file (TOML) as imported
    revision     bigserial   NOT NULL,              -- bumped on every import: processes compare it
    bundled      boolean     NOT NULL DEFAULT false,
    imported_at  timestamptz NOT NULL DEFAULT now(),
    imported_by  text,
    -- The revision whose deadlines, timers and applicants were brought up to date.
    replanned_revision bigint
);
-- A deadline that reaches the provisional next year (statutory holidays only, no 调休
-- yet) is shown as provisional, and counted for the supervisors.
ALTER TABLE cases ADD COLUMN provisional boolean NOT NULL DEFAULT false;
ALTER TABLE nodes ADD COLUMN provisional boolean NOT NULL DEFAULT false;
