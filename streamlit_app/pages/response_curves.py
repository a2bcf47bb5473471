"""Response curves & budget: curves with bands, the saved scenarios, an interactive optimiser.

The optimiser is the package's (``prism_mmm.optimizer.user_scenario``) evaluated on the saved
response surface of the chosen fit; the page only collects inputs and shows the answer. The
scenario is offered as a CSV download and never written to the warehouse (the app is read-only).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

import charts
import data
import widgets
from prism_mmm.formatting import fmt_money, fmt_roi
from prism_mmm.models import in_model_order, shown_model
from prism_mmm.optimizer import BudgetError, current_allocation, user_scenario

run = data.selected_run()
cfg = data.run_config(run)
currency = cfg.data.currency
horizon = cfg.optimizer.horizon_weeks

st.title("Response curves & budget")
st.caption(
    "How much weekly KPI each channel returns for a sustained weekly spend, and how to "
    "split a weekly budget. KPI figures here count the media-driven part only: the "
    "baseline does not depend on the split."
)

with data.section():
    run = data.require_run()
    curves = data.response_curves(run)
    if curves.empty:
        raise data.NotBuilt("No response curves for this run — run `prism build`.")
    channels = sorted(curves["channel"].unique())
    left, right = st.columns([2, 3])
    channel = left.selectbox("Channel", channels, format_func=charts.label, key="curve_channel")
    model = widgets.model_picker(curves["model"], cfg.optimizer.model, key="curve_model",
                                 container=right)
    st.plotly_chart(charts.response_curve(curves, channel, model, currency))
    st.caption(
        "The shaded band is the chosen model's 90% interval and the diamond today's average "
        "weekly spend; dashed lines are the other models. Where a curve flattens, extra spend "
        "buys little."
    )

st.subheader("Saved budget scenarios")
with data.section():
    run = data.require_run()
    scenarios = data.budget_scenarios(run)
    if scenarios.empty:
        raise data.NotBuilt("No budget scenarios for this run — run `prism build`.")
    model = shown_model(scenarios["model"], cfg.optimizer.model)
    rows = scenarios[scenarios["model"] == model]
    # Scenario-level figures repeat on every channel row: read them once per scenario.
    summary = rows.groupby(["scenario_id", "scenario"], sort=False).first().reset_index()
    summary = summary.sort_values(  # today's split, same budget, then by budget
        ["scenario", "total_budget"],
        key=lambda col: (
            col.map({"current": 0, "optimal_same_budget": 1}).fillna(2)
            if col.name == "scenario"
            else col
        ),
    )
    st.dataframe(
        pd.DataFrame(
            {
                "Scenario": [charts.scenario_label(s) for s in summary["scenario"]],
                f"Weekly budget ({currency})": summary["total_budget"],
                f"Media KPI over {horizon} weeks ({currency})": summary["expected_kpi"],
                "90% interval": [
                    f"{fmt_money(lo, currency)} – {fmt_money(hi, currency)}"
                    for lo, hi in zip(summary["expected_kpi_low"], summary["expected_kpi_high"])
                ],
                "ROI": summary["expected_roi"],
            }
        ),
        hide_index=True,
        column_config={
            f"Weekly budget ({currency})": st.column_config.NumberColumn(format="%,.0f"),
            f"Media KPI over {horizon} weeks ({currency})": st.column_config.NumberColumn(
                format="%,.0f"
            ),
            "ROI": st.column_config.NumberColumn(format="%.2f"),
        },
    )
    wide = rows.pivot(index="channel", columns="scenario", values="optimal_spend")
    wide = wide[[s for s in summary["scenario"] if s in wide.columns]]
    wide.index = [charts.label(c) for c in wide.index]
    wide.columns = [charts.scenario_label(s) for s in wide.columns]
    st.caption(
        f"Weekly spend per channel in each scenario ({charts.model_label(model)} model, "
        f"{currency}):"
    )
    st.dataframe(
        wide, column_config={c: st.column_config.NumberColumn(format="%,.0f") for c in wide.columns}
    )

st.subheader("Try your own budget")
with data.section():
    run = data.require_run()
    fitted = in_model_order(data.channel_roi(run)["model"])
    if not fitted:
        raise data.NotBuilt("No fitted model in this run — run `prism build`.")
    model = st.selectbox(
        "Model",
        fitted,
        index=fitted.index(shown_model(fitted, cfg.optimizer.model)),
        format_func=charts.model_label,
        key="opt_model",
    )
    surface = data.response_surface(run, model)
    history = data.spend_history(surface.channels)
    try:
        agreement = data.agreement(run)
        confirmed = dict(zip(agreement["channel"], agreement["confirmed"].fillna(False)))
    except data.WarehouseUnavailable:
        confirmed = {}  # no agreement yet: every channel gets the cautious default limits
    now = current_allocation(surface, history, confirmed, horizon)

    budget = st.number_input(
        f"Total weekly budget ({currency})",
        min_value=0.0,
        value=float(round(now.total_budget)),
        step=float(max(round(now.total_budget * 0.05, -3), 1.0)),
        format="%.0f",
        key="opt_budget",
        help=f"Today's average weekly spend is {fmt_money(now.total_budget, currency)}.",
    )
    with st.expander("Channel limits and locks", expanded=False):
        st.caption(
            f"Leave a limit blank for the default: ±{cfg.optimizer.max_change_pct:g}% around "
            "today's spend (scaled to the budget) for channels the models agree on, "
            f"±{cfg.optimizer.unconfirmed_max_change_pct:g}% for the others. A limit you set "
            "replaces that default. A locked channel stays at today's spend."
        )
        bounds: dict[str, tuple[float, float]] = {}
        locked: list[str] = []
        for c, name in enumerate(surface.channels):
            cols = st.columns([3, 1, 2, 2], vertical_alignment="bottom")
            cols[0].markdown(
                f"**{charts.label(name)}**  \n"
                f"today {fmt_money(now.current_spend[c], currency)}/week"
                + ("" if confirmed.get(name) else " · not confirmed")
            )
            if cols[1].checkbox("Lock", key=f"opt_lock_{name}"):
                locked.append(name)
            low = cols[2].number_input(
                "Min per week", min_value=0.0, value=None, format="%.0f", key=f"opt_min_{name}"
            )
            high = cols[3].number_input(
                "Max per week", min_value=0.0, value=None, format="%.0f", key=f"opt_max_{name}"
            )
            if low is not None or high is not None:
                bounds[name] = (low or 0.0, float("inf") if high is None else high)

    try:
        allocation, scenario = user_scenario(
            surface, history, confirmed, cfg, run.run_id, run.round, model, budget, bounds, locked
        )
    except BudgetError as exc:
        st.error(f"This budget cannot be allocated: {exc}")
    else:
        kpi, base = allocation.kpi, now.kpi
        cols = st.columns(3)
        cols[0].metric(
            f"Expected media KPI, {horizon} weeks (recommended)",
            fmt_money(kpi.mean, currency),
            delta=fmt_money(kpi.mean - base.mean, currency),
            help="Mean over the model's draws; the change is against today's split.",
        )
        cols[0].caption(
            f"90% interval {fmt_money(kpi.low, currency)} – "
            f"{fmt_money(kpi.high, currency)}"
        )
        cols[1].metric(
            f"Expected media KPI, {horizon} weeks (today's split)",
            fmt_money(base.mean, currency),
        )
        cols[1].caption(
            f"90% interval {fmt_money(base.low, currency)} – "
            f"{fmt_money(base.high, currency)}"
        )
        cols[2].metric("ROI of the recommended split", fmt_roi(allocation.expected_roi))
        st.plotly_chart(charts.allocation_bars(scenario, currency))
        change = (scenario["optimal_spend"] / scenario["current_spend"] - 1) * 100
        st.dataframe(
            pd.DataFrame(
                {
                    "Channel": [charts.label(c) for c in scenario["channel"]],
                    f"Today ({currency}/week)": scenario["current_spend"],
                    f"Recommended ({currency}/week)": scenario["optimal_spend"],
                    "Change": change.where(scenario["current_spend"] > 0),
                    f"Allowed from ({currency})": scenario["lower_bound"],
                    f"Allowed to ({currency})": scenario["upper_bound"],
                    "Locked": scenario["is_locked"],
                    "Models agree": scenario["is_confirmed"],
                }
            ),
            hide_index=True,
            column_config={
                f"Today ({currency}/week)": st.column_config.NumberColumn(format="%,.0f"),
                f"Recommended ({currency}/week)": st.column_config.NumberColumn(format="%,.0f"),
                "Change": st.column_config.NumberColumn(format="%+.0f%%"),
                f"Allowed from ({currency})": st.column_config.NumberColumn(format="%,.0f"),
                f"Allowed to ({currency})": st.column_config.NumberColumn(format="%,.0f"),
            },
        )
        st.download_button(
            "Download this scenario (CSV)",
            scenario.to_csv(index=False),
            file_name=f"{run.run_id}_r{run.round}_{model}_scenario.csv",
            mime="text/csv",
            icon=":material/download:",
            key="opt_download",
        )
