import functools
import json
import math

import jax
import numpy as np
import optax
import pytest
from flax import nnx

import jaxnn
from jaxnn import data, io, models
from jaxnn.studies import implicit_regularization as study
from jaxnn.studies import implicit_regularization_stats as study_stats

CONFIG = study.Config(learning_rates=(0.02, 0.04, 0.08), weight_decays=(1e-2,), seeds=3)


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
    for stat in study.STAT_NAMES:
        arrays[f"final_{stat}"] = np.full(count, 1e-9)
        arrays[f"matched_{stat}"] = np.full(count, 1e-4)
    for stat in study.CURVATURE_NAMES:
        arrays[f"final_{stat}"] = np.full(count, 20.0)
        arrays[f"matched_{stat}"] = np.full(count, 10.0)
    arrays.update(overrides)
    return arrays


def test_rows_flag_nan_and_collapse_as_diverged_and_hide_their_numbers():
    arrays = _arrays(
        3,
        learning_rate=np.array([0.1, 1.0, 2.0]),
        weight_decay=np.zeros(3),
        seed=np.zeros(3, int),
        diverged=np.array([False, True, False]),
        final_train_loss=np.array([1e-7, np.nan, 1.0]),
        output_spread=np.array([1.0, 1.0, 1e-6]),
        snapshot_epoch=np.array([10, 3, -1]),
    )
    rows = study.run_rows(arrays, convergence_level=1e-5, collapse_tol=1e-3)
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
    summary = study.decay_summary(rows)
    assert [(r["n_diverged"], r["n_collapsed"]) for r in summary] == [(0, 0), (1, 0), (1, 1)]
    assert math.isnan(summary[2]["test_loss"])  # diverged runs never enter the means


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


def _analysis(rows):
    return study.analyse(rows, CONFIG)


def test_summaries_average_converged_seeds_and_compare_paired_settings():
    rows = _synthetic_rows({0.02: 4e-4, 0.08: 1e-4}, {0.02: 2.0, 0.08: 1.5}, decay_test=1.0)
    results = _analysis(rows)
    rate_rows, best = results["rate_summary"], results["best"]
    assert [r["learning_rate"] for r in rate_rows] == [0.02, 0.08]
    np.testing.assert_allclose(rate_rows[0]["matched_loss_grad_norm_sq"], 4e-4 * 1.01)
    np.testing.assert_allclose(rate_rows[0]["matched_loss_grad_norm_sq_per_loss"], 4.04)
    assert best["implicit"]["learning_rate"] == 0.08
    assert best["explicit"]["weight_decay"] == 1e-2
    np.testing.assert_allclose(best["difference"], 1.0 * 1.01 - 1.5 * 1.01)
    # Seed s has test 1.5(1 + 0.01 s) without decay and 1.0(1 + 0.01 s) with it: paired
    # differences 0.5, 0.505, 0.51 (mean 0.505, sd 0.005, s.e. 0.005/sqrt 3).
    np.testing.assert_allclose(best["difference_standard_error"], 0.005 / math.sqrt(3))
    assert best["n_scanned"] == 1 and best["n_better"] == 1  # the one decay setting beats it
    table = study.implicit_penalty_table(rate_rows, n_batches=5)
    np.testing.assert_allclose(table[1]["coefficient"], 0.02)
    np.testing.assert_allclose(table[1]["per_batch_coefficient"], 0.004)
    np.testing.assert_allclose(table[1]["grad_norm_penalty"], 0.02 * 1e-4 * 1.01)


def test_trend_words_come_from_holm_adjusted_slopes_and_the_sentences_say_so():
    falling = _analysis(
        _synthetic_rows({0.02: 4e-4, 0.08: 1e-4}, {0.02: 2.0, 0.08: 1.5}, decay_test=1.0)
    )
    rising = _analysis(
        _synthetic_rows({0.02: 1e-4, 0.08: 4e-4}, {0.02: 1.5, 0.08: 2.0}, decay_test=3.0)
    )
    trend = falling["trends"]["matched_loss_grad_norm_sq_per_loss"]
    assert trend["slope"] == pytest.approx(-1.0) and trend["n"] == 6 and trend["n_tests"] == 5
    assert trend["word"] == "decreases" and trend["p_holm"] >= trend["p_value"]
    sentences = falling["conclusions"]
    assert sentences[0].startswith("Every implicit-only run")
    assert "Holm-adjusted over the 5 trends" in sentences[1]
    assert "‖∇J‖²/J decreases" in sentences[2] and "agrees with" in sentences[2]
    # Slope -1 over log(0.08/0.02): a fitted log change of -log 4 = -1.39, far above the
    # seed-spread floor (the 1 % jitter gives about 0.01 in log).
    assert trend["change"] == pytest.approx(-math.log(4)) and trend["verdict"] == "effect"
    assert trend["floor"] == pytest.approx(0.01, abs=0.005)
    assert "a fall of log ‖∇J‖²/J across μ = 0.02–0.16" not in sentences[2]
    assert "a fall of log ‖∇J‖²/J across μ = 0.02–0.08 of 1.4" in sentences[2]
    assert "‖∇J‖²/J increases" in rising["conclusions"][2]
    assert "disagrees with" in rising["conclusions"][2]
    assert "float32 floor" in sentences[4]
    assert "Test MSE decreases" in sentences[5] and "Test MSE increases" in rising["conclusions"][5]
    assert any("not sufficient" in s for s in sentences)
    assert any("Holm over the 1 weight-decay setting " in s for s in sentences)
    assert any("implicit regularization is sufficient" in s for s in rising["conclusions"])
    # (μ/4)(‖∇J‖² + V)/J = 0.005 · 6e-4 · 1.5 · 1.01 / 1e-4 ≈ 0.03 at μ = 0.02.
    assert any("0.03–0.03 times the training loss" in s and "meant to hold" in s for s in sentences)
    assert not any("in the grid" in s for s in sentences)  # one decay: no edge of a grid to name


def test_a_large_but_noisy_slope_is_no_trend_and_a_bump_is_named_with_its_test():
    noisy = _synthetic_rows(
        {0.02: 4e-4, 0.04: 5e-4, 0.08: 1e-4}, {0.02: 2.0, 0.04: 1.8, 0.08: 1.5}, 1.0
    )
    for row in noisy:  # seed 1 rises with μ, seeds 0 and 2 fall: no consistent trend
        if row["weight_decay"] == 0 and row["seed"] == 1:
            row["test_loss"] = {0.02: 1.2, 0.04: 1.9, 0.08: 2.6}[row["learning_rate"]]
    results = _analysis(noisy)
    assert results["trends"]["test_loss"]["word"] == "shows no clear trend"
    bump = results["trends"]["matched_loss_grad_norm_sq_per_loss"]
    assert [(r["from"], r["to"]) for r in bump["rises"]] == [(0.02, 0.04)]
    assert "rises between μ = 0.02 → 0.04" in results["conclusions"][2]
    assert bump["rises"][0]["verdict"] in ("effect", "below floor", "not detected")
    assert "Holm over the 2 adjacent pairs" in results["conclusions"][2]


def test_correlations_are_holm_adjusted_over_every_test_the_report_shows():
    rates = {0.02: 4e-4, 0.04: 2e-4, 0.08: 1e-4}
    tests = {0.02: 2.0, 0.04: 1.8, 0.08: 1.5}
    results = _analysis(_synthetic_rows(rates, tests, 1.0, sharpness_jitter=0.02))
    correlations = results["correlations"]
    # The final gradient statistics are equal in every synthetic run: no correlation, not counted.
    assert correlations["n_tests"] == 2 * len(study_stats.CORRELATED) - 4
    top = correlations["columns"]["matched_loss_hessian_top_eigenvalue"]
    assert top["n"] == 9 and top["pearson"] > 0.9 and top["p_holm"] < 0.01
    assert top["within_pearson"] > 0.9 and top["within_dof"] == 9 - 1 - 3
    assert top["p_holm"] >= top["p_value"]
    sentences = results["sharpness_conclusions"]
    assert "9 of 9 sit at the edge" in sentences[0]
    assert "over the 12 correlation tests" in sentences[-3]
    assert "both across and within learning rates" in sentences[-1]
    plain = _analysis(_synthetic_rows(rates, tests, 1.0))  # λ_max constant within each rate
    assert math.isnan(
        plain["correlations"]["columns"]["matched_loss_hessian_top_eigenvalue"]["within_pearson"]
    )
    assert "only through the learning rate" in plain["sharpness_conclusions"][-1]
    assert "μ^-1.00" in plain["sharpness_conclusions"][4]
    assert "18 of 18 exceed 2/μ itself, by up to 3 %" in plain["sharpness_conclusions"][2]
    below = _analysis(_synthetic_rows(rates, tests, 1.0, edge_ratio=0.5))
    assert "they sit below the edge" in below["sharpness_conclusions"][2]
    assert below["sharpness"]["regime"][""]["regime"] == "below"
    against = _analysis(_synthetic_rows(rates, {0.02: 1.5, 0.04: 1.8, 0.08: 2.0}, 1.0))
    assert "generalize *better*" in against["sharpness_conclusions"][-1]


def _three_in_two_out_config():
    return study.Config(
        data=data.TeacherConfig(input_dim=3, output_dim=2, n_test=40, normalisation_samples=200),
        width=4,
        depth=1,
        n_train=10,
        batch_size=5,
        learning_rates=(0.05,),
        weight_decays=(),
        seeds=1,
        epochs=3,
        lanczos_iterations=2,
        trace_samples=2,
    )


def test_the_network_is_sized_by_the_data_not_by_the_8_in_8_out_default():
    """A 3-in, 2-out teacher builds a 3-in, 2-out network (the old code built 8 -> 8)."""
    config = _three_in_two_out_config()
    network = config.network()(config.width, rngs=nnx.Rngs(0))
    assert [layer.kernel.shape for layer in network.layers] == [(3, 4), (4, 2)]
    n_params = sum(a.size for a in jax.tree.leaves(nnx.state(network, nnx.Param)))
    assert config.n_params() == n_params == (3 + 1) * 4 + (4 + 1) * 2


@pytest.mark.slow  # the whole study on the 3-in, 2-out teacher, end to end
def test_a_3_in_2_out_teacher_trains_measures_and_reports_end_to_end():
    config = _three_in_two_out_config()
    results = study.run(config)
    assert results["n_params"] == (3 + 1) * 4 + (4 + 1) * 2
    assert math.isfinite(results["runs"][0]["final_train_loss"])
    assert study.markdown(results | {"run": {"config": _config_json(config)}}).startswith(
        "Network 3 → 4 × 1 → 2"
    )


def _config_json(config):
    import dataclasses

    return json.loads(json.dumps(dataclasses.asdict(config)))


def test_config_rejects_bad_values_naming_them():
    for field, value in (
        ("seeds", 0),
        ("learning_rates", (0.1, -1.0)),
        ("weight_decays", (0.0,)),
        ("significance", 1.5),
        ("trace_samples", 1),
        ("seed", -1),
    ):
        with pytest.raises(ValueError, match=field):
            study.Config(**{field: value})


@pytest.mark.slow  # the study's --quick run, end to end (shared with test_resume)
def test_quick_run_writes_files_with_finite_numbers(quick_outputs):
    results, out, _ = quick_outputs("implicit_regularization")
    saved = json.loads((out / "implicit_regularization.json").read_text())
    for key in ("run", "runs", "rate_summary", "decay_summary", "best", "implicit_penalty",
                "trends", "correlations", "conclusions", "wall_seconds"):  # fmt: skip
        assert key in saved, key
    assert {"config", "versions", "device", "matmul_precision"} <= set(saved["run"])
    config = results["run"]["config"]
    expected = len(config["learning_rates"]) * config["seeds"] * (1 + len(config["weight_decays"]))
    assert len(saved["runs"]) == expected
    for row in saved["runs"]:
        assert not row["diverged"]
        for key in ("final_train_loss", "test_loss", "grad_norm_sq", "batch_grad_variance",
                    "hessian_top_eigenvalue", "hessian_trace", "hessian_trace_standard_error",
                    "hessian_trace_per_parameter", "edge_ratio"):  # fmt: skip
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
    assert {"positions", "totals", "slopes"} <= set(saved["sharpness"])
    markdown = (out / "implicit_regularization.md").read_text()
    assert markdown.startswith("Network 8 →") and markdown.count("![") == 6
    assert "### Sharpness and the edge of stability" in markdown
    for name in ("convergence", "grad_stats", "test_loss", "noise_scale", "weight_decay",
                 "sharpness"):  # fmt: skip
        assert (out / f"implicit_regularization_{name}.png").stat().st_size > 10_000


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


def test_a_significant_trend_smaller_than_the_seed_spread_is_no_trend():
    """Three seeds whose own level differs by far more than the rate's effect: the slope is
    significant (the seeds are paired across rates) but below one seed's spread."""
    rows = _synthetic_rows(
        {0.02: 1e-4, 0.04: 1e-4, 0.08: 1e-4}, {0.02: 2.0, 0.04: 2.0, 0.08: 2.0}, 1.0
    )
    for row in rows:
        if row["weight_decay"] == 0:
            level = (1.0, 3.0, 9.0)[row["seed"]]  # seed spread of the log: about 1.1
            shrink = {0.02: 1.0, 0.04: 0.98, 0.08: 0.96}[row["learning_rate"]]
            row["test_loss"] = level * shrink
    trend = _analysis(rows)["trends"]["test_loss"]
    assert trend["floor"] > 1.0 and abs(trend["change"]) < 0.1
    assert trend["verdict"] != "effect" and trend["word"] != "decreases"


def test_weight_decay_beats_implicit_only_by_its_floor_or_not():
    big = _analysis(_synthetic_rows({0.02: 4e-4, 0.08: 1e-4}, {0.02: 2.0, 0.08: 1.5}, 1.0))
    assert big["best"]["improvement"]["verdict"] == "effect" and big["best"]["n_better"] == 1
    rows = _synthetic_rows({0.02: 4e-4, 0.08: 1e-4}, {0.02: 2.0, 0.08: 1.5}, 1.4)
    for row in rows:  # a paired gain of 0.01 against a seed spread of about 0.3
        row["test_loss"] = (1.0, 1.5, 2.0)[row["seed"]] - (0.01 if row["weight_decay"] else 0)
    small = _analysis(rows)["best"]
    assert small["improvement"]["verdict"] == "below floor" and small["n_better"] == 0
    assert small["n_significant"] >= 1


def test_a_regime_needs_three_quarters_of_the_runs():
    counts = {"": {"below": 9, "at": 7, "above": 0, "n": 16}}
    assert study_stats.edge_regime(counts, alpha=0.05)[""]["regime"] is None  # 56 %: bare majority
    counts = {"": {"below": 13, "at": 3, "above": 0, "n": 16}}
    assert study_stats.edge_regime(counts, alpha=0.05)[""]["regime"] == "below"


def test_answers_cover_every_item_in_one_line_each():
    results = _analysis(_synthetic_rows({0.02: 4e-4, 0.08: 1e-4}, {0.02: 2.0, 0.08: 1.5}, 1.0))
    results["run"] = {"config": _config_json(CONFIG)}
    rows = study.answers(results)
    assert [r["item"] for r in rows] == ["CA 2(a)/(b)", "CA 2(b)", "CA 2(c)", "CA 2(c)",
                                         "CA 2(c)", "CA 2(d)", "CA 2(d)", "Beyond"]  # fmt: skip
    assert all("\n" not in r["answer"] and len(r["answer"]) <= 400 for r in rows)
    assert "Not sufficient" in rows[6]["answer"]


@pytest.mark.slow  # the --quick run's document, recomputed from its own JSON
def test_with_verdicts_rebuilds_the_quick_document(quick_outputs):
    _, out, _ = quick_outputs("implicit_regularization")
    saved = json.loads((out / "implicit_regularization.json").read_text())
    again = io.to_jsonable(study.with_verdicts(saved))
    assert again == saved


def test_the_target_spread_is_the_mean_over_outputs_of_the_std_over_samples():
    y = np.array([[[0.0, 1.0], [2.0, 1.0]], [[1.0, 0.0], [1.0, 4.0]]])  # [seed, N, O]
    np.testing.assert_allclose(study.target_spread(y), [(1.0 + 0.0) / 2, (0.0 + 2.0) / 2])


@pytest.mark.slow  # two members of the --quick run retrained alone by width_sweep
@pytest.mark.parametrize(("rate", "decay"), [(0.08, 0.0), (0.16, 1e-2)])
def test_a_quick_run_member_equals_the_same_run_trained_alone(quick_outputs, rate, decay):
    """Seed 0 at (μ, λ) of the --quick run against one width_sweep call with that fixed
    optimizer and one seed, built here from the documented draws (key, data, module).

    Same draws, batch order and updates: the training loss is equal to rtol 1e-5 over the
    first epochs. Later it is not comparable: the member shares its vmapped program with
    7 others, whose float32 rounding differs from a lone member's, and SGD at these rates
    amplifies it (measured: 2e-4 at epoch 3, 1 % at epoch 4, O(1) by epoch 50), so the
    end and the snapshot are compared only for being reached alike."""
    out = quick_outputs("implicit_regularization")[1]
    saved = json.loads((out / "implicit_regularization.json").read_text())
    config = study.QUICK
    key_data, key_init = jax.random.split(jax.random.key(config.seed))
    dataset = data.make_dataset(key_data, config.data, config.n_train, n_draws=config.seeds)
    alone = jaxnn.width_sweep(
        functools.partial(models.MLP, depth=5, init_scheme="lecun_normal"),
        {k: getattr(dataset, k)[: 1 if k.endswith("train") else None]
         for k in ("x_train", "y_train", "x_test", "y_test")},
        widths=[50], loss="mse", epochs=config.epochs, batch_size=config.batch_size,
        optimizer=optax.chain(optax.add_decayed_weights(decay, mask=models.kernel_mask),
                              optax.sgd(rate)),
        snapshot_below=config.matched_loss, key=key_init, progress=False,
    )  # fmt: skip
    losses = alone.loss_curves[("data", 0, 50)][0]
    if decay == 0:  # the study's curves are those of the runs without decay
        curve = next(c for c in saved["training_curves"] if c["learning_rate"] == rate)
        early = [i for i, e in enumerate(curve["epochs"]) if e <= 2]
        np.testing.assert_allclose(
            np.asarray(curve["train_loss_per_seed"][0])[early],
            losses[np.asarray(curve["epochs"])[early]],
            rtol=1e-5,
        )
    row = next(r for r in saved["runs"] if (r["learning_rate"], r["weight_decay"], r["seed"])
               == (rate, decay, 0))  # fmt: skip
    assert (row["matched_loss_epoch"] is None) == (alone.snapshot_epoch[("data", 0, 50)][0] < 0)


def test_training_curves_take_seed_medians_of_the_runs_without_decay():
    """(Was members.loss_curves' test.) Members ordered decay, rate, seed as the sweep's."""
    decay, rate, seed = (a.ravel() for a in np.meshgrid([0.0, 1e-2], [0.1, 0.2], np.arange(3),
                                                        indexing="ij"))  # fmt: skip
    arrays = {
        "weight_decay": decay,
        "learning_rate": rate,
        "train_loss": np.tile(np.linspace(1.0, 0.0, 11), (decay.size, 1)) + seed[:, None],
        "first_epoch_below_convergence": np.where(rate == 0.1, 4, -1),
    }
    curves = study.training_curves(arrays, points=5)
    assert [c["learning_rate"] for c in curves] == [0.1, 0.2]
    assert len(curves[0]["train_loss_per_seed"]) == 3
    np.testing.assert_allclose(
        curves[0]["train_loss"], np.median(arrays["train_loss"][:3][:, curves[0]["epochs"]], axis=0)
    )
    assert curves[0]["epochs"][0] == 0 and curves[0]["epochs"][-1] == 10
    assert curves[0]["first_epoch_below_convergence_level"] == 4.0
    assert curves[1]["first_epoch_below_convergence_level"] is None


@pytest.mark.slow  # a --quick run cut to 5 epochs: no rate reaches the matched loss
def test_a_run_where_no_rate_converges_still_writes_its_report(tmp_path):
    """NaN ratios and trends are written to JSON as null, and the report is built from
    the document read back: every sentence must take null as "cannot be measured"."""
    import importlib

    script = importlib.import_module("implicit_regularization")
    argv = ["--quick", "--quiet", "--no-plot", "--epochs", "5", "--out", str(tmp_path)]
    document = script.main([*argv, "--runs", str(tmp_path / "runs")])
    assert all(r["n_converged"] == 0 for r in document["rate_summary"])
    text = (tmp_path / "implicit_regularization.md").read_text()
    assert "**Not every run converges**" in text and "cannot be measured" in text
