"""The parts of the Bayesian model (:mod:`prism_mmm.models.bayes` is its estimator): priors,
the PyMC graph compiled once per structure, the NumPy posterior summaries, and the fast
samplers (numpyro NUTS on the compiled density; the fused media Op for nutpie/numba).
Helpers, not models."""
