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

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Notes = Annotated[str, StringConstraints(max_length=4000)]
#: A bigint id in a path or query (PostgreSQL ``bigint``, positive).
MAX_ID = 2**63 - 1
T = TypeVar("T")


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


class StrictIn(BaseModel):
    """Base of request bodies: strict types, no extra field, no NUL character in any text.

    (PostgreSQL text and jsonb cannot store U+0000; refusing it here names the field.)
    """

    model_config = ConfigDict(strict=True, extra="forbid")

    @model_validator(mode="after")
    def _no_nul(self) -> StrictIn:
        for name, value in self:
            if _has_nul(value):
                raise ValueError(f"{name}: text must not contain the NUL character (U+0000)")
        return self


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


