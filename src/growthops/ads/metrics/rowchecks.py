"""Checks of one file's rows that need more than the row itself (used by
:func:`growthops.ads.metrics.importer.parse_file`): the rejection of a row with every problem
named, the first differing field of two records, and a parent that changes within the file."""

from __future__ import annotations

from growthops.ads.metrics.formats import Record
from growthops.core.errors import RejectedRow


def _rejection(line: int, problems: list[tuple[str, str, str]]) -> RejectedRow:
    col, value, reason = problems[0]
    if len(problems) > 1:
        others = ", ".join(f"{c} ({r})" for c, _, r in problems[1:])
        reason = f"{reason}; also: {others}"
    return RejectedRow(line, col, value, reason)


def _first_difference(a: Record, b: Record) -> str:
    for f in a.__dataclass_fields__:
        if getattr(a, f) != getattr(b, f):
            return "custom_metrics" if f == "custom" else f
    return "?"  # pragma: no cover - only called when the records differ


def _parent_conflict(
    rec: Record, line: int, parents: dict[tuple[str, str, str], tuple[int, str]]
) -> RejectedRow | None:
    """Check that an ad set keeps one campaign and an ad one ad set across the file's rows."""
    links = []
    if rec.level == "adset" and rec.campaign_id:
        links.append(("adset", rec.entity_id, rec.campaign_id, "campaign_id"))
    if rec.level == "ad":
        links.append(("ad", rec.entity_id, rec.adset_id or "", "adset_id"))
        links.append(("adset", rec.adset_id or "", rec.campaign_id or "", "campaign_id"))
    for kind, child, parent, col in links:
        k = (rec.platform, kind, child)
        first = parents.get(k)
        if first is not None and first[1] != parent:
            return RejectedRow(
                line, col, parent, f"{kind} {child!r} is under {first[1]!r} on line {first[0]}"
            )
    for kind, child, parent, _ in links:
        parents.setdefault((rec.platform, kind, child), (line, parent))
    return None
