-- Stored folds now hold the applicant sealed (SM4-GCM, hub/privacy/records.py) and
-- assignees without contacts. The folds stored before held both in clear; they are
-- derived data (0019), so they go: each case's next event replays it and stores a
-- sealed fold.
DELETE FROM case_folds;
