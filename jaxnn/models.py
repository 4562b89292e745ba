r"""Fully connected networks: a Flax NNX module behind two plain functions.

A network with layer sizes ``(d_0, d_1, ..., d_L)`` computes

.. math::
    h_0 = x,\quad h_k = \psi(h_{k-1} W_k + b_k)\ (k < L),\quad \hat y = h_{L-1} W_L + b_L,

with a linear output layer. Everything outside this file sees only
``init(key, layer_sizes, ...) -> params`` and ``apply(params, x, ...)``, where
``params`` is a plain nested dict ``{"layers": {k: {"kernel", "bias"}}}`` of
arrays (kernels are ``(fan_in, fan_out)``), so ``jax.vmap``, ``jax.grad`` and
optax work on it directly. This is the only module that imports Flax.

Initialization schemes (the choice is the experiment's, recorded in its config):

- ``torch_uniform``: kernel and bias ``U(-1/\sqrt{fan_in}, 1/\sqrt{fan_in})``,
  PyTorch's ``nn.Linear`` default. Used for double descent: it gave a clearer
  second descent than He init in our prototypes (He init pushes the test-loss
  peak higher), and it is what most course notebooks use.
- ``lecun_normal``: kernel ``N(0, 1/fan_in)`` (a true Gaussian, not truncated),
  zero bias (LeCun et al. 1998). Used for the deep SGD study: variance of the
  pre-activations stays O(1) through five layers and plain SGD converges for
  every learning rate in the assignment's range.
- ``he_normal``: kernel ``N(0, 2/fan_in)``, zero bias (He et al. 2015), the
  variance-preserving choice for ReLU derived in ``init_theory``.

Padded widths: a sweep trains models of different widths in one compiled
program by padding each to a common width and masking the extra hidden units
(``hidden_masks``). ``init_padded`` draws a padded model whose active block has
exactly the distribution of the narrow model's (weights scaled by the *true*
fan-in) and zeros elsewhere; since masked units output 0, every gradient into
or out of them is 0 and the padded model trains exactly as the narrow one.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

Params = dict[str, Any]

ACTIVATIONS = {
    "relu": jax.nn.relu,
    "tanh": jnp.tanh,
    "sigmoid": jax.nn.sigmoid,
    "softplus": jax.nn.softplus,
    "identity": lambda a: a,
}
INIT_SCHEMES = ("torch_uniform", "lecun_normal", "he_normal")


def check_activation(activation: str) -> str:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation: unknown {activation!r}; choose one of {sorted(ACTIVATIONS)}")
    return activation


def check_init_scheme(init_scheme: str) -> str:
    if init_scheme not in INIT_SCHEMES:
        raise ValueError(f"init_scheme: unknown {init_scheme!r}; choose one of {list(INIT_SCHEMES)}")
    return init_scheme


def check_layer_sizes(layer_sizes: Sequence[int], name: str = "layer_sizes") -> tuple[int, ...]:
    sizes = tuple(int(s) for s in layer_sizes)
    if len(sizes) < 2:
        raise ValueError(f"{name}: need at least input and output sizes, got {sizes}")
    if any(s < 1 for s in sizes):
        raise ValueError(f"{name}: every width must be >= 1, got {sizes}")
    return sizes


def mlp_layer_sizes(input_dim: int, hidden_widths: Sequence[int], output_dim: int) -> tuple:
    """``(input_dim, *hidden_widths, output_dim)``, validated (widths >= 1)."""
    return check_layer_sizes((input_dim, *hidden_widths, output_dim), name="hidden_widths")


def stacked_layer_sizes(width: int, depth: int, input_dim: int = 8, output_dim: int = 8) -> tuple:
    """``(input_dim, width, ..., width, output_dim)`` with ``depth`` hidden layers (8 -> M^K -> 8)."""
    return mlp_layer_sizes(input_dim, [width] * depth, output_dim)


def parameter_count(layer_sizes: Sequence[int]) -> int:
    """Weights plus biases: :math:`\\sum_k (d_{k-1} + 1) d_k`.

    For 8 -> M -> M -> 8 this is ``M**2 + 18*M + 8``.
    """
    sizes = check_layer_sizes(layer_sizes)
    return sum((fan_in + 1) * fan_out for fan_in, fan_out in zip(sizes[:-1], sizes[1:]))


class MLP(nnx.Module):
    """Dense layers with a hidden activation and a linear output layer."""

    def __init__(self, layer_sizes, *, activation: str, rngs: nnx.Rngs):
        self.activation = activation
        self.layers = nnx.List(
            [
                nnx.Linear(fan_in, fan_out, rngs=rngs)
                for fan_in, fan_out in zip(layer_sizes[:-1], layer_sizes[1:])
            ]
        )

    def __call__(self, x, hidden_masks=None):
        psi = ACTIVATIONS[self.activation]
        h = x
        for index, layer in enumerate(self.layers[:-1]):
            h = psi(layer(h))
            if hidden_masks is not None:
                h = h * hidden_masks[index]
        return self.layers[-1](h)


def init(
    key: jax.Array,
    layer_sizes: Sequence[int],
    *,
    init_scheme: str = "torch_uniform",
    dtype=None,
) -> Params:
    """Draws the parameters of an MLP with the given layer sizes.

    Args:
        key: a ``jax.random.key``.
        layer_sizes: ``(input_dim, *hidden_widths, output_dim)``.
        init_scheme: one of ``INIT_SCHEMES`` (see the module docstring).
        dtype: parameter dtype (default: JAX's default float).

    Returns:
        ``{"layers": {k: {"kernel": (fan_in, fan_out), "bias": (fan_out,)}}}``.

    Example:
        >>> params = init(jax.random.key(0), (8, 10, 10, 8))
        >>> apply(params, jnp.ones((5, 8))).shape
        (5, 8)
    """
    sizes = check_layer_sizes(layer_sizes)
    return init_padded(key, jnp.asarray(sizes[1:-1]), sizes, init_scheme=init_scheme, dtype=dtype)


def layer_sizes_of(params: Params) -> tuple[int, ...]:
    layers = params["layers"]
    kernels = [layers[k]["kernel"] for k in sorted(layers)]
    return (kernels[0].shape[-2], *(kernel.shape[-1] for kernel in kernels))


@functools.lru_cache(maxsize=64)
def graphdef_of(layer_sizes: tuple[int, ...], activation: str) -> nnx.GraphDef:
    """The static half of ``nnx.split(MLP(...))``, built once per architecture.

    ``nnx.merge(graphdef, params)`` with a pure dict of arrays is Flax's
    functional boundary: under ``jit``/``vmap``/``grad`` nothing is rebuilt or
    mutated, and the cached graphdef holds no arrays (made from an abstract
    module), so it can never capture a tracer.
    """
    abstract = nnx.eval_shape(lambda: MLP(layer_sizes, activation=activation, rngs=nnx.Rngs(0)))
    graphdef, _ = nnx.split(abstract, nnx.Param)
    return graphdef


def apply(params: Params, x: jax.Array, *, activation: str = "relu", hidden_masks=None):
    """The network's output for inputs ``x[..., input_dim]``.

    Args:
        params: as returned by ``init`` (unbatched; ``jax.vmap`` for many).
        x: inputs, last axis ``input_dim``.
        activation: hidden activation name, one of ``ACTIVATIONS``.
        hidden_masks: optional list of 0/1 vectors, one per hidden layer, that
            switch off padded units (see ``init_padded``).
    """
    check_activation(activation)
    model = nnx.merge(graphdef_of(layer_sizes_of(params), activation), params)
    return model(x, hidden_masks)


def hidden_masks_for(hidden_widths: jax.Array, padded_widths: Sequence[int]) -> list[jax.Array]:
    """0/1 masks that keep the first ``hidden_widths[k]`` of ``padded_widths[k]`` units.

    ``hidden_widths`` may be a traced integer array, so one compiled program
    serves every width of a group.
    """
    return [
        (jnp.arange(padded) < hidden_widths[k]).astype(jnp.float32)
        for k, padded in enumerate(padded_widths)
    ]


def init_padded(
    key: jax.Array,
    hidden_widths: jax.Array,
    padded_layer_sizes: Sequence[int],
    *,
    init_scheme: str = "torch_uniform",
    dtype=None,
) -> Params:
    """Parameters of a narrow MLP embedded in a padded one, zero outside it.

    One flat draw of unit-scale noise (uniform on [-1, 1] or standard normal)
    covers every parameter; each layer is then scaled by its *true* fan-in
    (``hidden_widths`` may be traced) and masked. One random call per model
    keeps the compile of a vmapped draw short (XLA:CPU compiles every
    threefry call site separately), and ``init`` is this function with no
    padding, so narrow and padded models share one initializer.
    """
    sizes = check_layer_sizes(padded_layer_sizes)
    check_init_scheme(init_scheme)
    dtype = dtype or jnp.zeros(()).dtype
    hidden_widths = jnp.asarray(hidden_widths)
    if hidden_widths.shape != (len(sizes) - 2,):
        raise ValueError(f"hidden_widths: need {len(sizes) - 2} widths, got shape {hidden_widths.shape}")
    total = parameter_count(sizes)
    if init_scheme == "torch_uniform":
        noise = jax.random.uniform(key, (total,), dtype, -1.0, 1.0)
    else:
        noise = jax.random.normal(key, (total,), dtype)
    gain = {"torch_uniform": 1.0, "lecun_normal": 1.0, "he_normal": math.sqrt(2.0)}[init_scheme]
    true_in = [jnp.asarray(sizes[0])] + [hidden_widths[k] for k in range(len(sizes) - 2)]
    masks = [jnp.ones(sizes[0], dtype)] + [
        m.astype(dtype) for m in hidden_masks_for(hidden_widths, sizes[1:-1])
    ] + [jnp.ones(sizes[-1], dtype)]
    layers, offset = {}, 0
    for k, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        kernel = noise[offset : offset + fan_in * fan_out].reshape(fan_in, fan_out)
        bias = noise[offset + fan_in * fan_out : offset + (fan_in + 1) * fan_out]
        offset += (fan_in + 1) * fan_out
        scale = (gain / jnp.sqrt(true_in[k].astype(dtype))).astype(dtype)
        bias_scale = scale if init_scheme == "torch_uniform" else jnp.zeros((), dtype)
        layers[k] = {
            "kernel": kernel * scale * masks[k][:, None] * masks[k + 1][None, :],
            "bias": bias * bias_scale * masks[k + 1],
        }
    return {"layers": layers}


def pad_params(params: Params, padded_layer_sizes: Sequence[int]) -> Params:
    """Embeds narrow parameters into zeros of the padded shapes (for tests and checks)."""
    sizes = check_layer_sizes(padded_layer_sizes)
    layers = {}
    for k in sorted(params["layers"]):
        kernel, bias = params["layers"][k]["kernel"], params["layers"][k]["bias"]
        layers[k] = {
            "kernel": jnp.zeros((sizes[k], sizes[k + 1]), kernel.dtype)
            .at[: kernel.shape[0], : kernel.shape[1]]
            .set(kernel),
            "bias": jnp.zeros((sizes[k + 1],), bias.dtype).at[: bias.shape[0]].set(bias),
        }
    return {"layers": layers}


def kernel_mask(params: Params) -> Params:
    """``True`` on kernels, ``False`` on biases: weight decay applies to weights only."""
    return {
        "layers": {k: {"kernel": True, "bias": False} for k in params["layers"]}
    }
