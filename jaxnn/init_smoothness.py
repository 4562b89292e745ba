r"""Smoothness of the initial function of a one-hidden-layer scalar net against :math:`\sigma^2`.

Exercise 3 (e). The net :math:`f(x) = \sum_{m=1}^M v_m\,\psi(w_m x + b_m)`, scalar input and
output, has :math:`v_m, w_m \sim \mathcal N(0, \sigma^2)` and :math:`b_m \sim \mathcal N(0,
\beta^2)` (:math:`\beta^2 = \sigma^2` unless given). Its Taylor coefficients at :math:`x = 0`,

.. math:: a_k = \frac{1}{k!}\sum_m v_m w_m^k\,\psi^{(k)}(b_m) = O(\sigma^{k+1}),

shrink faster with the order as :math:`\sigma \to 0`, so a smaller :math:`\sigma^2` makes a
smooth activation (tanh) nearly linear on a fixed input range: the small-:math:`\sigma` limits
are :math:`\sqrt{\mathbb E[a_3^2]/\mathbb E[a_1^2]} \to \sqrt{5/3}\,\sigma^2` and the
roughness :math:`\mathbb E\,\overline{f''^2}/\mathbb E\,\widehat{\operatorname{Var}}_x f
\to 12(5\sigma^4L^2 + 3\sigma^2\beta^2)/L^2` on :math:`[-L, L]`. ReLU is positively
homogeneous, so a common :math:`\sigma` changes only the scale (:math:`f_{\sigma} = \sigma^2
f_1`); the shape depends on :math:`\sigma_w/\sigma_b` through the kinks :math:`-b_m/w_m`, a
fraction :math:`\tfrac2\pi\arctan(L\sigma_w/\sigma_b)` of which lies in :math:`[-L, L]`.

Each closed form sits beside the sampler that checks it. Samplers take a typed key first and
draw ``std * jax.random.normal(...)``, so one key at two variances gives the same standard
normals rescaled (common random numbers across a sweep of :math:`\sigma^2`); the function
sampler's matmul is pinned to ``matmul_precision`` (``jaxnn.precision``). ``bias_var``
(:math:`\beta^2`) defaults to ``weight_var`` everywhere, and every function raises
``ValueError`` naming a bad argument. The moments of a neuron, (a)–(d), are
``jaxnn.init_moments``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn import precision

# one message shape for a bad variance or count across both initialization modules
from jaxnn.init_moments import _check_count, _check_variance

__all__ = [
    "apply_scalar_net",
    "pooled_roughness",
    "pooled_taylor_ratio",
    "relu_kink_fraction",
    "roughness_terms",
    "sample_initial_functions",
    "sample_kink_fractions",
    "sample_scalar_net",
    "sample_taylor_coefficients",
    "tanh_roughness_small_var",
    "tanh_taylor_ratio_small_var",
    "taylor_coefficients",
]


def _check_variances(weight_var, bias_var) -> tuple[float, float]:
    """``(σ², β²)`` checked, β² defaulting to σ²."""
    weight_var = _check_variance(weight_var, "weight_var")
    return weight_var, weight_var if bias_var is None else _check_variance(bias_var, "bias_var")


def _check_order(order: int) -> int:
    if isinstance(order, bool) or not isinstance(order, int) or order < 0:
        raise ValueError(f"order must be an integer >= 0, got {order!r}")
    return order


# ---------------------------------------------------------------------------- the scalar net


def _draw_scalar_net(key, weight_std, bias_std, *, width, dtype):
    key_input, key_bias, key_output = jax.random.split(key, 3)
    return {
        "input_weights": weight_std * jax.random.normal(key_input, (width,), dtype),
        "biases": bias_std * jax.random.normal(key_bias, (width,), dtype),
        "output_weights": weight_std * jax.random.normal(key_output, (width,), dtype),
    }


def _stds(weight_var, bias_var, dtype) -> tuple[np.ndarray, np.ndarray]:
    weight_var, bias_var = _check_variances(weight_var, bias_var)
    return np.sqrt(np.asarray(weight_var, dtype)), np.sqrt(np.asarray(bias_var, dtype))


def sample_scalar_net(
    key: jax.Array,
    *,
    width: int,
    weight_var: float,
    bias_var: float | None = None,
    dtype=None,
) -> dict[str, jax.Array]:
    r"""``{"input_weights": w[M], "biases": b[M], "output_weights": v[M]}`` of
    :math:`f(x) = \sum_{m=1}^M v_m\,\psi(w_m x + b_m)` at initialization.

    ``dtype`` of the draws defaults to float32 (float64 needs ``jax.enable_x64``).
    """
    dtype = jnp.float32 if dtype is None else dtype
    return _draw_scalar_net(
        key, *_stds(weight_var, bias_var, dtype), width=_check_count(width, "width"), dtype=dtype
    )


def apply_scalar_net(
    params: dict[str, jax.Array], inputs: jax.Array, activation_fn: Callable
) -> jax.Array:
    r"""``f[point]``: :math:`f(x) = \sum_m v_m\,\psi(w_m x + b_m)` at ``inputs[point]``."""
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
    r"""``f[function, point]``: independent :func:`sample_scalar_net` nets on ``inputs[point]``.

    The draws use the dtype of ``inputs``. Use float64 (inside ``jax.enable_x64(True)``) when
    second differences are taken: for small :math:`\sigma^2` the function is nearly linear and
    :math:`\Delta^2 f/f \sim \sigma^2 h^2` falls below float32 resolution. For ReLU with
    ``bias_var=None``, ``f`` at :math:`4\sigma^2` is exactly :math:`4f` at :math:`\sigma^2`
    (same key: the same normals; positive homogeneity; power-of-two scaling is exact).
    """
    weight_var, bias_var = _check_variances(weight_var, bias_var)
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
        matmul_precision=precision.check_precision(matmul_precision),
    )


# ---------------------------------------------------------------------------- roughness


def tanh_roughness_small_var(
    weight_var: float, bias_var: float | None = None, input_range: float = 1.0
) -> float:
    r"""Small-:math:`\sigma` limit of the tanh roughness :math:`R = \mathbb E\,\overline{f''^2}
    / \mathbb E\,\widehat{\operatorname{Var}}_x f` on :math:`x \in [-L, L]`.

    With :math:`\tanh(u) \approx u` and :math:`\tanh''(u) \approx -2u`,
    :math:`f \approx \sum_m v_m(w_m x + b_m)` and :math:`f'' \approx -2\sum_m v_m w_m^2(w_m x +
    b_m)`. With :math:`\mathbb E[w^4] = 3\sigma^4`, :math:`\mathbb E[w^6] = 15\sigma^6` and
    :math:`\overline{x^2} = L^2/3`:
    :math:`\mathbb E\,\overline{f''^2} = 4M\sigma^2(5\sigma^6L^2 + 3\sigma^4\beta^2)` and
    :math:`\mathbb E\,\widehat{\operatorname{Var}}_x f = M\sigma^4 L^2/3`. Hence
    :math:`R \approx 12(5\sigma^4 L^2 + 3\sigma^2\beta^2)/L^2`, i.e. :math:`96\sigma^4` for
    :math:`\beta = \sigma`, :math:`L = 1`: roughness grows like :math:`(\sigma^2)^2`.
    """
    weight_var, bias_var = _check_variances(weight_var, bias_var)
    input_range = _check_variance(input_range, "input_range")
    range_sq = input_range**2
    return 12.0 * (5.0 * weight_var**2 * range_sq + 3.0 * weight_var * bias_var) / range_sq


@jax.jit
def roughness_terms(values: jax.Array, spacing: float) -> tuple[jax.Array, jax.Array]:
    r"""``(curvature_sq[...], spread_sq[...])`` of ``values[..., point]`` on a uniform grid of
    step ``spacing`` (:math:`h`): the two halves of the roughness.

    :math:`\overline{(\Delta^2 f/h^2)^2}` estimates the mean of :math:`f''^2`, and
    :math:`\widehat{\operatorname{Var}}_x f` is the spread over the grid. Their ratio has units
    of length\ :sup:`-4` and is invariant under :math:`f \to \lambda f`: shape, not scale. For
    ReLU, :math:`f''` is a sum of Dirac deltas, so the curvature half depends on the grid
    spacing (about :math:`1/h` per kink): compare ReLU values at one grid only.
    """
    second_difference = (values[..., 2:] - 2.0 * values[..., 1:-1] + values[..., :-2]) / spacing**2
    return jnp.mean(second_difference**2, axis=-1), jnp.var(values, axis=-1)


def pooled_roughness(key: jax.Array, inputs: jax.Array, **kwargs) -> tuple[float, float]:
    r"""``(roughness, standard_error)``: :math:`\mathbb E\,\overline{(\Delta^2 f/h^2)^2}/\mathbb
    E\,\mathrm{Var}_x f` of independent initial functions.

    :func:`sample_initial_functions` (``key``, ``inputs`` and its keyword arguments) on the
    uniform grid ``inputs`` (at least 3 points; use float64), :func:`roughness_terms` pooled
    as a ratio of means.
    """
    inputs = jnp.asarray(inputs)
    if inputs.ndim != 1 or inputs.shape[0] < 3:
        raise ValueError(f"inputs must be a uniform 1-D grid of >= 3 points, got {inputs.shape}")
    values = sample_initial_functions(key, inputs, **kwargs)
    spacing = float(inputs[1] - inputs[0])
    return _ratio_of_means(*roughness_terms(values, spacing))


# ------------------------------------------------------------------------ Taylor coefficients


def tanh_taylor_ratio_small_var(weight_var: float) -> float:
    r"""Small-:math:`\sigma` limit :math:`\sqrt{5/3}\,\sigma^2` of
    :math:`\sqrt{\mathbb E[a_3^2]/\mathbb E[a_1^2]}` for tanh.

    :math:`\tanh'(0) = 1`, :math:`\tanh'''(0) = -2`, so :math:`a_1 \approx \sum v_m w_m` and
    :math:`a_3 \approx -\tfrac13\sum v_m w_m^3`; :math:`\mathbb E[a_1^2] = M\sigma^4`,
    :math:`\mathbb E[a_3^2] = \tfrac19 M\sigma^2\cdot 15\sigma^6`: the cubic term, relative to
    the linear one, grows with :math:`\sigma^2` (valid while the biases are small too).
    """
    return math.sqrt(5.0 / 3.0) * _check_variance(weight_var, "weight_var")


def taylor_coefficients(
    params: dict[str, jax.Array], activation_fn: Callable, order: int
) -> jax.Array:
    r"""``a[k]``, :math:`a_k = \frac1{k!}\sum_m v_m w_m^k \psi^{(k)}(b_m)` at :math:`x = 0`, for
    :math:`k = 0, \dots, \text{order}`.

    :math:`\frac{d^k}{dx^k}\psi(w x + b) = w^k\psi^{(k)}(w x + b)`. With :math:`v, w, b` all of
    scale :math:`\sigma`, :math:`a_k = O(\sigma^{k+1})` whenever :math:`\psi^{(k)}(0) \ne 0`;
    where :math:`\psi^{(k)}(0) = 0` (tanh at even :math:`k`), :math:`\psi^{(k)}(b) \approx
    \psi^{(k+1)}(0)\,b` adds one more power of :math:`\sigma`. The derivatives of :math:`\psi`
    come from ``jax.grad``.
    """
    weights, biases, outputs = params["input_weights"], params["biases"], params["output_weights"]
    derivative_fn = activation_fn
    coefficients = []
    for k in range(_check_order(order) + 1):
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
    r"""``a[function, k]`` (:func:`taylor_coefficients`) of independent initial nets, the nets
    of :func:`sample_initial_functions` with the same key and dtype."""
    dtype = jnp.float32 if dtype is None else dtype
    return _taylor_samples(
        key,
        *_stds(weight_var, bias_var, dtype),
        activation_fn=activation_fn,
        width=_check_count(width, "width"),
        num_functions=_check_count(num_functions, "num_functions"),
        order=_check_order(order),
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


def pooled_taylor_ratio(key: jax.Array, **kwargs) -> tuple[float, float]:
    r"""``(ratio, standard_error)`` of the cubic against the linear Taylor term,
    :math:`\sqrt{\mathbb E[a_3^2]/\mathbb E[a_1^2]}`, pooled over independent initial nets.

    The ratio of means :math:`\overline{a_3^2}/\overline{a_1^2}` of
    :func:`sample_taylor_coefficients` (``key`` and its keyword arguments, ``order`` 3) with
    its delta-method standard error, then the square root (delta method again). Compare
    with :func:`tanh_taylor_ratio_small_var`.
    """
    coefficients = np.asarray(sample_taylor_coefficients(key, order=3, **kwargs))
    ratio_sq, ratio_sq_se = _ratio_of_means(coefficients[:, 3] ** 2, coefficients[:, 1] ** 2)
    # delta method for the square root
    return math.sqrt(ratio_sq), ratio_sq_se / (2 * math.sqrt(ratio_sq))


# ---------------------------------------------------------------------------- ReLU kinks


def relu_kink_fraction(weight_var: float, bias_var: float, input_range: float = 1.0) -> float:
    r"""Expected fraction of ReLU units whose kink :math:`x = -b/w` lies in :math:`[-L, L]`.

    :math:`b/w` is :math:`(\sigma_b/\sigma_w)` times a standard Cauchy variable, so
    :math:`\Pr[|b/w| < L] = \tfrac2\pi\arctan(L\sigma_w/\sigma_b)`. It depends on the ratio
    :math:`\sigma_w/\sigma_b` only: that ratio, not :math:`\sigma` itself, shapes a ReLU net.
    """
    weight_var = _check_variance(weight_var, "weight_var")
    bias_var = _check_variance(bias_var, "bias_var")
    input_range = _check_variance(input_range, "input_range")
    return 2.0 / math.pi * math.atan(input_range * math.sqrt(weight_var / bias_var))


def sample_kink_fractions(
    key: jax.Array,
    *,
    width: int,
    num_functions: int,
    weight_var: float,
    bias_var: float,
    input_range: float = 1.0,
) -> jax.Array:
    r"""``kink_fraction[function]``: Monte Carlo counterpart of :func:`relu_kink_fraction`, on
    the nets of :func:`sample_initial_functions` with the same key and float32 inputs."""
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


# ---------------------------------------------------------------------------- pooling


# Private: the one estimator both pooled measurements share; jaxnn.stats has no ratio of means.
def _ratio_of_means(numerators, denominators) -> tuple[float, float]:
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
