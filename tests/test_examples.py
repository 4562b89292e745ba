"""The examples run end to end: ``examples/own_model.py --quick`` in-process."""

import importlib.util
import math
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_own_model_quick(tmp_path):
    result = load_example("own_model").main(["--quick", "--out", str(tmp_path)])
    summary = result.summary()
    assert [row["width"] for row in summary] == list(result.widths)
    assert len(summary) == len(result.widths) >= 2
    assert all(math.isfinite(row["test_error"]) for row in summary)
    assert all(0 <= row["test_error"] <= 1 for row in summary)
    assert (tmp_path / "own_model.json").stat().st_size > 0
    assert (tmp_path / "own_model.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
