"""Shared request and response models of the HTTP API: strict bodies, responses, pages, users.

Request bodies are **strict** (``ConfigDict(strict=True, extra="forbid")``): no coercion
(``false`` is not ``0``, ``"3"`` is not ``3``), unknown fields refused, each fault named in the
422 answer. Response models are lax (they describe rows the service returns). Each domain's own
models live in its ``models.py`` and build on these.
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from growthops.core.inputs import find_problem

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Notes = Annotated[str, StringConstraints(max_length=4000)]
#: A bigint id in a path or query (PostgreSQL ``bigint``, positive).
MAX_ID = 2**63 - 1
T = TypeVar("T")


class StrictIn(BaseModel):
    """Base of request bodies: strict types, no extra field, bounded and storable input.

    Before any field is validated, the raw body is walked once (iteratively:
    :func:`growthops.core.inputs.find_problem`) and refused (422 naming the field) when it
    nests deeper than :data:`~growthops.core.inputs.MAX_DEPTH` levels, or carries a NUL
    character (PostgreSQL text and jsonb cannot store U+0000), a lone surrogate (not encodable
    as UTF-8), or a non-finite number (NaN, Infinity).
    """

    model_config = ConfigDict(strict=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _bounded(cls, data: Any) -> Any:
        fault = find_problem(data)
        if fault is not None:
            path, reason = fault
            raise ValueError(f"{path}: {reason}" if path else reason)
        return data


class Out(BaseModel):
    """Base of response bodies (built from database rows)."""

    model_config = ConfigDict(extra="ignore", from_attributes=True)


class Page(Out, Generic[T]):
    """One page of a list: the items, the total matching the filter, and where the next starts.

    ``next_offset`` is the ``offset`` of the next page, or null on the last page.
    """

    items: list[T]
    total: int = Field(ge=0)
    limit: int = Field(ge=1)
    offset: int = Field(ge=0)
    next_offset: int | None = None

    @classmethod
    def of(cls, items: list[Any], total: int, limit: int, offset: int, **extra: Any) -> Any:
        """Build a page, computing ``next_offset``; ``extra``: fields of a subclass."""
        end = offset + len(items)
        return cls(
            items=items,
            total=total,
            limit=limit,
            offset=offset,
            next_offset=end if end < total and items else None,
            **extra,
        )


# ------------------------------------------------------------------------------ users, login
class LoginIn(StrictIn):
    """E-mail and password of a user account."""

    email: Annotated[str, StringConstraints(min_length=3, max_length=254)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=128)]


class UserOut(Out):
    """A user account (never its password hash)."""

    user_id: UUID
    email: str
    role: Literal["admin", "media_buyer", "client_viewer", "support_agent"]
    tenant_id: UUID | None = Field(default=None, description="Set for a client_viewer or support_agent only.")
    lang: Literal["en", "fr"]
    can_decide: bool


