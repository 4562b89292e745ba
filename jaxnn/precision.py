r"""Matmul precision: exact float32 on every backend unless a caller opts out.

JAX leaves the precision of a float32 matmul to the backend: NVIDIA GPUs from
Ampere on compute it as TF32 (10-bit mantissa inputs) and TPUs as one or three
bfloat16 passes (jax-ml/jax issues 12008, 18934). A training loss of 1e-5, a
matched loss of 1e-4 or a gradient variance near the float32 floor cannot be
trusted at those precisions, so everything this library compiles that trains,
evaluates, takes gradient or curvature statistics or draws Monte Carlo
samples is traced under ``jax.default_matmul_precision(precision)``, with
``DEFAULT = "highest"``. The context only matters while tracing: it sets the
``precision`` of every ``dot_general`` traced inside it (the backward pass
inherits it from the forward equations), so a jitted function pinned here
keeps it whatever the caller's global setting.

CPU computes float32 matmuls exactly at any setting, so on CPU the choice
changes nothing but the HLO text (``operand_precision={highest,highest}``),
which is what the tests check.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax

DEFAULT = "highest"
# The names ``jax.default_matmul_precision`` accepts that mean something for float32 inputs.
PRECISIONS = ("highest", "float32", "high", "tensorfloat32", "default", "bfloat16")


def check_precision(precision: str, name: str = "matmul_precision") -> str:
    """``precision`` if it is one of ``PRECISIONS``; else a ``ValueError`` naming ``name``."""
    if precision not in PRECISIONS:
        raise ValueError(f"{name}: unknown {precision!r}; choose one of {list(PRECISIONS)}")
    return precision


def pinned(fn: Callable, precision: str = DEFAULT) -> Callable:
    """``fn`` traced under ``jax.default_matmul_precision(precision)``; wrap it before ``jax.jit``.

    Example:
        >>> matmul = jax.jit(pinned(lambda a, b: a @ b))
        >>> "highest" in matmul.lower(jnp.ones((2, 3)), jnp.ones((3, 4))).as_text().lower()
        True
    """
    check_precision(precision)

    @functools.wraps(fn)
    def traced_at_precision(*args, **kwargs):
        with traced_at(precision):
            return fn(*args, **kwargs)

    return traced_at_precision


def traced_at(precision: str = DEFAULT):
    """``jax.default_matmul_precision(precision)``, the name checked: ``pinned`` as a context."""
    return jax.default_matmul_precision(check_precision(precision))
