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
            for r in self.rejected  # every one: the user fixes the file from this list
        ]
        return "\n".join([head, *lines])


class EmbeddedDataIncompatible(ConfigError):
    """The embedded server's data directory was made by another PostgreSQL major version.

    Raised before the server is started, so nothing in the directory has been touched.
    ``path`` is the directory at fault, ``found`` the major version its ``PG_VERSION`` names,
    ``expected`` the embedded server's major version, ``fresh_dir`` where a fresh start would go.
    """

    def __init__(self, path: str, found: str, expected: str, fresh_dir: str) -> None:
        self.path, self.found, self.expected, self.fresh_dir = path, found, expected, fresh_dir
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.path == self.fresh_dir:
            fresh = (f"move {self.path} aside yourself, then `growthops demo --reset` starts a new, "
                     "empty database there")
        else:
            fresh = (f"`growthops demo --reset` starts a new, empty database in {self.fresh_dir} "
                     f"and leaves {self.path} as it is (delete it yourself once you no longer "
                     "need it)")
        return (
            f"The embedded database in {self.path} was made by PostgreSQL {self.found} (the "
            f"former embedded server, pgserver); the embedded server is now PostgreSQL "
            f"{self.expected}, which cannot open it. Nothing was started, changed or deleted. "
            "Two ways forward:\n"
            "  1. keep the data: dump it with the old server and restore it into the new one "
            "(docs/architecture.md, \"Where data lives\", has the commands);\n"
            f"  2. start fresh: {fresh}."
        )
