"""Data Explorer (round 1): findings from the EDA marts before any model is trusted.

Each finding is one ``agent_decisions`` row (action ``finding``): readiness, collinearity,
anomalies, sparsity and channels with almost no correlation with the KPI. Numbers in ``what``
and ``why`` are formatted table values, so the Proofreader can trace them.
"""

from __future__ import annotations

from agents.warehouse import DataTables
from prism_mmm.formatting import fmt_num, fmt_pct

VIF_WARN = 5.0  # above this a channel's ROI is hard to separate from its correlated peers
VIF_SEVERE = 10.0
SPARSE_SHARE = 0.5  # more than half the weeks without spend: thin signal
WEAK_CORRELATION = 0.1  # |r| with the KPI below this: low identifiability
MAX_LISTED_ANOMALIES = 5


def explore(data: DataTables) -> list[dict]:
    """Findings as partial ``agent_decisions`` rows (``action``, ``what``, ``why``)."""
    findings = [_readiness(data), _collinearity(data), _anomalies(data), _sparsity(data),
                _weak_correlation(data)]
    return [{"agent": "explorer", "action": "finding", **f} for f in findings if f]


def _readiness(data: DataTables) -> dict | None:
    if data.data_readiness.empty:
        return {"what": "data readiness not available",
                "why": "data_readiness is empty: the EDA marts were not built"}
    row = data.data_readiness.iloc[0]
    return {
        "what": f"data readiness {int(row['score'])}/5 "
                f"({int(row['n_weeks'])} weeks, {int(row['n_channels'])} channels)",
        "why": str(row["reasons"] or "no reasons given"),
    }


def _collinearity(data: DataTables) -> dict | None:
    vif = data.eda_vif
    if vif.empty:
        return None
    flagged = vif[vif["vif"] > VIF_WARN].sort_values("vif", ascending=False)
    top = vif.sort_values("vif", ascending=False).iloc[0]
    if flagged.empty:
        return {"what": f"no strong collinearity (max VIF {fmt_num(top['vif'])}, "
                        f"{top['channel']})",
                "why": f"every channel's VIF is at most {fmt_num(VIF_WARN, 0)}"}
    listed = ", ".join(f"{r.channel} {fmt_num(r.vif)}" for r in flagged.itertuples())
    severity = "severe" if top["vif"] > VIF_SEVERE else "moderate"
    return {"what": f"{severity} collinearity: VIF {listed}",
            "why": "ROI of collinear channels is weakly identified: expect the models to "
                   "disagree on how to split credit between them"}


def _anomalies(data: DataTables) -> dict | None:
    anomalies = data.eda_anomalies
    if anomalies.empty:
        return {"what": "no anomalous weeks", "why": "no |z| above the anomaly threshold"}
    ranked = anomalies.assign(abs_z=anomalies["z_score"].abs()).sort_values(
        ["abs_z", "week_start_date"], ascending=[False, True])
    listed = "; ".join(
        f"{_date(r.week_start_date)} {r.column_name} z {fmt_num(r.z_score, 1)}"
        + (f" (known issue {r.known_issue_id})" if r.is_known_issue else "")
        for r in ranked.head(MAX_LISTED_ANOMALIES).itertuples()
    )
    unknown = ranked[~ranked["is_known_issue"].fillna(False).astype(bool)]
    why = ("all are known issues, flagged in the model input" if unknown.empty else
           f"{len(unknown)} not explained by a known issue: check them before trusting "
           "the ROI of channels that spiked in the same weeks")
    return {"what": f"{len(anomalies)} anomalous values: {listed}", "why": why}


def _sparsity(data: DataTables) -> dict | None:
    summary = data.eda_channel_summary
    if summary.empty:
        return None
    sparse = summary[summary["sparsity"] > SPARSE_SHARE].sort_values("sparsity", ascending=False)
    if sparse.empty:
        return {"what": "no sparse channels",
                "why": f"every channel has spend in at least {fmt_pct(1 - SPARSE_SHARE, 0)} "
                       "of weeks"}
    listed = ", ".join(f"{r.channel} {fmt_pct(r.sparsity)} zero-spend weeks"
                       for r in sparse.itertuples())
    return {"what": f"sparse channels: {listed}",
            "why": "few weeks with spend leave little signal: intervals will be wide"}


def _weak_correlation(data: DataTables) -> dict | None:
    summary = data.eda_channel_summary
    if summary.empty or "corr_with_kpi" not in summary:
        return None
    weak = summary[summary["corr_with_kpi"].abs() < WEAK_CORRELATION].sort_values("channel")
    if weak.empty:
        return None
    listed = ", ".join(f"{r.channel} r {fmt_num(r.corr_with_kpi)}" for r in weak.itertuples())
    return {"what": f"near-zero correlation with the KPI: {listed}",
            "why": "low identifiability: these channels' ROI will lean on model assumptions"}


def _date(value: object) -> str:
    return str(value)[:10]
