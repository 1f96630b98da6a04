-- An appointment offer holds the applicant's number sealed (SM4-GCM, hub/privacy/);
-- the reply that books a slot finds the offer by the number's blind index.
-- Offers from before this migration (clear, mobile_index NULL) are still found by
-- their clear number until they expire.
ALTER TABLE appointment_offers ADD COLUMN mobile_index bytea;
CREATE INDEX appointment_offers_open_by_index ON appointment_offers (mobile_index, offered_at DESC)
    WHERE used_at IS NULL;
