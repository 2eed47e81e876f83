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

-- Freeze the card and book its balance minus the fee as payable to the holder, in one
-- transaction: from this moment the card cannot spend (an active card could spend the
-- balance being refunded).
CREATE OR REPLACE FUNCTION cards.refund_request(card_id text, name text, email text, iban text, transfer_key text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  card     cards.cards;
  clean    text := cards.iban_normalize(iban);
  fee      bigint := (core.setting('cards.refund_fee'))::bigint;
  bal      bigint;
  currency text;
  posted   record;
  rid      bigint;
BEGIN
  IF name IS NULL OR length(btrim(name)) NOT BETWEEN 1 AND 70 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'name must be 1-70 characters (SEPA)', jsonb_build_object('argument', 'name'));
  ELSIF email IS NULL OR length(email) > 254 OR email !~ '^[^@\s]+@[^@\s]+\.[^@\s]+$' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'email is not a valid address', jsonb_build_object('argument', 'email'));
  ELSIF clean IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'iban is not a valid IBAN (format or checksum)',
                             jsonb_build_object('argument', 'iban'));
  END IF;
  card := cards.lock_card(card_id);
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
  INSERT INTO cards.refund_requests (card_id, name, email, iban, amount, fee, currency, transfer_id)
  VALUES (card.card_id, btrim(name), lower(email), clean, bal - fee, fee, currency, posted.transfer_id)
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
CREATE OR REPLACE FUNCTION cards.refund_export(message_id text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  debtor_name text := core.setting('cards.refund_debtor_name') #>> '{}';
  debtor_iban text := cards.iban_normalize(core.setting('cards.refund_debtor_iban') #>> '{}');
  debtor_bic  text := core.setting('cards.refund_debtor_bic') #>> '{}';
  n           bigint;
  total       bigint;
  doc         xml;
  eid         bigint;
BEGIN
  IF debtor_name IS NULL OR debtor_iban IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'the refund debtor account is not configured',
      hint => 'UPDATE core.settings SET value = to_jsonb(''...''::text) WHERE key IN (''cards.refund_debtor_name'', ''cards.refund_debtor_iban'')');
  END IF;
  PERFORM 1 FROM cards.refund_requests r WHERE r.status = 'pending' AND r.currency = 'EUR' FOR UPDATE;
  SELECT count(*), coalesce(sum(r.amount), 0)::bigint INTO n, total
    FROM cards.refund_requests r WHERE r.status = 'pending' AND r.currency = 'EUR';
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
                  FROM cards.refund_requests r WHERE r.status = 'pending' AND r.currency = 'EUR')))),
         version '1.0', standalone yes)
    INTO doc;

  INSERT INTO cards.refund_exports (message_id, count, total, xml)
  VALUES (message_id, n, total, doc::text) RETURNING export_id INTO eid;
  UPDATE cards.refund_requests r SET status = 'exported', export_id = eid
   WHERE r.status = 'pending' AND r.currency = 'EUR';
  RETURN jsonb_build_object('export_id', eid, 'count', n, 'total', total, 'currency', 'EUR', 'xml', doc::text);
END $$;
