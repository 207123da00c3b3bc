"""``python -m growthops.cli``: the same as the ``growthops`` console script."""

from __future__ import annotations

from growthops.cli import main

main()
