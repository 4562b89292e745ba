"""jaxnn: optimization and generalization of neural networks, in JAX."""

__version__ = "0.1.0"
