"""Wired M-Bus master: the request/response side of EN 13757-2 and -3.

One master owns one line (a :class:`~firmware_bridge.transports.serial_port.SerialPort`
or a :class:`~firmware_bridge.transports.tcp_stream.TcpStream`); requests never
interleave. What it speaks:

* ``SND_NKE`` (``10 40 A CS 16``): link reset; the slave answers ``E5`` and
  expects FCB = 1 in the next REQ_UD2 (EN 13757-2 5.5).
* ``REQ_UD2`` (``10 5B|7B A CS 16``): "send class 2 data". FCB toggles after
  every answered request; a slave that sees the same FCB again repeats its
  last telegram, which is what makes a retry safe. A telegram whose records
  end in DIF 1Fh says "more records follow": the master asks again with FCB
  toggled and collects frames until a telegram without 1Fh (multi-telegram
  read, EN 13757-3 6.4.2; libmbus ``mbus_sendrecv_request``).
* Primary addresses 1..250 (0 = unconfigured, 253 = the slave selected by
  secondary address, 254 = test, 255 = broadcast without answer).
* Secondary addressing (EN 13757-3 clause 11 / annex on selection): ``SND_UD``
  to A = FDh with CI 52h and eight bytes ``ID(4, BCD) Man(2) Ver(1) Med(1)``;
  each ID digit may be Fh and Man/Ver/Med FFFFh/FFh as wildcards. Slaves
  that match become selected and answer ``E5``; the others deselect. When
  more than one matches, their answers collide on the wire. A slave stays
  selected until a non-matching selection, a CI 56h selection or SND_NKE to
  FDh, so a secondary read is select + REQ_UD2 to FDh without a link reset
  (FCB starts at 1; a slave left mid-sequence by another master may first
  repeat its last telegram).
* Wildcard scan: the tree search of libmbus ``mbus_scan_2nd_address_range``.
  Per ID digit 0..9 the master selects the mask, nothing → next digit,
  one ``E5`` → REQ_UD2 to FDh reads the full address, collision → fix this
  digit and descend to the next one.
* Application reset (CI 50h, optional subcode) and baud-rate change
  (CI B8h..BFh = 300..38400 baud), each acknowledged by ``E5``.

Errors: silence after all retries is a
:class:`~firmware_bridge.errors.TransportError` naming the request and the
line; bytes that never formed a valid frame (bad checksum, collision
garbage) are a :class:`~firmware_bridge.errors.FrameError` showing them.
Retries keep the FCB, so a retried REQ_UD2 never skips a telegram.

Masks and addresses are 16 characters as libmbus prints them:
``IIIIIIII MMMM VV DD`` = 8 ID digits, manufacturer field in hex, version,
medium (``FFFFFFFFFFFFFFFF`` selects everything).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from firmware_bridge.codecs.mbus_link import (
    ADDRESS_NETWORK_LAYER,
    FCB,
    REQ_UD2,
    SND_NKE,
    SND_UD,
    ControlFrame,
    LinkFrame,
    LongFrame,
    ShortFrame,
    SingleChar,
    encode_control_frame,
    encode_long_frame,
    encode_short_frame,
    find_link_frame,
)
from firmware_bridge.errors import FrameError, TransportError

PROTOCOL = "M-Bus"
CI_APPLICATION_RESET = 0x50
CI_SELECT_SLAVE = 0x52
CI_BAUD_RATE = {300: 0xB8, 600: 0xB9, 1200: 0xBA, 2400: 0xBB, 4800: 0xBC, 9600: 0xBD,
                19200: 0xBE, 38400: 0xBF}
CI_VARIABLE_RESPONSES = (0x72, 0x76)  # 12-byte header; 76h is the MSB-first variant
# Where the data records start in a variable data response, by CI: long
# header (72h/76h), short header (7Ah: access no, status, signature), none (78h).
RECORDS_START_BY_CI = {0x72: 12, 0x76: 12, 0x7A: 4, 0x78: 0}
PRIMARY_MIN, PRIMARY_MAX = 1, 250
WILDCARD_MASK = "F" * 16
DIF_MORE_RECORDS_FOLLOW = 0x1F
C_DIRECTION_MASTER = 0x40
DEFAULT_MAX_DATA_RETRY = 3  # libmbus max_data_retry
DEFAULT_MAX_SEARCH_RETRY = 1  # libmbus max_search_retry
DEFAULT_MAX_FRAMES = 16
LONG_FRAME_MAX_BYTES = 261  # 68 L L 68 + L (<= 255) + CS 16
MAX_RECEPTION_BYTES = 4 * LONG_FRAME_MAX_BYTES


class ByteStream(Protocol):
    """What the master needs from a line; SerialPort and TcpStream provide it."""

    @property
    def endpoint(self) -> str: ...
    @property
    def response_timeout_s(self) -> float: ...
    @property
    def frame_gap_s(self) -> float: ...
    def write(self, data: bytes) -> None: ...
    def read(self, timeout_s: float) -> bytes: ...
    def discard_input(self) -> None: ...
    def set_baudrate(self, baudrate: int) -> None: ...
    def close(self) -> None: ...


class Probe(Enum):
    """Outcome of selecting a secondary address mask (libmbus MBUS_PROBE_*)."""

    NOTHING = "nothing"
    SINGLE = "single"
    COLLISION = "collision"


def manufacturer_code(field_value: int) -> str:
    """16-bit manufacturer field to its three letters (EN 13757-3 6.3.2)."""
    return "".join(chr(((field_value >> shift) & 0x1F) + 64) for shift in (10, 5, 0))


@dataclass(frozen=True, slots=True, order=True)
class SecondaryAddress:
    """ID, manufacturer field, version and medium: a slave's unique address.

    ``id_digits`` keeps the identification number as its 8 nibbles, most
    significant first, exactly as sent: EN 13757-3 asks for BCD, but some
    meters put hex digits there, and such a meter must still be found and
    selected rather than break a scan.
    """

    id_digits: str
    manufacturer: int
    version: int
    medium: int

    def __post_init__(self) -> None:
        if len(self.id_digits) != 8 or any(c not in "0123456789ABCDEF" for c in self.id_digits):
            raise ValueError(f"id_digits = {self.id_digits!r}: need 8 hex digits (uppercase)")

    @property
    def id(self) -> int:
        """The ID as a number, each nibble read as a decimal digit (as libmbus prints it)."""
        value = 0
        for ch in self.id_digits:
            value = value * 10 + int(ch, 16)
        return value

    def __str__(self) -> str:
        return f"{self.id_digits}{self.manufacturer:04X}{self.version:02X}{self.medium:02X}"

    @property
    def manufacturer_code(self) -> str:
        return manufacturer_code(self.manufacturer)

    @classmethod
    def parse(cls, text: str) -> SecondaryAddress:
        """Read the 16-character form; no wildcard (F) in the ID."""
        mask = SecondaryMask.parse(text)
        if "F" in mask.text[:8]:
            raise ValueError(f"secondary address {text!r}: F in the ID is a wildcard")
        return cls(
            mask.text[:8],
            int(mask.text[8:12], 16),
            int(mask.text[12:14], 16),
            int(mask.text[14:16], 16),
        )

    @classmethod
    def from_header(cls, header: bytes, *, offset: int = 0) -> SecondaryAddress:
        """From the first 8 bytes of a CI 72h header (ID BCD LSB first, Man, Ver, Med)."""
        if len(header) < 8:
            raise FrameError(
                PROTOCOL,
                f"header has {len(header)} of 8 address bytes",
                offset=offset + len(header),
                field="secondary address",
            )
        return cls(
            header[3::-1].hex().upper(),
            int.from_bytes(header[4:6], "little"),
            header[6],
            header[7],
        )


@dataclass(frozen=True, slots=True)
class SecondaryMask:
    """A 16-character selection mask; ``F`` is a wildcard (whole byte outside the ID).

    ID digits are normally 0..9; A..E select a meter that sends hex there.
    """

    text: str

    @classmethod
    def parse(cls, text: str) -> SecondaryMask:
        text = text.strip().upper()
        if len(text) != 16 or any(ch not in "0123456789ABCDEF" for ch in text):
            raise ValueError(
                f"secondary address mask {text!r}: need 16 hex characters "
                "(8 ID digits or F, manufacturer 4, version 2, medium 2)"
            )
        return cls(text)

    def select_data(self) -> bytes:
        """The 8 bytes of a CI 52h selection: ID BCD LSB first, Man LE, Ver, Med."""
        ident = bytes.fromhex(self.text[:8])[::-1]
        man = int(self.text[8:12], 16).to_bytes(2, "little")
        return ident + man + bytes.fromhex(self.text[12:16])

    def with_char(self, pos: int, char: str) -> SecondaryMask:
        return SecondaryMask(self.text[:pos] + char + self.text[pos + 1 :])

    def __str__(self) -> str:
        return self.text


@dataclass
class Reception:
    """What came back after a request: at most one frame, and any noise."""

    frame: LinkFrame | None
    noise: bytes = b""


@dataclass
class ScanResult:
    """Every slave a secondary scan found, and masks it could not split further."""

    found: list[SecondaryAddress] = field(default_factory=list)
    unresolved: list[SecondaryMask] = field(default_factory=list)
    probes: int = 0


def more_records_follow(frame: LongFrame) -> bool:
    """Whether a variable data response ends in DIF 1Fh (EN 13757-3 6.4.2).

    Walks the records only as far as their lengths (DIF data field, DIFE and
    VIFE chains, plain-text VIF, LVAR), which is all the master needs to
    decide whether to ask again; decoding values is the codec's job.
    """
    pos = RECORDS_START_BY_CI.get(frame.ci)
    if pos is None:
        return False
    data = frame.data
    n = len(data)
    while pos < n:
        dif = data[pos]
        if dif == DIF_MORE_RECORDS_FOLLOW:
            return True
        if dif == 0x0F:
            return False
        pos += 1
        if dif == 0x2F:
            continue
        ext = dif & 0x80
        count = 0
        while ext:
            if pos >= n or count >= 10:
                return False
            ext = data[pos] & 0x80
            pos += 1
            count += 1
        if pos >= n:
            return False
        vif = data[pos]
        pos += 1
        if vif & 0x7F == 0x7C:  # plain-text unit: length byte and ASCII, then VIFE
            if pos >= n:
                return False
            pos += 1 + data[pos]
        ext = vif & 0x80
        count = 0
        while ext:
            if pos >= n or count >= 10:
                return False
            ext = data[pos] & 0x80
            pos += 1
            count += 1
        coding = dif & 0x0F
        if coding == 0x0D:
            if pos >= n:
                return False
            lvar = data[pos]
            pos += 1
            if lvar <= 0xBF:
                pos += lvar
            elif lvar <= 0xCF:
                pos += lvar - 0xC0
            elif lvar <= 0xDF:
                pos += lvar - 0xD0
            elif lvar <= 0xEF:
                pos += lvar - 0xE0
            elif lvar <= 0xF4:  # EN 13757-3:2013 table 5: 4 * (LVAR - ECh) bytes
                pos += 4 * (lvar - 0xEC)
            elif lvar == 0xF5:
                pos += 48
            elif lvar == 0xF6:
                pos += 64
            else:
                return False
        else:
            pos += (0, 1, 2, 3, 4, 4, 6, 8, 0, 1, 2, 3, 4, 0, 6, 0)[coding]
    return False


def _c_is_master(frame: LinkFrame) -> bool:
    return isinstance(frame, ShortFrame | ControlFrame | LongFrame) and bool(
        frame.c & C_DIRECTION_MASTER
    )


class MBusMaster:
    """Talks to the slaves on one line; see the module docstring for the protocol."""

    def __init__(
        self,
        stream: ByteStream,
        *,
        max_data_retry: int = DEFAULT_MAX_DATA_RETRY,
        max_search_retry: int = DEFAULT_MAX_SEARCH_RETRY,
        more_follow: Callable[[LongFrame], bool] = more_records_follow,
    ) -> None:
        self.stream = stream
        self.max_data_retry = max_data_retry
        self.max_search_retry = max_search_retry
        self._more_follow = more_follow
        self._fcb: dict[int, bool] = {}
        self._pending = bytearray()
        self.noise_bytes = 0
        self.echoes = 0

    # -- low level -------------------------------------------------------------

    def _send(self, frame: bytes) -> None:
        self._pending.clear()
        self.stream.discard_input()
        self.stream.write(frame)

    def receive(self, timeout_s: float | None = None) -> Reception:
        """Wait for one frame: up to the response timeout for its first byte,
        then at most the frame gap between bytes.

        Noise before a frame is returned with it (collision evidence); our own
        echo (a frame with the master direction bit, from converters that
        loop the line back) is skipped.
        """
        first_deadline = time.monotonic() + (
            self.stream.response_timeout_s if timeout_s is None else timeout_s
        )
        buf = self._pending
        noise = bytearray()
        consumed = 0
        while True:
            while buf:
                frame, used = find_link_frame(buf)
                if frame is None and used == 0:
                    break
                consumed += used
                if frame is None:
                    noise += buf[:used]
                    del buf[:used]
                    continue
                del buf[:used]
                if _c_is_master(frame):
                    self.echoes += 1
                    continue
                self.noise_bytes += len(noise)
                return Reception(frame, bytes(noise))
            if consumed + len(buf) > MAX_RECEPTION_BYTES:
                # A babbling line: any frame would have shown up by now, so
                # give up rather than hang (the next request discards the rest).
                leftover = bytes(noise) + bytes(buf)
                buf.clear()
                self.noise_bytes += len(leftover)
                return Reception(None, leftover)
            if buf or noise:
                wait = self.stream.frame_gap_s
            else:
                wait = first_deadline - time.monotonic()
                if wait <= 0:
                    return Reception(None)
            chunk = self.stream.read(wait)
            if not chunk:
                leftover = bytes(noise) + bytes(buf)
                buf.clear()
                self.noise_bytes += len(leftover)
                return Reception(None, leftover)
            buf += chunk

    def _more_bytes_arrive(self) -> bool:
        """Collision check after an answer: anything else within one frame gap."""
        if self._pending:
            self._pending.clear()
            return True
        extra = self.stream.read(self.stream.frame_gap_s)
        if not extra:
            return False
        self.noise_bytes += len(extra)
        # Drain the rest of the garbage so the next request starts clean, but
        # never for longer than one answer could take.
        deadline = time.monotonic() + self.stream.response_timeout_s
        while time.monotonic() < deadline:
            more = self.stream.read(self.stream.frame_gap_s)
            if not more:
                break
            self.noise_bytes += len(more)
        return True

    def _garbled(self, what: str, noise: bytes) -> FrameError:
        shown = noise[:16].hex(" ").upper()
        more = " ..." if len(noise) > 16 else ""
        return FrameError(
            PROTOCOL,
            f"{what} from {self.stream.endpoint}: {len(noise)} bytes without a valid frame "
            f"({shown}{more})",
            offset=0,
            field="frame",
        )

    @staticmethod
    def _check_primary(address: int, *, allow_special: bool = True) -> None:
        specials = (0, ADDRESS_NETWORK_LAYER, 0xFE) if allow_special else ()
        if not (PRIMARY_MIN <= address <= PRIMARY_MAX or address in specials):
            raise ValueError(
                f"primary address = {address!r}: must be {PRIMARY_MIN}..{PRIMARY_MAX} "
                "(or 0, 253, 254)"
            )

    def _acked(self, frame: bytes, what: str, *, retries: int | None = None) -> None:
        """Send a frame that the slave must acknowledge with E5; retry on silence."""
        attempts = 1 + (self.max_data_retry if retries is None else retries)
        last_noise = b""
        for _ in range(attempts):
            self._send(frame)
            got = self.receive()
            if isinstance(got.frame, SingleChar):
                return
            last_noise = got.noise
        if last_noise:
            raise self._garbled(f"{what}: expected E5", last_noise)
        raise TransportError(
            f"{PROTOCOL} {what}: no acknowledge (E5) from {self.stream.endpoint} "
            f"after {attempts} attempts"
        )

    # -- link and application commands ----------------------------------------

    def send_nke(self, address: int) -> None:
        """SND_NKE: reset the slave's link layer; next REQ_UD2 uses FCB = 1."""
        self._check_primary(address)
        self._acked(encode_short_frame(SND_NKE, address), f"SND_NKE to address {address}")
        self._fcb[address] = True

    def ping(self, address: int) -> Probe:
        """SND_NKE once, without retries: who answers at ``address``?

        ``SINGLE`` for a clean ``E5``; ``COLLISION`` for anything garbled or
        doubled (two slaves configured with the same primary address).
        """
        self._check_primary(address)
        self._send(encode_short_frame(SND_NKE, address))
        got = self.receive()
        if got.frame is None:
            return Probe.COLLISION if got.noise else Probe.NOTHING
        if got.noise or not isinstance(got.frame, SingleChar) or self._more_bytes_arrive():
            return Probe.COLLISION
        self._fcb[address] = True
        return Probe.SINGLE

    def application_reset(self, address: int, subcode: int | None = None) -> None:
        """SND_UD CI 50h: restart the slave's application (EN 13757-3 6.1)."""
        self._check_primary(address)
        if subcode is None:
            frame = encode_control_frame(SND_UD, address, CI_APPLICATION_RESET)
        else:
            if not 0 <= subcode <= 0xFF:
                raise ValueError(f"subcode = {subcode!r}: must be one byte")
            frame = encode_long_frame(SND_UD, address, CI_APPLICATION_RESET, bytes((subcode,)))
        self._acked(frame, f"application reset of address {address}")
        self._fcb[address] = True

    def set_baudrate(self, address: int, baudrate: int) -> None:
        """SND_UD CI B8h..BFh: the slave acknowledges at the old rate, then both switch."""
        self._check_primary(address)
        if baudrate not in CI_BAUD_RATE:
            raise ValueError(f"baudrate = {baudrate!r}: one of {sorted(CI_BAUD_RATE)}")
        self._acked(
            encode_control_frame(SND_UD, address, CI_BAUD_RATE[baudrate]),
            f"baud-rate change of address {address} to {baudrate}",
        )
        self.stream.set_baudrate(baudrate)

    def request_ud2(self, address: int) -> LongFrame:
        """One REQ_UD2 with this address's FCB, retried with the same FCB.

        The FCB only toggles after an answer arrived, so a slave whose answer
        was lost repeats it instead of moving on (EN 13757-2 5.5).
        """
        self._check_primary(address)
        fcb = self._fcb.get(address, True)
        c = REQ_UD2 | (FCB if fcb else 0)
        frame = encode_short_frame(c, address)
        attempts = 1 + self.max_data_retry
        last_noise = b""
        last_problem = ""
        for _ in range(attempts):
            self._send(frame)
            got = self.receive()
            if isinstance(got.frame, LongFrame):
                self._fcb[address] = not fcb
                return got.frame
            if got.frame is not None:
                last_problem = f"expected RSP_UD long frame, got {type(got.frame).__name__}"
            last_noise = got.noise
        if last_noise:
            raise self._garbled(f"REQ_UD2 to address {address}", last_noise)
        if last_problem:
            raise FrameError(
                PROTOCOL, f"REQ_UD2 to address {address}: {last_problem}", offset=0,
                field="start",
            )
        raise TransportError(
            f"{PROTOCOL} REQ_UD2 to address {address}: no answer from {self.stream.endpoint} "
            f"after {attempts} attempts"
        )

    def read(
        self, address: int, *, max_frames: int = DEFAULT_MAX_FRAMES, reset_link: bool = True
    ) -> list[LongFrame]:
        """Read all telegrams of a slave: follow DIF 1Fh with FCB toggled.

        With ``reset_link`` a SND_NKE goes first (once, silence tolerated), so
        the slave starts its telegram sequence at the first telegram whatever
        FCB an earlier master left it with (EN 13757-2 5.5). Address FDh is
        never reset that way: SND_NKE to FDh deselects the slave.
        """
        if reset_link and address != ADDRESS_NETWORK_LAYER:
            self.ping(address)
        frames: list[LongFrame] = []
        while True:
            frame = self.request_ud2(address)
            frames.append(frame)
            if not self._more_follow(frame) or len(frames) >= max_frames:
                return frames

    # -- secondary addressing ----------------------------------------------------

    def select(self, mask: SecondaryMask | str) -> Probe:
        """SND_UD to FDh, CI 52h: select the slaves matching ``mask``."""
        if isinstance(mask, str):
            mask = SecondaryMask.parse(mask)
        self._send(
            encode_long_frame(SND_UD, ADDRESS_NETWORK_LAYER, CI_SELECT_SLAVE, mask.select_data())
        )
        got = self.receive()
        if got.frame is None:
            return Probe.COLLISION if got.noise else Probe.NOTHING
        if got.noise or not isinstance(got.frame, SingleChar):
            self._more_bytes_arrive()
            return Probe.COLLISION
        if self._more_bytes_arrive():
            return Probe.COLLISION
        return Probe.SINGLE

    def probe(self, mask: SecondaryMask | str) -> tuple[Probe, SecondaryAddress | None]:
        """Select ``mask`` and, if exactly one slave answered, read its address.

        As libmbus ``mbus_probe_secondary_address``: silence is asked again
        ``max_search_retry`` times; a garbled or doubled answer is a collision.
        """
        if isinstance(mask, str):
            mask = SecondaryMask.parse(mask)
        result = Probe.NOTHING
        for _ in range(1 + self.max_search_retry):
            result = self.select(mask)
            if result is Probe.COLLISION:
                return result, None
            if result is Probe.NOTHING:
                continue
            self._send(encode_short_frame(REQ_UD2 | FCB, ADDRESS_NETWORK_LAYER))
            got = self.receive()
            if got.frame is None:
                return (Probe.COLLISION if got.noise else Probe.NOTHING), None
            if got.noise or self._more_bytes_arrive():
                return Probe.COLLISION, None
            if not isinstance(got.frame, LongFrame) or got.frame.ci not in CI_VARIABLE_RESPONSES:
                return Probe.NOTHING, None
            return Probe.SINGLE, SecondaryAddress.from_header(got.frame.data, offset=7)
        return result, None

    def scan_secondary(
        self,
        mask: SecondaryMask | str = WILDCARD_MASK,
        *,
        on_found: Callable[[SecondaryAddress], None] | None = None,
    ) -> ScanResult:
        """Find every slave matching ``mask`` by the wildcard tree search."""
        if isinstance(mask, str):
            mask = SecondaryMask.parse(mask)
        result = ScanResult()
        self._scan_range(mask, 0, result, on_found)
        return result

    def _scan_range(
        self,
        mask: SecondaryMask,
        pos: int,
        result: ScanResult,
        on_found: Callable[[SecondaryAddress], None] | None,
    ) -> None:
        # Only ID digits are searched, 0..9 as BCD allows (as libmbus does):
        # outside the ID EN 13757-3 knows only whole-byte wildcards, so a
        # collision on a complete ID is reported, not split.
        while pos < 8 and mask.text[pos] != "F":
            pos += 1
        if pos >= 8:
            outcome, found = self.probe(mask)
            result.probes += 1
            self._record(outcome, found, mask, result, on_found)
            return
        for digit in "0123456789":
            candidate = mask.with_char(pos, digit)
            outcome, found = self.probe(candidate)
            result.probes += 1
            if outcome is Probe.COLLISION:
                if pos == 7:
                    result.unresolved.append(candidate)
                else:
                    self._scan_range(candidate, pos + 1, result, on_found)
            else:
                self._record(outcome, found, candidate, result, on_found)

    @staticmethod
    def _record(
        outcome: Probe,
        found: SecondaryAddress | None,
        mask: SecondaryMask,
        result: ScanResult,
        on_found: Callable[[SecondaryAddress], None] | None,
    ) -> None:
        if outcome is Probe.SINGLE and found is not None:
            if found not in result.found:
                result.found.append(found)
                if on_found is not None:
                    on_found(found)
        elif outcome is Probe.COLLISION:
            result.unresolved.append(mask)

    def read_secondary(
        self, address: SecondaryAddress | str, *, max_frames: int = DEFAULT_MAX_FRAMES
    ) -> list[LongFrame]:
        """Select one slave by its full secondary address and read it via A = FDh."""
        if isinstance(address, str):
            address = SecondaryAddress.parse(address)
        mask = SecondaryMask.parse(str(address))
        outcome = Probe.NOTHING
        for _ in range(1 + self.max_data_retry):
            outcome = self.select(mask)
            if outcome is not Probe.NOTHING:
                break
        if outcome is Probe.NOTHING:
            raise TransportError(
                f"{PROTOCOL} select {address}: no slave answered on {self.stream.endpoint}"
            )
        if outcome is Probe.COLLISION:
            raise FrameError(
                PROTOCOL, f"select {address}: more than one slave answered (collision)",
                offset=0, field="E5",
            )
        self._fcb[ADDRESS_NETWORK_LAYER] = True
        return self.read(ADDRESS_NETWORK_LAYER, max_frames=max_frames, reset_link=False)

    def scan_primary(
        self, addresses: range = range(0, PRIMARY_MAX + 1)
    ) -> Iterator[tuple[int, Probe]]:
        """Yield ``(address, SINGLE|COLLISION)`` for each primary address where
        something answers SND_NKE; silence is asked ``max_search_retry`` more times.
        """
        for address in addresses:
            for _ in range(1 + self.max_search_retry):
                outcome = self.ping(address)
                if outcome is not Probe.NOTHING:
                    yield address, outcome
                    break


__all__ = [
    "WILDCARD_MASK",
    "ByteStream",
    "MBusMaster",
    "Probe",
    "Reception",
    "ScanResult",
    "SecondaryAddress",
    "SecondaryMask",
    "manufacturer_code",
    "more_records_follow",
]
