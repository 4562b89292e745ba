import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "experiments"))


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
