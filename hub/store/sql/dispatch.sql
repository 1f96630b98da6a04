-- The outbox dispatcher: claim due messages under a lease, record each outcome.
-- Every statement is one short transaction; sends happen between them, never inside.

-- name: dispatch_claim
-- Due rows, best first, that no other worker holds; $5 lists channels to leave alone
-- (an open circuit). Best first is by priority, then due time: the few priorities in the
-- queue are found one index probe each (prios), and each priority's due rows are read in
-- order from messages_ready_by_priority, $2 at most. Sorting every due row instead cost a
-- scan of the whole backlog per claim (20 ms at 20,000 due rows, issue 18).
WITH RECURSIVE prios AS (
    SELECT min(priority) AS p
      FROM messages
     WHERE status IN ('queued', 'failed')
    UNION ALL
    SELECT (SELECT min(priority)
              FROM messages
             WHERE status IN ('queued', 'failed') AND priority > prios.p)
      FROM prios
     WHERE prios.p IS NOT NULL
), due AS (
    SELECT c.id, c.priority, c.not_before
      FROM prios,
           LATERAL (SELECT id, priority, not_before
                      FROM messages
                     WHERE status IN ('queued', 'failed')
                       AND priority = prios.p
                       AND not_before <= $1
                       AND channel <> ALL($5::text[])
                     ORDER BY not_before, id
                     LIMIT $2
                       FOR UPDATE SKIP LOCKED) AS c
     ORDER BY c.priority, c.not_before, c.id
     LIMIT $2
)
UPDATE messages AS m
   SET status = 'sending', lease_owner = $3, lease_expires_at = $4, claimed_at = $1,
       updated_at = $1
  FROM due
 WHERE m.id = due.id
RETURNING m.*;

-- name: dispatch_finish
-- One attempt's outcome: the row moves to $4 (sent, delivered, failed, dead) and the
-- attempt is recorded, only while this worker still holds the lease.
WITH m AS (
    UPDATE messages
       SET status = $4,
           attempts = attempts + 1,
           provider = $3,
           provider_message_id = COALESCE($5, provider_message_id),
           error = $6,
           error_code = $7,
           not_before = COALESCE($8, not_before),
           sent_at = CASE WHEN $4 IN ('sent', 'delivered') THEN $9 ELSE sent_at END,
           delivered_at = CASE WHEN $4 = 'delivered' THEN $9 ELSE delivered_at END,
           lease_owner = NULL,
           lease_expires_at = NULL,
           updated_at = $9
     WHERE id = $1 AND status = 'sending' AND lease_owner = $2
 RETURNING id, attempts
)
INSERT INTO message_attempts (message_id, attempt, owner, provider, started_at, finished_at,
                              outcome, error, error_code, provider_message_id)
SELECT id, attempts, $2, $3, $10, $9, $11, $6, $7, $5 FROM m
RETURNING attempt;

-- name: dispatch_finish_many
-- dispatch_finish for many outcomes at once (none of them dead: a dead row falls back in
-- its own transaction). Rows are locked in id order first, so two batches, or a batch
-- and a heartbeat, cannot wait on each other in a cycle. $1..$9 are parallel arrays.
-- The lease is checked on the locked rows (FOR UPDATE reads the latest version, held to the
-- end): a check on messages.status would let the plan read the rows through the partial
-- index messages_leased, whose size it guesses at ~1 row — the generic plan read every
-- leased row once per outcome, 8 ms a flush with 5,000 in flight (issue 18).
WITH input AS (
    SELECT *
      FROM unnest($1::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                  $8::timestamptz[], $9::timestamptz[], $10::text[])
        AS t(id, provider, status, provider_message_id, error, error_code, not_before,
             started_at, outcome)
), locked AS (
    SELECT id, status, lease_owner
      FROM messages
     WHERE id = ANY($1::bigint[])
     ORDER BY id
       FOR UPDATE
), m AS (
    UPDATE messages
       SET status = input.status,
           attempts = messages.attempts + 1,
           provider = input.provider,
           provider_message_id = COALESCE(input.provider_message_id,
                                          messages.provider_message_id),
           error = input.error,
           error_code = input.error_code,
           not_before = COALESCE(input.not_before, messages.not_before),
           sent_at = CASE WHEN input.status IN ('sent', 'delivered') THEN $11
                          ELSE messages.sent_at END,
           delivered_at = CASE WHEN input.status = 'delivered' THEN $11
                               ELSE messages.delivered_at END,
           lease_owner = NULL,
           lease_expires_at = NULL,
           updated_at = $11
      FROM input JOIN locked USING (id)
     WHERE messages.id = locked.id AND locked.status = 'sending' AND locked.lease_owner = $2
 RETURNING messages.id, messages.attempts, input.provider, input.started_at, input.outcome,
           input.error, input.error_code, input.provider_message_id
)
INSERT INTO message_attempts (message_id, attempt, owner, provider, started_at, finished_at,
                              outcome, error, error_code, provider_message_id)
SELECT id, attempts, $2, provider, started_at, $11, outcome, error, error_code,
       provider_message_id
  FROM m
RETURNING message_id, attempt;

-- name: dispatch_release
-- Give claimed rows back unsent, without spending an attempt (open circuit, shutdown).
UPDATE messages
   SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL,
       not_before = GREATEST(not_before, $3), updated_at = $4
 WHERE id = ANY($1::bigint[]) AND status = 'sending' AND lease_owner = $2;

-- name: dispatch_release_owner
-- On shutdown: everything this worker still holds goes back to the queue.
UPDATE messages
   SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, updated_at = $2
 WHERE status = 'sending' AND lease_owner = $1;

-- name: dispatch_heartbeat
UPDATE messages
   SET lease_expires_at = $3
 WHERE id = ANY($1::bigint[]) AND status = 'sending' AND lease_owner = $2;

-- name: dispatch_delay_channel
-- An open circuit: push the channel's waiting rows past the open window (no attempt spent).
UPDATE messages
   SET not_before = $2, updated_at = $3
 WHERE status IN ('queued', 'failed') AND channel = $1 AND not_before < $2;

-- name: dispatch_reap
-- Expired leases: the worker died or stalled mid-send. One attempt is counted (a message
-- that kills every worker must still end); a known provider id means it was sent.
WITH expired AS (
    SELECT id, lease_owner, claimed_at, lease_expires_at
      FROM messages
     WHERE status = 'sending' AND lease_expires_at <= $1
     ORDER BY lease_expires_at
     LIMIT $2
       FOR UPDATE SKIP LOCKED
), m AS (
    UPDATE messages AS m
       SET status = CASE
                      WHEN m.provider_message_id IS NOT NULL THEN 'sent'
                      WHEN m.attempts + 1 >= m.max_attempts THEN 'dead'
                      ELSE 'queued'
                    END,
           attempts = m.attempts + 1,
           sent_at = CASE WHEN m.provider_message_id IS NOT NULL THEN $1 ELSE m.sent_at END,
           error = 'lease expired: worker ' || expired.lease_owner || ' stopped mid-send',
           error_code = 'lease_expired',
           lease_owner = NULL,
           lease_expires_at = NULL,
           updated_at = $1
      FROM expired
     WHERE m.id = expired.id
 RETURNING m.*, expired.lease_owner AS old_owner, expired.claimed_at AS old_claimed_at,
           expired.lease_expires_at AS old_expiry
), a AS (
    INSERT INTO message_attempts (message_id, attempt, owner, provider, started_at,
                                  finished_at, outcome, error, error_code,
                                  provider_message_id)
    SELECT id, attempts, old_owner, provider, COALESCE(old_claimed_at, old_expiry), $1,
           'lease_expired', error, error_code, provider_message_id
      FROM m
)
SELECT * FROM m;

-- name: dispatch_next_due
SELECT min(not_before) FROM messages WHERE status IN ('queued', 'failed');

-- name: dispatch_due_count
SELECT count(*) FROM messages WHERE status IN ('queued', 'failed') AND not_before <= $1;

-- name: messages_list
-- The message log, oldest first; each filter applies when given. Keyset on id.
-- $2 the recipient's blind indexes (as a mobile, as an address), $9 as given: rows
-- stored before sealing have no index and are found by their clear recipient.
SELECT *
  FROM messages
 WHERE ($1::text IS NULL OR case_no = $1)
   AND ($2::bytea[] IS NULL OR recipient_index = ANY($2::bytea[])
        OR (recipient_index IS NULL AND recipient = $9))
   AND ($3::text IS NULL OR kind = $3)
   AND ($4::text IS NULL OR status = $4)
   AND ($5::text IS NULL OR person_id = $5)
   AND ($6::text IS NULL OR channel = $6)
   AND id > $7
 ORDER BY id
 LIMIT $8;

-- name: message_attempts_for
SELECT * FROM message_attempts WHERE message_id = ANY($1::bigint[]) ORDER BY message_id, attempt;

-- name: dispatch_next_work
-- The manual test clock's next stop: the first waiting send or expiring lease (the reaper
-- returns it), strictly after $1 when $1 is given.
SELECT least((SELECT min(not_before) FROM messages
               WHERE status IN ('queued', 'failed') AND ($1::timestamptz IS NULL OR not_before > $1)),
             (SELECT min(lease_expires_at) FROM messages
               WHERE status = 'sending' AND ($1::timestamptz IS NULL OR lease_expires_at > $1)));
