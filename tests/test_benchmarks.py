"""The benchmark scripts reject bad input up front (they never time anything in the tests)."""

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
