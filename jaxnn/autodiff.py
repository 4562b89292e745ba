r"""Reverse-mode automatic differentiation from scratch, and the graph of $z(a, b)$.

A :class:`Node` is one scalar intermediate of a computation: its value, the
operation that made it, its inputs, and the *local* partial derivative of its
value with respect to each input, computed beside the forward value. Reverse
mode then needs only the chain rule on the graph. With $\bar v = \partial z/\partial v$
(the adjoint of $v$) and the seed $\bar z = 1$,

.. math::

    \bar v \;=\; \sum_{c \,\in\, \mathrm{consumers}(v)} \bar c \,\frac{\partial c}{\partial v},

visited in reverse topological order so that every consumer's adjoint is final
before it is used. The topological sort is iterative (an explicit stack), so a
graph 10,000 nodes deep works where a recursive sort would hit Python's
recursion limit. Nodes are immutable and :func:`backward` returns the adjoints
as a new mapping, so nothing is mutated and the same graph can be
differentiated twice. This module imports nothing from JAX: ``jax.grad`` is
its independent check, in the tests and in ``jaxnn.studies.autodiff_z``.

The function of mathematical exercise 1 is

.. math::

    z(a, b) = \frac{\log b}{1 + e^{a^2 + b^2}},

traced as $v_1 = a^2$, $v_2 = b^2$, $v_3 = v_1 + v_2$,
$v_4 = 1/(1 + e^{v_3})$, $v_5 = \log b$, $z = v_4 v_5$.

Numerics. Written literally, $e^{v_3}$ overflows float64 once $v_3 > 709.78$
(e.g. $a = b = 30$, $v_3 = 1800$): the denominator is ``inf``, $z = 0$, but the
backward pass multiplies a zero adjoint by the local partial
$\partial e^{v_3}/\partial v_3 = \infty$ and returns ``nan``. The graph
therefore fuses "exp, add one, reciprocal" into one primitive,
:func:`inv_one_plus_exp`, $r(u) = 1/(1 + e^u) = \sigma(-u)$, evaluated as a
logistic sigmoid that only ever exponentiates a non-positive number
($e^{-|u|} \le 1$ cannot overflow, and it underflows gracefully to 0). Its
local partial is $r'(u) = -\sigma(-u)\,\sigma(u)$, both factors computed the
same stable way; we do not write $-r(1 - r)$, because when $r \to 1$
($u \ll 0$) the subtraction $1 - r$ cancels catastrophically. At $a = b = 30$
both factors are exact ($\sigma(-1800)$ underflows to 0, $\sigma(1800) = 1$), so
$z$, $\partial z/\partial a$ and $\partial z/\partial b$ are all 0 (the true values
are about $10^{-780}$, below the smallest float64). The sigmoid primitive uses
the same two helpers for the same reason. Domain errors are explicit:
``log`` of a non-positive number raises ``ValueError``, and :func:`z_value_and_grad`
says that log needs $b > 0$.

Example:
    >>> a, b = variable(2.0, "a"), variable(3.0, "b")
    >>> y = (a * b + exp(a)).named("y")
    >>> gradients(y, [a, b])  # (b + e^a, a)
    (10.38905609893065, 2.0)
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Sequence

# ---------------------------------------------------------------- the node and the backward pass


# eq=False keeps identity hashing and equality: two nodes with equal values are
# still different intermediates, and a structural __eq__/__hash__ would recurse
# through the whole graph. repr=False for the same reason.
@dataclasses.dataclass(frozen=True, eq=False, repr=False, slots=True)
class Node:
    """One scalar intermediate of a traced computation.

    Attributes:
        value: the forward value.
        op: the primitive that produced it (``"input"`` and ``"const"`` for leaves).
        inputs: the nodes it was computed from.
        local_partials: ``local_partials[i]`` is $\\partial$ value $/\\partial$ ``inputs[i]``
            at the forward values.
        name: a label such as ``"v3"``, for tables and drawings; ``None`` if unnamed.
        exponent: the constant exponent of a ``"pow"`` node, else ``None``.
    """

    value: float
    op: str
    inputs: tuple[Node, ...] = ()
    local_partials: tuple[float, ...] = ()
    name: str | None = None
    exponent: float | None = None

    def named(self, name: str) -> Node:
        """The same intermediate under the label ``name`` (a new node; call it before use)."""
        return dataclasses.replace(self, name=name)

    def __repr__(self) -> str:
        return f"Node({self.name or self.op}={self.value!r})"


def variable(value: float, name: str | None = None) -> Node:
    """An input of the computation, the thing we differentiate with respect to."""
    return Node(value=float(value), op="input", name=name)


def constant(value: float) -> Node:
    """A constant leaf; Python numbers mixed with nodes become these."""
    return Node(value=float(value), op="const")


def _as_node(x: Node | float) -> Node:
    return x if isinstance(x, Node) else constant(x)


def topological_order(output: Node) -> list[Node]:
    """Every node ``output`` depends on, each after all of its inputs.

    Iterative depth-first post-order: an explicit stack of ``(node, expanded)``
    pairs replaces recursion, so depth is limited by memory, not by Python's
    recursion limit. Inputs are visited left to right, so the order reads like
    the expression was written.
    """
    order: list[Node] = []
    seen: set[Node] = set()
    stack: list[tuple[Node, bool]] = [(output, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(node.inputs) if child not in seen)
    return order


def backward(output: Node, seed: float = 1.0) -> dict[Node, float]:
    """Adjoints $\\bar v = \\partial\\,$output$/\\partial v$ of every node, by reverse mode,
    as a new mapping node → adjoint (hashed by identity); ``seed`` is $\\bar{\\text{output}}$."""
    adjoints: dict[Node, float] = {output: float(seed)}
    for node in reversed(topological_order(output)):
        adjoint = adjoints.setdefault(node, 0.0)
        for child, partial in zip(node.inputs, node.local_partials, strict=True):
            adjoints[child] = adjoints.get(child, 0.0) + adjoint * partial
    return adjoints


def gradients(output: Node, wrt: Sequence[Node]) -> tuple[float, ...]:
    """$\\partial\\,$output$/\\partial x$ for each ``x`` in ``wrt`` (0 if output ignores it)."""
    adjoints = backward(output)
    return tuple(adjoints.get(x, 0.0) for x in wrt)


# ---------------------------- Primitives: each forward value next to its local partial derivatives


def _node(op: str, inputs: tuple[Node, ...], value: float, *partials: float) -> Node:
    return Node(value=value, op=op, inputs=inputs, local_partials=partials)


def add(x: Node | float, y: Node | float) -> Node:
    x, y = _as_node(x), _as_node(y)
    return _node("add", (x, y), x.value + y.value, 1.0, 1.0)


def sub(x: Node | float, y: Node | float) -> Node:
    x, y = _as_node(x), _as_node(y)
    return _node("sub", (x, y), x.value - y.value, 1.0, -1.0)


def mul(x: Node | float, y: Node | float) -> Node:
    x, y = _as_node(x), _as_node(y)
    return _node("mul", (x, y), x.value * y.value, y.value, x.value)


def div(x: Node | float, y: Node | float) -> Node:
    """$x / y$; raises ``ZeroDivisionError`` when $y = 0$."""
    x, y = _as_node(x), _as_node(y)
    if y.value == 0.0:
        raise ZeroDivisionError("div: the denominator is 0")
    return _node("div", (x, y), x.value / y.value, 1.0 / y.value, -x.value / (y.value * y.value))


def neg(x: Node | float) -> Node:
    x = _as_node(x)
    return _node("neg", (x,), -x.value, -1.0)


def power(x: Node | float, exponent: float) -> Node:
    """$x^p$ for a constant exponent $p$; $\\partial/\\partial x = p\\,x^{p-1}$.

    Raises:
        ValueError: for a negative base with a non-integer exponent (not real).
        ZeroDivisionError: for a zero base with a negative exponent.
    """
    x = _as_node(x)
    exponent = float(exponent)
    if x.value < 0.0 and not exponent.is_integer():
        raise ValueError(f"power: {x.value}**{exponent} is not real")
    if x.value == 0.0 and exponent < 1.0 and exponent != 0.0:
        raise ZeroDivisionError(f"power: 0**{exponent} has no finite derivative")
    return Node(
        value=_pow(x.value, exponent),
        op="pow",
        inputs=(x,),
        local_partials=(exponent * _pow(x.value, exponent - 1.0),),
        exponent=exponent,
    )


def _pow(base: float, exponent: float) -> float:
    # float ** raises OverflowError where IEEE (and jnp.power) give ±inf.
    try:
        return base**exponent
    except OverflowError:
        odd = exponent.is_integer() and exponent % 2.0 == 1.0
        return math.copysign(math.inf, base) if odd else math.inf


def _exp(t: float) -> float:
    # math.exp raises OverflowError where IEEE (and jnp.exp) give inf.
    try:
        return math.exp(t)
    except OverflowError:
        return math.inf


def exp(x: Node | float) -> Node:
    x = _as_node(x)
    value = _exp(x.value)
    return _node("exp", (x,), value, value)


def log(x: Node | float) -> Node:
    """Natural log; raises ``ValueError`` for $x \\le 0$."""
    x = _as_node(x)
    if not x.value > 0.0:
        raise ValueError(f"log needs a positive argument, got {x.value}")
    return _node("log", (x,), math.log(x.value), 1.0 / x.value)


def relu(x: Node | float) -> Node:
    """$\\max(x, 0)$, with derivative 0 at $x = 0$ (as ``jax.nn.relu``)."""
    x = _as_node(x)
    positive = x.value > 0.0
    return _node("relu", (x,), x.value if positive else 0.0, 1.0 if positive else 0.0)


def tanh(x: Node | float) -> Node:
    x = _as_node(x)
    value = math.tanh(x.value)
    # (1 - t)(1 + t) rather than 1 - t^2: one rounding fewer near t = ±1.
    return _node("tanh", (x,), value, (1.0 - value) * (1.0 + value))


def _sigmoid(t: float) -> float:
    """$\\sigma(t) = 1/(1 + e^{-t})$, exponentiating only $-|t| \\le 0$, so it never overflows."""
    if t >= 0.0:
        return 1.0 / (1.0 + math.exp(-t))
    small = math.exp(t)
    return small / (1.0 + small)


def sigmoid(x: Node | float) -> Node:
    """Logistic $\\sigma(x)$ with $\\sigma' = \\sigma(x)\\,\\sigma(-x)$, both factors stable."""
    x = _as_node(x)
    value = _sigmoid(x.value)
    return _node("sigmoid", (x,), value, value * _sigmoid(-x.value))


def inv_one_plus_exp(u: Node | float) -> Node:
    """The fused, overflow-free $r(u) = 1/(1 + e^u) = \\sigma(-u)$.

    $r'(u) = -e^u/(1 + e^u)^2 = -\\sigma(-u)\\,\\sigma(u)$; see the module
    docstring for why neither is computed from $e^u$ or as $-r(1-r)$.
    """
    u = _as_node(u)
    value = _sigmoid(-u.value)
    return _node("inv_one_plus_exp", (u,), value, -value * _sigmoid(u.value))


# Python's operators on nodes: x + y is add(x, y), 2 * x is mul(2, x), -x is neg(x), ...
def _reflected(fn: Callable[[Node | float, Node | float], Node]):
    return lambda self, other: fn(other, self)


for _name, _fn in (("add", add), ("sub", sub), ("mul", mul), ("truediv", div)):
    setattr(Node, f"__{_name}__", _fn)
    setattr(Node, f"__r{_name}__", _reflected(_fn))
del _name, _fn
Node.__pow__ = power
Node.__neg__ = neg


PRIMITIVES: dict[str, Callable[..., Node]] = {
    "add": add,
    "sub": sub,
    "mul": mul,
    "div": div,
    "neg": neg,
    "pow": power,
    "exp": exp,
    "log": log,
    "relu": relu,
    "tanh": tanh,
    "sigmoid": sigmoid,
    "inv_one_plus_exp": inv_one_plus_exp,
}
"""Every primitive by its ``op`` name (``pow`` takes a constant exponent)."""


# -------------------------------------------- The traced graph, as records for tables and drawings

# LaTeX (without $...$) for each op's definition and its local partials, in
# terms of the input labels {0}, {1}, the node's own label {self} and the
# exponent {p}. Matplotlib's mathtext renders the same strings.
_LATEX = {
    "add": ("{0} + {1}", ("1", "1")),
    "sub": ("{0} - {1}", ("1", "-1")),
    "mul": (r"{0} \cdot {1}", ("{1}", "{0}")),
    "div": (r"\frac{{{0}}}{{{1}}}", (r"\frac{{1}}{{{1}}}", r"-\frac{{{0}}}{{{1}^2}}")),
    "neg": ("-{0}", ("-1",)),
    "pow": ("{0}^{{{p}}}", ("{p}\\,{0}^{{{p_minus_one}}}",)),  # "2 a" when p = 2, see _format
    "exp": ("e^{{{0}}}", ("{self}",)),
    "log": (r"\log {0}", (r"\frac{{1}}{{{0}}}",)),
    "relu": (r"\max({0}, 0)", ("[{0} > 0]",)),
    "tanh": (r"\tanh {0}", ("1 - {self}^2",)),
    "sigmoid": (r"\sigma({0})", (r"\sigma({0})\,\sigma(-{0})",)),
    "inv_one_plus_exp": (r"\frac{{1}}{{1 + e^{{{0}}}}}", (r"-\sigma({0})\,\sigma(-{0})",)),
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class LocalPartial:
    """$\\partial\\,$node$/\\partial\\,$input: the input's label, formula (LaTeX) and value."""

    wrt: str
    formula: str
    value: float


@dataclasses.dataclass(frozen=True, kw_only=True)
class AdjointTerm:
    """One chain-rule path into $v$ via its consumer $c$: $\\bar c\\,\\partial c/\\partial v$."""

    via: str
    via_adjoint: float
    local_partial: LocalPartial
    product: float


@dataclasses.dataclass(frozen=True, kw_only=True)
class TracedNode:
    """One row of the forward and backward tables.

    Attributes:
        name: the label, e.g. ``"v3"``.
        op: the primitive, or ``"input"`` / ``"const"``.
        definition: LaTeX of the definition in terms of the input labels, e.g. ``"v_1 + v_2"``.
        value: the forward value.
        inputs: labels of the inputs.
        local_partials: one per input.
        adjoint: $\\bar v = \\partial\\,$output$/\\partial v$ from :func:`backward`.
        adjoint_terms: the chain-rule products whose sum is the adjoint, one per
            (consumer, slot); empty for the output, whose adjoint is the seed.
    """

    name: str
    op: str
    definition: str
    value: float
    inputs: tuple[str, ...]
    local_partials: tuple[LocalPartial, ...]
    adjoint: float
    adjoint_terms: tuple[AdjointTerm, ...]


def latex_name(label: str) -> str:
    """``"v12"`` → ``"v_{12}"``: trailing digits become a subscript."""
    match = re.fullmatch(r"([A-Za-z]+)(\d+)", label)
    return f"{match[1]}_{{{match[2]}}}" if match else label


def bar_name(label: str) -> str:
    """LaTeX of the adjoint of ``label``: ``"v3"`` → ``"\\bar{v}_{3}"``."""
    head, _, subscript = latex_name(label).partition("_")
    return rf"\bar{{{head}}}" + (f"_{subscript}" if subscript else "")


def _labels(order: Sequence[Node]) -> dict[Node, str]:
    """Each node's label: its name, a constant's value, or ``t<k>`` for unnamed ones."""
    labels: dict[Node, str] = {}
    for index, node in enumerate(order):
        if node.name is not None:
            labels[node] = node.name
        elif node.op == "const":
            labels[node] = f"{node.value:g}"
        else:
            labels[node] = f"t{index}"
    return labels


def _format(template: str, node: Node, labels: dict[Node, str]) -> str:
    exponent = node.exponent if node.exponent is not None else 0.0
    if exponent == 2.0:
        template = template.replace("^{{{p_minus_one}}}", "")
    return template.format(
        *(latex_name(labels[child]) for child in node.inputs),
        self=latex_name(labels[node]),
        p=f"{exponent:g}",
        p_minus_one=f"{exponent - 1.0:g}",
    )


def _local_partials(node: Node, labels: dict[Node, str]) -> tuple[LocalPartial, ...]:
    if not node.inputs:
        return ()
    return tuple(
        LocalPartial(wrt=labels[child], formula=_format(template, node, labels), value=partial)
        for child, template, partial in zip(
            node.inputs, _LATEX[node.op][1], node.local_partials, strict=True
        )
    )


def trace(output: Node) -> tuple[TracedNode, ...]:
    """The graph of ``output`` as records, in a computation order (inputs first).

    The inputs come first (in the order they are reached), then every other
    node after its inputs, so the list reads like the pen-and-paper forward
    pass; reversed, it is the order in which the backward pass finalizes the
    adjoints.
    """
    topological = topological_order(output)
    order = [n for n in topological if n.op == "input"] + [
        n for n in topological if n.op != "input"
    ]
    labels = _labels(order)
    partials = {node: _local_partials(node, labels) for node in order}
    adjoints = backward(output)
    terms: dict[Node, list[AdjointTerm]] = {node: [] for node in order}
    for consumer in order:
        for child, local in zip(consumer.inputs, partials[consumer], strict=True):
            terms[child].append(
                AdjointTerm(
                    via=labels[consumer],
                    via_adjoint=adjoints[consumer],
                    local_partial=local,
                    product=adjoints[consumer] * local.value,
                )
            )
    return tuple(
        TracedNode(
            name=labels[node],
            op=node.op,
            definition=_format(_LATEX[node.op][0], node, labels) if node.inputs else "",
            value=node.value,
            inputs=tuple(labels[child] for child in node.inputs),
            local_partials=partials[node],
            adjoint=adjoints[node],
            adjoint_terms=tuple(terms[node]),
        )
        for node in order
    )


# --------------------------------------------- Exercise 1: z(a, b) = log(b) / (1 + exp(a^2 + b^2))

Z_INTERMEDIATES = ("a", "b", "v1", "v2", "v3", "v4", "v5", "z")
"""The labels of :func:`build_z`'s graph, in computation order."""


def build_z(a: float, b: float) -> tuple[Node, Node, Node]:
    """``(a_node, b_node, z_node)``: the named graph of $z(a, b) = \\log b / (1 + e^{a^2 + b^2})$.

    Raises a ``ValueError`` if $b \\le 0$ (log needs b > 0) or an argument is not finite.
    """
    if not math.isfinite(a):
        raise ValueError(f"a must be finite, got a = {a}")
    if not math.isfinite(b):
        raise ValueError(f"b must be finite, got b = {b}")
    if not b > 0.0:
        raise ValueError(f"log needs b > 0 in z(a, b) = log(b)/(1 + exp(a^2 + b^2)), got b = {b}")
    a_node, b_node = variable(a, "a"), variable(b, "b")
    v1 = power(a_node, 2).named("v1")
    v2 = power(b_node, 2).named("v2")
    v3 = add(v1, v2).named("v3")
    v4 = inv_one_plus_exp(v3).named("v4")  # fused 1/(1 + e^{v3}): no overflow
    v5 = log(b_node).named("v5")
    z = mul(v4, v5).named("z")
    return a_node, b_node, z


def z_value_and_grad(a: float, b: float) -> tuple[float, float, float]:
    """``(z, dz_da, dz_db)``: $z(a, b)$ and its gradient by the reverse-mode engine, for the
    arguments :func:`build_z` accepts.

    Example:
        >>> z, dz_da, dz_db = z_value_and_grad(2.0, 3.0)
        >>> round(dz_da / z, 12)  # d log z / da = -2a sigma(a^2 + b^2)
        -3.999990958703
    """
    a_node, b_node, z = build_z(a, b)
    dz_da, dz_db = gradients(z, [a_node, b_node])
    return z.value, dz_da, dz_db


def trace_z(a: float, b: float) -> tuple[TracedNode, ...]:
    """The traced graph of $z(a, b)$: labels :data:`Z_INTERMEDIATES`, values, partials, adjoints."""
    return trace(build_z(a, b)[2])


def central_difference(
    fn: Callable[..., float], point: Sequence[float], index: int, step: float
) -> float:
    """$(f(x + h e_i) - f(x - h e_i)) / 2h$, with error $O(h^2) + O(\\epsilon/h)$."""
    plus = [float(x) for x in point]
    minus = list(plus)
    plus[index] += step
    minus[index] -= step
    return (fn(*plus) - fn(*minus)) / (2.0 * step)
