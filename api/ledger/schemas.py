"""Request and response schemas of the ledger and invoice routes (inputs forbid extras)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

# Ids and amounts are PostgreSQL bigint: out-of-range input is a 422, never a 500.
BIGINT_MAX = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=BIGINT_MAX)]
Minor = Annotated[int, Field(ge=-BIGINT_MAX, le=BIGINT_MAX)]
PathId = Annotated[int, Path(ge=1, le=BIGINT_MAX)]


class PostingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account_id: Id
    amount_minor: Minor = Field(description="Signed minor units: + debit, - credit.")
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class TransactionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ledger_id: Id
    booked_on: date
    kind: str = Field(min_length=1, max_length=40)
    description: str = ""
    reference: str | None = None
    postings: list[PostingCreate] = Field(min_length=2)


class ReversalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    booked_on: date
    description: str = ""


class TransactionPublic(BaseModel):
    id: int
    seq: int
    hash: str


class BalancePublic(BaseModel):
    account_id: int
    code: str
    kind: str
    currency: str
    balance_minor: int


class StatementLinePublic(BaseModel):
    transaction_id: int
    booked_on: date
    kind: str
    description: str
    reference: str | None
    currency: str
    debit_minor: int
    credit_minor: int
    balance_minor: int


class StatementPublic(BaseModel):
    tenant_id: int
    date_from: date | None
    date_to: date | None
    opening_minor: dict[str, int]
    lines: list[StatementLinePublic]
    closing_minor: dict[str, int]


class ChainReportPublic(BaseModel):
    ok: bool
    ledgers_checked: int
    transactions_checked: int
    first_broken: dict[str, object] | None


class InvoiceLineCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cost_item: str = Field(min_length=1)
    amount_minor: int = Field(gt=0, le=BIGINT_MAX)
    description: str = ""


class InvoiceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ledger_id: Id
    tenant_id: Id
    property_id: Id
    unit_id: Id | None = None
    issued_on: date
    due_on: date
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    lines: list[InvoiceLineCreate] = Field(min_length=1)
    source: str | None = None


class CreditNoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount_minor: int = Field(gt=0, le=BIGINT_MAX)
    issued_on: date
    reason: str = Field(min_length=1)


class InvoicePublic(BaseModel):
    id: int
    number: str
    kind: str
    tenant_id: int
    unit_id: int | None
    property_id: int
    issued_on: date
    due_on: date
    currency: str
    total_minor: int
    creditor_reference: str
    transaction_id: int
    credits_invoice_id: int | None = None
    open_minor: int | None = None
