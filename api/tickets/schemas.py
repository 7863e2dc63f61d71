"""Request and response schemas for tickets; inputs refuse unknown fields (a typo is a 422)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Priority = Literal["low", "normal", "high", "urgent"]
Status = Literal["open", "approved", "in_progress", "done", "rejected", "waiting"]
Visibility = Literal["private", "public"]
Event = Literal["created", "status", "comment", "assigned", "escalated", "survey"]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TicketCreate(_Input):
    building_id: int
    unit_id: int | None = None
    common_area: str | None = Field(default=None, max_length=200)
    category_id: int | None = None  # None = the property's 'General' category
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)
    priority: Priority = "normal"
    visibility: Visibility = "private"
    anonymous: bool = False
    reporter_email: str | None = Field(default=None, max_length=320)


class StatusChange(_Input):
    status: Status
    comment: str = Field(default="", max_length=10_000)


class CommentCreate(_Input):
    body: str = Field(min_length=1, max_length=10_000)
    internal: bool = False


class AssignmentUpdate(_Input):
    provider_id: int | None = None
    caretaker_user_id: int | None = None
    caretaker_email: str | None = Field(default=None, max_length=320)


class WatchCreate(_Input):
    email: str = Field(min_length=3, max_length=320)


class PreferenceUpdate(_Input):
    email: str = Field(min_length=3, max_length=320)
    event: Event
    enabled: bool


class MergeRequest(_Input):
    into_ticket_id: int


class SurveyCreate(_Input):
    rating: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=5_000)


class CategoryCreate(_Input):
    name: str = Field(min_length=1, max_length=100)


class ProviderCreate(_Input):
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=320)
    property_id: int | None = None


class RoutingRuleSet(_Input):
    category_id: int | None = None
    action: Literal["await_approval", "assign_caretaker", "assign_provider"]
    caretaker_user_id: int | None = None
    caretaker_email: str | None = None
    provider_id: int | None = None


class PropertyTicketSettings(_Input):
    manager_email: str | None = Field(default=None, max_length=320)
    arrears_flag_enabled: bool = False


class CategoryPublic(BaseModel):
    id: int
    property_id: int
    name: str


class ProviderPublic(BaseModel):
    id: int
    name: str
    email: str
    property_id: int | None


class CommentPublic(BaseModel):
    id: int
    author: str | None
    body: str
    internal: bool
    via: str
    created_at: datetime


class HistoryEntryPublic(BaseModel):
    at: datetime
    kind: str
    actor: str | None
    actor_role: str
    from_status: str | None
    to_status: str | None
    comment: str


class AttachmentPublic(BaseModel):
    id: int
    media_type: str
    size_bytes: int
    original_name: str
    created_at: datetime


class TicketPublic(BaseModel):
    id: int
    property_id: int
    building_id: int
    unit_id: int | None
    common_area: str | None
    category_id: int
    category: str
    title: str
    description: str
    priority: Priority
    status: Status
    status_label_de: str
    visibility: Visibility
    anonymous: bool
    reporter_user_id: int | None
    reporter_name: str | None
    provider_id: int | None
    assignee_user_id: int | None
    merged_into: int | None
    arrears_flag: bool | None  # staff only; None for everyone else
    created_at: datetime
    next_states: list[str]
    similar_open_tickets: list[int] = []


class TicketDetail(TicketPublic):
    comments: list[CommentPublic]
    history: list[HistoryEntryPublic]
    attachments: list[AttachmentPublic]


class SurveyPublic(BaseModel):
    ticket_id: int
    rating: int
    comment: str
    submitted_at: datetime
