"""Run the real pipeline in a throwaway copy of this repository's project (tests never touch
the repo's warehouse, artefacts or prism.yml)."""

from __future__ import annotations

import json
from pathlib import Path

from prism_mmm.project import PROJECT_PARTS, QUICK_SETTINGS, Project
from prism_mmm.project import copy_project as _copy_project

REPO = Path(__file__).resolve().parent.parent
FAST_SETTINGS = QUICK_SETTINGS

__all__ = ["FAST_SETTINGS", "PROJECT_PARTS", "REPO", "Project", "build", "copy_project",
           "write_settings_table"]


def copy_project(target: Path, settings: dict | None = None) -> Project:
    """Copy the repository's project into ``target`` and merge ``settings`` into prism.yml."""
    return _copy_project(REPO, target, settings)


def build(project: Project, run_id: str = "test-run", round_: int = 1, **kwargs) -> Path:
    """Run the real `prism build` machinery (validate, dbt build, swap) in ``project``."""
    return project.build(run_id, round_, **kwargs)


def write_settings_table(path: Path, **settings) -> None:
    """A ``prism_settings`` table in the warehouse at ``path``: the demo's settings with
    ``settings`` over them, written directly, as a hand-edited or foreign table would be (the
    SQL's own identifier check is the last line of defence against it)."""
    import duckdb

    from prism_mmm.config import PrismConfig, settings_frame

    frame = settings_frame(PrismConfig())
    for name, value in settings.items():
        frame.loc[frame["setting"] == name, "value_json"] = json.dumps(value)
    with duckdb.connect(str(path)) as con:
        con.register("frame", frame)
        con.execute("create or replace table prism_settings as select * from frame")
