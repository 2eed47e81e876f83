-- cards: bar orders and deposit returns. Prices come from cards.products, never the client.

-- Order lines from the request: [{"product_id", "quantity"}], 1..50 lines, quantity
-- 1..100. There is no "return" line: a negative quantity is refused (the source system
-- let a negative total credit the card); deposits come back through deposit_return.
CREATE OR REPLACE FUNCTION cards.order_lines(items jsonb)
RETURNS TABLE (line_no int, product_id text, quantity int, unit_price bigint, is_deposit boolean)
LANGUAGE plpgsql STABLE AS $$
DECLARE bad record;
BEGIN
  IF items IS NULL OR jsonb_typeof(items) <> 'array' OR jsonb_array_length(items) NOT BETWEEN 1 AND 50 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'items must be an array of 1 to 50 {product_id, quantity}',
                             jsonb_build_object('argument', 'items'));
  END IF;
  SELECT e.n - 1 AS i, e.item INTO bad FROM jsonb_array_elements(items) WITH ORDINALITY AS e(item, n)
   WHERE jsonb_typeof(e.item) IS DISTINCT FROM 'object'
      OR jsonb_typeof(e.item -> 'product_id') IS DISTINCT FROM 'string'
      OR jsonb_typeof(e.item -> 'quantity') IS DISTINCT FROM 'number'
      OR e.item - 'product_id' - 'quantity' <> '{}'::jsonb
      OR (e.item ->> 'quantity') !~ '^[0-9]{1,3}$'
      OR (e.item ->> 'quantity')::int NOT BETWEEN 1 AND 100
   ORDER BY e.n LIMIT 1;
  IF FOUND THEN
    PERFORM core.raise_error('INVALID_REQUEST',
      format('items[%s] must be {product_id: string, quantity: integer 1..100}', bad.i),
      jsonb_build_object('argument', 'items', 'index', bad.i));
  END IF;
  SELECT e.n - 1 AS i, e.item ->> 'product_id' AS pid INTO bad
    FROM jsonb_array_elements(items) WITH ORDINALITY AS e(item, n)
   WHERE NOT EXISTS (SELECT 1 FROM cards.products p WHERE p.product_id = e.item ->> 'product_id')
   ORDER BY e.n LIMIT 1;
  IF FOUND THEN
    PERFORM core.raise_error('INVALID_REQUEST', format('items[%s]: unknown product %s', bad.i, bad.pid),
                             jsonb_build_object('argument', 'items', 'index', bad.i, 'product_id', bad.pid));
  END IF;
  RETURN QUERY
    SELECT e.n::int, p.product_id, (e.item ->> 'quantity')::int, p.price, p.is_deposit
      FROM jsonb_array_elements(items) WITH ORDINALITY AS e(item, n)
      JOIN cards.products p ON p.product_id = e.item ->> 'product_id'
     ORDER BY e.n;
END $$;

-- Debit the card for the lines at catalogue prices: sales to the point of sale's revenue
-- account, deposits to the deposits-held liability. Returns the order or a decline.
CREATE OR REPLACE FUNCTION cards.bar_order(card_id text, items jsonb, point_of_sale text, transfer_key text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  card      cards.cards;
  currency  text;
  products  text[];
  qtys      int[];
  prices    bigint[];
  deposit   boolean[];
  sales     bigint;
  deposits  bigint;
  total     bigint;
  prev      bigint;
  posted    record;
  new_order bigint;
BEGIN
  PERFORM core.require_ident(point_of_sale, 'point_of_sale');
  SELECT array_agg(l.product_id ORDER BY l.line_no), array_agg(l.quantity ORDER BY l.line_no),
         array_agg(l.unit_price ORDER BY l.line_no), array_agg(l.is_deposit ORDER BY l.line_no),
         coalesce(sum(l.unit_price * l.quantity) FILTER (WHERE NOT l.is_deposit), 0),
         coalesce(sum(l.unit_price * l.quantity) FILTER (WHERE l.is_deposit), 0)
    INTO products, qtys, prices, deposit, sales, deposits
    FROM cards.order_lines(items) l;
  total := sales + deposits;  -- > 0: every line has quantity >= 1 and price >= 1

  card := cards.lock_card(card_id);
  IF card.status <> 'active' THEN
    RETURN cards.not_active(card);
  END IF;
  SELECT a.balance, a.currency INTO prev, currency FROM ledger.accounts a WHERE a.id = card.account_id;
  IF prev < total THEN
    RETURN core.decline('INSUFFICIENT_FUNDS', format('card %s has %s, the order costs %s', card.card_id, prev, total),
                        jsonb_build_object('card_id', card.card_id, 'balance', prev, 'total', total));
  END IF;

  IF deposits = 0 THEN
    posted := ledger.post_transfer('bar_order',
      ARRAY[card.account_id, ledger.house_account('bar_revenue', point_of_sale, currency)],
      ARRAY[-total, sales], transfer_key, jsonb_build_object('point_of_sale', point_of_sale));
  ELSIF sales = 0 THEN
    posted := ledger.post_transfer('bar_order',
      ARRAY[card.account_id, ledger.house_account('deposits_held', 'cards', currency)],
      ARRAY[-total, deposits], transfer_key, jsonb_build_object('point_of_sale', point_of_sale));
  ELSE
    posted := ledger.post_transfer('bar_order',
      ARRAY[card.account_id, ledger.house_account('bar_revenue', point_of_sale, currency),
            ledger.house_account('deposits_held', 'cards', currency)],
      ARRAY[-total, sales, deposits], transfer_key, jsonb_build_object('point_of_sale', point_of_sale));
  END IF;
  IF posted.transfer_id IS NULL THEN  -- cannot happen after the check above, under the card lock
    PERFORM core.raise_error('SERVER_ERROR', 'card balance changed under its lock');
  END IF;

  INSERT INTO cards.bar_orders (card_id, point_of_sale, staff_id, total, deposit_total, transfer_id)
  VALUES (card.card_id, point_of_sale, core.actor(), total, deposits, posted.transfer_id)
  RETURNING bar_orders.order_id INTO new_order;
  INSERT INTO cards.bar_order_lines (order_id, line_no, product_id, quantity, unit_price, is_deposit)
  SELECT new_order, l.n, l.product_id, l.quantity, l.unit_price, l.is_deposit
    FROM unnest(products, qtys, prices, deposit) WITH ORDINALITY AS l(product_id, quantity, unit_price, is_deposit, n);
  IF deposits > 0 THEN
    INSERT INTO cards.deposits_outstanding AS d (card_id, product_id, unit_price, quantity)
    SELECT card.card_id, l.product_id, l.unit_price, sum(l.quantity)
      FROM unnest(products, qtys, prices, deposit) AS l(product_id, quantity, unit_price, is_deposit)
     WHERE l.is_deposit GROUP BY l.product_id, l.unit_price
    ON CONFLICT ON CONSTRAINT deposits_outstanding_pkey DO UPDATE SET quantity = d.quantity + excluded.quantity;
  END IF;

  RETURN jsonb_build_object('order_id', new_order, 'card_id', card.card_id, 'total', total,
                            'deposit_total', deposits, 'currency', currency,
                            'previous_balance', prev, 'new_balance', prev - total);
END $$;

-- Credit returned deposits at the price this card paid for them (dearest first), never
-- more units than it paid for and has not yet returned.
CREATE OR REPLACE FUNCTION cards.deposit_return(card_id text, quantity int, point_of_sale text, transfer_key text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  card      cards.cards;
  currency  text;
  prev      bigint;
  held      int;
  remaining int := quantity;
  amount    bigint := 0;
  take      int;
  row_      record;
  posted    record;
  ret_id    bigint;
BEGIN
  PERFORM core.require_ident(point_of_sale, 'point_of_sale');
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

  SELECT a.balance, a.currency INTO prev, currency FROM ledger.accounts a WHERE a.id = card.account_id;
  posted := ledger.post_transfer('deposit_return',
    ARRAY[ledger.house_account('deposits_held', 'cards', currency), card.account_id],
    ARRAY[-amount, amount], transfer_key, jsonb_build_object('point_of_sale', point_of_sale, 'quantity', quantity));
  INSERT INTO cards.deposit_returns (card_id, quantity, amount, point_of_sale, staff_id, transfer_id)
  VALUES (card.card_id, quantity, amount, point_of_sale, core.actor(), posted.transfer_id)
  RETURNING id INTO ret_id;
  RETURN jsonb_build_object('return_id', ret_id, 'card_id', card.card_id, 'quantity', quantity, 'amount', amount,
                            'currency', currency, 'previous_balance', prev, 'new_balance', prev + amount);
END $$;
