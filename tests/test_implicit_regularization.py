import json
import math

import jax
import numpy as np
import pytest

from jaxnn import gradstats, train
from jaxnn.studies import implicit_regularization as ir_lib

N, D, O, SEEDS = 20, 3, 2, 2
SIZES = (D, 6, 6, O)


def _data():
    key_x, key_y = jax.random.split(jax.random.key(5))
    return (jax.random.normal(key_x, (SEEDS, N, D)), jax.random.normal(key_y, (SEEDS, N, O)))


def _one(members, index):
    return jax.tree.map(lambda a: a[index:index + 1], members)


def test_vmapped_learning_rate_sweep_equals_separate_runs():
    x, y = _data()
    grid = ir_lib.make_grid([0.02, 0.1], SEEDS, weight_decays=(0.0, 1e-2))
    members = ir_lib.build_members(jax.random.key(0), grid, x, y, SIZES, "lecun_normal")
    config = train.TrainConfig(optimizer="sgd", epochs=6, batch_size=5, chunk_epochs=3,
                               snapshot_below=10.0)
    x_test, y_test = x[0], y[0]
    together = train.train(config, members, x_test, y_test)
    stats = ir_lib.member_gradient_stats(together.params, members.x_train, members.y_train,
                                         activation="relu", batch_size=5)
    loss_fn = train.make_loss_fn("relu")
    for index in range(len(grid.seed)):
        alone = train.train(config, _one(members, index), x_test, y_test)
        np.testing.assert_allclose(together.train_loss[index], alone.train_loss[0], rtol=2e-5)
        params = jax.tree.map(lambda a: a[0], alone.params)
        expected = gradstats.gradient_stats(loss_fn, params, members.x_train[index],
                                            members.y_train[index], 5)
        for name in ir_lib.STAT_NAMES:
            np.testing.assert_allclose(stats[name][index], expected[name], rtol=1e-4)


def test_members_sharing_a_seed_share_data_init_and_batch_order():
    x, y = _data()
    grid = ir_lib.make_grid([0.02, 0.1, 0.3], SEEDS, weight_decays=(1e-3, 1e-2))
    assert len(grid.seed) == 2 * 3 * SEEDS
    members = ir_lib.build_members(jax.random.key(0), grid, x, y, SIZES, "lecun_normal")
    kernels = members.params["layers"][0]["kernel"]
    for a in range(len(grid.seed)):
        for b in range(len(grid.seed)):
            same = grid.seed[a] == grid.seed[b]
            assert np.array_equal(kernels[a], kernels[b]) == same
            assert np.array_equal(members.x_train[a], x[grid.seed[a]])
            assert np.array_equal(jax.random.key_data(members.shuffle_key[a]),
                                  jax.random.key_data(members.shuffle_key[b])) == same


def _arrays(count, **overrides):
    arrays = {
        "final_train_loss": np.full(count, 1e-7), "test_loss": np.full(count, 2.0),
        "diverged": np.zeros(count, bool), "output_spread": np.ones(count),
        "target_spread": np.ones(count), "snapshot_epoch": np.full(count, 10),
        "matched_train_loss": np.full(count, 1e-4),
        "first_epoch_below_convergence": np.full(count, 50),
    }
    for stat in ir_lib.STAT_NAMES:
        arrays[f"final_{stat}"] = np.full(count, 1e-9)
        arrays[f"matched_{stat}"] = np.full(count, 1e-4)
    arrays.update(overrides)
    return arrays


def test_rows_flag_nan_and_collapse_as_diverged_and_hide_their_numbers():
    grid = ir_lib.make_grid([0.1, 1.0, 2.0], 1)
    arrays = _arrays(3, diverged=np.array([False, True, False]),
                     final_train_loss=np.array([1e-7, np.nan, 1.0]),
                     output_spread=np.array([1.0, 1.0, 1e-6]),
                     snapshot_epoch=np.array([10, 3, -1]))
    rows = ir_lib.run_rows(grid, arrays, convergence_level=1e-5, collapse_tol=1e-3)
    assert [r["diverged"] for r in rows] == [False, True, True]
    assert [r["converged"] for r in rows] == [True, False, False]
    assert rows[2]["divergence"] == "collapsed to a constant output"
    assert rows[1]["test_loss"] is None and rows[1]["matched_loss_grad_norm_sq"] is None
    assert rows[0]["matched_loss_grad_norm_sq"] == pytest.approx(1e-4)
    assert rows[2]["final_train_loss"] == 1.0  # a constant predictor's loss is a real number
    summary = ir_lib.decay_summary(rows)
    assert [(r["n_diverged"], r["n_collapsed"]) for r in summary] == [(0, 0), (1, 0), (1, 1)]
    assert math.isnan(summary[2]["test_loss"])  # diverged runs never enter the means
    required = {"learning_rate", "seed", "weight_decay", "final_train_loss", "test_loss",
                "grad_norm_sq", "batch_grad_variance", "matched_loss_grad_norm_sq",
                "matched_loss_batch_grad_variance", "converged", "diverged"}
    assert required <= set(rows[0])


def _synthetic_rows(matched_norm_by_rate, test_by_rate, decay_test, seeds=3):
    """Implicit rows per rate (tiny seed jitter) plus one weight-decay setting."""
    rows = []
    for rate, norm in matched_norm_by_rate.items():
        for seed in range(seeds):
            jitter = 1 + 0.01 * seed
            rows.append({"learning_rate": rate, "seed": seed, "weight_decay": 0.0,
                         "final_train_loss": 1e-12, "test_loss": test_by_rate[rate] * jitter,
                         "converged": True, "diverged": False, "divergence": None,
                         "grad_norm_sq": 1e-14, "batch_grad_variance": 1e-14,
                         "noise_scale": 20.0, "matched_loss_grad_norm_sq": norm * jitter,
                         "matched_loss_batch_grad_variance": norm * jitter / 2,
                         "matched_loss_noise_scale": 10.0, "matched_loss_train_loss": 1e-4,
                         "first_epoch_below_convergence_level": 100})
    for seed in range(seeds):
        rows.append({**rows[seed], "weight_decay": 1e-2, "final_train_loss": 0.1,
                     "converged": False, "test_loss": decay_test * (1 + 0.01 * seed)})
    return rows


def _sentences(rows):
    rate_rows = ir_lib.rate_summary(rows)
    best = ir_lib.best_settings(ir_lib.decay_summary(rows))
    return rate_rows, best, ir_lib.conclusions(rows, rate_rows, best, convergence_level=1e-5,
                                               matched_loss=1e-4)


def test_summaries_average_converged_seeds_and_pick_the_best_settings():
    rows = _synthetic_rows({0.02: 4e-4, 0.08: 1e-4}, {0.02: 2.0, 0.08: 1.5}, decay_test=1.0)
    rate_rows, best, _ = _sentences(rows)
    assert [r["learning_rate"] for r in rate_rows] == [0.02, 0.08]
    np.testing.assert_allclose(rate_rows[0]["matched_loss_grad_norm_sq"], 4e-4 * 1.01)
    np.testing.assert_allclose(rate_rows[0]["matched_loss_grad_norm_sq_per_loss"], 4.04)
    assert best["implicit"]["learning_rate"] == 0.08
    assert best["explicit"]["weight_decay"] == 1e-2
    np.testing.assert_allclose(best["difference"], 1.0 * 1.01 - 1.5 * 1.01)
    table = ir_lib.implicit_penalty_table(rate_rows, n_batches=5)
    np.testing.assert_allclose(table[1]["coefficient"], 0.02)
    np.testing.assert_allclose(table[1]["per_batch_coefficient"], 0.004)
    np.testing.assert_allclose(table[1]["grad_norm_penalty"], 0.02 * 1e-4 * 1.01)


def test_conclusions_follow_the_numbers():
    falling = _sentences(_synthetic_rows({0.02: 4e-4, 0.08: 1e-4}, {0.02: 2.0, 0.08: 1.5},
                                         decay_test=1.0))[2]
    rising = _sentences(_synthetic_rows({0.02: 1e-4, 0.08: 4e-4}, {0.02: 1.5, 0.08: 2.0},
                                        decay_test=3.0))[2]
    assert falling[0].startswith("Every implicit-only run")
    assert "‖∇J‖²/J falls" in falling[1] and "agrees with" in falling[1]
    assert "‖∇J‖²/J rises" in rising[1] and "disagrees with" in rising[1]
    assert "slope -1.00" in falling[1]
    assert "not monotonically" not in falling[1]
    assert "float32 floor" in falling[3]
    assert "Test MSE falls" in falling[4] and "Test MSE rises" in rising[4]
    bumpy = _sentences(_synthetic_rows({0.02: 4e-4, 0.04: 5e-4, 0.08: 1e-4},
                                       {0.02: 2.0, 0.04: 1.8, 0.08: 1.5}, decay_test=1.0))[2]
    assert "not monotonically (it rises between μ = 0.02 and 0.04)" in bumpy[1]
    assert any("not sufficient" in s for s in falling)
    assert any("implicit regularization is sufficient" in s for s in rising)
    # (μ/4)(‖∇J‖² + V)/J = 0.005 · 6e-4 · 1.5 · 1.01 / 1e-4 = 0.02 · 1.5e-4 · 1.01 / 1e-4 ≈ 0.03.
    assert any("0.03–0.03 times the training loss" in s and "meant to hold" in s for s in falling)
    assert "largest in the grid" in falling[-1]


def test_log_log_slope_and_trend_words():
    assert ir_lib.log_log_slope([1, 2, 4], [8, 4, 2]) == pytest.approx(-1.0)
    assert math.isnan(ir_lib.log_log_slope([1, 2], [np.nan, 1.0]))
    assert [ir_lib.trend_word(s) for s in (-1.0, 0.0, 1.0)] == ["falls", "stays flat", "rises"]


def test_quick_run_writes_files_with_finite_numbers(tmp_path):
    import implicit_regularization

    results = implicit_regularization.main(
        ["--quick", "--quiet", "--out", str(tmp_path), "--runs", str(tmp_path / "runs")])
    saved = json.loads((tmp_path / "implicit_regularization.json").read_text())
    for key in ("run", "runs", "rate_summary", "decay_summary", "best", "implicit_penalty",
                "conclusions", "wall_seconds"):
        assert key in saved, key
    assert {"config", "versions", "device", "matmul_precision"} <= set(saved["run"])
    config = results["run"]["config"]
    expected = len(config["learning_rates"]) * config["seeds"] * (1 + len(config["weight_decays"]))
    assert len(saved["runs"]) == expected
    for row in saved["runs"]:
        assert not row["diverged"]
        for key in ("final_train_loss", "test_loss", "grad_norm_sq", "batch_grad_variance"):
            assert math.isfinite(row[key]) and row[key] >= 0, (key, row)
    converged = [r for r in saved["runs"] if r["converged"]]
    assert converged, "the quick preset must converge somewhere for its statistics to mean much"
    for row in converged:
        assert math.isfinite(row["matched_loss_grad_norm_sq"])
        assert row["matched_loss_train_loss"] < config["matched_loss"]
    assert all(isinstance(s, str) and s for s in saved["conclusions"])
    markdown = (tmp_path / "implicit_regularization.md").read_text()
    assert markdown.startswith("Network 8 →") and markdown.count("![") == 5
    for name in ("convergence", "grad_stats", "test_loss", "noise_scale", "weight_decay"):
        assert (tmp_path / f"implicit_regularization_{name}.png").stat().st_size > 10_000


@pytest.mark.parametrize("argv, name", [(["--learning-rates", "0.1,abc"], "--learning-rates"),
                                        (["--learning-rates", "inf"], "--learning-rates"),
                                        (["--weight-decays", "inf"], "--weight-decays"),
                                        (["--weight-decays", "0"], "--weight-decays"),
                                        (["--seeds", "0"], "--seeds")])
def test_bad_command_line_exits_2_with_one_line(bad_input, argv, name):
    bad_input("implicit_regularization", argv, name)
