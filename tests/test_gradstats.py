import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from host_problems import host_problem

from jaxnn import _module_family as module_family
from jaxnn import gradstats, models, objectives

N, D, OUT = 24, 3, 2
SIZES = (D, 5, 5, OUT)
FAMILY = module_family.ModuleFamily(
    functools.partial(models.MLP, input_dim=D, output_dim=OUT, activation="tanh"), (D,)
)
LOSS_FN = objectives.make_loss_fn(FAMILY)


@jax.jit
def _draw(seed):
    key_params, key_x, key_y = jax.random.split(jax.random.key(seed), 3)
    params = models.init(key_params, SIZES, init_scheme="torch_uniform", dtype=jnp.float64)
    x = jax.random.normal(key_x, (N, D), jnp.float64)
    y = jax.random.normal(key_y, (N, OUT), jnp.float64)
    return params, x, y


_problem = host_problem(_draw)


def _flat(tree) -> np.ndarray:
    return np.concatenate([np.ravel(np.asarray(leaf)) for leaf in jax.tree.leaves(tree)])


_GRAD_FN = jax.jit(jax.grad(LOSS_FN))  # one program per batch shape, not dozens of eager ops


def _loop_stats(params, x, y, batch_size):
    """The definitions written out with a Python loop, a separate full-data grad and numpy sums."""
    full = _flat(_GRAD_FN(params, x, y))
    batch_grads = [
        _flat(_GRAD_FN(params, x[i : i + batch_size], y[i : i + batch_size]))
        for i in range(0, x.shape[0], batch_size)
    ]
    variance = np.mean([np.sum((g - full) ** 2) for g in batch_grads])
    return {
        "grad_norm_sq": np.sum(full**2),
        "batch_grad_variance": variance,
        "noise_scale": batch_size * variance / np.sum(full**2),
        "mean_batch_norm_sq": np.mean([np.sum(g**2) for g in batch_grads]),
        "mean_batch_grad": np.mean(batch_grads, axis=0),
        "full_grad": full,
    }


@pytest.mark.parametrize("batch_size", [4, 6, 12])
def test_mean_of_batch_grads_is_the_full_grad_and_norms_decompose(x64, batch_size):
    params, x, y = _problem()
    reference = _loop_stats(params, x, y, batch_size)
    np.testing.assert_allclose(
        reference["mean_batch_grad"], reference["full_grad"], rtol=1e-10, atol=1e-14
    )
    stats = gradstats.gradient_stats(LOSS_FN, params, x, y, batch_size)
    np.testing.assert_allclose(
        reference["mean_batch_norm_sq"],
        stats["grad_norm_sq"] + stats["batch_grad_variance"],
        rtol=1e-10,
    )


# Batch sizes shared with other tests (each new one compiles gradient_stats and the reference
# grad again): 24 one-example batches, 3 batches (an odd count) and the minimal 2.
@pytest.mark.parametrize("batch_size", [1, 8, 12])
def test_equals_a_python_loop_over_batches(x64, batch_size):
    params, x, y = _problem(seed=1)
    stats = gradstats.gradient_stats(LOSS_FN, params, x, y, batch_size)
    reference = _loop_stats(params, x, y, batch_size)
    for name in ("grad_norm_sq", "batch_grad_variance", "noise_scale"):
        np.testing.assert_allclose(stats[name], reference[name], rtol=1e-10, err_msg=name)
    assert stats["batch_grad_variance"] > 0


def test_variance_is_zero_for_one_full_batch(x64):
    params, x, y = _problem(seed=2)
    stats = gradstats.gradient_stats(LOSS_FN, params, x, y, batch_size=N)
    assert float(stats["batch_grad_variance"]) == 0.0
    np.testing.assert_allclose(
        stats["grad_norm_sq"], np.sum(_flat(_GRAD_FN(params, x, y)) ** 2), rtol=1e-12
    )


def test_batches_are_consecutive_slices_in_the_given_order(x64):
    """Reordering the data changes the batches, hence the variance, but not the full gradient."""
    params, x, y = _problem(seed=3)
    order = np.random.default_rng(0).permutation(N)
    plain = gradstats.gradient_stats(LOSS_FN, params, x, y, 6)
    shuffled = gradstats.gradient_stats(LOSS_FN, params, x[order], y[order], 6)
    np.testing.assert_allclose(plain["grad_norm_sq"], shuffled["grad_norm_sq"], rtol=1e-10)
    assert not np.isclose(plain["batch_grad_variance"], shuffled["batch_grad_variance"], rtol=1e-6)
    np.testing.assert_allclose(
        shuffled["batch_grad_variance"],
        _loop_stats(params, x[order], y[order], 6)["batch_grad_variance"],
        rtol=1e-10,
    )


def test_works_under_vmap_over_params(x64):
    problems = [_problem(seed=s) for s in range(3)]
    params = jax.tree.map(lambda *a: np.stack(a), *[p for p, _, _ in problems])
    x, y = np.stack([p[1] for p in problems]), np.stack([p[2] for p in problems])
    stats = jax.vmap(lambda p, x, y: gradstats.gradient_stats(LOSS_FN, p, x, y, 4))(params, x, y)
    stats = {name: np.asarray(value) for name, value in stats.items()}
    for index, (p, xi, yi) in enumerate(problems):
        reference = _loop_stats(p, xi, yi, 4)
        for name in ("grad_norm_sq", "batch_grad_variance"):
            np.testing.assert_allclose(stats[name][index], reference[name], rtol=1e-10)


@pytest.mark.parametrize("batch_size", [5, 0, 25])
def test_batch_size_that_does_not_divide_n_raises(batch_size):
    params, x, y = _problem(dtype=np.float32)
    with pytest.raises(ValueError, match="batch_size"):
        gradstats.gradient_stats(LOSS_FN, params, x, y, batch_size)


def _per_example_loop(params, x, y):
    """Each example's gradient by its own grad call, flattened: [N, p]."""
    return np.stack(
        [_flat(_GRAD_FN(params, x[n : n + 1], y[n : n + 1])) for n in range(x.shape[0])]
    )


def test_per_example_gradients_are_one_example_grads_and_average_to_the_full_grad(x64):
    params, x, y = _problem(seed=4)
    per_example = gradstats.per_example_gradients(LOSS_FN, params, x, y)
    assert jax.tree.structure(per_example) == jax.tree.structure(params)
    for leaf, param in zip(jax.tree.leaves(per_example), jax.tree.leaves(params)):
        assert leaf.shape == (N, *param.shape)
    flat = np.concatenate(
        [np.reshape(np.asarray(leaf), (N, -1)) for leaf in jax.tree.leaves(per_example)], axis=1
    )  # row n is _flat of example n's gradient
    np.testing.assert_allclose(flat, _per_example_loop(params, x, y), rtol=1e-10, atol=1e-14)
    # The loss is a mean over examples, so the mean of the g_n is the full-batch gradient.
    np.testing.assert_allclose(
        flat.mean(axis=0), _flat(_GRAD_FN(params, x, y)), rtol=1e-10, atol=1e-14
    )


def _noise_scale_loop(params, x, y):
    """B_simple from the definition: a separate full grad, a loop over examples, numpy sums."""
    full = _flat(_GRAD_FN(params, x, y))
    covariance_trace = sum(np.sum((g - full) ** 2) for g in _per_example_loop(params, x, y))
    return covariance_trace / (x.shape[0] - 1) / np.sum(full**2)


@pytest.mark.parametrize("seed", [5, 6])
def test_noise_scale_equals_a_loop_over_examples(x64, seed):
    params, x, y = _problem(seed=seed)
    np.testing.assert_allclose(
        gradstats.gradient_noise_scale(LOSS_FN, params, x, y),
        _noise_scale_loop(params, x, y),
        rtol=1e-10,
    )


def test_batch_noise_scale_with_batches_of_one_is_the_finite_population_fraction(x64):
    """With B = 1, B·V/‖G‖² = (1 - 1/N) B_simple in every ordering (V has ddof 0, tr Σ ddof 1)."""
    params, x, y = _problem(seed=7)
    batch = gradstats.gradient_stats(LOSS_FN, params, x, y, batch_size=1)["noise_scale"]
    np.testing.assert_allclose(
        batch, (1 - 1 / N) * gradstats.gradient_noise_scale(LOSS_FN, params, x, y), rtol=1e-10
    )


def test_batch_noise_scale_averages_to_the_finite_population_fraction_over_orderings(x64):
    """E over random orderings of B·V/‖G‖² is (1 - B/N) B_simple (sampling without replacement)."""
    params, x, y = _problem(seed=8)
    batch_size, orderings = 4, 400
    rng = np.random.default_rng(8)
    orders = np.stack([rng.permutation(N) for _ in range(orderings)])
    # The orderings gathered on the host: the vmapped program is gradient_stats alone.
    noise_scales = jax.vmap(
        lambda xo, yo: gradstats.gradient_stats(LOSS_FN, params, xo, yo, batch_size)["noise_scale"]
    )(x[orders], y[orders])
    noise_scales = np.asarray(noise_scales)
    expected = (1 - batch_size / N) * gradstats.gradient_noise_scale(LOSS_FN, params, x, y)
    # Orderings are independent draws: the mean is within 4 standard errors of its expectation.
    standard_error = np.std(noise_scales, ddof=1) / np.sqrt(orderings)
    assert abs(np.mean(noise_scales) - expected) < 4 * standard_error, (
        np.mean(noise_scales),
        expected,
        standard_error,
    )


def test_per_example_statistics_work_under_vmap_over_runs(x64):
    problems = [_problem(seed=s) for s in range(3)]
    params = jax.tree.map(lambda *a: np.stack(a), *[p for p, _, _ in problems])
    x, y = np.stack([p[1] for p in problems]), np.stack([p[2] for p in problems])
    per_example = jax.vmap(lambda p, x, y: gradstats.per_example_gradients(LOSS_FN, p, x, y))(
        params, x, y
    )
    per_example = jax.tree.map(np.asarray, per_example)
    noise_scales = jax.vmap(lambda p, x, y: gradstats.gradient_noise_scale(LOSS_FN, p, x, y))(
        params, x, y
    )
    noise_scales = np.asarray(noise_scales)
    for index, (p, xi, yi) in enumerate(problems):
        one = gradstats.per_example_gradients(LOSS_FN, p, xi, yi)
        for batched, single in zip(jax.tree.leaves(per_example), jax.tree.leaves(one)):
            np.testing.assert_allclose(batched[index], single, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(noise_scales[index], _noise_scale_loop(p, xi, yi), rtol=1e-10)


def test_noise_scale_needs_two_examples():
    params, x, y = _problem(dtype=np.float32)
    with pytest.raises(ValueError, match="x: need at least 2"):
        gradstats.gradient_noise_scale(LOSS_FN, params, x[:1], y[:1])


@pytest.mark.parametrize(
    "name", ["per_example_gradients", "gradient_noise_scale", "gradient_stats"]
)
def test_every_matmul_is_traced_at_highest_precision(name):
    params, x, y = _problem(dtype=np.float32)
    extra = (4,) if name == "gradient_stats" else ()
    text = getattr(gradstats, name).lower(LOSS_FN, params, x, y, *extra).as_text()
    dots = [line for line in text.splitlines() if "dot_general" in line]
    assert dots and all("HIGHEST, HIGHEST" in line for line in dots), dots[:2]
