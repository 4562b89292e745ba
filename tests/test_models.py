import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn import backprop, models, objectives


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
    narrow = models.init(key, (8, width, width, 8))
    narrow = jax.tree.map(lambda a: a.astype(jnp.float64), narrow)
    wide = models.pad_params(narrow, (8, padded, padded, 8))
    masks = models.hidden_masks_for(jnp.array([width, width]), (padded, padded))
    family = models.MLPFamily(activation=activation)
    narrow_loss, narrow_grads = jax.value_and_grad(objectives.make_loss_fn(family))(narrow, x, y)
    wide_loss, wide_grads = jax.value_and_grad(objectives.make_loss_fn(family, masks=masks))(
        wide, x, y
    )
    embedded = models.pad_params(narrow_grads, (8, padded, padded, 8))
    return narrow_loss, wide_loss, wide_grads, embedded


@pytest.mark.parametrize("activation", ["relu", "tanh", "softplus"])
def test_padded_masked_model_equals_narrow_model(x64, activation):
    """Same loss and gradients (float64, rtol 1e-10); padded gradients are exactly zero."""
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(20, 8)), rng.normal(size=(20, 8))
    narrow_loss, wide_loss, wide_grads, embedded = _narrow_and_padded_losses_and_grads(
        jax.random.key(2), x, y, activation=activation
    )
    np.testing.assert_allclose(wide_loss, narrow_loss, rtol=1e-10)
    for got, expected in zip(jax.tree.leaves(wide_grads), jax.tree.leaves(embedded)):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-300)


@pytest.mark.parametrize("scheme", ["torch_uniform", "lecun_normal", "he_normal"])
def test_init_padded_uses_the_true_fan_in(scheme):
    """The active block has the narrow model's variance; the padding is zero."""
    true_width, padded = 6, 64

    @jax.jit  # one program; the eager vmapped draw compiles dozens
    def draws(key):
        return jax.vmap(
            lambda k: models.init_padded(
                k, jnp.array([true_width, true_width]), (8, padded, padded, 8), init_scheme=scheme
            )
        )(jax.random.split(key, 400))

    params = draws(jax.random.key(5))
    kernel = np.asarray(params["layers"][1]["kernel"])  # [draw, fan_in, fan_out]
    active = kernel[:, :true_width, :true_width].ravel()
    expected_var = {
        "torch_uniform": 1 / (3 * true_width),
        "lecun_normal": 1 / true_width,
        "he_normal": 2 / true_width,
    }[scheme]
    # Var of a sample variance: (m4 - var^2)/n; m4 = 9/5 var^2 (uniform), 3 var^2 (normal).
    kurtosis = 9 / 5 if scheme == "torch_uniform" else 3.0
    standard_error = expected_var * math.sqrt((kurtosis - 1) / active.size)
    assert abs(active.var() - expected_var) < 5 * standard_error
    assert np.all(kernel[:, true_width:, :] == 0) and np.all(kernel[:, :, true_width:] == 0)
    if scheme == "torch_uniform":
        assert np.abs(active).max() <= 1 / math.sqrt(true_width)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: models.init(jax.random.key(0), (8, 0, 8)), "layer_sizes"),
        (lambda: models.mlp_layer_sizes(8, [4, -1], 8), "hidden_widths"),
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


# --- the 1-D CNN family ------------------------------------------------------------------------


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


@pytest.mark.parametrize("width", [5, 3])
@pytest.mark.parametrize("length", [40, 19])
def test_conv1d_patches_equals_lax_conv_and_a_numpy_loop(x64, width, length):
    rng = np.random.default_rng(width * 100 + length)
    x = rng.normal(size=(3, length, 4))
    kernel = rng.normal(size=(width, 4, 6))
    bias = rng.normal(size=(6,))

    @jax.jit  # one program per case instead of one per eager primitive
    def both(x, kernel, bias):
        got = models.conv1d_patches(x, kernel, bias, stride=2, padding=1)
        lax = (
            jax.lax.conv_general_dilated(
                x,
                kernel,
                window_strides=(2,),
                padding=[(1, 1)],
                dimension_numbers=("NWC", "WIO", "NWC"),
            )
            + bias
        )
        return got, lax

    got, lax = both(x, kernel, bias)
    expected = _numpy_conv1d(x, kernel, bias, stride=2, padding=1)
    assert got.shape == expected.shape == lax.shape == (3, (length + 2 - width) // 2 + 1, 6)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    np.testing.assert_allclose(got, lax, rtol=1e-12)


# Each CNN test is one jitted program: op-by-op dispatch of these small graphs costs seconds
# on 2 cores, and every separate jit compiles its own copy of the shared parts.


def _float64_cnn(family, width, padded_width, key):
    params = family.init(key, width, padded_width)
    return jax.tree.map(lambda a: a.astype(jnp.float64), params)


def test_cnn_patches_and_lax_convolutions_give_the_same_outputs_and_gradients(x64):
    """The default patches-times-matrix CNN against ``nnx.Conv``, same parameters (float64)."""
    patches, lax = models.CNN1DFamily(), models.CNN1DFamily(conv_impl="lax")

    @jax.jit
    def outputs_and_grads(key, x, labels):
        params = _float64_cnn(patches, 4, 4, key)
        outputs = [family.apply(params, x) for family in (patches, lax)]
        grads = [
            jax.grad(objectives.make_loss_fn(family, "softmax_cross_entropy"))(params, x, labels)
            for family in (patches, lax)
        ]
        return outputs, grads

    x = np.random.default_rng(1).normal(size=(6, 40))
    labels = np.array([0, 3, 9, 1, 1, 7])
    outputs, grads = outputs_and_grads(jax.random.key(0), x, labels)
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-12)
    for got, expected in zip(jax.tree.leaves(grads[0]), jax.tree.leaves(grads[1])):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-300)


def test_padded_masked_cnn_equals_narrow_cnn(x64):
    """Same loss and gradients (float64, rtol 1e-10); the padding's gradients are exactly zero."""
    family, width, padded = models.CNN1DFamily(), 3, 8

    @jax.jit
    def losses_and_grads(key, x, labels):
        narrow = _float64_cnn(family, width, width, key)
        wide = family.pad_params(narrow, padded)
        narrow_loss, narrow_grads = jax.value_and_grad(
            objectives.make_loss_fn(family, "softmax_cross_entropy")
        )(narrow, x, labels)
        wide_loss, wide_grads = jax.value_and_grad(
            objectives.make_loss_fn(
                family, "softmax_cross_entropy", masks=family.masks(width, padded)
            )
        )(wide, x, labels)
        embedded = family.pad_params(narrow_grads, padded)
        active = family.pad_params(jax.tree.map(jnp.ones_like, narrow), padded)
        return narrow_loss, narrow_grads, wide_loss, wide_grads, embedded, active

    x = np.random.default_rng(3).normal(size=(6, 40))
    labels = np.array([2, 5, 0, 9, 4, 4])
    narrow_loss, narrow_grads, wide_loss, wide_grads, embedded, active = losses_and_grads(
        jax.random.key(2), x, labels
    )
    np.testing.assert_allclose(wide_loss, narrow_loss, rtol=1e-10)
    assert jax.tree.structure(wide_grads) == jax.tree.structure(embedded)
    for got, expected, inside in zip(
        jax.tree.leaves(wide_grads), jax.tree.leaves(embedded), jax.tree.leaves(active)
    ):
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-300)
        assert np.all(np.asarray(got)[np.asarray(inside) == 0] == 0)
    # The narrow gradients must reach every active block for the comparison to mean anything.
    assert all(np.any(np.asarray(g) != 0) for g in jax.tree.leaves(narrow_grads))


def test_cnn_init_uses_the_true_fan_in():
    """Active blocks are U(-b, b), b = 1/sqrt(K C_in_true) (L C_true for the head); padding is 0."""
    family, width, padded = models.CNN1DFamily(), 6, 16
    draws = jax.jit(
        lambda key: jax.vmap(lambda k: family.init(k, width, padded))(jax.random.split(key, 400))
    )  # one program; the eager vmapped draw compiles dozens
    params = draws(jax.random.key(7))
    length = family.lengths()[-1]  # 5 positions after three stride-2 convolutions of 40
    assert length == 5
    blocks = []  # (name, parameter [draw, ...], active-region selector, true fan-in)
    for index, k in enumerate(family.kernel_sizes):
        c_in = 1 if index == 0 else width
        conv = params["convs"][index]
        active = np.zeros(conv["kernel"].shape[1:], bool)
        active[:, :c_in, :width] = True
        blocks.append((f"conv{index}.kernel", conv["kernel"], active, k * c_in))
        active_bias = np.arange(padded) < width
        blocks.append((f"conv{index}.bias", conv["bias"], active_bias, k * c_in))
    # Head rows are flattened channels last: row = position * padded + channel.
    rows = (np.arange(length * padded) % padded) < width
    head_active = np.broadcast_to(rows[:, None], params["head"]["kernel"].shape[1:])
    blocks.append(("head.kernel", params["head"]["kernel"], head_active, length * width))
    blocks.append(
        ("head.bias", params["head"]["bias"], np.ones(family.output_dim, bool), length * width)
    )
    for name, values, active, fan_in in blocks:
        values = np.asarray(values)
        sample = values[:, active].ravel()
        expected_var = 1 / (3 * fan_in)
        # Var of a sample variance is (m4 - var^2)/n with m4 = 9/5 var^2 for a uniform.
        standard_error = expected_var * math.sqrt((9 / 5 - 1) / sample.size)
        assert abs(sample.var() - expected_var) < 5 * standard_error, name
        assert np.abs(sample).max() <= 1 / math.sqrt(fan_in), name
        assert np.all(values[:, ~active] == 0), name


@pytest.mark.parametrize("width", [1, 3, 16])
def test_cnn_parameter_count_matches_the_arrays(width):
    family = models.CNN1DFamily()
    params = jax.eval_shape(lambda: family.init(jax.random.key(0), width, width))
    assert family.parameter_count(width) == sum(leaf.size for leaf in jax.tree.leaves(params))


@pytest.mark.parametrize("input_length, lengths", [(40, (19, 10, 5)), (12, (5, 3, 2))])
@pytest.mark.parametrize("width", [1, 7])
def test_cnn_flops_are_six_times_the_traced_forward_multiply_adds_and_bias_adds(
    input_length, lengths, width
):
    """6 x (dot_general multiply-adds of one example's forward pass + one add per bias use)."""
    # lengths: L <- floor((L + 2 - K)/2) + 1 for K = 5, 3, 3, written out by hand.
    family = models.CNN1DFamily(input_length=input_length, output_dim=10)
    params = jax.eval_shape(lambda: family.init(jax.random.key(0), width, width))
    x = jax.ShapeDtypeStruct((1, input_length), jnp.float32)
    multiply_adds = backprop.count_multiply_adds(family.apply, params, x)
    bias_adds = sum(length * width for length in lengths) + family.output_dim
    assert multiply_adds > 0
    assert family.flops_per_example(width) == 6 * (multiply_adds + bias_adds)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: models.get_family("resnet"), "model"),
        # Length 2 leaves no window of 5 in the padded 4; length 3 (padded 5) still fits one.
        (lambda: models.CNN1DFamily(input_length=2), "input_length"),
        (lambda: models.MLPFamily(activation="elu"), "activation"),
        (lambda: models.CNN1DFamily(conv_impl="fft"), "conv_impl"),
    ],
)
def test_bad_family_raises_value_error_naming_the_field(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_check_family_names_the_missing_method_and_accepts_the_built_in_families():
    class NoPadding:
        def init(self, key, width): ...

    with pytest.raises(ValueError, match="pad_params"):
        models.check_family(NoPadding())
    with pytest.raises(ValueError, match="model"):
        models.check_family("mlp")
    for family in (models.MLPFamily(), models.CNN1DFamily()):
        assert models.check_family(family) is family


def test_the_statistics_modules_import_nothing_of_the_training_loop():
    """gradstats and curvature take any loss_fn: they must not depend on train or sweep."""
    import ast
    from pathlib import Path

    loop = {"train", "sweep", "members", "module_sweep"}
    for name in ("gradstats", "curvature"):
        tree = ast.parse((Path(models.__file__).parent / f"{name}.py").read_text())
        imported = {
            alias.name.split(".")[-1]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("jaxnn")
            for alias in node.names
        }
        assert not imported & loop, (name, imported & loop)


def test_mnist1d_nnx_modules_compute_the_built_in_families_networks(x64):
    """The NNX modules the MNIST-1D study sweeps are the families' networks: same outputs
    from the same weights (the CNN's head rows reordered: channel-major against
    position-major flatten), same parameter counts."""
    from flax import nnx

    x = np.random.default_rng(0).standard_normal((5, 40))
    mlp = models.MNIST1DMLP(6, rngs=nnx.Rngs(0))
    mlp_params = nnx.to_pure_dict(nnx.state(mlp, nnx.Param))
    mlp_family = models.MLPFamily(input_dim=40, output_dim=10)
    np.testing.assert_allclose(mlp(x), mlp_family.apply(mlp_params, x), rtol=1e-12)
    assert sum(p.size for p in jax.tree.leaves(mlp_params)) == mlp_family.parameter_count(6)

    channels, length = 4, 5
    cnn = models.MNIST1DCNN(channels, rngs=nnx.Rngs(1))
    params = nnx.to_pure_dict(nnx.state(cnn, nnx.Param))
    head = np.asarray(params["head"]["kernel"]).reshape(channels, length, 10)
    family_params = {
        "convs": params["convs"],
        "head": {"kernel": head.transpose(1, 0, 2).reshape(-1, 10), "bias": params["head"]["bias"]},
    }
    family = models.CNN1DFamily(conv_impl="lax")
    np.testing.assert_allclose(cnn(x), family.apply(family_params, x), rtol=1e-10)
    assert sum(p.size for p in jax.tree.leaves(params)) == family.parameter_count(channels)


def test_torch_uniform_init_draws_within_the_bound_with_the_uniform_spread():
    fan_in, count = 50, 20_000
    draws = np.asarray(models.torch_uniform_init(fan_in)(jax.random.key(0), (count,)))
    bound = 1 / np.sqrt(fan_in)
    assert np.all(np.abs(draws) <= bound)
    # Var U(-b, b) = b^2/3; the sample variance's standard error is about b^2 sqrt(4/45/count).
    standard_error = bound**2 * np.sqrt(4 / 45 / count)
    assert abs(draws.var() - bound**2 / 3) < 4 * standard_error
