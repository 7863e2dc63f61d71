"""How a tenant pays: IBAN, an ISO 11649 creditor reference, the EPC QR code.

Creditor reference (ISO 11649:2009): ``RF`` + two check digits + up to 21
alphanumerics.  The check digits make ``body + "RF" + check`` ≡ 1 (mod 97)
after letters become numbers (A = 10 … Z = 35), the ISO 7064 MOD 97-10 rule
IBANs use; so check = 98 − (body + "RF00" mod 97).  The body here is the unit
and the billing month (``U12M202603``), which lets reconciliation match a
payment to a bill from the reference alone.  python-stdnum validates what we
build.

EPC QR code (EPC069-12 "Quick Response Code: guidelines to enable data
capture for the initiation of a SEPA credit transfer", version 002): lines
separated by LF, in this order —

    BCD             service tag
    002             version (002: BIC optional inside the EEA)
    1               character set, 1 = UTF-8
    SCT             identification: SEPA credit transfer
    <BIC>           8 or 11 characters, or empty
    <name>          beneficiary, max. 70 characters
    <IBAN>          max. 34 characters, no spaces
    EUR<amount>     0.01 … 999999999.99, "." as decimal separator
    <purpose>       4-letter ISO 20022 purpose code, or empty
    <reference>     structured creditor reference (RF…), max. 35 — or empty
    <text>          unstructured remittance, max. 140 — only without a reference
    <information>   beneficiary to originator information, max. 70 (optional)

Either the reference or the text is given, never both; trailing empty
elements are left out; the whole payload is at most 331 bytes; the symbol
uses error correction level M and at most QR version 13.  SEPA transfers are
in euro only, so properties in other currencies get no GiroCode.

Chinese properties are paid by WeChat Pay or Alipay transfers, which have no
structured reference field: the tenant writes the same RF reference in the
transfer note (备注), and the WeChat/Alipay statement parsers read it back.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import segno
from markupsafe import Markup
from stdnum import iban as stdnum_iban
from stdnum import iso11649

EPC_MAX_BYTES = 331
EPC_MAX_VERSION = 13
_ALNUM = re.compile(r"^[0-9A-Z]{1,21}$")


class PaymentInfoError(ValueError):
    """An EPC field or a reference does not meet its standard; the message names the field."""


def _mod97(text: str) -> int:
    digits = "".join(str(int(ch, 36)) for ch in text)
    return int(digits) % 97


def creditor_reference(body: str) -> str:
    """``RF`` + ISO 7064 MOD 97-10 check digits + ``body`` (1–21 of 0-9, A-Z)."""
    body = body.upper()
    if not _ALNUM.match(body):
        raise PaymentInfoError(f"creditor reference body {body!r}: 1-21 of 0-9 and A-Z allowed")
    check = 98 - _mod97(body + "RF00")
    reference = f"RF{check:02d}{body}"
    iso11649.validate(reference)  # an independent check of the arithmetic above
    return reference


def bill_reference(unit_id: int, month: str) -> str:
    """The reference for a unit's bill of a month (``YYYY-MM``)."""
    return creditor_reference(f"U{unit_id}M{month.replace('-', '')}")


def epc_amount(amount_cents: int) -> str:
    if not 1 <= amount_cents <= 99_999_999_999:
        raise PaymentInfoError(
            f"EPC amount {amount_cents} cents: must be 0.01 to 999999999.99 EUR")
    return f"EUR{amount_cents // 100}.{amount_cents % 100:02d}"


def epc_payload(*, name: str, iban: str, amount_cents: int, reference: str = "",
                text: str = "", bic: str = "", purpose: str = "", information: str = "") -> str:
    """The EPC069-12 version 002 payload (UTF-8) for one SEPA credit transfer."""
    name = name.strip()
    compact_iban = stdnum_iban.compact(iban)
    if not 0 < len(name) <= 70:
        raise PaymentInfoError(f"EPC name: 1-70 characters, got {len(name)}")
    if not stdnum_iban.is_valid(compact_iban):
        raise PaymentInfoError(f"EPC IBAN {iban!r} is not a valid IBAN")
    if bic and len(bic) not in (8, 11):
        raise PaymentInfoError(f"EPC BIC {bic!r}: 8 or 11 characters")
    if purpose and not re.fullmatch(r"[A-Z]{4}", purpose):
        raise PaymentInfoError(f"EPC purpose {purpose!r}: four capital letters")
    if bool(reference) == bool(text):
        raise PaymentInfoError("EPC remittance: give either a creditor reference or a text")
    if reference:
        iso11649.validate(reference)
        if len(reference) > 35:
            raise PaymentInfoError("EPC reference: max. 35 characters")
    if len(text) > 140:
        raise PaymentInfoError(f"EPC text: max. 140 characters, got {len(text)}")
    if len(information) > 70:
        raise PaymentInfoError(f"EPC information: max. 70 characters, got {len(information)}")
    elements = ["BCD", "002", "1", "SCT", bic, name, compact_iban, epc_amount(amount_cents),
                purpose, reference, text, information]
    while elements and elements[-1] == "":
        elements.pop()
    payload = "\n".join(elements)
    size = len(payload.encode("utf-8"))
    if size > EPC_MAX_BYTES:
        raise PaymentInfoError(f"EPC payload: {size} bytes, max. {EPC_MAX_BYTES}")
    return payload


def epc_qr_svg(payload: str, *, label: str) -> Markup:
    """The payload as an inline SVG QR code (level M, version ≤ 13), labelled for readers."""
    qr = segno.make_qr(payload.encode("utf-8"), error="m", boost_error=False, encoding=None)
    if qr.version > EPC_MAX_VERSION:  # type: ignore[operator]
        raise PaymentInfoError(f"EPC QR code needs version {qr.version}, max. 13")
    buffer = io.BytesIO()
    qr.save(buffer, kind="svg", scale=4, border=4, xmldecl=False, svgns=True, title=label,
            svgclass="qr", lineclass=None, omitsize=True, dark="#000", light="#fff")
    svg = buffer.getvalue().decode("utf-8")
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{_attr(label)}" ', 1)
    return Markup(svg)


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


@dataclass(frozen=True, slots=True)
class PaymentInstructions:
    """Everything the payments page shows for one amount due."""

    recipient: str
    iban: str | None  # formatted in groups of four for reading aloud / typing
    amount_cents: int
    currency: str
    reference: str
    epc_payload: str | None  # only for EUR and a valid IBAN
    wallet_note: bool  # WeChat Pay / Alipay note for Chinese properties


def instructions(*, recipient: str, iban: str | None, amount_cents: int, currency: str,
                 reference: str, country: str) -> PaymentInstructions:
    payload = None
    if iban and currency == "EUR" and amount_cents > 0:
        payload = epc_payload(name=recipient[:70], iban=iban, amount_cents=amount_cents,
                              reference=reference)
    return PaymentInstructions(
        recipient=recipient,
        iban=stdnum_iban.format(iban) if iban else None,
        amount_cents=amount_cents, currency=currency, reference=reference,
        epc_payload=payload, wallet_note=country == "CN" or currency == "CNY",
    )
