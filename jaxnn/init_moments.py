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
whatever the backend). The smoothness of the initial function, (e), is ``jaxnn.init_smoothness``.
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


# ---------------------------------------------------------------------------- (a) pre-activation


def preactivation_mean(weight_var: float, fan_in: int) -> float:
    r"""Mean of the pre-activation :math:`z = \sum_{m=1}^M w_m x_m`.

    Derivation: by linearity and independence of :math:`w_m` and :math:`x_m`,
    :math:`\mathbb E[z] = \sum_m \mathbb E[w_m]\,\mathbb E[x_m] = 0`.

    Args:
        weight_var: :math:`\sigma^2`, the variance of each weight.
        fan_in: :math:`M`, the number of inputs.

    Returns:
        0.0 for every valid input (the arguments are validated all the same).

    Raises:
        ValueError: naming ``weight_var`` if :math:`\sigma^2 \le 0`, or ``fan_in`` if
            :math:`M < 1`.
    """
    _check_variance(weight_var, "weight_var")
    _check_count(fan_in, "fan_in")
    return 0.0


def preactivation_var(weight_var: float, fan_in: int) -> float:
    r"""Variance of the pre-activation, :math:`\operatorname{Var}[z] = M\sigma^2`.

    Derivation: :math:`\operatorname{Var}[z] = \mathbb E[z^2]` since the mean is 0;
    :math:`\mathbb E[z^2] = \sum_{m,n}\mathbb E[w_m w_n]\,\mathbb E[x_m x_n]`, and the cross terms
    vanish because distinct weights are independent with mean 0, leaving
    :math:`\sum_m \mathbb E[w_m^2]\,\mathbb E[x_m^2] = M\sigma^2 \cdot 1`.

    Note :math:`z` is not exactly Gaussian (its excess kurtosis is :math:`6/M`), but given the
    weights it is :math:`\mathcal N(0, \lVert w\rVert^2)` exactly, which is all (b) needs.

    Example:
        >>> preactivation_var(0.02, 100)
        2.0

    Raises:
        ValueError: naming the bad argument.
    """
    weight_var = _check_variance(weight_var, "weight_var")
    fan_in = _check_count(fan_in, "fan_in")
    return fan_in * weight_var


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
    r"""Draws :math:`z = \sum_m w_m x_m` for independent neurons with fresh weights and inputs.

    Args:
        key: a typed key, ``jax.random.key(seed)``.
        weight_var: :math:`\sigma^2`.
        fan_in: :math:`M`.
        num_draws: number of independent (neuron, input) draws.
        matmul_precision: see ``jaxnn.precision`` (static).

    Returns:
        ``z[draw]``, float32.

    Raises:
        ValueError: naming the bad argument.

    Example:
        >>> z = sample_preactivations(jax.random.key(0), weight_var=0.02, fan_in=100,
        ...                           num_draws=1000)
    """
    weight_var = _check_variance(weight_var, "weight_var")
    return _preactivations(
        key,
        math.sqrt(weight_var),
        fan_in=_check_count(fan_in, "fan_in"),
        num_draws=_check_count(num_draws, "num_draws"),
        matmul_precision=precision.check_precision(matmul_precision),
    )


# ---------------------------------------------------------------------------- (b) after ReLU


def relu_second_moment(weight_var: float, fan_in: int) -> float:
    r"""Second moment after ReLU, :math:`\mathbb E[h^2] = M\sigma^2/2` with :math:`h = \max(0, z)`.

    Derivation (no integral needed): :math:`z` is symmetric about 0 (flip the sign of every
    weight; the distribution is unchanged), so :math:`z^2\,\mathbb 1[z>0]` and
    :math:`z^2\,\mathbb 1[z<0]` have the same mean, and :math:`\Pr[z = 0] = 0`. Hence
    :math:`\mathbb E[h^2] = \mathbb E[z^2\,\mathbb 1[z>0]] = \tfrac12\mathbb E[z^2]
    = M\sigma^2/2`. This is the factor 1/2 that He et al. (2015) add to Glorot & Bengio (2010).

    Raises:
        ValueError: naming the bad argument.
    """
    return preactivation_var(weight_var, fan_in) / 2.0


def relu_mean(weight_var: float, fan_in: int) -> float:
    r"""Exact mean after ReLU, :math:`\mathbb E[h] = \sigma\,\mathbb E[\chi_M]/\sqrt{2\pi}`.

    Derivation: given the weights, :math:`z \sim \mathcal N(0, s^2)` with :math:`s = \lVert
    w\rVert`, and :math:`\mathbb E[\max(0, z)\mid w] = s\int_0^\infty u\,\phi(u)\,du
    = s/\sqrt{2\pi}`. Averaging over the weights, :math:`\lVert w\rVert/\sigma \sim \chi_M`
    with :math:`\mathbb E[\chi_M] = \sqrt2\,\Gamma(\tfrac{M+1}{2})/\Gamma(\tfrac M2)`, so
    :math:`\mathbb E[h] = \sigma\,\Gamma(\tfrac{M+1}{2}) / (\sqrt\pi\,\Gamma(\tfrac M2))`.
    For large :math:`M` this is :math:`\sigma\sqrt M/\sqrt{2\pi}\,(1 - \tfrac{1}{4M} + \dots)`;
    see :func:`relu_mean_large_width`.

    Raises:
        ValueError: naming the bad argument.
    """
    weight_var = _check_variance(weight_var, "weight_var")
    fan_in = _check_count(fan_in, "fan_in")
    # log-gamma, because Gamma(M/2) overflows float64 beyond M ≈ 340
    chi_ratio = math.exp(math.lgamma((fan_in + 1) / 2) - math.lgamma(fan_in / 2))
    return math.sqrt(weight_var) * chi_ratio / math.sqrt(math.pi)


def relu_mean_large_width(weight_var: float, fan_in: int) -> float:
    r"""The Gaussian (large-:math:`M`) mean after ReLU, :math:`\sigma\sqrt M/\sqrt{2\pi}`.

    Treats :math:`z` as exactly :math:`\mathcal N(0, M\sigma^2)`; the relative error against
    :func:`relu_mean` is about :math:`1/(4M)`.

    Raises:
        ValueError: naming the bad argument.
    """
    return math.sqrt(preactivation_var(weight_var, fan_in) / (2.0 * math.pi))


def relu_var(weight_var: float, fan_in: int) -> float:
    r"""Variance after ReLU, :math:`\operatorname{Var}[h] = M\sigma^2/2 - \mathbb E[h]^2`.

    For large :math:`M` this tends to :math:`M\sigma^2\,(\tfrac12 - \tfrac1{2\pi})`.

    Raises:
        ValueError: naming the bad argument.
    """
    return relu_second_moment(weight_var, fan_in) - relu_mean(weight_var, fan_in) ** 2


def sample_relu_outputs(
    key: jax.Array,
    *,
    weight_var: float,
    fan_in: int,
    num_draws: int,
    matmul_precision: str = precision.DEFAULT,
):
    """``max(0, z)`` for the draws of :func:`sample_preactivations` (same key, same neurons)."""
    return jax.nn.relu(
        sample_preactivations(
            key,
            weight_var=weight_var,
            fan_in=fan_in,
            num_draws=num_draws,
            matmul_precision=matmul_precision,
        )
    )


# ---------------------------------------------------------------------------- (c) second layer


def second_layer_mean(
    weight_var: float, output_weight_var: float, fan_in: int, width: int
) -> float:
    r"""Mean of a second-layer neuron :math:`z^{(2)} = \sum_{m=1}^{W} v_m h_m`: zero.

    Derivation: :math:`v_m` is independent of :math:`h_m` (which depends on the first layer's
    weights and the inputs only), so :math:`\mathbb E[v_m h_m] = \mathbb E[v_m]\,\mathbb E[h_m] = 0`
    even though :math:`\mathbb E[h_m] > 0`.

    Args:
        weight_var: :math:`\sigma^2`, variance of the first layer's weights.
        output_weight_var: :math:`\sigma_2^2`, variance of the second layer's weights.
        fan_in: :math:`M`, inputs to each first-layer neuron.
        width: :math:`W`, first-layer neurons feeding the second layer (the exercise has
            :math:`W = M`).

    Raises:
        ValueError: naming the bad argument.
    """
    second_layer_var(weight_var, output_weight_var, fan_in, width)
    return 0.0


def second_layer_var(weight_var: float, output_weight_var: float, fan_in: int, width: int) -> float:
    r"""Variance of a second-layer neuron, :math:`W\sigma_2^2\,\mathbb E[h^2]`.

    Derivation: :math:`\mathbb E[(z^{(2)})^2] = \sum_{m,n}\mathbb E[v_m v_n]\,\mathbb E[h_m h_n]`.
    The :math:`h_m` are correlated (they share the inputs), but :math:`\mathbb E[v_m v_n] = 0`
    for :math:`m \ne n` kills every cross term, leaving :math:`W\sigma_2^2\,\mathbb E[h^2]`.
    It is the *second moment* :math:`\mathbb E[h^2] = M\sigma^2/2` that enters, not
    :math:`\operatorname{Var}[h]`: the ReLU's positive mean also carries signal forward.
    With :math:`W = M` and :math:`\sigma_2 = \sigma` this is :math:`M^2\sigma^4/2`.

    Raises:
        ValueError: naming the bad argument.
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
    r"""Draws second-layer pre-activations :math:`z^{(2)} = v^\top \max(0, W x)`.

    Each draw has fresh inputs :math:`x \in \mathbb R^M`, first-layer weights
    :math:`W \in \mathbb R^{\text{width}\times M}` and second-layer weights :math:`v`, so the
    draws are independent while the ``width`` first-layer neurons inside one draw are
    correlated through the shared input, as in a real network.

    Returns:
        ``z2[draw]``, float32.

    Raises:
        ValueError: naming the bad argument.
    """
    weight_var = _check_variance(weight_var, "weight_var")
    output_weight_var = _check_variance(output_weight_var, "output_weight_var")
    return _second_layer(
        key,
        math.sqrt(weight_var),
        math.sqrt(output_weight_var),
        fan_in=_check_count(fan_in, "fan_in"),
        width=_check_count(width, "width"),
        num_draws=_check_count(num_draws, "num_draws"),
        matmul_precision=precision.check_precision(matmul_precision),
    )


# ---------------------------------------------------------------------------- (d) depth


def he_weight_var(fan_in: int) -> float:
    r"""The variance-preserving weight variance for ReLU, :math:`\sigma^2 = 2/M` (He et al. 2015).

    Derivation: with :math:`q_k = \mathbb E[(z^{(k)})^2]` the pre-activation second moment of
    layer :math:`k`, (b) and (c) give :math:`q_{k+1} = M\sigma^2\,\mathbb E[h_k^2]
    = M\sigma^2 q_k/2`; the ratio is 1 exactly when :math:`\sigma^2 = 2/M`.

    Raises:
        ValueError: naming ``fan_in``.
    """
    return 2.0 / _check_count(fan_in, "fan_in")


def layer_gain(weight_var: float, fan_in: int) -> float:
    r"""Per-layer factor :math:`c = \sigma^2 M/2` of the second moment through a ReLU layer.

    :math:`c < 1`: the signal vanishes geometrically; :math:`c > 1`: it explodes; backward
    gradients scale by the same factor per layer (He et al. 2015, Sec. 2.2).

    Raises:
        ValueError: naming the bad argument.
    """
    return preactivation_var(weight_var, fan_in) / 2.0


def depth_second_moments(weight_var: float, width: int, depth: int) -> np.ndarray:
    r"""Predicted :math:`\mathbb E[h_k^2]` for layers :math:`k = 0, \dots, K` of a ReLU stack.

    Layer 0 is the input, :math:`x \sim \mathcal N(0, I_M)`, so :math:`\mathbb E[h_0^2] = 1`.
    Each layer :math:`h_k = \max(0, W_k h_{k-1})` with :math:`W_k \in \mathbb R^{M\times M}`,
    entries :math:`\mathcal N(0, \sigma^2)`. Conditioning on :math:`h_{k-1}`, the argument of
    (a)–(b) gives :math:`\mathbb E[h_k^2] = \tfrac12 M\sigma^2\,\mathbb E[h_{k-1}^2]
    = c\,\mathbb E[h_{k-1}^2]`, exactly at any finite width (only symmetry and independence of
    :math:`W_k` are used), hence :math:`\mathbb E[h_k^2] = c^k`.

    Returns:
        ``second_moment[layer]``, shape ``(depth + 1,)``, float64.

    Raises:
        ValueError: naming the bad argument.
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
    r"""Propagates inputs through fresh deep ReLU stacks, recording :math:`\overline{h_k^2}`.

    For each draw: :math:`x \sim \mathcal N(0, I_M)`, then :math:`h_k = \max(0, W_k h_{k-1})`
    with fresh :math:`W_k \sim \mathcal N(0, \sigma^2)^{M\times M}`; the statistic is the mean over
    the :math:`M` units of :math:`h_k^2`. Units within a layer are exchangeable, so it is an
    unbiased estimate of :math:`\mathbb E[h_k^2] = c^k` (:func:`depth_second_moments`); draws are
    independent networks, so the standard error across draws is honest. Its relative spread
    grows with depth (about :math:`(1 + 5/M)^k` in the squared coefficient of variation), which
    is why the tests compare against standard errors, not fixed relative tolerances.

    Returns:
        ``second_moment[draw, layer]``, shape ``(num_draws, depth + 1)``, layer 0 the input.

    Raises:
        ValueError: naming the bad argument.
    """
    weight_var = _check_variance(weight_var, "weight_var")
    return _depth_second_moments(
        key,
        math.sqrt(weight_var),
        width=_check_count(width, "width"),
        depth=_check_count(depth, "depth"),
        num_draws=_check_count(num_draws, "num_draws"),
        matmul_precision=precision.check_precision(matmul_precision),
    )
