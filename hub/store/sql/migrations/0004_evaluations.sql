-- Applicants' evaluations (好差评): one per case, by SMS reply or on the WAP page.

CREATE TABLE evaluations (
    case_no    text PRIMARY KEY REFERENCES cases (case_no) ON DELETE CASCADE,
    rating     smallint    NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment    text,
    source     text        NOT NULL,   -- sms | wap
    rated_at   timestamptz NOT NULL
);
