r"""The one training loop: jit-compiled optax steps in ``lax.scan``, vmapped over a sweep axis.

Everything is written for one *member* of a sweep (one model, its data, its
learning rate) and lifted with ``jax.vmap``; a sweep of one is an ordinary
training run. Swept quantities (learning rate, weight decay, width masks,
training set, example weights, shuffle key) are traced arrays, so a sweep
compiles once.

Loop structure::

    Python loop over chunks        (progress, one host transfer per chunk, one chunk ahead)
      jit(vmap(lax.scan over the epochs of a chunk))     no conditionals inside
        one epoch: full batch, or lax.scan over mini-batches of a fresh shuffle

Why it looks like this on an accelerator: a conditional on a traced value
inside the scan (``lax.cond``) makes XLA:GPU copy the predicate to the host
and wait at every iteration, so the chunk body has none: the last, shorter
chunk is its own compiled scan length, and divergence and threshold
bookkeeping happen on the host from the recorded loss curve. Every matmul is
traced at ``TrainConfig.matmul_precision`` (exact float32 by default, see
``jaxnn.precision``), and the next chunk is dispatched before the host reads
the previous one's outputs, so the device never waits on Python.

Conventions:

- An *epoch* is one pass over the N training points (one step when B = N).
- ``train_loss[e]`` is the full-training-set MSE after ``e`` epochs, e = 0..T.
  With B = N it is the loss the step's ``value_and_grad`` computed anyway.
- The first epoch after which the loss is below each of ``loss_thresholds`` is
  recorded (-1: never).
- A member whose loss becomes non-finite, or exceeds ``explode_factor`` times
  its initial loss, is *diverged*: the result says so, its final training loss
  is NaN, and it is never plotted as a result.
- Weight decay is L2 added to the gradient of the kernels (not the biases)
  before the optimizer, :math:`g \leftarrow g + \lambda\theta`, i.e. PyTorch's
  ``SGD(weight_decay=λ)``.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxnn import models, precision

OPTIMIZERS = ("adam", "sgd")


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """The static structure of a training run (swept values are arrays, see ``Members``).

    Attributes:
        optimizer: ``"adam"`` or ``"sgd"`` (plain SGD, constant learning rate).
        epochs: T, the number of passes over the training set.
        batch_size: B; ``None`` means full batch (B = N).
        activation: hidden activation of the trained networks.
        chunk_epochs: epochs per compiled ``lax.scan`` call (one host sync each).
        loss_thresholds: record the first epoch the training loss goes below each.
        explode_factor: a loss above this times the initial loss counts as diverged.
        final_window: the reported final training loss is the median over the
            last ``final_window`` epochs (Adam in float32 bounces by orders of
            magnitude near zero loss; a median is what the run converged to).
        snapshot_below: if set, keep a copy of the parameters at the first epoch
            the training loss is below this level (``TrainResult.snapshot_params``),
            to compare runs at a matched training loss.
        record_epochs: epochs (between 0 and T) at which the test loss is also
            measured, besides 0 and the end of every chunk: the parameters are
            copied into a buffer when the scan passes such an epoch and evaluated
            after the chunk (epoch-wise curves at log-spaced epochs, curvature
            along a trajectory).
        keep_recorded_params: also return those parameters
            (``TrainResult.recorded_params``).
        matmul_precision: precision of every matmul traced here (see
            ``jaxnn.precision``); ``"highest"`` is exact float32 on every backend.
        flat_adam: run Adam's moment updates on one flat vector per member
            (``optax.flatten``) rather than leaf by leaf: fewer, larger kernels, but a
            concatenation and a split per step. On 2 CPU cores the two are within
            the machine's noise of each other (``experiments/bench_sweep.py`` times
            both in turns, group by group); on by default for the fewer kernels per
            step an accelerator launches (not yet measured on one). The two differ
            in rounding only, which float32 Adam near zero loss amplifies: results
            are reproducible with the same setting.
    """

    optimizer: str = "adam"
    epochs: int = 10_000
    batch_size: int | None = None
    activation: str = "relu"
    chunk_epochs: int = 500
    loss_thresholds: tuple[float, ...] = (1e-3, 1e-5)
    explode_factor: float = 1e4
    final_window: int = 100
    snapshot_below: float | None = None
    record_epochs: tuple[int, ...] = ()
    keep_recorded_params: bool = False
    matmul_precision: str = precision.DEFAULT
    flat_adam: bool = True

    def __post_init__(self):
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer: unknown {self.optimizer!r}; choose one of {OPTIMIZERS}")
        models.check_activation(self.activation)
        precision.check_precision(self.matmul_precision)
        for name in ("epochs", "chunk_epochs", "final_window"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be >= 1, got {getattr(self, name)}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"batch_size: must be >= 1, got {self.batch_size}")
        if not self.explode_factor > 1:
            raise ValueError(f"explode_factor: must be > 1, got {self.explode_factor}")
        if self.snapshot_below is not None and not self.snapshot_below > 0:
            raise ValueError(f"snapshot_below: must be > 0, got {self.snapshot_below}")
        if any(not 0 <= e <= self.epochs for e in self.record_epochs):
            raise ValueError(f"record_epochs: need epochs in 0..{self.epochs}, got {self.record_epochs}")
        if tuple(sorted(set(self.record_epochs))) != tuple(self.record_epochs):
            raise ValueError("record_epochs: must be sorted and unique")

    def check_data(self, n_train: int) -> None:
        """Raises if the batch size does not divide the training-set size."""
        if self.batch_size is not None and n_train % self.batch_size:
            raise ValueError(
                f"batch_size: {self.batch_size} does not divide the training-set size {n_train}"
            )

    def chunks(self) -> list[tuple[int, int]]:
        """``(first_epoch, length)`` of every compiled call: full chunks, then the remainder.

        The remainder is its own, separately compiled scan length, so no epoch
        inside a compiled chunk needs a conditional on whether it is past the end.
        """
        starts = range(0, self.epochs, self.chunk_epochs)
        return [(first, min(self.chunk_epochs, self.epochs - first)) for first in starts]

    def recorded_inside(self, first: int, length: int) -> list[int]:
        """Record epochs whose starting parameters the chunk at ``first`` copies.

        The end of the run (epoch T) is not among them: it is the final state.
        """
        return [e for e in self.record_epochs if first <= e < first + length]

    @property
    def record_slots(self) -> int:
        """The most record epochs inside one chunk: the largest parameter buffer."""
        return max((len(self.recorded_inside(*c)) for c in self.chunks()), default=0)


class Members(NamedTuple):
    """What differs between the members of a sweep; every leaf has a leading ``[member]`` axis.

    Attributes:
        params: initial parameters, ``[member, ...]``.
        learning_rate: ``[member]``.
        weight_decay: ``[member]``.
        x_train: ``[member, N, d]``.
        y_train: ``[member, N, O]``.
        shuffle_key: ``[member]`` typed keys for the mini-batch order.
        hidden_masks: ``None`` or one ``[member, padded_width]`` 0/1 array per hidden layer.
        example_weights: ``None`` or ``[member, N]`` 0/1: rows with weight 0 are
            padding, so members with different training-set sizes share one
            program (full batch only; the loss is the mean over the real rows).
    """

    params: Any
    learning_rate: jax.Array
    weight_decay: jax.Array
    x_train: jax.Array
    y_train: jax.Array
    shuffle_key: jax.Array
    hidden_masks: Any = None
    example_weights: jax.Array | None = None


class TrainState(NamedTuple):
    params: Any
    opt_state: Any
    snapshot_params: Any  # params at the first epoch below ``snapshot_below`` (None: off)
    snapshot_epoch: jax.Array  # -1 until taken


class TrainResult(NamedTuple):
    """Per-member results of a sweep (host numpy arrays except ``params``).

    Attributes:
        params: final parameters ``[member, ...]`` (device arrays).
        train_loss: ``[member, epoch]``, after e = 0..T epochs.
        test_epochs: ``[k]`` epochs at which the test loss was measured.
        test_loss: ``[member, k]``.
        first_epoch_below: ``[member, threshold]``, -1 where never.
        diverged: ``[member]``.
        final_train_loss: ``[member]`` median over the last ``final_window`` epochs.
        snapshot_params: ``[member, ...]`` parameters when the training loss first
            went below ``config.snapshot_below`` (``None`` if not configured).
        snapshot_epoch: ``[member]`` that epoch, -1 where never (``None`` if not configured).
        recorded_params: ``[member, k, ...]`` parameters after ``config.record_epochs[k]``
            epochs (host arrays; ``None`` unless ``config.keep_recorded_params``).
    """

    params: Any
    train_loss: np.ndarray
    test_epochs: np.ndarray
    test_loss: np.ndarray
    first_epoch_below: np.ndarray
    diverged: np.ndarray
    final_train_loss: np.ndarray
    snapshot_params: Any = None
    snapshot_epoch: np.ndarray | None = None
    recorded_params: Any = None


def mse(prediction: jax.Array, target: jax.Array, example_weights=None) -> jax.Array:
    """Mean over samples and output dimensions of the squared error.

    With ``example_weights[N]`` (0/1), the mean runs over the rows of weight 1 only.
    """
    squared = jnp.square(prediction - target)
    if example_weights is None:
        return jnp.mean(squared)
    per_example = jnp.mean(squared, axis=-1)
    return jnp.sum(example_weights * per_example) / jnp.sum(example_weights)


def make_loss_fn(activation: str, hidden_masks=None, example_weights=None) -> Callable:
    """``loss_fn(params, x, y)``: the MSE of the (optionally masked) MLP on a batch."""

    def loss_fn(params, x, y):
        prediction = models.apply(params, x, activation=activation, hidden_masks=hidden_masks)
        return mse(prediction, y, example_weights)

    return loss_fn


def make_optimizer(name: str, learning_rate, weight_decay, *, flat_adam: bool = False
                   ) -> optax.GradientTransformation:
    """L2 on the kernels, then Adam's scaling (or none, for SGD), then the step ``-learning_rate``.

    Built inside the vmapped member function, so ``learning_rate`` and
    ``weight_decay`` may be per-member tracers: no hyperparameter has to live
    in the optimizer state (``optax.inject_hyperparams`` did that at about a
    third more time per step for these small models). ``flat_adam`` keeps
    Adam's moments as one vector per member (``optax.flatten``).
    """
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer: unknown {name!r}; choose one of {OPTIMIZERS}")
    if name == "adam":
        scaling = optax.flatten(optax.scale_by_adam()) if flat_adam else optax.scale_by_adam()
    else:
        scaling = optax.identity()
    return optax.chain(
        optax.add_decayed_weights(weight_decay, mask=models.kernel_mask),
        scaling,
        optax.scale_by_learning_rate(learning_rate),
    )


def member_loss_fn(config: TrainConfig, member: Members) -> Callable:
    """The training loss of one member (its masks and example weights)."""
    return make_loss_fn(config.activation, member.hidden_masks, member.example_weights)


def member_optimizer(config: TrainConfig, member: Members) -> optax.GradientTransformation:
    return make_optimizer(config.optimizer, member.learning_rate, member.weight_decay,
                          flat_adam=config.flat_adam)


def init_state(config: TrainConfig, member: Members) -> TrainState:
    """The train state of one member before its first epoch."""
    return TrainState(
        params=member.params,
        opt_state=member_optimizer(config, member).init(member.params),
        snapshot_params=None if config.snapshot_below is None else member.params,
        snapshot_epoch=jnp.array(-1, jnp.int32),
    )


def make_epoch_fn(config: TrainConfig, member: Members) -> Callable:
    """``epoch_fn(params, opt_state, epoch) -> (params, opt_state, loss_before)`` for one member."""
    optimizer = member_optimizer(config, member)
    value_and_grad = jax.value_and_grad(member_loss_fn(config, member))
    x, y = member.x_train, member.y_train
    n_train = x.shape[0]

    def step(params, opt_state, x_batch, y_batch):
        loss, grads = value_and_grad(params, x_batch, y_batch)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    if config.batch_size is None or config.batch_size == n_train:
        return lambda params, opt_state, epoch: step(params, opt_state, x, y)

    if member.example_weights is not None:
        raise ValueError("example_weights: padded training sets need full-batch training")
    n_batches = n_train // config.batch_size
    loss_fn = member_loss_fn(config, member)

    def epoch_fn(params, opt_state, epoch):
        # The loss of the parameters the epoch starts from: one extra forward pass
        # over N (a quarter of an epoch's flops at B = N/5), kept because the
        # matched-loss snapshot and the convergence epochs need the exact value.
        loss_before = loss_fn(params, x, y)
        order = jax.random.permutation(jax.random.fold_in(member.shuffle_key, epoch), n_train)
        x_batches = x[order].reshape(n_batches, config.batch_size, -1)
        y_batches = y[order].reshape(n_batches, config.batch_size, -1)

        def batch_step(carry, batch):
            params, opt_state, _ = step(*carry, *batch)
            return (params, opt_state), None

        (params, opt_state), _ = jax.lax.scan(batch_step, (params, opt_state), (x_batches, y_batches))
        return params, opt_state, loss_before

    return epoch_fn


def train_chunk(config: TrainConfig, state: TrainState, member: Members, epochs: jax.Array,
                record_targets: jax.Array, x_test: jax.Array, y_test: jax.Array):
    """Runs the epochs ``epochs[0..L-1]`` of one member in one ``lax.scan``; no conditionals.

    Args:
        epochs: ``[L]`` the epoch numbers (shared by all members).
        record_targets: ``[K]`` epochs whose starting parameters are copied into
            the record buffer (slot i for ``record_targets[i]``).
        x_test, y_test: the shared test set.

    Returns:
        ``(state, outputs)``: ``outputs`` holds ``train_loss[L]`` (loss before each
        epoch), ``end_train_loss`` and ``end_test_loss`` of the final parameters,
        ``record_test_loss[K]`` and, if kept, ``recorded_params[K, ...]``.
    """
    epoch_fn = make_epoch_fn(config, member)
    loss_fn = member_loss_fn(config, member)
    test_loss_fn = make_loss_fn(config.activation, member.hidden_masks)
    slots = record_targets.shape[0]

    def run_epoch(carry, epoch):
        state, recorded = carry
        params, opt_state, loss = epoch_fn(state.params, state.opt_state, epoch)
        snapshot_params, snapshot_epoch = state.snapshot_params, state.snapshot_epoch
        if config.snapshot_below is not None:
            # ``loss`` is the loss of ``state.params``, the parameters before this epoch.
            take = (snapshot_epoch < 0) & (loss < config.snapshot_below)
            snapshot_params = optax.tree_utils.tree_where(take, state.params, snapshot_params)
            snapshot_epoch = jnp.where(take, epoch.astype(jnp.int32), snapshot_epoch)
        if slots:
            # One dynamic slot write per epoch (a no-op rewrite when no target is hit);
            # ``epoch`` is shared by the members, so the slot index is unbatched.
            hit = record_targets == epoch
            slot, any_hit = jnp.argmax(hit), jnp.any(hit)
            recorded = jax.tree.map(
                lambda buffer, p: buffer.at[slot].set(jnp.where(any_hit, p, buffer[slot])),
                recorded, state.params)
        # A diverged member keeps training (its numbers are flagged on the host, never
        # used): freezing it would cost a select over every parameter at every step.
        return (TrainState(params, opt_state, snapshot_params, snapshot_epoch), recorded), loss

    recorded = (jax.tree.map(lambda p: jnp.zeros((slots, *p.shape), p.dtype), state.params)
                if slots else None)
    (state, recorded), losses = jax.lax.scan(run_epoch, (state, recorded), epochs)
    outputs = {
        "train_loss": losses,
        "end_train_loss": loss_fn(state.params, member.x_train, member.y_train),
        "end_test_loss": test_loss_fn(state.params, x_test, y_test),
    }
    if slots:
        outputs["record_test_loss"] = jax.vmap(test_loss_fn, in_axes=(0, None, None))(
            recorded, x_test, y_test)
        if config.keep_recorded_params:
            outputs["recorded_params"] = recorded
    return state, outputs


def sweep_mesh(devices=None) -> jax.sharding.Mesh:
    """A one-dimensional mesh ``("sweep",)`` over all (or the given) devices."""
    devices = jax.devices() if devices is None else devices
    return jax.sharding.Mesh(np.asarray(devices), ("sweep",))


def pad_members(members: Members, multiple: int) -> tuple[Members, int]:
    """Repeats the last member until the sweep axis divides ``multiple``.

    Returns the padded members and the true count; results past it are dropped.
    """
    count = int(members.learning_rate.shape[0])
    extra = (-count) % multiple
    if extra == 0:
        return members, count
    pad = lambda a: jnp.concatenate([a, jnp.repeat(a[-1:], extra, axis=0)], axis=0)  # noqa: E731
    return jax.tree.map(pad, members), count


def shard_members(members: Members, mesh: jax.sharding.Mesh | None) -> tuple[Members, int]:
    """Places the sweep axis across ``mesh`` (padding it to a multiple of its size)."""
    if mesh is None or mesh.size == 1:
        return members, int(members.learning_rate.shape[0])
    members, count = pad_members(members, mesh.size)
    split = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("sweep"))
    return jax.device_put(members, split), count


def replicate(x, mesh: jax.sharding.Mesh | None):
    if mesh is None or mesh.size == 1:
        return x
    return jax.device_put(x, jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec()))


@functools.lru_cache(maxsize=16)
def compiled_functions(config: TrainConfig, mesh: jax.sharding.Mesh | None = None):
    """``(init_fn, chunk_fn)``: the jitted, vmapped pieces of ``train`` for one config and mesh.

    Cached on the (hashable, frozen) config so that repeated runs of the same
    structure, e.g. groups of a sweep with equal shapes, reuse compilations.
    Both are traced at ``config.matmul_precision``. With a mesh, every output
    keeps the member axis split over it: otherwise the state that comes out of
    one chunk could be laid out differently from the one that went in, and the
    next call would compile again. ``chunk_fn`` compiles once per chunk length
    (at most twice: full chunks and the remainder).
    """
    split = {}
    if mesh is not None and mesh.size > 1:
        split = {"out_shardings": jax.sharding.NamedSharding(
            mesh, jax.sharding.PartitionSpec("sweep"))}

    def init(member, x_test, y_test):
        test_loss = make_loss_fn(config.activation, member.hidden_masks)(member.params, x_test, y_test)
        return init_state(config, member), test_loss

    def chunk(state, member, epochs, record_targets, x_test, y_test):
        return train_chunk(config, state, member, epochs, record_targets, x_test, y_test)

    pin = functools.partial(precision.pinned, precision=config.matmul_precision)
    return (
        jax.jit(pin(jax.vmap(init, in_axes=(0, None, None))), **split),
        jax.jit(pin(jax.vmap(chunk, in_axes=(0, 0, None, None, None, None))),
                donate_argnums=0, **split),
    )


def to_host(x) -> Any:
    """A (possibly sharded) array or pytree as numpy; gathers across processes on multi-host runs."""
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        return jax.tree.map(np.asarray, multihost_utils.process_allgather(x, tiled=True))
    return jax.device_get(x)


def divergence_and_crossings(train_loss: np.ndarray, thresholds: Sequence[float],
                             explode_factor: float) -> tuple[np.ndarray, np.ndarray]:
    """``diverged[member]`` and ``first_epoch_below[member, threshold]`` from the loss curves.

    Diverged: a non-finite loss, or one above ``explode_factor`` times the
    initial loss, at any epoch. A crossing counts only before the first such
    epoch (-1: never). Computed on the host from the recorded curve, so the
    compiled loop carries no bookkeeping.
    """
    loss = np.asarray(train_loss, np.float64)
    with np.errstate(invalid="ignore"):
        exploded = ~np.isfinite(loss) | (loss > explode_factor * loss[:, :1])
    first_exploded = np.where(exploded.any(axis=1), exploded.argmax(axis=1), loss.shape[1])
    before = np.arange(loss.shape[1])[None, :] < first_exploded[:, None]
    crossings = np.full((loss.shape[0], len(thresholds)), -1, np.int64)
    for index, threshold in enumerate(thresholds):
        with np.errstate(invalid="ignore"):
            below = before & (loss < threshold)
        crossings[:, index] = np.where(below.any(axis=1), below.argmax(axis=1), -1)
    return exploded.any(axis=1), crossings


def train(
    config: TrainConfig,
    members: Members,
    x_test: jax.Array,
    y_test: jax.Array,
    *,
    mesh: jax.sharding.Mesh | None = None,
    progress: Callable[[int], None] | None = None,
) -> TrainResult:
    """Trains every member of a sweep for ``config.epochs`` epochs.

    Chunks are dispatched one ahead of the host: while chunk k runs, the host
    collects chunk k-1's outputs (one transfer per chunk), so the device never
    waits on Python.

    Args:
        config: static structure of the run.
        members: per-member arrays, leading ``[member]`` axis (see ``Members``).
        x_test, y_test: the shared test set.
        mesh: shard the member axis over this mesh (``None``: default placement).
        progress: called with the number of epochs done after every chunk.

    Returns:
        A ``TrainResult``; arrays indexed ``[member, ...]`` in the given order.
    """
    config.check_data(int(members.x_train.shape[1]))
    if members.learning_rate.ndim != 1:
        raise ValueError("members: learning_rate must be a [member] vector")
    members, count = shard_members(members, mesh)
    x_test, y_test = replicate(x_test, mesh), replicate(y_test, mesh)
    init_fn, chunk_fn = compiled_functions(config, mesh)
    state, initial_test_loss = init_fn(members, x_test, y_test)

    collected: list[tuple[int, int, dict]] = []
    pending = None
    for first, length in config.chunks():
        # The buffer has exactly one slot per record epoch of this chunk: every slot is
        # evaluated on the test set after the chunk, so padding slots would cost a test pass
        # each. A chunk compiles once per (length, slots) pair, in practice two or three.
        inside = config.recorded_inside(first, length)
        targets = np.asarray(inside, np.int32)
        epochs = jnp.arange(first, first + length, dtype=jnp.int32)
        state, outputs = chunk_fn(state, members, epochs, jnp.asarray(targets), x_test, y_test)
        if pending is not None:
            collected.append(_collect(pending, progress))
        pending = (first, length, inside, outputs)
    collected.append(_collect(pending, progress))

    train_loss = np.concatenate([c["train_loss"] for c in collected]
                                + [collected[-1]["end_train_loss"][:, None]], axis=1)
    # Test losses by epoch: the start, every chunk end, and every recorded epoch.
    test_by_epoch = {0: to_host(initial_test_loss)}
    recorded_by_epoch = {}
    for chunk in collected:
        for slot, epoch in enumerate(chunk["record_epochs"]):
            test_by_epoch.setdefault(epoch, chunk["record_test_loss"][:, slot])
            if config.keep_recorded_params:
                recorded_by_epoch[epoch] = jax.tree.map(lambda a, s=slot: a[:, s],
                                                        chunk["recorded_params"])
        test_by_epoch[chunk["end"]] = chunk["end_test_loss"]
    test_epochs = sorted(test_by_epoch)
    diverged, first_below = divergence_and_crossings(train_loss, config.loss_thresholds,
                                                     config.explode_factor)
    window = train_loss[:, max(0, config.epochs + 1 - config.final_window):]
    final = np.where(diverged, np.nan, np.median(window, axis=1))
    unpad = (lambda tree: tree) if count == diverged.shape[0] else (
        lambda tree: jax.tree.map(lambda a: a[:count], tree))
    recorded_params = None
    if config.keep_recorded_params:
        if config.epochs in config.record_epochs:
            recorded_by_epoch[config.epochs] = to_host(state.params)
        recorded_params = jax.tree.map(lambda *leaves: np.stack(leaves, axis=1),
                                       *[recorded_by_epoch[e] for e in config.record_epochs])
    return TrainResult(
        params=unpad(state.params),
        train_loss=train_loss[:count],
        test_epochs=np.asarray(test_epochs),
        test_loss=np.stack([test_by_epoch[e] for e in test_epochs], axis=1)[:count],
        first_epoch_below=first_below[:count],
        diverged=diverged[:count],
        final_train_loss=final[:count],
        snapshot_params=None if config.snapshot_below is None else unpad(state.snapshot_params),
        snapshot_epoch=(None if config.snapshot_below is None
                        else to_host(state.snapshot_epoch)[:count]),
        recorded_params=None if recorded_params is None else unpad(recorded_params),
    )


def _collect(pending, progress) -> dict:
    """Moves one chunk's outputs to the host (the chunk's one sync) and reports progress."""
    first, length, inside, outputs = pending
    host = dict(to_host(outputs))
    if progress is not None:
        progress(length)
    host["record_epochs"] = inside
    host["end"] = first + length
    return host
