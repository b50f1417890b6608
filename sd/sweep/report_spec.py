"""The ``[report]`` table of a sweep spec: what ``sd report`` puts on the page (docs/analysis.md). It lives with
the spec (validated when the spec loads, before any work) and :mod:`sd.report` reads it.

Every key is optional; without the table the page is built from the store alone (its outcomes, checks,
stored series and drawn parameters)::

    [report]
    title = "SIR: how big is the epidemic?"
    question = "In what share of plausible epidemics do more than 20% of people fall ill at once?"
    by = "contact infectivity level"          # a drawn `choice` parameter: every share per value
    by_labels = { "0" = "low", "1" = "high" }
    indices = ["peak infectious"]             # outcomes (or conditions) ranked by influence
    prim = "peak infectious > 200"            # PRIM condition (default: the first headline)
    fans = ["Infectious"]                     # stored series (default: all, at most 6)
    surfaces = [{ z = "peak infectious", stat = "median" }, { stat = "prob:peak infectious > 200" }]
    top = 15                                  # parameters shown in the index charts

    [report.headline]                         # label -> condition (sd.conditions): shares of draws
    "more than 20% ill at once" = "peak infectious > 200"

Conditions are checked against the store when the page is built; a structural error (wrong type, unknown
key) is a :class:`sd.errors.SpecError` naming the file and the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sd.errors import SpecError

__all__ = ["ReportConfig"]

_KEYS = ("title", "question", "headline", "by", "by_labels", "indices", "prim", "fans", "surfaces", "top")
_SURFACE_KEYS = ("x", "y", "z", "stat", "bins")


def _fail(source: str, key: str, msg: str) -> SpecError:
    return SpecError(f"{source}: report.{key}: {msg}")


def _str(source: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(source, key, f"expected a non-empty string, got {value!r}")
    return value


def _strings(source: str, key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise _fail(source, key, f"expected a list of names, got {value!r}")
    return tuple(_str(source, f"{key}[{i}]", v) for i, v in enumerate(value))


def _surfaces(source: str, value: Any) -> tuple[dict[str, Any], ...]:
    if not isinstance(value, list | tuple):
        raise _fail(source, "surfaces", "expected a list of tables {z, stat, x, y, bins}")
    out = []
    for i, item in enumerate(value):
        key = f"surfaces[{i}]"
        if not isinstance(item, Mapping):
            raise _fail(source, key, f"expected a table {{z, stat, x, y, bins}}, got {item!r}")
        extra = sorted(set(item) - set(_SURFACE_KEYS))
        if extra:
            raise _fail(source, f"{key}.{extra[0]}", "unknown key; expected " + ", ".join(_SURFACE_KEYS))
        for k in ("x", "y", "z", "stat"):
            if k in item:
                _str(source, f"{key}.{k}", item[k])
        if "bins" in item and (isinstance(item["bins"], bool) or not isinstance(item["bins"], int)
                               or item["bins"] < 1):  # fmt: skip
            raise _fail(source, f"{key}.bins", f"expected a positive integer, got {item['bins']!r}")
        stat = str(item.get("stat", "median"))
        if "z" not in item and not stat.startswith("prob:") and stat != "count":
            raise _fail(source, key, f"stat {stat!r} needs z (an outcome); prob:EXPR and count do not")
        out.append(dict(item))
    return tuple(out)


@dataclass(frozen=True)
class ReportConfig:
    """A validated ``[report]`` table; ``ReportConfig()`` is the page built from the store alone."""

    title: str = ""
    question: str = ""
    headline: Mapping[str, str] = field(default_factory=dict)
    by: str = ""
    by_labels: Mapping[str, str] = field(default_factory=dict)
    indices: tuple[str, ...] = ()
    prim: str = ""
    fans: tuple[str, ...] | None = None
    surfaces: tuple[dict[str, Any], ...] | None = None
    top: int = 15
    source: str = "<spec>"

    @classmethod
    def from_value(cls, value: Any, *, source: str = "<spec>") -> ReportConfig:
        """Validate a ``[report]`` table (a mapping) into a config; ``None`` or ``{}`` give the defaults."""
        if value is None:
            return cls(source=source)
        if isinstance(value, ReportConfig):
            return value
        if not isinstance(value, Mapping):
            raise SpecError(f"{source}: report: expected a table, got {value!r}")
        extra = sorted(set(value) - set(_KEYS))
        if extra:
            raise _fail(source, extra[0], "unknown key; expected one of " + ", ".join(_KEYS))
        got: dict[str, Any] = {"source": source}
        for k in ("title", "question", "by", "prim"):
            if k in value:
                got[k] = _str(source, k, value[k])
        for k in ("headline", "by_labels"):
            table = value.get(k, {})
            if not isinstance(table, Mapping):
                raise _fail(source, k, "expected a table of label -> " + (
                    "condition" if k == "headline" else "label"))  # fmt: skip
            got[k] = {str(lab): _str(source, f"{k}.{lab!r}", v) for lab, v in table.items()}
        if "indices" in value:
            got["indices"] = _strings(source, "indices", value["indices"])
        if "fans" in value:
            got["fans"] = _strings(source, "fans", value["fans"])
        if "surfaces" in value:
            got["surfaces"] = _surfaces(source, value["surfaces"])
        if "top" in value:
            top = value["top"]
            if isinstance(top, bool) or not isinstance(top, int) or top < 1:
                raise _fail(source, "top", f"expected a positive integer, got {top!r}")
            got["top"] = top
        return cls(**got)

    def to_dict(self) -> dict[str, Any]:
        """The table as plain data (the keys of the TOML table), only the keys that were set."""
        out: dict[str, Any] = {}
        for k in _KEYS:
            v = getattr(self, k)
            if v in ("", None, {}, ()) or (k == "top" and v == 15):
                continue
            out[k] = dict(v) if isinstance(v, Mapping) else (list(v) if isinstance(v, tuple) else v)
        return out
