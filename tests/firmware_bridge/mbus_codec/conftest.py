"""Fixtures for the M-Bus codec tests: vectors and both decoder implementations.

Every decoding test runs against the pure-Python and the Cython decoder; a
missing Cython build fails here (it must not silently test only one).
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from firmware_bridge.codecs import mbus
from firmware_bridge.codecs.mbus_link import encode_long_frame

VECTORS = Path(__file__).resolve().parents[3].parent / "shared" / "vectors" / "mbus" / "libmbus"
if not VECTORS.is_dir():  # the shared tree sits beside the checkout
    VECTORS = Path("/work/shared/vectors/mbus/libmbus")

IMPLS = ("python", "cython")


def read_hex(path: Path) -> bytes:
    """A vector file: two-digit hex bytes separated by any whitespace."""
    return bytes.fromhex("".join(path.read_text(encoding="ascii").split()))


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Show which decoder ``mbus.decode_frame`` is bound to (as psycopg shows pq)."""
    return [f"meterbill: M-Bus codec {mbus.__impl__} (both are tested)"]


@pytest.fixture(params=IMPLS)
def impl(request: pytest.FixtureRequest) -> ModuleType:
    return mbus.load_impl(request.param)


HEADER = bytes.fromhex("78563412") + bytes.fromhex("2D2C") + bytes((0x08, 0x04, 0x2A, 0x00)) \
    + b"\x00\x00"  # ID 12345678, KAM, version 8, heat, access 42


def rsp_ud(records: bytes, *, ci: int = 0x72, header: bytes = HEADER, a: int = 1) -> bytes:
    """A RSP_UD long frame with the standard 12-byte header and ``records``."""
    return encode_long_frame(0x08, a, ci, header + records)
