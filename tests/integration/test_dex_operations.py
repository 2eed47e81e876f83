"""Route operations over the RPC: products and planograms, refills and pick lists, cash
to collect, locations - and that an operator of one company can neither see nor change
another company's."""

from __future__ import annotations

import uuid

import pytest

from tests.support.answers import assert_error, bearer, dex_fixture, ok
from tests.support.helpers import rid


def post(client, headers, fn, **args):
    return client.post(f"/rpc/{fn}", headers=headers, json={**args, "request_id": rid()})


def new_machine(client, w, key) -> str:
    serial = f"OPS-{key.upper()}-" + uuid.uuid4().hex[:8]
    ok(
        post(
            client,
            w[key]["op"],
            "machine_register",
            case_serial=serial,
            company_id=w[key]["company"],
            location=None,
            model="Fixture Snack 1000",
            currency="EUR",
            decimals=2,
        )
    )
    return serial


def ingest(client, headers, serial, name):
    res = ok(post(client, headers, "dex_ingest", case_serial=serial, raw=dex_fixture(name), source="test"))
    assert res["status"] == "accepted", res
    return res


@pytest.fixture(scope="module")
def world(server, token):
    """Two companies, each with an operator and one machine with one read (snack_read1)."""
    import httpx

    w = {"admin": bearer(token("admin", sub="dex-ops-admin"))}
    with httpx.Client(base_url=server, timeout=30) as c:
        for key in ("a", "b"):
            cid = f"ops-{key}-" + uuid.uuid4().hex[:6]
            ok(post(c, w["admin"], "company_create", company_id=cid, name=f"Ops {key}"))
            w[key] = {"company": cid, "op": bearer(token("operator", sub=f"ops-{key}-{cid}", company_id=cid))}
            w[key]["serial"] = new_machine(c, w, key)
            ingest(c, w[key]["op"], w[key]["serial"], "snack_read1.dex")
    return w


def slots_of(client, headers, serial) -> dict:
    details = ok(client.get("/rpc/machine_details", params={"case_serial": serial}, headers=headers))
    return {s["selection"]: s for s in details["slots"]}


# --- 11. products and planogram ----------------------------------------------------------


def test_product_names_from_file_catalogue_and_planogram(client, world):
    a = world["a"]
    serial = new_machine(client, world, "a")
    ingest(client, a["op"], serial, "snack_read1.dex")
    assert slots_of(client, a["op"], serial)["10"]["product_name"] == "P-COLA"  # the file's PA103
    ok(
        post(
            client,
            a["op"],
            "vending_product_upsert",
            company_id=a["company"],
            product_code="P-COLA",
            name="Cola 0.33 l",
            category="drinks",
        )
    )
    ok(
        post(
            client,
            a["op"],
            "vending_product_upsert",
            company_id=a["company"],
            product_code="W-05",
            name="Water",
            category=None,
        )
    )
    slot = slots_of(client, a["op"], serial)["10"]
    assert (slot["product_name"], slot["category"], slot["name_source"]) == ("Cola 0.33 l", "drinks", "catalogue")
    res = ok(
        post(
            client,
            a["op"],
            "machine_planogram_set",
            case_serial=serial,
            slots=[{"selection": "11", "product_code": "W-05", "capacity": 12, "par_level": 5}],
        )
    )
    assert {"selection": "11", "product_name": "Water", "capacity": 12, "par_level": 5}.items() <= res["slots"][
        1
    ].items()
    slot = slots_of(client, a["op"], serial)["11"]
    assert (slot["product_code"], slot["product_name"], slot["capacity"]) == ("W-05", "Water", 12)
    summary = ok(client.get("/rpc/machines_summary", headers=a["op"]))["machines"]
    mine = next(m for m in summary if m["case_serial"] == serial)
    assert [s["product_name"] for s in mine["slots"]] == ["Cola 0.33 l", "Water", "P-GUM"]


def test_company_b_can_neither_see_nor_change_a_products_or_planograms(client, world):
    a, b = world["a"], world["b"]
    ok(
        post(
            client,
            a["op"],
            "vending_product_upsert",
            company_id=a["company"],
            product_code="SECRET",
            name="A only",
            category=None,
        )
    )
    assert all(p["company_id"] == b["company"] for p in ok(client.get("/rpc/vending_products", headers=b["op"])))
    assert_error(
        post(
            client,
            b["op"],
            "vending_product_upsert",
            company_id=a["company"],
            product_code="X",
            name="x",
            category=None,
        ),
        403,
        "FORBIDDEN",
    )
    assert_error(
        post(
            client,
            b["op"],
            "machine_planogram_set",
            case_serial=a["serial"],
            slots=[{"selection": "10", "capacity": 1}],
        ),
        404,
        "MACHINE_NOT_FOUND",
    )
    assert_error(
        post(
            client,
            b["op"],
            "machine_planogram_set",
            case_serial=b["serial"],
            slots=[{"selection": "10", "product_code": "SECRET"}],
        ),
        404,
        "PRODUCT_NOT_FOUND",
    )
    admin_codes = {
        p["product_code"]
        for p in ok(client.get("/rpc/vending_products", headers=world["admin"], params={"company_id": a["company"]}))
    }
    assert "SECRET" in admin_codes


@pytest.mark.parametrize(
    "slots",
    [
        None,
        {},
        [],
        ["10"],
        [{"capacity": 3}],
        [{"selection": "10", "capacity": -1}],
        [{"selection": "10", "capacity": "3"}],
        [{"selection": "10", "colour": "red"}],
        [{"selection": "10", "capacity": 2, "par_level": 3}],
        [{"selection": "10"}, {"selection": "10"}],
        [{"selection": "10", "product_code": 5}],
    ],
)
def test_bad_planograms_are_400(client, world, slots):
    a = world["a"]
    body = assert_error(
        post(client, a["op"], "machine_planogram_set", case_serial=a["serial"], slots=slots), 400, "INVALID_REQUEST"
    )
    assert body["details"]["argument"] == "slots"


# --- 12. stock and the pick list ----------------------------------------------------------


def picked(pick: dict, serial: str) -> dict:
    """{selection: (estimate, bring)} of one machine on a pick list."""
    return {
        s["selection"]: (s["estimate"], s["bring"])
        for loc in pick["locations"]
        for m in loc["machines"]
        if m["case_serial"] == serial
        for s in m["slots"]
    }


def test_refills_vends_and_the_pick_list_worked_out_by_hand(client, world):
    a = world["a"]
    serial = new_machine(client, world, "a")
    ingest(client, a["op"], serial, "snack_read1.dex")  # PA1 capacity 20 on 10, 11, 12
    ok(
        post(
            client,
            a["op"],
            "machine_planogram_set",
            case_serial=serial,
            slots=[
                {"selection": "10", "par_level": 18},
                {"selection": "11", "par_level": 10},
                {"selection": "12", "par_level": 5},
            ],
        )
    )
    res = ok(post(client, a["op"], "machine_refill", case_serial=serial, full=True))
    assert [s["quantity"] for s in res["slots"]] == [20, 20, 20]
    assert picked(ok(client.get("/rpc/pick_list", headers=a["op"])), serial) == {}
    # read 2: +3 on 10, +2 on 11, +1 on 12 -> 17, 18, 19; only 10 is below par (18): bring 3.
    ingest(client, a["op"], serial, "snack_read2.dex")
    assert picked(ok(client.get("/rpc/pick_list", headers=a["op"])), serial) == {"10": (17, 3)}
    # 11 refilled to 15 only; read 3: +1 on 11 -> 14, above par 10.
    ok(post(client, a["op"], "machine_refill", case_serial=serial, slots=[{"selection": "11", "quantity": 15}]))
    ingest(client, a["op"], serial, "snack_read3.dex")
    slots = slots_of(client, a["op"], serial)
    assert [slots[k]["estimated_stock"] for k in ("10", "11", "12")] == [17, 14, 19]
    assert picked(ok(client.get("/rpc/pick_list", headers=a["op"])), serial) == {"10": (17, 3)}
    # Company B neither sees it nor refills it.
    assert picked(ok(client.get("/rpc/pick_list", headers=world["b"]["op"])), serial) == {}
    assert_error(
        post(client, world["b"]["op"], "machine_refill", case_serial=serial, full=True), 404, "MACHINE_NOT_FOUND"
    )
    assert_error(
        post(client, a["op"], "machine_refill", case_serial=serial, slots=[{"selection": "99", "quantity": 1}]),
        404,
        "SLOT_NOT_FOUND",
    )
    assert_error(
        post(client, a["op"], "machine_refill", case_serial=serial, slots=[{"selection": "10", "quantity": 21}]),
        400,
        "INVALID_REQUEST",
    )
    assert_error(post(client, a["op"], "machine_refill", case_serial=serial), 400, "INVALID_REQUEST")
    assert_error(
        client.get("/rpc/pick_list", params={"location_id": 2**40}, headers=a["op"]), 404, "LOCATION_NOT_FOUND"
    )


# --- 13. cash to collect -------------------------------------------------------------------


def test_cash_per_read_in_details_and_summary_and_collection(client, world):
    a, b = world["a"], world["b"]
    serial = new_machine(client, world, "a")
    assert post(client, a["op"], "machine_cash_collect", case_serial=serial).json()["code"] == "CONFLICT"  # never read
    ingest(client, a["op"], serial, "snack_read1.dex")  # CA3*0*0*0*0*5200*2100*3100*0*0*1500, CA4*0*0*1800*0
    cash = ok(client.get("/rpc/machine_details", params={"case_serial": serial}, headers=a["op"]))["cash"]
    last = cash["last_read"]
    assert (last["cash_in"], last["coins_to_box"], last["coins_to_tubes"], last["bills_in"], last["dispensed"]) == (
        5200,
        2100,
        3100,
        1500,
        1800,
    )
    assert last["bill_validator"] == "BV0001 BV MODEL"
    assert cash["cashless"]["DA2"] == {"value_init": 3000, "count_init": 15}
    assert cash["cash_box"]["since"] == "first_read" and cash["cash_box"]["total"] == 0
    ingest(client, a["op"], serial, "snack_read2.dex")  # the same cash counters: nothing new in the box
    res = ok(post(client, a["op"], "machine_cash_collect", case_serial=serial))
    assert (res["expected_coins"], res["expected_bills"], res["expected_total"]) == (0, 0, 0)
    summary = ok(client.get("/rpc/machines_summary", headers=a["op"]))["machines"]
    box = next(m for m in summary if m["case_serial"] == serial)["cash"]["cash_box"]
    assert box["since"] == "last_collection" and box["total"] == 0 and box["last_collected_at"]
    assert_error(post(client, b["op"], "machine_cash_collect", case_serial=serial), 404, "MACHINE_NOT_FOUND")
    assert serial not in {
        m["case_serial"] for m in ok(client.get("/rpc/machines_summary", headers=b["op"]))["machines"]
    }


# --- 14. locations -------------------------------------------------------------------------


def test_locations_group_the_summary_and_the_pick_list(client, world):
    a, b = world["a"], world["b"]
    name = "Hall " + uuid.uuid4().hex[:6]
    loc = ok(post(client, a["op"], "location_create", company_id=a["company"], name=name, address="Main St 1"))
    serial = new_machine(client, world, "a")
    ingest(client, a["op"], serial, "snack_read1.dex")
    res = ok(post(client, a["op"], "machine_assign_location", case_serial=serial, location_id=loc["location_id"]))
    assert (res["location"], res["address"]) == (name, "Main St 1")
    summary = ok(client.get("/rpc/machines_summary", headers=a["op"]))
    group = next(g for g in summary["locations"] if g["location_id"] == loc["location_id"])
    assert (group["name"], group["address"], group["machines"]) == (name, "Main St 1", [serial])
    ok(post(client, a["op"], "machine_planogram_set", case_serial=serial, slots=[{"selection": "10", "par_level": 18}]))
    ok(post(client, a["op"], "machine_refill", case_serial=serial, full=True))
    ingest(client, a["op"], serial, "snack_read2.dex")  # +3 on 10: 17 < 18
    pick = ok(client.get("/rpc/pick_list", params={"location_id": loc["location_id"]}, headers=a["op"]))
    assert [(g["name"], g["address"], g["bring"]) for g in pick["locations"]] == [(name, "Main St 1", 3)]
    # Company B: neither sees the location nor uses it, nor creates one for A.
    assert loc["location_id"] not in {
        x["location_id"] for x in ok(client.get("/rpc/vending_locations", headers=b["op"]))
    }
    assert_error(
        client.get("/rpc/pick_list", params={"location_id": loc["location_id"]}, headers=b["op"]),
        404,
        "LOCATION_NOT_FOUND",
    )
    assert_error(
        post(client, b["op"], "machine_assign_location", case_serial=b["serial"], location_id=loc["location_id"]),
        404,
        "LOCATION_NOT_FOUND",
    )
    assert_error(
        post(client, b["op"], "machine_assign_location", case_serial=serial, location_id=None), 404, "MACHINE_NOT_FOUND"
    )
    assert_error(
        post(client, b["op"], "location_create", company_id=a["company"], name="X", address=None), 403, "FORBIDDEN"
    )
    assert_error(
        post(client, a["op"], "location_create", company_id=a["company"], name=name, address=None), 409, "CONFLICT"
    )
    assert_error(
        post(client, a["op"], "location_create", company_id=a["company"], name="  ", address=None),
        400,
        "INVALID_REQUEST",
    )
