import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import optax
import pytest

from jaxnn import data, models, module_sweep
from jaxnn.studies import double_descent as dd
from jaxnn.studies import double_descent_verdicts as ddv

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("width", [2, 20, 31, 200])
def test_width_at_parameter_count_inverts_the_count(width):
    count = models.parameter_count((8, width, width, 8))
    assert math.isclose(models.width_at_parameter_count(count), width, rel_tol=1e-9)


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
    assert ddv.interpolation_threshold(rows, 1e-3)["width"] == 16
    assert ddv.interpolation_threshold(rows, 1e-9) is None
    assert ddv.test_loss_peak(rows)["width"] == 8


def test_harmful_data_widths_compare_means_width_by_width():
    small = [{"width": 4, "test_loss": 2.0}, {"width": 8, "test_loss": 5.0}]
    large = [{"width": 4, "test_loss": 1.5}, {"width": 8, "test_loss": 6.0}]
    assert ddv.harmful_data_widths({100: small, 200: large}, 100, 200) == [8]


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

    from jaxnn import _train as train

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


@pytest.mark.slow  # the study's --quick run, end to end (shared with the smoke test)
def test_members_of_the_quick_run_equal_the_member_trained_alone(quick_outputs):
    """Width 12 at N = 100, both seeds, trained alone by ``width_sweep`` (one width, one
    set, unpadded, no mesh) against the study's run, where the width shares a padded group,
    the N = 100 sets are padded to N = 200 with rows of weight 0 and the members are sharded
    over the CLI's devices. The draws do not depend on any of that, so only float32 rounding
    separates the test-loss curves: below 1e-5 relative over the first tenth of the run
    (measured: about 1e-7); Adam amplifies it over 300 steps (measured at the end: up to
    6e-4), so 2e-3 there. A wrong draw, set or padding differs by tens of percent."""
    results, _, _ = quick_outputs("double_descent")
    config, n_train, width = dd.QUICK, 100, 12
    key_data, key_init = jax.random.split(jax.random.key(config.seed))
    dataset = data.make_dataset(
        jax.random.fold_in(key_data, n_train), config.data, n_train, n_draws=config.seeds
    )
    alone = module_sweep.width_sweep(
        models.mlp_of_width(8, 8),
        dict(
            x_train=dataset.x_train,
            y_train=dataset.y_train,
            x_test=dataset.x_test,
            y_test=dataset.y_test,
        ),
        widths=[width],
        seeds=config.seeds,
        loss="mse",
        optimizer=optax.adam(config.learning_rate),
        epochs=config.epochs,
        record_epochs=config.epochwise_epochs(),
        key=key_init,
        progress=False,
    )
    assert any(len(g["widths"]) > 1 and width in g["widths"] for g in results["groups"])
    panel = next(p for p in results["epochwise"] if p["n_train"] == n_train)
    assert panel["epochs"] == alone.epochs["data"].tolist()
    study = np.asarray(panel["test_loss_per_seed"][panel["widths"].index(width)])
    trained = alone.curves[("data", 0, width)]["test_loss"]  # [seed, epoch]
    early = np.asarray(panel["epochs"]) < config.epochs // 10
    np.testing.assert_allclose(study[:, early], trained[:, early], rtol=1e-5)
    np.testing.assert_allclose(study, trained, rtol=2e-3)


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
        (dict(widths=(dd.MAX_WIDTH + 1,)), "widths"),
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
