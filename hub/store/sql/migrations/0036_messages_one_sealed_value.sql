-- A message's personal parts are one sealed value (hub/notices/sealing.py, decision 0016):
-- recipient, body, html, fallbacks and the personal template variables together in
-- ``sealed``, a JSON object sealed with SM4-GCM as the field messages.sealed — one seal
-- per row where migration 0029 made four. ``recipient_index`` stays what lookups compare.
-- New rows leave recipient, body, html and personal NULL and fallbacks '[]'. Rows written
-- before keep their sealed columns (or their clear values, from before 0029) and stay
-- readable: no SQL can seal, and readers take both forms; `cuiban keys rotate` re-seals
-- them where they are.
ALTER TABLE messages ADD COLUMN sealed text;
ALTER TABLE messages ALTER COLUMN recipient DROP NOT NULL;
ALTER TABLE messages ALTER COLUMN body DROP NOT NULL;
