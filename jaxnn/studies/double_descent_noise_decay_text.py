"""Sentences and Markdown of the label-noise and weight-decay study, from its results alone:
every sentence reads numbers that ``double_descent_noise_decay.analyse`` computed."""

from __future__ import annotations

from jaxnn import verdicts
from jaxnn.formatting import details, fmt, p_text, plus_minus, table


def _level(s: float) -> str:
    return f"s = {s:g}"


def _peak_words(p: dict) -> str:
    """One curve's peak verdict with its size and floor, e.g. "double descent at M = 22 ..."."""
    if p["width"] is None:
        return "no rise above a narrower width"
    rise = (
        f"rise {plus_minus(p['height'], p['height_standard_error'], 2)} above M = "
        f"{p['dip_width']} ({p_text(p['height_p_holm'])}; floor {fmt(p['rise_floor'], 2)})"
    )
    if p["verdict"] in (verdicts.DOUBLE_DESCENT, verdicts.LEVELS_OFF):
        undone = "—" if p["undone"] is None else f"{fmt(100 * p['undone'], 2)} %"
        return f"{p['verdict']} at M = {p['width']}: {rise}, {undone} of it undone by the widest"
    detectable = fmt(p["height_minimum_detectable"], 2)
    if p["verdict"] == "rise below floor":
        return f"a significant rise below its floor at M = {p['width']}: {rise}"
    return f"no peak established: largest {rise}; detectable {detectable}"


def _trend_words(trend: dict) -> str:
    steps = trend["steps"]
    grown = [s for s in steps if s["verdict"] == verdicts.EFFECT]
    if not steps:
        return "one noise level: no trend tested"
    listed = ", ".join(
        f"{s['from_noise_std']:g} → {s['to_noise_std']:g} "
        f"(+{plus_minus(s['difference'], s['standard_error'], 2)}, floor {fmt(s['floor'], 2)})"
        for s in grown
    )
    if trend["verdict"] == "grows with every step":
        head = f"**The peak grows with every step in s** ({listed})"
    elif grown:
        head = (
            f"**The peak grows with label noise at {len(grown)} of {len(steps)} steps** "
            f"({listed}; each significant and above its seed-spread floor)"
        )
    else:
        head = (
            f"**No growth of the peak with label noise is established** at any of the "
            f"{len(steps)} steps"
        )
    slope = trend.get("log_log_slope")
    return head + ("" if slope is None else f"; on log axes the height scales as s^{fmt(slope, 2)}")


def _decay_words(results: dict) -> str:
    before, after = results["unregularized_peak"], results["optimal_peak"]
    verdict = results["optimal_decay_verdict"]
    scanned = results["optimal_violations"]
    reduction = results["optimal_decay_reduction"]
    head = {
        "removes the peak": "**Optimal weight decay removes the peak**",
        "lowers the peak": "**Optimal weight decay lowers the peak but does not remove it**",
        "not established": "**That optimal weight decay removes the peak is not established**",
        "no peak to remove": "**Without decay there is no peak to remove**",
    }[verdict]
    text = (
        f"{head}: without decay, {_peak_words(before)}; with the best λ per width, "
        f"{_peak_words(after)}, and {len(scanned['violations'])} of "
        f"{scanned['pairs_scanned']} pairs of widths have the wider model worse by a "
        "significant amount above its floor"
    )
    if reduction.get("width") is not None:
        text += (
            f". At M = {reduction['width']} the best λ = {fmt(reduction['weight_decay'])} lowers "
            "the excess risk by "
            f"{plus_minus(reduction['estimate'], reduction['standard_error'], 2)}"
            f" (floor {fmt(reduction['floor'], 2)})"
        )
    return text + "."


def answers(results: dict) -> list[dict]:
    """The two beyond-the-sheet questions this study answers, each from its sized verdicts."""
    trend = results["noise_height_trend"]
    peaks_by_level = "; ".join(
        f"{_level(p['noise_std'])}: {plus_minus(p['height'], p['height_standard_error'], 2)}"
        + ("" if p["qualifies"] else " (not established)")
        for p in results["noise_peaks"]
    )
    label = _trend_words(trend).split(" (")[0].replace("**", "")
    missed = [s for s in trend["steps"] if s["verdict"] != verdicts.EFFECT]
    if missed and len(missed) < len(trend["steps"]):
        listed = ", ".join(
            f"{s['from_noise_std']:g} → {s['to_noise_std']:g}: "
            f"+{plus_minus(s['difference'], s['standard_error'], 2)}, {s['verdict']}"
            for s in missed
        )
        label += f" (not at {listed})"
    label += f". Rise above the dip: {peaks_by_level}"
    slope = trend.get("log_log_slope")
    if slope is not None:
        label += f"; about s^{fmt(slope, 2)}"
    before, after = results["unregularized_peak"], results["optimal_peak"]
    decay = (
        {
            "removes the peak": "Yes",
            "lowers the peak": "It lowers the peak but does not remove it",
            "not established": "Not established",
            "no peak to remove": "There is no peak to remove",
        }[results["optimal_decay_verdict"]]
        + ": the largest rise falls from "
        f"{plus_minus(before['height'], before['height_standard_error'], 2)} (λ = 0, "
        f"{before['verdict']}) to {plus_minus(after['height'], after['height_standard_error'], 2)}"
        f" ({after['verdict']}; floor {fmt(after['rise_floor'], 2)}), with "
        f"{len(results['optimal_violations']['violations'])} monotonicity violations above floor."
    )
    return [
        {
            "item": "Beyond 6.2",
            "question": "How does the peak height change with label noise?",
            "answer": label + ".",
            "figure": "double_descent_noise.png",
        },
        {
            "item": "Beyond 6.2",
            "question": "Does optimal weight decay remove the peak?",
            "answer": decay,
            "figure": "double_descent_decay.png",
        },
    ]


def summary(results: dict) -> list[str]:
    by_level = ", ".join(
        f"s = {p['noise_std']:g}: "
        + (f"M = {p['width']} (+{fmt(p['height'])}, {p['verdict']})" if p["width"] else "none")
        for p in results["noise_peaks"]
    )
    trend = results["noise_height_trend"]
    return [
        f"excess-risk peak (rise above its dip) by noise level: {by_level}",
        f"peak height against noise: {trend['verdict']} ({trend['steps_grown']} of "
        f"{len(trend['steps'])} steps significant and above floor)",
        f"optimal weight decay: {results['optimal_decay_verdict']}; "
        f"{len(results['optimal_violations']['violations'])} monotonicity violations above floor "
        f"(unregularized: {len(results['unregularized_violations']['violations'])}) of "
        f"{results['optimal_violations']['pairs_scanned']} pairs",
    ]


def markdown(results: dict) -> str:
    """The study's section of REPORT.md: the noise sweep, then the weight-decay sweep."""
    return "\n\n".join([*_noise_section(results), *_decay_section(results)])


def _noise_answer(results: dict) -> str:
    noise_peaks = results["noise_peaks"]
    qualifying = [_level(p["noise_std"]) for p in noise_peaks if p["qualifies"]]
    absent = [p for p in noise_peaks if not p["qualifies"]]
    answer = _trend_words(results["noise_height_trend"]) + ". "
    answer += (
        f"A double descent qualifies at {', '.join(qualifying)}"
        if qualifying
        else "No level's curve qualifies as a double descent"
    )
    answer += (
        " (rise significant and at least its floor, at least "
        f"{fmt(100 * results['share'])} % of it undone at the widest model)"
    )
    if absent:
        answer += "; at " + ", ".join(_level(p["noise_std"]) for p in absent) + " "
        answer += "it does not: " + "; ".join(
            f"{_level(p['noise_std'])}: {_peak_words(p)}" for p in absent[:2]
        )
    return answer + "."


def _noise_section(results: dict) -> list[str]:
    config = results["run"]["config"]
    noise_peaks = results["noise_peaks"]
    header = ["s", "R_t = s²", "peak M (parameters)", "excess risk at the peak"]
    header += ["rise above the dip (dip M)", "floor", "undone", "verdict"]
    header += [f"excess risk at M = {config['widths'][-1]}"]
    return [
        f"### Peak height against label noise (N = {results['n_train']}, "
        f"{config['epochs']} Adam steps, {config['seeds']} seeds)",
        _noise_answer(results),
        "![excess risk against width for each noise level](double_descent_noise.png)",
        table(
            header,
            [
                [
                    p["noise_std"],
                    p["noise_std"] ** 2,
                    f"{p['width']} ({p['n_params']})" if p["width"] else "—",
                    plus_minus(p["excess_risk"], p["excess_risk_standard_error"])
                    if p["width"]
                    else "—",
                    f"{plus_minus(p['height'], p['height_standard_error'])} (M = {p['dip_width']})"
                    if p["width"]
                    else "none",
                    p["rise_floor"],
                    "—" if p["undone"] is None else f"{fmt(100 * p['undone'], 2)} %",
                    p["verdict"],
                    p["widest_excess_risk"],
                ]
                for p in noise_peaks
            ],
        ),
        details("How it was tested", _noise_method(results)),
    ]


def _noise_method(results: dict) -> str:
    config = results["run"]["config"]
    n, threshold = results["n_train"], results["interpolation_width"]
    scan = "; ".join(
        f"s = {e['noise_std']:g}: {e['verdict']}"
        + ("" if e["width"] is None else f" at M = {e['width']}")
        for e in results["exploratory_peaks"]
    )
    return (
        "The excess risk is test MSE against the noise-free teacher, i.e. test MSE − R_t. "
        "Each curve is tested once, where the theory puts the peak (pre-registered: "
        f"N·O = {n * config['data']['output_dim']} parameters sit at M ≈ "
        f"{fmt(threshold)}, so the window is M = "
        f"{' and '.join(str(w) for w in results['window_widths'])}, fixed by the config "
        "before any loss is read; `jaxnn.peaks.threshold_contrast`): the window's excess "
        "risk against every narrower width (paired one-sided t over seeds, Bonferroni) and "
        "against the widest (the fall). Floors: "
        f"{verdicts.SPREAD_FLOOR_REASON}; {results['share_reason']}. The exploratory scan "
        f"over every width (`jaxnn.peaks.peak_of`, Holm over the widths scanned) gives: {scan}."
        "\n\n"
        + table(
            ["s", "rise p", "detectable rise", "excess over widest", "p"],
            [
                [
                    p["noise_std"],
                    p["height_p_holm"],
                    p["height_minimum_detectable"],
                    plus_minus(p["height_over_widest"], p["height_over_widest_standard_error"])
                    if p["height_over_widest"] is not None
                    else "—",
                    p["height_over_widest_p_holm"],
                ]
                for p in results["noise_peaks"]
            ],
        )
        + "\n\nEach step in s compares the seeds' heights (peak minus dip) at the two "
        "levels, paired (the levels share inputs, unit noise draw and initializations); "
        "one-sided t-tests, Holm over the steps; detectable: the smallest growth the test "
        "finds at 80 % power (Bonferroni level).\n\n"
        + table(
            ["step in s", "growth ± s.e.", "Holm p", "floor", "detectable", "verdict"],
            [
                [
                    f"{s['from_noise_std']:g} → {s['to_noise_std']:g}",
                    plus_minus(s["difference"], s["standard_error"]),
                    s["p_holm"],
                    s["floor"],
                    s["minimum_detectable"],
                    s["verdict"],
                ]
                for s in results["noise_height_trend"]["steps"]
            ],
        )
    )


def _decay_section(results: dict) -> list[str]:
    config = results["run"]["config"]
    header = ["M", "parameters", "excess risk, λ = 0", "best λ", "excess risk, best λ"]
    header += ["train MSE, best λ"]
    return [
        f"### Optimal weight decay (s = {config['decay_noise_std']:g}, λ ∈ "
        f"{{0, {', '.join(f'{wd:g}' for wd in config['weight_decays'])}}})",
        _decay_words(results),
        "![optimal weight decay against none](double_descent_decay.png)",
        table(
            header,
            [
                [
                    r["width"],
                    r["n_params"],
                    r["unregularized_excess_risk"],
                    r["weight_decay"],
                    plus_minus(r["excess_risk"], r["excess_risk_standard_error"]),
                    r["train_loss"],
                ]
                for r in results["optimal_decay_rows"]
            ],
        ),
        details("How it was tested", _decay_method(results)),
    ]


def _pairs(found: list[dict]) -> str:
    """The first three pairs of widths where the wider model is worse, with their floors."""
    return ", ".join(
        f"M = {v['narrow']} → {v['wide']} (+{plus_minus(v['increase'], v['standard_error'])},"
        f" floor {fmt(v['floor'], 2)})"
        for v in found[:3]
    )


def _decay_method(results: dict) -> str:
    scanned, raw = results["optimal_violations"], results["unregularized_violations"]
    before, after = results["unregularized_peak"], results["optimal_peak"]
    method = (
        "The peaks are tested as above (rise p: "
        f"{fmt(before['height_p_holm'], 2)} without decay, {fmt(after['height_p_holm'], 2)} with "
        f"the best λ; excess over the widest model p: "
        f"{fmt(before['height_over_widest_p_holm'], 2)} and "
        f"{fmt(after['height_over_widest_p_holm'], 2)}). Monotonicity: every pair of widths "
        f"M < M', a paired one-sided test of M' worse ({scanned['method']} over the "
        f"{scanned['pairs_scanned']} pairs at {fmt(scanned['alpha'])}), a violation only when "
        "the increase is also at least the pooled seed spread of the two widths. With the best "
        f"λ: {len(scanned['violations'])} violations"
        + (f" ({_pairs(scanned['violations'])})" if scanned["violations"] else "")
        + f", {len(scanned['below_floor'])} significant but below floor"
        + (f" ({_pairs(scanned['below_floor'])})" if scanned["below_floor"] else "")
        + f". Without decay: {len(raw['violations'])} violations, e.g. {_pairs(raw['violations'])}"
        f", and {len(raw['below_floor'])} below floor. The best λ is chosen per width on the "
        "test set itself (the paper's oracle, Nakkiran, Venkat, Kakade & Ma 2021), which biases "
        "each chosen risk slightly downward."
    )
    reduction = results["optimal_decay_reduction"]
    if reduction.get("width") is not None:
        method += (
            f" The reduction at M = {reduction['width']} is a paired one-sided test "
            f"({p_text(reduction['p'])}; detectable {fmt(reduction['minimum_detectable'], 2)})."
        )
    return method
