"""``python -m sstfill.cli ...``: the ``sstfill`` command."""

from sstfill.cli import main

raise SystemExit(main())
