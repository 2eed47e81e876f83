-- cards: bar orders and deposit returns. Prices come from cards.products, never the client.

-- Debit the card for the lines at catalogue prices: sales to the point of sale's revenue
-- account, deposits to the deposits-held liability. Returns the order or a decline.
-- items: [{"product_id", "quantity"}], 1..50 lines, quantity 1..100. There is no
-- "return" line: a negative quantity is refused (a negative total would credit the
-- card); deposits come back through deposit_return.
-- The hot path of the festival, measured per statement: lines are checked by PL/pgSQL
-- expressions with one key lookup each (an order has one to three lines; an aggregate
-- query over them cost more to start than to run), and the card lock also finds the
-- bar's revenue account.
CREATE OR REPLACE FUNCTION cards.bar_order(card_id text, items jsonb, point_of_sale text, transfer_key text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  pos       text := core.require_ident(point_of_sale, 'point_of_sale');
  n_items   int;
  item      jsonb;
  qty       int;
  product   record;
  lines     jsonb := '[]'::jsonb;
  sales     bigint := 0::bigint;
  deposits  bigint := 0::bigint;
  total     bigint;
  card      record;
  legs_acct bigint[];
  legs_amt  bigint[];
  posted    record;
  new_order bigint;
BEGIN
  n_items := CASE WHEN jsonb_typeof(items) = 'array' THEN jsonb_array_length(items) END;
  IF n_items IS NULL OR n_items NOT BETWEEN 1 AND 50 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'items must be an array of 1 to 50 {product_id, quantity}',
                             jsonb_build_object('argument', 'items'));
  END IF;
  FOR i IN 0 .. n_items - 1 LOOP
    item := items -> i;
    -- (AND evaluates left to right and stops at the first false: no cast sees a non-number.)
    IF NOT coalesce(jsonb_typeof(item) = 'object'
                    AND jsonb_typeof(item -> 'product_id') = 'string'
                    AND jsonb_typeof(item -> 'quantity') = 'number'
                    AND item - 'product_id' - 'quantity' = '{}'::jsonb
                    AND (item -> 'quantity')::numeric BETWEEN 1 AND 100
                    AND (item -> 'quantity')::numeric % 1 = 0, false) THEN
      PERFORM core.raise_error('INVALID_REQUEST',
        format('items[%s] must be {product_id: string, quantity: integer 1..100}', i),
        jsonb_build_object('argument', 'items', 'index', i));
    END IF;
    qty := (item -> 'quantity')::int;
    SELECT p.product_id, p.price, p.is_deposit INTO product
      FROM cards.products p WHERE p.product_id = item ->> 'product_id';
    IF NOT FOUND THEN
      -- A well-formed order naming a product the bar does not have: not found, like a card.
      PERFORM core.raise_error('PRODUCT_NOT_FOUND', format('items[%s]: unknown product %s', i, item ->> 'product_id'),
                               jsonb_build_object('argument', 'items', 'index', i, 'product_id', item ->> 'product_id'));
    END IF;
    lines := lines || jsonb_build_object('product_id', product.product_id, 'quantity', qty,
                                         'unit_price', product.price, 'is_deposit', product.is_deposit);
    IF product.is_deposit THEN
      deposits := deposits + product.price * qty;
    ELSE
      sales := sales + product.price * qty;
    END IF;
  END LOOP;
  total := sales + deposits;  -- > 0: every line has quantity >= 1 and price >= 1

  -- Card row and its account, both locked: spending and status changes serialize here.
  SELECT c.card_id, c.status, c.account_id, a.balance, a.currency,
         (SELECT h.id FROM ledger.accounts h
           WHERE h.kind = 'bar_revenue' AND h.owner_ref = pos AND h.currency = a.currency) AS revenue_account
    INTO card
    FROM cards.cards c JOIN ledger.accounts a ON a.id = c.account_id
   WHERE c.card_id = bar_order.card_id
     FOR UPDATE OF c, a;
  IF NOT FOUND THEN
    PERFORM core.raise_error('CARD_NOT_FOUND', format('card %s does not exist', card_id),
                             jsonb_build_object('card_id', card_id));
  ELSIF card.status <> 'active' THEN
    RETURN core.decline('CARD_NOT_ACTIVE', format('card %s is %s', card.card_id, card.status),
                        jsonb_build_object('card_id', card.card_id, 'status', card.status));
  ELSIF card.balance < total THEN
    RETURN core.decline('INSUFFICIENT_FUNDS', format('card %s has %s, the order costs %s', card.card_id, card.balance, total),
                        jsonb_build_object('card_id', card.card_id, 'balance', card.balance, 'total', total));
  END IF;

  legs_acct := ARRAY[card.account_id];
  legs_amt := ARRAY[-total];
  IF sales > 0 THEN  -- a new point of sale gets its revenue account on its first order
    legs_acct := legs_acct || coalesce(card.revenue_account, ledger.house_account('bar_revenue', pos, card.currency));
    legs_amt := legs_amt || sales;
  END IF;
  IF deposits > 0 THEN
    legs_acct := legs_acct || ledger.house_account('deposits_held', 'cards', card.currency);
    legs_amt := legs_amt || deposits;
  END IF;
  posted := ledger.post_transfer('bar_order', legs_acct, legs_amt, transfer_key,
                                 jsonb_build_object('point_of_sale', pos));
  IF posted.transfer_id IS NULL THEN  -- cannot happen after the check above, under the card lock
    PERFORM core.raise_error('SERVER_ERROR', 'card balance changed under its lock');
  END IF;

  INSERT INTO cards.bar_orders (card_id, point_of_sale, staff_id, total, deposit_total, lines, transfer_id)
  VALUES (card.card_id, pos, core.actor(), total, deposits, lines, posted.transfer_id)
  RETURNING bar_orders.order_id INTO new_order;
  IF deposits > 0 THEN
    INSERT INTO cards.deposits_outstanding AS d (card_id, product_id, unit_price, quantity)
    SELECT card.card_id, l ->> 'product_id', (l ->> 'unit_price')::bigint, sum((l ->> 'quantity')::int)
      FROM jsonb_array_elements(lines) AS l
     WHERE (l ->> 'is_deposit')::boolean
     GROUP BY 1, 2, 3
    ON CONFLICT ON CONSTRAINT deposits_outstanding_pkey DO UPDATE SET quantity = d.quantity + excluded.quantity;
  END IF;

  RETURN jsonb_build_object('order_id', new_order, 'card_id', card.card_id, 'total', total,
                            'deposit_total', deposits, 'currency', card.currency,
                            'previous_balance', card.balance, 'new_balance', card.balance - total);
END $$;

-- Orders are history: written once, never changed or removed.
CREATE TRIGGER bar_orders_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON cards.bar_orders
  FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();

-- Credit returned deposits at the price this card paid for them (dearest first), never
-- more units than it paid for and has not yet returned.
CREATE OR REPLACE FUNCTION cards.deposit_return(card_id text, quantity int, point_of_sale text, transfer_key text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  card      cards.cards;
  currency  text;
  prev      bigint;
  held      bigint;
  remaining int := quantity;
  amount    bigint := 0::bigint;
  take      int;
  row_      record;
  posted    record;
  ret_id    bigint;
  pos       text;
BEGIN
  pos := core.require_ident(point_of_sale, 'point_of_sale');
  IF quantity IS NULL OR quantity NOT BETWEEN 1 AND 100 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'quantity must be 1..100', jsonb_build_object('argument', 'quantity'));
  END IF;
  card := cards.lock_card(card_id);
  IF card.status <> 'active' THEN
    RETURN cards.not_active(card);
  END IF;
  SELECT coalesce(sum(d.quantity), 0) INTO held FROM cards.deposits_outstanding d WHERE d.card_id = card.card_id;
  IF held < quantity THEN
    RETURN core.decline('DEPOSIT_NOT_OUTSTANDING',
      format('card %s has %s deposit(s) outstanding, %s returned', card.card_id, held, quantity),
      jsonb_build_object('card_id', card.card_id, 'outstanding', held, 'quantity', quantity));
  END IF;
  FOR row_ IN SELECT d.product_id, d.unit_price, d.quantity FROM cards.deposits_outstanding d
               WHERE d.card_id = card.card_id AND d.quantity > 0 ORDER BY d.unit_price DESC, d.product_id LOOP
    EXIT WHEN remaining = 0;
    take := least(remaining, row_.quantity);
    UPDATE cards.deposits_outstanding d SET quantity = d.quantity - take
     WHERE d.card_id = card.card_id AND d.product_id = row_.product_id AND d.unit_price = row_.unit_price;
    amount := amount + take * row_.unit_price;
    remaining := remaining - take;
  END LOOP;

  SELECT a.balance, a.currency::text INTO prev, currency FROM ledger.accounts a WHERE a.id = card.account_id;
  posted := ledger.post_transfer('deposit_return',
    ARRAY[ledger.house_account('deposits_held', 'cards', currency), card.account_id],
    ARRAY[-amount, amount], transfer_key, jsonb_build_object('point_of_sale', pos, 'quantity', quantity));
  INSERT INTO cards.deposit_returns (card_id, quantity, amount, point_of_sale, staff_id, transfer_id)
  VALUES (card.card_id, quantity, amount, pos, core.actor(), posted.transfer_id)
  RETURNING id INTO ret_id;
  RETURN jsonb_build_object('return_id', ret_id, 'card_id', card.card_id, 'quantity', quantity, 'amount', amount,
                            'currency', currency, 'previous_balance', prev, 'new_balance', prev + amount);
END $$;
