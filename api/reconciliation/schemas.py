"""Schemas of the reconciliation routes (inputs forbid extra fields)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.ledger.schemas import Id, Minor


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    auto_threshold: float = Field(default=0.90, ge=0, le=1)
    tolerance_minor: int = Field(default=0, ge=0, le=2**63 - 1)
    name_min_score: float = Field(default=85.0, ge=0, le=100)
    ledger_code: str = "main"


class RunPublic(BaseModel):
    payments: int
    auto: int
    suggested: int
    unmatched: int
    anomalies: int


class AllocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    invoice_id: Id | None = None
    tenant_id: Id | None = None
    amount_minor: Minor

    @model_validator(mode="after")
    def _target(self) -> AllocationIn:
        if self.invoice_id is None and self.tenant_id is None:
            raise ValueError("give invoice_id or tenant_id")
        return self


class OverrideCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    allocations: list[AllocationIn] = Field(min_length=1)


class DecisionPublic(BaseModel):
    bank_entry_id: int
    match_ids: list[int]


class AnomalyPublic(BaseModel):
    kind: str
    reason: str
    bank_entry_id: int | None
    invoice_id: int | None
    tenant_id: int | None


class ImportPublic(BaseModel):
    file: str | None
    format: str
    entries_added: int
    statements: list[dict[str, object]]
