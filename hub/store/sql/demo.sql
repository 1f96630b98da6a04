-- The demo's past month (hub/demo/history.py).

-- name: demo_history_delivered
-- The notices of a replayed past month belong to that month: delivered when they were due,
-- never sent now.
UPDATE messages
   SET status = 'delivered', attempts = greatest(attempts, 1), provider = 'console',
       sent_at = greatest(not_before, created_at), delivered_at = greatest(not_before, created_at),
       updated_at = greatest(not_before, created_at)
 WHERE status IN ('queued', 'failed')
   AND created_at <= $2
   AND (case_no = ANY($1::text[]) OR case_no IS NULL);
