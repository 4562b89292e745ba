"""Shared command-line plumbing for the ``experiments/`` scripts.

Every experiment has the same shape::

    python experiments/<name>.py [--quick] [--full] [--seed N] [--out DIR] [--no-plot] [--quiet]

Bad input exits with status 2 and a one-line message naming the argument,
before any compute starts.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from typing import NoReturn

from jaxnn import precision


class UsageError(Exception):
    """A bad command-line value; the entry point turns it into exit status 2."""


class ArgumentParser(argparse.ArgumentParser):
    """An ``argparse`` parser whose errors are one line and exit with status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def make_parser(
    description: str, *, default_out: str = "figures", resumable: bool = False
) -> ArgumentParser:
    """The flags every experiment shares (plus ``--runs``/``--resume`` for long sweeps)."""
    parser = ArgumentParser(description=description)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smoke run, well under a minute")
    size.add_argument("--full", action="store_true", help="accelerator-sized run")
    parser.add_argument("--seed", type=int, default=0, help="master seed (default 0)")
    parser.add_argument("--out", default=default_out, help=f"output folder (default {default_out})")
    parser.add_argument("--no-plot", action="store_true", help="write numbers only, no PNGs")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--matmul-precision", default=precision.DEFAULT, choices=precision.PRECISIONS,
                        help="float32 matmul precision (default highest: exact float32 on every "
                             "backend; lower ones are TF32/bfloat16 passes on GPUs/TPUs, for "
                             "speed studies only)")
    parser.add_argument("--distributed", action="store_true",
                        help="multi-host run: call jax.distributed.initialize() (one process per "
                             "host, launched by the cluster); only process 0 writes files")
    if resumable:
        parser.add_argument("--runs", default="runs", help="raw results folder (default runs)")
        parser.add_argument("--resume", action="store_true",
                            help="reuse the finished parts of an interrupted run with this config")
    return parser


def preset(args, *, default, quick, full):
    """The config preset that ``--quick``/``--full`` select."""
    return quick if args.quick else full if args.full else default


def override(config, **values):
    """``config`` with the fields whose given value is not ``None`` replaced (CLI overrides)."""
    import dataclasses

    return dataclasses.replace(config, **{k: v for k, v in values.items() if v is not None})


def parse(parser: ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    return parser.parse_args(argv)


def exit_usage(parser: ArgumentParser, message: str) -> NoReturn:
    """Exits with status 2 and one line, as ``argparse`` does for its own errors."""
    parser.error(message)


def run_main(main, argv: list[str] | None = None) -> None:
    """Calls ``main(argv)``, turning ``ValueError``/``UsageError`` into exit status 2.

    Experiments validate their configs in ``__post_init__`` before computing, so
    a ``ValueError`` here is bad input, reported on one line.
    """
    try:
        main(sys.argv[1:] if argv is None else argv)
    except (ValueError, UsageError) as error:
        prog = os.path.basename(sys.argv[0])
        print(f"{prog}: error: {str(error).splitlines()[0]}", file=sys.stderr)
        sys.exit(2)


def setup_devices(args) -> None:
    """Starts multi-host JAX if asked, else exposes one CPU device per core; sets the precision.

    Call first in ``main``, before anything touches a JAX device. The
    ``--matmul-precision`` becomes JAX's default for everything the run traces
    (library functions that train or measure pin it themselves as well).
    """
    import jax

    jax.config.update("jax_default_matmul_precision",
                      getattr(args, "matmul_precision", precision.DEFAULT))
    if getattr(args, "distributed", False):
        jax.distributed.initialize()
    else:
        use_all_host_cores()


def use_all_host_cores() -> None:
    """Exposes one XLA CPU device per core, so a sharded sweep runs one program per core.

    XLA:CPU runs a batched (vmapped) matmul on one thread, so a sweep sharded
    over host devices is what uses every core. Must run before JAX starts its
    backend, hence it lives in entry points, never in the library. Accelerator
    backends ignore it.
    """
    if "--xla_force_host_platform_device_count" in os.environ.get("XLA_FLAGS", ""):
        return
    import jax

    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        jax.config.update("jax_num_cpu_devices", max(1, int(count or 1)))
    except RuntimeError:
        pass  # the backend already started (e.g. main() called from a test): keep its devices


def parse_int_spec(text: str, *, name: str) -> tuple[int, ...]:
    """Parses ``"2:40:2,50,100"`` (ranges inclusive of their end) into sorted unique ints.

    Raises:
        UsageError: naming ``name`` on malformed or non-positive entries.
    """
    values: set[int] = set()
    try:
        for item in filter(None, (part.strip() for part in text.split(","))):
            if ":" in item:
                start, stop, *step = (int(v) for v in item.split(":"))
                if len(step) > 1 or (step and step[0] < 1):
                    raise ValueError
                values.update(range(start, stop + 1, step[0] if step else 1))
            else:
                values.add(int(item))
    except ValueError:
        raise UsageError(f"{name}: cannot parse {text!r}; use e.g. '2:40:2,50,100'") from None
    if not values:
        raise UsageError(f"{name}: no values in {text!r}")
    if min(values) < 1:
        raise UsageError(f"{name}: every value must be >= 1, got {min(values)}")
    return tuple(sorted(values))


def parse_float_list(text: str, *, name: str) -> tuple[float, ...]:
    """Parses ``"0.02,0.04"`` into floats, raising ``UsageError`` naming ``name``."""
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise UsageError(f"{name}: cannot parse {text!r}; use e.g. '0.02,0.04'") from None
    if not values:
        raise UsageError(f"{name}: no values in {text!r}")
    return values


@contextlib.contextmanager
def progress_bar(total: int, *, description: str, quiet: bool = False):
    """A tqdm bar over ``total`` units with an ETA; silent off a terminal or when ``quiet``.

    A context manager yielding ``update_fn``; ``update_fn(n)`` advances the bar by ``n``.
    """
    from tqdm.auto import tqdm

    with tqdm(total=total, desc=description, unit="epoch", unit_scale=True,
              disable=quiet or not sys.stderr.isatty(), dynamic_ncols=True) as bar:
        yield bar.update


def start_sweep_run(args, config, experiment: str, argv: list[str] | None):
    """What every sweep experiment sets up before computing, in this order.

    Devices first (nothing may touch JAX before), then the output folder (an
    unwritable ``--out`` fails before any compute), the run record and run
    directory, and the mesh the sweep axis is sharded over (``None`` with one device).

    Returns:
        ``(out, record, run, mesh)``.
    """
    import jax

    from jaxnn import io, train

    setup_devices(args)
    out = io.ensure_writable_dir(args.out, name="--out")
    record = io.run_record(config, seed=config.seed, argv=argv)
    run = io.RunDirectory(args.runs, experiment, record, resume=args.resume)
    mesh = train.sweep_mesh() if len(jax.devices()) > 1 else None
    return out, record, run, mesh
