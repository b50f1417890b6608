"""``dist = "samples"``: a sweep parameter drawn from a file of samples (e.g. a calibration's posterior).

``{ dist = "samples", file = "posterior.csv", column = "Duration" }`` takes the values of one column of a
CSV file (a header row of names; ``sd.calibrate(..., posterior=N).save_posterior(path)`` writes one).
A draw takes row ``floor(u * rows)`` of the column in file order, ``u`` being the draw's unit-interval point
from the sampler, so a draw's value depends only on (seed, draw index, spec) like every other distribution
(mc draws rows with replacement; sobol/lhs spread the draws evenly over the rows). Each parameter uses its
own ``u``: two columns of one file are drawn **marginally** (independent rows), not as joint rows.
The file is found beside the spec first, then in the current directory; its SHA-256 becomes part of the
sweep's identity, so a resumed sweep refuses a changed file.
"""

from __future__ import annotations

import difflib
import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from sd.errors import SpecError

__all__ = ["check_samples", "resolve_samples", "samples_ppf"]

_CACHE: dict[tuple[str, str, str], np.ndarray] = {}


def check_samples(args: dict[str, Any], source: str, key: str) -> dict[str, Any]:
    """Type checks of the table (the file itself is read by :func:`resolve_samples`)."""
    for k in ("file", "column"):
        if not isinstance(args.get(k), str) or not args[k].strip():
            raise SpecError(f"{source}: {key}.{k}: expected a non-empty string, got {args.get(k)!r}")
    if args.get("sha256") is not None and not isinstance(args["sha256"], str):
        raise SpecError(f"{source}: {key}.sha256: expected a hex string")
    return dict(args)


def _read(path: Path, column: str, source: str, key: str) -> np.ndarray:
    import pandas as pd

    try:
        df = pd.read_csv(path)
    except Exception as err:  # pandas raises many kinds
        raise SpecError(f"{source}: {key}.file: cannot read {path} as CSV ({err})") from None
    if column not in df.columns:
        close = difflib.get_close_matches(column, [str(c) for c in df.columns], n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise SpecError(f"{source}: {key}.column: {path} has no column {column!r}{hint} "
                        f"(columns: {', '.join(map(str, df.columns))})")  # fmt: skip
    try:
        values = pd.to_numeric(df[column]).to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise SpecError(f"{source}: {key}.column: column {column!r} of {path} is not numeric") from None
    if values.size == 0:
        raise SpecError(f"{source}: {key}.file: {path} holds no rows")
    if not np.isfinite(values).all():
        raise SpecError(f"{source}: {key}.column: column {column!r} of {path} holds NaN or infinite values")
    return values


def resolve_samples(args: dict[str, Any], base_dir: Path | None, source: str, key: str) -> dict[str, Any]:
    """The table with ``file`` made absolute (beside the spec, then the current directory), checked
    against the file, and ``sha256`` and ``rows`` recorded."""
    p = Path(args["file"]).expanduser()
    if not p.is_absolute():
        cands = ([base_dir / p] if base_dir is not None else []) + [Path.cwd() / p]
        p = next((c for c in cands if c.is_file()), cands[0])
    if not p.is_file():
        raise SpecError(f"{source}: {key}.file: no such file {args['file']!r} (looked beside the spec "
                        "and in the current directory)")  # fmt: skip
    sha = hashlib.sha256(p.read_bytes()).hexdigest()
    if args.get("sha256") not in (None, sha):
        raise SpecError(f"{source}: {key}.file: {p} changed since this spec was recorded "
                        f"(sha256 {sha[:12]}..., expected {str(args['sha256'])[:12]}...)")  # fmt: skip
    values = _read(p, args["column"], source, key)
    _CACHE[(str(p.absolute()), args["column"], sha)] = values
    return {"file": str(p.absolute()), "column": args["column"], "sha256": sha, "rows": int(values.size)}


def samples_ppf(args: dict[str, Any], u: np.ndarray) -> np.ndarray:
    """Row ``floor(u * rows)`` of the column, for unit-interval points ``u``."""
    k = (args["file"], args["column"], str(args.get("sha256")))
    if k not in _CACHE:
        p = Path(args["file"])
        if not p.is_file():
            raise SpecError(f"samples file {p} not found (a worker must see the spec's files)")
        _CACHE[k] = _read(p, args["column"], "<samples>", "parameter")
    values = _CACHE[k]
    idx = np.floor(np.asarray(u, dtype=float) * values.size).astype(np.int64)
    return values[np.clip(idx, 0, values.size - 1)]
