"""The shared CLI: flag validation, console progress, and how a study run ends."""

import io as text_io
import json
import subprocess
import sys
import textwrap

import pytest

from jaxnn import cli


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
