-- Cuiban's first schema: events as received, the case/node projection with
-- deadlines, and the people and departments notices go to.

CREATE TABLE events (
    seq          bigserial PRIMARY KEY,
    event_id     text        NOT NULL UNIQUE,
    case_no      text        NOT NULL,
    type         text        NOT NULL,
    occurred_at  timestamptz NOT NULL,
    received_at  timestamptz NOT NULL,
    body_hash    bytea       NOT NULL,
    payload      jsonb       NOT NULL
);
CREATE INDEX events_by_case ON events (case_no, occurred_at, seq);

CREATE TABLE cases (
    case_no             text PRIMARY KEY,
    status              text        NOT NULL,
    matter_code         text,
    matter_name         text,
    department_code     text,
    department_name     text,
    applicant           jsonb,
    query_code          text,
    project_id          text,
    project             jsonb,
    green_channel       boolean     NOT NULL DEFAULT false,
    co_departments      text[]      NOT NULL DEFAULT '{}',
    limit_value         integer,
    limit_unit          text,
    applied_at          timestamptz,
    accepted_at         timestamptz,
    decided_at          timestamptz,
    decision            text,
    ready_at            timestamptz,
    pickup              jsonb,
    picked_up_at        timestamptz,
    closed_at           timestamptz,
    withdrawn_at        timestamptz,
    completed_at        timestamptz,
    suspended_since     timestamptz,
    suspensions         jsonb       NOT NULL DEFAULT '[]',
    extensions          jsonb       NOT NULL DEFAULT '[]',
    due_date            date,
    due_at              timestamptz,
    warn_at             timestamptz,
    deadline            jsonb,
    deadline_unknown    boolean     NOT NULL DEFAULT false,
    deadline_version    integer     NOT NULL DEFAULT 0,
    exceeds_statutory   boolean     NOT NULL DEFAULT false,
    stages              jsonb       NOT NULL DEFAULT '[]',
    rating              smallint CHECK (rating BETWEEN 1 AND 5),
    urges               integer     NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL
);
CREATE INDEX cases_by_department ON cases (department_code, case_no);
CREATE INDEX cases_open_due ON cases (due_at) WHERE completed_at IS NULL;
CREATE INDEX cases_by_project ON cases (project_id) WHERE project_id IS NOT NULL;

CREATE TABLE nodes (
    case_no           text        NOT NULL REFERENCES cases (case_no) ON DELETE CASCADE,
    node_id           text        NOT NULL,
    name              text        NOT NULL,
    department_code   text        NOT NULL,
    department_name   text,
    assignee_id       text        NOT NULL,
    assignee_name     text,
    limit_value       integer,
    limit_unit        text,
    started_at        timestamptz NOT NULL,
    completed_at      timestamptz,
    outcome           text,
    comment           text,
    due_date          date,
    due_at            timestamptz,
    warn_at           timestamptz,
    deadline_unknown  boolean     NOT NULL DEFAULT false,
    deadline_version  integer     NOT NULL DEFAULT 0,
    urges             integer     NOT NULL DEFAULT 0,
    PRIMARY KEY (case_no, node_id)
);
CREATE INDEX nodes_open_due ON nodes (due_at) WHERE completed_at IS NULL;
CREATE INDEX nodes_open_by_assignee ON nodes (assignee_id) WHERE completed_at IS NULL;

CREATE TABLE people (
    person_id      text PRIMARY KEY,
    name           text,
    mobile         text,
    email          text,
    wecom_userid   text,
    wechat_openid  text,
    channels       text[]      NOT NULL DEFAULT '{}',
    quiet_hours    text,
    away_from      timestamptz,
    away_to        timestamptz,
    away_deputy    text,
    updated_at     timestamptz NOT NULL
);

CREATE TABLE departments (
    code         text PRIMARY KEY,
    name         text        NOT NULL,
    head         text,
    deputy       text,
    supervisors  text[]      NOT NULL DEFAULT '{}',
    updated_at   timestamptz NOT NULL
);
