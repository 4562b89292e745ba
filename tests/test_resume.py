"""A resumed run survives a damaged part file: named in one line, recomputed, nothing else lost.

End to end for every study that keeps parts: its session ``--quick`` run's folder is
copied, the smallest part truncated (as a full disk or a killed copy leaves it), and
the study resumed from the copy.
"""

import shutil

import pytest

from jaxnn import cli

STUDIES_WITH_PARTS = (
    "double_descent",
    "double_descent_noise_decay",
    "linear_min_norm",
    "double_descent_mnist1d",
    "sample_wise_mnist1d",
    "implicit_regularization",
    "edge_of_stability",
)


def numbers(document):
    """The results without timings and the run record (which differ between runs)."""
    if isinstance(document, dict):
        return {
            k: numbers(v) for k, v in document.items() if k != "run" and not k.endswith("seconds")
        }
    if isinstance(document, list):
        return [numbers(v) for v in document]
    return document


@pytest.mark.slow
@pytest.mark.parametrize("name", STUDIES_WITH_PARTS)
def test_resume_names_a_truncated_part_recomputes_it_and_keeps_the_rest(
    name, quick_outputs, tmp_path, capsys
):
    import importlib

    document, _, runs = quick_outputs(name)
    copy = tmp_path / "runs"
    shutil.copytree(runs, copy)
    parts = sorted((copy / name).glob("*/part-*.npz"), key=lambda p: p.stat().st_size)
    assert parts, f"{name} keeps no parts"
    damaged = parts[0]
    damaged.write_bytes(damaged.read_bytes()[: damaged.stat().st_size // 3])
    kept = {p: p.stat().st_mtime_ns for p in parts[1:]}
    capsys.readouterr()
    script = importlib.import_module(name)
    resumed = cli_main(
        script,
        [
            "--quick",
            "--quiet",
            "--resume",
            "--no-plot",
            "--out",
            str(tmp_path / "out"),
            "--runs",
            str(copy),
        ],
    )
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and str(damaged) in lines[0] and "Traceback" not in lines[0], lines
    assert damaged.exists() and damaged.stat().st_size > 0  # recomputed and saved again
    assert {p: p.stat().st_mtime_ns for p in kept} == kept  # the other parts were only read
    assert numbers(resumed) == numbers(document)


def cli_main(script, argv):
    """``script.main(argv)`` as its ``__main__`` runs it (bad input would exit 2)."""
    result = {}
    cli.run_main(lambda args: result.setdefault("document", script.main(args)), argv)
    return result["document"]
