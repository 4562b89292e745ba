r"""Teacher–student regression data with a known optimal risk.

We do not have the course notebook, so the generator is ours:

.. math::
    x \sim \mathcal N(0, I_d),\qquad y = g(x) + \varepsilon,\qquad
    \varepsilon \sim \mathcal N(0, s^2 I_O),

where the teacher :math:`g: \mathbb R^d \to \mathbb R^O` is a fixed random
ReLU network (default 8 -> 32 -> 8, PyTorch-uniform weights and biases) drawn
from its own teacher seed and affinely normalised so that every output has mean
0 and variance 1 under the input distribution (estimated once from
``normalisation_samples`` draws).

Loss convention, used everywhere in the project: MSE is the mean over samples
*and* output dimensions, :math:`\frac{1}{NO}\sum_{n,o}(\hat y_{no}-y_{no})^2`.
The Bayes predictor is :math:`g` itself, so the theoretical optimal test error
(on noisy test targets, like the training targets) is

.. math::
    R_t = \mathbb E\,\tfrac1O\|g(x) + \varepsilon - g(x)\|^2 = s^2 .

No model can have expected test MSE below :math:`s^2`; a measured test loss is
an estimate with standard error ``bayes_risk_standard_error`` (the test noise
is a finite sample: :math:`\mathrm{se} = s^2\sqrt{2/(n_\text{test} O)}`).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import NamedTuple

import jax

from jaxnn import models, validation


@dataclasses.dataclass(frozen=True, kw_only=True)
class TeacherConfig:
    """The data-generating process.

    Attributes:
        input_dim: d, the input dimension (8 in the assignment).
        output_dim: O, the output dimension (8 in the assignment).
        teacher_hidden: hidden widths of the teacher network g.
        teacher_activation: hidden activation of g.
        noise_std: s, the standard deviation of the label noise per output.
        n_test: size of the independent, noisy test set.
        teacher_seed: seeds g and the test set, shared by every run.
        normalisation_samples: draws used to normalise g to unit variance.
    """

    input_dim: int = 8
    output_dim: int = 8
    teacher_hidden: tuple[int, ...] = (32,)
    teacher_activation: str = "relu"
    noise_std: float = 1.0
    n_test: int = 10_000
    teacher_seed: int = 1234
    normalisation_samples: int = 100_000

    def __post_init__(self):
        validation.at_least(self, 1, "input_dim", "output_dim", "n_test", "normalisation_samples")
        models.check_layer_sizes((1, *self.teacher_hidden, 1), name="teacher_hidden")
        models.check_activation(self.teacher_activation)
        if not self.noise_std >= 0:
            raise ValueError(f"noise_std: must be >= 0, got {self.noise_std}")


class Teacher(NamedTuple):
    """g(x) = (net(x) - shift) / scale."""

    params: dict
    shift: jax.Array
    scale: jax.Array
    activation: str


class Dataset(NamedTuple):
    """Training sets (possibly a leading ``[seed]`` axis) and the shared test set."""

    x_train: jax.Array
    y_train: jax.Array
    x_test: jax.Array
    y_test: jax.Array
    bayes_risk: float


def make_teacher(key: jax.Array, config: TeacherConfig) -> Teacher:
    """Draws the teacher network and normalises each output to mean 0, variance 1."""
    key_params, key_norm = jax.random.split(key)
    sizes = (config.input_dim, *config.teacher_hidden, config.output_dim)
    params = models.init(key_params, sizes, init_scheme="torch_uniform")
    x = jax.random.normal(key_norm, (config.normalisation_samples, config.input_dim))
    raw = models.apply(params, x, activation=config.teacher_activation)
    return Teacher(params, raw.mean(axis=0), raw.std(axis=0), config.teacher_activation)


def teacher_fn(teacher: Teacher, x: jax.Array) -> jax.Array:
    """g(x), the noise-free regression function (the Bayes predictor)."""
    raw = models.apply(teacher.params, x, activation=teacher.activation)
    return (raw - teacher.shift) / teacher.scale


def sample(key: jax.Array, teacher: Teacher, n: int, noise_std: float):
    """n pairs ``(x, y)`` with ``x ~ N(0, I)`` and ``y = g(x) + N(0, s^2 I)``."""
    if n < 1:
        raise ValueError(f"n: must be >= 1, got {n}")
    key_x, key_noise = jax.random.split(key)
    input_dim = teacher.params["layers"][0]["kernel"].shape[0]
    x = jax.random.normal(key_x, (n, input_dim))
    clean = teacher_fn(teacher, x)
    return x, clean + noise_std * jax.random.normal(key_noise, clean.shape)


def bayes_risk(config: TeacherConfig) -> float:
    """R_t = s^2 under the project's MSE convention (mean over samples and outputs)."""
    return float(config.noise_std) ** 2


def bayes_risk_standard_error(config: TeacherConfig) -> float:
    """Standard error of the teacher's own test MSE: s^2 sqrt(2 / (n_test O)), since the mean of
    ``n_test*O`` squared N(0, s^2) draws has variance ``2 s^4 / (n_test O)``."""
    return config.noise_std**2 * math.sqrt(2.0 / (config.n_test * config.output_dim))


def make_dataset(
    key: jax.Array, config: TeacherConfig, n_train: int, *, n_draws: int | None = None
) -> Dataset:
    """Training set(s) of N = ``n_train`` from ``key``; teacher and test set from
    ``config.teacher_seed``. With ``n_draws``, ``x_train`` is ``[n_draws, n_train, d]`` (one
    set per seed, each from its own split of ``key``); otherwise ``[n_train, d]``."""
    if n_train < 1:
        raise ValueError(f"n_train: must be >= 1, got {n_train}")
    if n_draws is not None and n_draws < 1:
        raise ValueError(f"n_draws: must be >= 1, got {n_draws}")
    # The noise level is an argument, not part of the compiled program's key: studies
    # that sweep it draw every level with one program.
    noiseless = dataclasses.replace(config, noise_std=0.0)
    x_train, y_train, x_test, y_test = _draw_dataset(
        key, config.noise_std, noiseless, n_train, n_draws
    )
    return Dataset(x_train, y_train, x_test, y_test, bayes_risk(config))


# One compiled program per (config, N, draws): drawn op by op, the teacher, its
# normalisation and the samples are a hundred small eager programs, each compiled once.
@functools.partial(jax.jit, static_argnames=("config", "n_train", "n_draws"))
def _draw_dataset(
    key: jax.Array, noise_std, config: TeacherConfig, n_train: int, n_draws: int | None
):
    key_teacher, key_test = jax.random.split(jax.random.key(config.teacher_seed))
    teacher = make_teacher(key_teacher, config)
    x_test, y_test = sample(key_test, teacher, config.n_test, noise_std)
    if n_draws is None:
        x_train, y_train = sample(key, teacher, n_train, noise_std)
    else:
        keys = jax.random.split(key, n_draws)
        x_train, y_train = jax.vmap(lambda k: sample(k, teacher, n_train, noise_std))(keys)
    return x_train, y_train, x_test, y_test


def teacher_of(config: TeacherConfig) -> Teacher:
    """The teacher that ``make_dataset`` uses for ``config``."""
    key_teacher, _ = jax.random.split(jax.random.key(config.teacher_seed))
    return make_teacher(key_teacher, config)
