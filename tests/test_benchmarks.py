"""The benchmark scripts reject bad input up front (they never time anything in the tests)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("args, name", [(["--steps", "0"], "--steps"), (["--steps", "10"], "--steps"),
                                        (["--widths", ""], "--widths"),
                                        (["--widths", "2:100000000"], "--widths"),
                                        (["--seed", "99999999999999999999999"], "--seed")])
def test_bench_sweep_bad_input_exits_2_before_any_compute(tmp_path, args, name):
    done = subprocess.run([sys.executable, str(ROOT / "experiments" / "bench_sweep.py"), *args,
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0], done.stderr
    assert not list(tmp_path.glob("*.json"))
