"""Overview: brand, period, data readiness, the approved headline, latest run, critic verdict."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import charts
import data
from prism_mmm.formatting import MISSING, fmt_interval, fmt_money, fmt_pct, fmt_roi
from prism_mmm.models import shown_model

run = data.selected_run()
cfg = data.run_config(run)
currency = cfg.data.currency

st.title(cfg.data.brand)
st.caption(
    "Marketing mix model: what each channel returned, how sure we are, and where the "
    "next unit of budget should go."
)

with data.section():
    weeks = data.kpi_weeks()
    holdout = weeks[weeks["split"] == "holdout"]
    first, last = weeks["week_start_date"].min(), weeks["week_start_date"].max()
    cols = st.columns([4, 2, 2, 2])
    cols[0].metric(
        "Period",
        f"{first:%b %Y} – {last:%b %Y}",
        help=f"Weeks starting {first:%d %b %Y} to {last:%d %b %Y}.",
    )
    cols[1].metric(
        "Weeks of data",
        f"{len(weeks)}",
        help=f"The last {len(holdout)} weeks are held out to test the models.",
    )
    cols[2].metric("Total KPI", fmt_money(weeks["kpi"].sum(), currency))
    cols[3].metric("Model run", f"Round {run.round}" if run else "none yet")
    if run:
        cols[3].caption(f"Run `{run.run_id}` (pick another in the sidebar)")

st.subheader("Data readiness")
with data.section():
    readiness = data.data_readiness()
    if readiness.empty:
        raise data.NotBuilt("`data_readiness` is empty — run `prism build`.")
    row = readiness.iloc[0]
    score = int(row["score"])
    left, right = st.columns([1, 3])
    left.metric(
        "Readiness score", f"{score} / 5", help="5 = ready to model as is; 1 = fix the data first."
    )
    colour = "green" if score >= 4 else "orange" if score >= 3 else "red"
    left.badge(
        {5: "Ready", 4: "Ready", 3: "Usable with care"}.get(score, "Needs work"), color=colour
    )
    reasons = [r for r in str(row["reasons"] or "").split("; ") if r]
    right.markdown("\n".join(f"- {r}" for r in reasons) or "No issues found.")

st.subheader("Headline: channels the models agree on")
with data.section():
    run = data.require_run()
    agreement = data.agreement(run)
    roi = data.channel_roi(run)
    reference = shown_model(roi["model"], cfg.optimizer.model) if len(roi) else None
    confirmed = agreement[agreement["confirmed"].fillna(False).astype(bool)]
    if confirmed.empty:
        st.info(
            "The three models do not agree on any channel's ROI in this run, so there is "
            "no confirmed headline yet. See *ROI & contributions* for each model's view."
        )
    else:
        ref_roi = roi[roi["model"] == reference].set_index("channel")
        headline = pd.DataFrame(
            {
                "Channel": [charts.label(c) for c in confirmed["channel"]],
                "ROI (average of models)": [fmt_roi(v) for v in confirmed["roi_mean"]],
                f"90% interval ({charts.model_label(reference)})": [
                    fmt_interval(ref_roi.at[c, "roi_low"], ref_roi.at[c, "roi_high"])
                    if c in ref_roi.index
                    else MISSING
                    for c in confirmed["channel"]
                ],
                "Spread across models (CV)": [fmt_pct(v, 0) for v in confirmed["roi_cv"]],
            }
        )
        st.dataframe(headline, hide_index=True)
        st.caption(
            f"{len(confirmed)} of {len(agreement)} channels are confirmed: all models "
            "fitted, their ROI signs agree and their spread (coefficient of variation) "
            "is under 50%. ROI is revenue per unit of spend."
        )

st.subheader("Critic verdict")
with data.section():
    run = data.require_run()
    rounds = data.agent_rounds(run.run_id)
    this_round = rounds[rounds["round"] == run.round]
    if this_round.empty:
        st.info("The agent loop has not reviewed this round yet — run `prism loop`.")
    else:
        verdict = str(this_round.iloc[0]["verdict"])
        approved = verdict == "APPROVED"
        st.badge(
            "Approved" if approved else "Revise",
            color="green" if approved else "orange",
            icon=":material/check_circle:" if approved else ":material/rate_review:",
        )
        st.metric(f"Loop score (round {run.round})", f"{this_round.iloc[0]['score']:.3f}")
        if not approved:
            st.caption(
                "The critic asked for changes: treat this round's figures as "
                "provisional. The reasons are on *Loop history*."
            )

with data.section():
    run = data.require_run()
    models = data.run_models(run)
    failed = models[models["status"] == "failed"]
    for r in failed.itertuples():
        st.error(
            f"The {charts.model_label(r.model)} model failed in this run: "
            f"{str(r.message).splitlines()[0]}"
        )
