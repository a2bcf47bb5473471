"""Where the PrismMMM project is: found the way dbt finds its project.

The package (``prism_mmm``, wherever pip installed it) holds the logic; the *project* is the
folder with ``dbt_project.yml``, ``prism.yml``, the SQL models, the knowledge files, the app
and the warehouse. ``PRISM_PROJECT_DIR`` (or ``prism --project-dir``) names it; otherwise it
is the nearest folder with a ``dbt_project.yml``, from the current directory upwards. The CLI,
the dbt Python models (dbt runs them with the project as working directory and the variable
set), the app and the loop all resolve it here.

:func:`copy_project` makes an isolated copy of a project (benchmarks and tests run the real
pipeline there without touching the original's warehouse, artefacts or ``prism.yml``).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

PROJECT_ENV = "PRISM_PROJECT_DIR"
MARKER = "dbt_project.yml"
# Small but real sampling for tests and quick benchmarks: enough draws for stable
# summaries, quick on two cores; the loop's CV score from one origin instead of three.
QUICK_SETTINGS = {
    "bayes": {"sampling": {"chains": 2, "draws": 300, "tune": 300}},
    "ridge": {"n_boot": 50},
    "nls": {"n_boot": 20},
    "agents": {"cv_origins": 1},
}
# What a runnable copy of a project needs (the warehouse, artefacts and reports are not copied).
PROJECT_PARTS = ["dbt_project.yml", "profiles.yml", "prism.yml", "models", "python_models",
                 "macros", "seeds", "knowledge", "tests/dbt", "streamlit_app"]


class ProjectNotFoundError(RuntimeError):
    """No PrismMMM project here: the message says where it looked and what to do."""


def find_project_dir(start: Path | None = None) -> Path:
    """The nearest folder holding ``dbt_project.yml``, from ``start`` (default: the current
    directory) upwards."""
    start = Path(start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / MARKER).is_file():
            return folder
    raise ProjectNotFoundError(
        f"no PrismMMM project found in {start} or above it (a folder with {MARKER}): run the "
        f"command inside your project, pass --project-dir, or set {PROJECT_ENV}"
    )


def project_dir() -> Path:
    """The project in force: ``PRISM_PROJECT_DIR`` if set, else :func:`find_project_dir`."""
    configured = os.environ.get(PROJECT_ENV)
    if configured:
        path = Path(configured)
        if not (path / MARKER).is_file():
            raise ProjectNotFoundError(f"{PROJECT_ENV}={configured} has no {MARKER}")
        return path
    return find_project_dir()


@dataclass
class Project:
    """An isolated copy of a project and its own warehouse file."""

    project_dir: Path
    duckdb_path: Path

    def env(self) -> dict[str, str]:
        return {PROJECT_ENV: str(self.project_dir), "PRISM_DUCKDB_PATH": str(self.duckdb_path)}

    def activate(self, monkeypatch) -> None:
        """Point this process at the copy for the rest of a test (pytest's monkeypatch)."""
        for key, value in self.env().items():
            monkeypatch.setenv(key, value)

    def build(self, run_id: str, round_: int = 1, **kwargs) -> Path:
        """The real ``prism build`` machinery (validate, dbt build, swap) on this copy; the
        process environment is restored afterwards."""
        from prism_mmm.build import build_warehouse
        from prism_mmm.config import load_config

        saved = {k: os.environ.get(k) for k in self.env()}
        os.environ.update(self.env())
        try:
            cfg = load_config(self.project_dir / "prism.yml")
            return build_warehouse(cfg, run_id, round_, **kwargs)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def copy_project(source: Path, target: Path, settings: dict | None = None) -> Project:
    """Copy the runnable parts of the project at ``source`` into ``target`` and merge
    ``settings`` into the copy's ``prism.yml``."""
    from prism_mmm.config import deep_merge

    target.mkdir(parents=True, exist_ok=True)
    for part in PROJECT_PARTS:
        origin = source / part
        if origin.is_dir():
            shutil.copytree(origin, target / part, ignore=shutil.ignore_patterns("__pycache__"))
        elif origin.exists():
            (target / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target / part)
    config_file = target / "prism.yml"
    config = yaml.safe_load(config_file.read_text()) if config_file.exists() else {}
    config_file.write_text(yaml.safe_dump(deep_merge(config or {}, settings or {})))
    return Project(project_dir=target, duckdb_path=target / "warehouse" / "prism.duckdb")
