-- The /supervise/ pages' sessions (hub/pages/supervise/routes.py).

-- name: supervise_session_insert
INSERT INTO supervise_sessions (sid_mac, key_fingerprint, created_at, expires_at)
VALUES ($1, $2, $3, $4);

-- name: supervise_session_get
SELECT key_fingerprint FROM supervise_sessions WHERE sid_mac = $1 AND expires_at > $2;

-- name: supervise_session_delete
DELETE FROM supervise_sessions WHERE sid_mac = $1;

-- name: supervise_session_purge
DELETE FROM supervise_sessions WHERE expires_at <= $1;
