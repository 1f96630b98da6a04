-- 催办: urges, counted on the case and on each open node.

-- name: lock_case_for_urge
SELECT case_no, status, matter_name, department_code, department_name, applicant, query_code,
       limit_value, limit_unit, due_date, due_at, warn_at, deadline_version, deadline_unknown,
       completed_at, closed_at, withdrawn_at, suspended_since, rating
  FROM cases WHERE case_no = $1 FOR UPDATE;

-- name: open_nodes_of_case
SELECT node_id, name, assignee_id, due_date FROM nodes
 WHERE case_no = $1 AND completed_at IS NULL ORDER BY started_at, node_id;

-- name: insert_urge
INSERT INTO urges (case_no, by_person, note, urged_at) VALUES ($1, $2, $3, $4) RETURNING id;

-- name: count_urge
WITH nodes_urged AS (
    UPDATE nodes SET urges = urges + 1 WHERE case_no = $1 AND node_id = ANY($2::text[])
)
UPDATE cases SET urges = urges + 1 WHERE case_no = $1;

-- name: urge_confirmation
-- What one 催办 queued: to whom (person, node), by which channel, and when it may go.
SELECT u.case_no, u.urged_at, m.person_id, p.name AS person_name, m.channel, m.not_before,
       m.status, n.name AS node_name
  FROM urges AS u
  JOIN messages AS m
    ON m.kind = 'urge' AND m.case_no = u.case_no AND m.dedupe_key LIKE 'urge:' || u.id || ':%'
  LEFT JOIN people AS p ON p.person_id = m.person_id
  LEFT JOIN nodes AS n ON n.case_no = u.case_no AND n.node_id = m.node_id
 WHERE u.id = $1
 ORDER BY m.id;
