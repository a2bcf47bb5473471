"""Knowledge is scoped to a dataset: the key, its folder, and the check against the data."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from prism_mmm.config import PrismConfig
from prism_mmm.knowledge.check import check_knowledge, dataset_problems, input_columns
from prism_mmm.knowledge.local import knowledge_directory, read_rows_with_origins
from prism_mmm.knowledge.schema import KnowledgeError

REPO = Path(__file__).resolve().parents[2]


def config(tmp_path: Path, **data: object) -> PrismConfig:
    return PrismConfig.model_validate(
        {"data": data, "knowledge": {"directory": str(tmp_path / "knowledge")}}
    )


def write_csv(path: Path) -> Path:
    path.write_text("Week,TV Spend,search,orders,sales\n2024-01-01,1,2,3,4\n2024-01-08,1,2,3,5\n")
    return path


def write(directory: Path, filename: str, key: str, rows: list[dict]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / filename).write_text(yaml.safe_dump({key: rows}))


def test_dataset_key_defaults_and_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("PRISM_PROJECT_DIR", raising=False)
    assert PrismConfig().data.dataset == "conjura_apparel"  # the bundled demo
    assert knowledge_directory(PrismConfig()) == REPO / "knowledge" / "conjura_apparel"
    csv = config(tmp_path, source="csv", path="/data/My Brand-2024.csv", channels=["tv"])
    assert csv.data.dataset == "my_brand_2024"  # the file stem, as prism init names it
    assert knowledge_directory(csv) == tmp_path / "knowledge" / "my_brand_2024"
    named = config(tmp_path, source="csv", path="/data/x.csv", channels=["tv"], dataset="acme")
    assert named.data.dataset == "acme"


@pytest.mark.parametrize("name", ["../other", "Acme", "a/b", "select", ""])
def test_dataset_key_is_a_safe_identifier(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValidationError, match="unsafe dataset name"):
        config(tmp_path, channels=["tv"], dataset=name)


def test_input_columns_are_the_safe_names(tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "acme.csv")
    cfg = config(tmp_path, source="csv", path=str(csv), date_column="week", kpi="sales",
                 channels=["tv_spend", "search"], rename={"Week": "week", "TV Spend": "tv_spend"})
    assert input_columns(cfg) == ["week", "tv_spend", "search", "orders", "sales"]
    assert "first_orders" in input_columns(PrismConfig())  # the bundled seed's header
    missing = config(tmp_path, source="csv", path=str(tmp_path / "gone.csv"), channels=["tv"])
    assert input_columns(missing) is None  # input validation reports a missing file


def test_knowledge_naming_what_the_data_lacks_is_one_clear_error(tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "acme.csv")
    cfg = config(tmp_path, source="csv", path=str(csv), date_column="week", kpi="sales",
                 channels=["tv_spend", "search"], rename={"Week": "week", "TV Spend": "tv_spend"})
    folder = knowledge_directory(cfg)
    write(folder, "business_context.yml", "context", [
        {"key": "brand", "value": "Acme"},
        {"key": "expected_roi", "channel": "tv_spend", "roi_low": 0.5, "roi_high": 4.0},
        {"key": "expected_roi", "channel": "google_search", "roi_low": 0.5, "roi_high": 15.0},
    ])
    write(folder, "known_issues.yml", "issues", [
        {"issue_id": "ok_kpi", "start_date": "2024-01-01", "column_name": "sales",
         "action": "cap"},
        {"issue_id": "ok_week", "start_date": "2024-01-01", "column_name": "*", "action": "flag"},
        {"issue_id": "outage", "start_date": "2024-01-08", "column_name": "meta_facebook",
         "action": "exclude"},
        {"issue_id": "on_outcome", "start_date": "2024-01-08", "column_name": "orders",
         "action": "flag"},
    ])
    write(folder, "field_definitions.yml", "fields", [
        {"column_name": "orders", "meaning": "an outcome"},
        {"column_name": "first_orders", "meaning": "from the demo"},
    ])
    with pytest.raises(KnowledgeError) as info:
        check_knowledge(cfg)
    message = str(info.value)
    assert (
        f"{folder / 'business_context.yml'}: context[2]: expected_roi for google_search: no "
        "such channel in dataset acme (channels: tv_spend, search)" in message
    )
    assert "context[1]" not in message  # tv_spend is a channel
    assert f"{folder / 'known_issues.yml'}: issues[2] (issue_id 'outage'): column " in message
    assert "'meta_facebook' is not a channel, the KPI (sales) or '*'" in message
    assert "issues[3] (issue_id 'on_outcome')" in message  # not modelled: nothing to flag
    assert "ok_kpi" not in message and "ok_week" not in message
    assert (
        f"{folder / 'field_definitions.yml'}: fields[1]: field definition of first_orders: no "
        "such column in the input of dataset acme" in message
    )
    assert "fields[0]" not in message

    # Each dbt model checks its own collection.
    check_knowledge(cfg, [])
    with pytest.raises(KnowledgeError, match="Known Issues") as info:
        check_knowledge(cfg, ["knowledge_known_issues"])
    assert "Business Context" not in str(info.value)


def test_the_same_rule_applies_to_rows_from_anywhere(tmp_path: Path) -> None:
    cfg = config(tmp_path, channels=["tv", "search"], dataset="acme")
    rows = [{"key": "expected_roi", "channel": "google_search", "roi_low": 1.0, "roi_high": 2.0,
             "value": None}]
    (problem,) = dataset_problems(cfg, "knowledge_business_context", rows, ["Notion page p1"])
    assert problem == ("Notion page p1: expected_roi for google_search: no such channel in "
                       "dataset acme (channels: tv, search)")


def test_bundled_knowledge_fits_the_bundled_data(monkeypatch) -> None:
    monkeypatch.delenv("PRISM_PROJECT_DIR", raising=False)
    check_knowledge(PrismConfig())
    rows, origins = read_rows_with_origins(knowledge_directory(PrismConfig()),
                                           "knowledge_known_issues")
    assert [r["issue_id"] for r in rows] == ["promo_2022_05_30"]
    assert origins[0].endswith("knowledge/conjura_apparel/known_issues.yml: issues[0]")


def test_a_new_dataset_without_knowledge_is_neutral(tmp_path: Path) -> None:
    from prism_mmm.knowledge.local import expected_roi_ranges

    cfg = config(tmp_path, channels=["tv"], dataset="fresh")
    check_knowledge(cfg)  # no folder: no knowledge, nothing to refuse
    assert expected_roi_ranges(knowledge_directory(cfg)) == {}
