-- cards: refunds of the remaining balance by SEPA credit transfer.

-- ISO 13616: two letters, two check digits, up to 30 alphanumerics; mod 97 = 1 after
-- moving the first four characters to the end and replacing letters by 10..35.
CREATE OR REPLACE FUNCTION cards.iban_normalize(iban text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  v      text := upper(regexp_replace(coalesce(iban, ''), '\s', '', 'g'));
  digits text := '';
  ch     text;
BEGIN
  IF v !~ '^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$' THEN
    RETURN NULL;
  END IF;
  FOREACH ch IN ARRAY regexp_split_to_array(substr(v, 5) || substr(v, 1, 4), '') LOOP
    digits := digits || CASE WHEN ch ~ '[A-Z]' THEN (ascii(ch) - 55)::text ELSE ch END;
  END LOOP;
  RETURN CASE WHEN digits::numeric % 97 = 1 THEN v END;
END $$;

-- The proof that the requester holds the card: its refund code. Called with the card row
-- locked, so attempts on one card serialize. A wrong code is counted and answered with a
-- committed decline (a raise would roll the count back with it); after
-- cards.refund_code_max_attempts wrong codes in a row the card's refund is locked for
-- cards.refund_code_lockout_seconds, during which no code is even compared. NULL when the
-- code is right, else the decline to return.
CREATE OR REPLACE FUNCTION cards.refund_code_check(card_id text, refund_code text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  rc        cards.refund_codes;
  max_tries int := (core.setting('cards.refund_code_max_attempts'))::int;
  lockout   interval := make_interval(secs => (core.setting('cards.refund_code_lockout_seconds'))::int);
  failed    int;
  lock_end  timestamptz;
BEGIN
  SELECT * INTO rc FROM cards.refund_codes c WHERE c.card_id = refund_code_check.card_id FOR UPDATE;
  IF NOT FOUND THEN
    RETURN core.decline('REFUND_CODE_NOT_SET',
      format('card %s has no refund code: its refund is filed at a refund desk', card_id),
      jsonb_build_object('card_id', card_id));
  END IF;
  IF rc.locked_until > now() THEN
    RETURN core.decline('REFUND_CODE_LOCKED',
      format('too many wrong refund codes for card %s: try again after %s, or go to a refund desk',
             card_id, rc.locked_until),
      jsonb_build_object('card_id', card_id, 'locked_until', rc.locked_until));
  END IF;
  IF cards.refund_code_matches(refund_code, rc.code_hash) IS NOT TRUE THEN
    failed := rc.failed_attempts + 1;
    IF failed >= max_tries THEN
      lock_end := now() + lockout;
      failed := 0;
    END IF;
    UPDATE cards.refund_codes c SET failed_attempts = failed, locked_until = lock_end
     WHERE c.card_id = rc.card_id;
    RETURN core.decline('REFUND_CODE_INVALID', format('wrong refund code for card %s', card_id),
      jsonb_build_object('card_id', card_id, 'attempts_left', CASE WHEN lock_end IS NULL THEN max_tries - failed ELSE 0 END,
                         'locked_until', lock_end));
  END IF;
  IF rc.failed_attempts > 0 OR rc.locked_until IS NOT NULL THEN
    UPDATE cards.refund_codes c SET failed_attempts = 0, locked_until = NULL WHERE c.card_id = rc.card_id;
  END IF;
  RETURN NULL;
END $$;

-- Freeze the card and book its balance minus the fee as payable to the holder, in one
-- transaction: from this moment the card cannot spend (an active card could spend the
-- balance being refunded). The requester proves possession with the card's refund code;
-- staff and admins (the refund desk, where the holder shows the card) may file without
-- it, and the refund row records who filed it and how.
CREATE OR REPLACE FUNCTION cards.refund_request(card_id text, name text, email text, iban text,
                                                refund_code text, transfer_key text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  card     cards.cards;
  clean    text := cards.iban_normalize(iban);
  fee      bigint := (core.setting('cards.refund_fee'))::bigint;
  req_role text := core.request_role();
  how      text := CASE WHEN refund_code IS NOT NULL THEN 'refund_code' ELSE 'desk' END;
  declined jsonb;
  bal      bigint;
  currency text;
  posted   record;
  rid      bigint;
BEGIN
  IF refund_code IS NULL AND req_role NOT IN ('staff', 'admin') THEN
    PERFORM core.raise_error('INVALID_REQUEST',
      'refund_code is required: the code given with the card (without it, a refund desk can file the refund)',
      jsonb_build_object('argument', 'refund_code'));
  ELSIF refund_code IS NOT NULL AND cards.refund_code_normalize(refund_code) IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'refund_code must be 8-64 letters or digits (spaces and dashes ignored)',
                             jsonb_build_object('argument', 'refund_code'));
  ELSIF name IS NULL OR length(btrim(name)) NOT BETWEEN 1 AND 70 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'name must be 1-70 characters (SEPA)', jsonb_build_object('argument', 'name'));
  ELSIF email IS NULL OR length(email) > 254 OR email !~ '^[^@\s]+@[^@\s]+\.[^@\s]+$' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'email is not a valid address', jsonb_build_object('argument', 'email'));
  ELSIF clean IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'iban is not a valid IBAN (format or checksum)',
                             jsonb_build_object('argument', 'iban'));
  END IF;
  card := cards.lock_card(card_id);
  IF how = 'refund_code' THEN
    declined := cards.refund_code_check(card.card_id, refund_code);
    IF declined IS NOT NULL THEN
      RETURN declined;
    END IF;
  END IF;
  IF EXISTS (SELECT 1 FROM cards.refund_requests r WHERE r.card_id = card.card_id) THEN
    RETURN core.decline('REFUND_ALREADY_REQUESTED', format('card %s already has a refund', card.card_id),
                        jsonb_build_object('card_id', card.card_id));
  END IF;
  IF card.status <> 'active' THEN
    RETURN cards.not_active(card);
  END IF;
  SELECT a.balance, a.currency::text INTO bal, currency FROM ledger.accounts a WHERE a.id = card.account_id;
  IF bal - fee <= 0 THEN
    RETURN core.decline('NOTHING_TO_REFUND',
      format('card %s has %s; after the %s fee nothing is left to refund', card.card_id, bal, fee),
      jsonb_build_object('card_id', card.card_id, 'balance', bal, 'fee', fee));
  END IF;
  PERFORM cards.set_status(card.card_id, 'frozen', 'refund requested');
  IF fee > 0 THEN
    posted := ledger.post_transfer('card_refund',
      ARRAY[card.account_id, ledger.house_account('refunds_payable', 'cards', currency),
            ledger.house_account('fees', 'refund_fee', currency)],
      ARRAY[-bal, bal - fee, fee], transfer_key, jsonb_build_object('fee', fee));
  ELSE
    posted := ledger.post_transfer('card_refund',
      ARRAY[card.account_id, ledger.house_account('refunds_payable', 'cards', currency)],
      ARRAY[-bal, bal], transfer_key, jsonb_build_object('fee', 0));
  END IF;
  INSERT INTO cards.refund_requests (card_id, name, email, iban, amount, fee, currency, transfer_id,
                                     proof, filed_by_role, filed_by)
  VALUES (card.card_id, btrim(name), lower(email), clean, bal - fee, fee, currency, posted.transfer_id,
          how, req_role, core.actor())
  RETURNING refund_id INTO rid;
  RETURN jsonb_build_object('refund_id', rid, 'card_id', card.card_id, 'amount', bal - fee, 'fee', fee,
                            'currency', currency, 'status', 'pending', 'card_status', 'frozen');
END $$;

CREATE OR REPLACE FUNCTION cards.sepa_amount(amount bigint) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT (amount / 100)::text || '.' || lpad((amount % 100)::text, 2, '0')
$$;

-- A SEPA credit transfer initiation (pain.001.001.03) paying every pending EUR refund,
-- which are marked exported in the same transaction.
--
-- The set of refunds is taken once, locked, by one statement, and everything after works on
-- exactly those ids: the file's transactions, NbOfTxs and CtrlSum, and the rows marked
-- exported. In READ COMMITTED every statement sees the commits made before it started, so
-- re-reading "status = pending" in later statements would take in a refund committed
-- meanwhile: marked exported without being in the file, never paid. An export running at
-- the same time waits on the locked rows, re-reads them once this one commits, and skips
-- those it exported; so no refund is in two files, and none is marked without its line.
CREATE OR REPLACE FUNCTION cards.refund_export(message_id text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  debtor_name text := core.setting('cards.refund_debtor_name') #>> '{}';
  debtor_iban text := cards.iban_normalize(core.setting('cards.refund_debtor_iban') #>> '{}');
  debtor_bic  text := core.setting('cards.refund_debtor_bic') #>> '{}';
  ids         bigint[];
  n           bigint;
  total       bigint;
  marked      bigint;
  doc         xml;
  eid         bigint;
BEGIN
  IF debtor_name IS NULL OR debtor_iban IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'the refund debtor account is not configured',
      hint => 'UPDATE core.settings SET value = to_jsonb(''...''::text) WHERE key IN (''cards.refund_debtor_name'', ''cards.refund_debtor_iban'')');
  END IF;
  SELECT coalesce(array_agg(p.refund_id ORDER BY p.refund_id), '{}'), count(*), coalesce(sum(p.amount), 0)::bigint
    INTO ids, n, total
    FROM (SELECT r.refund_id, r.amount FROM cards.refund_requests r
           WHERE r.status = 'pending' AND r.currency = 'EUR'
           ORDER BY r.refund_id FOR UPDATE) p;
  IF n = 0 THEN
    RETURN jsonb_build_object('export_id', NULL, 'count', 0, 'total', 0, 'xml', NULL);
  END IF;

  SELECT xmlroot(xmlelement(name "Document",
           xmlattributes('urn:iso:std:iso:20022:tech:xsd:pain.001.001.03' AS xmlns),
           xmlelement(name "CstmrCdtTrfInitn",
             xmlelement(name "GrpHdr",
               xmlelement(name "MsgId", message_id),
               xmlelement(name "CreDtTm", to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')),
               xmlelement(name "NbOfTxs", n),
               xmlelement(name "CtrlSum", cards.sepa_amount(total)),
               xmlelement(name "InitgPty", xmlelement(name "Nm", debtor_name))),
             xmlelement(name "PmtInf",
               xmlelement(name "PmtInfId", message_id || '-1'),
               xmlelement(name "PmtMtd", 'TRF'),
               xmlelement(name "NbOfTxs", n),
               xmlelement(name "CtrlSum", cards.sepa_amount(total)),
               xmlelement(name "PmtTpInf", xmlelement(name "SvcLvl", xmlelement(name "Cd", 'SEPA'))),
               xmlelement(name "ReqdExctnDt", to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD')),
               xmlelement(name "Dbtr", xmlelement(name "Nm", debtor_name)),
               xmlelement(name "DbtrAcct", xmlelement(name "Id", xmlelement(name "IBAN", debtor_iban))),
               xmlelement(name "DbtrAgt", xmlelement(name "FinInstnId",
                 CASE WHEN debtor_bic IS NOT NULL THEN xmlelement(name "BIC", debtor_bic)
                      ELSE xmlelement(name "Othr", xmlelement(name "Id", 'NOTPROVIDED')) END)),
               xmlelement(name "ChrgBr", 'SLEV'),
               (SELECT xmlagg(xmlelement(name "CdtTrfTxInf",
                         xmlelement(name "PmtId", xmlelement(name "EndToEndId", 'REFUND-' || r.refund_id)),
                         xmlelement(name "Amt", xmlelement(name "InstdAmt", xmlattributes('EUR' AS "Ccy"),
                                                           cards.sepa_amount(r.amount))),
                         xmlelement(name "Cdtr", xmlelement(name "Nm", r.name)),
                         xmlelement(name "CdtrAcct", xmlelement(name "Id", xmlelement(name "IBAN", r.iban))),
                         xmlelement(name "RmtInf", xmlelement(name "Ustrd", 'Refund of festival card ' || r.card_id)))
                       ORDER BY r.refund_id)
                  FROM cards.refund_requests r WHERE r.refund_id = ANY (ids))))),
         version '1.0', standalone yes)
    INTO doc;

  INSERT INTO cards.refund_exports (message_id, count, total, xml, created_by)
  VALUES (message_id, n, total, doc::text, core.actor()) RETURNING export_id INTO eid;
  UPDATE cards.refund_requests r SET status = 'exported', export_id = eid
   WHERE r.refund_id = ANY (ids) AND r.status = 'pending';
  GET DIAGNOSTICS marked = ROW_COUNT;
  IF marked <> n THEN  -- the rows are locked by this transaction: cannot happen
    PERFORM core.raise_error('SERVER_ERROR', format('refund export marked %s of %s refunds', marked, n));
  END IF;
  RETURN jsonb_build_object('export_id', eid, 'count', n, 'total', total, 'currency', 'EUR', 'xml', doc::text);
END $$;

-- Codes of a pre-printed batch: [{"card_id", "refund_code"}, ...], each card's code kept as
-- a bcrypt hash. Importing the same code again changes nothing; a card that already has
-- another code refuses the whole batch (CONFLICT, nothing imported), so a mistaken file
-- cannot replace codes already printed or handed out. The cards need not be issued yet:
-- issued later, they keep the imported code.
CREATE OR REPLACE FUNCTION cards.refund_codes_import(codes jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  max_batch constant int := 50;  -- bcrypt: ~20 ms a code (200 took 4.4 s here), well within the RPC statement timeout (5 s)
  item      jsonb;
  i         int := 0;
  id        text;
  code      text;
  seen      text[] := '{}'::text[];
  existing  cards.refund_codes;
  conflicts text[] := '{}'::text[];
  fresh     jsonb := '[]'::jsonb;
  unchanged int := 0;
  inserted  bigint;
BEGIN
  IF codes IS NULL OR jsonb_typeof(codes) <> 'array' OR jsonb_array_length(codes) NOT BETWEEN 1 AND max_batch THEN
    PERFORM core.raise_error('INVALID_REQUEST',
      format('codes must be an array of 1..%s objects {"card_id", "refund_code"}', max_batch),
      jsonb_build_object('argument', 'codes'));
  END IF;
  FOR item IN SELECT e FROM jsonb_array_elements(codes) AS e LOOP
    IF jsonb_typeof(item) <> 'object' OR jsonb_typeof(item -> 'card_id') IS DISTINCT FROM 'string'
       OR jsonb_typeof(item -> 'refund_code') IS DISTINCT FROM 'string'
       -- Another key is a mistaken file (a misspelt column): refused, never ignored.
       OR item - 'card_id' - 'refund_code' <> '{}'::jsonb THEN
      PERFORM core.raise_error('INVALID_REQUEST', format('codes[%s] must be {"card_id": text, "refund_code": text}', i),
                               jsonb_build_object('argument', 'codes', 'index', i));
    END IF;
    id := cards.normalize_id(item ->> 'card_id');
    code := cards.refund_code_normalize(item ->> 'refund_code');
    IF code IS NULL THEN
      PERFORM core.raise_error('INVALID_REQUEST',
        format('codes[%s].refund_code must be 8-64 letters or digits (spaces and dashes ignored)', i),
        jsonb_build_object('argument', 'codes', 'index', i, 'card_id', id));
    ELSIF id = ANY (seen) THEN
      PERFORM core.raise_error('INVALID_REQUEST', format('card %s appears twice in codes', id),
                               jsonb_build_object('argument', 'codes', 'index', i, 'card_id', id));
    END IF;
    seen := seen || id;
    SELECT * INTO existing FROM cards.refund_codes c WHERE c.card_id = id FOR UPDATE;
    IF NOT FOUND THEN
      fresh := fresh || jsonb_build_object('card_id', id, 'code', code);
    ELSIF cards.refund_code_matches(code, existing.code_hash) THEN
      unchanged := unchanged + 1;
    ELSE
      conflicts := conflicts || id;
    END IF;
    i := i + 1;
  END LOOP;
  IF cardinality(conflicts) > 0 THEN
    PERFORM core.raise_error('CONFLICT', format('%s card(s) already have another refund code; nothing was imported',
                                                cardinality(conflicts)),
                             jsonb_build_object('card_ids', to_jsonb(conflicts)));
  END IF;
  INSERT INTO cards.refund_codes (card_id, code_hash, source, set_by)
  SELECT f ->> 'card_id', cards.refund_code_hash(f ->> 'code'), 'imported', core.actor()
    FROM jsonb_array_elements(fresh) AS f
  ON CONFLICT (card_id) DO NOTHING;
  GET DIAGNOSTICS inserted = ROW_COUNT;
  IF inserted < jsonb_array_length(fresh) THEN  -- a concurrent import or issue got there first
    PERFORM core.raise_error('CONFLICT', 'some of these cards got a refund code meanwhile; nothing was imported, retry');
  END IF;
  RETURN jsonb_build_object('imported', jsonb_array_length(fresh), 'unchanged', unchanged);
END $$;
