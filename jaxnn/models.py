r"""The networks whose width is swept, as plain Flax NNX modules, and the teacher's functional MLP.

A network with layer sizes ``(d_0, d_1, ..., d_L)`` computes

.. math::
    h_0 = x,\quad h_k = \psi(h_{k-1} W_k + b_k)\ (k < L),\quad \hat y = h_{L-1} W_L + b_L,

with a linear output layer. The swept networks are NNX modules, one class per
network (``MLP``, ``MNIST1DMLP``, ``MNIST1DCNN``), trained by ``jaxnn.width_sweep``.
The teacher network of ``jaxnn.data`` is the functional pair ``init(key,
layer_sizes, ...) -> params`` and ``apply(params, x, ...)``, where ``params`` is a
plain nested dict ``{"layers": {k: {"kernel", "bias"}}}`` of arrays (kernels are
``(fan_in, fan_out)``), the same tree an ``MLP`` of those sizes holds.

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

The MNIST-1D networks (``MNIST1DMLP``, ``MNIST1DCNN``) are those of Greydanus &
Kobak's double-descent notebook, drawn as PyTorch draws them (``torch_uniform_init``).
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Sequence
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
INIT_GAINS = {"torch_uniform": 1.0, "lecun_normal": 1.0, "he_normal": math.sqrt(2.0)}


def check_activation(activation: str) -> str:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation: unknown {activation!r}; choose one of {sorted(ACTIVATIONS)}")
    return activation


def check_init_scheme(init_scheme: str) -> str:
    if init_scheme not in INIT_SCHEMES:
        raise ValueError(
            f"init_scheme: unknown {init_scheme!r}; choose one of {list(INIT_SCHEMES)}"
        )
    return init_scheme


def check_layer_sizes(layer_sizes: Sequence[int], name: str = "layer_sizes") -> tuple[int, ...]:
    sizes = tuple(int(s) for s in layer_sizes)
    if len(sizes) < 2:
        raise ValueError(f"{name}: need at least input and output sizes, got {sizes}")
    if any(s < 1 for s in sizes):
        raise ValueError(f"{name}: every width must be >= 1, got {sizes}")
    return sizes


def stacked_layer_sizes(width: int, depth: int, input_dim: int = 8, output_dim: int = 8) -> tuple:
    """``(input_dim, width, ..., width, output_dim)``: ``depth`` hidden layers (8 -> M^K -> 8)."""
    return check_layer_sizes((input_dim, *[width] * depth, output_dim), name="hidden_widths")


def parameter_count(layer_sizes: Sequence[int]) -> int:
    """Weights plus biases: :math:`\\sum_k (d_{k-1} + 1) d_k`.

    For 8 -> M -> M -> 8 this is ``M**2 + 18*M + 8``.
    """
    sizes = check_layer_sizes(layer_sizes)
    return sum((fan_in + 1) * fan_out for fan_in, fan_out in itertools.pairwise(sizes))


def width_at_parameter_count(
    n_params: float, *, depth: int = 2, input_dim: int = 8, output_dim: int = 8
) -> float:
    """The real width M at which ``input_dim -> M^depth -> output_dim`` has ``n_params``
    parameters (a plot marker; the inverse of ``parameter_count``).

    The count :math:`(K-1)M^2 + (d + O + K)M + O` is increasing in M, so bisection.
    """
    low, high = 0.0, 1e6
    for _ in range(200):
        middle = (low + high) / 2
        count = (depth - 1) * middle**2 + (input_dim + output_dim + depth) * middle + output_dim
        low, high = (middle, high) if count < n_params else (low, middle)
    return (low + high) / 2


class _LayerStack(nnx.Module):
    """Dense layers of given sizes with a hidden activation and a linear output layer: the
    functional ``init``/``apply`` pair's graph, and ``MLP``'s."""

    def __init__(
        self, layer_sizes, *, activation: str, rngs: nnx.Rngs, init_scheme: str = "torch_uniform"
    ):
        self.activation = activation
        self.layers = nnx.List(
            [
                nnx.Linear(
                    fan_in,
                    fan_out,
                    kernel_init=scheme_init(init_scheme, fan_in),
                    bias_init=scheme_init(init_scheme, fan_in, bias=True),
                    rngs=rngs,
                )
                for fan_in, fan_out in itertools.pairwise(layer_sizes)
            ]
        )

    def __call__(self, x):
        psi = ACTIVATIONS[self.activation]
        for layer in self.layers[:-1]:
            x = psi(layer(x))
        return self.layers[-1](x)


def init(
    key: jax.Array,
    layer_sizes: Sequence[int],
    *,
    init_scheme: str = "torch_uniform",
    dtype=None,
) -> Params:
    """Draws the parameters of an MLP with the given layer sizes (the teacher network).

    One flat draw of unit-scale noise (uniform on [-1, 1] or standard normal)
    covers every parameter, each layer then scaled by its fan-in: one random
    call per model, and the draw the committed teacher data were made with.

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
    check_init_scheme(init_scheme)
    dtype = dtype or jnp.zeros(()).dtype
    if init_scheme == "torch_uniform":
        noise = jax.random.uniform(key, (parameter_count(sizes),), dtype, -1.0, 1.0)
    else:
        noise = jax.random.normal(key, (parameter_count(sizes),), dtype)
    gain = INIT_GAINS[init_scheme]
    layers, offset = {}, 0
    for k, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        kernel = noise[offset : offset + fan_in * fan_out].reshape(fan_in, fan_out)
        bias = noise[offset + fan_in * fan_out : offset + (fan_in + 1) * fan_out]
        offset += (fan_in + 1) * fan_out
        # The scale as an array op, as it was drawn: a host float may round differently.
        scale = (gain / jnp.sqrt(jnp.asarray(fan_in).astype(dtype))).astype(dtype)
        bias_scale = scale if init_scheme == "torch_uniform" else jnp.zeros((), dtype)
        layers[k] = {"kernel": kernel * scale, "bias": bias * bias_scale}
    return {"layers": layers}


def layer_sizes_of(params: Params) -> tuple[int, ...]:
    layers = params["layers"]
    kernels = [layers[k]["kernel"] for k in sorted(layers)]
    return (kernels[0].shape[-2], *(kernel.shape[-1] for kernel in kernels))


@functools.lru_cache(maxsize=64)
def graphdef_of(layer_sizes: tuple[int, ...], activation: str) -> nnx.GraphDef:
    """The static half of ``nnx.split(_LayerStack(...))``, built once per architecture.

    ``nnx.merge(graphdef, params)`` with a pure dict of arrays is Flax's
    functional boundary: under ``jit``/``vmap``/``grad`` nothing is rebuilt or
    mutated, and the cached graphdef holds no arrays (made from an abstract
    module), so it can never capture a tracer.
    """
    abstract = nnx.eval_shape(
        lambda: _LayerStack(layer_sizes, activation=activation, rngs=nnx.Rngs(0))
    )
    graphdef, _ = nnx.split(abstract, nnx.Param)
    return graphdef


def apply(params: Params, x: jax.Array, *, activation: str = "relu"):
    """The network's output for inputs ``x[..., input_dim]``.

    Args:
        params: as returned by ``init`` (unbatched; ``jax.vmap`` for many).
        x: inputs, last axis ``input_dim``.
        activation: hidden activation name, one of ``ACTIVATIONS``.
    """
    check_activation(activation)
    return nnx.merge(graphdef_of(layer_sizes_of(params), activation), params)(x)


def kernel_mask(params: Params) -> Params:
    """``True`` on kernels, ``False`` on biases: weight decay applies to weights only
    (``optax.add_decayed_weights(λ, mask=kernel_mask)``)."""
    return jax.tree_util.tree_map_with_path(
        lambda path, _: getattr(path[-1], "key", None) == "kernel", params
    )


def scheme_init(init_scheme: str, fan_in: int, *, bias: bool = False):
    """An initializer of ``init_scheme`` (``INIT_SCHEMES``) for a layer of ``fan_in`` inputs.

    ``torch_uniform`` draws kernel and bias from U(±1/√fan_in); the normal schemes draw
    the kernel from N(0, gain²/fan_in) (not truncated) and a zero bias.
    """
    check_init_scheme(init_scheme)
    if init_scheme == "torch_uniform":
        return torch_uniform_init(fan_in)
    if bias:
        return nnx.initializers.zeros
    scale = INIT_GAINS[init_scheme] / math.sqrt(fan_in)

    def init(key, shape, dtype=jnp.float32):
        return scale * jax.random.normal(key, shape, dtype)

    return init


class MLP(_LayerStack):
    """``input_dim -> width^depth -> output_dim``: ``depth`` hidden layers of one width.

    Every MLP of the studies is this module: the teacher networks (8 -> M -> M -> 8,
    ``torch_uniform``), the SGD and edge-of-stability network (depth 5, ``lecun_normal``)
    and the MNIST-1D MLP (``MNIST1DMLP``). Swept with ``jaxnn.width_sweep``, e.g.
    ``functools.partial(MLP, depth=5, init_scheme="lecun_normal")``.
    """

    def __init__(
        self,
        width: int,
        *,
        rngs: nnx.Rngs,
        input_dim: int = 8,
        output_dim: int = 8,
        depth: int = 2,
        activation: str = "relu",
        init_scheme: str = "torch_uniform",
    ):
        super().__init__(
            stacked_layer_sizes(width, depth, input_dim, output_dim),
            activation=check_activation(activation),
            rngs=rngs,
            init_scheme=init_scheme,
        )


@functools.lru_cache(maxsize=16)
def mlp_of_width(
    input_dim: int, output_dim: int, depth: int = 2, init_scheme: str = "torch_uniform"
) -> Callable:
    """``width -> MLP(width, ...)`` with the other arguments fixed: ``width_sweep``'s module.

    Cached and named per setting, so every sweep of one network (a study's calls, a
    test's, a benchmark's) shares its compiled programs and labels its run parts alike.
    """

    def mlp(width: int, *, rngs: nnx.Rngs) -> MLP:
        return MLP(width, rngs=rngs, input_dim=input_dim, output_dim=output_dim,
                   depth=depth, init_scheme=init_scheme)  # fmt: skip

    mlp.__name__ = f"MLP_{input_dim}_depth{depth}_{output_dim}_{init_scheme}"
    return mlp


def torch_uniform_init(fan_in: int):
    """PyTorch's default for ``nn.Linear``/``nn.Conv1d`` weights and biases: U(±1/√fan_in).

    (``kaiming_uniform_(a=√5)`` gives the bound :math:`\\sqrt{6/((1+a^2)\\,\\text{fan}_\\text{in})}
    = 1/\\sqrt{\\text{fan}_\\text{in}}`, and the bias uses the same bound.)
    """
    bound = 1.0 / math.sqrt(fan_in)

    def init(key, shape, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, -bound, bound)

    return init


class MNIST1DMLP(MLP):
    """``40 -> width -> width -> 10``, ReLU, PyTorch's default initialization (the notebook's)."""

    def __init__(self, width: int, *, rngs: nnx.Rngs, input_dim: int = 40, output_dim: int = 10):
        super().__init__(width, rngs=rngs, input_dim=input_dim, output_dim=output_dim)


class MNIST1DCNN(nnx.Module):
    """The notebook's CNN with ``channels`` in every convolution, as an NNX module.

    ``Conv1d(1, C, 5, stride 2, padding 1)``, two ``Conv1d(C, C, 3, stride 2,
    padding 1)``, ReLU after each, flatten, one linear layer; PyTorch's default
    initialization. The flatten is channel-major (index ``channel * L +
    position``), as PyTorch flattens ``[C, L]``: a narrow network's head rows
    are then the first rows of a wider one's, so padding the channels with
    zeros is exact (``jaxnn._module_family``).
    """

    def __init__(
        self,
        channels: int,
        *,
        rngs: nnx.Rngs,
        input_length: int = 40,
        output_dim: int = 10,
        kernel_sizes: Sequence[int] = (5, 3, 3),
        stride: int = 2,
        padding: int = 1,
    ):
        fan_ins = [1] + [channels] * (len(kernel_sizes) - 1)
        self.convs = nnx.List(
            [
                nnx.Conv(
                    c_in,
                    channels,
                    kernel_size=(k,),
                    strides=(stride,),
                    padding=[(padding, padding)],
                    kernel_init=torch_uniform_init(c_in * k),
                    bias_init=torch_uniform_init(c_in * k),
                    rngs=rngs,
                )
                for c_in, k in zip(fan_ins, kernel_sizes)
            ]
        )
        length = input_length
        for k in kernel_sizes:  # L <- floor((L + 2p - K) / s) + 1
            length = (length + 2 * padding - k) // stride + 1
        self.head = nnx.Linear(
            length * channels,
            output_dim,
            kernel_init=torch_uniform_init(length * channels),
            bias_init=torch_uniform_init(length * channels),
            rngs=rngs,
        )

    def __call__(self, x):
        h = x[..., None]  # [..., L] -> [..., L, 1]
        for conv in self.convs:
            h = jax.nn.relu(conv(h))
        h = jnp.swapaxes(h, -1, -2)  # [..., C, L]: PyTorch's layout, channel-major flatten
        return self.head(h.reshape(*h.shape[:-2], -1))
