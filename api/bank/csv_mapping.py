"""Configurable CSV mapping for bank exports that have no standard format.

Many banks offer only a CSV download whose columns, date format, decimal mark
and sign convention differ per bank. A :class:`CsvMapping` says, by column
*name* (with aliases, so a renamed column in a new export still maps), where
each normalized field is, and how amounts and directions are written. It can be
loaded from a TOML file (``meterbill bank parse FILE --mapping bank.toml``)::

    name = "sparkasse-csv"
    encoding = "iso-8859-1"
    delimiter = ";"
    decimal_mark = ","
    thousands_separator = "."
    date_formats = ["%d.%m.%y", "%d.%m.%Y"]
    currency = "EUR"
    account_iban = "DE..."             # optional: the account the export is for
    [columns]
    booking_date = ["Buchungstag"]
    value_date = ["Valutadatum"]
    amount = ["Betrag"]                 # signed: negative = debit ...
    direction = []                      # ... or unsigned plus a direction column
    counterparty_name = ["Beguenstigter/Zahlungspflichtiger"]
    counterparty_account = ["Kontonummer/IBAN"]
    remittance = ["Verwendungszweck"]
    end_to_end_id = ["Kundenreferenz (End-to-End)"]
    currency = ["Waehrung"]

The header row is found by content (the first row containing every
``required`` column), so metadata lines before it (as WeChat and Alipay write)
are skipped; rows after the data whose first cell starts with one of
``stop_prefixes`` end the table (summary rows). Cells are stripped of padding,
trailing tabs and a leading backtick (WeChat prefixes values with ` so that
spreadsheet programs keep long ids as text).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from api.bank.errors import StatementFormatError
from api.bank.statement import (
    CREDIT,
    DEBIT,
    Entry,
    ParseResult,
    Statement,
    check_size,
    find_creditor_reference,
    to_minor,
)

_CELL_STRIP = " \t\r\n\u3000"


def clean_cell(value: str | None) -> str:
    """Strip padding, tabs and WeChat's leading backtick from one CSV cell."""
    text = (value or "").strip(_CELL_STRIP)
    if text.startswith("`"):
        text = text[1:].strip(_CELL_STRIP)
    return text


def decode_text(data: bytes, encodings: Sequence[str], *, file: str | None) -> tuple[str, str]:
    """Decode with the first encoding that fits; GBK exports decode as GB18030 (a superset)."""
    for encoding in encodings:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise StatementFormatError(
        f"cannot decode the file as any of {', '.join(encodings)}", file=file, line=1
    )


@dataclass(frozen=True)
class CsvRow:
    """One data row with its 1-based physical line number, cells keyed by header name."""

    line: int
    cells: dict[str, str]

    def get(self, aliases: Sequence[str]) -> str | None:
        for alias in aliases:
            value = self.cells.get(alias)
            if value is not None:
                return value
        return None


def read_table(
    text: str,
    *,
    required: Sequence[Sequence[str]],
    delimiter: str = ",",
    stop_prefixes: Sequence[str] = (),
    file: str | None,
) -> tuple[list[str], list[CsvRow], list[list[str]], list[list[str]]]:
    """Find the header row by content and return (header, rows, lines before, lines after).

    ``required`` lists alias groups; the header is the first row that has one
    alias of every group. Rows after the table (blank row, then summary or
    footnotes) are returned separately so the caller can read summaries.
    """
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    before: list[list[str]] = []
    header: list[str] | None = None
    rows: list[CsvRow] = []
    after: list[list[str]] = []
    ended = False
    for record in reader:
        line = reader.line_num
        cells = [clean_cell(c) for c in record]
        if header is None:
            if all(any(a in cells for a in group) for group in required):
                header = cells
            else:
                before.append(cells)
            continue
        if ended:
            after.append(cells)
            continue
        if not any(cells) or (cells and any(cells[0].startswith(p) for p in stop_prefixes)):
            ended = True
            if any(cells):
                after.append(cells)
            continue
        if len(cells) < len(header):
            cells += [""] * (len(header) - len(cells))
        rows.append(CsvRow(line=line, cells=dict(zip(header, cells, strict=False))))
    if header is None:
        wanted = ", ".join("/".join(g) for g in required)
        raise StatementFormatError(f"no header row with the columns {wanted}", file=file, line=1)
    return header, rows, before, after


def parse_decimal(
    value: str,
    *,
    decimal_mark: str = ".",
    thousands: str = "",
    file: str | None,
    line: int,
    column: str,
) -> Decimal:
    """A money text (``¥1,001.10``, ``-1.234,56``, ``12.00元``) as an exact Decimal."""
    text = re.sub(r"[¥￥元€$£\s]", "", value)
    if thousands:
        text = text.replace(thousands, "")
    if decimal_mark != ".":
        text = text.replace(decimal_mark, ".")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise StatementFormatError(
            f"not an amount: {value!r}", file=file, line=line, element=column
        ) from None
    if not amount.is_finite():
        raise StatementFormatError(
            f"not an amount: {value!r}", file=file, line=line, element=column
        )
    return amount


def parse_date(
    value: str, formats: Sequence[str], *, file: str | None, line: int, column: str
) -> str:
    """A date or date-time text in one of ``formats`` as ISO ``YYYY-MM-DD`` (local date)."""
    for fmt in formats:
        try:
            return dt.datetime.strptime(value, fmt).date().isoformat()
        except ValueError:
            continue
    raise StatementFormatError(
        f"not a date in {', '.join(formats)}: {value!r}", file=file, line=line, element=column
    )


@dataclass(frozen=True)
class CsvMapping:
    """How one bank's CSV export maps to the normalized fields (see module docstring)."""

    name: str
    columns: dict[str, tuple[str, ...]]
    encoding: str = "utf-8-sig"
    delimiter: str = ","
    decimal_mark: str = "."
    thousands_separator: str = ""
    date_formats: tuple[str, ...] = ("%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y", "%Y-%m-%d %H:%M:%S")
    currency: str | None = None
    account_iban: str | None = None
    account_other_id: str | None = None
    credit_values: tuple[str, ...] = ("C", "CR", "CRDT", "H", "Haben", "credit", "收入")
    debit_values: tuple[str, ...] = ("D", "DR", "DBIT", "S", "Soll", "debit", "支出")
    stop_prefixes: tuple[str, ...] = ()
    required: tuple[str, ...] = ("booking_date",)
    extra_fields: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_toml(cls, path: str | Path) -> CsvMapping:
        """Load a mapping file; unknown keys are refused with their name (no silent typo)."""
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(raw) - known)
        if unknown:
            raise StatementFormatError(f"unknown mapping keys {unknown}", file=str(path))
        if "name" not in raw or "columns" not in raw:
            raise StatementFormatError("mapping needs 'name' and [columns]", file=str(path))
        data: dict = {}
        for key, value in raw.items():
            if key in ("columns", "extra_fields"):
                data[key] = {k: (v,) if isinstance(v, str) else tuple(v) for k, v in value.items()}
            elif isinstance(value, list):
                data[key] = tuple(value)
            else:
                data[key] = value
        mapping = cls(**data)
        if "amount" not in mapping.columns and not (
            "credit_amount" in mapping.columns or "debit_amount" in mapping.columns
        ):
            raise StatementFormatError(
                "mapping needs columns.amount or columns.credit_amount/debit_amount",
                file=str(path),
            )
        return mapping


def _entries(mapping: CsvMapping, rows: list[CsvRow], file: str | None) -> Iterator[Entry]:
    cols = mapping.columns
    for row in rows:

        def cell(key: str, row: CsvRow = row) -> str | None:
            aliases = cols.get(key)
            value = row.get(aliases) if aliases else None
            return value or None

        currency = (cell("currency") or mapping.currency or "").upper()
        if not currency:
            raise StatementFormatError(
                "no currency: map columns.currency or set currency", file=file, line=row.line
            )

        def amount_of(key: str, row: CsvRow = row) -> Decimal | None:
            text = cell(key)
            if text is None:
                return None
            return parse_decimal(
                text,
                decimal_mark=mapping.decimal_mark,
                thousands=mapping.thousands_separator,
                file=file,
                line=row.line,
                column="/".join(cols[key]),
            )

        amount = amount_of("amount")
        direction = None
        if amount is None:
            credit, debit = amount_of("credit_amount"), amount_of("debit_amount")
            if credit:
                amount, direction = abs(credit), CREDIT
            elif debit:
                amount, direction = abs(debit), DEBIT
            else:
                raise StatementFormatError(
                    "row without an amount", file=file, line=row.line, element="amount"
                )
        marker = cell("direction")
        if marker is not None:
            if marker in mapping.credit_values:
                direction = CREDIT
            elif marker in mapping.debit_values:
                direction = DEBIT
            else:
                raise StatementFormatError(
                    f"direction {marker!r} is neither credit {mapping.credit_values} "
                    f"nor debit {mapping.debit_values}",
                    file=file,
                    line=row.line,
                    element="/".join(cols["direction"]),
                )
        if direction is None:
            direction = DEBIT if amount < 0 else CREDIT
        where = {"file": file, "line": row.line}
        booking = cell("booking_date")
        if booking is None:
            raise StatementFormatError(
                "row without a booking date", element="booking_date", **where
            )
        value = cell("value_date")
        column = "/".join(cols.get("booking_date", ()))
        entry = Entry(
            amount_minor=to_minor(abs(amount), currency, **where, element="amount"),
            currency=currency,
            credit_debit=direction,
            status="BOOK",
            booking_date=parse_date(booking, mapping.date_formats, **where, column=column),
            value_date=parse_date(value, mapping.date_formats, **where, column="value_date")
            if value
            else None,
            counterparty_name=cell("counterparty_name"),
            counterparty_account=cell("counterparty_account"),
            remittance=cell("remittance"),
            end_to_end_id=cell("end_to_end_id"),
            creditor_reference=cell("creditor_reference")
            or find_creditor_reference(cell("remittance")),
            account_servicer_reference=cell("reference"),
            extra={"line": row.line},
        )
        charges = amount_of("charges")
        if charges is not None:
            entry.charges_minor = to_minor(abs(charges), currency, **where, element="charges")
        for key, aliases in mapping.extra_fields.items():
            value_text = row.get(aliases)
            if value_text:
                entry.extra[key] = value_text
        yield entry


def parse_with_mapping(
    data: bytes, mapping: CsvMapping, *, file: str | None = None, max_bytes: int | None = None
) -> ParseResult:
    """Parse a bank CSV export with ``mapping`` into one statement."""
    check_size(data, file=file, max_bytes=max_bytes)
    text, _ = decode_text(data, (mapping.encoding,), file=file)
    required = [mapping.columns[k] for k in mapping.required if k in mapping.columns]
    _, rows, _, _ = read_table(
        text,
        required=required,
        delimiter=mapping.delimiter,
        stop_prefixes=mapping.stop_prefixes,
        file=file,
    )
    statement = Statement(
        id=None,
        message=f"csv:{mapping.name}",
        account_iban=mapping.account_iban,
        account_other_id=mapping.account_other_id,
        currency=mapping.currency,
    )
    statement.entries.extend(_entries(mapping, rows, file))
    return ParseResult(format=f"csv:{mapping.name}", statements=[statement.finish()])
