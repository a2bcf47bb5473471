"""The fused media-response Op (nutpie path) against the transform classes (NumPy) and the
plain PyTensor graph they define."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
import pytest

from prism_mmm.models.bayes import BayesMMM
from prism_mmm.models.bayesian import media_op
from prism_mmm.models.bayesian.design import Scales
from prism_mmm.models.bayesian.graph import build_model
from prism_mmm.models.bayesian.priors import resolved_priors, roi_terms
from prism_mmm.transforms import MediaTransform, lag_stack
from tests.unit.test_bayes import apparel_data, truth_data

RNG = np.random.default_rng(42)
SPEND = lag_stack(RNG.gamma(1.0, 1.0, (30, 3)) * (RNG.random((30, 3)) > 0.2), 4)  # zeros too
DECAY = np.array([0.1, 0.5, 0.9])
SAT_PARAMS = {"hill": [np.array([0.3, 0.7, 1.5]), np.array([0.8, 1.5, 3.0])],
              "logistic": [np.array([0.5, 2.0, 8.0])]}
NAMES = {"hill": ["half_sat", "shape"], "logistic": ["lam"]}


@pytest.mark.parametrize("saturation", ["hill", "logistic"])
def test_forward_equals_the_transform_classes(saturation):
    media = MediaTransform("geometric", saturation, max_lag=4)
    params = {"decay": DECAY[None, :], **{k: v[None, :] for k, v in
                                           zip(NAMES[saturation], SAT_PARAMS[saturation])}}
    expected = media.draws(SPEND, **params)[0]
    forward = media_op.KERNELS[saturation][0]
    response, _ = forward(DECAY, *SAT_PARAMS[saturation], SPEND)
    np.testing.assert_allclose(response, expected, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("saturation", ["hill", "logistic"])
def test_gradient_matches_finite_differences(saturation):
    media = MediaTransform("geometric", saturation, max_lag=4)

    def response(decay, *params):
        return media_op.media_response(
            media, {"decay": decay, **dict(zip(NAMES[saturation], params))}, pt.constant(SPEND))

    pytensor.gradient.verify_grad(response, [DECAY, *SAT_PARAMS[saturation]],
                                  rng=np.random.default_rng(1), abs_tol=1e-6, rel_tol=1e-6)


@pytest.mark.parametrize("saturation", ["hill", "logistic"])
def test_numba_backend_equals_plain_graph(saturation):
    """What nutpie compiles (the numba dispatch of both Ops) equals the plain graph's value
    and gradient."""
    decay = pt.dvector("decay")
    params = [pt.dvector(name) for name in NAMES[saturation]]
    weights = pt.dmatrix("weights")
    spend = pt.constant(SPEND)
    media = MediaTransform("geometric", saturation, max_lag=4)
    named = {"decay": decay, **dict(zip(NAMES[saturation], params))}
    outputs = []
    for build in (media_op.media_response, lambda m, p, x: m.tensor(x, **p)):
        value = (build(media, named, spend) * weights).sum()
        outputs += [value, *pytensor.grad(value, [decay, *params])]
    fn = pytensor.function([decay, *params, weights], outputs, mode="NUMBA")
    w = RNG.normal(size=(SPEND.shape[1], SPEND.shape[2]))
    results = fn(DECAY, *SAT_PARAMS[saturation], w)
    half = len(results) // 2
    for fused, plain in zip(results[:half], results[half:], strict=True):
        np.testing.assert_allclose(fused, plain, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(("dataset", "saturation", "roi"), [
    ("apparel", "hill", "knowledge"),  # production: ROI priors on some channels (mixed)
    ("truth", "logistic", None),
])
@pytest.mark.slow
def test_model_logp_and_gradient_equal_plain_model(dataset, saturation, roi):
    """The whole nutpie model (with the Op) and the PyMC/numpyro model (plain graph) have the
    same log density and gradient at random points."""
    data = apparel_data() if dataset == "apparel" else truth_data()
    roi_priors = {data.channels[0]: (0.5, 3.0), data.channels[5]: (1.0, 6.0)} if roi else None
    compiled = []
    for engine in ("nutpie", "pymc"):
        # Without knowledge ranges: HalfNormal coefficients (no media-share prior), so both
        # ROI and coefficient parametrisations are covered.
        model = BayesMMM(model_config={"saturation": saturation, "roi_priors": roi_priors or {},
                                       "media_share": (0.05, 0.6) if roi else None},
                         sampler_config={"engine": engine})
        model.scales_ = Scales.of(data)
        priors = resolved_priors(model._model(), data, model.scales_)
        terms = roi_terms(model._model(), data, model.scales_)
        structure = model._structure(data, priors, terms)
        values = model._data_values(data, structure, priors, terms)
        pm_model, _ = build_model(structure)
        with pm_model:
            pm.set_data(values)
        compiled.append((pm_model.compile_logp(), pm_model.compile_dlogp()))
    point = pm_model.initial_point()
    rng = np.random.default_rng(3)
    for _ in range(5):
        moved = {name: v + rng.normal(0.0, 0.5, v.shape) for name, v in point.items()}
        (logp_op, dlogp_op), (logp_plain, dlogp_plain) = compiled
        np.testing.assert_allclose(logp_op(moved), logp_plain(moved), rtol=1e-10)
        np.testing.assert_allclose(dlogp_op(moved), dlogp_plain(moved), rtol=1e-8, atol=1e-9)
