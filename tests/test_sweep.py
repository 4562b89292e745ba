import dataclasses
import types

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnn import _module_family as module_family
from jaxnn import _sweep as sweep
from jaxnn import _train as train
from jaxnn import data, models

DEFAULT_WIDTHS = (*range(2, 49, 2), 56, 64, 80, 100, 128, 160, 200)
# The planner's view of the 8 -> M -> M -> 8 MLP: 6p flops per example (no lowering per width).
SIX_P = types.SimpleNamespace(
    flops_per_example=lambda width: 6 * models.parameter_count((8, width, width, 8))
)


@pytest.mark.parametrize("widths", [range(2, 201), [1, 3, 64, 65, 200], [7]])
@pytest.mark.parametrize("backend", ["cpu", "gpu"])
def test_plan_groups_covers_every_width_once_with_room(widths, backend):
    groups = sweep.plan_groups(
        widths,
        family=SIX_P,
        epochs=20_000,
        members_per_width=3,
        n_devices=2,
        costs=sweep.BACKEND_COSTS[backend],
    )
    flat = [w for g in groups for w in g.widths]
    assert flat == sorted(set(widths))
    for group in groups:
        assert group.padded_width % 8 == 0
        assert max(group.widths) <= group.padded_width < max(group.widths) + 8


def test_plan_groups_trades_compile_time_and_latency_against_padding():
    widths = range(2, 201)
    free = sweep.BackendCosts(compile_seconds=0.0, step_seconds=0.0, flops_per_second=1e10)
    free_compiles = sweep.plan_groups(widths, family=SIX_P, costs=free)
    # With free compiles and steps, no group pads a width beyond its own multiple of 8.
    assert all(g.padded_width == sweep.round_up(min(g.widths), 8) for g in free_compiles)
    expensive = sweep.plan_groups(
        widths, family=SIX_P, costs=dataclasses.replace(free, compile_seconds=1e9)
    )
    assert len(expensive) == 1 and expensive[0].padded_width == 200
    # A per-step latency alone also merges groups: it is paid once per group and step.
    slow_steps = sweep.plan_groups(
        widths, family=SIX_P, costs=dataclasses.replace(free, step_seconds=1.0)
    )
    assert len(slow_steps) == 1


def test_gpu_plan_of_the_default_study_is_a_handful_of_groups_and_cpu_plan_is_not():
    options = dict(family=SIX_P, epochs=20_000, members_per_width=3, n_devices=1)
    gpu = sweep.plan_sweep(DEFAULT_WIDTHS, (100, 200), costs=sweep.BACKEND_COSTS["gpu"], **options)
    cpu = sweep.plan_sweep(DEFAULT_WIDTHS, (100, 200), costs=sweep.BACKEND_COSTS["cpu"], **options)
    assert len(gpu) <= 4
    # On a GPU the two training-set sizes share groups; on a CPU, flops are dear: they do not.
    assert all(g.n_trains == (100, 200) for g in gpu)
    assert all(len(g.n_trains) == 1 for g in cpu) and len(cpu) > len(gpu)
    for plan in (gpu, cpu):
        covered = sorted((n, w) for g in plan for n in g.n_trains for w in g.widths)
        assert covered == sorted((n, w) for n in (100, 200) for w in DEFAULT_WIDTHS)


def test_plan_sweep_keeps_the_cheaper_of_separate_and_joint_plans():
    options = dict(family=SIX_P, epochs=1000, members_per_width=2, costs=sweep.BACKEND_COSTS["gpu"])
    chosen = sweep.plan_sweep(DEFAULT_WIDTHS, (100, 200), **options)
    separate = [
        g for n in (100, 200) for g in sweep.plan_groups(DEFAULT_WIDTHS, n_trains=(n,), **options)
    ]
    joint = sweep.plan_groups(DEFAULT_WIDTHS, n_trains=(100, 200), **options)
    estimate = lambda groups: sweep.estimated_seconds(  # noqa: E731
        groups, family=SIX_P, epochs=1000, members_per_width=2, costs=sweep.BACKEND_COSTS["gpu"]
    )
    assert estimate(chosen) == min(estimate(separate), estimate(joint))


def test_plan_groups_rejects_bad_widths():
    with pytest.raises(ValueError, match="widths"):
        sweep.plan_groups([0, 4], family=SIX_P)


# One data shape, one config and one group shape for the tests below: the group program
# (4 members of padded width 8) is compiled once and shared by every test that trains it.
MLP = module_family.ModuleFamily(models.MLP, (8,))  # 8 -> M -> M -> 8, ReLU, torch_uniform
ADAM = train.Optimizer.of(optax.adam(1e-3))
CONFIG = train.TrainConfig(model=MLP, optimizer=ADAM, epochs=20, chunk_epochs=10)
GROUP = sweep.WidthGroup(8, (3, 6), (12,))


def _plain(sets):
    """One variant (``None``) with the training sets ``{N: (x, y)}``."""
    return {None: sweep.Variant(sets)}


def _dataset(seed):
    """Two training sets of 12 rows and a test set of 50, 8 inputs and 8 outputs.

    Drawn with NumPy: these tests are about grouping, not data, and the teacher's draw
    compiles a program of its own.
    """
    rng = np.random.default_rng(seed)
    draw = lambda *shape: rng.standard_normal(shape, dtype=np.float32)  # noqa: E731
    return draw(2, 12, 8), draw(2, 12, 8), draw(50, 8), draw(50, 8)


def test_grouped_padded_sweep_equals_each_width_trained_alone_unpadded():
    """A width's numbers do not depend on its group: its draw, its batches and its training
    are the narrow model's (the teacher studies' members: ``models.MLP``)."""
    x_train, y_train, x_test, y_test = _dataset(0)
    sets = _plain({12: (x_train, y_train)})
    key = jax.random.key(1)
    results = sweep.run_width_sweep(key, [GROUP], sets, x_test, y_test, CONFIG)
    for width in GROUP.widths:
        alone = sweep.run_width_sweep(
            key, [sweep.WidthGroup(width, (width,), (12,))], sets, x_test, y_test, CONFIG
        )
        for name in ("train_loss", "test_loss"):
            np.testing.assert_allclose(
                results[(None, 12, width)][name], alone[(None, 12, width)][name], rtol=1e-5
            )


def test_initial_draw_is_the_true_width_draw_embedded_in_zeros():
    keys = jax.random.split(jax.random.key(3), 2)
    padded = sweep.draw_initial_params(MLP, keys, [5, 3], 16)
    for member, width in enumerate((5, 3)):
        narrow = MLP.init(keys[member], width)
        for k, layer in narrow["layers"].items():
            kernel = np.asarray(padded["layers"][k]["kernel"][member])
            rows, cols = layer["kernel"].shape
            np.testing.assert_allclose(kernel[:rows, :cols], layer["kernel"], rtol=1e-6)
            assert not kernel[rows:].any() and not kernel[:, cols:].any()


@pytest.mark.slow  # float64, two plans of two groups each: about 10 s
def test_training_sets_of_two_sizes_sharing_a_group_train_as_they_would_apart(x64):
    """Rows of weight 0 pad N = 6 to N = 10: float64 losses equal the unpadded runs."""
    config_data = data.TeacherConfig(n_test=40, normalisation_samples=500)
    small = data.make_dataset(jax.random.key(2), config_data, 6, n_draws=2)
    large = data.make_dataset(jax.random.key(3), config_data, 10, n_draws=2)
    as64 = lambda a: a.astype(jnp.float64)  # noqa: E731
    sets = _plain(
        {
            6: (as64(small.x_train), as64(small.y_train)),
            10: (as64(large.x_train), as64(large.y_train)),
        }
    )
    x_test, y_test = as64(small.x_test), as64(small.y_test)
    config = train.TrainConfig(model=MLP, optimizer=ADAM, epochs=25, chunk_epochs=10)
    key = jax.random.key(4)
    joint = sweep.run_width_sweep(
        key, [sweep.WidthGroup(8, (3, 5), (6, 10))], sets, x_test, y_test, config
    )
    apart = sweep.run_width_sweep(
        key,
        [sweep.WidthGroup(8, (3, 5), (6,)), sweep.WidthGroup(8, (3, 5), (10,))],
        sets,
        x_test,
        y_test,
        config,
    )
    assert set(joint) == set(apart) == {(None, n, w) for n in (6, 10) for w in (3, 5)}
    for cell in joint:
        for name in ("train_loss", "test_loss", "final_train_loss"):
            np.testing.assert_allclose(joint[cell][name], apart[cell][name], rtol=1e-10)


def test_resume_skips_groups_that_load_returns():
    x_train, y_train, x_test, y_test = _dataset(0)
    sets = _plain({12: (x_train, y_train)})
    # Two groups of one shape: the resumed run compiles nothing new.
    groups = [GROUP, sweep.WidthGroup(8, (5, 7), (12,))]
    saved = {}
    first = sweep.run_width_sweep(
        jax.random.key(1),
        groups,
        sets,
        x_test,
        y_test,
        CONFIG,
        save_group=lambda g, r: saved.__setitem__(g.name, r),
    )
    trained = []
    again = sweep.run_width_sweep(
        jax.random.key(1),
        groups,
        sets,
        x_test,
        y_test,
        CONFIG,
        load_group=lambda g: saved.get(g.name) if g == groups[0] else None,
        save_group=lambda g, r: trained.append(g.name),
    )
    assert trained == [groups[1].name]
    for width in (3, 6, 5, 7):
        np.testing.assert_array_equal(
            first[(None, 12, width)]["train_loss"], again[(None, 12, width)]["train_loss"]
        )


def test_variants_train_in_one_group_as_they_would_alone():
    """Two label-noise variants with their own decays: one group equals two plain sweeps."""
    x_train, y_train, x_test, y_test = _dataset(5)
    # Noise drawn with NumPy: this test is not about jax.random.
    noise = np.random.default_rng(6).standard_normal(y_train.shape, dtype=np.float32)
    noisier = np.asarray(y_train) + 0.5 * noise
    variants = {
        "clean": sweep.Variant({12: (x_train, y_train)}, {"weight_decay": 0.0}),
        "noisy": sweep.Variant({12: (x_train, noisier)}, {"weight_decay": 1e-2}),
    }
    decayed = train.Optimizer(
        lambda weight_decay: optax.chain(
            optax.add_decayed_weights(weight_decay, mask=models.kernel_mask), optax.adam(1e-3)
        ),
        ("weight_decay",),
    )
    config = dataclasses.replace(CONFIG, optimizer=decayed)
    together = sweep.run_width_sweep(jax.random.key(7), [GROUP], variants, x_test, y_test, config)
    assert set(together) == {(v, 12, w) for v in variants for w in (3, 6)}
    for name, variant in variants.items():
        alone = sweep.run_width_sweep(
            jax.random.key(7), [GROUP], {name: variant}, x_test, y_test, config
        )
        for width in (3, 6):
            np.testing.assert_allclose(
                together[(name, 12, width)]["train_loss"],
                alone[(name, 12, width)]["train_loss"],
                rtol=1e-5,
            )
    # The decay changed the trajectory: the variants really differ.
    assert not np.allclose(
        together[("clean", 12, 3)]["train_loss"], together[("noisy", 12, 3)]["train_loss"]
    )
