"""The real M-Bus master against the simulated bus through a pseudo-terminal."""

from __future__ import annotations

from decimal import Decimal

import pytest

from firmware_bridge.codecs.mbus import decode_user_data
from firmware_bridge.codecs.mbus_link import LongFrame, encode_long_frame
from firmware_bridge.errors import FrameError, TransportError
from firmware_bridge.transports.mbus_master import (
    Probe,
    SecondaryAddress,
    SecondaryMask,
    more_records_follow,
)
from simulators.mbus_slave import Fault, MBusSlave, hex_file_bytes

from .mbus_bus_helpers import VECTORS, BusFactory, slave, water_meter

# A scan waits out silence on most of its ~100 probes; the pty simulator
# answers in well under a millisecond, and a late answer only makes the scan
# descend one digit further (it then still finds the slave).
SCAN_TIMEOUT_S = 0.03


def _volume(frame: LongFrame) -> Decimal:
    telegram = decode_user_data(frame.c, frame.a, frame.ci, frame.data)
    return telegram.records[0].value  # type: ignore[union-attr, return-value]


def test_primary_read_returns_the_slaves_telegram(pty_bus: BusFactory) -> None:
    master, _ = pty_bus([slave(11111111, primary=5), slave(22222222, primary=7)])
    (frame,) = master.read(7)
    assert frame.a == 7
    telegram = decode_user_data(frame.c, frame.a, frame.ci, frame.data)
    assert telegram.header.id == 22222222  # type: ignore[union-attr]
    assert telegram.records[0].value == Decimal("1.007")  # type: ignore[union-attr]
    assert telegram.records[0].unit == "m^3"  # type: ignore[union-attr]


def test_snd_nke_is_acknowledged_and_silence_is_a_transport_error(pty_bus: BusFactory) -> None:
    master, _ = pty_bus([slave(11111111, primary=5)], max_data_retry=1)
    master.send_nke(5)
    with pytest.raises(TransportError, match=r"no acknowledge \(E5\).*after 2 attempts"):
        master.send_nke(6)
    with pytest.raises(TransportError, match="REQ_UD2 to address 6: no answer"):
        master.read(6)


def test_multi_telegram_read_follows_1f_with_fcb_toggling(pty_bus: BusFactory) -> None:
    meter = MBusSlave.from_encoded(
        [water_meter(33333333, 1, more=True), water_meter(33333333, 2, more=True),
         water_meter(33333333, 3)],
        primary_address=9,
    )
    master, _ = pty_bus([meter])
    frames = master.read(9)
    assert [_volume(f) for f in frames] == [Decimal("0.001"), Decimal("0.002"), Decimal("0.003")]
    assert [more_records_follow(f) for f in frames] == [True, True, False]
    assert meter.requests == 3


def test_a_new_master_starts_the_sequence_over_with_snd_nke(pty_bus: BusFactory) -> None:
    meter = MBusSlave.from_encoded(
        [water_meter(33333333, 1, more=True), water_meter(33333333, 2, more=True),
         water_meter(33333333, 3)],
        primary_address=9,
    )
    master, _ = pty_bus([meter])
    assert len(master.read(9)) == 3  # FCB 1, 0, 1: the slave's last FCB is 1
    # A master that skips the link reset starts with FCB 1 again, which the
    # slave must take as "repeat the last telegram" ...
    stale = type(master)(master.stream)
    assert [_volume(f) for f in stale.read(9, reset_link=False)] == [Decimal("0.003")]
    # ... while SND_NKE first gives the whole reading from its first telegram.
    fresh = type(master)(master.stream)
    assert [_volume(f) for f in fresh.read(9)] == [
        Decimal("0.001"), Decimal("0.002"), Decimal("0.003")]


def test_lost_answer_is_asked_again_with_same_fcb_and_not_skipped(pty_bus: BusFactory) -> None:
    # The slave's second answer is lost; the retry keeps FCB, so the slave
    # repeats telegram 2 instead of moving on to telegram 3.
    meter = MBusSlave.from_encoded(
        [water_meter(44444444, 1, more=True), water_meter(44444444, 2, more=True),
         water_meter(44444444, 3)],
        primary_address=3, faults=[None, None, Fault.NO_ANSWER],  # E5 to SND_NKE, t1, t2
    )
    master, _ = pty_bus([meter])
    frames = master.read(3)
    assert [_volume(f) for f in frames] == [Decimal("0.001"), Decimal("0.002"), Decimal("0.003")]
    assert meter.requests == 4


def test_wrong_checksum_is_retried(pty_bus: BusFactory) -> None:
    meter = slave(55555555, primary=4, faults=[None, Fault.WRONG_CHECKSUM, Fault.GARBAGE])
    master, _ = pty_bus([meter])
    (frame,) = master.read(4)
    assert _volume(frame) == Decimal("1.004")
    assert master.noise_bytes > 0


def test_persistent_bad_checksum_raises_frame_error(pty_bus: BusFactory) -> None:
    master, _ = pty_bus([slave(55555555, primary=4, always_fault=Fault.WRONG_CHECKSUM)],
                       max_data_retry=2)
    with pytest.raises(FrameError, match=r"REQ_UD2 to address 4.*without a valid frame") as info:
        master.read(4)
    assert (info.value.offset, info.value.field) == (0, "frame")


def test_persistent_garbage_raises_frame_error_naming_the_bytes(pty_bus: BusFactory) -> None:
    master, _ = pty_bus([slave(55555555, primary=4, always_fault=Fault.GARBAGE)],
                       max_data_retry=1)
    with pytest.raises(FrameError, match=r"bytes without a valid frame \([0-9A-F]{2} "):
        master.read(4)


def test_slow_answer_within_the_timeout_is_read(pty_bus: BusFactory) -> None:
    meter = slave(66666666, primary=8, always_fault=Fault.SLOW, slow_delay_s=0.05)
    master, _ = pty_bus([meter], response_timeout_s=1.0, max_data_retry=0)
    (frame,) = master.read(8)
    assert _volume(frame) == Decimal("1.008")


def test_answer_slower_than_the_timeout_is_recovered_by_retry(pty_bus: BusFactory) -> None:
    meter = slave(66666666, primary=8, faults=[None, Fault.SLOW], slow_delay_s=0.3)
    master, _ = pty_bus([meter], response_timeout_s=0.1, max_data_retry=5)
    (frame,) = master.read(8)
    assert _volume(frame) == Decimal("1.008")
    assert meter.requests >= 2


def test_secondary_select_and_read(pty_bus: BusFactory) -> None:
    target = SecondaryAddress("12345678", 0x0443, 1, 0x07)  # "ABC" version 1 water
    master, _ = pty_bus([slave(12345678, primary=1), slave(12345679, primary=2)])
    assert master.select(str(target)) is Probe.SINGLE
    (frame,) = master.read_secondary(target)
    assert SecondaryAddress.from_header(frame.data) == target
    assert _volume(frame) == Decimal("1.001")


def test_selection_of_another_slave_deselects_the_first(pty_bus: BusFactory) -> None:
    a, b = slave(12345678, primary=1), slave(87654321, primary=2)
    master, _ = pty_bus([a, b])
    assert master.select("12345678FFFFFFFF") is Probe.SINGLE
    assert a.selected and not b.selected
    assert master.select("87654321FFFFFFFF") is Probe.SINGLE
    assert b.selected and not a.selected
    (frame,) = master.read(0xFD)
    assert SecondaryAddress.from_header(frame.data).id == 87654321
    master.send_nke(0xFD)  # SND_NKE to FDh: acknowledged, then deselected
    assert not b.selected
    with pytest.raises(TransportError, match="REQ_UD2 to address 253: no answer"):
        master.request_ud2(0xFD)


def test_select_matching_nothing_and_matching_two(pty_bus: BusFactory) -> None:
    master, bus = pty_bus([slave(12345678, primary=1), slave(12349999, primary=2)])
    assert master.select("99999999FFFFFFFF") is Probe.NOTHING
    assert master.select("1234FFFFFFFFFFFF") is Probe.COLLISION
    assert bus.collisions == 1
    with pytest.raises(TransportError, match="select 9999999904430107: no slave answered"):
        master.read_secondary("9999999904430107")


def test_manufacturer_version_medium_wildcards(pty_bus: BusFactory) -> None:
    master, _ = pty_bus([
        MBusSlave.from_encoded([water_meter(10000001, 1, manufacturer="KAM")]),
        MBusSlave.from_encoded([water_meter(10000001, 2, manufacturer="ABC")]),
    ])
    kam = SecondaryMask.parse("10000001" + "2C2D" + "FFFF")
    assert master.select(kam) is Probe.SINGLE
    assert master.select("10000001FFFF01FF") is Probe.COLLISION
    assert master.select("10000001FFFF0207") is Probe.NOTHING


def test_wildcard_scan_finds_every_slave(pty_bus: BusFactory) -> None:
    ids = [11223344, 11223355, 11229900, 11500000, 72000000]
    master, bus = pty_bus([slave(i, primary=n + 1) for n, i in enumerate(ids)],
                          response_timeout_s=SCAN_TIMEOUT_S)
    found: list[SecondaryAddress] = []
    result = master.scan_secondary(on_found=found.append)
    assert sorted(a.id for a in result.found) == ids
    assert found == result.found
    assert all(str(a).endswith("04430107") for a in result.found)
    assert result.unresolved == []
    assert bus.collisions >= 5  # 1..., 11..., 112..., 1122..., 11223...


def test_scan_reports_two_slaves_with_the_same_address(pty_bus: BusFactory) -> None:
    # Two libmbus vectors from the same Itron meter (ID 11490378): same
    # secondary address, so no selection can tell them apart.
    files = [VECTORS / "test-frames" / "ACW_Itron-BM-plus-m.hex",
             VECTORS / "test-frames" / "itron_bm_+m.hex"]
    master, _ = pty_bus([MBusSlave.from_hex_files([f], primary_address=8) for f in files])
    result = master.scan_secondary("1149037FFFFFFFFF")
    assert result.found == []
    assert [str(m) for m in result.unresolved] == ["11490378FFFFFFFF"]
    with pytest.raises(FrameError, match="more than one slave answered"):
        master.read_secondary("1149037804770E16")


def test_replayed_vectors_come_back_byte_for_byte(pty_bus: BusFactory) -> None:
    names = ["ACW_Itron-BM-plus-m", "GWF-MTKcoder", "kamstrup_382_005", "abb_f95"]
    wire = {n: hex_file_bytes(VECTORS / "test-frames" / f"{n}.hex") for n in names}
    slaves = [MBusSlave.from_hex_files([VECTORS / "test-frames" / f"{n}.hex"],
                                       primary_address=wire[n][5]) for n in names]
    master, _ = pty_bus(slaves, response_timeout_s=SCAN_TIMEOUT_S)
    for name in names:
        (frame,) = master.read(wire[name][5])
        assert encode_long_frame(frame.c, frame.a, frame.ci, frame.data) == wire[name]
    found = master.scan_secondary().found
    assert sorted(str(a) for a in found) == sorted(str(s.secondary_address) for s in slaves)


def test_application_reset_restarts_the_telegram_sequence(pty_bus: BusFactory) -> None:
    meter = MBusSlave.from_encoded(
        [water_meter(77777777, 1, more=True), water_meter(77777777, 2)], primary_address=12
    )
    master, _ = pty_bus([meter])
    first = master.request_ud2(12)
    second = master.request_ud2(12)
    assert (_volume(first), _volume(second)) == (Decimal("0.001"), Decimal("0.002"))
    master.application_reset(12)
    assert meter.application_resets == 1
    assert _volume(master.request_ud2(12)) == Decimal("0.001")
    master.application_reset(12, subcode=0x10)
    assert meter.application_resets == 2


def test_baud_rate_change_is_acknowledged_and_applied(pty_bus: BusFactory) -> None:
    meter = slave(88888888, primary=20)
    master, _ = pty_bus([meter])
    master.set_baudrate(20, 9600)
    assert meter.baudrate == 9600
    assert master.stream.baudrate == 9600  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="baudrate = 14400"):
        master.set_baudrate(20, 14400)


def test_primary_scan_lists_answering_addresses(pty_bus: BusFactory) -> None:
    master, _ = pty_bus([slave(1, primary=3), slave(2, primary=17), slave(3, primary=17),
                         slave(4, primary=19)], max_search_retry=0)
    assert list(master.scan_primary(range(0, 20))) == [
        (3, Probe.SINGLE), (17, Probe.COLLISION), (19, Probe.SINGLE)]


def test_invalid_addresses_are_refused_before_sending(pty_bus: BusFactory) -> None:
    master, bus = pty_bus([slave(1, primary=3)])
    with pytest.raises(ValueError, match="primary address = 251"):
        master.read(251)
    with pytest.raises(ValueError, match="16 hex characters"):
        master.select("1234")
    with pytest.raises(ValueError, match="16 hex characters"):
        master.select("1234567GFFFFFFFF")
    with pytest.raises(ValueError, match="F in the ID is a wildcard"):
        master.read_secondary("1234567F04430107")
    assert bus.frames_heard == 0


def test_echo_of_the_masters_own_frames_is_skipped(pty_bus: BusFactory) -> None:
    meter = MBusSlave.from_encoded(
        [water_meter(12121212, 1, more=True), water_meter(12121212, 2)], primary_address=6
    )
    master, _ = pty_bus([meter, slave(34343434, primary=7)], echo=True)
    assert [_volume(f) for f in master.read(6)] == [Decimal("0.001"), Decimal("0.002")]
    assert master.echoes == 3  # SND_NKE and two REQ_UD2
    assert master.select("34343434FFFFFFFF") is Probe.SINGLE
    assert master.noise_bytes == 0


def test_collided_answers_never_read_as_one_clean_answer() -> None:
    from firmware_bridge.codecs.mbus_link import SingleChar, find_link_frame
    from simulators.mbus_bus import collide

    garbled = collide([b"\xe5", b"\xe5"])
    assert garbled != b"\xe5"
    frame, used = find_link_frame(garbled)
    assert not (isinstance(frame, SingleChar) and used == len(garbled))
    long_a = encode_long_frame(0x08, 1, 0x72, bytes(12))
    long_b = encode_long_frame(0x08, 2, 0x72, bytes(12))
    assert find_link_frame(collide([long_a, long_b]))[0] is None


def test_a_babbling_line_ends_in_frame_error_not_a_hang(pty_bus: BusFactory) -> None:
    noisy = slave(1, primary=1, always_fault=Fault.GARBAGE, garbage_bytes=3000)
    master, _ = pty_bus([noisy], max_data_retry=0)
    with pytest.raises(FrameError, match=r"REQ_UD2 to address 1 .*bytes without a valid frame"):
        master.read(1, reset_link=False)
    assert 0 < master.noise_bytes <= 3000


def test_a_meter_with_hex_digits_in_its_id_is_found_and_read(pty_bus: BusFactory) -> None:
    # EN 13757-3 wants BCD, but a meter sending 1234ABCD must not break a scan.
    odd = MBusSlave([(0x72, bytes.fromhex("CDAB3412" "4304" "01" "07") + bytes(4))],
                    primary_address=1)
    master, _ = pty_bus([odd, slave(55000000, primary=2)], response_timeout_s=SCAN_TIMEOUT_S)
    found = master.scan_secondary().found
    assert sorted(str(a) for a in found) == ["1234ABCD04430107", "5500000004430107"]
    (frame,) = master.read_secondary("1234ABCD04430107")
    assert frame.data[:4] == bytes.fromhex("CDAB3412")
