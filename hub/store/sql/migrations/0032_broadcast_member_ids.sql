-- The people an announcement's audience names by department: the heads of `heads_of`
-- (every department with '*'), and the head, deputy, supervisors and the reviewers who
-- worked on a node since `since` of each department in `members_of`. One definition for
-- the audience query (broadcast_audience) and the query that hands the caller the members
-- whose contacts are sealed (broadcast_sealed_people): two copies could drift apart and
-- leave sealed members out of an announcement.
CREATE FUNCTION broadcast_member_ids(members_of text[], heads_of text[], since timestamptz)
RETURNS TABLE (person_id text) LANGUAGE sql STABLE AS $$
    SELECT d.head FROM departments AS d
     WHERE d.code = ANY(members_of) OR d.code = ANY(heads_of) OR '*' = ANY(heads_of)
    UNION
    SELECT d.deputy FROM departments AS d WHERE d.code = ANY(members_of)
    UNION
    SELECT unnest(d.supervisors) FROM departments AS d WHERE d.code = ANY(members_of)
    UNION
    SELECT n.assignee_id FROM nodes AS n
     WHERE n.department_code = ANY(members_of) AND n.started_at >= since
$$;
