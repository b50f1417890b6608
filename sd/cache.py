"""sd's user cache: lowered models (IR) so that a warm ``sd.load`` skips pysd's parse, the numpy
programs generated from them, and the fused backend's compiled kernels.

The cache lives in ``$SD_CACHE_DIR`` if set, else the user cache directory (``platformdirs``:
``~/.cache/sd`` on Linux). Lowered models are pickled under ``ir/``, one file per key: the SHA-256 of the
model file, its resolved path (data files are found relative to it), the versions of sd, pysd and
Python, and a fingerprint of sd's frontend and IR source (so an edited lowering never serves an old
IR). The data files the model read at load time are part of the entry (``ModelIR.files``: path ->
SHA-256); an entry whose data files changed on disk is stale and rebuilt. Entries are written to a
temporary file and renamed into place (atomic on POSIX and Windows), so concurrent loads of the same model
never read half a file; an unreadable entry (truncated, corrupt, from another layout) is rebuilt.
``SD_NO_CACHE=1`` turns the IR cache off. ``sd cache clear`` (:func:`clear`) deletes the cache.

The numpy programs generated from a cached IR (:func:`load_program_cached`) live under ``numpy/``, keyed
by the IR's key, what the program computes (outputs, integration, dtype, varying controls) and a
fingerprint of sd's backends source: the source, and its compiled code object (``marshal``, whose format
is Python's own: the key holds Python's version), so a warm ``sd run`` neither generates nor compiles.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["cache_root", "clear", "ir_key", "load_ir_cached", "load_program_cached", "size"]

FORMAT = 1  # bump when the entry layout changes


def cache_root() -> Path:
    """``$SD_CACHE_DIR``, else the user cache directory of sd."""
    root = os.environ.get("SD_CACHE_DIR")
    if root:
        return Path(root)
    try:
        import platformdirs

        return Path(platformdirs.user_cache_dir("sd", appauthor=False))
    except ImportError:  # pragma: no cover - platformdirs is a dependency
        return Path.home() / ".cache" / "sd"


_CODE: dict[tuple[str, ...], str] = {}


def _code_fingerprint(folders: tuple[str, ...] = ("frontend", "ir")) -> str:
    """SHA-256 of sd's sources in ``folders`` (frontend and IR: what decides the lowered IR; backends:
    what decides a generated program), once per process."""
    if folders not in _CODE:
        root = Path(__file__).resolve().parent
        h = hashlib.sha256()
        for f in sorted(p for d in folders for p in root.glob(f"{d}/**/*.py")):
            h.update(f.relative_to(root).as_posix().encode())
            h.update(f.read_bytes())
        _CODE[folders] = h.hexdigest()
    return _CODE[folders]


def ir_key(path: Path, model_sha256: str, extra: Any = None) -> str:
    """The cache key of the IR of the model file ``path`` whose bytes hash to ``model_sha256``
    (``extra``: what else the load was given, JSON-able: the data files passed to ``sd.load``)."""
    from sd._version import __version__, pysd_version

    ident = {
        "format": FORMAT,
        "model": model_sha256,
        "path": str(path.resolve()),
        "sd": __version__,
        "pysd": pysd_version(),
        "python": list(sys.version_info[:2]),
        "code": _code_fingerprint(),
    }
    if extra is not None:
        ident["extra"] = extra
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()


def _fresh(ir: Any) -> bool:
    """True when every data file the IR read still has the bytes it read."""
    for f, sha in dict(getattr(ir, "files", {}) or {}).items():
        try:
            if hashlib.sha256(Path(f).read_bytes()).hexdigest() != sha:
                return False
        except OSError:
            return False
    return True


def _read(entry: Path, path: Path) -> Any:
    """The cached IR in ``entry``, or None (missing, unreadable, stale)."""
    from sd.ir.nodes import ModelIR

    try:
        with open(entry, "rb") as fh:
            ir = pickle.load(fh)
    except FileNotFoundError:
        return None
    except Exception:  # truncated, corrupt, classes that moved: rebuild
        return None
    if not isinstance(ir, ModelIR) or not _fresh(ir):
        return None
    ir.path = str(path)  # as the caller named it (error messages name the file so)
    return ir


def _write(entry: Path, ir: Any) -> None:
    """Write ``ir`` (any picklable value) to ``entry`` atomically (a temporary file in the same folder,
    then a rename)."""
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=entry.name + ".", suffix=".tmp", dir=entry.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(ir, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, entry)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        pass  # a read-only or full cache directory, an IR that cannot be pickled: run uncached


def load_ir_cached(path: Path, model_sha256: str, build: Any, extra: Any = None) -> Any:
    """The IR of ``path`` from the cache, else ``build(path)`` (then cached); ``extra`` as in
    :func:`ir_key`."""
    if os.environ.get("SD_NO_CACHE"):
        return build(path)
    key = ir_key(path, model_sha256, extra)
    entry = cache_root() / "ir" / f"{key}.pickle"
    ir = _read(entry, path)
    if ir is None:
        ir = build(path)
        _write(entry, ir)
    ir.cache_key = key
    return ir


def load_program_cached(ir: Any, what: dict[str, Any], build: Any) -> Any:
    """The numpy :class:`~sd.backends.numpy_.Program` of ``ir`` that ``what`` describes (JSON-able:
    outputs, integration, dtype, varying controls), with its compiled ``code``: from the cache when the
    IR came from it, else ``build()`` (a Program with ``code`` set; then cached)."""
    import marshal

    from sd.backends.numpy_ import Program

    if not getattr(ir, "cache_key", "") or os.environ.get("SD_NO_CACHE"):
        return build()
    ident = {"ir": ir.cache_key, "what": what, "code": _code_fingerprint(("backends", "ir"))}
    key = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()
    entry = cache_root() / "numpy" / f"{key}.pickle"
    try:
        with open(entry, "rb") as fh:
            data = pickle.load(fh)
        return Program(source=data["source"], outputs=list(data["outputs"]),
                       constants=list(data["constants"]), lookups=list(data["lookups"]),
                       code=marshal.loads(data["code"]))  # fmt: skip
    except FileNotFoundError:
        pass
    except Exception:  # truncated, corrupt, another layout: rebuilt below
        pass
    prog = build()
    _write(entry, {"source": prog.source, "outputs": prog.outputs, "constants": prog.constants,
                   "lookups": prog.lookups, "code": marshal.dumps(prog.code)})  # fmt: skip
    return prog


def size() -> tuple[int, int]:
    """(files, bytes) in the cache."""
    root = cache_root()
    files = [f for f in root.rglob("*") if f.is_file()] if root.exists() else []
    return len(files), sum(f.stat().st_size for f in files)


def clear() -> tuple[int, int]:
    """Delete the cache (lowered models, their numpy programs and compiled kernels); return the (files,
    bytes) it held.

    Safe while other sd processes run: a process that loses an entry it was about to read rebuilds it,
    and a kernel library already loaded stays mapped."""
    n, b = size()
    root = cache_root()
    for sub in ("ir", "numpy", "fused"):
        shutil.rmtree(root / sub, ignore_errors=True)
    return n, b
