"""Hostile and broken bank files: refused with an error that says where.

XXE and entity expansion ("billion laughs") need a DTD; a camt file never has
one, so any DTD or entity declaration is refused before lxml sees the document,
and lxml itself runs with entity resolution, DTD loading and network access off
(checked separately, so the second wall holds even without the first).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from typer.testing import CliRunner

from api.bank import (
    StatementFormatError,
    StatementTooLargeError,
    UnknownStatementFormatError,
    UnsafeStatementError,
    parse_bytes,
    parse_file,
)
from api.bank.camt_parser import _safe_parser, parse_camt
from api.bank.cli import app
from api.errors import InvalidRequestError

NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"


def camt(entry_xml: str, *, prolog: str = "") -> bytes:
    """A minimal camt.053.001.02 with one statement and the given Ntry body."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n{prolog}'
        f'<Document xmlns="{NS}">\n'
        "<BkToCstmrStmt>\n"
        "<GrpHdr><MsgId>M1</MsgId><CreDtTm>2024-01-31T20:00:00</CreDtTm></GrpHdr>\n"
        "<Stmt>\n"
        "<Id>S1</Id>\n"
        "<Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>\n"
        f"{entry_xml}\n"
        "</Stmt>\n"
        "</BkToCstmrStmt>\n"
        "</Document>\n"
    ).encode()


GOOD_ENTRY = (
    '<Ntry><Amt Ccy="EUR">12.50</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>'
    "<BookgDt><Dt>2024-01-31</Dt></BookgDt></Ntry>"
)


def test_minimal_camt_parses() -> None:
    result = parse_bytes(camt(GOOD_ENTRY))
    (statement,) = result.statements
    assert result.format == "camt.053.001.02"
    assert statement.account_iban == "DE89370400440532013000"
    (entry,) = statement.entries
    assert (entry.amount_minor, entry.credit_debit, entry.booking_date) == (
        1250,
        "CRDT",
        "2024-01-31",
    )


def test_xxe_external_entity_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    data = camt(
        GOOD_ENTRY.replace("<Sts>BOOK</Sts>", "<Sts>&xxe;</Sts>"),
        prolog=f'<!DOCTYPE Document [<!ENTITY xxe SYSTEM "file://{secret}">]>\n',
    )
    with pytest.raises(UnsafeStatementError) as info:
        parse_bytes(data, file="xxe.xml")
    assert "line 2" in str(info.value) and "xxe.xml" in str(info.value)
    assert "TOP-SECRET" not in str(info.value)


def test_billion_laughs_is_refused() -> None:
    lol = ['<!ENTITY lol "lol">']
    for level in range(1, 10):
        lol.append(f'<!ENTITY lol{level} "{("&lol%s;" % (level - 1 or "")) * 10}">')
    data = camt(
        GOOD_ENTRY.replace("<Sts>BOOK</Sts>", "<Sts>&lol9;</Sts>"),
        prolog="<!DOCTYPE Document [" + "".join(lol) + "]>\n",
    )
    with pytest.raises(UnsafeStatementError) as info:
        parse_bytes(data)
    assert "DTD or entity" in str(info.value)


def test_doctype_hidden_in_utf16_is_refused() -> None:
    text = camt(GOOD_ENTRY, prolog="<!DOCTYPE Document [<!ENTITY a 'b'>]>\n").decode()
    data = text.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    with pytest.raises(UnsafeStatementError):
        parse_camt(data)


def test_lxml_parser_itself_does_not_resolve_external_entities(tmp_path: Path) -> None:
    """Second wall: even without the DOCTYPE check, the parser leaves entities unexpanded."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    data = (f'<!DOCTYPE r [<!ENTITY xxe SYSTEM "file://{secret}">]><r>&xxe;</r>').encode()
    root = etree.fromstring(data, _safe_parser())
    assert "TOP-SECRET" not in etree.tostring(root).decode()


def test_oversize_file_is_refused_before_parsing(tmp_path: Path) -> None:
    data = camt(GOOD_ENTRY * 50)
    with pytest.raises(StatementTooLargeError) as info:
        parse_bytes(data, file="big.xml", max_bytes=1000)
    assert f"{len(data)} bytes" in str(info.value) and "1000" in str(info.value)
    path = tmp_path / "big.xml"
    path.write_bytes(data)
    with pytest.raises(StatementTooLargeError):
        parse_file(path, max_bytes=1000)
    assert len(parse_file(path).statements[0].entries) == 50


def test_deeply_nested_xml_is_refused_without_huge_tree() -> None:
    depth = 300_000
    data = camt("<X>" * depth + "</X>" * depth)
    with pytest.raises(StatementFormatError):
        parse_bytes(data)


def test_errors_are_invalid_request_errors() -> None:
    assert issubclass(StatementFormatError, InvalidRequestError)
    assert issubclass(UnsafeStatementError, InvalidRequestError)


def test_not_well_formed_xml_names_the_line() -> None:
    data = camt(GOOD_ENTRY.replace("</Ntry>", "</Ntr>"))
    with pytest.raises(StatementFormatError) as info:
        parse_bytes(data, file="broken.xml")
    message = str(info.value)
    assert message.startswith("broken.xml, line 8")
    assert info.value.line == 8


@pytest.mark.parametrize(
    ("entry", "element", "words"),
    [
        (GOOD_ENTRY.replace("12.50", "12,50"), "Stmt/Ntry/Amt", "not an amount: '12,50'"),
        (GOOD_ENTRY.replace(' Ccy="EUR"', ""), "Stmt/Ntry/Amt", "without a valid Ccy"),
        (GOOD_ENTRY.replace("12.50", "12.505"), "Stmt/Ntry/Amt", "more decimals"),
        (GOOD_ENTRY.replace("<CdtDbtInd>CRDT</CdtDbtInd>", ""), "Stmt/Ntry", "CdtDbtInd"),
        (GOOD_ENTRY.replace("CRDT", "CREDIT"), "Ntry/CdtDbtInd", "CRDT or DBIT"),
        (GOOD_ENTRY.replace("2024-01-31", "31.01.2024"), "BookgDt/Dt", "not an ISO date"),
    ],
)
def test_bad_camt_element_names_element_and_line(entry: str, element: str, words: str) -> None:
    with pytest.raises(StatementFormatError) as info:
        parse_bytes(camt(entry), file="s.xml")
    message = str(info.value)
    assert "s.xml, line 8" in message, message
    assert element in message and words in message, message


def test_xml_that_is_not_camt_is_unknown() -> None:
    with pytest.raises(UnknownStatementFormatError) as info:
        parse_bytes(b'<?xml version="1.0"?><Document xmlns="urn:x"><Foo/></Document>')
    assert "BkToCstmrStmt" in str(info.value)


@pytest.mark.parametrize(
    ("data", "line", "element"),
    [
        (b":20:X\n:25:123\n:60F:C240101EUR1,00\n:61:2401XXC1,00NTRFNONREF\n", 4, ":61:"),
        (b":20:X\n:25:123\n:60F:Q240101EUR1,00\n", 3, ":60F:"),
        (b":20:X\n:25:123\n:60F:C240101EUR1,005\n", 3, ":60F:"),
    ],
)
def test_bad_mt940_field_names_line_and_tag(data: bytes, line: int, element: str) -> None:
    with pytest.raises(StatementFormatError) as info:
        parse_bytes(data, file="k.sta")
    assert f"k.sta, line {line}, {element}" in str(info.value)


def test_unknown_content_is_refused() -> None:
    with pytest.raises(UnknownStatementFormatError):
        parse_bytes(b"hello,world\n1,2\n", file="x.csv")


def test_cli_parse_json_prints_documented_shape(tmp_path: Path) -> None:
    import json

    path = tmp_path / "stmt.bin"  # the name says nothing: detection is by content
    path.write_bytes(camt(GOOD_ENTRY))
    result = CliRunner().invoke(app, ["parse", str(path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["format"] == "camt.053.001.02"
    (statement,) = data["statements"]
    for key in (
        "id",
        "account_iban",
        "account_other_id",
        "currency",
        "opening_balance_minor",
        "closing_balance_minor",
        "entries",
    ):
        assert key in statement
    (entry,) = statement["entries"]
    for key in (
        "amount_minor",
        "currency",
        "credit_debit",
        "reversal",
        "booking_date",
        "value_date",
        "counterparty_name",
        "counterparty_account",
        "remittance",
        "end_to_end_id",
        "creditor_reference",
        "return_reason",
        "charges_minor",
        "details",
    ):
        assert key in entry
    assert entry["amount_minor"] == 1250 and entry["credit_debit"] == "CRDT"


def test_cli_malformed_file_prints_one_line_and_fails(tmp_path: Path) -> None:
    path = tmp_path / "bad.xml"
    path.write_bytes(camt(GOOD_ENTRY.replace("12.50", "abc")))
    result = CliRunner().invoke(app, ["parse", str(path), "--json"])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert (
        lines[0]
        == "error: bad.xml, line 8, Document/BkToCstmrStmt/Stmt/Ntry/Amt: not an amount: 'abc'"
    )
    assert result.stdout == ""


BATCH_ENTRY = """<Ntry><Amt Ccy="EUR">{total}</Amt><CdtDbtInd>DBIT</CdtDbtInd>
<RvslInd>true</RvslInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2024-02-05</Dt></BookgDt>
<Chrgs><TtlChrgsAndTaxAmt Ccy="EUR">6.00</TtlChrgsAndTaxAmt>
<Rcrd><Amt Ccy="EUR">6.00</Amt><CdtDbtInd>DBIT</CdtDbtInd></Rcrd></Chrgs>
<NtryDtls><Btch><NbOfTxs>2</NbOfTxs></Btch>
<TxDtls><Refs><EndToEndId>INV-1</EndToEndId><MndtId>M-1</MndtId></Refs>
<Amt Ccy="EUR">50.00</Amt><CdtDbtInd>DBIT</CdtDbtInd>
<RltdPties><Dbtr><Pty><Nm>Anna Mieterin</Nm></Pty></Dbtr>
<DbtrAcct><Id><IBAN>DE02120300000000202051</IBAN></Id></DbtrAcct>
<Cdtr><Pty><Nm>Hausverwaltung</Nm></Pty></Cdtr>
<CdtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></CdtrAcct></RltdPties>
<RmtInf><Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp>
<Ref>RF18539007547034</Ref></CdtrRefInf></Strd></RmtInf>
<RtrInf><Rsn><Cd>AM04</Cd></Rsn><AddtlInf>insufficient funds</AddtlInf></RtrInf></TxDtls>
<TxDtls><Refs><EndToEndId>INV-2</EndToEndId></Refs>
<Amt Ccy="EUR">30.00</Amt><CdtDbtInd>DBIT</CdtDbtInd>
<RltdPties><Dbtr><Pty><Nm>Bert Mieter</Nm></Pty></Dbtr>
<DbtrAcct><Id><IBAN>DE02500105170137075030</IBAN></Id></DbtrAcct></RltdPties>
<RtrInf><Rsn><Cd>AM04</Cd></Rsn></RtrInf></TxDtls></NtryDtls></Ntry>"""


def test_returned_direct_debit_batch_with_charges() -> None:
    text = camt(BATCH_ENTRY.format(total="80.00")).decode().replace("053.001.02", "053.001.08")
    (statement,) = parse_bytes(text.encode()).statements
    (entry,) = statement.entries
    assert (entry.amount_minor, entry.credit_debit, entry.reversal) == (8000, "DBIT", True)
    assert entry.charges_minor == 600
    assert entry.return_reason == "AM04"  # shared by both transactions
    assert entry.batch is not None and entry.batch.number_of_transactions == 2
    first, second = entry.details
    assert (first.amount_minor, first.end_to_end_id, first.mandate_id) == (5000, "INV-1", "M-1")
    # a returned direct debit keeps the payer as counterparty, not our own account
    assert (first.counterparty_name, first.counterparty_account) == (
        "Anna Mieterin",
        "DE02120300000000202051",
    )
    assert first.creditor_reference == "RF18539007547034"
    assert first.return_additional_info == "insufficient funds"
    assert (second.amount_minor, second.counterparty_name) == (3000, "Bert Mieter")
    assert statement.warnings == []


def test_batch_that_does_not_add_up_is_reported() -> None:
    (statement,) = parse_bytes(camt(BATCH_ENTRY.format(total="81.00"))).statements
    assert len(statement.entries) == 1
    assert statement.warnings == [
        "line 8: Ntry amount 8100 != sum of its 2 TxDtls 8000 (minor units, EUR)"
    ]


SELF_TRANSFER = """<Ntry><Amt Ccy="EUR">250.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
<BookgDt><Dt>2019-03-01</Dt></BookgDt><NtryDtls><TxDtls>
<RltdPties><Dbtr><Nm>Testzahlung Zwei</Nm></Dbtr>
<DbtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></DbtrAcct></RltdPties>
<RmtInf><Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp>
<Ref>2019456456</Ref></CdtrRefInf></Strd></RmtInf></TxDtls></NtryDtls></Ntry>"""


def test_austrian_stuzza_namespace_and_transfer_between_own_accounts() -> None:
    data = camt(SELF_TRANSFER).replace(NS.encode(), b"ISO:camt.053.001.02:APC:STUZZA:payments:003")
    result = parse_bytes(data)
    assert result.format == "camt.053.001.02"
    (entry,) = result.statements[0].entries
    # the only party is this account itself: keep it rather than report no counterparty
    assert (entry.counterparty_name, entry.counterparty_account) == (
        "Testzahlung Zwei",
        "DE89370400440532013000",
    )
    assert entry.creditor_reference == "2019456456"
