"""The persistent compilation cache: where it lives, that it stores and serves programs."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from jaxnn import compile_cache


def test_directory_follows_jax_then_xdg_then_home_and_is_keyed_by_machine(tmp_path):
    key = compile_cache.machine_key()
    assert len(key) == 12 and int(key, 16) >= 0
    assert compile_cache.machine_key() == key  # a pure function of the machine
    jax_dir = {"JAX_COMPILATION_CACHE_DIR": str(tmp_path / "j"), "XDG_CACHE_HOME": "/x"}
    assert compile_cache.default_directory(jax_dir) == tmp_path / "j" / key
    assert compile_cache.default_directory({"XDG_CACHE_HOME": "/x"}) == Path("/x/jaxnn/xla", key)
    home = compile_cache.default_directory({}, key="abc")
    assert home == Path.home() / ".cache" / "jaxnn" / "xla" / "abc"


def test_another_cpu_gets_another_folder(monkeypatch):
    key = compile_cache.machine_key()
    monkeypatch.setattr(compile_cache, "cpu_description", lambda: "flags: sse2")
    assert compile_cache.machine_key() != key


# A second process compiles nothing that the first stored: XLA compiles are counted
# through jax.monitoring, and the cache's own hit counter must match.
PROGRAM = """
import sys, jax, jax.numpy as jnp
from jaxnn import compile_cache
if sys.argv[1] == "on":
    compile_cache.enable(sys.argv[2])
else:
    compile_cache.disable()
events = []
jax.monitoring.register_event_listener(lambda name, **_: events.append(name))
f = jax.jit(lambda x: jnp.tanh(x @ x.T).sum())
print(float(f(jnp.arange(64.0).reshape(8, 8) / 64)))
print(sum(e == "/jax/compilation_cache/cache_hits" for e in events))
"""


def _run(mode, folder):
    env = os.environ | {"XLA_FLAGS": "", "JAXNN_COMPILE_CACHE": "1"}
    out = subprocess.run(
        [sys.executable, "-c", PROGRAM, mode, str(folder)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout.split()
    return float(out[0]), int(out[1])


@pytest.mark.slow
def test_a_second_process_loads_what_the_first_compiled(tmp_path):
    folder = tmp_path / "cache"
    value, hits = _run("on", folder)
    assert hits == 0 and any(folder.glob("jit_*-cache"))
    assert oct(folder.stat().st_mode & 0o777) == oct(0o700)
    again, hits_again = _run("on", folder)
    assert hits_again >= 1 and again == value
    entries = set(folder.glob("*"))
    off, hits_off = _run("off", folder)
    assert hits_off == 0 and off == value and set(folder.glob("*")) == entries


def test_the_environment_switch_turns_it_off(monkeypatch, tmp_path):
    monkeypatch.setenv("JAXNN_COMPILE_CACHE", "0")
    assert compile_cache.enable(tmp_path / "c") is None
    assert not (tmp_path / "c").exists() and not compile_cache.enabled()


@pytest.mark.slow
@pytest.mark.parametrize("flags", [[], ["--no-compile-cache"]])
def test_a_study_fills_the_per_machine_folder_unless_told_not_to(tmp_path, flags):
    env = os.environ | {"XDG_CACHE_HOME": str(tmp_path / "xdg"), "JAXNN_COMPILE_CACHE": "1"}
    script = Path(__file__).parents[1] / "experiments" / "linear_min_norm.py"
    args = ["--quick", "--quiet", "--no-plot", "--out", str(tmp_path / "o"), *flags]
    subprocess.run([sys.executable, str(script), *args], env=env, check=True)
    folder = tmp_path / "xdg" / "jaxnn" / "xla" / compile_cache.machine_key()
    entries = list(folder.glob("*-cache")) if folder.exists() else []
    assert bool(entries) == (not flags)


def test_after_no_compile_cache_a_library_call_keeps_it_off(monkeypatch):
    monkeypatch.setenv("JAXNN_COMPILE_CACHE", "1")
    monkeypatch.setattr(compile_cache, "_switched_off", True)  # as cli's --no-compile-cache
    assert compile_cache.enable() is None  # what jaxnn.width_sweep calls
