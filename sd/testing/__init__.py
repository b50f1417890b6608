"""Testing helpers for sd and for models built with it (conformance corpus, pysd comparisons,
hypothesis strategies in :mod:`sd.testing.strategies`)."""

from sd.testing.compare import assert_runs_close

__all__ = ["assert_runs_close"]
