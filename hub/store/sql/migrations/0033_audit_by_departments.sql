-- A read of the message log (hub/privacy/access.py, ``messages.read``) names the
-- departments of the cases it showed in ``detail.departments``; a department's access
-- log finds those reads by this index, as it finds case reads by audit_by_department.
CREATE INDEX audit_by_departments ON audit_log USING gin ((detail->'departments'));
