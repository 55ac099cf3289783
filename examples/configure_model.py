#!/usr/bin/env python
"""Change settings of a saved model's configuration that its weights do not depend on.

The weights are copied bit for bit; only the JSON beside them changes, and the change
(the settings, the command and the date) is appended to the file's ``"changes"`` list, so
``sstfill info`` shows it. Settings that would change the network's layers are refused.

Usage (how the bundled default model got its first guess on a 96x96 window, issue 14)::

    python examples/configure_model.py sstfill/data/default_model.npz sstfill/data/default_model.npz \\
        --set context_margin=16 guess_on_window=true
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

from sstfill.models.files import load_arrays, save_arrays
from sstfill.models.networks import ModelConfig

#: Settings a fill reads but the weights' shapes do not depend on.
ALLOWED = ("context_margin", "guess_on_window", "window_std_floor", "first_guess_iterations", "std_floor")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", type=Path, help="model file to read")
    p.add_argument("out", type=Path, help="model file to write (may be the same)")
    p.add_argument("--set", nargs="+", required=True, metavar="KEY=VALUE", help=f"settings to change, JSON values; one of {ALLOWED}")
    args = p.parse_args(argv)
    changes = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
    refused = sorted(set(changes) - set(ALLOWED))
    if refused:
        p.error(f"{refused} cannot be changed without retraining; allowed: {ALLOWED}")
    arrays, meta = load_arrays(args.model)
    meta.pop("format", None)
    meta.pop("sstfill_version", None)
    config = ModelConfig.from_dict({**meta["model"], **changes})  # validates the combination
    meta["model"] = config.to_dict()
    command = "python examples/configure_model.py " + " ".join(argv if argv is not None else sys.argv[1:])
    meta.setdefault("changes", []).append({"set": changes, "command": command, "date": datetime.date.today().isoformat()})
    save_arrays(args.out, arrays, meta)
    print(f"wrote {args.out}: {changes}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
