-- Receipts and replies: delivery reports move messages; upstream SMS are stored and acted on.

-- name: receipt_target
-- The SMS a delivery report is about: by the provider's id (BizId / SerialNo), else by
-- our id echoed back (Aliyun OutId). Locked: a provider retry waits, then sees the result.
SELECT *
  FROM messages
 WHERE channel = 'sms'
   AND (provider_message_id = $1 OR ($2::bigint IS NOT NULL AND id = $2::bigint))
 ORDER BY (provider_message_id IS NOT DISTINCT FROM $1) DESC, id DESC
 LIMIT 1
   FOR UPDATE;

-- name: receipt_delivered
UPDATE messages
   SET status = 'delivered', delivered_at = $2, provider_message_id = COALESCE(provider_message_id, $3),
       error = NULL, error_code = NULL, updated_at = $4
 WHERE id = $1 AND status = 'sent';

-- name: receipt_undelivered
-- Final for this send: 'failed' with the carrier's code, parked (not_before far in the
-- future: the dispatcher claims failed rows when due, and this one must never be resent);
-- a mandatory notice continues on its fallback channel. A finite date, not 'infinity':
-- asyncpg reads infinity as a naive datetime that the dispatcher cannot compare.
UPDATE messages
   SET status = 'failed', error = $2, error_code = $3,
       not_before = '9999-01-01 00:00:00+00',
       provider_message_id = COALESCE(provider_message_id, $4), updated_at = $5
 WHERE id = $1 AND status = 'sent'
RETURNING *;

-- name: insert_inbound_sms
-- mobile and text arrive sealed (hub/privacy/fields.py); $9 is the mobile's blind index.
INSERT INTO inbound_sms (provider, dedupe_key, mobile, text, sign_name, extend, sent_at,
                         received_at, mobile_index)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING id;

-- name: inbound_sms_known
-- A text already stored under one of these identities (a provider's retry that straddled a
-- change of the data key, hub/replies/inbound.py inbound_keys).
SELECT EXISTS (SELECT 1 FROM inbound_sms WHERE dedupe_key = ANY($1::text[]));

-- name: mark_inbound_sms
UPDATE inbound_sms SET handled_as = $2, case_no = $3, detail = $4 WHERE id = $1;

-- name: inbound_sms_list
SELECT *
  FROM inbound_sms
 WHERE ($1::text IS NULL OR handled_as = $1)
   -- $2 the number's blind indexes (one per configured key), $6 its digits (rows stored
   -- before sealing)
   AND ($2::bytea[] IS NULL OR mobile_index = ANY($2) OR (mobile_index IS NULL AND mobile = $6))
   AND ($3::text IS NULL OR case_no = $3)
   AND id > $4
 ORDER BY id
 LIMIT $5;

-- name: case_for_reply
-- Exact case number first; a case-insensitive match when people type it in lower case.
SELECT *
  FROM cases
 WHERE case_no = $1 OR upper(case_no) = upper($1)
 ORDER BY (case_no = $1) DESC
 LIMIT 1;

-- name: current_node_name
SELECT name FROM nodes WHERE case_no = $1 AND completed_at IS NULL ORDER BY started_at DESC LIMIT 1;

-- name: latest_evaluation_prompt
-- The evaluation prompt most recently sent by SMS to this number (what a bare "5" answers).
SELECT case_no, sent_at
  FROM messages
 WHERE channel = 'sms' AND kind = 'evaluation_prompt' AND status IN ('sent', 'delivered')
   -- $1 the number's blind indexes (one per key), $2 its digits (rows sent before sealing)
   AND (recipient_index = ANY($1::bytea[])
        OR (recipient_index IS NULL AND regexp_replace(recipient, '^(\+86|0086)', '') = $2))
 ORDER BY sent_at DESC, id DESC
 LIMIT 1;

-- name: latest_open_offer
-- $1 the number's blind indexes, $3 its digits (offers stored before sealing)
SELECT * FROM appointment_offers
 WHERE (mobile_index = ANY($1::bytea[]) OR (mobile_index IS NULL AND mobile = $3))
   AND used_at IS NULL AND expires_at > $2
 ORDER BY offered_at DESC, id DESC
 LIMIT 1
   FOR UPDATE;

-- name: insert_offer
-- $1 the number sealed, $6 its blind index
INSERT INTO appointment_offers (mobile, case_no, slots, offered_at, expires_at, mobile_index)
VALUES ($1, $2, $3::jsonb, $4, $5, $6)
RETURNING id;

-- name: close_offers
-- A new offer or a booking ends this number's earlier offers for the case.
-- $1 the number's blind indexes, $4 its digits (offers stored before sealing)
UPDATE appointment_offers SET used_at = $3
 WHERE (mobile_index = ANY($1::bytea[]) OR (mobile_index IS NULL AND mobile = $4))
   AND case_no = $2 AND used_at IS NULL;

-- name: slot_bookings
SELECT day, slot, booked FROM appointment_slots WHERE day = ANY($1::date[]);

-- name: take_slot
-- One more booking unless the slot is full: the row lock serialises concurrent bookings.
INSERT INTO appointment_slots AS s (day, slot, booked) VALUES ($1, $2, 1)
ON CONFLICT (day, slot) DO UPDATE SET booked = s.booked + 1 WHERE s.booked < $3
RETURNING booked;

-- name: release_slot
UPDATE appointment_slots SET booked = booked - 1 WHERE day = $1 AND slot = $2 AND booked > 0;

-- name: appointment_of_case
SELECT * FROM appointments WHERE case_no = $1 FOR UPDATE;

-- name: upsert_appointment
INSERT INTO appointments (case_no, day, slot, mobile, booked_at, reminder_key)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (case_no) DO UPDATE
   SET day = EXCLUDED.day, slot = EXCLUDED.slot, mobile = EXCLUDED.mobile,
       booked_at = EXCLUDED.booked_at, reminder_key = EXCLUDED.reminder_key;

-- name: cancel_queued_message
-- A moved appointment's reminder (by dedupe_key prefix) that has not gone out yet.
UPDATE messages
   SET status = 'cancelled', error = $2, updated_at = $3
 WHERE dedupe_key LIKE $1 || '|%' AND status IN ('queued', 'failed');

-- name: insert_opt_out
-- $1 the number sealed, $4 its blind index (what the opt-out filter compares; unique);
-- $5 its index under every configured key: a number already opted out under another key
-- (a rotation not done yet) is not stored twice. The new row's id, or NULL.
INSERT INTO opt_outs (mobile, at, inbound_sms_id, mobile_index)
SELECT $1, $2, $3, $4
 WHERE NOT EXISTS (SELECT 1 FROM opt_outs WHERE mobile_index = ANY($5::bytea[]))
   AND NOT EXISTS (SELECT 1 FROM opt_out_indexes WHERE mobile_index = ANY($5::bytea[]))
ON CONFLICT DO NOTHING
RETURNING id;

-- name: insert_opt_out_indexes
-- Opt-outs' blind indexes under keys: $1 the opt-outs, $2 the key ids, $3 the indexes,
-- in step (one row each).
INSERT INTO opt_out_indexes (opt_out_id, key_id, mobile_index)
SELECT * FROM unnest($1::bigint[], $2::text[], $3::bytea[])
ON CONFLICT DO NOTHING;

-- name: opt_outs_missing_a_key
-- Sealed opt-outs after id $2 without an index under one of the keys $1 (ids), by id.
SELECT o.id, o.mobile FROM opt_outs AS o
 WHERE o.id > $2 AND o.mobile LIKE 'sm4:%'
   AND (SELECT count(*) FROM opt_out_indexes AS i
         WHERE i.opt_out_id = o.id AND i.key_id = ANY($1::text[])) < cardinality($1::text[])
 ORDER BY o.id
 LIMIT $3;

-- name: opt_out_indexes_retire
-- Indexes under keys no longer configured ($1), once the latest rotation, to the current
-- key $2, has finished: nothing is queued under them any more. A process still on an
-- older key (the latest rotation is not to its key) deletes nothing.
DELETE FROM opt_out_indexes
 WHERE key_id <> ALL($1::text[])
   AND (SELECT key_id = $2 AND finished_at IS NOT NULL
          FROM key_rotations ORDER BY id DESC LIMIT 1);

-- name: cancel_optional_to
-- Optional SMS already queued for a number that just opted out are not sent either.
-- $1 the number's blind indexes (one per key), $3 its digits (rows queued before sealing)
UPDATE messages
   SET status = 'cancelled', updated_at = $2, error_code = 'opted_out',
       error = 'not sent: the number opted out of optional notices (SMS reply TD)'
 WHERE channel = 'sms' AND NOT mandatory AND status IN ('queued', 'failed')
   AND (recipient_index = ANY($1::bytea[])
        OR (recipient_index IS NULL AND regexp_replace(recipient, '^(\+86|0086)', '') = $3));

-- name: opted_out_among
SELECT mobile_index FROM opt_outs WHERE mobile_index = ANY($1::bytea[]);

-- name: opt_outs_without_index
SELECT mobile FROM opt_outs WHERE mobile_index IS NULL AND mobile NOT LIKE 'sm4:%';

-- name: opt_out_set_index
-- An opt-out stored in clear before sealing: $3 the number sealed, $2 its blind index.
UPDATE opt_outs SET mobile_index = $2, mobile = $3 WHERE mobile = $1 AND mobile_index IS NULL;

-- name: opt_outs_sealed
SELECT mobile FROM opt_outs WHERE mobile LIKE 'sm4:%';
