-- Retention (hub/privacy/retention.py): a case closed or withdrawn more than
-- privacy.retain_days ago has its personal fields de-identified once; the instant
-- it was done is kept, and the daily job finds the cases due by this index.
ALTER TABLE cases ADD COLUMN deidentified_at timestamptz;
CREATE INDEX cases_retention_due ON cases ((coalesce(closed_at, withdrawn_at)), case_no)
    WHERE deidentified_at IS NULL AND status IN ('closed', 'withdrawn');
