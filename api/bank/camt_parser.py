"""ISO 20022 cash management: camt.052 (report), camt.053 (statement), camt.054 (notification).

Layout (ISO 20022 MDR "Bank-to-Customer Cash Management", versions 02-08; the
later versions parse through the same paths)::

    Document/{BkToCstmrAcctRpt|BkToCstmrStmt|BkToCstmrDbtCdtNtfctn}
      GrpHdr      MsgId, CreDtTm, MsgPgntn/{PgNb, LastPgInd}
      Rpt|Stmt|Ntfctn          -> one Statement each
        Id, ElctrncSeqNb, CreDtTm, FrToDt/{FrDtTm, ToDtTm}
        Acct      Id/IBAN | Id/Othr/Id, Ccy, Ownr/Nm, Svcr/FinInstnId/{BIC|BICFI, Nm}
        Bal*      Tp/CdOrPrtry/Cd (OPBD, PRCD, CLBD, ITBD, CLAV...), Amt@Ccy, CdtDbtInd, Dt
        Ntry*     Amt@Ccy, CdtDbtInd, RvslInd, Sts (v08: Sts/Cd), BookgDt, ValDt, AcctSvcrRef,
                  BkTxCd, Chrgs, AmtDtls, AddtlNtryInf
          NtryDtls*  Btch (batch booking, possibly without any TxDtls)
            TxDtls*  Refs, Amt (v03+; v02: AmtDtls/TxAmt), CdtDbtInd, BkTxCd, Chrgs,
                     RltdPties (v08 wraps parties in Pty), RltdAgts, Purp, RmtInf/{Ustrd|Strd},
                     RtrInf/{Rsn/Cd, AddtlInf}, AddtlTxInf

Security: the XML is parsed by lxml with entity resolution, DTD loading and
network access off and ``huge_tree`` off; a file that declares a DTD or an
entity at all is refused (XXE and "billion laughs" both need one), and a file
over ``max_bytes`` is refused before parsing. A bank never needs a DTD in camt.

Charges: v02 lists ``Chrgs/Amt`` once per charge, v03+ has
``Chrgs/TtlChrgsAndTaxAmt`` and ``Chrgs/Rcrd/Amt``; both are summed into
``charges_minor``. Returns: ``RtrInf/Rsn/Cd`` (ISO external return reason code,
e.g. AC04, MS03) becomes ``return_reason``; for a return or reversal the
counterparty is taken from the original direction (the debtor of a returned
direct debit is still the payer).
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from api.bank.errors import StatementFormatError, UnknownStatementFormatError, UnsafeStatementError
from api.bank.statement import (
    CREDIT,
    DEBIT,
    Balance,
    Batch,
    CreditorReference,
    Entry,
    EntryDetail,
    ParseResult,
    Party,
    Statement,
    check_size,
    find_creditor_reference,
    to_minor,
)

_NAMESPACE_RE = re.compile(r"camt\.(05[234])\.001\.(\d{2})")
_ROOTS = {
    "BkToCstmrAcctRpt": ("052", "Rpt"),
    "BkToCstmrStmt": ("053", "Stmt"),
    "BkToCstmrDbtCdtNtfctn": ("054", "Ntfctn"),
}
_UNSAFE_RE = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)


def _safe_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_xml_safely(data: bytes, *, file: str | None = None) -> etree._Element:
    """Parse XML refusing DTDs/entities (XXE, billion laughs); name line and column on error."""
    scan = data
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        scan = data.decode("utf-16", errors="replace").encode("utf-8")
    match = _UNSAFE_RE.search(scan)
    if match:
        line = scan.count(b"\n", 0, match.start()) + 1
        raise UnsafeStatementError(
            "XML declares a DTD or entity (<!DOCTYPE>/<!ENTITY>); refused: camt needs none "
            "and entities enable XXE and entity-expansion attacks",
            file=file,
            line=line,
        )
    try:
        root = etree.fromstring(data, _safe_parser())
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (exc.lineno, 0)
        raise StatementFormatError(
            f"XML not well-formed at column {column}: {exc.msg}", file=file, line=line
        ) from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise UnsafeStatementError("XML declares a DTD; refused", file=file, line=1)
    return root


class _Reader:
    """Namespace-aware navigation that remembers the file for error messages.

    lxml runs multi-step ``find`` paths through its Python ElementPath engine,
    which made a 20k-entry statement take seconds; instead each element's
    children are grouped by tag once (C iteration) and paths are walked through
    those maps. The maps are dropped after every ``Ntry`` (``forget``).
    """

    def __init__(self, ns: str, file: str | None) -> None:
        self.ns = ns
        self.file = file
        self._paths: dict[str, tuple[str, ...]] = {}
        self._children: dict[etree._Element, dict[str, list[etree._Element]]] = {}

    def _path(self, path: str) -> tuple[str, ...]:
        cached = self._paths.get(path)
        if cached is None:
            prefix = f"{{{self.ns}}}" if self.ns else ""
            cached = tuple(prefix + part for part in path.split("/"))
            self._paths[path] = cached
        return cached

    def _child_map(self, el: etree._Element) -> dict[str, list[etree._Element]]:
        mapping = self._children.get(el)
        if mapping is None:
            mapping = {}
            for child in el:
                tag = child.tag
                if isinstance(tag, str):
                    mapping.setdefault(tag, []).append(child)
            self._children[el] = mapping
        return mapping

    def forget(self) -> None:
        self._children.clear()

    def find(self, el: etree._Element | None, *paths: str) -> etree._Element | None:
        if el is None:
            return None
        children = self._children
        for path in paths:
            steps = self._paths.get(path) or self._path(path)
            node: etree._Element | None = el
            for step in steps:
                mapping = children.get(node)
                if mapping is None:
                    mapping = self._child_map(node)
                found = mapping.get(step)
                if not found:
                    node = None
                    break
                node = found[0]
            if node is not None:
                return node
        return None

    def findall(self, el: etree._Element | None, path: str) -> list[etree._Element]:
        """All matches of the last step under the first match of the earlier steps."""
        if el is None:
            return []
        steps = self._path(path)
        if len(steps) == 1:
            return list(self._child_map(el).get(steps[0], []))
        result: list[etree._Element] = []
        for parent in self._all_parents(el, steps[:-1]):
            result.extend(self._child_map(parent).get(steps[-1], []))
        return result

    def _all_parents(self, el: etree._Element, steps: tuple[str, ...]) -> list[etree._Element]:
        nodes = [el]
        for step in steps:
            nodes = [c for n in nodes for c in self._child_map(n).get(step, [])]
        return nodes

    def text(self, el: etree._Element | None, *paths: str) -> str | None:
        for path in paths:
            found = self.find(el, path)
            if found is not None and found.text is not None and found.text.strip():
                return found.text.strip()
        return None

    def texts(self, el: etree._Element | None, path: str) -> list[str]:
        return [
            f.text.strip() for f in self.findall(el, path) if f.text is not None and f.text.strip()
        ]

    def element_path(self, el: etree._Element) -> str:
        parts = []
        node: Any = el
        while node is not None and isinstance(node.tag, str):
            parts.append(etree.QName(node).localname)
            node = node.getparent()
        return "/".join(reversed(parts))

    def error(self, el: etree._Element, message: str) -> StatementFormatError:
        return StatementFormatError(
            message, file=self.file, line=el.sourceline, element=self.element_path(el)
        )

    def amount(self, amt: etree._Element) -> tuple[int, str]:
        """``<Amt Ccy="EUR">12.30</Amt>`` -> (1230, "EUR"), refusing a missing currency."""
        currency = (amt.get("Ccy") or "").strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", currency):
            raise self.error(amt, f"amount without a valid Ccy attribute: {currency!r}")
        text = (amt.text or "").strip()
        if not re.fullmatch(r"\d+(\.\d+)?", text):
            raise self.error(amt, f"not an amount: {text!r}")
        try:
            return to_minor(text, currency), currency
        except StatementFormatError as exc:
            raise self.error(amt, str(exc)) from None

    def date(self, el: etree._Element | None) -> str | None:
        """``<Dt>`` or ``<DtTm>`` child as ISO date (the DtTm date part, as booked)."""
        text = self.text(el, "Dt", "DtTm")
        if text is None:
            return None
        if not re.match(r"\d{4}-\d{2}-\d{2}", text):
            node = self.find(el, "Dt", "DtTm")
            raise self.error(node if node is not None else el, f"not an ISO date: {text!r}")
        return text[:10]


def parse_camt(
    data: bytes, *, file: str | None = None, max_bytes: int | None = None
) -> ParseResult:
    """Parse a camt.052/053/054 file (bytes) into statements."""
    check_size(data, file=file, max_bytes=max_bytes)
    root = parse_xml_safely(data, file=file)
    qname = etree.QName(root)
    ns = qname.namespace or ""
    match = _NAMESPACE_RE.search(ns)
    reader = _Reader(ns, file)
    message_el = None
    kind = None
    for child in root:
        if not isinstance(child.tag, str):
            continue
        local = etree.QName(child).localname
        if local in _ROOTS:
            message_el = child
            kind = _ROOTS[local]
            break
    if message_el is None or kind is None:
        raise UnknownStatementFormatError(
            f"XML root {qname.localname} ({ns or 'no namespace'}) holds no camt.052/053/054 "
            "message (BkToCstmrAcctRpt, BkToCstmrStmt or BkToCstmrDbtCdtNtfctn)",
            file=file,
            line=root.sourceline,
        )
    message_type, statement_tag = kind
    version = match.group(2) if match else None
    if match and match.group(1) != message_type:
        raise reader.error(message_el, f"namespace {ns} does not match {qname.localname}")
    message = f"camt.{message_type}.001.{version}" if version else f"camt.{message_type}"

    header = reader.find(message_el, "GrpHdr")
    message_id = reader.text(header, "MsgId")
    page = reader.text(header, "MsgPgntn/PgNb")
    last_page = reader.text(header, "MsgPgntn/LastPgInd")
    statements = []
    for stmt_el in reader.findall(message_el, statement_tag):
        statement = _statement(reader, stmt_el, message)
        statement.message_id = message_id
        if statement.created_at is None:
            statement.created_at = reader.text(header, "CreDtTm")
        page = reader.text(stmt_el, "StmtPgntn/PgNb", "RptPgntn/PgNb", "NtfctnPgntn/PgNb") or page
        statement.page_number = int(page) if page and page.isdigit() else None
        last = reader.text(stmt_el, "StmtPgntn/LastPgInd", "RptPgntn/LastPgInd") or last_page
        statement.last_page = None if last is None else last.lower() in ("true", "1")
        statements.append(statement.finish())
    if not statements:
        raise reader.error(message_el, f"no {statement_tag} element in the message")
    return ParseResult(format=message, statements=statements)


def _statement(r: _Reader, el: etree._Element, message: str) -> Statement:
    acct = r.find(el, "Acct")
    if acct is None:
        raise r.error(el, "Acct (account) is missing")
    statement = Statement(
        id=r.text(el, "Id"),
        message=message,
        created_at=r.text(el, "CreDtTm"),
        account_iban=r.text(acct, "Id/IBAN"),
        account_other_id=r.text(acct, "Id/Othr/Id"),
        account_bic=r.text(acct, "Svcr/FinInstnId/BIC", "Svcr/FinInstnId/BICFI"),
        account_servicer_name=r.text(acct, "Svcr/FinInstnId/Nm"),
        account_owner_name=r.text(acct, "Ownr/Nm", "Ownr/Pty/Nm"),
        currency=r.text(acct, "Ccy"),
        from_datetime=r.text(el, "FrToDt/FrDtTm"),
        to_datetime=r.text(el, "FrToDt/ToDtTm"),
        electronic_sequence_number=r.text(el, "ElctrncSeqNb"),
        sequence_number=r.text(el, "LglSeqNb"),
    )
    for bal in r.findall(el, "Bal"):
        statement.balances.append(_balance(r, bal))
    for ntry in r.findall(el, "Ntry"):
        entry = _entry(r, ntry, statement)
        statement.entries.append(entry)
        _check_details_sum(entry, statement, ntry.sourceline)
        r.forget()
    return statement


def _check_details_sum(entry: Entry, statement: Statement, line: int | None) -> None:
    """A batch whose transactions do not add up to the entry is reported (not refused).

    Only comparable when every TxDtls has an amount in the entry's currency; charges
    deducted from the entry (ChrgInclInd) may explain a difference, so it is a warning.
    """
    if len(entry.details) < 2:
        return
    amounts = [d.amount_minor for d in entry.details if d.currency == entry.currency]
    if len(amounts) != len(entry.details) or any(a is None for a in amounts):
        return
    total = sum(a for a in amounts if a is not None)
    if total != entry.amount_minor:
        statement.warnings.append(
            f"line {line}: Ntry amount {entry.amount_minor} != sum of its "
            f"{len(amounts)} TxDtls {total} (minor units, {entry.currency})"
        )


def _direction(r: _Reader, el: etree._Element, *, required: bool) -> str | None:
    value = r.text(el, "CdtDbtInd")
    if value is None:
        if required:
            raise r.error(el, "CdtDbtInd (CRDT/DBIT) is missing")
        return None
    if value not in (CREDIT, DEBIT):
        node = r.find(el, "CdtDbtInd")
        raise r.error(
            node if node is not None else el, f"CdtDbtInd must be CRDT or DBIT: {value!r}"
        )
    return value


def _balance(r: _Reader, el: etree._Element) -> Balance:
    code = r.text(el, "Tp/CdOrPrtry/Cd", "Tp/CdOrPrtry/Prtry", "Tp/Cd")
    if code is None:
        raise r.error(el, "balance type Tp/CdOrPrtry is missing")
    amt = r.find(el, "Amt")
    if amt is None:
        raise r.error(el, "balance Amt is missing")
    amount, currency = r.amount(amt)
    if _direction(r, el, required=True) == DEBIT:
        amount = -amount
    return Balance(type=code, amount_minor=amount, currency=currency, date=r.date(r.find(el, "Dt")))


def _charges(r: _Reader, el: etree._Element) -> int | None:
    """Sum of charges: v02 ``Chrgs/Amt`` (repeated), v03+ ``TtlChrgsAndTaxAmt`` or ``Rcrd/Amt``."""
    blocks = r.findall(el, "Chrgs")
    if not blocks:
        return None
    total = 0
    for block in blocks:
        overall = r.find(block, "TtlChrgsAndTaxAmt")
        if overall is not None:
            total += r.amount(overall)[0]
            continue
        for amt in r.findall(block, "Amt") + r.findall(block, "Rcrd/Amt"):
            total += r.amount(amt)[0]
    return total


def _bank_transaction_code(r: _Reader, el: etree._Element | None) -> tuple[str | None, ...]:
    domain = r.text(el, "BkTxCd/Domn/Cd")
    family = r.text(el, "BkTxCd/Domn/Fmly/Cd")
    sub = r.text(el, "BkTxCd/Domn/Fmly/SubFmlyCd")
    iso = "-".join(p for p in (domain, family, sub) if p) or None
    return iso, r.text(el, "BkTxCd/Prtry/Cd"), r.text(el, "BkTxCd/Prtry/Issr")


def _amount_details(r: _Reader, target: EntryDetail, el: etree._Element) -> None:
    instructed = r.find(el, "AmtDtls/InstdAmt/Amt")
    if instructed is not None:
        target.original_amount_minor, target.original_currency = r.amount(instructed)
    target.exchange_rate = r.text(
        el,
        "AmtDtls/TxAmt/CcyXchg/XchgRate",
        "AmtDtls/InstdAmt/CcyXchg/XchgRate",
        "AmtDtls/CntrValAmt/CcyXchg/XchgRate",
        "AmtDtls/PrtryAmt/CcyXchg/XchgRate",
    )


def _entry(r: _Reader, el: etree._Element, statement: Statement) -> Entry:
    amt = r.find(el, "Amt")
    if amt is None:
        raise r.error(el, "Ntry without Amt")
    amount, currency = r.amount(amt)
    iso, prop, issuer = _bank_transaction_code(r, el)
    entry = Entry(
        amount_minor=amount,
        currency=currency,
        credit_debit=_direction(r, el, required=True),
        reversal=(r.text(el, "RvslInd") or "").lower() in ("true", "1"),
        status=r.text(el, "Sts", "Sts/Cd", "Sts/Prtry"),
        booking_date=r.date(r.find(el, "BookgDt")),
        value_date=r.date(r.find(el, "ValDt")),
        entry_reference=r.text(el, "NtryRef"),
        account_servicer_reference=r.text(el, "AcctSvcrRef"),
        bank_transaction_code=iso,
        proprietary_code=prop,
        proprietary_code_issuer=issuer,
        charges_minor=_charges(r, el),
        additional_info=r.text(el, "AddtlNtryInf"),
    )
    _amount_details(r, entry, el)
    _german_code(entry)
    own_accounts = {a for a in (statement.account_iban, statement.account_other_id) if a}
    tx_elements = []
    for dtls in r.findall(el, "NtryDtls"):
        btch = r.find(dtls, "Btch")
        if btch is not None and entry.batch is None:
            entry.batch = _batch(r, btch)
        tx_elements.extend(r.findall(dtls, "TxDtls"))
    for tx in tx_elements:
        entry.details.append(
            _detail(r, tx, entry, single=len(tx_elements) == 1, own_accounts=own_accounts)
        )
    if len(entry.details) == 1:
        _lift(entry, entry.details[0])
    elif entry.details:
        reasons = {d.return_reason for d in entry.details}
        if len(reasons) == 1:
            entry.return_reason = reasons.pop()
    if entry.batch is not None and entry.payment_information_id is None:
        entry.payment_information_id = entry.batch.payment_information_id
    if not entry.remittance and entry.additional_info and not entry.details:
        entry.remittance = entry.additional_info
    return entry


_LIFTED = (
    "counterparty_name",
    "counterparty_account",
    "counterparty_bic",
    "remittance",
    "end_to_end_id",
    "creditor_reference",
    "return_reason",
    "return_additional_info",
    "instruction_id",
    "transaction_id",
    "mandate_id",
    "payment_information_id",
    "message_id",
    "uetr",
    "creditor_scheme_id",
    "purpose_code",
    "bank_transaction_code",
    "proprietary_code",
    "proprietary_code_issuer",
)


def _lift(entry: Entry, detail: EntryDetail) -> None:
    """An entry with one transaction carries that transaction's references itself."""
    for name in _LIFTED:
        if getattr(entry, name) is None:
            setattr(entry, name, getattr(detail, name))
    if entry.charges_minor is None:
        entry.charges_minor = detail.charges_minor
    if not entry.remittance_lines:
        entry.remittance_lines = list(detail.remittance_lines)
    if not entry.creditor_references:
        entry.creditor_references = list(detail.creditor_references)
    if not entry.parties:
        entry.parties = list(detail.parties)
    if not entry.proprietary_references:
        entry.proprietary_references = dict(detail.proprietary_references)
    if entry.original_amount_minor is None:
        entry.original_amount_minor = detail.original_amount_minor
        entry.original_currency = detail.original_currency
    if entry.exchange_rate is None:
        entry.exchange_rate = detail.exchange_rate
    for key, value in detail.extra.items():
        entry.extra.setdefault(key, value)


def _batch(r: _Reader, el: etree._Element) -> Batch:
    count = r.text(el, "NbOfTxs")
    batch = Batch(
        message_id=r.text(el, "MsgId"),
        payment_information_id=r.text(el, "PmtInfId"),
        number_of_transactions=int(count) if count and count.isdigit() else None,
        credit_debit=_direction(r, el, required=False),
    )
    total = r.find(el, "TtlAmt")
    if total is not None:
        batch.total_amount_minor, batch.currency = r.amount(total)
    return batch


_PARTY_ROLES = (
    ("InitgPty", None, "InitiatingParty"),
    ("Dbtr", "DbtrAcct", "Debtor"),
    ("UltmtDbtr", None, "UltimateDebtor"),
    ("Cdtr", "CdtrAcct", "Creditor"),
    ("UltmtCdtr", None, "UltimateCreditor"),
)


def _address(r: _Reader, party: etree._Element) -> tuple[list[str], str | None]:
    adr = r.find(party, "PstlAdr")
    if adr is None:
        return [], None
    lines = r.texts(adr, "AdrLine")
    if not lines:
        street = " ".join(p for p in (r.text(adr, "StrtNm"), r.text(adr, "BldgNb")) if p)
        town = " ".join(p for p in (r.text(adr, "PstCd"), r.text(adr, "TwnNm")) if p)
        lines = [p for p in (street, town) if p]
    return lines, r.text(adr, "Ctry")


def _parties(r: _Reader, tx: etree._Element) -> list[Party]:
    related = r.find(tx, "RltdPties")
    agents = r.find(tx, "RltdAgts")
    parties = []
    for tag, account_tag, role in _PARTY_ROLES:
        node = r.find(related, tag)
        if node is None:
            continue
        inner = r.find(node, "Pty")  # v08 wraps the party: Dbtr/Pty/Nm
        party_el = inner if inner is not None else node
        lines, country = _address(r, party_el)
        party = Party(role=role, name=r.text(party_el, "Nm"), address_lines=lines, country=country)
        if account_tag:
            account = r.find(related, account_tag)
            party.iban = r.text(account, "Id/IBAN")
            party.account_other_id = r.text(account, "Id/Othr/Id")
            agent = r.find(agents, account_tag.replace("Acct", "Agt"))
            party.bic = r.text(agent, "FinInstnId/BIC", "FinInstnId/BICFI")
        parties.append(party)
    return parties


def _detail(
    r: _Reader, tx: etree._Element, entry: Entry, *, single: bool, own_accounts: set[str]
) -> EntryDetail:
    amount_el = r.find(tx, "Amt", "AmtDtls/TxAmt/Amt")
    if amount_el is not None:
        amount, currency = r.amount(amount_el)
    elif single:
        amount, currency = entry.amount_minor, entry.currency
    else:
        instructed = r.find(tx, "AmtDtls/InstdAmt/Amt")
        amount, currency = r.amount(instructed) if instructed is not None else (None, None)
    iso, prop, issuer = _bank_transaction_code(r, tx)
    detail = EntryDetail(
        amount_minor=amount,
        currency=currency,
        # The booking direction on this account is the entry's: a TxDtls indicator
        # that contradicts it (seen in synthetic and some bank files) is kept aside.
        credit_debit=entry.credit_debit,
        reversal=entry.reversal,
        booking_date=entry.booking_date,
        value_date=entry.value_date,
        message_id=r.text(tx, "Refs/MsgId"),
        account_servicer_reference=r.text(tx, "Refs/AcctSvcrRef"),
        payment_information_id=r.text(tx, "Refs/PmtInfId"),
        instruction_id=r.text(tx, "Refs/InstrId"),
        end_to_end_id=_meaningful(r.text(tx, "Refs/EndToEndId")),
        uetr=r.text(tx, "Refs/UETR"),
        transaction_id=r.text(tx, "Refs/TxId"),
        mandate_id=r.text(tx, "Refs/MndtId"),
        bank_transaction_code=iso or entry.bank_transaction_code,
        proprietary_code=prop or entry.proprietary_code,
        proprietary_code_issuer=issuer or entry.proprietary_code_issuer,
        charges_minor=_charges(r, tx),
        purpose_code=r.text(tx, "Purp/Cd", "Purp/Prtry"),
        additional_info=r.text(tx, "AddtlTxInf"),
        parties=_parties(r, tx),
    )
    for prtry in r.findall(tx, "Refs/Prtry"):
        key, ref = r.text(prtry, "Tp"), r.text(prtry, "Ref")
        if key and ref:
            detail.proprietary_references[key] = ref
    _amount_details(r, detail, tx)
    _remittance(r, detail, tx)
    _return_info(r, detail, tx)
    detail.creditor_scheme_id = r.text(
        tx, "RltdPties/Cdtr/Id/PrvtId/Othr/Id", "RltdPties/Cdtr/Pty/Id/PrvtId/Othr/Id"
    )
    own_direction = _direction(r, tx, required=False)
    if own_direction is not None and own_direction != entry.credit_debit:
        detail.extra["tx_credit_debit"] = own_direction
    _german_code(detail)
    _counterparty(detail, entry_reversed=entry.reversal, own_accounts=own_accounts)
    return detail


def _german_code(target: EntryDetail) -> None:
    """German DK/ZKA proprietary code ``NTRF+020`` / ``NSTO+152+9201+000``.

    DFÜ-Abkommen Anlage 3 (camt in Germany): SWIFT transaction code, then the
    Geschäftsvorfallcode (GVC), the prima nota and the GVC extension, joined by ``+``.
    """
    code = target.proprietary_code
    if not code or "+" not in code:
        return
    parts = code.split("+")
    target.extra["swift_code"] = parts[0]
    for key, value in zip(("gvc", "prima_nota", "gvc_extension"), parts[1:], strict=False):
        if value:
            target.extra[key] = value


def _meaningful(value: str | None) -> str | None:
    """SEPA writes NOTPROVIDED where no end-to-end id was given: that is no reference."""
    return None if value is None or value.upper() == "NOTPROVIDED" else value


def _remittance(r: _Reader, detail: EntryDetail, tx: etree._Element) -> None:
    detail.remittance_lines = r.texts(tx, "RmtInf/Ustrd")
    for strd in r.findall(tx, "RmtInf/Strd"):
        for info in r.findall(strd, "CdtrRefInf"):
            ref = r.text(info, "Ref")
            if ref:
                kind = r.text(info, "Tp/CdOrPrtry/Cd", "Tp/CdOrPrtry/Prtry")
                detail.creditor_references.append(CreditorReference(ref=ref, type=kind))
    scor = [c for c in detail.creditor_references if c.type == "SCOR"]
    chosen = scor or detail.creditor_references
    detail.creditor_reference = chosen[0].ref if chosen else None
    if detail.creditor_reference is None:
        # Some banks and payers put the ISO 11649 reference into Ustrd only.
        detail.creditor_reference = find_creditor_reference(" ".join(detail.remittance_lines))
    if detail.remittance_lines:
        detail.remittance = " ".join(detail.remittance_lines)
    else:
        extra = r.texts(tx, "RmtInf/Strd/AddtlRmtInf")
        detail.remittance = " ".join(extra) if extra else None


def _return_info(r: _Reader, detail: EntryDetail, tx: etree._Element) -> None:
    rtr = r.find(tx, "RtrInf")
    if rtr is None:
        return
    detail.return_reason = r.text(rtr, "Rsn/Cd", "Rsn/Prtry") or "UNKNOWN"
    info = r.texts(rtr, "AddtlInf")
    detail.return_additional_info = " ".join(info) if info else None


def _counterparty(detail: EntryDetail, *, entry_reversed: bool, own_accounts: set[str]) -> None:
    """The other side: the debtor of money received, the creditor of money paid.

    A return or reversal keeps the parties of the original payment, so its
    direction is flipped first: the payer of a returned direct debit is the
    debtor although the return is a debit on our account. Banks are not
    consistent here, so when that party is missing or is the statement's own
    account, the opposite party is used instead.
    """
    original = detail.credit_debit
    if entry_reversed or detail.return_reason is not None:
        original = DEBIT if original == CREDIT else CREDIT
    order = ("Debtor", "Creditor") if original == CREDIT else ("Creditor", "Debtor")
    candidates = []
    for role in order:
        party = detail.party(role)
        if party is None or not (party.name or party.iban or party.account_other_id):
            continue
        candidates.append((role, party))
    # Prefer a party that is not this account; a transfer between the owner's own
    # accounts keeps the own-account party rather than no counterparty at all.
    foreign = [c for c in candidates if (c[1].iban or c[1].account_other_id) not in own_accounts]
    for role, party in (foreign or candidates)[:1]:
        detail.counterparty_name = party.name
        detail.counterparty_account = party.iban or party.account_other_id
        detail.counterparty_bic = party.bic
        if detail.counterparty_name is None:
            ultimate = detail.party("Ultimate" + role)
            detail.counterparty_name = ultimate.name if ultimate else None
        return
