"""Each role on fixture tables (docs/TABLES.md columns)."""

from __future__ import annotations

import pytest

from agents import analyst, critic, explorer, scoring, tuner
from agents.numbers import extract_numbers
from agents.proofreader import build_trace_set, proofread
from prism_mmm.config import load_config
from tests.agents.fixture_warehouse import BASE_ROI, as_data_tables, as_round_tables, round_frames


def _tables(**knobs):
    return as_round_tables(round_frames(**knobs))


def _review(tables):
    return {c.check_name: c for c in critic.review(tables, as_data_tables(),
                                                   analyst.analyse(tables))}


def _resolve(overrides):
    return load_config("/nonexistent/prism.yml", overrides)


# --- explorer ------------------------------------------------------------------------------

def test_explorer_reports_readiness_anomalies_sparsity_and_weak_correlation():
    findings = explorer.explore(as_data_tables())
    text = " | ".join(f["what"] for f in findings)
    assert all(f["agent"] == "explorer" and f["action"] == "finding" for f in findings)
    assert "data readiness 4/5" in text
    assert "2022-05-30 kpi z 4.1 (known issue promo_2022_05)" in text
    assert "display 59.8% zero-spend weeks" in text
    assert "near-zero correlation with the KPI: display" in text
    assert "no strong collinearity" in text


# --- analyst -------------------------------------------------------------------------------

def test_analyst_leads_with_agreement_and_separates_confirmed_from_uncertain():
    analysis = analyst.analyse(_tables())
    first_line = analysis.text.splitlines()[0]
    assert first_line.startswith("Cross-model agreement: 1 of 3 channels confirmed")
    assert analysis.confirmed == ["search"] and analysis.recommended == ["search"]
    assert set(analysis.uncertain) == {"social", "display"}
    assert analyst.word_count(analysis.text) < analyst.MAX_WORDS
    assert "not causal proof" in analysis.text
    assert analysis.text.index("Confirmed") < analysis.text.index("Uncertain")


def test_analyst_numbers_trace_to_tables():
    tables = _tables()
    trace = build_trace_set(tables, as_data_tables())
    assert proofread(analyst.analyse(tables).text, trace).ok


# --- critic --------------------------------------------------------------------------------

def test_critic_approves_healthy_round():
    checks = critic.review(_tables(), as_data_tables(), analyst.analyse(_tables()))
    assert critic.verdict(checks) == critic.APPROVED
    assert {c.check_name for c in checks} >= {
        "cross_model_agreement", "prior_sensitivity", "overfitting", "sign_correctness",
        "contribution_plausibility", "collinearity", "sample_size", "convergence_gates",
        "model_failures", "roi_plausibility", "holdout_length"}
    assert _review(_tables())["prior_sensitivity"].status == "warn"  # bayes social 6.0 vs 2.0


def test_critic_catches_overfitting():
    check = _review(_tables(r2_train=0.995, smape=(0.02, 0.15)))["overfitting"]
    assert check.status == "fail"
    assert "train R² 0.995 on 104 weeks" in check.reason
    assert check.value == pytest.approx(7.5)


def test_critic_makes_a_failed_model_visible():
    tables = _tables(failed=("bayes",))
    checks = _review(tables)
    assert checks["model_failures"].status == "fail"
    assert "bayes" in checks["model_failures"].reason
    assert critic.verdict(list(checks.values())) == critic.REVISE
    assert "sampler crashed after 600 s" in analyst.analyse(tables).text


def test_critic_catches_implausible_media_share():
    check = _review(_tables(share_scale=5.0))["contribution_plausibility"]
    assert check.status == "fail" and "media share of KPI implausible" in check.reason
    low = _review(_tables(share_scale=0.1))["contribution_plausibility"]
    assert low.status == "fail"


def test_critic_catches_failed_gate_and_short_holdout():
    checks = _review(_tables(gate_status={"g4": "fail", "g2": "warn"}, holdout_weeks=4))
    assert checks["convergence_gates"].status == "fail"
    assert "g4 divergences" in checks["convergence_gates"].reason
    assert checks["holdout_length"].status == "fail"


def test_critic_fails_a_recommended_channel_without_agreement():
    tables = _tables()
    forged = analyst.Analysis("text", ["search"], ["display"], ["search", "display"])
    check = {c.check_name: c for c in critic.review(tables, as_data_tables(), forged)}
    assert check["cross_model_agreement"].status == "fail"
    assert "display" in check["cross_model_agreement"].reason


def test_critic_flags_negative_roi_and_ignores_numerical_zero():
    roi = {m: dict(v) for m, v in BASE_ROI.items()}
    roi["ridge"]["display"] = -1e-13
    assert _review(_tables(roi=roi))["sign_correctness"].status != "fail"
    roi["ridge"]["display"] = -0.4
    assert _review(_tables(roi=roi))["sign_correctness"].status == "fail"


# --- scoring -------------------------------------------------------------------------------

BASE_PARTS = {"mean_smape": 0.15, "smape_split": "cv", "confirmed_share": 0.5, "failed_gates": 1,
              "warned_gates": 1, "failed_models": 1}


@pytest.mark.parametrize(("part", "better", "worse"), [
    ("mean_smape", 0.10, 0.20), ("confirmed_share", 0.75, 0.25),
    ("failed_gates", 0, 2), ("warned_gates", 0, 3), ("failed_models", 0, 2),
])
def test_score_is_monotonic_in_each_part(part, better, worse):
    def score(value):
        return scoring.ScoreParts(**{**BASE_PARTS, part: value}).score

    assert score(better) > score(BASE_PARTS[part]) > score(worse)


def test_score_reads_tables_and_improvement_needs_a_real_gain():
    parts = scoring.score_parts(_tables(gate_status={"g2": "warn"}))
    assert parts.mean_smape == pytest.approx(0.12)
    assert parts.confirmed_share == pytest.approx(1 / 3)
    assert (parts.failed_gates, parts.warned_gates, parts.failed_models) == (0, 1, 0)
    assert scoring.score_parts(_tables(failed=("nls",))).failed_models == 1
    assert scoring.improves(0.5, None) and not scoring.improves(0.5, 0.5)


# --- tuner ---------------------------------------------------------------------------------

STRUCTURAL = {"bayes.trend=\"piecewise\"", "transforms.saturation=\"logistic\""}


def test_tuner_tries_the_models_form_first_each_move_with_its_diagnostic():
    # Healthy gates: the trend and the saturation family are the structural moves left.
    seen = []
    while (change := tuner.propose({}, _resolve, _tables(), excluded=seen)) is not None and (
            len(seen) < 2):
        seen.append(change.identity)
    assert set(seen) == STRUCTURAL
    # g6 warns: the Student-t likelihood comes first, naming the Pareto k it answers.
    change = tuner.propose({}, _resolve, _tables(gate_status={"g6": "warn"}))
    assert (change.path, change.value) == ("bayes.likelihood", "student_t")
    assert "Pareto k up to 0.42" in change.hypothesis
    # A posterior decay of 0.8 keeps 17% of the effect after 8 weeks: the window grows to
    # the 14 weeks that keep all but 5% (0.8^14 = 0.044).
    frames = round_frames()
    frames["bayes_parameter_summary"].loc[0, "mean"] = 0.8
    change = tuner.propose({}, _resolve, as_round_tables(frames))
    assert (change.path, change.value, change.previous) == ("transforms.max_lag", 14, 8)
    assert "search's posterior decay 0.80 leaves 17% of its effect" in change.hypothesis
    # A Bayesian media share above 80% narrows the media-share prior's upper end by a third.
    bayes_heavy = round_frames()
    roi = bayes_heavy["channel_roi"]
    roi.loc[roi["model"] == "bayes", "share"] = 0.3
    change = tuner.propose({}, _resolve, as_round_tables(bayes_heavy))
    assert change.path == "bayes.media_share" and change.value == [0.05, 0.5333]
    assert "contribution_plausibility" in change.addresses


def test_tuner_proposes_one_change_for_the_most_disputed_channel():
    change = tuner.propose({}, _resolve, _tables(), excluded=STRUCTURAL)
    # display has the highest ROI CV; the Bayesian posterior decay (0.31) is tried first.
    assert change.path == "transforms.channels.display.decay" and change.value == 0.31
    assert change.hypothesis and change.as_overrides() == {
        "transforms": {"channels": {"display": {"decay": 0.31}}}}
    assert tuner.identity_from_description(change.describe()) == change.identity


def test_tuner_never_repeats_a_reverted_change():
    tables, excluded, seen = _tables(), set(), []
    while (change := tuner.propose({}, _resolve, tables, excluded=excluded)) is not None:
        assert change.identity not in excluded
        seen.append(change.identity)
        excluded.add(change.identity)
    assert len(seen) == len(set(seen)) >= 6


def test_tuner_addresses_gates_first_and_keeps_holdout_at_least_13():
    change = tuner.propose({"holdout_weeks": 8}, _resolve, _tables(gate_status={"g4": "warn"}))
    assert (change.path, change.value) == ("holdout_weeks", 13)
    lowered = {"bayes": {"sampling": {"target_accept": 0.9}}}
    change = tuner.propose(lowered, _resolve, _tables(gate_status={"g4": "warn"}))
    assert change.path == "bayes.sampling.target_accept" and change.value == min(
        s for s in tuner.TARGET_ACCEPT_STEPS if s > 0.9)
    at_top = {"bayes": {"sampling": {"target_accept": max(tuner.TARGET_ACCEPT_STEPS)}}}
    change = tuner.propose(at_top, _resolve, _tables(gate_status={"g4": "warn"}))
    assert change.path == "bayes.sampling.tune"  # no higher target_accept left: more tuning
    seen = set()
    while (change := tuner.propose({}, _resolve, _tables(), excluded=seen)) is not None:
        seen.add(change.identity)
        assert change.path != "holdout_weeks" or change.value >= 13


def test_tuner_revision_only_addresses_failed_checks():
    tables = _tables(share_scale=5.0)  # ridge media share far above 80%
    checks = critic.review(tables, as_data_tables(), analyst.analyse(tables))
    failed = {c.check_name for c in checks if c.status == "fail"}
    proposed = []
    while (change := tuner.propose({}, _resolve, tables, excluded=proposed,
                                   failed_checks=checks)) is not None:
        assert change.addresses & failed
        proposed.append(change.identity)
    # every model's share is 5x: the Bayesian prior, the trend, then Ridge's penalty
    assert [i.split("=")[0] for i in proposed[:3]] == [
        "bayes.media_share", "bayes.trend", "ridge.alphas"]
    healthy = critic.review(_tables(), as_data_tables(), analyst.analyse(_tables()))
    assert tuner.propose({}, _resolve, _tables(), failed_checks=healthy) is None


def _lift_rows(rows):
    import pandas as pd

    return pd.DataFrame([{"run_id": "r", "round": 1, "model": model, "experiment_id": exp,
                          "channel": channel, "calibrated": calibrated, "measured_lift": 100.0,
                          "measured_lift_se": 10.0, "implied_lift": 100.0 + 10 * z,
                          "z_score": z, "status": status, "message": ""}
                         for model, exp, channel, calibrated, z, status in rows])


def test_tuner_calibrates_with_a_lift_test_the_models_miss():
    frames = round_frames()
    frames["experiment_lifts"] = _lift_rows([
        ("bayes", "geo_search", "search", False, 5.0, "fail"),
        ("ridge", "geo_search", "search", False, 1.0, "pass"),
        ("bayes", "geo_social", "social", False, 1.5, "pass"),   # agrees: nothing to do
        ("bayes", "geo_display", "display", True, 4.0, "fail"),  # already calibrating
    ])
    tables = as_round_tables(frames)
    checks = critic.review(tables, as_data_tables(), analyst.analyse(tables))
    assert {c.check_name: c.status for c in checks}["experiment_agreement"] == "fail"
    change = tuner.propose({}, _resolve, tables, failed_checks=checks)
    assert (change.path, change.value, change.previous) == (
        "calibration.experiments", ["geo_search"], [])
    assert "bayes implies a lift of 150 for lift test geo_search (search)" in change.hypothesis
    assert "z = 5.0" in change.hypothesis
    # Once listed it is not proposed again; the other tests give no reason to calibrate.
    listed = {"calibration": {"experiments": ["geo_search"]}}
    frames["experiment_lifts"].loc[lambda f: f["experiment_id"] == "geo_search",
                                   "calibrated"] = True
    again = tuner.propose(listed, _resolve, as_round_tables(frames), failed_checks=checks)
    assert again is None or again.path != "calibration.experiments"


# --- proofreader ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def trace():
    return build_trace_set(_tables(), as_data_tables())


def test_proofreader_accepts_rounded_table_numbers(trace):
    text = ("search ROI 3.03 (CV 4.1%); social spend LCU 500.0K, LCU 0.50M or 500,000; "
            "holdout sMAPE 12.0% (0.12) over 13 weeks; media share 20.5%; 2022-05-30 in 2022; "
            "1 of 3 channels; ROI 3; 90% intervals; CV below 50%")
    result = proofread(text, trace)
    assert result.ok, result.summary()
    assert result.checked == len(extract_numbers(text))


def test_proofreader_rejects_invented_numbers(trace):
    text = "search ROI 3.47, sMAPE 9.9%, LCU 7.3M, 2021-01-04, 17 channels, ROI 3.0 in 2019"
    result = proofread(text, trace)
    assert not result.ok
    assert result.untraced == ["3.47", "9.9%", "7.3M", "2021-01-04", "17", "2019"]
    assert "do not trace" in result.summary()


def test_proofreader_ignores_digits_inside_identifiers(trace):
    assert proofread("gate g7 of run demo-42 on channel tv_2019", trace,
                     identifiers=["demo-42"]).ok


def test_proofreader_traces_the_budget_uplift_and_its_interval():
    frames = round_frames()
    trace = build_trace_set(as_round_tables(frames), as_data_tables())
    # the gain over today's split (+19.4%), its 90% interval, and 2 of 3 failed models
    assert proofread("+LCU 350.0K (+19.4%), 90% interval LCU 120.0K to LCU 580.0K", trace).ok
    # A warehouse from before the uplift columns: the gain is still the difference of the two
    # scenarios' expected KPI; its interval is not, so an invented one does not trace.
    frames["budget_scenarios"] = frames["budget_scenarios"].drop(
        columns=["uplift_kpi", "uplift_kpi_low", "uplift_kpi_high"])
    older = build_trace_set(as_round_tables(frames), as_data_tables())
    assert proofread("+LCU 350.0K (+19.4%)", older).ok
    assert proofread("LCU 120.0K to LCU 580.0K", older).untraced == ["120.0K", "580.0K"]


def test_proofreader_counts_failed_models_and_reads_names_as_written(trace):
    failed = build_trace_set(_tables(failed=("bayes", "nls")), as_data_tables())
    assert proofread("2 of 3 models failed to run", failed).ok
    assert proofread("TV 2019 returns 3.03 per unit spent", trace, ["tv_2019"]).ok
    assert not proofread("TV 2019 returns 3.03 per unit spent", trace).ok
