"""Testing helpers for sd and for models built with it (conformance corpus, pysd comparisons)."""
