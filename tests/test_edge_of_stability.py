import json
import math
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

from jaxnn import curvature, models, train
from jaxnn.studies import edge_of_stability as study
from jaxnn.studies import implicit_regularization as sgd_study

ROOT = Path(__file__).resolve().parents[1]


def _edge_run(rate=0.1, total=1000, every=50, onset=400, start=0.1, late=1.02):
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
    epochs, top, loss = _edge_run()
    m = study.trajectory_measures(epochs, top, loss, 0.1, band=0.1)
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
    m = study.trajectory_measures(epochs, top, loss, 0.1, band=0.1)
    assert m["onset_epoch"] is None and m["fraction_in_band"] is None
    assert m["loss_rise_fraction_after"] is None and m["max_loss_rise_factor"] is None
    assert m["loss_rise_fraction_before"] == 0.0
    assert m["max_edge_ratio"] == pytest.approx(0.25)
    row = study.rate_summary(
        [{"learning_rate": 0.1, "seed": 0, "diverged": False, "test_loss": 1.0, **m}]
    )[0]
    assert row["n_onset"] == 0
    sentence = study.rate_sentence(row, band=0.1, epochs=500)
    assert "never reaches 0.9·2/μ in 500 epochs" in sentence
    assert not any(study.classify(row, band=0.1).values())


def test_summary_classification_and_sentences_follow_the_numbers():
    runs = []
    for rate, late, seeds in ((0.1, 1.02, 3), (0.2, 1.3, 3)):
        for seed in range(seeds):
            epochs, top, loss = _edge_run(rate=rate, late=late)
            runs.append(
                {
                    "learning_rate": rate,
                    "seed": seed,
                    "diverged": False,
                    "test_loss": 1.0 + seed,
                    **study.trajectory_measures(epochs, top, loss, rate, band=0.1),
                }
            )
    runs.append(
        {
            "learning_rate": 0.2,
            "seed": 3,
            "diverged": True,
            "test_loss": None,
            **dict.fromkeys(study.MEASURES),
        }
    )
    rows = study.rate_summary(runs)
    assert [(r["n_seeds"], r["n_diverged"], r["n_onset"]) for r in rows] == [(3, 0, 3), (4, 1, 3)]
    assert rows[0]["edge"] == pytest.approx(20.0)
    marks = [study.classify(r, band=0.1) for r in rows]
    assert marks[0] == {"sharpening": True, "hovering": True, "non_monotone": True}
    # Alternating 1.3 / 0.7: only the records at 0.7 are out of band too -> never in band.
    assert marks[1] == {"sharpening": True, "hovering": False, "non_monotone": True}
    sentences = study.conclusions(rows, band=0.1, epochs=1000)
    assert any(
        s.startswith("A plateau at 2/μ") and "μ = 0.1; not at μ = 0.2" in s for s in sentences
    )
    assert any(s.startswith("Progressive sharpening") and "μ = 0.1, 0.2." in s for s in sentences)
    assert any("overshoots the band" in s and "0.2 (peak 1.3·2/μ" in s for s in sentences)
    assert any("second-half median is 1.02–1.02·2/μ: just above 2/μ" in s for s in sentences)


def test_trajectories_keep_an_odd_loss_stride():
    rates = np.array([0.1, 0.1, 0.2])
    losses = np.tile(np.arange(3001.0), (3, 1))
    curves = study.trajectories(
        rates, np.array([0, 1, 0]), [0, 1500, 3000], np.ones((3, 3)), losses, max_points=600
    )
    assert [c["learning_rate"] for c in curves] == [0.1, 0.2]
    stride = curves[0]["loss_epochs"][1]
    assert stride % 2 == 1 and stride == 5  # 3000 // 600 = 5, odd already
    assert len(curves[0]["train_loss_per_seed"]) == 2
    assert curves[0]["train_loss_at_records_per_seed"][0] == [0.0, 1500.0, 3000.0]


def test_config_rejects_bad_values_naming_them():
    for field, value in (
        ("learning_rates", (0.2, 0.1)),
        ("learning_rates", ()),
        ("record_every", 0),
        ("edge_band", 1.5),
        ("seeds", 0),
    ):
        with pytest.raises(ValueError, match=field):
            study.Config(**{field: value})
    with pytest.raises(ValueError, match="record_every"):
        study.Config(epochs=100, record_every=200)
    assert study.Config(epochs=110, record_every=50).record_epochs() == (0, 50, 100, 110)


def test_vmapped_top_eigenvalues_equal_one_by_one_calls(x64):
    """λ_max of recorded parameters in padded, vmapped batches equals ``hessian_top_eigenvalue``
    of each set alone (which finds the Ritz value with LAPACK rather than bisection)."""
    sizes = (3, 6, 6, 2)
    key_x, key_y = jax.random.split(jax.random.key(4))
    x = jax.random.normal(key_x, (2, 20, 3), np.float64)
    y = jax.random.normal(key_y, (2, 20, 2), np.float64)
    grid = sgd_study.make_grid([0.05, 0.2], 2)
    key = jax.random.key(1)
    members = sgd_study.build_members(key, grid, x, y, sizes, "lecun_normal")
    config = train.TrainConfig(
        optimizer="sgd",
        epochs=6,
        batch_size=None,
        chunk_epochs=4,
        record_epochs=(0, 3, 6),
        keep_recorded_params=True,
    )
    result = train.train(config, members, x[0], y[0])
    n_members, n_records = len(grid.seed), 3
    flat = jax.tree.map(
        lambda a: a.reshape(n_members * n_records, *a.shape[2:]), result.recorded_params
    )
    member = np.repeat(np.arange(n_members), n_records)
    keys = study.trajectory_keys(key, grid.seed, n_records)
    top = study.top_eigenvalues(
        flat, members.x_train, members.y_train, member, keys, iterations=8, batch_size=5
    )  # 12 sets: batches of 5, padded
    loss_fn = train.make_loss_fn(models.MLPFamily(activation="relu"))
    for index in range(n_members * n_records):
        params = jax.tree.map(lambda a, i=index: a[i], flat)
        alone = curvature.hessian_top_eigenvalue(
            loss_fn,
            params,
            members.x_train[member[index]],
            members.y_train[member[index]],
            key=keys[index],
            iterations=8,
        )
        np.testing.assert_allclose(top[index], alone, rtol=1e-10)
    # The recorded parameters at epoch 0 are the initial ones, at epoch 6 the final ones.
    first = jax.tree.map(lambda a: a[:, 0], result.recorded_params)
    last = jax.tree.map(lambda a: a[:, -1], result.recorded_params)
    for a, b in zip(jax.tree.leaves(first), jax.tree.leaves(members.params)):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(jax.tree.leaves(last), jax.tree.leaves(result.params)):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_trajectory_keys_are_per_record_and_shared_by_a_seed():
    keys = jax.random.key_data(study.trajectory_keys(jax.random.key(0), [0, 1, 0], 4))
    keys = np.asarray(keys).reshape(3, 4, -1)
    assert np.array_equal(keys[0], keys[2]) and not np.array_equal(keys[0], keys[1])
    assert len({tuple(k) for k in keys[0]}) == 4


def test_quick_run_writes_finite_numbers_and_one_figure(tmp_path):
    import edge_of_stability

    results = edge_of_stability.main(
        ["--quick", "--quiet", "--out", str(tmp_path), "--runs", str(tmp_path / "runs")]
    )
    saved = json.loads((tmp_path / "edge_of_stability.json").read_text())
    config = study.QUICK
    assert len(saved["runs"]) == len(config.learning_rates) * config.seeds
    n_records = len(config.record_epochs())
    for curve in saved["trajectories"]:
        top = np.asarray(curve["top_eigenvalue_per_seed"], float)
        assert top.shape == (config.seeds, n_records) and np.isfinite(top).all() and (top > 0).all()
        assert np.isfinite(np.asarray(curve["train_loss_per_seed"], float)).all()
    for row in saved["runs"]:
        assert not row["diverged"]
        for key in (
            "initial_edge_ratio",
            "max_edge_ratio",
            "sharpening_ratio",
            "late_edge_ratio",
            "final_train_loss",
            "test_loss",
        ):
            assert math.isfinite(row[key]) and row[key] > 0, (key, row)
    assert all(isinstance(s, str) and s for s in saved["conclusions"])
    assert results["run"]["config"]["learning_rates"] == list(config.learning_rates)
    markdown = (tmp_path / "edge_of_stability.md").read_text()
    assert markdown.count("![") == 1 and "### Progressive sharpening" in markdown
    assert [p.name for p in tmp_path.glob("*.png")] == ["edge_of_stability.png"]
    assert (tmp_path / "edge_of_stability.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    "argv, name",
    [
        (["--learning-rates", "0.1,abc"], "--learning-rates"),
        (["--learning-rates", "0"], "--learning-rates"),
        (["--learning-rates", "0.2,0.1"], "learning_rates"),
        (["--record-every", "0"], "--record-every"),
        (["--epochs", "10", "--record-every", "20"], "record_every"),
        (["--seeds", "0"], "--seeds"),
    ],
)
def test_bad_command_line_exits_2_with_one_line(tmp_path, argv, name):
    completed = subprocess.run(
        [
            sys.executable,
            str(ROOT / "experiments" / "edge_of_stability.py"),
            *argv,
            "--out",
            str(tmp_path),
            "--runs",
            str(tmp_path / "runs"),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 2, completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0], completed.stderr
