"""Who is calling: a user (by access token) or an API key, with the scopes held.

Scopes nest: an installation-wide assignment (admin only) covers every property,
a property covers its buildings, a building its units.  ``Place`` is where an
object sits, so coverage is a comparison of ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class Place:
    property_id: int
    building_id: int | None = None
    unit_id: int | None = None


@dataclass(frozen=True, slots=True)
class Assignment:
    role: str
    property_id: int | None
    building_id: int | None
    unit_id: int | None
    valid_from: date
    valid_to: date | None

    @property
    def level(self) -> str:
        if self.unit_id is not None:
            return "unit"
        if self.building_id is not None:
            return "building"
        if self.property_id is not None:
            return "property"
        return "installation"

    def covers(self, place: Place) -> bool:
        if self.level == "installation":
            return True
        if self.property_id is not None:
            return self.property_id == place.property_id
        if self.building_id is not None:
            return self.building_id == place.building_id
        return self.unit_id is not None and self.unit_id == place.unit_id

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def overlaps(self, first: date, last: date) -> bool:
        return self.valid_from <= last and (self.valid_to is None or first <= self.valid_to)


@dataclass(frozen=True, slots=True)
class Principal:
    """``kind`` is "user" or "api_key"; ``actions`` limits an API key (None for users)."""

    kind: str
    id: int
    label: str
    assignments: tuple[Assignment, ...]
    mfa: bool = False
    session_id: str | None = None
    actions: frozenset[str] | None = None

    @property
    def name(self) -> str:
        return self.label
