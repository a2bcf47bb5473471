"""One typed configuration: ``prism.yml`` (+ overrides from dbt vars / the Tuner).

Everything tunable lives here with a default and a description; the hash of the resolved
configuration is recorded in ``mmm_runs`` so a result can be traced to the settings behind it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from prism_mmm.identifiers import check_identifier

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DataConfig(_Frozen):
    source: Literal["seed", "csv"] = Field("seed", description="bundled dbt seed or a user CSV")
    seed: str = Field("conjura_apparel_weekly", description="seed name when source = seed")
    path: str | None = Field(None, description="CSV path when source = csv")
    date_column: str = Field("date", description="week column (safe name; see rename)")
    kpi: str = Field("revenue", description="KPI column (safe name; see rename)")
    channels: list[str] = Field(default_factory=list, description="spend channels (safe names)")
    controls: list[str] = Field(default_factory=list, description="control variables (safe names)")
    rename: dict[str, str] = Field(
        default_factory=dict, description="raw column header -> safe name, applied in staging"
    )
    label_columns: dict[str, str] = Field(
        default_factory=dict, description="constant id columns kept as labels (e.g. brand)"
    )
    currency: str = Field("LCU", description="currency label for reports (the seed's is unstated)")
    brand: str = Field("Conjura apparel brand", description="display name")
    max_input_bytes: int = Field(
        64 * 2**20, gt=0, description="largest input file accepted, in bytes (checked before "
        "reading, so an oversized file is refused instead of exhausting memory)")
    max_input_rows: int = Field(50_000, gt=0, description="most data rows accepted")
    max_input_columns: int = Field(256, gt=0, description="most columns accepted")

    @field_validator("channels", "controls")
    @classmethod
    def _safe(cls, names: list[str]) -> list[str]:
        for name in names:
            check_identifier(name, "channel/control")
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate names in {names}")
        return names

    @model_validator(mode="after")
    def _csv_has_path(self) -> DataConfig:
        if self.source == "csv" and not self.path:
            raise ValueError("data.source is 'csv' but data.path is not set")
        if not self.channels:
            raise ValueError("data.channels is empty: at least one spend channel is needed")
        return self


class ChannelTransformConfig(_Frozen):
    decay: float | None = Field(None, ge=0.0, lt=1.0, description="geometric adstock decay")
    half_sat: float | None = Field(None, gt=0.0, description="Hill half-saturation (scaled spend)")
    shape: float | None = Field(None, gt=0.0, description="Hill shape")


class TransformConfig(_Frozen):
    adstock: Literal["geometric", "weibull"] = "geometric"
    saturation: Literal["hill", "logistic"] = "hill"
    max_lag: int = Field(8, ge=1, le=26, description="adstock window in weeks")
    decay: float = Field(0.5, ge=0.0, lt=1.0, description="default adstock decay (ridge)")
    half_sat: float = Field(0.5, gt=0.0, description="default Hill half-saturation (ridge)")
    shape: float = Field(1.0, gt=0.0, description="default Hill shape (ridge)")
    channels: dict[str, ChannelTransformConfig] = Field(default_factory=dict)

    def for_channel(self, channel: str) -> dict[str, float]:
        override = self.channels.get(channel, ChannelTransformConfig())
        return {
            "decay": self.decay if override.decay is None else override.decay,
            "half_sat": self.half_sat if override.half_sat is None else override.half_sat,
            "shape": self.shape if override.shape is None else override.shape,
        }


class RidgeConfig(_Frozen):
    n_boot: int = Field(200, ge=0, description="block-bootstrap refits for ROI intervals")
    block_weeks: int = Field(8, ge=1, description="bootstrap block length")
    alphas: list[float] = Field(
        default_factory=lambda: [
            0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0
        ],
        description="ridge penalties searched by time-series CV (standardised columns)",
    )
    cv_splits: int = Field(5, ge=2, description="time-series CV folds for alpha")
    nonneg_baseline: bool = Field(
        True,
        description="constrain the baseline (intercept + trend + seasonality) to be >= 0 in "
        "every week, so media cannot explain more than the KPI via a negative baseline",
    )


class NlsConfig(_Frozen):
    n_boot: int = Field(100, ge=0, description="bootstrap refits for intervals")
    block_weeks: int = Field(8, ge=1)
    n_starts: int = Field(4, ge=1, description="random restarts of the optimiser")
    nonneg_baseline: bool = Field(
        True,
        description="constrain the baseline (intercept + trend + seasonality) to be >= 0 in "
        "every week, so media cannot explain more than the KPI via a negative baseline",
    )


class PriorConfig(_Frozen):
    distribution: str
    params: dict[str, float]


DEFAULT_TARGET_ACCEPT = {"numpyro": 0.9, "nutpie": 0.99, "pymc": 0.99}


class BayesConfig(_Frozen):
    chains: int = Field(4, ge=1)
    draws: int = Field(1000, ge=10)
    tune: int = Field(1000, ge=10)
    target_accept: float = Field(
        0.9,
        gt=0.5,
        lt=1.0,
        description="default per sampler (DEFAULT_TARGET_ACCEPT), measured on the bundled and "
        "known-truth data (4 x 1000/1000): numpyro 0.8-0.9 gave 0 divergences; nutpie's "
        "low-rank adaptation needed 0.99 (prism_mmm/models/bayes.py)",
    )
    sampler: Literal["numpyro", "nutpie", "pymc"] = Field(
        "numpyro",
        description="NUTS implementation. numpyro (JAX, compiled once per model structure, data "
        "swapped in) measured fastest cold, warm and in new processes; nutpie (numba) "
        "compiles for 10-30 s per process; pymc is the reference",
    )
    prior_predictive_draws: int = Field(500, ge=50)
    priors: dict[str, PriorConfig] = Field(
        default_factory=dict, description="overrides of the model's default priors by name"
    )
    use_knowledge_roi_priors: bool = Field(
        True, description="turn Business Context expected ROI ranges into channel priors"
    )

    @model_validator(mode="before")
    @classmethod
    def _sampler_target_accept(cls, values: Any) -> Any:
        """A target_accept left unset takes the chosen sampler's measured default."""
        if isinstance(values, dict) and "target_accept" not in values:
            sampler = values.get("sampler", cls.model_fields["sampler"].default)
            if sampler in DEFAULT_TARGET_ACCEPT:
                values = {**values, "target_accept": DEFAULT_TARGET_ACCEPT[sampler]}
        return values


class OptimizerConfig(_Frozen):
    horizon_weeks: int = Field(13, ge=1)
    max_change_pct: float = Field(50.0, ge=0.0, description="default ±% bound around current")
    unconfirmed_max_change_pct: float = Field(
        15.0, ge=0.0, description="±% bound for channels the models do not agree on"
    )
    budget_changes_pct: list[float] = Field(default_factory=lambda: [-20.0, 20.0])
    model: Literal["bayes", "ridge", "nls"] = "bayes"


class AgentsConfig(_Frozen):
    rounds: int = Field(3, ge=1)
    llm_model: str = Field("claude-sonnet-4-5", description="Anthropic model for optional prose")
    llm_timeout_seconds: float = Field(30.0, gt=0)


class NotionConfig(_Frozen):
    field_definitions_id: str | None = Field(
        None, description="Field Definitions database id or URL (env PRISM_NOTION_* overrides)"
    )
    business_context_id: str | None = Field(None, description="Business Context database id/URL")
    known_issues_id: str | None = Field(None, description="Known Issues database id or URL")
    base_url: str | None = Field(None, description="API base URL (tests point it at a fake)")
    max_retries: int = Field(
        3, ge=0, le=10, description="retries of a rate-limited (429) request, then a clear error"
    )
    max_retry_wait_seconds: float = Field(
        60.0, gt=0, description="cap on one wait, whatever Retry-After asks for"
    )
    timeout_seconds: float = Field(30.0, gt=0, description="per-request timeout")


class KnowledgeConfig(_Frozen):
    directory: str = Field("knowledge", description="local YAML knowledge (default source)")
    notion: NotionConfig = Field(default_factory=NotionConfig)


class PrismConfig(_Frozen):
    data: DataConfig = Field(default_factory=lambda: DataConfig(channels=DEFAULT_CHANNELS))
    transforms: TransformConfig = Field(default_factory=TransformConfig)
    holdout_weeks: int = Field(13, ge=4, description="last N weeks held out (never 4: see DESIGN)")
    fourier_order: int = Field(2, ge=0, le=10, description="yearly Fourier pairs")
    anomaly_z: float = Field(3.0, gt=0)
    random_seed: int = 20240527
    diagnostics_gating: Literal["strict", "warn", "off"] = "warn"
    ridge: RidgeConfig = Field(default_factory=RidgeConfig)
    nls: NlsConfig = Field(default_factory=NlsConfig)
    bayes: BayesConfig = Field(default_factory=BayesConfig)
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    agents: AgentsConfig = Field(default_factory=AgentsConfig)
    knowledge: KnowledgeConfig = Field(default_factory=KnowledgeConfig)

    @property
    def channels(self) -> list[str]:
        return list(self.data.channels)

    @property
    def controls(self) -> list[str]:
        return list(self.data.controls)

    def config_hash(self) -> str:
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def dbt_vars(self) -> dict[str, Any]:
        """The subset of configuration the SQL models need, as dbt vars."""
        return {
            "input_source": self.data.source,
            "input_csv": str(Path(self.data.path).resolve()) if self.data.path else None,
            "date_column": self.data.date_column,
            "kpi_column": self.data.kpi,
            "channels": self.channels,
            "controls": self.controls,
            "rename": dict(self.data.rename),
            "holdout_weeks": self.holdout_weeks,
            "fourier_order": self.fourier_order,
            "anomaly_z": self.anomaly_z,
        }


DEFAULT_CHANNELS = [
    "google_search",
    "google_shopping",
    "google_pmax",
    "google_display",
    "google_video",
    "meta_facebook",
    "meta_instagram",
    "meta_other",
]


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into a copy of ``base``; nested dicts merge, everything else replaces."""
    merged = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def config_path() -> Path:
    """The one place that decides which prism.yml is in force: ``PRISM_CONFIG`` if set, else
    ``prism.yml`` in the project (``PRISM_PROJECT_DIR``, default the repo). The CLI, the dbt
    Python models, the app and the loop all resolve it here, so they read the same file."""
    if os.environ.get("PRISM_CONFIG"):
        return Path(os.environ["PRISM_CONFIG"])
    return Path(os.environ.get("PRISM_PROJECT_DIR", PROJECT_ROOT)) / "prism.yml"


def load_config(
    path: str | Path | None = None, overrides: dict[str, Any] | str | None = None
) -> PrismConfig:
    """Load ``prism.yml`` (or defaults when absent) and apply overrides (dict or JSON string)."""
    path = Path(path) if path else config_path()
    raw: dict[str, Any] = {}
    if path.exists():
        raw = yaml.safe_load(path.read_text()) or {}
    if isinstance(overrides, str):
        overrides = json.loads(overrides) if overrides.strip() else {}
    return PrismConfig.model_validate(deep_merge(raw, overrides or {}))
