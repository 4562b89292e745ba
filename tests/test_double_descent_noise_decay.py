import dataclasses
import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn import data, models, stats
from jaxnn.studies import double_descent_noise_decay as study


def _rows(per_seed):
    """Rows of a curve from ``[width][seed]`` excess risks (widths 4, 8, 12, ...)."""
    rows = []
    for i, values in enumerate(per_seed):
        summary = stats.seed_summary(values)
        rows.append(
            {
                "width": 4 * (i + 1),
                "n_params": i,
                "excess_risk": summary["mean"],
                "excess_risk_standard_error": summary["standard_error"],
                "excess_risk_per_seed": list(values),
            }
        )
    return rows


def test_peak_is_the_largest_rise_above_a_narrower_dip():
    rows = _rows(
        [[2.0, 2.1, 1.9], [1.0, 1.1, 0.95], [3.0, 3.2, 3.05], [2.0, 2.1, 1.9], [0.5, 0.55, 0.5]]
    )
    peak = study.peak_of(rows)
    assert peak["width"] == 12 and peak["dip_width"] == 8
    assert peak["excess_risk"] == pytest.approx(np.mean([3.0, 3.2, 3.05]))
    differences = np.array([3.0, 3.2, 3.05]) - np.array([1.0, 1.1, 0.95])
    assert peak["height"] == pytest.approx(differences.mean())
    assert peak["height_standard_error"] == pytest.approx(differences.std(ddof=1) / math.sqrt(3))
    assert peak["height_over_widest"] == pytest.approx(np.mean([2.5, 2.65, 2.55]))
    assert peak["significant"] and peak["widths_scanned"] == 4
    # A curve that only falls (an under-fitting start) has no peak.
    falling = study.peak_of(_rows([[3.0, 3.1, 2.9], [2.0, 2.1, 1.9], [1.0, 1.1, 0.9]]))
    assert falling["width"] is None and falling["height"] == 0.0 and not falling["significant"]
    assert falling["verdict"] == "no rise detected" and not falling["qualifies"]


# Hand-made curves over 5 seeds (widths 4, 8, ...): each value is its level plus a small
# seed-to-seed scatter, so the rise is significant and well above the seed-spread floor.
_SCATTER = np.array([0.0, 0.02, -0.02, 0.01, -0.01])


def _curve(levels):
    return _rows([list(level + _SCATTER) for level in levels])


def test_a_hump_that_falls_back_qualifies_as_double_descent():
    peak = study.peak_of(_curve([1.0, 0.5, 3.0, 1.0, 0.6]))
    assert peak["width"] == 12 and peak["rise_verdict"] == "effect"
    assert peak["undone"] == pytest.approx(2.4 / 2.5)
    assert peak["verdict"] == "double descent" and peak["qualifies"]


def test_a_plateau_does_not_qualify():
    peak = study.peak_of(_curve([1.0, 0.5, 3.0, 3.0, 2.9]))
    assert peak["rise_verdict"] == "effect" and peak["undone"] < 0.5
    assert peak["verdict"] == "overfitting that levels off" and not peak["qualifies"]


def test_a_significant_sliver_does_not_qualify():
    # The rise 0.5 -> 3 is large, the fall 3 -> 2.95 significant (every seed) but 2 % of it.
    peak = study.peak_of(_curve([1.0, 0.5, 3.0, 2.98, 2.95]))
    assert peak["height_over_widest_p_holm"] < 0.05
    assert peak["verdict"] == "overfitting that levels off" and not peak["qualifies"]


def test_the_window_straddles_the_parameter_count_threshold():
    assert study.window_widths([2, 4, 18, 20, 22, 24], 20.5) == [20, 22]
    assert study.window_widths([2, 4, 8], 20.5) == [8]  # no width above: untestable below


@pytest.mark.parametrize(
    ("levels", "verdict"),
    [
        ([1.0, 0.5, 3.0, 1.0, 0.6], "double descent"),  # a hump at the window
        ([1.0, 0.5, 3.0, 3.0, 2.9], "overfitting that levels off"),  # a plateau
        ([1.0, 0.5, 3.0, 2.98, 2.95], "overfitting that levels off"),  # a sliver
    ],
)
def test_the_pre_registered_peak_is_tested_once_at_the_window(levels, verdict):
    rows = _curve(levels)
    peak = study.threshold_peak(rows, [12])
    assert peak["window_widths"] == [12] and peak["dip_width"] == 8
    assert peak["verdict"] == verdict
    # One test: the rise p is Bonferroni over the 2 narrower widths, not Holm over a scan.
    assert peak["height_p_holm"] <= 2 * study.peak_of(rows)["height_p_holm"]
    assert study.threshold_peak(rows, [4])["verdict"] == "not tested"  # nothing narrower


def test_a_significant_rise_below_its_floor_is_no_peak():
    # Seeds scatter by 0.5 with the same pattern at every width, so the paired rise of
    # 0.02 is significant but far under the seed-to-seed spread.
    scatter = np.array([0.0, 0.5, -0.5, 0.3, -0.3])
    rows = _rows([list(v + scatter + 0.001 * np.arange(5)) for v in (1.0, 0.5, 0.52, 0.3)])
    peak = study.peak_of(rows)
    assert peak["height"] == pytest.approx(0.02, abs=0.003)
    assert peak["verdict"] in ("rise below floor", "no rise detected") and not peak["qualifies"]


def test_height_trend_names_only_steps_above_their_floor():
    low = _curve([1.0, 0.5, 1.0, 0.6])  # rise 0.5
    # rise 0.51 with a seed-to-seed spread of the rise: the step from `low` is not detected
    same = _rows([list(v + k * _SCATTER) for v, k in ((1.0, 1), (0.5, 1), (1.01, 3), (0.6, 1))])
    high = _curve([1.0, 0.5, 3.0, 0.6])  # rise 2.5
    curves = [(s, rows, study.peak_of(rows)) for s, rows in ((0.5, low), (1.0, same), (2.0, high))]
    trend = study.height_trend(curves)
    assert [s["verdict"] for s in trend["steps"]] == ["not detected", "effect"]
    assert trend["verdict"] == "grows at some steps" and trend["steps_grown"] == 1
    assert trend["log_log_slope"] > 0


def test_violations_below_their_floor_are_set_apart():
    # 1.0 -> 1.05 on every seed is significant, but the seeds scatter by 0.5 at each width.
    scatter = np.array([0.0, 0.5, -0.5, 0.3, -0.3])
    rows = _rows([list(1.0 + scatter), list(1.05 + scatter + 0.001 * np.arange(5))])
    scanned = study.monotone_violations(rows)
    assert scanned["violations"] == [] and len(scanned["below_floor"]) == 1
    assert scanned["below_floor"][0]["floor"] == pytest.approx(np.std(scatter, ddof=1), rel=0.01)


def test_optimal_decay_removes_a_qualifying_peak_only_when_the_curve_is_flat():
    before = study.peak_of(_curve([1.0, 0.5, 3.0, 1.0, 0.6]))
    flat = _curve([0.5, 0.45, 0.44, 0.43, 0.42])
    after = study.peak_of(flat)
    reduction = study.decay_comparison(_curve([1.0, 0.5, 3.0, 1.0, 0.6]), flat, before)
    assert reduction["verdict"] == "effect" and reduction["estimate"] == pytest.approx(2.56)
    violations = study.monotone_violations(flat)
    assert study.removes_peak(before, after, violations, reduction) == "removes the peak"
    bumpy = _curve([0.5, 0.3, 1.5, 0.4, 0.35])
    kept = study.peak_of(bumpy), study.monotone_violations(bumpy)
    assert study.removes_peak(before, *kept, reduction) == "lowers the peak"


def test_monotone_violations_are_significant_rises_after_false_discovery_control():
    # 1.0 -> 1.02 with seeds that disagree is no violation; 1.0 -> 1.5 on every seed is;
    # a fall never counts.
    assert (
        study.monotone_violations(_rows([[1.0, 1.1, 0.9], [1.02, 0.9, 1.14], [0.9, 0.95, 0.85]]))[
            "violations"
        ]
        == []
    )
    scanned = study.monotone_violations(
        _rows([[1.0, 1.1, 0.9], [1.5, 1.61, 1.4], [0.9, 0.95, 0.85]])
    )
    assert scanned["pairs_scanned"] == 3
    assert [(v["narrow"], v["wide"]) for v in scanned["violations"]] == [(4, 8)]
    assert scanned["violations"][0]["increase"] == pytest.approx(np.mean([0.5, 0.51, 0.5]))


def test_noise_levels_share_inputs_and_noise_draws():
    """Paired levels: the targets at s differ from the clean ones by s times one noise draw,
    every seed draws its own set, and every level is tested on the same noise-free targets."""
    config = dataclasses.replace(
        study.QUICK, n_train=20, noise_stds=(0.0, 0.5), decay_noise_std=2.0, seed=3
    )
    sets = study.training_sets(config)
    assert list(sets) == ["s=0", "s=0.5", "s=2"]
    clean, half, double = sets["s=0"], sets["s=0.5"], sets["s=2"]
    assert clean["x_train"].shape == (config.seeds, 20, config.data.input_dim)
    assert not np.allclose(clean["x_train"][0], clean["x_train"][1])
    np.testing.assert_array_equal(half["x_train"], double["x_train"])
    unit = (half["y_train"] - clean["y_train"]) / 0.5
    np.testing.assert_allclose((double["y_train"] - clean["y_train"]) / 2.0, unit, atol=1e-5)
    # The test set is the teacher's own, without noise, at every level.
    noiseless = dataclasses.replace(config.data, noise_std=0.0)
    test = data.make_dataset(jax.random.key(0), noiseless, 20, n_draws=config.seeds)
    for arrays in sets.values():
        np.testing.assert_array_equal(arrays["x_test"], test.x_test)
        np.testing.assert_array_equal(arrays["y_test"], test.y_test)


def test_interpolation_width_is_where_the_parameter_count_reaches_n_times_o():
    import functools

    from jaxnn import models

    width = study.interpolation_width(8, 8, 800)
    count = functools.partial(models.parameter_count)
    assert count(models.stacked_layer_sizes(20, 2)) < 800 < count(models.stacked_layer_sizes(21, 2))
    assert width**2 + 18 * width + 8 == pytest.approx(800, rel=1e-12)
    assert study.interpolation_width(40, 10, 10) == pytest.approx(0.0, abs=1e-12)


def _mlp_params(width=3):
    from flax import nnx

    module = models.mlp_of_width(8, 8)(width, rngs=nnx.Rngs(0))
    return nnx.to_pure_dict(nnx.split(module, nnx.Param, ...)[1])


def test_weight_decay_falls_on_the_kernels_only():
    params = _mlp_params()
    mask = models.kernel_mask(params)
    flags = jax.tree_util.tree_leaves_with_path(mask)
    assert sorted(bool(flag) for _, flag in flags) == [False] * 3 + [True] * 3
    for path, flag in flags:
        assert flag == (path[-1].key == "kernel"), path


def test_weight_decay_optimizer_equals_adam_on_the_decayed_gradient_by_hand():
    """``adam_with_kernel_decay``: λθ added to a kernel's gradient, then Adam (PyTorch's
    ``Adam(weight_decay=λ)``), against five steps of Adam written out in NumPy."""
    params = _mlp_params()
    learning_rate, b1, b2, eps = 1e-2, 0.9, 0.999, 1e-8
    stepped = {}
    for weight_decay in (0.0, 0.3):
        optimizer = study.adam_with_kernel_decay(learning_rate, weight_decay)

        def steps(params, optimizer=optimizer):
            state = optimizer.init(params)
            for step in range(1, 6):
                grads = jax.tree.map(lambda p, k=step: k * (jnp.cos(3.0 * p) + 0.1), params)
                updates, state = optimizer.update(grads, state, params)
                params = jax.tree.map(jnp.add, params, updates)
            return params

        got = jax.jit(steps)(params)
        for path, theta in jax.tree_util.tree_leaves_with_path(params):
            theta = np.asarray(theta, np.float64)
            decay = weight_decay if path[-1].key == "kernel" else 0.0
            m = v = np.zeros_like(theta)
            for step in range(1, 6):
                g = step * (np.cos(3.0 * theta) + 0.1) + decay * theta
                m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g**2
                m_hat, v_hat = m / (1 - b1**step), v / (1 - b2**step)
                theta = theta - learning_rate * m_hat / (np.sqrt(v_hat) + eps)
            # float32 Adam against float64: the steps' rounding only.
            np.testing.assert_allclose(_at(got, path), theta, rtol=1e-5, atol=1e-6, err_msg=path)
        stepped[weight_decay] = got
    # The decay changed the kernels, and only them (an independent check of the mask).
    for path, value in jax.tree_util.tree_leaves_with_path(stepped[0.3]):
        assert np.allclose(value, _at(stepped[0.0], path)) == (path[-1].key == "bias"), path


def _at(tree, path):
    for entry in path:
        tree = tree[entry.key]
    return tree


@pytest.mark.slow  # the study's --quick run, end to end (shared with test_resume)
def test_quick_run_writes_numbers_and_figures(quick_outputs):
    results, tmp_path, _ = quick_outputs("double_descent_noise_decay")
    saved = json.loads((tmp_path / "double_descent_noise_decay.json").read_text())
    config = study.QUICK
    assert len(saved["noise_rows"]) == len(config.noise_stds) * len(config.widths)
    assert len(saved["decay_rows"]) == (1 + len(config.weight_decays)) * len(config.widths)
    for row in saved["noise_rows"] + saved["decay_rows"]:
        assert math.isfinite(row["excess_risk"]) and row["excess_risk"] >= 0, row
    for row in saved["optimal_decay_rows"]:
        assert row["excess_risk"] <= row["unregularized_excess_risk"] + 1e-12
    assert results["run"]["config"]["noise_stds"] == list(config.noise_stds)
    markdown = (tmp_path / "double_descent_noise_decay.md").read_text()
    assert markdown.count("![") == 2 and markdown.count("<details>") == 2
    # The verdicts are recomputed from the stored per-seed numbers alone: the same again.
    again = study.with_verdicts(saved)
    assert again == saved and study.with_verdicts(again) == again
    assert [row["question"] for row in study.answers(saved)] == [
        "How does the peak height change with label noise?",
        "Does optimal weight decay remove the peak?",
    ]
    for row in study.answers(saved):
        assert "\n" not in row["answer"] and len(row["answer"]) <= 320
    for name in ("noise", "decay"):
        assert (tmp_path / f"double_descent_{name}.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    "args, name",
    [
        (["--noise-stds", "inf"], "--noise-stds"),
        (["--noise-stds", "-1"], "--noise-stds"),
        (["--weight-decays", "0"], "--weight-decays"),
        (["--widths", "5000"], "--widths"),
    ],
)
def test_bad_input_exits_2_with_one_line(bad_input, args, name):
    bad_input("double_descent_noise_decay", args, name)


@pytest.mark.slow  # trains members alone beside the study's --quick run (shared with test_resume)
@pytest.mark.parametrize(("noise_std", "weight_decay", "width"), [(0.0, 0.0, 12), (1.0, 1e-2, 4)])
def test_a_member_of_the_quick_run_equals_the_same_member_trained_alone(
    quick_outputs, noise_std, weight_decay, width
):
    """One width, one set, one decay through ``jaxnn.width_sweep`` gives the study's numbers:
    no member borrows another's data, noise draw, decay or initialization."""
    import functools

    import optax

    import jaxnn
    from jaxnn import models

    document, _, _ = quick_outputs("double_descent_noise_decay")
    config = study.QUICK
    key_data, key_init = jax.random.split(jax.random.key(config.seed))
    noisy = dataclasses.replace(config.data, noise_std=noise_std)
    drawn = data.make_dataset(key_data, noisy, config.n_train, n_draws=config.seeds)
    clean = data.make_dataset(
        key_data, dataclasses.replace(config.data, noise_std=0.0), config.n_train, n_draws=2
    )

    def kernels(params):
        return jax.tree_util.tree_map_with_path(lambda path, _: path[-1].key == "kernel", params)

    alone = jaxnn.width_sweep(
        functools.partial(models.MLP, input_dim=8, output_dim=8),
        dict(
            x_train=drawn.x_train, y_train=drawn.y_train, x_test=clean.x_test, y_test=clean.y_test
        ),
        widths=[width],
        seeds=config.seeds,
        loss="mse",
        optimizer=optax.chain(
            optax.add_decayed_weights(weight_decay, mask=kernels), optax.adam(config.learning_rate)
        ),
        epochs=config.epochs,
        final_window=config.epochs // 20,
        key=key_init,
        progress=False,
    )
    rows = document["noise_rows"] if weight_decay == 0.0 else document["decay_rows"]
    (row,) = [
        r
        for r in rows
        if r["width"] == width
        and r.get("noise_std", noise_std) == noise_std
        and r.get("weight_decay", 0.0) == weight_decay
    ]
    # float32 rounding only (about 1e-7 after 300 steps): in the study the width trains
    # padded in a wider group, its decay a traced hyperparameter. Seeds differ by ~10 %.
    np.testing.assert_allclose(
        row["excess_risk_per_seed"],
        alone.curves[("data", 0, width)]["test_loss"][:, -1],
        rtol=2e-6,
    )
    np.testing.assert_allclose(
        row["train_loss"], np.mean(alone.final_train_loss[("data", 0, width)]), rtol=2e-6
    )
