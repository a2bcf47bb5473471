"""ROI & contributions: ROI per channel per model with intervals, agreement, weekly split."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import charts
import data
import widgets
from prism_mmm.formatting import fmt_interval, fmt_money, fmt_roi

run = data.selected_run()
cfg = data.run_config(run)
currency = cfg.data.currency

st.title("ROI & contributions")
st.caption(
    "ROI = revenue attributed to a channel per unit of spend over the whole period, "
    "with a 90% interval. It is an association under each model's assumptions, not "
    "proof of cause."
)

with data.section():
    run = data.require_run()
    roi = data.channel_roi(run)
    if roi.empty:
        raise data.NotBuilt("No ROI rows for this run — run `prism build`.")
    model = widgets.model_picker(roi["model"], cfg.optimizer.model, key="roi_model")
    rows = roi[roi["model"] == model].sort_values("roi", ascending=False)
    for start in range(0, len(rows), 4):
        cols = st.columns(4)
        for col, r in zip(cols, rows.iloc[start : start + 4].itertuples()):
            col.metric(
                f"{charts.label(r.channel)} ROI",
                fmt_roi(r.roi),
                border=True,
                help=f"90% interval {fmt_interval(r.roi_low, r.roi_high)}; "
                f"spend {fmt_money(r.spend, currency)}, attributed revenue "
                f"{fmt_money(r.contribution, currency)}",
            )
            col.caption(f"90%: {fmt_interval(r.roi_low, r.roi_high)}")
    st.plotly_chart(charts.roi_by_channel(roi, model))

st.subheader("Do the models agree?")
with data.section():
    run = data.require_run()
    agreement = data.agreement(run)
    st.dataframe(
        pd.DataFrame(
            {
                "Channel": [charts.label(c) for c in agreement["channel"]],
                "ROI (average of models)": agreement["roi_mean"],
                "Spread across models (CV)": agreement["roi_cv"] * 100,
                "Signs agree": agreement["sign_agreement"],
                "Models": agreement["n_models"],
                "Confirmed": agreement["confirmed"],
            }
        ),
        hide_index=True,
        column_config={
            "ROI (average of models)": st.column_config.NumberColumn(format="%.2f"),
            "Spread across models (CV)": st.column_config.NumberColumn(format="%.0f%%"),
        },
    )
    st.caption(
        "Confirmed = every model fitted, the ROI signs agree and the spread is under "
        "50%. Budget advice moves unconfirmed channels less."
    )

st.subheader("Weekly contributions")
with data.section():
    run = data.require_run()
    model = st.session_state.get("roi_model") or cfg.optimizer.model
    contributions = data.weekly_contributions(run, model)
    if contributions.empty:
        st.info(f"No weekly contributions from the {charts.model_label(model)} model in this run.")
    else:
        st.plotly_chart(charts.stacked_contributions(contributions, currency))
        st.caption(
            f"{charts.model_label(model)} model. Baseline = what the KPI would be "
            "without media (trend, seasonality, intercept)."
        )
