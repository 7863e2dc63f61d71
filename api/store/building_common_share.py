"""Main meter minus sub-meters for a building and period, from the store.

Each side is measured the way a unit's consumption is (edge readings,
interpolation to the cut-off, exchanges and rollovers crossed;
``unit_consumption``), then ``billing_core.consumption.common_share``
subtracts and flags an implausible losses ratio.  The sub-meter figures and
the main meter's provenance come along, so the common share on a bill can be
explained line by line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import psycopg

from api.errors import NotFoundError
from api.store.unit_consumption import (
    ChainMeter,
    meter_consumption,
    store_flag,
    unit_consumption,
)
from billing_core.consumption import (
    CommonShare,
    PeriodConsumption,
    RegisterSpec,
    common_share,
)
from billing_core.consumption.common_share import DEFAULT_LOSSES_RANGE


@dataclass(frozen=True, slots=True)
class BuildingCommonShare:
    share: CommonShare
    main: PeriodConsumption
    units: dict[int, PeriodConsumption]
    main_meter: ChainMeter
    medium: str
    register: str


def building_common_share(conn: psycopg.Connection, building_id: int, start: datetime,
                          end: datetime, medium: str = "electricity",
                          register: str = "energy_import_kwh",
                          spec: RegisterSpec | None = None,
                          losses_range: tuple[Decimal, Decimal] = DEFAULT_LOSSES_RANGE
                          ) -> BuildingCommonShare:
    """The building's common share of one medium over [start, end)."""
    row = conn.execute(
        """SELECT id, serial, physical_unit, building_id FROM meters
            WHERE building_id = %s AND medium = %s AND role = 'main'
              AND (removed_on IS NULL OR removed_on >= %s::date)
            ORDER BY installed_on DESC NULLS LAST, id DESC LIMIT 1""",
        (building_id, medium, start)).fetchone()
    if row is None:
        raise NotFoundError(f"building {building_id} has no {medium} main meter")
    main_meter = ChainMeter(int(row[0]), str(row[1]), str(row[2]), int(row[3]))
    main = meter_consumption(conn, [main_meter], [], register, start, end, spec)
    unit_ids = [int(r[0]) for r in conn.execute(
        """SELECT DISTINCT unit_id FROM meters
            WHERE building_id = %s AND medium = %s AND role = 'sub' ORDER BY unit_id""",
        (building_id, medium)).fetchall()]
    units = {u: unit_consumption(conn, u, start, end, medium, register, spec).figure
             for u in unit_ids}
    share = common_share(str(building_id), start, end, main.quantity,
                         {str(u): f.quantity for u, f in units.items()}, losses_range,
                         main_meter.serial)
    return BuildingCommonShare(share, main, units, main_meter, medium, register)


def store_common_share(conn: psycopg.Connection, result: BuildingCommonShare) -> int:
    """Keep the common share as a building figure (no unit) with its provenance and flags.

    The provenance holds the main meter's edges and readings, every unit's
    quantity and method, and the losses ratio, so the common line of a bill
    can be traced to the readings on both sides.
    """
    share = result.share
    provenance = result.main.provenance.as_dict()
    provenance["method"] = "main_minus_sub_meters"
    provenance["main_quantity"] = str(share.main_quantity)
    provenance["units"] = {str(u): {"quantity": str(f.quantity), "method": f.method,
                                    "flags": [fl.as_dict() for fl in f.flags]}
                           for u, f in result.units.items()}
    provenance["losses_ratio"] = str(share.losses_ratio)
    provenance["flags"] = [f.as_dict() for f in (*result.main.flags, *share.flags)]
    row = conn.execute(
        """INSERT INTO consumption_figures
               (building_id, unit_id, meter_id, medium, register, period_start, period_end,
                quantity, physical_unit, method, estimated, provenance)
           VALUES (%s, NULL, %s, %s, %s, %s, %s, %s, %s, 'main_minus_sub_meters',
                   %s, %s) RETURNING id""",
        (result.main_meter.building_id, result.main_meter.meter_id, result.medium,
         result.register, share.start, share.end, share.common_quantity,
         result.main_meter.physical_unit,
         result.main.estimated or any(f.estimated for f in result.units.values()),
         json.dumps(provenance))).fetchone()
    assert row is not None
    figure_id = int(row[0])
    for flag in (*result.main.flags, *share.flags):
        flag_id = store_flag(conn, result.main_meter.meter_id, result.register, flag)
        conn.execute("INSERT INTO consumption_figure_flags (figure_id, flag_id) VALUES (%s, %s)"
                     " ON CONFLICT DO NOTHING", (figure_id, flag_id))
    return figure_id
