r"""Exercise 2: hand-derived MLP backprop, its operation counts, and three independent checks.

For the assignment's nets (8→M→M→8 with M in {10, 50, 100}, and 8→50×5→8) the study
records the closed-form operation counts of the forward and backward passes
(``jaxnn.backprop``), the multiply–adds counted in the traced program (jaxpr), XLA's flop
estimate of the compiled program, and the largest relative difference between the
hand-derived gradient and ``jax.grad`` in float64. Counting traces and compiles with
abstract shapes only, so it is cheap on any machine; ``FULL`` counts more widths, depths
and batch sizes.
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

from jaxnn import backprop, precision, validation
from jaxnn.formatting import details, fmt, table
from jaxnn.studies import NoProgress, Progress

# the float64 gradient check materializes N × L activations per layer: 1024 × 4096 × 8 bytes
# = 32 MiB each keeps the largest allowed net well inside a CPU's memory
MAX_SIZE = 1024
MAX_DEPTH = 64
MAX_BATCH = 4096
MAX_PLOT_WIDTH = 10**6
MAX_PLOT_POINTS = 10_000


_LIMITS = {
    "input_size": MAX_SIZE,
    "output_size": MAX_SIZE,
    "deep_num_hidden": MAX_DEPTH,
    "deep_width": MAX_SIZE,
    "plot_max_width": MAX_PLOT_WIDTH,
    "plot_points": MAX_PLOT_POINTS,
}
_TUPLE_LIMITS = {"widths": MAX_SIZE, "batch_sizes": MAX_BATCH, "plot_num_hidden": MAX_DEPTH}


def _integers_in(values, maximum: int) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= maximum for v in values)


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
        seed: draws the parameters and data of the gradient check.
        matmul_precision: float32 matmul precision of the gradient check's programs
            (``jaxnn.precision``; the check runs in float64, exact at any setting).
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
    seed: int = 0
    matmul_precision: str = precision.DEFAULT

    def __post_init__(self):
        for name, maximum in _LIMITS.items():
            value = getattr(self, name)
            if not _integers_in((value,), maximum):
                raise ValueError(f"{name}: expected an integer in 1..{maximum}, got {value!r}")
        for name, maximum in _TUPLE_LIMITS.items():
            values = getattr(self, name)
            if not (isinstance(values, tuple) and values and _integers_in(values, maximum)):
                raise ValueError(
                    f"{name}: expected a non-empty tuple of integers in 1..{maximum}, "
                    f"got {values!r}"
                )
        if self.activation not in backprop.ACTIVATIONS:
            raise ValueError(
                f"activation: expected one of {sorted(backprop.ACTIVATIONS)}, "
                f"got {self.activation!r}"
            )
        if not isinstance(self.grad_check, bool):
            raise ValueError(f"grad_check: expected True or False, got {self.grad_check!r}")
        validation.seed(self.seed)
        precision.check_precision(self.matmul_precision)


# One small net of each depth for one example, no float64 check: a few seconds.
QUICK = Config(widths=(10,), deep_width=10, batch_sizes=(1,), plot_points=20, grad_check=False)
# More widths, depths and batch sizes; still minutes of compiling, no accelerator needed.
FULL = Config(
    widths=(10, 50, 100, 200, 500, 1000),
    batch_sizes=(1, 100, 1000),
    plot_num_hidden=(1, 2, 5, 10),
    plot_max_width=10_000,
    plot_points=120,
)


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
### Network and notation

$I$ inputs, $O$ outputs, $K$ hidden layers of $L$ units, activation $\psi$ on the hidden
layers, linear output, mean squared error. A batch of $N$ examples is stored as columns,
$H_0 = X^\top \in \mathbb{R}^{I\times N}$; a single example is $N = 1$ and $\mathbf 1$ is
the all-ones vector of length $N$.

### Forward pass (a)

| step | expression | size |
|---|---|---|
| input | $h_0 = x$ | $I\times N$ |
| pre-activation, $k=1$ | $a_1 = W_1 h_0 + b_1\mathbf 1^\top$, $W_1\in\mathbb R^{L\times I}$, $b_1\in\mathbb R^{L}$ | $L\times N$ |
| pre-activation, $k=2..K$ | $a_k = W_k h_{k-1} + b_k\mathbf 1^\top$, $W_k\in\mathbb R^{L\times L}$, $b_k\in\mathbb R^{L}$ | $L\times N$ |
| hidden, $k=1..K$ | $h_k = \psi(a_k)$ (elementwise) | $L\times N$ |
| output | $\hat y = W_{K+1} h_K + b_{K+1}\mathbf 1^\top$, $W_{K+1}\in\mathbb R^{O\times L}$, $b_{K+1}\in\mathbb R^{O}$ | $O\times N$ |
| error | $e = \hat y - y$ | $O\times N$ |
| loss | $J = \frac{1}{NO}\sum_{o,n} e_{on}^2$ | scalar |

### Backward pass (b)

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


def net_name(input_size: int, output_size: int, num_hidden: int, width: int) -> str:
    """``"8→50→50→8"`` for K ≤ 2, ``"8→50×5→8"`` beyond."""
    hidden = "→".join([str(width)] * num_hidden) if num_hidden <= 2 else f"{width}×{num_hidden}"
    return f"{input_size}→{hidden}→{output_size}"


def nets(config: Config) -> list[tuple[int, int]]:
    """(K, M) of the assignment's nets."""
    return [(2, width) for width in config.widths] + [(config.deep_num_hidden, config.deep_width)]


def plot_curves(config: Config) -> dict:
    """Closed-form multiply–adds per example on a log grid of L, for each plotted K."""
    widths = np.unique(
        np.round(np.geomspace(1, config.plot_max_width, config.plot_points)).astype(int)
    )
    sizes = (config.input_size, config.output_size)
    return {
        "widths": widths.tolist(),
        "forward": {
            str(k): [backprop.forward_multiply_adds(*sizes, k, int(w)) for w in widths]
            for k in config.plot_num_hidden
        },
        "backward": {
            str(k): [backprop.backward_multiply_adds(*sizes, k, int(w)) for w in widths]
            for k in config.plot_num_hidden
        },
    }


def run(config: Config, *, mesh=None, run_dir=None, progress: Progress | None = None) -> dict:
    """Counts every (net, N), checks every net's gradient; one progress unit per net counted.

    ``mesh`` and ``run_dir`` are unused: counting compiles, it does not run.

    Returns:
        ``nets[row]`` with the closed-form, jaxpr and XLA counts of each (net, N), the
        float64 gradient check per net, the operation tables and the plot's curves.
    """
    progress = progress or NoProgress()
    shapes = nets(config)
    progress.start(
        len(shapes) * len(config.batch_sizes) + (len(shapes) if config.grad_check else 0), "net"
    )
    io_sizes = (config.input_size, config.output_size)
    rows = []
    for num_hidden, width in shapes:
        for batch_size in config.batch_sizes:
            counts = backprop.count_network(
                *io_sizes, num_hidden, width, batch_size, config.activation
            )
            rows.append(
                {
                    "net": net_name(*io_sizes, num_hidden, width),
                    "num_hidden": num_hidden,
                    "width": width,
                    "batch_size": batch_size,
                    **counts,
                }
            )
            progress(1)
    grad_errors = {}
    if config.grad_check:
        key = jax.random.key(config.seed)
        for index, (num_hidden, width) in enumerate(shapes):
            grad_errors[net_name(*io_sizes, num_hidden, width)] = backprop.max_relative_grad_error(
                jax.random.fold_in(key, index),
                backprop.layer_sizes(*io_sizes, num_hidden, width),
                max(config.batch_sizes),
                config.activation,
                matmul_precision=config.matmul_precision,
            )
            progress(1)
    summaries = {}
    for k in (None, 2, config.deep_num_hidden):
        summaries["general K" if k is None else f"K = {k}"] = {
            stage: backprop.operation_summary(stage, k) for stage in ("forward", "backward")
        }
    return {
        "input_size": config.input_size,
        "output_size": config.output_size,
        "activation": config.activation,
        "explanation": EXPLANATION,
        "formulas": {
            "forward_multiply_adds": "N (L I + (K - 1) L^2 + O L)",
            "backward_multiply_adds": "N (L I + 2 (K - 1) L^2 + 2 O L)",
            "source": "Goodfellow, Bengio & Courville, Deep Learning (2016), §6.5.4, Alg. 6.4",
        },
        "operations": [
            {
                "stage": op.stage,
                "equation": op.equation,
                "kind": op.kind,
                "operands": op.operands,
                "times": backprop.format_times(op.times_per_layer, op.times_constant),
                "cost": f"O({'·'.join(op.size)})",
            }
            for op in backprop.OPERATIONS
        ],
        "operation_summary": summaries,
        "nets": rows,
        "grad_check_batch_size": max(config.batch_sizes) if config.grad_check else None,
        "max_relative_grad_error_float64": grad_errors,
        "plot": plot_curves(config),
    }


# ---------------------------------------------------------------- Markdown --


def _nets_table(rows: list[dict]) -> str:
    header = [
        "net",
        "N",
        "forward MAC",
        "backward MAC",
        "backward / forward",
        "jaxpr forward",
        "jaxpr backward",
        "jax.grad jaxpr total",
        "XLA flops forward",
        "XLA flops backward",
        "XLA − 2·MAC (fwd / bwd)",
        "our elementwise (fwd / bwd)",
    ]
    cells = []
    for row in rows:
        closed, jaxpr, xla = row["closed_form"], row["jaxpr"], row["xla"]
        forward, backward = closed["forward_multiply_adds"], closed["backward_multiply_adds"]
        cells.append(
            [
                row["net"],
                row["batch_size"],
                forward,
                backward,
                fmt(backward / forward, 4),
                jaxpr["forward_multiply_adds"],
                jaxpr["backward_multiply_adds"],
                jaxpr["jax_value_and_grad_multiply_adds"],
                xla["forward_flops"],
                xla["backward_flops"],
                f"{fmt(xla['forward_flops'] - 2 * forward)} / "
                f"{fmt(xla['backward_flops'] - 2 * backward)}",
                f"{fmt(closed['forward_elementwise'])} / {fmt(closed['backward_elementwise'])}",
            ]
        )
    return table(header, cells)


def _ratio_range(rows: list[dict]) -> str:
    ratios = [
        row["closed_form"]["backward_multiply_adds"] / row["closed_form"]["forward_multiply_adds"]
        for row in rows
    ]
    low, high = min(ratios), max(ratios)
    return fmt(low, 3) if fmt(low, 3) == fmt(high, 3) else f"{fmt(low, 3)}–{fmt(high, 3)}"


def _exact(rows: list[dict]) -> bool:
    return all(
        row["jaxpr"][f"{stage}_multiply_adds"] == row["closed_form"][f"{stage}_multiply_adds"]
        for row in rows
        for stage in ("forward", "backward")
    )


def _largest(rows: list[dict]) -> dict:
    single = [row for row in rows if row["batch_size"] == 1] or rows
    return max(single, key=lambda row: row["closed_form"]["backward_multiply_adds"])


def answers(results: dict) -> list[dict]:
    """One row per part of exercise 2, each checked against the traced program or jax.grad."""
    rows = results["nets"]
    errors = results["max_relative_grad_error_float64"]
    largest = _largest(rows)
    forward = largest["closed_form"]["forward_multiply_adds"]
    backward = largest["closed_form"]["backward_multiply_adds"]
    check = (
        f"; it matches jax.grad in float64 to {fmt(max(errors.values()), 2)} relative"
        if errors
        else ""
    )
    traced = "equal to" if _exact(rows) else "NOT equal to"
    return [
        {
            "item": "Ex 2(a)",
            "question": "What is the forward pass, with the sizes of every quantity?",
            "answer": "a_k = W_k h_{k−1} + b_k 1ᵀ and h_k = ψ(a_k) (L×N, W_1 is L×I, W_k L×L) for "
            "k = 1..K; ŷ = W_{K+1} h_K + b_{K+1} 1ᵀ (O×N); J = Σ(ŷ − y)²/(NO), with h_0 = x (I×N).",
            "figure": None,
        },
        {
            "item": "Ex 2(b)",
            "question": "What is the backward pass, and where does it come from?",
            "answer": "δ_{K+1} = 2e/(NO); δ_k = (W_{k+1}ᵀ δ_{k+1}) ⊙ ψ'(a_k); ∇W_k = δ_k h_{k−1}ᵀ, "
            "∇b_k = δ_k 1 (Goodfellow, Bengio & Courville 2016, §6.5.4, Algorithm 6.4)"
            + check
            + ".",
            "figure": None,
        },
        {
            "item": "Ex 2(c)",
            "question": "How many operations do the forward and backward passes take?",
            "answer": "Forward N(LI + (K−1)L² + OL) multiply–adds, backward "
            "N(LI + 2(K−1)L² + 2OL): the leading L² term doubles, so backward ≈ 2× forward "
            f"({_ratio_range(rows)} for the assignment's nets); {largest['net']}, N = 1: "
            f"{fmt(forward)} and {fmt(backward)} MAC, {traced} the traced jaxpr count.",
            "figure": "mlp_backprop_counts.png",
        },
    ]


def markdown(results: dict) -> str:
    """The study's section of REPORT.md: equations, the counts' formula, the nets' numbers."""
    operations = table(
        ["pass", "computation", "kind", "operands", "times", "cost of one"],
        [
            [
                op["stage"],
                f"`{op['equation']}`",
                *(op[k] for k in ("kind", "operands", "times", "cost")),
            ]
            for op in results["operations"]
        ],
    )
    summaries = [
        f"- **{stage}, {label}:** {'; '.join(lines)}"
        for label, stages in results["operation_summary"].items()
        for stage, lines in stages.items()
    ]
    errors = results["max_relative_grad_error_float64"]
    batch = results["grad_check_batch_size"]
    check = (
        "The hand-derived gradient was not checked against `jax.grad` (`grad_check` off)."
        if not errors
        else f"The hand-derived gradient matches `jax.grad` of a plain forward in float64 "
        f"(N = {fmt(batch)}) to a largest relative difference of "
        + "; ".join(f"{fmt(error, 2)} ({name})" for name, error in errors.items())
        + "."
    )
    rows = results["nets"]
    largest = _largest(rows)
    counts = (
        "**The backward pass costs about twice the forward**: the leading term "
        "$N(K-1)L^2$ of the forward becomes $2N(K-1)L^2$, because each hidden layer needs "
        "one product for $\\nabla_{W_k}$ and one to pass $\\delta$ down. For the "
        f"assignment's nets the ratio is {_ratio_range(rows)}; {largest['net']} at N = 1 takes "
        f"{fmt(largest['closed_form']['forward_multiply_adds'])} and "
        f"{fmt(largest['closed_form']['backward_multiply_adds'])} multiply–adds (MAC). "
        "The traced jaxpr counts "
        + ("equal" if _exact(rows) else "do **not** equal")
        + " the closed form for every net and batch size."
    )
    return "\n".join(
        [
            "Forward and backward pass of a K-hidden-layer MLP derived by hand, their operation "
            "counts in closed form, and three independent checks: the multiply–adds of the traced "
            "program, XLA's flop estimate, and `jax.grad` in float64.",
            EQUATIONS,
            check,
            "",
            "### Operation counts (c)",
            "",
            "$$\\text{forward MAC} = N\\,(LI + (K-1)L^2 + OL), \\qquad "
            "\\text{backward MAC} = N\\,(LI + 2(K-1)L^2 + 2OL).$$",
            "",
            counts,
            "",
            "![multiply–adds against width](mlp_backprop_counts.png)",
            "",
            f"The assignment's nets (ψ = {results['activation']}):",
            "",
            _nets_table(rows),
            "",
            details(
                "How it was counted",
                "Naive costs: an $(i\\times j)(j\\times k)$ product is $O(ijk)$ multiply–adds "
                "(MAC); elementwise work is one scalar operation per element. For a single "
                "example set $N = 1$.\n\n"
                + operations
                + "\n\nGrouped by kind and size:\n\n"
                + "\n".join(summaries)
                + "\n\n"
                + results["explanation"],
            ),
            "",
        ]
    )


def summary(results: dict) -> list[str]:
    """The largest net's counts, whether every jaxpr count equals the closed form, the check."""
    rows = results["nets"]
    exact = _exact(rows)
    largest = max(rows, key=lambda row: row["closed_form"]["backward_multiply_adds"])
    forward = largest["closed_form"]["forward_multiply_adds"]
    backward = largest["closed_form"]["backward_multiply_adds"]
    lines = [
        f"{largest['net']}, N = {fmt(largest['batch_size'])}: forward {fmt(forward)} MAC, "
        f"backward {fmt(backward)} (ratio {fmt(backward / forward, 4)})",
        f"jaxpr counts equal the closed form for {'all' if exact else 'NOT all'} "
        f"{len(rows)} (net, N)",
    ]
    errors = results["max_relative_grad_error_float64"]
    if errors:
        lines.append(
            "hand gradient against jax.grad (float64): largest relative difference "
            f"{fmt(max(errors.values()), 2)}"
        )
    return lines
