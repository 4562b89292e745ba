import jax
import numpy as np
import pytest

from jaxnn import members, models

N, D, OUT, SEEDS = 20, 3, 2, 2
FAMILY = models.MLPFamily(input_dim=D, output_dim=OUT, depth=2)


def _data():
    # NumPy draws: the tests are about how members share data, not about jax.random.
    rng = np.random.default_rng(5)
    return (
        rng.standard_normal((SEEDS, N, D), np.float32),
        rng.standard_normal((SEEDS, N, OUT), np.float32),
    )


def _build(grid, x, y, family=FAMILY):
    return members.build_members(
        jax.random.key(0), grid, x, y, family=family, width=6, init_scheme="lecun_normal"
    )


@pytest.fixture(scope="module")
def built():
    """``(grid, x, y, sweep, alone)``: one sweep of 12 members that several tests only read.

    ``alone`` is ``models.init`` of seed 1's init key, drawn on its own. Both come from one
    jitted program: eagerly, the vmapped init and key folds compile dozens, and a second
    program would compile the draw again.
    """
    x, y = _data()
    grid = members.make_grid([0.02, 0.1, 0.3], SEEDS, weight_decays=(1e-3, 1e-2))

    @jax.jit
    def sweep_and_alone(key, grid, x, y):
        seed_key = jax.random.fold_in(key, 1)
        alone = models.init(
            jax.random.fold_in(seed_key, members.INIT_STREAM),
            (D, 6, 6, OUT),
            init_scheme="lecun_normal",
        )
        return _build(grid, x, y), alone

    sweep, alone = sweep_and_alone(jax.random.key(0), grid, x, y)
    return grid, x, y, sweep, alone


def test_grid_orders_decay_rate_seed_and_members_sharing_a_seed_share_data_init_and_order(built):
    grid, x, _, sweep, _ = built
    assert len(grid.seed) == 2 * 3 * SEEDS
    assert grid.weight_decay.tolist() == [1e-3] * 6 + [1e-2] * 6
    assert grid.learning_rate[:4].tolist() == [0.02, 0.02, 0.1, 0.1]
    # NumPy before indexing: each eager index of a jax array is a dispatch (and a compile).
    kernels = np.asarray(sweep.params["layers"][0]["kernel"])
    x_train = np.asarray(sweep.x_train)
    shuffle = np.asarray(jax.random.key_data(sweep.shuffle_key))
    for a in range(len(grid.seed)):
        assert np.array_equal(x_train[a], x[grid.seed[a]])
        for b in range(len(grid.seed)):
            same = grid.seed[a] == grid.seed[b]
            assert np.array_equal(kernels[a], kernels[b]) == same
            assert np.array_equal(shuffle[a], shuffle[b]) == same


def test_members_are_sized_by_the_family_and_equal_models_init_of_the_seed_key(built):
    grid, _, _, sweep, alone = built
    assert grid.seed[1] == 1
    assert [sweep.params["layers"][k]["kernel"].shape[1:] for k in range(3)] == [
        (D, 6),
        (6, 6),
        (6, OUT),
    ]
    # The family's draw is models.init's for these sizes: numbers do not depend on the route.
    # (``alone`` is drawn in the fixture.)
    for a, b in zip(jax.tree.leaves(alone), jax.tree.leaves(sweep.params)):
        np.testing.assert_array_equal(a, np.asarray(b)[1])


def test_a_family_that_does_not_fit_the_data_is_named():
    x, y = _data()
    grid = members.make_grid([0.1], SEEDS)
    with pytest.raises(ValueError, match="family:.*inputs of shape"):
        _build(grid, x, y, family=models.MLPFamily(depth=2))  # 8 inputs, data has 3
    with pytest.raises(ValueError, match="family:.*targets have"):
        _build(grid, x, y, family=models.MLPFamily(input_dim=D, depth=2))  # 8 outputs, 2 targets
    with pytest.raises(ValueError, match="seeds"):
        members.make_grid([0.1], 0)


def test_output_spread_equals_numpy_one_member_at_a_time_and_detects_a_constant_network(built):
    grid, _, y, sweep, _ = built
    spread = members.output_spread(FAMILY, sweep.params, sweep.x_train)
    # One compiled forward pass shared by every member; NumPy slices, not eager jax indexing.
    apply = jax.jit(FAMILY.apply)
    params_np = jax.tree.map(np.asarray, sweep.params)
    x_train = np.asarray(sweep.x_train)
    for index in range(len(grid.seed)):
        params = jax.tree.map(lambda a, i=index: a[i], params_np)
        prediction = np.asarray(apply(params, x_train[index]))
        np.testing.assert_allclose(spread[index], prediction.std(axis=0).mean(), rtol=1e-5)
    dead = jax.tree.map(np.zeros_like, params_np)  # zero weights: a constant output
    assert np.all(members.output_spread(FAMILY, dead, sweep.x_train) == 0)
    np.testing.assert_allclose(
        members.target_spread(y), np.asarray(y).std(axis=1).mean(axis=-1), rtol=1e-6
    )


def test_loss_curves_take_seed_medians_of_the_members_without_decay():
    grid = members.make_grid([0.1, 0.2], 3, weight_decays=(0.0, 1e-2))
    train_loss = np.tile(np.linspace(1.0, 0.0, 11), (len(grid.seed), 1)) + grid.seed[:, None]
    first = np.where(grid.learning_rate == 0.1, 4, -1)
    curves = members.loss_curves(grid, train_loss, first, points=5)
    assert [c["learning_rate"] for c in curves] == [0.1, 0.2]
    assert len(curves[0]["train_loss_per_seed"]) == 3
    np.testing.assert_allclose(
        curves[0]["train_loss"], np.median(train_loss[:3][:, curves[0]["epochs"]], axis=0)
    )
    assert curves[0]["first_epoch_below_convergence_level"] == 4.0
    assert curves[1]["first_epoch_below_convergence_level"] is None
