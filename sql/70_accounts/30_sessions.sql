-- accounts: logins, refresh tokens, logouts. SQL decides and remembers; the RPC server
-- only signs the claims these return (rpc/accounts.py).

-- A wrong password (or an unknown email, or a disabled account) is a committed decline,
-- so the failure count survives the answer.
CREATE OR REPLACE FUNCTION accounts.locked(locked_until timestamptz) RETURNS jsonb
LANGUAGE sql AS $$
  SELECT core.decline('ACCOUNT_LOCKED',
    format('too many failed logins for this email: try again after %s', locked_until),
    jsonb_build_object('locked_until', locked_until,
                       'retry_after_seconds', ceil(extract(epoch FROM locked_until - now()))::int))
$$;

-- Check `password` for the account with `email` (normalized), counting failures per
-- email: NULL when it is right and the account enabled, else the decline (`wrong_code`,
-- or ACCOUNT_LOCKED while locked - then no password is even compared). The failures row
-- is taken first and held until commit, so attempts on one email run one at a time and
-- every failure is counted; emails without an account are counted and locked alike.
CREATE OR REPLACE FUNCTION accounts.check_password(email text, password text, wrong_code text)
RETURNS jsonb LANGUAGE plpgsql AS $$
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

-- A new refresh token in `family` for the account, and what the server signs.
CREATE OR REPLACE FUNCTION accounts.session_issue(a accounts.accounts, family_id uuid) RETURNS jsonb
LANGUAGE plpgsql AS $$
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

CREATE OR REPLACE FUNCTION accounts.login(email text, password text) RETURNS jsonb
LANGUAGE plpgsql AS $$
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

CREATE OR REPLACE FUNCTION accounts.invalid_refresh(reason text) RETURNS jsonb
LANGUAGE sql AS $$
  SELECT core.decline('INVALID_REFRESH_TOKEN', 'the refresh token is not valid: log in again',
                      jsonb_build_object('reason', reason))
$$;

CREATE OR REPLACE FUNCTION accounts.revoke_family(family_id uuid, reason text) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE n int;
BEGIN
  UPDATE accounts.refresh_tokens t SET revoked_at = now(), revoked_reason = reason
   WHERE t.family_id = revoke_family.family_id AND t.revoked_at IS NULL;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;

CREATE OR REPLACE FUNCTION accounts.revoke_all(account_id uuid, reason text) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE n int;
BEGIN
  UPDATE accounts.refresh_tokens t SET revoked_at = now(), revoked_reason = reason
   WHERE t.account_id = revoke_all.account_id AND t.revoked_at IS NULL;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;

-- Spend a refresh token for the next one (rotation). A token already spent means a copy
-- of it exists (stolen, or a client that kept it): the whole family is revoked, so the
-- copy and whatever it was exchanged for both stop working. Two refreshes racing with one
-- token meet on its row lock, and the second is such a reuse.
CREATE OR REPLACE FUNCTION accounts.refresh(refresh_token text) RETURNS jsonb
LANGUAGE plpgsql AS $$
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
END $$;

-- End the session the token belongs to (its whole family). An unknown token ends nothing
-- and is no error: logging out twice is logged out.
CREATE OR REPLACE FUNCTION accounts.logout(refresh_token text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE family uuid;
BEGIN
  SELECT t.family_id INTO family FROM accounts.refresh_tokens t
   WHERE t.token_hash = sha256(convert_to(coalesce(refresh_token, ''), 'UTF8'));
  RETURN jsonb_build_object('revoked', CASE WHEN family IS NULL THEN 0 ELSE accounts.revoke_family(family, 'logout') END);
END $$;

-- Upkeep (for the scheduler, or a DBA): forget refresh tokens expired longer than
-- `retention` ago (an expired token is refused whether or not its row is kept) and
-- failure counts that no longer count (no lock in force, last failure outside the
-- lockout window). Returns what went.
CREATE OR REPLACE FUNCTION accounts.cleanup(retention interval DEFAULT '1 day') RETURNS jsonb
LANGUAGE plpgsql AS $$
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
