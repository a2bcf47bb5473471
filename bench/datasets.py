"""Known-truth datasets: files shaped the way a user hands them to ``prism init``, with the
true ROI of every channel, for end-to-end tests and the recovery benchmark.

Two come from pymc-marketing (Apache-2.0; see data/SOURCES.md), reduced to the columns a user
would have (the upstream files also carry the generating components). The others are generated
here, deterministically (a fixed seed), by the processes documented on each generator:

- ``brand_4ch``: a brand with 4 channels of different shapes (flighted TV, seasonal always-on
  search, social, sparse display) and a price control; geometric adstock + Hill, as PrismMMM
  models it; a low-variance KPI (the case where priors that ignore the data's scale fail the
  prior predictive check).
- ``confounded_lift``: search spend follows a demand driver the data do not hold, and one
  lift test per channel measures the truth: the calibration benchmark.
- ``awkward_3ch``: the kind of export that arrives by e-mail: headers with spaces, currency
  signs, dots and dashes, constant brand and market id columns, a KPI in a different unit
  range; logistic saturation and long carry-over (a misspecified case for the Hill default).
- ``geo_brand_8m``: one brand in 8 markets whose media effects are drawn around brand-level
  values, with thin markets (channels that spend in a few weeks only): the pooling benchmark.

``python -m bench.datasets`` writes the generated files to ``data/known_truth`` (and the
Fivetran-layout shop of ``bench.fivetran_shop`` to ``data/known_truth/fivetran_shop``); a test
checks that the committed files are what the generators produce. True ROI = the channel's
contribution summed over every week / its spend summed over every week, PrismMMM's definition.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from prism_mmm.project import project_dir
from prism_mmm.transforms import MediaTransform

REPO = project_dir()  # benchmarks run inside a project (the repository)
KNOWN_TRUTH_DIR = REPO / "data" / "known_truth"


@dataclass(frozen=True)
class KnownTruth:
    """A user-shaped CSV and what is true about it (channel names as `prism init` names
    them: snake_case of the header)."""

    name: str
    frame: pd.DataFrame
    true_roi: dict[str, float]
    description: str
    lift_tests: tuple[dict, ...] = ()  # rows as a user enters them in experiments.yml
    thin: tuple[str, ...] = ()  # "<geo>/<channel>" pairs with few active weeks

    def write(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.name}.csv"
        self.frame.to_csv(path, index=False)
        truth = {"true_roi": self.true_roi, "description": self.description}
        if self.lift_tests:
            truth["lift_tests"] = list(self.lift_tests)
        if self.thin:
            truth["thin"] = list(self.thin)
        (directory / f"{self.name}.truth.json").write_text(
            json.dumps(truth, indent=1, sort_keys=True) + "\n")
        return path


def _weeks(start: str, n: int) -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq="W-MON")


def _contributions(spend: np.ndarray, coef: np.ndarray, media: MediaTransform,
                   **params: np.ndarray) -> np.ndarray:
    """(T, C) weekly contributions: coef * sat(adstock(spend / scale)), scale = max spend."""
    return coef * media.features(spend, spend.max(axis=0), **params)


def _flights(rng: np.random.Generator, n: int, first: int, lengths: tuple[int, int],
             gaps: tuple[int, int], spend: tuple[float, float]) -> np.ndarray:
    """Weekly spend in flights: ``rng.integers(*lengths)`` weeks at uniform ``spend``, then
    ``rng.integers(*gaps)`` weeks off, from week ``first``."""
    out = np.zeros(n)
    start = first
    while start < n:
        length = rng.integers(*lengths)
        out[start:start + length] = rng.uniform(*spend, size=min(length, n - start))
        start += length + rng.integers(*gaps)
    return out


def _roi(contributions: np.ndarray, spend: np.ndarray, names: list[str]) -> dict[str, float]:
    return {name: float(contributions[:, c].sum() / spend[:, c].sum())
            for c, name in enumerate(names)}


def brand_4ch(seed: int = 4) -> KnownTruth:
    """156 weeks (2021-01-04 on), KPI = revenue.

    revenue_t = 400k * (1 + 0.10 * t/T + 0.06 sin(2 pi doy/365.25) + 0.04 cos(4 pi doy/365.25))
                - 600k * (price_t - 1)
                + sum_c coef_c * hill(adstock(spend_tc / max_c; decay_c); half_sat_c, shape_c)
                + Normal(0, 8k)

    tv: 4-7 week flights of 60-110k every ~10 weeks (decay 0.6, half_sat 0.55, shape 2.0,
    coef 90k); search: always-on 12-20k rising with the season (decay 0.1, half_sat 0.5,
    shape 1.0, coef 70k); social: 8-30k, off in 15% of weeks (decay 0.3, half_sat 0.4,
    shape 1.3, coef 45k); display: 4-9k in 40% of weeks (decay 0.3, half_sat 0.5, shape 1.0,
    coef 10k). price: 1 + small noise, 0.85 in four 2-week promotions a year.
    """
    rng = np.random.default_rng(seed)
    n = 156
    weeks = _weeks("2021-01-04", n)
    doy = weeks.day_of_year.to_numpy(dtype=float)
    season = 0.06 * np.sin(2 * np.pi * doy / 365.25) + 0.04 * np.cos(4 * np.pi * doy / 365.25)
    tv = _flights(rng, n, first=2, lengths=(4, 8), gaps=(5, 9), spend=(60e3, 110e3))
    search = rng.uniform(12e3, 20e3, n) * (1 + 2 * season)
    social = rng.uniform(8e3, 30e3, n) * (rng.uniform(size=n) > 0.15)
    display = rng.uniform(4e3, 9e3, n) * (rng.uniform(size=n) < 0.4)
    spend = np.column_stack([tv, search, social, display])
    price = 1 + rng.normal(0, 0.01, n)
    for year in range(3):
        for week in (10, 22, 36, 47):
            price[year * 52 + week:year * 52 + week + 2] = 0.85
    media = MediaTransform("geometric", "hill", max_lag=8)
    contributions = _contributions(
        spend, np.array([90e3, 70e3, 45e3, 10e3]), media,
        decay=np.array([0.6, 0.1, 0.3, 0.3]), half_sat=np.array([0.55, 0.5, 0.4, 0.5]),
        shape=np.array([2.0, 1.0, 1.3, 1.0]))
    base = 400e3 * (1 + 0.10 * np.arange(n) / n + season) - 600e3 * (price - 1)
    revenue = base + contributions.sum(axis=1) + rng.normal(0, 8e3, n)
    names = ["tv", "search", "social", "display"]
    frame = pd.DataFrame({"date": weeks.strftime("%Y-%m-%d"), "revenue": revenue.round(2),
                          **{c: spend[:, i].round(2) for i, c in enumerate(names)},
                          "price": price.round(4)})
    return KnownTruth("brand_4ch", frame, _roi(contributions, spend, names),
                      "generated: 4 channels, price control, geometric adstock + Hill")


def awkward_3ch(seed: int = 7) -> KnownTruth:
    """120 weeks (2022-03-07 on), KPI = "Total Sales (£)", an e-mailed export.

    sales_t = 30k * (1 + 0.25 sin(2 pi doy/365.25)) + 9k * (1 - t/T)
              + sum_c coef_c * logistic(adstock(spend_tc / max_c; decay_c); lam_c)
              + Normal(0, 2.5k)

    TV Spend (£): 0 or 5-15k in runs (decay 0.75, lam 1.5, coef 14k); Paid Social - Meta:
    1-6k every week (decay 0.3, lam 3.0, coef 9k); Google.Search: 2-4k every week, higher in
    summer (decay 0.0, lam 2.0, coef 6k). Constant columns Brand = "Acme Outdoor" and
    Market = "UK" (labels, not series).
    """
    rng = np.random.default_rng(seed)
    n = 120
    weeks = _weeks("2022-03-07", n)
    doy = weeks.day_of_year.to_numpy(dtype=float)
    summer = np.sin(2 * np.pi * doy / 365.25)
    on = np.repeat(rng.uniform(size=n // 6) < 0.5, 6)[:n]
    tv = on * rng.uniform(5e3, 15e3, n)
    social = rng.uniform(1e3, 6e3, n)
    search = rng.uniform(2e3, 4e3, n) * (1 + 0.3 * summer)
    spend = np.column_stack([tv, social, search])
    media = MediaTransform("geometric", "logistic", max_lag=8)
    contributions = _contributions(spend, np.array([14e3, 9e3, 6e3]), media,
                                   decay=np.array([0.75, 0.3, 0.0]),
                                   lam=np.array([1.5, 3.0, 2.0]))
    base = 30e3 * (1 + 0.25 * summer) + 9e3 * (1 - np.arange(n) / n)
    sales = base + contributions.sum(axis=1) + rng.normal(0, 2.5e3, n)
    frame = pd.DataFrame({
        "Week Starting": weeks.strftime("%Y-%m-%d"),
        "Brand": "Acme Outdoor",
        "Market": "UK",
        "Total Sales (£)": sales.round(2),
        "TV Spend (£)": tv.round(2),
        "Paid Social - Meta": social.round(2),
        "Google.Search": search.round(2),
    })
    names = ["tv_spend", "paid_social_meta", "google_search"]
    return KnownTruth("awkward_3ch", frame, _roi(contributions, spend, names),
                      "generated: awkward headers, constant id columns, logistic saturation")


def confounded_lift(seed: int = 11) -> KnownTruth:
    """130 weeks (2022-01-03 on), KPI = revenue, with an unobserved demand driver and one lift
    test per channel: the case calibration is for.

    demand_t: a mean-reverting random walk (AR(1), 0.9) plus a yearly cycle, standardised;
    revenue_t = 200k * (1 + 0.15 demand_t)
                + sum_c coef_c * hill(adstock(spend_tc / max_c; decay_c); half_sat_c, shape_c)
                + Normal(0, 6k)

    search follows demand (20k * exp(0.35 demand_t), +-10%: budgets chase demand), so a model
    without demand credits search with demand's revenue; tv (flights of 50-90k) and social
    (10-25k) are independent of it. search: decay 0.2, half_sat 0.5, shape 1.0, coef 60k; tv:
    0.6, 0.5, 2.0, 80k; social: 0.3, 0.4, 1.2, 40k. The CSV has date, revenue and spend only.

    Lift tests (geo lift, figures as totals): 4 weeks per channel from weeks 70, 90 and 110,
    +50% spend; the lift is the true incremental revenue of that extra spend through the
    same adstock and saturation (scale: the observed maximum spend), carry-over included,
    plus Normal noise with the reported standard error, 15% of the true lift.
    """
    rng = np.random.default_rng(seed)
    n = 130
    weeks = _weeks("2022-01-03", n)
    walk = np.zeros(n)
    for t in range(1, n):
        walk[t] = 0.9 * walk[t - 1] + rng.normal(0, 1)
    demand = walk + 1.5 * np.sin(2 * np.pi * weeks.day_of_year.to_numpy(dtype=float) / 365.25)
    demand = (demand - demand.mean()) / demand.std()
    search = 20e3 * np.exp(0.35 * demand) * rng.uniform(0.9, 1.1, n)
    tv = _flights(rng, n, first=3, lengths=(3, 6), gaps=(4, 8), spend=(50e3, 90e3))
    social = rng.uniform(10e3, 25e3, n)
    names = ["search", "tv", "social"]
    spend = np.column_stack([search, tv, social])
    media = MediaTransform("geometric", "hill", max_lag=8)
    params = {"decay": np.array([0.2, 0.6, 0.3]), "half_sat": np.array([0.5, 0.5, 0.4]),
              "shape": np.array([1.0, 2.0, 1.2])}
    coef, scale = np.array([60e3, 80e3, 40e3]), spend.max(axis=0)
    contributions = coef * media.features(spend, scale, **params)
    revenue = 200e3 * (1 + 0.15 * demand) + contributions.sum(axis=1) + rng.normal(0, 6e3, n)
    tests = []
    for c, (name, first) in enumerate(zip(names, (70, 90, 110), strict=True)):
        extra = 0.5 * spend[first:first + 4, c].sum()
        shifted = spend.copy()
        shifted[first:first + 4, c] += extra / 4
        true_lift = float((coef * (media.features(shifted, scale, **params)
                                   - media.features(spend, scale, **params))).sum())
        se = 0.15 * true_lift
        tests.append({
            "experiment_id": f"geo_{name}", "channel": name, "type": "geo_lift",
            "start_date": weeks[first].date().isoformat(),
            "end_date": (weeks[first] + pd.Timedelta(days=27)).date().isoformat(),
            "spend": round(float(spend[first:first + 4, c].sum() + extra), 2),
            "spend_change": round(float(extra), 2),
            "lift": round(true_lift + float(rng.normal(0, se)), 2), "lift_se": round(se, 2),
            "figures": "total", "true_lift": round(true_lift, 2)})
    frame = pd.DataFrame({"date": weeks.strftime("%Y-%m-%d"), "revenue": revenue.round(2),
                          **{c: spend[:, i].round(2) for i, c in enumerate(names)}})
    return KnownTruth("confounded_lift", frame, _roi(contributions, spend, names),
                      "generated: search spend follows an unobserved demand driver; one lift "
                      "test per channel", tuple(tests))


def pymc_example() -> KnownTruth:
    """pymc-marketing's ``mmm_example.csv`` as a user would have it: the week, the KPI, two
    channels and two event dummies (the upstream ``dayofyear`` and ``t`` are generator
    columns, dropped)."""
    frame = pd.read_csv(KNOWN_TRUTH_DIR / "pymc_marketing_mmm_example.csv")
    frame = frame[["date_week", "y", "x1", "x2", "event_1", "event_2"]]
    return KnownTruth("pymc_example", frame, {"x1": 4968.0, "x2": 2275.0},
                      "pymc-marketing mmm_example (Apache-2.0): logistic saturation")


def pymc_roas() -> KnownTruth:
    """pymc-marketing's ``mmm_roas_data.csv`` as a user would have it: date, KPI, two
    channels. The unobserved confounder z and the generating components are dropped: the
    user does not have them."""
    frame = pd.read_csv(KNOWN_TRUTH_DIR / "pymc_marketing_mmm_roas_data.csv")
    frame = frame[["date", "y", "x1", "x2"]]
    return KnownTruth("pymc_roas", frame, {"x1": 93.39, "x2": 171.41},
                      "pymc-marketing mmm_roas_data (Apache-2.0): x1 confounded by z")


# Channel kinds of a generated portfolio, cycled: (name, decay, half_sat, shape, ROI-ish coef
# per unit of market size).
PORTFOLIO_CHANNELS = [
    ("search", 0.1, 0.5, 1.0, 60e3), ("social", 0.3, 0.4, 1.3, 40e3),
    ("tv", 0.6, 0.55, 2.0, 80e3), ("display", 0.3, 0.5, 1.0, 12e3),
    ("video", 0.5, 0.6, 1.5, 30e3), ("search_shopping", 0.1, 0.45, 1.1, 35e3),
    ("affiliate", 0.2, 0.5, 1.0, 15e3), ("radio", 0.4, 0.5, 1.2, 10e3),
]  # names `prism init` recognises as spend


def portfolio(name: str = "portfolio_3geo", n_series: int = 3, n_weeks: int = 120,
              n_channels: int = 3, seed: int = 21) -> KnownTruth:
    """A brand in ``n_series`` markets (column ``geo``: one row per week and market), each with
    its own size, baseline and media effects, for the series path.

    Per market g (size s_g uniform 0.5-1.5): revenue_gt = 300k s_g (1 + 0.08 t/T + season_g)
    + sum_c coef_gc * hill(adstock(spend_gct / max; decay_c); half_sat_c, shape_c)
    + Normal(0, 6k s_g), with coef_gc = coef_c s_g lognormal(0, 0.3), so ROI differs by
    market. Channels cycle through ``PORTFOLIO_CHANNELS``: always-on (search, search_shopping,
    affiliate), variable with off weeks (social, display, radio), flights (tv, video), spend
    proportional to s_g. The truth (``true_roi``) is keyed ``<geo>/<channel>``.
    """
    rng = np.random.default_rng(seed)
    weeks = _weeks("2022-01-03", n_weeks)
    doy = weeks.day_of_year.to_numpy(dtype=float)
    kinds = [PORTFOLIO_CHANNELS[c % len(PORTFOLIO_CHANNELS)] for c in range(n_channels)]
    names = [kind[0] if c < len(PORTFOLIO_CHANNELS) else f"{kind[0]}_{c}"
             for c, kind in enumerate(kinds)]
    media = MediaTransform("geometric", "hill", max_lag=8)
    frames, truth = [], {}
    for g in range(n_series):
        geo = f"m{g + 1:02d}"
        size = rng.uniform(0.5, 1.5)
        phase = rng.uniform(0, 2 * np.pi)
        season = 0.07 * np.sin(2 * np.pi * doy / 365.25 + phase)
        columns = []
        for kind in kinds:
            if kind[0] in ("tv", "video"):
                columns.append(_flights(rng, n_weeks, first=int(rng.integers(1, 6)),
                                        lengths=(3, 7), gaps=(3, 8), spend=(40e3, 90e3)))
            elif kind[0] in ("social", "display", "radio"):
                columns.append(rng.uniform(6e3, 25e3, n_weeks) * (rng.uniform(size=n_weeks) > 0.2))
            else:
                columns.append(rng.uniform(10e3, 20e3, n_weeks) * (1 + 2 * season))
        spend = np.column_stack(columns) * size
        coef = np.array([k[4] for k in kinds]) * size * rng.lognormal(0, 0.3, n_channels)
        contributions = _contributions(
            spend, coef, media, decay=np.array([k[1] for k in kinds]),
            half_sat=np.array([k[2] for k in kinds]), shape=np.array([k[3] for k in kinds]))
        base = 300e3 * size * (1 + 0.08 * np.arange(n_weeks) / n_weeks + season)
        revenue = base + contributions.sum(axis=1) + rng.normal(0, 6e3 * size, n_weeks)
        frames.append(pd.DataFrame({"geo": geo, "date": weeks.strftime("%Y-%m-%d"),
                                    "revenue": revenue.round(2),
                                    **{c: spend[:, i].round(2) for i, c in enumerate(names)}}))
        truth.update({f"{geo}/{channel}": roi for channel, roi in
                      _roi(contributions, spend, names).items()})
    return KnownTruth(name, pd.concat(frames, ignore_index=True), truth,
                      f"generated: {n_series} markets x {n_weeks} weeks x {n_channels} channels "
                      "(column geo), geometric adstock + Hill, ROI differs by market")


def geo_brand(seed: int = 16) -> KnownTruth:
    """One brand in 8 markets (column ``geo``) x 104 weeks (2023-01-02 on) x 8 channels, its
    media effects drawn hierarchically, with thin markets: the case partial pooling is for.

    Brand level, per channel c (``PORTFOLIO_CHANNELS``): adstock decay d_c, half-saturation
    h_c, shape k_c and a coefficient per unit of market size coef_c. Market g (size s_g =
    exp(u_g), u_g evenly spaced over [log 0.3, log 2], shuffled):

    - decay_gc = logistic(logit(d_c) + Normal(0, 0.3)), half_sat_gc = h_c exp(Normal(0, 0.2)),
      shape k_c (shared), coef_gc = coef_c s_g exp(Normal(0, 0.25)): markets deviate from the
      brand, so ROI differs by market around a brand level;
    - revenue_gt = 300k s_g (1 + b_g t/T + a_g sin(2 pi doy/365.25 + phi_g))
      + sum_c coef_gc * hill(adstock(spend_gct / (r_c s_g); decay_gc); half_sat_gc, k_c)
      + Normal(0, 8k s_g), with r_c the brand's reference weekly spend (90k for tv and video,
      25k for the others), and the market's own trend b_g ~ U(-0.05, 0.15), season
      a_g ~ U(0.03, 0.1) and phase phi_g;
    - spend as in :func:`portfolio` (always-on, variable with off weeks, flights), times s_g.

    Thin data: in the three smallest markets, four channels (social, tv, display, video)
    spend little in 4-8 weeks only (one small test burst, 5-15k a week before the market's
    size), the rest of the time nothing; those (market, channel) pairs are listed in ``thin``.
    (A first version with large bursts, 20-60k over 6-10 weeks, was not thin in effect: every
    market's own fit recovered those pairs as well as the others.) True ROI per market is keyed
    ``<geo>/<channel>`` (PrismMMM's definition: contribution over spend, every week).
    """
    rng = np.random.default_rng(seed)
    n_markets, n_weeks = 8, 104
    weeks = _weeks("2023-01-02", n_weeks)
    doy = weeks.day_of_year.to_numpy(dtype=float)
    names = [k[0] for k in PORTFOLIO_CHANNELS]
    decay = np.array([k[1] for k in PORTFOLIO_CHANNELS])
    half_sat = np.array([k[2] for k in PORTFOLIO_CHANNELS])
    shape = np.array([k[3] for k in PORTFOLIO_CHANNELS])
    coef = np.array([k[4] for k in PORTFOLIO_CHANNELS])
    reference = np.array([90e3 if n in ("tv", "video") else 25e3 for n in names])
    sizes = np.exp(rng.permutation(np.linspace(np.log(0.3), np.log(2.0), n_markets)))
    smallest = set(np.argsort(sizes)[:3])
    thin_channels = ("social", "tv", "display", "video")
    media = MediaTransform("geometric", "hill", max_lag=8)
    frames, truth, thin = [], {}, []
    for g, size in enumerate(sizes):
        geo = f"m{g + 1:02d}"
        phase = rng.uniform(0, 2 * np.pi)
        season = rng.uniform(0.03, 0.1) * np.sin(2 * np.pi * doy / 365.25 + phase)
        columns = []
        for name in names:
            if g in smallest and name in thin_channels:
                burst = np.zeros(n_weeks)
                length, start = int(rng.integers(4, 9)), int(rng.integers(8, n_weeks - 20))
                burst[start:start + length] = rng.uniform(5e3, 15e3, length)
                columns.append(burst)
                thin.append(f"{geo}/{name}")
            elif name in ("tv", "video"):
                columns.append(_flights(rng, n_weeks, first=int(rng.integers(1, 6)),
                                        lengths=(3, 7), gaps=(3, 8), spend=(40e3, 90e3)))
            elif name in ("social", "display", "radio"):
                columns.append(rng.uniform(6e3, 25e3, n_weeks) * (rng.uniform(size=n_weeks) > 0.2))
            else:
                columns.append(rng.uniform(10e3, 20e3, n_weeks) * (1 + 2 * season))
        spend = np.column_stack(columns) * size
        logit = np.log(decay / (1 - decay)) + rng.normal(0, 0.3, len(names))
        # The curves' spend scale is the brand's reference weekly spend times the market's
        # size, not each market's own largest week, so that a half-saturation means the same
        # spend everywhere and a market that spends little sits low on the curve.
        contributions = coef * size * np.exp(rng.normal(0, 0.25, len(names))) * media.features(
            spend, reference * size, decay=1 / (1 + np.exp(-logit)),
            half_sat=half_sat * np.exp(rng.normal(0, 0.2, len(names))), shape=shape)
        base = 300e3 * size * (1 + rng.uniform(-0.05, 0.15) * np.arange(n_weeks) / n_weeks + season)
        revenue = base + contributions.sum(axis=1) + rng.normal(0, 8e3 * size, n_weeks)
        frames.append(pd.DataFrame({"geo": geo, "date": weeks.strftime("%Y-%m-%d"),
                                    "revenue": revenue.round(2),
                                    **{c: spend[:, i].round(2) for i, c in enumerate(names)}}))
        truth.update({f"{geo}/{channel}": roi for channel, roi in
                      _roi(contributions, spend, names).items()})
    return KnownTruth("geo_brand_8m", pd.concat(frames, ignore_index=True), truth,
                      "generated: one brand in 8 markets x 104 weeks x 8 channels (column geo), "
                      "media effects drawn around brand-level values; in the 3 smallest markets "
                      "4 channels spend little in 4-8 weeks only", thin=tuple(thin))


GENERATED = {"brand_4ch": brand_4ch, "awkward_3ch": awkward_3ch,
             "confounded_lift": confounded_lift, "portfolio_3geo": portfolio,
             "geo_brand_8m": geo_brand}
# The end-to-end and recovery sets; confounded_lift is the calibration benchmark's.
DATASETS = {"brand_4ch": brand_4ch, "awkward_3ch": awkward_3ch, "pymc_example": pymc_example,
            "pymc_roas": pymc_roas}


def load(name: str) -> KnownTruth:
    """A known-truth dataset by name; generated ones are read from their committed files."""
    if name in GENERATED:
        path = KNOWN_TRUTH_DIR / f"{name}.csv"
        truth = json.loads((KNOWN_TRUTH_DIR / f"{name}.truth.json").read_text())
        return KnownTruth(name, pd.read_csv(path), truth["true_roi"], truth["description"],
                          tuple(truth.get("lift_tests", ())), tuple(truth.get("thin", ())))
    try:
        return DATASETS[name]()
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; known: {sorted(DATASETS)}") from None


def user_csv(name: str, directory: Path) -> Path:
    """Write dataset ``name`` as the CSV a user would pass to ``prism init``."""
    truth = load(name)
    path = directory / f"{name}.csv"
    directory.mkdir(parents=True, exist_ok=True)
    truth.frame.to_csv(path, index=False)
    return path


if __name__ == "__main__":
    from bench import fivetran_shop  # it imports this module, so not at the top (a cycle)

    for generate in GENERATED.values():
        print(generate().write(KNOWN_TRUTH_DIR))
    print(fivetran_shop.generate().write(fivetran_shop.FIVETRAN_SHOP_DIR))
