"""Result I/O: the one library module that touches files.

Every write is atomic (write to a temporary file in the same folder, then
``os.replace``), so an interrupted run never leaves a half-written JSON or
``.npz`` behind, and a resumed run can trust every file it finds.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import shlex
import sys
import tempfile
import warnings
import zipfile
import zlib
from collections.abc import Callable
from importlib import metadata
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np

_PACKAGES = ("jax", "jaxlib", "flax", "optax", "numpy", "scipy", "matplotlib", "mnist1d")


def ensure_writable_dir(path: str | os.PathLike, *, name: str = "out") -> Path:
    """Creates ``path`` if needed and checks that files can be written there.

    Raises:
        ValueError: naming ``name`` when the folder cannot be created or written.
    """
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-"):
            pass
    except OSError as error:
        raise ValueError(f"{name}: cannot write to {str(folder)!r} ({error.strerror})") from None
    return folder


def to_jsonable(value: Any) -> Any:
    """Converts dataclasses, numpy/JAX arrays and scalars to plain JSON values.

    Non-finite floats become ``None`` so that the files are strict JSON.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "__array__") and not isinstance(value, (str, bytes)):
        array = np.asarray(value)
        return to_jsonable(array.item() if array.ndim == 0 else array.tolist())
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    return value


def is_writer() -> bool:
    """Only process 0 of a multi-host run writes files (every process holds the same results)."""
    import jax

    return jax.process_index() == 0


def write_bytes(path: str | os.PathLike, payload: bytes) -> Path:
    """Atomically writes ``payload`` (on process 0 of a multi-host run only)."""
    path = Path(path)
    if not is_writer():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(payload)
        os.chmod(temporary, 0o644)  # mkstemp creates 0600; results are meant to be read
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Atomically writes ``obj`` as indented, strict JSON."""
    text = json.dumps(to_jsonable(obj), indent=2, allow_nan=False) + "\n"
    return write_bytes(path, text.encode())


def read_json(path: str | os.PathLike) -> Any:
    with open(path) as file:
        return json.load(file)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Atomically writes a text file (Markdown tables, reports)."""
    return write_bytes(path, text.encode())


def save_arrays(path: str | os.PathLike, **arrays: Any) -> Path:
    """Atomically writes named arrays to an ``.npz`` file."""
    buffer = BytesIO()
    np.savez(buffer, **{k: np.asarray(v) for k, v in arrays.items()})
    return write_bytes(path, buffer.getvalue())


def load_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def device_info() -> dict[str, Any]:
    """Platform, device kind and count of the JAX backend in use."""
    import jax

    devices = jax.devices()
    return {
        "platform": devices[0].platform,
        "device_kind": devices[0].device_kind,
        "device_count": len(devices),
        "process_count": jax.process_count(),
        "host": platform.machine(),
        "cpu_count": os.cpu_count(),
    }


def run_record(config: Any, *, seed: int | None = None, argv: list[str] | None = None) -> dict:
    """What makes a run reproducible: config, seed, command, versions, device, and the float32
    matmul precision (the config's, else JAX's global default)."""
    import jax

    precision = getattr(config, "matmul_precision", None) or jax.config.jax_default_matmul_precision
    return {
        "config": to_jsonable(config),
        "seed": seed,
        "matmul_precision": precision or "default",
        "command": shlex.join(["python", sys.argv[0], *(sys.argv[1:] if argv is None else argv)]),
        "versions": package_versions(),
        "device": device_info(),
    }


def config_hash(config: Any) -> str:
    """A short stable hash of a config, naming its run directory."""
    import hashlib

    text = json.dumps(to_jsonable(config), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


class RunDirectory:
    """One run's folder: ``config.json``, ``status.json`` and one ``.npz`` per finished part.

    The folder is ``root/<experiment>/<config hash>``, so a resumed run (``resume``) finds
    the parts of an interrupted run with the same config, and only those. ``record`` is the
    run record (``run_record``), written as ``config.json``; ``report`` is called with one
    line when a part cannot be read (default: a ``RuntimeWarning``).
    """

    def __init__(
        self,
        root,
        experiment: str,
        record: dict,
        *,
        resume: bool,
        report: Callable[[str], None] | None = None,
    ):
        self.report = report or (lambda line: warnings.warn(line, RuntimeWarning, stacklevel=3))
        root = ensure_writable_dir(root, name="runs")
        self.root = root
        self.path = root / experiment / config_hash(record["config"])
        # Only the writer clears old parts: on a folder that the processes of a
        # multi-process run share, the others would race it for the same files.
        if not resume and self.path.exists() and is_writer():
            for old in self.path.glob("part-*.npz"):
                old.unlink()
        self.path.mkdir(parents=True, exist_ok=True)
        self.resume = resume
        self.earlier_seconds = self._recorded_seconds() if resume else 0.0
        write_json(self.path / "config.json", record)
        self.set_status("running")

    def _recorded_seconds(self) -> float:
        """Wall seconds that earlier runs of this folder recorded (0 without a readable status)."""
        try:
            seconds = read_json(self.path / "status.json").get("wall_seconds", 0.0)
        except (OSError, ValueError, AttributeError):
            return 0.0
        return float(seconds) if isinstance(seconds, (int, float)) and seconds > 0 else 0.0

    def total_seconds(self, seconds: float) -> float:
        """This run's ``seconds`` plus those of the runs it resumed: the work the results took
        (a resumed run that only rereads finished parts keeps the time the parts cost)."""
        return self.earlier_seconds + seconds

    @property
    def cache_dir(self) -> Path:
        """``root/cache``: inputs shared by runs (generated datasets), kept across runs."""
        return self.root / "cache"

    def set_status(self, status: str, **details: Any) -> None:
        write_json(self.path / "status.json", {"status": status, **details})

    def parts(self) -> list[Path]:
        """The finished parts in the folder."""
        return sorted(self.path.glob("part-*.npz"))

    def _part(self, name: str) -> Path:
        return self.path / f"part-{name}.npz"

    def load_part(self, name: str) -> dict[str, np.ndarray] | None:
        """A finished part's arrays, or ``None`` if it must be (re)computed.

        A part that cannot be read (truncated by a full disk or a killed copy,
        corrupt) is named in one line (``report``), deleted and recomputed: a
        damaged file costs that part, never the run.
        """
        part = self._part(name)
        if not (self.resume and part.exists()):
            return None
        try:
            return load_arrays(part)
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as error:
            self.report(f"{part}: unreadable ({type(error).__name__}), recomputing this part")
            part.unlink(missing_ok=True)
            return None

    def save_part(self, name: str, arrays: dict[str, Any]) -> None:
        save_arrays(self._part(name), **arrays)
