"""Hand-derived MLP backprop: equations, operation counts, and three independent checks.

Mathematical exercise 2 of the assignment. For the assignment's nets (8→M→M→8 with M in
{10, 50, 100}, and 8→50×5→8) it writes the forward and backward equations with sizes, the
closed-form operation counts, the multiply–adds counted in the traced program (jaxpr) and
XLA's flop estimate of the compiled program, and checks the hand-derived gradient against
``jax.grad`` in float64.

    python experiments/mlp_backprop.py [--quick] [--out DIR] [--no-plot]

Writes ``mlp_backprop.md``, ``mlp_backprop.json`` and ``mlp_backprop_counts.png`` into
``--out`` (default ``figures``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn import backprop
from jaxnn.cli import make_parser, run_main
from jaxnn.io import ensure_writable_dir, run_record, write_json, write_text


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    """What to count and plot.

    Attributes:
        input_size: I, inputs of every net (8 in the assignment).
        output_size: O, outputs of every net (8 in the assignment).
        widths: M of the two-hidden-layer nets I→M→M→O.
        deep_num_hidden: K of the deep net (five in the assignment's SGD exercise).
        deep_width: M of the deep net.
        batch_sizes: N for which counts are tabulated; 1 is a single example.
        activation: ψ used to trace and compile; multiply–adds do not depend on it.
        plot_num_hidden: K of the curves in the plot.
        plot_max_width: the largest L in the plot; L runs from 1 on a log grid.
        plot_points: how many L the closed-form curves are drawn at.
        grad_check: compare every net with ``jax.grad`` in float64 at the largest N.
    """

    input_size: int = 8
    output_size: int = 8
    widths: tuple[int, ...] = (10, 50, 100)
    deep_num_hidden: int = 5
    deep_width: int = 50
    batch_sizes: tuple[int, ...] = (1, 100)
    activation: str = "relu"
    plot_num_hidden: tuple[int, ...] = (2, 5)
    plot_max_width: int = 1000
    plot_points: int = 60
    grad_check: bool = True

    def __post_init__(self):
        for name in ("input_size", "output_size", "deep_num_hidden", "deep_width",
                     "plot_max_width", "plot_points"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected a positive integer, got {value!r}")
        for name in ("widths", "batch_sizes", "plot_num_hidden"):
            values = getattr(self, name)
            if not values or not all(isinstance(v, int) and v >= 1 for v in values):
                raise ValueError(f"{name}: expected a non-empty tuple of positive integers, "
                                 f"got {values!r}")
        if self.activation not in backprop.ACTIVATIONS:
            raise ValueError(f"activation: expected one of {sorted(backprop.ACTIVATIONS)}, "
                             f"got {self.activation!r}")


EXPLANATION = (
    "The closed form and the jaxpr count agree exactly because both count the multiply–adds "
    "(MAC) of the matrix products and nothing else; jax.value_and_grad of a plain forward "
    "traces to the same total, since reverse mode does the same products and, like the hand "
    "derivation, never propagates into x. XLA's flops (its own estimate for the backend in "
    "`run.device`) differ for three reasons. It counts a "
    "multiply–add as 2 flops. It also counts elementwise work, one flop per element (bias "
    "additions, ψ and ψ', Hadamard products, e = ŷ − y, the loss, the bias-gradient sums; "
    "exp, log and tanh go to `transcendentals` instead), so XLA − 2·MAC is close to our "
    "elementwise count, not equal, because its per-op costs (relu as compare and select) and "
    "fusion (which can recompute a cheap value in several fused kernels) are its own. And for "
    "a single example (N = 1) the weight gradients δ_k h_{k-1}^T are outer products, which XLA "
    "rewrites as broadcast multiplies of 1 flop per element instead of 2, so its backward "
    "count drops below 2·MAC."
)

EQUATIONS = r"""
## Network and notation

$I$ inputs, $O$ outputs, $K$ hidden layers of $L$ units, activation $\psi$ on the hidden
layers, linear output, mean squared error. A batch of $N$ examples is stored as columns,
$H_0 = X^\top \in \mathbb{R}^{I\times N}$; a single example is $N = 1$ and $\mathbf 1$ is
the all-ones vector of length $N$.

## Forward pass (a)

| step | expression | size |
|---|---|---|
| input | $h_0 = x$ | $I\times N$ |
| pre-activation, $k=1$ | $a_1 = W_1 h_0 + b_1\mathbf 1^\top$, $W_1\in\mathbb R^{L\times I}$, $b_1\in\mathbb R^{L}$ | $L\times N$ |
| pre-activation, $k=2..K$ | $a_k = W_k h_{k-1} + b_k\mathbf 1^\top$, $W_k\in\mathbb R^{L\times L}$, $b_k\in\mathbb R^{L}$ | $L\times N$ |
| hidden, $k=1..K$ | $h_k = \psi(a_k)$ (elementwise) | $L\times N$ |
| output | $\hat y = W_{K+1} h_K + b_{K+1}\mathbf 1^\top$, $W_{K+1}\in\mathbb R^{O\times L}$, $b_{K+1}\in\mathbb R^{O}$ | $O\times N$ |
| error | $e = \hat y - y$ | $O\times N$ |
| loss | $J = \frac{1}{NO}\sum_{o,n} e_{on}^2$ | scalar |

## Backward pass (b)

Source: Goodfellow, Bengio & Courville, *Deep Learning* (MIT Press, 2016), §6.5.4,
Algorithm 6.4, with $g$ written $\delta_k = \partial J/\partial a_k$ and $a_{K+1} = \hat y$.

$$\delta_{K+1} = \frac{\partial J}{\partial \hat y} = \frac{2}{NO}\, e \qquad (O\times N)$$

$$\nabla_{W_{K+1}} J = \delta_{K+1} h_K^\top \quad (O\times L), \qquad
\nabla_{b_{K+1}} J = \delta_{K+1}\mathbf 1 \quad (O)$$

and for $k = K, K-1, \dots, 1$:

$$\delta_k = \left(W_{k+1}^\top \delta_{k+1}\right) \odot \psi'(a_k) \qquad (L\times N)$$

$$\nabla_{W_k} J = \delta_k h_{k-1}^\top \quad (L\times I \text{ for } k=1,\ L\times L \text{ otherwise}),
\qquad \nabla_{b_k} J = \delta_k \mathbf 1 \quad (L)$$

$W_1^\top\delta_1 = \partial J/\partial x$ is not needed for any parameter and is not computed.
"""


def make_config(args) -> Config:
    """The config for the parsed flags.

    ``--quick`` counts one small net of each depth for one example and skips the float64
    gradient check, so that the smoke run takes a few seconds; ``--full`` is the default
    run, since counting is cheap on any machine.
    """
    if args.quick:
        return Config(widths=(10,), deep_width=10, batch_sizes=(1,), plot_points=20,
                      grad_check=False)
    return Config()


def net_name(config: Config, num_hidden: int, width: int) -> str:
    hidden = "→".join([str(width)] * num_hidden) if num_hidden <= 2 else f"{width}×{num_hidden}"
    return f"{config.input_size}→{hidden}→{config.output_size}"


def count_net(config: Config, num_hidden: int, width: int, batch_size: int) -> dict:
    """Closed-form, jaxpr and XLA counts of one net at one batch size.

    Counting reads shapes only, so params and data are abstract (``ShapeDtypeStruct``):
    nothing is run, only traced and compiled.
    """
    sizes = backprop.layer_sizes(config.input_size, config.output_size, num_hidden, width)
    params = [(jax.ShapeDtypeStruct((fan_out, fan_in), jnp.float32),
               jax.ShapeDtypeStruct((fan_out,), jnp.float32))
              for fan_in, fan_out in zip(sizes[:-1], sizes[1:])]
    x = jax.ShapeDtypeStruct((batch_size, config.input_size), jnp.float32)
    y = jax.ShapeDtypeStruct((batch_size, config.output_size), jnp.float32)
    activation = config.activation

    def forward_loss(p, x, y):
        return backprop.mlp_forward(p, x, y, activation).loss

    def backward(p, cache):
        return backprop.mlp_backward(p, cache, activation)

    def hand_value_and_grad(p, x, y):
        return backprop.mlp_value_and_grad(p, x, y, activation)

    def jax_value_and_grad(p, x, y):
        return jax.value_and_grad(backprop.mlp_loss)(p, x, y, activation)

    cache = jax.eval_shape(lambda p, x, y: backprop.mlp_forward(p, x, y, activation), params, x, y)
    shape = (config.input_size, config.output_size, num_hidden, width, batch_size)
    elementwise = backprop.count_operations(*shape)
    closed = {
        "forward_multiply_adds": backprop.forward_multiply_adds(*shape),
        "backward_multiply_adds": backprop.backward_multiply_adds(*shape),
        "forward_elementwise": sum(v for k, v in elementwise["forward"].items()
                                   if k != backprop.MATRIX_PRODUCT),
        "backward_elementwise": sum(v for k, v in elementwise["backward"].items()
                                    if k != backprop.MATRIX_PRODUCT),
    }
    jaxpr = {
        "forward_multiply_adds": backprop.count_multiply_adds(forward_loss, params, x, y),
        "backward_multiply_adds": backprop.count_multiply_adds(backward, params, cache),
        "jax_value_and_grad_multiply_adds": backprop.count_multiply_adds(
            jax_value_and_grad, params, x, y),
    }
    forward_cost = backprop.xla_cost(forward_loss, params, x, y)
    backward_cost = backprop.xla_cost(backward, params, cache)
    xla = {
        "forward_flops": forward_cost["flops"],
        "backward_flops": backward_cost["flops"],
        "forward_transcendentals": forward_cost["transcendentals"],
        "backward_transcendentals": backward_cost["transcendentals"],
        "value_and_grad_flops": backprop.xla_cost(hand_value_and_grad, params, x, y)["flops"],
        "jax_value_and_grad_flops": backprop.xla_cost(jax_value_and_grad, params, x, y)["flops"],
    }
    return {
        "net": net_name(config, num_hidden, width),
        "num_hidden": num_hidden,
        "width": width,
        "batch_size": batch_size,
        "closed_form": closed,
        "jaxpr": jaxpr,
        "xla": xla,
    }


def max_relative_grad_error(config: Config, key, num_hidden: int, width: int,
                            batch_size: int) -> float:
    """max over layers of max|g_hand − g_jax| / max|g_jax|, in float64."""
    with jax.enable_x64(True):
        sizes = backprop.layer_sizes(config.input_size, config.output_size, num_hidden, width)
        key_params, key_x, key_y = jax.random.split(key, 3)
        params = backprop.sample_params(key_params, sizes, jnp.float64)
        x = jax.random.normal(key_x, (batch_size, config.input_size), jnp.float64)
        y = jax.random.normal(key_y, (batch_size, config.output_size), jnp.float64)
        _, hand = backprop.mlp_value_and_grad(params, x, y, config.activation)
        reference = jax.grad(backprop.mlp_loss)(params, x, y, config.activation)
        errors = [
            float(jnp.max(jnp.abs(g - r)) / jnp.max(jnp.abs(r)))
            for g, r in zip(jax.tree.leaves(hand), jax.tree.leaves(reference))
        ]
    return max(errors)


def nets(config: Config) -> list[tuple[int, int]]:
    """(K, M) of the assignment's nets."""
    return [(2, width) for width in config.widths] + [(config.deep_num_hidden, config.deep_width)]


def plot_curves(config: Config) -> dict:
    """Closed-form multiply–adds per example on a log grid of L, for each plotted K."""
    widths = np.unique(np.round(np.geomspace(1, config.plot_max_width,
                                             config.plot_points)).astype(int))
    io = (config.input_size, config.output_size)
    return {
        "widths": widths.tolist(),
        "forward": {k: [backprop.forward_multiply_adds(*io, k, int(w)) for w in widths]
                    for k in config.plot_num_hidden},
        "backward": {k: [backprop.backward_multiply_adds(*io, k, int(w)) for w in widths]
                     for k in config.plot_num_hidden},
    }


def _fmt(value: float) -> str:
    return f"{value:,.0f}"


def markdown_report(config: Config, rows: list[dict], grad_errors: dict) -> str:
    symbolic = ["| pass | computation | kind | operands | times | cost of one |",
                "|---|---|---|---|---|---|"]
    for op in backprop.OPERATIONS:
        times = backprop.format_times(op.times_per_layer, op.times_constant)
        symbolic.append(f"| {op.stage} | `{op.equation}` | {op.kind} | {op.operands} | "
                        f"{times} | O({'·'.join(op.size)}) |")
    summaries = []
    for k in (None, 2, config.deep_num_hidden):
        label = "general K" if k is None else f"K = {k}"
        for stage in ("forward", "backward"):
            lines = "; ".join(backprop.operation_summary(stage, k))
            summaries.append(f"- **{stage}, {label}:** {lines}")
    table = ["| net | N | forward MAC | backward MAC | backward / forward | jaxpr forward | "
             "jaxpr backward | jax.grad jaxpr total | XLA flops forward | XLA flops backward | "
             "XLA − 2·MAC (fwd / bwd) | our elementwise (fwd / bwd) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        closed, jaxpr, xla = row["closed_form"], row["jaxpr"], row["xla"]
        table.append(
            f"| {row['net']} | {row['batch_size']} | {_fmt(closed['forward_multiply_adds'])} | "
            f"{_fmt(closed['backward_multiply_adds'])} | "
            f"{closed['backward_multiply_adds'] / closed['forward_multiply_adds']:.3f} | "
            f"{_fmt(jaxpr['forward_multiply_adds'])} | {_fmt(jaxpr['backward_multiply_adds'])} | "
            f"{_fmt(jaxpr['jax_value_and_grad_multiply_adds'])} | "
            f"{_fmt(xla['forward_flops'])} | {_fmt(xla['backward_flops'])} | "
            f"{_fmt(xla['forward_flops'] - 2 * closed['forward_multiply_adds'])} / "
            f"{_fmt(xla['backward_flops'] - 2 * closed['backward_multiply_adds'])} | "
            f"{_fmt(closed['forward_elementwise'])} / {_fmt(closed['backward_elementwise'])} |"
        )
    check = ("not run (--quick)" if not grad_errors else
             "; ".join(f"{name}: {error:.1e}" for name, error in grad_errors.items()))
    return "\n".join([
        "# Hand-derived backprop of a K-hidden-layer MLP",
        "",
        "Written by `python experiments/mlp_backprop.py`; do not edit by hand.",
        EQUATIONS,
        "## Operation counts (c)",
        "",
        "Naive costs: an $(i\\times j)(j\\times k)$ product is $O(ijk)$ multiply–adds (MAC); "
        "elementwise work is one scalar operation per element. For a single example set "
        "$N = 1$.",
        "",
        *symbolic,
        "",
        "Grouped by kind and size:",
        "",
        *summaries,
        "",
        "In closed form:",
        "",
        "$$\\text{forward MAC} = N\\,(LI + (K-1)L^2 + OL), \\qquad "
        "\\text{backward MAC} = N\\,(LI + 2(K-1)L^2 + 2OL).$$",
        "",
        f"## The assignment's nets (ψ = {config.activation})",
        "",
        *table,
        "",
        EXPLANATION,
        "",
        "Hand-derived gradient against `jax.grad` of a plain forward in float64, "
        f"largest relative difference (N = {max(config.batch_sizes)}): {check}.",
        "",
        "![multiply–adds against width](mlp_backprop_counts.png)",
        "",
    ])


def main(argv: list[str] | None = None) -> dict:
    """Counts, checks and writes the report; returns what it wrote as a dict."""
    parser = make_parser(__doc__.splitlines()[0])
    args = parser.parse_args(argv)
    config = make_config(args)
    out = ensure_writable_dir(args.out)
    key = jax.random.key(args.seed)

    rows = [
        count_net(config, num_hidden, width, batch_size)
        for num_hidden, width in nets(config)
        for batch_size in config.batch_sizes
    ]
    grad_errors = {}
    if config.grad_check:
        for index, (num_hidden, width) in enumerate(nets(config)):
            grad_errors[net_name(config, num_hidden, width)] = max_relative_grad_error(
                config, jax.random.fold_in(key, index), num_hidden, width,
                max(config.batch_sizes))
    curves = plot_curves(config)

    results = {
        "run": run_record(config, seed=args.seed, argv=argv),
        "explanation": EXPLANATION,
        "formulas": {
            "forward_multiply_adds": "N (L I + (K - 1) L^2 + O L)",
            "backward_multiply_adds": "N (L I + 2 (K - 1) L^2 + 2 O L)",
            "source": "Goodfellow, Bengio & Courville, Deep Learning (2016), §6.5.4, Alg. 6.4",
        },
        "operation_summary": {
            stage: backprop.operation_summary(stage) for stage in ("forward", "backward")
        },
        "nets": rows,
        "max_relative_grad_error_float64": grad_errors,
        "plot": curves,
    }
    write_json(out / "mlp_backprop.json", results)
    write_text(out / "mlp_backprop.md", markdown_report(config, rows, grad_errors))
    if not args.no_plot:
        measured = [
            {"num_hidden": row["num_hidden"], "width": row["width"],
             "forward": row["jaxpr"]["forward_multiply_adds"] / row["batch_size"],
             "backward": row["jaxpr"]["backward_multiply_adds"] / row["batch_size"]}
            for row in rows if row["batch_size"] == min(config.batch_sizes)
        ]
        from jaxnn.plotting.backprop import plot_multiply_adds

        plot_multiply_adds(
            out / "mlp_backprop_counts.png", widths=curves["widths"],
            forward=curves["forward"], backward=curves["backward"], measured=measured,
            title=(f"MLP {config.input_size}→L×K→{config.output_size}, multiply–adds per "
                   "example; dots: the assignment's nets"),
        )
    results["files"] = sorted(str(path) for path in Path(out).glob("mlp_backprop*"))
    return results


if __name__ == "__main__":
    run_main(main)
