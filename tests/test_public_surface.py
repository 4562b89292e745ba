"""The public surface of ``jaxnn/__init__.py``, and the studies as examples of it."""

import ast
import importlib
import re
from pathlib import Path

import pytest

import jaxnn

ROOT = Path(__file__).resolve().parents[1]
STUDIES = sorted((ROOT / "jaxnn" / "studies").glob("*.py"))
ENGINE = {"train", "sweep", "members", "module_family", "sweep_checks", "sweep_measure"}


@pytest.mark.parametrize("name", jaxnn.PUBLIC_MODULES)
def test_every_public_module_imports_and_is_named_in_the_docstring(name):
    assert importlib.import_module(f"jaxnn.{name}")
    assert re.search(rf"\b{name}\b", jaxnn.__doc__), name


def test_the_engine_modules_are_private():
    names = {path.stem for path in (ROOT / "jaxnn").glob("*.py")}
    assert not names & ENGINE
    assert {f"_{name}" for name in ENGINE - {"members"}} <= names


@pytest.mark.parametrize("path", STUDIES, ids=lambda p: p.stem)
def test_no_study_imports_the_engine(path):
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "jaxnn":
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("jaxnn."):
            imported.add(node.module.split(".")[1])
    assert not {n for n in imported if n.startswith("_") or n in ENGINE}, imported
