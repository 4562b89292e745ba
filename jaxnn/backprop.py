r"""Hand-derived forward and backward pass of a K-hidden-layer MLP, and its operation counts.

The network maps I inputs to O outputs through K hidden layers of L units with activation
ψ, a linear output layer and the mean squared error. Examples are the columns of
:math:`H_0 = X^\top \in \mathbb{R}^{I \times N}` (a single example is N = 1), so every
equation below is the single-example equation with vectors widened to N columns.

Forward pass (sizes on the right)::

    h_0 = x                                   I × N
    a_k = W_k h_{k-1} + b_k 1^T,  k = 1..K    L × N   (W_1: L × I, W_k: L × L for k ≥ 2, b_k: L)
    h_k = ψ(a_k)                              L × N
    ŷ   = W_{K+1} h_K + b_{K+1} 1^T           O × N   (W_{K+1}: O × L, b_{K+1}: O)
    e   = ŷ − y                               O × N
    J   = (1 / (N O)) Σ_{o,n} e_{on}^2        scalar

Backward pass, after Goodfellow, Bengio & Courville, *Deep Learning* (MIT Press, 2016),
§6.5.4, Algorithm 6.4, with g written δ_k = ∂J/∂a_k and a_{K+1} = ŷ::

    δ_{K+1}      = (2 / (N O)) e                   O × N
    ∇_{W_{K+1}} J = δ_{K+1} h_K^T                   O × L
    ∇_{b_{K+1}} J = δ_{K+1} 1                       O
    for k = K..1:
      δ_k        = (W_{k+1}^T δ_{k+1}) ⊙ ψ'(a_k)    L × N
      ∇_{W_k} J  = δ_k h_{k-1}^T                    L × I (k = 1) or L × L
      ∇_{b_k} J  = δ_k 1                            L

No ``jax.grad`` is used here: the equations above are the whole of the backward pass,
and ``tests/test_backprop.py`` compares them with ``jax.grad`` of a plain forward.

Operation counts use the naive cost O(ijk) of an (i × j)(j × k) product, counted in
multiply–adds, and one scalar operation per element for everything elementwise::

    forward multiply–adds  = N (L I + (K − 1) L² + O L)
    backward multiply–adds = N (L I + 2 (K − 1) L² + 2 O L)

The backward pass does the weight-gradient products (same sizes as the forward ones) and
the propagation W_{k+1}^T δ_{k+1} for k = K..1; it never forms ∂J/∂x, which no parameter
needs. For K ≥ 2 the ratio backward / forward tends to 2 as L grows.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.extend import core as jax_core

from jaxnn import precision

Array = jax.Array
ActivationFn = Callable[[Array], Array]
Params = Sequence[tuple[Array, Array]]


# --- activations: each ψ beside its derivative ψ' -------------------------------------------


def _relu(a: Array) -> Array:
    return jnp.maximum(a, 0.0)


def _relu_prime(a: Array) -> Array:
    # ψ'(0) := 0, the value jax.nn.relu's custom JVP also uses.
    return (a > 0).astype(a.dtype)


def _tanh_prime(a: Array) -> Array:
    return 1.0 - jnp.tanh(a) ** 2


def _sigmoid_prime(a: Array) -> Array:
    s = jax.nn.sigmoid(a)
    return s * (1.0 - s)


ACTIVATIONS: dict[str, tuple[ActivationFn, ActivationFn]] = {
    "relu": (_relu, _relu_prime),
    "tanh": (jnp.tanh, _tanh_prime),
    "sigmoid": (jax.nn.sigmoid, _sigmoid_prime),
    # softplus(a) = log(1 + e^a), whose derivative is the logistic sigmoid.
    "softplus": (jax.nn.softplus, jax.nn.sigmoid),
}


def resolve_activation(activation: str | tuple[ActivationFn, ActivationFn]):
    """The pair (ψ, ψ') for a name in :data:`ACTIVATIONS` or a supplied pair."""
    if isinstance(activation, str):
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"activation: unknown name {activation!r}; expected one of "
                f"{sorted(ACTIVATIONS)} or a pair (psi, psi_prime)"
            )
        return ACTIVATIONS[activation]
    if (
        isinstance(activation, tuple | list)
        and len(activation) == 2
        and all(callable(fn) for fn in activation)
    ):
        return tuple(activation)
    raise ValueError(
        f"activation: expected a name in {sorted(ACTIVATIONS)} or a pair of callables "
        f"(psi, psi_prime), got {activation!r}"
    )


# --- input checks ----------------------------------------------------------------------------


def _shape(value: Any) -> tuple[int, ...]:
    return tuple(getattr(value, "shape", jnp.shape(value)))


def check_params(params: Params) -> tuple[int, ...]:
    """The layer sizes (I, L_1, ..., L_K, O) of ``params``, checked to chain (``ValueError``
    naming ``params`` or ``params[k]`` at the first mismatch)."""
    if not isinstance(params, Sequence) or len(params) == 0:
        raise ValueError("params: expected a non-empty list of (W, b) pairs")
    sizes: list[int] = []
    for index, layer in enumerate(params):
        if not isinstance(layer, Sequence) or len(layer) != 2:
            raise ValueError(f"params[{index}]: expected a pair (W, b), got {type(layer).__name__}")
        weight_shape, bias_shape = _shape(layer[0]), _shape(layer[1])
        if len(weight_shape) != 2:
            raise ValueError(
                f"params[{index}]: W must be 2-D (fan_out, fan_in), got shape {weight_shape}"
            )
        fan_out, fan_in = weight_shape
        if bias_shape != (fan_out,):
            raise ValueError(
                f"params[{index}]: b must have shape ({fan_out},) to match W {weight_shape}, "
                f"got {bias_shape}"
            )
        if sizes and fan_in != sizes[-1]:
            raise ValueError(
                f"params[{index}]: W has fan_in {fan_in} but the previous layer has "
                f"{sizes[-1]} outputs"
            )
        if not sizes:
            sizes.append(fan_in)
        sizes.append(fan_out)
    return tuple(sizes)


def _as_columns(x: Array, y: Array, input_size: int, output_size: int):
    """Checks x and y and returns them as columns (h_0: I × N, y: O × N)."""
    x_shape, y_shape = _shape(x), _shape(y)
    if len(x_shape) not in (1, 2) or x_shape[-1] != input_size:
        raise ValueError(
            f"x: expected shape (N, {input_size}) or ({input_size},) to match W_1, got {x_shape}"
        )
    expected_y = (output_size,) if len(x_shape) == 1 else (x_shape[0], output_size)
    if y_shape != expected_y:
        raise ValueError(f"y: expected shape {expected_y} to match x and W_(K+1), got {y_shape}")
    x, y = jnp.asarray(x), jnp.asarray(y)
    if len(x_shape) == 1:
        return x[:, None], y[:, None]
    return x.T, y.T


# --- forward and backward --------------------------------------------------------------------


class ForwardPass(NamedTuple):
    """The intermediates the backward pass reads, in column layout.

    Attributes:
        hidden: (h_0, ..., h_K); h_0 = x is I × N, h_k is L × N.
        pre_activations: (a_1, ..., a_K), each L × N.
        output: ŷ, O × N.
        error: e = ŷ − y, O × N.
        loss: J, the mean of e² over its N·O elements.
    """

    hidden: tuple[Array, ...]
    pre_activations: tuple[Array, ...]
    output: Array
    error: Array
    loss: Array


def mlp_forward(
    params: Params,
    x: Array,
    y: Array,
    activation: str | tuple[ActivationFn, ActivationFn] = "relu",
) -> ForwardPass:
    """The forward pass, keeping every intermediate the backward pass needs, as columns
    (h_k is L × N, one column for a single example); arguments as :func:`mlp_value_and_grad`."""
    psi, _ = resolve_activation(activation)
    sizes = check_params(params)
    h, targets = _as_columns(x, y, sizes[0], sizes[-1])
    *hidden_layers, (output_weight, output_bias) = params
    hidden, pre_activations = [h], []
    for weight, bias in hidden_layers:
        a = weight @ h + bias[:, None]  # a_k = W_k h_{k-1} + b_k 1^T
        h = psi(a)  # h_k = ψ(a_k)
        pre_activations.append(a)
        hidden.append(h)
    y_hat = output_weight @ h + output_bias[:, None]
    e = y_hat - targets
    return ForwardPass(tuple(hidden), tuple(pre_activations), y_hat, e, jnp.mean(e**2))


def mlp_backward(
    params: Params,
    cache: ForwardPass,
    activation: str | tuple[ActivationFn, ActivationFn] = "relu",
) -> list[tuple[Array, Array]]:
    """``[(∇_{W_k} J, ∇_{b_k} J) for k = 1..K+1]`` from the intermediates of :func:`mlp_forward`."""
    _, psi_prime = resolve_activation(activation)
    check_params(params)
    # Goodfellow et al. 2016, Algorithm 6.4, on columns
    num_outputs, num_examples = cache.error.shape
    delta = (2.0 / (num_outputs * num_examples)) * cache.error  # δ_{K+1} = ∂J/∂ŷ
    grads = []
    for k in range(len(params) - 1, -1, -1):  # layer k + 1 in the 1-based notation above
        grads.append((delta @ cache.hidden[k].T, jnp.sum(delta, axis=1)))
        if k == 0:
            break  # ∂J/∂x is not a parameter gradient: skip W_1^T δ_1
        delta = (params[k][0].T @ delta) * psi_prime(cache.pre_activations[k - 1])
    return grads[::-1]


def mlp_value_and_grad(
    params: Params,
    x: Array,
    y: Array,
    activation: str | tuple[ActivationFn, ActivationFn] = "relu",
) -> tuple[Array, list[tuple[Array, Array]]]:
    """The MSE loss of an MLP and its gradient, by the hand-derived backward pass.

    Args:
        params: ``[(W_1, b_1), ..., (W_{K+1}, b_{K+1})]`` with W_k of shape (fan_out, fan_in)
            and b_k of shape (fan_out,), as in the math.
        x: inputs, (N, I), or one example of shape (I,).
        y: targets, (N, O), or (O,) for one example.
        activation: ψ for every hidden layer, a name in ``relu``, ``tanh``, ``sigmoid``,
            ``softplus``, or a pair ``(psi, psi_prime)`` of elementwise functions.

    Returns:
        ``(loss, grads)``: loss is the mean of (ŷ − y)² over the N·O elements; grads has
        the structure of ``params``. A malformed argument raises a ``ValueError`` naming it.

    Example:
        >>> import jax.numpy as jnp
        >>> params = [(jnp.ones((3, 2)), jnp.zeros(3)), (jnp.ones((1, 3)), jnp.zeros(1))]
        >>> loss, grads = mlp_value_and_grad(params, jnp.ones((4, 2)), jnp.zeros((4, 1)), "relu")
        >>> float(loss)
        36.0
    """
    cache = mlp_forward(params, x, y, activation)
    return cache.loss, mlp_backward(params, cache, activation)


def mlp_loss(
    params: Params,
    x: Array,
    y: Array,
    activation: str | tuple[ActivationFn, ActivationFn] = "relu",
) -> Array:
    """The same loss as :func:`mlp_value_and_grad`, as a plain forward for ``jax.grad``.

    Rows are examples here (``h @ W.T``), as most JAX code writes it, so that
    ``jax.value_and_grad(mlp_loss)`` is a reference that shares no code with the
    hand-derived pass beyond ψ.
    """
    psi, _ = resolve_activation(activation)
    check_params(params)
    h = x
    for weight, bias in params[:-1]:
        h = psi(h @ weight.T + bias)
    output_weight, output_bias = params[-1]
    return jnp.mean((h @ output_weight.T + output_bias - y) ** 2)


def sample_params(key: Array, layer_sizes: Sequence[int], dtype=jnp.float32) -> list:
    """Random ``[(W_k, b_k)]`` for layer sizes (I, L_1, ..., L_K, O).

    W_k ~ N(0, 1 / fan_in) keeps the pre-activations of order one at any width, and the
    biases are drawn too, so that no gradient term is trivially zero in the tests.
    """
    params = []
    for index, (fan_in, fan_out) in enumerate(itertools.pairwise(layer_sizes)):
        key_weight, key_bias = jax.random.split(jax.random.fold_in(key, index))
        weight_std = 1.0 / math.sqrt(fan_in)
        weight = weight_std * jax.random.normal(key_weight, (fan_out, fan_in), dtype)
        bias = 0.1 * jax.random.normal(key_bias, (fan_out,), dtype)
        params.append((weight, bias))
    return params


def layer_sizes(input_size: int, output_size: int, num_hidden: int, width: int) -> tuple:
    """(I, L, ..., L, O) with K = ``num_hidden`` copies of L."""
    return (input_size, *([width] * num_hidden), output_size)


# --- operation counts ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Operation:
    """One kind of operation in one pass (``"forward"`` or ``"backward"``), carried out
    ``times_per_layer · K + times_constant`` times, each costing the product of the ``size``
    dimensions: multiply–adds for a ``"matrix product"``, scalar operations for an
    elementwise kind (``"ψ"``, ``"ψ'"``, ``"addition"``, ``"Hadamard product"``, ...).
    """

    stage: str
    equation: str
    kind: str
    operands: str
    times_per_layer: int
    times_constant: int
    size: tuple[str, ...]


MATRIX_PRODUCT = "matrix product"

# stage | equation | kind | operands | a | b | size, for times = a K + b. Sizes are written in
# the order I, O, L, N so that O(L·N·L) and O(L·L·N) group together.
_OPERATION_TABLE = """
forward  | W_1 h_0                       | matrix product   | (L×I)(I×N) | 0 |  1 | I L N
forward  | W_k h_{k-1}, k=2..K           | matrix product   | (L×L)(L×N) | 1 | -1 | L L N
forward  | W_{K+1} h_K                   | matrix product   | (O×L)(L×N) | 0 |  1 | O L N
forward  | a_k = … + b_k 1^T             | addition         | L×N        | 1 |  0 | L N
forward  | h_k = ψ(a_k)                  | ψ                | L×N        | 1 |  0 | L N
forward  | ŷ = … + b_{K+1} 1^T           | addition         | O×N        | 0 |  1 | O N
forward  | e = ŷ − y                     | addition         | O×N        | 0 |  1 | O N
forward  | e ⊙ e                         | Hadamard product | O×N        | 0 |  1 | O N
forward  | J = Σ e²/(NO)                 | addition         | O×N        | 0 |  1 | O N
backward | δ_{K+1} = 2e/(NO)             | scaling          | O×N        | 0 |  1 | O N
backward | ∇W_{K+1} = δ_{K+1} h_K^T      | matrix product   | (O×N)(N×L) | 0 |  1 | O L N
backward | ∇W_k = δ_k h_{k-1}^T, k=2..K  | matrix product   | (L×N)(N×L) | 1 | -1 | L L N
backward | ∇W_1 = δ_1 h_0^T              | matrix product   | (L×N)(N×I) | 0 |  1 | I L N
backward | W_{K+1}^T δ_{K+1}             | matrix product   | (L×O)(O×N) | 0 |  1 | O L N
backward | W_{k+1}^T δ_{k+1}, k=1..K−1   | matrix product   | (L×L)(L×N) | 1 | -1 | L L N
backward | ψ'(a_k)                       | ψ'               | L×N        | 1 |  0 | L N
backward | δ_k = (…) ⊙ ψ'(a_k)           | Hadamard product | L×N        | 1 |  0 | L N
backward | ∇b_k = δ_k 1                  | addition         | L×N        | 1 |  0 | L N
backward | ∇b_{K+1} = δ_{K+1} 1          | addition         | O×N        | 0 |  1 | O N
"""
OPERATIONS: tuple[Operation, ...] = tuple(
    Operation(stage, equation, kind, operands, int(per_layer), int(constant), tuple(size.split()))
    for stage, equation, kind, operands, per_layer, constant, size in (
        (cell.strip() for cell in line.split("|")) for line in _OPERATION_TABLE.strip().splitlines()
    )
)


def format_times(per_layer: int, constant: int, num_hidden: int | None = None) -> str:
    """``a K + b`` as a count: a number given K, else ``"K"``, ``"2(K−1)"``, ``"(K+1)"``."""
    if num_hidden is not None:
        return str(per_layer * num_hidden + constant)
    if per_layer == 0:
        return str(constant)
    if constant == 0:
        return "K" if per_layer == 1 else f"{per_layer}K"
    sign = "+" if constant > 0 else "−"
    if per_layer > 1 and constant % per_layer == 0:  # 2(K−1) reads better than (2K−2)
        return f"{per_layer}(K{sign}{abs(constant) // per_layer})"
    k_term = "K" if per_layer == 1 else f"{per_layer}K"
    return f"({k_term}{sign}{abs(constant)})"


def operation_summary(stage: str, num_hidden: int | None = None) -> list[str]:
    """Each kind of operation of one pass in the assignment's style, e.g. ``"2·O(L·L·N)"``.

    Operations of the same kind and size are added up, in the order the kinds first appear,
    as lines ``"<times>·O(<size>) <kind>"``. With ``num_hidden`` (K) the counts are numbers;
    without, they are written in K (``"(2K−2)·O(L·L·N)"``). Kinds carried out zero times (the
    L × L products when K = 1) are left out. ``stage`` is ``"forward"`` or ``"backward"``.
    """
    if stage not in ("forward", "backward"):
        raise ValueError(f"stage: expected 'forward' or 'backward', got {stage!r}")
    totals: dict[tuple[str, tuple[str, ...]], list[int]] = {}
    for op in OPERATIONS:
        if op.stage == stage:
            entry = totals.setdefault((op.kind, op.size), [0, 0])
            entry[0] += op.times_per_layer
            entry[1] += op.times_constant
    lines = []
    for (kind, size), (per_layer, constant) in totals.items():
        if num_hidden is not None and per_layer * num_hidden + constant == 0:
            continue
        times = format_times(per_layer, constant, num_hidden)
        lines.append(f"{times}·O({'·'.join(size)}) {kind}")
    return lines


def count_operations(
    input_size: int, output_size: int, num_hidden: int, width: int, batch_size: int = 1
) -> dict[str, dict[str, int]]:
    """``{"forward": {kind: count}, "backward": {kind: count}}`` from :data:`OPERATIONS`.

    Matrix products are counted in multiply–adds, elementwise kinds in scalar operations.
    """
    _check_sizes(input_size, output_size, num_hidden, width, batch_size)
    dims = {"I": input_size, "O": output_size, "L": width, "N": batch_size}
    counts: dict[str, dict[str, int]] = {"forward": {}, "backward": {}}
    for op in OPERATIONS:
        stage = counts[op.stage]
        times = op.times_per_layer * num_hidden + op.times_constant
        stage[op.kind] = stage.get(op.kind, 0) + times * math.prod(dims[d] for d in op.size)
    return counts


_SIZE_NAMES = ("input_size", "output_size", "num_hidden", "width", "batch_size")


def _check_sizes(*sizes) -> None:
    for name, value in zip(_SIZE_NAMES, sizes):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}: expected an integer ≥ 1, got {value!r}")


def forward_multiply_adds(
    input_size: int, output_size: int, num_hidden: int, width: int, batch_size: int = 1
) -> int:
    """Multiply–adds of the forward pass: N (L I + (K − 1) L² + O L).

    Example:
        >>> forward_multiply_adds(8, 8, 2, 50, batch_size=100)
        330000
    """
    _check_sizes(input_size, output_size, num_hidden, width, batch_size)
    return batch_size * (width * input_size + (num_hidden - 1) * width**2 + output_size * width)


def backward_multiply_adds(
    input_size: int, output_size: int, num_hidden: int, width: int, batch_size: int = 1
) -> int:
    """Multiply–adds of the backward pass: N (L I + 2 (K − 1) L² + 2 O L).

    The weight gradients cost what the forward products cost; propagating δ back through
    W_{K+1}, ..., W_2 adds (K − 1) L² + O L per example. Nothing is propagated into x.

    Example:
        >>> backward_multiply_adds(8, 8, 2, 50, batch_size=100)
        620000
    """
    _check_sizes(input_size, output_size, num_hidden, width, batch_size)
    return batch_size * (
        width * input_size + 2 * (num_hidden - 1) * width**2 + 2 * output_size * width
    )


# --- counting from the program itself ---------------------------------------------------------


def _sub_jaxprs(value: Any):
    """The jaxprs inside one equation parameter (pjit, custom_jvp, cond branches, ...)."""
    if isinstance(value, jax_core.ClosedJaxpr):
        yield value.jaxpr
    elif isinstance(value, jax_core.Jaxpr):
        yield value
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _sub_jaxprs(item)


def jaxpr_multiply_adds(jaxpr) -> int:
    """Multiply–adds of every ``dot_general`` in a jaxpr, nested jaxprs included.

    A ``scan`` body counts ``length`` times; any other nested jaxpr (pjit, custom_jvp and
    custom_vjp calls, remat, each branch of a cond, a while body) counts once, since a
    cond runs one branch and a while loop's trip count is not known from the program.
    """
    if isinstance(jaxpr, jax_core.ClosedJaxpr):
        jaxpr = jaxpr.jaxpr
    total = 0
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "dot_general":  # output elements × contracted length
            (lhs_contract, _), _ = eqn.params["dimension_numbers"]
            contracted = math.prod(eqn.invars[0].aval.shape[d] for d in lhs_contract)
            total += math.prod(eqn.outvars[0].aval.shape) * contracted
        repeats = eqn.params.get("length", 1) if eqn.primitive.name == "scan" else 1
        for value in eqn.params.values():
            for sub in _sub_jaxprs(value):
                total += repeats * jaxpr_multiply_adds(sub)
    return total


def count_multiply_adds(fn: Callable, *args, **kwargs) -> int:
    """Multiply–adds of every ``dot_general`` that ``fn(*args, **kwargs)`` traces to.

    Example:
        >>> import jax.numpy as jnp
        >>> count_multiply_adds(jnp.matmul, jnp.ones((3, 4)), jnp.ones((4, 5)))
        60
    """
    return jaxpr_multiply_adds(jax.make_jaxpr(fn)(*args, **kwargs))


def xla_cost(fn: Callable, *args) -> dict[str, float]:
    """XLA's own ``{"flops": ..., "transcendentals": ...}`` of the compiled ``jax.jit(fn)(*args)``
    (0 where the backend reports nothing).

    XLA counts a multiply–add as 2 flops and adds one flop per elementwise arithmetic
    operation (additions, comparisons, selects); exp, log and tanh go to
    ``transcendentals`` instead.
    """
    analysis = jax.jit(fn).lower(*args).compile().cost_analysis()
    if isinstance(analysis, list | tuple):  # older jax returned one dict per device
        analysis = analysis[0] if analysis else {}
    analysis = analysis or {}
    return {
        "flops": float(analysis.get("flops", 0.0)),
        "transcendentals": float(analysis.get("transcendentals", 0.0)),
    }


# --- one net, counted three ways and checked against jax.grad -------------------------------


def count_network(
    input_size: int,
    output_size: int,
    num_hidden: int,
    width: int,
    batch_size: int,
    activation: str = "relu",
) -> dict[str, dict[str, int]]:
    """Closed-form, jaxpr and XLA counts of the hand-derived passes of one net at one N.

    Counting reads shapes only, so params and data are abstract (``ShapeDtypeStruct``):
    nothing is run, only traced and compiled.

    Returns:
        ``{"closed_form": ..., "jaxpr": ..., "xla": ...}``: multiply–adds and elementwise
        operations of each pass in closed form (:func:`forward_multiply_adds`,
        :func:`count_operations`); the multiply–adds of the traced forward, backward and
        ``jax.value_and_grad`` programs (:func:`count_multiply_adds`); XLA's flops and
        transcendentals of the compiled programs (:func:`xla_cost`), as integers.
    """
    shape = (input_size, output_size, num_hidden, width, batch_size)
    _check_sizes(*shape)
    resolve_activation(activation)
    params = [
        (
            jax.ShapeDtypeStruct((fan_out, fan_in), jnp.float32),
            jax.ShapeDtypeStruct((fan_out,), jnp.float32),
        )
        for fan_in, fan_out in itertools.pairwise(layer_sizes(*shape[:4]))
    ]
    x = jax.ShapeDtypeStruct((batch_size, input_size), jnp.float32)
    y = jax.ShapeDtypeStruct((batch_size, output_size), jnp.float32)
    cache = jax.eval_shape(lambda p, x, y: mlp_forward(p, x, y, activation), params, x, y)
    # each counted program with its (abstract) arguments
    forward = (lambda p, x, y: mlp_forward(p, x, y, activation).loss, params, x, y)
    backward = (lambda p, cache: mlp_backward(p, cache, activation), params, cache)
    hand_total = (lambda p, x, y: mlp_value_and_grad(p, x, y, activation), params, x, y)
    jax_total = (lambda p, x, y: jax.value_and_grad(mlp_loss)(p, x, y, activation), params, x, y)
    elementwise = {
        stage: sum(v for k, v in kinds.items() if k != MATRIX_PRODUCT)
        for stage, kinds in count_operations(*shape).items()
    }
    closed_form = {
        "forward_multiply_adds": forward_multiply_adds(*shape),
        "backward_multiply_adds": backward_multiply_adds(*shape),
        "forward_elementwise": elementwise["forward"],
        "backward_elementwise": elementwise["backward"],
    }
    jaxpr = {
        "forward_multiply_adds": count_multiply_adds(*forward),
        "backward_multiply_adds": count_multiply_adds(*backward),
        "jax_value_and_grad_multiply_adds": count_multiply_adds(*jax_total),
    }
    forward_cost, backward_cost = xla_cost(*forward), xla_cost(*backward)
    # XLA reports float counts of whole operations; integers print exactly in the tables
    xla = {
        "forward_flops": round(forward_cost["flops"]),
        "backward_flops": round(backward_cost["flops"]),
        "forward_transcendentals": round(forward_cost["transcendentals"]),
        "backward_transcendentals": round(backward_cost["transcendentals"]),
        "value_and_grad_flops": round(xla_cost(*hand_total)["flops"]),
        "jax_value_and_grad_flops": round(xla_cost(*jax_total)["flops"]),
    }
    return {"closed_form": closed_form, "jaxpr": jaxpr, "xla": xla}


@functools.partial(jax.jit, static_argnames=("activation", "matmul_precision"))
def _relative_grad_errors(params, x, y, activation, matmul_precision):
    def errors(params, x, y):
        _, hand = mlp_value_and_grad(params, x, y, activation)
        reference = jax.grad(mlp_loss)(params, x, y, activation)
        return jnp.stack(
            [
                jnp.max(jnp.abs(g - r)) / jnp.max(jnp.abs(r))
                for g, r in zip(jax.tree.leaves(hand), jax.tree.leaves(reference))
            ]
        )

    return precision.pinned(errors, matmul_precision)(params, x, y)


def max_relative_grad_error(
    key: jax.Array,
    sizes: Sequence[int],
    batch_size: int,
    activation: str = "relu",
    *,
    matmul_precision: str = precision.DEFAULT,
) -> float:
    """max over layers of max|g_hand − g_jax| / max|g_jax|, in float64, at a random point.

    Params (:func:`sample_params`) for layer ``sizes`` (I, L_1, ..., L_K, O), and N =
    ``batch_size`` standard normal ``x`` and ``y``, all drawn in float64 from ``key``; the
    hand-derived gradient (:func:`mlp_value_and_grad`) against ``jax.grad`` of the plain
    forward (:func:`mlp_loss`), compiled once per shape. Float64 matmuls are exact at any
    ``matmul_precision``.
    """
    sizes = tuple(sizes)
    if len(sizes) < 3 or not all(isinstance(v, int) and v >= 1 for v in sizes):
        raise ValueError(f"sizes: expected (I, L_1, ..., L_K, O) of integers ≥ 1, got {sizes!r}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size: expected an integer ≥ 1, got {batch_size!r}")
    resolve_activation(activation)
    precision.check_precision(matmul_precision)
    with jax.enable_x64(True):
        key_params, key_x, key_y = jax.random.split(key, 3)
        params = sample_params(key_params, sizes, jnp.float64)
        x = jax.random.normal(key_x, (batch_size, sizes[0]), jnp.float64)
        y = jax.random.normal(key_y, (batch_size, sizes[-1]), jnp.float64)
        return float(jnp.max(_relative_grad_errors(params, x, y, activation, matmul_precision)))
