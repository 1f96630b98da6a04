-- Texts people send are personal data: their number and text are stored sealed
-- (SM4-GCM, hub/privacy/). Lookups by number use the blind index instead.
-- Rows stored before this migration keep their clear values (mobile_index NULL)
-- and stay readable; a filter by number still finds them by their clear mobile.
ALTER TABLE inbound_sms ADD COLUMN mobile_index bytea;
CREATE INDEX inbound_sms_by_mobile_index ON inbound_sms (mobile_index, id)
    WHERE mobile_index IS NOT NULL;
