-- accounts: passwords. Hashed here with bcrypt (pgcrypto's crypt(), in the `crypto`
-- schema no request role can use), so a password exists only inside the one statement
-- that hashes or checks it: never stored, logged or returned.

-- Accounts are kept; their records name them (as staff_id): disable one instead.
CREATE TRIGGER accounts_kept BEFORE DELETE OR TRUNCATE ON accounts.accounts
  FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();

-- The bcrypt cost of new hashes (core.settings accounts.bcrypt_cost). Tests lower it to
-- 4; production keeps the default. Out of bcrypt's range is a configuration error.
CREATE OR REPLACE FUNCTION accounts.bcrypt_cost() RETURNS int LANGUAGE plpgsql STABLE AS $$
DECLARE cost int := (core.setting('accounts.bcrypt_cost'))::int;
BEGIN
  IF cost NOT BETWEEN 4 AND 15 THEN
    PERFORM core.raise_error('SERVER_ERROR', 'setting accounts.bcrypt_cost must be 4..15');
  END IF;
  RETURN cost;
END $$;

-- The password rules: at least accounts.password_min_length characters, at most 72
-- bytes (bcrypt ignores what follows, so a longer password would be a shorter one in
-- disguise), not only spaces. (A NUL never reaches here: text cannot hold one.)
CREATE OR REPLACE FUNCTION accounts.require_password(password text, argument text) RETURNS void
LANGUAGE plpgsql STABLE AS $$
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

CREATE OR REPLACE FUNCTION accounts.password_hash(password text) RETURNS text
LANGUAGE sql VOLATILE AS $$
  SELECT crypto.crypt(password, crypto.gen_salt('bf', accounts.bcrypt_cost()))
$$;

-- Whether `password` is the one `hash` was made from. Without a hash (no such account)
-- it hashes anyway, at the current cost, and answers false: an unknown email takes as
-- long as a wrong password. Over 72 bytes matches nothing (bcrypt would compare only the
-- first 72), after the same work.
CREATE OR REPLACE FUNCTION accounts.password_matches(password text, hash text) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
DECLARE computed text;
BEGIN
  IF hash IS NULL THEN
    computed := crypto.crypt(coalesce(password, ''), crypto.gen_salt('bf', accounts.bcrypt_cost()));
    RETURN false;
  END IF;
  computed := crypto.crypt(coalesce(password, ''), hash);
  RETURN computed = hash AND password IS NOT NULL AND octet_length(password) <= 72;
END $$;

-- The cost a bcrypt hash was made with ($2a$NN$...).
CREATE OR REPLACE FUNCTION accounts.hash_cost(hash text) RETURNS int
LANGUAGE sql IMMUTABLE AS $$
  SELECT substr(hash, 5, 2)::int
$$;
