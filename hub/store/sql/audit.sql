-- name: insert_audit
INSERT INTO audit_log (at, actor_role, actor, action, subject, detail)
VALUES ($1, $2, $3, $4, $5, $6::text::jsonb);

-- name: list_audit
SELECT id, at, actor_role, actor, action, subject, detail FROM audit_log
 WHERE ($1::text IS NULL OR subject = $1)
   AND ($2::text IS NULL OR action = $2)
   AND ($3::timestamptz IS NULL OR at >= $3)
   AND ($4::timestamptz IS NULL OR at < $4)
   AND ($5::bigint IS NULL OR id > $5)
   -- $7: a department's rows (a case read names the case's department, a read of the
   -- message log the departments of the cases it showed; hub/privacy/access.py)
   AND ($7::text IS NULL OR detail->>'department' = $7 OR detail->'departments' ? $7)
   -- $8: only rows naming one of these departments (a supervisor key's scope; NULL: all)
   AND ($8::text[] IS NULL OR detail->>'department' = ANY($8) OR detail->'departments' ?| $8)
 ORDER BY id
 LIMIT $6;

-- name: access_log_page
-- The newest reads of cases' personal data (actions $4: a case, the message log), of one
-- department ($1) or all (NULL), of the departments $3 only (a supervisor's scope; NULL: all).
SELECT at, actor_role, actor, action, subject, detail
  FROM audit_log
 WHERE action = ANY($4::text[])
   AND ($1::text IS NULL OR detail->>'department' = $1 OR detail->'departments' ? $1)
   AND ($3::text[] IS NULL OR detail->>'department' = ANY($3) OR detail->'departments' ?| $3)
 ORDER BY id DESC
 LIMIT $2;

-- name: departments_of_person
-- The departments whose access log a person sees (hub/privacy/access.py): where they are
-- the head, the deputy or one of the supervisors.
SELECT code FROM departments WHERE head = $1 OR deputy = $1 OR $1 = ANY(supervisors) ORDER BY code;

-- name: insert_audit_cases_shown
-- One audit row for a request that showed many cases' personal data (hub/privacy/access.py
-- record_cases_shown): the detail $6 plus the cases $7 by department
-- ({"SCJG": ["A-1", ...]}) and the departments' codes, in one statement.
INSERT INTO audit_log (at, actor_role, actor, action, subject, detail)
SELECT $1, $2, $3, $4, $5,
       $6::text::jsonb || jsonb_build_object(
           'cases', COALESCE(jsonb_object_agg(g.department, g.cases), '{}'::jsonb),
           'departments', COALESCE(jsonb_agg(g.department ORDER BY g.department), '[]'::jsonb))
  FROM (SELECT COALESCE(department_code, '') AS department,
               jsonb_agg(case_no ORDER BY case_no) AS cases
          FROM cases WHERE case_no = ANY($7::text[])
         GROUP BY 1) AS g;
