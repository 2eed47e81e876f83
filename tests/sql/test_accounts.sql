-- Login accounts: bcrypt hashes, password rules, who may manage accounts, the lockout,
-- unlock, disabled accounts, refresh-token rotation and reuse detection.
BEGIN;
SELECT plan(52);

CREATE FUNCTION pg_temp.adm(query text) RETURNS jsonb LANGUAGE sql AS $$
  SELECT tap.call('admin', '{"sub": "tap-admin", "role": "admin"}', query) $$;
CREATE FUNCTION pg_temp.login(email text, password text) RETURNS jsonb LANGUAGE sql AS $$
  SELECT tap.call('login_service', '{}', format('SELECT api.auth_login(%L, %L)', email, password)) $$;
CREATE FUNCTION pg_temp.refresh(token text) RETURNS jsonb LANGUAGE sql AS $$
  SELECT tap.call('login_service', '{}', format('SELECT api.auth_refresh(%L)', token)) $$;
CREATE FUNCTION pg_temp.decline() RETURNS text LANGUAGE sql AS $$
  SELECT nullif(current_setting('response.decline', true), '') $$;

UPDATE core.settings SET value = '5' WHERE key = 'accounts.bcrypt_cost';
UPDATE core.settings SET value = '3' WHERE key = 'accounts.max_failed_logins';
INSERT INTO dex.companies (company_id, name) VALUES ('tap-co', 'Tap Co');

-- Creating accounts.
CREATE TEMP TABLE bob AS SELECT pg_temp.adm($$
  SELECT api.account_create(' Bob@Example.ORG ', 'correct horse', 'staff', 'Bob', 'ta1', point_of_sale => 'bar-1') $$) AS a;
SELECT is((SELECT a ->> 'email' FROM bob), 'bob@example.org', 'the email is kept trimmed and lower-case');
SELECT ok((SELECT password_hash LIKE '$2a$05$%' FROM accounts.accounts WHERE email = 'bob@example.org'),
          'the password is a bcrypt hash at the configured cost');
SELECT ok((SELECT password_hash <> 'correct horse' AND crypto.crypt('correct horse', password_hash) = password_hash
             FROM accounts.accounts WHERE email = 'bob@example.org'), 'and it is the password''s');
SELECT ok(NOT (SELECT a ? 'password_hash' OR a::text LIKE '%$2a$%' FROM bob), 'the answer holds no hash');
SELECT is_empty($$ SELECT 1 FROM core.idempotency_keys k JOIN core.idempotency_responses r USING (scope, principal, key)
                    WHERE r.response::text LIKE '%correct horse%' OR r.response::text LIKE '%$2a$%' $$,
                'nor does the stored answer');
SELECT is(pg_temp.adm($$ SELECT api.account_create('bob@example.org', 'another one!', 'staff', 'Bob', 'ta1', point_of_sale => 'bar-1') $$),
          (SELECT a FROM bob), 'the same request_id replays the first answer');
SELECT throws_ok($$ SELECT pg_temp.adm($q$ SELECT api.account_create('BOB@example.org', 'correct horse', 'staff', 'B2', 'ta2') $q$) $$,
  'KL000', 'EMAIL_TAKEN: an account with email bob@example.org exists', 'emails are unique case-insensitively');
SELECT throws_ok($$ SELECT pg_temp.adm($q$ SELECT api.account_create('op@example.org', 'correct horse', 'operator', 'Op', 'ta3') $q$) $$,
  'KL000', 'INVALID_REQUEST: an operator account needs company_id: operators act for one company', 'an operator needs a company');
SELECT throws_ok($$ SELECT pg_temp.adm($q$ SELECT api.account_create('op@example.org', 'correct horse', 'operator', 'Op', 'ta3', 'nope-co') $q$) $$,
  'KL000', 'COMPANY_NOT_FOUND: no company nope-co', 'an existing one');
SELECT throws_ok($$ SELECT pg_temp.adm($q$ SELECT api.account_create('st@example.org', 'correct horse', 'staff', 'St', 'ta3', 'tap-co') $q$) $$,
  'KL000', 'INVALID_REQUEST: only operator accounts have a company_id (a staff account has none)', 'staff have no company');
SELECT throws_ok($$ SELECT pg_temp.adm($q$ SELECT api.account_create('op@example.org', 'correct horse', 'operator', 'Op', 'ta3', 'tap-co', 'bar-1') $q$) $$,
  'KL000', 'INVALID_REQUEST: only staff accounts have a point_of_sale or checkpoint', 'only staff work at a bar');
SELECT is(pg_temp.adm($$ SELECT api.account_create('op@example.org', 'correct horse', 'operator', 'Op', 'ta3', 'tap-co') $$) ->> 'company_id',
          'tap-co', 'an operator of one company');
SELECT throws_ok($$ SELECT pg_temp.adm($q$ SELECT api.account_create('x@example.org', 'short', 'staff', 'X', 'ta4') $q$) $$,
  'KL000', 'INVALID_REQUEST: password must be 10 characters to 72 bytes', 'a short password is refused');
SELECT throws_ok($$ SELECT pg_temp.adm($q$ SELECT api.account_create('x@example.org', repeat('é', 37), 'staff', 'X', 'ta4') $q$) $$,
  'KL000', 'INVALID_REQUEST: password must be 10 characters to 72 bytes', 'over 72 bytes is refused (bcrypt would ignore the rest)');
SELECT throws_ok($$ SELECT pg_temp.adm($q$ SELECT api.account_create('x@example.org', '            ', 'staff', 'X', 'ta4') $q$) $$,
  'KL000', 'INVALID_REQUEST: password must not be only spaces', 'only spaces is refused');
SELECT throws_ok($$ SELECT pg_temp.adm($q$ SELECT api.account_create('not-an-email', 'correct horse', 'staff', 'X', 'ta4') $q$) $$,
  'KL000', 'INVALID_REQUEST: email must be an address like name@example.org (at most 254 characters)', 'a bad email is refused');
SELECT throws_ok($$ SELECT pg_temp.adm($q$ SELECT api.account_create('x@example.org', 'correct horse', 'root', 'X', 'ta4') $q$) $$,
  'KL000', 'INVALID_REQUEST: role must be staff, operator or admin', 'an unknown role is refused');
SELECT throws_ok($$ SELECT tap.call('staff', '{"sub": "s", "role": "staff"}',
                   $q$ SELECT api.account_create('y@example.org', 'correct horse', 'admin', 'Y', 'ta5') $q$) $$,
  '42501', NULL, 'staff cannot create accounts');
SELECT throws_ok($$ SELECT tap.call('operator', '{"sub": "o", "role": "operator", "company_id": "tap-co"}',
                   $q$ SELECT api.account_create('y@example.org', 'correct horse', 'staff', 'Y', 'ta5') $q$) $$,
  '42501', NULL, 'operators cannot create accounts');
SELECT throws_ok($$ SELECT tap.call('anon', '{}', $q$ SELECT api.auth_login('bob@example.org', 'correct horse') $q$) $$,
  '42501', NULL, 'no request role can call the login function itself');
SELECT ok(NOT has_schema_privilege('staff', 'accounts', 'USAGE') AND NOT has_schema_privilege('authenticator', 'accounts', 'USAGE'),
          'the accounts schema is out of every request role''s reach');

-- Logging in.
CREATE TEMP TABLE s1 AS SELECT pg_temp.login('BOB@example.org', 'correct horse') AS s;
SELECT is((SELECT s -> 'claims' FROM s1),
          jsonb_build_object('role', 'staff', 'sub', (SELECT a ->> 'id' FROM bob), 'email', 'bob@example.org', 'point_of_sale', 'bar-1'),
          'a login returns the claims to sign: role, sub = account id, email, point of sale');
SELECT ok((SELECT (s ->> 'expires_in')::int = 900 AND s ->> 'refresh_token' ~ '^klr_[0-9a-f]{64}$' FROM s1),
          'a short access lifetime and a refresh token');
SELECT ok((SELECT token_hash = sha256(convert_to((SELECT s ->> 'refresh_token' FROM s1), 'UTF8')) FROM accounts.refresh_tokens),
          'the refresh token is kept only as its sha256');
SELECT is((pg_temp.login('bob@example.org', 'wrong password') ->> 'code'), 'INVALID_LOGIN', 'a wrong password');
SELECT is(pg_temp.decline(), 'INVALID_LOGIN', 'is a decline (committed, so it is counted)');
SELECT is(pg_temp.login('nobody@example.org', 'wrong password'), pg_temp.login('bob@example.org', 'wrong password'),
          'an unknown email answers exactly as a wrong password');
SELECT is((SELECT failures FROM accounts.login_failures WHERE email = 'bob@example.org'), 2, 'two failures counted');
SELECT is(pg_temp.login('bob@example.org', 'wrong password') ->> 'code', 'INVALID_LOGIN', 'the third failure still answers INVALID_LOGIN');
SELECT ok((SELECT locked_until > now() + interval '14 minutes' FROM accounts.login_failures WHERE email = 'bob@example.org'),
          'and locks the email for accounts.lockout_seconds');
SELECT is(pg_temp.login('bob@example.org', 'correct horse') ->> 'code', 'ACCOUNT_LOCKED', 'locked: even the right password is refused');
SELECT ok((SELECT (pg_temp.login('bob@example.org', 'correct horse') -> 'details' ->> 'retry_after_seconds')::int BETWEEN 890 AND 900),
          'with when to try again');
SELECT is((SELECT count(*)::int FROM accounts.events WHERE event = 'locked'), 1, 'the lock is an account event');
SELECT is(ARRAY[pg_temp.login('nobody@example.org', 'x') ->> 'code', pg_temp.login('nobody@example.org', 'x') ->> 'code',
                pg_temp.login('nobody@example.org', 'x') ->> 'code'],
          ARRAY['INVALID_LOGIN', 'INVALID_LOGIN', 'ACCOUNT_LOCKED'], 'unknown emails are counted and locked alike');

SELECT is(pg_temp.adm(format('SELECT api.account_unlock(%L, %L)', (SELECT a ->> 'id' FROM bob), 'tu1')) ->> 'was_locked', 'true',
          'an admin unlocks the account');
SELECT ok(pg_temp.login('bob@example.org', 'correct horse') ? 'claims', 'and it logs in again');

-- Refresh tokens.
CREATE TEMP TABLE s2 AS SELECT pg_temp.refresh((SELECT s ->> 'refresh_token' FROM s1)) AS s;
SELECT ok((SELECT s ->> 'refresh_token' <> (SELECT s ->> 'refresh_token' FROM s1) FROM s2), 'a refresh issues a new token');
SELECT is(pg_temp.refresh((SELECT s ->> 'refresh_token' FROM s1)) -> 'details' ->> 'reason', 'reused',
          'the spent one presented again is a reuse');
SELECT is(pg_temp.refresh((SELECT s ->> 'refresh_token' FROM s2)) -> 'details' ->> 'reason', 'revoked',
          'which revoked the whole family, the new token too');
SELECT is(pg_temp.refresh('klr_' || repeat('0', 64)) ->> 'code', 'INVALID_REFRESH_TOKEN', 'an unknown token');

-- Disabled accounts.
SELECT is(pg_temp.adm(format('SELECT api.account_update(%L, %L, %L)', (SELECT a ->> 'id' FROM bob), '{"disabled": true}', 'tu2')) ->> 'disabled',
          'true', 'an admin disables the account');
SELECT is(pg_temp.login('bob@example.org', 'correct horse') ->> 'code', 'INVALID_LOGIN', 'a disabled account answers as a wrong password');
SELECT is_empty($$ SELECT 1 FROM accounts.refresh_tokens t JOIN accounts.accounts a ON a.id = t.account_id
                    WHERE a.email = 'bob@example.org' AND t.revoked_at IS NULL $$,
                'disabling revoked every refresh token');
SELECT throws_ok($$ SELECT pg_temp.adm(format('SELECT api.account_update(%L, %L, %L)',
                    (SELECT id FROM accounts.accounts WHERE email = 'bob@example.org'), '{"password_hash": "x"}', 'tu3')) $$,
  'KL000', 'INVALID_REQUEST: changes.password_hash is not a field an admin can set', 'only the listed fields change');
SELECT ok(NOT pg_temp.adm('SELECT api.accounts()')::text LIKE '%$2a$%', 'the list holds no hash');

-- A login rehashes a password made at another cost.
UPDATE core.settings SET value = '6' WHERE key = 'accounts.bcrypt_cost';
SELECT ok(pg_temp.login('op@example.org', 'correct horse') ? 'claims', 'the operator logs in');
SELECT ok((SELECT password_hash LIKE '$2a$06$%' FROM accounts.accounts WHERE email = 'op@example.org'),
          'and its hash is remade at the new cost');

-- Admins.
CREATE TEMP TABLE ad AS SELECT pg_temp.adm($$ SELECT api.account_create('ad@example.org', 'correct horse', 'admin', 'Ad', 'ta6') $$) AS a;
SELECT throws_ok($$ SELECT pg_temp.adm(format('SELECT api.account_update(%L, %L, %L)', (SELECT a ->> 'id' FROM ad), '{"disabled": true}', 'tu4')) $$,
  'KL000', 'CONFLICT: this is the last enabled admin account: create another admin first', 'the last admin cannot be disabled');
SELECT throws_ok($$ SELECT pg_temp.adm(format('SELECT api.account_update(%L, %L, %L)', (SELECT a ->> 'id' FROM ad), '{"email": "OP@example.org"}', 'tu5')) $$,
  'KL000', 'EMAIL_TAKEN: an account with email op@example.org exists', 'an email change keeps emails unique');
SELECT is(pg_temp.adm(format('SELECT api.account_set_password(%L, %L, %L)', (SELECT id FROM accounts.accounts WHERE email = 'op@example.org'),
                             'brand new pass', 'tp1')) ->> 'sessions_revoked', '1',
          'an admin sets a password without the current one, ending the account''s sessions');
SELECT is(pg_temp.login('op@example.org', 'correct horse') ->> 'code', 'INVALID_LOGIN', 'the old password is gone');
UPDATE accounts.refresh_tokens SET expires_at = now() - interval '2 days';
SELECT is(accounts.cleanup() ->> 'refresh_tokens', (SELECT count(*)::text FROM accounts.refresh_tokens), 'cleanup forgets expired refresh tokens');

SELECT * FROM finish();
ROLLBACK;
