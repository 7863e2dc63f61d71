"""Dunning levels as configuration: name, when it is due, fee, and the payment deadline.

The defaults follow common German practice (a friendly reminder, then two formal
notices, then handover to collection); § 286 Abs. 1 BGB puts a debtor in default
by a reminder after the due date, so level 1 matters legally even without a fee.
A property manager changes them per estate (``DunningPolicy(levels=...)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from api.errors import InvalidRequestError


@dataclass(frozen=True, slots=True)
class DunningLevel:
    level: int
    name: str
    days_after_due: int  # issued at the earliest this many days after the due date
    fee_minor: int  # charged to the tenant with this notice
    pay_within_days: int  # deadline printed on the notice


def _default_levels() -> tuple[DunningLevel, ...]:
    return (
        DunningLevel(1, "reminder", 7, 0, 7),
        DunningLevel(2, "first notice", 21, 500, 10),
        DunningLevel(3, "second notice", 35, 1000, 10),
        DunningLevel(4, "handover", 49, 0, 0),
    )


@dataclass(frozen=True, slots=True)
class DunningPolicy:
    levels: tuple[DunningLevel, ...] = field(default_factory=_default_levels)
    min_open_minor: int = 100  # below this nobody is dunned (rounding leftovers)

    def __post_init__(self) -> None:
        numbers = [lv.level for lv in self.levels]
        if numbers != list(range(1, len(numbers) + 1)):
            raise InvalidRequestError(f"dunning levels must be numbered 1..n, got {numbers}",
                                      field="levels")
        days = [lv.days_after_due for lv in self.levels]
        if days != sorted(days):
            raise InvalidRequestError("dunning levels must not come earlier than the "
                                      "previous level", field="levels")
        for lv in self.levels:
            if lv.fee_minor < 0 or lv.pay_within_days < 0:
                raise InvalidRequestError(f"level {lv.level}: fee and deadline must not be "
                                          "negative", field=f"levels[{lv.level - 1}]")
