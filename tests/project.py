"""Run the real pipeline in a throwaway copy of the project (tests never touch the repo's
warehouse, artefacts or prism.yml)."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
PROJECT_PARTS = ["dbt_project.yml", "profiles.yml", "prism.yml", "models", "python_models",
                 "macros", "seeds", "knowledge", "tests/dbt", "streamlit_app"]

# Small but real sampling: enough draws for stable summaries, quick on two cores.
FAST_SETTINGS = {
    "bayes": {"sampling": {"chains": 2, "draws": 300, "tune": 300}},
    "ridge": {"n_boot": 50},
    "nls": {"n_boot": 20},
}


@dataclass
class Project:
    project_dir: Path
    duckdb_path: Path

    def env(self) -> dict[str, str]:
        return {"PRISM_PROJECT_DIR": str(self.project_dir),
                "PRISM_DUCKDB_PATH": str(self.duckdb_path)}

    def activate(self, monkeypatch) -> None:
        for key, value in self.env().items():
            monkeypatch.setenv(key, value)


def copy_project(target: Path, settings: dict | None = None) -> Project:
    """Copy the dbt project into ``target`` and merge ``settings`` into its prism.yml."""
    from prism_mmm.config import deep_merge

    target.mkdir(parents=True, exist_ok=True)
    for part in PROJECT_PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, target / part, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, target / part)
    config = yaml.safe_load((target / "prism.yml").read_text())
    (target / "prism.yml").write_text(yaml.safe_dump(deep_merge(config, settings or {})))
    return Project(project_dir=target, duckdb_path=target / "warehouse" / "prism.duckdb")


def build(project: Project, run_id: str = "test-run", round_: int = 1, **kwargs) -> Path:
    """Run the real `prism build` machinery (validate, dbt build, swap) in ``project``."""
    from prism_mmm.build import build_warehouse
    from prism_mmm.config import load_config

    saved = {k: os.environ.get(k) for k in project.env()}
    os.environ.update(project.env())
    try:
        cfg = load_config(project.project_dir / "prism.yml")
        return build_warehouse(cfg, run_id, round_, **kwargs)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
