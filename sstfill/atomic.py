"""Publish a file or directory atomically: complete under its final name, or not there at all.

:func:`write_atomically` is the one writer of sstfill's outputs (netCDF files and zarr stores,
model files, figures). The content is written to a temporary sibling of the target,
``.<name>.tmp-<pid>-<token>@<host>``, and put in place in one atomic step once complete, so
a failed, interrupted or concurrent run never leaves a half-written output under the final
name, and of two runs writing one output exactly one wins. Standard library only; kept our
own because ``atomicwrites`` (archived 2022) and ``safer`` publish single files only, while a
zarr store is a directory that must also be published without replacing, or swapped.

Even with ``overwrite`` a directory is replaced only by a zarr store, and only when it is a
zarr store itself (zarr metadata at its top); a file never replaces a directory, nor a
directory a file (:func:`replace_refusal`): a folder of someone's files under an output's
name, or an input inside it, is never deleted.

Examples
--------
>>> import os, tempfile
>>> d = tempfile.mkdtemp()
>>> def write(tmp):
...     with open(tmp, "w") as f:
...         f.write("complete")
>>> write_atomically(os.path.join(d, "out.txt"), write).name
'out.txt'
>>> write_atomically(os.path.join(d, "out.txt"), write)
Traceback (most recent call last):
...
sstfill.errors.OutputError: Output '...out.txt' exists already. Pass --overwrite (overwrite=True) to replace it, or choose another name.
>>> os.listdir(d)
['out.txt']
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import os
import re
import secrets
import shutil
import socket
import sys
import time
from pathlib import Path
from typing import Any, Callable

from sstfill.errors import OutputError

__all__ = [
    "write_atomically",
    "check_target",
    "clean_stale_temporaries",
    "temporary_path",
    "cannot_write",
    "as_target",
    "remove_path",
    "replace_refusal",
    "is_zarr_store",
    "STALE_UNNAMED_HOST_S",
    "HOST",
]


# -- paths --------------------------------------------------------------------------------
def as_target(target: str | os.PathLike) -> Path:
    """``target`` as a Path, ``~`` expanded and trailing separators dropped."""
    return Path(os.path.expanduser(os.fspath(target)).rstrip("/\\"))


def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def _is_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


#: what a zarr store holds at its top: zarr v2 metadata, or zarr v3's
ZARR_MARKERS = (".zgroup", ".zarray", ".zattrs", "zarr.json")


def is_zarr_store(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a directory (not a link) with zarr metadata at its top (:data:`ZARR_MARKERS`)."""
    path = Path(path)
    return _is_dir(path) and any((path / marker).is_file() for marker in ZARR_MARKERS)


def replace_refusal(target: str | os.PathLike, new: str | os.PathLike | None = None, *, directory: bool | None = None,
                    old: str | os.PathLike | None = None) -> OutputError | None:
    """The :class:`OutputError` for replacing what is at ``target``, even with overwrite; None when it may be replaced.

    A directory is replaced only by a zarr store and only when it is a zarr store itself; a
    file (or link) never replaces a directory, nor a directory a file. The new output is
    ``new`` (written already), or a directory (a zarr store) when ``directory`` is True, a
    file when False; when neither is given only a directory that is no zarr store is
    refused. ``old`` is where the existing output lies, when not at ``target`` (set aside).
    """
    target = as_target(target)
    old = target if old is None else Path(old)
    if not _exists(old):
        return None
    fix = "Choose another name, or remove it yourself if you mean to replace it."
    if _is_dir(old) and not is_zarr_store(old):
        return OutputError(f"Output {str(target)!r} is a directory and not a zarr store: not replaced, even with --overwrite. {fix}")
    if new is not None:
        directory = _is_dir(Path(new))
        if directory and not is_zarr_store(new):
            return OutputError(f"Output {str(target)!r} exists, and this run's output is a directory but no zarr store: not replaced, even with --overwrite. {fix}")
    if directory is None or directory == _is_dir(old):
        return None
    if directory:
        return OutputError(f"Output {str(target)!r} is a file: a zarr store (a directory) does not replace it, even with --overwrite. {fix}")
    return OutputError(f"Output {str(target)!r} is a zarr store (a directory): a file does not replace it, even with --overwrite. {fix}")


def remove_path(path: Path) -> None:
    """Remove a file, link or directory tree; nothing when it is not there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


# -- temporaries: .<name>.tmp-<pid>-<token>@<host> and .<name>.old-<pid>-<token>@<host> ----
#: this host's name as written into temporaries' names
HOST = re.sub(r"[^A-Za-z0-9._-]", "_", socket.gethostname() or "localhost")[:64]
_TEMP_KINDS = ("tmp", "old")
# "<pid>" (written by sstfill before 0.2, or by hand) or "<pid>-<token>@<host>"
_TEMP_SUFFIX = re.compile(r"(?P<pid>\d+)(?:-(?P<token>[0-9a-f]+)@(?P<host>.+))?")
#: A temporary without a host in its name (an older sstfill's) whose process is gone is
#: removed only once it is this old (seconds): on a shared file system the process may be
#: alive on another host.
STALE_UNNAMED_HOST_S = 15 * 60


#: Longest name (in bytes) a temporary keeps of its target's: the rest of its name takes up to
#: about 90 more, and file systems allow 255; a longer name is cut and a hash of it added.
_TEMP_STEM_BYTES = 150


def _temp_stem(target: Path) -> str:
    """What a temporary's name keeps of ``target``'s: all of it, or for a very long name its start and a hash.

    Examples
    --------
    >>> _temp_stem(Path("out.nc")), len(_temp_stem(Path("x" * 240 + ".nc")))
    ('out.nc', 159)
    """
    raw = os.fsencode(target.name)
    if len(raw) <= _TEMP_STEM_BYTES:
        return target.name
    digest = hashlib.sha256(raw).hexdigest()[:8]
    return f"{raw[:_TEMP_STEM_BYTES].decode('utf-8', 'ignore')}~{digest}"  # a character cut in two is dropped


def temporary_path(target: Path, kind: str = "tmp") -> Path:
    """A fresh sibling name of ``target`` that only this call uses (also among threads); it fits a file system's 255 bytes whatever ``target``'s length."""
    return target.parent / f".{_temp_stem(target)}.{kind}-{os.getpid()}-{secrets.token_hex(4)}@{HOST}"


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (True when it cannot be told)."""
    if pid <= 0 or os.name == "nt":  # os.kill(pid, 0) would send CTRL_C_EVENT on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: alive, someone else's
        return True
    return True


def clean_stale_temporaries(target: str | os.PathLike, *, min_age_s: float = STALE_UNNAMED_HOST_S) -> list[Path]:
    """Remove temporaries of ``target`` left by killed runs; returns what was removed.

    A run writes ``.<name>.tmp-<pid>-<token>@<host>`` (and, while replacing an output,
    ``.<name>.old-<pid>-<token>@<host>``) beside ``target``; a run killed with SIGKILL or by a
    power cut leaves it behind. Such a temporary is removed when it was made on this host
    and process ``pid`` no longer exists. Temporaries of other hosts (a directory shared
    over NFS) are left alone; ones without a host in their name (``.<name>.tmp-<pid>``)
    are removed only when their process is gone on this host and they are older than
    ``min_age_s`` seconds.
    """
    target = as_target(target)
    removed: list[Path] = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        for kind in _TEMP_KINDS:
            prefix = f".{_temp_stem(target)}.{kind}-"
            if entry.name.startswith(prefix):
                break
        else:
            continue
        match = _TEMP_SUFFIX.fullmatch(entry.name[len(prefix) :])
        if match is None or (match["host"] is not None and match["host"] != HOST):
            continue
        if _pid_alive(int(match["pid"])):
            continue
        if match["host"] is None:
            try:
                age = now - entry.stat(follow_symlinks=False).st_mtime
            except OSError:
                continue
            if age < min_age_s:
                continue
        path = Path(entry.path)
        remove_path(path)
        removed.append(path)
    return removed


# -- publishing without replacing ---------------------------------------------------------
_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2
_UNSUPPORTED = {errno.EINVAL, errno.ENOSYS, getattr(errno, "ENOTSUP", errno.EINVAL), getattr(errno, "EOPNOTSUPP", errno.EINVAL)}


def _load_renameat2() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # glibc < 2.28, musl without it
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


#: Linux ``renameat2`` (atomic rename that refuses an existing target, or swaps two paths);
#: None elsewhere, where hard links and ``mkdir`` claims do the same job (tests set it to
#: None to run the portable way).
RENAMEAT2 = _load_renameat2()


def _renameat2(src: Path, dst: Path, flags: int) -> int:
    """0 on success, else the errno (EEXIST, ENOENT, ... or an unsupported-flag errno)."""
    if RENAMEAT2 is None:
        return errno.ENOSYS
    rc = RENAMEAT2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), flags)
    return 0 if rc == 0 else ctypes.get_errno()


def _rename_noreplace(src: Path, dst: Path) -> None:
    """Move ``src`` to ``dst`` atomically; FileExistsError when ``dst`` exists (never replaced)."""
    code = _renameat2(src, dst, _RENAME_NOREPLACE)
    if code == 0:
        return
    if code not in _UNSUPPORTED:
        if code == errno.EEXIST:
            raise FileExistsError(code, os.strerror(code), str(dst))
        raise OSError(code, os.strerror(code), str(src), None, str(dst))
    if os.name == "nt":  # os.rename never replaces on Windows
        os.rename(src, dst)
        return
    if src.is_dir() and not src.is_symlink():
        os.mkdir(dst)  # claims the name: FileExistsError when taken
        try:
            os.rename(src, dst)  # onto the empty directory just made
        except OSError as err:
            with contextlib.suppress(OSError):
                os.rmdir(dst)  # only if still the empty claim
            if err.errno in (errno.EEXIST, errno.ENOTEMPTY):
                raise FileExistsError(err.errno, "taken meanwhile", str(dst)) from err
            raise
        return
    try:
        os.link(src, dst)  # FileExistsError when taken
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: claim the name, then replace the claim
        fd = os.open(dst, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        os.close(fd)
        os.replace(src, dst)
        return
    os.unlink(src)


def _publish(tmp: Path, target: Path, overwrite: bool) -> None:
    """Put the complete ``tmp`` in place as ``target``; never a half state, never a leftover.

    Without ``overwrite`` an existing ``target`` (also one another run put there while this
    one was writing) is never replaced: :class:`OutputError`. With it the last run to
    publish wins; an output it replaces is deleted, when :func:`replace_refusal` allows
    (checked again on what was actually swapped out: else it is put back).
    """
    for _ in range(50):
        try:
            _rename_noreplace(tmp, target)
            return
        except FileExistsError:
            if not overwrite:
                raise OutputError(
                    f"Output {str(target)!r} was created by another run while this one was writing; it was left as it is "
                    "and this run's result was discarded. Pass --overwrite (overwrite=True) to replace it, or choose another name."
                ) from None
        refusal = replace_refusal(target, tmp)
        if refusal is not None:
            raise refusal
        if not _is_dir(tmp) and not _is_dir(target):
            os.replace(tmp, target)  # files: one atomic step
            return
        code = _renameat2(tmp, target, _RENAME_EXCHANGE)
        if code == 0:  # swapped atomically: tmp now holds the replaced output
            refusal = replace_refusal(target, target, old=tmp)  # what was swapped out, had it changed meanwhile
            if refusal is not None:
                if _renameat2(tmp, target, _RENAME_EXCHANGE) != 0:  # not swapped back
                    raise _kept_aside(tmp, target, refusal)
                raise refusal
            remove_path(tmp)
            return
        if code == errno.ENOENT:  # the target went away meanwhile: publish again
            continue
        # no atomic swap here: set the old output aside, put the new one in, delete the old
        old = temporary_path(target, "old")
        try:
            os.rename(target, old)
        except FileNotFoundError:
            continue
        refusal = replace_refusal(target, tmp, old=old)  # what was set aside, had it changed meanwhile
        if refusal is not None:
            try:
                _rename_noreplace(old, target)
            except FileExistsError:  # another run published meanwhile
                raise _kept_aside(old, target, refusal) from None
            raise refusal
        try:
            _rename_noreplace(tmp, target)
        except FileExistsError:  # another run published meanwhile; replace it next round
            remove_path(old)
            continue
        except BaseException:
            try:
                _rename_noreplace(old, target)  # the old output back in place
            except BaseException:
                remove_path(old)  # superseded by another run's output
            raise
        remove_path(old)
        return
    raise OutputError(f"Output {str(target)!r} kept being replaced by other runs; this run's result was discarded.")


# -- checks before writing ----------------------------------------------------------------
def _describe_write_error(err: BaseException) -> str:
    code = getattr(err, "errno", None)
    text = getattr(err, "strerror", None) or str(err)
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return f"the disk is full or over quota ({text})"
    if code in (errno.EACCES, errno.EPERM):
        return f"permission denied ({text})"
    if code == errno.EROFS:
        return f"the file system is read-only ({text})"
    if "NetCDF: HDF error" in str(err):
        return f"the netCDF library failed to write ({text}: usually a full disk, a quota or a lost network file system)"
    return f"{type(err).__name__}: {text}"


def cannot_write(target: Path, where: Path, err: BaseException) -> OutputError:
    """The :class:`OutputError` for a failed write of ``target`` in ``where``, naming the cause."""
    why = _describe_write_error(err)
    return OutputError(f"Cannot write {str(target)!r}: {why} in {str(where)!r}. Choose another output directory, or fix its permissions.")


def _probe(tmp: Path, target: Path, directory: bool = False) -> None:
    """Create and remove the temporary name: the output directory takes new entries."""
    try:
        if directory:
            os.mkdir(tmp)
            os.rmdir(tmp)
        else:
            os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            os.unlink(tmp)
    except OSError as err:
        raise cannot_write(target, tmp.parent, err) from err


def _refuse_existing(target: Path) -> OutputError:
    return OutputError(f"Output {str(target)!r} exists already. Pass --overwrite (overwrite=True) to replace it, or choose another name.")


def _kept_aside(path: Path, target: Path, refusal: OutputError) -> OutputError:
    """Keep ``path`` (what appeared at ``target`` while publishing and could not be put back) under a name that is said."""
    kept = target.parent / f"{target.name}.kept-{secrets.token_hex(4)}"
    os.rename(path, kept)
    return OutputError(f"{refusal} (It appeared while this run was publishing; it was kept, at {str(kept)!r}.)")


def check_target(target: str | os.PathLike, overwrite: bool = False, *, directory: bool = False) -> Path:
    """Fail early, before any computing, when ``target`` cannot be written.

    Checks that ``target`` does not exist (unless ``overwrite``; a directory that is no zarr
    store, or one of the other kind than the output, is refused even then:
    :func:`replace_refusal`) and that its directory (or, when it does not exist yet, the
    nearest existing folder above it) takes new entries, by creating and removing a temporary
    name there. ``directory``: the output is a directory (a zarr store), not a file. Creates
    nothing that stays.

    Raises
    ------
    OutputError
        Naming the path and the cause.
    """
    path = as_target(target)
    refusal = replace_refusal(path, directory=directory)
    if refusal is not None:
        raise refusal
    if _exists(path) and not overwrite:
        raise _refuse_existing(path)
    base = path.parent
    while not base.exists() and base != base.parent:
        base = base.parent
    if not base.is_dir():
        raise OutputError(f"Cannot write {str(path)!r}: {str(base)!r} is a file, not a directory.")
    _probe(base / temporary_path(path).name, path, directory)
    return path


# -- the write ----------------------------------------------------------------------------
def write_atomically(target: str | os.PathLike, write: Callable[[Path], None], *, overwrite: bool = False) -> Path:
    """Call ``write(tmp)`` to write a file or directory at a fresh temporary path next to ``target``, then publish it at ``target`` atomically.

    Before ``write`` runs, the target's directory is made if missing, temporaries left
    there by killed runs are removed (:func:`clean_stale_temporaries`) and the directory is
    checked to take new entries. ``write`` creates ``tmp`` itself (``open(tmp, "wb")``,
    ``np.savez`` on such a file object, ``fig.savefig(tmp, format="png")``: the temporary
    name has no suffix to tell the format by, or a directory such as a zarr store), so new
    files get the usual umask permissions. The complete ``tmp`` is then put in place in one
    atomic step that never replaces an existing target, also one another run put there
    while ``write`` ran, unless ``overwrite`` (then the last run to publish wins, with an
    atomic swap where the system has one; the replaced output is deleted). Even with
    ``overwrite`` a directory is replaced only by a zarr store, when it is one itself, and
    a file never by a directory (:func:`replace_refusal`): refused before ``write`` runs
    where it can be told then (a directory that is no zarr store), else once it has run.

    Parameters
    ----------
    target : path
        Where the output goes.
    write : callable
        ``write(tmp)`` writes the whole output at ``tmp`` (a :class:`pathlib.Path`).
    overwrite : bool
        Replace an existing target.

    Returns
    -------
    pathlib.Path of the written target.

    Raises
    ------
    OutputError
        The target exists (or appeared meanwhile) and not ``overwrite``, or is of a kind the
        output does not replace, or its directory cannot be made or written. Any error of
        ``write`` (and Ctrl-C) is re-raised as it is; in every case the temporary, and
        directories made for the target, are removed.
    """
    target = as_target(target)
    refusal = replace_refusal(target)
    if refusal is not None:
        raise refusal
    if _exists(target) and not overwrite:
        raise _refuse_existing(target)
    parent = target.parent
    created: list[Path] = []
    missing = parent
    while not missing.exists() and missing != missing.parent:
        created.append(missing)
        missing = missing.parent
    tmp = temporary_path(target)
    try:
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise OutputError(f"Cannot create the output directory {str(parent)!r} ({err}).") from err
        clean_stale_temporaries(target)
        _probe(tmp, target)
        write(tmp)
        try:
            _publish(tmp, target, overwrite)
        except OutputError:
            raise
        except OSError as err:  # e.g. a directory that stopped taking new entries meanwhile
            raise cannot_write(target, parent, err) from err
    except BaseException:
        remove_path(tmp)
        for directory in created:  # directories made for this output, now empty
            with contextlib.suppress(OSError):
                directory.rmdir()
        raise
    return target
