"""Fitting several series: one pure function per series, on the local pool or on Spark
(``local[2]``, a real SparkSession and JVM), giving the same rows; a series' rows do not depend
on the other series it was fitted with; a series that fails fails alone."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from prism_mmm.config import EngineConfig, PrismConfig
from prism_mmm.engine import SeriesFit, fit_series
from prism_mmm.pipeline import ModelFailure, fit_model_table
from prism_mmm.project import QUICK_SETTINGS

# Timing and provenance differ between any two runs; every other column must be identical.
RUN_DEPENDENT = ["fit_seconds", "started_at", "finished_at"]


@pytest.fixture(scope="module")
def portfolio(built_warehouse) -> pd.DataFrame:
    """Three series from the bundled brand's mmm_input: itself, a smaller market with other
    spend levels, and one whose KPI carries extra noise (seeded)."""
    with duckdb.connect(str(built_warehouse.duckdb_path), read_only=True) as con:
        base = con.sql("select * from mmm_input order by week_start_date").df()
    spend = [c for c in base if c.startswith("spend_")]
    small = base.assign(series_id="small_market", kpi=base["kpi"] * 0.4)
    small[spend] = small[spend] * 0.5
    noisy = base.assign(series_id="noisy_market")
    noisy["kpi"] = noisy["kpi"] * np.random.default_rng(3).lognormal(0, 0.05, len(noisy))
    return pd.concat([base.assign(series_id="brand"), small, noisy], ignore_index=True)


def _cfg(**settings) -> PrismConfig:
    # No fit reuse: each engine must really fit.
    return PrismConfig.model_validate({**QUICK_SETTINGS, "fit_cache": False, **settings})


def _fit(model: str, tmp_path, name: str, cfg: PrismConfig | None = None) -> SeriesFit:
    return SeriesFit(model, cfg or _cfg(), "engine-test", 1, str(tmp_path / name))


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=RUN_DEPENDENT).reset_index(drop=True)


@pytest.mark.slow
def test_local_and_spark_give_identical_rows_for_three_series(portfolio, tmp_path):
    fit = _fit("nls", tmp_path, "local")
    local = fit_series(portfolio, fit, EngineConfig(kind="local", workers=2))
    spark = fit_series(portfolio, _fit("nls", tmp_path, "spark"),
                       EngineConfig(kind="spark", spark_master="local[2]"))

    pd.testing.assert_frame_equal(_comparable(local), _comparable(spark))
    runs = local[local["result_table"] == "mmm_runs"].set_index("series_id")
    assert sorted(runs.index) == ["brand", "noisy_market", "small_market"]
    assert set(runs["status"]) <= {"ok", "warning"}, runs["message"].to_dict()
    roi = local[local["result_table"] == "channel_roi"].pivot(
        index="channel", columns="series_id", values="roi")
    assert roi.shape == (8, 3) and roi.notna().all().all()
    # Each series has its own fit: the noisy market's ROI is not the brand's.
    assert not np.allclose(roi["brand"], roi["noisy_market"])
    # Every series saved its own artefacts, under its own folder.
    for series_id in runs.index:
        assert (tmp_path / "local" / "artifacts" / "engine-test" / "round_1" / "nls" / series_id
                / "response_surface.json").exists()


@pytest.mark.slow
def test_a_series_fits_the_same_alone_as_in_a_portfolio(portfolio, tmp_path):
    together = fit_series(portfolio, _fit("ridge", tmp_path, "all"), EngineConfig(workers=2))
    alone = fit_series(portfolio[portfolio["series_id"] == "small_market"],
                       _fit("ridge", tmp_path, "alone"), EngineConfig())
    pd.testing.assert_frame_equal(
        _comparable(together[together["series_id"] == "small_market"]), _comparable(alone))


@pytest.mark.slow
def test_a_failing_series_fails_alone_and_says_so(portfolio, tmp_path):
    broken = portfolio.copy()
    broken.loc[broken["series_id"] == "noisy_market", "kpi"] = np.nan
    result = fit_series(broken, _fit("nls", tmp_path, "broken"), EngineConfig(workers=2))
    runs = result[result["result_table"] == "mmm_runs"].set_index("series_id")
    assert runs.loc["noisy_market", "status"] == "failed"
    assert runs.loc["noisy_market", "message"].strip()
    assert set(runs.drop(index="noisy_market")["status"]) <= {"ok", "warning"}
    roi = result[result["result_table"] == "channel_roi"]
    assert set(roi["series_id"]) == {"brand", "small_market"}

    # Under strict gating the failure stops the fit and names the series.
    strict = _fit("nls", tmp_path, "strict", _cfg(diagnostics_gating="strict"))
    with pytest.raises(ModelFailure, match="nls failed on series noisy_market"):
        fit_series(broken, strict, EngineConfig(workers=2))


def test_under_strict_gating_a_refused_series_stops_the_fit_by_name(portfolio):
    refused = pd.DataFrame({"series_id": ["m04"], "status": ["refused"],
                            "message": ["series m04: column 'date' has 20 weeks"]})
    with pytest.raises(ModelFailure, match="the input refused series: series m04: column "
                                           "'date' has 20 weeks"):
        fit_model_table("nls", portfolio, "engine-test", 1, {"diagnostics_gating": "strict"},
                        input_series=refused)
