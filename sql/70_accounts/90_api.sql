-- api: staff, operator and admin accounts. The auth_* functions belong to the RPC
-- server's internal login_service role (POST /auth/login, /auth/refresh, /auth/logout:
-- the server signs what they return); the account_* functions are the admins'.
-- Passwords are never part of an idempotency payload: its hash is kept, and a fast hash
-- of a password is a password to anyone with the table.

CREATE OR REPLACE FUNCTION api.auth_login(email text, password text) RETURNS jsonb
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT accounts.login(email, password)
$$;
COMMENT ON FUNCTION api.auth_login(text, text) IS
  'The RPC server (POST /auth/login): check an email and password. Returns {claims, account, expires_in, refresh_token, refresh_expires_in} for the server to sign. Declines: INVALID_LOGIN (401; unknown email, wrong password and disabled account alike, counted per email), ACCOUNT_LOCKED (429, after accounts.max_failed_logins failures in a row, for accounts.lockout_seconds; details.locked_until, retry_after_seconds).';
GRANT EXECUTE ON FUNCTION api.auth_login(text, text) TO login_service;

CREATE OR REPLACE FUNCTION api.auth_refresh(refresh_token text) RETURNS jsonb
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT accounts.refresh(refresh_token)
$$;
COMMENT ON FUNCTION api.auth_refresh(text) IS
  'The RPC server (POST /auth/refresh): spend a refresh token for a new one and fresh claims (the account as it is now). Declines: INVALID_REFRESH_TOKEN (401; details.reason unknown, malformed, expired, revoked, or reused - a spent token presented again revokes its whole family).';
GRANT EXECUTE ON FUNCTION api.auth_refresh(text) TO login_service;

CREATE OR REPLACE FUNCTION api.auth_logout(refresh_token text) RETURNS jsonb
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT accounts.logout(refresh_token)
$$;
COMMENT ON FUNCTION api.auth_logout(text) IS
  'The RPC server (POST /auth/logout): revoke the refresh token''s whole family (the session). Returns {revoked}: 0 for a token unknown or already revoked.';
GRANT EXECUTE ON FUNCTION api.auth_logout(text) TO login_service;

CREATE OR REPLACE FUNCTION api.account_create(email text, password text, role text, display_name text,
                                              request_id text, company_id text DEFAULT NULL,
                                              point_of_sale text DEFAULT NULL, checkpoint text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE replay jsonb;
BEGIN
  replay := core.idem_begin('account_create', request_id, jsonb_build_object(
    'email', lower(btrim(email)), 'role', role, 'display_name', display_name, 'company_id', company_id,
    'point_of_sale', point_of_sale, 'checkpoint', checkpoint));
  IF replay IS NOT NULL THEN RETURN replay; END IF;
  RETURN core.idem_finish('account_create', request_id,
    accounts.create_account(email, password, role, display_name, company_id, point_of_sale, checkpoint));
END $$;
COMMENT ON FUNCTION api.account_create(text, text, text, text, text, text, text, text) IS
  'Admin: create a login account. role staff, operator or admin; an operator needs company_id (and only operators have one); staff may have a point_of_sale and a checkpoint (they go into the login''s token claims). The email is unique case-insensitively (EMAIL_TAKEN 409); the password (accounts.password_min_length characters to 72 bytes) is kept only as a bcrypt hash. The same request_id replays the first answer whatever the password (passwords are not kept). Returns the account (never a hash).';
GRANT EXECUTE ON FUNCTION api.account_create(text, text, text, text, text, text, text, text) TO admin;

CREATE OR REPLACE FUNCTION api.account_update(account_id uuid, changes jsonb, request_id text)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE replay jsonb;
BEGIN
  replay := core.idem_begin('account_update', request_id,
                            jsonb_build_object('account_id', account_id, 'changes', changes));
  IF replay IS NOT NULL THEN RETURN replay; END IF;
  RETURN core.idem_finish('account_update', request_id, accounts.update_account(account_id, changes));
END $$;
COMMENT ON FUNCTION api.account_update(uuid, jsonb, text) IS
  'Admin: change an account. changes is an object of the fields to set - email, display_name, role, company_id, point_of_sale, checkpoint (null clears these three), disabled - checked together as at creation. Disabling revokes every refresh token at once (a bearer token already signed lives out its short life); other changes reach the claims at the next refresh. The last enabled admin account cannot be disabled or demoted (CONFLICT). USER_NOT_FOUND (404).';
GRANT EXECUTE ON FUNCTION api.account_update(uuid, jsonb, text) TO admin;

CREATE OR REPLACE FUNCTION api.account_set_password(account_id uuid, new_password text, request_id text,
                                                    current_password text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE replay jsonb;
BEGIN
  replay := core.idem_begin('account_set_password', request_id, jsonb_build_object('account_id', account_id));
  IF replay IS NOT NULL THEN RETURN replay; END IF;
  RETURN core.idem_finish('account_set_password', request_id,
                          accounts.set_password(account_id, new_password, current_password));
END $$;
COMMENT ON FUNCTION api.account_set_password(uuid, text, text, text) IS
  'Admin: set any account''s password. Staff/operator/admin: change their own (account_id = their token''s sub) with current_password; a wrong one is CURRENT_PASSWORD_INVALID (403) and counts towards the login lockout (ACCOUNT_LOCKED 429). Every refresh token of the account is revoked. Returns {account_id, email, sessions_revoked}. Passwords are not part of the request_id comparison: after a decline, retry with a new request_id.';
GRANT EXECUTE ON FUNCTION api.account_set_password(uuid, text, text, text) TO staff, operator, admin;

CREATE OR REPLACE FUNCTION api.account_unlock(account_id uuid, request_id text)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE replay jsonb;
BEGIN
  replay := core.idem_begin('account_unlock', request_id, jsonb_build_object('account_id', account_id));
  IF replay IS NOT NULL THEN RETURN replay; END IF;
  RETURN core.idem_finish('account_unlock', request_id, accounts.unlock(account_id));
END $$;
COMMENT ON FUNCTION api.account_unlock(uuid, text) IS
  'Admin: lift a login lockout and clear the failure count of the account''s email. Returns {account_id, email, was_locked}.';
GRANT EXECUTE ON FUNCTION api.account_unlock(uuid, text) TO admin;

CREATE OR REPLACE FUNCTION api.accounts(role text DEFAULT NULL, company_id text DEFAULT NULL,
                                        include_disabled boolean DEFAULT true)
RETURNS jsonb LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT accounts.list(role, company_id, coalesce(include_disabled, true))
$$;
COMMENT ON FUNCTION api.accounts(text, text, boolean) IS
  'Admin: the login accounts by email, optionally of one role or company: id, email, display_name, role, company_id, point_of_sale, checkpoint, disabled, locked_until (while locked), failed_logins, last_login_at, password_changed_at, created/updated at and by. Never a password hash.';
GRANT EXECUTE ON FUNCTION api.accounts(text, text, boolean) TO admin;

-- Nothing of accounts is executable by PUBLIC (the wrappers above are granted role by role).
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA accounts FROM PUBLIC;
