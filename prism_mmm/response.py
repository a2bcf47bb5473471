"""Steady-state response surfaces: what each model says a sustained weekly spend returns.

Adstock weights are normalised (sum to one), so a constant weekly spend ``s`` reaches the
steady state ``adstock(s) = s`` and the long-run weekly response of channel ``c`` is
``coef_c * sat(s / scale_c; params_c)``. Every model exports one surface with draws
(posterior draws for Bayes, bootstrap refits for Ridge and NLS); response curves, the
optimiser and the app all evaluate the same saved surface, so nothing is refitted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from prism_mmm.models.base import CURVE_COLUMNS, INTERVAL_MASS
from prism_mmm.transforms import Saturation, get_transform


@dataclass(frozen=True)
class ResponseSurface:
    """Per-draw response parameters.

    coef        (D, C) weekly KPI at full saturation, per draw
    sat_params  name -> (D, C): ``half_sat``/``shape`` for hill, ``lam`` for logistic
    point_coef / point_params: the published point estimate (posterior mean of the
    *response*, for Bayes, is taken over draws instead; see ``mean_response``)
    """

    model: str
    channels: list[str]
    saturation: str
    scale: np.ndarray
    coef: np.ndarray
    sat_params: dict[str, np.ndarray]
    current_weekly_spend: np.ndarray
    point_coef: np.ndarray | None = None
    point_params: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_draws(self) -> int:
        return self.coef.shape[0]

    @property
    def curve_transform(self) -> Saturation:
        """The saturation transform of this surface (its curve and derivatives)."""
        return get_transform(self.saturation, "saturation")()

    def _saturate(self, x: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:
        return self.curve_transform(x, **params)

    def draws(self, weekly_spend: np.ndarray) -> np.ndarray:
        """(D, C) weekly response per draw for one allocation ``weekly_spend`` (C,)."""
        x = np.asarray(weekly_spend, dtype=float)[None, :] / self.scale[None, :]
        return self.coef * self._saturate(x, self.sat_params)

    def point(self, weekly_spend: np.ndarray) -> np.ndarray:
        """(C,) point response: the point fit when there is one, else the mean over draws."""
        if self.point_coef is None:
            return self.draws(weekly_spend).mean(axis=0)
        x = np.asarray(weekly_spend, dtype=float) / self.scale
        return self.point_coef * self._saturate(x, self.point_params)

    def channel_draws(self, channel: str, spend_grid: np.ndarray) -> np.ndarray:
        """(D, G) weekly response of one channel over a grid of weekly spends."""
        c = self.channels.index(channel)
        x = np.asarray(spend_grid, dtype=float)[None, :] / self.scale[c]
        params = {k: v[:, c : c + 1] for k, v in self.sat_params.items()}
        return self.coef[:, c : c + 1] * self._saturate(x, params)

    def channel_point(self, channel: str, spend_grid: np.ndarray) -> np.ndarray:
        if self.point_coef is None:
            return self.channel_draws(channel, spend_grid).mean(axis=0)
        c = self.channels.index(channel)
        x = np.asarray(spend_grid, dtype=float) / self.scale[c]
        params = {k: v[c] for k, v in self.point_params.items()}
        return self.point_coef[c] * self._saturate(x, params)

    def curve(self, channel: str, spend_grid: np.ndarray) -> pd.DataFrame:
        """Response curve with a 90% band and marginal ROI (``CURVE_COLUMNS``)."""
        grid = np.asarray(spend_grid, dtype=float)
        draws = self.channel_draws(channel, grid)
        response = self.channel_point(channel, grid)
        lo_q = (1 - INTERVAL_MASS) / 2
        low, high = np.quantile(draws, [lo_q, 1 - lo_q], axis=0)
        marginal = np.gradient(response, grid) if len(grid) > 1 else np.full(len(grid), np.nan)
        frame = pd.DataFrame(
            {
                "spend": grid,
                "response": response,
                "low": np.fmin(low, response),
                "high": np.fmax(high, response),
                "marginal_roi": marginal,
            }
        )
        return frame[CURVE_COLUMNS]

    # -- persistence: plain JSON so any process (app, CLI, optimiser) can load it ----------
    def save(self, path: Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "model": self.model,
            "channels": self.channels,
            "saturation": self.saturation,
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "sat_params": {k: v.tolist() for k, v in self.sat_params.items()},
            "current_weekly_spend": self.current_weekly_spend.tolist(),
            "point_coef": None if self.point_coef is None else self.point_coef.tolist(),
            "point_params": {k: np.asarray(v).tolist() for k, v in self.point_params.items()},
        }
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload))
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: Path) -> ResponseSurface:
        payload = json.loads(Path(path).read_text())
        return cls(
            model=payload["model"],
            channels=payload["channels"],
            saturation=payload["saturation"],
            scale=np.asarray(payload["scale"]),
            coef=np.asarray(payload["coef"]),
            sat_params={k: np.asarray(v) for k, v in payload["sat_params"].items()},
            current_weekly_spend=np.asarray(payload["current_weekly_spend"]),
            point_coef=None if payload["point_coef"] is None else np.asarray(payload["point_coef"]),
            point_params={k: np.asarray(v) for k, v in payload["point_params"].items()},
        )
