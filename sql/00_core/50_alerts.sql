-- core: alerts across domains. A problem is (domain, kind, subject): at most one active
-- (open or acknowledged) alert each. core.alert_raise raises or refreshes it, core.alert_clear
-- resolves it when its condition is gone; people acknowledge and resolve through the api.
-- Every change a person would see is logged in core.alert_events and NOTIFYed on
-- kioskledger_alerts, which the RPC server turns into server-sent events (GET /events).

-- An alert as the api shows it (api.alerts, api.alert_events, GET /events).
CREATE OR REPLACE FUNCTION core.alert_json(a core.alerts) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'id', a.id, 'domain', a.domain, 'kind', a.kind, 'severity', a.severity, 'subject', a.subject,
    'company_id', a.company_id, 'status', a.status, 'message', a.message,
    'details', a.details || jsonb_build_object('occurrences', a.occurrences)
               || CASE WHEN a.resolve_note IS NULL THEN '{}'::jsonb
                       ELSE jsonb_build_object('resolve_note', a.resolve_note) END,
    'raised_at', a.raised_at, 'last_seen_at', a.last_seen_at,
    'acknowledged_at', a.acknowledged_at, 'acknowledged_by', a.acknowledged_by,
    'resolved_at', a.resolved_at, 'resolved_by', a.resolved_by)
$$;

-- Who may see an alert about `company_id`: admin every alert; an operator its company's;
-- staff (festival crews, no company) the alerts that belong to no company.
CREATE OR REPLACE FUNCTION core.alert_visible(company_id text) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF core.sees_all_companies() THEN
    RETURN true;
  END IF;
  IF company_id IS NULL THEN
    RETURN core.request_role() = 'staff';
  END IF;
  RETURN company_id = core.request_company();
END $$;

-- Every writer of alerts takes this lock before it touches a row, and the trigger below
-- takes it before each event id: one order for everyone (lock, then rows), so a sweep and
-- a person's acknowledge queue instead of deadlocking, and event ids follow commit order.
CREATE OR REPLACE FUNCTION core.alert_lock() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('kioskledger.alert_events'));
END $$;

-- Raise a problem, or refresh it while it lasts: the active alert's last_seen_at and
-- occurrences go up, and its severity, message and details become these. Returns its id.
CREATE OR REPLACE FUNCTION core.alert_raise(domain text, kind text, subject text, company_id text, severity text,
                                            message text, details jsonb DEFAULT '{}')
RETURNS bigint LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE alert_id bigint;
BEGIN
  PERFORM core.alert_lock();
  INSERT INTO core.alerts AS a (domain, kind, subject, company_id, severity, message, details)
  VALUES (alert_raise.domain, alert_raise.kind, alert_raise.subject, alert_raise.company_id, alert_raise.severity,
          left(alert_raise.message, 2000), coalesce(alert_raise.details, '{}'))
  ON CONFLICT (domain, kind, subject) WHERE status <> 'resolved' DO UPDATE
     SET last_seen_at = now(), occurrences = a.occurrences + 1, company_id = excluded.company_id,
         severity = excluded.severity, message = excluded.message, details = excluded.details
  RETURNING a.id INTO alert_id;
  RETURN alert_id;
END $$;

-- The condition is gone: resolve the active alert (if any) as `by`. Returns its id or NULL.
CREATE OR REPLACE FUNCTION core.alert_clear(domain text, kind text, subject text, by text DEFAULT 'system')
RETURNS bigint LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE alert_id bigint;
BEGIN
  PERFORM core.alert_lock();
  UPDATE core.alerts a SET status = 'resolved', resolved_at = now(), resolved_by = alert_clear.by
   WHERE a.domain = alert_clear.domain AND a.kind = alert_clear.kind AND a.subject = alert_clear.subject
     AND a.status <> 'resolved'
  RETURNING a.id INTO alert_id;
  RETURN alert_id;
END $$;

-- The log and the push. Event ids must follow commit order, or a reader that has seen
-- event 7 would never ask for a 6 that committed after it: each writer holds the alert
-- lock from before its id to commit. Alert changes are few (a sweep a minute, a person's
-- click), so writers queueing there costs nothing that matters.
CREATE OR REPLACE FUNCTION core.alert_log_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  change text;
  event_id bigint;
BEGIN
  IF TG_OP = 'INSERT' THEN
    change := 'raised';
  ELSIF NEW.status IS DISTINCT FROM OLD.status THEN
    change := NEW.status;
  ELSE
    change := 'updated';
  END IF;
  PERFORM core.alert_lock();  -- a writer outside the functions here (a DBA's UPDATE) too
  INSERT INTO core.alert_events (alert_id, company_id, change, alert)
  VALUES (NEW.id, NEW.company_id, change, core.alert_json(NEW))
  RETURNING id INTO event_id;
  PERFORM pg_notify('kioskledger_alerts', event_id::text);
  RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS alerts_log_insert ON core.alerts;
CREATE TRIGGER alerts_log_insert AFTER INSERT ON core.alerts
  FOR EACH ROW EXECUTE FUNCTION core.alert_log_change();
-- A refresh that only moves last_seen_at/occurrences is no news.
DROP TRIGGER IF EXISTS alerts_log_update ON core.alerts;
CREATE TRIGGER alerts_log_update AFTER UPDATE ON core.alerts
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.severity IS DISTINCT FROM NEW.severity
                     OR OLD.message IS DISTINCT FROM NEW.message OR OLD.details IS DISTINCT FROM NEW.details
                     OR OLD.company_id IS DISTINCT FROM NEW.company_id)
  EXECUTE FUNCTION core.alert_log_change();

-- A person's acknowledge / resolve: the caller's visible alert, locked. Another company's
-- alert is as unknown as a missing one.
CREATE OR REPLACE FUNCTION core.alert_for_update(alert_id bigint) RETURNS core.alerts
LANGUAGE plpgsql AS $$
DECLARE a core.alerts;
BEGIN
  IF alert_id IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'alert_id is required', jsonb_build_object('argument', 'alert_id'));
  END IF;
  PERFORM core.alert_lock();
  SELECT * INTO a FROM core.alerts x WHERE x.id = alert_for_update.alert_id FOR UPDATE;
  IF NOT FOUND OR NOT core.alert_visible(a.company_id) THEN
    PERFORM core.raise_error('ALERT_NOT_FOUND', format('no alert %s', alert_id),
                             jsonb_build_object('argument', 'alert_id'));
  END IF;
  RETURN a;
END $$;

CREATE OR REPLACE FUNCTION core.alert_acknowledge(alert_id bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE a core.alerts := core.alert_for_update(alert_id);
BEGIN
  -- Acknowledging an acknowledged or resolved alert changes nothing: the answer is the alert.
  IF a.status = 'open' THEN
    UPDATE core.alerts x SET status = 'acknowledged', acknowledged_at = now(), acknowledged_by = core.actor()
     WHERE x.id = a.id RETURNING * INTO a;
  END IF;
  RETURN core.alert_json(a);
END $$;

CREATE OR REPLACE FUNCTION core.alert_resolve(alert_id bigint, note text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE a core.alerts := core.alert_for_update(alert_id);
BEGIN
  IF a.status <> 'resolved' THEN
    UPDATE core.alerts x SET status = 'resolved', resolved_at = now(), resolved_by = core.actor(), resolve_note = note
     WHERE x.id = a.id RETURNING * INTO a;
  END IF;
  RETURN core.alert_json(a);
END $$;

-- The events after `after` that the caller may see (it runs as fleet_service, under the
-- company policies of sql/80_alerts/20_company_rows.sql), oldest first, and the cursor to
-- ask from next. Without `after`: no events, and the cursor of "now".
CREATE OR REPLACE FUNCTION core.alert_events_after(after bigint, max_events int) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
  events jsonb;
  n bigint;
  last_id bigint;
  head bigint := coalesce((SELECT max(e.id) FROM core.alert_events e), 0);
BEGIN
  IF after IS NULL THEN
    RETURN jsonb_build_object('events', '[]'::jsonb, 'last_event_id', head);
  END IF;
  SELECT coalesce(jsonb_agg(jsonb_build_object('id', e.id, 'change', e.change, 'alert', e.alert) ORDER BY e.id), '[]'),
         count(*), max(e.id)
    INTO events, n, last_id
    FROM (SELECT x.* FROM core.alert_events x
           WHERE x.id > after AND x.id <= head
           ORDER BY x.id LIMIT max_events) e;
  -- A full page: go on from its last event. Otherwise everything up to head was seen
  -- (events the caller may not see included), so the cursor moves there.
  RETURN jsonb_build_object('events', events,
                            'last_event_id', CASE WHEN n >= max_events THEN last_id ELSE greatest(after, head) END);
END $$;

-- The open-alert gauge of /metrics, by severity.
CREATE OR REPLACE FUNCTION core.open_alert_counts() RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'critical', count(*) FILTER (WHERE a.severity = 'critical'),
    'warning', count(*) FILTER (WHERE a.severity = 'warning'),
    'info', count(*) FILTER (WHERE a.severity = 'info'))
    FROM core.alerts a WHERE a.status <> 'resolved'
$$;
