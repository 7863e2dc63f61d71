"""RF creditor references (ISO 11649) and the EPC069-12 QR payload, byte for byte."""

from __future__ import annotations

import pytest
from segno.helpers import _make_epc_qr_data
from stdnum import iso11649

from api.portal.payment_info import (
    PaymentInfoError,
    bill_reference,
    creditor_reference,
    epc_payload,
    epc_qr_svg,
    instructions,
)

IBAN = "DE89 3704 0044 0532 0130 00"  # the well-known valid German test IBAN


def test_creditor_reference_matches_the_standard_example() -> None:
    # ISO 11649 example: reference 539007547034 → RF18 5390 0754 7034.
    assert creditor_reference("539007547034") == "RF18539007547034"


def test_bill_reference_names_unit_and_month_and_validates() -> None:
    ref = bill_reference(1, "2026-03")
    assert ref == "RF57U1M202603"
    assert iso11649.is_valid(ref)
    assert bill_reference(2, "2026-03") != ref


def test_creditor_reference_refuses_bad_bodies() -> None:
    with pytest.raises(PaymentInfoError, match="1-21"):
        creditor_reference("A" * 22)
    with pytest.raises(PaymentInfoError, match="1-21"):
        creditor_reference("U1-M2")


def test_epc_payload_exact_bytes() -> None:
    payload = epc_payload(name="Hausverwaltung Muster GmbH", iban=IBAN, amount_cents=12345,
                          reference="RF18539007547034")
    assert payload.encode("utf-8") == (
        b"BCD\n002\n1\nSCT\n\nHausverwaltung Muster GmbH\nDE89370400440532013000\n"
        b"EUR123.45\n\nRF18539007547034")


def test_epc_payload_agrees_with_segno_for_reference_and_text() -> None:
    # segno's own EPC builder as an independent oracle (same version 002, UTF-8).
    ours = epc_payload(name="Wohnbau Süd eG", iban=IBAN, amount_cents=120059,
                       reference="RF57U1M202603", bic="COBADEFFXXX")
    theirs = _make_epc_qr_data("Wohnbau Süd eG", IBAN.replace(" ", ""), "1200.59",
                               reference="RF57U1M202603", bic="COBADEFFXXX", encoding="utf-8")
    assert ours.encode("utf-8") == theirs
    text = epc_payload(name="Wohnbau Süd eG", iban=IBAN, amount_cents=5,
                       text="Strom März 2026 W01", purpose="RENT")
    assert text.encode("utf-8") == (
        "BCD\n002\n1\nSCT\n\nWohnbau Süd eG\nDE89370400440532013000\nEUR0.05\nRENT\n\n"
        "Strom März 2026 W01").encode()


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"reference": "RF18539007547034", "text": "x"}, "either a creditor reference or a text"),
    ({}, "either a creditor reference or a text"),
    ({"reference": "RF19539007547034"}, "checksum"),  # wrong check digits (stdnum)
    ({"reference": "RF18539007547034", "amount_cents": 0}, "0.01 to 999999999.99"),
    ({"reference": "RF18539007547034", "iban": "DE89370400440532013001"}, "not a valid IBAN"),
    ({"reference": "RF18539007547034", "bic": "COBADE"}, "8 or 11"),
    ({"reference": "RF18539007547034", "name": "x" * 71}, "1-70"),
])
def test_epc_payload_refuses_what_the_standard_forbids(kwargs: dict, message: str) -> None:
    args = {"name": "Hausverwaltung", "iban": IBAN, "amount_cents": 100, **kwargs}
    with pytest.raises((PaymentInfoError, iso11649.ValidationError), match=message):
        epc_payload(**args)


def test_qr_svg_is_labelled_for_screen_readers() -> None:
    payload = epc_payload(name="Hausverwaltung Muster GmbH", iban=IBAN, amount_cents=12345,
                          reference="RF18539007547034")
    svg = str(epc_qr_svg(payload, label='Überweisung "120 €" <QR>'))
    assert svg.startswith('<svg role="img" aria-label="Überweisung &quot;120 €&quot; &lt;QR>"')
    assert "<title>" in svg and "<path" in svg


def test_instructions_use_the_qr_only_for_euro_and_wallet_notes_for_china() -> None:
    eur = instructions(recipient="HV", iban=IBAN, amount_cents=100, currency="EUR",
                       reference="RF18539007547034", country="DE")
    assert eur.epc_payload is not None and not eur.wallet_note
    assert eur.iban == "DE89 3704 0044 0532 0130 00"
    cny = instructions(recipient="物业", iban=None, amount_cents=100, currency="CNY",
                       reference="RF18539007547034", country="CN")
    assert cny.epc_payload is None and cny.wallet_note
