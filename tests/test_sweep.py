import jax
import numpy as np
import pytest

from jaxnn import data, sweep, train


@pytest.mark.parametrize("widths", [range(2, 201), [1, 3, 64, 65, 200], [7]])
def test_plan_groups_covers_every_width_once_with_room(widths):
    groups = sweep.plan_groups(widths, epochs=20_000, members_per_width=3, n_devices=2)
    flat = [w for g in groups for w in g.widths]
    assert flat == sorted(set(widths))
    for group in groups:
        assert group.padded_width % 8 == 0
        assert max(group.widths) <= group.padded_width < max(group.widths) + 8


def test_plan_groups_trades_compile_time_against_padding():
    widths = range(2, 201)
    free_compiles = sweep.plan_groups(widths, compile_seconds=0.0)
    # With free compiles, no group pads a width beyond its own multiple of 8.
    assert all(g.padded_width == sweep.round_up(min(g.widths), 8) for g in free_compiles)
    expensive = sweep.plan_groups(widths, compile_seconds=1e9)
    assert len(expensive) == 1 and expensive[0].padded_width == 200


def test_plan_groups_rejects_bad_widths():
    with pytest.raises(ValueError, match="widths"):
        sweep.plan_groups([0, 4])


def test_grouped_padded_sweep_equals_each_width_trained_alone():
    """A width's result does not depend on its group: narrow, unpadded runs agree."""
    config_data = data.TeacherConfig(n_test=200, normalisation_samples=1000)
    dataset = data.make_dataset(jax.random.key(0), config_data, 20, n_draws=2)
    config = train.TrainConfig(optimizer="adam", epochs=30, chunk_epochs=10)
    key = jax.random.key(1)
    group = sweep.WidthGroup(16, (3, 9))
    results = sweep.run_width_sweep(key, [group], dataset.x_train, dataset.y_train,
                                    dataset.x_test, dataset.y_test, config)
    for width in group.widths:
        padded_members, _ = sweep.width_group_members(
            key, sweep.WidthGroup(16, (width,)), dataset.x_train, dataset.y_train, depth=2,
            learning_rate=1e-3)
        sizes = (8, width, width, 8)  # the narrow model's active block of the padded draw
        narrow = {"layers": {
            k: {"kernel": layer["kernel"][:, : sizes[k], : sizes[k + 1]],
                "bias": layer["bias"][:, : sizes[k + 1]]}
            for k, layer in padded_members.params["layers"].items()}}
        alone = train.train(config, padded_members._replace(params=narrow, hidden_masks=None),
                            dataset.x_test, dataset.y_test)
        np.testing.assert_allclose(results[width]["train_loss"], alone.train_loss, rtol=1e-4)
        np.testing.assert_allclose(results[width]["test_loss"], alone.test_loss, rtol=1e-4)
        assert narrow["layers"][1]["kernel"].shape == (2, width, width)


def test_resume_skips_groups_that_load_returns():
    config_data = data.TeacherConfig(n_test=50, normalisation_samples=500)
    dataset = data.make_dataset(jax.random.key(0), config_data, 10, n_draws=1)
    config = train.TrainConfig(epochs=4, chunk_epochs=2)
    groups = [sweep.WidthGroup(8, (2, 4)), sweep.WidthGroup(16, (12,))]
    saved = {}
    first = sweep.run_width_sweep(jax.random.key(1), groups, *dataset[:4], config,
                                  save_group=lambda g, r: saved.__setitem__(g.name, r))
    trained = []
    again = sweep.run_width_sweep(
        jax.random.key(1), groups, *dataset[:4], config,
        load_group=lambda g: saved.get(g.name) if g.padded_width == 8 else None,
        save_group=lambda g, r: trained.append(g.name))
    assert trained == [groups[1].name]
    for width in (2, 4, 12):
        np.testing.assert_array_equal(first[width]["train_loss"], again[width]["train_loss"])
