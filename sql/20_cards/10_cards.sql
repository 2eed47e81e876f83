-- cards: festival cashless cards - identity, status, balance, history, the bar menu.

CREATE OR REPLACE FUNCTION cards.normalize_id(card_id text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF card_id IS NULL OR length(card_id) <> 8  -- translate(): see core.require_ident
     OR translate(card_id, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', '') <> '' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'card_id must be 8 letters or digits',
                             jsonb_build_object('argument', 'card_id'));
  END IF;
  RETURN upper(card_id);
END $$;

-- The card row, locked: every money movement on a card starts here, so status changes
-- (freeze, block) and spending serialize on it.
CREATE OR REPLACE FUNCTION cards.lock_card(card_id text) RETURNS cards.cards
LANGUAGE plpgsql AS $$
DECLARE card cards.cards;
BEGIN
  SELECT * INTO card FROM cards.cards c WHERE c.card_id = lock_card.card_id FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM core.raise_error('CARD_NOT_FOUND', format('card %s does not exist', card_id),
                             jsonb_build_object('card_id', card_id));
  END IF;
  RETURN card;
END $$;

CREATE OR REPLACE FUNCTION cards.not_active(card cards.cards) RETURNS jsonb
LANGUAGE sql AS $$
  SELECT core.decline('CARD_NOT_ACTIVE', format('card %s is %s', card.card_id, card.status),
                      jsonb_build_object('card_id', card.card_id, 'status', card.status))
$$;

CREATE OR REPLACE FUNCTION cards.currency_of(card cards.cards) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT currency FROM ledger.accounts WHERE id = card.account_id
$$;

-- Status changes go through here so the audit trigger knows why.
CREATE OR REPLACE FUNCTION cards.set_status(card_id text, new_status text, reason text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('cards.status_reason', reason, true);
  UPDATE cards.cards c SET status = new_status WHERE c.card_id = set_status.card_id AND c.status <> new_status;
END $$;

CREATE OR REPLACE FUNCTION cards.log_status_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO cards.card_events (card_id, old_status, new_status, reason, actor)
  VALUES (NEW.card_id, CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END, NEW.status,
          CASE WHEN TG_OP = 'INSERT' THEN 'issued' ELSE nullif(current_setting('cards.status_reason', true), '') END,
          core.actor());
  RETURN NULL;
END $$;
CREATE TRIGGER card_issued_audit AFTER INSERT ON cards.cards
  FOR EACH ROW EXECUTE FUNCTION cards.log_status_change();
CREATE TRIGGER card_status_audit AFTER UPDATE OF status ON cards.cards
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION cards.log_status_change();

-- Cards are referenced by orders without a foreign key (migration 0800): never removed.
CREATE TRIGGER cards_kept BEFORE DELETE OR TRUNCATE ON cards.cards
  FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();

-- Refund codes: the card holder's proof of possession for a refund (the card id is printed
-- on the wristband, so anyone can read it). 12 characters from an alphabet without 0/O/1/I,
-- 60 random bits, shown as XXXX-XXXX-XXXX; kept only as a bcrypt hash, so a copy of the
-- database does not give them away and guessing offline is slow.
CREATE OR REPLACE FUNCTION cards.new_refund_code() RETURNS text
LANGUAGE sql VOLATILE AS $$
  SELECT string_agg(substr('ABCDEFGHJKLMNPQRSTUVWXYZ23456789', get_byte(b.bytes, i) % 32 + 1, 1)
                    || CASE WHEN i IN (3, 7) THEN '-' ELSE '' END, '' ORDER BY i)
    FROM crypto.gen_random_bytes(12) AS b(bytes), generate_series(0, 11) AS i
$$;

-- What the holder typed, compared without case, spaces or dashes; NULL when it cannot be a
-- code (8-64 letters or digits), so a malformed code is refused before it is counted.
CREATE OR REPLACE FUNCTION cards.refund_code_normalize(code text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT c FROM (SELECT upper(translate(code, E' -\t', '')) AS c) n WHERE c ~ '^[A-Z0-9]{8,64}$'
$$;

CREATE OR REPLACE FUNCTION cards.refund_code_hash(code text) RETURNS text
LANGUAGE sql VOLATILE AS $$
  SELECT crypto.crypt(cards.refund_code_normalize(code), crypto.gen_salt('bf', 8))
$$;

CREATE OR REPLACE FUNCTION cards.refund_code_matches(code text, code_hash text) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT crypto.crypt(cards.refund_code_normalize(code), code_hash) = code_hash
$$;

CREATE OR REPLACE FUNCTION cards.issue(card_id text) RETURNS jsonb
LANGUAGE plpgsql AS $$
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

CREATE OR REPLACE FUNCTION cards.balance(card_id text) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
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

-- Movements read from the ledger, newest first, with the balance before and after each.
CREATE OR REPLACE FUNCTION cards.history(card_id text, max_rows int) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
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

CREATE OR REPLACE FUNCTION cards.product_upsert(product_id text, name text, category text, price bigint,
                                                is_deposit boolean) RETURNS jsonb
LANGUAGE plpgsql AS $$
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
END $$;
