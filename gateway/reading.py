"""One meter reading as the gateway hands it on: the unit of the readings write contract."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Reading:
    """A register value of a meter at an instant.

    ``meter_serial`` names the meter as the server knows it (``meters.serial``);
    ``register`` is our vocabulary (``energy_import_kwh``, ``volume_m3`` …);
    ``read_at`` is the UTC-aware poll time; ``value`` the exact decimal the
    meter reported.
    """

    meter_serial: str
    register: str
    read_at: datetime
    value: Decimal

    def __post_init__(self) -> None:
        if self.read_at.tzinfo is None:
            raise ValueError(f"reading of {self.meter_serial}/{self.register}: read_at is naive")
        if not self.value.is_finite():
            raise ValueError(f"reading of {self.meter_serial}/{self.register} at "
                             f"{self.read_at.isoformat()}: value {self.value} is not a number")
