"""The hand-derived MLP backprop against jax.grad, and its counts against the program."""

from __future__ import annotations

import itertools
import json
import math
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn import backprop
from jaxnn.formatting import fmt
from jaxnn.studies import mlp_backprop as study

ACTIVATION_NAMES = ("relu", "tanh", "sigmoid", "softplus")

# The reference forward is written here, in row layout and with jax.nn's ψ, so that the
# comparison shares nothing with the code under test.
REFERENCE_PSI = {
    "relu": jax.nn.relu,
    "tanh": jnp.tanh,
    "sigmoid": jax.nn.sigmoid,
    "softplus": jax.nn.softplus,
}

# float64 rounding is ~1e-16 per operation; 1e-10 leaves room for sums of up to 64 terms
# over 7 layers. Entries that cancel to near zero get an absolute floor relative to the
# largest entry of the same array, for the same reason.
RTOL = 1e-10
ATOL_RELATIVE_TO_MAX = 1e-12


def reference_loss(params, x, y, psi):
    h = x
    for weight, bias in params[:-1]:
        h = psi(h @ weight.T + bias)
    weight, bias = params[-1]
    return jnp.mean((h @ weight.T + bias - y) ** 2)


# (I, O, K, L, N) at the ends of the ranges: all ones, all largest, deep and narrow, wide.
EDGE_SHAPES = [(1, 1, 1, 1, 1), (64, 64, 6, 64, 32), (3, 2, 6, 1, 1), (1, 5, 1, 64, 32)]


def draw_shape(case: int) -> tuple[int, int, int, int, int]:
    """(I, O, K, L, N) for one case; the first cases are the edges of the ranges."""
    if case < len(EDGE_SHAPES):
        return EDGE_SHAPES[case]
    # NumPy, not jax.random: each eager jax draw compiles a program, and the shapes are
    # not what is under test
    rng = np.random.default_rng((20240404, case))
    input_size, output_size = (int(v) for v in rng.integers(1, 65, size=2))
    num_hidden = int(rng.integers(1, 7))
    width, batch = int(rng.integers(1, 65)), int(rng.integers(1, 33))
    return input_size, output_size, num_hidden, width, batch


def draw_problem(case: int, shape, dtype=np.float64):
    """Params (W ~ N(0, 1/fan_in), b ~ N(0, 0.01)), x and y ~ N(0, 1) for one case.

    Host (NumPy) arrays: an eager jax draw, or an eager op on a jax array, compiles a
    program per shape, which costs more than the whole comparison; the compiled programs
    take NumPy arguments as they are.
    """
    input_size, output_size, num_hidden, width, batch = shape
    rng = np.random.default_rng((7, case))

    def take(*array_shape):
        return rng.standard_normal(array_shape).astype(dtype)

    sizes = backprop.layer_sizes(input_size, output_size, num_hidden, width)
    params = [
        (take(fan_out, fan_in) / dtype(math.sqrt(fan_in)), dtype(0.1) * take(fan_out))
        for fan_in, fan_out in itertools.pairwise(sizes)
    ]
    return params, take(batch, input_size), take(batch, output_size)


def assert_grads_close(actual, expected):
    assert jax.tree.structure(actual) == jax.tree.structure(expected)
    for got, want in zip(jax.tree.leaves(actual), jax.tree.leaves(expected)):
        # on the host: eager jnp ops here would compile per leaf shape
        got, want = np.asarray(got), np.asarray(want)
        assert got.shape == want.shape
        assert got.dtype == np.float64
        scale = float(np.max(np.abs(want)))
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL_RELATIVE_TO_MAX * scale)


def as_pairs(grads):
    return [tuple(layer) for layer in grads]


def compile_cheaply(fn, *args):
    """``jax.jit(fn)`` compiled for ``args`` with XLA's backend optimizations off.

    Every case has its own shapes, so the cost of these tests is compiling, not running:
    one jitted program per case, compiled at optimization level 0, is about twice as fast
    to build as the default and far faster than running op by op, whose every primitive
    is compiled per shape. Optimization does not change what is computed.
    """
    options = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True}
    return jax.jit(fn).lower(*args).compile(options)


# Every ψ at the smallest and the largest shape, then one ψ per shape in turn, three shapes
# per ψ (sigmoid's first is deep and narrow, softplus's first is wide): 20 compiles, each
# case its own program, so more random shapes cost compiling, not coverage of a branch.
CASES = [(case, name) for case in (0, 1) for name in ACTIVATION_NAMES] + [
    (case, ACTIVATION_NAMES[case % 4]) for case in range(2, 14)
]


@pytest.mark.parametrize("case, activation", CASES)
def test_grads_match_jax_grad_in_float64(x64, case, activation):
    shape = draw_shape(case)
    params, x, y = draw_problem(case, shape)

    def hand_and_reference(params, x, y):
        return (
            backprop.mlp_value_and_grad(params, x, y, activation),
            jax.value_and_grad(reference_loss)(params, x, y, REFERENCE_PSI[activation]),
        )

    (loss, grads), (reference_value, reference_grads) = compile_cheaply(
        hand_and_reference, params, x, y
    )(params, x, y)
    np.testing.assert_allclose(loss, reference_value, rtol=RTOL)
    assert_grads_close(as_pairs(grads), as_pairs(reference_grads))


def hand_and_reference_grads(params, x, y, activation, reference_psi):
    def both(params, x, y):
        return (
            backprop.mlp_value_and_grad(params, x, y, activation)[1],
            jax.grad(reference_loss)(params, x, y, reference_psi),
        )

    return compile_cheaply(both, params, x, y)(params, x, y)


def test_supplied_activation_pair_matches_jax_grad(x64):
    params, x, y = draw_problem(0, (5, 3, 3, 7, 4))
    grads, reference = hand_and_reference_grads(params, x, y, (jnp.sin, jnp.cos), jnp.sin)
    assert_grads_close(as_pairs(grads), as_pairs(reference))


def test_wrong_derivative_is_caught(x64):
    # The comparison must be able to fail: ψ' = 2 cos is not the derivative of sin.
    params, x, y = draw_problem(0, (5, 3, 3, 7, 4))
    wrong = (jnp.sin, lambda a: 2 * jnp.cos(a))
    grads, reference = hand_and_reference_grads(params, x, y, wrong, jnp.sin)
    with pytest.raises(AssertionError):
        assert_grads_close(as_pairs(grads), as_pairs(reference))


def test_single_example_matches_jax_grad_and_batch_of_one(x64):
    params, x, y = draw_problem(2, (6, 4, 3, 9, 1))

    def single_batch_and_reference(params, x, y):
        return (
            backprop.mlp_value_and_grad(params, x[0], y[0], "tanh"),
            backprop.mlp_value_and_grad(params, x, y, "tanh"),
            jax.value_and_grad(reference_loss)(params, x[0], y[0], jnp.tanh),
        )

    single, batch, reference = compile_cheaply(single_batch_and_reference, params, x, y)(
        params, x, y
    )
    for (loss, grads), (want_loss, want_grads) in ((single, reference), (single, batch)):
        np.testing.assert_allclose(loss, want_loss, rtol=RTOL)
        assert_grads_close(as_pairs(grads), as_pairs(want_grads))


def test_library_plain_loss_matches_reference(x64):
    params, x, y = draw_problem(3, (4, 2, 2, 5, 6))

    def library_and_reference(params, x, y):
        return (
            backprop.mlp_loss(params, x, y, "softplus"),
            reference_loss(params, x, y, jax.nn.softplus),
        )

    loss, reference = compile_cheaply(library_and_reference, params, x, y)(params, x, y)
    np.testing.assert_allclose(loss, reference, rtol=RTOL)


def abstract_problem(input_size, output_size, num_hidden, width, batch):
    sizes = backprop.layer_sizes(input_size, output_size, num_hidden, width)
    params = [
        (
            jax.ShapeDtypeStruct((fan_out, fan_in), jnp.float32),
            jax.ShapeDtypeStruct((fan_out,), jnp.float32),
        )
        for fan_in, fan_out in itertools.pairwise(sizes)
    ]
    x = jax.ShapeDtypeStruct((batch, input_size), jnp.float32)
    y = jax.ShapeDtypeStruct((batch, output_size), jnp.float32)
    return params, x, y


COUNT_SHAPES = [
    (8, 8, 2, 50, 100),
    (8, 8, 5, 50, 1),
    (3, 7, 1, 11, 5),
    (1, 1, 1, 1, 1),
    (13, 2, 4, 9, 17),
]


@pytest.mark.parametrize("shape", COUNT_SHAPES)
@pytest.mark.parametrize("activation", ["relu", "softplus"])
def test_closed_form_multiply_adds_equal_jaxpr_count(shape, activation):
    params, x, y = abstract_problem(*shape)
    cache = jax.eval_shape(lambda p, x, y: backprop.mlp_forward(p, x, y, activation), params, x, y)
    forward = backprop.count_multiply_adds(
        lambda p, x, y: backprop.mlp_forward(p, x, y, activation).loss, params, x, y
    )
    backward = backprop.count_multiply_adds(
        lambda p, c: backprop.mlp_backward(p, c, activation), params, cache
    )
    total = backprop.count_multiply_adds(
        lambda p, x, y: backprop.mlp_value_and_grad(p, x, y, activation), params, x, y
    )
    # jax.grad of the plain forward: an independent program doing the same products.
    autodiff_total = backprop.count_multiply_adds(
        lambda p, x, y: jax.value_and_grad(reference_loss)(p, x, y, REFERENCE_PSI[activation]),
        params,
        x,
        y,
    )
    assert forward == backprop.forward_multiply_adds(*shape)
    assert backward == backprop.backward_multiply_adds(*shape)
    assert total == autodiff_total == forward + backward


@pytest.mark.parametrize("shape", COUNT_SHAPES)
def test_operation_table_sums_to_closed_form(shape):
    counts = backprop.count_operations(*shape)
    assert counts["forward"][backprop.MATRIX_PRODUCT] == backprop.forward_multiply_adds(*shape)
    assert counts["backward"][backprop.MATRIX_PRODUCT] == backprop.backward_multiply_adds(*shape)


def test_closed_form_values_by_hand():
    # 8→50→50→8, N = 100: forward 100·(400 + 2500 + 400), backward 100·(400 + 5000 + 800).
    assert backprop.forward_multiply_adds(8, 8, 2, 50, 100) == 330_000
    assert backprop.backward_multiply_adds(8, 8, 2, 50, 100) == 620_000


def test_operation_summary_in_assignment_style():
    assert "(K−1)·O(L·L·N) matrix product" in backprop.operation_summary("forward")
    assert "2(K−1)·O(L·L·N) matrix product" in backprop.operation_summary("backward")
    assert "8·O(L·L·N) matrix product" in backprop.operation_summary("backward", 5)
    assert "2·O(O·L·N) matrix product" in backprop.operation_summary("backward", 2)
    assert not any("L·L·N" in line for line in backprop.operation_summary("forward", 1))


def test_jaxpr_count_walks_nested_jaxprs():
    @jax.custom_jvp
    def inner(a, b):
        return a @ b

    inner.defjvp(lambda primals, tangents: (inner(*primals), tangents[0] @ primals[1]))

    def fn(a, b, c):
        nested = jax.jit(lambda a, b: inner(a, b))(a, b)  # pjit around custom_jvp: 2·3·4
        carry, _ = jax.lax.scan(lambda h, _: (c @ h, None), b, length=3)  # 3 × 4·4·5
        return nested, carry

    count = backprop.count_multiply_adds(fn, np.ones((2, 4)), np.ones((4, 5)), np.ones((4, 4)))
    assert count == 2 * 4 * 5 + 3 * 4 * 4 * 5


def test_xla_cost_counts_a_multiply_add_as_two_flops():
    cost = backprop.xla_cost(
        jnp.matmul, np.ones((16, 32), np.float32), np.ones((32, 8), np.float32)
    )
    assert cost["flops"] == 2 * 16 * 32 * 8


GOOD = draw_problem(0, (3, 2, 2, 4, 5), np.float32)


@pytest.mark.parametrize(
    "mutate, name",
    [
        (lambda p, x, y, a: (p, x, y, "gelu"), "activation"),
        (lambda p, x, y, a: (p, x, y, (jnp.sin,)), "activation"),
        (lambda p, x, y, a: (p, x[:, :2], y, a), "x"),
        (lambda p, x, y, a: (p, x[None], y, a), "x"),
        (lambda p, x, y, a: (p, x, y[:, :1], a), "y"),
        (lambda p, x, y, a: (p, x, y[:4], a), "y"),
        (lambda p, x, y, a: (p, x[0], y, a), "y"),
        (lambda p, x, y, a: ([], x, y, a), "params"),
        (lambda p, x, y, a: ([(p[0][0], p[0][1][:2]), *p[1:]], x, y, a), "params[0]"),
        (lambda p, x, y, a: ([p[0], (p[1][0][:, :3], p[1][1]), p[2]], x, y, a), "params[1]"),
        (lambda p, x, y, a: ([p[0], p[1], (p[2][0],)], x, y, a), "params[2]"),
    ],
)
def test_bad_input_raises_value_error_naming_it(mutate, name):
    params, x, y = GOOD
    args = mutate(params, x, y, "relu")
    with pytest.raises(ValueError, match=f"^{re.escape(name)}:"):
        backprop.mlp_value_and_grad(*args)


def test_bad_sizes_in_counts_raise_naming_them():
    with pytest.raises(ValueError, match="^width:"):
        backprop.forward_multiply_adds(8, 8, 2, 0)
    with pytest.raises(ValueError, match="^num_hidden:"):
        backprop.count_operations(8, 8, 0, 5)
    with pytest.raises(ValueError, match="^stage:"):
        backprop.operation_summary("sideways")


def test_count_network_counts_agree_and_are_integers():
    counts = backprop.count_network(8, 8, 2, 50, 100)
    closed, jaxpr, xla = counts["closed_form"], counts["jaxpr"], counts["xla"]
    assert closed["forward_multiply_adds"] == jaxpr["forward_multiply_adds"] == 330_000
    assert closed["backward_multiply_adds"] == jaxpr["backward_multiply_adds"] == 620_000
    assert jaxpr["jax_value_and_grad_multiply_adds"] == 950_000
    assert all(isinstance(v, int) for part in counts.values() for v in part.values())
    assert xla["forward_flops"] >= 2 * closed["forward_multiply_adds"]


# The study test below checks these sizes too, so it reuses the float64 draws and the
# gradient-check program compiled here.
def test_max_relative_grad_error_is_at_float64_rounding():
    error = backprop.max_relative_grad_error(jax.random.key(0), (8, 50, 50, 8), 100, "tanh")
    assert 0.0 <= error < RTOL
    with pytest.raises(ValueError, match="^sizes:"):
        backprop.max_relative_grad_error(jax.random.key(0), (8, 8), 1)
    with pytest.raises(ValueError, match="^activation:"):
        backprop.max_relative_grad_error(jax.random.key(0), (8, 5, 8), 1, "gelu")


def test_grad_check_is_pinned_to_the_matmul_precision(x64):
    params, x, y = draw_problem(0, (3, 2, 2, 4, 5))
    text = backprop._relative_grad_errors.lower(
        params, x, y, activation="relu", matmul_precision="highest"
    ).as_text()
    assert "highest" in text.lower()


def test_config_rejects_bad_fields():
    with pytest.raises(ValueError, match="^widths:"):
        study.Config(widths=())
    with pytest.raises(ValueError, match="^activation:"):
        study.Config(activation="gelu")
    with pytest.raises(ValueError, match="^deep_width:"):
        study.Config(deep_width=0)
    with pytest.raises(ValueError, match="^batch_sizes:"):
        study.Config(batch_sizes=(study.MAX_BATCH + 1,))
    with pytest.raises(ValueError, match="^matmul_precision:"):
        study.Config(matmul_precision="fast")
    with pytest.raises(ValueError, match="^seed:"):
        study.Config(seed=-1)
    assert len(study.nets(study.FULL)) > len(study.nets(study.Config()))


def all_numbers(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from all_numbers(item)
    elif isinstance(value, list):
        for item in value:
            yield from all_numbers(item)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield value


@pytest.mark.slow  # the study's --quick run, end to end
def test_experiment_quick_smoke(quick_outputs):
    results, tmp_path, _ = quick_outputs("mlp_backprop")
    for name in ("mlp_backprop.md", "mlp_backprop.json", "mlp_backprop_counts.png"):
        assert (tmp_path / name).stat().st_size > 0
    saved = json.loads((tmp_path / "mlp_backprop.json").read_text())
    assert saved["nets"] and len(saved["nets"]) == len(results["nets"])
    assert all(math.isfinite(v) for v in all_numbers(saved["nets"]))
    for row in saved["nets"]:
        assert row["jaxpr"]["forward_multiply_adds"] == row["closed_form"]["forward_multiply_adds"]
        assert (
            row["jaxpr"]["backward_multiply_adds"] == row["closed_form"]["backward_multiply_adds"]
        )
        assert row["xla"]["forward_flops"] > 0
    report = (tmp_path / "mlp_backprop.md").read_text()
    assert "Goodfellow" in report and "$$" in report
    assert "](mlp_backprop_counts.png)" in report
    assert not any(line.startswith(("# ", "## ")) for line in report.splitlines())
    assert saved["run"]["config"]["matmul_precision"] == "highest"


@pytest.mark.slow  # the study's run with its float64 check, end to end
def test_study_with_grad_check_reports_float64_agreement():
    # the shallow net, N and ψ of test_max_relative_grad_error_is_at_float64_rounding, and a
    # deep net of the same width: every parameter shape drawn is one already compiled there
    config = study.Config(
        widths=(50,),
        deep_num_hidden=3,
        deep_width=50,
        batch_sizes=(1, 100),
        activation="tanh",
        plot_points=5,
    )
    results = study.run(config)
    errors = results["max_relative_grad_error_float64"]
    assert list(errors) == ["8→50→50→8", "8→50×3→8"]
    assert all(0.0 <= e < RTOL for e in errors.values())
    assert results["grad_check_batch_size"] == 100
    assert len(study.summary(results)) == 3
    text = study.markdown(results)
    assert all(f"{fmt(error, 2)} ({name})" in text for name, error in errors.items())
    rows = study.answers(results)
    assert [row["item"] for row in rows] == ["Ex 2(a)", "Ex 2(b)", "Ex 2(c)"]
    assert "matches jax.grad in float64" in rows[1]["answer"] and "1.9" in rows[2]["answer"]


@pytest.mark.parametrize(
    "args, name",
    [
        (["--widths", "0,4"], "--widths"),
        (["--widths", "100000"], "--widths"),
        (["--widths", "a"], "--widths"),
        (["--batch-sizes", "-5"], "--batch-sizes"),
        (["--batch-sizes", "1:99999999999"], "--batch-sizes"),
        (["--activation", "gelu"], "--activation"),
        (["--seed", "99999999999999999999"], "--seed"),
        (["--seed", "-1"], "--seed"),
        (["--matmul-precision", "fast"], "--matmul-precision"),
        (["--widths", ""], "--widths"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(bad_input, args, name):
    bad_input("mlp_backprop", args, name)
