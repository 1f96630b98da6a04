-- A subscriber's address is stored sealed (SM4-GCM, issue 19) next to ``address_index``,
-- the HMAC-SM3 blind index of the address as Cuiban compares it (a mobile's digits, an
-- e-mail trimmed and lower-cased: hub/privacy/fields.py address_key). The index keeps an
-- address once per list and finds a person's subscriptions for export and erasure; a
-- broadcast opens the addresses (hub/broadcasts/service.py sealed_candidates). The
-- surrogate id lets key rotation page by a key that resealing does not move. Rows stored
-- before this migration keep their clear address (address_index NULL) and stay readable.
ALTER TABLE subscribers ADD COLUMN address_index bytea;
ALTER TABLE subscribers ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY;
CREATE UNIQUE INDEX subscribers_by_id ON subscribers (id);
CREATE UNIQUE INDEX subscribers_by_address_index ON subscribers (list_name, channel, address_index)
    WHERE address_index IS NOT NULL;
CREATE INDEX subscribers_by_index ON subscribers (address_index) WHERE address_index IS NOT NULL;
