"""The initialization study (``jaxnn.studies.initialization`` and its ``_text`` companion).

Its config and command-line errors, the conclusion chosen from the numbers, and the ``--quick``
smoke run. The samplers it calls are tested against their closed forms in test_init_moments.py
and test_init_smoothness.py.
"""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from jaxnn.io import to_jsonable
from jaxnn.studies import initialization as study
from jaxnn.studies.initialization_text import smoothness_conclusion


def test_conclusion_follows_the_numbers():
    weight_vars = [0.1, 1.0, 10.0]
    rising, falling, flat = [1.0, 2.0, 3.0], [3.0, 2.0, 1.0], [5.0, 5.0, 5.0]
    text = smoothness_conclusion(weight_vars, rising, flat, rising, relu_bias_var=1.0)
    assert "tanh: smaller σ² gives smoother" in text
    assert "the same at every σ²" in text
    assert "ratio of weight to bias scale" in text
    text = smoothness_conclusion(weight_vars, falling, rising, falling, relu_bias_var=1.0)
    assert "tanh: larger σ² gives smoother" in text
    assert "changes with σ²" in text
    # Up and down, ending 1.2 times higher: under the twofold floor, no trend is named.
    text = smoothness_conclusion(weight_vars, [1.0, 3.0, 1.2], flat, flat, relu_bias_var=1.0)
    assert "tanh: no trend established" in text and "floor a factor of 2" in text
    with pytest.raises(ValueError, match="weight_vars"):
        smoothness_conclusion([1.0, 0.5], rising[:2], flat[:2], rising[:2], relu_bias_var=1.0)


def test_a_trend_needs_significance_and_the_twofold_floor():
    weight_vars = [0.01, 1.0, 100.0]
    large = study.roughness_trend(weight_vars, [1.0, 5.0, 30.0], [0.05, 0.2, 1.5])
    assert large["verdict"] == "effect" and large["direction"] == "increasing"
    assert large["fold"] == pytest.approx(30.0) and large["rising_steps"] == 2
    # A 1.5-fold change measured precisely is significant but below the floor.
    small = study.roughness_trend(weight_vars, [1.0, 1.2, 1.5], [0.01, 0.01, 0.01])
    assert small["p"] < 1e-6 and small["verdict"] == "below floor"
    # A tenfold change measured with huge errors is not detected.
    noisy = study.roughness_trend(weight_vars, [1.0, 5.0, 10.0], [0.9, 4.0, 9.0])
    assert noisy["verdict"] == "not detected"


def test_config_errors_name_the_field():
    with pytest.raises(ValueError, match="fan_in"):
        study.Config(fan_in=0)
    with pytest.raises(ValueError, match="^fan_in:"):
        study.Config(fan_in=2.5)
    with pytest.raises(ValueError, match="weight_var"):
        study.Config(weight_var=-0.1)
    with pytest.raises(ValueError, match="smoothness_vars"):
        study.Config(smoothness_vars=(1.0, 0.1))
    with pytest.raises(ValueError, match="^depth_gains:"):
        study.Config(depth_gains=(1.0, 0.0))
    with pytest.raises(ValueError, match="seed"):
        study.Config(seed=-1)
    with pytest.raises(ValueError, match="^num_draws:"):
        study.Config(num_draws=1)  # a standard error needs two draws
    with pytest.raises(ValueError, match="^grid_points:"):
        study.Config(grid_points=4)  # a second difference and a spread over the grid
    with pytest.raises(ValueError, match="^depth:"):
        study.Config(depth=200)  # 2^200 overflows float32
    with pytest.raises(ValueError, match="^second_layer_draws:"):
        study.Config(second_layer_draws=10**6, fan_in=1000)
    with pytest.raises(ValueError, match="^matmul_precision:"):
        study.Config(matmul_precision="fast")
    with pytest.raises(ValueError, match="^weight_var:"):
        study.Config(weight_var=math.inf)
    with pytest.raises(ValueError, match="^input_range:"):
        study.Config(input_range=1e7)


@pytest.mark.parametrize(
    "args, name",
    [
        (["--seed", "-1"], "--seed"),
        (["--seed", "99999999999999999999"], "--seed"),
        (["--fan-in", "0"], "--fan-in"),
        (["--fan-in", "10000000000000"], "--fan-in"),
        (["--weight-var", "inf"], "--weight-var"),
        (["--weight-var", "nan"], "--weight-var"),
        (["--weight-var", "-1"], "--weight-var"),
        (["--weight-var", "1e300"], "weight_var:"),
        (["--num-draws", "1"], "--num-draws"),
        (["--num-draws", "-5"], "--num-draws"),
        (["--num-draws", "900000000", "--fan-in", "1000"], "num_draws:"),
        (["--depth", "0"], "--depth"),
        (["--depth", "500"], "depth:"),
        (["--matmul-precision", "fast"], "--matmul-precision"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(bad_input, args, name):
    bad_input("initialization", args, name)


def numbers(value):
    """Every leaf of a JSON document."""
    if isinstance(value, dict):
        for item in value.values():
            yield from numbers(item)
    elif isinstance(value, list):
        for item in value:
            yield from numbers(item)
    else:
        yield value


@pytest.mark.slow  # the study's --quick run, end to end (shared with test_resume)
def test_quick_run_writes_files_with_finite_numbers(quick_outputs):
    document, out, _ = quick_outputs("initialization")
    for name in (
        "initialization.json",
        "initialization.md",
        "init_depth.png",
        "init_smoothness.png",
    ):
        assert (out / name).stat().st_size > 0, name
    written = json.loads((out / "initialization.json").read_text())

    # non-finite floats are written as null, so a None among the measurements means NaN/inf
    for section in ("moments", "depth", "smoothness", "examples"):
        assert None not in list(numbers(written[section])), section
    assert all(math.isfinite(row["z_score"]) for row in written["moments"]["rows"])
    assert len(written["depth"]["curves"]) == 3
    assert len(written["depth"]["curves"][0]["second_moment"]) == written["depth"]["depth"] + 1
    assert written["conclusion"] == document["conclusion"]
    # the quick run's own roughness series: tanh rises with σ², ReLU is scale-invariant
    assert written["conclusion"].startswith("tanh: smaller σ² gives smoother")
    assert "the same at every σ²" in written["conclusion"]
    assert written["smoothness_trends"]["tanh"]["verdict"] == "effect"
    assert study.with_verdicts(written) == written  # rebuilt from the stored series alone
    answers = study.answers(written)
    assert [row["item"] for row in answers] == [f"Ex 3({part})" for part in "abcde"]
    assert all(len(row["answer"]) <= 320 and "\n" not in row["answer"] for row in answers)
    assert written["run"]["config"] == dataclasses.asdict(study.QUICK) | {
        "depth_gains": [0.5, 1.0, 2.0],
        "smoothness_vars": list(study.QUICK.smoothness_vars),
        "example_vars": list(study.QUICK.example_vars),
    }
    examples = written["examples"]
    assert len(examples["tanh"]) == len(examples["weight_vars"])
    assert len(examples["relu"][0]) == study.QUICK.examples_per_panel
    assert len(examples["relu"][0][0]) == len(examples["inputs"]) <= study.EXAMPLE_POINTS
    markdown = (out / "initialization.md").read_text()
    assert "$$" in markdown and "| quantity |" in markdown and "<details>" in markdown
    assert document["conclusion"].split(": the roughness", 1)[1] in markdown
    assert "](init_depth.png)" in markdown and "](init_smoothness.png)" in markdown
    assert not any(line.startswith(("# ", "## ")) for line in markdown.splitlines())
    assert len(study.summary(written)) == 3


@pytest.mark.slow  # the study's --quick run, end to end (shared with test_resume)
def test_quick_run_is_deterministic_with_one_progress_unit_per_measurement(quick_outputs):
    # the same config again (compiled programs reused): identical numbers, one progress unit
    # per measurement (moments, each gain, each sigma^2, the examples)
    _, out, _ = quick_outputs("initialization")
    written = json.loads((out / "initialization.json").read_text())

    class Recorder:
        def start(self, total, unit):
            self.total, self.unit, self.done = total, unit, 0

        def __call__(self, done):
            self.done += done

    progress = Recorder()
    again = to_jsonable(study.run(study.QUICK, progress=progress))
    assert again == {key: written[key] for key in again}
    assert progress.unit == "measurement"
    assert progress.done == progress.total == 2 + 3 + len(study.QUICK.smoothness_vars)
