"""A DBA's plain backup restores: `pg_dump db > backup.sql` then `psql -f backup.sql` into an
empty database, data included. psql 15 reads an unquoted function named `begin` as the start
of a BEGIN ATOMIC body and then swallows the COPY data, so no such name may creep back."""

from __future__ import annotations

import psycopg

from kioskledger.ops.schema import pg_tool
from tests.support.helpers import issue_card


def test_a_plain_dump_with_data_restores_with_psql(migrated, db, template_db):
    card = issue_card(db, balance=1234)
    dump = pg_tool("pg_dump", migrated.url, capture_output=True, text=True).stdout
    target = template_db.empty("restore")
    try:
        out = pg_tool(
            "psql",
            target.url,
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            check=False,
            input=dump,
            capture_output=True,
            text=True,
        )
        assert out.returncode == 0, out.stderr[-2000:]
        with psycopg.connect(target.url) as conn:
            balance = conn.execute(
                "SELECT ledger.balance_of(account_id) FROM cards.cards WHERE card_id = %s", [card]
            ).fetchone()[0]
        assert balance == 1234
    finally:
        target.drop()
