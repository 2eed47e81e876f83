-- depends: 0100.cards 0700.dex-schema

-- The per-order write path, made lean (bench/cards.py holds it to a target). Measured with callgrind on
-- api.bar_order: foreign-key triggers were ~9% of its instructions and CHECK constraints
-- (re-read from the catalog by every statement that writes the table) ~8%. What a CHECK
-- guarded here is guaranteed by the one function that writes the row, and tested.

-- 1. Idempotency keys: only the retention cleanup reads them by age, and rows arrive in
-- time order - a BRIN index serves it for almost nothing per insert.
DROP INDEX core.idempotency_keys_created_at;
CREATE INDEX idempotency_keys_created_at ON core.idempotency_keys USING brin (created_at);

-- 2. Ledger identifiers as domains: a CHECK constraint is re-evaluated (and its
-- expression re-read from the catalog) by every UPDATE of the row - every balance change
-- paid for two regular expressions. A domain is checked only where a value is assigned.
CREATE DOMAIN ledger.kind AS text CHECK (VALUE ~ '^[a-z][a-z0-9_]{0,62}$');
CREATE DOMAIN ledger.currency AS text CHECK (VALUE ~ '^[A-Z]{3}$');
ALTER TABLE ledger.accounts
    DROP CONSTRAINT accounts_kind_check,
    DROP CONSTRAINT accounts_currency_check,
    ALTER COLUMN kind TYPE ledger.kind,
    ALTER COLUMN currency TYPE ledger.currency;
ALTER TABLE ledger.transfers
    DROP CONSTRAINT transfers_kind_check,
    ALTER COLUMN kind TYPE ledger.kind;
-- Bar orders post without a transfer key (they are idempotent per request, and the order
-- row names its transfer): the unique index only needs to hold the keyed rows.
ALTER TABLE ledger.transfers DROP CONSTRAINT transfers_kind_idempotency_key;
CREATE UNIQUE INDEX transfers_kind_idempotency_key ON ledger.transfers (kind, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- Room on every page for the next version of a row: a card's balance changes on every
-- order, and an update that finds no space on its page is not HOT - it inserts into
-- every index of the table (measured: 10 of 2010 balance updates were HOT). No rewrite:
-- a row on a full page moves once, to a page with room, and stays HOT from then on -
-- cheaper for a big deployment than holding an exclusive lock to rewrite the table.
ALTER TABLE ledger.accounts SET (fillfactor = 50);

-- 3. Postings: keyed by (transfer, account) - one leg per account per transfer is what
-- ledger.post_transfer enforces - which also serves "the legs of a transfer", so the
-- separate transfer index goes. No foreign-key triggers: post_transfer is the only
-- writer, it reads every account it posts to in the same statement, and transfers and
-- accounts can never be deleted (triggers in sql/10_ledger/10_ledger.sql refuse it). The FK
-- checks also share-locked the hot house accounts once per posting.
ALTER TABLE ledger.postings
    DROP CONSTRAINT postings_transfer_id_fkey,
    DROP CONSTRAINT postings_account_id_fkey,
    DROP CONSTRAINT postings_amount_check,  -- post_transfer refuses zero amounts
    DROP CONSTRAINT postings_pkey,
    ADD CONSTRAINT postings_pkey PRIMARY KEY (transfer_id, account_id);
DROP INDEX ledger.postings_transfer;

-- 4. Bar orders: written only by cards.bar_order, under the card's lock and with the
-- transfer it just posted; cards are never deleted. The lines are built by that function.
ALTER TABLE cards.bar_orders
    DROP CONSTRAINT bar_orders_card_id_fkey,
    DROP CONSTRAINT bar_orders_transfer_id_fkey,
    DROP CONSTRAINT bar_orders_lines_check,
    DROP CONSTRAINT bar_orders_total_check,          -- every line costs >= 1
    DROP CONSTRAINT bar_orders_deposit_total_check;
