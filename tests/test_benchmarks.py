"""The benchmark scripts reject bad input up front; the MNIST-1D one's cold and warm phases
are checked on a ``--quick`` run (the only benchmark that times anything in the tests)."""

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest


@pytest.mark.parametrize(
    "args, name",
    [
        (["--steps", "0"], "--steps"),
        (["--steps", "10"], "--steps"),
        (["--widths", ""], "--widths"),
        (["--widths", "2:100000000"], "--widths"),
        (["--seed", "99999999999999999999999"], "--seed"),
    ],
)
def test_bench_sweep_bad_input_exits_2_before_any_compute(bad_input, args, name):
    bad_input("bench_sweep", args, name)


@pytest.mark.parametrize(
    "args, name",
    [
        (["--epochs", "0"], "--epochs"),
        (["--epochs", "3"], "--epochs"),
        (["--seeds", "0"], "--seeds"),
        (["--rounds", "0"], "--rounds"),
    ],
)
def test_bench_mnist1d_bad_input_exits_2_before_any_compute(bad_input, args, name):
    bad_input("bench_mnist1d", args, name)


def test_bench_mnist1d_phase_process_gets_its_own_cache_folder(tmp_path):
    """The phase's process sees the cache on, in the given folder, with the start time set."""
    import sys

    from jaxnn import benchmark_mnist1d as bench

    names = ("JAX_COMPILATION_CACHE_DIR", "XDG_CACHE_HOME", "JAXNN_COMPILE_CACHE", bench.START_ENV)
    script = f"import json, os, sys; print(json.dumps({{n: os.environ[n] for n in {names}}}))"
    # The command gets "--child warm" appended; python -c leaves it in sys.argv.
    seen = bench.run_phase([sys.executable, "-c", script], "warm", tmp_path)
    assert seen["JAX_COMPILATION_CACHE_DIR"] == str(tmp_path / "xla")
    assert seen["XDG_CACHE_HOME"] == str(tmp_path / "xdg")
    assert seen["JAXNN_COMPILE_CACHE"] == "1"
    assert 0 < seen["process_seconds"] < 60
    assert float(seen[bench.START_ENV]) > 0


def test_bench_mnist1d_projects_the_measured_wall_to_the_study_length():
    from jaxnn import benchmark_mnist1d as bench

    config = bench.MNIST1DBenchConfig(seeds=4, epochs=20, study_epochs=500)
    phase = {"wall_seconds": 30.0, "seconds_per_epoch": 0.1}
    assert bench.seconds_per_seed(config, phase) == pytest.approx((30.0 + 480 * 0.1) / 4)


def test_bench_mnist1d_steady_time_skips_each_groups_first_chunk_and_adds_the_groups():
    from jaxnn import benchmark_mnist1d as bench

    # Two groups of 3 chunks of 2 epochs: the first chunk of each compiles (10 s, 5 s).
    stamps = [10.0, 11.0, 12.0, 17.0, 20.0, 23.0]
    # Steady: 1 s and 3 s a chunk, i.e. 0.5 + 1.5 s an epoch of both groups.
    assert bench.steady_seconds_per_epoch(stamps, 2, epochs=6) == pytest.approx(2.0)
    with pytest.raises(RuntimeError, match="at least 2 chunks"):
        bench.steady_seconds_per_epoch(stamps, 6, epochs=6)


def test_bench_mnist1d_useful_flops_are_what_xla_counts_for_the_module():
    from jaxnn import _module_family as module_family
    from jaxnn import benchmark_mnist1d as bench
    from jaxnn import models

    family = module_family.ModuleFamily(models.MNIST1DMLP, (40,), conv_impl="patches")
    widths = (4, 300)
    n_params = {w: family.parameter_count(w) for w in widths}
    # XLA's cost analysis of one example's forward pass, times 3 (forward and backward).
    xla = sum(family.flops_per_example(w) for w in widths)
    assert bench.useful_flops_per_epoch(n_params, 3, 4000) == pytest.approx(
        3 * 4000 * xla, rel=0.01
    )


@pytest.mark.slow  # end to end: two fresh processes compile and train
def test_bench_mnist1d_warm_phase_reads_what_the_cold_phase_wrote(tmp_path, capsys, monkeypatch):
    """One ``--quick`` round: each phase is a fresh process; the cold one starts from an empty
    temporary cache folder, the warm one loads every program from it, and neither touches
    the user's own cache (``XDG_CACHE_HOME``, a temporary folder in tests). Without PyTorch
    (the bench extra) its loop's seconds are made up: our phases are what is checked."""
    import importlib.util

    import bench_mnist1d

    from jaxnn import benchmark_mnist1d as bench

    if importlib.util.find_spec("torch") is None:
        monkeypatch.setattr(
            bench, "time_torch_mlp", lambda x, y, widths, **_: {w: 0.01 * w for w in widths}
        )

    user_cache = Path(os.environ["XDG_CACHE_HOME"])
    user_files = sorted((user_cache / "jaxnn").rglob("*"))
    out = tmp_path / "out"
    argv = ["--quick", "--quiet", "--out", str(out), "--runs", str(tmp_path / "runs")]
    results = bench_mnist1d.main(argv)
    (entry,) = results["rounds"]
    cold, warm = entry["cold"], entry["warm"]
    assert cold["cache_entries_at_start"] == 0 and cold["cache_hits"] == 0
    assert cold["cache_writes"] > 0 and entry["cache_entries_after_cold"] > 0
    assert warm["cache_dir"] == cold["cache_dir"]
    assert warm["cache_entries_at_start"] == cold["cache_entries_at_end"] > 0
    assert warm["cache_hits"] > 0 and warm["cache_writes"] == 0
    assert warm["compile_seconds"] < cold["compile_seconds"]
    # The phases' folder was a temporary one, removed afterwards; the user's is unchanged.
    cache_dir = Path(cold["cache_dir"])
    assert not cache_dir.exists() and not cache_dir.is_relative_to(user_cache)
    assert sorted((user_cache / "jaxnn").rglob("*")) == user_files
    for phase in ("cold", "warm"):
        record = entry[phase]
        assert 0 < record["setup_seconds"] < record["wall_seconds"] < record["process_seconds"]
        assert entry[f"ratio_{phase}"] == pytest.approx(
            entry["torch_seconds_per_seed"] / record["seconds_per_seed"]
        )
        assert results[f"ratio_{phase}"] == results["median"][f"ratio_{phase}"] > 0
    assert results["ratio"] == results["ratio_cold"]
    for phase in ("cold", "warm"):  # the pace against this process's own matmul rate
        record = entry[phase]
        assert record["groups"] == [16]  # widths 4 and 16, grouped as for 500 epochs
        assert 0 < record["useful_share"] < 1 and record["matmul_flops_per_second"] > 0
        assert record["useful_flops_per_second"] == pytest.approx(
            6 * record["n_train"] * (234 + 1098) / record["seconds_per_epoch"]  # 40-M-M-10
        )
        assert record["useful_share"] == pytest.approx(
            record["useful_flops_per_second"] / record["matmul_flops_per_second"]
        )
    printed = capsys.readouterr().out
    for phase, target in (("cold", 7), ("warm", 10)):
        assert re.search(rf"^{phase} ratio: \d+\.\dx \(target {target}x: (met|not met)\)$",
                         printed, re.M)  # fmt: skip
    assert re.search(r"^steady useful rate .*cold .* % of the float32 matmul", printed, re.M)
    document = json.loads((out / "bench_mnist1d.json").read_text())
    assert document["met"].keys() == {"cold", "warm"} and document["targets"]["warm"] == 10


@pytest.mark.parametrize(
    "args, name", [(["--epochs", "0"], "--epochs"), (["--rounds", "0"], "--rounds")]
)
def test_bench_width_sweep_bad_input_exits_2_before_any_compute(bad_input, args, name):
    bad_input("bench_width_sweep", args, name)


def test_welch_p_is_the_textbook_two_sided_welch_test():
    from scipy import stats as scipy_stats

    from jaxnn.benchmark_width_sweep import welch_p

    a, b = np.array([0.31, 0.35, 0.29]), np.array([0.40, 0.37, 0.45, 0.41])
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    t = (a.mean() - b.mean()) / np.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    assert welch_p(a, b) == pytest.approx(2 * scipy_stats.t.sf(abs(t), df), rel=1e-12)
    assert welch_p([0.2] * 3, [0.2] * 3) == 1.0
    assert welch_p([0.2] * 3, [0.3] * 3) == 0.0


def _fake_rounds(plain_errors, sweep_errors, plain_seconds, sweep_seconds):
    def timing(seconds, errors):
        return {
            "seconds": seconds,
            "compile_seconds": seconds / 2,
            "run_seconds": seconds / 2,
            "output": errors | {"groups": [16]},
        }

    method = {
        "plain": {phase: timing(plain_seconds, plain_errors) for phase in ("cold", "warm")},
        "width_sweep": {phase: timing(sweep_seconds, sweep_errors) for phase in ("cold", "warm")},
    }
    return [{"cnn": method, "mlp": method}]


def test_summarise_ratios_and_agreement_on_known_rounds():
    from jaxnn.benchmark_width_sweep import summarise

    same = {4: [0.50, 0.52, 0.48], 16: [0.30, 0.31, 0.29]}
    shifted = {4: [0.51, 0.49, 0.50], 16: [0.60, 0.61, 0.59]}  # width 16 far apart
    summary = summarise(_fake_rounds(same, shifted, 6.0, 2.0), (4, 16))
    row = summary["cnn"]
    assert row["ratio_cold"] == pytest.approx(3.0)
    assert row["ratio_run"] == pytest.approx(3.0)
    assert row["plain_test_error"][16] == pytest.approx(0.30)
    assert row["plain_test_error_se"][16] == pytest.approx(0.01 / np.sqrt(3))
    assert row["errors_agree"] == {4: True, 16: False}


def test_width_sweep_bench_counts_six_flops_per_weight_and_example_of_the_mlp():
    from jaxnn import benchmark_width_sweep as lib

    data = {"x_train": np.zeros((lib.N_TRAIN, 8, 8, 1), np.float32)}
    widths, epochs = (4, 16), 3
    weights = sum(64 * w + w * w + 10 * w for w in widths)
    expected = lib.SEEDS * epochs * lib.N_TRAIN * 6 * weights / 1e9
    # XLA also counts the biases and the ReLUs: a few per cent at these widths.
    assert lib.useful_gflop(lib.MLP, data, widths, epochs) == pytest.approx(expected, rel=0.05)
    summary = {"mlp": {"plain_warm_run_seconds": 2.0, "width_sweep_warm_run_seconds": 0.5}}
    rates = lib.useful_rates(summary, {"mlp": 10.0}, matmul_gflops=100.0)
    assert rates == {"mlp": {"plain": (5.0, 0.05), "width_sweep": (20.0, 0.2)}}
