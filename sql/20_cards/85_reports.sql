-- cards: the festival's reports for the operator console (api.festival_*, api.refunds_list,
-- api.refund_exports_list, api.refund_export_file). Read-only; amounts in minor units of the
-- event currency. Festival cards belong to no company, so these are the admin's.

-- Sales per point of sale (bar) per UTC hour in [since, until): orders, sales (deposits
-- excluded, as in cards.sales_per_pos_day) and the deposits taken; hours lists every hour
-- of the window, with sales or without.
CREATE OR REPLACE FUNCTION cards.sales_per_hour(since timestamptz, until timestamptz) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'since', since, 'until', until, 'currency', core.setting('cards.currency') #>> '{}',
    -- Every hour of the window, sales or not: a chart's x axis.
    'hours', (SELECT jsonb_agg(g ORDER BY g)
                FROM generate_series(date_trunc('hour', since, 'UTC'), until, interval '1 hour') AS g WHERE g < until),
    'rows', coalesce((
      SELECT jsonb_agg(jsonb_build_object('point_of_sale', h.point_of_sale, 'hour', h.hour, 'orders', h.orders,
                                          'sales', h.sales, 'deposits_taken', h.deposits)
                       ORDER BY h.hour, h.point_of_sale)
        FROM (SELECT o.point_of_sale, date_trunc('hour', o.created_at, 'UTC') AS hour, count(*) AS orders,
                     sum(o.total - o.deposit_total)::bigint AS sales, sum(o.deposit_total)::bigint AS deposits
                FROM cards.bar_orders o
               WHERE o.created_at >= since AND o.created_at < until
               GROUP BY 1, 2) h), '[]'),
    'totals', coalesce((
      SELECT jsonb_agg(jsonb_build_object('point_of_sale', t.point_of_sale, 'orders', t.orders, 'sales', t.sales)
                       ORDER BY t.sales DESC, t.point_of_sale)
        FROM (SELECT o.point_of_sale, count(*) AS orders, sum(o.total - o.deposit_total)::bigint AS sales
                FROM cards.bar_orders o
               WHERE o.created_at >= since AND o.created_at < until
               GROUP BY 1) t), '[]'))
$$;

-- The best-selling products (deposits are not products) since a time (NULL: ever), by revenue.
CREATE OR REPLACE FUNCTION cards.top_products_since(since timestamptz, max_rows int) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY t.revenue DESC, t.product_id), '[]')
    FROM (SELECT l.product_id, p.name, p.category, sum(l.quantity)::bigint AS units,
                 sum(l.quantity * l.unit_price)::bigint AS revenue
            FROM cards.order_lines l JOIN cards.products p USING (product_id)
           WHERE NOT l.is_deposit AND (since IS NULL OR l.created_at >= since)
           GROUP BY 1, 2, 3
           ORDER BY revenue DESC, l.product_id
           LIMIT max_rows) t
$$;

-- Recharges per checkpoint and method since a time (NULL: ever); Stripe recharges are 'online'.
CREATE OR REPLACE FUNCTION cards.recharges_since(since timestamptz) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT coalesce(jsonb_agg(to_jsonb(r) ORDER BY r.amount DESC, r.checkpoint_id, r.method), '[]')
    FROM (SELECT coalesce(x.checkpoint_id, 'online') AS checkpoint_id, x.method, count(*) AS recharges,
                 sum(x.amount)::bigint AS amount
            FROM cards.recharges x
           WHERE since IS NULL OR x.created_at >= since
           GROUP BY 1, 2) r
$$;

-- Cards a person must look at: debt left after a refund or chargeback, or a disputed payment.
CREATE OR REPLACE FUNCTION cards.needing_attention(max_rows int) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT coalesce(jsonb_agg(to_jsonb(c) ORDER BY c.debt DESC, c.card_id), '[]')
    FROM (SELECT v.card_id, v.status, a.balance, v.debt::bigint AS debt, v.disputed
            FROM cards.cards_with_debt_or_disputes v
            JOIN cards.cards k USING (card_id)
            JOIN ledger.accounts a ON a.id = k.account_id
           ORDER BY v.debt DESC, v.card_id
           LIMIT max_rows) c
$$;

-- Refunds newest first (status NULL: both), with the count and sum per status. The IBAN is
-- shown masked: the export file carries it whole.
CREATE OR REPLACE FUNCTION cards.refunds_list(status text, max_rows int) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'summary', jsonb_build_object(
      'pending', (SELECT jsonb_build_object('count', count(*), 'amount', coalesce(sum(r.amount), 0)::bigint)
                    FROM cards.refund_requests r WHERE r.status = 'pending'),
      'exported', (SELECT jsonb_build_object('count', count(*), 'amount', coalesce(sum(r.amount), 0)::bigint)
                     FROM cards.refund_requests r WHERE r.status = 'exported')),
    'refunds', coalesce((
      SELECT jsonb_agg(jsonb_build_object(
               'refund_id', r.refund_id, 'card_id', r.card_id, 'name', r.name,
               'iban', left(r.iban, 4) || repeat('*', greatest(length(r.iban) - 8, 0)) || right(r.iban, 4),
               'amount', r.amount, 'fee', r.fee, 'currency', r.currency, 'status', r.status,
               'export_id', r.export_id, 'created_at', r.created_at) ORDER BY r.refund_id DESC)
        FROM (SELECT * FROM cards.refund_requests x
               WHERE refunds_list.status IS NULL OR x.status = refunds_list.status
               ORDER BY x.refund_id DESC LIMIT max_rows) r), '[]'))
$$;

CREATE OR REPLACE FUNCTION cards.refund_exports_list(max_rows int) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT coalesce(jsonb_agg(jsonb_build_object(
           'export_id', e.export_id, 'message_id', e.message_id, 'count', e.count, 'total', e.total,
           'currency', 'EUR', 'created_at', e.created_at) ORDER BY e.export_id DESC), '[]')
    FROM (SELECT * FROM cards.refund_exports x ORDER BY x.export_id DESC LIMIT max_rows) e
$$;

-- One export's SEPA file again (it is kept), for a download after the export itself.
CREATE OR REPLACE FUNCTION cards.refund_export_file(export_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE e cards.refund_exports;
BEGIN
  SELECT * INTO e FROM cards.refund_exports x WHERE x.export_id = refund_export_file.export_id;
  IF NOT FOUND THEN
    PERFORM core.raise_error('REFUND_EXPORT_NOT_FOUND', format('refund export %s does not exist', export_id),
                             jsonb_build_object('export_id', export_id));
  END IF;
  RETURN jsonb_build_object('export_id', e.export_id, 'message_id', e.message_id, 'count', e.count,
                            'total', e.total, 'currency', 'EUR', 'created_at', e.created_at,
                            'filename', e.message_id || '.xml', 'xml', e.xml);
END $$;
