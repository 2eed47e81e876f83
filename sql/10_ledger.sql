-- ledger: the double-entry core. ONE function posts transfers; views state the
-- invariants a DBA (and every concurrency test) checks.

CREATE OR REPLACE FUNCTION ledger.open_account(kind text, owner_ref text, currency text, lower_bound bigint)
RETURNS ledger.accounts LANGUAGE plpgsql AS $$
DECLARE acct ledger.accounts;
BEGIN
  IF kind IS NULL OR kind !~ '^[a-z][a-z0-9_]{0,62}$' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'kind must be lower_snake_case (1-63 chars)',
                             jsonb_build_object('argument', 'kind'));
  END IF;
  IF currency IS NULL OR currency !~ '^[A-Z]{3}$' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'currency must be an ISO-4217 code such as EUR',
                             jsonb_build_object('argument', 'currency'));
  END IF;
  IF lower_bound IS NOT NULL AND lower_bound > 0 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'lower_bound must be <= 0 (a new account starts at 0)',
                             jsonb_build_object('argument', 'lower_bound'));
  END IF;
  INSERT INTO ledger.accounts (kind, owner_ref, currency, lower_bound)
  VALUES (open_account.kind, open_account.owner_ref, open_account.currency, open_account.lower_bound)
  ON CONFLICT DO NOTHING
  RETURNING * INTO acct;
  IF acct.id IS NULL THEN
    PERFORM core.raise_error('CONFLICT', format('an account %s/%s/%s already exists', kind, owner_ref, currency),
                             jsonb_build_object('kind', kind, 'owner_ref', owner_ref, 'currency', currency));
  END IF;
  RETURN acct;
END $$;

-- The unbounded house account for (kind, owner, currency), created on first use.
-- Concurrent first uses meet in the unique index; both get the same account.
CREATE OR REPLACE FUNCTION ledger.house_account(kind text, owner_ref text, currency text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE acct_id bigint;
BEGIN
  SELECT a.id INTO acct_id FROM ledger.accounts a
   WHERE a.kind = house_account.kind AND a.owner_ref = house_account.owner_ref AND a.currency = house_account.currency;
  IF acct_id IS NULL THEN
    INSERT INTO ledger.accounts (kind, owner_ref, currency, lower_bound)
    VALUES (house_account.kind, house_account.owner_ref, house_account.currency, NULL)
    ON CONFLICT DO NOTHING RETURNING id INTO acct_id;
    IF acct_id IS NULL THEN
      SELECT a.id INTO acct_id FROM ledger.accounts a
       WHERE a.kind = house_account.kind AND a.owner_ref = house_account.owner_ref AND a.currency = house_account.currency;
    END IF;
  END IF;
  RETURN acct_id;
END $$;

-- Balance as a DBA should read it: bounded accounts carry it on the row; unbounded
-- (hot) accounts add the deltas not yet rolled up.
CREATE OR REPLACE VIEW ledger.account_balances AS
SELECT a.id, a.kind, a.owner_ref, a.currency, a.lower_bound,
       a.balance + coalesce((SELECT sum(d.amount) FROM ledger.balance_deltas d WHERE d.account_id = a.id), 0)::bigint
         AS balance
  FROM ledger.accounts a;

CREATE OR REPLACE FUNCTION ledger.balance_of(account_id bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
  SELECT balance FROM ledger.account_balances WHERE id = account_id
$$;

-- Post one transfer. Validates shape (>= 2 legs, distinct accounts, non-zero amounts
-- summing to zero, one currency), then locks the BOUNDED accounts in one statement
-- ordered by id - the fixed lock order is what keeps concurrent transfers deadlock-free.
-- Unbounded (house) accounts are not locked: their legs append to balance_deltas.
-- A bounded account that would go below its lower bound declines the whole transfer:
-- nothing is written and short_account_id/short_balance say which and why.
-- This is every money movement's hot path: shape checks are plain PL/pgSQL (no query),
-- and all writes are one statement.
CREATE OR REPLACE FUNCTION ledger.post_transfer(
    kind text, account_ids bigint[], amounts bigint[],
    idempotency_key text DEFAULT NULL, metadata jsonb DEFAULT '{}',
    OUT transfer_id bigint, OUT short_account_id bigint, OUT short_balance bigint)
LANGUAGE plpgsql AS $$
DECLARE
  n        int := coalesce(cardinality(account_ids), 0);
  leg_sum  numeric := 0;  -- numeric: a sum of bigints must not overflow while we check it
  found_n  int;
  n_cur    int;
  bounded  bigint[];
  missing  bigint[];
  acct     record;
BEGIN
  IF n < 2 OR n <> coalesce(cardinality(amounts), -1) THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'a transfer needs at least two postings');
  END IF;
  FOR i IN 1 .. n LOOP
    IF account_ids[i] IS NULL OR amounts[i] IS NULL THEN
      PERFORM core.raise_error('INVALID_REQUEST', 'posting account ids and amounts must not be null');
    ELSIF amounts[i] = 0 THEN
      PERFORM core.raise_error('INVALID_REQUEST', 'posting amounts must be non-zero');
    END IF;
    FOR j IN 1 .. i - 1 LOOP
      IF account_ids[j] = account_ids[i] THEN
        PERFORM core.raise_error('INVALID_REQUEST', 'each account may appear once per transfer');
      END IF;
    END LOOP;
    leg_sum := leg_sum + amounts[i];
  END LOOP;
  IF leg_sum <> 0 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'postings must sum to zero', jsonb_build_object('sum', leg_sum));
  END IF;

  SELECT count(*), count(DISTINCT a.currency), array_agg(a.id ORDER BY a.id) FILTER (WHERE a.lower_bound IS NOT NULL)
    INTO found_n, n_cur, bounded
    FROM ledger.accounts a WHERE a.id = ANY (account_ids);
  IF found_n <> n THEN
    SELECT array_agg(x) INTO missing FROM unnest(account_ids) x
     WHERE NOT EXISTS (SELECT 1 FROM ledger.accounts a WHERE a.id = x);
    PERFORM core.raise_error('ACCOUNT_NOT_FOUND', 'unknown account ids ' || missing::text,
                             jsonb_build_object('account_ids', to_jsonb(missing)));
  ELSIF n_cur <> 1 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'a transfer may not mix currencies');
  END IF;

  IF bounded IS NOT NULL THEN
    FOR acct IN
      SELECT a.id, a.balance, a.lower_bound, p.amount
        FROM ledger.accounts a JOIN unnest(account_ids, amounts) AS p(id, amount) ON p.id = a.id
       WHERE a.id = ANY (bounded)
       ORDER BY a.id
         FOR UPDATE OF a
    LOOP
      IF short_account_id IS NULL AND acct.balance + acct.amount < acct.lower_bound THEN
        short_account_id := acct.id;
        short_balance := acct.balance;
      END IF;
    END LOOP;
    IF short_account_id IS NOT NULL THEN
      RETURN;
    END IF;
  END IF;

  WITH t AS (
    INSERT INTO ledger.transfers (kind, idempotency_key, metadata)
    VALUES (post_transfer.kind, post_transfer.idempotency_key, coalesce(post_transfer.metadata, '{}'))
    RETURNING id
  ), legs AS (
    SELECT p.id AS account_id, p.amount, p.id = ANY (coalesce(bounded, '{}')) AS is_bounded
      FROM unnest(account_ids, amounts) AS p(id, amount)
  ), posted AS (
    INSERT INTO ledger.postings (transfer_id, account_id, amount)
    SELECT t.id, legs.account_id, legs.amount FROM t, legs
  ), balances AS (
    UPDATE ledger.accounts a SET balance = a.balance + legs.amount
      FROM legs WHERE legs.is_bounded AND a.id = legs.account_id
  ), deltas AS (
    INSERT INTO ledger.balance_deltas (account_id, amount)
    SELECT legs.account_id, legs.amount FROM legs WHERE NOT legs.is_bounded
  )
  SELECT t.id INTO transfer_id FROM t;
END $$;

-- Fold pending deltas into the unbounded accounts' balance column. Safe to run at any
-- time, concurrently with transfers and with itself: DELETE ... RETURNING only takes
-- committed deltas, each exactly once. Returns the number of deltas folded.
CREATE OR REPLACE FUNCTION ledger.rollup_balances() RETURNS bigint
LANGUAGE sql AS $$
  WITH taken AS (
    DELETE FROM ledger.balance_deltas RETURNING account_id, amount
  ), per_account AS (
    SELECT account_id, sum(amount)::bigint AS total, count(*) AS n FROM taken GROUP BY account_id
  ), applied AS (
    UPDATE ledger.accounts a SET balance = a.balance + p.total
      FROM per_account p WHERE a.id = p.account_id
    RETURNING p.n
  )
  SELECT coalesce(sum(n), 0)::bigint FROM applied
$$;

-- Invariant: every transfer's postings sum to zero (and it has postings at all).
CREATE OR REPLACE VIEW ledger.imbalances AS
SELECT t.id AS transfer_id, t.kind, coalesce(sum(p.amount), 0) AS total, count(p.id) AS postings
  FROM ledger.transfers t LEFT JOIN ledger.postings p ON p.transfer_id = t.id
 GROUP BY t.id, t.kind
HAVING coalesce(sum(p.amount), 0) <> 0 OR count(p.id) < 2;

-- Invariant: every account's balance (row + pending deltas) equals the sum of its postings.
CREATE OR REPLACE VIEW ledger.balance_drift AS
SELECT b.id AS account_id, b.kind, b.balance, coalesce(p.total, 0) AS postings_total
  FROM ledger.account_balances b
  LEFT JOIN (SELECT account_id, sum(amount) AS total FROM ledger.postings GROUP BY account_id) p
         ON p.account_id = b.id
 WHERE b.balance <> coalesce(p.total, 0);
