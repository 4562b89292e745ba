"""The notebook parser against printed text written out here, and the committed reference."""

import numpy as np
import pytest

from jaxnn import notebook_reference
from jaxnn.studies import double_descent_mnist1d_analysis

# The notebook's channel counts, as its code builds them.
CNN_CHANNELS = np.concatenate((np.arange(2, 30, 2), np.arange(30, 101, 5))).tolist()

CELL_TEXT = """Training model with   2 hidden variables
Epoch   250, train loss 9.000000, train error 99.00, test loss 9.000000, test error 99.00
Epoch   500, train loss 1.626742, train error 67.15, test loss 1.676046, test error 68.53
Training model with  47 hidden variables
Epoch   500, train loss 0.100000, train error 1.25, test loss 2.500000, test error 41.01
CPU times: user 44min 26s, sys: 21.3 s, total: 44min 47s
Wall time: 1h 11min 12s
"""


def test_a_cell_gives_its_last_epoch_per_width_errors_as_fractions_and_wall_time():
    parsed = notebook_reference.parse_cell_output(CELL_TEXT)
    assert parsed["epochs"] == 500
    assert parsed["wall_time_seconds"] == 3600 + 11 * 60 + 12
    assert parsed["rows"] == [
        {"width": 2, "train_loss": 1.626742, "train_error": 0.6715}
        | {"test_loss": 1.676046, "test_error": 0.6853},
        {"width": 47, "train_loss": 0.1, "train_error": 0.0125}
        | {"test_loss": 2.5, "test_error": 0.4101},
    ]


def test_a_width_without_an_epoch_line_is_refused():
    with pytest.raises(ValueError, match="width 3"):
        notebook_reference.parse_cell_output("Training model with 3 channels\nnothing\n")


def _notebook(cells):
    return {"cells": [{"cell_type": "code", "source": s, "outputs": o} for s, o in cells]}


def test_transcribe_finds_the_three_cells_by_their_opening_comment():
    out = [{"name": "stdout", "text": CELL_TEXT.splitlines(keepends=True)}]
    notebook = _notebook(
        [
            ("%%time\n\n# With label noise\n# Need to reshape the data", out),
            ("%%time\n\n# Without label noise\n\nhidden_variables = 1", out),
            ("%%time\n\n# With label noise\n\nhidden_variables = 1", out),
        ]
    )
    curves = notebook_reference.transcribe(notebook)
    assert [(c["model"], c["label_noise"]) for c in curves] == [
        ("mlp", 0.0),
        ("mlp", 0.15),
        ("cnn", 0.15),
    ]
    assert all(len(c["rows"]) == 2 for c in curves)
    with pytest.raises(ValueError, match="no code cell"):
        notebook_reference.transcribe(_notebook([("# Without label noise", out)]))


def test_committed_reference_is_todays_notebook_with_every_printed_width():
    reference = double_descent_mnist1d_analysis.load_reference()
    assert reference["source"]["commit"].startswith("9129ceb")
    widths = {
        (c["model"], c["label_noise"]): [r["width"] for r in c["rows"]] for c in reference["curves"]
    }
    mlp = np.unique(np.geomspace(2, 300, 20, dtype=int)).tolist()  # as the notebook builds them
    assert widths == {("mlp", 0.0): mlp, ("mlp", 0.15): mlp, ("cnn", 0.15): CNN_CHANNELS}
    for curve in reference["curves"]:
        assert curve["epochs"] == 500
        for row in curve["rows"]:
            assert 0 <= row["train_error"] <= 1 and 0 <= row["test_error"] <= 1
