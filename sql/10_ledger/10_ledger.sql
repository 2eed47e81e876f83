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
-- (hot) accounts add the deltas not yet rolled up. Only unbounded accounts ever get deltas
-- (ledger.post_transfer), so a bounded one skips the sum: the deltas all belong to a few
-- house accounts, and a cached generic plan for "account_id = $1" expects every one of
-- them and scans the whole table - measured as most of a transfer's cost.
CREATE OR REPLACE VIEW ledger.account_balances AS
SELECT a.id, a.kind, a.owner_ref, a.currency, a.lower_bound,
       CASE WHEN a.lower_bound IS NULL
            THEN a.balance + coalesce((SELECT sum(d.amount) FROM ledger.balance_deltas d WHERE d.account_id = a.id), 0)::bigint
            ELSE a.balance END
         AS balance
  FROM ledger.accounts a;

CREATE OR REPLACE FUNCTION ledger.balance_of(account_id bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
  SELECT balance FROM ledger.account_balances WHERE id = account_id
$$;

-- A keyed transfer is booked once. The api sees a key again only when its request's
-- idempotency record is gone (removed by a retention cleanup that kept no record of the
-- key), and the caller deserves to be told rather than get a 500 from the unique index.
CREATE OR REPLACE FUNCTION ledger.refuse_booked_key(kind text, idempotency_key text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE prior_id bigint;
BEGIN
  IF idempotency_key IS NULL THEN
    RETURN;
  END IF;
  SELECT t.id INTO prior_id FROM ledger.transfers t
   WHERE t.kind = refuse_booked_key.kind AND t.idempotency_key = refuse_booked_key.idempotency_key;
  IF FOUND THEN
    PERFORM core.raise_error('REQUEST_ID_EXPIRED',
      format('this request was already booked as transfer %s; its idempotency record has expired', prior_id),
      jsonb_build_object('transfer_id', prior_id, 'kind', kind),
      'look up its outcome, and use a new request_id for a new request');
  END IF;
END $$;

-- Post one transfer. Validates shape (>= 2 legs, distinct accounts, non-zero amounts
-- summing to zero) in plain PL/pgSQL, then locks the BOUNDED accounts ordered by id - the
-- fixed lock order is what keeps concurrent transfers deadlock-free. Unbounded (house)
-- accounts are not locked: their legs append to balance_deltas. A bounded account that
-- would go below its lower bound declines the whole transfer: nothing is written and
-- short_account_id/short_balance say which and why. `balances` holds each leg's balance
-- after the transfer for the bounded legs (known from the locked rows) and NULL for house
-- legs, whose balance includes other transfers' pending deltas.
-- Every money movement's hot path, so: one statement locks, then one simple statement
-- per row written. The postings insert reads every leg's account and counts the legs it
-- wrote; an unknown account or mixed currencies raise after it, which rolls the writes
-- back with the transaction (or the caller's subtransaction) - postings have no
-- foreign-key triggers to catch them.
CREATE OR REPLACE FUNCTION ledger.post_transfer(
    kind text, account_ids bigint[], amounts bigint[],
    idempotency_key text DEFAULT NULL, metadata jsonb DEFAULT '{}',
    OUT transfer_id bigint, OUT short_account_id bigint, OUT short_balance bigint, OUT balances bigint[])
LANGUAGE plpgsql AS $$
DECLARE
  n        int := coalesce(cardinality(account_ids), 0);
  leg_sum  numeric := 0::numeric;  -- numeric: a sum of bigints must not overflow while we check it
  found_n  int;
  missing  bigint[];
  acct     record;
  k        int;
BEGIN
  balances := array_fill(NULL::bigint, ARRAY[n]);
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

  -- Lock the bounded legs in id order, in one statement, and check each one's bound.
  -- lower_bound never changes after an account is opened, so filtering on it is stable.
  FOR acct IN
    SELECT a.id, a.balance, a.lower_bound FROM ledger.accounts a
     WHERE a.id = ANY (account_ids) AND a.lower_bound IS NOT NULL
     ORDER BY a.id
       FOR UPDATE
  LOOP
    k := array_position(account_ids, acct.id);
    IF short_account_id IS NULL AND acct.balance + amounts[k] < acct.lower_bound THEN
      short_account_id := acct.id;
      short_balance := acct.balance;
    END IF;
    balances[k] := acct.balance + amounts[k];
  END LOOP;
  IF short_account_id IS NOT NULL THEN
    balances := NULL;
    PERFORM ledger.refuse_booked_key(kind, idempotency_key);  -- a key booked before says so first
    RETURN;
  END IF;

  -- A keyed transfer is booked once: the unique index on (kind, key) finds a key booked
  -- before in the same insert (no lookup on every transfer), and the caller is told.
  INSERT INTO ledger.transfers (kind, idempotency_key, metadata)
  VALUES (post_transfer.kind, post_transfer.idempotency_key, coalesce(post_transfer.metadata, '{}'))
  ON CONFLICT DO NOTHING
  RETURNING id INTO transfer_id;
  IF transfer_id IS NULL THEN
    PERFORM ledger.refuse_booked_key(kind, idempotency_key);
    PERFORM core.raise_error('SERVER_ERROR', 'a transfer insert conflicted on no key');
  END IF;
  -- Each posting is joined to its account, in the first leg's currency: a missing account
  -- or another currency drops a row, and the count says so.
  INSERT INTO ledger.postings (transfer_id, account_id, amount)
  SELECT post_transfer.transfer_id, p.id, p.amount
    FROM unnest(account_ids, amounts) WITH ORDINALITY AS p(id, amount, leg)
    JOIN ledger.accounts a ON a.id = p.id
   WHERE a.id = ANY (account_ids)  -- lets the generic plan reach accounts by key
     AND a.currency = (SELECT f.currency FROM ledger.accounts f WHERE f.id = account_ids[1])
   ORDER BY p.leg;  -- posting ids follow the legs' order
  GET DIAGNOSTICS found_n = ROW_COUNT;
  IF found_n <> n THEN  -- raising rolls the transfer back
    SELECT array_agg(x) INTO missing FROM unnest(account_ids) x
     WHERE NOT EXISTS (SELECT 1 FROM ledger.accounts a WHERE a.id = x);
    IF missing IS NOT NULL THEN
      PERFORM core.raise_error('ACCOUNT_NOT_FOUND', 'unknown account ids ' || missing::text,
                               jsonb_build_object('account_ids', to_jsonb(missing)));
    END IF;
    PERFORM core.raise_error('INVALID_REQUEST', 'a transfer may not mix currencies');
  END IF;
  -- Simple statements per leg: measured cheaper than one statement writing all three tables.
  FOR i IN 1 .. n LOOP
    IF balances[i] IS NOT NULL THEN  -- a bounded leg, locked above
      UPDATE ledger.accounts a SET balance = a.balance + amounts[i] WHERE a.id = account_ids[i];
    ELSE
      INSERT INTO ledger.balance_deltas (account_id, amount) VALUES (account_ids[i], amounts[i]);
    END IF;
  END LOOP;
END $$;

-- Transfers and postings are history: never changed or removed. Accounts are referenced
-- by postings without a foreign key (migration 0800), so they may not be removed either.
-- Statement triggers on UPDATE/DELETE/TRUNCATE only: nothing on the insert path.
CREATE OR REPLACE FUNCTION ledger.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = 'KL000',
    MESSAGE = format('FORBIDDEN: %s on %s.%s is not allowed: its rows are kept as history',
                     TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME);
END $$;
CREATE TRIGGER transfers_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger.transfers
  FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();
CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger.postings
  FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();
CREATE TRIGGER accounts_kept BEFORE DELETE OR TRUNCATE ON ledger.accounts
  FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();

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

-- Invariant: every posting belongs to a transfer and an account that exist (the checks
-- foreign keys would make, for the tables the hot path writes without them).
CREATE OR REPLACE VIEW ledger.dangling_postings AS
SELECT p.transfer_id, p.account_id, p.amount
  FROM ledger.postings p
 WHERE NOT EXISTS (SELECT 1 FROM ledger.transfers t WHERE t.id = p.transfer_id)
    OR NOT EXISTS (SELECT 1 FROM ledger.accounts a WHERE a.id = p.account_id);
