-- 好差评 closed loop: rectifications opened by poor ratings, verified and closed.

-- name: rectification_case
SELECT c.case_no, c.matter_name, c.department_code, c.department_name, c.applicant,
       d.name AS directory_department_name, d.head, d.deputy, d.supervisors
  FROM cases AS c LEFT JOIN departments AS d ON d.code = c.department_code
 WHERE c.case_no = $1;

-- name: insert_rectification
-- At most one open per case (the partial unique index): a second poor rating is absorbed.
INSERT INTO rectifications (case_no, department_code, department_name, rating, comment, source,
                            head, opened_at, verify_due_date, verify_due_at, verify_warn_at,
                            rectify_due_date, rectify_due_at, rectify_warn_at, provisional)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
ON CONFLICT (case_no) WHERE status <> 'closed' DO NOTHING
RETURNING *;

-- name: get_rectification
SELECT r.*, c.matter_name, c.applicant
  FROM rectifications AS r JOIN cases AS c USING (case_no)
 WHERE r.id = $1;

-- name: lock_rectification
SELECT r.*, c.matter_name, c.applicant
  FROM rectifications AS r JOIN cases AS c USING (case_no)
 WHERE r.id = $1
   FOR UPDATE OF r;

-- name: verify_rectification
UPDATE rectifications SET status = 'verified', verified_at = $2, verified_by = $3, finding = $4
 WHERE id = $1 AND status = 'open'
RETURNING id;

-- name: close_rectification
-- Closing an open one records the verification as not done (verified_at stays NULL).
UPDATE rectifications SET status = 'closed', closed_at = $2, closed_by = $3, outcome = $4,
                          reply = $5
 WHERE id = $1 AND status <> 'closed'
RETURNING id;

-- name: list_rectifications
-- Newest first, keyset by id; $1 status, $2 department, $3 before id, $4 page size.
SELECT r.*, c.matter_name
  FROM rectifications AS r JOIN cases AS c USING (case_no)
 WHERE ($1::text IS NULL OR r.status = $1)
   AND ($2::text IS NULL OR r.department_code = $2)
   AND ($3::bigint IS NULL OR r.id < $3)
 ORDER BY r.id DESC
 LIMIT $4;

-- name: rectifications_by_ids
SELECT r.*, c.matter_name
  FROM rectifications AS r JOIN cases AS c USING (case_no)
 WHERE r.id = ANY($1::bigint[]);

-- name: cancel_rectification_timers
-- The reminders of one rectification ($1) of these kinds ($2) that have not fired.
UPDATE timers SET status = 'cancelled'
 WHERE deadline_version = $1 AND kind = ANY($2::text[]) AND status = 'pending';

-- name: open_rectifications_of_head
-- Open rectifications for a person's WAP inbox, soonest due first: those they were told of
-- (a deputy while the head was away) and those of the departments they head today.
SELECT r.*, c.matter_name
  FROM rectifications AS r JOIN cases AS c USING (case_no)
 WHERE r.status <> 'closed'
   AND (r.head = $1
        OR r.department_code IN (SELECT code FROM departments WHERE head = $1 OR deputy = $1))
 ORDER BY coalesce(r.rectify_due_at, r.opened_at), r.id;

-- name: open_rectifications
-- Every open rectification, for the supervision page.
SELECT r.*, c.matter_name
  FROM rectifications AS r JOIN cases AS c USING (case_no)
 WHERE r.status <> 'closed'
 ORDER BY coalesce(r.rectify_due_at, r.opened_at), r.id;

-- name: rectifications_opened_between
-- Rectifications opened in [$1, $2), for the stats and the monthly report.
SELECT r.*, c.matter_name, c.matter_code
  FROM rectifications AS r JOIN cases AS c USING (case_no)
 WHERE r.opened_at >= $1 AND r.opened_at < $2
 ORDER BY r.opened_at, r.id;

-- name: rectification_departments
SELECT code, name, head, deputy, supervisors FROM departments WHERE code = ANY($1::text[]);

-- name: cancel_rectification_reminders
-- Reminders still waiting to leave (the head's quiet hours, office start) that the step
-- just taken made untrue: cancelled with the reason, like the dispatcher's re-check.
-- $1 dedupe-key patterns (timer kind:id:s%), $2 the reason, $3 now.
UPDATE messages
   SET status = 'cancelled', error = $2, error_code = 'no_longer_true', updated_at = $3
 WHERE status IN ('queued', 'failed')
   AND kind IN ('rectification_due_soon', 'rectification_overdue')
   AND dedupe_key LIKE ANY($1::text[]);
