r"""Exercise 1: reverse-mode AD of $z(a, b) = \log b / (1 + e^{a^2 + b^2})$, checked three ways.

The hand-written engine (``jaxnn.autodiff``) traces $z$ as $v_1 = a^2$, $v_2 = b^2$,
$v_3 = v_1 + v_2$, $v_4 = 1/(1 + e^{v_3})$, $v_5 = \log b$, $z = v_4 v_5$ and runs the
backward pass $\bar v = \sum_{c} \bar c\,\partial c/\partial v$. The study records the forward
and backward tables and compares the gradient with ``jax.grad`` of the formula as written
(float64) and with a central difference
$(z(x + h e_i) - z(x - h e_i))/2h$, whose error is $O(h^2)$ truncation plus
$O(\epsilon |z|/h)$ rounding.

The run takes milliseconds and draws nothing, so ``QUICK = FULL = Config()`` and the seed
is recorded but unused.
"""

from __future__ import annotations

import dataclasses
import math

from jaxnn import autodiff, validation
from jaxnn.formatting import details, fmt
from jaxnn.studies import NoProgress, Progress

FUNCTION_LATEX = r"z(a, b) = \frac{\log b}{1 + e^{a^2 + b^2}}"

# |a|, |b| <= 1e150 keeps a^2 + b^2 <= 2e300, finite in float64 (max 1.8e308); b >= 1e-300
# keeps 1/b = dv5/db finite, so every value, partial and adjoint of the engine is finite.
MAX_ABS = 1e150
MIN_B = 1e-300
# e^u overflows float64 above log(max float) = 709.78: jax.grad of the literal formula then
# divides inf by inf and returns nan, which the fused node of the engine avoids.
EXP_OVERFLOW = 1024 * math.log(2.0)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    r"""One evaluation of the exercise.

    Attributes:
        a: the point's first coordinate; $|a| \le 10^{150}$ so that $a^2 + b^2$ is finite.
        b: the point's second coordinate; log needs $b > 0$, and
            $10^{-300} \le b \le 10^{150}$ keeps $1/b$ and $a^2 + b^2$ finite in float64.
        fd_step: step $h$ of the central difference, $0 < h < b$; its error is
            $O(h^2)$ truncation plus $O(\epsilon |z| / h)$ rounding, about 1e-10
            relative at (2, 3) with the default.
        seed: recorded with the run; nothing is random.
    """

    a: float = 2.0
    b: float = 3.0
    fd_step: float = 1e-5
    seed: int = 0

    def __post_init__(self):
        validation.seed(self.seed)
        # abs(nan) <= MAX_ABS and nan > 0 are False, so nan fails each check below
        if not (isinstance(self.a, (int, float)) and abs(self.a) <= MAX_ABS):
            raise ValueError(
                f"a: must be a finite number with |a| <= {MAX_ABS:g} so that a^2 + b^2 is "
                f"finite in float64, got {self.a!r}"
            )
        if not (isinstance(self.b, (int, float)) and self.b > 0.0):
            raise ValueError(f"b: log needs b > 0, got {self.b!r}")
        if not MIN_B <= self.b <= MAX_ABS:
            raise ValueError(
                f"b: must be in [{MIN_B:g}, {MAX_ABS:g}] so that 1/b and a^2 + b^2 "
                f"are finite in float64, got {self.b!r}"
            )
        validation.positive(self, "fd_step")
        if self.fd_step >= self.b:
            raise ValueError(
                f"fd_step: must be below b = {self.b!r} so that b - h > 0, got {self.fd_step!r}"
            )


QUICK = Config()
FULL = Config()


def compare_gradients(a: float, b: float, fd_step: float) -> dict:
    """The engine's partials next to ``jax.grad`` and a central difference.

    ``jax.grad`` runs in float64 on the formula as written: not finite where
    $e^{a^2 + b^2}$ overflows ($a^2 + b^2 > 709.78$), the independent reference, overflow
    included.
    """
    import jax
    import jax.numpy as jnp

    def literal_z(a, b):
        return jnp.log(b) / (1.0 + jnp.exp(a**2 + b**2))

    with jax.enable_x64(True):
        reference = jax.grad(literal_z, argnums=(0, 1))(jnp.float64(a), jnp.float64(b))
        reference = [float(partial) for partial in reference]
    _, *engine = autodiff.z_value_and_grad(a, b)

    def z_fn(a, b):
        return autodiff.z_value_and_grad(a, b)[0]

    comparison = {}
    for index, name in enumerate(("dz_da", "dz_db")):
        difference = autodiff.central_difference(z_fn, (a, b), index, fd_step)
        comparison[name] = {
            "engine": engine[index],
            "jax_grad_float64": reference[index],
            "central_difference": difference,
            "engine_minus_jax_grad": engine[index] - reference[index],
            "engine_minus_central_difference": engine[index] - difference,
        }
    return comparison


_FORWARD_FIELDS = ("name", "op", "definition", "value", "inputs", "local_partials", "adjoint")


def run(config: Config, *, mesh=None, run_dir=None, progress: Progress | None = None) -> dict:
    """Traces $z$ at ``(config.a, config.b)``, runs the backward pass and checks the gradient.

    ``mesh`` and ``run_dir`` are unused (one evaluation, nothing to shard or resume).

    Returns:
        ``forward[node]`` (value, local partials, adjoint), ``backward[node]`` in the order
        the adjoints are finalized (with their chain-rule terms), the two paths into $b$,
        and the comparison of the gradient with ``jax.grad`` and a central difference.
    """
    progress = progress or NoProgress()
    progress.start(2, "check")
    nodes = autodiff.trace_z(config.a, config.b)
    by_name = {node.name: node for node in nodes}
    progress(1)
    comparison = compare_gradients(config.a, config.b, config.fd_step)
    progress(1)
    records = [dataclasses.asdict(node) for node in nodes]
    return {
        "function": FUNCTION_LATEX,
        "a": config.a,
        "b": config.b,
        "fd_step": config.fd_step,
        "z": by_name["z"].value,
        "dz_da": by_name["a"].adjoint,
        "dz_db": by_name["b"].adjoint,
        "forward": [{k: record[k] for k in _FORWARD_FIELDS} for record in records],
        "backward": [
            {"name": record["name"], "adjoint": record["adjoint"], "terms": record["adjoint_terms"]}
            for record in reversed(records)
        ],
        "paths_into_b": {
            **{f"via_{t.via}": t.product for t in by_name["b"].adjoint_terms},
            "sum": sum(t.product for t in by_name["b"].adjoint_terms),
        },
        "comparison": comparison,
        "jax_grad_finite": all(
            math.isfinite(row["jax_grad_float64"]) for row in comparison.values()
        ),
    }


# ---------------------------------------------------------------- Markdown --


def _partial_symbol(of: str, wrt: str) -> str:
    return rf"\partial {autodiff.latex_name(of)}/\partial {autodiff.latex_name(wrt)}"


def _number(value: float) -> str:
    """Plain text, outside math mode, so exponents read as 1e-06 and not as a subtraction."""
    text = fmt(value, 10)
    return f"({text})" if value is not None and value < 0 else text


def _partial_markdown(name: str, partial: dict) -> str:
    symbol = _partial_symbol(name, partial["wrt"])
    if partial["formula"] == f"{partial['value']:g}":
        return f"${symbol} = {partial['formula']}$"
    return f"${symbol} = {partial['formula']}$ = {fmt(partial['value'], 10)}"


def forward_markdown(forward: list[dict]) -> str:
    lines = [
        "| node | definition | value | local partial derivatives |",
        "|---|---|---:|---|",
    ]
    for node in forward:
        definition = f"${node['definition']}$" if node["definition"] else "input"
        partials = "; ".join(_partial_markdown(node["name"], p) for p in node["local_partials"])
        lines.append(
            f"| ${autodiff.latex_name(node['name'])}$ | {definition} | "
            f"{fmt(node['value'], 10)} | {partials or '—'} |"
        )
    return "\n".join(lines)


def backward_markdown(backward: list[dict]) -> str:
    lines = [
        "| adjoint | path | chain-rule product | numbers | value |",
        "|---|---|---|---|---:|",
    ]
    for node in backward:
        bar = autodiff.bar_name(node["name"])
        terms = node["terms"]
        if not terms:
            lines.append(f"| ${bar}$ | seed | $1$ | | {fmt(node['adjoint'], 10)} |")
            continue
        for term in terms:
            partial = term["local_partial"]
            symbol = _partial_symbol(term["via"], partial["wrt"])
            product = rf"${autodiff.bar_name(term['via'])} \cdot {symbol}$"
            numbers = f"{_number(term['via_adjoint'])} × {_number(partial['value'])}"
            path = f"via ${autodiff.latex_name(term['via'])}$"
            lines.append(
                f"| ${bar}$ | {path} | {product} | {numbers} | {fmt(term['product'], 10)} |"
            )
        if len(terms) > 1:
            lines.append(
                f"| ${bar}$ | **sum of the {len(terms)} paths** | | | "
                f"**{fmt(node['adjoint'], 10)}** |"
            )
    return "\n".join(lines)


def comparison_markdown(comparison: dict, fd_step: float) -> str:
    lines = [
        f"| partial | engine | `jax.grad` (float64) | central difference ($h$ = {fmt(fd_step)}) "
        "| engine − jax.grad | engine − central difference |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    symbols = {"dz_da": r"$\partial z/\partial a$", "dz_db": r"$\partial z/\partial b$"}
    for name, row in comparison.items():
        lines.append(
            f"| {symbols[name]} | {fmt(row['engine'], 15)} | {fmt(row['jax_grad_float64'], 15)} | "
            f"{fmt(row['central_difference'], 15)} | {fmt(row['engine_minus_jax_grad'])} | "
            f"{fmt(row['engine_minus_central_difference'])} |"
        )
    return "\n".join(lines)


def _math(node: dict) -> str:
    return f"${autodiff.latex_name(node['name'])} = {node['definition']}$"


def _adjoint_formula(node: dict) -> str:
    """ "$\\bar{b} = \\bar{v}_{2}\\,\\partial v_2/\\partial b + ...$": one adjoint's chain rule."""
    terms = " + ".join(
        rf"{autodiff.bar_name(t['via'])}\,{_partial_symbol(t['via'], t['local_partial']['wrt'])}"
        for t in node["terms"]
    )
    return f"${autodiff.bar_name(node['name'])} = {terms or '1'}$"


def _agreement(results: dict) -> str:
    rows = results["comparison"].values()
    worst_difference = max(abs(row["engine_minus_central_difference"]) for row in rows)
    text = f"within {fmt(worst_difference, 2)} of a central difference"
    if results["jax_grad_finite"]:
        worst_jax = max(abs(row["engine_minus_jax_grad"]) for row in rows)
        same = "equal to" if worst_jax == 0 else f"within {fmt(worst_jax, 2)} of"
        text = f"{same} `jax.grad` in float64 and " + text
    else:
        text = "(`jax.grad` of the formula as written overflows here) " + text
    return text


def answers(results: dict) -> list[dict]:
    """One row per part of exercise 1, each read from the traced graph and its checks."""
    inner = [node for node in results["forward"] if node["definition"]]
    values = ", ".join(
        f"${autodiff.latex_name(node['name'])}$ = {fmt(node['value'], 4)}" for node in inner
    )
    paths = results["paths_into_b"]
    via = [key for key in paths if key.startswith("via_")]
    point = f"(a, b) = ({fmt(results['a'])}, {fmt(results['b'])})"
    return [
        {
            "item": "Ex 1(a)",
            "question": "What is the computational graph of z(a, b)?",
            "answer": ", ".join(_math(node) for node in inner)
            + f": {len(results['forward'])} nodes; b reaches z along {len(via)} paths.",
            "figure": "autodiff_graph.png",
        },
        {
            "item": "Ex 1(b)",
            "question": f"What does the forward pass give at {point}?",
            "answer": values + ".",
            "figure": "autodiff_graph.png",
        },
        {
            "item": "Ex 1(c)",
            "question": "What does the backward pass compute?",
            "answer": "Adjoints from $\\bar z = 1$ back to the inputs, each the sum over its "
            "children of child adjoint × local partial; for b the two paths give "
            + " + ".join(fmt(paths[key], 4) for key in via)
            + f" = {fmt(paths['sum'], 4)}.",
            "figure": "autodiff_graph.png",
        },
        {
            "item": "Ex 1(d)",
            "question": f"What are ∂z/∂a and ∂z/∂b at {point}?",
            "answer": f"∂z/∂a = {fmt(results['dz_da'], 10)}, ∂z/∂b = "
            f"{fmt(results['dz_db'], 10)}, {_agreement(results)}.",
            "figure": None,
        },
    ]


def markdown(results: dict) -> str:
    """The study's section of REPORT.md: the gradient first, then the graph and the tables."""
    point = f"$(a, b)$ = ({fmt(results['a'], 10)}, {fmt(results['b'], 10)})"
    inner = [node for node in results["forward"] if node["definition"]]
    parts = [
        f"**At {point}: $z$ = {fmt(results['z'], 10)}, $\\partial z/\\partial a$ = "
        f"{fmt(results['dz_da'], 10)}, $\\partial z/\\partial b$ = {fmt(results['dz_db'], 10)}**,"
        f" {_agreement(results)}, for ${results['function']}$.",
        "![The computational graph of z(a, b) with values, adjoints and local "
        "partial derivatives](autodiff_graph.png)",
        "### Graph and forward pass",
        "The graph: " + ", ".join(_math(node) for node in inner) + ".",
        forward_markdown(results["forward"]),
        r"### Backward pass: adjoints $\bar v = \partial z/\partial v$, in the order computed",
        "; ".join(_adjoint_formula(node) for node in results["backward"]) + ".",
        backward_markdown(results["backward"]),
        "### Gradient, checked",
        comparison_markdown(results["comparison"], results["fd_step"]),
    ]
    note = (
        "The graph fuses $1/(1 + e^{v_3})$ into one overflow-free node "
        r"$v_4 = \sigma(-v_3)$ with $\partial v_4/\partial v_3 = -\sigma(v_3)\,\sigma(-v_3)$, "
        "so large $a, b$ give $0$ instead of `nan` (see `jaxnn/autodiff.py`). `jax.grad` "
        "differentiates the formula as written, in float64; the central difference "
        f"$(z(x + h e_i) - z(x - h e_i))/2h$ with $h$ = {fmt(results['fd_step'])} has error "
        "$O(h^2)$ truncation plus $O(\\epsilon |z|/h)$ rounding."
    )
    if not results["jax_grad_finite"]:
        note += (
            f" Here $a^2 + b^2$ = {fmt(results['a'] ** 2 + results['b'] ** 2)} > "
            f"{fmt(EXP_OVERFLOW, 5)}, so $e^{{a^2 + b^2}}$ overflows float64 and `jax.grad` of "
            "the formula as written divides `inf` by `inf`: its column shows a dash (not a "
            "number). The engine's fused node has no such overflow; the central difference "
            "checks it."
        )
    parts.append(details("How it was checked", note))
    return "\n\n".join(parts) + "\n"


def summary(results: dict) -> list[str]:
    """The point, the gradient, and how far it is from the two references."""
    rows = results["comparison"].values()
    lines = [
        f"z({fmt(results['a'])}, {fmt(results['b'])}) = {fmt(results['z'], 6)}, "
        f"dz/da = {fmt(results['dz_da'], 6)}, dz/db = {fmt(results['dz_db'], 6)}",
        "engine − central difference (h = "
        + fmt(results["fd_step"])
        + "): "
        + ", ".join(fmt(row["engine_minus_central_difference"]) for row in rows),
    ]
    if results["jax_grad_finite"]:
        lines.append(
            "engine − jax.grad (float64): "
            + ", ".join(fmt(row["engine_minus_jax_grad"]) for row in rows)
        )
    else:
        lines.append(
            "jax.grad of the formula as written overflows here (a^2 + b^2 > "
            f"{fmt(EXP_OVERFLOW, 5)}); the engine stays finite"
        )
    return lines
