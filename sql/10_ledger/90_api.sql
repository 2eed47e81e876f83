-- api: the ledger primitive (admin only) that the domain functions build on.

CREATE OR REPLACE FUNCTION api.ledger_account_open(kind text, owner_ref text, currency text,
                                                   lower_bound bigint, request_id text)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
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
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
  replay  jsonb;
  ids     bigint[];
  amounts bigint[];
  leg     jsonb;
  i       int := 0;
  posted  record;
BEGIN
  IF postings IS NULL OR jsonb_typeof(postings) <> 'array' OR jsonb_array_length(postings) < 2 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'postings must be an array of at least two {account_id, amount}',
                             jsonb_build_object('argument', 'postings'));
  END IF;
  IF jsonb_array_length(postings) > 100 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'at most 100 postings per transfer',
                             jsonb_build_object('argument', 'postings'));
  END IF;
  IF kind IS NULL OR kind !~ '^[a-z][a-z0-9_]{0,62}$' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'kind must be lower_snake_case (1-63 chars)',
                             jsonb_build_object('argument', 'kind'));
  END IF;
  IF metadata IS NOT NULL AND jsonb_typeof(metadata) <> 'object' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'metadata must be an object',
                             jsonb_build_object('argument', 'metadata'));
  END IF;
  FOR leg IN SELECT value FROM jsonb_array_elements(postings) LOOP
    IF jsonb_typeof(leg) <> 'object' OR (SELECT count(*) FROM jsonb_object_keys(leg) k
                                          WHERE k NOT IN ('account_id', 'amount')) > 0 THEN
      PERFORM core.raise_error('INVALID_REQUEST', format('postings[%s] must be {account_id, amount}', i),
                               jsonb_build_object('argument', 'postings'));
    END IF;
    ids := ids || core.json_bigint(leg -> 'account_id', format('postings[%s].account_id', i));
    amounts := amounts || core.json_bigint(leg -> 'amount', format('postings[%s].amount', i));
    i := i + 1;
  END LOOP;

  replay := core.idem_begin('ledger_transfer', request_id, jsonb_build_object(
    'postings', postings, 'kind', kind, 'metadata', coalesce(metadata, '{}')));
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;

  posted := ledger.post_transfer(kind, ids, amounts, core.principal() || ':' || request_id,
                                 coalesce(metadata, '{}'));
  IF posted.short_account_id IS NOT NULL THEN
    RETURN core.idem_finish('ledger_transfer', request_id, core.decline('INSUFFICIENT_FUNDS',
      format('account %s has balance %s; the transfer would take it below its lower bound',
             posted.short_account_id, posted.short_balance),
      jsonb_build_object('account_id', posted.short_account_id, 'balance', posted.short_balance)));
  END IF;
  RETURN core.idem_finish('ledger_transfer', request_id, jsonb_build_object(
    'transfer_id', posted.transfer_id, 'kind', kind,
    'postings', (SELECT jsonb_agg(jsonb_build_object('account_id', p.account_id, 'amount', p.amount,
                                                     'balance', ledger.balance_of(p.account_id)) ORDER BY p.id)
                   FROM ledger.postings p WHERE p.transfer_id = posted.transfer_id)));
END $$;
COMMENT ON FUNCTION api.ledger_transfer(jsonb, text, text, jsonb) IS
  'Admin: post one double-entry transfer. postings = [{account_id, amount}] (integer minor units, non-zero, summing to 0, one currency, each account once). Declines with INSUFFICIENT_FUNDS (402, stored under request_id) when a bounded account would go below its lower bound.';
GRANT EXECUTE ON FUNCTION api.ledger_transfer(jsonb, text, text, jsonb) TO admin;

CREATE OR REPLACE FUNCTION api.ledger_account(id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
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
