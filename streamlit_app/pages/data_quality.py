"""Data: spend and KPI over time with anomaly and known-issue weeks, channels, collinearity."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import charts
import data

cfg = data.run_config(data.selected_run())
currency = cfg.data.currency

st.title("Data")
st.caption("What went into the models. The data tables reflect the latest `prism build`.")

with data.section():
    weeks = data.kpi_weeks()
    spend = data.weekly_spend()
    flagged = data.anomalies()
    st.plotly_chart(charts.spend_kpi_over_time(spend, weeks, flagged, currency))
    st.caption(
        "Circles mark weeks where the KPI or a channel's spend is unusual (|z| > "
        f"{cfg.anomaly_z:g}); red bands are known issues from the knowledge layer."
    )

st.subheader("Unusual weeks")
with data.section():
    flagged = data.anomalies()
    if flagged.empty:
        st.info("No unusual weeks were flagged.")
    else:
        st.dataframe(
            pd.DataFrame(
                {
                    "Week": flagged["week_start_date"].dt.date,
                    "Column": [charts.label(c) for c in flagged["column_name"]],
                    "Value": flagged["value"],
                    "z-score": flagged["z_score"],
                    "Known issue": flagged["known_issue_id"].fillna(""),
                }
            ),
            hide_index=True,
            column_config={
                "Value": st.column_config.NumberColumn(format="%,.0f"),
                "z-score": st.column_config.NumberColumn(format="%.1f"),
            },
        )
    with data.section():
        issues = data.known_issues()
        for issue in issues.itertuples():
            st.markdown(
                f"**{issue.issue_id}** ({issue.start_date:%d %b %Y}"
                f"{'' if issue.end_date == issue.start_date else f' – {issue.end_date:%d %b %Y}'}, "
                f"action: {issue.action}): {issue.description}"
            )

st.subheader("Channels")
with data.section():
    summary = data.channel_summary()
    st.dataframe(
        pd.DataFrame(
            {
                "Channel": [charts.label(c) for c in summary["channel"]],
                f"Total spend ({currency})": summary["total_spend"],
                "Share of spend": summary["spend_share"] * 100,
                f"Average weekly spend ({currency})": summary["mean_weekly_spend"],
                "Weeks with no spend": summary["zero_weeks"],
                "Variation (CV)": summary["cv"],
                "Correlation with KPI": summary["corr_with_kpi"],
            }
        ),
        hide_index=True,
        column_config={
            f"Total spend ({currency})": st.column_config.NumberColumn(format="%,.0f"),
            "Share of spend": st.column_config.ProgressColumn(
                format="%.1f%%", min_value=0, max_value=100
            ),
            f"Average weekly spend ({currency})": st.column_config.NumberColumn(format="%,.0f"),
            "Variation (CV)": st.column_config.NumberColumn(format="%.2f"),
            "Correlation with KPI": st.column_config.NumberColumn(format="%.2f"),
        },
    )

left, right = st.columns(2)
with left, data.section():
    st.plotly_chart(charts.correlation_heatmap(data.correlation()))
with right, data.section():
    st.plotly_chart(charts.vif_bars(data.vif()))
    st.caption(
        "Channels that move together (high VIF) are hard to separate: their individual "
        "ROI is less certain."
    )
