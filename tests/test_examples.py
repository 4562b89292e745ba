"""The examples run end to end, in-process: ``own_model.py`` and ``sample_wise.py --quick``."""

import importlib.util
import json
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


@pytest.mark.slow
def test_sample_wise_quick(tmp_path):
    result = load_example("sample_wise").main(["--quick", "--out", str(tmp_path)])
    summary = result.summary()
    assert len(result.data) == 4  # 2 sizes N x 2 label-noise levels
    assert {(r["n_train"], r["width"]) for r in summary} == {(50, 4), (50, 16), (100, 4), (100, 16)}
    assert all(0 <= row["test_error"] <= 1 for row in summary)
    assert all(s["steps"] == 10 for s in result.sets.values())  # full batch: one step an epoch
    saved = json.loads((tmp_path / "sample_wise.json").read_text())
    assert len(saved["summary"]) == len(summary)
    assert (tmp_path / "sample_wise.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
