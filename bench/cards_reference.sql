-- The benchmark's reference: the least a correct single-card debit must do, in one
-- function call - idempotency insert, FOR UPDATE, balance update, order row, audit row.
CREATE SCHEMA bench_ref;
CREATE TABLE bench_ref.idempotency (key text PRIMARY KEY, response jsonb);
CREATE TABLE bench_ref.cards (card_id text PRIMARY KEY, balance bigint NOT NULL CHECK (balance >= 0));
CREATE TABLE bench_ref.orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, card_id text NOT NULL,
                               amount bigint NOT NULL, point_of_sale text NOT NULL, created_at timestamptz DEFAULT now());
CREATE TABLE bench_ref.audit (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, card_id text NOT NULL,
                              delta bigint NOT NULL, created_at timestamptz DEFAULT now());
CREATE FUNCTION bench_ref.debit(card text, amount bigint, request_id text, pos text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE bal bigint; oid bigint; res jsonb;
BEGIN
  INSERT INTO bench_ref.idempotency (key) VALUES (request_id) ON CONFLICT DO NOTHING;
  IF NOT FOUND THEN
    RETURN (SELECT response FROM bench_ref.idempotency WHERE key = request_id);
  END IF;
  SELECT balance INTO bal FROM bench_ref.cards WHERE card_id = card FOR UPDATE;
  IF bal < amount THEN
    res := jsonb_build_object('code', 'INSUFFICIENT_FUNDS');
  ELSE
    UPDATE bench_ref.cards SET balance = balance - amount WHERE card_id = card;
    INSERT INTO bench_ref.orders (card_id, amount, point_of_sale) VALUES (card, amount, pos) RETURNING id INTO oid;
    INSERT INTO bench_ref.audit (card_id, delta) VALUES (card, -amount);
    res := jsonb_build_object('order_id', oid, 'total', amount, 'previous_balance', bal, 'new_balance', bal - amount);
  END IF;
  UPDATE bench_ref.idempotency SET response = res WHERE key = request_id;
  RETURN res;
END $$;
