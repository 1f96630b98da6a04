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

-- name: replan_affected_cases
-- Open cases whose deadline, or an open node's, touches the years $1 (local dates in
-- zone $2) or could not be computed; in case_no order (the order cases are locked in).
SELECT c.case_no FROM cases AS c
 WHERE c.closed_at IS NULL AND c.accepted_at IS NOT NULL
   AND (c.deadline_unknown OR c.provisional
        OR (extract(year FROM c.accepted_at AT TIME ZONE $2) <= (SELECT max(y) FROM unnest($1::int[]) AS y)
            AND (c.due_date IS NULL
                 OR extract(year FROM c.due_date) >= (SELECT min(y) FROM unnest($1::int[]) AS y)))
        OR EXISTS (SELECT 1 FROM nodes AS n
                    WHERE n.case_no = c.case_no AND n.completed_at IS NULL
                      AND (n.deadline_unknown OR n.provisional
                           OR extract(year FROM n.due_date)
                              >= (SELECT min(y) FROM unnest($1::int[]) AS y))))
 ORDER BY c.case_no;

-- name: replan_cases
-- Listed open a moment before they were locked: one closed since is left as it is.
-- With what the timers and the applicant's notice need: nothing is read again once written.
SELECT case_no, matter_code, matter_name, department_code, department_name, applicant,
       limit_value, limit_unit, accepted_at, green_channel, suspensions, extensions, stages,
       due_date, due_at, warn_at, deadline_version, completed_at, suspended_since, closed_at,
       exceeds_statutory, deadline, deadline_unknown, provisional
  FROM cases WHERE case_no = ANY($1::text[]) AND closed_at IS NULL
 ORDER BY case_no;

-- name: replan_nodes
SELECT case_no, node_id, started_at, completed_at, limit_value, limit_unit, due_date, due_at,
       warn_at, deadline_version, deadline_unknown, provisional
  FROM nodes WHERE case_no = ANY($1::text[]) AND completed_at IS NULL;

-- name: replan_update_cases
-- One statement for the chunk; the deadline version moves when the due instant does.
UPDATE cases AS c
   SET due_date = u.due_date, due_at = u.due_at, warn_at = u.warn_at,
       deadline = u.deadline::jsonb, deadline_unknown = u.deadline_unknown,
       provisional = u.provisional, stages = u.stages::jsonb,
       exceeds_statutory = u.exceeds_statutory,
       deadline_version = c.deadline_version + (c.due_at IS DISTINCT FROM u.due_at)::int,
       updated_at = $10
  -- JSON travels as text: a jsonb[] parameter would read a stages list as an array dimension.
  FROM unnest($1::text[], $2::date[], $3::timestamptz[], $4::timestamptz[], $5::text[],
              $6::boolean[], $7::boolean[], $8::text[], $9::boolean[])
       AS u (case_no, due_date, due_at, warn_at, deadline, deadline_unknown, provisional,
             stages, exceeds_statutory)
 WHERE c.case_no = u.case_no;

-- name: replan_update_nodes
UPDATE nodes AS n
   SET due_date = u.due_date, due_at = u.due_at, warn_at = u.warn_at,
       deadline_unknown = u.deadline_unknown, provisional = u.provisional,
       deadline_version = n.deadline_version + (n.due_at IS DISTINCT FROM u.due_at)::int
  FROM unnest($1::text[], $2::text[], $3::date[], $4::timestamptz[], $5::timestamptz[],
              $6::boolean[], $7::boolean[])
       AS u (case_no, node_id, due_date, due_at, warn_at, deadline_unknown, provisional)
 WHERE n.case_no = u.case_no AND n.node_id = u.node_id;

-- name: count_open_provisional_cases
SELECT count(*) FROM cases WHERE provisional AND closed_at IS NULL;
