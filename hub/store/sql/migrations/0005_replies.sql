-- Receipts and replies (issue 5): every upstream SMS, opt-outs, and 短信预约 appointments.

-- Every text a person sent us, whatever it turned out to be: supervisors read the
-- ones handled as 'other' (anything that is not a command is kept, not lost).
CREATE TABLE inbound_sms (
    id           bigserial PRIMARY KEY,
    provider     text        NOT NULL,             -- aliyun | tencent
    dedupe_key   text        NOT NULL UNIQUE,      -- the provider's id of the text: retries are no-ops
    mobile       text        NOT NULL,             -- mainland numbers without +86
    text         text        NOT NULL,
    sign_name    text        NOT NULL DEFAULT '',
    extend       text        NOT NULL DEFAULT '',  -- Aliyun dest_code / Tencent extend
    sent_at      timestamptz,                      -- when the person sent it (provider's clock)
    received_at  timestamptz NOT NULL,             -- when the callback reached us
    handled_as   text        NOT NULL DEFAULT 'other',
    case_no      text,
    detail       text
);
CREATE INDEX inbound_sms_by_mobile ON inbound_sms (mobile, id);
CREATE INDEX inbound_sms_by_handling ON inbound_sms (handled_as, id);

-- A number that replied TD: no optional notices (evaluation prompts, ...) by SMS any more.
CREATE TABLE opt_outs (
    mobile          text PRIMARY KEY,
    at              timestamptz NOT NULL,
    inbound_sms_id  bigint REFERENCES inbound_sms (id) ON DELETE SET NULL
);

-- Enforced where every notice enters the outbox, whoever queues it: an optional SMS to
-- an opted-out number is stored (the log shows it) as 'cancelled', never sent.
-- Mandatory notices (事中告知, 办结告知, ...) are never held back.
CREATE FUNCTION cuiban_opt_out_filter() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT NEW.mandatory AND NEW.channel = 'sms' AND NEW.status = 'queued'
       AND EXISTS (SELECT 1 FROM opt_outs
                    WHERE mobile = regexp_replace(NEW.recipient, '^(\+86|0086)', '')) THEN
        NEW.status := 'cancelled';
        NEW.error := 'not sent: the number opted out of optional notices (SMS reply TD)';
        NEW.error_code := 'opted_out';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER messages_opt_out_filter BEFORE INSERT ON messages
    FOR EACH ROW EXECUTE FUNCTION cuiban_opt_out_filter();

-- The slots offered in answer to 'YY <case_no>'; a number reply books one of them.
CREATE TABLE appointment_offers (
    id          bigserial PRIMARY KEY,
    mobile      text        NOT NULL,
    case_no     text        NOT NULL REFERENCES cases (case_no) ON DELETE CASCADE,
    slots       jsonb       NOT NULL,   -- [{"n": 1, "day": "2026-03-03", "slot": "09:00-12:00", "label": "3月3日上午"}]
    offered_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX appointment_offers_open ON appointment_offers (mobile, offered_at DESC)
    WHERE used_at IS NULL;

-- Bookings per slot: the capacity check is one row-locked UPDATE, safe under concurrency.
CREATE TABLE appointment_slots (
    day     date    NOT NULL,
    slot    text    NOT NULL,           -- "09:00-12:00"
    booked  integer NOT NULL DEFAULT 0 CHECK (booked >= 0),
    PRIMARY KEY (day, slot)
);

-- One pickup appointment per case; booking again moves it.
CREATE TABLE appointments (
    case_no    text PRIMARY KEY REFERENCES cases (case_no) ON DELETE CASCADE,
    day        date        NOT NULL,
    slot       text        NOT NULL,
    mobile     text        NOT NULL,
    booked_at  timestamptz NOT NULL,
    reminder_key text      NOT NULL   -- dedupe_key of the queued appointment_reminder
);
CREATE INDEX appointments_by_slot ON appointments (day, slot);

-- "CX nj2026-0042" finds NJ2026-0042: people type case numbers in either case.
CREATE INDEX cases_by_upper_case_no ON cases (upper(case_no));
