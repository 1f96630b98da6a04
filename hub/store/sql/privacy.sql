-- De-identification of one case (hub/privacy/deidentify.py), retention, erasure.

-- name: privacy_case_for_update
SELECT case_no, status, applicant FROM cases WHERE case_no = $1 FOR UPDATE;

-- name: privacy_case_deidentified
UPDATE cases SET applicant = $2, deidentified_at = $3 WHERE case_no = $1;

-- name: privacy_case_events
SELECT seq, payload FROM events WHERE case_no = $1 ORDER BY seq;

-- name: privacy_event_payload
UPDATE events SET payload = $2 WHERE seq = $1;

-- name: privacy_drop_fold
DELETE FROM case_folds WHERE case_no = $1;

-- name: privacy_case_messages
SELECT id, channel, recipient, subject, body, html, context, params
  FROM messages WHERE case_no = $1 ORDER BY id;

-- name: privacy_message_deidentified
-- fallbacks go: the other addresses of a message long finished.
UPDATE messages
   SET recipient = $2, subject = $3, body = $4, html = $5, context = $6, params = $7,
       fallbacks = '[]'
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
