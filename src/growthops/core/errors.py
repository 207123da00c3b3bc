"""One error hierarchy, mapped to CLI exit codes (and later HTTP statuses) in one place."""

from __future__ import annotations

from dataclasses import dataclass, field


class GrowthopsError(Exception):
    """Base of every error growthops raises on purpose.

    ``exit_code`` is the CLI's exit status; ``http_status`` the HTTP status of the API.
    """

    exit_code = 1
    http_status = 500


class ConfigError(GrowthopsError):
    """A setting is missing or invalid."""

    exit_code = 78
    http_status = 500


class NotFound(GrowthopsError):
    """The named object does not exist (for this tenant)."""

    exit_code = 4
    http_status = 404


class Conflict(GrowthopsError):
    """The object exists already or its state forbids the change."""

    exit_code = 5
    http_status = 409


class InvalidInput(GrowthopsError):
    """A field of the input is invalid; the message names it."""

    exit_code = 2
    http_status = 422


@dataclass(frozen=True)
class RejectedRow:
    """One rejected input row: 1-based ``line`` of the file (the header is line 1)."""

    line: int
    column: str
    value: str
    reason: str


@dataclass
class ImportRejected(InvalidInput):
    """An import found invalid rows and wrote nothing. ``rejected`` lists every one."""

    path: str
    rejected: list[RejectedRow] = field(default_factory=list)
    rows_total: int = 0

    def __str__(self) -> str:
        head = (
            f"{self.path}: {len(self.rejected)} of {self.rows_total} rows rejected; "
            "nothing was imported (use --skip-invalid to import the valid rows)"
        )
        lines = [
            f"  line {r.line}, column {r.column!r}: {r.reason} (value {r.value!r})"
            for r in self.rejected[:50]
        ]
        if len(self.rejected) > 50:
            lines.append(f"  ... and {len(self.rejected) - 50} more")
        return "\n".join([head, *lines])
