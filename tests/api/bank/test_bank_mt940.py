"""MT940 details beyond the shared samples: :61: layouts, German :86:, encodings, envelope."""

from __future__ import annotations

import os
from pathlib import Path

import mt940
import pytest
from mt940.processors import transaction_details_post_processor

from api.bank import parse_bytes
from api.bank.mt940_parser import parse_mt940, split_sepa_keywords

VECTORS = Path(
    os.environ.get(
        "METERBILL_BANK_VECTORS", Path(__file__).resolve().parents[4] / "shared/vectors/bank"
    )
)


def statement_with(line_61: str, line_86: str | None = None, currency: str = "EUR") -> bytes:
    text = f":20:REF\n:25:DE89370400440532013000\n:28C:1/1\n:60F:C240101{currency}0,00\n"
    text += f":61:{line_61}\n"
    if line_86 is not None:
        text += f":86:{line_86}\n"
    text += f":62F:C240101{currency}0,00\n-\n"
    return text.encode()


@pytest.mark.parametrize(
    ("line", "fields"),
    [
        (
            "0709070904CR50990,05NTRFNONREF//0724710333343453",
            dict(
                value_date="2007-09-07",
                booking_date="2007-09-04",
                credit_debit="CRDT",
                reversal=False,
                amount_minor=5099005,
                funds="R",
                ref="NONREF",
                bank="0724710333343453",
            ),
        ),
        (
            "100722D25,03NTRFNONREF",
            dict(
                value_date="2010-07-22",
                booking_date="2010-07-22",
                credit_debit="DBIT",
                reversal=False,
                amount_minor=2503,
                funds=None,
                ref="NONREF",
                bank=None,
            ),
        ),
        (
            "1312310102RD12,NMSCREF 1//B1",
            dict(
                value_date="2013-12-31",
                booking_date="2014-01-02",
                credit_debit="CRDT",
                reversal=True,
                amount_minor=1200,
                funds=None,
                ref="REF 1",
                bank="B1",
            ),
        ),
        (
            "2301051230RCR1,5NTRFX",
            dict(
                value_date="2023-01-05",
                booking_date="2022-12-30",
                credit_debit="DBIT",
                reversal=True,
                amount_minor=150,
                funds="R",
                ref="X",
                bank=None,
            ),
        ),
        (
            "2402290229D000000000001,62N033NONREF",
            dict(
                value_date="2024-02-29",
                booking_date="2024-02-29",
                credit_debit="DBIT",
                reversal=False,
                amount_minor=162,
                funds=None,
                ref="NONREF",
                bank=None,
            ),
        ),
    ],
)
def test_statement_line_layouts(line: str, fields: dict) -> None:
    (statement,) = parse_mt940(statement_with(line)).statements
    (entry,) = statement.entries
    assert entry.value_date == fields["value_date"]
    assert entry.booking_date == fields["booking_date"]
    assert entry.credit_debit == fields["credit_debit"]
    assert entry.reversal is fields["reversal"]
    assert entry.amount_minor == fields["amount_minor"]
    assert entry.extra["funds_code"] == fields["funds"]
    assert entry.extra["customer_reference"] == fields["ref"]
    assert entry.extra["bank_reference"] == fields["bank"]


def test_amount_in_currency_without_decimals() -> None:
    (statement,) = parse_mt940(statement_with("240101C1500,NTRFNONREF", currency="JPY")).statements
    assert statement.entries[0].amount_minor == 1500
    assert statement.entries[0].currency == "JPY"


def test_iban_account_and_bic_slash_iban() -> None:
    (s1,) = parse_mt940(statement_with("240101C1,NTRFX")).statements
    assert (s1.account_iban, s1.account_other_id) == ("DE89370400440532013000", None)
    data = statement_with("240101C1,NTRFX").replace(
        b":25:DE89370400440532013000", b":25:COBADEFFXXX/DE89370400440532013000"
    )
    (s2,) = parse_mt940(data).statements
    assert (s2.account_iban, s2.account_bic) == ("DE89370400440532013000", "COBADEFFXXX")


def test_sepa_return_with_fees_and_original_amount() -> None:
    """GVC 109 (SEPA direct debit return): ?34 return code, COAM+ fees, OAMT+ original."""
    line_86 = (
        "109?00RUECKLASTSCHRIFT?100599?20EREF+INV-2024-0042?21MREF+M-17?22CRED+DE98ZZZ0999999"
        "9999?23OAMT+50,00 COAM+3,00?24SVWZ+Miete Januar?25ABWA+Mieterin B?30COBADEFFXXX?31DE"
        "89370400440532013000?32Anna Mieterin?34MD06"
    )
    (statement,) = parse_mt940(statement_with("240101D53,00NRTINONREF", line_86)).statements
    (entry,) = statement.entries
    assert entry.return_reason == "MD06"
    assert entry.charges_minor == 300
    assert entry.original_amount_minor == 5000
    assert entry.end_to_end_id == "INV-2024-0042"
    assert entry.mandate_id == "M-17"
    assert entry.creditor_scheme_id == "DE98ZZZ09999999999"
    assert entry.remittance == "Miete Januar"
    assert entry.counterparty_name == "Anna Mieterin"
    assert entry.counterparty_account == "DE89370400440532013000"
    assert entry.counterparty_bic == "COBADEFFXXX"
    assert entry.party("UltimateDebtor").name == "Mieterin B"


def test_notprovided_end_to_end_id_is_no_reference() -> None:
    line_86 = "166?00GUTSCHRIFT?20EREF+NOTPROVIDED?21SVWZ+RF18 5390 0754 7034"
    (statement,) = parse_mt940(statement_with("240101C10,NTRFNONREF", line_86)).statements
    assert statement.entries[0].end_to_end_id is None
    assert statement.entries[0].remittance == "RF18 5390 0754 7034"
    assert statement.entries[0].creditor_reference == "RF18539007547034"


def test_sepa_keywords_split_mid_subfield() -> None:
    assert split_sepa_keywords("KREF+EREF+abc:FOO:MREF+m1SVWZ+text here") == {
        "KREF": "",
        "EREF": "abc:FOO:",
        "MREF": "m1",
        "SVWZ": "text here",
    }


def test_iso_8859_1_and_utf8_decode_to_the_same_text() -> None:
    text = statement_with("240101C1,NTRFNONREF", "166?00ÜBERWEISUNG?20Müller").decode()
    latin = parse_mt940(text.encode("iso-8859-1")).statements[0]
    utf8 = parse_mt940(text.encode("utf-8")).statements[0]
    assert latin.entries[0].remittance == utf8.entries[0].remittance == "Müller"
    assert (latin.extra["encoding"], utf8.extra["encoding"]) == ("iso-8859-1", "utf-8")


def test_swift_envelope_and_crlf() -> None:
    body = statement_with("240101C7,NTRFNONREF").decode().replace("\n-\n", "\n")
    data = (
        "{1:F01COBADEFFAXXX0000000000}{2:O9400000240101COBADEFFXXXX00000000002401010000N}"
        "{4:\r\n" + body.replace("\n", "\r\n") + "-}{5:{CHK:ABC}}\r\n"
    ).encode()
    result = parse_bytes(data)
    assert result.format == "mt940"
    (statement,) = result.statements
    assert statement.id == "REF" and statement.entries[0].amount_minor == 700


def test_mt940_statement_balance_continuity_is_reported_not_refused() -> None:
    data = statement_with("240101C1,00NTRFNONREF")
    (statement,) = parse_mt940(data).statements
    assert statement.balance_check() == {"reconciles": False, "difference_minor": -100}
    assert any("do not reconcile" in w for w in statement.warnings)


def _oracle(text_86: str) -> dict:
    """wolph/mt940's own German :86: post-processor, used as an independent oracle."""
    details = {"transaction_details": text_86}
    return transaction_details_post_processor(
        mt940.models.Transactions(), None, details, dict(details)
    )


def test_german_86_split_agrees_with_the_mt940_library() -> None:
    compared = 0
    for path in sorted((VECTORS / "mt940").iterdir()):
        if path.suffix not in (".sta", ".txt") or "LICENSE" in path.name:
            continue
        for statement in parse_bytes(path.read_bytes()).statements:
            for entry in statement.entries:
                text_86 = entry.extra.get("text_86")
                if text_86 is None or "subfields" not in entry.extra:
                    continue
                theirs = _oracle(text_86.lstrip())
                sub, sepa = entry.extra["subfields"], entry.extra["sepa"]
                where = f"{path.name} {entry.value_date} {entry.amount_minor}"
                assert theirs["transaction_code"] == entry.extra["gvc"], where
                assert (theirs["posting_text"] or None) == (sub.get("00") or None), where
                assert (theirs["prima_nota"] or None) == (sub.get("10") or None), where
                assert theirs.get("end_to_end_reference") == sepa.get("EREF"), where
                assert theirs.get("additional_position_reference") == sepa.get("MREF"), where
                assert theirs.get("applicant_creditor_id") == sepa.get("CRED"), where
                if "SVWZ" in sepa:
                    assert theirs["purpose"] == sepa["SVWZ"], where
                compared += 1
    assert compared >= 15


def test_dutch_structured_86_ing_layout() -> None:
    line_86 = (
        "/TRTP/SEPA OVERBOEKING/IBAN/NL32INGB0000012345/BIC/INGBNL2A/NAME/J. JANSEN/\n"
        "REMI/USTD//Huur maart 2024 app 12/EREF/NOTPROVIDED"
    )
    data = statement_with("240301C950,00NTRFNONREF", line_86).replace(
        b":25:DE89370400440532013000", b":25:NL91ABNA0417164300EUR"
    )
    (statement,) = parse_mt940(data).statements
    assert statement.account_iban == "NL91ABNA0417164300"
    (entry,) = statement.entries
    assert entry.counterparty_account == "NL32INGB0000012345"
    assert entry.counterparty_bic == "INGBNL2A"
    assert entry.counterparty_name == "J. JANSEN"
    assert entry.remittance == "Huur maart 2024 app 12"
    assert entry.end_to_end_id is None
    assert entry.extra["transaction_type_text"] == "SEPA OVERBOEKING"


def test_dutch_structured_86_rabobank_return() -> None:
    line_86 = (
        "/EREF/E2E-INV-9//MARF/MANDATE-3//CSID/NL12ZZZ123456780000//CNTP/NL91ABNA041716430\n"
        "0/ABNANL2A/Jansen/Utrecht//REMI/STRD/CUR/RF18539007547034//RTRN/MD06/"
    )
    (statement,) = parse_mt940(statement_with("240301D12,50NRTINONREF", line_86)).statements
    (entry,) = statement.entries
    assert entry.end_to_end_id == "E2E-INV-9"
    assert entry.mandate_id == "MANDATE-3"
    assert entry.creditor_scheme_id == "NL12ZZZ123456780000"
    assert (entry.counterparty_account, entry.counterparty_bic, entry.counterparty_name) == (
        "NL91ABNA0417164300",
        "ABNANL2A",
        "Jansen",
    )
    assert entry.creditor_reference == "RF18539007547034"
    assert entry.return_reason == "MD06"


def test_structured_86_without_gvc() -> None:
    line_86 = "?00GUTSCHRIFT?20SVWZ+Miete?32Anna Mieterin"
    (statement,) = parse_mt940(statement_with("240301C5,NTRFNONREF", line_86)).statements
    (entry,) = statement.entries
    assert entry.extra["subfields"]["00"] == "GUTSCHRIFT"
    assert (entry.remittance, entry.counterparty_name) == ("Miete", "Anna Mieterin")


def test_rabobank_old_layout_account_in_supplementary_details() -> None:
    data = (
        b":940:\n:20:940S130101\n:25:NL71RABO0123456789\n:28C:0\n:60F:C130101EUR000000001000,00\n"
        b":61:130101D000000000025,00N102EREF            \nNL91ABNA0417164300\n"
        b":86:/EREF/01-01-2013 12:00 0030000987654321/BENM//NAME/CONTRA ACCOUN\n"
        b"T HOLDER/REMI//ISDT/2013-07-11\n"
        b":62F:C130108EUR000000000975,00\n"
        b":20:940S130108\n:25:NL71RABO0123456789\n:28C:0\n:60F:C130108EUR000000000975,00\n"
        b":61:130109D10,00N154NONREF\n:86:/BENM//NAME/JOHN DOE/REMI/Reference 201301234/ISDT/2\n"
        b"013-01-09\n:62F:C130115EUR965,00\n"
    )
    first, second = parse_bytes(data).statements  # no "-" between the :20: blocks
    (entry,) = first.entries
    assert entry.amount_minor == 2500 and entry.extra["transaction_type"] == "N102"
    assert entry.counterparty_account == "NL91ABNA0417164300"
    assert entry.end_to_end_id == "01-01-2013 12:00 0030000987654321"
    assert entry.counterparty_name == "CONTRA ACCOUNT HOLDER"
    assert entry.remittance is None
    assert entry.extra["nl_fields"]["ISDT"] == "2013-07-11"
    assert second.entries[0].remittance == "Reference 201301234"
    assert (
        first.balance_check()
        == second.balance_check()
        == {
            "reconciles": True,
            "difference_minor": 0,
        }
    )


def test_structured_86_with_angle_bracket_separator() -> None:
    line_86 = "000>100987654321\n>20 HUUR>21 KANTOOR - FEB 2010>310390123456"
    (statement,) = parse_mt940(statement_with("110125D700,00N000NONREF", line_86)).statements
    (entry,) = statement.entries
    assert entry.extra["subfields"]["10"] == "0987654321"
    assert entry.remittance == " HUUR KANTOOR - FEB 2010"
    assert entry.counterparty_account == "0390123456"


def test_space_padded_type_code_and_repeated_forward_balances() -> None:
    text = statement_with("1710111011DF2402,00S   X").decode()
    text = text.replace(
        ":62F:C240101EUR0,00\n", ":62F:C240101EUR0,00\n:65:C240102EUR0,00\n:65:C240103EUR0,00\n"
    )
    (statement,) = parse_mt940(text.encode()).statements
    (entry,) = statement.entries
    assert (entry.credit_debit, entry.extra["funds_code"], entry.amount_minor) == (
        "DBIT",
        "F",
        240200,
    )
    assert entry.extra["transaction_type"] == "S"
    assert [b.type for b in statement.balances] == ["OPBD", "CLBD", "FWAV", "FWAV"]


def test_non_swift_lines_belong_to_the_line_before_them() -> None:
    text = statement_with("1710111011DF2402,00S   X").decode()
    text = text.replace(":61:", ":NS:22JOHN DOE\n:61:").replace(
        "S   X\n", "S   X\n:NS:01526715\n15ERGO Versicherung\n"
    )
    (statement,) = parse_mt940(text.encode()).statements
    assert statement.extra["non_swift"][0]["text"] == "22JOHN DOE"
    assert statement.entries[0].extra["non_swift"][0]["text"] == "01526715\n15ERGO Versicherung"


def test_wrapped_86_line_that_looks_like_a_tag_is_continuation() -> None:
    line_86 = (
        "106?000000/661?20EREF+VZ0000000000000000?21MREF+000000?22CRED+XX0\n"
        "000000000000000?23ABCDEFGHIJKLMNOPQRSTUVW?24/PL 12-09-2014T16\n"
        ":26:37 Fo?25lgenr. 007"
    )
    (statement,) = parse_mt940(statement_with("1602300301DR6,00N024NONREF", line_86)).statements
    (entry,) = statement.entries
    assert entry.extra["subfields"]["24"] == "/PL 12-09-2014T16:26:37 Fo"
    assert entry.extra["subfields"]["25"] == "lgenr. 007"
    assert entry.value_date is None  # 30 February: kept as a warning, not a crash
    assert entry.booking_date == "2016-03-01"
    assert any("160230" in w for w in statement.warnings)


def test_currency_appended_to_the_account() -> None:
    data = statement_with("240101C1,NTRFNONREF").replace(
        b":25:DE89370400440532013000", b":25:51210600/9223382012EUR"
    )
    (statement,) = parse_mt940(data).statements
    assert (statement.account_other_id, statement.currency) == ("51210600/9223382012", "EUR")


def test_mt942_interim_report_takes_currency_from_floor_limit() -> None:
    data = (
        b"\n:20:ST170119CYC/0001\n:25:PL29114010810000267002001002\n:28C:1/1\n:34F:PLN0\n"
        b":13D:1701191815+0100\n:61:1701190119CN0,01NTRFNONREF//MB170119012058\n"
        b"911-TRANSAKCJA IPH\n:86:911 TRANSAKCJA COLLECT; ID IPH: XX000000000001; Z RACH.: \n"
        b"56114010810000267002001001; OD: JAN NOWAK\n:90D:0PLN0,00\n:90C:1PLN0,01\n-\n"
    )
    (statement,) = parse_bytes(data).statements
    assert statement.message == "MT942"
    assert statement.currency == "PLN" and statement.created_at == "1701191815+0100"
    assert statement.account_iban == "PL29114010810000267002001002"
    (entry,) = statement.entries
    assert (entry.amount_minor, entry.currency, entry.extra["funds_code"]) == (1, "PLN", "N")
    assert entry.additional_info == "911-TRANSAKCJA IPH"


def test_balance_without_currency_uses_the_statements() -> None:
    data = (
        b":20:STARTUMS\n:25:1222333444\n:28:1/1\n:60F:C020315DEM0,00\n"
        b":61:0203170320CM5000,00S05168790452\n:62M:C0203155000,00\n"
    )
    (statement,) = parse_bytes(data).statements
    assert statement.closing_balance_minor == 500000
    assert statement.balance_check() == {"reconciles": True, "difference_minor": 0}
    assert any("without currency" in w for w in statement.warnings)


def test_swift_original_amount_and_charges_codes() -> None:
    line_86 = "020?00VIREMENT?20LIGNE 1?25/CHGS/EUR0,5/?32NOM DU BENEFICIAIRE"
    data = statement_with("0408040804DR5,NTRFREFERENCE DO 111//MUL0408041114005", line_86)
    data = data.replace(b"MUL0408041114005\n", b"MUL0408041114005\n/OCMT/EUR4,5//IACC/D3/\n")
    (statement,) = parse_mt940(data).statements
    (entry,) = statement.entries
    assert (entry.original_amount_minor, entry.original_currency) == (450, "EUR")
    assert entry.charges_minor == 50
    assert entry.extra["customer_reference"] == "REFERENCE DO 111"
