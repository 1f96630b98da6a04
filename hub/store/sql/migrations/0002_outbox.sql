-- The durable heart: timers (reminders planned from deadlines), the outbox of
-- messages to send, every attempt at sending, and urges.

CREATE TABLE timers (
    id                bigserial PRIMARY KEY,
    kind              text        NOT NULL,   -- node_due_soon, node_overdue, case_due_soon, case_overdue, evaluation_prompt
    case_no           text        NOT NULL,
    node_id           text        NOT NULL DEFAULT '',   -- '' for a case-level timer
    step              smallint    NOT NULL DEFAULT 0,    -- escalation step of an *_overdue chain
    deadline_version  integer     NOT NULL,
    fire_at           timestamptz NOT NULL,
    status            text        NOT NULL DEFAULT 'pending',  -- pending | fired | cancelled
    fired_at          timestamptz,
    UNIQUE (case_no, node_id, kind, step, deadline_version)
);
-- The tick reads only what is due: its cost grows with due work, not with pending work.
CREATE INDEX timers_due ON timers (fire_at) WHERE status = 'pending';

CREATE TABLE messages (
    id                   bigserial PRIMARY KEY,
    dedupe_key           text        NOT NULL UNIQUE,
    kind                 text        NOT NULL,
    channel              text        NOT NULL,   -- sms | email | wecom | wechat_mp | wap
    person_id            text,
    recipient            text        NOT NULL,   -- the address: mobile, e-mail, userid, openid
    case_no              text,
    node_id              text,
    context              jsonb       NOT NULL DEFAULT '{}',
    subject              text,
    body                 text        NOT NULL,
    html                 text,
    link                 text,
    params               jsonb       NOT NULL DEFAULT '{}',
    mandatory            boolean     NOT NULL,
    fallbacks            jsonb       NOT NULL DEFAULT '[]',  -- [{"channel", "recipient"}] to try, in order, if this fails for good
    note                 text,                                -- e.g. routed to a deputy
    status               text        NOT NULL DEFAULT 'queued',  -- queued sending sent delivered failed dead cancelled
    priority             smallint    NOT NULL DEFAULT 0,     -- lower goes first
    not_before           timestamptz NOT NULL,               -- quiet hours, working days, backoff
    attempts             integer     NOT NULL DEFAULT 0,
    max_attempts         integer     NOT NULL,
    lease_owner          text,
    lease_expires_at     timestamptz,
    provider             text,
    provider_message_id  text,
    error                text,
    error_code           text,
    created_at           timestamptz NOT NULL,
    sent_at              timestamptz,
    delivered_at         timestamptz,
    read_at              timestamptz,
    updated_at           timestamptz NOT NULL
);
CREATE INDEX messages_ready ON messages (not_before, priority) WHERE status IN ('queued', 'failed');
CREATE INDEX messages_leased ON messages (lease_expires_at) WHERE status = 'sending';
CREATE INDEX messages_by_case ON messages (case_no, id);
CREATE INDEX messages_by_recipient ON messages (recipient, id);
CREATE INDEX messages_by_person ON messages (person_id, id);
CREATE INDEX messages_by_provider_id ON messages (provider_message_id) WHERE provider_message_id IS NOT NULL;

CREATE TABLE message_attempts (
    message_id           bigint      NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    attempt              integer     NOT NULL,
    owner                text        NOT NULL,
    provider             text,
    started_at           timestamptz NOT NULL,
    finished_at          timestamptz,
    outcome              text,        -- sent | transient | permanent | unknown | lease_expired
    error                text,
    error_code           text,
    provider_message_id  text,
    PRIMARY KEY (message_id, attempt)
);

CREATE TABLE urges (
    id         bigserial PRIMARY KEY,
    case_no    text        NOT NULL,
    node_id    text,
    by_person  text        NOT NULL,
    note       text,
    urged_at   timestamptz NOT NULL
);
CREATE INDEX urges_by_case ON urges (case_no, urged_at);
