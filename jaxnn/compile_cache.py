"""JAX's persistent compilation cache: on by default, per user, one folder per machine.

A CPU study spends tens of seconds compiling programs that are the same in every run of
the same config. ``enable`` has JAX keep compiled executables on disk for every study and
``jaxnn.width_sweep`` call (the benchmarks, which time compiles, keep it off), in
``$JAX_COMPILATION_CACHE_DIR/<machine>`` if that variable is set, else
``$XDG_CACHE_HOME/jaxnn/xla/<machine>`` (``~/.cache`` when XDG_CACHE_HOME is unset).
``<machine>`` hashes what an executable depends on beyond the program (OS, architecture, the
CPU's model and feature flags, the jax and jaxlib versions), so cluster nodes that share a
home directory but differ in CPU never load each other's machine code. Whoever can write to
the folder chooses what your process runs: it is readable by its owner only (README.md says
more, with measured savings). ``disable`` (``--no-compile-cache``, or
``JAXNN_COMPILE_CACHE=0``) turns the cache off for the process.
"""

from __future__ import annotations

import hashlib
import os
import platform
from collections.abc import Mapping
from pathlib import Path

ENV_DIR = "JAX_COMPILATION_CACHE_DIR"
# JAXNN_COMPILE_CACHE=0 in the environment is --no-compile-cache for every run.
ENV_SWITCH = "JAXNN_COMPILE_CACHE"
# Every compile is stored: a CPU study compiles hundreds of programs of 10 ms to a
# few seconds each, and JAX's default (1 s) would keep only the few largest.
MIN_COMPILE_SECONDS = 0.0
_switched_off = False  # disable() was called: the run said --no-compile-cache


def cpu_description() -> str:
    """The CPU's model name and feature flags (``/proc/cpuinfo``), or what ``platform`` says."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor()
    keep = ("model name", "flags", "Features", "CPU implementer", "CPU part")
    lines = {
        line.split(":")[0].strip(): line.split(":", 1)[1].strip()
        for line in text.splitlines()
        if ":" in line and line.split(":")[0].strip() in keep
    }
    return "\n".join(f"{k}: {v}" for k, v in sorted(lines.items()))


def machine_key() -> str:
    """12 hex digits naming this machine's OS, architecture, CPU features and jax versions."""
    import jax
    import jaxlib

    parts = (
        platform.system(),
        platform.machine(),
        cpu_description(),
        jax.__version__,
        jaxlib.__version__,
    )
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


def default_directory(environ: Mapping[str, str] | None = None, key: str | None = None) -> Path:
    """Where the cache lives for ``environ`` (default ``os.environ``), one folder per machine."""
    environ = os.environ if environ is None else environ
    key = key or machine_key()
    if environ.get(ENV_DIR):
        return Path(environ[ENV_DIR]).expanduser() / key
    base = environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "jaxnn" / "xla" / key


def enable(directory: str | os.PathLike | None = None) -> Path | None:
    """Turns the persistent cache on in ``directory`` (default ``default_directory()``).

    A folder the user set in code (``jax.config.update("jax_compilation_cache_dir",
    ...)``, different from the environment's) is kept as it is, and after
    ``disable()`` only an explicit ``directory`` turns it back on. Returns the
    folder in use, or None when it cannot be created (the run goes on uncached)
    or when ``JAXNN_COMPILE_CACHE=0`` is set.
    """
    import jax
    from jax._src import compilation_cache

    if os.environ.get(ENV_SWITCH, "1") == "0" or (directory is None and _switched_off):
        return None
    configured = jax.config.jax_compilation_cache_dir
    if directory is None and configured and configured != os.environ.get(ENV_DIR):
        return Path(configured)
    path = Path(directory) if directory is not None else default_directory()
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:
        return None
    if configured != str(path):
        if compilation_cache.is_initialized():
            compilation_cache.reset_cache()  # it reads the folder once, at the first compile
        jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_SECONDS)
    jax.config.update("jax_enable_compilation_cache", True)
    return path


def disable() -> None:
    """Turns the persistent cache off for this process (``--no-compile-cache``).

    A later ``enable()`` without a folder (``jaxnn.width_sweep``'s) keeps it off.
    """
    import jax

    global _switched_off
    _switched_off = True
    jax.config.update("jax_enable_compilation_cache", False)


def enabled() -> bool:
    """Whether compiles in this process are read from and written to a folder."""
    import jax

    return bool(jax.config.jax_enable_compilation_cache and jax.config.jax_compilation_cache_dir)
