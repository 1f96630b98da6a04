-- The last look before a reminder leaves (hub/delivery/recheck.py): is it still true?

-- name: recheck_facts
-- The state of the cases (and their nodes) that claimed reminders speak of.
SELECT c.case_no, c.closed_at, c.withdrawn_at, c.suspended_since, c.completed_at, c.due_at,
       n.node_id, n.completed_at AS node_completed_at, n.due_at AS node_due_at
  FROM cases AS c
  LEFT JOIN nodes AS n USING (case_no)
 WHERE c.case_no = ANY($1::text[]);

-- name: recheck_cancel
-- Claimed reminders that are no longer true: stored as cancelled, each with its reason
-- ($1 ids and $3 reasons, parallel arrays: one statement for a claimed batch).
UPDATE messages AS m
   SET status = 'cancelled', error = c.reason, error_code = 'no_longer_true',
       lease_owner = NULL, lease_expires_at = NULL, updated_at = $4
  FROM unnest($1::bigint[], $3::text[]) AS c(id, reason)
 WHERE m.id = c.id AND m.status = 'sending' AND m.lease_owner = $2;

-- name: recheck_rewrite
-- A merged reminder narrowed to the cases still due: its words are rendered again
-- ($7 the recipient, words and fallbacks sealed again as one value, hub/notices/sealing.py;
-- a row written before that form is rewritten in it).
UPDATE messages
   SET case_no = $3, node_id = $4, context = $5::text::jsonb, subject = $6, sealed = $7,
       params = $8::text::jsonb, recipient = NULL, body = NULL, html = NULL, personal = NULL,
       fallbacks = '[]',
       note = coalesce(note || '; ', '') || 'narrowed at send time to the cases still due',
       updated_at = $9
 WHERE id = $1 AND status = 'sending' AND lease_owner = $2
RETURNING *;
