"""A simulated wired M-Bus slave: the state machine behind real bytes.

The slave reacts to decoded link frames the way EN 13757-2/-3 asks of a
meter, and returns the bytes it would put on the wire (or nothing):

* ``SND_NKE`` to its primary address, to FEh, or to FDh while selected:
  ``E5``, link reset (the next REQ_UD2 is new whatever its FCB); SND_NKE to
  FDh also deselects (EN 13757-3, secondary addressing).
* ``REQ_UD2`` to its primary address, to FEh, or to FDh while selected:
  ``RSP_UD`` with the current telegram. FCB rule (EN 13757-2 5.5): a request
  whose FCB did not toggle since the last answered one repeats the last
  telegram (the master lost it); a toggled FCB moves on to the next telegram,
  which is how a multi-telegram reading (DIF 1Fh) is walked.
* ``SND_UD`` to FDh with CI 52h: compare the 8 selection bytes with the
  slave's own ``ID Man Ver Med``. ID digits equal to Fh, manufacturer FFFFh,
  version FFh and medium FFh are wildcards. Match: selected, answer ``E5``;
  no match: deselected, silent. The selection holds until a non-matching
  selection, a CI 56h selection or SND_NKE to FDh.
* ``SND_UD`` CI 50h (application reset): ``E5``, back to the first telegram.
  CI B8h..BFh (baud rate): ``E5``, then the slave's ``baudrate`` changes.
  CI 51h (data send): ``E5``.
* Broadcast FFh: acted upon, never answered.

Faults, consumed one per answer from ``faults`` (``None`` there means answer
normally; when the queue is empty ``always_fault`` applies, if set):
:attr:`Fault.NO_ANSWER`, :attr:`Fault.WRONG_CHECKSUM` (CS byte off by one;
an ``E5`` becomes ``E4``), :attr:`Fault.GARBAGE` (noise bytes instead of the
answer, as long as it or ``garbage_bytes``), :attr:`Fault.SLOW` (the answer
comes after ``slow_delay_s``).
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from firmware_bridge.codecs.mbus_encode import CI_VARIABLE_RESPONSE, VariableDataTelegram
from firmware_bridge.codecs.mbus_link import (
    ACK,
    ADDRESS_BROADCAST,
    ADDRESS_NETWORK_LAYER,
    ADDRESS_TEST,
    FCB,
    FCV,
    REQ_UD2,
    RSP_UD,
    SND_NKE,
    SND_UD,
    ControlFrame,
    LinkFrame,
    LongFrame,
    ShortFrame,
    encode_long_frame,
    parse_link_frame,
)
from firmware_bridge.transports.mbus_master import SecondaryAddress

CI_DATA_SEND = 0x51
CI_SELECT_SLAVE = 0x52
CI_SELECT_ENHANCED = 0x56
CI_APPLICATION_RESET = 0x50
BAUD_RATE_BY_CI = {0xB8: 300, 0xB9: 600, 0xBA: 1200, 0xBB: 2400, 0xBC: 4800, 0xBD: 9600,
                   0xBE: 19200, 0xBF: 38400}
C_FUNCTION_MASK = 0x4F  # C without FCB/FCV
_START_BYTES = (0x10, 0x68, ACK)
_NOISE_BYTES = [b for b in range(256) if b not in _START_BYTES]


class Fault(Enum):
    """A misbehaviour applied to one answer."""

    NO_ANSWER = "no-answer"
    WRONG_CHECKSUM = "wrong-checksum"
    GARBAGE = "garbage"
    SLOW = "slow"


@dataclass(frozen=True, slots=True)
class Reply:
    """Bytes a slave puts on the line, ``delay_s`` after the request ended."""

    data: bytes
    delay_s: float = 0.0


def hex_file_bytes(path: Path) -> bytes:
    """Bytes of a libmbus ``.hex`` vector: two-digit hex tokens split by whitespace."""
    return bytes.fromhex(" ".join(path.read_text(encoding="ascii").split()))


def selection_matches(select_data: bytes, address: SecondaryAddress) -> bool:
    """EN 13757-3 secondary selection with wildcards (ID nibble Fh, Man FFFFh, Ver/Med FFh)."""
    if len(select_data) != 8:
        return False
    wanted_id = select_data[3::-1].hex().upper()
    own_id = address.id_digits
    if any(w != "F" and w != o for w, o in zip(wanted_id, own_id, strict=True)):
        return False
    man = int.from_bytes(select_data[4:6], "little")
    if man != 0xFFFF and man != address.manufacturer:
        return False
    if select_data[6] != 0xFF and select_data[6] != address.version:
        return False
    return select_data[7] == 0xFF or select_data[7] == address.medium


class MBusSlave:
    """One simulated meter; see the module docstring for its behaviour.

    ``telegrams`` are ``(CI, user data)`` pairs answered in turn; the last one
    of a multi-telegram reading is the first without DIF 1Fh, and after it the
    slave starts over, as meters do.
    """

    def __init__(
        self,
        telegrams: Sequence[tuple[int, bytes]],
        *,
        primary_address: int = 0,
        secondary_address: SecondaryAddress | None = None,
        faults: Iterable[Fault | None] = (),
        always_fault: Fault | None = None,
        slow_delay_s: float = 0.5,
        garbage_bytes: int | None = None,
        seed: int = 0,
    ) -> None:
        if not telegrams:
            raise ValueError("a slave needs at least one telegram")
        self.telegrams = [(ci, bytes(data)) for ci, data in telegrams]
        self.primary_address = primary_address
        if secondary_address is None:
            ci, data = self.telegrams[0]
            if ci != CI_VARIABLE_RESPONSE:
                raise ValueError(
                    f"telegram CI {ci:02X}h has no secondary address header; pass "
                    "secondary_address"
                )
            secondary_address = SecondaryAddress.from_header(data)
        self.secondary_address = secondary_address
        self.faults: deque[Fault | None] = deque(faults)
        self.always_fault = always_fault
        self.slow_delay_s = slow_delay_s
        self.garbage_bytes = garbage_bytes
        self.selected = False
        self.baudrate = 2400
        self.requests = 0
        self.application_resets = 0
        self._last_fcb: int | None = None
        self._last_index: int | None = None
        self._random = random.Random(seed)

    @classmethod
    def from_encoded(
        cls,
        telegrams: Sequence[VariableDataTelegram],
        *,
        primary_address: int = 0,
        **kwargs: object,
    ) -> MBusSlave:
        """A slave answering telegrams built by our encoder."""
        pairs = [(CI_VARIABLE_RESPONSE, t.user_data()) for t in telegrams]
        return cls(pairs, primary_address=primary_address, **kwargs)  # type: ignore[arg-type]

    @classmethod
    def from_hex_files(
        cls, paths: Sequence[Path], *, primary_address: int = 0, **kwargs: object
    ) -> MBusSlave:
        """A slave replaying libmbus vector files (RSP_UD long frames, CS checked)."""
        pairs = []
        for path in paths:
            frame = parse_link_frame(hex_file_bytes(path))
            if not isinstance(frame, LongFrame):
                raise ValueError(f"{path}: not a long frame ({type(frame).__name__})")
            pairs.append((frame.ci, frame.data))
        return cls(pairs, primary_address=primary_address, **kwargs)  # type: ignore[arg-type]

    # -- protocol ------------------------------------------------------------

    def _addressed(self, a: int) -> bool:
        if a == ADDRESS_NETWORK_LAYER:
            return self.selected
        return a in (self.primary_address, ADDRESS_TEST, ADDRESS_BROADCAST)

    def handle(self, frame: LinkFrame) -> Reply | None:
        """React to a master frame; the reply to send, if any."""
        if not isinstance(frame, ShortFrame | ControlFrame | LongFrame):
            return None
        function = frame.c & C_FUNCTION_MASK
        if isinstance(frame, ShortFrame):
            if not self._addressed(frame.a):
                return None
            if frame.c == SND_NKE:
                self._last_fcb = None
                self._last_index = None
                if frame.a == ADDRESS_NETWORK_LAYER:
                    self.selected = False
                return self._answer(bytes((ACK,)), frame.a)
            if function == (REQ_UD2 & C_FUNCTION_MASK):
                return self._answer(self._respond_ud2(frame.c), frame.a)
            return None
        if function != (SND_UD & C_FUNCTION_MASK):
            return None
        ci = frame.ci
        data = frame.data if isinstance(frame, LongFrame) else b""
        if frame.a == ADDRESS_NETWORK_LAYER and ci == CI_SELECT_SLAVE:
            self.selected = selection_matches(data, self.secondary_address)
            return self._answer(bytes((ACK,)), frame.a) if self.selected else None
        if frame.a == ADDRESS_NETWORK_LAYER and ci == CI_SELECT_ENHANCED:
            # selection with enhanced identification: not supported, so it
            # deselects like any selection that does not match
            self.selected = False
            return None
        if not self._addressed(frame.a):
            return None
        if ci == CI_APPLICATION_RESET:
            self.application_resets += 1
            self._last_fcb = None
            self._last_index = None
            return self._answer(bytes((ACK,)), frame.a)
        if ci in BAUD_RATE_BY_CI:
            reply = self._answer(bytes((ACK,)), frame.a)
            self.baudrate = BAUD_RATE_BY_CI[ci]
            return reply
        if ci == CI_DATA_SEND:
            return self._answer(bytes((ACK,)), frame.a)
        return None

    def _respond_ud2(self, c: int) -> bytes:
        self.requests += 1
        fcb = c & FCB if c & FCV else None
        repeat = (
            fcb is not None and self._last_index is not None and fcb == self._last_fcb
        )
        if not repeat:
            self._last_index = 0 if self._last_index is None else (self._last_index + 1) % len(
                self.telegrams
            )
        self._last_fcb = fcb
        assert self._last_index is not None
        ci, data = self.telegrams[self._last_index]
        return encode_long_frame(RSP_UD, self.primary_address, ci, data)

    def _answer(self, data: bytes, a: int) -> Reply | None:
        if a == ADDRESS_BROADCAST:
            return None
        fault = self.faults.popleft() if self.faults else self.always_fault
        if fault is None:
            return Reply(data)
        if fault is Fault.NO_ANSWER:
            return None
        if fault is Fault.SLOW:
            return Reply(data, self.slow_delay_s)
        if fault is Fault.WRONG_CHECKSUM:
            if len(data) == 1:
                return Reply(bytes((data[0] - 1,)))
            bad = bytearray(data)
            bad[-2] = (bad[-2] + 1) & 0xFF
            return Reply(bytes(bad))
        length = self.garbage_bytes or max(len(data), 3)
        return Reply(bytes(self._random.choices(_NOISE_BYTES, k=length)))


__all__ = ["Fault", "MBusSlave", "Reply", "hex_file_bytes", "selection_matches"]
