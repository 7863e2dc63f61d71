"""The period a request asks about.

``?period=YYYY-MM`` or ``?start=DATE&end=DATE`` (end exclusive), in the building's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import Depends, Query

from api.errors import InvalidRequestError
from api.periods import Period, date_period, month_period


@dataclass(frozen=True, slots=True)
class PeriodRequest:
    month: str | None
    start: date | None
    end: date | None

    def resolve(self, time_zone: str) -> Period:
        if self.month is not None:
            if self.start is not None or self.end is not None:
                raise InvalidRequestError("give either period or start/end, not both",
                                          field="period")
            return month_period(self.month, time_zone)
        if self.start is None or self.end is None:
            raise InvalidRequestError("give period=YYYY-MM or both start and end",
                                      field="start" if self.start is None else "end")
        return date_period(self.start, self.end, time_zone)


def period_request(
    period: Annotated[str | None, Query(description="Billing month, YYYY-MM")] = None,
    start: Annotated[date | None, Query(description="First day (local time)")] = None,
    end: Annotated[date | None, Query(description="Day after the last (exclusive)")] = None,
) -> PeriodRequest:
    return PeriodRequest(period, start, end)


PeriodQuery = Annotated[PeriodRequest, Depends(period_request)]
