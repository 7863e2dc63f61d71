"""A unit's consumption from the store: exchange, interpolation, rollover, flags, provenance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import psycopg
import pytest

from api.errors import NotFoundError
from api.store import (
    building_common_share,
    refresh_rollups,
    store_common_share,
    store_figure,
    unit_consumption,
    validate_meter,
)
from api.store.unit_consumption import store_estimate
from billing_core.consumption import (
    ComparableRoom,
    FlagKind,
    RegisterKind,
    RegisterSpec,
    estimate_from_comparable_rooms,
)
from tests.store.building import add_meter, add_readings, make_building


def test_exchange_and_interpolated_cut_off_give_the_hand_computed_use(
        store_conn: psycopg.Connection) -> None:
    b, units = make_building(store_conn)
    old = add_meter(store_conn, b, "OLD", units[0], installed_on="2020-01-01")
    new = add_meter(store_conn, b, "NEW", units[0], installed_on="2026-01-15")
    # 10 kWh a day throughout: old meter 1000 on 1 Jan … 1140 on 15 Jan 00:00
    add_readings(store_conn, old, [(f"2026-01-{d:02d} 00:00+00", str(1000 + 10 * (d - 1)))
                                for d in range(1, 16)])
    # exchanged 15 Jan 12:00: old final 1145, new start 0; new meter 5 on 16 Jan, +10 a day
    store_conn.execute("""INSERT INTO meter_exchanges (old_meter_id, new_meter_id, exchanged_at,
                                                    old_final_value, new_start_value)
                       VALUES (%s, %s, '2026-01-15 12:00+00', 1145, 0)""", (old, new))
    add_readings(store_conn, new, [(f"2026-{(15 + k) // 31 + 1:02d}-"
                                 f"{(15 + k) % 31 + 1:02d} 00:00+00", str(5 + 10 * k))
                                for k in range(0, 20)])
    refresh_rollups(store_conn, up_to=datetime(2026, 3, 1, tzinfo=UTC))
    start = datetime(2026, 1, 1, 12, tzinfo=UTC)  # between readings: interpolated 1005
    end = datetime(2026, 2, 1, tzinfo=UTC)        # a reading of the new meter: 165
    result = unit_consumption(store_conn, units[0], start, end)
    assert result.figure.quantity == D(305)  # (1145 - 1005) + 165 = 30.5 days × 10
    assert result.figure.method == "linear_interpolation"
    assert [m.serial for m in result.meters] == ["OLD", "NEW"]
    assert [f.kind for f in result.figure.flags] == [FlagKind.EXCHANGE]
    figure_id = store_figure(store_conn, result)
    row = store_conn.execute("SELECT quantity, method, provenance FROM consumption_figures"
                          " WHERE id = %s", (figure_id,)).fetchone()
    assert row is not None and row[0] == D(305) and row[1] == "linear_interpolation"
    prov = row[2]
    assert prov["edges"][0]["method"] == "linear_interpolation"
    assert [r["value"] for r in prov["edges"][0]["readings"]] == ["1000", "1010"]
    assert prov["edges"][1]["method"] == "reading_on_edge"
    assert prov["flags"][0]["details"]["old_final_value"] == "1145"
    linked = store_conn.execute(
        "SELECT f.kind FROM consumption_figure_flags l JOIN consumption_flags f ON f.id = l.flag_id"
        " WHERE l.figure_id = %s", (figure_id,)).fetchall()
    assert linked == [("exchange",)]


def test_rollover_inside_the_period_is_seen_through_the_daily_rollup(
        store_conn: psycopg.Connection) -> None:
    b, units = make_building(store_conn)
    meter = add_meter(store_conn, b, "R1", units[0])
    # five-digit counter, 40,000 a day: 20,000 → 60,000 → 0 (rolled) → 40,000 → 80,000 → 20,000
    values = ["20000", "60000", "0", "40000", "80000", "20000"]
    add_readings(store_conn, meter, [(f"2026-05-{d + 1:02d} 00:00+00", v)
                                  for d, v in enumerate(values)])
    refresh_rollups(store_conn, up_to=datetime(2026, 6, 1, tzinfo=UTC))
    result = unit_consumption(store_conn, units[0], datetime(2026, 5, 1, tzinfo=UTC),
                              datetime(2026, 5, 6, tzinfo=UTC),
                              spec=RegisterSpec(rollover_at=D(100000), rollover_band=D("0.5")))
    assert result.figure.quantity == D(200000)
    assert [f.kind for f in result.figure.flags] == [FlagKind.ROLLOVER, FlagKind.ROLLOVER]


def test_stored_validation_flags_travel_with_the_figure(store_conn: psycopg.Connection) -> None:
    b, units = make_building(store_conn)
    meter = add_meter(store_conn, b, "W1", units[0], medium="cold_water")
    days = [*range(1, 6), *range(20, 29)]
    add_readings(store_conn, meter, [(f"2026-02-{d:02d} 00:00+00", str(d)) for d in days],
                 register="volume_m3")
    flags = validate_meter(store_conn, meter, "volume_m3", datetime(2026, 2, 1, tzinfo=UTC),
                           datetime(2026, 3, 1, tzinfo=UTC))
    assert [f.kind for f in flags] == [FlagKind.GAP]
    again = validate_meter(store_conn, meter, "volume_m3", datetime(2026, 2, 1, tzinfo=UTC),
                           datetime(2026, 3, 1, tzinfo=UTC))
    assert again == flags
    count = store_conn.execute("SELECT count(*) FROM consumption_flags").fetchone()
    assert count == (1,)  # stored once: validation is idempotent
    result = unit_consumption(store_conn, units[0], datetime(2026, 2, 3, tzinfo=UTC),
                              datetime(2026, 2, 25, tzinfo=UTC), medium="cold_water",
                              register="volume_m3")
    assert result.figure.quantity == D(22)
    assert [f.kind for f in result.figure.flags] == [FlagKind.GAP]
    assert "no reading for 15 days" in result.figure.flags[0].reason


def test_unit_without_meter_of_the_medium_is_not_found(store_conn: psycopg.Connection) -> None:
    _, units = make_building(store_conn)
    with pytest.raises(NotFoundError, match=f"unit {units[1]} has no heat meter"):
        unit_consumption(store_conn, units[1], datetime(2026, 1, 1, tzinfo=UTC),
                         datetime(2026, 2, 1, tzinfo=UTC), medium="heat")


def test_building_common_share_is_main_minus_units_and_flags_high_losses(
        store_conn: psycopg.Connection) -> None:
    b, units = make_building(store_conn)
    main = add_meter(store_conn, b, "MAIN", None)
    e1 = add_meter(store_conn, b, "E1", units[0])
    e2 = add_meter(store_conn, b, "E2", units[1])
    add_readings(store_conn, main,
                 [("2026-03-01 00:00+00", "5000"), ("2026-04-01 00:00+00", "6000")])
    add_readings(store_conn, e1, [("2026-03-01 00:00+00", "100"), ("2026-04-01 00:00+00", "500")])
    add_readings(store_conn, e2, [("2026-03-01 00:00+00", "200"), ("2026-04-01 00:00+00", "500")])
    result = building_common_share(store_conn, b, datetime(2026, 3, 1, tzinfo=UTC),
                                   datetime(2026, 4, 1, tzinfo=UTC))
    assert result.share.main_quantity == D(1000)
    assert result.share.common_quantity == D(300)  # 1000 - 400 - 300
    assert result.share.losses_ratio == D("0.3")
    assert [f.kind for f in result.share.flags] == [FlagKind.LOSSES_RATIO]
    assert result.share.flags[0].meter_serial == "MAIN"
    figure_id = store_common_share(store_conn, result)
    row = store_conn.execute("SELECT unit_id, quantity, method, provenance FROM"
                             " consumption_figures WHERE id = %s", (figure_id,)).fetchone()
    assert row is not None and row[0] is None and row[1] == D(300)
    assert row[2] == "main_minus_sub_meters"
    assert row[3]["main_quantity"] == "1000" and row[3]["losses_ratio"] == "0.3"
    assert sorted(u["quantity"] for u in row[3]["units"].values()) == ["300", "400"]
    kinds = store_conn.execute(
        "SELECT f.kind FROM consumption_figure_flags l JOIN consumption_flags f ON f.id = l.flag_id"
        " WHERE l.figure_id = %s", (figure_id,)).fetchall()
    assert kinds == [("losses_ratio",)]


def test_night_flow_is_judged_in_the_buildings_local_night(store_conn: psycopg.Connection) -> None:
    b, units = make_building(store_conn)  # buildings default to Europe/Berlin
    meter = add_meter(store_conn, b, "W2", units[0], medium="cold_water")
    store_conn.execute(
        """INSERT INTO readings (meter_id, register, read_at, value)
           SELECT %s, 'volume_m3', '2026-06-09 22:00+00'::timestamptz + i * INTERVAL '15 min',
                  100 + i * 0.002
             FROM generate_series(0, 24) i""", (meter,))
    flags = validate_meter(store_conn, meter, "volume_m3", datetime(2026, 6, 9, tzinfo=UTC),
                           datetime(2026, 6, 11, tzinfo=UTC))
    assert [f.kind for f in flags] == [FlagKind.NIGHT_FLOW]
    stored = store_conn.execute("SELECT interval_start, interval_end, reason FROM consumption_flags"
                             ).fetchone()
    assert stored is not None
    # 02:00-05:00 CEST is 00:00-03:00 UTC
    assert stored[0] == datetime(2026, 6, 10, tzinfo=UTC)
    assert stored[1] == datetime(2026, 6, 10, 3, tzinfo=UTC)
    assert "leak suspected" in stored[2]


def test_estimate_is_stored_flagged_with_its_basis(store_conn: psycopg.Connection) -> None:
    b, units = make_building(store_conn)
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    estimate = estimate_from_comparable_rooms("U1", D(50), start, end,
                                              [ComparableRoom("U2", D(50), D("1234.5"))])
    figure_id = store_estimate(store_conn, b, units[0], "heat", "energy_kwh", "kWh", estimate)
    row = store_conn.execute("SELECT quantity, estimated, method, provenance"
                             " FROM consumption_figures WHERE id = %s", (figure_id,)).fetchone()
    assert row is not None
    assert row[0] == D("1234.5") and row[1] is True and row[2] == "estimated_comparable_rooms"
    assert row[3]["estimation"]["comparable_units"] == "U2"
    assert row[3]["flags"][0]["kind"] == "estimated"


def test_interval_register_is_summed_from_raw_values(store_conn: psycopg.Connection) -> None:
    b, units = make_building(store_conn)
    meter = add_meter(store_conn, b, "L1", units[0])
    # a load profile: 0.25 kWh in each quarter hour ending at read_at, for two days
    store_conn.execute(
        """INSERT INTO readings (meter_id, register, read_at, value)
           SELECT %s, 'energy_interval_kwh', '2026-08-01 00:15+00'::timestamptz
                      + i * INTERVAL '15 min', 0.25
             FROM generate_series(0, 191) i""", (meter,))
    refresh_rollups(store_conn, up_to=datetime(2026, 8, 3, tzinfo=UTC))
    spec = RegisterSpec(kind=RegisterKind.INTERVAL, interval=timedelta(minutes=15))
    result = unit_consumption(store_conn, units[0], datetime(2026, 8, 1, 6, tzinfo=UTC),
                              datetime(2026, 8, 2, 6, 7, 30, tzinfo=UTC),
                              register="energy_interval_kwh", spec=spec)
    # 24 h at 1 kWh/h, plus half of the quarter hour 06:00-06:15 (0.125)
    assert result.figure.quantity == D("24.125")
