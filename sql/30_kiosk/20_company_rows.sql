-- kiosk, atm, checkout: who sees which company's kiosks. An operator sees the kiosks of the
-- company in its token and every row that hangs off them; admin sees all.
--
-- Why it holds: the operator-facing entry points (their api wrappers say which) are
-- SECURITY DEFINER owned by fleet_service, which is neither superuser nor table owner and
-- lacks BYPASSRLS, so these policies filter every query they run; the views they read are
-- security_invoker. Everything kiosks and the payment paths do runs as the superuser owner
-- and is not filtered: a kiosk is identified by its login or token, not by a company.

-- The kiosks the request may see, as a policy sub-query (evaluated once per query).
CREATE OR REPLACE FUNCTION kiosk.company_kiosk_ids() RETURNS SETOF text
LANGUAGE sql STABLE AS $$
  SELECT k.kiosk_id FROM kiosk.kiosks k WHERE k.company_id = (SELECT core.request_company())
$$;

DO $$
DECLARE
  by_kiosk text[] := ARRAY['atm.transactions', 'atm.dispense_jobs', 'checkout.orders', 'checkout.sync_batches',
                           'checkout.refused_orders'];
  t text;
BEGIN
  DROP POLICY IF EXISTS company_rows ON kiosk.kiosks;
  CREATE POLICY company_rows ON kiosk.kiosks
    USING ((SELECT core.sees_all_companies()) OR company_id = (SELECT core.request_company()));
  FOREACH t IN ARRAY by_kiosk LOOP
    EXECUTE format('DROP POLICY IF EXISTS company_rows ON %s', t);
    EXECUTE format('CREATE POLICY company_rows ON %s USING ((SELECT core.sees_all_companies()) '
                   'OR kiosk_id IN (SELECT kiosk.company_kiosk_ids()))', t);
  END LOOP;
  DROP POLICY IF EXISTS company_rows ON checkout.order_lines;
  CREATE POLICY company_rows ON checkout.order_lines USING ((SELECT core.sees_all_companies())
    OR order_id IN (SELECT o.order_id FROM checkout.orders o WHERE o.kiosk_id IN (SELECT kiosk.company_kiosk_ids())));
  DROP POLICY IF EXISTS company_rows ON atm.refunds;
  CREATE POLICY company_rows ON atm.refunds USING ((SELECT core.sees_all_companies())
    OR transaction_id IN (SELECT t.id FROM atm.transactions t WHERE t.kiosk_id IN (SELECT kiosk.company_kiosk_ids())));
  DROP POLICY IF EXISTS company_rows ON atm.alerts;
  CREATE POLICY company_rows ON atm.alerts USING ((SELECT core.sees_all_companies())
    OR job_id IN (SELECT j.id FROM atm.dispense_jobs j WHERE j.kiosk_id IN (SELECT kiosk.company_kiosk_ids()))
    OR refund_id IN (SELECT r.id FROM atm.refunds r JOIN atm.transactions t ON t.id = r.transaction_id
                      WHERE t.kiosk_id IN (SELECT kiosk.company_kiosk_ids())));
END $$;

-- fleet_service reads (never writes) the kiosk domains' tables, and finds an order's ledger
-- transfer by its key (those columns only: transfers carry no company).
GRANT USAGE ON SCHEMA core, kiosk, atm, checkout, ledger TO fleet_service;
GRANT SELECT (id, kind, idempotency_key) ON ledger.transfers TO fleet_service;
GRANT SELECT ON kiosk.kiosks, atm.transactions, atm.dispense_jobs, atm.refunds, atm.alerts, atm.kiosk_config,
                checkout.orders, checkout.order_lines, checkout.sync_batches, checkout.refused_orders,
                checkout.edge_backlog, core.settings TO fleet_service;
GRANT EXECUTE ON FUNCTION core.raise_error(text, text, jsonb, text), core.claims(), core.request_role(),
                          core.request_company(), core.sees_all_companies(), core.setting(text),
                          kiosk.company_kiosk_ids() TO fleet_service;
