import jax
import jax.extend as jex
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from jax import lax

from jaxnn import _fastconv as fastconv

RTOL = 1e-12

# (lhs shape, rhs shape, dimension_numbers, strides, padding, rhs_dilation, feature groups)
CASES = [
    ((2, 3, 9), (4, 3, 3), None, (1,), ((0, 0),), None, 1),
    ((2, 3, 9), (4, 3, 3), ("NCH", "OIH", "NCH"), (2,), ((1, 1),), None, 1),
    ((2, 3, 9), (4, 3, 3), None, (1,), ((1, 2),), None, 1),
    ((2, 9, 3), (3, 3, 4), ("NHC", "HIO", "NHC"), (2,), "SAME", None, 1),
    ((2, 9, 3), (3, 3, 4), ("NHC", "HIO", "NHC"), (1,), "VALID", (2,), 1),
    ((2, 4, 9), (6, 2, 3), None, (2,), ((1, 1),), None, 2),
    ((2, 3, 7, 6), (4, 3, 3, 3), None, (1, 1), ((1, 1), (1, 1)), None, 1),
    ((2, 7, 6, 3), (3, 3, 3, 4), ("NHWC", "HWIO", "NHWC"), (2, 2), "SAME", None, 1),
    ((2, 7, 6, 3), (3, 3, 3, 4), ("NHWC", "HWIO", "NHWC"), (2, 1), ((1, 2), (0, 1)), None, 1),
    ((2, 7, 6, 3), (3, 2, 3, 4), ("NHWC", "HWIO", "NCHW"), (1, 2), "VALID", (2, 1), 1),
    ((2, 7, 6, 4), (3, 3, 2, 6), ("NHWC", "HWIO", "NHWC"), (1, 1), "SAME", (2, 2), 2),
    ((2, 4, 7, 6), (6, 2, 3, 3), None, (2, 1), ((1, 1), (0, 0)), None, 2),
]


@pytest.mark.parametrize("case", CASES)
def test_conv_as_matmul_equals_lax(case):
    lhs_shape, rhs_shape, dnums, strides, padding, rhs_dilation, groups = case
    with jax.enable_x64(True):
        rng = np.random.default_rng(0)
        x, w = rng.normal(size=lhs_shape), rng.normal(size=rhs_shape)
        kwargs = dict(
            rhs_dilation=rhs_dilation, dimension_numbers=dnums, feature_group_count=groups
        )
        expected = lax.conv_general_dilated(x, w, strides, padding, **kwargs)
        got = jax.jit(lambda x, w: fastconv.conv_as_matmul(x, w, strides, padding, **kwargs))(x, w)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=RTOL, atol=1e-13)


def test_transposed_conv_falls_back_to_lax():
    with jax.enable_x64(True):
        rng = np.random.default_rng(1)
        x, w = rng.normal(size=(2, 3, 5, 4)), rng.normal(size=(4, 3, 3, 3))
        args = ((1, 1), ((2, 2), (1, 1)))
        expected = lax.conv_general_dilated(x, w, *args, lhs_dilation=(2, 2))
        got = fastconv.conv_as_matmul(x, w, *args, lhs_dilation=(2, 2))
        np.testing.assert_allclose(got, expected, rtol=RTOL)


class _CNN(nnx.Module):
    def __init__(self, rngs: nnx.Rngs):
        f64 = dict(param_dtype=jnp.float64, rngs=rngs)
        self.conv1 = nnx.Conv(2, 4, (3, 3), **f64)
        self.conv2 = nnx.Conv(4, 4, (3, 3), **f64)
        self.head = nnx.Linear(4, 3, **f64)

    def __call__(self, x):
        h = jax.nn.relu(self.conv2(jax.nn.relu(self.conv1(x))))
        return self.head(h.mean(axis=(1, 2)))


def _conv_count(jaxpr: jex.core.Jaxpr) -> int:
    return sum(
        (eqn.primitive.name == fastconv.CONV)
        + sum(map(_conv_count, jex.core.jaxprs_in_params(eqn.params)))
        for eqn in jaxpr.eqns
    )


def _split_jitted(build):
    """``nnx.split(build())``: eager initialisation dispatches (and compiles) op by op."""
    graphdef = nnx.graphdef(nnx.eval_shape(build))
    return graphdef, jax.jit(lambda: nnx.split(build())[1])()


def _assert_trees_close(got, expected):
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=RTOL, atol=1e-13), got, expected
    )


def test_patches_conv_on_a_2d_cnn_matches_outputs_grads_and_vmap():
    with jax.enable_x64(True):
        graphdef, params = _split_jitted(lambda: _CNN(nnx.Rngs(0)))

        def apply(params, x):
            return nnx.merge(graphdef, params)(x)

        def loss(params, x):
            return jnp.sum(apply(params, x) ** 2)

        x = np.random.default_rng(2).normal(size=(3, 6, 6, 2))
        fast_apply, fast_loss = fastconv.patches_conv(apply), fastconv.patches_conv(loss)
        assert _conv_count(jax.make_jaxpr(apply)(params, x).jaxpr) == 2
        assert _conv_count(jax.make_jaxpr(fast_apply)(params, x).jaxpr) == 0

        members = jax.tree.map(lambda a: jnp.stack([a, 2 * a]), params)

        # One program per implementation: outputs, gradients and a vmap over members.
        def checks(apply, loss):
            return jax.jit(
                lambda params, members, x: (
                    apply(params, x),
                    jax.grad(loss)(params, x),
                    jax.vmap(apply, in_axes=(0, None))(members, x),
                )
            )(params, members, x)

        _assert_trees_close(checks(fast_apply, fast_loss), checks(apply, loss))


def test_patches_conv_on_a_strided_1d_conv_and_inside_scan_and_cond():
    with jax.enable_x64(True):
        graphdef, params = _split_jitted(
            lambda: nnx.Conv(
                2, 3, (3,), strides=2, padding=[(1, 1)], param_dtype=jnp.float64, rngs=nnx.Rngs(0)
            )
        )

        def f(params, x, flip):
            layer = nnx.merge(graphdef, params)
            step = lambda carry, xs: (carry + layer(xs).sum(), layer(xs))  # noqa: E731
            total, ys = lax.scan(step, 0.0, x)
            return ys, total, lax.cond(flip, lambda: -layer(x[0]), lambda: layer(x[1]))

        x = np.random.default_rng(3).normal(size=(2, 4, 7, 2))
        fast = fastconv.patches_conv(f)
        flips = jnp.array(True), jnp.array(False)
        assert _conv_count(jax.make_jaxpr(f)(params, x, flips[0]).jaxpr) == 4
        rewritten = jax.make_jaxpr(fast)(params, x, flips[0]).jaxpr
        assert _conv_count(rewritten) == 0
        assert {"scan", "cond"} <= {eqn.primitive.name for eqn in rewritten.eqns}

        def checks(f):
            def run(params, x):
                grad = jax.grad(lambda p: f(p, x, flips[1])[1])(params)
                return f(params, x, flips[0]), f(params, x, flips[1]), grad

            return jax.jit(run)(params, x)

        _assert_trees_close(checks(fast), checks(f))


def test_default_conv_impl_is_patches_on_cpu_only():
    assert fastconv.default_conv_impl("cpu") == "patches"
    assert fastconv.default_conv_impl("gpu") == "lax"
