r"""Initialization theory: moments of ReLU neurons at init, checked by Monte Carlo.

Exercise 3 (a)–(e). A neuron has :math:`M` inputs :math:`x_m \sim \mathcal N(0, 1)` and
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
* (e) a scalar net :math:`f(x) = \sum_m v_m \psi(w_m x + b_m)` with all parameters
  :math:`\mathcal N(0, \sigma^2)` has Taylor coefficients
  :math:`a_k = \frac{1}{k!}\sum_m v_m w_m^k \psi^{(k)}(b_m) = O(\sigma^{k+1})`, so smaller
  :math:`\sigma^2` makes smooth activations (tanh) nearly linear on a fixed input range; ReLU is
  positively homogeneous, so a common :math:`\sigma` changes only the scale
  (:math:`f_{\sigma} = \sigma^2 f_1`) and the shape depends on :math:`\sigma_w/\sigma_b`.

Closed forms return Python floats (NumPy arrays for per-layer tables). Samplers take a typed
key (``jax.random.key``) first, draw true Gaussians (``jax.random.normal`` times the standard
deviation, never truncated normals: the exercise says :math:`\mathcal N(0, \sigma^2)`), and are
vmapped over independent draws, so sample means carry honest standard errors. Every sampler
that multiplies matrices is compiled once per shape with its matmuls pinned to
``matmul_precision`` (``jaxnn.precision``; default exact float32, whatever the backend).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn import precision

__all__ = [
    "apply_scalar_net",
    "depth_second_moments",
    "he_weight_var",
    "layer_gain",
    "mean_and_standard_error",
    "pooled_roughness",
    "preactivation_mean",
    "preactivation_var",
    "ratio_of_means",
    "relu_kink_fraction",
    "relu_mean",
    "relu_mean_large_width",
    "relu_second_moment",
    "relu_var",
    "roughness_terms",
    "sample_depth_second_moments",
    "sample_initial_functions",
    "sample_kink_fractions",
    "sample_preactivations",
    "sample_relu_outputs",
    "sample_scalar_net",
    "sample_second_layer",
    "sample_taylor_coefficients",
    "second_layer_mean",
    "second_layer_var",
    "second_moment_and_standard_error",
    "smoothness_conclusion",
    "tanh_roughness_small_var",
    "tanh_taylor_ratio_small_var",
    "taylor_coefficients",
    "variance_and_standard_error",
]


# ---------------------------------------------------------------------------- validation


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


# ---------------------------------------------------------------------------- (e) smoothness


def relu_kink_fraction(weight_var: float, bias_var: float, input_range: float = 1.0) -> float:
    r"""Expected fraction of ReLU units whose kink :math:`x = -b/w` lies in :math:`[-L, L]`.

    :math:`b/w` is :math:`(\sigma_b/\sigma_w)` times a standard Cauchy variable, so
    :math:`\Pr[|b/w| < L] = \tfrac2\pi\arctan(L\sigma_w/\sigma_b)`. It depends on the ratio
    :math:`\sigma_w/\sigma_b` only: that ratio, not :math:`\sigma` itself, shapes a ReLU net.

    Raises:
        ValueError: naming the bad argument.
    """
    weight_var = _check_variance(weight_var, "weight_var")
    bias_var = _check_variance(bias_var, "bias_var")
    input_range = _check_variance(input_range, "input_range")
    return 2.0 / math.pi * math.atan(input_range * math.sqrt(weight_var / bias_var))


def tanh_roughness_small_var(
    weight_var: float, bias_var: float | None = None, input_range: float = 1.0
) -> float:
    r"""Small-:math:`\sigma` limit of the tanh roughness :math:`R = \mathbb E\,\overline{f''^2}
    / \mathbb E\,\widehat{\operatorname{Var}}_x f` on :math:`x \in [-L, L]`.

    Derivation (all of :math:`v, w \sim \mathcal N(0, \sigma^2)`, :math:`b \sim \mathcal N(0,
    \beta^2)`, both small): :math:`\tanh(u) = u + O(u^3)` and :math:`\tanh''(u) = -2u + O(u^3)`,
    so :math:`f \approx \sum_m v_m(w_m x + b_m)` and :math:`f'' \approx -2\sum_m v_m w_m^2(w_m x +
    b_m)`. With :math:`\mathbb E[w^4] = 3\sigma^4`, :math:`\mathbb E[w^6] = 15\sigma^6` and
    :math:`\overline{x^2} = L^2/3`:
    :math:`\mathbb E\,\overline{f''^2} = 4M\sigma^2(5\sigma^6L^2 + 3\sigma^4\beta^2)` and the
    spread of the (linear) function over the interval is
    :math:`\mathbb E\,\widehat{\operatorname{Var}}_x f = M\sigma^4 L^2/3`. Hence
    :math:`R \approx 12(5\sigma^4 L^2 + 3\sigma^2\beta^2)/L^2`, i.e. :math:`96\sigma^4` for
    :math:`\beta = \sigma`, :math:`L = 1`: roughness grows like :math:`(\sigma^2)^2`.

    Raises:
        ValueError: naming the bad argument.
    """
    weight_var = _check_variance(weight_var, "weight_var")
    bias_var = weight_var if bias_var is None else _check_variance(bias_var, "bias_var")
    input_range = _check_variance(input_range, "input_range")
    range_sq = input_range**2
    return 12.0 * (5.0 * weight_var**2 * range_sq + 3.0 * weight_var * bias_var) / range_sq


def tanh_taylor_ratio_small_var(weight_var: float) -> float:
    r"""Small-:math:`\sigma` limit of :math:`\sqrt{\mathbb E[a_3^2]/\mathbb E[a_1^2]}` for tanh.

    Derivation: :math:`\tanh'(0) = 1`, :math:`\tanh'''(0) = -2`, so
    :math:`a_1 \approx \sum v_m w_m` and :math:`a_3 \approx -\tfrac13\sum v_m w_m^3`;
    :math:`\mathbb E[a_1^2] = M\sigma^4`, :math:`\mathbb E[a_3^2] = \tfrac19 M\sigma^2\cdot
    15\sigma^6`, so the ratio is :math:`\sqrt{5/3}\,\sigma^2`: the cubic term, relative to the
    linear one, grows with :math:`\sigma^2` (valid while the biases are small too).

    Raises:
        ValueError: naming ``weight_var``.
    """
    return math.sqrt(5.0 / 3.0) * _check_variance(weight_var, "weight_var")


# ---------------------------------------------------------------------------- samplers


def _check_precision(matmul_precision: str) -> str:
    return precision.check_precision(matmul_precision)


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
        matmul_precision=_check_precision(matmul_precision),
    )


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
        matmul_precision=_check_precision(matmul_precision),
    )


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
        matmul_precision=_check_precision(matmul_precision),
    )


def _draw_scalar_net(key, weight_std, bias_std, *, width, dtype):
    key_input, key_bias, key_output = jax.random.split(key, 3)
    return {
        "input_weights": weight_std * jax.random.normal(key_input, (width,), dtype),
        "biases": bias_std * jax.random.normal(key_bias, (width,), dtype),
        "output_weights": weight_std * jax.random.normal(key_output, (width,), dtype),
    }


def sample_scalar_net(
    key: jax.Array,
    *,
    width: int,
    weight_var: float,
    bias_var: float | None = None,
    dtype=None,
) -> dict[str, jax.Array]:
    r"""Parameters of :math:`f(x) = \sum_{m=1}^M v_m\,\psi(w_m x + b_m)` at initialization.

    :math:`w_m, v_m \sim \mathcal N(0, \sigma^2)` and :math:`b_m \sim \mathcal N(0, \beta^2)`
    with :math:`\beta^2 = \sigma^2` unless ``bias_var`` is given. The draws are
    ``std * jax.random.normal(...)``, so the same key at two variances gives the same standard
    normals rescaled (common random numbers across a sweep of :math:`\sigma^2`).

    Args:
        key: a typed key.
        width: :math:`M`, hidden units.
        weight_var: :math:`\sigma^2` for input and output weights.
        bias_var: :math:`\beta^2`; defaults to ``weight_var``.
        dtype: floating dtype of the draws (float64 needs ``jax.enable_x64``).

    Returns:
        ``{"input_weights": w[M], "biases": b[M], "output_weights": v[M]}``.

    Raises:
        ValueError: naming the bad argument.
    """
    weight_var = _check_variance(weight_var, "weight_var")
    bias_var = weight_var if bias_var is None else _check_variance(bias_var, "bias_var")
    dtype = jnp.float32 if dtype is None else dtype
    return _draw_scalar_net(
        key,
        np.sqrt(np.asarray(weight_var, dtype)),
        np.sqrt(np.asarray(bias_var, dtype)),
        width=_check_count(width, "width"),
        dtype=dtype,
    )


def apply_scalar_net(
    params: dict[str, jax.Array], inputs: jax.Array, activation_fn: Callable
) -> jax.Array:
    r"""Evaluates :math:`f(x) = \sum_m v_m\,\psi(w_m x + b_m)` at ``inputs[point]``.

    Returns:
        ``f[point]``.
    """
    hidden = activation_fn(inputs[:, None] * params["input_weights"] + params["biases"])
    return hidden @ params["output_weights"]


@functools.partial(
    jax.jit, static_argnames=("activation_fn", "width", "num_functions", "matmul_precision")
)
def _initial_functions(
    key, inputs, weight_var, bias_var, *, activation_fn, width, num_functions, matmul_precision
):
    weight_std = jnp.sqrt(weight_var)
    bias_std = jnp.sqrt(bias_var)

    def one_function(key_function):
        params = _draw_scalar_net(
            key_function, weight_std, bias_std, width=width, dtype=inputs.dtype
        )
        return apply_scalar_net(params, inputs, activation_fn)

    draw = precision.pinned(jax.vmap(one_function), matmul_precision)
    return draw(jax.random.split(key, num_functions))


def sample_initial_functions(
    key: jax.Array,
    inputs: jax.Array,
    *,
    activation_fn: Callable,
    width: int,
    num_functions: int,
    weight_var: float,
    bias_var: float | None = None,
    matmul_precision: str = precision.DEFAULT,
) -> jax.Array:
    r"""Independent initial functions of :func:`sample_scalar_net` nets, evaluated on ``inputs``.

    The draws use the dtype of ``inputs``. Use float64 (inside ``jax.enable_x64(True)``) when
    second differences are taken: for small :math:`\sigma^2` the function is nearly linear and
    :math:`\Delta^2 f/f \sim \sigma^2 h^2` falls below float32 resolution.

    The same key at two variances draws the same standard normals, rescaled; for ReLU with
    ``bias_var=None`` that makes ``f`` at :math:`4\sigma^2` exactly :math:`4f` at
    :math:`\sigma^2` (positive homogeneity, power-of-two scaling is exact in floating point).

    Args:
        key: a typed key.
        inputs: ``x[point]``, a float array.
        activation_fn: :math:`\psi`, e.g. ``jnp.tanh`` or ``jax.nn.relu``.
        width: :math:`M`.
        num_functions: number of independent nets.
        weight_var: :math:`\sigma^2` of input and output weights.
        bias_var: :math:`\beta^2`; defaults to ``weight_var``.
        matmul_precision: see ``jaxnn.precision`` (static).

    Returns:
        ``f[function, point]``.

    Raises:
        ValueError: naming the bad argument.
    """
    weight_var = _check_variance(weight_var, "weight_var")
    bias_var = weight_var if bias_var is None else _check_variance(bias_var, "bias_var")
    inputs = jnp.asarray(inputs)
    if not jnp.issubdtype(inputs.dtype, jnp.floating) or inputs.ndim != 1:
        raise ValueError(f"inputs must be a 1-D float array, got {inputs.dtype}{inputs.shape}")
    return _initial_functions(
        key,
        inputs,
        np.asarray(weight_var, inputs.dtype),
        np.asarray(bias_var, inputs.dtype),
        activation_fn=activation_fn,
        width=_check_count(width, "width"),
        num_functions=_check_count(num_functions, "num_functions"),
        matmul_precision=_check_precision(matmul_precision),
    )


def taylor_coefficients(
    params: dict[str, jax.Array], activation_fn: Callable, order: int
) -> jax.Array:
    r"""Taylor coefficients of :math:`f` at :math:`x = 0`, :math:`a_k = \frac1{k!}\sum_m v_m w_m^k
    \psi^{(k)}(b_m)`, for :math:`k = 0, \dots, \text{order}`.

    Derivation: :math:`\frac{d^k}{dx^k}\psi(w x + b) = w^k\psi^{(k)}(w x + b)`; at :math:`x = 0`
    this is :math:`w^k\psi^{(k)}(b)`. With :math:`v, w, b` all of scale :math:`\sigma`,
    :math:`a_k = O(\sigma^{k+1})` whenever :math:`\psi^{(k)}(0) \ne 0`: on a fixed input range
    the higher orders die out faster as :math:`\sigma \to 0`, so small :math:`\sigma^2` gives
    nearly linear (smooth) functions. Where :math:`\psi^{(k)}(0) = 0` (tanh at even :math:`k`),
    :math:`\psi^{(k)}(b) \approx \psi^{(k+1)}(0)\,b` adds one more power of :math:`\sigma`. The
    derivatives of :math:`\psi` come from ``jax.grad``.

    Returns:
        ``a[k]``, shape ``(order + 1,)``.

    Raises:
        ValueError: naming ``order`` if it is negative.
    """
    if isinstance(order, bool) or not isinstance(order, int) or order < 0:
        raise ValueError(f"order must be an integer >= 0, got {order!r}")
    weights, biases, outputs = params["input_weights"], params["biases"], params["output_weights"]
    derivative_fn = activation_fn
    coefficients = []
    for k in range(order + 1):
        derivative_at_bias = jax.vmap(derivative_fn)(biases)
        coefficients.append(jnp.sum(outputs * weights**k * derivative_at_bias) / math.factorial(k))
        derivative_fn = jax.grad(derivative_fn)
    return jnp.stack(coefficients)


def sample_taylor_coefficients(
    key: jax.Array,
    *,
    activation_fn: Callable,
    width: int,
    num_functions: int,
    weight_var: float,
    bias_var: float | None = None,
    order: int = 3,
    dtype=None,
) -> jax.Array:
    r"""Taylor coefficients :math:`a_k` (:func:`taylor_coefficients`) of independent initial nets.

    Uses the same draws as :func:`sample_initial_functions` with the same key and dtype.

    Returns:
        ``a[function, k]``, shape ``(num_functions, order + 1)``.

    Raises:
        ValueError: naming the bad argument.
    """
    weight_var = _check_variance(weight_var, "weight_var")
    bias_var = weight_var if bias_var is None else _check_variance(bias_var, "bias_var")
    if isinstance(order, bool) or not isinstance(order, int) or order < 0:
        raise ValueError(f"order must be an integer >= 0, got {order!r}")
    dtype = jnp.float32 if dtype is None else dtype
    return _taylor_samples(
        key,
        np.sqrt(np.asarray(weight_var, dtype)),
        np.sqrt(np.asarray(bias_var, dtype)),
        activation_fn=activation_fn,
        width=_check_count(width, "width"),
        num_functions=_check_count(num_functions, "num_functions"),
        order=order,
        dtype=dtype,
    )


@functools.partial(
    jax.jit, static_argnames=("activation_fn", "width", "num_functions", "order", "dtype")
)
def _taylor_samples(
    key, weight_std, bias_std, *, activation_fn, width, num_functions, order, dtype
):
    def one_function(key_function):
        params = _draw_scalar_net(key_function, weight_std, bias_std, width=width, dtype=dtype)
        return taylor_coefficients(params, activation_fn, order)

    return jax.vmap(one_function)(jax.random.split(key, num_functions))


def sample_kink_fractions(
    key: jax.Array,
    *,
    width: int,
    num_functions: int,
    weight_var: float,
    bias_var: float,
    input_range: float = 1.0,
) -> jax.Array:
    r"""Fraction of ReLU units per net whose kink :math:`-b_m/w_m` lies in :math:`[-L, L]`.

    Monte Carlo counterpart of :func:`relu_kink_fraction`; the nets are those of
    :func:`sample_initial_functions` with the same key and float32 inputs.

    Returns:
        ``kink_fraction[function]``.

    Raises:
        ValueError: naming the bad argument.
    """
    weight_var = _check_variance(weight_var, "weight_var")
    bias_var = _check_variance(bias_var, "bias_var")
    input_range = _check_variance(input_range, "input_range")
    return _kink_fractions(
        key,
        math.sqrt(weight_var),
        math.sqrt(bias_var),
        input_range,
        width=_check_count(width, "width"),
        num_functions=_check_count(num_functions, "num_functions"),
    )


@functools.partial(jax.jit, static_argnames=("width", "num_functions"))
def _kink_fractions(key, weight_std, bias_std, input_range, *, width, num_functions):
    def one_function(key_function):
        params = _draw_scalar_net(
            key_function, weight_std, bias_std, width=width, dtype=jnp.float32
        )
        # |b| < L|w| rather than |b/w| < L: no division by a weight that may be tiny
        inside = jnp.abs(params["biases"]) < input_range * jnp.abs(params["input_weights"])
        return jnp.mean(inside.astype(jnp.float32))

    return jax.vmap(one_function)(jax.random.split(key, num_functions))


def smoothness_conclusion(
    weight_vars,
    tanh_roughness,
    relu_roughness,
    relu_fixed_bias_roughness,
    *,
    relu_bias_var: float,
    invariance_rtol: float = 1e-6,
) -> str:
    r"""Answers "does larger or smaller :math:`\sigma^2` give smoother functions?" from numbers.

    The wording is chosen from the numbers: the direction of the tanh trend (monotone or not),
    whether ReLU roughness at a common :math:`\sigma` is constant to ``invariance_rtol``, and the
    direction of the ReLU trend when only the weight variance moves.

    Args:
        weight_vars: ``weight_var[i]``, increasing.
        tanh_roughness: ``roughness[i]`` for tanh, weights and biases sharing :math:`\sigma^2`.
        relu_roughness: the same for ReLU.
        relu_fixed_bias_roughness: ReLU with the bias variance held at ``relu_bias_var``.
        relu_bias_var: :math:`\beta^2` of the last series, for the wording.
        invariance_rtol: relative spread below which ReLU roughness counts as constant.

    Returns:
        One paragraph of plain text.
    """
    weight_vars = np.asarray(weight_vars, dtype=np.float64)
    if weight_vars.ndim != 1 or weight_vars.size < 2 or np.any(np.diff(weight_vars) <= 0):
        raise ValueError("weight_vars must be increasing with at least two entries")

    def trend(values) -> str:
        steps = np.diff(np.asarray(values, dtype=np.float64))
        if np.all(steps > 0):
            return "increasing"
        if np.all(steps < 0):
            return "decreasing"
        return "not monotone"

    def span(values) -> str:
        values = np.asarray(values, dtype=np.float64)
        return (
            f"from {values[0]:.3g} at sigma^2 = {weight_vars[0]:.3g} "
            f"to {values[-1]:.3g} at sigma^2 = {weight_vars[-1]:.3g}"
        )

    tanh_trend = trend(tanh_roughness)
    if tanh_trend == "increasing":
        tanh_text = (
            f"tanh: smaller sigma^2 gives smoother initial functions; the roughness rises "
            f"monotonically {span(tanh_roughness)}."
        )
    elif tanh_trend == "decreasing":
        tanh_text = (
            f"tanh: larger sigma^2 gives smoother initial functions; the roughness falls "
            f"monotonically {span(tanh_roughness)}."
        )
    else:
        tanh_text = (
            f"tanh: no monotone trend in sigma^2; the roughness goes {span(tanh_roughness)}."
        )

    relu_roughness = np.asarray(relu_roughness, dtype=np.float64)
    relu_spread = float(np.ptp(relu_roughness) / np.mean(np.abs(relu_roughness)))
    if relu_spread <= invariance_rtol:
        relu_text = (
            f"ReLU with the same sigma^2 on weights and biases: the roughness is the same at "
            f"every sigma^2 ({relu_roughness[0]:.4g}, relative spread {relu_spread:.1e}); "
            f"sigma only rescales the function (positive homogeneity), it does not smooth it."
        )
    else:
        relu_text = (
            f"ReLU with the same sigma^2 on weights and biases: the roughness changes with "
            f"sigma^2 (relative spread {relu_spread:.2g}), {trend(relu_roughness)}, "
            f"{span(relu_roughness)}."
        )

    fixed_trend = trend(relu_fixed_bias_roughness)
    if fixed_trend == "increasing":
        fixed_text = (
            f"With the bias variance fixed at {relu_bias_var:g}, ReLU roughness rises with the "
            f"weight variance {span(relu_fixed_bias_roughness)}: for ReLU the ratio of weight to "
            f"bias scale decides smoothness (more kinks -b/w fall inside the input range)."
        )
    elif fixed_trend == "decreasing":
        fixed_text = (
            f"With the bias variance fixed at {relu_bias_var:g}, ReLU roughness falls with the "
            f"weight variance {span(relu_fixed_bias_roughness)}."
        )
    else:
        fixed_text = (
            f"With the bias variance fixed at {relu_bias_var:g}, ReLU roughness shows no "
            f"monotone trend in the weight variance ({span(relu_fixed_bias_roughness)})."
        )
    return " ".join([tanh_text, relu_text, fixed_text])


@jax.jit
def roughness_terms(values: jax.Array, spacing: float) -> tuple[jax.Array, jax.Array]:
    r"""Per-function curvature and spread on a uniform grid: the two halves of the roughness.

    :math:`\overline{(\Delta^2 f/h^2)^2}` (mean squared second difference, an estimate of the
    mean of :math:`f''^2`) and :math:`\widehat{\operatorname{Var}}_x f` (the spread of :math:`f`
    over the grid). Their ratio has units of length\ :sup:`-4` and is invariant under
    :math:`f \to \lambda f`, so it measures shape, not scale. For ReLU, :math:`f''` is a sum of
    Dirac deltas, so the curvature half depends on the grid spacing (about :math:`1/h` per kink):
    compare ReLU values at one grid only.

    Args:
        values: ``f[..., point]`` on a uniform grid.
        spacing: :math:`h`, the grid step.

    Returns:
        ``(curvature_sq[...], spread_sq[...])``.
    """
    second_difference = (values[..., 2:] - 2.0 * values[..., 1:-1] + values[..., :-2]) / spacing**2
    return jnp.mean(second_difference**2, axis=-1), jnp.var(values, axis=-1)


def pooled_roughness(
    key: jax.Array,
    inputs: jax.Array,
    *,
    activation_fn: Callable,
    width: int,
    num_functions: int,
    weight_var: float,
    bias_var: float | None = None,
    matmul_precision: str = precision.DEFAULT,
) -> tuple[float, float]:
    r"""Roughness :math:`\mathbb E\,\overline{(\Delta^2 f/h^2)^2}/\mathbb E\,\mathrm{Var}_x f`
    of independent initial functions, and its standard error.

    The functions of :func:`sample_initial_functions` on the uniform grid ``inputs`` (use
    float64: see there), the two halves from :func:`roughness_terms`, pooled by
    :func:`ratio_of_means`.

    Returns:
        ``(roughness, standard_error)``.

    Raises:
        ValueError: naming the bad argument, or ``inputs`` if it has fewer than 3 points.
    """
    inputs = jnp.asarray(inputs)
    if inputs.ndim != 1 or inputs.shape[0] < 3:
        raise ValueError(f"inputs must be a uniform 1-D grid of >= 3 points, got {inputs.shape}")
    values = sample_initial_functions(
        key,
        inputs,
        activation_fn=activation_fn,
        width=width,
        num_functions=num_functions,
        weight_var=weight_var,
        bias_var=bias_var,
        matmul_precision=matmul_precision,
    )
    spacing = float(inputs[1] - inputs[0])
    return ratio_of_means(*roughness_terms(values, spacing))


# ---------------------------------------------------------------------------- estimators


def mean_and_standard_error(samples) -> tuple[float, float]:
    """Sample mean and its standard error :math:`s/\\sqrt N` (float64 on the host)."""
    samples = np.asarray(samples, dtype=np.float64)
    return float(samples.mean()), float(samples.std(ddof=1) / math.sqrt(samples.size))


def second_moment_and_standard_error(samples) -> tuple[float, float]:
    """Mean of :math:`z^2` and its standard error (the estimator is a plain mean of :math:`z^2`)."""
    return mean_and_standard_error(np.asarray(samples, dtype=np.float64) ** 2)


def variance_and_standard_error(samples) -> tuple[float, float]:
    r"""Sample variance and its large-:math:`N` standard error :math:`\sqrt{(m_4 - s^4)/N}`.

    The delta method: :math:`s^2` is, to first order, the mean of :math:`(z - \mu)^2`, so its
    standard error is that of a mean of :math:`(z - \bar z)^2`.
    """
    samples = np.asarray(samples, dtype=np.float64)
    return mean_and_standard_error((samples - samples.mean()) ** 2)


def ratio_of_means(numerators, denominators) -> tuple[float, float]:
    r"""Pooled ratio :math:`\bar A/\bar B` and its delta-method standard error.

    :math:`\operatorname{se} = \operatorname{sd}(A - \hat r B)/(\sqrt N\,\bar B)`. A ratio of
    means, not a mean of ratios: it estimates :math:`\mathbb E A/\mathbb E B`, the quantity the
    closed forms predict, and is not dominated by a few nearly flat draws.
    """
    numerators = np.asarray(numerators, dtype=np.float64)
    denominators = np.asarray(denominators, dtype=np.float64)
    ratio = numerators.mean() / denominators.mean()
    residual = numerators - ratio * denominators
    standard_error = residual.std(ddof=1) / (math.sqrt(numerators.size) * denominators.mean())
    return float(ratio), float(standard_error)
