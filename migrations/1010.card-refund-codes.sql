-- depends: 0100.cards 0800.hot-path

-- A refund sends a card's whole balance to an IBAN the requester chooses, and the card id
-- is printed on the wristband, so the id alone cannot be enough: each card gets a secret
-- refund code, kept only as a slow salted hash (bcrypt through pgcrypto's crypt()).
--
-- pgcrypto lives in a schema of its own that no request role can use: only the definer
-- functions in sql/20_cards call it, schema-qualified.
CREATE SCHEMA crypto;
CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA crypto;

INSERT INTO core.settings (key, value, description) VALUES
  ('cards.refund_code_max_attempts', '5', 'wrong refund codes in a row that lock a card''s refund'),
  ('cards.refund_code_lockout_seconds', '900', 'how long a card''s refund stays locked after too many wrong codes');

-- One row per card that has a code. No foreign key to cards.cards: codes of a pre-printed
-- batch may be imported before the cards are issued. Cards issued before codes existed
-- have no row; their refunds are filed at a refund desk (staff), where the holder shows
-- the card.
CREATE TABLE cards.refund_codes (
    card_id          text        PRIMARY KEY CHECK (card_id ~ '^[A-Z0-9]{8}$'),
    code_hash        text        NOT NULL,  -- crypt(code, gen_salt('bf', 8)); never the code itself
    source           text        NOT NULL CHECK (source IN ('issued', 'imported')),
    failed_attempts  int         NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
    locked_until     timestamptz,
    set_by           text        NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now()
);

-- How each refund was authorised and by whom. NULL on refunds filed before codes existed.
ALTER TABLE cards.refund_requests
    ADD COLUMN proof          text CHECK (proof IN ('refund_code', 'desk')),
    ADD COLUMN filed_by_role  text,
    ADD COLUMN filed_by       text;
