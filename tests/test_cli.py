"""The shared CLI: flag validation, console progress, and how a study run ends."""

import io as text_io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from jaxnn import cli

ROOT = Path(__file__).resolve().parents[1]


def test_plain_progress_lines_off_a_terminal_and_silence_when_quiet():
    stream = text_io.StringIO()
    with cli.ConsoleProgress("study", interval=0.0, stream=stream, terminal=False) as progress:
        progress.start(200, "epoch")
        progress(50)
        progress(150)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("study:   0% of 200 epoch") and "started" in lines[0]
    assert "25%" in lines[1] and "ETA" in lines[1]
    assert "100%" in lines[2]
    quiet = text_io.StringIO()
    with cli.ConsoleProgress(
        "study", quiet=True, interval=0.0, stream=quiet, terminal=False
    ) as progress:
        progress.start(10, "epoch")
        progress(10)
    assert quiet.getvalue() == ""


def test_plain_progress_waits_for_the_interval():
    stream = text_io.StringIO()
    progress = cli.ConsoleProgress("study", interval=3600.0, stream=stream, terminal=False)
    progress.start(100, "epoch")
    for _ in range(99):
        progress(1)
    assert len(stream.getvalue().splitlines()) == 1  # only the start line within the hour
    progress(1)
    assert "100%" in stream.getvalue().splitlines()[-1]


@pytest.mark.parametrize(
    "text, message",
    [
        ("0,4", ">= 1"),
        ("a:b", "cannot parse"),
        ("2:100000000", "<= 500"),
        ("", "no values"),
        ("1:20000:1", "<= 500"),
    ],
)
def test_int_spec_rejects_bad_lists_before_expanding_them(text, message):
    with pytest.raises(cli.UsageError, match=message):
        cli.parse_int_spec(text, name="--widths", maximum=500)


def test_int_spec_and_float_list_parse_good_input():
    assert cli.parse_int_spec("2:10:4,3,3", name="--w") == (2, 3, 6, 10)
    assert cli.parse_float_list("0.1, 1e-3", name="--r", positive=True) == (0.1, 1e-3)
    for bad in ("inf", "nan", "0", "-1"):
        with pytest.raises(cli.UsageError, match="--r"):
            cli.parse_float_list(bad, name="--r", positive=True)


STUDY_SCRIPT = textwrap.dedent("""
    import dataclasses, sys, types
    from jaxnn import cli
    study = types.ModuleType("jaxnn.studies.fake")
    @dataclasses.dataclass(frozen=True)
    class Config:
        seed: int = 0
    def run(config, *, mesh, run_dir, progress):
        progress.start(10, "step")
        run_dir.save_part("first", {"x": [1.0]})
        if sys.argv[1] == "interrupt":
            raise KeyboardInterrupt
        if sys.argv[1] == "terminate":
            import os, signal
            os.kill(os.getpid(), signal.SIGTERM)
        raise RuntimeError("an internal bug")
    study.run, study.Config = run, Config
    def main(argv):
        args = cli.make_parser("fake").parse_args(argv[1:])
        return cli.run_study(study, Config(), args, argv[1:])
    cli.run_main(main, sys.argv[1:])
""")


@pytest.mark.slow  # a study in its own process, end to end
@pytest.mark.parametrize("mode", ["interrupt", "terminate", "bug"])
def test_a_study_run_ends_with_one_line_on_ctrl_c_and_a_traceback_on_a_bug(tmp_path, mode):
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            STUDY_SCRIPT,
            mode,
            "--out",
            str(tmp_path / "o"),
            "--runs",
            str(tmp_path / "runs"),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    statuses = list((tmp_path / "runs" / "fake").glob("*/status.json"))
    assert len(statuses) == 1, done.stderr
    status = json.loads(statuses[0].read_text())
    lines = done.stderr.strip().splitlines()
    if mode in ("interrupt", "terminate"):
        assert done.returncode == 130 and status["status"] == "interrupted"
        assert len(lines) == 1 and "1 finished part(s) kept" in lines[0]
        assert lines[0].endswith("--resume") and "Traceback" not in done.stderr
    else:
        assert done.returncode == 1 and status["status"] == "failed"
        assert "Traceback" in done.stderr and "RuntimeError: an internal bug" in done.stderr
        assert "an internal bug" in status["error"]


@pytest.mark.parametrize(
    "args, name",
    [
        (["--process-id", "0"], "--process-id"),
        (["--num-processes", "2"], "--num-processes"),
        (["--coordinator", "127.0.0.1:1234"], "--coordinator"),
        (["--distributed", "--num-processes", "2", "--process-id", "2"], "--process-id"),
        (["--distributed", "--num-processes", "2"], "--num-processes"),
        (["--distributed", "--process-id", "1"], "--process-id"),
        (["--distributed", "--num-processes", "0", "--process-id", "0"], "--num-processes"),
        (["--distributed", "--num-processes", "2", "--process-id", "-1"], "--process-id"),
        (["--distributed", "--coordinator", "localhost"], "--coordinator"),
        (["--distributed", "--coordinator", ":1234"], "--coordinator"),
        (["--distributed", "--coordinator", "host:0"], "--coordinator"),
        (["--distributed", "--coordinator", "host:65536"], "--coordinator"),
        (["--distributed", "--coordinator", "host:port"], "--coordinator"),
        (["--distributed", "--coordinator", "my host:1234"], "--coordinator"),
    ],
)
def test_bad_distributed_flags_exit_2_with_one_line_before_jax_starts(bad_input, args, name):
    # Checked when the flags are parsed: jax.distributed.initialize is never reached
    # (in this process it would fail anyway: the backend has started).
    bad_input("double_descent", args, name)


def test_distributed_flags_parse_good_input():
    parser = cli.make_parser("study")
    argv = "--distributed --coordinator 10.0.0.1:1234 --num-processes 4 --process-id 3"
    args = parser.parse_args(argv.split())
    assert (args.coordinator, args.num_processes, args.process_id) == ("10.0.0.1:1234", 4, 3)
    assert parser.parse_args(["--distributed", "--coordinator", "[::1]:8476"]).coordinator
    plain = parser.parse_args(["--distributed"])  # a cluster fills in all three
    assert (plain.coordinator, plain.num_processes, plain.process_id) == (None, None, None)


@pytest.mark.slow  # a study in its own process, end to end
def test_distributed_without_a_cluster_or_flags_exits_2_naming_it(tmp_path):
    """Outside SLURM, Open MPI or a TPU slice, ``--distributed`` alone is bad input."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLURM_", "OMPI_", "PMIX_", "TPU_", "JAX_COORDINATOR"))
    }
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "experiments" / "double_descent.py"),
            "--quick",
            "--distributed",
            "--out",
            str(tmp_path / "out"),
            "--runs",
            str(tmp_path / "runs"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "JAX_PLATFORMS": "cpu"},
    )
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and "--distributed" in lines[0] and "--coordinator" in lines[0], lines
    assert not (tmp_path / "out").exists()
