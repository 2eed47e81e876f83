-- core: errors, request context and the idempotency core that every mutating
-- api function uses. Re-applied after every migrate.

-- Invalid requests raise and roll back: nothing is remembered. The machine code leads
-- the message ("CODE: text") so psql users and the RPC read the same thing; details go
-- to DETAIL as JSON. SQLSTATE KL000 marks "ours" for the RPC's error mapping.
CREATE OR REPLACE FUNCTION core.raise_error(code text, message text, details jsonb DEFAULT NULL, hint text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING
    ERRCODE = 'KL000',
    MESSAGE = code || ': ' || message,
    DETAIL  = coalesce(details::text, ''),
    HINT    = coalesce(hint, '');
END $$;

-- Declines depend on state (insufficient funds, frozen card, expired) and are committed
-- with the idempotency record: the function returns this body and marks the response
-- as a decline so the RPC answers with the code's HTTP status (its row in core.error_codes,
-- sql/00_core/20_error_codes.sql).
CREATE OR REPLACE FUNCTION core.decline(code text, message text, details jsonb DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE flag text := set_config('response.decline', code, true);
BEGIN
  RETURN jsonb_build_object('code', code, 'message', message, 'details', details, 'hint', NULL);
END $$;

-- Request context. PL/pgSQL rather than inlinable SQL on purpose: inlined into an index
-- condition, the principal expression measured ~40 us per statement; as a function
-- call it is evaluated once, from plans PL/pgSQL caches per session. Each function reads
-- the settings itself rather than calling the others: these run several times per
-- request, and a PL/pgSQL call costs more than the work they do.
CREATE OR REPLACE FUNCTION core.claims() RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb;
END $$;

-- The request's role: what the RPC set with SET LOCAL ROLE, or the login role in psql.
CREATE OR REPLACE FUNCTION core.request_role() RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE r text := current_setting('role');
BEGIN
  RETURN CASE WHEN r IN ('none', '') THEN session_user::text ELSE r END;
END $$;

-- Who is asking, for idempotency scoping and audit: role, the token's subject, and the
-- tenant and device the token speaks for. A subject is only unique within its issuer's
-- naming: two companies may both have an operator "ops", and without the company in the
-- principal they would replay each other's stored answers (another company's data).
-- The parts are appended only when present, so a token without them keeps `role:sub`.
CREATE OR REPLACE FUNCTION core.principal() RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
  r text := current_setting('role');
  raw text := nullif(current_setting('request.jwt.claims', true), '');
  c jsonb;
BEGIN
  IF r IN ('none', '') THEN
    r := session_user::text;
  END IF;
  IF raw IS NULL THEN
    RETURN r || ':';
  END IF;
  c := raw::jsonb;
  RETURN r || ':' || coalesce(c ->> 'sub', c ->> 'kiosk_id', '')
         || coalesce('|company=' || (c ->> 'company_id'), '')
         || coalesce('|kiosk=' || (c ->> 'kiosk_id'), '');
END $$;

CREATE OR REPLACE FUNCTION core.require_request_id(request_id text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF request_id IS NULL OR length(request_id) NOT BETWEEN 1 AND 255 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'request_id must be a string of 1 to 255 characters',
                             jsonb_build_object('argument', 'request_id'));
  END IF;
END $$;

-- Claim (scope, caller, key) for this transaction. Returns NULL for a new claim: the
-- caller performs the effect and calls core.idem_finish. Returns the stored response for
-- a replay (same payload), marking it replayed; raises IDEMPOTENCY_MISMATCH for the same
-- key with another payload. A concurrent duplicate blocks on the INSERT until the first
-- transaction ends, then replays its answer (or claims afresh if the first rolled back).
CREATE OR REPLACE FUNCTION core.idem_begin(scope text, request_id text, payload jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  who   text  := core.principal();
  hash  bytea := sha256(convert_to(payload::text, 'UTF8'));
  prior_hash     bytea;
  prior_response jsonb;
  prior_decline  text;
  flag  text;
BEGIN
  IF request_id IS NULL OR length(request_id) NOT BETWEEN 1 AND 255 THEN
    PERFORM core.require_request_id(request_id);  -- raises the INVALID_REQUEST
  END IF;
  -- Response flags are transaction-local; a psql session may call several functions in one.
  -- (Assignments, not PERFORM: plain expressions skip the executor on this hot path.)
  flag := set_config('response.decline', '', true);
  flag := set_config('response.replayed', '', true);
  -- A key that the retention cleanup forgot is not claimed again: its request took effect.
  -- (In the same statement: one index probe, no extra statement on every request.)
  INSERT INTO core.idempotency_keys AS k (scope, principal, key, request_hash)
  SELECT idem_begin.scope, who, request_id, hash
   WHERE NOT EXISTS (SELECT FROM core.idempotency_expired e
                      WHERE e.scope = idem_begin.scope AND e.principal = who AND e.key = request_id)
  ON CONFLICT DO NOTHING;
  IF FOUND THEN
    flag := set_config('idem.claimed', scope || ':' || request_id, true);
    flag := set_config('idem.principal', who, true);
    RETURN NULL;
  END IF;
  SELECT k.request_hash, r.response, r.decline_code INTO prior_hash, prior_response, prior_decline
    FROM core.idempotency_keys k
    LEFT JOIN core.idempotency_responses r ON (r.scope, r.principal, r.key) = (k.scope, k.principal, k.key)
   WHERE k.scope = idem_begin.scope AND k.principal = who AND k.key = request_id;
  IF prior_hash IS NULL THEN  -- not claimed and no claim row: the key expired (or is expiring now)
    PERFORM core.raise_error('REQUEST_ID_EXPIRED',
      format('request_id %L was used for %s longer ago than idempotency records are kept; its answer is gone',
             request_id, scope),
      jsonb_build_object('request_id', request_id, 'scope', scope),
      'that request took effect (or was declined): look up its outcome, and use a new request_id for a new request');
  END IF;
  IF prior_hash <> hash THEN
    PERFORM core.raise_error('IDEMPOTENCY_MISMATCH',
      format('request_id %L was already used for %s with a different payload', request_id, scope),
      jsonb_build_object('request_id', request_id, 'scope', scope),
      'use a new request_id for a new request');
  END IF;
  IF prior_response IS NULL THEN
    PERFORM core.raise_error('SERVER_ERROR', 'stored idempotent response is missing');
  END IF;
  flag := set_config('response.replayed', 'true', true);
  IF prior_decline IS NOT NULL THEN
    flag := set_config('response.decline', prior_decline, true);
  END IF;
  RETURN prior_response;
END $$;

-- Store the response under the claimed key (with the decline code, if the function
-- declined) and hand it back, so a function ends with `RETURN core.idem_finish(...)`.
CREATE OR REPLACE FUNCTION core.idem_finish(scope text, request_id text, response jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
  -- Only under this transaction's own claim (idem_begin notes it): without the claim row
  -- a concurrent duplicate would not have waited for us.
  IF current_setting('idem.claimed', true) IS DISTINCT FROM scope || ':' || request_id THEN
    PERFORM core.raise_error('SERVER_ERROR', 'idem_finish without idem_begin for ' || scope);
  END IF;
  INSERT INTO core.idempotency_responses (scope, principal, key, response, decline_code)
  VALUES (idem_finish.scope, current_setting('idem.principal'), request_id, idem_finish.response,
          nullif(current_setting('response.decline', true), ''));
  RETURN response;
END $$;

-- DBA / scheduler: forget keys older than the retention window: their requests and
-- answers go, the keys themselves stay in core.idempotency_expired so that a late retry
-- is refused as REQUEST_ID_EXPIRED instead of being done again. Returns how many went.
CREATE OR REPLACE FUNCTION core.idempotency_cleanup(retention interval DEFAULT '7 days')
RETURNS bigint LANGUAGE sql AS $$
  WITH gone AS (
    DELETE FROM core.idempotency_keys WHERE created_at < now() - retention
    RETURNING scope, principal, key, created_at
  ), answers AS (
    DELETE FROM core.idempotency_responses r USING gone g
     WHERE (r.scope, r.principal, r.key) = (g.scope, g.principal, g.key)
  ), kept AS (
    INSERT INTO core.idempotency_expired (scope, principal, key, created_at)
    SELECT scope, principal, key, created_at FROM gone
    ON CONFLICT DO NOTHING
  )
  SELECT count(*) FROM gone
$$;

-- The expired keys are the key alone, kept so a very late retry is refused rather than done
-- again; after idempotency.keep_expired_days (longer than any client retries) they go too.
CREATE OR REPLACE FUNCTION core.idempotency_expired_prune() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
  DELETE FROM core.idempotency_expired e
   WHERE e.created_at < now() - make_interval(days => (core.setting('idempotency.keep_expired_days'))::int);
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;

-- JSON argument helpers: a clear INVALID_REQUEST naming the field, never a cast error.
CREATE OR REPLACE FUNCTION core.json_bigint(value jsonb, field text) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE n numeric;
BEGIN
  IF value IS NULL OR jsonb_typeof(value) <> 'number' THEN
    PERFORM core.raise_error('INVALID_REQUEST', field || ' must be an integer',
                             jsonb_build_object('argument', field));
  END IF;
  n := value::numeric;
  -- 2^53 - 1: the largest integer every JSON client reads exactly.
  IF n <> trunc(n) OR abs(n) > 9007199254740991 THEN
    PERFORM core.raise_error('INVALID_REQUEST', field || ' must be an integer within ±(2^53-1)',
                             jsonb_build_object('argument', field));
  END IF;
  RETURN n::bigint;
END $$;

-- Settings: core.setting('cards.max_recharge') -> jsonb; a missing key is a server bug.
CREATE OR REPLACE FUNCTION core.setting(key text) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE v jsonb;
BEGIN
  SELECT s.value INTO v FROM core.settings s WHERE s.key = setting.key;
  IF NOT FOUND THEN
    PERFORM core.raise_error('SERVER_ERROR', 'missing setting ' || key);
  END IF;
  RETURN v;
END $$;

-- Who acted, for audit columns: the token's subject, else the principal (psql: the login).
CREATE OR REPLACE FUNCTION core.actor() RETURNS text LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN coalesce(nullif(nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub', ''),
                  core.principal());
END $$;

-- A short identifier argument (ids of points of sale, checkpoints, devices...).
-- Use as an expression (`x := core.require_ident(...)`), not PERFORM: cheaper.
CREATE OR REPLACE FUNCTION core.require_ident(value text, argument text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  -- translate() rather than a regular expression: this runs on every order, and PostgreSQL
  -- sets up its regex engine per match (~10x the cost of this for short strings).
  IF value IS NULL OR length(value) NOT BETWEEN 1 AND 64
     OR translate(value, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-', '') <> '' THEN
    PERFORM core.raise_error('INVALID_REQUEST', argument || ' must be 1-64 letters, digits or _.:-',
                             jsonb_build_object('argument', argument));
  END IF;
  RETURN value;
END $$;
