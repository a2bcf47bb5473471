"""One typed configuration: ``prism.yml`` (+ overrides from dbt vars / the Tuner).

Everything tunable lives here with a default and a description; the hash of the resolved
configuration is recorded in ``mmm_runs`` so a result can be traced to the settings behind it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from prism_mmm.identifiers import UnsafeIdentifierError, check_identifier, to_snake_case
from prism_mmm.models import model_spec
from prism_mmm.series import series_id_of

# The bundled demo: its seed and the dataset key its knowledge is filed under.
DEMO_SEED = "conjura_apparel_weekly"
DEMO_DATASET = "conjura_apparel"
DEMO_BRAND = "Conjura apparel brand"


def default_dataset(source: str, seed: str, path: str | None) -> str:
    """The dataset key when ``data.dataset`` is not set: ``conjura_apparel`` for the bundled
    seed, the seed's name for another seed, and the snake_case stem of the CSV for a CSV (the
    rule ``prism init`` uses), so a hand-written config for new data never picks up the demo's
    knowledge."""
    if source == "csv" and path:
        return to_snake_case(Path(path).stem)
    return DEMO_DATASET if seed == DEMO_SEED else seed


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# A warehouse relation as a user names it: table, schema.table or database.schema.table.
RELATION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*){0,2}$")


def check_relation_name(name: str) -> str:
    """``name`` if it is a relation name PrismMMM will quote and read, else ValueError."""
    if not RELATION_NAME.match(name):
        raise ValueError(f"relation name {name!r} must be table, schema.table or "
                         "database.schema.table, each part letters, digits, _ or $")
    return name


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class ChannelRule(_Frozen):
    """One rule of the channel mapping: rows of ``platform`` (and, when set, whose campaign
    name contains ``campaign_name_contains``) are spend of ``channel``. The first matching rule
    wins."""

    platform: str = Field(description="ad_reporting platform value, e.g. facebook_ads")
    campaign_name_contains: str | None = Field(
        None, description="substring of campaign_name (case-sensitive); unset: every row of "
        "the platform")
    channel: str = Field(description="the channel's name (a safe name, as in data.channels)")

    @field_validator("channel")
    @classmethod
    def _safe_channel(cls, name: str) -> str:
        return check_identifier(name, "channel")


class SeriesRule(_Frozen):
    """One series of a warehouse source: its key, and which KPI and spend rows are its own.
    Within ``kpi_where`` / ``spend_where`` every column must hold one of its values (compared
    as text); the first rule a row matches wins."""

    key: dict[str, str] = Field(description="the series' value of each data.series_columns "
                                "column, e.g. {market: de}")
    kpi_where: dict[str, list[str]] = Field(
        min_length=1, description="KPI relation column -> values, e.g. {source_relation: "
        "[shopify_de]} or {shop_id: ['68000000001']}")
    spend_where: dict[str, list[str]] = Field(
        min_length=1, description="spend relation column -> values, e.g. {account_id: "
        "['4816200731', '1029384756']}")

    @field_validator("key", mode="before")
    @classmethod
    def _key_as_text(cls, key: Any) -> Any:
        return {k: str(v) for k, v in key.items()} if isinstance(key, dict) else key

    @field_validator("kpi_where", "spend_where", mode="before")
    @classmethod
    def _values_as_text(cls, where: Any) -> Any:
        # Ids are often numbers in YAML (account_id: 4816200731); the SQL compares text.
        if not isinstance(where, dict):
            return where
        return {column: [str(v) for v in (values if isinstance(values, list) else [values])]
                for column, values in where.items()}

    @field_validator("kpi_where", "spend_where")
    @classmethod
    def _safe_columns(cls, where: dict[str, list[str]]) -> dict[str, list[str]]:
        for column, values in where.items():
            check_identifier(column, "series rule column")
            if not values:
                raise ValueError(f"series rule column {column!r} lists no values")
        return where


class WarehouseSource(_Frozen):
    """Spend and KPI read from warehouse tables in the layouts of Fivetran's dbt packages,
    daily, turned into weeks by the SQL staging models."""

    spend_relation: str = Field(description="relation with the layout of ad_reporting__ad_report "
                                "(or __campaign_report / __account_report): date_day, platform, "
                                "spend and, for campaign rules, campaign_name")
    kpi_relation: str = Field(description="relation with the KPI, in kpi_layout")
    kpi_layout: Literal["shopify__daily_shop", "shopify__orders"] = Field(
        "shopify__daily_shop", description="shopify__daily_shop: one row per day (date_day, "
        "currency, the KPI column); shopify__orders: one row per order (created_timestamp, "
        "cancelled_timestamp, is_test_order, currency, the KPI column), test and cancelled "
        "orders excluded")
    week_start: Literal[WEEKDAYS] = Field(  # type: ignore[valid-type]
        "monday", description="first day of a week; partial first and last weeks are dropped")
    channel_mapping: list[ChannelRule] = Field(
        min_length=1, description="rules from platform / campaign name to channel, in order")
    series_mapping: list[SeriesRule] = Field(
        default_factory=list, description="several shops or markets in the relations: one rule "
        "per series (its key in data.series_columns, its KPI and spend rows). Empty: the "
        "relations are one series")

    @field_validator("spend_relation", "kpi_relation")
    @classmethod
    def _relation_name(cls, name: str) -> str:
        return check_relation_name(name)

    def mapped_channels(self) -> list[str]:
        """The channels the rules name, in the order they first appear."""
        return list(dict.fromkeys(rule.channel for rule in self.channel_mapping))


class DataConfig(_Frozen):
    source: Literal["seed", "csv", "warehouse"] = Field(
        "seed", description="bundled dbt seed, a user CSV, or warehouse tables (data.warehouse)")
    seed: str = Field(DEMO_SEED, description="seed name when source = seed")
    path: str | None = Field(None, description="CSV path when source = csv")
    warehouse: WarehouseSource | None = Field(None, description="tables when source = warehouse")
    dataset: str = Field(
        DEMO_DATASET,
        description="key of the dataset: its knowledge lives in knowledge/<dataset>/ (and in "
        "Notion rows whose Dataset is this key). Unset: conjura_apparel for the bundled seed, "
        "else the snake_case stem of the CSV file",
    )
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
    series_columns: list[str] = Field(
        default_factory=list, description="id columns whose values name a series (brand, "
        "market, geo; safe names): the file has one row per week and series, and each series "
        "is validated and fitted on its own. Empty: the file is one series")
    only_series: list[str] = Field(
        default_factory=list, description="fit only these series (their series_id, e.g. m02) "
        "of a file with series_columns: what the agent loop's --series sets. Empty: every series")
    currency: str = Field("LCU", description="currency label for reports (the seed's is unstated)")
    brand: str = Field(DEMO_BRAND, description="display name in reports and the app. Unset: "
                       "the bundled demo's brand for its dataset, else the dataset key")
    max_input_bytes: int = Field(
        64 * 2**20, gt=0, description="largest input file accepted, in bytes (checked before "
        "reading, so an oversized file is refused instead of exhausting memory)")
    max_input_rows: int = Field(50_000, gt=0, description="most data rows accepted")
    max_input_columns: int = Field(256, gt=0, description="most columns accepted")

    @model_validator(mode="before")
    @classmethod
    def _default_dataset(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and raw.get("dataset") is None:
            source, seed = raw.get("source", "seed"), raw.get("seed", DEMO_SEED)
            if source == "warehouse":
                raise ValueError("data.dataset must be set for a warehouse source: it keys the "
                                 "data's knowledge (knowledge/<dataset>/)")
            raw = {**raw, "dataset": default_dataset(source, seed, raw.get("path"))}
        if isinstance(raw, dict) and raw.get("brand") is None and raw.get("dataset") != DEMO_DATASET:
            # Another dataset's report must not carry the demo's name.
            raw = {**raw, "brand": str(raw.get("dataset"))}
        return raw

    @field_validator("dataset")
    @classmethod
    def _safe_dataset(cls, name: str) -> str:
        # The key names a folder and a Notion select option: the identifier rule keeps it a
        # plain folder name (no "/", "..", spaces).
        try:
            return check_identifier(name, "dataset")
        except UnsafeIdentifierError as exc:
            raise ValueError(f"{exc} Set data.dataset in prism.yml.") from None

    @field_validator("channels", "controls", "series_columns")
    @classmethod
    def _safe(cls, names: list[str]) -> list[str]:
        for name in names:
            check_identifier(name, "channel/control")
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate names in {names}")
        return names

    @model_validator(mode="before")
    @classmethod
    def _channels_from_mapping(cls, raw: Any) -> Any:
        # A warehouse source's channels are the mapping's unless listed (to fix their order).
        if isinstance(raw, dict) and raw.get("source") == "warehouse" and not raw.get("channels"):
            rules = (raw.get("warehouse") or {}).get("channel_mapping") or []
            names = [rule.get("channel") for rule in rules if isinstance(rule, dict)]
            raw = {**raw, "channels": list(dict.fromkeys(n for n in names if n))}
        return raw

    @model_validator(mode="after")
    def _source_complete(self) -> DataConfig:
        if self.source == "csv" and not self.path:
            raise ValueError("data.source is 'csv' but data.path is not set")
        if self.source == "warehouse":
            self._check_warehouse()
        if not self.channels:
            raise ValueError("data.channels is empty: at least one spend channel is needed")
        if self.only_series and not self.series_columns:
            raise ValueError(f"data.only_series {self.only_series} needs data.series_columns: "
                             "without id columns the input is one series")
        return self

    def _check_warehouse(self) -> None:
        if self.warehouse is None:
            raise ValueError("data.source is 'warehouse' but data.warehouse is not set")
        mapped = self.warehouse.mapped_channels()
        if set(mapped) != set(self.channels):
            raise ValueError(
                f"data.channels {self.channels} and the channels of "
                f"data.warehouse.channel_mapping {mapped} differ: every channel needs a rule "
                "and every rule a listed channel")
        if self.controls:
            raise ValueError("data.controls is not supported for a warehouse source yet (the "
                             "layouts carry no control variables)")
        rules = self.warehouse.series_mapping
        if bool(rules) != bool(self.series_columns):
            raise ValueError("data.series_columns and data.warehouse.series_mapping go together: "
                             "name the key columns and give one rule per series, or neither")
        seen: dict[str, int] = {}
        for n, rule in enumerate(rules, start=1):
            if set(rule.key) != set(self.series_columns):
                raise ValueError(f"data.warehouse.series_mapping rule {n}: key {rule.key} must "
                                 f"give exactly the series columns {self.series_columns}")
            series_id = self.warehouse_series_id(rule)
            if series_id in seen:
                raise ValueError(f"data.warehouse.series_mapping rules {seen[series_id]} and {n} "
                                 f"both define series {series_id}: a series key must be unique")
            seen[series_id] = n

    def warehouse_series_id(self, rule: SeriesRule) -> str:
        """The ``series_id`` of a warehouse series rule, as a file's key values would give."""
        return series_id_of(rule.key[column] for column in self.series_columns)

    def input_path(self) -> Path | None:
        """The input file: the CSV, or the bundled seed's file; None for warehouse tables."""
        from prism_mmm.project import project_dir

        if self.source == "csv":
            return Path(self.path)
        if self.source == "seed":
            return project_dir() / "seeds" / f"{self.seed}.csv"
        return None


class TransformConfig(_Frozen):
    adstock: str = Field("geometric", description="adstock transform (prism_mmm/transforms)")
    saturation: str = Field("hill", description="saturation transform: hill or logistic")
    max_lag: int = Field(8, ge=1, le=26, description="adstock window in weeks")
    params: dict[str, float] = Field(
        default_factory=dict,
        description="transform parameters for every channel (e.g. decay, half_sat, shape; "
        "half_sat is in units of the channel's largest fit week). Ridge uses them as they are "
        "and NLS starts from them; a parameter left unset takes the transform's default, and "
        "Ridge searches it by time-series CV where the transform gives a grid",
    )
    channels: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="per-channel parameter values, over `params`"
    )

    @model_validator(mode="after")
    def _known_params(self) -> TransformConfig:
        media = self.media()
        for where, values in [("params", self.params)] + [
            (f"channels.{c}", v) for c, v in self.channels.items()
        ]:
            for name, value in values.items():
                if name not in media.params:
                    raise ValueError(
                        f"transforms.{where}.{name}: not a parameter of {self.adstock} adstock "
                        f"or {self.saturation} saturation (known: {sorted(media.params)})"
                    )
                low, high = media.params[name].bounds
                if not low <= value <= high:
                    raise ValueError(
                        f"transforms.{where}.{name} = {value} is outside its bounds [{low}, {high}]"
                    )
        return self

    def media(self):
        """The configured :class:`~prism_mmm.transforms.MediaTransform`."""
        from prism_mmm.transforms import MediaTransform

        return MediaTransform(self.adstock, self.saturation, self.max_lag)

    def configured(self, channel: str) -> dict[str, float]:
        """The parameter values set in ``prism.yml`` for ``channel`` (globally or for it)."""
        return {**self.params, **self.channels.get(channel, {})}

    def for_channel(self, channel: str) -> dict[str, float]:
        """Every parameter for ``channel``: transform defaults, then ``params``, then the
        channel's own values."""
        defaults = {name: p.default for name, p in self.media().params.items()}
        return {**defaults, **self.configured(channel)}


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


    penalize_baseline: bool = Field(
        False,
        description="penalise trend, seasonality, event and control coefficients as well as "
        "media; off: only media is shrunk, so the baseline keeps the seasonal peaks",
    )


class NlsConfig(_Frozen):
    n_boot: int = Field(100, ge=0, description="bootstrap refits for intervals")
    block_weeks: int = Field(8, ge=1)
    n_starts: int = Field(4, ge=1, description="random restarts of the optimiser")
    regularize: bool = Field(
        True, description="penalise transform parameters towards their priors (MAP), so the "
        "ones the data barely inform stay near the prior instead of on a bound")
    nonneg_baseline: bool = Field(
        True,
        description="constrain the baseline (intercept + trend + seasonality) to be >= 0 in "
        "every week, so media cannot explain more than the KPI via a negative baseline",
    )


class PriorConfig(_Frozen):
    distribution: str
    params: dict[str, float]


# Measured on the bundled and known-truth data (4 x 1000/1000): numpyro at 0.8-0.9 gave 0
# divergences; nutpie's low-rank mass-matrix adaptation needed 0.99.
DEFAULT_TARGET_ACCEPT = {"numpyro": 0.9, "nutpie": 0.99, "pymc": 0.99}


class BayesSamplingConfig(_Frozen):
    """How the Bayesian posterior is sampled (none of it changes the model)."""

    engine: Literal["numpyro", "nutpie", "pymc"] = Field(
        "numpyro",
        description="NUTS implementation. numpyro (JAX, compiled once per model structure, data "
        "swapped in) measured fastest cold, warm and in new processes; nutpie (numba) "
        "compiles for 10-30 s per process; pymc is the reference",
    )
    chains: int = Field(4, ge=1)
    draws: int = Field(1000, ge=10)
    tune: int = Field(1000, ge=10)
    target_accept: float | None = Field(
        None, gt=0.5, lt=1.0, description="unset: the engine's measured default"
    )
    prior_predictive_draws: int = Field(500, ge=0, description="draws for gate g1 (0 skips it)")

    def resolved_target_accept(self) -> float:
        if self.target_accept is not None:
            return self.target_accept
        return DEFAULT_TARGET_ACCEPT[self.engine]


# The Critic's plausible band of the media share (5-80% of the KPI), as a central 90% prior
# interval; chosen on the known-truth datasets (bench/results/media_share_latest.md).
DEFAULT_MEDIA_SHARE = (0.05, 0.80)
# How far one channel's ROI may sit from the brand's average (the ratio of a central 90%
# interval). 1, every channel's prior the brand's average: a spread of 10 did not win on the
# known-truth data (bench/results/media_share_latest.md).
DEFAULT_ROI_SPREAD = 1.0


class BayesModelConfig(_Frozen):
    """Everything the Bayesian model's graph and priors depend on, resolved from
    ``transforms``, ``bayes`` and the knowledge layer; saved with a fitted model."""

    adstock: str = "geometric"
    saturation: str = "hill"
    max_lag: int = Field(8, ge=1, le=26)
    priors: dict[str, PriorConfig] = Field(
        default_factory=dict, description="overrides of the model's default priors by name"
    )
    roi_priors: dict[str, tuple[float, float]] = Field(
        default_factory=dict,
        description="channel -> (low, high): the central 90% interval of its ROI prior",
    )
    media_share: tuple[float, float] | None = Field(
        DEFAULT_MEDIA_SHARE,
        description="central 90% interval of the media share of the KPI that the default ROI "
        "prior of channels without their own range implies (None: HalfNormal coefficients)",
    )
    roi_spread: float = Field(
        DEFAULT_ROI_SPREAD, ge=1.0,
        description="ratio of the central 90% interval of a channel's ROI around the brand's "
        "average ROI, added to the media-share uncertainty (1: every channel alike)",
    )
    likelihood: Literal["normal", "student_t"] = "normal"
    trend: Literal["none", "linear", "piecewise"] = "linear"
    changepoints: int = Field(3, ge=1, le=12)

    @field_validator("media_share")
    @classmethod
    def _share_range(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not 0 < value[0] < value[1] <= 1.5:
            raise ValueError(f"media_share must satisfy 0 < low < high <= 1.5, got {value}")
        return value


class BayesConfig(_Frozen):
    sampling: BayesSamplingConfig = Field(default_factory=BayesSamplingConfig)
    priors: dict[str, PriorConfig] = Field(
        default_factory=dict, description="overrides of the model's default priors by name"
    )
    use_knowledge_roi_priors: bool = Field(
        True, description="turn Business Context expected ROI ranges into channel priors"
    )
    media_share: tuple[float, float] | None = Field(
        DEFAULT_MEDIA_SHARE,
        description="expected media share of the KPI, a central 90% interval: channels "
        "without an ROI range get an ROI prior equal to this share of the KPI per unit of "
        "total spend (the same for every channel), so priors follow each dataset's scale. "
        "null: HalfNormal coefficient priors instead",
    )
    roi_spread: float = Field(
        DEFAULT_ROI_SPREAD, ge=1.0,
        description="how much channels' ROIs differ from one another: the ratio of the high to "
        "the low end of a central 90% interval around the brand's average ROI (10: one channel "
        "may return ten times another). It widens the default ROI prior of channels without "
        "their own range; 1 (default) gives every channel the brand's average",
    )
    likelihood: Literal["normal", "student_t"] = Field(
        "normal", description="noise distribution; student_t lets a few odd weeks (a stock-out, "
        "an unrecorded promotion) weigh less")
    trend: Literal["none", "linear", "piecewise"] = Field(
        "linear", description="baseline trend: none, linear, or piecewise linear with "
        "`changepoints` evenly spaced changes of slope")
    changepoints: int = Field(3, ge=1, le=12, description="changes of slope of a piecewise trend")

    def model_for(
        self, transforms: TransformConfig, roi_priors: dict[str, tuple[float, float]] | None
    ) -> BayesModelConfig:
        """The model configuration for these transforms and knowledge ROI ranges."""
        return BayesModelConfig(
            adstock=transforms.adstock,
            saturation=transforms.saturation,
            max_lag=transforms.max_lag,
            priors=self.priors,
            roi_priors=(roi_priors or {}) if self.use_knowledge_roi_priors else {},
            media_share=self.media_share,
            roi_spread=self.roi_spread,
            likelihood=self.likelihood,
            trend=self.trend,
            changepoints=self.changepoints,
        )


class OptimizerConfig(_Frozen):
    horizon_weeks: int = Field(13, ge=1)
    max_change_pct: float = Field(50.0, ge=0.0, description="default ±% bound around current")
    unconfirmed_max_change_pct: float = Field(
        15.0, ge=0.0, description="±% bound for channels the models do not agree on"
    )
    budget_changes_pct: list[float] = Field(default_factory=lambda: [-20.0, 20.0])
    # bayes by default: its posterior draws give the plan's interval; any registered model works.
    model: str = Field("bayes", description="registered model whose response surface is optimised")

    @field_validator("model")
    @classmethod
    def _registered(cls, name: str) -> str:
        model_spec(name)
        return name


class ValidationConfig(_Frozen):
    """Rolling-origin cross-validation on the training weeks (prism_mmm/validation.py)."""

    origins: int = Field(
        0, ge=0, le=6,
        description="blocks over the last window_weeks training weeks, each forecast by a refit "
        "on the weeks before it; 0: off (a plain build skips the refits; the agent loop turns "
        "it on, agents.cv_origins, because its score is the CV sMAPE)")
    window_weeks: int = Field(26, ge=4, description="training weeks the blocks cover")
    refit: dict[str, Any] = Field(
        default_factory=lambda: {
            "ridge": {"n_boot": 0, "cv_splits": 3}, "nls": {"n_boot": 0},
            "bayes": {"sampling": {"chains": 2, "draws": 300, "tune": 300}}},
        description="settings merged into the configuration of the CV refits: a CV score "
        "needs forecasts (posterior or point means), not intervals, so the bootstraps are off, "
        "the sampler runs short and Ridge's inner search uses 3 folds")


class CalibrationConfig(_Frozen):
    """Which lift tests (``knowledge_experiments``) the models calibrate on."""

    experiments: list[str] = Field(
        default_factory=list,
        description="ids of lift tests to calibrate with besides those whose calibrate flag "
        "is set in the knowledge layer: the Tuner's 'calibrate with experiment X' change. An id "
        "the knowledge layer lacks fails the fit")


class AgentsConfig(_Frozen):
    rounds: int = Field(3, ge=1)
    cv_origins: int = Field(
        3, ge=1, le=6, description="rolling-origin CV blocks of every loop build: the round "
        "score is their sMAPE, so the loop never tunes on the final holdout")
    llm_model: str = Field("claude-sonnet-4-5", description="Anthropic model for optional prose")
    llm_timeout_seconds: float = Field(30.0, gt=0)


class NotionConfig(_Frozen):
    field_definitions_id: str | None = Field(
        None, description="Field Definitions database id or URL (env PRISM_NOTION_* overrides)"
    )
    business_context_id: str | None = Field(None, description="Business Context database id/URL")
    known_issues_id: str | None = Field(None, description="Known Issues database id or URL")
    events_id: str | None = Field(
        None, description="Events database id or URL (optional: unset keeps the local YAML)"
    )
    experiments_id: str | None = Field(
        None, description="Experiments database id or URL (optional: unset keeps the local YAML)"
    )
    base_url: str | None = Field(None, description="API base URL (tests point it at a fake)")
    max_retries: int = Field(
        3, ge=0, le=10, description="retries of a rate-limited (429) request, then a clear error"
    )
    max_retry_wait_seconds: float = Field(
        60.0, gt=0, description="cap on one wait, whatever Retry-After asks for"
    )
    timeout_seconds: float = Field(30.0, gt=0, description="per-request timeout")


DEFAULT_CALENDAR = ["black_friday", "cyber_monday", "pre_christmas", "christmas"]


class EventsConfig(_Frozen):
    """Event controls: built-in calendar events plus the dataset's own events (knowledge
    layer, Events collection) become 0/1 weekly controls in every model."""

    country: str | None = Field(
        None, description="ISO 3166 code of the market (e.g. US, GB): its public holidays "
        "and Mother's Day date; null: no country-specific events")
    calendar: list[str] = Field(
        default_factory=lambda: list(DEFAULT_CALENDAR),
        description="built-in events to model (prism_mmm/calendar.py): black_friday, "
        "cyber_monday, pre_christmas, christmas, singles_day, summer_sale, mothers_day, "
        "public_holidays (needs country)")

    @model_validator(mode="after")
    def _known_events(self) -> EventsConfig:
        from prism_mmm.calendar import KNOWN_EVENTS, PUBLIC_HOLIDAYS

        unknown = sorted(set(self.calendar) - set(KNOWN_EVENTS))
        if unknown:
            raise ValueError(f"events.calendar: unknown events {unknown}; known: "
                             f"{list(KNOWN_EVENTS)}")
        if PUBLIC_HOLIDAYS in self.calendar and not self.country:
            raise ValueError("events.calendar has public_holidays but events.country is not "
                             "set (an ISO code such as US or GB)")
        return self


class EngineConfig(_Frozen):
    """Where the fits of the series run. Each series is one call of the same pure function
    (pandas in, pandas out: prism_mmm/engine.py); an engine only decides where the calls run."""

    kind: Literal["local", "spark"] = Field(
        "local", description="local: a process pool inside the dbt node (one series: in the "
        "node itself); spark: groupBy(series_id).applyInPandas on a SparkSession")
    workers: int | None = Field(
        None, ge=1, description="local: most processes at once (default: the machine's cores; "
        "never more than the series)")
    spark_remote: str | None = Field(
        None, description="spark: a Spark Connect URL (sc://host:port) of a cluster; unset: a "
        "session in this process on spark_master")
    spark_master: str = Field("local[*]", description="spark: master of the in-process session")

    @field_validator("spark_remote")
    @classmethod
    def _connect_url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith("sc://"):
            raise ValueError(f"engine.spark_remote must be a Spark Connect URL sc://host:port, "
                             f"got {url!r}")
        return url


class KnowledgeConfig(_Frozen):
    directory: str = Field("knowledge", description="local YAML knowledge (default source)")
    notion: NotionConfig = Field(default_factory=NotionConfig)


# Sections only the model fits (and the nodes after them) read, besides each registered model's
# own section: a change to them leaves the data layer as it was. Any other setting, including
# one added later, may change the data.
FIT_ONLY_SECTIONS = ("transforms", "random_seed", "fit_cache", "validation", "calibration",
                     "optimizer", "agents", "engine")


class PrismConfig(_Frozen):
    data: DataConfig = Field(default_factory=lambda: DataConfig(channels=DEFAULT_CHANNELS))
    transforms: TransformConfig = Field(default_factory=TransformConfig)
    holdout_weeks: int = Field(
        13, ge=8, description="last N weeks held out; at least 8, because a 4-week holdout "
        "makes MAPE meaningless (one odd week dominates it)")
    fourier_order: int = Field(2, ge=0, le=10, description="yearly Fourier pairs")
    anomaly_z: float = Field(3.0, gt=0)
    random_seed: int = 20240527
    fit_cache: bool = Field(
        True, description="reuse a fit whose inputs (data, the model's settings, lift tests, "
        "code) are identical to an earlier fit's in this project, instead of fitting again")
    diagnostics_gating: Literal["strict", "warn", "off"] = "warn"
    ridge: RidgeConfig = Field(default_factory=RidgeConfig)
    nls: NlsConfig = Field(default_factory=NlsConfig)
    bayes: BayesConfig = Field(default_factory=BayesConfig)
    validation: ValidationConfig = Field(default_factory=ValidationConfig)
    calibration: CalibrationConfig = Field(default_factory=CalibrationConfig)
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    agents: AgentsConfig = Field(default_factory=AgentsConfig)
    knowledge: KnowledgeConfig = Field(default_factory=KnowledgeConfig)
    events: EventsConfig = Field(default_factory=EventsConfig)
    engine: EngineConfig = Field(default_factory=EngineConfig)

    @property
    def channels(self) -> list[str]:
        return list(self.data.channels)

    @property
    def controls(self) -> list[str]:
        return list(self.data.controls)

    def for_cv_refits(self) -> PrismConfig:
        """This configuration with ``validation.refit`` merged in (the CV refits' settings);
        the refits never sample longer than the fit itself."""
        merged = deep_merge(self.model_dump(), self.validation.refit)
        sampling = merged["bayes"]["sampling"]
        for key in ("chains", "draws", "tune"):
            sampling[key] = min(sampling[key], getattr(self.bayes.sampling, key))
        return PrismConfig.model_validate(merged)

    def config_hash(self) -> str:
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def data_layer_hash(self) -> str:
        """Identity of what the data layer (staging to ``mmm_input``, events, knowledge) builds
        from this configuration: every setting except the sections only the fits read."""
        from prism_mmm.models import model_names

        fit_only = {*FIT_ONLY_SECTIONS, *model_names()}
        payload = json.dumps(self.model_dump(mode="json", exclude=fit_only), sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def sql_settings(self) -> dict[str, Any]:
        """The settings the SQL models render with. The ``prism_settings`` dbt model writes
        them to the warehouse from this same configuration, and the SQL reads them there (macro
        ``prism_settings``), so ``dbt build`` and ``prism build`` cannot build different data."""
        return {
            "date_column": self.data.date_column,
            "kpi_column": self.data.kpi,
            "channels": self.channels,
            "controls": self.controls,
            "holdout_weeks": self.holdout_weeks,
            "fourier_order": self.fourier_order,
            "anomaly_z": self.anomaly_z,
            "diagnostics_gating": self.diagnostics_gating,
            "source": self.data.source,
            "warehouse": self.data.warehouse.model_dump() if self.data.warehouse else None,
            "series_columns": self.data.series_columns,
            "dataset": self.data.dataset,
            # Each warehouse series with its id, so the SQL labels rows as the Python does.
            "warehouse_series": [
                {"series_id": self.data.warehouse_series_id(rule), **rule.model_dump()}
                for rule in (self.data.warehouse.series_mapping if self.data.warehouse else [])],
        }


def settings_frame(cfg: PrismConfig):
    """:meth:`PrismConfig.sql_settings` as the ``prism_settings`` table: one row per setting,
    its value as JSON."""
    import pandas as pd

    settings = cfg.sql_settings()
    return pd.DataFrame({"setting": list(settings),
                         "value_json": [json.dumps(v) for v in settings.values()]})


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
    ``prism.yml`` in the project (:func:`prism_mmm.project.project_dir`). The CLI, the dbt
    Python models, the app and the loop all resolve it here, so they read the same file."""
    from prism_mmm.project import project_dir

    if os.environ.get("PRISM_CONFIG"):
        return Path(os.environ["PRISM_CONFIG"])
    return project_dir() / "prism.yml"


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
