-- An opt-out's blind index under every configured data key (hub/replies/opt_outs.py), so
-- the opt-out filter matches a message queued under one key with an opt-out indexed
-- under another: while `cuiban keys rotate` runs, opt-outs it has not reached still
-- carry the previous key's index in opt_outs.mobile_index, and every message is queued
-- with the current key's (decision 0016). A process that starts fills in the keys it
-- knows; TD writes them all at once.
CREATE TABLE opt_out_indexes (
    opt_out_id    bigint NOT NULL REFERENCES opt_outs (id) ON DELETE CASCADE,
    key_id        text   NOT NULL,
    mobile_index  bytea  NOT NULL,
    PRIMARY KEY (opt_out_id, key_id)
);
CREATE INDEX opt_out_indexes_by_index ON opt_out_indexes (mobile_index);

-- The filter of migrations 0005 and 0029, also by the opt-outs' indexes under every key.
CREATE OR REPLACE FUNCTION cuiban_opt_out_filter() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT NEW.mandatory AND NEW.channel = 'sms' AND NEW.status = 'queued'
       AND (EXISTS (SELECT 1 FROM opt_outs WHERE mobile_index = NEW.recipient_index)
            OR EXISTS (SELECT 1 FROM opt_out_indexes WHERE mobile_index = NEW.recipient_index)
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
