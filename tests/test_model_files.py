"""Model files: written where asked, read under any name, pickles refused, ``sstfill info`` honest."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import sstfill
from sstfill.models.files import load_arrays
from sstfill.models.store import BUNDLED_MODEL_USES, BUNDLED_MODELS
from sstfill.cli import main
from sstfill.errors import ModelFileError
from sstfill.testing import synthetic_sst
from sstfill.training.tiles import cut_tiles_by_index
from sstfill.training.trainer import TrainSettings, fit, validation_holes

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = None

REPO = Path(__file__).resolve().parents[1]
DATA = Path(sstfill.__file__).parent / "data"


def _pyproject_version() -> str:
    text = (REPO / "pyproject.toml").read_text()
    if tomllib is not None:
        return tomllib.loads(text)["project"]["version"]
    return re.search(r'^version\s*=\s*"([^"]+)"', text, re.M).group(1)


def _weights(model: sstfill.Inpainter) -> dict[str, np.ndarray]:
    return {k: v.numpy() for k, v in model.generator.state_dict().items()}


@pytest.fixture(scope="module")
def small_model() -> sstfill.Inpainter:
    model = sstfill.Inpainter.from_preset("fast")
    with torch.no_grad():  # not the initial weights: the round trip must carry these
        model.generator.head.weight.normal_(0, 0.1, generator=torch.Generator().manual_seed(1))
    return model


@pytest.mark.parametrize("name", ["m.sstfill", "model", "m.npz", "run.ckpt.npz"])
def test_save_writes_exactly_the_path_given_and_load_reads_it(tmp_path, small_model, name):
    path = tmp_path / name
    assert small_model.save(path) == path
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no suffix added, no temporary left
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the file asked for is read, with no fallback warning
        again = sstfill.load_model(path)
    for key, value in _weights(small_model).items():
        np.testing.assert_array_equal(_weights(again)[key], value)
    assert again._path == str(path.resolve())


def test_a_saved_model_gets_the_permissions_of_any_new_file(tmp_path, small_model):
    import os

    umask = os.umask(0o022)
    os.umask(umask)
    path = small_model.save(tmp_path / "m.npz")
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600


def test_a_file_saved_by_old_sstfill_with_npz_added_is_read_with_a_warning(tmp_path, small_model):
    small_model.save(tmp_path / "run.npz")  # what sstfill 0.1.0 wrote for model.save("run")
    with pytest.warns(UserWarning, match=r"'.*run' does not exist; reading '.*run\.npz' instead") as record:
        again = sstfill.load_model(tmp_path / "run")
    assert record[0].filename == __file__  # the warning points at the caller, not at sstfill
    assert again._path == str((tmp_path / "run.npz").resolve())
    np.testing.assert_array_equal(_weights(again)["head.weight"], _weights(small_model)["head.weight"])


def test_cli_train_writes_out_and_checkpoint_exactly_as_named(tmp_path, capsys):
    data = tmp_path / "train.nc"
    synthetic_sst(128, 128, nt=4, seed=2).to_dataset().to_netcdf(data)
    out, checkpoint = tmp_path / "mine.sstfill", tmp_path / "run.ckpt"
    argv = ["train", str(data), "--out", str(out), "--checkpoint", str(checkpoint), "--epochs", "1", "--preset", "fast",
            "--steps-per-epoch", "1", "--batch-size", "4", "--max-tiles", "4", "--holes", "squares", "--no-progress"]
    assert main(argv) == 0, capsys.readouterr()
    assert f"wrote {out}\n" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.sstfill", "run.ckpt", "train.nc"]
    assert sstfill.load_model(out).preset == "fast" and len(sstfill.load_model(checkpoint).history["val_loss"]) == 1


def test_an_interrupted_cli_training_points_to_its_checkpoint(tmp_path, capsys, monkeypatch):
    """Ctrl-C after an epoch: it said "no output was written" as if the run were lost; the checkpoint holds it, and --resume goes on."""
    import sstfill.training.trainer as trainer

    data = tmp_path / "train.nc"
    synthetic_sst(128, 128, nt=4, seed=2).to_dataset().to_netcdf(data)
    out, checkpoint = tmp_path / "m.npz", tmp_path / "run.npz"
    argv = ["train", str(data), "-o", str(out), "--checkpoint", str(checkpoint), "--epochs", "2", "--preset", "fast",
            "--steps-per-epoch", "1", "--batch-size", "4", "--max-tiles", "4", "--holes", "squares", "--no-progress"]

    def interrupt(run):  # Ctrl-C right after the first epoch's checkpoint
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(trainer, "should_stop", interrupt)
        assert main(argv) == 130
    err = capsys.readouterr().err
    assert err == f"sstfill: interrupted; no output was written (the checkpoint {str(checkpoint)!r} holds the epochs finished: add --resume {checkpoint} to go on from it)\n"
    assert not out.exists() and len(sstfill.load_model(checkpoint).history["val_loss"]) == 1
    assert main([*argv, "--resume", str(checkpoint)]) == 0, capsys.readouterr()
    assert len(sstfill.load_model(out).history["val_loss"]) == 2  # the second epoch, after the first


def test_a_directory_as_model_path_is_called_a_directory(tmp_path, small_model, capsys):
    with pytest.raises(ModelFileError, match="is a directory, not a model file") as err:
        sstfill.load_model(tmp_path)
    assert "does not exist" not in str(err.value)
    small_model.save(tmp_path / "mine.npz")
    small_model.save(tmp_path / "other.sstfill")
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(ModelFileError, match=r"is a directory.*It holds mine\.npz, other\.sstfill; pass one of those"):
        sstfill.load_model(tmp_path)
    assert main(["info", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    with pytest.raises(ModelFileError, match="is a directory"):
        small_model.save(tmp_path)


class _CreatesAFileWhenUnpickled:
    """A pickle payload: unpickling it calls ``open(path, "w")``, which creates ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_pickled_npz_is_refused_for_safety_and_never_unpickled(tmp_path):
    marker = tmp_path / "created_by_the_pickle"
    config = json.dumps({"format": "sstfill-model/1", "model": {}}).encode()
    path = tmp_path / "evil.npz"
    np.savez(path, payload=np.array([_CreatesAFileWhenUnpickled(marker)], dtype=object), __config__=np.frombuffer(config, np.uint8))
    with pytest.raises(ModelFileError, match=r"Refused to load .*'payload'.*pickled Python objects.*never unpickles") as err:
        sstfill.load_model(path)
    assert "corrupt" not in str(err.value)
    assert not marker.exists()
    with np.load(path, allow_pickle=True) as npz:  # the payload is live: unpickling does run it
        npz["payload"]
    assert marker.exists()


def test_pytorch_and_pickle_files_are_refused_unread(tmp_path):
    import pickle

    marker = tmp_path / "created_by_the_pickle"
    torch.save({"weights": torch.zeros(2), "payload": _CreatesAFileWhenUnpickled(marker)}, tmp_path / "model.pt")
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(_CreatesAFileWhenUnpickled(marker)))
    with pytest.raises(ModelFileError, match=r"not an sstfill model: it is a PyTorch or other pickle archive .*nothing was unpickled"):
        sstfill.load_model(tmp_path / "model.pt")
    with pytest.raises(ModelFileError, match=r"Refused to load .*it is a pickle file.*never unpickles"):
        sstfill.load_model(tmp_path / "model.pkl")
    np.save(tmp_path / "one.npy", np.zeros(3))
    with pytest.raises(ModelFileError, match=r"single numpy array \(\.npy\), not an sstfill model"):
        sstfill.load_model(tmp_path / "one.npy")
    assert not marker.exists()


def _bundled_with(tmp_path: Path, name: str, change, source: str = "fast_model.npz") -> Path:
    """A bundled model (the fast one unless ``source`` says) re-saved with ``change(config, arrays)`` applied to its contents."""
    arrays, config = load_arrays(DATA / source)
    config = change(config, arrays) or config
    arrays["__config__"] = np.frombuffer(json.dumps(config).encode(), np.uint8)
    np.savez(tmp_path / name, **arrays)
    return tmp_path / name


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c, a: [c], r"unreadable configuration \(a JSON list, not an object\)"),
        (lambda c, a: c.update(model=[16, 32]), "its 'model' is a list, not a dict"),
        (lambda c, a: c["model"].update(widths=[]), r"widths must be a non-empty list of channel counts, got \[\]"),
        (lambda c, a: c["model"].update(tile_size=0), "tile_size must be a whole number >= 1, got 0"),
        (lambda c, a: c["model"].update(context_margin=-8), "context_margin must be a whole number >= 0, got -8"),
        (lambda c, a: c["model"].update(std_floor="0.05"), "std_floor must be a finite number >= 0, got '0.05'"),
        (lambda c, a: c.update(history="trained"), "its 'history' is a str, not a dict"),
        (lambda c, a: c["model"].update(widths=[512, 512, 512]), r"weights do not fit its configuration \(widths \[512, 512, 512\].*encoders.0.0.weight is \(16, 3, 3, 3\)"),
        (lambda c, a: a.update({"generator/head.weight": np.zeros((1, 16, 3, 3), "float32")}), r"head.weight is \(1, 16, 3, 3\), the configuration needs \(1, 16, 1, 1\)"),
    ],
    ids=["config-list", "model-list", "no-widths", "tile-0", "margin-negative", "floor-string", "history-string", "huge-widths", "weight-shape"],
)
def test_a_model_file_with_a_malformed_config_is_refused_by_name(tmp_path, capsys, change, message):
    """Wrong types, missing or out-of-range sizes: a ModelFileError naming the setting, before any layer is allocated."""
    path = _bundled_with(tmp_path, "bad.npz", change)
    with pytest.raises(ModelFileError, match=message):
        sstfill.load_model(path)
    assert main(["info", str(path)]) != 0  # no traceback from ``sstfill info`` either
    assert "sstfill: error" in capsys.readouterr().err


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c, a: c.update(latent=[100, 64]), "its 'latent' is a list, not a dict"),
        (lambda c, a: c["latent"].update(widths=[]), r"widths must be a non-empty list of channel counts, got \(\)"),
        (lambda c, a: c["latent"].update(z_dim=0), "z_dim must be a whole number >= 1, got 0"),
        (lambda c, a: c["latent"].update(steps="25"), "steps must be a whole number >= 0, got '25'"),
        (lambda c, a: c["latent"].update(prior_weight=float("nan")), "prior_weight must be a finite number >= 0, got nan"),
        (lambda c, a: c.update(history="trained"), "its 'history' is a str, not a dict"),
        (lambda c, a: c["latent"].update(widths=[8192, 4096, 2048, 1024]), r"generator weights do not fit its configuration \(widths \[8192, 4096, 2048, 1024\], z_dim 100\)"),
        (lambda c, a: a.__delitem__("discriminator/head.weight"), "discriminator weights do not fit its configuration .*missing head.weight"),
    ],
    ids=["latent-list", "no-widths", "z-dim-0", "steps-string", "prior-nan", "history-string", "huge-widths", "no-head"],
)
def test_a_latent_model_file_with_a_malformed_config_is_refused_by_name(tmp_path, capsys, change, message):
    """The bundled DCGAN's file with one setting broken: a ModelFileError naming it, before any layer is allocated (huge widths asked for ~1 GB)."""
    path = _bundled_with(tmp_path, "bad_latent.npz", change, source="latent_model.npz")
    with pytest.raises(ModelFileError, match=message):
        sstfill.load_model(path)
    assert main(["info", str(path)]) != 0
    assert "sstfill: error" in capsys.readouterr().err


def test_info_without_a_model_lists_the_bundled_models(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    for name, file_name in BUNDLED_MODELS.items():
        _, config = load_arrays(DATA / file_name)
        history = config["history"]
        size = f"{(DATA / file_name).stat().st_size / 2**20:.2f} MiB"
        block = re.search(rf"^  {name} +{re.escape(file_name)}, {size}, preset '{config['preset']}'\n((?: {{11}}.*\n)+)", out, re.M)
        assert block, (name, out)
        assert BUNDLED_MODEL_USES[name] in block.group(1)
        if config.get("kind") == "latent":  # a DCGAN: its losses and its fills' RMSE
            assert f"DCGAN: {len(history['d_loss'])} epoch(s)" in block.group(1) and f"{history['val_rmse'][-1]:.4f}" in block.group(1)
            continue
        best = int(np.nanargmin(history["val_loss"]))
        assert f"hidden-pixel RMSE {history['val_rmse_hidden'][best]:.4f} (normalised units" in block.group(1)
    assert "sstfill info NAME" in out
    assert main(["info", "no_such_model.npz"]) == 2
    assert "Run 'sstfill info' with no MODEL to list the bundled models" in capsys.readouterr().err


def test_info_says_which_sstfill_saved_a_file_honestly(tmp_path, small_model, capsys, monkeypatch):
    import sstfill.models.files as files

    monkeypatch.setattr(files, "__version__", files.UNKNOWN_VERSION)  # as a source checkout without metadata saves
    small_model.save(tmp_path / "checkout.npz")
    monkeypatch.undo()
    assert main(["info", str(tmp_path / "checkout.npz")]) == 0
    out = capsys.readouterr().out
    assert "saved with an sstfill source checkout of unknown version" in out and "0.0.0+unknown" not in out
    small_model.save(tmp_path / "m.npz")
    assert main(["info", str(tmp_path / "m.npz")]) == 0
    assert f"saved with sstfill {_pyproject_version()}\n" in capsys.readouterr().out


def test_an_uninstalled_source_checkout_knows_its_version(monkeypatch):
    import importlib
    import importlib.metadata

    def no_metadata(name: str) -> str:  # as in a source checkout that is not installed
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", no_metadata)
    try:
        assert importlib.reload(sstfill).__version__ == _pyproject_version()
    finally:
        monkeypatch.undo()
        importlib.reload(sstfill)
    assert sstfill.__version__ == _pyproject_version()


def test_progress_bar_shows_the_validation_rmse_in_field_units_and_labels_the_normalised_one(capsys):
    images = synthetic_sst(128, 160, nt=2, seed=7, land=False).values
    tiles = cut_tiles_by_index(images, 64, 32, 0.9)
    train, val = tiles[:6], tiles[6:12]
    settings = TrainSettings(epochs=1, batch_size=4, steps_per_epoch=1, seed=0)
    model = fit(sstfill.Inpainter.from_preset("fast"), train, val, settings, device="cpu", progress=True)
    bar = capsys.readouterr().err
    assert not re.search(r"[ ,]rmse=", bar), bar
    field = float(re.findall(r"val_rmse_field_units=([0-9.]+)", bar)[-1])
    norm = float(re.findall(r"val_rmse_norm=([0-9.]+)", bar)[-1])
    assert norm == pytest.approx(model.history["val_rmse_hidden"][-1], abs=6e-4)
    # the field-units number is what filling those validation holes gives, in the field's units
    holes = validation_holes(len(val), 64, settings)
    observed = np.isfinite(val) & ~holes
    filled = model.to("cpu", precision="float32").predict_tiles(np.where(observed, val, np.nan), observed)
    scored = np.isfinite(val) & holes
    rmse_field = float(np.sqrt(np.mean((filled[scored] - val[scored]) ** 2)))
    assert field == pytest.approx(rmse_field, rel=2e-3, abs=6e-4)
    assert abs(field - norm) > 0.01  # they are different numbers: the label matters


def _not_models(folder: Path) -> dict[str, Path]:
    """Files that are no model at all, each as a user might pass one: real netCDF-3 and netCDF-4 files, a text file, an empty one, a zarr store."""
    import xarray as xr

    ds = xr.Dataset({"sst": (("lat", "lon"), np.arange(12.0).reshape(3, 4))}, coords={"lat": [1.0, 2.0, 3.0], "lon": [1.0, 2.0, 3.0, 4.0]})
    ds.to_netcdf(folder / "out3.nc", format="NETCDF3_64BIT", engine="scipy")
    ds.to_netcdf(folder / "out4.nc", format="NETCDF4", engine="netcdf4")
    ds.to_zarr(folder / "out.zarr")
    (folder / "notes.txt").write_text("hello\nthese are my notes, not a model\n")
    (folder / "empty.npz").write_bytes(b"")
    return {"netcdf3": folder / "out3.nc", "netcdf4": folder / "out4.nc", "zarr": folder / "out.zarr", "text": folder / "notes.txt", "empty": folder / "empty.npz"}


NOT_A_MODEL = {"netcdf3": "it is a netCDF file", "netcdf4": "it is a netCDF-4/HDF5 file", "zarr": "it is a zarr store", "text": "it is a text file", "empty": "it is empty"}


@pytest.mark.parametrize("kind", list(NOT_A_MODEL))
def test_a_file_that_is_no_model_is_called_so_not_corrupt_and_never_unpickled(tmp_path, capsys, kind):
    """Before: "corrupt or truncated (ValueError: This file contains pickled (object) data ... allow_pickle= ...). Re-download it." for a netCDF or text file."""
    path = _not_models(tmp_path)[kind]
    with pytest.raises(ModelFileError) as err:
        sstfill.load_model(path)
    message = str(err.value)
    assert f"{str(path)!r} is not an sstfill model file ({NOT_A_MODEL[kind]}): a model is an .npz file that sstfill saved" in message, message
    assert "corrupt" not in message and "pickle" not in message and "re-download" not in message.lower(), message
    assert err.value.argument == "model" and "model.save(path)" in err.value.fix
    for args in (["info", str(path)], ["fill", str(DATA / "sample_slstr_nw_med.nc"), str(tmp_path / "o.nc"), "--model", str(path), "--no-progress"],
                 ["train", str(DATA / "sample_ersst_pacific.nc"), "-o", str(tmp_path / "m.npz"), "--init", str(path), "--no-progress"],
                 ["train", str(DATA / "sample_ersst_pacific.nc"), "-o", str(tmp_path / "m.npz"), "--resume", str(path), "--no-progress"]):
        assert main(args) == 2, args
        cli = capsys.readouterr().err
        assert cli.startswith("sstfill: error:") and len(cli.strip().splitlines()) == 1 and "Traceback" not in cli, cli
        assert f"is not an sstfill model file ({NOT_A_MODEL[kind]})" in cli and "pickle" not in cli and "corrupt" not in cli, cli
    assert not (tmp_path / "o.nc").exists() and not (tmp_path / "m.npz").exists()


def test_a_truncated_model_is_corrupt_and_a_pickled_npy_is_refused_without_numpys_advice(tmp_path, capsys):
    whole = (DATA / "fast_model.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(whole[: len(whole) // 2])  # a download cut short: a zip without its directory
    with pytest.raises(ModelFileError, match=r"'.*cut\.npz' is corrupt or truncated.*Re-save or re-download it") as err:
        sstfill.load_model(tmp_path / "cut.npz")
    assert "pickle" not in str(err.value) and "not an sstfill model" not in str(err.value)
    assert main(["info", str(tmp_path / "cut.npz")]) == 2 and "is corrupt or truncated" in capsys.readouterr().err
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ModelFileError, match=r"Refused to load .*objects\.npy'.*pickled Python objects.*never unpickles") as err:
        sstfill.load_model(tmp_path / "objects.npy")
    assert "allow_pickle" not in str(err.value) and "corrupt" not in str(err.value)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("scale", -1.0, r"error_model\.scale must be a finite number > 0, got -1\.0"),
        ("scale", 0.0, r"error_model\.scale must be a finite number > 0, got 0\.0"),
        ("scale", float("nan"), r"error_model\.scale must be a finite number > 0, got nan"),
        ("scale", "0.9", r"error_model\.scale must be a finite number > 0, got '0\.9'"),
        ("series_scale", float("inf"), r"error_model\.series_scale must be a finite number > 0, got inf"),
        ("guess_ratio", -0.5, r"error_model\.guess_ratio must be a finite number > 0, got -0\.5"),
        ("guess_cap", -0.6, r"error_model\.guess_cap must be a finite number >= 0, got -0\.6"),
        ("coefficients", [float("nan")] * 12, r"error_model\.coefficients\[0\] must be a finite number, got nan"),
    ],
    ids=["scale-negative", "scale-0", "scale-nan", "scale-string", "series-inf", "ratio-negative", "cap-negative", "coefficient-nan"],
)
@pytest.mark.parametrize("source", ["fast_model.npz", "latent_model.npz"])
def test_a_model_file_with_a_bad_error_model_is_refused_naming_file_and_field(tmp_path, capsys, source, field, value, message):
    """Before: error_model.scale -1 was accepted, 'sstfill info' said "calibration scale -1" and a fill wrote a negative <var>_error."""
    path = _bundled_with(tmp_path, "bad_error.npz", lambda c, a: c["error_model"].update({field: value}), source=source)
    with pytest.raises(ModelFileError, match=rf"Model file '.*bad_error\.npz' has an invalid error model: {message}"):
        sstfill.load_model(path)
    with pytest.raises(ModelFileError, match=message):
        load_arrays(path)
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sstfill: error:") and len(err.strip().splitlines()) == 1 and "bad_error.npz" in err and f"error_model.{field}" in err, err


@pytest.mark.parametrize("name", sorted(BUNDLED_MODELS))
def test_every_bundled_model_and_its_error_model_still_loads(name):
    arrays, config = load_arrays(DATA / BUNDLED_MODELS[name])
    model = sstfill.load_model(DATA / BUNDLED_MODELS[name])
    assert model.fitted_error_model is not None and model.fitted_error_model.to_dict() == config["error_model"]
