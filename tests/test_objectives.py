import math

import jax
import numpy as np
import pytest

from jaxnn import objectives

# Three rows, three classes. Row 0 is right (argmax 0), row 1 wrong (argmax 2, label 1),
# row 2 wrong (argmax 0, label 2).
LOGITS = [[2.0, 0.0, 0.0], [0.0, 1.0, 3.0], [1.0, -1.0, 0.5]]
LABELS = [0, 1, 2]

# Each test evaluates its cases in one jitted program, inputs as NumPy arrays: run eagerly,
# every jnp op (and every index of a jax array) compiles a program of its own.


def _hand_cross_entropy():
    """-log softmax(logits)_label for each row, written out term by term."""
    e = math.exp
    return [
        -math.log(e(2) / (e(2) + e(0) + e(0))),
        -math.log(e(1) / (e(0) + e(1) + e(3))),
        -math.log(e(0.5) / (e(1) + e(-1) + e(0.5))),
    ]


def test_mse_against_hand_computed_values(x64):
    """Unweighted: one mean over all 6 elements; weighted: the mean of rows 0 and 2's row means."""
    outputs = np.array([[1.0, 2.0], [3.0, 5.0], [0.0, -1.0]])
    targets = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    weights = np.array([1.0, 0.0, 1.0])
    kept = np.array([0, 2])

    @jax.jit
    def values(outputs, targets, weights, outputs_kept, targets_kept):
        return (
            objectives.mse(outputs, targets),
            objectives.mse(outputs, targets, weights),
            objectives.mse(outputs_kept, targets_kept),
        )

    plain, weighted, dropped = values(outputs, targets, weights, outputs[kept], targets[kept])
    # Squared errors [1, 4], [4, 16], [0, 4]: row means 2.5, 10, 2.
    np.testing.assert_allclose(plain, 29 / 6, rtol=1e-14)
    np.testing.assert_allclose(weighted, (2.5 + 2) / 2, rtol=1e-14)
    np.testing.assert_allclose(weighted, dropped, rtol=1e-14)


def test_softmax_cross_entropy_against_hand_computed_values(x64):
    """The mean of the hand-written per-row losses; weight 0 drops row 1."""
    logits, labels = np.array(LOGITS), np.array(LABELS)
    weights = np.array([1.0, 0.0, 1.0])
    kept = np.array([0, 2])

    @jax.jit
    def values(logits, labels, weights, logits_kept, labels_kept):
        return (
            objectives.softmax_cross_entropy(logits, labels),
            objectives.softmax_cross_entropy(logits, labels, weights),
            objectives.softmax_cross_entropy(logits_kept, labels_kept),
        )

    plain, weighted, dropped = values(logits, labels, weights, logits[kept], labels[kept])
    per_row = _hand_cross_entropy()
    np.testing.assert_allclose(plain, sum(per_row) / 3, rtol=1e-12)
    np.testing.assert_allclose(weighted, (per_row[0] + per_row[2]) / 2, rtol=1e-12)
    np.testing.assert_allclose(weighted, dropped, rtol=1e-12)


def test_softmax_cross_entropy_of_equal_logits_is_log_k(x64):
    np.testing.assert_allclose(
        jax.jit(objectives.softmax_cross_entropy)(np.zeros((2, 7)), np.array([0, 6])),
        math.log(7),
        rtol=1e-14,
    )


def test_error_rate_against_hand_counted_values(x64):
    """Rows 1 and 2 are wrong: 2/3; with weights the fraction over the kept rows."""
    logits, labels = np.array(LOGITS), np.array(LABELS)

    @jax.jit
    def values(logits, labels, first_two_logits, first_two_labels, weights):
        return (
            objectives.error_rate(logits, labels),
            objectives.error_rate(first_two_logits, first_two_labels),
            *(objectives.error_rate(logits, labels, w) for w in weights),
        )

    weights = np.array([[1.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    plain, first_two, *weighted = values(logits, labels, logits[:2], labels[:2], weights)
    np.testing.assert_allclose(plain, 2 / 3, rtol=1e-14)
    np.testing.assert_allclose(first_two, 0.5, rtol=1e-14)
    np.testing.assert_allclose(weighted[0], 0.5, rtol=1e-14)
    np.testing.assert_allclose(weighted[1], 0.0, atol=0)
    np.testing.assert_allclose(weighted[2], 1.0, rtol=1e-14)


def test_error_rate_breaks_ties_toward_the_lowest_class():
    """As torch.max and numpy.argmax: a tie is won by the first of the tied classes."""
    logits = np.array([[1.0, 1.0, 0.0], [0.0, 2.0, 2.0], [3.0, 3.0, 3.0]], np.float32)
    lowest = np.array([0, 1, 0], np.int32)
    assert np.array_equal(np.argmax(logits, axis=-1), lowest)
    error_rate = jax.jit(objectives.error_rate)  # one program for both label sets
    assert float(error_rate(logits, lowest)) == 0.0
    assert float(error_rate(logits, np.array([1, 2, 2], np.int32))) == 1.0


def test_unknown_objective_raises_naming_objective():
    with pytest.raises(ValueError, match="objective"):
        objectives.get_objective("hinge")


@pytest.mark.parametrize("name", sorted(objectives.OBJECTIVES))
def test_loss_is_the_first_metric_of_every_objective(name):
    objective = objectives.get_objective(name)
    assert objective is objectives.OBJECTIVES[name] and objective.name == name
    assert objective.metric_names[0] == "loss"
    assert objective.loss is objective.metrics["loss"]
