"""DEX ingest semantics on the committed fixtures (tests/fixtures/dex, see its README):
every record the parser reads, framing and integrity variants, sales deltas, wraps, resets,
aborted blocks and re-reports. Calls api.dex_ingest as a request role, like the RPC.

Expected values are worked out from the fixture files themselves (parsed here in Python)
or by hand from how the fixtures were written, never copied from the SQL's output.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

import psycopg
import pytest

from tests.support.answers import dex_fixture
from tests.support.helpers import call_as, rid


def records(raw: str, tag: str) -> list[list[str]]:
    """A minimal independent reading of a fixture: the lines of one record, split on '*'."""
    lines = raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return [line.split("*") for line in lines if line.split("*")[0] == tag]


@pytest.fixture(scope="module")
def company(migrated):
    cid = "ing-" + uuid.uuid4().hex[:8]
    with psycopg.connect(migrated.url, autocommit=True) as conn:
        call_as(conn, "admin", "SELECT api.company_create(%s, %s, %s)", (cid, "Ingest tests", rid()))
    return cid


def machine(db, company, model="Fixture Snack 1000", currency="EUR", decimals=2) -> str:
    serial = "ING-" + uuid.uuid4().hex[:12]
    call_as(
        db,
        "admin",
        "SELECT api.machine_register(%s, %s, %s, %s, %s, %s, %s)",
        (serial, company, "Test hall", model, currency, decimals, rid()),
    )
    return serial


def ingest(db, serial, raw, request_id=None):
    return call_as(db, "admin", "SELECT api.dex_ingest(%s, %s, 'test', %s)", (serial, raw, request_id or rid()))


def rows(db, sql, params=()):
    return db.execute(sql, params).fetchall()


def one(db, sql, params=()):
    return db.execute(sql, params).fetchone()


def read_id(result, i=0) -> int:
    return result["reads"][i]["read_id"]


def test_every_record_of_the_snack_fixture(db, company):
    raw = dex_fixture("snack_read1.dex")
    serial = machine(db, company)
    res = ingest(db, serial, raw)
    assert (res["status"], res["crc_status"], res["se_status"], res["warnings"]) == ("accepted", "ok", "ok", []), res
    r = read_id(res)

    # VA1/CA2/DA2/DB2/TA2 are init first: value, count, value, count.
    totals = {
        t: (v, c)
        for t, v, c in rows(db, "SELECT record, value_init, count_init FROM dex.read_totals WHERE read_id = %s", [r])
    }
    for tag in ("VA1", "VA2", "CA2", "DA2", "DB2", "TA2"):
        e = records(raw, tag)[0]
        assert totals[tag] == (int(e[1]), int(e[2])), tag
    assert totals["VA1"][0] == totals["CA2"][0] + totals["DA2"][0] + totals["DB2"][0] + totals["TA2"][0]

    # PA1 price/product/capacity; PA2 count then value (unlike VA1, value then count).
    got = {
        s: (p, code, cap, n, v)
        for s, p, code, cap, n, v in rows(
            db,
            "SELECT selection, price, product_code, capacity, vends_init, value_init FROM dex.read_selections WHERE read_id = %s",
            [r],
        )
    }
    expected = {}
    for pa1, pa2 in zip(records(raw, "PA1"), records(raw, "PA2"), strict=True):
        expected[pa1[1]] = (int(pa1[2]), pa1[3], int(pa1[4]), int(pa2[1]), int(pa2[2]))
    assert got == expected
    assert sum(v for *_, v in got.values()) == totals["VA1"][0], "sum of PA2 values = VA101"
    assert sum(n for *_, n, _v in got.values()) == totals["VA1"][1], "sum of PA2 counts = VA102"
    # PA7 (per payment device) is kept as reported and decoded when shown.
    assert one(db, "SELECT pa7 FROM dex.read_selections WHERE read_id = %s AND selection = '10'", [r])[0] == [
        "*".join(e) for e in records(raw, "PA7")
    ]
    slot = next(
        x for x in call_as(db, "admin", "SELECT api.machine_details(%s)", (serial,))["slots"] if x["selection"] == "10"
    )
    assert [(d["device"], d["price"], d["vends"], d["revenue"]) for d in slot["by_device"]] == [
        (e[2], int(e[4]), int(e[5]), int(e[6])) for e in records(raw, "PA7")
    ]

    # CA17 tubes keyed by coin value; CA15 is their total.
    tubes = {
        v: (n, full)
        for v, n, full in rows(db, "SELECT coin_value, coins, tube_full FROM dex.read_tubes WHERE read_id = %s", [r])
    }
    assert tubes == {int(e[2]): (int(e[3]), e[6] == "1") for e in records(raw, "CA17")}
    ca15 = int(records(raw, "CA15")[0][1])
    assert (
        sum(v * n for v, (n, _) in tubes.items())
        == ca15
        == one(db, "SELECT tubes_value FROM dex.reads WHERE id = %s", [r])[0]
    )

    # EA1 occurrences with their time, EA2 counters (reset first) and the active flag.
    events = rows(
        db,
        "SELECT record, code, occurred_at, count_reset, count_init, active FROM dex.read_events "
        "WHERE read_id = %s ORDER BY line_no",
        [r],
    )
    assert events == [
        ("EA1", "EGS", datetime(2025, 6, 30, 22, 10), None, None, None),
        ("EA1", "EJJ", datetime(2025, 7, 1, 3, 0), None, None, None),
        ("EA2", "EGS", None, 0, 40, False),
        ("EA2", "EJJ", None, 0, 3, True),
    ]
    # EA3 read bookkeeping, ID1/CB1/ID5 identity.
    assert one(
        db,
        "SELECT ea3_read_count, ea3_this_read, ea3_previous_read, id1_serial, id1_model, firmware, "
        "machine_clock, dex_decimals, dex_currency FROM dex.reads WHERE id = %s",
        [r],
    ) == (
        120,
        datetime(2025, 7, 1, 8, 0),
        datetime(2025, 6, 30, 8, 0),
        "RST7654321",
        "FIXTURE 1000",
        "FW 2.1.0",
        datetime(2025, 7, 1, 8, 0),
        2,
        "EUR",
    )

    # MA5: temperatures (negative current, a target) and an error.
    assert rows(db, "SELECT reading, celsius FROM dex.read_temperatures WHERE read_id = %s ORDER BY line_no", [r]) == [
        ("current", Decimal("-0.50")),
        ("target", Decimal("4.00")),
    ]
    # Faults: the MA5 error and the EA2 event flagged active - not EA1 history, not EA3/EA7.
    assert sorted(
        rows(
            db,
            "SELECT source, code FROM dex.machine_errors e JOIN dex.machines m ON m.id = e.machine_id "
            "WHERE m.case_serial = %s AND e.resolved_at IS NULL",
            [serial],
        )
    ) == [("EA2", "EJJ"), ("MA5", "CJ06")]

    state = one(
        db,
        "SELECT s.temperature_c, s.target_temperature_c, s.tubes_value, s.product_count, s.unresolved_errors, "
        "s.firmware, s.reads, s.last_read_id FROM dex.machine_state s JOIN dex.machines m ON m.id = s.machine_id "
        "WHERE m.case_serial = %s",
        [serial],
    )
    assert state == (Decimal("-0.50"), Decimal("4.00"), ca15, len(expected), 2, "FW 2.1.0", 1, r)


def test_lf_crlf_and_bare_cr_give_the_same_read(db, company):
    derived = []
    for name in ("snack_read1.dex", "snack_read1_crlf.dex", "snack_read1_cr.dex"):
        raw = dex_fixture(name)
        assert ("\r" in raw, "\n" in raw) == {
            "snack_read1.dex": (False, True),
            "snack_read1_crlf.dex": (True, True),
            "snack_read1_cr.dex": (True, False),
        }[name]
        res = ingest(db, machine(db, company), raw)
        assert (res["status"], res["crc_status"], res["se_status"]) == ("accepted", "ok", "ok"), (name, res)
        r = read_id(res)
        derived.append(
            (
                rows(
                    db,
                    "SELECT selection, price, vends_init, value_init, pa7 FROM dex.read_selections WHERE read_id = %s ORDER BY 1",
                    [r],
                ),
                rows(
                    db, "SELECT record, value_init, count_init FROM dex.read_totals WHERE read_id = %s ORDER BY 1", [r]
                ),
                rows(
                    db, "SELECT code, occurred_at, active FROM dex.read_events WHERE read_id = %s ORDER BY line_no", [r]
                ),
                one(db, "SELECT segment_count, crc_computed FROM dex.reads WHERE id = %s", [r]),
            )
        )
    assert derived[0] == derived[1] == derived[2]
    assert len(derived[0][0]) == 3


@pytest.mark.parametrize(
    "name,crc_status,se_status,warning",
    [
        ("g85_lowercase.dex", "ok", "ok", None),
        ("g85_swapped.dex", "ok_swapped", "ok", None),
        ("g85_no_final_crlf.dex", "ok_no_final_crlf", "ok", None),
        ("g85_missing.dex", "absent", "ok", "no G85 checksum"),
        ("g85_fake_constant.dex", "mismatch", "ok", "G85 0000 does not match"),
        ("g85_corrupt_lost_byte.dex", "mismatch", "ok", "may be corrupt"),
        ("se_wrong.dex", "ok", "mismatch", "SE01 says 7 segments"),
    ],
)
def test_integrity_variants_are_flags_not_rejections(db, company, name, crc_status, se_status, warning):
    res = ingest(db, machine(db, company), dex_fixture(name))
    assert res["status"] == "accepted", res
    assert (res["crc_status"], res["se_status"]) == (crc_status, se_status), res
    if warning is None:
        assert res["warnings"] == []
    else:
        assert any(warning in w for w in res["warnings"]), res["warnings"]
    assert one(db, "SELECT crc_status, se_status FROM dex.captures WHERE id = %s", [res["capture_id"]]) == (
        crc_status,
        se_status,
    )


def test_sales_are_since_init_deltas_and_a_rereport_counts_once(db, company):
    serial = machine(db, company)
    r1 = ingest(db, serial, dex_fixture("snack_read1.dex"))
    assert r1["reads"][0]["vends_delta"] is None
    assert one(db, "SELECT delta_kind FROM dex.reads WHERE id = %s", [read_id(r1)])[0] == "baseline"

    r2 = ingest(db, serial, dex_fixture("snack_read2.dex"))
    deltas = rows(
        db, "SELECT selection, vends, revenue, kind FROM dex.sales_deltas WHERE read_id = %s ORDER BY 1", [read_id(r2)]
    )
    assert deltas == [("10", 3, 450, "normal"), ("11", 2, 400, "normal"), ("12", 1, 100, "normal")]
    assert (r2["reads"][0]["vends_delta"], r2["reads"][0]["revenue_delta"]) == (6, 950)
    assert one(db, "SELECT previous_read_id FROM dex.reads WHERE id = %s", [read_id(r2)])[0] == read_id(r1)

    # The machine reports the same counters again (its last read was not acknowledged).
    again = ingest(db, serial, dex_fixture("snack_read2_rereport.dex"))
    assert again["status"] == "accepted" and again["capture_id"] != r2["capture_id"]
    assert rows(db, "SELECT * FROM dex.sales_deltas WHERE read_id = %s", [read_id(again)]) == []
    assert (again["reads"][0]["vends_delta"], again["reads"][0]["revenue_delta"]) == (0, 0)
    assert any("did not advance" in w for w in again["warnings"]), again["warnings"]

    r3 = ingest(db, serial, dex_fixture("snack_read3.dex"))
    assert rows(db, "SELECT selection, vends, revenue FROM dex.sales_deltas WHERE read_id = %s", [read_id(r3)]) == [
        ("11", 1, 200)
    ]

    # Counted once: all deltas together equal the movement of VA101 from the first read to the last.
    first_va1 = int(records(dex_fixture("snack_read1.dex"), "VA1")[0][1])
    last_va1 = int(records(dex_fixture("snack_read3.dex"), "VA1")[0][1])
    total = one(
        db,
        "SELECT sum(revenue) FROM dex.sales_deltas d JOIN dex.machines m ON m.id = d.machine_id "
        "WHERE m.case_serial = %s",
        [serial],
    )[0]
    assert total == last_va1 - first_va1 == 1150

    # Errors: CJ06 disappears in read 2 and comes back in read 3 while still open: one open
    # error per code, so the same error (2 reads); EJJ is active through the re-report (one
    # error, 3 reads) and inactive in read 3 (stays open until an operator resolves it).
    errs = rows(
        db,
        "SELECT e.code, e.first_read_id, e.last_read_id, e.reads FROM dex.machine_errors e "
        "JOIN dex.machines m ON m.id = e.machine_id WHERE m.case_serial = %s ORDER BY e.first_read_id, e.code",
        [serial],
    )
    assert errs == [
        ("CJ06", read_id(r1), read_id(r3), 2),
        ("EJJ", read_id(r1), read_id(again), 3),
    ]


def test_counter_wraparound_between_two_reads(db, company):
    serial = machine(db, company)
    ingest(db, serial, dex_fixture("wrap_read1.dex"))
    res = ingest(db, serial, dex_fixture("wrap_read2.dex"))
    # 99999998 -> 2 vends and 99999600 -> 200 cents across the 10^8 wrap.
    before = records(dex_fixture("wrap_read1.dex"), "PA2")[0]
    after = records(dex_fixture("wrap_read2.dex"), "PA2")[0]
    vends = int(after[1]) + 10**8 - int(before[1])
    revenue = int(after[2]) + 10**8 - int(before[2])
    assert (vends, revenue) == (4, 600)
    assert rows(
        db, "SELECT selection, vends, revenue, kind FROM dex.sales_deltas WHERE read_id = %s", [read_id(res)]
    ) == [("10", vends, revenue, "wrap")]
    assert one(db, "SELECT vends_delta, revenue_delta, delta_kind FROM dex.reads WHERE id = %s", [read_id(res)]) == (
        4,
        600,
        "wrap",
    )
    assert any("wrapped" in w for w in res["warnings"]), res["warnings"]


def test_controller_reset_is_flagged_and_counted_from_zero(db, company):
    serial = machine(db, company)
    ingest(db, serial, dex_fixture("snack_read1.dex"))
    res = ingest(db, serial, dex_fixture("reset_after_read1.dex"))
    assert rows(
        db, "SELECT selection, vends, revenue, kind FROM dex.sales_deltas WHERE read_id = %s ORDER BY 1", [read_id(res)]
    ) == [("10", 1, 150, "reset"), ("11", 1, 200, "reset")]
    assert one(db, "SELECT vends_delta, revenue_delta, delta_kind FROM dex.reads WHERE id = %s", [read_id(res)]) == (
        2,
        350,
        "reset",
    )
    assert any("controller reset" in w for w in res["warnings"]), res["warnings"]


def test_an_older_read_arriving_late_books_nothing(db, company):
    serial = machine(db, company)
    ingest(db, serial, dex_fixture("snack_read1.dex"))
    r3 = ingest(db, serial, dex_fixture("snack_read3.dex"))
    late = ingest(db, serial, dex_fixture("snack_read2.dex"))  # machine clock 2025-07-02, before read 3's 07-03
    assert late["status"] == "accepted"
    assert one(db, "SELECT delta_kind, vends_delta FROM dex.reads WHERE id = %s", [read_id(late)]) == ("late", None)
    assert rows(db, "SELECT * FROM dex.sales_deltas WHERE read_id = %s", [read_id(late)]) == []
    assert any("older than the previous read" in w for w in late["warnings"]), late["warnings"]
    # The machine's latest read is still read 3, so the next delta is taken against it.
    assert one(
        db,
        "SELECT s.last_read_id FROM dex.machine_state s JOIN dex.machines m ON m.id = s.machine_id "
        "WHERE m.case_serial = %s",
        [serial],
    )[0] == read_id(r3)
    assert (
        one(
            db,
            "SELECT sum(d.revenue) FROM dex.sales_deltas d JOIN dex.machines m ON m.id = d.machine_id "
            "WHERE m.case_serial = %s",
            [serial],
        )[0]
        == 1150
    )


def test_several_blocks_with_an_aborted_one_and_text_around(db, company):
    serial = machine(db, company)
    ingest(db, serial, dex_fixture("snack_read1.dex"))
    raw = dex_fixture("multi_block_aborted.dex")
    assert raw.startswith("TELEMETRY EXPORT") and raw.count("DXS*") == 2 and raw.count("DXE*") == 1
    res = ingest(db, serial, raw)
    assert res["status"] == "accepted" and res["crc_status"] == "ok", res
    assert [x["block"] for x in res["reads"]] == [2], "only the complete block is a read"
    assert any("block 1" in w and "no DXE" in w for w in res["warnings"]), res["warnings"]
    # The complete block is read 2 of the snack machine: its sales against read 1.
    assert (res["reads"][0]["vends_delta"], res["reads"][0]["revenue_delta"]) == (6, 950)
    assert one(db, "SELECT count(*) FROM dex.reads WHERE capture_id = %s", [res["capture_id"]])[0] == 1
    assert one(db, "SELECT dxs_sender FROM dex.reads WHERE id = %s", [read_id(res)])[0] == "RST7654321"


def test_two_complete_blocks_are_two_reads_in_order(db, company):
    serial = machine(db, company)
    res = ingest(db, serial, dex_fixture("snack_read1.dex") + dex_fixture("snack_read2.dex"))
    assert [(x["block"], x["delta_kind"]) for x in res["reads"]] == [(1, "baseline"), (2, "normal")], res
    assert (res["reads"][1]["vends_delta"], res["reads"][1]["revenue_delta"]) == (6, 950)


def test_a_file_of_too_many_blocks_is_rejected(db, company):
    tiny = "DXS*X*VA*V1/1*1\nST*001*0001\nSE*2*0001\nDXE*1*1\n"
    res = ingest(db, machine(db, company), tiny * 101)
    assert res["status"] == "rejected" and res["reject_reason"].startswith("101 DXS blocks"), res
    assert ingest(db, machine(db, company), tiny * 3)["status"] == "accepted"


def test_framing_counts_file_lines_and_keeps_each_block_to_its_own_st_and_dxe(db, company):
    # Block 1 (line 3, after a preamble and a blank line): its ST comes after its DXE. Block 2
    # (line 7): no ST at all. Block 3 (line 10): no DXE of its own - the DXE after the next
    # DXS is block 4's. Block 4 (line 15): complete, with blank lines inside and text after DXE.
    raw = "\r\n".join(
        [
            "MODEM DUMP",
            "",
            "xxDXS*A*VA*V1/1*1",
            "DXE*1*1",
            "ST*001*0001",
            "",
            "DXS*A*VA*V1/1*1",
            "ID1*SN1",
            "DXE*1*1",
            "DXS*A*VA*V1/1*1",
            "ST*001*0001",
            "ID1*SN1",
            "SE*3*0001",
            "   ",
            "DXS*B*VA*V1/1*1",
            "ST*001*0001",
            "",
            "ID1*SN1",
            "SE*3*0001",
            "DXE*1*1",
            "trailer",
        ]
    )
    res = ingest(db, machine(db, company), raw)
    assert res["status"] == "accepted" and [x["block"] for x in res["reads"]] == [4], res
    problems = [w for w in res["warnings"] if "booked nothing" in w]
    assert problems == [
        "block 1 (line 3): no ST segment before DXE; stored raw, booked nothing",
        "block 2 (line 7): no ST segment before DXE; stored raw, booked nothing",
        "block 3 (line 10): no DXE - an interrupted transfer; stored raw, booked nothing",
    ], res["warnings"]
    read = one(
        db, "SELECT dxs_sender, segment_count, se_reported, id1_serial FROM dex.reads WHERE id = %s", [read_id(res)]
    )
    assert read == ("B", 3, 3, "SN1"), "the blank line inside the block is dropped: ST, ID1, SE"


@pytest.mark.parametrize(
    "name,reason",
    [
        ("aborted_only.dex", "no complete DXS..DXE block: block 1 (line 1): no DXE"),
        ("not_dex.txt", "no DXS header: not a DEX audit file"),
    ],
)
def test_malformed_files_are_stored_rejected_and_book_nothing(db, company, name, reason):
    serial = machine(db, company)
    raw = dex_fixture(name)
    res = ingest(db, serial, raw)
    assert res["status"] == "rejected" and res["reads"] == [], res
    assert res["reject_reason"].startswith(reason), res
    assert one(db, "SELECT status, raw, reject_reason FROM dex.captures WHERE id = %s", [res["capture_id"]]) == (
        "rejected",
        raw,
        res["reject_reason"],
    )
    assert one(
        db,
        "SELECT reads, last_read_id FROM dex.machine_state s JOIN dex.machines m ON m.id = s.machine_id "
        "WHERE m.case_serial = %s",
        [serial],
    ) == (0, None)


def test_empty_file_is_rejected(db, company):
    res = ingest(db, machine(db, company), "  \r\n")
    assert (res["status"], res["reject_reason"]) == ("rejected", "empty file")


def test_sentinels_are_not_numbers(db, company):
    res = ingest(db, machine(db, company), dex_fixture("sentinels.dex"))
    r = read_id(res)
    assert one(db, "SELECT value_init, count_init FROM dex.read_totals WHERE read_id = %s AND record = 'VA1'", [r]) == (
        None,
        None,
    )
    assert one(db, "SELECT price, vends_init, value_init FROM dex.read_selections WHERE read_id = %s", [r]) == (
        None,
        None,
        None,
    )
    assert one(db, "SELECT coin_value, coins FROM dex.read_tubes WHERE read_id = %s", [r]) == (10, None)
    assert rows(db, "SELECT * FROM dex.read_temperatures WHERE read_id = %s", [r]) == []
    assert any("not decoded" in w for w in res["warnings"]), res["warnings"]


def test_temperature_decoders_are_per_model(db, company):
    ams = ingest(db, machine(db, company, model="AMS Sensit III", currency="USD"), dex_fixture("ams_style.dex"))
    assert rows(db, "SELECT reading, celsius FROM dex.read_temperatures WHERE read_id = %s", [read_id(ams)]) == [
        ("current", Decimal("5.00"))
    ]
    # The same line on a model without an AMS decoder: kept raw, flagged, not guessed.
    other = ingest(db, machine(db, company, model="Unknown Make"), dex_fixture("ams_style.dex"))
    assert rows(db, "SELECT * FROM dex.read_temperatures WHERE read_id = %s", [read_id(other)]) == []
    assert any("MA5*TEMP*41*5" in w and "not decoded" in w for w in other["warnings"]), other["warnings"]

    serial = machine(db, company, model="Coffee 9")
    res = ingest(db, serial, dex_fixture("detected_temperature.dex"))
    assert rows(
        db, "SELECT reading, celsius FROM dex.read_temperatures WHERE read_id = %s ORDER BY line_no", [read_id(res)]
    ) == [("current", Decimal("6.00")), ("target", Decimal("4.00")), ("current", Decimal("-18.50"))]
    assert one(
        db,
        "SELECT temperature_c, target_temperature_c FROM dex.machine_state s JOIN dex.machines m "
        "ON m.id = s.machine_id WHERE m.case_serial = %s",
        [serial],
    ) == (Decimal("6.00"), Decimal("4.00"))


def test_id4_disagreement_is_recorded_and_the_configuration_wins(db, company):
    res = ingest(db, machine(db, company, currency="EUR", decimals=2), dex_fixture("id4_disagrees.dex"))
    assert res["status"] == "accepted"
    assert any("ID401 declares 3 decimals" in w for w in res["warnings"]), res["warnings"]
    assert any("currency USD" in w and "using EUR" in w for w in res["warnings"]), res["warnings"]
    assert one(db, "SELECT dex_decimals, dex_currency FROM dex.reads WHERE id = %s", [read_id(res)]) == (3, "USD")


def test_the_same_file_twice_is_a_duplicate_counted_once(db, company):
    serial = machine(db, company)
    first = ingest(db, serial, dex_fixture("snack_read1.dex"))
    ingest(db, serial, dex_fixture("snack_read2.dex"))
    # An old file arriving again must not count as a negative delta or a reset.
    again = ingest(db, serial, dex_fixture("snack_read1.dex"))
    assert (again["status"], again["capture_id"], again["reads"]) == ("duplicate", first["capture_id"], [])
    assert one(
        db,
        "SELECT count(*), sum(d.revenue) FROM dex.sales_deltas d JOIN dex.machines m ON m.id = d.machine_id "
        "WHERE m.case_serial = %s",
        [serial],
    ) == (3, 950)
    assert (
        one(
            db,
            "SELECT count(*) FROM dex.captures c JOIN dex.machines m ON m.id = c.machine_id WHERE m.case_serial = %s",
            [serial],
        )[0]
        == 2
    )
    # The same bytes for another machine are that machine's file.
    assert ingest(db, machine(db, company), dex_fixture("snack_read1.dex"))["status"] == "accepted"


def test_a_parser_defect_rejects_the_capture_instead_of_failing(migrated, company):
    # Simulate a defect inside book_read (a write that fails) in a transaction we roll back.
    with psycopg.connect(migrated.url) as conn:
        serial = machine(conn, company)
        conn.execute("ALTER TABLE dex.read_tubes ADD CONSTRAINT test_defect CHECK (coins < 10) NOT VALID")
        res = ingest(conn, serial, dex_fixture("snack_read1.dex"))
        assert res["status"] == "rejected", res
        assert "parser error 23514" in res["reject_reason"], res
        assert one(conn, "SELECT count(*) FROM dex.reads WHERE capture_id = %s", [res["capture_id"]])[0] == 0
        conn.rollback()


def temps(db, res):
    return rows(
        db,
        "SELECT reading, celsius, raw_value, scale FROM dex.read_temperatures WHERE read_id = %s ORDER BY line_no",
        [read_id(res)],
    )


def test_temperature_scale_is_decided_per_model_and_firmware(db, company):
    # No decoder for this make's firmware: whole degrees (4, 4) read as 0.04 °C just as well
    # as 4 °C - kept raw, no degrees, a warning; never a plausible-looking 0.04.
    serial = machine(db, company, model="Fixture Coffee 9")
    res = ingest(db, serial, dex_fixture("detected_whole_degrees_fw4.dex"))
    assert temps(db, res) == [("current", None, Decimal(4), "in_doubt"), ("target", None, Decimal(4), "in_doubt")]
    assert sum("scale in doubt" in w and "FW 4.0" in w for w in res["warnings"]) == 2, res["warnings"]
    assert one(
        db,
        "SELECT temperature_c, target_temperature_c FROM dex.machine_state s JOIN dex.machines m "
        "ON m.id = s.machine_id WHERE m.case_serial = %s",
        [serial],
    ) == (None, None)
    # Hundredths (600 against a desired 400) leave one plausible scale only: inferred, and so
    # recorded on the row (600 °C is no reading).
    res = ingest(db, machine(db, company, model="Fixture Coffee 9"), dex_fixture("detected_hundredths_fw3.dex"))
    assert temps(db, res) == [
        ("current", Decimal("6.00"), Decimal(600), "inferred"),
        ("target", Decimal("4.00"), Decimal(400), "inferred"),
    ]
    assert res["warnings"] == [], res["warnings"]

    # Described per firmware: each file decodes with its own scale, without a warning.
    db.execute(
        "INSERT INTO dex.ma5_decoders (model_pattern, firmware_pattern, ma5_key, layout, divisor, reading, note) "
        "SELECT 'Fixture Coffee%%', fw, key, 'value_unit', div, rd, 'test' FROM (VALUES ('FW 3.%%', 100), ('FW 4.%%', 1)) "
        "f(fw, div), (VALUES ('DETECTED TEMPERATURE', 'current'), ('DESIRED TEMPERATURE', 'target')) k(key, rd)"
    )
    try:
        whole = ingest(
            db, machine(db, company, model="Fixture Coffee 9"), dex_fixture("detected_whole_degrees_fw4.dex")
        )
        assert temps(db, whole) == [
            ("current", Decimal("4.00"), Decimal(4), "decoder"),
            ("target", Decimal("4.00"), Decimal(4), "decoder"),
        ]
        assert whole["warnings"] == [], whole["warnings"]
        hundredths = ingest(
            db, machine(db, company, model="Fixture Coffee 9"), dex_fixture("detected_hundredths_fw3.dex")
        )
        assert [t[1] for t in temps(db, hundredths)] == [Decimal("6.00"), Decimal("4.00")]
        # A firmware-4 decoder given a hundredths file: 600 °C is no reading - raw kept, warned.
        fw4_file = dex_fixture("detected_hundredths_fw3.dex").replace("FW 3.2", "FW 4.1")
        wrong = ingest(db, machine(db, company, model="Fixture Coffee 9"), fw4_file)
        assert [(t[1], t[3]) for t in temps(db, wrong)] == [(None, "in_doubt"), (None, "in_doubt")]
        assert any("600 °C is implausible" in w or "600.00 °C is implausible" in w for w in wrong["warnings"]), wrong[
            "warnings"
        ]
    finally:
        db.execute("DELETE FROM dex.ma5_decoders WHERE note = 'test'")


def test_va1_is_checked_against_the_selections_and_wraps_at_its_register_width(db, company):
    serial = machine(db, company)
    first = ingest(db, serial, dex_fixture("va1_6digit_read1.dex"))
    pa_values = sum(int(e[2]) for e in records(dex_fixture("va1_6digit_read1.dex"), "PA2"))
    assert pa_values == 2999610
    assert any(
        w == "VA101 999610 <> sum of PA203 2999610 (counter_width: VA1 value kept in a 6-digit register)"
        for w in first["warnings"]
    ), first["warnings"]
    assert one(db, "SELECT totals_check, va1_value_modulus FROM dex.reads WHERE id = %s", [read_id(first)]) == (
        "counter_width",
        1000000,
    )
    # 999,610 -> 210 is the 6-digit register wrapping after 600 more, not a controller reset.
    second = ingest(db, serial, dex_fixture("va1_6digit_read2.dex"))
    r = second["reads"][0]
    assert (r["delta_kind"], r["revenue_delta"], r["vends_delta"]) == ("wrap", 600, 4), r
    assert "VA1 since-init counters wrapped at 10^6" in r["warnings"], r["warnings"]

    res = ingest(db, machine(db, company), dex_fixture("va1_mismatch.dex"))
    assert "VA101 5000 <> sum of PA203 4500 (mismatch)" in res["warnings"], res["warnings"]
    assert one(db, "SELECT totals_check FROM dex.reads WHERE id = %s", [read_id(res)]) == ("mismatch",)
    # A file whose totals agree says so.
    ok = ingest(db, machine(db, company), dex_fixture("snack_read1.dex"))
    assert one(db, "SELECT totals_check FROM dex.reads WHERE id = %s", [read_id(ok)]) == ("ok",)


@pytest.mark.parametrize(
    ("late_file", "why"),
    [
        ("late_clock_same_counters.dex", "machine time 2025-07-01 20:00:00 < 2025-07-02 08:00:00"),
        ("late_ea3_counter_back.dex", "EA3 read counter 120 < 121"),
    ],
)
def test_a_late_read_with_unchanged_counters_books_nothing(db, company, late_file, why):
    serial = machine(db, company)
    ingest(db, serial, dex_fixture("snack_read1.dex"))
    read2 = read_id(ingest(db, serial, dex_fixture("snack_read2.dex")))
    late = ingest(db, serial, dex_fixture(late_file))
    r = late["reads"][0]
    assert (r["delta_kind"], r["vends_delta"]) == ("late", None), r
    assert f"older than the previous read ({why}): stored, no sales booked" in r["warnings"], r["warnings"]
    assert rows(db, "SELECT * FROM dex.sales_deltas WHERE read_id = %s", [r["read_id"]]) == []
    assert one(
        db,
        "SELECT s.last_read_id FROM dex.machine_state s JOIN dex.machines m ON m.id = s.machine_id "
        "WHERE m.case_serial = %s",
        [serial],
    ) == (read2,)
    # The next read is measured against read 2, not against the late one: +1 x 200 on 11.
    nxt = ingest(db, serial, dex_fixture("snack_read3.dex"))
    assert one(db, "SELECT previous_read_id, vends_delta FROM dex.reads WHERE id = %s", [read_id(nxt)]) == (read2, 1)


def test_one_file_with_several_machines_routes_each_block_to_its_machine(db, company):
    channel = machine(db, company)
    call_as(
        db,
        "admin",
        "SELECT api.machine_register(%s, %s, %s, %s, %s, %s, %s)",
        ("MULTI-B2", company, "Test hall", "Fixture Snack 1000", "EUR", 2, rid()),
    )
    other_company = "ing-" + uuid.uuid4().hex[:8]
    call_as(db, "admin", "SELECT api.company_create(%s, %s, %s)", (other_company, "Someone else", rid()))
    call_as(
        db,
        "admin",
        "SELECT api.machine_register(%s, %s, %s, %s, %s, %s, %s)",
        ("MULTI-C3", other_company, "Elsewhere", "Fixture Snack 1000", "EUR", 2, rid()),
    )
    res = ingest(db, channel, dex_fixture("multi_machine.dex"))
    assert res["status"] == "accepted", res
    assert [(r["block"], r.get("case_serial")) for r in res["reads"]] == [(1, None), (2, "MULTI-B2")], res["reads"]
    assert rows(
        db,
        "SELECT r.block_no, m.case_serial, r.id1_serial FROM dex.reads r JOIN dex.machines m ON m.id = r.machine_id "
        "WHERE r.capture_id = %s ORDER BY r.block_no",
        [res["capture_id"]],
    ) == [(1, channel, "MULTI-A1"), (2, "MULTI-B2", "MULTI-B2")]
    # Another company's machine is not a destination: the block is rejected, with its reason.
    assert any(
        w.startswith("block 3 (line")
        and "ID101 MULTI-C3 is not the file's machine (MULTI-A1)" in w
        and "no machine of company" in w
        for w in res["warnings"]
    ), res["warnings"]
    assert any("ID101 changes from MULTI-A1 to MULTI-B2: booked to machine MULTI-B2" in w for w in res["warnings"])
    assert one(
        db,
        "SELECT s.last_read_id, s.product_count FROM dex.machine_state s JOIN dex.machines m ON m.id = s.machine_id "
        "WHERE m.case_serial = 'MULTI-B2'",
    ) == (res["reads"][1]["read_id"], 3)
    assert one(
        db,
        "SELECT s.reads FROM dex.machine_state s JOIN dex.machines m ON m.id = s.machine_id "
        "WHERE m.case_serial = 'MULTI-C3'",
    ) == (0,)


def test_a_changed_id101_on_the_same_channel_is_warned(db, company):
    serial = machine(db, company)
    ingest(db, serial, dex_fixture("snack_read1.dex"))
    res = ingest(db, serial, dex_fixture("detected_hundredths_fw3.dex"))
    assert any("ID101 changed from RST7654321 to X1" in w for w in res["warnings"]), res["warnings"]


def test_faults_one_per_code_no_error_and_door_open_are_not_faults_and_resolved_ones_reopen(db, company):
    serial = machine(db, company)

    def errors():
        return rows(
            db,
            "SELECT e.source, e.code, e.detail, e.reads, e.resolved_at IS NULL, e.reopened_at IS NOT NULL "
            "FROM dex.machine_errors e JOIN dex.machines m ON m.id = e.machine_id WHERE m.case_serial = %s "
            "ORDER BY e.source, e.code",
            [serial],
        )

    ingest(db, serial, dex_fixture("faults_read1.dex"))
    # CJ06 and CJ07 from one line; no code 0, no EGS (active only because the door is open
    # for the read); EJK keeps its detail text.
    assert errors() == [
        ("EA2", "EJJ", None, 1, True, False),
        ("EA2", "EJK", "OVERRUN", 1, True, False),
        ("MA5", "CJ06", None, 1, True, False),
        ("MA5", "CJ07", None, 1, True, False),
        ("MA5", "CJ09", "1707*351010", 1, True, False),
    ]
    cj07 = one(
        db,
        "SELECT e.id FROM dex.machine_errors e JOIN dex.machines m ON m.id = e.machine_id "
        "WHERE m.case_serial = %s AND e.code = 'CJ07'",
        [serial],
    )[0]
    call_as(db, "admin", "SELECT api.machine_error_resolve(%s, %s, %s)", (cj07, "cleaned the chute", rid()))
    # The next read still reports CJ07: not fixed, so it reopens (the same error, 2 reads).
    ingest(db, serial, dex_fixture("faults_read2.dex"))
    assert ("MA5", "CJ07", None, 2, True, True) in errors(), errors()
    assert one(
        db,
        "SELECT s.unresolved_errors FROM dex.machine_state s JOIN dex.machines m ON m.id = s.machine_id "
        "WHERE m.case_serial = %s",
        [serial],
    ) == (5,)


def test_since_reset_only_counters_are_the_sales_since_the_previous_read(db, company):
    serial = machine(db, company)
    first = ingest(db, serial, dex_fixture("reset_only_read1.dex"))
    assert first["reads"][0]["delta_kind"] == "baseline"
    second = ingest(db, serial, dex_fixture("reset_only_read2.dex"))
    r = second["reads"][0]
    assert (r["delta_kind"], r["vends_delta"], r["revenue_delta"]) == ("since_reset", 4, 650), r
    assert rows(
        db, "SELECT selection, vends, revenue, kind FROM dex.sales_deltas WHERE read_id = %s ORDER BY 1", [r["read_id"]]
    ) == [("10", 3, 450, "since_reset"), ("11", 1, 200, "since_reset")]
    again = ingest(db, serial, dex_fixture("reset_only_read2_rereport.dex"))["reads"][0]
    assert (again["delta_kind"], again["vends_delta"], again["revenue_delta"]) == ("since_reset", 0, 0), again
    assert rows(db, "SELECT * FROM dex.sales_deltas WHERE read_id = %s", [again["read_id"]]) == []


def test_pa1_with_an_empty_pa101_takes_the_selection_from_pa103(db, company):
    res = ingest(db, machine(db, company), dex_fixture("pa1_selection_in_pa103.dex"))
    r = read_id(res)
    assert rows(
        db,
        "SELECT selection, price, product_code, vends_init, value_init, cardinality(pa7) FROM dex.read_selections "
        "WHERE read_id = %s ORDER BY selection",
        [r],
    ) == [("10", 150, None, 5, 750, 1), ("11", 230, None, 5, 1150, 0)]
    assert "2 PA1 line(s) with an empty PA101: selection number taken from PA103" in res["warnings"], res["warnings"]
    assert any("1 PA1 line(s) without a selection id" in w for w in res["warnings"]), res["warnings"]


# --- read times: capture time, machine clock, receipt ---------------------------------------


def sales_days(db, serial, lo, hi):
    res = call_as(db, "admin", "SELECT api.machine_sales(%s, %s, %s)", (serial, lo, hi))
    return {d["date"]: (d["vends"], d["revenue"], d["reads"]) for d in res["days"] if d["reads"] or d["vends"]}


def summary_entry(db, serial):
    res = call_as(db, "admin", "SELECT api.machines_summary()")
    return next(m for m in res["machines"] if m["case_serial"] == serial)


def test_a_historical_import_is_dated_by_the_machine_clock(db, company):
    serial = machine(db, company)
    r1 = ingest(db, serial, dex_fixture("history_2019_read1.dex"))
    r2 = ingest(db, serial, dex_fixture("history_2019_read2.dex"))
    # The fixtures' EA3 this-read times (elements 3 and 4), a zoneless wall time taken as UTC.
    ea3 = records(dex_fixture("history_2019_read2.dex"), "EA3")[0]
    assert (ea3[2], ea3[3]) == ("20190315", "0930")
    assert (r2["reads"][0]["read_at_source"], r2["reads"][0]["delta_kind"]) == ("machine_clock", "normal"), r2
    assert datetime.fromisoformat(r2["reads"][0]["read_at"]) == datetime.fromisoformat("2019-03-15T09:30:00+00:00")
    assert r1["reads"][0]["read_at"].startswith("2019-03-14")
    # Read 2's 6 vends / 950 fall on 2019-03-15 (read 1 is the baseline on 2019-03-14), not today.
    assert sales_days(db, serial, "2019-03-13", "2019-03-16") == {"2019-03-14": (0, 0, 1), "2019-03-15": (6, 950, 1)}
    today = db.execute("SELECT (now() AT TIME ZONE 'UTC')::date::text").fetchone()[0]
    assert sales_days(db, serial, today, today) == {}
    entry = summary_entry(db, serial)
    assert entry["has_recent_data"] is False and entry["last_read_time_source"] == "machine_clock"
    assert entry["last_read_at"].startswith("2019-03-15") and entry["last_received_at"].startswith(today)
    details = call_as(db, "admin", "SELECT api.machine_details(%s)", (serial,))
    assert (details["machine_clock"], details["ea3_read_time"]) == ("2019-03-15T09:30:00", "2019-03-15T09:30:00")


def test_the_capture_time_wins_over_the_machine_clock(db, company):
    serial = machine(db, company)
    call_as(
        db,
        "admin",
        "SELECT api.dex_ingest(%s, %s, 'test', %s, %s)",
        (serial, dex_fixture("history_2019_read1.dex"), rid(), "2024-05-01T12:00:00Z"),
    )
    res = call_as(
        db,
        "admin",
        "SELECT api.dex_ingest(%s, %s, 'test', %s, %s)",
        (serial, dex_fixture("history_2019_read2.dex"), rid(), "2024-05-02T23:30:00-02:00"),
    )
    assert res["reads"][0]["read_at_source"] == "captured_at", res
    # 23:30 at UTC-2 is 01:30 UTC on 2024-05-03.
    assert sales_days(db, serial, "2024-05-01", "2024-05-03") == {"2024-05-01": (0, 0, 1), "2024-05-03": (6, 950, 1)}
    capture = one(db, "SELECT captured_at FROM dex.captures WHERE id = %s", [res["capture_id"]])[0]
    assert capture == datetime.fromisoformat("2024-05-03T01:30:00+00:00")
    # A capture just now is recent even though the machine's clock says 2019.
    call_as(
        db, "admin", "SELECT api.dex_ingest(%s, %s, 'test', %s, now())", (serial, dex_fixture("snack_read3.dex"), rid())
    )
    assert summary_entry(db, serial)["has_recent_data"] is True


def test_a_machine_clock_that_is_not_believable_dates_the_read_by_its_receipt(db, company):
    serial = machine(db, company)
    raw = dex_fixture("snack_read1.dex").replace("ID5*20250701*0800", "ID5*20991231*2300")
    raw = raw.replace("EA3*120*20250701*0800", "EA3*120*20991231*2300")
    res = ingest(db, serial, raw)
    assert res["reads"][0]["read_at_source"] == "received", res
    assert any("machine clock 2099-12-31 23:00:00 is not believable" in w for w in res["warnings"]), res["warnings"]
    assert summary_entry(db, serial)["has_recent_data"] is True


@pytest.mark.parametrize("captured_at", ["infinity", "-infinity", "2999-01-01T00:00:00Z"])
def test_a_capture_time_not_finite_or_in_the_future_is_a_bad_request(db, company, captured_at):
    serial = machine(db, company)
    with pytest.raises(psycopg.Error) as err:
        call_as(
            db,
            "admin",
            "SELECT api.dex_ingest(%s, %s, 'test', %s, %s)",
            (serial, dex_fixture("snack_read1.dex"), rid(), captured_at),
        )
    assert "captured_at" in str(err.value)
    assert (
        one(
            db,
            "SELECT count(*) FROM dex.captures c JOIN dex.machines m ON m.id = c.machine_id WHERE m.case_serial = %s",
            [serial],
        )[0]
        == 0
    )


# --- G85: a device that never computes a CRC vs a lost byte ---------------------------------


def test_a_constant_fake_g85_is_not_computed_for_that_device_and_a_real_mismatch_stays_loud(db, company):
    fake = machine(db, company)
    first = ingest(db, fake, dex_fixture("g85_fake_constant.dex"))
    assert first["crc_status"] == "mismatch"  # one file cannot tell a fake from corruption
    second = ingest(db, fake, dex_fixture("g85_fake_constant_read2.dex"))
    g85 = [records(dex_fixture(n), "G85")[0][1] for n in ("g85_fake_constant.dex", "g85_fake_constant_read2.dex")]
    assert g85 == ["0000", "0000"]
    assert second["crc_status"] == "not_computed", second
    assert not any("G85" in w or "corrupt" in w for w in second["warnings"]), second["warnings"]
    assert one(db, "SELECT crc_status FROM dex.reads WHERE id = %s", [read_id(second)])[0] == "not_computed"
    assert one(db, "SELECT crc_status FROM dex.captures WHERE id = %s", [second["capture_id"]])[0] == "not_computed"
    # A device whose CRC matches: the same lost byte is a mismatch and a warning.
    good = machine(db, company)
    assert ingest(db, good, dex_fixture("snack_read1.dex"))["crc_status"] == "ok"
    assert ingest(db, good, dex_fixture("snack_read2.dex"))["crc_status"] == "ok"
    lost = ingest(db, good, dex_fixture("g85_corrupt_lost_byte.dex"))
    assert lost["crc_status"] == "mismatch" and any("may be corrupt" in w for w in lost["warnings"]), lost
