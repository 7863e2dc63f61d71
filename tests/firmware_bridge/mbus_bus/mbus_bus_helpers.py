"""Helpers for the M-Bus bus tests: telegrams, slaves and timing constants.

Timeouts are short because the simulator answers within microseconds on a
pty; they only bound how long the master waits for silence (an absent
slave), they never decide a pass. 38400 baud keeps derived timings small.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from firmware_bridge.codecs.mbus_encode import (
    DataField,
    DataRecord,
    FixedHeader,
    ManufacturerData,
    VariableDataTelegram,
)
from firmware_bridge.transports.mbus_master import MBusMaster
from simulators.mbus_bus import MBusBus
from simulators.mbus_slave import MBusSlave

# The shared reference tree sits beside the checkout (../shared/vectors).
VECTORS = Path(__file__).resolve().parents[3].parent / "shared" / "vectors" / "mbus" / "libmbus"
BAUD = 38400
RESPONSE_TIMEOUT_S = 0.05
FRAME_GAP_S = 0.02
MEDIUM_WATER = 0x07
VIF_VOLUME_L = 0x13  # volume, 10^-3 m^3 (EN 13757-3 table 10: E001 0nnn, n=3)


def water_meter(ident: int, volume_l: int, *, manufacturer: str = "ABC",
                more: bool = False, storage: int = 0) -> VariableDataTelegram:
    """A telegram with one volume record, optionally flagged 'more records follow'."""
    return VariableDataTelegram(
        FixedHeader(ident, manufacturer, 1, MEDIUM_WATER, access_no=ident % 256),
        (DataRecord(DataField.INT32, VIF_VOLUME_L, volume_l, storage=storage),),
        ManufacturerData(b"", more_records_follow=True) if more else None,
    )


def slave(ident: int, primary: int = 0, **kwargs: object) -> MBusSlave:
    """A slave answering one water-meter telegram."""
    return MBusSlave.from_encoded(
        [water_meter(ident, 1000 + primary)], primary_address=primary, **kwargs  # type: ignore[arg-type]
    )


BusFactory = Callable[..., tuple[MBusMaster, MBusBus]]
