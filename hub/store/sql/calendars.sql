-- Calendar years: bundled ones seeded at start, imported ones stored by the CLI or the API.

-- name: seed_calendar_year
-- A bundled year never replaces one that was imported (a corrected notice). On a
-- first seeding nothing was planned yet ($4 = 0); a year a new release brings later
-- ($4 NULL) re-plans the deadlines that rested on a provisional year.
INSERT INTO calendar_years (year, source, file, bundled, replanned_revision)
VALUES ($1, $2, $3, true, $4)
ON CONFLICT (year) DO NOTHING
RETURNING year;

-- name: count_calendar_years
SELECT count(*) FROM calendar_years;

-- name: store_calendar_year
-- An import replaces the year and bumps its revision; its deadlines are re-planned next.
INSERT INTO calendar_years (year, source, file, bundled, imported_at, imported_by)
VALUES ($1, $2, $3, false, $4, $5)
ON CONFLICT (year) DO UPDATE SET
    source = EXCLUDED.source, file = EXCLUDED.file, bundled = false,
    revision = nextval(pg_get_serial_sequence('calendar_years', 'revision')),
    imported_at = EXCLUDED.imported_at, imported_by = EXCLUDED.imported_by,
    replanned_revision = NULL
RETURNING revision;

-- name: calendar_years
SELECT year, file, revision FROM calendar_years ORDER BY year;

-- name: calendar_revision
SELECT coalesce(max(revision), 0) FROM calendar_years;

-- name: years_to_replan
SELECT year, revision FROM calendar_years
 WHERE replanned_revision IS DISTINCT FROM revision
 ORDER BY year
   FOR UPDATE SKIP LOCKED;

-- name: mark_year_replanned
UPDATE calendar_years SET replanned_revision = $2 WHERE year = $1;

-- name: notify_calendar
SELECT pg_notify('cuiban_calendar', $1);
