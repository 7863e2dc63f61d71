"""Multi-telegram reads: 1Fh "more records follow" telegrams join into one set."""

from __future__ import annotations

from decimal import Decimal
from types import ModuleType

import pytest

from firmware_bridge.codecs.mbus_multi import MultiTelegramAssembler, assemble
from firmware_bridge.errors import FrameError

from .conftest import HEADER, rsp_ud


def _telegrams(impl: ModuleType):
    first = impl.decode_frame(rsp_ud(bytes.fromhex("0413E8030000" "1FCAFE")))
    second = impl.decode_frame(rsp_ud(bytes.fromhex("0414D0070000" "1F")))
    last = impl.decode_frame(rsp_ud(bytes.fromhex("04060A000000")))
    return first, second, last


def test_three_telegrams_join_in_order(impl: ModuleType) -> None:
    reading = assemble(_telegrams(impl))
    assert reading.complete and reading.telegram_count == 3
    assert [r.value for r in reading.records] == [Decimal("1.000"), Decimal("20.00"),
                                                  Decimal("10000")]
    assert reading.manufacturer_data == (b"\xca\xfe", b"")
    assert reading.header.id == 12345678


def test_incremental_assembler_reports_done(impl: ModuleType) -> None:
    assembler = MultiTelegramAssembler()
    first, second, last = _telegrams(impl)
    assert assembler.add(first) is False
    assert assembler.result().complete is False
    assert assembler.add(second) is False
    assert assembler.add(last) is True
    with pytest.raises(FrameError, match="arrived after the last one"):
        assembler.add(last)


def test_incomplete_sequence_raises(impl: ModuleType) -> None:
    first, second, _ = _telegrams(impl)
    with pytest.raises(FrameError, match="still announces more records"):
        assemble([first, second])


def test_telegram_from_another_slave_raises(impl: ModuleType) -> None:
    first, _, _ = _telegrams(impl)
    other = impl.decode_frame(rsp_ud(bytes.fromhex("0413E8030000"),
                                     header=bytes.fromhex("11111111") + HEADER[4:]))
    with pytest.raises(FrameError, match="comes from KAM 11111111"):
        assemble([first, other])
