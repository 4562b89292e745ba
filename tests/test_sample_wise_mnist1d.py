import json
import math

import jax
import numpy as np
import pytest
from scipy import stats as scipy_stats

from jaxnn import mnist1d, report
from jaxnn.studies import sample_wise_mnist1d as study


@pytest.fixture(scope="module")
def quick_run(quick_outputs):
    """The session's --quick run of the script (shared with the report and resume tests)."""
    return quick_outputs("sample_wise_mnist1d")


def test_training_sets_are_nested_prefixes_of_one_permutation_per_seed():
    key = jax.random.key(3)
    pool, seeds = 50, 3
    x_pool = np.arange(pool * 2, dtype=np.float32).reshape(pool, 2)
    labels = np.arange(pool) % 10
    order = study.nested_orders(key, pool, seeds)
    assert order.shape == (seeds, pool)
    for s in range(seeds):  # a permutation of the pool, different for each seed
        assert sorted(order[s].tolist()) == list(range(pool))
    assert not np.array_equal(order[0], order[1])
    noisy = study.noisy_pool_labels(key, labels, 0.5, seeds)
    small_x, small_y = study.training_set(x_pool, noisy, order, 10)
    large_x, large_y = study.training_set(x_pool, noisy, order, 30)
    assert small_x.shape == (seeds, 10, 2) and large_y.shape == (seeds, 30)
    np.testing.assert_array_equal(small_x, large_x[:, :10])
    np.testing.assert_array_equal(small_y, large_y[:, :10])
    for s in range(seeds):  # one-by-one: example order[s, i] with seed s's noisy label
        np.testing.assert_array_equal(large_x[s], x_pool[order[s, :30]])
        expected = np.asarray(mnist1d.corrupt_labels(jax.random.fold_in(key, s), labels, 0.5))
        np.testing.assert_array_equal(large_y[s], expected[order[s, :30]])
    clean = study.noisy_pool_labels(key, labels, 0.0, seeds)
    np.testing.assert_array_equal(clean, np.broadcast_to(labels, (seeds, pool)))


def test_threshold_is_the_largest_n_every_seed_fits_and_the_window_the_next():
    table = [[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.004], [0.1, 0.2]]
    assert study.locate_threshold(table) == {"index": 2, "window": [2, 3], "monotone": True}
    assert study.per_seed_thresholds(table, [1, 2, 3, 4, 5]) == [4, 3]
    # A seed that misses one label at a smaller N: the largest fitted N still counts.
    gap = [[0.0, 0.0], [0.0, 0.01], [0.0, 0.0], [0.1, 0.2]]
    assert study.locate_threshold(gap) == {"index": 2, "window": [2, 3], "monotone": False}
    none = study.locate_threshold([[0.1, 0.0], [0.2, 0.1]])
    assert none["index"] is None and none["window"] is None and "no N" in none["reason"]
    every = study.locate_threshold([[0.0, 0.0], [0.0, 0.0]])
    assert every["index"] == 1 and every["window"] is None and "beyond" in every["reason"]
    assert study.per_seed_thresholds([[0.1, 0.0], [0.2, 0.1]], [10, 20]) == [None, 10]


def _row(n_train, train, test, width=8, label_noise=0.1):
    return {
        "label_noise": label_noise,
        "width": width,
        "n_params": 100,
        "n_train": n_train,
        "train_error_per_seed": train,
        "test_error_per_seed": test,
    }


def test_contrast_tests_the_window_from_training_error_against_a_hand_computation():
    # Test error dips at N = 20, rises over the window {30, 40} (where the training error
    # stops being 0), then falls at N = 80.
    rows = [
        _row(10, [0.0] * 4, [0.50, 0.52, 0.51, 0.53]),
        _row(20, [0.0] * 4, [0.40, 0.41, 0.43, 0.42]),
        _row(30, [0.0] * 4, [0.45, 0.47, 0.46, 0.49]),
        _row(40, [0.01, 0.0, 0.02, 0.0], [0.47, 0.46, 0.49, 0.48]),
        _row(80, [0.1] * 4, [0.30, 0.31, 0.29, 0.30]),
    ]
    curve = study.curve_summary(0.1, 8, rows)
    assert curve["name"] == "mlp M=8, label noise 0.1"
    assert curve["window_values"] == [30, 40] and curve["threshold_n_train"] == 30
    contrast = curve["contrast"]
    window = np.mean([rows[2]["test_error_per_seed"], rows[3]["test_error_per_seed"]], axis=0)
    difference = window - np.asarray(rows[1]["test_error_per_seed"])
    assert curve["rise_versus_n_train"] == 20
    assert contrast["rise"] == pytest.approx(difference.mean(), rel=1e-12)
    assert contrast["rise_standard_error"] == pytest.approx(scipy_stats.sem(difference), rel=1e-9)
    one_sided = scipy_stats.ttest_1samp(difference, 0.0, alternative="greater").pvalue
    assert contrast["rise_p"] == pytest.approx(min(1.0, 2 * one_sided), rel=1e-9)  # 2 smaller N
    excess = window - np.asarray(rows[4]["test_error_per_seed"])
    assert contrast["excess"] == pytest.approx(excess.mean(), rel=1e-12)
    assert contrast["significant"] and contrast["rise_minimum_detectable"] > 0
    assert curve["params_per_example"] == pytest.approx(100 / 30)


def test_threshold_shift_compares_widths_and_counts_seeds_with_a_sign_test():
    narrow = study.curve_summary(
        0.0,
        8,
        [
            _row(n, t, [0.5] * 3, width=8, label_noise=0.0)
            for n, t in ((10, [0, 0, 0]), (20, [0, 0.1, 0]), (40, [0.1] * 3))
        ],
    )
    wide = study.curve_summary(
        0.0,
        32,
        [
            _row(n, t, [0.5] * 3, width=32, label_noise=0.0)
            for n, t in ((10, [0, 0, 0]), (20, [0, 0, 0]), (40, [0, 0.1, 0.1]))
        ],
    )
    (shift,) = study.threshold_shift([narrow, wide])
    assert (shift["narrow_threshold_n_train"], shift["wide_threshold_n_train"]) == (10, 20)
    assert shift["wide_larger"] and shift["ratio"] == 2.0
    # Per seed: narrow 20, 10, 20; wide 40, 20, 20: larger on 2, tied on 1.
    assert (shift["seeds_wide_larger"], shift["seeds_wide_smaller"]) == (2, 0)
    assert shift["sign_test_p"] == pytest.approx(0.25)


@pytest.mark.slow  # the study's --quick run, end to end (shared with the report and resume tests)
def test_quick_run_writes_rows_contrasts_and_the_run_record(quick_run):
    document, out, _ = quick_run
    for name in ("json", "md", "png"):
        assert (out / f"sample_wise_mnist1d.{name}").exists(), name
    written = json.loads((out / "sample_wise_mnist1d.json").read_text())
    config = study.QUICK
    assert written["run"]["seed"] == 0 and "jax" in written["run"]["versions"]
    expected = [
        (q, w, n) for q in config.label_noises for w in config.widths for n in config.n_train
    ]
    rows = written["rows"]
    assert [(r["label_noise"], r["width"], r["n_train"]) for r in rows] == expected
    for row in rows:
        assert row["seeds"] == config.seeds and row["n_diverged"] == 0
        assert row["epochs"] == config.epochs_at(row["n_train"])
        assert row["steps"] == row["epochs"] * row["n_train"] // config.batch_size
        for metric in study.METRICS:
            assert len(row[f"{metric}_per_seed"]) == config.seeds
            assert row[metric] == pytest.approx(np.mean(row[f"{metric}_per_seed"]))
        assert 0 <= row["test_error"] <= 1 and 0 <= row["train_error"] <= 1
    assert written["n_test"] == 600 and written["n_pool"] == 400
    contrasts = written["threshold_contrasts"]
    assert [c["name"] for c in contrasts] == [
        study.curve_name(w, q) for q in config.label_noises for w in config.widths
    ]
    for contrast in contrasts:
        assert contrast["metric"] == "test_error" and contrast["axis"] == "n_train"
        assert isinstance(contrast["window_values"], list)
        assert {"tested", "significant"} <= set(contrast)
    assert len(written["threshold_shift"]) == len(config.label_noises)
    text = (out / "sample_wise_mnist1d.md").read_text()
    assert "Nakkiran" in text and "Did more data hurt?" in text
    assert report.find_placeholders(text) == []
    assert document["rows"] == rows


@pytest.mark.parametrize(
    "fields, name",
    [
        (dict(seeds=0), "seeds"),
        (dict(steps=0), "steps"),
        (dict(steps=1), "steps"),  # less than one epoch at the largest N
        (dict(widths=()), "widths"),
        (dict(widths=(94, 47)), "widths"),
        (dict(widths=(5000,)), "widths"),
        (dict(n_train=(1000, 1050)), "n_train"),  # not a multiple of the batch
        (dict(n_train=(2000, 1000)), "n_train"),
        (dict(n_train=(1000, 20_000)), "n_train"),  # beyond the 12,000-example pool
        (dict(label_noises=()), "label_noises"),
        (dict(label_noises=(0.0, 1.5)), "label_noises"),
        (dict(label_noises=(0.1, 0.1)), "label_noises"),
        (dict(learning_rate=math.nan), "learning_rate"),
        (dict(momentum=1.0), "momentum"),
        (dict(seed=-1), "seed"),
        (dict(batch_size=0), "batch_size"),
    ],
)
def test_config_errors_name_the_field(fields, name):
    with pytest.raises(ValueError, match=f"^{name}:"):
        study.Config(**fields)


@pytest.mark.parametrize(
    "args, name",
    [
        (["--seeds", "0"], "--seeds"),
        (["--steps", "0"], "--steps"),
        (["--n-train", "0:400"], "--n-train"),
        (["--n-train", "100,150"], "n_train"),
        (["--widths", ""], "--widths"),
        (["--widths", "2,9999"], "--widths"),
        (["--label-noise", "0.1,x"], "--label-noise"),
        (["--label-noise", "1.5"], "label_noises"),
    ],
)
def test_bad_command_line_exits_2_with_one_line(bad_input, args, name):
    bad_input("sample_wise_mnist1d", ["--quick", *args], name)


@pytest.mark.slow  # the study's --quick run, end to end (shared with the report and resume tests)
def test_with_verdicts_is_idempotent_and_matches_what_the_run_wrote(quick_run):
    from jaxnn import io

    _, out, _ = quick_run
    written = json.loads((out / "sample_wise_mnist1d.json").read_text())
    again = io.to_jsonable(study.with_verdicts(written))
    for key in ("curves", "threshold_contrasts", "threshold_shift", "verdicts"):
        assert again[key] == written[key], key
    for row in study.answers(written):
        assert set(row) == {"item", "question", "answer", "figure"}
        assert "\n" not in row["answer"] and len(row["answer"]) <= 320


def _hurt_rows(largest):
    """The test error dips at N = 20, rises 5 points over the window {30, 40} and ends at
    ``largest`` (per seed) at N = 80."""
    return [
        _row(10, [0.0] * 4, [0.50, 0.52, 0.51, 0.53]),
        _row(20, [0.0] * 4, [0.40, 0.41, 0.42, 0.41]),
        _row(30, [0.0] * 4, [0.45, 0.47, 0.46, 0.46]),
        _row(40, [0.01, 0.0, 0.02, 0.0], [0.46, 0.45, 0.47, 0.46]),
        _row(80, [0.1] * 4, largest),
    ]


@pytest.mark.parametrize(
    "largest, verdict",
    [
        ([0.38, 0.40, 0.39, 0.40], "double descent"),  # a hump: N = 80 undoes the whole rise
        ([0.46, 0.46, 0.47, 0.45], "overfitting that levels off"),  # a plateau
        ([0.455, 0.455, 0.465, 0.455], "overfitting that levels off"),  # a sliver
    ],
)
def test_more_data_hurt_is_sized_and_double_descent_needs_half_the_rise_undone(largest, verdict):
    curve = study.curve_summary(0.1, 8, _hurt_rows(largest))
    assert curve["more_data_hurt"]["verdict"] == "effect"
    assert curve["contrast"]["verdict"] == verdict
    # The same rise, shrunk below its floor by noisy seeds, is not "more data hurt".
    noisy = _hurt_rows(largest)
    noisy[2]["test_error_per_seed"] = [0.40, 0.47, 0.43, 0.46]
    noisy[3]["test_error_per_seed"] = [0.41, 0.45, 0.43, 0.46]
    judged = study.curve_summary(0.1, 8, noisy)["more_data_hurt"]
    assert judged["verdict"] != "effect" and judged["minimum_detectable"] > 0


def test_threshold_shift_is_judged_by_its_ratio_against_the_seed_spread():
    def curve(width, per_seed_fits):
        rows = [
            _row(n, [0.0 if n <= fit else 0.1 for fit in per_seed_fits], [0.5] * 5, width, 0.0)
            for n in (10, 20, 40, 80, 160, 320)
        ]
        return study.curve_summary(0.0, width, rows)

    (shift,) = study.threshold_shift([curve(8, [10] * 5), curve(32, [20] * 5)])
    assert shift["ratio"] == 2.0 and shift["floor_ratio"] == pytest.approx(1.0)
    assert shift["verdict"] == "effect" and shift["smallest_p"] == pytest.approx(1 / 32)
    # The same ratio and the same 5-of-5 sign, but one seed of each width fits 8 times more:
    # seeds scatter by more than the move, which is below its floor.
    (scattered,) = study.threshold_shift(
        [curve(8, [10, 10, 10, 10, 80]), curve(32, [20, 20, 20, 20, 160])]
    )
    assert scattered["ratio"] == 2.0 and scattered["sign_test_p"] < 0.05
    assert scattered["floor_ratio"] > 2 and scattered["verdict"] == "below floor"
    # Seeds split 3 to 2: not significant, whatever the ratio.
    (split,) = study.threshold_shift(
        [curve(8, [10, 40, 10, 40, 10]), curve(32, [20, 20, 20, 20, 20])]
    )
    assert split["ratio"] == 2.0 and split["verdict"] == "not detected"


@pytest.mark.slow  # the study's --quick run, end to end (shared with the report and resume tests)
def test_one_call_over_every_set_gives_each_set_what_a_call_of_its_own_gives(quick_run):
    # The study trains every (label noise, N) as a named set of one width_sweep call with
    # steps=; before, each was a call of its own with epochs = config.epochs_at(N). A set
    # that borrowed another's labels, subset, keys or step count would differ here.
    import optax

    import jaxnn
    from jaxnn import models

    document, _, _ = quick_run
    config = study.QUICK
    dataset = mnist1d.load(config.data)
    key_order, key_noise, key_init = jax.random.split(jax.random.key(config.seed), 3)
    order = study.nested_orders(key_order, len(dataset.y_train), config.seeds)
    rows = {(r["label_noise"], r["width"], r["n_train"]): r for r in document["rows"]}
    for label_noise, n_train in [(0.15, 200), (0.0, 400)]:
        labels = study.noisy_pool_labels(key_noise, dataset.y_train, label_noise, config.seeds)
        x, y = study.training_set(dataset.x_train, labels, order, n_train)
        alone = jaxnn.width_sweep(
            models.MNIST1DMLP,
            dict(x_train=x, y_train=y, x_test=dataset.x_test, y_test=dataset.y_test),
            widths=config.widths,
            seeds=config.seeds,
            loss="softmax_cross_entropy",
            optimizer=optax.sgd(config.learning_rate, momentum=config.momentum),
            epochs=config.epochs_at(n_train),
            batch_size=config.batch_size,
            key=key_init,
            eval_batch_size=config.eval_batch_size,
            matmul_precision=config.matmul_precision,
            progress=False,
        )
        for width in config.widths:
            row = rows[(label_noise, width, n_train)]
            assert row["epochs"] == config.epochs_at(n_train)
            assert row["steps"] == row["epochs"] * n_train // config.batch_size
            curves = alone.curves[("data", 0, width)]
            for metric in study.METRICS:
                # float32 rounding only: the sets of one N share a vmapped program.
                np.testing.assert_allclose(
                    row[f"{metric}_per_seed"],
                    np.asarray(curves[metric])[:, -1],
                    rtol=1e-6,
                    atol=1e-7,
                    err_msg=f"{metric} at label noise {label_noise}, N {n_train}, M {width}",
                )
