"""Checks that every config's ``__post_init__`` shares: one message shape, naming the field.

"An unhelpful error message is a bug": every check raises a ``ValueError``
whose message starts with the field's name (``at_least(config, 1, "seeds")``:
"seeds: must be >= 1, got 0"), which the command line turns into exit status 2
with that one line (``jaxnn.cli``).
"""

from __future__ import annotations

import math
from typing import Any

MAX_SEED = 2**31 - 1  # jax.random.key takes a signed 64-bit seed; keep every seed portable


def at_least(config: Any, minimum: int, *names: str) -> None:
    """Each named field is >= ``minimum`` (counts, sizes, epochs)."""
    for name in names:
        value = getattr(config, name)
        if value < minimum:
            raise ValueError(f"{name}: must be >= {minimum}, got {value}")


def positive(config: Any, *names: str) -> None:
    """Each named field is a finite number > 0 (rates, tolerances, levels)."""
    for name in names:
        value = getattr(config, name)
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise ValueError(f"{name}: must be a finite number > 0, got {value!r}")


def all_positive(config: Any, *names: str) -> None:
    """Each named field is a non-empty sequence of finite numbers > 0."""
    for name in names:
        values = getattr(config, name)
        if not values or not all(math.isfinite(v) and v > 0 for v in values):
            raise ValueError(f"{name}: need finite values > 0, got {values}")


def seed(value: Any, name: str = "seed") -> None:
    """An integer seed in ``0..MAX_SEED``, portable across JAX's key implementations."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEED:
        raise ValueError(f"{name}: must be an integer in 0..{MAX_SEED}, got {value!r}")
