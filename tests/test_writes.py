"""Writing outputs: packing kept, concurrent runs, write failures, stale temporaries, progress."""

from __future__ import annotations

import errno
import io
import os
import re
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import dask.array as dsa
import numpy as np
import pytest
import xarray as xr

import sstfill
import sstfill.cli.fill
import sstfill.kernels.blocks
from sstfill import atomic, cli
from sstfill.errors import OutputError
from sstfill.xr import io as sio
from sstfill.testing import synthetic_sst

MUR_PACKING = {"dtype": "int16", "scale_factor": 0.001, "add_offset": 298.15, "_FillValue": -32768}


def _open(path: Path, **kwargs) -> xr.Dataset:
    return xr.open_zarr(path, **kwargs) if str(path).endswith(".zarr") else xr.open_dataset(path, **kwargs)


@pytest.fixture(scope="module")
def packed_file(tmp_path_factory) -> Path:
    """The bundled MUR sample with a cloud gap, stored int16-packed the way MUR is."""
    path = tmp_path_factory.mktemp("packed") / "mur_packed.nc"
    with xr.open_dataset(Path(sstfill.__file__).parent / "data" / "sample_mur_socal.nc") as src:
        ds = src.load()
    sst = ds["analysed_sst"].values.copy()
    # MUR L4 is complete over the ocean: land is what is missing on every day (stored as a
    # CF mask, so the fill takes it from the file)
    land = np.isnan(sst).all(axis=0)
    ds["mask"] = (("lat", "lon"), land.astype("int8"), {"standard_name": "land_binary_mask", "flag_values": np.array([0, 1], "int8"), "flag_meanings": "sea land"})
    sst[0, 60:90, 100:140] = np.nan  # a cloud on day 1, observed on day 2
    ds["analysed_sst"].values[:] = sst
    ds["analysed_sst"].encoding = dict(MUR_PACKING, zlib=True)
    ds.to_netcdf(path)
    return path


# -- packing ------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_fill_keeps_the_packing_of_packed_input(tmp_path, packed_file, suffix, capsys):
    target = tmp_path / f"filled{suffix}"
    assert cli.main(["fill", str(packed_file), str(target), "--model", "laplace", "--no-progress"]) == 0
    with _open(target, mask_and_scale=False) as raw, xr.open_dataset(packed_file, mask_and_scale=False) as raw_in:
        sst = raw["analysed_sst"]
        assert sst.dtype == np.int16, "written unpacked"
        assert float(sst.attrs["scale_factor"]) == 0.001 and float(sst.attrs["add_offset"]) == 298.15
        assert int(sst.attrs["_FillValue"] if "_FillValue" in sst.attrs else sst.encoding["_FillValue"]) == -32768
        # observed pixels: the same integers as in the input
        observed = raw_in["analysed_sst"].values != -32768
        np.testing.assert_array_equal(sst.values[observed], raw_in["analysed_sst"].values[observed])
    with _open(target) as out, xr.open_dataset(packed_file) as src:
        observed = src["analysed_sst"].notnull().values
        np.testing.assert_array_equal(out["analysed_sst"].values[observed], src["analysed_sst"].values[observed])
        gap = ~observed & (out["analysed_sst_fill_flag"].values != 2)
        assert gap.sum() > 1000 and np.isfinite(out["analysed_sst"].values[gap]).all()
        assert "written unpacked" not in out["analysed_sst"].attrs["history"]
    if suffix == ".nc":  # the int16 field plus the int8 flag, not a 4x larger float64 field
        flag_bytes = 2 * 192 * 256
        assert target.stat().st_size < 1.2 * packed_file.stat().st_size + flag_bytes


class _TooWarm:
    """A tile model that fills every gap with 400 K: outside MUR's int16 packing (265-331 K)."""

    tile_size = 64
    description = "constant 400 K (test)"

    def predict_tiles(self, values, observed):
        return np.full(values.shape, 400.0, dtype="float32")


@pytest.mark.parametrize("lazy", [True, False])
@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_values_outside_the_packing_are_written_unpacked_and_said(tmp_path, packed_file, suffix, lazy):
    ds = xr.open_dataset(packed_file, chunks={} if lazy else None)
    # the model's 400 K, not blended with the other day, nor stitched (which would keep only its differences)
    filled = ds.inpaint.fill("analysed_sst", model=_TooWarm(), persistence=False, stitch=False)
    with pytest.warns(UserWarning, match="analysed_sst written unpacked as float64"):  # said, not only in the history
        target = sio.write_atomic(filled, tmp_path / f"out{suffix}")
    assert sorted(os.listdir(tmp_path)) == [target.name]
    with _open(target, mask_and_scale=False) as raw:
        assert raw["analysed_sst"].dtype == ds["analysed_sst"].dtype  # float64, not wrapped int16
        assert "scale_factor" not in raw["analysed_sst"].attrs
    with _open(target) as out:
        sst = out["analysed_sst"]
        assert "written unpacked as float64" in sst.attrs["history"].splitlines()[0]
        assert "int16, scale_factor 0.001, add_offset 298.15" in sst.attrs["history"]
        flag = out["analysed_sst_fill_flag"].values
        observed = ds["analysed_sst"].notnull().values
        np.testing.assert_array_equal(sst.values[observed], ds["analysed_sst"].values[observed])
        assert (sst.values[(flag == 1) | (flag == 4)] == 400.0).all() and ((flag == 1) | (flag == 4)).sum() > 1000


def test_float32_on_disk_stays_float32_when_computed_in_float64(tmp_path):
    sst = synthetic_sst(40, 50, nt=1, seed=2)
    sst.values[0, 10:20, 10:20] = np.nan
    sst.to_dataset().to_netcdf(tmp_path / "in.nc", encoding={"sst": {"dtype": "float32"}})
    ds = xr.open_dataset(tmp_path / "in.nc")
    ds["sst"] = ds["sst"].astype("float64")  # e.g. after arithmetic; the encoding says float32 on disk
    ds["sst"].encoding = {"dtype": np.dtype("float32"), "_FillValue": np.float32(np.nan)}
    filled = ds.inpaint.fill("sst", model="laplace")
    sio.write_atomic(filled, tmp_path / "out.nc")
    with xr.open_dataset(tmp_path / "out.nc", mask_and_scale=False) as raw:
        assert raw["sst"].dtype == np.float32


# -- concurrent runs ----------------------------------------------------------------------
@pytest.fixture(params=["renameat2", "portable"])
def publish_mode(request, monkeypatch):
    """Each concurrency test runs with Linux renameat2 and with the portable fallback."""
    if request.param == "renameat2" and atomic.RENAMEAT2 is None:
        pytest.skip("renameat2 is not available here")
    if request.param == "portable":
        monkeypatch.setattr(atomic, "RENAMEAT2", None)
    return request.param


def _marked(value: float, n: int = 4, gate=None) -> xr.Dataset:
    """A small lazy dataset filled with ``value``; ``gate(block)`` runs while it is computed."""

    def compute(block):
        if gate is not None:
            gate()
        return block

    data = dsa.full((n, 16, 16), value, chunks=(1, 16, 16), dtype="float32").map_blocks(compute, dtype="float32", meta=np.array((), "float32"))
    return xr.Dataset({"a": (("time", "y", "x"), data)})


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_an_output_created_while_writing_is_not_replaced(tmp_path, suffix, publish_mode):
    target = tmp_path / f"out{suffix}"
    made = threading.Event()

    def intruder():  # another run puts its output in place while this one computes
        if not made.is_set():
            made.set()
            xr.Dataset({"a": (("time", "y", "x"), np.full((1, 16, 16), 7.0, "float32"))}).pipe(
                lambda d: d.to_netcdf(target) if suffix == ".nc" else d.to_zarr(target, mode="w")
            )

    with pytest.raises(OutputError, match="created by another run while this one was writing"):
        sio.write_atomic(_marked(1.0, n=1, gate=intruder), target)
    assert sorted(os.listdir(tmp_path)) == [target.name]  # no temporary, no set-aside copy
    with _open(target) as back:
        assert float(back["a"].max()) == 7.0  # the other run's output, untouched
    # with overwrite the new output replaces it, and nothing else is left
    made.clear()
    sio.write_atomic(_marked(2.0, n=1, gate=intruder), target, overwrite=True)
    assert sorted(os.listdir(tmp_path)) == [target.name]
    with _open(target) as back:
        assert float(back["a"].min()) == float(back["a"].max()) == 2.0


def _write_when_both_run(target: str, value: float, overwrite: bool, portable: bool, gate_dir: str) -> int:
    """One run of the concurrent-write test, in a forked process: 0 written, 2 refused."""
    if portable:
        atomic.RENAMEAT2 = None

    def meet():  # wait until the other run is computing too
        Path(gate_dir, str(value)).touch()
        deadline = time.monotonic() + 30
        while len(os.listdir(gate_dir)) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)

    try:
        sio.write_atomic(_marked(value, gate=meet), target, overwrite=overwrite)
    except OutputError:
        return 2
    return 0


def _child(*args) -> None:
    os._exit(_write_when_both_run(*args))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="forks two writers")
@pytest.mark.parametrize("overwrite", [False, True])
@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_two_concurrent_runs_write_one_output(tmp_path, suffix, overwrite, publish_mode):
    """Two processes (like two `sstfill fill` runs) compute at once and publish one output."""
    import multiprocessing

    target = tmp_path / "out" / f"filled{suffix}"
    target.parent.mkdir()
    if overwrite:
        sio.write_atomic(_marked(0.0, n=1), target)
    gate = tmp_path / "gate"
    gate.mkdir()
    ctx = multiprocessing.get_context("fork")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads: the children only write
        procs = {v: ctx.Process(target=_child, args=(str(target), v, overwrite, publish_mode == "portable", str(gate))) for v in (1.0, 2.0)}
        for p in procs.values():
            p.start()
    for p in procs.values():
        p.join(60)
    codes = {v: p.exitcode for v, p in procs.items()}
    assert sorted(codes.values()) == ([0, 0] if overwrite else [0, 2]), codes
    assert os.listdir(target.parent) == [target.name]  # nothing half-written, no temporary left
    with _open(target) as back:
        values = back["a"].values
        assert values.shape == (4, 16, 16) and values.min() == values.max() and values.min() in (1.0, 2.0)
        if not overwrite:  # the winner is the run that reported success
            assert codes[float(values.min())] == 0


def test_two_threads_write_one_zarr_output(tmp_path, publish_mode):
    """In one process too (zarr; netCDF writes of one process are serialised)."""
    target = tmp_path / "out.zarr"
    barrier = threading.Barrier(2, timeout=30)
    lock = threading.Lock()
    passed: set[float] = set()

    def meet(value: float):
        # the first block of each run waits for the other run's first block: both runs are
        # computing at once, whichever of dask's pool threads compute their blocks (met once per
        # thread, the number of threads arriving depended on how the pools spread the blocks,
        # and an odd number left the last one waiting: BrokenBarrierError after 30 s)
        with lock:
            first = value not in passed
            passed.add(value)
        if first:
            barrier.wait()

    results: dict[float, object] = {}

    def run(value: float):
        try:
            results[value] = sio.write_atomic(_marked(value, gate=lambda: meet(value)), target)
        except BaseException as err:  # noqa: BLE001
            results[value] = err

    threads = [threading.Thread(target=run, args=(v,)) for v in (1.0, 2.0)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    errors = [r for r in results.values() if isinstance(r, BaseException)]
    assert len(errors) == 1 and isinstance(errors[0], OutputError), results
    assert os.listdir(tmp_path) == [target.name]
    with _open(target) as back:
        assert isinstance(results[float(back["a"].min())], Path)


def test_threads_writing_netcdf_do_not_crash(tmp_path):
    """netCDF-C/HDF5 are not thread-safe: concurrent netCDF writes in one process take turns."""
    results = []
    start = threading.Barrier(6, timeout=30)

    def run(i):
        start.wait()  # all at once
        for round_ in range(3):
            results.append(sio.write_atomic(_marked(float(i), n=8), tmp_path / f"out{i}-{round_}.nc"))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(results) == 18 and len(os.listdir(tmp_path)) == 18


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_overwrite_leaves_no_set_aside_output(tmp_path, suffix, publish_mode):
    target = tmp_path / f"out{suffix}"
    sio.write_atomic(_marked(1.0, n=1), target)
    sio.write_atomic(_marked(2.0, n=1), target, overwrite=True)
    assert sorted(os.listdir(tmp_path)) == [target.name]
    with _open(target) as back:
        assert float(back["a"].min()) == 2.0


# -- write failures -----------------------------------------------------------------------
def _fill_counter(monkeypatch) -> list:
    """Count the tiles' kernel's calls (it must not run when the output cannot be written)."""
    calls: list = []
    real = sstfill.kernels.blocks.tile_block

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(sstfill.kernels.blocks, "tile_block", counting)
    return calls


@pytest.fixture
def unwritable_dir(tmp_path, monkeypatch):
    """A directory that refuses new entries: chmod 555, or for root (which ignores it) chattr +i."""
    path = tmp_path / "readonly"
    path.mkdir()
    path.chmod(0o555)
    immutable = False

    def writable() -> bool:
        try:
            (path / "probe").touch()
        except OSError:
            return False
        (path / "probe").unlink()
        return True

    if writable() and subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode == 0:
        immutable = True
    if writable():  # no way to make the kernel refuse: refuse at the os.open/os.mkdir level
        real_open, real_mkdir = os.open, os.mkdir

        def refuse(real):
            def call(p, *args, **kwargs):
                if Path(os.fsdecode(p)).parent == path:
                    raise PermissionError(errno.EACCES, "Permission denied", os.fsdecode(p))
                return real(p, *args, **kwargs)

            return call

        monkeypatch.setattr(os, "open", refuse(real_open))
        monkeypatch.setattr(os, "mkdir", refuse(real_mkdir))
    yield path
    if immutable:
        subprocess.run(["chattr", "-i", str(path)], check=True)
    path.chmod(0o755)


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_unwritable_output_directory_fails_before_any_work(unwritable_dir, packed_file, suffix, monkeypatch, capsys):
    calls = _fill_counter(monkeypatch)
    resolved: list = []
    monkeypatch.setattr(sstfill.cli.fill, "resolve_cli_model", lambda *a, **k: resolved.append(a) or sstfill.models.store.resolve_model("laplace"))
    target = unwritable_dir / f"out{suffix}"
    assert cli.main(["fill", str(packed_file), str(target), "--model", "laplace", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"sstfill: error: Cannot write {str(target)!r}: permission denied"), err
    assert "\n" not in err and "Traceback" not in err
    assert calls == [] and resolved == [], "work was done before the output directory was checked"
    assert os.listdir(unwritable_dir) == []


def _raise_on_write(exc: BaseException):
    def __setitem__(self, key, value):  # noqa: N807  (stands in for the backend's array write)
        raise exc

    return __setitem__


@pytest.mark.parametrize(
    "exc,words",
    [(OSError(errno.ENOSPC, "No space left on device"), "disk is full"), (RuntimeError("NetCDF: HDF error"), "netCDF library failed to write")],
)
@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_a_failed_write_is_one_line_and_leaves_nothing(tmp_path, packed_file, suffix, exc, words, monkeypatch, capsys):
    import xarray.backends.netCDF4_ as nc_backend
    import zarr

    if suffix == ".nc":
        monkeypatch.setattr(nc_backend.NetCDF4ArrayWrapper, "__setitem__", _raise_on_write(exc))
    else:
        monkeypatch.setattr(zarr.Array, "__setitem__", _raise_on_write(exc))
    target = tmp_path / "out" / f"filled{suffix}"
    assert cli.main(["fill", str(packed_file), str(target), "--model", "laplace", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"sstfill: error: Cannot write {str(target)!r}: ") and words in err, err
    assert "\n" not in err
    assert os.listdir(tmp_path) == []  # no output, no temporary, not even the directory made for it


def test_an_error_of_the_computation_is_not_called_a_write_failure(tmp_path):
    def boom(block):
        raise RuntimeError("simulated failure while computing")

    ds = xr.Dataset({"a": (("t", "y", "x"), dsa.ones((2, 8, 8), chunks=(1, 8, 8)).map_blocks(boom, dtype="float64"))})
    with pytest.raises(RuntimeError, match="simulated failure") as info:
        sio.write_atomic(ds, tmp_path / "out.nc")
    assert not isinstance(info.value, OutputError)


# -- any file or directory: sstfill.atomic.write_atomically ------------------------------
@pytest.mark.parametrize("kind", ["file", "directory"])
def test_write_atomically_publishes_refuses_and_swaps(tmp_path, kind, publish_mode):
    target = tmp_path / "sub" / "out.bin"

    def write_with(text: str):
        def write(tmp: Path) -> None:
            if kind == "file":
                with open(tmp, "wb") as f:  # as np.savez on a file object, or savefig, would
                    f.write(text.encode())
            else:  # a zarr store: only a zarr store replaces one
                tmp.mkdir()
                (tmp / "zarr.json").write_text('{"zarr_format": 3, "node_type": "group"}')
                (tmp / "part").write_text(text)

        return write

    def content() -> str:
        return (target.read_text() if kind == "file" else (target / "part").read_text())

    assert atomic.write_atomically(target, write_with("one")) == target and content() == "one"
    umask = os.umask(0)
    os.umask(umask)
    assert kind == "directory" or target.stat().st_mode & 0o777 == 0o666 & ~umask
    with pytest.raises(OutputError, match="exists already"):
        atomic.write_atomically(target, write_with("two"))
    assert atomic.write_atomically(target, write_with("two"), overwrite=True) == target and content() == "two"

    def failing(tmp: Path) -> None:
        write_with("three")(tmp)
        raise ValueError("simulated failure while writing")

    with pytest.raises(ValueError, match="simulated failure"):
        atomic.write_atomically(target, failing, overwrite=True)
    assert os.listdir(target.parent) == ["out.bin"] and content() == "two"
    with pytest.raises(ValueError):  # a directory made for the target is removed again
        atomic.write_atomically(tmp_path / "new" / "x.bin", failing)
    assert sorted(os.listdir(tmp_path)) == ["sub"]


# -- stale temporaries --------------------------------------------------------------------
def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_temporaries_of_killed_runs_are_cleaned_and_live_ones_kept(tmp_path):
    dead, dead_too = _dead_pid(), _dead_pid()
    hour_ago = time.time() - 3600
    stale = [
        tmp_path / f".out.nc.tmp-{dead}",  # an older sstfill's name, process gone, an hour old
        tmp_path / f".out.nc.old-{dead}-0a1b2c3d@{atomic.HOST}",  # this host's, process gone
    ]
    keep = [
        tmp_path / f".out.nc.tmp-{os.getpid()}",  # a live process (this one)
        tmp_path / f".out.nc.tmp-{dead_too}",  # recent and without a host: maybe alive on another host
        tmp_path / f".out.nc.tmp-{dead}-0a1b2c3d@another-host.example",  # another host's
        tmp_path / f".other.nc.tmp-{dead}",  # another output's
    ]
    for path in stale + keep:
        path.write_bytes(b"half a netCDF file")
        if path != keep[1]:
            os.utime(path, (hour_ago, hour_ago))
    sio.write_atomic(synthetic_sst(16, 16).to_dataset(), tmp_path / "out.nc")
    left = sorted(os.listdir(tmp_path))
    assert left == sorted(["out.nc"] + [p.name for p in keep])


# -- warnings and progress ----------------------------------------------------------------
@pytest.mark.filterwarnings("error")
def test_zarr_writes_warn_nothing(tmp_path, packed_file, capsys):
    sio.write_atomic(synthetic_sst(16, 16).to_dataset().chunk(), tmp_path / "api.zarr")
    assert cli.main(["fill", str(packed_file), str(tmp_path / "cli.zarr"), "--model", "laplace"]) == 0
    assert "Warning" not in capsys.readouterr().err


def test_progress_counts_the_fill_tasks(tmp_path, monkeypatch):
    """While the first fill task runs, the bar says 0 % (dask's own said ~40 %: reads were done)."""
    real = sstfill.kernels.blocks.tile_block  # the tiles of each block, in every path
    started, finished = [], []

    def slow(*args, **kwargs):
        started.append(time.monotonic())
        if len(started) == 1:
            time.sleep(1.6)  # several redraws (every 0.5 s) while the first fill task runs
        out = real(*args, **kwargs)
        finished.append(time.monotonic())
        return out

    monkeypatch.setattr(sstfill.kernels.blocks, "tile_block", slow)
    drawn: list[tuple[float, int]] = []

    class Recorder(io.StringIO):
        def write(self, text):
            for percent in re.findall(r"\| (\d+)% Completed", text):
                drawn.append((time.monotonic(), int(percent)))
            return super().write(text)

    monkeypatch.setattr(sys, "stderr", Recorder())
    sst = synthetic_sst(96, 96, nt=4, seed=1)
    sst.values[:, 30:50, 30:50] = np.nan
    filled = sst.to_dataset().chunk({"time": 1}).inpaint.fill("sst", model="laplace")
    with dask_threads(1):
        sio.write_atomic(filled, tmp_path / "out.nc", progress=True)
    first_done = min(finished)
    during_first = [p for t, p in drawn if started[0] < t < first_done]
    assert len(during_first) >= 2, drawn
    assert set(during_first) == {0}, f"the bar said {during_first} % before any fill task was done"
    assert drawn[-1][1] == 100
    later = [p for t, p in drawn if t > first_done]
    assert later == sorted(later)


def dask_threads(n: int):
    import dask

    return dask.config.set(scheduler="threads", num_workers=n)


# -- directories: only a zarr store replaces a zarr store ----------------------------------
def _tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (relative name -> bytes), to tell it is intact."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _write_file(tmp: Path) -> None:
    with open(tmp, "wb") as f:
        f.write(b"new output")


def _write_store(tmp: Path) -> None:
    tmp.mkdir()
    (tmp / ".zgroup").write_text('{"zarr_format": 2}')


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_overwrite_never_replaces_a_directory_that_is_no_zarr_store(tmp_path, suffix, publish_mode):
    """fill IN results.nc --overwrite, results.nc a directory of notes, deleted it recursively and wrote a file there."""
    target = tmp_path / f"results{suffix}"
    (target / "sub").mkdir(parents=True)
    (target / "sub" / "notes.txt").write_text("precious")
    before = _tree(target)
    for call in (lambda: atomic.check_target(target, overwrite=True, directory=suffix == ".zarr"),
                 lambda: sio.check_output(target, overwrite=True),
                 lambda: atomic.write_atomically(target, _write_store if suffix == ".zarr" else _write_file, overwrite=True),
                 lambda: sio.write_atomic(_marked(1.0, n=1), target, overwrite=True),
                 lambda: sio.write_atomic(_marked(1.0, n=1), target)):
        with pytest.raises(OutputError) as info:
            call()
        message = str(info.value)
        assert str(target) in message and "not a zarr store" in message and "even with --overwrite" in message and "remove it yourself" in message, message
        assert "\n" not in message
    assert _tree(target) == before and sorted(os.listdir(tmp_path)) == [target.name]


def test_a_file_and_a_zarr_store_never_replace_each_other(tmp_path, publish_mode):
    store, file = tmp_path / "out.zarr", tmp_path / "out.nc"
    sio.write_atomic(_marked(1.0, n=1), store)
    file.write_bytes(b"a netCDF file")
    kept = {store.name: _tree(store), file.name: file.read_bytes()}
    cases = [
        (lambda: atomic.check_target(store, overwrite=True), "is a zarr store"),  # a file over a store
        (lambda: atomic.write_atomically(store, _write_file, overwrite=True), "is a zarr store"),
        (lambda: atomic.check_target(file, overwrite=True, directory=True), "is a file"),  # a store over a file
        (lambda: atomic.write_atomically(file, _write_store, overwrite=True), "is a file"),
        (lambda: atomic.write_atomically(store, lambda tmp: (tmp.mkdir(), (tmp / "x").write_text("x")), overwrite=True), "no zarr store"),
    ]
    for call, words in cases:
        with pytest.raises(OutputError, match=words) as info:
            call()
        assert "even with --overwrite" in str(info.value) and "remove it yourself" in str(info.value)
    assert sorted(os.listdir(tmp_path)) == ["out.nc", "out.zarr"]
    assert {store.name: _tree(store), file.name: file.read_bytes()} == kept
    sio.write_atomic(_marked(2.0, n=1), store, overwrite=True)  # a zarr store still replaces a zarr store
    with _open(store) as back:
        assert float(back["a"].min()) == 2.0
    assert sorted(os.listdir(tmp_path)) == ["out.nc", "out.zarr"]


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_a_plain_directory_created_while_writing_is_not_replaced_with_overwrite(tmp_path, suffix, publish_mode):
    target = tmp_path / f"out{suffix}"
    made = threading.Event()

    def intruder():  # a directory of someone's files appears under the output's name while this run computes
        if not made.is_set():
            made.set()
            (target / "sub").mkdir(parents=True)
            (target / "sub" / "notes.txt").write_text("precious")

    with pytest.raises(OutputError, match="not a zarr store"):
        sio.write_atomic(_marked(1.0, n=1, gate=intruder), target, overwrite=True)
    assert made.is_set() and _tree(target) == {os.path.join("sub", "notes.txt"): b"precious"}
    assert sorted(os.listdir(tmp_path)) == [target.name]  # no temporary, no set-aside copy


def test_an_output_with_a_name_near_the_file_systems_limit_is_written_and_its_leftovers_found(tmp_path):
    """A 240-byte name (file systems take 255) was refused with 'File name too long ... fix its permissions':
    the temporary's name adds about 35 bytes to the output's."""
    target = tmp_path / ("sst_" * 59 + "l4.nc")
    assert len(target.name) == 241
    field = synthetic_sst(64, 64, seed=1).inpaint.add_holes("squares", fraction=0.2, seed=0)[0]
    written = sio.write_atomic(field.to_dataset().inpaint.fill(model="laplace"), target)
    assert written == target and os.listdir(tmp_path) == [target.name]
    with xr.open_dataset(target) as out:
        assert int((out["sst_fill_flag"] == 1).sum()) > 0
    leftover = atomic.temporary_path(target)  # a killed run's temporary, under the shortened name
    leftover = leftover.with_name(re.sub(r"tmp-\d+-", f"tmp-{_dead_pid()}-", leftover.name))
    leftover.write_bytes(b"partial")
    assert len(os.fsencode(leftover.name)) <= 255 and atomic.clean_stale_temporaries(target) == [leftover]
