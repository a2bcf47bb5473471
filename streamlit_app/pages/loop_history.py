"""Loop history: score per round, the Tuner's changes (kept/reverted), the Critic's checks."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import charts
import data

st.title("Loop history")
st.caption(
    "Each round the models are refitted, the Critic reviews them and, from round 2, "
    "the Tuner tries one change that is kept only if the agreed score improves."
)

with data.section():
    run = data.require_run()
    st.caption(f"Run `{run.run_id}`.")
    rounds = data.agent_rounds(run.run_id)
    if rounds.empty:
        raise data.NotBuilt("The agent loop has not run for this run yet — run `prism loop`.")
    st.plotly_chart(charts.loop_scores(rounds))
    st.dataframe(
        pd.DataFrame(
            {
                "Round": rounds["round"],
                "Status": rounds["status"],
                "Score": rounds["score"],
                "Best so far": rounds["best_score"],
                "Critic verdict": rounds["verdict"],
                "Finished": rounds["finished_at"],
            }
        ),
        hide_index=True,
        column_config={
            "Score": st.column_config.NumberColumn(format="%.3f"),
            "Best so far": st.column_config.NumberColumn(format="%.3f"),
        },
    )

st.subheader("Decisions")
with data.section():
    run = data.require_run()
    decisions = data.agent_decisions(run.run_id)
    if decisions.empty:
        st.info("No decisions recorded yet.")
    else:
        st.dataframe(
            pd.DataFrame(
                {
                    "Round": decisions["round"],
                    "Step": decisions["step"],
                    "Agent": decisions["agent"].str.capitalize(),
                    "Action": decisions["action"],
                    "What": decisions["what"],
                    "Why": decisions["why"],
                    "Kept": decisions["kept"].map({True: "kept", False: "reverted"}).fillna("—"),
                    "Score before": decisions["score_before"],
                    "Score after": decisions["score_after"],
                }
            ),
            hide_index=True,
            column_config={
                "Score before": st.column_config.NumberColumn(format="%.3f"),
                "Score after": st.column_config.NumberColumn(format="%.3f"),
            },
        )

st.subheader("Critic checks")
with data.section():
    run = data.require_run()
    checks = data.critic_checks(run.run_id)
    if checks.empty:
        st.info("No critic checks recorded yet.")
    else:
        rounds_seen = sorted(checks["round"].unique())
        chosen = st.selectbox("Round", rounds_seen, index=len(rounds_seen) - 1, key="critic_round")
        for check in checks[checks["round"] == chosen].itertuples():
            with st.container(border=True):
                left, right = st.columns([1, 4])
                left.badge(check.status, color=charts.STATUS_COLOURS.get(check.status, "gray"))
                right.markdown(
                    f"**{charts.label(check.check_name)}** (attempt {check.attempt}): "
                    f"{check.reason}"
                )
