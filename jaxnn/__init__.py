"""jaxnn: optimization and generalization of neural networks, in JAX.

The public call is ``jaxnn.width_sweep`` (``jaxnn.module_sweep``): your own Flax
NNX module, loss and optax optimizer, swept over widths, seeds,
hyperparameters and named training sets. It is imported on first use, so ``import jaxnn.autodiff``
(pure Python) does not start JAX.
"""

__version__ = "0.1.0"

__all__ = ["SweepResult", "width_sweep"]


def __getattr__(name: str):
    import importlib

    if name in __all__:
        return getattr(importlib.import_module("jaxnn.module_sweep"), name)
    # Submodules on first use too (``jaxnn.placement.sweep_mesh()`` after ``import jaxnn``).
    try:
        return importlib.import_module(f"jaxnn.{name}")
    except ModuleNotFoundError:
        raise AttributeError(f"module 'jaxnn' has no attribute {name!r}") from None
