import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnn import _module_family as module_family
from jaxnn import _train as train
from jaxnn import models, objectives

N, D, O = 20, 3, 2
# D -> width -> O networks (the members below have one hidden layer).
RELU = module_family.ModuleFamily(
    functools.partial(models.MLP, input_dim=D, output_dim=O, depth=1), (D,)
)
TANH = module_family.ModuleFamily(
    functools.partial(models.MLP, input_dim=D, output_dim=O, depth=1, activation="tanh"), (D,)
)


def _decayed(scaling):
    """``Optimizer(learning_rate, weight_decay, *more)``: L2 on the kernels, then ``scaling``."""

    def factory(learning_rate, weight_decay, **more):
        decay = optax.add_decayed_weights(weight_decay, mask=models.kernel_mask)
        return optax.chain(decay, scaling(learning_rate, **more))

    return factory


HYPERPARAMS = ("learning_rate", "weight_decay")
ADAM = train.Optimizer(_decayed(optax.adam), HYPERPARAMS)
SGD = train.Optimizer(_decayed(optax.sgd), HYPERPARAMS)
MOMENTUM = train.Optimizer(_decayed(optax.sgd), (*HYPERPARAMS, "momentum"))


@functools.partial(jax.jit, static_argnames=("count", "widths", "scheme"))
def _draw_params(seed, count, widths, scheme):
    """Every member's initial parameters and shuffle key, from keys split from ``seed``."""
    # One program per member count and shape: drawn op by op, every eager op (and each
    # vmapped init) would compile on its own.
    keys = jax.random.split(jax.random.key(seed), count)
    sizes = (D, *widths, O)
    params = jax.vmap(lambda k: models.init(jax.random.fold_in(k, 0), sizes, init_scheme=scheme))(
        keys
    )
    return params, jax.vmap(lambda k: jax.random.fold_in(k, 3))(keys)


def _float():
    """JAX's default float: float64 inside the ``x64`` fixture, float32 otherwise."""
    return jax.dtypes.canonicalize_dtype(np.float64)


def _members(
    seed, learning_rates, widths=(4,), weight_decays=None, scheme="lecun_normal", momenta=None
):
    """Members with their own data and init; unpadded (all the same width)."""
    count, dtype = len(learning_rates), _float()
    params, shuffle_key = _draw_params(seed, count=count, widths=tuple(widths), scheme=scheme)
    # The data with NumPy: no compile, and no test here is about how it is drawn.
    rng = np.random.default_rng(seed)
    hyperparams = {
        "learning_rate": np.asarray(learning_rates, dtype),
        "weight_decay": np.asarray(
            np.zeros(count) if weight_decays is None else weight_decays, dtype
        ),
    }
    if momenta is not None:
        hyperparams["momentum"] = np.asarray(momenta, dtype)
    return train.Members(
        params=params,
        hyperparams=hyperparams,
        x_train=rng.standard_normal((count, N, D)).astype(dtype),
        y_train=rng.standard_normal((count, N, O)).astype(dtype),
        shuffle_key=shuffle_key,
    )


@jax.jit
def _one(members, index):
    """Member ``index`` alone; one compiled slice per members shape, whatever the index."""
    return jax.tree.map(lambda a: jax.lax.dynamic_slice_in_dim(a, index, 1), members)


def _float64(tree):
    """Floating leaves as float64 NumPy arrays (no compile); keys and integers unchanged."""
    return jax.tree.map(
        lambda a: np.asarray(a, np.float64) if jnp.issubdtype(a.dtype, jnp.floating) else a, tree
    )


# Drawn with NumPy: no test here is about how the test set is drawn.
_RNG = np.random.default_rng(99)
X_TEST = _RNG.standard_normal((50, D)).astype(np.float32)
Y_TEST = _RNG.standard_normal((50, O)).astype(np.float32)
X_TEST64, Y_TEST64 = X_TEST.astype(np.float64), Y_TEST.astype(np.float64)
# The three members most tests train: one member count and shape, so one compile per program.
LEARNING_RATES = [0.01, 0.03, 0.05]


# Whole chunks only (the remainder has its own test): one chunk length per member count.
@pytest.mark.parametrize(
    "config",
    [
        train.TrainConfig(optimizer=ADAM, epochs=24, chunk_epochs=8, model=TANH),
        train.TrainConfig(model=RELU, optimizer=SGD, epochs=10, batch_size=5, chunk_epochs=5),
    ],
    ids=["adam-full-batch", "sgd-minibatch"],
)
def test_vmapped_sweep_equals_members_trained_one_by_one(config):
    members = _members(0, LEARNING_RATES, weight_decays=[0.0, 1e-2, 1e-1])
    together = train.train(config, members, X_TEST, Y_TEST)
    for index in range(3):
        alone = train.train(config, _one(members, index), X_TEST, Y_TEST)
        np.testing.assert_allclose(together.train_loss[index], alone.train_loss[0], rtol=2e-5)
        np.testing.assert_allclose(together.test_loss[index], alone.test_loss[0], rtol=2e-5)


@pytest.mark.parametrize(("batch_size", "drop_last"), [(4, False), (6, False), (6, True)])
def test_minibatch_epoch_equals_manual_sgd_over_the_shuffled_batches(x64, batch_size, drop_last):
    """One epoch of the loop = a hand-written SGD pass over the documented permutation.

    With B = 6 and N = 20 the last batch holds the 2 examples left over (its mean loss),
    or, with ``drop_last``, they sit out this epoch.
    """
    members = _float64(_members(1, [0.1]))
    config = train.TrainConfig(
        optimizer=SGD,
        epochs=2,
        batch_size=batch_size,
        drop_last=drop_last,
        chunk_epochs=2,
        model=TANH,
    )
    result = train.train(config, members, X_TEST64, Y_TEST64)
    loss_fn = objectives.make_loss_fn(TANH)
    full, left = divmod(N, batch_size)

    # The hand-written loop as one program: op by op, every eager op compiles on its own.
    @jax.jit
    def manual(members):
        params = jax.tree.map(lambda a: a[0], members.params)
        x, y = members.x_train[0], members.y_train[0]

        def sgd_step(params, batch):
            grads = jax.grad(loss_fn)(params, x[batch], y[batch])
            return jax.tree.map(lambda p, g: p - 0.1 * g, params, grads), None

        for epoch in range(2):
            order = jax.random.permutation(jax.random.fold_in(members.shuffle_key[0], epoch), N)
            # Row k is order[Bk : Bk + B]; scanned, not unrolled: a third of the compile time.
            rows = order[: full * batch_size].reshape(full, batch_size)
            params, _ = jax.lax.scan(sgd_step, params, rows)
            if left and not drop_last:
                params, _ = sgd_step(params, order[full * batch_size :])
        return params, loss_fn(params, x, y)

    params, final_loss = manual(members)
    for got, expected in zip(jax.tree.leaves(result.params), jax.tree.leaves(params)):
        np.testing.assert_allclose(np.asarray(got)[0], expected, rtol=1e-10)
    np.testing.assert_allclose(result.train_loss[0, -1], final_loss, rtol=1e-10)
    assert config.steps_per_epoch(N) == full + (bool(left) and not drop_last)


@jax.jit
def _narrow_and_padded(key):
    """Float64 narrow parameters, the same embedded in zeros at width 8, a shuffle key."""
    narrow = models.init(key, (D, 3, O), dtype=jnp.float64)
    return narrow, RELU.pad_params(narrow, 8), jax.random.split(key, 1)


def test_padded_training_trajectory_equals_narrow(x64):
    """Adam with kernel decay on the narrow model and on it embedded in zeros (float64)."""
    narrow, wide, shuffle_key = _narrow_and_padded(jax.random.key(2))
    rng = np.random.default_rng(3)
    common = dict(
        hyperparams={"learning_rate": np.array([1e-2]), "weight_decay": np.array([1e-3])},
        x_train=rng.standard_normal((1, N, D)),
        y_train=rng.standard_normal((1, N, O)),
        shuffle_key=shuffle_key,
    )
    config = train.TrainConfig(model=RELU, optimizer=ADAM, epochs=40, chunk_epochs=40)
    expand = lambda tree: jax.tree.map(lambda a: np.asarray(a)[None], tree)  # noqa: E731
    narrow_run = train.train(
        config, train.Members(params=expand(narrow), **common), X_TEST64, Y_TEST64
    )
    wide_run = train.train(config, train.Members(params=expand(wide), **common), X_TEST64, Y_TEST64)
    np.testing.assert_allclose(wide_run.train_loss, narrow_run.train_loss, rtol=1e-10)
    np.testing.assert_allclose(wide_run.test_loss, narrow_run.test_loss, rtol=1e-10)


def test_same_seed_identical_different_seed_differs():
    # The sgd-minibatch program and members shape of the vmapped-sweep test: compiled once.
    config = train.TrainConfig(model=RELU, optimizer=SGD, epochs=5, batch_size=5, chunk_epochs=5)
    run = lambda seed: train.train(config, _members(seed, [0.05] * 3), X_TEST, Y_TEST)  # noqa: E731
    first, again, other = run(7), run(7), run(8)
    np.testing.assert_array_equal(first.train_loss, again.train_loss)
    assert not np.allclose(first.train_loss, other.train_loss)


def test_divergence_and_threshold_crossings_are_recorded():
    members = _members(4, [0.05, 50.0], widths=(16,), scheme="he_normal")
    config = train.TrainConfig(
        model=RELU, optimizer=SGD, epochs=200, chunk_epochs=50, loss_thresholds=(0.5, 1e-30)
    )
    result = train.train(config, members, X_TEST, Y_TEST)
    assert result.diverged.tolist() == [False, True]
    assert np.isnan(result.final_train_loss[1]) and np.isfinite(result.final_train_loss[0])
    # The loop's record equals the first epoch below 0.5 found in the stored curve.
    curve = result.train_loss[0]
    expected = np.flatnonzero(curve < 0.5)
    assert result.first_epoch_below[0, 0] == (expected[0] if expected.size else -1)
    assert result.first_epoch_below[0, 1] == -1
    assert result.train_loss.shape == (2, 201)
    assert list(result.test_epochs) == [0, 50, 100, 150, 200]


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"epochs": 0}, "epochs"),
        ({"optimizer": "sgd"}, "optimizer"),
        ({"batch_size": 0}, "batch_size"),
        ({"objective": "hinge"}, "objective"),
        ({"model": "mlp"}, "model"),
        ({"train_loss_curve": "exact"}, "train_loss_curve"),
        ({"eval_batch_size": 0}, "eval_batch_size"),
        ({"chunk_epochs": 0}, "chunk_epochs"),
    ],
)
def test_bad_config_raises(kwargs, name):
    with pytest.raises(ValueError, match=name):
        train.TrainConfig(**{"model": RELU, "optimizer": SGD, **kwargs})


def test_a_batch_larger_than_the_training_set_is_refused():
    members = _members(0, LEARNING_RATES)
    with pytest.raises(ValueError, match="batch_size"):
        train.train(
            train.TrainConfig(model=RELU, optimizer=ADAM, batch_size=N + 1, epochs=1),
            members,
            X_TEST,
            Y_TEST,
        )


def test_snapshot_holds_the_parameters_at_the_first_epoch_below_the_level():
    members = _members(6, [0.05, 0.1], widths=(16,))
    level = 0.9
    config = train.TrainConfig(
        model=RELU, optimizer=SGD, epochs=60, chunk_epochs=20, snapshot_below=level
    )
    result = train.train(config, members, X_TEST, Y_TEST)
    for index in range(2):
        curve = result.train_loss[index]
        below = np.flatnonzero(curve < level)
        assert below.size, "the run must reach the level for this test to mean anything"
        assert result.snapshot_epoch[index] == below[0]
        # Re-train for exactly that many epochs without a snapshot: member ``index``'s
        # parameters must be the snapshot. Both members and chunks of one epoch, so every
        # replay runs the same compiled program.
        short = dataclasses.replace(
            config, epochs=int(below[0]), chunk_epochs=1, snapshot_below=None
        )
        replay = train.train(short, members, X_TEST, Y_TEST)
        for got, expected in zip(
            jax.tree.leaves(result.snapshot_params), jax.tree.leaves(replay.params)
        ):
            np.testing.assert_allclose(
                np.asarray(got)[index], np.asarray(expected)[index], rtol=1e-5, atol=1e-7
            )


def _chunk_and_inputs(config):
    """The chunk function of ``config`` and its inputs for two members, as shapes only.

    ``eval_shape``: lowering and tracing need no compiled init or draw.
    """
    members = jax.eval_shape(lambda: _members(0, [0.01, 0.02], widths=(4,)))
    init_fn, chunk_fn = train.compiled_program(config.program())
    state, _ = jax.eval_shape(init_fn, members, X_TEST, Y_TEST)
    epochs = np.arange(config.chunk_epochs, dtype=np.int32)
    slots = max(len(config.recorded_inside(*chunk)) for chunk in config.chunks())
    targets = np.full((slots,), -1, np.int32)
    return chunk_fn, (state, members, epochs, targets, X_TEST, Y_TEST)


@functools.cache
def _lowered_chunk(config):
    """The training chunk of ``config`` lowered (what a sweep compiles); shared by two tests."""
    chunk_fn, inputs = _chunk_and_inputs(config)
    return chunk_fn.lower(*inputs)


CHUNK_CONFIGS = [
    train.TrainConfig(model=RELU, optimizer=ADAM, epochs=30, chunk_epochs=8),
    train.TrainConfig(
        model=RELU,
        optimizer=SGD,
        epochs=12,
        batch_size=5,
        chunk_epochs=4,
        snapshot_below=0.5,
        record_epochs=(2, 5, 9),
    ),
]


@pytest.mark.parametrize("config", CHUNK_CONFIGS, ids=["adam-full-batch", "sgd-snapshot-record"])
def test_every_float32_dot_of_the_training_chunk_is_exact_float32(config):
    hlo = _lowered_chunk(config).compiler_ir("hlo").as_hlo_text()
    dots = [line for line in hlo.splitlines() if " dot(" in line and "f32[" in line]
    assert dots, "the chunk must contain float32 dots for this test to mean anything"
    for line in dots:
        assert "operand_precision={highest,highest}" in line, line
    # Opting out is explicit and shows in the HLO.
    lax_config = dataclasses.replace(config, matmul_precision="default")
    lax_hlo = _lowered_chunk(lax_config).compiler_ir("hlo").as_hlo_text()
    assert "operand_precision={highest,highest}" not in lax_hlo


@pytest.mark.parametrize("config", CHUNK_CONFIGS, ids=["adam-full-batch", "sgd-snapshot-record"])
def test_the_training_chunk_has_no_conditional(config):
    """A conditional on a traced value would be a host round trip per epoch on a GPU."""
    lowered = _lowered_chunk(config)
    hlo = lowered.compiler_ir("hlo").as_hlo_text()
    assert "conditional(" not in hlo
    assert "stablehlo.case" not in lowered.as_text() and "stablehlo.if" not in lowered.as_text()
    chunk_fn, inputs = _chunk_and_inputs(config)
    jaxpr = jax.make_jaxpr(chunk_fn)(*inputs)
    assert " cond[" not in str(jaxpr) and "cond(" not in str(jaxpr)


def test_a_remainder_chunk_gives_the_same_run_as_one_chunk():
    """12 epochs as 8+4 (a separately compiled remainder) equal one 12-epoch chunk.

    The members and chunks of 8 of the adam vmapped-sweep test: that length is compiled once.
    """
    members = _members(5, LEARNING_RATES)
    chunked = train.train(
        train.TrainConfig(model=TANH, optimizer=ADAM, epochs=12, chunk_epochs=8),
        members,
        X_TEST,
        Y_TEST,
    )
    whole = train.train(
        train.TrainConfig(model=TANH, optimizer=ADAM, epochs=12, chunk_epochs=12),
        members,
        X_TEST,
        Y_TEST,
    )
    np.testing.assert_allclose(chunked.train_loss, whole.train_loss, rtol=1e-6)
    np.testing.assert_allclose(chunked.test_loss[:, -1], whole.test_loss[:, -1], rtol=1e-6)
    assert list(chunked.test_epochs) == [0, 8, 12]
    assert chunked.train_loss.shape == (3, 13)


def test_recorded_epochs_give_the_test_loss_and_parameters_of_a_run_stopped_there():
    # The members shape of the snapshot test (one draw compiled for both).
    members = _members(6, [0.02, 0.05], widths=(16,))
    record = (0, 3, 8, 10, 17, 20)  # inside chunks, on chunk boundaries, and at the end
    config = train.TrainConfig(
        model=RELU,
        optimizer=ADAM,
        epochs=20,
        chunk_epochs=8,
        record_epochs=record,
        keep_recorded_params=True,
    )
    result = train.train(config, members, X_TEST, Y_TEST)
    assert list(result.test_epochs) == [0, 3, 8, 10, 16, 17, 20]
    for k, epoch in enumerate(record):
        if epoch == 0:
            stopped_params = members.params
            stopped_test = result.test_loss[:, 0]
        else:
            # Chunks of one epoch: every stopped run is the same compiled program.
            stopped = train.train(
                dataclasses.replace(
                    config,
                    epochs=epoch,
                    chunk_epochs=1,
                    record_epochs=(),
                    keep_recorded_params=False,
                ),
                members,
                X_TEST,
                Y_TEST,
            )
            stopped_params, stopped_test = stopped.params, stopped.test_loss[:, -1]
        column = list(result.test_epochs).index(epoch)
        np.testing.assert_allclose(result.test_loss[:, column], stopped_test, rtol=1e-5)
        for got, expected in zip(
            jax.tree.leaves(result.recorded_params), jax.tree.leaves(stopped_params)
        ):
            np.testing.assert_allclose(got[:, k], expected, rtol=1e-5, atol=1e-7)


def test_divergence_and_crossings_on_the_host_follow_the_documented_rules():
    loss = np.array(
        [
            [1.0, 0.5, 0.05, 0.01, 0.02],  # crosses 0.1 at 2, 0.03 at 3
            [1.0, 0.2, np.nan, 0.01, 0.01],  # diverges at 2: later crossings ignored
            [1.0, 2e4, 0.5, 0.001, 0.001],
        ]
    )  # explodes (above 1e4 x initial) at 1
    diverged, first = train.divergence_and_crossings(loss, (0.1, 0.03), explode_factor=1e4)
    assert diverged.tolist() == [False, True, True]
    assert first.tolist() == [[2, 3], [-1, -1], [-1, -1]]


@pytest.mark.parametrize("weight_decay", [0.0, 1e-2])
def test_momentum_equals_a_hand_written_heavy_ball_step_by_step(x64, weight_decay):
    """Full batch, float64: the loop's parameters after 6 epochs equal heavy-ball SGD written
    out (PyTorch's ``SGD(momentum=β, weight_decay=λ)``: λθ on the kernels enters the buffer)."""
    members = _float64(_members(11, [0.05], weight_decays=[weight_decay], momenta=[0.9]))
    # 4 + 2 epochs: the momentum buffer must also carry across a chunk boundary.
    config = train.TrainConfig(model=TANH, optimizer=MOMENTUM, epochs=6, chunk_epochs=4)
    result = train.train(config, members, X_TEST64, Y_TEST64)
    loss_fn = objectives.make_loss_fn(TANH)

    # The hand-written loop as one program: op by op, every eager op compiles on its own.
    @jax.jit
    def manual(params, x, y):
        decay = {k: {"kernel": weight_decay, "bias": 0.0} for k in params["layers"]}
        buffer = jax.tree.map(jnp.zeros_like, params)
        for _ in range(6):
            grads = jax.grad(loss_fn)(params, x, y)
            grads = {
                "layers": jax.tree.map(
                    lambda g, p, c: g + c * p, grads["layers"], params["layers"], decay
                )
            }
            buffer = jax.tree.map(lambda b, g: g + 0.9 * b, buffer, grads)
            params = jax.tree.map(lambda p, b: p - 0.05 * b, params, buffer)
        return params, loss_fn(params, x, y)

    params = jax.tree.map(lambda a: a[0], members.params)
    params, final_loss = manual(params, members.x_train[0], members.y_train[0])
    for got, expected in zip(jax.tree.leaves(result.params), jax.tree.leaves(params)):
        np.testing.assert_allclose(np.asarray(got)[0], expected, rtol=1e-10)
    np.testing.assert_allclose(result.train_loss[0, -1], final_loss, rtol=1e-10)


CNN = module_family.ModuleFamily(
    functools.partial(models.MNIST1DCNN, input_length=12, output_dim=3), (12,)
)
N_CLASSIFY = 12


@jax.jit
def _draw_cnns(keys):
    # Jitted: drawing three CNNs op by op takes seconds on 2 cores.
    params = jax.vmap(lambda k: CNN.init(jax.random.fold_in(k, 0), 4))(keys)
    return params, jax.vmap(lambda k: jax.random.fold_in(k, 3))(keys)


def _classification_members(seed, learning_rates, momenta):
    """CNN members, each with its own init, inputs [N, 12] and integer labels in 0..2."""
    count = len(learning_rates)
    params, shuffle_key = _draw_cnns(jax.random.split(jax.random.key(seed), count))
    rng = np.random.default_rng(seed)
    return train.Members(
        params=params,
        hyperparams={
            "learning_rate": np.asarray(learning_rates, np.float32),
            "weight_decay": np.full(count, 1e-3, np.float32),
            "momentum": np.asarray(momenta, np.float32),
        },
        x_train=rng.standard_normal((count, N_CLASSIFY, 12)).astype(np.float32),
        y_train=rng.integers(0, 3, (count, N_CLASSIFY)).astype(np.int32),
        shuffle_key=shuffle_key,
    )


X_CLASSIFY = _RNG.standard_normal((20, 12)).astype(np.float32)
Y_CLASSIFY = _RNG.integers(0, 3, 20).astype(np.int32)


def test_vmapped_classification_sweep_equals_members_trained_one_by_one():
    """Loss curves and every metric at every measured epoch, float32 (rtol as for MSE sweeps)."""
    members = _classification_members(12, [0.05, 0.1, 0.2], [0.0, 0.5, 0.9])
    config = train.TrainConfig(
        model=CNN,
        objective="softmax_cross_entropy",
        optimizer=MOMENTUM,
        epochs=4,
        chunk_epochs=4,
        batch_size=4,
        train_loss_curve="batches",
        record_epochs=(2,),
    )
    together = train.train(config, members, X_CLASSIFY, Y_CLASSIFY)
    assert list(together.test_epochs) == [0, 2, 4]
    # Every member's error rate on the final parameters, in one program.
    direct_errors = jax.jit(
        jax.vmap(lambda params: objectives.error_rate(CNN.apply(params, X_CLASSIFY), Y_CLASSIFY))
    )(together.params)
    assert set(together.test_metrics) == set(together.train_metrics) == {"loss", "error"}
    for index in range(3):
        alone = train.train(config, _one(members, index), X_CLASSIFY, Y_CLASSIFY)
        np.testing.assert_allclose(together.train_loss[index], alone.train_loss[0], rtol=2e-5)
        for metrics, alone_metrics in (
            (together.test_metrics, alone.test_metrics),
            (together.train_metrics, alone.train_metrics),
        ):
            for name in ("loss", "error"):
                np.testing.assert_allclose(metrics[name][index], alone_metrics[name][0], rtol=2e-5)
        direct = np.asarray(direct_errors)[index]
        np.testing.assert_allclose(together.test_metrics["error"][index, -1], direct, rtol=1e-6)
    np.testing.assert_array_equal(together.test_loss, together.test_metrics["loss"])


def test_blocked_training_run_reports_the_metrics_of_whole_set_evaluation(x64):
    """23 test and 20 training rows in blocks of 6 (last blocks padded): same run, float64."""
    members = _float64(_members(13, [0.05, 0.1]))

    def labels(y):  # integer labels in 0..O-1
        return np.argmax(y, axis=-1)

    members = members._replace(y_train=labels(members.y_train))
    x_test, y_test = X_TEST64[:23], labels(Y_TEST64[:23])
    # A record epoch inside the chunk: its slots are evaluated one by one (lax.map) when blocked.
    whole = train.TrainConfig(
        model=TANH,
        objective="softmax_cross_entropy",
        optimizer=SGD,
        epochs=3,
        chunk_epochs=3,
        record_epochs=(1,),
    )
    blocked = dataclasses.replace(whole, eval_batch_size=6)
    got = train.train(blocked, members, x_test, y_test)
    expected = train.train(whole, members, x_test, y_test)
    np.testing.assert_allclose(got.train_loss, expected.train_loss, rtol=1e-12)
    for part in ("test_metrics", "train_metrics"):
        assert set(getattr(got, part)) == set(getattr(expected, part))
        for name, value in getattr(expected, part).items():
            np.testing.assert_allclose(getattr(got, part)[name], value, rtol=1e-12, err_msg=name)


@pytest.mark.parametrize("objective", ["mse", "softmax_cross_entropy"])
def test_blocked_evaluate_fn_equals_whole_set_evaluation(x64, objective):
    """Blocks of 6 over 23 rows, with and without 0/1 weights, against one pass (float64)."""
    family = TANH
    x, y = X_TEST64[:23], Y_TEST64[:23]
    if objective == "softmax_cross_entropy":
        y = np.argmax(y, axis=-1)
    weights = (np.arange(23) % 3 != 1).astype(np.float64)
    whole = objectives.make_evaluate_fn(family, objective)
    blocked = objectives.make_evaluate_fn(family, objective, eval_batch_size=6)

    # Both evaluations, with and without weights, in one program (one compile, not four).
    @jax.jit
    def evaluations(key, x, y, weights):
        params = models.init(key, (D, 5, O), dtype=jnp.float64)
        return [(whole(params, x, y, w), blocked(params, x, y, w)) for w in (None, weights)]

    for expected, got in evaluations(jax.random.key(14), x, y, weights):
        assert set(got) == set(expected) == set(objectives.get_objective(objective).metrics)
        for name in expected:
            np.testing.assert_allclose(got[name], expected[name], rtol=1e-12, err_msg=name)


def test_compile_cache_is_keyed_on_the_program_fields_only():
    base = train.TrainConfig(model=TANH, optimizer=SGD, epochs=10, chunk_epochs=5)
    bookkeeping = dataclasses.replace(
        base,
        epochs=7,
        chunk_epochs=3,
        loss_thresholds=(0.3,),
        final_window=2,
        record_epochs=(1, 4),
    )
    assert bookkeeping.program() == base.program()
    first = train.compiled_program(base.program())
    again = train.compiled_program(bookkeeping.program())
    assert first[0] is again[0] and first[1] is again[1]
    for changed in (
        dataclasses.replace(base, optimizer=MOMENTUM),
        dataclasses.replace(base, objective="softmax_cross_entropy"),
    ):
        other = train.compiled_program(changed.program())
        assert other[0] is not first[0] and other[1] is not first[1]


def test_members_that_do_not_fit_the_config_raise_naming_the_field():
    members = _members(0, LEARNING_RATES)  # real targets [3, N, O]
    classify = train.TrainConfig(
        model=TANH, optimizer=ADAM, objective="softmax_cross_entropy", epochs=1
    )
    with pytest.raises(ValueError, match="y_train"):
        train.train(classify, members, X_TEST, np.argmax(Y_TEST, axis=-1))
    with pytest.raises(ValueError, match="hyperparams"):  # the members give no momentum
        train.train(
            train.TrainConfig(model=TANH, optimizer=MOMENTUM, epochs=1), members, X_TEST, Y_TEST
        )
