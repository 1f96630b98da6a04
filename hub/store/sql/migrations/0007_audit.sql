-- The audit trail: who changed people and departments, who urged — append-only —
-- and a content hash on every notice, fixed when it is written.

CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL,
    actor_role  text        NOT NULL,
    actor       text        NOT NULL,
    action      text        NOT NULL,   -- person.put, department.put, case.urge
    subject     text        NOT NULL,
    detail      jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_by_subject ON audit_log (subject, id);
CREATE INDEX audit_by_at ON audit_log (at, id);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();

ALTER TABLE messages ADD COLUMN content_hash bytea;
