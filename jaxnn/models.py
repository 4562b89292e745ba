r"""Networks whose width is swept: Flax NNX modules behind plain functions.

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

Model families: a family is an architecture whose one width is swept, with the
small surface the training loop and the planner need (``ModelFamily``,
``check_family``). The two hand-written ones (``get_family`` maps their names,
a shortcut) are:

- ``MLPFamily`` (``"mlp"``): ``input_dim -> width^depth -> output_dim`` as above.
- ``CNN1DFamily`` (``"cnn"``): the MNIST-1D CNN of Greydanus & Kobak's
  double-descent notebook, ``Conv1d(1, C, 5, stride 2, padding 1)`` then two
  ``Conv1d(C, C, 3, stride 2, padding 1)``, ReLU after each, flatten, one
  linear layer; channels last (``nnx.Conv`` layout), so the flattened index is
  ``position * C + channel``. PyTorch's default for ``Conv1d`` is
  ``kaiming_uniform_(a=sqrt 5)``: bound :math:`\sqrt{2/(1+a^2)}\sqrt{3/\text{fan}_\text{in}}
  = 1/\sqrt{\text{fan}_\text{in}}` with :math:`\text{fan}_\text{in} = C_\text{in} K`,
  and the same bound for the bias: the ``torch_uniform`` scheme with that fan-in.

Convolutions as patches times a matrix: XLA:CPU runs ``lax.conv_general_dilated``
on these small shapes at a few GFLOP/s, and slower still under ``vmap``; the
same convolution written as K strided slices concatenated into
``[B, L_out, K C_in]`` and one matmul with the kernel reshaped to
``[K C_in, C_out]`` runs at matmul speed (20-30x faster per model step here,
``conv_impl="patches"``, the default; tested equal to ``nnx.Conv``).

Padded widths: a sweep trains models of different widths in one compiled
program by padding each to a common width and masking the extra hidden units
(``hidden_masks``). A member is drawn at its true width and embedded in zeros
(``pad_params``), so its draw is the narrow model's whatever its group; since
masked units output 0, every gradient into or out of them is 0 and the padded
model trains exactly as the narrow one.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import types
from collections.abc import Sequence
from typing import Any, ClassVar, Protocol

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


def mlp_layer_sizes(input_dim: int, hidden_widths: Sequence[int], output_dim: int) -> tuple:
    """``(input_dim, *hidden_widths, output_dim)``, validated (widths >= 1)."""
    return check_layer_sizes((input_dim, *hidden_widths, output_dim), name="hidden_widths")


def stacked_layer_sizes(width: int, depth: int, input_dim: int = 8, output_dim: int = 8) -> tuple:
    """``(input_dim, width, ..., width, output_dim)``: ``depth`` hidden layers (8 -> M^K -> 8)."""
    return mlp_layer_sizes(input_dim, [width] * depth, output_dim)


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
    """Dense layers of given sizes with a hidden activation and a linear output layer
    (the functional ``init``/``apply`` pair's graph)."""

    def __init__(self, layer_sizes, *, activation: str, rngs: nnx.Rngs):
        self.activation = activation
        self.layers = nnx.List(
            [
                nnx.Linear(fan_in, fan_out, rngs=rngs)
                for fan_in, fan_out in itertools.pairwise(layer_sizes)
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
    abstract = nnx.eval_shape(
        lambda: _LayerStack(layer_sizes, activation=activation, rngs=nnx.Rngs(0))
    )
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
        raise ValueError(
            f"hidden_widths: need {len(sizes) - 2} widths, got shape {hidden_widths.shape}"
        )
    noise = _unit_noise(key, parameter_count(sizes), init_scheme, dtype)
    gain = INIT_GAINS[init_scheme]
    true_in = [jnp.asarray(sizes[0])] + [hidden_widths[k] for k in range(len(sizes) - 2)]
    masks = (
        [jnp.ones(sizes[0], dtype)]
        + [m.astype(dtype) for m in hidden_masks_for(hidden_widths, sizes[1:-1])]
        + [jnp.ones(sizes[-1], dtype)]
    )
    layers, offset = {}, 0
    for k, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
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


def _unit_noise(key: jax.Array, total: int, init_scheme: str, dtype) -> jax.Array:
    """One flat draw for every parameter: uniform on [-1, 1] (torch) or standard normal."""
    if init_scheme == "torch_uniform":
        return jax.random.uniform(key, (total,), dtype, -1.0, 1.0)
    return jax.random.normal(key, (total,), dtype)


INIT_GAINS = {"torch_uniform": 1.0, "lecun_normal": 1.0, "he_normal": math.sqrt(2.0)}


# --- 1-D convolutional network (the MNIST-1D CNN) ---------------------------------------------


def conv1d_patches(
    x: jax.Array, kernel: jax.Array, bias: jax.Array, *, stride: int, padding: int
) -> jax.Array:
    """A 1-D convolution as patches times a matrix (``nnx.Conv`` semantics, channels last).

    Args:
        x: ``[..., L, C_in]``.
        kernel: ``[K, C_in, C_out]``.
        bias: ``[C_out]``.

    Returns:
        ``[..., L_out, C_out]`` with :math:`L_\\text{out} = \\lfloor (L + 2p - K)/s\\rfloor + 1`:
        zero-pad, take the K strided windows, concatenate them along the channels
        (index ``k * C_in + c``) and multiply by the kernel reshaped to ``[K C_in, C_out]``.
    """
    width, c_in, c_out = kernel.shape
    pad = [(0, 0)] * (x.ndim - 2) + [(padding, padding), (0, 0)]
    padded = jnp.pad(x, pad)
    length_out = (x.shape[-2] + 2 * padding - width) // stride + 1
    windows = [
        jax.lax.slice_in_dim(
            padded, k, k + stride * (length_out - 1) + 1, stride=stride, axis=x.ndim - 2
        )
        for k in range(width)
    ]
    patches = jnp.concatenate(windows, axis=-1)
    return patches @ kernel.reshape(width * c_in, c_out) + bias


class CNN1D(nnx.Module):
    """1-D convolutions (stride, zero padding), an activation after each, then a linear head."""

    def __init__(
        self,
        input_length: int,
        channels: int,
        output_dim: int,
        *,
        kernel_sizes: Sequence[int],
        stride: int,
        padding: int,
        activation: str,
        conv_impl: str,
        rngs: nnx.Rngs,
    ):
        self.activation, self.conv_impl = activation, conv_impl
        self.stride, self.padding = stride, padding
        self.convs = conv1d_stack(channels, kernel_sizes, stride, padding, rngs=rngs)
        length = conv_output_length(input_length, kernel_sizes, stride, padding)
        self.head = nnx.Linear(length * channels, output_dim, rngs=rngs)

    def __call__(self, x, channel_masks=None):
        psi = ACTIVATIONS[self.activation]
        h = x[..., None]  # [..., L] -> [..., L, 1]
        for index, conv in enumerate(self.convs):
            if self.conv_impl == "patches":
                h = conv1d_patches(
                    h, conv.kernel[...], conv.bias[...], stride=self.stride, padding=self.padding
                )
            else:
                h = conv(h)
            h = psi(h)
            if channel_masks is not None:
                h = h * channel_masks[index]
        return self.head(h.reshape(*h.shape[:-2], -1))


def conv1d_stack(
    channels: int,
    kernel_sizes: Sequence[int],
    stride: int,
    padding: int,
    *,
    rngs: nnx.Rngs,
    torch_init: bool = False,
) -> nnx.List:
    """``nnx.Conv`` layers from 1 input channel to ``channels``, then ``channels`` to ``channels``.

    ``torch_init`` draws PyTorch's default (``torch_uniform_init``) instead of Flax's.
    """
    fan_ins = [1] + [channels] * (len(kernel_sizes) - 1)
    convs = []
    for c_in, k in zip(fan_ins, kernel_sizes):
        init = (
            {"kernel_init": torch_uniform_init(c_in * k), "bias_init": torch_uniform_init(c_in * k)}
            if torch_init
            else {}
        )
        convs.append(
            nnx.Conv(
                c_in,
                channels,
                kernel_size=(k,),
                strides=(stride,),
                padding=[(padding, padding)],
                rngs=rngs,
                **init,
            )
        )
    return nnx.List(convs)


def conv_output_length(length: int, kernel_sizes: Sequence[int], stride: int, padding: int) -> int:
    """The length after the convolutions: :math:`L \\leftarrow \\lfloor (L+2p-K)/s\\rfloor + 1`."""
    for width in kernel_sizes:
        length = (length + 2 * padding - width) // stride + 1
    return length


CONV_IMPLS = ("patches", "lax")


@functools.lru_cache(maxsize=64)
def cnn_graphdef(
    input_length: int,
    channels: int,
    output_dim: int,
    kernel_sizes: tuple,
    stride: int,
    padding: int,
    activation: str,
    conv_impl: str,
) -> nnx.GraphDef:
    """The static half of a ``CNN1D`` (see ``graphdef_of``), built once per architecture."""
    abstract = nnx.eval_shape(
        lambda: CNN1D(
            input_length,
            channels,
            output_dim,
            kernel_sizes=kernel_sizes,
            stride=stride,
            padding=padding,
            activation=activation,
            conv_impl=conv_impl,
            rngs=nnx.Rngs(0),
        )
    )
    graphdef, _ = nnx.split(abstract, nnx.Param)
    return graphdef


# --- families: the surface a width sweep needs -------------------------------------------------


class ModelFamily(Protocol):
    """What the sweep engine needs of an architecture whose one width is swept.

    A family is frozen and hashable (it keys the compile cache). The engine
    draws every member at its *true* width, embeds it in zeros at its group's
    padded width and trains the padded model, so a member's numbers never
    depend on its group (``jaxnn.sweep``). The methods, all required
    (``check_family`` names a missing one):

    - ``init(key, width, *, init_scheme=...) -> params``: a pytree of arrays at
      the true ``width`` (a Python int). Built-in families take an
      ``init_scheme``; a family without schemes may refuse one.
    - ``pad_params(params, padded_width) -> params``: the same network embedded
      at ``padded_width``; trained with ``masks``, it must compute and learn
      exactly what the narrow one does (``jaxnn.module_family.check_padding``
      tests this for a user's module).
    - ``masks(width, padded_width)``: per-member constants that ``apply`` takes
      (width masks, or ``None``); ``width`` may be traced.
    - ``apply(params, x, masks=None) -> outputs``.
    - ``parameter_count(width) -> int`` and ``flops_per_example(width) -> int``:
      reported, and the planner's cost model (forward and backward flops).

    Hand-written families (``MLPFamily``, ``CNN1DFamily``) implement it
    directly; ``jaxnn.module_family.ModuleFamily`` derives it from any Flax NNX
    module.
    """

    name: ClassVar[str]

    def init(self, key: jax.Array, width: int, **options) -> Params: ...

    def pad_params(self, params: Params, padded_width: int) -> Params: ...

    def masks(self, width, padded_width: int) -> Any: ...

    def apply(self, params: Params, x: jax.Array, masks=None) -> jax.Array: ...

    def parameter_count(self, width: int) -> int: ...

    def flops_per_example(self, width: int) -> int: ...


FAMILY_METHODS = ("init", "pad_params", "masks", "apply", "parameter_count", "flops_per_example")


def check_family(model: Any, name: str = "model") -> Any:
    """``model`` if it has every method of ``ModelFamily`` and is hashable.

    Raises:
        ValueError: naming ``name`` and the first missing method.
    """
    if isinstance(model, str):
        raise ValueError(
            f"{name}: need a model family object (e.g. models.MLPFamily(), "
            f"or jaxnn.width_sweep for an NNX module), got the string {model!r}"
        )
    for method in FAMILY_METHODS:
        if not callable(getattr(model, method, None)):
            raise ValueError(
                f"{name}: {type(model).__name__} is not a model family: it has no "
                f"{method}() (a family needs {', '.join(FAMILY_METHODS)}; see models.ModelFamily)"
            )
    try:
        hash(model)
    except TypeError as error:
        raise ValueError(f"{name}: a model family must be hashable ({error})") from None
    return model


@dataclasses.dataclass(frozen=True, kw_only=True)
class MLPFamily:
    """``input_dim -> width -> ... -> width -> output_dim`` (``depth`` hidden layers).

    ``flops_per_example`` is :math:`6p`: each of the p parameters is used once
    per example in the forward pass (a multiply and an add) and twice in the
    backward pass.
    """

    input_dim: int = 8
    output_dim: int = 8
    depth: int = 2
    activation: str = "relu"
    name: ClassVar[str] = "mlp"

    def __post_init__(self):
        for field in ("input_dim", "output_dim", "depth"):
            if getattr(self, field) < 1:
                raise ValueError(f"{field}: must be >= 1, got {getattr(self, field)}")
        check_activation(self.activation)

    def layer_sizes(self, width: int) -> tuple[int, ...]:
        return stacked_layer_sizes(width, self.depth, self.input_dim, self.output_dim)

    def parameter_count(self, width: int) -> int:
        return parameter_count(self.layer_sizes(width))

    def flops_per_example(self, width: int) -> int:
        return 6 * self.parameter_count(width)

    def width_at_parameter_count(self, n_params: float) -> float:
        """The real width M at which the network has ``n_params`` parameters (a plot marker).

        The count :math:`(K-1)M^2 + (d + O + K)M + O` is increasing in M, so bisection.
        """
        low, high = 0.0, 1e6
        for _ in range(200):
            middle = (low + high) / 2
            count = (
                (self.depth - 1) * middle**2
                + (self.input_dim + self.output_dim + self.depth) * middle
                + self.output_dim
            )
            low, high = (middle, high) if count < n_params else (low, middle)
        return (low + high) / 2

    def init(self, key, width, padded_width=None, *, init_scheme="torch_uniform", dtype=None):
        """Drawn at ``width``; with ``padded_width``, the draw of that width, masked to ``width``.

        The sweep calls it at the true width and pads with ``pad_params``
        (``padded_width=None``), so a member's draw never depends on its group.
        """
        padded_width = width if padded_width is None else padded_width
        hidden = jnp.full((self.depth,), width)
        return init_padded(
            key, hidden, self.layer_sizes(padded_width), init_scheme=init_scheme, dtype=dtype
        )

    def masks(self, width, padded_width):
        return hidden_masks_for(jnp.full((self.depth,), width), [padded_width] * self.depth)

    def apply(self, params, x, masks=None):
        return apply(params, x, activation=self.activation, hidden_masks=masks)

    def pad_params(self, params, padded_width):
        return pad_params(params, self.layer_sizes(padded_width))


@dataclasses.dataclass(frozen=True, kw_only=True)
class CNN1DFamily:
    """The MNIST-1D CNN with ``width`` channels in every convolution (see the module docstring).

    ``flops_per_example`` is :math:`6\\sum_\\ell L_\\ell (K_\\ell C_{\\ell-1} + 1) C
    + 6 (L C + 1) O`: every weight use (and bias add) of the forward pass,
    times 2 for multiply and add and times 3 for the backward pass, counted
    like the MLP's :math:`6p`.
    """

    input_length: int = 40
    output_dim: int = 10
    kernel_sizes: tuple[int, ...] = (5, 3, 3)
    stride: int = 2
    padding: int = 1
    activation: str = "relu"
    conv_impl: str = "patches"
    name: ClassVar[str] = "cnn"

    def __post_init__(self):
        for field in ("input_length", "output_dim", "stride"):
            if getattr(self, field) < 1:
                raise ValueError(f"{field}: must be >= 1, got {getattr(self, field)}")
        object.__setattr__(self, "kernel_sizes", tuple(int(k) for k in self.kernel_sizes))
        if not self.kernel_sizes or min(self.kernel_sizes) < 1:
            raise ValueError(f"kernel_sizes: need sizes >= 1, got {self.kernel_sizes}")
        if self.padding < 0:
            raise ValueError(f"padding: must be >= 0, got {self.padding}")
        if self.conv_impl not in CONV_IMPLS:
            raise ValueError(f"conv_impl: unknown {self.conv_impl!r}; choose one of {CONV_IMPLS}")
        check_activation(self.activation)
        lengths = self.lengths()
        if min(lengths) < 1:
            raise ValueError(
                f"input_length: {self.input_length} is too short for kernels "
                f"{self.kernel_sizes} (lengths {lengths})"
            )

    def lengths(self) -> list[int]:
        """The sequence length after each convolution (5 for MNIST-1D's 40)."""
        return [
            conv_output_length(
                self.input_length, self.kernel_sizes[: k + 1], self.stride, self.padding
            )
            for k in range(len(self.kernel_sizes))
        ]

    def _fan_ins(self, width):
        return [self.kernel_sizes[0]] + [k * width for k in self.kernel_sizes[1:]]

    def parameter_count(self, width: int) -> int:
        convs = sum((fan_in + 1) * width for fan_in in self._fan_ins(width))
        return convs + (self.lengths()[-1] * width + 1) * self.output_dim

    def flops_per_example(self, width: int) -> int:
        uses = sum(
            length * (fan_in + 1) * width
            for length, fan_in in zip(self.lengths(), self._fan_ins(width))
        )
        return 6 * (uses + (self.lengths()[-1] * width + 1) * self.output_dim)

    def graphdef(self, padded_width: int) -> nnx.GraphDef:
        return cnn_graphdef(
            self.input_length,
            padded_width,
            self.output_dim,
            tuple(self.kernel_sizes),
            self.stride,
            self.padding,
            self.activation,
            self.conv_impl,
        )

    def masks(self, width, padded_width):
        mask = (jnp.arange(padded_width) < width).astype(jnp.float32)
        return [mask] * len(self.kernel_sizes)

    def init(self, key, width, padded_width=None, *, init_scheme="torch_uniform", dtype=None):
        """A ``width``-channel CNN embedded in a ``padded_width`` one, zero outside it.

        The sweep calls it at the true width (``padded_width=None``) and pads
        with ``pad_params``, so a member's draw never depends on its group.

        As ``init_padded``: one flat draw, each layer scaled by its *true* fan-in
        (:math:`K C_\\text{in}` for a convolution, :math:`L C` for the head) and masked.
        """
        check_init_scheme(init_scheme)
        padded_width = width if padded_width is None else padded_width
        dtype = dtype or jnp.zeros(()).dtype
        width = jnp.asarray(width)
        channel = (jnp.arange(padded_width) < width).astype(dtype)
        length = self.lengths()[-1]
        shapes, fan_ins, in_masks = [], [], []
        for index, k in enumerate(self.kernel_sizes):
            c_in = 1 if index == 0 else padded_width
            shapes.append((k, c_in, padded_width))
            fan_ins.append(k * (1 if index == 0 else width))
            in_masks.append(jnp.ones((1, c_in, 1), dtype) if index == 0 else channel[None, :, None])
        sizes = [math.prod(s) + s[-1] for s in shapes]
        head_size = (length * padded_width + 1) * self.output_dim
        noise = _unit_noise(key, sum(sizes) + head_size, init_scheme, dtype)
        gain = INIT_GAINS[init_scheme]

        def scaled(fan_in):
            scale = (gain / jnp.sqrt(jnp.asarray(fan_in).astype(dtype))).astype(dtype)
            bias_scale = scale if init_scheme == "torch_uniform" else jnp.zeros((), dtype)
            return scale, bias_scale

        convs, offset = {}, 0
        for index, (shape, fan_in, in_mask) in enumerate(zip(shapes, fan_ins, in_masks)):
            kernel = noise[offset : offset + math.prod(shape)].reshape(shape)
            bias = noise[offset + math.prod(shape) : offset + sizes[index]]
            offset += sizes[index]
            scale, bias_scale = scaled(fan_in)
            convs[index] = {
                "kernel": kernel * scale * in_mask * channel[None, None, :],
                "bias": bias * bias_scale * channel,
            }
        kernel = noise[offset : offset + length * padded_width * self.output_dim].reshape(
            length * padded_width, self.output_dim
        )
        bias = noise[offset + length * padded_width * self.output_dim :]
        scale, bias_scale = scaled(length * width)
        head_mask = jnp.tile(channel, length)[:, None]  # flattened index: position * C + channel
        return {
            "convs": convs,
            "head": {"kernel": kernel * scale * head_mask, "bias": bias * bias_scale},
        }

    def apply(self, params, x, masks=None):
        padded_width = params["convs"][0]["kernel"].shape[-1]
        model = nnx.merge(self.graphdef(padded_width), params)
        return model(x, masks)

    def pad_params(self, params, padded_width):
        """Embeds a narrow CNN's parameters into zeros of the ``padded_width`` shapes."""
        width = params["convs"][0]["kernel"].shape[-1]
        length = self.lengths()[-1]
        convs = {}
        for index, layer in params["convs"].items():
            kernel, bias = layer["kernel"], layer["bias"]
            c_in = 1 if index == 0 else padded_width
            convs[index] = {
                "kernel": jnp.zeros((kernel.shape[0], c_in, padded_width), kernel.dtype)
                .at[:, : kernel.shape[1], :width]
                .set(kernel),
                "bias": jnp.zeros((padded_width,), bias.dtype).at[:width].set(bias),
            }
        head = params["head"]["kernel"].reshape(length, width, self.output_dim)
        head = (
            jnp.zeros((length, padded_width, self.output_dim), head.dtype).at[:, :width].set(head)
        )
        return {
            "convs": convs,
            "head": {
                "kernel": head.reshape(length * padded_width, -1),
                "bias": params["head"]["bias"],
            },
        }


# Read-only: a name is a shortcut for a family value, never a way in (pass the value).
FAMILIES = types.MappingProxyType({family.name: family for family in (MLPFamily, CNN1DFamily)})


def get_family(name: str, **architecture) -> ModelFamily:
    """The model family registered as ``name``, built with ``architecture``.

    Raises:
        ValueError: naming ``model`` when ``name`` is unknown (or the field a bad size names).
    """
    if name not in FAMILIES:
        raise ValueError(f"model: unknown {name!r}; choose one of {sorted(FAMILIES)}")
    return FAMILIES[name](**architecture)


def kernel_mask(params: Params) -> Params:
    """``True`` on kernels, ``False`` on biases: weight decay applies to weights only."""
    return jax.tree_util.tree_map_with_path(
        lambda path, _: getattr(path[-1], "key", None) == "kernel", params
    )


# --- the swept networks as plain NNX modules (``jaxnn.width_sweep``) ---------------------------


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


class MLP(nnx.Module):
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
        self.activation = check_activation(activation)
        sizes = stacked_layer_sizes(width, depth, input_dim, output_dim)
        self.layers = nnx.List(
            [
                nnx.Linear(
                    fan_in,
                    fan_out,
                    kernel_init=scheme_init(init_scheme, fan_in),
                    bias_init=scheme_init(init_scheme, fan_in, bias=True),
                    rngs=rngs,
                )
                for fan_in, fan_out in itertools.pairwise(sizes)
            ]
        )

    def __call__(self, x):
        psi = ACTIVATIONS[self.activation]
        for layer in self.layers[:-1]:
            x = psi(layer(x))
        return self.layers[-1](x)


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
    zeros is exact (``jaxnn.module_family``).
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
        self.convs = conv1d_stack(
            channels, kernel_sizes, stride, padding, rngs=rngs, torch_init=True
        )
        length = conv_output_length(input_length, kernel_sizes, stride, padding)
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
