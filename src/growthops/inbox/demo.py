"""The inbox part of ``growthops demo`` (filled in by the replay of real support tweets)."""

from __future__ import annotations

from typing import Any


def run_demo(db: Any, console: Any, *, reset: bool = False, lang: str = "en") -> None:
    """Nothing yet."""
    return None
