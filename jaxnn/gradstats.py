r"""Gradient statistics: norm, mini-batch variance, per-example gradients and noise scale.

For a training set split into :math:`N_b = N/B` consecutive mini-batches of
size :math:`B`, with :math:`J_b` the mean loss of batch :math:`b` and
:math:`J = \frac1{N_b}\sum_b J_b` the mean loss of the whole set,

.. math::
    \nabla J(\theta) = \frac1{N_b}\sum_{b=1}^{N_b} \nabla J_b(\theta),\qquad
    \texttt{grad\_norm\_sq} = \|\nabla J(\theta)\|^2,\qquad
    \texttt{batch\_grad\_variance} = V = \frac1{N_b}\sum_{b=1}^{N_b}
        \|\nabla J_b(\theta) - \nabla J(\theta)\|^2 ,

the norms running over all parameters. With equal batches the mean of the
batch gradients *is* the full gradient, and

.. math::
    \frac1{N_b}\sum_b \|\nabla J_b\|^2 = \|\nabla J\|^2 + V .

Gradient noise scale (McCandlish et al. 2018, "An empirical model of
large-batch training", eq. 2.8): with :math:`g_n = \nabla J_n` the gradient of
example :math:`n` alone, :math:`G = \nabla J = \frac1N\sum_n g_n` and
:math:`\Sigma` the covariance of the per-example gradients,

.. math::
    B_\text{simple} = \frac{\operatorname{tr}\Sigma}{\|G\|^2},\qquad
    \operatorname{tr}\Sigma = \frac1{N-1}\sum_{n=1}^N \|g_n - G\|^2 ,

which ``gradient_noise_scale`` computes exactly from ``per_example_gradients``
(N gradients of one example each, in one vmapped call). The batch estimate
needs only the :math:`N_b` batch gradients: a batch mean of :math:`B` examples
drawn without replacement from the :math:`N` has covariance
:math:`(1 - B/N)\,\Sigma/B` (the finite-population correction of sampling
theory; Cochran 1977, Thm. 2.2), so over random orderings of the data

.. math::
    \mathbb E[B\,V] = \Big(1 - \frac BN\Big)\operatorname{tr}\Sigma,\qquad
    \mathbb E[\texttt{noise\_scale}] = \Big(1 - \frac BN\Big) B_\text{simple},

with equality for :math:`B = 1` in every ordering (:math:`V` is then the
ddof-0 variance of the :math:`g_n`). ``noise_scale`` = :math:`BV/\|\nabla J\|^2`
is reported without the factor, as the noise that SGD with these batches sees;
divide it by :math:`1 - B/N` (0.8 for :math:`B = 20` of :math:`N = 100`) to
estimate :math:`B_\text{simple}` from batch gradients alone.

Why these two numbers (Smith et al. 2021, "On the origin of implicit
regularization in stochastic gradient descent"): for a small learning rate
:math:`\varepsilon` and :math:`m` mini-batches per epoch, the mean SGD iterate
after one epoch follows gradient flow on the modified loss

.. math::
    \tilde C(\theta) = C(\theta) + \frac{\varepsilon}{4}\|\nabla C(\theta)\|^2
        + \frac{\varepsilon}{4m}\sum_{k=1}^{m}\|\nabla C_k(\theta) - \nabla C(\theta)\|^2 ,

whose second term is the full-batch implicit gradient regularizer of Barrett &
Dherin 2021 and whose third term is exactly :math:`(\varepsilon/4)\,V`.

Every function takes ``loss_fn(params, x_batch, y_batch)``, the *mean* loss of a batch
(static), the parameters of one run (``jax.vmap`` for a leading axis of runs), the data
``x, y`` (``[N, ...]``) and a static ``matmul_precision`` (``jaxnn.precision``).
``jaxnn.width_sweep``'s ``statistics`` measure every member of a sweep with these
functions, each on its own training set.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

from jaxnn import precision


def _sum_of_squares(tree) -> jax.Array:
    """Sum of the squares of every entry of every leaf, the squared L2 norm of the tree."""
    return optax.tree_utils.tree_norm(tree, squared=True)


def split_batches(x: jax.Array, batch_size: int) -> jax.Array:
    """``x[N, ...]`` as ``[N_b, B, ...]``: the consecutive slices ``x[0:B], x[B:2B], ...``.

    Raises:
        ValueError: naming ``batch_size`` when it does not divide N.
    """
    n = x.shape[0]
    if batch_size < 1 or n % batch_size:
        raise ValueError(f"batch_size: {batch_size} does not divide the number of examples {n}")
    return x.reshape(n // batch_size, batch_size, *x.shape[1:])


@functools.partial(jax.jit, static_argnames=("loss_fn", "batch_size", "matmul_precision"))
def gradient_stats(
    loss_fn: Callable,
    params,
    x: jax.Array,
    y: jax.Array,
    batch_size: int,
    *,
    matmul_precision: str = precision.DEFAULT,
) -> dict[str, jax.Array]:
    """Full-gradient norm, mini-batch gradient variance and noise scale at ``params``.

    ``x, y`` are batched in the order given (shuffle first for random batches) into
    batches of ``batch_size`` (B), which must divide N.

    Returns:
        ``{"grad_norm_sq": ‖∇J‖², "batch_grad_variance": V, "noise_scale": B·V/‖∇J‖²}``,
        scalars (see the module docstring).

    Example:
        >>> loss_fn = lambda w, x, y: jnp.mean((x @ w - y) ** 2)
        >>> x, y = jnp.arange(8.0).reshape(4, 2), jnp.ones(4)
        >>> stats = gradient_stats(loss_fn, jnp.zeros(2), x, y, batch_size=2)
        >>> sorted(stats)
        ['batch_grad_variance', 'grad_norm_sq', 'noise_scale']
    """
    x_batches, y_batches = split_batches(x, batch_size), split_batches(y, batch_size)
    with precision.traced_at(matmul_precision):
        # One vmapped grad over the batch axis: one compiled program, no Python loop.
        grad_fn = jax.vmap(jax.grad(loss_fn), in_axes=(None, 0, 0))
        batch_grads = grad_fn(params, x_batches, y_batches)
        # Exact for equal batches, and it makes mean‖∇J_b‖² = ‖∇J‖² + V an identity in floating
        # point up to rounding of the sums, where a separate full-data grad would differ by its
        # own rounding.
        full_grad = jax.tree.map(lambda g: jnp.mean(g, axis=0), batch_grads)
        deviations = jax.tree.map(lambda g, mean: g - mean[None], batch_grads, full_grad)
        grad_norm_sq = _sum_of_squares(full_grad)
        batch_grad_variance = _sum_of_squares(deviations) / x_batches.shape[0]
        return {
            "grad_norm_sq": grad_norm_sq,
            "batch_grad_variance": batch_grad_variance,
            "noise_scale": batch_size * batch_grad_variance / grad_norm_sq,
        }


def _per_example_gradients(loss_fn, params, x, y):
    # x[:, None] makes each example a batch of one, so loss_fn sees the shapes it expects.
    return jax.vmap(jax.grad(loss_fn), in_axes=(None, 0, 0))(params, x[:, None], y[:, None])


@functools.partial(jax.jit, static_argnames=("loss_fn", "matmul_precision"))
def per_example_gradients(
    loss_fn: Callable,
    params,
    x: jax.Array,
    y: jax.Array,
    *,
    matmul_precision: str = precision.DEFAULT,
):
    """The gradient of the loss of each example alone, in one vmapped call.

    Returns:
        A pytree like ``params`` whose leaves have a leading axis N: entry n is
        :math:`g_n = \\nabla_\\theta` ``loss_fn(params, x[n:n+1], y[n:n+1])``. Memory is N
        times the parameters. For a mean loss their average is the full-batch gradient.

    Example:
        >>> loss_fn = lambda w, x, y: jnp.mean((x @ w - y) ** 2)
        >>> x, y = jnp.arange(6.0).reshape(3, 2), jnp.ones(3)
        >>> per_example_gradients(loss_fn, jnp.zeros(2), x, y).shape
        (3, 2)
    """
    with precision.traced_at(matmul_precision):
        return _per_example_gradients(loss_fn, params, x, y)


@functools.partial(jax.jit, static_argnames=("loss_fn", "matmul_precision"))
def gradient_noise_scale(
    loss_fn: Callable,
    params,
    x: jax.Array,
    y: jax.Array,
    *,
    matmul_precision: str = precision.DEFAULT,
) -> jax.Array:
    """The simple gradient noise scale of McCandlish et al. 2018, B_simple = tr Σ / ‖G‖².

    Computed exactly from the N >= 2 per-example gradients (see the module docstring):
    :math:`\\operatorname{tr}\\Sigma = \\frac1{N-1}\\sum_n\\|g_n - G\\|^2`, the batch size at
    which the gradient noise :math:`\\operatorname{tr}\\Sigma/B` equals the squared signal
    :math:`\\|G\\|^2`. The batch estimate ``gradient_stats(...)["noise_scale"]`` equals
    :math:`(1 - B/N)B_\\text{simple}` on average over orderings of the data, and exactly for
    ``batch_size=1``.
    """
    if x.shape[0] < 2:
        raise ValueError(f"x: need at least 2 examples for a covariance, got {x.shape[0]}")
    with precision.traced_at(matmul_precision):
        per_example = _per_example_gradients(loss_fn, params, x, y)
        # The mean of the g_n rather than a separate full-batch grad: equal for a mean loss, and
        # the deviations are then centred up to the rounding of one mean, so tr Σ is not
        # inflated by N times the squared rounding difference between two separately computed
        # gradients.
        full_grad = jax.tree.map(lambda g: jnp.mean(g, axis=0), per_example)
        deviations = jax.tree.map(lambda g, mean: g - mean[None], per_example, full_grad)
        covariance_trace = _sum_of_squares(deviations) / (x.shape[0] - 1)
        return covariance_trace / _sum_of_squares(full_grad)
