"""Curvature statistics against the dense Hessian (``jax.hessian`` on the raveled parameters)."""

import functools
import json
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from host_problems import host_problem
from jax.flatten_util import ravel_pytree

from jaxnn import _module_family as module_family
from jaxnn import curvature, models, objectives

N = 16
SIZES = (8, 10, 10, 8)  # 288 parameters: a dense Hessian is cheap, Lanczos is not trivial
FAMILY = module_family.ModuleFamily(functools.partial(models.MLP, activation="tanh"), (8,))
LOSS_FN = objectives.make_loss_fn(FAMILY)


@jax.jit
def _draw(seed):
    key_params, key_x, key_y = jax.random.split(jax.random.key(seed), 3)
    params = models.init(key_params, SIZES, init_scheme="lecun_normal", dtype=jnp.float64)
    x = jax.random.normal(key_x, (N, SIZES[0]), jnp.float64)
    y = jax.random.normal(key_y, (N, SIZES[-1]), jnp.float64)
    return params, x, y


_problem = host_problem(_draw)


@jax.jit
def _dense_hessian_jit(params, x, y):
    flat, unravel = ravel_pytree(params)
    return jax.hessian(lambda w: LOSS_FN(unravel(w), x, y))(flat)


def _dense_hessian(params, x, y) -> np.ndarray:
    """The independent computation: [p, p] by forward-over-reverse on the raveled parameters."""
    return np.asarray(_dense_hessian_jit(params, x, y))


def _hutchinson_variance(hessian: np.ndarray) -> float:
    """Var[vᵀHv] for Rademacher v: 2 Σ_{i≠j} H_ij² (the diagonal terms are constant)."""
    return 2 * (np.sum(hessian**2) - np.sum(np.diag(hessian) ** 2))


@pytest.mark.parametrize("seed", [0, 1])
def test_top_eigenvalue_equals_the_dense_hessian(x64, seed):
    params, x, y = _problem(seed)
    exact = np.linalg.eigvalsh(_dense_hessian(params, x, y))[-1]
    top = curvature.hessian_top_eigenvalue(
        LOSS_FN, params, x, y, key=jax.random.key(seed), iterations=30
    )
    np.testing.assert_allclose(top, exact, rtol=1e-6)


def test_top_eigenvalue_in_float32_is_close_to_float64(x64):
    """Float32 products perturb H by ~1e-6 relative and Ritz values by about that: 1e-4 is 100x."""
    params, x, y = _problem(0)
    exact = np.linalg.eigvalsh(_dense_hessian(params, x, y))[-1]
    params32, x32, y32 = jax.tree.map(lambda a: a.astype(jnp.float32), (params, x, y))
    top = curvature.hessian_top_eigenvalue(
        LOSS_FN, params32, x32, y32, key=jax.random.key(0), iterations=30
    )
    assert top.dtype == jnp.float32
    np.testing.assert_allclose(top, exact, rtol=1e-4)


def _symmetric(seed: int, size: int) -> np.ndarray:
    a = np.random.default_rng(seed).standard_normal((size, size))
    a = (a + a.T) / 2
    return a / np.linalg.norm(a, 2)  # unit spectral norm, so high moments stay O(1)


def test_lanczos_quadrature_is_gauss_quadrature(x64):
    """k steps integrate polynomials of degree < 2k exactly: Σ τ_i θ_i^m = vᵀAᵐv / vᵀv."""
    a, k = _symmetric(3, 40), 8
    v = np.random.default_rng(4).choice([-1.0, 1.0], 40)
    # One program: called eagerly, the quadrature's tridiagonal and eigh ops compile one by one.
    quadrature = jax.jit(lambda a, v: curvature.lanczos_quadrature(lambda u: a @ u, v, k))
    nodes, weights = map(np.asarray, quadrature(a, v))
    for power in range(2 * k):
        exact = v @ np.linalg.matrix_power(a, power) @ v / (v @ v)
        np.testing.assert_allclose(
            np.sum(weights * nodes**power), exact, rtol=1e-9, atol=1e-12, err_msg=f"moment {power}"
        )
    eigenvalues = np.linalg.eigvalsh(a)
    assert eigenvalues[0] - 1e-12 <= nodes.min() and nodes.max() <= eigenvalues[-1] + 1e-12


@functools.partial(jax.jit, static_argnums=1)
def _diagonal_quadrature(diagonal, iterations):
    return curvature.lanczos_quadrature(lambda u: diagonal * u, jnp.ones_like(diagonal), iterations)


@pytest.mark.parametrize(
    "diagonal", [[0.0] * 6, [1.0, 1, 1, 2, 2, 2], [-1.0, -1, -1, -2, -2, -2], [1.0, 2, 3, 4, 5, 6]]
)
@pytest.mark.parametrize("iterations", [6, 9])
def test_lanczos_stops_cleanly_when_the_krylov_space_is_invariant(x64, diagonal, iterations):
    """After breakdown the Ritz values stay in the spectrum and the quadrature stays exact.

    Normalizing the rounding noise left at breakdown would put Ritz values outside the
    spectrum (or NaN for A = 0); with ones as the start vector the exact answer is known.
    """
    diagonal = np.asarray(diagonal)
    nodes, weights = map(np.asarray, _diagonal_quadrature(jnp.asarray(diagonal), iterations))
    assert np.all(np.isfinite(nodes)) and np.all(np.isfinite(weights))
    assert diagonal.min() - 1e-12 <= nodes.min() and nodes.max() <= diagonal.max() + 1e-12
    np.testing.assert_allclose(nodes.max(), diagonal.max(), atol=1e-12)
    for power in range(3):
        np.testing.assert_allclose(
            np.sum(weights * nodes**power), np.mean(diagonal**power), rtol=1e-12, atol=1e-12
        )


@pytest.mark.parametrize("num_samples", [16, 256])
def test_hutchinson_is_unbiased_and_its_standard_error_shrinks_like_one_over_root_samples(
    x64, num_samples
):
    """Hutchinson over 32 independent keys at m probes each, against the dense Hessian.

    m·SE_m² is the sample variance of vᵀHv, unbiased for σ² = 2 Σ_{i≠j} H_ij² at every m, so
    its mean over keys matches σ² within 4 standard errors of that mean (estimated from the
    keys): SE_m = σ/√m. The mean of the 32 estimates lies within 4 exact standard errors
    σ/√(32m) of tr H, and with m = 256 so does each estimate within 4 of its own estimated
    standard errors (a Gaussian tail of 6e-5 per key; the t-factor of 255 degrees of
    freedom changes that little).
    """
    params, x, y = _problem(2)
    hessian = _dense_hessian(params, x, y)
    variance = _hutchinson_variance(hessian)
    # One key at a time: the unbatched program at m = 256 is the one the curvature_stats
    # comparison below calls too, so it compiles once (a vmapped one would be another).
    keys = [jax.random.key(100 * num_samples + i) for i in range(32)]
    estimates, standard_errors = np.asarray(
        [
            curvature.hessian_trace(LOSS_FN, params, x, y, key=k, num_samples=num_samples)
            for k in keys
        ]
    ).T
    sample_variances = num_samples * standard_errors**2
    tolerance = 4 * np.std(sample_variances, ddof=1) / np.sqrt(len(keys))
    assert abs(np.mean(sample_variances) - variance) < tolerance, (
        np.mean(sample_variances),
        variance,
        tolerance,
    )
    exact_error = np.sqrt(variance / (num_samples * len(keys)))
    assert abs(np.mean(estimates) - np.trace(hessian)) < 4 * exact_error
    if num_samples >= 100:
        assert np.all(np.abs(estimates - np.trace(hessian)) < 4 * standard_errors)


def test_spectral_density_integrates_to_one_and_matches_the_dense_spectrum(x64):
    params, x, y = _problem(3)
    hessian = _dense_hessian(params, x, y)
    eigenvalues = np.linalg.eigvalsh(hessian)
    num_probes, p = 8, hessian.shape[0]
    result = curvature.hessian_spectral_density(
        LOSS_FN, params, x, y, key=jax.random.key(3), num_probes=num_probes, iterations=30
    )
    grid, density = np.asarray(result["grid"]), np.asarray(result["density"])
    nodes, weights = np.asarray(result["ritz_values"]), np.asarray(result["ritz_weights"])
    assert grid.shape == density.shape == (curvature.DENSITY_POINTS,)
    assert nodes.shape == weights.shape == (num_probes, 30)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-12)
    # The grid spans 6 kernel widths past the extreme nodes at ~0.3 widths per step, so the
    # Riemann sums of a Gaussian mixture equal its moments to well below 1e-8.
    step = grid[1] - grid[0]
    np.testing.assert_allclose(np.sum(density) * step, 1.0, rtol=1e-8)
    np.testing.assert_allclose(
        np.sum(grid * density) * step,
        np.mean(np.sum(weights * nodes, axis=1)),
        rtol=1e-8,
        atol=1e-10,
    )
    # Ritz values interlace the spectrum, and every probe's largest has converged.
    assert eigenvalues[0] - 1e-10 <= nodes.min() and nodes.max() <= eigenvalues[-1] + 1e-10
    np.testing.assert_allclose(nodes.max(axis=1), eigenvalues[-1], rtol=1e-6)
    # Moments 1 and 2 of the quadrature average vᵀHᵐv/p over Rademacher probes, Hutchinson
    # estimates of tr(Hᵐ)/p: within 4 standard errors from the exact variance 2Σ_{i≠j}(Hᵐ)_ij².
    for power in (1, 2):
        matrix = np.linalg.matrix_power(hessian, power)
        estimate = np.mean(np.sum(weights * nodes**power, axis=1))
        standard_error = np.sqrt(_hutchinson_variance(matrix) / num_probes) / p
        assert abs(estimate - np.trace(matrix) / p) < 4 * standard_error, (power, estimate)


# The settings of every curvature_stats call in this module, so it and the separate
# statistics it is compared with compile once (the trace's m = 256 is the Hutchinson test's).
STATS = {"iterations": 30, "num_samples": 256}


def test_curvature_stats_equals_the_separate_statistics(x64):
    params, x, y = _problem(4)
    key = jax.random.key(5)
    stats = curvature.curvature_stats(LOSS_FN, params, x, y, key=key, **STATS)
    key_lanczos, key_trace = jax.random.split(key)
    top = curvature.hessian_top_eigenvalue(LOSS_FN, params, x, y, key=key_lanczos, iterations=30)
    trace, standard_error = curvature.hessian_trace(
        LOSS_FN, params, x, y, key=key_trace, num_samples=256
    )
    np.testing.assert_allclose(stats["hessian_top_eigenvalue"], top, rtol=1e-12)
    np.testing.assert_allclose(stats["hessian_trace"], trace, rtol=1e-12)
    np.testing.assert_allclose(stats["hessian_trace_standard_error"], standard_error, rtol=1e-12)
    again = curvature.curvature_stats(LOSS_FN, params, x, y, key=key, **STATS)
    assert all(np.array_equal(stats[name], again[name]) for name in stats)  # same key, same bits


def test_vmap_over_runs_equals_a_python_loop(x64):
    problems = [_problem(seed) for seed in (5, 6, 7)]
    params = jax.tree.map(lambda *a: np.stack(a), *[p for p, _, _ in problems])
    x, y = np.stack([p[1] for p in problems]), np.stack([p[2] for p in problems])
    keys = jax.random.split(jax.random.key(8), len(problems))

    def density(params, x, y, key):
        return curvature.hessian_spectral_density(
            LOSS_FN, params, x, y, key=key, num_probes=8, iterations=30
        )["density"]

    together = jax.jit(
        jax.vmap(lambda p, x, y, k: curvature.curvature_stats(LOSS_FN, p, x, y, key=k, **STATS))
    )(params, x, y, keys)
    together = {name: np.asarray(value) for name, value in together.items()}
    together["density"] = np.asarray(jax.jit(jax.vmap(density))(params, x, y, keys))
    for index, ((p, xi, yi), key) in enumerate(zip(problems, keys)):
        stats = curvature.curvature_stats(LOSS_FN, p, xi, yi, key=key, **STATS)
        one = {**stats, "density": density(p, xi, yi, key)}
        for name, value in one.items():
            np.testing.assert_allclose(
                together[name][index], value, rtol=1e-10, atol=1e-12, err_msg=name
            )


@pytest.mark.parametrize(
    "name, kwargs, message",
    [
        ("hessian_top_eigenvalue", {"iterations": 0}, "iterations"),
        ("hessian_trace", {"num_samples": 1}, "num_samples"),
        ("hessian_spectral_density", {"bandwidth": 0.0}, "bandwidth"),
        ("hessian_spectral_density", {"num_probes": 0}, "num_probes"),
        ("curvature_stats", {"matmul_precision": "fast"}, "matmul_precision"),
    ],
)
def test_bad_arguments_raise_naming_them(name, kwargs, message):
    params, x, y = _problem(dtype=np.float32)
    with pytest.raises(ValueError, match=message):
        getattr(curvature, name)(LOSS_FN, params, x, y, key=jax.random.key(0), **kwargs)


@pytest.mark.parametrize(
    "name",
    ["hessian_top_eigenvalue", "hessian_trace", "hessian_spectral_density", "curvature_stats"],
)
def test_every_matmul_is_traced_at_highest_precision(name):
    params, x, y = _problem(dtype=np.float32)
    lowered = getattr(curvature, name).lower(
        LOSS_FN,
        params,
        x,
        y,
        key=jax.random.key(0),
        **({"num_samples": 4} if "trace" in name else {}),
    )
    dots = [line for line in lowered.as_text().splitlines() if "dot_general" in line]
    assert dots and all("HIGHEST, HIGHEST" in line for line in dots), dots[:2]


SHARDED_SCRIPT = textwrap.dedent(
    """
    import json
    import jax, jax.numpy as jnp, numpy as np
    from jaxnn import curvature

    assert len(jax.devices()) == 4, jax.devices()


    def loss_fn(params, x, y):  # a 3 -> 6 -> 2 tanh net written out: no flax import to wait for
        hidden = jnp.tanh(x @ params["w1"] + params["b1"])
        return jnp.mean((hidden @ params["w2"] + params["b2"] - y) ** 2)


    with jax.enable_x64(True):
        keys = jax.random.split(jax.random.key(0), 4)
        draw = lambda k, i, shape: jax.random.normal(jax.random.fold_in(k, i), shape, jnp.float64)
        params = jax.vmap(lambda k: {"w1": draw(k, 0, (3, 6)), "b1": draw(k, 1, (6,)),
                                     "w2": draw(k, 2, (6, 2)), "b2": draw(k, 3, (2,))})(keys)
        x = jax.vmap(lambda k: draw(k, 4, (10, 3)))(keys)
        y = jax.vmap(lambda k: draw(k, 5, (10, 2)))(keys)
        measure = jax.jit(jax.vmap(lambda p, x, y, k: curvature.curvature_stats(
            loss_fn, p, x, y, key=k, iterations=20, num_samples=16)))
        plain = measure(params, x, y, keys)
        mesh = jax.sharding.Mesh(np.asarray(jax.devices()), ("sweep",))
        split = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("sweep"))
        sharded = measure(*jax.device_put((params, x, y, keys), split))
        print(json.dumps({
            "close": all(bool(np.allclose(plain[n], sharded[n], rtol=1e-12)) for n in plain),
            "n_shards": len(sharded["hessian_trace"].sharding.device_set),
            "shape": list(sharded["hessian_trace"].shape),
        }))
    """
)


@pytest.mark.slow  # a fresh JAX process on 4 simulated devices: about 10 s
def test_sweep_axis_sharded_over_four_devices_gives_the_unsharded_numbers():
    """Each run computes whole on its own device: float64 results agree to rtol 1e-12."""
    env = dict(
        os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu"
    )
    done = subprocess.run(
        [sys.executable, "-c", SHARDED_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"close": True, "n_shards": 4, "shape": [4]}, report
