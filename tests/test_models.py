import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxnn import _module_family as module_family
from jaxnn import models, objectives


@pytest.mark.parametrize("width", [1, 2, 10, 50, 100, 200])
def test_parameter_count_matches_formula_and_arrays(width):
    sizes = (8, width, width, 8)
    # The shapes init returns, traced without drawing: an eager draw per width costs seconds.
    params = jax.eval_shape(lambda key: models.init(key, sizes), jax.random.key(0))
    counted = sum(leaf.size for leaf in jax.tree.leaves(params))
    assert models.parameter_count(sizes) == width**2 + 18 * width + 8 == counted


def test_apply_matches_plain_numpy_forward(x64):
    # Jitted: eager op-by-op dispatch compiles a program per primitive and shape.
    params = jax.jit(lambda key: models.init(key, (3, 5, 4, 2), init_scheme="lecun_normal"))(
        jax.random.key(1)
    )
    x = np.random.default_rng(0).normal(size=(7, 3))
    h = x
    layers = [params["layers"][k] for k in sorted(params["layers"])]
    for layer in layers[:-1]:
        h = np.tanh(h @ np.asarray(layer["kernel"]) + np.asarray(layer["bias"]))
    expected = h @ np.asarray(layers[-1]["kernel"]) + np.asarray(layers[-1]["bias"])
    got = jax.jit(functools.partial(models.apply, activation="tanh"))(params, x)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


@functools.partial(jax.jit, static_argnames="activation")
def _narrow_and_padded_losses_and_grads(key, x, y, *, activation):
    """One program per activation: eagerly, init, padding and two gradients cost ~10 s."""
    width, padded = 5, 16
    family = module_family.ModuleFamily(functools.partial(models.MLP, activation=activation), (8,))
    narrow = jax.tree.map(lambda a: a.astype(jnp.float64), family.init(key, width))
    wide = family.pad_params(narrow, padded)
    loss_fn = objectives.make_loss_fn(family)
    narrow_loss, narrow_grads = jax.value_and_grad(loss_fn)(narrow, x, y)
    wide_loss, wide_grads = jax.value_and_grad(loss_fn)(wide, x, y)
    return narrow_loss, wide_loss, wide_grads, family.pad_params(narrow_grads, padded)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_mlp_embedded_in_zeros_equals_the_narrow_mlp(x64, activation):
    """Same loss and gradients (float64, rtol 1e-10); padded gradients are exactly zero
    (the MLP a sweep pads: psi(0) = 0, so zero units stay zero)."""
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(20, 8)), rng.normal(size=(20, 8))
    narrow_loss, wide_loss, wide_grads, embedded = _narrow_and_padded_losses_and_grads(
        jax.random.key(2), x, y, activation=activation
    )
    np.testing.assert_allclose(wide_loss, narrow_loss, rtol=1e-10)
    for got, expected in zip(jax.tree.leaves(wide_grads), jax.tree.leaves(embedded)):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-300)


@pytest.mark.parametrize("scheme", ["torch_uniform", "lecun_normal", "he_normal"])
def test_mlp_draws_each_init_scheme_with_its_fan_in_variance(scheme):
    """The hidden kernel (fan-in 64) has the scheme's variance; normal schemes draw zero bias."""
    width = 64
    layer = models.MLP(width, rngs=nnx.Rngs(5), init_scheme=scheme).layers[1]
    kernel, bias = np.asarray(layer.kernel[...]).ravel(), np.asarray(layer.bias[...])
    expected_var = {
        "torch_uniform": 1 / (3 * width),
        "lecun_normal": 1 / width,
        "he_normal": 2 / width,
    }[scheme]
    # Var of a sample variance: (m4 - var^2)/n; m4 = 9/5 var^2 (uniform), 3 var^2 (normal).
    kurtosis = 9 / 5 if scheme == "torch_uniform" else 3.0
    standard_error = expected_var * math.sqrt((kurtosis - 1) / kernel.size)
    assert abs(kernel.var() - expected_var) < 5 * standard_error
    if scheme == "torch_uniform":
        assert np.abs(kernel).max() <= 1 / math.sqrt(width)
        assert np.abs(bias).max() <= 1 / math.sqrt(width) and np.any(bias != 0)
    else:
        assert np.all(bias == 0)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: models.init(jax.random.key(0), (8, 0, 8)), "layer_sizes"),
        (lambda: models.stacked_layer_sizes(-1, depth=2), "hidden_widths"),
        (lambda: models.init(jax.random.key(0), (8, 4, 8), init_scheme="xavier"), "init_scheme"),
        (
            # Traced only: the check comes before any compute, and an eager init costs seconds.
            lambda: jax.eval_shape(
                lambda key: models.apply(
                    models.init(key, (2, 3, 1)), jnp.ones((1, 2)), activation="swish"
                ),
                jax.random.key(0),
            ),
            "activation",
        ),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


# --- the MNIST-1D networks ---------------------------------------------------------------------


def _numpy_conv1d(x, kernel, bias, stride, padding):
    """out[b, j, o] = sum_{k,c} x_pad[b, j*stride + k, c] kernel[k, c, o] + bias[o], j by j."""
    width = kernel.shape[0]
    padded = np.pad(x, [(0, 0), (padding, padding), (0, 0)])
    length_out = (x.shape[1] + 2 * padding - width) // stride + 1
    out = np.empty((x.shape[0], length_out, kernel.shape[2]))
    for j in range(length_out):
        total = np.array(bias, copy=True)[None, :].repeat(x.shape[0], axis=0)
        for k in range(width):
            total = total + padded[:, j * stride + k, :] @ kernel[k]
        out[:, j, :] = total
    return out


def test_mnist1d_cnn_draws_pytorchs_default_with_each_layers_fan_in():
    """Every block is U(-b, b), b = 1/sqrt(fan_in): K C_in for a convolution, L C for the head."""
    family, width = module_family.ModuleFamily(models.MNIST1DCNN, (40,)), 6
    # One program for 200 draws; the eager vmapped draw compiles dozens.
    params = jax.jit(jax.vmap(lambda k: family.init(k, width)))(
        jax.random.split(jax.random.key(7), 200)
    )
    blocks = [
        (f"convs.{i}", params["convs"][i], k * c_in)
        for i, (k, c_in) in enumerate([(5, 1), (3, width), (3, width)])
    ]
    blocks.append(("head", params["head"], 5 * width))  # 5 positions after three stride-2 convs
    for name, layer, fan_in in blocks:
        for part in ("kernel", "bias"):
            sample = np.asarray(layer[part]).ravel()
            expected_var = 1 / (3 * fan_in)
            # Var of a sample variance is (m4 - var^2)/n with m4 = 9/5 var^2 for a uniform.
            standard_error = expected_var * math.sqrt((9 / 5 - 1) / sample.size)
            assert abs(sample.var() - expected_var) < 5 * standard_error, (name, part)
            assert np.abs(sample).max() <= 1 / math.sqrt(fan_in), (name, part)


@pytest.mark.parametrize("width", [1, 3, 16])
def test_mnist1d_cnn_parameter_count_is_the_hand_count(width):
    """(K C_in + 1) C per convolution plus (L C + 1) O for the head, L = 5 positions."""
    by_hand = (5 + 1) * width + 2 * (3 * width + 1) * width + (5 * width + 1) * 10
    assert module_family.ModuleFamily(models.MNIST1DCNN, (40,)).parameter_count(width) == by_hand


def test_mnist1d_modules_compute_the_notebooks_networks(x64):
    """The MLP is the functional ``apply`` of its parameters; the CNN is three strided
    convolutions with ReLU, a channel-major flatten (PyTorch's ``[C, L]``) and a linear
    head, written out in NumPy (float64)."""
    x = np.random.default_rng(0).standard_normal((5, 40))
    mlp = models.MNIST1DMLP(6, rngs=nnx.Rngs(0))
    mlp_params = nnx.to_pure_dict(nnx.state(mlp, nnx.Param))
    np.testing.assert_allclose(mlp(x), models.apply(mlp_params, x), rtol=1e-12)
    assert sum(p.size for p in jax.tree.leaves(mlp_params)) == models.parameter_count(
        (40, 6, 6, 10)
    )

    cnn = models.MNIST1DCNN(4, rngs=nnx.Rngs(1))
    params = jax.tree.map(
        lambda a: np.asarray(a, np.float64), nnx.to_pure_dict(nnx.state(cnn, nnx.Param))
    )
    h = x[:, :, None]
    for index in range(3):
        conv = params["convs"][index]
        h = np.maximum(_numpy_conv1d(h, conv["kernel"], conv["bias"], stride=2, padding=1), 0)
    flat = h.transpose(0, 2, 1).reshape(len(x), -1)
    expected = flat @ params["head"]["kernel"] + params["head"]["bias"]
    np.testing.assert_allclose(cnn(x), expected, rtol=1e-10)


def test_the_statistics_modules_import_nothing_of_the_training_loop():
    """gradstats and curvature take any loss_fn: they must not depend on train or sweep."""
    import ast
    from pathlib import Path

    loop = {"train", "sweep", "module_sweep"}
    for name in ("gradstats", "curvature"):
        tree = ast.parse((Path(models.__file__).parent / f"{name}.py").read_text())
        imported = {
            alias.name.split(".")[-1]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("jaxnn")
            for alias in node.names
        }
        assert not imported & loop, (name, imported & loop)


def test_torch_uniform_init_draws_within_the_bound_with_the_uniform_spread():
    fan_in, count = 50, 20_000
    draws = np.asarray(models.torch_uniform_init(fan_in)(jax.random.key(0), (count,)))
    bound = 1 / np.sqrt(fan_in)
    assert np.all(np.abs(draws) <= bound)
    # Var U(-b, b) = b^2/3; the sample variance's standard error is about b^2 sqrt(4/45/count).
    standard_error = bound**2 * np.sqrt(4 / 45 / count)
    assert abs(draws.var() - bound**2 / 3) < 4 * standard_error
