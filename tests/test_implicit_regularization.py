import json
import math

import jax
import numpy as np
import pytest

from jaxnn import curvature, gradstats, models, train
from jaxnn.studies import implicit_regularization as ir_lib

N, D, O, SEEDS = 20, 3, 2, 2
SIZES = (D, 6, 6, O)


def _data():
    key_x, key_y = jax.random.split(jax.random.key(5))
    return (jax.random.normal(key_x, (SEEDS, N, D)), jax.random.normal(key_y, (SEEDS, N, O)))


def _one(members, index):
    return jax.tree.map(lambda a: a[index : index + 1], members)


def test_vmapped_learning_rate_sweep_equals_separate_runs():
    x, y = _data()
    grid = ir_lib.make_grid([0.02, 0.1], SEEDS, weight_decays=(0.0, 1e-2))
    members = ir_lib.build_members(jax.random.key(0), grid, x, y, SIZES, "lecun_normal")
    config = train.TrainConfig(
        optimizer="sgd", epochs=6, batch_size=5, chunk_epochs=3, snapshot_below=10.0
    )
    x_test, y_test = x[0], y[0]
    together = train.train(config, members, x_test, y_test)
    stats = ir_lib.member_gradient_stats(
        together.params, members.x_train, members.y_train, activation="relu", batch_size=5
    )
    loss_fn = train.make_loss_fn(models.MLPFamily(activation="relu"))
    for index in range(len(grid.seed)):
        alone = train.train(config, _one(members, index), x_test, y_test)
        np.testing.assert_allclose(together.train_loss[index], alone.train_loss[0], rtol=2e-5)
        params = jax.tree.map(lambda a: a[0], alone.params)
        expected = gradstats.gradient_stats(
            loss_fn, params, members.x_train[index], members.y_train[index], 5
        )
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
            assert (
                np.array_equal(
                    jax.random.key_data(members.shuffle_key[a]),
                    jax.random.key_data(members.shuffle_key[b]),
                )
                == same
            )


def _arrays(count, **overrides):
    arrays = {
        "final_train_loss": np.full(count, 1e-7),
        "test_loss": np.full(count, 2.0),
        "diverged": np.zeros(count, bool),
        "output_spread": np.ones(count),
        "target_spread": np.ones(count),
        "snapshot_epoch": np.full(count, 10),
        "matched_train_loss": np.full(count, 1e-4),
        "first_epoch_below_convergence": np.full(count, 50),
    }
    for stat in ir_lib.STAT_NAMES:
        arrays[f"final_{stat}"] = np.full(count, 1e-9)
        arrays[f"matched_{stat}"] = np.full(count, 1e-4)
    for stat in ir_lib.CURVATURE_NAMES:
        arrays[f"final_{stat}"] = np.full(count, 20.0)
        arrays[f"matched_{stat}"] = np.full(count, 10.0)
    arrays.update(overrides)
    return arrays


def test_rows_flag_nan_and_collapse_as_diverged_and_hide_their_numbers():
    grid = ir_lib.make_grid([0.1, 1.0, 2.0], 1)
    arrays = _arrays(
        3,
        diverged=np.array([False, True, False]),
        final_train_loss=np.array([1e-7, np.nan, 1.0]),
        output_spread=np.array([1.0, 1.0, 1e-6]),
        snapshot_epoch=np.array([10, 3, -1]),
    )
    rows = ir_lib.run_rows(grid, arrays, convergence_level=1e-5, collapse_tol=1e-3)
    assert [r["diverged"] for r in rows] == [False, True, True]
    assert [r["converged"] for r in rows] == [True, False, False]
    assert rows[2]["divergence"] == "collapsed to a constant output"
    assert rows[1]["test_loss"] is None and rows[1]["matched_loss_grad_norm_sq"] is None
    assert rows[0]["matched_loss_grad_norm_sq"] == pytest.approx(1e-4)
    assert rows[0]["hessian_top_eigenvalue"] == 20.0 and rows[1]["hessian_trace"] is None
    assert rows[0]["edge_ratio"] == pytest.approx(20.0 * 0.1 / 2)
    assert rows[0]["matched_loss_edge_ratio"] == pytest.approx(10.0 * 0.1 / 2)
    assert rows[2]["matched_loss_edge_ratio"] is None  # no snapshot, no matched curvature
    assert rows[2]["final_train_loss"] == 1.0  # a constant predictor's loss is a real number
    summary = ir_lib.decay_summary(rows)
    assert [(r["n_diverged"], r["n_collapsed"]) for r in summary] == [(0, 0), (1, 0), (1, 1)]
    assert math.isnan(summary[2]["test_loss"])  # diverged runs never enter the means
    required = {
        "learning_rate",
        "seed",
        "weight_decay",
        "final_train_loss",
        "test_loss",
        "grad_norm_sq",
        "batch_grad_variance",
        "matched_loss_grad_norm_sq",
        "matched_loss_batch_grad_variance",
        "converged",
        "diverged",
    }
    assert required <= set(rows[0])


def _synthetic_rows(
    matched_norm_by_rate, test_by_rate, decay_test, seeds=3, edge_ratio=1.03, sharpness_jitter=0.0
):
    """Implicit rows per rate (tiny seed jitter) plus one weight-decay setting.

    λ_max = edge_ratio·2/μ times (1 + sharpness_jitter·seed); tr H = 16 λ_max, p = 1000.
    """
    rows = []
    for rate, norm in matched_norm_by_rate.items():
        for seed in range(seeds):
            jitter = 1 + 0.01 * seed
            top = edge_ratio * 2 / rate * (1 + sharpness_jitter * seed)
            curvature = {
                "hessian_top_eigenvalue": top,
                "hessian_trace": 16 * top,
                "hessian_trace_standard_error": 0.5 * top,
                "hessian_trace_per_parameter": 16 * top / 1000,
                "edge_ratio": top * rate / 2,
            }
            curvature |= {f"matched_loss_{k}": v for k, v in curvature.items()}
            rows.append(
                {
                    "learning_rate": rate,
                    "seed": seed,
                    "weight_decay": 0.0,
                    "final_train_loss": 1e-12,
                    "test_loss": test_by_rate[rate] * jitter,
                    "converged": True,
                    "diverged": False,
                    "divergence": None,
                    "grad_norm_sq": 1e-14,
                    "batch_grad_variance": 1e-14,
                    "noise_scale": 20.0,
                    "matched_loss_grad_norm_sq": norm * jitter,
                    "matched_loss_batch_grad_variance": norm * jitter / 2,
                    "matched_loss_noise_scale": 10.0,
                    "matched_loss_train_loss": 1e-4,
                    "first_epoch_below_convergence_level": 100,
                    **curvature,
                }
            )
    for seed in range(seeds):
        rows.append(
            {
                **rows[seed],
                "weight_decay": 1e-2,
                "final_train_loss": 0.1,
                "converged": False,
                "test_loss": decay_test * (1 + 0.01 * seed),
            }
        )
    return rows


def _sentences(rows):
    rate_rows = ir_lib.rate_summary(rows)
    best = ir_lib.best_settings(ir_lib.decay_summary(rows))
    return (
        rate_rows,
        best,
        ir_lib.conclusions(rows, rate_rows, best, convergence_level=1e-5, matched_loss=1e-4),
    )


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
    falling = _sentences(
        _synthetic_rows({0.02: 4e-4, 0.08: 1e-4}, {0.02: 2.0, 0.08: 1.5}, decay_test=1.0)
    )[2]
    rising = _sentences(
        _synthetic_rows({0.02: 1e-4, 0.08: 4e-4}, {0.02: 1.5, 0.08: 2.0}, decay_test=3.0)
    )[2]
    assert falling[0].startswith("Every implicit-only run")
    assert "‖∇J‖²/J falls" in falling[1] and "agrees with" in falling[1]
    assert "‖∇J‖²/J rises" in rising[1] and "disagrees with" in rising[1]
    assert "slope -1.00" in falling[1]
    assert "not monotonically" not in falling[1]
    assert "float32 floor" in falling[3]
    assert "Test MSE falls" in falling[4] and "Test MSE rises" in rising[4]
    bumpy = _sentences(
        _synthetic_rows(
            {0.02: 4e-4, 0.04: 5e-4, 0.08: 1e-4}, {0.02: 2.0, 0.04: 1.8, 0.08: 1.5}, decay_test=1.0
        )
    )[2]
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


def test_member_curvature_equals_one_by_one(x64):
    """The vmapped, jitted curvature of every member equals ``curvature_stats`` of each alone."""
    x, y = _data()
    grid = ir_lib.make_grid([0.05, 0.2], SEEDS)
    members = ir_lib.build_members(
        jax.random.key(0), grid, x.astype(np.float64), y.astype(np.float64), SIZES, "lecun_normal"
    )
    keys = ir_lib.curvature_keys(jax.random.key(0), grid.seed, ir_lib.FINAL)
    together = ir_lib.member_curvature_stats(
        members.params,
        members.x_train,
        members.y_train,
        keys,
        activation="relu",
        iterations=8,
        num_samples=6,
    )
    loss_fn = train.make_loss_fn(models.MLPFamily(activation="relu"))
    n_params = sum(a[0].size for a in jax.tree.leaves(members.params))
    for index in range(len(grid.seed)):
        params = jax.tree.map(lambda a, i=index: a[i], members.params)
        alone = curvature.curvature_stats(
            loss_fn,
            params,
            members.x_train[index],
            members.y_train[index],
            key=keys[index],
            iterations=8,
            num_samples=6,
        )
        for name, value in alone.items():
            np.testing.assert_allclose(together[name][index], value, rtol=1e-10, err_msg=name)
        np.testing.assert_allclose(
            together["hessian_trace_per_parameter"][index],
            alone["hessian_trace"] / n_params,
            rtol=1e-12,
        )
    # Members sharing a seed share probes (paired across rates); the two places differ.
    matched = ir_lib.curvature_keys(jax.random.key(0), grid.seed, ir_lib.MATCHED)
    data_of = jax.random.key_data
    assert np.array_equal(data_of(keys[0]), data_of(keys[SEEDS]))
    assert not np.array_equal(data_of(keys[0]), data_of(keys[1]))
    assert not np.array_equal(data_of(keys[0]), data_of(matched[0]))


def test_rank_partial_correlations_and_p_values():
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert ir_lib.spearman(x, np.exp(x)) == pytest.approx(1.0)  # monotone, not linear
    assert ir_lib.spearman(x, -(x**3)) == pytest.approx(-1.0)
    assert ir_lib.spearman([1, 1, 2], [1, 2, 3]) == pytest.approx(
        np.corrcoef([0.5, 0.5, 2], [0, 1, 2])[0, 1]
    )
    # Two groups: across groups x and y rise together, within each group they fall.
    groups = [0, 0, 0, 1, 1, 1]
    x = [0.0, 1.0, 2.0, 10.0, 11.0, 12.0]
    y = [2.0, 1.0, 0.0, 12.0, 11.0, 10.0]
    assert ir_lib.pearson(x, y) > 0.9
    within, used = ir_lib.within_group_pearson(groups, x, y)
    assert within == pytest.approx(-1.0) and used == 2
    assert math.isnan(ir_lib.within_group_pearson([0, 1], [1.0, 2.0], [1.0, 2.0])[0])
    # Fisher z: r = tanh(1.96 / sqrt(n - 3)) is the two-sided 5 % point.
    n = 19
    assert ir_lib.correlation_p_value(math.tanh(1.959964 / 4), n) == pytest.approx(0.05, rel=1e-4)
    assert ir_lib.correlation_p_value(math.tanh(1.959964 / 3), n, controls=7) == pytest.approx(
        0.05, rel=1e-4
    )
    assert math.isnan(ir_lib.correlation_p_value(0.5, 3))
    assert [ir_lib.edge_position(r, 0.1) for r in (0.5, 0.95, 1.08, 1.2, None)] == [
        "below",
        "at",
        "at",
        "above",
        None,
    ]


def test_sharpness_summary_and_sentences_follow_the_numbers():
    rates = {0.02: 4e-4, 0.04: 2e-4, 0.08: 1e-4}
    tests = {0.02: 2.0, 0.04: 1.8, 0.08: 1.5}
    at_edge = ir_lib.sharpness_summary(_synthetic_rows(rates, tests, 1.0), tolerance=0.1)
    assert [p["final_positions"]["at"] for p in at_edge["positions"]] == [3, 3, 3]
    assert at_edge["totals"]["matched_loss_"]["n"] == 9 and not at_edge["runs_above"]
    assert at_edge["positions"][0]["edge"] == pytest.approx(100.0)
    assert at_edge["slopes"]["matched_loss_hessian_top_eigenvalue"] == pytest.approx(-1.0)
    lam = at_edge["correlations"]["matched_loss_hessian_top_eigenvalue"]
    assert lam["n"] == 9 and lam["pearson"] > 0.9 and lam["p_value"] < 0.01
    # Within a rate λ_max is constant here: no within-rate correlation can be measured.
    assert math.isnan(lam["within_rate_pearson"])
    at_rows = _synthetic_rows(rates, tests, 1.0)
    sentences = ir_lib.sharpness_conclusions(at_edge, batch_size=20, rows=at_rows)
    assert "9 of 9 sit at the edge" in sentences[0]
    assert (
        "all sit at or below the edge" in sentences[2] and "most sit *at* the edge" in sentences[2]
    )
    assert "18 of 18 exceed 2/μ itself, by up to 3 %" in sentences[2]
    assert "μ^-1.00" in sentences[4]
    assert "only through the learning rate" in sentences[-1]
    assert "for λ_max and tr H/p, flatter runs" in sentences[-1]  # one verdict for both

    below = ir_lib.sharpness_summary(
        _synthetic_rows(rates, tests, 1.0, edge_ratio=0.5), tolerance=0.1
    )
    sentences = ir_lib.sharpness_conclusions(below, batch_size=20)
    assert "most settle below it" in sentences[2]

    # Sharper seeds within each rate also have larger test error: supported within rates too.
    above = ir_lib.sharpness_summary(
        _synthetic_rows(rates, tests, 1.0, edge_ratio=1.15, sharpness_jitter=0.02), tolerance=0.1
    )
    assert len(above["runs_above"]) == 18  # 9 runs x 2 places
    sentences = ir_lib.sharpness_conclusions(above, batch_size=20)
    assert "18 of 18 measurements sit above the edge" in sentences[2]
    within = above["correlations"]["matched_loss_hessian_top_eigenvalue"]
    assert within["within_rate_pearson"] > 0.9
    assert "both across and within learning rates" in sentences[-1]

    # Flatter runs generalizing worse: the verdict says so.
    against = ir_lib.sharpness_summary(
        _synthetic_rows(rates, {0.02: 1.5, 0.04: 1.8, 0.08: 2.0}, 1.0), tolerance=0.1
    )
    assert "generalize *better*" in ir_lib.sharpness_conclusions(against, batch_size=20)[-1]


def test_quick_run_writes_files_with_finite_numbers(tmp_path):
    import implicit_regularization

    results = implicit_regularization.main(
        ["--quick", "--quiet", "--out", str(tmp_path), "--runs", str(tmp_path / "runs")]
    )
    saved = json.loads((tmp_path / "implicit_regularization.json").read_text())
    for key in (
        "run",
        "runs",
        "rate_summary",
        "decay_summary",
        "best",
        "implicit_penalty",
        "conclusions",
        "wall_seconds",
    ):
        assert key in saved, key
    assert {"config", "versions", "device", "matmul_precision"} <= set(saved["run"])
    config = results["run"]["config"]
    expected = len(config["learning_rates"]) * config["seeds"] * (1 + len(config["weight_decays"]))
    assert len(saved["runs"]) == expected
    for row in saved["runs"]:
        assert not row["diverged"]
        for key in (
            "final_train_loss",
            "test_loss",
            "grad_norm_sq",
            "batch_grad_variance",
            "hessian_top_eigenvalue",
            "hessian_trace",
            "hessian_trace_standard_error",
            "hessian_trace_per_parameter",
            "edge_ratio",
        ):
            assert math.isfinite(row[key]) and row[key] >= 0, (key, row)
    converged = [r for r in saved["runs"] if r["converged"]]
    assert converged, "the quick preset must converge somewhere for its statistics to mean much"
    for row in converged:
        assert math.isfinite(row["matched_loss_grad_norm_sq"])
        assert row["matched_loss_train_loss"] < config["matched_loss"]
        for key in ("hessian_top_eigenvalue", "hessian_trace", "edge_ratio"):
            assert math.isfinite(row[f"matched_loss_{key}"]) and row[f"matched_loss_{key}"] > 0
        # λ_max bounds the mean eigenvalue tr H / p from above.
        assert row["hessian_top_eigenvalue"] >= row["hessian_trace_per_parameter"]
    assert all(isinstance(s, str) and s for s in saved["conclusions"])
    assert all(isinstance(s, str) and s for s in saved["sharpness_conclusions"])
    assert {"positions", "totals", "correlations", "slopes"} <= set(saved["sharpness"])
    markdown = (tmp_path / "implicit_regularization.md").read_text()
    assert markdown.startswith("Network 8 →") and markdown.count("![") == 6
    assert "### Sharpness and the edge of stability" in markdown
    for name in (
        "convergence",
        "grad_stats",
        "test_loss",
        "noise_scale",
        "weight_decay",
        "sharpness",
    ):
        assert (tmp_path / f"implicit_regularization_{name}.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    "argv, name",
    [
        (["--learning-rates", "0.1,abc"], "--learning-rates"),
        (["--learning-rates", "inf"], "--learning-rates"),
        (["--weight-decays", "inf"], "--weight-decays"),
        (["--weight-decays", "0"], "--weight-decays"),
        (["--seeds", "0"], "--seeds"),
    ],
)
def test_bad_command_line_exits_2_with_one_line(bad_input, argv, name):
    bad_input("implicit_regularization", argv, name)
