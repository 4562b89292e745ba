"""The benchmark scripts reject bad input up front (they never time anything in the tests)."""

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
