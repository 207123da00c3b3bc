"""The dependency rules between layers (``[tool.importlinter]`` in pyproject.toml) hold, and break
when someone makes the shared plumbing import a domain."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).parent / "lint-imports"


def _lint(src: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run([str(LINT), str(ROOT / "pyproject.toml")], capture_output=True,
                          text=True, env=env, cwd=src, timeout=120)


@pytest.fixture(scope="module")
def lint_available() -> None:
    if not LINT.exists():
        pytest.fail(f"{LINT} is missing: import-linter is a dev dependency (pip install -e '.[dev]')")


def test_the_layer_contracts_are_kept(lint_available: None) -> None:
    out = _lint(ROOT / "src")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout


@pytest.mark.parametrize(("module", "line"), [
    ("core/errors.py", "import growthops.ads.cycle  # noqa"),
    ("connectors/base.py", "from growthops.ads.action import decisions  # noqa"),
    ("web/pages.py", "import growthops.app  # noqa"),
])
def test_a_plumbing_module_importing_a_domain_breaks_a_contract(
        lint_available: None, tmp_path: Path, module: str, line: str) -> None:
    tree = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "growthops", tree / "growthops",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    target = tree / "growthops" / module
    target.write_text(target.read_text() + f"\n{line}\n")
    out = _lint(tree)
    assert out.returncode != 0, out.stdout
    assert "BROKEN" in out.stdout and f"growthops.{module[:-3].replace('/', '.')}" in out.stdout
