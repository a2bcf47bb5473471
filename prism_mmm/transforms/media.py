"""The media block every model shares: saturation(adstock(spend / scale)) per channel.

:class:`MediaTransform` pairs one adstock and one saturation class and applies them to all
channels at once, in the form each caller needs -- NumPy features (Ridge, NLS, predictions),
features with parameter gradients (the NLS Jacobian), per-draw features (Bayesian posterior
summaries) and the PyTensor graph (the Bayesian model) -- so the formulas live only on the
transform classes.
"""

from __future__ import annotations

import numpy as np

from prism_mmm.transforms.adstock import Adstock, convolve_weights
from prism_mmm.transforms.base import Param, get_transform
from prism_mmm.transforms.saturation import Saturation


class MediaTransform:
    """Adstock over ``max_lag`` weeks, then saturation, for (T, C) scaled spend.

    Parameters are passed by name, one value per channel ((C,) arrays), or per draw and
    channel ((D, C)) for :meth:`draws`.
    """

    def __init__(self, adstock: str = "geometric", saturation: str = "hill", max_lag: int = 8):
        self.adstock: Adstock = get_transform(adstock, "adstock")(max_lag)
        self.saturation: Saturation = get_transform(saturation, "saturation")()
        self.max_lag = max_lag

    @property
    def params(self) -> dict[str, Param]:
        """Every parameter of the block, adstock first."""
        return {**self.adstock.params, **self.saturation.params}

    @property
    def saturation_params(self) -> list[str]:
        return list(self.saturation.params)

    def _split(self, params: dict[str, np.ndarray]) -> tuple[dict, dict]:
        missing = set(self.params) - set(params)
        if missing:
            raise ValueError(f"media transform parameters missing: {sorted(missing)}")
        adstock = {k: np.asarray(params[k], dtype=float) for k in self.adstock.params}
        saturation = {k: np.asarray(params[k], dtype=float) for k in self.saturation.params}
        return adstock, saturation

    def __call__(self, scaled_spend: np.ndarray, **params: np.ndarray) -> np.ndarray:
        """(T, C) media features."""
        adstock, saturation = self._split(params)
        adstocked = convolve_weights(scaled_spend, self.adstock.weights(**adstock))
        return self.saturation(adstocked, **saturation)

    def features(
        self, spend: np.ndarray, scale: np.ndarray, **params: np.ndarray
    ) -> np.ndarray:
        """(T, C) media features of spend in currency, each channel divided by its scale.
        With normalised adstock weights a sustained weekly spend ``s`` maps to
        ``sat(s / scale)``: the steady state a response surface uses."""
        return self(np.asarray(spend, dtype=float) / np.asarray(scale)[None, :], **params)

    def with_gradients(
        self, scaled_spend: np.ndarray, **params: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Features (T, C) and their derivatives (T, C, P) with respect to every parameter
        in :attr:`params` order (chain rule through the adstock for its parameters)."""
        adstock, saturation = self._split(params)
        adstocked = convolve_weights(scaled_spend, self.adstock.weights(**adstock))
        features = self.saturation(adstocked, **saturation)
        slope = self.saturation.dx(adstocked, **saturation)
        gradients = [
            slope * convolve_weights(scaled_spend, dw)
            for dw in self.adstock.dweights(**adstock).values()
        ]
        gradients += list(self.saturation.dparams(adstocked, **saturation).values())
        return features, np.stack(gradients, axis=-1)

    def draws(self, spend_lags: np.ndarray, **params: np.ndarray) -> np.ndarray:
        """(D, T, C) features for a (L, T, C) lag stack and (D, C) parameter draws."""
        adstock, saturation = self._split(params)
        weights = self.adstock.weights(**adstock)  # (L, D, C)
        adstocked = np.einsum("ldc,ltc->dtc", weights, spend_lags, optimize=True)
        return self.saturation(adstocked, **{k: v[:, None, :] for k, v in saturation.items()})

    def tensor(self, spend_lags, **params):
        """(T, C) PyTensor features for a (L, T, C) lag stack (the Bayesian graph)."""
        adstock = {k: params[k] for k in self.adstock.params}
        saturation = {k: params[k] for k in self.saturation.params}
        return self.saturation.tensor(self.adstock.tensor(spend_lags, **adstock), **saturation)
