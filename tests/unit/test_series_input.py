"""Series in one file: each is validated on its own; a bad series is refused by name, with
its rows or weeks, and the others are kept; with none left the input is refused."""

from __future__ import annotations

import pandas as pd
import pytest

from bench.datasets import load
from prism_mmm.config import PrismConfig
from prism_mmm.ingest import InputError, profile, read_series
from prism_mmm.series import series_dir_name, single_series_id


def _write(frame: pd.DataFrame, path) -> PrismConfig:
    frame.to_csv(path, index=False)
    return PrismConfig.model_validate({"data": {
        "source": "csv", "path": str(path), "date_column": "date", "kpi": "revenue",
        "channels": ["search", "social", "tv"], "series_columns": ["geo"]}})


@pytest.fixture
def markets() -> pd.DataFrame:
    return load("portfolio_3geo").frame


def test_clean_series_are_typed_and_keyed(markets, tmp_path):
    found = read_series(tmp_path / "m.csv", _write(markets, tmp_path / "m.csv"))
    assert found.series["series_id"].tolist() == ["m01", "m02", "m03"]
    assert set(found.series["status"]) == {"ok"}
    assert list(found.weeks.columns[:3]) == ["series_id", "geo", "date"]
    assert found.weeks.groupby("series_id").size().tolist() == [120, 120, 120]
    assert found.refused.empty


def test_each_bad_series_is_refused_by_name_and_the_rest_kept(markets, tmp_path):
    frame = markets.copy()
    m02 = frame.index[frame["geo"] == "m02"]
    frame.loc[m02, "social"] = 0.0  # a channel missing in one market
    repeated = frame[frame["geo"] == "m03"].iloc[[5]]  # a duplicated week in another
    blank = frame[frame["geo"] == "m01"].iloc[[0]].assign(geo="")  # a row with no key
    frame = pd.concat([frame, repeated, blank], ignore_index=True)
    found = read_series(tmp_path / "m.csv", _write(frame, tmp_path / "m.csv"))
    status = found.series.set_index("series_id")
    assert status.loc["m01", "status"] == "ok"
    assert status.loc["m02", "status"] == "refused"
    assert "series m02: spend column 'social' is zero in every week" in status.loc["m02", "message"]
    assert status.loc["m03", "status"] == "refused"
    assert "series m03: column 'date' has duplicate weeks: 2022-02-07" in status.loc["m03", "message"]
    # The file's rows are numbered from 2 (the header is row 1): the blank key is the last row.
    assert status.loc["(no series key)", "message"] == (
        f"series (no series key): no value in series column(s) 'geo' in row {len(frame) + 1}")
    assert found.weeks["series_id"].unique().tolist() == ["m01"]


def test_only_series_keeps_the_chosen_series_and_names_an_unknown_one(markets, tmp_path):
    cfg = _write(pd.concat([markets, markets.head(3).assign(geo="")]), tmp_path / "m.csv")
    chosen = cfg.model_copy(update={"data": cfg.data.model_copy(update={"only_series": ["m02"]})})
    found = read_series(tmp_path / "m.csv", chosen)
    # the keyless rows belong to no chosen series: not refused, just not read
    assert found.series["series_id"].tolist() == ["m02"]
    assert found.weeks["series_id"].unique().tolist() == ["m02"]
    missing = cfg.model_copy(update={"data": cfg.data.model_copy(update={"only_series": ["m9"]})})
    with pytest.raises(InputError, match="data.only_series names series the file does not hold: "
                                         "m9; it holds: m01, m02, m03"):
        read_series(tmp_path / "m.csv", missing)


def test_only_series_needs_series_columns():
    with pytest.raises(ValueError, match="data.only_series .'m02'. needs data.series_columns"):
        PrismConfig.model_validate({"data": {"source": "csv", "path": "x.csv",
                                             "channels": ["search"], "only_series": ["m02"]}})


def test_with_no_series_left_the_input_is_refused(markets, tmp_path):
    short = markets.groupby("geo").head(10)
    with pytest.raises(InputError, match="every series was refused: series m01: column 'date' "
                                         "has 10 weeks"):
        read_series(tmp_path / "m.csv", _write(short, tmp_path / "m.csv"))


def test_profile_finds_the_series_column(markets, tmp_path):
    markets.to_csv(tmp_path / "m.csv", index=False)
    found = profile(tmp_path / "m.csv")
    assert found.series_columns == ["geo"]
    assert found.frequency == "weekly" and found.n_weeks == 360
    assert "3 series by geo; each is fitted on its own" in found.notes


def test_series_ids_make_safe_folders_and_one_series_is_checked():
    assert series_dir_name("m01") == "m01"
    odd = series_dir_name("acme / ../DE")
    assert "/" not in odd and ".." not in odd and odd.startswith("acme_DE-")
    assert series_dir_name("a/b") != series_dir_name("a_b")
    with pytest.raises(ValueError, match="expected the rows of one series, got a, b"):
        single_series_id(pd.DataFrame({"series_id": ["a", "b"]}))
