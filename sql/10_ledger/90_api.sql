-- api: the ledger primitive (admin only) that the domain functions build on.

CREATE OR REPLACE FUNCTION api.ledger_account_open(kind text, owner_ref text, currency text,
                                                   lower_bound bigint, request_id text)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  replay jsonb;
  acct   ledger.accounts;
BEGIN
  replay := core.idem_begin('ledger_account_open', request_id, jsonb_build_object(
    'kind', kind, 'owner_ref', owner_ref, 'currency', currency, 'lower_bound', lower_bound));
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  acct := ledger.open_account(kind, owner_ref, currency, lower_bound);
  RETURN core.idem_finish('ledger_account_open', request_id, jsonb_build_object(
    'id', acct.id, 'kind', acct.kind, 'owner_ref', acct.owner_ref, 'currency', acct.currency,
    'lower_bound', acct.lower_bound, 'balance', acct.balance));
END $$;
COMMENT ON FUNCTION api.ledger_account_open(text, text, text, bigint, text) IS
  'Admin: open a ledger account. kind is lower_snake_case, currency ISO-4217, lower_bound NULL for an unbounded house account or <= 0 (0 = may never go negative). Idempotent on request_id.';
GRANT EXECUTE ON FUNCTION api.ledger_account_open(text, text, text, bigint, text) TO admin;

CREATE OR REPLACE FUNCTION api.ledger_transfer(postings jsonb, kind text, request_id text,
                                               metadata jsonb DEFAULT '{}')
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  replay  jsonb;
  ids     bigint[];
  amounts bigint[];
  leg     jsonb;
  valid   boolean;
  -- A leg's account_id and amount as the JSON numbers sent, before they are checked to be
  -- whole and within bigint; the amounts posted are the bigint minor units in `amounts`.
  id_n       numeric;
  leg_number numeric;
  posted  record;
  answer  jsonb;
  leg_balance bigint;
BEGIN
  IF postings IS NULL OR jsonb_typeof(postings) <> 'array' OR jsonb_array_length(postings) < 2 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'postings must be an array of at least two {account_id, amount}',
                             jsonb_build_object('argument', 'postings'));
  END IF;
  IF jsonb_array_length(postings) > 100 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'at most 100 postings per transfer',
                             jsonb_build_object('argument', 'postings'));
  END IF;
  -- The rule of the ledger.kind domain, without a regular expression (a matcher set up
  -- per call costs more than the rest of the checks).
  IF kind IS NULL OR NOT (length(kind) BETWEEN 1 AND 63 AND ascii(kind) BETWEEN 97 AND 122
                          AND translate(kind, 'abcdefghijklmnopqrstuvwxyz0123456789_', '') = '') THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'kind must be lower_snake_case (1-63 chars)',
                             jsonb_build_object('argument', 'kind'));
  END IF;
  IF metadata IS NOT NULL AND jsonb_typeof(metadata) <> 'object' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'metadata must be an object',
                             jsonb_build_object('argument', 'metadata'));
  END IF;
  -- Each leg read and checked with plain expressions, which PL/pgSQL evaluates without the
  -- executor; only a bad leg calls the helpers that name the bad field. (A statement per
  -- leg plus two helper calls per field measured as much as the transfer itself.)
  FOR i IN 0 .. jsonb_array_length(postings) - 1 LOOP
    leg := postings -> i;
    IF jsonb_typeof(leg) <> 'object' THEN
      valid := false;
    ELSE
      valid := (leg - 'account_id'::text - 'amount'::text) = '{}'::jsonb;
    END IF;
    IF NOT valid THEN
      PERFORM core.raise_error('INVALID_REQUEST', format('postings[%s] must be {account_id, amount}', i),
                               jsonb_build_object('argument', 'postings'));
    END IF;
    IF jsonb_typeof(leg -> 'account_id') = 'number' AND jsonb_typeof(leg -> 'amount') = 'number' THEN
      id_n := (leg ->> 'account_id')::numeric;
      leg_number := (leg ->> 'amount')::numeric;
      -- 2^53 - 1: the largest integer every JSON client reads exactly (as core.json_bigint).
      valid := id_n = trunc(id_n) AND abs(id_n) <= 9007199254740991
               AND leg_number = trunc(leg_number) AND abs(leg_number) <= 9007199254740991;
    ELSE
      valid := false;
    END IF;
    IF NOT valid THEN  -- raises, naming the field
      PERFORM core.json_bigint(leg -> 'account_id', format('postings[%s].account_id', i));
      PERFORM core.json_bigint(leg -> 'amount', format('postings[%s].amount', i));
    END IF;
    ids[i + 1] := id_n::bigint;
    amounts[i + 1] := leg_number::bigint;
  END LOOP;

  replay := core.idem_begin('ledger_transfer', request_id, jsonb_build_object(
    'postings', postings, 'kind', kind, 'metadata', coalesce(metadata, '{}')));
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;

  -- idem_begin noted who is asking: the transfer's key without working it out again.
  posted := ledger.post_transfer(kind, ids, amounts, current_setting('idem.principal') || ':' || request_id,
                                 coalesce(metadata, '{}'));
  IF posted.short_account_id IS NOT NULL THEN
    RETURN core.idem_finish('ledger_transfer', request_id, core.decline('INSUFFICIENT_FUNDS',
      format('account %s has balance %s; the transfer would take it below its lower bound',
             posted.short_account_id, posted.short_balance),
      jsonb_build_object('account_id', posted.short_account_id, 'balance', posted.short_balance)));
  END IF;
  -- The postings as written, each with its account's balance: the bounded legs' balances
  -- come back from the transfer itself; a house leg's is read (it adds pending deltas).
  answer := '[]'::jsonb;
  FOR i IN 1 .. cardinality(ids) LOOP
    leg_balance := posted.balances[i];
    IF leg_balance IS NULL THEN
      SELECT b.balance INTO leg_balance FROM ledger.account_balances b WHERE b.id = ids[i];
    END IF;
    answer := answer || jsonb_build_object('account_id', ids[i], 'amount', amounts[i], 'balance', leg_balance);
  END LOOP;
  RETURN core.idem_finish('ledger_transfer', request_id, jsonb_build_object(
    'transfer_id', posted.transfer_id, 'kind', kind, 'postings', answer));
END $$;
COMMENT ON FUNCTION api.ledger_transfer(jsonb, text, text, jsonb) IS
  'Admin: post one double-entry transfer. postings = [{account_id, amount}] (integer minor units, non-zero, summing to 0, one currency, each account once). Declines with INSUFFICIENT_FUNDS (402, stored under request_id) when a bounded account would go below its lower bound.';
GRANT EXECUTE ON FUNCTION api.ledger_transfer(jsonb, text, text, jsonb) TO admin;

CREATE OR REPLACE FUNCTION api.ledger_account(id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE acct record;
BEGIN
  SELECT * INTO acct FROM ledger.account_balances b WHERE b.id = ledger_account.id;
  IF NOT FOUND THEN
    PERFORM core.raise_error('ACCOUNT_NOT_FOUND', format('account %s does not exist', ledger_account.id),
                             jsonb_build_object('account_id', ledger_account.id));
  END IF;
  RETURN jsonb_build_object(
    'id', acct.id, 'kind', acct.kind, 'owner_ref', acct.owner_ref, 'currency', acct.currency,
    'lower_bound', acct.lower_bound, 'balance', acct.balance,
    'postings', coalesce((
      SELECT jsonb_agg(jsonb_build_object('posting_id', p.id, 'transfer_id', p.transfer_id,
                                          'kind', t.kind, 'amount', p.amount, 'created_at', p.created_at)
                       ORDER BY p.id DESC)
        FROM (SELECT * FROM ledger.postings p WHERE p.account_id = acct.id ORDER BY p.id DESC LIMIT 20) p
        JOIN ledger.transfers t ON t.id = p.transfer_id), '[]'));
END $$;
COMMENT ON FUNCTION api.ledger_account(bigint) IS
  'Admin: an account with its current balance (pending house-account deltas included) and its last 20 postings, newest first.';
GRANT EXECUTE ON FUNCTION api.ledger_account(bigint) TO admin;
