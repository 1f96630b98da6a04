-- Sign-in codes and sessions hold the applicant's number sealed (SM4-GCM,
-- hub/privacy/); the per-number limits count codes by the number's blind index.
-- Codes live a day and sessions less: rows from before this migration (clear,
-- mobile_index NULL) stay readable and age out on their own.
ALTER TABLE wap_codes ADD COLUMN mobile_index bytea;
DROP INDEX wap_codes_by_mobile;
CREATE INDEX wap_codes_by_mobile_index ON wap_codes (mobile_index, sent_at);
