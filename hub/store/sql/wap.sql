-- Named queries of the WAP pages (hub/wap*.py). Every name starts with "wap_".

-- name: wap_limit_take
-- Count one attempt against (scope, key): a new window starts when the old one
-- has passed or a lockout has ended. $1 scope, $2 key, $3 now, $4 window.
INSERT INTO wap_limits AS l (scope, key, window_start, count)
VALUES ($1, $2, $3, 1)
ON CONFLICT (scope, key) DO UPDATE SET
    window_start = CASE
        WHEN (l.locked_until IS NULL AND l.window_start <= $3 - $4::interval)
          OR l.locked_until <= $3 THEN $3
        ELSE l.window_start END,
    count = CASE
        WHEN (l.locked_until IS NULL AND l.window_start <= $3 - $4::interval)
          OR l.locked_until <= $3 THEN 1
        ELSE l.count + 1 END,
    locked_until = CASE WHEN l.locked_until <= $3 THEN NULL ELSE l.locked_until END
RETURNING count, locked_until;

-- name: wap_limit_lock
UPDATE wap_limits SET locked_until = $3
 WHERE scope = $1 AND key = $2 AND (locked_until IS NULL OR locked_until < $3);

-- name: wap_limit_refund
UPDATE wap_limits SET count = greatest(count - 1, 0) WHERE scope = $1 AND key = $2;

-- name: wap_limit_reset
DELETE FROM wap_limits WHERE scope = $1 AND key = $2;

-- name: wap_limit_purge
-- Rows whose window and lockout are long over ($1 = the oldest window still kept).
DELETE FROM wap_limits WHERE window_start < $1 AND (locked_until IS NULL OR locked_until < $1);

-- name: wap_lookup_case
SELECT case_no, query_code FROM cases WHERE case_no = $1;

-- name: wap_code_counts
-- Codes sent to one number ($1 its blind indexes, one per configured key) in the last
-- minute, hour and day ($2 = now).
SELECT count(*) FILTER (WHERE sent_at > $2::timestamptz - interval '1 minute') AS minute,
       count(*) FILTER (WHERE sent_at > $2::timestamptz - interval '1 hour')   AS hour,
       count(*)                                                   AS day
  FROM wap_codes
 WHERE mobile_index = ANY($1::bytea[]) AND sent_at > $2::timestamptz - interval '1 day';

-- name: wap_code_lock_mobile
-- Serialises code requests for one number across processes (released at commit).
SELECT pg_advisory_xact_lock(hashtextextended('wap_code|' || $1, 0));

-- name: wap_code_insert
-- $2 the number sealed, $6 its blind index (hub/privacy/fields.py)
INSERT INTO wap_codes (login_mac, mobile, code_mac, sent_at, expires_at, mobile_index)
VALUES ($1, $2, $3, $4, $5, $6);

-- name: wap_code_purge
DELETE FROM wap_codes WHERE sent_at < $1;

-- name: wap_has_cases
-- $1 the number's blind indexes (hub/privacy/fields.py mobile_lookup); $2 the number, for
-- cases stored before the applicant was sealed.
SELECT EXISTS (SELECT 1 FROM cases WHERE applicant_mobile_index = ANY($1::bytea[]))
    OR EXISTS (SELECT 1 FROM cases
                WHERE applicant_mobile_index IS NULL AND applicant ->> 'mobile' = $2);

-- name: wap_code_get
SELECT * FROM wap_codes WHERE login_mac = $1 FOR UPDATE;

-- name: wap_code_mobile
SELECT mobile FROM wap_codes WHERE login_mac = $1;

-- name: wap_code_failed
UPDATE wap_codes SET failures = failures + 1 WHERE id = $1;

-- name: wap_code_used
UPDATE wap_codes SET used_at = $2 WHERE id = $1;

-- name: wap_session_insert
-- $2 the number sealed
INSERT INTO wap_sessions (sid_mac, mobile, created_at, expires_at) VALUES ($1, $2, $3, $4);

-- name: wap_session_get
SELECT mobile FROM wap_sessions WHERE sid_mac = $1 AND expires_at > $2;

-- name: wap_session_delete
DELETE FROM wap_sessions WHERE sid_mac = $1;

-- name: wap_session_purge
DELETE FROM wap_sessions WHERE expires_at <= $1;

-- name: wap_cases_of_mobile
SELECT case_no, status, matter_name, department_name, due_date, due_at, warn_at,
       completed_at, suspended_since, accepted_at
  FROM cases
 WHERE applicant_mobile_index = ANY($1::bytea[])
    OR (applicant_mobile_index IS NULL AND applicant ->> 'mobile' = $2)
 ORDER BY coalesce(accepted_at, created_at) DESC, case_no
 LIMIT 50;

-- name: wap_case_events
SELECT type, occurred_at, payload FROM events WHERE case_no = $1 ORDER BY occurred_at, seq;

-- name: wap_applicant_notices
-- What was sent to the applicant about this case (never the body: the
-- acceptance SMS holds the query code).
SELECT kind, channel, status, created_at
  FROM messages
 WHERE case_no = $1 AND person_id IS NULL
 ORDER BY created_at, id;

-- name: wap_evaluation
SELECT rating, comment, rated_at FROM evaluations WHERE case_no = $1;

-- name: wap_complaints_since
SELECT count(*) FROM wap_complaints WHERE case_no = $1 AND created_at > $2;

-- name: wap_complaint_insert
-- $2 the content sealed (hub/privacy/fields.py)
INSERT INTO wap_complaints (case_no, content, created_at) VALUES ($1, $2, $3) RETURNING id;

-- name: wap_open_nodes_of
-- A reviewer's open nodes on open cases, with what the inbox shows of each case — and,
-- for a deputy, the nodes of colleagues away at $2 who named them (their reminders come
-- here too). covering_for names the colleague of a routed node.
SELECT n.case_no, n.node_id, n.name, n.due_date, n.due_at, n.warn_at, n.completed_at,
       n.deadline_unknown, n.urges, c.matter_name, c.suspended_since,
       CASE WHEN n.assignee_id = $1 THEN NULL
            ELSE coalesce(away.name, n.assignee_name, n.assignee_id) END AS covering_for
  FROM nodes AS n
  JOIN cases AS c USING (case_no)
  LEFT JOIN people AS away ON away.person_id = n.assignee_id
 WHERE n.completed_at IS NULL AND c.completed_at IS NULL
   AND (n.assignee_id = $1
        OR (away.away_deputy = $1 AND away.away_from <= $2 AND $2 < away.away_to));

-- name: wap_person
SELECT person_id, name FROM people WHERE person_id = $1;

-- name: wap_person_name
SELECT name FROM people WHERE person_id = $1;

-- name: wap_notices_of
SELECT id, kind, channel, subject, body, sealed, case_no, created_at, read_at
  FROM messages
 WHERE person_id = $1
 ORDER BY id DESC
 LIMIT $2;

-- name: wap_mark_read
UPDATE messages SET read_at = $3
 WHERE person_id = $1 AND read_at IS NULL AND ($2::bigint IS NULL OR id = $2);
