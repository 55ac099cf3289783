"""Checks of the DINCAE peer (``benchmarks/dincae_peer.py``); not part of ``tests/``.

The environment checks always run; the DINCAE run is skipped cleanly when the DINCAE
environment (``benchmarks/dincae/setup_env.sh``) or ../shared/data is absent. It trains
for 5 epochs only (about 15 s of CPU): it checks the wiring and the peer conventions,
not DINCAE's accuracy (``benchmarks/dincae_window.py`` measures that)::

    python -m pytest benchmarks/test_dincae_peer.py -p no:cacheprovider
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import dincae_peer
from benchmarks.dincae_peer import DincaeError, available, fill_dincae
from benchmarks.split import DEFAULT_SHARED, MUR_SOCAL_FILE


def _small(t: int = 3, n: int = 8):
    v = np.full((t, n, n), 18.0, np.float32)
    v[1, 2:5, 2:5] = np.nan
    times = np.arange("2021-01-01", f"2021-01-{t + 1:02d}", dtype="datetime64[D]")
    return (
        v,
        np.zeros((n, n), bool),
        np.arange(n, dtype=float),
        np.arange(n, dtype=float),
        times,
    )


def test_missing_environment_is_reported_with_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv(
        "SSTFILL_DINCAE_PYTHON", str(tmp_path / "no-env" / "bin" / "python")
    )
    assert not available()
    with pytest.raises(DincaeError, match="setup_env.sh"):
        fill_dincae(*_small())


def test_environment_variable_selects_the_python(tmp_path, monkeypatch):
    py = tmp_path / "python"
    py.write_text("#!/bin/sh\n")
    py.chmod(0o755)
    monkeypatch.setenv("SSTFILL_DINCAE_PYTHON", str(py))
    assert dincae_peer.dincae_python() == py
    assert available()


@pytest.mark.parametrize(
    ("which", "match"),
    [
        ("land", "land must have the shape"),
        ("lat", "lat and lon"),
        ("times", "times must be datetime64"),
    ],
)
def test_bad_inputs_name_the_variable(which, match):
    v, land, lat, lon, times = _small()
    args = {"values": v, "land": land, "lat": lat, "lon": lon, "times": times}
    args[which] = {"land": land[:-1], "lat": lat[:-1], "times": np.arange(3.0)}[which]
    with pytest.raises(ValueError, match=match):
        fill_dincae(**args)


@pytest.mark.skipif(
    not available(), reason="DINCAE environment absent (benchmarks/dincae/setup_env.sh)"
)
@pytest.mark.skipif(
    not (DEFAULT_SHARED / MUR_SOCAL_FILE).exists(), reason="../shared/data absent"
)
def test_fill_real_window_keeps_observed_and_land(monkeypatch):
    from benchmarks.cases import load_heldout_stacks

    monkeypatch.setenv("SSTFILL_DINCAE_EPOCHS", "5")
    st = load_heldout_stacks()["mur_socal"]
    # 10 x 32 x 32 on the coast: 29 % land, 36 % of the sea hidden, every sea pixel seen once
    rows, cols = slice(192, 224), slice(544, 576)
    values, land = st.observed_input[:, rows, cols], st.land[rows, cols]
    truth, hidden = st.truth[:, rows, cols], st.hidden[:, rows, cols] & ~land
    out = fill_dincae(values, land, st.lat[rows], st.lon[cols], st.time)

    assert out.shape == values.shape and out.dtype == np.float32
    obs = np.isfinite(values) & ~land
    np.testing.assert_array_equal(out[obs], values[obs])  # observed returned as given
    assert np.isnan(out[:, land]).all()  # land never filled
    never = ~obs.any(axis=0) & ~land  # no temporal mean: DINCAE cannot fill these
    gaps = ~obs & ~land[None] & ~never[None]
    assert np.isfinite(out[gaps]).all()
    assert np.isnan(out[:, never]).all()
    # better than each day's observed mean on the hidden pixels (0.190 vs 0.232 degC with
    # seed 0, one thread): a grid, time or unit mix-up is not
    day_mean = np.nanmean(np.where(obs, values, np.nan), axis=(1, 2), keepdims=True)
    base = np.broadcast_to(day_mean, values.shape)
    rmse = np.sqrt(np.mean((out[hidden] - truth[hidden]) ** 2))
    rmse_base = np.sqrt(np.mean((base[hidden] - truth[hidden]) ** 2))
    assert rmse < 0.9 * rmse_base, (rmse, rmse_base)
