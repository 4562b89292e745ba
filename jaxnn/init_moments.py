r"""Moments of a ReLU neuron at initialization, each closed form beside its Monte Carlo sampler.

Exercise 3 (a)–(d). A neuron has :math:`M` inputs :math:`x_m \sim \mathcal N(0, 1)` and
weights :math:`w_m \sim \mathcal N(0, \sigma^2)`, all independent, no bias.

* (a) pre-activation :math:`z = \sum_{m=1}^M w_m x_m`:
  :math:`\mathbb E[z] = 0`, :math:`\operatorname{Var}[z] = M\sigma^2`.
* (b) after ReLU, :math:`h = \max(0, z)`: :math:`\mathbb E[h^2] = M\sigma^2/2` (symmetry of
  :math:`z`); :math:`\mathbb E[h] = \sigma\,\mathbb E[\chi_M]/\sqrt{2\pi}
  \approx \sigma\sqrt{M}/\sqrt{2\pi}`;
  :math:`\operatorname{Var}[h] = \mathbb E[h^2] - \mathbb E[h]^2`.
* (c) a second-layer neuron :math:`z^{(2)} = \sum_{m=1}^M v_m h_m`, :math:`v_m \sim \mathcal N(0,
  \sigma_2^2)`: :math:`\mathbb E[z^{(2)}] = 0`,
  :math:`\operatorname{Var}[z^{(2)}] = M\sigma_2^2\,\mathbb E[h^2]` — the second moment of
  :math:`h`, not its variance.
* (d) per-layer gain :math:`c = \sigma^2 M / 2`, so :math:`\mathbb E[h_K^2] = c^K` for unit-variance
  inputs; :math:`c = 1 \iff \sigma^2 = 2/M` (He et al. 2015, "Delving deep into rectifiers";
  Glorot & Bengio 2010 derived the analogous :math:`2/(M_\text{in} + M_\text{out})` for
  activations that are linear around zero).

Closed forms return Python floats (NumPy arrays for per-layer tables). Samplers take a typed
key (``jax.random.key``) first, draw true Gaussians (``jax.random.normal`` times the standard
deviation, never truncated normals: the exercise says :math:`\mathcal N(0, \sigma^2)`), and are
vmapped over independent draws, so sample means carry honest standard errors
(``jaxnn.stats.seed_summary`` over the draws). Every sampler is compiled once per shape with
its matmuls pinned to ``matmul_precision`` (``jaxnn.precision``; default exact float32,
whatever the backend). Every function raises ``ValueError`` naming a bad argument. The
smoothness of the initial function, (e), is ``jaxnn.init_smoothness``.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn import precision

__all__ = [
    "depth_second_moments",
    "he_weight_var",
    "layer_gain",
    "preactivation_mean",
    "preactivation_var",
    "relu_mean",
    "relu_mean_large_width",
    "relu_second_moment",
    "relu_var",
    "sample_depth_second_moments",
    "sample_preactivations",
    "sample_relu_outputs",
    "sample_second_layer",
    "second_layer_mean",
    "second_layer_var",
]


# --------------------------------------- argument checks (jaxnn.init_smoothness uses them too)


def _check_variance(value: float, name: str) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number, got {value!r}") from None
    if not (math.isfinite(value) and value > 0.0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return value


def _check_count(value: int, name: str) -> int:
    # bool is an int subclass; True as a width is a bug, not a 1
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def _std(variance: float, name: str) -> float:
    return math.sqrt(_check_variance(variance, name))


# ---------------------------------------------------------------------------- (a) pre-activation


def preactivation_mean(weight_var: float, fan_in: int) -> float:
    r""":math:`\mathbb E[z] = \sum_m \mathbb E[w_m]\,\mathbb E[x_m] = 0` (arguments checked)."""
    _check_variance(weight_var, "weight_var")
    _check_count(fan_in, "fan_in")
    return 0.0


def preactivation_var(weight_var: float, fan_in: int) -> float:
    r""":math:`\operatorname{Var}[z] = M\sigma^2` (σ² = ``weight_var``, M = ``fan_in``).

    :math:`\mathbb E[z^2] = \sum_{m,n}\mathbb E[w_m w_n]\,\mathbb E[x_m x_n]`; the cross terms
    vanish (independent weights of mean 0). :math:`z` is not exactly Gaussian (excess kurtosis
    :math:`6/M`), but given the weights it is :math:`\mathcal N(0, \lVert w\rVert^2)` exactly,
    which is all (b) needs.

    Example:
        >>> preactivation_var(0.02, 100)
        2.0
    """
    weight_var = _check_variance(weight_var, "weight_var")
    return _check_count(fan_in, "fan_in") * weight_var


@functools.partial(jax.jit, static_argnames=("fan_in", "num_draws", "matmul_precision"))
def _preactivations(key, weight_std, *, fan_in, num_draws, matmul_precision):
    def one_neuron(key_neuron):
        key_weights, key_inputs = jax.random.split(key_neuron)
        weights = weight_std * jax.random.normal(key_weights, (fan_in,))
        inputs = jax.random.normal(key_inputs, (fan_in,))
        return weights @ inputs

    draw = precision.pinned(jax.vmap(one_neuron), matmul_precision)
    return draw(jax.random.split(key, num_draws))


def sample_preactivations(
    key: jax.Array,
    *,
    weight_var: float,
    fan_in: int,
    num_draws: int,
    matmul_precision: str = precision.DEFAULT,
):
    r"""``z[draw]`` (float32): :math:`z = \sum_m w_m x_m` of independent neurons, fresh weights
    and inputs each.

    Example:
        >>> z = sample_preactivations(jax.random.key(0), weight_var=0.02, fan_in=100,
        ...                           num_draws=1000)
    """
    return _preactivations(
        key,
        _std(weight_var, "weight_var"),
        fan_in=_check_count(fan_in, "fan_in"),
        num_draws=_check_count(num_draws, "num_draws"),
        matmul_precision=precision.check_precision(matmul_precision),
    )


# ---------------------------------------------------------------------------- (b) after ReLU


def relu_second_moment(weight_var: float, fan_in: int) -> float:
    r""":math:`\mathbb E[h^2] = M\sigma^2/2` for :math:`h = \max(0, z)`, with no integral.

    :math:`z` is symmetric about 0 (flipping every weight's sign leaves its law unchanged) and
    :math:`\Pr[z = 0] = 0`, so :math:`\mathbb E[z^2\,\mathbb 1[z>0]] = \tfrac12\mathbb E[z^2]`.
    This is the factor 1/2 that He et al. (2015) add to Glorot & Bengio (2010).
    """
    return preactivation_var(weight_var, fan_in) / 2.0


def relu_mean(weight_var: float, fan_in: int) -> float:
    r"""Exact :math:`\mathbb E[h] = \sigma\,\Gamma(\tfrac{M+1}{2}) / (\sqrt\pi\,\Gamma(\tfrac M2))`.

    Given the weights, :math:`z \sim \mathcal N(0, s^2)` with :math:`s = \lVert w\rVert`, so
    :math:`\mathbb E[h\mid w] = s/\sqrt{2\pi}`; :math:`\lVert w\rVert/\sigma \sim \chi_M` with
    :math:`\mathbb E[\chi_M] = \sqrt2\,\Gamma(\tfrac{M+1}{2})/\Gamma(\tfrac M2)`. For large
    :math:`M`, :math:`\sigma\sqrt M/\sqrt{2\pi}\,(1 - \tfrac{1}{4M} + \dots)`
    (:func:`relu_mean_large_width`).
    """
    weight_var = _check_variance(weight_var, "weight_var")
    fan_in = _check_count(fan_in, "fan_in")
    # log-gamma, because Gamma(M/2) overflows float64 beyond M ≈ 340
    chi_ratio = math.exp(math.lgamma((fan_in + 1) / 2) - math.lgamma(fan_in / 2))
    return math.sqrt(weight_var) * chi_ratio / math.sqrt(math.pi)


def relu_mean_large_width(weight_var: float, fan_in: int) -> float:
    r"""Gaussian (large-:math:`M`) mean :math:`\sigma\sqrt M/\sqrt{2\pi}`; off by about
    :math:`1/(4M)` relative."""
    return math.sqrt(preactivation_var(weight_var, fan_in) / (2.0 * math.pi))


def relu_var(weight_var: float, fan_in: int) -> float:
    r""":math:`\operatorname{Var}[h] = M\sigma^2/2 - \mathbb E[h]^2`, tending to
    :math:`M\sigma^2\,(\tfrac12 - \tfrac1{2\pi})` for large :math:`M`."""
    return relu_second_moment(weight_var, fan_in) - relu_mean(weight_var, fan_in) ** 2


def sample_relu_outputs(key: jax.Array, **kwargs):
    """``max(0, z)`` for the draws of :func:`sample_preactivations` (same key, same keyword
    arguments, same neurons)."""
    return jax.nn.relu(sample_preactivations(key, **kwargs))


# ---------------------------------------------------------------------------- (c) second layer


def second_layer_mean(
    weight_var: float, output_weight_var: float, fan_in: int, width: int
) -> float:
    r""":math:`\mathbb E[z^{(2)}] = \sum_m \mathbb E[v_m]\,\mathbb E[h_m] = 0` although
    :math:`\mathbb E[h_m] > 0` (:math:`v_m` is independent of :math:`h_m`); arguments as
    :func:`second_layer_var`."""
    second_layer_var(weight_var, output_weight_var, fan_in, width)
    return 0.0


def second_layer_var(weight_var: float, output_weight_var: float, fan_in: int, width: int) -> float:
    r""":math:`\operatorname{Var}[z^{(2)}] = W\sigma_2^2\,\mathbb E[h^2]` for
    :math:`z^{(2)} = \sum_{m=1}^{W} v_m h_m`.

    :math:`\sigma^2` = ``weight_var`` and :math:`M` = ``fan_in`` are the first layer's,
    :math:`\sigma_2^2` = ``output_weight_var`` the second's, :math:`W` = ``width`` the first
    layer's neurons (the exercise has :math:`W = M`). The :math:`h_m` are correlated (they
    share the inputs), but :math:`\mathbb E[v_m v_n] = 0` for :math:`m \ne n` kills every cross
    term: the *second moment* :math:`\mathbb E[h^2] = M\sigma^2/2` enters, not
    :math:`\operatorname{Var}[h]`. With :math:`W = M`, :math:`\sigma_2 = \sigma` this is
    :math:`M^2\sigma^4/2`.
    """
    output_weight_var = _check_variance(output_weight_var, "output_weight_var")
    width = _check_count(width, "width")
    return width * output_weight_var * relu_second_moment(weight_var, fan_in)


@functools.partial(jax.jit, static_argnames=("fan_in", "width", "num_draws", "matmul_precision"))
def _second_layer(
    key, weight_std, output_weight_std, *, fan_in, width, num_draws, matmul_precision
):
    def one_neuron(key_neuron):
        key_inputs, key_first, key_second = jax.random.split(key_neuron, 3)
        inputs = jax.random.normal(key_inputs, (fan_in,))
        first_weights = weight_std * jax.random.normal(key_first, (width, fan_in))
        second_weights = output_weight_std * jax.random.normal(key_second, (width,))
        return second_weights @ jax.nn.relu(first_weights @ inputs)

    draw = precision.pinned(jax.vmap(one_neuron), matmul_precision)
    return draw(jax.random.split(key, num_draws))


def sample_second_layer(
    key: jax.Array,
    *,
    weight_var: float,
    output_weight_var: float,
    fan_in: int,
    width: int,
    num_draws: int,
    matmul_precision: str = precision.DEFAULT,
):
    r"""``z2[draw]`` (float32): second-layer pre-activations :math:`v^\top \max(0, W x)`.

    Each draw has fresh :math:`x \in \mathbb R^M`, :math:`W \in \mathbb R^{\text{width}\times M}`
    and :math:`v`, so draws are independent while the ``width`` first-layer neurons inside one
    draw are correlated through the shared input, as in a real network.
    """
    return _second_layer(
        key,
        _std(weight_var, "weight_var"),
        _std(output_weight_var, "output_weight_var"),
        fan_in=_check_count(fan_in, "fan_in"),
        width=_check_count(width, "width"),
        num_draws=_check_count(num_draws, "num_draws"),
        matmul_precision=precision.check_precision(matmul_precision),
    )


# ---------------------------------------------------------------------------- (d) depth


def he_weight_var(fan_in: int) -> float:
    r"""The variance-preserving :math:`\sigma^2 = 2/M` for ReLU (He et al. 2015): by (b) and
    (c), :math:`q_{k+1} = M\sigma^2 q_k/2` for the pre-activation second moments :math:`q_k`."""
    return 2.0 / _check_count(fan_in, "fan_in")


def layer_gain(weight_var: float, fan_in: int) -> float:
    r"""Per-layer factor :math:`c = \sigma^2 M/2` of the second moment through a ReLU layer.

    :math:`c < 1`: the signal vanishes geometrically; :math:`c > 1`: it explodes; backward
    gradients scale by the same factor per layer (He et al. 2015, Sec. 2.2).
    """
    return preactivation_var(weight_var, fan_in) / 2.0


def depth_second_moments(weight_var: float, width: int, depth: int) -> np.ndarray:
    r"""``second_moment[layer]`` (float64, ``depth + 1``): predicted
    :math:`\mathbb E[h_k^2] = c^k` for layers :math:`k = 0, \dots, K` of a ReLU stack.

    Layer 0 is the input, :math:`x \sim \mathcal N(0, I_M)`; :math:`h_k = \max(0, W_k h_{k-1})`
    with :math:`W_k \in \mathbb R^{M\times M}` of entries :math:`\mathcal N(0, \sigma^2)`.
    Conditioning on :math:`h_{k-1}`, (a)–(b) give :math:`\mathbb E[h_k^2] = c\,\mathbb
    E[h_{k-1}^2]` exactly at any finite width (only symmetry and independence of :math:`W_k`
    are used).
    """
    gain = layer_gain(weight_var, width)
    depth = _check_count(depth, "depth")
    return gain ** np.arange(depth + 1, dtype=np.float64)


@functools.partial(jax.jit, static_argnames=("width", "depth", "num_draws", "matmul_precision"))
def _depth_second_moments(key, weight_std, *, width, depth, num_draws, matmul_precision):
    def one_network(key_network):
        key_inputs, key_layers = jax.random.split(key_network)
        inputs = jax.random.normal(key_inputs, (width,))

        def layer(hidden, layer_index):
            weights = weight_std * jax.random.normal(
                jax.random.fold_in(key_layers, layer_index), (width, width)
            )
            hidden = jax.nn.relu(weights @ hidden)
            return hidden, jnp.mean(hidden**2)

        _, per_layer = jax.lax.scan(layer, inputs, jnp.arange(depth))
        return jnp.concatenate([jnp.mean(inputs**2)[None], per_layer])

    draw = precision.pinned(jax.vmap(one_network), matmul_precision)
    return draw(jax.random.split(key, num_draws))


def sample_depth_second_moments(
    key: jax.Array,
    *,
    weight_var: float,
    width: int,
    depth: int,
    num_draws: int,
    matmul_precision: str = precision.DEFAULT,
):
    r"""``second_moment[draw, layer]``: :math:`\overline{h_k^2}` of fresh deep ReLU stacks,
    layer 0 the input (the stacks of :func:`depth_second_moments`).

    The mean over the :math:`M` exchangeable units is an unbiased estimate of :math:`c^k`, and
    draws are independent networks, so the standard error across draws is honest. Its relative
    spread grows with depth (about :math:`(1 + 5/M)^k` in the squared coefficient of
    variation), which is why the tests compare against standard errors, not fixed relative
    tolerances.
    """
    return _depth_second_moments(
        key,
        _std(weight_var, "weight_var"),
        width=_check_count(width, "width"),
        depth=_check_count(depth, "depth"),
        num_draws=_check_count(num_draws, "num_draws"),
        matmul_precision=precision.check_precision(matmul_precision),
    )
