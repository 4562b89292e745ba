r"""Double descent without a network: minimum-norm least squares on p isotropic Gaussian features.

The exact linear baseline of the double-descent studies (Hastie, Montanari,
Rosset, Tibshirani 2019, "Surprises in high-dimensional ridgeless least squares
interpolation"; Belkin, Hsu, Xu 2019, "Two models of double descent for weak
features"). For each seed, draw

.. math::

    \beta \sim \mathrm{Unif}(\lVert\beta\rVert = r) \subset \mathbb R^p,\quad
    X \in \mathbb R^{n\times p},\ X_{ij} \sim \mathcal N(0, 1),\quad
    y = X\beta + s\varepsilon,\ \varepsilon \sim \mathcal N(0, I_n),

and fit the minimum-norm least-squares solution :math:`\hat\beta = X^+ y`
(ordinary least squares for :math:`p \le n`, the interpolator of smallest norm
for :math:`p > n`). For a test point :math:`x \sim \mathcal N(0, I_p)` the
excess test risk is :math:`\mathbb E_x (x^\top\hat\beta - x^\top\beta)^2 =
\lVert\hat\beta - \beta\rVert^2` exactly, and for Gaussian design its
expectation over X, ε and β is known at finite n:

.. math::

    \mathbb E\lVert\hat\beta - \beta\rVert^2 =
    \begin{cases}
      s^2\,\dfrac{p}{n - p - 1}, & p \le n - 2,\\[1ex]
      s^2\,\dfrac{n}{p - n - 1} + r^2\Bigl(1 - \dfrac np\Bigr), & p \ge n + 2,
    \end{cases}

the first from the mean of an inverse Wishart matrix,
:math:`\mathbb E\,\mathrm{tr}(X^\top X)^{-1} = p/(n-p-1)`, the second from
:math:`\mathbb E\,\mathrm{tr}(XX^\top)^{-1} = n/(p-n-1)` plus the part of β
outside the row space of X, whose squared norm has mean :math:`r^2(1 - n/p)`.
Both blow up at the interpolation threshold p = n: the smallest singular value
of X goes to zero there, and the noise fitted along its direction grows without
bound. As n, p → ∞ with p/n → γ the formula tends to the proportional limit of
Hastie et al. (2019), :math:`s^2\gamma/(1-\gamma)` and
:math:`r^2(1 - 1/\gamma) + s^2/(\gamma - 1)`.

Heavy tails near p = n: the second moment of an inverse Wishart matrix is
finite only when :math:`|p - n| \ge 4`, so closer to the threshold the risk of
a single draw has infinite variance (and for :math:`|p - n| \le 1` infinite
mean), a sample mean's standard error means nothing there, and the 3-standard-
error check of measurement against formula is made only where
:math:`|p - n| \ge` ``CHECK_MARGIN`` = 5.

Numerics: :math:`\hat\beta` is solved through a Cholesky factor of the smaller
Gram matrix (:math:`X^\top X` or :math:`XX^\top`), which equals
:math:`X^+y` whenever X has full rank (almost surely) and is over ten times
faster on CPU than the SVD behind ``jnp.linalg.lstsq`` (the tests compare it with
``jnp.linalg.pinv``). Its relative error is about :math:`\kappa(X)^2` times the
unit roundoff, with :math:`\kappa(X) \approx (\sqrt n + \sqrt p)/|\sqrt n -
\sqrt p|` away from p = n, so the study solves in float64 by default
(``Config.dtype``), where even p = n is resolved. In float32, measured on the
same draws at n = 100, one draw's risk is off by at most 1e-3 relative at
:math:`|p - n| = 5` and the mean over draws by 2e-5, far under the standard
error; at :math:`|p - n| \le 1` about one draw in a hundred is NaN and the rest
can lose every digit. Either way the draws themselves are float32 normals, so
the two dtypes see the same random numbers.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.linalg import cho_factor, cho_solve

from jaxnn import io, placement, precision, validation, verdicts
from jaxnn.formatting import details, fmt, p_text, plus_minus, table
from jaxnn.studies import NoProgress

# Points with |p - n| below this are measured but not checked against the formula: their
# risk has infinite variance for |p - n| <= 3, and at 4 the standard error itself is unreliable.
CHECK_MARGIN = 5
# How many standard errors a checked measurement may lie from the formula.
CHECK_STANDARD_ERRORS = 3.0
MAX_FEATURES = 100_000
# Bounds the largest design matrix a call materializes (chunk_seeds × n × max p elements).
MAX_ELEMENTS = 10**9
DTYPES = ("float32", "float64")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    """What one run of the study computes.

    Attributes:
        n: training points n.
        noise_std: label-noise standard deviation s.
        beta_norm: r = ‖β‖; β is redrawn uniformly on that sphere for every seed.
        ps: feature counts p, sorted and unique.
        seeds: independent draws (β, X, ε) per p.
        seed: master seed; p and the draw index are folded into ``jax.random.key(seed)``.
        chunk_seeds: draws per compiled call (memory only: results do not depend on it).
        dtype: ``"float64"`` (default; exact even at p = n) or ``"float32"`` (see the module
            docstring for its error near p = n).
        matmul_precision: matmul precision the functions are traced at (``jaxnn.precision``).
    """

    n: int = 100
    noise_std: float = 0.5
    beta_norm: float = 1.0
    # Through the threshold but not at p = n, where the expected risk is infinite and a
    # sample mean estimates nothing (``--ps`` may still ask for it).
    ps: tuple[int, ...] = (*range(10, 91, 10), 95, 98, 102, 105, 110, 120, 150, 200, 250, 300, 400)
    seeds: int = 1500
    seed: int = 0
    chunk_seeds: int = 250
    dtype: str = "float64"
    matmul_precision: str = precision.DEFAULT

    def __post_init__(self):
        for name in ("n", "seeds", "chunk_seeds"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name}: must be an integer >= 1, got {getattr(self, name)!r}")
        if self.seeds < 2:
            raise ValueError(f"seeds: need >= 2 for a standard error, got {self.seeds}")
        validation.seed(self.seed)
        for name in ("noise_std", "beta_norm"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{name}: must be finite and >= 0, got {value!r}")
        ps = tuple(self.ps)
        if not ps or not all(isinstance(p, int) and p >= 1 for p in ps):
            raise ValueError(f"ps: need integers >= 1, got {self.ps!r}")
        if max(ps) > MAX_FEATURES:
            raise ValueError(f"ps: every p must be <= {MAX_FEATURES}, got {max(ps)}")
        if ps != tuple(sorted(set(ps))):
            raise ValueError(f"ps: must be sorted and unique, got {self.ps!r}")
        if self.chunk_seeds * self.n * max(ps) > MAX_ELEMENTS:
            raise ValueError(
                f"chunk_seeds: {self.chunk_seeds} draws of {self.n} × {max(ps)} "
                f"exceed {MAX_ELEMENTS:.0e} elements per call; lower it"
            )
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype: unknown {self.dtype!r}; choose one of {list(DTYPES)}")
        precision.check_precision(self.matmul_precision)


QUICK = Config(ps=(50, 150, 300), seeds=200)
# A dense grid through the threshold (every p within 14 of n but the three with infinite
# expected risk) and 100 000 draws per p, sized for a GPU (not yet run on one): 4e11 flops
# and 4e9 normals at p = 400 per p, seconds at float64 rates, plus a compilation per p.
FULL = Config(
    ps=tuple(sorted({*range(10, 401, 5), *range(86, 115)} - {99, 100, 101})),
    seeds=100_000,
    chunk_seeds=5000,
)


def theoretical_excess_risk(p: int, n: int, noise_std: float, beta_norm: float) -> float:
    r"""E‖β̂ − β‖² of minimum-norm least squares with Gaussian design, exact at finite n.

    The module docstring's formula (Belkin, Hsu, Xu 2019; Hastie et al. 2019 for its
    proportional limit); ``math.inf`` for :math:`|p - n| \le 1` and s > 0, where the mean of
    the inverse Wishart trace diverges (with s = 0 the risk is the bias alone, finite).

    Example:
        >>> round(theoretical_excess_risk(50, 100, 0.5, 1.0), 4)
        0.2551
    """
    noise_var, signal = noise_std**2, beta_norm**2
    bias = signal * (1 - n / p) if p > n else 0.0
    if abs(p - n) <= 1:
        return math.inf if noise_var > 0 else bias
    if p < n:
        return noise_var * p / (n - p - 1)
    return noise_var * n / (p - n - 1) + bias


def min_norm_solution(x: jax.Array, y: jax.Array) -> jax.Array:
    r"""β̂ = X⁺y for X of full rank, through the Cholesky factor of the smaller Gram matrix.

    :math:`\hat\beta = (X^\top X)^{-1}X^\top y` when p ≤ n (least squares) and
    :math:`\hat\beta = X^\top(XX^\top)^{-1}y` when p > n (the interpolator of smallest
    norm, which lies in the row space of X). The branch is on static shapes: x ``[n, p]``,
    y ``[n]``.
    """
    n, p = x.shape
    if p <= n:
        return cho_solve(cho_factor(x.T @ x), x.T @ y)
    return x.T @ cho_solve(cho_factor(x @ x.T), y)


def min_norm_excess_risk(key: jax.Array, p: int, n: int, noise_std: float, beta_norm: float):
    """‖β̂ − β‖² for one draw of β (uniform on the sphere of radius ``beta_norm``), X and ε.

    Solves in the default float dtype (float64 under ``jax.enable_x64``) from float32
    normal draws; ``p`` and ``n`` are static. For isotropic test inputs this is exactly
    the excess test risk of the draw.
    """
    # One draw sliced into β's direction, X and ε rather than three keyed streams: each
    # threefry call adds about a second of XLA compilation on CPU, paid once per p. The
    # draw is float32, widened to the working dtype: the random bits are most of the run
    # time and float64 normals need twice as many, while Gaussians rounded to 24 bits
    # change no moment measured here (its standard errors are 1e-3 relative or more).
    normals = jax.random.normal(key, (p + n * p + n,), dtype=jnp.float32)
    normals = normals.astype(jnp.result_type(float))
    direction, design, noise = jnp.split(normals, [p, p + n * p])
    beta = beta_norm * direction / jnp.linalg.norm(direction)
    x = design.reshape(n, p)
    y = x @ beta + noise_std * noise
    return jnp.sum((min_norm_solution(x, y) - beta) ** 2)


@functools.lru_cache(maxsize=256)
def make_excess_risk_fn(p, n, noise_std, beta_norm, matmul_precision=precision.DEFAULT):
    """``excess_risk_fn(key_p, seed_ids) -> excess_risk[seed]``, jitted and pinned to the precision.

    The one-draw risk vmapped over ``fold_in(key_p, seed_id)``: a draw depends only on the
    key and its seed id, so any chunking of the ids (and any sharding of them over devices)
    gives the same numbers. One compilation per p: the shapes of X differ between p, so the
    study loops over p in Python rather than padding every design to the largest p, which
    would cost max(ps)/p times the flops at small p. Cached, so a second run with the same
    set-up (another seed, more draws) compiles nothing.
    """

    def excess_risk_fn(key, seed_ids):
        def one(seed_id):
            key_draw = jax.random.fold_in(key, seed_id)
            return min_norm_excess_risk(key_draw, p, n, noise_std, beta_norm)

        return jax.vmap(one)(seed_ids)

    return jax.jit(precision.pinned(excess_risk_fn, matmul_precision))


def seed_sharding(mesh) -> jax.sharding.NamedSharding | None:
    """How a chunk's seed ids are placed: over ``mesh`` on accelerators, on one device on CPU.

    On CPU the draws stay on one device: with the batched Cholesky factorizations and
    triangular solves (LAPACK custom calls) running on two host devices at once, jaxlib
    0.10.2 deadlocks in about one run in eight (measured on 2 cores; on one device it
    never did in dozens of runs).
    """
    if mesh is None or mesh.size == 1 or mesh.devices.flat[0].platform == "cpu":
        return None
    return jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec(mesh.axis_names))


def chunk_size(config: Config, sharding) -> int:
    """Draws per compiled call: ``chunk_seeds`` (at most ``seeds``), a multiple of the devices."""
    devices = 1 if sharding is None else sharding.mesh.size
    return -(-min(config.chunk_seeds, config.seeds) // devices) * devices


def compile_excess_risk_fn(p: int, config: Config, mesh=None):
    """The compiled ``excess_risk_fn`` for one chunk of draws at p (ahead of time, cached).

    Compiled in ``config.dtype`` whatever the caller's ``jax_enable_x64``; ahead of time, so
    that ``run`` can build the next p's program on another thread.
    """
    sharding = seed_sharding(mesh)
    setup = (config.n, config.noise_std, config.beta_norm, config.matmul_precision)
    return _compiled(p, setup, config.dtype == "float64", chunk_size(config, sharding), sharding)


@functools.lru_cache(maxsize=256)
def _compiled(p: int, setup: tuple, x64: bool, chunk: int, sharding):
    seed_ids = jax.ShapeDtypeStruct((chunk,), jnp.uint32, sharding=sharding)
    with jax.enable_x64(x64):  # thread-local: set it here, on the thread that compiles
        return make_excess_risk_fn(p, *setup).lower(jax.random.key(0), seed_ids).compile()


def measure(key, p: int, config: Config, *, mesh=None, progress=None, excess_risk_fn=None):
    """``excess_risk[seed]`` for ``config.seeds`` draws at p, in chunks of ``chunk_seeds``.

    With a mesh of accelerators, each chunk's seed ids are sharded over its devices (see
    ``seed_sharding``); the chunk is rounded up to a multiple of the mesh size and the
    surplus draws are dropped. ``excess_risk_fn`` is ``compile_excess_risk_fn(p, config,
    mesh)`` (in ``config.dtype``), compiled here if omitted.
    """
    progress = progress or NoProgress()
    sharding = seed_sharding(mesh)
    chunk = chunk_size(config, sharding)
    excess_risk_fn = excess_risk_fn or compile_excess_risk_fn(p, config, mesh)
    key_p = jax.random.fold_in(key, p)
    parts = []
    for start in range(0, config.seeds, chunk):
        seed_ids = np.arange(start, start + chunk, dtype=np.uint32)
        seed_ids = placement.place(seed_ids, sharding) if sharding else jnp.asarray(seed_ids)
        count = min(chunk, config.seeds - start)
        parts.append(np.asarray(placement.to_host(excess_risk_fn(key_p, seed_ids)))[:count])
        progress(count)
    return np.concatenate(parts)


def summarize_p(risks: np.ndarray, p: int, config: Config) -> dict:
    """One row: seed mean, its standard error, the formula, and whether they agree."""
    mean = float(np.mean(risks))
    standard_error = float(np.std(risks, ddof=1) / math.sqrt(risks.size))
    theory = theoretical_excess_risk(p, config.n, config.noise_std, config.beta_norm)
    finite = math.isfinite(theory) and math.isfinite(mean) and standard_error > 0
    z_score = (mean - theory) / standard_error if finite else None
    return {
        "p": p,
        "n": config.n,
        "noise_std": config.noise_std,
        "beta_norm": config.beta_norm,
        "excess_risk": mean,
        "standard_error": standard_error,
        "theory": theory,
        "n_seeds": int(risks.size),
        "z_score": z_score,
        "within_3_se": None if z_score is None else abs(z_score) <= CHECK_STANDARD_ERRORS,
        "checked": abs(p - config.n) >= CHECK_MARGIN,
    }


def theory_curve(config: Config) -> dict:
    """The formula at every integer p of the grid's range with |p − n| ≥ 2 (for the figure)."""
    ps = [p for p in range(min(config.ps), max(config.ps) + 1) if abs(p - config.n) >= 2]
    return {
        "p": ps,
        "theory": [
            theoretical_excess_risk(p, config.n, config.noise_std, config.beta_norm) for p in ps
        ],
    }


def _above(a: dict, b: dict) -> dict:
    """``a`` over ``b``: the difference of two independent means, its z-test and its floor.

    The draws at different p are independent, so the difference's standard error is
    the root sum of squares; the one-sided p is normal (1000s of draws per p). The floor
    is the pooled draw-to-draw spread of the two cells (``verdicts.SPREAD_FLOOR_REASON``).
    """
    from scipy import stats as scipy_stats

    difference = a["excess_risk"] - b["excess_risk"]
    error = math.hypot(a["standard_error"], b["standard_error"])
    p = float(scipy_stats.norm.sf(difference / error)) if error > 0 else math.nan
    # One draw's standard deviation at each p, from the mean's standard error.
    spread_a, spread_b = (r["standard_error"] * math.sqrt(r["n_seeds"]) for r in (a, b))
    floor = math.sqrt((spread_a**2 + spread_b**2) / 2)
    return verdicts.judge(difference, p, floor=floor, standard_error=error)


def descent_verdict(rows: list[dict], n: int) -> dict:
    """Is the measured curve a double descent? Judged on the checked points only.

    Within ``CHECK_MARGIN`` of p = n a single draw's risk has infinite variance, so
    neither a standard error nor a draw-to-draw spread means anything there; the rise
    and the fall are measured between checked points (|p − n| ≥ ``CHECK_MARGIN``):
    the highest checked point, the lowest checked point before it (the dip) and the
    lowest after it. The rise must be significant and at least its floor (the pooled
    draw-to-draw spread of the two points, ``verdicts.spread_floor``'s rule), and the
    fall must be significant and undo at least ``verdicts.SECOND_DESCENT_SHARE`` of
    it (Nakkiran et al. 2019). The largest measured mean over every p, checked or
    not, is reported as the peak's location.
    """
    checked = [r for r in rows if r["checked"] and math.isfinite(r["excess_risk"])]
    top = max(rows, key=lambda r: r["excess_risk"])
    base = {
        "peak_p": top["p"],
        "peak_excess_risk": top["excess_risk"],
        "peak_standard_error": top["standard_error"],
        "peak_distance_from_n": abs(top["p"] - n),
        "nearest_grid_p": sorted({r["p"] for r in rows}, key=lambda p: (abs(p - n), p))[:2],
        "share": verdicts.SECOND_DESCENT_SHARE,
        "floor_reason": verdicts.SPREAD_FLOOR_REASON,
    }
    index = max(range(len(checked)), key=lambda i: checked[i]["excess_risk"], default=None)
    if index is None or not 0 < index < len(checked) - 1:
        return base | {"verdict": "not tested", "qualifies": False}
    high = checked[index]
    dip = min(checked[:index], key=lambda r: r["excess_risk"])
    after = min(checked[index + 1 :], key=lambda r: r["excess_risk"])
    rise, fall = _above(high, dip), _above(high, after)
    second = verdicts.second_descent(
        rise["estimate"], fall["estimate"], fall_significant=fall["significant"]
    )
    if rise["verdict"] == verdicts.EFFECT:
        verdict = second["kind"]
    else:
        verdict = "rise below floor" if rise["significant"] else "no rise detected"
    return base | {
        "checked_peak_p": high["p"],
        "dip_p": dip["p"],
        "after_p": after["p"],
        "rise": rise,
        "fall": fall,
        "undone": second["undone"],
        "verdict": verdict,
        "qualifies": verdict == verdicts.DOUBLE_DESCENT,
    }


def with_verdicts(document: dict) -> dict:
    """The document with ``descent`` recomputed from its rows (pure)."""
    return document | io.to_jsonable({"descent": descent_verdict(document["rows"], document["n"])})


def run(config: Config, *, mesh=None, run_dir=None, progress=None) -> dict:
    """Measures the excess risk at every p and checks it against the formula.

    One progress unit per draw; with ``run_dir``, each finished p is kept as a part
    (``p<p>``) and reused on ``--resume``. The programs are compiled in ``config.dtype``
    whatever the caller's ``jax_enable_x64``, so the numbers are fixed by the config alone.

    Returns ``rows`` (one per p, ``summarize_p``), the check's summary, the measured
    ``peak``, the ``descent`` verdict and ``theory_curve``.
    """
    progress = progress or NoProgress()
    progress.start(config.seeds * len(config.ps), "draw")
    key = jax.random.key(config.seed)
    saved = {p: run_dir.load_part(f"p{p}") if run_dir else None for p in config.ps}
    # Compile every p's program, in order, on another thread while the draws run: on CPU the
    # draws use one core (see seed_sharding), and compiling is half of the default's work.
    compiler = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        programs = {
            p: compiler.submit(compile_excess_risk_fn, p, config, mesh)
            for p in config.ps
            if saved[p] is None
        }
        rows = []
        for p in config.ps:
            if saved[p] is not None:
                risks = saved[p]["excess_risk"]
                progress(config.seeds)
            else:
                fn = programs[p].result()
                risks = measure(key, p, config, mesh=mesh, progress=progress, excess_risk_fn=fn)
                if run_dir:
                    run_dir.save_part(f"p{p}", {"excess_risk": risks})
            rows.append(summarize_p(risks, p, config))
    finally:
        compiler.shutdown(wait=False, cancel_futures=True)
    checked = [r for r in rows if r["checked"] and r["z_score"] is not None]
    peak = max(rows, key=lambda r: r["excess_risk"])
    return {
        "n": config.n,
        "noise_std": config.noise_std,
        "beta_norm": config.beta_norm,
        "n_seeds": config.seeds,
        "dtype": config.dtype,
        "check_margin": CHECK_MARGIN,
        "check_standard_errors": CHECK_STANDARD_ERRORS,
        "rows": rows,
        "n_checked": len(checked),
        "n_within_3_se": sum(r["within_3_se"] for r in checked),
        "all_within_3_se_away_from_threshold": all(r["within_3_se"] for r in checked),
        "largest_abs_z_score": max((abs(r["z_score"]) for r in checked), default=None),
        "peak": {k: peak[k] for k in ("p", "excess_risk", "standard_error")},
        "descent": descent_verdict(rows, config.n),
        "theory_curve": theory_curve(config),
    }


def _answer(results: dict) -> str:
    """Where the measured risk peaks and whether it matches the formula (plain text)."""
    n, peak = results["n"], results["descent"]
    if peak["peak_distance_from_n"] == 0:
        where = f"at the interpolation threshold p = n = {n}"
    elif peak["peak_p"] in peak["nearest_grid_p"]:
        where = f"at the grid point nearest n = {n} (the formula is infinite for |p − n| ≤ 1)"
    else:
        where = f"{peak['peak_distance_from_n']} from the interpolation threshold p = n = {n}"
    agree = results["n_within_3_se"] == results["n_checked"]
    return (
        f"{'Yes' if agree and peak['peak_distance_from_n'] <= 2 else 'Not fully'}: the measured "
        f"risk peaks at p = {peak['peak_p']} "
        f"({plus_minus(peak['peak_excess_risk'], peak['peak_standard_error'])}), {where}, "
        f"and lies within {fmt(results['check_standard_errors'])} standard errors of the "
        f"finite-n formula at {results['n_within_3_se']} of {results['n_checked']} checked p "
        f"(largest |z| = {fmt(results['largest_abs_z_score'], 2)})"
    )


def _descent_text(descent: dict) -> str:
    if descent["verdict"] == "not tested":
        return "The checked points leave no interior maximum: no double descent tested"
    rise, fall = descent["rise"], descent["fall"]
    undone = f"{fmt(100 * descent['undone'], 2)} %" if descent["undone"] is not None else "—"
    return (
        f"Among the checked points the curve shows **{descent['verdict']}**: it rises "
        f"{plus_minus(rise['estimate'], rise['standard_error'], 2)} from p = {descent['dip_p']} "
        f"to p = {descent['checked_peak_p']} (floor {fmt(rise['floor'], 2)}) and falls "
        f"{plus_minus(fall['estimate'], fall['standard_error'], 2)} to p = "
        f"{descent['after_p']}, {undone} of the rise (at least "
        f"{fmt(100 * descent['share'])} % needed)"
    )


def answers(results: dict) -> list[dict]:
    """The beyond-the-sheet question this study answers."""
    descent = results["descent"]
    text = _answer(results) + "; "
    if descent["verdict"] == "not tested":
        text += "no double descent tested."
    else:
        text += (
            f"checked points: {descent['verdict']}, "
            f"{fmt(100 * descent['undone'], 2)} % of the rise undone."
        )
    return [
        {
            "item": "Beyond 6.1",
            "question": "Does the exact linear baseline (min-norm least squares) show the peak at "
            "p = n, matching the finite-n formula?",
            "answer": text,
            "figure": "linear_min_norm.png",
        }
    ]


def summary(results: dict) -> list[str]:
    """The check and the peak, for the console."""
    peak = results["peak"]
    line = (
        f"{results['n_within_3_se']} of {results['n_checked']} p with |p − n| ≥ "
        f"{results['check_margin']} within 3 s.e. of the formula (largest |z| "
        f"{fmt(results['largest_abs_z_score'])}); measured peak at p = {peak['p']} "
        f"(n = {results['n']}): {plus_minus(peak['excess_risk'], peak['standard_error'])}"
    )
    return [line, f"checked points: {results['descent']['verdict']}"]


def markdown(results: dict) -> str:
    """The study's section: the answer, the formula, the figure, the table, the method."""
    n, s, r, rows = results["n"], results["noise_std"], results["beta_norm"], results["rows"]
    heading = (
        f"### Minimum-norm least squares on p isotropic Gaussian features (n = {n}, "
        f"s = {fmt(s)}, ‖β‖ = {fmt(r)}, {results['n_seeds']} draws per p)"
    )
    answer = _answer(results)
    answer = "**" + answer.replace(": ", ":** ", 1) + ". " + _descent_text(results["descent"]) + "."
    out = [
        heading,
        answer,
        "$$\\mathbb E\\lVert\\hat\\beta-\\beta\\rVert^2 = s^2\\frac{p}{n-p-1}\\ (p \\le n-2),"
        "\\qquad s^2\\frac{n}{p-n-1} + \\lVert\\beta\\rVert^2\\Bigl(1-\\frac np\\Bigr)\\ "
        "(p \\ge n+2),\\qquad \\infty\\ (|p-n| \\le 1).$$",
        "![excess risk of minimum-norm least squares against p](linear_min_norm.png)",
        table(
            ["p", "p / n", "theory", "measured ± s.e.", "z", "within 3 s.e.?"],
            [
                [
                    row["p"],
                    row["p"] / n,
                    row["theory"],
                    plus_minus(row["excess_risk"], row["standard_error"]),
                    row["z_score"],
                    row["within_3_se"] if row["checked"] else "not checked (p near n)",
                ]
                for row in rows
            ],
        ),
        details("How it was tested", _method(results)),
    ]
    return "\n\n".join(out)


def _method(results: dict) -> str:
    """The folded method: the design, the check against the formula, the verdict's test."""
    n, r, margin = results["n"], results["beta_norm"], results["check_margin"]
    rows = results["rows"]
    checked = [row for row in rows if row["checked"] and row["z_score"] is not None]
    misses = [row for row in checked if not row["within_3_se"]]
    method = (
        "For every draw, β is uniform on the sphere of radius ‖β‖ in $\\mathbb R^p$, "
        f"$X \\in \\mathbb R^{{{n}\\times p}}$ has independent $\\mathcal N(0,1)$ entries, "
        "$y = X\\beta + s\\varepsilon$, and $\\hat\\beta = X^+y$ is the least-squares fit "
        "(p < n) or the interpolator of smallest norm (p > n). With isotropic test inputs the "
        "excess test risk is exactly $\\lVert\\hat\\beta-\\beta\\rVert^2$, whose expectation "
        "for Gaussian design is known at finite n (Hastie, Montanari, Rosset & Tibshirani 2019; "
        "Belkin, Hsu & Xu 2019). Measured: the mean over draws ± its standard error "
        f"({results['dtype']}); z = (measured − theory) / s.e. This is a check, not a "
        f"verdict: at {results['n_within_3_se']} of the {results['n_checked']} feature counts "
        f"with |p − n| ≥ {margin} the measured risk lies within three standard errors of the "
        f"formula (largest |z| = {fmt(results['largest_abs_z_score'])})"
    )
    listed = ", ".join(f"p = {row['p']} misses with z = {fmt(row['z_score'])}" for row in misses)
    method += f"; {listed}. " if misses else ". "
    near = [row for row in rows if not row["checked"]]
    if near:
        method += (
            f"The {len(near)} points with |p − n| < {margin} (p = "
            + ", ".join(str(row["p"]) for row in near)
            + ") are shown but not checked: there the risk of one draw has infinite "
            "variance (|p − n| ≤ 3) or mean (|p − n| ≤ 1), so their standard errors "
            "understate the spread. "
        )
    descent = results["descent"]
    if descent["verdict"] != "not tested":
        method += (
            "The double-descent verdict uses the checked points only, for the same reason: the "
            "highest of them, the lowest before it and the lowest after it; each difference is "
            f"a z-test of two independent means (rise {p_text(descent['rise']['p'])}, fall "
            f"{p_text(descent['fall']['p'])}), the floor the pooled draw-to-draw spread of the "
            f"two points ({descent['floor_reason']}), and the fall must undo at least "
            f"{fmt(100 * descent['share'])} % of the rise ({verdicts.SECOND_DESCENT_REASON}). "
        )
    under = [row for row in rows if row["p"] < n]
    over = [row for row in rows if row["p"] > n]
    if under and over:
        low = min(under, key=lambda row: row["excess_risk"])
        best_over = min(over, key=lambda row: row["excess_risk"])
        method += (
            f"Below the threshold the risk is smallest at p = {low['p']} "
            f"({fmt(low['excess_risk'])}); beyond it, it is smallest at p = {best_over['p']} "
            f"({fmt(best_over['excess_risk'])}), against ‖β‖² = {fmt(r * r)} for the zero "
            "estimator β̂ = 0."
        )
    return method
