-- Named queries. Each block starts with "-- name: <name>"; hub/queries.py loads them.

-- name: lock_cases
-- Serialise concurrent ingests of the same case; sorted keys so two batches never deadlock.
SELECT pg_advisory_xact_lock(k)
  FROM (SELECT DISTINCT hashtextextended(c, 0) AS k FROM unnest($1::text[]) AS c ORDER BY 1) AS keys;

-- name: insert_events
-- $1: the batch as one JSON array of rows (hub.store.ingest._store_events): one value to
-- encode instead of seven arrays checked element by element by the driver.
INSERT INTO events (event_id, case_no, type, occurred_at, received_at, body_hash, payload)
SELECT r.event_id, r.case_no, r.type, r.occurred_at, $2, decode(r.body_hash, 'hex'), r.payload
  FROM jsonb_to_recordset($1::jsonb)
       AS r(event_id text, case_no text, type text, occurred_at timestamptz, body_hash text,
            payload jsonb)
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id;

-- name: event_hashes
SELECT event_id, body_hash FROM events WHERE event_id = ANY($1::text[]);

-- name: events_of_cases
-- $2: events the caller already holds parsed (just ingested); their payload is not sent back.
SELECT case_no, event_id,
       CASE WHEN event_id = ANY($2::text[]) THEN NULL ELSE payload END AS payload
  FROM events WHERE case_no = ANY($1::text[])
 ORDER BY case_no, occurred_at, seq;

-- name: case_folds
-- The stored folds of these cases (core.cases.CaseFold.snapshot), to continue with new events.
SELECT case_no, fold FROM case_folds WHERE case_no = ANY($1::text[]);

-- name: save_case_folds
INSERT INTO case_folds (case_no, fold)
SELECT * FROM unnest($1::text[], $2::jsonb[])
ON CONFLICT (case_no) DO UPDATE SET fold = EXCLUDED.fold;

-- name: case_keys
SELECT case_no, query_code, due_at, deadline_version, applicant, applicant_mobile_index, rating
  FROM cases WHERE case_no = ANY($1::text[]);

-- name: node_keys
SELECT case_no, node_id, due_at, deadline_version FROM nodes WHERE case_no = ANY($1::text[]);

-- name: upsert_case
-- One statement for a batch's cases, sent as one JSON array of rows (ingest._case_row);
-- $2 is when (created_at of a new case, updated_at of every one).
INSERT INTO cases (
    case_no, status, matter_code, matter_name, department_code, department_name, applicant,
    query_code, project_id, project, green_channel, co_departments, limit_value, limit_unit,
    applied_at, accepted_at, decided_at, decision, ready_at, pickup, picked_up_at, closed_at,
    withdrawn_at, completed_at, suspended_since, suspensions, extensions, due_date, due_at,
    warn_at, deadline, deadline_unknown, deadline_version, exceeds_statutory, stages,
    created_at, updated_at, provisional, applicant_mobile_index)
SELECT r.case_no, r.status, r.matter_code, r.matter_name, r.department_code, r.department_name,
       r.applicant, r.query_code, r.project_id, r.project, r.green_channel, r.co_departments,
       r.limit_value, r.limit_unit, r.applied_at, r.accepted_at, r.decided_at, r.decision,
       r.ready_at, r.pickup, r.picked_up_at, r.closed_at, r.withdrawn_at, r.completed_at,
       r.suspended_since, r.suspensions, r.extensions, r.due_date, r.due_at, r.warn_at,
       r.deadline, r.deadline_unknown, r.deadline_version, r.exceeds_statutory, r.stages,
       $2, $2, r.provisional, r.applicant_mobile_index
  FROM jsonb_to_recordset($1::jsonb)
    AS r(case_no text, status text, matter_code text, matter_name text,
         department_code text, department_name text, applicant jsonb, query_code text,
         project_id text, project jsonb, green_channel boolean, co_departments text[],
         limit_value integer, limit_unit text, applied_at timestamptz, accepted_at timestamptz,
         decided_at timestamptz, decision text, ready_at timestamptz, pickup jsonb,
         picked_up_at timestamptz, closed_at timestamptz, withdrawn_at timestamptz,
         completed_at timestamptz, suspended_since timestamptz, suspensions jsonb,
         extensions jsonb, due_date date, due_at timestamptz, warn_at timestamptz,
         deadline jsonb, deadline_unknown boolean, deadline_version integer,
         exceeds_statutory boolean, stages jsonb, provisional boolean,
         applicant_mobile_index bytea)
ON CONFLICT (case_no) DO UPDATE SET
    status = EXCLUDED.status, matter_code = EXCLUDED.matter_code,
    matter_name = EXCLUDED.matter_name, department_code = EXCLUDED.department_code,
    department_name = EXCLUDED.department_name, applicant = EXCLUDED.applicant,
    applicant_mobile_index = EXCLUDED.applicant_mobile_index,
    query_code = EXCLUDED.query_code, project_id = EXCLUDED.project_id,
    project = EXCLUDED.project, green_channel = EXCLUDED.green_channel,
    co_departments = EXCLUDED.co_departments, limit_value = EXCLUDED.limit_value,
    limit_unit = EXCLUDED.limit_unit, applied_at = EXCLUDED.applied_at,
    accepted_at = EXCLUDED.accepted_at, decided_at = EXCLUDED.decided_at,
    decision = EXCLUDED.decision, ready_at = EXCLUDED.ready_at, pickup = EXCLUDED.pickup,
    picked_up_at = EXCLUDED.picked_up_at, closed_at = EXCLUDED.closed_at,
    withdrawn_at = EXCLUDED.withdrawn_at, completed_at = EXCLUDED.completed_at,
    suspended_since = EXCLUDED.suspended_since, suspensions = EXCLUDED.suspensions,
    extensions = EXCLUDED.extensions, due_date = EXCLUDED.due_date, due_at = EXCLUDED.due_at,
    warn_at = EXCLUDED.warn_at, deadline = EXCLUDED.deadline,
    deadline_unknown = EXCLUDED.deadline_unknown, deadline_version = EXCLUDED.deadline_version,
    exceeds_statutory = EXCLUDED.exceeds_statutory, stages = EXCLUDED.stages,
    updated_at = EXCLUDED.updated_at, provisional = EXCLUDED.provisional;

-- name: upsert_node
INSERT INTO nodes (
    case_no, node_id, name, department_code, department_name, assignee_id, assignee_name,
    limit_value, limit_unit, started_at, completed_at, outcome, comment, due_date, due_at,
    warn_at, deadline_unknown, deadline_version, provisional)
-- One statement for a batch's nodes, sent as one JSON array of rows (ingest._node_row).
SELECT * FROM jsonb_to_recordset($1::jsonb)
    AS r(case_no text, node_id text, name text, department_code text, department_name text,
         assignee_id text, assignee_name text, limit_value integer, limit_unit text,
         started_at timestamptz, completed_at timestamptz, outcome text, comment text,
         due_date date, due_at timestamptz, warn_at timestamptz, deadline_unknown boolean,
         deadline_version integer, provisional boolean)
ON CONFLICT (case_no, node_id) DO UPDATE SET
    name = EXCLUDED.name, department_code = EXCLUDED.department_code,
    department_name = EXCLUDED.department_name, assignee_id = EXCLUDED.assignee_id,
    assignee_name = EXCLUDED.assignee_name, limit_value = EXCLUDED.limit_value,
    limit_unit = EXCLUDED.limit_unit, started_at = EXCLUDED.started_at,
    completed_at = EXCLUDED.completed_at, outcome = EXCLUDED.outcome, comment = EXCLUDED.comment,
    due_date = EXCLUDED.due_date, due_at = EXCLUDED.due_at, warn_at = EXCLUDED.warn_at,
    deadline_unknown = EXCLUDED.deadline_unknown, deadline_version = EXCLUDED.deadline_version,
    provisional = EXCLUDED.provisional;

-- name: upsert_person_contact
-- What a node.started event tells about its assignee fills gaps; it never erases
-- what PUT /v1/people set.
-- Contacts arrive sealed, $8 the mobile's blind index (hub/privacy/people.py).
INSERT INTO people (person_id, name, mobile, email, wecom_userid, wechat_openid, updated_at,
                    mobile_index)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (person_id) DO UPDATE SET
    name = COALESCE(EXCLUDED.name, people.name),
    mobile = COALESCE(EXCLUDED.mobile, people.mobile),
    mobile_index = CASE WHEN EXCLUDED.mobile IS NULL THEN people.mobile_index
                        ELSE EXCLUDED.mobile_index END,
    email = COALESCE(EXCLUDED.email, people.email),
    wecom_userid = COALESCE(EXCLUDED.wecom_userid, people.wecom_userid),
    wechat_openid = COALESCE(EXCLUDED.wechat_openid, people.wechat_openid),
    updated_at = EXCLUDED.updated_at;

-- name: put_person
-- Contacts arrive sealed, $13 the mobile's blind index (hub/privacy/people.py).
INSERT INTO people (person_id, name, mobile, email, wecom_userid, wechat_openid, channels,
                    quiet_hours, away_from, away_to, away_deputy, updated_at, mobile_index)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT (person_id) DO UPDATE SET
    name = EXCLUDED.name, mobile = EXCLUDED.mobile, mobile_index = EXCLUDED.mobile_index,
    email = EXCLUDED.email,
    wecom_userid = EXCLUDED.wecom_userid, wechat_openid = EXCLUDED.wechat_openid,
    channels = EXCLUDED.channels, quiet_hours = EXCLUDED.quiet_hours,
    away_from = EXCLUDED.away_from, away_to = EXCLUDED.away_to,
    away_deputy = EXCLUDED.away_deputy, updated_at = EXCLUDED.updated_at
RETURNING (xmax = 0) AS created;

-- name: get_person
SELECT * FROM people WHERE person_id = $1;

-- name: put_department
INSERT INTO departments (code, name, head, deputy, supervisors, updated_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (code) DO UPDATE SET
    name = EXCLUDED.name, head = EXCLUDED.head, deputy = EXCLUDED.deputy,
    supervisors = EXCLUDED.supervisors, updated_at = EXCLUDED.updated_at
RETURNING (xmax = 0) AS created;

-- name: get_department
SELECT * FROM departments WHERE code = $1;

-- name: get_case
SELECT * FROM cases WHERE case_no = $1;

-- name: nodes_of_case
-- A node.started may name its department by code only: the name PUT /v1/departments
-- gave that code comes along as registered_department_name.
SELECT n.*, d.name AS registered_department_name
  FROM nodes AS n
  LEFT JOIN departments AS d ON d.code = n.department_code
 WHERE n.case_no = $1
 ORDER BY n.started_at, n.node_id;

-- name: list_cases
-- Keyset pagination by case_no. The level expression is the SQL twin of
-- hub.views.level_of (a test holds the two together).
SELECT * FROM (
    SELECT c.*,
           CASE
             WHEN c.completed_at IS NOT NULL THEN 'done'
             WHEN c.due_at IS NULL THEN NULL
             WHEN LEAST($1, c.suspended_since) > c.due_at THEN 'red'
             WHEN LEAST($1, c.suspended_since) >= c.warn_at THEN 'yellow'
             ELSE 'green'
           END AS level_now
      FROM cases AS c
     WHERE ($2::text IS NULL OR c.department_code = $2)
       AND ($3::text IS NULL OR c.status = $3)
       AND ($4::text IS NULL OR c.case_no > $4)
) AS listed
 WHERE ($5::text IS NULL OR level_now = $5)
 ORDER BY case_no
 LIMIT $6;
