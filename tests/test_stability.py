import math

import numpy as np
import pytest

from jaxnn import stability


def synthetic_edge_run(rate=0.1, total=1000, every=50, onset=400, start=0.1, late=1.02):
    """A synthetic run at the edge: λ_max rises linearly from start·2/μ to 2/μ by ``onset``,
    then alternates late/(2 - late) times 2/μ; the loss falls smoothly until ``onset`` and
    then rises at every other epoch while still falling overall."""
    edge = 2 / rate
    epochs = np.arange(0, total + 1, every)
    ratio = np.where(
        epochs < onset,
        start + (1 - start) * epochs / onset,
        np.where((epochs // every) % 2 == 0, late, 2 - late),
    )
    e = np.arange(total + 1)
    loss = np.where(e < onset, 2.0 * np.exp(-e / 500), 2.0 * np.exp(-e / 500) * (1 + 0.1 * (e % 2)))
    return epochs, ratio * edge, loss


def test_measures_of_a_synthetic_edge_of_stability_run():
    epochs, top, loss = synthetic_edge_run()
    m = stability.trajectory_measures(epochs, top, loss, 0.1, band=0.1)
    # The first record at or above 0.9·2/μ: 0.1 + 0.9·e/400 >= 0.9 at e >= 355.6 -> epoch 400.
    assert m["onset_epoch"] == 400
    assert m["initial_edge_ratio"] == pytest.approx(0.1)
    assert m["fraction_in_band"] == 1.0
    # Records 500..1000 alternate 1.02 (six of them) and 0.98 (five): the median is 1.02.
    assert m["late_edge_ratio"] == pytest.approx(1.02)
    assert m["sharpening_ratio"] == pytest.approx(10.2)
    assert m["peak_sharpening_ratio"] == pytest.approx(10.2)
    assert m["max_edge_ratio"] == pytest.approx(1.02)
    assert m["loss_rise_fraction_before"] == 0.0  # smooth descent up to the last record below
    assert m["loss_rise_fraction_after"] == pytest.approx(0.5)
    assert m["max_loss_rise_factor"] == pytest.approx(1.1 * math.exp(-1 / 500))
    assert m["final_train_loss"] < m["initial_train_loss"]


def test_measures_without_an_edge():
    epochs = np.arange(0, 501, 50)
    top = np.linspace(1.0, 5.0, epochs.size)  # at most 0.25 of 2/μ = 20
    loss = np.linspace(2.0, 1.0, 501)
    m = stability.trajectory_measures(epochs, top, loss, 0.1, band=0.1)
    assert m["onset_epoch"] is None and m["fraction_in_band"] is None
    assert m["loss_rise_fraction_after"] is None and m["max_loss_rise_factor"] is None
    assert m["loss_rise_fraction_before"] == 0.0
    assert m["max_edge_ratio"] == pytest.approx(0.25)


def test_positions_against_the_edge_are_counted_with_their_range():
    ratios = [0.5, 0.95, 1.08, 1.2, None, float("nan")]
    assert [stability.edge_position(r, 0.1) for r in ratios[:5]] == [
        "below",
        "at",
        "at",
        "above",
        None,
    ]
    counts = stability.position_counts(ratios, 0.1)
    assert (counts["below"], counts["at"], counts["above"], counts["n"]) == (1, 2, 1, 4)
    assert counts["exceeding"] == 2  # 1.08 (inside the band) and 1.2
    assert (counts["edge_ratio_min"], counts["edge_ratio_max"]) == (0.5, 1.2)
    assert stability.position_counts([], 0.1)["n"] == 0
