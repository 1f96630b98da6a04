-- A person's messages by the instant they leave, on any channel: the daily SMS budget
-- counts a day's reminder SMS with it, and the tick asks whether a reminder round has
-- already reached a reviewer (decision 0023). It replaces the SMS-only index of 0034.
CREATE INDEX messages_by_person_instant ON messages (person_id, not_before);
DROP INDEX messages_sms_by_person;
