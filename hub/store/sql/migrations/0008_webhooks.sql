-- Status webhooks (docs/decisions/0009-webhooks.md) and WeCom per-member limits.

-- The URLs of [webhooks] urls, synced from the settings when a worker starts.
-- Empty: no webhooks, and the trigger below records nothing.
CREATE TABLE webhook_targets (
    url        text        PRIMARY KEY,
    synced_at  timestamptz NOT NULL
);

-- One row per message status change worth telling the approval system about,
-- written by the trigger in the transaction that changed the status.
CREATE TABLE webhook_events (
    id           bigserial   PRIMARY KEY,
    message_id   bigint      NOT NULL,
    status       text        NOT NULL,   -- sent | delivered | failed | dead
    occurred_at  timestamptz NOT NULL,   -- messages.updated_at: the app clock's instant
    data         jsonb       NOT NULL    -- the row's fields at that moment (no body, no recipient)
);
CREATE INDEX webhook_events_by_time ON webhook_events (occurred_at);

-- One row per (event, url): the POST and its retries.
CREATE TABLE webhook_deliveries (
    event_id      bigint      NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    url           text        NOT NULL,
    status        text        NOT NULL DEFAULT 'pending',   -- pending | delivered | dead
    attempts      integer     NOT NULL DEFAULT 0,
    next_at       timestamptz NOT NULL,   -- due; while claimed, the end of the claim's lease
    claimed_by    text,
    last_error    text,
    last_status   integer,                -- the receiver's HTTP status, when it answered
    delivered_at  timestamptz,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (event_id, url)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at) WHERE status = 'pending';

CREATE FUNCTION cuiban_webhook_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    event_id bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhook_targets) THEN
        RETURN NULL;  -- no URL configured: nothing to tell, nothing stored
    END IF;
    INSERT INTO webhook_events (message_id, status, occurred_at, data)
    VALUES (NEW.id, NEW.status, NEW.updated_at,
            jsonb_build_object(
                'kind', NEW.kind, 'channel', NEW.channel, 'case_no', NEW.case_no,
                'node_id', NEW.node_id, 'person_id', NEW.person_id,
                'attempts', NEW.attempts, 'provider_message_id', NEW.provider_message_id,
                'error', NEW.error, 'error_code', NEW.error_code))
    RETURNING id INTO event_id;
    INSERT INTO webhook_deliveries (event_id, url, next_at, updated_at)
    SELECT event_id, url, NEW.updated_at, NEW.updated_at FROM webhook_targets;
    PERFORM pg_notify('cuiban_webhooks', '');  -- delivered on commit; repeats collapse
    RETURN NULL;
END
$$;
CREATE TRIGGER messages_webhook_status AFTER UPDATE OF status ON messages
    FOR EACH ROW
    WHEN (NEW.status IS DISTINCT FROM OLD.status
          AND NEW.status IN ('sent', 'delivered', 'failed', 'dead'))
    EXECUTE FUNCTION cuiban_webhook_event();
CREATE TRIGGER messages_webhook_insert AFTER INSERT ON messages
    FOR EACH ROW
    WHEN (NEW.status IN ('sent', 'delivered', 'failed', 'dead'))
    EXECUTE FUNCTION cuiban_webhook_event();

-- WeCom per-member limits (hub/wecom_limits.py): when a send took one of the member's
-- slots (30 a minute, 1000 an hour), and which digest leader a waiting row was merged into.
ALTER TABLE messages ADD COLUMN limit_slot_at timestamptz;
ALTER TABLE messages ADD COLUMN batched_into bigint;
CREATE INDEX messages_wecom_slots ON messages (recipient, limit_slot_at)
    WHERE limit_slot_at IS NOT NULL;
CREATE INDEX messages_batched ON messages (batched_into) WHERE batched_into IS NOT NULL;
