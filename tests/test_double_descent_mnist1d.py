import dataclasses
import json
import math
import shutil

import numpy as np
import pytest

from jaxnn.studies import double_descent_mnist1d as study
from jaxnn.studies import double_descent_mnist1d_analysis as analysis


@pytest.fixture
def quick_run(quick_outputs):
    """The session's --quick run of the script (shared with the report and resume tests)."""
    return quick_outputs("double_descent_mnist1d")


@pytest.mark.slow  # the study's --quick run, end to end (shared with test_resume)
def test_quick_run_writes_every_row_with_finite_numbers_and_the_run_record(quick_run):
    _, out, _ = quick_run
    for name in (
        "double_descent_mnist1d.json",
        "double_descent_mnist1d.md",
        "double_descent_mnist1d.png",
        "double_descent_mnist1d_epochwise.png",
    ):
        assert (out / name).exists(), name
    written = json.loads((out / "double_descent_mnist1d.json").read_text())
    assert written["run"]["seed"] == 0 and "jax" in written["run"]["versions"]
    expected = [(c.model, c.label_noise, w) for c in study.QUICK.curves for w in c.widths]
    rows = written["rows"]
    assert [(r["model"], r["label_noise"], r["width"]) for r in rows] == expected
    curves = {(c.model, c.label_noise): c for c in study.QUICK.curves}
    assert any(c.max_seeds > c.seeds for c in curves.values())  # a tier of extra seeds
    for row in rows:
        seeds = curves[(row["model"], row["label_noise"])].seeds_at(row["width"])
        assert row["seeds"] == seeds and row["n_diverged"] == 0
        for metric in analysis.METRICS:
            assert math.isfinite(row[metric]) and math.isfinite(row[f"{metric}_standard_error"])
            assert len(row[f"{metric}_per_seed"]) == seeds
            assert row[metric] == pytest.approx(np.mean(row[f"{metric}_per_seed"]))
        assert 0 <= row["test_error"] <= 1 and 0 <= row["train_error"] <= 1
        assert row["n_params"] == _parameter_count(row["model"], row["width"])
    panel = written["epochwise"][0]
    assert panel["epochs"][0] == 0 and panel["epochs"][-1] == study.QUICK.epochs
    assert np.asarray(panel["test_error"]).shape == (3, len(panel["epochs"]))
    text = (out / "double_descent_mnist1d.md").read_text()
    assert "Against the published notebook" in text and "pre-registered test" in text
    assert [c["name"] for c in written["threshold_contrasts"]] == [
        c.name for c in study.QUICK.curves
    ]


def _parameter_count(model, width):
    """The notebook's networks counted by hand: MLP 40 -> M -> M -> 10; CNN with C channels,
    convolutions of kernel 5, 3, 3 (stride 2, padding 1: 40 -> 19 -> 10 -> 5 positions) and a
    linear head on the 5 C features."""
    if model == "mlp":
        return (40 + 1) * width + (width + 1) * width + (width + 1) * 10
    return (5 + 1) * width + 2 * (3 * width + 1) * width + (5 * width + 1) * 10


# Per-seed final test errors and losses of two members of the --quick run, recorded on this
# CPU machine from the code before the study dropped the hand-written families (commit
# 5ba504e). The draws are unchanged (same modules, same width_sweep calls), so they must be too.
# A changed draw moves them by about the seed-to-seed spread (1-8 %); rtol 2e-3 leaves room for
# another CPU's float32 rounding, amplified by a few epochs of SGD.
PINNED = {
    ("mlp", 0.15, 4): {
        "test_error": [0.9020000100135803, 0.9120000004768372, 0.8999999761581421],
        "test_loss": [2.3201961517333984, 2.344515562057495, 2.3441052436828613],
    },
    ("cnn", 0.15, 12): {
        "test_error": [0.8560000061988831, 0.9326666593551636],
        "test_loss": [2.290998935699463, 2.2952022552490234],
    },
}


@pytest.mark.slow  # the study's --quick run, end to end (shared with test_resume)
def test_quick_run_members_keep_the_numbers_recorded_before_the_port(quick_run):
    document, _, _ = quick_run
    rows = {(r["model"], r["label_noise"], r["width"]): r for r in document["rows"]}
    for cell, pinned in PINNED.items():
        for metric, values in pinned.items():
            np.testing.assert_allclose(
                rows[cell][f"{metric}_per_seed"], values, rtol=2e-3, err_msg=f"{metric} {cell}"
            )


@pytest.mark.slow  # the study's --quick run, end to end (shared with test_resume)
def test_resume_reuses_every_finished_group_without_training(quick_run, monkeypatch, tmp_path):
    import double_descent_mnist1d as script

    from jaxnn import _train as train

    document, _, runs = quick_run
    copy = tmp_path / "runs"
    shutil.copytree(runs, copy)

    def no_training(*args, **kwargs):
        raise AssertionError("a resumed run with every group finished must not train")

    monkeypatch.setattr(train, "train", no_training)
    again = script.main(
        ["--quick", "--quiet", "--resume", "--no-plot", "--out", str(tmp_path), "--runs", str(copy)]
    )
    assert again["rows"] == document["rows"]


@pytest.mark.parametrize(
    "args, name",
    [
        (["--curves", "rnn:0.1"], "--curves"),
        (["--curves", "mlp:1.5"], "label_noise"),
        (["--curves", "mlp:0,mlp:0"], "curves"),
        (["--mlp-widths", "0:4"], "--mlp-widths"),
        (["--cnn-widths", "2,5000"], "--cnn-widths"),
        (["--seeds", "0"], "--seeds"),
        (["--epochs", "0"], "--epochs"),
        (["--mlp-widths", ""], "--mlp-widths"),
    ],
)
def test_bad_command_line_exits_2_with_one_line(bad_input, args, name):
    bad_input("double_descent_mnist1d", ["--quick", *args], name)


@pytest.mark.parametrize(
    "fields, name",
    [
        (dict(epochs=0), "epochs"),
        (dict(eval_batch_size=0), "eval_batch_size"),
        (dict(epochwise_points=-1), "epochwise_points"),
        (dict(batch_size=7), "batch_size"),  # does not divide the 4,000 training examples
        (dict(learning_rate=math.nan), "learning_rate"),
        (dict(learning_rate=0.0), "learning_rate"),
        (dict(momentum=1.0), "momentum"),
        (dict(seed=-1), "seed"),
        (dict(curves=()), "curves"),
    ],
)
def test_config_errors_name_the_field(fields, name):
    with pytest.raises(ValueError, match=f"^{name}:"):
        study.Config(**fields)


@pytest.mark.parametrize(
    "fields, name",
    [
        (dict(seeds=0), "seeds"),
        (dict(widths=()), "widths"),
        (dict(widths=(8, 4)), "widths"),
        (dict(label_noise=1.5), "label_noise"),
        (dict(model="rnn"), "model"),
    ],
)
def test_curve_errors_name_the_field(fields, name):
    with pytest.raises(ValueError, match=f"^{name}:"):
        study.Curve(**(dict(model="mlp", label_noise=0.0, widths=(4, 8), seeds=2) | fields))


def _row(width, train_errors, test_errors):
    return {
        "width": width,
        "n_params": 10 * width,
        "seeds": len(test_errors),
        "n_diverged": 0,
        "train_error_per_seed": train_errors,
        "test_error_per_seed": test_errors,
        "test_error": float(np.mean(test_errors)),
        "test_error_standard_error": float(
            np.std(test_errors, ddof=1) / math.sqrt(len(test_errors))
        ),
        "train_error": float(np.mean(train_errors)),
        "train_error_standard_error": 0.0,
    }


def test_interpolation_threshold_needs_every_seed_at_zero():
    rows = [
        _row(2, [0.3, 0.2], [0.5, 0.5]),
        _row(4, [0.0, 0.01], [0.6, 0.6]),
        _row(8, [0.0, 0.0], [0.5, 0.5]),
    ]
    threshold = analysis.interpolation_threshold(rows, n_train=40)
    assert threshold == {"width": 8, "n_params": 80, "params_per_example": 2.0}
    assert analysis.interpolation_threshold(rows[:2], n_train=40) is None


def test_peak_is_the_largest_rise_above_a_dip_tested_with_holm_over_every_width():
    # Width 8 rises 10 points above the dip at width 4 on every seed (paired) and falls again.
    rows = [
        _row(2, [0.5] * 3, [0.45, 0.49, 0.43]),
        _row(4, [0.3] * 3, [0.40, 0.42, 0.41]),
        _row(8, [0.0] * 3, [0.50, 0.525, 0.511]),
        _row(16, [0.0] * 3, [0.40, 0.421, 0.41]),
    ]
    peak = analysis.peak_of(rows, "test_error")
    assert (peak["width"], peak["dip_width"], peak["widths_scanned"]) == (8, 4, 3)
    assert peak["rise"] == pytest.approx(np.mean([0.10, 0.105, 0.101]), rel=1e-12)
    assert peak["excess"] == pytest.approx(np.mean([0.10, 0.104, 0.101]), rel=1e-12)
    # Holm over 3 candidates: the peak's is the smallest of three p-values, multiplied by 3.
    assert peak["excess_p_holm"] == pytest.approx(min(1.0, 3 * peak["excess_p"]))
    assert peak["significant"]
    # A curve that only falls has no peak, however high it starts.
    falling = [
        _row(w, [0.0] * 3, [0.6 - 0.1 * k, 0.61 - 0.1 * k, 0.62 - 0.1 * k])
        for k, w in enumerate((2, 4, 8))
    ]
    assert analysis.peak_of(falling, "test_error")["width"] is None
    # Seeds that disagree: the same means, but neither test survives.
    noisy = [
        _row(2, [0.5] * 3, [0.45, 0.47, 0.46]),
        _row(4, [0.3] * 3, [0.40, 0.42, 0.41]),
        _row(8, [0.0] * 3, [0.60, 0.32, 0.611]),
        _row(16, [0.0] * 3, [0.40, 0.421, 0.41]),
    ]
    assert not analysis.peak_of(noisy, "test_error")["significant"]


def test_seed_tiers_give_narrow_widths_more_seeds_and_one_sweep_per_count():
    curve = study.Curve(
        model="mlp", label_noise=0.1, widths=(2, 4, 8, 16), seeds=2, more_seeds=((8, 4), (2, 6))
    )
    assert [curve.seeds_at(w) for w in curve.widths] == [6, 4, 4, 2]
    assert curve.max_seeds == 6
    with pytest.raises(ValueError, match="^more_seeds:"):
        study.Curve(model="mlp", label_noise=0.0, widths=(4,), seeds=2, more_seeds=((4, 0),))


def test_sweep_calls_train_every_curve_width_once_and_share_calls_where_seeds_agree():
    config = study.Config()
    calls = study.sweep_calls(config.curves)
    trained = [(c.model, c.label_noise, w, s) for _, s, ws, cs in calls for c in cs for w in ws]
    expected = [(c.model, c.label_noise, w, c.seeds_at(w)) for c in config.curves for w in c.widths]
    assert sorted(trained) == sorted(expected)  # each (curve, width) once, with its seeds
    for model, _, widths, curves in calls:
        assert all(c.model == model and set(widths) <= set(c.widths) for c in curves)
    # The MLP's curves share the widths where both train 4 seeds (beyond 80); the noisy
    # curve's 8 seeds up to 80 are a call of their own; the CNN is one call.
    wide = tuple(w for w in study.NOTEBOOK_MLP_WIDTHS if w > 80)
    shared = [(s, ws, [c.label_noise for c in cs]) for m, s, ws, cs in calls if len(cs) > 1]
    assert shared == [(4, wide, [0.0, 0.15])]
    assert len(calls) == 4
    # Without seed tiers, one call per model.
    plain = tuple(dataclasses.replace(c, more_seeds=()) for c in config.curves)
    assert [(m, len(cs)) for m, _, _, cs in study.sweep_calls(plain)] == [("mlp", 2), ("cnn", 1)]


@pytest.mark.slow  # the study's --quick run, end to end (shared with test_resume)
def test_a_call_shared_by_curves_gives_each_curve_what_a_call_of_its_own_gives(quick_run):
    # The noisy MLP's widths 16 and 64 train in one call with the clean MLP; before, each
    # curve's seed tier was a call of its own. A curve that borrowed the other's labels or
    # keys would differ here.
    import jax
    import optax

    import jaxnn
    from jaxnn import mnist1d

    document, _, _ = quick_run
    config = study.QUICK
    dataset = mnist1d.load(config.data)
    key_noise, key_init = jax.random.split(jax.random.key(config.seed))
    rows = {(r["model"], r["label_noise"], r["width"]): r for r in document["rows"]}
    for label_noise, seeds, widths in [(0.15, 2, (16, 64)), (0.0, 2, (4, 16, 64))]:
        _, noisy = study.training_sets(key_noise, dataset, label_noise, seeds)
        alone = jaxnn.width_sweep(
            study.MODULES["mlp"],
            dict(
                x_train=dataset.x_train,
                y_train=np.asarray(noisy),
                x_test=dataset.x_test,
                y_test=dataset.y_test,
            ),
            widths=widths,
            seeds=seeds,
            loss="softmax_cross_entropy",
            optimizer=optax.sgd(config.learning_rate, momentum=config.momentum),
            epochs=config.epochs,
            batch_size=config.batch_size,
            record_epochs=config.record_epochs(),
            key=jax.random.fold_in(key_init, study.MODEL_STREAM["mlp"]),
            eval_batch_size=config.eval_batch_size,
            matmul_precision=config.matmul_precision,
            progress=False,
        )
        for width in widths:
            row = rows[("mlp", label_noise, width)]
            curves = alone.curves[("data", 0, width)]
            for metric in analysis.METRICS:
                # float32 rounding only: the width groups (padding) may differ between calls.
                np.testing.assert_allclose(
                    row[f"{metric}_per_seed"],
                    np.asarray(curves[metric])[:, -1],
                    rtol=1e-6,
                    atol=1e-7,
                    err_msg=f"{metric} at label noise {label_noise}, M {width}",
                )


def test_threshold_contrast_uses_the_seeds_each_pair_of_widths_shares():
    # Width 8 interpolates; the window is widths 4 and 8; width 16 has only 2 of the 3 seeds.
    rows = [
        _row(2, [0.5] * 3, [0.40, 0.42, 0.41]),
        _row(4, [0.2] * 3, [0.50, 0.53, 0.52]),
        _row(8, [0.0] * 3, [0.51, 0.52, 0.50]),
        _row(16, [0.0] * 2, [0.40, 0.41]),
    ]
    curve = {"model": "mlp", "label_noise": 0.1}
    contrast = analysis.threshold_contrast(curve, rows, n_train=40)
    assert contrast["window_values"] == [4, 8] and contrast["rise_versus_value"] == 2
    window = np.mean([[0.50, 0.53, 0.52], [0.51, 0.52, 0.50]], axis=0)
    assert contrast["rise"] == pytest.approx(np.mean(window - [0.40, 0.42, 0.41]), rel=1e-12)
    assert contrast["excess"] == pytest.approx(np.mean(window[:2] - [0.40, 0.41]), rel=1e-12)
    assert np.isnan(analysis.per_seed(rows, "test_error")[3, 2])


def test_comparison_with_a_published_curve_uses_the_prediction_z():
    rows = [{**_row(4, [0.0, 0.0, 0.0], [0.50, 0.52, 0.54]), "test_loss": 1.0, "train_loss": 0.1}]
    published = {
        "model": "mlp",
        "label_noise": 0.0,
        "title": "t",
        "rows": [
            {
                "width": 4,
                "test_error": 0.60,
                "train_error": 0.0,
                "test_loss": 2.0,
                "train_loss": 0.1,
            },
            {
                "width": 99,
                "test_error": 0.5,
                "train_error": 0.0,
                "test_loss": 1.0,
                "train_loss": 0.1,
            },
        ],
    }
    comparison = analysis.compare_with_published(published, rows)
    assert comparison["widths_compared"] == 1
    (row,) = comparison["rows"]
    # mean 0.52, sd 0.02, n = 3: z = (0.60 - 0.52) / (0.02 sqrt(4/3))
    assert row["test_error_z"] == pytest.approx(0.08 / (0.02 * math.sqrt(4 / 3)), rel=1e-9)


def test_published_reference_holds_the_notebook_widths_and_names_its_source():
    reference = analysis.load_reference()
    assert reference["source"]["commit"] and reference["source"]["file"].endswith(".ipynb")
    widths = {
        c["model"] + str(c["label_noise"]): [r["width"] for r in c["rows"]]
        for c in reference["curves"]
    }
    assert widths["mlp0.0"] == widths["mlp0.15"] == list(study.NOTEBOOK_MLP_WIDTHS)
    assert widths["cnn0.15"] == list(study.NOTEBOOK_CNN_WIDTHS)
    for curve in reference["curves"]:
        for row in curve["rows"]:
            assert 0 <= row["test_error"] <= 1 and 0 <= row["train_error"] <= 1


@pytest.mark.slow  # the study's --quick run, end to end (shared with test_resume)
def test_with_verdicts_is_idempotent_and_matches_what_the_run_wrote(quick_run):
    from jaxnn import io

    _, out, _ = quick_run
    written = json.loads((out / "double_descent_mnist1d.json").read_text())
    again = io.to_jsonable(study.with_verdicts(written))
    for key in ("curves", "threshold_contrasts", "label_noise_effect", "epochwise", "verdicts"):
        assert again[key] == written[key], key
    for panel in written["epochwise"]:  # a new run stores the per-seed curves the test reads
        assert panel["nonmonotone"]["tested"]
    for row in study.answers(written):
        assert set(row) == {"item", "question", "answer", "figure"}
        assert "\n" not in row["answer"] and len(row["answer"]) <= 320


def _curve_rows(last_test):
    """Width 8 interpolates (window 4-8); the test error dips at 2, rises in the window and
    ends at ``last_test`` (per seed) at width 16."""
    return [
        _row(2, [0.5] * 4, [0.40, 0.41, 0.42, 0.40]),
        _row(4, [0.2] * 4, [0.50, 0.52, 0.51, 0.50]),
        _row(8, [0.0] * 4, [0.51, 0.52, 0.50, 0.51]),
        _row(16, [0.0] * 4, last_test),
    ]


@pytest.mark.parametrize(
    "last, verdict",
    [
        ([0.40, 0.41, 0.42, 0.41], "double descent"),  # a hump: the widest undoes all the rise
        ([0.51, 0.52, 0.50, 0.51], "overfitting that levels off"),  # a plateau
        ([0.50, 0.51, 0.49, 0.50], "overfitting that levels off"),  # a significant sliver
    ],
)
def test_threshold_verdict_needs_the_widest_to_undo_half_the_rise(last, verdict):
    curve = {"model": "mlp", "label_noise": 0.1}
    contrast = analysis.threshold_contrast(curve, _curve_rows(last), n_train=40)
    assert contrast["verdict"] == verdict and contrast["rise_verdict"] == "effect"
    assert contrast["qualifies"] == (verdict == "double descent")
    if last[0] == 0.50:  # the sliver: its fall of 1 point is significant, and a tenth of the rise
        assert contrast["excess_p"] < 0.05 and contrast["undone"] < 0.5


def _panel(per_seed):
    per_seed = np.asarray(per_seed, np.float64)
    return {
        "model": "mlp",
        "label_noise": 0.1,
        "widths": [4, 8],
        "epochs": list(range(per_seed.shape[2])),
        "test_error": np.nanmean(per_seed, axis=1).tolist(),
        "test_error_per_seed": per_seed.tolist(),
    }


def test_epochwise_marks_only_a_fall_that_undoes_half_the_rise():
    rng = np.random.default_rng(0)
    jitter = 0.002 * rng.standard_normal((2, 6, 7))
    hump = [0.5, 0.3, 0.2, 0.35, 0.25, 0.2, 0.2]  # rises 15 points, falls back 15
    plateau = [0.5, 0.3, 0.2, 0.35, 0.35, 0.34, 0.34]  # rises 15 points, falls 1: a sliver
    test = analysis.epochwise_test(_panel(np.array([hump, plateau])[:, None, :] + jitter))
    kinds = {m["width"]: m["kind"] for m in test["marks"]}
    assert kinds == {4: "double descent", 8: "overfitting that levels off"}
    assert test["verdict"] == "double descent" and test["slivers"] >= 1
    assert test["largest_rise"]["rise"] == pytest.approx(0.15, abs=0.01)  # on seed means
    only_plateau = analysis.epochwise_test(
        _panel(np.array([plateau, plateau])[:, None, :] + jitter)
    )
    assert only_plateau["verdict"] == "overfitting that levels off"
