"""The model registry is the only list of models: every consumer derives from it, every
registered model has what the pipeline and the displays need, and no other list exists."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from prism_mmm.commands import optimize
from prism_mmm.config import OptimizerConfig
from prism_mmm.dbt import build_vars
from prism_mmm.identifiers import check_identifier
from prism_mmm.models import (
    REGISTRY,
    UNREGISTERED_COLOUR,
    estimator_class,
    in_model_order,
    model_colour,
    model_label,
    model_names,
    model_spec,
)

REPO = Path(__file__).resolve().parents[2]
HEX_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")


def test_names_are_safe_unique_and_in_registry_order():
    names = model_names()
    assert names == tuple(spec.name for spec in REGISTRY.values())
    assert len(set(names)) == len(names) >= 1
    for name in names:
        check_identifier(name, "model")  # rendered into SQL (ref('fit_' ~ name))


@pytest.mark.parametrize("name", model_names())
def test_every_model_has_a_label_a_colour_and_its_estimator(name):
    spec = model_spec(name)
    assert spec.label.strip() and model_label(name) == spec.label
    assert HEX_COLOUR.match(spec.colour) and model_colour(name) == spec.colour
    assert estimator_class(name).model_name == name  # the module registers this very name


@pytest.mark.parametrize("name", model_names())
def test_every_model_has_its_dbt_fit_model(name):
    source = (REPO / "python_models" / f"fit_{name}.py").read_text()
    assert f'fit_model_table("{name}"' in source
    documented = yaml.safe_load((REPO / "python_models" / "fits.yml").read_text())["models"]
    entry = next(m for m in documented if m["name"] == f"fit_{name}")
    assert entry["description"]
    # The fit reads the run's identity and the Tuner's change from its meta.
    assert set(entry["config"]["meta"]) >= {"run_id", "round", "config_overrides"}


def test_labels_and_colours_tell_models_apart():
    specs = list(REGISTRY.values())
    assert len({s.label for s in specs}) == len(specs)
    assert len({s.colour.lower() for s in specs}) == len(specs)


def test_dbt_project_default_var_equals_the_registry():
    """A plain `dbt build` (no --vars) must fit and compare exactly the registered models."""
    project = yaml.safe_load((REPO / "dbt_project.yml").read_text())
    assert project["vars"]["models"] == list(model_names())


def test_prism_build_passes_the_registry_as_a_dbt_var_and_nothing_that_changes_per_run():
    # A var that changes every round would make dbt re-parse the whole project every round.
    assert build_vars() == {"models": list(model_names())}


def test_optimizer_model_is_validated_against_the_registry():
    for name in model_names():
        assert OptimizerConfig(model=name).model == name
    with pytest.raises(ValidationError, match="unknown model 'xgboost'"):
        OptimizerConfig(model="xgboost")
    assert OptimizerConfig().model in REGISTRY


def test_optimize_cli_choices_are_the_registry(capsys):
    parser = argparse.ArgumentParser()
    optimize.register(parser.add_subparsers())
    for name in model_names():
        assert parser.parse_args(["optimize", "--budget", "1", "--model", name]).model == name
    with pytest.raises(SystemExit):
        parser.parse_args(["optimize", "--budget", "1", "--model", "xgboost"])
    assert "invalid choice: 'xgboost'" in capsys.readouterr().err


def test_unknown_names():
    with pytest.raises(ValueError, match="unknown model 'xgboost'; known: "):
        model_spec("xgboost")
    # An old run's model that is no longer registered is still shown, after the registered.
    assert model_label("xgboost") == "xgboost"
    assert model_colour("xgboost") == UNREGISTERED_COLOUR
    names = model_names()
    assert in_model_order(["xgboost", *reversed(names), names[0], "arima"]) == [
        *names, "arima", "xgboost"]


def test_importing_the_registry_and_config_loads_no_sampler():
    code = ("import sys, prism_mmm.models, prism_mmm.config, prism_mmm.formatting; "
            "print(sorted(m for m in ('pymc', 'jax', 'numpyro', 'pytensor') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# A bracketed literal holding two or more quoted model names (optionally as fit_<name>): a list
# of models written out by hand instead of read from the registry.
_LITERAL = re.compile(r"[\[({][^\[\](){}]*[\])}]")
_SKIPPED_DIRS = {".venv", ".git", "target", "logs", "tests", "node_modules", "__pycache__"}
_THE_REGISTRY = {Path("prism_mmm/models/__init__.py"), Path("dbt_project.yml")}


_STRING = re.compile(r"""(['"])[^'"\n]*\1""")
_NO_BRACKETS = str.maketrans("()[]{}", "      ")


def _hand_written_model_lists(text: str) -> list[str]:
    names = "|".join(re.escape(n) for n in model_names())
    quoted = re.compile(rf"""['"](?:fit_)?({names})['"]""")
    # Brackets inside strings ("Nonlinear (NLS)") do not open or close a literal.
    text = _STRING.sub(lambda m: m.group(0).translate(_NO_BRACKETS), text)
    inline = [m.group(0) for m in _LITERAL.finditer(text)
              if len(set(quoted.findall(m.group(0)))) >= 2]
    # YAML block lists ("values:" followed by "- ridge" / "- bayes" lines).
    item = rf"""^[ \t]*-[ \t]*['"]?(?:fit_)?(?:{names})['"]?[ \t]*$"""
    block = re.compile(rf"(?:{item}\n?){{2,}}", re.MULTILINE)
    return inline + [m.group(0).strip() for m in block.finditer(text)]


def test_the_finder_finds_hand_written_lists():
    if len(model_names()) < 2:
        pytest.skip("one registered model cannot be listed twice")
    a, b = model_names()[:2]
    assert _hand_written_model_lists(f'MODELS = ("{a}", "{b}")')
    assert _hand_written_model_lists(f"fits=['fit_{a}', 'fit_{b}']")
    assert _hand_written_model_lists(f'COLOURS = {{"{a}": "#4C78A8", "{b}": "#E45756"}}')
    assert _hand_written_model_lists(f'LABELS = {{"{a}": "A (x)", "{b}": "B"}}')
    assert not _hand_written_model_lists(f'if "{a}" in failed: models=("{a}",)')
    assert _hand_written_model_lists(f"values:\n  - {a}\n  - {b}\n")


def _source_files() -> list[Path]:
    found = []
    for root, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if d not in _SKIPPED_DIRS and not d.startswith(".")]
        found += [Path(root, f).relative_to(REPO) for f in files
                  if f.endswith((".py", ".sql", ".yml", ".yaml"))]
    return sorted(set(found) - _THE_REGISTRY)


def test_no_other_file_lists_the_models():
    offenders = []
    for relative in _source_files():
        text = (REPO / relative).read_text()
        offenders += [f"{relative}: {hit}" for hit in _hand_written_model_lists(text)]
    assert not offenders, "read these from prism_mmm.models.REGISTRY instead:\n" + "\n".join(
        offenders)
