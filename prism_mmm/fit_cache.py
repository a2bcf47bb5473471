"""Reuse a fit whose inputs did not change.

A fit is a pure function of the estimator's parameters (and, with rolling-origin CV, the
refits' parameters and the CV settings), the modelling input as arrays (with the lift tests),
the gating, the PrismMMM code and the numerical packages. When all of them hash to a key a
finished fit of this project already had, its result rows and saved artefacts are copied
instead of fitting again: a loop round that changes only the Bayesian likelihood refits only
the Bayesian model. A reused fit says so in its ``mmm_runs`` message; failed fits are never
stored, so they are always tried again. ``fit_cache: false`` in prism.yml turns this off.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

CACHE_DIR = "fit_cache"
FRAME_FILE = "results.parquet"
SOURCE_FILE = "source.json"


@functools.cache
def code_version() -> str:
    """A hash of the installed prism_mmm sources and the numerical packages' versions."""
    from prism_mmm.pipeline import package_versions

    root = Path(__file__).resolve().parent
    digest = hashlib.sha256(package_versions().encode())
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _data_digest(data, digest) -> None:
    for field in dataclasses.fields(data):
        value = getattr(data, field.name)
        digest.update(field.name.encode())
        if isinstance(value, np.ndarray):
            digest.update(str((value.dtype, value.shape)).encode())
            digest.update(np.ascontiguousarray(value).tobytes())
        else:
            digest.update(json.dumps([dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v
                                      for v in value] if isinstance(value, tuple | list) else value,
                                     default=str, sort_keys=True).encode())


def fit_key(model_name: str, estimator, refit_estimator, data, cfg) -> str:
    """The key of a fit's inputs (see the module docstring)."""
    from prism_mmm.models.base import _jsonable

    def params(model) -> dict | None:
        if model is None:
            return None
        return {k: _jsonable(v) for k, v in model.get_params(deep=False).items()}

    digest = hashlib.sha256(json.dumps({
        "model": model_name,
        "params": params(estimator),
        "refit": params(refit_estimator),
        "validation": cfg.validation.model_dump(mode="json") if refit_estimator else None,
        "gating": cfg.diagnostics_gating,
        "code": code_version(),
    }, sort_keys=True, default=str).encode())
    _data_digest(data, digest)
    return digest.hexdigest()[:24]


def _entry(project_dir: Path, model_name: str, key: str) -> Path:
    return Path(project_dir) / "artifacts" / CACHE_DIR / model_name / key


def store(project_dir: Path, model_name: str, key: str, frame: pd.DataFrame,
          artifacts: Path) -> None:
    """Record a finished fit: its result rows and where its artefacts are."""
    entry = _entry(project_dir, model_name, key)
    if entry.exists():
        return
    staging = entry.with_name(f".{key}-{uuid.uuid4().hex[:8]}")
    staging.mkdir(parents=True)
    frame.to_parquet(staging / FRAME_FILE, index=False)
    # Relative, so a copied project's cache points into its own artefacts.
    (staging / SOURCE_FILE).write_text(json.dumps(
        {"artifacts": str(Path(artifacts).relative_to(project_dir))}))
    try:
        os.rename(staging, entry)  # atomic: a concurrent build stores the same fit once
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)


def reuse(project_dir: Path, model_name: str, key: str, run: dict,
          artifacts: Path) -> pd.DataFrame | None:
    """The stored fit's rows for this run (its artefacts copied to ``artifacts``), or None
    when there is none or its artefacts are gone."""
    entry = _entry(project_dir, model_name, key)
    if not (entry / FRAME_FILE).exists():
        return None
    source = Path(project_dir) / json.loads((entry / SOURCE_FILE).read_text())["artifacts"]
    if not source.is_dir():
        return None
    frame = pd.read_parquet(entry / FRAME_FILE)
    if source.resolve() != artifacts.resolve():
        shutil.copytree(source, artifacts, dirs_exist_ok=True)
    fitted = frame.loc[frame["result_table"] == "mmm_runs"].iloc[0]
    now = datetime.now(UTC).replace(tzinfo=None)
    runs = frame["result_table"] == "mmm_runs"
    note = (f"reused the fit of run {fitted['run_id']} round {int(fitted['round'])} "
            "(identical data, settings and code)")
    frame.loc[runs, "message"] = frame.loc[runs, "message"].fillna("").map(
        lambda message: f"{note}; {message}" if message else note)
    for column in ("config_hash", "config_json", "git_commit"):
        frame.loc[runs, column] = run[column]
    frame.loc[runs, "started_at"] = now
    frame.loc[runs, "finished_at"] = now
    # Identical inputs under another series name (a copied market) are the same fit.
    frame["run_id"], frame["round"], frame["series_id"] = run["run_id"], run["round"], run["series_id"]
    return frame
