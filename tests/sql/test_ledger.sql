-- ledger: accounts, the one posting function, hot-account deltas, invariant views.
BEGIN;
SELECT plan(45);

SELECT has_table('ledger', 'accounts', 'accounts table');
SELECT has_table('ledger', 'postings', 'postings table');
SELECT col_type_is('ledger', 'accounts', 'balance', 'bigint', 'balances are bigint minor units');
SELECT col_type_is('ledger', 'postings', 'amount', 'bigint', 'posting amounts are bigint minor units');

-- Fixtures: two bounded cards (>= 0), one unbounded house account, one USD account.
CREATE TEMP TABLE acct AS
SELECT (ledger.open_account('card', 't-card-a', 'EUR', 0)).id AS card_a,
       (ledger.open_account('card', 't-card-b', 'EUR', 0)).id AS card_b,
       (ledger.open_account('revenue', 't-house', 'EUR', NULL)).id AS house,
       (ledger.open_account('card', 't-card-usd', 'USD', 0)).id AS usd;

SELECT throws_ok($$ SELECT ledger.open_account('card', 't-card-a', 'EUR', 0) $$, 'KL000',
  'CONFLICT: an account card/t-card-a/EUR already exists', 'same kind/owner/currency twice is a conflict');
SELECT throws_ok($$ SELECT ledger.open_account('card', 'x', 'eur', 0) $$, 'KL000',
  'INVALID_REQUEST: currency must be an ISO-4217 code such as EUR', 'lower-case currency refused');
SELECT throws_ok($$ SELECT ledger.open_account('Card!', 'x', 'EUR', 0) $$, 'KL000',
  'INVALID_REQUEST: kind must be lower_snake_case (1-63 chars)', 'bad kind refused');
SELECT throws_ok($$ SELECT ledger.open_account('card', 'x', 'EUR', 5) $$, 'KL000',
  'INVALID_REQUEST: lower_bound must be <= 0 (a new account starts at 0)', 'positive lower bound refused');

-- Fund card A from the house account (house may go negative: it is unbounded).
SELECT isnt((ledger.post_transfer('topup', ARRAY[house, card_a], ARRAY[-1000, 1000]::bigint[])).transfer_id, NULL,
            'a balanced transfer posts') FROM acct;
SELECT is(ledger.balance_of(card_a), 1000::bigint, 'card A credited') FROM acct;
SELECT is(ledger.balance_of(house), -1000::bigint, 'house debited through a pending delta') FROM acct;
SELECT is((SELECT balance FROM ledger.accounts WHERE id = house), 0::bigint,
          'the hot house row itself was not updated') FROM acct;
SELECT is((SELECT count(*) FROM ledger.balance_deltas WHERE account_id = house), 1::bigint,
          'one delta appended for the house account') FROM acct;

-- Refusals: nothing written.
SELECT throws_ok(format($$ SELECT ledger.post_transfer('x', ARRAY[%s]::bigint[], ARRAY[5]::bigint[]) $$, card_a),
  'KL000', 'INVALID_REQUEST: a transfer needs at least two postings', 'one leg refused') FROM acct;
SELECT throws_ok(format($$ SELECT ledger.post_transfer('x', ARRAY[%s, %s]::bigint[], ARRAY[0, 0]::bigint[]) $$, card_a, card_b),
  'KL000', 'INVALID_REQUEST: posting amounts must be non-zero', 'zero amounts refused') FROM acct;
SELECT throws_ok(format($$ SELECT ledger.post_transfer('x', ARRAY[%s, %s]::bigint[], ARRAY[-5, 6]::bigint[]) $$, card_a, card_b),
  'KL000', 'INVALID_REQUEST: postings must sum to zero', 'unbalanced refused') FROM acct;
SELECT throws_ok(format($$ SELECT ledger.post_transfer('x', ARRAY[%s, %s]::bigint[], ARRAY[-5, 5]::bigint[]) $$, card_a, card_a),
  'KL000', 'INVALID_REQUEST: each account may appear once per transfer', 'same account twice refused') FROM acct;
SELECT throws_ok(format($$ SELECT ledger.post_transfer('x', ARRAY[%s, 999999999]::bigint[], ARRAY[-5, 5]::bigint[]) $$, card_a),
  'KL000', 'ACCOUNT_NOT_FOUND: unknown account ids {999999999}', 'unknown account refused') FROM acct;
SELECT throws_ok(format($$ SELECT ledger.post_transfer('x', ARRAY[%s, %s]::bigint[], ARRAY[-5, 5]::bigint[]) $$, card_a, usd),
  'KL000', 'INVALID_REQUEST: a transfer may not mix currencies', 'currency mix refused') FROM acct;

-- A bounded account that would go below its bound declines; nothing is written.
SELECT is(row(t.transfer_id, t.short_account_id, t.short_balance),
          row(NULL::bigint, a.card_a, 1000::bigint), 'overdraft declined with the account and its balance')
  FROM acct a, ledger.post_transfer('spend', ARRAY[a.card_a, a.house], ARRAY[-1001, 1001]::bigint[]) t;
SELECT is(ledger.balance_of(card_a), 1000::bigint, 'declined transfer left the balance alone') FROM acct;
SELECT is((SELECT count(*) FROM ledger.transfers WHERE kind = 'spend'), 0::bigint, 'declined transfer wrote no row');
SELECT throws_ok(format($$ UPDATE ledger.accounts SET balance = -1 WHERE id = %s $$, card_a),
  '23514', NULL, 'the lower bound is a CHECK constraint, not only an if') FROM acct;

-- Exactly to the bound is allowed.
SELECT isnt((ledger.post_transfer('spend', ARRAY[card_a, house], ARRAY[-1000, 1000]::bigint[])).transfer_id, NULL,
            'spending the whole balance posts') FROM acct;
SELECT is(ledger.balance_of(card_a), 0::bigint, 'card A at zero') FROM acct;

-- Rollup folds deltas into the row without changing the derived balance.
SELECT cmp_ok(ledger.rollup_balances(), '>=', 2::bigint, 'rollup folded the pending deltas');
SELECT is((SELECT balance FROM ledger.accounts WHERE id = house), 0::bigint, 'house row now holds the net') FROM acct;
SELECT is((SELECT count(*) FROM ledger.balance_deltas WHERE account_id = house), 0::bigint, 'no deltas left') FROM acct;

SELECT is_empty('SELECT * FROM ledger.imbalances', 'every transfer sums to zero');
SELECT is_empty('SELECT * FROM ledger.balance_drift', 'every balance equals the sum of its postings');
SELECT is_empty('SELECT * FROM ledger.dangling_postings', 'every posting has its transfer and account');

-- A posting to an unknown account or in another currency is refused, and leaves nothing.
SELECT throws_ok($$ SELECT ledger.post_transfer('bad', ARRAY[house, -7], ARRAY[-5, 5]::bigint[]) FROM acct $$, 'KL000',
  'ACCOUNT_NOT_FOUND: unknown account ids {-7}', 'unknown account');
SELECT throws_ok($$ SELECT ledger.post_transfer('bad', ARRAY[house, usd], ARRAY[-5, 5]::bigint[]) FROM acct $$, 'KL000',
  'INVALID_REQUEST: a transfer may not mix currencies', 'mixed currencies');
SELECT is((SELECT count(*) FROM ledger.transfers WHERE kind = 'bad'), 0::bigint, 'refused transfers left no row');

-- A keyed transfer is booked once: the same key again names the transfer it booked, on
-- the posting path (found by the insert) and on the decline path (found before declining).
SELECT isnt((ledger.post_transfer('keyed', ARRAY[house, card_b], ARRAY[-10, 10]::bigint[], 't-key-1')).transfer_id, NULL,
            'a keyed transfer posts') FROM acct;
SELECT throws_like($$ SELECT ledger.post_transfer('keyed', ARRAY[house, card_b], ARRAY[-10, 10]::bigint[], 't-key-1') FROM acct $$,
  'REQUEST_ID_EXPIRED: this request was already booked as transfer %', 'a booked key is refused when it would post');
SELECT throws_like($$ SELECT ledger.post_transfer('keyed', ARRAY[card_b, house], ARRAY[-999999, 999999]::bigint[], 't-key-1') FROM acct $$,
  'REQUEST_ID_EXPIRED: this request was already booked as transfer %', 'a booked key is refused when it would decline');
SELECT is((SELECT count(*) FROM ledger.transfers WHERE kind = 'keyed'), 1::bigint, 'the key booked one transfer');
-- A bounded account's balance is its row; pending deltas only ever belong to unbounded ones.
SELECT is((SELECT balance FROM ledger.account_balances WHERE id = card_b),
          (SELECT balance FROM ledger.accounts WHERE id = card_b), 'a bounded balance is the row') FROM acct;

-- History is append-only; accounts are never removed (postings refer to them without FKs).
SELECT throws_ok($$ UPDATE ledger.postings SET amount = amount WHERE false $$, 'KL000', NULL, 'postings cannot be updated');
SELECT throws_ok($$ DELETE FROM ledger.transfers WHERE false $$, 'KL000', NULL, 'transfers cannot be deleted');
SELECT throws_ok($$ TRUNCATE ledger.postings $$, 'KL000', NULL, 'postings cannot be truncated');
SELECT throws_ok($$ DELETE FROM ledger.accounts WHERE false $$, 'KL000', NULL, 'accounts cannot be deleted');
SELECT lives_ok($$ UPDATE ledger.accounts SET balance = balance WHERE false $$, 'balances still change');

-- The ledger.kind domain states lower_snake_case without a regular expression (cheaper on
-- every transfer); it must accept exactly what the expression does.
CREATE FUNCTION pg_temp.is_kind(s text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  PERFORM s::ledger.kind;
  RETURN true;
EXCEPTION WHEN check_violation THEN
  RETURN false;
END $$;
SELECT is_empty($$
  SELECT s FROM unnest(ARRAY['a', 'bar_order', 'zz9_', repeat('a', 63), repeat('a', 64), 'A', 'aB', '1a', '_a',
                             'a-b', 'a b', 'aé', 'é', '', E'a\n', E'\na', 'a.b', 'a%', 'ab\\']) s
   WHERE (s ~ '^[a-z][a-z0-9_]{0,62}$') IS DISTINCT FROM pg_temp.is_kind(s) $$,
  'ledger.kind accepts exactly lower_snake_case of 1-63 characters');

SELECT * FROM finish();
ROLLBACK;
