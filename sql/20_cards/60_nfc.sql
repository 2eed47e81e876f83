-- cards: the NFC scan log.

-- Log a scan; an identical scan (same card, device, status) from the same device within
-- 2 s is flagged duplicate (readers re-fire). Scans of one device serialize on an
-- advisory lock so two simultaneous identical scans cannot both look first.
CREATE OR REPLACE FUNCTION cards.nfc_scan(card_id text, device_id text, location text, status text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  dup     boolean;
  scan_id bigint;
BEGIN
  card_id := cards.normalize_id(card_id);
  device_id := core.require_ident(device_id, 'device_id');
  IF status IS NULL OR status !~ '^[a-z_]{1,32}$' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'status must be 1-32 lower-case letters or _ (e.g. ok, read_error)',
                             jsonb_build_object('argument', 'status'));
  END IF;
  IF location IS NOT NULL AND length(location) > 200 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'location must be at most 200 characters',
                             jsonb_build_object('argument', 'location'));
  END IF;
  PERFORM pg_advisory_xact_lock(hashtext('nfc:' || device_id));
  SELECT EXISTS (SELECT 1 FROM cards.nfc_scans s
                  WHERE s.device_id = nfc_scan.device_id AND s.card_id = nfc_scan.card_id
                    AND s.status = nfc_scan.status AND s.created_at > clock_timestamp() - interval '2 seconds')
    INTO dup;
  INSERT INTO cards.nfc_scans (card_id, device_id, location, status, duplicate, staff_id)
  VALUES (card_id, device_id, location, status, dup, core.actor())
  RETURNING id INTO scan_id;
  RETURN jsonb_build_object('scan_id', scan_id, 'card_id', card_id, 'duplicate', dup,
                            'card_known', EXISTS (SELECT 1 FROM cards.cards c WHERE c.card_id = nfc_scan.card_id));
END $$;
