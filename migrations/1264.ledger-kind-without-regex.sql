-- depends: 1263.upkeep-host-jobs

-- A transfer's kind is checked by the ledger.kind domain on every transfer written. The
-- regular expression cost ~50k instructions a check (PostgreSQL sets a matcher up for
-- each one); the same rule with length, ascii and translate costs a fraction. The two
-- accept exactly the same strings: lower_snake_case, 1-63 characters, a letter first.

-- One statement: between two ALTER DOMAIN statements the migration runner's savepoint
-- fails ("unprocessed inval messages").
DO $$
BEGIN
  ALTER DOMAIN ledger.kind DROP CONSTRAINT kind_check;
  ALTER DOMAIN ledger.kind ADD CONSTRAINT kind_check
    CHECK (length(VALUE) BETWEEN 1 AND 63 AND ascii(VALUE) BETWEEN 97 AND 122
           AND translate(VALUE, 'abcdefghijklmnopqrstuvwxyz0123456789_', '') = '');
END $$;
