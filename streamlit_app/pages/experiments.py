"""Experiments: each lift test against each model's implied lift, before and after calibration."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import charts
import data
from prism_mmm.calibration import PASS_Z, WARN_Z, with_before
from prism_mmm.formatting import fmt_int, fmt_num
from prism_mmm.models import in_model_order

run = data.selected_run()
cfg = data.run_config(run)
money = [
    f"{name} ({cfg.data.currency})" for name in ("Measured lift", "Standard error", "Implied lift")
]

st.title("Experiments")
st.caption(
    "A lift test measures what a change in one channel's spend really added. Every build "
    "predicts the same change with each model (its implied lift) and compares: within "
    f"{PASS_Z:.0f} standard errors of the measured lift passes, within {WARN_Z:.0f} warns, "
    "further off fails. A test used to calibrate the models also enters their fit."
)

with data.section():
    run = data.require_run()
    rows = with_before(data.experiment_lifts(run), run.round)
    if rows.empty:
        st.info(
            "No lift test is recorded for this run. Add one to "
            f"`{cfg.knowledge.directory}/{cfg.data.dataset}/experiments.yml` (one row per test: "
            "channel, dates, spend change and measured lift; see the README, "
            "“Knowledge layer”) and run `prism build`: every build then checks each model "
            "against it.",
            icon=":material/science:",
        )
    else:
        st.caption(f"Run `{run.run_id}`, round {run.round}.")
        st.plotly_chart(charts.lift_tests(rows, cfg.data.currency))
        st.caption(
            f"Dashed line: the measured lift; green band: ±{PASS_Z:.0f} standard errors. A "
            "filled point is a fit calibrated on the test, an open one only checked against "
            "it; a grey cross is the same model in the first earlier round that fitted without "
            "the test."
        )
        order = {model: i for i, model in enumerate(in_model_order(rows["model"]))}
        rows = rows.sort_values(
            ["experiment_id", "model"], key=lambda c: c.map(order) if c.name == "model" else c
        )
        st.dataframe(
            pd.DataFrame(
                {
                    "Lift test": rows["experiment_id"],
                    "Channel": [charts.label(c) for c in rows["channel"]],
                    "Model": [charts.model_label(m) for m in rows["model"]],
                    "Calibrated": rows["calibrated"].astype(bool),
                    money[0]: rows["measured_lift"],
                    money[1]: rows["measured_lift_se"],
                    money[2]: rows["implied_lift"],
                    "z": rows["z_score"],
                    "Status": rows["status"],
                    "Message": rows["message"],
                }
            ),
            hide_index=True,
            column_config={c: st.column_config.NumberColumn(format="%,.0f") for c in money}
            | {"z": st.column_config.NumberColumn(format="%.2f")},
        )
        before = rows[rows["before_round"].notna()]
        if len(before):
            st.subheader("Before and after calibration")
        for experiment_id, test in before.groupby("experiment_id", sort=True):
            moves = "; ".join(
                f"{charts.model_label(r.model)} z {fmt_num(r.before_z_score, 1)} "
                f"({r.before_status}) → {fmt_num(r.z_score, 1)} ({r.status})"
                for r in test.itertuples()
            )
            rounds = sorted({int(r) for r in test["before_round"]})
            st.markdown(
                f"**{experiment_id}** ({charts.label(test['channel'].iloc[0])}): round "
                f"{', '.join(fmt_int(r) for r in rounds)} only checked against it, round "
                f"{fmt_int(run.round)} calibrated on it — {moves}."
            )
