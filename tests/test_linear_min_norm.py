import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn.studies import linear_min_norm as study

N, NOISE_STD, BETA_NORM = 100, 0.5, 1.0


@pytest.mark.parametrize(
    "p, expected, digits", [(50, 0.2551, 4), (90, 2.50, 2), (150, 0.8435, 4), (300, 0.7923, 4)]
)
def test_formula_reproduces_the_issue_numbers(p, expected, digits):
    risk = study.theoretical_excess_risk(p, N, NOISE_STD, BETA_NORM)
    assert round(risk, digits) == pytest.approx(expected, abs=1e-12)


def test_formula_diverges_only_at_the_threshold_and_only_with_noise():
    for p in (N - 1, N, N + 1):
        assert study.theoretical_excess_risk(p, N, NOISE_STD, BETA_NORM) == math.inf
        # Without noise the estimator is exact for p <= n and only the bias is left beyond.
        assert study.theoretical_excess_risk(p, N, 0.0, 2.0) == pytest.approx(
            4.0 * max(0.0, 1 - N / p)
        )
    assert math.isfinite(study.theoretical_excess_risk(N - 2, N, NOISE_STD, BETA_NORM))
    assert math.isfinite(study.theoretical_excess_risk(N + 2, N, NOISE_STD, BETA_NORM))


@pytest.mark.parametrize("p", [30, 100, 300])
def test_min_norm_solution_equals_the_pseudo_inverse(x64, p):
    # NumPy draws and NumPy's SVD-based pinv: fully independent of the Cholesky route, and
    # no eager jax op compiled per p
    rng = np.random.default_rng(p)
    x = rng.standard_normal((N, p))
    y = rng.standard_normal(N)
    expected = np.linalg.pinv(x) @ y
    # κ(X)² × 1e-16 bounds the Cholesky error; κ(X) ~ 1e3 at p = n, so 1e-8 relative is loose.
    np.testing.assert_allclose(
        jax.jit(study.min_norm_solution)(x, y),  # one program, not one per eager op
        expected,
        rtol=1e-8,
        atol=1e-8 * float(np.linalg.norm(expected)),
    )


@pytest.mark.parametrize("p", [50, 150])
def test_monte_carlo_matches_the_formula(x64, p):
    # 1200 draws: the risk's coefficient of variation is 0.3 at p = 50 and 0.2 at p = 150, so
    # the standard error is under 0.9 % of the mean. 4 standard errors: a correct sampler
    # fails with probability 6e-5 per p (the risk has finite variance here, |p - n| >= 4, so
    # the mean is close to normal), while a bias of 5 % of the mean (5.8 s.e. at p = 50)
    # would be caught. Chunks of 200, as in QUICK, so its run reuses these compiled programs;
    # more draws cost run time, most of it random bits at the suite's XLA O0.
    config = study.Config(ps=(p,), seeds=1200, chunk_seeds=200)
    risks = study.measure(jax.random.key(7), p, config)
    theory = study.theoretical_excess_risk(p, N, NOISE_STD, BETA_NORM)
    standard_error = risks.std(ddof=1) / math.sqrt(risks.size)
    assert risks.shape == (1200,) and np.all(np.isfinite(risks))
    assert abs(risks.mean() - theory) <= 4 * standard_error, (risks.mean(), theory, standard_error)


def test_vmapped_over_seeds_equals_one_by_one(x64):
    key, p = jax.random.key(3), 120
    seed_ids = np.arange(5, dtype=np.uint32)
    batched = study.make_excess_risk_fn(p, N, NOISE_STD, BETA_NORM)(key, seed_ids)
    one_draw = jax.jit(study.min_norm_excess_risk, static_argnums=(1, 2))
    single = [one_draw(jax.random.fold_in(key, i), p, N, NOISE_STD, BETA_NORM) for i in range(5)]
    # The normals are drawn in float32, and XLA's vectorised and scalar code for the sampler
    # may round one differently in the last bit (6e-8 relative), which the solve carries
    # through a condition number of about 20 at p/n = 1.2. A wrong key per seed would move
    # each risk by order one.
    np.testing.assert_allclose(batched, np.array(single), rtol=2e-6)


def test_one_draw_is_the_squared_error_of_the_fit(x64):
    """The risk of one draw recomputed by hand from the same random numbers, through lstsq."""
    key, p, n = jax.random.key(11), 40, 25
    normals = np.asarray(jax.random.normal(key, (p + n * p + n,), dtype=jnp.float32), np.float64)
    beta = 2.0 * normals[:p] / np.linalg.norm(normals[:p])
    x = normals[p : p + n * p].reshape(n, p)
    y = x @ beta + 0.3 * normals[p + n * p :]
    expected = np.sum((np.linalg.lstsq(x, y, rcond=None)[0] - beta) ** 2)
    assert float(study.min_norm_excess_risk(key, p, n, 0.3, 2.0)) == pytest.approx(
        expected, rel=1e-9
    )


SMALL = study.Config(n=12, ps=(4, 30), seeds=7, chunk_seeds=3)


def test_run_is_determined_by_its_config_and_not_by_chunking():
    first, second = study.run(SMALL), study.run(SMALL)
    assert first == second
    unchunked = study.run(study.Config(n=12, ps=(4, 30), seeds=7, chunk_seeds=100))
    assert [r["excess_risk"] for r in unchunked["rows"]] == pytest.approx(
        [r["excess_risk"] for r in first["rows"]], rel=1e-12
    )
    other = study.run(study.Config(n=12, ps=(4, 30), seeds=7, seed=1))
    assert other["rows"][0]["excess_risk"] != first["rows"][0]["excess_risk"]


def test_every_matmul_is_traced_at_highest_precision():
    lowered = study.make_excess_risk_fn(4, 12, 0.5, 1.0, "highest").lower(
        jax.random.key(0), np.arange(2, dtype=np.uint32)
    )
    dots = [line for line in lowered.as_text().splitlines() if "dot_general" in line]
    assert dots and all("HIGHEST, HIGHEST" in line for line in dots), dots[:2]


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"n": 0}, "n"),
        ({"seeds": 1}, "seeds"),
        ({"chunk_seeds": 0}, "chunk_seeds"),
        ({"seed": -1}, "seed"),
        ({"noise_std": -0.1}, "noise_std"),
        ({"noise_std": math.nan}, "noise_std"),
        ({"beta_norm": math.inf}, "beta_norm"),
        ({"ps": ()}, "ps"),
        ({"ps": (0, 10)}, "ps"),
        ({"ps": (20, 10)}, "ps"),
        ({"ps": (10, 10)}, "ps"),
        ({"ps": (10**6,)}, "ps"),
        ({"dtype": "float16"}, "dtype"),
        ({"matmul_precision": "fast"}, "matmul_precision"),
        ({"chunk_seeds": 10**6}, "chunk_seeds"),
    ],
)
def test_bad_config_raises_naming_the_field(changes, field):
    with pytest.raises(ValueError, match=f"^{field}:"):
        study.Config(**changes)


@pytest.mark.slow  # the study's --quick run, end to end
def test_quick_run_writes_numbers_markdown_and_figure(quick_outputs):
    document, tmp_path, _ = quick_outputs("linear_min_norm")
    saved = json.loads((tmp_path / "linear_min_norm.json").read_text())
    assert [row["p"] for row in saved["rows"]] == list(study.QUICK.ps)
    for row in saved["rows"]:
        assert {
            "p",
            "n",
            "noise_std",
            "excess_risk",
            "standard_error",
            "theory",
            "n_seeds",
            "within_3_se",
        } <= set(row)
        for name in ("excess_risk", "standard_error", "theory"):
            assert math.isfinite(row[name]) and row[name] > 0, row
        assert row["n_seeds"] == study.QUICK.seeds
    assert saved["run"]["config"]["ps"] == list(study.QUICK.ps)
    assert document["n_checked"] == len(study.QUICK.ps)
    assert isinstance(saved["all_within_3_se_away_from_threshold"], bool)
    markdown = (tmp_path / "linear_min_norm.md").read_text()
    assert markdown.startswith("### ") and "nan" not in markdown.lower()
    assert markdown.count("\n| ") == len(study.QUICK.ps) + 1  # header and one row per p
    assert study.with_verdicts(saved) == saved  # the verdict is rebuilt from the rows alone
    assert saved["descent"]["verdict"] in ("double descent", "overfitting that levels off")
    (row,) = study.answers(saved)
    assert row["figure"] == "linear_min_norm.png" and len(row["answer"]) <= 320
    assert (tmp_path / "linear_min_norm.png").stat().st_size > 10_000


def test_markdown_reports_misses_and_unchecked_points():
    rows = [
        {
            "p": p,
            "n": 100,
            "noise_std": 0.5,
            "beta_norm": 1.0,
            "excess_risk": risk,
            "standard_error": error,
            "theory": theory,
            "n_seeds": 10,
            "z_score": z,
            "within_3_se": None if z is None else abs(z) <= 3,
            "checked": checked,
        }
        for p, risk, error, theory, z, checked in [
            (50, 0.30, 0.01, 0.2551, 4.49, True),
            (100, 5e3, 4e3, None, None, False),
            (300, 0.79, 0.001, 0.7923, -2.3, True),
        ]
    ]
    results = {
        "n": 100,
        "noise_std": 0.5,
        "beta_norm": 1.0,
        "n_seeds": 10,
        "dtype": "float64",
        "check_margin": 5,
        "rows": rows,
        "n_checked": 2,
        "n_within_3_se": 1,
        "all_within_3_se_away_from_threshold": False,
        "largest_abs_z_score": 4.49,
        "check_standard_errors": 3.0,
        "peak": {"p": 100, "excess_risk": 5e3, "standard_error": 4e3},
    }
    text = study.markdown(study.with_verdicts(results))
    assert "at 1 of the 2 feature counts" in text and "p = 50 misses with z = 4.49" in text
    assert "not checked" in text and "at the interpolation threshold p = n" in text
    assert "—" in text  # the infinite theory at p = n, stored as null in the JSON


@pytest.mark.parametrize(
    "args, name",
    [(["--ps", "0,10"], "--ps"), (["--ps", "10:x"], "--ps"), (["--seeds", "1"], "--seeds")],
)
def test_bad_input_exits_2_with_one_line(bad_input, args, name):
    bad_input("linear_min_norm", args, name)


def _curve(points, seeds=1000):
    """Checked rows from (p, mean, draw-to-draw standard deviation), n = 100."""
    return [
        {
            "p": p,
            "excess_risk": mean,
            "standard_error": spread / math.sqrt(seeds),
            "n_seeds": seeds,
            "checked": abs(p - 100) >= study.CHECK_MARGIN,
        }
        for p, mean, spread in points
    ]


def test_a_hump_that_falls_back_is_a_double_descent():
    verdict = study.descent_verdict(
        _curve(
            [(10, 0.03, 0.01), (90, 2.5, 1.0), (98, 20.0, 60.0), (110, 2.9, 1.0), (200, 0.75, 0.1)]
        ),
        100,
    )
    assert verdict["peak_p"] == 98 and verdict["checked_peak_p"] == 110  # p = 98 is unchecked
    assert verdict["verdict"] == "double descent" and verdict["qualifies"]
    assert verdict["undone"] == pytest.approx((2.9 - 0.75) / (2.9 - 0.03))


def test_a_plateau_and_a_significant_sliver_are_not():
    plateau = study.descent_verdict(
        _curve([(10, 0.03, 0.01), (110, 2.9, 1.0), (200, 2.9, 1.0), (300, 2.8, 1.0)]), 100
    )
    assert plateau["verdict"] == "overfitting that levels off" and not plateau["qualifies"]
    # The fall 2.9 -> 2.7 is significant with 1000 draws but undoes 7 % of the rise.
    sliver = study.descent_verdict(
        _curve([(10, 0.03, 0.01), (110, 2.9, 1.0), (200, 2.7, 1.0)]), 100
    )
    assert sliver["fall"]["significant"] and sliver["undone"] < 0.1
    assert sliver["verdict"] == "overfitting that levels off"


def test_a_significant_rise_below_the_draw_spread_is_no_peak():
    verdict = study.descent_verdict(
        _curve([(10, 1.0, 2.0), (110, 1.3, 2.0), (200, 0.5, 2.0)], seeds=10_000), 100
    )
    assert verdict["rise"]["significant"] and verdict["verdict"] == "rise below floor"
