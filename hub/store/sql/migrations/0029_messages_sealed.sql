-- What a message says and to whom is stored sealed (SM4-GCM, hub/notices/sealing.py):
-- recipient, body, html, fallbacks, and the template variables that hold a secret or a
-- person's words (``personal``). Every lookup by recipient compares ``recipient_index``,
-- the HMAC-SM3 blind index of the normalised address (hub/privacy/fields.py). Status,
-- kind, channel and timestamps stay plain: supervision counts them without the key.
-- Rows from before this migration keep their clear values (recipient_index NULL) and
-- stay readable; lookups find them by their clear recipient.
ALTER TABLE messages ADD COLUMN recipient_index bytea;
ALTER TABLE messages ADD COLUMN personal text;
DROP INDEX messages_by_recipient;
CREATE INDEX messages_by_recipient_index ON messages (recipient_index, id)
    WHERE recipient_index IS NOT NULL;
CREATE INDEX messages_by_clear_recipient ON messages (recipient, id)
    WHERE recipient_index IS NULL;
DROP INDEX messages_wecom_slots;
CREATE INDEX messages_wecom_slots ON messages (recipient_index, limit_slot_at)
    WHERE limit_slot_at IS NOT NULL;

-- An opt-out is found by the number's blind index. Opt-outs from before this migration
-- get theirs when a process with the key starts (hub/replies/opt_outs.py).
ALTER TABLE opt_outs ADD COLUMN mobile_index bytea;
CREATE UNIQUE INDEX opt_outs_by_index ON opt_outs (mobile_index);

-- The filter of migration 0005, by blind index. A row without one (written clear, before
-- sealing) is still compared by its number.
CREATE OR REPLACE FUNCTION cuiban_opt_out_filter() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT NEW.mandatory AND NEW.channel = 'sms' AND NEW.status = 'queued'
       AND (EXISTS (SELECT 1 FROM opt_outs WHERE mobile_index = NEW.recipient_index)
            OR (NEW.recipient_index IS NULL
                AND EXISTS (SELECT 1 FROM opt_outs
                             WHERE mobile = regexp_replace(NEW.recipient, '^(\+86|0086)', ''))))
    THEN
        NEW.status := 'cancelled';
        NEW.error := 'not sent: the number opted out of optional notices (SMS reply TD)';
        NEW.error_code := 'opted_out';
    END IF;
    RETURN NEW;
END
$$;
