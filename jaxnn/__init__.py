"""jaxnn: optimization and generalization of neural networks, in JAX.

The public surface (everything else, the modules whose names start with ``_``, is the
engine beneath ``width_sweep`` and may change):

Training
    ``width_sweep`` (``jaxnn.module_sweep``): your own Flax NNX module, loss and optax
    optimizer, swept over widths, seeds, hyperparameters and named training sets, with
    gradient statistics and curvature at recorded epochs and at a matched-loss snapshot;
    returns a ``SweepResult`` (``jaxnn.sweep_result``).
    ``models``: the studies' networks as plain NNX modules (``MLP``, ``MNIST1DMLP``,
    ``MNIST1DCNN``). ``placement.sweep_mesh()`` shards a sweep over devices;
    ``precision`` and ``compile_cache`` are its settings; ``objectives`` names losses.
Data
    ``data`` (teacher-student regression with a known optimal risk), ``mnist1d``.
Measures
    ``gradstats`` (gradient norm, mini-batch variance, noise scale), ``curvature``
    (Lanczos top eigenvalue, Hutchinson trace, spectral density), ``stability``.
Analysis
    ``stats`` (seed summaries and tests), ``peaks`` (peaks with multiple-comparison
    control), ``verdicts`` (effects with a size), ``plotting``, ``io``, ``report``.
Exercises
    ``autodiff`` (reverse-mode AD from scratch), ``backprop``, ``init_moments``,
    ``init_smoothness``; the studies are ``jaxnn.studies.<name>`` and their scripts
    ``experiments/<name>.py``.

Everything is imported on first use, so ``import jaxnn.autodiff`` (pure Python) does not
start JAX.
"""

__version__ = "0.1.0"

__all__ = ["SweepResult", "width_sweep"]

PUBLIC_MODULES = tuple(
    """
    autodiff backprop compile_cache curvature data gradstats init_moments init_smoothness io
    mnist1d models module_sweep objectives peaks placement plotting precision report stability
    stats studies sweep_result verdicts
    """.split()
)


def __getattr__(name: str):
    import importlib

    if name in __all__:
        return getattr(importlib.import_module("jaxnn.module_sweep"), name)
    # Submodules on first use too (``jaxnn.placement.sweep_mesh()`` after ``import jaxnn``).
    try:
        return importlib.import_module(f"jaxnn.{name}")
    except ModuleNotFoundError:
        raise AttributeError(f"module 'jaxnn' has no attribute {name!r}") from None
