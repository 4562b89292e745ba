import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from jaxnn import models, sweep, train
from jaxnn.studies import double_descent as dd

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("width", [2, 20, 31, 200])
def test_width_at_parameter_count_inverts_the_count(width):
    count = models.parameter_count((8, width, width, 8))
    assert math.isclose(models.MLPFamily().width_at_parameter_count(count), width, rel_tol=1e-9)


def test_log_spaced_epochs_cover_both_ends():
    epochs = train.log_spaced_epochs(50_000, 200)
    assert epochs[0] == 0 and epochs[-1] == 50_000 and np.all(np.diff(epochs) > 0)


def test_threshold_label():
    assert dd.threshold_label(1e-3) == "1e-3" and dd.threshold_label(1e-5) == "1e-5"


def _rows(train_medians, test_means):
    return [
        {
            "n_train": 100,
            "width": w,
            "n_params": models.parameter_count((8, w, w, 8)),
            "train_loss_median": tr,
            "test_loss": te,
        }
        for w, tr, te in zip((4, 8, 16, 32), train_medians, test_means)
    ]


def test_interpolation_threshold_is_the_smallest_interpolating_width():
    rows = _rows([0.5, 2e-3, 5e-4, 1e-6], [2.0, 5.0, 4.0, 3.0])
    assert dd.interpolation_threshold(rows, 1e-3)["width"] == 16
    assert dd.interpolation_threshold(rows, 1e-9) is None
    assert dd.test_loss_peak(rows)["width"] == 8


def test_harmful_data_widths_compare_means_width_by_width():
    small = [{"width": 4, "test_loss": 2.0}, {"width": 8, "test_loss": 5.0}]
    large = [{"width": 4, "test_loss": 1.5}, {"width": 8, "test_loss": 6.0}]
    assert dd.harmful_data_widths({100: small, 200: large}, 100, 200) == [8]


@pytest.mark.slow  # the study's --quick run, end to end (shared with test_resume)
def test_quick_run_writes_every_field_finite_numbers_and_four_figures(quick_outputs):
    _, out, _ = quick_outputs("double_descent")
    written = json.loads((out / "double_descent.json").read_text())
    for key in (
        "bayes_risk",
        "training_curves",
        "sweep",
        "interpolation_threshold",
        "more_data",
        "wall_seconds",
        "run",
    ):
        assert key in written, key
    for key in ("config", "versions", "device", "seed", "matmul_precision", "command"):
        assert key in written["run"], key
    assert written["run"]["matmul_precision"] == "highest"
    for curve in written["training_curves"]:
        assert {"width", "epochs", "train_loss", "first_epoch_below_1e-3"} <= set(curve)
        assert all(math.isfinite(v) for v in curve["train_loss"])
    for row in written["sweep"]:
        for key in (
            "n_train",
            "width",
            "n_params",
            "train_loss",
            "test_loss",
            "train_loss_std",
            "test_loss_std",
            "n_seeds",
        ):
            assert row[key] is not None and math.isfinite(row[key]), (key, row)
    assert {r["n_train"] for r in written["sweep"]} == {100, 200}
    assert written["bayes_risk"] == 1.0 and written["bayes_check"]["passed"]
    for name in ("curves", "sweep", "more_data", "epochwise"):
        assert (out / f"double_descent_{name}.png").stat().st_size > 10_000
    assert (out / "double_descent.md").read_text().count("![") == 4


@pytest.mark.slow  # the study's --quick run, end to end (shared with test_resume)
def test_resumed_run_reuses_every_part_and_reproduces_the_numbers(
    quick_outputs, tmp_path, monkeypatch
):
    import double_descent

    from jaxnn import train

    results, _, runs = quick_outputs("double_descent")
    shutil.copytree(runs / "double_descent", tmp_path / "runs" / "double_descent")

    def no_training(*args, **kwargs):
        raise AssertionError("every group is finished: a resumed run must not train")

    monkeypatch.setattr(train, "train", no_training)
    resumed = double_descent.main(
        [
            "--quick",
            "--quiet",
            "--no-plot",
            "--resume",
            "--out",
            str(tmp_path / "out"),
            "--runs",
            str(tmp_path / "runs"),
        ]
    )
    assert resumed["sweep"] == results["sweep"]
    assert resumed["training_curves"] == results["training_curves"]


@pytest.mark.parametrize(
    "args, name",
    [
        (["--widths", "0,4"], "--widths"),
        (["--seeds", "0"], "--seeds"),
        (["--epochs", "-5"], "--epochs"),
        (["--widths", "a:b"], "--widths"),
        (["--out", "/proc/forbidden"], "--out"),
        (["--noise-std", "inf"], "--noise-std"),
        (["--widths", "2:100000000"], "--widths"),
        (["--widths", "100000"], "--widths"),
        (["--seed", "99999999999999999999999"], "--seed"),
        (["--widths", ""], "--widths"),
        (["--n-train", "100 200"], "--n-train"),
        (["--n-train", "0,100"], "--n-train"),
        (["--matmul-precision", "fast"], "--matmul-precision"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(bad_input, args, name):
    bad_input("double_descent", args, name)


@pytest.mark.parametrize(
    "fields, name",
    [
        (dict(seeds=0), "seeds"),
        (dict(curve_epochs=0), "curve_epochs"),
        (dict(epochwise_points=-1), "epochwise_points"),
        (dict(widths=(), curve_widths=()), "widths"),
        (dict(curve_widths=(0, 4)), "curve_widths"),
        (dict(n_train=()), "n_train"),
        (dict(widths=(sweep.MAX_WIDTH + 1,)), "widths"),
        (dict(learning_rate=math.inf), "learning_rate"),
        (dict(interpolation_tol=0.0), "interpolation_tol"),
        (dict(seed=-1), "seed"),
    ],
)
def test_config_errors_name_the_field(fields, name):
    with pytest.raises(ValueError, match=f"^{name}:"):
        dd.Config(**fields)


@pytest.mark.slow  # the script in its own process, end to end
def test_the_script_itself_exits_2_with_one_line():
    """End to end through ``__main__``, in a fresh process."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "experiments" / "double_descent.py"), "--noise-std", "inf"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--noise-std" in lines[0], result.stderr
