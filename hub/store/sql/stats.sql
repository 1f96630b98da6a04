-- Supervision figures (电子监察). Each block starts with "-- name: <name>"; hub/queries.py loads them.

-- name: stats_figures
-- Every figure of GET /v1/stats as (key, name, measure, n) rows, summed per group.
-- $1 period start, $2 period end (exclusive), $3 grouping ('' | department | matter | month),
-- $4 as_of (the instant open cases are counted at: the period's end, or now if earlier),
-- $5 the local time zone. A case counts as 办结 when its own deadline stopped (decision,
-- else closing); one withdrawn before any decision is 撤件, not 办结. The verdict is
-- core.levels.verdict_for against the adjusted deadline (suspensions and extensions
-- already applied in due_at/due_date): late after due_at; early when closed on a local
-- date before due_date; on time otherwise.
WITH p AS (
    SELECT $1::timestamptz AS lo, $2::timestamptz AS hi, $3::text AS g,
           $4::timestamptz AS as_of, $5::text AS tz
),
k AS (
    SELECT c.case_no, c.accepted_at, c.completed_at, c.decided_at, c.withdrawn_at,
           c.due_at, c.due_date, c.warn_at, c.suspended_since, c.green_channel,
           (c.withdrawn_at IS NOT NULL AND c.decided_at IS NULL) AS withdrawn_only,
           CASE p.g WHEN 'department' THEN c.department_code
                    WHEN 'matter' THEN c.matter_code ELSE '' END AS gkey,
           CASE p.g WHEN 'department' THEN c.department_name
                    WHEN 'matter' THEN c.matter_name END AS gname
      FROM cases c, p
     WHERE c.accepted_at IS NOT NULL
),
snap AS (
    -- The instants open cases are counted at: one, or each month's end for group_by=month.
    SELECT NULL::text AS mkey, p.as_of AS at FROM p WHERE p.g <> 'month'
    UNION ALL
    SELECT to_char(m, 'YYYY-MM'), least(((m + interval '1 month') AT TIME ZONE p.tz), p.hi, p.as_of)
      FROM p, generate_series(date_trunc('month', p.lo AT TIME ZONE p.tz),
                              (p.hi AT TIME ZONE p.tz) - interval '1 microsecond',
                              interval '1 month') AS m
     WHERE p.g = 'month' AND (m AT TIME ZONE p.tz) <= p.as_of
),
facts (key, name, measure, n) AS (
    SELECT CASE WHEN p.g = 'month' THEN to_char(k.accepted_at AT TIME ZONE p.tz, 'YYYY-MM')
                ELSE k.gkey END,
           k.gname, m.measure, 1
      FROM k, p,
           LATERAL (VALUES ('accepted', true),
                           ('green_channel', k.green_channel),
                           ('closed_of_accepted', k.completed_at < p.hi AND NOT k.withdrawn_only))
                   AS m (measure, counted)
     WHERE k.accepted_at >= p.lo AND k.accepted_at < p.hi AND m.counted
    UNION ALL
    SELECT CASE WHEN p.g = 'month' THEN to_char(k.completed_at AT TIME ZONE p.tz, 'YYYY-MM')
                ELSE k.gkey END,
           k.gname,
           CASE WHEN k.withdrawn_only THEN 'withdrawn'
                WHEN k.due_at IS NULL THEN 'closed_unjudged'
                WHEN k.completed_at > k.due_at THEN 'late'
                WHEN (k.completed_at AT TIME ZONE p.tz)::date < k.due_date THEN 'early'
                ELSE 'on_time' END,
           1
      FROM k, p
     WHERE k.completed_at >= p.lo AND k.completed_at < p.hi
    UNION ALL
    -- Open at the snapshot; overdue as the level says: red once the clock (stopped while
    -- suspended) has passed due_at; due soon (yellow) from warn_at.
    SELECT coalesce(s.mkey, k.gkey), k.gname, m.measure, 1
      FROM k CROSS JOIN snap s,
           LATERAL (SELECT least(s.at, coalesce(k.suspended_since, s.at)) AS moment) AS t,
           LATERAL (VALUES ('open', true),
                           ('open_overdue', t.moment > k.due_at),
                           ('open_due_soon', t.moment >= k.warn_at AND t.moment <= k.due_at))
                   AS m (measure, counted)
     WHERE k.accepted_at < s.at AND (k.completed_at IS NULL OR k.completed_at >= s.at)
       AND m.counted
    UNION ALL
    SELECT CASE WHEN p.g = 'month' THEN to_char(u.urged_at AT TIME ZONE p.tz, 'YYYY-MM')
                ELSE k.gkey END,
           k.gname, 'urges', 1
      FROM urges u JOIN k USING (case_no), p
     WHERE u.urged_at >= p.lo AND u.urged_at < p.hi
    UNION ALL
    -- Notices created in the period: sent includes delivered; failed includes dead letters.
    SELECT CASE WHEN p.g = 'month' THEN to_char(msg.created_at AT TIME ZONE p.tz, 'YYYY-MM')
                WHEN p.g = '' THEN ''
                ELSE k.gkey END,
           k.gname, m.measure, 1
      FROM messages msg LEFT JOIN k USING (case_no) CROSS JOIN p,
           LATERAL (VALUES ('notices', true),
                           ('notices_sent', msg.status IN ('sent', 'delivered')),
                           ('notices_delivered', msg.status = 'delivered'),
                           ('notices_failed', msg.status IN ('failed', 'dead')))
                   AS m (measure, counted)
     WHERE msg.created_at >= p.lo AND msg.created_at < p.hi AND m.counted
    UNION ALL
    SELECT CASE WHEN p.g = 'month' THEN to_char(e.rated_at AT TIME ZONE p.tz, 'YYYY-MM')
                ELSE k.gkey END,
           k.gname, m.measure, m.n
      FROM evaluations e JOIN k USING (case_no), p,
           LATERAL (VALUES ('rating_' || e.rating, 1), ('rating_sum', e.rating::int))
                   AS m (measure, n)
     WHERE e.rated_at >= p.lo AND e.rated_at < p.hi
    UNION ALL
    -- 好差评: rectifications opened in the period (poor_ratings) and, of those, verified by
    -- their verify_due_at (回访核实); closed in the period, any outcome (rectified) and, of
    -- those, closed by their rectify_due_at (按时整改). Each in the month of its instant.
    SELECT CASE WHEN p.g = 'month' THEN to_char(r.opened_at AT TIME ZONE p.tz, 'YYYY-MM')
                ELSE k.gkey END,
           k.gname, m.measure, 1
      FROM rectifications r JOIN k USING (case_no), p,
           LATERAL (VALUES ('poor_ratings', true),
                           ('verified_on_time',
                            r.verified_at < p.hi AND r.verified_at <= r.verify_due_at))
                   AS m (measure, counted)
     WHERE r.opened_at >= p.lo AND r.opened_at < p.hi AND m.counted
    UNION ALL
    SELECT CASE WHEN p.g = 'month' THEN to_char(r.closed_at AT TIME ZONE p.tz, 'YYYY-MM')
                ELSE k.gkey END,
           k.gname, m.measure, 1
      FROM rectifications r JOIN k USING (case_no), p,
           LATERAL (VALUES ('rectified', true),
                           ('rectified_on_time', r.closed_at <= r.rectify_due_at))
                   AS m (measure, counted)
     WHERE r.closed_at >= p.lo AND r.closed_at < p.hi AND m.counted
)
SELECT key, max(name) AS name, measure, sum(n)::bigint AS n
  FROM facts
 GROUP BY key, measure
 ORDER BY key NULLS LAST, measure;

-- name: stats_warnings
-- Open cases at yellow or red now (the page's live lists): warn_at passed, by department.
SELECT case_no, status, matter_code, matter_name, department_code, department_name,
       due_date, due_at, warn_at, completed_at, suspended_since, deadline_unknown, urges,
       accepted_at
  FROM cases
 WHERE completed_at IS NULL AND accepted_at IS NOT NULL
   AND warn_at <= least($1::timestamptz, coalesce(suspended_since, $1::timestamptz))
 ORDER BY department_code, due_at, case_no
 LIMIT $2;

-- name: stats_complaints
-- Complaints received in [$1, $2), newest last; content is sealed (opened by the page).
SELECT w.case_no, c.matter_name AS matter, w.content, w.created_at
  FROM wap_complaints AS w
  JOIN cases AS c USING (case_no)
 WHERE w.created_at >= $1 AND w.created_at < $2
 ORDER BY w.created_at, w.id
 LIMIT $3;

-- name: project_cases
-- Every approval of an investment project (项目经理负责制), across departments.
SELECT c.case_no, c.status, c.matter_code, c.matter_name, c.department_code, c.department_name,
       c.project, c.accepted_at, c.decided_at, c.decision, c.completed_at, c.closed_at,
       c.due_date, c.due_at, c.warn_at, c.suspended_since, c.deadline_unknown, c.urges,
       (SELECT n.name FROM nodes n
         WHERE n.case_no = c.case_no AND n.completed_at IS NULL
         ORDER BY n.started_at DESC LIMIT 1) AS current_node
  FROM cases c
 WHERE c.project_id = $1
 ORDER BY c.accepted_at NULLS LAST, c.case_no;

-- name: project_changes
-- Events of a project's cases received after sequence $2 (a manager's digest), oldest first.
SELECT e.seq, e.case_no, e.type, e.occurred_at, e.payload, c.matter_name, c.department_name
  FROM events e JOIN cases c USING (case_no)
 WHERE c.project_id = $1 AND e.seq > $2
 ORDER BY e.occurred_at, e.seq
 LIMIT $3;

-- name: projects_with_changes
-- Projects whose cases have events after the last digest their manager was sent
-- (each digest notes the last event sequence it covered in its context).
WITH last AS (
    SELECT context->>'project_id' AS project_id, max((context->>'upto_seq')::bigint) AS upto
      FROM messages
     WHERE kind = 'project_digest' AND context ? 'upto_seq'
     GROUP BY 1
)
SELECT c.project_id, max(c.project->>'name') AS project_name,
       max(c.project->>'manager') AS manager, coalesce(max(l.upto), 0) AS since,
       max(e.seq) AS upto
  FROM events e
  JOIN cases c USING (case_no)
  LEFT JOIN last l ON l.project_id = c.project_id
 WHERE c.project_id IS NOT NULL AND c.project->>'manager' IS NOT NULL
   AND e.seq > coalesce(l.upto, 0)
 GROUP BY c.project_id
 ORDER BY c.project_id;

-- name: report_supervisors
-- Everyone who supervises a department: the monthly report's readers.
SELECT DISTINCT s AS person_id FROM departments, unnest(supervisors) AS s ORDER BY 1;

-- name: project_list
-- Investment projects with their approvals' progress, for the page's project links.
SELECT project_id, max(project->>'name') AS name, count(*) AS cases,
       count(*) FILTER (WHERE completed_at IS NOT NULL) AS completed
  FROM cases
 WHERE project_id IS NOT NULL
 GROUP BY project_id
 ORDER BY project_id
 LIMIT $1;

-- name: monthly_report_sent
SELECT EXISTS (SELECT 1 FROM messages WHERE dedupe_key LIKE 'monthly_report:' || $1::text || ':%');
