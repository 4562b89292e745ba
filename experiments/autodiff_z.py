r"""Exercise 1: reverse-mode AD of $z(a, b) = \log b / (1 + e^{a^2 + b^2})$, checked three ways.

    python experiments/autodiff_z.py [--a 2 --b 3] [--fd-step H] [--out DIR] [--no-plot]

Writes into ``--out`` (default ``figures``):

- ``autodiff_graph.png``: the computational graph, values, adjoints and local partials;
- ``autodiff_z.json``: the forward and backward tables and the gradient next to
  ``jax.grad`` (float64) and a central finite difference;
- ``autodiff_z.md``: the same tables in Markdown, for the report.

The run takes milliseconds, so ``--quick`` and ``--full`` change nothing; ``--seed``
is unused (nothing is random).
"""

from __future__ import annotations

import dataclasses
import math

from jaxnn import autodiff
from jaxnn.cli import make_parser, run_main
from jaxnn.io import ensure_writable_dir, run_record, write_json, write_text

FUNCTION_LATEX = r"z(a, b) = \frac{\log b}{1 + e^{a^2 + b^2}}"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    r"""One evaluation of the exercise.

    Attributes:
        a: the point's first coordinate; any finite number.
        b: the point's second coordinate; log needs b > 0.
        fd_step: step $h$ of the central difference; its error is
            $O(h^2)$ truncation plus $O(\epsilon |z| / h)$ rounding, about 1e-10
            relative at (2, 3) with the default.
        out: output folder.
        plot: whether to draw ``autodiff_graph.png``.
    """

    a: float = 2.0
    b: float = 3.0
    fd_step: float = 1e-5
    out: str = "figures"
    plot: bool = True

    def __post_init__(self):
        if not math.isfinite(self.a):
            raise ValueError(f"a: must be finite, got {self.a}")
        if not (math.isfinite(self.b) and self.b > 0.0):
            raise ValueError(f"b: log needs b > 0, got {self.b}")
        if not (math.isfinite(self.fd_step) and self.fd_step > 0.0):
            raise ValueError(f"fd_step: must be a positive number, got {self.fd_step}")
        if self.fd_step >= self.b:
            raise ValueError(
                f"fd_step: must be below b = {self.b} so that b - h > 0, got {self.fd_step}"
            )


def parse_config(argv: list[str] | None) -> Config:
    parser = make_parser(__doc__.splitlines()[0])
    parser.add_argument("--a", type=float, default=2.0, help="first argument (default 2)")
    parser.add_argument("--b", type=float, default=3.0, help="second argument, > 0 (default 3)")
    parser.add_argument("--fd-step", type=float, default=1e-5, help="finite-difference step")
    args = parser.parse_args(argv)
    return Config(a=args.a, b=args.b, fd_step=args.fd_step, out=args.out, plot=not args.no_plot)


def jax_value_and_grad(a: float, b: float) -> tuple[float, float, float]:
    """$z$ and its gradient by ``jax.grad`` in float64, on the formula as written."""
    import jax
    import jax.numpy as jnp

    def z_fn(a, b):
        return jnp.log(b) / (1.0 + jnp.exp(a**2 + b**2))

    with jax.enable_x64(True):
        a64, b64 = jnp.float64(a), jnp.float64(b)
        z, (dz_da, dz_db) = jax.value_and_grad(z_fn, argnums=(0, 1))(a64, b64)
        return float(z), float(dz_da), float(dz_db)


def compare_gradients(config: Config) -> dict:
    """The engine's partials next to jax.grad (float64) and a central difference."""
    _, *engine = autodiff.z_value_and_grad(config.a, config.b)
    _, *reference = jax_value_and_grad(config.a, config.b)

    def z_fn(a, b):
        return autodiff.z_value_and_grad(a, b)[0]

    comparison = {}
    for index, name in enumerate(("dz_da", "dz_db")):
        difference = autodiff.central_difference(z_fn, (config.a, config.b), index, config.fd_step)
        comparison[name] = {
            "engine": engine[index],
            "jax_grad_float64": reference[index],
            "central_difference": difference,
            "engine_minus_jax_grad": engine[index] - reference[index],
            "engine_minus_central_difference": engine[index] - difference,
        }
    return comparison


# ---------------------------------------------------------------- Markdown --


def _bar(label: str) -> str:
    head, _, subscript = autodiff.latex_name(label).partition("_")
    return rf"\bar{{{head}}}" + (f"_{subscript}" if subscript else "")


def _partial_symbol(of: str, wrt: str) -> str:
    return rf"\partial {autodiff.latex_name(of)}/\partial {autodiff.latex_name(wrt)}"


def _number(value: float) -> str:
    """Plain text, outside math mode, so exponents read as 1e-06 and not as a subtraction."""
    return f"{value:.10g}" if value >= 0 else f"({value:.10g})"


def _partial_markdown(name: str, partial) -> str:
    symbol = _partial_symbol(name, partial.wrt)
    if partial.formula == f"{partial.value:g}":
        return f"${symbol} = {partial.formula}$"
    return f"${symbol} = {partial.formula}$ = {partial.value:.10g}"


def forward_markdown(nodes) -> str:
    lines = [
        "| node | definition | value | local partial derivatives |",
        "|---|---|---:|---|",
    ]
    for node in nodes:
        definition = f"${node.definition}$" if node.definition else "input"
        partials = "; ".join(_partial_markdown(node.name, p) for p in node.local_partials)
        lines.append(
            f"| ${autodiff.latex_name(node.name)}$ | {definition} | {node.value:.10g} | "
            f"{partials or '—'} |"
        )
    return "\n".join(lines)


def backward_markdown(nodes) -> str:
    lines = [
        "| adjoint | path | chain-rule product | numbers | value |",
        "|---|---|---|---|---:|",
    ]
    for node in reversed(nodes):
        bar = _bar(node.name)
        if not node.adjoint_terms:
            lines.append(f"| ${bar}$ | seed | $1$ | | {node.adjoint:.10g} |")
            continue
        for term in node.adjoint_terms:
            symbol = _partial_symbol(term.via, term.local_partial.wrt)
            product = rf"${_bar(term.via)} \cdot {symbol}$"
            numbers = f"{_number(term.via_adjoint)} × {_number(term.local_partial.value)}"
            path = f"via ${autodiff.latex_name(term.via)}$"
            lines.append(f"| ${bar}$ | {path} | {product} | {numbers} | {term.product:.10g} |")
        if len(node.adjoint_terms) > 1:
            lines.append(
                f"| ${bar}$ | **sum of the {len(node.adjoint_terms)} paths** | | | "
                f"**{node.adjoint:.10g}** |"
            )
    return "\n".join(lines)


def comparison_markdown(comparison: dict, fd_step: float) -> str:
    lines = [
        f"| partial | engine | `jax.grad` (float64) | central difference ($h$ = {fd_step:g}) "
        "| engine − jax.grad | engine − central difference |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    symbols = {"dz_da": r"$\partial z/\partial a$", "dz_db": r"$\partial z/\partial b$"}
    for name, row in comparison.items():
        lines.append(
            f"| {symbols[name]} | {row['engine']:.15g} | {row['jax_grad_float64']:.15g} | "
            f"{row['central_difference']:.15g} | {row['engine_minus_jax_grad']:.3g} | "
            f"{row['engine_minus_central_difference']:.3g} |"
        )
    return "\n".join(lines)


def report_markdown(config: Config, nodes, comparison: dict) -> str:
    point = f"$(a, b) = ({config.a:g}, {config.b:g})$"
    return "\n\n".join(
        [
            f"### Reverse-mode AD of ${FUNCTION_LATEX}$ at {point}",
            "The graph fuses $1/(1 + e^{v_3})$ into one overflow-free node "
            r"$v_4 = \sigma(-v_3)$ with $\partial v_4/\partial v_3 = -\sigma(v_3)\,\sigma(-v_3)$, "
            "so large $a, b$ give $0$ instead of `nan` (see `jaxnn/autodiff.py`).",
            "#### Forward pass",
            forward_markdown(nodes),
            r"#### Backward pass: adjoints $\bar v = \partial z/\partial v$, in the order computed",
            backward_markdown(nodes),
            "#### Gradient, checked",
            comparison_markdown(comparison, config.fd_step),
        ]
    ) + "\n"


# -------------------------------------------------------------------- main --

_FORWARD_FIELDS = ("name", "op", "definition", "value", "inputs", "local_partials")


def main(argv: list[str] | None = None) -> dict:
    """Runs the exercise; returns what ``autodiff_z.json`` holds."""
    config = parse_config(argv)
    out = ensure_writable_dir(config.out, name="out")
    nodes = autodiff.trace_z(config.a, config.b)
    by_name = {node.name: node for node in nodes}
    comparison = compare_gradients(config)
    results = {
        "function": FUNCTION_LATEX,
        "a": config.a,
        "b": config.b,
        "z": by_name["z"].value,
        "dz_da": by_name["a"].adjoint,
        "dz_db": by_name["b"].adjoint,
        "forward": [{k: getattr(n, k) for k in _FORWARD_FIELDS} for n in nodes],
        "backward": [
            {"name": n.name, "adjoint": n.adjoint, "terms": n.adjoint_terms}
            for n in reversed(nodes)
        ],
        "paths_into_b": {
            **{f"via_{t.via}": t.product for t in by_name["b"].adjoint_terms},
            "sum": sum(t.product for t in by_name["b"].adjoint_terms),
        },
        "comparison": comparison,
        "fd_step": config.fd_step,
        "run": run_record(config, argv=argv),
    }
    files = {
        "json": write_json(out / "autodiff_z.json", results),
        "markdown": write_text(out / "autodiff_z.md", report_markdown(config, nodes, comparison)),
    }
    if config.plot:
        from jaxnn.plotting import save_figure
        from jaxnn.plotting.autodiff import plot_graph

        title = (
            f"${FUNCTION_LATEX}$ at $(a, b) = ({config.a:g}, {config.b:g})$:  "
            f"$z$ = {results['z']:.6g},  "
            rf"$\partial z/\partial a$ = {results['dz_da']:.6g},  "
            rf"$\partial z/\partial b$ = {results['dz_db']:.6g}"
        )
        files["graph"] = save_figure(plot_graph(nodes, title=title), out / "autodiff_graph.png")
    return {**results, "files": {k: str(v) for k, v in files.items()}}


if __name__ == "__main__":
    run_main(main)
