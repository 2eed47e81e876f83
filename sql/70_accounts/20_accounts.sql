-- accounts: who may log in, as what. Admins manage them (sql/70_accounts/90_api.sql);
-- every change is an event with its actor.

-- Emails compare case-insensitively: kept trimmed and lower-case. NULL when it cannot be
-- an address (the callers answer INVALID_REQUEST, or, at login, a wrong login).
CREATE OR REPLACE FUNCTION accounts.email_normalize(email text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN length(e) BETWEEN 3 AND 254 AND e ~ '^[^@\s]+@[^@\s]+$' THEN e END
    FROM (SELECT lower(btrim(email)) AS e) x
$$;

CREATE OR REPLACE FUNCTION accounts.require_email(email text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE e text := accounts.email_normalize(email);
BEGIN
  IF e IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'email must be an address like name@example.org (at most 254 characters)',
                             jsonb_build_object('argument', 'email'));
  END IF;
  RETURN e;
END $$;

-- What a login answers about its account (and what the console shows of the caller).
CREATE OR REPLACE FUNCTION accounts.public(a accounts.accounts) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('id', a.id, 'email', a.email, 'display_name', a.display_name, 'role', a.role,
                            'company_id', a.company_id, 'point_of_sale', a.point_of_sale,
                            'checkpoint', a.checkpoint)
$$;

-- What admins see of an account: never its hash.
CREATE OR REPLACE FUNCTION accounts.listing(a accounts.accounts) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT accounts.public(a) || jsonb_build_object(
           'disabled', a.disabled,
           'locked_until', (SELECT f.locked_until FROM accounts.login_failures f
                             WHERE f.email = a.email AND f.locked_until > now()),
           'failed_logins', coalesce((SELECT f.failures FROM accounts.login_failures f WHERE f.email = a.email), 0),
           'last_login_at', a.last_login_at, 'password_changed_at', a.password_changed_at,
           'created_at', a.created_at, 'created_by', a.created_by,
           'updated_at', a.updated_at, 'updated_by', a.updated_by)
$$;

-- The bearer token's claims for an account: what every api function reads (role, sub,
-- company_id) and where a staff member works.
CREATE OR REPLACE FUNCTION accounts.claims(a accounts.accounts) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_strip_nulls(jsonb_build_object(
           'role', a.role, 'sub', a.id::text, 'email', a.email, 'company_id', a.company_id,
           'point_of_sale', a.point_of_sale, 'checkpoint', a.checkpoint))
$$;

CREATE OR REPLACE FUNCTION accounts.event(account_id uuid, event text, details jsonb DEFAULT '{}')
RETURNS void LANGUAGE sql AS $$
  INSERT INTO accounts.events (account_id, event, details, actor)
  VALUES (account_id, event, coalesce(details, '{}'), core.actor())
$$;

-- Check an account's fields as a whole (creation, or after a change), naming the argument
-- at fault; returns the account with its text fields trimmed.
CREATE OR REPLACE FUNCTION accounts.checked(a accounts.accounts) RETURNS accounts.accounts
LANGUAGE plpgsql STABLE AS $$
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

CREATE OR REPLACE FUNCTION accounts.lock_account(account_id uuid) RETURNS accounts.accounts
LANGUAGE plpgsql AS $$
DECLARE a accounts.accounts;
BEGIN
  SELECT * INTO a FROM accounts.accounts x WHERE x.id = lock_account.account_id FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM core.raise_error('USER_NOT_FOUND', format('no account %s', account_id),
                             jsonb_build_object('account_id', account_id));
  END IF;
  RETURN a;
END $$;

CREATE OR REPLACE FUNCTION accounts.create_account(email text, password text, role text, display_name text,
                                           company_id text, point_of_sale text, checkpoint text)
RETURNS jsonb LANGUAGE plpgsql AS $$
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

-- The changes an admin may make, as a JSON object of the fields to set (a field absent is
-- kept; null clears company_id, point_of_sale or checkpoint). Disabling revokes every
-- refresh token at once; other changes reach the claims at the account's next refresh.
CREATE OR REPLACE FUNCTION accounts.update_account(account_id uuid, changes jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
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

-- A new password: by an admin, or by the account itself proving the current one (a wrong
-- current password counts towards the lockout, as a wrong login does, so a stolen bearer
-- token cannot be used to guess it). Every refresh token of the account is revoked: a
-- password change ends every session. Returns the decline, or what was done.
CREATE OR REPLACE FUNCTION accounts.set_password(account_id uuid, new_password text, current_password text)
RETURNS jsonb LANGUAGE plpgsql AS $$
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

CREATE OR REPLACE FUNCTION accounts.unlock(account_id uuid) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE a accounts.accounts := accounts.lock_account(account_id); was_locked boolean;
BEGIN
  was_locked := EXISTS (SELECT 1 FROM accounts.login_failures f WHERE f.email = a.email AND f.locked_until > now());
  DELETE FROM accounts.login_failures f WHERE f.email = a.email;
  PERFORM accounts.event(a.id, 'unlocked', jsonb_build_object('was_locked', was_locked));
  RETURN jsonb_build_object('account_id', a.id, 'email', a.email, 'was_locked', was_locked);
END $$;

CREATE OR REPLACE FUNCTION accounts.list(role text, company_id text, include_disabled boolean) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT coalesce(jsonb_agg(accounts.listing(a) ORDER BY a.email), '[]')
    FROM accounts.accounts a
   WHERE (list.role IS NULL OR a.role = list.role)
     AND (list.company_id IS NULL OR a.company_id = list.company_id)
     AND (list.include_disabled OR NOT a.disabled)
$$;
