import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "experiments"))

# The suite is compile-bound: hundreds of small programs, each run for a few steps.
# LLVM's optimization level 0 compiles them about a third faster. There is no fast-math
# at any level, but float32 transcendentals (the normal sampler's) may round differently
# in the last bit between vectorised and scalar code, so tests that compare a vmapped
# draw with a scalar one allow for it. Set before any test imports JAX; a user's own
# flags win.
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0")

# The persistent compilation cache stays off in tests (a program loaded from disk would
# change what the tests that count compiles see) and never touches the user's own
# folder: tests/test_compile_cache.py turns it on in subprocesses, in temporary folders.
os.environ["JAXNN_COMPILE_CACHE"] = "0"
os.environ.pop("JAX_COMPILATION_CACHE_DIR", None)
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="jaxnn-test-cache-")
atexit.register(shutil.rmtree, os.environ["XDG_CACHE_HOME"], ignore_errors=True)


@pytest.fixture
def x64():
    """Float64 inside one test only, never flipped globally."""
    import jax

    with jax.enable_x64(True):
        yield


@pytest.fixture
def bad_input(tmp_path, capsys):
    """``check(script, args, name)``: the script exits 2 with one stderr line naming ``name``.

    Runs the script's ``main`` in this process through ``cli.run_main`` (as its
    ``__main__`` does), with ``--out``/``--runs`` in a temporary folder, and
    checks that nothing was written: validation happens before any compute.
    """
    import importlib

    from jaxnn import cli

    def check(script: str, args: list[str], name: str) -> str:
        module = importlib.import_module(script)
        out = tmp_path / "out"
        argv = [*args, "--out", str(out)]
        if "--out" in args:
            argv = list(args)
        with pytest.raises(SystemExit) as exit_info:
            cli.run_main(module.main, argv)
        assert exit_info.value.code == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and name in lines[0], lines
        assert not list(out.glob("*.json")) if out.exists() else True
        return lines[0]

    return check


@pytest.fixture(scope="session")
def quick_outputs(tmp_path_factory):
    """``quick(name) -> (document, out, runs)``: a study's ``--quick`` run, once per session.

    Every study writes into one shared ``out`` folder (as the report reads them) and
    one ``runs`` root; the smoke tests, the report test and the resume tests all read
    the same run, so no ``--quick`` run is repeated. Tests that write must use their
    own folders (``tmp_path``).
    """
    import importlib

    base = tmp_path_factory.mktemp("quick")
    out, runs = base / "out", base / "runs"
    done: dict[str, tuple] = {}

    def quick(name: str) -> tuple:
        if name not in done:
            script = importlib.import_module(name)
            document = script.main(["--quick", "--quiet", "--out", str(out), "--runs", str(runs)])
            done[name] = (document, out, runs)
        return done[name]

    return quick


@pytest.fixture(autouse=True, scope="module")
def _compiled_programs_last_one_module():
    """Drops every compiled program after each test module.

    JAX keeps each compiled executable while its jitted function lives, and the
    library caches jitted functions per configuration; over hundreds of tests
    that holds gigabytes. A module's programs are rarely another module's, so
    clearing between modules bounds the suite's memory at little recompiling.
    """
    yield
    import gc

    import jax

    jax.clear_caches()
    for name, module in list(sys.modules.items()):
        if name == "jaxnn" or name.startswith("jaxnn."):
            for value in vars(module).values():
                if callable(getattr(value, "cache_clear", None)):
                    value.cache_clear()
    gc.collect()
