"""Gates g1–g7 and the gating policy on synthetic InferenceData (no sampling)."""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
import pytest

from prism_mmm.gates import (
    GATE_COLUMNS,
    GateFailure,
    apply_gating,
    calibration,
    compute_gates,
    prior_plausibility,
)

CHAINS, DRAWS, N_OBS = 4, 500, 60


def synthetic_idata(
    *, shift: float = 0.0, divergences: int = 0, energy_walk: bool = False, seed: int = 0
) -> az.InferenceData:
    """A well-behaved normal model; knobs break one gate at a time."""
    rng = np.random.default_rng(seed)
    mu = 5.0 + rng.normal(size=(CHAINS, DRAWS)) * 0.05 + np.arange(CHAINS)[:, None] * shift
    sigma = np.abs(rng.normal(1.0, 0.05, size=(CHAINS, DRAWS)))
    y = rng.normal(5.0, 1.0, size=N_OBS)
    ppc = mu[..., None] + sigma[..., None] * rng.normal(size=(CHAINS, DRAWS, N_OBS))
    loglik = -0.5 * ((y - mu[..., None]) / sigma[..., None]) ** 2 - np.log(sigma[..., None])
    diverging = np.zeros((CHAINS, DRAWS), dtype=bool)
    diverging.flat[:divergences] = True
    steps = rng.normal(size=(CHAINS, DRAWS))
    energy = np.cumsum(steps, axis=1) if energy_walk else steps
    return az.from_dict(
        posterior={"mu": mu, "sigma": sigma},
        sample_stats={"diverging": diverging, "energy": energy},
        posterior_predictive={"y_obs": ppc},
        log_likelihood={"y_obs": loglik},
        observed_data={"y_obs": y},
        prior_predictive={"y_obs": rng.normal(5.0, 1.0, size=(1, 200, N_OBS))},
        dims={"y_obs": ["obs"]},
    )


def status(gates: pd.DataFrame, metric: str) -> str:
    return gates.set_index("metric").loc[metric, "status"]


def test_healthy_fit_passes_every_gate():
    gates = compute_gates(synthetic_idata())
    assert list(gates.columns) == GATE_COLUMNS
    assert set(gates["gate"]) == {f"g{i}" for i in range(1, 8)}
    assert (gates["status"] == "pass").all(), gates
    assert apply_gating(gates, "strict") == ("ok", "all gates pass")


def test_bad_r_hat_fails_g2_and_strict_mode_names_it():
    gates = compute_gates(synthetic_idata(shift=1.0))
    assert status(gates, "max_r_hat") == "fail"
    with pytest.raises(GateFailure, match=r"g2 fail: max_r_hat"):
        apply_gating(gates, "strict")


@pytest.mark.parametrize("n, expected", [(0, "pass"), (3, "warn"), (12, "fail")])
def test_divergence_bands(n, expected):
    gates = compute_gates(synthetic_idata(divergences=n))
    assert gates.set_index("metric").loc["divergences", "value"] == n
    assert status(gates, "divergences") == expected


def test_low_bfmi_fails_g7():
    gates = compute_gates(synthetic_idata(energy_walk=True))
    assert status(gates, "min_bfmi") == "fail"


def test_warn_mode_reports_and_off_ignores():
    gates = compute_gates(synthetic_idata(divergences=12))
    status_, message = apply_gating(gates, "warn")
    assert status_ == "warning" and "g4 fail: divergences = 12" in message
    assert apply_gating(gates, "off")[0] == "ok"
    with pytest.raises(GateFailure) as err:
        apply_gating(gates, "strict")
    assert list(err.value.failed["gate"]) == ["g4"]
    with pytest.raises(ValueError, match="unknown gating mode"):
        apply_gating(gates, "loud")


def test_prior_plausibility_ratio():
    rng = np.random.default_rng(1)
    observed = rng.normal(1.0, 0.3, size=80)
    close = rng.normal(1.0, 0.3, size=(100, 80))
    far = rng.normal(50.0, 30.0, size=(100, 80))
    assert prior_plausibility(close, observed) == 1.0
    assert prior_plausibility(far, observed) == 0.0
    mixed = np.vstack([close[:30], far[:70]])
    gates = compute_gates(synthetic_idata())
    assert prior_plausibility(mixed, observed) == pytest.approx(0.3)
    assert status(gates, "plausibility_ratio") == "pass"


def test_calibration_flags_over_confidence():
    rng = np.random.default_rng(2)
    observed = rng.normal(size=200)
    calibrated = calibration(rng.normal(size=(2000, 200)), observed)
    assert abs(calibrated["coverage_90"] - 0.9) < 0.06
    assert calibrated["pit_ks_pvalue"] > 0.05
    narrow = calibration(0.3 * rng.normal(size=(2000, 200)), observed)
    assert narrow["coverage_90"] < 0.7 and narrow["pit_ks_pvalue"] < 0.01


def test_missing_groups_warn_instead_of_passing():
    idata = synthetic_idata()
    bare = az.InferenceData(posterior=idata.posterior, sample_stats=idata.sample_stats)
    gates = compute_gates(bare)
    for metric in ("plausibility_ratio", "coverage_90", "max_pareto_k"):
        assert status(gates, metric) == "warn"
