"""EDA computations that are awkward in SQL."""

from __future__ import annotations

import numpy as np
import pandas as pd


def variance_inflation(spend_long: pd.DataFrame) -> pd.DataFrame:
    """VIF per series and channel from long spend (series_id, week_start_date, channel,
    spend); each series on its own."""
    from prism_mmm.series import SERIES_ID

    frames = [_series_vif(rows).assign(**{SERIES_ID: series_id})
              for series_id, rows in spend_long.groupby(SERIES_ID, sort=True)]
    columns = [SERIES_ID, "channel", "vif"]
    return (pd.concat(frames, ignore_index=True)[columns] if frames
            else pd.DataFrame(columns=columns))


def _series_vif(spend_long: pd.DataFrame) -> pd.DataFrame:
    """VIF per channel of one series.

    VIF_j = 1 / (1 - R²_j) is the j-th diagonal element of the inverse correlation matrix.
    A constant channel has no defined VIF (reported as null) and is left out of the others.
    """
    wide = spend_long.pivot(index="week_start_date", columns="channel", values="spend")
    varying = [c for c in wide.columns if wide[c].std() > 0]
    vif = pd.Series(np.nan, index=wide.columns, dtype=float)
    if len(varying) >= 2:
        corr = np.corrcoef(wide[varying].to_numpy(dtype=float), rowvar=False)
        vif[varying] = np.diag(np.linalg.pinv(corr))
    elif len(varying) == 1:
        vif[varying] = 1.0
    return pd.DataFrame({"channel": vif.index.astype(str), "vif": vif.to_numpy()})
