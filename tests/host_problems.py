"""Test problems as NumPy arrays, shared by the gradient- and curvature-statistics tests."""

import functools

import jax
import numpy as np


def host_problem(draw):
    """``problem(seed=0, dtype=np.float64)`` from a jitted float64 ``draw(seed) -> pytree``.

    One compiled draw per seed (eager initialization would compile dozens of tiny
    programs per shape and dtype); casting, indexing and stacking the NumPy copies on
    the host compiles nothing.
    """

    @functools.cache
    def drawn(seed: int):
        with jax.enable_x64(True):
            return jax.tree.map(np.asarray, draw(seed))

    def problem(seed: int = 0, dtype=np.float64):
        return jax.tree.map(lambda a: a.astype(dtype), drawn(seed))

    return problem
