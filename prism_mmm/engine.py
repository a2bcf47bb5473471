"""Fan the fits out over series on an existing engine; no scheduler of our own.

Fitting one series is a pure function, :class:`SeriesFit`: the ``mmm_input`` rows of one
``series_id`` in, that series' result rows out, always with the columns and types of
``RESULT_SCHEMA``. An engine only decides where the calls run (``engine`` in prism.yml):

- ``local`` (default): in the dbt node for one series; a process pool sized to the machine
  for several (spawned processes: forking a process that has started threads, as dbt and the
  samplers do, can deadlock);
- ``spark``: ``groupBy(series_id).applyInPandas(fit, schema)`` on a SparkSession, in this
  process on ``engine.spark_master`` or on a cluster through Spark Connect
  (``engine.spark_remote``).

Either way the rows come back in series order, each series' rows in the order its fit wrote
them, so the engines give identical tables.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from prism_mmm.series import SERIES_ID

if TYPE_CHECKING:
    from prism_mmm.calibration import Experiment
    from prism_mmm.config import EngineConfig, PrismConfig


@dataclass(frozen=True)
class SeriesFit:
    """One model's fit of one series, with everything it needs, picklable for any engine."""

    model_name: str
    cfg: PrismConfig
    run_id: str
    round_: int
    project_dir: str
    roi_priors: dict[str, tuple[float, float]] | None = None
    experiments: tuple[Experiment, ...] = ()

    def __call__(self, series: pd.DataFrame) -> pd.DataFrame:
        from prism_mmm.pipeline import fit_results

        return fit_results(self.model_name, series.reset_index(drop=True), self.cfg,
                           self.run_id, self.round_, Path(self.project_dir), self.roi_priors,
                           self.experiments)


def fit_series(mmm_input: pd.DataFrame, fit: SeriesFit, engine: EngineConfig) -> pd.DataFrame:
    """``fit`` applied to every series of ``mmm_input`` on ``engine``; their rows stacked."""
    from prism_mmm.pipeline import typed_results

    if SERIES_ID not in mmm_input or mmm_input[SERIES_ID].isna().any():
        raise ValueError(f"mmm_input needs a {SERIES_ID} on every row")
    if engine.kind == "spark":
        frame = _on_spark(mmm_input, fit, engine)
    else:
        series = [rows for _, rows in mmm_input.groupby(SERIES_ID, sort=True)]
        workers = min(len(series), engine.workers or os.cpu_count() or 1)
        if workers <= 1:
            frames = [fit(rows) for rows in series]
        else:
            with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
                frames = list(pool.map(fit, series))
        frame = pd.concat(frames, ignore_index=True)
    frame = frame.sort_values(SERIES_ID, kind="stable").reset_index(drop=True)
    return typed_results(frame)


# -- spark ------------------------------------------------------------------------------------------
def spark_session(engine: EngineConfig):
    """The session the spark engine runs on: Spark Connect when ``spark_remote`` is set."""
    from pyspark.sql import SparkSession

    if engine.spark_remote:
        return SparkSession.builder.remote(engine.spark_remote).getOrCreate()
    # Executors run this interpreter, so they import the same prism_mmm and packages.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    return (SparkSession.builder.master(engine.spark_master).appName("prism-mmm")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.ui.enabled", "false")
            .getOrCreate())


def spark_schema(dtypes: dict[str, str]):
    """A Spark schema for pandas dtypes (``RESULT_SCHEMA``'s, or ``mmm_input``'s)."""
    from pyspark.sql import types as T

    def spark_type(dtype: str):
        dtype = str(dtype).lower()
        if dtype.startswith("date"):
            return T.TimestampNTZType()  # naive weeks and times: no zone shift on the way
        if dtype in ("bool", "boolean"):
            return T.BooleanType()
        if dtype.startswith(("int", "uint")):
            return T.LongType()
        if dtype.startswith("float"):
            return T.DoubleType()
        return T.StringType()

    return T.StructType([T.StructField(name, spark_type(dtype), True)
                         for name, dtype in dtypes.items()])


def _on_spark(mmm_input: pd.DataFrame, fit: SeriesFit, engine: EngineConfig) -> pd.DataFrame:
    from prism_mmm.pipeline import RESULT_SCHEMA

    spark = spark_session(engine)
    frame = mmm_input.copy()
    for column in frame.columns:  # plain objects: Spark's Arrow path refuses chunked text
        if frame[column].dtype == object or str(frame[column].dtype) in ("str", "string"):
            frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    source = spark.createDataFrame(frame, schema=spark_schema(dict(frame.dtypes)))

    def fit_group(series: pd.DataFrame) -> pd.DataFrame:
        # A plain one-argument function: Spark reads a callable object's `self` as a
        # second argument and would pass the group key.
        rows = fit(series)
        # Arrow-backed text columns reach Spark's serialiser as chunked arrays it refuses.
        text = [c for c, dtype in RESULT_SCHEMA.items() if dtype == "string"]
        return rows.astype({c: object for c in text})

    fitted = source.groupBy(SERIES_ID).applyInPandas(fit_group,
                                                      schema=spark_schema(RESULT_SCHEMA))
    return fitted.toPandas()
