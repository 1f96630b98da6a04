-- Announcements to many people (issue 10). The audience is expanded here, in the database,
-- a keyset page at a time: Python never holds the list of recipients.

-- name: broadcast_audience
-- One page of a broadcast's audience: (channel, recipient) pairs, each once, in key order
-- after the cursor ($10, $11); $12 rows at most (NULL: all). Who is in it:
--   $1  departments whose people hear it: the head, the deputy, the supervisors, and
--       everyone assigned a node of the department since $9 (nodes tell who works where);
--   $2  departments whose heads hear it ('*': every department);
--   $3  applicants of open cases (not completed), if true, narrowed to matters $4 and
--       departments $5 when those are not empty;
--   $6  subscriber lists;
--   $13, $14 the (channel, address) of applicants, people and subscribers whose contacts
--       are sealed: opened and chosen as below by the caller (hub/broadcasts/service.py);
--       the SQL reads only the ones stored in clear before sealing;
--   $15 the numbers that opted out (SMS TD), opened by the caller: opt-outs are stored
--       sealed, only those stored in clear before sealing are compared here.
-- People are reached on their first channel (their own order, else WeCom, SMS, e-mail,
-- WeChat) among $7, the push channels this broadcast uses; with $8 each also gets an entry
-- in their WAP inbox (channel 'wap', recipient = person id). Applicants: SMS, else e-mail.
-- Mobiles lose a +86/0086 prefix and e-mail addresses their case, so each address is
-- counted, and texted, once whichever way it entered the audience.
WITH member_ids AS (
    SELECT person_id FROM broadcast_member_ids($1::text[], $2::text[], $9)
),
candidates AS (
    SELECT 'wap' AS channel, m.person_id AS recipient
      FROM member_ids AS m
     WHERE $8 AND m.person_id IS NOT NULL
    UNION ALL
    SELECT pick.channel, pick.recipient
      FROM people AS p
      JOIN member_ids AS m ON m.person_id = p.person_id
           AND NOT coalesce(p.mobile LIKE 'sm4:%' OR p.email LIKE 'sm4:%'
                            OR p.wecom_userid LIKE 'sm4:%' OR p.wechat_openid LIKE 'sm4:%', false)
     CROSS JOIN LATERAL (
           SELECT o.channel,
                  CASE o.channel WHEN 'sms' THEN p.mobile WHEN 'email' THEN p.email
                                 WHEN 'wecom' THEN p.wecom_userid
                                 WHEN 'wechat_mp' THEN p.wechat_openid END AS recipient
             FROM unnest(CASE WHEN cardinality(p.channels) > 0 THEN p.channels
                              ELSE ARRAY['wecom', 'sms', 'email', 'wechat_mp'] END)
                  WITH ORDINALITY AS o (channel, pos)
            WHERE o.channel = ANY($7::text[])
              AND coalesce(CASE o.channel WHEN 'sms' THEN p.mobile WHEN 'email' THEN p.email
                                          WHEN 'wecom' THEN p.wecom_userid
                                          WHEN 'wechat_mp' THEN p.wechat_openid END, '') <> ''
            ORDER BY o.pos
            LIMIT 1) AS pick
    UNION ALL
    SELECT pick.channel, pick.recipient
      FROM cases AS c
     CROSS JOIN LATERAL (
           SELECT v.channel, v.address AS recipient
             FROM (VALUES (1, 'sms', c.applicant ->> 'mobile'),
                          (2, 'email', c.applicant ->> 'email')) AS v (pos, channel, address)
            WHERE v.channel = ANY($7::text[]) AND coalesce(v.address, '') <> ''
            ORDER BY v.pos
            LIMIT 1) AS pick
     WHERE $3 AND c.completed_at IS NULL AND jsonb_typeof(c.applicant) = 'object'
       AND (cardinality($4::text[]) = 0 OR c.matter_code = ANY($4::text[]))
       AND (cardinality($5::text[]) = 0 OR c.department_code = ANY($5::text[]))
    UNION ALL
    SELECT a.channel, a.address FROM unnest($13::text[], $14::text[]) AS a (channel, address)
    UNION ALL
    SELECT s.channel, s.address
      FROM subscribers AS s
     WHERE s.list_name = ANY($6::text[]) AND s.channel = ANY($7::text[])
       AND s.address_index IS NULL
),
normalized AS (
    SELECT channel,
           CASE channel
               WHEN 'sms' THEN regexp_replace(regexp_replace(recipient, '[\s-]', '', 'g'),
                                              '^(\+86|0086)', '')
               WHEN 'email' THEN lower(btrim(recipient))
               ELSE recipient
           END AS recipient
      FROM candidates
)
SELECT DISTINCT channel, recipient,
       (channel = 'sms' AND (recipient = ANY($15::text[])
                             OR EXISTS (SELECT 1 FROM opt_outs AS o WHERE o.mobile = recipient)))
           AS opted_out
  FROM normalized
 WHERE recipient <> '' AND (channel, recipient) > ($10::text, $11::text)
 ORDER BY channel, recipient
 LIMIT $12::bigint

-- name: broadcast_slot_page
-- Appended to ``WITH page AS (<broadcast_audience>)``: each address of the page with its
-- send time, in key order (the last one is the next cursor). Each channel's rows take
-- consecutive slots after $16 (channel -> slots used) and leave at base ($23: channel ->
-- instant) + slot / rate ($19), skipping the quiet window ($20, $21 in zone $22); numbers
-- that opted out (SMS TD) take no slot, and the opt-out trigger stores them as cancelled.
-- WAP inbox entries appear at the send time ($25). The caller seals each address and
-- writes the rows (broadcast_insert_messages): addresses are stored sealed (issue 19).
-- $17, $18, $24, $26, $27, $28 are not read here (kept so the parameters stay numbered).
, slotted AS (
    SELECT p.channel, p.recipient, p.opted_out,
           coalesce(($16::jsonb ->> p.channel)::bigint, 0)
             + sum(CASE WHEN p.opted_out THEN 0 ELSE 1 END)
                 OVER (PARTITION BY p.channel ORDER BY p.recipient) AS slot
      FROM page AS p
)
SELECT s.channel, s.recipient, s.slot, s.opted_out,
       CASE WHEN s.channel = 'wap' THEN $25::timestamptz
            ELSE cuiban_awake_after(($23::jsonb ->> s.channel)::timestamptz,
                                    greatest(s.slot - 1, 0) / $19::double precision,
                                    $20::time, $21::time, $22::text)
       END AS not_before,
       $17::bigint AS broadcast_id, $18::jsonb AS context, $24::smallint AS priority,
       $26::integer AS max_attempts, $27::timestamptz AS now, $28::jsonb AS renders
  FROM slotted AS s
 ORDER BY s.channel, s.recipient;

-- name: broadcast_insert_messages
-- One page of a broadcast's outbox rows, sealed by the caller: $1 dedupe keys, $2 channels,
-- $3 person ids, $4 the personal parts (address, text, html, variables) sealed as one
-- value, $5 the addresses' blind indexes, $6 contexts, $7 subjects, $8 links, $9 params,
-- $10 send times, $11 content hashes, $16 whether the number opted out (the audience's
-- flag: stored as cancelled, like the opt-out trigger does, whichever way the opt-out was
-- stored); $12 the broadcast, $13 priority, $14 max attempts, $15 now.
INSERT INTO messages (
    dedupe_key, kind, channel, person_id, sealed, recipient_index, context, subject,
    link, params, mandatory, fallbacks, priority, not_before, max_attempts,
    created_at, updated_at, content_hash, broadcast_id, status, error, error_code)
SELECT d, 'announcement', ch, p, se, ri, ctx::jsonb, su, l, pa::jsonb, false,
       '[]'::jsonb, $13::smallint, nb, $14::integer, $15::timestamptz, $15::timestamptz, hsh,
       $12::bigint,
       CASE WHEN oo THEN 'cancelled' ELSE 'queued' END,
       CASE WHEN oo THEN 'not sent: the number opted out of optional notices (SMS reply TD)' END,
       CASE WHEN oo THEN 'opted_out' END
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::text[],
              $7::text[], $8::text[], $9::text[], $10::timestamptz[], $11::bytea[],
              $16::boolean[])
       AS t(d, ch, p, se, ri, ctx, su, l, pa, nb, hsh, oo)
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING 1;

-- name: broadcast_audience_counts
-- Appended to ``WITH page AS (<broadcast_audience>)``: the dry run's counts per channel.
SELECT channel, count(*) AS recipients, count(*) FILTER (WHERE opted_out) AS opted_out
  FROM page
 GROUP BY channel
 ORDER BY channel;

-- name: broadcast_channel_tails
-- Where each channel's queue of earlier broadcasts ends: a new broadcast starts after it,
-- so the configured rate holds however many broadcasts overlap.
SELECT channel, max(not_before) AS tail
  FROM messages
 WHERE broadcast_id IS NOT NULL AND status IN ('queued', 'failed') AND channel = ANY($1::text[])
 GROUP BY channel;

-- name: broadcast_insert
INSERT INTO broadcasts (request_key, title, request, channels, renders, context, send_at, bases,
                        rate_per_second, priority, created_by, created_at)
VALUES ($1, $2, $3::jsonb, $4::text[], $5::jsonb, $6::jsonb, $7, $8::jsonb, $9, $10, $11, $12)
ON CONFLICT (request_key) DO NOTHING
RETURNING id;

-- name: broadcast_by_key
SELECT id FROM broadcasts WHERE request_key = $1;

-- name: broadcast_lock
SELECT * FROM broadcasts WHERE id = $1 FOR UPDATE;

-- name: broadcast_get
SELECT * FROM broadcasts WHERE id = $1;

-- name: broadcast_advance
UPDATE broadcasts
   SET cursor_channel = $2, cursor_recipient = $3, positions = $4::jsonb,
       recipients = recipients + $5,
       status = CASE WHEN $6 THEN 'queued' ELSE status END,
       expanded_at = CASE WHEN $6 THEN $7 ELSE expanded_at END
 WHERE id = $1;

-- name: broadcast_progress
-- Counts by status; SMS that opted-out numbers were never sent are 'skipped', not cancelled.
SELECT CASE WHEN status = 'cancelled' AND error_code = 'opted_out' THEN 'skipped'
            ELSE status END AS state,
       count(*) AS n,
       count(*) FILTER (WHERE channel <> 'wap') AS pushed,
       min(sent_at) AS first_sent,
       max(sent_at) AS last_sent,
       max(not_before) AS last_slot
  FROM messages
 WHERE broadcast_id = $1
 GROUP BY 1;

-- name: broadcast_progress_by_channel
SELECT channel, count(*) AS n FROM messages WHERE broadcast_id = $1 GROUP BY channel;

-- name: broadcast_cancel
UPDATE broadcasts SET status = 'cancelled', cancelled_at = $2 WHERE id = $1;

-- name: broadcast_cancel_messages
-- One statement: every row of the broadcast not yet claimed. Rows being sent finish (a
-- failed one is cancelled by the trigger messages_broadcast_cancelled, not retried).
UPDATE messages
   SET status = 'cancelled', error = 'broadcast cancelled', error_code = 'broadcast_cancelled',
       updated_at = $2
 WHERE broadcast_id = $1 AND status IN ('queued', 'failed');

-- name: list_upsert
INSERT INTO subscriber_lists (name, description, updated_at) VALUES ($1, $2, $3)
ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description,
                                 updated_at = EXCLUDED.updated_at;

-- name: list_clear
DELETE FROM subscribers WHERE list_name = $1;

-- name: list_fill
-- $2 channels, $3 the addresses sealed, $5 their blind indexes (an address once per list).
INSERT INTO subscribers (list_name, channel, address, address_index, added_at)
SELECT $1, a.channel, a.address, a.address_index, $4
  FROM unnest($2::text[], $3::text[], $5::bytea[]) AS a (channel, address, address_index)
ON CONFLICT DO NOTHING;

-- name: list_counts
SELECT l.name, l.description, l.updated_at,
       count(s.address) FILTER (WHERE s.channel = 'sms') AS mobiles,
       count(s.address) FILTER (WHERE s.channel = 'email') AS emails
  FROM subscriber_lists AS l
  LEFT JOIN subscribers AS s ON s.list_name = l.name
 WHERE l.name = $1
 GROUP BY l.name;

-- name: broadcast_sealed_subscribers
-- The sealed addresses of lists $1 on channels $2 (broadcast_audience's $6, $7): the caller
-- opens them.
SELECT channel, address
  FROM subscribers
 WHERE list_name = ANY($1::text[]) AND channel = ANY($2::text[]) AND address_index IS NOT NULL;

-- name: broadcast_sealed_applicants
-- The sealed applicants of open cases, narrowed to matters $1 and departments $2 when those
-- are not empty (broadcast_audience's $3–$5): the caller opens them.
SELECT applicant
  FROM cases
 WHERE completed_at IS NULL AND jsonb_typeof(applicant) = 'string'
   AND (cardinality($1::text[]) = 0 OR matter_code = ANY($1::text[]))
   AND (cardinality($2::text[]) = 0 OR department_code = ANY($2::text[]));

-- name: broadcast_sealed_people
-- The members of an audience (broadcast_audience's $1, $2, $9 here $1, $2, $3) whose
-- contacts are sealed, with their channel order: the caller opens them.
WITH member_ids AS (
    SELECT person_id FROM broadcast_member_ids($1::text[], $2::text[], $3)
)
SELECT p.person_id, p.channels, p.mobile, p.email, p.wecom_userid, p.wechat_openid
  FROM people AS p
  JOIN member_ids AS m ON m.person_id = p.person_id
 WHERE coalesce(p.mobile LIKE 'sm4:%' OR p.email LIKE 'sm4:%'
                OR p.wecom_userid LIKE 'sm4:%' OR p.wechat_openid LIKE 'sm4:%', false);
