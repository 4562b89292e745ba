import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn import models, train


@pytest.mark.parametrize("width", [1, 2, 10, 50, 100, 200])
def test_parameter_count_matches_formula_and_arrays(width):
    sizes = (8, width, width, 8)
    params = models.init(jax.random.key(0), sizes)
    counted = sum(leaf.size for leaf in jax.tree.leaves(params))
    assert models.parameter_count(sizes) == width**2 + 18 * width + 8 == counted


def test_apply_matches_plain_numpy_forward(x64):
    params = models.init(jax.random.key(1), (3, 5, 4, 2), init_scheme="lecun_normal")
    x = np.random.default_rng(0).normal(size=(7, 3))
    h = x
    layers = [params["layers"][k] for k in sorted(params["layers"])]
    for layer in layers[:-1]:
        h = np.tanh(h @ np.asarray(layer["kernel"]) + np.asarray(layer["bias"]))
    expected = h @ np.asarray(layers[-1]["kernel"]) + np.asarray(layers[-1]["bias"])
    got = models.apply(params, jnp.asarray(x), activation="tanh")
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def _padded_pair(width, padded, key):
    narrow = models.init(key, (8, width, width, 8))
    narrow = jax.tree.map(lambda a: a.astype(jnp.float64), narrow)
    wide = models.pad_params(narrow, (8, padded, padded, 8))
    masks = models.hidden_masks_for(jnp.array([width, width]), (padded, padded))
    return narrow, wide, masks


@pytest.mark.parametrize("activation", ["relu", "tanh", "softplus"])
def test_padded_masked_model_equals_narrow_model(x64, activation):
    """Same loss and gradients (float64, rtol 1e-10); padded gradients are exactly zero."""
    narrow, wide, masks = _padded_pair(5, 16, jax.random.key(2))
    x = jax.random.normal(jax.random.key(3), (20, 8), jnp.float64)
    y = jax.random.normal(jax.random.key(4), (20, 8), jnp.float64)
    narrow_loss, narrow_grads = jax.value_and_grad(train.make_loss_fn(activation))(narrow, x, y)
    wide_loss, wide_grads = jax.value_and_grad(train.make_loss_fn(activation, masks))(wide, x, y)
    np.testing.assert_allclose(wide_loss, narrow_loss, rtol=1e-10)
    embedded = models.pad_params(narrow_grads, (8, 16, 16, 8))
    for got, expected in zip(jax.tree.leaves(wide_grads), jax.tree.leaves(embedded)):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-300)


@pytest.mark.parametrize("scheme", ["torch_uniform", "lecun_normal", "he_normal"])
def test_init_padded_uses_the_true_fan_in(scheme):
    """The active block has the narrow model's variance; the padding is zero."""
    true_width, padded = 6, 64
    keys = jax.random.split(jax.random.key(5), 400)
    params = jax.vmap(
        lambda k: models.init_padded(k, jnp.array([true_width, true_width]), (8, padded, padded, 8),
                                     init_scheme=scheme)
    )(keys)
    kernel = np.asarray(params["layers"][1]["kernel"])  # [draw, fan_in, fan_out]
    active = kernel[:, :true_width, :true_width].ravel()
    expected_var = {"torch_uniform": 1 / (3 * true_width), "lecun_normal": 1 / true_width,
                    "he_normal": 2 / true_width}[scheme]
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
        (lambda: models.apply(models.init(jax.random.key(0), (2, 3, 1)), jnp.ones((1, 2)),
                              activation="swish"), "activation"),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()
