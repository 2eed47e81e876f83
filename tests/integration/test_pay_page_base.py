"""`make run` points the ATM's QR codes at the address it serves, unless an operator set
their own mini app address."""

from kioskledger.ops.pay_page import SHIPPED_BASE, follow_served_address


def base(db) -> str:
    return db.execute("SELECT value #>> '{}' FROM core.settings WHERE key = 'atm.pay_url_base'").fetchone()[0]


def test_the_shipped_base_follows_the_served_address(db, migrated):
    assert base(db) == SHIPPED_BASE
    assert follow_served_address(migrated.url, "http://127.0.0.1:8123/") == "http://127.0.0.1:8123/miniapp"
    assert base(db) == "http://127.0.0.1:8123/miniapp"
    db.execute("UPDATE core.settings SET value = to_jsonb(%s::text) WHERE key = 'atm.pay_url_base'", (SHIPPED_BASE,))


def test_an_operators_own_base_is_kept(db, migrated):
    own = "https://pay.example.org/atm"
    db.execute("UPDATE core.settings SET value = to_jsonb(%s::text) WHERE key = 'atm.pay_url_base'", (own,))
    try:
        assert follow_served_address(migrated.url, "http://127.0.0.1:8123") == own
        assert base(db) == own
    finally:
        db.execute(
            "UPDATE core.settings SET value = to_jsonb(%s::text) WHERE key = 'atm.pay_url_base'", (SHIPPED_BASE,)
        )
