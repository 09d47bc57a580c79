"""Reductions over the replicate axis: mean, quantiles, NaN handling."""

from __future__ import annotations

import warnings

import numpy as np

from sim.engine import QUANTILES, summarise


def test_summarise_on_known_values() -> None:
    """For 0..10 the mean is 5 and the linear-interpolation p10/p50/p90 are 1, 5 and 9."""
    out = summarise(np.arange(11.0))
    assert out["mean"] == 5.0
    assert out["p10"] == 1.0
    assert out["p50"] == 5.0
    assert out["p90"] == 9.0
    assert out["defined_share"] == 1.0


def test_summarise_matches_numpy_along_replicate_axis() -> None:
    """Mean and quantiles equal numpy's over axis 0, with output shape values.shape[1:]."""
    values = np.random.default_rng(0).normal(size=(37, 4, 3))
    out = summarise(values)
    np.testing.assert_allclose(out["mean"], values.mean(axis=0))
    for name, q in QUANTILES.items():
        assert out[name].shape == (4, 3)
        np.testing.assert_allclose(out[name], np.quantile(values, q, axis=0))
    np.testing.assert_array_equal(out["defined_share"], np.ones((4, 3)))


def test_summarise_ignores_nan_rows() -> None:
    """NaN replicates are dropped column by column; defined_share is the defined fraction."""
    values = np.array(
        [
            [1.0, np.nan],
            [2.0, 10.0],
            [np.nan, 20.0],
            [4.0, np.nan],
            [8.0, 30.0],
        ]
    )
    out = summarise(values)
    np.testing.assert_allclose(out["mean"], [15.0 / 4, 20.0])
    np.testing.assert_allclose(out["defined_share"], [4 / 5, 3 / 5])
    for name, q in QUANTILES.items():
        np.testing.assert_allclose(
            out[name], [np.quantile([1.0, 2, 4, 8], q), np.quantile([10.0, 20, 30], q)]
        )


def test_all_nan_column_gives_nan_without_warnings() -> None:
    """A column with no defined replicate gives NaN statistics, share 0, and no warning."""
    values = np.array([[1.0, np.nan], [3.0, np.nan]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = summarise(values)
    assert out["mean"][0] == 2.0
    for name, q in QUANTILES.items():
        assert out[name][0] == np.quantile([1.0, 3.0], q)
    for name in ("mean", *QUANTILES):
        assert np.isnan(out[name][1])
    assert out["defined_share"][1] == 0.0
    assert out["defined_share"][0] == 1.0
