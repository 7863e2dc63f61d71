"""Normalized bank statements: what every parser (camt, MT940, CSV) returns.

The JSON shape is the one documented in issue 9 (``meterbill bank parse --json``)::

    {"format": ..., "statements": [{"id", "account_iban", "account_other_id", "currency",
      "opening_balance_minor", "closing_balance_minor",
      "entries": [{"amount_minor", "currency", "credit_debit", "reversal", "booking_date",
                   "value_date", "counterparty_name", "counterparty_account", "remittance",
                   "end_to_end_id", "creditor_reference", "return_reason", "charges_minor",
                   "details": [...same fields per transaction of a batched entry...]}]}]}

with more fields added (balances by type, bank transaction codes, parties, MT940
subfields...). Why these choices:

- Amounts are ``int`` in the currency's minor unit (ISO 4217 exponent: JPY 0,
  BHD/KWD 3, most 2); entry amounts are unsigned and ``credit_debit`` (camt
  ``CdtDbtInd``: CRDT/DBIT) gives the direction, as in ISO 20022; balances are
  signed (negative = debit balance), as the issue specifies.
- Dates are ISO ``YYYY-MM-DD`` strings (or ``None`` when the bank wrote an impossible
  date such as MT940 ``021131``: kept as a warning, never a crash).
- A statement that does not reconcile (opening + booked entries != closing) is
  reported in ``balance_check`` and ``warnings``, not refused: several real bank
  files do not reconcile (partial exports, FX entries) and the importer decides.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from api.bank.errors import StatementFormatError, StatementTooLargeError

CREDIT = "CRDT"
DEBIT = "DBIT"

# ISO 4217 minor-unit exponents that differ from 2 (list of 2024-06; funds codes included).
_ZERO_DIGITS = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE_DIGITS = "BHD IQD JOD KWD LYD OMR TND"
_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(_ZERO_DIGITS.split(" "), 0),
    **dict.fromkeys(_THREE_DIGITS.split(" "), 3),
    "CLF": 4,
    "UYW": 4,
}


# Refuse files over this size before parsing (a month of a large estate's camt.053 is a
# few MB; 64 MiB leaves room for a year and stops memory exhaustion by a hostile upload).
MAX_STATEMENT_BYTES = 64 * 1024 * 1024


def check_size(data: bytes, *, file: str | None = None, max_bytes: int | None = None) -> None:
    """Refuse a file over ``max_bytes`` (default ``MAX_STATEMENT_BYTES``) before parsing it."""
    limit = MAX_STATEMENT_BYTES if max_bytes is None else max_bytes
    if len(data) > limit:
        raise StatementTooLargeError(
            f"file is {len(data)} bytes, over the limit of {limit} bytes", file=file
        )


def minor_unit_digits(currency: str) -> int:
    """Digits after the decimal point for ``currency`` (ISO 4217); 2 when not listed."""
    return _EXPONENTS.get(currency.upper(), 2)


def to_minor(
    amount: str | Decimal,
    currency: str,
    *,
    file: str | None = None,
    line: int | None = None,
    element: str | None = None,
) -> int:
    """Exact conversion of a decimal amount text to integer minor units.

    Accepts ``.`` or ``,`` as decimal mark (camt uses ``.``, MT940 ``,``) and
    trailing zeros beyond the minor unit (camt allows 5 fraction digits: ``18.150``
    EUR is 1815 cents). A non-zero digit beyond the minor unit cannot be booked
    in that currency, so it is refused rather than rounded silently.
    """
    if isinstance(amount, Decimal):
        value = amount
        text = str(amount)
    else:
        text = amount.strip().replace(",", ".")
        if text.endswith("."):
            text += "0"
        if text.startswith("."):
            text = "0" + text
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise StatementFormatError(
                f"not an amount: {amount!r}", file=file, line=line, element=element
            ) from None
    if not value.is_finite():
        raise StatementFormatError(
            f"not an amount: {amount!r}", file=file, line=line, element=element
        )
    scaled = value.scaleb(minor_unit_digits(currency))
    if scaled != scaled.to_integral_value():
        raise StatementFormatError(
            f"amount {text} {currency} has more decimals than the currency's minor unit "
            f"({minor_unit_digits(currency)} digits)",
            file=file,
            line=line,
            element=element,
        )
    return int(scaled)


def is_iban(value: str) -> bool:
    """ISO 13616 check: country code, two check digits, BBAN, and mod 97 == 1.

    A syntax and checksum test only; the importer keeps accounts that fail it
    (some bank test files carry invalid IBANs) as ``account_other_id``.
    """
    text = value.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", text):
        return False
    digits = "".join(str(int(ch, 36)) for ch in text[4:] + text[:4])
    return int(digits) % 97 == 1


_RF_CANDIDATE = re.compile(r"(?<![A-Z0-9])RF\d{2}(?: ?[A-Z0-9]{1,4}){1,6}", re.IGNORECASE)


def is_creditor_reference(value: str) -> bool:
    """ISO 11649 check: ``RF`` + 2 check digits + up to 21 characters, mod 97 == 1."""
    text = value.replace(" ", "").upper()
    if not re.fullmatch(r"RF\d{2}[A-Z0-9]{1,21}", text):
        return False
    digits = "".join(str(int(ch, 36)) for ch in text[4:] + text[:4])
    return int(digits) % 97 == 1


def find_creditor_reference(text: str | None) -> str | None:
    """The first valid ISO 11649 reference (``RF18 5390 0754 7034``) in free text, compacted.

    MT940 and CSV exports carry a structured reference only inside the purpose
    text; the check digits make a false hit on other text unlikely.
    """
    for match in _RF_CANDIDATE.finditer(text or ""):
        words = match.group(0).split(" ")
        # Longest prefix of the space-separated groups that validates.
        for end in range(len(words), 0, -1):
            candidate = "".join(words[:end]).upper()
            if is_creditor_reference(candidate):
                return candidate
    return None


def format_minor(amount_minor: int, currency: str) -> str:
    """``12345, "EUR"`` -> ``"123.45"``: the decimal text of a minor-unit amount."""
    return str(Decimal(amount_minor).scaleb(-minor_unit_digits(currency)))


@dataclass(slots=True)
class Party:
    """A related party of a transaction (camt ``RltdPties``; MT940 ?30-?33)."""

    role: str  # Debtor, Creditor, UltimateDebtor, UltimateCreditor, InitiatingParty
    name: str | None = None
    iban: str | None = None
    account_other_id: str | None = None
    bic: str | None = None
    address_lines: list[str] = field(default_factory=list)
    country: str | None = None


@dataclass(slots=True)
class CreditorReference:
    """Structured creditor reference (camt ``Strd/CdtrRefInf``; type SCOR = ISO 11649 RF...)."""

    ref: str
    type: str | None = None


@dataclass(slots=True)
class Balance:
    """A balance as the bank states it; ``type`` is the ISO 20022 balance code.

    MT940 balances map to the same codes: :60F: OPBD, :60M: ITBD (intermediate
    opening), :62F: CLBD, :62M: ITBD, :64: CLAV, :65: FWAV.
    """

    type: str
    amount_minor: int  # signed, negative = debit balance
    currency: str
    date: str | None = None


@dataclass(slots=True)
class Batch:
    """camt ``NtryDtls/Btch``: a batch booking, possibly without any ``TxDtls``."""

    message_id: str | None = None
    payment_information_id: str | None = None
    number_of_transactions: int | None = None
    total_amount_minor: int | None = None
    currency: str | None = None
    credit_debit: str | None = None


@dataclass(kw_only=True, slots=True)
class EntryDetail:
    """One transaction: a camt ``TxDtls``, or the single transaction of an entry."""

    amount_minor: int | None = None  # unsigned; None when the bank gave no amount
    currency: str | None = None
    credit_debit: str | None = None  # CRDT | DBIT
    reversal: bool = False
    booking_date: str | None = None
    value_date: str | None = None
    counterparty_name: str | None = None
    counterparty_account: str | None = None
    counterparty_bic: str | None = None
    remittance: str | None = None
    end_to_end_id: str | None = None
    creditor_reference: str | None = None
    return_reason: str | None = None
    return_additional_info: str | None = None
    charges_minor: int | None = None
    # references
    account_servicer_reference: str | None = None
    instruction_id: str | None = None
    transaction_id: str | None = None
    mandate_id: str | None = None
    payment_information_id: str | None = None
    message_id: str | None = None
    uetr: str | None = None
    creditor_scheme_id: str | None = None
    proprietary_references: dict[str, str] = field(default_factory=dict)
    # codes and texts
    bank_transaction_code: str | None = None  # ISO Domain-Family-SubFamily, e.g. PMNT-RCDT-ESCT
    proprietary_code: str | None = None  # e.g. NTRF+020 (issuer ZKA), MT940 GVC
    proprietary_code_issuer: str | None = None
    purpose_code: str | None = None
    additional_info: str | None = None
    remittance_lines: list[str] = field(default_factory=list)
    creditor_references: list[CreditorReference] = field(default_factory=list)
    parties: list[Party] = field(default_factory=list)
    # foreign exchange
    original_amount_minor: int | None = None  # instructed amount (AmtDtls/InstdAmt)
    original_currency: str | None = None
    exchange_rate: str | None = None  # Decimal text, never float
    extra: dict[str, Any] = field(default_factory=dict)  # format-specific raw fields

    def party(self, role: str) -> Party | None:
        """The first related party with ``role`` (Debtor, Creditor, ...)."""
        return next((p for p in self.parties if p.role == role), None)


@dataclass(kw_only=True, slots=True)
class Entry(EntryDetail):
    """A booked (or pending) line of a statement: camt ``Ntry``, MT940 ``:61:``, a CSV row."""

    status: str | None = None  # BOOK, PDNG, INFO
    entry_reference: str | None = None
    batch: Batch | None = None
    details: list[EntryDetail] = field(default_factory=list)


@dataclass(kw_only=True, slots=True)
class Statement:
    """One camt ``Stmt``/``Rpt``/``Ntfctn``, one MT940 ``:20:`` block, or one CSV export."""

    id: str | None = None
    message: str | None = None  # e.g. camt.053.001.02, MT940, wechat-merchant-tradebill
    message_id: str | None = None
    created_at: str | None = None
    account_iban: str | None = None
    account_other_id: str | None = None
    account_bic: str | None = None
    account_servicer_name: str | None = None
    account_owner_name: str | None = None
    currency: str | None = None
    opening_balance_minor: int | None = None
    closing_balance_minor: int | None = None
    opening_date: str | None = None
    closing_date: str | None = None
    balances: list[Balance] = field(default_factory=list)
    from_datetime: str | None = None
    to_datetime: str | None = None
    electronic_sequence_number: str | None = None
    statement_number: str | None = None
    sequence_number: str | None = None
    page_number: int | None = None
    last_page: bool | None = None
    entries: list[Entry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def balance(self, type_code: str) -> Balance | None:
        """The first balance of ISO type ``type_code`` (OPBD, CLBD, PRCD, ITBD, CLAV...)."""
        return next((b for b in self.balances if b.type == type_code), None)

    def movement_minor(self) -> int:
        """Signed sum of booked entries in the statement currency (credits +, debits -)."""
        total = 0
        for entry in self.entries:
            if entry.amount_minor is None or entry.status in ("PDNG", "INFO"):
                continue
            if self.currency and entry.currency and entry.currency != self.currency:
                continue
            total += entry.amount_minor if entry.credit_debit == CREDIT else -entry.amount_minor
        return total

    def balance_check(self) -> dict[str, Any] | None:
        """Does opening + booked entries equal closing? ``None`` when a balance is missing.

        Entries booked in another currency than the account (camt FX entries)
        are left out of the sum and make the check report ``reconciles: false``
        with the difference, which is what the bank's own figures say.
        """
        if self.opening_balance_minor is None or self.closing_balance_minor is None:
            return None
        currencies = {b.currency for b in self._opening_closing() if b is not None}
        if self.currency and currencies - {self.currency}:
            # Opening and closing in different currencies cannot be compared.
            return {"reconciles": False, "difference_minor": None}
        expected = self.opening_balance_minor + self.movement_minor()
        difference = self.closing_balance_minor - expected
        return {"reconciles": difference == 0, "difference_minor": difference}

    def _opening_closing(self) -> tuple[Balance | None, Balance | None]:
        """Opening: OPBD, else PRCD, else the first of 2+ ITBD; closing: CLBD, else last ITBD."""
        opening = self.balance("OPBD") or self.balance("PRCD")
        closing = self.balance("CLBD")
        interim = [b for b in self.balances if b.type == "ITBD"]
        if opening is None and len(interim) >= 2:
            opening = interim[0]
        if closing is None and interim:
            closing = interim[-1]
        return opening, closing

    def finish(self) -> Statement:
        """Fill opening/closing from ``balances`` and record a non-reconciling statement."""
        opening, closing = self._opening_closing()
        if opening is not None and self.opening_balance_minor is None:
            self.opening_balance_minor = opening.amount_minor
            self.opening_date = opening.date
            if opening.type == "PRCD" and opening.date:
                # ISO 20022 PRCD is the closing booked balance of the previous period:
                # the statement opens with it on the following day.
                following = dt.date.fromisoformat(opening.date) + dt.timedelta(days=1)
                self.opening_date = following.isoformat()
        if closing is not None and self.closing_balance_minor is None:
            self.closing_balance_minor = closing.amount_minor
            self.closing_date = closing.date
        if self.currency is None:
            self.currency = (opening or closing).currency if (opening or closing) else None
            if self.currency is None and self.entries:
                self.currency = self.entries[0].currency
        check = self.balance_check()
        if check is not None and check["difference_minor"] is None:
            self.warnings.append("opening and closing balances are in different currencies")
        elif check is not None and not check["reconciles"]:
            ccy = self.currency or "XXX"
            self.warnings.append(
                "balances do not reconcile: opening "
                f"{format_minor(self.opening_balance_minor or 0, ccy)} + booked entries "
                f"{format_minor(self.movement_minor(), ccy)} != closing "
                f"{format_minor(self.closing_balance_minor or 0, ccy)} (difference "
                f"{format_minor(check['difference_minor'], ccy)})"
            )
        return self


@dataclass(slots=True)
class ParseResult:
    """What ``bank parse`` prints: the detected format and its statements."""

    format: str
    statements: list[Statement]

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON shape (plus ``balance_check`` per statement)."""
        out = []
        for statement in self.statements:
            data = _plain(statement)
            data["balance_check"] = statement.balance_check()
            out.append(data)
        return {"format": self.format, "statements": out}


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _plain(value: Any) -> Any:
    """Dataclasses to dicts, like ``dataclasses.asdict`` without its deep copies.

    ``asdict`` took seconds on a 20k-entry statement; the values here are only
    str/int/bool/None, lists and dicts, so a direct walk is enough.
    """
    kind = type(value)
    names = _FIELD_NAMES.get(kind)
    if names is None and dataclasses.is_dataclass(value):
        names = _FIELD_NAMES[kind] = tuple(f.name for f in dataclasses.fields(value))
    if names is not None:
        return {name: _plain(getattr(value, name)) for name in names}
    if kind is list:
        return [_plain(item) for item in value]
    if kind is dict:
        return {key: _plain(item) for key, item in value.items()}
    return value
