-- A person's reminder SMS of a day, counted before each reminder is queued (the daily
-- budget, decision 0023): found by person and instant, not by walking their whole log.
CREATE INDEX messages_sms_by_person ON messages (person_id, not_before) WHERE channel = 'sms';
