-- A case's projection state as of its latest event (core.cases.CaseFold.snapshot), so an
-- event that happened after all others continues it instead of replaying every event.
-- Derived data: deleting a row only makes the next event of that case replay (issue 18).
CREATE TABLE case_folds (
    case_no  text  PRIMARY KEY REFERENCES cases (case_no) ON DELETE CASCADE,
    fold     jsonb NOT NULL
);
