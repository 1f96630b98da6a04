-- The daily reminder-SMS budget (core/budget.py, decision 0023).

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
