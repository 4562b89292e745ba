"""The hand-written reverse-mode engine against jax.grad (float64), closed forms, exact counts."""

import math
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from jaxnn import autodiff as ad
from jaxnn.io import read_json
from jaxnn.studies import autodiff_z as study

# Both sides run the same IEEE operations in float64; only exp/log/tanh come
# from different libraries (libm here, XLA there), about an ulp apart.
RTOL = 1e-12

# --------------------------------------------------------------- helpers --


def naive_z(a, b):
    """The exercise's formula as written, for jax.grad."""
    return jnp.log(b) / (1.0 + jnp.exp(a**2 + b**2))


def jax_gradient(fn, *point):
    """``jax.grad`` of ``fn`` at ``point`` in float64, as plain floats."""
    with jax.enable_x64(True):
        args = [jnp.float64(x) for x in point]
        grads = jax.grad(fn, argnums=tuple(range(len(point))))(*args)
        return tuple(float(g) for g in grads)


# Expressions are nested tuples, interpreted once with the engine's primitives
# and once with jax.numpy, so both sides see the same computation.
JAX_OPS = {
    "add": jnp.add,
    "sub": jnp.subtract,
    "mul": jnp.multiply,
    "div": jnp.divide,
    "neg": jnp.negative,
    "pow": lambda x, p: x**p,
    "exp": jnp.exp,
    "log": jnp.log,
    "relu": jax.nn.relu,
    "tanh": jnp.tanh,
    "sigmoid": jax.nn.sigmoid,
    # sigma(-u), not 1/(1 + e^u): jax's derivative of the latter is -e^u/(1 + e^u)^2,
    # which overflows to -0 for u > ~355 where the engine's (correct) value is ~-e^{-u}.
    "inv_one_plus_exp": lambda u: jax.nn.sigmoid(-u),
    "const": jnp.float64,
}
ENGINE_OPS = {**ad.PRIMITIVES, "const": ad.constant}
UNARY = ("neg", "exp", "log", "relu", "tanh", "sigmoid", "inv_one_plus_exp")
BINARY = ("add", "sub", "mul", "div")
EXPONENTS = (2.0, 3.0, -1.0, 0.5)
assert set(UNARY) | set(BINARY) | {"pow"} == set(ad.PRIMITIVES), "a primitive is untested"


def evaluate(expression, env, ops):
    kind = expression[0]
    if kind == "var":
        return env[expression[1]]
    if kind == "const":
        return ops["const"](expression[1])
    if kind == "pow":
        return ops["pow"](evaluate(expression[1], env, ops), expression[2])
    return ops[kind](*(evaluate(child, env, ops) for child in expression[1:]))


def engine_gradient(expression, x, y):
    """The engine's (d/dx, d/dy); ``None`` outside the domain (log of <= 0, 1/0, ...)."""
    x_node, y_node = ad.variable(x, "x"), ad.variable(y, "y")
    try:
        output = evaluate(expression, {"x": x_node, "y": y_node}, ENGINE_OPS)
    except (ValueError, ZeroDivisionError):
        return None
    return ad.gradients(output, [x_node, y_node])


def path_magnitude(expression, x, y):
    """Sum over all paths of |product of local partials|, for d/dx and d/dy.

    A gradient is a sum of such path products; its rounding error is relative
    to the size of those terms, not to their sum, which cancels to 0 in, e.g.,
    d(x/x)/dx = 1/x - x/x^2. Hence the tolerance RTOL * path_magnitude.
    jax forms tanh' = (1 - t)(1 + t) and sigmoid' = s (1 - s) from the rounded
    output (about an ulp from libm's), so their error is absolute, ~eps and
    ~eps s, however small the derivative near saturation: those partials (and
    inv_one_plus_exp's, a sigmoid) count at that size.
    """
    x_node, y_node = ad.variable(x, "x"), ad.variable(y, "y")
    output = evaluate(expression, {"x": x_node, "y": y_node}, ENGINE_OPS)
    magnitude = {output: 1.0}
    for node in reversed(ad.topological_order(output)):
        here = magnitude.setdefault(node, 0.0)
        for child, partial in zip(node.inputs, node.local_partials, strict=True):
            saturating = {"tanh": 1.0, "sigmoid": node.value, "inv_one_plus_exp": node.value}
            size = saturating.get(node.op, abs(partial))
            magnitude[child] = magnitude.get(child, 0.0) + here * size
    return magnitude.get(x_node, 0.0), magnitude.get(y_node, 0.0)


# XLA on CPU flushes subnormals to zero and the engine (plain Python) does not,
# so keep inputs away from them; 0 itself stays in (relu's kink, pow's edge).
coordinates = st.floats(-2.0, 2.0).filter(lambda t: t == 0.0 or abs(t) >= 1e-6)
leaves = st.sampled_from([("var", "x"), ("var", "y")]) | coordinates.map(lambda c: ("const", c))


def _extend(children):
    return (
        st.tuples(st.sampled_from(UNARY), children)
        | st.tuples(st.just("pow"), children, st.sampled_from(EXPONENTS))
        | st.tuples(st.sampled_from(BINARY), children, children)
    )


expressions = st.recursive(leaves, _extend, max_leaves=8)


# ------------------------------------------------------------- z(a, b) --


def test_z_at_2_3_matches_jax_grad_float64():
    z, dz_da, dz_db = ad.z_value_and_grad(2.0, 3.0)
    with jax.enable_x64(True):
        expected_z = float(naive_z(jnp.float64(2.0), jnp.float64(3.0)))
    np.testing.assert_allclose(z, expected_z, rtol=RTOL)
    np.testing.assert_allclose((dz_da, dz_db), jax_gradient(naive_z, 2.0, 3.0), rtol=RTOL)


def test_z_at_random_points_matches_jax_grad_float64():
    key_a, key_b = jax.random.split(jax.random.key(0))
    a_values = jax.random.uniform(key_a, (40,), minval=-3.0, maxval=3.0).tolist()
    b_values = jax.random.uniform(key_b, (40,), minval=0.05, maxval=3.0).tolist()
    for a, b in zip(a_values, b_values, strict=True):
        _, *gradient = ad.z_value_and_grad(a, b)
        expected = jax_gradient(naive_z, a, b)
        np.testing.assert_allclose(gradient, expected, rtol=RTOL, err_msg=f"{a=}, {b=}")


@pytest.mark.parametrize("a, b", [(10.0, 20.0), (15.0, 19.0), (0.0, 26.0), (-7.0, 1.5)])
def test_z_at_large_arguments_matches_closed_form(a, b):
    # Closed form in e^{-u}, which cannot overflow: with s = e^{-u}/(1 + e^{-u}),
    # dz/da = -2a log(b) s (1 - s) and dz/db = -2b log(b) s (1 - s) + s / b.
    u = a * a + b * b
    small = math.exp(-u)
    s, one_minus_s = small / (1.0 + small), 1.0 / (1.0 + small)
    expected = (
        math.log(b) * s,
        -2.0 * a * math.log(b) * s * one_minus_s,
        -2.0 * b * math.log(b) * s * one_minus_s + s / b,
    )
    np.testing.assert_allclose(ad.z_value_and_grad(a, b), expected, rtol=RTOL)


def test_overflow_region_is_finite_and_zero():
    # At a = b = 30, e^{1800} overflows float64; the true z and partials are ~1e-780.
    assert ad.z_value_and_grad(30.0, 30.0) == (0.0, 0.0, 0.0)
    # The literal graph (exp, add one, divide) is what the fused primitive avoids:
    a, b = ad.variable(30.0), ad.variable(30.0)
    literal = ad.log(b) / (1.0 + ad.exp(a**2 + b**2))
    assert all(math.isnan(g) for g in ad.gradients(literal, [a, b]))


@pytest.mark.parametrize("b", [0.0, -1.0, -1e-300])
def test_b_not_positive_raises(b):
    with pytest.raises(ValueError, match=r"log needs b > 0"):
        ad.z_value_and_grad(2.0, b)


def test_graph_has_the_table_intermediates_and_b_paths_sum():
    a, b = 2.0, 3.0
    nodes = {node.name: node for node in ad.trace_z(a, b)}
    assert tuple(nodes) == ad.Z_INTERMEDIATES
    u = a * a + b * b
    expected_values = {
        "a": a,
        "b": b,
        "v1": a * a,
        "v2": b * b,
        "v3": u,
        "v4": 1.0 / (1.0 + math.exp(u)),
        "v5": math.log(b),
        "z": math.log(b) / (1.0 + math.exp(u)),
    }
    for name, value in expected_values.items():
        np.testing.assert_allclose(nodes[name].value, value, rtol=RTOL, err_msg=name)
    assert [p.wrt for p in nodes["z"].local_partials] == ["v4", "v5"]
    # The two paths into b, each from its own hand derivation:
    # through b^2: dz/dv2 * 2b with dz/dv2 = -log(b) e^u / (1 + e^u)^2; through log b: v4 / b.
    paths = {term.via: term.product for term in nodes["b"].adjoint_terms}
    assert set(paths) == {"v2", "v5"}
    through_square = -math.log(b) * math.exp(u) / (1.0 + math.exp(u)) ** 2 * 2.0 * b
    through_log = 1.0 / (1.0 + math.exp(u)) / b
    np.testing.assert_allclose([paths["v2"], paths["v5"]], [through_square, through_log], rtol=RTOL)
    dz_db = jax_gradient(naive_z, a, b)[1]
    np.testing.assert_allclose(paths["v2"] + paths["v5"], dz_db, rtol=RTOL)
    assert nodes["b"].adjoint == paths["v2"] + paths["v5"]
    for node in nodes.values():  # every adjoint is the sum of its chain-rule products
        if node.adjoint_terms:
            total = sum(t.product for t in node.adjoint_terms)
            np.testing.assert_allclose(node.adjoint, total, rtol=RTOL)


def test_trace_is_pure():
    first, second = ad.trace_z(2.0, 3.0), ad.trace_z(2.0, 3.0)
    assert first == second


# ---------------------------------------------------------- primitives --


@pytest.mark.parametrize("op", sorted(set(UNARY) - {"log"}))
@pytest.mark.parametrize("x", [-1.7, -0.3, 0.4, 2.5])
def test_each_unary_primitive_matches_jax_grad(op, x):
    expression = (op, ("mul", ("var", "x"), ("var", "y")))
    got = engine_gradient(expression, x, 1.3)
    expected = jax_gradient(lambda x, y: evaluate(expression, {"x": x, "y": y}, JAX_OPS), x, 1.3)
    np.testing.assert_allclose(got, expected, rtol=RTOL)


@pytest.mark.parametrize("op", (*BINARY, "log", "pow"))
def test_each_binary_primitive_and_log_and_pow_match_jax_grad(op):
    if op == "log":
        expression = ("log", ("mul", ("var", "x"), ("var", "y")))
    elif op == "pow":
        expression = ("add", ("pow", ("var", "x"), 3.0), ("pow", ("var", "y"), 0.5))
    else:
        expression = (op, ("var", "x"), ("exp", ("var", "y")))
    got = engine_gradient(expression, 0.7, 1.9)
    expected = jax_gradient(lambda x, y: evaluate(expression, {"x": x, "y": y}, JAX_OPS), 0.7, 1.9)
    np.testing.assert_allclose(got, expected, rtol=RTOL)


@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(expressions, coordinates, coordinates)
def test_random_expressions_match_jax_grad(expression, x, y):
    got = engine_gradient(expression, x, y)
    assume(got is not None)
    expected = jax_gradient(lambda x, y: evaluate(expression, {"x": x, "y": y}, JAX_OPS), x, y)
    assume(all(math.isfinite(g) for g in expected))  # jax overflowed: nothing to compare
    tolerance = RTOL * np.asarray(path_magnitude(expression, x, y))
    assert np.all(np.abs(np.subtract(got, expected)) <= tolerance), (got, expected, tolerance)


def test_domain_errors_are_explicit():
    with pytest.raises(ValueError, match="log needs a positive argument"):
        ad.log(ad.variable(-1.0))
    with pytest.raises(ZeroDivisionError):
        ad.variable(1.0) / 0.0
    with pytest.raises(ValueError, match="not real"):
        ad.variable(-2.0) ** 0.5


# ------------------------------------------------------------ deep graphs --


def test_deep_chain_backward_needs_no_recursion():
    depth = 10_000
    assert depth > sys.getrecursionlimit()  # a recursive sort would fail here
    x = ad.variable(0.5, "x")
    total = x
    for _ in range(depth):
        total = total + x
    # total = (depth + 1) x: every one of the depth + 1 paths contributes exactly 1.
    assert ad.gradients(total, [x]) == (float(depth + 1),)

    product = x
    for _ in range(depth):
        product = product * 1.0001
    # d/dx of x c^n is c^n; n roundings in both, so ~n eps apart at worst.
    np.testing.assert_allclose(ad.gradients(product, [x]), [1.0001**depth], rtol=1e-11)


def test_shared_subexpression_counted_once_per_path():
    x = ad.variable(1.5, "x")
    square = x * x
    y = square * square  # x^4, square reached twice
    assert ad.gradients(y, [x]) == (4.0 * 1.5**3,)


# ---------------------------------------------------------- the study --


def test_study_run_matches_jax_grad_and_central_difference():
    results = study.run(study.Config())
    expected = jax_gradient(naive_z, 2.0, 3.0)
    for index, name in enumerate(("dz_da", "dz_db")):
        row = results["comparison"][name]
        np.testing.assert_allclose(row["engine"], expected[index], rtol=RTOL)
        np.testing.assert_allclose(row["jax_grad_float64"], expected[index], rtol=RTOL)
        # central difference with h = 1e-5: O(h^2) truncation, ~1e-10 relative here
        np.testing.assert_allclose(row["central_difference"], expected[index], rtol=1e-8)
    assert results["jax_grad_finite"]
    forward = {row["name"]: row for row in results["forward"]}
    assert forward["a"]["adjoint"] == results["dz_da"] and forward["z"]["adjoint"] == 1.0
    assert study.run(study.Config()) == results  # pure: nothing is random


def test_study_overflow_of_the_literal_formula_is_explained():
    # a^2 + b^2 = 1800 > 709.78: jax.grad of the formula as written gives nan, the engine 0
    results = study.run(study.Config(a=30.0, b=30.0))
    assert not results["jax_grad_finite"]
    assert results["dz_da"] == results["dz_db"] == 0.0
    text = study.markdown(results)
    assert "overflows float64" in text and "nan" not in text.replace("`nan`", "")
    assert any("overflows" in line for line in study.summary(results))


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("b", -1.0, r"^b: log needs b > 0"),
        ("b", 0.0, r"^b: log needs b > 0"),
        ("a", 1e200, r"^a: "),
        ("a", math.inf, r"^a: "),
        ("b", 1e-320, r"^b: "),
        ("b", 1e200, r"^b: "),
        ("fd_step", 5.0, r"^fd_step: "),
        ("fd_step", math.nan, r"^fd_step: "),
        ("seed", -1, r"^seed: "),
    ],
)
def test_config_rejects_bad_fields(field, value, message):
    with pytest.raises(ValueError, match=message):
        study.Config(**{field: value})


def test_largest_allowed_arguments_give_finite_numbers():
    for a, b in ((study.MAX_ABS, study.MAX_ABS), (-study.MAX_ABS, study.MIN_B), (0.0, study.MIN_B)):
        results = study.run(study.Config(a=a, b=b, fd_step=b / 2))
        for row in results["forward"]:
            assert math.isfinite(row["value"]) and math.isfinite(row["adjoint"]), (a, b, row)
        for row in results["comparison"].values():
            assert math.isfinite(row["engine"]) and math.isfinite(row["central_difference"])


@pytest.mark.slow  # the study's --quick run, end to end
def test_experiment_writes_consistent_files(quick_outputs):
    results, tmp_path, _ = quick_outputs("autodiff_z")
    for name in ("autodiff_graph.png", "autodiff_z.json", "autodiff_z.md"):
        assert (tmp_path / name).stat().st_size > 0, name
    saved = read_json(tmp_path / "autodiff_z.json")
    expected = jax_gradient(naive_z, 2.0, 3.0)
    for index, name in enumerate(("dz_da", "dz_db")):
        row = saved["comparison"][name]
        assert all(isinstance(v, float) and math.isfinite(v) for v in row.values()), row
        np.testing.assert_allclose(saved[name], expected[index], rtol=RTOL)
        np.testing.assert_allclose(row["engine"], expected[index], rtol=RTOL)
        np.testing.assert_allclose(row["jax_grad_float64"], expected[index], rtol=RTOL)
        # central difference with h = 1e-5: O(h^2) truncation, ~1e-10 relative here
        np.testing.assert_allclose(row["central_difference"], expected[index], rtol=1e-8)
    np.testing.assert_allclose(saved["paths_into_b"]["sum"], expected[1], rtol=RTOL)
    assert [row["name"] for row in saved["forward"]] == list(ad.Z_INTERMEDIATES)
    assert [row["name"] for row in saved["backward"]] == list(reversed(ad.Z_INTERMEDIATES))
    assert saved["dz_db"] == results["dz_db"]
    assert saved["run"]["config"] == {"a": 2.0, "b": 3.0, "fd_step": 1e-5, "seed": 0}
    markdown = (tmp_path / "autodiff_z.md").read_text()
    assert "sum of the 2 paths" in markdown
    assert "](autodiff_graph.png)" in markdown and not markdown.startswith("# ")
    assert markdown.startswith("**At $(a, b)$ = (2, 3)") and "<details>" in markdown
    rows = study.answers(saved)
    assert [row["item"] for row in rows] == ["Ex 1(a)", "Ex 1(b)", "Ex 1(c)", "Ex 1(d)"]
    assert "equal to `jax.grad` in float64" in rows[3]["answer"]
    assert all(len(row["answer"]) <= 300 and "\n" not in row["answer"] for row in rows)


@pytest.mark.parametrize(
    "args, name",
    [
        (["--a", "1e200"], "a:"),
        (["--a", "inf"], "--a"),
        (["--a", "nan"], "--a"),
        (["--b", "-1"], "--b"),
        (["--b", "0"], "--b"),
        (["--b", "1e-320"], "b:"),
        (["--b", "1e200"], "b:"),
        (["--fd-step", "5"], "fd_step:"),
        (["--fd-step", "-1"], "--fd-step"),
        (["--fd-step", "inf"], "--fd-step"),
        (["--seed", "99999999999999999999"], "--seed"),
        (["--seed", "-1"], "--seed"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(bad_input, args, name):
    bad_input("autodiff_z", args, name)
