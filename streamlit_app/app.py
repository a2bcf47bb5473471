"""PrismMMM app: the frame around every page.

Holds the run and series pickers in the sidebar and routes with ``st.navigation`` in three
sections. Pages read the selected run with ``data.selected_run()``. Start it with ``prism app``.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

import charts
import data

PAGES = Path(__file__).parent / "pages"

navigation = st.navigation(
    {
        "Results": [
            st.Page(PAGES / "overview.py", title="Overview", icon=":material/home:", default=True),
            st.Page(PAGES / "roi.py", title="ROI & contributions", icon=":material/paid:"),
            st.Page(PAGES / "portfolio.py", title="Portfolio", icon=":material/view_module:"),
            st.Page(PAGES / "report.py", title="Report", icon=":material/description:"),
        ],
        "Planning": [
            st.Page(
                PAGES / "response_curves.py",
                title="Response curves & budget",
                icon=":material/tune:",
            ),
        ],
        "Model health": [
            st.Page(PAGES / "data_quality.py", title="Data", icon=":material/table_chart:"),
            st.Page(PAGES / "models.py", title="Models", icon=":material/monitoring:"),
            st.Page(PAGES / "experiments.py", title="Experiments", icon=":material/science:"),
            st.Page(PAGES / "loop_history.py", title="Loop history", icon=":material/history:"),
        ],
    }
)
st.set_page_config(page_title="PrismMMM", page_icon=":material/insights:", layout="wide")


def _run_picker() -> None:
    """Sidebar select boxes over finished runs and, for a portfolio, the run's series; stores
    a ``data.RunKey`` in session state."""
    st.sidebar.markdown("### Model run")
    st.session_state["selected_run"] = None
    try:
        history = data.runs()
    except data.WarehouseUnavailable as exc:
        st.sidebar.caption(str(exc))
        return
    if history.empty:
        st.sidebar.caption("No finished model run yet — run `prism build`.")
        return
    pairs = [(str(r.run_id), int(r.round)) for r in history.itertuples()]
    labels = {
        pair: f"{pair[0]} · round {pair[1]} · {row.finished_at:%Y-%m-%d %H:%M}"
        + (" · has failures" if row.any_failed else "")
        for pair, row in zip(pairs, history.itertuples())
    }
    run_id, round_ = st.sidebar.selectbox(
        "Run and round (newest first)", pairs, format_func=labels.__getitem__, key="run_choice"
    )
    series = data.run_series_ids(run_id, round_)
    if len(series) > 1:
        series_id = st.sidebar.selectbox(
            f"Series ({len(series)} in this run)", series, key="series_choice",
            help="Each brand, market or geo is fitted on its own; the Portfolio page puts "
            "them side by side.",
        )
    else:
        series_id = series[0]
    choice = data.RunKey(run_id, round_, series_id)
    st.session_state["selected_run"] = choice
    models = data.run_models(choice)
    st.sidebar.caption(
        " · ".join(f"{charts.model_label(m.model)}: {m.status}" for m in models.itertuples())
    )
    if pairs.index((run_id, round_)) == 0:
        st.sidebar.caption("This is the latest run.")


_run_picker()
st.sidebar.caption(
    f"Warehouse: `{data.warehouse_path().name}` · ROI = {charts.label('kpi')} per unit of "
    "spend; intervals are 90%. Every ROI is an association under the model's assumptions, "
    "not proof of cause."
)
navigation.run()
