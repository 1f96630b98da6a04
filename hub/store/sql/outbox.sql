-- Outbox writes made inside the transaction of the change that causes them.
-- jsonb columns travel as JSON text: asyncpg would read a dict in an array as a sub-array.

-- name: insert_messages
-- $5 the message's personal parts sealed as one value (hub/notices/sealing.py), $17 the
-- recipient's blind index, $18 the content hash of the clear subject and body, $19 now;
-- recipient, body, html and personal stay NULL, fallbacks '[]' (they are inside $5).
INSERT INTO messages (
    dedupe_key, kind, channel, person_id, sealed, case_no, node_id, context, subject, link,
    params, mandatory, note, priority, not_before, max_attempts, recipient_index,
    content_hash, created_at, updated_at)
SELECT d, k, ch, p, se, c, n, ctx::jsonb, s, l, pa::jsonb, m, nt, pr, nb, ma, ri, hsh, $19, $19
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
              $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::boolean[],
              $13::text[], $14::smallint[], $15::timestamptz[], $16::integer[], $17::bytea[],
              $18::bytea[])
       AS t(d, k, ch, p, se, c, n, ctx, s, l, pa, m, nt, pr, nb, ma, ri, hsh)
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING id;
