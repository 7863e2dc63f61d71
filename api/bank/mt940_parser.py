"""SWIFT MT940 customer statements, with the German structured field 86.

Layout (SWIFT MT940; SWIFT UHB "Category 9"; German variant: DFÜ-Abkommen
Anlage 3 / DK "Spezifikation der Datenformate")::

    :20:  transaction reference        -> Statement.id; every :20: starts a statement
    :21:  related reference (optional)
    :25:  account: "BLZ/Kontonummer", an IBAN, or "BIC/IBAN"
    :28C: statement number[/sequence number]      (:28: in old files)
    :60F: / :60M:  opening balance  D|C YYMMDD CCY amount    (F final, M intermediate)
    :61:  statement line, repeated (one Entry each):
          YYMMDD [MMDD] [R]C|D [funds code] amount N|F|S+3 code customer-ref [//bank-ref]
          [CRLF supplementary details]
    :86:  information to account owner (after a :61: for that line; after :62: for the statement)
    :62F: / :62M:  closing balance, :64: closing available, :65: forward available
    :NS:  non-SWIFT lines some banks add (kept in ``extra``)

Amounts use ``,`` as decimal mark and may omit the decimals (``15000,``). German
banks structure :86: as ``GVC?00posting text?10prima nota?20..?29 purpose?30 BLZ/BIC
?31 account/IBAN?32..?33 name?34 text key extension / return code?38 IBAN?60..?63 more
purpose``. A subfield may be split across physical lines, even inside the ``?NN``
marker, so the physical lines are joined without a separator before splitting (as
the DK spec's 65-character line limit implies). Inside the purpose text, SEPA
keywords (EREF+, KREF+, MREF+, CRED+, DEBT+, SVWZ+, ABWA+, ABWE+, COAM+, OAMT+,
IBAN+, BIC+) may start anywhere, also mid-subfield, so they are found after the
?20-?29/?60-?63 lines are joined. ``MTLG:`` is not a SEPA keyword and stays in the
preceding field. Returns: for GVC 108/109/159/160 or a RETOURE/RUECK... posting text,
?34 is the return reason; COAM+ (fees) and OAMT+ (original amount) fill
``charges_minor`` and ``original_amount_minor``.

Other layouts met in real files, each handled and tested: Dutch banks write :86: as
``/KEY/value`` (``/EREF/``, ``/CNTP/account/BIC/name/city/``, ``/REMI/USTD//text``,
``/REMI/STRD/CUR/ref``, ``/RTRN/``); Triodos uses ``>`` instead of ``?`` before the
DK subfields; SWIFT ``/OCMT/`` and ``/CHGS/`` carry original amount and charges;
MT942 interim reports have no balances and name their currency in ``:34F:``; a
wrapped :86: line may look like a tag (``:26:`` from a time "16:26"), so only the
tags MT940/MT942 define start a field; RC is the reversal of a credit (a debit) and
RD the reversal of a debit (a credit).

Where the ``mt-940`` library (wolph/mt940) fits and where it does not: its field
regexes and ?-subfield post-processor follow the same DK layout, and the tests use
its ``transaction_details_post_processor`` as an independent oracle for our German
:86: split. It is not used as the parser because on real files it (a) raises on an
impossible balance date (``:62F:C021131``, 31 November) instead of reporting it, (b)
merges every ``:20:`` block into one ``Transactions`` object, so per-statement
balances and balance continuity are lost, (c) returns signed ``Decimal`` amounts and
no minor units, and (d) does not keep ``:NS:`` lines, ``:61:`` supplementary details
or the statement-level :86: after :62F:.

Encoding: MT940 is specified in the SWIFT character set, but German banks send
ISO-8859-1 and newer exports UTF-8; the bytes are decoded as UTF-8 when valid and as
ISO-8859-1 otherwise (every byte sequence is valid ISO-8859-1, so the choice is
recorded in ``Statement.extra["encoding"]``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from api.bank.errors import StatementFormatError
from api.bank.statement import (
    CREDIT,
    DEBIT,
    Balance,
    Entry,
    ParseResult,
    Party,
    Statement,
    check_size,
    find_creditor_reference,
    is_iban,
    to_minor,
)

# Only the fields MT940 (and MT942) define start a new field: a wrapped :86: line may
# itself begin with ":26:" (the "37" of a time "16:37" after a line break).
_TAG_RE = re.compile(r"^:(20|21|25P?|28C?|13D?|34F|60[FM]|61|62[FM]|64|65|86|90[CD]|NS[A-Z]?):")
_BALANCE_RE = re.compile(r"^([CD])(\d{6})([A-Z]{3})?(\d+[,.]?\d*)$")
# SWIFT codes in :61: supplementary details / :86: (MT940 usage guidelines): original
# amount and charges, each as currency + amount, e.g. /OCMT/EUR4,5/ /CHGS/EUR0,5/.
_SWIFT_AMOUNT_RE = re.compile(r"/(OCMT|CHGS)/([A-Z]{3})(\d+[,.]?\d*)")
_LINE_61_RE = re.compile(
    r"^(?P<value>\d{6})(?P<entry>\d{4})?(?P<mark>RC|RD|EC|ED|C|D)(?P<funds>[A-Z])?"
    r"(?P<amount>\d+[,.]\d*|\d+)(?P<type>[NFS][A-Z0-9 ]{3})(?P<rest>.*)$"
)
_SEPA_KEYWORDS = (
    "EREF",
    "KREF",
    "MREF",
    "CRED",
    "DEBT",
    "COAM",
    "OAMT",
    "SVWZ",
    "ABWA",
    "ABWE",
    "IBAN",
    "BIC",
)
_SEPA_RE = re.compile(r"(" + "|".join(_SEPA_KEYWORDS) + r")\+")
_BALANCE_TYPES = {
    "60F": "OPBD",
    "60M": "ITBD",
    "62F": "CLBD",
    "62M": "ITBD",
    "64": "CLAV",
    "65": "FWAV",
}
# DK Geschäftsvorfallcodes of returns (Rücklastschrift / Retoure); ?34 then holds the
# return reason. The posting text (?00) is checked as well, as banks differ.
_RETURN_GVC = frozenset({"108", "109", "159", "160"})
_RETURN_TEXT_RE = re.compile(r"RETOURE|R(?:UE|Ü)CK(?:LASTSCHRIFT|UEBERWEISUNG|GABE)", re.I)


@dataclass
class _Field:
    tag: str
    lines: list[str]
    line_no: int

    @property
    def first(self) -> str:
        return self.lines[0]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass
class _Block:
    fields: list[_Field] = field(default_factory=list)


def decode_mt940(data: bytes) -> tuple[str, str]:
    """UTF-8 (with or without BOM) when valid, ISO-8859-1 otherwise."""
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("iso-8859-1"), "iso-8859-1"


def _strip_envelope(line: str) -> str:
    """Drop SWIFT FIN header blocks ``{1:..}{2:..}{3:{..}}`` and the ``{4:`` opener."""
    while line.startswith("{"):
        match = re.match(r"^\{[1-3]:(?:[^{}]|\{[^{}]*\})*\}", line)
        if match:
            line = line[match.end() :]
            continue
        if line.startswith("{4:"):
            line = line[3:]
            continue
        if re.match(r"^\{5:", line):
            return ""
        break
    return line


def _split_fields(text: str) -> list[_Block]:
    """Physical lines -> fields, cut into blocks at separator lines (``-`` / ``-}``)."""
    blocks: list[_Block] = [_Block()]
    current: _Field | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _strip_envelope(raw.rstrip("\r"))
        if line.strip() in ("-", "-}", "}", "-}{5:") or line.startswith("-}"):
            current = None
            if blocks[-1].fields:
                blocks.append(_Block())
            continue
        if not line.strip():
            continue
        match = _TAG_RE.match(line)
        if match:
            current = _Field(match.group(1), [line[match.end() :]], number)
            blocks[-1].fields.append(current)
        elif current is not None:
            current.lines.append(line)
        # else: header noise before the first tag (ING "0000 01INGBNL2AXXXX00001", "940 00")
    return [b for b in blocks if b.fields]


def parse_mt940(
    data: bytes, *, file: str | None = None, max_bytes: int | None = None
) -> ParseResult:
    """Parse MT940 bytes into one Statement per ``:20:`` block."""
    check_size(data, file=file, max_bytes=max_bytes)
    text, encoding = decode_mt940(data)
    statements: list[Statement] = []
    first_lines: dict[int, int] = {}
    for block in _split_fields(text):
        statement: Statement | None = None
        last_entry: Entry | None = None
        for fld in block.fields:
            if fld.tag == "20" or statement is None:
                statement = Statement(message="MT940", extra={"encoding": encoding})
                statements.append(statement)
                first_lines[id(statement)] = fld.line_no
                last_entry = None
                if fld.tag == "20":
                    statement.id = fld.first.strip()
                    continue
            last_entry = _apply(statement, fld, last_entry, file)
    if not statements:
        raise StatementFormatError("no MT940 field (:20:, :61: ...) found", file=file)
    for statement in statements:
        if not statement.entries and statement.id is None:
            raise StatementFormatError(
                "MT940 block without :20: and without :61:",
                file=file,
                line=first_lines[id(statement)],
            )
        statement.finish()
    return ParseResult(format="mt940", statements=statements)


def _apply(
    statement: Statement, fld: _Field, last_entry: Entry | None, file: str | None
) -> Entry | None:
    tag = fld.tag
    if tag in ("25", "25P"):
        _account(statement, fld.first.strip())
    elif tag in ("28C", "28"):
        number, _, sequence = fld.first.strip().partition("/")
        statement.statement_number = number or None
        statement.sequence_number = sequence or None
    elif tag == "21":
        statement.extra["related_reference"] = fld.first.strip()
    elif tag in ("13D", "13"):
        statement.created_at = fld.first.strip()
    elif tag == "34F":
        # MT942 floor limit "PLN0": the only place an interim report names its currency.
        statement.message = "MT942"
        currency = re.match(r"([A-Z]{3})", fld.first.strip())
        if currency and statement.currency is None:
            statement.currency = currency.group(1)
    elif tag in _BALANCE_TYPES:
        balance = _balance(fld, file, statement)
        statement.balances.append(balance)
        if tag in ("60F", "60M") and statement.currency is None:
            statement.currency = balance.currency
        return None
    elif tag == "61":
        entry = _line_61(fld, file, statement)
        _swift_amounts(entry, "".join(fld.lines[1:]), fld, file)
        statement.entries.append(entry)
        return entry
    elif tag == "86":
        if last_entry is not None and "text_86" not in last_entry.extra:
            _details_86(last_entry, fld, statement.currency or "XXX", file)
            _swift_amounts(last_entry, fld.text, fld, file)
            return last_entry
        statement.extra.setdefault("info_86", []).append(fld.text)
    elif tag.startswith("NS"):
        # Non-SWIFT lines after a :61: (Sberbank) describe that line, else the statement.
        owner = last_entry if last_entry is not None else statement
        owner.extra.setdefault("non_swift", []).append(
            {"tag": "NS", "modifier": tag[2:] or None, "text": fld.text}
        )
    else:
        statement.extra.setdefault("other_fields", []).append({"tag": tag, "text": fld.text})
    return last_entry


def _swift_amounts(entry: Entry, text: str, fld: _Field, file: str | None) -> None:
    """/OCMT/ (original amount) and /CHGS/ (charges) where a bank writes them."""
    for code, currency, amount in _SWIFT_AMOUNT_RE.findall("".join(text.split("\n"))):
        minor = to_minor(amount, currency, file=file, line=fld.line_no, element=f"/{code}/")
        if code == "OCMT" and entry.original_amount_minor is None:
            entry.original_amount_minor, entry.original_currency = minor, currency
        elif code == "CHGS" and entry.charges_minor is None:
            entry.charges_minor = minor


def _account(statement: Statement, value: str) -> None:
    compact = value.replace(" ", "")
    if is_iban(compact):
        statement.account_iban = compact
        return
    if re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]+[A-Z]{3}", compact) and is_iban(compact[:-3]):
        statement.account_iban = compact[:-3]  # "NL91ABNA0417164300EUR" (ING, Rabobank)
        statement.currency = statement.currency or compact[-3:]
        return
    head, _, tail = compact.partition("/")
    if tail and is_iban(tail):
        statement.account_iban = tail
        statement.account_bic = head
        return
    suffix = re.fullmatch(r"(.*\d)([A-Z]{3})", compact)
    if suffix:
        # "51210600/9223382012EUR": some banks append the account currency.
        statement.account_other_id = suffix.group(1)
        statement.currency = statement.currency or suffix.group(2)
        return
    statement.account_other_id = value


def _date(yymmdd: str, statement: Statement, where: str) -> str | None:
    """YYMMDD -> ISO; SWIFT years 00-79 are 20xx, 80-99 19xx. Impossible dates -> None."""
    year = int(yymmdd[:2])
    year += 2000 if year < 80 else 1900
    try:
        return dt.date(year, int(yymmdd[2:4]), int(yymmdd[4:6])).isoformat()
    except ValueError:
        statement.warnings.append(f"{where}: impossible date {yymmdd!r} kept as null")
        return None


def _balance(fld: _Field, file: str | None, statement: Statement) -> Balance:
    value = fld.first.strip()
    match = _BALANCE_RE.match(value)
    if match is None:
        raise StatementFormatError(
            f"balance {value!r} is not D|C YYMMDD CCY amount",
            file=file,
            line=fld.line_no,
            element=f":{fld.tag}:",
        )
    mark, date, currency, amount = match.groups()
    if currency is None:
        # Seen in real exports (:62M:C020315105000,00): no currency; the statement's.
        if statement.currency is None:
            raise StatementFormatError(
                f"balance {value!r} has no currency and none is known from :60F:",
                file=file,
                line=fld.line_no,
                element=f":{fld.tag}:",
            )
        currency = statement.currency
        statement.warnings.append(
            f"line {fld.line_no} :{fld.tag}: without currency, read as {currency}"
        )
    minor = to_minor(amount, currency, file=file, line=fld.line_no, element=f":{fld.tag}:")
    return Balance(
        type=_BALANCE_TYPES[fld.tag],
        amount_minor=-minor if mark == "D" else minor,
        currency=currency,
        date=_date(date, statement, f"line {fld.line_no} :{fld.tag}:"),
    )


def _line_61(fld: _Field, file: str | None, statement: Statement) -> Entry:
    value = fld.first.strip()
    match = _LINE_61_RE.match(value)
    if match is None:
        raise StatementFormatError(
            f"statement line {value!r} is not YYMMDD[MMDD]C|D|RC|RD amount type reference",
            file=file,
            line=fld.line_no,
            element=":61:",
        )
    currency = statement.currency
    # A fragment without :60F: names no currency; read 2 decimals, and say so.
    if currency is None and not any("no :60F:" in w for w in statement.warnings):
        statement.warnings.append(
            "no :60F: opening balance before the first :61:: currency unknown, "
            "amounts read with 2 decimals"
        )
    minor_currency = currency or "XXX"
    mark = match["mark"]
    where = f"line {fld.line_no} :61:"
    value_date = _date(match["value"], statement, where)
    booking_date = value_date
    if match["entry"]:
        year = (
            2000 + int(match["value"][:2])
            if int(match["value"][:2]) < 80
            else 1900 + int(match["value"][:2])
        )
        month_gap = int(match["entry"][:2]) - int(match["value"][2:4])
        if month_gap > 6:
            year -= 1
        elif month_gap < -6:
            year += 1
        booking_date = _date(f"{year % 100:02d}{match['entry']}", statement, where)
    rest = match["rest"]
    customer_ref, _, bank_ref = rest.partition("//")
    entry = Entry(
        amount_minor=to_minor(
            match["amount"], minor_currency, file=file, line=fld.line_no, element=":61:"
        ),
        currency=currency,
        # SWIFT field 61 subfield 3: RC = reversal of a credit (a debit entry),
        # RD = reversal of a debit (a credit entry); EC/ED are expected (MT942).
        credit_debit=CREDIT if mark in ("C", "RD", "EC") else DEBIT,
        reversal=mark in ("RC", "RD"),
        status="BOOK" if not mark.startswith("E") else "PDNG",
        booking_date=booking_date,
        value_date=value_date,
        account_servicer_reference=bank_ref.strip() or None,
        extra={
            "funds_code": match["funds"],
            "transaction_type": match["type"].rstrip(),
            "customer_reference": customer_ref.strip() or None,
            "bank_reference": bank_ref.strip() or None,
        },
    )
    if len(fld.lines) > 1:
        entry.additional_info = " ".join(line.strip() for line in fld.lines[1:])
        entry.extra["supplementary_details"] = entry.additional_info
        if is_iban(entry.additional_info.replace(" ", "")):
            # Rabobank puts the counterparty IBAN in the :61: supplementary details.
            entry.counterparty_account = entry.additional_info.replace(" ", "")
    return entry


def _structured_parts(text: str) -> tuple[str, dict[str, str]] | None:
    """GVC and ?NN subfields of a German structured :86:, or None for free text.

    The DK layout uses ``?`` before each subfield number; some banks (Triodos NL)
    use ``>`` in the same layout, so the character after the GVC is the separator.
    """
    joined = "".join(text.split("\n")).lstrip()
    match = re.match(r"^(\d{3})?([?>])(?=\d\d)", joined)
    if match is None:
        return None
    subfields: dict[str, str] = {}
    separator = re.escape(match.group(2))
    pieces = re.split(separator + r"(\d\d)", joined[match.end() - 1 :])
    # pieces: ["", "00", "text", "10", "text", ...]
    for code, value in zip(pieces[1::2], pieces[2::2], strict=True):
        subfields[code] = subfields.get(code, "") + value
    return match.group(1) or "", subfields


def split_sepa_keywords(purpose: str) -> dict[str, str]:
    """``EREF+abcSVWZ+text`` -> ``{"EREF": "abc", "SVWZ": "text"}`` (DK Anlage 3, SEPA keys)."""
    found = list(_SEPA_RE.finditer(purpose))
    result: dict[str, str] = {}
    for index, match in enumerate(found):
        end = found[index + 1].start() if index + 1 < len(found) else len(purpose)
        key = match.group(1)
        value = purpose[match.end() : end].strip()
        result[key] = result[key] + " " + value if key in result else value
    return result


_NL_KEYS = (
    "TRTP|CNTP|IBAN|BIC|NAME|ADDR|REMI|EREF|MARF|CSID|RTRN|ORDP|BENM|PURP|ULTC|ULTD|ISDT|SVCL"
)
_NL_KEYS += "|PREF|BUSP|CHGS|EXCH|OCMT|ID"
# The slash after a keyword is only looked at, not consumed: "/REMI//ISDT/..." has an
# empty REMI followed by ISDT, and the ISDT match needs that slash.
_NL_KEY_RE = re.compile(rf"/({_NL_KEYS})(?=/)")
_NL_START_RE = re.compile(rf"^/({_NL_KEYS})/")


def _nl_structured(entry: Entry, text: str, currency: str, fld: _Field, file: str | None) -> None:
    """Dutch structured :86: (NVB / SEPA MT940 of ING, ABN AMRO, Rabobank).

    ``/TRTP/SEPA OVERBOEKING/IBAN/NL..../BIC/INGBNL2A/NAME/J. Jansen/REMI/USTD//text/
    EREF/ref/`` -- keywords between slashes; Rabobank writes the counterparty as
    ``/CNTP/account/BIC/name/city/``. A value may itself contain ``/``, so values
    run up to the next *known* keyword.
    """
    found = list(_NL_KEY_RE.finditer(text))
    fields: dict[str, str] = {}
    for index, match in enumerate(found):
        end = found[index + 1].start() if index + 1 < len(found) else len(text)
        value = text[match.end() + 1 : end]
        fields.setdefault(match.group(1), value.rstrip("/"))
    entry.extra["nl_fields"] = fields
    entry.extra["transaction_type_text"] = fields.get("TRTP")
    if "CNTP" in fields:
        parts = [*fields["CNTP"].split("/"), "", "", ""][:4]
        entry.counterparty_account = parts[0] or None
        entry.counterparty_bic = parts[1] or None
        entry.counterparty_name = parts[2] or None
    entry.counterparty_account = fields.get("IBAN") or entry.counterparty_account
    entry.counterparty_bic = fields.get("BIC") or entry.counterparty_bic
    entry.counterparty_name = fields.get("NAME") or entry.counterparty_name
    remi = fields.get("REMI", "")
    if remi.startswith("USTD//"):
        entry.remittance = remi[6:] or None
    elif remi.startswith("STRD/"):
        # STRD/CUR/<reference>: a structured creditor reference (ISO 11649 or NL 16-digit)
        reference = remi.split("/", 2)[-1]
        entry.creditor_reference = reference or None
        entry.remittance = reference or None
    else:
        entry.remittance = remi or None
    if entry.creditor_reference is None:
        entry.creditor_reference = find_creditor_reference(entry.remittance)
    eref = fields.get("EREF")
    entry.end_to_end_id = eref if eref and eref.upper() != "NOTPROVIDED" else None
    entry.mandate_id = fields.get("MARF") or None
    entry.creditor_scheme_id = fields.get("CSID") or None
    entry.purpose_code = fields.get("PURP") or None
    if fields.get("RTRN"):
        entry.return_reason = fields["RTRN"].split("/")[0]
    for key, target in (("CHGS", "charges_minor"), ("OCMT", "original_amount_minor")):
        amount = re.search(r"\d+[,.]?\d*", fields.get(key, ""))
        if amount:
            value = to_minor(
                amount.group(0), currency, file=file, line=fld.line_no, element=f":86: /{key}/"
            )
            setattr(entry, target, value)


def _details_86(entry: Entry, fld: _Field, currency: str, file: str | None) -> None:
    text = fld.text
    entry.extra["text_86"] = text
    parsed = _structured_parts(text)
    if parsed is None and _NL_START_RE.match("".join(fld.lines).lstrip()):
        _nl_structured(entry, "".join(fld.lines).strip(), currency, fld, file)
        return
    if parsed is None:
        free = " ".join(line.strip() for line in fld.lines).strip()
        legacy = re.match(r"^(\d{3})(\D.*)$", free)
        if legacy and legacy.group(1) == "999":
            # Pre-SEPA German "999" form: GVC 999 then unstructured text.
            entry.extra["gvc"] = "999"
            free = legacy.group(2)
        entry.remittance = free or None
        entry.creditor_reference = find_creditor_reference(entry.remittance)
        entry.remittance_lines = [line.strip() for line in fld.lines if line.strip()]
        return
    gvc, sub = parsed
    entry.extra["gvc"] = gvc or None
    entry.extra["subfields"] = sub
    entry.proprietary_code = gvc or None
    entry.proprietary_code_issuer = "DK" if gvc else None
    purpose_codes = [f"{n}" for n in range(20, 30)] + ["60", "61", "62", "63"]
    lines = [sub[c] for c in purpose_codes if c in sub]
    purpose = "".join(lines)
    entry.extra["purpose"] = purpose
    entry.extra["posting_text"] = sub.get("00")
    entry.extra["prima_nota"] = sub.get("10")
    entry.remittance_lines = [line for line in lines if line]
    sepa = split_sepa_keywords(purpose)
    entry.extra["sepa"] = sepa
    if sepa:
        entry.remittance = sepa.get("SVWZ") or purpose or None
    else:
        entry.remittance = purpose or None
    entry.creditor_reference = find_creditor_reference(entry.remittance)
    eref = sepa.get("EREF")
    if eref and eref.upper() != "NOTPROVIDED":
        entry.end_to_end_id = eref
    entry.mandate_id = sepa.get("MREF") or None
    entry.creditor_scheme_id = sepa.get("CRED") or None
    name = (sub.get("32", "") + sub.get("33", "")).strip()
    account = sub.get("38") or sub.get("31")
    entry.counterparty_name = name or None
    if account and account.strip():
        entry.counterparty_account = account.strip()
    bank = sub.get("30", "").strip()
    entry.counterparty_bic = (
        bank if re.fullmatch(r"[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?", bank) else None
    )
    counter = Party(
        role="Debtor" if entry.credit_debit == CREDIT else "Creditor",
        name=entry.counterparty_name,
        iban=entry.counterparty_account if is_iban(entry.counterparty_account or "") else None,
        account_other_id=None
        if is_iban(entry.counterparty_account or "")
        else entry.counterparty_account,
        bic=entry.counterparty_bic,
    )
    entry.parties = [counter]
    if sepa.get("ABWA"):
        entry.parties.append(Party(role="UltimateDebtor", name=sepa["ABWA"]))
    if sepa.get("ABWE"):
        entry.parties.append(Party(role="UltimateCreditor", name=sepa["ABWE"]))
    for key, target in (("COAM", "charges_minor"), ("OAMT", "original_amount_minor")):
        if sepa.get(key):
            amount = re.search(r"\d+[,.]?\d*", sepa[key])
            if amount:
                setattr(
                    entry,
                    target,
                    to_minor(
                        amount.group(0),
                        currency,
                        file=file,
                        line=fld.line_no,
                        element=f":86: {key}+",
                    ),
                )
    is_return = gvc in _RETURN_GVC or bool(_RETURN_TEXT_RE.search(sub.get("00", "")))
    if is_return:
        entry.return_reason = (sub.get("34") or "").strip() or "UNKNOWN"
