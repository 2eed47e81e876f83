--
-- PostgreSQL database dump
--

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: accounts; Type: SCHEMA; Schema: -; Owner: postgres
--

CREATE SCHEMA accounts;


ALTER SCHEMA accounts OWNER TO postgres;

--
-- Name: api; Type: SCHEMA; Schema: -; Owner: postgres
--

CREATE SCHEMA api;


ALTER SCHEMA api OWNER TO postgres;

--
-- Name: atm; Type: SCHEMA; Schema: -; Owner: postgres
--

CREATE SCHEMA atm;


ALTER SCHEMA atm OWNER TO postgres;

--
-- Name: cards; Type: SCHEMA; Schema: -; Owner: postgres
--

CREATE SCHEMA cards;


ALTER SCHEMA cards OWNER TO postgres;

--
-- Name: checkout; Type: SCHEMA; Schema: -; Owner: postgres
--

CREATE SCHEMA checkout;


ALTER SCHEMA checkout OWNER TO postgres;

--
-- Name: core; Type: SCHEMA; Schema: -; Owner: postgres
--

CREATE SCHEMA core;


ALTER SCHEMA core OWNER TO postgres;

--
-- Name: crypto; Type: SCHEMA; Schema: -; Owner: postgres
--

CREATE SCHEMA crypto;


ALTER SCHEMA crypto OWNER TO postgres;

--
-- Name: dex; Type: SCHEMA; Schema: -; Owner: postgres
--

CREATE SCHEMA dex;


ALTER SCHEMA dex OWNER TO postgres;

--
-- Name: kiosk; Type: SCHEMA; Schema: -; Owner: postgres
--

CREATE SCHEMA kiosk;


ALTER SCHEMA kiosk OWNER TO postgres;

--
-- Name: ledger; Type: SCHEMA; Schema: -; Owner: postgres
--

CREATE SCHEMA ledger;


ALTER SCHEMA ledger OWNER TO postgres;

--
-- Name: upkeep; Type: SCHEMA; Schema: -; Owner: postgres
--

CREATE SCHEMA upkeep;


ALTER SCHEMA upkeep OWNER TO postgres;

--
-- Name: pgcrypto; Type: EXTENSION; Schema: -; Owner: -
--

CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA crypto;


--
-- Name: EXTENSION pgcrypto; Type: COMMENT; Schema: -; Owner: 
--

COMMENT ON EXTENSION pgcrypto IS 'cryptographic functions';


--
-- Name: count; Type: DOMAIN; Schema: atm; Owner: postgres
--

CREATE DOMAIN atm.count AS integer
	CONSTRAINT count_check CHECK ((VALUE >= 0));


ALTER DOMAIN atm.count OWNER TO postgres;

--
-- Name: job_status; Type: DOMAIN; Schema: atm; Owner: postgres
--

CREATE DOMAIN atm.job_status AS text
	CONSTRAINT job_status_check CHECK ((VALUE = ANY (ARRAY['pending'::text, 'claimed'::text, 'dispensing'::text, 'retry_wait'::text, 'completed'::text, 'failed'::text, 'needs_reconciliation'::text])));


ALTER DOMAIN atm.job_status OWNER TO postgres;

--
-- Name: positive_count; Type: DOMAIN; Schema: atm; Owner: postgres
--

CREATE DOMAIN atm.positive_count AS integer
	CONSTRAINT positive_count_check CHECK ((VALUE > 0));


ALTER DOMAIN atm.positive_count OWNER TO postgres;

--
-- Name: currency; Type: DOMAIN; Schema: ledger; Owner: postgres
--

CREATE DOMAIN ledger.currency AS text
	CONSTRAINT currency_check CHECK ((VALUE ~ '^[A-Z]{3}$'::text));


ALTER DOMAIN ledger.currency OWNER TO postgres;

--
-- Name: kind; Type: DOMAIN; Schema: ledger; Owner: postgres
--

CREATE DOMAIN ledger.kind AS text
	CONSTRAINT kind_check CHECK ((((length(VALUE) >= 1) AND (length(VALUE) <= 63)) AND ((ascii(VALUE) >= 97) AND (ascii(VALUE) <= 122)) AND (translate(VALUE, 'abcdefghijklmnopqrstuvwxyz0123456789_'::text, ''::text) = ''::text)));


ALTER DOMAIN ledger.kind OWNER TO postgres;

--
-- Name: bcrypt_cost(); Type: FUNCTION; Schema: accounts; Owner: postgres
--

CREATE FUNCTION accounts.bcrypt_cost() RETURNS integer
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE cost int := (core.setting('accounts.bcrypt_cost'))::int;
BEGIN
  IF cost NOT BETWEEN 4 AND 15 THEN
    PERFORM core.raise_error('SERVER_ERROR', 'setting accounts.bcrypt_cost must be 4..15');
  END IF;
  RETURN cost;
END $$;


ALTER FUNCTION accounts.bcrypt_cost() OWNER TO postgres;

--
-- Name: check_password(text, text, text); Type: FUNCTION; Schema: accounts; Owner: postgres
--

CREATE FUNCTION accounts.check_password(email text, password text, wrong_code text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
  max_tries int := (core.setting('accounts.max_failed_logins'))::int;
  lockout   interval := make_interval(secs => (core.setting('accounts.lockout_seconds'))::int);
  f         accounts.login_failures;
  a         accounts.accounts;
  failed    int;
  lock_end  timestamptz;
BEGIN
  INSERT INTO accounts.login_failures AS x (email) VALUES (check_password.email)
  ON CONFLICT ON CONSTRAINT login_failures_pkey DO UPDATE SET email = excluded.email
  RETURNING * INTO f;
  IF f.locked_until > now() THEN
    RETURN accounts.locked(f.locked_until);
  END IF;
  SELECT * INTO a FROM accounts.accounts x WHERE x.email = check_password.email;
  IF accounts.password_matches(password, a.password_hash) AND NOT a.disabled THEN
    DELETE FROM accounts.login_failures x WHERE x.email = f.email;
    RETURN NULL;
  END IF;
  -- Failures in a row; one longer ago than the lockout window starts the count afresh.
  failed := CASE WHEN f.last_failed_at > now() - lockout THEN f.failures ELSE 0 END + 1;
  IF failed >= max_tries THEN
    lock_end := now() + lockout;
    failed := 0;
    IF a.id IS NOT NULL THEN
      PERFORM accounts.event(a.id, 'locked', jsonb_build_object('locked_until', lock_end));
    END IF;
  END IF;
  UPDATE accounts.login_failures x SET failures = failed, locked_until = lock_end, last_failed_at = now()
   WHERE x.email = f.email;
  IF wrong_code = 'CURRENT_PASSWORD_INVALID' THEN
    RETURN core.decline('CURRENT_PASSWORD_INVALID', 'the current password is wrong',
                        jsonb_build_object('argument', 'current_password'));
  END IF;
  RETURN core.decline('INVALID_LOGIN', 'wrong email or password');
END $$;


ALTER FUNCTION accounts.check_password(email text, password text, wrong_code text) OWNER TO postgres;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: accounts; Type: TABLE; Schema: accounts; Owner: postgres
--

CREATE TABLE accounts.accounts (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    email text NOT NULL,
    display_name text NOT NULL,
    role text NOT NULL,
    company_id text,
    point_of_sale text,
    checkpoint text,
    disabled boolean DEFAULT false NOT NULL,
    password_hash text NOT NULL,
    password_changed_at timestamp with time zone DEFAULT now() NOT NULL,
    last_login_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    created_by text NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_by text NOT NULL,
    CONSTRAINT accounts_checkpoint_check CHECK ((checkpoint ~ '^[A-Za-z0-9_.:-]{1,64}$'::text)),
    CONSTRAINT accounts_display_name_check CHECK (((length(display_name) >= 1) AND (length(display_name) <= 100))),
    CONSTRAINT accounts_email_check CHECK (((email = lower(email)) AND ((length(email) >= 3) AND (length(email) <= 254)) AND (email ~ '^[^@\s]+@[^@\s]+$'::text))),
    CONSTRAINT accounts_operator_company CHECK (((role = 'operator'::text) = (company_id IS NOT NULL))),
    CONSTRAINT accounts_password_hash_check CHECK ((password_hash ~~ '$2_$%'::text)),
    CONSTRAINT accounts_point_of_sale_check CHECK ((point_of_sale ~ '^[A-Za-z0-9_.:-]{1,64}$'::text)),
    CONSTRAINT accounts_role_check CHECK ((role = ANY (ARRAY['staff'::text, 'operator'::text, 'admin'::text]))),
    CONSTRAINT accounts_staff_places CHECK (((role = 'staff'::text) OR ((point_of_sale IS NULL) AND (checkpoint IS NULL))))
);


ALTER TABLE accounts.accounts OWNER TO postgres;

--
-- Name: checked(accounts.accounts); Type: FUNCTION; Schema: accounts; Owner: postgres
--

CREATE FUNCTION accounts.checked(a accounts.accounts) RETURNS accounts.accounts
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
  a.display_name := btrim(a.display_name);
  IF a.display_name IS NULL OR length(a.display_name) NOT BETWEEN 1 AND 100 OR a.display_name ~ '[[:cntrl:]]' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'display_name must be 1-100 characters without control characters',
                             jsonb_build_object('argument', 'display_name'));
  END IF;
  IF a.role IS NULL OR a.role NOT IN ('staff', 'operator', 'admin') THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'role must be staff, operator or admin',
                             jsonb_build_object('argument', 'role'));
  END IF;
  IF a.role = 'operator' AND a.company_id IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'an operator account needs company_id: operators act for one company',
                             jsonb_build_object('argument', 'company_id'));
  ELSIF a.role <> 'operator' AND a.company_id IS NOT NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST',
      format('only operator accounts have a company_id (a %s account has none)', a.role),
      jsonb_build_object('argument', 'company_id'));
  END IF;
  IF a.company_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM dex.companies c WHERE c.company_id = a.company_id) THEN
    PERFORM core.raise_error('COMPANY_NOT_FOUND', format('no company %s', a.company_id),
                             jsonb_build_object('argument', 'company_id', 'company_id', a.company_id));
  END IF;
  IF a.role <> 'staff' AND (a.point_of_sale IS NOT NULL OR a.checkpoint IS NOT NULL) THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'only staff accounts have a point_of_sale or checkpoint',
      jsonb_build_object('argument', CASE WHEN a.point_of_sale IS NOT NULL THEN 'point_of_sale' ELSE 'checkpoint' END));
  END IF;
  IF a.point_of_sale IS NOT NULL THEN
    a.point_of_sale := core.require_ident(a.point_of_sale, 'point_of_sale');
  END IF;
  IF a.checkpoint IS NOT NULL THEN
    a.checkpoint := core.require_ident(a.checkpoint, 'checkpoint');
  END IF;
  RETURN a;
END $$;


ALTER FUNCTION accounts.checked(a accounts.accounts) OWNER TO postgres;

--
-- Name: claims(accounts.accounts); Type: FUNCTION; Schema: accounts; Owner: postgres
--

CREATE FUNCTION accounts.claims(a accounts.accounts) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
  SELECT jsonb_strip_nulls(jsonb_build_object(
           'role', a.role, 'sub', a.id::text, 'email', a.email, 'company_id', a.company_id,
           'point_of_sale', a.point_of_sale, 'checkpoint', a.checkpoint))
$$;


ALTER FUNCTION accounts.claims(a accounts.accounts) OWNER TO postgres;

--
-- Name: cleanup(interval); Type: FUNCTION; Schema: accounts; Owner: postgres
--

CREATE FUNCTION accounts.cleanup(retention interval DEFAULT '1 day'::interval) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
  lockout interval := make_interval(secs => (core.setting('accounts.lockout_seconds'))::int);
  tokens bigint;
  failures bigint;
BEGIN
  DELETE FROM accounts.refresh_tokens t WHERE t.expires_at < now() - retention;
  GET DIAGNOSTICS tokens = ROW_COUNT;
  DELETE FROM accounts.login_failures f
   WHERE coalesce(f.locked_until, '-infinity') <= now() AND coalesce(f.last_failed_at, '-infinity') < now() - lockout;
  GET DIAGNOSTICS failures = ROW_COUNT;
  RETURN jsonb_build_object('refresh_tokens', tokens, 'login_failures', failures);
END $$;


ALTER FUNCTION accounts.cleanup(retention interval) OWNER TO postgres;

--
-- Name: create_account(text, text, text, text, text, text, text); Type: FUNCTION; Schema: accounts; Owner: postgres
--

CREATE FUNCTION accounts.create_account(email text, password text, role text, display_name text, company_id text, point_of_sale text, checkpoint text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE a accounts.accounts;
BEGIN
  a.email := accounts.require_email(email);
  a.role := role;
  a.display_name := display_name;
  a.company_id := company_id;
  a.point_of_sale := point_of_sale;
  a.checkpoint := checkpoint;
  a := accounts.checked(a);
  PERFORM accounts.require_password(password, 'password');
  INSERT INTO accounts.accounts AS x (email, display_name, role, company_id, point_of_sale, checkpoint,
                                      password_hash, created_by, updated_by)
  VALUES (a.email, a.display_name, a.role, a.company_id, a.point_of_sale, a.checkpoint,
          accounts.password_hash(password), core.actor(), core.actor())
  ON CONFLICT ON CONSTRAINT accounts_email_key DO NOTHING
  RETURNING * INTO a;
  IF a.id IS NULL THEN
    PERFORM core.raise_error('EMAIL_TAKEN', format('an account with email %s exists', lower(btrim(email))),
                             jsonb_build_object('argument', 'email'));
  END IF;
  PERFORM accounts.event(a.id, 'created', accounts.public(a) - 'id');
  RETURN accounts.listing(a);
END $$;


ALTER FUNCTION accounts.create_account(email text, password text, role text, display_name text, company_id text, point_of_sale text, checkpoint text) OWNER TO postgres;

--
-- Name: email_normalize(text); Type: FUNCTION; Schema: accounts; Owner: postgres
--

CREATE FUNCTION accounts.email_normalize(email text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $_$
  SELECT CASE WHEN length(e) BETWEEN 3 AND 254 AND e ~ '^[^@\s]+@[^@\s]+$' THEN e END
    FROM (SELECT lower(btrim(email)) AS e) x
$_$;


ALTER FUNCTION accounts.email_normalize(email text) OWNER TO postgres;

--
-- Name: event(uuid, text, jsonb); Type: FUNCTION; Schema: accounts; Owner: postgres
--

CREATE FUNCTION accounts.event(account_id uuid, event text, details jsonb DEFAULT '{}'::jsonb) RETURNS void
    LANGUAGE sql
    AS $$
  INSERT INTO accounts.events (account_id, event, details, actor)
  VALUES (account_id, event, coalesce(details, '{}'), core.actor())
$$;


ALTER FUNCTION accounts.event(account_id uuid, event text, details jsonb) OWNER TO postgres;

--
-- Name: hash_cost(text); Type: FUNCTION; Schema: accounts; Owner: postgres
--

CREATE FUNCTION accounts.hash_cost(hash text) RETURNS integer
    LANGUAGE sql IMMUTABLE
    AS $$
  SELECT substr(hash, 5, 2)::int
$$;


ALTER FUNCTION accounts.hash_cost(hash text) OWNER TO postgres;

--
-- Name: invalid_refresh(text); Type: FUNCTION; Schema: accounts; Owner: postgres
--

CREATE FUNCTION accounts.invalid_refresh(reason text) RETURNS jsonb
    LANGUAGE sql
    AS $$
  SELECT core.decline('INVALID_REFRESH_TOKEN', 'the refresh token is not valid: log in again',
                      jsonb_build_object('reason', reason))
$$;


ALTER FUNCTION accounts.invalid_refresh(reason text) OWNER TO postgres;

--
-- Name: list(text, text, boolean); Type: FUNCTION; Schema: accounts; Owner: postgres
--

CREATE FUNCTION accounts.list(role text, company_id text, include_disabled boolean) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
  SELECT coalesce(jsonb_agg(accounts.listing(a) ORDER BY a.email), '[]')
    FROM accounts.accounts a
   WHERE (list.role IS NULL OR a.role = list.role)
     AND (list.company_id IS NULL OR a.company_id = list.company_id)
     AND (list.include_disabled OR NOT a.disabled)
$$;


ALTER FUNCTION accounts.list(role text, company_id text, include_disabled boolean) OWNER TO postgres;

--
-- Name: listing(accounts.accounts); Type: FUNCTION; Schema: accounts; Owner: postgres
--

CREATE FUNCTION accounts.listing(a accounts.accounts) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
  SELECT accounts.public(a) || jsonb_build_object(
           'disabled', a.disabled,
           'locked_until', (SELECT f.locked_until FROM accounts.login_failures f
                             WHERE f.email = a.email AND f.locked_until > now()),
           'failed_logins', coalesce((SELECT f.failures FROM accounts.login_failures f WHERE f.email = a.email), 0),
           'last_login_at', a.last_login_at, 'password_changed_at', a.password_changed_at,
           'created_at', a.created_at, 'created_by', a.created_by,
           'updated_at', a.updated_at, 'updated_by', a.updated_by)
$$;


ALTER FUNCTION accounts.listing(a accounts.accounts) OWNER TO postgres;

--
-- Name: lock_account(uuid); Type: FUNCTION; Schema: accounts; Owner: postgres
--

CREATE FUNCTION accounts.lock_account(account_id uuid) RETURNS accounts.accounts
    LANGUAGE plpgsql
    AS $$
DECLARE a accounts.accounts;
BEGIN
  SELECT * INTO a FROM accounts.accounts x WHERE x.id = lock_account.account_id FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM core.raise_error('USER_NOT_FOUND', format('no account %s', account_id),
                             jsonb_build_object('account_id', account_id));
  END IF;
  RETURN a;
END $$;


ALTER FUNCTION accounts.lock_account(account_id uuid) OWNER TO postgres;

--
-- Name: locked(timestamp with time zone); Type: FUNCTION; Schema: accounts; Owner: postgres
--

CREATE FUNCTION accounts.locked(locked_until timestamp with time zone) RETURNS jsonb
    LANGUAGE sql
    AS $$
  SELECT core.decline('ACCOUNT_LOCKED',
    format('too many failed logins for this email: try again after %s', locked_until),
    jsonb_build_object('locked_until', locked_until,
                       'retry_after_seconds', ceil(extract(epoch FROM locked_until - now()))::int))
$$;


ALTER FUNCTION accounts.locked(locked_until timestamp with time zone) OWNER TO postgres;

--
-- Name: login(text, text); Type: FUNCTION; Schema: accounts; Owner: postgres
--

CREATE FUNCTION accounts.login(email text, password text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
  key text := accounts.email_normalize(email);
  declined jsonb;
  a accounts.accounts;
BEGIN
  IF key IS NULL THEN
    -- No account can have it: the same work and the same answer as a wrong password.
    PERFORM accounts.password_matches(password, NULL);
    RETURN core.decline('INVALID_LOGIN', 'wrong email or password');
  END IF;
  declined := accounts.check_password(key, password, 'INVALID_LOGIN');
  IF declined IS NOT NULL THEN
    RETURN declined;
  END IF;
  SELECT * INTO a FROM accounts.accounts x WHERE x.email = key FOR UPDATE;
  IF a.disabled THEN  -- disabled since the check, its sessions revoked: issue none
    RETURN core.decline('INVALID_LOGIN', 'wrong email or password');
  END IF;
  -- A hash made at another cost than the setting's is remade now, while the password is at hand.
  IF accounts.hash_cost(a.password_hash) <> accounts.bcrypt_cost() THEN
    a.password_hash := accounts.password_hash(password);
  END IF;
  UPDATE accounts.accounts x SET last_login_at = now(), password_hash = a.password_hash
   WHERE x.id = a.id
  RETURNING * INTO a;
  RETURN accounts.session_issue(a, gen_random_uuid());
END $$;


ALTER FUNCTION accounts.login(email text, password text) OWNER TO postgres;

--
-- Name: logout(text); Type: FUNCTION; Schema: accounts; Owner: postgres
--

CREATE FUNCTION accounts.logout(refresh_token text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE family uuid;
BEGIN
  SELECT t.family_id INTO family FROM accounts.refresh_tokens t
   WHERE t.token_hash = sha256(convert_to(coalesce(refresh_token, ''), 'UTF8'));
  RETURN jsonb_build_object('revoked', CASE WHEN family IS NULL THEN 0 ELSE accounts.revoke_family(family, 'logout') END);
END $$;


ALTER FUNCTION accounts.logout(refresh_token text) OWNER TO postgres;

--
-- Name: password_hash(text); Type: FUNCTION; Schema: accounts; Owner: postgres
--

CREATE FUNCTION accounts.password_hash(password text) RETURNS text
    LANGUAGE sql
    AS $$
  SELECT crypto.crypt(password, crypto.gen_salt('bf', accounts.bcrypt_cost()))
$$;


ALTER FUNCTION accounts.password_hash(password text) OWNER TO postgres;

--
-- Name: password_matches(text, text); Type: FUNCTION; Schema: accounts; Owner: postgres
--

CREATE FUNCTION accounts.password_matches(password text, hash text) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
DECLARE computed text;
BEGIN
  IF hash IS NULL THEN
    computed := crypto.crypt(coalesce(password, ''), crypto.gen_salt('bf', accounts.bcrypt_cost()));
    RETURN false;
  END IF;
  computed := crypto.crypt(coalesce(password, ''), hash);
  RETURN computed = hash AND password IS NOT NULL AND octet_length(password) <= 72;
END $$;


ALTER FUNCTION accounts.password_matches(password text, hash text) OWNER TO postgres;

--
-- Name: public(accounts.accounts); Type: FUNCTION; Schema: accounts; Owner: postgres
--

CREATE FUNCTION accounts.public(a accounts.accounts) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
  SELECT jsonb_build_object('id', a.id, 'email', a.email, 'display_name', a.display_name, 'role', a.role,
                            'company_id', a.company_id, 'point_of_sale', a.point_of_sale,
                            'checkpoint', a.checkpoint)
$$;


ALTER FUNCTION accounts.public(a accounts.accounts) OWNER TO postgres;

--
-- Name: refresh(text); Type: FUNCTION; Schema: accounts; Owner: postgres
--

CREATE FUNCTION accounts.refresh(refresh_token text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $_$
DECLARE
  t accounts.refresh_tokens;
  a accounts.accounts;
BEGIN
  IF refresh_token IS NULL OR refresh_token !~ '^klr_[0-9a-f]{64}$' THEN
    RETURN accounts.invalid_refresh('malformed');
  END IF;
  SELECT * INTO t FROM accounts.refresh_tokens x
   WHERE x.token_hash = sha256(convert_to(refresh_token, 'UTF8')) FOR UPDATE;
  IF NOT FOUND THEN
    RETURN accounts.invalid_refresh('unknown');
  ELSIF t.revoked_at IS NOT NULL THEN
    RETURN accounts.invalid_refresh('revoked');
  ELSIF t.used_at IS NOT NULL THEN
    PERFORM accounts.revoke_family(t.family_id, 'reuse');
    PERFORM accounts.event(t.account_id, 'refresh_reuse', jsonb_build_object('family_id', t.family_id));
    RETURN accounts.invalid_refresh('reused');
  ELSIF t.expires_at <= now() THEN
    RETURN accounts.invalid_refresh('expired');
  END IF;
  SELECT * INTO a FROM accounts.accounts x WHERE x.id = t.account_id;
  IF a.disabled THEN
    PERFORM accounts.revoke_family(t.family_id, 'disabled');
    RETURN accounts.invalid_refresh('revoked');
  END IF;
  UPDATE accounts.refresh_tokens x SET used_at = now() WHERE x.token_hash = t.token_hash;
  RETURN accounts.session_issue(a, t.family_id);
END $_$;


ALTER FUNCTION accounts.refresh(refresh_token text) OWNER TO postgres;

--
-- Name: require_email(text); Type: FUNCTION; Schema: accounts; Owner: postgres
--

CREATE FUNCTION accounts.require_email(email text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    AS $$
DECLARE e text := accounts.email_normalize(email);
BEGIN
  IF e IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'email must be an address like name@example.org (at most 254 characters)',
                             jsonb_build_object('argument', 'email'));
  END IF;
  RETURN e;
END $$;


ALTER FUNCTION accounts.require_email(email text) OWNER TO postgres;

--
-- Name: require_password(text, text); Type: FUNCTION; Schema: accounts; Owner: postgres
--

CREATE FUNCTION accounts.require_password(password text, argument text) RETURNS void
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE min_len int := (core.setting('accounts.password_min_length'))::int;
BEGIN
  IF password IS NULL OR char_length(password) < min_len OR octet_length(password) > 72 THEN
    PERFORM core.raise_error('INVALID_REQUEST',
      format('%s must be %s characters to 72 bytes', argument, min_len),
      jsonb_build_object('argument', argument, 'min_length', min_len, 'max_bytes', 72));
  END IF;
  IF btrim(password) = '' THEN
    PERFORM core.raise_error('INVALID_REQUEST', argument || ' must not be only spaces',
                             jsonb_build_object('argument', argument));
  END IF;
END $$;


ALTER FUNCTION accounts.require_password(password text, argument text) OWNER TO postgres;

--
-- Name: revoke_all(uuid, text); Type: FUNCTION; Schema: accounts; Owner: postgres
--

CREATE FUNCTION accounts.revoke_all(account_id uuid, reason text) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE n int;
BEGIN
  UPDATE accounts.refresh_tokens t SET revoked_at = now(), revoked_reason = reason
   WHERE t.account_id = revoke_all.account_id AND t.revoked_at IS NULL;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;


ALTER FUNCTION accounts.revoke_all(account_id uuid, reason text) OWNER TO postgres;

--
-- Name: revoke_family(uuid, text); Type: FUNCTION; Schema: accounts; Owner: postgres
--

CREATE FUNCTION accounts.revoke_family(family_id uuid, reason text) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE n int;
BEGIN
  UPDATE accounts.refresh_tokens t SET revoked_at = now(), revoked_reason = reason
   WHERE t.family_id = revoke_family.family_id AND t.revoked_at IS NULL;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;


ALTER FUNCTION accounts.revoke_family(family_id uuid, reason text) OWNER TO postgres;

--
-- Name: session_issue(accounts.accounts, uuid); Type: FUNCTION; Schema: accounts; Owner: postgres
--

CREATE FUNCTION accounts.session_issue(a accounts.accounts, family_id uuid) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
  token text := 'klr_' || encode(crypto.gen_random_bytes(32), 'hex');
  refresh_s int := (core.setting('accounts.refresh_token_seconds'))::int;
BEGIN
  INSERT INTO accounts.refresh_tokens (token_hash, account_id, family_id, expires_at)
  VALUES (sha256(convert_to(token, 'UTF8')), a.id, family_id, now() + make_interval(secs => refresh_s));
  RETURN jsonb_build_object(
    'claims', accounts.claims(a),
    'account', accounts.public(a),
    'expires_in', (core.setting('accounts.access_token_seconds'))::int,
    'refresh_token', token,
    'refresh_expires_in', refresh_s);
END $$;


ALTER FUNCTION accounts.session_issue(a accounts.accounts, family_id uuid) OWNER TO postgres;

--
-- Name: set_password(uuid, text, text); Type: FUNCTION; Schema: accounts; Owner: postgres
--

CREATE FUNCTION accounts.set_password(account_id uuid, new_password text, current_password text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
  a accounts.accounts;
  by_self boolean := core.request_role() <> 'admin';
  declined jsonb;
  revoked int;
BEGIN
  IF by_self AND (core.claims() ->> 'sub') IS DISTINCT FROM account_id::text THEN
    PERFORM core.raise_error('FORBIDDEN', 'only an admin may set another account''s password',
                             jsonb_build_object('argument', 'account_id'));
  END IF;
  IF by_self AND current_password IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'current_password is required to change your own password',
                             jsonb_build_object('argument', 'current_password'));
  END IF;
  PERFORM accounts.require_password(new_password, 'new_password');
  a := accounts.lock_account(account_id);
  IF by_self THEN
    declined := accounts.check_password(a.email, current_password, 'CURRENT_PASSWORD_INVALID');
    IF declined IS NOT NULL THEN
      RETURN declined;
    END IF;
  END IF;
  UPDATE accounts.accounts x
     SET password_hash = accounts.password_hash(new_password), password_changed_at = now(),
         updated_at = now(), updated_by = core.actor()
   WHERE x.id = a.id;
  revoked := accounts.revoke_all(a.id, 'password');
  PERFORM accounts.event(a.id, 'password_set', jsonb_build_object('by_self', by_self));
  RETURN jsonb_build_object('account_id', a.id, 'email', a.email, 'sessions_revoked', revoked);
END $$;


ALTER FUNCTION accounts.set_password(account_id uuid, new_password text, current_password text) OWNER TO postgres;

--
-- Name: unlock(uuid); Type: FUNCTION; Schema: accounts; Owner: postgres
--

CREATE FUNCTION accounts.unlock(account_id uuid) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE a accounts.accounts := accounts.lock_account(account_id); was_locked boolean;
BEGIN
  was_locked := EXISTS (SELECT 1 FROM accounts.login_failures f WHERE f.email = a.email AND f.locked_until > now());
  DELETE FROM accounts.login_failures f WHERE f.email = a.email;
  PERFORM accounts.event(a.id, 'unlocked', jsonb_build_object('was_locked', was_locked));
  RETURN jsonb_build_object('account_id', a.id, 'email', a.email, 'was_locked', was_locked);
END $$;


ALTER FUNCTION accounts.unlock(account_id uuid) OWNER TO postgres;

--
-- Name: update_account(uuid, jsonb); Type: FUNCTION; Schema: accounts; Owner: postgres
--

CREATE FUNCTION accounts.update_account(account_id uuid, changes jsonb) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
  allowed constant text[] := ARRAY['email', 'display_name', 'role', 'company_id', 'point_of_sale',
                                   'checkpoint', 'disabled'];
  a accounts.accounts;
  before accounts.accounts;
  k text;
  v jsonb;
BEGIN
  IF changes IS NULL OR jsonb_typeof(changes) <> 'object' OR changes = '{}' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'changes must be a non-empty object of fields to set',
                             jsonb_build_object('argument', 'changes', 'fields', allowed));
  END IF;
  FOR k, v IN SELECT * FROM jsonb_each(changes) LOOP
    IF NOT k = ANY (allowed) THEN
      PERFORM core.raise_error('INVALID_REQUEST', format('changes.%s is not a field an admin can set', k),
                               jsonb_build_object('argument', 'changes', 'field', k, 'fields', allowed));
    END IF;
    IF k = 'disabled' AND jsonb_typeof(v) <> 'boolean' THEN
      PERFORM core.raise_error('INVALID_REQUEST', 'changes.disabled must be true or false',
                               jsonb_build_object('argument', 'changes', 'field', k));
    ELSIF k <> 'disabled' AND jsonb_typeof(v) NOT IN ('string', 'null') THEN
      PERFORM core.raise_error('INVALID_REQUEST', format('changes.%s must be a string or null', k),
                               jsonb_build_object('argument', 'changes', 'field', k));
    ELSIF k IN ('email', 'display_name', 'role') AND jsonb_typeof(v) = 'null' THEN
      PERFORM core.raise_error('INVALID_REQUEST', format('changes.%s cannot be null', k),
                               jsonb_build_object('argument', 'changes', 'field', k));
    END IF;
  END LOOP;
  before := accounts.lock_account(account_id);
  a := before;
  IF changes ? 'email' THEN a.email := accounts.require_email(changes ->> 'email'); END IF;
  IF changes ? 'display_name' THEN a.display_name := changes ->> 'display_name'; END IF;
  IF changes ? 'role' THEN a.role := changes ->> 'role'; END IF;
  IF changes ? 'company_id' THEN a.company_id := changes ->> 'company_id'; END IF;
  IF changes ? 'point_of_sale' THEN a.point_of_sale := changes ->> 'point_of_sale'; END IF;
  IF changes ? 'checkpoint' THEN a.checkpoint := changes ->> 'checkpoint'; END IF;
  IF changes ? 'disabled' THEN a.disabled := (changes ->> 'disabled')::boolean; END IF;
  a := accounts.checked(a);
  IF a.email <> before.email AND EXISTS (SELECT 1 FROM accounts.accounts x WHERE x.email = a.email) THEN
    PERFORM core.raise_error('EMAIL_TAKEN', format('an account with email %s exists', a.email),
                             jsonb_build_object('argument', 'changes', 'field', 'email'));
  END IF;
  -- Someone must still be able to manage accounts by logging in.
  IF before.role = 'admin' AND NOT before.disabled AND (a.role <> 'admin' OR a.disabled)
     AND NOT EXISTS (SELECT 1 FROM accounts.accounts x
                      WHERE x.role = 'admin' AND NOT x.disabled AND x.id <> before.id) THEN
    PERFORM core.raise_error('CONFLICT', 'this is the last enabled admin account: create another admin first',
                             jsonb_build_object('account_id', before.id));
  END IF;
  UPDATE accounts.accounts x
     SET email = a.email, display_name = a.display_name, role = a.role, company_id = a.company_id,
         point_of_sale = a.point_of_sale, checkpoint = a.checkpoint, disabled = a.disabled,
         updated_at = now(), updated_by = core.actor()
   WHERE x.id = before.id
  RETURNING * INTO a;
  IF a.disabled AND NOT before.disabled THEN
    PERFORM accounts.revoke_all(a.id, 'disabled');
  END IF;
  PERFORM accounts.event(a.id, 'updated', jsonb_build_object(
    'before', (SELECT jsonb_object_agg(key, value) FROM jsonb_each(accounts.public(before) || jsonb_build_object('disabled', before.disabled)) WHERE changes ? key),
    'after', (SELECT jsonb_object_agg(key, value) FROM jsonb_each(accounts.public(a) || jsonb_build_object('disabled', a.disabled)) WHERE changes ? key)));
  RETURN accounts.listing(a);
END $$;


ALTER FUNCTION accounts.update_account(account_id uuid, changes jsonb) OWNER TO postgres;

--
-- Name: account_create(text, text, text, text, text, text, text, text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.account_create(email text, password text, role text, display_name text, request_id text, company_id text DEFAULT NULL::text, point_of_sale text DEFAULT NULL::text, checkpoint text DEFAULT NULL::text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE replay jsonb;
BEGIN
  replay := core.idem_begin('account_create', request_id, jsonb_build_object(
    'email', lower(btrim(email)), 'role', role, 'display_name', display_name, 'company_id', company_id,
    'point_of_sale', point_of_sale, 'checkpoint', checkpoint));
  IF replay IS NOT NULL THEN RETURN replay; END IF;
  RETURN core.idem_finish('account_create', request_id,
    accounts.create_account(email, password, role, display_name, company_id, point_of_sale, checkpoint));
END $$;


ALTER FUNCTION api.account_create(email text, password text, role text, display_name text, request_id text, company_id text, point_of_sale text, checkpoint text) OWNER TO postgres;

--
-- Name: FUNCTION account_create(email text, password text, role text, display_name text, request_id text, company_id text, point_of_sale text, checkpoint text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.account_create(email text, password text, role text, display_name text, request_id text, company_id text, point_of_sale text, checkpoint text) IS 'Admin: create a login account. role staff, operator or admin; an operator needs company_id (and only operators have one); staff may have a point_of_sale and a checkpoint (they go into the login''s token claims). The email is unique case-insensitively (EMAIL_TAKEN 409); the password (accounts.password_min_length characters to 72 bytes) is kept only as a bcrypt hash. The same request_id replays the first answer whatever the password (passwords are not kept). Returns the account (never a hash).';


--
-- Name: account_set_password(uuid, text, text, text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.account_set_password(account_id uuid, new_password text, request_id text, current_password text DEFAULT NULL::text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE replay jsonb;
BEGIN
  replay := core.idem_begin('account_set_password', request_id, jsonb_build_object('account_id', account_id));
  IF replay IS NOT NULL THEN RETURN replay; END IF;
  RETURN core.idem_finish('account_set_password', request_id,
                          accounts.set_password(account_id, new_password, current_password));
END $$;


ALTER FUNCTION api.account_set_password(account_id uuid, new_password text, request_id text, current_password text) OWNER TO postgres;

--
-- Name: FUNCTION account_set_password(account_id uuid, new_password text, request_id text, current_password text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.account_set_password(account_id uuid, new_password text, request_id text, current_password text) IS 'Admin: set any account''s password. Staff/operator/admin: change their own (account_id = their token''s sub) with current_password; a wrong one is CURRENT_PASSWORD_INVALID (403) and counts towards the login lockout (ACCOUNT_LOCKED 429). Every refresh token of the account is revoked. Returns {account_id, email, sessions_revoked}. Passwords are not part of the request_id comparison: after a decline, retry with a new request_id.';


--
-- Name: account_unlock(uuid, text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.account_unlock(account_id uuid, request_id text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE replay jsonb;
BEGIN
  replay := core.idem_begin('account_unlock', request_id, jsonb_build_object('account_id', account_id));
  IF replay IS NOT NULL THEN RETURN replay; END IF;
  RETURN core.idem_finish('account_unlock', request_id, accounts.unlock(account_id));
END $$;


ALTER FUNCTION api.account_unlock(account_id uuid, request_id text) OWNER TO postgres;

--
-- Name: FUNCTION account_unlock(account_id uuid, request_id text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.account_unlock(account_id uuid, request_id text) IS 'Admin: lift a login lockout and clear the failure count of the account''s email. Returns {account_id, email, was_locked}.';


--
-- Name: account_update(uuid, jsonb, text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.account_update(account_id uuid, changes jsonb, request_id text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE replay jsonb;
BEGIN
  replay := core.idem_begin('account_update', request_id,
                            jsonb_build_object('account_id', account_id, 'changes', changes));
  IF replay IS NOT NULL THEN RETURN replay; END IF;
  RETURN core.idem_finish('account_update', request_id, accounts.update_account(account_id, changes));
END $$;


ALTER FUNCTION api.account_update(account_id uuid, changes jsonb, request_id text) OWNER TO postgres;

--
-- Name: FUNCTION account_update(account_id uuid, changes jsonb, request_id text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.account_update(account_id uuid, changes jsonb, request_id text) IS 'Admin: change an account. changes is an object of the fields to set - email, display_name, role, company_id, point_of_sale, checkpoint (null clears these three), disabled - checked together as at creation. Disabling revokes every refresh token at once (a bearer token already signed lives out its short life); other changes reach the claims at the next refresh. The last enabled admin account cannot be disabled or demoted (CONFLICT). USER_NOT_FOUND (404).';


--
-- Name: accounts(text, text, boolean); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.accounts(role text DEFAULT NULL::text, company_id text DEFAULT NULL::text, include_disabled boolean DEFAULT true) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
  SELECT accounts.list(role, company_id, coalesce(include_disabled, true))
$$;


ALTER FUNCTION api.accounts(role text, company_id text, include_disabled boolean) OWNER TO postgres;

--
-- Name: FUNCTION accounts(role text, company_id text, include_disabled boolean); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.accounts(role text, company_id text, include_disabled boolean) IS 'Admin: the login accounts by email, optionally of one role or company: id, email, display_name, role, company_id, point_of_sale, checkpoint, disabled, locked_until (while locked), failed_logins, last_login_at, password_changed_at, created/updated at and by. Never a password hash.';


--
-- Name: alert_acknowledge(bigint, text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.alert_acknowledge(alert_id bigint, request_id text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE replay jsonb;
BEGIN
  PERFORM core.alert_for_update(alert_id);  -- unknown or another company's: ALERT_NOT_FOUND, nothing kept
  replay := core.idem_begin('alert_acknowledge', request_id, jsonb_build_object('alert_id', alert_id));
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  RETURN core.idem_finish('alert_acknowledge', request_id, core.alert_acknowledge(alert_id));
END $$;


ALTER FUNCTION api.alert_acknowledge(alert_id bigint, request_id text) OWNER TO postgres;

--
-- Name: FUNCTION alert_acknowledge(alert_id bigint, request_id text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.alert_acknowledge(alert_id bigint, request_id text) IS 'Operators (own company) and admin: acknowledge an open alert (someone is on it); it stays active until its condition clears or it is resolved. The token''s sub is recorded as acknowledged_by. An alert already acknowledged or resolved is answered as it is. 404 ALERT_NOT_FOUND (also for another company''s). Idempotent on request_id.';


--
-- Name: alert_events(bigint, integer); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.alert_events(after bigint DEFAULT NULL::bigint, "limit" integer DEFAULT 100) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
BEGIN
  IF after IS NOT NULL AND after < 0 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'after must be an event id (>= 0) or null',
                             jsonb_build_object('argument', 'after'));
  END IF;
  IF "limit" IS NULL OR "limit" NOT BETWEEN 1 AND 1000 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'limit must be 1-1000', jsonb_build_object('argument', 'limit'));
  END IF;
  RETURN core.alert_events_after(after, "limit");
END $$;


ALTER FUNCTION api.alert_events(after bigint, "limit" integer) OWNER TO postgres;

--
-- Name: FUNCTION alert_events(after bigint, "limit" integer); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.alert_events(after bigint, "limit" integer) IS 'Staff, operators, admin: the alert changes after event id `after` that the caller may see (as api.alerts scopes them), oldest first: {events: [{id, change, alert}], last_event_id}; ask again from last_event_id. Without `after`: no events and the current last_event_id. GET /events streams the same as server-sent events.';


--
-- Name: alert_resolve(bigint, text, text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.alert_resolve(alert_id bigint, request_id text, note text DEFAULT NULL::text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE replay jsonb;
BEGIN
  IF note IS NOT NULL AND (length(btrim(note)) NOT BETWEEN 1 AND 2000) THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'note must be 1-2000 characters or null',
                             jsonb_build_object('argument', 'note'));
  END IF;
  PERFORM core.alert_for_update(alert_id);
  replay := core.idem_begin('alert_resolve', request_id, jsonb_build_object('alert_id', alert_id, 'note', note));
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  RETURN core.idem_finish('alert_resolve', request_id, core.alert_resolve(alert_id, note));
END $$;


ALTER FUNCTION api.alert_resolve(alert_id bigint, request_id text, note text) OWNER TO postgres;

--
-- Name: FUNCTION alert_resolve(alert_id bigint, request_id text, note text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.alert_resolve(alert_id bigint, request_id text, note text) IS 'Operators (own company) and admin: resolve an alert, with an optional note (details.resolve_note). The token''s sub is recorded as resolved_by. If the condition still holds, the next sweep raises a new alert. An alert already resolved is answered as it is. 404 ALERT_NOT_FOUND (also for another company''s). Idempotent on request_id.';


--
-- Name: alerts(text, text, integer); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.alerts(status text DEFAULT 'open'::text, domain text DEFAULT NULL::text, "limit" integer DEFAULT 100) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
BEGIN
  IF status IS NULL OR status NOT IN ('open', 'acknowledged', 'resolved', 'active', 'all') THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'status must be open, acknowledged, resolved, active or all',
                             jsonb_build_object('argument', 'status'));
  END IF;
  IF domain IS NOT NULL AND domain NOT IN ('atm', 'festival', 'checkout', 'dex', 'upkeep') THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'domain must be atm, festival, checkout, dex, upkeep or null',
                             jsonb_build_object('argument', 'domain'));
  END IF;
  IF "limit" IS NULL OR "limit" NOT BETWEEN 1 AND 1000 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'limit must be 1-1000', jsonb_build_object('argument', 'limit'));
  END IF;
  RETURN core.alerts_list(status, domain, "limit");
END $$;


ALTER FUNCTION api.alerts(status text, domain text, "limit" integer) OWNER TO postgres;

--
-- Name: FUNCTION alerts(status text, domain text, "limit" integer); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.alerts(status text, domain text, "limit" integer) IS 'Staff, operators, admin: alerts across domains (atm, festival, checkout, dex, upkeep), most recently seen first. status: open (default), acknowledged, resolved, active (open or acknowledged) or all; domain: one domain or null for every one; limit 1-1000 (100). Admin sees every alert, an operator its company''s, staff those of no company (festival, upkeep). Live changes: GET /events.';


--
-- Name: atm_jobs(text, text, integer); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.atm_jobs(status text DEFAULT NULL::text, kiosk_id text DEFAULT NULL::text, "limit" integer DEFAULT 100) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
BEGIN
  IF "limit" IS NULL OR "limit" NOT BETWEEN 1 AND 1000 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'limit must be 1..1000', jsonb_build_object('argument', 'limit'));
  ELSIF status IS NOT NULL AND status NOT IN ('pending', 'claimed', 'dispensing', 'retry_wait', 'completed', 'failed',
                                              'needs_reconciliation') THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'status must be a dispense job status, or null for the live queue',
                             jsonb_build_object('argument', 'status'));
  END IF;
  RETURN atm.jobs_of(status, kiosk_id, "limit");
END $$;


ALTER FUNCTION api.atm_jobs(status text, kiosk_id text, "limit" integer) OWNER TO postgres;

--
-- Name: FUNCTION atm_jobs(status text, kiosk_id text, "limit" integer); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.atm_jobs(status text, kiosk_id text, "limit" integer) IS 'Operator/admin (an operator: its company''s kiosks): dispense jobs oldest first, at most limit (1..1000): those in status, or with status null the live queue (every job not completed or failed); optionally of one kiosk (KIOSK_NOT_FOUND). Each as the kiosk''s job answers without its claim_token, plus the transaction''s amount and currency, created_at, updated_at. Settle a needs_reconciliation job with dispense_reconcile.';


--
-- Name: atm_kiosk_health(text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.atm_kiosk_health(kiosk_id text) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE me text := kiosk.current_kiosk_id(); r jsonb;
BEGIN
  IF me IS NOT NULL AND me <> kiosk_id THEN
    PERFORM core.raise_error('FORBIDDEN', 'a kiosk may only read its own health');
  END IF;
  IF me IS NOT NULL THEN
    SELECT to_jsonb(h) INTO r FROM atm.kiosk_health h WHERE h.kiosk_id = me;
  ELSE
    r := atm.kiosk_health_of(kiosk_id);
  END IF;
  IF r IS NULL THEN
    PERFORM core.raise_error('KIOSK_NOT_FOUND', format('no ATM kiosk %s', kiosk_id));
  END IF;
  RETURN r;
END $$;


ALTER FUNCTION api.atm_kiosk_health(kiosk_id text) OWNER TO postgres;

--
-- Name: FUNCTION atm_kiosk_health(kiosk_id text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.atm_kiosk_health(kiosk_id text) IS 'Admin/operator (or the kiosk itself): last seen, pending / dispensing / reconciliation counts and status healthy | backlogged | offline | attention.';


--
-- Name: atm_kiosk_register(text, text, text, bigint, bigint, text, text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.atm_kiosk_register(kiosk_id text, name text, location text, fee_flat bigint, max_amount bigint, request_id text, company_id text DEFAULT NULL::text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE replay jsonb; k kiosk.kiosks; fee bigint := coalesce(fee_flat, 50);
BEGIN
  replay := core.idem_begin('atm_kiosk_register', request_id, jsonb_build_object(
    'kiosk_id', kiosk_id, 'name', name, 'location', location, 'fee_flat', fee_flat, 'max_amount', max_amount,
    'company_id', company_id));
  IF replay IS NOT NULL THEN RETURN replay; END IF;
  IF fee < 0 OR fee > 100000 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'fee_flat must be 0..100000 cents', jsonb_build_object('argument', 'fee_flat'));
  ELSIF max_amount IS NULL OR max_amount <= 0 OR max_amount % atm.coin_cents() <> 0 OR max_amount > 1000000 THEN
    PERFORM core.raise_error('INVALID_REQUEST',
                             format('max_amount must be a positive multiple of %s up to 1000000 cents', atm.coin_cents()),
                             jsonb_build_object('argument', 'max_amount'));
  END IF;
  k := kiosk.register(kiosk_id, 'atm', name, location, company_id);
  INSERT INTO atm.kiosk_config (kiosk_id, fee_flat, max_amount) VALUES (k.kiosk_id, fee, max_amount);
  RETURN core.idem_finish('atm_kiosk_register', request_id, jsonb_build_object(
    'kiosk_id', k.kiosk_id, 'kind', k.kind, 'name', k.name, 'location', k.location, 'fee_flat', fee,
    'max_amount', max_amount, 'company_id', k.company_id));
END $$;


ALTER FUNCTION api.atm_kiosk_register(kiosk_id text, name text, location text, fee_flat bigint, max_amount bigint, request_id text, company_id text) OWNER TO postgres;

--
-- Name: FUNCTION atm_kiosk_register(kiosk_id text, name text, location text, fee_flat bigint, max_amount bigint, request_id text, company_id text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.atm_kiosk_register(kiosk_id text, name text, location text, fee_flat bigint, max_amount bigint, request_id text, company_id text) IS 'Admin: register an ATM kiosk (kiosk_id: 1-40 of a-z 0-9 _) of company_id (its operators see it; NULL: admins only). fee_flat in cents (NULL = 50), max_amount in cents, a whole number of quarters. Provision its agent with `kioskledger kiosk-provision`.';


--
-- Name: atm_kiosks(); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.atm_kiosks() RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
  SELECT atm.kiosks_health()
$$;


ALTER FUNCTION api.atm_kiosks() OWNER TO postgres;

--
-- Name: FUNCTION atm_kiosks(); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.atm_kiosks() IS 'Operator/admin (an operator: its company''s kiosks): every ATM kiosk''s health as atm_kiosk_health gives one (last seen, pending / dispensing / needs_reconciliation / failed jobs, open alerts, status healthy | backlogged | offline | attention), kiosks needing a person first.';


--
-- Name: atm_pay(uuid, text, text, text, text, bigint, text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.atm_pay(transaction_id uuid, nullifier_hash text, world_payment_id text, payment_status text, payment_reference text, paid_amount bigint, request_id text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE
  replay jsonb;
  -- Every customer's /atm/pay reaches us as the one payments principal: keys are scoped
  -- per transaction, or two customers who pick the same request_id would collide.
  scope text := 'atm_pay:' || transaction_id;
BEGIN
  IF transaction_id IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'transaction_id is required', jsonb_build_object('argument', 'transaction_id'));
  END IF;
  -- The key covers what the client sent, not the facts looked up for it: a retry after a
  -- declined (say, still pending) payment replays that decline; a new attempt takes a new key.
  replay := core.idem_begin(scope, request_id, jsonb_build_object(
    'transaction_id', transaction_id,
    'nullifier_hash', coalesce(atm.canonical_nullifier(nullifier_hash), nullifier_hash),
    'world_payment_id', world_payment_id));
  IF replay IS NOT NULL THEN RETURN replay; END IF;
  -- A transaction is paid once: its id is the payment transfer's key.
  RETURN core.idem_finish(scope, request_id, atm.pay(transaction_id, nullifier_hash, world_payment_id,
    payment_status, payment_reference, paid_amount, transaction_id::text));
END $$;


ALTER FUNCTION api.atm_pay(transaction_id uuid, nullifier_hash text, world_payment_id text, payment_status text, payment_reference text, paid_amount bigint, request_id text) OWNER TO postgres;

--
-- Name: FUNCTION atm_pay(transaction_id uuid, nullifier_hash text, world_payment_id text, payment_status text, payment_reference text, paid_amount bigint, request_id text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.atm_pay(transaction_id uuid, nullifier_hash text, world_payment_id text, payment_status text, payment_reference text, paid_amount bigint, request_id text) IS 'Internal (payments role, from POST /atm/pay after World ID and payment verification): pay a pending transaction (also within atm.late_payment_grace_minutes after expiry) and queue its one dispense job; an excess is booked as refund due. Declines: EXPIRED 410, PAYMENT_NOT_CONFIRMED 402, PERSON_LIMIT_REACHED 403, ALREADY_PAID / PAYMENT_ALREADY_USED 409; a confirmed payment that cannot pay is booked whole as refund due, named in details.refund. request_id is scoped per transaction.';


--
-- Name: atm_refund_settle(bigint, text, text, text, text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.atm_refund_settle(refund_id bigint, method text, reference text, note text, request_id text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE replay jsonb;
BEGIN
  IF refund_id IS NOT NULL AND NOT atm.refund_visible(refund_id) THEN
    PERFORM core.raise_error('ATM_REFUND_NOT_FOUND', format('ATM refund %s does not exist', refund_id),
                             jsonb_build_object('refund_id', refund_id));
  END IF;
  replay := core.idem_begin('atm_refund_settle', request_id, jsonb_build_object(
    'refund_id', refund_id, 'method', method, 'reference', reference, 'note', note));
  IF replay IS NOT NULL THEN RETURN replay; END IF;
  RETURN core.idem_finish('atm_refund_settle', request_id, atm.refund_settle(refund_id, method, reference, note));
END $$;


ALTER FUNCTION api.atm_refund_settle(refund_id bigint, method text, reference text, note text, request_id text) OWNER TO postgres;

--
-- Name: FUNCTION atm_refund_settle(refund_id bigint, method text, reference text, note text, request_id text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.atm_refund_settle(refund_id bigint, method text, reference text, note text, request_id text) IS 'Operator/admin: an ATM refund due was paid back. method world_app | bank_transfer (reference required: the transfer''s id) | cash | other; moves it from refund due to refunds paid and resolves its alert. REFUND_ALREADY_SETTLED (409) for a second settlement.';


--
-- Name: atm_refunds_due(text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.atm_refunds_due(kiosk_id text DEFAULT NULL::text) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
BEGIN
  RETURN atm.refunds_due_of(kiosk_id);
END $$;


ALTER FUNCTION api.atm_refunds_due(kiosk_id text) OWNER TO postgres;

--
-- Name: FUNCTION atm_refunds_due(kiosk_id text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.atm_refunds_due(kiosk_id text) IS 'Operator/admin: World App payments owed back to their payers (reason late, excess, already_paid, underpaid, person_limit), oldest first, optionally for one kiosk. Pay each back, then record it with atm_refund_settle. An operator sees its company''s kiosks only.';


--
-- Name: atm_transaction_create(bigint, text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.atm_transaction_create(amount bigint, request_id text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE replay jsonb; id text := kiosk.require_kiosk();
BEGIN
  replay := core.idem_begin('atm_transaction_create', request_id, jsonb_build_object('amount', amount));
  IF replay IS NOT NULL THEN RETURN replay; END IF;
  PERFORM kiosk.touch(id);
  RETURN core.idem_finish('atm_transaction_create', request_id, atm.transaction_create(id, amount));
END $$;


ALTER FUNCTION api.atm_transaction_create(amount bigint, request_id text) OWNER TO postgres;

--
-- Name: FUNCTION atm_transaction_create(amount bigint, request_id text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.atm_transaction_create(amount bigint, request_id text) IS 'Kiosk: a customer wants amount cents of quarters (a positive whole number of quarters, at most the kiosk''s max). Returns {id, amount, fee, total, quarters, expires_at, pay_url, payment_reference, status}.';


--
-- Name: atm_transaction_status(uuid); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.atm_transaction_status(id uuid) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
BEGIN
  RETURN atm.transaction_status(id);
END $$;


ALTER FUNCTION api.atm_transaction_status(id uuid) OWNER TO postgres;

--
-- Name: FUNCTION atm_transaction_status(id uuid); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.atm_transaction_status(id uuid) IS 'Anyone with the transaction id: its status and dispense progress (coins paid so far).';


--
-- Name: atm_transactions(date, text, integer); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.atm_transactions(day date DEFAULT NULL::date, kiosk_id text DEFAULT NULL::text, "limit" integer DEFAULT 200) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
BEGIN
  IF "limit" IS NULL OR "limit" NOT BETWEEN 1 AND 1000 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'limit must be 1..1000', jsonb_build_object('argument', 'limit'));
  ELSIF NOT isfinite(day) THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'day must be a finite date', jsonb_build_object('argument', 'day'));
  END IF;
  RETURN atm.transactions_of(coalesce(day, (now() AT TIME ZONE 'UTC')::date), kiosk_id, "limit");
END $$;


ALTER FUNCTION api.atm_transactions(day date, kiosk_id text, "limit" integer) OWNER TO postgres;

--
-- Name: FUNCTION atm_transactions(day date, kiosk_id text, "limit" integer); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.atm_transactions(day date, kiosk_id text, "limit" integer) IS 'Operator/admin (an operator: its company''s kiosks): the ATM transactions created on one UTC day (default today), newest first, at most limit (1..1000), optionally of one kiosk (KIOSK_NOT_FOUND), each with its dispense progress; summary counts the whole day: transactions, paid, completed, amount and fees paid.';


--
-- Name: auth_login(text, text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.auth_login(email text, password text) RETURNS jsonb
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
  SELECT accounts.login(email, password)
$$;


ALTER FUNCTION api.auth_login(email text, password text) OWNER TO postgres;

--
-- Name: FUNCTION auth_login(email text, password text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.auth_login(email text, password text) IS 'The RPC server (POST /auth/login): check an email and password. Returns {claims, account, expires_in, refresh_token, refresh_expires_in} for the server to sign. Declines: INVALID_LOGIN (401; unknown email, wrong password and disabled account alike, counted per email), ACCOUNT_LOCKED (429, after accounts.max_failed_logins failures in a row, for accounts.lockout_seconds; details.locked_until, retry_after_seconds).';


--
-- Name: auth_logout(text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.auth_logout(refresh_token text) RETURNS jsonb
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
  SELECT accounts.logout(refresh_token)
$$;


ALTER FUNCTION api.auth_logout(refresh_token text) OWNER TO postgres;

--
-- Name: FUNCTION auth_logout(refresh_token text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.auth_logout(refresh_token text) IS 'The RPC server (POST /auth/logout): revoke the refresh token''s whole family (the session). Returns {revoked}: 0 for a token unknown or already revoked.';


--
-- Name: auth_refresh(text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.auth_refresh(refresh_token text) RETURNS jsonb
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
  SELECT accounts.refresh(refresh_token)
$$;


ALTER FUNCTION api.auth_refresh(refresh_token text) OWNER TO postgres;

--
-- Name: FUNCTION auth_refresh(refresh_token text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.auth_refresh(refresh_token text) IS 'The RPC server (POST /auth/refresh): spend a refresh token for a new one and fresh claims (the account as it is now). Declines: INVALID_REFRESH_TOKEN (401; details.reason unknown, malformed, expired, revoked, or reused - a spent token presented again revokes its whole family).';


--
-- Name: bar_order(text, jsonb, text, text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.bar_order(card_id text, items jsonb, request_id text, point_of_sale text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE replay jsonb; id text := cards.normalize_id(card_id);
BEGIN
  replay := core.idem_begin('bar_order', request_id,
                            jsonb_build_object('card_id', id, 'items', items, 'point_of_sale', point_of_sale));
  IF replay IS NOT NULL THEN RETURN replay; END IF;
  -- No transfer key: the request is the unit of idempotency here (see migration 0800).
  RETURN core.idem_finish('bar_order', request_id, cards.bar_order(id, items, point_of_sale, NULL));
END $$;


ALTER FUNCTION api.bar_order(card_id text, items jsonb, request_id text, point_of_sale text) OWNER TO postgres;

--
-- Name: FUNCTION bar_order(card_id text, items jsonb, request_id text, point_of_sale text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.bar_order(card_id text, items jsonb, request_id text, point_of_sale text) IS 'Staff: sell items=[{product_id, quantity 1..100}] to a card at catalogue prices. Returns {order_id, total, previous_balance, new_balance}. Declines: INSUFFICIENT_FUNDS 402 (balance in details), CARD_NOT_ACTIVE 403.';


--
-- Name: card_balance(text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.card_balance(card_id text) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
  SELECT cards.balance(cards.normalize_id(card_id))
$$;


ALTER FUNCTION api.card_balance(card_id text) OWNER TO postgres;

--
-- Name: FUNCTION card_balance(card_id text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.card_balance(card_id text) IS 'Anyone holding the card id: its balance, currency, status and any debt. CARD_NOT_FOUND (404) for an unknown card.';


--
-- Name: card_history(text, integer); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.card_history(card_id text, "limit" integer DEFAULT 50) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
BEGIN
  IF "limit" IS NULL OR "limit" NOT BETWEEN 1 AND 500 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'limit must be 1..500', jsonb_build_object('argument', 'limit'));
  END IF;
  RETURN cards.history(cards.normalize_id(card_id), "limit");
END $$;


ALTER FUNCTION api.card_history(card_id text, "limit" integer) OWNER TO postgres;

--
-- Name: FUNCTION card_history(card_id text, "limit" integer); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.card_history(card_id text, "limit" integer) IS 'Staff/admin: the card''s movements from the ledger, newest first, each with previous_balance and new_balance.';


--
-- Name: card_issue(text, text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.card_issue(card_id text, request_id text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE replay jsonb; id text := cards.normalize_id(card_id); issued jsonb;
BEGIN
  replay := core.idem_begin('card_issue', request_id, jsonb_build_object('card_id', id));
  IF replay IS NOT NULL THEN RETURN replay; END IF;
  issued := cards.issue(id);
  -- The refund code goes to this answer only: the stored response (replayed for the same
  -- request_id, readable by any DBA) never holds it.
  PERFORM core.idem_finish('card_issue', request_id, issued - 'refund_code');
  RETURN issued;
END $$;


ALTER FUNCTION api.card_issue(card_id text, request_id text) OWNER TO postgres;

--
-- Name: FUNCTION card_issue(card_id text, request_id text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.card_issue(card_id text, request_id text) IS 'Staff/admin: issue a card (8 letters/digits, stored upper-case) with an empty balance in the event currency. CONFLICT if it exists. The answer carries the card''s refund_code (XXXX-XXXX-XXXX, to hand to the holder: it proves possession for refund_request) once: a replay of the same request_id answers without it, and only its hash is kept. A card whose code was imported (card_refund_codes_import) keeps it: refund_code_source imported, no refund_code.';


--
-- Name: card_refund_codes_import(jsonb, text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.card_refund_codes_import(codes jsonb, request_id text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $_$
DECLARE replay jsonb;
BEGIN
  -- The payload compared on a replay is the card ids only, never the codes (see refund_request).
  replay := core.idem_begin('card_refund_codes_import', request_id, jsonb_build_object('card_ids',
              CASE WHEN jsonb_typeof(codes) = 'array' THEN jsonb_path_query_array(codes, '$[*].card_id') END));
  IF replay IS NOT NULL THEN RETURN replay; END IF;
  RETURN core.idem_finish('card_refund_codes_import', request_id, cards.refund_codes_import(codes));
END $_$;


ALTER FUNCTION api.card_refund_codes_import(codes jsonb, request_id text) OWNER TO postgres;

--
-- Name: FUNCTION card_refund_codes_import(codes jsonb, request_id text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.card_refund_codes_import(codes jsonb, request_id text) IS 'Admin: the refund codes of a pre-printed batch, codes=[{card_id, refund_code}] (1..50 a call; a code is 8-64 letters or digits, spaces and dashes ignored), kept as bcrypt hashes. Returns {imported, unchanged}. The same code again is unchanged; a card that already has another code refuses the whole batch (CONFLICT, details.card_ids). Import before issuing: an issued card keeps an imported code instead of getting a new one.';


--
-- Name: catalog(); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.catalog() RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
  SELECT checkout.catalog()
$$;


ALTER FUNCTION api.catalog() OWNER TO postgres;

--
-- Name: FUNCTION catalog(); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.catalog() IS 'Everyone: the self-checkout catalog {version, items: [{sku, name, price (minor units), currency, active}], limits: {max_batch}}. version changes on every edit; kiosks name it in each order. limits.max_batch is the most orders one checkout_sync call takes (setting checkout.max_batch). GET answers carry an ETag.';


--
-- Name: catalog_upsert(text, text, bigint, text, boolean, text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.catalog_upsert(sku text, name text, price bigint, currency text, active boolean, request_id text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE replay jsonb;
BEGIN
  replay := core.idem_begin('catalog_upsert', request_id, jsonb_build_object(
    'sku', sku, 'name', name, 'price', price, 'currency', currency, 'active', active));
  IF replay IS NOT NULL THEN RETURN replay; END IF;
  RETURN core.idem_finish('catalog_upsert', request_id, checkout.catalog_upsert(sku, name, price, currency, active));
END $$;


ALTER FUNCTION api.catalog_upsert(sku text, name text, price bigint, currency text, active boolean, request_id text) OWNER TO postgres;

--
-- Name: FUNCTION catalog_upsert(sku text, name text, price bigint, currency text, active boolean, request_id text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.catalog_upsert(sku text, name text, price bigint, currency text, active boolean, request_id text) IS 'Admin: create or change a self-checkout item (sku 1-64 of A-Z a-z 0-9 _.:-, price 1..10000000 minor units, ISO currency). A change takes the next catalog version; the same values again change nothing (changed: false).';


--
-- Name: checkout_backlog(timestamp with time zone); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.checkout_backlog(oldest_pending_at timestamp with time zone DEFAULT NULL::timestamp with time zone) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
BEGIN
  RETURN checkout.backlog_report(checkout.require_checkout_kiosk(), oldest_pending_at);
END $$;


ALTER FUNCTION api.checkout_backlog(oldest_pending_at timestamp with time zone) OWNER TO postgres;

--
-- Name: FUNCTION checkout_backlog(oldest_pending_at timestamp with time zone); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.checkout_backlog(oldest_pending_at timestamp with time zone) IS 'Self-checkout kiosk: report the creation time of its oldest order not yet synced (null when none), next to kiosk_heartbeat''s pending_orders; the dashboard shows its age.';


--
-- Name: checkout_kiosk_register(text, text, text, text, text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.checkout_kiosk_register(kiosk_id text, name text, location text, request_id text, company_id text DEFAULT NULL::text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE replay jsonb; k kiosk.kiosks;
BEGIN
  replay := core.idem_begin('checkout_kiosk_register', request_id, jsonb_build_object(
    'kiosk_id', kiosk_id, 'name', name, 'location', location, 'company_id', company_id));
  IF replay IS NOT NULL THEN RETURN replay; END IF;
  k := kiosk.register(kiosk_id, 'checkout', name, location, company_id);
  RETURN core.idem_finish('checkout_kiosk_register', request_id, jsonb_build_object(
    'kiosk_id', k.kiosk_id, 'kind', k.kind, 'name', k.name, 'location', k.location, 'company_id', k.company_id));
END $$;


ALTER FUNCTION api.checkout_kiosk_register(kiosk_id text, name text, location text, request_id text, company_id text) OWNER TO postgres;

--
-- Name: FUNCTION checkout_kiosk_register(kiosk_id text, name text, location text, request_id text, company_id text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.checkout_kiosk_register(kiosk_id text, name text, location text, request_id text, company_id text) IS 'Admin: register a self-checkout kiosk (kiosk_id: 1-40 of a-z 0-9 _) of company_id (its operators see it; NULL: admins only). Its edge then syncs with a kiosk token carrying that kiosk_id claim (kioskledger token kiosk --claim kiosk_id=...). CONFLICT if the id exists.';


--
-- Name: checkout_orders(text, timestamp with time zone, integer); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.checkout_orders(kiosk_id text DEFAULT NULL::text, since timestamp with time zone DEFAULT NULL::timestamp with time zone, "limit" integer DEFAULT 100) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
BEGIN
  RETURN checkout.orders_of(kiosk_id, since, "limit");
END $$;


ALTER FUNCTION api.checkout_orders(kiosk_id text, since timestamp with time zone, "limit" integer) OWNER TO postgres;

--
-- Name: FUNCTION checkout_orders(kiosk_id text, since timestamp with time zone, "limit" integer); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.checkout_orders(kiosk_id text, since timestamp with time zone, "limit" integer) IS 'Operator/admin (an operator: its company''s kiosks): stored self-checkout orders sold at or after since (all kiosks when kiosk_id is null), oldest first, at most limit (1..1000, default 100); each with its lines as charged (catalog_price, price_flag) and its ledger transfer_id. KIOSK_NOT_FOUND for an unknown kiosk.';


--
-- Name: checkout_refused_orders(text, boolean, integer); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.checkout_refused_orders(kiosk_id text DEFAULT NULL::text, include_resolved boolean DEFAULT false, "limit" integer DEFAULT 100) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
BEGIN
  IF "limit" IS NULL OR "limit" NOT BETWEEN 1 AND 1000 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'limit must be 1..1000', jsonb_build_object('argument', 'limit'));
  END IF;
  RETURN checkout.refused_orders_of(kiosk_id, coalesce(include_resolved, false), "limit");
END $$;


ALTER FUNCTION api.checkout_refused_orders(kiosk_id text, include_resolved boolean, "limit" integer) OWNER TO postgres;

--
-- Name: FUNCTION checkout_refused_orders(kiosk_id text, include_resolved boolean, "limit" integer); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.checkout_refused_orders(kiosk_id text, include_resolved boolean, "limit" integer) IS 'Operator/admin (an operator: its company''s kiosks): orders the central refused, newest first, at most limit (1..1000): status mismatch (the key was used with another payload; the stored order stands) or rejected with reason and message, the payload as sent, how many times it came (times), first and last seen. Open ones only unless include_resolved; all kiosks when kiosk_id is null (KIOSK_NOT_FOUND for an unknown one).';


--
-- Name: checkout_sync(jsonb); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.checkout_sync(orders jsonb) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
BEGIN
  RETURN checkout.sync(checkout.require_checkout_kiosk(), orders);
END $$;


ALTER FUNCTION api.checkout_sync(orders jsonb) OWNER TO postgres;

--
-- Name: FUNCTION checkout_sync(orders jsonb); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.checkout_sync(orders jsonb) IS 'Self-checkout kiosk: push up to checkout.max_batch (500) orders [{idempotency_key 8..128, created_at ISO 8601, payment_method card|mobile|cash, currency, catalog_version, lines: [{sku, qty 1..200, unit_price}]}] in one transaction. Order id = kiosk_id:idempotency_key. Per order, in input order: accepted (stored, ledger transfer posted), duplicate (identical payload already stored), mismatch (same key, other payload: reported, never overwritten) or rejected with reason and message. Lines keep the kiosk''s prices; lines that differ from the named catalog version are flagged. Retry-safe: the order keys are the idempotency keys.';


--
-- Name: checkpoint_recharge(text, bigint, text, text, text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.checkpoint_recharge(card_id text, amount bigint, payment_method text, checkpoint_id text, request_id text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE replay jsonb; id text := cards.normalize_id(card_id);
BEGIN
  replay := core.idem_begin('checkpoint_recharge', request_id, jsonb_build_object(
    'card_id', id, 'amount', amount, 'payment_method', payment_method, 'checkpoint_id', checkpoint_id));
  IF replay IS NOT NULL THEN RETURN replay; END IF;
  RETURN core.idem_finish('checkpoint_recharge', request_id,
    cards.checkpoint_recharge(id, amount, payment_method, checkpoint_id, core.principal() || ':' || request_id));
END $$;


ALTER FUNCTION api.checkpoint_recharge(card_id text, amount bigint, payment_method text, checkpoint_id text, request_id text) OWNER TO postgres;

--
-- Name: FUNCTION checkpoint_recharge(card_id text, amount bigint, payment_method text, checkpoint_id text, request_id text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.checkpoint_recharge(card_id text, amount bigint, payment_method text, checkpoint_id text, request_id text) IS 'Staff: recharge a card at a checkpoint, payment_method cash|card, 1 <= amount <= setting cards.max_recharge (default 100000). The staff member comes from the token.';


--
-- Name: company_create(text, text, text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.company_create(company_id text, name text, request_id text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $_$
DECLARE replay jsonb;
BEGIN
  IF company_id IS NULL OR company_id !~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'company_id must be 1-63 letters, digits, _ . - (starting with a letter or digit)',
                             jsonb_build_object('argument', 'company_id'));
  END IF;
  IF name IS NULL OR length(btrim(name)) NOT BETWEEN 1 AND 200 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'name must be 1-200 characters', jsonb_build_object('argument', 'name'));
  END IF;
  replay := core.idem_begin('company_create', request_id, jsonb_build_object('company_id', company_id, 'name', name));
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  RETURN core.idem_finish('company_create', request_id, dex.company_create(company_id, name));
END $_$;


ALTER FUNCTION api.company_create(company_id text, name text, request_id text) OWNER TO postgres;

--
-- Name: FUNCTION company_create(company_id text, name text, request_id text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.company_create(company_id text, name text, request_id text) IS 'Admin: create a company (an operator''s token names its company in the company_id claim). company_id: 1-63 of [A-Za-z0-9_.-]. 409 CONFLICT if it exists. Idempotent on request_id.';


--
-- Name: dashboard_kiosks(); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.dashboard_kiosks() RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
  SELECT checkout.dashboard_kiosks()
$$;


ALTER FUNCTION api.dashboard_kiosks() OWNER TO postgres;

--
-- Name: FUNCTION dashboard_kiosks(); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.dashboard_kiosks() IS 'Operator/admin (an operator: its company''s kiosks): per self-checkout kiosk: online, last_seen_at, link_up, app_version, pending_orders, oldest_unsynced_age_seconds, orders_today, revenue_today per currency, last_sale_at, last_sync_at, open refused_orders.';


--
-- Name: dashboard_overview(); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.dashboard_overview() RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
  SELECT checkout.dashboard_overview()
$$;


ALTER FUNCTION api.dashboard_overview() OWNER TO postgres;

--
-- Name: FUNCTION dashboard_overview(); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.dashboard_overview() IS 'Operator/admin (an operator: its company''s kiosks): the self-checkout fleet now: kiosks, online (heartbeat within checkout.online_seconds = 20 s and link up) / offline, orders_today and revenue_today per currency (sale time, checkout.timezone), pending_orders and kiosks_with_backlog as the kiosks report them, oldest_unsynced_age_seconds, open refused_orders.';


--
-- Name: deposit_return(text, integer, text, text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.deposit_return(card_id text, quantity integer, request_id text, point_of_sale text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE replay jsonb; id text := cards.normalize_id(card_id);
BEGIN
  replay := core.idem_begin('deposit_return', request_id,
                            jsonb_build_object('card_id', id, 'quantity', quantity, 'point_of_sale', point_of_sale));
  IF replay IS NOT NULL THEN RETURN replay; END IF;
  RETURN core.idem_finish('deposit_return', request_id,
                          cards.deposit_return(id, quantity, point_of_sale, core.principal() || ':' || request_id));
END $$;


ALTER FUNCTION api.deposit_return(card_id text, quantity integer, request_id text, point_of_sale text) OWNER TO postgres;

--
-- Name: FUNCTION deposit_return(card_id text, quantity integer, request_id text, point_of_sale text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.deposit_return(card_id text, quantity integer, request_id text, point_of_sale text) IS 'Staff: take back quantity deposits (cups) and credit what this card paid for them. Declines DEPOSIT_NOT_OUTSTANDING (409) beyond the deposits it paid and has not returned.';


--
-- Name: dex_ingest(text, text, text, text, timestamp with time zone); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.dex_ingest(case_serial text, raw text, source text, request_id text, captured_at timestamp with time zone DEFAULT NULL::timestamp with time zone) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $_$
DECLARE replay jsonb;
BEGIN
  IF case_serial IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'case_serial is required', jsonb_build_object('argument', 'case_serial'));
  END IF;
  IF raw IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'raw (the DEX file as text) is required', jsonb_build_object('argument', 'raw'));
  END IF;
  IF octet_length(raw) > 1000000 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'raw is over 1 MB; a DEX audit is a few KB',
                             jsonb_build_object('argument', 'raw'));
  END IF;
  IF source IS NULL OR source !~ '^[A-Za-z0-9][A-Za-z0-9_.:/@-]{0,63}$' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'source must be 1-64 of [A-Za-z0-9_.:/@-], e.g. telemetry or dex-import',
                             jsonb_build_object('argument', 'source'));
  END IF;
  -- The capture time dates the read's sales and freshness: a time that has not happened yet
  -- (beyond a few minutes of clock skew between the source and us) is a wrong clock.
  IF NOT isfinite(captured_at) OR captured_at > now() + interval '5 minutes' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'captured_at must be a finite time, not in the future (5 minutes of clock skew allowed)',
                             jsonb_build_object('argument', 'captured_at'));
  END IF;
  -- The file's hash stands for the file in the idempotency payload (the capture time only
  -- when given, so keys stored before it existed still replay). An unknown (or another
  -- company's) machine raises MACHINE_NOT_FOUND below, which also drops the key.
  replay := core.idem_begin('dex_ingest', request_id, jsonb_build_object(
    'case_serial', case_serial, 'sha256', encode(sha256(convert_to(raw, 'UTF8')), 'hex'), 'source', source)
    || CASE WHEN captured_at IS NOT NULL THEN jsonb_build_object('captured_at', captured_at) ELSE '{}'::jsonb END);
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  RETURN core.idem_finish('dex_ingest', request_id, dex.ingest(case_serial, raw, source, captured_at));
END $_$;


ALTER FUNCTION api.dex_ingest(case_serial text, raw text, source text, request_id text, captured_at timestamp with time zone) OWNER TO postgres;

--
-- Name: FUNCTION dex_ingest(case_serial text, raw text, source text, request_id text, captured_at timestamp with time zone); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.dex_ingest(case_serial text, raw text, source text, request_id text, captured_at timestamp with time zone) IS 'Operator of the machine''s company, or admin: ingest one DEX/EVA-DTS file for the machine with this case serial; the SQL parses it (LF/CRLF/CR, several DXS blocks, G85 CRC-16 and SE checks). captured_at (optional): when the telemetry source captured the file; a read''s sales day and freshness go by it, else by the machine''s clock (EA3/ID5, a zoneless wall time taken as UTC), else by the receipt; 400 INVALID_REQUEST if not finite or in the future (5 minutes of skew allowed). Returns {capture_id, status: accepted|rejected|duplicate, reject_reason, crc_status: ok|ok_swapped|ok_no_final_crlf|not_computed (the device prints one fake G85 on every file: no warning)|mismatch|absent, se_status: ok|mismatch|absent, warnings, reads (each with read_at and read_at_source: captured_at|machine_clock|received)}. Malformed files are stored as rejected with a reason (not an error); the same file again is duplicate, counted once. 404 MACHINE_NOT_FOUND. Idempotent on request_id.';


--
-- Name: dispense_begin(bigint, uuid); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.dispense_begin(job_id bigint, claim_token uuid) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
BEGIN
  RETURN atm.begin_dispense(job_id, kiosk.require_kiosk(), claim_token);
END $$;


ALTER FUNCTION api.dispense_begin(job_id bigint, claim_token uuid) OWNER TO postgres;

--
-- Name: FUNCTION dispense_begin(job_id bigint, claim_token uuid); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.dispense_begin(job_id bigint, claim_token uuid) IS 'Kiosk: claimed -> dispensing. Commit this BEFORE running the motor. CONFLICT (409) on a stale token or state.';


--
-- Name: dispense_claim(); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.dispense_claim() RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE k kiosk.kiosks := kiosk.require_kiosk_row();
BEGIN
  -- The claim is the kiosk's implicit heartbeat. Written at most once a second (decided
  -- from the row the identity lookup already read): the kiosk row is a hot row when
  -- several claimers share a login, and last_seen_at only needs to answer "seen in the
  -- last 2 minutes".
  IF k.last_seen_at IS NULL OR k.last_seen_at < now() - interval '1 second' THEN
    UPDATE kiosk.kiosks x SET last_seen_at = now()
     WHERE x.kiosk_id = k.kiosk_id AND (x.last_seen_at IS NULL OR x.last_seen_at < now() - interval '1 second');
  END IF;
  RETURN atm.claim(k.kiosk_id);
END $$;


ALTER FUNCTION api.dispense_claim() OWNER TO postgres;

--
-- Name: FUNCTION dispense_claim(); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.dispense_claim() IS 'Kiosk: claim this kiosk''s next due dispense job (FOR UPDATE SKIP LOCKED) with a lease and a fresh claim_token; null when none is due.';


--
-- Name: dispense_expire_leases(); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.dispense_expire_leases() RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
BEGIN
  RETURN atm.expire_leases();
END $$;


ALTER FUNCTION api.dispense_expire_leases() OWNER TO postgres;

--
-- Name: FUNCTION dispense_expire_leases(); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.dispense_expire_leases() IS 'Kiosk agents and admins: apply lease expiry (claimed -> pending; dispensing -> needs_reconciliation). Safe to call any time.';


--
-- Name: dispense_finish(bigint, uuid, integer, text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.dispense_finish(job_id bigint, claim_token uuid, coins_paid integer, error_code text DEFAULT NULL::text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
BEGIN
  RETURN atm.finish(job_id, kiosk.require_kiosk(), claim_token, coins_paid, error_code);
END $$;


ALTER FUNCTION api.dispense_finish(job_id bigint, claim_token uuid, coins_paid integer, error_code text) OWNER TO postgres;

--
-- Name: FUNCTION dispense_finish(job_id bigint, claim_token uuid, coins_paid integer, error_code text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.dispense_finish(job_id bigint, claim_token uuid, coins_paid integer, error_code text) IS 'Kiosk: report the hopper''s count (running total). All quarters -> completed; fewer -> retry_wait for the remainder with backoff, or failed + alert after max_attempts.';


--
-- Name: dispense_progress(bigint, uuid, integer); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.dispense_progress(job_id bigint, claim_token uuid, coins_paid integer) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
BEGIN
  RETURN atm.progress(job_id, kiosk.require_kiosk(), claim_token, coins_paid);
END $$;


ALTER FUNCTION api.dispense_progress(job_id bigint, claim_token uuid, coins_paid integer) OWNER TO postgres;

--
-- Name: FUNCTION dispense_progress(job_id bigint, claim_token uuid, coins_paid integer); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.dispense_progress(job_id bigint, claim_token uuid, coins_paid integer) IS 'Kiosk: heartbeat while dispensing; extends the lease. coins_paid is the job''s running total.';


--
-- Name: dispense_reconcile(bigint, integer, text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.dispense_reconcile(job_id bigint, coins_paid integer, note text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE id text := kiosk.current_kiosk_id();
BEGIN
  IF id IS NULL AND core.request_role() NOT IN ('admin') AND NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = session_user) THEN
    PERFORM core.raise_error('FORBIDDEN', 'only the job''s kiosk or an admin may reconcile');
  END IF;
  RETURN atm.reconcile(job_id, id, coins_paid, note);
END $$;


ALTER FUNCTION api.dispense_reconcile(job_id bigint, coins_paid integer, note text) OWNER TO postgres;

--
-- Name: FUNCTION dispense_reconcile(job_id bigint, coins_paid integer, note text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.dispense_reconcile(job_id bigint, coins_paid integer, note text) IS 'Kiosk (own jobs) or admin: settle a needs_reconciliation job from the hopper''s counters: all paid -> completed, else the remainder is queued again.';


--
-- Name: dispense_report(bigint, uuid, integer, integer, text, jsonb); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.dispense_report(job_id bigint, claim_token uuid, coins_paid integer, base_paid integer, error_code text, evidence jsonb) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
BEGIN
  RETURN atm.report_payout(job_id, kiosk.require_kiosk(), claim_token, coins_paid, base_paid, error_code, evidence);
END $$;


ALTER FUNCTION api.dispense_report(job_id bigint, claim_token uuid, coins_paid integer, base_paid integer, error_code text, evidence jsonb) OWNER TO postgres;

--
-- Name: FUNCTION dispense_report(job_id bigint, claim_token uuid, coins_paid integer, base_paid integer, error_code text, evidence jsonb); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.dispense_report(job_id bigint, claim_token uuid, coins_paid integer, base_paid integer, error_code text, evidence jsonb) IS 'Kiosk agent: report an attempt''s hopper count (coins_paid, the running total; base_paid, the total when the claim began; evidence, a JSON object saying how it is known). Returns {outcome, job}: finished (the count applied as by dispense_finish), reconciled (the lease ran out under this claim: the count settles the job), nothing_paid (the claim is over and this attempt paid nothing; nothing changes). CONFLICT (409) when the count can no longer be applied by the kiosk.';


--
-- Name: dispense_unknown(bigint, uuid, jsonb); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.dispense_unknown(job_id bigint, claim_token uuid, evidence jsonb) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
BEGIN
  RETURN atm.park_unknown(job_id, kiosk.require_kiosk(), claim_token, evidence);
END $$;


ALTER FUNCTION api.dispense_unknown(job_id bigint, claim_token uuid, evidence jsonb) OWNER TO postgres;

--
-- Name: FUNCTION dispense_unknown(job_id bigint, claim_token uuid, evidence jsonb); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.dispense_unknown(job_id bigint, claim_token uuid, evidence jsonb) IS 'Kiosk: what an interrupted payout paid cannot be established -> needs_reconciliation now, with this evidence (a JSON object) in the job history and an alert. Repeating it after the lease expired appends the evidence.';


--
-- Name: festival_cards_attention(integer); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.festival_cards_attention("limit" integer DEFAULT 100) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
BEGIN
  IF "limit" IS NULL OR "limit" NOT BETWEEN 1 AND 1000 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'limit must be 1..1000', jsonb_build_object('argument', 'limit'));
  END IF;
  RETURN cards.needing_attention("limit");
END $$;


ALTER FUNCTION api.festival_cards_attention("limit" integer) OWNER TO postgres;

--
-- Name: FUNCTION festival_cards_attention("limit" integer); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.festival_cards_attention("limit" integer) IS 'Admin: cards with debt (a refund or chargeback took more than the balance) or a disputed Stripe payment, largest debt first: [{card_id, status, balance, debt, disputed}].';


--
-- Name: festival_recharges(timestamp with time zone); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.festival_recharges(since timestamp with time zone DEFAULT NULL::timestamp with time zone) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
BEGIN
  IF NOT isfinite(since) THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'since must be a finite time', jsonb_build_object('argument', 'since'));
  END IF;
  RETURN cards.recharges_since(since);
END $$;


ALTER FUNCTION api.festival_recharges(since timestamp with time zone) OWNER TO postgres;

--
-- Name: FUNCTION festival_recharges(since timestamp with time zone); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.festival_recharges(since timestamp with time zone) IS 'Admin: card recharges since a time (null: ever) per checkpoint and payment method, largest amount first: [{checkpoint_id (online for Stripe), method cash|card|stripe, recharges, amount}].';


--
-- Name: festival_sales_per_hour(timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.festival_sales_per_hour(since timestamp with time zone DEFAULT NULL::timestamp with time zone, until timestamp with time zone DEFAULT NULL::timestamp with time zone) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE upto timestamptz := coalesce(until, now()); from_ timestamptz := coalesce(since, coalesce(until, now()) - interval '24 hours');
BEGIN
  IF NOT isfinite(from_) OR NOT isfinite(upto) OR upto <= from_ OR upto - from_ > interval '31 days' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'since must be before until, at most 31 days apart',
                             jsonb_build_object('argument', CASE WHEN since IS NULL THEN 'until' ELSE 'since' END));
  END IF;
  RETURN cards.sales_per_hour(from_, upto);
END $$;


ALTER FUNCTION api.festival_sales_per_hour(since timestamp with time zone, until timestamp with time zone) OWNER TO postgres;

--
-- Name: FUNCTION festival_sales_per_hour(since timestamp with time zone, until timestamp with time zone); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.festival_sales_per_hour(since timestamp with time zone, until timestamp with time zone) IS 'Admin: bar sales per point of sale per UTC hour in [since, until) (default: the last 24 hours; at most 31 days): hours (every hour of the window, for a chart), rows [{point_of_sale, hour, orders, sales, deposits_taken}] oldest hour first (hours with sales only), totals per point of sale (largest first), the event currency. sales exclude deposits.';


--
-- Name: festival_top_products(timestamp with time zone, integer); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.festival_top_products(since timestamp with time zone DEFAULT NULL::timestamp with time zone, "limit" integer DEFAULT 10) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
BEGIN
  IF "limit" IS NULL OR "limit" NOT BETWEEN 1 AND 100 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'limit must be 1..100', jsonb_build_object('argument', 'limit'));
  ELSIF NOT isfinite(since) THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'since must be a finite time', jsonb_build_object('argument', 'since'));
  END IF;
  RETURN cards.top_products_since(since, "limit");
END $$;


ALTER FUNCTION api.festival_top_products(since timestamp with time zone, "limit" integer) OWNER TO postgres;

--
-- Name: FUNCTION festival_top_products(since timestamp with time zone, "limit" integer); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.festival_top_products(since timestamp with time zone, "limit" integer) IS 'Admin: the bar products with the most revenue since a time (null: ever), at most limit (1..100, default 10): [{product_id, name, category, units, revenue}]. Deposits (cups) are not products.';


--
-- Name: kiosk_assign_company(text, text, text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.kiosk_assign_company(kiosk_id text, company_id text, request_id text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE replay jsonb;
BEGIN
  replay := core.idem_begin('kiosk_assign_company', request_id,
                            jsonb_build_object('kiosk_id', kiosk_id, 'company_id', company_id));
  IF replay IS NOT NULL THEN RETURN replay; END IF;
  RETURN core.idem_finish('kiosk_assign_company', request_id, kiosk.assign_company(kiosk_id, company_id));
END $$;


ALTER FUNCTION api.kiosk_assign_company(kiosk_id text, company_id text, request_id text) OWNER TO postgres;

--
-- Name: FUNCTION kiosk_assign_company(kiosk_id text, company_id text, request_id text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.kiosk_assign_company(kiosk_id text, company_id text, request_id text) IS 'Admin: the company an ATM or self-checkout kiosk belongs to (null: none, admins only). Its operators then see the kiosk and everything it sold, dispensed or owes. KIOSK_NOT_FOUND, COMPANY_NOT_FOUND.';


--
-- Name: kiosk_heartbeat(boolean, integer, text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.kiosk_heartbeat(link_up boolean DEFAULT NULL::boolean, pending_orders integer DEFAULT NULL::integer, app_version text DEFAULT NULL::text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE id text := kiosk.require_kiosk();
BEGIN
  IF pending_orders IS NOT NULL AND pending_orders < 0 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'pending_orders must be >= 0', jsonb_build_object('argument', 'pending_orders'));
  ELSIF app_version IS NOT NULL AND length(app_version) > 64 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'app_version must be at most 64 characters',
                             jsonb_build_object('argument', 'app_version'));
  END IF;
  PERFORM kiosk.touch(id, link_up, pending_orders, app_version);
  RETURN (SELECT jsonb_build_object('kiosk_id', k.kiosk_id, 'last_seen_at', k.last_seen_at)
            FROM kiosk.kiosks k WHERE k.kiosk_id = id);
END $$;


ALTER FUNCTION api.kiosk_heartbeat(link_up boolean, pending_orders integer, app_version text) OWNER TO postgres;

--
-- Name: FUNCTION kiosk_heartbeat(link_up boolean, pending_orders integer, app_version text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.kiosk_heartbeat(link_up boolean, pending_orders integer, app_version text) IS 'Kiosk: I am alive (claims count too). Self-checkout kiosks also report link_up, pending_orders, app_version.';


--
-- Name: ledger_account(bigint); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.ledger_account(id bigint) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE acct record;
BEGIN
  SELECT * INTO acct FROM ledger.account_balances b WHERE b.id = ledger_account.id;
  IF NOT FOUND THEN
    PERFORM core.raise_error('ACCOUNT_NOT_FOUND', format('account %s does not exist', ledger_account.id),
                             jsonb_build_object('account_id', ledger_account.id));
  END IF;
  RETURN jsonb_build_object(
    'id', acct.id, 'kind', acct.kind, 'owner_ref', acct.owner_ref, 'currency', acct.currency,
    'lower_bound', acct.lower_bound, 'balance', acct.balance,
    'postings', coalesce((
      SELECT jsonb_agg(jsonb_build_object('posting_id', p.id, 'transfer_id', p.transfer_id,
                                          'kind', t.kind, 'amount', p.amount, 'created_at', p.created_at)
                       ORDER BY p.id DESC)
        FROM (SELECT * FROM ledger.postings p WHERE p.account_id = acct.id ORDER BY p.id DESC LIMIT 20) p
        JOIN ledger.transfers t ON t.id = p.transfer_id), '[]'));
END $$;


ALTER FUNCTION api.ledger_account(id bigint) OWNER TO postgres;

--
-- Name: FUNCTION ledger_account(id bigint); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.ledger_account(id bigint) IS 'Admin: an account with its current balance (pending house-account deltas included) and its last 20 postings, newest first.';


--
-- Name: ledger_account_open(text, text, text, bigint, text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.ledger_account_open(kind text, owner_ref text, currency text, lower_bound bigint, request_id text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE
  replay jsonb;
  acct   ledger.accounts;
BEGIN
  replay := core.idem_begin('ledger_account_open', request_id, jsonb_build_object(
    'kind', kind, 'owner_ref', owner_ref, 'currency', currency, 'lower_bound', lower_bound));
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  acct := ledger.open_account(kind, owner_ref, currency, lower_bound);
  RETURN core.idem_finish('ledger_account_open', request_id, jsonb_build_object(
    'id', acct.id, 'kind', acct.kind, 'owner_ref', acct.owner_ref, 'currency', acct.currency,
    'lower_bound', acct.lower_bound, 'balance', acct.balance));
END $$;


ALTER FUNCTION api.ledger_account_open(kind text, owner_ref text, currency text, lower_bound bigint, request_id text) OWNER TO postgres;

--
-- Name: FUNCTION ledger_account_open(kind text, owner_ref text, currency text, lower_bound bigint, request_id text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.ledger_account_open(kind text, owner_ref text, currency text, lower_bound bigint, request_id text) IS 'Admin: open a ledger account. kind is lower_snake_case, currency ISO-4217, lower_bound NULL for an unbounded house account or <= 0 (0 = may never go negative). Idempotent on request_id.';


--
-- Name: ledger_transfer(jsonb, text, text, jsonb); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.ledger_transfer(postings jsonb, kind text, request_id text, metadata jsonb DEFAULT '{}'::jsonb) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE
  replay  jsonb;
  ids     bigint[];
  amounts bigint[];
  leg     jsonb;
  valid   boolean;
  -- A leg's account_id and amount as the JSON numbers sent, before they are checked to be
  -- whole and within bigint; the amounts posted are the bigint minor units in `amounts`.
  id_n       numeric;
  leg_number numeric;
  posted  record;
  answer  jsonb;
  leg_balance bigint;
BEGIN
  IF postings IS NULL OR jsonb_typeof(postings) <> 'array' OR jsonb_array_length(postings) < 2 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'postings must be an array of at least two {account_id, amount}',
                             jsonb_build_object('argument', 'postings'));
  END IF;
  IF jsonb_array_length(postings) > 100 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'at most 100 postings per transfer',
                             jsonb_build_object('argument', 'postings'));
  END IF;
  -- The rule of the ledger.kind domain, without a regular expression (a matcher set up
  -- per call costs more than the rest of the checks).
  IF kind IS NULL OR NOT (length(kind) BETWEEN 1 AND 63 AND ascii(kind) BETWEEN 97 AND 122
                          AND translate(kind, 'abcdefghijklmnopqrstuvwxyz0123456789_', '') = '') THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'kind must be lower_snake_case (1-63 chars)',
                             jsonb_build_object('argument', 'kind'));
  END IF;
  IF metadata IS NOT NULL AND jsonb_typeof(metadata) <> 'object' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'metadata must be an object',
                             jsonb_build_object('argument', 'metadata'));
  END IF;
  -- Each leg read and checked with plain expressions, which PL/pgSQL evaluates without the
  -- executor; only a bad leg calls the helpers that name the bad field. (A statement per
  -- leg plus two helper calls per field measured as much as the transfer itself.)
  FOR i IN 0 .. jsonb_array_length(postings) - 1 LOOP
    leg := postings -> i;
    IF jsonb_typeof(leg) <> 'object' THEN
      valid := false;
    ELSE
      valid := (leg - 'account_id'::text - 'amount'::text) = '{}'::jsonb;
    END IF;
    IF NOT valid THEN
      PERFORM core.raise_error('INVALID_REQUEST', format('postings[%s] must be {account_id, amount}', i),
                               jsonb_build_object('argument', 'postings'));
    END IF;
    IF jsonb_typeof(leg -> 'account_id') = 'number' AND jsonb_typeof(leg -> 'amount') = 'number' THEN
      id_n := (leg ->> 'account_id')::numeric;
      leg_number := (leg ->> 'amount')::numeric;
      -- 2^53 - 1: the largest integer every JSON client reads exactly (as core.json_bigint).
      valid := id_n = trunc(id_n) AND abs(id_n) <= 9007199254740991
               AND leg_number = trunc(leg_number) AND abs(leg_number) <= 9007199254740991;
    ELSE
      valid := false;
    END IF;
    IF NOT valid THEN  -- raises, naming the field
      PERFORM core.json_bigint(leg -> 'account_id', format('postings[%s].account_id', i));
      PERFORM core.json_bigint(leg -> 'amount', format('postings[%s].amount', i));
    END IF;
    ids[i + 1] := id_n::bigint;
    amounts[i + 1] := leg_number::bigint;
  END LOOP;

  replay := core.idem_begin('ledger_transfer', request_id, jsonb_build_object(
    'postings', postings, 'kind', kind, 'metadata', coalesce(metadata, '{}')));
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;

  -- idem_begin noted who is asking: the transfer's key without working it out again.
  posted := ledger.post_transfer(kind, ids, amounts, current_setting('idem.principal') || ':' || request_id,
                                 coalesce(metadata, '{}'));
  IF posted.short_account_id IS NOT NULL THEN
    RETURN core.idem_finish('ledger_transfer', request_id, core.decline('INSUFFICIENT_FUNDS',
      format('account %s has balance %s; the transfer would take it below its lower bound',
             posted.short_account_id, posted.short_balance),
      jsonb_build_object('account_id', posted.short_account_id, 'balance', posted.short_balance)));
  END IF;
  -- The postings as written, each with its account's balance: the bounded legs' balances
  -- come back from the transfer itself; a house leg's is read (it adds pending deltas).
  answer := '[]'::jsonb;
  FOR i IN 1 .. cardinality(ids) LOOP
    leg_balance := posted.balances[i];
    IF leg_balance IS NULL THEN
      SELECT b.balance INTO leg_balance FROM ledger.account_balances b WHERE b.id = ids[i];
    END IF;
    answer := answer || jsonb_build_object('account_id', ids[i], 'amount', amounts[i], 'balance', leg_balance);
  END LOOP;
  RETURN core.idem_finish('ledger_transfer', request_id, jsonb_build_object(
    'transfer_id', posted.transfer_id, 'kind', kind, 'postings', answer));
END $$;


ALTER FUNCTION api.ledger_transfer(postings jsonb, kind text, request_id text, metadata jsonb) OWNER TO postgres;

--
-- Name: FUNCTION ledger_transfer(postings jsonb, kind text, request_id text, metadata jsonb); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.ledger_transfer(postings jsonb, kind text, request_id text, metadata jsonb) IS 'Admin: post one double-entry transfer. postings = [{account_id, amount}] (integer minor units, non-zero, summing to 0, one currency, each account once). Declines with INSUFFICIENT_FUNDS (402, stored under request_id) when a bounded account would go below its lower bound.';


--
-- Name: location_create(text, text, text, text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.location_create(company_id text, name text, address text, request_id text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE replay jsonb;
BEGIN
  IF company_id IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'company_id is required', jsonb_build_object('argument', 'company_id'));
  END IF;
  IF name IS NULL OR length(btrim(name)) NOT BETWEEN 1 AND 200 OR name ~ '[[:cntrl:]]' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'name must be 1-200 printable characters', jsonb_build_object('argument', 'name'));
  END IF;
  IF address IS NOT NULL AND (length(btrim(address)) NOT BETWEEN 1 AND 500 OR address ~ '[\x01-\x09\x0b\x0c\x0e-\x1f\x7f]') THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'address must be 1-500 characters (line breaks allowed) or null',
                             jsonb_build_object('argument', 'address'));
  END IF;
  IF core.request_role() = 'operator' AND company_id IS DISTINCT FROM core.request_company() THEN
    PERFORM core.raise_error('FORBIDDEN', 'an operator creates locations for its own company only',
                             jsonb_build_object('argument', 'company_id'));
  END IF;
  replay := core.idem_begin('location_create', request_id,
                            jsonb_build_object('company_id', company_id, 'name', name, 'address', address));
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  RETURN core.idem_finish('location_create', request_id, dex.location_create(company_id, name, address));
END $$;


ALTER FUNCTION api.location_create(company_id text, name text, address text, request_id text) OWNER TO postgres;

--
-- Name: FUNCTION location_create(company_id text, name text, address text, request_id text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.location_create(company_id text, name text, address text, request_id text) IS 'Admin, or an operator for its own company: create a vending location (a place on the route: name unique within the company, address). Machines are put there with machine_assign_location; the fleet summary and the pick list group by location. 404 COMPANY_NOT_FOUND, 409 CONFLICT if the company has a location of that name. Idempotent on request_id.';


--
-- Name: machine_assign_location(text, bigint, text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.machine_assign_location(case_serial text, location_id bigint, request_id text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE replay jsonb;
BEGIN
  IF case_serial IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'case_serial is required', jsonb_build_object('argument', 'case_serial'));
  END IF;
  replay := core.idem_begin('machine_assign_location', request_id,
                            jsonb_build_object('case_serial', case_serial, 'location_id', location_id));
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  RETURN core.idem_finish('machine_assign_location', request_id, dex.machine_assign_location(case_serial, location_id));
END $$;


ALTER FUNCTION api.machine_assign_location(case_serial text, location_id bigint, request_id text) OWNER TO postgres;

--
-- Name: FUNCTION machine_assign_location(case_serial text, location_id bigint, request_id text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.machine_assign_location(case_serial text, location_id bigint, request_id text) IS 'Operator (own company) or admin: move a machine to a location of its own company (location_id null: to none). 404 MACHINE_NOT_FOUND, LOCATION_NOT_FOUND (also for another company''s location). Idempotent on request_id.';


--
-- Name: machine_cash_collect(text, text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.machine_cash_collect(case_serial text, request_id text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE replay jsonb;
BEGIN
  IF case_serial IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'case_serial is required', jsonb_build_object('argument', 'case_serial'));
  END IF;
  replay := core.idem_begin('machine_cash_collect', request_id, jsonb_build_object('case_serial', case_serial));
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  RETURN core.idem_finish('machine_cash_collect', request_id, dex.cash_collect(case_serial));
END $$;


ALTER FUNCTION api.machine_cash_collect(case_serial text, request_id text) OWNER TO postgres;

--
-- Name: FUNCTION machine_cash_collect(case_serial text, request_id text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.machine_cash_collect(case_serial text, request_id text) IS 'Operator (own company) or admin: record that the cash box (coins routed to the box and banknotes) was emptied, against the machine''s latest read - read the machine (DEX) when collecting. Returns what the counters say the box held (expected_coins, expected_bills, expected_total, minor units) to reconcile with what was counted; from then on the fleet summary''s cash_box counts from this read. 404 MACHINE_NOT_FOUND; 409 CONFLICT, stored under request_id, if the machine has no read yet. Idempotent on request_id.';


--
-- Name: machine_details(text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.machine_details(case_serial text) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
BEGIN
  IF case_serial IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'case_serial is required', jsonb_build_object('argument', 'case_serial'));
  END IF;
  RETURN dex.machine_details(case_serial);
END $$;


ALTER FUNCTION api.machine_details(case_serial text) OWNER TO postgres;

--
-- Name: FUNCTION machine_details(case_serial text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.machine_details(case_serial text) IS 'Operator (own company) or admin: one machine from its latest accepted read: last_read_at (and its source) and last_received_at, the machine''s clock as it reports it (machine_clock from ID5, ea3_read_time from EA3, zoneless), location, slots (selection, price, product name and category by planogram, catalogue or the file''s PA103, capacity, par level, estimated stock since the last refill, vends and revenue since init and since reset, per payment device), cash (coin tubes; the cash box since the last collection; this read''s CA3/CA4/CA10 figures and bill validator; cashless DA2/DB2), temperatures (°C, raw line kept), errors (unresolved first), audit totals (VA1, CA2, DA2, ...) and the last 10 captures. Money in minor units of the machine''s currency. 404 MACHINE_NOT_FOUND.';


--
-- Name: machine_error_resolve(bigint, text, text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.machine_error_resolve(error_id bigint, note text, request_id text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE replay jsonb;
BEGIN
  IF error_id IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'error_id is required', jsonb_build_object('argument', 'error_id'));
  END IF;
  IF note IS NULL OR length(btrim(note)) NOT BETWEEN 1 AND 2000 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'note must be 1-2000 characters: what was done',
                             jsonb_build_object('argument', 'note'));
  END IF;
  replay := core.idem_begin('machine_error_resolve', request_id, jsonb_build_object('error_id', error_id, 'note', note));
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  RETURN core.idem_finish('machine_error_resolve', request_id, dex.error_resolve(error_id, note));
END $$;


ALTER FUNCTION api.machine_error_resolve(error_id bigint, note text, request_id text) OWNER TO postgres;

--
-- Name: FUNCTION machine_error_resolve(error_id bigint, note text, request_id text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.machine_error_resolve(error_id bigint, note text, request_id text) IS 'Operator (own company) or admin: mark a machine error (an MA5 error code or an active EA2 event) resolved with a note. A code that the next read still reports was not fixed: the same error reopens (reopened_at); one that comes back after a read without it is a new error. 404 ERROR_NOT_FOUND; 409 CONFLICT, stored under request_id, if already resolved. Idempotent on request_id.';


--
-- Name: machine_planogram_set(text, jsonb, text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.machine_planogram_set(case_serial text, slots jsonb, request_id text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE
  replay  jsonb;
  problem text;
BEGIN
  IF case_serial IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'case_serial is required', jsonb_build_object('argument', 'case_serial'));
  END IF;
  problem := dex.slots_problem(slots, ARRAY['product_code', 'capacity', 'par_level']);
  IF problem IS NOT NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', problem, jsonb_build_object('argument', 'slots'));
  END IF;
  replay := core.idem_begin('machine_planogram_set', request_id,
                            jsonb_build_object('case_serial', case_serial, 'slots', slots));
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  RETURN core.idem_finish('machine_planogram_set', request_id, dex.planogram_set(case_serial, slots));
END $$;


ALTER FUNCTION api.machine_planogram_set(case_serial text, slots jsonb, request_id text) OWNER TO postgres;

--
-- Name: FUNCTION machine_planogram_set(case_serial text, slots jsonb, request_id text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.machine_planogram_set(case_serial text, slots jsonb, request_id text) IS 'Operator (own company) or admin: set what selections of a machine hold. slots: [{selection, product_code, capacity, par_level}], each listed selection replaced as a whole (null clears a field; selections not listed keep theirs). The planogram wins over what the file reports (PA1 product and capacity); par_level (at most capacity) puts the slot on the pick list when its estimated stock falls below it. Returns the machine''s resolved slots with name_source planogram|catalogue|file. 404 MACHINE_NOT_FOUND, PRODUCT_NOT_FOUND. Idempotent on request_id.';


--
-- Name: machine_refill(text, text, jsonb, boolean); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.machine_refill(case_serial text, request_id text, slots jsonb DEFAULT NULL::jsonb, "full" boolean DEFAULT false) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE
  replay  jsonb;
  problem text;
BEGIN
  IF case_serial IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'case_serial is required', jsonb_build_object('argument', 'case_serial'));
  END IF;
  IF machine_refill."full" IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'full must be true or false', jsonb_build_object('argument', 'full'));
  END IF;
  IF slots IS NULL AND NOT machine_refill."full" THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'give slots ([{selection, quantity}]) or full = true',
                             jsonb_build_object('argument', 'slots'));
  END IF;
  IF slots IS NOT NULL THEN
    problem := dex.slots_problem(slots, ARRAY['quantity']);
    IF problem IS NOT NULL THEN
      PERFORM core.raise_error('INVALID_REQUEST', problem, jsonb_build_object('argument', 'slots'));
    END IF;
  END IF;
  replay := core.idem_begin('machine_refill', request_id,
                            jsonb_build_object('case_serial', case_serial, 'slots', slots, 'full', machine_refill."full"));
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  RETURN core.idem_finish('machine_refill', request_id, dex.refill(case_serial, slots, machine_refill."full"));
END $$;


ALTER FUNCTION api.machine_refill(case_serial text, request_id text, slots jsonb, "full" boolean) OWNER TO postgres;

--
-- Name: FUNCTION machine_refill(case_serial text, request_id text, slots jsonb, "full" boolean); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.machine_refill(case_serial text, request_id text, slots jsonb, "full" boolean) IS 'Operator (own company) or admin: record a refill. full = true fills every slot with a known capacity (planogram, else PA1) to capacity; slots [{selection, quantity}] gives per slot the count left in it (null = to capacity), and wins over full for the slots it lists. Each slot''s stock is then estimated as this count minus the vends that later reads book (PA2 since-init deltas): read the machine before refilling for the best estimate. 404 MACHINE_NOT_FOUND, SLOT_NOT_FOUND; 400 for a quantity above capacity. Idempotent on request_id.';


--
-- Name: machine_register(text, text, text, text, text, integer, text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.machine_register(case_serial text, company_id text, location text, model text, currency text, decimals integer, request_id text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $_$
DECLARE replay jsonb;
BEGIN
  IF case_serial IS NULL OR case_serial !~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'case_serial must be 1-64 letters, digits, _ . : - (the telemetry device serial)',
                             jsonb_build_object('argument', 'case_serial'));
  END IF;
  IF company_id IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'company_id is required', jsonb_build_object('argument', 'company_id'));
  END IF;
  IF location IS NOT NULL AND length(btrim(location)) NOT BETWEEN 1 AND 200 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'location must be 1-200 characters or null',
                             jsonb_build_object('argument', 'location'));
  END IF;
  IF model IS NULL OR length(btrim(model)) NOT BETWEEN 1 AND 100 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'model must be 1-100 characters (it selects the MA5 decoders)',
                             jsonb_build_object('argument', 'model'));
  END IF;
  IF currency IS NULL OR currency !~ '^[A-Z]{3}$' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'currency must be an ISO-4217 code such as EUR or USD',
                             jsonb_build_object('argument', 'currency'));
  END IF;
  IF decimals IS NULL OR decimals NOT BETWEEN 0 AND 4 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'decimals must be 0 to 4 (minor units per major unit = 10^decimals)',
                             jsonb_build_object('argument', 'decimals'));
  END IF;
  -- Explicit for a clear message; the policies would refuse the insert anyway.
  IF core.request_role() = 'operator' AND company_id IS DISTINCT FROM core.request_company() THEN
    PERFORM core.raise_error('FORBIDDEN', 'an operator registers machines for its own company only',
                             jsonb_build_object('argument', 'company_id'));
  END IF;
  replay := core.idem_begin('machine_register', request_id, jsonb_build_object(
    'case_serial', case_serial, 'company_id', company_id, 'location', location, 'model', model,
    'currency', currency, 'decimals', decimals));
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  RETURN core.idem_finish('machine_register', request_id,
                          dex.machine_register(case_serial, company_id, location, model, currency, decimals));
END $_$;


ALTER FUNCTION api.machine_register(case_serial text, company_id text, location text, model text, currency text, decimals integer, request_id text) OWNER TO postgres;

--
-- Name: FUNCTION machine_register(case_serial text, company_id text, location text, model text, currency text, decimals integer, request_id text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.machine_register(case_serial text, company_id text, location text, model text, currency text, decimals integer, request_id text) IS 'Admin, or an operator for its own company: register a vending machine by case_serial (the telemetry device serial that files arrive under; unique). model selects the MA5 temperature decoders (dex.ma5_decoders); currency/decimals are the configured money format, which wins over the file''s ID4. 404 COMPANY_NOT_FOUND, 409 CONFLICT if the serial exists. Idempotent on request_id.';


--
-- Name: machine_sales(text, date, date); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.machine_sales(case_serial text, "from" date, "to" date) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
BEGIN
  IF case_serial IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'case_serial is required', jsonb_build_object('argument', 'case_serial'));
  END IF;
  IF machine_sales."from" IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'from is required (a date)', jsonb_build_object('argument', 'from'));
  END IF;
  IF machine_sales."to" IS NULL OR machine_sales."to" < machine_sales."from" THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'to must be a date on or after from', jsonb_build_object('argument', 'to'));
  END IF;
  IF machine_sales."to" - machine_sales."from" > 366 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'at most 367 days per request', jsonb_build_object('argument', 'to'));
  END IF;
  RETURN dex.machine_sales(case_serial, machine_sales."from", machine_sales."to");
END $$;


ALTER FUNCTION api.machine_sales(case_serial text, "from" date, "to" date) OWNER TO postgres;

--
-- Name: FUNCTION machine_sales(case_serial text, "from" date, "to" date); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.machine_sales(case_serial text, "from" date, "to" date) IS 'Operator (own company) or admin: daily sales of one machine for the UTC days from..to (inclusive, at most 367), from the since-init counter deltas between consecutive accepted reads; a read''s sales fall on the UTC day of its time: the capture time given at ingest, else the machine''s clock (EA3 read time, else ID5, a zoneless wall time taken as UTC; not believed before 2001 or over a day after receipt), else the receipt. Per day: vends and revenue (sum over selections, PA2), paid_vends_va1/paid_revenue_va1 (VA1), reads, wraps/resets flagged, and per-selection figures. 404 MACHINE_NOT_FOUND.';


--
-- Name: machines_summary(interval); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.machines_summary(recent_within interval DEFAULT '04:00:00'::interval) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
BEGIN
  IF recent_within IS NULL OR recent_within <= interval '0' OR recent_within > interval '31 days' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'recent_within must be an interval above 0 and up to 31 days',
                             jsonb_build_object('argument', 'recent_within'));
  END IF;
  RETURN dex.machines_summary(recent_within);
END $$;


ALTER FUNCTION api.machines_summary(recent_within interval) OWNER TO postgres;

--
-- Name: FUNCTION machines_summary(recent_within interval); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.machines_summary(recent_within interval) IS 'Operator (own company) or admin: the fleet, one entry per machine: location (id, name, address), last read time (last_read_at: the capture time stated at ingest, else the machine''s clock, else the receipt; last_read_time_source says which; last_received_at), firmware, current/target temperature (°C), cash in coin tubes by denomination and the cash box since the last collection (coins to the box + banknotes, minor units), unresolved errors, product count, slots with product names, has_recent_data (a read within recent_within, default 4 hours); and locations: the machines grouped by location. Maintained by each ingest in its own transaction, so current as soon as it commits.';


--
-- Name: nfc_scan(text, text, text, text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.nfc_scan(card_id text, device_id text, location text, status text) RETURNS jsonb
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
  SELECT cards.nfc_scan(card_id, device_id, location, status)
$$;


ALTER FUNCTION api.nfc_scan(card_id text, device_id text, location text, status text) OWNER TO postgres;

--
-- Name: FUNCTION nfc_scan(card_id text, device_id text, location text, status text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.nfc_scan(card_id text, device_id text, location text, status text) IS 'Staff: log an NFC read (status e.g. ok, read_error); an identical scan from the same device within 2 s is flagged duplicate.';


--
-- Name: pick_list(bigint); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.pick_list(location_id bigint DEFAULT NULL::bigint) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
BEGIN
  RETURN dex.pick_list(location_id);
END $$;


ALTER FUNCTION api.pick_list(location_id bigint) OWNER TO postgres;

--
-- Name: FUNCTION pick_list(location_id bigint); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.pick_list(location_id bigint) IS 'Operator (own company) or admin (every company): what to bring on the route. Slots whose estimated stock (last refill minus vends since) is below their par level, grouped by location and machine, with bring = capacity - estimate, and the van load summed per product; location_id narrows it to one location. not_estimated lists slots with a par level but no recorded refill. 404 LOCATION_NOT_FOUND.';


--
-- Name: product_upsert(text, text, text, bigint, boolean, text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.product_upsert(product_id text, name text, category text, price bigint, is_deposit boolean, request_id text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE replay jsonb;
BEGIN
  replay := core.idem_begin('product_upsert', request_id, jsonb_build_object(
    'product_id', product_id, 'name', name, 'category', category, 'price', price, 'is_deposit', is_deposit));
  IF replay IS NOT NULL THEN RETURN replay; END IF;
  RETURN core.idem_finish('product_upsert', request_id,
                          cards.product_upsert(product_id, name, category, price, is_deposit));
END $$;


ALTER FUNCTION api.product_upsert(product_id text, name text, category text, price bigint, is_deposit boolean, request_id text) OWNER TO postgres;

--
-- Name: FUNCTION product_upsert(product_id text, name text, category text, price bigint, is_deposit boolean, request_id text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.product_upsert(product_id text, name text, category text, price bigint, is_deposit boolean, request_id text) IS 'Admin: create or change a bar product. price in minor units (1..1000000); is_deposit marks a refundable deposit such as a cup.';


--
-- Name: products(); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.products() RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
  -- Who changed a product is for the admins (cards.products.updated_by), not the menu.
  SELECT coalesce(jsonb_agg(to_jsonb(p) - 'updated_by' ORDER BY p.category, p.name), '[]') FROM cards.products p
$$;


ALTER FUNCTION api.products() OWNER TO postgres;

--
-- Name: FUNCTION products(); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.products() IS 'Everyone: the bar menu with prices in minor units.';


--
-- Name: recharge_intent_attach(uuid, text, text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.recharge_intent_attach(intent_id uuid, session_id text, checkout_url text) RETURNS jsonb
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
  SELECT cards.recharge_intent_attach(intent_id, session_id, checkout_url)
$$;


ALTER FUNCTION api.recharge_intent_attach(intent_id uuid, session_id text, checkout_url text) OWNER TO postgres;

--
-- Name: FUNCTION recharge_intent_attach(intent_id uuid, session_id text, checkout_url text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.recharge_intent_attach(intent_id uuid, session_id text, checkout_url text) IS 'Internal (payments role): store the Stripe Checkout Session created for an intent. Idempotent for the same session.';


--
-- Name: recharge_intent_create(text, bigint, text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.recharge_intent_create(card_id text, amount bigint, request_id text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE replay jsonb; id text := cards.normalize_id(card_id);
BEGIN
  replay := core.idem_begin('recharge_intent_create', request_id, jsonb_build_object('card_id', id, 'amount', amount));
  IF replay IS NOT NULL THEN
    -- A retry must see the session attached since the first call.
    RETURN coalesce((SELECT cards.intent_json(i) FROM cards.recharge_intents i
                      WHERE i.intent_id::text = replay ->> 'intent_id'), replay);
  END IF;
  RETURN core.idem_finish('recharge_intent_create', request_id, cards.recharge_intent_create(id, amount));
END $$;


ALTER FUNCTION api.recharge_intent_create(card_id text, amount bigint, request_id text) OWNER TO postgres;

--
-- Name: FUNCTION recharge_intent_create(card_id text, amount bigint, request_id text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.recharge_intent_create(card_id text, amount bigint, request_id text) IS 'Anyone with the card id: record a pending online recharge (step 1 of POST /recharge/checkout). 1 <= amount <= cards.max_online_recharge.';


--
-- Name: refund_export(text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.refund_export(request_id text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE replay jsonb;
BEGIN
  replay := core.idem_begin('refund_export', request_id, '{}');
  IF replay IS NOT NULL THEN RETURN replay; END IF;
  RETURN core.idem_finish('refund_export', request_id,
    cards.refund_export('KL' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISS') || '-'
                        || left(md5(core.principal() || request_id), 12)));
END $$;


ALTER FUNCTION api.refund_export(request_id text) OWNER TO postgres;

--
-- Name: FUNCTION refund_export(request_id text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.refund_export(request_id text) IS 'Admin: a SEPA credit-transfer file (pain.001.001.03) for every pending EUR refund, which become exported: exactly the refunds in the file, taken and locked once, so a refund filed during the export stays pending for the next file and two exports never share one. The same request_id returns the same file.';


--
-- Name: refund_export_file(bigint); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.refund_export_file(export_id bigint) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
BEGIN
  IF export_id IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'export_id is required', jsonb_build_object('argument', 'export_id'));
  END IF;
  RETURN cards.refund_export_file(export_id);
END $$;


ALTER FUNCTION api.refund_export_file(export_id bigint) OWNER TO postgres;

--
-- Name: FUNCTION refund_export_file(export_id bigint); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.refund_export_file(export_id bigint) IS 'Admin: a SEPA refund file made by refund_export, again (pain.001.001.03 XML as exported, with filename <message_id>.xml); it changes nothing. REFUND_EXPORT_NOT_FOUND (404).';


--
-- Name: refund_exports_list(integer); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.refund_exports_list("limit" integer DEFAULT 50) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
BEGIN
  IF "limit" IS NULL OR "limit" NOT BETWEEN 1 AND 1000 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'limit must be 1..1000', jsonb_build_object('argument', 'limit'));
  END IF;
  RETURN cards.refund_exports_list("limit");
END $$;


ALTER FUNCTION api.refund_exports_list("limit" integer) OWNER TO postgres;

--
-- Name: FUNCTION refund_exports_list("limit" integer); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.refund_exports_list("limit" integer) IS 'Admin: the SEPA refund files made by refund_export, newest first: [{export_id, message_id, count, total, currency, created_at}]; refund_export_file gives one file again.';


--
-- Name: refund_request(text, text, text, text, text, text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.refund_request(card_id text, name text, email text, iban text, request_id text, refund_code text DEFAULT NULL::text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE replay jsonb; id text := cards.normalize_id(card_id); payload jsonb;
BEGIN
  -- The code is not part of the compared payload: the key store keeps a fast hash of the
  -- payload, and a fast hash of a short secret can be reversed. A corrected code takes a
  -- new request_id anyway, since a wrong-code decline is replayed for its key.
  payload := jsonb_build_object('card_id', id, 'name', name, 'email', email, 'iban', iban);
  IF refund_code IS NOT NULL THEN
    payload := payload || '{"refund_code_given": true}';
  END IF;
  replay := core.idem_begin('refund_request', request_id, payload);
  IF replay IS NOT NULL THEN RETURN replay; END IF;
  RETURN core.idem_finish('refund_request', request_id,
                          cards.refund_request(id, name, email, iban, refund_code, core.principal() || ':' || request_id));
END $$;


ALTER FUNCTION api.refund_request(card_id text, name text, email text, iban text, request_id text, refund_code text) OWNER TO postgres;

--
-- Name: FUNCTION refund_request(card_id text, name text, email text, iban text, request_id text, refund_code text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.refund_request(card_id text, name text, email text, iban text, request_id text, refund_code text) IS 'The card holder, proving possession with refund_code (given with the card at issue, or printed with it), or staff/admin at a refund desk without it (the filer is recorded on the refund): refund the balance minus the fee (cards.refund_fee, default 200) to an IBAN. Freezes the card at once. One refund per card; NOTHING_TO_REFUND (409) when balance <= fee. Without a code and not staff: INVALID_REQUEST (400). Declines: REFUND_CODE_INVALID (403, counted; details.attempts_left), REFUND_CODE_LOCKED (429, after cards.refund_code_max_attempts wrong codes, for cards.refund_code_lockout_seconds; details.locked_until), REFUND_CODE_NOT_SET (403, a card issued before refund codes: refund at a desk).';


--
-- Name: refunds_list(text, integer); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.refunds_list(status text DEFAULT NULL::text, "limit" integer DEFAULT 100) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
BEGIN
  IF "limit" IS NULL OR "limit" NOT BETWEEN 1 AND 1000 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'limit must be 1..1000', jsonb_build_object('argument', 'limit'));
  ELSIF status IS NOT NULL AND status NOT IN ('pending', 'exported') THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'status must be pending, exported or null (both)',
                             jsonb_build_object('argument', 'status'));
  END IF;
  RETURN cards.refunds_list(status, "limit");
END $$;


ALTER FUNCTION api.refunds_list(status text, "limit" integer) OWNER TO postgres;

--
-- Name: FUNCTION refunds_list(status text, "limit" integer); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.refunds_list(status text, "limit" integer) IS 'Admin: card refunds newest first (status pending | exported, null: both; at most limit 1..1000) with the IBAN masked, and summary {pending, exported}: {count, amount} over all refunds. refund_export pays the pending ones by SEPA file.';


--
-- Name: stripe_event_apply(jsonb); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.stripe_event_apply(event jsonb) RETURNS jsonb
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
  SELECT cards.stripe_event_apply(event)
$$;


ALTER FUNCTION api.stripe_event_apply(event jsonb) OWNER TO postgres;

--
-- Name: FUNCTION stripe_event_apply(event jsonb); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.stripe_event_apply(event jsonb) IS 'Internal (payments role): apply one signature-verified Stripe event once (by event id, and per payment intent): credits amount_total, applies refunds (debt + block past the balance), blocks on disputes.';


--
-- Name: stripe_payload_apply(text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.stripe_payload_apply(payload text) RETURNS jsonb
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
  SELECT cards.stripe_payload_apply(payload)
$$;


ALTER FUNCTION api.stripe_payload_apply(payload text) OWNER TO postgres;

--
-- Name: FUNCTION stripe_payload_apply(payload text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.stripe_payload_apply(payload text) IS 'Internal (payments role): the webhook''s entry - a signature-verified Stripe event body as sent. A \u0000 in a string (which jsonb cannot hold) becomes U+FFFD; the body is kept with its sha256; then applied as api.stripe_event_apply.';


--
-- Name: vending_locations(); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.vending_locations() RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
BEGIN
  RETURN dex.locations_list();
END $$;


ALTER FUNCTION api.vending_locations() OWNER TO postgres;

--
-- Name: FUNCTION vending_locations(); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.vending_locations() IS 'Operator (own company) or admin (all): the vending locations with their machines: location_id, company_id, name, address, machines (case serials).';


--
-- Name: vending_product_upsert(text, text, text, text, text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.vending_product_upsert(company_id text, product_code text, name text, category text, request_id text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $_$
DECLARE replay jsonb;
BEGIN
  IF company_id IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'company_id is required', jsonb_build_object('argument', 'company_id'));
  END IF;
  IF product_code IS NULL OR product_code !~ '^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'product_code must be 1-64 of [A-Za-z0-9_.:/-] (starting with a letter or digit)',
                             jsonb_build_object('argument', 'product_code'));
  END IF;
  IF name IS NULL OR length(btrim(name)) NOT BETWEEN 1 AND 200 OR name ~ '[[:cntrl:]]' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'name must be 1-200 printable characters', jsonb_build_object('argument', 'name'));
  END IF;
  IF category IS NOT NULL AND (length(btrim(category)) NOT BETWEEN 1 AND 100 OR category ~ '[[:cntrl:]]') THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'category must be 1-100 printable characters or null',
                             jsonb_build_object('argument', 'category'));
  END IF;
  IF core.request_role() = 'operator' AND company_id IS DISTINCT FROM core.request_company() THEN
    PERFORM core.raise_error('FORBIDDEN', 'an operator keeps the products of its own company only',
                             jsonb_build_object('argument', 'company_id'));
  END IF;
  replay := core.idem_begin('vending_product_upsert', request_id, jsonb_build_object(
    'company_id', company_id, 'product_code', product_code, 'name', name, 'category', category));
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  RETURN core.idem_finish('vending_product_upsert', request_id,
                          dex.product_upsert(company_id, product_code, name, category));
END $_$;


ALTER FUNCTION api.vending_product_upsert(company_id text, product_code text, name text, category text, request_id text) OWNER TO postgres;

--
-- Name: FUNCTION vending_product_upsert(company_id text, product_code text, name text, category text, request_id text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.vending_product_upsert(company_id text, product_code text, name text, category text, request_id text) IS 'Admin, or an operator for its own company: create a vending product or rename/recategorise it (keyed by company and product_code; product_code is what the machine reports in PA103 when it reports one). Its name then shows in machine details, sales, summaries and pick lists. 404 COMPANY_NOT_FOUND. Idempotent on request_id.';


--
-- Name: vending_products(text); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.vending_products(company_id text DEFAULT NULL::text) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
BEGIN
  RETURN dex.products_list(company_id);
END $$;


ALTER FUNCTION api.vending_products(company_id text) OWNER TO postgres;

--
-- Name: FUNCTION vending_products(company_id text); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.vending_products(company_id text) IS 'Operator (own company) or admin (all, or company_id): the vending product catalogue: product_id, company_id, product_code, name, category.';


--
-- Name: whoami(); Type: FUNCTION; Schema: api; Owner: postgres
--

CREATE FUNCTION api.whoami() RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
  SELECT jsonb_build_object('role', core.request_role(), 'principal', core.principal(), 'claims', core.claims())
$$;


ALTER FUNCTION api.whoami() OWNER TO postgres;

--
-- Name: FUNCTION whoami(); Type: COMMENT; Schema: api; Owner: postgres
--

COMMENT ON FUNCTION api.whoami() IS 'The caller as the database sees it: the request role (from the JWT, anon without one), the principal used to scope idempotency keys, and the verified JWT claims.';


--
-- Name: begin_dispense(bigint, text, uuid); Type: FUNCTION; Schema: atm; Owner: postgres
--

CREATE FUNCTION atm.begin_dispense(job_id bigint, kiosk_id text, claim_token uuid) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE j atm.dispense_jobs := atm.lock_job(job_id, kiosk_id, claim_token);
BEGIN
  IF j.status = 'dispensing' THEN
    RETURN atm.job_json(j);
  ELSIF j.status <> 'claimed' THEN
    PERFORM core.raise_error('CONFLICT', format('job %s is %s, not claimed', job_id, j.status));
  ELSIF j.lease_until < now() THEN
    PERFORM core.raise_error('CONFLICT', format('the claim on job %s expired', job_id));
  END IF;
  j := atm.job_transition(j, 'dispensing', j.coins_paid, NULL, NULL, atm.lease_end());
  RETURN atm.job_json(j);
END $$;


ALTER FUNCTION atm.begin_dispense(job_id bigint, kiosk_id text, claim_token uuid) OWNER TO postgres;

--
-- Name: transactions; Type: TABLE; Schema: atm; Owner: postgres
--

CREATE TABLE atm.transactions (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    kiosk_id text NOT NULL,
    amount bigint NOT NULL,
    fee bigint NOT NULL,
    total bigint NOT NULL,
    quarters integer NOT NULL,
    currency text NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    payment_reference text NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    nullifier_hash text,
    world_payment_id text,
    paid_amount bigint,
    paid_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT transactions_amount_check CHECK (((amount > 0) AND ((amount % (25)::bigint) = 0))),
    CONSTRAINT transactions_check CHECK ((total = (amount + fee))),
    CONSTRAINT transactions_check1 CHECK ((quarters = (amount / 25))),
    CONSTRAINT transactions_check2 CHECK (((status = ANY (ARRAY['pending'::text, 'expired'::text])) = (paid_at IS NULL))),
    CONSTRAINT transactions_fee_check CHECK ((fee >= 0)),
    CONSTRAINT transactions_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'paid'::text, 'completed'::text, 'failed'::text, 'expired'::text])))
);


ALTER TABLE atm.transactions OWNER TO postgres;

--
-- Name: book_refund(atm.transactions, text, text, text, bigint); Type: FUNCTION; Schema: atm; Owner: postgres
--

CREATE FUNCTION atm.book_refund(t atm.transactions, world_payment_id text, nullifier_hash text, reason text, amount bigint) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
  posted    record;
  refund_id bigint;
BEGIN
  posted := ledger.post_transfer('atm_refund_due',
    ARRAY[ledger.house_account('world_payment_clearing', 'world_app', t.currency),
          ledger.house_account('atm_refund_due', 'world_app', t.currency)],
    ARRAY[-amount, amount], world_payment_id,
    jsonb_build_object('transaction_id', t.id, 'world_payment_id', world_payment_id, 'reason', reason));
  INSERT INTO atm.refunds (transaction_id, world_payment_id, nullifier_hash, reason, amount, currency, transfer_id)
  VALUES (t.id, world_payment_id, nullifier_hash, reason, amount, t.currency, posted.transfer_id)
  RETURNING id INTO refund_id;
  INSERT INTO atm.alerts (kind, message, refund_id)
  VALUES ('refund_due', format('%s %s of World App payment %s for ATM transaction %s are due back to the payer (%s)',
                               amount, t.currency, world_payment_id, t.id, reason), refund_id);
  PERFORM pg_notify('atm_ops', 'refund:' || refund_id);
  RETURN jsonb_build_object('refund_id', refund_id, 'reason', reason, 'amount', amount, 'currency', t.currency,
                            'status', 'due');
END $$;


ALTER FUNCTION atm.book_refund(t atm.transactions, world_payment_id text, nullifier_hash text, reason text, amount bigint) OWNER TO postgres;

--
-- Name: canonical_nullifier(text); Type: FUNCTION; Schema: atm; Owner: postgres
--

CREATE FUNCTION atm.canonical_nullifier(hash text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    AS $_$
DECLARE digits text;
BEGIN
  -- ^0[xX][0-9a-fA-F]{1,128}$, spelled without a regular expression: this runs on every
  -- payment, and the regex engine compiles that bounded repeat into ~130 states per match
  -- (~220k instructions, a tenth of the payment).
  IF hash IS NULL OR length(hash) NOT BETWEEN 3 AND 130 OR left(hash, 1) <> '0' OR substr(hash, 2, 1) NOT IN ('x', 'X')
     OR translate(substr(hash, 3), '0123456789abcdefABCDEF', '') <> '' THEN
    RETURN NULL;
  END IF;
  digits := coalesce(nullif(ltrim(lower(substr(hash, 3)), '0'), ''), '0');
  -- Equal-length lower-case hex compares in byte order as the numbers do.
  IF length(digits) > 64 OR lpad(digits, 64, '0') COLLATE "C"
       >= '30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001' COLLATE "C" THEN
    RETURN NULL;
  END IF;
  RETURN '0x' || digits;
END $_$;


ALTER FUNCTION atm.canonical_nullifier(hash text) OWNER TO postgres;

--
-- Name: check_evidence(jsonb); Type: FUNCTION; Schema: atm; Owner: postgres
--

CREATE FUNCTION atm.check_evidence(evidence jsonb) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
  IF evidence IS NULL OR jsonb_typeof(evidence) <> 'object' OR length(evidence::text) > 8000 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'evidence must be a JSON object of at most 8000 characters',
                             jsonb_build_object('argument', 'evidence'));
  END IF;
END $$;


ALTER FUNCTION atm.check_evidence(evidence jsonb) OWNER TO postgres;

--
-- Name: claim(text); Type: FUNCTION; Schema: atm; Owner: postgres
--

CREATE FUNCTION atm.claim(kiosk_id text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
  answer  jsonb;
  job_id  bigint;
  attempt int;
  coins   int;
  lease   timestamptz;
BEGIN
  UPDATE atm.dispense_jobs d
     SET status = 'claimed', claim_token = gen_random_uuid(), attempts = d.attempts + 1,
         lease_until = now() + make_interval(secs => (SELECT s.value FROM core.settings s
                                                       WHERE s.key = 'atm.lease_seconds')::int),
         updated_at = now()
   WHERE d.id = (SELECT x.id FROM atm.dispense_jobs x
                  WHERE x.kiosk_id = claim.kiosk_id AND x.status IN ('pending', 'retry_wait') AND x.due_at <= now()
                  ORDER BY x.due_at, x.id
                  LIMIT 1
                    FOR UPDATE SKIP LOCKED)
  RETURNING d.id, d.attempts::int, d.coins_paid, d.lease_until, atm.job_json(d) INTO job_id, attempt, coins, lease, answer;
  IF answer IS NULL THEN
    RETURN NULL;
  ELSIF lease IS NULL THEN  -- a claim without a lease would never expire
    PERFORM core.raise_error('SERVER_ERROR', 'missing setting atm.lease_seconds');
  END IF;
  INSERT INTO atm.job_events (job_id, old_status, new_status, coins_paid, actor)
  VALUES (job_id, CASE WHEN attempt = 1 THEN 'pending' ELSE 'retry_wait' END, 'claimed', coins, core.actor());
  RETURN answer;
END $$;


ALTER FUNCTION atm.claim(kiosk_id text) OWNER TO postgres;

--
-- Name: cleanup_expired_transactions(); Type: FUNCTION; Schema: atm; Owner: postgres
--

CREATE FUNCTION atm.cleanup_expired_transactions() RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE n int;
BEGIN
  UPDATE atm.transactions t SET status = 'expired' WHERE t.status = 'pending' AND t.expires_at < now();
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;


ALTER FUNCTION atm.cleanup_expired_transactions() OWNER TO postgres;

--
-- Name: coin_cents(); Type: FUNCTION; Schema: atm; Owner: postgres
--

CREATE FUNCTION atm.coin_cents() RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT 25::bigint $$;


ALTER FUNCTION atm.coin_cents() OWNER TO postgres;

--
-- Name: dispense_jobs; Type: TABLE; Schema: atm; Owner: postgres
--

CREATE TABLE atm.dispense_jobs (
    id bigint NOT NULL,
    transaction_id uuid NOT NULL,
    kiosk_id text NOT NULL,
    quarters atm.positive_count NOT NULL,
    coins_paid integer DEFAULT 0 NOT NULL,
    status atm.job_status DEFAULT 'pending'::text NOT NULL,
    attempts atm.count DEFAULT 0 NOT NULL,
    max_attempts atm.positive_count NOT NULL,
    claim_token uuid,
    lease_until timestamp with time zone,
    due_at timestamp with time zone DEFAULT now() NOT NULL,
    last_error text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT dispense_jobs_check CHECK (((coins_paid >= 0) AND (coins_paid <= (quarters)::integer))),
    CONSTRAINT dispense_jobs_check1 CHECK ((((status)::text <> 'completed'::text) OR (coins_paid = (quarters)::integer)))
)
WITH (fillfactor='70', autovacuum_vacuum_scale_factor='0.01', autovacuum_vacuum_threshold='200');


ALTER TABLE atm.dispense_jobs OWNER TO postgres;

--
-- Name: coins_invalid(atm.dispense_jobs); Type: FUNCTION; Schema: atm; Owner: postgres
--

CREATE FUNCTION atm.coins_invalid(j atm.dispense_jobs) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
  PERFORM core.raise_error('INVALID_REQUEST', format('coins_paid must be %s..%s (the job''s running total)', j.coins_paid, j.quarters),
                             jsonb_build_object('argument', 'coins_paid'));
END $$;


ALTER FUNCTION atm.coins_invalid(j atm.dispense_jobs) OWNER TO postgres;

--
-- Name: coins_valid(atm.dispense_jobs, integer); Type: FUNCTION; Schema: atm; Owner: postgres
--

CREATE FUNCTION atm.coins_valid(j atm.dispense_jobs, coins integer) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE
    AS $$
BEGIN
  RETURN coins IS NOT NULL AND coins BETWEEN j.coins_paid AND j.quarters;
END $$;


ALTER FUNCTION atm.coins_valid(j atm.dispense_jobs, coins integer) OWNER TO postgres;

--
-- Name: expire_leases(); Type: FUNCTION; Schema: atm; Owner: postgres
--

CREATE FUNCTION atm.expire_leases() RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
  j         atm.dispense_jobs;
  requeued  int := 0;
  stranded  int := 0;
BEGIN
  FOR j IN SELECT * FROM atm.dispense_jobs x
            WHERE x.status IN ('claimed', 'dispensing') AND x.lease_until < now()
            ORDER BY x.id FOR UPDATE SKIP LOCKED LOOP
    IF j.status = 'claimed' THEN
      PERFORM atm.job_transition(j, 'pending', j.coins_paid, 'lease expired before dispensing', now());
      UPDATE atm.dispense_jobs x SET attempts = greatest(x.attempts - 1, 0) WHERE x.id = j.id;
      requeued := requeued + 1;
    ELSE
      PERFORM atm.strand(j, 'lease expired while dispensing',
                         format('job %s stopped reporting mid-payout at %s of %s quarters', j.id, j.coins_paid, j.quarters));
      stranded := stranded + 1;
    END IF;
  END LOOP;
  RETURN jsonb_build_object('requeued', requeued, 'needs_reconciliation', stranded);
END $$;


ALTER FUNCTION atm.expire_leases() OWNER TO postgres;

--
-- Name: finish(bigint, text, uuid, integer, text); Type: FUNCTION; Schema: atm; Owner: postgres
--

CREATE FUNCTION atm.finish(job_id bigint, kiosk_id text, claim_token uuid, coins_paid integer, error_code text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
  j     atm.dispense_jobs := atm.lock_job(job_id, kiosk_id, claim_token);
  delay interval;
BEGIN
  IF j.status <> 'dispensing' THEN
    IF atm.finish_applied(j, coins_paid) THEN
      RETURN atm.job_json(j);
    END IF;
    PERFORM core.raise_error('CONFLICT', format('job %s is %s, not dispensing', job_id, j.status),
                             jsonb_build_object('job_id', job_id, 'status', j.status));
  ELSIF NOT atm.coins_valid(j, coins_paid) THEN
    PERFORM atm.coins_invalid(j);
  END IF;
  IF coins_paid = j.quarters THEN
    j := atm.job_transition(j, 'completed', coins_paid, NULL);
    RETURN atm.job_json(j);
  ELSIF j.attempts >= j.max_attempts THEN
    j := atm.job_transition(j, 'failed', coins_paid, coalesce(error_code, 'short_payout'));
    INSERT INTO atm.alerts (job_id, kind, message)
    VALUES (j.id, 'dispense_failed', format('job %s paid %s of %s quarters after %s attempts (%s)',
                                            j.id, coins_paid, j.quarters, j.attempts, coalesce(error_code, 'short_payout')));
    PERFORM pg_notify('atm_ops', j.id::text);
    RETURN atm.job_json(j);
  END IF;
  delay := make_interval(secs => (core.setting('atm.retry_base_seconds'))::int * power(2, j.attempts - 1));
  j := atm.job_transition(j, 'retry_wait', coins_paid, coalesce(error_code, 'short_payout'), now() + delay);
  RETURN atm.job_json(j);
END $$;


ALTER FUNCTION atm.finish(job_id bigint, kiosk_id text, claim_token uuid, coins_paid integer, error_code text) OWNER TO postgres;

--
-- Name: finish_applied(atm.dispense_jobs, integer); Type: FUNCTION; Schema: atm; Owner: postgres
--

CREATE FUNCTION atm.finish_applied(j atm.dispense_jobs, coins integer) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    AS $$
  SELECT j.status IN ('completed', 'retry_wait', 'failed') AND j.coins_paid = coins
$$;


ALTER FUNCTION atm.finish_applied(j atm.dispense_jobs, coins integer) OWNER TO postgres;

--
-- Name: job_json(atm.dispense_jobs); Type: FUNCTION; Schema: atm; Owner: postgres
--

CREATE FUNCTION atm.job_json(j atm.dispense_jobs) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
  SELECT jsonb_build_object('job_id', j.id, 'transaction_id', j.transaction_id, 'kiosk_id', j.kiosk_id,
    'quarters', j.quarters, 'coins_paid', j.coins_paid, 'remaining', j.quarters - j.coins_paid,
    'status', j.status, 'attempts', j.attempts, 'max_attempts', j.max_attempts,
    'claim_token', j.claim_token, 'lease_until', j.lease_until, 'due_at', j.due_at, 'last_error', j.last_error)
$$;


ALTER FUNCTION atm.job_json(j atm.dispense_jobs) OWNER TO postgres;

--
-- Name: job_transition(atm.dispense_jobs, text, integer, text, timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: atm; Owner: postgres
--

CREATE FUNCTION atm.job_transition(job atm.dispense_jobs, new_status text, coins integer, note text, due timestamp with time zone DEFAULT NULL::timestamp with time zone, lease timestamp with time zone DEFAULT NULL::timestamp with time zone) RETURNS atm.dispense_jobs
    LANGUAGE plpgsql
    AS $$
DECLARE
  updated atm.dispense_jobs;
  t       atm.transactions;
BEGIN
  UPDATE atm.dispense_jobs j
     SET status = new_status, coins_paid = coins, last_error = coalesce(note, j.last_error),
         due_at = coalesce(due, j.due_at), lease_until = lease, updated_at = now(),
         claim_token = CASE WHEN new_status = 'pending' THEN NULL ELSE j.claim_token END
   WHERE j.id = job.id AND j.status = job.status AND j.claim_token IS NOT DISTINCT FROM job.claim_token
  RETURNING * INTO updated;
  IF updated.id IS NULL THEN
    PERFORM core.raise_error('CONFLICT', format('job %s changed under us', job.id));
  END IF;
  INSERT INTO atm.job_events (job_id, old_status, new_status, coins_paid, note, actor)
  VALUES (job.id, job.status, new_status, coins, note, core.actor());
  IF coins > job.coins_paid THEN
    SELECT * INTO t FROM atm.transactions x WHERE x.id = job.transaction_id;
    PERFORM ledger.post_transfer('atm_coins_dispensed',
      ARRAY[ledger.house_account('atm_coin_float', job.kiosk_id, t.currency),
            ledger.house_account('atm_coins_dispensed', job.kiosk_id, t.currency)],
      ARRAY[-(coins - job.coins_paid) * atm.coin_cents(), (coins - job.coins_paid) * atm.coin_cents()], NULL,
      jsonb_build_object('job_id', job.id, 'coins', coins - job.coins_paid));
  END IF;
  IF new_status IN ('completed', 'failed') THEN
    UPDATE atm.transactions x SET status = new_status WHERE x.id = job.transaction_id AND x.status = 'paid';
  END IF;
  RETURN updated;
END $$;


ALTER FUNCTION atm.job_transition(job atm.dispense_jobs, new_status text, coins integer, note text, due timestamp with time zone, lease timestamp with time zone) OWNER TO postgres;

--
-- Name: jobs_of(text, text, integer); Type: FUNCTION; Schema: atm; Owner: fleet_service
--

CREATE FUNCTION atm.jobs_of(status text, kiosk_id text, max_rows integer) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
  IF kiosk_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM kiosk.kiosks k WHERE k.kiosk_id = jobs_of.kiosk_id AND k.kind = 'atm') THEN
    PERFORM core.raise_error('KIOSK_NOT_FOUND', format('no ATM kiosk %s', kiosk_id), jsonb_build_object('kiosk_id', kiosk_id));
  END IF;
  RETURN (SELECT coalesce(jsonb_agg((atm.job_json(j) - 'claim_token') || jsonb_build_object(
                   'amount', t.amount, 'currency', t.currency, 'created_at', j.created_at, 'updated_at', j.updated_at)
                   ORDER BY j.created_at, j.id), '[]')
            FROM (SELECT x.id FROM atm.dispense_jobs x
                   WHERE (jobs_of.kiosk_id IS NULL OR x.kiosk_id = jobs_of.kiosk_id)
                     AND CASE WHEN jobs_of.status IS NULL THEN x.status NOT IN ('completed', 'failed')
                              ELSE x.status = jobs_of.status END
                   ORDER BY x.created_at, x.id LIMIT max_rows) picked
            JOIN atm.dispense_jobs j ON j.id = picked.id
            JOIN atm.transactions t ON t.id = j.transaction_id);
END $$;


ALTER FUNCTION atm.jobs_of(status text, kiosk_id text, max_rows integer) OWNER TO fleet_service;

--
-- Name: kiosk_health_of(text); Type: FUNCTION; Schema: atm; Owner: fleet_service
--

CREATE FUNCTION atm.kiosk_health_of(kiosk_id text) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  SELECT to_jsonb(h) FROM atm.kiosk_health h WHERE h.kiosk_id = kiosk_health_of.kiosk_id
$$;


ALTER FUNCTION atm.kiosk_health_of(kiosk_id text) OWNER TO fleet_service;

--
-- Name: kiosks_health(); Type: FUNCTION; Schema: atm; Owner: fleet_service
--

CREATE FUNCTION atm.kiosks_health() RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  SELECT coalesce(jsonb_agg(to_jsonb(h) ORDER BY
           array_position(ARRAY['attention', 'offline', 'backlogged', 'healthy'], h.status), h.kiosk_id), '[]')
    FROM atm.kiosk_health h
$$;


ALTER FUNCTION atm.kiosks_health() OWNER TO fleet_service;

--
-- Name: lease_end(); Type: FUNCTION; Schema: atm; Owner: postgres
--

CREATE FUNCTION atm.lease_end() RETURNS timestamp with time zone
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
  RETURN now() + make_interval(secs => (core.setting('atm.lease_seconds'))::int);
END $$;


ALTER FUNCTION atm.lease_end() OWNER TO postgres;

--
-- Name: lock_job(bigint, text, uuid, boolean); Type: FUNCTION; Schema: atm; Owner: postgres
--

CREATE FUNCTION atm.lock_job(job_id bigint, kiosk_id text, claim_token uuid, token_required boolean DEFAULT true) RETURNS atm.dispense_jobs
    LANGUAGE plpgsql
    AS $$
DECLARE j atm.dispense_jobs;
BEGIN
  IF token_required AND claim_token IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'claim_token is required', jsonb_build_object('argument', 'claim_token'));
  END IF;
  SELECT * INTO j FROM atm.dispense_jobs x WHERE x.id = job_id FOR UPDATE;
  IF NOT FOUND OR (lock_job.kiosk_id IS NOT NULL AND j.kiosk_id <> lock_job.kiosk_id) THEN
    PERFORM core.raise_error('JOB_NOT_FOUND', format('job %s does not exist for this kiosk', job_id));
  END IF;
  IF claim_token IS NOT NULL AND j.claim_token IS DISTINCT FROM claim_token THEN
    PERFORM core.raise_error('CONFLICT', format('claim token for job %s is stale', job_id),
                             jsonb_build_object('job_id', job_id, 'status', j.status));
  END IF;
  RETURN j;
END $$;


ALTER FUNCTION atm.lock_job(job_id bigint, kiosk_id text, claim_token uuid, token_required boolean) OWNER TO postgres;

--
-- Name: log_transaction_status(); Type: FUNCTION; Schema: atm; Owner: postgres
--

CREATE FUNCTION atm.log_transaction_status() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
  INSERT INTO atm.transaction_events (transaction_id, old_status, new_status, actor)
  VALUES (NEW.id, CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END, NEW.status, core.actor());
  RETURN NULL;
END $$;


ALTER FUNCTION atm.log_transaction_status() OWNER TO postgres;

--
-- Name: park_unknown(bigint, text, uuid, jsonb); Type: FUNCTION; Schema: atm; Owner: postgres
--

CREATE FUNCTION atm.park_unknown(job_id bigint, kiosk_id text, claim_token uuid, evidence jsonb) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
  j    atm.dispense_jobs;
  note text;
BEGIN
  PERFORM atm.check_evidence(evidence);
  j := atm.lock_job(job_id, kiosk_id, claim_token);
  note := 'payout unknown, evidence from the kiosk: ' || evidence::text;  -- atm.report_payout looks for this prefix
  IF j.status = 'needs_reconciliation' THEN
    INSERT INTO atm.job_events (job_id, old_status, new_status, coins_paid, note, actor)
    VALUES (j.id, j.status, j.status, j.coins_paid, note, core.actor());
    RETURN atm.job_json(j);
  ELSIF j.status <> 'dispensing' THEN
    PERFORM core.raise_error('CONFLICT', format('job %s is %s, not dispensing', job_id, j.status),
                             jsonb_build_object('job_id', job_id, 'status', j.status));
  END IF;
  j := atm.strand(j, note, format('job %s: the kiosk cannot tell what its payout paid (%s of %s quarters known)',
                                  j.id, j.coins_paid, j.quarters));
  RETURN atm.job_json(j);
END $$;


ALTER FUNCTION atm.park_unknown(job_id bigint, kiosk_id text, claim_token uuid, evidence jsonb) OWNER TO postgres;

--
-- Name: pay(uuid, text, text, text, text, bigint, text); Type: FUNCTION; Schema: atm; Owner: postgres
--

CREATE FUNCTION atm.pay(transaction_id uuid, nullifier_hash text, world_payment_id text, payment_status text, payment_reference text, paid_amount bigint, transfer_key text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
  t         atm.transactions;
  person    text := atm.canonical_nullifier(nullifier_hash);
  limit_    bigint := (core.setting('atm.person_daily_limit'))::bigint;
  grace     interval := make_interval(mins => (core.setting('atm.late_payment_grace_minutes'))::int);
  used      bigint;
  job_id    bigint;
  legs_acct bigint[];
  legs_amt  bigint[];
  reason    text;
  message   text;
  details   jsonb;
  refund    jsonb;
BEGIN
  IF person IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST',
      'nullifier_hash must be a World ID nullifier: 0x and hex digits, less than the BN254 field order',
      jsonb_build_object('argument', 'nullifier_hash'));
  ELSIF world_payment_id IS NULL OR length(world_payment_id) NOT BETWEEN 1 AND 200 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'world_payment_id is required',
                             jsonb_build_object('argument', 'world_payment_id'));
  ELSIF paid_amount IS NULL OR paid_amount < 0 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'paid_amount must be >= 0', jsonb_build_object('argument', 'paid_amount'));
  END IF;

  SELECT * INTO t FROM atm.transactions x WHERE x.id = pay.transaction_id FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM core.raise_error('TRANSACTION_NOT_FOUND', format('transaction %s does not exist', transaction_id));
  END IF;
  IF t.status = 'pending' AND t.expires_at < now() - grace THEN
    UPDATE atm.transactions x SET status = 'expired' WHERE x.id = t.id;
    t.status := 'expired';
  END IF;
  IF payment_status IS DISTINCT FROM 'mined' OR payment_reference IS DISTINCT FROM t.payment_reference
     OR paid_amount = 0 THEN
    RETURN core.decline('PAYMENT_NOT_CONFIRMED',
      CASE WHEN payment_status = 'misdirected' THEN 'the payment went to another address than this operator''s'
           WHEN payment_status IS DISTINCT FROM 'mined' THEN format('payment is %s, not mined', coalesce(payment_status, 'unknown'))
           WHEN payment_reference IS DISTINCT FROM t.payment_reference THEN 'payment reference does not match this transaction'
           ELSE 'the payment is in no accepted token' END,
      jsonb_build_object('transaction_id', t.id, 'total', t.total, 'paid_amount', paid_amount,
                         'payment_status', payment_status));
  END IF;
  -- One World App payment is booked once, wherever: on the transaction it paid or as a
  -- refund. Its bookings serialize here (and UNIQUE in both tables says so too).
  PERFORM pg_advisory_xact_lock(hashtextextended('atm.payment:' || world_payment_id, 0));
  IF EXISTS (SELECT 1 FROM atm.transactions x WHERE x.world_payment_id = pay.world_payment_id)
     OR EXISTS (SELECT 1 FROM atm.refunds r WHERE r.world_payment_id = pay.world_payment_id) THEN
    RETURN core.decline('PAYMENT_ALREADY_USED', 'this World App payment is already booked',
                        jsonb_build_object('world_payment_id', world_payment_id));
  END IF;

  details := jsonb_build_object('transaction_id', t.id, 'total', t.total, 'paid_amount', paid_amount);
  IF t.status NOT IN ('pending', 'expired') THEN
    reason := 'already_paid';
    message := format('transaction %s is already %s', t.id, t.status);
    details := details || jsonb_build_object('status', t.status);
  ELSIF t.expires_at < now() - grace THEN
    reason := 'late';
    message := format('transaction %s expired at %s', t.id, t.expires_at);
    details := details || jsonb_build_object('expires_at', t.expires_at);
  ELSIF paid_amount < t.total THEN
    reason := 'underpaid';
    message := format('paid %s, the transaction costs %s', paid_amount, t.total);
  ELSE
    -- One person's payments serialize here, so two at once cannot both fit under the limit.
    PERFORM pg_advisory_xact_lock(hashtextextended('atm.person:' || person, 0));
    SELECT coalesce(sum(x.total), 0)::bigint INTO used FROM atm.transactions x
     WHERE x.nullifier_hash = person AND x.paid_at > now() - interval '24 hours';
    IF used + t.total > limit_ THEN
      reason := 'person_limit';
      message := format('this World ID paid %s in the last 24 h; the limit is %s', used, limit_);
      details := details || jsonb_build_object('used', used, 'limit', limit_);
    END IF;
  END IF;
  IF reason IS NOT NULL THEN
    details := details || jsonb_build_object('refund', atm.book_refund(t, world_payment_id, person, reason, paid_amount));
    message := message || format('; the payment of %s is booked as due back to the payer', paid_amount);
    RETURN CASE reason WHEN 'already_paid' THEN core.decline('ALREADY_PAID', message, details)
                       WHEN 'late' THEN core.decline('EXPIRED', message, details)
                       WHEN 'underpaid' THEN core.decline('PAYMENT_NOT_CONFIRMED', message, details)
                       ELSE core.decline('PERSON_LIMIT_REACHED', message, details) END;
  END IF;

  UPDATE atm.transactions x
     SET status = 'paid', nullifier_hash = person, world_payment_id = pay.world_payment_id,
         paid_amount = pay.paid_amount, paid_at = now()
   WHERE x.id = t.id;
  legs_acct := ARRAY[ledger.house_account('world_payment_clearing', 'world_app', t.currency),
                     ledger.house_account('atm_coin_float', t.kiosk_id, t.currency)];
  legs_amt := ARRAY[-t.total, t.amount];
  IF t.fee > 0 THEN  -- a fee-free kiosk has no fee leg (postings are never zero)
    legs_acct := legs_acct || ledger.house_account('atm_fee_revenue', t.kiosk_id, t.currency);
    legs_amt := legs_amt || t.fee;
  END IF;
  -- House accounts only, opened without a lower bound: the transfer cannot come back short.
  PERFORM ledger.post_transfer('atm_payment', legs_acct, legs_amt, transfer_key,
    jsonb_build_object('transaction_id', t.id, 'world_payment_id', world_payment_id));
  IF paid_amount > t.total THEN
    refund := atm.book_refund(t, world_payment_id, person, 'excess', paid_amount - t.total);
  END IF;
  INSERT INTO atm.dispense_jobs (transaction_id, kiosk_id, quarters, max_attempts)
  VALUES (t.id, t.kiosk_id, t.quarters, (core.setting('atm.max_attempts'))::int)
  RETURNING id INTO job_id;
  INSERT INTO atm.job_events (job_id, old_status, new_status, coins_paid, actor)
  VALUES (job_id, NULL, 'pending', 0, core.actor());
  -- The hint only: the job id. The agent claims through SQL, and polls anyway.
  PERFORM pg_notify('atm_kiosk_' || t.kiosk_id, job_id::text);
  RETURN jsonb_build_object('transaction_id', t.id, 'status', 'paid', 'job_id', job_id, 'quarters', t.quarters)
      || CASE WHEN refund IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('refund', refund) END;
END $$;


ALTER FUNCTION atm.pay(transaction_id uuid, nullifier_hash text, world_payment_id text, payment_status text, payment_reference text, paid_amount bigint, transfer_key text) OWNER TO postgres;

--
-- Name: progress(bigint, text, uuid, integer); Type: FUNCTION; Schema: atm; Owner: postgres
--

CREATE FUNCTION atm.progress(job_id bigint, kiosk_id text, claim_token uuid, coins_paid integer) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE j atm.dispense_jobs := atm.lock_job(job_id, kiosk_id, claim_token);
BEGIN
  IF j.status <> 'dispensing' THEN
    PERFORM core.raise_error('CONFLICT', format('job %s is %s, not dispensing', job_id, j.status));
  ELSIF NOT atm.coins_valid(j, coins_paid) THEN
    PERFORM atm.coins_invalid(j);
  END IF;
  PERFORM kiosk.touch(j.kiosk_id);
  UPDATE atm.dispense_jobs x SET lease_until = atm.lease_end(), updated_at = now() WHERE x.id = j.id;
  IF coins_paid > j.coins_paid THEN
    j := atm.job_transition(j, 'dispensing', coins_paid, NULL, NULL, atm.lease_end());
  ELSE
    SELECT * INTO j FROM atm.dispense_jobs x WHERE x.id = job_id;
  END IF;
  RETURN atm.job_json(j);
END $$;


ALTER FUNCTION atm.progress(job_id bigint, kiosk_id text, claim_token uuid, coins_paid integer) OWNER TO postgres;

--
-- Name: reconcile(bigint, text, integer, text); Type: FUNCTION; Schema: atm; Owner: postgres
--

CREATE FUNCTION atm.reconcile(job_id bigint, kiosk_id text, coins_paid integer, note text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE j atm.dispense_jobs := atm.lock_job(job_id, kiosk_id, NULL, token_required => false);
BEGIN
  IF j.status <> 'needs_reconciliation' THEN
    PERFORM core.raise_error('CONFLICT', format('job %s is %s, not needs_reconciliation', job_id, j.status));
  ELSIF NOT atm.coins_valid(j, coins_paid) THEN
    PERFORM atm.coins_invalid(j);
  ELSIF note IS NULL OR length(btrim(note)) = 0 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'note must say how the count was established',
                             jsonb_build_object('argument', 'note'));
  END IF;
  UPDATE atm.alerts a SET resolved_at = now() WHERE a.job_id = j.id AND a.resolved_at IS NULL;
  IF coins_paid = j.quarters THEN
    j := atm.job_transition(j, 'completed', coins_paid, 'reconciled: ' || note);
  ELSE
    j := atm.job_transition(j, 'retry_wait', coins_paid, 'reconciled: ' || note, now());
  END IF;
  RETURN atm.job_json(j);
END $$;


ALTER FUNCTION atm.reconcile(job_id bigint, kiosk_id text, coins_paid integer, note text) OWNER TO postgres;

--
-- Name: refunds; Type: TABLE; Schema: atm; Owner: postgres
--

CREATE TABLE atm.refunds (
    id bigint NOT NULL,
    transaction_id uuid NOT NULL,
    world_payment_id text NOT NULL,
    nullifier_hash text,
    reason text NOT NULL,
    amount bigint NOT NULL,
    currency text NOT NULL,
    status text DEFAULT 'due'::text NOT NULL,
    transfer_id bigint NOT NULL,
    settled_transfer_id bigint,
    method text,
    settled_reference text,
    settled_note text,
    settled_by text,
    settled_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT refunds_amount_check CHECK ((amount > 0)),
    CONSTRAINT refunds_check CHECK (((status = 'settled'::text) = ((settled_at IS NOT NULL) AND (settled_transfer_id IS NOT NULL) AND (method IS NOT NULL)))),
    CONSTRAINT refunds_method_check CHECK ((method = ANY (ARRAY['world_app'::text, 'cash'::text, 'bank_transfer'::text, 'other'::text]))),
    CONSTRAINT refunds_reason_check CHECK ((reason = ANY (ARRAY['excess'::text, 'late'::text, 'already_paid'::text, 'underpaid'::text, 'person_limit'::text]))),
    CONSTRAINT refunds_status_check CHECK ((status = ANY (ARRAY['due'::text, 'settled'::text])))
);


ALTER TABLE atm.refunds OWNER TO postgres;

--
-- Name: refund_json(atm.refunds); Type: FUNCTION; Schema: atm; Owner: postgres
--

CREATE FUNCTION atm.refund_json(r atm.refunds) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
  RETURN jsonb_build_object(
    'refund_id', r.id, 'transaction_id', r.transaction_id, 'world_payment_id', r.world_payment_id,
    'reason', r.reason, 'amount', r.amount, 'currency', r.currency, 'status', r.status,
    'created_at', r.created_at, 'method', r.method, 'reference', r.settled_reference, 'note', r.settled_note,
    'settled_by', r.settled_by, 'settled_at', r.settled_at);
END $$;


ALTER FUNCTION atm.refund_json(r atm.refunds) OWNER TO postgres;

--
-- Name: refund_settle(bigint, text, text, text); Type: FUNCTION; Schema: atm; Owner: postgres
--

CREATE FUNCTION atm.refund_settle(refund_id bigint, method text, reference text, note text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
  r      atm.refunds;
  posted record;
BEGIN
  IF method IS NULL OR method NOT IN ('world_app', 'cash', 'bank_transfer', 'other') THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'method must be world_app, cash, bank_transfer or other',
                             jsonb_build_object('argument', 'method'));
  ELSIF reference IS NOT NULL AND length(reference) NOT BETWEEN 1 AND 200 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'reference must be 1-200 characters', jsonb_build_object('argument', 'reference'));
  ELSIF method IN ('world_app', 'bank_transfer') AND reference IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', format('a %s refund needs the transfer''s reference', method),
                             jsonb_build_object('argument', 'reference'));
  ELSIF note IS NOT NULL AND length(note) > 1000 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'note must be at most 1000 characters', jsonb_build_object('argument', 'note'));
  END IF;
  SELECT * INTO r FROM atm.refunds x WHERE x.id = refund_settle.refund_id FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM core.raise_error('ATM_REFUND_NOT_FOUND', format('ATM refund %s does not exist', refund_id));
  END IF;
  IF r.status <> 'due' THEN
    RETURN core.decline('REFUND_ALREADY_SETTLED', format('ATM refund %s was already settled at %s', r.id, r.settled_at),
      jsonb_build_object('refund_id', r.id, 'method', r.method, 'reference', r.settled_reference,
                         'settled_at', r.settled_at, 'settled_by', r.settled_by));
  END IF;
  posted := ledger.post_transfer('atm_refund_settled',
    ARRAY[ledger.house_account('atm_refund_due', 'world_app', r.currency),
          ledger.house_account('atm_refunds_paid', method, r.currency)],
    ARRAY[-r.amount, r.amount], r.id::text,
    jsonb_build_object('refund_id', r.id, 'transaction_id', r.transaction_id, 'method', method, 'reference', reference));
  UPDATE atm.refunds x
     SET status = 'settled', settled_transfer_id = posted.transfer_id, method = refund_settle.method,
         settled_reference = reference, settled_note = note, settled_by = core.actor(), settled_at = now()
   WHERE x.id = r.id
  RETURNING * INTO r;
  UPDATE atm.alerts a SET resolved_at = now() WHERE a.refund_id = r.id AND a.resolved_at IS NULL;
  RETURN atm.refund_json(r);
END $$;


ALTER FUNCTION atm.refund_settle(refund_id bigint, method text, reference text, note text) OWNER TO postgres;

--
-- Name: refund_visible(bigint); Type: FUNCTION; Schema: atm; Owner: fleet_service
--

CREATE FUNCTION atm.refund_visible(refund_id bigint) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  SELECT EXISTS (SELECT 1 FROM atm.refunds r WHERE r.id = refund_visible.refund_id)
$$;


ALTER FUNCTION atm.refund_visible(refund_id bigint) OWNER TO fleet_service;

--
-- Name: refunds_due_of(text); Type: FUNCTION; Schema: atm; Owner: fleet_service
--

CREATE FUNCTION atm.refunds_due_of(kiosk_id text) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  SELECT coalesce(jsonb_agg(to_jsonb(d) ORDER BY d.created_at, d.refund_id), '[]'::jsonb) FROM atm.refunds_due d
   WHERE refunds_due_of.kiosk_id IS NULL OR d.kiosk_id = refunds_due_of.kiosk_id
$$;


ALTER FUNCTION atm.refunds_due_of(kiosk_id text) OWNER TO fleet_service;

--
-- Name: report_payout(bigint, text, uuid, integer, integer, text, jsonb); Type: FUNCTION; Schema: atm; Owner: postgres
--

CREATE FUNCTION atm.report_payout(job_id bigint, kiosk_id text, claim_token uuid, coins_paid integer, base_paid integer, error_code text, evidence jsonb) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
  j    atm.dispense_jobs;
  ours boolean;
BEGIN
  PERFORM atm.check_evidence(evidence);
  IF claim_token IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'claim_token is required', jsonb_build_object('argument', 'claim_token'));
  ELSIF coins_paid IS NULL OR base_paid IS NULL OR base_paid < 0 OR base_paid > coins_paid THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'base_paid must be 0..coins_paid (the job''s running total when the claim began)',
                             jsonb_build_object('argument', 'base_paid'));
  END IF;
  -- This kiosk's job, whatever its token: a stale token is an answer here, not an error.
  j := atm.lock_job(job_id, kiosk_id, NULL, token_required => false);
  ours := j.claim_token IS NOT DISTINCT FROM claim_token;
  IF ours AND j.status = 'needs_reconciliation'
     -- The token is this claim's, so the stranding was either its lease running out or the
     -- kiosk's own dispense_unknown; only the first is the kiosk's to settle.
     AND NOT EXISTS (SELECT 1 FROM atm.job_events e
                      WHERE e.job_id = j.id AND e.note LIKE 'payout unknown%'
                        AND e.id > (SELECT max(c.id) FROM atm.job_events c
                                     WHERE c.job_id = j.id AND c.new_status = 'claimed')) THEN
    RETURN jsonb_build_object('outcome', 'reconciled',
      'job', atm.reconcile(j.id, kiosk_id, coins_paid, 'dispenser agent, hopper count: ' || evidence::text));
  ELSIF ours AND (j.status = 'dispensing' OR atm.finish_applied(j, coins_paid)) THEN
    RETURN jsonb_build_object('outcome', 'finished', 'job', atm.finish(j.id, kiosk_id, claim_token, coins_paid, error_code));
  ELSIF coins_paid <> base_paid THEN
    PERFORM core.raise_error('CONFLICT',
      format('job %s is %s: the kiosk can no longer apply this claim''s count (coins paid: %s); a person settles it',
             j.id, j.status, coins_paid - base_paid),
      jsonb_build_object('job_id', j.id, 'status', j.status));
  END IF;
  RETURN jsonb_build_object('outcome', 'nothing_paid', 'job', atm.job_json(j));
END $$;


ALTER FUNCTION atm.report_payout(job_id bigint, kiosk_id text, claim_token uuid, coins_paid integer, base_paid integer, error_code text, evidence jsonb) OWNER TO postgres;

--
-- Name: retry_failed_jobs(interval); Type: FUNCTION; Schema: atm; Owner: postgres
--

CREATE FUNCTION atm.retry_failed_jobs(older_than interval DEFAULT '00:00:00'::interval) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
  j atm.dispense_jobs;
  n int := 0;
BEGIN
  FOR j IN SELECT * FROM atm.dispense_jobs x WHERE x.status = 'failed' AND x.updated_at <= now() - older_than
            ORDER BY x.id FOR UPDATE SKIP LOCKED LOOP
    PERFORM atm.job_transition(j, 'retry_wait', j.coins_paid, 'retried by operator', now());
    UPDATE atm.dispense_jobs x SET attempts = 0 WHERE x.id = j.id;
    UPDATE atm.transactions t SET status = 'paid' WHERE t.id = j.transaction_id AND t.status = 'failed';
    UPDATE atm.alerts a SET resolved_at = now() WHERE a.job_id = j.id AND a.resolved_at IS NULL;
    n := n + 1;
  END LOOP;
  RETURN n;
END $$;


ALTER FUNCTION atm.retry_failed_jobs(older_than interval) OWNER TO postgres;

--
-- Name: strand(atm.dispense_jobs, text, text); Type: FUNCTION; Schema: atm; Owner: postgres
--

CREATE FUNCTION atm.strand(j atm.dispense_jobs, note text, alert text) RETURNS atm.dispense_jobs
    LANGUAGE plpgsql
    AS $$
BEGIN
  j := atm.job_transition(j, 'needs_reconciliation', j.coins_paid, note);
  INSERT INTO atm.alerts (job_id, kind, message) VALUES (j.id, 'needs_reconciliation', alert);
  PERFORM pg_notify('atm_ops', j.id::text);
  RETURN j;
END $$;


ALTER FUNCTION atm.strand(j atm.dispense_jobs, note text, alert text) OWNER TO postgres;

--
-- Name: transaction_create(text, bigint); Type: FUNCTION; Schema: atm; Owner: postgres
--

CREATE FUNCTION atm.transaction_create(kiosk_id text, amount bigint) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
  cfg atm.kiosk_config;
  t   atm.transactions;
BEGIN
  SELECT * INTO cfg FROM atm.kiosk_config c WHERE c.kiosk_id = transaction_create.kiosk_id;
  IF NOT FOUND THEN
    PERFORM core.raise_error('FORBIDDEN', format('kiosk %s is not an ATM kiosk', kiosk_id));
  END IF;
  IF amount IS NULL OR amount <= 0 OR amount % atm.coin_cents() <> 0 OR amount > cfg.max_amount THEN
    PERFORM core.raise_error('INVALID_REQUEST',
      format('amount must be a positive multiple of %s up to %s cents', atm.coin_cents(), cfg.max_amount),
      jsonb_build_object('argument', 'amount', 'max', cfg.max_amount));
  END IF;
  INSERT INTO atm.transactions (kiosk_id, amount, fee, total, quarters, currency, payment_reference, expires_at)
  VALUES (transaction_create.kiosk_id, amount, cfg.fee_flat, amount + cfg.fee_flat, amount / atm.coin_cents(),
          core.setting('atm.currency') #>> '{}', replace(gen_random_uuid()::text, '-', ''),
          now() + make_interval(mins => (core.setting('atm.expiry_minutes'))::int))
  RETURNING * INTO t;
  RETURN atm.transaction_json(t);
END $$;


ALTER FUNCTION atm.transaction_create(kiosk_id text, amount bigint) OWNER TO postgres;

--
-- Name: transaction_json(atm.transactions); Type: FUNCTION; Schema: atm; Owner: postgres
--

CREATE FUNCTION atm.transaction_json(t atm.transactions) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
  RETURN jsonb_build_object(
    'id', t.id, 'kiosk_id', t.kiosk_id, 'amount', t.amount, 'fee', t.fee, 'total', t.total,
    'quarters', t.quarters, 'currency', t.currency, 'status', t.status, 'expires_at', t.expires_at,
    'payment_reference', t.payment_reference,
    'pay_url', (core.setting('atm.pay_url_base') #>> '{}') || '/pay/' || t.id);
END $$;


ALTER FUNCTION atm.transaction_json(t atm.transactions) OWNER TO postgres;

--
-- Name: transaction_status(uuid); Type: FUNCTION; Schema: atm; Owner: postgres
--

CREATE FUNCTION atm.transaction_status(id uuid) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
  t atm.transactions;
  j atm.dispense_jobs;
BEGIN
  SELECT * INTO t FROM atm.transactions x WHERE x.id = transaction_status.id;
  IF NOT FOUND THEN
    PERFORM core.raise_error('TRANSACTION_NOT_FOUND', format('transaction %s does not exist', id));
  END IF;
  SELECT * INTO j FROM atm.dispense_jobs x WHERE x.transaction_id = t.id;
  RETURN atm.transaction_json(t) || jsonb_build_object(
    'expired', t.status = 'pending' AND t.expires_at < now(),
    'dispense', CASE WHEN j.id IS NULL THEN NULL ELSE jsonb_build_object(
      'job_id', j.id, 'status', j.status, 'coins_paid', j.coins_paid, 'quarters', j.quarters) END);
END $$;


ALTER FUNCTION atm.transaction_status(id uuid) OWNER TO postgres;

--
-- Name: transactions_of(date, text, integer); Type: FUNCTION; Schema: atm; Owner: fleet_service
--

CREATE FUNCTION atm.transactions_of(day date, kiosk_id text, max_rows integer) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
  from_ timestamptz := day::timestamp AT TIME ZONE 'UTC';
  to_   timestamptz := (day + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
  IF kiosk_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM kiosk.kiosks k WHERE k.kiosk_id = transactions_of.kiosk_id AND k.kind = 'atm') THEN
    PERFORM core.raise_error('KIOSK_NOT_FOUND', format('no ATM kiosk %s', kiosk_id), jsonb_build_object('kiosk_id', kiosk_id));
  END IF;
  RETURN jsonb_build_object(
    'day', day,
    'summary', (SELECT jsonb_build_object(
                  'transactions', count(*),
                  'paid', count(*) FILTER (WHERE t.paid_at IS NOT NULL),
                  'completed', count(*) FILTER (WHERE t.status = 'completed'),
                  'amount', coalesce(sum(t.amount) FILTER (WHERE t.paid_at IS NOT NULL), 0)::bigint,
                  'fees', coalesce(sum(t.fee) FILTER (WHERE t.paid_at IS NOT NULL), 0)::bigint,
                  'currency', core.setting('atm.currency') #>> '{}')
                  FROM atm.transactions t
                 WHERE t.created_at >= from_ AND t.created_at < to_
                   AND (transactions_of.kiosk_id IS NULL OR t.kiosk_id = transactions_of.kiosk_id)),
    'transactions', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'id', t.id, 'kiosk_id', t.kiosk_id, 'amount', t.amount, 'fee', t.fee, 'total', t.total,
                       'quarters', t.quarters, 'currency', t.currency, 'status', t.status, 'created_at', t.created_at,
                       'paid_at', t.paid_at, 'expires_at', t.expires_at,
                       'dispense', CASE WHEN j.id IS NULL THEN NULL ELSE jsonb_build_object(
                         'job_id', j.id, 'status', j.status, 'coins_paid', j.coins_paid, 'quarters', j.quarters) END)
                       ORDER BY t.created_at DESC, t.id), '[]')
                       FROM (SELECT * FROM atm.transactions x
                              WHERE x.created_at >= from_ AND x.created_at < to_
                                AND (transactions_of.kiosk_id IS NULL OR x.kiosk_id = transactions_of.kiosk_id)
                              ORDER BY x.created_at DESC, x.id LIMIT max_rows) t
                       LEFT JOIN atm.dispense_jobs j ON j.transaction_id = t.id));
END $$;


ALTER FUNCTION atm.transactions_of(day date, kiosk_id text, max_rows integer) OWNER TO fleet_service;

--
-- Name: balance(text); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.balance(card_id text) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE r record;
BEGIN
  SELECT c.card_id, c.status, a.balance, a.currency INTO r
    FROM cards.cards c JOIN ledger.accounts a ON a.id = c.account_id
   WHERE c.card_id = balance.card_id;
  IF NOT FOUND THEN
    PERFORM core.raise_error('CARD_NOT_FOUND', format('card %s does not exist', card_id),
                             jsonb_build_object('card_id', card_id));
  END IF;
  RETURN jsonb_build_object('card_id', r.card_id, 'status', r.status, 'balance', r.balance,
                            'currency', r.currency,
                            'debt', (SELECT coalesce(sum(d.amount), 0) FROM cards.card_debts d
                                      WHERE d.card_id = balance.card_id));
END $$;


ALTER FUNCTION cards.balance(card_id text) OWNER TO postgres;

--
-- Name: bar_order(text, jsonb, text, text); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.bar_order(card_id text, items jsonb, point_of_sale text, transfer_key text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
  pos       text := core.require_ident(point_of_sale, 'point_of_sale');
  n_items   int;
  item      jsonb;
  qty       int;
  product   record;
  lines     jsonb := '[]'::jsonb;
  sales     bigint := 0::bigint;
  deposits  bigint := 0::bigint;
  total     bigint;
  card      record;
  legs_acct bigint[];
  legs_amt  bigint[];
  posted    record;
  new_order bigint;
BEGIN
  n_items := CASE WHEN jsonb_typeof(items) = 'array' THEN jsonb_array_length(items) END;
  IF n_items IS NULL OR n_items NOT BETWEEN 1 AND 50 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'items must be an array of 1 to 50 {product_id, quantity}',
                             jsonb_build_object('argument', 'items'));
  END IF;
  FOR i IN 0 .. n_items - 1 LOOP
    item := items -> i;
    -- (AND evaluates left to right and stops at the first false: no cast sees a non-number.)
    IF NOT coalesce(jsonb_typeof(item) = 'object'
                    AND jsonb_typeof(item -> 'product_id') = 'string'
                    AND jsonb_typeof(item -> 'quantity') = 'number'
                    AND item - 'product_id' - 'quantity' = '{}'::jsonb
                    AND (item -> 'quantity')::numeric BETWEEN 1 AND 100
                    AND (item -> 'quantity')::numeric % 1 = 0, false) THEN
      PERFORM core.raise_error('INVALID_REQUEST',
        format('items[%s] must be {product_id: string, quantity: integer 1..100}', i),
        jsonb_build_object('argument', 'items', 'index', i));
    END IF;
    qty := (item -> 'quantity')::int;
    SELECT p.product_id, p.price, p.is_deposit INTO product
      FROM cards.products p WHERE p.product_id = item ->> 'product_id';
    IF NOT FOUND THEN
      -- A well-formed order naming a product the bar does not have: not found, like a card.
      PERFORM core.raise_error('PRODUCT_NOT_FOUND', format('items[%s]: unknown product %s', i, item ->> 'product_id'),
                               jsonb_build_object('argument', 'items', 'index', i, 'product_id', item ->> 'product_id'));
    END IF;
    lines := lines || jsonb_build_object('product_id', product.product_id, 'quantity', qty,
                                         'unit_price', product.price, 'is_deposit', product.is_deposit);
    IF product.is_deposit THEN
      deposits := deposits + product.price * qty;
    ELSE
      sales := sales + product.price * qty;
    END IF;
  END LOOP;
  total := sales + deposits;  -- > 0: every line has quantity >= 1 and price >= 1

  -- Card row and its account, both locked: spending and status changes serialize here.
  SELECT c.card_id, c.status, c.account_id, a.balance, a.currency,
         (SELECT h.id FROM ledger.accounts h
           WHERE h.kind = 'bar_revenue' AND h.owner_ref = pos AND h.currency = a.currency) AS revenue_account
    INTO card
    FROM cards.cards c JOIN ledger.accounts a ON a.id = c.account_id
   WHERE c.card_id = bar_order.card_id
     FOR UPDATE OF c, a;
  IF NOT FOUND THEN
    PERFORM core.raise_error('CARD_NOT_FOUND', format('card %s does not exist', card_id),
                             jsonb_build_object('card_id', card_id));
  ELSIF card.status <> 'active' THEN
    RETURN core.decline('CARD_NOT_ACTIVE', format('card %s is %s', card.card_id, card.status),
                        jsonb_build_object('card_id', card.card_id, 'status', card.status));
  ELSIF card.balance < total THEN
    RETURN core.decline('INSUFFICIENT_FUNDS', format('card %s has %s, the order costs %s', card.card_id, card.balance, total),
                        jsonb_build_object('card_id', card.card_id, 'balance', card.balance, 'total', total));
  END IF;

  legs_acct := ARRAY[card.account_id];
  legs_amt := ARRAY[-total];
  IF sales > 0 THEN  -- a new point of sale gets its revenue account on its first order
    legs_acct := legs_acct || coalesce(card.revenue_account, ledger.house_account('bar_revenue', pos, card.currency));
    legs_amt := legs_amt || sales;
  END IF;
  IF deposits > 0 THEN
    legs_acct := legs_acct || ledger.house_account('deposits_held', 'cards', card.currency);
    legs_amt := legs_amt || deposits;
  END IF;
  posted := ledger.post_transfer('bar_order', legs_acct, legs_amt, transfer_key,
                                 jsonb_build_object('point_of_sale', pos));
  IF posted.transfer_id IS NULL THEN  -- cannot happen after the check above, under the card lock
    PERFORM core.raise_error('SERVER_ERROR', 'card balance changed under its lock');
  END IF;

  INSERT INTO cards.bar_orders (card_id, point_of_sale, staff_id, total, deposit_total, lines, transfer_id)
  VALUES (card.card_id, pos, core.actor(), total, deposits, lines, posted.transfer_id)
  RETURNING bar_orders.order_id INTO new_order;
  IF deposits > 0 THEN
    INSERT INTO cards.deposits_outstanding AS d (card_id, product_id, unit_price, quantity)
    SELECT card.card_id, l ->> 'product_id', (l ->> 'unit_price')::bigint, sum((l ->> 'quantity')::int)
      FROM jsonb_array_elements(lines) AS l
     WHERE (l ->> 'is_deposit')::boolean
     GROUP BY 1, 2, 3
    ON CONFLICT ON CONSTRAINT deposits_outstanding_pkey DO UPDATE SET quantity = d.quantity + excluded.quantity;
  END IF;

  RETURN jsonb_build_object('order_id', new_order, 'card_id', card.card_id, 'total', total,
                            'deposit_total', deposits, 'currency', card.currency,
                            'previous_balance', card.balance, 'new_balance', card.balance - total);
END $$;


ALTER FUNCTION cards.bar_order(card_id text, items jsonb, point_of_sale text, transfer_key text) OWNER TO postgres;

--
-- Name: checkpoint_recharge(text, bigint, text, text, text); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.checkpoint_recharge(card_id text, amount bigint, payment_method text, checkpoint_id text, transfer_key text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
  card     cards.cards;
  currency text;
  prev     bigint;
  posted   record;
  rid      bigint;
BEGIN
  PERFORM cards.require_amount(amount, 'cards.max_recharge');
  IF payment_method IS NULL OR payment_method NOT IN ('cash', 'card') THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'payment_method must be cash or card',
                             jsonb_build_object('argument', 'payment_method'));
  END IF;
  checkpoint_id := core.require_ident(checkpoint_id, 'checkpoint_id');
  card := cards.lock_card(card_id);
  IF card.status <> 'active' THEN
    RETURN cards.not_active(card);
  END IF;
  SELECT a.balance, a.currency::text INTO prev, currency FROM ledger.accounts a WHERE a.id = card.account_id;
  posted := ledger.post_transfer('checkpoint_recharge',
    ARRAY[ledger.house_account(CASE payment_method WHEN 'cash' THEN 'checkpoint_cash'
                                                   ELSE 'checkpoint_card_terminal' END, checkpoint_id, currency),
          card.account_id],
    ARRAY[-amount, amount], transfer_key,
    jsonb_build_object('checkpoint_id', checkpoint_id, 'payment_method', payment_method));
  INSERT INTO cards.recharges (card_id, method, amount, checkpoint_id, staff_id, transfer_id)
  VALUES (card.card_id, payment_method, amount, checkpoint_id, core.actor(), posted.transfer_id)
  RETURNING id INTO rid;
  RETURN jsonb_build_object('recharge_id', rid, 'card_id', card.card_id, 'amount', amount, 'currency', currency,
                            'payment_method', payment_method, 'previous_balance', prev, 'new_balance', prev + amount);
END $$;


ALTER FUNCTION cards.checkpoint_recharge(card_id text, amount bigint, payment_method text, checkpoint_id text, transfer_key text) OWNER TO postgres;

--
-- Name: cards; Type: TABLE; Schema: cards; Owner: postgres
--

CREATE TABLE cards.cards (
    card_id text NOT NULL,
    status text DEFAULT 'active'::text NOT NULL,
    account_id bigint NOT NULL,
    issued_by text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT cards_card_id_check CHECK ((card_id ~ '^[A-Z0-9]{8}$'::text)),
    CONSTRAINT cards_status_check CHECK ((status = ANY (ARRAY['active'::text, 'frozen'::text, 'blocked'::text])))
);


ALTER TABLE cards.cards OWNER TO postgres;

--
-- Name: currency_of(cards.cards); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.currency_of(card cards.cards) RETURNS text
    LANGUAGE sql STABLE
    AS $$
  SELECT currency FROM ledger.accounts WHERE id = card.account_id
$$;


ALTER FUNCTION cards.currency_of(card cards.cards) OWNER TO postgres;

--
-- Name: deposit_return(text, integer, text, text); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.deposit_return(card_id text, quantity integer, point_of_sale text, transfer_key text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
  card      cards.cards;
  currency  text;
  prev      bigint;
  held      bigint;
  remaining int := quantity;
  amount    bigint := 0::bigint;
  take      int;
  row_      record;
  posted    record;
  ret_id    bigint;
  pos       text;
BEGIN
  pos := core.require_ident(point_of_sale, 'point_of_sale');
  IF quantity IS NULL OR quantity NOT BETWEEN 1 AND 100 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'quantity must be 1..100', jsonb_build_object('argument', 'quantity'));
  END IF;
  card := cards.lock_card(card_id);
  IF card.status <> 'active' THEN
    RETURN cards.not_active(card);
  END IF;
  SELECT coalesce(sum(d.quantity), 0) INTO held FROM cards.deposits_outstanding d WHERE d.card_id = card.card_id;
  IF held < quantity THEN
    RETURN core.decline('DEPOSIT_NOT_OUTSTANDING',
      format('card %s has %s deposit(s) outstanding, %s returned', card.card_id, held, quantity),
      jsonb_build_object('card_id', card.card_id, 'outstanding', held, 'quantity', quantity));
  END IF;
  FOR row_ IN SELECT d.product_id, d.unit_price, d.quantity FROM cards.deposits_outstanding d
               WHERE d.card_id = card.card_id AND d.quantity > 0 ORDER BY d.unit_price DESC, d.product_id LOOP
    EXIT WHEN remaining = 0;
    take := least(remaining, row_.quantity);
    UPDATE cards.deposits_outstanding d SET quantity = d.quantity - take
     WHERE d.card_id = card.card_id AND d.product_id = row_.product_id AND d.unit_price = row_.unit_price;
    amount := amount + take * row_.unit_price;
    remaining := remaining - take;
  END LOOP;

  SELECT a.balance, a.currency::text INTO prev, currency FROM ledger.accounts a WHERE a.id = card.account_id;
  posted := ledger.post_transfer('deposit_return',
    ARRAY[ledger.house_account('deposits_held', 'cards', currency), card.account_id],
    ARRAY[-amount, amount], transfer_key, jsonb_build_object('point_of_sale', pos, 'quantity', quantity));
  INSERT INTO cards.deposit_returns (card_id, quantity, amount, point_of_sale, staff_id, transfer_id)
  VALUES (card.card_id, quantity, amount, pos, core.actor(), posted.transfer_id)
  RETURNING id INTO ret_id;
  RETURN jsonb_build_object('return_id', ret_id, 'card_id', card.card_id, 'quantity', quantity, 'amount', amount,
                            'currency', currency, 'previous_balance', prev, 'new_balance', prev + amount);
END $$;


ALTER FUNCTION cards.deposit_return(card_id text, quantity integer, point_of_sale text, transfer_key text) OWNER TO postgres;

--
-- Name: history(text, integer); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.history(card_id text, max_rows integer) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE acct bigint;
BEGIN
  SELECT c.account_id INTO acct FROM cards.cards c WHERE c.card_id = history.card_id;
  IF NOT FOUND THEN
    PERFORM core.raise_error('CARD_NOT_FOUND', format('card %s does not exist', card_id),
                             jsonb_build_object('card_id', card_id));
  END IF;
  RETURN coalesce((
    SELECT jsonb_agg(jsonb_build_object(
             'transfer_id', m.transfer_id, 'kind', m.kind, 'amount', m.amount,
             'previous_balance', m.new_balance - m.amount, 'new_balance', m.new_balance,
             'details', m.metadata, 'created_at', m.created_at) ORDER BY m.id DESC)
      FROM (SELECT p.id, p.transfer_id, t.kind, t.metadata, p.amount, p.created_at,
                   sum(p.amount) OVER (ORDER BY p.id) AS new_balance
              FROM ledger.postings p JOIN ledger.transfers t ON t.id = p.transfer_id
             WHERE p.account_id = acct
             ORDER BY p.id DESC LIMIT max_rows) m), '[]');
END $$;


ALTER FUNCTION cards.history(card_id text, max_rows integer) OWNER TO postgres;

--
-- Name: iban_normalize(text); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.iban_normalize(iban text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    AS $_$
DECLARE
  v      text := upper(regexp_replace(coalesce(iban, ''), '\s', '', 'g'));
  digits text := '';
  ch     text;
BEGIN
  IF v !~ '^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$' THEN
    RETURN NULL;
  END IF;
  FOREACH ch IN ARRAY regexp_split_to_array(substr(v, 5) || substr(v, 1, 4), '') LOOP
    digits := digits || CASE WHEN ch ~ '[A-Z]' THEN (ascii(ch) - 55)::text ELSE ch END;
  END LOOP;
  RETURN CASE WHEN digits::numeric % 97 = 1 THEN v END;
END $_$;


ALTER FUNCTION cards.iban_normalize(iban text) OWNER TO postgres;

--
-- Name: recharge_intents; Type: TABLE; Schema: cards; Owner: postgres
--

CREATE TABLE cards.recharge_intents (
    intent_id uuid DEFAULT gen_random_uuid() NOT NULL,
    card_id text NOT NULL,
    amount bigint NOT NULL,
    currency text NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    session_id text,
    checkout_url text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT recharge_intents_amount_check CHECK ((amount > 0)),
    CONSTRAINT recharge_intents_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'open'::text, 'succeeded'::text, 'failed'::text, 'expired'::text])))
);


ALTER TABLE cards.recharge_intents OWNER TO postgres;

--
-- Name: intent_json(cards.recharge_intents); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.intent_json(i cards.recharge_intents) RETURNS jsonb
    LANGUAGE sql IMMUTABLE
    AS $$
  SELECT jsonb_build_object('intent_id', i.intent_id, 'card_id', i.card_id, 'amount', i.amount,
                            'currency', i.currency, 'status', i.status, 'session_id', i.session_id,
                            'checkout_url', i.checkout_url)
$$;


ALTER FUNCTION cards.intent_json(i cards.recharge_intents) OWNER TO postgres;

--
-- Name: issue(text); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.issue(card_id text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
  currency text := core.setting('cards.currency') #>> '{}';
  acct ledger.accounts;
  code text;
BEGIN
  IF EXISTS (SELECT 1 FROM cards.cards c WHERE c.card_id = issue.card_id) THEN
    PERFORM core.raise_error('CONFLICT', format('card %s was already issued', card_id),
                             jsonb_build_object('card_id', card_id));
  END IF;
  acct := ledger.open_account('card', card_id, currency, 0);
  INSERT INTO cards.cards (card_id, account_id, issued_by) VALUES (card_id, acct.id, core.actor());
  -- A card of a pre-printed batch already has its imported code; any other gets a new one,
  -- handed out in this answer only (api.card_issue keeps it out of the stored response).
  IF EXISTS (SELECT 1 FROM cards.refund_codes rc WHERE rc.card_id = issue.card_id) THEN
    RETURN jsonb_build_object('card_id', card_id, 'status', 'active', 'balance', 0, 'currency', currency,
                              'refund_code_source', 'imported');
  END IF;
  code := cards.new_refund_code();
  INSERT INTO cards.refund_codes (card_id, code_hash, source, set_by)
  VALUES (card_id, cards.refund_code_hash(code), 'issued', core.actor());
  RETURN jsonb_build_object('card_id', card_id, 'status', 'active', 'balance', 0, 'currency', currency,
                            'refund_code_source', 'issued', 'refund_code', code);
END $$;


ALTER FUNCTION cards.issue(card_id text) OWNER TO postgres;

--
-- Name: lock_card(text); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.lock_card(card_id text) RETURNS cards.cards
    LANGUAGE plpgsql
    AS $$
DECLARE card cards.cards;
BEGIN
  SELECT * INTO card FROM cards.cards c WHERE c.card_id = lock_card.card_id FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM core.raise_error('CARD_NOT_FOUND', format('card %s does not exist', card_id),
                             jsonb_build_object('card_id', card_id));
  END IF;
  RETURN card;
END $$;


ALTER FUNCTION cards.lock_card(card_id text) OWNER TO postgres;

--
-- Name: log_status_change(); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.log_status_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
  INSERT INTO cards.card_events (card_id, old_status, new_status, reason, actor)
  VALUES (NEW.card_id, CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END, NEW.status,
          CASE WHEN TG_OP = 'INSERT' THEN 'issued' ELSE nullif(current_setting('cards.status_reason', true), '') END,
          core.actor());
  RETURN NULL;
END $$;


ALTER FUNCTION cards.log_status_change() OWNER TO postgres;

--
-- Name: needing_attention(integer); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.needing_attention(max_rows integer) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
  SELECT coalesce(jsonb_agg(to_jsonb(c) ORDER BY c.debt DESC, c.card_id), '[]')
    FROM (SELECT v.card_id, v.status, a.balance, v.debt::bigint AS debt, v.disputed
            FROM cards.cards_with_debt_or_disputes v
            JOIN cards.cards k USING (card_id)
            JOIN ledger.accounts a ON a.id = k.account_id
           ORDER BY v.debt DESC, v.card_id
           LIMIT max_rows) c
$$;


ALTER FUNCTION cards.needing_attention(max_rows integer) OWNER TO postgres;

--
-- Name: new_refund_code(); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.new_refund_code() RETURNS text
    LANGUAGE sql
    AS $$
  SELECT string_agg(substr('ABCDEFGHJKLMNPQRSTUVWXYZ23456789', get_byte(b.bytes, i) % 32 + 1, 1)
                    || CASE WHEN i IN (3, 7) THEN '-' ELSE '' END, '' ORDER BY i)
    FROM crypto.gen_random_bytes(12) AS b(bytes), generate_series(0, 11) AS i
$$;


ALTER FUNCTION cards.new_refund_code() OWNER TO postgres;

--
-- Name: nfc_scan(text, text, text, text); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.nfc_scan(card_id text, device_id text, location text, status text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $_$
DECLARE
  dup     boolean;
  scan_id bigint;
BEGIN
  card_id := cards.normalize_id(card_id);
  device_id := core.require_ident(device_id, 'device_id');
  IF status IS NULL OR status !~ '^[a-z_]{1,32}$' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'status must be 1-32 lower-case letters or _ (e.g. ok, read_error)',
                             jsonb_build_object('argument', 'status'));
  END IF;
  IF location IS NOT NULL AND length(location) > 200 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'location must be at most 200 characters',
                             jsonb_build_object('argument', 'location'));
  END IF;
  PERFORM pg_advisory_xact_lock(hashtext('nfc:' || device_id));
  SELECT EXISTS (SELECT 1 FROM cards.nfc_scans s
                  WHERE s.device_id = nfc_scan.device_id AND s.card_id = nfc_scan.card_id
                    AND s.status = nfc_scan.status AND s.created_at > clock_timestamp() - interval '2 seconds')
    INTO dup;
  INSERT INTO cards.nfc_scans (card_id, device_id, location, status, duplicate, staff_id)
  VALUES (card_id, device_id, location, status, dup, core.actor())
  RETURNING id INTO scan_id;
  RETURN jsonb_build_object('scan_id', scan_id, 'card_id', card_id, 'duplicate', dup,
                            'card_known', EXISTS (SELECT 1 FROM cards.cards c WHERE c.card_id = nfc_scan.card_id));
END $_$;


ALTER FUNCTION cards.nfc_scan(card_id text, device_id text, location text, status text) OWNER TO postgres;

--
-- Name: normalize_id(text); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.normalize_id(card_id text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    AS $$
BEGIN
  IF card_id IS NULL OR length(card_id) <> 8  -- translate(): see core.require_ident
     OR translate(card_id, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', '') <> '' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'card_id must be 8 letters or digits',
                             jsonb_build_object('argument', 'card_id'));
  END IF;
  RETURN upper(card_id);
END $$;


ALTER FUNCTION cards.normalize_id(card_id text) OWNER TO postgres;

--
-- Name: not_active(cards.cards); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.not_active(card cards.cards) RETURNS jsonb
    LANGUAGE sql
    AS $$
  SELECT core.decline('CARD_NOT_ACTIVE', format('card %s is %s', card.card_id, card.status),
                      jsonb_build_object('card_id', card.card_id, 'status', card.status))
$$;


ALTER FUNCTION cards.not_active(card cards.cards) OWNER TO postgres;

--
-- Name: product_upsert(text, text, text, bigint, boolean); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.product_upsert(product_id text, name text, category text, price bigint, is_deposit boolean) RETURNS jsonb
    LANGUAGE plpgsql
    AS $_$
DECLARE p cards.products;
BEGIN
  IF product_id IS NULL OR product_id !~ '^[A-Za-z0-9_.-]{1,64}$' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'product_id must be 1-64 letters, digits or _.-',
                             jsonb_build_object('argument', 'product_id'));
  ELSIF name IS NULL OR length(btrim(name)) NOT BETWEEN 1 AND 200 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'name must be 1-200 characters', jsonb_build_object('argument', 'name'));
  ELSIF category IS NULL OR length(btrim(category)) NOT BETWEEN 1 AND 100 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'category must be 1-100 characters',
                             jsonb_build_object('argument', 'category'));
  ELSIF price IS NULL OR price NOT BETWEEN 1 AND 1000000 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'price must be 1..1000000 minor units',
                             jsonb_build_object('argument', 'price'));
  ELSIF is_deposit IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'is_deposit must be true or false',
                             jsonb_build_object('argument', 'is_deposit'));
  END IF;
  INSERT INTO cards.products AS t (product_id, name, category, price, is_deposit, updated_by)
  VALUES (product_id, btrim(name), btrim(category), price, is_deposit, core.actor())
  ON CONFLICT ON CONSTRAINT products_pkey DO UPDATE
     SET name = excluded.name, category = excluded.category, price = excluded.price,
         is_deposit = excluded.is_deposit, updated_at = now(), updated_by = excluded.updated_by
  RETURNING * INTO p;
  RETURN to_jsonb(p) - 'updated_by';
END $_$;


ALTER FUNCTION cards.product_upsert(product_id text, name text, category text, price bigint, is_deposit boolean) OWNER TO postgres;

--
-- Name: recharge_intent_attach(uuid, text, text); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.recharge_intent_attach(intent_id uuid, session_id text, checkout_url text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $_$
DECLARE intent cards.recharge_intents;
BEGIN
  IF session_id IS NULL OR session_id !~ '^cs_[A-Za-z0-9_]{1,250}$' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'session_id must be a Checkout Session id (cs_...)',
                             jsonb_build_object('argument', 'session_id'));
  END IF;
  SELECT * INTO intent FROM cards.recharge_intents i WHERE i.intent_id = recharge_intent_attach.intent_id FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM core.raise_error('INTENT_NOT_FOUND', format('recharge intent %s does not exist', intent_id));
  ELSIF intent.session_id IS NOT NULL AND intent.session_id <> session_id THEN
    PERFORM core.raise_error('CONFLICT', format('intent %s already has session %s', intent_id, intent.session_id));
  END IF;
  UPDATE cards.recharge_intents i
     SET session_id = recharge_intent_attach.session_id, checkout_url = recharge_intent_attach.checkout_url,
         status = CASE WHEN i.status = 'pending' THEN 'open' ELSE i.status END, updated_at = now()
   WHERE i.intent_id = recharge_intent_attach.intent_id
  RETURNING * INTO intent;
  RETURN cards.intent_json(intent);
END $_$;


ALTER FUNCTION cards.recharge_intent_attach(intent_id uuid, session_id text, checkout_url text) OWNER TO postgres;

--
-- Name: recharge_intent_create(text, bigint); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.recharge_intent_create(card_id text, amount bigint) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
  card   cards.cards;
  intent cards.recharge_intents;
BEGIN
  PERFORM cards.require_amount(amount, 'cards.max_online_recharge');
  card := cards.lock_card(card_id);
  IF card.status <> 'active' THEN
    RETURN cards.not_active(card);
  END IF;
  INSERT INTO cards.recharge_intents (card_id, amount, currency)
  VALUES (card.card_id, amount, cards.currency_of(card))
  RETURNING * INTO intent;
  RETURN cards.intent_json(intent);
END $$;


ALTER FUNCTION cards.recharge_intent_create(card_id text, amount bigint) OWNER TO postgres;

--
-- Name: recharges_since(timestamp with time zone); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.recharges_since(since timestamp with time zone) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
  SELECT coalesce(jsonb_agg(to_jsonb(r) ORDER BY r.amount DESC, r.checkpoint_id, r.method), '[]')
    FROM (SELECT coalesce(x.checkpoint_id, 'online') AS checkpoint_id, x.method, count(*) AS recharges,
                 sum(x.amount)::bigint AS amount
            FROM cards.recharges x
           WHERE since IS NULL OR x.created_at >= since
           GROUP BY 1, 2) r
$$;


ALTER FUNCTION cards.recharges_since(since timestamp with time zone) OWNER TO postgres;

--
-- Name: refund_code_check(text, text); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.refund_code_check(card_id text, refund_code text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
  rc        cards.refund_codes;
  max_tries int := (core.setting('cards.refund_code_max_attempts'))::int;
  lockout   interval := make_interval(secs => (core.setting('cards.refund_code_lockout_seconds'))::int);
  failed    int;
  lock_end  timestamptz;
BEGIN
  SELECT * INTO rc FROM cards.refund_codes c WHERE c.card_id = refund_code_check.card_id FOR UPDATE;
  IF NOT FOUND THEN
    RETURN core.decline('REFUND_CODE_NOT_SET',
      format('card %s has no refund code: its refund is filed at a refund desk', card_id),
      jsonb_build_object('card_id', card_id));
  END IF;
  IF rc.locked_until > now() THEN
    RETURN core.decline('REFUND_CODE_LOCKED',
      format('too many wrong refund codes for card %s: try again after %s, or go to a refund desk',
             card_id, rc.locked_until),
      jsonb_build_object('card_id', card_id, 'locked_until', rc.locked_until));
  END IF;
  IF cards.refund_code_matches(refund_code, rc.code_hash) IS NOT TRUE THEN
    failed := rc.failed_attempts + 1;
    IF failed >= max_tries THEN
      lock_end := now() + lockout;
      failed := 0;
    END IF;
    UPDATE cards.refund_codes c SET failed_attempts = failed, locked_until = lock_end
     WHERE c.card_id = rc.card_id;
    RETURN core.decline('REFUND_CODE_INVALID', format('wrong refund code for card %s', card_id),
      jsonb_build_object('card_id', card_id, 'attempts_left', CASE WHEN lock_end IS NULL THEN max_tries - failed ELSE 0 END,
                         'locked_until', lock_end));
  END IF;
  IF rc.failed_attempts > 0 OR rc.locked_until IS NOT NULL THEN
    UPDATE cards.refund_codes c SET failed_attempts = 0, locked_until = NULL WHERE c.card_id = rc.card_id;
  END IF;
  RETURN NULL;
END $$;


ALTER FUNCTION cards.refund_code_check(card_id text, refund_code text) OWNER TO postgres;

--
-- Name: refund_code_hash(text); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.refund_code_hash(code text) RETURNS text
    LANGUAGE sql
    AS $$
  SELECT crypto.crypt(cards.refund_code_normalize(code), crypto.gen_salt('bf', 8))
$$;


ALTER FUNCTION cards.refund_code_hash(code text) OWNER TO postgres;

--
-- Name: refund_code_matches(text, text); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.refund_code_matches(code text, code_hash text) RETURNS boolean
    LANGUAGE sql STABLE
    AS $$
  SELECT crypto.crypt(cards.refund_code_normalize(code), code_hash) = code_hash
$$;


ALTER FUNCTION cards.refund_code_matches(code text, code_hash text) OWNER TO postgres;

--
-- Name: refund_code_normalize(text); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.refund_code_normalize(code text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $_$
  SELECT c FROM (SELECT upper(translate(code, E' -\t', '')) AS c) n WHERE c ~ '^[A-Z0-9]{8,64}$'
$_$;


ALTER FUNCTION cards.refund_code_normalize(code text) OWNER TO postgres;

--
-- Name: refund_codes_import(jsonb); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.refund_codes_import(codes jsonb) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
  max_batch constant int := 50;  -- bcrypt: ~20 ms a code (200 took 4.4 s here), well within the RPC statement timeout (5 s)
  item      jsonb;
  i         int := 0;
  id        text;
  code      text;
  seen      text[] := '{}'::text[];
  existing  cards.refund_codes;
  conflicts text[] := '{}'::text[];
  fresh     jsonb := '[]'::jsonb;
  unchanged int := 0;
  inserted  bigint;
BEGIN
  IF codes IS NULL OR jsonb_typeof(codes) <> 'array' OR jsonb_array_length(codes) NOT BETWEEN 1 AND max_batch THEN
    PERFORM core.raise_error('INVALID_REQUEST',
      format('codes must be an array of 1..%s objects {"card_id", "refund_code"}', max_batch),
      jsonb_build_object('argument', 'codes'));
  END IF;
  FOR item IN SELECT e FROM jsonb_array_elements(codes) AS e LOOP
    IF jsonb_typeof(item) <> 'object' OR jsonb_typeof(item -> 'card_id') IS DISTINCT FROM 'string'
       OR jsonb_typeof(item -> 'refund_code') IS DISTINCT FROM 'string'
       -- Another key is a mistaken file (a misspelt column): refused, never ignored.
       OR item - 'card_id' - 'refund_code' <> '{}'::jsonb THEN
      PERFORM core.raise_error('INVALID_REQUEST', format('codes[%s] must be {"card_id": text, "refund_code": text}', i),
                               jsonb_build_object('argument', 'codes', 'index', i));
    END IF;
    id := cards.normalize_id(item ->> 'card_id');
    code := cards.refund_code_normalize(item ->> 'refund_code');
    IF code IS NULL THEN
      PERFORM core.raise_error('INVALID_REQUEST',
        format('codes[%s].refund_code must be 8-64 letters or digits (spaces and dashes ignored)', i),
        jsonb_build_object('argument', 'codes', 'index', i, 'card_id', id));
    ELSIF id = ANY (seen) THEN
      PERFORM core.raise_error('INVALID_REQUEST', format('card %s appears twice in codes', id),
                               jsonb_build_object('argument', 'codes', 'index', i, 'card_id', id));
    END IF;
    seen := seen || id;
    SELECT * INTO existing FROM cards.refund_codes c WHERE c.card_id = id FOR UPDATE;
    IF NOT FOUND THEN
      fresh := fresh || jsonb_build_object('card_id', id, 'code', code);
    ELSIF cards.refund_code_matches(code, existing.code_hash) THEN
      unchanged := unchanged + 1;
    ELSE
      conflicts := conflicts || id;
    END IF;
    i := i + 1;
  END LOOP;
  IF cardinality(conflicts) > 0 THEN
    PERFORM core.raise_error('CONFLICT', format('%s card(s) already have another refund code; nothing was imported',
                                                cardinality(conflicts)),
                             jsonb_build_object('card_ids', to_jsonb(conflicts)));
  END IF;
  INSERT INTO cards.refund_codes (card_id, code_hash, source, set_by)
  SELECT f ->> 'card_id', cards.refund_code_hash(f ->> 'code'), 'imported', core.actor()
    FROM jsonb_array_elements(fresh) AS f
  ON CONFLICT (card_id) DO NOTHING;
  GET DIAGNOSTICS inserted = ROW_COUNT;
  IF inserted < jsonb_array_length(fresh) THEN  -- a concurrent import or issue got there first
    PERFORM core.raise_error('CONFLICT', 'some of these cards got a refund code meanwhile; nothing was imported, retry');
  END IF;
  RETURN jsonb_build_object('imported', jsonb_array_length(fresh), 'unchanged', unchanged);
END $$;


ALTER FUNCTION cards.refund_codes_import(codes jsonb) OWNER TO postgres;

--
-- Name: refund_export(text); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.refund_export(message_id text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
  debtor_name text := core.setting('cards.refund_debtor_name') #>> '{}';
  debtor_iban text := cards.iban_normalize(core.setting('cards.refund_debtor_iban') #>> '{}');
  debtor_bic  text := core.setting('cards.refund_debtor_bic') #>> '{}';
  ids         bigint[];
  n           bigint;
  total       bigint;
  marked      bigint;
  doc         xml;
  eid         bigint;
BEGIN
  IF debtor_name IS NULL OR debtor_iban IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'the refund debtor account is not configured',
      hint => 'UPDATE core.settings SET value = to_jsonb(''...''::text) WHERE key IN (''cards.refund_debtor_name'', ''cards.refund_debtor_iban'')');
  END IF;
  SELECT coalesce(array_agg(p.refund_id ORDER BY p.refund_id), '{}'), count(*), coalesce(sum(p.amount), 0)::bigint
    INTO ids, n, total
    FROM (SELECT r.refund_id, r.amount FROM cards.refund_requests r
           WHERE r.status = 'pending' AND r.currency = 'EUR'
           ORDER BY r.refund_id FOR UPDATE) p;
  IF n = 0 THEN
    RETURN jsonb_build_object('export_id', NULL, 'count', 0, 'total', 0, 'xml', NULL);
  END IF;

  SELECT xmlroot(xmlelement(name "Document",
           xmlattributes('urn:iso:std:iso:20022:tech:xsd:pain.001.001.03' AS xmlns),
           xmlelement(name "CstmrCdtTrfInitn",
             xmlelement(name "GrpHdr",
               xmlelement(name "MsgId", message_id),
               xmlelement(name "CreDtTm", to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')),
               xmlelement(name "NbOfTxs", n),
               xmlelement(name "CtrlSum", cards.sepa_amount(total)),
               xmlelement(name "InitgPty", xmlelement(name "Nm", debtor_name))),
             xmlelement(name "PmtInf",
               xmlelement(name "PmtInfId", message_id || '-1'),
               xmlelement(name "PmtMtd", 'TRF'),
               xmlelement(name "NbOfTxs", n),
               xmlelement(name "CtrlSum", cards.sepa_amount(total)),
               xmlelement(name "PmtTpInf", xmlelement(name "SvcLvl", xmlelement(name "Cd", 'SEPA'))),
               xmlelement(name "ReqdExctnDt", to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD')),
               xmlelement(name "Dbtr", xmlelement(name "Nm", debtor_name)),
               xmlelement(name "DbtrAcct", xmlelement(name "Id", xmlelement(name "IBAN", debtor_iban))),
               xmlelement(name "DbtrAgt", xmlelement(name "FinInstnId",
                 CASE WHEN debtor_bic IS NOT NULL THEN xmlelement(name "BIC", debtor_bic)
                      ELSE xmlelement(name "Othr", xmlelement(name "Id", 'NOTPROVIDED')) END)),
               xmlelement(name "ChrgBr", 'SLEV'),
               (SELECT xmlagg(xmlelement(name "CdtTrfTxInf",
                         xmlelement(name "PmtId", xmlelement(name "EndToEndId", 'REFUND-' || r.refund_id)),
                         xmlelement(name "Amt", xmlelement(name "InstdAmt", xmlattributes('EUR' AS "Ccy"),
                                                           cards.sepa_amount(r.amount))),
                         xmlelement(name "Cdtr", xmlelement(name "Nm", r.name)),
                         xmlelement(name "CdtrAcct", xmlelement(name "Id", xmlelement(name "IBAN", r.iban))),
                         xmlelement(name "RmtInf", xmlelement(name "Ustrd", 'Refund of festival card ' || r.card_id)))
                       ORDER BY r.refund_id)
                  FROM cards.refund_requests r WHERE r.refund_id = ANY (ids))))),
         version '1.0', standalone yes)
    INTO doc;

  INSERT INTO cards.refund_exports (message_id, count, total, xml, created_by)
  VALUES (message_id, n, total, doc::text, core.actor()) RETURNING export_id INTO eid;
  UPDATE cards.refund_requests r SET status = 'exported', export_id = eid
   WHERE r.refund_id = ANY (ids) AND r.status = 'pending';
  GET DIAGNOSTICS marked = ROW_COUNT;
  IF marked <> n THEN  -- the rows are locked by this transaction: cannot happen
    PERFORM core.raise_error('SERVER_ERROR', format('refund export marked %s of %s refunds', marked, n));
  END IF;
  RETURN jsonb_build_object('export_id', eid, 'count', n, 'total', total, 'currency', 'EUR', 'xml', doc::text);
END $$;


ALTER FUNCTION cards.refund_export(message_id text) OWNER TO postgres;

--
-- Name: refund_export_file(bigint); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.refund_export_file(export_id bigint) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE e cards.refund_exports;
BEGIN
  SELECT * INTO e FROM cards.refund_exports x WHERE x.export_id = refund_export_file.export_id;
  IF NOT FOUND THEN
    PERFORM core.raise_error('REFUND_EXPORT_NOT_FOUND', format('refund export %s does not exist', export_id),
                             jsonb_build_object('export_id', export_id));
  END IF;
  RETURN jsonb_build_object('export_id', e.export_id, 'message_id', e.message_id, 'count', e.count,
                            'total', e.total, 'currency', 'EUR', 'created_at', e.created_at,
                            'filename', e.message_id || '.xml', 'xml', e.xml);
END $$;


ALTER FUNCTION cards.refund_export_file(export_id bigint) OWNER TO postgres;

--
-- Name: refund_exports_list(integer); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.refund_exports_list(max_rows integer) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
  SELECT coalesce(jsonb_agg(jsonb_build_object(
           'export_id', e.export_id, 'message_id', e.message_id, 'count', e.count, 'total', e.total,
           'currency', 'EUR', 'created_at', e.created_at) ORDER BY e.export_id DESC), '[]')
    FROM (SELECT * FROM cards.refund_exports x ORDER BY x.export_id DESC LIMIT max_rows) e
$$;


ALTER FUNCTION cards.refund_exports_list(max_rows integer) OWNER TO postgres;

--
-- Name: refund_request(text, text, text, text, text, text); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.refund_request(card_id text, name text, email text, iban text, refund_code text, transfer_key text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $_$
DECLARE
  card     cards.cards;
  clean    text := cards.iban_normalize(iban);
  fee      bigint := (core.setting('cards.refund_fee'))::bigint;
  req_role text := core.request_role();
  how      text := CASE WHEN refund_code IS NOT NULL THEN 'refund_code' ELSE 'desk' END;
  declined jsonb;
  bal      bigint;
  currency text;
  posted   record;
  rid      bigint;
BEGIN
  IF refund_code IS NULL AND req_role NOT IN ('staff', 'admin') THEN
    PERFORM core.raise_error('INVALID_REQUEST',
      'refund_code is required: the code given with the card (without it, a refund desk can file the refund)',
      jsonb_build_object('argument', 'refund_code'));
  ELSIF refund_code IS NOT NULL AND cards.refund_code_normalize(refund_code) IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'refund_code must be 8-64 letters or digits (spaces and dashes ignored)',
                             jsonb_build_object('argument', 'refund_code'));
  ELSIF name IS NULL OR length(btrim(name)) NOT BETWEEN 1 AND 70 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'name must be 1-70 characters (SEPA)', jsonb_build_object('argument', 'name'));
  ELSIF email IS NULL OR length(email) > 254 OR email !~ '^[^@\s]+@[^@\s]+\.[^@\s]+$' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'email is not a valid address', jsonb_build_object('argument', 'email'));
  ELSIF clean IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'iban is not a valid IBAN (format or checksum)',
                             jsonb_build_object('argument', 'iban'));
  END IF;
  card := cards.lock_card(card_id);
  IF how = 'refund_code' THEN
    declined := cards.refund_code_check(card.card_id, refund_code);
    IF declined IS NOT NULL THEN
      RETURN declined;
    END IF;
  END IF;
  IF EXISTS (SELECT 1 FROM cards.refund_requests r WHERE r.card_id = card.card_id) THEN
    RETURN core.decline('REFUND_ALREADY_REQUESTED', format('card %s already has a refund', card.card_id),
                        jsonb_build_object('card_id', card.card_id));
  END IF;
  IF card.status <> 'active' THEN
    RETURN cards.not_active(card);
  END IF;
  SELECT a.balance, a.currency::text INTO bal, currency FROM ledger.accounts a WHERE a.id = card.account_id;
  IF bal - fee <= 0 THEN
    RETURN core.decline('NOTHING_TO_REFUND',
      format('card %s has %s; after the %s fee nothing is left to refund', card.card_id, bal, fee),
      jsonb_build_object('card_id', card.card_id, 'balance', bal, 'fee', fee));
  END IF;
  PERFORM cards.set_status(card.card_id, 'frozen', 'refund requested');
  IF fee > 0 THEN
    posted := ledger.post_transfer('card_refund',
      ARRAY[card.account_id, ledger.house_account('refunds_payable', 'cards', currency),
            ledger.house_account('fees', 'refund_fee', currency)],
      ARRAY[-bal, bal - fee, fee], transfer_key, jsonb_build_object('fee', fee));
  ELSE
    posted := ledger.post_transfer('card_refund',
      ARRAY[card.account_id, ledger.house_account('refunds_payable', 'cards', currency)],
      ARRAY[-bal, bal], transfer_key, jsonb_build_object('fee', 0));
  END IF;
  INSERT INTO cards.refund_requests (card_id, name, email, iban, amount, fee, currency, transfer_id,
                                     proof, filed_by_role, filed_by)
  VALUES (card.card_id, btrim(name), lower(email), clean, bal - fee, fee, currency, posted.transfer_id,
          how, req_role, core.actor())
  RETURNING refund_id INTO rid;
  RETURN jsonb_build_object('refund_id', rid, 'card_id', card.card_id, 'amount', bal - fee, 'fee', fee,
                            'currency', currency, 'status', 'pending', 'card_status', 'frozen');
END $_$;


ALTER FUNCTION cards.refund_request(card_id text, name text, email text, iban text, refund_code text, transfer_key text) OWNER TO postgres;

--
-- Name: refunds_list(text, integer); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.refunds_list(status text, max_rows integer) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
  SELECT jsonb_build_object(
    'summary', jsonb_build_object(
      'pending', (SELECT jsonb_build_object('count', count(*), 'amount', coalesce(sum(r.amount), 0)::bigint)
                    FROM cards.refund_requests r WHERE r.status = 'pending'),
      'exported', (SELECT jsonb_build_object('count', count(*), 'amount', coalesce(sum(r.amount), 0)::bigint)
                     FROM cards.refund_requests r WHERE r.status = 'exported')),
    'refunds', coalesce((
      SELECT jsonb_agg(jsonb_build_object(
               'refund_id', r.refund_id, 'card_id', r.card_id, 'name', r.name,
               'iban', left(r.iban, 4) || repeat('*', greatest(length(r.iban) - 8, 0)) || right(r.iban, 4),
               'amount', r.amount, 'fee', r.fee, 'currency', r.currency, 'status', r.status,
               'export_id', r.export_id, 'created_at', r.created_at) ORDER BY r.refund_id DESC)
        FROM (SELECT * FROM cards.refund_requests x
               WHERE refunds_list.status IS NULL OR x.status = refunds_list.status
               ORDER BY x.refund_id DESC LIMIT max_rows) r), '[]'))
$$;


ALTER FUNCTION cards.refunds_list(status text, max_rows integer) OWNER TO postgres;

--
-- Name: require_amount(bigint, text); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.require_amount(amount bigint, max_setting text) RETURNS void
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE max_amount bigint := (core.setting(max_setting))::bigint;
BEGIN
  IF amount IS NULL OR amount NOT BETWEEN 1 AND max_amount THEN
    PERFORM core.raise_error('INVALID_REQUEST', format('amount must be 1..%s minor units', max_amount),
                             jsonb_build_object('argument', 'amount', 'max', max_amount));
  END IF;
END $$;


ALTER FUNCTION cards.require_amount(amount bigint, max_setting text) OWNER TO postgres;

--
-- Name: sales_per_hour(timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.sales_per_hour(since timestamp with time zone, until timestamp with time zone) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
  SELECT jsonb_build_object(
    'since', since, 'until', until, 'currency', core.setting('cards.currency') #>> '{}',
    -- Every hour of the window, sales or not: a chart's x axis.
    'hours', (SELECT jsonb_agg(g ORDER BY g)
                FROM generate_series(date_trunc('hour', since, 'UTC'), until, interval '1 hour') AS g WHERE g < until),
    'rows', coalesce((
      SELECT jsonb_agg(jsonb_build_object('point_of_sale', h.point_of_sale, 'hour', h.hour, 'orders', h.orders,
                                          'sales', h.sales, 'deposits_taken', h.deposits)
                       ORDER BY h.hour, h.point_of_sale)
        FROM (SELECT o.point_of_sale, date_trunc('hour', o.created_at, 'UTC') AS hour, count(*) AS orders,
                     sum(o.total - o.deposit_total)::bigint AS sales, sum(o.deposit_total)::bigint AS deposits
                FROM cards.bar_orders o
               WHERE o.created_at >= since AND o.created_at < until
               GROUP BY 1, 2) h), '[]'),
    'totals', coalesce((
      SELECT jsonb_agg(jsonb_build_object('point_of_sale', t.point_of_sale, 'orders', t.orders, 'sales', t.sales)
                       ORDER BY t.sales DESC, t.point_of_sale)
        FROM (SELECT o.point_of_sale, count(*) AS orders, sum(o.total - o.deposit_total)::bigint AS sales
                FROM cards.bar_orders o
               WHERE o.created_at >= since AND o.created_at < until
               GROUP BY 1) t), '[]'))
$$;


ALTER FUNCTION cards.sales_per_hour(since timestamp with time zone, until timestamp with time zone) OWNER TO postgres;

--
-- Name: sepa_amount(bigint); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.sepa_amount(amount bigint) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$
  SELECT (amount / 100)::text || '.' || lpad((amount % 100)::text, 2, '0')
$$;


ALTER FUNCTION cards.sepa_amount(amount bigint) OWNER TO postgres;

--
-- Name: set_status(text, text, text); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.set_status(card_id text, new_status text, reason text) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
  PERFORM set_config('cards.status_reason', reason, true);
  UPDATE cards.cards c SET status = new_status WHERE c.card_id = set_status.card_id AND c.status <> new_status;
END $$;


ALTER FUNCTION cards.set_status(card_id text, new_status text, reason text) OWNER TO postgres;

--
-- Name: stripe_apply_refunds(text); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.stripe_apply_refunds(pi text) RETURNS text
    LANGUAGE plpgsql
    AS $$
DECLARE
  pay     cards.stripe_payments;
  card    cards.cards;
  held    cards.held_payments;
  due     bigint;
  bal     bigint;
  unheld  bigint := 0::bigint;
  paid    bigint;
  owed    bigint;
  posted  record;
  legs_a  bigint[];
  legs_n  bigint[];
BEGIN
  SELECT * INTO pay FROM cards.stripe_payments p WHERE p.payment_intent = pi FOR UPDATE;
  IF pay.credited_at IS NULL THEN
    RETURN 'deferred: refund kept until the payment is credited';
  END IF;
  due := least(pay.refunded_seen, pay.amount_credited) - pay.refunded_applied;
  IF due <= 0 THEN
    RETURN 'duplicate: refund already applied';
  END IF;
  card := cards.lock_card(pay.card_id);
  SELECT * INTO held FROM cards.held_payments h WHERE h.payment_intent = pi FOR UPDATE;
  IF FOUND THEN
    unheld := least(due, held.amount - held.released);
  END IF;
  SELECT a.balance INTO bal FROM ledger.accounts a WHERE a.id = card.account_id;
  paid := least(bal, due - unheld);
  owed := due - unheld - paid;
  legs_a := ARRAY[ledger.house_account('stripe_clearing', 'stripe', pay.currency)];
  legs_n := ARRAY[due];
  IF unheld > 0 THEN
    legs_a := legs_a || ledger.house_account('held_payments', 'cards', pay.currency);
    legs_n := legs_n || -unheld;
  END IF;
  IF paid > 0 THEN
    legs_a := legs_a || card.account_id;
    legs_n := legs_n || -paid;
  END IF;
  IF owed > 0 THEN
    legs_a := legs_a || ledger.house_account('card_debt', 'cards', pay.currency);
    legs_n := legs_n || -owed;
  END IF;
  posted := ledger.post_transfer('stripe_refund', legs_a, legs_n, 'stripe-refund:' || pi || ':' || pay.refunded_seen,
                                 jsonb_build_object('payment_intent', pi, 'refunded', due, 'debt', owed,
                                                    'released_from_hold', unheld));
  UPDATE cards.stripe_payments p SET refunded_applied = p.refunded_applied + due, updated_at = now()
   WHERE p.payment_intent = pi;
  IF unheld > 0 THEN
    UPDATE cards.held_payments h
       SET released = h.released + unheld,
           resolved_at = CASE WHEN h.released + unheld = h.amount THEN now() END
     WHERE h.held_id = held.held_id;
  END IF;
  IF owed > 0 THEN
    INSERT INTO cards.card_debts (card_id, amount, reason, payment_intent, transfer_id)
    VALUES (card.card_id, owed, 'stripe refund above the card balance', pi, posted.transfer_id);
    PERFORM cards.set_status(card.card_id, 'blocked', 'debt after stripe refund on ' || pi);
  END IF;
  RETURN CASE WHEN owed > 0 THEN 'refunded with debt' ELSE 'refunded' END;
END $$;


ALTER FUNCTION cards.stripe_apply_refunds(pi text) OWNER TO postgres;

--
-- Name: stripe_credit(jsonb); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.stripe_credit(session jsonb) RETURNS text
    LANGUAGE plpgsql
    AS $_$
DECLARE
  pi       text := session ->> 'payment_intent';
  sid      text := session ->> 'id';
  charged  bigint;
  ccy      text := upper(session ->> 'currency');
  intent   cards.recharge_intents;
  card     cards.cards;
  pay      cards.stripe_payments;
  posted   record;
  result   text;
  hid      bigint;
BEGIN
  IF jsonb_typeof(session -> 'amount_total') = 'number' AND (session ->> 'amount_total') ~ '^[0-9]{1,18}$' THEN
    charged := (session ->> 'amount_total')::bigint;
  END IF;
  IF pi IS NULL OR sid IS NULL OR charged IS NULL OR charged <= 0 THEN
    RETURN 'ignored: session without payment_intent or amount_total';
  END IF;
  SELECT * INTO intent FROM cards.recharge_intents i
   WHERE i.intent_id::text = coalesce(session ->> 'client_reference_id', session #>> '{metadata,intent_id}')
   FOR UPDATE;
  IF NOT FOUND THEN
    RETURN 'ignored: no recharge intent for this session';
  END IF;
  -- Lock order everywhere here: intent, then payment, then card.
  INSERT INTO cards.stripe_payments (payment_intent) VALUES (pi) ON CONFLICT DO NOTHING;
  SELECT * INTO pay FROM cards.stripe_payments p WHERE p.payment_intent = pi FOR UPDATE;
  IF pay.credited_at IS NOT NULL THEN
    RETURN 'duplicate: payment intent already credited';
  END IF;
  card := cards.lock_card(intent.card_id);
  IF ccy IS DISTINCT FROM cards.currency_of(card) THEN
    UPDATE cards.recharge_intents i SET status = 'failed', updated_at = now() WHERE i.intent_id = intent.intent_id;
    RETURN format('needs_review: charged %s %s but the card is in %s', charged, ccy, cards.currency_of(card));
  END IF;

  IF (intent.session_id IS NOT NULL AND intent.session_id <> sid)
     OR EXISTS (SELECT 1 FROM cards.stripe_payments p
                 WHERE p.intent_id = intent.intent_id AND p.credited_at IS NOT NULL AND p.payment_intent <> pi) THEN
    hid := cards.stripe_hold(card, ledger.house_account('stripe_clearing', 'stripe', ccy), charged, pi, sid,
                             'duplicate_session', ccy);
    -- Accounted for, so a refund Stripe reports for it releases the hold (stripe_apply_refunds).
    UPDATE cards.stripe_payments p
       SET intent_id = intent.intent_id, card_id = card.card_id, amount_credited = charged, currency = ccy, credited_at = now(), updated_at = now()
     WHERE p.payment_intent = pi;
    PERFORM cards.stripe_apply_refunds(pi);
    RETURN format('duplicate_session: intent %s is already paid; %s held for a refund (held payment %s)',
                  intent.intent_id, charged, hid);
  END IF;

  posted := ledger.post_transfer('stripe_recharge',
    ARRAY[ledger.house_account('stripe_clearing', 'stripe', ccy), card.account_id], ARRAY[-charged, charged],
    'stripe:' || pi, jsonb_build_object('payment_intent', pi, 'session_id', sid));
  INSERT INTO cards.recharges (card_id, method, amount, payment_intent, transfer_id)
  VALUES (card.card_id, 'stripe', charged, pi, posted.transfer_id);
  UPDATE cards.stripe_payments p
     SET session_id = sid, intent_id = intent.intent_id, card_id = card.card_id, amount_credited = charged,
         currency = ccy, credited_at = now(), updated_at = now()
   WHERE p.payment_intent = pi;
  UPDATE cards.recharge_intents i SET status = 'succeeded', session_id = sid, updated_at = now()
   WHERE i.intent_id = intent.intent_id;

  PERFORM cards.stripe_apply_refunds(pi);
  SELECT * INTO pay FROM cards.stripe_payments p WHERE p.payment_intent = pi;
  result := cards.stripe_route(card.card_id, charged - pay.refunded_applied, pi, sid, ccy);
  IF pay.disputed THEN
    PERFORM cards.set_status(card.card_id, 'blocked', 'stripe dispute on ' || pi);
  END IF;
  RETURN result;
END $_$;


ALTER FUNCTION cards.stripe_credit(session jsonb) OWNER TO postgres;

--
-- Name: stripe_event_apply(jsonb); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.stripe_event_apply(event jsonb) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
  evt_id   text := event ->> 'id';
  kind     text := event ->> 'type';
  obj      jsonb := event #> '{data,object}';
  result   text;
  pi       text;
BEGIN
  IF evt_id IS NULL OR kind IS NULL OR jsonb_typeof(obj) IS DISTINCT FROM 'object' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'event must have id, type and data.object',
                             jsonb_build_object('argument', 'event'));
  END IF;
  INSERT INTO cards.stripe_events (event_id, type, outcome, payload) VALUES (evt_id, kind, 'processing', event)
  ON CONFLICT DO NOTHING;
  IF NOT FOUND THEN
    RETURN jsonb_build_object('event_id', evt_id, 'type', kind, 'outcome', 'duplicate event');
  END IF;

  CASE kind
  WHEN 'checkout.session.completed' THEN
    IF obj ->> 'payment_status' IN ('paid', 'no_payment_required') THEN
      result := cards.stripe_credit(obj);
    ELSE
      result := 'awaiting async payment';  -- async_payment_succeeded / _failed follows
    END IF;
  WHEN 'checkout.session.async_payment_succeeded' THEN
    result := cards.stripe_credit(obj);
  WHEN 'checkout.session.async_payment_failed', 'checkout.session.expired' THEN
    UPDATE cards.recharge_intents i
       SET status = CASE kind WHEN 'checkout.session.expired' THEN 'expired' ELSE 'failed' END, updated_at = now()
     WHERE i.session_id = obj ->> 'id' AND i.status IN ('pending', 'open');
    result := CASE WHEN FOUND THEN 'intent closed' ELSE 'no open intent' END;
  WHEN 'charge.refunded' THEN
    pi := obj ->> 'payment_intent';
    IF pi IS NULL OR jsonb_typeof(obj -> 'amount_refunded') IS DISTINCT FROM 'number' THEN
      result := 'ignored: charge without payment_intent or amount_refunded';
    ELSE
      INSERT INTO cards.stripe_payments AS p (payment_intent, refunded_seen)
      VALUES (pi, (obj ->> 'amount_refunded')::bigint)
      ON CONFLICT (payment_intent) DO UPDATE
         SET refunded_seen = greatest(p.refunded_seen, excluded.refunded_seen), updated_at = now();
      result := cards.stripe_apply_refunds(pi);
    END IF;
  WHEN 'charge.dispute.created' THEN
    pi := obj ->> 'payment_intent';
    IF pi IS NULL THEN
      result := 'ignored: dispute without payment_intent';
    ELSE
      INSERT INTO cards.stripe_payments AS p (payment_intent, disputed) VALUES (pi, true)
      ON CONFLICT (payment_intent) DO UPDATE SET disputed = true, updated_at = now();
      SELECT CASE WHEN p.card_id IS NULL THEN 'deferred: block when the payment is credited' ELSE 'card blocked' END
        INTO result FROM cards.stripe_payments p WHERE p.payment_intent = pi;
      PERFORM cards.set_status(p.card_id, 'blocked', 'stripe dispute on ' || pi)
         FROM cards.stripe_payments p WHERE p.payment_intent = pi AND p.card_id IS NOT NULL;
    END IF;
  ELSE
    result := 'ignored';
  END CASE;

  UPDATE cards.stripe_events e SET outcome = result WHERE e.event_id = evt_id;
  RETURN jsonb_build_object('event_id', evt_id, 'type', kind, 'outcome', result);
END $$;


ALTER FUNCTION cards.stripe_event_apply(event jsonb) OWNER TO postgres;

--
-- Name: stripe_hold(cards.cards, bigint, bigint, text, text, text, text); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.stripe_hold(card cards.cards, from_account bigint, amount bigint, pi text, sid text, reason text, ccy text) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
DECLARE
  posted record;
  hid    bigint;
BEGIN
  posted := ledger.post_transfer('stripe_held', ARRAY[from_account, ledger.house_account('held_payments', 'cards', ccy)],
    ARRAY[-amount, amount], 'stripe-held:' || pi,
    jsonb_build_object('payment_intent', pi, 'session_id', sid, 'card_id', card.card_id, 'reason', reason));
  INSERT INTO cards.held_payments (card_id, payment_intent, session_id, reason, amount, currency, transfer_id)
  VALUES (card.card_id, pi, sid, reason, amount, ccy, posted.transfer_id)
  RETURNING held_id INTO hid;
  PERFORM pg_notify('cards_ops', 'held_payment:' || hid);
  RETURN hid;
END $$;


ALTER FUNCTION cards.stripe_hold(card cards.cards, from_account bigint, amount bigint, pi text, sid text, reason text, ccy text) OWNER TO postgres;

--
-- Name: stripe_payload_apply(text); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.stripe_payload_apply(payload text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
  -- A \u0000 escape not itself escaped: preceded by an even number of backslashes.
  clean   text := regexp_replace(payload, '(?<!\\)((?:\\\\)*)\\u0000', '\1\\ufffd', 'g');
  event   jsonb;
  applied jsonb;
BEGIN
  BEGIN
    event := clean::jsonb;
  EXCEPTION WHEN data_exception THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'the event is not JSON', jsonb_build_object('argument', 'payload'));
  END;
  IF jsonb_typeof(event) IS DISTINCT FROM 'object' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'the event must be a JSON object',
                             jsonb_build_object('argument', 'payload'));
  END IF;
  applied := cards.stripe_event_apply(event);
  IF applied ->> 'outcome' IS DISTINCT FROM 'duplicate event' THEN
    UPDATE cards.stripe_events e
       SET payload_sha256 = sha256(convert_to(stripe_payload_apply.payload, 'UTF8')),
           raw_payload = CASE WHEN clean <> stripe_payload_apply.payload THEN stripe_payload_apply.payload END
     WHERE e.event_id = event ->> 'id';
  END IF;
  RETURN applied;
END $$;


ALTER FUNCTION cards.stripe_payload_apply(payload text) OWNER TO postgres;

--
-- Name: stripe_route(text, bigint, text, text, text); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.stripe_route(card_id text, amount bigint, pi text, sid text, ccy text) RETURNS text
    LANGUAGE plpgsql
    AS $$
DECLARE
  card    cards.cards := cards.lock_card(card_id);
  refund  cards.refund_requests;
  debt    bigint;
  repay   bigint := 0::bigint;
  posted  record;
BEGIN
  IF card.status = 'active' OR amount <= 0 THEN
    RETURN 'credited';
  END IF;
  IF card.status = 'frozen' THEN
    SELECT * INTO refund FROM cards.refund_requests r WHERE r.card_id = card.card_id FOR UPDATE;
    IF FOUND AND refund.status = 'pending' THEN
      posted := ledger.post_transfer('card_refund_topup',
        ARRAY[card.account_id, ledger.house_account('refunds_payable', 'cards', ccy)], ARRAY[-amount, amount],
        'stripe-refund-topup:' || pi, jsonb_build_object('payment_intent', pi, 'refund_id', refund.refund_id));
      UPDATE cards.refund_requests r SET amount = r.amount + stripe_route.amount WHERE r.refund_id = refund.refund_id;
      RETURN 'credited: added to pending refund';
    END IF;
    IF refund.refund_id IS NOT NULL THEN  -- exported: that bank transfer cannot grow
      PERFORM cards.stripe_hold(card, card.account_id, amount, pi, sid, 'refund_already_exported', ccy);
      RETURN 'held: the card''s refund was already exported';
    END IF;
    PERFORM cards.stripe_hold(card, card.account_id, amount, pi, sid, 'card_frozen', ccy);
    RETURN 'held: card frozen';
  END IF;
  SELECT coalesce(sum(d.amount), 0)::bigint INTO debt FROM cards.card_debts d WHERE d.card_id = card.card_id;
  repay := least(debt, amount);
  IF repay > 0 THEN
    posted := ledger.post_transfer('card_debt_repayment',
      ARRAY[card.account_id, ledger.house_account('card_debt', 'cards', ccy)], ARRAY[-repay, repay],
      'stripe-debt:' || pi, jsonb_build_object('payment_intent', pi));
    INSERT INTO cards.card_debts (card_id, amount, reason, payment_intent, transfer_id)
    VALUES (card.card_id, -repay, 'paid from stripe payment', pi, posted.transfer_id);
  END IF;
  IF amount - repay > 0 THEN
    PERFORM cards.stripe_hold(card, card.account_id, amount - repay, pi, sid, 'card_blocked', ccy);
    RETURN 'held: card blocked' || CASE WHEN repay > 0 THEN format(' (debt of %s paid first)', repay) ELSE '' END;
  END IF;
  RETURN format('credited: paid card debt of %s', repay);
END $$;


ALTER FUNCTION cards.stripe_route(card_id text, amount bigint, pi text, sid text, ccy text) OWNER TO postgres;

--
-- Name: top_products_since(timestamp with time zone, integer); Type: FUNCTION; Schema: cards; Owner: postgres
--

CREATE FUNCTION cards.top_products_since(since timestamp with time zone, max_rows integer) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
  SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY t.revenue DESC, t.product_id), '[]')
    FROM (SELECT l.product_id, p.name, p.category, sum(l.quantity)::bigint AS units,
                 sum(l.quantity * l.unit_price)::bigint AS revenue
            FROM cards.order_lines l JOIN cards.products p USING (product_id)
           WHERE NOT l.is_deposit AND (since IS NULL OR l.created_at >= since)
           GROUP BY 1, 2, 3
           ORDER BY revenue DESC, l.product_id
           LIMIT max_rows) t
$$;


ALTER FUNCTION cards.top_products_since(since timestamp with time zone, max_rows integer) OWNER TO postgres;

--
-- Name: backlog_report(text, timestamp with time zone); Type: FUNCTION; Schema: checkout; Owner: postgres
--

CREATE FUNCTION checkout.backlog_report(kiosk_id text, oldest_pending_at timestamp with time zone) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
BEGIN
  INSERT INTO checkout.edge_backlog AS b (kiosk_id, oldest_pending_at) VALUES (backlog_report.kiosk_id, oldest_pending_at)
  ON CONFLICT ON CONSTRAINT edge_backlog_pkey DO UPDATE SET oldest_pending_at = excluded.oldest_pending_at, reported_at = now();
  RETURN jsonb_build_object('kiosk_id', kiosk_id, 'oldest_pending_at', oldest_pending_at);
END $$;


ALTER FUNCTION checkout.backlog_report(kiosk_id text, oldest_pending_at timestamp with time zone) OWNER TO postgres;

--
-- Name: catalog(); Type: FUNCTION; Schema: checkout; Owner: postgres
--

CREATE FUNCTION checkout.catalog() RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
  SELECT jsonb_build_object(
    'version', checkout.catalog_version(),
    'limits', jsonb_build_object('max_batch', (core.setting('checkout.max_batch'))::int),
    'items', coalesce((SELECT jsonb_agg(jsonb_build_object('sku', i.sku, 'name', i.name, 'price', i.price,
                                                           'currency', i.currency, 'active', i.active) ORDER BY i.sku)
                         FROM checkout.catalog_items i), '[]'))
$$;


ALTER FUNCTION checkout.catalog() OWNER TO postgres;

--
-- Name: catalog_upsert(text, text, bigint, text, boolean); Type: FUNCTION; Schema: checkout; Owner: postgres
--

CREATE FUNCTION checkout.catalog_upsert(sku text, name text, price bigint, currency text, active boolean) RETURNS jsonb
    LANGUAGE plpgsql
    AS $_$
DECLARE
  cur     checkout.catalog_items;
  v       bigint;
  clean   text := btrim(name);
BEGIN
  IF sku IS NULL OR sku !~ '^[A-Za-z0-9_.:-]{1,64}$' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'sku must be 1-64 letters, digits or _.:-', jsonb_build_object('argument', 'sku'));
  ELSIF clean IS NULL OR length(clean) NOT BETWEEN 1 AND 200 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'name must be 1-200 characters', jsonb_build_object('argument', 'name'));
  ELSIF price IS NULL OR price NOT BETWEEN 1 AND 10000000 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'price must be an integer 1..10000000 (minor units)',
                             jsonb_build_object('argument', 'price'));
  ELSIF currency IS NULL OR currency !~ '^[A-Z]{3}$' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'currency must be an ISO-4217 code such as EUR',
                             jsonb_build_object('argument', 'currency'));
  ELSIF active IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'active must be true or false', jsonb_build_object('argument', 'active'));
  END IF;

  LOCK TABLE checkout.catalog_history IN EXCLUSIVE MODE;  -- readers go on; edits queue
  SELECT * INTO cur FROM checkout.catalog_items i WHERE i.sku = catalog_upsert.sku;
  IF FOUND AND (cur.name, cur.price, cur.currency, cur.active) = (clean, price, currency, active) THEN
    RETURN jsonb_build_object('sku', cur.sku, 'name', cur.name, 'price', cur.price, 'currency', cur.currency,
                              'active', cur.active, 'version', cur.version, 'changed', false,
                              'catalog_version', checkout.catalog_version());
  END IF;
  v := checkout.catalog_version() + 1;
  INSERT INTO checkout.catalog_history (version, sku, name, price, currency, active, actor)
  VALUES (v, catalog_upsert.sku, clean, price, currency, active, core.actor());
  INSERT INTO checkout.catalog_items AS i (sku, name, price, currency, active, version)
  VALUES (catalog_upsert.sku, clean, price, currency, active, v)
  ON CONFLICT ON CONSTRAINT catalog_items_pkey DO UPDATE
     SET name = excluded.name, price = excluded.price, currency = excluded.currency,
         active = excluded.active, version = excluded.version, updated_at = now();
  RETURN jsonb_build_object('sku', catalog_upsert.sku, 'name', clean, 'price', price, 'currency', currency,
                            'active', active, 'version', v, 'changed', true, 'catalog_version', v);
END $_$;


ALTER FUNCTION checkout.catalog_upsert(sku text, name text, price bigint, currency text, active boolean) OWNER TO postgres;

--
-- Name: catalog_version(); Type: FUNCTION; Schema: checkout; Owner: postgres
--

CREATE FUNCTION checkout.catalog_version() RETURNS bigint
    LANGUAGE sql STABLE
    AS $$
  SELECT coalesce(max(h.version), 0) FROM checkout.catalog_history h
$$;


ALTER FUNCTION checkout.catalog_version() OWNER TO postgres;

--
-- Name: dashboard_kiosks(); Type: FUNCTION; Schema: checkout; Owner: fleet_service
--

CREATE FUNCTION checkout.dashboard_kiosks() RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  SELECT coalesce(jsonb_agg(to_jsonb(s) ORDER BY s.kiosk_id), '[]') FROM checkout.kiosk_status s
$$;


ALTER FUNCTION checkout.dashboard_kiosks() OWNER TO fleet_service;

--
-- Name: dashboard_overview(); Type: FUNCTION; Schema: checkout; Owner: fleet_service
--

CREATE FUNCTION checkout.dashboard_overview() RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  SELECT jsonb_build_object(
    'as_of', now(),
    'kiosks', count(*),
    'online', count(*) FILTER (WHERE s.online),
    'offline', count(*) FILTER (WHERE NOT s.online),
    'orders_today', coalesce(sum(s.orders_today), 0)::bigint,
    'revenue_today', (SELECT coalesce(jsonb_object_agg(c.currency, c.revenue), '{}')
                        FROM (SELECT o.currency, sum(o.total)::bigint AS revenue
                                FROM checkout.orders o JOIN kiosk.kiosks k ON k.kiosk_id = o.kiosk_id AND k.kind = 'checkout'
                               WHERE o.sold_at >= lower(checkout.today()) AND o.sold_at < upper(checkout.today()) GROUP BY o.currency) c),
    'pending_orders', coalesce(sum(s.pending_orders), 0)::bigint,
    'kiosks_with_backlog', count(*) FILTER (WHERE s.pending_orders > 0),
    'oldest_unsynced_age_seconds', max(s.oldest_unsynced_age_seconds),
    'refused_orders', coalesce(sum(s.refused_orders), 0)::bigint)
  FROM checkout.kiosk_status s
$$;


ALTER FUNCTION checkout.dashboard_overview() OWNER TO fleet_service;

--
-- Name: orders; Type: TABLE; Schema: checkout; Owner: postgres
--

CREATE TABLE checkout.orders (
    order_id text NOT NULL,
    kiosk_id text NOT NULL,
    idempotency_key text NOT NULL,
    payload_hash bytea NOT NULL,
    payment_method text NOT NULL,
    currency text NOT NULL,
    catalog_version bigint NOT NULL,
    total bigint NOT NULL,
    line_count integer NOT NULL,
    flagged_lines integer NOT NULL,
    created_at timestamp with time zone NOT NULL,
    sold_at timestamp with time zone NOT NULL,
    received_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT orders_check CHECK ((order_id = ((kiosk_id || ':'::text) || idempotency_key))),
    CONSTRAINT orders_check1 CHECK ((sold_at <= received_at)),
    CONSTRAINT orders_currency_check CHECK ((currency ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT orders_flagged_lines_check CHECK ((flagged_lines >= 0)),
    CONSTRAINT orders_idempotency_key_check CHECK (((idempotency_key ~ '^[A-Za-z0-9_.:-]+$'::text) AND ((length(idempotency_key) >= 8) AND (length(idempotency_key) <= 128)))),
    CONSTRAINT orders_line_count_check CHECK ((line_count > 0)),
    CONSTRAINT orders_payment_method_check CHECK ((payment_method = ANY (ARRAY['card'::text, 'mobile'::text, 'cash'::text]))),
    CONSTRAINT orders_total_check CHECK ((total > 0))
);


ALTER TABLE checkout.orders OWNER TO postgres;

--
-- Name: order_json(checkout.orders); Type: FUNCTION; Schema: checkout; Owner: postgres
--

CREATE FUNCTION checkout.order_json(o checkout.orders) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
  SELECT jsonb_build_object(
    'order_id', o.order_id, 'kiosk_id', o.kiosk_id, 'idempotency_key', o.idempotency_key,
    'payment_method', o.payment_method, 'currency', o.currency, 'catalog_version', o.catalog_version,
    'total', o.total, 'flagged_lines', o.flagged_lines, 'created_at', o.created_at, 'sold_at', o.sold_at,
    'received_at', o.received_at,
    'transfer_id', (SELECT t.id FROM ledger.transfers t WHERE t.kind = 'checkout_sale' AND t.idempotency_key = o.order_id),
    'lines', (SELECT jsonb_agg(jsonb_build_object('sku', l.sku, 'qty', l.qty, 'unit_price', l.unit_price,
                                                  'amount', l.qty * l.unit_price, 'catalog_price', l.catalog_price,
                                                  'price_flag', l.price_flag) ORDER BY l.line_no)
                FROM checkout.order_lines l WHERE l.order_id = o.order_id))
$$;


ALTER FUNCTION checkout.order_json(o checkout.orders) OWNER TO postgres;

--
-- Name: orders_of(text, timestamp with time zone, integer); Type: FUNCTION; Schema: checkout; Owner: fleet_service
--

CREATE FUNCTION checkout.orders_of(kiosk_id text, since timestamp with time zone, max_orders integer) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
  IF max_orders IS NULL OR max_orders NOT BETWEEN 1 AND 1000 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'limit must be 1..1000', jsonb_build_object('argument', 'limit'));
  END IF;
  IF kiosk_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM kiosk.kiosks k WHERE k.kiosk_id = orders_of.kiosk_id AND k.kind = 'checkout') THEN
    PERFORM core.raise_error('KIOSK_NOT_FOUND', format('no self-checkout kiosk %s', kiosk_id),
                             jsonb_build_object('kiosk_id', kiosk_id));
  END IF;
  RETURN (SELECT coalesce(jsonb_agg(checkout.order_json(o) ORDER BY o.sold_at, o.order_id), '[]')
            FROM (SELECT * FROM checkout.orders x
                   WHERE (orders_of.kiosk_id IS NULL OR x.kiosk_id = orders_of.kiosk_id)
                     AND (since IS NULL OR x.sold_at >= since)
                   ORDER BY x.sold_at, x.order_id LIMIT max_orders) o);
END $$;


ALTER FUNCTION checkout.orders_of(kiosk_id text, since timestamp with time zone, max_orders integer) OWNER TO fleet_service;

--
-- Name: parse_time(text); Type: FUNCTION; Schema: checkout; Owner: postgres
--

CREATE FUNCTION checkout.parse_time(value text) RETURNS timestamp with time zone
    LANGUAGE sql STABLE
    AS $_$
  SELECT CASE WHEN value ~ '^(20|21)\d\d-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[T ]([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?(Z|[+-](0\d|1[0-5]):?[0-5]\d)$'
         THEN CASE WHEN substr(value, 9, 2)::int <= CASE substr(value, 6, 2)
                                                         WHEN '02' THEN CASE WHEN substr(value, 1, 4)::int % 4 = 0
                                                                              AND substr(value, 1, 4) <> '2100' THEN 29 ELSE 28 END
                                                         WHEN '04' THEN 30 WHEN '06' THEN 30 WHEN '09' THEN 30 WHEN '11' THEN 30
                                                         ELSE 31 END
                   THEN value::timestamptz END END
$_$;


ALTER FUNCTION checkout.parse_time(value text) OWNER TO postgres;

--
-- Name: refused_orders_of(text, boolean, integer); Type: FUNCTION; Schema: checkout; Owner: fleet_service
--

CREATE FUNCTION checkout.refused_orders_of(kiosk_id text, include_resolved boolean, max_rows integer) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
  IF kiosk_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM kiosk.kiosks k WHERE k.kiosk_id = refused_orders_of.kiosk_id AND k.kind = 'checkout') THEN
    PERFORM core.raise_error('KIOSK_NOT_FOUND', format('no self-checkout kiosk %s', kiosk_id),
                             jsonb_build_object('kiosk_id', kiosk_id));
  END IF;
  RETURN (SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'id', f.id, 'kiosk_id', f.kiosk_id, 'idempotency_key', f.idempotency_key, 'status', f.status,
                   'reason', f.reason, 'message', f.message, 'payload', f.payload, 'times', f.times,
                   'first_seen_at', f.first_seen_at, 'last_seen_at', f.last_seen_at, 'resolved_at', f.resolved_at)
                   ORDER BY f.last_seen_at DESC, f.id DESC), '[]')
            FROM (SELECT * FROM checkout.refused_orders x
                   WHERE (refused_orders_of.kiosk_id IS NULL OR x.kiosk_id = refused_orders_of.kiosk_id)
                     AND (include_resolved OR x.resolved_at IS NULL)
                   ORDER BY x.last_seen_at DESC, x.id DESC LIMIT max_rows) f);
END $$;


ALTER FUNCTION checkout.refused_orders_of(kiosk_id text, include_resolved boolean, max_rows integer) OWNER TO fleet_service;

--
-- Name: require_checkout_kiosk(); Type: FUNCTION; Schema: checkout; Owner: postgres
--

CREATE FUNCTION checkout.require_checkout_kiosk() RETURNS text
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE id text := kiosk.require_kiosk();
BEGIN
  IF NOT EXISTS (SELECT 1 FROM kiosk.kiosks k WHERE k.kiosk_id = id AND k.kind = 'checkout') THEN
    PERFORM core.raise_error('FORBIDDEN', format('kiosk %s is not a self-checkout kiosk', id));
  END IF;
  RETURN id;
END $$;


ALTER FUNCTION checkout.require_checkout_kiosk() OWNER TO postgres;

--
-- Name: sync(text, jsonb); Type: FUNCTION; Schema: checkout; Owner: postgres
--

CREATE FUNCTION checkout.sync(kiosk_id text, orders jsonb) RETURNS jsonb
    LANGUAGE plpgsql
    AS $_$
DECLARE
  max_batch   int := core.setting('checkout.max_batch')::int;
  cur_version bigint;
  -- per order, in input order
  n_idx       int[];
  keys        text[];
  ids         text[];
  shape_bad   text[];
  cat_bad     text[];
  msgs        text[];
  hashes      bytea[];
  totals      bigint[];
  currencies  text[];
  methods     text[];
  created     timestamptz[];
  versions    bigint[];
  line_counts int[];
  flagged     int[];
  is_cand     boolean[];
  raw         jsonb[];
  -- per line of a well-formed order
  l_n         int[];
  l_i         int[];
  l_sku       text[];
  l_qty       int[];
  l_price     bigint[];
  l_cat_price bigint[];
  l_flag      text[];
  -- outcome
  new_ids     text[];
  is_new      boolean[];  -- per order, in input order: inserted by this call
  statuses    text[];
  stored_tot  bigint[];
  rec         record;
  acct_cur    text;
  acct_meth   text;
  clearing    bigint;
  revenue     bigint;
  results     jsonb;
  counts      record;
BEGIN
  IF orders IS NULL OR jsonb_typeof(orders) <> 'array' OR jsonb_array_length(orders) NOT BETWEEN 1 AND max_batch THEN
    PERFORM core.raise_error('INVALID_REQUEST', format('orders must be an array of 1 to %s orders', max_batch),
                             jsonb_build_object('argument', 'orders'));
  END IF;
  cur_version := checkout.catalog_version();

  -- 1. Parse and check every order and line in one read-only pass. Shape problems make an
  --    order "rejected" whatever is stored; catalog problems only matter for a new order.
  WITH o AS (
    SELECT e.n::int AS n, e.o, f.*,
           CASE
             WHEN NOT f.obj THEN 'invalid_order'
             WHEN e.o - ARRAY['idempotency_key', 'created_at', 'payment_method', 'currency', 'catalog_version', 'lines'] <> '{}'
               THEN 'invalid_order'
             WHEN f.key IS NULL OR f.key !~ '^[A-Za-z0-9_.:-]+$' OR length(f.key) NOT BETWEEN 8 AND 128 THEN 'bad_idempotency_key'
             WHEN f.created_at IS NULL THEN 'bad_created_at'
             WHEN f.payment_method IS NULL OR f.payment_method NOT IN ('card', 'mobile', 'cash') THEN 'bad_payment_method'
             WHEN f.currency IS NULL OR f.currency !~ '^[A-Z]{3}$' THEN 'bad_currency'
             WHEN f.catalog_version IS NULL THEN 'bad_catalog_version'
             WHEN jsonb_typeof(e.o -> 'lines') IS DISTINCT FROM 'array' OR jsonb_array_length(e.o -> 'lines') NOT BETWEEN 1 AND 100
               THEN 'bad_lines'
           END AS shape_reason
      FROM jsonb_array_elements(orders) WITH ORDINALITY AS e(o, n)
     CROSS JOIN LATERAL (SELECT jsonb_typeof(e.o) = 'object' AS obj) t
     CROSS JOIN LATERAL (
       SELECT t.obj,
              CASE WHEN t.obj AND jsonb_typeof(e.o -> 'idempotency_key') = 'string' THEN e.o ->> 'idempotency_key' END AS key,
              CASE WHEN t.obj AND jsonb_typeof(e.o -> 'created_at') = 'string'
                   THEN checkout.parse_time(e.o ->> 'created_at') END AS created_at,
              CASE WHEN t.obj AND jsonb_typeof(e.o -> 'payment_method') = 'string' THEN e.o ->> 'payment_method' END AS payment_method,
              CASE WHEN t.obj AND jsonb_typeof(e.o -> 'currency') = 'string' THEN e.o ->> 'currency' END AS currency,
              CASE WHEN t.obj AND jsonb_typeof(e.o -> 'catalog_version') = 'number'
                        AND (e.o ->> 'catalog_version') ~ '^[0-9]{1,15}$'
                   THEN (e.o ->> 'catalog_version')::bigint END AS catalog_version
        OFFSET 0) f  -- OFFSET 0: evaluated once per order, not once per reference
  ), om AS (
    SELECT o.*,
           CASE o.shape_reason
             WHEN 'invalid_order' THEN
               CASE WHEN NOT o.obj THEN 'an order must be a JSON object'
                    ELSE 'unknown field(s) ' || (SELECT string_agg(k, ', ' ORDER BY k) FROM jsonb_object_keys(o.o - ARRAY[
                           'idempotency_key', 'created_at', 'payment_method', 'currency', 'catalog_version', 'lines']) k) END
             WHEN 'bad_idempotency_key' THEN 'idempotency_key must be 8-128 letters, digits or _.:-'
             WHEN 'bad_created_at' THEN 'created_at must be an ISO 8601 timestamp with a time zone'
             WHEN 'bad_payment_method' THEN 'payment_method must be card, mobile or cash'
             WHEN 'bad_currency' THEN 'currency must be an ISO-4217 code such as EUR'
             WHEN 'bad_catalog_version' THEN 'catalog_version must be a positive integer'
             WHEN 'bad_lines' THEN 'lines must be an array of 1 to 100 {sku, qty, unit_price}'
           END AS shape_message
      FROM o
  ), l AS (
    SELECT o.n, li.i::int AS i, x.sku, x.qty, x.unit_price,
           CASE WHEN NOT x.ok THEN 'bad_line' WHEN x.qty IS NULL THEN 'bad_qty' WHEN x.unit_price IS NULL THEN 'bad_unit_price' END
             AS shape_reason,
           CASE WHEN c.sku IS NULL THEN 'unknown_sku'
                WHEN coalesce(h.currency, c.currency) <> o.currency THEN 'currency_mismatch' END AS catalog_reason,
           h.price AS catalog_price,
           CASE WHEN h.price IS NULL THEN 'not_in_version' WHEN NOT h.active THEN 'inactive_in_version'
                WHEN h.price <> x.unit_price THEN 'price_differs' END AS price_flag,
           coalesce(h.currency, c.currency) AS item_currency, o.currency,
           -- the sku as a JSON string: a catalog sku (letters, digits, _.:-) needs no escaping
           CASE WHEN c.sku IS NOT NULL THEN '"' || x.sku || '"' ELSE to_json(x.sku)::text END AS sku_json
      FROM om o
     CROSS JOIN LATERAL jsonb_array_elements(o.o -> 'lines') WITH ORDINALITY AS li(l, i)
     CROSS JOIN LATERAL (
       SELECT s.ok,
              CASE WHEN s.ok THEN li.l ->> 'sku' END AS sku,
              CASE WHEN s.ok AND (li.l ->> 'qty') ~ '^[0-9]{1,3}$' AND (li.l ->> 'qty')::int BETWEEN 1 AND 200
                   THEN (li.l ->> 'qty')::int END AS qty,
              CASE WHEN s.ok AND (li.l ->> 'unit_price') ~ '^[0-9]{1,8}$' AND (li.l ->> 'unit_price')::bigint BETWEEN 1 AND 10000000
                   THEN (li.l ->> 'unit_price')::bigint END AS unit_price
         FROM (SELECT CASE WHEN jsonb_typeof(li.l) = 'object'
                           THEN coalesce(li.l - ARRAY['sku', 'qty', 'unit_price'] = '{}'::jsonb AND jsonb_typeof(li.l -> 'sku') = 'string'
                                         AND jsonb_typeof(li.l -> 'qty') = 'number' AND jsonb_typeof(li.l -> 'unit_price') = 'number', false)
                           ELSE false END AS ok) s
        OFFSET 0) x
      LEFT JOIN checkout.catalog_items c ON c.sku = x.sku
      LEFT JOIN LATERAL (
        SELECT hh.price, hh.active, hh.currency FROM checkout.catalog_history hh
         WHERE hh.sku = x.sku AND hh.version <= o.catalog_version
         ORDER BY hh.version DESC LIMIT 1) h ON true
     WHERE o.shape_reason IS NULL
  ), lo AS (
    -- An order's first problem line, by line number, from plain min() aggregates (an
    -- ordered aggregate starts a sort for every order, problem or not): line i's shape
    -- problem as i * 4 + its code; its catalog problem as i (3 digits) || 'u' (unknown sku)
    -- or 'c' || the item's currency (compared as bytes). The message is written from them.
    SELECT a.n, a.total, a.line_count, a.flagged, a.lines,
           CASE a.first_shape % 4 WHEN 1 THEN 'bad_line' WHEN 2 THEN 'bad_qty' WHEN 3 THEN 'bad_unit_price' END AS shape_reason,
           format(CASE a.first_shape % 4
                    WHEN 1 THEN 'lines[%s] must be {sku: string, qty: integer, unit_price: integer}'
                    WHEN 2 THEN 'lines[%s].qty must be an integer 1..200'
                    WHEN 3 THEN 'lines[%s].unit_price must be an integer 1..10000000 (minor units)' END,
                  a.first_shape / 4 - 1) AS shape_message,
           CASE substr(a.first_catalog, 4, 1) WHEN 'u' THEN 'unknown_sku' WHEN 'c' THEN 'currency_mismatch' END AS catalog_reason,
           substr(a.first_catalog, 1, 3)::int AS catalog_line,
           substr(a.first_catalog, 5) AS item_currency
      FROM (SELECT l.n,
                   min(l.i * 4 + CASE l.shape_reason WHEN 'bad_line' THEN 1 WHEN 'bad_qty' THEN 2 ELSE 3 END)
                     FILTER (WHERE l.shape_reason IS NOT NULL) AS first_shape,
                   min(lpad(l.i::text, 3, '0') || CASE l.catalog_reason WHEN 'unknown_sku' THEN 'u' ELSE 'c' || l.item_currency END
                       COLLATE "C") FILTER (WHERE l.catalog_reason IS NOT NULL) AS first_catalog,
                   sum(l.qty::bigint * l.unit_price)::bigint AS total,
                   count(*)::int AS line_count,
                   count(l.price_flag)::int AS flagged,
                   string_agg('{"qty": ' || l.qty || ', "sku": ' || l.sku_json || ', "unit_price": ' || l.unit_price || '}', ', '
                              ORDER BY l.i) AS lines
              FROM l GROUP BY l.n) a
  ), v AS (
    SELECT o.n, o.o, o.key, o.created_at, o.payment_method, o.currency, o.catalog_version,
           CASE WHEN o.key ~ '^[A-Za-z0-9_.:-]+$' AND length(o.key) BETWEEN 8 AND 128 THEN sync.kiosk_id || ':' || o.key END AS order_id,
           coalesce(o.shape_reason, lo.shape_reason) AS shape_reason,
           CASE WHEN o.catalog_version > cur_version THEN 'unknown_catalog_version' ELSE lo.catalog_reason END AS catalog_reason,
           coalesce(o.shape_message, lo.shape_message,
                    CASE WHEN o.catalog_version > cur_version
                         THEN format('catalog_version %s is newer than the central''s %s', o.catalog_version, cur_version) END,
                    CASE lo.catalog_reason
                      WHEN 'unknown_sku'
                        THEN format('lines[%s]: unknown sku %s', lo.catalog_line - 1, o.o -> 'lines' -> (lo.catalog_line - 1) ->> 'sku')
                      WHEN 'currency_mismatch'
                        THEN format('lines[%s]: sku %s is sold in %s, the order is in %s', lo.catalog_line - 1,
                                    o.o -> 'lines' -> (lo.catalog_line - 1) ->> 'sku', lo.item_currency, o.currency)
                    END) AS message,
           CASE WHEN o.shape_reason IS NULL AND lo.shape_reason IS NULL THEN
             sha256(convert_to('{"lines": [' || lo.lines || '], "currency": "' || o.currency || '", "created_at": "'
               || to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '", "payment_method": "'
               || o.payment_method || '", "catalog_version": ' || o.catalog_version || ', "idempotency_key": "' || o.key
               || '"}', 'UTF8')) END AS hash,
           lo.total, lo.line_count, lo.flagged
      FROM om o
      LEFT JOIN lo ON lo.n = o.n
  ), vc AS (
    -- A candidate for insertion: valid, and the first occurrence of its id in this batch.
    SELECT v.*, v.shape_reason IS NULL AND v.catalog_reason IS NULL
                AND v.n = min(v.n) FILTER (WHERE v.shape_reason IS NULL AND v.catalog_reason IS NULL)
                              OVER (PARTITION BY v.order_id) AS cand
      FROM v
  )
  SELECT po.*, pl.*
    INTO n_idx, keys, ids, shape_bad, cat_bad, msgs, hashes, totals, currencies, methods, created, versions,
         line_counts, flagged, is_cand, raw, l_n, l_i, l_sku, l_qty, l_price, l_cat_price, l_flag
    FROM (SELECT array_agg(vc.n ORDER BY vc.n), array_agg(vc.key ORDER BY vc.n), array_agg(vc.order_id ORDER BY vc.n),
                 array_agg(vc.shape_reason ORDER BY vc.n), array_agg(vc.catalog_reason ORDER BY vc.n),
                 array_agg(vc.message ORDER BY vc.n), array_agg(vc.hash ORDER BY vc.n), array_agg(vc.total ORDER BY vc.n),
                 array_agg(vc.currency ORDER BY vc.n), array_agg(vc.payment_method ORDER BY vc.n),
                 array_agg(vc.created_at ORDER BY vc.n), array_agg(vc.catalog_version ORDER BY vc.n),
                 array_agg(vc.line_count ORDER BY vc.n), array_agg(vc.flagged ORDER BY vc.n),
                 array_agg(coalesce(vc.cand, false) ORDER BY vc.n), array_agg(vc.o ORDER BY vc.n)
            FROM vc) po,
         -- The lines' arrays only need to agree with each other (one aggregate pass fills
         -- them all) - each line names its order and number - so they are not sorted.
         (SELECT array_agg(l.n), array_agg(l.i), array_agg(l.sku), array_agg(l.qty), array_agg(l.unit_price),
                 array_agg(l.catalog_price), array_agg(l.price_flag)
            FROM l) pl;

  -- 2. Insert the candidates, in order id order; an id that is already stored (or being
  --    stored by a concurrent resend, which we wait for) is skipped here.
  WITH ins AS (
    INSERT INTO checkout.orders (order_id, kiosk_id, idempotency_key, payload_hash, payment_method, currency,
                                 catalog_version, total, line_count, flagged_lines, created_at, sold_at)
    SELECT u.order_id, sync.kiosk_id, u.key, u.hash, u.method, u.currency, u.version, u.total, u.line_count,
           u.flagged, u.created, least(u.created, now())
      FROM unnest(ids, keys, hashes, methods, currencies, versions, totals, line_counts, flagged, created, is_cand)
           AS u(order_id, key, hash, method, currency, version, total, line_count, flagged, created, cand)
     WHERE u.cand
     ORDER BY u.order_id
    ON CONFLICT ON CONSTRAINT orders_pkey DO NOTHING
    RETURNING order_id
  )
  SELECT array_agg(ins.order_id) INTO new_ids FROM ins;
  new_ids := coalesce(new_ids, '{}');
  -- Usually every candidate went in (a first send): then which did is known without
  -- comparing ids, and nothing is left to look up.
  IF cardinality(new_ids) = cardinality(array_positions(is_cand, true)) THEN
    is_new := is_cand;
  ELSE
    SELECT array_agg(u.cand AND u.order_id = ANY (new_ids) ORDER BY u.n) INTO is_new
      FROM unnest(n_idx, ids, is_cand) AS u(n, order_id, cand);
  END IF;

  INSERT INTO checkout.order_lines (order_id, line_no, sku, qty, unit_price, catalog_price, price_flag)
  SELECT ids[u.n], u.i, u.sku, u.qty, u.price, u.cat_price, u.flag
    FROM unnest(l_n, l_i, l_sku, l_qty, l_price, l_cat_price, l_flag) AS u(n, i, sku, qty, price, cat_price, flag)
   WHERE is_new[u.n];

  -- 3. Classify the rest against the stored orders. A new statement, so it sees the row a
  --    concurrent resend committed while our INSERT waited for it. Each stored order is
  --    reached by its key (LIMIT 1 keeps the generic plan from hashing the whole table),
  --    and only for the orders not inserted just now.
  IF cardinality(array_positions(is_new, false)) = 0 THEN
    statuses := array_fill('accepted'::text, ARRAY[cardinality(n_idx)]);
    stored_tot := totals;
  ELSE
    SELECT array_agg(
             CASE WHEN is_new[r.n] THEN 'accepted'
                  WHEN s.payload_hash IS NOT NULL THEN CASE WHEN s.payload_hash = r.hash THEN 'duplicate' ELSE 'mismatch' END
                  WHEN r.shape IS NOT NULL OR r.cat IS NOT NULL THEN 'rejected'
             END ORDER BY r.n),
           array_agg(CASE WHEN is_new[r.n] THEN r.total ELSE s.total END ORDER BY r.n)
      INTO statuses, stored_tot
      FROM unnest(n_idx, ids, shape_bad, cat_bad, hashes, totals) AS r(n, order_id, shape, cat, hash, total)
      LEFT JOIN LATERAL (SELECT x.payload_hash, x.total FROM checkout.orders x
                          WHERE x.order_id = r.order_id AND NOT is_new[r.n] LIMIT 1) s ON true;
  END IF;
  IF array_position(statuses, NULL) IS NOT NULL THEN
    PERFORM core.raise_error('SERVER_ERROR', 'an order was neither inserted nor found');
  END IF;

  -- 4. One ledger transfer per accepted order, keyed by the order id (a second guard:
  --    ledger.transfers is UNIQUE on kind + key). House accounts append, never lock.
  FOR rec IN
    SELECT r.order_id, r.total, r.currency, r.method
      FROM unnest(ids, totals, currencies, methods, statuses) AS r(order_id, total, currency, method, status)
     WHERE r.status = 'accepted'
     ORDER BY r.currency, r.method, r.order_id
  LOOP
    IF acct_cur IS DISTINCT FROM rec.currency OR acct_meth IS DISTINCT FROM rec.method THEN
      acct_cur := rec.currency;
      acct_meth := rec.method;
      clearing := ledger.house_account('checkout_clearing', sync.kiosk_id || ':' || rec.method, rec.currency);
      revenue := ledger.house_account('checkout_revenue', sync.kiosk_id, rec.currency);
    END IF;
    PERFORM ledger.post_transfer('checkout_sale', ARRAY[clearing, revenue], ARRAY[-rec.total, rec.total],
                                 rec.order_id, jsonb_build_object('order_id', rec.order_id, 'payment_method', rec.method));
  END LOOP;

  -- 5. Refused orders, one row per distinct problem (a resend counts up). A malformed key
  --    can be any length, but it is part of the one-per-problem index (a btree row holds
  --    at most 2704 bytes): keep its first 200 characters; the payload keeps it whole.
  IF 'mismatch' = ANY (statuses) OR 'rejected' = ANY (statuses) THEN
    INSERT INTO checkout.refused_orders AS f (kiosk_id, idempotency_key, status, reason, message, payload, payload_hash)
    SELECT DISTINCT ON (r.key, r.status, r.phash) sync.kiosk_id, r.key, r.status, r.reason, r.message, r.payload, r.phash
      FROM (SELECT left(u.key, 200) AS key, u.status, u.payload, u.n,
                   coalesce(u.hash, sha256(convert_to(u.payload::text, 'UTF8'))) AS phash,
                   CASE WHEN u.status = 'mismatch' THEN 'idempotency_key_reused' ELSE coalesce(u.shape, u.cat) END AS reason,
                   CASE WHEN u.status = 'mismatch'
                        THEN format('order %s is already stored with a different payload; the stored order stands', u.order_id)
                        ELSE u.msg END AS message
              FROM unnest(n_idx, keys, ids, statuses, shape_bad, cat_bad, msgs, hashes, raw)
                   AS u(n, key, order_id, status, shape, cat, msg, hash, payload)
             WHERE u.status IN ('mismatch', 'rejected')) r
     ORDER BY r.key, r.status, r.phash, r.n
    ON CONFLICT ON CONSTRAINT refused_orders_one_per_problem DO UPDATE
       SET times = f.times + 1, last_seen_at = now();
  END IF;

  SELECT count(*) FILTER (WHERE s = 'accepted') AS accepted, count(*) FILTER (WHERE s = 'duplicate') AS duplicate,
         count(*) FILTER (WHERE s = 'mismatch') AS mismatch, count(*) FILTER (WHERE s = 'rejected') AS rejected
    INTO counts FROM unnest(statuses) s;
  INSERT INTO checkout.sync_batches (kiosk_id, orders, accepted, duplicate, mismatch, rejected)
  VALUES (sync.kiosk_id, cardinality(statuses), counts.accepted, counts.duplicate, counts.mismatch, counts.rejected);
  PERFORM kiosk.touch(sync.kiosk_id);

  -- An accepted or duplicate order has a key, an id and a total: nothing to strip. The
  -- array is made jsonb once (jsonb_agg re-reads every element it appends).
  SELECT to_jsonb(array_agg(CASE WHEN r.status IN ('accepted', 'duplicate')
                        THEN jsonb_build_object('index', r.n - 1, 'idempotency_key', r.key, 'order_id', r.order_id,
                                                'status', r.status, 'total', r.total)
                        ELSE jsonb_strip_nulls(jsonb_build_object(
           'index', r.n - 1, 'idempotency_key', r.key, 'order_id', r.order_id, 'status', r.status,
           'reason', CASE r.status WHEN 'mismatch' THEN 'idempotency_key_reused' WHEN 'rejected' THEN coalesce(r.shape, r.cat) END,
           'message', CASE r.status
                        WHEN 'mismatch' THEN 'this idempotency_key was already used for an order with a different payload'
                        WHEN 'rejected' THEN r.msg END)) END ORDER BY r.n))
    INTO results
    FROM unnest(n_idx, keys, ids, statuses, stored_tot, shape_bad, cat_bad, msgs)
         AS r(n, key, order_id, status, total, shape, cat, msg);
  RETURN jsonb_build_object('results', results, 'accepted', counts.accepted, 'duplicate', counts.duplicate,
                            'mismatch', counts.mismatch, 'rejected', counts.rejected, 'catalog_version', cur_version);
END $_$;


ALTER FUNCTION checkout.sync(kiosk_id text, orders jsonb) OWNER TO postgres;

--
-- Name: today(); Type: FUNCTION; Schema: checkout; Owner: postgres
--

CREATE FUNCTION checkout.today() RETURNS tstzrange
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
  tz  text := core.setting('checkout.timezone') #>> '{}';
  day timestamp := date_trunc('day', now() AT TIME ZONE tz);
BEGIN
  RETURN tstzrange(day AT TIME ZONE tz, (day + interval '1 day') AT TIME ZONE tz, '[)');
END $$;


ALTER FUNCTION checkout.today() OWNER TO postgres;

--
-- Name: actor(); Type: FUNCTION; Schema: core; Owner: postgres
--

CREATE FUNCTION core.actor() RETURNS text
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
  RETURN coalesce(nullif(nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub', ''),
                  core.principal());
END $$;


ALTER FUNCTION core.actor() OWNER TO postgres;

--
-- Name: alert_acknowledge(bigint); Type: FUNCTION; Schema: core; Owner: postgres
--

CREATE FUNCTION core.alert_acknowledge(alert_id bigint) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE a core.alerts := core.alert_for_update(alert_id);
BEGIN
  -- Acknowledging an acknowledged or resolved alert changes nothing: the answer is the alert.
  IF a.status = 'open' THEN
    UPDATE core.alerts x SET status = 'acknowledged', acknowledged_at = now(), acknowledged_by = core.actor()
     WHERE x.id = a.id RETURNING * INTO a;
  END IF;
  RETURN core.alert_json(a);
END $$;


ALTER FUNCTION core.alert_acknowledge(alert_id bigint) OWNER TO postgres;

--
-- Name: alert_clear(text, text, text, text); Type: FUNCTION; Schema: core; Owner: postgres
--

CREATE FUNCTION core.alert_clear(domain text, kind text, subject text, by text DEFAULT 'system'::text) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
#variable_conflict use_column
DECLARE alert_id bigint;
BEGIN
  PERFORM core.alert_lock();
  UPDATE core.alerts a SET status = 'resolved', resolved_at = now(), resolved_by = alert_clear.by
   WHERE a.domain = alert_clear.domain AND a.kind = alert_clear.kind AND a.subject = alert_clear.subject
     AND a.status <> 'resolved'
  RETURNING a.id INTO alert_id;
  RETURN alert_id;
END $$;


ALTER FUNCTION core.alert_clear(domain text, kind text, subject text, by text) OWNER TO postgres;

--
-- Name: alert_events_after(bigint, integer); Type: FUNCTION; Schema: core; Owner: fleet_service
--

CREATE FUNCTION core.alert_events_after(after bigint, max_events integer) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
  events jsonb;
  n bigint;
  last_id bigint;
  head bigint := coalesce((SELECT max(e.id) FROM core.alert_events e), 0);
BEGIN
  IF after IS NULL THEN
    RETURN jsonb_build_object('events', '[]'::jsonb, 'last_event_id', head);
  END IF;
  SELECT coalesce(jsonb_agg(jsonb_build_object('id', e.id, 'change', e.change, 'alert', e.alert) ORDER BY e.id), '[]'),
         count(*), max(e.id)
    INTO events, n, last_id
    FROM (SELECT x.* FROM core.alert_events x
           WHERE x.id > after AND x.id <= head
           ORDER BY x.id LIMIT max_events) e;
  -- A full page: go on from its last event. Otherwise everything up to head was seen
  -- (events the caller may not see included), so the cursor moves there.
  RETURN jsonb_build_object('events', events,
                            'last_event_id', CASE WHEN n >= max_events THEN last_id ELSE greatest(after, head) END);
END $$;


ALTER FUNCTION core.alert_events_after(after bigint, max_events integer) OWNER TO fleet_service;

--
-- Name: alerts; Type: TABLE; Schema: core; Owner: postgres
--

CREATE TABLE core.alerts (
    id bigint NOT NULL,
    domain text NOT NULL,
    kind text NOT NULL,
    subject text NOT NULL,
    company_id text,
    severity text NOT NULL,
    status text DEFAULT 'open'::text NOT NULL,
    message text NOT NULL,
    details jsonb DEFAULT '{}'::jsonb NOT NULL,
    occurrences bigint DEFAULT 1 NOT NULL,
    raised_at timestamp with time zone DEFAULT now() NOT NULL,
    last_seen_at timestamp with time zone DEFAULT now() NOT NULL,
    acknowledged_at timestamp with time zone,
    acknowledged_by text,
    resolved_at timestamp with time zone,
    resolved_by text,
    resolve_note text,
    CONSTRAINT alerts_check CHECK (((status = 'resolved'::text) = (resolved_at IS NOT NULL))),
    CONSTRAINT alerts_check1 CHECK (((acknowledged_at IS NULL) OR (acknowledged_by IS NOT NULL))),
    CONSTRAINT alerts_details_check CHECK ((jsonb_typeof(details) = 'object'::text)),
    CONSTRAINT alerts_domain_check CHECK ((domain = ANY (ARRAY['atm'::text, 'festival'::text, 'checkout'::text, 'dex'::text, 'upkeep'::text]))),
    CONSTRAINT alerts_kind_check CHECK ((kind ~ '^[a-z][a-z0-9_]{0,63}$'::text)),
    CONSTRAINT alerts_message_check CHECK (((length(message) >= 1) AND (length(message) <= 2000))),
    CONSTRAINT alerts_severity_check CHECK ((severity = ANY (ARRAY['info'::text, 'warning'::text, 'critical'::text]))),
    CONSTRAINT alerts_status_check CHECK ((status = ANY (ARRAY['open'::text, 'acknowledged'::text, 'resolved'::text]))),
    CONSTRAINT alerts_subject_check CHECK (((length(subject) >= 1) AND (length(subject) <= 200)))
);


ALTER TABLE core.alerts OWNER TO postgres;

--
-- Name: alert_for_update(bigint); Type: FUNCTION; Schema: core; Owner: postgres
--

CREATE FUNCTION core.alert_for_update(alert_id bigint) RETURNS core.alerts
    LANGUAGE plpgsql
    AS $$
DECLARE a core.alerts;
BEGIN
  IF alert_id IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'alert_id is required', jsonb_build_object('argument', 'alert_id'));
  END IF;
  PERFORM core.alert_lock();
  SELECT * INTO a FROM core.alerts x WHERE x.id = alert_for_update.alert_id FOR UPDATE;
  IF NOT FOUND OR NOT core.alert_visible(a.company_id) THEN
    PERFORM core.raise_error('ALERT_NOT_FOUND', format('no alert %s', alert_id),
                             jsonb_build_object('argument', 'alert_id'));
  END IF;
  RETURN a;
END $$;


ALTER FUNCTION core.alert_for_update(alert_id bigint) OWNER TO postgres;

--
-- Name: alert_json(core.alerts); Type: FUNCTION; Schema: core; Owner: postgres
--

CREATE FUNCTION core.alert_json(a core.alerts) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
  SELECT jsonb_build_object(
    'id', a.id, 'domain', a.domain, 'kind', a.kind, 'severity', a.severity, 'subject', a.subject,
    'company_id', a.company_id, 'status', a.status, 'message', a.message,
    'details', a.details || jsonb_build_object('occurrences', a.occurrences)
               || CASE WHEN a.resolve_note IS NULL THEN '{}'::jsonb
                       ELSE jsonb_build_object('resolve_note', a.resolve_note) END,
    'raised_at', a.raised_at, 'last_seen_at', a.last_seen_at,
    'acknowledged_at', a.acknowledged_at, 'acknowledged_by', a.acknowledged_by,
    'resolved_at', a.resolved_at, 'resolved_by', a.resolved_by)
$$;


ALTER FUNCTION core.alert_json(a core.alerts) OWNER TO postgres;

--
-- Name: alert_lock(); Type: FUNCTION; Schema: core; Owner: postgres
--

CREATE FUNCTION core.alert_lock() RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('kioskledger.alert_events'));
END $$;


ALTER FUNCTION core.alert_lock() OWNER TO postgres;

--
-- Name: alert_log_change(); Type: FUNCTION; Schema: core; Owner: postgres
--

CREATE FUNCTION core.alert_log_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
  change text;
  event_id bigint;
BEGIN
  IF TG_OP = 'INSERT' THEN
    change := 'raised';
  ELSIF NEW.status IS DISTINCT FROM OLD.status THEN
    change := NEW.status;
  ELSE
    change := 'updated';
  END IF;
  PERFORM core.alert_lock();  -- a writer outside the functions here (a DBA's UPDATE) too
  INSERT INTO core.alert_events (alert_id, company_id, change, alert)
  VALUES (NEW.id, NEW.company_id, change, core.alert_json(NEW))
  RETURNING id INTO event_id;
  PERFORM pg_notify('kioskledger_alerts', event_id::text);
  RETURN NULL;
END $$;


ALTER FUNCTION core.alert_log_change() OWNER TO postgres;

--
-- Name: alert_raise(text, text, text, text, text, text, jsonb); Type: FUNCTION; Schema: core; Owner: postgres
--

CREATE FUNCTION core.alert_raise(domain text, kind text, subject text, company_id text, severity text, message text, details jsonb DEFAULT '{}'::jsonb) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
#variable_conflict use_column
DECLARE alert_id bigint;
BEGIN
  PERFORM core.alert_lock();
  INSERT INTO core.alerts AS a (domain, kind, subject, company_id, severity, message, details)
  VALUES (alert_raise.domain, alert_raise.kind, alert_raise.subject, alert_raise.company_id, alert_raise.severity,
          left(alert_raise.message, 2000), coalesce(alert_raise.details, '{}'))
  ON CONFLICT (domain, kind, subject) WHERE status <> 'resolved' DO UPDATE
     SET last_seen_at = now(), occurrences = a.occurrences + 1, company_id = excluded.company_id,
         severity = excluded.severity, message = excluded.message, details = excluded.details
  RETURNING a.id INTO alert_id;
  RETURN alert_id;
END $$;


ALTER FUNCTION core.alert_raise(domain text, kind text, subject text, company_id text, severity text, message text, details jsonb) OWNER TO postgres;

--
-- Name: alert_resolve(bigint, text); Type: FUNCTION; Schema: core; Owner: postgres
--

CREATE FUNCTION core.alert_resolve(alert_id bigint, note text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE a core.alerts := core.alert_for_update(alert_id);
BEGIN
  IF a.status <> 'resolved' THEN
    UPDATE core.alerts x SET status = 'resolved', resolved_at = now(), resolved_by = core.actor(), resolve_note = note
     WHERE x.id = a.id RETURNING * INTO a;
  END IF;
  RETURN core.alert_json(a);
END $$;


ALTER FUNCTION core.alert_resolve(alert_id bigint, note text) OWNER TO postgres;

--
-- Name: alert_sweep(); Type: FUNCTION; Schema: core; Owner: postgres
--

CREATE FUNCTION core.alert_sweep(OUT active integer, OUT raised integer, OUT cleared integer) RETURNS record
    LANGUAGE plpgsql
    AS $$
DECLARE
  c record;
  seen bigint[] := '{}'::bigint[];
  before bigint := coalesce((SELECT max(a.id) FROM core.alerts a), 0);
BEGIN
  PERFORM core.alert_lock();  -- before any alert row (see core.alert_lock)
  FOR c IN SELECT * FROM core.alert_conditions LOOP
    seen := seen || core.alert_raise(c.domain, c.kind, c.subject, c.company_id, c.severity, c.message, c.details);
  END LOOP;
  active := cardinality(seen);
  raised := (SELECT count(*)::int FROM unnest(seen) AS s(id) WHERE s.id > before);
  WITH gone AS (
    UPDATE core.alerts a SET status = 'resolved', resolved_at = now(), resolved_by = 'system:sweep'
     WHERE a.status <> 'resolved' AND a.domain <> 'upkeep' AND NOT (a.id = ANY (seen))
    RETURNING 1)
  SELECT count(*)::int INTO cleared FROM gone;
END $$;


ALTER FUNCTION core.alert_sweep(OUT active integer, OUT raised integer, OUT cleared integer) OWNER TO postgres;

--
-- Name: FUNCTION alert_sweep(OUT active integer, OUT raised integer, OUT cleared integer); Type: COMMENT; Schema: core; Owner: postgres
--

COMMENT ON FUNCTION core.alert_sweep(OUT active integer, OUT raised integer, OUT cleared integer) IS 'Raise or refresh the alert of every row of core.alert_conditions; resolve (as system:sweep) the active atm/festival/checkout/dex alerts whose condition no longer holds. Run by the alert_sweep upkeep job.';


--
-- Name: alert_visible(text); Type: FUNCTION; Schema: core; Owner: postgres
--

CREATE FUNCTION core.alert_visible(company_id text) RETURNS boolean
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
  IF core.sees_all_companies() THEN
    RETURN true;
  END IF;
  IF company_id IS NULL THEN
    RETURN core.request_role() = 'staff';
  END IF;
  RETURN company_id = core.request_company();
END $$;


ALTER FUNCTION core.alert_visible(company_id text) OWNER TO postgres;

--
-- Name: alerts_list(text, text, integer); Type: FUNCTION; Schema: core; Owner: fleet_service
--

CREATE FUNCTION core.alerts_list(status text, domain text, max_alerts integer) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  SELECT jsonb_build_object('alerts', coalesce((
    SELECT jsonb_agg(core.alert_json(a) ORDER BY a.last_seen_at DESC, a.id DESC)
      FROM (SELECT x.* FROM core.alerts x
             WHERE (alerts_list.status = 'all' OR x.status = alerts_list.status
                    OR (alerts_list.status = 'active' AND x.status <> 'resolved'))
               AND (alerts_list.domain IS NULL OR x.domain = alerts_list.domain)
             ORDER BY x.last_seen_at DESC, x.id DESC
             LIMIT alerts_list.max_alerts) a), '[]'::jsonb))
$$;


ALTER FUNCTION core.alerts_list(status text, domain text, max_alerts integer) OWNER TO fleet_service;

--
-- Name: api_schemas_current(); Type: FUNCTION; Schema: core; Owner: postgres
--

CREATE FUNCTION core.api_schemas_current() RETURNS TABLE(function text, part text, schema jsonb)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  SELECT s.function, s.part,
         CASE WHEN s.schema ? 'x-maximum-setting'
              THEN s.schema || jsonb_build_object('maximum', (SELECT t.value FROM core.settings t
                                                               WHERE t.key = s.schema ->> 'x-maximum-setting'))
              ELSE s.schema END
    FROM core.api_schemas s
$$;


ALTER FUNCTION core.api_schemas_current() OWNER TO postgres;

--
-- Name: claims(); Type: FUNCTION; Schema: core; Owner: postgres
--

CREATE FUNCTION core.claims() RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
  RETURN coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb;
END $$;


ALTER FUNCTION core.claims() OWNER TO postgres;

--
-- Name: decline(text, text, jsonb); Type: FUNCTION; Schema: core; Owner: postgres
--

CREATE FUNCTION core.decline(code text, message text, details jsonb DEFAULT NULL::jsonb) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE flag text := set_config('response.decline', code, true);
BEGIN
  RETURN jsonb_build_object('code', code, 'message', message, 'details', details, 'hint', NULL);
END $$;


ALTER FUNCTION core.decline(code text, message text, details jsonb) OWNER TO postgres;

--
-- Name: idem_begin(text, text, jsonb); Type: FUNCTION; Schema: core; Owner: postgres
--

CREATE FUNCTION core.idem_begin(scope text, request_id text, payload jsonb) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
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


ALTER FUNCTION core.idem_begin(scope text, request_id text, payload jsonb) OWNER TO postgres;

--
-- Name: idem_finish(text, text, jsonb); Type: FUNCTION; Schema: core; Owner: postgres
--

CREATE FUNCTION core.idem_finish(scope text, request_id text, response jsonb) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
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


ALTER FUNCTION core.idem_finish(scope text, request_id text, response jsonb) OWNER TO postgres;

--
-- Name: idempotency_cleanup(interval); Type: FUNCTION; Schema: core; Owner: postgres
--

CREATE FUNCTION core.idempotency_cleanup(retention interval DEFAULT '7 days'::interval) RETURNS bigint
    LANGUAGE sql
    AS $$
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


ALTER FUNCTION core.idempotency_cleanup(retention interval) OWNER TO postgres;

--
-- Name: idempotency_expired_prune(); Type: FUNCTION; Schema: core; Owner: postgres
--

CREATE FUNCTION core.idempotency_expired_prune() RETURNS bigint
    LANGUAGE plpgsql
    AS $$
DECLARE n bigint;
BEGIN
  DELETE FROM core.idempotency_expired e
   WHERE e.created_at < now() - make_interval(days => (core.setting('idempotency.keep_expired_days'))::int);
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;


ALTER FUNCTION core.idempotency_expired_prune() OWNER TO postgres;

--
-- Name: json_bigint(jsonb, text); Type: FUNCTION; Schema: core; Owner: postgres
--

CREATE FUNCTION core.json_bigint(value jsonb, field text) RETURNS bigint
    LANGUAGE plpgsql IMMUTABLE
    AS $$
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


ALTER FUNCTION core.json_bigint(value jsonb, field text) OWNER TO postgres;

--
-- Name: open_alert_counts(); Type: FUNCTION; Schema: core; Owner: postgres
--

CREATE FUNCTION core.open_alert_counts() RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
  SELECT jsonb_build_object(
    'critical', count(*) FILTER (WHERE a.severity = 'critical'),
    'warning', count(*) FILTER (WHERE a.severity = 'warning'),
    'info', count(*) FILTER (WHERE a.severity = 'info'))
    FROM core.alerts a WHERE a.status <> 'resolved'
$$;


ALTER FUNCTION core.open_alert_counts() OWNER TO postgres;

--
-- Name: ops_gauges(interval); Type: FUNCTION; Schema: core; Owner: postgres
--

CREATE FUNCTION core.ops_gauges(dex_stale interval DEFAULT '1 day'::interval) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  SELECT jsonb_build_object(
    'atm_open_alerts', (SELECT count(*) FROM atm.alerts a WHERE a.resolved_at IS NULL),
    -- Active alerts of every domain (core.alerts, api.alerts), by severity.
    'open_alerts', core.open_alert_counts(),
    'atm_jobs_needing_reconciliation',
      (SELECT count(*) FROM atm.dispense_jobs d WHERE d.status = 'needs_reconciliation'),
    'kiosks_offline', jsonb_build_object(
      'atm', (SELECT count(*) FROM atm.kiosk_health h WHERE h.status = 'offline'),
      'checkout', (SELECT count(*) FROM checkout.kiosk_status s WHERE NOT s.online)),
    -- Legs of unbounded accounts not yet folded into their balance by
    -- ledger.rollup_balances(): growing without bound means the roll-up stopped.
    'ledger_balance_deltas_unfolded', (SELECT count(*) FROM ledger.balance_deltas),
    'card_refunds_pending', (SELECT count(*) FROM cards.refund_requests r WHERE r.status = 'pending'),
    'atm_refunds_due', (SELECT count(*) FROM atm.refunds r WHERE r.status = 'due'),
    'dex_machines_without_recent_data',
      (SELECT count(*) FROM dex.machines m LEFT JOIN dex.machine_state s ON s.machine_id = m.id
        WHERE s.last_read_at IS NULL OR s.last_read_at < now() - dex_stale))
$$;


ALTER FUNCTION core.ops_gauges(dex_stale interval) OWNER TO postgres;

--
-- Name: FUNCTION ops_gauges(dex_stale interval); Type: COMMENT; Schema: core; Owner: postgres
--

COMMENT ON FUNCTION core.ops_gauges(dex_stale interval) IS 'Counts for monitoring (open ATM alerts, active alerts of every domain by severity, jobs needing reconciliation, offline kiosks, unfolded balance deltas, refunds pending and due, DEX machines without a read within dex_stale), read by the RPC server at /metrics.';


--
-- Name: principal(); Type: FUNCTION; Schema: core; Owner: postgres
--

CREATE FUNCTION core.principal() RETURNS text
    LANGUAGE plpgsql STABLE
    AS $$
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


ALTER FUNCTION core.principal() OWNER TO postgres;

--
-- Name: raise_error(text, text, jsonb, text); Type: FUNCTION; Schema: core; Owner: postgres
--

CREATE FUNCTION core.raise_error(code text, message text, details jsonb DEFAULT NULL::jsonb, hint text DEFAULT NULL::text) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
  RAISE EXCEPTION USING
    ERRCODE = 'KL000',
    MESSAGE = code || ': ' || message,
    DETAIL  = coalesce(details::text, ''),
    HINT    = coalesce(hint, '');
END $$;


ALTER FUNCTION core.raise_error(code text, message text, details jsonb, hint text) OWNER TO postgres;

--
-- Name: request_company(); Type: FUNCTION; Schema: core; Owner: postgres
--

CREATE FUNCTION core.request_company() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
  SELECT CASE WHEN core.request_role() = 'operator' THEN nullif(core.claims() ->> 'company_id', '') END
$$;


ALTER FUNCTION core.request_company() OWNER TO postgres;

--
-- Name: request_role(); Type: FUNCTION; Schema: core; Owner: postgres
--

CREATE FUNCTION core.request_role() RETURNS text
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE r text := current_setting('role');
BEGIN
  RETURN CASE WHEN r IN ('none', '') THEN session_user::text ELSE r END;
END $$;


ALTER FUNCTION core.request_role() OWNER TO postgres;

--
-- Name: require_ident(text, text); Type: FUNCTION; Schema: core; Owner: postgres
--

CREATE FUNCTION core.require_ident(value text, argument text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    AS $$
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


ALTER FUNCTION core.require_ident(value text, argument text) OWNER TO postgres;

--
-- Name: require_request_id(text); Type: FUNCTION; Schema: core; Owner: postgres
--

CREATE FUNCTION core.require_request_id(request_id text) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
  IF request_id IS NULL OR length(request_id) NOT BETWEEN 1 AND 255 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'request_id must be a string of 1 to 255 characters',
                             jsonb_build_object('argument', 'request_id'));
  END IF;
END $$;


ALTER FUNCTION core.require_request_id(request_id text) OWNER TO postgres;

--
-- Name: sees_all_companies(); Type: FUNCTION; Schema: core; Owner: postgres
--

CREATE FUNCTION core.sees_all_companies() RETURNS boolean
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    AS $$
BEGIN
  IF core.request_role() = 'admin' THEN
    RETURN true;
  END IF;
  IF current_setting('role') NOT IN ('none', '') THEN
    RETURN false;
  END IF;
  RETURN coalesce((SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = session_user), false);
END $$;


ALTER FUNCTION core.sees_all_companies() OWNER TO postgres;

--
-- Name: setting(text); Type: FUNCTION; Schema: core; Owner: postgres
--

CREATE FUNCTION core.setting(key text) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE v jsonb;
BEGIN
  SELECT s.value INTO v FROM core.settings s WHERE s.key = setting.key;
  IF NOT FOUND THEN
    PERFORM core.raise_error('SERVER_ERROR', 'missing setting ' || key);
  END IF;
  RETURN v;
END $$;


ALTER FUNCTION core.setting(key text) OWNER TO postgres;

--
-- Name: settings_changed(); Type: FUNCTION; Schema: core; Owner: postgres
--

CREATE FUNCTION core.settings_changed() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
  NOTIFY kioskledger_reload;
  RETURN NULL;
END $$;


ALTER FUNCTION core.settings_changed() OWNER TO postgres;

--
-- Name: captures; Type: TABLE; Schema: dex; Owner: postgres
--

CREATE TABLE dex.captures (
    id bigint NOT NULL,
    machine_id bigint NOT NULL,
    company_id text NOT NULL,
    received_at timestamp with time zone DEFAULT now() NOT NULL,
    source text NOT NULL,
    submitted_by text NOT NULL,
    raw text NOT NULL,
    sha256 bytea NOT NULL,
    bytes integer NOT NULL,
    parser_version text NOT NULL,
    status text NOT NULL,
    reject_reason text,
    crc_status text,
    se_status text,
    warnings text[] DEFAULT '{}'::text[] NOT NULL,
    captured_at timestamp with time zone,
    CONSTRAINT captures_check CHECK (((status = 'rejected'::text) = (reject_reason IS NOT NULL))),
    CONSTRAINT captures_crc_status_check CHECK ((crc_status = ANY (ARRAY['ok'::text, 'ok_swapped'::text, 'ok_no_final_crlf'::text, 'not_computed'::text, 'mismatch'::text, 'absent'::text]))),
    CONSTRAINT captures_se_status_check CHECK ((se_status = ANY (ARRAY['ok'::text, 'mismatch'::text, 'absent'::text]))),
    CONSTRAINT captures_status_check CHECK ((status = ANY (ARRAY['accepted'::text, 'rejected'::text])))
);


ALTER TABLE dex.captures OWNER TO postgres;

--
-- Name: machines; Type: TABLE; Schema: dex; Owner: postgres
--

CREATE TABLE dex.machines (
    id bigint NOT NULL,
    case_serial text NOT NULL,
    company_id text NOT NULL,
    location_id bigint,
    model text NOT NULL,
    currency text NOT NULL,
    decimals smallint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    registered_by text,
    CONSTRAINT machines_case_serial_check CHECK ((case_serial ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$'::text)),
    CONSTRAINT machines_currency_check CHECK ((currency ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT machines_decimals_check CHECK (((decimals >= 0) AND (decimals <= 4))),
    CONSTRAINT machines_model_check CHECK (((length(model) >= 1) AND (length(model) <= 100)))
);


ALTER TABLE dex.machines OWNER TO postgres;

--
-- Name: book_read(dex.captures, dex.machines, integer, text, text[], text[]); Type: FUNCTION; Schema: dex; Owner: postgres
--

CREATE FUNCTION dex.book_read(cap dex.captures, m dex.machines, v_block integer, dxs_line text, seg text[], tags text[]) RETURNS jsonb
    LANGUAGE plpgsql
    AS $_$
DECLARE
  cid        text := m.company_id;
  prev_id    bigint;
  prev_read  dex.reads;
  r_id       bigint;
  warn       text[] := '{}'::text[];
  after_warn text[] := '{}'::text[];  -- found after the read row was written
  h          record;
  crc        record;
  se_status  text;
  va1        record;
  prev_va1   record;
  -- VA1 deltas: count (dv_) and value (vv_); stay NULL for a machine's first read.
  dv_delta   bigint;
  dv_kind    text;
  vv_delta   bigint;
  vv_kind    text;
  v_kind     text;
  v_vends    bigint;
  v_revenue  bigint;
  this_time  timestamp;
  prev_time  timestamp;
  this_count bigint;
  clock_order integer;  -- -1 older than the previous read, 0 same, 1 newer, NULL unknown
  count_order integer;
  -- An older read arriving after a newer one (late upload, import out of order).
  late       boolean := false;
  n_sel      integer := 0;
  n_pa1      integer := 0;
  n_pa103    integer := 0;
  tubes_sum  bigint;
  tubes_json jsonb;
  temp_current numeric;
  temp_target  numeric;
  undecoded  text[];
  kinds      record;
  sums       record;
  chk_value  record;
  chk_count  record;
  chk_paid   record;
  v_totals   text;
  -- Firmware as the machine reports it: CB104 (control board software), else ID103.
  firmware   text;
  -- The currency ID4 declares, if one we can read.
  id4_currency text;
  -- Positions of the PA1 lines: selection k opens at pa1_at[k].
  pa1_at     integer[];
  -- When the read happened (dex.read_time): sales days and freshness go by it.
  rt         record;
BEGIN
  SELECT s.last_read_id INTO prev_id FROM dex.machine_state s WHERE s.machine_id = m.id;
  IF prev_id IS NOT NULL THEN
    SELECT * INTO prev_read FROM dex.reads r WHERE r.id = prev_id;
  END IF;

  -- Envelope and single-line records: the first line of each tag.
  SELECT array_position(tags, 'G85') AS g85_n, array_position(tags, 'SE') AS se_n,
         seg[array_position(tags, 'ID1')] AS id1, seg[array_position(tags, 'ID4')] AS id4,
         seg[array_position(tags, 'ID5')] AS id5, seg[array_position(tags, 'CB1')] AS cb1,
         seg[array_position(tags, 'EA3')] AS ea3, seg[array_position(tags, 'CA15')] AS ca15,
         seg[array_position(tags, 'VA1')] AS va1, seg[array_position(tags, 'CA2')] AS ca2,
         seg[array_position(tags, 'DA2')] AS da2, seg[array_position(tags, 'DB2')] AS db2,
         seg[array_position(tags, 'TA2')] AS ta2
    INTO h;

  firmware := coalesce(nullif(btrim(split_part(h.cb1, '*', 4)), ''), nullif(btrim(split_part(h.id1, '*', 4)), ''));

  -- G85: CRC over ST .. the line before G85.
  IF h.g85_n IS NOT NULL THEN
    crc := dex.g85_status(seg[1:h.g85_n - 1], split_part(seg[h.g85_n], '*', 2));
  ELSE
    crc := dex.g85_status(seg[1:coalesce(h.se_n, array_length(seg, 1) + 1) - 1], NULL);
  END IF;
  -- A device that never computes a CRC prints one fake value on every file: its G85 never
  -- matched any of its files, and the same value came with different content before. Its
  -- reads are not_computed, without the warning that would drown a real lost byte on a
  -- device whose CRC does match (that one stays a mismatch).
  IF crc.status = 'mismatch' AND dex.crc_not_computed(m.id, split_part(seg[h.g85_n], '*', 2), crc.computed) THEN
    crc.status := 'not_computed';
  END IF;
  IF crc.status = 'mismatch' THEN
    warn := warn || format('G85 %s does not match the CRC of the block (%s): the file may be corrupt',
                           split_part(seg[h.g85_n], '*', 2), crc.computed);
  ELSIF crc.status = 'absent' THEN
    warn := warn || 'no G85 checksum: integrity not verified'::text;
  END IF;

  -- SE01 counts the segments ST..SE inclusive; wrong in many real files: a warning only.
  se_status := CASE WHEN h.se_n IS NULL THEN 'absent'
                    WHEN dex.num(split_part(seg[h.se_n], '*', 2)) = h.se_n THEN 'ok'
                    ELSE 'mismatch' END;
  IF se_status = 'mismatch' THEN
    warn := warn || format('SE01 says %s segments, the block has %s', split_part(seg[h.se_n], '*', 2), h.se_n);
  ELSIF se_status = 'absent' THEN
    warn := warn || 'no SE segment'::text;
  END IF;
  -- Records are read from ST through SE; anything between SE and DXE is not data.
  IF h.se_n IS NOT NULL THEN
    seg := seg[1:h.se_n];
    tags := tags[1:h.se_n];
  END IF;

  -- Money format: the machine's configuration wins; disagreements are recorded.
  IF dex.num(split_part(h.id4, '*', 2)) IS DISTINCT FROM m.decimals AND dex.num(split_part(h.id4, '*', 2)) IS NOT NULL THEN
    warn := warn || format('ID401 declares %s decimals, the machine is configured with %s: using %s',
                           dex.num(split_part(h.id4, '*', 2)), m.decimals, m.decimals);
  END IF;
  id4_currency := dex.currency_of(split_part(h.id4, '*', 3), split_part(h.id4, '*', 4));
  IF id4_currency <> m.currency THEN
    warn := warn || format('ID4 declares currency %s, the machine is configured with %s: using %s',
                           id4_currency, m.currency, m.currency);
  END IF;

  -- VA1: paid vends, since-init first, checked on every read against the sum of the
  -- selections' PA2 (count, value) and, when the file reports cash sales at all, against
  -- VA101 = CA201+DA201+DB201+TA201+TA205. Disagreements are warnings (never enforced);
  -- a narrow VA1 register (counter_width) gives the modulus its deltas wrap at.
  SELECT dex.num(split_part(h.va1, '*', 2)) AS value_init, dex.num(split_part(h.va1, '*', 3)) AS count_init,
         dex.num(split_part(h.va1, '*', 4)) AS value_reset, dex.num(split_part(h.va1, '*', 5)) AS count_reset
    INTO va1;
  SELECT sum(dex.num(l.e[3]))::bigint AS pa_value, sum(dex.num(l.e[2]))::bigint AS pa_count,
         coalesce(dex.num(split_part(h.ca2, '*', 2)), 0) + coalesce(dex.num(split_part(h.da2, '*', 2)), 0)
           + coalesce(dex.num(split_part(h.db2, '*', 2)), 0) + coalesce(dex.num(split_part(h.ta2, '*', 2)), 0)
           + coalesce(dex.num(split_part(h.ta2, '*', 6)), 0) AS paid_value
    INTO sums FROM (SELECT string_to_array(seg[p], '*') AS e FROM unnest(array_positions(tags, 'PA2')) p OFFSET 0) l;
  chk_value := dex.total_check(va1.value_init, sums.pa_value);
  chk_count := dex.total_check(va1.count_init, sums.pa_count);
  chk_paid := dex.total_check(va1.value_init, CASE WHEN h.ca2 IS NOT NULL THEN sums.paid_value END);
  IF chk_value.kind IN ('counter_width', 'mismatch') THEN
    warn := warn || format('VA101 %s <> sum of PA203 %s (%s%s)', va1.value_init, sums.pa_value, chk_value.kind,
                           CASE WHEN chk_value.kind = 'counter_width'
                                THEN format(': VA1 value kept in a %s-digit register', length(chk_value.modulus::text) - 1) END);
  END IF;
  IF chk_count.kind IN ('counter_width', 'mismatch') THEN
    warn := warn || format('VA102 %s <> sum of PA202 %s (%s%s)', va1.count_init, sums.pa_count, chk_count.kind,
                           CASE WHEN chk_count.kind = 'counter_width'
                                THEN format(': VA1 count kept in a %s-digit register', length(chk_count.modulus::text) - 1) END);
  END IF;
  IF chk_paid.kind IN ('counter_width', 'mismatch') THEN
    warn := warn || format('VA101 %s <> CA201+DA201+DB201+TA201+TA205 = %s (%s; logged, not enforced)', va1.value_init,
                           sums.paid_value, chk_paid.kind);
  END IF;
  v_totals   := CASE WHEN 'mismatch' IN (chk_value.kind, chk_count.kind, chk_paid.kind) THEN 'mismatch'
                       WHEN 'counter_width' IN (chk_value.kind, chk_count.kind, chk_paid.kind) THEN 'counter_width'
                       WHEN 'ok' IN (chk_value.kind, chk_count.kind, chk_paid.kind) THEN 'ok' END;

  -- VA1 sales since the previous read, from the since-init counters, wrapping at the
  -- register's modulus when this read or the previous one showed a narrow register.
  IF prev_id IS NOT NULL THEN
    SELECT t.value_init, t.count_init INTO prev_va1 FROM dex.read_totals t WHERE t.read_id = prev_id AND t.record = 'VA1';
    SELECT d.delta, d.kind INTO dv_delta, dv_kind
      FROM dex.counter_delta(prev_va1.count_init, va1.count_init,
                             coalesce(chk_count.modulus, prev_read.va1_count_modulus, 100000000)) d;
    SELECT d.delta, d.kind INTO vv_delta, vv_kind
      FROM dex.counter_delta(prev_va1.value_init, va1.value_init,
                             coalesce(chk_value.modulus, prev_read.va1_value_modulus, 100000000)) d;
  END IF;

  v_kind := CASE WHEN prev_id IS NULL THEN 'baseline'
               WHEN 'unavailable' IN (dv_kind, vv_kind) THEN 'unavailable'
               WHEN 'reset' IN (dv_kind, vv_kind) THEN 'reset'
               WHEN 'wrap' IN (dv_kind, vv_kind) THEN 'wrap' ELSE 'normal' END;
  v_vends := CASE WHEN v_kind = 'reset' THEN va1.count_init ELSE dv_delta END;
  v_revenue := CASE WHEN v_kind = 'reset' THEN va1.value_init ELSE vv_delta END;
  -- Order against the previous read by the machine's clock (EA3 read time, else ID5) and by
  -- the EA3 read counter. A read either calls older, with neither calling it newer, is a
  -- late arrival (a delayed upload, an import out of order) even with unchanged counters:
  -- kept as history, booking no sales and leaving the machine's latest read where it is.
  -- When they disagree the counters decide as before (a clock set back by a battery change
  -- is not a late read; a controller reset puts the EA3 counter back too), but a drop of
  -- the since-init counters with an older clock is still late, not a reset.
  this_time := coalesce(dex.machine_time(split_part(h.ea3, '*', 3), split_part(h.ea3, '*', 4)),
                        dex.machine_time(split_part(h.id5, '*', 2), split_part(h.id5, '*', 3)));
  prev_time := coalesce(prev_read.ea3_this_read, prev_read.machine_clock);
  this_count := nullif(dex.num(split_part(h.ea3, '*', 2)), 0);
  rt := dex.read_time(cap.captured_at, this_time, cap.received_at);
  IF rt.source = 'received' AND this_time IS NOT NULL AND cap.captured_at IS NULL THEN
    warn := warn || format('machine clock %s is not believable (before 2001 or over a day after receipt): the read is dated by its receipt',
                           this_time);
  END IF;
  clock_order := sign(extract(epoch FROM this_time - prev_time))::integer;
  count_order := sign(this_count - nullif(prev_read.ea3_read_count, 0))::integer;
  IF prev_id IS NOT NULL AND ((least(clock_order, count_order) = -1 AND greatest(clock_order, count_order) <= 0)
                              OR (v_kind = 'reset' AND clock_order = -1)) THEN
    late := true;
    v_kind := 'late';
    v_vends := NULL;
    v_revenue := NULL;
    warn := warn || format('older than the previous read (%s): stored, no sales booked',
                           concat_ws(', ',
                                     CASE WHEN clock_order = -1 THEN format('machine time %s < %s', this_time, prev_time) END,
                                     CASE WHEN count_order = -1 THEN format('EA3 read counter %s < %s', this_count,
                                                                            prev_read.ea3_read_count) END));
  ELSIF clock_order * count_order = -1 THEN
    warn := warn || format('machine time %s vs %s and EA3 read counter %s vs %s disagree about the order of the reads',
                           this_time, prev_time, this_count, prev_read.ea3_read_count);
  END IF;

  -- VA1 with only its since-reset side (VA103/VA104): every read clears it, so it is the
  -- sales since the previous read itself - none when the EA3 counter did not advance (a
  -- re-report of values already booked).
  IF NOT late AND prev_id IS NOT NULL AND va1.value_init IS NULL AND va1.count_init IS NULL
     AND (va1.value_reset IS NOT NULL OR va1.count_reset IS NOT NULL) THEN
    v_kind := 'since_reset';
    v_vends := CASE WHEN count_order = 0 THEN 0 ELSE va1.count_reset END;
    v_revenue := CASE WHEN count_order = 0 THEN 0 ELSE va1.value_reset END;
  END IF;

  -- A different ID101 than the machine's previous read: a swapped controller board, or a
  -- file that belongs to another machine - booked (the channel decides), but said.
  IF nullif(btrim(split_part(h.id1, '*', 2)), '') IS DISTINCT FROM prev_read.id1_serial
     AND nullif(btrim(split_part(h.id1, '*', 2)), '') IS NOT NULL AND prev_read.id1_serial IS NOT NULL THEN
    warn := warn || format('ID101 changed from %s to %s since the previous read: controller swapped, or another machine''s file?',
                           prev_read.id1_serial, nullif(btrim(split_part(h.id1, '*', 2)), ''));
  END IF;

  -- EA3 read counter: detects reads that never reached us and re-reports.
  IF NOT late AND dex.num(split_part(h.ea3, '*', 2)) > 0 AND prev_read.ea3_read_count > 0 THEN
    IF dex.num(split_part(h.ea3, '*', 2)) = prev_read.ea3_read_count THEN
      warn := warn || format('EA3 read counter %s did not advance since the previous read: a re-report', prev_read.ea3_read_count);
    ELSIF dex.num(split_part(h.ea3, '*', 2)) > prev_read.ea3_read_count + 1 THEN
      warn := warn || format('EA3 read counter went from %s to %s: %s read(s) in between were not ingested here',
                             prev_read.ea3_read_count, dex.num(split_part(h.ea3, '*', 2)),
                             dex.num(split_part(h.ea3, '*', 2)) - prev_read.ea3_read_count - 1);
    END IF;
  END IF;

  INSERT INTO dex.reads (capture_id, machine_id, company_id, block_no, received_at, previous_read_id,
                         crc_status, g85_reported, crc_computed, se_status, se_reported, segment_count,
                         dxs_sender, id1_serial, id1_model, firmware, dex_decimals, dex_currency,
                         machine_clock, ea3_read_count, ea3_this_read, ea3_previous_read, tubes_value,
                         vends_delta, revenue_delta, delta_kind, warnings,
                         totals_check, va1_value_modulus, va1_count_modulus, read_at, read_at_source)
  VALUES (cap.id, m.id, cid, v_block, cap.received_at, prev_id,
          crc.status, nullif(split_part(seg[h.g85_n], '*', 2), ''), crc.computed, se_status,
          dex.num(split_part(seg[h.se_n], '*', 2)), array_length(seg, 1),
          nullif(btrim(split_part(dxs_line, '*', 2)), ''), nullif(btrim(split_part(h.id1, '*', 2)), ''),
          nullif(btrim(split_part(h.id1, '*', 3)), ''), nullif(btrim(split_part(h.cb1, '*', 4)), ''),
          dex.num(split_part(h.id4, '*', 2)), id4_currency,
          dex.machine_time(split_part(h.id5, '*', 2), split_part(h.id5, '*', 3)),
          dex.num(split_part(h.ea3, '*', 2)),
          dex.machine_time(split_part(h.ea3, '*', 3), split_part(h.ea3, '*', 4)),
          dex.machine_time(split_part(h.ea3, '*', 6), split_part(h.ea3, '*', 7)),
          dex.num(split_part(h.ca15, '*', 2)),
          v_vends, v_revenue, v_kind, warn,
          v_totals, coalesce(chk_value.modulus, prev_read.va1_value_modulus),
          coalesce(chk_count.modulus, prev_read.va1_count_modulus), rt.read_at, rt.source)
  RETURNING id INTO r_id;

  -- Selections: PA1 opens one; the PA2..PA8 lines after it belong to it. PA2 is
  -- count_init, value_init, count_reset, value_reset (count before value, unlike VA1).
  -- PA7 names its selection itself (PA701; else the enclosing PA1); its lines are kept raw.
  -- Some controllers leave PA101 empty and carry the selection number in PA103 (where
  -- others repeat it: `PA1*101*125*101`): used when it is a short id, and then it is no
  -- product code.
  -- Selection k is the lines from the k-th PA1 up to the next PA1; its PA2 is the first PA2
  -- in that range, and a PA7 line names its selection (PA701), else belongs to the one whose
  -- range holds it (width_bucket: how many PA1 lines come before it). Lines before the
  -- first PA1 belong to none.
  pa1_at := array_positions(tags, 'PA1');
  WITH sel AS MATERIALIZED (
    SELECT x.k, x.n, x.pa1,
           CASE WHEN x.pa2_n < coalesce(pa1_at[x.k + 1], 2147483647) THEN string_to_array(seg[x.pa2_n], '*') END AS pa2,
           coalesce(nullif(btrim(x.pa1[2]), ''), substring(btrim(x.pa1[4]) FROM '^[A-Za-z0-9]{1,6}$')) AS selection
      FROM (SELECT u.k::integer AS k, u.n, string_to_array(seg[u.n], '*') AS pa1,
                   array_position(tags, 'PA2', u.n) AS pa2_n
              FROM unnest(pa1_at) WITH ORDINALITY AS u(n, k) OFFSET 0) x
  ), pay AS MATERIALIZED (
    -- (the enclosing selection looked up only for a PA7 line without its own PA701)
    SELECT coalesce(nullif(btrim(split_part(seg[p.n], '*', 2)), ''),
                    (SELECT sel.selection FROM sel WHERE sel.k = width_bucket(p.n, pa1_at))) AS selection,
           array_agg(seg[p.n] ORDER BY p.n) AS pa7
      FROM unnest(array_positions(tags, 'PA7')) AS p(n)
     WHERE p.n > pa1_at[1]
     GROUP BY 1
  ), ins_sel AS (
    INSERT INTO dex.read_selections (read_id, company_id, selection, price, product_code, capacity,
                                     vends_init, value_init, vends_reset, value_reset, pa7)
    SELECT DISTINCT ON (sel.selection) r_id, cid, sel.selection, dex.num(sel.pa1[3]),
           CASE WHEN btrim(sel.pa1[2]) <> '' THEN nullif(btrim(sel.pa1[4]), '') END, dex.num(sel.pa1[5]),
           dex.num(sel.pa2[2]), dex.num(sel.pa2[3]), dex.num(sel.pa2[4]), dex.num(sel.pa2[5]),
           coalesce(pay.pa7, '{}')
      FROM sel LEFT JOIN pay ON pay.selection = sel.selection
     WHERE coalesce(sel.selection, '') <> ''
     ORDER BY sel.selection, sel.n
    RETURNING 1
  )
  SELECT (SELECT count(*)::int FROM ins_sel), (SELECT count(*)::int FROM sel),
         (SELECT count(*)::int FROM sel WHERE btrim(sel.pa1[2]) = '' AND sel.selection <> '')
    INTO n_sel, n_pa1, n_pa103;
  IF n_pa103 > 0 THEN
    after_warn := after_warn || format('%s PA1 line(s) with an empty PA101: selection number taken from PA103', n_pa103);
  END IF;
  IF n_pa1 > n_sel THEN
    after_warn := after_warn || format('%s PA1 line(s) without a selection id or repeating one: ignored', n_pa1 - n_sel);
  END IF;

  -- The other records in one statement (one plan):
  -- VA1/VA2/VA3/CA2/DA2/DB2/TA2 totals, all "init first" (value, count, value, count);
  -- CA17 coin tubes keyed by coin value (two tubes of one coin are added up);
  -- EA1 events (one line per occurrence) and EA2 per-code counters (reset first) with the
  -- "active now" flag EA205 - EA3/EA7 are read bookkeeping, not events;
  -- MA5 temperatures decoded per model and firmware, detected checked against desired
  -- (a scale in doubt keeps the raw value and warns; undecodable lines are flagged).
  WITH ins_totals AS (
    INSERT INTO dex.read_totals (read_id, company_id, record, value_init, count_init, value_reset, count_reset)
    SELECT r_id, cid, l.record, dex.num(l.e[2]), dex.num(l.e[3]), dex.num(l.e[4]), dex.num(l.e[5])
      FROM (SELECT t.record, string_to_array(seg[array_position(tags, t.record)], '*') AS e
              FROM unnest('{VA1,VA2,VA3,CA2,DA2,DB2,TA2}'::text[]) AS t(record) OFFSET 0) l
     WHERE l.e IS NOT NULL
  ), ins_tubes AS (
    INSERT INTO dex.read_tubes (read_id, company_id, coin_value, coin_types, coins, coins_filled, coins_paid_out, tube_full)
    SELECT r_id, cid, dex.num(l.e[3]), coalesce(string_agg(btrim(l.e[2]), ',' ORDER BY l.n), ''),
           sum(dex.num(l.e[4]))::bigint, sum(dex.num(l.e[5]))::bigint, sum(dex.num(l.e[6]))::bigint,
           coalesce(bool_or(btrim(l.e[7]) = '1'), false)
      FROM (SELECT p.n, string_to_array(seg[p.n], '*') AS e FROM unnest(array_positions(tags, 'CA17')) AS p(n) OFFSET 0) l
     WHERE dex.num(l.e[3]) > 0
     GROUP BY dex.num(l.e[3])
    RETURNING coin_value, coins
  ), ins_events AS (
    INSERT INTO dex.read_events (read_id, company_id, line_no, record, code, occurred_at, duration,
                                 count_reset, count_init, active, raw)
    SELECT r_id, cid, l.n, l.e[1], coalesce(btrim(l.e[2]), ''),
           CASE WHEN l.e[1] = 'EA1' THEN dex.machine_time(l.e[3], l.e[4]) END,
           CASE WHEN l.e[1] = 'EA1' THEN dex.num(l.e[5]) END,
           CASE WHEN l.e[1] = 'EA2' THEN dex.num(l.e[3]) END,
           CASE WHEN l.e[1] = 'EA2' THEN dex.num(l.e[4]) END,
           CASE WHEN l.e[1] = 'EA2' THEN CASE btrim(l.e[6]) WHEN '1' THEN true WHEN '0' THEN false END END,
           l.line
      FROM (SELECT p.n, seg[p.n] AS line, string_to_array(seg[p.n], '*') AS e
              FROM unnest(array_positions(tags, 'EA1') || array_positions(tags, 'EA2')) AS p(n)
             ORDER BY p.n OFFSET 0) l
  ), temps AS MATERIALIZED (
    SELECT * FROM dex.ma5_temperatures(m.model, firmware, seg)
  ), ins_temps AS (
    INSERT INTO dex.read_temperatures (read_id, company_id, line_no, reading, celsius, raw_value, scale, decoder_id, raw)
    SELECT r_id, cid, t.line_no, t.reading, t.celsius, t.raw_value, t.scale, t.decoder_id, t.line
      FROM temps t WHERE t.reading IS NOT NULL
    RETURNING line_no, reading, celsius
  )
  SELECT (SELECT sum(t.coin_value * t.coins)::bigint FROM ins_tubes t),
         (SELECT coalesce(jsonb_agg(jsonb_build_object('coin_value', t.coin_value, 'coins', t.coins,
                                                       'value', t.coin_value * t.coins) ORDER BY t.coin_value), '[]')
            FROM ins_tubes t),
         (SELECT t.celsius FROM ins_temps t WHERE t.reading = 'current' ORDER BY t.line_no LIMIT 1),
         (SELECT t.celsius FROM ins_temps t WHERE t.reading = 'target' ORDER BY t.line_no LIMIT 1),
         ARRAY(SELECT t.warning FROM temps t WHERE t.warning IS NOT NULL ORDER BY t.line_no)
    INTO tubes_sum, tubes_json, temp_current, temp_target, undecoded;
  after_warn := after_warn || undecoded;
  IF tubes_sum IS DISTINCT FROM dex.num(split_part(h.ca15, '*', 2)) AND tubes_sum IS NOT NULL
     AND dex.num(split_part(h.ca15, '*', 2)) IS NOT NULL THEN
    after_warn := after_warn || format('CA15 tube value %s <> sum of CA17 tubes %s',
                                       dex.num(split_part(h.ca15, '*', 2)), tubes_sum);
  END IF;

  -- A late read is history only: no errors, sales, planogram or summary from old data.
  IF late THEN
    warn := warn || after_warn;
    UPDATE dex.reads r SET warnings = warn WHERE r.id = r_id;
    RETURN jsonb_build_object('read_id', r_id, 'block', v_block, 'crc_status', crc.status, 'se_status', se_status,
                              'selections', n_sel, 'vends_delta', NULL, 'revenue_delta', NULL, 'delta_kind', v_kind,
                              'warnings', to_jsonb(warn));
  END IF;

  -- Faults: every code of a MA5*ERROR line - the first element, and each later one with a
  -- letter in it (`MA5*ERROR*CJ06*CJ07` is two codes; numbers after the code are detail,
  -- as Dixie-Narco's time and date in `MA5*ERROR*CJ9*1707*351010`, and so is text with
  -- spaces) - and EA2 events flagged active (EA206.. kept as detail, e.g.
  -- OVERRUN), minus what dex.fault_codes says is no fault for this make (code 0, the EGS
  -- door opened for the read). One open error per code: a code reported again continues
  -- its open error; one an operator resolved that the next read still reports was not
  -- fixed and reopens; one that comes back later, after resolution, is a new error.
  WITH lines AS (
    SELECT l.n, l.e, l.e[1] AS source,
           CASE l.e[1] WHEN 'MA5' THEN
             nullif(array_to_string(ARRAY(SELECT btrim(x.v) FROM unnest(l.e[4:]) WITH ORDINALITY x(v, i)
                                           WHERE btrim(x.v) <> '' AND NOT dex.ma5_error_code(x.v)
                                           ORDER BY x.i), '*'), '')
           ELSE nullif(array_to_string(l.e[7:], '*'), '') END AS detail
      FROM (SELECT p.n, string_to_array(seg[p.n], '*') AS e
              FROM unnest(array_positions(tags, 'MA5') || array_positions(tags, 'EA2')) AS p(n) OFFSET 0) l
     WHERE (l.e[1] = 'MA5' AND upper(btrim(l.e[2])) = 'ERROR')
        OR (l.e[1] = 'EA2' AND btrim(l.e[6]) = '1')
  ), codes AS (
    SELECT ln.source, btrim(c.code) AS code, ln.detail, ln.n
      FROM lines ln
      CROSS JOIN LATERAL unnest(CASE ln.source WHEN 'MA5' THEN ln.e[3:3] || ARRAY(SELECT x FROM unnest(ln.e[4:]) x
                                                                                 WHERE dex.ma5_error_code(x))
                                                      ELSE ln.e[2:2] END) c(code)
     WHERE btrim(c.code) <> '' AND btrim(c.code) !~ '\s'
  ), reported AS (
    SELECT x.source, x.code, (array_agg(x.detail ORDER BY x.n) FILTER (WHERE x.detail IS NOT NULL))[1] AS detail
      FROM codes x
     WHERE coalesce((SELECT f.is_fault FROM dex.fault_codes f
                      WHERE f.source = x.source AND m.model ILIKE f.model_pattern AND x.code ~* f.code_regex
                      ORDER BY f.model_pattern = '%', length(f.model_pattern) DESC, f.id LIMIT 1), true)
     GROUP BY x.source, x.code
  ), continued AS (
    UPDATE dex.machine_errors me
       SET last_read_id = r_id, last_seen_at = cap.received_at, reads = me.reads + 1,
           detail = coalesce(x.detail, me.detail),
           resolved_at = NULL, resolved_by = NULL,
           reopened_at = CASE WHEN me.resolved_at IS NOT NULL THEN cap.received_at ELSE me.reopened_at END
      FROM reported x
     WHERE me.machine_id = m.id AND me.source = x.source AND me.code = x.code
       AND (me.resolved_at IS NULL OR (prev_id IS NOT NULL AND me.last_read_id = prev_id))
    RETURNING me.source, me.code
  )
  INSERT INTO dex.machine_errors (machine_id, company_id, source, code, detail, first_read_id, last_read_id,
                                  first_seen_at, last_seen_at)
  SELECT m.id, cid, x.source, x.code, x.detail, r_id, r_id, cap.received_at, cap.received_at
    FROM reported x
   WHERE NOT EXISTS (SELECT 1 FROM continued c WHERE c.source = x.source AND c.code = x.code);

  -- Sales per selection since the previous read (since-init counters), flagged on wrap/reset.
  IF prev_id IS NOT NULL THEN
    WITH d AS (
      INSERT INTO dex.sales_deltas (read_id, company_id, machine_id, selection, previous_read_id, sold_at,
                                    vends, revenue, kind)
      SELECT r_id, cid, m.id, c.selection, prev_id, rt.read_at,
             CASE WHEN k.kind = 'reset' THEN c.vends_init ELSE dvs.delta END,
             CASE WHEN k.kind = 'reset' THEN c.value_init ELSE vvs.delta END, k.kind
        FROM dex.read_selections c
        JOIN dex.read_selections p ON p.read_id = prev_id AND p.selection = c.selection
        CROSS JOIN LATERAL dex.counter_delta(p.vends_init, c.vends_init) dvs
        CROSS JOIN LATERAL dex.counter_delta(p.value_init, c.value_init) vvs
        CROSS JOIN LATERAL (SELECT CASE WHEN 'reset' IN (dvs.kind, vvs.kind) THEN 'reset'
                                        WHEN 'wrap' IN (dvs.kind, vvs.kind) THEN 'wrap'
                                        ELSE 'normal' END AS kind) k
       WHERE c.read_id = r_id AND dvs.kind <> 'unavailable' AND vvs.kind <> 'unavailable'
         AND (dvs.delta <> 0 OR vvs.delta <> 0 OR k.kind <> 'normal')
      UNION ALL
      -- Selections with only since-reset counters (PA203/PA204): cleared by every read, so
      -- the values are the sales since the previous read; a re-report (EA3 counter did not
      -- advance) has booked them already.
      SELECT r_id, cid, m.id, c.selection, prev_id, rt.read_at, coalesce(c.vends_reset, 0),
             coalesce(c.value_reset, 0), 'since_reset'
        FROM dex.read_selections c
       WHERE c.read_id = r_id AND c.vends_init IS NULL AND c.value_init IS NULL
         AND (c.vends_reset <> 0 OR c.value_reset <> 0) AND count_order IS DISTINCT FROM 0
      RETURNING selection, kind
    )
    SELECT string_agg(d.selection, ', ' ORDER BY d.selection) FILTER (WHERE d.kind = 'wrap') AS wrapped,
           string_agg(d.selection, ', ' ORDER BY d.selection) FILTER (WHERE d.kind = 'reset') AS reset
      INTO kinds FROM d;
    IF kinds.wrapped IS NOT NULL THEN
      after_warn := after_warn || format('since-init counters wrapped at 10^8 for selection(s) %s', kinds.wrapped);
    END IF;
    IF kinds.reset IS NOT NULL THEN
      after_warn := after_warn || format('since-init counters went back for selection(s) %s: controller reset? sales counted from 0',
                                         kinds.reset);
    END IF;
  END IF;
  IF dv_kind = 'wrap' OR vv_kind = 'wrap' THEN
    after_warn := after_warn || format('VA1 since-init counters wrapped at 10^%s',
                                       length(coalesce(CASE WHEN vv_kind = 'wrap' THEN chk_value.modulus END,
                                                       CASE WHEN vv_kind = 'wrap' THEN prev_read.va1_value_modulus END,
                                                       CASE WHEN dv_kind = 'wrap' THEN chk_count.modulus END,
                                                       CASE WHEN dv_kind = 'wrap' THEN prev_read.va1_count_modulus END,
                                                       100000000)::text) - 1);
  ELSIF dv_kind = 'reset' OR vv_kind = 'reset' THEN
    after_warn := after_warn || 'VA1 since-init counters went back: controller reset? sales counted from 0'::text;
  END IF;

  -- Planogram: written only when a slot is new or changed - most reads change nothing,
  -- which a comparison with the previous read's selections tells cheaply.
  IF prev_id IS NULL OR EXISTS (
       (SELECT c.selection, c.price, c.product_code, c.capacity FROM dex.read_selections c WHERE c.read_id = r_id)
       EXCEPT
       (SELECT p.selection, p.price, p.product_code, p.capacity FROM dex.read_selections p WHERE p.read_id = prev_id)) THEN
    INSERT INTO dex.machine_slots AS s (machine_id, company_id, selection, product_code, product_id, price, capacity,
                                        first_read_id, changed_read_id)
    SELECT m.id, cid, c.selection, c.product_code, p.id, c.price, c.capacity, r_id, r_id
      FROM dex.read_selections c
      LEFT JOIN dex.products p ON p.company_id = cid AND p.product_code = c.product_code
     WHERE c.read_id = r_id
    ON CONFLICT (machine_id, selection) DO UPDATE
       SET product_code = excluded.product_code, product_id = excluded.product_id, price = excluded.price,
           capacity = excluded.capacity, changed_read_id = excluded.changed_read_id, updated_at = now()
     WHERE (s.product_code, s.product_id, s.price, s.capacity)
           IS DISTINCT FROM (excluded.product_code, excluded.product_id, excluded.price, excluded.capacity);
  END IF;

  IF after_warn <> '{}' THEN
    warn := warn || after_warn;
    UPDATE dex.reads r SET warnings = warn WHERE r.id = r_id;
  END IF;

  -- Cash box, bill validator and hand-filled cash figures (sql/60_dex/38_cash.sql).
  PERFORM dex.book_read_cash(r_id, m, seg, tags);

  -- The fleet summary row, current as of this transaction.
  UPDATE dex.machine_state s
     SET last_capture_id = cap.id, last_read_id = r_id, last_read_at = rt.read_at, last_read_time_source = rt.source,
         last_received_at = cap.received_at, reads = s.reads + 1,
         firmware = coalesce(nullif(btrim(split_part(h.cb1, '*', 4)), ''), s.firmware),
         temperature_c = temp_current, target_temperature_c = temp_target, tubes = tubes_json,
         tubes_value = coalesce(tubes_sum, dex.num(split_part(h.ca15, '*', 2))),
         product_count = n_sel,
         unresolved_errors = (SELECT count(*) FROM dex.machine_errors e
                               WHERE e.machine_id = m.id AND e.resolved_at IS NULL),
         updated_at = now()
   WHERE s.machine_id = m.id;

  RETURN jsonb_build_object(
    'read_id', r_id, 'block', v_block, 'crc_status', crc.status, 'se_status', se_status,
    'read_at', rt.read_at, 'read_at_source', rt.source,
    'selections', n_sel,
    'vends_delta', v_vends, 'revenue_delta', v_revenue, 'delta_kind', v_kind,
    'warnings', to_jsonb(warn));
END $_$;


ALTER FUNCTION dex.book_read(cap dex.captures, m dex.machines, v_block integer, dxs_line text, seg text[], tags text[]) OWNER TO postgres;

--
-- Name: book_read_cash(bigint, dex.machines, text[], text[]); Type: FUNCTION; Schema: dex; Owner: postgres
--

CREATE FUNCTION dex.book_read_cash(read_id bigint, m dex.machines, seg text[], tags text[]) RETURNS void
    LANGUAGE plpgsql
    AS $$
DECLARE
  -- The first line of each record, split.
  ca3   text[] := string_to_array(seg[array_position(tags, 'CA3')], '*');
  ca4   text[] := string_to_array(seg[array_position(tags, 'CA4')], '*');
  ca10  text[] := string_to_array(seg[array_position(tags, 'CA10')], '*');
  ba1   text[] := string_to_array(seg[array_position(tags, 'BA1')], '*');
  -- Dollar banknote fields (CA304/CA308) to minor units on North-American machines.
  scale bigint := CASE WHEN m.currency IN ('USD', 'CAD') THEN (10 ^ m.decimals)::bigint ELSE 1 END;
BEGIN
  IF ca3 IS NULL AND ca4 IS NULL AND ca10 IS NULL AND ba1 IS NULL THEN
    RETURN;
  END IF;
  -- The first line of each record; element k of a record (CA305 = k 5) is e[k + 1].
  INSERT INTO dex.read_cash (read_id, company_id, machine_id, cash_in, coins_to_box, coins_to_tubes, bills_in,
                             dispensed, manually_dispensed, manually_filled, cash_in_reset, coins_to_box_reset,
                             coins_to_tubes_reset, bills_in_reset, dispensed_reset, manually_dispensed_reset,
                             manually_filled_reset, bill_validator)
  VALUES (book_read_cash.read_id, m.company_id, m.id,
          dex.num(ca3[6]), dex.num(ca3[7]), dex.num(ca3[8]),
          coalesce(dex.num(ca3[11]), dex.num(ca3[9]) * scale),
          dex.num(ca4[4]), dex.num(ca4[5]), dex.num(ca10[3]),
          dex.num(ca3[2]), dex.num(ca3[3]), dex.num(ca3[4]),
          coalesce(dex.num(ca3[10]), dex.num(ca3[5]) * scale),
          dex.num(ca4[2]), dex.num(ca4[3]), dex.num(ca10[2]),
          nullif(btrim(concat_ws(' ', btrim(ba1[2]), btrim(ba1[3]))), ''));
END $$;


ALTER FUNCTION dex.book_read_cash(read_id bigint, m dex.machines, seg text[], tags text[]) OWNER TO postgres;

--
-- Name: cash_box(bigint); Type: FUNCTION; Schema: dex; Owner: postgres
--

CREATE FUNCTION dex.cash_box(machine_id bigint) RETURNS TABLE(since text, collected_at timestamp with time zone, coins bigint, bills bigint, total bigint, cash_in bigint, coins_to_tubes bigint, dispensed bigint, manually_filled bigint, counters text)
    LANGUAGE sql STABLE
    AS $$
  WITH c AS (
    SELECT cc.read_id, cc.collected_at FROM dex.cash_collections cc
     WHERE cc.machine_id = cash_box.machine_id ORDER BY cc.id DESC LIMIT 1
  ), base AS (
    SELECT coalesce(
      (SELECT rc FROM dex.read_cash rc WHERE rc.machine_id = cash_box.machine_id AND rc.read_id <= (SELECT c.read_id FROM c)
        ORDER BY rc.read_id DESC LIMIT 1),
      (SELECT rc FROM dex.read_cash rc WHERE rc.machine_id = cash_box.machine_id ORDER BY rc.read_id LIMIT 1)) AS b
  ), cur AS (
    SELECT rc AS r FROM dex.read_cash rc WHERE rc.machine_id = cash_box.machine_id ORDER BY rc.read_id DESC LIMIT 1
  )
  SELECT CASE WHEN (SELECT c.read_id FROM c) IS NOT NULL THEN 'last_collection' ELSE 'first_read' END,
         (SELECT c.collected_at FROM c),
         bx.delta, bl.delta, bx.delta + bl.delta, ci.delta, tu.delta, di.delta, mf.delta,
         CASE WHEN 'reset' IN (bx.kind, bl.kind) THEN 'reset' WHEN 'wrap' IN (bx.kind, bl.kind) THEN 'wrap'
              WHEN 'unavailable' IN (bx.kind, bl.kind) THEN 'unavailable' ELSE 'normal' END
    FROM cur, base
   CROSS JOIN LATERAL dex.counter_delta((base.b).coins_to_box, (cur.r).coins_to_box) bx
   CROSS JOIN LATERAL dex.counter_delta((base.b).bills_in, (cur.r).bills_in) bl
   CROSS JOIN LATERAL dex.counter_delta((base.b).cash_in, (cur.r).cash_in) ci
   CROSS JOIN LATERAL dex.counter_delta((base.b).coins_to_tubes, (cur.r).coins_to_tubes) tu
   CROSS JOIN LATERAL dex.counter_delta((base.b).dispensed, (cur.r).dispensed) di
   CROSS JOIN LATERAL dex.counter_delta((base.b).manually_filled, (cur.r).manually_filled) mf
$$;


ALTER FUNCTION dex.cash_box(machine_id bigint) OWNER TO postgres;

--
-- Name: cash_box_json(bigint); Type: FUNCTION; Schema: dex; Owner: postgres
--

CREATE FUNCTION dex.cash_box_json(machine_id bigint) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
  SELECT coalesce((SELECT jsonb_build_object(
                     'since', b.since, 'last_collected_at', b.collected_at, 'coins', b.coins, 'bills', b.bills,
                     'total', b.total, 'cash_in', b.cash_in, 'coins_to_tubes', b.coins_to_tubes,
                     'dispensed', b.dispensed, 'manually_filled', b.manually_filled, 'counters', b.counters)
                     FROM dex.cash_box(machine_id) b),
                  jsonb_build_object('since', NULL, 'total', NULL))
$$;


ALTER FUNCTION dex.cash_box_json(machine_id bigint) OWNER TO postgres;

--
-- Name: cash_collect(text); Type: FUNCTION; Schema: dex; Owner: dex_service
--

CREATE FUNCTION dex.cash_collect(case_serial text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
  m       dex.machines;
  last_id bigint;
  box     record;
  coll    dex.cash_collections;
BEGIN
  SELECT * INTO m FROM dex.machines mm WHERE mm.case_serial = cash_collect.case_serial;
  IF NOT FOUND THEN
    PERFORM core.raise_error('MACHINE_NOT_FOUND', format('no machine with case serial %s', cash_collect.case_serial),
                             jsonb_build_object('case_serial', cash_collect.case_serial));
  END IF;
  SELECT s.last_read_id INTO last_id FROM dex.machine_state s WHERE s.machine_id = m.id FOR NO KEY UPDATE;
  IF last_id IS NULL THEN
    RETURN core.decline('CONFLICT', format('machine %s has no read yet: read it (DEX) when collecting', m.case_serial),
                        jsonb_build_object('case_serial', m.case_serial));
  END IF;
  SELECT * INTO box FROM dex.cash_box(m.id);
  INSERT INTO dex.cash_collections (machine_id, company_id, read_id, collected_by, expected_coins, expected_bills)
  VALUES (m.id, m.company_id, last_id, core.principal(), box.coins, box.bills)
  RETURNING * INTO coll;
  RETURN jsonb_build_object('case_serial', m.case_serial, 'collection_id', coll.id, 'collected_at', coll.collected_at,
                            'read_id', last_id, 'expected_coins', coll.expected_coins,
                            'expected_bills', coll.expected_bills,
                            'expected_total', coll.expected_coins + coll.expected_bills);
END $$;


ALTER FUNCTION dex.cash_collect(case_serial text) OWNER TO dex_service;

--
-- Name: company_create(text, text); Type: FUNCTION; Schema: dex; Owner: dex_service
--

CREATE FUNCTION dex.company_create(company_id text, name text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE created dex.companies;
BEGIN
  INSERT INTO dex.companies AS c (company_id, name, created_by)
  VALUES (company_create.company_id, btrim(company_create.name), core.principal())
  ON CONFLICT DO NOTHING
  RETURNING * INTO created;
  IF NOT FOUND THEN
    PERFORM core.raise_error('CONFLICT', format('company %s already exists', company_create.company_id),
                             jsonb_build_object('company_id', company_create.company_id));
  END IF;
  RETURN jsonb_build_object('company_id', created.company_id, 'name', created.name, 'created_at', created.created_at);
END $$;


ALTER FUNCTION dex.company_create(company_id text, name text) OWNER TO dex_service;

--
-- Name: counter_delta(bigint, bigint); Type: FUNCTION; Schema: dex; Owner: postgres
--

CREATE FUNCTION dex.counter_delta(prev bigint, cur bigint, OUT delta bigint, OUT kind text) RETURNS record
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
  SELECT CASE WHEN prev IS NULL OR cur IS NULL THEN NULL
              WHEN cur >= prev THEN cur - prev
              WHEN prev < 100000000 AND cur + 100000000 - prev <= 10000000 THEN cur + 100000000 - prev
              ELSE cur END,
         CASE WHEN prev IS NULL OR cur IS NULL THEN 'unavailable'
              WHEN cur >= prev THEN 'normal'
              WHEN prev < 100000000 AND cur + 100000000 - prev <= 10000000 THEN 'wrap'
              ELSE 'reset' END
$$;


ALTER FUNCTION dex.counter_delta(prev bigint, cur bigint, OUT delta bigint, OUT kind text) OWNER TO postgres;

--
-- Name: counter_delta(bigint, bigint, bigint); Type: FUNCTION; Schema: dex; Owner: postgres
--

CREATE FUNCTION dex.counter_delta(prev bigint, cur bigint, modulus bigint, OUT delta bigint, OUT kind text) RETURNS record
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
  SELECT CASE WHEN prev IS NULL OR cur IS NULL THEN NULL
              WHEN cur >= prev THEN cur - prev
              WHEN prev < modulus AND cur + modulus - prev <= modulus / 10 THEN cur + modulus - prev
              ELSE cur END,
         CASE WHEN prev IS NULL OR cur IS NULL THEN 'unavailable'
              WHEN cur >= prev THEN 'normal'
              WHEN prev < modulus AND cur + modulus - prev <= modulus / 10 THEN 'wrap'
              ELSE 'reset' END
$$;


ALTER FUNCTION dex.counter_delta(prev bigint, cur bigint, modulus bigint, OUT delta bigint, OUT kind text) OWNER TO postgres;

--
-- Name: crc16_arc(bytea, integer); Type: FUNCTION; Schema: dex; Owner: postgres
--

CREATE FUNCTION dex.crc16_arc(data bytea, crc integer DEFAULT 0) RETURNS integer
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
DECLARE
  n    CONSTANT integer := length(data);
  tail CONSTANT integer := n - n % 8;
BEGIN
  -- Table k starts at k * 256 + 1; (dex.crc16_arc_tables()) is a constant array, indexed directly.
  FOR i IN 0 .. tail - 8 BY 8 LOOP
    crc := (dex.crc16_arc_tables())[((crc # get_byte(data, i)) & 255) + 1793]
         # (dex.crc16_arc_tables())[(((crc >> 8) # get_byte(data, i + 1)) & 255) + 1537]
         # (dex.crc16_arc_tables())[get_byte(data, i + 2) + 1281]
         # (dex.crc16_arc_tables())[get_byte(data, i + 3) + 1025]
         # (dex.crc16_arc_tables())[get_byte(data, i + 4) + 769]
         # (dex.crc16_arc_tables())[get_byte(data, i + 5) + 513]
         # (dex.crc16_arc_tables())[get_byte(data, i + 6) + 257]
         # (dex.crc16_arc_tables())[get_byte(data, i + 7) + 1];
  END LOOP;
  FOR i IN tail .. n - 1 LOOP
    crc := (crc >> 8) # (dex.crc16_arc_tables())[((crc # get_byte(data, i)) & 255) + 1];
  END LOOP;
  RETURN crc;
END $$;


ALTER FUNCTION dex.crc16_arc(data bytea, crc integer) OWNER TO postgres;

--
-- Name: crc16_arc_tables(); Type: FUNCTION; Schema: dex; Owner: postgres
--

CREATE FUNCTION dex.crc16_arc_tables() RETURNS integer[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
  SELECT '{
    0,49345,49537,320,49921,960,640,49729,50689,1728,1920,51009,1280,50625,50305,1088,
    52225,3264,3456,52545,3840,53185,52865,3648,2560,51905,52097,2880,51457,2496,2176,51265,
    55297,6336,6528,55617,6912,56257,55937,6720,7680,57025,57217,8000,56577,7616,7296,56385,
    5120,54465,54657,5440,55041,6080,5760,54849,53761,4800,4992,54081,4352,53697,53377,4160,
    61441,12480,12672,61761,13056,62401,62081,12864,13824,63169,63361,14144,62721,13760,13440,62529,
    15360,64705,64897,15680,65281,16320,16000,65089,64001,15040,15232,64321,14592,63937,63617,14400,
    10240,59585,59777,10560,60161,11200,10880,59969,60929,11968,12160,61249,11520,60865,60545,11328,
    58369,9408,9600,58689,9984,59329,59009,9792,8704,58049,58241,9024,57601,8640,8320,57409,
    40961,24768,24960,41281,25344,41921,41601,25152,26112,42689,42881,26432,42241,26048,25728,42049,
    27648,44225,44417,27968,44801,28608,28288,44609,43521,27328,27520,43841,26880,43457,43137,26688,
    30720,47297,47489,31040,47873,31680,31360,47681,48641,32448,32640,48961,32000,48577,48257,31808,
    46081,29888,30080,46401,30464,47041,46721,30272,29184,45761,45953,29504,45313,29120,28800,45121,
    20480,37057,37249,20800,37633,21440,21120,37441,38401,22208,22400,38721,21760,38337,38017,21568,
    39937,23744,23936,40257,24320,40897,40577,24128,23040,39617,39809,23360,39169,22976,22656,38977,
    34817,18624,18816,35137,19200,35777,35457,19008,19968,36545,36737,20288,36097,19904,19584,35905,
    17408,33985,34177,17728,34561,18368,18048,34369,33281,17088,17280,33601,16640,33217,32897,16448,
    0,36865,24577,61440,49154,20483,40963,12290,49159,20486,40966,12295,5,36868,24580,61445,
    49165,20492,40972,12301,15,36878,24590,61455,10,36875,24587,61450,49160,20489,40969,12296,
    49177,20504,40984,12313,27,36890,24602,61467,30,36895,24607,61470,49180,20509,40989,12316,
    20,36885,24597,61460,49174,20503,40983,12310,49171,20498,40978,12307,17,36880,24592,61457,
    49201,20528,41008,12337,51,36914,24626,61491,54,36919,24631,61494,49204,20533,41013,12340,
    60,36925,24637,61500,49214,20543,41023,12350,49211,20538,41018,12347,57,36920,24632,61497,
    40,36905,24617,61480,49194,20523,41003,12330,49199,20526,41006,12335,45,36908,24620,61485,
    49189,20516,40996,12325,39,36902,24614,61479,34,36899,24611,61474,49184,20513,40993,12320,
    49249,20576,41056,12385,99,36962,24674,61539,102,36967,24679,61542,49252,20581,41061,12388,
    108,36973,24685,61548,49262,20591,41071,12398,49259,20586,41066,12395,105,36968,24680,61545,
    120,36985,24697,61560,49274,20603,41083,12410,49279,20606,41086,12415,125,36988,24700,61565,
    49269,20596,41076,12405,119,36982,24694,61559,114,36979,24691,61554,49264,20593,41073,12400,
    80,36945,24657,61520,49234,20563,41043,12370,49239,20566,41046,12375,85,36948,24660,61525,
    49245,20572,41052,12381,95,36958,24670,61535,90,36955,24667,61530,49240,20569,41049,12376,
    49225,20552,41032,12361,75,36938,24650,61515,78,36943,24655,61518,49228,20557,41037,12364,
    68,36933,24645,61508,49222,20551,41031,12358,49219,20546,41026,12355,65,36928,24640,61505,
    0,49233,49313,240,49473,272,480,49585,49793,720,544,49777,960,50065,50017,816,
    50433,1360,1440,50673,1088,50193,50401,1200,1920,51153,50977,1904,50881,1680,1632,50737,
    51713,2640,2720,51953,2880,51985,52193,2992,2176,51409,51233,2160,51649,2448,2400,51505,
    3840,53073,53153,4080,52801,3600,3808,52913,52609,3536,3360,52593,3264,52369,52321,3120,
    54273,5200,5280,54513,5440,54545,54753,5552,5760,54993,54817,5744,55233,6032,5984,55089,
    4352,53585,53665,4592,53313,4112,4320,53425,54145,5072,4896,54129,4800,53905,53857,4656,
    7680,56913,56993,7920,57153,7952,8160,57265,56449,7376,7200,56433,7616,56721,56673,7472,
    56065,6992,7072,56305,6720,55825,56033,6832,6528,55761,55585,6512,55489,6288,6240,55345,
    59393,10320,10400,59633,10560,59665,59873,10672,10880,60113,59937,10864,60353,11152,11104,60209,
    11520,60753,60833,11760,60481,11280,11488,60593,61313,12240,12064,61297,11968,61073,61025,11824,
    8704,57937,58017,8944,58177,8976,9184,58289,57473,8400,8224,57457,8640,57745,57697,8496,
    59137,10064,10144,59377,9792,58897,59105,9904,9600,58833,58657,9584,58561,9360,9312,58417,
    15360,64593,64673,15600,64833,15632,15840,64945,65153,16080,15904,65137,16320,65425,65377,16176,
    63745,14672,14752,63985,14400,63505,63713,14512,15232,64465,64289,15216,64193,14992,14944,64049,
    62977,13904,13984,63217,14144,63249,63457,14256,13440,62673,62497,13424,62913,13712,13664,62769,
    13056,62289,62369,13296,62017,12816,13024,62129,61825,12752,12576,61809,12480,61585,61537,12336,
    0,64513,47105,17408,12289,52224,34816,29697,24578,39939,55299,9218,20483,44034,59394,5123,
    49156,15365,30725,33796,61445,3076,18436,46085,40966,23559,6151,58374,36871,27654,10246,54279,
    49163,15370,30730,33803,61450,3083,18443,46090,40969,23560,6152,58377,36872,27657,10249,54280,
    15,64526,47118,17423,12302,52239,34831,29710,24589,39948,55308,9229,20492,44045,59405,5132,
    49173,15380,30740,33813,61460,3093,18453,46100,40983,23574,6166,58391,36886,27671,10263,54294,
    17,64528,47120,17425,12304,52241,34833,29712,24595,39954,55314,9235,20498,44051,59411,5138,
    30,64543,47135,17438,12319,52254,34846,29727,24604,39965,55325,9244,20509,44060,59420,5149,
    49178,15387,30747,33818,61467,3098,18458,46107,40984,23577,6169,58392,36889,27672,10264,54297,
    49193,15400,30760,33833,61480,3113,18473,46120,41003,23594,6186,58411,36906,27691,10283,54314,
    45,64556,47148,17453,12332,52269,34861,29740,24623,39982,55342,9263,20526,44079,59439,5166,
    34,64547,47139,17442,12323,52258,34850,29731,24608,39969,55329,9248,20513,44064,59424,5153,
    49190,15399,30759,33830,61479,3110,18470,46119,40996,23589,6181,58404,36901,27684,10276,54309,
    60,64573,47165,17468,12349,52284,34876,29757,24638,39999,55359,9278,20543,44094,59454,5183,
    49208,15417,30777,33848,61497,3128,18488,46137,41018,23611,6203,58426,36923,27706,10298,54331,
    49207,15414,30774,33847,61494,3127,18487,46134,41013,23604,6196,58421,36916,27701,10293,54324,
    51,64562,47154,17459,12338,52275,34867,29746,24625,39984,55344,9265,20528,44081,59441,5168,
    0,49213,49273,68,49393,204,136,49333,49633,476,408,49573,272,49453,49513,340,
    50113,1020,952,50053,816,49933,49993,884,544,49693,49753,612,49873,748,680,49813,
    51073,1980,2040,51141,1904,51021,50953,1844,1632,50781,50713,1572,50833,1708,1768,50901,
    1088,50301,50233,1028,50353,1164,1224,50421,50593,1436,1496,50661,1360,50541,50473,1300,
    52993,3900,3960,53061,4080,53197,53129,4020,3808,52957,52889,3748,52753,3628,3688,52821,
    3264,52477,52409,3204,52273,3084,3144,52341,52513,3356,3416,52581,3536,52717,52649,3476,
    2176,51389,51449,2244,51313,2124,2056,51253,51553,2396,2328,51493,2448,51629,51689,2516,
    52033,2940,2872,51973,2992,52109,52169,3060,2720,51869,51929,2788,51793,2668,2600,51733,
    56833,7740,7800,56901,7920,57037,56969,7860,8160,57309,57241,8100,57105,7980,8040,57173,
    7616,56829,56761,7556,56625,7436,7496,56693,56353,7196,7256,56421,7376,56557,56489,7316,
    6528,55741,55801,6596,55665,6476,6408,55605,55393,6236,6168,55333,6288,55469,55529,6356,
    55873,6780,6712,55813,6832,55949,56009,6900,7072,56221,56281,7140,56145,7020,6952,56085,
    4352,53565,53625,4420,53745,4556,4488,53685,53473,4316,4248,53413,4112,53293,53353,4180,
    53953,4860,4792,53893,4656,53773,53833,4724,4896,54045,54105,4964,54225,5100,5032,54165,
    54913,5820,5880,54981,5744,54861,54793,5684,5984,55133,55065,5924,55185,6060,6120,55253,
    5440,54653,54585,5380,54705,5516,5576,54773,54433,5276,5336,54501,5200,54381,54313,5140,
    0,53505,57857,13056,33793,21760,26112,46849,18433,39168,43520,31489,52224,7425,11777,65280,
    36866,16643,29187,41730,5123,50434,62978,9987,55299,2306,14850,60163,23554,36099,48643,28418,
    24583,45318,33286,21255,58374,13575,1543,55046,10246,63751,51719,6918,44039,32006,19974,40711,
    61445,8452,4612,49925,29700,42245,38405,18180,47108,26885,23045,35588,15365,60676,56836,3845,
    49166,4367,8719,62222,17423,38158,42510,30479,34831,22798,27150,47887,3086,56591,60943,16142,
    20492,33037,45581,25356,54285,1292,13836,59149,6157,51468,64012,11021,39948,19725,32269,44812,
    40969,28936,16904,37641,9224,62729,50697,5896,59400,14601,2569,56072,27657,48392,36360,24329,
    12299,57610,53770,779,46090,25867,22027,34570,30730,43275,39435,19210,64523,11530,7690,53003,
    49183,4382,8734,62239,17438,38175,42527,30494,34846,22815,27167,47902,3103,56606,60958,16159,
    20509,33052,45596,25373,54300,1309,13853,59164,6172,51485,64029,11036,39965,19740,32284,44829,
    40984,28953,16921,37656,9241,62744,50712,5913,59417,14616,2584,56089,27672,48409,36377,24344,
    12314,57627,53787,794,46107,25882,22042,34587,30747,43290,39450,19227,64538,11547,7707,53018,
    17,53520,57872,13073,33808,21777,26129,46864,18448,39185,43537,31504,52241,7440,11792,65297,
    36883,16658,29202,41747,5138,50451,62995,10002,55314,2323,14867,60178,23571,36114,48658,28435,
    24598,45335,33303,21270,58391,13590,1558,55063,10263,63766,51734,6935,44054,32023,19991,40726,
    61460,8469,4629,49940,29717,42260,38420,18197,47125,26900,23060,35605,15380,60693,56853,3860,
    0,49168,49187,51,49221,85,102,49270,49289,153,170,49338,204,49372,49391,255,
    49425,257,306,49442,340,49476,49527,359,408,49544,49595,427,49629,461,510,49646,
    49697,561,514,49682,612,49780,49735,599,680,49848,49803,667,49901,765,718,49886,
    816,49952,49939,771,50037,869,854,49990,50105,937,922,50058,1020,50156,50143,975,
    50241,1105,1122,50290,1028,50196,50215,1079,1224,50392,50411,1275,50317,1181,1198,50366,
    1360,50496,50547,1379,50453,1285,1334,50470,50649,1481,1530,50666,1436,50572,50623,1455,
    1632,50800,50755,1619,50725,1589,1542,50710,50921,1785,1738,50906,1708,50876,50831,1695,
    51057,1889,1874,51010,1844,50980,50967,1799,2040,51176,51163,1995,51133,1965,1950,51086,
    51329,2193,2210,51378,2244,51412,51431,2295,2056,51224,51243,2107,51277,2141,2158,51326,
    2448,51584,51635,2467,51669,2501,2550,51686,51481,2313,2362,51498,2396,51532,51583,2415,
    2720,51888,51843,2707,51941,2805,2758,51926,51753,2617,2570,51738,2668,51836,51791,2655,
    52145,2977,2962,52098,3060,52196,52183,3015,2872,52008,51995,2827,52093,2925,2910,52046,
    3264,52432,52451,3315,52357,3221,3238,52406,52297,3161,3178,52346,3084,52252,52271,3135,
    52689,3521,3570,52706,3476,52612,52663,3495,3416,52552,52603,3435,52509,3341,3390,52526,
    52961,3825,3778,52946,3748,52916,52871,3735,3688,52856,52811,3675,52781,3645,3598,52766,
    4080,53216,53203,4035,53173,4005,3990,53126,53113,3945,3930,53066,3900,53036,53023,3855,
    0,52417,55681,5440,62209,16320,10880,58945,42497,27328,32640,45889,21760,39361,35969,16448,
    3073,49344,54656,6465,65280,13249,9857,59968,43520,26305,29569,48960,22785,38336,32896,19521,
    6146,54467,49539,3394,60163,10178,12930,65091,48643,29378,26498,43843,19714,33219,38019,22594,
    5123,55490,52610,323,59138,11203,16003,62018,45570,32451,27523,42818,16643,36290,39042,21571,
    12292,64709,59781,9540,49925,4036,6788,54853,38405,23236,20356,33605,25860,43461,48261,28740,
    15365,61636,58756,10565,52996,965,5765,55876,39428,22213,17285,36676,26885,42436,45188,31813,
    10246,58567,61831,15686,56071,6086,646,52807,36359,17094,22406,39751,32006,45511,42119,26694,
    9223,59590,64902,12615,55046,7111,3719,49734,33286,20167,23431,38726,28935,48582,43142,25671,
    24584,44233,47497,30024,37641,24520,19080,34377,50697,2760,8072,54089,13576,63945,60553,8264,
    27657,41160,46472,31049,40712,21449,18057,35400,51720,1737,5001,57160,14601,62920,57480,11337,
    30730,46283,41355,27978,35595,18378,21130,40523,56843,4810,1930,52043,11530,57803,62603,14410,
    29707,47306,44426,24907,34570,19403,24203,37450,53770,7883,2955,51018,8459,60874,63626,13387,
    20492,40141,35213,17740,41741,28620,31372,46669,62989,15052,12172,58189,1292,51661,56461,4172,
    23565,37068,34188,18765,44812,25549,30349,47692,64012,14029,9101,61260,2317,50636,53388,7245,
    18446,33999,37263,23886,47887,30670,25230,44623,60943,8910,14222,64335,7438,53711,50319,2126,
    17423,35022,40334,20815,46862,31695,28303,41550,57870,11983,15247,63310,4367,56782,51342,1103}'::integer[]
$$;


ALTER FUNCTION dex.crc16_arc_tables() OWNER TO postgres;

--
-- Name: crc_not_computed(bigint, text, text); Type: FUNCTION; Schema: dex; Owner: postgres
--

CREATE FUNCTION dex.crc_not_computed(machine_id bigint, reported text, computed text) RETURNS boolean
    LANGUAGE sql STABLE
    AS $$
  SELECT count(*) FILTER (WHERE r.crc_status IN ('ok', 'ok_swapped', 'ok_no_final_crlf')) = 0
     AND count(*) FILTER (WHERE upper(r.g85_reported) = upper(btrim(reported))
                            AND r.crc_computed IS DISTINCT FROM computed) > 0
    FROM (SELECT rr.crc_status, rr.g85_reported, rr.crc_computed FROM dex.reads rr
           WHERE rr.machine_id = crc_not_computed.machine_id ORDER BY rr.id DESC LIMIT 200) r
$$;


ALTER FUNCTION dex.crc_not_computed(machine_id bigint, reported text, computed text) OWNER TO postgres;

--
-- Name: currency_of(text, text); Type: FUNCTION; Schema: dex; Owner: postgres
--

CREATE FUNCTION dex.currency_of(id402 text, id403 text) RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    AS $_$
DECLARE
  declared text;
BEGIN
  SELECT c.currency INTO declared FROM dex.currency_codes c WHERE c.dex_code = btrim(id402);
  RETURN coalesce(declared, CASE WHEN upper(btrim(id403)) ~ '^[A-Z]{3}$' AND upper(btrim(id403)) <> 'N/A'
                                 THEN upper(btrim(id403)) END);
END $_$;


ALTER FUNCTION dex.currency_of(id402 text, id403 text) OWNER TO postgres;

--
-- Name: degrees_c(numeric, text, integer); Type: FUNCTION; Schema: dex; Owner: postgres
--

CREATE FUNCTION dex.degrees_c(raw_value numeric, unit text, divisor integer) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
  SELECT round(CASE unit WHEN 'F' THEN (raw_value / divisor - 32) * 5 / 9 ELSE raw_value / divisor END, 2)
$$;


ALTER FUNCTION dex.degrees_c(raw_value numeric, unit text, divisor integer) OWNER TO postgres;

--
-- Name: error_resolve(bigint, text); Type: FUNCTION; Schema: dex; Owner: dex_service
--

CREATE FUNCTION dex.error_resolve(error_id bigint, note text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE err dex.machine_errors;
BEGIN
  SELECT * INTO err FROM dex.machine_errors e WHERE e.id = error_resolve.error_id;
  IF NOT FOUND THEN
    PERFORM core.raise_error('ERROR_NOT_FOUND', format('no machine error %s', error_resolve.error_id),
                             jsonb_build_object('error_id', error_resolve.error_id));
  END IF;
  -- Same lock order as the ingest (machine state, then errors): no deadlock between them.
  PERFORM 1 FROM dex.machine_state s WHERE s.machine_id = err.machine_id FOR NO KEY UPDATE;
  SELECT * INTO err FROM dex.machine_errors e WHERE e.id = error_resolve.error_id FOR UPDATE;
  IF err.resolved_at IS NOT NULL THEN
    RETURN core.decline('CONFLICT', format('error %s was already resolved at %s by %s', err.id, err.resolved_at,
                                           err.resolved_by),
                        jsonb_build_object('error_id', err.id, 'resolved_at', err.resolved_at));
  END IF;
  UPDATE dex.machine_errors e
     SET resolved_at = now(), resolved_by = core.principal(), resolution_note = btrim(note)
   WHERE e.id = err.id
  RETURNING * INTO err;
  UPDATE dex.machine_state s
     SET unresolved_errors = (SELECT count(*) FROM dex.machine_errors e
                               WHERE e.machine_id = err.machine_id AND e.resolved_at IS NULL),
         updated_at = now()
   WHERE s.machine_id = err.machine_id;
  RETURN jsonb_build_object(
    'error_id', err.id, 'source', err.source, 'code', err.code, 'resolved_at', err.resolved_at,
    'resolved_by', err.resolved_by, 'resolution_note', err.resolution_note);
END $$;


ALTER FUNCTION dex.error_resolve(error_id bigint, note text) OWNER TO dex_service;

--
-- Name: g85_status(text[], text); Type: FUNCTION; Schema: dex; Owner: postgres
--

CREATE FUNCTION dex.g85_status(body text[], reported text, OUT status text, OUT computed text) RETURNS record
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $_$
DECLARE
  no_final integer;
  exact    integer;
  got      integer;
BEGIN
  no_final := dex.crc16_arc(convert_to(array_to_string(body, E'\r\n'), 'UTF8'));
  exact := dex.crc16_arc('\x0d0a'::bytea, no_final);
  computed := lpad(upper(to_hex(exact)), 4, '0');
  IF reported IS NULL THEN
    status := 'absent';
    RETURN;
  END IF;
  reported := btrim(reported);
  IF reported !~ '^[0-9A-Fa-f]{4}$' THEN
    status := 'mismatch';
    RETURN;
  END IF;
  got := ('x' || lpad(reported, 8, '0'))::bit(32)::integer;
  status := CASE
    WHEN got = exact THEN 'ok'
    WHEN got = (((exact & 255) << 8) | (exact >> 8)) THEN 'ok_swapped'
    WHEN got = no_final THEN 'ok_no_final_crlf'
    ELSE 'mismatch' END;
END $_$;


ALTER FUNCTION dex.g85_status(body text[], reported text, OUT status text, OUT computed text) OWNER TO postgres;

--
-- Name: ingest(text, text, text, timestamp with time zone); Type: FUNCTION; Schema: dex; Owner: dex_service
--

CREATE FUNCTION dex.ingest(case_serial text, raw text, source text, captured_at timestamp with time zone DEFAULT NULL::timestamp with time zone) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
  m          dex.machines;
  sha        bytea := sha256(convert_to(raw, 'UTF8'));
  prior      dex.captures;
  cap        dex.captures;
  blk        record;
  lines      text[];     -- the file's lines (blank: NULL), DXS lines starting at DXS
  line_tags  text[];     -- each line's tag: its text up to the first '*'
  dxs_at     integer[];  -- the DXS lines' numbers: block b starts at dxs_at[b]
  block_end  integer;
  st_at      integer;
  dxe_at     integer;
  block_serial text;     -- the block's ID101
  n_blocks   integer := 0;
  n_complete integer := 0;
  home_serial text;      -- ID101 of the first complete block: the channel machine's blocks
  target     dex.machines;
  other_id   bigint;
  n_match    bigint;
  reads      jsonb := '[]'::jsonb;
  one        jsonb;
  all_warn   text[] := '{}'::text[];
  problems   text[] := '{}'::text[];
  crc_rank   CONSTANT text[] := ARRAY['ok', 'ok_swapped', 'ok_no_final_crlf', 'not_computed', 'absent', 'mismatch'];
  se_rank    CONSTANT text[] := ARRAY['ok', 'absent', 'mismatch'];
  worst_crc  text;
  worst_se   text;
  reason     text;
  err_state  text;
  err_text   text;
  -- A DEX audit holds one block, a few with retries; thousands would only burn the
  -- request's time (one sub-transaction each).
  n_dxs      CONSTANT integer := (octet_length(raw) - octet_length(replace(raw, 'DXS*', ''))) / 4;
  too_many   boolean := n_dxs > 100;
BEGIN
  SELECT * INTO m FROM dex.machines mm WHERE mm.case_serial = ingest.case_serial;
  IF NOT FOUND THEN
    PERFORM core.raise_error('MACHINE_NOT_FOUND', format('no machine with case serial %s', ingest.case_serial),
                             jsonb_build_object('case_serial', ingest.case_serial));
  END IF;
  -- One ingest per machine at a time: deltas need a stable "previous read", and a
  -- concurrent duplicate waits here, then finds the first one's capture.
  PERFORM 1 FROM dex.machine_state s WHERE s.machine_id = m.id FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    PERFORM core.raise_error('SERVER_ERROR', format('machine %s has no state row', m.case_serial));
  END IF;

  SELECT * INTO prior FROM dex.captures c WHERE c.machine_id = m.id AND c.sha256 = sha;
  IF FOUND THEN
    RETURN jsonb_build_object(
      'capture_id', prior.id, 'status', 'duplicate', 'original_status', prior.status,
      'crc_status', prior.crc_status, 'se_status', prior.se_status,
      'warnings', jsonb_build_array(format('the same file was received at %s as capture %s: counted once',
                                           prior.received_at, prior.id)),
      'reads', '[]'::jsonb);
  END IF;

  INSERT INTO dex.captures (machine_id, company_id, source, submitted_by, raw, sha256, bytes, parser_version,
                            status, reject_reason, captured_at)
  VALUES (m.id, m.company_id, source, core.principal(), raw, sha, octet_length(raw), dex.parser_version(),
          'rejected', 'being parsed', ingest.captured_at)
  RETURNING * INTO cap;

  -- Framing: lines end with CRLF, LF or a bare CR; DXS* may sit anywhere in a line (a
  -- wrapper header or preamble before it); every DXS starts a block; text after a
  -- block's DXE is ignored; blank lines are dropped. `lines` keeps the file's line numbers
  -- (a blank line is NULL there), `line_tags` each line's tag ('DXS*' for a line where a
  -- block starts: a bare 'DXS' starts none), `dxs_at` the DXS lines; a block's ST and DXE
  -- are then found by position, no sort or scan per block.
  IF NOT too_many THEN
    SELECT array_agg(x.line ORDER BY x.n),
           array_agg(CASE WHEN x.pos > 0 THEN 'DXS*' ELSE split_part(x.line, '*', 1) END ORDER BY x.n)
      INTO lines, line_tags
      FROM (SELECT u.n::integer AS n, p.pos,
                   CASE WHEN btrim(u.line) = '' THEN NULL WHEN p.pos > 0 THEN substr(u.line, p.pos) ELSE u.line END AS line
              FROM unnest(string_to_array(replace(replace(raw, E'\r\n', E'\n'), E'\r', E'\n'), E'\n'))
                     WITH ORDINALITY AS u(line, n)
             CROSS JOIN LATERAL (SELECT strpos(u.line, 'DXS*') AS pos) p) x;
    dxs_at := array_positions(line_tags, 'DXS*');
  END IF;
  FOR b IN 1 .. coalesce(array_length(dxs_at, 1), 0) LOOP
    -- Block b: its DXS line up to the next DXS line (or the end); seg = ST .. the line before DXE.
    block_end := coalesce(dxs_at[b + 1], array_length(lines, 1) + 1);
    st_at := array_position(line_tags, 'ST', dxs_at[b]);
    dxe_at := array_position(line_tags, 'DXE', dxs_at[b]);
    SELECT b AS block, dxs_at[b] AS dxs_n, lines[dxs_at[b]] AS dxs_line,
           CASE WHEN st_at < block_end THEN st_at END AS st_n, CASE WHEN dxe_at < block_end THEN dxe_at END AS dxe_n,
           array_remove(lines[st_at:dxe_at - 1], NULL) AS seg, array_remove(line_tags[st_at:dxe_at - 1], NULL) AS tags
      INTO blk;
    n_blocks := n_blocks + 1;
    IF blk.dxe_n IS NULL OR blk.st_n IS NULL OR blk.st_n > blk.dxe_n THEN
      problems := problems || format('block %s (line %s): %s; stored raw, booked nothing', blk.block, blk.dxs_n,
                                     CASE WHEN blk.dxe_n IS NULL THEN 'no DXE - an interrupted transfer'
                                          ELSE 'no ST segment before DXE' END);
      CONTINUE;
    END IF;
    -- One file may hold several machines (a handheld's bulk upload). The channel's machine
    -- takes the blocks with the first complete block's ID101; a block naming another serial
    -- goes to the machine of the caller's company registered under it (its case serial, or
    -- the ID101 its latest read reported - one machine only, placeholders shared by many
    -- machines never route), else it is rejected: booked to the wrong machine its counters
    -- would turn into false sales and resets.
    n_complete := n_complete + 1;
    -- ID101: of the block's first ID1 after its ST.
    block_serial := nullif(btrim(split_part(blk.seg[array_position(blk.tags, 'ID1', 2)], '*', 2)), '');
    IF n_complete = 1 THEN
      home_serial := block_serial;
    END IF;
    target := m;
    IF block_serial IS DISTINCT FROM home_serial AND block_serial IS NOT NULL AND home_serial IS NOT NULL THEN
      SELECT count(*), min(mm.id) INTO n_match, other_id
        FROM dex.machines mm
       WHERE mm.company_id = m.company_id AND mm.id <> m.id
         AND (mm.case_serial = block_serial
              OR mm.id IN (SELECT s.machine_id FROM dex.machine_state s JOIN dex.reads r ON r.id = s.last_read_id
                            WHERE s.company_id = m.company_id AND r.id1_serial = block_serial));
      IF n_match <> 1 THEN
        problems := problems || format('block %s (line %s): ID101 %s is not the file''s machine (%s) and %s; booked nothing',
                                       blk.block, blk.dxs_n, block_serial, home_serial,
                                       CASE WHEN n_match = 0 THEN format('no machine of company %s is registered under it',
                                                                        m.company_id)
                                            ELSE format('%s machines of company %s report it', n_match, m.company_id) END);
        CONTINUE;
      END IF;
      SELECT * INTO target FROM dex.machines mm WHERE mm.id = other_id;
      PERFORM 1 FROM dex.machine_state s WHERE s.machine_id = target.id FOR NO KEY UPDATE;
      problems := problems || format('block %s (line %s): ID101 changes from %s to %s: booked to machine %s',
                                     blk.block, blk.dxs_n, home_serial, block_serial, target.case_serial);
    END IF;
    BEGIN
      one := dex.book_read(cap, target, blk.block, blk.dxs_line, blk.seg, blk.tags);
      IF target.id <> m.id THEN
        one := one || jsonb_build_object('case_serial', target.case_serial);
      END IF;
    EXCEPTION WHEN OTHERS THEN
      -- A parser defect must not lose the file or fail the request: the block's partial
      -- writes are rolled back (sub-transaction) and the capture records why.
      GET STACKED DIAGNOSTICS err_state = RETURNED_SQLSTATE, err_text = MESSAGE_TEXT;
      problems := problems || format('block %s (line %s): parser error %s (%s); booked nothing',
                                     blk.block, blk.dxs_n, err_state, err_text);
      CONTINUE;
    END;
    reads := reads || one;
    worst_crc := CASE WHEN array_position(crc_rank, one ->> 'crc_status') > coalesce(array_position(crc_rank, worst_crc), 0)
                      THEN one ->> 'crc_status' ELSE worst_crc END;
    worst_se := CASE WHEN array_position(se_rank, one ->> 'se_status') > coalesce(array_position(se_rank, worst_se), 0)
                     THEN one ->> 'se_status' ELSE worst_se END;
  END LOOP;

  -- Capture warnings: the blocks' problems, then each read's warnings (prefixed with the
  -- block number when the file held several blocks).
  all_warn := problems || ARRAY(
    SELECT CASE WHEN n_blocks > 1 THEN format('block %s: %s', r ->> 'block', w) ELSE w END
      FROM jsonb_array_elements(reads) r, jsonb_array_elements_text(r -> 'warnings') w);
  reason := CASE
    WHEN jsonb_array_length(reads) > 0 THEN NULL
    WHEN too_many THEN format('%s DXS blocks: more than 100 is not an audit file', n_dxs)
    WHEN raw !~ '\S' THEN 'empty file'
    WHEN n_blocks = 0 THEN 'no DXS header: not a DEX audit file'
    WHEN n_complete > 0 THEN 'no block could be booked: ' || array_to_string(problems, '; ')
    ELSE 'no complete DXS..DXE block: ' || array_to_string(problems, '; ') END;

  UPDATE dex.captures c
     SET status = CASE WHEN reason IS NULL THEN 'accepted' ELSE 'rejected' END, reject_reason = reason,
         crc_status = worst_crc, se_status = worst_se, warnings = all_warn
   WHERE c.id = cap.id;

  RETURN jsonb_build_object(
    'capture_id', cap.id, 'status', CASE WHEN reason IS NULL THEN 'accepted' ELSE 'rejected' END,
    'reject_reason', reason, 'crc_status', worst_crc, 'se_status', worst_se,
    'warnings', to_jsonb(all_warn), 'reads', reads);
END $$;


ALTER FUNCTION dex.ingest(case_serial text, raw text, source text, captured_at timestamp with time zone) OWNER TO dex_service;

--
-- Name: location_create(text, text, text); Type: FUNCTION; Schema: dex; Owner: dex_service
--

CREATE FUNCTION dex.location_create(company_id text, name text, address text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE created dex.locations;
BEGIN
  PERFORM 1 FROM dex.companies c WHERE c.company_id = location_create.company_id;
  IF NOT FOUND THEN
    PERFORM core.raise_error('COMPANY_NOT_FOUND', format('company %s does not exist', location_create.company_id),
                             jsonb_build_object('company_id', location_create.company_id));
  END IF;
  INSERT INTO dex.locations (company_id, name, address, created_by)
  VALUES (location_create.company_id, btrim(location_create.name), nullif(btrim(location_create.address), ''),
          core.principal())
  ON CONFLICT DO NOTHING
  RETURNING * INTO created;
  IF NOT FOUND THEN
    PERFORM core.raise_error('CONFLICT', format('company %s already has a location named %s', location_create.company_id,
                                                btrim(location_create.name)),
                             jsonb_build_object('company_id', location_create.company_id, 'name', btrim(location_create.name)));
  END IF;
  RETURN jsonb_build_object('location_id', created.id, 'company_id', created.company_id, 'name', created.name,
                            'address', created.address);
END $$;


ALTER FUNCTION dex.location_create(company_id text, name text, address text) OWNER TO dex_service;

--
-- Name: locations_list(); Type: FUNCTION; Schema: dex; Owner: dex_service
--

CREATE FUNCTION dex.locations_list() RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  SELECT coalesce(jsonb_agg(jsonb_build_object(
           'location_id', l.id, 'company_id', l.company_id, 'name', l.name, 'address', l.address,
           'machines', (SELECT coalesce(jsonb_agg(m.case_serial ORDER BY m.case_serial), '[]')
                          FROM dex.machines m WHERE m.location_id = l.id))
         ORDER BY l.company_id, l.name), '[]')
    FROM dex.locations l
$$;


ALTER FUNCTION dex.locations_list() OWNER TO dex_service;

--
-- Name: ma5_decoder_for(text, text, text[]); Type: FUNCTION; Schema: dex; Owner: postgres
--

CREATE FUNCTION dex.ma5_decoder_for(model text, firmware text, e text[], OUT reading text, OUT raw_value numeric, OUT unit text, OUT divisor integer, OUT candidates integer[], OUT decoder_id integer) RETURNS SETOF record
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
  SELECT d.reading,
         CASE d.layout WHEN 'fahrenheit_celsius' THEN dex.num(e[4]) ELSE dex.num(e[3]) END::numeric,
         CASE WHEN d.layout = 'value_unit' AND upper(btrim(e[4])) = 'F' THEN 'F' ELSE 'C' END,
         d.divisor, d.candidate_divisors, d.id
    FROM dex.ma5_decoders d
   WHERE d.ma5_key = upper(btrim(e[2]))
     AND model ILIKE d.model_pattern
     AND coalesce(firmware, '') ILIKE d.firmware_pattern
     AND CASE d.layout
           WHEN 'fahrenheit_celsius' THEN dex.num(e[3]) IS NOT NULL AND dex.num(e[4]) IS NOT NULL
                                          AND coalesce(btrim(e[5]), '') = ''
           ELSE dex.num(e[3]) IS NOT NULL AND upper(btrim(e[4])) IN ('C', 'F')
         END
   ORDER BY d.model_pattern = '%', length(d.model_pattern) DESC,
            d.firmware_pattern = '%', length(d.firmware_pattern) DESC, d.id
   LIMIT 1
$$;


ALTER FUNCTION dex.ma5_decoder_for(model text, firmware text, e text[], OUT reading text, OUT raw_value numeric, OUT unit text, OUT divisor integer, OUT candidates integer[], OUT decoder_id integer) OWNER TO postgres;

--
-- Name: ma5_error_code(text); Type: FUNCTION; Schema: dex; Owner: postgres
--

CREATE FUNCTION dex.ma5_error_code(element text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $_$
  SELECT coalesce(btrim(element) ~ '^[A-Za-z0-9_.-]*[A-Za-z][A-Za-z0-9_.-]*$', false)
$_$;


ALTER FUNCTION dex.ma5_error_code(element text) OWNER TO postgres;

--
-- Name: ma5_temperature(text, text[]); Type: FUNCTION; Schema: dex; Owner: postgres
--

CREATE FUNCTION dex.ma5_temperature(model text, e text[], OUT reading text, OUT celsius numeric, OUT decoder_id integer) RETURNS SETOF record
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
  SELECT d.reading, dex.degrees_c(d.raw_value, d.unit, d.divisor), d.decoder_id
    FROM dex.ma5_decoder_for(model, NULL, e) d
$$;


ALTER FUNCTION dex.ma5_temperature(model text, e text[], OUT reading text, OUT celsius numeric, OUT decoder_id integer) OWNER TO postgres;

--
-- Name: ma5_temperatures(text, text, text[]); Type: FUNCTION; Schema: dex; Owner: postgres
--

CREATE FUNCTION dex.ma5_temperatures(model text, firmware text, seg text[]) RETURNS TABLE(line_no integer, reading text, celsius numeric, raw_value numeric, decoder_id integer, scale text, line text, warning text)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
  WITH d AS MATERIALIZED (
    SELECT s.n, s.line, x.*
      -- MA5 lines with a second element, each split once (OFFSET 0: not re-split per e[k]).
      FROM (SELECT u.n::integer AS n, u.line, string_to_array(u.line, '*') AS e
              FROM unnest(seg) WITH ORDINALITY AS u(line, n)
             WHERE u.line LIKE 'MA5*%' OFFSET 0) s
      LEFT JOIN LATERAL dex.ma5_decoder_for(model, firmware, s.e) x ON true
     WHERE s.e[1] = 'MA5' AND upper(s.e[2]) LIKE '%TEMP%'
  ), k AS (
    -- Candidate divisors for the lines in doubt; 0 = no line in doubt.
    SELECT DISTINCT unnest(d.candidates) AS k FROM d WHERE d.decoder_id IS NOT NULL AND d.divisor IS NULL
    UNION ALL
    SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM d WHERE d.decoder_id IS NOT NULL AND d.divisor IS NULL)
  ), v AS (
    SELECT k.k, d.n, d.reading, dex.degrees_c(d.raw_value, d.unit, coalesce(d.divisor, k.k)) AS c
      FROM k CROSS JOIN d WHERE d.decoder_id IS NOT NULL
  ), fit AS (
    SELECT f.*, f.in_range AND coalesce(abs(f.cur - f.tgt) <= 40, true) AS ok
      FROM (SELECT v.k, bool_and(v.c BETWEEN -40 AND 110) AS in_range,
                   (array_agg(v.c ORDER BY v.n) FILTER (WHERE v.reading = 'current'))[1] AS cur,
                   (array_agg(v.c ORDER BY v.n) FILTER (WHERE v.reading = 'target'))[1] AS tgt,
                   (array_agg(v.n ORDER BY v.n) FILTER (WHERE v.reading = 'current'))[1] AS cur_n,
                   (array_agg(v.n ORDER BY v.n) FILTER (WHERE v.reading = 'target'))[1] AS tgt_n
              FROM v GROUP BY v.k) f
  ), choice AS (
    SELECT CASE WHEN count(*) FILTER (WHERE fit.ok) = 1 THEN max(fit.k) FILTER (WHERE fit.ok)
                WHEN max(fit.k) = 0 THEN 0 END AS k
      FROM fit
  ), x AS (
    SELECT d.*, c.k, f.ok AS pair_ok, f.cur_n, f.tgt_n,
           CASE WHEN d.divisor IS NOT NULL THEN dex.degrees_c(d.raw_value, d.unit, d.divisor)
                WHEN c.k > 0 THEN dex.degrees_c(d.raw_value, d.unit, c.k) END AS c,
           (SELECT string_agg(format('%s with divisor %s', v.c, v.k), ', ' ORDER BY v.k)
              FROM v WHERE v.n = d.n AND v.k > 0) AS alternatives
      FROM d CROSS JOIN choice c LEFT JOIN fit f ON f.k = c.k
  ), y AS (
    SELECT x.*,
           CASE WHEN x.decoder_id IS NULL THEN NULL
                WHEN x.c IS NULL THEN 'in_doubt'
                WHEN x.c NOT BETWEEN -40 AND 110 THEN 'in_doubt'
                WHEN x.pair_ok IS FALSE AND x.n IN (x.cur_n, x.tgt_n) THEN 'in_doubt'
                WHEN x.divisor IS NULL THEN 'inferred'
                ELSE 'decoder' END AS scale
      FROM x
  )
  SELECT y.n, y.reading, CASE WHEN y.scale <> 'in_doubt' THEN y.c END, y.raw_value, y.decoder_id, y.scale, y.line,
         CASE
           WHEN y.decoder_id IS NULL THEN format('MA5 temperature line %L not decoded for model %L: kept raw', y.line, model)
           WHEN y.scale = 'inferred' THEN NULL
           WHEN y.divisor IS NULL THEN
             format('MA5 temperature line %L: scale in doubt for model %L firmware %L (%s): raw value %s kept, no '
                    'temperature recorded', y.line, model, firmware, y.alternatives, y.raw_value)
           WHEN y.scale = 'in_doubt' THEN
             format('MA5 temperature line %L: %s °C is implausible (outside -40..110 °C or more than 40 °C from the '
                    'desired temperature): scale in doubt for model %L firmware %L, raw value %s kept, no temperature '
                    'recorded', y.line, y.c, model, firmware, y.raw_value)
         END
    FROM y ORDER BY y.n
$$;


ALTER FUNCTION dex.ma5_temperatures(model text, firmware text, seg text[]) OWNER TO postgres;

--
-- Name: machine_assign_location(text, bigint); Type: FUNCTION; Schema: dex; Owner: dex_service
--

CREATE FUNCTION dex.machine_assign_location(case_serial text, location_id bigint) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
  m   dex.machines;
  loc dex.locations;
BEGIN
  SELECT * INTO m FROM dex.machines mm WHERE mm.case_serial = machine_assign_location.case_serial;
  IF NOT FOUND THEN
    PERFORM core.raise_error('MACHINE_NOT_FOUND', format('no machine with case serial %s', machine_assign_location.case_serial),
                             jsonb_build_object('case_serial', machine_assign_location.case_serial));
  END IF;
  IF location_id IS NOT NULL THEN
    -- Another company's location is as unknown as a missing one (an admin sees both).
    SELECT * INTO loc FROM dex.locations l WHERE l.id = machine_assign_location.location_id AND l.company_id = m.company_id;
    IF NOT FOUND THEN
      PERFORM core.raise_error('LOCATION_NOT_FOUND', format('company %s has no location %s', m.company_id,
                                                            machine_assign_location.location_id),
                               jsonb_build_object('location_id', machine_assign_location.location_id));
    END IF;
  END IF;
  UPDATE dex.machines mm SET location_id = machine_assign_location.location_id WHERE mm.id = m.id;
  RETURN jsonb_build_object('case_serial', m.case_serial, 'location_id', loc.id, 'location', loc.name,
                            'address', loc.address);
END $$;


ALTER FUNCTION dex.machine_assign_location(case_serial text, location_id bigint) OWNER TO dex_service;

--
-- Name: machine_details(text); Type: FUNCTION; Schema: dex; Owner: dex_service
--

CREATE FUNCTION dex.machine_details(case_serial text) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
  m dex.machines;
  s dex.machine_state;
BEGIN
  SELECT * INTO m FROM dex.machines mm WHERE mm.case_serial = machine_details.case_serial;
  IF NOT FOUND THEN
    PERFORM core.raise_error('MACHINE_NOT_FOUND', format('no machine with case serial %s', machine_details.case_serial),
                             jsonb_build_object('case_serial', machine_details.case_serial));
  END IF;
  SELECT * INTO s FROM dex.machine_state ms WHERE ms.machine_id = m.id;
  RETURN jsonb_build_object(
    'case_serial', m.case_serial, 'company_id', m.company_id, 'model', m.model,
    'location_id', m.location_id,
    'location', (SELECT l.name FROM dex.locations l WHERE l.id = m.location_id),
    'address', (SELECT l.address FROM dex.locations l WHERE l.id = m.location_id),
    'currency', m.currency, 'decimals', m.decimals,
    'last_read_at', s.last_read_at, 'last_read_time_source', s.last_read_time_source,
    'last_received_at', s.last_received_at,
    'last_read_id', s.last_read_id, 'reads', s.reads, 'firmware', s.firmware,
    -- The latest read's own clock as the machine reports it (a wall time without a zone):
    -- ID5 and the EA3 this-read time, so a clock that drifted or was never set is visible.
    'machine_clock', (SELECT r.machine_clock FROM dex.reads r WHERE r.id = s.last_read_id),
    'ea3_read_time', (SELECT r.ea3_this_read FROM dex.reads r WHERE r.id = s.last_read_id),
    -- Selections of the latest read: price, PA2 counters since init and since reset, PA7.
    'slots', coalesce((
      SELECT jsonb_agg(jsonb_build_object(
               'selection', c.selection, 'price', c.price, 'product_code', coalesce(sp.product_code, c.product_code),
               'product_name', coalesce(sp.product_name, c.product_code), 'category', sp.category,
               'name_source', coalesce(sp.name_source, CASE WHEN c.product_code IS NOT NULL THEN 'file' END),
               'capacity', coalesce(sp.capacity, c.capacity), 'par_level', sp.par_level,
               'estimated_stock', sp.estimate, 'last_filled_at', sp.filled_at,
               'vends', c.vends_init, 'revenue', c.value_init,
               'vends_since_reset', c.vends_reset, 'revenue_since_reset', c.value_reset,
               'by_device', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                         'device', d.device, 'price_list', d.price_list, 'price', d.price,
                                         'vends', d.vends_init, 'revenue', d.value_init,
                                         'vends_since_reset', d.vends_reset, 'revenue_since_reset', d.value_reset)
                                       ORDER BY d.position), '[]')
                               FROM dex.read_selection_devices d
                              WHERE d.read_id = c.read_id AND d.selection = c.selection))
             ORDER BY c.selection)
        FROM dex.read_selections c
        LEFT JOIN dex.slot_stock(m.id) sp ON sp.selection = c.selection
       WHERE c.read_id = s.last_read_id), '[]'),
    'cash', jsonb_build_object(
      'tubes_value', s.tubes_value,
      'ca15_reported', (SELECT r.tubes_value FROM dex.reads r WHERE r.id = s.last_read_id),
      'tubes', coalesce((SELECT jsonb_agg(jsonb_build_object(
                                  'coin_value', t.coin_value, 'coins', t.coins, 'value', t.coin_value * t.coins,
                                  'coin_types', t.coin_types, 'full', t.tube_full) ORDER BY t.coin_value)
                           FROM dex.read_tubes t WHERE t.read_id = s.last_read_id), '[]'),
      'cash_box', dex.cash_box_json(m.id),
      -- This read's cash records as reported: since init and since reset.
      'last_read', (SELECT to_jsonb(rc) - 'read_id' - 'company_id' - 'machine_id'
                      FROM dex.read_cash rc WHERE rc.read_id = s.last_read_id),
      'cashless', (SELECT jsonb_object_agg(t.record, jsonb_build_object('value_init', t.value_init, 'count_init', t.count_init))
                     FROM dex.read_totals t WHERE t.read_id = s.last_read_id AND t.record IN ('DA2', 'DB2'))),
    'temperatures', coalesce((SELECT jsonb_agg(jsonb_build_object('reading', t.reading, 'celsius', t.celsius,
                                                                  'raw', t.raw) ORDER BY t.line_no)
                                FROM dex.read_temperatures t WHERE t.read_id = s.last_read_id), '[]'),
    'errors', coalesce((SELECT jsonb_agg(jsonb_build_object(
                                 'error_id', e.id, 'source', e.source, 'code', e.code, 'detail', e.detail,
                                 'first_seen_at', e.first_seen_at, 'last_seen_at', e.last_seen_at, 'reads', e.reads,
                                 'resolved_at', e.resolved_at, 'resolved_by', e.resolved_by,
                                 'resolution_note', e.resolution_note, 'reopened_at', e.reopened_at) ORDER BY e.resolved_at IS NULL DESC, e.id DESC)
                          FROM (SELECT * FROM dex.machine_errors e WHERE e.machine_id = m.id
                                 ORDER BY e.resolved_at IS NULL DESC, e.id DESC LIMIT 100) e), '[]'),
    'totals', coalesce((SELECT jsonb_object_agg(t.record, jsonb_build_object(
                                 'value_init', t.value_init, 'count_init', t.count_init,
                                 'value_reset', t.value_reset, 'count_reset', t.count_reset))
                          FROM dex.read_totals t WHERE t.read_id = s.last_read_id), '{}'),
    'recent_captures', coalesce((SELECT jsonb_agg(jsonb_build_object(
                                          'capture_id', c.id, 'received_at', c.received_at,
                                          'captured_at', c.captured_at, 'source', c.source,
                                          'status', c.status, 'reject_reason', c.reject_reason,
                                          'crc_status', c.crc_status, 'se_status', c.se_status,
                                          'warnings', to_jsonb(c.warnings)) ORDER BY c.id DESC)
                                   FROM (SELECT * FROM dex.captures c WHERE c.machine_id = m.id
                                          ORDER BY c.id DESC LIMIT 10) c), '[]'));
END $$;


ALTER FUNCTION dex.machine_details(case_serial text) OWNER TO dex_service;

--
-- Name: machine_planogram(bigint); Type: FUNCTION; Schema: dex; Owner: postgres
--

CREATE FUNCTION dex.machine_planogram(machine_id bigint) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
  SELECT coalesce(jsonb_agg(jsonb_build_object(
           'selection', s.selection, 'product_code', s.product_code, 'product_name', s.product_name,
           'category', s.category, 'capacity', s.capacity, 'par_level', s.par_level, 'name_source', s.name_source)
         ORDER BY s.selection), '[]')
    FROM dex.slot_products(machine_id) s
$$;


ALTER FUNCTION dex.machine_planogram(machine_id bigint) OWNER TO postgres;

--
-- Name: machine_register(text, text, text, text, text, integer); Type: FUNCTION; Schema: dex; Owner: dex_service
--

CREATE FUNCTION dex.machine_register(case_serial text, company_id text, location text, model text, currency text, decimals integer) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
  loc_id  bigint;
  created dex.machines;
BEGIN
  -- Under the policies an operator sees its own company only: anything else is unknown.
  PERFORM 1 FROM dex.companies c WHERE c.company_id = machine_register.company_id;
  IF NOT FOUND THEN
    PERFORM core.raise_error('COMPANY_NOT_FOUND', format('company %s does not exist', machine_register.company_id),
                             jsonb_build_object('company_id', machine_register.company_id));
  END IF;
  IF location IS NOT NULL THEN
    INSERT INTO dex.locations AS l (company_id, name, created_by)
    VALUES (machine_register.company_id, btrim(location), core.principal())
    ON CONFLICT DO NOTHING;
    SELECT l.id INTO loc_id FROM dex.locations l
     WHERE l.company_id = machine_register.company_id AND l.name = btrim(location);
  END IF;
  INSERT INTO dex.machines AS mm (case_serial, company_id, location_id, model, currency, decimals, registered_by)
  VALUES (machine_register.case_serial, machine_register.company_id, loc_id, btrim(machine_register.model),
          machine_register.currency, machine_register.decimals, core.principal())
  ON CONFLICT DO NOTHING
  RETURNING * INTO created;
  IF NOT FOUND THEN
    PERFORM core.raise_error('CONFLICT', format('case serial %s is already registered', machine_register.case_serial),
                             jsonb_build_object('case_serial', machine_register.case_serial));
  END IF;
  INSERT INTO dex.machine_state (machine_id, company_id) VALUES (created.id, created.company_id);
  RETURN jsonb_build_object(
    'machine_id', created.id, 'case_serial', created.case_serial, 'company_id', created.company_id,
    'location', btrim(location), 'model', created.model, 'currency', created.currency,
    'decimals', created.decimals);
END $$;


ALTER FUNCTION dex.machine_register(case_serial text, company_id text, location text, model text, currency text, decimals integer) OWNER TO dex_service;

--
-- Name: machine_sales(text, date, date); Type: FUNCTION; Schema: dex; Owner: dex_service
--

CREATE FUNCTION dex.machine_sales(case_serial text, from_day date, to_day date) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
  m  dex.machines;
  lo timestamptz := from_day::timestamp AT TIME ZONE 'UTC';
  hi timestamptz := (to_day + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
  SELECT * INTO m FROM dex.machines mm WHERE mm.case_serial = machine_sales.case_serial;
  IF NOT FOUND THEN
    PERFORM core.raise_error('MACHINE_NOT_FOUND', format('no machine with case serial %s', machine_sales.case_serial),
                             jsonb_build_object('case_serial', machine_sales.case_serial));
  END IF;
  RETURN jsonb_build_object(
    'case_serial', m.case_serial, 'currency', m.currency, 'decimals', m.decimals, 'from', from_day, 'to', to_day,
    'days', (
      SELECT jsonb_agg(jsonb_build_object(
               'date', d.day,
               'vends', coalesce(sel.vends, 0), 'revenue', coalesce(sel.revenue, 0),
               'paid_vends_va1', coalesce(rd.vends, 0), 'paid_revenue_va1', coalesce(rd.revenue, 0),
               'reads', coalesce(rd.reads, 0),
               'wraps', coalesce(sel.wraps, 0), 'resets', coalesce(sel.resets, 0),
               'selections', coalesce(sel.selections, '[]'))
             ORDER BY d.day)
        FROM (SELECT g::date AS day FROM generate_series(from_day::timestamp, to_day::timestamp, interval '1 day') g) d
        LEFT JOIN (
          SELECT x.day, sum(x.vends)::bigint AS vends, sum(x.revenue)::bigint AS revenue,
                 sum(x.wraps)::bigint AS wraps, sum(x.resets)::bigint AS resets,
                 jsonb_agg(jsonb_build_object('selection', x.selection, 'product_code', sp.product_code,
                                              'product_name', sp.product_name, 'vends', x.vends, 'revenue', x.revenue)
                           ORDER BY x.selection) AS selections
            FROM (SELECT (sd.sold_at AT TIME ZONE 'UTC')::date AS day, sd.selection,
                         sum(sd.vends)::bigint AS vends, sum(sd.revenue)::bigint AS revenue,
                         count(*) FILTER (WHERE sd.kind = 'wrap') AS wraps,
                         count(*) FILTER (WHERE sd.kind = 'reset') AS resets
                    FROM dex.sales_deltas sd
                   WHERE sd.machine_id = m.id AND sd.sold_at >= lo AND sd.sold_at < hi
                   GROUP BY 1, 2) x
            LEFT JOIN dex.slot_products(m.id) sp ON sp.selection = x.selection
           GROUP BY x.day) sel ON sel.day = d.day
        LEFT JOIN (
          SELECT (r.read_at AT TIME ZONE 'UTC')::date AS day, count(*) AS reads,
                 sum(r.vends_delta)::bigint AS vends, sum(r.revenue_delta)::bigint AS revenue
            FROM dex.reads r
           WHERE r.machine_id = m.id AND r.read_at >= lo AND r.read_at < hi
           GROUP BY 1) rd ON rd.day = d.day));
END $$;


ALTER FUNCTION dex.machine_sales(case_serial text, from_day date, to_day date) OWNER TO dex_service;

--
-- Name: machine_time(text, text); Type: FUNCTION; Schema: dex; Owner: postgres
--

CREATE FUNCTION dex.machine_time(d text, t text DEFAULT NULL::text) RETURNS timestamp without time zone
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
DECLARE
  y int; mo int; dd int; hh int := 0; mi int := 0; ss int := 0;
BEGIN
  d := btrim(coalesce(d, ''));
  t := btrim(coalesce(t, ''));
  IF length(d) = 8 AND translate(d, '0123456789', '') = '' THEN
    y := left(d, 4)::int; mo := substr(d, 5, 2)::int; dd := substr(d, 7, 2)::int;
  ELSIF length(d) = 6 AND translate(d, '0123456789', '') = '' THEN
    y := 2000 + left(d, 2)::int; mo := substr(d, 3, 2)::int; dd := substr(d, 5, 2)::int;
  ELSE
    RETURN NULL;
  END IF;
  IF length(t) IN (4, 6) AND translate(t, '0123456789', '') = '' THEN
    hh := left(t, 2)::int; mi := substr(t, 3, 2)::int; ss := coalesce(nullif(substr(t, 5, 2), '')::int, 0);
  ELSIF t <> '' THEN
    RETURN NULL;
  END IF;
  IF y < 1970 OR mo NOT BETWEEN 1 AND 12 OR dd < 1 OR hh > 23 OR mi > 59 OR ss > 59
     OR dd > extract(day FROM make_date(y, mo, 1) + interval '1 month - 1 day') THEN
    RETURN NULL;
  END IF;
  RETURN make_timestamp(y, mo, dd, hh, mi, ss);
END $$;


ALTER FUNCTION dex.machine_time(d text, t text) OWNER TO postgres;

--
-- Name: machines_summary(interval); Type: FUNCTION; Schema: dex; Owner: dex_service
--

CREATE FUNCTION dex.machines_summary(recent_within interval) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  SELECT jsonb_build_object('recent_within', recent_within::text,
    -- The fleet by location (machines without one last), for the route view.
    'locations', coalesce((
      SELECT jsonb_agg(jsonb_build_object(
               'location_id', g.location_id, 'company_id', g.company_id, 'name', l.name, 'address', l.address,
               'machines', g.machines, 'unresolved_errors', g.unresolved_errors)
             ORDER BY g.company_id, l.name NULLS LAST)
        FROM (SELECT m.company_id, m.location_id, jsonb_agg(m.case_serial ORDER BY m.case_serial) AS machines,
                     sum(s.unresolved_errors)::bigint AS unresolved_errors
                FROM dex.machines m JOIN dex.machine_state s ON s.machine_id = m.id
               GROUP BY 1, 2) g
        LEFT JOIN dex.locations l ON l.id = g.location_id), '[]'),
    'machines', coalesce((
    SELECT jsonb_agg(jsonb_build_object(
             'case_serial', m.case_serial, 'company_id', m.company_id, 'location_id', m.location_id,
             'location', l.name, 'address', l.address, 'model', m.model,
             'currency', m.currency, 'decimals', m.decimals,
             'last_read_at', s.last_read_at, 'last_read_time_source', s.last_read_time_source,
             'last_received_at', s.last_received_at, 'reads', s.reads, 'firmware', s.firmware,
             'temperature', jsonb_build_object('current_c', s.temperature_c, 'target_c', s.target_temperature_c),
             'cash', jsonb_build_object('tubes_value', s.tubes_value, 'denominations', s.tubes,
                                        'cash_box', dex.cash_box_json(m.id)),
             'unresolved_errors', s.unresolved_errors,
             'errors', coalesce((SELECT jsonb_agg(jsonb_build_object('error_id', e.id, 'source', e.source, 'code', e.code)
                                                  ORDER BY e.id)
                                   FROM dex.machine_errors e WHERE e.machine_id = m.id AND e.resolved_at IS NULL), '[]'),
             'product_count', s.product_count,
             'slots', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                 'selection', sp.selection, 'product_code', sp.product_code,
                                 'product_name', sp.product_name) ORDER BY sp.selection), '[]')
                         FROM dex.slot_products(m.id) sp),
             'has_recent_data', coalesce(s.last_read_at > now() - recent_within, false))
           ORDER BY m.case_serial)
      FROM dex.machines m
      JOIN dex.machine_state s ON s.machine_id = m.id
      LEFT JOIN dex.locations l ON l.id = m.location_id), '[]'))
$$;


ALTER FUNCTION dex.machines_summary(recent_within interval) OWNER TO dex_service;

--
-- Name: num(text); Type: FUNCTION; Schema: dex; Owner: postgres
--

CREATE FUNCTION dex.num(element text) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
  SELECT CASE WHEN translate(btrim(element, ' '), '0123456789', '9999999999') = ANY ('{9,99,999,9999,99999,999999,9999999,99999999,999999999,
                      9999999999,99999999999,999999999999,9999999999999,99999999999999,999999999999999,9999999999999999,99999999999999999,999999999999999999,
                      -9,-99,-999,-9999,-99999,-999999,-9999999,-99999999,-999999999,
                      -9999999999,-99999999999,-999999999999,-9999999999999,-99999999999999,-999999999999999,-9999999999999999,-99999999999999999,-999999999999999999}'::text[])
              THEN nullif(nullif(element::bigint, 4294967295), 65535) END
$$;


ALTER FUNCTION dex.num(element text) OWNER TO postgres;

--
-- Name: parser_version(); Type: FUNCTION; Schema: dex; Owner: postgres
--

CREATE FUNCTION dex.parser_version() RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$
  SELECT 'dex-sql/2'
$$;


ALTER FUNCTION dex.parser_version() OWNER TO postgres;

--
-- Name: pick_list(bigint); Type: FUNCTION; Schema: dex; Owner: dex_service
--

CREATE FUNCTION dex.pick_list(location_id bigint) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
  IF location_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM dex.locations l WHERE l.id = pick_list.location_id) THEN
    PERFORM core.raise_error('LOCATION_NOT_FOUND', format('no location %s', pick_list.location_id),
                             jsonb_build_object('location_id', pick_list.location_id));
  END IF;
  RETURN (
    WITH s AS MATERIALIZED (
      SELECT m.company_id, m.location_id, m.case_serial, m.model, st.*
        FROM dex.machines m
       CROSS JOIN LATERAL dex.slot_stock(m.id) st
       WHERE (pick_list.location_id IS NULL OR m.location_id = pick_list.location_id)
         AND st.par_level IS NOT NULL AND st.capacity IS NOT NULL
    ), due AS (
      SELECT s.*, s.capacity - s.estimate AS bring FROM s WHERE s.estimate < s.par_level
    ), per_machine AS (
      SELECT d.company_id, d.location_id, d.case_serial, d.model, sum(d.bring)::bigint AS bring,
             jsonb_agg(jsonb_build_object('selection', d.selection, 'product_code', d.product_code,
                                          'product_name', d.product_name, 'capacity', d.capacity,
                                          'par_level', d.par_level, 'estimate', d.estimate, 'bring', d.bring,
                                          'last_filled_at', d.filled_at) ORDER BY d.selection) AS slots
        FROM due d GROUP BY 1, 2, 3, 4
    ), per_location AS (
      SELECT p.company_id, p.location_id, sum(p.bring)::bigint AS bring,
             jsonb_agg(jsonb_build_object('case_serial', p.case_serial, 'model', p.model, 'bring', p.bring,
                                          'slots', p.slots) ORDER BY p.case_serial) AS machines
        FROM per_machine p GROUP BY 1, 2
    )
    SELECT jsonb_build_object(
      'location_id', pick_list.location_id,
      'locations', coalesce((SELECT jsonb_agg(jsonb_build_object(
                                      'company_id', pl.company_id, 'location_id', pl.location_id, 'name', l.name,
                                      'address', l.address,
                                      'bring', pl.bring, 'machines', pl.machines)
                                    ORDER BY pl.company_id, l.name NULLS LAST)
                               FROM per_location pl LEFT JOIN dex.locations l ON l.id = pl.location_id), '[]'),
      'products', coalesce((SELECT jsonb_agg(jsonb_build_object('company_id', x.company_id, 'product_code', x.product_code,
                                                               'product_name', x.product_name, 'bring', x.bring)
                                             ORDER BY x.company_id, x.product_name NULLS LAST)
                              FROM (SELECT d.company_id, d.product_code, d.product_name, sum(d.bring)::bigint AS bring
                                      FROM due d GROUP BY 1, 2, 3) x), '[]'),
      'not_estimated', coalesce((SELECT jsonb_agg(jsonb_build_object('case_serial', s.case_serial,
                                                                     'selection', s.selection)
                                                  ORDER BY s.case_serial, s.selection)
                                   FROM s WHERE s.estimate IS NULL), '[]')));
END $$;


ALTER FUNCTION dex.pick_list(location_id bigint) OWNER TO dex_service;

--
-- Name: planogram_set(text, jsonb); Type: FUNCTION; Schema: dex; Owner: dex_service
--

CREATE FUNCTION dex.planogram_set(case_serial text, slots jsonb) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
  m       dex.machines;
  unknown text;
BEGIN
  SELECT * INTO m FROM dex.machines mm WHERE mm.case_serial = planogram_set.case_serial;
  IF NOT FOUND THEN
    PERFORM core.raise_error('MACHINE_NOT_FOUND', format('no machine with case serial %s', planogram_set.case_serial),
                             jsonb_build_object('case_serial', planogram_set.case_serial));
  END IF;
  SELECT string_agg(DISTINCT x ->> 'product_code', ', ') INTO unknown
    FROM jsonb_array_elements(slots) x
   WHERE x ->> 'product_code' IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM dex.products p WHERE p.company_id = m.company_id
                                                   AND p.product_code = x ->> 'product_code');
  IF unknown IS NOT NULL THEN
    PERFORM core.raise_error('PRODUCT_NOT_FOUND', format('no product %s in company %s', unknown, m.company_id),
                             jsonb_build_object('product_code', unknown));
  END IF;
  INSERT INTO dex.planogram AS g (machine_id, company_id, selection, product_id, capacity, par_level, updated_by)
  SELECT m.id, m.company_id, x ->> 'selection', p.id, (x ->> 'capacity')::integer, (x ->> 'par_level')::integer,
         core.principal()
    FROM jsonb_array_elements(slots) x
    LEFT JOIN dex.products p ON p.company_id = m.company_id AND p.product_code = x ->> 'product_code'
  ON CONFLICT (machine_id, selection) DO UPDATE
     SET product_id = excluded.product_id, capacity = excluded.capacity, par_level = excluded.par_level,
         updated_at = now(), updated_by = excluded.updated_by;
  RETURN jsonb_build_object('case_serial', m.case_serial, 'slots', dex.machine_planogram(m.id));
END $$;


ALTER FUNCTION dex.planogram_set(case_serial text, slots jsonb) OWNER TO dex_service;

--
-- Name: product_upsert(text, text, text, text); Type: FUNCTION; Schema: dex; Owner: dex_service
--

CREATE FUNCTION dex.product_upsert(company_id text, product_code text, name text, category text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE p dex.products;
BEGIN
  PERFORM 1 FROM dex.companies c WHERE c.company_id = product_upsert.company_id;
  IF NOT FOUND THEN
    PERFORM core.raise_error('COMPANY_NOT_FOUND', format('company %s does not exist', product_upsert.company_id),
                             jsonb_build_object('company_id', product_upsert.company_id));
  END IF;
  INSERT INTO dex.products AS t (company_id, product_code, name, category, updated_by)
  VALUES (product_upsert.company_id, product_upsert.product_code, btrim(product_upsert.name),
          nullif(btrim(product_upsert.category), ''), core.principal())
  ON CONFLICT ON CONSTRAINT products_company_id_product_code_key DO UPDATE
     SET name = excluded.name, category = excluded.category, updated_at = now(), updated_by = excluded.updated_by
  RETURNING * INTO p;
  RETURN jsonb_build_object('product_id', p.id, 'company_id', p.company_id, 'product_code', p.product_code,
                            'name', p.name, 'category', p.category);
END $$;


ALTER FUNCTION dex.product_upsert(company_id text, product_code text, name text, category text) OWNER TO dex_service;

--
-- Name: products_list(text); Type: FUNCTION; Schema: dex; Owner: dex_service
--

CREATE FUNCTION dex.products_list(company_id text) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  SELECT coalesce(jsonb_agg(jsonb_build_object('product_id', p.id, 'company_id', p.company_id,
                                               'product_code', p.product_code, 'name', p.name,
                                               'category', p.category)
                            ORDER BY p.company_id, p.product_code), '[]')
    FROM dex.products p
   WHERE products_list.company_id IS NULL OR p.company_id = products_list.company_id
$$;


ALTER FUNCTION dex.products_list(company_id text) OWNER TO dex_service;

--
-- Name: read_time(timestamp with time zone, timestamp without time zone, timestamp with time zone); Type: FUNCTION; Schema: dex; Owner: postgres
--

CREATE FUNCTION dex.read_time(captured_at timestamp with time zone, machine_clock timestamp without time zone, received_at timestamp with time zone, OUT read_at timestamp with time zone, OUT source text) RETURNS record
    LANGUAGE plpgsql IMMUTABLE
    AS $$
BEGIN
  IF captured_at IS NOT NULL THEN
    read_at := captured_at;
    source := 'captured_at';
  ELSIF machine_clock >= timestamp '2001-01-01' AND machine_clock AT TIME ZONE 'UTC' <= received_at + interval '1 day' THEN
    read_at := machine_clock AT TIME ZONE 'UTC';
    source := 'machine_clock';
  ELSE
    read_at := received_at;
    source := 'received';
  END IF;
END $$;


ALTER FUNCTION dex.read_time(captured_at timestamp with time zone, machine_clock timestamp without time zone, received_at timestamp with time zone, OUT read_at timestamp with time zone, OUT source text) OWNER TO postgres;

--
-- Name: refill(text, jsonb, boolean); Type: FUNCTION; Schema: dex; Owner: dex_service
--

CREATE FUNCTION dex.refill(case_serial text, slots jsonb, "full" boolean) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
  m        dex.machines;
  last_id  bigint;
  wanted   jsonb;
  bad      record;
BEGIN
  SELECT * INTO m FROM dex.machines mm WHERE mm.case_serial = refill.case_serial;
  IF NOT FOUND THEN
    PERFORM core.raise_error('MACHINE_NOT_FOUND', format('no machine with case serial %s', refill.case_serial),
                             jsonb_build_object('case_serial', refill.case_serial));
  END IF;
  -- Same lock as the ingest: "the latest read" cannot move while the fill is recorded.
  SELECT s.last_read_id INTO last_id FROM dex.machine_state s WHERE s.machine_id = m.id FOR NO KEY UPDATE;
  WITH listed AS (
    SELECT e ->> 'selection' AS selection, (e ->> 'quantity')::bigint AS quantity
      FROM jsonb_array_elements(coalesce(slots, '[]'::jsonb)) e
  ), want AS (
    SELECT l.selection, l.quantity FROM listed l
    UNION ALL
    SELECT sp.selection, NULL FROM dex.slot_products(m.id) sp
     WHERE refill."full" AND sp.capacity IS NOT NULL AND sp.selection NOT IN (SELECT l.selection FROM listed l)
  )
  SELECT coalesce(jsonb_agg(jsonb_build_object(
           'selection', w.selection, 'quantity', coalesce(w.quantity, sp.capacity), 'capacity', sp.capacity,
           'known', sp.selection IS NOT NULL) ORDER BY w.selection), '[]')
    INTO wanted
    FROM want w LEFT JOIN dex.slot_products(m.id) sp ON sp.selection = w.selection;
  SELECT * INTO bad FROM jsonb_to_recordset(wanted) AS r (selection text, quantity bigint, capacity bigint, known boolean)
   WHERE NOT r.known LIMIT 1;
  IF FOUND THEN
    PERFORM core.raise_error('SLOT_NOT_FOUND', format('machine %s has no selection %s (neither reported nor in its planogram)',
                                                      m.case_serial, bad.selection),
                             jsonb_build_object('case_serial', m.case_serial, 'selection', bad.selection));
  END IF;
  SELECT * INTO bad FROM jsonb_to_recordset(wanted) AS r (selection text, quantity bigint, capacity bigint, known boolean)
   WHERE r.quantity IS NULL OR r.quantity > r.capacity LIMIT 1;
  IF FOUND THEN
    PERFORM core.raise_error('INVALID_REQUEST',
      CASE WHEN bad.quantity IS NULL THEN format('selection %s has no known capacity: give its quantity', bad.selection)
           ELSE format('selection %s: quantity %s is above its capacity %s', bad.selection, bad.quantity, bad.capacity) END,
      jsonb_build_object('argument', 'slots', 'selection', bad.selection));
  END IF;
  IF jsonb_array_length(wanted) = 0 THEN
    PERFORM core.raise_error('INVALID_REQUEST', format('machine %s has no slot with a known capacity to fill: list the slots',
                                                       m.case_serial),
                             jsonb_build_object('argument', 'full'));
  END IF;
  INSERT INTO dex.slot_fills (machine_id, company_id, selection, quantity, after_read_id, filled_by)
  SELECT m.id, m.company_id, r.selection, r.quantity::integer, last_id, core.principal()
    FROM jsonb_to_recordset(wanted) AS r (selection text, quantity bigint);
  RETURN jsonb_build_object('case_serial', m.case_serial, 'after_read_id', last_id, 'slots', (
    SELECT jsonb_agg(jsonb_build_object('selection', s.selection, 'product_name', s.product_name,
                                        'quantity', s.filled_quantity, 'capacity', s.capacity,
                                        'par_level', s.par_level) ORDER BY s.selection)
      FROM dex.slot_stock(m.id) s
     WHERE s.selection IN (SELECT r.selection FROM jsonb_to_recordset(wanted) AS r (selection text))));
END $$;


ALTER FUNCTION dex.refill(case_serial text, slots jsonb, "full" boolean) OWNER TO dex_service;

--
-- Name: slot_products(bigint); Type: FUNCTION; Schema: dex; Owner: postgres
--

CREATE FUNCTION dex.slot_products(machine_id bigint) RETURNS TABLE(selection text, product_id bigint, product_code text, product_name text, category text, capacity bigint, par_level bigint, name_source text)
    LANGUAGE sql STABLE
    AS $$
  SELECT coalesce(pg.selection, ms.selection),
         coalesce(pp.id, fp.id),
         coalesce(pp.product_code, ms.product_code),
         coalesce(pp.name, fp.name, ms.product_code),
         coalesce(pp.category, fp.category),
         coalesce(pg.capacity::bigint, ms.capacity),
         pg.par_level::bigint,
         CASE WHEN pp.id IS NOT NULL THEN 'planogram' WHEN fp.id IS NOT NULL THEN 'catalogue'
              WHEN ms.product_code IS NOT NULL THEN 'file' END
    FROM (SELECT * FROM dex.planogram p WHERE p.machine_id = slot_products.machine_id) pg
    FULL JOIN (SELECT * FROM dex.machine_slots s WHERE s.machine_id = slot_products.machine_id) ms
      ON ms.selection = pg.selection
    LEFT JOIN dex.products pp ON pp.id = pg.product_id
    LEFT JOIN dex.products fp ON fp.company_id = ms.company_id AND fp.product_code = ms.product_code
$$;


ALTER FUNCTION dex.slot_products(machine_id bigint) OWNER TO postgres;

--
-- Name: slot_stock(bigint); Type: FUNCTION; Schema: dex; Owner: postgres
--

CREATE FUNCTION dex.slot_stock(machine_id bigint) RETURNS TABLE(selection text, product_id bigint, product_code text, product_name text, category text, capacity bigint, par_level bigint, name_source text, filled_quantity bigint, filled_at timestamp with time zone, vends_since bigint, estimate bigint)
    LANGUAGE sql STABLE
    AS $$
  SELECT sp.selection, sp.product_id, sp.product_code, sp.product_name, sp.category, sp.capacity, sp.par_level,
         sp.name_source, f.quantity, f.filled_at, v.vends,
         -- greatest() skips NULLs: a slot never refilled must stay without an estimate, not 0.
         CASE WHEN f.quantity IS NOT NULL THEN greatest(f.quantity - v.vends, 0) END
    FROM dex.slot_products(machine_id) sp
    LEFT JOIN LATERAL (SELECT f.quantity::bigint AS quantity, f.filled_at, f.after_read_id
                         FROM dex.slot_fills f
                        WHERE f.machine_id = slot_stock.machine_id AND f.selection = sp.selection
                        ORDER BY f.id DESC LIMIT 1) f ON true
    LEFT JOIN LATERAL (SELECT coalesce(sum(sd.vends), 0)::bigint AS vends
                         FROM dex.sales_deltas sd
                        WHERE sd.machine_id = slot_stock.machine_id AND sd.selection = sp.selection
                          AND sd.read_id > coalesce(f.after_read_id, 0)) v ON f.quantity IS NOT NULL
$$;


ALTER FUNCTION dex.slot_stock(machine_id bigint) OWNER TO postgres;

--
-- Name: slots_problem(jsonb, text[]); Type: FUNCTION; Schema: dex; Owner: postgres
--

CREATE FUNCTION dex.slots_problem(slots jsonb, allowed text[]) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    AS $_$
DECLARE
  x    jsonb;
  k    text;
  seen text[] := '{}'::text[];
BEGIN
  IF slots IS NULL OR jsonb_typeof(slots) <> 'array' OR jsonb_array_length(slots) NOT BETWEEN 1 AND 500 THEN
    RETURN 'slots must be an array of 1-500 objects';
  END IF;
  FOR x IN SELECT e FROM jsonb_array_elements(slots) e LOOP
    IF jsonb_typeof(x) <> 'object' THEN
      RETURN 'every slot must be an object';
    END IF;
    IF jsonb_typeof(x -> 'selection') IS DISTINCT FROM 'string' OR x ->> 'selection' !~ '^[A-Za-z0-9_.-]{1,32}$' THEN
      RETURN 'every slot needs a selection: 1-32 of [A-Za-z0-9_.-]';
    END IF;
    IF x ->> 'selection' = ANY (seen) THEN
      RETURN format('selection %s is listed twice', x ->> 'selection');
    END IF;
    seen := seen || (x ->> 'selection');
    FOR k IN SELECT jsonb_object_keys(x) LOOP
      IF NOT k = ANY (allowed || 'selection'::text) THEN
        RETURN format('unknown slot field %s (allowed: %s)', left(k, 40), array_to_string(allowed || 'selection'::text, ', '));
      END IF;
      IF k = 'product_code' AND jsonb_typeof(x -> k) <> 'null'
         AND (jsonb_typeof(x -> k) <> 'string' OR length(x ->> k) NOT BETWEEN 1 AND 64 OR x ->> k ~ '[[:cntrl:]]') THEN
        RETURN 'product_code must be 1-64 characters or null';
      END IF;
      IF k IN ('capacity', 'par_level', 'quantity') AND jsonb_typeof(x -> k) <> 'null'
         AND (jsonb_typeof(x -> k) <> 'number' OR (x ->> k) !~ '^[0-9]{1,5}$' OR (x ->> k)::integer > 10000) THEN
        RETURN format('%s must be a whole number 0..10000 or null', k);
      END IF;
    END LOOP;
    IF (x ->> 'par_level')::integer > (x ->> 'capacity')::integer THEN
      RETURN format('selection %s: par_level above capacity', x ->> 'selection');
    END IF;
  END LOOP;
  RETURN NULL;
END $_$;


ALTER FUNCTION dex.slots_problem(slots jsonb, allowed text[]) OWNER TO postgres;

--
-- Name: total_check(bigint, bigint); Type: FUNCTION; Schema: dex; Owner: postgres
--

CREATE FUNCTION dex.total_check(reported bigint, expected bigint, OUT kind text, OUT modulus bigint) RETURNS record
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
DECLARE
  p bigint;
BEGIN
  IF reported IS NULL OR expected IS NULL THEN
    RETURN;
  END IF;
  FOREACH p IN ARRAY '{10000000,1000000,100000,10000}'::bigint[] LOOP
    IF reported >= 0 AND reported < p AND expected > reported AND expected % p = reported THEN
      modulus := p;
      EXIT;
    END IF;
  END LOOP;
  kind := CASE WHEN reported = expected THEN 'ok' WHEN modulus IS NOT NULL THEN 'counter_width' ELSE 'mismatch' END;
END $$;


ALTER FUNCTION dex.total_check(reported bigint, expected bigint, OUT kind text, OUT modulus bigint) OWNER TO postgres;

--
-- Name: assign_company(text, text); Type: FUNCTION; Schema: kiosk; Owner: postgres
--

CREATE FUNCTION kiosk.assign_company(kiosk_id text, company_id text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE k kiosk.kiosks;
BEGIN
  UPDATE kiosk.kiosks x SET company_id = kiosk.require_company(assign_company.company_id)
   WHERE x.kiosk_id = assign_company.kiosk_id RETURNING * INTO k;
  IF k.kiosk_id IS NULL THEN
    PERFORM core.raise_error('KIOSK_NOT_FOUND', format('no kiosk %s', kiosk_id), jsonb_build_object('kiosk_id', kiosk_id));
  END IF;
  RETURN jsonb_build_object('kiosk_id', k.kiosk_id, 'kind', k.kind, 'company_id', k.company_id);
END $$;


ALTER FUNCTION kiosk.assign_company(kiosk_id text, company_id text) OWNER TO postgres;

--
-- Name: company_kiosk_ids(); Type: FUNCTION; Schema: kiosk; Owner: postgres
--

CREATE FUNCTION kiosk.company_kiosk_ids() RETURNS SETOF text
    LANGUAGE sql STABLE
    AS $$
  SELECT k.kiosk_id FROM kiosk.kiosks k WHERE k.company_id = (SELECT core.request_company())
$$;


ALTER FUNCTION kiosk.company_kiosk_ids() OWNER TO postgres;

--
-- Name: kiosks; Type: TABLE; Schema: kiosk; Owner: postgres
--

CREATE TABLE kiosk.kiosks (
    kiosk_id text NOT NULL,
    kind text NOT NULL,
    name text NOT NULL,
    location text,
    login_role text,
    last_seen_at timestamp with time zone,
    link_up boolean,
    pending_orders integer,
    app_version text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    company_id text,
    registered_by text,
    CONSTRAINT kiosks_kind_check CHECK ((kind = ANY (ARRAY['atm'::text, 'checkout'::text]))),
    CONSTRAINT kiosks_kiosk_id_check CHECK ((kiosk_id ~ '^[a-z0-9][a-z0-9_]{0,39}$'::text)),
    CONSTRAINT kiosks_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200)))
);


ALTER TABLE kiosk.kiosks OWNER TO postgres;

--
-- Name: current_kiosk(); Type: FUNCTION; Schema: kiosk; Owner: postgres
--

CREATE FUNCTION kiosk.current_kiosk() RETURNS kiosk.kiosks
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE k kiosk.kiosks;
BEGIN
  SELECT * INTO k FROM kiosk.kiosks x WHERE x.login_role = session_user;
  IF FOUND THEN
    RETURN k;
  END IF;
  IF core.request_role() = 'kiosk' THEN
    SELECT * INTO k FROM kiosk.kiosks x WHERE x.kiosk_id = core.claims() ->> 'kiosk_id';
    IF NOT FOUND THEN
      PERFORM core.raise_error('FORBIDDEN', 'the token names no registered kiosk');
    END IF;
  END IF;
  RETURN k;
END $$;


ALTER FUNCTION kiosk.current_kiosk() OWNER TO postgres;

--
-- Name: current_kiosk_id(); Type: FUNCTION; Schema: kiosk; Owner: postgres
--

CREATE FUNCTION kiosk.current_kiosk_id() RETURNS text
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
  RETURN (kiosk.current_kiosk()).kiosk_id;
END $$;


ALTER FUNCTION kiosk.current_kiosk_id() OWNER TO postgres;

--
-- Name: provision_login(text, text); Type: FUNCTION; Schema: kiosk; Owner: postgres
--

CREATE FUNCTION kiosk.provision_login(kiosk_id text, password text) RETURNS text
    LANGUAGE plpgsql
    AS $$
DECLARE role_name text := 'kiosk_' || kiosk_id;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM kiosk.kiosks k WHERE k.kiosk_id = provision_login.kiosk_id) THEN
    PERFORM core.raise_error('KIOSK_NOT_FOUND', format('kiosk %s does not exist', kiosk_id));
  ELSIF password IS NULL OR length(password) < 16 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'password must have at least 16 characters');
  END IF;
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = role_name) THEN
    EXECUTE format('ALTER ROLE %I LOGIN PASSWORD %L', role_name, password);
  ELSE
    EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L IN ROLE kiosk_agent', role_name, password);
  END IF;
  UPDATE kiosk.kiosks k SET login_role = role_name WHERE k.kiosk_id = provision_login.kiosk_id;
  RETURN role_name;
END $$;


ALTER FUNCTION kiosk.provision_login(kiosk_id text, password text) OWNER TO postgres;

--
-- Name: register(text, text, text, text, text); Type: FUNCTION; Schema: kiosk; Owner: postgres
--

CREATE FUNCTION kiosk.register(kiosk_id text, kind text, name text, location text, company_id text DEFAULT NULL::text) RETURNS kiosk.kiosks
    LANGUAGE plpgsql
    AS $_$
DECLARE k kiosk.kiosks;
BEGIN
  IF kiosk_id IS NULL OR kiosk_id !~ '^[a-z0-9][a-z0-9_]{0,39}$' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'kiosk_id must be 1-40 lower-case letters, digits or _',
                             jsonb_build_object('argument', 'kiosk_id'));
  ELSIF name IS NULL OR length(btrim(name)) NOT BETWEEN 1 AND 200 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'name must be 1-200 characters', jsonb_build_object('argument', 'name'));
  ELSIF location IS NOT NULL AND length(location) > 200 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'location must be at most 200 characters',
                             jsonb_build_object('argument', 'location'));
  END IF;
  INSERT INTO kiosk.kiosks (kiosk_id, kind, name, location, company_id, registered_by)
  VALUES (kiosk_id, kind, btrim(name), location, kiosk.require_company(company_id), core.actor())
  ON CONFLICT DO NOTHING RETURNING * INTO k;
  IF k.kiosk_id IS NULL THEN
    PERFORM core.raise_error('CONFLICT', format('kiosk %s already exists', kiosk_id),
                             jsonb_build_object('kiosk_id', kiosk_id));
  END IF;
  RETURN k;
END $_$;


ALTER FUNCTION kiosk.register(kiosk_id text, kind text, name text, location text, company_id text) OWNER TO postgres;

--
-- Name: require_company(text); Type: FUNCTION; Schema: kiosk; Owner: postgres
--

CREATE FUNCTION kiosk.require_company(company_id text) RETURNS text
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
  IF company_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM dex.companies c WHERE c.company_id = require_company.company_id) THEN
    PERFORM core.raise_error('COMPANY_NOT_FOUND', format('company %s does not exist', company_id),
                             jsonb_build_object('argument', 'company_id'));
  END IF;
  RETURN company_id;
END $$;


ALTER FUNCTION kiosk.require_company(company_id text) OWNER TO postgres;

--
-- Name: require_kiosk(); Type: FUNCTION; Schema: kiosk; Owner: postgres
--

CREATE FUNCTION kiosk.require_kiosk() RETURNS text
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
  RETURN (kiosk.require_kiosk_row()).kiosk_id;
END $$;


ALTER FUNCTION kiosk.require_kiosk() OWNER TO postgres;

--
-- Name: require_kiosk_row(); Type: FUNCTION; Schema: kiosk; Owner: postgres
--

CREATE FUNCTION kiosk.require_kiosk_row() RETURNS kiosk.kiosks
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE k kiosk.kiosks := kiosk.current_kiosk();
BEGIN
  IF k.kiosk_id IS NULL THEN
    PERFORM core.raise_error('FORBIDDEN', 'only a kiosk may call this (kiosk token or kiosk login)');
  END IF;
  RETURN k;
END $$;


ALTER FUNCTION kiosk.require_kiosk_row() OWNER TO postgres;

--
-- Name: touch(text, boolean, integer, text); Type: FUNCTION; Schema: kiosk; Owner: postgres
--

CREATE FUNCTION kiosk.touch(kiosk_id text, link_up boolean DEFAULT NULL::boolean, pending_orders integer DEFAULT NULL::integer, app_version text DEFAULT NULL::text) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
  UPDATE kiosk.kiosks k
     SET last_seen_at = now(),
         link_up = coalesce(touch.link_up, k.link_up),
         pending_orders = coalesce(touch.pending_orders, k.pending_orders),
         app_version = coalesce(touch.app_version, k.app_version)
   WHERE k.kiosk_id = touch.kiosk_id;
END $$;


ALTER FUNCTION kiosk.touch(kiosk_id text, link_up boolean, pending_orders integer, app_version text) OWNER TO postgres;

--
-- Name: balance_of(bigint); Type: FUNCTION; Schema: ledger; Owner: postgres
--

CREATE FUNCTION ledger.balance_of(account_id bigint) RETURNS bigint
    LANGUAGE sql STABLE
    AS $$
  SELECT balance FROM ledger.account_balances WHERE id = account_id
$$;


ALTER FUNCTION ledger.balance_of(account_id bigint) OWNER TO postgres;

--
-- Name: house_account(text, text, text); Type: FUNCTION; Schema: ledger; Owner: postgres
--

CREATE FUNCTION ledger.house_account(kind text, owner_ref text, currency text) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
DECLARE acct_id bigint;
BEGIN
  SELECT a.id INTO acct_id FROM ledger.accounts a
   WHERE a.kind = house_account.kind AND a.owner_ref = house_account.owner_ref AND a.currency = house_account.currency;
  IF acct_id IS NULL THEN
    INSERT INTO ledger.accounts (kind, owner_ref, currency, lower_bound)
    VALUES (house_account.kind, house_account.owner_ref, house_account.currency, NULL)
    ON CONFLICT DO NOTHING RETURNING id INTO acct_id;
    IF acct_id IS NULL THEN
      SELECT a.id INTO acct_id FROM ledger.accounts a
       WHERE a.kind = house_account.kind AND a.owner_ref = house_account.owner_ref AND a.currency = house_account.currency;
    END IF;
  END IF;
  RETURN acct_id;
END $$;


ALTER FUNCTION ledger.house_account(kind text, owner_ref text, currency text) OWNER TO postgres;

--
-- Name: accounts; Type: TABLE; Schema: ledger; Owner: postgres
--

CREATE TABLE ledger.accounts (
    id bigint NOT NULL,
    kind ledger.kind NOT NULL,
    owner_ref text,
    currency ledger.currency NOT NULL,
    lower_bound bigint,
    balance bigint DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT balance_within_lower_bound CHECK (((lower_bound IS NULL) OR (balance >= lower_bound)))
)
WITH (fillfactor='50');


ALTER TABLE ledger.accounts OWNER TO postgres;

--
-- Name: open_account(text, text, text, bigint); Type: FUNCTION; Schema: ledger; Owner: postgres
--

CREATE FUNCTION ledger.open_account(kind text, owner_ref text, currency text, lower_bound bigint) RETURNS ledger.accounts
    LANGUAGE plpgsql
    AS $_$
DECLARE acct ledger.accounts;
BEGIN
  IF kind IS NULL OR kind !~ '^[a-z][a-z0-9_]{0,62}$' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'kind must be lower_snake_case (1-63 chars)',
                             jsonb_build_object('argument', 'kind'));
  END IF;
  IF currency IS NULL OR currency !~ '^[A-Z]{3}$' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'currency must be an ISO-4217 code such as EUR',
                             jsonb_build_object('argument', 'currency'));
  END IF;
  IF lower_bound IS NOT NULL AND lower_bound > 0 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'lower_bound must be <= 0 (a new account starts at 0)',
                             jsonb_build_object('argument', 'lower_bound'));
  END IF;
  INSERT INTO ledger.accounts (kind, owner_ref, currency, lower_bound)
  VALUES (open_account.kind, open_account.owner_ref, open_account.currency, open_account.lower_bound)
  ON CONFLICT DO NOTHING
  RETURNING * INTO acct;
  IF acct.id IS NULL THEN
    PERFORM core.raise_error('CONFLICT', format('an account %s/%s/%s already exists', kind, owner_ref, currency),
                             jsonb_build_object('kind', kind, 'owner_ref', owner_ref, 'currency', currency));
  END IF;
  RETURN acct;
END $_$;


ALTER FUNCTION ledger.open_account(kind text, owner_ref text, currency text, lower_bound bigint) OWNER TO postgres;

--
-- Name: post_transfer(text, bigint[], bigint[], text, jsonb); Type: FUNCTION; Schema: ledger; Owner: postgres
--

CREATE FUNCTION ledger.post_transfer(kind text, account_ids bigint[], amounts bigint[], idempotency_key text DEFAULT NULL::text, metadata jsonb DEFAULT '{}'::jsonb, OUT transfer_id bigint, OUT short_account_id bigint, OUT short_balance bigint, OUT balances bigint[]) RETURNS record
    LANGUAGE plpgsql
    AS $$
DECLARE
  n        int := coalesce(cardinality(account_ids), 0);
  leg_sum  numeric := 0::numeric;  -- numeric: a sum of bigints must not overflow while we check it
  found_n  int;
  missing  bigint[];
  acct     record;
  k        int;
BEGIN
  balances := array_fill(NULL::bigint, ARRAY[n]);
  IF n < 2 OR n <> coalesce(cardinality(amounts), -1) THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'a transfer needs at least two postings');
  END IF;
  FOR i IN 1 .. n LOOP
    IF account_ids[i] IS NULL OR amounts[i] IS NULL THEN
      PERFORM core.raise_error('INVALID_REQUEST', 'posting account ids and amounts must not be null');
    ELSIF amounts[i] = 0 THEN
      PERFORM core.raise_error('INVALID_REQUEST', 'posting amounts must be non-zero');
    END IF;
    FOR j IN 1 .. i - 1 LOOP
      IF account_ids[j] = account_ids[i] THEN
        PERFORM core.raise_error('INVALID_REQUEST', 'each account may appear once per transfer');
      END IF;
    END LOOP;
    leg_sum := leg_sum + amounts[i];
  END LOOP;
  IF leg_sum <> 0 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'postings must sum to zero', jsonb_build_object('sum', leg_sum));
  END IF;

  -- Lock the bounded legs in id order, in one statement, and check each one's bound.
  -- lower_bound never changes after an account is opened, so filtering on it is stable.
  FOR acct IN
    SELECT a.id, a.balance, a.lower_bound FROM ledger.accounts a
     WHERE a.id = ANY (account_ids) AND a.lower_bound IS NOT NULL
     ORDER BY a.id
       FOR UPDATE
  LOOP
    k := array_position(account_ids, acct.id);
    IF short_account_id IS NULL AND acct.balance + amounts[k] < acct.lower_bound THEN
      short_account_id := acct.id;
      short_balance := acct.balance;
    END IF;
    balances[k] := acct.balance + amounts[k];
  END LOOP;
  IF short_account_id IS NOT NULL THEN
    balances := NULL;
    PERFORM ledger.refuse_booked_key(kind, idempotency_key);  -- a key booked before says so first
    RETURN;
  END IF;

  -- A keyed transfer is booked once: the unique index on (kind, key) finds a key booked
  -- before in the same insert (no lookup on every transfer), and the caller is told.
  INSERT INTO ledger.transfers (kind, idempotency_key, metadata)
  VALUES (post_transfer.kind, post_transfer.idempotency_key, coalesce(post_transfer.metadata, '{}'))
  ON CONFLICT DO NOTHING
  RETURNING id INTO transfer_id;
  IF transfer_id IS NULL THEN
    PERFORM ledger.refuse_booked_key(kind, idempotency_key);
    PERFORM core.raise_error('SERVER_ERROR', 'a transfer insert conflicted on no key');
  END IF;
  -- Each posting is joined to its account, in the first leg's currency: a missing account
  -- or another currency drops a row, and the count says so.
  INSERT INTO ledger.postings (transfer_id, account_id, amount)
  SELECT post_transfer.transfer_id, p.id, p.amount
    FROM unnest(account_ids, amounts) WITH ORDINALITY AS p(id, amount, leg)
    JOIN ledger.accounts a ON a.id = p.id
   WHERE a.id = ANY (account_ids)  -- lets the generic plan reach accounts by key
     AND a.currency = (SELECT f.currency FROM ledger.accounts f WHERE f.id = account_ids[1])
   ORDER BY p.leg;  -- posting ids follow the legs' order
  GET DIAGNOSTICS found_n = ROW_COUNT;
  IF found_n <> n THEN  -- raising rolls the transfer back
    SELECT array_agg(x) INTO missing FROM unnest(account_ids) x
     WHERE NOT EXISTS (SELECT 1 FROM ledger.accounts a WHERE a.id = x);
    IF missing IS NOT NULL THEN
      PERFORM core.raise_error('ACCOUNT_NOT_FOUND', 'unknown account ids ' || missing::text,
                               jsonb_build_object('account_ids', to_jsonb(missing)));
    END IF;
    PERFORM core.raise_error('INVALID_REQUEST', 'a transfer may not mix currencies');
  END IF;
  -- Simple statements per leg: measured cheaper than one statement writing all three tables.
  FOR i IN 1 .. n LOOP
    IF balances[i] IS NOT NULL THEN  -- a bounded leg, locked above
      UPDATE ledger.accounts a SET balance = a.balance + amounts[i] WHERE a.id = account_ids[i];
    ELSE
      INSERT INTO ledger.balance_deltas (account_id, amount) VALUES (account_ids[i], amounts[i]);
    END IF;
  END LOOP;
END $$;


ALTER FUNCTION ledger.post_transfer(kind text, account_ids bigint[], amounts bigint[], idempotency_key text, metadata jsonb, OUT transfer_id bigint, OUT short_account_id bigint, OUT short_balance bigint, OUT balances bigint[]) OWNER TO postgres;

--
-- Name: refuse_booked_key(text, text); Type: FUNCTION; Schema: ledger; Owner: postgres
--

CREATE FUNCTION ledger.refuse_booked_key(kind text, idempotency_key text) RETURNS void
    LANGUAGE plpgsql
    AS $$
DECLARE prior_id bigint;
BEGIN
  IF idempotency_key IS NULL THEN
    RETURN;
  END IF;
  SELECT t.id INTO prior_id FROM ledger.transfers t
   WHERE t.kind = refuse_booked_key.kind AND t.idempotency_key = refuse_booked_key.idempotency_key;
  IF FOUND THEN
    PERFORM core.raise_error('REQUEST_ID_EXPIRED',
      format('this request was already booked as transfer %s; its idempotency record has expired', prior_id),
      jsonb_build_object('transfer_id', prior_id, 'kind', kind),
      'look up its outcome, and use a new request_id for a new request');
  END IF;
END $$;


ALTER FUNCTION ledger.refuse_booked_key(kind text, idempotency_key text) OWNER TO postgres;

--
-- Name: refuse_change(); Type: FUNCTION; Schema: ledger; Owner: postgres
--

CREATE FUNCTION ledger.refuse_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = 'KL000',
    MESSAGE = format('FORBIDDEN: %s on %s.%s is not allowed: its rows are kept as history',
                     TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME);
END $$;


ALTER FUNCTION ledger.refuse_change() OWNER TO postgres;

--
-- Name: rollup_balances(); Type: FUNCTION; Schema: ledger; Owner: postgres
--

CREATE FUNCTION ledger.rollup_balances() RETURNS bigint
    LANGUAGE sql
    AS $$
  WITH taken AS (
    DELETE FROM ledger.balance_deltas RETURNING account_id, amount
  ), per_account AS (
    SELECT account_id, sum(amount)::bigint AS total, count(*) AS n FROM taken GROUP BY account_id
  ), applied AS (
    UPDATE ledger.accounts a SET balance = a.balance + p.total
      FROM per_account p WHERE a.id = p.account_id
    RETURNING p.n
  )
  SELECT coalesce(sum(n), 0)::bigint FROM applied
$$;


ALTER FUNCTION ledger.rollup_balances() OWNER TO postgres;

--
-- Name: host_job_begin(text); Type: FUNCTION; Schema: upkeep; Owner: postgres
--

CREATE FUNCTION upkeep.host_job_begin(name text) RETURNS timestamp with time zone
    LANGUAGE plpgsql
    AS $$
DECLARE
  job upkeep.jobs;
  started timestamptz;
BEGIN
  IF NOT pg_try_advisory_lock(hashtext('kioskledger.upkeep'), hashtext(name)) THEN
    RETURN NULL;
  END IF;
  SELECT * INTO job FROM upkeep.jobs j WHERE j.name = host_job_begin.name FOR UPDATE;
  IF job.kind IS DISTINCT FROM 'host' OR NOT job.enabled OR job.last_started_at + job.every * 0.9 > clock_timestamp() THEN
    PERFORM pg_advisory_unlock(hashtext('kioskledger.upkeep'), hashtext(name));
    RETURN NULL;
  END IF;
  started := clock_timestamp();
  UPDATE upkeep.jobs j SET last_started_at = started WHERE j.name = job.name;
  RETURN started;
END $$;


ALTER FUNCTION upkeep.host_job_begin(name text) OWNER TO postgres;

--
-- Name: FUNCTION host_job_begin(name text); Type: COMMENT; Schema: upkeep; Owner: postgres
--

COMMENT ON FUNCTION upkeep.host_job_begin(name text) IS 'Claim a due host job for this session (its advisory lock, until upkeep.host_job_finish): its start time, or NULL when it is running elsewhere or not due. Used by `kioskledger scheduler --host-jobs`.';


--
-- Name: host_job_finish(text, text, timestamp with time zone, integer, text, text); Type: FUNCTION; Schema: upkeep; Owner: postgres
--

CREATE FUNCTION upkeep.host_job_finish(name text, runner text, started timestamp with time zone, exit_code integer, output text, error text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
  ok boolean := exit_code IS NOT DISTINCT FROM 0;
  failure text := coalesce(nullif(btrim(right(error, 2000)), ''), format('exit code %s', exit_code));
  run upkeep.runs;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM upkeep.jobs j WHERE j.name = host_job_finish.name AND j.kind = 'host') THEN
    PERFORM core.raise_error('INVALID_REQUEST', format('no host job %L (see upkeep.jobs)', name),
                             jsonb_build_object('argument', 'name'));
  END IF;
  run := upkeep.record_run(name, runner, started, ok,
                           jsonb_build_object('exit_code', exit_code, 'output', right(output, 2000)),
                           failure,
                           CASE WHEN NOT ok THEN jsonb_build_object('exit_code', exit_code, 'error', failure) ELSE '{}' END);
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_locks l
              WHERE l.locktype = 'advisory' AND l.pid = pg_backend_pid() AND l.objsubid = 2
                AND l.classid = hashtext('kioskledger.upkeep')::oid AND l.objid = hashtext(name)::oid) THEN
    PERFORM pg_advisory_unlock(hashtext('kioskledger.upkeep'), hashtext(name));
  END IF;
  RETURN to_jsonb(run);
END $$;


ALTER FUNCTION upkeep.host_job_finish(name text, runner text, started timestamp with time zone, exit_code integer, output text, error text) OWNER TO postgres;

--
-- Name: FUNCTION host_job_finish(name text, runner text, started timestamp with time zone, exit_code integer, output text, error text); Type: COMMENT; Schema: upkeep; Owner: postgres
--

COMMENT ON FUNCTION upkeep.host_job_finish(name text, runner text, started timestamp with time zone, exit_code integer, output text, error text) IS 'Log a host job''s run (exit code, output and stderr tails) in upkeep.runs, raise or clear its job_failed alert, release its lock. Used by `kioskledger scheduler --host-jobs`.';


--
-- Name: host_jobs_due(); Type: FUNCTION; Schema: upkeep; Owner: postgres
--

CREATE FUNCTION upkeep.host_jobs_due() RETURNS TABLE(name text, command text, timeout_s integer)
    LANGUAGE sql STABLE
    AS $$
  SELECT j.name, j.command, (core.setting('upkeep.host_timeout_seconds'))::int
    FROM upkeep.jobs j
   WHERE j.kind = 'host' AND j.enabled
     AND (j.last_started_at IS NULL OR j.last_started_at + j.every * 0.9 <= clock_timestamp())
   ORDER BY j.position, j.name
$$;


ALTER FUNCTION upkeep.host_jobs_due() OWNER TO postgres;

--
-- Name: prune(); Type: FUNCTION; Schema: upkeep; Owner: postgres
--

CREATE FUNCTION upkeep.prune(OUT alerts bigint, OUT runs bigint) RETURNS record
    LANGUAGE plpgsql
    AS $$
DECLARE keep_alerts interval := make_interval(days => (core.setting('alerts.keep_resolved_days'))::int);
BEGIN
  WITH old AS (SELECT a.id FROM core.alerts a WHERE a.status = 'resolved' AND a.resolved_at < now() - keep_alerts),
       events AS (DELETE FROM core.alert_events e USING old WHERE e.alert_id = old.id),
       gone AS (DELETE FROM core.alerts a USING old WHERE a.id = old.id RETURNING 1)
  SELECT count(*) INTO alerts FROM gone;
  WITH gone AS (DELETE FROM upkeep.runs r
                 WHERE r.started_at < now() - make_interval(days => (core.setting('upkeep.keep_runs_days'))::int)
                RETURNING 1)
  SELECT count(*) INTO runs FROM gone;
END $$;


ALTER FUNCTION upkeep.prune(OUT alerts bigint, OUT runs bigint) OWNER TO postgres;

--
-- Name: runs; Type: TABLE; Schema: upkeep; Owner: postgres
--

CREATE TABLE upkeep.runs (
    id bigint NOT NULL,
    job text NOT NULL,
    runner text NOT NULL,
    started_at timestamp with time zone NOT NULL,
    finished_at timestamp with time zone NOT NULL,
    duration_ms numeric NOT NULL,
    ok boolean NOT NULL,
    result jsonb,
    error text
);


ALTER TABLE upkeep.runs OWNER TO postgres;

--
-- Name: record_run(text, text, timestamp with time zone, boolean, jsonb, text, jsonb); Type: FUNCTION; Schema: upkeep; Owner: postgres
--

CREATE FUNCTION upkeep.record_run(job_name text, runner text, started timestamp with time zone, ok boolean, result jsonb, error text, details jsonb DEFAULT '{}'::jsonb) RETURNS upkeep.runs
    LANGUAGE plpgsql
    AS $$
DECLARE run upkeep.runs;
BEGIN
  INSERT INTO upkeep.runs (job, runner, started_at, finished_at, duration_ms, ok, result, error)
  VALUES (job_name, coalesce(runner, core.actor()), started, clock_timestamp(),
          round((extract(epoch FROM clock_timestamp() - started) * 1000)::numeric, 3), ok, result,
          CASE WHEN NOT ok THEN error END)
  RETURNING * INTO run;
  IF ok THEN
    UPDATE upkeep.jobs j SET last_ok_at = run.finished_at WHERE j.name = job_name;
    PERFORM core.alert_clear('upkeep', 'job_failed', job_name, 'system:upkeep');
  ELSE
    PERFORM core.alert_raise('upkeep', 'job_failed', job_name, NULL, 'critical',
                             left(format('Upkeep job %s failed: %s', job_name, coalesce(details ->> 'error', error)), 2000),
                             jsonb_build_object('job', job_name) || details);
  END IF;
  RETURN run;
END $$;


ALTER FUNCTION upkeep.record_run(job_name text, runner text, started timestamp with time zone, ok boolean, result jsonb, error text, details jsonb) OWNER TO postgres;

--
-- Name: run_due(text); Type: PROCEDURE; Schema: upkeep; Owner: postgres
--

CREATE PROCEDURE upkeep.run_due(IN runner text DEFAULT NULL::text)
    LANGUAGE plpgsql
    AS $$
DECLARE job text;
BEGIN
  -- Host jobs are commands, not SQL: only `kioskledger scheduler --host-jobs` runs them.
  FOR job IN SELECT j.name FROM upkeep.jobs j WHERE j.enabled AND j.kind = 'sql' ORDER BY j.position, j.name LOOP
    PERFORM upkeep.run_job(job, runner, true);
    COMMIT;
  END LOOP;
END $$;


ALTER PROCEDURE upkeep.run_due(IN runner text) OWNER TO postgres;

--
-- Name: PROCEDURE run_due(IN runner text); Type: COMMENT; Schema: upkeep; Owner: postgres
--

COMMENT ON PROCEDURE upkeep.run_due(IN runner text) IS 'Run every enabled SQL upkeep job whose interval has passed (never a host job), one transaction each. pg_cron and `kioskledger scheduler` CALL it on their tick.';


--
-- Name: run_job(text, text, boolean); Type: FUNCTION; Schema: upkeep; Owner: postgres
--

CREATE FUNCTION upkeep.run_job(name text, runner text DEFAULT NULL::text, only_if_due boolean DEFAULT false) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
  job upkeep.jobs;
  started timestamptz;
  rows jsonb;
  ok boolean := true;
  err text;
  state text;
  run upkeep.runs;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM upkeep.jobs j WHERE j.name = run_job.name) THEN
    PERFORM core.raise_error('INVALID_REQUEST', format('no upkeep job %L (see upkeep.jobs)', name),
                             jsonb_build_object('argument', 'name'));
  END IF;
  IF (SELECT j.kind FROM upkeep.jobs j WHERE j.name = run_job.name) = 'host' THEN
    PERFORM core.raise_error('INVALID_REQUEST',
      format('%L is a host job (a command, not SQL): `kioskledger scheduler --host-jobs --once` runs it when due', name),
      jsonb_build_object('argument', 'name'));
  END IF;
  IF NOT pg_try_advisory_xact_lock(hashtext('kioskledger.upkeep'), hashtext(name)) THEN
    RETURN jsonb_build_object('job', name, 'skipped', 'running');
  END IF;
  -- Read after the lock: a runner that finished meanwhile has moved last_started_at.
  SELECT * INTO job FROM upkeep.jobs j WHERE j.name = run_job.name FOR UPDATE;
  IF only_if_due AND (NOT job.enabled OR job.last_started_at + job.every * 0.9 > clock_timestamp()) THEN
    RETURN jsonb_build_object('job', name, 'skipped', 'not_due');
  END IF;
  started := clock_timestamp();
  UPDATE upkeep.jobs j SET last_started_at = started WHERE j.name = job.name;
  BEGIN
    EXECUTE format('SELECT coalesce(jsonb_agg(to_jsonb(r)), ''[]'') FROM (%s) r', job.command) INTO rows;
  EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS err = MESSAGE_TEXT, state = RETURNED_SQLSTATE;
    ok := false;
  END;
  run := upkeep.record_run(job.name, runner, started, ok,
                           CASE WHEN jsonb_array_length(rows) = 1 THEN rows -> 0 ELSE rows END,
                           CASE WHEN NOT ok THEN state || ': ' || err END,
                           CASE WHEN NOT ok THEN jsonb_build_object('sqlstate', state, 'error', err) ELSE '{}' END);
  RETURN to_jsonb(run);
END $$;


ALTER FUNCTION upkeep.run_job(name text, runner text, only_if_due boolean) OWNER TO postgres;

--
-- Name: FUNCTION run_job(name text, runner text, only_if_due boolean); Type: COMMENT; Schema: upkeep; Owner: postgres
--

COMMENT ON FUNCTION upkeep.run_job(name text, runner text, only_if_due boolean) IS 'Run one upkeep job now (SELECT upkeep.run_job(''rollup_balances'')): logged in upkeep.runs; a failure is logged and raises the upkeep alert job_failed (a success clears it), never an error. A concurrent run of the same job is skipped ({"skipped": "running"}).';


--
-- Name: runner(); Type: FUNCTION; Schema: upkeep; Owner: postgres
--

CREATE FUNCTION upkeep.runner() RETURNS text
    LANGUAGE plpgsql STABLE
    AS $_$
DECLARE
  found boolean;
  jobs regclass := to_regclass('cron.job');  -- only where pg_cron is installed
BEGIN
  IF jobs IS NULL THEN
    RETURN 'scheduler';
  END IF;
  EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE jobname = $1 AND active AND database = current_database())', jobs)
     INTO found USING 'kioskledger-upkeep';
  RETURN CASE WHEN found THEN 'pg_cron' ELSE 'scheduler' END;
END $_$;


ALTER FUNCTION upkeep.runner() OWNER TO postgres;

--
-- Name: set_host_jobs(boolean); Type: FUNCTION; Schema: upkeep; Owner: postgres
--

CREATE FUNCTION upkeep.set_host_jobs(enabled boolean) RETURNS integer
    LANGUAGE sql
    AS $$
  WITH changed AS (UPDATE upkeep.jobs j SET enabled = set_host_jobs.enabled
                    WHERE j.kind = 'host' AND j.enabled IS DISTINCT FROM set_host_jobs.enabled RETURNING 1)
  SELECT count(*)::int FROM changed
$$;


ALTER FUNCTION upkeep.set_host_jobs(enabled boolean) OWNER TO postgres;

--
-- Name: FUNCTION set_host_jobs(enabled boolean); Type: COMMENT; Schema: upkeep; Owner: postgres
--

COMMENT ON FUNCTION upkeep.set_host_jobs(enabled boolean) IS 'Enable or disable every host job (backups, the restore drill); the number changed. `kioskledger run-ha` enables them.';


--
-- Name: events; Type: TABLE; Schema: accounts; Owner: postgres
--

CREATE TABLE accounts.events (
    id bigint NOT NULL,
    account_id uuid NOT NULL,
    event text NOT NULL,
    details jsonb DEFAULT '{}'::jsonb NOT NULL,
    actor text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT events_event_check CHECK ((event = ANY (ARRAY['created'::text, 'updated'::text, 'password_set'::text, 'unlocked'::text, 'locked'::text, 'refresh_reuse'::text])))
);


ALTER TABLE accounts.events OWNER TO postgres;

--
-- Name: events_id_seq; Type: SEQUENCE; Schema: accounts; Owner: postgres
--

ALTER TABLE accounts.events ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME accounts.events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: login_failures; Type: TABLE; Schema: accounts; Owner: postgres
--

CREATE TABLE accounts.login_failures (
    email text NOT NULL,
    failures integer DEFAULT 0 NOT NULL,
    locked_until timestamp with time zone,
    last_failed_at timestamp with time zone,
    CONSTRAINT login_failures_email_check CHECK ((length(email) <= 254)),
    CONSTRAINT login_failures_failures_check CHECK ((failures >= 0))
);


ALTER TABLE accounts.login_failures OWNER TO postgres;

--
-- Name: refresh_tokens; Type: TABLE; Schema: accounts; Owner: postgres
--

CREATE TABLE accounts.refresh_tokens (
    token_hash bytea NOT NULL,
    account_id uuid NOT NULL,
    family_id uuid NOT NULL,
    issued_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    used_at timestamp with time zone,
    revoked_at timestamp with time zone,
    revoked_reason text,
    CONSTRAINT refresh_tokens_check CHECK (((revoked_at IS NULL) = (revoked_reason IS NULL))),
    CONSTRAINT refresh_tokens_revoked_reason_check CHECK ((revoked_reason = ANY (ARRAY['logout'::text, 'reuse'::text, 'password'::text, 'disabled'::text]))),
    CONSTRAINT refresh_tokens_token_hash_check CHECK ((length(token_hash) = 32))
);


ALTER TABLE accounts.refresh_tokens OWNER TO postgres;

--
-- Name: alerts; Type: TABLE; Schema: atm; Owner: postgres
--

CREATE TABLE atm.alerts (
    id bigint NOT NULL,
    job_id bigint,
    kind text NOT NULL,
    message text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    resolved_at timestamp with time zone,
    refund_id bigint
);


ALTER TABLE atm.alerts OWNER TO postgres;

--
-- Name: alerts_id_seq; Type: SEQUENCE; Schema: atm; Owner: postgres
--

ALTER TABLE atm.alerts ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME atm.alerts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: dispense_jobs_id_seq; Type: SEQUENCE; Schema: atm; Owner: postgres
--

ALTER TABLE atm.dispense_jobs ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME atm.dispense_jobs_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: job_events; Type: TABLE; Schema: atm; Owner: postgres
--

CREATE TABLE atm.job_events (
    id bigint NOT NULL,
    job_id bigint NOT NULL,
    old_status text,
    new_status text NOT NULL,
    coins_paid integer NOT NULL,
    note text,
    actor text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);


ALTER TABLE atm.job_events OWNER TO postgres;

--
-- Name: job_events_id_seq; Type: SEQUENCE; Schema: atm; Owner: postgres
--

ALTER TABLE atm.job_events ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME atm.job_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: kiosk_config; Type: TABLE; Schema: atm; Owner: postgres
--

CREATE TABLE atm.kiosk_config (
    kiosk_id text NOT NULL,
    fee_flat bigint NOT NULL,
    max_amount bigint NOT NULL,
    CONSTRAINT kiosk_config_fee_flat_check CHECK ((fee_flat >= 0)),
    CONSTRAINT kiosk_config_max_amount_check CHECK (((max_amount > 0) AND ((max_amount % (25)::bigint) = 0)))
);


ALTER TABLE atm.kiosk_config OWNER TO postgres;

--
-- Name: kiosk_health; Type: VIEW; Schema: atm; Owner: postgres
--

CREATE VIEW atm.kiosk_health WITH (security_invoker='true') AS
 SELECT k.kiosk_id,
    k.name,
    k.location,
    k.last_seen_at,
    COALESCE(j.pending, (0)::bigint) AS pending,
    COALESCE(j.dispensing, (0)::bigint) AS dispensing,
    COALESCE(j.reconciliation, (0)::bigint) AS needs_reconciliation,
    COALESCE(j.failed, (0)::bigint) AS failed,
    ( SELECT count(*) AS count
           FROM (atm.alerts a
             JOIN atm.dispense_jobs d ON ((d.id = a.job_id)))
          WHERE ((d.kiosk_id = k.kiosk_id) AND (a.resolved_at IS NULL))) AS open_alerts,
        CASE
            WHEN ((k.last_seen_at IS NULL) OR (k.last_seen_at < (now() - '00:02:00'::interval))) THEN 'offline'::text
            WHEN ((COALESCE(j.reconciliation, (0)::bigint) > 0) OR (COALESCE(j.failed, (0)::bigint) > 0)) THEN 'attention'::text
            WHEN (COALESCE(j.pending, (0)::bigint) > 5) THEN 'backlogged'::text
            ELSE 'healthy'::text
        END AS status
   FROM (kiosk.kiosks k
     LEFT JOIN ( SELECT d.kiosk_id,
            count(*) FILTER (WHERE ((d.status)::text = ANY (ARRAY['pending'::text, 'retry_wait'::text]))) AS pending,
            count(*) FILTER (WHERE ((d.status)::text = ANY (ARRAY['claimed'::text, 'dispensing'::text]))) AS dispensing,
            count(*) FILTER (WHERE ((d.status)::text = 'needs_reconciliation'::text)) AS reconciliation,
            count(*) FILTER (WHERE ((d.status)::text = 'failed'::text)) AS failed
           FROM atm.dispense_jobs d
          GROUP BY d.kiosk_id) j ON ((j.kiosk_id = k.kiosk_id)))
  WHERE (k.kind = 'atm'::text);


ALTER TABLE atm.kiosk_health OWNER TO postgres;

--
-- Name: refunds_due; Type: VIEW; Schema: atm; Owner: postgres
--

CREATE VIEW atm.refunds_due WITH (security_invoker='true') AS
 SELECT r.id AS refund_id,
    r.created_at,
    t.kiosk_id,
    r.transaction_id,
    r.world_payment_id,
    r.reason,
    r.amount,
    r.currency
   FROM (atm.refunds r
     JOIN atm.transactions t ON ((t.id = r.transaction_id)))
  WHERE (r.status = 'due'::text);


ALTER TABLE atm.refunds_due OWNER TO postgres;

--
-- Name: refunds_id_seq; Type: SEQUENCE; Schema: atm; Owner: postgres
--

ALTER TABLE atm.refunds ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME atm.refunds_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: transaction_events; Type: TABLE; Schema: atm; Owner: postgres
--

CREATE TABLE atm.transaction_events (
    id bigint NOT NULL,
    transaction_id uuid NOT NULL,
    old_status text,
    new_status text NOT NULL,
    actor text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);


ALTER TABLE atm.transaction_events OWNER TO postgres;

--
-- Name: transaction_events_id_seq; Type: SEQUENCE; Schema: atm; Owner: postgres
--

ALTER TABLE atm.transaction_events ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME atm.transaction_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: transaction_summary; Type: VIEW; Schema: atm; Owner: postgres
--

CREATE VIEW atm.transaction_summary AS
 SELECT ((t.created_at AT TIME ZONE 'UTC'::text))::date AS day,
    t.kiosk_id,
    count(*) AS transactions,
    count(*) FILTER (WHERE (t.paid_at IS NOT NULL)) AS paid,
    COALESCE(sum(t.amount) FILTER (WHERE (t.paid_at IS NOT NULL)), (0)::numeric) AS amount,
    COALESCE(sum(t.fee) FILTER (WHERE (t.paid_at IS NOT NULL)), (0)::numeric) AS fees,
    count(*) FILTER (WHERE (t.status = 'completed'::text)) AS completed,
    round(((count(*) FILTER (WHERE (t.status = 'completed'::text)))::numeric / (count(*))::numeric), 4) AS success_rate
   FROM atm.transactions t
  GROUP BY (((t.created_at AT TIME ZONE 'UTC'::text))::date), t.kiosk_id;


ALTER TABLE atm.transaction_summary OWNER TO postgres;

--
-- Name: bar_orders; Type: TABLE; Schema: cards; Owner: postgres
--

CREATE TABLE cards.bar_orders (
    order_id bigint NOT NULL,
    card_id text NOT NULL,
    point_of_sale text NOT NULL,
    staff_id text NOT NULL,
    total bigint NOT NULL,
    deposit_total bigint DEFAULT 0 NOT NULL,
    lines jsonb NOT NULL,
    transfer_id bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);


ALTER TABLE cards.bar_orders OWNER TO postgres;

--
-- Name: bar_orders_order_id_seq; Type: SEQUENCE; Schema: cards; Owner: postgres
--

ALTER TABLE cards.bar_orders ALTER COLUMN order_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME cards.bar_orders_order_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: card_debts; Type: TABLE; Schema: cards; Owner: postgres
--

CREATE TABLE cards.card_debts (
    id bigint NOT NULL,
    card_id text NOT NULL,
    amount bigint NOT NULL,
    reason text NOT NULL,
    payment_intent text,
    transfer_id bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT card_debts_amount_check CHECK ((amount <> 0))
);


ALTER TABLE cards.card_debts OWNER TO postgres;

--
-- Name: card_debts_id_seq; Type: SEQUENCE; Schema: cards; Owner: postgres
--

ALTER TABLE cards.card_debts ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME cards.card_debts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: card_events; Type: TABLE; Schema: cards; Owner: postgres
--

CREATE TABLE cards.card_events (
    id bigint NOT NULL,
    card_id text NOT NULL,
    old_status text,
    new_status text NOT NULL,
    reason text,
    actor text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);


ALTER TABLE cards.card_events OWNER TO postgres;

--
-- Name: card_events_id_seq; Type: SEQUENCE; Schema: cards; Owner: postgres
--

ALTER TABLE cards.card_events ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME cards.card_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: stripe_payments; Type: TABLE; Schema: cards; Owner: postgres
--

CREATE TABLE cards.stripe_payments (
    payment_intent text NOT NULL,
    session_id text,
    intent_id uuid,
    card_id text,
    amount_credited bigint DEFAULT 0 NOT NULL,
    currency text,
    refunded_seen bigint DEFAULT 0 NOT NULL,
    refunded_applied bigint DEFAULT 0 NOT NULL,
    disputed boolean DEFAULT false NOT NULL,
    credited_at timestamp with time zone,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT stripe_payments_amount_credited_check CHECK ((amount_credited >= 0)),
    CONSTRAINT stripe_payments_refunded_applied_check CHECK ((refunded_applied >= 0)),
    CONSTRAINT stripe_payments_refunded_seen_check CHECK ((refunded_seen >= 0))
);


ALTER TABLE cards.stripe_payments OWNER TO postgres;

--
-- Name: cards_with_debt_or_disputes; Type: VIEW; Schema: cards; Owner: postgres
--

CREATE VIEW cards.cards_with_debt_or_disputes AS
 SELECT c.card_id,
    c.status,
    ( SELECT COALESCE(sum(d.amount), (0)::numeric) AS "coalesce"
           FROM cards.card_debts d
          WHERE (d.card_id = c.card_id)) AS debt,
    (EXISTS ( SELECT 1
           FROM cards.stripe_payments p
          WHERE ((p.card_id = c.card_id) AND p.disputed))) AS disputed
   FROM cards.cards c
  WHERE ((( SELECT COALESCE(sum(d.amount), (0)::numeric) AS "coalesce"
           FROM cards.card_debts d
          WHERE (d.card_id = c.card_id)) > (0)::numeric) OR (EXISTS ( SELECT 1
           FROM cards.stripe_payments p
          WHERE ((p.card_id = c.card_id) AND p.disputed))));


ALTER TABLE cards.cards_with_debt_or_disputes OWNER TO postgres;

--
-- Name: deposit_returns; Type: TABLE; Schema: cards; Owner: postgres
--

CREATE TABLE cards.deposit_returns (
    id bigint NOT NULL,
    card_id text NOT NULL,
    quantity integer NOT NULL,
    amount bigint NOT NULL,
    point_of_sale text NOT NULL,
    staff_id text NOT NULL,
    transfer_id bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT deposit_returns_amount_check CHECK ((amount > 0)),
    CONSTRAINT deposit_returns_quantity_check CHECK (((quantity >= 1) AND (quantity <= 100)))
);


ALTER TABLE cards.deposit_returns OWNER TO postgres;

--
-- Name: deposit_returns_id_seq; Type: SEQUENCE; Schema: cards; Owner: postgres
--

ALTER TABLE cards.deposit_returns ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME cards.deposit_returns_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: deposits_outstanding; Type: TABLE; Schema: cards; Owner: postgres
--

CREATE TABLE cards.deposits_outstanding (
    card_id text NOT NULL,
    product_id text NOT NULL,
    unit_price bigint NOT NULL,
    quantity integer NOT NULL,
    CONSTRAINT deposits_outstanding_quantity_check CHECK ((quantity >= 0)),
    CONSTRAINT deposits_outstanding_unit_price_check CHECK ((unit_price > 0))
);


ALTER TABLE cards.deposits_outstanding OWNER TO postgres;

--
-- Name: held_payments; Type: TABLE; Schema: cards; Owner: postgres
--

CREATE TABLE cards.held_payments (
    held_id bigint NOT NULL,
    card_id text NOT NULL,
    payment_intent text NOT NULL,
    session_id text,
    reason text NOT NULL,
    amount bigint NOT NULL,
    released bigint DEFAULT 0 NOT NULL,
    currency text NOT NULL,
    transfer_id bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    resolved_at timestamp with time zone,
    CONSTRAINT held_payments_amount_check CHECK ((amount > 0)),
    CONSTRAINT held_payments_check CHECK (((released >= 0) AND (released <= amount))),
    CONSTRAINT held_payments_check1 CHECK (((resolved_at IS NOT NULL) = (released = amount))),
    CONSTRAINT held_payments_reason_check CHECK ((reason = ANY (ARRAY['duplicate_session'::text, 'card_blocked'::text, 'refund_already_exported'::text, 'card_frozen'::text])))
);


ALTER TABLE cards.held_payments OWNER TO postgres;

--
-- Name: held_payments_held_id_seq; Type: SEQUENCE; Schema: cards; Owner: postgres
--

ALTER TABLE cards.held_payments ALTER COLUMN held_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME cards.held_payments_held_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: nfc_scans; Type: TABLE; Schema: cards; Owner: postgres
--

CREATE TABLE cards.nfc_scans (
    id bigint NOT NULL,
    card_id text NOT NULL,
    device_id text NOT NULL,
    location text,
    status text NOT NULL,
    duplicate boolean NOT NULL,
    staff_id text NOT NULL,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL
);


ALTER TABLE cards.nfc_scans OWNER TO postgres;

--
-- Name: nfc_scans_id_seq; Type: SEQUENCE; Schema: cards; Owner: postgres
--

ALTER TABLE cards.nfc_scans ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME cards.nfc_scans_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: open_held_payments; Type: VIEW; Schema: cards; Owner: postgres
--

CREATE VIEW cards.open_held_payments AS
 SELECT h.held_id,
    h.card_id,
    c.status AS card_status,
    h.reason,
    h.payment_intent,
    h.session_id,
    h.amount,
    (h.amount - h.released) AS remaining,
    h.currency,
    h.created_at
   FROM (cards.held_payments h
     JOIN cards.cards c USING (card_id))
  WHERE (h.resolved_at IS NULL)
  ORDER BY h.held_id;


ALTER TABLE cards.open_held_payments OWNER TO postgres;

--
-- Name: order_lines; Type: VIEW; Schema: cards; Owner: postgres
--

CREATE VIEW cards.order_lines AS
 SELECT o.order_id,
    o.card_id,
    o.point_of_sale,
    o.created_at,
    l.product_id,
    l.quantity,
    l.unit_price,
    l.is_deposit
   FROM (cards.bar_orders o
     CROSS JOIN LATERAL jsonb_to_recordset(o.lines) l(product_id text, quantity integer, unit_price bigint, is_deposit boolean));


ALTER TABLE cards.order_lines OWNER TO postgres;

--
-- Name: products; Type: TABLE; Schema: cards; Owner: postgres
--

CREATE TABLE cards.products (
    product_id text NOT NULL,
    name text NOT NULL,
    category text NOT NULL,
    price bigint NOT NULL,
    is_deposit boolean DEFAULT false NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_by text,
    CONSTRAINT products_category_check CHECK (((length(category) >= 1) AND (length(category) <= 100))),
    CONSTRAINT products_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
    CONSTRAINT products_price_check CHECK ((price > 0)),
    CONSTRAINT products_product_id_check CHECK ((product_id ~ '^[A-Za-z0-9_.-]{1,64}$'::text))
);


ALTER TABLE cards.products OWNER TO postgres;

--
-- Name: recharges; Type: TABLE; Schema: cards; Owner: postgres
--

CREATE TABLE cards.recharges (
    id bigint NOT NULL,
    card_id text NOT NULL,
    method text NOT NULL,
    amount bigint NOT NULL,
    checkpoint_id text,
    staff_id text,
    payment_intent text,
    transfer_id bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT recharges_amount_check CHECK ((amount > 0)),
    CONSTRAINT recharges_check CHECK (((method = 'stripe'::text) = (payment_intent IS NOT NULL))),
    CONSTRAINT recharges_check1 CHECK (((method = 'stripe'::text) OR ((checkpoint_id IS NOT NULL) AND (staff_id IS NOT NULL)))),
    CONSTRAINT recharges_method_check CHECK ((method = ANY (ARRAY['cash'::text, 'card'::text, 'stripe'::text])))
);


ALTER TABLE cards.recharges OWNER TO postgres;

--
-- Name: recharges_id_seq; Type: SEQUENCE; Schema: cards; Owner: postgres
--

ALTER TABLE cards.recharges ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME cards.recharges_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: recharges_per_checkpoint; Type: VIEW; Schema: cards; Owner: postgres
--

CREATE VIEW cards.recharges_per_checkpoint AS
 SELECT COALESCE(r.checkpoint_id, 'online'::text) AS checkpoint_id,
    r.method,
    count(*) AS recharges,
    sum(r.amount) AS amount
   FROM cards.recharges r
  GROUP BY COALESCE(r.checkpoint_id, 'online'::text), r.method;


ALTER TABLE cards.recharges_per_checkpoint OWNER TO postgres;

--
-- Name: refund_codes; Type: TABLE; Schema: cards; Owner: postgres
--

CREATE TABLE cards.refund_codes (
    card_id text NOT NULL,
    code_hash text NOT NULL,
    source text NOT NULL,
    failed_attempts integer DEFAULT 0 NOT NULL,
    locked_until timestamp with time zone,
    set_by text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT refund_codes_card_id_check CHECK ((card_id ~ '^[A-Z0-9]{8}$'::text)),
    CONSTRAINT refund_codes_failed_attempts_check CHECK ((failed_attempts >= 0)),
    CONSTRAINT refund_codes_source_check CHECK ((source = ANY (ARRAY['issued'::text, 'imported'::text])))
);


ALTER TABLE cards.refund_codes OWNER TO postgres;

--
-- Name: refund_exports; Type: TABLE; Schema: cards; Owner: postgres
--

CREATE TABLE cards.refund_exports (
    export_id bigint NOT NULL,
    message_id text NOT NULL,
    count integer NOT NULL,
    total bigint NOT NULL,
    xml text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    created_by text
);


ALTER TABLE cards.refund_exports OWNER TO postgres;

--
-- Name: refund_exports_export_id_seq; Type: SEQUENCE; Schema: cards; Owner: postgres
--

ALTER TABLE cards.refund_exports ALTER COLUMN export_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME cards.refund_exports_export_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: refund_requests; Type: TABLE; Schema: cards; Owner: postgres
--

CREATE TABLE cards.refund_requests (
    refund_id bigint NOT NULL,
    card_id text NOT NULL,
    name text NOT NULL,
    email text NOT NULL,
    iban text NOT NULL,
    amount bigint NOT NULL,
    fee bigint NOT NULL,
    currency text NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    export_id bigint,
    transfer_id bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    proof text,
    filed_by_role text,
    filed_by text,
    CONSTRAINT refund_requests_amount_check CHECK ((amount > 0)),
    CONSTRAINT refund_requests_fee_check CHECK ((fee >= 0)),
    CONSTRAINT refund_requests_proof_check CHECK ((proof = ANY (ARRAY['refund_code'::text, 'desk'::text]))),
    CONSTRAINT refund_requests_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'exported'::text])))
);


ALTER TABLE cards.refund_requests OWNER TO postgres;

--
-- Name: refund_requests_refund_id_seq; Type: SEQUENCE; Schema: cards; Owner: postgres
--

ALTER TABLE cards.refund_requests ALTER COLUMN refund_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME cards.refund_requests_refund_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: sales_per_pos_day; Type: VIEW; Schema: cards; Owner: postgres
--

CREATE VIEW cards.sales_per_pos_day AS
 SELECT o.point_of_sale,
    ((o.created_at AT TIME ZONE 'UTC'::text))::date AS day,
    count(*) AS orders,
    sum((o.total - o.deposit_total)) AS sales,
    sum(o.deposit_total) AS deposits_taken
   FROM cards.bar_orders o
  GROUP BY o.point_of_sale, (((o.created_at AT TIME ZONE 'UTC'::text))::date);


ALTER TABLE cards.sales_per_pos_day OWNER TO postgres;

--
-- Name: stripe_events; Type: TABLE; Schema: cards; Owner: postgres
--

CREATE TABLE cards.stripe_events (
    event_id text NOT NULL,
    type text NOT NULL,
    outcome text NOT NULL,
    payload jsonb NOT NULL,
    received_at timestamp with time zone DEFAULT now() NOT NULL,
    raw_payload text,
    payload_sha256 bytea
);


ALTER TABLE cards.stripe_events OWNER TO postgres;

--
-- Name: top_products; Type: VIEW; Schema: cards; Owner: postgres
--

CREATE VIEW cards.top_products AS
 SELECT l.product_id,
    p.name,
    p.category,
    sum(l.quantity) AS units,
    sum((l.quantity * l.unit_price)) AS revenue
   FROM (cards.order_lines l
     JOIN cards.products p USING (product_id))
  WHERE (NOT l.is_deposit)
  GROUP BY l.product_id, p.name, p.category
  ORDER BY (sum((l.quantity * l.unit_price))) DESC;


ALTER TABLE cards.top_products OWNER TO postgres;

--
-- Name: catalog_history; Type: TABLE; Schema: checkout; Owner: postgres
--

CREATE TABLE checkout.catalog_history (
    version bigint NOT NULL,
    sku text NOT NULL,
    name text NOT NULL,
    price bigint NOT NULL,
    currency text NOT NULL,
    active boolean NOT NULL,
    actor text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT catalog_history_version_check CHECK ((version > 0))
);


ALTER TABLE checkout.catalog_history OWNER TO postgres;

--
-- Name: catalog_items; Type: TABLE; Schema: checkout; Owner: postgres
--

CREATE TABLE checkout.catalog_items (
    sku text NOT NULL,
    name text NOT NULL,
    price bigint NOT NULL,
    currency text NOT NULL,
    active boolean NOT NULL,
    version bigint NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT catalog_items_currency_check CHECK ((currency ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT catalog_items_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
    CONSTRAINT catalog_items_price_check CHECK (((price >= 1) AND (price <= 10000000))),
    CONSTRAINT catalog_items_sku_check CHECK ((sku ~ '^[A-Za-z0-9_.:-]{1,64}$'::text))
);


ALTER TABLE checkout.catalog_items OWNER TO postgres;

--
-- Name: edge_backlog; Type: TABLE; Schema: checkout; Owner: postgres
--

CREATE TABLE checkout.edge_backlog (
    kiosk_id text NOT NULL,
    oldest_pending_at timestamp with time zone,
    reported_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT edge_backlog_oldest_pending_at_finite CHECK (isfinite(oldest_pending_at))
);


ALTER TABLE checkout.edge_backlog OWNER TO postgres;

--
-- Name: order_lines; Type: TABLE; Schema: checkout; Owner: postgres
--

CREATE TABLE checkout.order_lines (
    order_id text NOT NULL,
    line_no integer NOT NULL,
    sku text NOT NULL,
    qty integer NOT NULL,
    unit_price bigint NOT NULL,
    catalog_price bigint,
    price_flag text,
    CONSTRAINT order_lines_line_no_check CHECK ((line_no > 0)),
    CONSTRAINT order_lines_price_flag_check CHECK ((price_flag = ANY (ARRAY['price_differs'::text, 'not_in_version'::text, 'inactive_in_version'::text]))),
    CONSTRAINT order_lines_qty_check CHECK (((qty >= 1) AND (qty <= 200))),
    CONSTRAINT order_lines_unit_price_check CHECK (((unit_price >= 1) AND (unit_price <= 10000000)))
);


ALTER TABLE checkout.order_lines OWNER TO postgres;

--
-- Name: flagged_lines; Type: VIEW; Schema: checkout; Owner: postgres
--

CREATE VIEW checkout.flagged_lines AS
 SELECT o.kiosk_id,
    l.order_id,
    l.line_no,
    l.sku,
    l.qty,
    l.unit_price,
    l.catalog_price,
    l.price_flag,
    o.catalog_version,
    o.sold_at
   FROM (checkout.order_lines l
     JOIN checkout.orders o ON ((o.order_id = l.order_id)))
  WHERE (l.price_flag IS NOT NULL);


ALTER TABLE checkout.flagged_lines OWNER TO postgres;

--
-- Name: refused_orders; Type: TABLE; Schema: checkout; Owner: postgres
--

CREATE TABLE checkout.refused_orders (
    id bigint NOT NULL,
    kiosk_id text NOT NULL,
    idempotency_key text,
    status text NOT NULL,
    reason text NOT NULL,
    message text NOT NULL,
    payload jsonb NOT NULL,
    payload_hash bytea NOT NULL,
    times integer DEFAULT 1 NOT NULL,
    first_seen_at timestamp with time zone DEFAULT now() NOT NULL,
    last_seen_at timestamp with time zone DEFAULT now() NOT NULL,
    resolved_at timestamp with time zone,
    CONSTRAINT refused_orders_status_check CHECK ((status = ANY (ARRAY['mismatch'::text, 'rejected'::text])))
);


ALTER TABLE checkout.refused_orders OWNER TO postgres;

--
-- Name: sync_batches; Type: TABLE; Schema: checkout; Owner: postgres
--

CREATE TABLE checkout.sync_batches (
    id bigint NOT NULL,
    kiosk_id text NOT NULL,
    orders integer NOT NULL,
    accepted integer NOT NULL,
    duplicate integer NOT NULL,
    mismatch integer NOT NULL,
    rejected integer NOT NULL,
    received_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT sync_batches_check CHECK ((orders = (((accepted + duplicate) + mismatch) + rejected)))
);


ALTER TABLE checkout.sync_batches OWNER TO postgres;

--
-- Name: kiosk_status; Type: VIEW; Schema: checkout; Owner: postgres
--

CREATE VIEW checkout.kiosk_status WITH (security_invoker='true') AS
 SELECT k.kiosk_id,
    k.name,
    k.location,
    k.app_version,
    k.last_seen_at,
    k.link_up,
    COALESCE(((k.last_seen_at >= (now() - make_interval(secs => ((core.setting('checkout.online_seconds'::text))::integer)::double precision))) AND k.link_up), false) AS online,
    COALESCE(k.pending_orders, 0) AS pending_orders,
        CASE
            WHEN (k.pending_orders > 0) THEN b.oldest_pending_at
            ELSE NULL::timestamp with time zone
        END AS oldest_pending_at,
        CASE
            WHEN ((k.pending_orders > 0) AND (b.oldest_pending_at IS NOT NULL)) THEN (GREATEST((0)::numeric, floor(EXTRACT(epoch FROM (now() - b.oldest_pending_at)))))::bigint
            ELSE NULL::bigint
        END AS oldest_unsynced_age_seconds,
    COALESCE(t.orders, (0)::bigint) AS orders_today,
    COALESCE(t.revenue, '{}'::jsonb) AS revenue_today,
    t.last_sale_at,
    s.last_sync_at,
    COALESCE(r.open, (0)::bigint) AS refused_orders
   FROM ((((kiosk.kiosks k
     LEFT JOIN checkout.edge_backlog b ON ((b.kiosk_id = k.kiosk_id)))
     LEFT JOIN LATERAL ( SELECT (sum(c.n))::bigint AS orders,
            jsonb_object_agg(c.currency, c.revenue) AS revenue,
            max(c.last_sale) AS last_sale_at
           FROM ( SELECT o.currency,
                    count(*) AS n,
                    (sum(o.total))::bigint AS revenue,
                    max(o.sold_at) AS last_sale
                   FROM checkout.orders o
                  WHERE ((o.kiosk_id = k.kiosk_id) AND (o.sold_at >= lower(checkout.today())) AND (o.sold_at < upper(checkout.today())))
                  GROUP BY o.currency) c) t ON (true))
     LEFT JOIN LATERAL ( SELECT max(sb.received_at) AS last_sync_at
           FROM checkout.sync_batches sb
          WHERE ((sb.kiosk_id = k.kiosk_id) AND ((sb.accepted + sb.duplicate) > 0))) s ON (true))
     LEFT JOIN LATERAL ( SELECT count(*) AS open
           FROM checkout.refused_orders f
          WHERE ((f.kiosk_id = k.kiosk_id) AND (f.resolved_at IS NULL))) r ON (true))
  WHERE (k.kind = 'checkout'::text);


ALTER TABLE checkout.kiosk_status OWNER TO postgres;

--
-- Name: refused_orders_id_seq; Type: SEQUENCE; Schema: checkout; Owner: postgres
--

ALTER TABLE checkout.refused_orders ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME checkout.refused_orders_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: sales_per_kiosk_day; Type: VIEW; Schema: checkout; Owner: postgres
--

CREATE VIEW checkout.sales_per_kiosk_day AS
 SELECT ((o.sold_at AT TIME ZONE (core.setting('checkout.timezone'::text) #>> '{}'::text[])))::date AS day,
    o.kiosk_id,
    o.currency,
    count(*) AS orders,
    (sum(o.total))::bigint AS revenue,
    sum(o.flagged_lines) AS flagged_lines,
    max((o.received_at - o.created_at)) AS max_sync_delay
   FROM checkout.orders o
  GROUP BY (((o.sold_at AT TIME ZONE (core.setting('checkout.timezone'::text) #>> '{}'::text[])))::date), o.kiosk_id, o.currency;


ALTER TABLE checkout.sales_per_kiosk_day OWNER TO postgres;

--
-- Name: sync_batches_id_seq; Type: SEQUENCE; Schema: checkout; Owner: postgres
--

ALTER TABLE checkout.sync_batches ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME checkout.sync_batches_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: postings; Type: TABLE; Schema: ledger; Owner: postgres
--

CREATE TABLE ledger.postings (
    id bigint NOT NULL,
    transfer_id bigint NOT NULL,
    account_id bigint NOT NULL,
    amount bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);


ALTER TABLE ledger.postings OWNER TO postgres;

--
-- Name: transfers; Type: TABLE; Schema: ledger; Owner: postgres
--

CREATE TABLE ledger.transfers (
    id bigint NOT NULL,
    kind ledger.kind NOT NULL,
    idempotency_key text,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);


ALTER TABLE ledger.transfers OWNER TO postgres;

--
-- Name: unbooked_orders; Type: VIEW; Schema: checkout; Owner: postgres
--

CREATE VIEW checkout.unbooked_orders AS
 SELECT o.order_id,
    o.kiosk_id,
    o.total,
    t.id AS transfer_id,
    p.revenue,
    p.clearing
   FROM ((checkout.orders o
     LEFT JOIN ledger.transfers t ON ((((t.kind)::text = 'checkout_sale'::text) AND (t.idempotency_key = o.order_id))))
     LEFT JOIN LATERAL ( SELECT sum(pp.amount) FILTER (WHERE (((a.kind)::text = 'checkout_revenue'::text) AND (a.owner_ref = o.kiosk_id))) AS revenue,
            sum(pp.amount) FILTER (WHERE (((a.kind)::text = 'checkout_clearing'::text) AND (a.owner_ref = ((o.kiosk_id || ':'::text) || o.payment_method)))) AS clearing,
            count(*) AS legs
           FROM (ledger.postings pp
             JOIN ledger.accounts a ON ((a.id = pp.account_id)))
          WHERE (pp.transfer_id = t.id)) p ON (true))
  WHERE ((t.id IS NULL) OR (p.revenue IS DISTINCT FROM (o.total)::numeric) OR (p.clearing IS DISTINCT FROM ((- o.total))::numeric) OR (p.legs <> 2))
UNION ALL
 SELECT t.idempotency_key AS order_id,
    NULL::text AS kiosk_id,
    NULL::bigint AS total,
    t.id AS transfer_id,
    NULL::numeric AS revenue,
    NULL::numeric AS clearing
   FROM ledger.transfers t
  WHERE (((t.kind)::text = 'checkout_sale'::text) AND (NOT (EXISTS ( SELECT 1
           FROM checkout.orders o
          WHERE (o.order_id = t.idempotency_key)))));


ALTER TABLE checkout.unbooked_orders OWNER TO postgres;

--
-- Name: machine_errors; Type: TABLE; Schema: dex; Owner: postgres
--

CREATE TABLE dex.machine_errors (
    id bigint NOT NULL,
    machine_id bigint NOT NULL,
    company_id text NOT NULL,
    source text NOT NULL,
    code text NOT NULL,
    detail text,
    first_read_id bigint NOT NULL,
    last_read_id bigint NOT NULL,
    first_seen_at timestamp with time zone NOT NULL,
    last_seen_at timestamp with time zone NOT NULL,
    reads integer DEFAULT 1 NOT NULL,
    resolved_at timestamp with time zone,
    resolved_by text,
    resolution_note text,
    reopened_at timestamp with time zone,
    CONSTRAINT machine_errors_source_check CHECK ((source = ANY (ARRAY['MA5'::text, 'EA2'::text])))
);


ALTER TABLE dex.machine_errors OWNER TO postgres;

--
-- Name: machine_state; Type: TABLE; Schema: dex; Owner: postgres
--

CREATE TABLE dex.machine_state (
    machine_id bigint NOT NULL,
    company_id text NOT NULL,
    last_capture_id bigint,
    last_read_id bigint,
    last_read_at timestamp with time zone,
    reads bigint DEFAULT 0 NOT NULL,
    firmware text,
    temperature_c numeric(6,2),
    target_temperature_c numeric(6,2),
    tubes jsonb DEFAULT '[]'::jsonb NOT NULL,
    tubes_value bigint,
    product_count integer DEFAULT 0 NOT NULL,
    unresolved_errors integer DEFAULT 0 NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    last_received_at timestamp with time zone,
    last_read_time_source text,
    CONSTRAINT machine_state_last_read_time_source_check CHECK ((last_read_time_source = ANY (ARRAY['captured_at'::text, 'machine_clock'::text, 'received'::text])))
);


ALTER TABLE dex.machine_state OWNER TO postgres;

--
-- Name: alert_conditions; Type: VIEW; Schema: core; Owner: postgres
--

CREATE VIEW core.alert_conditions AS
 SELECT 'atm'::text AS domain,
    'payout_failed'::text AS kind,
    ('job:'::text || j.id) AS subject,
    k.company_id,
    'critical'::text AS severity,
    format('Payout failed on kiosk %s: job %s paid %s of %s quarters (%s)'::text, j.kiosk_id, j.id, j.coins_paid, j.quarters, COALESCE(j.last_error, 'no error reported'::text)) AS message,
    jsonb_build_object('job_id', j.id, 'kiosk_id', j.kiosk_id, 'transaction_id', j.transaction_id, 'coins_paid', j.coins_paid, 'quarters', j.quarters, 'attempts', j.attempts, 'last_error', j.last_error) AS details
   FROM (atm.dispense_jobs j
     JOIN kiosk.kiosks k ON ((k.kiosk_id = j.kiosk_id)))
  WHERE ((j.status)::text = 'failed'::text)
UNION ALL
 SELECT 'atm'::text AS domain,
    'reconciliation_needed'::text AS kind,
    ('job:'::text || j.id) AS subject,
    k.company_id,
    'critical'::text AS severity,
    format('Kiosk %s: job %s needs reconciliation (paid %s of %s quarters as far as known)'::text, j.kiosk_id, j.id, j.coins_paid, j.quarters) AS message,
    jsonb_build_object('job_id', j.id, 'kiosk_id', j.kiosk_id, 'transaction_id', j.transaction_id, 'coins_paid', j.coins_paid, 'quarters', j.quarters, 'last_error', j.last_error) AS details
   FROM (atm.dispense_jobs j
     JOIN kiosk.kiosks k ON ((k.kiosk_id = j.kiosk_id)))
  WHERE ((j.status)::text = 'needs_reconciliation'::text)
UNION ALL
 SELECT 'atm'::text AS domain,
    'refund_due'::text AS kind,
    ('refund:'::text || r.id) AS subject,
    k.company_id,
    'warning'::text AS severity,
    format('Kiosk %s: %s %s to pay back (%s payment)'::text, t.kiosk_id, r.amount, r.currency, r.reason) AS message,
    jsonb_build_object('refund_id', r.id, 'transaction_id', r.transaction_id, 'kiosk_id', t.kiosk_id, 'reason', r.reason, 'amount', r.amount, 'currency', r.currency, 'created_at', r.created_at) AS details
   FROM ((atm.refunds r
     JOIN atm.transactions t ON ((t.id = r.transaction_id)))
     JOIN kiosk.kiosks k ON ((k.kiosk_id = t.kiosk_id)))
  WHERE (r.status = 'due'::text)
UNION ALL
 SELECT 'festival'::text AS domain,
    'payment_on_inactive_card'::text AS kind,
    ('held:'::text || h.held_id) AS subject,
    NULL::text AS company_id,
    'warning'::text AS severity,
    format('Card %s: %s %s held (%s); refund it at Stripe'::text, h.card_id, (h.amount - h.released), h.currency, h.reason) AS message,
    jsonb_build_object('held_id', h.held_id, 'card_id', h.card_id, 'reason', h.reason, 'amount', h.amount, 'released', h.released, 'currency', h.currency, 'payment_intent', h.payment_intent, 'created_at', h.created_at) AS details
   FROM cards.held_payments h
  WHERE (h.resolved_at IS NULL)
UNION ALL
 SELECT 'festival'::text AS domain,
    'refund_export_overdue'::text AS kind,
    'card_refunds'::text AS subject,
    NULL::text AS company_id,
    'warning'::text AS severity,
    format('%s card refund(s) pending for over %s days: run refund_export'::text, count(*), (core.setting('alerts.refund_export_days'::text))::integer) AS message,
    jsonb_build_object('refunds', count(*), 'amount', sum(r.amount), 'oldest_at', min(r.created_at)) AS details
   FROM cards.refund_requests r
  WHERE ((r.status = 'pending'::text) AND (r.currency = 'EUR'::text) AND (r.created_at < (now() - make_interval(days => (core.setting('alerts.refund_export_days'::text))::integer))))
 HAVING (count(*) > 0)
UNION ALL
 SELECT 'festival'::text AS domain,
    'refund_not_exportable'::text AS kind,
    ('refund:'::text || r.refund_id) AS subject,
    NULL::text AS company_id,
    'warning'::text AS severity,
    format('Card %s: refund of %s %s cannot go into a SEPA (EUR) export; pay it another way'::text, r.card_id, r.amount, r.currency) AS message,
    jsonb_build_object('refund_id', r.refund_id, 'card_id', r.card_id, 'amount', r.amount, 'currency', r.currency, 'created_at', r.created_at) AS details
   FROM cards.refund_requests r
  WHERE ((r.status = 'pending'::text) AND (r.currency <> 'EUR'::text))
UNION ALL
 SELECT 'checkout'::text AS domain,
    'refused_order'::text AS kind,
    ('refused:'::text || f.id) AS subject,
    k.company_id,
    'warning'::text AS severity,
    format('Kiosk %s: order %s refused (%s: %s)'::text, f.kiosk_id, COALESCE(f.idempotency_key, '(no key)'::text), f.reason, f.message) AS message,
    jsonb_build_object('refused_id', f.id, 'kiosk_id', f.kiosk_id, 'idempotency_key', f.idempotency_key, 'status', f.status, 'reason', f.reason, 'first_seen_at', f.first_seen_at) AS details
   FROM (checkout.refused_orders f
     JOIN kiosk.kiosks k ON ((k.kiosk_id = f.kiosk_id)))
  WHERE (f.resolved_at IS NULL)
UNION ALL
 SELECT 'checkout'::text AS domain,
    'kiosk_offline'::text AS kind,
    s.kiosk_id AS subject,
    k.company_id,
    'warning'::text AS severity,
    format('Kiosk %s (%s) offline since %s'::text, s.kiosk_id, s.name, COALESCE(to_char((s.last_seen_at AT TIME ZONE 'UTC'::text), 'YYYY-MM-DD HH24:MI:SS "UTC"'::text), 'registration'::text)) AS message,
    jsonb_build_object('kiosk_id', s.kiosk_id, 'last_seen_at', s.last_seen_at, 'link_up', s.link_up) AS details
   FROM (checkout.kiosk_status s
     JOIN kiosk.kiosks k ON ((k.kiosk_id = s.kiosk_id)))
  WHERE ((NOT s.online) AND (COALESCE(s.last_seen_at, k.created_at) < (now() - make_interval(secs => ((core.setting('alerts.checkout_offline_seconds'::text))::integer)::double precision))))
UNION ALL
 SELECT 'checkout'::text AS domain,
    'backlog_age'::text AS kind,
    s.kiosk_id AS subject,
    k.company_id,
    'warning'::text AS severity,
    format('Kiosk %s: unsynced orders since %s'::text, s.kiosk_id, to_char((s.oldest_pending_at AT TIME ZONE 'UTC'::text), 'YYYY-MM-DD HH24:MI:SS "UTC"'::text)) AS message,
    jsonb_build_object('kiosk_id', s.kiosk_id, 'oldest_pending_at', s.oldest_pending_at) AS details
   FROM (checkout.kiosk_status s
     JOIN kiosk.kiosks k ON ((k.kiosk_id = s.kiosk_id)))
  WHERE (s.oldest_unsynced_age_seconds >= (core.setting('alerts.checkout_backlog_seconds'::text))::integer)
UNION ALL
 SELECT 'dex'::text AS domain,
    'machine_fault'::text AS kind,
    m.case_serial AS subject,
    m.company_id,
    'warning'::text AS severity,
    format('Machine %s reports %s fault(s): %s'::text, m.case_serial, count(*), string_agg(((e.source || ' '::text) || e.code), ', '::text ORDER BY e.id)) AS message,
    jsonb_build_object('machine', m.case_serial, 'faults', jsonb_agg(jsonb_build_object('error_id', e.id, 'source', e.source, 'code', e.code, 'first_seen_at', e.first_seen_at) ORDER BY e.id)) AS details
   FROM (dex.machine_errors e
     JOIN dex.machines m ON ((m.id = e.machine_id)))
  WHERE (e.resolved_at IS NULL)
  GROUP BY m.id, m.case_serial, m.company_id
UNION ALL
 SELECT 'dex'::text AS domain,
    'no_recent_data'::text AS kind,
    m.case_serial AS subject,
    m.company_id,
    'warning'::text AS severity,
    format('Machine %s: no DEX read since %s'::text, m.case_serial, COALESCE(to_char((s.last_read_at AT TIME ZONE 'UTC'::text), 'YYYY-MM-DD HH24:MI:SS "UTC"'::text), 'registration'::text)) AS message,
    jsonb_build_object('machine', m.case_serial, 'last_read_at', s.last_read_at) AS details
   FROM (dex.machines m
     LEFT JOIN dex.machine_state s ON ((s.machine_id = m.id)))
  WHERE (COALESCE(s.last_read_at, m.created_at) < (now() - make_interval(hours => (core.setting('alerts.dex_stale_hours'::text))::integer)))
UNION ALL
 SELECT 'dex'::text AS domain,
    'crc_mismatch'::text AS kind,
    m.case_serial AS subject,
    m.company_id,
    'warning'::text AS severity,
    format('Machine %s: the CRC of its latest file (capture %s) does not match: corrupted or forged'::text, m.case_serial, c.id) AS message,
    jsonb_build_object('machine', m.case_serial, 'capture_id', c.id, 'received_at', c.received_at) AS details
   FROM (dex.machines m
     JOIN LATERAL ( SELECT x.id,
            x.received_at,
            x.crc_status
           FROM dex.captures x
          WHERE (x.machine_id = m.id)
          ORDER BY x.id DESC
         LIMIT 1) c ON (true))
  WHERE (c.crc_status = 'mismatch'::text);


ALTER TABLE core.alert_conditions OWNER TO postgres;

--
-- Name: VIEW alert_conditions; Type: COMMENT; Schema: core; Owner: postgres
--

COMMENT ON VIEW core.alert_conditions IS 'Every problem that holds now, one row per (domain, kind, subject): what core.alert_sweep() raises. Upkeep failures are raised by upkeep.run_job instead.';


--
-- Name: alert_events; Type: TABLE; Schema: core; Owner: postgres
--

CREATE TABLE core.alert_events (
    id bigint NOT NULL,
    alert_id bigint NOT NULL,
    company_id text,
    change text NOT NULL,
    alert jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT alert_events_change_check CHECK ((change = ANY (ARRAY['raised'::text, 'updated'::text, 'acknowledged'::text, 'resolved'::text])))
);


ALTER TABLE core.alert_events OWNER TO postgres;

--
-- Name: alert_events_id_seq; Type: SEQUENCE; Schema: core; Owner: postgres
--

ALTER TABLE core.alert_events ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME core.alert_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: alerts_id_seq; Type: SEQUENCE; Schema: core; Owner: postgres
--

ALTER TABLE core.alerts ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME core.alerts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: api_schemas; Type: TABLE; Schema: core; Owner: postgres
--

CREATE TABLE core.api_schemas (
    function text NOT NULL,
    part text NOT NULL,
    schema jsonb NOT NULL,
    CONSTRAINT api_schemas_check CHECK (((part <> 'errors'::text) OR (jsonb_typeof(schema) = 'array'::text))),
    CONSTRAINT api_schemas_check1 CHECK (((part = 'errors'::text) OR (jsonb_typeof(schema) = 'object'::text))),
    CONSTRAINT api_schemas_function_check CHECK ((function ~ '^[a-z][a-z0-9_]*$'::text)),
    CONSTRAINT api_schemas_part_check CHECK ((part <> ''::text))
);


ALTER TABLE core.api_schemas OWNER TO postgres;

--
-- Name: TABLE api_schemas; Type: COMMENT; Schema: core; Owner: postgres
--

COMMENT ON TABLE core.api_schemas IS 'JSON Schemas for /openapi.json: each api function''s result, its arguments'' constraints and jsonb shapes, and error codes it answers with. Rows: sql/<domain>/95_schemas.sql (edit there, then migrate).';


--
-- Name: repeatable_sql; Type: TABLE; Schema: core; Owner: postgres
--

CREATE TABLE core.repeatable_sql (
    id boolean DEFAULT true NOT NULL,
    sha256 text NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT repeatable_sql_id_check CHECK (id)
);


ALTER TABLE core.repeatable_sql OWNER TO postgres;

--
-- Name: catalogue_version; Type: VIEW; Schema: core; Owner: postgres
--

CREATE VIEW core.catalogue_version AS
 SELECT r.sha256 AS sql_sha256,
    r.applied_at AS sql_applied_at,
    ( SELECT max((m.migration_id)::text) AS max
           FROM public._yoyo_migration m) AS migration
   FROM core.repeatable_sql r;


ALTER TABLE core.catalogue_version OWNER TO postgres;

--
-- Name: VIEW catalogue_version; Type: COMMENT; Schema: core; Owner: postgres
--

COMMENT ON VIEW core.catalogue_version IS 'The applied sql/ (sha256, applied_at) and the last migration: what the RPC server polls to notice a migrate.';


--
-- Name: error_codes; Type: TABLE; Schema: core; Owner: postgres
--

CREATE TABLE core.error_codes (
    code text NOT NULL,
    http_status integer NOT NULL,
    description text NOT NULL,
    CONSTRAINT error_codes_code_check CHECK ((code ~ '^[A-Z][A-Z0-9_]*$'::text)),
    CONSTRAINT error_codes_description_check CHECK ((description <> ''::text)),
    CONSTRAINT error_codes_http_status_check CHECK (((http_status >= 400) AND (http_status <= 599)))
);


ALTER TABLE core.error_codes OWNER TO postgres;

--
-- Name: TABLE error_codes; Type: COMMENT; Schema: core; Owner: postgres
--

COMMENT ON TABLE core.error_codes IS 'The HTTP status of every error code the api functions and the RPC server answer with. Rows: sql/00_core/20_error_codes.sql (edit there, then migrate).';


--
-- Name: idempotency_expired; Type: TABLE; Schema: core; Owner: postgres
--

CREATE TABLE core.idempotency_expired (
    scope text NOT NULL,
    principal text NOT NULL,
    key text NOT NULL,
    created_at timestamp with time zone NOT NULL
);


ALTER TABLE core.idempotency_expired OWNER TO postgres;

--
-- Name: idempotency_keys; Type: TABLE; Schema: core; Owner: postgres
--

CREATE TABLE core.idempotency_keys (
    scope text NOT NULL,
    principal text NOT NULL,
    key text NOT NULL,
    request_hash bytea NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);


ALTER TABLE core.idempotency_keys OWNER TO postgres;

--
-- Name: idempotency_responses; Type: TABLE; Schema: core; Owner: postgres
--

CREATE TABLE core.idempotency_responses (
    scope text NOT NULL,
    principal text NOT NULL,
    key text NOT NULL,
    response jsonb NOT NULL,
    decline_code text
);


ALTER TABLE core.idempotency_responses OWNER TO postgres;

--
-- Name: settings; Type: TABLE; Schema: core; Owner: postgres
--

CREATE TABLE core.settings (
    key text NOT NULL,
    value jsonb NOT NULL,
    description text NOT NULL,
    CONSTRAINT settings_key_check CHECK ((key ~ '^[a-z][a-z0-9_.]*$'::text))
);


ALTER TABLE core.settings OWNER TO postgres;

--
-- Name: reads; Type: TABLE; Schema: dex; Owner: postgres
--

CREATE TABLE dex.reads (
    id bigint NOT NULL,
    capture_id bigint NOT NULL,
    machine_id bigint NOT NULL,
    company_id text NOT NULL,
    block_no integer NOT NULL,
    received_at timestamp with time zone NOT NULL,
    previous_read_id bigint,
    crc_status text NOT NULL,
    g85_reported text,
    crc_computed text,
    se_status text NOT NULL,
    se_reported bigint,
    segment_count integer NOT NULL,
    dxs_sender text,
    id1_serial text,
    id1_model text,
    firmware text,
    dex_decimals bigint,
    dex_currency text,
    machine_clock timestamp without time zone,
    ea3_read_count bigint,
    ea3_this_read timestamp without time zone,
    ea3_previous_read timestamp without time zone,
    tubes_value bigint,
    vends_delta bigint,
    revenue_delta bigint,
    delta_kind text,
    warnings text[] DEFAULT '{}'::text[] NOT NULL,
    totals_check text,
    va1_value_modulus bigint,
    va1_count_modulus bigint,
    read_at timestamp with time zone NOT NULL,
    read_at_source text NOT NULL,
    CONSTRAINT reads_crc_status_check CHECK ((crc_status = ANY (ARRAY['ok'::text, 'ok_swapped'::text, 'ok_no_final_crlf'::text, 'not_computed'::text, 'mismatch'::text, 'absent'::text]))),
    CONSTRAINT reads_delta_kind_check CHECK ((delta_kind = ANY (ARRAY['baseline'::text, 'normal'::text, 'wrap'::text, 'reset'::text, 'late'::text, 'unavailable'::text, 'since_reset'::text]))),
    CONSTRAINT reads_read_at_source_check CHECK ((read_at_source = ANY (ARRAY['captured_at'::text, 'machine_clock'::text, 'received'::text]))),
    CONSTRAINT reads_se_status_check CHECK ((se_status = ANY (ARRAY['ok'::text, 'mismatch'::text, 'absent'::text]))),
    CONSTRAINT reads_totals_check_check CHECK ((totals_check = ANY (ARRAY['ok'::text, 'counter_width'::text, 'mismatch'::text]))),
    CONSTRAINT reads_va1_count_modulus_check CHECK ((va1_count_modulus > 0)),
    CONSTRAINT reads_va1_value_modulus_check CHECK ((va1_value_modulus > 0))
);


ALTER TABLE dex.reads OWNER TO postgres;

--
-- Name: capture_log; Type: VIEW; Schema: dex; Owner: postgres
--

CREATE VIEW dex.capture_log WITH (security_invoker='true') AS
 SELECT c.id AS capture_id,
    m.case_serial,
    c.company_id,
    c.received_at,
    c.source,
    c.submitted_by,
    c.bytes,
    encode(c.sha256, 'hex'::text) AS sha256,
    c.parser_version,
    c.status,
    c.reject_reason,
    c.crc_status,
    c.se_status,
    cardinality(c.warnings) AS warning_count,
    c.warnings,
    ( SELECT count(*) AS count
           FROM dex.reads r
          WHERE (r.capture_id = c.id)) AS reads
   FROM (dex.captures c
     JOIN dex.machines m ON ((m.id = c.machine_id)))
  ORDER BY c.id DESC;


ALTER TABLE dex.capture_log OWNER TO postgres;

--
-- Name: captures_id_seq; Type: SEQUENCE; Schema: dex; Owner: postgres
--

ALTER TABLE dex.captures ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME dex.captures_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: captures_to_reparse; Type: VIEW; Schema: dex; Owner: postgres
--

CREATE VIEW dex.captures_to_reparse WITH (security_invoker='true') AS
 SELECT c.id AS capture_id,
    m.case_serial,
    c.received_at,
    c.parser_version,
    c.status
   FROM (dex.captures c
     JOIN dex.machines m ON ((m.id = c.machine_id)))
  WHERE (c.parser_version <> dex.parser_version());


ALTER TABLE dex.captures_to_reparse OWNER TO postgres;

--
-- Name: cash_collections; Type: TABLE; Schema: dex; Owner: postgres
--

CREATE TABLE dex.cash_collections (
    id bigint NOT NULL,
    machine_id bigint NOT NULL,
    company_id text NOT NULL,
    read_id bigint NOT NULL,
    collected_at timestamp with time zone DEFAULT now() NOT NULL,
    collected_by text NOT NULL,
    expected_coins bigint,
    expected_bills bigint
);


ALTER TABLE dex.cash_collections OWNER TO postgres;

--
-- Name: cash_collections_id_seq; Type: SEQUENCE; Schema: dex; Owner: postgres
--

ALTER TABLE dex.cash_collections ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME dex.cash_collections_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: companies; Type: TABLE; Schema: dex; Owner: postgres
--

CREATE TABLE dex.companies (
    company_id text NOT NULL,
    name text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    created_by text,
    CONSTRAINT companies_company_id_check CHECK ((company_id ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'::text)),
    CONSTRAINT companies_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200)))
);


ALTER TABLE dex.companies OWNER TO postgres;

--
-- Name: currency_codes; Type: TABLE; Schema: dex; Owner: postgres
--

CREATE TABLE dex.currency_codes (
    dex_code text NOT NULL,
    currency text NOT NULL,
    CONSTRAINT currency_codes_currency_check CHECK ((currency ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT currency_codes_dex_code_check CHECK ((dex_code ~ '^[01][0-9]{3}$'::text))
);


ALTER TABLE dex.currency_codes OWNER TO postgres;

--
-- Name: fault_codes; Type: TABLE; Schema: dex; Owner: postgres
--

CREATE TABLE dex.fault_codes (
    id integer NOT NULL,
    model_pattern text NOT NULL,
    source text NOT NULL,
    code_regex text NOT NULL,
    is_fault boolean NOT NULL,
    description text NOT NULL,
    CONSTRAINT fault_codes_source_check CHECK ((source = ANY (ARRAY['MA5'::text, 'EA2'::text])))
);


ALTER TABLE dex.fault_codes OWNER TO postgres;

--
-- Name: fault_codes_id_seq; Type: SEQUENCE; Schema: dex; Owner: postgres
--

ALTER TABLE dex.fault_codes ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME dex.fault_codes_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: locations; Type: TABLE; Schema: dex; Owner: postgres
--

CREATE TABLE dex.locations (
    id bigint NOT NULL,
    company_id text NOT NULL,
    name text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    address text,
    created_by text,
    CONSTRAINT locations_address_check CHECK (((address IS NULL) OR ((length(address) >= 1) AND (length(address) <= 500)))),
    CONSTRAINT locations_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200)))
);


ALTER TABLE dex.locations OWNER TO postgres;

--
-- Name: fleet; Type: VIEW; Schema: dex; Owner: postgres
--

CREATE VIEW dex.fleet WITH (security_invoker='true') AS
 SELECT m.case_serial,
    m.company_id,
    l.name AS location,
    m.model,
    m.currency,
    m.decimals,
    s.last_read_at,
    s.reads,
    s.firmware,
    s.temperature_c,
    s.target_temperature_c,
    s.tubes_value,
    s.product_count,
    s.unresolved_errors,
    s.last_capture_id,
    s.last_read_id
   FROM ((dex.machines m
     JOIN dex.machine_state s ON ((s.machine_id = m.id)))
     LEFT JOIN dex.locations l ON ((l.id = m.location_id)));


ALTER TABLE dex.fleet OWNER TO postgres;

--
-- Name: locations_id_seq; Type: SEQUENCE; Schema: dex; Owner: postgres
--

ALTER TABLE dex.locations ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME dex.locations_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: ma5_decoders; Type: TABLE; Schema: dex; Owner: postgres
--

CREATE TABLE dex.ma5_decoders (
    id integer NOT NULL,
    model_pattern text NOT NULL,
    ma5_key text NOT NULL,
    layout text NOT NULL,
    divisor integer,
    reading text NOT NULL,
    note text NOT NULL,
    firmware_pattern text DEFAULT '%'::text NOT NULL,
    candidate_divisors integer[],
    CONSTRAINT ma5_decoders_candidates_known CHECK (((candidate_divisors <@ ARRAY[1, 10, 100]) AND (cardinality(candidate_divisors) >= 2))),
    CONSTRAINT ma5_decoders_divisor_check CHECK ((divisor = ANY (ARRAY[1, 10, 100]))),
    CONSTRAINT ma5_decoders_layout_check CHECK ((layout = ANY (ARRAY['fahrenheit_celsius'::text, 'value_unit'::text]))),
    CONSTRAINT ma5_decoders_ma5_key_check CHECK ((ma5_key = upper(ma5_key))),
    CONSTRAINT ma5_decoders_reading_check CHECK ((reading = ANY (ARRAY['current'::text, 'target'::text]))),
    CONSTRAINT ma5_decoders_scale_known_or_candidates CHECK (((divisor IS NULL) <> (candidate_divisors IS NULL)))
);


ALTER TABLE dex.ma5_decoders OWNER TO postgres;

--
-- Name: ma5_decoders_id_seq; Type: SEQUENCE; Schema: dex; Owner: postgres
--

ALTER TABLE dex.ma5_decoders ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME dex.ma5_decoders_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: machine_errors_id_seq; Type: SEQUENCE; Schema: dex; Owner: postgres
--

ALTER TABLE dex.machine_errors ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME dex.machine_errors_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: machine_slots; Type: TABLE; Schema: dex; Owner: postgres
--

CREATE TABLE dex.machine_slots (
    machine_id bigint NOT NULL,
    company_id text NOT NULL,
    selection text NOT NULL,
    product_code text,
    product_id bigint,
    price bigint,
    capacity bigint,
    first_read_id bigint NOT NULL,
    changed_read_id bigint NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);


ALTER TABLE dex.machine_slots OWNER TO postgres;

--
-- Name: machines_id_seq; Type: SEQUENCE; Schema: dex; Owner: postgres
--

ALTER TABLE dex.machines ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME dex.machines_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: open_errors; Type: VIEW; Schema: dex; Owner: postgres
--

CREATE VIEW dex.open_errors WITH (security_invoker='true') AS
 SELECT e.id AS error_id,
    m.case_serial,
    e.company_id,
    e.source,
    e.code,
    e.detail,
    e.first_seen_at,
    e.last_seen_at,
    e.reads
   FROM (dex.machine_errors e
     JOIN dex.machines m ON ((m.id = e.machine_id)))
  WHERE (e.resolved_at IS NULL)
  ORDER BY e.first_seen_at;


ALTER TABLE dex.open_errors OWNER TO postgres;

--
-- Name: planogram; Type: TABLE; Schema: dex; Owner: postgres
--

CREATE TABLE dex.planogram (
    machine_id bigint NOT NULL,
    company_id text NOT NULL,
    selection text NOT NULL,
    product_id bigint,
    capacity integer,
    par_level integer,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_by text NOT NULL,
    CONSTRAINT planogram_capacity_check CHECK (((capacity >= 0) AND (capacity <= 10000))),
    CONSTRAINT planogram_check CHECK ((par_level <= capacity)),
    CONSTRAINT planogram_par_level_check CHECK ((par_level >= 0)),
    CONSTRAINT planogram_selection_check CHECK (((length(selection) >= 1) AND (length(selection) <= 32)))
);


ALTER TABLE dex.planogram OWNER TO postgres;

--
-- Name: products; Type: TABLE; Schema: dex; Owner: postgres
--

CREATE TABLE dex.products (
    id bigint NOT NULL,
    company_id text NOT NULL,
    product_code text NOT NULL,
    name text NOT NULL,
    category text,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_by text,
    CONSTRAINT products_category_check CHECK (((category IS NULL) OR ((length(category) >= 1) AND (length(category) <= 100)))),
    CONSTRAINT products_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
    CONSTRAINT products_product_code_check CHECK (((length(product_code) >= 1) AND (length(product_code) <= 64)))
);


ALTER TABLE dex.products OWNER TO postgres;

--
-- Name: products_id_seq; Type: SEQUENCE; Schema: dex; Owner: postgres
--

ALTER TABLE dex.products ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME dex.products_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: read_cash; Type: TABLE; Schema: dex; Owner: postgres
--

CREATE TABLE dex.read_cash (
    read_id bigint NOT NULL,
    company_id text NOT NULL,
    machine_id bigint NOT NULL,
    cash_in bigint,
    coins_to_box bigint,
    coins_to_tubes bigint,
    bills_in bigint,
    dispensed bigint,
    manually_dispensed bigint,
    manually_filled bigint,
    cash_in_reset bigint,
    coins_to_box_reset bigint,
    coins_to_tubes_reset bigint,
    bills_in_reset bigint,
    dispensed_reset bigint,
    manually_dispensed_reset bigint,
    manually_filled_reset bigint,
    bill_validator text
);


ALTER TABLE dex.read_cash OWNER TO postgres;

--
-- Name: read_events; Type: TABLE; Schema: dex; Owner: postgres
--

CREATE TABLE dex.read_events (
    read_id bigint NOT NULL,
    company_id text NOT NULL,
    line_no integer NOT NULL,
    record text NOT NULL,
    code text NOT NULL,
    occurred_at timestamp without time zone,
    duration bigint,
    count_reset bigint,
    count_init bigint,
    active boolean,
    raw text NOT NULL,
    CONSTRAINT read_events_record_check CHECK ((record = ANY (ARRAY['EA1'::text, 'EA2'::text])))
);


ALTER TABLE dex.read_events OWNER TO postgres;

--
-- Name: read_selections; Type: TABLE; Schema: dex; Owner: postgres
--

CREATE TABLE dex.read_selections (
    read_id bigint NOT NULL,
    company_id text NOT NULL,
    selection text NOT NULL,
    price bigint,
    product_code text,
    capacity bigint,
    vends_init bigint,
    value_init bigint,
    vends_reset bigint,
    value_reset bigint,
    pa7 text[] DEFAULT '{}'::text[] NOT NULL
);


ALTER TABLE dex.read_selections OWNER TO postgres;

--
-- Name: read_selection_devices; Type: VIEW; Schema: dex; Owner: postgres
--

CREATE VIEW dex.read_selection_devices WITH (security_invoker='true') AS
 SELECT s.read_id,
    s.company_id,
    s.selection,
    u.i AS "position",
    NULLIF(btrim(x.e[3]), ''::text) AS device,
    NULLIF(btrim(x.e[4]), ''::text) AS price_list,
    dex.num(x.e[5]) AS price,
    dex.num(x.e[6]) AS vends_init,
    dex.num(x.e[7]) AS value_init,
    dex.num(x.e[8]) AS vends_reset,
    dex.num(x.e[9]) AS value_reset
   FROM ((dex.read_selections s
     CROSS JOIN LATERAL unnest(s.pa7) WITH ORDINALITY u(line, i))
     CROSS JOIN LATERAL ( SELECT string_to_array(u.line, '*'::text) AS e) x);


ALTER TABLE dex.read_selection_devices OWNER TO postgres;

--
-- Name: read_temperatures; Type: TABLE; Schema: dex; Owner: postgres
--

CREATE TABLE dex.read_temperatures (
    read_id bigint NOT NULL,
    company_id text NOT NULL,
    line_no integer NOT NULL,
    reading text NOT NULL,
    celsius numeric(6,2),
    decoder_id integer NOT NULL,
    raw text NOT NULL,
    raw_value numeric,
    scale text DEFAULT 'decoder'::text NOT NULL,
    CONSTRAINT read_temperatures_in_doubt_has_no_degrees CHECK (((celsius IS NULL) = (scale = 'in_doubt'::text))),
    CONSTRAINT read_temperatures_reading_check CHECK ((reading = ANY (ARRAY['current'::text, 'target'::text]))),
    CONSTRAINT read_temperatures_scale_check CHECK ((scale = ANY (ARRAY['decoder'::text, 'inferred'::text, 'in_doubt'::text])))
);


ALTER TABLE dex.read_temperatures OWNER TO postgres;

--
-- Name: read_totals; Type: TABLE; Schema: dex; Owner: postgres
--

CREATE TABLE dex.read_totals (
    read_id bigint NOT NULL,
    company_id text NOT NULL,
    record text NOT NULL,
    value_init bigint,
    count_init bigint,
    value_reset bigint,
    count_reset bigint
);


ALTER TABLE dex.read_totals OWNER TO postgres;

--
-- Name: read_tubes; Type: TABLE; Schema: dex; Owner: postgres
--

CREATE TABLE dex.read_tubes (
    read_id bigint NOT NULL,
    company_id text NOT NULL,
    coin_value bigint NOT NULL,
    coin_types text NOT NULL,
    coins bigint,
    coins_filled bigint,
    coins_paid_out bigint,
    tube_full boolean DEFAULT false NOT NULL
);


ALTER TABLE dex.read_tubes OWNER TO postgres;

--
-- Name: reads_id_seq; Type: SEQUENCE; Schema: dex; Owner: postgres
--

ALTER TABLE dex.reads ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME dex.reads_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: sales_deltas; Type: TABLE; Schema: dex; Owner: postgres
--

CREATE TABLE dex.sales_deltas (
    read_id bigint NOT NULL,
    company_id text NOT NULL,
    machine_id bigint NOT NULL,
    selection text NOT NULL,
    previous_read_id bigint NOT NULL,
    sold_at timestamp with time zone NOT NULL,
    vends bigint NOT NULL,
    revenue bigint NOT NULL,
    kind text NOT NULL,
    CONSTRAINT sales_deltas_kind_check CHECK ((kind = ANY (ARRAY['normal'::text, 'wrap'::text, 'reset'::text, 'since_reset'::text])))
);


ALTER TABLE dex.sales_deltas OWNER TO postgres;

--
-- Name: slot_fills; Type: TABLE; Schema: dex; Owner: postgres
--

CREATE TABLE dex.slot_fills (
    id bigint NOT NULL,
    machine_id bigint NOT NULL,
    company_id text NOT NULL,
    selection text NOT NULL,
    quantity integer NOT NULL,
    filled_at timestamp with time zone DEFAULT now() NOT NULL,
    after_read_id bigint,
    filled_by text NOT NULL,
    CONSTRAINT slot_fills_quantity_check CHECK (((quantity >= 0) AND (quantity <= 10000))),
    CONSTRAINT slot_fills_selection_check CHECK (((length(selection) >= 1) AND (length(selection) <= 32)))
);


ALTER TABLE dex.slot_fills OWNER TO postgres;

--
-- Name: slot_fills_id_seq; Type: SEQUENCE; Schema: dex; Owner: postgres
--

ALTER TABLE dex.slot_fills ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME dex.slot_fills_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: balance_deltas; Type: TABLE; Schema: ledger; Owner: postgres
--

CREATE TABLE ledger.balance_deltas (
    id bigint NOT NULL,
    account_id bigint NOT NULL,
    amount bigint NOT NULL
);


ALTER TABLE ledger.balance_deltas OWNER TO postgres;

--
-- Name: account_balances; Type: VIEW; Schema: ledger; Owner: postgres
--

CREATE VIEW ledger.account_balances AS
 SELECT a.id,
    a.kind,
    a.owner_ref,
    a.currency,
    a.lower_bound,
        CASE
            WHEN (a.lower_bound IS NULL) THEN (a.balance + (COALESCE(( SELECT sum(d.amount) AS sum
               FROM ledger.balance_deltas d
              WHERE (d.account_id = a.id)), (0)::numeric))::bigint)
            ELSE a.balance
        END AS balance
   FROM ledger.accounts a;


ALTER TABLE ledger.account_balances OWNER TO postgres;

--
-- Name: accounts_id_seq; Type: SEQUENCE; Schema: ledger; Owner: postgres
--

ALTER TABLE ledger.accounts ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME ledger.accounts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: balance_deltas_id_seq; Type: SEQUENCE; Schema: ledger; Owner: postgres
--

ALTER TABLE ledger.balance_deltas ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME ledger.balance_deltas_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: balance_drift; Type: VIEW; Schema: ledger; Owner: postgres
--

CREATE VIEW ledger.balance_drift AS
 SELECT b.id AS account_id,
    b.kind,
    b.balance,
    COALESCE(p.total, (0)::numeric) AS postings_total
   FROM (ledger.account_balances b
     LEFT JOIN ( SELECT postings.account_id,
            sum(postings.amount) AS total
           FROM ledger.postings
          GROUP BY postings.account_id) p ON ((p.account_id = b.id)))
  WHERE ((b.balance)::numeric <> COALESCE(p.total, (0)::numeric));


ALTER TABLE ledger.balance_drift OWNER TO postgres;

--
-- Name: dangling_postings; Type: VIEW; Schema: ledger; Owner: postgres
--

CREATE VIEW ledger.dangling_postings AS
 SELECT p.transfer_id,
    p.account_id,
    p.amount
   FROM ledger.postings p
  WHERE ((NOT (EXISTS ( SELECT 1
           FROM ledger.transfers t
          WHERE (t.id = p.transfer_id)))) OR (NOT (EXISTS ( SELECT 1
           FROM ledger.accounts a
          WHERE (a.id = p.account_id)))));


ALTER TABLE ledger.dangling_postings OWNER TO postgres;

--
-- Name: imbalances; Type: VIEW; Schema: ledger; Owner: postgres
--

CREATE VIEW ledger.imbalances AS
 SELECT t.id AS transfer_id,
    t.kind,
    COALESCE(sum(p.amount), (0)::numeric) AS total,
    count(p.id) AS postings
   FROM (ledger.transfers t
     LEFT JOIN ledger.postings p ON ((p.transfer_id = t.id)))
  GROUP BY t.id, t.kind
 HAVING ((COALESCE(sum(p.amount), (0)::numeric) <> (0)::numeric) OR (count(p.id) < 2));


ALTER TABLE ledger.imbalances OWNER TO postgres;

--
-- Name: postings_id_seq; Type: SEQUENCE; Schema: ledger; Owner: postgres
--

ALTER TABLE ledger.postings ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME ledger.postings_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: transfers_id_seq; Type: SEQUENCE; Schema: ledger; Owner: postgres
--

ALTER TABLE ledger.transfers ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME ledger.transfers_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: jobs; Type: TABLE; Schema: upkeep; Owner: postgres
--

CREATE TABLE upkeep.jobs (
    name text NOT NULL,
    command text NOT NULL,
    every interval NOT NULL,
    enabled boolean DEFAULT true NOT NULL,
    "position" smallint DEFAULT 50 NOT NULL,
    description text NOT NULL,
    last_started_at timestamp with time zone,
    last_ok_at timestamp with time zone,
    kind text DEFAULT 'sql'::text NOT NULL,
    CONSTRAINT jobs_every_check CHECK ((every >= '00:00:01'::interval)),
    CONSTRAINT jobs_host_command CHECK (((kind = 'sql'::text) OR (command ~ '^(backup|restore-drill)( [^\n]*)?$'::text))),
    CONSTRAINT jobs_kind_check CHECK ((kind = ANY (ARRAY['sql'::text, 'host'::text]))),
    CONSTRAINT jobs_name_check CHECK ((name ~ '^[a-z][a-z0-9_]{0,62}$'::text))
);


ALTER TABLE upkeep.jobs OWNER TO postgres;

--
-- Name: job_status; Type: VIEW; Schema: upkeep; Owner: postgres
--

CREATE VIEW upkeep.job_status AS
 SELECT j.name,
    j.every,
    j.enabled,
    j."position",
    j.last_started_at,
    j.last_ok_at,
    (j.last_started_at + j.every) AS next_due_at,
    r.ok AS last_ok,
    r.duration_ms AS last_duration_ms,
    r.result AS last_result,
    r.error AS last_error,
    r.runner AS last_runner,
    ( SELECT count(*) AS count
           FROM upkeep.runs x
          WHERE ((x.job = j.name) AND (x.started_at > (now() - '1 day'::interval)))) AS runs_24h,
    ( SELECT count(*) AS count
           FROM upkeep.runs x
          WHERE ((x.job = j.name) AND (x.started_at > (now() - '1 day'::interval)) AND (NOT x.ok))) AS failures_24h,
    j.description,
    j.kind
   FROM (upkeep.jobs j
     LEFT JOIN LATERAL ( SELECT x.id,
            x.job,
            x.runner,
            x.started_at,
            x.finished_at,
            x.duration_ms,
            x.ok,
            x.result,
            x.error
           FROM upkeep.runs x
          WHERE (x.job = j.name)
          ORDER BY x.id DESC
         LIMIT 1) r ON (true))
  ORDER BY j."position", j.name;


ALTER TABLE upkeep.job_status OWNER TO postgres;

--
-- Name: runs_id_seq; Type: SEQUENCE; Schema: upkeep; Owner: postgres
--

ALTER TABLE upkeep.runs ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME upkeep.runs_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: accounts accounts_email_key; Type: CONSTRAINT; Schema: accounts; Owner: postgres
--

ALTER TABLE ONLY accounts.accounts
    ADD CONSTRAINT accounts_email_key UNIQUE (email);


--
-- Name: accounts accounts_pkey; Type: CONSTRAINT; Schema: accounts; Owner: postgres
--

ALTER TABLE ONLY accounts.accounts
    ADD CONSTRAINT accounts_pkey PRIMARY KEY (id);


--
-- Name: events events_pkey; Type: CONSTRAINT; Schema: accounts; Owner: postgres
--

ALTER TABLE ONLY accounts.events
    ADD CONSTRAINT events_pkey PRIMARY KEY (id);


--
-- Name: login_failures login_failures_pkey; Type: CONSTRAINT; Schema: accounts; Owner: postgres
--

ALTER TABLE ONLY accounts.login_failures
    ADD CONSTRAINT login_failures_pkey PRIMARY KEY (email);


--
-- Name: refresh_tokens refresh_tokens_pkey; Type: CONSTRAINT; Schema: accounts; Owner: postgres
--

ALTER TABLE ONLY accounts.refresh_tokens
    ADD CONSTRAINT refresh_tokens_pkey PRIMARY KEY (token_hash);


--
-- Name: alerts alerts_pkey; Type: CONSTRAINT; Schema: atm; Owner: postgres
--

ALTER TABLE ONLY atm.alerts
    ADD CONSTRAINT alerts_pkey PRIMARY KEY (id);


--
-- Name: dispense_jobs dispense_jobs_pkey; Type: CONSTRAINT; Schema: atm; Owner: postgres
--

ALTER TABLE ONLY atm.dispense_jobs
    ADD CONSTRAINT dispense_jobs_pkey PRIMARY KEY (id);


--
-- Name: dispense_jobs dispense_jobs_transaction_id_key; Type: CONSTRAINT; Schema: atm; Owner: postgres
--

ALTER TABLE ONLY atm.dispense_jobs
    ADD CONSTRAINT dispense_jobs_transaction_id_key UNIQUE (transaction_id);


--
-- Name: job_events job_events_pkey; Type: CONSTRAINT; Schema: atm; Owner: postgres
--

ALTER TABLE ONLY atm.job_events
    ADD CONSTRAINT job_events_pkey PRIMARY KEY (id);


--
-- Name: kiosk_config kiosk_config_pkey; Type: CONSTRAINT; Schema: atm; Owner: postgres
--

ALTER TABLE ONLY atm.kiosk_config
    ADD CONSTRAINT kiosk_config_pkey PRIMARY KEY (kiosk_id);


--
-- Name: refunds refunds_pkey; Type: CONSTRAINT; Schema: atm; Owner: postgres
--

ALTER TABLE ONLY atm.refunds
    ADD CONSTRAINT refunds_pkey PRIMARY KEY (id);


--
-- Name: refunds refunds_world_payment_id_key; Type: CONSTRAINT; Schema: atm; Owner: postgres
--

ALTER TABLE ONLY atm.refunds
    ADD CONSTRAINT refunds_world_payment_id_key UNIQUE (world_payment_id);


--
-- Name: transaction_events transaction_events_pkey; Type: CONSTRAINT; Schema: atm; Owner: postgres
--

ALTER TABLE ONLY atm.transaction_events
    ADD CONSTRAINT transaction_events_pkey PRIMARY KEY (id);


--
-- Name: transactions transactions_payment_reference_key; Type: CONSTRAINT; Schema: atm; Owner: postgres
--

ALTER TABLE ONLY atm.transactions
    ADD CONSTRAINT transactions_payment_reference_key UNIQUE (payment_reference);


--
-- Name: transactions transactions_pkey; Type: CONSTRAINT; Schema: atm; Owner: postgres
--

ALTER TABLE ONLY atm.transactions
    ADD CONSTRAINT transactions_pkey PRIMARY KEY (id);


--
-- Name: transactions transactions_world_payment_id_key; Type: CONSTRAINT; Schema: atm; Owner: postgres
--

ALTER TABLE ONLY atm.transactions
    ADD CONSTRAINT transactions_world_payment_id_key UNIQUE (world_payment_id);


--
-- Name: bar_orders bar_orders_pkey; Type: CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.bar_orders
    ADD CONSTRAINT bar_orders_pkey PRIMARY KEY (order_id);


--
-- Name: bar_orders bar_orders_transfer_id_key; Type: CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.bar_orders
    ADD CONSTRAINT bar_orders_transfer_id_key UNIQUE (transfer_id);


--
-- Name: card_debts card_debts_pkey; Type: CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.card_debts
    ADD CONSTRAINT card_debts_pkey PRIMARY KEY (id);


--
-- Name: card_events card_events_pkey; Type: CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.card_events
    ADD CONSTRAINT card_events_pkey PRIMARY KEY (id);


--
-- Name: cards cards_account_id_key; Type: CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.cards
    ADD CONSTRAINT cards_account_id_key UNIQUE (account_id);


--
-- Name: cards cards_pkey; Type: CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.cards
    ADD CONSTRAINT cards_pkey PRIMARY KEY (card_id);


--
-- Name: deposit_returns deposit_returns_pkey; Type: CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.deposit_returns
    ADD CONSTRAINT deposit_returns_pkey PRIMARY KEY (id);


--
-- Name: deposit_returns deposit_returns_transfer_id_key; Type: CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.deposit_returns
    ADD CONSTRAINT deposit_returns_transfer_id_key UNIQUE (transfer_id);


--
-- Name: deposits_outstanding deposits_outstanding_pkey; Type: CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.deposits_outstanding
    ADD CONSTRAINT deposits_outstanding_pkey PRIMARY KEY (card_id, product_id, unit_price);


--
-- Name: held_payments held_payments_payment_intent_key; Type: CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.held_payments
    ADD CONSTRAINT held_payments_payment_intent_key UNIQUE (payment_intent);


--
-- Name: held_payments held_payments_pkey; Type: CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.held_payments
    ADD CONSTRAINT held_payments_pkey PRIMARY KEY (held_id);


--
-- Name: nfc_scans nfc_scans_pkey; Type: CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.nfc_scans
    ADD CONSTRAINT nfc_scans_pkey PRIMARY KEY (id);


--
-- Name: products products_pkey; Type: CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.products
    ADD CONSTRAINT products_pkey PRIMARY KEY (product_id);


--
-- Name: recharge_intents recharge_intents_pkey; Type: CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.recharge_intents
    ADD CONSTRAINT recharge_intents_pkey PRIMARY KEY (intent_id);


--
-- Name: recharge_intents recharge_intents_session_id_key; Type: CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.recharge_intents
    ADD CONSTRAINT recharge_intents_session_id_key UNIQUE (session_id);


--
-- Name: recharges recharges_payment_intent_key; Type: CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.recharges
    ADD CONSTRAINT recharges_payment_intent_key UNIQUE (payment_intent);


--
-- Name: recharges recharges_pkey; Type: CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.recharges
    ADD CONSTRAINT recharges_pkey PRIMARY KEY (id);


--
-- Name: recharges recharges_transfer_id_key; Type: CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.recharges
    ADD CONSTRAINT recharges_transfer_id_key UNIQUE (transfer_id);


--
-- Name: refund_codes refund_codes_pkey; Type: CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.refund_codes
    ADD CONSTRAINT refund_codes_pkey PRIMARY KEY (card_id);


--
-- Name: refund_exports refund_exports_message_id_key; Type: CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.refund_exports
    ADD CONSTRAINT refund_exports_message_id_key UNIQUE (message_id);


--
-- Name: refund_exports refund_exports_pkey; Type: CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.refund_exports
    ADD CONSTRAINT refund_exports_pkey PRIMARY KEY (export_id);


--
-- Name: refund_requests refund_requests_card_id_key; Type: CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.refund_requests
    ADD CONSTRAINT refund_requests_card_id_key UNIQUE (card_id);


--
-- Name: refund_requests refund_requests_pkey; Type: CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.refund_requests
    ADD CONSTRAINT refund_requests_pkey PRIMARY KEY (refund_id);


--
-- Name: stripe_events stripe_events_pkey; Type: CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.stripe_events
    ADD CONSTRAINT stripe_events_pkey PRIMARY KEY (event_id);


--
-- Name: stripe_payments stripe_payments_pkey; Type: CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.stripe_payments
    ADD CONSTRAINT stripe_payments_pkey PRIMARY KEY (payment_intent);


--
-- Name: stripe_payments stripe_payments_session_id_key; Type: CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.stripe_payments
    ADD CONSTRAINT stripe_payments_session_id_key UNIQUE (session_id);


--
-- Name: catalog_history catalog_history_pkey; Type: CONSTRAINT; Schema: checkout; Owner: postgres
--

ALTER TABLE ONLY checkout.catalog_history
    ADD CONSTRAINT catalog_history_pkey PRIMARY KEY (version);


--
-- Name: catalog_items catalog_items_pkey; Type: CONSTRAINT; Schema: checkout; Owner: postgres
--

ALTER TABLE ONLY checkout.catalog_items
    ADD CONSTRAINT catalog_items_pkey PRIMARY KEY (sku);


--
-- Name: edge_backlog edge_backlog_pkey; Type: CONSTRAINT; Schema: checkout; Owner: postgres
--

ALTER TABLE ONLY checkout.edge_backlog
    ADD CONSTRAINT edge_backlog_pkey PRIMARY KEY (kiosk_id);


--
-- Name: order_lines order_lines_pkey; Type: CONSTRAINT; Schema: checkout; Owner: postgres
--

ALTER TABLE ONLY checkout.order_lines
    ADD CONSTRAINT order_lines_pkey PRIMARY KEY (order_id, line_no);


--
-- Name: orders orders_pkey; Type: CONSTRAINT; Schema: checkout; Owner: postgres
--

ALTER TABLE ONLY checkout.orders
    ADD CONSTRAINT orders_pkey PRIMARY KEY (order_id);


--
-- Name: refused_orders refused_orders_one_per_problem; Type: CONSTRAINT; Schema: checkout; Owner: postgres
--

ALTER TABLE ONLY checkout.refused_orders
    ADD CONSTRAINT refused_orders_one_per_problem UNIQUE NULLS NOT DISTINCT (kiosk_id, idempotency_key, status, payload_hash);


--
-- Name: refused_orders refused_orders_pkey; Type: CONSTRAINT; Schema: checkout; Owner: postgres
--

ALTER TABLE ONLY checkout.refused_orders
    ADD CONSTRAINT refused_orders_pkey PRIMARY KEY (id);


--
-- Name: sync_batches sync_batches_pkey; Type: CONSTRAINT; Schema: checkout; Owner: postgres
--

ALTER TABLE ONLY checkout.sync_batches
    ADD CONSTRAINT sync_batches_pkey PRIMARY KEY (id);


--
-- Name: alert_events alert_events_pkey; Type: CONSTRAINT; Schema: core; Owner: postgres
--

ALTER TABLE ONLY core.alert_events
    ADD CONSTRAINT alert_events_pkey PRIMARY KEY (id);


--
-- Name: alerts alerts_pkey; Type: CONSTRAINT; Schema: core; Owner: postgres
--

ALTER TABLE ONLY core.alerts
    ADD CONSTRAINT alerts_pkey PRIMARY KEY (id);


--
-- Name: api_schemas api_schemas_pkey; Type: CONSTRAINT; Schema: core; Owner: postgres
--

ALTER TABLE ONLY core.api_schemas
    ADD CONSTRAINT api_schemas_pkey PRIMARY KEY (function, part);


--
-- Name: error_codes error_codes_pkey; Type: CONSTRAINT; Schema: core; Owner: postgres
--

ALTER TABLE ONLY core.error_codes
    ADD CONSTRAINT error_codes_pkey PRIMARY KEY (code);


--
-- Name: idempotency_expired idempotency_expired_pkey; Type: CONSTRAINT; Schema: core; Owner: postgres
--

ALTER TABLE ONLY core.idempotency_expired
    ADD CONSTRAINT idempotency_expired_pkey PRIMARY KEY (scope, principal, key);


--
-- Name: idempotency_keys idempotency_keys_pkey; Type: CONSTRAINT; Schema: core; Owner: postgres
--

ALTER TABLE ONLY core.idempotency_keys
    ADD CONSTRAINT idempotency_keys_pkey PRIMARY KEY (scope, principal, key);


--
-- Name: idempotency_responses idempotency_responses_pkey; Type: CONSTRAINT; Schema: core; Owner: postgres
--

ALTER TABLE ONLY core.idempotency_responses
    ADD CONSTRAINT idempotency_responses_pkey PRIMARY KEY (scope, principal, key);


--
-- Name: repeatable_sql repeatable_sql_pkey; Type: CONSTRAINT; Schema: core; Owner: postgres
--

ALTER TABLE ONLY core.repeatable_sql
    ADD CONSTRAINT repeatable_sql_pkey PRIMARY KEY (id);


--
-- Name: settings settings_pkey; Type: CONSTRAINT; Schema: core; Owner: postgres
--

ALTER TABLE ONLY core.settings
    ADD CONSTRAINT settings_pkey PRIMARY KEY (key);


--
-- Name: captures captures_id_company_id_key; Type: CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.captures
    ADD CONSTRAINT captures_id_company_id_key UNIQUE (id, company_id);


--
-- Name: captures captures_machine_id_sha256_key; Type: CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.captures
    ADD CONSTRAINT captures_machine_id_sha256_key UNIQUE (machine_id, sha256);


--
-- Name: captures captures_pkey; Type: CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.captures
    ADD CONSTRAINT captures_pkey PRIMARY KEY (id);


--
-- Name: cash_collections cash_collections_pkey; Type: CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.cash_collections
    ADD CONSTRAINT cash_collections_pkey PRIMARY KEY (id);


--
-- Name: companies companies_pkey; Type: CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.companies
    ADD CONSTRAINT companies_pkey PRIMARY KEY (company_id);


--
-- Name: currency_codes currency_codes_pkey; Type: CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.currency_codes
    ADD CONSTRAINT currency_codes_pkey PRIMARY KEY (dex_code);


--
-- Name: fault_codes fault_codes_model_pattern_source_code_regex_key; Type: CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.fault_codes
    ADD CONSTRAINT fault_codes_model_pattern_source_code_regex_key UNIQUE (model_pattern, source, code_regex);


--
-- Name: fault_codes fault_codes_pkey; Type: CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.fault_codes
    ADD CONSTRAINT fault_codes_pkey PRIMARY KEY (id);


--
-- Name: locations locations_company_id_name_key; Type: CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.locations
    ADD CONSTRAINT locations_company_id_name_key UNIQUE (company_id, name);


--
-- Name: locations locations_id_company_id_key; Type: CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.locations
    ADD CONSTRAINT locations_id_company_id_key UNIQUE (id, company_id);


--
-- Name: locations locations_pkey; Type: CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.locations
    ADD CONSTRAINT locations_pkey PRIMARY KEY (id);


--
-- Name: ma5_decoders ma5_decoders_model_firmware_key_layout_key; Type: CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.ma5_decoders
    ADD CONSTRAINT ma5_decoders_model_firmware_key_layout_key UNIQUE (model_pattern, firmware_pattern, ma5_key, layout);


--
-- Name: ma5_decoders ma5_decoders_pkey; Type: CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.ma5_decoders
    ADD CONSTRAINT ma5_decoders_pkey PRIMARY KEY (id);


--
-- Name: machine_errors machine_errors_pkey; Type: CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.machine_errors
    ADD CONSTRAINT machine_errors_pkey PRIMARY KEY (id);


--
-- Name: machine_slots machine_slots_pkey; Type: CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.machine_slots
    ADD CONSTRAINT machine_slots_pkey PRIMARY KEY (machine_id, selection);


--
-- Name: machine_state machine_state_pkey; Type: CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.machine_state
    ADD CONSTRAINT machine_state_pkey PRIMARY KEY (machine_id);


--
-- Name: machines machines_case_serial_key; Type: CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.machines
    ADD CONSTRAINT machines_case_serial_key UNIQUE (case_serial);


--
-- Name: machines machines_id_company_id_key; Type: CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.machines
    ADD CONSTRAINT machines_id_company_id_key UNIQUE (id, company_id);


--
-- Name: machines machines_pkey; Type: CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.machines
    ADD CONSTRAINT machines_pkey PRIMARY KEY (id);


--
-- Name: planogram planogram_pkey; Type: CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.planogram
    ADD CONSTRAINT planogram_pkey PRIMARY KEY (machine_id, selection);


--
-- Name: products products_company_id_product_code_key; Type: CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.products
    ADD CONSTRAINT products_company_id_product_code_key UNIQUE (company_id, product_code);


--
-- Name: products products_id_company_id_key; Type: CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.products
    ADD CONSTRAINT products_id_company_id_key UNIQUE (id, company_id);


--
-- Name: products products_pkey; Type: CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.products
    ADD CONSTRAINT products_pkey PRIMARY KEY (id);


--
-- Name: read_cash read_cash_pkey; Type: CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.read_cash
    ADD CONSTRAINT read_cash_pkey PRIMARY KEY (read_id);


--
-- Name: read_events read_events_pkey; Type: CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.read_events
    ADD CONSTRAINT read_events_pkey PRIMARY KEY (read_id, line_no);


--
-- Name: read_selections read_selections_pkey; Type: CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.read_selections
    ADD CONSTRAINT read_selections_pkey PRIMARY KEY (read_id, selection);


--
-- Name: read_temperatures read_temperatures_pkey; Type: CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.read_temperatures
    ADD CONSTRAINT read_temperatures_pkey PRIMARY KEY (read_id, line_no);


--
-- Name: read_totals read_totals_pkey; Type: CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.read_totals
    ADD CONSTRAINT read_totals_pkey PRIMARY KEY (read_id, record);


--
-- Name: read_tubes read_tubes_pkey; Type: CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.read_tubes
    ADD CONSTRAINT read_tubes_pkey PRIMARY KEY (read_id, coin_value);


--
-- Name: reads reads_capture_id_block_no_key; Type: CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.reads
    ADD CONSTRAINT reads_capture_id_block_no_key UNIQUE (capture_id, block_no);


--
-- Name: reads reads_id_company_id_key; Type: CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.reads
    ADD CONSTRAINT reads_id_company_id_key UNIQUE (id, company_id);


--
-- Name: reads reads_pkey; Type: CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.reads
    ADD CONSTRAINT reads_pkey PRIMARY KEY (id);


--
-- Name: sales_deltas sales_deltas_pkey; Type: CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.sales_deltas
    ADD CONSTRAINT sales_deltas_pkey PRIMARY KEY (read_id, selection);


--
-- Name: slot_fills slot_fills_pkey; Type: CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.slot_fills
    ADD CONSTRAINT slot_fills_pkey PRIMARY KEY (id);


--
-- Name: kiosks kiosks_login_role_key; Type: CONSTRAINT; Schema: kiosk; Owner: postgres
--

ALTER TABLE ONLY kiosk.kiosks
    ADD CONSTRAINT kiosks_login_role_key UNIQUE (login_role);


--
-- Name: kiosks kiosks_pkey; Type: CONSTRAINT; Schema: kiosk; Owner: postgres
--

ALTER TABLE ONLY kiosk.kiosks
    ADD CONSTRAINT kiosks_pkey PRIMARY KEY (kiosk_id);


--
-- Name: accounts accounts_pkey; Type: CONSTRAINT; Schema: ledger; Owner: postgres
--

ALTER TABLE ONLY ledger.accounts
    ADD CONSTRAINT accounts_pkey PRIMARY KEY (id);


--
-- Name: balance_deltas balance_deltas_pkey; Type: CONSTRAINT; Schema: ledger; Owner: postgres
--

ALTER TABLE ONLY ledger.balance_deltas
    ADD CONSTRAINT balance_deltas_pkey PRIMARY KEY (id);


--
-- Name: postings postings_pkey; Type: CONSTRAINT; Schema: ledger; Owner: postgres
--

ALTER TABLE ONLY ledger.postings
    ADD CONSTRAINT postings_pkey PRIMARY KEY (transfer_id, account_id);


--
-- Name: transfers transfers_pkey; Type: CONSTRAINT; Schema: ledger; Owner: postgres
--

ALTER TABLE ONLY ledger.transfers
    ADD CONSTRAINT transfers_pkey PRIMARY KEY (id);


--
-- Name: jobs jobs_pkey; Type: CONSTRAINT; Schema: upkeep; Owner: postgres
--

ALTER TABLE ONLY upkeep.jobs
    ADD CONSTRAINT jobs_pkey PRIMARY KEY (name);


--
-- Name: runs runs_pkey; Type: CONSTRAINT; Schema: upkeep; Owner: postgres
--

ALTER TABLE ONLY upkeep.runs
    ADD CONSTRAINT runs_pkey PRIMARY KEY (id);


--
-- Name: account_events_account; Type: INDEX; Schema: accounts; Owner: postgres
--

CREATE INDEX account_events_account ON accounts.events USING btree (account_id, id);


--
-- Name: accounts_company; Type: INDEX; Schema: accounts; Owner: postgres
--

CREATE INDEX accounts_company ON accounts.accounts USING btree (company_id) WHERE (company_id IS NOT NULL);


--
-- Name: refresh_tokens_family; Type: INDEX; Schema: accounts; Owner: postgres
--

CREATE INDEX refresh_tokens_family ON accounts.refresh_tokens USING btree (family_id);


--
-- Name: refresh_tokens_live; Type: INDEX; Schema: accounts; Owner: postgres
--

CREATE INDEX refresh_tokens_live ON accounts.refresh_tokens USING btree (account_id) WHERE (revoked_at IS NULL);


--
-- Name: alerts_refund; Type: INDEX; Schema: atm; Owner: postgres
--

CREATE INDEX alerts_refund ON atm.alerts USING btree (refund_id) WHERE (refund_id IS NOT NULL);


--
-- Name: dispense_jobs_due; Type: INDEX; Schema: atm; Owner: postgres
--

CREATE INDEX dispense_jobs_due ON atm.dispense_jobs USING btree (kiosk_id, due_at, id) WHERE ((status)::text = ANY (ARRAY['pending'::text, 'retry_wait'::text]));


--
-- Name: dispense_jobs_leased; Type: INDEX; Schema: atm; Owner: postgres
--

CREATE INDEX dispense_jobs_leased ON atm.dispense_jobs USING btree (lease_until) WHERE ((status)::text = ANY (ARRAY['claimed'::text, 'dispensing'::text]));


--
-- Name: job_events_job; Type: INDEX; Schema: atm; Owner: postgres
--

CREATE INDEX job_events_job ON atm.job_events USING btree (job_id, id);


--
-- Name: refunds_due_since; Type: INDEX; Schema: atm; Owner: postgres
--

CREATE INDEX refunds_due_since ON atm.refunds USING btree (created_at) WHERE (status = 'due'::text);


--
-- Name: refunds_transaction; Type: INDEX; Schema: atm; Owner: postgres
--

CREATE INDEX refunds_transaction ON atm.refunds USING btree (transaction_id);


--
-- Name: transaction_events_tx; Type: INDEX; Schema: atm; Owner: postgres
--

CREATE INDEX transaction_events_tx ON atm.transaction_events USING btree (transaction_id, id);


--
-- Name: transactions_kiosk_time; Type: INDEX; Schema: atm; Owner: postgres
--

CREATE INDEX transactions_kiosk_time ON atm.transactions USING btree (kiosk_id, created_at);


--
-- Name: transactions_pending_expiry; Type: INDEX; Schema: atm; Owner: postgres
--

CREATE INDEX transactions_pending_expiry ON atm.transactions USING btree (expires_at) WHERE (status = 'pending'::text);


--
-- Name: transactions_person_paid; Type: INDEX; Schema: atm; Owner: postgres
--

CREATE INDEX transactions_person_paid ON atm.transactions USING btree (nullifier_hash, paid_at) WHERE (nullifier_hash IS NOT NULL);


--
-- Name: bar_orders_card; Type: INDEX; Schema: cards; Owner: postgres
--

CREATE INDEX bar_orders_card ON cards.bar_orders USING btree (card_id);


--
-- Name: bar_orders_pos_time; Type: INDEX; Schema: cards; Owner: postgres
--

CREATE INDEX bar_orders_pos_time ON cards.bar_orders USING btree (point_of_sale, created_at);


--
-- Name: card_events_card; Type: INDEX; Schema: cards; Owner: postgres
--

CREATE INDEX card_events_card ON cards.card_events USING btree (card_id, id);


--
-- Name: held_payments_card; Type: INDEX; Schema: cards; Owner: postgres
--

CREATE INDEX held_payments_card ON cards.held_payments USING btree (card_id);


--
-- Name: held_payments_open; Type: INDEX; Schema: cards; Owner: postgres
--

CREATE INDEX held_payments_open ON cards.held_payments USING btree (held_id) WHERE (resolved_at IS NULL);


--
-- Name: nfc_scans_device_time; Type: INDEX; Schema: cards; Owner: postgres
--

CREATE INDEX nfc_scans_device_time ON cards.nfc_scans USING btree (device_id, created_at);


--
-- Name: recharges_card; Type: INDEX; Schema: cards; Owner: postgres
--

CREATE INDEX recharges_card ON cards.recharges USING btree (card_id);


--
-- Name: refund_requests_pending; Type: INDEX; Schema: cards; Owner: postgres
--

CREATE INDEX refund_requests_pending ON cards.refund_requests USING btree (refund_id) WHERE (status = 'pending'::text);


--
-- Name: catalog_history_sku_version; Type: INDEX; Schema: checkout; Owner: postgres
--

CREATE INDEX catalog_history_sku_version ON checkout.catalog_history USING btree (sku, version);


--
-- Name: order_lines_flagged; Type: INDEX; Schema: checkout; Owner: postgres
--

CREATE INDEX order_lines_flagged ON checkout.order_lines USING btree (order_id) WHERE (price_flag IS NOT NULL);


--
-- Name: orders_kiosk_sold; Type: INDEX; Schema: checkout; Owner: postgres
--

CREATE INDEX orders_kiosk_sold ON checkout.orders USING btree (kiosk_id, sold_at);


--
-- Name: orders_sold; Type: INDEX; Schema: checkout; Owner: postgres
--

CREATE INDEX orders_sold ON checkout.orders USING btree (sold_at);


--
-- Name: refused_orders_open; Type: INDEX; Schema: checkout; Owner: postgres
--

CREATE INDEX refused_orders_open ON checkout.refused_orders USING btree (kiosk_id) WHERE (resolved_at IS NULL);


--
-- Name: sync_batches_kiosk; Type: INDEX; Schema: checkout; Owner: postgres
--

CREATE INDEX sync_batches_kiosk ON checkout.sync_batches USING btree (kiosk_id, received_at);


--
-- Name: alert_events_company; Type: INDEX; Schema: core; Owner: postgres
--

CREATE INDEX alert_events_company ON core.alert_events USING btree (company_id, id);


--
-- Name: alerts_company_status; Type: INDEX; Schema: core; Owner: postgres
--

CREATE INDEX alerts_company_status ON core.alerts USING btree (company_id, status, last_seen_at);


--
-- Name: alerts_one_active; Type: INDEX; Schema: core; Owner: postgres
--

CREATE UNIQUE INDEX alerts_one_active ON core.alerts USING btree (domain, kind, subject) WHERE (status <> 'resolved'::text);


--
-- Name: alerts_status; Type: INDEX; Schema: core; Owner: postgres
--

CREATE INDEX alerts_status ON core.alerts USING btree (status, last_seen_at);


--
-- Name: idempotency_keys_created_at; Type: INDEX; Schema: core; Owner: postgres
--

CREATE INDEX idempotency_keys_created_at ON core.idempotency_keys USING brin (created_at);


--
-- Name: cash_collections_machine; Type: INDEX; Schema: dex; Owner: postgres
--

CREATE INDEX cash_collections_machine ON dex.cash_collections USING btree (machine_id, id DESC);


--
-- Name: machine_errors_machine_code; Type: INDEX; Schema: dex; Owner: postgres
--

CREATE INDEX machine_errors_machine_code ON dex.machine_errors USING btree (machine_id, source, code, last_read_id);


--
-- Name: machine_errors_unresolved; Type: INDEX; Schema: dex; Owner: postgres
--

CREATE INDEX machine_errors_unresolved ON dex.machine_errors USING btree (machine_id) WHERE (resolved_at IS NULL);


--
-- Name: machines_company; Type: INDEX; Schema: dex; Owner: postgres
--

CREATE INDEX machines_company ON dex.machines USING btree (company_id);


--
-- Name: machines_location; Type: INDEX; Schema: dex; Owner: postgres
--

CREATE INDEX machines_location ON dex.machines USING btree (location_id);


--
-- Name: read_cash_machine; Type: INDEX; Schema: dex; Owner: postgres
--

CREATE INDEX read_cash_machine ON dex.read_cash USING btree (machine_id, read_id);


--
-- Name: reads_machine; Type: INDEX; Schema: dex; Owner: postgres
--

CREATE INDEX reads_machine ON dex.reads USING btree (machine_id, id);


--
-- Name: reads_machine_read_at; Type: INDEX; Schema: dex; Owner: postgres
--

CREATE INDEX reads_machine_read_at ON dex.reads USING btree (machine_id, read_at);


--
-- Name: sales_deltas_machine_selection; Type: INDEX; Schema: dex; Owner: postgres
--

CREATE INDEX sales_deltas_machine_selection ON dex.sales_deltas USING btree (machine_id, selection, read_id);


--
-- Name: sales_deltas_machine_sold_at; Type: INDEX; Schema: dex; Owner: postgres
--

CREATE INDEX sales_deltas_machine_sold_at ON dex.sales_deltas USING btree (machine_id, sold_at);


--
-- Name: slot_fills_machine_selection; Type: INDEX; Schema: dex; Owner: postgres
--

CREATE INDEX slot_fills_machine_selection ON dex.slot_fills USING btree (machine_id, selection, id DESC);


--
-- Name: kiosks_company; Type: INDEX; Schema: kiosk; Owner: postgres
--

CREATE INDEX kiosks_company ON kiosk.kiosks USING btree (company_id);


--
-- Name: accounts_kind_owner_currency; Type: INDEX; Schema: ledger; Owner: postgres
--

CREATE UNIQUE INDEX accounts_kind_owner_currency ON ledger.accounts USING btree (kind, owner_ref, currency) WHERE (owner_ref IS NOT NULL);


--
-- Name: balance_deltas_account; Type: INDEX; Schema: ledger; Owner: postgres
--

CREATE INDEX balance_deltas_account ON ledger.balance_deltas USING btree (account_id);


--
-- Name: postings_account; Type: INDEX; Schema: ledger; Owner: postgres
--

CREATE INDEX postings_account ON ledger.postings USING btree (account_id, id);


--
-- Name: transfers_kind_idempotency_key; Type: INDEX; Schema: ledger; Owner: postgres
--

CREATE UNIQUE INDEX transfers_kind_idempotency_key ON ledger.transfers USING btree (kind, idempotency_key) WHERE (idempotency_key IS NOT NULL);


--
-- Name: runs_job; Type: INDEX; Schema: upkeep; Owner: postgres
--

CREATE INDEX runs_job ON upkeep.runs USING btree (job, id);


--
-- Name: runs_started; Type: INDEX; Schema: upkeep; Owner: postgres
--

CREATE INDEX runs_started ON upkeep.runs USING btree (started_at);


--
-- Name: accounts accounts_kept; Type: TRIGGER; Schema: accounts; Owner: postgres
--

CREATE TRIGGER accounts_kept BEFORE DELETE OR TRUNCATE ON accounts.accounts FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();


--
-- Name: transactions transaction_created_audit; Type: TRIGGER; Schema: atm; Owner: postgres
--

CREATE TRIGGER transaction_created_audit AFTER INSERT ON atm.transactions FOR EACH ROW EXECUTE FUNCTION atm.log_transaction_status();


--
-- Name: transactions transaction_status_audit; Type: TRIGGER; Schema: atm; Owner: postgres
--

CREATE TRIGGER transaction_status_audit AFTER UPDATE OF status ON atm.transactions FOR EACH ROW WHEN ((old.status IS DISTINCT FROM new.status)) EXECUTE FUNCTION atm.log_transaction_status();


--
-- Name: bar_orders bar_orders_append_only; Type: TRIGGER; Schema: cards; Owner: postgres
--

CREATE TRIGGER bar_orders_append_only BEFORE DELETE OR UPDATE OR TRUNCATE ON cards.bar_orders FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();


--
-- Name: cards card_issued_audit; Type: TRIGGER; Schema: cards; Owner: postgres
--

CREATE TRIGGER card_issued_audit AFTER INSERT ON cards.cards FOR EACH ROW EXECUTE FUNCTION cards.log_status_change();


--
-- Name: cards card_status_audit; Type: TRIGGER; Schema: cards; Owner: postgres
--

CREATE TRIGGER card_status_audit AFTER UPDATE OF status ON cards.cards FOR EACH ROW WHEN ((old.status IS DISTINCT FROM new.status)) EXECUTE FUNCTION cards.log_status_change();


--
-- Name: cards cards_kept; Type: TRIGGER; Schema: cards; Owner: postgres
--

CREATE TRIGGER cards_kept BEFORE DELETE OR TRUNCATE ON cards.cards FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();


--
-- Name: alerts alerts_log_insert; Type: TRIGGER; Schema: core; Owner: postgres
--

CREATE TRIGGER alerts_log_insert AFTER INSERT ON core.alerts FOR EACH ROW EXECUTE FUNCTION core.alert_log_change();


--
-- Name: alerts alerts_log_update; Type: TRIGGER; Schema: core; Owner: postgres
--

CREATE TRIGGER alerts_log_update AFTER UPDATE ON core.alerts FOR EACH ROW WHEN (((old.status IS DISTINCT FROM new.status) OR (old.severity IS DISTINCT FROM new.severity) OR (old.message IS DISTINCT FROM new.message) OR (old.details IS DISTINCT FROM new.details) OR (old.company_id IS DISTINCT FROM new.company_id))) EXECUTE FUNCTION core.alert_log_change();


--
-- Name: settings settings_reload; Type: TRIGGER; Schema: core; Owner: postgres
--

CREATE TRIGGER settings_reload AFTER INSERT OR DELETE OR UPDATE ON core.settings FOR EACH STATEMENT EXECUTE FUNCTION core.settings_changed();


--
-- Name: accounts accounts_kept; Type: TRIGGER; Schema: ledger; Owner: postgres
--

CREATE TRIGGER accounts_kept BEFORE DELETE OR TRUNCATE ON ledger.accounts FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();


--
-- Name: postings postings_append_only; Type: TRIGGER; Schema: ledger; Owner: postgres
--

CREATE TRIGGER postings_append_only BEFORE DELETE OR UPDATE OR TRUNCATE ON ledger.postings FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();


--
-- Name: transfers transfers_append_only; Type: TRIGGER; Schema: ledger; Owner: postgres
--

CREATE TRIGGER transfers_append_only BEFORE DELETE OR UPDATE OR TRUNCATE ON ledger.transfers FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();


--
-- Name: accounts accounts_company_id_fkey; Type: FK CONSTRAINT; Schema: accounts; Owner: postgres
--

ALTER TABLE ONLY accounts.accounts
    ADD CONSTRAINT accounts_company_id_fkey FOREIGN KEY (company_id) REFERENCES dex.companies(company_id);


--
-- Name: events events_account_id_fkey; Type: FK CONSTRAINT; Schema: accounts; Owner: postgres
--

ALTER TABLE ONLY accounts.events
    ADD CONSTRAINT events_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts.accounts(id);


--
-- Name: refresh_tokens refresh_tokens_account_id_fkey; Type: FK CONSTRAINT; Schema: accounts; Owner: postgres
--

ALTER TABLE ONLY accounts.refresh_tokens
    ADD CONSTRAINT refresh_tokens_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts.accounts(id);


--
-- Name: alerts alerts_job_id_fkey; Type: FK CONSTRAINT; Schema: atm; Owner: postgres
--

ALTER TABLE ONLY atm.alerts
    ADD CONSTRAINT alerts_job_id_fkey FOREIGN KEY (job_id) REFERENCES atm.dispense_jobs(id);


--
-- Name: alerts alerts_refund_id_fkey; Type: FK CONSTRAINT; Schema: atm; Owner: postgres
--

ALTER TABLE ONLY atm.alerts
    ADD CONSTRAINT alerts_refund_id_fkey FOREIGN KEY (refund_id) REFERENCES atm.refunds(id);


--
-- Name: dispense_jobs dispense_jobs_kiosk_id_fkey; Type: FK CONSTRAINT; Schema: atm; Owner: postgres
--

ALTER TABLE ONLY atm.dispense_jobs
    ADD CONSTRAINT dispense_jobs_kiosk_id_fkey FOREIGN KEY (kiosk_id) REFERENCES kiosk.kiosks(kiosk_id);


--
-- Name: dispense_jobs dispense_jobs_transaction_id_fkey; Type: FK CONSTRAINT; Schema: atm; Owner: postgres
--

ALTER TABLE ONLY atm.dispense_jobs
    ADD CONSTRAINT dispense_jobs_transaction_id_fkey FOREIGN KEY (transaction_id) REFERENCES atm.transactions(id);


--
-- Name: kiosk_config kiosk_config_kiosk_id_fkey; Type: FK CONSTRAINT; Schema: atm; Owner: postgres
--

ALTER TABLE ONLY atm.kiosk_config
    ADD CONSTRAINT kiosk_config_kiosk_id_fkey FOREIGN KEY (kiosk_id) REFERENCES kiosk.kiosks(kiosk_id);


--
-- Name: refunds refunds_transaction_id_fkey; Type: FK CONSTRAINT; Schema: atm; Owner: postgres
--

ALTER TABLE ONLY atm.refunds
    ADD CONSTRAINT refunds_transaction_id_fkey FOREIGN KEY (transaction_id) REFERENCES atm.transactions(id);


--
-- Name: transaction_events transaction_events_transaction_id_fkey; Type: FK CONSTRAINT; Schema: atm; Owner: postgres
--

ALTER TABLE ONLY atm.transaction_events
    ADD CONSTRAINT transaction_events_transaction_id_fkey FOREIGN KEY (transaction_id) REFERENCES atm.transactions(id);


--
-- Name: transactions transactions_kiosk_id_fkey; Type: FK CONSTRAINT; Schema: atm; Owner: postgres
--

ALTER TABLE ONLY atm.transactions
    ADD CONSTRAINT transactions_kiosk_id_fkey FOREIGN KEY (kiosk_id) REFERENCES kiosk.kiosks(kiosk_id);


--
-- Name: card_debts card_debts_card_id_fkey; Type: FK CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.card_debts
    ADD CONSTRAINT card_debts_card_id_fkey FOREIGN KEY (card_id) REFERENCES cards.cards(card_id);


--
-- Name: card_debts card_debts_transfer_id_fkey; Type: FK CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.card_debts
    ADD CONSTRAINT card_debts_transfer_id_fkey FOREIGN KEY (transfer_id) REFERENCES ledger.transfers(id);


--
-- Name: card_events card_events_card_id_fkey; Type: FK CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.card_events
    ADD CONSTRAINT card_events_card_id_fkey FOREIGN KEY (card_id) REFERENCES cards.cards(card_id);


--
-- Name: cards cards_account_id_fkey; Type: FK CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.cards
    ADD CONSTRAINT cards_account_id_fkey FOREIGN KEY (account_id) REFERENCES ledger.accounts(id);


--
-- Name: deposit_returns deposit_returns_card_id_fkey; Type: FK CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.deposit_returns
    ADD CONSTRAINT deposit_returns_card_id_fkey FOREIGN KEY (card_id) REFERENCES cards.cards(card_id);


--
-- Name: deposit_returns deposit_returns_transfer_id_fkey; Type: FK CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.deposit_returns
    ADD CONSTRAINT deposit_returns_transfer_id_fkey FOREIGN KEY (transfer_id) REFERENCES ledger.transfers(id);


--
-- Name: deposits_outstanding deposits_outstanding_card_id_fkey; Type: FK CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.deposits_outstanding
    ADD CONSTRAINT deposits_outstanding_card_id_fkey FOREIGN KEY (card_id) REFERENCES cards.cards(card_id);


--
-- Name: deposits_outstanding deposits_outstanding_product_id_fkey; Type: FK CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.deposits_outstanding
    ADD CONSTRAINT deposits_outstanding_product_id_fkey FOREIGN KEY (product_id) REFERENCES cards.products(product_id);


--
-- Name: held_payments held_payments_card_id_fkey; Type: FK CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.held_payments
    ADD CONSTRAINT held_payments_card_id_fkey FOREIGN KEY (card_id) REFERENCES cards.cards(card_id);


--
-- Name: held_payments held_payments_transfer_id_fkey; Type: FK CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.held_payments
    ADD CONSTRAINT held_payments_transfer_id_fkey FOREIGN KEY (transfer_id) REFERENCES ledger.transfers(id);


--
-- Name: recharge_intents recharge_intents_card_id_fkey; Type: FK CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.recharge_intents
    ADD CONSTRAINT recharge_intents_card_id_fkey FOREIGN KEY (card_id) REFERENCES cards.cards(card_id);


--
-- Name: recharges recharges_card_id_fkey; Type: FK CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.recharges
    ADD CONSTRAINT recharges_card_id_fkey FOREIGN KEY (card_id) REFERENCES cards.cards(card_id);


--
-- Name: recharges recharges_transfer_id_fkey; Type: FK CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.recharges
    ADD CONSTRAINT recharges_transfer_id_fkey FOREIGN KEY (transfer_id) REFERENCES ledger.transfers(id);


--
-- Name: refund_requests refund_requests_card_id_fkey; Type: FK CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.refund_requests
    ADD CONSTRAINT refund_requests_card_id_fkey FOREIGN KEY (card_id) REFERENCES cards.cards(card_id);


--
-- Name: refund_requests refund_requests_export_id_fkey; Type: FK CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.refund_requests
    ADD CONSTRAINT refund_requests_export_id_fkey FOREIGN KEY (export_id) REFERENCES cards.refund_exports(export_id);


--
-- Name: refund_requests refund_requests_transfer_id_fkey; Type: FK CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.refund_requests
    ADD CONSTRAINT refund_requests_transfer_id_fkey FOREIGN KEY (transfer_id) REFERENCES ledger.transfers(id);


--
-- Name: stripe_payments stripe_payments_card_id_fkey; Type: FK CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.stripe_payments
    ADD CONSTRAINT stripe_payments_card_id_fkey FOREIGN KEY (card_id) REFERENCES cards.cards(card_id);


--
-- Name: stripe_payments stripe_payments_intent_id_fkey; Type: FK CONSTRAINT; Schema: cards; Owner: postgres
--

ALTER TABLE ONLY cards.stripe_payments
    ADD CONSTRAINT stripe_payments_intent_id_fkey FOREIGN KEY (intent_id) REFERENCES cards.recharge_intents(intent_id);


--
-- Name: edge_backlog edge_backlog_kiosk_id_fkey; Type: FK CONSTRAINT; Schema: checkout; Owner: postgres
--

ALTER TABLE ONLY checkout.edge_backlog
    ADD CONSTRAINT edge_backlog_kiosk_id_fkey FOREIGN KEY (kiosk_id) REFERENCES kiosk.kiosks(kiosk_id);


--
-- Name: order_lines order_lines_order_id_fkey; Type: FK CONSTRAINT; Schema: checkout; Owner: postgres
--

ALTER TABLE ONLY checkout.order_lines
    ADD CONSTRAINT order_lines_order_id_fkey FOREIGN KEY (order_id) REFERENCES checkout.orders(order_id);


--
-- Name: orders orders_kiosk_id_fkey; Type: FK CONSTRAINT; Schema: checkout; Owner: postgres
--

ALTER TABLE ONLY checkout.orders
    ADD CONSTRAINT orders_kiosk_id_fkey FOREIGN KEY (kiosk_id) REFERENCES kiosk.kiosks(kiosk_id);


--
-- Name: refused_orders refused_orders_kiosk_id_fkey; Type: FK CONSTRAINT; Schema: checkout; Owner: postgres
--

ALTER TABLE ONLY checkout.refused_orders
    ADD CONSTRAINT refused_orders_kiosk_id_fkey FOREIGN KEY (kiosk_id) REFERENCES kiosk.kiosks(kiosk_id);


--
-- Name: sync_batches sync_batches_kiosk_id_fkey; Type: FK CONSTRAINT; Schema: checkout; Owner: postgres
--

ALTER TABLE ONLY checkout.sync_batches
    ADD CONSTRAINT sync_batches_kiosk_id_fkey FOREIGN KEY (kiosk_id) REFERENCES kiosk.kiosks(kiosk_id);


--
-- Name: alert_events alert_events_alert_id_fkey; Type: FK CONSTRAINT; Schema: core; Owner: postgres
--

ALTER TABLE ONLY core.alert_events
    ADD CONSTRAINT alert_events_alert_id_fkey FOREIGN KEY (alert_id) REFERENCES core.alerts(id);


--
-- Name: alerts alerts_company_id_fkey; Type: FK CONSTRAINT; Schema: core; Owner: postgres
--

ALTER TABLE ONLY core.alerts
    ADD CONSTRAINT alerts_company_id_fkey FOREIGN KEY (company_id) REFERENCES dex.companies(company_id);


--
-- Name: captures captures_machine_id_company_id_fkey; Type: FK CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.captures
    ADD CONSTRAINT captures_machine_id_company_id_fkey FOREIGN KEY (machine_id, company_id) REFERENCES dex.machines(id, company_id);


--
-- Name: cash_collections cash_collections_machine_id_company_id_fkey; Type: FK CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.cash_collections
    ADD CONSTRAINT cash_collections_machine_id_company_id_fkey FOREIGN KEY (machine_id, company_id) REFERENCES dex.machines(id, company_id);


--
-- Name: cash_collections cash_collections_read_id_fkey; Type: FK CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.cash_collections
    ADD CONSTRAINT cash_collections_read_id_fkey FOREIGN KEY (read_id) REFERENCES dex.reads(id);


--
-- Name: locations locations_company_id_fkey; Type: FK CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.locations
    ADD CONSTRAINT locations_company_id_fkey FOREIGN KEY (company_id) REFERENCES dex.companies(company_id);


--
-- Name: machine_errors machine_errors_machine_id_company_id_fkey; Type: FK CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.machine_errors
    ADD CONSTRAINT machine_errors_machine_id_company_id_fkey FOREIGN KEY (machine_id, company_id) REFERENCES dex.machines(id, company_id);


--
-- Name: machine_slots machine_slots_machine_id_company_id_fkey; Type: FK CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.machine_slots
    ADD CONSTRAINT machine_slots_machine_id_company_id_fkey FOREIGN KEY (machine_id, company_id) REFERENCES dex.machines(id, company_id);


--
-- Name: machine_slots machine_slots_product_id_company_id_fkey; Type: FK CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.machine_slots
    ADD CONSTRAINT machine_slots_product_id_company_id_fkey FOREIGN KEY (product_id, company_id) REFERENCES dex.products(id, company_id);


--
-- Name: machine_state machine_state_machine_id_company_id_fkey; Type: FK CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.machine_state
    ADD CONSTRAINT machine_state_machine_id_company_id_fkey FOREIGN KEY (machine_id, company_id) REFERENCES dex.machines(id, company_id);


--
-- Name: machines machines_company_id_fkey; Type: FK CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.machines
    ADD CONSTRAINT machines_company_id_fkey FOREIGN KEY (company_id) REFERENCES dex.companies(company_id);


--
-- Name: machines machines_location_id_company_id_fkey; Type: FK CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.machines
    ADD CONSTRAINT machines_location_id_company_id_fkey FOREIGN KEY (location_id, company_id) REFERENCES dex.locations(id, company_id);


--
-- Name: planogram planogram_machine_id_company_id_fkey; Type: FK CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.planogram
    ADD CONSTRAINT planogram_machine_id_company_id_fkey FOREIGN KEY (machine_id, company_id) REFERENCES dex.machines(id, company_id);


--
-- Name: planogram planogram_product_id_company_id_fkey; Type: FK CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.planogram
    ADD CONSTRAINT planogram_product_id_company_id_fkey FOREIGN KEY (product_id, company_id) REFERENCES dex.products(id, company_id);


--
-- Name: products products_company_id_fkey; Type: FK CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.products
    ADD CONSTRAINT products_company_id_fkey FOREIGN KEY (company_id) REFERENCES dex.companies(company_id);


--
-- Name: read_cash read_cash_machine_id_company_id_fkey; Type: FK CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.read_cash
    ADD CONSTRAINT read_cash_machine_id_company_id_fkey FOREIGN KEY (machine_id, company_id) REFERENCES dex.machines(id, company_id);


--
-- Name: read_cash read_cash_read_id_company_id_fkey; Type: FK CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.read_cash
    ADD CONSTRAINT read_cash_read_id_company_id_fkey FOREIGN KEY (read_id, company_id) REFERENCES dex.reads(id, company_id);


--
-- Name: read_events read_events_read_id_company_id_fkey; Type: FK CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.read_events
    ADD CONSTRAINT read_events_read_id_company_id_fkey FOREIGN KEY (read_id, company_id) REFERENCES dex.reads(id, company_id);


--
-- Name: read_selections read_selections_read_id_company_id_fkey; Type: FK CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.read_selections
    ADD CONSTRAINT read_selections_read_id_company_id_fkey FOREIGN KEY (read_id, company_id) REFERENCES dex.reads(id, company_id);


--
-- Name: read_temperatures read_temperatures_read_id_company_id_fkey; Type: FK CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.read_temperatures
    ADD CONSTRAINT read_temperatures_read_id_company_id_fkey FOREIGN KEY (read_id, company_id) REFERENCES dex.reads(id, company_id);


--
-- Name: read_totals read_totals_read_id_company_id_fkey; Type: FK CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.read_totals
    ADD CONSTRAINT read_totals_read_id_company_id_fkey FOREIGN KEY (read_id, company_id) REFERENCES dex.reads(id, company_id);


--
-- Name: read_tubes read_tubes_read_id_company_id_fkey; Type: FK CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.read_tubes
    ADD CONSTRAINT read_tubes_read_id_company_id_fkey FOREIGN KEY (read_id, company_id) REFERENCES dex.reads(id, company_id);


--
-- Name: reads reads_capture_id_company_id_fkey; Type: FK CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.reads
    ADD CONSTRAINT reads_capture_id_company_id_fkey FOREIGN KEY (capture_id, company_id) REFERENCES dex.captures(id, company_id);


--
-- Name: reads reads_machine_id_company_id_fkey; Type: FK CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.reads
    ADD CONSTRAINT reads_machine_id_company_id_fkey FOREIGN KEY (machine_id, company_id) REFERENCES dex.machines(id, company_id);


--
-- Name: reads reads_previous_read_id_fkey; Type: FK CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.reads
    ADD CONSTRAINT reads_previous_read_id_fkey FOREIGN KEY (previous_read_id) REFERENCES dex.reads(id);


--
-- Name: sales_deltas sales_deltas_read_id_company_id_fkey; Type: FK CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.sales_deltas
    ADD CONSTRAINT sales_deltas_read_id_company_id_fkey FOREIGN KEY (read_id, company_id) REFERENCES dex.reads(id, company_id);


--
-- Name: slot_fills slot_fills_after_read_id_fkey; Type: FK CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.slot_fills
    ADD CONSTRAINT slot_fills_after_read_id_fkey FOREIGN KEY (after_read_id) REFERENCES dex.reads(id);


--
-- Name: slot_fills slot_fills_machine_id_company_id_fkey; Type: FK CONSTRAINT; Schema: dex; Owner: postgres
--

ALTER TABLE ONLY dex.slot_fills
    ADD CONSTRAINT slot_fills_machine_id_company_id_fkey FOREIGN KEY (machine_id, company_id) REFERENCES dex.machines(id, company_id);


--
-- Name: kiosks kiosks_company_id_fkey; Type: FK CONSTRAINT; Schema: kiosk; Owner: postgres
--

ALTER TABLE ONLY kiosk.kiosks
    ADD CONSTRAINT kiosks_company_id_fkey FOREIGN KEY (company_id) REFERENCES dex.companies(company_id);


--
-- Name: runs runs_job_fkey; Type: FK CONSTRAINT; Schema: upkeep; Owner: postgres
--

ALTER TABLE ONLY upkeep.runs
    ADD CONSTRAINT runs_job_fkey FOREIGN KEY (job) REFERENCES upkeep.jobs(name) ON DELETE CASCADE;


--
-- Name: alerts; Type: ROW SECURITY; Schema: atm; Owner: postgres
--

ALTER TABLE atm.alerts ENABLE ROW LEVEL SECURITY;

--
-- Name: alerts company_rows; Type: POLICY; Schema: atm; Owner: postgres
--

CREATE POLICY company_rows ON atm.alerts USING ((( SELECT core.sees_all_companies() AS sees_all_companies) OR (job_id IN ( SELECT j.id
   FROM atm.dispense_jobs j
  WHERE (j.kiosk_id IN ( SELECT kiosk.company_kiosk_ids() AS company_kiosk_ids)))) OR (refund_id IN ( SELECT r.id
   FROM (atm.refunds r
     JOIN atm.transactions t ON ((t.id = r.transaction_id)))
  WHERE (t.kiosk_id IN ( SELECT kiosk.company_kiosk_ids() AS company_kiosk_ids))))));


--
-- Name: dispense_jobs company_rows; Type: POLICY; Schema: atm; Owner: postgres
--

CREATE POLICY company_rows ON atm.dispense_jobs USING ((( SELECT core.sees_all_companies() AS sees_all_companies) OR (kiosk_id IN ( SELECT kiosk.company_kiosk_ids() AS company_kiosk_ids))));


--
-- Name: refunds company_rows; Type: POLICY; Schema: atm; Owner: postgres
--

CREATE POLICY company_rows ON atm.refunds USING ((( SELECT core.sees_all_companies() AS sees_all_companies) OR (transaction_id IN ( SELECT t.id
   FROM atm.transactions t
  WHERE (t.kiosk_id IN ( SELECT kiosk.company_kiosk_ids() AS company_kiosk_ids))))));


--
-- Name: transactions company_rows; Type: POLICY; Schema: atm; Owner: postgres
--

CREATE POLICY company_rows ON atm.transactions USING ((( SELECT core.sees_all_companies() AS sees_all_companies) OR (kiosk_id IN ( SELECT kiosk.company_kiosk_ids() AS company_kiosk_ids))));


--
-- Name: dispense_jobs; Type: ROW SECURITY; Schema: atm; Owner: postgres
--

ALTER TABLE atm.dispense_jobs ENABLE ROW LEVEL SECURITY;

--
-- Name: refunds; Type: ROW SECURITY; Schema: atm; Owner: postgres
--

ALTER TABLE atm.refunds ENABLE ROW LEVEL SECURITY;

--
-- Name: transactions; Type: ROW SECURITY; Schema: atm; Owner: postgres
--

ALTER TABLE atm.transactions ENABLE ROW LEVEL SECURITY;

--
-- Name: order_lines company_rows; Type: POLICY; Schema: checkout; Owner: postgres
--

CREATE POLICY company_rows ON checkout.order_lines USING ((( SELECT core.sees_all_companies() AS sees_all_companies) OR (order_id IN ( SELECT o.order_id
   FROM checkout.orders o
  WHERE (o.kiosk_id IN ( SELECT kiosk.company_kiosk_ids() AS company_kiosk_ids))))));


--
-- Name: orders company_rows; Type: POLICY; Schema: checkout; Owner: postgres
--

CREATE POLICY company_rows ON checkout.orders USING ((( SELECT core.sees_all_companies() AS sees_all_companies) OR (kiosk_id IN ( SELECT kiosk.company_kiosk_ids() AS company_kiosk_ids))));


--
-- Name: refused_orders company_rows; Type: POLICY; Schema: checkout; Owner: postgres
--

CREATE POLICY company_rows ON checkout.refused_orders USING ((( SELECT core.sees_all_companies() AS sees_all_companies) OR (kiosk_id IN ( SELECT kiosk.company_kiosk_ids() AS company_kiosk_ids))));


--
-- Name: sync_batches company_rows; Type: POLICY; Schema: checkout; Owner: postgres
--

CREATE POLICY company_rows ON checkout.sync_batches USING ((( SELECT core.sees_all_companies() AS sees_all_companies) OR (kiosk_id IN ( SELECT kiosk.company_kiosk_ids() AS company_kiosk_ids))));


--
-- Name: order_lines; Type: ROW SECURITY; Schema: checkout; Owner: postgres
--

ALTER TABLE checkout.order_lines ENABLE ROW LEVEL SECURITY;

--
-- Name: orders; Type: ROW SECURITY; Schema: checkout; Owner: postgres
--

ALTER TABLE checkout.orders ENABLE ROW LEVEL SECURITY;

--
-- Name: refused_orders; Type: ROW SECURITY; Schema: checkout; Owner: postgres
--

ALTER TABLE checkout.refused_orders ENABLE ROW LEVEL SECURITY;

--
-- Name: sync_batches; Type: ROW SECURITY; Schema: checkout; Owner: postgres
--

ALTER TABLE checkout.sync_batches ENABLE ROW LEVEL SECURITY;

--
-- Name: alert_events; Type: ROW SECURITY; Schema: core; Owner: postgres
--

ALTER TABLE core.alert_events ENABLE ROW LEVEL SECURITY;

--
-- Name: alerts; Type: ROW SECURITY; Schema: core; Owner: postgres
--

ALTER TABLE core.alerts ENABLE ROW LEVEL SECURITY;

--
-- Name: alert_events company_rows; Type: POLICY; Schema: core; Owner: postgres
--

CREATE POLICY company_rows ON core.alert_events USING (core.alert_visible(company_id));


--
-- Name: alerts company_rows; Type: POLICY; Schema: core; Owner: postgres
--

CREATE POLICY company_rows ON core.alerts USING (core.alert_visible(company_id));


--
-- Name: captures; Type: ROW SECURITY; Schema: dex; Owner: postgres
--

ALTER TABLE dex.captures ENABLE ROW LEVEL SECURITY;

--
-- Name: cash_collections; Type: ROW SECURITY; Schema: dex; Owner: postgres
--

ALTER TABLE dex.cash_collections ENABLE ROW LEVEL SECURITY;

--
-- Name: companies; Type: ROW SECURITY; Schema: dex; Owner: postgres
--

ALTER TABLE dex.companies ENABLE ROW LEVEL SECURITY;

--
-- Name: captures company_rows; Type: POLICY; Schema: dex; Owner: postgres
--

CREATE POLICY company_rows ON dex.captures USING ((( SELECT core.sees_all_companies() AS sees_all_companies) OR (company_id = ( SELECT core.request_company() AS request_company))));


--
-- Name: cash_collections company_rows; Type: POLICY; Schema: dex; Owner: postgres
--

CREATE POLICY company_rows ON dex.cash_collections USING ((( SELECT core.sees_all_companies() AS sees_all_companies) OR (company_id = ( SELECT core.request_company() AS request_company))));


--
-- Name: companies company_rows; Type: POLICY; Schema: dex; Owner: postgres
--

CREATE POLICY company_rows ON dex.companies USING ((( SELECT core.sees_all_companies() AS sees_all_companies) OR (company_id = ( SELECT core.request_company() AS request_company))));


--
-- Name: locations company_rows; Type: POLICY; Schema: dex; Owner: postgres
--

CREATE POLICY company_rows ON dex.locations USING ((( SELECT core.sees_all_companies() AS sees_all_companies) OR (company_id = ( SELECT core.request_company() AS request_company))));


--
-- Name: machine_errors company_rows; Type: POLICY; Schema: dex; Owner: postgres
--

CREATE POLICY company_rows ON dex.machine_errors USING ((( SELECT core.sees_all_companies() AS sees_all_companies) OR (company_id = ( SELECT core.request_company() AS request_company))));


--
-- Name: machine_slots company_rows; Type: POLICY; Schema: dex; Owner: postgres
--

CREATE POLICY company_rows ON dex.machine_slots USING ((( SELECT core.sees_all_companies() AS sees_all_companies) OR (company_id = ( SELECT core.request_company() AS request_company))));


--
-- Name: machine_state company_rows; Type: POLICY; Schema: dex; Owner: postgres
--

CREATE POLICY company_rows ON dex.machine_state USING ((( SELECT core.sees_all_companies() AS sees_all_companies) OR (company_id = ( SELECT core.request_company() AS request_company))));


--
-- Name: machines company_rows; Type: POLICY; Schema: dex; Owner: postgres
--

CREATE POLICY company_rows ON dex.machines USING ((( SELECT core.sees_all_companies() AS sees_all_companies) OR (company_id = ( SELECT core.request_company() AS request_company))));


--
-- Name: planogram company_rows; Type: POLICY; Schema: dex; Owner: postgres
--

CREATE POLICY company_rows ON dex.planogram USING ((( SELECT core.sees_all_companies() AS sees_all_companies) OR (company_id = ( SELECT core.request_company() AS request_company))));


--
-- Name: products company_rows; Type: POLICY; Schema: dex; Owner: postgres
--

CREATE POLICY company_rows ON dex.products USING ((( SELECT core.sees_all_companies() AS sees_all_companies) OR (company_id = ( SELECT core.request_company() AS request_company))));


--
-- Name: read_cash company_rows; Type: POLICY; Schema: dex; Owner: postgres
--

CREATE POLICY company_rows ON dex.read_cash USING ((( SELECT core.sees_all_companies() AS sees_all_companies) OR (company_id = ( SELECT core.request_company() AS request_company))));


--
-- Name: read_events company_rows; Type: POLICY; Schema: dex; Owner: postgres
--

CREATE POLICY company_rows ON dex.read_events USING ((( SELECT core.sees_all_companies() AS sees_all_companies) OR (company_id = ( SELECT core.request_company() AS request_company))));


--
-- Name: read_selections company_rows; Type: POLICY; Schema: dex; Owner: postgres
--

CREATE POLICY company_rows ON dex.read_selections USING ((( SELECT core.sees_all_companies() AS sees_all_companies) OR (company_id = ( SELECT core.request_company() AS request_company))));


--
-- Name: read_temperatures company_rows; Type: POLICY; Schema: dex; Owner: postgres
--

CREATE POLICY company_rows ON dex.read_temperatures USING ((( SELECT core.sees_all_companies() AS sees_all_companies) OR (company_id = ( SELECT core.request_company() AS request_company))));


--
-- Name: read_totals company_rows; Type: POLICY; Schema: dex; Owner: postgres
--

CREATE POLICY company_rows ON dex.read_totals USING ((( SELECT core.sees_all_companies() AS sees_all_companies) OR (company_id = ( SELECT core.request_company() AS request_company))));


--
-- Name: read_tubes company_rows; Type: POLICY; Schema: dex; Owner: postgres
--

CREATE POLICY company_rows ON dex.read_tubes USING ((( SELECT core.sees_all_companies() AS sees_all_companies) OR (company_id = ( SELECT core.request_company() AS request_company))));


--
-- Name: reads company_rows; Type: POLICY; Schema: dex; Owner: postgres
--

CREATE POLICY company_rows ON dex.reads USING ((( SELECT core.sees_all_companies() AS sees_all_companies) OR (company_id = ( SELECT core.request_company() AS request_company))));


--
-- Name: sales_deltas company_rows; Type: POLICY; Schema: dex; Owner: postgres
--

CREATE POLICY company_rows ON dex.sales_deltas USING ((( SELECT core.sees_all_companies() AS sees_all_companies) OR (company_id = ( SELECT core.request_company() AS request_company))));


--
-- Name: slot_fills company_rows; Type: POLICY; Schema: dex; Owner: postgres
--

CREATE POLICY company_rows ON dex.slot_fills USING ((( SELECT core.sees_all_companies() AS sees_all_companies) OR (company_id = ( SELECT core.request_company() AS request_company))));


--
-- Name: locations; Type: ROW SECURITY; Schema: dex; Owner: postgres
--

ALTER TABLE dex.locations ENABLE ROW LEVEL SECURITY;

--
-- Name: machine_errors; Type: ROW SECURITY; Schema: dex; Owner: postgres
--

ALTER TABLE dex.machine_errors ENABLE ROW LEVEL SECURITY;

--
-- Name: machine_slots; Type: ROW SECURITY; Schema: dex; Owner: postgres
--

ALTER TABLE dex.machine_slots ENABLE ROW LEVEL SECURITY;

--
-- Name: machine_state; Type: ROW SECURITY; Schema: dex; Owner: postgres
--

ALTER TABLE dex.machine_state ENABLE ROW LEVEL SECURITY;

--
-- Name: machines; Type: ROW SECURITY; Schema: dex; Owner: postgres
--

ALTER TABLE dex.machines ENABLE ROW LEVEL SECURITY;

--
-- Name: planogram; Type: ROW SECURITY; Schema: dex; Owner: postgres
--

ALTER TABLE dex.planogram ENABLE ROW LEVEL SECURITY;

--
-- Name: products; Type: ROW SECURITY; Schema: dex; Owner: postgres
--

ALTER TABLE dex.products ENABLE ROW LEVEL SECURITY;

--
-- Name: read_cash; Type: ROW SECURITY; Schema: dex; Owner: postgres
--

ALTER TABLE dex.read_cash ENABLE ROW LEVEL SECURITY;

--
-- Name: read_events; Type: ROW SECURITY; Schema: dex; Owner: postgres
--

ALTER TABLE dex.read_events ENABLE ROW LEVEL SECURITY;

--
-- Name: read_selections; Type: ROW SECURITY; Schema: dex; Owner: postgres
--

ALTER TABLE dex.read_selections ENABLE ROW LEVEL SECURITY;

--
-- Name: read_temperatures; Type: ROW SECURITY; Schema: dex; Owner: postgres
--

ALTER TABLE dex.read_temperatures ENABLE ROW LEVEL SECURITY;

--
-- Name: read_totals; Type: ROW SECURITY; Schema: dex; Owner: postgres
--

ALTER TABLE dex.read_totals ENABLE ROW LEVEL SECURITY;

--
-- Name: read_tubes; Type: ROW SECURITY; Schema: dex; Owner: postgres
--

ALTER TABLE dex.read_tubes ENABLE ROW LEVEL SECURITY;

--
-- Name: reads; Type: ROW SECURITY; Schema: dex; Owner: postgres
--

ALTER TABLE dex.reads ENABLE ROW LEVEL SECURITY;

--
-- Name: sales_deltas; Type: ROW SECURITY; Schema: dex; Owner: postgres
--

ALTER TABLE dex.sales_deltas ENABLE ROW LEVEL SECURITY;

--
-- Name: slot_fills; Type: ROW SECURITY; Schema: dex; Owner: postgres
--

ALTER TABLE dex.slot_fills ENABLE ROW LEVEL SECURITY;

--
-- Name: kiosks company_rows; Type: POLICY; Schema: kiosk; Owner: postgres
--

CREATE POLICY company_rows ON kiosk.kiosks USING ((( SELECT core.sees_all_companies() AS sees_all_companies) OR (company_id = ( SELECT core.request_company() AS request_company))));


--
-- Name: kiosks; Type: ROW SECURITY; Schema: kiosk; Owner: postgres
--

ALTER TABLE kiosk.kiosks ENABLE ROW LEVEL SECURITY;

--
-- Name: SCHEMA api; Type: ACL; Schema: -; Owner: postgres
--

GRANT USAGE ON SCHEMA api TO admin;
GRANT USAGE ON SCHEMA api TO anon;
GRANT USAGE ON SCHEMA api TO kiosk;
GRANT USAGE ON SCHEMA api TO kiosk_agent;
GRANT USAGE ON SCHEMA api TO login_service;
GRANT USAGE ON SCHEMA api TO operator;
GRANT USAGE ON SCHEMA api TO payments;
GRANT USAGE ON SCHEMA api TO staff;


--
-- Name: SCHEMA atm; Type: ACL; Schema: -; Owner: postgres
--

GRANT USAGE ON SCHEMA atm TO fleet_service;


--
-- Name: SCHEMA checkout; Type: ACL; Schema: -; Owner: postgres
--

GRANT USAGE ON SCHEMA checkout TO fleet_service;


--
-- Name: SCHEMA core; Type: ACL; Schema: -; Owner: postgres
--

GRANT USAGE ON SCHEMA core TO authenticator;
GRANT USAGE ON SCHEMA core TO dex_service;
GRANT USAGE ON SCHEMA core TO fleet_service;


--
-- Name: SCHEMA dex; Type: ACL; Schema: -; Owner: postgres
--

GRANT USAGE ON SCHEMA dex TO dex_service;


--
-- Name: SCHEMA kiosk; Type: ACL; Schema: -; Owner: postgres
--

GRANT USAGE ON SCHEMA kiosk TO fleet_service;


--
-- Name: SCHEMA ledger; Type: ACL; Schema: -; Owner: postgres
--

GRANT USAGE ON SCHEMA ledger TO fleet_service;


--
-- Name: SCHEMA public; Type: ACL; Schema: -; Owner: pg_database_owner
--

REVOKE USAGE ON SCHEMA public FROM PUBLIC;


--
-- Name: FUNCTION bcrypt_cost(); Type: ACL; Schema: accounts; Owner: postgres
--

REVOKE ALL ON FUNCTION accounts.bcrypt_cost() FROM PUBLIC;


--
-- Name: FUNCTION check_password(email text, password text, wrong_code text); Type: ACL; Schema: accounts; Owner: postgres
--

REVOKE ALL ON FUNCTION accounts.check_password(email text, password text, wrong_code text) FROM PUBLIC;


--
-- Name: FUNCTION checked(a accounts.accounts); Type: ACL; Schema: accounts; Owner: postgres
--

REVOKE ALL ON FUNCTION accounts.checked(a accounts.accounts) FROM PUBLIC;


--
-- Name: FUNCTION claims(a accounts.accounts); Type: ACL; Schema: accounts; Owner: postgres
--

REVOKE ALL ON FUNCTION accounts.claims(a accounts.accounts) FROM PUBLIC;


--
-- Name: FUNCTION cleanup(retention interval); Type: ACL; Schema: accounts; Owner: postgres
--

REVOKE ALL ON FUNCTION accounts.cleanup(retention interval) FROM PUBLIC;


--
-- Name: FUNCTION create_account(email text, password text, role text, display_name text, company_id text, point_of_sale text, checkpoint text); Type: ACL; Schema: accounts; Owner: postgres
--

REVOKE ALL ON FUNCTION accounts.create_account(email text, password text, role text, display_name text, company_id text, point_of_sale text, checkpoint text) FROM PUBLIC;


--
-- Name: FUNCTION email_normalize(email text); Type: ACL; Schema: accounts; Owner: postgres
--

REVOKE ALL ON FUNCTION accounts.email_normalize(email text) FROM PUBLIC;


--
-- Name: FUNCTION event(account_id uuid, event text, details jsonb); Type: ACL; Schema: accounts; Owner: postgres
--

REVOKE ALL ON FUNCTION accounts.event(account_id uuid, event text, details jsonb) FROM PUBLIC;


--
-- Name: FUNCTION hash_cost(hash text); Type: ACL; Schema: accounts; Owner: postgres
--

REVOKE ALL ON FUNCTION accounts.hash_cost(hash text) FROM PUBLIC;


--
-- Name: FUNCTION invalid_refresh(reason text); Type: ACL; Schema: accounts; Owner: postgres
--

REVOKE ALL ON FUNCTION accounts.invalid_refresh(reason text) FROM PUBLIC;


--
-- Name: FUNCTION list(role text, company_id text, include_disabled boolean); Type: ACL; Schema: accounts; Owner: postgres
--

REVOKE ALL ON FUNCTION accounts.list(role text, company_id text, include_disabled boolean) FROM PUBLIC;


--
-- Name: FUNCTION listing(a accounts.accounts); Type: ACL; Schema: accounts; Owner: postgres
--

REVOKE ALL ON FUNCTION accounts.listing(a accounts.accounts) FROM PUBLIC;


--
-- Name: FUNCTION lock_account(account_id uuid); Type: ACL; Schema: accounts; Owner: postgres
--

REVOKE ALL ON FUNCTION accounts.lock_account(account_id uuid) FROM PUBLIC;


--
-- Name: FUNCTION locked(locked_until timestamp with time zone); Type: ACL; Schema: accounts; Owner: postgres
--

REVOKE ALL ON FUNCTION accounts.locked(locked_until timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION login(email text, password text); Type: ACL; Schema: accounts; Owner: postgres
--

REVOKE ALL ON FUNCTION accounts.login(email text, password text) FROM PUBLIC;


--
-- Name: FUNCTION logout(refresh_token text); Type: ACL; Schema: accounts; Owner: postgres
--

REVOKE ALL ON FUNCTION accounts.logout(refresh_token text) FROM PUBLIC;


--
-- Name: FUNCTION password_hash(password text); Type: ACL; Schema: accounts; Owner: postgres
--

REVOKE ALL ON FUNCTION accounts.password_hash(password text) FROM PUBLIC;


--
-- Name: FUNCTION password_matches(password text, hash text); Type: ACL; Schema: accounts; Owner: postgres
--

REVOKE ALL ON FUNCTION accounts.password_matches(password text, hash text) FROM PUBLIC;


--
-- Name: FUNCTION public(a accounts.accounts); Type: ACL; Schema: accounts; Owner: postgres
--

REVOKE ALL ON FUNCTION accounts.public(a accounts.accounts) FROM PUBLIC;


--
-- Name: FUNCTION refresh(refresh_token text); Type: ACL; Schema: accounts; Owner: postgres
--

REVOKE ALL ON FUNCTION accounts.refresh(refresh_token text) FROM PUBLIC;


--
-- Name: FUNCTION require_email(email text); Type: ACL; Schema: accounts; Owner: postgres
--

REVOKE ALL ON FUNCTION accounts.require_email(email text) FROM PUBLIC;


--
-- Name: FUNCTION require_password(password text, argument text); Type: ACL; Schema: accounts; Owner: postgres
--

REVOKE ALL ON FUNCTION accounts.require_password(password text, argument text) FROM PUBLIC;


--
-- Name: FUNCTION revoke_all(account_id uuid, reason text); Type: ACL; Schema: accounts; Owner: postgres
--

REVOKE ALL ON FUNCTION accounts.revoke_all(account_id uuid, reason text) FROM PUBLIC;


--
-- Name: FUNCTION revoke_family(family_id uuid, reason text); Type: ACL; Schema: accounts; Owner: postgres
--

REVOKE ALL ON FUNCTION accounts.revoke_family(family_id uuid, reason text) FROM PUBLIC;


--
-- Name: FUNCTION session_issue(a accounts.accounts, family_id uuid); Type: ACL; Schema: accounts; Owner: postgres
--

REVOKE ALL ON FUNCTION accounts.session_issue(a accounts.accounts, family_id uuid) FROM PUBLIC;


--
-- Name: FUNCTION set_password(account_id uuid, new_password text, current_password text); Type: ACL; Schema: accounts; Owner: postgres
--

REVOKE ALL ON FUNCTION accounts.set_password(account_id uuid, new_password text, current_password text) FROM PUBLIC;


--
-- Name: FUNCTION unlock(account_id uuid); Type: ACL; Schema: accounts; Owner: postgres
--

REVOKE ALL ON FUNCTION accounts.unlock(account_id uuid) FROM PUBLIC;


--
-- Name: FUNCTION update_account(account_id uuid, changes jsonb); Type: ACL; Schema: accounts; Owner: postgres
--

REVOKE ALL ON FUNCTION accounts.update_account(account_id uuid, changes jsonb) FROM PUBLIC;


--
-- Name: FUNCTION account_create(email text, password text, role text, display_name text, request_id text, company_id text, point_of_sale text, checkpoint text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.account_create(email text, password text, role text, display_name text, request_id text, company_id text, point_of_sale text, checkpoint text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.account_create(email text, password text, role text, display_name text, request_id text, company_id text, point_of_sale text, checkpoint text) TO admin;


--
-- Name: FUNCTION account_set_password(account_id uuid, new_password text, request_id text, current_password text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.account_set_password(account_id uuid, new_password text, request_id text, current_password text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.account_set_password(account_id uuid, new_password text, request_id text, current_password text) TO admin;
GRANT ALL ON FUNCTION api.account_set_password(account_id uuid, new_password text, request_id text, current_password text) TO operator;
GRANT ALL ON FUNCTION api.account_set_password(account_id uuid, new_password text, request_id text, current_password text) TO staff;


--
-- Name: FUNCTION account_unlock(account_id uuid, request_id text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.account_unlock(account_id uuid, request_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.account_unlock(account_id uuid, request_id text) TO admin;


--
-- Name: FUNCTION account_update(account_id uuid, changes jsonb, request_id text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.account_update(account_id uuid, changes jsonb, request_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.account_update(account_id uuid, changes jsonb, request_id text) TO admin;


--
-- Name: FUNCTION accounts(role text, company_id text, include_disabled boolean); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.accounts(role text, company_id text, include_disabled boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION api.accounts(role text, company_id text, include_disabled boolean) TO admin;


--
-- Name: FUNCTION alert_acknowledge(alert_id bigint, request_id text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.alert_acknowledge(alert_id bigint, request_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.alert_acknowledge(alert_id bigint, request_id text) TO admin;
GRANT ALL ON FUNCTION api.alert_acknowledge(alert_id bigint, request_id text) TO operator;


--
-- Name: FUNCTION alert_events(after bigint, "limit" integer); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.alert_events(after bigint, "limit" integer) FROM PUBLIC;
GRANT ALL ON FUNCTION api.alert_events(after bigint, "limit" integer) TO admin;
GRANT ALL ON FUNCTION api.alert_events(after bigint, "limit" integer) TO operator;
GRANT ALL ON FUNCTION api.alert_events(after bigint, "limit" integer) TO staff;


--
-- Name: FUNCTION alert_resolve(alert_id bigint, request_id text, note text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.alert_resolve(alert_id bigint, request_id text, note text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.alert_resolve(alert_id bigint, request_id text, note text) TO admin;
GRANT ALL ON FUNCTION api.alert_resolve(alert_id bigint, request_id text, note text) TO operator;


--
-- Name: FUNCTION alerts(status text, domain text, "limit" integer); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.alerts(status text, domain text, "limit" integer) FROM PUBLIC;
GRANT ALL ON FUNCTION api.alerts(status text, domain text, "limit" integer) TO admin;
GRANT ALL ON FUNCTION api.alerts(status text, domain text, "limit" integer) TO operator;
GRANT ALL ON FUNCTION api.alerts(status text, domain text, "limit" integer) TO staff;


--
-- Name: FUNCTION atm_jobs(status text, kiosk_id text, "limit" integer); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.atm_jobs(status text, kiosk_id text, "limit" integer) FROM PUBLIC;
GRANT ALL ON FUNCTION api.atm_jobs(status text, kiosk_id text, "limit" integer) TO admin;
GRANT ALL ON FUNCTION api.atm_jobs(status text, kiosk_id text, "limit" integer) TO operator;


--
-- Name: FUNCTION atm_kiosk_health(kiosk_id text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.atm_kiosk_health(kiosk_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.atm_kiosk_health(kiosk_id text) TO admin;
GRANT ALL ON FUNCTION api.atm_kiosk_health(kiosk_id text) TO kiosk;
GRANT ALL ON FUNCTION api.atm_kiosk_health(kiosk_id text) TO kiosk_agent;
GRANT ALL ON FUNCTION api.atm_kiosk_health(kiosk_id text) TO operator;


--
-- Name: FUNCTION atm_kiosk_register(kiosk_id text, name text, location text, fee_flat bigint, max_amount bigint, request_id text, company_id text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.atm_kiosk_register(kiosk_id text, name text, location text, fee_flat bigint, max_amount bigint, request_id text, company_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.atm_kiosk_register(kiosk_id text, name text, location text, fee_flat bigint, max_amount bigint, request_id text, company_id text) TO admin;


--
-- Name: FUNCTION atm_kiosks(); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.atm_kiosks() FROM PUBLIC;
GRANT ALL ON FUNCTION api.atm_kiosks() TO admin;
GRANT ALL ON FUNCTION api.atm_kiosks() TO operator;


--
-- Name: FUNCTION atm_pay(transaction_id uuid, nullifier_hash text, world_payment_id text, payment_status text, payment_reference text, paid_amount bigint, request_id text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.atm_pay(transaction_id uuid, nullifier_hash text, world_payment_id text, payment_status text, payment_reference text, paid_amount bigint, request_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.atm_pay(transaction_id uuid, nullifier_hash text, world_payment_id text, payment_status text, payment_reference text, paid_amount bigint, request_id text) TO payments;


--
-- Name: FUNCTION atm_refund_settle(refund_id bigint, method text, reference text, note text, request_id text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.atm_refund_settle(refund_id bigint, method text, reference text, note text, request_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.atm_refund_settle(refund_id bigint, method text, reference text, note text, request_id text) TO admin;
GRANT ALL ON FUNCTION api.atm_refund_settle(refund_id bigint, method text, reference text, note text, request_id text) TO operator;


--
-- Name: FUNCTION atm_refunds_due(kiosk_id text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.atm_refunds_due(kiosk_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.atm_refunds_due(kiosk_id text) TO admin;
GRANT ALL ON FUNCTION api.atm_refunds_due(kiosk_id text) TO operator;


--
-- Name: FUNCTION atm_transaction_create(amount bigint, request_id text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.atm_transaction_create(amount bigint, request_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.atm_transaction_create(amount bigint, request_id text) TO kiosk;
GRANT ALL ON FUNCTION api.atm_transaction_create(amount bigint, request_id text) TO kiosk_agent;


--
-- Name: FUNCTION atm_transaction_status(id uuid); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.atm_transaction_status(id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION api.atm_transaction_status(id uuid) TO admin;
GRANT ALL ON FUNCTION api.atm_transaction_status(id uuid) TO anon;
GRANT ALL ON FUNCTION api.atm_transaction_status(id uuid) TO kiosk;
GRANT ALL ON FUNCTION api.atm_transaction_status(id uuid) TO kiosk_agent;
GRANT ALL ON FUNCTION api.atm_transaction_status(id uuid) TO operator;


--
-- Name: FUNCTION atm_transactions(day date, kiosk_id text, "limit" integer); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.atm_transactions(day date, kiosk_id text, "limit" integer) FROM PUBLIC;
GRANT ALL ON FUNCTION api.atm_transactions(day date, kiosk_id text, "limit" integer) TO admin;
GRANT ALL ON FUNCTION api.atm_transactions(day date, kiosk_id text, "limit" integer) TO operator;


--
-- Name: FUNCTION auth_login(email text, password text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.auth_login(email text, password text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.auth_login(email text, password text) TO login_service;


--
-- Name: FUNCTION auth_logout(refresh_token text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.auth_logout(refresh_token text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.auth_logout(refresh_token text) TO login_service;


--
-- Name: FUNCTION auth_refresh(refresh_token text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.auth_refresh(refresh_token text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.auth_refresh(refresh_token text) TO login_service;


--
-- Name: FUNCTION bar_order(card_id text, items jsonb, request_id text, point_of_sale text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.bar_order(card_id text, items jsonb, request_id text, point_of_sale text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.bar_order(card_id text, items jsonb, request_id text, point_of_sale text) TO staff;


--
-- Name: FUNCTION card_balance(card_id text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.card_balance(card_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.card_balance(card_id text) TO admin;
GRANT ALL ON FUNCTION api.card_balance(card_id text) TO anon;
GRANT ALL ON FUNCTION api.card_balance(card_id text) TO staff;


--
-- Name: FUNCTION card_history(card_id text, "limit" integer); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.card_history(card_id text, "limit" integer) FROM PUBLIC;
GRANT ALL ON FUNCTION api.card_history(card_id text, "limit" integer) TO admin;
GRANT ALL ON FUNCTION api.card_history(card_id text, "limit" integer) TO staff;


--
-- Name: FUNCTION card_issue(card_id text, request_id text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.card_issue(card_id text, request_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.card_issue(card_id text, request_id text) TO admin;
GRANT ALL ON FUNCTION api.card_issue(card_id text, request_id text) TO staff;


--
-- Name: FUNCTION card_refund_codes_import(codes jsonb, request_id text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.card_refund_codes_import(codes jsonb, request_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.card_refund_codes_import(codes jsonb, request_id text) TO admin;


--
-- Name: FUNCTION catalog(); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.catalog() FROM PUBLIC;
GRANT ALL ON FUNCTION api.catalog() TO admin;
GRANT ALL ON FUNCTION api.catalog() TO anon;
GRANT ALL ON FUNCTION api.catalog() TO kiosk;
GRANT ALL ON FUNCTION api.catalog() TO kiosk_agent;
GRANT ALL ON FUNCTION api.catalog() TO operator;
GRANT ALL ON FUNCTION api.catalog() TO staff;


--
-- Name: FUNCTION catalog_upsert(sku text, name text, price bigint, currency text, active boolean, request_id text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.catalog_upsert(sku text, name text, price bigint, currency text, active boolean, request_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.catalog_upsert(sku text, name text, price bigint, currency text, active boolean, request_id text) TO admin;


--
-- Name: FUNCTION checkout_backlog(oldest_pending_at timestamp with time zone); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.checkout_backlog(oldest_pending_at timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION api.checkout_backlog(oldest_pending_at timestamp with time zone) TO kiosk;
GRANT ALL ON FUNCTION api.checkout_backlog(oldest_pending_at timestamp with time zone) TO kiosk_agent;


--
-- Name: FUNCTION checkout_kiosk_register(kiosk_id text, name text, location text, request_id text, company_id text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.checkout_kiosk_register(kiosk_id text, name text, location text, request_id text, company_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.checkout_kiosk_register(kiosk_id text, name text, location text, request_id text, company_id text) TO admin;


--
-- Name: FUNCTION checkout_orders(kiosk_id text, since timestamp with time zone, "limit" integer); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.checkout_orders(kiosk_id text, since timestamp with time zone, "limit" integer) FROM PUBLIC;
GRANT ALL ON FUNCTION api.checkout_orders(kiosk_id text, since timestamp with time zone, "limit" integer) TO admin;
GRANT ALL ON FUNCTION api.checkout_orders(kiosk_id text, since timestamp with time zone, "limit" integer) TO operator;


--
-- Name: FUNCTION checkout_refused_orders(kiosk_id text, include_resolved boolean, "limit" integer); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.checkout_refused_orders(kiosk_id text, include_resolved boolean, "limit" integer) FROM PUBLIC;
GRANT ALL ON FUNCTION api.checkout_refused_orders(kiosk_id text, include_resolved boolean, "limit" integer) TO admin;
GRANT ALL ON FUNCTION api.checkout_refused_orders(kiosk_id text, include_resolved boolean, "limit" integer) TO operator;


--
-- Name: FUNCTION checkout_sync(orders jsonb); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.checkout_sync(orders jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION api.checkout_sync(orders jsonb) TO kiosk;
GRANT ALL ON FUNCTION api.checkout_sync(orders jsonb) TO kiosk_agent;


--
-- Name: FUNCTION checkpoint_recharge(card_id text, amount bigint, payment_method text, checkpoint_id text, request_id text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.checkpoint_recharge(card_id text, amount bigint, payment_method text, checkpoint_id text, request_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.checkpoint_recharge(card_id text, amount bigint, payment_method text, checkpoint_id text, request_id text) TO staff;


--
-- Name: FUNCTION company_create(company_id text, name text, request_id text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.company_create(company_id text, name text, request_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.company_create(company_id text, name text, request_id text) TO admin;


--
-- Name: FUNCTION dashboard_kiosks(); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.dashboard_kiosks() FROM PUBLIC;
GRANT ALL ON FUNCTION api.dashboard_kiosks() TO admin;
GRANT ALL ON FUNCTION api.dashboard_kiosks() TO operator;


--
-- Name: FUNCTION dashboard_overview(); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.dashboard_overview() FROM PUBLIC;
GRANT ALL ON FUNCTION api.dashboard_overview() TO admin;
GRANT ALL ON FUNCTION api.dashboard_overview() TO operator;


--
-- Name: FUNCTION deposit_return(card_id text, quantity integer, request_id text, point_of_sale text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.deposit_return(card_id text, quantity integer, request_id text, point_of_sale text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.deposit_return(card_id text, quantity integer, request_id text, point_of_sale text) TO staff;


--
-- Name: FUNCTION dex_ingest(case_serial text, raw text, source text, request_id text, captured_at timestamp with time zone); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.dex_ingest(case_serial text, raw text, source text, request_id text, captured_at timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION api.dex_ingest(case_serial text, raw text, source text, request_id text, captured_at timestamp with time zone) TO admin;
GRANT ALL ON FUNCTION api.dex_ingest(case_serial text, raw text, source text, request_id text, captured_at timestamp with time zone) TO operator;


--
-- Name: FUNCTION dispense_begin(job_id bigint, claim_token uuid); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.dispense_begin(job_id bigint, claim_token uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION api.dispense_begin(job_id bigint, claim_token uuid) TO kiosk;
GRANT ALL ON FUNCTION api.dispense_begin(job_id bigint, claim_token uuid) TO kiosk_agent;


--
-- Name: FUNCTION dispense_claim(); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.dispense_claim() FROM PUBLIC;
GRANT ALL ON FUNCTION api.dispense_claim() TO kiosk;
GRANT ALL ON FUNCTION api.dispense_claim() TO kiosk_agent;


--
-- Name: FUNCTION dispense_expire_leases(); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.dispense_expire_leases() FROM PUBLIC;
GRANT ALL ON FUNCTION api.dispense_expire_leases() TO admin;
GRANT ALL ON FUNCTION api.dispense_expire_leases() TO kiosk;
GRANT ALL ON FUNCTION api.dispense_expire_leases() TO kiosk_agent;


--
-- Name: FUNCTION dispense_finish(job_id bigint, claim_token uuid, coins_paid integer, error_code text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.dispense_finish(job_id bigint, claim_token uuid, coins_paid integer, error_code text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.dispense_finish(job_id bigint, claim_token uuid, coins_paid integer, error_code text) TO kiosk;
GRANT ALL ON FUNCTION api.dispense_finish(job_id bigint, claim_token uuid, coins_paid integer, error_code text) TO kiosk_agent;


--
-- Name: FUNCTION dispense_progress(job_id bigint, claim_token uuid, coins_paid integer); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.dispense_progress(job_id bigint, claim_token uuid, coins_paid integer) FROM PUBLIC;
GRANT ALL ON FUNCTION api.dispense_progress(job_id bigint, claim_token uuid, coins_paid integer) TO kiosk;
GRANT ALL ON FUNCTION api.dispense_progress(job_id bigint, claim_token uuid, coins_paid integer) TO kiosk_agent;


--
-- Name: FUNCTION dispense_reconcile(job_id bigint, coins_paid integer, note text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.dispense_reconcile(job_id bigint, coins_paid integer, note text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.dispense_reconcile(job_id bigint, coins_paid integer, note text) TO admin;
GRANT ALL ON FUNCTION api.dispense_reconcile(job_id bigint, coins_paid integer, note text) TO kiosk;
GRANT ALL ON FUNCTION api.dispense_reconcile(job_id bigint, coins_paid integer, note text) TO kiosk_agent;


--
-- Name: FUNCTION dispense_report(job_id bigint, claim_token uuid, coins_paid integer, base_paid integer, error_code text, evidence jsonb); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.dispense_report(job_id bigint, claim_token uuid, coins_paid integer, base_paid integer, error_code text, evidence jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION api.dispense_report(job_id bigint, claim_token uuid, coins_paid integer, base_paid integer, error_code text, evidence jsonb) TO kiosk;
GRANT ALL ON FUNCTION api.dispense_report(job_id bigint, claim_token uuid, coins_paid integer, base_paid integer, error_code text, evidence jsonb) TO kiosk_agent;


--
-- Name: FUNCTION dispense_unknown(job_id bigint, claim_token uuid, evidence jsonb); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.dispense_unknown(job_id bigint, claim_token uuid, evidence jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION api.dispense_unknown(job_id bigint, claim_token uuid, evidence jsonb) TO kiosk;
GRANT ALL ON FUNCTION api.dispense_unknown(job_id bigint, claim_token uuid, evidence jsonb) TO kiosk_agent;


--
-- Name: FUNCTION festival_cards_attention("limit" integer); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.festival_cards_attention("limit" integer) FROM PUBLIC;
GRANT ALL ON FUNCTION api.festival_cards_attention("limit" integer) TO admin;


--
-- Name: FUNCTION festival_recharges(since timestamp with time zone); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.festival_recharges(since timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION api.festival_recharges(since timestamp with time zone) TO admin;


--
-- Name: FUNCTION festival_sales_per_hour(since timestamp with time zone, until timestamp with time zone); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.festival_sales_per_hour(since timestamp with time zone, until timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION api.festival_sales_per_hour(since timestamp with time zone, until timestamp with time zone) TO admin;


--
-- Name: FUNCTION festival_top_products(since timestamp with time zone, "limit" integer); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.festival_top_products(since timestamp with time zone, "limit" integer) FROM PUBLIC;
GRANT ALL ON FUNCTION api.festival_top_products(since timestamp with time zone, "limit" integer) TO admin;


--
-- Name: FUNCTION kiosk_assign_company(kiosk_id text, company_id text, request_id text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.kiosk_assign_company(kiosk_id text, company_id text, request_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.kiosk_assign_company(kiosk_id text, company_id text, request_id text) TO admin;


--
-- Name: FUNCTION kiosk_heartbeat(link_up boolean, pending_orders integer, app_version text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.kiosk_heartbeat(link_up boolean, pending_orders integer, app_version text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.kiosk_heartbeat(link_up boolean, pending_orders integer, app_version text) TO kiosk;
GRANT ALL ON FUNCTION api.kiosk_heartbeat(link_up boolean, pending_orders integer, app_version text) TO kiosk_agent;


--
-- Name: FUNCTION ledger_account(id bigint); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.ledger_account(id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION api.ledger_account(id bigint) TO admin;


--
-- Name: FUNCTION ledger_account_open(kind text, owner_ref text, currency text, lower_bound bigint, request_id text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.ledger_account_open(kind text, owner_ref text, currency text, lower_bound bigint, request_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.ledger_account_open(kind text, owner_ref text, currency text, lower_bound bigint, request_id text) TO admin;


--
-- Name: FUNCTION ledger_transfer(postings jsonb, kind text, request_id text, metadata jsonb); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.ledger_transfer(postings jsonb, kind text, request_id text, metadata jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION api.ledger_transfer(postings jsonb, kind text, request_id text, metadata jsonb) TO admin;


--
-- Name: FUNCTION location_create(company_id text, name text, address text, request_id text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.location_create(company_id text, name text, address text, request_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.location_create(company_id text, name text, address text, request_id text) TO admin;
GRANT ALL ON FUNCTION api.location_create(company_id text, name text, address text, request_id text) TO operator;


--
-- Name: FUNCTION machine_assign_location(case_serial text, location_id bigint, request_id text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.machine_assign_location(case_serial text, location_id bigint, request_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.machine_assign_location(case_serial text, location_id bigint, request_id text) TO admin;
GRANT ALL ON FUNCTION api.machine_assign_location(case_serial text, location_id bigint, request_id text) TO operator;


--
-- Name: FUNCTION machine_cash_collect(case_serial text, request_id text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.machine_cash_collect(case_serial text, request_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.machine_cash_collect(case_serial text, request_id text) TO admin;
GRANT ALL ON FUNCTION api.machine_cash_collect(case_serial text, request_id text) TO operator;


--
-- Name: FUNCTION machine_details(case_serial text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.machine_details(case_serial text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.machine_details(case_serial text) TO admin;
GRANT ALL ON FUNCTION api.machine_details(case_serial text) TO operator;


--
-- Name: FUNCTION machine_error_resolve(error_id bigint, note text, request_id text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.machine_error_resolve(error_id bigint, note text, request_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.machine_error_resolve(error_id bigint, note text, request_id text) TO admin;
GRANT ALL ON FUNCTION api.machine_error_resolve(error_id bigint, note text, request_id text) TO operator;


--
-- Name: FUNCTION machine_planogram_set(case_serial text, slots jsonb, request_id text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.machine_planogram_set(case_serial text, slots jsonb, request_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.machine_planogram_set(case_serial text, slots jsonb, request_id text) TO admin;
GRANT ALL ON FUNCTION api.machine_planogram_set(case_serial text, slots jsonb, request_id text) TO operator;


--
-- Name: FUNCTION machine_refill(case_serial text, request_id text, slots jsonb, "full" boolean); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.machine_refill(case_serial text, request_id text, slots jsonb, "full" boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION api.machine_refill(case_serial text, request_id text, slots jsonb, "full" boolean) TO admin;
GRANT ALL ON FUNCTION api.machine_refill(case_serial text, request_id text, slots jsonb, "full" boolean) TO operator;


--
-- Name: FUNCTION machine_register(case_serial text, company_id text, location text, model text, currency text, decimals integer, request_id text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.machine_register(case_serial text, company_id text, location text, model text, currency text, decimals integer, request_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.machine_register(case_serial text, company_id text, location text, model text, currency text, decimals integer, request_id text) TO admin;
GRANT ALL ON FUNCTION api.machine_register(case_serial text, company_id text, location text, model text, currency text, decimals integer, request_id text) TO operator;


--
-- Name: FUNCTION machine_sales(case_serial text, "from" date, "to" date); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.machine_sales(case_serial text, "from" date, "to" date) FROM PUBLIC;
GRANT ALL ON FUNCTION api.machine_sales(case_serial text, "from" date, "to" date) TO admin;
GRANT ALL ON FUNCTION api.machine_sales(case_serial text, "from" date, "to" date) TO operator;


--
-- Name: FUNCTION machines_summary(recent_within interval); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.machines_summary(recent_within interval) FROM PUBLIC;
GRANT ALL ON FUNCTION api.machines_summary(recent_within interval) TO admin;
GRANT ALL ON FUNCTION api.machines_summary(recent_within interval) TO operator;


--
-- Name: FUNCTION nfc_scan(card_id text, device_id text, location text, status text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.nfc_scan(card_id text, device_id text, location text, status text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.nfc_scan(card_id text, device_id text, location text, status text) TO staff;


--
-- Name: FUNCTION pick_list(location_id bigint); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.pick_list(location_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION api.pick_list(location_id bigint) TO admin;
GRANT ALL ON FUNCTION api.pick_list(location_id bigint) TO operator;


--
-- Name: FUNCTION product_upsert(product_id text, name text, category text, price bigint, is_deposit boolean, request_id text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.product_upsert(product_id text, name text, category text, price bigint, is_deposit boolean, request_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.product_upsert(product_id text, name text, category text, price bigint, is_deposit boolean, request_id text) TO admin;


--
-- Name: FUNCTION products(); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.products() FROM PUBLIC;
GRANT ALL ON FUNCTION api.products() TO admin;
GRANT ALL ON FUNCTION api.products() TO anon;
GRANT ALL ON FUNCTION api.products() TO kiosk;
GRANT ALL ON FUNCTION api.products() TO operator;
GRANT ALL ON FUNCTION api.products() TO staff;


--
-- Name: FUNCTION recharge_intent_attach(intent_id uuid, session_id text, checkout_url text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.recharge_intent_attach(intent_id uuid, session_id text, checkout_url text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.recharge_intent_attach(intent_id uuid, session_id text, checkout_url text) TO payments;


--
-- Name: FUNCTION recharge_intent_create(card_id text, amount bigint, request_id text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.recharge_intent_create(card_id text, amount bigint, request_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.recharge_intent_create(card_id text, amount bigint, request_id text) TO admin;
GRANT ALL ON FUNCTION api.recharge_intent_create(card_id text, amount bigint, request_id text) TO anon;
GRANT ALL ON FUNCTION api.recharge_intent_create(card_id text, amount bigint, request_id text) TO staff;


--
-- Name: FUNCTION refund_export(request_id text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.refund_export(request_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.refund_export(request_id text) TO admin;


--
-- Name: FUNCTION refund_export_file(export_id bigint); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.refund_export_file(export_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION api.refund_export_file(export_id bigint) TO admin;


--
-- Name: FUNCTION refund_exports_list("limit" integer); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.refund_exports_list("limit" integer) FROM PUBLIC;
GRANT ALL ON FUNCTION api.refund_exports_list("limit" integer) TO admin;


--
-- Name: FUNCTION refund_request(card_id text, name text, email text, iban text, request_id text, refund_code text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.refund_request(card_id text, name text, email text, iban text, request_id text, refund_code text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.refund_request(card_id text, name text, email text, iban text, request_id text, refund_code text) TO admin;
GRANT ALL ON FUNCTION api.refund_request(card_id text, name text, email text, iban text, request_id text, refund_code text) TO anon;
GRANT ALL ON FUNCTION api.refund_request(card_id text, name text, email text, iban text, request_id text, refund_code text) TO staff;


--
-- Name: FUNCTION refunds_list(status text, "limit" integer); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.refunds_list(status text, "limit" integer) FROM PUBLIC;
GRANT ALL ON FUNCTION api.refunds_list(status text, "limit" integer) TO admin;


--
-- Name: FUNCTION stripe_event_apply(event jsonb); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.stripe_event_apply(event jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION api.stripe_event_apply(event jsonb) TO payments;


--
-- Name: FUNCTION stripe_payload_apply(payload text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.stripe_payload_apply(payload text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.stripe_payload_apply(payload text) TO payments;


--
-- Name: FUNCTION vending_locations(); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.vending_locations() FROM PUBLIC;
GRANT ALL ON FUNCTION api.vending_locations() TO admin;
GRANT ALL ON FUNCTION api.vending_locations() TO operator;


--
-- Name: FUNCTION vending_product_upsert(company_id text, product_code text, name text, category text, request_id text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.vending_product_upsert(company_id text, product_code text, name text, category text, request_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.vending_product_upsert(company_id text, product_code text, name text, category text, request_id text) TO admin;
GRANT ALL ON FUNCTION api.vending_product_upsert(company_id text, product_code text, name text, category text, request_id text) TO operator;


--
-- Name: FUNCTION vending_products(company_id text); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.vending_products(company_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.vending_products(company_id text) TO admin;
GRANT ALL ON FUNCTION api.vending_products(company_id text) TO operator;


--
-- Name: FUNCTION whoami(); Type: ACL; Schema: api; Owner: postgres
--

REVOKE ALL ON FUNCTION api.whoami() FROM PUBLIC;
GRANT ALL ON FUNCTION api.whoami() TO admin;
GRANT ALL ON FUNCTION api.whoami() TO anon;
GRANT ALL ON FUNCTION api.whoami() TO kiosk;
GRANT ALL ON FUNCTION api.whoami() TO operator;
GRANT ALL ON FUNCTION api.whoami() TO staff;


--
-- Name: FUNCTION begin_dispense(job_id bigint, kiosk_id text, claim_token uuid); Type: ACL; Schema: atm; Owner: postgres
--

REVOKE ALL ON FUNCTION atm.begin_dispense(job_id bigint, kiosk_id text, claim_token uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION atm.begin_dispense(job_id bigint, kiosk_id text, claim_token uuid) TO fleet_service;


--
-- Name: TABLE transactions; Type: ACL; Schema: atm; Owner: postgres
--

GRANT SELECT ON TABLE atm.transactions TO fleet_service;


--
-- Name: FUNCTION book_refund(t atm.transactions, world_payment_id text, nullifier_hash text, reason text, amount bigint); Type: ACL; Schema: atm; Owner: postgres
--

REVOKE ALL ON FUNCTION atm.book_refund(t atm.transactions, world_payment_id text, nullifier_hash text, reason text, amount bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION atm.book_refund(t atm.transactions, world_payment_id text, nullifier_hash text, reason text, amount bigint) TO fleet_service;


--
-- Name: FUNCTION canonical_nullifier(hash text); Type: ACL; Schema: atm; Owner: postgres
--

REVOKE ALL ON FUNCTION atm.canonical_nullifier(hash text) FROM PUBLIC;
GRANT ALL ON FUNCTION atm.canonical_nullifier(hash text) TO fleet_service;


--
-- Name: FUNCTION check_evidence(evidence jsonb); Type: ACL; Schema: atm; Owner: postgres
--

REVOKE ALL ON FUNCTION atm.check_evidence(evidence jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION atm.check_evidence(evidence jsonb) TO fleet_service;


--
-- Name: FUNCTION claim(kiosk_id text); Type: ACL; Schema: atm; Owner: postgres
--

REVOKE ALL ON FUNCTION atm.claim(kiosk_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION atm.claim(kiosk_id text) TO fleet_service;


--
-- Name: FUNCTION cleanup_expired_transactions(); Type: ACL; Schema: atm; Owner: postgres
--

REVOKE ALL ON FUNCTION atm.cleanup_expired_transactions() FROM PUBLIC;
GRANT ALL ON FUNCTION atm.cleanup_expired_transactions() TO fleet_service;


--
-- Name: FUNCTION coin_cents(); Type: ACL; Schema: atm; Owner: postgres
--

REVOKE ALL ON FUNCTION atm.coin_cents() FROM PUBLIC;
GRANT ALL ON FUNCTION atm.coin_cents() TO fleet_service;


--
-- Name: TABLE dispense_jobs; Type: ACL; Schema: atm; Owner: postgres
--

GRANT SELECT ON TABLE atm.dispense_jobs TO fleet_service;


--
-- Name: FUNCTION coins_invalid(j atm.dispense_jobs); Type: ACL; Schema: atm; Owner: postgres
--

REVOKE ALL ON FUNCTION atm.coins_invalid(j atm.dispense_jobs) FROM PUBLIC;
GRANT ALL ON FUNCTION atm.coins_invalid(j atm.dispense_jobs) TO fleet_service;


--
-- Name: FUNCTION coins_valid(j atm.dispense_jobs, coins integer); Type: ACL; Schema: atm; Owner: postgres
--

REVOKE ALL ON FUNCTION atm.coins_valid(j atm.dispense_jobs, coins integer) FROM PUBLIC;
GRANT ALL ON FUNCTION atm.coins_valid(j atm.dispense_jobs, coins integer) TO fleet_service;


--
-- Name: FUNCTION expire_leases(); Type: ACL; Schema: atm; Owner: postgres
--

REVOKE ALL ON FUNCTION atm.expire_leases() FROM PUBLIC;
GRANT ALL ON FUNCTION atm.expire_leases() TO fleet_service;


--
-- Name: FUNCTION finish(job_id bigint, kiosk_id text, claim_token uuid, coins_paid integer, error_code text); Type: ACL; Schema: atm; Owner: postgres
--

REVOKE ALL ON FUNCTION atm.finish(job_id bigint, kiosk_id text, claim_token uuid, coins_paid integer, error_code text) FROM PUBLIC;
GRANT ALL ON FUNCTION atm.finish(job_id bigint, kiosk_id text, claim_token uuid, coins_paid integer, error_code text) TO fleet_service;


--
-- Name: FUNCTION finish_applied(j atm.dispense_jobs, coins integer); Type: ACL; Schema: atm; Owner: postgres
--

REVOKE ALL ON FUNCTION atm.finish_applied(j atm.dispense_jobs, coins integer) FROM PUBLIC;
GRANT ALL ON FUNCTION atm.finish_applied(j atm.dispense_jobs, coins integer) TO fleet_service;


--
-- Name: FUNCTION job_json(j atm.dispense_jobs); Type: ACL; Schema: atm; Owner: postgres
--

REVOKE ALL ON FUNCTION atm.job_json(j atm.dispense_jobs) FROM PUBLIC;
GRANT ALL ON FUNCTION atm.job_json(j atm.dispense_jobs) TO fleet_service;


--
-- Name: FUNCTION job_transition(job atm.dispense_jobs, new_status text, coins integer, note text, due timestamp with time zone, lease timestamp with time zone); Type: ACL; Schema: atm; Owner: postgres
--

REVOKE ALL ON FUNCTION atm.job_transition(job atm.dispense_jobs, new_status text, coins integer, note text, due timestamp with time zone, lease timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION atm.job_transition(job atm.dispense_jobs, new_status text, coins integer, note text, due timestamp with time zone, lease timestamp with time zone) TO fleet_service;


--
-- Name: FUNCTION jobs_of(status text, kiosk_id text, max_rows integer); Type: ACL; Schema: atm; Owner: fleet_service
--

REVOKE ALL ON FUNCTION atm.jobs_of(status text, kiosk_id text, max_rows integer) FROM PUBLIC;


--
-- Name: FUNCTION kiosk_health_of(kiosk_id text); Type: ACL; Schema: atm; Owner: fleet_service
--

REVOKE ALL ON FUNCTION atm.kiosk_health_of(kiosk_id text) FROM PUBLIC;


--
-- Name: FUNCTION kiosks_health(); Type: ACL; Schema: atm; Owner: fleet_service
--

REVOKE ALL ON FUNCTION atm.kiosks_health() FROM PUBLIC;


--
-- Name: FUNCTION lease_end(); Type: ACL; Schema: atm; Owner: postgres
--

REVOKE ALL ON FUNCTION atm.lease_end() FROM PUBLIC;
GRANT ALL ON FUNCTION atm.lease_end() TO fleet_service;


--
-- Name: FUNCTION lock_job(job_id bigint, kiosk_id text, claim_token uuid, token_required boolean); Type: ACL; Schema: atm; Owner: postgres
--

REVOKE ALL ON FUNCTION atm.lock_job(job_id bigint, kiosk_id text, claim_token uuid, token_required boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION atm.lock_job(job_id bigint, kiosk_id text, claim_token uuid, token_required boolean) TO fleet_service;


--
-- Name: FUNCTION log_transaction_status(); Type: ACL; Schema: atm; Owner: postgres
--

REVOKE ALL ON FUNCTION atm.log_transaction_status() FROM PUBLIC;
GRANT ALL ON FUNCTION atm.log_transaction_status() TO fleet_service;


--
-- Name: FUNCTION park_unknown(job_id bigint, kiosk_id text, claim_token uuid, evidence jsonb); Type: ACL; Schema: atm; Owner: postgres
--

REVOKE ALL ON FUNCTION atm.park_unknown(job_id bigint, kiosk_id text, claim_token uuid, evidence jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION atm.park_unknown(job_id bigint, kiosk_id text, claim_token uuid, evidence jsonb) TO fleet_service;


--
-- Name: FUNCTION pay(transaction_id uuid, nullifier_hash text, world_payment_id text, payment_status text, payment_reference text, paid_amount bigint, transfer_key text); Type: ACL; Schema: atm; Owner: postgres
--

REVOKE ALL ON FUNCTION atm.pay(transaction_id uuid, nullifier_hash text, world_payment_id text, payment_status text, payment_reference text, paid_amount bigint, transfer_key text) FROM PUBLIC;
GRANT ALL ON FUNCTION atm.pay(transaction_id uuid, nullifier_hash text, world_payment_id text, payment_status text, payment_reference text, paid_amount bigint, transfer_key text) TO fleet_service;


--
-- Name: FUNCTION progress(job_id bigint, kiosk_id text, claim_token uuid, coins_paid integer); Type: ACL; Schema: atm; Owner: postgres
--

REVOKE ALL ON FUNCTION atm.progress(job_id bigint, kiosk_id text, claim_token uuid, coins_paid integer) FROM PUBLIC;
GRANT ALL ON FUNCTION atm.progress(job_id bigint, kiosk_id text, claim_token uuid, coins_paid integer) TO fleet_service;


--
-- Name: FUNCTION reconcile(job_id bigint, kiosk_id text, coins_paid integer, note text); Type: ACL; Schema: atm; Owner: postgres
--

REVOKE ALL ON FUNCTION atm.reconcile(job_id bigint, kiosk_id text, coins_paid integer, note text) FROM PUBLIC;
GRANT ALL ON FUNCTION atm.reconcile(job_id bigint, kiosk_id text, coins_paid integer, note text) TO fleet_service;


--
-- Name: TABLE refunds; Type: ACL; Schema: atm; Owner: postgres
--

GRANT SELECT ON TABLE atm.refunds TO fleet_service;


--
-- Name: FUNCTION refund_json(r atm.refunds); Type: ACL; Schema: atm; Owner: postgres
--

REVOKE ALL ON FUNCTION atm.refund_json(r atm.refunds) FROM PUBLIC;
GRANT ALL ON FUNCTION atm.refund_json(r atm.refunds) TO fleet_service;


--
-- Name: FUNCTION refund_settle(refund_id bigint, method text, reference text, note text); Type: ACL; Schema: atm; Owner: postgres
--

REVOKE ALL ON FUNCTION atm.refund_settle(refund_id bigint, method text, reference text, note text) FROM PUBLIC;
GRANT ALL ON FUNCTION atm.refund_settle(refund_id bigint, method text, reference text, note text) TO fleet_service;


--
-- Name: FUNCTION refund_visible(refund_id bigint); Type: ACL; Schema: atm; Owner: fleet_service
--

REVOKE ALL ON FUNCTION atm.refund_visible(refund_id bigint) FROM PUBLIC;


--
-- Name: FUNCTION refunds_due_of(kiosk_id text); Type: ACL; Schema: atm; Owner: fleet_service
--

REVOKE ALL ON FUNCTION atm.refunds_due_of(kiosk_id text) FROM PUBLIC;


--
-- Name: FUNCTION report_payout(job_id bigint, kiosk_id text, claim_token uuid, coins_paid integer, base_paid integer, error_code text, evidence jsonb); Type: ACL; Schema: atm; Owner: postgres
--

REVOKE ALL ON FUNCTION atm.report_payout(job_id bigint, kiosk_id text, claim_token uuid, coins_paid integer, base_paid integer, error_code text, evidence jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION atm.report_payout(job_id bigint, kiosk_id text, claim_token uuid, coins_paid integer, base_paid integer, error_code text, evidence jsonb) TO fleet_service;


--
-- Name: FUNCTION retry_failed_jobs(older_than interval); Type: ACL; Schema: atm; Owner: postgres
--

REVOKE ALL ON FUNCTION atm.retry_failed_jobs(older_than interval) FROM PUBLIC;
GRANT ALL ON FUNCTION atm.retry_failed_jobs(older_than interval) TO fleet_service;


--
-- Name: FUNCTION strand(j atm.dispense_jobs, note text, alert text); Type: ACL; Schema: atm; Owner: postgres
--

REVOKE ALL ON FUNCTION atm.strand(j atm.dispense_jobs, note text, alert text) FROM PUBLIC;
GRANT ALL ON FUNCTION atm.strand(j atm.dispense_jobs, note text, alert text) TO fleet_service;


--
-- Name: FUNCTION transaction_create(kiosk_id text, amount bigint); Type: ACL; Schema: atm; Owner: postgres
--

REVOKE ALL ON FUNCTION atm.transaction_create(kiosk_id text, amount bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION atm.transaction_create(kiosk_id text, amount bigint) TO fleet_service;


--
-- Name: FUNCTION transaction_json(t atm.transactions); Type: ACL; Schema: atm; Owner: postgres
--

REVOKE ALL ON FUNCTION atm.transaction_json(t atm.transactions) FROM PUBLIC;
GRANT ALL ON FUNCTION atm.transaction_json(t atm.transactions) TO fleet_service;


--
-- Name: FUNCTION transaction_status(id uuid); Type: ACL; Schema: atm; Owner: postgres
--

REVOKE ALL ON FUNCTION atm.transaction_status(id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION atm.transaction_status(id uuid) TO fleet_service;


--
-- Name: FUNCTION transactions_of(day date, kiosk_id text, max_rows integer); Type: ACL; Schema: atm; Owner: fleet_service
--

REVOKE ALL ON FUNCTION atm.transactions_of(day date, kiosk_id text, max_rows integer) FROM PUBLIC;


--
-- Name: FUNCTION balance(card_id text); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.balance(card_id text) FROM PUBLIC;


--
-- Name: FUNCTION bar_order(card_id text, items jsonb, point_of_sale text, transfer_key text); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.bar_order(card_id text, items jsonb, point_of_sale text, transfer_key text) FROM PUBLIC;


--
-- Name: FUNCTION checkpoint_recharge(card_id text, amount bigint, payment_method text, checkpoint_id text, transfer_key text); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.checkpoint_recharge(card_id text, amount bigint, payment_method text, checkpoint_id text, transfer_key text) FROM PUBLIC;


--
-- Name: FUNCTION currency_of(card cards.cards); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.currency_of(card cards.cards) FROM PUBLIC;


--
-- Name: FUNCTION deposit_return(card_id text, quantity integer, point_of_sale text, transfer_key text); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.deposit_return(card_id text, quantity integer, point_of_sale text, transfer_key text) FROM PUBLIC;


--
-- Name: FUNCTION history(card_id text, max_rows integer); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.history(card_id text, max_rows integer) FROM PUBLIC;


--
-- Name: FUNCTION iban_normalize(iban text); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.iban_normalize(iban text) FROM PUBLIC;


--
-- Name: FUNCTION intent_json(i cards.recharge_intents); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.intent_json(i cards.recharge_intents) FROM PUBLIC;


--
-- Name: FUNCTION issue(card_id text); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.issue(card_id text) FROM PUBLIC;


--
-- Name: FUNCTION lock_card(card_id text); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.lock_card(card_id text) FROM PUBLIC;


--
-- Name: FUNCTION log_status_change(); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.log_status_change() FROM PUBLIC;


--
-- Name: FUNCTION needing_attention(max_rows integer); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.needing_attention(max_rows integer) FROM PUBLIC;


--
-- Name: FUNCTION new_refund_code(); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.new_refund_code() FROM PUBLIC;


--
-- Name: FUNCTION nfc_scan(card_id text, device_id text, location text, status text); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.nfc_scan(card_id text, device_id text, location text, status text) FROM PUBLIC;


--
-- Name: FUNCTION normalize_id(card_id text); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.normalize_id(card_id text) FROM PUBLIC;


--
-- Name: FUNCTION not_active(card cards.cards); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.not_active(card cards.cards) FROM PUBLIC;


--
-- Name: FUNCTION product_upsert(product_id text, name text, category text, price bigint, is_deposit boolean); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.product_upsert(product_id text, name text, category text, price bigint, is_deposit boolean) FROM PUBLIC;


--
-- Name: FUNCTION recharge_intent_attach(intent_id uuid, session_id text, checkout_url text); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.recharge_intent_attach(intent_id uuid, session_id text, checkout_url text) FROM PUBLIC;


--
-- Name: FUNCTION recharge_intent_create(card_id text, amount bigint); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.recharge_intent_create(card_id text, amount bigint) FROM PUBLIC;


--
-- Name: FUNCTION recharges_since(since timestamp with time zone); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.recharges_since(since timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION refund_code_check(card_id text, refund_code text); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.refund_code_check(card_id text, refund_code text) FROM PUBLIC;


--
-- Name: FUNCTION refund_code_hash(code text); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.refund_code_hash(code text) FROM PUBLIC;


--
-- Name: FUNCTION refund_code_matches(code text, code_hash text); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.refund_code_matches(code text, code_hash text) FROM PUBLIC;


--
-- Name: FUNCTION refund_code_normalize(code text); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.refund_code_normalize(code text) FROM PUBLIC;


--
-- Name: FUNCTION refund_codes_import(codes jsonb); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.refund_codes_import(codes jsonb) FROM PUBLIC;


--
-- Name: FUNCTION refund_export(message_id text); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.refund_export(message_id text) FROM PUBLIC;


--
-- Name: FUNCTION refund_export_file(export_id bigint); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.refund_export_file(export_id bigint) FROM PUBLIC;


--
-- Name: FUNCTION refund_exports_list(max_rows integer); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.refund_exports_list(max_rows integer) FROM PUBLIC;


--
-- Name: FUNCTION refund_request(card_id text, name text, email text, iban text, refund_code text, transfer_key text); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.refund_request(card_id text, name text, email text, iban text, refund_code text, transfer_key text) FROM PUBLIC;


--
-- Name: FUNCTION refunds_list(status text, max_rows integer); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.refunds_list(status text, max_rows integer) FROM PUBLIC;


--
-- Name: FUNCTION require_amount(amount bigint, max_setting text); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.require_amount(amount bigint, max_setting text) FROM PUBLIC;


--
-- Name: FUNCTION sales_per_hour(since timestamp with time zone, until timestamp with time zone); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.sales_per_hour(since timestamp with time zone, until timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION sepa_amount(amount bigint); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.sepa_amount(amount bigint) FROM PUBLIC;


--
-- Name: FUNCTION set_status(card_id text, new_status text, reason text); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.set_status(card_id text, new_status text, reason text) FROM PUBLIC;


--
-- Name: FUNCTION stripe_apply_refunds(pi text); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.stripe_apply_refunds(pi text) FROM PUBLIC;


--
-- Name: FUNCTION stripe_credit(session jsonb); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.stripe_credit(session jsonb) FROM PUBLIC;


--
-- Name: FUNCTION stripe_event_apply(event jsonb); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.stripe_event_apply(event jsonb) FROM PUBLIC;


--
-- Name: FUNCTION stripe_hold(card cards.cards, from_account bigint, amount bigint, pi text, sid text, reason text, ccy text); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.stripe_hold(card cards.cards, from_account bigint, amount bigint, pi text, sid text, reason text, ccy text) FROM PUBLIC;


--
-- Name: FUNCTION stripe_payload_apply(payload text); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.stripe_payload_apply(payload text) FROM PUBLIC;


--
-- Name: FUNCTION stripe_route(card_id text, amount bigint, pi text, sid text, ccy text); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.stripe_route(card_id text, amount bigint, pi text, sid text, ccy text) FROM PUBLIC;


--
-- Name: FUNCTION top_products_since(since timestamp with time zone, max_rows integer); Type: ACL; Schema: cards; Owner: postgres
--

REVOKE ALL ON FUNCTION cards.top_products_since(since timestamp with time zone, max_rows integer) FROM PUBLIC;


--
-- Name: FUNCTION backlog_report(kiosk_id text, oldest_pending_at timestamp with time zone); Type: ACL; Schema: checkout; Owner: postgres
--

REVOKE ALL ON FUNCTION checkout.backlog_report(kiosk_id text, oldest_pending_at timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION checkout.backlog_report(kiosk_id text, oldest_pending_at timestamp with time zone) TO fleet_service;


--
-- Name: FUNCTION catalog(); Type: ACL; Schema: checkout; Owner: postgres
--

REVOKE ALL ON FUNCTION checkout.catalog() FROM PUBLIC;
GRANT ALL ON FUNCTION checkout.catalog() TO fleet_service;


--
-- Name: FUNCTION catalog_upsert(sku text, name text, price bigint, currency text, active boolean); Type: ACL; Schema: checkout; Owner: postgres
--

REVOKE ALL ON FUNCTION checkout.catalog_upsert(sku text, name text, price bigint, currency text, active boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION checkout.catalog_upsert(sku text, name text, price bigint, currency text, active boolean) TO fleet_service;


--
-- Name: FUNCTION catalog_version(); Type: ACL; Schema: checkout; Owner: postgres
--

REVOKE ALL ON FUNCTION checkout.catalog_version() FROM PUBLIC;
GRANT ALL ON FUNCTION checkout.catalog_version() TO fleet_service;


--
-- Name: FUNCTION dashboard_kiosks(); Type: ACL; Schema: checkout; Owner: fleet_service
--

REVOKE ALL ON FUNCTION checkout.dashboard_kiosks() FROM PUBLIC;


--
-- Name: FUNCTION dashboard_overview(); Type: ACL; Schema: checkout; Owner: fleet_service
--

REVOKE ALL ON FUNCTION checkout.dashboard_overview() FROM PUBLIC;


--
-- Name: TABLE orders; Type: ACL; Schema: checkout; Owner: postgres
--

GRANT SELECT ON TABLE checkout.orders TO fleet_service;


--
-- Name: FUNCTION order_json(o checkout.orders); Type: ACL; Schema: checkout; Owner: postgres
--

REVOKE ALL ON FUNCTION checkout.order_json(o checkout.orders) FROM PUBLIC;
GRANT ALL ON FUNCTION checkout.order_json(o checkout.orders) TO fleet_service;


--
-- Name: FUNCTION orders_of(kiosk_id text, since timestamp with time zone, max_orders integer); Type: ACL; Schema: checkout; Owner: fleet_service
--

REVOKE ALL ON FUNCTION checkout.orders_of(kiosk_id text, since timestamp with time zone, max_orders integer) FROM PUBLIC;


--
-- Name: FUNCTION parse_time(value text); Type: ACL; Schema: checkout; Owner: postgres
--

REVOKE ALL ON FUNCTION checkout.parse_time(value text) FROM PUBLIC;
GRANT ALL ON FUNCTION checkout.parse_time(value text) TO fleet_service;


--
-- Name: FUNCTION refused_orders_of(kiosk_id text, include_resolved boolean, max_rows integer); Type: ACL; Schema: checkout; Owner: fleet_service
--

REVOKE ALL ON FUNCTION checkout.refused_orders_of(kiosk_id text, include_resolved boolean, max_rows integer) FROM PUBLIC;


--
-- Name: FUNCTION require_checkout_kiosk(); Type: ACL; Schema: checkout; Owner: postgres
--

REVOKE ALL ON FUNCTION checkout.require_checkout_kiosk() FROM PUBLIC;
GRANT ALL ON FUNCTION checkout.require_checkout_kiosk() TO fleet_service;


--
-- Name: FUNCTION sync(kiosk_id text, orders jsonb); Type: ACL; Schema: checkout; Owner: postgres
--

REVOKE ALL ON FUNCTION checkout.sync(kiosk_id text, orders jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION checkout.sync(kiosk_id text, orders jsonb) TO fleet_service;


--
-- Name: FUNCTION today(); Type: ACL; Schema: checkout; Owner: postgres
--

REVOKE ALL ON FUNCTION checkout.today() FROM PUBLIC;
GRANT ALL ON FUNCTION checkout.today() TO fleet_service;


--
-- Name: FUNCTION actor(); Type: ACL; Schema: core; Owner: postgres
--

REVOKE ALL ON FUNCTION core.actor() FROM PUBLIC;


--
-- Name: FUNCTION alert_acknowledge(alert_id bigint); Type: ACL; Schema: core; Owner: postgres
--

REVOKE ALL ON FUNCTION core.alert_acknowledge(alert_id bigint) FROM PUBLIC;


--
-- Name: FUNCTION alert_clear(domain text, kind text, subject text, by text); Type: ACL; Schema: core; Owner: postgres
--

REVOKE ALL ON FUNCTION core.alert_clear(domain text, kind text, subject text, by text) FROM PUBLIC;


--
-- Name: FUNCTION alert_events_after(after bigint, max_events integer); Type: ACL; Schema: core; Owner: fleet_service
--

REVOKE ALL ON FUNCTION core.alert_events_after(after bigint, max_events integer) FROM PUBLIC;


--
-- Name: TABLE alerts; Type: ACL; Schema: core; Owner: postgres
--

GRANT SELECT ON TABLE core.alerts TO fleet_service;


--
-- Name: FUNCTION alert_for_update(alert_id bigint); Type: ACL; Schema: core; Owner: postgres
--

REVOKE ALL ON FUNCTION core.alert_for_update(alert_id bigint) FROM PUBLIC;


--
-- Name: FUNCTION alert_json(a core.alerts); Type: ACL; Schema: core; Owner: postgres
--

REVOKE ALL ON FUNCTION core.alert_json(a core.alerts) FROM PUBLIC;
GRANT ALL ON FUNCTION core.alert_json(a core.alerts) TO fleet_service;


--
-- Name: FUNCTION alert_lock(); Type: ACL; Schema: core; Owner: postgres
--

REVOKE ALL ON FUNCTION core.alert_lock() FROM PUBLIC;


--
-- Name: FUNCTION alert_log_change(); Type: ACL; Schema: core; Owner: postgres
--

REVOKE ALL ON FUNCTION core.alert_log_change() FROM PUBLIC;


--
-- Name: FUNCTION alert_raise(domain text, kind text, subject text, company_id text, severity text, message text, details jsonb); Type: ACL; Schema: core; Owner: postgres
--

REVOKE ALL ON FUNCTION core.alert_raise(domain text, kind text, subject text, company_id text, severity text, message text, details jsonb) FROM PUBLIC;


--
-- Name: FUNCTION alert_resolve(alert_id bigint, note text); Type: ACL; Schema: core; Owner: postgres
--

REVOKE ALL ON FUNCTION core.alert_resolve(alert_id bigint, note text) FROM PUBLIC;


--
-- Name: FUNCTION alert_sweep(OUT active integer, OUT raised integer, OUT cleared integer); Type: ACL; Schema: core; Owner: postgres
--

REVOKE ALL ON FUNCTION core.alert_sweep(OUT active integer, OUT raised integer, OUT cleared integer) FROM PUBLIC;


--
-- Name: FUNCTION alert_visible(company_id text); Type: ACL; Schema: core; Owner: postgres
--

REVOKE ALL ON FUNCTION core.alert_visible(company_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION core.alert_visible(company_id text) TO fleet_service;


--
-- Name: FUNCTION alerts_list(status text, domain text, max_alerts integer); Type: ACL; Schema: core; Owner: fleet_service
--

REVOKE ALL ON FUNCTION core.alerts_list(status text, domain text, max_alerts integer) FROM PUBLIC;


--
-- Name: FUNCTION api_schemas_current(); Type: ACL; Schema: core; Owner: postgres
--

REVOKE ALL ON FUNCTION core.api_schemas_current() FROM PUBLIC;
GRANT ALL ON FUNCTION core.api_schemas_current() TO authenticator;


--
-- Name: FUNCTION claims(); Type: ACL; Schema: core; Owner: postgres
--

REVOKE ALL ON FUNCTION core.claims() FROM PUBLIC;
GRANT ALL ON FUNCTION core.claims() TO dex_service;
GRANT ALL ON FUNCTION core.claims() TO fleet_service;


--
-- Name: FUNCTION decline(code text, message text, details jsonb); Type: ACL; Schema: core; Owner: postgres
--

REVOKE ALL ON FUNCTION core.decline(code text, message text, details jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION core.decline(code text, message text, details jsonb) TO dex_service;


--
-- Name: FUNCTION idem_begin(scope text, request_id text, payload jsonb); Type: ACL; Schema: core; Owner: postgres
--

REVOKE ALL ON FUNCTION core.idem_begin(scope text, request_id text, payload jsonb) FROM PUBLIC;


--
-- Name: FUNCTION idem_finish(scope text, request_id text, response jsonb); Type: ACL; Schema: core; Owner: postgres
--

REVOKE ALL ON FUNCTION core.idem_finish(scope text, request_id text, response jsonb) FROM PUBLIC;


--
-- Name: FUNCTION idempotency_cleanup(retention interval); Type: ACL; Schema: core; Owner: postgres
--

REVOKE ALL ON FUNCTION core.idempotency_cleanup(retention interval) FROM PUBLIC;


--
-- Name: FUNCTION idempotency_expired_prune(); Type: ACL; Schema: core; Owner: postgres
--

REVOKE ALL ON FUNCTION core.idempotency_expired_prune() FROM PUBLIC;


--
-- Name: FUNCTION json_bigint(value jsonb, field text); Type: ACL; Schema: core; Owner: postgres
--

REVOKE ALL ON FUNCTION core.json_bigint(value jsonb, field text) FROM PUBLIC;


--
-- Name: FUNCTION open_alert_counts(); Type: ACL; Schema: core; Owner: postgres
--

REVOKE ALL ON FUNCTION core.open_alert_counts() FROM PUBLIC;


--
-- Name: FUNCTION ops_gauges(dex_stale interval); Type: ACL; Schema: core; Owner: postgres
--

REVOKE ALL ON FUNCTION core.ops_gauges(dex_stale interval) FROM PUBLIC;
GRANT ALL ON FUNCTION core.ops_gauges(dex_stale interval) TO authenticator;


--
-- Name: FUNCTION principal(); Type: ACL; Schema: core; Owner: postgres
--

REVOKE ALL ON FUNCTION core.principal() FROM PUBLIC;
GRANT ALL ON FUNCTION core.principal() TO dex_service;


--
-- Name: FUNCTION raise_error(code text, message text, details jsonb, hint text); Type: ACL; Schema: core; Owner: postgres
--

REVOKE ALL ON FUNCTION core.raise_error(code text, message text, details jsonb, hint text) FROM PUBLIC;
GRANT ALL ON FUNCTION core.raise_error(code text, message text, details jsonb, hint text) TO dex_service;
GRANT ALL ON FUNCTION core.raise_error(code text, message text, details jsonb, hint text) TO fleet_service;


--
-- Name: FUNCTION request_company(); Type: ACL; Schema: core; Owner: postgres
--

REVOKE ALL ON FUNCTION core.request_company() FROM PUBLIC;
GRANT ALL ON FUNCTION core.request_company() TO dex_service;
GRANT ALL ON FUNCTION core.request_company() TO fleet_service;


--
-- Name: FUNCTION request_role(); Type: ACL; Schema: core; Owner: postgres
--

REVOKE ALL ON FUNCTION core.request_role() FROM PUBLIC;
GRANT ALL ON FUNCTION core.request_role() TO dex_service;
GRANT ALL ON FUNCTION core.request_role() TO fleet_service;


--
-- Name: FUNCTION require_ident(value text, argument text); Type: ACL; Schema: core; Owner: postgres
--

REVOKE ALL ON FUNCTION core.require_ident(value text, argument text) FROM PUBLIC;


--
-- Name: FUNCTION require_request_id(request_id text); Type: ACL; Schema: core; Owner: postgres
--

REVOKE ALL ON FUNCTION core.require_request_id(request_id text) FROM PUBLIC;


--
-- Name: FUNCTION sees_all_companies(); Type: ACL; Schema: core; Owner: postgres
--

REVOKE ALL ON FUNCTION core.sees_all_companies() FROM PUBLIC;
GRANT ALL ON FUNCTION core.sees_all_companies() TO dex_service;
GRANT ALL ON FUNCTION core.sees_all_companies() TO fleet_service;


--
-- Name: FUNCTION setting(key text); Type: ACL; Schema: core; Owner: postgres
--

REVOKE ALL ON FUNCTION core.setting(key text) FROM PUBLIC;
GRANT ALL ON FUNCTION core.setting(key text) TO fleet_service;


--
-- Name: FUNCTION settings_changed(); Type: ACL; Schema: core; Owner: postgres
--

REVOKE ALL ON FUNCTION core.settings_changed() FROM PUBLIC;


--
-- Name: FUNCTION armor(bytea); Type: ACL; Schema: crypto; Owner: postgres
--

REVOKE ALL ON FUNCTION crypto.armor(bytea) FROM PUBLIC;


--
-- Name: FUNCTION armor(bytea, text[], text[]); Type: ACL; Schema: crypto; Owner: postgres
--

REVOKE ALL ON FUNCTION crypto.armor(bytea, text[], text[]) FROM PUBLIC;


--
-- Name: FUNCTION crypt(text, text); Type: ACL; Schema: crypto; Owner: postgres
--

REVOKE ALL ON FUNCTION crypto.crypt(text, text) FROM PUBLIC;


--
-- Name: FUNCTION dearmor(text); Type: ACL; Schema: crypto; Owner: postgres
--

REVOKE ALL ON FUNCTION crypto.dearmor(text) FROM PUBLIC;


--
-- Name: FUNCTION decrypt(bytea, bytea, text); Type: ACL; Schema: crypto; Owner: postgres
--

REVOKE ALL ON FUNCTION crypto.decrypt(bytea, bytea, text) FROM PUBLIC;


--
-- Name: FUNCTION decrypt_iv(bytea, bytea, bytea, text); Type: ACL; Schema: crypto; Owner: postgres
--

REVOKE ALL ON FUNCTION crypto.decrypt_iv(bytea, bytea, bytea, text) FROM PUBLIC;


--
-- Name: FUNCTION digest(bytea, text); Type: ACL; Schema: crypto; Owner: postgres
--

REVOKE ALL ON FUNCTION crypto.digest(bytea, text) FROM PUBLIC;


--
-- Name: FUNCTION digest(text, text); Type: ACL; Schema: crypto; Owner: postgres
--

REVOKE ALL ON FUNCTION crypto.digest(text, text) FROM PUBLIC;


--
-- Name: FUNCTION encrypt(bytea, bytea, text); Type: ACL; Schema: crypto; Owner: postgres
--

REVOKE ALL ON FUNCTION crypto.encrypt(bytea, bytea, text) FROM PUBLIC;


--
-- Name: FUNCTION encrypt_iv(bytea, bytea, bytea, text); Type: ACL; Schema: crypto; Owner: postgres
--

REVOKE ALL ON FUNCTION crypto.encrypt_iv(bytea, bytea, bytea, text) FROM PUBLIC;


--
-- Name: FUNCTION gen_random_bytes(integer); Type: ACL; Schema: crypto; Owner: postgres
--

REVOKE ALL ON FUNCTION crypto.gen_random_bytes(integer) FROM PUBLIC;


--
-- Name: FUNCTION gen_random_uuid(); Type: ACL; Schema: crypto; Owner: postgres
--

REVOKE ALL ON FUNCTION crypto.gen_random_uuid() FROM PUBLIC;


--
-- Name: FUNCTION gen_salt(text); Type: ACL; Schema: crypto; Owner: postgres
--

REVOKE ALL ON FUNCTION crypto.gen_salt(text) FROM PUBLIC;


--
-- Name: FUNCTION gen_salt(text, integer); Type: ACL; Schema: crypto; Owner: postgres
--

REVOKE ALL ON FUNCTION crypto.gen_salt(text, integer) FROM PUBLIC;


--
-- Name: FUNCTION hmac(bytea, bytea, text); Type: ACL; Schema: crypto; Owner: postgres
--

REVOKE ALL ON FUNCTION crypto.hmac(bytea, bytea, text) FROM PUBLIC;


--
-- Name: FUNCTION hmac(text, text, text); Type: ACL; Schema: crypto; Owner: postgres
--

REVOKE ALL ON FUNCTION crypto.hmac(text, text, text) FROM PUBLIC;


--
-- Name: FUNCTION pgp_armor_headers(text, OUT key text, OUT value text); Type: ACL; Schema: crypto; Owner: postgres
--

REVOKE ALL ON FUNCTION crypto.pgp_armor_headers(text, OUT key text, OUT value text) FROM PUBLIC;


--
-- Name: FUNCTION pgp_key_id(bytea); Type: ACL; Schema: crypto; Owner: postgres
--

REVOKE ALL ON FUNCTION crypto.pgp_key_id(bytea) FROM PUBLIC;


--
-- Name: FUNCTION pgp_pub_decrypt(bytea, bytea); Type: ACL; Schema: crypto; Owner: postgres
--

REVOKE ALL ON FUNCTION crypto.pgp_pub_decrypt(bytea, bytea) FROM PUBLIC;


--
-- Name: FUNCTION pgp_pub_decrypt(bytea, bytea, text); Type: ACL; Schema: crypto; Owner: postgres
--

REVOKE ALL ON FUNCTION crypto.pgp_pub_decrypt(bytea, bytea, text) FROM PUBLIC;


--
-- Name: FUNCTION pgp_pub_decrypt(bytea, bytea, text, text); Type: ACL; Schema: crypto; Owner: postgres
--

REVOKE ALL ON FUNCTION crypto.pgp_pub_decrypt(bytea, bytea, text, text) FROM PUBLIC;


--
-- Name: FUNCTION pgp_pub_decrypt_bytea(bytea, bytea); Type: ACL; Schema: crypto; Owner: postgres
--

REVOKE ALL ON FUNCTION crypto.pgp_pub_decrypt_bytea(bytea, bytea) FROM PUBLIC;


--
-- Name: FUNCTION pgp_pub_decrypt_bytea(bytea, bytea, text); Type: ACL; Schema: crypto; Owner: postgres
--

REVOKE ALL ON FUNCTION crypto.pgp_pub_decrypt_bytea(bytea, bytea, text) FROM PUBLIC;


--
-- Name: FUNCTION pgp_pub_decrypt_bytea(bytea, bytea, text, text); Type: ACL; Schema: crypto; Owner: postgres
--

REVOKE ALL ON FUNCTION crypto.pgp_pub_decrypt_bytea(bytea, bytea, text, text) FROM PUBLIC;


--
-- Name: FUNCTION pgp_pub_encrypt(text, bytea); Type: ACL; Schema: crypto; Owner: postgres
--

REVOKE ALL ON FUNCTION crypto.pgp_pub_encrypt(text, bytea) FROM PUBLIC;


--
-- Name: FUNCTION pgp_pub_encrypt(text, bytea, text); Type: ACL; Schema: crypto; Owner: postgres
--

REVOKE ALL ON FUNCTION crypto.pgp_pub_encrypt(text, bytea, text) FROM PUBLIC;


--
-- Name: FUNCTION pgp_pub_encrypt_bytea(bytea, bytea); Type: ACL; Schema: crypto; Owner: postgres
--

REVOKE ALL ON FUNCTION crypto.pgp_pub_encrypt_bytea(bytea, bytea) FROM PUBLIC;


--
-- Name: FUNCTION pgp_pub_encrypt_bytea(bytea, bytea, text); Type: ACL; Schema: crypto; Owner: postgres
--

REVOKE ALL ON FUNCTION crypto.pgp_pub_encrypt_bytea(bytea, bytea, text) FROM PUBLIC;


--
-- Name: FUNCTION pgp_sym_decrypt(bytea, text); Type: ACL; Schema: crypto; Owner: postgres
--

REVOKE ALL ON FUNCTION crypto.pgp_sym_decrypt(bytea, text) FROM PUBLIC;


--
-- Name: FUNCTION pgp_sym_decrypt(bytea, text, text); Type: ACL; Schema: crypto; Owner: postgres
--

REVOKE ALL ON FUNCTION crypto.pgp_sym_decrypt(bytea, text, text) FROM PUBLIC;


--
-- Name: FUNCTION pgp_sym_decrypt_bytea(bytea, text); Type: ACL; Schema: crypto; Owner: postgres
--

REVOKE ALL ON FUNCTION crypto.pgp_sym_decrypt_bytea(bytea, text) FROM PUBLIC;


--
-- Name: FUNCTION pgp_sym_decrypt_bytea(bytea, text, text); Type: ACL; Schema: crypto; Owner: postgres
--

REVOKE ALL ON FUNCTION crypto.pgp_sym_decrypt_bytea(bytea, text, text) FROM PUBLIC;


--
-- Name: FUNCTION pgp_sym_encrypt(text, text); Type: ACL; Schema: crypto; Owner: postgres
--

REVOKE ALL ON FUNCTION crypto.pgp_sym_encrypt(text, text) FROM PUBLIC;


--
-- Name: FUNCTION pgp_sym_encrypt(text, text, text); Type: ACL; Schema: crypto; Owner: postgres
--

REVOKE ALL ON FUNCTION crypto.pgp_sym_encrypt(text, text, text) FROM PUBLIC;


--
-- Name: FUNCTION pgp_sym_encrypt_bytea(bytea, text); Type: ACL; Schema: crypto; Owner: postgres
--

REVOKE ALL ON FUNCTION crypto.pgp_sym_encrypt_bytea(bytea, text) FROM PUBLIC;


--
-- Name: FUNCTION pgp_sym_encrypt_bytea(bytea, text, text); Type: ACL; Schema: crypto; Owner: postgres
--

REVOKE ALL ON FUNCTION crypto.pgp_sym_encrypt_bytea(bytea, text, text) FROM PUBLIC;


--
-- Name: TABLE captures; Type: ACL; Schema: dex; Owner: postgres
--

GRANT SELECT,INSERT,UPDATE ON TABLE dex.captures TO dex_service;


--
-- Name: TABLE machines; Type: ACL; Schema: dex; Owner: postgres
--

GRANT SELECT,INSERT ON TABLE dex.machines TO dex_service;


--
-- Name: COLUMN machines.location_id; Type: ACL; Schema: dex; Owner: postgres
--

GRANT UPDATE(location_id) ON TABLE dex.machines TO dex_service;


--
-- Name: FUNCTION book_read(cap dex.captures, m dex.machines, v_block integer, dxs_line text, seg text[], tags text[]); Type: ACL; Schema: dex; Owner: postgres
--

REVOKE ALL ON FUNCTION dex.book_read(cap dex.captures, m dex.machines, v_block integer, dxs_line text, seg text[], tags text[]) FROM PUBLIC;
GRANT ALL ON FUNCTION dex.book_read(cap dex.captures, m dex.machines, v_block integer, dxs_line text, seg text[], tags text[]) TO dex_service;


--
-- Name: FUNCTION book_read_cash(read_id bigint, m dex.machines, seg text[], tags text[]); Type: ACL; Schema: dex; Owner: postgres
--

REVOKE ALL ON FUNCTION dex.book_read_cash(read_id bigint, m dex.machines, seg text[], tags text[]) FROM PUBLIC;
GRANT ALL ON FUNCTION dex.book_read_cash(read_id bigint, m dex.machines, seg text[], tags text[]) TO dex_service;


--
-- Name: FUNCTION cash_box(machine_id bigint); Type: ACL; Schema: dex; Owner: postgres
--

REVOKE ALL ON FUNCTION dex.cash_box(machine_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION dex.cash_box(machine_id bigint) TO dex_service;


--
-- Name: FUNCTION cash_box_json(machine_id bigint); Type: ACL; Schema: dex; Owner: postgres
--

REVOKE ALL ON FUNCTION dex.cash_box_json(machine_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION dex.cash_box_json(machine_id bigint) TO dex_service;


--
-- Name: FUNCTION cash_collect(case_serial text); Type: ACL; Schema: dex; Owner: dex_service
--

REVOKE ALL ON FUNCTION dex.cash_collect(case_serial text) FROM PUBLIC;


--
-- Name: FUNCTION company_create(company_id text, name text); Type: ACL; Schema: dex; Owner: dex_service
--

REVOKE ALL ON FUNCTION dex.company_create(company_id text, name text) FROM PUBLIC;


--
-- Name: FUNCTION counter_delta(prev bigint, cur bigint, OUT delta bigint, OUT kind text); Type: ACL; Schema: dex; Owner: postgres
--

REVOKE ALL ON FUNCTION dex.counter_delta(prev bigint, cur bigint, OUT delta bigint, OUT kind text) FROM PUBLIC;
GRANT ALL ON FUNCTION dex.counter_delta(prev bigint, cur bigint, OUT delta bigint, OUT kind text) TO dex_service;


--
-- Name: FUNCTION counter_delta(prev bigint, cur bigint, modulus bigint, OUT delta bigint, OUT kind text); Type: ACL; Schema: dex; Owner: postgres
--

REVOKE ALL ON FUNCTION dex.counter_delta(prev bigint, cur bigint, modulus bigint, OUT delta bigint, OUT kind text) FROM PUBLIC;
GRANT ALL ON FUNCTION dex.counter_delta(prev bigint, cur bigint, modulus bigint, OUT delta bigint, OUT kind text) TO dex_service;


--
-- Name: FUNCTION crc16_arc(data bytea, crc integer); Type: ACL; Schema: dex; Owner: postgres
--

REVOKE ALL ON FUNCTION dex.crc16_arc(data bytea, crc integer) FROM PUBLIC;
GRANT ALL ON FUNCTION dex.crc16_arc(data bytea, crc integer) TO dex_service;


--
-- Name: FUNCTION crc16_arc_tables(); Type: ACL; Schema: dex; Owner: postgres
--

REVOKE ALL ON FUNCTION dex.crc16_arc_tables() FROM PUBLIC;
GRANT ALL ON FUNCTION dex.crc16_arc_tables() TO dex_service;


--
-- Name: FUNCTION crc_not_computed(machine_id bigint, reported text, computed text); Type: ACL; Schema: dex; Owner: postgres
--

REVOKE ALL ON FUNCTION dex.crc_not_computed(machine_id bigint, reported text, computed text) FROM PUBLIC;
GRANT ALL ON FUNCTION dex.crc_not_computed(machine_id bigint, reported text, computed text) TO dex_service;


--
-- Name: FUNCTION currency_of(id402 text, id403 text); Type: ACL; Schema: dex; Owner: postgres
--

REVOKE ALL ON FUNCTION dex.currency_of(id402 text, id403 text) FROM PUBLIC;
GRANT ALL ON FUNCTION dex.currency_of(id402 text, id403 text) TO dex_service;


--
-- Name: FUNCTION degrees_c(raw_value numeric, unit text, divisor integer); Type: ACL; Schema: dex; Owner: postgres
--

REVOKE ALL ON FUNCTION dex.degrees_c(raw_value numeric, unit text, divisor integer) FROM PUBLIC;
GRANT ALL ON FUNCTION dex.degrees_c(raw_value numeric, unit text, divisor integer) TO dex_service;


--
-- Name: FUNCTION error_resolve(error_id bigint, note text); Type: ACL; Schema: dex; Owner: dex_service
--

REVOKE ALL ON FUNCTION dex.error_resolve(error_id bigint, note text) FROM PUBLIC;


--
-- Name: FUNCTION g85_status(body text[], reported text, OUT status text, OUT computed text); Type: ACL; Schema: dex; Owner: postgres
--

REVOKE ALL ON FUNCTION dex.g85_status(body text[], reported text, OUT status text, OUT computed text) FROM PUBLIC;
GRANT ALL ON FUNCTION dex.g85_status(body text[], reported text, OUT status text, OUT computed text) TO dex_service;


--
-- Name: FUNCTION ingest(case_serial text, raw text, source text, captured_at timestamp with time zone); Type: ACL; Schema: dex; Owner: dex_service
--

REVOKE ALL ON FUNCTION dex.ingest(case_serial text, raw text, source text, captured_at timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION location_create(company_id text, name text, address text); Type: ACL; Schema: dex; Owner: dex_service
--

REVOKE ALL ON FUNCTION dex.location_create(company_id text, name text, address text) FROM PUBLIC;


--
-- Name: FUNCTION locations_list(); Type: ACL; Schema: dex; Owner: dex_service
--

REVOKE ALL ON FUNCTION dex.locations_list() FROM PUBLIC;


--
-- Name: FUNCTION ma5_decoder_for(model text, firmware text, e text[], OUT reading text, OUT raw_value numeric, OUT unit text, OUT divisor integer, OUT candidates integer[], OUT decoder_id integer); Type: ACL; Schema: dex; Owner: postgres
--

REVOKE ALL ON FUNCTION dex.ma5_decoder_for(model text, firmware text, e text[], OUT reading text, OUT raw_value numeric, OUT unit text, OUT divisor integer, OUT candidates integer[], OUT decoder_id integer) FROM PUBLIC;
GRANT ALL ON FUNCTION dex.ma5_decoder_for(model text, firmware text, e text[], OUT reading text, OUT raw_value numeric, OUT unit text, OUT divisor integer, OUT candidates integer[], OUT decoder_id integer) TO dex_service;


--
-- Name: FUNCTION ma5_error_code(element text); Type: ACL; Schema: dex; Owner: postgres
--

REVOKE ALL ON FUNCTION dex.ma5_error_code(element text) FROM PUBLIC;
GRANT ALL ON FUNCTION dex.ma5_error_code(element text) TO dex_service;


--
-- Name: FUNCTION ma5_temperature(model text, e text[], OUT reading text, OUT celsius numeric, OUT decoder_id integer); Type: ACL; Schema: dex; Owner: postgres
--

REVOKE ALL ON FUNCTION dex.ma5_temperature(model text, e text[], OUT reading text, OUT celsius numeric, OUT decoder_id integer) FROM PUBLIC;
GRANT ALL ON FUNCTION dex.ma5_temperature(model text, e text[], OUT reading text, OUT celsius numeric, OUT decoder_id integer) TO dex_service;


--
-- Name: FUNCTION ma5_temperatures(model text, firmware text, seg text[]); Type: ACL; Schema: dex; Owner: postgres
--

REVOKE ALL ON FUNCTION dex.ma5_temperatures(model text, firmware text, seg text[]) FROM PUBLIC;
GRANT ALL ON FUNCTION dex.ma5_temperatures(model text, firmware text, seg text[]) TO dex_service;


--
-- Name: FUNCTION machine_assign_location(case_serial text, location_id bigint); Type: ACL; Schema: dex; Owner: dex_service
--

REVOKE ALL ON FUNCTION dex.machine_assign_location(case_serial text, location_id bigint) FROM PUBLIC;


--
-- Name: FUNCTION machine_details(case_serial text); Type: ACL; Schema: dex; Owner: dex_service
--

REVOKE ALL ON FUNCTION dex.machine_details(case_serial text) FROM PUBLIC;


--
-- Name: FUNCTION machine_planogram(machine_id bigint); Type: ACL; Schema: dex; Owner: postgres
--

REVOKE ALL ON FUNCTION dex.machine_planogram(machine_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION dex.machine_planogram(machine_id bigint) TO dex_service;


--
-- Name: FUNCTION machine_register(case_serial text, company_id text, location text, model text, currency text, decimals integer); Type: ACL; Schema: dex; Owner: dex_service
--

REVOKE ALL ON FUNCTION dex.machine_register(case_serial text, company_id text, location text, model text, currency text, decimals integer) FROM PUBLIC;


--
-- Name: FUNCTION machine_sales(case_serial text, from_day date, to_day date); Type: ACL; Schema: dex; Owner: dex_service
--

REVOKE ALL ON FUNCTION dex.machine_sales(case_serial text, from_day date, to_day date) FROM PUBLIC;


--
-- Name: FUNCTION machine_time(d text, t text); Type: ACL; Schema: dex; Owner: postgres
--

REVOKE ALL ON FUNCTION dex.machine_time(d text, t text) FROM PUBLIC;
GRANT ALL ON FUNCTION dex.machine_time(d text, t text) TO dex_service;


--
-- Name: FUNCTION machines_summary(recent_within interval); Type: ACL; Schema: dex; Owner: dex_service
--

REVOKE ALL ON FUNCTION dex.machines_summary(recent_within interval) FROM PUBLIC;


--
-- Name: FUNCTION num(element text); Type: ACL; Schema: dex; Owner: postgres
--

REVOKE ALL ON FUNCTION dex.num(element text) FROM PUBLIC;
GRANT ALL ON FUNCTION dex.num(element text) TO dex_service;


--
-- Name: FUNCTION parser_version(); Type: ACL; Schema: dex; Owner: postgres
--

REVOKE ALL ON FUNCTION dex.parser_version() FROM PUBLIC;
GRANT ALL ON FUNCTION dex.parser_version() TO dex_service;


--
-- Name: FUNCTION pick_list(location_id bigint); Type: ACL; Schema: dex; Owner: dex_service
--

REVOKE ALL ON FUNCTION dex.pick_list(location_id bigint) FROM PUBLIC;


--
-- Name: FUNCTION planogram_set(case_serial text, slots jsonb); Type: ACL; Schema: dex; Owner: dex_service
--

REVOKE ALL ON FUNCTION dex.planogram_set(case_serial text, slots jsonb) FROM PUBLIC;


--
-- Name: FUNCTION product_upsert(company_id text, product_code text, name text, category text); Type: ACL; Schema: dex; Owner: dex_service
--

REVOKE ALL ON FUNCTION dex.product_upsert(company_id text, product_code text, name text, category text) FROM PUBLIC;


--
-- Name: FUNCTION products_list(company_id text); Type: ACL; Schema: dex; Owner: dex_service
--

REVOKE ALL ON FUNCTION dex.products_list(company_id text) FROM PUBLIC;


--
-- Name: FUNCTION read_time(captured_at timestamp with time zone, machine_clock timestamp without time zone, received_at timestamp with time zone, OUT read_at timestamp with time zone, OUT source text); Type: ACL; Schema: dex; Owner: postgres
--

REVOKE ALL ON FUNCTION dex.read_time(captured_at timestamp with time zone, machine_clock timestamp without time zone, received_at timestamp with time zone, OUT read_at timestamp with time zone, OUT source text) FROM PUBLIC;
GRANT ALL ON FUNCTION dex.read_time(captured_at timestamp with time zone, machine_clock timestamp without time zone, received_at timestamp with time zone, OUT read_at timestamp with time zone, OUT source text) TO dex_service;


--
-- Name: FUNCTION refill(case_serial text, slots jsonb, "full" boolean); Type: ACL; Schema: dex; Owner: dex_service
--

REVOKE ALL ON FUNCTION dex.refill(case_serial text, slots jsonb, "full" boolean) FROM PUBLIC;


--
-- Name: FUNCTION slot_products(machine_id bigint); Type: ACL; Schema: dex; Owner: postgres
--

REVOKE ALL ON FUNCTION dex.slot_products(machine_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION dex.slot_products(machine_id bigint) TO dex_service;


--
-- Name: FUNCTION slot_stock(machine_id bigint); Type: ACL; Schema: dex; Owner: postgres
--

REVOKE ALL ON FUNCTION dex.slot_stock(machine_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION dex.slot_stock(machine_id bigint) TO dex_service;


--
-- Name: FUNCTION slots_problem(slots jsonb, allowed text[]); Type: ACL; Schema: dex; Owner: postgres
--

REVOKE ALL ON FUNCTION dex.slots_problem(slots jsonb, allowed text[]) FROM PUBLIC;
GRANT ALL ON FUNCTION dex.slots_problem(slots jsonb, allowed text[]) TO dex_service;


--
-- Name: FUNCTION total_check(reported bigint, expected bigint, OUT kind text, OUT modulus bigint); Type: ACL; Schema: dex; Owner: postgres
--

REVOKE ALL ON FUNCTION dex.total_check(reported bigint, expected bigint, OUT kind text, OUT modulus bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION dex.total_check(reported bigint, expected bigint, OUT kind text, OUT modulus bigint) TO dex_service;


--
-- Name: FUNCTION assign_company(kiosk_id text, company_id text); Type: ACL; Schema: kiosk; Owner: postgres
--

REVOKE ALL ON FUNCTION kiosk.assign_company(kiosk_id text, company_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION kiosk.assign_company(kiosk_id text, company_id text) TO fleet_service;


--
-- Name: FUNCTION company_kiosk_ids(); Type: ACL; Schema: kiosk; Owner: postgres
--

REVOKE ALL ON FUNCTION kiosk.company_kiosk_ids() FROM PUBLIC;
GRANT ALL ON FUNCTION kiosk.company_kiosk_ids() TO fleet_service;


--
-- Name: TABLE kiosks; Type: ACL; Schema: kiosk; Owner: postgres
--

GRANT SELECT ON TABLE kiosk.kiosks TO fleet_service;


--
-- Name: FUNCTION current_kiosk(); Type: ACL; Schema: kiosk; Owner: postgres
--

REVOKE ALL ON FUNCTION kiosk.current_kiosk() FROM PUBLIC;
GRANT ALL ON FUNCTION kiosk.current_kiosk() TO fleet_service;


--
-- Name: FUNCTION current_kiosk_id(); Type: ACL; Schema: kiosk; Owner: postgres
--

REVOKE ALL ON FUNCTION kiosk.current_kiosk_id() FROM PUBLIC;
GRANT ALL ON FUNCTION kiosk.current_kiosk_id() TO fleet_service;


--
-- Name: FUNCTION provision_login(kiosk_id text, password text); Type: ACL; Schema: kiosk; Owner: postgres
--

REVOKE ALL ON FUNCTION kiosk.provision_login(kiosk_id text, password text) FROM PUBLIC;
GRANT ALL ON FUNCTION kiosk.provision_login(kiosk_id text, password text) TO fleet_service;


--
-- Name: FUNCTION register(kiosk_id text, kind text, name text, location text, company_id text); Type: ACL; Schema: kiosk; Owner: postgres
--

REVOKE ALL ON FUNCTION kiosk.register(kiosk_id text, kind text, name text, location text, company_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION kiosk.register(kiosk_id text, kind text, name text, location text, company_id text) TO fleet_service;


--
-- Name: FUNCTION require_company(company_id text); Type: ACL; Schema: kiosk; Owner: postgres
--

REVOKE ALL ON FUNCTION kiosk.require_company(company_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION kiosk.require_company(company_id text) TO fleet_service;


--
-- Name: FUNCTION require_kiosk(); Type: ACL; Schema: kiosk; Owner: postgres
--

REVOKE ALL ON FUNCTION kiosk.require_kiosk() FROM PUBLIC;
GRANT ALL ON FUNCTION kiosk.require_kiosk() TO fleet_service;


--
-- Name: FUNCTION require_kiosk_row(); Type: ACL; Schema: kiosk; Owner: postgres
--

REVOKE ALL ON FUNCTION kiosk.require_kiosk_row() FROM PUBLIC;
GRANT ALL ON FUNCTION kiosk.require_kiosk_row() TO fleet_service;


--
-- Name: FUNCTION touch(kiosk_id text, link_up boolean, pending_orders integer, app_version text); Type: ACL; Schema: kiosk; Owner: postgres
--

REVOKE ALL ON FUNCTION kiosk.touch(kiosk_id text, link_up boolean, pending_orders integer, app_version text) FROM PUBLIC;
GRANT ALL ON FUNCTION kiosk.touch(kiosk_id text, link_up boolean, pending_orders integer, app_version text) TO fleet_service;


--
-- Name: FUNCTION balance_of(account_id bigint); Type: ACL; Schema: ledger; Owner: postgres
--

REVOKE ALL ON FUNCTION ledger.balance_of(account_id bigint) FROM PUBLIC;


--
-- Name: FUNCTION house_account(kind text, owner_ref text, currency text); Type: ACL; Schema: ledger; Owner: postgres
--

REVOKE ALL ON FUNCTION ledger.house_account(kind text, owner_ref text, currency text) FROM PUBLIC;


--
-- Name: FUNCTION open_account(kind text, owner_ref text, currency text, lower_bound bigint); Type: ACL; Schema: ledger; Owner: postgres
--

REVOKE ALL ON FUNCTION ledger.open_account(kind text, owner_ref text, currency text, lower_bound bigint) FROM PUBLIC;


--
-- Name: FUNCTION post_transfer(kind text, account_ids bigint[], amounts bigint[], idempotency_key text, metadata jsonb, OUT transfer_id bigint, OUT short_account_id bigint, OUT short_balance bigint, OUT balances bigint[]); Type: ACL; Schema: ledger; Owner: postgres
--

REVOKE ALL ON FUNCTION ledger.post_transfer(kind text, account_ids bigint[], amounts bigint[], idempotency_key text, metadata jsonb, OUT transfer_id bigint, OUT short_account_id bigint, OUT short_balance bigint, OUT balances bigint[]) FROM PUBLIC;


--
-- Name: FUNCTION refuse_booked_key(kind text, idempotency_key text); Type: ACL; Schema: ledger; Owner: postgres
--

REVOKE ALL ON FUNCTION ledger.refuse_booked_key(kind text, idempotency_key text) FROM PUBLIC;


--
-- Name: FUNCTION refuse_change(); Type: ACL; Schema: ledger; Owner: postgres
--

REVOKE ALL ON FUNCTION ledger.refuse_change() FROM PUBLIC;


--
-- Name: FUNCTION rollup_balances(); Type: ACL; Schema: ledger; Owner: postgres
--

REVOKE ALL ON FUNCTION ledger.rollup_balances() FROM PUBLIC;


--
-- Name: FUNCTION host_job_begin(name text); Type: ACL; Schema: upkeep; Owner: postgres
--

REVOKE ALL ON FUNCTION upkeep.host_job_begin(name text) FROM PUBLIC;


--
-- Name: FUNCTION host_job_finish(name text, runner text, started timestamp with time zone, exit_code integer, output text, error text); Type: ACL; Schema: upkeep; Owner: postgres
--

REVOKE ALL ON FUNCTION upkeep.host_job_finish(name text, runner text, started timestamp with time zone, exit_code integer, output text, error text) FROM PUBLIC;


--
-- Name: FUNCTION host_jobs_due(); Type: ACL; Schema: upkeep; Owner: postgres
--

REVOKE ALL ON FUNCTION upkeep.host_jobs_due() FROM PUBLIC;


--
-- Name: FUNCTION prune(OUT alerts bigint, OUT runs bigint); Type: ACL; Schema: upkeep; Owner: postgres
--

REVOKE ALL ON FUNCTION upkeep.prune(OUT alerts bigint, OUT runs bigint) FROM PUBLIC;


--
-- Name: FUNCTION record_run(job_name text, runner text, started timestamp with time zone, ok boolean, result jsonb, error text, details jsonb); Type: ACL; Schema: upkeep; Owner: postgres
--

REVOKE ALL ON FUNCTION upkeep.record_run(job_name text, runner text, started timestamp with time zone, ok boolean, result jsonb, error text, details jsonb) FROM PUBLIC;


--
-- Name: PROCEDURE run_due(IN runner text); Type: ACL; Schema: upkeep; Owner: postgres
--

REVOKE ALL ON PROCEDURE upkeep.run_due(IN runner text) FROM PUBLIC;


--
-- Name: FUNCTION run_job(name text, runner text, only_if_due boolean); Type: ACL; Schema: upkeep; Owner: postgres
--

REVOKE ALL ON FUNCTION upkeep.run_job(name text, runner text, only_if_due boolean) FROM PUBLIC;


--
-- Name: FUNCTION runner(); Type: ACL; Schema: upkeep; Owner: postgres
--

REVOKE ALL ON FUNCTION upkeep.runner() FROM PUBLIC;


--
-- Name: FUNCTION set_host_jobs(enabled boolean); Type: ACL; Schema: upkeep; Owner: postgres
--

REVOKE ALL ON FUNCTION upkeep.set_host_jobs(enabled boolean) FROM PUBLIC;


--
-- Name: TABLE alerts; Type: ACL; Schema: atm; Owner: postgres
--

GRANT SELECT ON TABLE atm.alerts TO fleet_service;


--
-- Name: TABLE kiosk_config; Type: ACL; Schema: atm; Owner: postgres
--

GRANT SELECT ON TABLE atm.kiosk_config TO fleet_service;


--
-- Name: TABLE kiosk_health; Type: ACL; Schema: atm; Owner: postgres
--

GRANT SELECT ON TABLE atm.kiosk_health TO fleet_service;


--
-- Name: TABLE refunds_due; Type: ACL; Schema: atm; Owner: postgres
--

GRANT SELECT ON TABLE atm.refunds_due TO fleet_service;


--
-- Name: TABLE edge_backlog; Type: ACL; Schema: checkout; Owner: postgres
--

GRANT SELECT ON TABLE checkout.edge_backlog TO fleet_service;


--
-- Name: TABLE order_lines; Type: ACL; Schema: checkout; Owner: postgres
--

GRANT SELECT ON TABLE checkout.order_lines TO fleet_service;


--
-- Name: TABLE refused_orders; Type: ACL; Schema: checkout; Owner: postgres
--

GRANT SELECT ON TABLE checkout.refused_orders TO fleet_service;


--
-- Name: TABLE sync_batches; Type: ACL; Schema: checkout; Owner: postgres
--

GRANT SELECT ON TABLE checkout.sync_batches TO fleet_service;


--
-- Name: TABLE kiosk_status; Type: ACL; Schema: checkout; Owner: postgres
--

GRANT SELECT ON TABLE checkout.kiosk_status TO fleet_service;


--
-- Name: COLUMN transfers.id; Type: ACL; Schema: ledger; Owner: postgres
--

GRANT SELECT(id) ON TABLE ledger.transfers TO fleet_service;


--
-- Name: COLUMN transfers.kind; Type: ACL; Schema: ledger; Owner: postgres
--

GRANT SELECT(kind) ON TABLE ledger.transfers TO fleet_service;


--
-- Name: COLUMN transfers.idempotency_key; Type: ACL; Schema: ledger; Owner: postgres
--

GRANT SELECT(idempotency_key) ON TABLE ledger.transfers TO fleet_service;


--
-- Name: TABLE machine_errors; Type: ACL; Schema: dex; Owner: postgres
--

GRANT SELECT,INSERT,UPDATE ON TABLE dex.machine_errors TO dex_service;


--
-- Name: TABLE machine_state; Type: ACL; Schema: dex; Owner: postgres
--

GRANT SELECT,INSERT,UPDATE ON TABLE dex.machine_state TO dex_service;


--
-- Name: TABLE alert_events; Type: ACL; Schema: core; Owner: postgres
--

GRANT SELECT ON TABLE core.alert_events TO fleet_service;


--
-- Name: TABLE api_schemas; Type: ACL; Schema: core; Owner: postgres
--

GRANT SELECT ON TABLE core.api_schemas TO authenticator;


--
-- Name: TABLE catalogue_version; Type: ACL; Schema: core; Owner: postgres
--

GRANT SELECT ON TABLE core.catalogue_version TO authenticator;


--
-- Name: TABLE error_codes; Type: ACL; Schema: core; Owner: postgres
--

GRANT SELECT ON TABLE core.error_codes TO authenticator;


--
-- Name: TABLE settings; Type: ACL; Schema: core; Owner: postgres
--

GRANT SELECT ON TABLE core.settings TO fleet_service;


--
-- Name: TABLE reads; Type: ACL; Schema: dex; Owner: postgres
--

GRANT SELECT,INSERT,UPDATE ON TABLE dex.reads TO dex_service;


--
-- Name: TABLE cash_collections; Type: ACL; Schema: dex; Owner: postgres
--

GRANT SELECT,INSERT ON TABLE dex.cash_collections TO dex_service;


--
-- Name: TABLE companies; Type: ACL; Schema: dex; Owner: postgres
--

GRANT SELECT,INSERT ON TABLE dex.companies TO dex_service;


--
-- Name: TABLE currency_codes; Type: ACL; Schema: dex; Owner: postgres
--

GRANT SELECT ON TABLE dex.currency_codes TO dex_service;


--
-- Name: TABLE fault_codes; Type: ACL; Schema: dex; Owner: postgres
--

GRANT SELECT ON TABLE dex.fault_codes TO dex_service;


--
-- Name: TABLE locations; Type: ACL; Schema: dex; Owner: postgres
--

GRANT SELECT,INSERT ON TABLE dex.locations TO dex_service;


--
-- Name: TABLE ma5_decoders; Type: ACL; Schema: dex; Owner: postgres
--

GRANT SELECT ON TABLE dex.ma5_decoders TO dex_service;


--
-- Name: TABLE machine_slots; Type: ACL; Schema: dex; Owner: postgres
--

GRANT SELECT,INSERT,UPDATE ON TABLE dex.machine_slots TO dex_service;


--
-- Name: TABLE planogram; Type: ACL; Schema: dex; Owner: postgres
--

GRANT SELECT,INSERT,UPDATE ON TABLE dex.planogram TO dex_service;


--
-- Name: TABLE products; Type: ACL; Schema: dex; Owner: postgres
--

GRANT SELECT,INSERT ON TABLE dex.products TO dex_service;


--
-- Name: COLUMN products.name; Type: ACL; Schema: dex; Owner: postgres
--

GRANT UPDATE(name) ON TABLE dex.products TO dex_service;


--
-- Name: COLUMN products.category; Type: ACL; Schema: dex; Owner: postgres
--

GRANT UPDATE(category) ON TABLE dex.products TO dex_service;


--
-- Name: COLUMN products.updated_at; Type: ACL; Schema: dex; Owner: postgres
--

GRANT UPDATE(updated_at) ON TABLE dex.products TO dex_service;


--
-- Name: COLUMN products.updated_by; Type: ACL; Schema: dex; Owner: postgres
--

GRANT UPDATE(updated_by) ON TABLE dex.products TO dex_service;


--
-- Name: TABLE read_cash; Type: ACL; Schema: dex; Owner: postgres
--

GRANT SELECT,INSERT ON TABLE dex.read_cash TO dex_service;


--
-- Name: TABLE read_events; Type: ACL; Schema: dex; Owner: postgres
--

GRANT SELECT,INSERT ON TABLE dex.read_events TO dex_service;


--
-- Name: TABLE read_selections; Type: ACL; Schema: dex; Owner: postgres
--

GRANT SELECT,INSERT ON TABLE dex.read_selections TO dex_service;


--
-- Name: TABLE read_selection_devices; Type: ACL; Schema: dex; Owner: postgres
--

GRANT SELECT ON TABLE dex.read_selection_devices TO dex_service;


--
-- Name: TABLE read_temperatures; Type: ACL; Schema: dex; Owner: postgres
--

GRANT SELECT,INSERT ON TABLE dex.read_temperatures TO dex_service;


--
-- Name: TABLE read_totals; Type: ACL; Schema: dex; Owner: postgres
--

GRANT SELECT,INSERT ON TABLE dex.read_totals TO dex_service;


--
-- Name: TABLE read_tubes; Type: ACL; Schema: dex; Owner: postgres
--

GRANT SELECT,INSERT ON TABLE dex.read_tubes TO dex_service;


--
-- Name: TABLE sales_deltas; Type: ACL; Schema: dex; Owner: postgres
--

GRANT SELECT,INSERT ON TABLE dex.sales_deltas TO dex_service;


--
-- Name: TABLE slot_fills; Type: ACL; Schema: dex; Owner: postgres
--

GRANT SELECT,INSERT ON TABLE dex.slot_fills TO dex_service;


--
-- Name: DEFAULT PRIVILEGES FOR FUNCTIONS; Type: DEFAULT ACL; Schema: -; Owner: postgres
--

ALTER DEFAULT PRIVILEGES FOR ROLE postgres REVOKE ALL ON FUNCTIONS  FROM PUBLIC;


--
-- PostgreSQL database dump complete
--

