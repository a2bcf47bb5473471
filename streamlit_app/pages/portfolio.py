"""Portfolio: every series' ROI per channel side by side, with intervals (``portfolio_roi``)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import charts
import data
import widgets
from prism_mmm.formatting import fmt_interval, fmt_roi

run = data.selected_run()
cfg = data.run_config(run)

st.title("Portfolio")
st.caption(
    "Each brand, market or geo is fitted on its own. Here their ROI per channel sits side by "
    "side with 90% intervals; the dashed line is the median over the series. Green / red: the "
    "whole interval lies above / below that median — the channel works differently there, or "
    "that series' data mislead; look before moving budget between series."
)

with data.section():
    run = data.require_run()
    rows = data.portfolio_roi(run)
    if rows.empty:
        raise data.NotBuilt("No portfolio rows for this run — run `prism build`.")
    n_series = rows["series_id"].nunique()
    if n_series == 1:
        st.info(
            f"This run fitted one series ({rows['series_id'].iloc[0]}); the portfolio view "
            "compares several. Name the id columns in prism.yml (data.series_columns).",
            icon=":material/info:",
        )
    model = widgets.model_picker(rows["model"], cfg.optimizer.model, key="portfolio_model")
    shown = rows[rows["model"] == model]
    outlying = shown[shown["versus_portfolio"].isin(["above", "below"])]
    st.metric("Series", n_series, border=True)
    if n_series > 1:
        st.caption(
            f"{len(outlying)} of {len(shown)} series × channel ROI lie wholly above or below "
            "the channel's median." if len(outlying) else
            "Every series' interval contains its channel's median."
        )
    st.plotly_chart(charts.portfolio_roi(rows, model))
    st.dataframe(
        pd.DataFrame(
            {
                "Series": shown["series_id"],
                "Channel": [charts.label(c) for c in shown["channel"]],
                "ROI": [fmt_roi(v) for v in shown["roi"]],
                "90% interval": [fmt_interval(lo, hi) for lo, hi in
                                 zip(shown["roi_low"], shown["roi_high"])],
                "Median over series": [fmt_roi(v) for v in shown["median_roi"]],
                "Versus the median": shown["versus_portfolio"],
                "Models agree": shown["confirmed"],
            }
        ),
        hide_index=True,
    )
