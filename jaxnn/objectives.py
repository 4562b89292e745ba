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


def error_rate(logits: jax.Array, labels: jax.Array, weights: jax.Array | None = None) -> jax.Array:
    """Fraction of examples whose largest logit is not the label.

    Example:
        >>> float(error_rate(jnp.array([[0.0, 1.0], [2.0, 1.0]]), jnp.array([1, 1])))
        0.5
    """
    wrong = (jnp.argmax(logits, axis=-1) != labels).astype(logits.dtype)
    return weighted_mean(wrong, weights)


@dataclasses.dataclass(frozen=True)
class Objective:
    """A loss to minimise and the metrics to report, each ``fn(outputs, targets, weights)``.

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


def get_objective(name: str) -> Objective:
    """The objective registered as ``name``.

    Raises:
        ValueError: naming ``objective`` when ``name`` is unknown.
    """
    if name not in OBJECTIVES:
        raise ValueError(f"objective: unknown {name!r}; choose one of {sorted(OBJECTIVES)}")
    return OBJECTIVES[name]


def make_evaluate_fn(
    model, objective: str, masks=None, *, eval_batch_size: int | None = None
) -> Callable:
    """``evaluate(params, x, y, weights=None) -> {metric: value}``: a model on a whole set.

    ``model`` is a model family (``jaxnn.models``: ``model.apply(params, x, masks)``).

    With ``eval_batch_size`` the set is taken that many rows at a time (the last
    block padded with rows of weight 0) and the weighted sums are added up, so
    activations never exceed one block; every metric is a weighted mean.
    """
    names = get_objective(objective).metric_names

    def whole(params, x, y, weights=None):
        outputs = model.apply(params, x, masks)
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
