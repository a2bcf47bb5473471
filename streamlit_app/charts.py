"""Plotly figures and labels for the app.

Every figure takes the frames returned by :mod:`data` and only lays them out: no statistics are
computed here (they come from the warehouse tables or the package). Labels are written for a
business reader: channel ids become "Google Search", models "Bayesian" (label and colour from
the model registry), money "LCU 1.23M" (numbers through :mod:`prism_mmm.formatting`, as in the
report).
"""

from __future__ import annotations

import re

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from prism_mmm.calibration import PASS_Z
from prism_mmm.formatting import fmt_money, fmt_name
from prism_mmm.models import REGISTRY, in_model_order, model_colour

STATUS_COLOURS = {
    "pass": "green",
    "ok": "green",
    "warn": "orange",
    "warning": "orange",
    "fail": "red",
    "failed": "red",
}
_LAYOUT = {
    "template": "plotly_white",
    "margin": {"l": 10, "r": 10, "t": 50, "b": 10},
    # Below the plot: above it the legend collides with the title and the mode bar.
    "legend": {"orientation": "h", "yanchor": "top", "y": -0.15, "xanchor": "left", "x": 0},
    "hovermode": "x unified",
}


# -- labels and numbers ------------------------------------------------------------------------
def label(name: str) -> str:
    """Readable label for a channel/column id: ``google_pmax`` -> ``Google PMax``."""
    return fmt_name(name)


def model_label(model: str) -> str:
    """Display name of a model id (``bayes`` -> ``Bayesian``); an unregistered id (an old
    run's model) is made readable like a channel id."""
    return REGISTRY[model].label if model in REGISTRY else label(model)


def scenario_label(name: str) -> str:
    """``optimal_budget_plus_20`` -> ``Optimal, budget +20%``; ``current`` -> ``Today's split``."""
    if name == "current":
        return "Today's split"
    if name == "optimal_same_budget":
        return "Optimal, same budget"
    match = re.fullmatch(r"optimal_budget_(plus|minus)_(.+)", name)
    if match:
        return f"Optimal, budget {'+' if match[1] == 'plus' else '−'}{match[2]}%"
    return name.replace("_", " ").capitalize()


def _money_axis(fig: go.Figure, currency: str, axis: str = "yaxis") -> None:
    # SI suffixes read better than raw digits; "G" is plotly's word for a billion.
    fig.update_layout({axis: {"tickprefix": f"{currency} ", "tickformat": ".3~s"}})


def _finish(fig: go.Figure, title: str, height: int = 420) -> go.Figure:
    fig.update_layout(title={"text": title, "x": 0, "font": {"size": 16}}, height=height, **_LAYOUT)
    return fig


# -- Data page ---------------------------------------------------------------------------------
def spend_kpi_over_time(
    spend: pd.DataFrame, kpi: pd.DataFrame, anomalies: pd.DataFrame, currency: str
) -> go.Figure:
    """Weekly spend stacked by channel with the KPI on a second axis.

    Parameters
    ----------
    spend : long frame ``week_start_date, channel, spend``.
    kpi : ``week_start_date, kpi, is_anomaly, known_issue_id`` (``mmm_input``).
    anomalies : ``week_start_date, column_name`` (``eda_anomalies``), marked as points.
    currency : currency label for the axes.
    """
    fig = go.Figure()
    for channel, rows in spend.groupby("channel", sort=True):
        fig.add_trace(
            go.Bar(
                x=rows["week_start_date"],
                y=rows["spend"],
                name=label(channel),
                hovertemplate="%{y:,.0f}",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=kpi["week_start_date"],
            y=kpi["kpi"],
            name="KPI",
            yaxis="y2",
            mode="lines",
            line={"color": "black", "width": 2},
            hovertemplate="%{y:,.0f}",
        )
    )
    flagged = kpi[kpi["week_start_date"].isin(anomalies["week_start_date"])]
    fig.add_trace(
        go.Scatter(
            x=flagged["week_start_date"],
            y=flagged["kpi"],
            yaxis="y2",
            mode="markers",
            name="Anomaly week",
            marker={"color": "orange", "size": 11, "symbol": "circle-open", "line": {"width": 3}},
        )
    )
    for week in kpi.loc[kpi["known_issue_id"].notna(), "week_start_date"]:
        fig.add_vrect(
            x0=week - pd.Timedelta(days=3),
            x1=week + pd.Timedelta(days=4),
            fillcolor="red",
            opacity=0.15,
            line_width=0,
        )
    if kpi["known_issue_id"].notna().any():
        # A legend entry for the shaded known-issue weeks (vrects have none).
        fig.add_trace(
            go.Bar(
                x=[None], y=[None], name="Known issue week", marker={"color": "rgba(255,0,0,0.25)"}
            )
        )
    fig.update_layout(
        barmode="stack",
        yaxis2={
            "overlaying": "y",
            "side": "right",
            "showgrid": False,
            "tickprefix": f"{currency} ",
            "tickformat": ".3~s",
            "rangemode": "tozero",
            "title": "KPI",
        },
        yaxis_title="Weekly spend",
    )
    _money_axis(fig, currency)
    return _finish(fig, "Weekly spend by channel and KPI", height=480)


def correlation_heatmap(corr: pd.DataFrame) -> go.Figure:
    """Heatmap of ``eda_correlation`` (variable_a, variable_b, correlation)."""
    wide = corr.pivot(index="variable_a", columns="variable_b", values="correlation")
    order = [v for v in wide.index if v != "kpi"] + (["kpi"] if "kpi" in wide.index else [])
    wide = wide.loc[order, order]
    names = [label(v) for v in order]
    fig = go.Figure(
        go.Heatmap(
            z=wide.to_numpy(),
            x=names,
            y=names,
            zmin=-1,
            zmax=1,
            colorscale="RdBu",
            reversescale=True,
            text=wide.round(2).to_numpy(),
            texttemplate="%{text}",
            hovertemplate="%{y} × %{x}: %{z:.2f}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig = _finish(fig, "Correlations", height=520)
    fig.update_layout(hovermode="closest")
    return fig


def vif_bars(vif: pd.DataFrame) -> go.Figure:
    """Variance inflation factor per channel with the usual 5 and 10 warning lines."""
    vif = vif.sort_values("vif")
    colours = ["red" if v >= 10 else "orange" if v >= 5 else "#4C78A8" for v in vif["vif"]]
    fig = go.Figure(
        go.Bar(
            x=vif["vif"],
            y=[label(c) for c in vif["channel"]],
            orientation="h",
            marker_color=colours,
            hovertemplate="VIF %{x:.2f}<extra></extra>",
        )
    )
    for level, text in ((5, "5: some collinearity"), (10, "10: strong collinearity")):
        fig.add_vline(x=level, line_dash="dot", line_color="grey", annotation_text=text)
    fig = _finish(fig, "Collinearity (VIF)", height=360)
    fig.update_layout(hovermode="closest", xaxis_title="VIF")
    return fig


# -- Models page -------------------------------------------------------------------------------
def actual_vs_predicted(pred: pd.DataFrame, currency: str) -> go.Figure:
    """Actual KPI and each model's prediction (with band when present); holdout shaded."""
    fig = go.Figure()
    first = pred[pred["model"] == pred["model"].iloc[0]].sort_values("week_start_date")
    fig.add_trace(
        go.Scatter(
            x=first["week_start_date"],
            y=first["actual"],
            name="Actual",
            mode="lines",
            line={"color": "black", "width": 2},
        )
    )
    for model in in_model_order(pred["model"]):
        rows = pred[pred["model"] == model].sort_values("week_start_date")
        colour = model_colour(model)
        if rows["low"].notna().any():
            fig.add_trace(
                go.Scatter(
                    x=pd.concat([rows["week_start_date"], rows["week_start_date"][::-1]]),
                    y=pd.concat([rows["high"], rows["low"][::-1]]),
                    fill="toself",
                    opacity=0.15,
                    line={"width": 0},
                    fillcolor=colour,
                    hoverinfo="skip",
                    showlegend=False,
                )
            )
        fig.add_trace(
            go.Scatter(
                x=rows["week_start_date"],
                y=rows["predicted"],
                name=model_label(model),
                mode="lines",
                line={"color": colour, "dash": "dot"},
            )
        )
    holdout = first[first["split"] == "holdout"]["week_start_date"]
    if len(holdout):
        fig.add_vrect(
            x0=holdout.min(),
            x1=holdout.max(),
            fillcolor="grey",
            opacity=0.12,
            line_width=0,
            annotation_text="Holdout (not used for fitting)",
            annotation_position="top left",
        )
    _money_axis(fig, currency)
    return _finish(fig, "Actual vs predicted KPI", height=460)


# -- ROI page ----------------------------------------------------------------------------------
def _roi_interval(rows: pd.DataFrame, thickness: float) -> dict:
    """Error bars from ``roi`` to ``roi_low`` / ``roi_high`` (the 90% interval)."""
    return {"type": "data", "symmetric": False, "array": rows["roi_high"] - rows["roi"],
            "arrayminus": rows["roi"] - rows["roi_low"], "thickness": thickness}


def roi_by_channel(roi: pd.DataFrame, model: str) -> go.Figure:
    """ROI point and 90% interval per channel for one model (``channel_roi`` rows)."""
    rows = roi[roi["model"] == model].sort_values("roi")
    fig = go.Figure(
        go.Scatter(
            x=rows["roi"],
            y=[label(c) for c in rows["channel"]],
            mode="markers",
            name=model_label(model),
            marker={"size": 12, "color": model_colour(model)},
            error_x=_roi_interval(rows, thickness=1.5),
            customdata=rows[["roi_low", "roi_high"]],
            hovertemplate="ROI %{x:.2f} (90%: %{customdata[0]:.2f} – %{customdata[1]:.2f})"
            "<extra></extra>",
        )
    )
    fig.add_vline(x=1, line_dash="dot", line_color="grey", annotation_text="break-even")
    fig = _finish(
        fig,
        f"ROI per channel with 90% intervals ({model_label(model)})",
        height=140 + 45 * len(rows),
    )
    fig.update_layout(
        hovermode="closest", xaxis_title="Revenue per unit of spend", showlegend=False
    )
    return fig


VERSUS_COLOURS = {"above": "green", "below": "red", "in line": "grey"}


def portfolio_roi(rows: pd.DataFrame, model: str) -> go.Figure:
    """Small multiples, one panel per channel: each series' ROI and 90% interval for one model,
    coloured by ``versus_portfolio``, with the median over the series as a dashed line
    (``portfolio_roi`` rows)."""
    rows = rows[rows["model"] == model]
    channels = sorted(rows["channel"].unique())
    series = sorted(rows["series_id"].unique())
    columns = min(3, len(channels))
    n_rows = -(-len(channels) // columns)
    height = 120 + n_rows * (60 + 28 * len(series))
    fig = make_subplots(rows=n_rows, cols=columns, subplot_titles=[label(c) for c in channels],
                        shared_yaxes=True, vertical_spacing=min(0.3, 90 / height))
    for i, channel in enumerate(channels):
        cell = rows[rows["channel"] == channel].set_index("series_id").reindex(series)
        where = {"row": i // columns + 1, "col": i % columns + 1}
        fig.add_trace(
            go.Scatter(
                x=cell["roi"],
                y=series,
                mode="markers",
                marker={"size": 10, "color": [VERSUS_COLOURS.get(v, "black")
                                              for v in cell["versus_portfolio"]]},
                error_x=_roi_interval(cell, thickness=1.2),
                customdata=cell[["roi_low", "roi_high", "versus_portfolio"]],
                hovertemplate="%{y}: ROI %{x:.2f} (90%: %{customdata[0]:.2f} – "
                "%{customdata[1]:.2f}), %{customdata[2]}<extra></extra>",
                showlegend=False,
            ),
            **where,
        )
        median = cell["median_roi"].dropna()
        if len(median):
            fig.add_vline(x=float(median.iloc[0]), line_dash="dash", line_color="grey", **where)
    fig = _finish(fig, f"ROI per series with 90% intervals ({model_label(model)}); dashed: "
                  "median over the series", height=height)
    fig.update_layout(hovermode="closest")
    return fig


def stacked_contributions(contrib: pd.DataFrame, currency: str) -> go.Figure:
    """Weekly contributions stacked: baseline first, then channels and controls."""
    fig = go.Figure()
    components = sorted(contrib["component"].unique(), key=lambda c: (c != "baseline", c))
    for component in components:
        rows = contrib[contrib["component"] == component].sort_values("week_start_date")
        fig.add_trace(
            go.Scatter(
                x=rows["week_start_date"],
                y=rows["value"],
                name=label(component),
                stackgroup="one",
                mode="lines",
                line={"width": 0.5},
                hovertemplate="%{y:,.0f}",
            )
        )
    _money_axis(fig, currency)
    return _finish(fig, "Weekly KPI split into baseline and channel contributions", height=480)


# -- Planning page -----------------------------------------------------------------------------
def response_curve(curves: pd.DataFrame, channel: str, model: str, currency: str) -> go.Figure:
    """One channel's weekly response curve: ``model`` with its 90% band and today's spend
    marked, the other models as thin dashed lines for comparison (their bands would hide it)."""
    fig = go.Figure()
    of_channel = curves[curves["channel"] == channel]
    rows_by_model = {
        name: of_channel[of_channel["model"] == name] for name in in_model_order(of_channel["model"])
    }
    for other, rows in rows_by_model.items():
        if other == model:
            continue
        rows = rows.sort_values("spend")
        fig.add_trace(
            go.Scatter(
                x=rows["spend"],
                y=rows["response"],
                name=model_label(other),
                mode="lines",
                line={"color": model_colour(other), "width": 1.5, "dash": "dash"},
                hovertemplate="%{y:,.0f}",
            )
        )
    if model in rows_by_model:
        rows = rows_by_model[model].sort_values("spend")
        colour = model_colour(model)
        fig.add_trace(
            go.Scatter(
                x=pd.concat([rows["spend"], rows["spend"][::-1]]),
                y=pd.concat([rows["high"], rows["low"][::-1]]),
                fill="toself",
                fillcolor=colour,
                opacity=0.2,
                line={"width": 0},
                hoverinfo="skip",
                name=f"90% interval ({model_label(model)})",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=rows["spend"],
                y=rows["response"],
                name=model_label(model),
                mode="lines",
                line={"color": colour, "width": 3},
                customdata=rows["marginal_roi"],
                hovertemplate="%{y:,.0f} (marginal ROI %{customdata:.2f})",
            )
        )
        current = rows[rows["is_current_spend"].fillna(False).astype(bool)]
        fig.add_trace(
            go.Scatter(
                x=current["spend"],
                y=current["response"],
                mode="markers",
                marker={
                    "color": colour,
                    "size": 14,
                    "symbol": "diamond",
                    "line": {"color": "black", "width": 1},
                },
                name="Today's weekly spend",
                hovertemplate="today's weekly spend %{x:,.0f}<extra></extra>",
            )
        )
    _money_axis(fig, currency)
    _money_axis(fig, currency, "xaxis")
    top = curves.loc[curves["channel"] == channel, "response"].max()
    if top > 0:
        # Scale to the curves: one model's wide band must not flatten the others' lines.
        fig.update_yaxes(range=[0, 1.3 * top])
    fig = _finish(fig, f"{label(channel)}: weekly KPI response to weekly spend", height=440)
    fig.update_layout(xaxis_title="Weekly spend", yaxis_title="Weekly KPI from this channel")
    return fig


def allocation_bars(allocation: pd.DataFrame, currency: str) -> go.Figure:
    """Current vs optimal weekly spend per channel (``channel, current_spend, optimal_spend``)."""
    names = [label(c) for c in allocation["channel"]]
    fig = go.Figure(
        [
            go.Bar(
                x=names,
                y=allocation["current_spend"],
                name="Current",
                marker_color="#9D9DA1",
                hovertemplate="%{y:,.0f}",
            ),
            go.Bar(
                x=names,
                y=allocation["optimal_spend"],
                name="Recommended",
                marker_color="#4C78A8",
                hovertemplate="%{y:,.0f}",
            ),
        ]
    )
    fig.update_layout(barmode="group", yaxis_title="Weekly spend")
    _money_axis(fig, currency)
    return _finish(fig, "Weekly spend per channel: current vs recommended", height=420)


# -- Experiments page --------------------------------------------------------------------------
def lift_tests(rows: pd.DataFrame, currency: str) -> go.Figure:
    """One panel per lift test: the measured lift (dashed line) with its ±2 standard error
    band, and each model's implied lift as a point (filled: the fit calibrated on the test;
    open: only checked against it). A fit calibrated on the test whose earlier round fitted
    without it shows that fit too (grey cross), joined to the calibrated point.

    Parameters
    ----------
    rows : ``experiment_lifts`` rows of one round with ``prism_mmm.calibration.with_before``'s
        ``before_*`` columns.
    currency : currency label for the axes.
    """
    tests = rows.drop_duplicates("experiment_id").sort_values("experiment_id")
    titles = [
        f"{t.experiment_id} · {label(t.channel)}: measured "
        f"{fmt_money(t.measured_lift, currency)} ± {fmt_money(t.measured_lift_se, currency)}"
        for t in tests.itertuples()
    ]
    models = in_model_order(rows["model"])
    height = 120 + len(tests) * (90 + 45 * len(models))
    fig = make_subplots(
        rows=len(tests), cols=1, subplot_titles=titles, vertical_spacing=80 / height
    )
    shown: set[str] = set()
    for i, test in enumerate(tests.itertuples(), start=1):
        band = PASS_Z * test.measured_lift_se
        # Shapes go on a subplot only once it has a trace: the band's edges as invisible
        # points also keep it inside the axis range.
        fig.add_trace(
            go.Scatter(
                x=[test.measured_lift - band, test.measured_lift + band],
                y=[model_label(models[0])] * 2,
                mode="markers",
                marker={"opacity": 0},
                hoverinfo="skip",
                showlegend=False,
            ),
            row=i,
            col=1,
        )
        fig.add_vrect(
            x0=test.measured_lift - band,
            x1=test.measured_lift + band,
            fillcolor="green",
            opacity=0.12,
            line_width=0,
            row=i,
            col=1,
        )
        fig.add_vline(x=test.measured_lift, line_dash="dash", line_color="black", row=i, col=1)
        of_test = rows[rows["experiment_id"] == test.experiment_id].set_index("model")
        for model in [m for m in models if m in of_test.index]:
            r = of_test.loc[model]
            name = model_label(model)
            if pd.notna(r["before_implied_lift"]):
                fig.add_trace(
                    go.Scatter(
                        x=[r["before_implied_lift"], r["implied_lift"]],
                        y=[name, name],
                        mode="lines+markers",
                        line={"color": "grey", "width": 1, "dash": "dot"},
                        marker={"symbol": ["x", "circle"], "size": [10, 0], "color": "grey"},
                        name="Before calibration",
                        legendgroup="before",
                        showlegend="before" not in shown,
                        hovertemplate=f"before calibration (round {int(r['before_round'])}): "
                        f"%{{x:,.0f}}, z {r['before_z_score']:.1f}<extra>{name}</extra>",
                    ),
                    row=i,
                    col=1,
                )
                shown.add("before")
            calibrated = bool(r["calibrated"])
            fig.add_trace(
                go.Scatter(
                    x=[r["implied_lift"]],
                    y=[name],
                    mode="markers",
                    marker={
                        "color": model_colour(model),
                        "size": 13,
                        "symbol": "circle" if calibrated else "circle-open",
                        "line": {"width": 2, "color": model_colour(model)},
                    },
                    name=name,
                    legendgroup=model,
                    showlegend=model not in shown,
                    hovertemplate=f"implied %{{x:,.0f}}, z {r['z_score']:.1f} ({r['status']}; "
                    + ("calibrated on the test" if calibrated else "only checked against it")
                    + f")<extra>{name}</extra>",
                ),
                row=i,
                col=1,
            )
            shown.add(model)
    # A legend entry for the shaded bands (vrects have none).
    fig.add_trace(
        go.Bar(
            x=[None],
            y=[None],
            name=f"Measured lift ± {PASS_Z:.0f} standard errors",
            marker={"color": "rgba(0,128,0,0.25)"},
        )
    )
    fig.update_xaxes(tickprefix=f"{currency} ", tickformat=".3~s", rangemode="tozero")
    fig.update_yaxes(autorange="reversed")
    fig = _finish(fig, "Implied against measured lift", height=height)
    fig.update_layout(hovermode="closest")
    return fig


# -- Loop page ---------------------------------------------------------------------------------
def loop_scores(rounds: pd.DataFrame) -> go.Figure:
    """Agreed score and best-so-far per round (``agent_rounds``)."""
    rounds = rounds.sort_values("round")
    fig = go.Figure(
        [
            go.Scatter(
                x=rounds["round"],
                y=rounds["score"],
                name="Score this round",
                mode="lines+markers",
                marker={"size": 10},
            ),
            go.Scatter(
                x=rounds["round"],
                y=rounds["best_score"],
                name="Best so far",
                mode="lines",
                line={"dash": "dot"},
            ),
        ]
    )
    fig = _finish(fig, "Model score per round of the improvement loop", height=360)
    fig.update_layout(xaxis={"title": "Round", "dtick": 1}, yaxis_title="Score")
    return fig
