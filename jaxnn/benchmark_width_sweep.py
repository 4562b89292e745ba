"""``width_sweep`` against the plain vmap-over-seeds loop, for ``experiments/bench_width_sweep.py``.

README.md's section on this benchmark says what is compared and why. Here: two user modules
written as a researcher would (``CNN``, ``MLP``), a learnable toy task (``make_data``), the
plain loop (``plain_loop``: per width, one ``jax.jit`` of a ``jax.vmap``-over-seeds SGD step,
a Python loop over epochs and mini-batches), and ``compare_round``, which times both side by
side, each "cold" (every cache cleared, as a fresh process) then "warm" (at once again), with
the seconds JAX spent tracing, lowering and compiling read from ``jax.monitoring``; "run" is
the warm time less those. ``sets_round`` times one call over three training sets
(``make_sets``) against one call per set.
"""

from __future__ import annotations

import functools
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from scipy import stats as scipy_stats

from jaxnn import _module_family as module_family
from jaxnn import benchmark, module_sweep, stats

SEEDS, N_TRAIN, N_TEST, BATCH, LEARNING_RATE, MOMENTUM = 3, 1024, 512, 64, 0.05, 0.9
METHODS = ("plain", "width_sweep")
PHASES = ("cold", "warm")
TEACHER_STREAM = 2**20  # fold_in tag of the teacher's key
AGREE_ALPHA = 0.05  # family-wise level of the test that both methods' errors agree
# plain / width_sweep ratios: their label, and the phase and field they divide
RATIOS = {"cold": ("cold", "seconds"), "warm": ("warm", "seconds"), "run": ("warm", "run_seconds")}


class CNN(nnx.Module):
    """Two 3x3 convs 1 -> C -> C with ReLU, global average pool, a linear layer to 10."""

    def __init__(self, width: int, *, rngs: nnx.Rngs):
        self.conv1 = nnx.Conv(1, width, (3, 3), rngs=rngs)
        self.conv2 = nnx.Conv(width, width, (3, 3), rngs=rngs)
        self.head = nnx.Linear(width, 10, rngs=rngs)

    def __call__(self, x):
        x = jax.nn.relu(self.conv2(jax.nn.relu(self.conv1(x))))
        return self.head(x.mean(axis=(1, 2)))


class MLP(nnx.Module):
    """64 -> W -> W -> 10 with ReLU, on the flattened 8x8 image."""

    def __init__(self, width: int, *, rngs: nnx.Rngs):
        self.hidden1 = nnx.Linear(64, width, rngs=rngs)
        self.hidden2 = nnx.Linear(width, width, rngs=rngs)
        self.head = nnx.Linear(width, 10, rngs=rngs)

    def __call__(self, x):
        x = jax.nn.relu(self.hidden1(x.reshape(x.shape[0], -1)))
        return self.head(jax.nn.relu(self.hidden2(x)))


MODELS = {"cnn": CNN, "mlp": MLP}


def make_data(seed: int) -> dict[str, np.ndarray]:
    """8x8x1 Gaussian images drawn with ``numpy.random.default_rng(seed)``, labelled by a
    random width-8 ``CNN`` (logits standardised per class, so the classes are about balanced).

    The teacher's key is one no trained member draws from (the plain loop's members use
    ``key(seed + s)``; a teacher at ``key(seed)`` would be seed 0's width-8 starting point).
    """
    x = np.random.default_rng(seed).standard_normal((N_TRAIN + N_TEST, 8, 8, 1), np.float32)
    teacher_key = jax.random.fold_in(jax.random.key(seed), TEACHER_STREAM)
    logits = np.asarray(CNN(8, rngs=nnx.Rngs(teacher_key))(jnp.asarray(x)))
    y = np.argmax((logits - logits.mean(0)) / logits.std(0), axis=1).astype(np.int32)
    return dict(x_train=x[:N_TRAIN], y_train=y[:N_TRAIN], x_test=x[N_TRAIN:], y_test=y[N_TRAIN:])


# --- the plain loop ------------------------------------------------------------------------------

OPTIMIZER = optax.sgd(LEARNING_RATE, momentum=MOMENTUM)


@functools.partial(jax.jit, static_argnums=0)
def plain_step(graphdef, params, opt_state, x, y):
    def one(params, opt_state):
        def loss_fn(p):
            logits = nnx.merge(graphdef, p)(x)
            return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt_state = OPTIMIZER.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    return jax.vmap(one)(params, opt_state)


@functools.partial(jax.jit, static_argnums=0)
def plain_error(graphdef, params, x, y):
    logits = jax.vmap(lambda p: nnx.merge(graphdef, p)(x))(params)
    return jnp.mean(jnp.argmax(logits, -1) != y, axis=-1)


def plain_loop(module, data, widths, epochs: int, seed: int) -> dict[int, np.ndarray]:
    """``{width: test error [seed]}``: one width at a time, seeds vmapped, one batch order."""
    x, y = jnp.asarray(data["x_train"]), jnp.asarray(data["y_train"])
    errors, key = {}, jax.random.key(seed)
    for width in widths:
        models = [module(width, rngs=nnx.Rngs(jax.random.key(seed + s))) for s in range(SEEDS)]
        graphdef = nnx.split(models[0])[0]
        params = jax.tree.map(lambda *a: jnp.stack(a), *(nnx.split(m)[1] for m in models))
        opt_state = jax.vmap(OPTIMIZER.init)(params)
        for _ in range(epochs):
            key, shuffle = jax.random.split(key)
            order = jax.random.permutation(shuffle, N_TRAIN)
            xs, ys = x[order], y[order]
            for start in range(0, N_TRAIN, BATCH):
                batch = slice(start, start + BATCH)
                params, opt_state, _ = plain_step(graphdef, params, opt_state, xs[batch], ys[batch])
        error = plain_error(graphdef, params, jnp.asarray(data["x_test"]), data["y_test"])
        errors[width] = np.asarray(error)
    return errors


def _sweep_options(widths, epochs: int, seed: int, mesh, precision: str) -> dict:
    """The ``width_sweep`` arguments that train what ``plain_loop`` trains."""
    return dict(
        widths=widths, seeds=SEEDS, loss="softmax_cross_entropy", optimizer=OPTIMIZER,
        epochs=epochs, batch_size=BATCH, key=seed, progress=False, mesh=mesh,
        matmul_precision=precision,
    )  # fmt: skip


def sweep_errors(
    module, data, widths, epochs: int, seed: int, mesh=None, matmul_precision: str = "highest"
) -> dict:
    """``{width: test error [seed]}`` from one ``jaxnn.width_sweep`` call (and its notes)."""
    options = _sweep_options(widths, epochs, seed, mesh, matmul_precision)
    result = module_sweep.width_sweep(module, data, **options)
    for note in result.notes:
        print(f"width_sweep note: {note}")
    errors = {w: result.curves[("data", 0, w)]["test_error"][:, -1] for w in widths}
    return errors | {"groups": [g["padded_width"] for g in result.config["groups"]]}


# --- timing --------------------------------------------------------------------------------------


def timed(run) -> dict:
    """Wall seconds of ``run()``, the part spent tracing, lowering and compiling, and the rest."""
    benchmark.listen_to_compiles()
    before = dict(benchmark.compile_counts)
    start = time.perf_counter()
    output = run()
    seconds = time.perf_counter() - start
    compile_seconds = benchmark.compile_counts["compile_seconds"] - before["compile_seconds"]
    return {
        "seconds": seconds,
        "compile_seconds": compile_seconds,
        "run_seconds": seconds - compile_seconds,
        "xla_compiles": benchmark.compile_counts["xla_compiles"] - before["xla_compiles"],
        "output": output,
    }


def compare_round(
    index: int, widths, epochs: int, seed: int, data, *, mesh=None, precision="highest", log=print
):
    """Both methods on both models, each cold (every cache cleared) then warm; round ``index``
    runs them in the other order from round ``index - 1``.

    Returns:
        ``{model: {method: {phase: timed(...)}}}``.
    """
    entry = {}
    for name, module in MODELS.items():
        methods = {
            "plain": lambda m=module: plain_loop(m, data, widths, epochs, seed),
            "width_sweep": lambda m=module: sweep_errors(
                m, data, widths, epochs, seed, mesh, precision
            ),
        }
        entry[name] = {}
        for method in METHODS if index % 2 == 0 else METHODS[::-1]:
            benchmark.forget_compiled_programs()
            entry[name][method] = {phase: timed(methods[method]) for phase in PHASES}
            log(
                f"round {index + 1} {name} {method}: "
                + ", ".join(
                    f"{phase} {t['seconds']:.1f} s ({t['compile_seconds']:.1f} s compiling, "
                    f"{t['xla_compiles']} XLA compiles)"
                    for phase, t in entry[name][method].items()
                )
            )
    return entry


def welch_p(a, b) -> float:
    """Two-sided p of Welch's t-test that samples ``a`` and ``b`` have one mean.

    Without spread in either sample the test is undefined; then the means agree
    exactly (p = 1) or not at all (p = 0).
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if np.ptp(a) == 0 and np.ptp(b) == 0:
        return float(a.mean() == b.mean())
    return float(scipy_stats.ttest_ind(a, b, equal_var=False).pvalue)


def summarise(rounds: list[dict], widths) -> dict:
    """Medians over rounds of every time, the ratios plain / width_sweep, the test errors."""
    summary = {}
    for name in MODELS:
        row, by_model = {}, [r[name] for r in rounds]
        for method in METHODS:
            for phase in PHASES:
                for field in ("seconds", "compile_seconds", "run_seconds"):
                    values = [t[method][phase][field] for t in by_model]
                    row[f"{method}_{phase}_{field}"] = float(np.median(values))
            # Every round trains the same members: the last round's errors stand for all.
            errors = rounds[-1][name][method]["warm"]["output"]
            per_width = {w: stats.seed_summary(errors[w]) for w in widths}
            row[f"{method}_test_error"] = {w: s["mean"] for w, s in per_width.items()}
            row[f"{method}_test_error_se"] = {w: s["standard_error"] for w, s in per_width.items()}
        for label, (phase, field) in RATIOS.items():
            ratios = [t["plain"][phase][field] / t["width_sweep"][phase][field] for t in by_model]
            row[f"ratio_{label}"] = float(np.median(ratios))
        # Different init streams and batch orders: the two methods' seeds are independent
        # samples, so each width is a Welch t-test, Holm over the widths (a scan).
        final = {method: rounds[-1][name][method]["warm"]["output"] for method in METHODS}
        p_values = [welch_p(final["plain"][w], final["width_sweep"][w]) for w in widths]
        adjusted = stats.holm(p_values)
        row["errors_holm_p"] = dict(zip(widths, map(float, adjusted), strict=True))
        row["errors_agree"] = {
            w: bool(p > AGREE_ALPHA) for w, p in zip(widths, adjusted, strict=True)
        }
        row["width_sweep_groups"] = final["width_sweep"]["groups"]
        summary[name] = row
    return summary


def useful_gflop(module, data, widths, epochs: int) -> float:
    """The training's useful GFLOP: every seed's forward and backward passes over every
    example of every epoch at its true width (XLA's count of one example's forward pass,
    times 3); padding and evaluation are not counted."""
    family = module_family.ModuleFamily(module, data["x_train"].shape[1:])
    n_train = data["x_train"].shape[0]
    return SEEDS * epochs * n_train * sum(family.flops_per_example(w) for w in widths) / 1e9


def useful_rates(summary: dict, gflop: dict, matmul_gflops: float) -> dict:
    """``{model: {method: (useful GFLOP/s of the warm run, its share of the matmul rate)}}``."""
    return {
        name: {
            method: (
                gflop[name] / row[f"{method}_warm_run_seconds"],
                gflop[name] / row[f"{method}_warm_run_seconds"] / matmul_gflops,
            )
            for method in METHODS
        }
        for name, row in summary.items()
    }


# --- one call over several training sets ---------------------------------------------------------

SET_NOISE = 0.2  # the noisy set's share of labels replaced by a uniform draw


def make_sets(seed: int) -> dict[str, dict[str, np.ndarray]]:
    """Three training sets of ``make_data(seed)`` sharing its test set: all N = 1,024 examples,
    the first half, and all with ``SET_NOISE`` of the labels redrawn (``default_rng(seed)``)."""
    data = make_data(seed)
    half = N_TRAIN // 2
    rng = np.random.default_rng(seed)
    noisy = data["y_train"].copy()
    flip = rng.random(N_TRAIN) < SET_NOISE
    noisy[flip] = rng.integers(0, 10, int(flip.sum()))
    return {
        f"n{N_TRAIN}": data,
        f"n{half}": dict(data, x_train=data["x_train"][:half], y_train=data["y_train"][:half]),
        f"n{N_TRAIN}_noise{SET_NOISE:g}": dict(data, y_train=noisy),
    }


def sets_round(
    index: int, module, sets, widths, epochs: int, seed: int, *, mesh=None, precision="highest"
) -> dict:
    """Warm seconds of one ``width_sweep`` call over every set against one call per set
    (both run once untimed first, so neither pays a compile); round ``index`` runs them in
    the other order from round ``index - 1``."""
    options = _sweep_options(widths, epochs, seed, mesh, precision)
    methods = {
        "one_call": lambda: module_sweep.width_sweep(module, sets, **options),
        "separate_calls": lambda: [
            module_sweep.width_sweep(module, data, **options) for data in sets.values()
        ],
    }
    order = list(methods) if index % 2 == 0 else list(methods)[::-1]
    for name in order:
        methods[name]()
    times = {name: timed(methods[name]) for name in order}
    entry = {name: {k: v for k, v in t.items() if k != "output"} for name, t in times.items()}
    entry["ratio"] = entry["separate_calls"]["seconds"] / entry["one_call"]["seconds"]
    return entry
