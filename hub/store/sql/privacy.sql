-- De-identification of one case (hub/privacy/deidentify.py), retention, erasure.

-- name: privacy_case_for_update
SELECT case_no, status, applicant FROM cases WHERE case_no = $1 FOR UPDATE;

-- name: privacy_case_deidentified
-- The masked applicant is no one's number any more: the case is no longer found by it.
UPDATE cases SET applicant = $2, applicant_mobile_index = NULL, deidentified_at = $3
 WHERE case_no = $1;

-- name: privacy_case_events
SELECT seq, payload FROM events WHERE case_no = $1 ORDER BY seq;

-- name: privacy_event_payload
UPDATE events SET payload = $2 WHERE seq = $1;

-- name: privacy_drop_fold
DELETE FROM case_folds WHERE case_no = $1;

-- name: privacy_case_messages
SELECT id, channel, recipient, subject, body, html, sealed, context, params
  FROM messages WHERE case_no = $1 ORDER BY id;

-- name: privacy_message_deidentified
-- $2 the masked recipient and scrubbed words sealed as one value (hub/notices/sealing.py),
-- whichever form the row had. fallbacks go: the other addresses of a message long
-- finished; so do its sealed template secrets (codes, a complaint's words) and the index
-- of the real address.
UPDATE messages
   SET sealed = $2, subject = $3, context = $4, params = $5, recipient = NULL, body = NULL,
       html = NULL, fallbacks = '[]', personal = NULL, recipient_index = NULL
 WHERE id = $1;

-- name: privacy_case_inbound_sms
SELECT id, mobile, text FROM inbound_sms WHERE case_no = $1 ORDER BY id;

-- name: privacy_inbound_deidentified
UPDATE inbound_sms SET mobile = $2, text = $3, mobile_index = NULL WHERE id = $1;

-- name: privacy_case_appointments
SELECT case_no AS key, mobile FROM appointments WHERE case_no = $1;

-- name: privacy_case_appointments_deidentified
UPDATE appointments SET mobile = $2 WHERE case_no = $1;

-- name: privacy_case_offers
SELECT id AS key, mobile FROM appointment_offers WHERE case_no = $1;

-- name: privacy_case_offers_deidentified
UPDATE appointment_offers SET mobile = $2, mobile_index = NULL WHERE id = $1;

-- name: privacy_case_complaints
SELECT id, content FROM wap_complaints WHERE case_no = $1;

-- name: privacy_complaint_deidentified
UPDATE wap_complaints SET content = $2 WHERE id = $1;

-- name: privacy_case_evaluation
SELECT comment FROM evaluations WHERE case_no = $1;

-- name: privacy_evaluation_deidentified
UPDATE evaluations SET comment = $2 WHERE case_no = $1;

-- name: privacy_case_rectifications
SELECT id, comment, finding, reply FROM rectifications WHERE case_no = $1;

-- name: privacy_rectification_deidentified
UPDATE rectifications SET comment = $2, finding = $3, reply = $4 WHERE id = $1;

-- name: retention_due_cases
-- Closed or withdrawn before $1, not yet de-identified, no rectification still open;
-- $2 the cases that failed in this run (one bad row never stops the batch).
SELECT c.case_no
  FROM cases c
 WHERE c.deidentified_at IS NULL
   AND c.status IN ('closed', 'withdrawn')
   AND coalesce(c.closed_at, c.withdrawn_at) <= $1
   AND c.case_no <> ALL($2::text[])
   AND NOT EXISTS (SELECT 1 FROM rectifications r
                    WHERE r.case_no = c.case_no AND r.status <> 'closed')
 ORDER BY coalesce(c.closed_at, c.withdrawn_at), c.case_no
 LIMIT $3
   FOR UPDATE OF c SKIP LOCKED;

-- name: rotation_column_types
SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
  FROM pg_attribute a
 WHERE a.attrelid = $1::text::regclass AND a.attname = ANY($2::text[])
   AND a.attnum > 0 AND NOT a.attisdropped;

-- name: rotation_lock
SELECT pg_try_advisory_lock(hashtextextended('cuiban|key_rotation', 0));

-- name: rotation_unlock
SELECT pg_advisory_unlock(hashtextextended('cuiban|key_rotation', 0));

-- name: rotation_supersede
-- A rotation to another key left unfinished is over: the new one walks everything.
UPDATE key_rotations SET finished_at = $2, superseded = true
 WHERE key_id <> $1 AND finished_at IS NULL;

-- name: rotation_open
-- The unfinished rotation to key $1, resumed, or a new one.
WITH found AS (
    SELECT id FROM key_rotations
     WHERE key_id = $1 AND finished_at IS NULL
     ORDER BY id DESC LIMIT 1
), made AS (
    INSERT INTO key_rotations (key_id, started_at)
    SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM found)
    RETURNING id
)
SELECT id FROM found UNION ALL SELECT id FROM made;

-- name: rotation_progress
SELECT last_key, resealed, done FROM key_rotation_progress
 WHERE rotation_id = $1 AND table_name = $2 AND column_name = $3;

-- name: rotation_save
INSERT INTO key_rotation_progress (rotation_id, table_name, column_name, last_key, resealed, done)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (rotation_id, table_name, column_name)
DO UPDATE SET last_key = EXCLUDED.last_key, resealed = EXCLUDED.resealed, done = EXCLUDED.done;

-- name: rotation_finished
UPDATE key_rotations SET finished_at = $2 WHERE id = $1;

-- name: rotation_latest
SELECT r.id, r.key_id, r.started_at, r.finished_at, r.superseded,
       coalesce(sum(p.resealed), 0) AS resealed,
       count(p.*) FILTER (WHERE p.done) AS columns_done
  FROM key_rotations r LEFT JOIN key_rotation_progress p ON p.rotation_id = r.id
 GROUP BY r.id
 ORDER BY r.id DESC
 LIMIT 1;

-- name: subject_cases
-- Every case whose applicant has this number ($1 its blind indexes, $2 its digits).
SELECT case_no, status, matter_code, matter_name, department_code, department_name,
       applicant, query_code, accepted_at, closed_at, withdrawn_at, deidentified_at,
       EXISTS (SELECT 1 FROM rectifications r
                WHERE r.case_no = c.case_no AND r.status <> 'closed') AS rectification_open
  FROM cases c
 WHERE applicant_mobile_index = ANY($1::bytea[])
    OR (applicant_mobile_index IS NULL AND applicant ->> 'mobile' = $2)
 ORDER BY case_no;

-- name: subject_case_events
SELECT seq, type, occurred_at, payload FROM events WHERE case_no = $1 ORDER BY occurred_at, seq;

-- name: subject_case_extras
SELECT (SELECT to_jsonb(e) - 'case_no' FROM evaluations e WHERE e.case_no = $1) AS evaluation,
       (SELECT coalesce(jsonb_agg(to_jsonb(w) - 'case_no' ORDER BY w.id), '[]')
          FROM wap_complaints w WHERE w.case_no = $1) AS complaints,
       (SELECT coalesce(jsonb_agg(jsonb_build_object(
                  'id', r.id, 'status', r.status, 'rating', r.rating, 'comment', r.comment,
                  'finding', r.finding, 'outcome', r.outcome, 'reply', r.reply) ORDER BY r.id), '[]')
          FROM rectifications r WHERE r.case_no = $1) AS rectifications,
       (SELECT to_jsonb(a) - 'case_no' FROM appointments a WHERE a.case_no = $1) AS appointment;

-- name: subject_messages
-- Messages to this number or to the e-mail addresses of its cases' applicant: $1 the
-- blind indexes of both (every configured key); rows stored before sealing (no index)
-- by the number's digits $2 and the addresses $3.
SELECT id, case_no, kind, channel, recipient, subject, body, personal, sealed, status,
       created_at, sent_at, delivered_at
  FROM messages
 WHERE recipient_index = ANY($1::bytea[])
    OR (recipient_index IS NULL
        AND ((channel = 'sms' AND regexp_replace(recipient, '^(\+86|0086)', '') = $2)
             OR (channel = 'email' AND lower(recipient) = ANY($3::text[]))))
 ORDER BY id;

-- name: subject_inbound_sms
SELECT id, mobile, text, handled_as, case_no, received_at
  FROM inbound_sms
 WHERE mobile_index = ANY($1::bytea[]) OR (mobile_index IS NULL AND mobile = $2)
 ORDER BY id;

-- name: subject_opt_out
SELECT at FROM opt_outs
 WHERE mobile_index = ANY($1::bytea[]) OR (mobile_index IS NULL AND mobile = $2);

-- name: subject_lists
-- $1 the blind indexes of the number and the e-mail addresses; $2, $3 the number's digits
-- and the addresses in clear (subscribers stored before sealing).
SELECT DISTINCT list_name FROM subscribers
 WHERE address_index = ANY($1::bytea[])
    OR (address_index IS NULL
        AND ((channel = 'sms' AND address = $2) OR (channel = 'email' AND address = ANY($3::text[]))))
 ORDER BY list_name;

-- name: subject_drop_subscriptions
DELETE FROM subscribers
 WHERE address_index = ANY($1::bytea[])
    OR (address_index IS NULL
        AND ((channel = 'sms' AND address = $2) OR (channel = 'email' AND address = ANY($3::text[]))));

-- name: subject_drop_codes
DELETE FROM wap_codes WHERE mobile_index = ANY($1::bytea[]) OR (mobile_index IS NULL AND mobile = $2);

-- name: subject_offers
SELECT id AS key, mobile FROM appointment_offers
 WHERE mobile_index = ANY($1::bytea[]) OR (mobile_index IS NULL AND mobile = $2);

-- name: subject_sessions
SELECT sid_mac, mobile FROM wap_sessions;

-- name: subject_drop_session
DELETE FROM wap_sessions WHERE sid_mac = $1;

-- name: subject_message_deidentified
-- $2 the masked recipient and scrubbed body sealed as one value (hub/notices/sealing.py).
UPDATE messages SET sealed = $2, subject = $3, recipient = NULL, body = NULL, html = NULL,
       context = '{}', params = '{}', fallbacks = '[]', personal = NULL, recipient_index = NULL
 WHERE id = $1;

-- name: subject_people
-- People (officials) in the directory with this number ($1 its blind indexes, $2 its digits).
SELECT person_id, name FROM people
 WHERE mobile_index = ANY($1::bytea[]) OR (mobile_index IS NULL AND mobile = $2)
 ORDER BY person_id;
