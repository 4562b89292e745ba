import math

import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn import objectives

# Three rows, three classes. Row 0 is right (argmax 0), row 1 wrong (argmax 2, label 1),
# row 2 wrong (argmax 0, label 2).
LOGITS = [[2.0, 0.0, 0.0], [0.0, 1.0, 3.0], [1.0, -1.0, 0.5]]
LABELS = [0, 1, 2]


def _hand_cross_entropy():
    """-log softmax(logits)_label for each row, written out term by term."""
    e = math.exp
    return [
        -math.log(e(2) / (e(2) + e(0) + e(0))),
        -math.log(e(1) / (e(0) + e(1) + e(3))),
        -math.log(e(0.5) / (e(1) + e(-1) + e(0.5))),
    ]


def test_mse_against_hand_computed_values(x64):
    """Unweighted: one mean over all 6 elements; weighted: mean over rows 0 and 2 of the row means."""
    outputs = jnp.array([[1.0, 2.0], [3.0, 5.0], [0.0, -1.0]])
    targets = jnp.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    # Squared errors [1, 4], [4, 16], [0, 4]: row means 2.5, 10, 2.
    np.testing.assert_allclose(objectives.mse(outputs, targets), 29 / 6, rtol=1e-14)
    weights = jnp.array([1.0, 0.0, 1.0])
    np.testing.assert_allclose(objectives.mse(outputs, targets, weights), (2.5 + 2) / 2, rtol=1e-14)
    kept = np.array([0, 2])
    np.testing.assert_allclose(
        objectives.mse(outputs, targets, weights),
        objectives.mse(outputs[kept], targets[kept]),
        rtol=1e-14,
    )


def test_softmax_cross_entropy_against_hand_computed_values(x64):
    """The mean of the hand-written per-row losses; weight 0 drops row 1."""
    logits, labels = jnp.array(LOGITS), jnp.array(LABELS)
    per_row = _hand_cross_entropy()
    np.testing.assert_allclose(
        objectives.softmax_cross_entropy(logits, labels), sum(per_row) / 3, rtol=1e-12
    )
    weights = jnp.array([1.0, 0.0, 1.0])
    np.testing.assert_allclose(
        objectives.softmax_cross_entropy(logits, labels, weights),
        (per_row[0] + per_row[2]) / 2,
        rtol=1e-12,
    )
    kept = np.array([0, 2])
    np.testing.assert_allclose(
        objectives.softmax_cross_entropy(logits, labels, weights),
        objectives.softmax_cross_entropy(logits[kept], labels[kept]),
        rtol=1e-12,
    )


def test_softmax_cross_entropy_of_equal_logits_is_log_k(x64):
    np.testing.assert_allclose(
        objectives.softmax_cross_entropy(jnp.zeros((2, 7)), jnp.array([0, 6])),
        math.log(7),
        rtol=1e-14,
    )


def test_error_rate_against_hand_counted_values(x64):
    """Rows 1 and 2 are wrong: 2/3; with weights the fraction over the kept rows."""
    logits, labels = jnp.array(LOGITS), jnp.array(LABELS)
    np.testing.assert_allclose(objectives.error_rate(logits, labels), 2 / 3, rtol=1e-14)
    np.testing.assert_allclose(objectives.error_rate(logits[:2], labels[:2]), 0.5, rtol=1e-14)
    np.testing.assert_allclose(
        objectives.error_rate(logits, labels, jnp.array([1.0, 0.0, 1.0])), 0.5, rtol=1e-14
    )
    np.testing.assert_allclose(
        objectives.error_rate(logits, labels, jnp.array([1.0, 0.0, 0.0])), 0.0, atol=0
    )
    np.testing.assert_allclose(
        objectives.error_rate(logits, labels, jnp.array([0.0, 1.0, 1.0])), 1.0, rtol=1e-14
    )


def test_error_rate_breaks_ties_toward_the_lowest_class():
    """As torch.max and numpy.argmax: a tie is won by the first of the tied classes."""
    logits = jnp.array([[1.0, 1.0, 0.0], [0.0, 2.0, 2.0], [3.0, 3.0, 3.0]])
    lowest = jnp.array([0, 1, 0])
    assert np.array_equal(np.argmax(np.asarray(logits), axis=-1), np.asarray(lowest))
    assert float(objectives.error_rate(logits, lowest)) == 0.0
    assert float(objectives.error_rate(logits, jnp.array([1, 2, 2]))) == 1.0


def test_unknown_objective_raises_naming_objective():
    with pytest.raises(ValueError, match="objective"):
        objectives.get_objective("hinge")


@pytest.mark.parametrize("name", sorted(objectives.OBJECTIVES))
def test_loss_is_the_first_metric_of_every_objective(name):
    objective = objectives.get_objective(name)
    assert objective is objectives.OBJECTIVES[name] and objective.name == name
    assert objective.metric_names[0] == "loss"
    assert objective.loss is objective.metrics["loss"]
