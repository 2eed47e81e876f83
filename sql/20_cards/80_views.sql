-- cards: the DBA views.

CREATE OR REPLACE VIEW cards.sales_per_pos_day AS
SELECT o.point_of_sale, (o.created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS orders,
       sum(o.total - o.deposit_total) AS sales, sum(o.deposit_total) AS deposits_taken
  FROM cards.bar_orders o
 GROUP BY 1, 2;

CREATE OR REPLACE VIEW cards.order_lines AS
SELECT o.order_id, o.card_id, o.point_of_sale, o.created_at, l.*
  FROM cards.bar_orders o
 CROSS JOIN LATERAL jsonb_to_recordset(o.lines) AS l(product_id text, quantity int, unit_price bigint, is_deposit boolean);

CREATE OR REPLACE VIEW cards.top_products AS
SELECT l.product_id, p.name, p.category, sum(l.quantity) AS units, sum(l.quantity * l.unit_price) AS revenue
  FROM cards.order_lines l JOIN cards.products p USING (product_id)
 WHERE NOT l.is_deposit
 GROUP BY 1, 2, 3
 ORDER BY revenue DESC;

CREATE OR REPLACE VIEW cards.recharges_per_checkpoint AS
SELECT coalesce(r.checkpoint_id, 'online') AS checkpoint_id, r.method, count(*) AS recharges, sum(r.amount) AS amount
  FROM cards.recharges r
 GROUP BY 1, 2;

-- Debt paid down (negative card_debts rows) to zero is no longer listed.
CREATE OR REPLACE VIEW cards.cards_with_debt_or_disputes AS
SELECT c.card_id, c.status,
       (SELECT coalesce(sum(d.amount), 0) FROM cards.card_debts d WHERE d.card_id = c.card_id) AS debt,
       EXISTS (SELECT 1 FROM cards.stripe_payments p WHERE p.card_id = c.card_id AND p.disputed) AS disputed
  FROM cards.cards c
 WHERE (SELECT coalesce(sum(d.amount), 0) FROM cards.card_debts d WHERE d.card_id = c.card_id) > 0
    OR EXISTS (SELECT 1 FROM cards.stripe_payments p WHERE p.card_id = c.card_id AND p.disputed);

-- Stripe money held off a card, waiting for a person: refund it at Stripe (its
-- charge.refunded releases the hold) or settle it by hand. Oldest first.
CREATE OR REPLACE VIEW cards.open_held_payments AS
SELECT h.held_id, h.card_id, c.status AS card_status, h.reason, h.payment_intent, h.session_id, h.amount,
       h.amount - h.released AS remaining, h.currency, h.created_at
  FROM cards.held_payments h JOIN cards.cards c USING (card_id)
 WHERE h.resolved_at IS NULL
 ORDER BY h.held_id;
