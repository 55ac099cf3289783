"""The one cache of loaded models: each model file is read once per process and key.

Two kinds of key, both ending in the device and precision the model was moved to:

- ``("bundled", name, device, precision)``: :func:`sstfill.models.store.load_bundled_model`,
  so every fill that asks for the bundled model shares one copy;
- ``("file", path, mtime, device, precision)``: a saved model that dask unpickles on a
  worker (:meth:`Inpainter.__reduce <sstfill.models.inpainter.Inpainter.__reduce__>` sends
  its path), so the tasks of one worker share one copy, and a file saved again is read again.

Asking for another device or precision loads another copy: a model other callers hold is
never moved or recast. Standard library only, so that both the model class and the model
store can use it without importing each other.

Examples
--------
>>> cache = ModelCache()
>>> cache.get(("file", "m.npz", 0.0, "cpu", "auto"), lambda: "loaded")
'loaded'
>>> cache.get(("file", "m.npz", 0.0, "cpu", "auto"), lambda: "loaded again")
'loaded'
>>> len(cache)
1
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Hashable

__all__ = ["ModelCache", "LOADED_MODELS"]


class ModelCache:
    """Models by key, each loaded once: concurrent askers for one key wait for one load."""

    def __init__(self) -> None:
        self._models: dict[Hashable, Any] = {}
        self._lock = threading.RLock()

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        """The model cached under ``key``; ``load()`` makes it the first time."""
        with self._lock:
            if key not in self._models:
                self._models[key] = load()
            return self._models[key]

    def clear(self) -> None:
        """Forget every model (the next :meth:`get` of each key loads it again)."""
        with self._lock:
            self._models.clear()

    def __contains__(self, key: Hashable) -> bool:
        return key in self._models

    def __len__(self) -> int:
        return len(self._models)


#: The process's loaded models (see the module docstring for its keys).
LOADED_MODELS = ModelCache()
