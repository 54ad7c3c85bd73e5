-- One million call legs over the last 90 days, written by PostgreSQL itself (no ORM round
-- trips). Parameters (psycopg named placeholders): parents, extra_parents, agent_ids (bigint[]),
-- account_sid, days. Deterministic: the same parameters give the same rows.
--
-- Families, by parent id modulo 10:
--   0     outbound-api call with no child leg (a notification, say);
--   1..3  an agent's softphone calls a customer: parent From client:<agent>, one child;
--   4..9  a customer calls our line: 1 to 3 agents ring at once; one answers or none does.
-- Customers come from a pool of 50,000 numbers, so each number has a handful of calls.

SELECT setseed(0.42);

CREATE TEMP TABLE family ON COMMIT DROP AS
SELECT
    i AS id,
    CASE WHEN i > %(parents)s THEN 0 ELSE i %% 10 END AS kind,
    CASE WHEN i > %(parents)s OR i %% 10 IN (1, 2, 3) THEN 1 ELSE 1 + (i / 10) %% 3 END AS legs,
    now() - make_interval(days => %(days)s)
        + make_interval(secs => (i::float8 / (%(parents)s + %(extra_parents)s)) * %(days)s * 86400
                                 + floor(random() * 10)) AS start_time,
    '+1415' || lpad((floor(random() * 50000))::int::text, 7, '0') AS customer,
    '+1415555' || lpad((100 + i %% 3)::text, 4, '0') AS our_number,
    (%(agent_ids)s::bigint[])[1 + floor(random() * cardinality(%(agent_ids)s::bigint[]))::int]
        AS agent_id,
    random() < 0.85 AS answered,
    3 + floor(random() * 18)::int AS ring_seconds,
    20 + floor(random() * 600)::int AS talk_seconds
FROM generate_series(1, %(parents)s + %(extra_parents)s) AS i;

-- Parents carry the family's kind and outcome facts, as the writer keeps them; who answered
-- is filled in from the child legs below.
INSERT INTO calls_call (
    id, sid, parent_id, account_sid, direction, from_number, to_number, status,
    sequence_number, status_changed_at, start_time, answer_time, end_time, duration,
    price, price_unit, agent_id, error_code, error_url, created_at, updated_at,
    kind, dial_result, child_answer_time
)
SELECT
    f.id,
    'CA' || md5('parent-' || f.id),
    NULL,
    %(account_sid)s,
    CASE WHEN f.kind = 0 THEN 'outbound-api' ELSE 'inbound' END,
    CASE WHEN f.kind = 0 THEN f.our_number
         WHEN f.kind <= 3 THEN 'client:' || agents_agent.identity
         ELSE f.customer END,
    CASE WHEN f.kind <= 3 THEN f.customer ELSE f.our_number END,
    CASE WHEN f.answered OR f.kind >= 4 THEN 'completed' ELSE 'no-answer' END,
    3,
    f.start_time + make_interval(secs => f.ring_seconds + f.talk_seconds),
    f.start_time,
    CASE WHEN f.answered OR f.kind >= 4 THEN f.start_time + make_interval(secs => 1) END,
    f.start_time + make_interval(secs => f.ring_seconds
                                         + CASE WHEN f.answered THEN f.talk_seconds ELSE 0 END),
    f.ring_seconds + CASE WHEN f.answered THEN f.talk_seconds ELSE 0 END,
    -0.0085 * (1 + (f.ring_seconds + f.talk_seconds) / 60),
    'USD',
    CASE WHEN f.kind BETWEEN 1 AND 3 THEN f.agent_id END,
    NULL,
    '',
    f.start_time,
    f.start_time,
    CASE WHEN f.kind = 0 THEN 'other' WHEN f.kind <= 3 THEN 'outbound' ELSE 'inbound' END,
    CASE WHEN f.kind = 0 THEN 0 WHEN f.answered THEN 3 ELSE 2 END,
    CASE WHEN f.kind <> 0 AND f.answered THEN f.start_time + make_interval(secs => f.ring_seconds) END
FROM family f
JOIN agents_agent ON agents_agent.id = f.agent_id;

-- Child legs: From the caller (or our number for an agent's outgoing call), To the callee.
INSERT INTO calls_call (
    id, sid, parent_id, account_sid, direction, from_number, to_number, status,
    sequence_number, status_changed_at, start_time, answer_time, end_time, duration,
    price, price_unit, agent_id, error_code, error_url, created_at, updated_at
)
SELECT
    (%(parents)s + %(extra_parents)s) * 3 + f.id * 3 + leg,
    'CA' || md5('child-' || f.id || '-' || leg),
    f.id,
    %(account_sid)s,
    'outbound-dial',
    CASE WHEN f.kind <= 3 THEN f.our_number ELSE f.customer END,
    CASE WHEN f.kind <= 3 THEN f.customer ELSE 'client:' || agent.identity END,
    child.status,
    3,
    f.start_time + make_interval(secs => f.ring_seconds + f.talk_seconds),
    f.start_time + make_interval(secs => 1),
    CASE WHEN child.status = 'completed' THEN f.start_time + make_interval(secs => f.ring_seconds) END,
    f.start_time + make_interval(secs => f.ring_seconds
                                         + CASE WHEN child.status = 'completed' THEN f.talk_seconds ELSE 0 END),
    CASE WHEN child.status = 'completed' THEN f.talk_seconds ELSE 0 END,
    -0.004 * (1 + f.talk_seconds / 60),
    'USD',
    -- An agent's outgoing call names the agent only on the parent (From client:<agent>).
    CASE WHEN f.kind <= 3 THEN NULL ELSE agent.id END,
    NULL,
    '',
    f.start_time + make_interval(secs => 1),
    f.start_time + make_interval(secs => 1)
FROM family f
CROSS JOIN LATERAL generate_series(1, f.legs) AS leg
-- Simultaneous ringing: each leg rings a different agent, starting from the family's own.
JOIN LATERAL (
    SELECT agents_agent.id, agents_agent.identity
    FROM agents_agent
    ORDER BY (agents_agent.id + f.agent_id + leg) %% cardinality(%(agent_ids)s::bigint[]), id
    LIMIT 1
) AS agent ON true
CROSS JOIN LATERAL (
    SELECT CASE
        WHEN f.kind <= 3 THEN CASE WHEN f.answered THEN 'completed' ELSE 'no-answer' END
        WHEN NOT f.answered THEN 'no-answer'
        WHEN leg = 1 THEN 'completed'
        ELSE 'canceled'
    END AS status
) AS child
WHERE f.kind <> 0;

UPDATE calls_call AS parent
SET answered_by_id = child.agent_id
FROM calls_call AS child
WHERE child.parent_id = parent.id AND child.status = 'completed' AND child.agent_id IS NOT NULL;

-- Status callbacks for every leg of one family in forty (customers calling agents): initiated, ringing, in-progress,
-- then the final status, each with Twilio's form parameters.
INSERT INTO calls_callevent (
    call_id, status, sequence_number, timestamp, callback_source, parameters, delivery_digest,
    received_at
)
SELECT
    c.id,
    step.status,
    step.sequence_number,
    c.start_time + make_interval(secs => step.sequence_number),
    'call-progress-events',
    jsonb_build_object(
        'AccountSid', c.account_sid, 'ApiVersion', '2010-04-01', 'CallSid', c.sid,
        'CallStatus', step.status, 'Direction', c.direction, 'From', c.from_number,
        'To', c.to_number, 'SequenceNumber', step.sequence_number::text,
        'CallbackSource', 'call-progress-events',
        'Timestamp', to_char((c.start_time + make_interval(secs => step.sequence_number))
                             AT TIME ZONE 'UTC', 'Dy, DD Mon YYYY HH24:MI:SS') || ' +0000'
    ) || CASE WHEN c.parent_id IS NULL THEN '{}'::jsonb
              ELSE jsonb_build_object('ParentCallSid', 'CA' || md5('parent-' || c.parent_id)) END,
    md5('event-' || c.id || '-' || step.sequence_number) || md5('digest-' || c.id),
    c.start_time + make_interval(secs => step.sequence_number)
FROM calls_call c
CROSS JOIN LATERAL (
    VALUES (0, 'initiated'), (1, 'ringing'), (2, 'in-progress'), (3, c.status)
) AS step (sequence_number, status)
WHERE coalesce(c.parent_id, c.id) %% 40 = 7
    AND (step.status <> 'in-progress' OR c.status = 'completed');

SELECT setval(pg_get_serial_sequence('calls_call', 'id'), (SELECT max(id) FROM calls_call));
