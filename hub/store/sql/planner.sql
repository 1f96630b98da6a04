-- Timers: planned in the ingest transaction, fired by the tick.

-- name: cases_for_planning
SELECT case_no, status, matter_name, department_code, department_name, applicant, query_code,
       limit_value, limit_unit, due_date, due_at, warn_at, deadline_version, deadline_unknown,
       completed_at, closed_at, withdrawn_at, suspended_since, rating, provisional
  FROM cases WHERE case_no = ANY($1::text[]);

-- name: nodes_for_planning
SELECT case_no, node_id, name, department_code, assignee_id, limit_unit, due_date, due_at,
       warn_at, deadline_version, completed_at
  FROM nodes WHERE case_no = ANY($1::text[]);

-- name: departments_by_code
SELECT code, name, head, deputy, supervisors FROM departments WHERE code = ANY($1::text[]);

-- name: timers_to_replan
-- A case's timers to compare with the wanted ones (pending and set-aside: a re-plan cancels
-- those that no longer apply) and the overdue steps already fired (a chain goes on from
-- its next step). A rectification's timers (kinds rectification_*) are its own, not
-- re-planned with the case.
SELECT id, case_no, node_id, kind, step, deadline_version, fire_at, status FROM timers
 WHERE case_no = ANY($1::text[])
   AND (status IN ('pending', 'set_aside') AND kind NOT LIKE 'rectification%'
        OR status = 'fired' AND kind = 'node_overdue');

-- name: cancel_timers
UPDATE timers SET status = 'cancelled' WHERE id = ANY($1::bigint[]);

-- name: move_timers
-- The bulk re-plan: a pending timer whose deadline moved takes its new version and instant
-- in place (one write instead of a cancel and an insert).
UPDATE timers AS t SET deadline_version = u.deadline_version, fire_at = u.fire_at
  FROM unnest($1::bigint[], $2::integer[], $3::timestamptz[]) AS u (id, deadline_version, fire_at)
 WHERE t.id = u.id AND t.status = 'pending';

-- name: retime_timers
-- A pending timer whose deadline version stayed but whose instant moved (a calendar import).
UPDATE timers AS t SET fire_at = u.fire_at
  FROM unnest($1::bigint[], $2::timestamptz[]) AS u (id, fire_at)
 WHERE t.id = u.id AND t.status = 'pending';

-- name: upsert_timers
-- A timer cancelled earlier (say by a suspension that moved nothing) comes back, and
-- a set-aside one is tried again (its case changed); one that already fired stays fired.
INSERT INTO timers (kind, case_no, node_id, step, deadline_version, fire_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::smallint[], $5::integer[],
                     $6::timestamptz[])
ON CONFLICT (case_no, node_id, kind, step, deadline_version) DO UPDATE
   SET status = 'pending', fire_at = EXCLUDED.fire_at, error = NULL, set_aside_at = NULL
 WHERE timers.status IN ('cancelled', 'set_aside');

-- name: claim_due_timers
SELECT id, kind, case_no, node_id, step, deadline_version, fire_at FROM timers
 WHERE status = 'pending' AND fire_at <= $1
 ORDER BY fire_at
 LIMIT $2
   FOR UPDATE SKIP LOCKED;

-- name: claim_timer
-- One timer of a batch that failed as a whole, fired (or set aside) on its own.
SELECT id, kind, case_no, node_id, step, deadline_version, fire_at FROM timers
 WHERE id = $1 AND status = 'pending' AND fire_at <= $2
   FOR UPDATE SKIP LOCKED;

-- name: mark_timers_fired
UPDATE timers SET status = 'fired', fired_at = $2 WHERE id = ANY($1::bigint[]);

-- name: next_timer
SELECT min(fire_at) FROM timers WHERE status = 'pending';

-- name: prune_timers
-- Fired and cancelled timers are history once their notices are in the message log.
DELETE FROM timers
 WHERE status IN ('fired', 'cancelled') AND coalesce(fired_at, fire_at) < $1;

-- name: open_nodes_for_digest
-- Open nodes of running (not suspended, not closed) cases, the most urgent first:
-- the 08:30 digest groups them by reader and lists the due-soon and overdue ones.
SELECT n.case_no, n.node_id, n.name, n.assignee_id, n.due_date, n.due_at, n.warn_at,
       c.matter_name, coalesce(n.limit_unit, c.limit_unit) AS limit_unit
  FROM nodes AS n JOIN cases AS c USING (case_no)
 WHERE n.completed_at IS NULL AND c.suspended_since IS NULL AND c.closed_at IS NULL
 ORDER BY n.due_at NULLS LAST, n.case_no, n.node_id;
-- name: set_timers_aside
-- Each timer with its own error; the rest of the batch fires without them.
UPDATE timers AS t
   SET status = 'set_aside', error = a.error, set_aside_at = $3
  FROM unnest($1::bigint[], $2::text[]) AS a (id, error)
 WHERE t.id = a.id;

-- name: retry_set_aside_timers
-- The cause can have changed (a calendar year was imported): due ones fire on the next tick.
UPDATE timers SET status = 'pending', error = NULL, set_aside_at = NULL
 WHERE status = 'set_aside';

-- name: set_aside_timers
SELECT id, kind, case_no, node_id, step, fire_at, error, set_aside_at FROM timers
 WHERE status = 'set_aside'
 ORDER BY set_aside_at, id
 LIMIT $1;

-- name: next_timer_after
-- The manual test clock's next stop: the first pending timer strictly after $1.
SELECT min(fire_at) FROM timers WHERE status = 'pending' AND fire_at > $1;

-- name: manual_schedule_agenda
-- The manual test clock's question to every worker in one round trip: the first pending
-- timer (strictly after $1 when given), the latest event, whether any case has a project;
-- the dispatcher's next send or expiring lease (as dispatch_next_work) and the next
-- webhook delivery (as webhook_next_due and webhook_next_due_after), which the test clock
-- hands to those workers instead of asking each (hub/lifecycle.py); the first lease to
-- expire (none by the stop: the dispatcher has nothing to reap there).
SELECT (SELECT min(fire_at) FROM timers
         WHERE status = 'pending' AND ($1::timestamptz IS NULL OR fire_at > $1)) AS timer,
       (SELECT max(seq) FROM events) AS latest_event,
       EXISTS (SELECT 1 FROM cases WHERE project_id IS NOT NULL) AS projects,
       least((SELECT min(not_before) FROM messages
               WHERE status IN ('queued', 'failed')
                 AND ($1::timestamptz IS NULL OR not_before > $1)),
             (SELECT min(lease_expires_at) FROM messages
               WHERE status = 'sending'
                 AND ($1::timestamptz IS NULL OR lease_expires_at > $1))) AS dispatcher,
       (SELECT min(lease_expires_at) FROM messages WHERE status = 'sending') AS lease,
       (SELECT min(next_at) FROM webhook_deliveries
         WHERE status = 'pending' AND ($1::timestamptz IS NULL OR next_at > $1)) AS webhooks;

-- name: any_project_case
SELECT EXISTS (SELECT 1 FROM cases WHERE project_id IS NOT NULL);

-- name: latest_event_seq
SELECT max(seq) FROM events;
