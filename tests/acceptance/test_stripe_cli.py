"""The README's local Stripe flow: python -m rpc stripe-event against the running server."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import STRIPE_WEBHOOK_SECRET
from tests.support.helpers import call_as, card_balance, issue_card, rid


def run_cli(server, migrated, *args):
    env = dict(os.environ, DATABASE_URL=migrated.url, STRIPE_WEBHOOK_SECRET=STRIPE_WEBHOOK_SECRET)
    return subprocess.run(
        [sys.executable, "-m", "kioskledger", "stripe-event", *args, "--url", server],
        capture_output=True,
        text=True,
        env=env,
    )


def test_cli_event_credits_then_refunds(server, migrated, db):
    card = issue_card(db)
    pi = "pi_cli_" + rid()[-12:]
    intent = call_as(db, "anon", "SELECT api.recharge_intent_create(%s, 2500, %s)", (card, rid()), {})
    paid = run_cli(
        server, migrated, "checkout.session.completed", "--intent", intent["intent_id"], "--payment-intent", pi
    )
    assert paid.returncode == 0 and '"credited"' in paid.stdout, paid.stdout + paid.stderr
    assert card_balance(db, card) == 2500
    refund = run_cli(
        server, migrated, "charge.refunded", "--intent", intent["intent_id"], "--payment-intent", pi, "--amount", "1000"
    )
    assert refund.returncode == 0 and '"refunded"' in refund.stdout
    assert card_balance(db, card) == 1500
