import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn import mnist1d

SMALL = mnist1d.MNIST1DConfig(num_samples=200, train_split=0.25)


def test_generate_gives_the_documented_split_and_leaves_numpy_global_state_alone():
    np.random.seed(123)
    expected = np.random.random(3)
    np.random.seed(123)
    dataset = mnist1d.generate(SMALL)
    after = np.random.random(3)
    np.testing.assert_array_equal(after, expected)  # make_dataset reseeds; we restore
    assert dataset.x_train.shape == (SMALL.n_train, mnist1d.INPUT_LENGTH) == (50, 40)
    assert dataset.x_test.shape == (150, 40)
    assert dataset.x_train.dtype == np.float32 and dataset.y_train.dtype == np.int32
    assert set(np.unique(dataset.y_test)) <= set(range(mnist1d.NUM_CLASSES))


def test_load_caches_the_arrays_and_regenerates_a_damaged_cache(tmp_path, monkeypatch):
    first = mnist1d.load(SMALL, tmp_path)
    path = mnist1d.cache_path(SMALL, tmp_path)
    assert path.exists()

    def no_generation(config):
        raise AssertionError("the cache must be used")

    with monkeypatch.context() as patch:
        patch.setattr(mnist1d, "generate", no_generation)
        again = mnist1d.load(SMALL, tmp_path)
    for got, expected in zip(again, first):
        np.testing.assert_array_equal(got, expected)
    path.write_bytes(path.read_bytes()[:100])  # a truncated file, as an interrupted copy leaves
    repaired = mnist1d.load(SMALL, tmp_path)
    np.testing.assert_array_equal(repaired.x_train, first.x_train)
    assert len(path.read_bytes()) > 100


def test_corrupt_labels_replaces_the_documented_fraction():
    """With q = 0.3 a label changes with probability 0.9 q = 0.27 (4 standard errors)."""
    n = 20_000
    labels = jnp.asarray(np.arange(n) % mnist1d.NUM_CLASSES, jnp.int32)
    key = jax.random.key(0)
    noisy = np.asarray(mnist1d.corrupt_labels(key, labels, 0.3))
    changed = np.mean(noisy != np.asarray(labels))
    assert abs(changed - 0.27) < 4 * math.sqrt(0.27 * 0.73 / n)
    assert noisy.min() >= 0 and noisy.max() < mnist1d.NUM_CLASSES
    np.testing.assert_array_equal(mnist1d.corrupt_labels(key, labels, 0.0), labels)
    # One key: a larger fraction relabels a superset of the smaller one's examples.
    less = np.asarray(mnist1d.corrupt_labels(key, labels, 0.1)) != np.asarray(labels)
    assert np.all(noisy[less] != np.asarray(labels)[less])


@pytest.mark.parametrize("fraction", [-0.1, 1.5])
def test_corrupt_labels_rejects_a_fraction_outside_the_unit_interval(fraction):
    with pytest.raises(ValueError, match="label_noise"):
        mnist1d.corrupt_labels(jax.random.key(0), jnp.zeros(3, jnp.int32), fraction)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"num_samples": 5}, "num_samples"),
        ({"train_split": 1.0}, "train_split"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_config_names_the_field(kwargs, name):
    with pytest.raises(ValueError, match=name):
        mnist1d.MNIST1DConfig(**kwargs)
