r"""Objectives: a training loss plus named metrics, looked up by name.

An objective is what the one training loop minimises and what it reports.
Every function here takes ``(outputs, targets, weights)`` and returns a
weighted mean over examples, so padded rows (weight 0) and masked members
need no special case (init2winit's ``model_lib/losses.py`` convention):

.. math::
    \bar\ell = \frac{\sum_n w_n\,\ell(\hat y_n, y_n)}{\sum_n w_n},
    \qquad w = \text{None} \Rightarrow w_n = 1 .

- ``mse``: :math:`\ell = \frac1O\lVert\hat y - y\rVert^2`, the mean over output
  dimensions (the project's MSE convention, see ``jaxnn.data``); targets are
  real ``[N, O]``.
- ``softmax_cross_entropy``: :math:`\ell = -\log\operatorname{softmax}(\hat y)_y`
  with integer class labels ``[N]`` (``optax.losses``), and the metric
  ``error``: the fraction misclassified, :math:`[\arg\max_k \hat y_k \ne y]`
  (ties go to the lowest class, as in ``torch.max``).

``Objective.metrics`` always holds ``"loss"`` first; the loop reports every
metric under its name (``train_loss``, ``test_error``, ...).

Objectives are values: ``make_objective`` builds one from any per-example loss
``loss_fn(outputs, targets) -> [N]`` and named per-example metrics, and every
function that takes an objective takes either such a value or a registry name
(``"mse"``, ``"softmax_cross_entropy"``) as a shortcut. ``make_loss_fn`` turns a
model and an objective into ``loss_fn(params, x, y)``, the one signature the
statistics modules (``jaxnn.gradstats``, ``jaxnn.curvature``) take.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

import jax
import jax.numpy as jnp
import optax

MetricFn = Callable[[jax.Array, jax.Array, jax.Array | None], jax.Array]


def weighted_mean(per_example: jax.Array, weights: jax.Array | None) -> jax.Array:
    """The mean of ``per_example[N]``, over the rows of weight 1 when ``weights[N]`` is given."""
    if weights is None:
        return jnp.mean(per_example)
    return jnp.sum(weights * per_example) / jnp.sum(weights)


def mse(outputs: jax.Array, targets: jax.Array, weights: jax.Array | None = None) -> jax.Array:
    """Mean over examples and output dimensions of the squared error.

    Without weights this is one mean over every element (the reduction the
    project's committed results were computed with); with ``weights[N]`` the
    per-example mean over outputs is averaged over the rows of weight 1.

    Example:
        >>> float(mse(jnp.array([[1.0, 2.0]]), jnp.array([[0.0, 0.0]])))
        2.5
    """
    squared = jnp.square(outputs - targets)
    if weights is None:
        return jnp.mean(squared)
    return weighted_mean(jnp.mean(squared, axis=-1), weights)


def softmax_cross_entropy(
    logits: jax.Array, labels: jax.Array, weights: jax.Array | None = None
) -> jax.Array:
    """Mean cross-entropy of ``logits[N, K]`` against integer ``labels[N]`` (``CrossEntropyLoss``).

    Example:
        >>> round(float(softmax_cross_entropy(jnp.zeros((1, 4)), jnp.array([2]))), 4)  # log 4
        1.3863
    """
    per_example = optax.losses.softmax_cross_entropy_with_integer_labels(logits, labels)
    return weighted_mean(per_example, weights)


def per_example_error(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """1 where the largest logit is not the label, else 0 (``error_rate`` before the mean)."""
    return (jnp.argmax(logits, axis=-1) != labels).astype(logits.dtype)


def error_rate(logits: jax.Array, labels: jax.Array, weights: jax.Array | None = None) -> jax.Array:
    """Fraction of examples whose largest logit is not the label.

    Example:
        >>> float(error_rate(jnp.array([[0.0, 1.0], [2.0, 1.0]]), jnp.array([1, 1])))
        0.5
    """
    return weighted_mean(per_example_error(logits, labels), weights)


@dataclasses.dataclass(frozen=True, eq=False)
class Objective:
    """A loss to minimise and the metrics to report, each ``fn(outputs, targets, weights)``.

    Compared and hashed by identity (it is a compile-cache key): build one per
    experiment, or use the registry's.

    Attributes:
        name: the registry name (``OBJECTIVES``).
        metrics: ``{metric name: fn}``; ``"loss"`` first, the function that is minimised.
        integer_targets: targets are class indices ``[N]`` rather than real ``[N, O]``.
    """

    name: str
    metrics: Mapping[str, MetricFn]
    integer_targets: bool = False

    @property
    def loss(self) -> MetricFn:
        return self.metrics["loss"]

    @property
    def metric_names(self) -> tuple[str, ...]:
        return tuple(self.metrics)


OBJECTIVES = {
    "mse": Objective("mse", {"loss": mse}),
    "softmax_cross_entropy": Objective(
        "softmax_cross_entropy",
        {"loss": softmax_cross_entropy, "error": error_rate},
        integer_targets=True,
    ),
}


PerExampleFn = Callable[[jax.Array, jax.Array], jax.Array]


def per_example_metric(fn: PerExampleFn) -> MetricFn:
    """``fn(outputs, targets) -> [N]`` as a weighted mean ``metric(outputs, targets, weights)``."""

    def metric(outputs, targets, weights=None):
        return weighted_mean(fn(outputs, targets), weights)

    return metric


def make_objective(
    loss_fn: PerExampleFn,
    *,
    metrics: Mapping[str, PerExampleFn] | None = None,
    integer_targets: bool,
    name: str | None = None,
) -> Objective:
    """An objective from a per-example loss and per-example metrics.

    Args:
        loss_fn: ``loss_fn(outputs[N, ...], targets[N, ...]) -> [N]``, what is minimised.
        metrics: further ``{name: fn(outputs, targets) -> [N]}`` to report (e.g.
            ``{"error": per_example_error}``); ``"loss"`` is reserved.
        integer_targets: targets are class indices ``[N]``.
        name: how results name it (default: the loss function's ``__name__``).

    Example:
        >>> hinge = lambda out, y: jnp.maximum(0.0, 1.0 - out[..., 0] * y)
        >>> objective = make_objective(hinge, integer_targets=False, name="hinge")
        >>> float(objective.loss(jnp.array([[0.5]]), jnp.array([1.0])))
        0.5
    """
    if not callable(loss_fn):
        raise ValueError(
            f"loss: need a name or a callable (outputs, labels) -> [N], got {loss_fn!r}"
        )
    metrics = dict(metrics or {})
    if "loss" in metrics:
        raise ValueError("metrics: 'loss' is the objective's own name; call the metric otherwise")
    for metric_name, fn in metrics.items():
        if not callable(fn):
            raise ValueError(f"metrics: {metric_name!r} is not callable, got {fn!r}")
    return Objective(
        name or getattr(loss_fn, "__name__", "loss"),
        {"loss": per_example_metric(loss_fn)}
        | {metric_name: per_example_metric(fn) for metric_name, fn in metrics.items()},
        integer_targets=integer_targets,
    )


def get_objective(name: str | Objective) -> Objective:
    """The objective registered as ``name``; an ``Objective`` value is returned as it is.

    Raises:
        ValueError: naming ``objective`` when ``name`` is unknown.
    """
    if isinstance(name, Objective):
        return name
    if not isinstance(name, str) or name not in OBJECTIVES:
        raise ValueError(f"objective: unknown {name!r}; choose one of {sorted(OBJECTIVES)}")
    return OBJECTIVES[name]


def make_loss_fn(
    model, objective: str | Objective = "mse", constants=None, example_weights=None
) -> Callable:
    """``loss_fn(params, x, y)``: the objective's mean loss of the model, the signature every
    statistic takes (``jaxnn.gradstats``, ``jaxnn.curvature``).

    ``model`` is a model family (``model.apply(params, x, constants)``,
    ``jaxnn._module_family``) and ``constants`` its member's non-trained state;
    ``example_weights[N]`` weigh the rows.
    """
    loss = get_objective(objective).loss

    def loss_fn(params, x, y):
        return loss(model.apply(params, x, constants), y, example_weights)

    return loss_fn


def make_evaluate_fn(
    model, objective: str | Objective, constants=None, *, eval_batch_size: int | None = None
) -> Callable:
    """``evaluate(params, x, y, weights=None) -> {metric: value}``: a model on a whole set.

    With ``eval_batch_size`` the set is taken that many rows at a time (the last
    block padded with rows of weight 0) and the weighted sums are added up, so
    activations never exceed one block; every metric is a weighted mean.
    """
    names = get_objective(objective).metric_names

    def whole(params, x, y, weights=None):
        outputs = model.apply(params, x, constants)
        metric_fns = get_objective(objective).metrics
        return {name: metric_fns[name](outputs, y, weights) for name in names}

    if eval_batch_size is None:
        return whole

    def blocked(params, x, y, weights=None):
        count = x.shape[0]
        if weights is None:
            weights = jnp.ones((count,), jnp.float32)
        blocks = -(-count // eval_batch_size)
        pad = blocks * eval_batch_size - count
        grow = lambda a: jnp.pad(a, [(0, pad)] + [(0, 0)] * (a.ndim - 1))  # noqa: E731
        shape = lambda a: grow(a).reshape(blocks, eval_batch_size, *a.shape[1:])  # noqa: E731

        def block_sums(block):
            xb, yb, wb = block
            total = jnp.sum(wb)
            means = whole(params, xb, yb, wb)
            # A block of padding only has total 0: its mean is 0/0, its weighted sum 0.
            return {
                name: jnp.where(total > 0, value * total, 0.0) for name, value in means.items()
            }, total

        sums, totals = jax.lax.map(block_sums, (shape(x), shape(y), shape(weights)))
        return {name: jnp.sum(value) / jnp.sum(totals) for name, value in sums.items()}

    return blocked
