from jaxnn import peaks
from jaxnn.formatting import fmt
from jaxnn.studies.contrast_text import contrast_sentence, contrast_test_sentence


def _words(value, error):
    return fmt(value) if error is None else f"{fmt(value)} ± {fmt(error)}"


def _contrast(per_seed):
    return peaks.contrast_at_threshold(per_seed, [2, 3, 4, 6, 8, 11, 16, 22], 11)


def test_contrast_sentence_reads_the_window_the_p_values_and_the_verdict():
    bump = [
        [m + 0.002 * s for s in range(5)] for m in (0.6, 0.45, 0.4, 0.44, 0.5, 0.49, 0.43, 0.41)
    ]
    bump[4][0] += 0.01  # spread, so the t statistics are finite
    bump[5][1] -= 0.01
    contrast = _contrast(bump)
    text = contrast_sentence("MLP", contrast, unit="width", value=_words, difference=_words)
    assert "widths 8 and 11" in text and "best narrower (width 4" in text
    assert contrast["significant"]
    # The widest model (0.41) is back below the window (~0.495) by ~95 % of the rise (~0.095).
    assert contrast["verdict"] == "double descent" and "**double descent**" in text
    assert f"floor {fmt(contrast['rise_floor'])}" in text
    tests = contrast_test_sentence("MLP", contrast, unit="width", difference=_words)
    assert f"p = {fmt(contrast['rise_p'], 2)}" in tests and "5 seeds" in tests


def test_contrast_sentence_names_the_test_that_failed_and_an_untested_curve():
    flat = [[0.5 + 0.01 * ((s * 7 + c) % 5) for s in range(4)] for c in range(8)]
    contrast = _contrast(flat)
    text = contrast_sentence("CNN", contrast, unit="width", value=_words, difference=_words)
    assert (
        not contrast["significant"] and "**no peak**" in text and "would have been detected" in text
    )
    untested = peaks.contrast_at_threshold(flat, range(8), None)
    assert "not tested" in contrast_sentence(
        "CNN", untested, unit="width", value=_words, difference=_words
    )
