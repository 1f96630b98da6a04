-- Announcements to many people (通知公告, issue 10): broadcasts, subscriber lists, and the
-- link from each outbox row to the broadcast that queued it.

-- A named list of subscribers (PUT /v1/lists/{name}): mobiles and e-mail addresses.
CREATE TABLE subscriber_lists (
    name         text PRIMARY KEY,
    description  text        NOT NULL DEFAULT '',
    updated_at   timestamptz NOT NULL
);

CREATE TABLE subscribers (
    list_name  text        NOT NULL REFERENCES subscriber_lists (name) ON DELETE CASCADE,
    channel    text        NOT NULL CHECK (channel IN ('sms', 'email')),
    address    text        NOT NULL,   -- normalised: mobile without +86, e-mail lower case
    added_at   timestamptz NOT NULL,
    PRIMARY KEY (list_name, channel, address)
);

-- One announcement. Its audience is expanded into ``messages`` rows in batches; the keyset
-- cursor and the per-channel slot counters advance in the same transaction as each batch,
-- so an interrupted expansion resumes where it stopped (POST again with the same key).
CREATE TABLE broadcasts (
    id                bigserial PRIMARY KEY,
    request_key       text UNIQUE,                     -- the client's idempotency key, if any
    title             text        NOT NULL,
    request           jsonb       NOT NULL,            -- as posted: audience, channels, texts
    channels          text[]      NOT NULL,            -- the channels actually used
    renders           jsonb       NOT NULL,            -- channel -> {subject, body, html, link, params}
    context           jsonb       NOT NULL,            -- the template variables (title, content, link)
    send_at           timestamptz NOT NULL,
    bases             jsonb       NOT NULL DEFAULT '{}',   -- channel -> first slot (after earlier broadcasts)
    rate_per_second   double precision NOT NULL,
    priority          smallint    NOT NULL,
    status            text        NOT NULL DEFAULT 'expanding',  -- expanding | queued | cancelled
    cursor_channel    text        NOT NULL DEFAULT '',
    cursor_recipient  text        NOT NULL DEFAULT '',
    positions         jsonb       NOT NULL DEFAULT '{}',   -- channel -> slots used so far
    recipients        integer     NOT NULL DEFAULT 0,      -- audience rows expanded so far
    created_by        text        NOT NULL,
    created_at        timestamptz NOT NULL,
    expanded_at       timestamptz,
    cancelled_at      timestamptz
);

ALTER TABLE messages ADD COLUMN broadcast_id bigint REFERENCES broadcasts (id);
-- Progress counts and the one-statement cancel read a broadcast's rows by status.
CREATE INDEX messages_by_broadcast ON messages (broadcast_id, status)
    WHERE broadcast_id IS NOT NULL;

-- Nothing of a cancelled broadcast is sent after the cancel: a row that was in flight at
-- the cancel finishes, but if that attempt failed (or the row is handed back unsent) it
-- ends here as cancelled instead of being retried. The dispatcher needs no change for it.
CREATE FUNCTION cuiban_broadcast_cancelled() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM broadcasts WHERE id = NEW.broadcast_id AND status = 'cancelled') THEN
        NEW.status := 'cancelled';
        NEW.error := 'broadcast cancelled' || coalesce('; last attempt: ' || NEW.error, '');
        NEW.error_code := 'broadcast_cancelled';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER messages_broadcast_cancelled BEFORE UPDATE OF status ON messages
    FOR EACH ROW
    WHEN (NEW.broadcast_id IS NOT NULL AND OLD.status = 'sending'
          AND NEW.status IN ('queued', 'failed'))
    EXECUTE FUNCTION cuiban_broadcast_cancelled();

-- The instant ``seconds`` of sending time after ``start``, skipping the nightly quiet window
-- [quiet_from, quiet_to) in zone ``tz``: a broadcast spread at N per second pauses at 22:00
-- and goes on at 07:30 instead of piling up for the morning. NULL bounds: no window.
CREATE FUNCTION cuiban_awake_after(
    start timestamptz, seconds double precision, quiet_from time, quiet_to time, tz text
) RETURNS timestamptz LANGUAGE plpgsql STABLE AS $$
DECLARE
    t         timestamptz := start;
    remaining double precision := greatest(seconds, 0);
    local     timestamp;
    edge      timestamptz;
BEGIN
    IF quiet_from IS NULL OR quiet_to IS NULL OR quiet_from = quiet_to THEN
        RETURN start + remaining * interval '1 second';
    END IF;
    LOOP
        local := t AT TIME ZONE tz;
        IF (quiet_from < quiet_to AND local::time >= quiet_from AND local::time < quiet_to)
           OR (quiet_from > quiet_to AND (local::time >= quiet_from OR local::time < quiet_to)) THEN
            -- Inside the window: go on at its end.
            edge := (local::date + quiet_to) AT TIME ZONE tz;
            IF edge <= t THEN
                edge := (local::date + 1 + quiet_to) AT TIME ZONE tz;
            END IF;
            t := edge;
            CONTINUE;
        END IF;
        edge := (local::date + quiet_from) AT TIME ZONE tz;   -- the next window's start
        IF edge <= t THEN
            edge := (local::date + 1 + quiet_from) AT TIME ZONE tz;
        END IF;
        IF t + remaining * interval '1 second' < edge THEN
            RETURN t + remaining * interval '1 second';
        END IF;
        remaining := remaining - extract(epoch FROM edge - t);
        t := edge;
    END LOOP;
END
$$;
