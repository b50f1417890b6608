"""Hypothesis profiles: ``ci`` (the default, fast) and ``thorough`` (10x the examples everywhere).

Every example count lives here: a test that needs more (or fewer) examples than the profile's default
asks for ``examples(n)``, n examples under ``ci`` and 10n under ``thorough``
(``HYPOTHESIS_PROFILE=thorough python -m pytest`` or ``nox -s thorough``).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

SCALE = {"ci": 1, "thorough": 10}
CI_EXAMPLES = 8
_COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,
}

settings.register_profile("ci", max_examples=CI_EXAMPLES, database=None, **_COMMON)
settings.register_profile("thorough", max_examples=CI_EXAMPLES * SCALE["thorough"], **_COMMON)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
if PROFILE not in SCALE:
    raise ValueError(f"HYPOTHESIS_PROFILE={PROFILE!r}; expected one of {sorted(SCALE)}")
settings.load_profile(PROFILE)


def examples(n: int) -> int:
    """``n`` examples under the ``ci`` profile, scaled by the loaded profile."""
    return n * SCALE[PROFILE]
