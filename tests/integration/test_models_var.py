"""dbt reads the list of models from var ``models`` (the registry's, passed by `prism build`):
the result marts union exactly those fits, and agreement needs every one of them."""

from __future__ import annotations

import json

import pytest

from prism_mmm.dbt import run_dbt
from prism_mmm.models import model_names
from tests.project import copy_project


@pytest.mark.slow
def test_result_marts_follow_the_models_var(tmp_path, monkeypatch):
    project = copy_project(tmp_path / "project")
    project.activate(monkeypatch)
    subset = list(model_names()[:-1])  # any other list than the default proves the var is read
    # The marts render with the settings (the series columns they carry): build those first.
    run_dbt(["run"], select="prism_settings", quiet=True)
    run_dbt(["compile"], dbt_vars={"models": subset}, select="channel_roi model_agreement",
            quiet=True)
    nodes = json.loads((project.project_dir / "target" / "manifest.json").read_text())["nodes"]
    # Refs built in a loop over the var are resolved at parse time: the DAG has exactly them,
    # besides the settings and the input's series (whose key columns every mart carries).
    for mart in ("channel_roi", "mmm_runs", "model_fit_metrics"):
        assert sorted(nodes[f"model.prism.{mart}"]["depends_on"]["nodes"]) == sorted([
            *(f"model.prism.fit_{name}" for name in subset), "model.prism.prism_settings",
            "model.prism.stg_input__series"]), mart
    assert sorted(nodes["model.prism.bayes_parameter_summary"]["depends_on"]["nodes"]) == [
        "model.prism.fit_bayes", "model.prism.prism_settings", "model.prism.stg_input__series"]
    agreement = nodes["model.prism.model_agreement"]["compiled_code"]
    assert f"n_models = {len(subset)} and" in agreement
