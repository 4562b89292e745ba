import json
import math

import numpy as np
import pytest

from jaxnn import io


def test_json_is_strict_and_non_finite_becomes_null(tmp_path):
    path = io.write_json(
        tmp_path / "r.json", {"a": np.float32(1.5), "b": math.nan, "c": np.arange(3)}
    )
    assert json.loads(path.read_text()) == {"a": 1.5, "b": None, "c": [0, 1, 2]}
    assert not list(tmp_path.glob(".*")), "no temporary file is left behind"


def test_run_directory_resumes_parts_only_when_asked(tmp_path):
    record = {"config": {"x": 1}}
    run = io.RunDirectory(tmp_path, "study", record, resume=False)
    run.save_part("g1", {"loss": np.ones(3)})
    assert [p.name for p in run.parts()] == ["part-g1.npz"]
    assert (
        io.RunDirectory(tmp_path, "study", record, resume=True).load_part("g1")["loss"].sum() == 3
    )
    fresh = io.RunDirectory(tmp_path, "study", record, resume=False)
    assert fresh.load_part("g1") is None and fresh.parts() == []
    assert io.read_json(fresh.path / "status.json")["status"] == "running"


def test_unwritable_output_folder_names_the_argument(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="--out"):
        io.ensure_writable_dir(blocker / "sub", name="--out")


@pytest.mark.parametrize(
    "damage",
    [lambda b: b[: len(b) // 2], lambda b: b"not a zip archive", lambda b: b""],
    ids=["truncated", "garbage", "empty"],
)
def test_a_damaged_part_is_named_in_one_line_deleted_and_recomputed(tmp_path, damage):
    record = {"config": {"x": 2}}
    run = io.RunDirectory(tmp_path, "study", record, resume=False)
    run.save_part("good", {"loss": np.arange(4.0)})
    run.save_part("bad", {"loss": np.arange(1000.0)})
    path = run.path / "part-bad.npz"
    path.write_bytes(damage(path.read_bytes()))
    lines = []
    resumed = io.RunDirectory(tmp_path, "study", record, resume=True, report=lines.append)
    np.testing.assert_array_equal(resumed.load_part("good")["loss"], np.arange(4.0))
    assert resumed.load_part("bad") is None  # recompute it
    assert len(lines) == 1 and str(path) in lines[0]
    assert not path.exists() and [p.name for p in resumed.parts()] == ["part-good.npz"]


def test_without_a_reporter_a_damaged_part_is_a_warning(tmp_path):
    run = io.RunDirectory(tmp_path, "study", {"config": {}}, resume=True)
    (run.path / "part-x.npz").write_bytes(b"\x00" * 10)
    with pytest.warns(RuntimeWarning, match="part-x.npz"):
        assert run.load_part("x") is None


def test_a_resumed_run_counts_the_seconds_of_the_runs_it_continues(tmp_path):
    first = io.RunDirectory(tmp_path, "study", {"config": {"x": 3}}, resume=False)
    first.set_status("interrupted", wall_seconds=first.total_seconds(30.0))
    second = io.RunDirectory(tmp_path, "study", {"config": {"x": 3}}, resume=True)
    assert second.total_seconds(5.0) == 35.0
    second.set_status("done", wall_seconds=second.total_seconds(5.0))
    # Rereading finished parts (to redraw figures) keeps the time the parts cost.
    third = io.RunDirectory(tmp_path, "study", {"config": {"x": 3}}, resume=True)
    assert third.total_seconds(1.0) == 36.0
    fresh = io.RunDirectory(tmp_path, "study", {"config": {"x": 3}}, resume=False)
    assert fresh.total_seconds(2.0) == 2.0
