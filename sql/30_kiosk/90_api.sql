-- api: kiosks of either kind.

CREATE OR REPLACE FUNCTION api.kiosk_assign_company(kiosk_id text, company_id text, request_id text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE replay jsonb;
BEGIN
  replay := core.idem_begin('kiosk_assign_company', request_id,
                            jsonb_build_object('kiosk_id', kiosk_id, 'company_id', company_id));
  IF replay IS NOT NULL THEN RETURN replay; END IF;
  RETURN core.idem_finish('kiosk_assign_company', request_id, kiosk.assign_company(kiosk_id, company_id));
END $$;
COMMENT ON FUNCTION api.kiosk_assign_company(text, text, text) IS
  'Admin: the company an ATM or self-checkout kiosk belongs to (null: none, admins only). Its operators then see the kiosk and everything it sold, dispensed or owes. KIOSK_NOT_FOUND, COMPANY_NOT_FOUND.';
GRANT EXECUTE ON FUNCTION api.kiosk_assign_company(text, text, text) TO admin;
