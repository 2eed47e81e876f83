-- alerts: who reads which. The reads (api.alerts, api.alert_events, GET /events) run as
-- fleet_service, which is neither superuser nor table owner, so these policies filter
-- every row they see: admin every alert, an operator its company's, staff those of no
-- company (core.alert_visible). The writers (the sweep, upkeep, acknowledge/resolve) run
-- as the owner; acknowledge and resolve check core.alert_visible themselves.
DROP POLICY IF EXISTS company_rows ON core.alerts;
CREATE POLICY company_rows ON core.alerts USING (core.alert_visible(company_id));
DROP POLICY IF EXISTS company_rows ON core.alert_events;
CREATE POLICY company_rows ON core.alert_events USING (core.alert_visible(company_id));

CREATE OR REPLACE FUNCTION core.alerts_list(status text, domain text, max_alerts int) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT jsonb_build_object('alerts', coalesce((
    SELECT jsonb_agg(core.alert_json(a) ORDER BY a.last_seen_at DESC, a.id DESC)
      FROM (SELECT x.* FROM core.alerts x
             WHERE (alerts_list.status = 'all' OR x.status = alerts_list.status
                    OR (alerts_list.status = 'active' AND x.status <> 'resolved'))
               AND (alerts_list.domain IS NULL OR x.domain = alerts_list.domain)
             ORDER BY x.last_seen_at DESC, x.id DESC
             LIMIT alerts_list.max_alerts) a), '[]'::jsonb))
$$;

GRANT SELECT ON core.alerts, core.alert_events TO fleet_service;
GRANT EXECUTE ON FUNCTION core.alert_visible(text), core.alert_json(core.alerts) TO fleet_service;
ALTER FUNCTION core.alerts_list(text, text, int) OWNER TO fleet_service;
ALTER FUNCTION core.alert_events_after(bigint, int) OWNER TO fleet_service;
ALTER FUNCTION core.alert_events_after(bigint, int) SECURITY DEFINER;
ALTER FUNCTION core.alert_events_after(bigint, int) SET search_path = pg_catalog, pg_temp;
