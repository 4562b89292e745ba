"""jaxnn: optimization and generalization of neural networks, in JAX.

The public call is ``jaxnn.width_sweep`` (``jaxnn.module_sweep``): your own Flax
NNX module, loss and optax optimizer, swept over widths, seeds and
hyperparameters. It is imported on first use, so ``import jaxnn.autodiff``
(pure Python) does not start JAX.
"""

__version__ = "0.1.0"

__all__ = ["SweepResult", "width_sweep"]


def __getattr__(name: str):
    if name in __all__:
        from jaxnn import module_sweep

        return getattr(module_sweep, name)
    raise AttributeError(f"module 'jaxnn' has no attribute {name!r}")
