-- A case's applicant (name, mobile, e-mail, openid) is stored sealed as one value: a JSON
-- string holding SM4-GCM text (hub/privacy/records.py). Everything that finds cases by the
-- applicant's number (WAP sign-in, CX and YY replies) compares the number's blind index.
-- Cases stored before this migration keep the applicant object in clear
-- (applicant_mobile_index NULL) and are still found by it until they are projected again.
ALTER TABLE cases ADD COLUMN applicant_mobile_index bytea;
CREATE INDEX cases_by_applicant_mobile_index ON cases (applicant_mobile_index)
    WHERE applicant_mobile_index IS NOT NULL;
DROP INDEX cases_by_applicant_mobile;
CREATE INDEX cases_by_clear_applicant_mobile ON cases ((applicant ->> 'mobile'))
    WHERE applicant_mobile_index IS NULL;
