-- 好差评 closed loop: each poor rating (1 or 2) opens a rectification for the
-- department that handled the case; it is verified (回访核实) and closed with an
-- answer to the applicant (整改答复) by its due instants. Its reminders are rows
-- of ``timers`` with kinds rectification_*, the rectification's id in the
-- deadline_version slot (its deadlines never move; see docs/decisions).

CREATE TABLE rectifications (
    id                bigserial PRIMARY KEY,
    case_no           text        NOT NULL REFERENCES cases (case_no) ON DELETE CASCADE,
    department_code   text,
    department_name   text,
    rating            smallint    NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment           text,
    source            text        NOT NULL,                 -- sms | wap
    status            text        NOT NULL DEFAULT 'open'
                      CHECK (status IN ('open', 'verified', 'closed')),
    head              text,                                 -- who was told: head, deputy, or none
    opened_at         timestamptz NOT NULL,
    verify_due_date   date,                                 -- NULL: the calendar lacks the year
    verify_due_at     timestamptz,
    verify_warn_at    timestamptz,
    rectify_due_date  date,
    rectify_due_at    timestamptz,
    rectify_warn_at   timestamptz,
    verified_at       timestamptz,
    verified_by       text,
    finding           text,
    closed_at         timestamptz,
    closed_by         text,
    outcome           text CHECK (outcome IN ('rectified', 'explained', 'unfounded')),
    reply             text
);
-- One open rectification per case: a later rating never opens a second one.
CREATE UNIQUE INDEX rectifications_open_per_case ON rectifications (case_no)
    WHERE status <> 'closed';
CREATE INDEX rectifications_by_department ON rectifications (department_code, id);
CREATE INDEX rectifications_by_head ON rectifications (head) WHERE status <> 'closed';
CREATE INDEX rectifications_by_opened ON rectifications (opened_at);
