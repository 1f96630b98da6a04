-- A reviewer's reminders in rounds and within the daily SMS budget (decision 0023).

-- name: claim_due_soon_along
-- The pending due-soon timers of the assignees of the nodes $1/$2 (due-soon timers firing
-- now), for nodes already yellow by $3 and held for a later round: they go along now.
WITH firing AS (
    SELECT DISTINCT f.assignee_id
      FROM unnest($1::text[], $2::text[]) AS k(case_no, node_id)
      JOIN nodes AS f ON f.case_no = k.case_no AND f.node_id = k.node_id
)
SELECT t.id, t.kind, t.case_no, t.node_id, t.step, t.deadline_version, t.fire_at
  FROM firing
  JOIN nodes AS n ON n.assignee_id = firing.assignee_id AND n.completed_at IS NULL
  JOIN timers AS t ON t.case_no = n.case_no AND t.node_id = n.node_id
   AND t.kind = 'node_due_soon' AND t.step = 0 AND t.deadline_version = n.deadline_version
 WHERE n.warn_at <= $3 AND t.status = 'pending' AND t.fire_at > $3
   FOR UPDATE OF t SKIP LOCKED;

-- name: lock_sms_budgets
-- One person's budget is read and spent by one transaction at a time; $1 sorted, so two
-- transactions take the locks in the same order.
SELECT pg_advisory_xact_lock(hashtextextended('cuiban.sms_budget:' || person_id, 0))
  FROM unnest($1::text[]) WITH ORDINALITY AS u(person_id, position)
 ORDER BY position;

-- name: reminder_sms_per_day
-- Reminder SMS queued or sent to each of $1 (kinds $2) leaving in [$3, $4), per local day
-- in time zone $5. A cancelled one never reached the phone.
SELECT person_id, (not_before AT TIME ZONE $5)::date AS day, count(*) AS sms
  FROM messages
 WHERE person_id = ANY($1::text[]) AND channel = 'sms' AND kind = ANY($2::text[])
   AND not_before >= $3 AND not_before < $4 AND status <> 'cancelled'
 GROUP BY 1, 2;

-- name: due_soon_reminded_today
-- The due-soon timers $1 (nodes $2/$3, firing at $4) with their node's deadline; whether
-- the assignee already has a due-soon reminder (not cancelled) going out in [$5, $6), the
-- local day this one would reach them; and whether one goes out at this timer's very
-- instant (a round's message already made when this node arrived at the round).
SELECT k.id, k.fire_at, n.due_at,
       EXISTS (SELECT 1 FROM messages AS m
                WHERE m.person_id = n.assignee_id AND m.kind = 'node_due_soon'
                  AND m.not_before >= $5 AND m.not_before < $6
                  AND m.status <> 'cancelled') AS reminded,
       EXISTS (SELECT 1 FROM messages AS m
                WHERE m.person_id = n.assignee_id AND m.kind = 'node_due_soon'
                  AND m.not_before = k.fire_at) AS told_at_this_instant
  FROM unnest($1::bigint[], $2::text[], $3::text[], $4::timestamptz[])
       AS k(id, case_no, node_id, fire_at)
  JOIN nodes AS n ON n.case_no = k.case_no AND n.node_id = k.node_id
 WHERE n.due_at IS NOT NULL;
