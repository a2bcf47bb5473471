"""Chart plumbing shared by the loop report and the portfolio report: files only, one look,
one way to save."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and in tests

import matplotlib.pyplot as plt

__all__ = ["plt", "save_figure", "tidy_axes"]


def tidy_axes(ax: plt.Axes) -> None:
    ax.spines[["top", "right"]].set_visible(False)


def save_figure(fig: plt.Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path
