"""EPC QR code (GiroCode) per invoice: the bank app reads payee, IBAN, amount, reference.

Payload per EPC069-12 ("Quick Response Code: Guidelines to Enable Data Capture for
the Initiation of a SEPA Credit Transfer", version 002): lines separated by LF —
``BCD``, ``002``, character set ``1`` (UTF-8), ``SCT``, BIC (optional in 002),
beneficiary name (max 70), IBAN, ``EUR`` + amount (0.01 .. 999999999.99), purpose
code (optional), then *either* the structured creditor reference (ISO 11649 RF,
max 35) *or* unstructured text (max 140).  At most 331 bytes; error correction
level M.  We put the invoice's RF reference in the structured field, so the
payment comes back with it and is matched exactly.
"""

from __future__ import annotations

from decimal import Decimal

import segno

from api.errors import InvalidRequestError
from api.invoices.service import Invoice
from api.reconciliation.service import valid_iban


def epc_payload(*, name: str, iban: str, amount_minor: int, reference: str | None = None,
                text: str | None = None, bic: str | None = None,
                currency: str = "EUR") -> str:
    """The EPC QR payload text (see the module docstring)."""
    if currency != "EUR":
        raise InvalidRequestError("an EPC QR code carries euro amounts only", field="currency")
    compact = valid_iban(iban)
    if compact is None:
        raise InvalidRequestError(f"not a valid IBAN: {iban!r}", field="iban")
    if not 1 <= amount_minor <= 99_999_999_999:
        raise InvalidRequestError("amount must be 0.01 to 999999999.99 EUR",
                                  field="amount_minor")
    if not name or len(name) > 70:
        raise InvalidRequestError("beneficiary name must be 1 to 70 characters", field="name")
    if reference and text:
        raise InvalidRequestError("give a structured reference or a text, not both")
    if reference and len(reference) > 35:
        raise InvalidRequestError("reference longer than 35 characters", field="reference")
    if text and len(text) > 140:
        raise InvalidRequestError("text longer than 140 characters", field="text")
    amount = Decimal(amount_minor).scaleb(-2)
    lines = ["BCD", "002", "1", "SCT", bic or "", name, compact, f"EUR{amount}", "",
             reference or "", text or ""]
    payload = "\n".join(lines).rstrip("\n")
    if len(payload.encode()) > 331:
        raise InvalidRequestError("EPC QR payload over 331 bytes")
    return payload


def invoice_qr(invoice: Invoice, *, payee_name: str, payee_iban: str, open_minor: int,
               payee_bic: str | None = None) -> segno.QRCode:
    """GiroCode for paying the open amount of ``invoice``."""
    payload = epc_payload(name=payee_name, iban=payee_iban, amount_minor=open_minor,
                          reference=invoice.creditor_reference, bic=payee_bic,
                          currency=invoice.currency)
    return segno.make(payload, error="m", boost_error=False, encoding="utf-8", micro=False)
