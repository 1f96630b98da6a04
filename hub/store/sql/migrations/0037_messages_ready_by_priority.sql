-- The dispatcher claims due rows best first (priority, then due time): this index lets it
-- read them in that order, $limit at a time, instead of sorting the whole backlog on every
-- claim (issue 18). Partial like messages_ready: a claimed or finished row leaves it, so
-- sends do not pay for it; only queueing and a retry's backoff add an entry.
CREATE INDEX messages_ready_by_priority ON messages (priority, not_before, id)
    WHERE status IN ('queued', 'failed');
