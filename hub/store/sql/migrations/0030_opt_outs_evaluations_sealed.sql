-- An opt-out's number and an evaluation's comment are stored sealed (SM4-GCM, issue 19).
-- Opt-outs are found by ``mobile_index`` only; the number, sealed, is what an export or a
-- broadcast opens. A surrogate id lets key rotation page through the rows by a key that
-- rewriting the sealed number does not move. Opt-outs stored in clear before this are
-- sealed when a process with the key starts (hub/replies/opt_outs.py index_stored);
-- comments stored in clear stay readable until rotation or retention rewrites them.
ALTER TABLE opt_outs ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY;
CREATE UNIQUE INDEX opt_outs_by_id ON opt_outs (id);
COMMENT ON COLUMN opt_outs.mobile IS 'sealed: opt_outs.mobile (hub/privacy/fields.py)';
COMMENT ON COLUMN evaluations.comment IS 'sealed: evaluations.comment (hub/privacy/fields.py)';
