"""Multi-telegram readings (EN 13757-3 6.3.3, DIF 1Fh "more records follow").

A slave with more records than fit in one RSP_UD ends the telegram with DIF
1Fh; the master then sends REQ_UD2 again with the FCB toggled (EN 13757-2
5.5) and the slave answers with the next telegram. This module joins those
answers into one reading set; the FCB handling belongs to the master.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from firmware_bridge.codecs.mbus_records import (
    FUNCTION_MORE_RECORDS,
    DataRecord,
    SlaveHeader,
    Telegram,
    VariableDataResponse,
)
from firmware_bridge.errors import FrameError

PROTOCOL = "M-Bus multi-telegram"


@dataclass(slots=True)
class ReadingSet:
    """All records of one slave read over one or more telegrams.

    ``records`` keeps frame order and drops the 1Fh markers (their
    manufacturer bytes, if any, are in ``manufacturer_data``, one entry per
    telegram). ``complete`` is False while the last telegram still
    announced more records.
    """

    header: SlaveHeader | None
    records: tuple[DataRecord, ...]
    telegram_count: int
    access_numbers: tuple[int, ...]
    manufacturer_data: tuple[bytes, ...]
    complete: bool


class MultiTelegramAssembler:
    """Collect telegrams of one slave until one no longer says "more follow"."""

    def __init__(self) -> None:
        self._telegrams: list[VariableDataResponse] = []

    @property
    def done(self) -> bool:
        """True once the last telegram added does not announce more records."""
        return bool(self._telegrams) and not self._telegrams[-1].more_records_follow

    def add(self, telegram: Telegram) -> bool:
        """Add the next answer; returns :attr:`done`.

        Raises FrameError when the answer is not a variable data response,
        comes from another slave (ID, manufacturer, version or medium
        differ), or arrives after the sequence already ended.
        """
        index = len(self._telegrams)
        if not isinstance(telegram, VariableDataResponse):
            raise FrameError(PROTOCOL, f"telegram {index} is a {type(telegram).__name__}, "
                             "not a variable data response", field="CI")
        if self.done:
            raise FrameError(PROTOCOL, f"telegram {index} arrived after the last one "
                             "(no 1Fh in the previous telegram)", field="DIF 1Fh")
        if self._telegrams:
            first = self._telegrams[0].header
            h = telegram.header
            if first is not None and h is not None and (
                (first.id_bcd, first.manufacturer, first.version, first.medium)
                != (h.id_bcd, h.manufacturer, h.version, h.medium)
            ):
                raise FrameError(
                    PROTOCOL,
                    f"telegram {index} comes from {h.manufacturer} {h.id_bcd}, "
                    f"the sequence from {first.manufacturer} {first.id_bcd}",
                    field="header",
                )
        self._telegrams.append(telegram)
        return self.done

    def result(self) -> ReadingSet:
        """The reading set so far (``complete`` says whether it is whole)."""
        return assemble(self._telegrams, require_complete=False)


def assemble(telegrams: Iterable[Telegram], *, require_complete: bool = True) -> ReadingSet:
    """Join the telegrams of one multi-telegram read into one reading set."""
    assembler = MultiTelegramAssembler()
    items = list(telegrams)
    if not items:
        raise FrameError(PROTOCOL, "no telegrams to assemble", field="telegrams")
    if not isinstance(items[0], VariableDataResponse):
        raise FrameError(PROTOCOL, "telegram 0 is not a variable data response", field="CI")
    for telegram in items:
        assembler.add(telegram)  # raises once the sequence has ended
    seq: list[VariableDataResponse] = assembler._telegrams
    complete = not seq[-1].more_records_follow
    if require_complete and not complete:
        raise FrameError(PROTOCOL, f"the last of {len(seq)} telegrams still announces "
                         "more records (DIF 1Fh)", field="DIF 1Fh")
    records: list[DataRecord] = []
    extra: list[bytes] = []
    for telegram in seq:
        for record in telegram.records:
            if record.function == FUNCTION_MORE_RECORDS:
                extra.append(record.data)
            else:
                records.append(record)
    return ReadingSet(
        header=seq[0].header,
        records=tuple(records),
        telegram_count=len(seq),
        access_numbers=tuple(t.header.access_number for t in seq if t.header is not None),
        manufacturer_data=tuple(extra),
        complete=complete,
    )


__all__ = ["MultiTelegramAssembler", "ReadingSet", "assemble"]
