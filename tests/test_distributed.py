"""``--distributed`` with two real processes: one CPU device each, gloo collectives over loopback.

A small double-descent width sweep runs end to end through the study script
(``experiments/double_descent.py``: ``jaxnn.width_sweep`` over the
mesh, the results written and plotted by ``cli.run_study``) twice:

- as two processes, ``--distributed --coordinator 127.0.0.1:PORT
  --num-processes 2 --process-id I``, each with its own ``--out`` and ``--runs``;
- as one process with two simulated CPU devices
  (``XLA_FLAGS=--xla_force_host_platform_device_count=2``), the same mesh size.

The numbers must be bitwise equal: both runs compile the same two-way program
and place the same members on each device (the sweep axis is split, nothing is
reduced across members), so the only traffic between the processes is the
gather of finished arrays, a copy. Only process 0 may write files or print
the summary, and both processes must exit 0.

The three processes start together (80 s of wall time measured on 2 cores
that other jobs shared; the pair alone took 20-30 s); the test kills any that
is still running when it fails or times out.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "experiments" / "double_descent.py"
# 3 widths × 3 seeds: 9 sweep members, padded to 10 for the two devices; the sweep's
# 120 epochs are two chunks (100 + 20), so results cross the processes chunk by chunk.
ARGS = ["--quick", "--quiet", "--widths", "2,4,6", "--n-train", "100", "--seeds", "3"]
ARGS += ["--epochs", "120", "--curve-epochs", "20"]
TIMEOUT = 420  # seconds for all three processes; a healthy run takes 30-80


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(**extra: str) -> dict:
    """This environment for a child: CPU only, no device-count flags, proxies or cluster.

    JAX_PLATFORMS=cpu keeps a GPU host from handing its GPU to both processes;
    without XLA_FLAGS each process has JAX's one CPU device; a proxy variable can
    make gRPC to the coordinator hang (JAX warns about it); cluster variables
    (SLURM, Open MPI) would be read where the flags already say everything.
    """
    dropped = ("XLA_FLAGS",)
    cluster = ("SLURM_", "OMPI_", "PMIX_", "JAX_COORDINATOR", "JAX_CPU_COLLECTIVES")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in dropped and "proxy" not in key.lower() and not key.startswith(cluster)
    }
    return {**env, "JAX_PLATFORMS": "cpu", "PYTHONUNBUFFERED": "1", **extra}


class Processes:
    """Study runs started together, each logging into its folder; never outlives the test."""

    def __init__(self):
        self.started: list[tuple[Path, subprocess.Popen]] = []

    def start(self, folder: Path, args: list[str], env: dict) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "stdout.txt", "w") as out, open(folder / "stderr.txt", "w") as err:
            command = [sys.executable, str(STUDY), *ARGS, *args]
            command += ["--out", str(folder / "out"), "--runs", str(folder / "runs")]
            process = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=ROOT)
        self.started.append((folder, process))

    def wait(self, timeout: float) -> list[int]:
        deadline = time.monotonic() + timeout
        try:
            for _, process in self.started:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"still running after {timeout} s\n{self.logs()}")
        return [process.returncode for _, process in self.started]

    def kill(self) -> None:
        for _, process in self.started:
            if process.poll() is None:
                process.kill()
                process.wait()

    def logs(self) -> str:
        return "\n".join(
            f"--- {folder.name} (exit {process.returncode}) stderr:\n"
            + (folder / "stderr.txt").read_text()[-4000:]
            for folder, process in self.started
        )


def start_pair(processes: Processes, base: Path, extra: list[str] = ()) -> None:
    """Processes 0 and 1 of a two-process run on the loopback address."""
    coordinator = f"127.0.0.1:{free_port()}"
    # JAX's coordinator binds every interface by default; the test's stays on loopback.
    env = environment(JAX_COORDINATOR_BIND_ADDRESS=coordinator)
    for process_id in (0, 1):
        flags = ["--distributed", "--coordinator", coordinator, "--num-processes", "2"]
        flags += ["--process-id", str(process_id), *extra]
        processes.start(base / f"process{process_id}", flags, env)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """``{"process0", "process1", "reference"}`` folders of one finished distributed run."""
    base = tmp_path_factory.mktemp("distributed")
    processes = Processes()
    try:
        start_pair(processes, base)
        two_devices = environment(XLA_FLAGS="--xla_force_host_platform_device_count=2")
        processes.start(base / "reference", [], two_devices)
        codes = processes.wait(TIMEOUT)
        assert codes == [0, 0, 0], processes.logs()
    finally:
        processes.kill()
    return {name: base / name for name in ("process0", "process1", "reference")}


def files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def numbers(document: dict) -> dict:
    """The results without the run record and the timings, which differ between runs."""
    return {k: v for k, v in document.items() if k not in ("run", "wall_seconds")}


@pytest.mark.slow
def test_two_processes_give_the_numbers_of_one_process_and_only_process_0_writes(runs):
    first, second, reference = runs["process0"], runs["process1"], runs["reference"]
    # (b) process 1 computed everything but wrote nothing and printed no summary.
    assert files(second / "out") == [] and files(second / "runs") == []
    assert "double_descent:" not in (second / "stdout.txt").read_text()  # gloo's own line only
    assert "wrote" in (first / "stdout.txt").read_text()
    written = files(first / "out")
    assert written == files(reference / "out")
    assert "double_descent.json" in written and any(n.endswith(".png") for n in written)

    # (a) the same numbers as one process with two devices, bit for bit.
    document = json.loads((first / "out" / "double_descent.json").read_text())
    expected = json.loads((reference / "out" / "double_descent.json").read_text())
    assert document["run"]["device"]["process_count"] == 2
    assert expected["run"]["device"]["process_count"] == 1
    assert document["run"]["device"]["device_count"] == 2
    assert expected["run"]["device"]["device_count"] == 2
    assert numbers(document) == numbers(expected)
    # The raw per-epoch arrays of every group, not only the summary in the JSON.
    parts = sorted((first / "runs").rglob("part-*.npz"))
    assert [p.name for p in parts] == sorted(p.name for p in (reference / "runs").rglob("*.npz"))
    assert len(parts) == 2  # the training curves and the sweep
    for part in parts:
        twin = reference / "runs" / part.relative_to(first / "runs")
        with np.load(part) as got, np.load(twin) as want:
            assert got.files == want.files
            for name in got.files:
                assert np.array_equal(got[name], want[name], equal_nan=True), (part.name, name)


@pytest.mark.slow
def test_resume_stops_when_the_processes_see_different_finished_parts(runs, tmp_path):
    """Process 0 alone keeps parts: with separate ``--runs`` folders a resume would hang.

    Process 0 would skip the groups it finished while process 1 trains them and
    waits forever in the first collective; both exit 2 naming ``--resume`` instead.
    """
    # Process 0's runs folder holds both finished parts, process 1's none (it writes none).
    shutil.copytree(runs["process0"] / "runs", tmp_path / "process0" / "runs")
    processes = Processes()
    try:
        start_pair(processes, tmp_path, ["--resume"])
        codes = processes.wait(TIMEOUT)
    finally:
        processes.kill()
    assert codes == [2, 2], processes.logs()
    for folder, _ in processes.started:
        last = (folder / "stderr.txt").read_text().strip().splitlines()[-1]
        assert "--resume" in last and "--runs must be one folder" in last, last
