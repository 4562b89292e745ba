r"""Gradient statistics over the mini-batches of an epoch: norm, variance and noise scale.

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
large-batch training", eq. 2.8): with :math:`G = \nabla J` and :math:`\Sigma`
the covariance of the *per-example* gradients,

.. math::
    B_\text{simple} = \frac{\operatorname{tr}\Sigma}{\|G\|^2},\qquad
    \operatorname{tr}\Sigma \approx B\,V ,

because a batch mean of :math:`B` examples has covariance :math:`\Sigma/B`, so
:math:`\mathbb E\|\nabla J_b - G\|^2 = \operatorname{tr}\Sigma/B`. (The batches
partition a finite set, which would add a factor :math:`(N-1)/(N-B)`; we report
the simple estimator ``noise_scale`` = :math:`B V/\|\nabla J\|^2`.)

Why these two numbers (Smith et al. 2021, "On the origin of implicit
regularization in stochastic gradient descent"): for a small learning rate
:math:`\varepsilon` and :math:`m` mini-batches per epoch, the mean SGD iterate
after one epoch follows gradient flow on the modified loss

.. math::
    \tilde C(\theta) = C(\theta) + \frac{\varepsilon}{4}\|\nabla C(\theta)\|^2
        + \frac{\varepsilon}{4m}\sum_{k=1}^{m}\|\nabla C_k(\theta) - \nabla C(\theta)\|^2 ,

whose second term is the full-batch implicit gradient regularizer of Barrett &
Dherin 2021 and whose third term is exactly :math:`(\varepsilon/4)\,V`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp


def _sum_of_squares(tree) -> jax.Array:
    return sum(jnp.sum(jnp.square(leaf)) for leaf in jax.tree.leaves(tree))


def split_batches(x: jax.Array, batch_size: int) -> jax.Array:
    """``x[N, ...]`` as ``[N_b, B, ...]``: the consecutive slices ``x[0:B], x[B:2B], ...``.

    Raises:
        ValueError: naming ``batch_size`` when it does not divide N.
    """
    n = x.shape[0]
    if batch_size < 1 or n % batch_size:
        raise ValueError(f"batch_size: {batch_size} does not divide the number of examples {n}")
    return x.reshape(n // batch_size, batch_size, *x.shape[1:])


@functools.partial(jax.jit, static_argnames=("loss_fn", "batch_size"))
def gradient_stats(
    loss_fn: Callable, params, x: jax.Array, y: jax.Array, batch_size: int
) -> dict[str, jax.Array]:
    """Full-gradient norm, mini-batch gradient variance and noise scale at ``params``.

    Args:
        loss_fn: ``loss_fn(params, x_batch, y_batch)``, the *mean* loss of a batch.
        params: a pytree of parameters (vmap this function for a leading axis).
        x, y: the data, ``[N, ...]``, batched in the order given (shuffle first
            if you want random batches).
        batch_size: B; must divide N.

    Returns:
        ``{"grad_norm_sq": ‖∇J‖², "batch_grad_variance": V, "noise_scale": B·V/‖∇J‖²}``,
        scalars (see the module docstring).

    Raises:
        ValueError: naming ``batch_size`` when it does not divide N.

    Example:
        >>> loss_fn = lambda w, x, y: jnp.mean((x @ w - y) ** 2)
        >>> x, y = jnp.arange(8.0).reshape(4, 2), jnp.ones(4)
        >>> stats = gradient_stats(loss_fn, jnp.zeros(2), x, y, batch_size=2)
        >>> sorted(stats)
        ['batch_grad_variance', 'grad_norm_sq', 'noise_scale']
    """
    x_batches, y_batches = split_batches(x, batch_size), split_batches(y, batch_size)
    # One vmapped grad over the batch axis: one compiled program, no Python loop.
    batch_grads = jax.vmap(jax.grad(loss_fn), in_axes=(None, 0, 0))(params, x_batches, y_batches)
    # Exact for equal batches, and it makes mean‖∇J_b‖² = ‖∇J‖² + V an identity in floating point
    # up to rounding of the sums, where a separate full-data grad would differ by its own rounding.
    full_grad = jax.tree.map(lambda g: jnp.mean(g, axis=0), batch_grads)
    deviations = jax.tree.map(lambda g, mean: g - mean[None], batch_grads, full_grad)
    grad_norm_sq = _sum_of_squares(full_grad)
    batch_grad_variance = _sum_of_squares(deviations) / x_batches.shape[0]
    return {
        "grad_norm_sq": grad_norm_sq,
        "batch_grad_variance": batch_grad_variance,
        "noise_scale": batch_size * batch_grad_variance / grad_norm_sq,
    }
