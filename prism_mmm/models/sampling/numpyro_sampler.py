"""numpyro NUTS on a PyMC model, compiled once per model structure.

``pm.sample(nuts_sampler="numpyro")`` bakes the model's data into the JAX graph as constants, so
every refit with new data (a loop round, a sensitivity refit, a new process) traces and
compiles the sampler again. Here the PyMC log density (priors, Jacobians, likelihood) is turned
into a JAX function of ``(unconstrained point, *data)`` once per structure and handed to numpyro
with ``jit_model_args=True``: a refit with data of the same shapes reuses the compiled sampler
in the same process, and JAX's on-disk compilation cache (``JAX_COMPILATION_CACHE_DIR``) can
serve it to a new process because the compiled program no longer depends on the data.

Chains run in parallel on separate XLA host devices (``chain_method="parallel"``), which needs
``--xla_force_host_platform_device_count`` set before JAX is first imported
(:func:`ensure_host_devices`); if JAX was imported earlier with fewer devices, chains are
vectorised instead (same numbers, slower).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np

DEVICE_FLAG = "--xla_force_host_platform_device_count"


def ensure_host_devices(n: int) -> None:
    """Ask XLA for ``n`` CPU devices, if JAX is not imported yet (the flag is read once)."""
    if "jax" in sys.modules:
        return
    flags = os.environ.get("XLA_FLAGS", "")
    if DEVICE_FLAG not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} {DEVICE_FLAG}={max(n, os.cpu_count() or 1)}".strip()


@dataclass
class NumpyroSampler:
    """The model's log density as JAX, its unconstrained layout and the back-transforms."""

    model: Any
    data_names: list[str]
    logp_fn: Any  # JAX: (*value parts, *data) -> [logp]
    layout: list[tuple[str, str, tuple[int, ...]]]  # (rv name, value name, shape)
    backward: dict[str, Any]  # rv name -> NumPy-callable back-transform (None: identity)
    initial_point: Any  # () -> {value name: array}: PyMC's start (reads the current data)
    _runners: dict[tuple, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, model, data_names: list[str]) -> NumpyroSampler:
        import pytensor
        import pytensor.tensor as pt
        from pymc.sampling.jax import get_jaxified_graph
        from pytensor.graph.replace import clone_replace

        shared = [model[name] for name in data_names]
        # Static shapes (fixed by the structure) so slices and reshapes fold to constants:
        # JAX cannot trace a slice whose bounds are computed from a symbolic shape.
        data_inputs = [pt.tensor(name, dtype=var.dtype, shape=var.get_value().shape)
                       for name, var in zip(data_names, shared, strict=True)]
        value_vars = [model.rvs_to_values[rv] for rv in model.free_RVs]
        logp = clone_replace(model.logp(), dict(zip(shared, data_inputs, strict=True)))
        logp_fn = get_jaxified_graph(inputs=[*value_vars, *data_inputs], outputs=[logp])
        from pymc.initial_point import make_initial_point_fn

        initial_point = make_initial_point_fn(model=model, return_transformed=True,
                                              jitter_rvs=set())
        point = initial_point(0)
        layout, backward = [], {}
        for rv, value in zip(model.free_RVs, value_vars, strict=True):
            layout.append((rv.name, value.name, tuple(point[value.name].shape)))
            transform = model.rvs_to_transforms.get(rv)
            backward[rv.name] = None
            if transform is not None:
                # Elementwise back-transforms (log, log-odds) applied to all draws at once.
                draws = pt.tensor(dtype="float64", shape=(None,) * (value.ndim + 2))
                backward[rv.name] = pytensor.function(
                    [draws], transform.backward(draws, *rv.owner.inputs),
                    mode="FAST_COMPILE", on_unused_input="ignore")
        return cls(model, list(data_names), logp_fn, layout, backward, initial_point)

    @property
    def n_dim(self) -> int:
        return int(sum(np.prod(shape, dtype=int) for _, _, shape in self.layout))

    def _runner(self, chains: int, draws: int, tune: int, target_accept: float):
        key = (chains, draws, tune, target_accept)
        if key not in self._runners:
            import jax
            import numpyro
            import numpyro.distributions as dist
            from numpyro.infer import MCMC, NUTS

            sizes = [int(np.prod(shape, dtype=int)) for _, _, shape in self.layout]
            shapes = [shape for _, _, shape in self.layout]
            offsets = np.cumsum([0, *sizes])
            logp_fn, n_dim = self.logp_fn, self.n_dim

            def density(*data):
                x = numpyro.sample("x", dist.ImproperUniform(dist.constraints.real_vector, (), (n_dim,)))
                parts = [x[offsets[i]:offsets[i + 1]].reshape(shapes[i]) for i in range(len(shapes))]
                numpyro.factor("logp", logp_fn(*parts, *data)[0])

            method = "parallel" if jax.local_device_count() >= chains else "vectorized"
            self._runners[key] = MCMC(
                NUTS(density, target_accept_prob=target_accept), num_warmup=tune,
                num_samples=draws, num_chains=chains, chain_method=method, progress_bar=False,
                jit_model_args=True)
        return self._runners[key]

    def sample(self, values: dict[str, np.ndarray], *, chains: int, draws: int, tune: int,
               target_accept: float, seed: int):
        """Posterior (constrained free variables, generic model coords) and sample stats."""
        import arviz as az
        import jax

        mcmc = self._runner(chains, draws, tune, target_accept)
        # As PyMC starts NUTS: its initial point (prior support points, which depend on the
        # prior values just set in the data) + uniform(-1, 1) jitter, unconstrained space.
        point = self.initial_point(seed)
        start = np.concatenate([np.ravel(point[value]) for _, value, _ in self.layout])
        init = start + np.random.default_rng(seed).uniform(-1.0, 1.0, (chains, self.n_dim))
        data = [np.asarray(values[name], dtype="float64") for name in self.data_names]
        mcmc.run(jax.random.PRNGKey(seed), *data, init_params={"x": init},
                 extra_fields=("num_steps", "energy", "diverging"))
        flat = np.asarray(mcmc.get_samples(group_by_chain=True)["x"])
        stats = {k: np.asarray(v) for k, v in mcmc.get_extra_fields(group_by_chain=True).items()}
        posterior, offset = {}, 0
        for name, _, shape in self.layout:
            size = int(np.prod(shape, dtype=int))
            value = flat[:, :, offset:offset + size].reshape(chains, draws, *shape)
            offset += size
            posterior[name] = value if self.backward[name] is None else self.backward[name](value)
        dims = {name: list(self.model.named_vars_to_dims.get(name, ())) for name in posterior}
        return az.from_dict(
            posterior=posterior,
            sample_stats={"diverging": stats["diverging"], "energy": stats["energy"],
                          "n_steps": stats["num_steps"]},
            coords={k: np.asarray(v) for k, v in self.model.coords.items()},
            dims=dims,
        )
