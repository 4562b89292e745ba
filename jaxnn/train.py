r"""The one training loop: jit-compiled optax steps in ``lax.scan``, vmapped over a sweep axis.

Everything is written for one *member* of a sweep (one model, its data, its
learning rate) and lifted with ``jax.vmap``; a sweep of one is an ordinary
training run. Swept quantities (learning rate, weight decay, width masks,
training set, shuffle key) are traced arrays, so a sweep compiles once.

Loop structure::

    Python loop over chunks        (progress bar, one host transfer per chunk)
      jit(vmap(lax.scan over the epochs of a chunk))
        one epoch: full batch, or lax.scan over mini-batches of a fresh shuffle

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
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxnn import models

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

    def __post_init__(self):
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer: unknown {self.optimizer!r}; choose one of {OPTIMIZERS}")
        models.check_activation(self.activation)
        for name in ("epochs", "chunk_epochs", "final_window"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be >= 1, got {getattr(self, name)}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"batch_size: must be >= 1, got {self.batch_size}")
        if not self.explode_factor > 1:
            raise ValueError(f"explode_factor: must be > 1, got {self.explode_factor}")
        if self.snapshot_below is not None and not self.snapshot_below > 0:
            raise ValueError(f"snapshot_below: must be > 0, got {self.snapshot_below}")

    def check_data(self, n_train: int) -> None:
        """Raises if the batch size does not divide the training-set size."""
        if self.batch_size is not None and n_train % self.batch_size:
            raise ValueError(
                f"batch_size: {self.batch_size} does not divide the training-set size {n_train}"
            )


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
    """

    params: Any
    learning_rate: jax.Array
    weight_decay: jax.Array
    x_train: jax.Array
    y_train: jax.Array
    shuffle_key: jax.Array
    hidden_masks: Any = None


class TrainState(NamedTuple):
    params: Any
    opt_state: Any
    initial_loss: jax.Array
    diverged: jax.Array
    first_epoch_below: jax.Array
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


def mse(prediction: jax.Array, target: jax.Array) -> jax.Array:
    """Mean over samples and output dimensions of the squared error."""
    return jnp.mean(jnp.square(prediction - target))


def make_loss_fn(activation: str, hidden_masks=None) -> Callable:
    """``loss_fn(params, x, y)``: the MSE of the (optionally masked) MLP on a batch."""

    def loss_fn(params, x, y):
        return mse(models.apply(params, x, activation=activation, hidden_masks=hidden_masks), y)

    return loss_fn


def make_optimizer(name: str, learning_rate, weight_decay) -> optax.GradientTransformation:
    """L2 on the kernels, then Adam's scaling (or none, for SGD), then the step ``-learning_rate``.

    Built inside the vmapped member function, so ``learning_rate`` and
    ``weight_decay`` may be per-member tracers: no hyperparameter has to live
    in the optimizer state (``optax.inject_hyperparams`` did that at about a
    third more time per step for these small models).
    """
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer: unknown {name!r}; choose one of {OPTIMIZERS}")
    return optax.chain(
        optax.add_decayed_weights(weight_decay, mask=models.kernel_mask),
        optax.scale_by_adam() if name == "adam" else optax.identity(),
        optax.scale_by_learning_rate(learning_rate),
    )


def _where_tree(condition, if_true, if_false):
    return jax.tree.map(lambda a, b: jnp.where(condition, a, b), if_true, if_false)


def init_state(config: TrainConfig, member: Members) -> TrainState:
    """The train state of one member before its first epoch."""
    optimizer = make_optimizer(config.optimizer, member.learning_rate, member.weight_decay)
    loss_fn = make_loss_fn(config.activation, member.hidden_masks)
    return TrainState(
        params=member.params,
        opt_state=optimizer.init(member.params),
        initial_loss=loss_fn(member.params, member.x_train, member.y_train),
        diverged=jnp.array(False),
        first_epoch_below=jnp.full((len(config.loss_thresholds),), -1, jnp.int32),
        snapshot_params=None if config.snapshot_below is None else member.params,
        snapshot_epoch=jnp.array(-1, jnp.int32),
    )


def make_epoch_fn(config: TrainConfig, member: Members) -> Callable:
    """``epoch_fn(params, opt_state, epoch) -> (params, opt_state, loss_before)`` for one member."""
    optimizer = make_optimizer(config.optimizer, member.learning_rate, member.weight_decay)
    loss_fn = make_loss_fn(config.activation, member.hidden_masks)
    value_and_grad = jax.value_and_grad(loss_fn)
    x, y = member.x_train, member.y_train
    n_train = x.shape[0]

    def step(params, opt_state, x_batch, y_batch):
        loss, grads = value_and_grad(params, x_batch, y_batch)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    if config.batch_size is None or config.batch_size == n_train:
        return lambda params, opt_state, epoch: step(params, opt_state, x, y)

    n_batches = n_train // config.batch_size

    def epoch_fn(params, opt_state, epoch):
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


def train_chunk(config: TrainConfig, state: TrainState, member: Members, first_epoch, total_epochs):
    """Runs epochs ``first_epoch .. first_epoch + chunk_epochs - 1`` for one member.

    Epochs at or past ``total_epochs`` leave the state unchanged, so one compiled
    chunk length serves any number of epochs. Returns the new state and the
    training loss before each epoch (NaN past the end).
    """
    epoch_fn = make_epoch_fn(config, member)
    thresholds = jnp.asarray(config.loss_thresholds, jnp.float32)

    def run_epoch(state: TrainState, epoch):
        params, opt_state, loss = epoch_fn(state.params, state.opt_state, epoch)
        exploded = ~jnp.isfinite(loss) | (loss > config.explode_factor * state.initial_loss)
        counting = ~state.diverged & ~exploded
        crossed = counting & (state.first_epoch_below < 0) & (loss < thresholds)
        snapshot_params, snapshot_epoch = state.snapshot_params, state.snapshot_epoch
        if config.snapshot_below is not None:
            # ``loss`` is the loss of ``state.params``, the parameters before this epoch.
            take = counting & (snapshot_epoch < 0) & (loss < config.snapshot_below)
            snapshot_params = _where_tree(take, state.params, snapshot_params)
            snapshot_epoch = jnp.where(take, epoch.astype(jnp.int32), snapshot_epoch)
        # A diverged member keeps training (its numbers are flagged, never used):
        # freezing it would cost a select over every parameter at every step.
        return TrainState(
            params=params,
            opt_state=opt_state,
            initial_loss=state.initial_loss,
            diverged=state.diverged | exploded,
            first_epoch_below=jnp.where(crossed, epoch.astype(jnp.int32), state.first_epoch_below),
            snapshot_params=snapshot_params,
            snapshot_epoch=snapshot_epoch,
        ), loss

    def skip_epoch(state: TrainState, epoch):
        return state, jnp.full((), jnp.nan, state.initial_loss.dtype)

    def body(state: TrainState, epoch):
        # ``epoch`` and ``total_epochs`` are shared by all members (unbatched under vmap),
        # so this stays a real branch, not a select: epochs past the end cost nothing.
        return jax.lax.cond(epoch < total_epochs, run_epoch, skip_epoch, state, epoch)

    epochs = first_epoch + jnp.arange(config.chunk_epochs)
    return jax.lax.scan(body, state, epochs)


def evaluate(config: TrainConfig, params, member: Members, x, y):
    """MSE of one member's network on ``(x, y)``."""
    return make_loss_fn(config.activation, member.hidden_masks)(params, x, y)


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
    """The jitted, vmapped pieces of ``train`` for one config (and mesh), built once.

    Cached on the (hashable, frozen) config so that repeated runs of the same
    structure, e.g. groups of a sweep with equal shapes, reuse compilations.
    With a mesh, every output keeps the member axis split over it: otherwise
    the state that comes out of one chunk could be laid out differently from
    the one that went in, and the next call would compile again.
    """
    member_loss = lambda p, m, x, y: evaluate(config, p, m, x, y)  # noqa: E731
    split = {}
    if mesh is not None and mesh.size > 1:
        split = {"out_shardings": jax.sharding.NamedSharding(
            mesh, jax.sharding.PartitionSpec("sweep"))}
    return (
        jax.jit(jax.vmap(lambda m: init_state(config, m)), **split),
        jax.jit(
            jax.vmap(lambda s, m, e0, t: train_chunk(config, s, m, e0, t),
                     in_axes=(0, 0, None, None)),
            donate_argnums=0, **split,
        ),
        jax.jit(jax.vmap(member_loss, in_axes=(0, 0, None, None)), **split),  # shared test set
        jax.jit(jax.vmap(member_loss), **split),  # each member's own training set
    )


def to_host(x) -> np.ndarray:
    """A (possibly sharded) array as numpy; gathers across processes on multi-host runs."""
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        return np.asarray(multihost_utils.process_allgather(x, tiled=True))
    return np.asarray(x)


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

    init_fn, chunk_fn, eval_fn, eval_own_fn = compiled_functions(config, mesh)
    state = init_fn(members)

    total = config.epochs
    n_chunks = math.ceil(total / config.chunk_epochs)
    losses, test_epochs, test_losses = [], [0], [to_host(eval_fn(state.params, members,
                                                                     x_test, y_test))]
    for chunk in range(n_chunks):
        first = chunk * config.chunk_epochs
        state, chunk_losses = chunk_fn(state, members, jnp.int32(first), jnp.int32(total))
        losses.append(to_host(chunk_losses))  # [member, epoch]; one host sync per chunk
        done = min(first + config.chunk_epochs, total)
        test_epochs.append(done)
        test_losses.append(to_host(eval_fn(state.params, members, x_test, y_test)))
        if progress is not None:
            progress(done - first)

    final_train = to_host(eval_own_fn(state.params, members, members.x_train, members.y_train))
    train_loss = np.concatenate([np.concatenate(losses, axis=1)[:, :total], final_train[:, None]], 1)
    diverged = to_host(state.diverged)
    window = train_loss[:, max(0, total + 1 - config.final_window):]
    final = np.where(diverged, np.nan, np.median(window, axis=1))
    unpad = (lambda tree: tree) if count == diverged.shape[0] else (
        lambda tree: jax.tree.map(lambda a: a[:count], tree))
    return TrainResult(
        params=unpad(state.params),
        train_loss=train_loss[:count],
        test_epochs=np.asarray(test_epochs),
        test_loss=np.stack(test_losses, axis=1)[:count],
        first_epoch_below=to_host(state.first_epoch_below)[:count],
        diverged=diverged[:count],
        final_train_loss=final[:count],
        snapshot_params=None if config.snapshot_below is None else unpad(state.snapshot_params),
        snapshot_epoch=(None if config.snapshot_below is None
                        else to_host(state.snapshot_epoch)[:count]),
    )
