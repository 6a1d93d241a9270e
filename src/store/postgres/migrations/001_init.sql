-- virtbot's shared record in PostgreSQL (src/store/postgres/). Applied once, in a transaction,
-- by the first virtbot that starts against the database (src/store/postgres/migrate.ts).

-- ------------------------------------------------------------------ instances and leases

-- Every running virtbot: its presence is an advisory lock on its own session (released by the
-- server when the process dies) and `last_seen`, renewed with its leases.
CREATE TABLE instances (
  id text PRIMARY KEY,
  host text NOT NULL,
  pid integer NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  last_seen timestamptz NOT NULL DEFAULT now()
);

-- Who holds each chat connection ('irc:libera', 'discord:team'). Exclusivity is the advisory
-- lock on the holder's lease session; this row names the holder, and inbound claims are fenced
-- by it: only the instance named here may claim a message of that connection.
CREATE TABLE leases (
  name text PRIMARY KEY,
  holder text NOT NULL,
  since timestamptz NOT NULL DEFAULT now(),
  renewed_at timestamptz NOT NULL DEFAULT now()
);

-- Each inbound message, claimed once (by its transport id or a hash of what and when) by the
-- connection's holder before anything is done with it.
CREATE TABLE inbound_claims (
  key text PRIMARY KEY,
  connection text NOT NULL,
  instance text NOT NULL,
  place jsonb NOT NULL,
  nick text NOT NULL,
  text text NOT NULL,
  addressed boolean NOT NULL,
  claimed_at timestamptz NOT NULL DEFAULT now(),
  answered_at timestamptz
);
CREATE INDEX inbound_claims_unanswered ON inbound_claims (connection, instance) WHERE answered_at IS NULL AND addressed;
CREATE INDEX inbound_claims_age ON inbound_claims (claimed_at);

-- ------------------------------------------------------------------ audit

-- The chain's head: the last record's position and hash. Appends lock this row, so records get
-- one order whichever instance writes them.
CREATE TABLE audit_head (
  id integer PRIMARY KEY CHECK (id = 1),
  seq bigint NOT NULL,
  hash text NOT NULL
);
INSERT INTO audit_head VALUES (1, 0, repeat('0', 64));

-- Where the chain starts after retention dropped old partitions: the last dropped record.
CREATE TABLE audit_retention (
  id integer PRIMARY KEY CHECK (id = 1),
  seq bigint NOT NULL,
  hash text NOT NULL,
  dropped_before timestamptz NOT NULL
);

-- One row per record. `line` is the record exactly as the JSONL file would hold it (seq, prev and
-- hash included): `hash` is the SHA-256 of that line without its hash field (src/audit/chain.ts),
-- so `audit verify` and `audit export` mean what they mean for files. The other columns are
-- copies of the line's fields for the indexes.
CREATE TABLE audit_records (
  seq bigint NOT NULL,
  time timestamptz NOT NULL,
  id text NOT NULL,
  kind text NOT NULL,
  -- The operation the record belongs to: an intent's id for the intent and its outcomes, else its own id.
  op text NOT NULL,
  user_name text,
  nick text NOT NULL,
  host text,
  vm text,
  outcome text NOT NULL,
  path text,
  private boolean NOT NULL DEFAULT false,
  instance text,
  line text NOT NULL,
  hash text NOT NULL
) PARTITION BY RANGE (time);

CREATE INDEX audit_records_time ON audit_records (time DESC, seq DESC);
CREATE INDEX audit_records_vm ON audit_records (vm, time DESC, seq DESC);
CREATE INDEX audit_records_host ON audit_records (host, time DESC, seq DESC);
CREATE INDEX audit_records_user ON audit_records (user_name, time DESC, seq DESC);
CREATE INDEX audit_records_nick ON audit_records (nick, time DESC, seq DESC) WHERE user_name IS NULL;
CREATE INDEX audit_records_outcome ON audit_records (outcome, time DESC, seq DESC);
CREATE INDEX audit_records_op ON audit_records (op, seq);
CREATE INDEX audit_records_id ON audit_records (id);
CREATE INDEX audit_records_seq ON audit_records (seq);

-- Intents without a final outcome yet, and the instance running each (recovery finishes those of
-- instances that are gone with 'unknown').
CREATE TABLE audit_open (
  intent text PRIMARY KEY,
  instance text,
  time timestamptz NOT NULL,
  line text NOT NULL
);
CREATE INDEX audit_open_instance ON audit_open (instance);

CREATE FUNCTION virtbot_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit records are append-only: % refused (old months go by dropping their partition)', TG_OP;
END $$;
CREATE TRIGGER audit_records_append_only BEFORE UPDATE OR DELETE ON audit_records
  FOR EACH ROW EXECUTE FUNCTION virtbot_audit_append_only();

-- The month's partition (`p_month`: its first instant, UTC), made when missing.
CREATE FUNCTION virtbot_audit_partition(p_month timestamp) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  name text := 'audit_records_' || to_char(p_month, '"y"YYYY"m"MM');
BEGIN
  IF to_regclass(name) IS NULL THEN
    EXECUTE format(
      'CREATE TABLE %I PARTITION OF audit_records FOR VALUES FROM (%L) TO (%L)',
      name, p_month AT TIME ZONE 'UTC', (p_month + interval '1 month') AT TIME ZONE 'UTC');
  END IF;
  RETURN name;
END $$;

-- Appends sealed records after the head the writer sealed them on. When another instance moved
-- the head meanwhile nothing is written and the current head is returned: the writer seals the
-- batch again on it. One statement per batch: one round trip and one commit.
CREATE FUNCTION virtbot_audit_append(p_seq bigint, p_hash text, p_rows jsonb)
RETURNS TABLE (ok boolean, head_seq bigint, head_hash text) LANGUAGE plpgsql AS $$
DECLARE
  h audit_head%ROWTYPE;
  m record;
  tail record;
BEGIN
  SELECT * INTO h FROM audit_head WHERE id = 1 FOR UPDATE;
  IF h.seq <> p_seq OR h.hash <> p_hash THEN
    RETURN QUERY SELECT false, h.seq, h.hash;
    RETURN;
  END IF;
  FOR m IN
    SELECT DISTINCT date_trunc('month', (r->>'time')::timestamptz AT TIME ZONE 'UTC') AS month
    FROM jsonb_array_elements(p_rows) r
  LOOP
    PERFORM virtbot_audit_partition(m.month);
  END LOOP;
  INSERT INTO audit_records (seq, time, id, kind, op, user_name, nick, host, vm, outcome, path, private, instance, line, hash)
  SELECT x.seq, x.time, x.id, x.kind, x.op, x.user_name, x.nick, x.host, x.vm, x.outcome, x.path,
         coalesce(x.private, false), x.instance, x.line, x.hash
  FROM jsonb_to_recordset(p_rows) AS x(seq bigint, time timestamptz, id text, kind text, op text,
       user_name text, nick text, host text, vm text, outcome text, path text, private boolean,
       instance text, line text, hash text);
  INSERT INTO audit_open (intent, instance, time, line)
  SELECT x.id, x.instance, x.time, x.line
  FROM jsonb_to_recordset(p_rows) AS x(id text, kind text, instance text, time timestamptz, line text)
  WHERE x.kind = 'intent';
  DELETE FROM audit_open o
  USING jsonb_to_recordset(p_rows) AS x(op text, kind text, outcome text)
  WHERE x.kind = 'outcome' AND x.outcome <> 'in-progress' AND o.intent = x.op;
  SELECT x.seq, x.hash INTO tail
  FROM jsonb_to_recordset(p_rows) AS x(seq bigint, hash text) ORDER BY x.seq DESC LIMIT 1;
  UPDATE audit_head SET seq = tail.seq, hash = tail.hash WHERE id = 1;
  RETURN QUERY SELECT true, tail.seq, tail.hash;
END $$;

-- The current month and the next exist from the start.
SELECT virtbot_audit_partition(date_trunc('month', now() AT TIME ZONE 'UTC'));
SELECT virtbot_audit_partition(date_trunc('month', now() AT TIME ZONE 'UTC') + interval '1 month');

-- ------------------------------------------------------------------ confirmations

-- Pending invocations behind one-time codes ('pending'), and lapsed ones remembered for a while
-- ('lapsed') so that a late confirm hears "lapsed". `version` changes with every update: a take
-- or an approval applies only to the version that was checked (DELETE/UPDATE … RETURNING).
CREATE TABLE confirmations (
  code text PRIMARY KEY,
  state text NOT NULL CHECK (state IN ('pending', 'lapsed')),
  version integer NOT NULL DEFAULT 1,
  requester text NOT NULL,
  place_key text NOT NULL,
  expires_at bigint NOT NULL,
  body jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX confirmations_expiry ON confirmations (state, expires_at);

-- ------------------------------------------------------------------ meetings

-- The journal of each open meeting (src/meeting/journal.ts has the entries); 'unsaved' when
-- its minutes could not be written (kept, as the files keep `.unsaved-…`).
CREATE TABLE meeting_journals (
  id bigserial PRIMARY KEY,
  place_key text NOT NULL,
  state text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'unsaved')),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX meeting_journals_open ON meeting_journals (place_key) WHERE state = 'open';

CREATE TABLE meeting_journal_entries (
  journal bigint NOT NULL REFERENCES meeting_journals (id) ON DELETE CASCADE,
  n integer NOT NULL,
  entry jsonb NOT NULL,
  PRIMARY KEY (journal, n)
);

-- ------------------------------------------------------------------ tasks and events

CREATE SEQUENCE task_ids;
CREATE TABLE tasks (
  id integer PRIMARY KEY,
  owner text,
  state text NOT NULL,
  body jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tasks_running ON tasks (owner) WHERE state = 'running';

CREATE TABLE event_subscriptions (
  place_key text NOT NULL,
  host text NOT NULL,
  vm text NOT NULL,
  body jsonb NOT NULL,
  PRIMARY KEY (place_key, host, vm)
);
