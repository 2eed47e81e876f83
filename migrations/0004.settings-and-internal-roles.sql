-- depends: 0003.ledger

-- Operator-tunable settings (limits, fees, currencies). Read with core.setting(key).
CREATE TABLE core.settings (
    key          text  PRIMARY KEY CHECK (key ~ '^[a-z][a-z0-9_.]*$'),
    value        jsonb NOT NULL,
    description  text  NOT NULL
);

-- Internal roles the RPC layer itself uses (never named by a client token):
-- `payments` applies verified Stripe events and stores Checkout sessions.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'payments') THEN
    CREATE ROLE payments NOLOGIN;
  END IF;
END $$;
GRANT payments TO authenticator;
GRANT USAGE ON SCHEMA api TO payments;
