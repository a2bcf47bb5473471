"""The report a CMO reads: headline figures, a short summary, one message per slide, names of
models and tables only in the appendix, and "not available" instead of a made-up number.

Each test runs the loop on fixture tables (docs/TABLES.md columns) with a builder that can
change them, so the report, the Proofreader and the runner are exercised together.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from pptx import Presentation

from agents import critic, reporter
from agents.analyst import analyse
from agents.proofreader import build_trace_set, proofread
from agents.runner import LoopResult, LoopRunner
from agents.warehouse import load_data, load_round, read_table
from prism_mmm.config import load_config
from prism_mmm.formatting import (
    fmt_int,
    fmt_interval,
    fmt_money,
    fmt_pct,
    fmt_roi,
    fmt_signed_money,
)
from tests.agents import fixture_warehouse

# Written out here, not taken from the reporter, so the test does not share its blind spots.
APPENDIX_ONLY = ("ridge", "bayes", "Bayesian", "nls", "channel_roi", "mmm_runs",
                 "budget_scenarios", "model_agreement", "model_fit_metrics", "response_curves",
                 "bayes_gates", "critic_checks", "agent_rounds", "agent_decisions",
                 "optimal_same_budget", "sMAPE", "R²")
Edit = Callable[[dict[str, pd.DataFrame]], None]


def _run(tmp_path: Path, monkeypatch, edit: Edit | None = None, rounds: int = 1,
         **knobs) -> LoopResult:
    path = fixture_warehouse.create_warehouse(tmp_path / "w.duckdb")
    monkeypatch.setenv("PRISM_DUCKDB_PATH", str(path))
    earlier = fixture_warehouse.round_frames("earlier", 1, failed=("nls",))
    with duckdb.connect(str(path)) as con:  # an earlier run: every result table exists
        fixture_warehouse.write_frames(con, earlier, "earlier", 1)

    def build(cfg, run_id, round_, overrides):
        frames = fixture_warehouse.round_frames(run_id, round_, overrides=overrides, **knobs)
        if edit:
            edit(frames)
        with duckdb.connect(str(path)) as con:
            fixture_warehouse.write_frames(con, frames, run_id, round_)

    return LoopRunner(run_id="r1", rounds=rounds, duckdb_path=path,
                      reports_dir=tmp_path / "reports", config_path=tmp_path / "none.yml",
                      builder=build, echo=lambda _: None, llm_max_retries=0).run()


@pytest.fixture
def no_llm(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)


@pytest.fixture(scope="module")
def healthy(tmp_path_factory) -> LoopResult:
    """One loop and report on the healthy fixture warehouse, without a key: read, never
    changed, by the tests of what such a report says."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
        return _run(tmp_path_factory.mktemp("healthy"), monkeypatch)


def _slides(result: LoopResult) -> list[dict]:
    """Per slide: title, all text (table cells included), pictures and tables."""
    out = []
    for slide in Presentation(str(result.pptx_path)).slides:
        shapes = list(slide.shapes)
        text = [s.text_frame.text for s in shapes if s.has_text_frame]
        text += [c.text for s in shapes if s.has_table for row in s.table.rows for c in row.cells]
        out.append({"title": slide.shapes.title.text, "text": "\n".join(text),
                    "pictures": sum(s.shape_type == 13 for s in shapes),
                    "tables": sum(s.has_table for s in shapes)})
    return out


def _before_appendix(result: LoopResult) -> tuple[str, str]:
    """report.md and the deck's text up to their appendix."""
    markdown = result.report_path.read_text().split(f"\n## {reporter.APPENDIX}\n")[0]
    slides = _slides(result)
    deck = "\n".join(s["text"] for s in slides
                     if not s["title"].startswith(reporter.APPENDIX))
    return markdown, deck


def _summary(markdown: str) -> str:
    return markdown.split("## Executive summary\n\n")[1].split("\n\n## ")[0].strip()


def _tables(result: LoopResult):
    with duckdb.connect(str(result.report_path.parents[2] / "w.duckdb"), read_only=True) as con:
        return (load_round(con, "r1", result.best_round), load_data(con),
                read_table(con, "agent_rounds", "r1"),
                read_table(con, "critic_checks", "r1", result.best_round))


def _appendix_terms(text: str) -> list[str]:
    return [t for t in APPENDIX_ONLY
            if re.search(rf"(?<![\w]){re.escape(t)}(?![\w])", text, re.IGNORECASE)]


# --- the healthy report ----------------------------------------------------------------------

@pytest.mark.slow
def test_title_slide_carries_four_headline_figures_that_trace(tmp_path, monkeypatch, no_llm):
    result = _run(tmp_path, monkeypatch, rounds=2)
    assert result.proof_ok, result.proof_summary
    tables, data, rounds, checks = _tables(result)
    title = _slides(result)[0]

    metrics = tables.model_fit_metrics
    holdout = metrics[metrics["split"] == "holdout"]
    search = tables.model_agreement.set_index("channel").loc["search"]
    search_roi = tables.channel_roi[tables.channel_roi["channel"] == "search"]
    same = tables.budget_scenarios[tables.budget_scenarios["scenario"] == "optimal_same_budget"]
    expected = [
        fmt_pct(holdout["smape"].min()),  # forecast error of the best model
        f"last {fmt_int(holdout['n_weeks'].iloc[0])} weeks",
        fmt_roi(search["roi_mean"]),  # the confirmed channel's return ...
        fmt_interval(search_roi["roi_low"].min(), search_roi["roi_high"].max()),  # ... its range
        fmt_signed_money(same["uplift_kpi"].iloc[0], "LCU"),  # the budget uplift ...
        (f"{fmt_money(same['uplift_kpi_low'].iloc[0], 'LCU')} to "
         f"{fmt_money(same['uplift_kpi_high'].iloc[0], 'LCU')}"),  # ... with its interval
        f"{fmt_int(len(rounds))} rounds", "approved",  # rounds run and the verdict
    ]
    for figure in expected:
        assert figure in title["text"], (figure, title["text"])
    labels = [h.label.upper() for h in reporter.headlines(_inputs(result))]
    assert len(labels) == 4 and all(label in title["text"] for label in labels)

    trace = build_trace_set(tables, data, {"agent_rounds": rounds, "critic_checks": checks})
    proof = proofread(title["text"], trace, ["r1", "search", "social", "display"])
    assert proof.ok and proof.checked >= 8, proof.summary()


def test_summary_is_short_plain_and_the_same_in_both_files(healthy):
    result = healthy
    markdown = result.report_path.read_text()
    summary = _summary(markdown)
    assert 0 < len(summary.split()) <= reporter.SUMMARY_WORDS
    slides = _slides(result)
    assert slides[1]["title"] == "Executive summary"
    assert summary in slides[1]["text"]
    assert "not proof that spend caused sales" in summary
    assert reporter.summary_problem(summary) is None


def test_summary_stays_within_the_limit_with_long_names():
    long = {"search": "google_performance_max_shopping",
            "social": "meta_reels_video_prospecting_lookalike_nordics_uk_ie_de_at",
            "display": "open_web_display_retargeting_lookalike_nordics_uk_ie_de_at"}
    frames = fixture_warehouse.round_frames()
    for frame in frames.values():
        if "channel" in frame:
            frame["channel"] = frame["channel"].map(long)
    budget = frames["budget_scenarios"]
    budget.loc[budget["scenario"] == "optimal_same_budget", "uplift_kpi_low"] = -1e5
    tables = fixture_warehouse.as_round_tables(frames)
    inputs = reporter.ReportInputs(
        run_id="r1", cfg=load_config("/nonexistent/prism.yml"), tables=tables,
        data=fixture_warehouse.as_data_tables(), analysis=analyse(tables),
        rounds=pd.DataFrame({"round": [1, 2, 3]}), decisions=pd.DataFrame(),
        checks=pd.DataFrame({"check_name": ["overfitting"] * 3, "status": "fail"}),
        verdict="REVISE")
    summary = reporter.executive_summary(inputs)
    assert len(summary.split()) <= reporter.SUMMARY_WORDS, summary
    assert summary.startswith("Google Performance Max Shopping returns 3.03 per unit spent")
    assert "The models disagree on 2 other channels" in summary  # names became a count
    assert "the gain is uncertain" in summary and "not proof" in summary


def test_model_and_table_names_only_in_the_appendix(healthy):
    result = healthy
    markdown, deck = _before_appendix(result)
    assert _appendix_terms(markdown) == [] and reporter.appendix_terms_in(markdown) == []
    assert _appendix_terms(deck) == [] and reporter.appendix_terms_in(deck) == []
    # The appendix does carry them: per-model tables, gates, checks, the score path.
    appendix = result.report_path.read_text().split(f"\n## {reporter.APPENDIX}\n")[1]
    for name in ("ridge", "bayes", "nls", "channel_roi", "budget_scenarios", "g7",
                 "contribution_plausibility", "baseline configuration"):
        assert name in appendix, name
    assert any(s["title"].startswith(reporter.APPENDIX) and "bayes" in s["text"]
               for s in _slides(result))


def test_one_message_per_slide(healthy):
    result = healthy
    slides = _slides(result)
    content = slides[2:]
    assert all(s["title"].strip() for s in slides)
    assert all(s["pictures"] + s["tables"] <= 1 for s in content), [
        (s["title"], s["pictures"], s["tables"]) for s in content]
    messages = [s for s in content if not s["title"].startswith(reporter.APPENDIX)]
    assert len(messages) == 5 and all(s["pictures"] + s["tables"] == 1 for s in messages)
    titles = [s["title"] for s in messages]
    # Titles state the message, with the figure that supports it.
    assert titles[0] == "Search returns 3.03 per unit spent; Social and Display are uncertain"
    assert titles[1].startswith("Moving budget towards Search adds LCU 350.0K of revenue")
    assert titles[2].startswith("Media drove ")
    assert titles[3].startswith("Extra spend on Search returns 2.35")  # the only confirmed one
    assert titles[4] == "The automated review approved these results"
    # report.md: the same messages, one section each, then the appendix.
    headings = re.findall(r"^## (.+)$", result.report_path.read_text(), re.MULTILINE)
    assert headings == ["Headline figures", "Executive summary", *titles, reporter.APPENDIX]


# --- figures that are not available --------------------------------------------------------

def test_a_failed_model_is_in_the_summary_and_nothing_is_made_up(tmp_path, monkeypatch, no_llm):
    result = _run(tmp_path, monkeypatch, failed=("bayes",))
    assert result.proof_ok, result.proof_summary
    markdown = result.report_path.read_text()
    summary = _summary(markdown)
    assert "1 of 3 models failed to run" in summary
    assert len(summary.split()) <= reporter.SUMMARY_WORDS
    assert "1 of 3 models failed to run" in _slides(result)[1]["text"]
    # Its budget plan is gone: said plainly on the title slide and in its section.
    title = _slides(result)[0]["text"]
    assert "Not available: the model the budget planner uses failed" in title
    assert "## Budget scenario: not available" in markdown
    # A failed model confirms no channel: no return is presented as confirmed.
    assert "No channel is confirmed" in title
    assert "bayes: sampler crashed after 600 s" in markdown.split("## Appendix")[1]
    before, deck = _before_appendix(result)
    assert _appendix_terms(before) == [] and _appendix_terms(deck) == []


def test_every_figure_missing_is_said_plainly(tmp_path, monkeypatch, no_llm):
    def every_model_failed(frames):
        frames["mmm_runs"]["status"] = "failed"
        frames["mmm_runs"]["message"] = "out of memory"
        for name in ("model_fit_metrics", "channel_roi", "model_agreement", "bayes_gates",
                     "bayes_parameter_summary", "response_curves", "budget_scenarios"):
            frames[name] = frames[name].iloc[0:0]

    result = _run(tmp_path, monkeypatch, every_model_failed)
    assert result.proof_ok, result.proof_summary
    markdown = result.report_path.read_text()
    headline = markdown.split("## Executive summary")[0]
    assert "**Forecast error: —.** Not available: no model produced a forecast" in headline
    assert "**Same budget, reallocated: —.** Not available" in headline
    assert "3 of 3 models failed to run" in _summary(markdown)
    for section in ("## Budget scenario: not available", "## Response curves: not available",
                    "## Contributions: not available"):
        assert section in markdown


def test_no_confirmed_channel_and_an_uncertain_gain(tmp_path, monkeypatch, no_llm):
    def edit(frames):
        frames["model_agreement"]["confirmed"] = False
        budget = frames["budget_scenarios"]
        same = budget["scenario"] == "optimal_same_budget"
        budget.loc[same, "uplift_kpi_low"] = -40_000.0  # the gain's interval includes a loss

    result = _run(tmp_path, monkeypatch, edit)
    assert result.proof_ok, result.proof_summary
    slides = _slides(result)
    assert "No channel is confirmed: the models disagree on all 3 channels" in slides[0]["text"]
    assert "so the gain is uncertain" in slides[0]["text"]
    titles = [s["title"] for s in slides]
    assert "No channel's return is confirmed: the models disagree on all 3" in titles
    assert any(t.endswith("but the gain is uncertain") for t in titles)
    assert "LCU -40.0K to LCU 580.0K" in slides[0]["text"]


def test_an_older_warehouse_without_the_uplift_interval(tmp_path, monkeypatch, no_llm):
    def edit(frames):
        frames["budget_scenarios"] = frames["budget_scenarios"].drop(
            columns=["uplift_kpi", "uplift_kpi_low", "uplift_kpi_high"])

    result = _run(tmp_path, monkeypatch, edit)
    # The gain itself is the difference of the two scenarios' expected KPI (a traced aggregate).
    assert result.proof_ok, result.proof_summary
    title = _slides(result)[0]["text"]
    assert "+LCU 350.0K" in title and "+19.4%" in title
    assert "its 90% interval is not recorded" in title


# --- the summary by an LLM: plain words, traced numbers, or the rules' summary ---------------

PLAIN = ("Search returns 3.03 per unit spent and every model agrees on it. The models "
         "disagree on social, so leave its budget alone for now. Moving the same budget "
         "towards search adds LCU 350.0K of revenue over 13 weeks. These are associations, not "
         "proof that spend caused sales.")


@pytest.mark.parametrize(("answer", "used", "why"), [
    (PLAIN, True, None),
    (PLAIN.replace("every model agrees", "ridge, bayes and nls agree"), False,
     "names that belong in the appendix only: ridge, bayes, nls"),
    (PLAIN + " Details follow." * 40, False, "words (limit 120)"),
    (PLAIN.replace("LCU 350.0K", "LCU 410.0K"), False, "410.0K"),
])
def test_llm_summary_is_held_to_the_same_rules(tmp_path, monkeypatch, fake_api, answer, used,
                                               why):
    fake_api.mode, fake_api.text = "text", answer
    result = _run(tmp_path, monkeypatch)
    summary = _summary(result.report_path.read_text())
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        decisions = con.execute("select action, why from agent_decisions where agent = "
                                "'reporter' and action like 'llm%'").fetchall()
    report_request = next(r for r in fake_api.requests
                          if "executive summary" in r["messages"][0]["content"])
    assert "CMO" in report_request["messages"][0]["content"]
    assert "not causal proof" in report_request["system"]
    if used:
        assert summary == PLAIN and decisions == [("llm_prose", decisions[0][1])]
        assert result.proof_ok, result.proof_summary
    else:
        assert summary != answer
        assert summary.startswith("Search returns 3.03 per unit spent (90% range")
        assert decisions[0][0] == "llm_fallback" and why in decisions[0][1], decisions
        assert result.proof_ok, result.proof_summary


def _inputs(result: LoopResult) -> reporter.ReportInputs:
    """The inputs the runner gave the Reporter (rebuilt from the warehouse)."""
    tables, data, rounds, checks = _tables(result)
    return reporter.ReportInputs(
        run_id="r1", cfg=load_config("/nonexistent/prism.yml"), tables=tables, data=data,
        analysis=analyse(tables), rounds=rounds, decisions=pd.DataFrame(), checks=checks,
        verdict=str(rounds.set_index("round").loc[result.best_round, "verdict"]))


# --- lift tests: a message and an appendix section, only when there are lift tests ----------

LIFT_TEST = "geo_search_2024"


def _lifts(frames: dict[str, pd.DataFrame], calibrated: bool, z: float) -> None:
    """``frames``' experiment_lifts: every model that ran meets LIFT_TEST at ``z``."""
    runs = frames["mmm_runs"]
    frames["experiment_lifts"] = fixture_warehouse.lift_rows(
        runs["run_id"].iloc[0], int(runs["round"].iloc[0]), {LIFT_TEST: (calibrated, z)},
        list(frames["model_fit_metrics"]["model"].unique()))


def _calibrate_when_listed(miss: float) -> Edit:
    """A build that honours calibration.experiments: a listed test calibrates every fit
    (z 0.8, and the fits forecast better, so the round is kept); otherwise it is only checked
    against and the models miss it by ``miss`` standard errors."""
    def edit(frames):
        overrides = json.loads(frames["mmm_runs"]["config_json"].iloc[0])
        calibrated = LIFT_TEST in overrides.get("calibration", {}).get("experiments", [])
        _lifts(frames, calibrated, 0.8 if calibrated else miss)
        if calibrated:
            metrics = frames["model_fit_metrics"]
            metrics.loc[metrics["split"] == "holdout", "smape"] = 0.10

    return edit


def _section(markdown: str, heading: str) -> str:
    return markdown.split(heading, 1)[1].split("\n#", 1)[0]


def test_lift_test_calibrated_by_the_tuner_shows_before_and_after(tmp_path, monkeypatch,
                                                                   no_llm):
    # Round 1 only checks the test and misses it by 2.5 standard errors (a warning); the Tuner
    # calibrates with it in round 2, which is kept and reported.
    result = _run(tmp_path, monkeypatch, _calibrate_when_listed(2.5), rounds=2)
    assert result.best_round == 2
    assert result.proof_ok, result.proof_summary
    markdown = result.report_path.read_text()
    # The message, in plain words, before the appendix.
    message = _section(markdown, "## Every model agrees with the lift test on Search\n")
    assert ("Before the models were calibrated on Geo Search 2024, they missed it by up to 2.5 "
            "standard errors; now by up to 0.8.") in message
    assert "| Geo Search 2024 | Search | LCU 120.0K | yes | yes |" in message
    # The appendix: each model, round 1 (only checked) against round 2 (calibrated).
    appendix = _section(markdown, "### Lift tests against each model, before and after "
                                  "calibration\n")
    for model in ("ridge", "bayes", "nls"):
        assert (f"| {LIFT_TEST} | {model} | LCU 120.0K ± LCU 15.0K | 1 | LCU 157.5K | 2.5 | "
                "LCU 132.0K | 0.8 | pass | yes |") in appendix, appendix
    before, deck = _before_appendix(result)
    assert _appendix_terms(before) == [] and reporter.appendix_terms_in(before) == []
    assert _appendix_terms(deck) == [] and reporter.appendix_terms_in(deck) == []
    slides = _slides(result)
    lift_slides = [s for s in slides if "Lift test" in s["title"] or "lift test" in s["title"]]
    assert [s["tables"] + s["pictures"] for s in lift_slides] == [1, 1], lift_slides
    assert "Geo Search 2024" in lift_slides[0]["text"] and "LCU 157.5K" in lift_slides[1]["text"]


def test_lift_test_calibrated_from_the_first_round_has_no_before(tmp_path, monkeypatch, no_llm):
    # Missed by 5 standard errors, the Critic asks for a revision in round 1 and the Tuner
    # calibrates with the test then: the revision replaces round 1's uncalibrated fit.
    result = _run(tmp_path, monkeypatch, _calibrate_when_listed(5.0))
    assert result.proof_ok, result.proof_summary
    markdown = result.report_path.read_text()
    message = _section(markdown, "## Every model agrees with the lift test on Search\n")
    assert "Before the models were calibrated" not in message
    appendix = _section(markdown, "### Lift tests against each model, before and after "
                                  "calibration\n")
    assert (f"| {LIFT_TEST} | ridge | LCU 120.0K ± LCU 15.0K | — | — | — | LCU 132.0K | 0.8 | "
            "pass | yes |") in appendix
    assert "— before calibration: no earlier round of this run kept a fit without the test" \
        in appendix


def _lift_report(tmp_path: Path, rounds: list[dict[str, tuple[bool, float]]]):
    """The report of the last of ``rounds`` (each: lift test id -> (calibrated, z)), written
    by the Reporter from fixture tables with the Critic's checks; also the trace set and the
    identifiers the runner would give the Proofreader."""
    history = []
    for round_, lifts in enumerate(rounds, start=1):
        frames = fixture_warehouse.round_frames("r1", round_, lifts=lifts)
        history.append(frames["experiment_lifts"])
    tables, data = fixture_warehouse.as_round_tables(frames), fixture_warehouse.as_data_tables()
    analysis = analyse(tables)
    checks = pd.DataFrame([c.row() for c in critic.review(tables, data, analysis)])
    agent_rounds = pd.DataFrame({"round": range(1, len(rounds) + 1), "score": 0.6,
                                 "verdict": "REVISE"})
    history = pd.concat(history, ignore_index=True)
    inputs = reporter.ReportInputs(
        run_id="r1", cfg=load_config("/nonexistent/prism.yml"), tables=tables, data=data,
        analysis=analysis, rounds=agent_rounds, decisions=pd.DataFrame(), checks=checks,
        verdict="REVISE", lift_history=history)
    report = reporter.write_report(inputs, tmp_path, reporter.executive_summary(inputs))
    trace = build_trace_set(tables, data, {"agent_rounds": agent_rounds, "critic_checks": checks,
                                           "experiment_lifts_history": history})
    identifiers = ["r1", *fixture_warehouse.CHANNELS, "ridge", "bayes", "nls",
                   *fixture_warehouse.LIFT_TESTS]
    return report, trace, identifiers


def test_lift_test_report_before_and_after_traces(tmp_path):
    """Round 1 misses the test (z 5, fail) without it; round 2 calibrates on it (z 0.8)."""
    report, trace, identifiers = _lift_report(
        tmp_path, [{LIFT_TEST: (False, 5.0)}, {LIFT_TEST: (True, 0.8)}])
    message = _section(report.markdown, "## Every model agrees with the lift test on Search\n")
    assert "they missed it by up to 5.0 standard errors; now by up to 0.8" in message
    assert "| Geo Search 2024 | Search | LCU 120.0K | yes | yes |" in message
    appendix = _section(report.markdown, "### Lift tests against each model, before and after "
                                         "calibration\n")
    rows = [line for line in appendix.splitlines() if line.startswith(f"| {LIFT_TEST} |")]
    assert rows == [f"| {LIFT_TEST} | {m} | LCU 120.0K ± LCU 15.0K | 1 | LCU 195.0K | 5.0 | "
                    "LCU 132.0K | 0.8 | pass | yes |" for m in ("ridge", "bayes", "nls")]
    assert "| round 2: implied | round 2: z |" in appendix
    proof = proofread(report.markdown + report.slide_text, trace, identifiers)
    assert proof.ok, proof.summary()
    # The before figures come from the earlier round only: without it they do not trace.
    frames = fixture_warehouse.round_frames("r1", 2, lifts={LIFT_TEST: (True, 0.8)})
    round_only = build_trace_set(fixture_warehouse.as_round_tables(frames),
                                 fixture_warehouse.as_data_tables())
    assert "195.0K" in proofread(report.markdown, round_only, identifiers).untraced


def test_lift_tests_the_models_miss_are_said_plainly(tmp_path):
    report, trace, identifiers = _lift_report(
        tmp_path, [{LIFT_TEST: (False, 5.0), "geo_social_2024": (False, 2.5)}])
    message = _section(report.markdown, "## The models disagree with lift test Geo Search 2024\n")
    assert ("Read the return of Search with care: the models do not reproduce its lift "
            "test.") in message
    assert "Before the models were calibrated" not in message
    assert "| Geo Search 2024 | Search | LCU 120.0K | no | no |" in message
    assert "| Geo Social 2024 | Social | LCU 40.0K | roughly | no |" in message
    appendix = _section(report.markdown, "### Lift tests against each model, before and after "
                                         "calibration\n")
    assert "A test not used for calibration in round 1 (calibrated no) was only checked" \
        in appendix
    assert (f"| {LIFT_TEST} | nls | LCU 120.0K ± LCU 15.0K | — | — | — | LCU 195.0K | 5.0 | "
            "fail | no |") in appendix
    before = report.markdown.split(f"\n## {reporter.APPENDIX}\n")[0]
    assert reporter.appendix_terms_in(before) == [] and _appendix_terms(before) == []
    proof = proofread(report.markdown + report.slide_text, trace, identifiers)
    assert proof.ok, proof.summary()


def test_no_lift_tests_no_lift_test_sections(healthy):
    result = healthy
    markdown = result.report_path.read_text()
    assert "lift test" not in markdown.lower()
    assert not any("lift test" in s["text"].lower() for s in _slides(result))
