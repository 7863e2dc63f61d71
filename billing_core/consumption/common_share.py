"""Main meter minus sub-meters: the building's common share (stairwell, lift, losses; 公摊).

``common = main - Σ sub``.  The losses ratio ``common / main`` is checked
against a plausible range: below the lower bound (sub-meters add up to more
than the main meter) points to a wrong factor, a meter on the wrong unit or
an unmetered exchange; above the upper bound to a leak, a bypass or an
unmetered consumer.  The figure is given either way; the flag says why it
should be looked at before it is billed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from billing_core.consumption.provenance import Flag, FlagKind, Provenance
from billing_core.errors import ConsumptionError

DEFAULT_LOSSES_RANGE = (Decimal(0), Decimal("0.15"))


@dataclass(frozen=True, slots=True)
class CommonShare:
    building_ref: str
    start: datetime
    end: datetime
    main_quantity: Decimal
    sub_quantities: dict[str, Decimal]
    flags: tuple[Flag, ...]

    @property
    def sub_total(self) -> Decimal:
        return sum(self.sub_quantities.values(), Decimal(0))

    @property
    def common_quantity(self) -> Decimal:
        return self.main_quantity - self.sub_total

    @property
    def losses_ratio(self) -> Decimal:
        return self.common_quantity / self.main_quantity if self.main_quantity else Decimal(0)

    @property
    def provenance(self) -> Provenance:
        return Provenance(method="main_minus_sub_meters", flags=self.flags,
                          estimation=None)


def common_share(building_ref: str, start: datetime, end: datetime, main_quantity: Decimal,
                 sub_quantities: Mapping[str, Decimal],
                 losses_range: tuple[Decimal, Decimal] = DEFAULT_LOSSES_RANGE,
                 main_meter_serial: str = "") -> CommonShare:
    """Common share of one building and period, flagged when the losses ratio is out of range."""
    low, high = losses_range
    if low > high:
        raise ConsumptionError(f"losses range {low} .. {high}: lower bound above upper")
    if main_quantity < 0:
        raise ConsumptionError(f"building {building_ref}: main meter use {main_quantity} < 0")
    share = CommonShare(building_ref, start, end, main_quantity, dict(sub_quantities), ())
    ratio = share.losses_ratio
    flags: tuple[Flag, ...] = ()
    if main_quantity == 0 and share.sub_total > 0:
        flags = (Flag(FlagKind.LOSSES_RATIO, start, end,
                      f"building {building_ref}: main meter shows no use but sub-meters "
                      f"{share.sub_total}", main_meter_serial,
                      {"main": "0", "sub_total": str(share.sub_total)}),)
    elif not low <= ratio <= high:
        flags = (Flag(FlagKind.LOSSES_RATIO, start, end,
                      f"building {building_ref}: common share {share.common_quantity} is "
                      f"{ratio:.2%} of the main meter's {main_quantity}, outside "
                      f"{low:.0%} .. {high:.0%}", main_meter_serial,
                      {"ratio": str(ratio), "low": str(low), "high": str(high)}),)
    return CommonShare(building_ref, start, end, main_quantity, dict(sub_quantities), flags)
