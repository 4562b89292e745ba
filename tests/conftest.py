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
