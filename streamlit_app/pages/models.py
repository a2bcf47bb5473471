"""Models: fit on train vs holdout, actual vs predicted, Bayesian gates, parameters."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import charts
import data
from prism_mmm.formatting import fmt_num, fmt_pct
from prism_mmm.models import in_model_order

run = data.selected_run()
currency = data.run_config(run).data.currency

st.title("Models")
st.caption("How well each model fits, judged on weeks it was not trained on (the holdout).")

st.subheader("Fit: train vs holdout")
with data.section():
    run = data.require_run()
    metrics = data.fit_metrics(run)
    cols = st.columns(max(metrics["model"].nunique(), 1))
    for col, model in zip(cols, in_model_order(metrics["model"])):
        rows = metrics[metrics["model"] == model]
        by_split = rows.set_index("split")
        status = str(rows["status"].iloc[0])
        col.markdown(f"**{charts.model_label(model)}**")
        col.badge(status.capitalize(), color=charts.STATUS_COLOURS.get(status, "gray"))
        message = str(rows["message"].fillna("").iloc[0]).strip()
        if status == "failed":
            col.error(message.splitlines()[0] if message else "The fit failed.")
            continue
        if "holdout" in by_split.index:
            hold, train = by_split.loc["holdout"], by_split.loc["train"]
            col.metric(
                "Holdout MAPE",
                fmt_pct(hold["mape"]),
                delta=f"train {fmt_pct(train['mape'])}",
                delta_color="off",
                delta_arrow="off",
                help="Average % error on the held-out weeks (lower is better).",
            )
            col.metric(
                "Holdout R²",
                fmt_num(hold["r2"]),
                delta=f"train {fmt_num(train['r2'])}",
                delta_color="off",
                delta_arrow="off",
            )
        if message:
            with col.expander(f"Why “{status}”?"):
                st.caption(message)
    table = metrics.assign(
        Model=[charts.model_label(m) for m in metrics["model"]],
        Split=metrics["split"].str.capitalize(),
        MAPE=metrics["mape"] * 100,
        sMAPE=metrics["smape"] * 100,
    ).rename(
        columns={
            "r2": "R²",
            "nrmse": "NRMSE",
            "n_weeks": "Weeks",
            "fit_seconds": "Fit time (s)",
            "status": "Status",
        }
    )
    st.dataframe(
        table[
            ["Model", "Split", "R²", "MAPE", "sMAPE", "NRMSE", "Weeks", "Fit time (s)", "Status"]
        ],
        hide_index=True,
        column_config={
            "R²": st.column_config.NumberColumn(format="%.3f"),
            "MAPE": st.column_config.NumberColumn(format="%.1f%%"),
            "sMAPE": st.column_config.NumberColumn(format="%.1f%%"),
            "NRMSE": st.column_config.NumberColumn(format="%.3f"),
            "Fit time (s)": st.column_config.NumberColumn(format="%.1f"),
        },
    )

with data.section():
    run = data.require_run()
    pred = data.predictions(run)
    if pred.empty:
        raise data.NotBuilt("No predictions for this run — run `prism build`.")
    st.plotly_chart(charts.actual_vs_predicted(pred, currency))

st.subheader("Bayesian model checks (gates g1–g7)")
with data.section():
    run = data.require_run()
    gates = data.bayes_gates(run)
    if gates.empty:
        st.info("No gate results for this run (the Bayesian model did not finish).")
    else:
        # One badge per gate (its worst check), then every check in a table.
        severity = {"pass": 0, "warn": 1, "fail": 2}
        worst = gates.assign(rank=gates["status"].map(severity).fillna(2)).groupby("gate")["rank"]
        cols = st.columns(max(len(worst), 1))
        names = {0: "pass", 1: "warn", 2: "fail"}
        for col, (gate, rank) in zip(cols, worst.max().items()):
            col.markdown(f"**{gate.upper()}**")
            col.badge(names[int(rank)], color=charts.STATUS_COLOURS[names[int(rank)]])
        st.dataframe(
            pd.DataFrame(
                {
                    "Gate": gates["gate"].str.upper(),
                    "Check": [charts.label(m) for m in gates["metric"]],
                    "Value": gates["value"],
                    "Threshold": gates["threshold"],
                    "Status": gates["status"],
                }
            ),
            hide_index=True,
            column_config={
                "Value": st.column_config.NumberColumn(format="%.3g"),
                "Threshold": st.column_config.NumberColumn(format="%.3g"),
            },
        )
        with st.expander("What the gates check"):
            st.markdown(
                "- **G1** prior predictive plausibility · **G2** R-hat (chains agree) · "
                "**G3** effective sample size · **G4** divergent transitions · "
                "**G5** posterior predictive calibration · **G6** PSIS-LOO Pareto k · "
                "**G7** BFMI (sampler energy)\n\nPass = trustworthy; warn = usable, read with "
                "care; fail = do not rely on the Bayesian numbers of this run."
            )

st.subheader("Bayesian parameter summary")
with data.section():
    run = data.require_run()
    params = data.bayes_parameters(run)
    if params.empty:
        st.info("No parameter summary for this run.")
    else:
        st.dataframe(
            params.assign(
                channel=params["channel"].map(
                    lambda c: charts.label(c) if isinstance(c, str) else ""
                )
            ).rename(
                columns={
                    "parameter": "Parameter",
                    "channel": "Channel",
                    "mean": "Mean",
                    "sd": "SD",
                    "hdi_low": "90% HDI low",
                    "hdi_high": "90% HDI high",
                    "r_hat": "R-hat",
                    "ess_bulk": "ESS bulk",
                    "ess_tail": "ESS tail",
                }
            ),
            hide_index=True,
            column_config={
                c: st.column_config.NumberColumn(format="%.3g")
                for c in ("Mean", "SD", "90% HDI low", "90% HDI high", "R-hat")
            }
            | {c: st.column_config.NumberColumn(format="%.0f") for c in ("ESS bulk", "ESS tail")},
        )
