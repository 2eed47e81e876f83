"""/openapi.json describes the API: a valid OpenAPI 3.1 document whose schemas (kept in SQL,
core.api_schemas) the real answers match, with each function's error codes, only the
functions a request role may call, and nullability and required bodies as the server
behaves."""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import pytest
from openapi_spec_validator import validate

from rpc import atm_pay, payments, worldid
from tests.support.answers import bearer, dex_fixture
from tests.support.dispenser_rig import paid_jobs
from tests.support.helpers import rid


@pytest.fixture
def doc(client):
    return client.get("/openapi.json").json()


@pytest.fixture
def staff(token):
    return {"Authorization": "Bearer " + token("staff", sub="openapi-staff")}


def result_schema(doc, name, method="post"):
    return doc["paths"][f"/rpc/{name}"][method]["responses"]["200"]["content"]["application/json"]["schema"]


def body_schema(doc, name):
    return doc["paths"][f"/rpc/{name}"]["post"]["requestBody"]["content"]["application/json"]["schema"]


def test_the_document_is_valid_openapi_3_1(doc):
    validate(doc)
    for item in doc["paths"].values():
        for op in item.values():
            for response in op["responses"].values():
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if schema is not None and "$ref" not in str(schema):
                    jsonschema.Draft202012Validator.check_schema(schema)


def test_every_callable_function_declares_its_result_schema(doc):
    missing = sorted(
        path.removeprefix("/rpc/")
        for path, item in doc["paths"].items()
        if path.startswith("/rpc/") and item["post"].get("x-result-schema-missing")
    )
    assert missing == [], "declare their result schemas in sql/<domain>/95_schemas.sql"
    for path in doc["paths"]:
        if path.startswith("/rpc/"):
            assert result_schema(doc, path.removeprefix("/rpc/")) != {}, path


def test_schema_rows_name_real_functions_and_arguments(db):
    rows = db.execute("SELECT function, part FROM core.api_schemas").fetchall()
    args = dict(
        db.execute(
            "SELECT p.proname, coalesce(p.proargnames, '{}') FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'api'"
        ).fetchall()
    )
    wrong = [(f, p) for f, p in rows if f not in args or (p not in ("result", "errors") and p not in args[f])]
    assert wrong == []


def test_only_functions_a_request_role_may_call(doc):
    assert "/rpc/atm_pay" not in doc["paths"], "payments role only: served as /atm/pay"
    assert "/rpc/stripe_event_apply" not in doc["paths"]
    for route in ("/atm/pay", "/recharge/checkout", "/webhooks/stripe", "/health", "/metrics"):
        assert route in doc["paths"]


def test_arguments_carry_the_constraints_sql_enforces(doc):
    recharge = body_schema(doc, "checkpoint_recharge")["properties"]
    assert recharge["card_id"]["pattern"] == "^[A-Za-z0-9]{8}$"
    assert recharge["request_id"]["maxLength"] == 255
    assert recharge["amount"]["minimum"] == 1
    assert recharge["payment_method"]["enum"] == ["cash", "card"]
    items = body_schema(doc, "bar_order")["properties"]["items"]
    assert items["maxItems"] == 50 and items["items"]["properties"]["quantity"]["maximum"] == 100
    assert body_schema(doc, "ledger_transfer")["properties"]["postings"]["minItems"] == 2


def test_text_arguments_refuse_nul_as_the_server_does(doc, client, staff):
    location = body_schema(doc, "nfc_scan")["properties"]["location"]
    assert location["pattern"] == "^[^\\x00]*$"
    jsonschema.validate("hall 1", location)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate("hall\x001", location)
    resp = client.post(
        "/rpc/nfc_scan",
        json={"card_id": "NOCARD01", "device_id": "reader-1", "location": "hall\x001", "status": "ok"},
        headers=staff,
    )
    assert resp.status_code == 400 and resp.json()["details"] == {"argument": "location"}


def test_every_error_response_is_its_codes_status_in_core_error_codes(doc, db):
    status = dict(db.execute("SELECT code, http_status FROM core.error_codes").fetchall())
    seen = 0
    for path, item in doc["paths"].items():
        for method, op in item.items():
            assert "default" not in op["responses"], (path, method)
            for code_status, response in op["responses"].items():
                if int(code_status) < 400:
                    continue
                codes = response["content"]["application/json"]["schema"]["allOf"][1]["properties"]["code"]["enum"]
                assert {status[c] for c in codes} == {int(code_status)}, (path, method, code_status, codes)
                seen += 1
    assert seen > 100


def test_the_other_routes_list_their_own_codes_and_their_functions(doc):
    def codes(path):
        return {
            int(status): set(response["description"].split(", "))
            for status, response in doc["paths"][path]["post"]["responses"].items()
            if int(status) >= 400
        }

    pay = codes("/atm/pay")
    assert "WORLD_ID_INVALID" in pay[403] and "PAYMENT_NOT_CONFIRMED" in pay[402] and "EXPIRED" in pay[410]
    assert "SERVICE_UNAVAILABLE" in pay[503] and "TRANSACTION_NOT_FOUND" in pay[404]
    checkout = codes("/recharge/checkout")
    assert "PAYMENT_PROVIDER_ERROR" in checkout[502] and "CARD_NOT_FOUND" in checkout[404]
    assert "UNAUTHENTICATED" in checkout[401]
    webhook = codes("/webhooks/stripe")
    assert {"INVALID_SIGNATURE", "INVALID_REQUEST"} <= webhook[400]


def test_the_routes_declare_every_code_their_python_raises():
    def raised(*modules):
        return {code for m in modules for code in re.findall(r'ApiError\(\s*"([A-Z_]+)"', Path(m.__file__).read_text())}

    assert raised(atm_pay, worldid) <= set(atm_pay.ERRORS)
    assert raised(payments) <= set(payments.CHECKOUT_ERRORS) | set(payments.WEBHOOK_ERRORS)


def test_each_function_lists_its_error_codes(doc):
    responses = doc["paths"]["/rpc/bar_order"]["post"]["responses"]
    assert "INSUFFICIENT_FUNDS" in responses["402"]["description"]
    assert "CARD_NOT_FOUND" in responses["404"]["description"]
    assert "CARD_NOT_ACTIVE" in responses["403"]["description"]
    assert "IDEMPOTENCY_MISMATCH" in responses["422"]["description"]
    assert responses["402"]["headers"]["Idempotent-Replayed"]
    assert "500" not in responses
    refund = doc["paths"]["/rpc/refund_request"]["post"]["responses"]
    assert "REFUND_CODE_LOCKED" in refund["429"]["description"]
    balance = doc["paths"]["/rpc/card_balance"]["get"]["responses"]
    assert "ETag" in balance["200"]["headers"] and "304" in balance


def test_nullable_only_where_the_function_takes_null(doc, client, admin_headers):
    history = body_schema(doc, "card_history")["properties"]["limit"]
    assert history["type"] == "integer", "DEFAULT 50: null is refused"
    resp = client.post("/rpc/card_history", json={"card_id": "NOCARD01", "limit": None}, headers=admin_headers)
    assert resp.status_code == 400 and resp.json()["details"] == {"argument": "limit"}
    metadata = body_schema(doc, "ledger_transfer")["properties"]["metadata"]
    assert "null" in metadata["type"], "coalesce(metadata, '{}'): null is the default"
    refund_code = body_schema(doc, "refund_request")["properties"]["refund_code"]
    assert refund_code["type"] == ["string", "null"], "DEFAULT NULL"


def test_a_body_is_required_only_when_an_argument_is(doc):
    assert doc["paths"]["/rpc/whoami"]["post"]["requestBody"]["required"] is False
    assert doc["paths"]["/rpc/card_balance"]["post"]["requestBody"]["required"] is True
    optional_only = [
        p
        for p, item in doc["paths"].items()
        if p.startswith("/rpc/") and "requestBody" in item["post"] and not item["post"]["requestBody"]["required"]
    ]
    for path in optional_only:
        assert body_schema(doc, path.removeprefix("/rpc/"))["required"] == []


def test_real_answers_match_their_schemas(doc, client, admin_headers, staff):
    def check(name, resp, method="post"):
        assert resp.status_code == 200, resp.text
        jsonschema.validate(resp.json(), result_schema(doc, name, method))
        return resp.json()

    card = "OA" + rid()[-6:].upper()
    issued = check(
        "card_issue", client.post("/rpc/card_issue", json={"card_id": card, "request_id": rid()}, headers=staff)
    )
    assert "refund_code" in issued
    check(
        "checkpoint_recharge",
        client.post(
            "/rpc/checkpoint_recharge",
            json={
                "card_id": card,
                "amount": 5000,
                "payment_method": "cash",
                "checkpoint_id": "cp1",
                "request_id": rid(),
            },
            headers=staff,
        ),
    )
    check("card_balance", client.get("/rpc/card_balance", params={"card_id": card}, headers=staff), "get")
    product = "oa-" + rid()[-8:]
    check(
        "product_upsert",
        client.post(
            "/rpc/product_upsert",
            json={"product_id": product, "name": "Beer", "category": "drinks", "price": 450, "is_deposit": False,
                  "request_id": rid()},
            headers=admin_headers,
        ),
    )  # fmt: skip
    check("products", client.get("/rpc/products"), "get")
    check(
        "bar_order",
        client.post(
            "/rpc/bar_order",
            json={"card_id": card, "items": [{"product_id": product, "quantity": 2}], "request_id": rid(),
                  "point_of_sale": "bar1"},
            headers=staff,
        ),
    )  # fmt: skip
    intent = check(
        "recharge_intent_create",
        client.post("/rpc/recharge_intent_create", json={"card_id": card, "amount": 700, "request_id": rid()}),
    )
    assert intent["status"] == "pending" and intent["session_id"] is None
    check(
        "refund_request",
        client.post(
            "/rpc/refund_request",
            json={"card_id": card, "name": "A B", "email": "a@example.org", "iban": "DE89370400440532013000",
                  "request_id": rid(), "refund_code": issued["refund_code"]},
        ),
    )  # fmt: skip
    accounts = []
    for _ in range(2):
        accounts.append(
            check(
                "ledger_account_open",
                client.post(
                    "/rpc/ledger_account_open",
                    json={"kind": "house_test", "owner_ref": rid(), "currency": "EUR", "lower_bound": None,
                          "request_id": rid()},
                    headers=admin_headers,
                ),
            )["id"]
        )  # fmt: skip
    check(
        "ledger_transfer",
        client.post(
            "/rpc/ledger_transfer",
            json={"postings": [{"account_id": accounts[0], "amount": -100}, {"account_id": accounts[1], "amount": 100}],
                  "kind": "test", "request_id": rid()},
            headers=admin_headers,
        ),
    )  # fmt: skip
    check("ledger_account", client.get("/rpc/ledger_account", params={"id": accounts[0]}, headers=admin_headers), "get")
    history = check("card_history", client.get("/rpc/card_history", params={"card_id": card}, headers=staff), "get")
    assert len(history) >= 2 and history[0]["new_balance"] == history[1]["new_balance"] + history[0]["amount"]
    for _ in range(2):
        scan = check(
            "nfc_scan",
            client.post("/rpc/nfc_scan", json={"card_id": card, "device_id": "oa-reader", "location": None,
                        "status": "ok"}, headers=staff),
        )  # fmt: skip
    assert scan["duplicate"] is True and scan["card_known"] is True
    check("whoami", client.get("/rpc/whoami"), "get")


def test_errors_match_the_error_schema(doc, client):
    resp = client.get("/rpc/card_balance", params={"card_id": "NOCARD99"})
    assert resp.status_code == 404
    error_schema = doc["components"]["schemas"]["Error"]
    jsonschema.validate(resp.json(), error_schema)


def check_answer(doc, name, resp, method="post"):
    assert resp.status_code == 200, resp.text
    jsonschema.validate(resp.json(), result_schema(doc, name, method))
    return resp.json()


def test_real_checkout_answers_match_their_schemas(doc, client, admin_headers, token):
    kiosk = "oa_co_" + rid()[-8:]
    sku = "oa-" + rid()[-8:]
    check_answer(
        doc,
        "checkout_kiosk_register",
        client.post(
            "/rpc/checkout_kiosk_register",
            json={"kiosk_id": kiosk, "name": "Lane", "location": None, "request_id": rid()},
            headers=admin_headers,
        ),
    )
    upsert = {"sku": sku, "name": "Tea", "price": 250, "currency": "EUR", "active": True}
    version = check_answer(
        doc,
        "catalog_upsert",
        client.post("/rpc/catalog_upsert", json={**upsert, "request_id": rid()}, headers=admin_headers),
    )["catalog_version"]
    again = client.post("/rpc/catalog_upsert", json={**upsert, "request_id": rid()}, headers=admin_headers)
    assert check_answer(doc, "catalog_upsert", again)["changed"] is False
    check_answer(doc, "catalog", client.get("/rpc/catalog"), "get")
    hdr = {"Authorization": "Bearer " + token("kiosk", sub=f"kiosk:{kiosk}", kiosk_id=kiosk)}
    order = {"idempotency_key": "oa-order-" + rid()[-8:], "created_at": "2026-01-01T10:00:00Z", "payment_method": "card",
             "currency": "EUR", "catalog_version": version, "lines": [{"sku": sku, "qty": 2, "unit_price": 250}]}  # fmt: skip
    bad = {**order, "idempotency_key": "short"}
    synced = check_answer(
        doc, "checkout_sync", client.post("/rpc/checkout_sync", json={"orders": [order, bad]}, headers=hdr)
    )
    assert [r["status"] for r in synced["results"]] == ["accepted", "rejected"]
    mismatch = {**order, "payment_method": "cash"}
    synced = check_answer(
        doc, "checkout_sync", client.post("/rpc/checkout_sync", json={"orders": [order, mismatch]}, headers=hdr)
    )
    assert [r["status"] for r in synced["results"]] == ["duplicate", "mismatch"]
    check_answer(
        doc,
        "kiosk_heartbeat",
        client.post("/rpc/kiosk_heartbeat", json={"link_up": True, "pending_orders": 2}, headers=hdr),
    )
    for oldest in ("2026-01-01T09:00:00Z", None):
        check_answer(
            doc,
            "checkout_backlog",
            client.post("/rpc/checkout_backlog", json={"oldest_pending_at": oldest}, headers=hdr),
        )
    orders = check_answer(
        doc,
        "checkout_orders",
        client.get("/rpc/checkout_orders", params={"kiosk_id": kiosk}, headers=admin_headers),
        "get",
    )
    assert len(orders) == 1 and orders[0]["transfer_id"] is not None
    check_answer(doc, "dashboard_overview", client.get("/rpc/dashboard_overview", headers=admin_headers), "get")
    check_answer(doc, "dashboard_kiosks", client.get("/rpc/dashboard_kiosks", headers=admin_headers), "get")
    for company in (None,):
        check_answer(
            doc,
            "kiosk_assign_company",
            client.post("/rpc/kiosk_assign_company", json={"kiosk_id": kiosk, "company_id": company, "request_id": rid()},
                        headers=admin_headers),
        )  # fmt: skip


def test_real_atm_and_dispense_answers_match_their_schemas(doc, client, admin_headers, token, db):
    kiosk = "oa_atm_" + rid()[-8:]
    check_answer(
        doc,
        "atm_kiosk_register",
        client.post(
            "/rpc/atm_kiosk_register",
            json={"kiosk_id": kiosk, "name": "ATM", "location": "Hall", "fee_flat": None, "max_amount": 5000,
                  "request_id": rid()},
            headers=admin_headers,
        ),
    )  # fmt: skip
    hdr = {"Authorization": "Bearer " + token("kiosk", sub=f"kiosk:{kiosk}", kiosk_id=kiosk)}
    [job] = paid_jobs(db, kiosk, 1, amount=500)
    claim = check_answer(doc, "dispense_claim", client.post("/rpc/dispense_claim", headers=hdr))
    assert claim["job_id"] == job
    assert check_answer(doc, "dispense_claim", client.post("/rpc/dispense_claim", headers=hdr)) is None
    status = check_answer(
        doc, "atm_transaction_status", client.get("/rpc/atm_transaction_status", params={"id": claim["transaction_id"]}),
        "get",
    )  # fmt: skip
    assert status["dispense"]["job_id"] == job
    token_ = {"job_id": job, "claim_token": claim["claim_token"]}
    check_answer(doc, "dispense_begin", client.post("/rpc/dispense_begin", json=token_, headers=hdr))
    check_answer(
        doc, "dispense_progress", client.post("/rpc/dispense_progress", json={**token_, "coins_paid": 5}, headers=hdr)
    )
    report = check_answer(
        doc,
        "dispense_report",
        client.post(
            "/rpc/dispense_report",
            json={**token_, "coins_paid": 8, "base_paid": 0, "error_code": "jam", "evidence": {"hopper": 8}},
            headers=hdr,
        ),
    )
    assert report["outcome"] == "finished" and report["job"]["status"] == "retry_wait"
    check_answer(doc, "dispense_expire_leases", client.post("/rpc/dispense_expire_leases", headers=admin_headers))
    check_answer(
        doc, "atm_kiosk_health", client.get("/rpc/atm_kiosk_health", params={"kiosk_id": kiosk}, headers=hdr), "get"
    )
    check_answer(doc, "atm_refunds_due", client.get("/rpc/atm_refunds_due", headers=admin_headers), "get")
    fresh = check_answer(
        doc, "atm_transaction_create", client.post("/rpc/atm_transaction_create", json={"amount": 100, "request_id": rid()},
                                                   headers=hdr)
    )  # fmt: skip
    status = check_answer(
        doc, "atm_transaction_status", client.get("/rpc/atm_transaction_status", params={"id": fresh["id"]}), "get"
    )
    assert status["dispense"] is None and status["expired"] is False


def test_real_dex_answers_match_their_schemas(doc, client, admin_headers, token):
    company = "oa-" + rid()[-8:]
    check_answer(
        doc,
        "company_create",
        client.post("/rpc/company_create", json={"company_id": company, "name": "OA", "request_id": rid()},
                    headers=admin_headers),
    )  # fmt: skip
    op = bearer(token("operator", sub="op-" + company, company_id=company))
    serial = "OA-" + rid()[-8:]
    check_answer(
        doc,
        "machine_register",
        client.post(
            "/rpc/machine_register",
            json={"case_serial": serial, "company_id": company, "location": "Hall", "model": "Fixture Snack 1000",
                  "currency": "EUR", "decimals": 2, "request_id": rid()},
            headers=op,
        ),
    )  # fmt: skip

    def ingest(raw):
        return check_answer(
            doc,
            "dex_ingest",
            client.post("/rpc/dex_ingest", json={"case_serial": serial, "raw": raw, "source": "test", "request_id": rid()},
                        headers=op),
        )  # fmt: skip

    assert ingest(dex_fixture("snack_read1.dex"))["status"] == "accepted"
    assert ingest(dex_fixture("snack_read2.dex"))["reads"][0]["delta_kind"] == "normal"
    assert ingest(dex_fixture("snack_read2.dex"))["status"] == "duplicate"
    assert ingest("DXS*X*VA*V0/6*1\r\nST*001*0001\r\n")["status"] == "rejected"
    summary = check_answer(doc, "machines_summary", client.get("/rpc/machines_summary", headers=op), "get")
    assert [m["case_serial"] for m in summary["machines"]] == [serial]
    check_answer(doc, "machines_summary", client.get("/rpc/machines_summary", headers=admin_headers), "get")
    errors = [e for m in summary["machines"] for e in m["errors"]]
    assert errors, "snack_read2.dex reports EJJ"
    check_answer(
        doc,
        "machine_error_resolve",
        client.post("/rpc/machine_error_resolve", json={"error_id": errors[0]["error_id"], "note": "fixed",
                    "request_id": rid()}, headers=op),
    )  # fmt: skip
    product = {"company_id": company, "product_code": "P-OA", "name": "Cola", "request_id": rid()}
    for category in (None, "drinks"):
        check_answer(
            doc,
            "vending_product_upsert",
            client.post("/rpc/vending_product_upsert", json={**product, "category": category, "request_id": rid()},
                        headers=op),
        )  # fmt: skip
    check_answer(doc, "vending_products", client.get("/rpc/vending_products", headers=op), "get")
    depot = check_answer(
        doc,
        "location_create",
        client.post("/rpc/location_create", json={"company_id": company, "name": "Depot", "address": None,
                    "request_id": rid()}, headers=op),
    )["location_id"]  # fmt: skip
    for location_id in (depot, None):
        check_answer(
            doc,
            "machine_assign_location",
            client.post("/rpc/machine_assign_location", json={"case_serial": serial, "location_id": location_id,
                        "request_id": rid()}, headers=op),
        )  # fmt: skip
    check_answer(doc, "vending_locations", client.get("/rpc/vending_locations", headers=op), "get")
    check_answer(
        doc,
        "machine_cash_collect",
        client.post("/rpc/machine_cash_collect", json={"case_serial": serial, "request_id": rid()}, headers=op),
    )


def test_real_refund_code_and_export_answers_match_their_schemas(doc, client, admin_headers, staff, db):
    cards = ["OX" + rid()[-6:].upper() for _ in range(2)]
    codes = [{"card_id": c, "refund_code": "ABCD-EFGH-" + c[-4:]} for c in cards]
    imported = check_answer(
        doc, "card_refund_codes_import",
        client.post("/rpc/card_refund_codes_import", json={"codes": codes, "request_id": rid()}, headers=admin_headers),
    )  # fmt: skip
    assert imported == {"imported": 2, "unchanged": 0}
    again = client.post("/rpc/card_refund_codes_import", json={"codes": codes[:1], "request_id": rid()},
                        headers=admin_headers)  # fmt: skip
    assert check_answer(doc, "card_refund_codes_import", again) == {"imported": 0, "unchanged": 1}
    extra = client.post("/rpc/card_refund_codes_import", json={"codes": [{**codes[0], "note": "x"}], "request_id": rid()},
                        headers=admin_headers)  # fmt: skip
    assert extra.status_code == 400 and extra.json()["details"]["argument"] == "codes"
    db.execute("UPDATE core.settings SET value = '\"Festival Ops\"' WHERE key = 'cards.refund_debtor_name'")
    db.execute("UPDATE core.settings SET value = '\"DE02120300000000202051\"' WHERE key = 'cards.refund_debtor_iban'")
    card = cards[0]
    client.post("/rpc/card_issue", json={"card_id": card, "request_id": rid()}, headers=staff).raise_for_status()
    client.post(
        "/rpc/checkpoint_recharge",
        json={"card_id": card, "amount": 1000, "payment_method": "cash", "checkpoint_id": "cp1", "request_id": rid()},
        headers=staff,
    ).raise_for_status()
    client.post(
        "/rpc/refund_request",
        json={"card_id": card, "name": "A B", "email": "a@example.org", "iban": "DE89370400440532013000",
              "request_id": rid(), "refund_code": codes[0]["refund_code"]},
    ).raise_for_status()  # fmt: skip
    exported = check_answer(
        doc, "refund_export", client.post("/rpc/refund_export", json={"request_id": rid()}, headers=admin_headers)
    )
    assert exported["count"] >= 1 and exported["xml"].startswith("<?xml")
    empty = check_answer(
        doc, "refund_export", client.post("/rpc/refund_export", json={"request_id": rid()}, headers=admin_headers)
    )
    assert empty == {"export_id": None, "count": 0, "total": 0, "xml": None}


def test_real_route_operation_answers_match_their_schemas(doc, client, admin_headers, token):
    """Planogram, refills, pick list, machine details and sales over three reads of the
    snack fixture (2025-07-01..03 by the machine's clock), before and after a refill."""
    company = "ox-" + rid()[-8:]
    client.post("/rpc/company_create", json={"company_id": company, "name": "OX", "request_id": rid()},
                headers=admin_headers).raise_for_status()  # fmt: skip
    op = bearer(token("operator", sub="op-" + company, company_id=company))

    def post(fn, **args):
        return client.post(f"/rpc/{fn}", json={**args, "request_id": rid()}, headers=op)

    serial = "OX-" + rid()[-8:]
    post("machine_register", case_serial=serial, company_id=company, location="Hall", model="Fixture Snack 1000",
         currency="EUR", decimals=2).raise_for_status()  # fmt: skip

    def details():
        return check_answer(
            doc,
            "machine_details",
            client.get("/rpc/machine_details", params={"case_serial": serial}, headers=op),
            "get",
        )

    assert details()["slots"] == [] and details()["cash"]["last_read"] is None
    post("vending_product_upsert", company_id=company, product_code="P-COLA", name="Cola", category="drinks")
    post("dex_ingest", case_serial=serial, raw=dex_fixture("snack_read1.dex"), source="test").raise_for_status()
    planogram = check_answer(
        doc,
        "machine_planogram_set",
        post("machine_planogram_set", case_serial=serial, slots=[
            {"selection": "10", "product_code": "P-COLA", "par_level": 18},
            {"selection": "11", "par_level": 10, "capacity": 20}, {"selection": "90", "capacity": 5}]),
    )  # fmt: skip
    assert {s["selection"]: s["name_source"] for s in planogram["slots"]}["10"] == "planogram"
    pick = check_answer(doc, "pick_list", client.get("/rpc/pick_list", headers=op), "get")
    assert {"case_serial": serial, "selection": "10"} in pick["not_estimated"]
    refill = check_answer(doc, "machine_refill", post("machine_refill", case_serial=serial, full=True))
    assert refill["slots"][0] == {"selection": "10", "product_name": "Cola", "quantity": 20, "capacity": 20,
                                  "par_level": 18}  # fmt: skip
    refill = post("machine_refill", case_serial=serial, slots=[{"selection": "11", "quantity": 15},
                                                               {"selection": "90", "quantity": None}])  # fmt: skip
    assert [s["quantity"] for s in check_answer(doc, "machine_refill", refill)["slots"]] == [15, 5]
    for name in ("snack_read2.dex", "snack_read3.dex"):
        post("dex_ingest", case_serial=serial, raw=dex_fixture(name), source="test").raise_for_status()
    pick = check_answer(doc, "pick_list", client.get("/rpc/pick_list", headers=op), "get")
    [location] = [loc for loc in pick["locations"] if loc["machines"][0]["case_serial"] == serial]
    assert location["name"] == "Hall" and location["machines"][0]["slots"][0]["selection"] == "10"
    check_answer(doc, "pick_list", client.get("/rpc/pick_list", params={"location_id": location["location_id"]},
                                              headers=admin_headers), "get")  # fmt: skip
    machine = details()
    assert machine["slots"] and machine["cash"]["last_read"] is not None and machine["totals"]
    assert machine["recent_captures"][0]["status"] == "accepted" and machine["machine_clock"].startswith("2025-07-03")
    sales = check_answer(
        doc,
        "machine_sales",
        client.get("/rpc/machine_sales", params={"case_serial": serial, "from": "2025-06-30", "to": "2025-07-04"},
                   headers=op),
        "get",
    )  # fmt: skip
    assert [d["date"] for d in sales["days"]][:2] == ["2025-06-30", "2025-07-01"] and len(sales["days"]) == 5
    assert any(d["selections"] for d in sales["days"])
