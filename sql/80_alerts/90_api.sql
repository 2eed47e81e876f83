-- api: alerts. Reads and changes are scoped by company (core.alert_visible): admin sees
-- every alert, an operator its company's, staff those that belong to no company.

CREATE OR REPLACE FUNCTION api.alerts(status text DEFAULT 'open', domain text DEFAULT NULL, "limit" int DEFAULT 100)
RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF status IS NULL OR status NOT IN ('open', 'acknowledged', 'resolved', 'active', 'all') THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'status must be open, acknowledged, resolved, active or all',
                             jsonb_build_object('argument', 'status'));
  END IF;
  IF domain IS NOT NULL AND domain NOT IN ('atm', 'festival', 'checkout', 'dex', 'upkeep') THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'domain must be atm, festival, checkout, dex, upkeep or null',
                             jsonb_build_object('argument', 'domain'));
  END IF;
  IF "limit" IS NULL OR "limit" NOT BETWEEN 1 AND 1000 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'limit must be 1-1000', jsonb_build_object('argument', 'limit'));
  END IF;
  RETURN core.alerts_list(status, domain, "limit");
END $$;
COMMENT ON FUNCTION api.alerts(text, text, int) IS
  'Staff, operators, admin: alerts across domains (atm, festival, checkout, dex, upkeep), most recently seen first. status: open (default), acknowledged, resolved, active (open or acknowledged) or all; domain: one domain or null for every one; limit 1-1000 (100). Admin sees every alert, an operator its company''s, staff those of no company (festival, upkeep). Live changes: GET /events.';
GRANT EXECUTE ON FUNCTION api.alerts(text, text, int) TO staff, operator, admin;

CREATE OR REPLACE FUNCTION api.alert_acknowledge(alert_id bigint, request_id text)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE replay jsonb;
BEGIN
  PERFORM core.alert_for_update(alert_id);  -- unknown or another company's: ALERT_NOT_FOUND, nothing kept
  replay := core.idem_begin('alert_acknowledge', request_id, jsonb_build_object('alert_id', alert_id));
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  RETURN core.idem_finish('alert_acknowledge', request_id, core.alert_acknowledge(alert_id));
END $$;
COMMENT ON FUNCTION api.alert_acknowledge(bigint, text) IS
  'Operators (own company) and admin: acknowledge an open alert (someone is on it); it stays active until its condition clears or it is resolved. The token''s sub is recorded as acknowledged_by. An alert already acknowledged or resolved is answered as it is. 404 ALERT_NOT_FOUND (also for another company''s). Idempotent on request_id.';
GRANT EXECUTE ON FUNCTION api.alert_acknowledge(bigint, text) TO operator, admin;

CREATE OR REPLACE FUNCTION api.alert_resolve(alert_id bigint, request_id text, note text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE replay jsonb;
BEGIN
  IF note IS NOT NULL AND (length(btrim(note)) NOT BETWEEN 1 AND 2000) THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'note must be 1-2000 characters or null',
                             jsonb_build_object('argument', 'note'));
  END IF;
  PERFORM core.alert_for_update(alert_id);
  replay := core.idem_begin('alert_resolve', request_id, jsonb_build_object('alert_id', alert_id, 'note', note));
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  RETURN core.idem_finish('alert_resolve', request_id, core.alert_resolve(alert_id, note));
END $$;
COMMENT ON FUNCTION api.alert_resolve(bigint, text, text) IS
  'Operators (own company) and admin: resolve an alert, with an optional note (details.resolve_note). The token''s sub is recorded as resolved_by. If the condition still holds, the next sweep raises a new alert. An alert already resolved is answered as it is. 404 ALERT_NOT_FOUND (also for another company''s). Idempotent on request_id.';
GRANT EXECUTE ON FUNCTION api.alert_resolve(bigint, text, text) TO operator, admin;

CREATE OR REPLACE FUNCTION api.alert_events(after bigint DEFAULT NULL, "limit" int DEFAULT 100)
RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF after IS NOT NULL AND after < 0 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'after must be an event id (>= 0) or null',
                             jsonb_build_object('argument', 'after'));
  END IF;
  IF "limit" IS NULL OR "limit" NOT BETWEEN 1 AND 1000 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'limit must be 1-1000', jsonb_build_object('argument', 'limit'));
  END IF;
  RETURN core.alert_events_after(after, "limit");
END $$;
COMMENT ON FUNCTION api.alert_events(bigint, int) IS
  'Staff, operators, admin: the alert changes after event id `after` that the caller may see (as api.alerts scopes them), oldest first: {events: [{id, change, alert}], last_event_id}; ask again from last_event_id. Without `after`: no events and the current last_event_id. GET /events streams the same as server-sent events.';
GRANT EXECUTE ON FUNCTION api.alert_events(bigint, int) TO staff, operator, admin;
