"""Report: the Reporter's report.md rendered, with downloads of report.md and report.pptx."""

from __future__ import annotations

import re
from pathlib import Path

import streamlit as st

import data

_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")

st.title("Report")

with data.section():
    run = data.require_run()
    folder = data.report_dir(run.run_id)
    markdown_path, pptx_path = folder / "report.md", folder / "report.pptx"
    if not markdown_path.exists():
        raise data.NotBuilt(
            f"No report for run `{run.run_id}` yet — run `prism loop` (it writes {markdown_path})."
        )
    left, right = st.columns(2)
    text = markdown_path.read_text(encoding="utf-8")
    left.download_button(
        "Download report.md",
        text,
        file_name=f"{run.run_id}_report.md",
        mime="text/markdown",
        icon=":material/download:",
    )
    if pptx_path.exists():
        right.download_button(
            "Download report.pptx",
            pptx_path.read_bytes(),
            file_name=f"{run.run_id}_report.pptx",
            mime="application/vnd.openxmlformats-officedocument.presentationml.presentation",
            icon=":material/slideshow:",
        )
    else:
        right.caption("report.pptx has not been written for this run.")
    st.caption(f"Written for run `{run.run_id}` ({markdown_path}).")
    st.divider()
    # st.markdown cannot load local files: render the report's figures with st.image instead.
    position = 0
    for match in _IMAGE.finditer(text):
        st.markdown(text[position : match.start()])
        image = Path(match.group(2))
        image = image if image.is_absolute() else folder / image
        if image.exists():
            st.image(str(image), caption=match.group(1) or None)
        position = match.end()
    st.markdown(text[position:])
