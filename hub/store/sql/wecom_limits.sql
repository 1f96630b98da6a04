-- WeCom per-member limits (hub/wecom_limits.py). WeCom silently drops an app's messages
-- to one member beyond 30 a minute and 1000 an hour, so the dispatcher counts its own.

-- name: wecom_member_lock
-- Serialises the slot check for one member across every worker, until the transaction ends.
-- $1 the member's blind index under the current key (every process locks by the same one).
SELECT pg_advisory_xact_lock(hashtext('cuiban:wecom:' || encode($1::bytea, 'hex')));

-- Below, $1 is the member's blind indexes under every configured key
-- (hub/privacy/fields.py address_lookup): during a key rotation a row not re-indexed yet
-- carries the previous key's. The userid in clear finds rows stored before sealing
-- (recipient_index NULL).

-- name: wecom_member_usage
-- WeCom sends to $1 whose slot is inside the windows ending at $2; a digest and the rows
-- merged into it share one send (one slot). Also the earliest slot of each window.
SELECT count(DISTINCT COALESCE(batched_into, id))
           FILTER (WHERE limit_slot_at > $2::timestamptz - interval '1 minute') AS minute,
       count(DISTINCT COALESCE(batched_into, id)) AS hour,
       min(limit_slot_at) FILTER (WHERE limit_slot_at > $2::timestamptz - interval '1 minute') AS minute_oldest,
       min(limit_slot_at) AS hour_oldest
  FROM messages
 WHERE channel = 'wecom' AND (recipient_index = ANY($1::bytea[]) OR (recipient_index IS NULL AND recipient = $4))
   AND limit_slot_at > $2::timestamptz - interval '1 hour'
   AND id <> $3;

-- name: wecom_take_slot
-- A send on its own takes its own slot (it no longer belongs to a digest).
UPDATE messages SET limit_slot_at = $2, batched_into = NULL WHERE id = $1;

-- name: wecom_claim_merged
-- The rows merged into digest $1, leased to this worker with it (they go out as one card).
UPDATE messages
   SET status = 'sending', lease_owner = $2, lease_expires_at = $3, claimed_at = $4,
       limit_slot_at = $4, updated_at = $4
 WHERE batched_into = $1 AND status IN ('queued', 'failed')
RETURNING *;

-- name: wecom_waiting_digest
-- A digest already waiting for this member's next free slot (not this row).
SELECT id, not_before
  FROM messages
 WHERE channel = 'wecom' AND (recipient_index = ANY($1::bytea[]) OR (recipient_index IS NULL AND recipient = $3))
   AND status = 'queued' AND batched_into IS NULL
   AND error_code = 'wecom_member_limit' AND id <> $2
 ORDER BY id
 LIMIT 1;

-- name: wecom_hold
-- Give the claimed row back unsent (no attempt spent) until $3, as the member's digest.
UPDATE messages
   SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL,
       not_before = GREATEST(not_before, $3), error_code = 'wecom_member_limit',
       error = 'waiting: WeCom allows 30 messages a minute and 1000 an hour per member',
       updated_at = $4
 WHERE id = $1 AND status = 'sending' AND lease_owner = $2;

-- name: wecom_merge_into
-- Rows waiting for the member ($1: the claimed one, $4: others already due by then) join
-- digest $2; they wait a little past it ($3) so the digest's send normally takes them.
UPDATE messages
   SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, batched_into = $2,
       not_before = GREATEST(not_before, $3), updated_at = $5
 WHERE id <> $2
   AND (   (id = $1 AND status = 'sending' AND lease_owner = $6)
        OR (channel = 'wecom' AND (recipient_index = ANY($4::bytea[]) OR (recipient_index IS NULL AND recipient = $7))
            AND status IN ('queued', 'failed')
            AND lease_owner IS NULL AND batched_into IS NULL AND not_before <= $3));
