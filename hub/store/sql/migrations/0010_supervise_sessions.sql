-- /supervise/ sign-ins, kept server-side (issue 13): logging out deletes the row, so a
-- copied cookie dies with it; and each row names the API key that opened it by a keyed
-- fingerprint, checked against the configured keys on every request, so removing a key
-- from the config ends its sessions. The cookie holds a random id; we keep only its MAC.
CREATE TABLE supervise_sessions (
    sid_mac          text        PRIMARY KEY,
    key_fingerprint  text        NOT NULL,
    created_at       timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL
);
CREATE INDEX supervise_sessions_by_expiry ON supervise_sessions (expires_at);
