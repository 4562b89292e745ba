"""``jaxnn.width_sweep`` on users' own NNX modules: grouping-independent numbers, padding
checked against the narrow model, open losses and optimizers, bad input named up front."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import jaxnn
from jaxnn import _fastconv as fastconv
from jaxnn import _module_family as module_family
from jaxnn import _streams as streams
from jaxnn import _sweep as sweep
from jaxnn import _sweep_measure as sweep_measure
from jaxnn import _train as train
from jaxnn import curvature, gradstats, module_sweep, objectives

EPOCHS = 3


class UserCNN(nnx.Module):
    """A researcher's 2-D CNN as the issue describes it: two 3x3 convs, ReLU, pool, linear."""

    def __init__(self, width, *, rngs):
        self.conv1 = nnx.Conv(1, width, (3, 3), rngs=rngs)
        self.conv2 = nnx.Conv(width, width, (3, 3), strides=(2, 2), rngs=rngs)
        self.head = nnx.Linear(width, 4, rngs=rngs)

    def __call__(self, x):
        h = jax.nn.relu(self.conv2(jax.nn.relu(self.conv1(x))))
        return self.head(h.mean(axis=(-3, -2)))


class UserMLP(nnx.Module):
    def __init__(self, width, *, rngs, activation=jnp.tanh):
        self.activation = activation
        self.hidden = nnx.Linear(6, width, rngs=rngs)
        self.out = nnx.Linear(width, 3, rngs=rngs)

    def __call__(self, x):
        return self.out(self.activation(self.hidden(x)))


class LayerNormMLP(nnx.Module):
    """LayerNorm over the width: padding changes its statistics, so it must be refused."""

    def __init__(self, width, *, rngs):
        self.hidden = nnx.Linear(6, width, rngs=rngs)
        self.norm = nnx.LayerNorm(width, rngs=rngs)
        self.out = nnx.Linear(width, 3, rngs=rngs)

    def __call__(self, x):
        return self.out(jax.nn.relu(self.norm(self.hidden(x))))


def sigmoid_mlp(width, *, rngs):
    return UserMLP(width, rngs=rngs, activation=jax.nn.sigmoid)


def _images(seed=0, n=40, n_test=20):
    rng = np.random.default_rng(seed)
    return dict(
        x_train=rng.standard_normal((n, 6, 6, 1), dtype=np.float32),
        y_train=rng.integers(0, 4, n),
        x_test=rng.standard_normal((n_test, 6, 6, 1), dtype=np.float32),
        y_test=rng.integers(0, 4, n_test),
    )


def _vectors(seed=1, n=30, n_test=20):
    rng = np.random.default_rng(seed)
    return dict(
        x_train=rng.standard_normal((n, 6), dtype=np.float32),
        y_train=rng.standard_normal((n, 3), dtype=np.float32),
        x_test=rng.standard_normal((n_test, 6), dtype=np.float32),
        y_test=rng.standard_normal((n_test, 3), dtype=np.float32),
    )


def _sweep(module, data, widths, **options):
    options = {
        "seeds": 2,
        "optimizer": optax.sgd(0.05, momentum=0.9),
        "epochs": EPOCHS,
        "batch_size": 16,
        "progress": False,
        **options,
    }
    return jaxnn.width_sweep(module, data, widths=widths, **options)


def _padded_width_of(result, width):
    return next(g["padded_width"] for g in result.config["groups"] if width in g["widths"])


@pytest.mark.slow  # end to end: compiles a sweep
@pytest.mark.parametrize(
    ("module", "data", "loss"),
    [(UserCNN, _images(), "softmax_cross_entropy"), (UserMLP, _vectors(), "mse")],
    ids=["cnn", "mlp"],
)
def test_a_width_alone_equals_the_same_width_inside_a_larger_padded_sweep(module, data, loss):
    together = _sweep(module, data, [3, 8, 21], loss=loss)
    alone = _sweep(module, data, [8], loss=loss)
    assert _padded_width_of(together, 8) > 8 and _padded_width_of(alone, 8) == 8
    assert not together.notes
    for metric in together.metrics:
        np.testing.assert_allclose(
            together.curves[("data", 0, 8)][metric],
            alone.curves[("data", 0, 8)][metric],
            rtol=2e-5,
            atol=1e-6,
        )
    # The seeds really differ: the comparison is not of two identical members.
    assert not np.allclose(*together.curves[("data", 0, 8)][together.metrics[0]])


@pytest.mark.slow  # end to end: compiles two sweeps
def test_fewer_seeds_are_the_first_members_of_more_seeds():
    # The MNIST-1D study trains narrow widths with more seeds than wide ones, in separate
    # sweeps, and pairs seed s across them: a member must not depend on the seed count.
    data = _vectors()
    more = _sweep(UserMLP, data, [4, 8], seeds=3, loss="mse")
    fewer = _sweep(UserMLP, data, [8], seeds=1, loss="mse")
    for metric in more.metrics:
        np.testing.assert_allclose(
            np.asarray(more.curves[("data", 0, 8)][metric])[:1],
            fewer.curves[("data", 0, 8)][metric],
            rtol=2e-5,
            atol=1e-6,
        )


@pytest.mark.slow  # end to end: compiles two sweeps
def test_plan_epochs_groups_the_widths_as_the_longer_run_and_leaves_the_members_alone():
    # bench_mnist1d times a few epochs of the study's 500 and projects: it must train the
    # 500-epoch run's groups, which a short run would merge to save compiles.
    data, widths = _vectors(), [2, 256, 1024]
    family = module_family.ModuleFamily(UserMLP, (6,), conv_impl=fastconv.default_conv_impl())

    def plan(epochs):
        groups = sweep.plan_sweep(
            widths,
            (30,),
            family=family,
            epochs=epochs,
            steps_per_epoch=2,
            members_per_width=2,
            n_devices=1,
            costs=sweep.backend_costs(),
        )
        return [(g.padded_width, g.widths) for g in groups]

    assert plan(10**5) != plan(EPOCHS)  # this CPU's costs: 256 and 1024 apart, or together
    short = _sweep(UserMLP, data, widths, loss="mse")
    planned = _sweep(UserMLP, data, widths, loss="mse", plan_epochs=10**5)
    for result, epochs in ((short, EPOCHS), (planned, 10**5)):
        assert [(g["padded_width"], tuple(g["widths"])) for g in result.config["groups"]] == plan(
            epochs
        )
    for metric in short.metrics:
        np.testing.assert_allclose(
            planned.curves[("data", 0, 256)][metric],
            short.curves[("data", 0, 256)][metric],
            rtol=2e-5,
            atol=1e-6,
        )


@pytest.mark.slow  # end to end: compiles a sweep
@pytest.mark.parametrize("module", [LayerNormMLP, sigmoid_mlp], ids=["layernorm", "sigmoid"])
def test_padding_that_changes_the_model_is_refused_in_one_line_and_trained_unpadded(module):
    data = _vectors()
    together = _sweep(module, data, [3, 8], loss="mse")
    assert len(together.notes) == 1 and "\n" not in together.notes[0]
    assert "unpadded" in together.notes[0]
    assert {g["padded_width"] for g in together.config["groups"]} == {3, 8}
    alone = _sweep(module, data, [3], loss="mse")
    np.testing.assert_allclose(
        together.curves[("data", 0, 3)]["test_loss"],
        alone.curves[("data", 0, 3)]["test_loss"],
        rtol=1e-6,
    )


def test_check_padding_passes_relu_and_fails_sigmoid_on_the_same_draw():
    x = jnp.asarray(np.random.default_rng(2).standard_normal((8, 6), dtype=np.float32))
    y = jnp.asarray(np.random.default_rng(3).standard_normal((8, 3), dtype=np.float32))
    objective = module_sweep.make_loss_objective("mse", None, False)
    for module, expected in [(UserMLP, True), (sigmoid_mlp, False)]:
        family = module_family.ModuleFamily(module, (6,))
        params = sweep.draw_initial_params(family, jax.random.key(0)[None], [4], 16)
        params = jax.tree.map(lambda a: a[0], params)
        check = module_family.check_padding(
            family, objective, optax.adam(1e-2), params, 4, 16, x, y
        )
        assert check.ok is expected, check.detail


def test_members_draw_with_the_modules_own_initializers_at_their_true_width():
    family = module_family.ModuleFamily(UserMLP, (6,))
    key = jax.random.key(5)
    padded = sweep.draw_initial_params(family, key[None], [4], 16)
    narrow = nnx.to_pure_dict(nnx.state(UserMLP(4, rngs=nnx.Rngs(key)), nnx.Param))
    kernel = np.asarray(padded["hidden"]["kernel"][0])
    np.testing.assert_allclose(kernel[:, :4], narrow["hidden"]["kernel"], rtol=1e-6)
    assert not kernel[:, 4:].any() and not np.asarray(padded["out"]["kernel"][0])[4:].any()


@pytest.mark.slow  # end to end: compiles a sweep
def test_swept_hyperparameters_equal_separate_sweeps_with_fixed_optimizers():
    data = _vectors()
    rates = [0.01, 0.1]
    swept = _sweep(
        UserMLP,
        data,
        [4],
        loss="mse",
        optimizer=lambda learning_rate: optax.sgd(learning_rate),
        hyperparams={"learning_rate": rates},
    )
    assert [c["learning_rate"] for c in swept.hyperparams] == rates
    assert {row["learning_rate"] for row in swept.summary()} == set(rates)
    for index, rate in enumerate(rates):
        fixed = _sweep(UserMLP, data, [4], loss="mse", optimizer=optax.sgd(rate))
        np.testing.assert_allclose(
            swept.curves[("data", index, 4)]["train_loss"],
            fixed.curves[("data", 0, 4)]["train_loss"],
            rtol=1e-5,
        )


@pytest.mark.slow  # end to end: compiles a sweep
def test_a_loss_callable_and_metrics_and_per_seed_labels():
    data = _images()
    noisy = np.stack([data["y_train"], (data["y_train"] + 1) % 4])  # y_train[seed, N]

    def cross_entropy(logits, labels):
        return optax.losses.softmax_cross_entropy_with_integer_labels(logits, labels)

    def top2_miss(logits, labels):
        top2 = jnp.argsort(logits, axis=-1)[..., -2:]
        return 1.0 - jnp.any(top2 == labels[..., None], axis=-1).astype(logits.dtype)

    result = _sweep(
        UserCNN,
        dict(data, y_train=noisy),
        [4],
        loss=cross_entropy,
        metrics={"top2_miss": top2_miss},
    )
    assert set(result.metrics) == {
        f"{part}_{m}" for part in ("train", "test") for m in ("loss", "error", "top2_miss")
    }
    by_name = _sweep(UserCNN, dict(data, y_train=noisy), [4], loss="softmax_cross_entropy")
    np.testing.assert_allclose(
        result.curves[("data", 0, 4)]["test_loss"],
        by_name.curves[("data", 0, 4)]["test_loss"],
        rtol=1e-6,
    )
    rows = result.rows()
    assert len(rows) == 2 and {r["seed"] for r in rows} == {0, 1}
    summary = result.summary()[0]
    finals = [r["test_error"] for r in rows]
    assert math.isclose(summary["test_error"], np.mean(finals), rel_tol=1e-6)
    assert math.isclose(
        summary["test_error_se"], np.std(finals, ddof=1) / math.sqrt(2), rel_tol=1e-6, abs_tol=1e-9
    )


@pytest.mark.slow  # end to end: compiles a sweep
def test_gradient_statistics_at_epoch_zero_are_those_of_the_initial_draw():
    data = _vectors(n=32)
    result = _sweep(
        UserMLP,
        data,
        [4],
        loss="mse",
        record_epochs=[0],
        statistics=["grad_norm_sq", "batch_grad_variance"],
        key=7,
    )
    family = module_family.ModuleFamily(UserMLP, (6,))
    objective = module_sweep.make_loss_objective("mse", None, False)
    for seed in range(2):
        key = jax.random.fold_in(jax.random.fold_in(jax.random.key(7), 4), seed)
        params = nnx.to_pure_dict(nnx.state(UserMLP(4, rngs=nnx.Rngs(key)), nnx.Param))
        expected = gradstats.gradient_stats(
            objectives.make_loss_fn(family, objective),
            params,
            jnp.asarray(data["x_train"]),
            jnp.asarray(data["y_train"]),
            16,
        )
        for name in ("grad_norm_sq", "batch_grad_variance"):
            np.testing.assert_allclose(
                result.statistics[("data", 0, 4)][name][seed, 0], expected[name], rtol=1e-4
            )


@pytest.mark.slow  # end to end: compiles a sweep
def test_a_last_partial_batch_is_used_unless_drop_last():
    data = _vectors(n=30)  # 30 = 16 + 14
    kept = _sweep(UserMLP, data, [4], loss="mse", seeds=1)
    dropped = _sweep(UserMLP, data, [4], loss="mse", seeds=1, drop_last=True)
    assert not np.allclose(
        kept.curves[("data", 0, 4)]["train_loss"], dropped.curves[("data", 0, 4)]["train_loss"]
    )


@pytest.mark.slow  # end to end: compiles a sweep
def test_resume_reuses_finished_groups(tmp_path, monkeypatch):
    data = _vectors()
    first = _sweep(UserMLP, data, [2, 5], loss="mse", run_dir=tmp_path)
    monkeypatch.setattr(sweep.train, "train", lambda *a, **k: pytest.fail("retrained a group"))
    again = _sweep(UserMLP, data, [2, 5], loss="mse", run_dir=tmp_path, resume=True)
    for cell in first.curves:
        np.testing.assert_array_equal(
            first.curves[cell]["test_loss"], again.curves[cell]["test_loss"]
        )
    saved = first.save(tmp_path / "sweep.json")
    assert '"summary"' in saved.read_text()


BAD = [
    (dict(widths=[0, 4]), "widths"),
    (dict(widths=[]), "widths"),
    (dict(seeds=0), "seeds"),
    (dict(epochs=0), "epochs"),
    (dict(batch_size=1000), "batch_size"),
    (dict(loss="hinge"), "loss"),
    (dict(optimizer="sgd"), "optimizer"),
    (dict(optimizer=optax.sgd(0.1), hyperparams={"learning_rate": [0.1]}), "optimizer"),
    (dict(statistics=["grad_norm_sq"]), "statistics"),
    (dict(resume=True), "resume"),
    (dict(key="zero"), "key"),
    (dict(record_epochs=[99]), "record_epochs"),
    (dict(loss_thresholds=[0.0]), "loss_thresholds"),
    (dict(loss_thresholds=[1e-3, 1e-3]), "loss_thresholds"),
    (dict(final_window=5), "final_window"),  # 3 epochs: 4 losses recorded
    (dict(snapshot_below=-1.0), "snapshot_below"),
    (dict(progress="yes"), "progress"),
    (dict(plan_epochs=0), "plan_epochs"),
]


@pytest.mark.parametrize(("options", "name"), BAD, ids=[name for _, name in BAD])
def test_bad_arguments_fail_before_any_compute_naming_the_argument(options, name, monkeypatch):
    monkeypatch.setattr(sweep, "run_width_sweep", lambda *a, **k: pytest.fail("computed"))
    with pytest.raises(ValueError, match=name):
        _sweep(
            UserMLP,
            _vectors(),
            options.pop("widths", [4]),
            loss=options.pop("loss", "mse"),
            **options,
        )


@pytest.mark.parametrize(
    ("change", "name"),
    [
        (lambda d: d.pop("y_test"), "y_test"),
        (lambda d: d.update(x_train=d["x_train"][:, :4]), "x_train"),
        (lambda d: d.update(y_train=d["y_train"][:10]), "y_train"),
        (lambda d: d["x_train"].__setitem__((0, 0), np.nan), "x_train"),
        (lambda d: d.update(y_train=d["y_train"] + 10), "y_train"),
        (lambda d: d.update(y_test=-d["y_test"] - 1), "y_test"),
    ],
    ids=["missing", "shape", "count", "nan", "label-high", "label-negative"],
)
def test_bad_data_fails_before_any_compute_naming_the_array(change, name, monkeypatch):
    monkeypatch.setattr(sweep, "run_width_sweep", lambda *a, **k: pytest.fail("computed"))
    data = {k: np.array(v) for k, v in _images().items()}
    change(data)
    with pytest.raises(ValueError, match=name):
        _sweep(UserCNN, data, [4], loss="softmax_cross_entropy")


def _float_labels(data, test=False):
    floats = {k: data[k].astype(np.float32) for k in ("y_train", "y_test")[: 1 + test]}
    return dict(data, **floats)


def _smaller_images(data):
    return dict(data, x_train=data["x_train"][:, :5, :5], x_test=data["x_test"][:, :5, :5])


BAD_SETS = [
    (lambda d: {"a": d, "a ": d}, "data: set name 'a' is given more than once"),
    (lambda d: {"": d}, "data: set names must be non-empty strings"),
    (lambda d: {"small": d, "7": d, 7: d}, "data: set names must be non-empty strings"),
    (lambda d: {"a": d, "b": _smaller_images(d)}, r"data: set 'b' has inputs of shape \(5, 5, 1\)"),
    (
        lambda d: {"a": d, "b": _float_labels(d)},
        r"data\['b'\]: y_train is float32 and y_test int64",
    ),
    (
        lambda d: {"a": d, "b": _float_labels(d, test=True)},
        "data: set 'b' has real labels",
    ),
    (lambda d: {"a": d, "b": d["x_train"]}, "data: need one dict"),
]


@pytest.mark.parametrize(("change", "message"), BAD_SETS, ids=[m[:24] for _, m in BAD_SETS])
def test_bad_training_sets_fail_before_anything_is_traced(change, message, monkeypatch):
    # The module is never built, so nothing is traced, let alone compiled.
    monkeypatch.setattr(module_sweep, "_family", lambda *a, **k: pytest.fail("traced"))
    with pytest.raises(ValueError, match=message):
        _sweep(UserCNN, change(_images()), [4], loss="softmax_cross_entropy")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (dict(widths=[2, 2]), "widths: 2 appears more than once"),
        (dict(widths=[4, 2, 4, 2]), "widths: 2, 4 appears more than once"),
        (dict(steps=10), "epochs: give epochs or steps"),
        (dict(epochs=None), "epochs: give epochs or steps"),
        (dict(epochs=None, steps=1), r"steps: 1 steps are less than one epoch \(3 steps\)"),
        (dict(epochs={"other": 3}), r"epochs: need one value per set \['data'\]"),
        (dict(data=_float_labels(_images(), test=True)), "data: y_train is float32, but loss"),
    ],
    ids=["duplicate", "duplicates", "both", "neither", "short", "names", "float-labels"],
)
def test_bad_widths_schedule_and_labels_fail_before_anything_is_traced(
    options, message, monkeypatch
):
    monkeypatch.setattr(module_sweep, "_family", lambda *a, **k: pytest.fail("traced"))
    data = options.pop("data", _images())
    with pytest.raises(ValueError, match=message):
        _sweep(UserCNN, data, options.pop("widths", [4]), loss="softmax_cross_entropy", **options)


def _sets():
    """Three training sets of one task: N = 30, its first 20, and N = 30 with each seed's
    own label noise ``y_train[seed, N, 3]``; a fourth with a test set of its own."""
    data = _vectors(n=30)
    noise = np.random.default_rng(5).standard_normal((2, 30, 3), dtype=np.float32)
    return {
        "n30": data,
        "n20": dict(data, x_train=data["x_train"][:20], y_train=data["y_train"][:20]),
        "noisy": dict(data, y_train=data["y_train"] + 0.5 * noise),
        "own_test": dict(_vectors(seed=3, n=30), x_train=data["x_train"], y_train=data["y_train"]),
    }


# float32: a set padded to a larger N sums its loss over more (zero-weight) rows, and a
# width padded to its group's width adds zero products; both change rounding only.
SET_RTOL, SET_ATOL = 2e-5, 1e-6


@pytest.mark.slow  # end to end: compiles several sweeps
@pytest.mark.parametrize("batch_size", [None, 16], ids=["full-batch", "mini-batch"])
def test_a_training_set_alone_equals_the_same_set_inside_one_call(batch_size):
    sets = _sets()
    together = _sweep(UserMLP, sets, [3, 8], loss="mse", batch_size=batch_size)
    assert together.data == tuple(sets)
    if batch_size is None:  # N = 20 and 30 share padded groups (rows of weight 0)
        assert any(len(g["n_trains"]) > 1 for g in together.config["groups"])
    for name, data in sets.items():
        alone = _sweep(UserMLP, data, [8], loss="mse", batch_size=batch_size)
        for metric in together.metrics:
            np.testing.assert_allclose(
                together.curves[(name, 0, 8)][metric],
                alone.curves[("data", 0, 8)][metric],
                rtol=SET_RTOL,
                atol=SET_ATOL,
                err_msg=f"{name} {metric}",
            )
    finals = {name: together.curves[(name, 0, 8)]["test_loss"][:, -1] for name in sets}
    assert not np.allclose(finals["n30"], finals["noisy"])  # the sets really differ
    assert not np.allclose(finals["n30"], finals["own_test"])  # ... and so do the test sets


@pytest.mark.slow  # end to end: compiles a sweep
def test_every_summary_and_row_names_its_set_and_n_and_steps_fix_the_epochs():
    sets = {k: v for k, v in _sets().items() if k in ("n30", "n20")}
    result = _sweep(UserMLP, sets, [4], loss="mse", epochs=None, steps=6, batch_size=10)
    # batch 10: N = 30 takes 3 steps an epoch (2 epochs), N = 20 takes 2 (3 epochs).
    assert result.sets == {
        "n30": {"n_train": 30, "epochs": 2, "steps": 6},
        "n20": {"n_train": 20, "epochs": 3, "steps": 6},
    }
    summary = result.summary()
    assert [(r["data"], r["n_train"], r["width"]) for r in summary] == [
        ("n30", 30, 4),
        ("n20", 20, 4),
    ]
    rows = result.rows()
    assert [(r["data"], r["n_train"], r["seed"]) for r in rows] == [
        ("n30", 30, 0),
        ("n30", 30, 1),
        ("n20", 20, 0),
        ("n20", 20, 1),
    ]
    by_epochs = _sweep(UserMLP, sets["n20"], [4], loss="mse", epochs=3, batch_size=10)
    np.testing.assert_array_equal(
        result.curves[("n20", 0, 4)]["train_loss"], by_epochs.curves[("data", 0, 4)]["train_loss"]
    )
    assert "n_train" in result.table().splitlines()[0]
    saved = result.to_json()
    assert {c["data"] for c in saved["curves"]} == {"n30", "n20"}


# --- options the studies need, each against the engine on the same members ---------------------

ENGINE_EPOCHS, THRESHOLDS, WINDOW = 60, (3.0, 1.0, 0.5, 1e-9), 7


def kernels_only(params):  # the README's mask: decay the kernels, not the biases
    return jax.tree_util.tree_map_with_path(lambda path, _: path[-1].key == "kernel", params)


def _engine(data, optimizer, **options):
    """``train.train`` on width 4's members as ``width_sweep`` draws them (key 0), full batch,
    exact per-epoch training loss, the thresholds and the window above."""
    family = module_family.ModuleFamily(UserMLP, (6,))
    objective = module_sweep.make_loss_objective("mse", None, False)
    x, y = (np.broadcast_to(data[k], (2, *data[k].shape)) for k in ("x_train", "y_train"))
    n = x.shape[1]
    variant = sweep.Variant({n: (jnp.asarray(x), jnp.asarray(y))})
    members, _ = sweep.width_group_members(
        jax.random.key(0), sweep.WidthGroup(4, (4,), (n,)), {0: variant}, family=family
    )
    config = train.TrainConfig(
        model=family,
        objective=objective,
        optimizer=optimizer,
        epochs=ENGINE_EPOCHS,
        train_loss_curve="full",
        chunk_epochs=ENGINE_EPOCHS,
        loss_thresholds=THRESHOLDS,
        final_window=WINDOW,
        **options,
    )
    return train.train(config, members, jnp.asarray(data["x_test"]), jnp.asarray(data["y_test"]))


@pytest.fixture(scope="module")
def full_batch_pair():
    data, adam = _vectors(n=30), optax.adam(0.05)
    swept = _sweep(
        UserMLP,
        data,
        [4],
        loss="mse",
        optimizer=adam,
        epochs=ENGINE_EPOCHS,
        batch_size=None,
        loss_thresholds=THRESHOLDS,
        final_window=WINDOW,
    )
    return swept, _engine(data, train.Optimizer.of(adam))


@pytest.mark.slow  # end to end: compiles a sweep and the engine
def test_full_batch_training_equals_the_engines_full_batch_run(full_batch_pair):
    swept, engine = full_batch_pair
    # Full batch: an epoch is one step, and its loss is the exact loss of the parameters
    # it starts from (the engine's train_loss_curve="full"). float32, other scan lengths.
    np.testing.assert_allclose(swept.loss_curves[("data", 0, 4)], engine.train_loss, rtol=1e-5)
    np.testing.assert_allclose(
        swept.curves[("data", 0, 4)]["test_loss"][:, -1], engine.test_loss[:, -1], rtol=1e-5
    )
    assert swept.sets["data"] == {"n_train": 30, "epochs": ENGINE_EPOCHS, "steps": ENGINE_EPOCHS}


@pytest.mark.slow  # end to end: compiles a sweep and the engine
def test_first_epoch_below_each_threshold_equals_the_engines(full_batch_pair):
    swept, engine = full_batch_pair
    below = swept.first_epoch_below[("data", 0, 4)]
    np.testing.assert_array_equal(below, engine.first_epoch_below)
    curve = swept.loss_curves[("data", 0, 4)]
    for seed in range(2):  # and the first epoch of the curve below each, by hand
        for index, threshold in enumerate(THRESHOLDS):
            crossed = np.flatnonzero(curve[seed] < threshold)
            assert below[seed, index] == (crossed[0] if crossed.size else -1)
    assert (below[:, 0] >= 0).all() and (below[:, -1] == -1).all()  # crossed, and never
    assert [r["first_epoch_below"] for r in swept.rows()] == below.tolist()


@pytest.mark.slow  # end to end: compiles a sweep and the engine
def test_final_window_median_equals_the_engines(full_batch_pair):
    swept, engine = full_batch_pair
    final = swept.final_train_loss[("data", 0, 4)]
    np.testing.assert_allclose(final, engine.final_train_loss, rtol=1e-5)
    curve = swept.loss_curves[("data", 0, 4)]
    np.testing.assert_allclose(final, np.median(curve[:, -WINDOW:], axis=1), rtol=1e-7)
    summary = swept.summary()[0]
    assert math.isclose(summary["final_train_loss"], float(np.mean(final)), rel_tol=1e-6)


def _sgd_with_kernel_decay_by_hand(data, rate, decay):
    """``[seed, epoch]`` losses of full-batch SGD with λθ added to each kernel's gradient,
    written out on width 4's draws (as ``width_sweep`` draws them, key 0)."""
    family = module_family.ModuleFamily(UserMLP, (6,))
    loss_fn = objectives.make_loss_fn(family, module_sweep.make_loss_objective("mse", None, False))
    member = lambda s: jax.random.fold_in(jax.random.fold_in(jax.random.key(0), 4), s)  # noqa: E731
    params = sweep.draw_initial_params(family, jnp.stack([member(0), member(1)]), [4, 4], 4)
    x, y = jnp.asarray(data["x_train"]), jnp.asarray(data["y_train"])

    def step(params, _):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        decayed = lambda path, g, p: g + decay * p if path[-1].key == "kernel" else g  # noqa: E731
        grads = jax.tree_util.tree_map_with_path(decayed, grads, params)
        return jax.tree.map(lambda p, g: p - rate * g, params, grads), loss

    def run(params):
        params, losses = jax.lax.scan(step, params, None, length=ENGINE_EPOCHS)
        return jnp.append(losses, loss_fn(params, x, y))

    return np.asarray(jax.jit(jax.vmap(run))(params))


@pytest.mark.slow  # end to end: compiles a sweep and the loop by hand
def test_kernel_weight_decay_as_an_optax_mask_equals_sgd_with_kernel_decay_by_hand():
    data, rate, decay = _vectors(n=30), 0.05, 0.1
    optimizer = optax.chain(optax.add_decayed_weights(decay, mask=kernels_only), optax.sgd(rate))
    swept = _sweep(
        UserMLP, data, [4], loss="mse", optimizer=optimizer, epochs=ENGINE_EPOCHS, batch_size=None
    )
    by_hand = _sgd_with_kernel_decay_by_hand(data, rate, decay)
    np.testing.assert_allclose(swept.loss_curves[("data", 0, 4)], by_hand, rtol=1e-5)
    plain = _sweep(
        UserMLP, data, [4], loss="mse", optimizer=optax.sgd(rate), epochs=ENGINE_EPOCHS
    )  # the decay does something
    assert not np.allclose(swept.loss_curves[("data", 0, 4)], plain.loss_curves[("data", 0, 4)])


@pytest.mark.slow  # end to end: compiles a sweep and the engine
def test_a_snapshot_at_matched_loss_and_its_statistics_equal_the_engines():
    data, adam, level = _vectors(n=32), optax.adam(0.05), 1.0
    swept = _sweep(
        UserMLP, data, [4], loss="mse", optimizer=adam, epochs=ENGINE_EPOCHS, batch_size=16,
        snapshot_below=level, statistics=["grad_norm_sq", "top_eigenvalue"],
    )  # fmt: skip
    engine = _engine(
        data,
        train.Optimizer.of(adam),
        batch_size=16,
        snapshot_below=level,
        keep_recorded_params=False,
    )
    epochs = swept.snapshot_epoch[("data", 0, 4)]
    np.testing.assert_array_equal(epochs, engine.snapshot_epoch)
    assert (epochs > 0).all()  # reached, after some training
    # The snapshot makes every epoch's loss exact, as the engine's "full" curve.
    np.testing.assert_allclose(swept.loss_curves[("data", 0, 4)], engine.train_loss, rtol=1e-5)
    assert (swept.loss_curves[("data", 0, 4)][np.arange(2), epochs] < level).all()
    family = module_family.ModuleFamily(UserMLP, (6,))
    loss_fn = objectives.make_loss_fn(family, module_sweep.make_loss_objective("mse", None, False))
    x, y = jnp.asarray(data["x_train"]), jnp.asarray(data["y_train"])
    for seed in range(2):
        params = jax.tree.map(lambda a, s=seed: a[s], engine.snapshot_params)
        params = jax.tree.map(jnp.asarray, module_family.unpad_params(family, params, 4))
        expected = gradstats.gradient_stats(loss_fn, params, x, y, 16)["grad_norm_sq"]
        seed_key = jax.random.fold_in(jax.random.fold_in(jax.random.key(0), 4), seed)
        probe = jax.random.fold_in(
            jax.random.fold_in(seed_key, streams.CURVATURE_STREAM), sweep_measure.SNAPSHOT_PROBE
        )
        top = curvature.hessian_top_eigenvalue(loss_fn, params, x, y, key=probe)
        got = swept.snapshot_statistics[("data", 0, 4)]
        np.testing.assert_allclose(got["grad_norm_sq"][seed], expected, rtol=1e-4)
        np.testing.assert_allclose(got["top_eigenvalue"][seed], top, rtol=1e-4)
    row = swept.rows()[1]
    assert row["snapshot_epoch"] == epochs[1] and "snapshot_top_eigenvalue" in row


@pytest.mark.slow  # end to end: compiles a sweep and the statistics
def test_curvature_and_output_spread_at_record_epochs_equal_the_library_on_the_same_params():
    """Full batch (no batch_size needed for these), two rates sharing each seed's probes.

    Epoch 0 holds the initial draw and epoch 1 one gradient step from it, both computed
    here independently; each statistic is the library's on those parameters with the probe
    key ``sweep_measure.probe_key`` documents (float32: rtol 1e-4)."""
    data, rates, names = _vectors(n=24), (0.01, 0.05), sweep_measure.CURVATURE_STATISTICS
    result = _sweep(
        UserMLP, data, [4], loss="mse", optimizer=optax.sgd, hyperparams={"learning_rate": rates},
        epochs=2, batch_size=None, record_epochs=[0, 1], lanczos_iterations=6, trace_samples=4,
        statistics=[*names, "output_spread"],
    )  # fmt: skip
    family = module_family.ModuleFamily(UserMLP, (6,))
    loss_fn = objectives.make_loss_fn(family, module_sweep.make_loss_objective("mse", None, False))
    x, y = jnp.asarray(data["x_train"]), jnp.asarray(data["y_train"])
    for index, rate in enumerate(rates):
        got = result.statistics[("data", index, 4)]
        for seed in range(2):
            key = jax.random.fold_in(jax.random.fold_in(jax.random.key(0), 4), seed)
            start = nnx.to_pure_dict(nnx.state(UserMLP(4, rngs=nnx.Rngs(key)), nnx.Param))
            step = jax.tree.map(
                lambda p, g, r=rate: p - r * g, start, jax.grad(loss_fn)(start, x, y)
            )
            for slot, params in enumerate((start, step)):
                probe = sweep_measure.probe_key(jax.random.key(0), 4, seed, slot)
                top = curvature.hessian_top_eigenvalue(loss_fn, params, x, y, key=probe,
                                                       iterations=6)  # fmt: skip
                trace, error = curvature.hessian_trace(
                    loss_fn, params, x, y, num_samples=4,
                    key=jax.random.fold_in(probe, sweep_measure.TRACE_PROBE),
                )  # fmt: skip
                spread = jnp.mean(jnp.std(family.apply(params, x), axis=0))
                expected = (top, trace, error, spread)
                for name, value in zip((*names, "output_spread"), expected):
                    np.testing.assert_allclose(got[name][seed, slot], value, rtol=1e-4)
    # Epoch 0 is the same draw and the same probes at every rate (paired comparisons).
    first, second = (result.statistics[("data", i, 4)] for i in range(2))
    for name in names:
        np.testing.assert_array_equal(first[name][:, 0], second[name][:, 0])
        assert not np.array_equal(first[name][:, 1], second[name][:, 1])
    assert result.config["statistics_seconds"] > 0


def test_gradient_statistics_need_a_batch_size_and_curvature_needs_two_probes(monkeypatch):
    monkeypatch.setattr(sweep, "run_width_sweep", lambda *a, **k: pytest.fail("computed"))
    for options, name in (
        (dict(statistics=["noise_scale"], record_epochs=[1], batch_size=None), "noise_scale"),
        (dict(statistics=["hessian_trace"], record_epochs=[1], trace_samples=1), "trace_samples"),
        (dict(statistics=["top_eigenvalue"], record_epochs=[1], lanczos_iterations=0),
         "lanczos_iterations"),
    ):  # fmt: skip
        with pytest.raises(ValueError, match=name):
            _sweep(UserMLP, _vectors(), [4], loss="mse", **options)
