"""Benchmark: the cost of each gradient and curvature statistic in full-batch gradients.

    python experiments/bench_curvature.py [--quick] [--seed N] [--out DIR] [--matmul-precision P]

On the 8 -> 50^5 -> 8 ReLU network (``jaxnn.models.MLP``, lecun_normal init) and N = 100 teacher
examples, every statistic is jit-compiled, warmed up and timed in turns with a
full-batch gradient in this one process (this machine's speed drifts over
minutes, so only side-by-side ratios mean anything). Prints seconds per call
and the cost in gradients; writes ``bench_curvature.json``.
"""

from __future__ import annotations

import dataclasses

import jax
from flax import nnx

from jaxnn import benchmark, cli, curvature, data, io, models, objectives, precision, validation


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    """What is timed.

    Attributes:
        width, depth: the 8 -> width^depth -> 8 ReLU network.
        n_train: N, the examples every statistic sees (one full batch).
        lanczos_iterations: Lanczos steps of each timed top-eigenvalue call.
        trace_samples: Hutchinson probes.
        density_probes, density_iterations: stochastic Lanczos quadrature size.
        rounds: turns over all statistics; the fastest turn of each is reported.
        min_seconds: minimum wall time of each statistic's repeats in one turn.
        matmul_precision: float32 matmul precision of every timed call (``jaxnn.precision``).
        seed: parameter and data seed.
    """

    width: int = 50
    depth: int = 5
    n_train: int = 100
    lanczos_iterations: tuple[int, ...] = (20, 50)
    trace_samples: int = 100
    density_probes: int = curvature.DENSITY_PROBES
    density_iterations: int = curvature.DENSITY_ITERATIONS
    rounds: int = 5
    min_seconds: float = 0.2
    matmul_precision: str = precision.DEFAULT
    seed: int = 0

    def __post_init__(self):
        counts = "width depth n_train density_probes density_iterations rounds".split()
        validation.at_least(self, 1, *counts)
        validation.at_least(self, 2, "trace_samples")  # a standard error needs two probes
        if not self.lanczos_iterations or min(self.lanczos_iterations) < 1:
            raise ValueError(f"lanczos_iterations: need values >= 1, got {self.lanczos_iterations}")
        validation.positive(self, "min_seconds")
        precision.check_precision(self.matmul_precision)


def network_loss(key: jax.Array, width: int, depth: int):
    """``(loss_fn, params)``: the training MSE of ``models.MLP`` as a function of its
    parameters (a pure dict), and the parameters drawn from ``key``."""
    module = models.MLP(width, rngs=nnx.Rngs(key), depth=depth, init_scheme="lecun_normal")
    graphdef, params = nnx.split(module, nnx.Param)

    def loss_fn(params, x, y):
        return objectives.mse(nnx.merge(graphdef, params)(x), y)

    return loss_fn, nnx.to_pure_dict(params)


QUICK = Config(
    width=16,
    depth=2,
    n_train=20,
    lanczos_iterations=(5, 10),
    trace_samples=10,
    density_probes=2,
    density_iterations=10,
    rounds=1,
    min_seconds=0.01,
)


def main(argv: list[str] | None = None) -> dict:
    parser = cli.make_parser(__doc__.splitlines()[0])
    args = parser.parse_args(argv)
    config = cli.override(
        QUICK if args.quick else Config(), seed=args.seed, matmul_precision=args.matmul_precision
    )
    out = cli.writable_dir(args.out)

    key_params, key_data, key_probes = jax.random.split(jax.random.key(config.seed), 3)
    loss_fn, params = network_loss(key_params, config.width, config.depth)
    dataset = data.make_dataset(key_data, data.TeacherConfig(), config.n_train, n_draws=1)
    network = ("width", "depth", "n_train", "seed")  # the rest of the config sets the timing
    timed = {k: v for k, v in dataclasses.asdict(config).items() if k not in network}
    x, y = dataset.x_train[0], dataset.y_train[0]
    timing = curvature.time_statistics(loss_fn, params, x, y, key=key_probes, **timed)
    parameter_count = sum(leaf.size for leaf in jax.tree.leaves(params))
    matmul = benchmark.matmul_flops_per_second() / 1e9
    # A full-batch gradient's useful work: a multiply-add per weight and example forward, two back.
    gradient_seconds = timing["seconds"]["full_batch_gradient"]
    gradient_gflops = 6 * parameter_count * config.n_train / 1e9 / gradient_seconds
    results = {
        **timing,
        "parameter_count": parameter_count,
        "matmul_gflops": matmul,
        "gradient_useful_gflops": gradient_gflops,
        "gradient_share_of_matmul": gradient_gflops / matmul,
        **io.run_record(config, seed=config.seed, argv=argv),
    }

    print(
        f"8 -> {config.width}^{config.depth} -> 8 ReLU, {results['parameter_count']} "
        f"parameters, N = {config.n_train}, {jax.devices()[0].platform}"
    )
    for name, seconds in timing["seconds"].items():
        print(f"{name:>28}: {seconds * 1e3:9.3f} ms  {timing['gradients'][name]:8.1f} gradients")
    print(
        f"full-batch gradient: {gradient_gflops:.2f} useful GFLOP/s (6 N p), "
        f"{gradient_gflops / matmul:.1%} of the float32 matmul rate "
        f"({matmul:.1f} GFLOP/s, this run)"
    )
    for name, value in timing["values"].items():
        print(f"{name:>28}: {value}")
    path = io.write_json(out / "bench_curvature.json", results)
    print(f"wrote {path}")
    return results


if __name__ == "__main__":
    cli.run_main(main)
