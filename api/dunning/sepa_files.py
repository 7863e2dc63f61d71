"""SEPA files with sepaxml, validated against their XSD before they leave us.

- pain.008.001.02 (direct debit): one transaction per open invoice of a tenant
  with a mandate (reference and signature date are mandatory in the file; the
  first collection under a mandate is ``FRST``, later ones ``RCUR``).
- pain.001.001.03 (credit transfer): refunds of credit balances.

sepaxml's ``export(validate=True)`` checks the result against the schema it ships
(``sepaxml/schemas/pain.00x.xsd``); an invalid file raises, it is never written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sepaxml import SepaDD, SepaTransfer
from sepaxml.validation import ValidationError

from api.errors import InvalidRequestError


@dataclass(frozen=True, slots=True)
class Creditor:
    name: str
    iban: str
    bic: str
    creditor_id: str  # SEPA creditor identifier, e.g. DE98ZZZ09999999999


@dataclass(frozen=True, slots=True)
class Collection:
    debtor_name: str
    iban: str
    bic: str | None
    amount_minor: int
    mandate_reference: str
    mandate_signed_on: date
    first: bool
    remittance: str
    end_to_end_id: str


@dataclass(frozen=True, slots=True)
class Transfer:
    name: str
    iban: str
    bic: str | None
    amount_minor: int
    remittance: str
    end_to_end_id: str


def direct_debit_file(creditor: Creditor, collections: Sequence[Collection],
                      collect_on: date) -> bytes:
    """pain.008.001.02 XML for ``collections``, XSD-validated."""
    if not collections:
        raise InvalidRequestError("no collections to put in a direct debit file")
    sepa = SepaDD({"name": creditor.name, "IBAN": creditor.iban, "BIC": creditor.bic,
                   "batch": True, "creditor_id": creditor.creditor_id, "currency": "EUR",
                   "instrument": "CORE"}, schema="pain.008.001.02", clean=True)
    for c in collections:
        sepa.add_payment({
            "name": c.debtor_name, "IBAN": c.iban, "BIC": c.bic or "NOTPROVIDED",
            "amount": c.amount_minor, "type": "FRST" if c.first else "RCUR",
            "collection_date": collect_on, "mandate_id": c.mandate_reference,
            "mandate_date": c.mandate_signed_on, "description": c.remittance[:140],
            "endtoend_id": c.end_to_end_id[:35]})
    return _export(sepa, "pain.008.001.02")


def credit_transfer_file(debtor_name: str, debtor_iban: str, debtor_bic: str,
                         transfers: Sequence[Transfer], execute_on: date) -> bytes:
    """pain.001.001.03 XML for ``transfers``, XSD-validated."""
    if not transfers:
        raise InvalidRequestError("no transfers to put in a credit transfer file")
    sepa = SepaTransfer({"name": debtor_name, "IBAN": debtor_iban, "BIC": debtor_bic,
                         "batch": True, "currency": "EUR"}, schema="pain.001.001.03",
                        clean=True)
    for t in transfers:
        payment: dict[str, object] = {
            "name": t.name, "IBAN": t.iban, "amount": t.amount_minor,
            "execution_date": execute_on, "description": t.remittance[:140],
            "endtoend_id": t.end_to_end_id[:35]}
        if t.bic:
            payment["BIC"] = t.bic  # optional in SEPA since 2016 (IBAN-only)
        sepa.add_payment(payment)
    return _export(sepa, "pain.001.001.03")


def _export(sepa: SepaDD | SepaTransfer, schema: str) -> bytes:
    try:
        return bytes(sepa.export(validate=True))
    except ValidationError as exc:
        raise InvalidRequestError(f"{schema}: the file does not validate against its XSD: "
                                  f"{exc.__cause__ or exc}") from exc
