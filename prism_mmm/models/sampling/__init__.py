"""How the Bayesian model is sampled fast: the fused media Op (nutpie/numba) and numpyro NUTS
compiled once per model structure. Helpers of :mod:`prism_mmm.models.bayes`, not models."""
