-- The access log (hub/privacy/access.py): case reads are audit rows naming the case's
-- department, so a supervisor reads a department's log without scanning the trail.
CREATE INDEX audit_by_department ON audit_log ((detail->>'department'), id);
