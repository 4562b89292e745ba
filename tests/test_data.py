import jax
import numpy as np
import pytest

from jaxnn import data

# make_dataset runs op by op, and every new array shape compiles each op again: the tests
# share one test-set and normalisation size (and training size where they can).
SIZES = {"n_test": 20_000, "normalisation_samples": 50_000}
N_TRAIN = 100


@pytest.mark.parametrize("noise_std", [0.5, 1.0])
def test_teacher_scores_the_bayes_risk_on_the_test_set(noise_std):
    config = data.TeacherConfig(noise_std=noise_std, **SIZES)
    dataset = data.make_dataset(jax.random.key(0), config, N_TRAIN)
    teacher = data.teacher_of(config)
    # In NumPy: eager jnp arithmetic compiles a program per op.
    residual = np.asarray(data.teacher_fn(teacher, dataset.x_test)) - np.asarray(dataset.y_test)
    teacher_mse = float(np.mean(residual.astype(np.float64) ** 2))
    assert dataset.bayes_risk == noise_std**2
    # The teacher's error is pure noise: within 4 standard errors of s^2.
    assert abs(teacher_mse - noise_std**2) < 4 * data.bayes_risk_standard_error(config)


def test_teacher_outputs_are_normalised():
    config = data.TeacherConfig(noise_std=0.0, **SIZES)
    dataset = data.make_dataset(jax.random.key(0), config, N_TRAIN)
    y = np.asarray(dataset.y_test)
    # Var of a sample variance of n roughly Gaussian values is about 2/n; the teacher
    # was normalised on an independent sample, so both errors add.
    tolerance = 5 * np.sqrt(2 / 20_000 + 2 / 50_000)
    np.testing.assert_array_less(np.abs(y.var(axis=0) - 1), tolerance)
    np.testing.assert_array_less(np.abs(y.mean(axis=0)), 5 * np.sqrt(1 / 20_000 + 1 / 50_000))


def test_same_key_same_data_and_seeds_differ():
    config = data.TeacherConfig(**SIZES)
    first = data.make_dataset(jax.random.key(3), config, 50, n_draws=2)
    again = data.make_dataset(jax.random.key(3), config, 50, n_draws=2)
    other = data.make_dataset(jax.random.key(4), config, 50, n_draws=2)
    assert first.x_train.shape == (2, 50, 8) and first.y_train.shape == (2, 50, 8)
    np.testing.assert_array_equal(first.x_train, again.x_train)
    np.testing.assert_array_equal(first.y_train, again.y_train)
    assert not np.allclose(first.x_train, other.x_train)
    assert not np.allclose(first.x_train[0], first.x_train[1])
    # The test set belongs to the teacher seed, not to the training key.
    np.testing.assert_array_equal(first.x_test, other.x_test)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"noise_std": -1.0}, "noise_std"),
        ({"n_test": 0}, "n_test"),
        ({"teacher_hidden": (0,)}, "teacher_hidden"),
        ({"teacher_activation": "gelu"}, "activation"),
    ],
)
def test_bad_config_raises(kwargs, name):
    with pytest.raises(ValueError, match=name):
        data.TeacherConfig(**kwargs)


def test_bad_training_size_raises():
    with pytest.raises(ValueError, match="n_train"):
        data.make_dataset(jax.random.key(0), data.TeacherConfig(normalisation_samples=10), 0)
