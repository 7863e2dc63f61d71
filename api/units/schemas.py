"""Response schemas for units, their readings and consumption."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel


class UnitPublic(BaseModel):
    id: int
    code: str
    name: str
    building_id: int
    building_code: str
    living_area_m2: Decimal
    heated_area_m2: Decimal
    persons: int
    meter_serials: list[str]


class ReadingPublic(BaseModel):
    meter_serial: str
    register_name: str
    read_at: datetime
    value: Decimal


class ConsumptionPublic(BaseModel):
    unit_id: int
    meter_serial: str
    register_name: str
    period_start: datetime
    period_end: datetime
    start_value: Decimal
    start_read_at: datetime
    end_value: Decimal
    end_read_at: datetime
    consumption: Decimal
    physical_unit: str
    method: str
