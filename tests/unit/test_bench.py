"""The benchmark machinery (bench/): tiny draws, our model only; the pymc-marketing part is
checked only when that benchmark-only extra is installed."""

from __future__ import annotations

import os
import sys

import numpy as np
import pandas as pd
import pytest

from bench.core import COLUMNS, Case, load_dataset, plan, run_bench, share_errors
from bench.report import RATIO_COLUMNS, build_report, ratios

TINY = {"chains": 2, "draws": 30, "tune": 30}


def test_plan_puts_ours_first_and_pairs_cold_with_warm_caches():
    cases = plan({"chains": 4, "draws": 10, "tune": 10}, datasets=("apparel",))
    assert [(c.engine, c.sampler, c.mode) for c in cases] == [
        ("ours", "default", "cold"), ("ours", "default", "warm-new-process"),
        ("peer", "pymc", "cold"), ("peer", "nutpie", "cold"), ("peer", "numpyro", "cold")]
    assert cases[0].warm_refit and cases[0].cache_key == cases[1].cache_key
    assert len({c.cache_key for c in cases[2:]}) == 3
    assert all(c.engine == "ours" for c in plan(TINY, only="ours"))
    logistic = {"transforms": {"saturation": "logistic"}}
    truth = plan(TINY, datasets=("truth",), truth_peer_samplers=("numpyro",),
                 ours_overrides=logistic)
    assert [c.sampler for c in truth if c.engine == "peer"] == ["numpyro"]
    assert all(c.extra == {"overrides": logistic} for c in truth if c.engine == "ours")


def test_datasets_match_production_and_truth():
    apparel = load_dataset("apparel")
    assert apparel.frame.shape[0] == 132 and len(apparel.channels) == 8
    assert apparel.controls == ["event_promo_2022_05_30"]
    assert apparel.frame[apparel.controls[0]].sum() == 1
    assert apparel.roi_priors  # knowledge/conjura_apparel/business_context.yml, as production
    truth = load_dataset("truth")
    assert truth.true_share == {"x1": 0.291, "x2": 0.070}
    assert truth.frame["trend"].iloc[[0, -1]].tolist() == [0.0, 1.0]


def test_share_errors():
    err, detail = share_errors({"x1": 0.30, "x2": 0.05}, {"x1": 0.291, "x2": 0.070})
    assert err == pytest.approx((0.9 + 2.0) / 2)
    assert detail == "x1:30.0%(+0.9pp) x2:5.0%(-2.0pp)"


def test_ratios_against_each_and_fastest_peer():
    table = pd.DataFrame([
        {"dataset": "apparel", "engine": e, "sampler": s, "mode": "cold", "wall_s": w,
         "ess_bulk_per_s": 100 / w, "status": "ok"}
        for e, s, w in [("ours", "default", 10.0), ("peer", "pymc", 150.0),
                        ("peer", "numpyro", 50.0)]])
    frame = ratios(table)
    assert list(frame.columns) == RATIO_COLUMNS
    fastest = frame[frame.peer.str.startswith("peer fastest")].iloc[0]
    assert "numpyro" in fastest.peer and fastest.speedup == pytest.approx(5.0)
    assert frame[frame.peer == "peer pymc"].iloc[0].ours_over_peer == pytest.approx(10 / 150)
    meta = {"started": "now", "settings": {"chains": 4, "draws": 1000, "tune": 1000},
            "caches": "fresh", "cpu_count": 2, "load_avg_start": "0", "versions": {}}
    targets = build_report(table.reindex(columns=COLUMNS), meta)["targets"].set_index("target")
    assert targets.filter(like="default sampler", axis=0)["met"].iloc[0] == "yes"
    assert targets.filter(like="fastest sampler", axis=0)["met"].iloc[0] == "yes"


@pytest.mark.slow
def test_quick_run_of_our_model_writes_results(tmp_path):
    """Real subprocess measurements with tiny draws and empty compile caches (the default
    numpyro sampler compiles in seconds): cold + warm in the same process, and the truth data
    with the peer's logistic saturation."""
    report = run_bench(TINY, tmp_path, only="ours", datasets=("truth",), new_process=False,
                       caches="fresh", log=lambda *a, **k: None)
    table = report["table"]
    assert list(table.columns[: len(COLUMNS)]) == COLUMNS
    assert list(table["mode"]) == ["cold", "warm-same-process", "cold-logistic"]
    assert "saturation=logistic" in table["note"].iloc[2]
    assert (table["status"] == "ok").all(), table["note"].tolist()
    assert (table["wall_s"] > 0).all() and (table["peak_rss_mb"] > 0).all()
    cold = table.iloc[0]
    assert np.isfinite(cold.share_abs_err_pp) and "x1:" in cold.share_err_by_channel
    names = sorted(p.name for p in tmp_path.iterdir())
    assert "latest.md" in names
    assert any(n.startswith("bench_") and n.endswith(".csv") for n in names)
    assert any(n.startswith("bench_") and n.endswith(".md") for n in names)
    written = pd.read_csv(next(tmp_path.glob("bench_*.csv")))
    assert set(COLUMNS) <= set(written.columns)
    assert "warm-same-process" in (tmp_path / "latest.md").read_text()


@pytest.mark.slow
def test_peer_case_runs_when_installed(tmp_path):
    import pymc_marketing  # noqa: F401 - the bench extra is part of every install

    from bench.core import run_case

    rows = run_case(Case("peer", "numpyro", "truth", **TINY), tmp_path, None, 900,
                    log=lambda *a, **k: None)
    assert rows[0]["status"] == "ok", rows[0].get("note")
    assert "x2:" in rows[0]["share_err_by_channel"]


def test_portfolio_bench_measures_the_whole_process_tree(tmp_path):
    """The portfolio bench's peak RSS is summed over the command's descendants: a parent that
    waits for two children holding ~150 MB each peaks near 300 MB, not at one child's."""
    from bench.portfolio import _measured

    hold = ("import time; block = bytearray(150 * 2**20); "
            "block[::4096] = b'x' * len(block[::4096]); time.sleep(1.5)")
    parent = (f"import subprocess, sys; children = [subprocess.Popen([sys.executable, '-c', "
              f"{hold!r}]) for _ in range(2)]; [c.wait() for c in children]")
    measured = _measured([sys.executable, "-c", parent], dict(os.environ), tmp_path,
                         tmp_path / "log.txt")
    assert measured["exit"] == 0 and measured["wall_s"] >= 1.5
    assert 280 < measured["peak_rss_mb"] < 600, measured


def test_portfolio_report_splits_thin_pairs_from_the_others():
    """On a dataset with thin (market, channel) pairs, the portfolio report scores them apart
    from the rest, from each pair's estimate against the committed truth."""
    from bench.datasets import load
    from bench.portfolio import _pairs, _report

    truth = load("geo_brand_8m")
    estimates = {key: 2 * value if key in truth.thin else value
                 for key, value in truth.true_roi.items()}
    pairs = pd.DataFrame([{"series_id": key.split("/")[0], "channel": key.split("/")[1],
                           "roi": roi, "roi_low": 0.8 * roi, "roi_high": 1.2 * roi}
                          for key, roi in estimates.items()])
    scored = _pairs(pairs, truth)
    scored["thin"] = [f"{r.series_id}/{r.channel}" in truth.thin for r in scored.itertuples()]
    table = pd.DataFrame([{"run": "ours (local)", "series": 8, "wall_s": 1.0}])
    report = _report(table, scored.assign(run="ours (local)"), TINY, 8, 104, 8, {},
                     "geo_brand_8m")
    assert len(truth.thin) == 12
    assert "`python -m bench portfolio --dataset geo_brand_8m`" in report
    # thin pairs: estimated at twice the truth, which is outside their interval: error 1
    assert "| ours (local) | thin | 12 | 0.000 | 1.000 |" in report
    assert "| ours (local) | other | 52 | 1.000 | 0.000 |" in report


def test_pipeline_bench_reads_dbts_parse_time_from_its_log():
    from bench.pipeline import _parse_seconds

    log = ("\x1b[0m20:28:10.691881 [info ] [MainThread]: Running with dbt=1.11.16\n"
           "\x1b[0m20:28:11.000000 [debug] [MainThread]: Partial parsing enabled: 6 files changed.\n"
           "\x1b[0m20:28:13.329365 [info ] [MainThread]: Found 42 models, 248 data tests\n"
           "\x1b[0m20:28:20.000000 [info ] [MainThread]: Found nothing else to say\n")
    assert _parse_seconds(log) == pytest.approx(2.637484)
    assert _parse_seconds("\x1b[0m23:59:59.500000 Running with dbt=1\n"
                          "\x1b[0m00:00:00.250000 Found 42 models\n") == pytest.approx(0.75)
    assert _parse_seconds("no dbt here") is None
