"""The version of this sstfill source: the one source for ``sstfill.__version__``.

Kept equal to ``version`` in ``pyproject.toml`` (``tests/test_model_files.py`` checks), so a
source checkout that is not installed still knows its version, and a checkout imported next
to a different installed sstfill never reports the installed one's version.
"""

__version__ = "0.1.0"
