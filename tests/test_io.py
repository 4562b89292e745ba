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
