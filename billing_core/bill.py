"""Bills: one per billing party and period, with explained lines.

Why each line carries key, the party's key value, the total key value and the
share: § 556 Abs. 3 BGB and the BGH require an operating-cost statement a
tenant can check (total costs, key, calculation of his share, prepayments
deducted); HeizkostenV § 6a Abs. 3 and CO2KostAufG § 7 Abs. 3 add what the
heating bill must show.  Amounts are integer minor units; key values and
shares are exact decimal strings (or ``n/d`` fractions when they do not
terminate).  A positive balance is due, a negative one is a credit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any


@dataclass(frozen=True)
class BillLine:
    """One line of a bill: one cost item (or part of it) for one party."""

    item_id: str
    item: str
    component: str
    key: str
    key_unit: str
    unit_key_value: str
    total_key_value: str
    share: str
    item_total_cents: int
    amount_cents: int
    vat_rate_pct: str | None = None
    vat_cents: int = 0
    legal_basis: str = ""
    explanation: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Bill:
    """A party's statement: lines, charges, prepayments and the balance."""

    party_id: str
    unit_id: str
    tenant: str | None
    language: str
    currency: str
    period_start: date
    period_end: date
    occupied_from: date
    occupied_to: date
    lines: tuple[BillLine, ...]
    prepayments_cents: int

    @property
    def charges_cents(self) -> int:
        """Sum of all lines (cuts are negative lines)."""
        return sum(line.amount_cents for line in self.lines)

    @property
    def vat_cents(self) -> int:
        """VAT contained in the charges."""
        return sum(line.vat_cents for line in self.lines)

    @property
    def balance_cents(self) -> int:
        """Charges minus prepayments: > 0 due, < 0 credit."""
        return self.charges_cents - self.prepayments_cents

    @property
    def balance_kind(self) -> str:
        """``due``, ``credit`` or ``settled``."""
        if self.balance_cents > 0:
            return "due"
        return "credit" if self.balance_cents < 0 else "settled"

    @property
    def vacancy(self) -> bool:
        """True for the owner's vacancy share."""
        return self.tenant is None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (dates ISO, amounts in minor units)."""
        return {
            "party_id": self.party_id,
            "unit_id": self.unit_id,
            "tenant": self.tenant,
            "vacancy": self.vacancy,
            "language": self.language,
            "currency": self.currency,
            "period": {"start": self.period_start.isoformat(), "end": self.period_end.isoformat()},
            "occupied": {
                "from": self.occupied_from.isoformat(),
                "to": self.occupied_to.isoformat(),
            },
            "lines": [
                {**asdict(line), "explanation": list(line.explanation), "flags": list(line.flags)}
                for line in self.lines
            ],
            "charges_cents": self.charges_cents,
            "vat_cents": self.vat_cents,
            "prepayments_cents": self.prepayments_cents,
            "balance_cents": self.balance_cents,
            "balance_kind": self.balance_kind,
        }


@dataclass(frozen=True)
class ItemResult:
    """One cost item for the building: total, per-party shares and how it was derived."""

    item_id: str
    kind: str
    label: str
    total_cents: int
    shares_cents: dict[str, int]
    legal_basis: str = ""
    derivation: dict[str, Any] = field(default_factory=dict)
    vat_cents: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class LandlordLine:
    """An amount the landlord bears (CO2 share, tenants' § 12 cuts)."""

    item_id: str
    description: str
    amount_cents: int
    legal_basis: str


@dataclass(frozen=True)
class ApportionResult:
    """Everything one building and period produce."""

    building_id: str
    currency: str
    period_start: date
    period_end: date
    items: tuple[ItemResult, ...]
    bills: tuple[Bill, ...]
    landlord: tuple[LandlordLine, ...]

    def bill(self, party_id: str) -> Bill:
        """The bill of one party."""
        for b in self.bills:
            if b.party_id == party_id:
                return b
        raise KeyError(party_id)

    def item(self, item_id: str) -> ItemResult:
        """The result of one cost item."""
        for it in self.items:
            if it.item_id == item_id:
                return it
        raise KeyError(item_id)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: the output of ``meterbill apportion --format json``."""
        return {
            "building_id": self.building_id,
            "currency": self.currency,
            "period": {"start": self.period_start.isoformat(), "end": self.period_end.isoformat()},
            "items": [it.to_dict() for it in self.items],
            "bills": [b.to_dict() for b in self.bills],
            "landlord": [asdict(x) for x in self.landlord],
        }
