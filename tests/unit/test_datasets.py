"""The committed known-truth files are what bench/datasets.py generates (python -m
bench.datasets writes them)."""

from __future__ import annotations

import pandas as pd
import pytest

from bench.datasets import GENERATED, load


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_committed_files_match_the_generator(name):
    generated, committed = GENERATED[name](), load(name)
    pd.testing.assert_frame_equal(
        generated.frame.reset_index(drop=True), committed.frame, check_dtype=False)
    assert committed.true_roi == pytest.approx(generated.true_roi)
    assert committed.lift_tests == generated.lift_tests
    assert committed.thin == generated.thin
