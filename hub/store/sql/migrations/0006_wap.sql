-- The WAP pages' safety state, in the database so every hub process shares it:
-- rate limits and lockouts, SMS verification codes, login sessions, complaints.

-- One row per (scope, key); the key is an HMAC of the client address, case
-- number or mobile, never the value itself. ``count`` is the attempts in the
-- window that began at ``window_start``; a lockout sets ``locked_until``.
CREATE TABLE wap_limits (
    scope         text        NOT NULL,   -- lookup_case | lookup_client | code_client
    key           text        NOT NULL,
    window_start  timestamptz NOT NULL,
    count         integer     NOT NULL,
    locked_until  timestamptz,
    PRIMARY KEY (scope, key)
);
CREATE INDEX wap_limits_by_window ON wap_limits (window_start);

-- SMS verification codes for the lookup by mobile number. Only MACs of the
-- code and of the login handle (kept in the page's form) are stored.
CREATE TABLE wap_codes (
    id          bigserial   PRIMARY KEY,
    login_mac   text        NOT NULL UNIQUE,
    mobile      text        NOT NULL,
    code_mac    text        NOT NULL,
    sent_at     timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    failures    smallint    NOT NULL DEFAULT 0,
    used_at     timestamptz
);
CREATE INDEX wap_codes_by_mobile ON wap_codes (mobile, sent_at);
CREATE INDEX wap_codes_by_sent_at ON wap_codes (sent_at);

-- A verified mobile number's short session (the cookie holds the id; we keep its MAC).
CREATE TABLE wap_sessions (
    sid_mac     text        PRIMARY KEY,
    mobile      text        NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX wap_sessions_by_expiry ON wap_sessions (expires_at);

-- Applicants' complaints about a closed case; each reaches the supervisors as a notice.
CREATE TABLE wap_complaints (
    id          bigserial   PRIMARY KEY,
    case_no     text        NOT NULL REFERENCES cases (case_no) ON DELETE CASCADE,
    content     text        NOT NULL,
    created_at  timestamptz NOT NULL
);
CREATE INDEX wap_complaints_by_case ON wap_complaints (case_no, created_at);

-- The lookup by mobile number lists that applicant's cases.
CREATE INDEX cases_by_applicant_mobile ON cases ((applicant ->> 'mobile'));
