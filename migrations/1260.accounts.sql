-- depends: 0700.dex-schema 1010.card-refund-codes 1150.api-schemas

-- Staff, operator and admin accounts that log in with an email and a password
-- (POST /auth/login). The server signs a short-lived bearer token from the claims the SQL
-- login returns; a refresh token (kept only as its sha256) gets the next one.
--
-- The schema is `accounts`, not `auth`: Supabase databases already have an `auth` schema.
CREATE SCHEMA accounts;

-- Internal role the RPC server itself uses for /auth/login, /auth/refresh and /auth/logout
-- (never named by a client token): it may only check passwords and rotate refresh tokens.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'login_service') THEN
    CREATE ROLE login_service NOLOGIN;
  END IF;
END $$;
GRANT login_service TO authenticator;
GRANT USAGE ON SCHEMA api TO login_service;

INSERT INTO core.settings (key, value, description) VALUES
  ('accounts.bcrypt_cost', '11', 'bcrypt cost (log2 rounds, 4..15) of new password hashes; a login with an older cost rehashes the password'),
  ('accounts.password_min_length', '10', 'fewest characters a password may have (at most 72 bytes: bcrypt reads no further)'),
  ('accounts.max_failed_logins', '5', 'wrong passwords in a row for one email that lock its logins'),
  ('accounts.lockout_seconds', '900', 'how long an email''s logins stay locked after too many wrong passwords'),
  ('accounts.access_token_seconds', '900', 'lifetime of the bearer token /auth/login and /auth/refresh sign (capped by JWT_MAX_TTL)'),
  ('accounts.refresh_token_seconds', '604800', 'lifetime of a refresh token; each refresh issues a new one with a new lifetime');

-- Emails are kept lower-case, so the unique key is case-insensitive.
CREATE TABLE accounts.accounts (
    id                   uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    email                text        NOT NULL UNIQUE
                                     CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254
                                            AND email ~ '^[^@\s]+@[^@\s]+$'),
    display_name         text        NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
    role                 text        NOT NULL CHECK (role IN ('staff', 'operator', 'admin')),
    company_id           text        REFERENCES dex.companies,
    point_of_sale        text        CHECK (point_of_sale ~ '^[A-Za-z0-9_.:-]{1,64}$'),
    checkpoint           text        CHECK (checkpoint ~ '^[A-Za-z0-9_.:-]{1,64}$'),
    disabled             boolean     NOT NULL DEFAULT false,
    password_hash        text        NOT NULL CHECK (password_hash LIKE '$2_$%'),  -- bcrypt, never the password
    password_changed_at  timestamptz NOT NULL DEFAULT now(),
    last_login_at        timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    created_by           text        NOT NULL,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    updated_by           text        NOT NULL,
    -- An operator acts for exactly one company; staff and admins for none (admin sees all).
    CONSTRAINT accounts_operator_company CHECK ((role = 'operator') = (company_id IS NOT NULL)),
    -- A bar or a checkpoint is where staff work.
    CONSTRAINT accounts_staff_places CHECK (role = 'staff' OR (point_of_sale IS NULL AND checkpoint IS NULL))
);
CREATE INDEX accounts_company ON accounts.accounts (company_id) WHERE company_id IS NOT NULL;

-- Failed logins per email typed, whether or not an account has it: an unknown email is
-- counted and locked exactly like a known one, so neither the answer nor the lockout
-- tells whether an account exists. The row is also what attempts on one email serialize
-- on, so concurrent wrong passwords are all counted.
CREATE TABLE accounts.login_failures (
    email           text        PRIMARY KEY CHECK (length(email) <= 254),
    failures        int         NOT NULL DEFAULT 0 CHECK (failures >= 0),
    locked_until    timestamptz,
    last_failed_at  timestamptz
);

-- Refresh tokens: only their sha256 (the token is 256 random bits, so a plain hash is
-- enough). A login starts a family; each refresh spends its token (used_at) and issues
-- the next in the family. A spent token presented again means a copy exists: the whole
-- family is revoked.
CREATE TABLE accounts.refresh_tokens (
    token_hash      bytea       PRIMARY KEY CHECK (length(token_hash) = 32),
    account_id      uuid        NOT NULL REFERENCES accounts.accounts,
    family_id       uuid        NOT NULL,
    issued_at       timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz,
    revoked_at      timestamptz,
    revoked_reason  text        CHECK (revoked_reason IN ('logout', 'reuse', 'password', 'disabled')),
    CHECK ((revoked_at IS NULL) = (revoked_reason IS NULL))
);
CREATE INDEX refresh_tokens_family ON accounts.refresh_tokens (family_id);
CREATE INDEX refresh_tokens_live ON accounts.refresh_tokens (account_id) WHERE revoked_at IS NULL;

-- Who changed an account, when and how (never a password or a hash).
CREATE TABLE accounts.events (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id  uuid        NOT NULL REFERENCES accounts.accounts,
    event       text        NOT NULL CHECK (event IN ('created', 'updated', 'password_set', 'unlocked',
                                                      'locked', 'refresh_reuse')),
    details     jsonb       NOT NULL DEFAULT '{}',
    actor       text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX account_events_account ON accounts.events (account_id, id);
