-- Outbox writes made inside the transaction of the change that causes them.
-- jsonb columns travel as JSON text: asyncpg would read a dict in an array as a sub-array.

-- name: insert_messages
-- recipient, body, html, fallbacks and personal arrive sealed (hub/notices/sealing.py);
-- $21 the recipient's blind index, $23 the content hash of the clear subject and body.
INSERT INTO messages (
    dedupe_key, kind, channel, person_id, recipient, case_no, node_id, context, subject,
    body, html, link, params, mandatory, fallbacks, note, priority, not_before,
    max_attempts, created_at, updated_at, recipient_index, personal, content_hash)
SELECT d, k, ch, p, r, c, n, ctx::jsonb, s, b, h, l, pa::jsonb, m, f::jsonb, nt, pr, nb, ma, now_, now_,
       ri, pe, hsh
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
              $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
              $13::text[], $14::boolean[], $15::text[], $16::text[], $17::smallint[],
              $18::timestamptz[], $19::integer[], $20::timestamptz[], $21::bytea[],
              $22::text[], $23::bytea[])
       AS t(d, k, ch, p, r, c, n, ctx, s, b, h, l, pa, m, f, nt, pr, nb, ma, now_, ri, pe, hsh)
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING id;
