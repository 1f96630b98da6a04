-- Status webhooks: the trigger of migration 0008 writes events and deliveries; the
-- worker (hub/webhooks.py) claims due deliveries, POSTs them and records the outcome.

-- name: webhook_targets_sync
-- The configured URLs become the targets; deliveries still pending for a URL that was
-- removed end as dead (nobody to send them to).
WITH gone AS (
    DELETE FROM webhook_targets WHERE url <> ALL($1::text[]) RETURNING url
), added AS (
    INSERT INTO webhook_targets (url, synced_at)
    SELECT unnest($1::text[]), $2
    ON CONFLICT (url) DO UPDATE SET synced_at = EXCLUDED.synced_at
)
UPDATE webhook_deliveries
   SET status = 'dead', last_error = 'url removed from webhooks.urls', claimed_by = NULL,
       updated_at = $2
 WHERE status = 'pending' AND url <> ALL($1::text[]);

-- name: webhook_claim
-- Due deliveries no other worker holds, oldest first; the claim is a lease: next_at moves
-- to its end, so a worker that dies mid-POST lets the row come due again.
WITH due AS (
    SELECT event_id, url
      FROM webhook_deliveries
     WHERE status = 'pending' AND next_at <= $1
     ORDER BY next_at, event_id
     LIMIT $2
       FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE webhook_deliveries AS d
       SET claimed_by = $3, next_at = $4, updated_at = $1
      FROM due
     WHERE d.event_id = due.event_id AND d.url = due.url
 RETURNING d.event_id, d.url, d.attempts
)
SELECT c.event_id, c.url, c.attempts, e.message_id, e.status, e.occurred_at, e.data,
       m.recipient, m.sealed
  FROM claimed AS c
  JOIN webhook_events AS e ON e.id = c.event_id
  LEFT JOIN messages AS m ON m.id = e.message_id
 ORDER BY c.event_id, c.url;

-- name: webhook_finish
-- One POST's outcome, only while this worker still holds the claim.
UPDATE webhook_deliveries
   SET status = $4, attempts = attempts + 1, next_at = COALESCE($5, next_at),
       last_error = $6, last_status = $7,
       delivered_at = CASE WHEN $4 = 'delivered' THEN $8 ELSE delivered_at END,
       claimed_by = NULL, updated_at = $8
 WHERE event_id = $1 AND url = $2 AND claimed_by = $3;

-- name: webhook_next_due
SELECT min(next_at) FROM webhook_deliveries WHERE status = 'pending';

-- name: webhook_next_due_after
-- The manual test clock's next stop: the first pending delivery strictly after $1.
SELECT min(next_at) FROM webhook_deliveries WHERE status = 'pending' AND next_at > $1;

-- name: webhook_prune
-- Events older than $1 whose every delivery arrived. Dead deliveries stay for inspection.
DELETE FROM webhook_events AS e
 WHERE e.occurred_at < $1
   AND NOT EXISTS (SELECT 1 FROM webhook_deliveries AS d
                    WHERE d.event_id = e.id AND d.status <> 'delivered');
