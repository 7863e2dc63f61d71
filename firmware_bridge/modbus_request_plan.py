"""Merge a device's registers into as few Modbus reads as the device allows.

On an RS-485 line every request costs a full round trip plus the 3.5-character
inter-frame silence (Modbus over Serial Line V1.02, 2.5.1.1), so reading ten
float registers one by one is ten times slower than one read that spans them.
Devices limit how far that goes:

* one read covers one function code (holding and input registers are separate
  address spaces, Modbus Application Protocol V1.1b 4.3);
* at most ``max_registers_per_request`` registers per read (the protocol caps
  FC 03/04 at 125; many meters allow fewer, e.g. 11 words on a Carlo Gavazzi
  EM24, 40 parameters = 80 registers on an Eastron SDM);
* unused registers between two wanted ones are read and thrown away only up to
  ``max_gap_registers``, because some devices answer exception 02 (illegal
  data address) for holes in their map, and long holes waste bus time.

Registers sorted by address are packed greedily: each block is extended by the
next register while the block stays within the limit and the hole before that
register is small enough. For non-overlapping registers this is optimal (no
plan with fewer reads exists): a block covering a run of registers can always
be replaced by one starting at the first register not yet covered and
extending at least as far.

The gateway calls :func:`plan_reads` once per device and :func:`decode_blocks`
once per poll: one read per block per poll.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from firmware_bridge.errors import FrameError
from firmware_bridge.modbus_profile import DeviceProfile, RegisterSpec

PROTOCOL = "Modbus read"


@dataclass(frozen=True)
class ReadBlock:
    """One read request: ``count`` registers from ``address`` with ``function_code``.

    ``names`` lists the profile registers decoded from the answer, in address
    order.
    """

    function_code: int
    address: int
    count: int
    names: tuple[str, ...]

    @property
    def end(self) -> int:
        """First address after the block (exclusive)."""
        return self.address + self.count

    def describe(self) -> str:
        """e.g. ``FC4 0x0000+12`` for error messages and logs."""
        return f"FC{self.function_code} 0x{self.address:04X}+{self.count}"


def _select(profile: DeviceProfile, names: Iterable[str] | None) -> list[RegisterSpec]:
    if names is None:
        return list(profile.registers)
    wanted = list(dict.fromkeys(names))  # keep order, drop duplicates
    return [profile.register(name) for name in wanted]


def plan_reads(profile: DeviceProfile, names: Iterable[str] | None = None) -> list[ReadBlock]:
    """Plan the fewest reads covering ``names`` (all registers when None).

    Blocks come out ordered by function code, then address. An unknown name is
    a :class:`~firmware_bridge.errors.ProfileError` naming the profile.
    """
    selected = sorted(_select(profile, names), key=lambda r: (r.function_code, r.address))
    limit = profile.max_registers_per_request
    max_gap = profile.max_gap_registers
    blocks: list[ReadBlock] = []
    start = end = fc = -1
    members: list[str] = []
    for reg in selected:
        fits = (
            members
            and reg.function_code == fc
            and reg.address - end <= max_gap
            and max(end, reg.end) - start <= limit
        )
        if fits:
            end = max(end, reg.end)
            members.append(reg.name)
            continue
        if members:
            blocks.append(ReadBlock(fc, start, end - start, tuple(members)))
        fc, start, end, members = reg.function_code, reg.address, reg.end, [reg.name]
    if members:
        blocks.append(ReadBlock(fc, start, end - start, tuple(members)))
    return blocks


def decode_blocks(
    profile: DeviceProfile,
    blocks: Sequence[ReadBlock],
    words_by_block: Sequence[Sequence[int]] | Mapping[ReadBlock, Sequence[int]],
) -> dict[str, Decimal]:
    """Decode the answers to ``blocks`` into ``{register name: value in its unit}``.

    ``words_by_block`` holds the registers each read returned, either in the
    same order as ``blocks`` or keyed by block. A wrong word count raises
    :class:`~firmware_bridge.errors.FrameError` naming the block, as does a
    value the codec refuses (NaN float, bad BCD), with the register name as
    the field: the caller counts it against that device and carries on.
    """
    if isinstance(words_by_block, Mapping):
        answers = [words_by_block[block] for block in blocks]
    else:
        if len(words_by_block) != len(blocks):
            raise FrameError(PROTOCOL, f"{len(blocks)} blocks planned, "
                             f"{len(words_by_block)} answers given")
        answers = list(words_by_block)
    values: dict[str, Decimal] = {}
    for block, words in zip(blocks, answers, strict=True):
        if len(words) != block.count:
            raise FrameError(PROTOCOL, f"{block.describe()}: expected {block.count} "
                             f"registers, got {len(words)}", field=block.describe())
        for name in block.names:
            reg = profile.register(name)
            offset = reg.address - block.address
            try:
                values[name] = reg.decode(words[offset:offset + reg.count])
            except FrameError as exc:
                raise FrameError(PROTOCOL, f"{block.describe()}: {exc}", field=name) from exc
    return values
