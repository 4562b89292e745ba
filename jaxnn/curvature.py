r"""Curvature of the training loss: top Hessian eigenvalue, Hessian trace, spectral density.

All statistics use only Hessian-vector products of the mean loss
:math:`J(\theta)` on the batch given, never a dense Hessian. With
:math:`\theta\in\mathbb R^p` flattened into one vector (``ravel_pytree``),

.. math::
    Hv = \frac{\mathrm d}{\mathrm d t}\nabla J(\theta + t v)\Big|_{t=0},

forward-mode over reverse-mode (``jax.jvp`` of ``jax.grad``, linearized once
with ``jax.linearize`` so that repeated products reuse the primal pass); each
costs a small multiple of one gradient (Pearlmutter 1994).

**Lanczos** (Lanczos 1950; Golub & Van Loan, *Matrix Computations*, 4th ed. 2013, §10.1).
From a unit start vector :math:`q_1`, ``k`` steps build an orthonormal basis
:math:`Q_k` of the Krylov space :math:`\operatorname{span}\{q_1, Hq_1, \dots, H^{k-1}q_1\}`
and the tridiagonal :math:`T_k = Q_k^\top H Q_k` with diagonal :math:`\alpha_j = q_j^\top H q_j`
and off-diagonal :math:`\beta_j = \|w_j\|`, where :math:`w_j` is :math:`Hq_j` orthogonalized
against :math:`q_1,\dots,q_j` and :math:`q_{j+1} = w_j/\beta_j`. Its eigenvalues, the Ritz
values :math:`\theta_1\le\dots\le\theta_k`, interlace the spectrum of :math:`H`. The
largest converges to :math:`\lambda_\max(H)` in :math:`O(1/\sqrt{\gamma})` steps for a
relative gap :math:`\gamma = (\lambda_1-\lambda_2)/(\lambda_2-\lambda_p)`, where power
iteration needs :math:`O(1/\gamma)` (Kaniel-Paige-Saad bounds), and to the largest
*algebraic* eigenvalue, where power iteration finds the largest :math:`|\lambda|`.
Each :math:`w_j` gets the three-term recurrence
:math:`Hq_j - \alpha_j q_j - \beta_{j-1}q_{j-1}` and then one more Gram-Schmidt pass
against every previous vector (full reorthogonalization; "twice is enough", Parlett,
*The Symmetric Eigenvalue Problem*, 1998): the Krylov depth is small (20-100), and
without it the basis loses orthogonality and ghost copies of converged Ritz values appear.

*Breakdown.* If the Krylov space is invariant after :math:`j<k` steps (for example a
Hessian with few distinct eigenvalues, or :math:`H=0`), :math:`w_j` is rounding noise
inside :math:`\operatorname{span}Q_j`, and normalizing it would corrupt the basis and
put Ritz values outside the spectrum. Then :math:`T_j` already holds the exact eigenvalues
that :math:`q_1` sees, so we stop: :math:`\beta_j` is set to 0 and the remaining steps
run on the zero vector (a mask, not a branch, so the loop jits and vmaps). Their
diagonal entries are filled with :math:`\alpha_1`, a Rayleigh quotient of
:math:`H`, so the spurious Ritz values sit inside the spectrum with zero quadrature weight.
The test :math:`\beta_j \le 64\,\epsilon\max_{i\le j}(|\alpha_i|, \beta_i)` can only
decouple a genuine :math:`\beta_j` that small, which moves each Ritz value by at most
:math:`\beta_j`.

**Top eigenvalue.** :math:`\lambda_\max(H) \approx \theta_k`. It is the sharpness of
gradient descent: on a quadratic, steps of rate :math:`\mu` are stable only while
:math:`\mu\lambda_\max < 2`, and full-batch gradient descent on neural networks drives
:math:`\lambda_\max` up to :math:`\approx 2/\mu`, where it hovers (the edge of stability;
Cohen, Kaur, Li, Kolter, Talwalkar 2021).

**Trace** (Hutchinson 1989). For probes :math:`v` with independent Rademacher
(:math:`\pm1`) entries, :math:`\mathbb E[vv^\top] = I`, so

.. math::
    \operatorname{tr}H = \mathbb E[v^\top H v] \approx \frac1m\sum_{s=1}^m v_s^\top H v_s,
    \qquad \operatorname{Var}[v^\top H v] = 2\sum_{i\ne j} H_{ij}^2 ,

the smallest variance of any probe with i.i.d. zero-mean, unit-variance entries
(Hutchinson 1989; Avron & Toledo 2011 compare the alternatives). The
standard error is the sample standard deviation of the :math:`m` quadratic forms over
:math:`\sqrt m`.

**Spectral density** by stochastic Lanczos quadrature (Golub & Meurant 2010; Lin, Saad,
Yang 2016; Ghorbani, Krishnan, Xiao 2019; PyHessian, Yao, Gholami, Keutzer, Mahoney
2020). The density :math:`\phi(t) = \frac1p\sum_{i=1}^p\delta(t-\lambda_i)` satisfies
:math:`\int f\,\mathrm d\phi = \frac1p\operatorname{tr}f(H) = \mathbb E[v^\top f(H)v]/p`,
and with :math:`v^\top v = p` for Rademacher probes, :math:`k` Lanczos steps from
:math:`q_1 = v/\|v\|` give the Gauss quadrature

.. math::
    \frac{v^\top f(H) v}{v^\top v} \approx \sum_{i=1}^k \tau_i f(\theta_i),\qquad
    \tau_i = (e_1^\top u_i)^2 ,

with :math:`u_i` the unit eigenvectors of :math:`T_k`; it is exact for polynomials of
degree up to :math:`2k-1`. Averaging over :math:`n_v` probes and replacing each
:math:`\delta` by a Gaussian of width :math:`\sigma`,

.. math::
    \hat\phi(t) = \frac1{n_v}\sum_{l=1}^{n_v}\sum_{i=1}^k \tau_i^{(l)}
        \frac{1}{\sqrt{2\pi}\,\sigma}\exp\!\Big(-\frac{(t-\theta_i^{(l)})^2}{2\sigma^2}\Big),

which integrates to 1 because the weights :math:`\tau_i` of each probe sum to 1.

Every public statistic takes ``loss_fn(params, x, y)``, the mean loss of the batch
``x, y`` (``[N, ...]``), the parameters of one run and a ``jax.random.key`` for its
Rademacher probes; it is jit-compiled with ``loss_fn``, its counts and ``matmul_precision``
static, its matmuls pinned to that precision (``jaxnn.precision``). ``jax.vmap`` over a
leading axis of ``params`` (and data, and keys) measures every run of a sweep in one
compiled call; with that axis split over a mesh, as the sweeps place their members, each
device computes its own runs and nothing crosses devices, since runs are independent.
``jaxnn.width_sweep``'s ``statistics`` measure a sweep's members this way
(``jaxnn._sweep_measure``).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping

import jax
import jax.numpy as jnp
import jax.scipy.linalg
import numpy as np
from jax.flatten_util import ravel_pytree

from jaxnn import gradstats, precision

TOP_EIGENVALUE_ITERATIONS = 30
TRACE_SAMPLES = 100
DENSITY_PROBES = 4
DENSITY_ITERATIONS = 50
DENSITY_POINTS = 401
DENSITY_BANDWIDTH = 0.01
# Breakdown (module docstring): after two orthogonalization passes, a residual that is only
# rounding noise inside span(Q) is O(eps^2) of the operator's scale, far below 64 eps.
_BREAKDOWN_RELATIVE = 64.0


def _check_positive(value: int, name: str) -> int:
    if int(value) != value or value < 1:
        raise ValueError(f"{name}: must be an integer >= 1, got {value!r}")
    return int(value)


def hessian_vector_product_fn(loss_fn: Callable, params, x: jax.Array, y: jax.Array):
    """The Hessian of ``loss_fn(·, x, y)`` at ``params`` as a linear map on flat vectors:
    ``(flat_params, hvp_fn)`` with ``flat_params = ravel_pytree(params)[0]`` (p entries) and
    ``hvp_fn(v)`` = :math:`Hv` for ``v`` of the same shape and dtype."""
    flat_params, unravel = ravel_pytree(params)
    grad_fn = jax.grad(lambda flat: loss_fn(unravel(flat), x, y))
    # linearize = jvp with the primal (forward and backward pass) computed once, so each of
    # the tens of products in a Lanczos run or a trace estimate pays only the tangent pass.
    _, hvp_fn = jax.linearize(grad_fn, flat_params)
    return flat_params, hvp_fn


def lanczos_tridiagonal(
    matvec_fn: Callable, start_vector: jax.Array, iterations: int
) -> tuple[jax.Array, jax.Array]:
    """``iterations`` Lanczos steps with full reorthogonalization (see the module docstring).

    Traceable: a ``lax.fori_loop`` with masks for breakdown, no data-dependent control flow.
    ``matvec_fn`` is ``v -> Av`` for a symmetric ``A``; ``start_vector[p]`` is nonzero;
    ``iterations`` k is static (more than p only repeats the exact spectrum).

    Returns:
        ``(diagonal[k], off_diagonal[k-1])`` of :math:`T_k = Q_k^\\top A Q_k`. After a
        breakdown at step j, ``off_diagonal[j:]`` is zero and ``diagonal[j+1:]`` equals
        ``diagonal[0]`` (Ritz values inside the spectrum that carry no quadrature weight).
    """
    iterations = _check_positive(iterations, "iterations")
    dtype = start_vector.dtype
    first = start_vector / jnp.linalg.norm(start_vector)
    eps = jnp.finfo(dtype).eps

    def step(j, carry):
        basis, diagonal, off_diagonal, vector, previous, alive, scale = carry
        basis = basis.at[j].set(vector)
        w = matvec_fn(vector)
        alpha = jnp.vdot(vector, w)
        # The three-term recurrence, then one pass against every previous vector: that second
        # Gram-Schmidt pass removes what rounding left inside span(Q) and keeps Q orthonormal
        # ("twice is enough"), for 2kp flops a step where the product costs far more.
        w = w - alpha * vector - jnp.where(j > 0, off_diagonal[j - 1], 0.0) * previous
        w = w - basis.T @ (basis @ w)  # basis: orthonormal rows, or zero rows
        beta = jnp.linalg.norm(w)
        scale = jnp.maximum(scale, jnp.maximum(jnp.abs(alpha), beta))
        alive_next = alive & (beta > _BREAKDOWN_RELATIVE * eps * scale)
        # Dead steps multiply the zero vector: a wasted product, but no branch on traced data
        # (a lax.cond would be a host round trip per step on GPUs).
        next_vector = jnp.where(alive_next, w / jnp.where(alive_next, beta, 1.0), 0.0)
        diagonal = diagonal.at[j].set(jnp.where(alive, alpha, diagonal[0]))
        off_diagonal = off_diagonal.at[j].set(jnp.where(alive_next, beta, 0.0))
        return basis, diagonal, off_diagonal, next_vector, vector, alive_next, scale

    carry = (
        jnp.zeros((iterations, first.shape[0]), dtype),
        jnp.zeros((iterations,), dtype),
        jnp.zeros((iterations,), dtype),
        first,
        jnp.zeros_like(first),
        jnp.array(True),
        jnp.zeros((), dtype),
    )
    _, diagonal, off_diagonal, *_ = jax.lax.fori_loop(0, iterations, step, carry)
    # off_diagonal[k-1] couples to the (k+1)-th vector, which T_k does not contain.
    return diagonal, off_diagonal[:-1]


def lanczos_quadrature(
    matvec_fn: Callable, start_vector: jax.Array, iterations: int
) -> tuple[jax.Array, jax.Array]:
    """Ritz values and weights of ``iterations`` Lanczos steps from ``start_vector``: the
    eigenvalues :math:`\\theta_i` of :math:`T_k`, ascending, and
    :math:`\\tau_i = (e_1^\\top u_i)^2`, which sum to 1 (Gauss quadrature).

    For a symmetric ``A`` and any polynomial ``f`` of degree below ``2 * iterations``,
    ``sum(weights * f(ritz_values)) == v @ f(A) @ v / (v @ v)`` with ``v = start_vector``.

    Example:
        >>> a = jnp.diag(jnp.arange(1.0, 6.0))
        >>> nodes, weights = lanczos_quadrature(lambda v: a @ v, jnp.ones(5), 5)
        >>> [round(float(t), 4) for t in nodes], round(float(weights.sum()), 4)
        ([1.0, 2.0, 3.0, 4.0, 5.0], 1.0)
    """
    diagonal, off_diagonal = lanczos_tridiagonal(matvec_fn, start_vector, iterations)
    tridiagonal = jnp.diag(diagonal) + jnp.diag(off_diagonal, 1) + jnp.diag(off_diagonal, -1)
    ritz_values, vectors = jnp.linalg.eigh(tridiagonal)
    return ritz_values, jnp.square(vectors[0])


def _probe(key: jax.Array, like: jax.Array, shape=()) -> jax.Array:
    """Rademacher vectors: ±1 entries, so every probe has ``v @ v == p`` exactly."""
    return jax.random.rademacher(key, (*shape, *like.shape), like.dtype)


def _top_eigenvalue(hvp_fn, flat_params, key, iterations):
    diagonal, off_diagonal = lanczos_tridiagonal(hvp_fn, _probe(key, flat_params), iterations)
    # The largest eigenvalue of T_k by bisection in plain JAX, not LAPACK's eigh: jaxlib runs
    # a batched CPU eigh on XLA's intra-op thread pool and waits for it there, so a sweep
    # sharded over one CPU device per core (whose programs hold every pool thread) deadlocks
    # (jaxlib 0.10.2: 16 or more vmapped runs on 2 devices). The spectral density needs
    # eigenvectors and keeps eigh: run it on one device, or in batches of a few runs.
    last = diagonal.shape[0] - 1
    return jax.scipy.linalg.eigh_tridiagonal(
        diagonal, off_diagonal, eigvals_only=True, select="i", select_range=(last, last)
    )[0]


def _trace(hvp_fn, flat_params, key, num_samples):
    if num_samples < 2:
        raise ValueError(f"num_samples: need at least 2 for a standard error, got {num_samples}")
    probes = _probe(key, flat_params, (num_samples,))
    # All probes in one vmapped product: one batched program instead of num_samples
    # sequential ones; memory grows with num_samples times one product's activations.
    quadratic_forms = jax.vmap(lambda v: jnp.vdot(v, hvp_fn(v)))(probes)
    standard_error = jnp.std(quadratic_forms, ddof=1) / jnp.sqrt(num_samples)
    return jnp.mean(quadratic_forms), standard_error


def _jit_statistic(*static: str) -> Callable:
    """``jax.jit`` with ``loss_fn``, ``matmul_precision`` and ``static`` as static arguments."""
    return functools.partial(jax.jit, static_argnames=("loss_fn", "matmul_precision", *static))


@_jit_statistic("iterations")
def hessian_top_eigenvalue(
    loss_fn: Callable,
    params,
    x: jax.Array,
    y: jax.Array,
    *,
    key: jax.Array,
    iterations: int = TOP_EIGENVALUE_ITERATIONS,
    matmul_precision: str = precision.DEFAULT,
) -> jax.Array:
    """The largest eigenvalue :math:`\\lambda_\\max` of the Hessian of the mean loss (Lanczos).

    ``iterations`` Lanczos steps cost as many Hessian-vector products. Returns the largest
    Ritz value, a lower bound on :math:`\\lambda_\\max` that is exact once converged; compare
    it with ``2 / learning_rate`` (edge of stability).

    Example:
        >>> loss_fn = lambda w, x, y: jnp.mean((x @ w - y) ** 2)
        >>> x, y = jnp.array([[1.0, 0.0], [0.0, 2.0]]), jnp.zeros(2)
        >>> float(hessian_top_eigenvalue(loss_fn, jnp.ones(2), x, y, key=jax.random.key(0),
        ...                              iterations=2))  # H = X^T X = diag(1, 4)
        4.0
    """
    with precision.traced_at(matmul_precision):
        flat_params, hvp_fn = hessian_vector_product_fn(loss_fn, params, x, y)
        return _top_eigenvalue(hvp_fn, flat_params, key, iterations)


@_jit_statistic("num_samples")
def hessian_trace(
    loss_fn: Callable,
    params,
    x: jax.Array,
    y: jax.Array,
    *,
    key: jax.Array,
    num_samples: int = TRACE_SAMPLES,
    matmul_precision: str = precision.DEFAULT,
) -> tuple[jax.Array, jax.Array]:
    """Hutchinson's estimate of the Hessian trace with ``num_samples`` >= 2 Rademacher probes.

    Returns:
        ``(estimate, standard_error)``: the mean of :math:`v_s^\\top H v_s` and its sample
        standard deviation (ddof 1) over :math:`\\sqrt m`; the error falls as :math:`1/\\sqrt m`.
    """
    _check_positive(num_samples, "num_samples")
    with precision.traced_at(matmul_precision):
        flat_params, hvp_fn = hessian_vector_product_fn(loss_fn, params, x, y)
        return _trace(hvp_fn, flat_params, key, num_samples)


@_jit_statistic("num_probes", "iterations", "num_points", "bandwidth")
def hessian_spectral_density(
    loss_fn: Callable,
    params,
    x: jax.Array,
    y: jax.Array,
    *,
    key: jax.Array,
    num_probes: int = DENSITY_PROBES,
    iterations: int = DENSITY_ITERATIONS,
    num_points: int = DENSITY_POINTS,
    bandwidth: float = DENSITY_BANDWIDTH,
    matmul_precision: str = precision.DEFAULT,
) -> dict[str, jax.Array]:
    """Hessian eigenvalue density by stochastic Lanczos quadrature (Ghorbani et al. 2019).

    ``num_probes`` (:math:`n_v`) Lanczos runs of ``iterations`` (k) steps each, so
    ``num_probes * iterations`` Hessian-vector products; ``bandwidth`` is the Gaussian
    kernel's width :math:`\\sigma` as a fraction of the spread of the Ritz values.

    Returns:
        ``{"grid": [num_points], "density": [num_points], "ritz_values": [num_probes, k],
        "ritz_weights": [num_probes, k], "kernel_width": σ}``: :math:`\\hat\\phi` on an even
        grid spanning the Ritz values plus 6σ each side (it integrates to 1 on the grid), and
        the quadrature it is made of, for redrawing with another kernel.
    """
    _check_positive(num_probes, "num_probes")
    _check_positive(iterations, "iterations")
    if _check_positive(num_points, "num_points") < 2:
        raise ValueError(f"num_points: need at least 2, got {num_points}")
    if not bandwidth > 0:
        raise ValueError(f"bandwidth: must be > 0, got {bandwidth!r}")
    with precision.traced_at(matmul_precision):
        flat_params, hvp_fn = hessian_vector_product_fn(loss_fn, params, x, y)
        probes = _probe(key, flat_params, (num_probes,))
        ritz_values, weights = jax.vmap(lambda v: lanczos_quadrature(hvp_fn, v, iterations))(probes)
        low, high = jnp.min(ritz_values), jnp.max(ritz_values)
        # The kernel width follows the spread of the spectrum, so one default serves any loss
        # scale; the floor keeps it positive when every Ritz value coincides (e.g. H = 0).
        eps = jnp.finfo(ritz_values.dtype).eps
        width = bandwidth * jnp.maximum(high - low, eps * (1.0 + jnp.maximum(-low, high)))
        # +-6 widths past the extreme Ritz values hold all but ~1e-9 of each Gaussian's mass.
        grid = jnp.linspace(low - 6 * width, high + 6 * width, num_points)
        kernels = jnp.exp(-0.5 * jnp.square((grid[:, None, None] - ritz_values) / width))
        normalization = num_probes * jnp.sqrt(2 * jnp.pi) * width
        density = jnp.sum(kernels * weights, axis=(1, 2)) / normalization
    return {
        "grid": grid,
        "density": density,
        "ritz_values": ritz_values,
        "ritz_weights": weights,
        "kernel_width": width,
    }


@_jit_statistic("iterations", "num_samples")
def curvature_stats(
    loss_fn: Callable,
    params,
    x: jax.Array,
    y: jax.Array,
    *,
    key: jax.Array,
    iterations: int = TOP_EIGENVALUE_ITERATIONS,
    num_samples: int = TRACE_SAMPLES,
    matmul_precision: str = precision.DEFAULT,
) -> dict[str, jax.Array]:
    """Top eigenvalue and trace of the Hessian in one compiled call, sharing one linearization.

    ``key`` is split into a Lanczos stream and a probe stream; the arguments are those of
    ``hessian_top_eigenvalue`` and ``hessian_trace``.

    Returns:
        ``{"hessian_top_eigenvalue", "hessian_trace", "hessian_trace_standard_error"}``, scalars.

    Example:
        >>> loss_fn = lambda w, x, y: jnp.mean((x @ w - y) ** 2)
        >>> x, y = jnp.array([[1.0, 0.0], [0.0, 2.0]]), jnp.zeros(2)
        >>> stats = curvature_stats(loss_fn, jnp.ones(2), x, y, key=jax.random.key(0),
        ...                         iterations=2, num_samples=4)
        >>> float(stats["hessian_trace"])  # Rademacher probes are exact on a diagonal H
        5.0
    """
    _check_positive(iterations, "iterations")
    _check_positive(num_samples, "num_samples")
    with precision.traced_at(matmul_precision):
        flat_params, hvp_fn = hessian_vector_product_fn(loss_fn, params, x, y)
        key_lanczos, key_trace = jax.random.split(key)
        trace, standard_error = _trace(hvp_fn, flat_params, key_trace, num_samples)
        return {
            "hessian_top_eigenvalue": _top_eigenvalue(hvp_fn, flat_params, key_lanczos, iterations),
            "hessian_trace": trace,
            "hessian_trace_standard_error": standard_error,
        }


def time_interleaved(
    calls: Mapping[str, Callable[[], object]], *, rounds: int = 5, min_seconds: float = 0.2
) -> dict[str, float]:
    """Wall seconds per call of each zero-argument ``calls[name]``, timed in turns.

    Each call is run once first (compilation and warm-up, not timed). Then, ``rounds``
    times, every call is repeated in turn until ``min_seconds`` have passed. Taking turns
    matters on a shared machine whose speed drifts by 2-3x over minutes: ratios of calls
    timed side by side stay meaningful. The minimum over rounds is returned, because other
    load on the machine can only add time (the advice of Python's ``timeit``).
    """
    for call in calls.values():
        jax.block_until_ready(call())
    per_round: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(_check_positive(rounds, "rounds")):
        for name, call in calls.items():
            repeats, start = 0, time.perf_counter()
            while True:
                result = call()
                repeats += 1
                jax.block_until_ready(result)
                elapsed = time.perf_counter() - start
                if elapsed >= min_seconds:
                    break
            per_round[name].append(elapsed / repeats)
    return {name: float(np.min(seconds)) for name, seconds in per_round.items()}


def time_statistics(
    loss_fn: Callable,
    params,
    x: jax.Array,
    y: jax.Array,
    *,
    key: jax.Array,
    lanczos_iterations: tuple[int, ...] = (20, 50),
    trace_samples: int = TRACE_SAMPLES,
    density_probes: int = DENSITY_PROBES,
    density_iterations: int = DENSITY_ITERATIONS,
    rounds: int = 5,
    min_seconds: float = 0.2,
    matmul_precision: str = precision.DEFAULT,
) -> dict:
    """Seconds per call of every statistic, and its cost in full-batch gradients, timed in turns.

    Each statistic is its own jit-compiled call on ``(params, x, y)``, warmed up before
    timing (see ``time_interleaved``); the unit is one jit-compiled ``jax.grad`` of the mean
    loss on all of ``x``. A Hessian-vector product (linearization included) is timed too.
    ``curvature_stats`` runs with the largest of ``lanczos_iterations`` and ``trace_samples``.
    Every call traces its matmuls at ``matmul_precision``.

    Returns:
        ``{"seconds": {name: s}, "gradients": {name: s / s_gradient}, "values": {name: v}}``
        with ``values`` the statistics themselves (top eigenvalues at each iteration count
        show how far Lanczos has converged).
    """
    common, data = {"matmul_precision": matmul_precision}, (loss_fn, params, x, y)
    gradient_fn = jax.jit(precision.pinned(jax.grad(loss_fn), matmul_precision))
    hvp_fn = jax.jit(
        precision.pinned(
            lambda p, x, y, v: hessian_vector_product_fn(loss_fn, p, x, y)[1](v), matmul_precision
        )
    )
    probe = _probe(key, ravel_pytree(params)[0])

    def statistic(fn, **options):
        return functools.partial(fn, *data, key=key, **common, **options)

    calls = {
        "full_batch_gradient": lambda: gradient_fn(params, x, y),
        "hessian_vector_product": lambda: hvp_fn(params, x, y, probe),
        "per_example_gradients": lambda: gradstats.per_example_gradients(*data, **common),
        "gradient_noise_scale": lambda: gradstats.gradient_noise_scale(*data, **common),
        **{
            f"hessian_top_eigenvalue_{k}": statistic(hessian_top_eigenvalue, iterations=k)
            for k in lanczos_iterations
        },
        f"hessian_trace_{trace_samples}": statistic(hessian_trace, num_samples=trace_samples),
        "hessian_spectral_density": statistic(
            hessian_spectral_density, num_probes=density_probes, iterations=density_iterations
        ),
        "curvature_stats": statistic(
            curvature_stats, iterations=max(lanczos_iterations), num_samples=trace_samples
        ),
    }
    seconds = time_interleaved(calls, rounds=rounds, min_seconds=min_seconds)
    unit = seconds["full_batch_gradient"]
    values = {
        name: calls[name]()
        for name in calls
        if name.startswith(("gradient_noise", "hessian_top", "hessian_trace"))
    }
    values = {
        name: (np.asarray(value).tolist() if isinstance(value, tuple) else float(value))
        for name, value in values.items()
    }
    return {
        "seconds": seconds,
        "gradients": {name: t / unit for name, t in seconds.items()},
        "values": values,
    }
